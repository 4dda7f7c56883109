/*  =========================================================================
    zjob_manager_rerun - the user's RETRY (a re-run) and RUN_NOW

    Two operations of PROTOCOL.md 9.5 that put work back in front of the
    workers. RETRY takes a failed or cancelled job back to queued (the
    transition table's ZJOB_OP_RERUN) through the manager's one path,
    with an edit that makes the job a fresh run: ready at once, attempts
    kept or reset, the last error, outputs, progress and completion
    cleared, and the history of attempt errors kept, since that history
    is the record an operator re-runs a job from. RUN_NOW is not a
    transition: a queued job waiting in the scheduled set for its run_at
    gets run_at 0, stored, and joins its ready list as a due job does.
    zjob_manager_allows is the one rule of what each operation applies
    to, which the operations, their dry runs and the filter form of bulk
    operations (zjob_manager_rules.c) all ask.
    ========================================================================= */

#include <string.h>
#include "zjob_manager.h"
#include "zjob_log.h"
#include "zjob_queue.h"

static const zjob_op_t s_ops [] = {
    [ZJOB_APPLY_START] = ZJOB_OP_START,
    [ZJOB_APPLY_PAUSE] = ZJOB_OP_PAUSE,
    [ZJOB_APPLY_RESUME] = ZJOB_OP_RESUME,
    [ZJOB_APPLY_CANCEL] = ZJOB_OP_CANCEL,
    [ZJOB_APPLY_RETRY] = ZJOB_OP_RERUN,
};

//  "job is running; cannot pause" becomes "job 0J... is running; cannot pause"
static void
s_name_job (zjob_error_t *err, const zjob_job_t *job)
{
    if (err && strncmp (err->text, "job ", 4) == 0) {
        char cause [ZJOB_ERROR_TEXT_MAX];
        snprintf (cause, sizeof (cause), "%s", err->text + 4);
        zjob_error_set (err, err->code, "job %s %s", job->id, cause);
    }
}

bool
zjob_manager_allows (zjob_manager_t *self, zjob_apply_t what, const zjob_job_t *job,
                     zjob_error_t *err)
{
    assert (self && job);
    if (what == ZJOB_APPLY_DELETE)
        return true;
    if (what == ZJOB_APPLY_RUN_NOW) {
        if (job->status != ZJOB_QUEUED) {
            zjob_error_set (err, ZJOB_CONFLICT, "job %s is %s; cannot run now", job->id,
                            zjob_status_name ((zjob_status_t) job->status));
            return false;
        }
        //  A due job still in the scheduled set counts as due: the next
        //  promotion (every loop pass, and every take) moves it
        if (!zjob_queue_waiting (zjob_manager_queue (self), job)
            || job->run_at <= zjob_clock_ms ()) {
            zjob_error_set (err, ZJOB_CONFLICT, "job %s is queued and due already; it runs "
                                                "when a worker is free",
                            job->id);
            return false;
        }
        return true;
    }
    if ((unsigned) what >= sizeof (s_ops) / sizeof (s_ops [0])) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "not a job operation");
        return false;
    }
    if (zjob_transition ((zjob_status_t) job->status, s_ops [what], job->held, err) < 0) {
        s_name_job (err, job);
        return false;
    }
    return true;
}


//  --------------------------------------------------------------------------
//  RETRY: a fresh run of a failed or cancelled job

//  Made under the manager's snapshot, so a refused put undoes all of it
static int
s_rerun_edit (zjob_job_t *job, void *arg, zjob_error_t *err)
{
    bool reset_attempts = *(const bool *) arg;
    job->run_at = 0;  //  Ready at once, whatever it was created with
    if (reset_attempts)
        job->attempts = 0;
    job->completed_at = 0;
    job->result_attempt = 0;
    if (zjob_job_set_outputs (job, NULL, 0, err)
        || zjob_job_set_progress (job, 0.0f, NULL, err))
        return -1;
    if (zjob_job_set_error (job, NULL, NULL) || zjob_job_set_worker (job, NULL))
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    return 0;
}

int
zjob_manager_retry (zjob_manager_t *self, const char *id, bool reset_attempts,
                    zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = zjob_manager_get (self, id, err);
    if (!job)
        return -1;
    int rc = zjob_manager_change (self, job, ZJOB_OP_RERUN, s_rerun_edit, &reset_attempts,
                                  err);
    zjob_job_destroy (&job);
    return rc;
}


//  --------------------------------------------------------------------------
//  RUN_NOW: a waiting job made due

int
zjob_manager_run_now (zjob_manager_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    zjob_job_t *job = zjob_manager_get (self, id, err);
    if (!job)
        return -1;
    //  Jobs that are due join the ready queue first, so that only a job
    //  still waiting for its time is found waiting
    zjob_queue_t *queue = zjob_manager_queue (self);
    zjob_queue_promote (queue, zjob_clock_ms ());
    int rc = zjob_manager_allows (self, ZJOB_APPLY_RUN_NOW, job, err) ? 0 : -1;
    if (rc == 0) {
        int64_t run_at = job->run_at, updated_at = job->updated_at;
        job->run_at = 0;
        job->updated_at = zjob_clock_ms ();
        if (zjob_store_put (zjob_manager_store (self), job, err)) {
            job->run_at = run_at;
            job->updated_at = updated_at;
            rc = -1;
        }
        else if (zjob_queue_hurry (queue, job))
            //  Stored all the same: it is promoted at its old time
            zjob_log_error ("zjob_manager: out of memory making job %s ready", job->id);
    }
    zjob_job_destroy (&job);
    return rc;
}
