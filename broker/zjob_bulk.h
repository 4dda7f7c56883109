/*  =========================================================================
    zjob_bulk - the user's operations on many jobs, in bounded steps

    A bulk operation (PROTOCOL.md 9.5) names its jobs by a list of ids or
    by a filter. By filter it may touch every job of the store: a CANCEL
    of a million queued jobs takes seconds, and the broker's loop must not
    stop that long. So a bulk operation is a walk (zjob_bulk_walk_t) that
    the owner advances one bounded step at a time: a step by filter
    examines at most max jobs of the store in id order from a cursor
    (zjob_store_walk), and applies the operation to the matching jobs it
    visited for which it is legal; a step by ids applies it to at most max
    ids of the list. The counts, the first errors and (dry runs) the ids
    done accumulate in the walk across steps.

    Why the walk is right although the operation changes what the filter
    matches: the store walk visits each job once, by id, from a cursor
    that survives removals, so a job already passed is not visited again
    even if the change makes it match again (a RETRY of a cancelled job
    that is later cancelled by someone else is not retried twice), and a
    job created after the walk began may be visited or not. Between steps
    the owner serves others: a job may change; each is judged when its
    step visits it.

    zjob_manager_apply_bulk and zjob_manager_apply_bulk_with (the one-call
    forms, declared in zjob_manager.h) are built on these calls: they loop
    the steps in one go.
    ========================================================================= */

#ifndef ZJOB_BULK_H_INCLUDED
#define ZJOB_BULK_H_INCLUDED

#include "zjob_manager.h"

#ifdef __cplusplus
extern "C" {
#endif

//  jobs a bulk step by filter examines at most (bench_core --only loop:
//  a worst step of ~2 ms for a CANCEL or a DELETE at 1M jobs, all matching)
#define ZJOB_BULK_STEP 2000

typedef struct _zjob_bulk_walk_t zjob_bulk_walk_t;

//  Begin what on count ids (copied), or (ids NULL) on every job filter
//  matches (copied; it must have a criterion: the caller checks) for
//  which the operation is legal; nothing is applied yet. opts (NULL: the
//  defaults) is copied; its done_ids buffer and veto_arg are borrowed and
//  must outlive the walk. RUN_NOW by filter first promotes the due jobs
//  (they join the ready queue: only the others wait). Returns the walk,
//  or NULL with err filled (no ids and no filter, out of memory).
zjob_bulk_walk_t *
zjob_manager_bulk_new (zjob_manager_t *manager, zjob_apply_t what, const char *const *ids,
                       size_t count, const zjob_filter_t *filter, const zjob_apply_opts_t *opts,
                       zjob_error_t *err);

//  Destroy the walk. Accepts NULL; sets *self_p to NULL.
void
zjob_bulk_walk_destroy (zjob_bulk_walk_t **self_p);

//  One step: examine at most max jobs (max ids of a list), and apply the
//  operation to those that qualify. Returns 1 when the walk is done, 0
//  when it goes on, -1 with err filled if memory ran out (the walk is
//  then over; what earlier steps did stays done). A job the operation
//  fails on is counted in the outcome, not an error of the step.
int
zjob_manager_bulk_step (zjob_manager_t *manager, zjob_bulk_walk_t *self, size_t max,
                        zjob_error_t *err);

//  Confine the walk to user's jobs (copied; NULL: anyone's), before its
//  first step: by ids, another user's job fails as an unknown id would
//  (404, the same text); by filter, another user's job is not visited
//  (the caller also forces user into the filter: zjob_roles_filter).
//  0, or -1 if out of memory.
int
zjob_bulk_walk_set_owner (zjob_bulk_walk_t *self, const char *user);

//  The outcome so far (borrowed): counts, and the first errors.
const zjob_bulk_t *
zjob_bulk_walk_outcome (zjob_bulk_walk_t *self);

//  Jobs examined (ids, or jobs of the store walked, matching or not) by
//  the last step; for tests and the bench.
size_t
zjob_bulk_walk_examined (zjob_bulk_walk_t *self);

//  True if the walk applies nothing (a dry run).
bool
zjob_bulk_walk_dry (zjob_bulk_walk_t *self);

#ifdef __cplusplus
}
#endif

#endif
