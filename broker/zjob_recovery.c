/*  =========================================================================
    zjob_recovery - rebuilding the manager's memory from the store

    The store keeps the jobs; the manager keeps, in memory only, what is
    derived from them: the status counts, the ready queue and scheduled
    set, and its indexes. At start recovery walks the store once to
    rebuild them. Queued jobs re-enter in their (priority, queued_at, id)
    order, a job that waited for its run_at counting from its run_at. Jobs
    that were running when the process stopped go back to queued, ahead
    of the jobs of their priority that were waiting (as a requeue puts
    them), since no worker holds them any more (at-least-once); attempts
    counts dispatches, so the interrupted attempt is already counted and
    attempts is not raised again. Jobs paused while held stay paused, no
    longer held. Queued jobs whose run_at is still ahead go back to the
    scheduled set; the running jobs put back ignore run_at (they were due
    once already). Every rewrite goes through the store before the queue
    sees it.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_recovery.h"
#include "zjob_job_impl.h"

//  Jobs a scan of recovery goes through between two calls of
//  zjob_store_renew (which writes only when a third of a lease passed)
#define ZJOB_RECOVERY_RENEW_EVERY 16384

//  A job recovery puts back in the queue, and its place in line
typedef struct {
    zjob_job_t *job;    //  A reference
    int requeued;       //  1 if it was held: it goes first
    int64_t queued_at;  //  When it was last enqueued
} s_recovered_t;

typedef struct {
    zjob_store_t *store;                 //  Renewed as the scan goes (a lease)
    size_t visited;                      //  Jobs seen so far
    zjob_error_t renew_error;            //  Why a renewal failed
    zjob_tally_t *tally;                 //  Counting statuses into
    const zjob_recovery_hooks_t *hooks;  //  Hears every stored job
    zjob_job_t **fix;                    //  Jobs to rewrite (held ones)
    size_t fix_count;
    size_t fix_max;
    int failed;  //  Out of memory
} s_scan_t;

static int
s_recovery_visit (zjob_job_t *job, void *arg)
{
    s_scan_t *scan = (s_scan_t *) arg;
    if (++scan->visited % ZJOB_RECOVERY_RENEW_EVERY == 0
        && zjob_store_renew (scan->store, &scan->renew_error)) {
        scan->failed = 2;
        return -1;
    }
    if (zjob_tally_require (scan->tally, job->workflow_id)
        || scan->hooks->visit (job, scan->hooks->arg)) {
        scan->failed = 1;
        return -1;
    }
    zjob_tally_move (scan->tally, job, -1, job->status);
    //  Running jobs, held paused ones, and anything queued: the first two
    //  need rewriting, all of them go into the queue or lose their worker
    if (job->status == ZJOB_RUNNING || job->status == ZJOB_QUEUED || job->held) {
        if (scan->fix_count == scan->fix_max) {
            size_t max = scan->fix_max ? scan->fix_max * 2 : 256;
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
        return x->queued_at < y->queued_at ? -1 : 1;
    return strcmp (x->job->id, y->job->id);
}

int
zjob_recovery_run (zjob_store_t *store, zjob_tally_t *tally, zjob_queue_t *queue,
                   const zjob_recovery_hooks_t *hooks, zjob_error_t *err)
{
    assert (store && tally && queue && hooks && hooks->visit && hooks->release);
    s_scan_t scan = { store, 0, { 0, "" }, tally, hooks, NULL, 0, 0, 0 };
    zjob_store_iterate (store, NULL, s_recovery_visit, &scan);
    int rc = 0;
    s_recovered_t *line = NULL;
    if (scan.failed == 2) {
        if (err)
            *err = scan.renew_error;
        rc = -1;
    }
    else if (scan.failed)
        rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory recovering the queue");
    else if (scan.fix_count) {
        line = (s_recovered_t *) calloc (scan.fix_count, sizeof (s_recovered_t));
        if (!line)
            rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory recovering the queue");
    }
    size_t queued = 0;
    size_t timers = 0;  //  Queued jobs whose run_at is ahead
    int64_t now = zjob_clock_ms ();
    for (size_t index = 0; rc == 0 && index < scan.fix_count; index++) {
        if (index % ZJOB_RECOVERY_RENEW_EVERY == ZJOB_RECOVERY_RENEW_EVERY - 1
            && zjob_store_renew (store, err)) {
            rc = -1;
            break;
        }
        zjob_job_t *job = scan.fix [index];
        int64_t queued_at = job->queued_at;
        int from = job->status;
        if (from == ZJOB_RUNNING || job->held) {
            //  No worker holds it now: the owner lets it go (a running job
            //  becomes queued, its times stamped). attempts counts
            //  dispatches, so the interrupted attempt is already counted.
            if (hooks->release (job, now, hooks->arg)) {
                rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory recovering job %s",
                                     job->id);
                break;
            }
            if (zjob_store_put (store, job, err)) {
                rc = -1;
                break;
            }
            zjob_tally_move (tally, job, from, job->status);
        }
        if (job->status == ZJOB_QUEUED) {
            line [queued].job = job;
            line [queued].requeued = from == ZJOB_RUNNING;
            //  A job that waited for its run_at joined the line when due
            line [queued].queued_at = from == ZJOB_QUEUED && job->run_at > queued_at
                ? job->run_at
                : queued_at;
            if (from == ZJOB_QUEUED && job->run_at > now)
                timers++;
            queued++;
        }
    }
    if (rc == 0 && timers && zjob_queue_reserve (queue, timers))
        rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory recovering the schedule");
    if (rc == 0 && queued) {
        qsort (line, queued, sizeof (s_recovered_t), s_recovered_compare);
        if (zjob_store_renew (store, err)) {
            rc = -1;  //  Fenced or cut off: nothing to queue
            queued = 0;
        }
        for (size_t index = 0; index < queued; index++) {
            zjob_job_t *job = line [index].job;
            job->next = job->prev = NULL;
            //  Running jobs put back ignore run_at: they were due already
            if (zjob_queue_enqueue (queue, job, line [index].requeued ? INT64_MAX : now)) {
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
