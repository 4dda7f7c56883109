/*  =========================================================================
    zjob_roles - what each role may do with the client requests

    The table is an array by command, so that a command nobody placed in
    it is admin only (the zero of zjob_access_t); the ops of a command
    that differ from its row (TEMPLATE set and delete) are a second, small
    table. Every check costs O(1) but the SUBMIT's, which looks up each
    parent, key and batch its specs name: O(specs + parents), the order
    of the SUBMIT's own work.
    ========================================================================= */

#include "zjob_roles.h"
#include "zjob_batches.h"
#include "zjob_queues.h"
#include <string.h>

//  What a client key may do, by command (PROTOCOL.md 9, "Roles")
static const zjob_access_t s_access [ZJOB_CMD_COUNT] = {
    [ZJOB_CMD_SUBMIT] = ZJOB_ACCESS_OWN,
    [ZJOB_CMD_GET] = ZJOB_ACCESS_OWN,
    [ZJOB_CMD_LIST] = ZJOB_ACCESS_OWN,
    [ZJOB_CMD_DELETE] = ZJOB_ACCESS_OWN,
    [ZJOB_CMD_START] = ZJOB_ACCESS_OWN,
    [ZJOB_CMD_PAUSE] = ZJOB_ACCESS_OWN,
    [ZJOB_CMD_RESUME] = ZJOB_ACCESS_OWN,
    [ZJOB_CMD_CANCEL] = ZJOB_ACCESS_OWN,
    [ZJOB_CMD_STATUS] = ZJOB_ACCESS_OWN,
    [ZJOB_CMD_RESULTS] = ZJOB_ACCESS_OWN,
    [ZJOB_CMD_RETRY] = ZJOB_ACCESS_OWN,
    [ZJOB_CMD_RUN_NOW] = ZJOB_ACCESS_OWN,
    [ZJOB_CMD_BATCH] = ZJOB_ACCESS_OWN,
    [ZJOB_CMD_TEMPLATE] = ZJOB_ACCESS_OPEN,  //  get, list; set and delete below
    [ZJOB_CMD_PING] = ZJOB_ACCESS_OPEN,
    [ZJOB_CMD_CLEANUP] = ZJOB_ACCESS_ADMIN,
    [ZJOB_CMD_STATS] = ZJOB_ACCESS_ADMIN,
    [ZJOB_CMD_WORKERS] = ZJOB_ACCESS_ADMIN,
    [ZJOB_CMD_QUEUE] = ZJOB_ACCESS_ADMIN,
    [ZJOB_CMD_SCHEDULE] = ZJOB_ACCESS_ADMIN,
};

//  The ops whose access differs from their command's row
static const struct {
    zjob_cmd_t cmd;
    const char *op;
    zjob_access_t access;
} s_op_access [] = {
    { ZJOB_CMD_TEMPLATE, "set", ZJOB_ACCESS_ADMIN },
    { ZJOB_CMD_TEMPLATE, "delete", ZJOB_ACCESS_ADMIN },
};

zjob_access_t
zjob_roles_access (zjob_cmd_t cmd, const char *op)
{
    if ((unsigned) cmd >= ZJOB_CMD_COUNT)
        return ZJOB_ACCESS_ADMIN;
    for (size_t index = 0; op && index < sizeof (s_op_access) / sizeof (s_op_access [0]); index++)
        if (s_op_access [index].cmd == cmd && strcmp (s_op_access [index].op, op) == 0)
            return s_op_access [index].access;
    return s_access [cmd];
}

int
zjob_roles_check (const zjob_peer_t *peer, zjob_msg_t *msg, zjob_error_t *err)
{
    assert (msg);
    if (!peer || peer->role == ZJOB_ROLE_ADMIN)
        return 0;
    zjob_cmd_t cmd = zjob_msg_command (msg);
    const char *name = zjob_cmd_name (cmd);
    if (peer->role != ZJOB_ROLE_CLIENT)
        return zjob_error_set (err, ZJOB_FORBIDDEN,
                               "%s: forbidden: a worker key sends no client requests", name);
    const char *op = cmd == ZJOB_CMD_TEMPLATE ? zjob_msg_str (msg, "op") : NULL;
    zjob_access_t access = zjob_roles_access (cmd, op);
    if (access == ZJOB_ACCESS_ADMIN)
        return zjob_error_set (err, ZJOB_FORBIDDEN, "%s%s%s: forbidden: admin only", name,
                               op ? " " : "", op ? op : "");
    if (access == ZJOB_ACCESS_OWN && !(peer->user_id && *peer->user_id))
        return zjob_error_set (err, ZJOB_FORBIDDEN, "%s: forbidden: this client key has no user",
                               name);
    return 0;
}

const char *
zjob_roles_user (const zjob_peer_t *peer)
{
    if (!peer || peer->role == ZJOB_ROLE_ADMIN)
        return NULL;
    //  A worker key (refused before) owns nothing, as a client without user
    return peer->role == ZJOB_ROLE_CLIENT && peer->user_id ? peer->user_id : "";
}

int
zjob_roles_unknown (const char *id, zjob_error_t *err)
{
    //  zjob_mgr_lookup's words: a client must not tell the two apart
    return zjob_error_set (err, ZJOB_NOT_FOUND, "job %s not found", id ? id : "(null)");
}

//  True if user (NULL: an admin) may see job
static bool
s_owns (const char *user, const zjob_job_t *job)
{
    return !user || (job->user_id && strcmp (job->user_id, user) == 0);
}

zjob_job_t *
zjob_roles_get (zjob_manager_t *manager, const char *user, const char *id, zjob_error_t *err)
{
    assert (manager);
    zjob_job_t *job = zjob_manager_get (manager, id, err);
    if (job && !s_owns (user, job)) {
        zjob_job_destroy (&job);
        zjob_roles_unknown (id, err);
    }
    return job;
}

int
zjob_roles_visible (zjob_manager_t *manager, const char *user, const char *id,
                    zjob_error_t *err)
{
    if (!user)
        return 0;
    zjob_job_t *job = zjob_roles_get (manager, user, id, err);
    if (!job)
        return -1;
    zjob_job_destroy (&job);
    return 0;
}

bool
zjob_roles_filter (zjob_filter_t *filter, const char *user)
{
    assert (filter);
    if (!user)
        return true;
    if (filter->user_id && strcmp (filter->user_id, user) != 0)
        return false;
    filter->user_id = user;
    return true;
}


//  --------------------------------------------------------------------------
//  SUBMIT

//  True if a job another user owns answers for key (an idempotency key,
//  or with unique a unique key)
static bool
s_key_taken (zjob_manager_t *manager, const char *user, const char *key, bool unique)
{
    zjob_job_t *job = NULL;
    char id [ZJOB_ID_LEN + 1];
    if (!unique)
        job = zjob_manager_find_key (manager, key);
    else if (zjob_queues_unique_find (zjob_manager_queues (manager), key, id))
        job = zjob_manager_get (manager, id, NULL);
    bool taken = job && !s_owns (user, job);
    zjob_job_destroy (&job);
    return taken;
}

//  A batch that exists and is not user's (an admin's has no owner)
static bool
s_batch_taken (zjob_manager_t *manager, const char *user, const char *id)
{
    const char *owner = id ? zjob_batches_owner (zjob_manager_batches (manager), id) : NULL;
    return owner && strcmp (owner, user) != 0;
}

//  What spec (number index, its user forced) names must be user's. 0 or -1.
static int
s_spec_names (zjob_manager_t *manager, const char *user, const zjob_spec_t *spec, size_t index,
              zjob_error_t *err)
{
    for (size_t parent = 0; parent < spec->depends_on_count; parent++) {
        const char *id = spec->depends_on [parent];
        zjob_job_t *job = id ? zjob_manager_get (manager, id, NULL) : NULL;
        bool hidden = job && !s_owns (user, job);
        zjob_job_destroy (&job);
        if (hidden)  //  The words of zjob_deps_admit, as the SUBMIT names them
            return zjob_error_set (err, ZJOB_NOT_FOUND, "jobs[%zu]: depends_on[%zu]: no job %s",
                                   index, parent, id);
    }
    if (spec->idempotency_key && s_key_taken (manager, user, spec->idempotency_key, false))
        return zjob_error_set (err, ZJOB_CONFLICT,
                               "jobs[%zu]: idempotency_key %s is taken by a job of another "
                               "user; choose another key",
                               index, spec->idempotency_key);
    if (spec->unique_key && s_key_taken (manager, user, spec->unique_key, true))
        return zjob_error_set (err, ZJOB_CONFLICT,
                               "jobs[%zu]: unique_key %s is held by a job of another user; "
                               "choose another key",
                               index, spec->unique_key);
    if (s_batch_taken (manager, user, spec->batch_id))
        return zjob_error_set (err, ZJOB_CONFLICT,
                               "jobs[%zu]: batch %s is another user's; choose another batch id",
                               index, spec->batch_id);
    return 0;
}

int
zjob_roles_submit (zjob_manager_t *manager, const char *user, const zjob_spec_t *specs,
                   size_t count, const zjob_batch_opts_t *opts, zjob_spec_t *forced,
                   zjob_error_t *err)
{
    assert (manager && user && (specs || !count) && (forced || !count));
    //  The users first: naming another is refused whatever else is wrong
    for (size_t index = 0; index < count; index++) {
        if (specs [index].user_id && strcmp (specs [index].user_id, user) != 0)
            return zjob_error_set (err, ZJOB_FORBIDDEN,
                                   "jobs[%zu]: this key submits as user %s, not %s", index,
                                   user, specs [index].user_id);
        forced [index] = specs [index];
        //  Set before the template is merged, so it wins over the template's
        forced [index].user_id = user;
    }
    if (opts && s_batch_taken (manager, user, opts->id))
        return zjob_error_set (err, ZJOB_CONFLICT,
                               "batch %s is another user's; choose another batch id", opts->id);
    for (size_t index = 0; index < count; index++)
        if (s_spec_names (manager, user, &forced [index], index, err))
            return -1;
    return 0;
}
