/*  =========================================================================
    zjob_recovery - rebuilding the manager's memory from the store

    Called once, by zjob_manager_new, over a store that may hold jobs from
    an earlier run: see zjob_recovery.c for what becomes of each status.
    ========================================================================= */

#ifndef ZJOB_RECOVERY_H_INCLUDED
#define ZJOB_RECOVERY_H_INCLUDED

#include "zjob_store.h"
#include "zjob_queue.h"
#include "zjob_tally.h"

#ifdef __cplusplus
extern "C" {
#endif

//  What recovery asks of its owner
typedef struct {
    //  Hears each stored job once, as found (before any rewrite), for the
    //  owner's own indexes. Returns 0, or -1 to stop recovery (out of memory).
    int (*visit) (zjob_job_t *job, void *arg);
    //  Lets go of job, which a worker held when the process stopped (running,
    //  or paused while held), at now (ms UTC): the owner ends its attempt
    //  and, for a running job, makes it queued (it stamps the times, the
    //  one place that does). Recovery then puts it. 0, or -1 (out of memory).
    int (*release) (zjob_job_t *job, int64_t now, void *arg);
    void *arg;  //  Passed to both
} zjob_recovery_hooks_t;

//  Rebuild tally and queue (both empty) from store, calling hooks->visit
//  for every job and hooks->release for every job a worker held. Jobs a worker held when the process stopped are released:
//  running ones become queued ahead of the jobs that were waiting, held
//  paused ones stay paused; queued jobs whose run_at is ahead are
//  scheduled again. Returns 0, or -1 with err filled if a rewrite fails
//  or memory runs out.
int
zjob_recovery_run (zjob_store_t *store, zjob_tally_t *tally, zjob_queue_t *queue,
                   const zjob_recovery_hooks_t *hooks, zjob_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
