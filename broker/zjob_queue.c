/*  =========================================================================
    zjob_queue - the ready queue and the scheduled set of queued jobs

    Ready lists. workflows maps a workflow name to four intrusive FIFO
    lists, one per priority, threaded through job->next/prev. Each enqueue
    stamps job->seq from a global counter, and every list is kept sorted by
    seq: a new job goes to the tail (it has the largest seq), a job whose
    worker was lost goes back ahead of every job enqueued after it (it
    keeps its old seq, which puts it at the front). best compares, for each
    workflow the worker serves, the head of its highest non-empty priority
    list: the winner is the highest priority, then the smallest seq, so
    jobs of one priority are served in enqueue order across workflows. A
    workflow entry is dropped when its last job leaves, so "any workflow"
    scans only workflows with queued work.

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
    leaves is uncounted by zjob_queue_remove), and when stale entries
    outnumber live ones (plus a slack) the heap is rebuilt without them,
    so it never holds more than about twice the scheduled jobs: amortized
    O(1) per removal. Each entry holds a job reference, so a stale entry
    never points at freed memory. The owner reserves room before the store
    put that schedules a job, so an accepted change is never lost to an
    allocation failure. Promotion appends each due job to its ready list
    with a fresh seq, in (run_at, token) order; it touches no stored field.
    ========================================================================= */

#include <czmq.h>
#include "zjob_queue.h"
#include "zjob_log.h"
#include "zjob_job_impl.h"
#include "zjob_util.h"

//  The four priority lists of one workflow, oldest (smallest seq) first
typedef struct {
    zjob_job_t *head [ZJOB_PRIORITY_COUNT];  //  Next to take, per priority
    zjob_job_t *tail [ZJOB_PRIORITY_COUNT];  //  Last enqueued, per priority
    size_t size;                             //  Jobs in the four lists
} s_workflow_t;

//  A scheduled job: live while job->status is queued, job->seq == seq and
//  the job is in no ready list
typedef struct {
    int64_t run_at;   //  ms UTC it becomes due
    uint64_t seq;     //  Token: order among equal run_at
    zjob_job_t *job;  //  One reference
} s_timer_t;

//  Stale heap entries tolerated beyond the live ones before a rebuild
#define S_HEAP_SLACK 64

struct _zjob_queue_t {
    zhashx_t *workflows;  //  workflow_id -> s_workflow_t
    size_t queued;        //  Jobs in all ready lists
    s_timer_t *heap;      //  Scheduled set, a min-heap by (run_at, seq)
    size_t heap_size;     //  Entries in heap, stale ones included
    size_t heap_max;      //  Entries allocated
    size_t scheduled;     //  Live entries: jobs waiting for run_at
    size_t retrying;      //  Of those, jobs handed out before (a retry)
    uint64_t seq;         //  Last enqueue number issued
};

static void
s_workflow_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  Index of the job's priority list; a decoded job is validated, the
//  clamp only keeps a bad value from indexing out of bounds
static size_t
s_rank (const zjob_job_t *job)
{
    return job->priority < ZJOB_PRIORITY_COUNT ? job->priority : ZJOB_PRIORITY_COUNT - 1;
}

zjob_queue_t *
zjob_queue_new (void)
{
    zjob_queue_t *self = (zjob_queue_t *) calloc (1, sizeof (zjob_queue_t));
    if (self && (self->workflows = zjob_hashx_new ()) == NULL) {
        free (self);
        return NULL;
    }
    if (self)
        zhashx_set_destructor (self->workflows, s_workflow_destroy);
    return self;
}

void
zjob_queue_destroy (zjob_queue_t **self_p)
{
    assert (self_p);
    zjob_queue_t *self = *self_p;
    if (!self)
        return;
    //  Drop the lists' references, list by list
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
    for (size_t index = 0; index < self->heap_size; index++)
        zjob_job_destroy (&self->heap [index].job);
    free (self->heap);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Ready queue

//  Link job into its workflow's list for its priority, before the first
//  job with a greater seq, scanning from the front when front is set (a
//  requeued job belongs near the head) and from the back otherwise. Takes
//  a reference. Returns 0, or -1 if out of memory.
static int
s_queue_insert (zjob_queue_t *self, zjob_job_t *job, bool front)
{
    s_workflow_t *workflow = (s_workflow_t *) zhashx_lookup (self->workflows, job->workflow_id);
    if (!workflow) {
        workflow = (s_workflow_t *) calloc (1, sizeof (s_workflow_t));
        if (!workflow)
            return -1;
        zhashx_insert (self->workflows, job->workflow_id, workflow);
    }
    size_t rank = s_rank (job);
    zjob_job_t *after = NULL;  //  Job goes right after this one
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
    zjob_job_t *before = after ? after->next : workflow->head [rank];
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

int
zjob_queue_append (zjob_queue_t *self, zjob_job_t *job)
{
    assert (self);
    job->seq = ++self->seq;
    return s_queue_insert (self, job, false);
}

int
zjob_queue_requeue (zjob_queue_t *self, zjob_job_t *job)
{
    assert (self);
    return s_queue_insert (self, job, true);
}

//  Unlink job from its list and drop the queue's reference; the caller
//  must hold its own.
static void
s_list_remove (zjob_queue_t *self, zjob_job_t *job)
{
    s_workflow_t *workflow = (s_workflow_t *) zhashx_lookup (self->workflows, job->workflow_id);
    if (!workflow)
        return;  //  Not queued: nothing to unlink
    size_t rank = s_rank (job);
    if (job->prev)
        job->prev->next = job->next;
    else if (workflow->head [rank] == job)
        workflow->head [rank] = job->next;
    else
        return;  //  Not in this list
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
            || s_rank (*best) < (size_t) rank
            || (s_rank (*best) == (size_t) rank && head->seq < (*best)->seq))
            *best = head;
        return;
    }
}


//  True if job is linked into one of the ready lists
static bool
s_queue_linked (zjob_queue_t *self, const zjob_job_t *job)
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
s_timer_live (zjob_queue_t *self, const s_timer_t *timer)
{
    const zjob_job_t *job = timer->job;
    return job->status == ZJOB_QUEUED && job->seq == timer->seq && !s_queue_linked (self, job);
}

static void
s_heap_up (zjob_queue_t *self, size_t index)
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
s_heap_down (zjob_queue_t *self, size_t index)
{
    s_timer_t timer = self->heap [index];
    while (true) {
        size_t child = 2 * index + 1;
        if (child >= self->heap_size)
            break;
        if (child + 1 < self->heap_size
            && s_timer_less (&self->heap [child + 1], &self->heap [child]))
            child++;
        if (!s_timer_less (&self->heap [child], &timer))
            break;
        self->heap [index] = self->heap [child];
        index = child;
    }
    self->heap [index] = timer;
}

int
zjob_queue_reserve (zjob_queue_t *self, size_t count)
{
    assert (self);
    if (self->heap_size + count <= self->heap_max)
        return 0;
    size_t max = self->heap_max ? self->heap_max : 64;
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
s_heap_push (zjob_queue_t *self, zjob_job_t *job)
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
    self->retrying += job->attempts > 0;
}

//  Remove the top entry into *timer (the caller takes its reference)
static void
s_heap_pop (zjob_queue_t *self, s_timer_t *timer)
{
    *timer = self->heap [0];
    self->heap [0] = self->heap [--self->heap_size];
    if (self->heap_size)
        s_heap_down (self, 0);
}

//  Drop stale entries from the top, so that the top, if any, is live
static void
s_heap_prune (zjob_queue_t *self)
{
    while (self->heap_size && !s_timer_live (self, &self->heap [0])) {
        s_timer_t timer;
        s_heap_pop (self, &timer);
        zjob_job_destroy (&timer.job);
    }
}

//  Rebuild the heap from its live entries when stale ones dominate
static void
s_heap_compact (zjob_queue_t *self)
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

void
zjob_queue_remove (zjob_queue_t *self, zjob_job_t *job)
{
    assert (self);
    if (s_queue_linked (self, job))
        s_list_remove (self, job);
    else if (job->run_at > job->queued_at && self->scheduled > 0) {
        //  Its entry goes stale as soon as the status changes
        self->scheduled--;
        if (job->attempts > 0 && self->retrying > 0)
            self->retrying--;
        s_heap_compact (self);
    }
}

bool
zjob_queue_waiting (zjob_queue_t *self, const zjob_job_t *job)
{
    assert (self);
    return job->status == ZJOB_QUEUED && !s_queue_linked (self, job);
}

int
zjob_queue_hurry (zjob_queue_t *self, zjob_job_t *job)
{
    assert (self);
    assert (zjob_queue_waiting (self, job));
    uint64_t token = job->seq;
    //  A new seq: the heap entry no longer names the job
    if (zjob_queue_append (self, job)) {
        job->seq = token;
        return -1;
    }
    self->scheduled--;
    s_heap_compact (self);
    return 0;
}

int
zjob_queue_enqueue (zjob_queue_t *self, zjob_job_t *job, int64_t now_ms)
{
    assert (self);
    if (job->run_at > now_ms) {
        s_heap_push (self, job);
        return 0;
    }
    return zjob_queue_append (self, job);
}


//  --------------------------------------------------------------------------
//  Taking, promoting, figures

zjob_job_t *
zjob_queue_best (zjob_queue_t *self, const char *const *workflows, size_t count)
{
    return zjob_queue_best_if (self, workflows, count, NULL, NULL);
}

zjob_job_t *
zjob_queue_best_if (zjob_queue_t *self, const char *const *workflows, size_t count,
                    zjob_queue_gate_fn *gate, void *arg)
{
    assert (self);
    zjob_job_t *best = NULL;
    if (count && workflows) {
        for (size_t index = 0; index < count; index++) {
            s_workflow_t *workflow = workflows [index]
                ? (s_workflow_t *) zhashx_lookup (self->workflows, workflows [index])
                : NULL;
            if (workflow && (!gate || gate (workflows [index], arg)))
                s_queue_consider (workflow, &best);
        }
    }
    else {
        s_workflow_t *workflow = (s_workflow_t *) zhashx_first (self->workflows);
        for (; workflow; workflow = (s_workflow_t *) zhashx_next (self->workflows))
            if (!gate || gate ((const char *) zhashx_cursor (self->workflows), arg))
                s_queue_consider (workflow, &best);
    }
    return best;
}

size_t
zjob_queue_ready_in (zjob_queue_t *self, const char *workflow)
{
    assert (self);
    const s_workflow_t *entry = workflow
        ? (const s_workflow_t *) zhashx_lookup (self->workflows, workflow)
        : NULL;
    return entry ? entry->size : 0;
}

void
zjob_queue_each_ready (zjob_queue_t *self, zjob_queue_ready_fn *fn, void *arg)
{
    assert (self && fn);
    const s_workflow_t *entry = (const s_workflow_t *) zhashx_first (self->workflows);
    for (; entry; entry = (const s_workflow_t *) zhashx_next (self->workflows)) {
        //  Each list is in enqueue order: its head is its oldest
        int64_t oldest = 0;
        for (size_t priority = 0; priority < ZJOB_PRIORITY_COUNT; priority++) {
            const zjob_job_t *head = entry->head [priority];
            if (!head)
                continue;
            int64_t ready_at = head->run_at > head->queued_at ? head->run_at : head->queued_at;
            if (!oldest || ready_at < oldest)
                oldest = ready_at;
        }
        fn ((const char *) zhashx_cursor (self->workflows), entry->size, oldest, arg);
    }
}

int64_t
zjob_queue_next_due (zjob_queue_t *self)
{
    assert (self);
    s_heap_prune (self);
    return self->heap_size ? self->heap [0].run_at : 0;
}

int
zjob_queue_promote (zjob_queue_t *self, int64_t now_ms)
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
        bool retry = timer.job->attempts > 0 && self->retrying > 0;
        self->retrying -= retry;
        if (zjob_queue_append (self, timer.job)) {
            //  Out of memory: put it back as it was, and try again later
            zjob_log_error ("zjob_queue: out of memory promoting job %s", timer.job->id);
            timer.job->seq = timer.seq;
            self->heap [self->heap_size++] = timer;
            s_heap_up (self, self->heap_size - 1);
            self->scheduled++;
            self->retrying += retry;
            break;
        }
        zjob_job_destroy (&timer.job);
        promoted++;
    }
    return promoted;
}

size_t
zjob_queue_ready (zjob_queue_t *self)
{
    assert (self);
    return self->queued;
}

size_t
zjob_queue_retrying (zjob_queue_t *self)
{
    assert (self);
    return self->retrying;
}

size_t
zjob_queue_scheduled (zjob_queue_t *self)
{
    assert (self);
    return self->scheduled;
}

uint64_t
zjob_queue_seq (zjob_queue_t *self)
{
    assert (self);
    return self->seq;
}
