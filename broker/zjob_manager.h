/*  =========================================================================
    zjob_manager - the job manager: job operations, ready queue, dispatch

    The manager is the broker's model, with no sockets: it can be driven
    and measured in-process. It owns a store (zjob_store.h) and keeps, on
    top of it, the ready queue and the set of jobs that workers hold.

    Ready queue. Per workflow, one FIFO list per priority, linked through
    the jobs themselves: enqueue, dequeue and removal (pause or cancel of a
    queued job) are O(1), and take for a worker that serves k workflows is
    O(4k). Within one priority, jobs of different workflows are taken in
    enqueue order (a global sequence number). At most max_concurrent jobs
    are held by workers at once (running, or paused while still held);
    take returns nothing at the limit.

    Scheduled jobs. A queued job whose run_at is still in the future is
    not in the ready queue but in a scheduled set ordered by (run_at,
    order scheduled). Its status is queued all the same ("queued, not
    before run_at"): no new status, no new event. It becomes ready when
    it is due: zjob_manager_promote moves every job whose run_at has come
    to the back of its ready list (earliest run_at first, each with a new
    enqueue number), and take promotes due jobs itself before it looks,
    so an owner that never calls promote still sees them. Start, resume
    and auto_start respect run_at; the requeue of a job whose worker was
    lost ignores it (the job was due once already). run_at 0, or a time
    already past, means ready at once. Promotion changes nothing stored:
    queued_at stays the time the job was queued; queued_ms counts from
    the later of queued_at and run_at.

    Times (PROTOCOL.md 12) are stamped in one place, the manager's commit:
    started_at at each dispatch that counts an attempt, execution_ms when
    an attempt ends (a result, a cancel of a held job, a lost worker, a
    restart), queued_ms when the job leaves queued. A requeue of a held
    job (lost worker, recovery) is provisional: the manager remembers, in
    memory, the queued_at it replaced and the time it counted, and an
    adoption or the late result of that attempt undoes it.

    max_attempts is not enforced by take: it hands a job out whatever its
    attempts, and recovery queues a job that was running again whatever
    its attempts. It counts in one case only: when a worker is lost
    (zjob_manager_worker_lost), a job on its max_attempts-th attempt (or
    later) fails with error kind "worker_lost" instead of being requeued.
    A failure the worker reports is final on any attempt (there is no
    automatic retry), and max_attempts 0 means no limit.

    The job rules the broker applies live here, so that a test drives
    them without sockets: SUBMIT's idempotency (zjob_manager_submit),
    bulk operations by ids or by filter (zjob_manager_apply_bulk), a lost
    worker's jobs (zjob_manager_worker_lost), and whose result counts
    (zjob_manager_finish).

    Every change goes through the store before the call returns, so the
    store's view is always the manager's; durability is the store's sync,
    which the owner calls (zjob_manager_sync) before acknowledging.

    Recovery. zjob_manager_new rebuilds the queue from the store: queued
    jobs re-enter in their (priority, queued_at, id) order, and jobs that
    were running when the process stopped go back to queued, ahead of the
    jobs of their priority that were waiting (as a requeue puts them),
    since no worker holds them any more (at-least-once). attempts counts
    dispatches: it was incremented when the interrupted attempt was handed
    out, so the crashed attempt is already counted and attempts is not
    raised again. Jobs paused while held stay paused, no longer held.
    Queued jobs whose run_at is still ahead go back to the scheduled set;
    the running jobs put back in the queue ignore run_at.

    Listener. The owner may register one function that hears every status
    change and progress update (the broker publishes them as events and
    tells workers of pause and cancel).
    ========================================================================= */

#ifndef ZJOB_MANAGER_H_INCLUDED
#define ZJOB_MANAGER_H_INCLUDED

#include "zjob_store.h"
#include "zjob_listing.h"
#include "zjob_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

//  jobs held by workers at once; 0 = no
//  global cap (per-workflow limits later)
#define ZJOB_MAX_CONCURRENT_DEFAULT 0
#define ZJOB_RETENTION_DEFAULT_MS (7LL * 24 * 3600 * 1000)  //  msecs terminal jobs are kept
//  jobs a CLEANUP deletes per loop pass
//  at most (bench_core --loop: median
//  0.9 ms a step, memory store)
#define ZJOB_CLEANUP_STEP 2000

typedef struct _zjob_manager_t zjob_manager_t;

typedef struct {
    size_t max_concurrent;  //  0 = unlimited
    int64_t retention_ms;   //  For cleanup; 0 = the default
} zjob_manager_config_t;

typedef enum {
    ZJOB_EVENT_STATUS = 0,  //  A status changed (old -> job->status)
    ZJOB_EVENT_PROGRESS,    //  progress / progress_message changed
    ZJOB_EVENT_DELETED      //  The job was deleted (or cleaned up)
} zjob_event_t;

//  Hears a change after it is in the store. job is borrowed; old_status is
//  the status before the change (equal to job->status for progress). A new
//  job is heard once, as ZJOB_EVENT_STATUS with old_status ZJOB_CREATED
//  (job->status is queued if it was created with auto_start).
typedef void (zjob_manager_listener_fn) (zjob_event_t event, const zjob_job_t *job,
                                         zjob_status_t old_status, void *arg);

//  Create a manager over store, taking ownership of it (*store_p becomes
//  NULL), and rebuild the queues from it. config may be NULL for defaults.
//  Returns NULL with err filled if recovery fails to write to the store.
zjob_manager_t *
zjob_manager_new (zjob_store_t **store_p, const zjob_manager_config_t *config,
                  zjob_error_t *err);

//  Destroy the manager and its store (synced first). Accepts NULL.
void
zjob_manager_destroy (zjob_manager_t **self_p);

//  Set the one listener (NULL to remove).
void
zjob_manager_set_listener (zjob_manager_t *self, zjob_manager_listener_fn *fn, void *arg);

//  Create a job; with auto_start it is queued at once. Returns a new
//  reference to the job (the caller destroys it), or NULL with err filled.
zjob_job_t *
zjob_manager_create (zjob_manager_t *self, const zjob_spec_t *spec, bool auto_start,
                     zjob_error_t *err);

//  Create count jobs, all or none: every spec is validated first, and if
//  one is bad nothing is created and err names its index. On success
//  jobs[i] is a new reference to the i-th job. Returns 0 or -1.
int
zjob_manager_create_batch (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                           bool auto_start, zjob_job_t **jobs, zjob_error_t *err);

//  As zjob_manager_create_batch, but the specs whose skip entry is true
//  (skip NULL: none) are left out and their jobs entries left alone. An
//  error names a spec by its index in specs. Returns 0 or -1.
int
zjob_manager_create_some (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                          const bool *skip, bool auto_start, zjob_job_t **jobs,
                          zjob_error_t *err);

//  The job with id (a new reference), or NULL with ZJOB_NOT_FOUND.
zjob_job_t *
zjob_manager_get (zjob_manager_t *self, const char *id, zjob_error_t *err);

//  List jobs matching query->filter, sorted and paged. *jobs_p becomes an
//  array of *count_p new references (free each, then the array with free);
//  *total_p (if not NULL) is the number matching before paging.
//  Returns 0 or -1 with err filled for an invalid query.
int
zjob_manager_list (zjob_manager_t *self, const zjob_query_t *query,
                   zjob_job_t ***jobs_p, size_t *count_p, size_t *total_p,
                   zjob_error_t *err);

//  One step of listing (zjob_listing_step) over the manager's store: a
//  LIST in bounded steps, one per loop pass. 1 done, 0 more, -1 with err.
int
zjob_manager_list_step (zjob_manager_t *self, zjob_listing_t *listing, size_t max,
                        zjob_error_t *err);

//  Delete a job; a queued, running or paused job is cancelled first (the
//  listener hears the cancel, then ZJOB_EVENT_DELETED). 0 or -1.
int
zjob_manager_delete (zjob_manager_t *self, const char *id, zjob_error_t *err);

//  The user's lifecycle operations, by the transition table. Each returns
//  0 or -1 with err filled (ZJOB_NOT_FOUND, ZJOB_CONFLICT).
int
zjob_manager_start (zjob_manager_t *self, const char *id, zjob_error_t *err);
int
zjob_manager_pause (zjob_manager_t *self, const char *id, zjob_error_t *err);
int
zjob_manager_resume (zjob_manager_t *self, const char *id, zjob_error_t *err);
int
zjob_manager_cancel (zjob_manager_t *self, const char *id, zjob_error_t *err);

//  The job's status, or -1 with ZJOB_NOT_FOUND.
int
zjob_manager_status (zjob_manager_t *self, const char *id, zjob_error_t *err);

//  The results of a finished job: a new reference to it when it is
//  completed (read outputs) or failed (read error_kind, error_message);
//  NULL with ZJOB_CONFLICT while it is not finished or was cancelled,
//  ZJOB_NOT_FOUND if unknown.
zjob_job_t *
zjob_manager_results (zjob_manager_t *self, const char *id, zjob_error_t *err);

//  Delete terminal jobs completed more than retention ago (now_ms minus
//  the configured retention), oldest first, at most max of them (stale
//  index entries of jobs deleted since count too), adding the number
//  deleted to *deleted_p. Finding them costs O(expired), not a scan: the
//  manager keeps terminal jobs in order of completed_at. Queued, running
//  and paused jobs are never touched. Returns 1 if more have expired (call
//  again, e.g. in the next loop pass), 0 when none is left, -1 with err
//  filled if the store refused a removal.
int
zjob_manager_cleanup_step (zjob_manager_t *self, int64_t now_ms, size_t max,
                           size_t *deleted_p, zjob_error_t *err);

//  zjob_manager_cleanup_step until none is left, in one call (O(expired)
//  time: for tests and tools, not for a loop pass). Returns the number
//  deleted, or -1 with err filled.
int
zjob_manager_cleanup (zjob_manager_t *self, int64_t now_ms, zjob_error_t *err);

//  Hand the next job to worker_id: the highest-priority, earliest queued
//  job among workflows (count names; count 0 = any workflow), if fewer than
//  max_concurrent jobs are held. Scheduled jobs due by the clock are
//  promoted first; one whose run_at is ahead is never taken. The job
//  becomes running, attempts + 1. Returns a new reference, or NULL when
//  there is nothing to give.
zjob_job_t *
zjob_manager_take (zjob_manager_t *self, const char *const *workflows, size_t count,
                   const char *worker_id);

//  A worker's reports on a job it holds. Each fails with ZJOB_CONFLICT if
//  worker_id does not hold the job in a state that allows the report.
int
zjob_manager_complete (zjob_manager_t *self, const char *id, const char *worker_id,
                       const uint8_t *outputs, size_t size, zjob_error_t *err);
int
zjob_manager_fail (zjob_manager_t *self, const char *id, const char *worker_id,
                   const char *kind, const char *message, zjob_error_t *err);
int
zjob_manager_progress (zjob_manager_t *self, const char *id, const char *worker_id,
                       float progress, const char *message, zjob_error_t *err);

//  The worker that held the job is gone: put the job back at the front of
//  its queue, whatever its run_at (a held paused job stays paused, no
//  longer held). 0 or -1.
int
zjob_manager_requeue (zjob_manager_t *self, const char *id, zjob_error_t *err);

//  The store's durability point; see zjob_store_sync.
int
zjob_manager_sync (zjob_manager_t *self, zjob_error_t *err);

//  The cap on jobs held by workers at once (0 = none), as configured.
size_t
zjob_manager_max_concurrent (zjob_manager_t *self);

//  Jobs in the ready queue now (queued and due), jobs held by workers now.
size_t
zjob_manager_queued (zjob_manager_t *self);
size_t
zjob_manager_active (zjob_manager_t *self);

//  Queued jobs waiting for their run_at (not in the ready queue). The
//  status count of queued is zjob_manager_queued plus this.
size_t
zjob_manager_scheduled (zjob_manager_t *self);

//  run_at (ms UTC) of the earliest scheduled job, or 0 if none: the owner
//  wakes then to promote it. O(log n) amortized.
int64_t
zjob_manager_next_due (zjob_manager_t *self);

//  Move every scheduled job whose run_at is at or before now_ms into its
//  ready list, earliest run_at first, each with a new enqueue number (as
//  if enqueued now). Changes nothing in the store. Returns how many.
int
zjob_manager_promote (zjob_manager_t *self, int64_t now_ms);

//  Copy the number of stored jobs in each status into counts (indexed by
//  zjob_status_t); O(1), kept up to date by every operation. Returns 0.
int
zjob_manager_counts (zjob_manager_t *self, size_t counts [ZJOB_STATUS_COUNT]);

//  Hears one workflow's counts: counts (indexed by zjob_status_t) are the
//  stored jobs of workflow_id in each status. Both are borrowed for the
//  call; the function must not call back into the manager.
typedef void (zjob_manager_workflow_fn) (const char *workflow_id,
                                         const size_t counts [ZJOB_STATUS_COUNT], void *arg);

//  Call fn once per workflow that has at least one stored job, in no set
//  order, with that workflow's counts per status; O(workflows), kept up to
//  date by every operation as zjob_manager_counts is. Returns how many
//  workflows fn heard.
int
zjob_manager_workflow_counts (zjob_manager_t *self, zjob_manager_workflow_fn *fn, void *arg);

//  The number of workflows that have at least one stored job (the calls
//  zjob_manager_workflow_counts would make now).
size_t
zjob_manager_workflows (zjob_manager_t *self);

//  As zjob_manager_take, but only if the job it would hand out was
//  enqueued at or before max_seq (a value of zjob_manager_seq): the owner
//  dispatches before its group commit only jobs whose enqueue an earlier
//  commit made durable. The best job is never passed over for a lesser
//  one: if it is too recent, this returns NULL.
zjob_job_t *
zjob_manager_take_before (zjob_manager_t *self, const char *const *workflows,
                          size_t count, const char *worker_id, uint64_t max_seq);

//  The sequence number of the latest enqueue (job->seq of the job last
//  appended to a queue or scheduled); a job requeued at the front keeps
//  its old one, a promoted job gets a new one.
uint64_t
zjob_manager_seq (zjob_manager_t *self);

//  The job that was created with idempotency key (a new reference), or
//  NULL if no stored job carries it. The index is rebuilt at recovery and
//  forgets a key when its job is deleted.
zjob_job_t *
zjob_manager_find_key (zjob_manager_t *self, const char *key);

//  A worker's result for job id, by the one rule of PROTOCOL.md 10.5: it
//  is accepted from worker_id only if worker_id holds the job's current
//  attempt or held an earlier one (the manager records which worker each
//  attempt went to: job->worker_id, which the store keeps across a
//  restart, and in memory the workers before it), and only if worker_id
//  serves the job's workflow (workflows: the count it serves; NULL or 0 =
//  any). The result of an attempt given up on (the worker was presumed
//  lost, or the process restarted) is still the job's result. A job that
//  is not terminal becomes completed (with outputs) or failed (kind,
//  message), leaving the queue or the held set, with worker_id recorded; a
//  terminal job is left unchanged. Returns 1 if finished by this call, 0
//  if already terminal, -1 with err filled (ZJOB_NOT_FOUND; ZJOB_CONFLICT
//  from any other worker; ZJOB_BAD_REQUEST for bad outputs; ZJOB_INTERNAL
//  for the store).
int
zjob_manager_finish (zjob_manager_t *self, const char *id, const char *worker_id,
                     const char *const *workflows, size_t workflow_count,
                     bool completed, const uint8_t *outputs, size_t size,
                     const char *kind, const char *message, zjob_error_t *err);

//  A worker that reconnects still runs job id, which recovery (or a
//  requeue) put back in the queue: hand it to worker_id again (queued ->
//  running) instead of running it twice. attempts is not raised and
//  started_at is kept: the attempt goes on; the requeue is undone
//  (queued_at back to what it was, the time it counted taken back). Returns a new reference, or
//  NULL with ZJOB_CONFLICT if the job is not queued or was never handed
//  out, ZJOB_NOT_FOUND if unknown.
zjob_job_t *
zjob_manager_adopt (zjob_manager_t *self, const char *id, const char *worker_id,
                    zjob_error_t *err);

//  SUBMIT's rule (PROTOCOL.md 9.2) over count specs: a spec whose
//  idempotency key is known, or was given by an earlier spec of the same
//  batch, is answered by that job if it asks for the same workflow and
//  inputs (msgpack bytes; none = {}), else it is refused with
//  ZJOB_CONFLICT naming the spec's index and the job (or the earlier
//  spec) that holds the key; the others are created, all or none.
//  jobs (count entries) receives a new reference per spec; existing (count
//  entries) receives the indices of the specs answered by a job that was
//  there, ascending, and *existing_count_p their number. Returns the number
//  of jobs created, or -1 with err filled, naming a bad spec by its index
//  in specs ("jobs[i]: ..."); nothing is then created or returned.
int
zjob_manager_submit (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                     bool auto_start, zjob_job_t **jobs, uint64_t *existing,
                     size_t *existing_count_p, zjob_error_t *err);

//  What zjob_manager_worker_lost did
#define ZJOB_LOST_REQUEUED 1  //  The job is queued again (or paused, let go)
#define ZJOB_LOST_FAILED 2    //  Its last attempt: failed, kind "worker_lost"

//  The worker that held job id is gone. A running job on its max_attempts-th
//  attempt (or later) fails with error kind "worker_lost"; any other held
//  job is requeued (zjob_manager_requeue). Returns ZJOB_LOST_REQUEUED,
//  ZJOB_LOST_FAILED, 0 if the job was not held (nothing to do), or -1 with
//  err filled (ZJOB_NOT_FOUND, or the store failed).
int
zjob_manager_worker_lost (zjob_manager_t *self, const char *id, zjob_error_t *err);

//  The user's operations on jobs (PROTOCOL.md 9.5)
typedef enum {
    ZJOB_APPLY_DELETE = 0,
    ZJOB_APPLY_START,
    ZJOB_APPLY_PAUSE,
    ZJOB_APPLY_RESUME,
    ZJOB_APPLY_CANCEL
} zjob_apply_t;

//  Apply what to job id, as zjob_manager_delete/start/pause/resume/cancel.
int
zjob_manager_apply (zjob_manager_t *self, zjob_apply_t what, const char *id,
                    zjob_error_t *err);

//  The outcome of a bulk operation: counts, and the first failures
typedef struct {
    size_t done;                                       //  Jobs it was applied to
    size_t failed;                                     //  Jobs it failed on
    size_t error_count;                                //  Failures kept below
    char ids [ZJOB_BULK_ERRORS_MAX][ZJOB_ID_LEN + 1];  //  Each kept failure's job
    zjob_error_t errors [ZJOB_BULK_ERRORS_MAX];        //  and its error
} zjob_bulk_t;

//  Apply what to each of count ids, or (ids NULL) to every job filter
//  matches now for which the operation is legal (any job, for delete).
//  Fills bulk. Returns 0, or -1 with err filled when there is neither ids
//  nor a filter, or memory runs out (nothing is then applied).
int
zjob_manager_apply_bulk (zjob_manager_t *self, zjob_apply_t what, const char *const *ids,
                         size_t count, const zjob_filter_t *filter, zjob_bulk_t *bulk,
                         zjob_error_t *err);

//  Open the store spec names (zjob_store_open) and create a manager over
//  it. Returns NULL with err filled if either fails.
zjob_manager_t *
zjob_manager_open (const char *spec, const zjob_manager_config_t *config,
                   zjob_error_t *err);

//  The store's name ("memory", "file"), and its own figures added to into
//  (zjob_store_stats: string keys and values; the hash gets strdup and
//  zstr_free as duplicator and destructor).
const char *
zjob_manager_store_name (zjob_manager_t *self);
void
zjob_manager_store_stats (zjob_manager_t *self, zhashx_t *into);

//  The number of jobs stored, whatever their status.
size_t
zjob_manager_stored (zjob_manager_t *self);

//  Queued jobs that were handed out before (recovered after a restart, or
//  requeued): a worker that still runs one may reconnect and adopt it.
//  O(stored jobs): for start-up, not for a loop pass.
size_t
zjob_manager_reclaimable (zjob_manager_t *self);

//  The store underneath (borrowed), for stats.
zjob_store_t *
zjob_manager_store (zjob_manager_t *self);

#ifdef __cplusplus
}
#endif

#endif
