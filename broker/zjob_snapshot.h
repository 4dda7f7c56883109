/*  =========================================================================
    zjob_snapshot - a job's changing fields, kept to undo a refused change

    The manager changes a job in place, then puts it to the store. If the
    store refuses, the job must be exactly as it was: so before a change
    the manager copies every field an operation may touch (status, held,
    attempts, progress, the times, run_at, and copies of the strings and outputs)
    and, on a refusal, writes them back. A snapshot is a value on the
    caller's stack: its fields are visible so that it needs no allocation
    of its own, but only these three functions read or write them.
    ========================================================================= */

#ifndef ZJOB_SNAPSHOT_H_INCLUDED
#define ZJOB_SNAPSHOT_H_INCLUDED

#include "zjob_job.h"

#ifdef __cplusplus
extern "C" {
#endif

//  A job's changing fields, copied before a change so that a failed put
//  can be undone
typedef struct {
    uint8_t status;      //  Status before the change
    uint8_t held;        //  Held flag before the change
    uint32_t attempts;   //  Dispatch count
    float progress;      //  0.0 .. 1.0
    int64_t updated_at;  //  The times, as they were
    int64_t queued_at;
    int64_t started_at;
    int64_t completed_at;
    int64_t execution_ms;
    int64_t queued_ms;
    int64_t run_at;           //  A retry sets it; a re-run and RUN_NOW clear it
    uint32_t result_attempt;  //  A re-run clears it
    char *progress_message;   //  Copies, NULL if unset
    char *error_kind;
    char *error_message;
    char *worker_id;
    uint8_t *outputs;  //  Copy of the encoded outputs
    size_t outputs_size;
} zjob_snapshot_t;


//  Copy job's changing fields into snap. Returns 0, or -1 if out of memory
//  (snap must still be freed).
int
zjob_snapshot_take (zjob_snapshot_t *snap, const zjob_job_t *job);

//  Free the copies snap holds and zero it. Safe on a zeroed snapshot.
void
zjob_snapshot_free (zjob_snapshot_t *snap);

//  Put every field snap holds back into job.
void
zjob_snapshot_restore (const zjob_snapshot_t *snap, zjob_job_t *job);

#ifdef __cplusplus
}
#endif

#endif
