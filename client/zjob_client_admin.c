/*  =========================================================================
    zjob_client_admin - libzjob's workflow administration calls: TEMPLATE
    set, get, list, delete; SCHEDULE add and its other ops; QUEUE pause,
    resume, limit, list; METRICS (PROTOCOL.md). Each is a request begun and waited
    for through zjob_client_impl.h; which are resent while waiting (reads
    and idempotent changes) and which are sent once is said at each call.
    ========================================================================= */

#include "zjob_client_impl.h"

//  --------------------------------------------------------------------------
//  Schedules

zjob_reply_t *
zjob_client_schedule_add (zjob_client_t *self, const zjob_schedule_add_t *schedule,
                          zjob_error_t *err)
{
    if (!schedule || !schedule->name || !schedule->cron) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "SCHEDULE add: a name and a cron are required");
        return NULL;
    }
    uint64_t request;
    zjob_msg_builder_t *builder = zjob_client_begin (self, ZJOB_CMD_SCHEDULE, &request, err);
    if (!builder)
        return NULL;
    zjob_msg_add_str (builder, "op", "add");
    zjob_msg_add_str (builder, "name", schedule->name);
    zjob_msg_add_str (builder, "cron", schedule->cron);
    zjob_msg_add_str (builder, "timezone", schedule->timezone);
    if (schedule->no_catch_up)
        zjob_msg_add_bool (builder, "catch_up", false);
    if (schedule->paused)
        zjob_msg_add_bool (builder, "paused", true);
    if (schedule->replace)
        zjob_msg_add_bool (builder, "replace", true);
    zjob_msg_add_str (builder, "template", schedule->template_name);
    zjob_msg_add_str (builder, "workflow_id", schedule->workflow_id);
    zjob_msg_add_bin (builder, "inputs", schedule->inputs, schedule->inputs_size);
    zjob_msg_add_bin (builder, "metadata", schedule->metadata, schedule->metadata_size);
    if (schedule->priority >= 0 && schedule->priority < ZJOB_PRIORITY_COUNT)
        zjob_msg_add_str (builder, "priority", zjob_priority_name (schedule->priority));
    if (schedule->tag_count)
        zjob_msg_add_strs (builder, "tags", schedule->tags, schedule->tag_count);
    return zjob_client_call (self, ZJOB_CMD_SCHEDULE, request, false, err);
}

zjob_reply_t *
zjob_client_schedule (zjob_client_t *self, const char *op, const char *name, zjob_error_t *err)
{
    if (!op || streq (op, "add") || (!name && !streq (op, "list"))) {
        zjob_error_set (err, ZJOB_BAD_REQUEST,
                        "SCHEDULE: op get, list, pause, resume, delete or run_now, with a name "
                        "but for list (add: zjob_client_schedule_add)");
        return NULL;
    }
    uint64_t request;
    zjob_msg_builder_t *builder = zjob_client_begin (self, ZJOB_CMD_SCHEDULE, &request, err);
    if (!builder)
        return NULL;
    zjob_msg_add_str (builder, "op", op);
    zjob_msg_add_str (builder, "name", name);
    //  Reads are sent again within the timeout; a change only once
    bool read = streq (op, "get") || streq (op, "list");
    return zjob_client_call (self, ZJOB_CMD_SCHEDULE, request, read, err);
}

//  Begin a TEMPLATE with its op and name (NULL: none): returns the
//  builder, with *request_p its id, or NULL with err filled
static zjob_msg_builder_t *
s_begin_template (zjob_client_t *self, const char *op, const char *name, uint64_t *request_p,
                  zjob_error_t *err)
{
    zjob_msg_builder_t *builder = zjob_client_begin (self, ZJOB_CMD_TEMPLATE, request_p, err);
    if (builder) {
        zjob_msg_add_str (builder, "op", op);
        if (name)
            zjob_msg_add_str (builder, "name", name);
    }
    return builder;
}

int
zjob_client_template_set (zjob_client_t *self, const char *name, const zjob_spec_t *spec,
                          bool *created_p, zjob_error_t *err)
{
    if (!name || !spec)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "TEMPLATE set: a name and a spec, please");
    uint64_t request;
    zjob_msg_builder_t *builder = s_begin_template (self, "set", name, &request, err);
    if (!builder)
        return -1;
    zjob_msg_add_spec (builder, "template", spec);
    zjob_reply_t *reply = zjob_client_call (self, ZJOB_CMD_TEMPLATE, request, true, err);
    if (!reply)
        return -1;
    if (created_p)
        *created_p = zjob_msg_bool (zjob_reply_msg (reply), "created", false);
    zjob_reply_destroy (&reply);
    return 0;
}

zjob_reply_t *
zjob_client_template_get (zjob_client_t *self, const char *name, zjob_error_t *err)
{
    if (!name) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "TEMPLATE get: which template?");
        return NULL;
    }
    uint64_t request;
    zjob_msg_builder_t *builder = s_begin_template (self, "get", name, &request, err);
    return builder ? zjob_client_call (self, ZJOB_CMD_TEMPLATE, request, true, err) : NULL;
}

zjob_reply_t *
zjob_client_template_list (zjob_client_t *self, size_t offset, size_t limit,
                           zjob_error_t *err)
{
    uint64_t request;
    zjob_msg_builder_t *builder = s_begin_template (self, "list", NULL, &request, err);
    if (!builder)
        return NULL;
    if (offset)
        zjob_msg_add_uint (builder, "offset", offset);
    if (limit)
        zjob_msg_add_uint (builder, "limit", limit);
    return zjob_client_call (self, ZJOB_CMD_TEMPLATE, request, true, err);
}

int
zjob_client_template_delete (zjob_client_t *self, const char *name, zjob_error_t *err)
{
    if (!name)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "TEMPLATE delete: which template?");
    uint64_t request;
    zjob_msg_builder_t *builder = s_begin_template (self, "delete", name, &request, err);
    if (!builder)
        return -1;
    //  Sent once: a second delete would answer 404 for the first's work
    zjob_reply_t *reply = zjob_client_call (self, ZJOB_CMD_TEMPLATE, request, false, err);
    int rc = reply ? 0 : -1;
    zjob_reply_destroy (&reply);
    return rc;
}

//  QUEUE with op on workflow_id (NULL for list), and the limits when
//  concurrency, rate or burst is >= 0; every op is idempotent, so resent
static zjob_reply_t *
s_queue (zjob_client_t *self, const char *op, const char *workflow_id, int64_t concurrency,
         double rate, double burst, zjob_error_t *err)
{
    uint64_t request;
    zjob_msg_builder_t *builder = zjob_client_begin (self, ZJOB_CMD_QUEUE, &request, err);
    if (!builder)
        return NULL;
    zjob_msg_add_str (builder, "op", op);
    if (workflow_id)
        zjob_msg_add_str (builder, "workflow_id", workflow_id);
    if (concurrency >= 0)
        zjob_msg_add_uint (builder, "concurrency", (uint64_t) concurrency);
    if (rate >= 0)
        zjob_msg_add_float (builder, "rate", rate);
    if (burst >= 0)
        zjob_msg_add_float (builder, "burst", burst);
    return zjob_client_call (self, ZJOB_CMD_QUEUE, request, true, err);
}

static int
s_queue_rc (zjob_reply_t *reply)
{
    int rc = reply ? 0 : -1;
    zjob_reply_destroy (&reply);
    return rc;
}

int
zjob_client_queue_pause (zjob_client_t *self, const char *workflow_id, zjob_error_t *err)
{
    assert (self);
    return s_queue_rc (s_queue (self, "pause", workflow_id, -1, -1, -1, err));
}

int
zjob_client_queue_resume (zjob_client_t *self, const char *workflow_id, zjob_error_t *err)
{
    assert (self);
    return s_queue_rc (s_queue (self, "resume", workflow_id, -1, -1, -1, err));
}

int
zjob_client_queue_limit (zjob_client_t *self, const char *workflow_id, int64_t concurrency,
                         double rate, double burst, zjob_error_t *err)
{
    assert (self);
    return s_queue_rc (s_queue (self, "limit", workflow_id, concurrency, rate, burst, err));
}

zjob_reply_t *
zjob_client_queue_list (zjob_client_t *self, zjob_error_t *err)
{
    assert (self);
    return s_queue (self, "list", NULL, -1, -1, -1, err);
}


//  --------------------------------------------------------------------------
//  Metrics: a read, resent while waiting

int
zjob_client_metrics (zjob_client_t *self, char **text_p, zjob_error_t *err)
{
    assert (text_p);
    *text_p = NULL;
    uint64_t request;
    if (!zjob_client_begin (self, ZJOB_CMD_METRICS, &request, err))
        return -1;
    zjob_reply_t *reply = zjob_client_call (self, ZJOB_CMD_METRICS, request, true, err);
    if (!reply)
        return -1;
    const char *text = zjob_msg_str (zjob_reply_msg (reply), "text");
    *text_p = strdup (text ? text : "");
    zjob_reply_destroy (&reply);
    if (!*text_p)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    return 0;
}
