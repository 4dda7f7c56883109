/*  =========================================================================
    zjob_times - a job's times: the one place they are computed

    PROTOCOL.md 12 defines them: started_at the current attempt's start,
    queued_at when the job last entered queued, completed_at when it became
    terminal, execution_ms every attempt's wall-clock time, counted when
    the attempt ends, and queued_ms the time spent ready and waiting for a
    worker. The manager calls zjob_times_stamp in its commit, on every
    status change, and zjob_times_release at recovery for the jobs a
    worker held; nothing else writes them.

    A requeue of a held job (its worker presumed lost, or the broker
    restarted while it ran) ends the attempt for the count, but it is
    provisional: the worker may still run the job, and take it back or
    send its result. The manager keeps a zjob_requeue_t per such job (in
    memory): the queued_at the requeue replaced and the time it counted;
    the adoption or result then undoes the requeue, and the attempt is
    counted whole when it ends, the time the broker was down included.
    The records are in memory only: should the broker restart a second
    time before the worker comes back, the record is gone, and an
    adoption then keeps the later queued_at and counts the time up to the
    first restart twice. The reclaim window (dispatch waits one liveness
    period after a start for workers to take their jobs back) keeps that
    rare.
    ========================================================================= */

#include "zjob_times.h"
#include "zjob_job_impl.h"

int64_t
zjob_times_elapsed (int64_t since, int64_t until)
{
    return since > 0 && until > since ? until - since : 0;
}

int64_t
zjob_times_stamp (zjob_job_t *job, zjob_op_t op, int to, bool adopt,
                  const zjob_requeue_t *prov, const zjob_snapshot_t *snap, int64_t now)
{
    assert (job && snap);
    int from = snap->status;
    bool leaves_queue = from == ZJOB_QUEUED && to != ZJOB_QUEUED;
    //  An adoption, or the result of the attempt a requeue gave up on: the
    //  attempt went on all along, so the requeue is undone
    bool resumed = leaves_queue && prov
        && (adopt || op == ZJOB_OP_COMPLETE || op == ZJOB_OP_FAIL);
    if (resumed) {
        job->queued_at = prov->queued_at;
        job->execution_ms = job->execution_ms > prov->counted ? job->execution_ms - prov->counted
                                                              : 0;
    }
    else if (leaves_queue && !adopt)
        //  Waiting for a worker, not for run_at
        job->queued_ms += zjob_times_elapsed (job->run_at > job->queued_at ? job->run_at : job->queued_at,
                                              now);
    if (to == ZJOB_QUEUED) {
        job->queued_at = now;
        job->held = 0;
    }
    else if (to == ZJOB_RUNNING && from == ZJOB_QUEUED) {
        if (!adopt) {
            job->attempts++;  //  A new attempt
            job->started_at = now;
        }
        job->held = 1;
    }
    else if (to == ZJOB_PAUSED && op == ZJOB_OP_REQUEUE)
        job->held = 0;
    else if (zjob_status_terminal ((zjob_status_t) to)) {
        job->completed_at = now;
        job->held = 0;
    }
    //  An attempt ends when no worker holds the job any more: a result, a
    //  cancel, a lost worker; or with the result of one a requeue gave up on
    int64_t ran = 0;
    if ((snap->held && !job->held) || (resumed && zjob_status_terminal ((zjob_status_t) to))) {
        ran = zjob_times_elapsed (job->started_at, now);
        job->execution_ms += ran;
    }
    return ran;
}


int64_t
zjob_times_give_back (zjob_job_t *job, int64_t ran, const zjob_snapshot_t *snap)
{
    assert (job && snap);
    job->execution_ms = job->execution_ms > ran ? job->execution_ms - ran : 0;
    if (snap->attempts)
        job->attempts = snap->attempts - 1;
    if (job->attempts == 0)
        job->started_at = 0;
    return 0;
}


bool
zjob_times_release (zjob_job_t *job, int64_t now, zjob_requeue_t *prov)
{
    assert (job && prov);
    int64_t ran = zjob_times_elapsed (job->started_at, now);
    job->execution_ms += ran;
    bool running = job->status == ZJOB_RUNNING;
    if (running) {
        prov->queued_at = job->queued_at;
        prov->counted = ran;
        job->status = ZJOB_QUEUED;
        job->queued_at = now;
    }
    job->held = 0;
    job->updated_at = now;
    return running;
}
