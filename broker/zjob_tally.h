/*  =========================================================================
    zjob_tally - stored jobs counted per status, in all and per workflow

    STATS reports how many jobs are in each status, overall and for each
    workflow; walking the store for that would cost O(jobs) per request.
    The tally keeps both counts up to date as the manager moves jobs from
    one status to another (zjob_tally_move), so reading them costs O(1)
    and O(workflows). A workflow has an entry while it has at least one
    stored job. A new job's entry can be made before its store put
    (zjob_tally_require), so that running out of memory refuses the create
    instead of leaving an accepted job uncounted.

    The same moves keep the broker's limits' figures (zjob_manager.h,
    --max-queued and --max-queued-bytes): the jobs not yet run and not
    finished (created, waiting, queued, paused: zjob_tally_unrun) and the
    bytes of their inputs. A job's inputs are fixed at its creation, so a
    job adds its size on its way into one of those statuses and takes the
    same size away on its way out, whichever path moves it.
    ========================================================================= */

#ifndef ZJOB_TALLY_H_INCLUDED
#define ZJOB_TALLY_H_INCLUDED

#include "zjob_job.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zjob_tally_t zjob_tally_t;

//  Hears one workflow's counts (indexed by zjob_status_t); both borrowed
//  for the call.
typedef void (zjob_tally_fn) (const char *workflow_id,
                              const size_t counts [ZJOB_STATUS_COUNT], void *arg);

//  A new tally with every count 0. NULL if out of memory.
zjob_tally_t *
zjob_tally_new (void);

//  Destroy the tally. Accepts NULL.
void
zjob_tally_destroy (zjob_tally_t **self_p);

//  Make sure workflow has an entry (empty if new). 0, or -1 if out of memory.
int
zjob_tally_require (zjob_tally_t *self, const char *workflow);

//  Drop workflow's entry if it counts no job (a create the store refused).
void
zjob_tally_trim (zjob_tally_t *self, const char *workflow);

//  Move one of job's counts from status from to status to (-1: none: a
//  job that is new, or deleted), in the totals and in its workflow's.
void
zjob_tally_move (zjob_tally_t *self, const zjob_job_t *job, int from, int to);

//  Copy the totals per status into counts.
void
zjob_tally_counts (zjob_tally_t *self, size_t counts [ZJOB_STATUS_COUNT]);

//  True if status counts toward the limits: created, waiting, queued,
//  paused (a job not yet run, or not finished and not running).
bool
zjob_tally_unrun_status (int status);

//  The jobs in those statuses, and the bytes of their inputs; O(1).
//  bytes_p may be NULL.
size_t
zjob_tally_unrun (zjob_tally_t *self, uint64_t *bytes_p);

//  Workflows with at least one job.
size_t
zjob_tally_workflows (zjob_tally_t *self);

//  Jobs of workflow in status (0 if it has none); one hash lookup, for
//  the per-workflow limits of dispatch (zjob_queues.h).
size_t
zjob_tally_count (zjob_tally_t *self, const char *workflow, zjob_status_t status);

//  Call fn once per workflow with a job, in no set order. Returns how many.
int
zjob_tally_each (zjob_tally_t *self, zjob_tally_fn *fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif
