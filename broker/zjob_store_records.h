/*  =========================================================================
    zjob_store_records - the named records of the memory and file stores
    (broker-private)

    A table of records: kind and name (both names) to a copy of the
    record's bytes, and a 32-bit size beside each, which the file store
    uses for the bytes of the record's latest journal entry (as it keeps
    one beside each job). The memory store's table (zjob_store_memory.h)
    owns one of these, so the file store, which shares that table, has
    its records in the same place. Nothing here checks kinds and names:
    zjob_store.c does, once for every store.
    ========================================================================= */

#ifndef ZJOB_STORE_RECORDS_H_INCLUDED
#define ZJOB_STORE_RECORDS_H_INCLUDED

#include "zjob_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zjob_records_t zjob_records_t;

//  Called for each record of a walk over every kind, in no given order,
//  with a pointer to its size that the walker may change. Return 0 to go
//  on, non-zero to stop.
typedef int (zjob_records_walk_fn) (const char *kind, const char *name, const uint8_t *data,
                                    size_t size, uint32_t *journal_size, void *arg);

//  An empty table, or NULL if out of memory.
zjob_records_t *
zjob_records_new (void);

//  Free the table and every record. Accepts NULL; sets *self_p to NULL.
void
zjob_records_destroy (zjob_records_t **self_p);

//  Insert or replace kind/name with a copy of size bytes of data and
//  journal_size; *old_size_p (if not NULL) gets the journal size the
//  record had, 0 if it was absent. 0, or -1 if out of memory (the table
//  is then as it was).
int
zjob_records_put (zjob_records_t *self, const char *kind, const char *name,
                  const uint8_t *data, size_t size, uint32_t journal_size,
                  uint32_t *old_size_p);

//  Remove kind/name; *old_size_p (if not NULL) gets its journal size.
//  0, or -1 if absent.
int
zjob_records_remove (zjob_records_t *self, const char *kind, const char *name,
                     uint32_t *old_size_p);

//  The data of kind/name (borrowed until it is put or removed) and its
//  size, or NULL if absent.
const uint8_t *
zjob_records_get (zjob_records_t *self, const char *kind, const char *name, size_t *size_p);

//  Visit each record of kind in name order (zjob_store_record_each).
//  Returns the number visited.
int
zjob_records_each (zjob_records_t *self, const char *kind, zjob_store_record_fn *visit,
                   void *arg);

//  Records of kind.
size_t
zjob_records_count (zjob_records_t *self, const char *kind);

//  Records of every kind.
size_t
zjob_records_total (zjob_records_t *self);

//  Call walk for every record of every kind. Returns 0, or the non-zero
//  value that stopped the walk.
int
zjob_records_walk (zjob_records_t *self, zjob_records_walk_fn *walk, void *arg);

#ifdef __cplusplus
}
#endif

#endif
