/*  =========================================================================
    zjob_clients - the broker's answers to client requests

    Each request is a small function: read the fields the decoder has
    already validated, call the manager (the job rules are there), encode
    the OK. Only SUBMIT is on the hot path: for one job it allocates
    nothing here (its arrays are one-element locals).

    Rates are counted in one-second buckets; a rate is what the buckets of
    the window (the current second included) counted, divided by the part
    of the window that has elapsed: the window's whole seconds plus the
    current one's elapsed part, or less if the broker started since. So a
    rate read right after a burst is the burst's rate, not 0 (whole seconds
    only, as before, showed nothing until the second was over).

    Roles (zjob_roles.h): the dispatch asks the roles' table first, then
    hands the handlers the user a client key is confined to (NULL: an
    admin or the open peer, no confinement). By id, another user's job is
    an unknown id; by filter, the user is forced into the filter, which the
    listing or walk copies, so a request kept across passes holds the
    user's name, never the peer.
    ========================================================================= */

#include "zjob_clients.h"
#include "zjob_queue_cmd.h"
#include "zjob_bulk.h"
#include "zjob_deps.h"
#include "zjob_template_cmd.h"
#include "zjob_proto.h"
#include "zjob_proto_batch.h"
#include "zjob_batches.h"
#include "zjob_roles.h"
#include "zjob_audit.h"
#include "zjob_log.h"
#include "zjob_metrics_cmd.h"
#include <stdlib.h>
#include <string.h>

#define S_RATE_SLOTS 16                             //  one-second buckets kept (> the window)
#define S_RATE_WINDOW (ZJOB_RATE_WINDOW_MS / 1000)  //  whole seconds averaged

//  Counts per second over the last S_RATE_SLOTS seconds
typedef struct {
    int64_t second [S_RATE_SLOTS];  //  Which second each bucket counts
    uint64_t count [S_RATE_SLOTS];
} s_rate_t;

//  A request under way, continued one step per loop pass: a CLEANUP, or
//  a LIST or a bulk operation by filter too big for one step
typedef struct {
    zjob_cmd_t cmd;                  //  ZJOB_CMD_CLEANUP, ZJOB_CMD_LIST, or a bulk's
    int64_t now_ms;                  //  CLEANUP: its "now" (ms UTC): the manager
                                     //  deletes what finished a retention before it
    size_t deleted;                  //  CLEANUP: jobs deleted so far
    zjob_listing_t *listing;         //  LIST: the listing under way, owned
    size_t offset;                   //  LIST: the query's offset, for the OK
    zjob_bulk_walk_t *walk;          //  Bulk: the operation under way, owned
    char (*done) [ZJOB_ID_LEN + 1];  //  Bulk dry run: the ids it would do, owned
    uint64_t request_id;             //  The request to answer
    uint8_t rid [ZJOB_RID_MAX];      //  The client's routing id
    size_t rid_size;
    char audit [ZJOB_AUDIT_MAX];  //  An admin action's description, for its
                                  //  outcome's log line (zjob_audit); "" none
} s_pending_t;

//  Jobs a LIST step examines (a test lowers it: zjob_clients_set_list_step)
static size_t s_list_step = ZJOB_LIST_STEP;
//  Jobs a bulk step by filter examines (zjob_clients_set_bulk_step)
static size_t s_bulk_step = ZJOB_BULK_STEP;

struct _zjob_clients_t {
    zjob_manager_t *manager;           //  The jobs (borrowed)
    zjob_registry_t *registry;         //  The workers (borrowed)
    zjob_publisher_t *publisher;       //  Events (borrowed), or NULL
    zjob_schedules_t *schedules;       //  SCHEDULE's (owned), or NULL
    int64_t retention_ms;              //  The manager's retention
    int64_t started_at;                //  Monotonic ms of the start, for uptime
    bool creating;                     //  Inside a SUBMIT's creates
    s_rate_t rates [ZJOB_RATE_COUNT];  //  Submitted, completed, failed
    zjob_msg_builder_t *builder;       //  The reply being built (borrowed)
    uint64_t request_id;               //  The request being answered
    s_pending_t pending;               //  The request handle last left pending
    s_pending_t *pendings;             //  Requests under way, oldest first
    size_t pending_count;
    size_t pending_max;
    s_pending_t answered;        //  The last one finished, being answered
    int log_level;               //  zjob_log_level_t, for the admin-action log
    zjob_audit_counts_t counts;  //  The counts of the bulk OK just built
    zjob_metrics_t *metrics;     //  METRICS' and STATS' history (borrowed), or NULL
};

//  Free what a pending request owns
static void
s_pending_free (s_pending_t *pending)
{
    zjob_listing_destroy (&pending->listing);
    zjob_bulk_walk_destroy (&pending->walk);
    free (pending->done);
    pending->done = NULL;
}

zjob_clients_t *
zjob_clients_new (zjob_manager_t *manager, zjob_registry_t *registry,
                  zjob_publisher_t *publisher, int64_t retention_ms)
{
    assert (manager && registry);
    zjob_clients_t *self = (zjob_clients_t *) calloc (1, sizeof (zjob_clients_t));
    if (self) {
        self->manager = manager;
        self->registry = registry;
        self->publisher = publisher;
        self->retention_ms = retention_ms > 0 ? retention_ms : ZJOB_RETENTION_DEFAULT_MS;
        self->started_at = zjob_mono_ms ();
        self->log_level = ZJOB_LOG_INFO;
        if (publisher)  //  batch_finished events
            zjob_batches_set_listener (zjob_manager_batches (manager),
                                       zjob_clients_batch_finished, publisher);
    }
    return self;
}

void
zjob_clients_destroy (zjob_clients_t **self_p)
{
    assert (self_p);
    zjob_clients_t *self = *self_p;
    if (self) {
        if (self->publisher)
            zjob_batches_set_listener (zjob_manager_batches (self->manager), NULL, NULL);
        for (size_t index = 0; index < self->pending_count; index++)
            s_pending_free (&self->pendings [index]);
        s_pending_free (&self->pending);
        free (self->pendings);
        zjob_schedules_destroy (&self->schedules);
    }
    free (self);
    *self_p = NULL;
}

//  A schedule's due time made a job: the schedule_fired event (its reason
//  is the schedule's name)
static void
s_schedule_fired (const char *name, int64_t due, const zjob_job_t *job, void *arg)
{
    zjob_clients_t *self = (zjob_clients_t *) arg;
    if (self->publisher)
        zjob_publisher_job_reason (self->publisher, "schedule_fired", job, -1, name);
}

int
zjob_clients_start_schedules (zjob_clients_t *self, int64_t now, zjob_error_t *err)
{
    assert (self);
    zjob_schedules_destroy (&self->schedules);
    self->schedules = zjob_schedules_new (self->manager, now, err);
    if (!self->schedules)
        return -1;
    zjob_schedules_set_listener (self->schedules, s_schedule_fired, self);
    return 0;
}

zjob_schedules_t *
zjob_clients_schedules (zjob_clients_t *self)
{
    assert (self);
    return self->schedules;
}

void
zjob_clients_set_log_level (zjob_clients_t *self, int log_level)
{
    assert (self);
    self->log_level = log_level;
}

bool
zjob_clients_creating (zjob_clients_t *self)
{
    assert (self);
    return self->creating;
}


//  --------------------------------------------------------------------------
//  Rates

void
zjob_clients_count (zjob_clients_t *self, zjob_rate_t kind, int64_t now_mono, uint64_t count)
{
    assert (self && kind < ZJOB_RATE_COUNT);
    s_rate_t *rate = &self->rates [kind];
    int64_t second = now_mono / 1000;
    size_t slot = (size_t) (second % S_RATE_SLOTS);
    if (rate->second [slot] != second) {
        rate->second [slot] = second;
        rate->count [slot] = 0;
    }
    rate->count [slot] += count;
}

double
zjob_clients_rate (zjob_clients_t *self, zjob_rate_t kind, int64_t now_mono)
{
    assert (self && kind < ZJOB_RATE_COUNT);
    const s_rate_t *rate = &self->rates [kind];
    int64_t now = now_mono / 1000;
    uint64_t total = 0;
    for (size_t slot = 0; slot < S_RATE_SLOTS; slot++)
        if (rate->second [slot] <= now && rate->second [slot] > now - S_RATE_WINDOW)
            total += rate->count [slot];
    //  The window began at the start of its first second, or at our start
    int64_t begun = (now - S_RATE_WINDOW + 1) * 1000;
    if (begun < self->started_at)
        begun = self->started_at;
    int64_t elapsed = now_mono - begun;
    if (elapsed < 1)
        elapsed = 1;
    return (double) total * 1000.0 / (double) elapsed;
}


//  --------------------------------------------------------------------------
//  The requests. Each returns 1 (an OK to a change), 0 (an OK), or -1
//  with err filled.

static void
s_ok (zjob_clients_t *self)
{
    zjob_msg_begin (self->builder, ZJOB_CMD_OK, self->request_id);
}

//  SUBMIT: the manager creates each spec, or finds the job an idempotency
//  key already made (zjob_manager_submit). A client's specs are its
//  user's (zjob_roles_submit_prepare), and so are the batches it creates.
static int
s_submit (zjob_clients_t *self, zjob_msg_t *msg, const char *user, int64_t now_mono,
          zjob_error_t *err)
{
    size_t count = 0;
    const zjob_spec_t *specs = zjob_msg_specs (msg, &count);
    zjob_batch_opts_t batch;  //  The SUBMIT's batch map, if any
    zjob_spec_t callback;
    int batched = zjob_msg_batch_opts (msg, &batch, &callback, err);
    if (batched < 0)
        return -1;
    zjob_roles_submit_t forced;  //  A client's specs, its user forced
    memset (&forced, 0, sizeof (forced));
    if (user && count && specs) {
        if (zjob_roles_submit_prepare (&forced, self->manager, user, specs, count,
                                       batched ? &batch : NULL, err))
            return -1;
        specs = forced.specs;
    }
    //  The common case, one job, allocates nothing here
    zjob_job_t *one_job = NULL;
    zjob_job_t **jobs = &one_job;
    const char *one_id = NULL;
    const char **ids = &one_id;
    uint64_t one_existing = 0;
    uint64_t *existing = &one_existing;  //  Indices of specs whose key is known
    size_t existing_count = 0;
    int created = 0;
    if (count > 1) {
        jobs = (zjob_job_t **) calloc (count, sizeof (zjob_job_t *));
        ids = (const char **) calloc (count, sizeof (char *));
        existing = (uint64_t *) calloc (count, sizeof (uint64_t));
        if (!jobs || !ids || !existing)
            created = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    if (created == 0) {
        zjob_batches_t *batches = zjob_manager_batches (self->manager);
        self->creating = true;
        zjob_batches_set_submitter (batches, user);
        created = zjob_manager_submit_with (self->manager, specs, count,
                                            zjob_msg_auto_start (msg), batched ? &batch : NULL,
                                            jobs, existing, &existing_count, err);
        zjob_batches_set_submitter (batches, NULL);
        self->creating = false;
    }
    if (created >= 0) {
        zjob_clients_count (self, ZJOB_RATE_SUBMITTED, now_mono, (uint64_t) created);
        for (size_t index = 0; index < count; index++) {
            //  ids is &one_id only when count is 1 (the branch above), so
            //  index is 0 there; cppcheck does not tie the two together
            // cppcheck-suppress objectIndex
            ids [index] = jobs [index]->id;
        }
        s_ok (self);
        zjob_msg_add_strs (self->builder, "ids", ids, count);
        if (existing_count)
            zjob_msg_add_uints (self->builder, "existing", existing, existing_count);
    }
    for (size_t index = 0; jobs && index < count; index++)
        zjob_job_destroy (&jobs [index]);
    if (count > 1) {
        free (jobs);
        free (ids);
        free (existing);
    }
    if (created < 0)
        zjob_roles_submit_error (&forced, err);
    zjob_roles_submit_release (&forced);
    return created >= 0 ? 1 : -1;  //  Confirms state, even a known key's job
}

static int
s_get (zjob_clients_t *self, zjob_msg_t *msg, const char *user, zjob_error_t *err)
{
    zjob_job_t *job = zjob_roles_get (self->manager, user, zjob_msg_str (msg, "id"), err);
    if (!job)
        return -1;
    s_ok (self);
    zjob_msg_add_job (self->builder, "job", job);
    zjob_job_destroy (&job);
    //  The children still waiting for it (zjob_deps.h), if any
    char ids [ZJOB_CHILDREN_MAX][ZJOB_ID_LEN + 1];
    size_t count = zjob_manager_children (self->manager, zjob_msg_str (msg, "id"), ids,
                                          ZJOB_CHILDREN_MAX);
    const char *strs [ZJOB_CHILDREN_MAX];
    size_t shown = 0;  //  A client sees its own children only
    for (size_t index = 0; index < count; index++)
        if (zjob_roles_visible (self->manager, user, ids [index], NULL) == 0)
            strs [shown++] = ids [index];
    if (shown)
        zjob_msg_add_strs (self->builder, "children", strs, shown);
    return 0;
}

void
zjob_clients_set_list_step (size_t jobs)
{
    s_list_step = jobs ? jobs : ZJOB_LIST_STEP;
}

//  The OK of a finished listing. 0, or -1 with err filled.
static int
s_list_ok (zjob_clients_t *self, zjob_listing_t *listing, size_t offset, zjob_error_t *err)
{
    zjob_job_t **jobs = NULL;
    size_t count = 0, total = 0;
    if (zjob_listing_take (listing, &jobs, &count, &total, err))
        return -1;
    s_ok (self);
    zjob_msg_add_jobs (self->builder, "jobs", jobs, count);
    zjob_msg_add_uint (self->builder, "total", total);
    zjob_msg_add_uint (self->builder, "offset", offset);
    for (size_t index = 0; index < count; index++)
        zjob_job_destroy (&jobs [index]);
    free (jobs);
    return 0;
}

//  LIST: its first step at once, unless another request is under way
//  (then it waits its turn); the OK now if that step was the last, else
//  the rest in later passes, one step per pass (zjob_clients_step)
static int
s_list (zjob_clients_t *self, zjob_msg_t *msg, const char *user, zjob_error_t *err)
{
    const zjob_query_t *asked = zjob_msg_query (msg);
    if (!asked)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "LIST: no query");
    zjob_query_t forced = *asked;  //  A client's: its user forced (the listing copies it)
    const zjob_query_t *query = &forced;
    if (!zjob_roles_filter (&forced.filter, user)) {
        //  Another user's jobs: none, as if there were none
        s_ok (self);
        zjob_msg_add_jobs (self->builder, "jobs", NULL, 0);
        zjob_msg_add_uint (self->builder, "total", 0);
        zjob_msg_add_uint (self->builder, "offset", query->offset);
        return 0;
    }
    zjob_listing_t *listing = zjob_listing_new (query, err);
    if (!listing)
        return -1;
    int rc = self->pending_count
        ? 0
        : zjob_manager_list_step (self->manager, listing, s_list_step, err);
    if (rc == 0) {
        self->pending.cmd = ZJOB_CMD_LIST;
        self->pending.listing = listing;
        self->pending.walk = NULL;
        self->pending.done = NULL;
        self->pending.offset = query->offset;
        self->pending.request_id = self->request_id;
        return ZJOB_CLIENTS_PENDING;
    }
    if (rc > 0)
        rc = s_list_ok (self, listing, query->offset, err);
    zjob_listing_destroy (&listing);
    return rc;
}

//  The manager's operation for a client command
static zjob_apply_t
s_apply_of (zjob_cmd_t cmd)
{
    return cmd == ZJOB_CMD_START ? ZJOB_APPLY_START : cmd == ZJOB_CMD_PAUSE ? ZJOB_APPLY_PAUSE
        : cmd == ZJOB_CMD_RESUME                                            ? ZJOB_APPLY_RESUME
        : cmd == ZJOB_CMD_CANCEL                                            ? ZJOB_APPLY_CANCEL
                                                                            : ZJOB_APPLY_DELETE;
}

void
zjob_clients_set_bulk_step (size_t jobs)
{
    s_bulk_step = jobs ? jobs : ZJOB_BULK_STEP;
}

//  The OK of a finished bulk operation (done: a dry run's ids). 0, or -1
//  with err filled.
static int
s_bulk_ok (zjob_clients_t *self, zjob_bulk_walk_t *walk, char (*done) [ZJOB_ID_LEN + 1],
           zjob_error_t *err)
{
    const zjob_bulk_t *bulk = zjob_bulk_walk_outcome (walk);
    self->counts = (zjob_audit_counts_t){ true, bulk->done, bulk->failed, false };
    size_t count = done ? (bulk->done < ZJOB_BATCH_MAX ? bulk->done : ZJOB_BATCH_MAX) : 0;
    const char **ids = (const char **) calloc (count ? count : 1, sizeof (char *));
    if (!ids)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    const char *failed [ZJOB_BULK_ERRORS_MAX];
    for (size_t index = 0; index < bulk->error_count; index++)
        failed [index] = bulk->ids [index];
    s_ok (self);
    zjob_msg_add_bulk (self->builder, bulk->done, bulk->failed, failed, bulk->errors,
                       bulk->error_count);
    for (size_t index = 0; index < count; index++)
        ids [index] = done [index];
    if (done)
        zjob_msg_add_strs (self->builder, "ids", ids, count);
    free (ids);
    return 0;
}

//  The OK of an operation by a filter that matches nothing (a client's
//  naming another user): nothing done, as over an empty store
static int
s_bulk_none (zjob_clients_t *self, bool dry_run)
{
    s_ok (self);
    zjob_msg_add_bulk (self->builder, 0, 0, NULL, NULL, 0);
    if (dry_run)
        zjob_msg_add_strs (self->builder, "ids", NULL, 0);
    return dry_run ? 0 : 1;  //  A write confirms, even if nothing changed
}

//  An operation on many jobs. By ids (at most ZJOB_BATCH_MAX: bounded) it
//  is done at once. By filter its first step runs at once, unless another
//  request is under way (then it waits its turn); the OK now if that
//  step was the last, else the rest in later passes, one step per pass
//  (zjob_clients_step). A real operation's OK confirms state, a dry
//  run's is a read's; a dry run names the jobs it would do.
static int
s_bulk (zjob_clients_t *self, zjob_cmd_t cmd, zjob_apply_t what, const zjob_target_t *target,
        zjob_apply_opts_t *opts, const char *user, zjob_error_t *err)
{
    zjob_filter_t filter = { .user_id = NULL };  //  A client's: its user forced (copied)
    if (target->filter) {
        filter = *target->filter;
        if (!zjob_roles_filter (&filter, user))
            return s_bulk_none (self, opts->dry_run);
    }
    char (*done) [ZJOB_ID_LEN + 1] = NULL;
    if (opts->dry_run && !(done = calloc (ZJOB_BATCH_MAX, ZJOB_ID_LEN + 1)))
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    opts->done_ids = done;
    opts->done_max = done ? ZJOB_BATCH_MAX : 0;
    zjob_bulk_walk_t *walk = zjob_manager_bulk_new (self->manager, what, target->ids,
                                                    target->id_count,
                                                    target->filter ? &filter : NULL, opts, err);
    if (walk && zjob_bulk_walk_set_owner (walk, user)) {
        zjob_bulk_walk_destroy (&walk);
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    int rc = walk ? 0 : -1;
    if (walk && target->ids)
        rc = zjob_manager_bulk_step (self->manager, walk, target->id_count, err);
    else if (walk && !self->pending_count)
        rc = zjob_manager_bulk_step (self->manager, walk, s_bulk_step, err);
    if (rc == 0) {
        self->pending.cmd = cmd;
        self->pending.listing = NULL;
        self->pending.walk = walk;
        self->pending.done = done;
        self->pending.request_id = self->request_id;
        return ZJOB_CLIENTS_PENDING;
    }
    if (rc > 0)
        rc = s_bulk_ok (self, walk, done, err);
    zjob_bulk_walk_destroy (&walk);
    free (done);
    return rc < 0 ? -1 : opts->dry_run ? 0
                                       : 1;  //  A write confirms, even if nothing changed
}

int
zjob_clients_cancel_filter (zjob_clients_t *self, const zjob_filter_t *filter, const char *user,
                            zjob_error_t *err)
{
    assert (self && filter);
    zjob_target_t target = { .filter = filter };
    zjob_apply_opts_t opts = { .dry_run = false };
    return s_bulk (self, ZJOB_CMD_BATCH, ZJOB_APPLY_CANCEL, &target, &opts, user, err);
}

//  DELETE, START, PAUSE, RESUME, CANCEL of one job, a list, or a filter
static int
s_target (zjob_clients_t *self, zjob_msg_t *msg, zjob_cmd_t cmd, const char *user,
          zjob_error_t *err)
{
    const zjob_target_t *target = zjob_msg_target (msg);
    if (!target)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: no target", zjob_cmd_name (cmd));
    if (target->id) {
        if (zjob_roles_visible (self->manager, user, target->id, err)
            || zjob_manager_apply (self->manager, s_apply_of (cmd), target->id, err))
            return -1;
        s_ok (self);
        zjob_msg_add_str (self->builder, "id", target->id);
        if (cmd != ZJOB_CMD_DELETE) {
            int status = zjob_manager_status (self->manager, target->id, NULL);
            if (status >= 0)
                zjob_msg_add_str (self->builder, "status",
                                  zjob_status_name ((zjob_status_t) status));
        }
        return 1;
    }
    //  Many: by list, or every job the filter matches
    zjob_apply_opts_t opts = { .dry_run = false };
    return s_bulk (self, cmd, s_apply_of (cmd), target, &opts, user, err);
}

//  RETRY's veto: a job that a worker still holds (its CANCEL, after a
//  cancel or a timeout, is not answered yet) is not re-run: handed out
//  again it could reach the worker that still runs it, and the slot that
//  worker frees when it answers would not come back
static int
s_not_held (zjob_apply_t what, const zjob_job_t *job, void *arg, zjob_error_t *err)
{
    zjob_clients_t *self = (zjob_clients_t *) arg;
    zjob_registry_worker_t *holder = what == ZJOB_APPLY_RETRY
        ? zjob_registry_holder (self->registry, job->id)
        : NULL;
    if (holder)
        return zjob_error_set (err, ZJOB_CONFLICT, "job %s is still held by worker %s, which "
                                                   "has not let it go yet; retry it once it has",
                               job->id, holder->worker_id);
    return 0;
}

//  RETRY and RUN_NOW of one job, a list or a filter, as s_target; a dry
//  run changes nothing, so its OK is a read's. A bulk dry run names the
//  jobs it would do (ZJOB_BATCH_MAX at most).
static int
s_rerun (zjob_clients_t *self, zjob_msg_t *msg, zjob_cmd_t cmd, const char *user,
         zjob_error_t *err)
{
    const zjob_target_t *target = zjob_msg_target (msg);
    if (!target)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: no target", zjob_cmd_name (cmd));
    zjob_apply_t what = cmd == ZJOB_CMD_RETRY ? ZJOB_APPLY_RETRY : ZJOB_APPLY_RUN_NOW;
    zjob_apply_opts_t opts = {
        .reset_attempts = cmd == ZJOB_CMD_RETRY && zjob_msg_bool (msg, "reset_attempts", false),
        .dry_run = zjob_msg_bool (msg, "dry_run", false),
        .veto = s_not_held,
        .veto_arg = self
    };
    int confirms = opts.dry_run ? 0 : 1;
    if (target->id) {
        if (zjob_roles_visible (self->manager, user, target->id, err)
            || zjob_manager_apply_with (self->manager, what, target->id, &opts, err))
            return -1;
        s_ok (self);
        zjob_msg_add_str (self->builder, "id", target->id);
        //  Either way the job is (or would be) queued
        zjob_msg_add_str (self->builder, "status", zjob_status_name (ZJOB_QUEUED));
        return confirms;
    }
    return s_bulk (self, cmd, what, target, &opts, user, err);
}

static int
s_status (zjob_clients_t *self, zjob_msg_t *msg, const char *user, zjob_error_t *err)
{
    zjob_job_t *job = zjob_roles_get (self->manager, user, zjob_msg_str (msg, "id"), err);
    if (!job)
        return -1;
    s_ok (self);
    zjob_msg_add_str (self->builder, "id", job->id);
    zjob_msg_add_str (self->builder, "status", zjob_status_name ((zjob_status_t) job->status));
    zjob_msg_add_float (self->builder, "progress", job->progress);
    zjob_msg_add_str (self->builder, "progress_message", job->progress_message);
    zjob_msg_add_uint (self->builder, "updated_at", (uint64_t) job->updated_at);
    zjob_job_destroy (&job);
    return 0;
}

static int
s_results (zjob_clients_t *self, zjob_msg_t *msg, const char *user, zjob_error_t *err)
{
    //  Another user's job is unknown before it is asked for results (a 409
    //  "not finished" would tell it exists)
    if (zjob_roles_visible (self->manager, user, zjob_msg_str (msg, "id"), err))
        return -1;
    zjob_job_t *job = zjob_manager_results (self->manager, zjob_msg_str (msg, "id"), err);
    if (!job)
        return -1;
    s_ok (self);
    zjob_msg_add_str (self->builder, "id", job->id);
    zjob_msg_add_str (self->builder, "status", zjob_status_name ((zjob_status_t) job->status));
    zjob_msg_add_bin (self->builder, "outputs", job->outputs.data, job->outputs.size);
    zjob_msg_add_str (self->builder, "error_kind", job->error_kind);
    zjob_msg_add_str (self->builder, "error_message", job->error_message);
    zjob_msg_add_uint (self->builder, "completed_at", (uint64_t) job->completed_at);
    zjob_msg_add_uint (self->builder, "execution_ms", (uint64_t) job->execution_ms);
    zjob_job_destroy (&job);
    return 0;
}

//  CLEANUP deletes nothing here: it is left pending, and the owner runs it
//  in steps, one per loop pass (zjob_clients_defer, zjob_clients_step)
static int
s_cleanup (zjob_clients_t *self, zjob_msg_t *msg)
{
    int64_t now = zjob_clock_ms ();
    //  The manager keeps its configured retention; a request's own
    //  retention moves "now" by the difference
    if (zjob_msg_has (msg, "retention_ms"))
        now += self->retention_ms - (int64_t) zjob_msg_uint (msg, "retention_ms", 0);
    self->pending.cmd = ZJOB_CMD_CLEANUP;
    self->pending.listing = NULL;
    self->pending.walk = NULL;
    self->pending.done = NULL;
    self->pending.now_ms = now;
    self->pending.deleted = 0;
    self->pending.request_id = self->request_id;
    return ZJOB_CLIENTS_PENDING;
}

int
zjob_clients_defer (zjob_clients_t *self, const uint8_t *rid, size_t rid_size,
                    zjob_error_t *err)
{
    assert (self);
    //  --max-pending: one connection cannot make the broker keep requests
    //  (their listings, walks, ids) without end. A request refused here
    //  has changed nothing: with another request kept already, its first
    //  step did not run (s_list, s_bulk run it only when none is kept).
    size_t max_pending = zjob_manager_limits (self->manager)->max_pending;
    size_t kept = 0;
    size_t size = rid_size < ZJOB_RID_MAX ? rid_size : ZJOB_RID_MAX;
    for (size_t index = 0; max_pending && index < self->pending_count; index++)
        kept += self->pendings [index].rid_size == size
            && memcmp (self->pendings [index].rid, rid, size) == 0;
    if (max_pending && kept >= max_pending) {
        s_pending_free (&self->pending);
        zjob_error_set (err, ZJOB_TOO_MANY, "too many requests pending on this connection (%zu)",
                        max_pending);
        zjob_audit_outcome (self->pending.audit, -1, false, err, NULL, self->log_level);
        return -1;
    }
    if (self->pending_count == self->pending_max) {
        size_t max = self->pending_max ? self->pending_max * 2 : 4;
        s_pending_t *pendings = (s_pending_t *) realloc (self->pendings,
                                                         max * sizeof (s_pending_t));
        if (!pendings) {
            s_pending_free (&self->pending);
            return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        }
        self->pendings = pendings;
        self->pending_max = max;
    }
    s_pending_t *pending = &self->pendings [self->pending_count++];
    *pending = self->pending;
    self->pending.listing = NULL;  //  Owned by the copy now
    self->pending.walk = NULL;
    self->pending.done = NULL;
    pending->rid_size = rid_size < ZJOB_RID_MAX ? rid_size : ZJOB_RID_MAX;
    memcpy (pending->rid, rid, pending->rid_size);
    zjob_audit_outcome (pending->audit, 0, true, NULL, NULL, self->log_level);
    return 0;
}

size_t
zjob_clients_deferred (zjob_clients_t *self)
{
    assert (self);
    return self->pending_count;
}

int
zjob_clients_step (zjob_clients_t *self, zjob_msg_builder_t *builder, const uint8_t **rid_p,
                   size_t *rid_size_p, uint64_t *request_id_p, zjob_error_t *err)
{
    assert (self && builder && rid_p && rid_size_p && request_id_p);
    if (self->pending_count == 0)
        return 0;
    s_pending_t *pending = &self->pendings [0];
    int rc;  //  1 while it goes on, 0 when done, -1 on error
    if (pending->cmd == ZJOB_CMD_LIST) {
        rc = zjob_manager_list_step (self->manager, pending->listing, s_list_step, err);
        rc = rc > 0 ? 0 : rc == 0 ? 1
                                  : -1;
    }
    else if (pending->walk) {
        rc = zjob_manager_bulk_step (self->manager, pending->walk, s_bulk_step, err);
        rc = rc > 0 ? 0 : rc == 0 ? 1
                                  : -1;
    }
    else
        rc = zjob_manager_cleanup_step (self->manager, pending->now_ms, ZJOB_CLEANUP_STEP,
                                        &pending->deleted, err);
    if (rc > 0)
        return 0;  //  More next pass
    //  Finished (or failed): answer it, and the next one starts next pass
    self->answered = *pending;
    memmove (self->pendings, self->pendings + 1, --self->pending_count * sizeof (s_pending_t));
    *rid_p = self->answered.rid;
    *rid_size_p = self->answered.rid_size;
    *request_id_p = self->answered.request_id;
    self->builder = builder;
    self->request_id = self->answered.request_id;
    if (self->answered.cmd == ZJOB_CMD_LIST) {
        if (rc == 0)
            rc = s_list_ok (self, self->answered.listing, self->answered.offset, err);
        zjob_listing_destroy (&self->answered.listing);
        return rc < 0 ? -1 : ZJOB_CLIENTS_READ;
    }
    if (self->answered.walk) {
        bool dry = zjob_bulk_walk_dry (self->answered.walk);
        self->counts.counted = false;
        if (rc == 0)
            rc = s_bulk_ok (self, self->answered.walk, self->answered.done, err);
        zjob_audit_outcome (self->answered.audit, rc, false, err, &self->counts,
                            self->log_level);
        s_pending_free (&self->answered);
        return rc < 0 ? -1 : dry ? ZJOB_CLIENTS_READ
                                 : 1;
    }
    zjob_audit_counts_t deleted = { true, self->answered.deleted, 0, true };
    zjob_audit_outcome (self->answered.audit, rc, false, err, &deleted, self->log_level);
    if (rc < 0)
        return -1;
    s_ok (self);
    zjob_msg_add_uint (self->builder, "deleted", (uint64_t) self->answered.deleted);
    return 1;  //  Confirms state, even if nothing was deleted
}

//  Collects the manager's per-workflow counts for STATS
typedef struct {
    const char **ids;
    size_t (*counts) [ZJOB_STATUS_COUNT];
    size_t count;
    size_t max;
} s_workflows_t;

static void
s_collect_workflow (const char *workflow_id, const size_t counts [ZJOB_STATUS_COUNT], void *arg)
{
    s_workflows_t *workflows = (s_workflows_t *) arg;
    if (workflows->count < workflows->max) {
        workflows->ids [workflows->count] = workflow_id;
        memcpy (workflows->counts [workflows->count], counts,
                sizeof (size_t) * ZJOB_STATUS_COUNT);
        workflows->count++;
    }
}

//  STATS' store figures: the store's own, as key/value strings (keys and
//  values borrowed from figures, which the caller destroys)
static void
s_store_figures (zjob_clients_t *self, zjob_stats_t *stats, zhashx_t *figures,
                 const char **keys, const char **values, size_t max)
{
    const char *value = (const char *) zhashx_first (figures);
    for (; value && stats->store_count < max; value = (const char *) zhashx_next (figures)) {
        keys [stats->store_count] = (const char *) zhashx_cursor (figures);
        values [stats->store_count++] = value;
    }
    stats->store_name = zjob_manager_store_name (self->manager);
    stats->store_keys = keys;
    stats->store_values = values;
}

static int
s_stats (zjob_clients_t *self, int64_t now_mono, zjob_error_t *err)
{
    zjob_stats_t stats = { .rate_window_ms = S_RATE_WINDOW * 1000 };
    zjob_manager_counts (self->manager, stats.by_status);
    //  Per workflow: kept by the manager, O(workflows). The ids are the
    //  manager's, valid until it changes, which it does not during this call
    size_t max = zjob_manager_workflows (self->manager);
    s_workflows_t workflows = {
        (const char **) calloc (max ? max : 1, sizeof (char *)),
        (size_t (*) [ZJOB_STATUS_COUNT]) calloc (max ? max : 1, sizeof (size_t [ZJOB_STATUS_COUNT])),
        0, max
    };
    zhashx_t *figures = zjob_hashx_new ();
    size_t figure_count = figures ? (zjob_manager_store_stats (self->manager, figures),
                                     zhashx_size (figures))
                                  : 0;
    const char **keys = (const char **) calloc (figure_count + 1, sizeof (char *));
    const char **values = (const char **) calloc (figure_count + 1, sizeof (char *));
    size_t held_max = zjob_queues_size (zjob_manager_queues (self->manager));
    const char **held_ids = (const char **) calloc (held_max + 1, sizeof (char *));
    const char **held_reasons = (const char **) calloc (held_max + 1, sizeof (char *));
    int rc = 0;
    if (!workflows.ids || !workflows.counts || !figures || !keys || !values || !held_ids
        || !held_reasons)
        rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    else {
        zjob_manager_workflow_counts (self->manager, s_collect_workflow, &workflows);
        stats.workflow_ids = workflows.ids;
        stats.workflow_counts = (const size_t (*) [ZJOB_STATUS_COUNT]) workflows.counts;
        stats.workflow_count = workflows.count;
        stats.queued = zjob_manager_queued (self->manager);
        stats.active = zjob_manager_active (self->manager);
        stats.max_concurrent = zjob_manager_max_concurrent (self->manager);
        stats.scheduled = zjob_manager_scheduled (self->manager);
        stats.retrying = zjob_manager_retrying (self->manager);
        stats.dead = stats.by_status [ZJOB_FAILED];  //  Failed is failed for good
        const zjob_limits_t *limits = zjob_manager_limits (self->manager);
        stats.queued_jobs = zjob_manager_unrun (self->manager, &stats.queued_bytes);
        stats.max_queued = limits->max_queued;
        stats.max_queued_bytes = limits->max_queued_bytes;
        stats.max_pending = limits->max_pending;
        uint64_t credit = 0;
        zjob_registry_worker_t *worker = zjob_registry_first (self->registry);
        for (; worker; worker = zjob_registry_next (self->registry)) {
            stats.slots += worker->slots;
            stats.busy += worker->holding;
            credit += worker->dead ? 0 : worker->credit;
        }
        //  Jobs are ready and workers could take them: only the cap holds them
        stats.held_by_limit = stats.max_concurrent && stats.queued && credit
            && stats.active >= stats.max_concurrent;
        //  Workflows their queue controls hold back (zjob_queues.h)
        stats.held_count = zjob_queue_cmd_held (self->manager, held_ids, held_reasons, held_max);
        stats.held_workflows = held_ids;
        stats.held_reasons = held_reasons;
        stats.paused_queues = zjob_queues_paused (zjob_manager_queues (self->manager));
        stats.workers = zjob_registry_size (self->registry);
        stats.submitted_rate = zjob_clients_rate (self, ZJOB_RATE_SUBMITTED, now_mono);
        stats.completed_rate = zjob_clients_rate (self, ZJOB_RATE_COMPLETED, now_mono);
        stats.failed_rate = zjob_clients_rate (self, ZJOB_RATE_FAILED, now_mono);
        stats.uptime_ms = (uint64_t) (now_mono - self->started_at);
        stats.subscriptions = self->publisher ? zjob_publisher_subscriptions (self->publisher) : 0;
        stats.templates = zjob_templates_count (zjob_manager_templates (self->manager));
        s_store_figures (self, &stats, figures, keys, values, figure_count);
        zjob_metrics_history_t history;
        if (self->metrics) {
            zjob_metrics_history (self->metrics, zjob_clock_ms (), &history);
            stats.history_submitted = history.submitted;
            stats.history_completed = history.completed;
            stats.history_failed = history.failed;
            stats.history_minutes = ZJOB_METRICS_MINUTES;
            stats.history_minute = (uint64_t) history.minute;
        }
        s_ok (self);
        zjob_msg_add_stats (self->builder, &stats);
    }
    free (keys);
    free (values);
    free (held_ids);
    free (held_reasons);
    zhashx_destroy (&figures);
    free (workflows.ids);
    free (workflows.counts);
    return rc;
}

static int
s_workers (zjob_clients_t *self, zjob_error_t *err)
{
    size_t count = zjob_registry_size (self->registry);
    size_t held = zjob_registry_held (self->registry);
    zjob_worker_info_t *infos = (zjob_worker_info_t *) calloc (count ? count : 1,
                                                               sizeof (zjob_worker_info_t));
    const char **jobs = (const char **) calloc (held ? held : 1, sizeof (char *));
    if (!infos || !jobs) {
        free (infos);
        free (jobs);
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    int64_t now_mono = zjob_mono_ms ();
    int64_t now = zjob_clock_ms ();
    size_t index = 0, used = 0;  //  Workers listed, job ids used
    zjob_registry_worker_t *worker = zjob_registry_first (self->registry);
    for (; worker && index < count; worker = zjob_registry_next (self->registry)) {
        zjob_worker_info_t *info = &infos [index++];
        info->worker_id = worker->worker_id;
        info->name = worker->name;
        info->workflows = (const char *const *) worker->workflows;
        info->workflow_count = worker->workflow_count;
        info->slots = worker->slots;
        info->busy = worker->holding;
        info->credit = worker->credit;
        info->connected_at = (uint64_t) worker->joined_at;
        info->last_seen = (uint64_t) (now - (now_mono - worker->seen_at));
        //  Its jobs: a walk over the holders, on request only
        info->jobs = jobs + used;
        info->job_count = zjob_registry_jobs (self->registry, worker, jobs + used,
                                              held - used);
        used += info->job_count;
    }
    s_ok (self);
    zjob_msg_add_workers (self->builder, infos, index);
    free (infos);
    free (jobs);
    return 0;
}

void
zjob_clients_set_metrics (zjob_clients_t *self, zjob_metrics_t *metrics)
{
    assert (self);
    self->metrics = metrics;
}

//  The request, once its role may send it
static int
s_handle (zjob_clients_t *self, zjob_msg_t *msg, const zjob_peer_t *peer,
          zjob_msg_builder_t *builder, int64_t now_mono, zjob_error_t *err)
{
    const char *user = zjob_roles_user (peer);
    self->builder = builder;
    self->request_id = zjob_msg_request_id (msg);
    zjob_cmd_t cmd = zjob_msg_command (msg);
    switch (cmd) {
        case ZJOB_CMD_SUBMIT: return s_submit (self, msg, user, now_mono, err);
        case ZJOB_CMD_GET: return s_get (self, msg, user, err);
        case ZJOB_CMD_LIST: return s_list (self, msg, user, err);
        case ZJOB_CMD_DELETE:
        case ZJOB_CMD_START:
        case ZJOB_CMD_PAUSE:
        case ZJOB_CMD_RESUME:
        case ZJOB_CMD_CANCEL: return s_target (self, msg, cmd, user, err);
        case ZJOB_CMD_RETRY:
        case ZJOB_CMD_RUN_NOW: return s_rerun (self, msg, cmd, user, err);
        case ZJOB_CMD_STATUS: return s_status (self, msg, user, err);
        case ZJOB_CMD_RESULTS: return s_results (self, msg, user, err);
        case ZJOB_CMD_CLEANUP: return s_cleanup (self, msg);
        case ZJOB_CMD_STATS: return s_stats (self, now_mono, err);
        case ZJOB_CMD_WORKERS: return s_workers (self, err);
        case ZJOB_CMD_BATCH:
            return zjob_clients_batch (self, self->manager, msg, user, builder, self->request_id,
                                       err);
        case ZJOB_CMD_TEMPLATE:
            return zjob_template_cmd (zjob_manager_templates (self->manager), msg, builder,
                                      self->request_id, err);
        case ZJOB_CMD_SCHEDULE: return zjob_schedules_handle (self->schedules, msg, self->builder, zjob_clock_ms (), err);
        case ZJOB_CMD_QUEUE:
            return zjob_queue_cmd_handle (self->manager, self->publisher, msg, builder,
                                          self->request_id, err);
        case ZJOB_CMD_METRICS:
            return zjob_metrics_cmd_handle (self->metrics, self->manager, self->registry,
                                            self->publisher, builder, self->request_id, err);
        case ZJOB_CMD_PING:
            s_ok (self);
            zjob_msg_add_uint (self->builder, "version", ZJOB_PROTO_VERSION);
            zjob_msg_add_uint (self->builder, "time", (uint64_t) zjob_clock_ms ());
            return 0;
        default:
            //  The decoder lets through only what the route allows
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: not a client request",
                                   zjob_cmd_name (cmd));
    }
}

int
zjob_clients_handle (zjob_clients_t *self, zjob_msg_t *msg, const zjob_peer_t *peer,
                     zjob_msg_builder_t *builder, int64_t now_mono, zjob_error_t *err)
{
    assert (self && msg && builder);
    //  What the peer's role may send (zjob_roles.h's table), and the user
    //  a client key is confined to (NULL: none), for this call only
    self->counts.counted = false;
    int rc = zjob_roles_check (peer, msg, err) ? -1
                                               : s_handle (self, msg, peer, builder, now_mono, err);
    //  Admin actions are logged with who asked (zjob_audit); one left
    //  pending keeps its description for its outcome
    zjob_audit_request (msg, peer, rc, rc == ZJOB_CLIENTS_PENDING, err, &self->counts,
                        self->log_level, self->pending.audit);
    return rc;
}
