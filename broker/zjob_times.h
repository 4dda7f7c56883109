/*  =========================================================================
    zjob_times - a job's times: the one place they are computed

    See PROTOCOL.md section 12 for what each time means, and zjob_times.c
    for how a provisional requeue is undone.
    ========================================================================= */

#ifndef ZJOB_TIMES_H_INCLUDED
#define ZJOB_TIMES_H_INCLUDED

#include "zjob_job_impl.h"
#include "zjob_snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

//  A job put back in the queue without its worker's word (the worker was
//  presumed lost, or the broker restarted): what its adoption, or the
//  late result of that attempt, undoes
typedef struct {
    int64_t queued_at;  //  queued_at before the requeue
    int64_t counted;    //  execution_ms the requeue added
} zjob_requeue_t;

//  The milliseconds from since to until; 0 if since is unset (0) or the
//  clock went back.
int64_t
zjob_times_elapsed (int64_t since, int64_t until);

//  Stamp the times of job, which moves from snap's status to status to by
//  op at now (ms UTC), before the manager puts it. adopt: a dispatch that
//  continues the last attempt (no new attempt, started_at kept). prov: the
//  provisional requeue the job is under, or NULL. Also sets job->held and
//  attempts. Returns the execution time an attempt ending here added (a
//  requeue records it in its zjob_requeue_t).
int64_t
zjob_times_stamp (zjob_job_t *job, zjob_op_t op, int to, bool adopt,
                  const zjob_requeue_t *prov, const zjob_snapshot_t *snap, int64_t now);

//  After zjob_times_stamp of a requeue of a job its worker gives back
//  unstarted (READY's release): the dispatch never became an attempt, so
//  its count is taken back (attempts one less, started_at 0 if none is
//  left) and ran, the time stamp counted, is not execution. Returns 0,
//  the execution time that the requeue now counts.
int64_t
zjob_times_give_back (zjob_job_t *job, int64_t ran, const zjob_snapshot_t *snap);

//  Recovery: no worker holds job (running, or paused while held) any
//  more at now. Its attempt ends; a running job becomes queued, and
//  prov is filled with what an adoption would undo. Returns true if the
//  job was requeued (prov filled), false if it stays paused.
bool
zjob_times_release (zjob_job_t *job, int64_t now, zjob_requeue_t *prov);

#ifdef __cplusplus
}
#endif

#endif
