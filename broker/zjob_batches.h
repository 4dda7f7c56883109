/*  =========================================================================
    zjob_batches - batches of jobs: their counters, state and callback

    A batch is a named group of jobs made by SUBMITs that carry a batch map
    (zjob_batch_opts_t). The broker keeps, per batch, in memory: total,
    completed, failed, cancelled (pending is the rest), whether it is
    still open for more members, created_at, finished_at, the callback's
    spec and the callback job's id. State: "open" while members may still
    be added; then "running" while a member is pending; then "completed"
    (every member completed) or "failed" (some failed or were cancelled:
    a batch cancel leaves a batch failed, since its work was not done).

    Counters move by status class (pending: created, waiting, queued,
    running, paused; completed; failed; cancelled) in the manager's hooks
    (zjob_batches_changed after every stored change of a member, and
    zjob_batches_deleted: a member deleted before it finished counts as
    cancelled), so a re-run member moves its class back and the batch runs
    again. Each change costs O(1): a hash lookup by the member's batch id.

    Durability: each batch is a store record of kind "batch" (a msgpack
    map with short keys; unknown keys are skipped on load). A batch that
    changed is marked dirty, and zjob_batches_flush writes each dirty
    record once, just before the store's sync (the manager's sync path):
    a member's change and its batch's record are made durable by the same
    sync, or lost together. Load at start reads the records back.

    Callback: when a closed batch first has no pending member, the
    callback job is due; zjob_batches_flush creates it (inputs: the
    callback's inputs with "batch": {id, state, total, completed, failed,
    cancelled} set) and writes the record with its id, in the same pass,
    so they are durable together. After a crash before that sync both are
    gone, and load finds a finished batch with a callback and no callback
    job: the next flush fires it. So it runs exactly once. A batch that
    finishes again (a member re-run) does not fire it again.

    Cleanup: finished batches enter a FIFO in the order they finished;
    zjob_batches_cleanup_step removes the records of those finished before
    a given time, at most max per call (stale entries: a batch re-run or
    removed since, are skipped and counted).
    ========================================================================= */

#ifndef ZJOB_BATCHES_H_INCLUDED
#define ZJOB_BATCHES_H_INCLUDED

#include "zjob_manager.h"
#include "zjob_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_BATCH_RECORD "batch"  //  The store record kind of a batch

typedef struct _zjob_batches_t zjob_batches_t;

//  Hears a batch that has just finished (state completed or failed); info
//  is borrowed for the call.
typedef void (zjob_batches_listener_fn) (const zjob_batch_info_t *info, void *arg);

//  A batch set over manager (borrowed: its store holds the records, and
//  callback jobs are created through it). NULL if out of memory.
zjob_batches_t *
zjob_batches_new (zjob_manager_t *manager);

//  Destroy it, writing the dirty records first (no callback is created:
//  the next start fires a due one). Accepts NULL.
void
zjob_batches_destroy (zjob_batches_t **self_p);

//  Read every batch record of the store (at start, before any change).
//  A finished batch with a callback and no callback job is due to fire
//  at the next flush. Records that do not decode are logged and skipped.
//  Returns 0, or -1 with err filled if out of memory.
int
zjob_batches_load (zjob_batches_t *self, zjob_error_t *err);

//  Set the one listener (NULL to remove).
void
zjob_batches_set_listener (zjob_batches_t *self, zjob_batches_listener_fn *fn, void *arg);

//  SUBMIT, before its jobs are created: check that count specs may join
//  the batches they name (specs [i].batch_id; opts->id is already set in
//  each by the caller): a closed batch refuses members (409), a callback
//  is only for a new batch (409 if opts->id exists), and the batch of
//  opts is made ready (memory reserved). 0, or -1 with err filled,
//  naming the spec ("jobs[i]: batch ...").
int
zjob_batches_submit_check (zjob_batches_t *self, const zjob_batch_opts_t *opts,
                           const zjob_spec_t *specs, size_t count, zjob_error_t *err);

//  SUBMIT, once its jobs are created: jobs [i] is spec i's job, created
//  [i] false for a spec answered by a job that was there (idempotency).
//  Creates the batches named for the first time, counts the created jobs
//  as members, and applies opts (open, callback). Returns 0, or -1 with
//  err filled if out of memory (the jobs stay: their batch counts them
//  from their next change on).
int
zjob_batches_submitted (zjob_batches_t *self, const zjob_batch_opts_t *opts,
                        zjob_job_t *const *jobs, const bool *created, size_t count,
                        zjob_error_t *err);

//  The manager's hooks: job (a member or not) was stored with a new
//  status (old_status: the one before, -1 for a new job), or deleted.
void
zjob_batches_changed (zjob_batches_t *self, const zjob_job_t *job, int old_status);
void
zjob_batches_deleted (zjob_batches_t *self, const zjob_job_t *job);

//  True if some batch has changes not yet written (the owner must sync).
bool
zjob_batches_dirty (zjob_batches_t *self);

//  Before the store's sync: with fire, create the callback jobs that are
//  due, then write every dirty record. Returns 0, or -1 with err filled
//  if the store refused a write (what is left is tried again next time).
int
zjob_batches_flush (zjob_batches_t *self, bool fire, zjob_error_t *err);

//  Remove the records of batches finished before before_ms, oldest first,
//  at most max (stale entries count too). Returns 1 if more are due, 0
//  if none, -1 with err filled if the store refused a removal.
int
zjob_batches_cleanup_step (zjob_batches_t *self, int64_t before_ms, size_t max,
                           zjob_error_t *err);

//  Owners (zjob_roles.h): a batch belongs to the user of the client key
//  whose SUBMIT created it (record key "usr"; its callback job is that
//  user's too); one created by an admin key, or before keys existed, has
//  no owner and is seen by admin keys only.

//  The user whose batches the next SUBMITs create (copied; NULL or "": no
//  owner). The handler sets it around a client's SUBMIT.
void
zjob_batches_set_submitter (zjob_batches_t *self, const char *user);

//  The owner of batch id ("" for none), or NULL if there is no such batch.
const char *
zjob_batches_owner (zjob_batches_t *self, const char *id);

//  0 if user (NULL: an admin, any batch) may see batch id; else -1 with
//  the error of an unknown batch (404 "no batch ID"), whether it exists or not.
int
zjob_batches_visible (zjob_batches_t *self, const char *id, const char *user,
                      zjob_error_t *err);

//  Fill info with batch id. 0, or -1 with ZJOB_NOT_FOUND.
int
zjob_batches_info (zjob_batches_t *self, const char *id, zjob_batch_info_t *info,
                   zjob_error_t *err);

//  Close batch id: no more members; it finishes when none is pending.
//  Closing a closed batch is not an error. 0, or -1 with ZJOB_NOT_FOUND.
int
zjob_batches_close (zjob_batches_t *self, const char *id, zjob_error_t *err);

//  The batches in id order, from offset, at most limit (0: the most,
//  ZJOB_BATCH_LIST_MAX). *infos_p is a malloc'd array of *count_p (NULL if
//  none), *total_p the number of batches. O(batches log batches). 0, or
//  -1 with err filled.
int
zjob_batches_list (zjob_batches_t *self, size_t offset, size_t limit,
                   zjob_batch_info_t **infos_p, size_t *count_p, size_t *total_p,
                   zjob_error_t *err);

//  As zjob_batches_list, over the batches user sees (NULL: all of them;
//  else those it owns): *total_p counts those only. O(batches).
int
zjob_batches_list_of (zjob_batches_t *self, const char *user, size_t offset, size_t limit,
                      zjob_batch_info_t **infos_p, size_t *count_p, size_t *total_p,
                      zjob_error_t *err);

//  The number of batches kept.
size_t
zjob_batches_size (zjob_batches_t *self);

#ifdef __cplusplus
}
#endif

#endif
