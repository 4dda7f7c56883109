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
    [ZJOB_CMD_METRICS] = ZJOB_ACCESS_ADMIN,
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

//  What spec (number index, its user forced) names must be user's: its
//  keys and its batch (its parents are seen to by s_stand_ins). 0 or -1.
static int
s_spec_names (zjob_manager_t *manager, const char *user, const zjob_spec_t *spec, size_t index,
              zjob_error_t *err)
{
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

//  True if parent is a job of another user than user
static bool
s_hidden (zjob_manager_t *manager, const char *user, const char *parent)
{
    zjob_job_t *job = parent ? zjob_manager_get (manager, parent, NULL) : NULL;
    bool hidden = job && !s_owns (user, job);
    zjob_job_destroy (&job);
    return hidden;
}

//  The characters of an id (Crockford's base32, as zjob_util issues them)
static const char s_digits [] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

//  True if id is one of the count ids
static bool
s_among (const char *id, const char *const *ids, size_t count)
{
    for (size_t index = 0; index < count; index++)
        if (ids [index] && strcmp (ids [index], id) == 0)
            return true;
    return false;
}

//  Into stand_in, an id that no job has and that is not among the count
//  ids of list: hidden with another last character. False if none is
//  free (32 jobs that differ in their last character only: cannot be).
static bool
s_stand_in (zjob_manager_t *manager, const char *hidden, const char *const *list, size_t count,
            char *stand_in)
{
    snprintf (stand_in, ZJOB_ID_LEN + 1, "%s", hidden);
    for (const char *digit = s_digits; *digit; digit++) {
        stand_in [ZJOB_ID_LEN - 1] = *digit;
        zjob_job_t *job = NULL;
        if (!s_among (stand_in, list, count) && !(job = zjob_manager_get (manager, stand_in, NULL)))
            return true;
        zjob_job_destroy (&job);
    }
    return false;
}

//  A parent of another user: spec index's parent at
typedef struct {
    size_t index;
    size_t at;
} s_mark_t;

//  Give spec (number index, a copy in self) a parent list where each of
//  its count marked parents has a stand-in; *used: how much of
//  self->parents is taken. 0, or -1 with err (no stand-in free: the
//  unknown parent's 404 at once).
static int
s_stand_ins (zjob_roles_submit_t *self, zjob_manager_t *manager, zjob_spec_t *spec, size_t index,
             const s_mark_t *marks, size_t count, size_t *used, zjob_error_t *err)
{
    const char **list = self->parents + *used;
    for (size_t at = 0; at < spec->depends_on_count; at++)
        list [at] = spec->depends_on [at];
    for (size_t mark = 0; mark < count; mark++) {
        size_t at = marks [mark].at;
        const char *parent = spec->depends_on [at];
        //  The same parent twice has the same stand-in (the 400 "given twice")
        for (size_t before = 0; before < at && list [at] == parent; before++)
            if (strcmp (spec->depends_on [before], parent) == 0)
                list [at] = list [before];
        if (list [at] != parent)
            continue;
        char (*swap) [ZJOB_ID_LEN + 1] = self->swaps [self->swap_count];
        if (!s_stand_in (manager, parent, spec->depends_on, spec->depends_on_count, swap [0])
            || s_among (swap [0], list, at))
            return zjob_error_set (err, ZJOB_NOT_FOUND, "jobs[%zu]: depends_on[%zu]: no job %s",
                                   index, at, parent);
        snprintf (swap [1], ZJOB_ID_LEN + 1, "%s", parent);
        list [at] = swap [0];
        self->swap_count++;
    }
    spec->depends_on = list;
    *used += spec->depends_on_count;
    return 0;
}

//  Mark the parents of another user among the count specs: *marks_p a
//  malloc'd array of *count_p (NULL if none). 0, or -1 if out of memory.
static int
s_mark_parents (zjob_manager_t *manager, const char *user, const zjob_spec_t *specs,
                size_t count, s_mark_t **marks_p, size_t *count_p)
{
    size_t max = 0;
    for (size_t index = 0; index < count; index++)
        for (size_t at = 0; at < specs [index].depends_on_count; at++) {
            if (!s_hidden (manager, user, specs [index].depends_on [at]))
                continue;
            if (*count_p == max) {
                max = max ? max * 2 : 8;
                s_mark_t *marks = (s_mark_t *) realloc (*marks_p, max * sizeof (s_mark_t));
                if (!marks)
                    return -1;
                *marks_p = marks;
            }
            (*marks_p) [(*count_p)++] = (s_mark_t){ index, at };
        }
    return 0;
}

//  The parents of another user among the specs of self: each one gets a
//  stand-in. Allocates only if there is one. 0, or -1 with err.
static int
s_hide_parents (zjob_roles_submit_t *self, zjob_manager_t *manager, const char *user,
                zjob_spec_t *specs, size_t count, zjob_error_t *err)
{
    s_mark_t *marks = NULL;
    size_t marked = 0, parents = 0;
    int rc = s_mark_parents (manager, user, specs, count, &marks, &marked);
    for (size_t mark = 0; mark < marked; mark++)
        if (mark == 0 || marks [mark].index != marks [mark - 1].index)
            parents += specs [marks [mark].index].depends_on_count;
    if (rc == 0 && marked) {
        self->parents = (const char **) calloc (parents, sizeof (char *));
        self->swaps = calloc (marked, sizeof (self->swaps [0]));
        rc = self->parents && self->swaps ? 0 : -1;
    }
    if (rc)
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    size_t used = 0;
    for (size_t first = 0; rc == 0 && first < marked;) {
        size_t last = first;  //  The marks of one spec
        while (last + 1 < marked && marks [last + 1].index == marks [first].index)
            last++;
        size_t index = marks [first].index;
        rc = s_stand_ins (self, manager, &specs [index], index, marks + first, last - first + 1,
                          &used, err);
        first = last + 1;
    }
    free (marks);
    return rc;
}

int
zjob_roles_submit_prepare (zjob_roles_submit_t *self, zjob_manager_t *manager, const char *user,
                           const zjob_spec_t *specs, size_t count, const zjob_batch_opts_t *opts,
                           zjob_error_t *err)
{
    assert (self && manager && user && (specs || !count));
    memset (self, 0, sizeof (*self));
    //  The users first: naming another is refused whatever else is wrong
    for (size_t index = 0; index < count; index++)
        if (specs [index].user_id && strcmp (specs [index].user_id, user) != 0)
            return zjob_error_set (err, ZJOB_FORBIDDEN,
                                   "jobs[%zu]: this key submits as user %s, not %s", index,
                                   user, specs [index].user_id);
    zjob_spec_t *copies = count > 1 ? (self->many = calloc (count, sizeof (zjob_spec_t)))
                                    : &self->one;
    if (!copies)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    for (size_t index = 0; index < count; index++) {
        copies [index] = specs [index];
        //  Set before the template is merged, so it wins over the template's
        copies [index].user_id = user;
    }
    self->specs = copies;
    int rc = opts && s_batch_taken (manager, user, opts->id)
        ? zjob_error_set (err, ZJOB_CONFLICT,
                          "batch %s is another user's; choose another batch id", opts->id)
        : 0;
    for (size_t index = 0; rc == 0 && index < count; index++)
        rc = s_spec_names (manager, user, &copies [index], index, err);
    if (rc == 0)
        rc = s_hide_parents (self, manager, user, copies, count, err);
    if (rc)
        zjob_roles_submit_release (self);
    return rc;
}

void
zjob_roles_submit_error (const zjob_roles_submit_t *self, zjob_error_t *err)
{
    assert (self);
    if (!err || !self->swap_count)
        return;
    //  A stand-in appears as itself, 20 characters of an id, put back in
    //  place (the stand-ins are looked through only where an id is: the
    //  text names one or two)
    size_t length = strlen (err->text);
    for (size_t at = 0; at + ZJOB_ID_LEN <= length; at++) {
        if (strspn (err->text + at, s_digits) < ZJOB_ID_LEN)
            continue;
        for (size_t swap = 0; swap < self->swap_count; swap++)
            if (memcmp (err->text + at, self->swaps [swap][0], ZJOB_ID_LEN) == 0) {
                memcpy (err->text + at, self->swaps [swap][1], ZJOB_ID_LEN);
                break;
            }
        at += ZJOB_ID_LEN - 1;
    }
}

void
zjob_roles_submit_release (zjob_roles_submit_t *self)
{
    assert (self);
    free (self->many);
    free ((void *) self->parents);
    free (self->swaps);
    memset (self, 0, sizeof (*self));
}
