/*  =========================================================================
    zjob_store_sqlite - the SQLite store: sqlite:PATH[?sync=full|normal|off]

    A backend of the SQL layer (zjob_store_sql.h): the broker's view stays
    in the memory table, and this file only loads the database into it at
    open and commits each sync's changes, one transaction per sync
    (BEGIN IMMEDIATE, the prepared upserts and deletes, COMMIT). A commit
    that fails is rolled back whole and its error (SQLite's text: "database
    or disk is full", say) makes the sync fail, so the broker answers 503
    and acknowledges nothing; the layer writes the same changes again at
    the next sync.

    Durability, by the sync option (SQLite's synchronous pragma, in WAL
    mode):
      full    (default) the WAL is fsynced at every commit: nothing is
              acknowledged before it is on disk.
      normal  the WAL is fsynced only at checkpoints: a process crash
              (kill -9, a segfault) loses nothing, since what is written
              to the WAL is in the OS; a power loss or an OS crash may
              lose the last commits (never corrupt the database).
      off     no fsync at all; for tests and benchmarks.

    The database is in WAL mode so that operators can read it with the
    sqlite3 shell while zjobd runs (readers never block the writer, and
    the writer never blocks them); hence no locking_mode=EXCLUSIVE. What
    keeps a second zjobd off the same file is PATH.lock, held with flock
    for the store's life. busy_timeout is short (ZJOB_SQLITE_BUSY_MS): the
    only writer that can stand in the way is an operator writing with the
    shell, and a sync must not wait for one longer than a pass may take;
    it fails instead and the next pass tries again.

    Checkpoints. SQLite's autocheckpoint would copy the WAL back into the
    database inside the commit that passes 1000 pages, fsyncs included:
    measured, up to 50 ms of the broker's pass, and more on a slow disk.
    So a WAL hook (s_wal_hook) takes its place: past the mark it asks a
    thread of the store's own, with its own connection, for a PASSIVE
    checkpoint, which copies the bulk while the commits go on. But the
    WAL starts over (instead of growing for ever) only when a commit finds
    every frame copied, which never happens beside a steady flow of
    commits; so once the thread is done and only a few frames are left
    (ZJOB_SQLITE_FINISH_PAGES, those committed meanwhile), the next commit
    copies them itself: a small checkpoint, whose cost is about that of a
    commit with sync=full (an fsync or two). If the commits outrun the
    thread until the WAL holds ZJOB_SQLITE_WAL_MAX_PAGES (64 MB), a commit
    checkpoints whatever it costs: a long pass, rather than a WAL that
    grows until the disk is full. PASSIVE never waits for a reader: an
    operator's shell that keeps a transaction open only keeps the frames
    it may read from being copied. The stats show the WAL's size and the
    checkpoints' times (sqlite_wal_bytes, sqlite_checkpoints,
    sqlite_commit_checkpoints, sqlite_max_commit_checkpoint_us...).

    Schema (the names are documented in README.md): zjob_meta (key,
    value) with schema_version; zjob_jobs, a row per job with plain
    columns for operators' queries and indexes, and data, the job's
    msgpack map (the truth that load decodes); zjob_records (kind, name,
    data). It is made by migrations, an array of steps, step i taking
    schema_version from i to i + 1 in one transaction; a database whose
    version is newer than this code's refuses to open.
    ========================================================================= */

#include "zjob_store_sql.h"
#include "zjob_log.h"
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/stat.h>

#define ZJOB_SQLITE_BUSY_MS 50             //  msecs a statement waits for another writer
#define ZJOB_SQLITE_CHECKPOINT_PAGES 1000  //  WAL pages that start a checkpoint
#define ZJOB_SQLITE_FINISH_PAGES 256       //  WAL pages left that a commit copies itself
#define ZJOB_SQLITE_WAL_MAX_PAGES 16000    //  WAL pages that make a commit checkpoint
#define ZJOB_SQLITE_WAL_LIMIT (16 << 20)   //  bytes a WAL is cut to when it restarts

//  The migrations: step i moves schema_version from i to i + 1
static const char *s_migrations [] = {
    //  1: the first schema
    "CREATE TABLE zjob_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE zjob_jobs (id TEXT PRIMARY KEY, workflow TEXT NOT NULL,"
    "  status TEXT NOT NULL, priority INTEGER NOT NULL, user_id TEXT, batch_id TEXT,"
    "  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, started_at BIGINT,"
    "  completed_at BIGINT, attempts INTEGER NOT NULL, progress REAL NOT NULL,"
    "  error_kind TEXT, data BLOB NOT NULL);"
    "CREATE INDEX zjob_jobs_status ON zjob_jobs (status, priority DESC, created_at);"
    "CREATE INDEX zjob_jobs_workflow ON zjob_jobs (workflow, status);"
    "CREATE INDEX zjob_jobs_user ON zjob_jobs (user_id, status);"
    "CREATE INDEX zjob_jobs_batch ON zjob_jobs (batch_id) WHERE batch_id IS NOT NULL;"
    "CREATE INDEX zjob_jobs_completed ON zjob_jobs (completed_at)"
    "  WHERE completed_at IS NOT NULL;"
    "CREATE TABLE zjob_records (kind TEXT, name TEXT, data BLOB NOT NULL,"
    "  PRIMARY KEY (kind, name));"
};
#define S_SCHEMA_VERSION ((int) (sizeof s_migrations / sizeof s_migrations [0]))

static const char *s_job_upsert_sql = "INSERT INTO zjob_jobs (id, workflow, status, priority, user_id, batch_id, created_at,"
                                      " updated_at, started_at, completed_at, attempts, progress, error_kind, data)"
                                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                                      " ON CONFLICT (id) DO UPDATE SET workflow = excluded.workflow, status = excluded.status,"
                                      " priority = excluded.priority, user_id = excluded.user_id, batch_id = excluded.batch_id,"
                                      " created_at = excluded.created_at, updated_at = excluded.updated_at,"
                                      " started_at = excluded.started_at, completed_at = excluded.completed_at,"
                                      " attempts = excluded.attempts, progress = excluded.progress,"
                                      " error_kind = excluded.error_kind, data = excluded.data";
static const char *s_job_delete_sql = "DELETE FROM zjob_jobs WHERE id = ?1";
static const char *s_record_upsert_sql = "INSERT INTO zjob_records (kind, name, data) VALUES (?1, ?2, ?3)"
                                         " ON CONFLICT (kind, name) DO UPDATE SET data = excluded.data";
static const char *s_record_delete_sql = "DELETE FROM zjob_records WHERE kind = ?1 AND name = ?2";

typedef struct {
    sqlite3 *db;               //  The connection
    char *path;                //  The database file
    int lockfd;                //  PATH.lock, flocked, or -1
    const char *sync;          //  "full", "normal", "off"
    sqlite3_stmt *job_upsert;  //  The prepared statements of a commit
    sqlite3_stmt *job_delete;
    sqlite3_stmt *record_upsert;
    sqlite3_stmt *record_delete;
    uint64_t failed_commits;           //  Commits rolled back
    int64_t max_commit_us;             //  Longest commit so far
    uint64_t commit_checkpoints;       //  Run by a commit (s_wal_hook)
    int64_t max_commit_checkpoint_us;  //  The longest of those
    int last_pages;                    //  WAL frames after the last commit
    //  The checkpoints' thread (s_checkpointer) and what it shares
    sqlite3 *checkpoint_db;                  //  Its own connection
    pthread_t checkpointer;                  //  The thread, if started
    bool started;                            //  It was
    pthread_mutex_t mutex;                   //  Guards wanted and stopping
    pthread_cond_t wake;                     //  Signalled when either is set
    bool wanted;                             //  The WAL passed the mark
    bool stopping;                           //  The store is closing
    atomic_uint_fast64_t checkpoints;        //  Checkpoints run
    atomic_int_fast64_t last_checkpoint_us;  //  Time of the last one
    atomic_int_fast64_t max_checkpoint_us;   //  Time of the longest one
    atomic_int_fast64_t backfilled;          //  WAL frames copied by the last one
    atomic_bool checkpointing;               //  The thread is running one
} s_sqlite_t;

static int
s_wal_hook (void *self_, sqlite3 *db, const char *name, int pages);
static void
s_checkpointer_start (s_sqlite_t *self);

//  Fill err with what SQLite says went wrong in doing what. Returns -1.
static int
s_fail (s_sqlite_t *self, zjob_error_t *err, const char *what)
{
    int code = sqlite3_extended_errcode (self->db);
    int status = (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED
        ? ZJOB_UNAVAILABLE
        : ZJOB_INTERNAL;
    return zjob_error_set (err, status, "sqlite store %s: %s: %s", self->path, what,
                           sqlite3_errmsg (self->db));
}

static int
s_exec (s_sqlite_t *self, const char *sql, const char *what, zjob_error_t *err)
{
    if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return s_fail (self, err, what);
    return 0;
}

//  Roll back the transaction under way, if any
static void
s_rollback (s_sqlite_t *self)
{
    if (!sqlite3_get_autocommit (self->db))
        sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}


//  ---------------------------------------------------------------------
//  Opening: options, lock, pragmas, migrations, statements

static int
s_parse_options (s_sqlite_t *self, const char *options, zjob_error_t *err)
{
    self->sync = "full";
    if (!options || !*options)
        return 0;
    if (streq (options, "sync=full") || streq (options, "sync=normal")
        || streq (options, "sync=off")) {
        self->sync = streq (options, "sync=full") ? "full"
            : streq (options, "sync=normal")      ? "normal"
                                                  : "off";
        return 0;
    }
    return zjob_error_set (err, ZJOB_BAD_REQUEST, "sqlite store: option '%.60s': the only "
                                                  "option is sync=full|normal|off",
                           options);
}

//  Take PATH.lock, so that no second zjobd opens the same database (SQLite's
//  own locks are per transaction: two brokers would both write)
static int
s_lock (s_sqlite_t *self, zjob_error_t *err)
{
    char *lock = zsys_sprintf ("%s.lock", self->path);
    if (!lock)
        return zjob_error_set (err, ZJOB_INTERNAL, "sqlite store: out of memory");
    self->lockfd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int rc = 0;
    if (self->lockfd < 0)
        rc = zjob_error_set (err, ZJOB_INTERNAL, "sqlite store: cannot open %s: %s", lock,
                             strerror (errno));
    else if (flock (self->lockfd, LOCK_EX | LOCK_NB))
        rc = zjob_error_set (err, ZJOB_INTERNAL, "sqlite store: %s is in use by another "
                                                 "process (%s is locked: another zjobd?)",
                             self->path, lock);
    zstr_free (&lock);
    return rc;
}

//  The schema_version the database has: 0 for a new one (no zjob_meta),
//  or -1 with err filled
static int
s_schema_version (s_sqlite_t *self, zjob_error_t *err)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2 (self->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                      " AND name = 'zjob_meta'",
                            -1, &stmt, NULL)
        != SQLITE_OK)
        return s_fail (self, err, "reading the schema");
    int rc = sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_int (stmt, 0) : -1;
    sqlite3_finalize (stmt);
    if (rc <= 0)
        return rc < 0 ? s_fail (self, err, "reading the schema") : 0;
    if (sqlite3_prepare_v2 (self->db, "SELECT value FROM zjob_meta WHERE key = 'schema_version'",
                            -1, &stmt, NULL)
        != SQLITE_OK)
        return s_fail (self, err, "reading the schema version");
    int version = -1;
    if (sqlite3_step (stmt) == SQLITE_ROW) {
        const char *text = (const char *) sqlite3_column_text (stmt, 0);
        char *end = NULL;
        long value = text ? strtol (text, &end, 10) : -1;
        if (text && *text && end && !*end && value >= 0 && value < INT_MAX)
            version = (int) value;
    }
    sqlite3_finalize (stmt);
    if (version < 0)
        return zjob_error_set (err, ZJOB_INTERNAL, "sqlite store %s: zjob_meta holds no "
                                                   "valid schema_version",
                               self->path);
    return version;
}

//  Bring the schema up to S_SCHEMA_VERSION, a step per transaction
static int
s_migrate (s_sqlite_t *self, zjob_error_t *err)
{
    int version = s_schema_version (self, err);
    if (version < 0)
        return -1;
    if (version > S_SCHEMA_VERSION)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "sqlite store %s: schema version %d is "
                                                      "newer than this zjobd (%d)",
                               self->path, version, S_SCHEMA_VERSION);
    for (; version < S_SCHEMA_VERSION; version++) {
        char set [160];
        snprintf (set, sizeof set, "INSERT INTO zjob_meta (key, value) VALUES "
                                   "('schema_version', '%d') ON CONFLICT (key) DO UPDATE SET "
                                   "value = excluded.value",
                  version + 1);
        if (s_exec (self, "BEGIN IMMEDIATE", "migration", err)
            || s_exec (self, s_migrations [version], "migration", err)
            || s_exec (self, set, "migration", err) || s_exec (self, "COMMIT", "migration", err)) {
            s_rollback (self);
            return -1;
        }
        zjob_log_info ("sqlite store %s: schema version %d", self->path, version + 1);
    }
    return 0;
}

//  Pragmas of the connection: WAL, the sync option, the busy timeout
static int
s_configure (s_sqlite_t *self, zjob_error_t *err)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2 (self->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL) != SQLITE_OK)
        return s_fail (self, err, "setting WAL mode");
    const char *mode = sqlite3_step (stmt) == SQLITE_ROW
        ? (const char *) sqlite3_column_text (stmt, 0)
        : NULL;
    bool wal = mode && streq (mode, "wal");
    sqlite3_finalize (stmt);
    if (!wal)
        return zjob_error_set (err, ZJOB_INTERNAL, "sqlite store %s: cannot use WAL mode "
                                                   "(a filesystem without shared memory?)",
                               self->path);
    char pragmas [192];
    snprintf (pragmas, sizeof pragmas, "PRAGMA synchronous = %s; PRAGMA foreign_keys = OFF; "
                                       "PRAGMA journal_size_limit = %d",
              self->sync, ZJOB_SQLITE_WAL_LIMIT);
    if (s_exec (self, pragmas, "setting pragmas", err))
        return -1;
    sqlite3_busy_timeout (self->db, ZJOB_SQLITE_BUSY_MS);
    sqlite3_wal_hook (self->db, s_wal_hook, self);
    return 0;
}

static int
s_prepare (s_sqlite_t *self, zjob_error_t *err)
{
    struct {
        const char *sql;
        sqlite3_stmt **stmt;
    } statements [] = {
        { s_job_upsert_sql, &self->job_upsert },
        { s_job_delete_sql, &self->job_delete },
        { s_record_upsert_sql, &self->record_upsert },
        { s_record_delete_sql, &self->record_delete },
    };
    for (size_t index = 0; index < sizeof statements / sizeof statements [0]; index++)
        if (sqlite3_prepare_v3 (self->db, statements [index].sql, -1, SQLITE_PREPARE_PERSISTENT,
                                statements [index].stmt, NULL)
            != SQLITE_OK)
            return s_fail (self, err, "preparing statements");
    return 0;
}

//  mkdir -p of the directory the database is in, with mode 0700 for what
//  it creates (as the file store does for its directory). 0, or -1 with
//  errno set.
static int
s_make_parent (const char *path)
{
    char *dir = strdup (path);
    if (!dir)
        return -1;
    char *last = strrchr (dir, '/');
    int rc = 0;
    if (last && last != dir) {
        *last = 0;
        for (char *slash = strchr (dir + 1, '/'); rc == 0; slash = strchr (slash + 1, '/')) {
            if (slash)
                *slash = 0;
            if (mkdir (dir, 0700) && errno != EEXIST)
                rc = -1;
            if (!slash)
                break;
            *slash = '/';
        }
    }
    int error = errno;
    free (dir);
    errno = error;
    return rc;
}

static int
s_open (s_sqlite_t *self, zjob_error_t *err)
{
    if (s_make_parent (self->path))
        return zjob_error_set (err, ZJOB_INTERNAL, "sqlite store: cannot create the directory "
                                                   "of %s: %s",
                               self->path, strerror (errno));
    if (s_lock (self, err))
        return -1;
    //  Created here, so that the file (and the WAL SQLite makes beside it
    //  with the same mode) is the owner's only: it holds every job's data
    int fd = open (self->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return zjob_error_set (err, ZJOB_INTERNAL, "sqlite store: cannot open %s: %s",
                               self->path, strerror (errno));
    close (fd);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2 (self->path, &self->db, flags, NULL) != SQLITE_OK) {
        if (!self->db)
            return zjob_error_set (err, ZJOB_INTERNAL, "sqlite store: out of memory");
        return s_fail (self, err, "open");
    }
    sqlite3_extended_result_codes (self->db, 1);
    if (s_configure (self, err) || s_migrate (self, err) || s_prepare (self, err))
        return -1;
    s_checkpointer_start (self);
    return 0;
}


//  ---------------------------------------------------------------------
//  The backend

static int
s_load (void *self_, zjob_sql_loader_t *loader, zjob_error_t *err)
{
    s_sqlite_t *self = (s_sqlite_t *) self_;
    sqlite3_stmt *stmt = NULL;
    int rc = 0, step;
    if (sqlite3_prepare_v2 (self->db, "SELECT id, data FROM zjob_jobs", -1, &stmt, NULL)
        != SQLITE_OK)
        return s_fail (self, err, "loading jobs");
    while (rc == 0 && (step = sqlite3_step (stmt)) == SQLITE_ROW) {
        const char *id = (const char *) sqlite3_column_text (stmt, 0);
        const uint8_t *data = (const uint8_t *) sqlite3_column_blob (stmt, 1);
        int size = sqlite3_column_bytes (stmt, 1);
        zjob_error_t why;
        if (!id)
            rc = zjob_error_set (err, ZJOB_INTERNAL, "sqlite store %s: a row of zjob_jobs "
                                                     "has no id",
                                 self->path);
        else if (zjob_sql_load_job (loader, id, data, (size_t) size, &why))
            rc = zjob_error_set (err, why.code, "sqlite store %s: %s", self->path, why.text);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = s_fail (self, err, "loading jobs");
    sqlite3_finalize (stmt);
    if (rc)
        return rc;
    if (sqlite3_prepare_v2 (self->db, "SELECT kind, name, data FROM zjob_records", -1, &stmt,
                            NULL)
        != SQLITE_OK)
        return s_fail (self, err, "loading records");
    while (rc == 0 && (step = sqlite3_step (stmt)) == SQLITE_ROW) {
        const uint8_t *data = (const uint8_t *) sqlite3_column_blob (stmt, 2);
        zjob_error_t why;
        if (zjob_sql_load_record (loader, (const char *) sqlite3_column_text (stmt, 0),
                                  (const char *) sqlite3_column_text (stmt, 1), data,
                                  (size_t) sqlite3_column_bytes (stmt, 2), &why))
            rc = zjob_error_set (err, why.code, "sqlite store %s: %s", self->path, why.text);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = s_fail (self, err, "loading records");
    sqlite3_finalize (stmt);
    return rc;
}

static void
s_bind_text (sqlite3_stmt *stmt, int index, const char *text)
{
    if (text)
        sqlite3_bind_text (stmt, index, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null (stmt, index);
}

static void
s_bind_time (sqlite3_stmt *stmt, int index, int64_t ms)
{
    if (ms)
        sqlite3_bind_int64 (stmt, index, ms);
    else
        sqlite3_bind_null (stmt, index);
}

//  Bind change's values to the statement of its kind, which it returns
static sqlite3_stmt *
s_bind (s_sqlite_t *self, const zjob_sql_change_t *change)
{
    sqlite3_stmt *stmt = NULL;
    const zjob_sql_row_t *row = &change->row;
    switch (change->kind) {
        case ZJOB_SQL_JOB_PUT:
            stmt = self->job_upsert;
            s_bind_text (stmt, 1, row->id);
            s_bind_text (stmt, 2, row->workflow);
            s_bind_text (stmt, 3, row->status);
            sqlite3_bind_int (stmt, 4, row->priority);
            s_bind_text (stmt, 5, row->user_id);
            s_bind_text (stmt, 6, row->batch_id);
            sqlite3_bind_int64 (stmt, 7, row->created_at);
            sqlite3_bind_int64 (stmt, 8, row->updated_at);
            s_bind_time (stmt, 9, row->started_at);
            s_bind_time (stmt, 10, row->completed_at);
            sqlite3_bind_int64 (stmt, 11, row->attempts);
            sqlite3_bind_double (stmt, 12, row->progress);
            s_bind_text (stmt, 13, row->error_kind);
            sqlite3_bind_blob64 (stmt, 14, row->data, row->size, SQLITE_STATIC);
            break;
        case ZJOB_SQL_JOB_DELETE:
            stmt = self->job_delete;
            s_bind_text (stmt, 1, change->id);
            break;
        case ZJOB_SQL_RECORD_PUT:
            stmt = self->record_upsert;
            s_bind_text (stmt, 1, change->record_kind);
            s_bind_text (stmt, 2, change->record_name);
            sqlite3_bind_blob64 (stmt, 3, change->data, change->size, SQLITE_STATIC);
            break;
        case ZJOB_SQL_RECORD_DELETE:
            stmt = self->record_delete;
            s_bind_text (stmt, 1, change->record_kind);
            s_bind_text (stmt, 2, change->record_name);
            break;
    }
    return stmt;
}

//  One PASSIVE checkpoint through db, timed: returns the usecs it took
static int64_t
s_checkpoint (s_sqlite_t *self, sqlite3 *db)
{
    int64_t start = zclock_usecs ();
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    int64_t took = zclock_usecs () - start;
    if (rc == SQLITE_OK)
        atomic_store (&self->backfilled, done);
    atomic_store (&self->last_checkpoint_us, took);
    if (took > atomic_load (&self->max_checkpoint_us))
        atomic_store (&self->max_checkpoint_us, took);
    atomic_fetch_add (&self->checkpoints, 1);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        zjob_log_warning ("sqlite store %s: checkpoint: %s", self->path, sqlite3_errmsg (db));
    return took;
}

//  The checkpoints' thread: a checkpoint each time the WAL hook asks
static void *
s_checkpointer (void *arg)
{
    s_sqlite_t *self = (s_sqlite_t *) arg;
    pthread_mutex_lock (&self->mutex);
    while (!self->stopping) {
        if (!self->wanted) {
            pthread_cond_wait (&self->wake, &self->mutex);
            continue;
        }
        self->wanted = false;
        atomic_store (&self->checkpointing, true);
        pthread_mutex_unlock (&self->mutex);
        s_checkpoint (self, self->checkpoint_db);
        pthread_mutex_lock (&self->mutex);
        atomic_store (&self->checkpointing, false);
    }
    pthread_mutex_unlock (&self->mutex);
    return NULL;
}

//  Start the checkpoints' thread on a connection of its own. Without one
//  (it cannot start), the commits checkpoint themselves
static void
s_checkpointer_start (s_sqlite_t *self)
{
    if (!sqlite3_threadsafe ()) {
        zjob_log_warning ("sqlite store %s: SQLite is built without threads: commits "
                          "checkpoint the WAL themselves",
                          self->path);
        return;
    }
    //  A connection finds the WAL when it first reads the database: until
    //  then its checkpoints would do nothing
    if (sqlite3_open_v2 (self->path, &self->checkpoint_db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)
            != SQLITE_OK
        || sqlite3_exec (self->checkpoint_db, "SELECT count(*) FROM sqlite_master", NULL, NULL,
                         NULL)
            != SQLITE_OK
        || pthread_create (&self->checkpointer, NULL, s_checkpointer, self) != 0) {
        zjob_log_warning ("sqlite store %s: no checkpoint thread (%s): commits checkpoint "
                          "the WAL themselves",
                          self->path, self->checkpoint_db ? sqlite3_errmsg (self->checkpoint_db) : "out of memory");
        sqlite3_close (self->checkpoint_db);
        self->checkpoint_db = NULL;
        return;
    }
    self->started = true;
}

//  Called by SQLite after each commit, in place of its autocheckpoint,
//  with the frames in the WAL. A checkpoint copies frames to the database
//  while commits go on; but the WAL starts over (and stops growing) only
//  when a commit finds every frame copied, which a checkpoint running
//  beside a steady flow of commits never achieves on its own. So: the
//  thread copies the bulk, once the WAL holds ZJOB_SQLITE_CHECKPOINT_PAGES;
//  when it is done and only a few frames are left (those committed
//  meanwhile), the next commit copies those itself, a short pass since
//  the thread did the rest, and the WAL starts over. A commit that finds
//  the WAL at ZJOB_SQLITE_WAL_MAX_PAGES (commits outrunning the thread)
//  checkpoints whatever it costs: a long pass rather than a WAL that
//  grows without end.
static int
s_wal_hook (void *self_, sqlite3 *db, const char *name, int pages)
{
    (void) name;
    s_sqlite_t *self = (s_sqlite_t *) self_;
    if (pages < self->last_pages)
        atomic_store (&self->backfilled, 0);  //  It started over
    self->last_pages = pages;
    if (pages < ZJOB_SQLITE_CHECKPOINT_PAGES)
        return SQLITE_OK;
    int behind = pages - (int) atomic_load (&self->backfilled);
    bool running = atomic_load (&self->checkpointing);
    if (!self->started || pages >= ZJOB_SQLITE_WAL_MAX_PAGES
        || (!running && behind >= 0 && behind <= ZJOB_SQLITE_FINISH_PAGES)) {
        int64_t took = s_checkpoint (self, db);
        if (took > self->max_commit_checkpoint_us)
            self->max_commit_checkpoint_us = took;
        self->commit_checkpoints++;
        return SQLITE_OK;
    }
    if (running || (behind >= 0 && behind <= ZJOB_SQLITE_FINISH_PAGES))
        return SQLITE_OK;  //  The thread is at it; the commit after it finishes
    pthread_mutex_lock (&self->mutex);
    self->wanted = true;
    pthread_cond_signal (&self->wake);
    pthread_mutex_unlock (&self->mutex);
    return SQLITE_OK;
}

static int
s_commit (void *self_, const zjob_sql_change_t *changes, size_t count, zjob_error_t *err)
{
    s_sqlite_t *self = (s_sqlite_t *) self_;
    if (count == 0)
        return 0;
    int64_t start = zclock_usecs ();
    if (s_exec (self, "BEGIN IMMEDIATE", "commit (begin)", err))
        return -1;
    for (size_t index = 0; index < count; index++) {
        sqlite3_stmt *stmt = s_bind (self, &changes [index]);
        int rc = sqlite3_step (stmt);
        sqlite3_reset (stmt);
        sqlite3_clear_bindings (stmt);
        if (rc != SQLITE_DONE) {
            s_fail (self, err, "commit");
            s_rollback (self);
            self->failed_commits++;
            return -1;
        }
    }
    if (s_exec (self, "COMMIT", "commit", err)) {
        s_rollback (self);
        self->failed_commits++;
        return -1;
    }
    int64_t took = zclock_usecs () - start;
    if (took > self->max_commit_us)
        self->max_commit_us = took;
    return 0;
}

static void
s_stats (void *self_, zhashx_t *into)
{
    s_sqlite_t *self = (s_sqlite_t *) self_;
    char *wal = zsys_sprintf ("%s-wal", self->path);
    struct stat info;
    zjob_store_stat (into, "sqlite_wal_bytes", wal && stat (wal, &info) == 0 ? (uint64_t) info.st_size : 0);
    zstr_free (&wal);
    sqlite3_stmt *stmt;
    int64_t pages = 0, page_size = 0;
    if (sqlite3_prepare_v2 (self->db, "PRAGMA page_count", -1, &stmt, NULL) == SQLITE_OK) {
        if (sqlite3_step (stmt) == SQLITE_ROW)
            pages = sqlite3_column_int64 (stmt, 0);
        sqlite3_finalize (stmt);
    }
    if (sqlite3_prepare_v2 (self->db, "PRAGMA page_size", -1, &stmt, NULL) == SQLITE_OK) {
        if (sqlite3_step (stmt) == SQLITE_ROW)
            page_size = sqlite3_column_int64 (stmt, 0);
        sqlite3_finalize (stmt);
    }
    zjob_store_stat (into, "sqlite_page_count", (uint64_t) pages);
    zjob_store_stat (into, "sqlite_page_size", (uint64_t) page_size);
    zjob_store_stat (into, "sqlite_failed_commits", self->failed_commits);
    zjob_store_stat (into, "sqlite_max_commit_us", (uint64_t) self->max_commit_us);
    zjob_store_stat (into, "sqlite_checkpoints", atomic_load (&self->checkpoints));
    zjob_store_stat (into, "sqlite_commit_checkpoints", self->commit_checkpoints);
    zjob_store_stat (into, "sqlite_max_commit_checkpoint_us", (uint64_t) self->max_commit_checkpoint_us);
    zjob_store_stat (into, "sqlite_last_checkpoint_us", (uint64_t) atomic_load (&self->last_checkpoint_us));
    zjob_store_stat (into, "sqlite_max_checkpoint_us", (uint64_t) atomic_load (&self->max_checkpoint_us));
    zhashx_update (into, "sqlite_sync", (void *) self->sync);
    zhashx_update (into, "sqlite_path", self->path);
}

static void
s_close (void *self_)
{
    s_sqlite_t *self = (s_sqlite_t *) self_;
    if (!self)
        return;
    if (self->started) {
        pthread_mutex_lock (&self->mutex);
        self->stopping = true;
        pthread_cond_signal (&self->wake);
        pthread_mutex_unlock (&self->mutex);
        pthread_join (self->checkpointer, NULL);
    }
    sqlite3_close (self->checkpoint_db);
    pthread_mutex_destroy (&self->mutex);
    pthread_cond_destroy (&self->wake);
    sqlite3_finalize (self->job_upsert);
    sqlite3_finalize (self->job_delete);
    sqlite3_finalize (self->record_upsert);
    sqlite3_finalize (self->record_delete);
    if (self->db && sqlite3_close (self->db) != SQLITE_OK)
        zjob_log_warning ("sqlite store %s: close: %s", self->path, sqlite3_errmsg (self->db));
    if (self->lockfd >= 0)
        close (self->lockfd);  //  Releases the flock
    free (self->path);
    free (self);
}

static const zjob_sql_backend_t s_sqlite_backend = {
    .name = "sqlite",
    .load = s_load,
    .commit = s_commit,
    .stats = s_stats,
    .close = s_close,
};

zjob_store_t *
zjob_store_sqlite_new (const char *path, const char *options, zjob_error_t *err)
{
    if (!path || !*path) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "sqlite store: no file given");
        return NULL;
    }
    s_sqlite_t *self = (s_sqlite_t *) calloc (1, sizeof *self);
    if (!self || !(self->path = strdup (path))) {
        free (self);
        zjob_error_set (err, ZJOB_INTERNAL, "sqlite store: out of memory");
        return NULL;
    }
    self->lockfd = -1;
    pthread_mutex_init (&self->mutex, NULL);
    pthread_cond_init (&self->wake, NULL);
    atomic_init (&self->checkpoints, 0);
    atomic_init (&self->last_checkpoint_us, 0);
    atomic_init (&self->max_checkpoint_us, 0);
    atomic_init (&self->backfilled, 0);
    atomic_init (&self->checkpointing, false);
    if (s_parse_options (self, options, err) || s_open (self, err)) {
        s_close (self);
        return NULL;
    }
    return zjob_store_sql_new (&s_sqlite_backend, self, err);
}
