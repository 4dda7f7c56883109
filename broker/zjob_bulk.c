/*  =========================================================================
    zjob_bulk - the user's operations on many jobs, in bounded steps

    A step by filter is two halves: the store walk collects the ids of the
    jobs it visits that match and for which the operation is legal (its
    visitor must not change the store), then each is applied as
    zjob_manager_apply_with applies one job, so a step by filter and a
    step by ids share the one path that counts. The walk owns copies of
    the filter's strings and of the ids: the request they came from is
    gone by the second step. A step keeps its collected ids in a buffer
    kept for the next step, so a walk allocates once per size of step.

    A walk with an owner (a client key's request, zjob_roles.h) touches
    that user's jobs only: by ids, another user's job is failed as an
    unknown id, before the table is asked (a 409 "cannot cancel a
    completed job" would tell that the id exists); by filter, the caller
    has forced the user into the filter, and the visitor checks it again.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_bulk.h"
#include "zjob_roles.h"

struct _zjob_bulk_walk_t {
    zjob_apply_t what;                   //  The operation
    zjob_apply_opts_t opts;              //  Its options (copied; buffers borrowed)
    zjob_bulk_t outcome;                 //  Counts and first errors so far
    char **ids;                          //  By ids: owned copies, else NULL
    size_t id_count;                     //  Their number
    size_t next;                         //  By ids: index of the next to apply
    zjob_filter_t filter;                //  By filter: the copy (strings below)
    char *workflow_id;                   //  Owned copies of the filter's strings
    char *user_id;                       //
    char *extra [3];                     //  batch_id, waiting_on, schedule_id
    char **tags;                         //
    char cursor [ZJOB_ID_LEN + 1];       //  By filter: where the store walk resumes
    char (*step_ids) [ZJOB_ID_LEN + 1];  //  A step's collected ids
    size_t step_max;                     //  Room in step_ids
    size_t step_count;                   //  Collected by this step
    size_t examined;                     //  Jobs the last step examined
    bool done;                           //  Nothing left to examine
    char *owner;                         //  Only this user's jobs (owned), or NULL
};

static char **
s_copy_strs (const char *const *strs, size_t count)
{
    char **copy = (char **) calloc (count ? count : 1, sizeof (char *));
    for (size_t index = 0; copy && index < count; index++)
        if (!(copy [index] = strdup (strs [index] ? strs [index] : ""))) {
            while (index)
                free (copy [--index]);
            free (copy);
            return NULL;
        }
    return copy;
}

static void
s_free_strs (char ***strs_p, size_t count)
{
    for (size_t index = 0; *strs_p && index < count; index++)
        free ((*strs_p) [index]);
    free (*strs_p);
    *strs_p = NULL;
}

//  Copy the filter's strings into self, which then owns them. 0 or -1.
static int
s_copy_filter (zjob_bulk_walk_t *self, const zjob_filter_t *filter)
{
    self->filter = *filter;
    self->filter.workflow_id = self->filter.user_id = NULL;
    self->filter.tags = NULL;
    self->filter.tag_count = 0;
    if (filter->workflow_id
        && !(self->filter.workflow_id = self->workflow_id = strdup (filter->workflow_id)))
        return -1;
    if (filter->user_id && !(self->filter.user_id = self->user_id = strdup (filter->user_id)))
        return -1;
    const char *extra [3] = { filter->batch_id, filter->waiting_on, filter->schedule_id };
    for (int i = 0; i < 3; i++)
        if (extra [i] && !(self->extra [i] = strdup (extra [i])))
            return -1;
    self->filter.batch_id = self->extra [0];
    self->filter.waiting_on = self->extra [1];
    self->filter.schedule_id = self->extra [2];
    if (filter->tag_count) {
        if (!(self->tags = s_copy_strs (filter->tags, filter->tag_count)))
            return -1;
        self->filter.tags = (const char *const *) self->tags;
        self->filter.tag_count = filter->tag_count;
    }
    return 0;
}

zjob_bulk_walk_t *
zjob_manager_bulk_new (zjob_manager_t *manager, zjob_apply_t what, const char *const *ids,
                       size_t count, const zjob_filter_t *filter, const zjob_apply_opts_t *opts,
                       zjob_error_t *err)
{
    assert (manager);
    if (!ids && !filter) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "no ids and no filter");
        return NULL;
    }
    zjob_bulk_walk_t *self = (zjob_bulk_walk_t *) calloc (1, sizeof (zjob_bulk_walk_t));
    int rc = self ? 0 : -1;
    if (rc == 0) {
        self->what = what;
        if (opts)
            self->opts = *opts;
        if (ids) {
            self->id_count = count;
            rc = (self->ids = s_copy_strs (ids, count)) ? 0 : -1;
        }
        else
            rc = s_copy_filter (self, filter);
    }
    if (rc) {
        zjob_bulk_walk_destroy (&self);
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    if (!ids && what == ZJOB_APPLY_RUN_NOW)
        //  Due jobs join the ready queue first: only the others wait
        zjob_manager_promote (manager, zjob_clock_ms ());
    return self;
}

void
zjob_bulk_walk_destroy (zjob_bulk_walk_t **self_p)
{
    assert (self_p);
    zjob_bulk_walk_t *self = *self_p;
    if (self) {
        s_free_strs (&self->ids, self->id_count);
        s_free_strs (&self->tags, self->filter.tag_count);
        free (self->workflow_id);
        free (self->user_id);
        for (int i = 0; i < 3; i++)
            free (self->extra [i]);
        free (self->step_ids);
        free (self->owner);
        free (self);
        *self_p = NULL;
    }
}

//  Apply what to one id, counting it in the outcome
static void
s_bulk_one (zjob_manager_t *manager, zjob_bulk_walk_t *self, const char *id)
{
    zjob_bulk_t *bulk = &self->outcome;
    const zjob_apply_opts_t *opts = &self->opts;
    zjob_error_t err;
    //  Another user's job fails as an unknown id
    int rc = self->owner ? zjob_roles_visible (manager, self->owner, id, &err) : 0;
    if (rc == 0)
        rc = zjob_manager_apply_with (manager, self->what, id, opts, &err);
    if (rc == 0) {
        if (opts->done_ids && bulk->done < opts->done_max)
            snprintf (opts->done_ids [bulk->done], ZJOB_ID_LEN + 1, "%s", id);
        bulk->done++;
        return;
    }
    bulk->failed++;
    if (bulk->error_count < ZJOB_BULK_ERRORS_MAX) {
        snprintf (bulk->ids [bulk->error_count], sizeof (bulk->ids [0]), "%s", id ? id : "");
        bulk->errors [bulk->error_count++] = err;
    }
}

//  The store walk's visitor: collects the id of each job examined that
//  the filter matches and the operation is legal for (any job, for
//  delete). It must not change the store: the applying comes after.
typedef struct {
    zjob_manager_t *manager;
    zjob_bulk_walk_t *walk;
} s_collect_t;

static int
s_collect_id (zjob_job_t *job, void *arg)
{
    s_collect_t *collect = (s_collect_t *) arg;
    zjob_bulk_walk_t *self = collect->walk;
    self->examined++;
    if (!zjob_filter_match (&self->filter, job))
        return 0;
    if (self->owner && !(job->user_id && strcmp (job->user_id, self->owner) == 0))
        return 0;
    if (self->what == ZJOB_APPLY_DELETE
        || zjob_manager_allows (collect->manager, self->what, job, NULL))
        if (self->step_count < self->step_max)
            snprintf (self->step_ids [self->step_count++], ZJOB_ID_LEN + 1, "%s", job->id);
    return 0;
}

int
zjob_manager_bulk_step (zjob_manager_t *manager, zjob_bulk_walk_t *self, size_t max,
                        zjob_error_t *err)
{
    assert (manager && self);
    if (max == 0)
        max = 1;
    self->examined = 0;
    if (self->done)
        return 1;
    if (self->ids) {
        for (; self->next < self->id_count && self->examined < max; self->examined++)
            s_bulk_one (manager, self, self->ids [self->next++]);
        self->done = self->next == self->id_count;
        return self->done ? 1 : 0;
    }
    if (self->step_max < max) {
        char (*step_ids) [ZJOB_ID_LEN + 1] = realloc (self->step_ids, max * (ZJOB_ID_LEN + 1));
        if (!step_ids) {
            self->done = true;
            return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        }
        self->step_ids = step_ids;
        self->step_max = max;
    }
    //  The filter is matched by the visitor, so that every job examined
    //  is counted (the store examines max, matching or not)
    self->step_count = 0;
    s_collect_t collect = { manager, self };
    self->done = zjob_store_walk (zjob_manager_store (manager), NULL, false, self->cursor, max,
                                  s_collect_id, &collect)
        == 1;
    for (size_t index = 0; index < self->step_count; index++)
        s_bulk_one (manager, self, self->step_ids [index]);
    return self->done ? 1 : 0;
}

int
zjob_bulk_walk_set_owner (zjob_bulk_walk_t *self, const char *user)
{
    assert (self);
    free (self->owner);
    self->owner = NULL;
    return user && !(self->owner = strdup (user)) ? -1 : 0;
}

const zjob_bulk_t *
zjob_bulk_walk_outcome (zjob_bulk_walk_t *self)
{
    assert (self);
    return &self->outcome;
}

size_t
zjob_bulk_walk_examined (zjob_bulk_walk_t *self)
{
    assert (self);
    return self->examined;
}

bool
zjob_bulk_walk_dry (zjob_bulk_walk_t *self)
{
    assert (self);
    return self->opts.dry_run;
}


//  --------------------------------------------------------------------------
//  The one-call forms: every step at once

int
zjob_manager_apply_bulk (zjob_manager_t *self, zjob_apply_t what, const char *const *ids,
                         size_t count, const zjob_filter_t *filter, zjob_bulk_t *bulk,
                         zjob_error_t *err)
{
    return zjob_manager_apply_bulk_with (self, what, ids, count, filter, NULL, bulk, err);
}

int
zjob_manager_apply_bulk_with (zjob_manager_t *self, zjob_apply_t what,
                              const char *const *ids, size_t count,
                              const zjob_filter_t *filter, const zjob_apply_opts_t *opts,
                              zjob_bulk_t *bulk, zjob_error_t *err)
{
    assert (self);
    assert (bulk);
    bulk->done = bulk->failed = bulk->error_count = 0;
    zjob_bulk_walk_t *walk = zjob_manager_bulk_new (self, what, ids, count, filter, opts, err);
    if (!walk)
        return -1;
    int rc;
    while ((rc = zjob_manager_bulk_step (self, walk, ZJOB_BULK_STEP, err)) == 0)
        ;
    if (rc > 0)
        *bulk = walk->outcome;
    zjob_bulk_walk_destroy (&walk);
    return rc > 0 ? 0 : -1;
}
