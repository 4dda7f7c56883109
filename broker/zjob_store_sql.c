/*  =========================================================================
    zjob_store_sql - the SQL stores' shared half: the store over the memory
    table and a backend that loads and commits rows

    The broker's view lives in a memory table (zjob_store_memory.h), so
    every read (get, iterate, walk, count, records) is the memory store's
    own call on it. What this layer adds is the write-behind: put, remove
    and the record calls change the table at once and add the job's id (or
    the record's kind and name) to a dirty set. A set, not a log: however
    often a job changes in a pass, the sync writes it once, as it is then.

    sync builds one change per dirty entry by looking it up now: present
    means an upsert of its row (the plain columns from the job, the data
    from zjob_job_pack into one buffer the whole sync shares), absent a
    delete; then one backend commit, one transaction. If it fails the
    dirty sets stay as they are and the next sync rebuilds the changes from
    the table, with whatever changed since: nothing is lost, nothing is
    written twice in vain, nothing acknowledged before its commit. The
    change array and the encoding buffer are kept from sync to sync (the
    steady state allocates nothing); after a burst they are given back if
    they grew past ZJOB_SQL_KEEP_BYTES.

    A shared backend (one with acquire: PostgreSQL) loads at the first
    acquire that returns 1; until then the table is empty and put, remove
    and sync are refused, so a standby can never write. A backend with a
    lease (renew_ms) has commit called even with nothing dirty, so it can
    renew the lease when due.
    ========================================================================= */

#include "zjob_store_sql.h"
#include "zjob_store_memory.h"
#include "zjob_store_records.h"
#include "zjob_log.h"

//  Bytes of buffers and change arrays kept from one sync for the next;
//  more is freed after the sync that needed it (a burst)
#define ZJOB_SQL_KEEP_BYTES (4 << 20)

//  The dirty job ids: a set that allocates nothing per id (one array of
//  ids in the order they came, one open-addressing index into it), so
//  that a pass of puts and removes neither pays a malloc each nor leaves
//  small blocks between the freed jobs, which would keep malloc_trim from
//  giving their pages back
typedef struct {
    char (*ids) [ZJOB_ID_LEN + 1];  //  The ids, count of them
    uint32_t *slots;                //  Index into ids + 1, 0 = empty
    size_t count;                   //  Ids in the set
    size_t capacity;                //  Slots: a power of 2, ids has half
} s_idset_t;

#define S_IDSET_MIN 1024  //  slots of a new set, and after a burst

static uint32_t
s_id_hash (const char *id)
{
    uint32_t hash = 2166136261u;  //  FNV-1a
    for (; *id; id++)
        hash = (hash ^ (uint8_t) *id) * 16777619u;
    return hash;
}

//  The slot of id, or of the empty slot where it belongs
static size_t
s_idset_slot (s_idset_t *self, const char *id)
{
    size_t mask = self->capacity - 1;
    size_t slot = s_id_hash (id) & mask;
    while (self->slots [slot] && !streq (self->ids [self->slots [slot] - 1], id))
        slot = (slot + 1) & mask;
    return slot;
}

//  Make the set empty with capacity slots. 0, or -1 if out of memory.
static int
s_idset_reset (s_idset_t *self, size_t capacity)
{
    uint32_t *slots = (uint32_t *) calloc (capacity, sizeof *slots);
    void *ids = slots ? malloc (capacity / 2 * sizeof *self->ids) : NULL;
    if (!ids) {
        free (slots);
        return -1;
    }
    free (self->slots);
    free (self->ids);
    self->slots = slots;
    self->ids = (char (*) [ZJOB_ID_LEN + 1]) ids;
    self->capacity = capacity;
    self->count = 0;
    return 0;
}

//  Add id (of at most ZJOB_ID_LEN bytes) unless it is there. 0, or -1 if
//  out of memory (the set is then as it was).
static int
s_idset_add (s_idset_t *self, const char *id)
{
    size_t slot = s_idset_slot (self, id);
    if (self->slots [slot])
        return 0;
    if (self->count + 1 > self->capacity / 2) {
        //  Grow: a copy twice the size, the ids added again in order
        s_idset_t bigger = { NULL, NULL, 0, 0 };
        if (s_idset_reset (&bigger, self->capacity * 2))
            return -1;
        for (size_t index = 0; index < self->count; index++)
            s_idset_add (&bigger, self->ids [index]);
        free (self->slots);
        free (self->ids);
        *self = bigger;
        slot = s_idset_slot (self, id);
    }
    snprintf (self->ids [self->count], ZJOB_ID_LEN + 1, "%s", id);
    self->slots [slot] = (uint32_t) ++self->count;
    return 0;
}

//  Empty the set; a set a burst made large goes back to its first size
static void
s_idset_clear (s_idset_t *self)
{
    if (self->capacity > 64 * S_IDSET_MIN && s_idset_reset (self, S_IDSET_MIN) == 0)
        return;
    memset (self->slots, 0, self->capacity * sizeof *self->slots);
    self->count = 0;
}

typedef struct {
    zjob_store_ops_t ops;               //  This store's calls, named after the backend
    const zjob_sql_backend_t *backend;  //  The backend's functions
    void *db;                           //  Its state, owned
    zjob_store_memory_t *table;         //  The broker's view: jobs and records
    s_idset_t dirty_jobs;               //  Ids put or removed since the last commit
    zhashx_t *dirty_records;            //  "kind name" of records likewise
    bool loaded;                        //  The table holds the database's content
    zjob_sql_change_t *changes;         //  The changes of a sync, reused
    size_t changes_alloc;               //  Entries allocated in changes
    msgpack_sbuffer encoded;            //  The jobs' maps of a sync, reused
    size_t *offsets;                    //  Each JOB_PUT's map's offset in encoded
    uint64_t rows_written;              //  Rows in successful commits
    uint64_t commits;                   //  Successful commits
    int64_t last_commit_us;             //  Time of the last commit call
} s_sql_t;

struct _zjob_sql_loader_t {
    s_sql_t *store;  //  Where load puts what it reads
};

//  A non-NULL value for the records' dirty set, whose keys are all that
//  matters
static char s_marker;

//  ---------------------------------------------------------------------
//  Loading

int
zjob_sql_load_job (zjob_sql_loader_t *loader, const char *id, const uint8_t *data,
                   size_t size, zjob_error_t *err)
{
    assert (loader);
    zjob_error_t why;
    zjob_job_t *job = data && size ? zjob_job_decode (data, size, &why) : NULL;
    if (!job)
        return zjob_error_set (err, ZJOB_INTERNAL, "job %.40s: its data does not decode: %s",
                               id ? id : "(no id)", data && size ? why.text : "no data");
    if (id && !streq (id, job->id)) {
        zjob_error_set (err, ZJOB_INTERNAL, "job %.40s: its data holds job %s", id, job->id);
        zjob_job_destroy (&job);
        return -1;
    }
    int rc = zjob_store_memory_insert (loader->store->table, job, 0, NULL);
    zjob_job_destroy (&job);
    if (rc)
        return zjob_error_set (err, ZJOB_INTERNAL, "sql store: out of memory loading jobs");
    return 0;
}

int
zjob_sql_load_record (zjob_sql_loader_t *loader, const char *kind, const char *name,
                      const uint8_t *data, size_t size, zjob_error_t *err)
{
    assert (loader);
    if (!zjob_name_valid (kind) || !zjob_name_valid (name))
        return zjob_error_set (err, ZJOB_INTERNAL, "record '%.64s' '%.64s': kind or name is "
                                                   "not a name",
                               kind ? kind : "(null)", name ? name : "(null)");
    if (!data || size == 0 || size > ZJOB_RECORD_MAX)
        return zjob_error_set (err, ZJOB_INTERNAL, "%s record %s: data is not 1 to %d bytes",
                               kind, name, ZJOB_RECORD_MAX);
    zjob_records_t *records = zjob_store_memory_records (loader->store->table);
    if (zjob_records_put (records, kind, name, data, size, 0, NULL))
        return zjob_error_set (err, ZJOB_INTERNAL, "sql store: out of memory loading records");
    return 0;
}

//  Fill the (empty) table from the database. Rows come in the database's
//  order, so the id index is built once at the end. On failure the table
//  is emptied again: half a load is never served. 0, or -1 with err.
static int
s_load (s_sql_t *self, zjob_error_t *err)
{
    zjob_sql_loader_t loader = { self };
    zjob_store_memory_index_suspend (self->table);
    int64_t start = zclock_usecs ();
    int rc = self->backend->load (self->db, &loader, err);
    if (rc == 0 && zjob_store_memory_index_build (self->table))
        rc = zjob_error_set (err, ZJOB_INTERNAL, "sql store: out of memory indexing jobs");
    if (rc) {
        zjob_store_memory_t *empty = zjob_store_memory_table_new (false);
        if (empty) {
            zjob_store_memory_table_destroy (&self->table);
            self->table = empty;
        }
        else  //  Kept, but never served: nothing is loaded, nothing written
            zjob_log_error ("%s store: out of memory after a failed load", self->backend->name);
        return -1;
    }
    self->loaded = true;
    zjob_log_info ("%s store: loaded %zu jobs and %zu records in %" PRId64 " ms",
                   self->backend->name, zjob_store_memory_size (self->table),
                   zjob_records_total (zjob_store_memory_records (self->table)),
                   (zclock_usecs () - start) / 1000);
    return 0;
}

//  0 if the store may be written, else -1 with err: a shared store before
//  it was acquired
static int
s_writable (s_sql_t *self, zjob_error_t *err)
{
    if (self->loaded)
        return 0;
    return zjob_error_set (err, ZJOB_UNAVAILABLE, "%s store: not the active broker (the "
                                                  "store's lease was not acquired)",
                           self->backend->name);
}


//  ---------------------------------------------------------------------
//  Jobs

static int
s_mark_job (s_sql_t *self, const char *id, zjob_error_t *err)
{
    if (s_idset_add (&self->dirty_jobs, id))
        return zjob_error_set (err, ZJOB_INTERNAL, "sql store: out of memory");
    return 0;
}

static int
s_put (void *self_, zjob_job_t *job, zjob_error_t *err)
{
    s_sql_t *self = (s_sql_t *) self_;
    if (!job || !job->id [0])
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "store put: job without an id");
    if (s_writable (self, err))
        return -1;
    //  Marked first: a job in the table but not marked would never be written
    if (s_mark_job (self, job->id, err))
        return -1;
    if (zjob_store_memory_insert (self->table, job, 0, NULL))
        return zjob_error_set (err, ZJOB_INTERNAL, "store put: out of memory");
    return 0;
}

static zjob_job_t *
s_get (void *self_, const char *id)
{
    s_sql_t *self = (s_sql_t *) self_;
    return zjob_store_memory_ops.get (self->table, id);
}

static int
s_remove (void *self_, const char *id, zjob_error_t *err)
{
    s_sql_t *self = (s_sql_t *) self_;
    if (!zjob_store_memory_lookup (self->table, id))
        return zjob_error_set (err, ZJOB_NOT_FOUND, "job %s not found", id);
    if (s_writable (self, err) || s_mark_job (self, id, err))
        return -1;
    zjob_store_memory_delete (self->table, id, NULL);
    return 0;
}

static int
s_iterate (void *self_, const zjob_filter_t *filter, zjob_store_visit_fn *visit, void *arg)
{
    s_sql_t *self = (s_sql_t *) self_;
    return zjob_store_memory_ops.iterate (self->table, filter, visit, arg);
}

static int
s_walk (void *self_, const zjob_filter_t *filter, bool descending, char *cursor, size_t max,
        zjob_store_visit_fn *visit, void *arg)
{
    s_sql_t *self = (s_sql_t *) self_;
    return zjob_store_memory_walk_ids (self->table, filter, descending, cursor, max, visit, arg);
}

static size_t
s_count (void *self_)
{
    s_sql_t *self = (s_sql_t *) self_;
    return zjob_store_memory_size (self->table);
}


//  ---------------------------------------------------------------------
//  Records: the dirty key is "kind name" (names hold no space)

static int
s_mark_record (s_sql_t *self, const char *kind, const char *name, zjob_error_t *err)
{
    char key [2 * ZJOB_NAME_MAX + 2];
    snprintf (key, sizeof key, "%s %s", kind, name);
    if (zhashx_lookup (self->dirty_records, key))
        return 0;
    if (zhashx_insert (self->dirty_records, key, &s_marker))
        return zjob_error_set (err, ZJOB_INTERNAL, "sql store: out of memory");
    return 0;
}

static int
s_record_put (void *self_, const char *kind, const char *name, const uint8_t *data,
              size_t size, zjob_error_t *err)
{
    s_sql_t *self = (s_sql_t *) self_;
    if (s_writable (self, err) || s_mark_record (self, kind, name, err))
        return -1;
    return zjob_store_memory_ops.record_put (self->table, kind, name, data, size, err);
}

static int
s_record_remove (void *self_, const char *kind, const char *name, zjob_error_t *err)
{
    s_sql_t *self = (s_sql_t *) self_;
    zjob_records_t *records = zjob_store_memory_records (self->table);
    if (!zjob_records_get (records, kind, name, NULL))
        return zjob_error_set (err, ZJOB_NOT_FOUND, "%s record %s not found", kind, name);
    if (s_writable (self, err) || s_mark_record (self, kind, name, err))
        return -1;
    return zjob_store_memory_ops.record_remove (self->table, kind, name, err);
}

static const uint8_t *
s_record_get (void *self_, const char *kind, const char *name, size_t *size_p)
{
    s_sql_t *self = (s_sql_t *) self_;
    return zjob_store_memory_ops.record_get (self->table, kind, name, size_p);
}

static int
s_record_each (void *self_, const char *kind, zjob_store_record_fn *visit, void *arg)
{
    s_sql_t *self = (s_sql_t *) self_;
    return zjob_store_memory_ops.record_each (self->table, kind, visit, arg);
}

static size_t
s_record_count (void *self_, const char *kind)
{
    s_sql_t *self = (s_sql_t *) self_;
    return zjob_store_memory_ops.record_count (self->table, kind);
}


//  ---------------------------------------------------------------------
//  Sync

//  Room for count changes (and their offsets). 0, or -1 if out of memory.
static int
s_reserve (s_sql_t *self, size_t count)
{
    if (count <= self->changes_alloc)
        return 0;
    size_t alloc = self->changes_alloc ? self->changes_alloc : 64;
    while (alloc < count)
        alloc *= 2;
    zjob_sql_change_t *changes = (zjob_sql_change_t *) realloc (self->changes,
                                                                alloc * sizeof *changes);
    if (!changes)
        return -1;
    self->changes = changes;
    size_t *offsets = (size_t *) realloc (self->offsets, alloc * sizeof *offsets);
    if (!offsets)
        return -1;
    self->offsets = offsets;
    self->changes_alloc = alloc;
    return 0;
}

//  The change for job id as the table has it now: its row, whose data is
//  packed into self->encoded at offsets [index] (pointers are set once the
//  buffer no longer moves), or its delete. 0, or -1 if out of memory.
static int
s_job_change (s_sql_t *self, const char *id, size_t index)
{
    zjob_sql_change_t *change = &self->changes [index];
    memset (change, 0, sizeof *change);
    zjob_job_t *job = zjob_store_memory_lookup (self->table, id);
    if (!job) {
        change->kind = ZJOB_SQL_JOB_DELETE;
        change->id = id;
        return 0;
    }
    size_t start = self->encoded.size;
    msgpack_packer packer;
    msgpack_packer_init (&packer, &self->encoded, msgpack_sbuffer_write);
    if (zjob_job_pack (job, &packer)) {
        self->encoded.size = start;
        return -1;
    }
    self->offsets [index] = start;
    change->kind = ZJOB_SQL_JOB_PUT;
    change->id = job->id;
    zjob_sql_row_t *row = &change->row;
    row->id = job->id;
    row->workflow = job->workflow_id;
    row->status = zjob_status_name ((zjob_status_t) job->status);
    row->priority = job->priority;
    row->user_id = job->user_id;
    row->batch_id = job->extra ? job->extra->batch_id : NULL;
    row->created_at = job->created_at;
    row->updated_at = job->updated_at;
    row->started_at = job->started_at;
    row->completed_at = job->completed_at;
    row->attempts = job->attempts;
    row->progress = job->progress;
    row->error_kind = job->error_kind;
    row->size = self->encoded.size - start;
    return 0;
}

//  The change for the record "kind name" at key: its upsert with the
//  table's bytes, or its delete. kind and name point into names, a
//  buffer of the caller's of 2 * (ZJOB_NAME_MAX + 1) bytes.
static void
s_record_change (s_sql_t *self, const char *key, char *names, zjob_sql_change_t *change)
{
    memset (change, 0, sizeof *change);
    snprintf (names, 2 * (ZJOB_NAME_MAX + 1), "%s", key);
    char *name = strchr (names, ' ');
    assert (name);  //  Every key was made by s_mark_record
    *name++ = 0;
    change->record_kind = names;
    change->record_name = name;
    zjob_records_t *records = zjob_store_memory_records (self->table);
    change->data = zjob_records_get (records, names, name, &change->size);
    change->kind = change->data ? ZJOB_SQL_RECORD_PUT : ZJOB_SQL_RECORD_DELETE;
}

//  Give back what a burst made the reused buffers grow to
static void
s_shrink (s_sql_t *self)
{
    if (self->encoded.alloc > ZJOB_SQL_KEEP_BYTES) {
        msgpack_sbuffer_destroy (&self->encoded);
        msgpack_sbuffer_init (&self->encoded);
    }
    if (self->changes_alloc * (sizeof *self->changes + sizeof *self->offsets)
        > ZJOB_SQL_KEEP_BYTES) {
        free (self->changes);
        free (self->offsets);
        self->changes = NULL;
        self->offsets = NULL;
        self->changes_alloc = 0;
    }
}

//  Build the changes of the dirty sets into self->changes; the record
//  names go to names (2 * (ZJOB_NAME_MAX + 1) bytes per record). Returns
//  the number of changes, or -1 if out of memory.
static ssize_t
s_build_changes (s_sql_t *self, char *names)
{
    size_t jobs = self->dirty_jobs.count;
    size_t count = 0;
    self->encoded.size = 0;
    for (; count < jobs; count++)
        if (s_job_change (self, self->dirty_jobs.ids [count], count))
            return -1;
    //  The buffer moves no more: point each row at its map
    for (size_t index = 0; index < jobs; index++)
        if (self->changes [index].kind == ZJOB_SQL_JOB_PUT)
            self->changes [index].row.data = (const uint8_t *) self->encoded.data
                + self->offsets [index];
    for (void *item = zhashx_first (self->dirty_records); item;
         item = zhashx_next (self->dirty_records)) {
        s_record_change (self, (const char *) zhashx_cursor (self->dirty_records),
                         names + (count - jobs) * 2 * (ZJOB_NAME_MAX + 1), &self->changes [count]);
        count++;
    }
    return (ssize_t) count;
}

static int
s_sync (void *self_, zjob_error_t *err)
{
    s_sql_t *self = (s_sql_t *) self_;
    if (s_writable (self, err))
        return -1;
    zjob_store_memory_trim (self->table);
    size_t jobs = self->dirty_jobs.count;
    size_t records = zhashx_size (self->dirty_records);
    bool renews = self->backend->renew_ms && self->backend->renew_ms (self->db) > 0;
    if (jobs + records == 0 && !renews)
        return 0;
    //  Record names are split out of their keys into a buffer of this sync
    char *names = records ? (char *) malloc (records * 2 * (ZJOB_NAME_MAX + 1)) : NULL;
    if ((records && !names) || s_reserve (self, jobs + records)) {
        free (names);
        return zjob_error_set (err, ZJOB_INTERNAL, "%s store: out of memory for a sync",
                               self->backend->name);
    }
    ssize_t count = s_build_changes (self, names);
    if (count < 0) {
        free (names);
        return zjob_error_set (err, ZJOB_INTERNAL, "%s store: out of memory encoding jobs",
                               self->backend->name);
    }
    int64_t start = zclock_usecs ();
    int rc = self->backend->commit (self->db, self->changes, (size_t) count, err);
    self->last_commit_us = zclock_usecs () - start;
    free (names);
    if (rc == 0) {
        self->commits++;
        self->rows_written += (uint64_t) count;
        s_idset_clear (&self->dirty_jobs);
        zhashx_purge (self->dirty_records);
    }
    self->encoded.size = 0;
    s_shrink (self);
    return rc;
}


//  ---------------------------------------------------------------------
//  Shared stores, stats, close

static int
s_acquire (void *self_, zjob_error_t *err)
{
    s_sql_t *self = (s_sql_t *) self_;
    int rc = self->backend->acquire (self->db, err);
    if (rc != 1 || self->loaded)
        return rc;
    return s_load (self, err) ? -1 : 1;
}

static bool
s_fenced (void *self_)
{
    s_sql_t *self = (s_sql_t *) self_;
    return self->backend->fenced && self->backend->fenced (self->db);
}

static int64_t
s_renew_ms (void *self_)
{
    s_sql_t *self = (s_sql_t *) self_;
    return self->backend->renew_ms ? self->backend->renew_ms (self->db) : 0;
}

//  The backend's commit of nothing renews the lease when due; the dirty
//  sets wait for the next sync
static int
s_renew (void *self_, zjob_error_t *err)
{
    s_sql_t *self = (s_sql_t *) self_;
    if (!self->loaded)
        return 0;
    return self->backend->commit (self->db, NULL, 0, err);
}

static void
s_stats (void *self_, zhashx_t *into)
{
    s_sql_t *self = (s_sql_t *) self_;
    if (self->backend->stats)
        self->backend->stats (self->db, into);
    zjob_store_stat (into, "dirty", self->dirty_jobs.count + zhashx_size (self->dirty_records));
    zjob_store_stat (into, "rows_written", self->rows_written);
    zjob_store_stat (into, "commits", self->commits);
    zjob_store_stat (into, "last_commit_us", (uint64_t) self->last_commit_us);
    if (self->table) {
        zjob_store_stat (into, "named_records",
                         zjob_records_total (zjob_store_memory_records (self->table)));
        zjob_store_stat (into, "trims", zjob_store_memory_trims (self->table));
    }
}

static void
s_close (void *self_)
{
    s_sql_t *self = (s_sql_t *) self_;
    if (!self)
        return;
    size_t dirty = self->dirty_jobs.count;
    dirty += self->dirty_records ? zhashx_size (self->dirty_records) : 0;
    if (dirty)
        zjob_log_warning ("%s store: closed with %zu changes never committed",
                          self->backend->name, dirty);
    self->backend->close (self->db);
    zjob_store_memory_table_destroy (&self->table);
    free (self->dirty_jobs.slots);
    free (self->dirty_jobs.ids);
    zhashx_destroy (&self->dirty_records);
    msgpack_sbuffer_destroy (&self->encoded);
    free (self->changes);
    free (self->offsets);
    free (self);
}

//  The ops of a store that is not shared, and of one that is: the three
//  lease calls are what tells the two apart (zjob_store_shared)
#define S_SQL_OPS                                                                   \
    .put = s_put, .get = s_get, .remove = s_remove, .iterate = s_iterate,           \
    .walk = s_walk, .count = s_count, .sync = s_sync, .stats = s_stats,             \
    .close = s_close, .record_put = s_record_put, .record_remove = s_record_remove, \
    .record_get = s_record_get, .record_each = s_record_each,                       \
    .record_count = s_record_count

zjob_store_t *
zjob_store_sql_new (const zjob_sql_backend_t *backend, void *db, zjob_error_t *err)
{
    assert (backend && backend->load && backend->commit && backend->close);
    s_sql_t *self = (s_sql_t *) calloc (1, sizeof *self);
    if (!self) {
        backend->close (db);
        zjob_error_set (err, ZJOB_INTERNAL, "%s store: out of memory", backend->name);
        return NULL;
    }
    self->backend = backend;
    self->db = db;
    msgpack_sbuffer_init (&self->encoded);
    self->table = zjob_store_memory_table_new (false);
    self->dirty_records = zhashx_new ();
    if (!self->table || s_idset_reset (&self->dirty_jobs, S_IDSET_MIN) || !self->dirty_records) {
        s_close (self);
        zjob_error_set (err, ZJOB_INTERNAL, "%s store: out of memory", backend->name);
        return NULL;
    }
    if (!backend->acquire && s_load (self, err)) {
        s_close (self);
        return NULL;
    }
    //  The ops live in self: zjob_store_t reads them no more once it
    //  called close
    self->ops = (zjob_store_ops_t){ .name = backend->name, S_SQL_OPS };
    if (backend->acquire) {
        self->ops.acquire = s_acquire;
        self->ops.fenced = s_fenced;
        self->ops.renew_ms = s_renew_ms;
        self->ops.renew = s_renew;
    }
    zjob_store_t *store = zjob_store_new (&self->ops, self);
    if (!store)
        zjob_error_set (err, ZJOB_INTERNAL, "%s store: out of memory", backend->name);
    return store;
}
