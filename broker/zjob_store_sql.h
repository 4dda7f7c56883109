/*  =========================================================================
    zjob_store_sql - the SQL stores' shared half (broker-private)

    SQLite and PostgreSQL stores are write-behind, as the file store is:
    the broker's view of every job and record stays in the memory store's
    table (zjob_store_memory.h), so get, iterate, walk and count cost what
    they cost in memory, and the database is the durable medium in place
    of a journal. This layer is the store (zjob_store_ops_t) over that
    table; a backend (SQLite, PostgreSQL) only loads and commits rows.

    put and remove mark the job's id dirty: a set of ids, so a job changed
    five times in a pass is written once, as it is at the sync. sync turns
    the dirty set into changes (an upsert of the job's row as it is now, or
    a delete if it is gone; the same for records) and hands them to the
    backend's commit, which writes them in ONE transaction. If commit
    fails the dirty set is kept whole, sync returns -1 and the next sync
    writes it all again (with what changed since): nothing is lost and
    nothing is acknowledged before its commit. A sync with nothing dirty
    calls commit with no changes only for a backend with a lease
    (renew_ms), which renews it then when due.

    A row carries the job's msgpack map (zjob_job_encode, the journal's
    codec), the truth that load decodes, and plain columns for operators'
    queries and the indexes (design: docs/ARCHITECTURE.md, "SQL stores";
    the schema: README.md).
    ========================================================================= */

#ifndef ZJOB_STORE_SQL_H_INCLUDED
#define ZJOB_STORE_SQL_H_INCLUDED

#include "zjob_store.h"

#ifdef __cplusplus
extern "C" {
#endif

//  One job row: the columns of zjob_jobs. Strings and data are borrowed
//  for the commit call; NULL strings are SQL NULL, as are times of 0.
typedef struct {
    const char *id;
    const char *workflow;
    const char *status;    //  zjob_status_name: "queued", "running"...
    int priority;          //  0..9
    const char *user_id;   //  NULL if none
    const char *batch_id;  //  NULL if none
    int64_t created_at;    //  ms UTC
    int64_t updated_at;    //  ms UTC
    int64_t started_at;    //  ms UTC, 0 = NULL
    int64_t completed_at;  //  ms UTC, 0 = NULL
    int64_t attempts;
    double progress;         //  0.0 .. 1.0
    const char *error_kind;  //  NULL if none
    const uint8_t *data;     //  The job's msgpack map
    size_t size;
} zjob_sql_row_t;

typedef enum {
    ZJOB_SQL_JOB_PUT = 1,   //  Upsert row
    ZJOB_SQL_JOB_DELETE,    //  Delete the job id
    ZJOB_SQL_RECORD_PUT,    //  Upsert kind, name, data
    ZJOB_SQL_RECORD_DELETE  //  Delete kind, name
} zjob_sql_change_kind_t;

//  One change of a commit. Every pointer is borrowed for the call.
typedef struct {
    zjob_sql_change_kind_t kind;
    zjob_sql_row_t row;       //  JOB_PUT
    const char *id;           //  JOB_DELETE (row.id for JOB_PUT)
    const char *record_kind;  //  RECORD_*
    const char *record_name;
    const uint8_t *data;  //  RECORD_PUT
    size_t size;
} zjob_sql_change_t;

typedef struct _zjob_sql_loader_t zjob_sql_loader_t;

//  What a backend provides; self is its own state.
typedef struct {
    const char *name;  //  "sqlite", "postgres"
    //  Read every job row's data and every record into the store, calling
    //  zjob_sql_load_job and zjob_sql_load_record for each. 0, or -1 with
    //  err filled (a row that does not decode is an error naming its id).
    int (*load) (void *self, zjob_sql_loader_t *loader, zjob_error_t *err);
    //  Write changes (count may be 0: renew a lease if due, else nothing)
    //  in one transaction. 0 when committed; -1 with err filled when
    //  nothing of it was (the layer keeps them for the next sync).
    int (*commit) (void *self, const zjob_sql_change_t *changes, size_t count,
                   zjob_error_t *err);
    //  Add figures as string keys and values (zjob_store_stats). May be NULL.
    void (*stats) (void *self, zhashx_t *into);
    //  Free self (and close the database). The layer calls it last.
    void (*close) (void *self);
    //  Shared backends (postgres) only, else NULL: zjob_store_acquire
    //  (loads through load on success: the layer calls load itself when
    //  acquire returns 1 for the first time), zjob_store_fenced,
    //  zjob_store_renew_ms.
    int (*acquire) (void *self, zjob_error_t *err);
    bool (*fenced) (void *self);
    int64_t (*renew_ms) (void *self);
} zjob_sql_backend_t;

//  A store over backend, whose state is self (taken: closed on failure
//  too). A backend that is not shared is loaded here, at once; a shared
//  one at its first successful acquire. NULL with err filled if loading
//  fails or memory runs out.
zjob_store_t *
zjob_store_sql_new (const zjob_sql_backend_t *backend, void *self, zjob_error_t *err);

//  For load: add the job whose encoded map is data (the store keeps its
//  own decoded copy). 0, or -1 with err filled (it does not decode, or
//  its id is not the row's: id may be NULL to skip that check).
int
zjob_sql_load_job (zjob_sql_loader_t *loader, const char *id, const uint8_t *data,
                   size_t size, zjob_error_t *err);

//  For load: add the record kind/name. 0, or -1 with err filled.
int
zjob_sql_load_record (zjob_sql_loader_t *loader, const char *kind, const char *name,
                      const uint8_t *data, size_t size, zjob_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
