/*  =========================================================================
    zjob_queue - the ready queue and the scheduled set of queued jobs

    Every queued job waits in exactly one of two places. A job that may
    run now is in the ready queue: per workflow, one FIFO list per
    priority, linked through the jobs themselves (job->next, job->prev),
    so enqueue, dequeue and removal are O(1) and finding the best job for
    a worker that serves k workflows is O(4k). Within one priority, jobs
    of different workflows are served in enqueue order (job->seq, from one
    counter). A job whose run_at is still ahead is in the scheduled set,
    a min-heap by (run_at, order scheduled), until promote moves it to the
    back of its ready list.

    The queue knows nothing of statuses beyond "queued" and nothing of the
    store: the manager (zjob_manager.c) decides when a job enters or
    leaves, and calls in only once the store has accepted the change. The
    queue holds one reference per job it keeps.
    ========================================================================= */

#ifndef ZJOB_QUEUE_H_INCLUDED
#define ZJOB_QUEUE_H_INCLUDED

#include "zjob_job.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zjob_queue_t zjob_queue_t;

//  A new, empty queue. NULL if out of memory.
zjob_queue_t *
zjob_queue_new (void);

//  Destroy the queue, dropping its references. Accepts NULL.
void
zjob_queue_destroy (zjob_queue_t **self_p);

//  Append job (status queued) to the back of its ready list with a new
//  sequence number. Takes a reference. 0, or -1 if out of memory.
int
zjob_queue_append (zjob_queue_t *self, zjob_job_t *job);

//  Put job back in its ready list under the sequence number it has (a
//  requeue: ahead of every job enqueued after it). Takes a reference.
//  0, or -1 if out of memory.
int
zjob_queue_requeue (zjob_queue_t *self, zjob_job_t *job);

//  Put job into the scheduled set if its run_at is after now_ms (room
//  must have been reserved), else append it to its ready list. Takes a
//  reference. 0, or -1 if out of memory.
int
zjob_queue_enqueue (zjob_queue_t *self, zjob_job_t *job, int64_t now_ms);

//  Make room in the scheduled set for count more jobs, so that an
//  enqueue the store has accepted cannot fail. 0, or -1 if out of memory.
int
zjob_queue_reserve (zjob_queue_t *self, size_t count);

//  Take job, still queued, out of the ready list or the scheduled set it
//  waits in (call before its status changes). The caller holds its own
//  reference.
void
zjob_queue_remove (zjob_queue_t *self, zjob_job_t *job);

//  True if job, queued, waits in the scheduled set for its run_at (it is
//  in no ready list). A job requeued after a lost worker is ready however
//  far ahead its run_at is.
bool
zjob_queue_waiting (zjob_queue_t *self, const zjob_job_t *job);

//  Move job, waiting in the scheduled set, to the back of its ready list
//  with a new sequence number, as if it were due now (RUN_NOW); its heap
//  entry goes stale. Returns 0, or -1 if out of memory (it still waits).
int
zjob_queue_hurry (zjob_queue_t *self, zjob_job_t *job);

//  The best ready job among workflows (count names; count 0 or NULL =
//  any): the highest priority, then the smallest sequence number.
//  Borrowed; NULL if none.
zjob_job_t *
zjob_queue_best (zjob_queue_t *self, const char *const *workflows, size_t count);

//  May the ready jobs of workflow be taken now? Asked once per workflow
//  with ready jobs that a take considers; must be O(1).
typedef bool (zjob_queue_gate_fn) (const char *workflow, void *arg);

//  As zjob_queue_best, among the workflows gate allows (gate NULL: all).
zjob_job_t *
zjob_queue_best_if (zjob_queue_t *self, const char *const *workflows, size_t count,
                    zjob_queue_gate_fn *gate, void *arg);

//  Jobs in workflow's ready lists (0 if none): O(1).
size_t
zjob_queue_ready_in (zjob_queue_t *self, const char *workflow);

//  Hears one workflow's ready lists: how many jobs, and when the oldest
//  of their heads became ready (ms UTC: its enqueue, or its run_at if
//  later). workflow is borrowed for the call; fn must not change the queue.
typedef void (zjob_queue_ready_fn) (const char *workflow, size_t ready, int64_t oldest_ms,
                                    void *arg);

//  Call fn once per workflow with ready jobs: O(workflows x priorities),
//  no job walked.
void
zjob_queue_each_ready (zjob_queue_t *self, zjob_queue_ready_fn *fn, void *arg);

//  run_at of the earliest scheduled job, or 0 if none. O(log n) amortized.
int64_t
zjob_queue_next_due (zjob_queue_t *self);

//  Move every scheduled job whose run_at is at or before now_ms to the
//  back of its ready list, earliest first, each with a new sequence
//  number. Returns how many.
int
zjob_queue_promote (zjob_queue_t *self, int64_t now_ms);

//  Jobs in the ready lists; jobs in the scheduled set; the last sequence
//  number issued.
size_t
zjob_queue_ready (zjob_queue_t *self);
size_t
zjob_queue_scheduled (zjob_queue_t *self);
//  Scheduled jobs that were handed out before (attempts > 0): retries
//  waiting for their backoff (or delayed jobs re-run by hand)
size_t
zjob_queue_retrying (zjob_queue_t *self);
uint64_t
zjob_queue_seq (zjob_queue_t *self);

#ifdef __cplusplus
}
#endif

#endif
