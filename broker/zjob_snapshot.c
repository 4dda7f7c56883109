/*  =========================================================================
    zjob_snapshot - a job's changing fields, kept to undo a refused change

    Restoring goes through the job's setters for the strings and outputs
    (they own the memory), and only writes a string back when it differs,
    so that an undo allocates nothing in the common case.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_snapshot.h"
#include "zjob_job_impl.h"

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

int
zjob_snapshot_take (zjob_snapshot_t *snap, const zjob_job_t *job)
{
    memset (snap, 0, sizeof (*snap));
    snap->status = job->status;
    snap->held = job->held;
    snap->attempts = job->attempts;
    snap->run_at = job->run_at;
    snap->result_attempt = job->result_attempt;
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
        || (job->error_kind && !snap->error_kind)
        || (job->error_message && !snap->error_message)
        || (job->worker_id && !snap->worker_id)
        || (job->outputs.size && !snap->outputs))
        return -1;
    return 0;
}

void
zjob_snapshot_free (zjob_snapshot_t *snap)
{
    free (snap->progress_message);
    free (snap->error_kind);
    free (snap->error_message);
    free (snap->worker_id);
    free (snap->outputs);
    memset (snap, 0, sizeof (*snap));
}

//  The setters stamp updated_at, so the scalars are restored after them
void
zjob_snapshot_restore (const zjob_snapshot_t *snap, zjob_job_t *job)
{
    if (!s_streq (job->worker_id, snap->worker_id))
        zjob_job_set_worker (job, snap->worker_id);
    if (!s_streq (job->error_kind, snap->error_kind)
        || !s_streq (job->error_message, snap->error_message))
        zjob_job_set_error (job, snap->error_kind, snap->error_message);
    if (!s_streq (job->progress_message, snap->progress_message))
        zjob_job_set_progress (job, snap->progress, snap->progress_message, NULL);
    if (job->outputs.size != snap->outputs_size
        || (snap->outputs_size && memcmp (job->outputs.data, snap->outputs, snap->outputs_size)))
        zjob_job_set_outputs (job, snap->outputs, snap->outputs_size, NULL);
    job->status = snap->status;
    job->held = snap->held;
    job->attempts = snap->attempts;
    job->run_at = snap->run_at;
    job->result_attempt = snap->result_attempt;
    job->progress = snap->progress;
    job->updated_at = snap->updated_at;
    job->queued_at = snap->queued_at;
    job->started_at = snap->started_at;
    job->completed_at = snap->completed_at;
    job->execution_ms = snap->execution_ms;
    job->queued_ms = snap->queued_ms;
}
