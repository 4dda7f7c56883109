/*  =========================================================================
    zjob_manager - the job manager: job operations, ready queue, dispatch

    This file keeps the one path every change takes, and the job
    operations on it. The rest is in files of its own:
    zjob_manager_setup.c (the manager's construction and destruction, and
    recovery's hooks), zjob_queue.c (ready lists and scheduled set),
    zjob_listing.c (LIST's page), zjob_recovery.c (the start),
    zjob_tally.c (counts), zjob_snapshot.c (undoing a refused put),
    zjob_expiry.c (terminal jobs in order, for cleanup), zjob_times.c (a
    job's times, and undoing a provisional requeue),
    zjob_manager_rules.c (rules made of the manager's calls: SUBMIT's
    idempotency, bulk operations, a lost worker's job), zjob_manager_rerun.c
    (RETRY's re-run and RUN_NOW, through zjob_manager_change), zjob_deps.c
    (dependencies: waiting, release, graphs; called at creation and from
    this path). The manager's state is in zjob_manager_impl.h.

    Every operation follows one path: fetch the job (a reference), ask the
    transition table whether the operation is legal, change the job in
    place, put it to the store, and only when the store has accepted the
    change update the ready queue, the held set and the status counts, then
    tell the listener. A put that fails restores the job's fields from a
    snapshot taken before the change, so a failed call leaves the job, the
    store and the queues exactly as they were.

    Queue. Queued jobs wait in a zjob_queue (zjob_queue.c): the ready
    lists per workflow and priority, and the scheduled set of jobs whose
    run_at is ahead. The manager calls it only once the store has accepted
    a change, and reserves room in the scheduled set before the put that
    schedules a job, so an accepted change is never lost to an allocation
    failure.

    Held set. held maps job id to the job (a reference) and the time it
    last became running, for every job a worker holds: running, or paused
    while the worker has not let go. Its size is the number of active jobs
    that max_concurrent bounds. Cancelling a held job releases it at once
    (the broker tells the worker to stop), so a late complete from that
    worker is a conflict.

    Counts. counts holds the stored jobs per status and tallies the same
    per workflow (zjob_tally.c), so that STATS costs O(workflows), not a
    walk over the store. Both move together in zjob_tally_move, which
    every create, status change, delete,
    cleanup and recovery calls once the store has accepted the change. A
    new job's tally is allocated before its put, so that running out of
    memory refuses the create instead of leaving an uncounted job.

    The manager relies on the store handing back the job object it was
    given (the memory and file stores share jobs, see zjob_store.h): a
    queued job is linked into the queue through its own fields. Held jobs
    are looked up in the held set first in any case.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_manager_impl.h"
#include "zjob_log.h"
#include "zjob_keyindex.h"
#include "zjob_queue.h"
#include "zjob_tally.h"
#include "zjob_snapshot.h"
#include "zjob_listing.h"
#include "zjob_expiry.h"
#include "zjob_times.h"
#include "zjob_deps.h"

//  --------------------------------------------------------------------------
//  Small helpers

//  The idempotency key index: key -> job id, for jobs that carry a key.
//  The index keeps a hash of each key, not the key: an entry is confirmed
//  by looking its job up (zjob_keyindex.h).

typedef struct {
    zjob_manager_t *self;
    zjob_job_t *job;  //  find: the job confirmed, a reference
} s_key_search_t;

static bool
s_key_match (const char *id, const char *key, void *arg)
{
    s_key_search_t *search = (s_key_search_t *) arg;
    zjob_job_t *job = zjob_mgr_lookup (search->self, id, NULL);
    bool match = job && job->idempotency_key && streq (job->idempotency_key, key);
    if (match && !search->job)
        search->job = job;  //  Kept for zjob_manager_find_key
    else
        zjob_job_destroy (&job);
    return match;
}

void
zjob_mgr_key_add (zjob_manager_t *self, const zjob_job_t *job)
{
    if (!job->idempotency_key)
        return;
    s_key_search_t search = { self, NULL };
    if (zjob_keyindex_put (self->keys, job->idempotency_key, job->id, s_key_match, &search))
        zjob_log_error ("zjob_manager: out of memory indexing the key of job %s", job->id);
    zjob_job_destroy (&search.job);
}

static void
s_key_remove (zjob_manager_t *self, const zjob_job_t *job)
{
    if (job->idempotency_key)
        zjob_keyindex_remove (self->keys, job->idempotency_key, job->id);
}

static bool
s_streq (const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp (a, b) == 0;
}

void
zjob_mgr_notify (zjob_manager_t *self, zjob_event_t event, const zjob_job_t *job,
                 zjob_status_t old_status)
{
    if (self->listener)
        self->listener (event, job, old_status, self->listener_arg);
}

//  The workflow modules hear here of every change the store accepted
//  (old_status may equal the job's status: a progress report, a requeue
//  of a held paused job) and of every deletion. Each module adds one call
//  to each (A: zjob_deps_changed, B: zjob_batches_changed, E:
//  zjob_queues_changed, and their _deleted), nothing else: the order of
//  the calls does not matter, and none may fail the change, which is
//  already stored.
void
zjob_mgr_after_change (zjob_manager_t *self, zjob_job_t *job, zjob_status_t old_status)
{
    zjob_batches_changed (self->batches, job, (int) old_status);
    zjob_queues_changed (self->queues, job, (int) old_status);
    zjob_deps_changed (self->deps, job, (int) old_status);
}

void
zjob_mgr_after_delete (zjob_manager_t *self, zjob_job_t *job)
{
    zjob_batches_deleted (self->batches, job);
    zjob_queues_deleted (self->queues, job);
    zjob_deps_deleted (self->deps, job);
}


//  --------------------------------------------------------------------------
//  The one path every status change takes

//  Find job id: the held set first (the manager's own reference), then the
//  store. Returns a new reference, or NULL with ZJOB_NOT_FOUND.
zjob_job_t *
zjob_mgr_lookup (zjob_manager_t *self, const char *id, zjob_error_t *err)
{
    if (!id || !*id) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "job id: required");
        return NULL;
    }
    s_held_t *held = (s_held_t *) zhashx_lookup (self->held, id);
    if (held)
        return zjob_job_ref (held->job);
    zjob_job_t *job = zjob_store_get (self->store, id);
    if (!job)
        zjob_error_set (err, ZJOB_NOT_FOUND, "job %s not found", id);
    return job;
}

//  Move job (already checked and snapshot into snap) to status to by op
//  (edits->adopt: a dispatch that continues the job's last attempt;
//  edits->provisional: a retry its worker may undo): stamp its times, put
//  it, then update queue, held set and counts, and tell the listener. On
//  a put failure the job is restored from snap and nothing else changes.
//  Returns 0 or -1.
static int
s_commit (zjob_manager_t *self, zjob_job_t *job, zjob_op_t op, int to, const s_edits_t *edits,
          const zjob_snapshot_t *snap, zjob_error_t *err)
{
    bool adopt = edits && edits->adopt;
    int from = snap->status;
    int64_t now = zjob_clock_ms ();
    zjob_requeue_t *prov = from == ZJOB_QUEUED
        ? (zjob_requeue_t *) zhashx_lookup (self->provisional, job->id)
        : NULL;
    int64_t ran = zjob_times_stamp (job, op, to, adopt, prov, snap, now);
    bool give_back = edits && edits->give_back;
    if (give_back)
        ran = zjob_times_give_back (job, ran, snap);
    //  A requeue is provisional: its worker may come back with the job
    //  (not one it gave back: it never started it, and has forgotten it)
    zjob_requeue_t *new_prov = NULL;
    if (to == ZJOB_QUEUED && !give_back
        && (op == ZJOB_OP_REQUEUE || (op == ZJOB_OP_RETRY && edits && edits->provisional))) {
        new_prov = (zjob_requeue_t *) malloc (sizeof (zjob_requeue_t));
        if (!new_prov) {
            zjob_snapshot_restore (snap, job);
            return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        }
        new_prov->queued_at = snap->queued_at;
        new_prov->counted = ran;
    }
    job->status = (uint8_t) to;
    job->updated_at = now;

    s_held_t *new_held = NULL;
    if (to == ZJOB_RUNNING && from == ZJOB_QUEUED) {
        new_held = (s_held_t *) calloc (1, sizeof (s_held_t));
        if (!new_held) {
            free (new_prov);
            zjob_snapshot_restore (snap, job);
            return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        }
    }
    //  A job queued by the user (not requeued) waits for its run_at
    bool enqueue = to == ZJOB_QUEUED && from != ZJOB_QUEUED;
    bool terminal = zjob_status_terminal ((zjob_status_t) to) && from != to;
    if ((enqueue && op != ZJOB_OP_REQUEUE && job->run_at > now
         && zjob_queue_reserve (self->queue, 1))
        || (terminal && zjob_expiry_reserve (self->expiry, 1))) {
        free (new_held);
        free (new_prov);
        zjob_snapshot_restore (snap, job);
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    if (zjob_store_put (self->store, job, err)) {
        free (new_held);
        free (new_prov);
        zjob_snapshot_restore (snap, job);
        return -1;
    }
    if (prov && to != ZJOB_QUEUED)
        zhashx_delete (self->provisional, job->id);
    if (new_prov)
        zhashx_update (self->provisional, job->id, new_prov);

    //  The store has it: bring the queue and the held set along
    if (from == ZJOB_QUEUED && to != ZJOB_QUEUED)
        zjob_queue_remove (self->queue, job);
    if (enqueue) {
        int rc = op == ZJOB_OP_REQUEUE ? zjob_queue_requeue (self->queue, job)
                                       : zjob_queue_enqueue (self->queue, job, now);
        if (rc)
            zjob_log_error ("zjob_manager: out of memory queueing job %s", job->id);
    }
    if (new_held) {
        new_held->job = zjob_job_ref (job);
        new_held->beat_at = now;
        zhashx_insert (self->held, job->id, new_held);
        zjob_mgr_deadlines_arm (self, job, now);
    }
    if (snap->held && !job->held)
        zhashx_delete (self->held, job->id);
    if (terminal)
        zjob_expiry_append (self->expiry, job);

    if (edits && edits->pre_event)
        zjob_mgr_notify (self, (zjob_event_t) (edits->pre_event - 1), job, (zjob_status_t) from);
    if (from != to) {
        zjob_tally_move (self->tally, job, from, to);
        zjob_mgr_notify (self, op == ZJOB_OP_RETRY ? ZJOB_EVENT_RETRYING : ZJOB_EVENT_STATUS, job,
                         (zjob_status_t) from);
    }
    if (edits && edits->post_event)
        zjob_mgr_notify (self, (zjob_event_t) (edits->post_event - 1), job, (zjob_status_t) from);
    zjob_mgr_after_change (self, job, (zjob_status_t) from);
    return 0;
}

//  Put the job's id into a transition error ("job is queued; cannot
//  start" becomes "job 0J... is queued; cannot start"). Returns -1.
static int
s_name_job (zjob_error_t *err, const zjob_job_t *job)
{
    if (err && strncmp (err->text, "job ", 4) == 0) {
        char cause [ZJOB_ERROR_TEXT_MAX];
        snprintf (cause, sizeof (cause), "%s", err->text + 4);
        zjob_error_set (err, err->code, "job %s %s", job->id, cause);
    }
    return -1;
}


//  True if worker_id ran an earlier attempt of job id
bool
zjob_mgr_earlier_has (zjob_manager_t *self, const char *id, const char *worker_id)
{
    const char *list = (const char *) zhashx_lookup (self->earlier, id);
    size_t size = strlen (worker_id);
    for (; list && *list; list = strchr (list, '\n') + 1)
        if (strncmp (list, worker_id, size) == 0 && list [size] == '\n')
            return true;
    return false;
}

//  Remember that worker_id ran an attempt of job id. 0 or -1 (memory).
static int
s_earlier_add (zjob_manager_t *self, const char *id, const char *worker_id, zjob_error_t *err)
{
    if (strchr (worker_id, '\n') || zjob_mgr_earlier_has (self, id, worker_id))
        return 0;
    const char *list = (const char *) zhashx_lookup (self->earlier, id);
    char *grown = zsys_sprintf ("%s%s\n", list ? list : "", worker_id);
    if (!grown)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    zhashx_update (self->earlier, id, grown);
    return 0;
}

//  Apply op to job (a reference the caller keeps) if the transition table
//  allows it, with edits (NULL for none). Returns 0, or -1 with err filled
//  and the job as it was.

int
zjob_mgr_apply (zjob_manager_t *self, zjob_job_t *job, zjob_op_t op, const s_edits_t *edits,
                zjob_error_t *err)
{
    int to = zjob_transition ((zjob_status_t) job->status, op, job->held, err);
    if (to < 0)
        return s_name_job (err, job);
    //  A job whose parents have not all completed waits for them
    if (to == ZJOB_QUEUED && (op == ZJOB_OP_START || op == ZJOB_OP_RESUME || op == ZJOB_OP_RERUN))
        to = zjob_deps_route (self->deps, job);
    return zjob_mgr_apply_to (self, job, op, to, edits, err);
}

//  Apply op to job, leading to status to (already decided), with edits
int
zjob_mgr_apply_to (zjob_manager_t *self, zjob_job_t *job, zjob_op_t op, int to,
                   const s_edits_t *edits, zjob_error_t *err)
{
    zjob_snapshot_t snap;
    int rc = zjob_snapshot_take (&snap, job);
    if (rc)
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    if (rc == 0 && edits && edits->set_worker && job->worker_id && edits->worker_id
        && !streq (job->worker_id, edits->worker_id))
        //  Another worker takes the job over: the one before ran an
        //  earlier attempt, and its result is still the job's result
        rc = s_earlier_add (self, job->id, job->worker_id, err);
    if (rc == 0 && edits && edits->set_worker
        && zjob_job_set_worker (job, edits->worker_id))
        rc = zjob_error_set (err, ZJOB_INTERNAL, "worker id: out of memory");
    if (rc == 0 && edits && edits->set_outputs) {
        rc = zjob_job_set_outputs (job, edits->outputs, edits->outputs_size, err);
        job->progress = 1.0f;
    }
    if (rc == 0 && edits && edits->set_error && !edits->add_error
        && zjob_job_set_error (job, edits->error_kind, edits->error_message))
        rc = zjob_error_set (err, ZJOB_INTERNAL, "error: out of memory");
    //  A failed attempt goes into the history (and sets the error)
    zjob_history_t *replaced = NULL;
    bool added = false;
    if (rc == 0 && edits && edits->add_error) {
        if (zjob_job_add_error (job, edits->error_attempt, edits->error_kind,
                                edits->error_message, edits->error_worker, zjob_clock_ms (),
                                &replaced))
            rc = zjob_error_set (err, ZJOB_INTERNAL, "error: out of memory");
        else
            added = true;
    }
    if (rc == 0 && edits && edits->set_run_at)
        job->run_at = edits->run_at;
    if (rc == 0 && edits && edits->result_attempt)
        job->result_attempt = edits->result_attempt;
    if (rc == 0 && edits && edits->edit)
        rc = edits->edit (job, edits->edit_arg, err);
    if (rc == 0 && to == ZJOB_QUEUED)
        rc = zjob_deps_outputs (self->deps, job, snap.status, err);
    if (rc == 0)
        rc = s_commit (self, job, op, to, edits, &snap, err);
    else
        zjob_snapshot_restore (&snap, job);
    if (added && rc == 0)
        zjob_job_history_settle (job, replaced);
    else if (added)
        zjob_job_history_undo (job, replaced);
    zjob_snapshot_free (&snap);
    return rc;
}

//  Apply one of the user's operations (start, pause, resume, cancel) or a
//  requeue to job id.
static int
s_operate (zjob_manager_t *self, const char *id, zjob_op_t op, zjob_error_t *err)
{
    zjob_job_t *job = zjob_mgr_lookup (self, id, err);
    if (!job)
        return -1;
    int rc = zjob_mgr_apply (self, job, op, NULL, err);
    zjob_job_destroy (&job);
    return rc;
}

//  Return a reference to job id if worker_id holds it, else NULL with
//  ZJOB_NOT_FOUND or ZJOB_CONFLICT.
static zjob_job_t *
s_lookup_held (zjob_manager_t *self, const char *id, const char *worker_id,
               zjob_error_t *err)
{
    zjob_job_t *job = zjob_mgr_lookup (self, id, err);
    if (!job)
        return NULL;
    if (!job->held
        || !zhashx_lookup (self->held, job->id)
        || !s_streq (job->worker_id, worker_id)) {
        zjob_error_set (err, ZJOB_CONFLICT, "job %s is not held by worker %s",
                        job->id, worker_id ? worker_id : "(none)");
        zjob_job_destroy (&job);
    }
    return job;
}


//  --------------------------------------------------------------------------
//  Make a new job from spec, queued already when auto_start (one put).
//  Returns the job with one reference, or NULL with err filled.

static zjob_job_t *
s_job_prepare (zjob_manager_t *self, const zjob_spec_t *spec, bool auto_start,
               zjob_error_t *err)
{
    if (!spec) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "job spec: required");
        return NULL;
    }
    zjob_job_t *job = zjob_job_new (spec, err);
    if (job && zjob_mgr_resolve (self, job, spec)) {
        zjob_error_set (err, ZJOB_INTERNAL, "job: out of memory");
        zjob_job_destroy (&job);
    }
    if (job && auto_start) {
        int to = zjob_transition (ZJOB_CREATED, ZJOB_OP_START, false, err);
        if (to < 0) {
            zjob_job_destroy (&job);
            return NULL;
        }
        job->status = (uint8_t) to;
        job->queued_at = job->updated_at = zjob_clock_ms ();
    }
    if (job && zjob_deps_admit (self->deps, job, err))
        zjob_job_destroy (&job);
    return job;
}

//  True if a job s_job_prepare made will wait for its run_at
static bool
s_job_scheduled (const zjob_job_t *job)
{
    return job->status == ZJOB_QUEUED && job->run_at > job->queued_at;
}

//  Account for a job the store has just accepted, and announce it.
static void
s_job_created (zjob_manager_t *self, zjob_job_t *job)
{
    if (job->status == ZJOB_QUEUED && zjob_queue_enqueue (self->queue, job, job->queued_at))
        zjob_log_error ("zjob_manager: out of memory queueing job %s", job->id);
    zjob_tally_move (self->tally, job, -1, job->status);
    zjob_mgr_key_add (self, job);
    zjob_queues_unique_add (self->queues, job);
    self->creating = true;
    zjob_mgr_notify (self, ZJOB_EVENT_STATUS, job, ZJOB_CREATED);
    self->creating = false;
    zjob_deps_created (self->deps, job);
}


//  --------------------------------------------------------------------------
//  Create a job; with auto_start it is queued at once. Returns a new
//  reference, or NULL with err filled.

zjob_job_t *
zjob_manager_create (zjob_manager_t *self, const zjob_spec_t *spec, bool auto_start,
                     zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = s_job_prepare (self, spec, auto_start, err);
    if (!job)
        return NULL;
    if ((s_job_scheduled (job) && zjob_queue_reserve (self->queue, 1))
        || zjob_tally_require (self->tally, job->workflow_id)) {
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        zjob_job_destroy (&job);
        return NULL;
    }
    if (zjob_store_put (self->store, job, err)) {
        zjob_tally_trim (self->tally, job->workflow_id);
        zjob_job_destroy (&job);
        return NULL;
    }
    s_job_created (self, job);
    return job;
}


//  --------------------------------------------------------------------------
//  Create count jobs, all or none. Returns 0 or -1 with err naming the
//  first bad spec's index.

int
zjob_manager_create_some (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                          const bool *skip, bool auto_start, zjob_job_t **jobs,
                          zjob_error_t *err)
{
    assert (self);
    return zjob_mgr_create_ordered (self, specs, count, skip, NULL, NULL, NULL, auto_start, jobs,
                                    err);
}

//  As zjob_manager_create_some, the specs taken in order (NULL: as given)
//  and each handed out by spec_fn (NULL: as given), which sees the jobs
//  made before it (zjob_deps.c: positions turned into ids)
int
zjob_mgr_create_ordered (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                         const bool *skip, const size_t *order, zjob_mgr_spec_fn *spec_fn,
                         void *arg, bool auto_start, zjob_job_t **jobs, zjob_error_t *err)
{
    zjob_job_t **made = (zjob_job_t **) calloc (count, sizeof (zjob_job_t *));
    if (!made)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");

    int rc = 0;
    size_t step, index;
    for (step = 0; step < count; step++) {
        index = order ? order [step] : step;
        if (skip && skip [index])
            continue;
        zjob_error_t cause = { 0, "" };
        const zjob_spec_t *spec = spec_fn ? spec_fn (index, made, arg, &cause) : &specs [index];
        made [index] = spec ? s_job_prepare (self, spec, auto_start, &cause) : NULL;
        if (!made [index]) {
            rc = zjob_error_set (err, cause.code ? cause.code : ZJOB_BAD_REQUEST,
                                 "jobs[%zu]: %s", index, cause.text);
            break;
        }
    }
    size_t timers = 0;  //  Jobs that will wait for run_at
    for (index = 0; rc == 0 && index < count; index++)
        timers += made [index] && s_job_scheduled (made [index]);
    if (rc == 0 && timers && zjob_queue_reserve (self->queue, timers))
        rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    for (index = 0; rc == 0 && index < count; index++)
        if (made [index] && zjob_tally_require (self->tally, made [index]->workflow_id))
            rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    size_t stored = 0;  //  Steps of order whose job the store has accepted
    while (rc == 0 && stored < count) {
        zjob_job_t *job = made [order ? order [stored] : stored];
        if (job && zjob_store_put (self->store, job, err))
            rc = -1;
        else
            stored++;
    }
    if (rc) {
        //  Take back what went in, so that none of the batch remains
        for (step = 0; step < stored; step++) {
            zjob_job_t *job = made [order ? order [step] : step];
            if (job)
                zjob_store_remove (self->store, job->id, NULL);
        }
        for (index = 0; index < count; index++) {
            if (made [index])
                zjob_tally_trim (self->tally, made [index]->workflow_id);
            zjob_job_destroy (&made [index]);
        }
        free (made);
        return -1;
    }
    for (step = 0; step < count; step++) {
        index = order ? order [step] : step;
        if (!made [index])
            continue;
        s_job_created (self, made [index]);
        if (jobs)
            jobs [index] = made [index];
        else
            zjob_job_destroy (&made [index]);
    }
    free (made);
    return 0;
}


//  --------------------------------------------------------------------------
//  The job with id (a new reference), or NULL with ZJOB_NOT_FOUND.

zjob_job_t *
zjob_manager_get (zjob_manager_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    return zjob_mgr_lookup (self, id, err);
}


//  --------------------------------------------------------------------------
//  List jobs matching query->filter, sorted and paged (zjob_listing.c).

int
zjob_manager_list (zjob_manager_t *self, const zjob_query_t *query,
                   zjob_job_t ***jobs_p, size_t *count_p, size_t *total_p,
                   zjob_error_t *err)
{
    assert (self);
    return zjob_listing_page (self->store, query, jobs_p, count_p, total_p, err);
}

int
zjob_manager_list_step (zjob_manager_t *self, zjob_listing_t *listing, size_t max,
                        zjob_error_t *err)
{
    assert (self);
    return zjob_listing_step (listing, self->store, max, err);
}


//  --------------------------------------------------------------------------
//  Delete a job; a queued, running or paused job is cancelled first, so
//  the listener hears the cancel, then the deletion. 0 or -1.

int
zjob_manager_delete (zjob_manager_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = zjob_mgr_lookup (self, id, err);
    if (!job)
        return -1;
    if (job->status == ZJOB_QUEUED || job->status == ZJOB_RUNNING
        || job->status == ZJOB_PAUSED || job->status == ZJOB_WAITING) {
        int rc = zjob_mgr_apply (self, job, ZJOB_OP_CANCEL, NULL, err);
        zjob_job_destroy (&job);
        if (rc == 0)
            job = zjob_mgr_lookup (self, id, err);
        if (!job)
            return -1;
    }
    int rc = zjob_store_remove (self->store, job->id, err);
    if (rc == 0) {
        zjob_tally_move (self->tally, job, job->status, -1);
        s_key_remove (self, job);
        zhashx_delete (self->earlier, job->id);
        zjob_mgr_failure_forget (self, job->id);
        zjob_mgr_notify (self, ZJOB_EVENT_DELETED, job, (zjob_status_t) job->status);
        zjob_mgr_after_delete (self, job);
    }
    zjob_job_destroy (&job);
    return rc;
}


//  --------------------------------------------------------------------------
//  The user's lifecycle operations, by the transition table.

int
zjob_manager_start (zjob_manager_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    return s_operate (self, id, ZJOB_OP_START, err);
}

int
zjob_manager_pause (zjob_manager_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    return s_operate (self, id, ZJOB_OP_PAUSE, err);
}

int
zjob_manager_resume (zjob_manager_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    return s_operate (self, id, ZJOB_OP_RESUME, err);
}

int
zjob_manager_cancel (zjob_manager_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    return s_operate (self, id, ZJOB_OP_CANCEL, err);
}


//  --------------------------------------------------------------------------
//  The job's status, or -1 with ZJOB_NOT_FOUND.

int
zjob_manager_status (zjob_manager_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = zjob_mgr_lookup (self, id, err);
    if (!job)
        return -1;
    int status = job->status;
    zjob_job_destroy (&job);
    return status;
}


//  --------------------------------------------------------------------------
//  The results of a completed or failed job (a new reference), else NULL
//  with ZJOB_CONFLICT or ZJOB_NOT_FOUND.

zjob_job_t *
zjob_manager_results (zjob_manager_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = zjob_mgr_lookup (self, id, err);
    if (!job)
        return NULL;
    if (job->status == ZJOB_COMPLETED || job->status == ZJOB_FAILED)
        return job;
    if (job->status == ZJOB_CANCELLED)
        zjob_error_set (err, ZJOB_CONFLICT, "job %s was cancelled; it has no results", job->id);
    else
        zjob_error_set (err, ZJOB_CONFLICT,
                        "job %s is %s; results exist once it completes or fails",
                        job->id, zjob_status_name ((zjob_status_t) job->status));
    zjob_job_destroy (&job);
    return NULL;
}


//  --------------------------------------------------------------------------
//  Delete terminal jobs completed before now_ms minus the retention, from
//  the front of the expiry line (oldest first), at most max per call.

int
zjob_manager_cleanup_step (zjob_manager_t *self, int64_t now_ms, size_t max,
                           size_t *deleted_p, zjob_error_t *err)
{
    assert (self);
    assert (deleted_p);
    int64_t before_ms = now_ms - self->retention_ms;
    int batches = zjob_batches_cleanup_step (self->batches, before_ms, max, err);
    if (batches < 0)
        return -1;
    //  Stale entries (jobs deleted since) count toward max too: a call
    //  does at most max units of work, whatever the line holds
    char id [ZJOB_ID_LEN + 1];
    for (size_t done = 0; done < max; done++) {
        if (!zjob_expiry_pop (self->expiry, before_ms, id))
            return batches;
        zjob_job_t *job = zjob_store_get (self->store, id);
        if (!job || !zjob_status_terminal ((zjob_status_t) job->status)
            || job->completed_at >= before_ms) {
            //  Stale: deleted, or re-run since (a later end has its own entry)
            zjob_job_destroy (&job);
            continue;
        }
        if (zjob_store_remove (self->store, job->id, err)) {
            zjob_expiry_unpop (self->expiry, job);  //  A later call tries again
            zjob_job_destroy (&job);
            return -1;
        }
        (*deleted_p)++;
        zjob_tally_move (self->tally, job, job->status, -1);
        s_key_remove (self, job);
        zhashx_delete (self->earlier, job->id);
        zjob_mgr_failure_forget (self, job->id);
        zjob_mgr_notify (self, ZJOB_EVENT_DELETED, job, (zjob_status_t) job->status);
        zjob_mgr_after_delete (self, job);
        zjob_job_destroy (&job);
    }
    return zjob_expiry_due (self->expiry, before_ms) || batches ? 1 : 0;
}

int
zjob_manager_cleanup (zjob_manager_t *self, int64_t now_ms, zjob_error_t *err)
{
    assert (self);
    size_t deleted = 0;
    int rc;
    while ((rc = zjob_manager_cleanup_step (self, now_ms, ZJOB_CLEANUP_STEP, &deleted, err)) > 0)
        ;
    return rc < 0 ? -1 : (int) deleted;
}


//  --------------------------------------------------------------------------
//  Hand the next job to worker_id; NULL when there is nothing to give or
//  max_concurrent jobs are held.

static zjob_job_t *
s_take (zjob_manager_t *self, const char *const *workflows, size_t count,
        const char *worker_id, uint64_t max_seq);

zjob_job_t *
zjob_manager_take (zjob_manager_t *self, const char *const *workflows, size_t count,
                   const char *worker_id)
{
    assert (self);
    return s_take (self, workflows, count, worker_id, UINT64_MAX);
}

zjob_job_t *
zjob_manager_take_before (zjob_manager_t *self, const char *const *workflows, size_t count,
                          const char *worker_id, uint64_t max_seq)
{
    assert (self);
    return s_take (self, workflows, count, worker_id, max_seq);
}

uint64_t
zjob_manager_seq (zjob_manager_t *self)
{
    assert (self);
    return zjob_queue_seq (self->queue);
}

//  The best job for the worker, if it was enqueued at or before max_seq
static zjob_job_t *
s_take (zjob_manager_t *self, const char *const *workflows, size_t count,
        const char *worker_id, uint64_t max_seq)
{
    if (self->max_concurrent && zhashx_size (self->held) >= self->max_concurrent)
        return NULL;
    if (zjob_queue_scheduled (self->queue))
        zjob_queue_promote (self->queue, zjob_clock_ms ());
    if (zjob_queue_ready (self->queue) == 0)
        return NULL;
    //  A workflow paused, at its concurrency or out of tokens is passed
    //  over: one check per workflow considered, never a walk of its jobs
    zjob_queue_gate_fn *gate = zjob_queues_active (self->queues) ? zjob_mgr_queue_gate : NULL;
    zjob_job_t *best = zjob_queue_best_if (self->queue, workflows, count, gate, self);
    if (best && zhashx_size (self->avoid) && zjob_mgr_avoided (self, best, worker_id)) {
        //  This worker still has a timed-out attempt of it: the next best
        //  (the job is at the head of its list and goes back there)
        zjob_job_t *avoided = zjob_job_ref (best);
        zjob_queue_remove (self->queue, avoided);
        best = zjob_queue_best_if (self->queue, workflows, count, gate, self);
        if (best && zjob_mgr_avoided (self, best, worker_id))
            best = NULL;  //  Two: enough looking for this pass
        if (zjob_queue_requeue (self->queue, avoided))
            zjob_log_error ("zjob_manager: out of memory queueing job %s", avoided->id);
        zjob_job_destroy (&avoided);
    }
    if (!best || best->seq > max_seq)
        return NULL;  //  Nothing, or the best is too recent

    zjob_job_t *job = zjob_job_ref (best);
    zjob_error_t err = { 0, "" };
    s_edits_t edits = { .set_worker = true, .worker_id = worker_id };
    if (zjob_mgr_apply (self, job, ZJOB_OP_DISPATCH, &edits, &err)) {
        //  The store refused: the job stays where it is, and the worker
        //  gets nothing this time
        zjob_log_warning ("zjob_manager: cannot dispatch job %s: %s", job->id, err.text);
        zjob_job_destroy (&job);
    }
    else if (gate)
        zjob_queues_took (self->queues, job->workflow_id);  //  A token spent
    return job;
}


//  --------------------------------------------------------------------------
//  A worker's reports on a job it holds.

int
zjob_manager_complete (zjob_manager_t *self, const char *id, const char *worker_id,
                       const uint8_t *outputs, size_t size, zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = s_lookup_held (self, id, worker_id, err);
    if (!job)
        return -1;
    //  A completed job has no error: its failed attempts are in the history
    s_edits_t edits = {
        .set_outputs = true, .outputs = outputs, .outputs_size = size, .set_error = true
    };
    int rc = zjob_mgr_apply (self, job, ZJOB_OP_COMPLETE, &edits, err);
    zjob_job_destroy (&job);
    return rc;
}

int
zjob_manager_fail (zjob_manager_t *self, const char *id, const char *worker_id,
                   const char *kind, const char *message, zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = s_lookup_held (self, id, worker_id, err);
    if (!job)
        return -1;
    s_edits_t edits = { .set_error = true, .error_kind = kind && *kind ? kind : "error", .error_message = message };
    int rc = zjob_mgr_apply (self, job, ZJOB_OP_FAIL, &edits, err);
    zjob_job_destroy (&job);
    return rc;
}

int
zjob_manager_progress (zjob_manager_t *self, const char *id, const char *worker_id,
                       float progress, const char *message, zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = s_lookup_held (self, id, worker_id, err);
    if (!job)
        return -1;
    int rc = -1;
    zjob_snapshot_t snap;
    memset (&snap, 0, sizeof (snap));
    if (job->status != ZJOB_RUNNING && job->status != ZJOB_PAUSED)
        zjob_error_set (err, ZJOB_CONFLICT, "job %s is %s; progress needs it running",
                        job->id, zjob_status_name ((zjob_status_t) job->status));
    else if (zjob_snapshot_take (&snap, job))
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    else if (zjob_job_set_progress (job, progress, message, err)
             || zjob_store_put (self->store, job, err))
        zjob_snapshot_restore (&snap, job);
    else
        rc = 0;
    zjob_snapshot_free (&snap);
    s_held_t *held = rc == 0 ? (s_held_t *) zhashx_lookup (self->held, job->id) : NULL;
    if (held)
        held->beat_at = zjob_clock_ms ();  //  Extends a heartbeat timeout
    if (rc == 0)
        zjob_mgr_notify (self, ZJOB_EVENT_PROGRESS, job, (zjob_status_t) job->status);
    zjob_job_destroy (&job);
    return rc;
}


//  --------------------------------------------------------------------------
//  The worker that held the job is gone: a running job goes back to the
//  front of its queue, a held paused job stays paused and is let go.

int
zjob_manager_requeue (zjob_manager_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    return s_operate (self, id, ZJOB_OP_REQUEUE, err);
}


//  The store's durability point, zjob_manager_sync: zjob_manager_rules.c


//  --------------------------------------------------------------------------
//  Figures

size_t
zjob_manager_queued (zjob_manager_t *self)
{
    assert (self);
    return zjob_queue_ready (self->queue);
}

size_t
zjob_manager_max_concurrent (zjob_manager_t *self)
{
    assert (self);
    return self->max_concurrent;
}

size_t
zjob_manager_active (zjob_manager_t *self)
{
    assert (self);
    return zhashx_size (self->held);
}

size_t
zjob_manager_scheduled (zjob_manager_t *self)
{
    assert (self);
    return zjob_queue_scheduled (self->queue);
}


//  --------------------------------------------------------------------------
//  The scheduled set: when the next job is due, and promoting due jobs

int64_t
zjob_manager_next_due (zjob_manager_t *self)
{
    assert (self);
    return zjob_queue_next_due (self->queue);
}

int
zjob_manager_promote (zjob_manager_t *self, int64_t now_ms)
{
    assert (self);
    return zjob_queue_promote (self->queue, now_ms);
}

int
zjob_manager_counts (zjob_manager_t *self, size_t counts [ZJOB_STATUS_COUNT])
{
    assert (self);
    assert (counts);
    zjob_tally_counts (self->tally, counts);
    return 0;
}

size_t
zjob_manager_workflows (zjob_manager_t *self)
{
    assert (self);
    return zjob_tally_workflows (self->tally);
}

int
zjob_manager_workflow_counts (zjob_manager_t *self, zjob_manager_workflow_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    return zjob_tally_each (self->tally, fn, arg);
}

zjob_store_t *
zjob_manager_store (zjob_manager_t *self)
{
    assert (self);
    return self->store;
}

zjob_templates_t *
zjob_manager_templates (zjob_manager_t *self)
{
    assert (self);
    return self->templates;
}

zjob_queue_t *
zjob_manager_queue (zjob_manager_t *self)
{
    assert (self);
    return self->queue;
}

//  A change by the manager's own files (zjob_manager_rerun.c), by the one path
int
zjob_manager_change (zjob_manager_t *self, zjob_job_t *job, zjob_op_t op,
                     zjob_manager_edit_fn *edit, void *arg, zjob_error_t *err)
{
    assert (self && job);
    s_edits_t edits = { .edit = edit, .edit_arg = arg };
    int rc = zjob_mgr_apply (self, job, op, &edits, err);
    //  A re-run starts afresh: no result of the runs before it counts
    if (rc == 0 && op == ZJOB_OP_RERUN)
        zhashx_delete (self->earlier, job->id);
    return rc;
}


//  --------------------------------------------------------------------------
//  The job created with an idempotency key (a new reference), or NULL.

zjob_job_t *
zjob_manager_find_key (zjob_manager_t *self, const char *key)
{
    assert (self);
    s_key_search_t search = { self, NULL };
    char id [ZJOB_ID_LEN + 1];
    if (key)
        zjob_keyindex_find (self->keys, key, s_key_match, &search, id);
    return search.job;
}


//  --------------------------------------------------------------------------
//  Figures of the failure rules

size_t
zjob_manager_retrying (zjob_manager_t *self)
{
    assert (self);
    return zjob_queue_retrying (self->queue);
}

bool
zjob_manager_held_by (zjob_manager_t *self, const char *id, const char *worker_id)
{
    assert (self);
    s_held_t *held = id ? (s_held_t *) zhashx_lookup (self->held, id) : NULL;
    return held && held->job->held && s_streq (held->job->worker_id, worker_id);
}
