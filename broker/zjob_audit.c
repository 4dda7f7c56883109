/*  =========================================================================
    zjob_audit - the admin-action log: who changed what, and how it went

    The description is built from the decoded request alone (its command,
    op, target, names), never from broker state, so it can be written
    before the request runs and kept, as text, by a request that goes on
    across loop passes. Text that came from the network (names, a filter)
    is written with its control characters replaced, so a line stays one
    line in the text format too (the JSON format escapes on its own).
    ========================================================================= */

#include "zjob_audit.h"
#include "zjob_json.h"
#include "zjob_log.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Append to buffer at *used (size bytes in all), truncating; "..." marks
//  a cut
static void s_append (char *buffer, size_t size, size_t *used, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

static void
s_append (char *buffer, size_t size, size_t *used, const char *format, ...)
{
    if (*used + 1 >= size)
        return;
    va_list args;
    va_start (args, format);
    int written = vsnprintf (buffer + *used, size - *used, format, args);
    va_end (args);
    if (written < 0)
        return;
    if ((size_t) written >= size - *used) {
        *used = size - 1;
        if (size > 4)
            memcpy (buffer + size - 4, "...", 4);
    }
    else
        *used += (size_t) written;
}

static const char *
s_role_name (zjob_role_t role)
{
    return role == ZJOB_ROLE_ADMIN ? "admin" : role == ZJOB_ROLE_CLIENT ? "client"
                                                                        : "worker";
}

//  True if op is one of the (NULL-terminated) names
static bool
s_op_in (const char *op, const char *const *names)
{
    for (; op && *names; names++)
        if (strcmp (op, *names) == 0)
            return true;
    return false;
}

//  The target of DELETE..CANCEL, RETRY, RUN_NOW: a job, ids, or a filter
//  as compact JSON
static void
s_target (zjob_msg_t *msg, char *what, size_t size, size_t *used)
{
    const zjob_target_t *target = zjob_msg_target (msg);
    if (target && target->id)
        s_append (what, size, used, " job %s", target->id);
    else if (target && target->ids)
        s_append (what, size, used, " %zu job%s by id", target->id_count,
                  target->id_count == 1 ? "" : "s");
    else if (target && target->filter) {
        const msgpack_object *object = zjob_msg_field (msg, "filter");
        json_t *filter = object ? zjob_msgpack_object_to_json (object) : NULL;
        char *text = filter ? zjob_json_dumps (filter, ZJOB_JSON_COMPACT) : NULL;
        s_append (what, size, used, " jobs matching %s", text ? text : "a filter");
        free (text);
        json_decref (filter);
    }
    else
        s_append (what, size, used, " (no target)");
}

//  QUEUE limit's settings, those given
static void
s_limits (zjob_msg_t *msg, char *what, size_t size, size_t *used)
{
    const char *sep = " (";
    if (zjob_msg_has (msg, "concurrency")) {
        s_append (what, size, used, "%sconcurrency %" PRIu64, sep,
                  zjob_msg_uint (msg, "concurrency", 0));
        sep = ", ";
    }
    if (zjob_msg_has (msg, "rate")) {
        s_append (what, size, used, "%srate %g/s", sep, zjob_msg_float (msg, "rate", 0));
        sep = ", ";
    }
    if (zjob_msg_has (msg, "burst")) {
        s_append (what, size, used, "%sburst %g", sep, zjob_msg_float (msg, "burst", 0));
        sep = ", ";
    }
    if (strcmp (sep, ", ") == 0)
        s_append (what, size, used, ")");
}

//  True if cmd may be an admin action: a SUBMIT (the hot path) and the
//  reads leave before anything is formatted
static bool
s_may_change (zjob_cmd_t cmd)
{
    switch (cmd) {
        case ZJOB_CMD_DELETE:
        case ZJOB_CMD_START:
        case ZJOB_CMD_PAUSE:
        case ZJOB_CMD_RESUME:
        case ZJOB_CMD_CANCEL:
        case ZJOB_CMD_RETRY:
        case ZJOB_CMD_RUN_NOW:
        case ZJOB_CMD_CLEANUP:
        case ZJOB_CMD_QUEUE:
        case ZJOB_CMD_SCHEDULE:
        case ZJOB_CMD_TEMPLATE:
        case ZJOB_CMD_BATCH: return true;
        default: return false;
    }
}

//  What msg changes, after its command's name; false if it changes nothing
static bool
s_action (zjob_msg_t *msg, zjob_cmd_t cmd, char *what, size_t size, size_t *used)
{
    static const char *const queue_ops [] = { "pause", "resume", "limit", NULL };
    static const char *const schedule_ops [] = { "add", "pause", "resume", "delete",
                                                 "run_now", NULL };
    static const char *const template_ops [] = { "set", "delete", NULL };
    static const char *const batch_ops [] = { "close", "cancel", NULL };
    const char *op = zjob_msg_str (msg, "op");
    switch (cmd) {
        case ZJOB_CMD_RETRY:
        case ZJOB_CMD_RUN_NOW:
            if (zjob_msg_bool (msg, "dry_run", false))
                return false;
            //  Fall through
        case ZJOB_CMD_DELETE:
        case ZJOB_CMD_START:
        case ZJOB_CMD_PAUSE:
        case ZJOB_CMD_RESUME:
        case ZJOB_CMD_CANCEL: s_target (msg, what, size, used); return true;
        case ZJOB_CMD_CLEANUP:
            if (zjob_msg_has (msg, "retention_ms"))
                s_append (what, size, used, " (retention %" PRIu64 " ms)",
                          zjob_msg_uint (msg, "retention_ms", 0));
            return true;
        case ZJOB_CMD_QUEUE:
            if (!s_op_in (op, queue_ops))
                return false;
            s_append (what, size, used, " %s %s", op, zjob_msg_str (msg, "workflow_id") ? zjob_msg_str (msg, "workflow_id") : "(no workflow)");
            if (strcmp (op, "limit") == 0)
                s_limits (msg, what, size, used);
            return true;
        case ZJOB_CMD_SCHEDULE:
        case ZJOB_CMD_TEMPLATE:
            if (!s_op_in (op, cmd == ZJOB_CMD_SCHEDULE ? schedule_ops : template_ops))
                return false;
            s_append (what, size, used, " %s %s", op,
                      zjob_msg_str (msg, "name") ? zjob_msg_str (msg, "name") : "(no name)");
            return true;
        case ZJOB_CMD_BATCH:
            if (!s_op_in (op, batch_ops))
                return false;
            s_append (what, size, used, " %s %s", op,
                      zjob_msg_str (msg, "id") ? zjob_msg_str (msg, "id") : "(no id)");
            return true;
        default: return false;
    }
}

bool
zjob_audit_describe (zjob_msg_t *msg, const zjob_peer_t *peer, char *what, size_t size)
{
    if (!what || size == 0)
        return false;
    what [0] = '\0';
    if (!msg)
        return false;
    if (!peer)
        peer = zjob_peer_open ();
    zjob_cmd_t cmd = zjob_msg_command (msg);
    if (!s_may_change (cmd))
        return false;
    size_t used = 0;
    s_append (what, size, &used, "%s", zjob_cmd_name (cmd));
    if (!s_action (msg, cmd, what, size, &used)) {
        what [0] = '\0';
        return false;
    }
    s_append (what, size, &used, " by %s", peer->address ? peer->address : "(unknown)");
    if (peer->key) {
        s_append (what, size, &used, " (key %s, role %s", peer->name ? peer->name : "?",
                  s_role_name (peer->role));
        if (peer->user_id)
            s_append (what, size, &used, ", user %s", peer->user_id);
        s_append (what, size, &used, ")");
    }
    //  One line whatever the names hold
    for (char *c = what; *c; c++)
        if ((unsigned char) *c < 0x20 || *c == 0x7f)
            *c = '?';
    return true;
}

void
zjob_audit_outcome (const char *what, int rc, bool started, const zjob_error_t *err,
                    const zjob_audit_counts_t *counts, int log_level)
{
    if (log_level < ZJOB_LOG_INFO || !what || !*what)
        return;
    if (rc < 0)
        zjob_log_info ("admin: %s: %d %s", what, err ? err->code : ZJOB_INTERNAL,
                       err ? err->text : "failed");
    else if (started)
        zjob_log_info ("admin: %s: started", what);
    else if (counts && counts->counted && counts->deleted)
        zjob_log_info ("admin: %s: ok, %" PRIu64 " deleted", what, counts->done);
    else if (counts && counts->counted)
        zjob_log_info ("admin: %s: ok, %" PRIu64 " done, %" PRIu64 " failed", what,
                       counts->done, counts->failed);
    else
        zjob_log_info ("admin: %s: ok", what);
}

void
zjob_audit_request (zjob_msg_t *msg, const zjob_peer_t *peer, int rc, bool pending,
                    const zjob_error_t *err, const zjob_audit_counts_t *counts,
                    int log_level, char *keep)
{
    if (keep)
        keep [0] = '\0';
    if (log_level < ZJOB_LOG_INFO || !msg || !s_may_change (zjob_msg_command (msg)))
        return;
    char what [ZJOB_AUDIT_MAX];
    if (!zjob_audit_describe (msg, peer, what, sizeof (what)))
        return;
    if (pending && rc >= 0) {
        if (keep)
            memcpy (keep, what, sizeof (what));
    }
    else
        zjob_audit_outcome (what, rc, false, err, counts, log_level);
}
