/*  =========================================================================
    zjob_deps - job dependencies: waiting children, their release, graphs

    A job may name up to ZJOB_PARENTS_MAX parents (spec depends_on). It
    is queued only once every parent has completed; until then it is
    waiting (ZJOB_WAITING). A parent that fails for good, is cancelled or
    is deleted before it completed settles its children by their
    on_parent_failure: fail (FAIL from waiting, error kind
    dependency_failed, the message naming the parent), cancel, or run
    (the parent counts as settled, its outputs nil).

    Children index. A hash maps a parent id to the children (references)
    that were waiting for it, or created, when it was not settled: a
    parent that settles looks up its own list, nothing scans the waiting
    jobs. Entries are hints, never counts: each is checked again when its
    parent settles (the child must still be the stored job, and waiting),
    and a child's pending parents are counted afresh from its parents'
    statuses (O(its parents)). So an entry left behind by a child that was
    cancelled, deleted or re-run costs a check, never a wrong release, and
    a duplicate is harmless. An entry holds a reference: a child deleted
    while its parent runs is freed when the parent settles.

    Settling FIFO. A parent that settles (the manager's hook after every
    change, and after a deletion) is appended to a FIFO; the broker steps
    it every pass (zjob_manager_deps_step, ZJOB_DEPS_STEP children at
    most), so a parent with 100,000 children takes 50 passes, not one
    long one, and the broker does not sleep while the FIFO holds work. A
    child failed or cancelled by the rule is itself a settled parent, so
    cascades go through the same FIFO. A parent re-run before its turn
    keeps its list. A child whose pending parents reach 0 gets
    parent_outputs (a msgpack map {parent id: outputs map, or nil}, built
    from the parents as they are stored) and goes queued by
    ZJOB_OP_RELEASE, through the manager's one path.

    Creation (zjob_deps_create, SUBMIT's step 3-4): depends_on positions
    are resolved into ids, the jobs of one SUBMIT are created in
    topological order (Kahn's algorithm; the OK's ids stay in spec order),
    a cycle is refused with 400 naming a job on it, an unknown parent with
    404 naming the spec and the id. A parent already completed counts as
    settled; one already failed or cancelled applies on_parent_failure at
    once. START, RESUME and RERUN of a job whose parents are not all
    completed lead to waiting (zjob_deps_route).

    Durability. Nothing of this module is stored: pending parents are
    counted from the parents' statuses, so recovery (zjob_deps_recovered,
    for each stored job) rebuilds the index and queues on the FIFO every
    waiting job whose parents all settled while the broker was down.

    The module is one of the manager's own files: it changes jobs through
    the manager's one path (zjob_manager_impl.h).
    ========================================================================= */

#ifndef ZJOB_DEPS_H_INCLUDED
#define ZJOB_DEPS_H_INCLUDED

#include "zjob_manager.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Children settled per loop pass at most (a settle is a status change
//  and a put: bench_deps measures one)
#define ZJOB_DEPS_STEP 2000

typedef struct _zjob_deps_t zjob_deps_t;

//  A dependency tracker for manager (borrowed; the manager owns the
//  tracker). NULL if out of memory.
zjob_deps_t *
zjob_deps_new (zjob_manager_t *manager);

//  Destroy the tracker and drop the references it holds. Accepts NULL.
void
zjob_deps_destroy (zjob_deps_t **self_p);

//  --------------------------------------------------------------------------
//  The manager's calls

//  A new job, before its put: refuses a parent that is neither stored
//  nor made earlier in the same SUBMIT (404, "depends_on[k]: no job ID");
//  a job about to be queued goes waiting instead while a parent is not
//  completed (or one failed: the rule is applied once it is stored), else
//  gets its parent_outputs. 0, or -1 with err filled.
int
zjob_deps_admit (zjob_deps_t *self, zjob_job_t *job, zjob_error_t *err);

//  A new job the store has accepted: indexed under its parents that are
//  not settled; a waiting job with a failed parent gets its rule now.
void
zjob_deps_created (zjob_deps_t *self, zjob_job_t *job);

//  Where START, RESUME or RERUN leads a job the table sends to queued:
//  ZJOB_WAITING if a parent is not completed (or one failed), else
//  ZJOB_QUEUED. O(parents).
int
zjob_deps_route (zjob_deps_t *self, zjob_job_t *job);

//  A job with parents that goes to queued from a status other than
//  queued or running (from): its parent_outputs, built from the parents
//  as stored. A put refused after it leaves them set (the snapshot does
//  not copy them: they are read only once the job is queued, and built
//  again at its next release). 0, or -1 with err.
int
zjob_deps_outputs (zjob_deps_t *self, zjob_job_t *job, int from, zjob_error_t *err);

//  The manager's hooks: job changed from old_status (stored already);
//  job was deleted (removed from the store already).
void
zjob_deps_changed (zjob_deps_t *self, zjob_job_t *job, int old_status);
void
zjob_deps_deleted (zjob_deps_t *self, const zjob_job_t *job);

//  Recovery: a stored job, as found. Indexes a child that is not
//  terminal and queues on the FIFO a waiting one that can be settled
//  now. 0, or -1 if out of memory.
int
zjob_deps_recovered (zjob_deps_t *self, zjob_job_t *job);

//  SUBMIT's creation (zjob_manager_submit's step 3-4), as
//  zjob_manager_create_some (skip: specs answered by a job there; jobs[i]
//  set for them) with the jobs' dependencies: positions resolved, a
//  graph created in topological order. 0, or -1 with err filled naming
//  the spec ("jobs[i]: depends_on..."); nothing is created then.
int
zjob_deps_create (zjob_manager_t *manager, const zjob_spec_t *specs, size_t count,
                  const bool *skip, bool auto_start, zjob_job_t **jobs, zjob_error_t *err);

//  --------------------------------------------------------------------------
//  The owner's calls

//  Settle at most max children of the parents on the FIFO (a parent
//  examined counts as one). Returns 1 if work is left, else 0.
int
zjob_manager_deps_step (zjob_manager_t *manager, size_t max);

//  True while the FIFO holds work: the owner must not sleep.
bool
zjob_manager_deps_busy (zjob_manager_t *manager);

//  Copy into ids the ids of job id's children that the index knows
//  (waiting for it, or created), without repeats, at most max. Returns
//  how many.
size_t
zjob_manager_children (zjob_manager_t *manager, const char *id, char (*ids) [ZJOB_ID_LEN + 1],
                       size_t max);

//  Children entries in the index, and parents with a list (figures for
//  tests and the bench).
size_t
zjob_manager_deps_entries (zjob_manager_t *manager, size_t *parents_p);

#ifdef __cplusplus
}
#endif

#endif
