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

    Failure (zjob_manager_failure.c). Every job gets a retry policy when
    it is created: each field the spec leaves unset takes its workflow's
    default (config), else the broker's, else the built-in one (3
    attempts, exponential backoff from 1 s by 2.0 up to 5 min, full
    jitter, no_retry ["bad_input"], no timeouts). Equal policies are
    interned: the jobs share one immutable zjob_policy_t. A failed attempt
    (a worker's failed RESULT, a lost worker: kind "worker_lost", a
    timeout: "timeout" or "heartbeat_timeout") is recorded in the job's
    history and, unless the failure is permanent (RESULT permanent, or
    its kind in no_retry) or the attempts are used up (max_attempts 0
    is no limit), retried: running -> queued by ZJOB_OP_RETRY with run_at
    = now + the backoff (zjob_retry_delay, the manager's seedable PRNG),
    so it waits in the scheduled set. Otherwise the job fails for good
    (the dead set). take hands out whatever is queued: max_attempts counts
    only when an attempt fails. A job stored by an earlier version has no
    policy: its failed RESULT is final and a lost worker requeues it (or
    fails it on its max_attempts-th attempt), the rules it was created
    under.

    Timeouts. A held job with timeout_ms or heartbeat_timeout_ms has its
    deadlines in a min-heap (zjob_deadlines.h): zjob_manager_next_deadline
    is when the owner must wake, zjob_manager_expire_step applies the
    policy to at most max due jobs (kind "timeout": ran longer than
    timeout_ms since its dispatch, paused time included; kind
    "heartbeat_timeout": no PROGRESS for heartbeat_timeout_ms). The job is
    let go as a cancel lets go of a held job, and the owner hears it (to
    send the worker a CANCEL with the reason). The worker still has the
    old attempt until it answers: the manager does not hand the job to
    that worker again until the owner says it has let go
    (zjob_manager_attempt_released), and a RESULT of a timed-out attempt
    is ignored (zjob_manager_finish returns 0).

    The job rules the broker applies live here, so that a test drives
    them without sockets: SUBMIT's idempotency (zjob_manager_submit),
    bulk operations by ids or by filter (zjob_manager_apply_bulk, in
    steps: zjob_bulk.h), a lost worker's jobs (zjob_manager_worker_lost),
    jobs a worker gives back unstarted (zjob_manager_give_back: the
    requeue, its dispatch's attempt taken back), and whose result counts
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
#include "zjob_templates.h"
#include "zjob_queues.h"
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

//  Built-in retry defaults, under the workflow's and the broker's
#define ZJOB_MAX_ATTEMPTS_DEFAULT 3
#define ZJOB_BACKOFF_BASE_DEFAULT_MS 1000
#define ZJOB_BACKOFF_FACTOR_DEFAULT 2.0
#define ZJOB_BACKOFF_MAX_DEFAULT_MS 300000
#define ZJOB_NO_RETRY_DEFAULT "bad_input"
//  Timed-out jobs expired per loop pass at most
#define ZJOB_EXPIRE_STEP 256

//  Defaults for the retry policy, with a spec's conventions: zero (NULL)
//  is unset (the next level decides); ZJOB_ATTEMPTS_UNLIMITED and
//  ZJOB_TIMEOUT_NONE say "no limit", "none", "0 ms" explicitly.
typedef struct {
    uint32_t max_attempts;
    zjob_backoff_t backoff;
    uint32_t backoff_base_ms;
    double backoff_factor;  //  1.0 .. 100.0
    uint32_t backoff_max_ms;
    zjob_jitter_t jitter;
    const char *no_retry;  //  Comma-separated kinds; "" = none; NULL = unset
    uint32_t timeout_ms;
    uint32_t heartbeat_timeout_ms;
} zjob_retry_defaults_t;

//  One workflow's defaults
typedef struct {
    const char *workflow_id;
    zjob_retry_defaults_t defaults;
} zjob_workflow_defaults_t;

//  The broker's limits on what its peers can make it hold (zjobd's
//  --max-queued, --max-queued-bytes, --max-pending); 0 = none. The
//  manager applies the first two (zjob_manager_submit_with); it keeps the
//  third for zjob_clients, which applies it.
#define ZJOB_MAX_QUEUED_DEFAULT 1000000             //  jobs not yet run
#define ZJOB_MAX_QUEUED_BYTES_DEFAULT (1ULL << 30)  //  bytes of their inputs
#define ZJOB_MAX_PENDING_DEFAULT 64                 //  requests kept per connection
typedef struct {
    size_t max_queued;          //  Jobs created, waiting, queued or paused
    uint64_t max_queued_bytes;  //  The bytes of those jobs' inputs
    size_t max_pending;         //  Requests of one client connection kept
                                //  across loop passes (zjob_clients_defer)
} zjob_limits_t;

typedef struct {
    size_t max_concurrent;                      //  0 = unlimited
    int64_t retention_ms;                       //  For cleanup; 0 = the default
    zjob_retry_defaults_t defaults;             //  The broker's
    const zjob_workflow_defaults_t *workflows;  //  Per workflow (copied by
    size_t workflow_count;                      //  zjob_manager_new)
    uint64_t seed;                              //  The backoff's PRNG; 0 = from the clock
    const zjob_queue_defaults_t *queues;        //  Per-workflow queue limits (copied
    size_t queue_count;                         //  by zjob_manager_new; records override)
    zjob_limits_t limits;                       //  The broker's limits; zero: none
} zjob_manager_config_t;

typedef enum {
    ZJOB_EVENT_STATUS = 0,      //  A status changed (old -> job->status)
    ZJOB_EVENT_PROGRESS,        //  progress / progress_message changed
    ZJOB_EVENT_DELETED,         //  The job was deleted (or cleaned up)
    ZJOB_EVENT_RETRYING,        //  A status change (running -> queued): a failed
                                //  attempt retried, run_at its time
    ZJOB_EVENT_TIMED_OUT,       //  An attempt timed out (before the RETRYING or
                                //  STATUS failed); error_kind is the reason
    ZJOB_EVENT_DEAD_EXHAUSTED,  //  After STATUS failed: attempts used up
    ZJOB_EVENT_DEAD_PERMANENT   //  After STATUS failed: permanent failure
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

//  True while the listener hears a new job's first event (a START of a
//  job created before is heard with the same old status, created).
bool
zjob_manager_creating (zjob_manager_t *self);

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
//  and paused jobs are never touched. The records of batches finished
//  before the same time go too, at most max of them (zjob_batches.h).
//  Returns 1 if more have expired (call
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
//  max_concurrent jobs are held. A workflow its queue controls hold back
//  (paused, at its concurrency, out of tokens: zjob_queues.h) is passed
//  over, at one check per workflow considered; a job handed out spends a
//  token of its workflow's rate. Scheduled jobs due by the clock are
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

//  The same without waiting for the medium: see zjob_store_sync_begin
//  (*ticket is durable once zjob_store_sync_poll on zjob_manager_store
//  reports it done).
int
zjob_manager_sync_begin (zjob_manager_t *self, uint64_t *ticket, zjob_error_t *err);

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
//
//  A failed result goes by the retry policy (see the top): retried, or
//  failed for good; permanent forbids the retry. attempt (0: not given) is
//  the attempt the result is for: a RESULT of a timed-out attempt (named
//  by attempt, or, without one, from the worker of a timed-out attempt
//  that does not hold the current one) is ignored: returns 0. The job's
//  result_attempt becomes attempt (else the job's attempts).
int
zjob_manager_finish (zjob_manager_t *self, const char *id, const char *worker_id,
                     const char *const *workflows, size_t workflow_count,
                     bool completed, const uint8_t *outputs, size_t size,
                     const char *kind, const char *message, zjob_error_t *err);
int
zjob_manager_finish_attempt (zjob_manager_t *self, const char *id, const char *worker_id,
                             const char *const *workflows, size_t workflow_count,
                             bool completed, const uint8_t *outputs, size_t size,
                             const char *kind, const char *message, uint32_t attempt,
                             bool permanent, zjob_error_t *err);

//  Hears one timed-out attempt after the manager has applied the policy:
//  the job, the worker that had it, the attempt and the reason
//  ("timeout", "heartbeat_timeout"). All borrowed for the call.
typedef void (zjob_manager_expired_fn) (const zjob_job_t *job, const char *worker_id,
                                        uint32_t attempt, const char *reason, void *arg);

//  The earliest deadline (ms UTC) of a held job, or 0 if none: the owner
//  wakes then and calls zjob_manager_expire_step. May be early (a stale
//  deadline), never late.
int64_t
zjob_manager_next_deadline (zjob_manager_t *self);

//  Time out at most max held jobs whose deadline is at or before now_ms:
//  each failed attempt is recorded, retried or failed (the listener hears
//  TIMED_OUT, then the change), then fn hears it. Returns 1 if more are
//  due (call again, e.g. next pass), else 0.
int
zjob_manager_expire_step (zjob_manager_t *self, int64_t now_ms, size_t max,
                          zjob_manager_expired_fn *fn, void *arg);

//  The worker that had a timed-out attempt of job id has let it go (it
//  answered the CANCEL, or is gone): the job may go to it again.
void
zjob_manager_attempt_released (zjob_manager_t *self, const char *id, const char *worker_id);

//  True if worker_id holds job id now (running or paused, its current
//  attempt).
bool
zjob_manager_held_by (zjob_manager_t *self, const char *id, const char *worker_id);

//  Queued jobs waiting for a retry's run_at (scheduled, attempts > 0).
size_t
zjob_manager_retrying (zjob_manager_t *self);

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

//  A worker gives back job id, which it never started (READY's release,
//  PROTOCOL.md 10.2): if worker_id holds it running, it goes back to the
//  front of its queue (ZJOB_OP_REQUEUE, status event running -> queued)
//  as if never dispatched: its worker cleared, the dispatch's attempt
//  taken back (the next dispatch has the same att), no history, no
//  backoff, no run_at, nothing an adoption could undo. Returns 1 if it
//  did, 0 if the job is not that (unknown, another worker's, paused,
//  ended: nothing done), -1 with err filled if the store failed.
int
zjob_manager_give_back (zjob_manager_t *self, const char *id, const char *worker_id,
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

//  zjob_manager_submit with a batch (step 5 of SUBMIT's pipeline): every
//  spec joins batch opts->id (a spec's own batch_id, if it has one, must
//  be the same: else 400), or, with opts NULL, the batch its batch_id
//  names. A closed batch refuses new members (409, nothing is created);
//  a batch named for the first time is created (zjob_batches.h). The
//  created jobs are counted as members; a spec answered by a job that
//  was there (idempotency) adds none. Returns as zjob_manager_submit.
//
//  It is the SUBMIT of a client, so the broker's limits apply: once
//  idempotency and unique keys have answered what they answer, and before
//  any job is made, a SUBMIT whose new jobs would take the jobs not yet
//  run (zjob_manager_unrun) past limits.max_queued, or the bytes of their
//  inputs past limits.max_queued_bytes, is refused whole: ZJOB_TOO_MANY
//  ("the broker holds N jobs not yet run (--max-queued M); try again
//  later"), or ZJOB_TOO_LARGE when its new jobs alone pass the limit (it
//  can never fit). The jobs the broker makes itself (zjob_manager_submit,
//  zjob_manager_create: schedules, batch callbacks) and re-runs are never
//  refused, but they count.
int
zjob_manager_submit_with (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                          bool auto_start, const zjob_batch_opts_t *opts, zjob_job_t **jobs,
                          uint64_t *existing, size_t *existing_count_p, zjob_error_t *err);

//  The manager's batches (borrowed): BATCH's operations and the owner's
//  listener (zjob_batches.h).
struct _zjob_batches_t *
zjob_manager_batches (zjob_manager_t *self);
//  SUBMIT's unique keys (zjob_manager_submit's step 2), over count specs
//  that skip does not already answer: a spec whose unique_key a
//  non-terminal job holds is answered by it (jobs [i] a new reference,
//  skip [i] true); one whose key an earlier spec of the batch gives is
//  answered by that spec's job (skip [i] true, first [i] its index + 1).
//  Idempotency comes first: a skipped spec's key is not looked at.
//  0, or -1 with err filled (out of memory).
int
zjob_manager_unique_step (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                          zjob_job_t **jobs, bool *skip, size_t *first, zjob_error_t *err);

//  What zjob_manager_worker_lost did
#define ZJOB_LOST_REQUEUED 1  //  The job is queued again (or paused, let go)
#define ZJOB_LOST_FAILED 2    //  Failed for good, kind "worker_lost"

//  The worker that held job id is gone: for a running job, a failed
//  attempt of kind "worker_lost" under the job's policy (retried, the
//  requeue provisional as zjob_manager_requeue's, or failed for good); a
//  held paused job is let go, still paused. Returns ZJOB_LOST_REQUEUED,
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
    ZJOB_APPLY_CANCEL,
    ZJOB_APPLY_RETRY,   //  zjob_manager_retry: a failed or cancelled job, re-run
    ZJOB_APPLY_RUN_NOW  //  zjob_manager_run_now
} zjob_apply_t;

//  Refuses one job an operation is legal for, by a rule the manager does
//  not know (the broker's: a worker still holds it). Returns 0, or -1
//  with err filled. job is borrowed.
typedef int (zjob_manager_veto_fn) (zjob_apply_t what, const zjob_job_t *job, void *arg,
                                    zjob_error_t *err);

//  How to apply an operation; zero is "for real, as the plain call does"
typedef struct {
    bool reset_attempts;                 //  RETRY: attempts back to 0
    bool dry_run;                        //  Only check: nothing changes; the counts and
                                         //  errors are what the operation would give
    zjob_manager_veto_fn *veto;          //  NULL, or asked about each job that the
    void *veto_arg;                      //  operation is legal for, before it is applied
    char (*done_ids) [ZJOB_ID_LEN + 1];  //  Bulk: NULL, or room for done_max ids of
    size_t done_max;                     //  the jobs done (or, dry, that would be)
} zjob_apply_opts_t;

//  Apply what to job id, as zjob_manager_delete/start/pause/resume/cancel/
//  retry/run_now.
int
zjob_manager_apply (zjob_manager_t *self, zjob_apply_t what, const char *id,
                    zjob_error_t *err);

//  As zjob_manager_apply, with opts (NULL: the defaults). A dry run finds
//  the job and asks the transition table (and the veto), and returns 0 if
//  the operation would be applied, or -1 with the error it would give.
int
zjob_manager_apply_with (zjob_manager_t *self, zjob_apply_t what, const char *id,
                         const zjob_apply_opts_t *opts, zjob_error_t *err);

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
//  nor a filter, or memory runs out (what was done by then stays done).
//  Every step at once: the broker's loop uses the steps themselves
//  (zjob_bulk.h), defined with these in zjob_bulk.c.
int
zjob_manager_apply_bulk (zjob_manager_t *self, zjob_apply_t what, const char *const *ids,
                         size_t count, const zjob_filter_t *filter, zjob_bulk_t *bulk,
                         zjob_error_t *err);

//  As zjob_manager_apply_bulk, with opts (NULL: the defaults): a dry run
//  counts in bulk what would be done and would fail, and changes nothing.
//  With opts->done_ids, the ids of the first done_max jobs done (or that
//  would be) are copied there, in the order applied: there are
//  min (bulk->done, done_max). A vetoed job counts as failed.
int
zjob_manager_apply_bulk_with (zjob_manager_t *self, zjob_apply_t what,
                              const char *const *ids, size_t count,
                              const zjob_filter_t *filter, const zjob_apply_opts_t *opts,
                              zjob_bulk_t *bulk, zjob_error_t *err);

//  The user's RETRY (a re-run): a failed or cancelled job is queued again,
//  ready at once (run_at cleared). attempts is kept, or with
//  reset_attempts starts again at 0. Its error history is kept; the last
//  error (error_kind, error_message), outputs, progress, completed_at,
//  the attempt that ended it and its worker are cleared, and no result of
//  a run before the re-run is accepted any more (zjob_manager_finish: a
//  409). The listener hears the change to queued. 0, or -1 with err
//  filled (ZJOB_NOT_FOUND; ZJOB_CONFLICT for any other status).
int
zjob_manager_retry (zjob_manager_t *self, const char *id, bool reset_attempts,
                    zjob_error_t *err);

//  RUN_NOW: a queued job that waits for its run_at (delayed, or a retry
//  waiting for its backoff) becomes ready now: run_at 0, stored, and the
//  job moves to the back of its ready list (as if it were due now). No
//  status changes, so the listener hears nothing (the owner sees the
//  ready queue grow: zjob_manager_queued). 0, or -1 with err filled:
//  ZJOB_NOT_FOUND, ZJOB_CONFLICT for any other job ("job ... is running;
//  cannot run now", "job ... is queued and due already").
int
zjob_manager_run_now (zjob_manager_t *self, const char *id, zjob_error_t *err);

//  True if what may be applied to job now (the transition table; for
//  RUN_NOW, a queued job waiting for its run_at); else false, with err
//  filled as the operation would fill it.
bool
zjob_manager_allows (zjob_manager_t *self, zjob_apply_t what, const zjob_job_t *job,
                     zjob_error_t *err);

//  For the manager's own files (zjob_manager_rerun.c): the ready queue and
//  scheduled set (borrowed), and a change of job by op through the one
//  path (lookup done by the caller; transition check, snapshot, edit, put,
//  queue, counts, listener), where edit (may be NULL) changes the job's
//  other fields after the snapshot, so that a refused put undoes it too.
typedef int (zjob_manager_edit_fn) (zjob_job_t *job, void *arg, zjob_error_t *err);
typedef struct _zjob_queue_t zjob_queue_t;
zjob_queue_t *
zjob_manager_queue (zjob_manager_t *self);
int
zjob_manager_change (zjob_manager_t *self, zjob_job_t *job, zjob_op_t op,
                     zjob_manager_edit_fn *edit, void *arg, zjob_error_t *err);

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

//  The broker's limits, as configured (borrowed), and a change of them
//  (a test, a reload): the new ones apply to the next SUBMIT.
const zjob_limits_t *
zjob_manager_limits (zjob_manager_t *self);
void
zjob_manager_set_limits (zjob_manager_t *self, const zjob_limits_t *limits);

//  The jobs not yet run and not finished (created, waiting, queued,
//  paused), what limits.max_queued bounds, and into *bytes_p (may be
//  NULL) the bytes of their inputs, what limits.max_queued_bytes bounds.
//  O(1): kept as jobs move, by zjob_tally.
size_t
zjob_manager_unrun (zjob_manager_t *self, uint64_t *bytes_p);

//  The number of jobs stored, whatever their status.
size_t
zjob_manager_stored (zjob_manager_t *self);

//  Queued jobs that were handed out before (recovered after a restart, or
//  requeued): a worker that still runs one may reconnect and adopt it.
//  O(stored jobs): for start-up, not for a loop pass.
size_t
zjob_manager_reclaimable (zjob_manager_t *self);

//  The per-workflow queue controls and unique keys (zjob_queues.h),
//  borrowed: QUEUE's handler changes them, the broker asks when a token
//  is due. take skips a workflow they hold back.
zjob_queues_t *
zjob_manager_queues (zjob_manager_t *self);

//  What holds workflow's ready jobs back now (ZJOB_HELD_NONE if it has
//  none ready, or nothing holds them). O(1).
zjob_held_t
zjob_manager_held_back (zjob_manager_t *self, const char *workflow);

//  The stored jobs of workflow in status; O(1).
size_t
zjob_manager_workflow_count (zjob_manager_t *self, const char *workflow, zjob_status_t status);

//  The store underneath (borrowed), for stats, walks and its named
//  records (templates, schedules, batches, queue settings:
//  zjob_store_record_*), which the feature modules keep there directly.
//  Jobs change only through the manager.
zjob_store_t *
zjob_manager_store (zjob_manager_t *self);

//  The templates of the manager's store (borrowed): TEMPLATE's handler
//  and SUBMIT's merge (zjob_templates.h).
zjob_templates_t *
zjob_manager_templates (zjob_manager_t *self);

#ifdef __cplusplus
}
#endif

#endif
