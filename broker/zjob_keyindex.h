/*  =========================================================================
    zjob_keyindex - idempotency key -> job id, in 24 bytes a slot

    The job manager's index of idempotency keys (broker-private). Every job
    submitted through libzjob carries a key (the library makes one up for a
    spec without), so the index holds an entry per job for as long as the
    job is stored. A zhashx entry with a copy of the key and of the id cost
    some 150 bytes a job (bench_core: 486 bytes a queued job beyond its
    inputs with keys, 295 without); an entry here is a 32-bit hash of the
    key and the 20 characters of the id, in an open-addressing table.

    The key itself is not kept: it is in the job. An entry whose hash
    matches is confirmed by a match callback, which the manager answers by
    looking the job up and comparing its key, so that two keys with the
    same hash never stand for each other.

    No call takes time in proportion to the entries: a growth or shrink
    of the table is spread over the calls that follow (64 slots moved per
    put or remove) and over zjob_keyindex_step, which the manager calls
    once per sync. Meanwhile the index holds two tables; bytes counts both.
    ========================================================================= */

#ifndef ZJOB_KEYINDEX_H_INCLUDED
#define ZJOB_KEYINDEX_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "zjob_job.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zjob_keyindex_t zjob_keyindex_t;

//  Old slots moved on per sync, as the memory store's table: a table of 2M
//  slots drained in 32 syncs, the longest step 16 ms (bench_keyindex: the
//  first steps fault in the new table's pages)
#define ZJOB_KEYINDEX_SYNC_STEP 65536

//  Does job id carry key? Called only for entries whose hash matches key's.
typedef bool (zjob_keyindex_match_fn) (const char *id, const char *key, void *arg);

//  An empty index, or NULL if out of memory.
zjob_keyindex_t *
zjob_keyindex_new (void);

//  Free the index. Accepts NULL.
void
zjob_keyindex_destroy (zjob_keyindex_t **self_p);

//  Record that key names job id (an id of ZJOB_ID_LEN characters),
//  replacing the job it named before, if match says one did. Returns 0,
//  or -1 if out of memory or id is not a job id (the index is unchanged).
int
zjob_keyindex_put (zjob_keyindex_t *self, const char *key, const char *id,
                   zjob_keyindex_match_fn *match, void *arg);

//  Copy into id (ZJOB_ID_LEN + 1 bytes) the job key names, the first entry
//  match confirms. Returns true if there is one.
bool
zjob_keyindex_find (zjob_keyindex_t *self, const char *key,
                    zjob_keyindex_match_fn *match, void *arg, char *id);

//  Forget that key names job id, if it does. Returns true if it did.
bool
zjob_keyindex_remove (zjob_keyindex_t *self, const char *key, const char *id);

//  Move on a resize under way by at most max slots of the old table (the
//  manager's sync asks for ZJOB_KEYINDEX_SYNC_STEP). Returns true if one
//  is still under way. Accepts NULL.
bool
zjob_keyindex_step (zjob_keyindex_t *self, size_t max);

//  Entries in the index.
size_t
zjob_keyindex_size (zjob_keyindex_t *self);

//  Bytes the index holds (its tables), for memory accounting.
size_t
zjob_keyindex_bytes (zjob_keyindex_t *self);

#ifdef __cplusplus
}
#endif

#endif
