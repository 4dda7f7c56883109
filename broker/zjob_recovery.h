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

//  Hears each stored job once, as found (before any rewrite), for the
//  owner's own indexes. Returns 0, or -1 to stop recovery (out of memory).
typedef int (zjob_recovery_fn) (zjob_job_t *job, void *arg);

//  Rebuild tally and queue (both empty) from store, calling visit for
//  every job. Jobs a worker held when the process stopped are released:
//  running ones become queued ahead of the jobs that were waiting, held
//  paused ones stay paused; queued jobs whose run_at is ahead are
//  scheduled again. Returns 0, or -1 with err filled if a rewrite fails
//  or memory runs out.
int
    zjob_recovery_run (zjob_store_t *store, zjob_tally_t *tally, zjob_queue_t *queue,
                       zjob_recovery_fn *visit, void *arg, zjob_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
