/*  =========================================================================
    zjob_store_memory - the job table of the memory store (broker-private)

    The public constructor, zjob_store_memory_new, is in zjob_store.h. This
    header is for the file store only: it keeps its live jobs in the very
    same table and adds a journal, so the table's calls are shared here
    rather than copied. Each entry may carry a 32-bit size, which the file
    store uses for the bytes of the job's latest journal record.
    ========================================================================= */

#ifndef ZJOB_STORE_MEMORY_H_INCLUDED
#define ZJOB_STORE_MEMORY_H_INCLUDED

#include "zjob_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zjob_store_memory_t zjob_store_memory_t;

//  Called for each job of a walk, with a pointer to the job's size (NULL
//  in a table made without sizes) that the walker may change. Return 0 to
//  go on, non-zero to stop.
typedef int (zjob_store_memory_walk_fn) (zjob_job_t *job, uint32_t *size, void *arg);

//  The operations of the memory store, over a zjob_store_memory_t.
extern const zjob_store_ops_t zjob_store_memory_ops;

//  An empty table; with_sizes adds a 32-bit size per entry. NULL if out
//  of memory.
zjob_store_memory_t *
zjob_store_memory_table_new (bool with_sizes);

//  Drop the table's reference to every job and free it. Accepts NULL.
void
zjob_store_memory_table_destroy (zjob_store_memory_t **self_p);

//  Store job (taking a reference) under job->id with size, replacing and
//  dropping any other job with that id; the same pointer again only
//  updates the size. *old_size_p (if not NULL) gets the size the id had,
//  0 if it was absent. Returns 0, or -1 if out of memory.
int
zjob_store_memory_insert (zjob_store_memory_t *self, zjob_job_t *job,
                          uint32_t size, uint32_t *old_size_p);

//  The job with id, borrowed, or NULL.
zjob_job_t *
zjob_store_memory_lookup (zjob_store_memory_t *self, const char *id);

//  Start loading the table slots where id belongs into the cache; a hint
//  for bulk inserts (recovery) that do other work before the insert.
void
zjob_store_memory_prefetch (zjob_store_memory_t *self, const char *id);

//  Remove the job with id and drop the table's reference. *old_size_p
//  (if not NULL) gets its size. Returns 0, or -1 if absent.
int
zjob_store_memory_delete (zjob_store_memory_t *self, const char *id,
                          uint32_t *old_size_p);

//  Give freed memory back to the OS (malloc_trim) if the table has
//  fallen below half of its peak size since the last trim, at most every
//  5 s, and only after a peak of 4096 jobs or more. Call it after a batch
//  of removals (the stores do at each sync); it costs two compares when
//  there is nothing to do. Returns true if it trimmed.
bool
zjob_store_memory_trim (zjob_store_memory_t *self);

//  Trims done so far (a figure for stats).
uint64_t
zjob_store_memory_trims (zjob_store_memory_t *self);

//  The table's named records (zjob_store_records.h), owned by the table.
//  The memory store's record_* operations work on them; the file store's
//  journal them first.
struct _zjob_records_t;
struct _zjob_records_t *
zjob_store_memory_records (zjob_store_memory_t *self);

//  Number of jobs in the table.
size_t
zjob_store_memory_size (zjob_store_memory_t *self);

//  Call walk for every job, in table order. Returns 0, or the non-zero
//  value that stopped the walk.
int
zjob_store_memory_walk (zjob_store_memory_t *self,
                        zjob_store_memory_walk_fn *walk, void *arg);

//  The creation-order walk of zjob_store_walk (zjob_store.h), over the
//  table's index.
int
zjob_store_memory_walk_ids (zjob_store_memory_t *self, const zjob_filter_t *filter,
                            bool descending, char *cursor, size_t max,
                            zjob_store_visit_fn *visit, void *arg);

//  Stop keeping the creation-order index, for a bulk load whose jobs come
//  in no useful order (a journal replays a snapshot in table order); no
//  walk may run until zjob_store_memory_index_build.
void
zjob_store_memory_index_suspend (zjob_store_memory_t *self);

//  Build the index again from the table (one sort by id) and keep it from
//  now on. Does nothing if it is kept. 0, or -1 if out of memory (it then
//  stays suspended).
int
zjob_store_memory_index_build (zjob_store_memory_t *self);

#ifdef __cplusplus
}
#endif

#endif
