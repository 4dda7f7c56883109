/*  =========================================================================
    zjob_store - the job store interface, and opening a store from a spec

    The job manager never knows which store it runs on. A store is a table
    of functions (zjob_store_ops_t) over an implementation's own state; the
    manager reaches it only through the zjob_store_* calls below. A store is
    opened from a spec string:

        memory:                                 all in RAM, lost on exit
        file:DIR[?fsync=always|interval:50ms|never][&compact=N][&salvage=truncate]
        sqlite:PATH[?sync=full|normal|off]      one SQLite database file (WAL)
        postgres:CONNINFO[#lease=5s]            a PostgreSQL database (libpq's
        postgresql://USER@HOST/DB[#lease=5s]    key=value string or URI), which
                                                several brokers may share

    Shared stores. A PostgreSQL store may be opened by several brokers at
    once; one of them at a time is active, the holder of the store's lease,
    and only it may write. zjob_store_acquire tries to become it (a standby
    calls it until it succeeds) and loads the store's content when it
    does; every sync of the active broker is fenced by the epoch of its
    lease, so once another broker took the lease no sync of the old one
    succeeds again (zjob_store_fenced) and it must stop. The other stores
    are not shared: acquire succeeds at once, and their content is loaded
    at open.

    Durability contract. put and remove change the store's view at once
    (a get right after sees the change) but promise nothing about disk.
    sync is the durability point: when it returns 0, every earlier put and
    remove has reached the store's medium by the rules of its fsync policy
    (file store: "always" = fsynced; "interval:N" = written to the OS, and
    fsynced at most N ms later; "never" = written to the OS). The broker
    calls sync once per loop pass and only then acknowledges what it did:
    group commit. A put that cannot be made durable makes sync return -1,
    and the owner must not acknowledge. Such a put stays in the store's
    view, and a store keeps what it could not write for the next sync
    (the file store rewrites from the first byte not written): the first
    sync that succeeds makes it durable, so the view and the medium agree
    again without anyone putting anything twice. zjob_store_writable says
    whether the last sync succeeded, and STATS shows it (writable,
    write_error, write_error_since).

    Jobs are shared, not copied: put may keep a reference to the job it is
    given (the memory and file stores do), and get returns a reference.
    The owner changes a job in place and calls put again to record the
    change; a store that keeps jobs elsewhere (SQL) encodes them on put.

    Named records. Besides jobs a store keeps the broker's other durable
    content (templates, schedules, batches, queue settings) as records:
    opaque bytes (each owner's msgpack map) under a kind and a name, both
    names (zjob_name_valid). They follow the jobs' durability contract to
    the letter: a record put or removed is in the store's view at once and
    durable at the next sync, the same sync (the same group commit) as the
    jobs changed in that pass, so a job and a record of one pass are on
    disk together or not at all. Records are copied on put: the caller
    keeps its buffer. A store is not meant for many thousands of records
    of a kind changing every pass; jobs are what it is built for.
    ========================================================================= */

#ifndef ZJOB_STORE_H_INCLUDED
#define ZJOB_STORE_H_INCLUDED

#include <czmq.h>
#include "zjob_job_impl.h"
#include "zjob_query.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zjob_store_t zjob_store_t;

//  Called for each job iterate visits; the job is borrowed for the call.
//  Return 0 to go on, non-zero to stop the iteration.
typedef int (zjob_store_visit_fn) (zjob_job_t *job, void *arg);

#define ZJOB_RECORD_MAX (ZJOB_DATA_MAX + 65536)  //  bytes of one record's data

//  Called for each record record_each visits, in name order; name and
//  data are borrowed for the call. Return 0 to go on, non-zero to stop.
typedef int (zjob_store_record_fn) (const char *name, const uint8_t *data, size_t size,
                                    void *arg);

//  What an implementation provides; self is its own state. The record_*
//  calls get a kind and a name already checked, and data of 1 to
//  ZJOB_RECORD_MAX bytes (record_get: size_p may be NULL, and is set only
//  for a record found); a store without them (NULL) refuses records.
typedef struct {
    const char *name;  //  "memory", "file"
    int (*put) (void *self, zjob_job_t *job, zjob_error_t *err);
    zjob_job_t *(*get) (void *self, const char *id);
    int (*remove) (void *self, const char *id, zjob_error_t *err);
    int (*iterate) (void *self, const zjob_filter_t *filter,
                    zjob_store_visit_fn *visit, void *arg);
    int (*walk) (void *self, const zjob_filter_t *filter, bool descending, char *cursor,
                 size_t max, zjob_store_visit_fn *visit, void *arg);
    size_t (*count) (void *self);
    int (*sync) (void *self, zjob_error_t *err);
    void (*stats) (void *self, zhashx_t *into);  //  may be NULL
    void (*close) (void *self);                  //  frees self
    int (*record_put) (void *self, const char *kind, const char *name, const uint8_t *data,
                       size_t size, zjob_error_t *err);
    int (*record_remove) (void *self, const char *kind, const char *name, zjob_error_t *err);
    const uint8_t *(*record_get) (void *self, const char *kind, const char *name,
                                  size_t *size_p);
    int (*record_each) (void *self, const char *kind, zjob_store_record_fn *visit, void *arg);
    size_t (*record_count) (void *self, const char *kind);
    //  Shared stores only (NULL in the others): zjob_store_acquire,
    //  zjob_store_fenced and zjob_store_renew_ms below
    int (*acquire) (void *self, zjob_error_t *err);
    bool (*fenced) (void *self);
    int64_t (*renew_ms) (void *self);
    int (*renew) (void *self, zjob_error_t *err);
    //  The asynchronous sync (optional: NULL in the stores whose sync has
    //  no wait worth overlapping; zjob_store.c then runs sync): see
    //  zjob_store_sync_begin. sync_begin returns 1 for a ticket durable
    //  already, 0 for one sync_poll reports later, -1; tickets count from
    //  1, one a successful call. sync itself, in a store that has them,
    //  first waits for the syncs under way
    int (*sync_begin) (void *self, uint64_t *ticket, zjob_error_t *err);
    int (*sync_poll) (void *self, uint64_t *done, zjob_error_t *err);
    int (*sync_fd) (void *self);
} zjob_store_ops_t;

//  Open a store from spec (see above). Returns NULL with err filled in
//  for a bad spec (ZJOB_BAD_REQUEST), or a store that cannot be opened or
//  recovered (ZJOB_INTERNAL, naming the file and offset).
zjob_store_t *
zjob_store_open (const char *spec, zjob_error_t *err);

//  Wrap an implementation in a store; used by zjob_store_open and by
//  stores defined elsewhere. Takes ownership of impl.
zjob_store_t *
zjob_store_new (const zjob_store_ops_t *ops, void *impl);

//  Sync, close and free the store. Accepts NULL; sets *self_p to NULL.
void
zjob_store_destroy (zjob_store_t **self_p);

//  Insert or replace the job with job->id. 0, or -1 with err filled.
int
zjob_store_put (zjob_store_t *self, zjob_job_t *job, zjob_error_t *err);

//  The job with id (a new reference for the caller), or NULL if absent.
zjob_job_t *
zjob_store_get (zjob_store_t *self, const char *id);

//  Remove the job with id. 0, or -1 with ZJOB_NOT_FOUND if absent.
int
zjob_store_remove (zjob_store_t *self, const char *id, zjob_error_t *err);

//  Call visit for each job that matches filter (NULL = all), in no given
//  order. The visitor must not put or remove. Returns the number visited.
int
zjob_store_iterate (zjob_store_t *self, const zjob_filter_t *filter,
                    zjob_store_visit_fn *visit, void *arg);

//  One step of a walk in id order (creation order: ids are time-sortable),
//  resumable: examine at most max jobs (matching filter or not, so a step
//  is bounded) after cursor, or before it when descending, and call visit
//  for each that matches filter (NULL = all). cursor is a buffer of
//  ZJOB_ID_LEN + 1 bytes, "" to begin at the first (or last) id; it is
//  left at where to resume. A job stored for the whole walk is visited
//  exactly once however the store changes between steps; one put or
//  removed between steps may be visited or not. The visitor must not put
//  or remove; if it returns non-zero the step stops there. Returns 1 when
//  the walk is done (nothing after the cursor), 0 if it goes on. For a
//  SQL store: WHERE id > cursor ORDER BY id LIMIT max.
int
zjob_store_walk (zjob_store_t *self, const zjob_filter_t *filter, bool descending,
                 char *cursor, size_t max, zjob_store_visit_fn *visit, void *arg);

//  Number of jobs stored.
size_t
zjob_store_count (zjob_store_t *self);

//  Remove every terminal job (completed, failed, cancelled) whose
//  completed_at is before before_ms. Never touches other jobs. Returns the
//  number removed, or -1 with err filled.
int
zjob_store_cleanup (zjob_store_t *self, int64_t before_ms, zjob_error_t *err);

//  The durability point (see above). 0, or -1 with err filled.
int
zjob_store_sync (zjob_store_t *self, zjob_error_t *err);

//  The durability point without the wait (group commit overlapped with
//  the owner's next work). Does what sync does up to the wait for the
//  medium (the file store: writes its buffer, hands the fdatasync to a
//  thread of its own) and returns 0 with *ticket set: every put and
//  remove before the call is durable once zjob_store_sync_poll reports a
//  done ticket >= *ticket. Tickets grow by one a call; a store without an
//  asynchronous sync runs its sync here, so its ticket is done at once.
//  -1 with err filled as sync fails (nothing new under way: earlier
//  tickets are still pending).
int
zjob_store_sync_begin (zjob_store_t *self, uint64_t *ticket, zjob_error_t *err);

//  Without waiting: *done gets the highest ticket durable. Returns 0, or
//  -1 with err filled if a sync under way failed: then no ticket up to
//  *done (which is then the last ticket given) is durable, and the store
//  is failing (writable false) as after a failed sync.
int
zjob_store_sync_poll (zjob_store_t *self, uint64_t *done, zjob_error_t *err);

//  A file descriptor that turns readable when zjob_store_sync_poll has
//  news (the owner polls it, then calls sync_poll, which clears it); -1
//  for a store whose tickets are all done when begin returns. The store's.
int
zjob_store_sync_fd (zjob_store_t *self);

//  Whether tickets are still pending (given but not reported done by
//  the last sync_poll).
bool
zjob_store_sync_pending (zjob_store_t *self);

//  Fault injection for tests: while fail is true, every store's sync
//  returns -1 (ZJOB_INTERNAL, "sync failed (injected)") without calling
//  the implementation, as a full disk would (sync_begin likewise; the
//  syncs already under way are not touched). Process-wide; off by default.
void
zjob_store_fail_syncs (bool fail);

//  Insert or replace the record kind/name with a copy of size bytes at
//  data. kind ("template", "schedule", "batch", "queue"...) and name are
//  names (zjob_name_valid); size is 1 to ZJOB_RECORD_MAX. 0, or -1 with
//  err filled: ZJOB_BAD_REQUEST for a bad kind, name or empty data,
//  ZJOB_TOO_LARGE for too much data, ZJOB_INTERNAL if out of memory or
//  the store keeps no records.
int
zjob_store_record_put (zjob_store_t *self, const char *kind, const char *name,
                       const uint8_t *data, size_t size, zjob_error_t *err);

//  Remove the record kind/name. 0, or -1 with ZJOB_NOT_FOUND if absent
//  (ZJOB_BAD_REQUEST for a bad kind or name).
int
zjob_store_record_remove (zjob_store_t *self, const char *kind, const char *name,
                          zjob_error_t *err);

//  The data of the record kind/name, borrowed until the next put or
//  remove of that record (or the store's destruction), with its size in
//  *size_p; NULL if absent or kind or name is not a name.
const uint8_t *
zjob_store_record_get (zjob_store_t *self, const char *kind, const char *name,
                       size_t *size_p);

//  Call visit for each record of kind, in name order (strcmp); visit
//  returns non-zero to stop. The visitor must not put or remove records.
//  Returns the number of records visited. O(records of kind), plus a
//  sort of them after their names changed.
int
zjob_store_record_each (zjob_store_t *self, const char *kind, zjob_store_record_fn *visit,
                        void *arg);

//  Number of records of kind.
size_t
zjob_store_record_count (zjob_store_t *self, const char *kind);

//  spec as it may be logged: a password in it (a postgres: key=value
//  password, a URI's user:password@ or ?password=) replaced by ***,
//  into buffer of size bytes (truncated to fit). Returns buffer.
const char *
zjob_store_spec_safe (const char *spec, char *buffer, size_t size);

//  Name of the implementation ("memory", "file", "sqlite", "postgres").
const char *
zjob_store_name (zjob_store_t *self);

//  Whether the last sync succeeded (true before the first). If not, why
//  (if not NULL) gets that sync's error and since_ms (if not NULL) the
//  wall clock ms of the first failed sync of the run that is failing.
bool
zjob_store_writable (zjob_store_t *self, zjob_error_t *why, int64_t *since_ms);

//  Add the store's figures (journal bytes, syncs, compactions...) to into,
//  as string keys and string values, and for every store "writable"
//  ("true" or "false": zjob_store_writable) with, when "false",
//  "write_error" (the last failed sync's error) and "write_error_since"
//  (ISO 8601 UTC). into keeps copies of the values: this
//  call sets its duplicator (strdup) and destructor (zstr_free), so pass a
//  hash that holds nothing else.
void
zjob_store_stats (zjob_store_t *self, zhashx_t *into);

//  Try to become the active broker of a shared store (see above). Returns
//  1 if this process holds the store's lease and the store's content is
//  loaded (every store that is not shared: at once); 0 if another broker
//  holds it (err->text says which, since when, and its epoch); -1 on an
//  error (err filled: the database cannot be reached, say). A standby
//  calls it again until it returns 1; nothing may be put before.
int
zjob_store_acquire (zjob_store_t *self, zjob_error_t *err);

//  Whether several brokers may share the store (it has a lease).
bool
zjob_store_shared (zjob_store_t *self);

//  True once the store found that another broker took its lease: from
//  then on every sync fails (ZJOB_UNAVAILABLE, "lost the lease ...") and
//  the owner must stop serving. Always false for a store not shared.
bool
zjob_store_fenced (zjob_store_t *self);

//  How often (ms) the owner must call sync, even with nothing to write,
//  for the store to keep its lease; 0 for a store that holds none.
int64_t
zjob_store_renew_ms (zjob_store_t *self);

//  Renew the lease of a shared store now if it is due (a third of it has
//  passed), writing nothing else; for long work before the first sync
//  (recovery over millions of jobs), so that the lease does not run out
//  while its holder is busy. 0 (also for a store not shared), or -1 with
//  err filled (fenced, or the database cannot be reached).
int
zjob_store_renew (zjob_store_t *self, zjob_error_t *err);

//  For an implementation's options (the part of a spec after '?' or
//  '#'): call option for each item of options split at '&', with the
//  item's key and its value (after '=', or NULL if the item has none);
//  stop at the first call that returns -1. store names the store in the
//  message if memory runs out. 0, or -1 with err filled.
typedef int (zjob_store_option_fn) (const char *key, const char *value, void *arg,
                                    zjob_error_t *err);
int
zjob_store_options_each (const char *options, const char *store, zjob_store_option_fn *option,
                         void *arg, zjob_error_t *err);

//  For an implementation's stats: set key in into to value as decimal
//  text (the stores' figures are numbers, kept as strings).
void
zjob_store_stat (zhashx_t *into, const char *key, int64_t value);

//  Constructors of the built-in stores, used by zjob_store_open.
//  options is the part of the spec after '?' (or '#' for postgres), or
//  NULL. conninfo is libpq's: key=value pairs or a postgres(ql):// URI.
zjob_store_t *
zjob_store_memory_new (void);
zjob_store_t *
zjob_store_file_new (const char *dir, const char *options, zjob_error_t *err);
zjob_store_t *
zjob_store_sqlite_new (const char *path, const char *options, zjob_error_t *err);
zjob_store_t *
zjob_store_pg_new (const char *conninfo, const char *options, zjob_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
