/*  =========================================================================
    zjob_manager - the job manager: job operations, ready queue, dispatch

    Every operation follows one path: fetch the job (a reference), ask the
    transition table whether the operation is legal, change the job in
    place, put it to the store, and only when the store has accepted the
    change update the ready queue, the held set and the status counts, then
    tell the listener. A put that fails restores the job's fields from a
    snapshot taken before the change, so a failed call leaves the job, the
    store and the queues exactly as they were.

    Ready queue. workflows maps a workflow name to four intrusive FIFO
    lists, one per priority, threaded through job->next/prev. Each enqueue
    stamps job->seq from a global counter, and every list is kept sorted by
    seq: a new job goes to the tail (it has the largest seq), a job whose
    worker was lost goes back ahead of every job enqueued after it (it
    keeps its old seq, which puts it at the front). take compares, for each
    workflow the worker serves, the head of its highest non-empty priority
    list: the winner is the highest priority, then the smallest seq, so
    jobs of one priority are served in enqueue order across workflows. A
    workflow entry is dropped when its last job leaves, so "any workflow"
    scans only workflows with queued work. The queue holds one reference
    per queued job.

    Held set. held maps job id to the job (a reference) and the time it
    last became running, for every job a worker holds: running, or paused
    while the worker has not let go. Its size is the number of active jobs
    that max_concurrent bounds. Cancelling a held job releases it at once
    (the broker tells the worker to stop), so a late complete from that
    worker is a conflict.

    Scheduled set. A queued job whose run_at is ahead waits in a binary
    min-heap of (run_at, token, job) entries instead of a ready list, so
    that scheduling, promotion and finding the next due time are O(log n).
    The job struct has no room for its heap index, so removal is lazy: the
    token is a number from the same counter as seq, and job->seq is set to
    it when the job is scheduled. An entry is live while its job is
    queued, carries that token in seq, and is in no ready list; any other
    entry is stale (the job was paused, cancelled, deleted, adopted, or
    scheduled again under a new token) and is dropped when it reaches the
    top. scheduled counts the live entries exactly (a scheduled job that
    leaves the queued status is uncounted then), and when stale entries
    outnumber live ones (plus a slack) the heap is rebuilt without them,
    so it never holds more than about twice the scheduled jobs: amortized
    O(1) per removal. Each entry holds a job reference, so a stale entry
    never points at freed memory. The array is grown before the store
    put that schedules a job, so an accepted change is never lost to an
    allocation failure. Promotion appends each due job to its ready list
    with a fresh seq, in (run_at, token) order; it touches no stored field
    (queued_at is when the job was queued, not when it became due).

    Counts. counts holds the stored jobs per status and tallies the same
    per workflow (an entry per workflow with at least one stored job), so
    that STATS costs O(workflows), not a walk over the store. Both move
    together in s_count_move, which every create, status change, delete,
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
#include "zjob_manager.h"
#include "zjob_keyindex.h"

//  The four priority lists of one workflow, oldest (smallest seq) first
typedef struct {
    zjob_job_t *head [ZJOB_PRIORITY_COUNT];     //  Next to take, per priority
    zjob_job_t *tail [ZJOB_PRIORITY_COUNT];     //  Last enqueued, per priority
    size_t size;                                //  Jobs in the four lists
} s_workflow_t;

//  Stored jobs of one workflow, per status
typedef struct {
    size_t counts [ZJOB_STATUS_COUNT];  //  Jobs per status
    size_t total;                       //  Sum of counts; the entry goes at 0
} s_tally_t;

//  A job a worker holds
typedef struct {
    zjob_job_t *job;                    //  One reference
    int64_t running_since;              //  ms UTC it last became running
} s_held_t;

//  A scheduled job: live while job->status is queued, job->seq == seq and
//  the job is in no ready list
typedef struct {
    int64_t run_at;                     //  ms UTC it becomes due
    uint64_t seq;                       //  Token: order among equal run_at
    zjob_job_t *job;                    //  One reference
} s_timer_t;

//  Stale heap entries tolerated beyond the live ones before a rebuild
#define S_HEAP_SLACK 64

//  A job's changing fields, copied before a change so that a failed put
//  can be undone
typedef struct {
    uint8_t status;                     //  Status before the change
    uint8_t held;                       //  Held flag before the change
    uint32_t attempts;                  //  Dispatch count
    float progress;                     //  0.0 .. 1.0
    int64_t updated_at;                 //  The times, as they were
    int64_t queued_at;
    int64_t started_at;
    int64_t completed_at;
    int64_t execution_ms;
    int64_t queued_ms;
    char *progress_message;             //  Copies, NULL if unset
    char *error_kind;
    char *error_message;
    char *worker_id;
    uint8_t *outputs;                   //  Copy of the encoded outputs
    size_t outputs_size;
} s_snapshot_t;

struct _zjob_manager_t {
    zjob_store_t *store;                //  The jobs; owned
    size_t max_concurrent;              //  Held jobs at most; 0 = unlimited
    int64_t retention_ms;               //  How long terminal jobs are kept
    zhashx_t *workflows;                //  workflow_id -> s_workflow_t
    zhashx_t *held;                     //  job id -> s_held_t
    zjob_keyindex_t *keys;              //  idempotency key -> job id
    size_t queued;                      //  Jobs in all ready lists
    s_timer_t *heap;                    //  Scheduled set, a min-heap by (run_at, seq)
    size_t heap_size;                   //  Entries in heap, stale ones included
    size_t heap_max;                    //  Entries allocated
    size_t scheduled;                   //  Live entries: jobs waiting for run_at
    uint64_t seq;                       //  Last enqueue number issued
    size_t counts [ZJOB_STATUS_COUNT];  //  Stored jobs per status
    zhashx_t *tallies;                  //  workflow_id -> s_tally_t, jobs > 0
    zhashx_t *earlier;                  //  job id -> workers of its earlier attempts
                                        //  ("a\nb\n"), for jobs given to more than one
    zjob_manager_listener_fn *listener; //  Hears every change, or NULL
    void *listener_arg;                 //  Passed to the listener
};


//  --------------------------------------------------------------------------
//  Small helpers

static void
s_workflow_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static void
s_held_destroy (void **item_p)
{
    s_held_t *held = (s_held_t *) *item_p;
    if (held) {
        zjob_job_destroy (&held->job);
        free (held);
    }
    *item_p = NULL;
}

//  The idempotency key index: key -> job id, for jobs that carry a key.
//  The index keeps a hash of each key, not the key: an entry is confirmed
//  by looking its job up (zjob_keyindex.h).
static zjob_job_t *s_lookup (zjob_manager_t *self, const char *id, zjob_error_t *err);

typedef struct {
    zjob_manager_t *self;
    zjob_job_t *job;                    //  find: the job confirmed, a reference
} s_key_search_t;

static bool
s_key_match (const char *id, const char *key, void *arg)
{
    s_key_search_t *search = (s_key_search_t *) arg;
    zjob_job_t *job = s_lookup (search->self, id, NULL);
    bool match = job && job->idempotency_key && streq (job->idempotency_key, key);
    if (match && !search->job)
        search->job = job;              //  Kept for zjob_manager_find_key
    else
        zjob_job_destroy (&job);
    return match;
}

static void
s_key_add (zjob_manager_t *self, const zjob_job_t *job)
{
    if (!job->idempotency_key)
        return;
    s_key_search_t search = { self, NULL };
    if (zjob_keyindex_put (self->keys, job->idempotency_key, job->id, s_key_match, &search))
        zsys_error ("zjob_manager: out of memory indexing the key of job %s", job->id);
    zjob_job_destroy (&search.job);
}

static void
s_key_remove (zjob_manager_t *self, const zjob_job_t *job)
{
    if (job->idempotency_key)
        zjob_keyindex_remove (self->keys, job->idempotency_key, job->id);
}

static char *
s_strdup (const char *text)
{
    return text ? strdup (text) : NULL;
}

static bool
s_streq (const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp (a, b) == 0;
}

//  Index of the job's priority list; a decoded job is validated, the
//  clamp only keeps a bad value from indexing out of bounds
static size_t
s_rank (const zjob_job_t *job)
{
    return job->priority < ZJOB_PRIORITY_COUNT? job->priority: ZJOB_PRIORITY_COUNT - 1;
}

static void
s_notify (zjob_manager_t *self, zjob_event_t event, const zjob_job_t *job,
          zjob_status_t old_status)
{
    if (self->listener)
        self->listener (event, job, old_status, self->listener_arg);
}

//  The tally of workflow, made (empty) if it has none yet. A new job's
//  tally is made before its store put, so that an accepted job is never
//  left uncounted for want of memory. Returns NULL if out of memory.
static s_tally_t *
s_tally_require (zjob_manager_t *self, const char *workflow)
{
    s_tally_t *tally = (s_tally_t *) zhashx_lookup (self->tallies, workflow);
    if (!tally) {
        tally = (s_tally_t *) calloc (1, sizeof (s_tally_t));
        if (!tally)
            return NULL;
        zhashx_insert (self->tallies, workflow, tally);
    }
    return tally;
}

//  Drop workflow's tally if it counts no job (a create the store refused)
static void
s_tally_trim (zjob_manager_t *self, const char *workflow)
{
    s_tally_t *tally = (s_tally_t *) zhashx_lookup (self->tallies, workflow);
    if (tally && tally->total == 0)
        zhashx_delete (self->tallies, workflow);
}

//  Move one of job's counts from status from to status to (-1: none), in
//  the totals and in its workflow's tally
static void
s_count_move (zjob_manager_t *self, const zjob_job_t *job, int from, int to)
{
    bool was = from >= 0 && from < ZJOB_STATUS_COUNT;
    bool is = to >= 0 && to < ZJOB_STATUS_COUNT;
    if (was && self->counts [from] > 0)
        self->counts [from]--;
    if (is)
        self->counts [to]++;
    s_tally_t *tally = is? s_tally_require (self, job->workflow_id)
                         : (s_tally_t *) zhashx_lookup (self->tallies, job->workflow_id);
    if (!tally) {
        if (is)
            zsys_error ("zjob_manager: out of memory counting workflow %s", job->workflow_id);
        return;
    }
    if (was && tally->counts [from] > 0) {
        tally->counts [from]--;
        tally->total--;
    }
    if (is) {
        tally->counts [to]++;
        tally->total++;
    }
    if (tally->total == 0)
        zhashx_delete (self->tallies, job->workflow_id);
}


//  --------------------------------------------------------------------------
//  Ready queue

//  Link job into its workflow's list for its priority, before the first
//  job with a greater seq, scanning from the front when front is set (a
//  requeued job belongs near the head) and from the back otherwise. Takes
//  a reference. Returns 0, or -1 if out of memory.
static int
s_queue_insert (zjob_manager_t *self, zjob_job_t *job, bool front)
{
    s_workflow_t *workflow = (s_workflow_t *) zhashx_lookup (self->workflows, job->workflow_id);
    if (!workflow) {
        workflow = (s_workflow_t *) calloc (1, sizeof (s_workflow_t));
        if (!workflow)
            return -1;
        zhashx_insert (self->workflows, job->workflow_id, workflow);
    }
    size_t rank = s_rank (job);
    zjob_job_t *after = NULL;           //  Job goes right after this one
    if (front) {
        zjob_job_t *cursor = workflow->head [rank];
        while (cursor && cursor->seq < job->seq) {
            after = cursor;
            cursor = cursor->next;
        }
    }
    else {
        after = workflow->tail [rank];
        while (after && after->seq > job->seq)
            after = after->prev;
    }
    zjob_job_t *before = after? after->next: workflow->head [rank];
    job->prev = after;
    job->next = before;
    if (after)
        after->next = job;
    else
        workflow->head [rank] = job;
    if (before)
        before->prev = job;
    else
        workflow->tail [rank] = job;
    workflow->size++;
    self->queued++;
    zjob_job_ref (job);
    return 0;
}

//  Enqueue job at the back of its list with a new sequence number.
static int
s_queue_append (zjob_manager_t *self, zjob_job_t *job)
{
    job->seq = ++self->seq;
    return s_queue_insert (self, job, false);
}

//  Unlink job from its list and drop the queue's reference; the caller
//  must hold its own.
static void
s_queue_remove (zjob_manager_t *self, zjob_job_t *job)
{
    s_workflow_t *workflow = (s_workflow_t *) zhashx_lookup (self->workflows, job->workflow_id);
    if (!workflow)
        return;                         //  Not queued: nothing to unlink
    size_t rank = s_rank (job);
    if (job->prev)
        job->prev->next = job->next;
    else
    if (workflow->head [rank] == job)
        workflow->head [rank] = job->next;
    else
        return;                         //  Not in this list
    if (job->next)
        job->next->prev = job->prev;
    else
        workflow->tail [rank] = job->prev;
    job->next = job->prev = NULL;
    self->queued--;
    if (--workflow->size == 0)
        zhashx_delete (self->workflows, job->workflow_id);
    zjob_job_destroy (&job);
}

//  Consider workflow's best job against *best: higher priority wins, then
//  the smaller sequence number.
static void
s_queue_consider (s_workflow_t *workflow, zjob_job_t **best)
{
    for (int rank = ZJOB_PRIORITY_COUNT - 1; rank >= 0; rank--) {
        zjob_job_t *head = workflow->head [rank];
        if (!head)
            continue;
        if (!*best
        ||  s_rank (*best) < (size_t) rank
        || (s_rank (*best) == (size_t) rank && head->seq < (*best)->seq))
            *best = head;
        return;
    }
}


//  True if job is linked into one of the ready lists
static bool
s_queue_linked (zjob_manager_t *self, const zjob_job_t *job)
{
    if (job->prev)
        return true;
    s_workflow_t *workflow = (s_workflow_t *) zhashx_lookup (self->workflows, job->workflow_id);
    return workflow && workflow->head [s_rank (job)] == job;
}


//  --------------------------------------------------------------------------
//  Scheduled set

static bool
s_timer_less (const s_timer_t *a, const s_timer_t *b)
{
    return a->run_at < b->run_at || (a->run_at == b->run_at && a->seq < b->seq);
}

static bool
s_timer_live (zjob_manager_t *self, const s_timer_t *timer)
{
    const zjob_job_t *job = timer->job;
    return job->status == ZJOB_QUEUED && job->seq == timer->seq && !s_queue_linked (self, job);
}

static void
s_heap_up (zjob_manager_t *self, size_t index)
{
    s_timer_t timer = self->heap [index];
    while (index > 0) {
        size_t parent = (index - 1) / 2;
        if (!s_timer_less (&timer, &self->heap [parent]))
            break;
        self->heap [index] = self->heap [parent];
        index = parent;
    }
    self->heap [index] = timer;
}

static void
s_heap_down (zjob_manager_t *self, size_t index)
{
    s_timer_t timer = self->heap [index];
    while (true) {
        size_t child = 2 * index + 1;
        if (child >= self->heap_size)
            break;
        if (child + 1 < self->heap_size
        &&  s_timer_less (&self->heap [child + 1], &self->heap [child]))
            child++;
        if (!s_timer_less (&self->heap [child], &timer))
            break;
        self->heap [index] = self->heap [child];
        index = child;
    }
    self->heap [index] = timer;
}

//  Make room for count more entries. Returns 0, or -1 if out of memory.
static int
s_heap_reserve (zjob_manager_t *self, size_t count)
{
    if (self->heap_size + count <= self->heap_max)
        return 0;
    size_t max = self->heap_max? self->heap_max: 64;
    while (max < self->heap_size + count)
        max *= 2;
    s_timer_t *heap = (s_timer_t *) realloc (self->heap, max * sizeof (s_timer_t));
    if (!heap)
        return -1;
    self->heap = heap;
    self->heap_max = max;
    return 0;
}

//  Schedule queued job for its run_at under a new token. Room must have
//  been reserved. Takes a reference.
static void
s_heap_push (zjob_manager_t *self, zjob_job_t *job)
{
    assert (self->heap_size < self->heap_max);
    job->seq = ++self->seq;
    job->next = job->prev = NULL;
    s_timer_t *timer = &self->heap [self->heap_size++];
    timer->run_at = job->run_at;
    timer->seq = job->seq;
    timer->job = zjob_job_ref (job);
    s_heap_up (self, self->heap_size - 1);
    self->scheduled++;
}

//  Remove the top entry into *timer (the caller takes its reference)
static void
s_heap_pop (zjob_manager_t *self, s_timer_t *timer)
{
    *timer = self->heap [0];
    self->heap [0] = self->heap [--self->heap_size];
    if (self->heap_size)
        s_heap_down (self, 0);
}

//  Drop stale entries from the top, so that the top, if any, is live
static void
s_heap_prune (zjob_manager_t *self)
{
    while (self->heap_size && !s_timer_live (self, &self->heap [0])) {
        s_timer_t timer;
        s_heap_pop (self, &timer);
        zjob_job_destroy (&timer.job);
    }
}

//  Rebuild the heap from its live entries when stale ones dominate
static void
s_heap_compact (zjob_manager_t *self)
{
    if (self->heap_size - self->scheduled <= self->scheduled + S_HEAP_SLACK)
        return;
    size_t kept = 0;
    for (size_t index = 0; index < self->heap_size; index++) {
        if (s_timer_live (self, &self->heap [index]))
            self->heap [kept++] = self->heap [index];
        else
            zjob_job_destroy (&self->heap [index].job);
    }
    self->heap_size = kept;
    for (size_t index = kept / 2; index-- > 0;)
        s_heap_down (self, index);
    if (self->heap_max > 4 * (kept + S_HEAP_SLACK)) {
        //  Give back most of a heap that once was large; failing is harmless
        size_t max = 2 * (kept + S_HEAP_SLACK);
        s_timer_t *heap = (s_timer_t *) realloc (self->heap, max * sizeof (s_timer_t));
        if (heap) {
            self->heap = heap;
            self->heap_max = max;
        }
    }
}

//  Take job out of the queue it waits in, ready list or scheduled set; its
//  status is still queued. The caller holds its own reference.
static void
s_unqueue (zjob_manager_t *self, zjob_job_t *job)
{
    if (s_queue_linked (self, job))
        s_queue_remove (self, job);
    else
    if (job->run_at > job->queued_at && self->scheduled > 0) {
        //  Its entry goes stale as soon as the status changes
        self->scheduled--;
        s_heap_compact (self);
    }
}

//  Put queued job into the scheduled set if its run_at is after now_ms,
//  else at the back of its ready list. Scheduling needs room reserved.
//  Returns 0, or -1 if out of memory.
static int
s_enqueue (zjob_manager_t *self, zjob_job_t *job, int64_t now_ms)
{
    if (job->run_at > now_ms) {
        s_heap_push (self, job);
        return 0;
    }
    return s_queue_append (self, job);
}


//  --------------------------------------------------------------------------
//  Snapshots: undoing a change the store refused

static int
s_snapshot_take (s_snapshot_t *snap, const zjob_job_t *job)
{
    memset (snap, 0, sizeof (*snap));
    snap->status = job->status;
    snap->held = job->held;
    snap->attempts = job->attempts;
    snap->progress = job->progress;
    snap->updated_at = job->updated_at;
    snap->queued_at = job->queued_at;
    snap->started_at = job->started_at;
    snap->completed_at = job->completed_at;
    snap->execution_ms = job->execution_ms;
    snap->queued_ms = job->queued_ms;
    snap->progress_message = s_strdup (job->progress_message);
    snap->error_kind = s_strdup (job->error_kind);
    snap->error_message = s_strdup (job->error_message);
    snap->worker_id = s_strdup (job->worker_id);
    if (job->outputs.size) {
        snap->outputs = (uint8_t *) malloc (job->outputs.size);
        if (snap->outputs) {
            memcpy (snap->outputs, job->outputs.data, job->outputs.size);
            snap->outputs_size = job->outputs.size;
        }
    }
    if ((job->progress_message && !snap->progress_message)
    ||  (job->error_kind && !snap->error_kind)
    ||  (job->error_message && !snap->error_message)
    ||  (job->worker_id && !snap->worker_id)
    ||  (job->outputs.size && !snap->outputs))
        return -1;
    return 0;
}

static void
s_snapshot_free (s_snapshot_t *snap)
{
    free (snap->progress_message);
    free (snap->error_kind);
    free (snap->error_message);
    free (snap->worker_id);
    free (snap->outputs);
    memset (snap, 0, sizeof (*snap));
}

//  Put every field the snapshot holds back into job. The setters stamp
//  updated_at, so the scalars are restored after them.
static void
s_snapshot_restore (const s_snapshot_t *snap, zjob_job_t *job)
{
    if (!s_streq (job->worker_id, snap->worker_id))
        zjob_job_set_worker (job, snap->worker_id);
    if (!s_streq (job->error_kind, snap->error_kind)
    ||  !s_streq (job->error_message, snap->error_message))
        zjob_job_set_error (job, snap->error_kind, snap->error_message);
    if (!s_streq (job->progress_message, snap->progress_message))
        zjob_job_set_progress (job, snap->progress, snap->progress_message, NULL);
    if (job->outputs.size != snap->outputs_size
    || (snap->outputs_size && memcmp (job->outputs.data, snap->outputs, snap->outputs_size)))
        zjob_job_set_outputs (job, snap->outputs, snap->outputs_size, NULL);
    job->status = snap->status;
    job->held = snap->held;
    job->attempts = snap->attempts;
    job->progress = snap->progress;
    job->updated_at = snap->updated_at;
    job->queued_at = snap->queued_at;
    job->started_at = snap->started_at;
    job->completed_at = snap->completed_at;
    job->execution_ms = snap->execution_ms;
    job->queued_ms = snap->queued_ms;
}


//  --------------------------------------------------------------------------
//  The one path every status change takes

//  Find job id: the held set first (the manager's own reference), then the
//  store. Returns a new reference, or NULL with ZJOB_NOT_FOUND.
static zjob_job_t *
s_lookup (zjob_manager_t *self, const char *id, zjob_error_t *err)
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

//  Move job (already checked and snapshot into snap) to status to by op:
//  stamp its times, put it, then update queue, held set and counts, and
//  tell the listener. On a put failure the job is restored from snap and
//  nothing else changes. Returns 0 or -1.
static int
s_commit (zjob_manager_t *self, zjob_job_t *job, zjob_op_t op, int to,
          const s_snapshot_t *snap, zjob_error_t *err)
{
    int from = snap->status;
    int64_t now = zjob_clock_ms ();
    s_held_t *held = (s_held_t *) zhashx_lookup (self->held, job->id);

    if (from == ZJOB_QUEUED && to != ZJOB_QUEUED && job->queued_at > 0 && now > job->queued_at)
        job->queued_ms += now - job->queued_at;
    if (from == ZJOB_RUNNING && to != ZJOB_RUNNING && held && now > held->running_since)
        job->execution_ms += now - held->running_since;

    if (to == ZJOB_QUEUED) {
        job->queued_at = now;
        job->held = 0;
    }
    else
    if (to == ZJOB_RUNNING && from == ZJOB_QUEUED) {
        job->attempts++;
        if (job->started_at == 0)
            job->started_at = now;
        job->held = 1;
    }
    else
    if (to == ZJOB_PAUSED && op == ZJOB_OP_REQUEUE)
        job->held = 0;
    else
    if (zjob_status_terminal ((zjob_status_t) to)) {
        job->completed_at = now;
        job->held = 0;
    }
    job->status = (uint8_t) to;
    job->updated_at = now;

    s_held_t *new_held = NULL;
    if (to == ZJOB_RUNNING && from == ZJOB_QUEUED) {
        new_held = (s_held_t *) calloc (1, sizeof (s_held_t));
        if (!new_held) {
            s_snapshot_restore (snap, job);
            return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        }
    }
    //  A job queued by the user (not requeued) waits for its run_at
    bool enqueue = to == ZJOB_QUEUED && from != ZJOB_QUEUED;
    if (enqueue && op != ZJOB_OP_REQUEUE && job->run_at > now && s_heap_reserve (self, 1)) {
        s_snapshot_restore (snap, job);
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    if (zjob_store_put (self->store, job, err)) {
        free (new_held);
        s_snapshot_restore (snap, job);
        return -1;
    }

    //  The store has it: bring the queue and the held set along
    if (from == ZJOB_QUEUED && to != ZJOB_QUEUED)
        s_unqueue (self, job);
    if (enqueue) {
        int rc = op == ZJOB_OP_REQUEUE? s_queue_insert (self, job, true)
                                      : s_enqueue (self, job, now);
        if (rc)
            zsys_error ("zjob_manager: out of memory queueing job %s", job->id);
    }
    if (new_held) {
        new_held->job = zjob_job_ref (job);
        new_held->running_since = now;
        zhashx_insert (self->held, job->id, new_held);
    }
    else
    if (to == ZJOB_RUNNING && held)
        held->running_since = now;      //  Resumed while held
    if (snap->held && !job->held)
        zhashx_delete (self->held, job->id);

    if (from != to) {
        s_count_move (self, job, from, to);
        s_notify (self, ZJOB_EVENT_STATUS, job, (zjob_status_t) from);
    }
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

//  What an operation writes into the job besides status and times
typedef struct {
    bool set_worker;                    //  Dispatch: the worker taking it
    const char *worker_id;
    bool set_outputs;                   //  Complete: the worker's outputs
    const uint8_t *outputs;
    size_t outputs_size;
    bool set_error;                     //  Fail: what went wrong
    const char *error_kind;
    const char *error_message;
} s_edits_t;

//  True if worker_id ran an earlier attempt of job id
static bool
s_earlier_has (zjob_manager_t *self, const char *id, const char *worker_id)
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
    if (strchr (worker_id, '\n') || s_earlier_has (self, id, worker_id))
        return 0;
    const char *list = (const char *) zhashx_lookup (self->earlier, id);
    char *grown = zsys_sprintf ("%s%s\n", list? list: "", worker_id);
    if (!grown)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    zhashx_update (self->earlier, id, grown);
    return 0;
}

//  Apply op to job (a reference the caller keeps) if the transition table
//  allows it, with edits (NULL for none). Returns 0, or -1 with err filled
//  and the job as it was.
static int
s_apply_to (zjob_manager_t *self, zjob_job_t *job, zjob_op_t op, int to,
            const s_edits_t *edits, zjob_error_t *err);

static int
s_apply (zjob_manager_t *self, zjob_job_t *job, zjob_op_t op, const s_edits_t *edits,
         zjob_error_t *err)
{
    int to = zjob_transition ((zjob_status_t) job->status, op, job->held, err);
    if (to < 0)
        return s_name_job (err, job);
    return s_apply_to (self, job, op, to, edits, err);
}

//  Apply op to job, leading to status to (already decided), with edits
static int
s_apply_to (zjob_manager_t *self, zjob_job_t *job, zjob_op_t op, int to,
            const s_edits_t *edits, zjob_error_t *err)
{
    s_snapshot_t snap;
    int rc = s_snapshot_take (&snap, job);
    if (rc)
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    if (rc == 0 && edits && edits->set_worker && job->worker_id && edits->worker_id
    &&  !streq (job->worker_id, edits->worker_id))
        //  Another worker takes the job over: the one before ran an
        //  earlier attempt, and its result is still the job's result
        rc = s_earlier_add (self, job->id, job->worker_id, err);
    if (rc == 0 && edits && edits->set_worker
    &&  zjob_job_set_worker (job, edits->worker_id))
        rc = zjob_error_set (err, ZJOB_INTERNAL, "worker id: out of memory");
    if (rc == 0 && edits && edits->set_outputs) {
        rc = zjob_job_set_outputs (job, edits->outputs, edits->outputs_size, err);
        job->progress = 1.0f;
    }
    if (rc == 0 && edits && edits->set_error
    &&  zjob_job_set_error (job, edits->error_kind, edits->error_message))
        rc = zjob_error_set (err, ZJOB_INTERNAL, "error: out of memory");
    if (rc == 0)
        rc = s_commit (self, job, op, to, &snap, err);
    else
        s_snapshot_restore (&snap, job);
    s_snapshot_free (&snap);
    return rc;
}

//  Apply one of the user's operations (start, pause, resume, cancel) or a
//  requeue to job id.
static int
s_operate (zjob_manager_t *self, const char *id, zjob_op_t op, zjob_error_t *err)
{
    zjob_job_t *job = s_lookup (self, id, err);
    if (!job)
        return -1;
    int rc = s_apply (self, job, op, NULL, err);
    zjob_job_destroy (&job);
    return rc;
}

//  Return a reference to job id if worker_id holds it, else NULL with
//  ZJOB_NOT_FOUND or ZJOB_CONFLICT.
static zjob_job_t *
s_lookup_held (zjob_manager_t *self, const char *id, const char *worker_id,
               zjob_error_t *err)
{
    zjob_job_t *job = s_lookup (self, id, err);
    if (!job)
        return NULL;
    if (!job->held
    ||  !zhashx_lookup (self->held, job->id)
    ||  !s_streq (job->worker_id, worker_id)) {
        zjob_error_set (err, ZJOB_CONFLICT, "job %s is not held by worker %s",
                        job->id, worker_id? worker_id: "(none)");
        zjob_job_destroy (&job);
    }
    return job;
}


//  --------------------------------------------------------------------------
//  Recovery

//  A job recovery puts back in the queue, and its place in line
typedef struct {
    zjob_job_t *job;                    //  A reference
    int requeued;                       //  1 if it was held: it goes first
    int64_t queued_at;                  //  When it was last enqueued
} s_recovered_t;

typedef struct {
    zjob_manager_t *self;               //  Counting statuses into
    zjob_job_t **fix;                   //  Jobs to rewrite (held ones)
    size_t fix_count;
    size_t fix_max;
    int failed;                         //  Out of memory
} s_scan_t;

static int
s_recovery_visit (zjob_job_t *job, void *arg)
{
    s_scan_t *scan = (s_scan_t *) arg;
    if (!s_tally_require (scan->self, job->workflow_id)) {
        scan->failed = 1;
        return -1;
    }
    s_count_move (scan->self, job, -1, job->status);
    s_key_add (scan->self, job);
    //  Running jobs, held paused ones, and anything queued: the first two
    //  need rewriting, all of them go into the queue or lose their worker
    if (job->status == ZJOB_RUNNING || job->status == ZJOB_QUEUED || job->held) {
        if (scan->fix_count == scan->fix_max) {
            size_t max = scan->fix_max? scan->fix_max * 2: 256;
            zjob_job_t **fix = (zjob_job_t **) realloc (scan->fix, max * sizeof (zjob_job_t *));
            if (!fix) {
                scan->failed = 1;
                return -1;
            }
            scan->fix = fix;
            scan->fix_max = max;
        }
        scan->fix [scan->fix_count++] = zjob_job_ref (job);
    }
    return 0;
}

static int
s_recovered_compare (const void *a, const void *b)
{
    const s_recovered_t *x = (const s_recovered_t *) a;
    const s_recovered_t *y = (const s_recovered_t *) b;
    if (x->requeued != y->requeued)
        return y->requeued - x->requeued;
    if (x->job->priority != y->job->priority)
        return (int) y->job->priority - (int) x->job->priority;
    if (x->queued_at != y->queued_at)
        return x->queued_at < y->queued_at? -1: 1;
    return strcmp (x->job->id, y->job->id);
}

//  Rebuild counts, queue and schedule from the store. Jobs a worker held
//  when the process stopped are released: running ones become queued
//  ahead of the jobs that were waiting (as a requeue would put them),
//  held paused ones stay paused. Queued jobs whose run_at is ahead are
//  scheduled again. Returns 0, or -1 with err filled if a rewrite fails.
static int
s_recover (zjob_manager_t *self, zjob_error_t *err)
{
    s_scan_t scan = { self, NULL, 0, 0, 0 };
    zjob_store_iterate (self->store, NULL, s_recovery_visit, &scan);
    int rc = 0;
    s_recovered_t *line = NULL;
    if (scan.failed)
        rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory recovering the queue");
    else
    if (scan.fix_count) {
        line = (s_recovered_t *) calloc (scan.fix_count, sizeof (s_recovered_t));
        if (!line)
            rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory recovering the queue");
    }
    size_t queued = 0;
    size_t timers = 0;                  //  Queued jobs whose run_at is ahead
    int64_t now = zjob_clock_ms ();
    for (size_t index = 0; rc == 0 && index < scan.fix_count; index++) {
        zjob_job_t *job = scan.fix [index];
        int64_t queued_at = job->queued_at;
        int from = job->status;
        if (from == ZJOB_RUNNING || job->held) {
            //  No worker holds it now. attempts counts dispatches, so the
            //  interrupted attempt is already counted.
            if (from == ZJOB_RUNNING) {
                job->status = ZJOB_QUEUED;
                job->queued_at = now;
            }
            job->held = 0;
            job->updated_at = now;
            if (zjob_store_put (self->store, job, err)) {
                rc = -1;
                break;
            }
            s_count_move (self, job, from, job->status);
        }
        if (job->status == ZJOB_QUEUED) {
            line [queued].job = job;
            line [queued].requeued = from == ZJOB_RUNNING;
            //  A job that waited for its run_at joined the line when due
            line [queued].queued_at = from == ZJOB_QUEUED && job->run_at > queued_at
                                    ? job->run_at: queued_at;
            if (from == ZJOB_QUEUED && job->run_at > now)
                timers++;
            queued++;
        }
    }
    if (rc == 0 && timers && s_heap_reserve (self, timers))
        rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory recovering the schedule");
    if (rc == 0 && queued) {
        qsort (line, queued, sizeof (s_recovered_t), s_recovered_compare);
        for (size_t index = 0; index < queued; index++) {
            zjob_job_t *job = line [index].job;
            job->next = job->prev = NULL;
            //  Running jobs put back ignore run_at: they were due already
            if (s_enqueue (self, job, line [index].requeued? INT64_MAX: now)) {
                rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory recovering the queue");
                break;
            }
        }
    }
    for (size_t index = 0; index < scan.fix_count; index++)
        zjob_job_destroy (&scan.fix [index]);
    free (scan.fix);
    free (line);
    return rc;
}


//  --------------------------------------------------------------------------
//  Create a manager over store, taking ownership of it, and rebuild the
//  queues from it. Returns NULL with err filled if recovery fails.

zjob_manager_t *
zjob_manager_new (zjob_store_t **store_p, const zjob_manager_config_t *config,
                  zjob_error_t *err)
{
    assert (store_p);
    if (!*store_p) {
        zjob_error_set (err, ZJOB_INTERNAL, "no store");
        return NULL;
    }
    zjob_manager_t *self = (zjob_manager_t *) calloc (1, sizeof (zjob_manager_t));
    if (!self) {
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    self->store = *store_p;
    *store_p = NULL;
    self->max_concurrent = config? config->max_concurrent: ZJOB_MAX_CONCURRENT_DEFAULT;
    self->retention_ms = config && config->retention_ms > 0? config->retention_ms
                                                            : ZJOB_RETENTION_DEFAULT_MS;
    self->workflows = zjob_hashx_new ();
    self->held = zjob_hashx_new ();
    self->keys = zjob_keyindex_new ();
    self->tallies = zjob_hashx_new ();
    self->earlier = zjob_hashx_new ();
    if (!self->workflows || !self->held || !self->keys || !self->tallies || !self->earlier) {
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        zjob_manager_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->workflows, s_workflow_destroy);
    zhashx_set_destructor (self->held, s_held_destroy);
    zhashx_set_destructor (self->tallies, s_workflow_destroy);    //  A plain free
    zhashx_set_destructor (self->earlier, s_workflow_destroy);    //  A plain free
    if (s_recover (self, err))
        zjob_manager_destroy (&self);
    return self;
}


//  --------------------------------------------------------------------------
//  Destroy the manager and its store (synced first). Accepts NULL.

void
zjob_manager_destroy (zjob_manager_t **self_p)
{
    assert (self_p);
    zjob_manager_t *self = *self_p;
    if (!self)
        return;
    //  Drop the queue's references, list by list
    if (self->workflows) {
        s_workflow_t *workflow = (s_workflow_t *) zhashx_first (self->workflows);
        for (; workflow; workflow = (s_workflow_t *) zhashx_next (self->workflows)) {
            for (int rank = 0; rank < ZJOB_PRIORITY_COUNT; rank++) {
                zjob_job_t *job = workflow->head [rank];
                while (job) {
                    zjob_job_t *next = job->next;
                    job->next = job->prev = NULL;
                    zjob_job_destroy (&job);
                    job = next;
                }
            }
        }
        zhashx_destroy (&self->workflows);
    }
    for (size_t index = 0; index < self->heap_size; index++)
        zjob_job_destroy (&self->heap [index].job);
    free (self->heap);
    zhashx_destroy (&self->held);
    zjob_keyindex_destroy (&self->keys);
    zhashx_destroy (&self->tallies);
    zhashx_destroy (&self->earlier);
    zjob_store_destroy (&self->store);
    free (self);
    *self_p = NULL;
}


//  --------------------------------------------------------------------------
//  Set the one listener (NULL to remove).

void
zjob_manager_set_listener (zjob_manager_t *self, zjob_manager_listener_fn *fn, void *arg)
{
    assert (self);
    self->listener = fn;
    self->listener_arg = fn? arg: NULL;
}


//  --------------------------------------------------------------------------
//  Make a new job from spec, queued already when auto_start (one put).
//  Returns the job with one reference, or NULL with err filled.

static zjob_job_t *
s_job_prepare (const zjob_spec_t *spec, bool auto_start, zjob_error_t *err)
{
    if (!spec) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "job spec: required");
        return NULL;
    }
    zjob_job_t *job = zjob_job_new (spec, err);
    if (job && auto_start) {
        int to = zjob_transition (ZJOB_CREATED, ZJOB_OP_START, false, err);
        if (to < 0) {
            zjob_job_destroy (&job);
            return NULL;
        }
        job->status = (uint8_t) to;
        job->queued_at = job->updated_at = zjob_clock_ms ();
    }
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
    if (job->status == ZJOB_QUEUED && s_enqueue (self, job, job->queued_at))
        zsys_error ("zjob_manager: out of memory queueing job %s", job->id);
    s_count_move (self, job, -1, job->status);
    s_key_add (self, job);
    s_notify (self, ZJOB_EVENT_STATUS, job, ZJOB_CREATED);
}


//  --------------------------------------------------------------------------
//  Create a job; with auto_start it is queued at once. Returns a new
//  reference, or NULL with err filled.

zjob_job_t *
zjob_manager_create (zjob_manager_t *self, const zjob_spec_t *spec, bool auto_start,
                     zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = s_job_prepare (spec, auto_start, err);
    if (!job)
        return NULL;
    if ((s_job_scheduled (job) && s_heap_reserve (self, 1))
    ||  !s_tally_require (self, job->workflow_id)) {
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        zjob_job_destroy (&job);
        return NULL;
    }
    if (zjob_store_put (self->store, job, err)) {
        s_tally_trim (self, job->workflow_id);
        zjob_job_destroy (&job);
        return NULL;
    }
    s_job_created (self, job);
    return job;
}


//  --------------------------------------------------------------------------
//  Create count jobs, all or none. Returns 0 or -1 with err naming the
//  first bad spec's index.

//  Create the specs whose skip entry is false (skip NULL: all of them),
//  all or none; jobs[i] receives the i-th job, the skipped entries are
//  left alone. An error names the spec by its index in specs, the
//  client's batch. Returns 0 or -1.
static int
s_create_batch (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                const bool *skip, bool auto_start, zjob_job_t **jobs, zjob_error_t *err)
{
    zjob_job_t **made = (zjob_job_t **) calloc (count, sizeof (zjob_job_t *));
    if (!made)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");

    int rc = 0;
    size_t index;
    for (index = 0; index < count; index++) {
        if (skip && skip [index])
            continue;
        zjob_error_t cause = { 0, "" };
        made [index] = s_job_prepare (&specs [index], auto_start, &cause);
        if (!made [index]) {
            rc = zjob_error_set (err, cause.code? cause.code: ZJOB_BAD_REQUEST,
                                 "jobs[%zu]: %s", index, cause.text);
            break;
        }
    }
    size_t timers = 0;                  //  Jobs that will wait for run_at
    for (index = 0; rc == 0 && index < count; index++)
        timers += made [index] && s_job_scheduled (made [index]);
    if (rc == 0 && timers && s_heap_reserve (self, timers))
        rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    for (index = 0; rc == 0 && index < count; index++)
        if (made [index] && !s_tally_require (self, made [index]->workflow_id))
            rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    size_t stored = 0;                  //  Entries of made the store has accepted
    while (rc == 0 && stored < count) {
        if (made [stored] && zjob_store_put (self->store, made [stored], err))
            rc = -1;
        else
            stored++;
    }
    if (rc) {
        //  Take back what went in, so that none of the batch remains
        for (index = 0; index < stored; index++)
            if (made [index])
                zjob_store_remove (self->store, made [index]->id, NULL);
        for (index = 0; index < count; index++) {
            if (made [index])
                s_tally_trim (self, made [index]->workflow_id);
            zjob_job_destroy (&made [index]);
        }
        free (made);
        return -1;
    }
    for (index = 0; index < count; index++) {
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


int
zjob_manager_create_batch (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                           bool auto_start, zjob_job_t **jobs, zjob_error_t *err)
{
    assert (self);
    if (count == 0)
        return 0;
    if (!specs)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "jobs: required");
    return s_create_batch (self, specs, count, NULL, auto_start, jobs, err);
}


//  --------------------------------------------------------------------------
//  True if two inputs are the same msgpack bytes (none is the empty map)

static bool
s_same_inputs (const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
{
    static const uint8_t empty [] = { 0x80 };
    if (a_size == 0) {
        a = empty;
        a_size = 1;
    }
    if (b_size == 0) {
        b = empty;
        b_size = 1;
    }
    return a_size == b_size && memcmp (a, b, a_size) == 0;
}

//  A spec that reuses the key of what (a job's id, or "jobs[i]") must ask
//  for the same workflow and inputs; else 409, naming both. 0 or -1.
static int
s_key_reuse (const zjob_spec_t *spec, size_t index, const char *workflow_id,
             const uint8_t *inputs, size_t inputs_size, const char *what, zjob_error_t *err)
{
    if (!s_streq (spec->workflow_id, workflow_id))
        return zjob_error_set (err, ZJOB_CONFLICT, "jobs[%zu]: idempotency key \"%s\" is "
                               "already used by %s with a different workflow (%s)", index,
                               spec->idempotency_key, what, workflow_id? workflow_id: "");
    if (!s_same_inputs (spec->inputs, spec->inputs_size, inputs, inputs_size))
        return zjob_error_set (err, ZJOB_CONFLICT, "jobs[%zu]: idempotency key \"%s\" is "
                               "already used by %s with different inputs", index,
                               spec->idempotency_key, what);
    return 0;
}


//  --------------------------------------------------------------------------
//  SUBMIT (PROTOCOL.md 9.2): create each spec, or answer with the job its
//  idempotency key already made, or an earlier spec of the same batch
//  with the same key made. All or none for the jobs it creates.

int
zjob_manager_submit (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                     bool auto_start, zjob_job_t **jobs, uint64_t *existing,
                     size_t *existing_count_p, zjob_error_t *err)
{
    assert (self);
    assert (jobs && existing && existing_count_p);
    *existing_count_p = 0;
    if (count == 0 || !specs)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "jobs: required");
    if (count == 1) {
        //  The common case allocates nothing here
        const char *key = specs [0].idempotency_key;
        jobs [0] = key? zjob_manager_find_key (self, key): NULL;
        if (jobs [0]) {
            char what [ZJOB_ID_LEN + 8];
            snprintf (what, sizeof (what), "job %s", jobs [0]->id);
            if (s_key_reuse (&specs [0], 0, jobs [0]->workflow_id, jobs [0]->inputs.data,
                             jobs [0]->inputs.size, what, err)) {
                zjob_job_destroy (&jobs [0]);
                return -1;
            }
            existing [(*existing_count_p)++] = 0;
            return 0;
        }
        jobs [0] = zjob_manager_create (self, &specs [0], auto_start, err);
        return jobs [0]? 1: -1;
    }
    //  first [i]: index + 1 of the spec whose job answers spec i, if not
    //  its own (a known key: 0 with jobs [i] set)
    bool *skip = (bool *) calloc (count, sizeof (bool));
    size_t *first = (size_t *) calloc (count, sizeof (size_t));
    zhashx_t *batch_keys = NULL;        //  key -> index + 1 of its first spec
    int rc = skip && first? 0: zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    for (size_t index = 0; index < count; index++)
        jobs [index] = NULL;
    for (size_t index = 0; rc == 0 && index < count; index++) {
        const char *key = specs [index].idempotency_key;
        if (!key)
            continue;
        if ((jobs [index] = zjob_manager_find_key (self, key)) != NULL) {
            char what [ZJOB_ID_LEN + 8];
            snprintf (what, sizeof (what), "job %s", jobs [index]->id);
            rc = s_key_reuse (&specs [index], index, jobs [index]->workflow_id,
                              jobs [index]->inputs.data, jobs [index]->inputs.size, what, err);
            skip [index] = true;
            continue;
        }
        if (!batch_keys && (batch_keys = zjob_hashx_new ()) == NULL) {
            rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
            break;
        }
        size_t earlier = (size_t) (uintptr_t) zhashx_lookup (batch_keys, key);
        if (earlier) {
            const zjob_spec_t *before = &specs [earlier - 1];
            char what [32];
            snprintf (what, sizeof (what), "jobs[%zu]", earlier - 1);
            rc = s_key_reuse (&specs [index], index, before->workflow_id, before->inputs,
                              before->inputs_size, what, err);
            skip [index] = true;
            first [index] = earlier;
        }
        else
            zhashx_insert (batch_keys, key, (void *) (uintptr_t) (index + 1));
    }
    size_t created = 0;
    for (size_t index = 0; rc == 0 && index < count; index++)
        created += !skip [index];
    if (rc == 0 && created)
        rc = s_create_batch (self, specs, count, skip, auto_start, jobs, err);
    for (size_t index = 0; index < count; index++) {
        if (rc == 0 && skip && skip [index]) {
            existing [(*existing_count_p)++] = index;
            if (first [index])
                jobs [index] = zjob_job_ref (jobs [first [index] - 1]);
        }
        else
        if (rc)
            zjob_job_destroy (&jobs [index]);
    }
    if (rc)
        *existing_count_p = 0;
    free (skip);
    free (first);
    zhashx_destroy (&batch_keys);
    return rc? -1: (int) created;
}


//  --------------------------------------------------------------------------
//  The job with id (a new reference), or NULL with ZJOB_NOT_FOUND.

zjob_job_t *
zjob_manager_get (zjob_manager_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    return s_lookup (self, id, err);
}


//  --------------------------------------------------------------------------
//  List jobs matching query->filter, sorted and paged.

//  The page is selected, not sorted whole: a bounded max-heap keeps the
//  keep = offset + limit first jobs in the query's order (its top is the
//  last of them), so a list costs O(n log keep) time and O(keep) memory
//  over n matching jobs, however many there are. The order is total (ties
//  broken by id), so the page is exactly that of a full sort.
typedef struct {
    const zjob_query_t *query;          //  Its order decides
    zjob_job_t **jobs;                  //  Max-heap of references, worst on top
    size_t count;                       //  Entries in jobs
    size_t max;                         //  Entries allocated
    size_t keep;                        //  Entries kept at most (offset + limit)
    size_t total;                       //  Jobs matching, all visited
    int failed;                         //  Out of memory
} s_select_t;

//  True if a comes after b in the query's order
static bool
s_select_after (const s_select_t *select, const zjob_job_t *a, const zjob_job_t *b)
{
    return zjob_job_compare (a, b, select->query->sort_by, select->query->descending) > 0;
}

static void
s_select_down (s_select_t *select, size_t index)
{
    zjob_job_t **jobs = select->jobs;
    zjob_job_t *job = jobs [index];
    while (true) {
        size_t child = 2 * index + 1;
        if (child >= select->count)
            break;
        if (child + 1 < select->count && s_select_after (select, jobs [child + 1], jobs [child]))
            child++;
        if (!s_select_after (select, jobs [child], job))
            break;
        jobs [index] = jobs [child];
        index = child;
    }
    jobs [index] = job;
}

static int
s_select_visit (zjob_job_t *job, void *arg)
{
    s_select_t *select = (s_select_t *) arg;
    select->total++;
    if (select->count == select->keep) {
        //  Full: job replaces the worst kept one if it comes before it
        if (s_select_after (select, job, select->jobs [0]))
            return 0;
        zjob_job_destroy (&select->jobs [0]);
        select->jobs [0] = zjob_job_ref (job);
        s_select_down (select, 0);
        return 0;
    }
    if (select->count == select->max) {
        size_t max = select->max? select->max * 2: 64;
        if (max > select->keep)
            max = select->keep;
        zjob_job_t **jobs = (zjob_job_t **) realloc (select->jobs, max * sizeof (zjob_job_t *));
        if (!jobs) {
            select->failed = 1;
            return -1;
        }
        select->jobs = jobs;
        select->max = max;
    }
    //  Sift up
    size_t index = select->count++;
    while (index > 0) {
        size_t parent = (index - 1) / 2;
        if (!s_select_after (select, job, select->jobs [parent]))
            break;
        select->jobs [index] = select->jobs [parent];
        index = parent;
    }
    select->jobs [index] = zjob_job_ref (job);
    return 0;
}

static int
s_list_compare (const void *a, const void *b, void *arg)
{
    const zjob_query_t *query = (const zjob_query_t *) arg;
    return zjob_job_compare (*(zjob_job_t *const *) a, *(zjob_job_t *const *) b,
                             query->sort_by, query->descending);
}

int
zjob_manager_list (zjob_manager_t *self, const zjob_query_t *query,
                   zjob_job_t ***jobs_p, size_t *count_p, size_t *total_p,
                   zjob_error_t *err)
{
    assert (self);
    assert (jobs_p);
    assert (count_p);
    *jobs_p = NULL;
    *count_p = 0;
    if (total_p)
        *total_p = 0;
    zjob_query_t fallback;
    memset (&fallback, 0, sizeof (fallback));
    if (!query)
        query = &fallback;
    if (query->limit > ZJOB_LIST_LIMIT_MAX)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "limit: at most %d, not %zu",
                               ZJOB_LIST_LIMIT_MAX, query->limit);
    if ((int) query->sort_by < 0 || query->sort_by > ZJOB_SORT_STATUS)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "sort: unknown key %d",
                               (int) query->sort_by);
    if (zjob_filter_validate (&query->filter, err))
        return -1;

    size_t limit = query->limit? query->limit: ZJOB_LIST_LIMIT_MAX;
    s_select_t select = { query, NULL, 0, 0, 0, 0, 0 };
    select.keep = query->offset > SIZE_MAX - limit? SIZE_MAX: query->offset + limit;
    zjob_store_iterate (self->store, &query->filter, s_select_visit, &select);
    //  The kept jobs in order; the page is their last count (at most limit)
    size_t first = query->offset < select.count? query->offset: select.count;
    size_t count = select.count - first;
    //  Never NULL on success, even for an empty page
    zjob_job_t **page = select.failed? NULL
                      : (zjob_job_t **) calloc (count? count: 1, sizeof (zjob_job_t *));
    if (page && select.count > 1)
        qsort_r (select.jobs, select.count, sizeof (zjob_job_t *), s_list_compare,
                 (void *) query);
    for (size_t index = 0; index < select.count; index++) {
        if (page && index >= first)
            page [index - first] = select.jobs [index];
        else
            zjob_job_destroy (&select.jobs [index]);
    }
    free (select.jobs);
    if (!page)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory listing jobs");
    *jobs_p = page;
    *count_p = count;
    if (total_p)
        *total_p = select.total;
    return 0;
}


//  --------------------------------------------------------------------------
//  Delete a job; a queued, running or paused job is cancelled first, so
//  the listener hears the cancel, then the deletion. 0 or -1.

int
zjob_manager_delete (zjob_manager_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = s_lookup (self, id, err);
    if (!job)
        return -1;
    if (job->status == ZJOB_QUEUED || job->status == ZJOB_RUNNING
    ||  job->status == ZJOB_PAUSED) {
        int rc = s_apply (self, job, ZJOB_OP_CANCEL, NULL, err);
        zjob_job_destroy (&job);
        if (rc == 0)
            job = s_lookup (self, id, err);
        if (!job)
            return -1;
    }
    int rc = zjob_store_remove (self->store, job->id, err);
    if (rc == 0) {
        s_count_move (self, job, job->status, -1);
        s_key_remove (self, job);
        zhashx_delete (self->earlier, job->id);
        s_notify (self, ZJOB_EVENT_DELETED, job, (zjob_status_t) job->status);
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
    zjob_job_t *job = s_lookup (self, id, err);
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
    zjob_job_t *job = s_lookup (self, id, err);
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
//  Delete terminal jobs completed before now_ms minus the retention.
//  Returns the number deleted, or -1 with err filled.

typedef struct {
    int64_t before_ms;                  //  Completed strictly before this
    char (*ids) [ZJOB_ID_LEN + 1];      //  Ids to delete
    size_t count;                       //  Used entries of ids
    size_t max;                         //  Allocated entries of ids
    int failed;                         //  Out of memory
} s_expired_t;

static int
s_expired_visit (zjob_job_t *job, void *arg)
{
    s_expired_t *expired = (s_expired_t *) arg;
    if (!zjob_status_terminal ((zjob_status_t) job->status)
    ||  job->completed_at >= expired->before_ms)
        return 0;
    if (expired->count == expired->max) {
        size_t max = expired->max? expired->max * 2: 64;
        void *ids = realloc (expired->ids, max * sizeof (*expired->ids));
        if (!ids) {
            expired->failed = 1;
            return -1;
        }
        expired->ids = (char (*) [ZJOB_ID_LEN + 1]) ids;
        expired->max = max;
    }
    snprintf (expired->ids [expired->count++], ZJOB_ID_LEN + 1, "%s", job->id);
    return 0;
}

int
zjob_manager_cleanup (zjob_manager_t *self, int64_t now_ms, zjob_error_t *err)
{
    assert (self);
    //  Collect first, remove after: a visitor may not change the store
    s_expired_t expired = { now_ms - self->retention_ms, NULL, 0, 0, 0 };
    zjob_filter_t terminal;
    memset (&terminal, 0, sizeof (terminal));
    terminal.status_mask = (1u << ZJOB_COMPLETED) | (1u << ZJOB_FAILED) | (1u << ZJOB_CANCELLED);
    zjob_store_iterate (self->store, &terminal, s_expired_visit, &expired);
    if (expired.failed) {
        free (expired.ids);
        return zjob_error_set (err, ZJOB_INTERNAL, "cleanup: out of memory");
    }
    int removed = 0;
    for (size_t index = 0; index < expired.count; index++) {
        zjob_job_t *job = zjob_store_get (self->store, expired.ids [index]);
        if (!job)
            continue;
        if (zjob_store_remove (self->store, job->id, err)) {
            zjob_job_destroy (&job);
            free (expired.ids);
            return -1;
        }
        removed++;
        s_count_move (self, job, job->status, -1);
        s_key_remove (self, job);
        zhashx_delete (self->earlier, job->id);
        s_notify (self, ZJOB_EVENT_DELETED, job, (zjob_status_t) job->status);
        zjob_job_destroy (&job);
    }
    free (expired.ids);
    return removed;
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
    return self->seq;
}

//  The best job for the worker, if it was enqueued at or before max_seq
static zjob_job_t *
s_take (zjob_manager_t *self, const char *const *workflows, size_t count,
        const char *worker_id, uint64_t max_seq)
{
    if (self->max_concurrent && zhashx_size (self->held) >= self->max_concurrent)
        return NULL;
    if (self->heap_size)
        zjob_manager_promote (self, zjob_clock_ms ());
    if (self->queued == 0)
        return NULL;

    zjob_job_t *best = NULL;
    if (count && workflows) {
        for (size_t index = 0; index < count; index++) {
            s_workflow_t *workflow = workflows [index]
                ? (s_workflow_t *) zhashx_lookup (self->workflows, workflows [index]): NULL;
            if (workflow)
                s_queue_consider (workflow, &best);
        }
    }
    else {
        s_workflow_t *workflow = (s_workflow_t *) zhashx_first (self->workflows);
        for (; workflow; workflow = (s_workflow_t *) zhashx_next (self->workflows))
            s_queue_consider (workflow, &best);
    }
    if (!best || best->seq > max_seq)
        return NULL;                    //  Nothing, or the best is too recent

    zjob_job_t *job = zjob_job_ref (best);
    zjob_error_t err = { 0, "" };
    s_edits_t edits = { .set_worker = true, .worker_id = worker_id };
    if (s_apply (self, job, ZJOB_OP_DISPATCH, &edits, &err)) {
        //  The store refused: the job stays where it is, and the worker
        //  gets nothing this time
        zsys_warning ("zjob_manager: cannot dispatch job %s: %s", job->id, err.text);
        zjob_job_destroy (&job);
    }
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
    s_edits_t edits = { .set_outputs = true, .outputs = outputs, .outputs_size = size };
    int rc = s_apply (self, job, ZJOB_OP_COMPLETE, &edits, err);
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
    s_edits_t edits = { .set_error = true, .error_kind = kind && *kind? kind: "error",
                        .error_message = message };
    int rc = s_apply (self, job, ZJOB_OP_FAIL, &edits, err);
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
    s_snapshot_t snap;
    memset (&snap, 0, sizeof (snap));
    if (job->status != ZJOB_RUNNING && job->status != ZJOB_PAUSED)
        zjob_error_set (err, ZJOB_CONFLICT, "job %s is %s; progress needs it running",
                        job->id, zjob_status_name ((zjob_status_t) job->status));
    else
    if (s_snapshot_take (&snap, job))
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    else
    if (zjob_job_set_progress (job, progress, message, err)
    ||  zjob_store_put (self->store, job, err))
        s_snapshot_restore (&snap, job);
    else
        rc = 0;
    s_snapshot_free (&snap);
    if (rc == 0)
        s_notify (self, ZJOB_EVENT_PROGRESS, job, (zjob_status_t) job->status);
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


//  --------------------------------------------------------------------------
//  The store's durability point.

int
zjob_manager_sync (zjob_manager_t *self, zjob_error_t *err)
{
    assert (self);
    return zjob_store_sync (self->store, err);
}


//  --------------------------------------------------------------------------
//  Figures

size_t
zjob_manager_queued (zjob_manager_t *self)
{
    assert (self);
    return self->queued;
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
    return self->scheduled;
}


//  --------------------------------------------------------------------------
//  The scheduled set: when the next job is due, and promoting due jobs

int64_t
zjob_manager_next_due (zjob_manager_t *self)
{
    assert (self);
    s_heap_prune (self);
    return self->heap_size? self->heap [0].run_at: 0;
}

int
zjob_manager_promote (zjob_manager_t *self, int64_t now_ms)
{
    assert (self);
    int promoted = 0;
    while (true) {
        s_heap_prune (self);
        if (self->heap_size == 0 || self->heap [0].run_at > now_ms)
            break;
        s_timer_t timer;
        s_heap_pop (self, &timer);
        self->scheduled--;
        if (s_queue_append (self, timer.job)) {
            //  Out of memory: put it back as it was, and try again later
            zsys_error ("zjob_manager: out of memory promoting job %s", timer.job->id);
            timer.job->seq = timer.seq;
            self->heap [self->heap_size++] = timer;
            s_heap_up (self, self->heap_size - 1);
            self->scheduled++;
            break;
        }
        zjob_job_destroy (&timer.job);
        promoted++;
    }
    return promoted;
}

int
zjob_manager_counts (zjob_manager_t *self, size_t counts [ZJOB_STATUS_COUNT])
{
    assert (self);
    assert (counts);
    memcpy (counts, self->counts, sizeof (self->counts));
    return 0;
}

size_t
zjob_manager_workflows (zjob_manager_t *self)
{
    assert (self);
    return zhashx_size (self->tallies);
}

int
zjob_manager_workflow_counts (zjob_manager_t *self, zjob_manager_workflow_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    int visited = 0;
    s_tally_t *tally = (s_tally_t *) zhashx_first (self->tallies);
    for (; tally; tally = (s_tally_t *) zhashx_next (self->tallies)) {
        fn ((const char *) zhashx_cursor (self->tallies), tally->counts, arg);
        visited++;
    }
    return visited;
}

zjob_store_t *
zjob_manager_store (zjob_manager_t *self)
{
    assert (self);
    return self->store;
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
//  Accept a worker's result whoever holds the job now. Returns 1 if the
//  job was finished by this call, 0 if it was terminal already, -1.

int
zjob_manager_finish (zjob_manager_t *self, const char *id, const char *worker_id,
                     const char *const *workflows, size_t workflow_count,
                     bool completed, const uint8_t *outputs, size_t size,
                     const char *kind, const char *message, zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = s_lookup (self, id, err);
    if (!job)
        return -1;
    //  The one rule: from the worker of the current (or last) attempt, or
    //  of an earlier one, and only if it serves the job's workflow
    bool served = !workflows || workflow_count == 0;
    for (size_t index = 0; !served && index < workflow_count; index++)
        served = workflows [index] && streq (workflows [index], job->workflow_id);
    if (!worker_id
    || (!s_streq (job->worker_id, worker_id) && !s_earlier_has (self, job->id, worker_id))) {
        zjob_error_set (err, ZJOB_CONFLICT, "job %s was never given to worker %s", job->id,
                        worker_id? worker_id: "(none)");
        zjob_job_destroy (&job);
        return -1;
    }
    if (!served) {
        zjob_error_set (err, ZJOB_CONFLICT, "worker %s does not serve workflow %s of job %s",
                        worker_id, job->workflow_id, job->id);
        zjob_job_destroy (&job);
        return -1;
    }
    if (zjob_status_terminal ((zjob_status_t) job->status)) {
        zjob_job_destroy (&job);
        return 0;
    }
    s_edits_t edits = { .set_worker = worker_id != NULL, .worker_id = worker_id };
    if (completed) {
        edits.set_outputs = true;
        edits.outputs = outputs;
        edits.outputs_size = size;
    }
    else {
        edits.set_error = true;
        edits.error_kind = kind && *kind? kind: "error";
        edits.error_message = message;
    }
    //  The table's rule (running only) is waived: the work was done
    int rc = s_apply_to (self, job, completed? ZJOB_OP_COMPLETE: ZJOB_OP_FAIL,
                         completed? ZJOB_COMPLETED: ZJOB_FAILED, &edits, err);
    zjob_job_destroy (&job);
    return rc? -1: 1;
}


//  --------------------------------------------------------------------------
//  Give a queued job back to the worker that still runs it.

zjob_job_t *
zjob_manager_adopt (zjob_manager_t *self, const char *id, const char *worker_id,
                    zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = s_lookup (self, id, err);
    if (!job)
        return NULL;
    if (job->status != ZJOB_QUEUED || job->attempts == 0) {
        zjob_error_set (err, ZJOB_CONFLICT, "job %s is %s%s: it cannot be adopted", job->id,
                        zjob_status_name ((zjob_status_t) job->status),
                        job->attempts? "": " and was never handed out");
        zjob_job_destroy (&job);
        return NULL;
    }
    //  A dispatch of this very job, but not a new attempt: the attempt it
    //  continues was counted when it was first handed out
    uint32_t attempts = job->attempts;
    job->attempts--;
    s_edits_t edits = { .set_worker = true, .worker_id = worker_id };
    if (s_apply (self, job, ZJOB_OP_DISPATCH, &edits, err)) {
        job->attempts = attempts;
        zjob_job_destroy (&job);
    }
    return job;
}


//  --------------------------------------------------------------------------
//  The worker holding job id was lost: requeue the job, or fail it with
//  kind worker_lost when that was its last attempt.

int
zjob_manager_worker_lost (zjob_manager_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = s_lookup (self, id, err);
    if (!job)
        return -1;
    int rc = 0;
    if (job->status == ZJOB_RUNNING
    &&  job->max_attempts && job->attempts >= job->max_attempts) {
        //  That was its last attempt: fail it rather than run it again
        char worker_id [ZJOB_NAME_MAX + 1];
        snprintf (worker_id, sizeof (worker_id), "%s", job->worker_id? job->worker_id: "");
        if (zjob_manager_fail (self, id, worker_id, "worker_lost",
                               "the worker was lost on the last attempt", err) == 0)
            rc = ZJOB_LOST_FAILED;
        else
            rc = -1;
    }
    if (rc == 0 && job->held)
        rc = zjob_manager_requeue (self, id, err) == 0? ZJOB_LOST_REQUEUED: -1;
    zjob_job_destroy (&job);
    return rc;
}


//  --------------------------------------------------------------------------
//  The user's operations by name, on one job, a list, or a filter

int
zjob_manager_apply (zjob_manager_t *self, zjob_apply_t what, const char *id,
                    zjob_error_t *err)
{
    assert (self);
    switch (what) {
        case ZJOB_APPLY_DELETE: return zjob_manager_delete (self, id, err);
        case ZJOB_APPLY_START:  return zjob_manager_start (self, id, err);
        case ZJOB_APPLY_PAUSE:  return zjob_manager_pause (self, id, err);
        case ZJOB_APPLY_RESUME: return zjob_manager_resume (self, id, err);
        case ZJOB_APPLY_CANCEL: return zjob_manager_cancel (self, id, err);
    }
    return zjob_error_set (err, ZJOB_BAD_REQUEST, "not a job operation");
}

//  Collects the ids of the jobs a filter matches for which the operation
//  is legal (PROTOCOL.md 9.5); the visitor must not change jobs
typedef struct {
    zlistx_t *ids;                      //  Copies of the ids
    int op;                             //  zjob_op_t, or -1 for delete (always legal)
} s_collect_t;

static int
s_collect_id (zjob_job_t *job, void *arg)
{
    s_collect_t *collect = (s_collect_t *) arg;
    if (collect->op < 0
    ||  zjob_transition ((zjob_status_t) job->status, (zjob_op_t) collect->op,
                         job->held, NULL) >= 0)
        zlistx_add_end (collect->ids, job->id);
    return 0;
}

//  Apply what to one id, counting it in bulk
static void
s_bulk_one (zjob_manager_t *self, zjob_apply_t what, const char *id, zjob_bulk_t *bulk)
{
    zjob_error_t err;
    if (zjob_manager_apply (self, what, id, &err) == 0) {
        bulk->done++;
        return;
    }
    bulk->failed++;
    if (bulk->error_count < ZJOB_BULK_ERRORS_MAX) {
        snprintf (bulk->ids [bulk->error_count], sizeof (bulk->ids [0]), "%s", id? id: "");
        bulk->errors [bulk->error_count++] = err;
    }
}

int
zjob_manager_apply_bulk (zjob_manager_t *self, zjob_apply_t what, const char *const *ids,
                         size_t count, const zjob_filter_t *filter, zjob_bulk_t *bulk,
                         zjob_error_t *err)
{
    assert (self);
    assert (bulk);
    bulk->done = bulk->failed = bulk->error_count = 0;
    if (ids) {
        for (size_t index = 0; index < count; index++)
            s_bulk_one (self, what, ids [index], bulk);
        return 0;
    }
    if (!filter)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "no ids and no filter");
    //  Collect first: the operations change what the filter matches
    zlistx_t *matched = zlistx_new ();
    if (!matched)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    zlistx_set_duplicator (matched, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor (matched, (zlistx_destructor_fn *) zstr_free);
    s_collect_t collect = {
        matched,
        what == ZJOB_APPLY_START? ZJOB_OP_START: what == ZJOB_APPLY_PAUSE? ZJOB_OP_PAUSE:
        what == ZJOB_APPLY_RESUME? ZJOB_OP_RESUME: what == ZJOB_APPLY_CANCEL? ZJOB_OP_CANCEL: -1
    };
    zjob_store_iterate (self->store, filter, s_collect_id, &collect);
    const char *id = (const char *) zlistx_first (matched);
    for (; id; id = (const char *) zlistx_next (matched))
        s_bulk_one (self, what, id, bulk);
    zlistx_destroy (&matched);
    return 0;
}


//  --------------------------------------------------------------------------
//  The store, seen through the manager

zjob_manager_t *
zjob_manager_open (const char *spec, const zjob_manager_config_t *config, zjob_error_t *err)
{
    zjob_store_t *store = zjob_store_open (spec, err);
    if (!store)
        return NULL;
    zjob_manager_t *self = zjob_manager_new (&store, config, err);
    zjob_store_destroy (&store);
    return self;
}

const char *
zjob_manager_store_name (zjob_manager_t *self)
{
    assert (self);
    return zjob_store_name (self->store);
}

void
zjob_manager_store_stats (zjob_manager_t *self, zhashx_t *into)
{
    assert (self);
    zjob_store_stats (self->store, into);
}

size_t
zjob_manager_stored (zjob_manager_t *self)
{
    assert (self);
    return zjob_store_count (self->store);
}

static int
s_count_handed_out (zjob_job_t *job, void *arg)
{
    if (job->attempts > 0)
        (*(size_t *) arg)++;
    return 0;
}

size_t
zjob_manager_reclaimable (zjob_manager_t *self)
{
    assert (self);
    zjob_filter_t queued = { .status_mask = 1u << ZJOB_QUEUED };
    size_t handed_out = 0;
    zjob_store_iterate (self->store, &queued, s_count_handed_out, &handed_out);
    return handed_out;
}
