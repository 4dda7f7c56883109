/*  =========================================================================
    zjob_expiry - finished jobs in the order they finished, for cleanup

    CLEANUP deletes the terminal jobs that finished before a cutoff. A scan
    of the store to find them costs O(all jobs) however few have expired,
    and blocks the broker's loop for as long (2 s for a million jobs). The
    expiry line keeps every terminal job in order of completed_at, so the
    expired ones are at its front: finding them costs O(expired), and a
    cleanup can stop after any number and go on later.

    Jobs reach a terminal state in time order, so the manager appends each
    at its terminal transition; recovery loads the terminal jobs it finds
    and sorts them once. An entry is the job's id and completed_at, not a
    reference: a job deleted by other means (DELETE) leaves its entry
    behind, stale, and the owner drops it when it reaches the front (the
    store no longer has the job). If the wall clock stepped back, a job may
    sit behind one that finished later by the clock; it is then deleted a
    little late, never early (each entry's own completed_at is compared).
    ========================================================================= */

#ifndef ZJOB_EXPIRY_H_INCLUDED
#define ZJOB_EXPIRY_H_INCLUDED

#include "zjob_job.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zjob_expiry_t zjob_expiry_t;

//  A new, empty line. NULL if out of memory.
zjob_expiry_t *
zjob_expiry_new (void);

//  Destroy the line, dropping its references. Accepts NULL.
void
zjob_expiry_destroy (zjob_expiry_t **self_p);

//  Make room for count more entries, so that an append after the store
//  has accepted a change cannot fail. 0, or -1 if out of memory.
int
zjob_expiry_reserve (zjob_expiry_t *self, size_t count);

//  Append terminal job's id and completed_at; room must be reserved.
void
zjob_expiry_append (zjob_expiry_t *self, zjob_job_t *job);

//  Sort the line by (completed_at, id): after recovery appended jobs in
//  the store's order.
void
zjob_expiry_sort (zjob_expiry_t *self);

//  If the front entry finished before before_ms, remove it and copy its
//  job's id into id: true; else false (the line may be empty). O(1).
bool
zjob_expiry_pop (zjob_expiry_t *self, int64_t before_ms, char id [ZJOB_ID_LEN + 1]);

//  Put job back at the front, where an entry was just popped (so there is
//  room): a pop that was not acted on.
void
zjob_expiry_unpop (zjob_expiry_t *self, const zjob_job_t *job);

//  True if the front entry finished before before_ms (a pop would
//  succeed).
bool
zjob_expiry_due (zjob_expiry_t *self, int64_t before_ms);

//  Entries in the line, stale ones included.
size_t
zjob_expiry_size (zjob_expiry_t *self);

#ifdef __cplusplus
}
#endif

#endif
