/*  =========================================================================
    zjob_store_pg - the PostgreSQL store: a backend of the SQL layer

    The SQL layer (zjob_store_sql.c) keeps every job in memory and hands
    this backend, at each sync, the rows that changed; this file writes
    them, loads them at the start, and holds the lease that lets several
    brokers share one database with one of them active.

    Commit. One pipeline (libpq's pipeline mode): BEGIN, SELECT zjob_fence
    (epoch, lease), an upsert or delete per change (statements prepared
    once per connection, the job's msgpack map sent as binary bytea, the
    rest as text), COMMIT, then one Sync and the results read. A pass of a
    thousand changes is one round trip, not a thousand. If anything fails
    the transaction rolls back whole and the layer keeps its changes for
    the next sync; nothing of it was acknowledged.

    Lease and fencing. zjob_lease holds one row: the active broker's
    epoch, its name ("HOST pid N") and when its lease ends (the server's
    clock). A standby's acquire takes pg_try_advisory_lock(0x7a6a6f62)
    and takes the lease over (epoch + 1) when it got the lock, which only
    happens once the holder's session is gone (killed, crashed,
    disconnected), or when the lease expired (a stopped holder whose
    session lingers). zjob_fence, a plpgsql function, renews the lease
    only for its epoch and raises SQLSTATE ZJ001 otherwise; it runs first
    in every commit and holds the lease row's lock to the COMMIT, so a
    take-over and a commit of the old holder are serialised: once the new
    epoch committed, every commit of the old one fails, and the store is
    fenced for good. From its first write on, the active session has
    idle_session_timeout set to the lease, so the session of a holder
    stopped by SIGSTOP dies on the server (its advisory lock with it)
    rather than lingering; not before, since the load and the broker's
    recovery after it are long silences of a busy holder.

    Migrations: steps under pg_advisory_xact_lock in one transaction, the
    version in zjob_meta, a newer version than this code knows refused.
    Options after '#': lease=DURATION (default 5s, at least 1s).
    ========================================================================= */

#include "zjob_store_pg_impl.h"
#include "zjob_log.h"
#include "zjob_util.h"

#define ZJOB_PG_SCHEMA_VERSION 1  //  What this code writes and reads

//  The schema: step i moves schema_version i to i + 1
static const char *const s_migrations [ZJOB_PG_SCHEMA_VERSION] = {
    "CREATE TABLE zjob_jobs (id TEXT PRIMARY KEY, workflow TEXT NOT NULL,"
    " status TEXT NOT NULL, priority INTEGER NOT NULL, user_id TEXT, batch_id TEXT,"
    " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, started_at BIGINT,"
    " completed_at BIGINT, attempts INTEGER NOT NULL, progress REAL NOT NULL,"
    " error_kind TEXT, data BYTEA NOT NULL);"
    "CREATE INDEX zjob_jobs_status ON zjob_jobs (status, priority DESC, created_at);"
    "CREATE INDEX zjob_jobs_workflow ON zjob_jobs (workflow, status);"
    "CREATE INDEX zjob_jobs_user ON zjob_jobs (user_id, status);"
    "CREATE INDEX zjob_jobs_batch ON zjob_jobs (batch_id) WHERE batch_id IS NOT NULL;"
    "CREATE INDEX zjob_jobs_completed ON zjob_jobs (completed_at)"
    " WHERE completed_at IS NOT NULL;"
    "CREATE TABLE zjob_records (kind TEXT, name TEXT, data BYTEA NOT NULL,"
    " PRIMARY KEY (kind, name));"
    "CREATE TABLE zjob_lease (name TEXT PRIMARY KEY DEFAULT 'zjob', epoch BIGINT NOT NULL,"
    " holder TEXT NOT NULL, acquired_at TIMESTAMPTZ, expires_at TIMESTAMPTZ);"
    "INSERT INTO zjob_lease (name, epoch, holder) VALUES ('zjob', 0, '');"
    //  The row lock the UPDATE takes is held to the commit's end, so a
    //  take-over waits for it, and a commit waits for a take-over
    "CREATE FUNCTION zjob_fence (p_epoch BIGINT, p_lease_ms BIGINT) RETURNS BIGINT"
    " LANGUAGE plpgsql AS $$"
    " DECLARE l_holder TEXT; l_epoch BIGINT;"
    " BEGIN"
    "  UPDATE zjob_lease SET expires_at = now () + p_lease_ms * interval '1 millisecond'"
    "   WHERE name = 'zjob' AND epoch = p_epoch;"
    "  IF NOT FOUND THEN"
    "   SELECT holder, epoch INTO l_holder, l_epoch FROM zjob_lease WHERE name = 'zjob';"
    "   RAISE EXCEPTION 'lost the lease to % (epoch %): another broker is active',"
    "    coalesce (l_holder, 'nobody'), coalesce (l_epoch, 0) USING ERRCODE = 'ZJ001';"
    "  END IF;"
    "  RETURN p_epoch;"
    " END $$;"
};

//  Statements prepared on every connection, by name
static const struct {
    const char *name;
    const char *sql;
} s_statements [] = {
    { "zjob_fence", "SELECT zjob_fence ($1::bigint, $2::bigint)" },
    { "zjob_put",
      "INSERT INTO zjob_jobs (id, workflow, status, priority, user_id, batch_id, created_at,"
      " updated_at, started_at, completed_at, attempts, progress, error_kind, data)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
      " ON CONFLICT (id) DO UPDATE SET workflow = EXCLUDED.workflow, status = EXCLUDED.status,"
      " priority = EXCLUDED.priority, user_id = EXCLUDED.user_id, batch_id = EXCLUDED.batch_id,"
      " created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,"
      " started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at,"
      " attempts = EXCLUDED.attempts, progress = EXCLUDED.progress,"
      " error_kind = EXCLUDED.error_kind, data = EXCLUDED.data" },
    { "zjob_delete", "DELETE FROM zjob_jobs WHERE id = $1" },
    { "zjob_record_put", "INSERT INTO zjob_records (kind, name, data) VALUES ($1, $2, $3)"
                         " ON CONFLICT (kind, name) DO UPDATE SET data = EXCLUDED.data" },
    { "zjob_record_delete", "DELETE FROM zjob_records WHERE kind = $1 AND name = $2" },
};
#define S_STATEMENTS (sizeof s_statements / sizeof s_statements [0])

static int64_t
s_min (int64_t a, int64_t b)
{
    return a < b ? a : b;
}


//  ---------------------------------------------------------------------
//  Session set-up: migrations, statements, the lease's session state

//  Run sql (no params, no result wanted). 0 or -1 with err filled.
static int
s_run (zjob_store_pg_t *self, const char *sql, int nparams, const char *const *values,
       zjob_error_t *err)
{
    PGresult *result = zjob_pg_exec (self, sql, nparams, values, err);
    PQclear (result);
    return result ? 0 : -1;
}

//  Bring the schema to ZJOB_PG_SCHEMA_VERSION, under a transaction lock
//  so two brokers starting at once do not both create it. 0 or -1.
static int
s_migrate (zjob_store_pg_t *self, zjob_error_t *err)
{
    char key [24];
    snprintf (key, sizeof key, "%d", ZJOB_PG_MIGRATE_KEY);
    const char *lock [] = { key };
    if (s_run (self, "BEGIN", 0, NULL, err)
        || s_run (self, "SELECT pg_advisory_xact_lock ($1::bigint)", 1, lock, err)
        || s_run (self, "CREATE TABLE IF NOT EXISTS zjob_meta (key TEXT PRIMARY KEY,"
                        " value TEXT NOT NULL)",
                  0, NULL, err))
        goto failed;
    PGresult *result = zjob_pg_exec (
        self, "SELECT value FROM zjob_meta WHERE key = 'schema_version'", 0, NULL, err);
    if (!result)
        goto failed;
    int version = PQntuples (result) ? atoi (PQgetvalue (result, 0, 0)) : 0;
    PQclear (result);
    if (version > ZJOB_PG_SCHEMA_VERSION) {
        zjob_error_set (err, ZJOB_BAD_REQUEST,
                        "postgres: %s: schema version %d is newer than this zjobd (%d)",
                        self->server, version, ZJOB_PG_SCHEMA_VERSION);
        goto failed;
    }
    for (int step = version; step < ZJOB_PG_SCHEMA_VERSION; step++) {
        char next [16];
        snprintf (next, sizeof next, "%d", step + 1);
        const char *values [] = { next };
        if (s_run (self, s_migrations [step], -1, NULL, err)
            || s_run (self, "INSERT INTO zjob_meta (key, value) VALUES ('schema_version', $1)"
                            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                      1, values, err))
            goto failed;
        zjob_log_info ("postgres: %s: schema version %d", self->server, step + 1);
    }
    return s_run (self, "COMMIT", 0, NULL, err);

failed:
    if (self->conn && PQtransactionStatus (self->conn) != PQTRANS_IDLE) {
        zjob_error_t ignored;
        s_run (self, "ROLLBACK", 0, NULL, &ignored);
    }
    return -1;
}

//  Prepare s_statements on the connection, in one round trip. 0 or -1.
static int
s_prepare (zjob_store_pg_t *self, zjob_error_t *err)
{
    if (!PQenterPipelineMode (self->conn))
        return zjob_pg_fail (self, NULL, ZJOB_UNAVAILABLE, err);
    for (size_t index = 0; index < S_STATEMENTS; index++)
        if (!PQsendPrepare (self->conn, s_statements [index].name, s_statements [index].sql, 0,
                            NULL))
            return zjob_pg_fail (self, NULL, ZJOB_UNAVAILABLE, err);
    char sqlstate [6];
    return zjob_pg_pipeline_end (self, sqlstate, err);
}

//  The active broker's session: the server ends it after a lease of
//  silence, so a holder stopped (SIGSTOP) loses its advisory lock
static int
s_set_idle_timeout (zjob_store_pg_t *self, zjob_error_t *err)
{
    char sql [64];
    snprintf (sql, sizeof sql, "SET idle_session_timeout = %" PRId64, self->lease_ms);
    return s_run (self, sql, 0, NULL, err);
}

//  Try the advisory lock if this session does not hold it. 0 (got or
//  not: self->locked says), or -1 with err filled.
static int
s_try_lock (zjob_store_pg_t *self, zjob_error_t *err)
{
    if (self->locked)
        return 0;
    char key [24];
    snprintf (key, sizeof key, "%d", ZJOB_PG_LEASE_KEY);
    const char *values [] = { key };
    PGresult *result = zjob_pg_exec (self, "SELECT pg_try_advisory_lock ($1::bigint)", 1,
                                     values, err);
    if (!result)
        return -1;
    self->locked = PQntuples (result) == 1 && streq (PQgetvalue (result, 0, 0), "t");
    PQclear (result);
    return 0;
}

static void
s_fence (zjob_store_pg_t *self, const char *message)
{
    self->fenced = true;
    zjob_error_set (&self->fence_error, ZJOB_UNAVAILABLE, "%s", message);
    zjob_log_error ("postgres: %s: %s", self->server, message);
}

//  A new connection's set-up (zjob_pg_ensure's ready): the statements,
//  and for the active broker its lock and the check that the lease is
//  still its own. 0 or -1 with err filled (fenced if it is not).
static int
s_session_ready (zjob_store_pg_t *self, zjob_error_t *err)
{
    //  A server before 14 has no idle_session_timeout
    self->idle_timeout_works = PQserverVersion (self->conn) >= 140000;
    if (s_prepare (self, err))
        return -1;
    if (self->epoch == 0)
        return 0;
    if (s_try_lock (self, err))
        return -1;
    PGresult *result = zjob_pg_exec (
        self, "SELECT epoch, holder FROM zjob_lease WHERE name = 'zjob'", 0, NULL, err);
    if (!result)
        return -1;
    int64_t epoch = PQntuples (result) ? atoll (PQgetvalue (result, 0, 0)) : 0;
    if (epoch != self->epoch) {
        char message [200];
        snprintf (message, sizeof message,
                  "lost the lease to %.100s (epoch %" PRId64 "): another broker is active",
                  PQntuples (result) ? PQgetvalue (result, 0, 1) : "nobody", epoch);
        PQclear (result);
        s_fence (self, message);
        if (err)
            *err = self->fence_error;
        return -1;
    }
    PQclear (result);
    zjob_error_t why;
    if (!self->idle_timeout || !self->idle_timeout_works || s_set_idle_timeout (self, &why) == 0)
        return 0;
    //  A server before 14 has no such setting: the lease still holds,
    //  a stopped holder's session only lingers longer
    if (!self->conn) {
        if (err)
            *err = why;
        return -1;
    }
    zjob_log_warning ("%s", why.text);
    return 0;
}


//  ---------------------------------------------------------------------
//  Commit

//  Text of an integer param, in buffer (NULL for a time of 0 = SQL NULL)
static const char *
s_integer (char *buffer, size_t size, int64_t value, bool zero_is_null)
{
    if (zero_is_null && value == 0)
        return NULL;
    snprintf (buffer, size, "%" PRId64, value);
    return buffer;
}

//  Queue one change in the pipeline. 0, or -1 if libpq refused it.
static int
s_send_change (zjob_store_pg_t *self, const zjob_sql_change_t *change)
{
    if (change->kind == ZJOB_SQL_JOB_PUT) {
        const zjob_sql_row_t *row = &change->row;
        char numbers [7][32];
        const char *values [14] = {
            row->id, row->workflow, row->status,
            s_integer (numbers [0], 32, row->priority, false), row->user_id, row->batch_id,
            s_integer (numbers [1], 32, row->created_at, false),
            s_integer (numbers [2], 32, row->updated_at, false),
            s_integer (numbers [3], 32, row->started_at, true),
            s_integer (numbers [4], 32, row->completed_at, true),
            s_integer (numbers [5], 32, row->attempts, false), numbers [6], row->error_kind,
            (const char *) row->data
        };
        snprintf (numbers [6], 32, "%.9g", row->progress);
        int lengths [14] = { [13] = (int) row->size };
        int formats [14] = { [13] = 1 };
        return PQsendQueryPrepared (self->conn, "zjob_put", 14, values, lengths, formats, 0)
            ? 0
            : -1;
    }
    if (change->kind == ZJOB_SQL_JOB_DELETE) {
        const char *values [] = { change->id };
        return PQsendQueryPrepared (self->conn, "zjob_delete", 1, values, NULL, NULL, 0) ? 0 : -1;
    }
    if (change->kind == ZJOB_SQL_RECORD_PUT) {
        const char *values [] = { change->record_kind, change->record_name,
                                  (const char *) change->data };
        int lengths [] = { 0, 0, (int) change->size };
        int formats [] = { 0, 0, 1 };
        return PQsendQueryPrepared (self->conn, "zjob_record_put", 3, values, lengths, formats, 0)
            ? 0
            : -1;
    }
    const char *values [] = { change->record_kind, change->record_name };
    return PQsendQueryPrepared (self->conn, "zjob_record_delete", 2, values, NULL, NULL, 0) ? 0 : -1;
}

//  BEGIN, fence, the changes, COMMIT, Sync: one round trip. 0 or -1.
static int
s_pipeline (zjob_store_pg_t *self, const zjob_sql_change_t *changes, size_t count,
            zjob_error_t *err)
{
    char epoch [24], lease [24];
    snprintf (epoch, sizeof epoch, "%" PRId64, self->epoch);
    snprintf (lease, sizeof lease, "%" PRId64, self->lease_ms);
    const char *fence [] = { epoch, lease };
    //  From the first write on, the server ends the session after a lease
    //  of silence, so a stopped holder loses its lock; not before, since
    //  the load and the recovery after it are long silences. In the
    //  pipeline, so it costs no round trip, and undone if it rolls back
    char idle [64];
    snprintf (idle, sizeof idle, "SET idle_session_timeout = %" PRId64, self->lease_ms);
    bool set_idle = count > 0 && !self->idle_timeout && self->idle_timeout_works;
    if (!PQenterPipelineMode (self->conn)
        || !PQsendQueryParams (self->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0)
        || (set_idle && !PQsendQueryParams (self->conn, idle, 0, NULL, NULL, NULL, NULL, 0))
        || !PQsendQueryPrepared (self->conn, "zjob_fence", 2, fence, NULL, NULL, 0))
        return zjob_pg_fail (self, NULL, ZJOB_UNAVAILABLE, err);
    for (size_t index = 0; index < count; index++)
        if (s_send_change (self, &changes [index]))
            return zjob_pg_fail (self, NULL, ZJOB_UNAVAILABLE, err);
    if (!PQsendQueryParams (self->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
        return zjob_pg_fail (self, NULL, ZJOB_UNAVAILABLE, err);
    self->pipeline_depth = count + 3 + set_idle;
    char sqlstate [6];
    if (zjob_pg_pipeline_end (self, sqlstate, err) == 0) {
        self->idle_timeout |= set_idle;
        return 0;
    }
    if (streq (sqlstate, "ZJ001")) {
        //  The server's message: "lost the lease to HOLDER (epoch N): ..."
        const char *message = strstr (err->text, "lost the lease");
        s_fence (self, message ? message : err->text);
        *err = self->fence_error;
    }
    return -1;
}

static int
s_commit (void *self_, const zjob_sql_change_t *changes, size_t count, zjob_error_t *err)
{
    zjob_store_pg_t *self = (zjob_store_pg_t *) self_;
    zjob_error_t local;
    if (!err)
        err = &local;
    if (self->fenced) {
        *err = self->fence_error;
        return -1;
    }
    if (self->epoch == 0)
        return count == 0 ? 0
                          : zjob_error_set (err, ZJOB_UNAVAILABLE,
                                            "postgres: %s: this broker does not hold the lease",
                                            self->server);
    int64_t start_ms = zclock_mono ();
    //  Nothing to write: renew the lease when a third of it has passed
    if (count == 0 && start_ms - self->renewed_ms < self->lease_ms / 3)
        return 0;
    if (zjob_pg_ensure (self, s_session_ready, err))
        return -1;
    //  A take-over without the lock (the old session lingered): take it
    //  once it is free, so that no standby takes our live lease for gone;
    //  tried once a renewal period, not a round trip more per commit
    if (!self->locked && start_ms - self->lock_tried_ms >= self->lease_ms / 3) {
        self->lock_tried_ms = start_ms;
        if (s_try_lock (self, err))
            return -1;
    }
    int64_t start = zclock_usecs ();
    if (s_pipeline (self, changes, count, err))
        return -1;
    self->last_commit_us = zclock_usecs () - start;
    self->renewed_ms = start_ms;
    self->commits++;
    self->rows_written += count;
    return 0;
}


//  ---------------------------------------------------------------------
//  Acquire and load

//  Another broker holds the lease: say who and until when into err. 0.
static int
s_held (zjob_store_pg_t *self, zjob_error_t *err)
{
    PGresult *result = zjob_pg_exec (
        self,
        "SELECT holder, epoch, to_char (expires_at AT TIME ZONE 'UTC',"
        " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
        " coalesce ((extract (epoch FROM expires_at - now ()) * 1000)::bigint, 0)"
        " FROM zjob_lease WHERE name = 'zjob'",
        0, NULL, err);
    if (!result)
        return -1;
    if (PQntuples (result) == 1) {
        snprintf (self->other, sizeof self->other, "%s", PQgetvalue (result, 0, 0));
        self->other_epoch = atoll (PQgetvalue (result, 0, 1));
        self->other_until_ms = zclock_mono () + atoll (PQgetvalue (result, 0, 3));
        zjob_error_set (err, ZJOB_UNAVAILABLE,
                        "broker %.100s holds the lease (epoch %" PRId64 ") until %s",
                        self->other, self->other_epoch, PQgetvalue (result, 0, 2));
    }
    else
        zjob_error_set (err, ZJOB_UNAVAILABLE, "postgres: %s: zjob_lease has no row",
                        self->server);
    PQclear (result);
    return 0;
}

static int
s_acquire (void *self_, zjob_error_t *err)
{
    zjob_store_pg_t *self = (zjob_store_pg_t *) self_;
    if (self->fenced) {
        if (err)
            *err = self->fence_error;
        return -1;
    }
    if (self->epoch)
        return 1;
    if (zjob_pg_ensure (self, s_session_ready, err) || s_try_lock (self, err))
        return -1;
    //  The lock got means the holder's session is gone; else only an
    //  expired lease (by the server's clock) is taken over
    char lease [24];
    snprintf (lease, sizeof lease, "%" PRId64, self->lease_ms);
    const char *values [] = { self->holder, lease, self->locked ? "true" : "false" };
    PGresult *result = zjob_pg_exec (
        self,
        "UPDATE zjob_lease SET epoch = epoch + 1, holder = $1, acquired_at = now (),"
        " expires_at = now () + $2::bigint * interval '1 millisecond'"
        " WHERE name = 'zjob' AND ($3::boolean OR expires_at IS NULL OR expires_at < now ())"
        " RETURNING epoch",
        3, values, err);
    if (!result)
        return -1;
    if (PQntuples (result) != 1) {
        PQclear (result);
        return s_held (self, err);
    }
    self->epoch = atoll (PQgetvalue (result, 0, 0));
    self->renewed_ms = zclock_mono ();
    PQclear (result);
    //  The session's idle timeout waits for the first write (s_commit):
    //  the load and the broker's recovery leave it idle for long stretches
    zjob_log_info ("postgres: %s: took the lease (epoch %" PRId64 ", %s) as %s", self->server,
                   self->epoch, self->locked ? "the lock was free" : "the lease had expired", self->holder);
    return 1;
}

//  Read every row of sql (columns: names then data, binary) one at a
//  time, calling zjob_sql_load_job (two columns) or _record (three).
//  0 or -1 with err filled.
static int
s_load_rows (zjob_store_pg_t *self, const char *sql, const char *after, char *last,
             size_t *rows, zjob_sql_loader_t *loader, zjob_error_t *err)
{
    const char *values [] = { after };
    if (!PQsendQueryParams (self->conn, sql, after ? 1 : 0, NULL, after ? values : NULL, NULL,
                            NULL, 1)
        || !PQsetSingleRowMode (self->conn))
        return zjob_pg_fail (self, NULL, ZJOB_UNAVAILABLE, err);
    self->round_trips++;
    zjob_error_t first = { .code = ZJOB_OK };
    while (true) {
        bool failed;
        PGresult *result = zjob_pg_next (self, &failed, err);
        if (failed)
            return -1;
        if (!result)
            break;
        ExecStatusType status = PQresultStatus (result);
        if (status == PGRES_SINGLE_TUPLE && first.code == ZJOB_OK) {
            int columns = PQnfields (result);
            const uint8_t *data = (const uint8_t *) PQgetvalue (result, 0, columns - 1);
            size_t size = (size_t) PQgetlength (result, 0, columns - 1);
            if (columns == 2) {
                zjob_sql_load_job (loader, PQgetvalue (result, 0, 0), data, size, &first);
                if (last)
                    snprintf (last, ZJOB_ID_LEN + 1, "%s", PQgetvalue (result, 0, 0));
                if (rows)
                    (*rows)++;
            }
            else
                zjob_sql_load_record (loader, PQgetvalue (result, 0, 0),
                                      PQgetvalue (result, 0, 1), data, size, &first);
        }
        else if (status != PGRES_SINGLE_TUPLE && status != PGRES_TUPLES_OK
                 && first.code == ZJOB_OK)
            zjob_pg_fail (self, result, ZJOB_INTERNAL, &first);
        PQclear (result);
    }
    if (first.code == ZJOB_OK)
        return 0;
    if (err)
        *err = first;
    return -1;
}

static int
s_load (void *self_, zjob_sql_loader_t *loader, zjob_error_t *err)
{
    zjob_store_pg_t *self = (zjob_store_pg_t *) self_;
    if (zjob_pg_ensure (self, s_session_ready, err))
        return -1;
    int64_t start = zclock_mono ();
    //  In pages by id, renewing the lease between them when due: a load
    //  of millions of jobs can take longer than the lease, and a standby
    //  must not take a lease whose holder is busy loading. Nobody else
    //  writes while we hold it, so the pages see one state.
    char last [ZJOB_ID_LEN + 1] = "";
    size_t rows = ZJOB_PG_LOAD_PAGE;
    while (rows == ZJOB_PG_LOAD_PAGE) {
        rows = 0;
        if (s_load_rows (self,
                         "SELECT id, data FROM zjob_jobs WHERE id > $1 ORDER BY id"
                         " LIMIT " ZJOB_PG_LOAD_PAGE_TEXT,
                         last, last, &rows, loader, err)
            || s_commit (self, NULL, 0, err))
            return -1;
    }
    if (s_load_rows (self, "SELECT kind, name, data FROM zjob_records", NULL, NULL, NULL, loader,
                     err))
        return -1;
    zjob_log_info ("postgres: %s: loaded in %" PRId64 " ms", self->server,
                   zclock_mono () - start);
    return 0;
}


//  ---------------------------------------------------------------------
//  The backend's other calls, options, construction

static bool
s_fenced (void *self_)
{
    return ((zjob_store_pg_t *) self_)->fenced;
}

static int64_t
s_renew_ms (void *self_)
{
    return ((zjob_store_pg_t *) self_)->lease_ms / 3;
}

static void
s_stats (void *self_, zhashx_t *into)
{
    zjob_store_pg_t *self = (zjob_store_pg_t *) self_;
    int64_t now = zclock_mono ();
    bool active = self->epoch && !self->fenced;
    zjob_store_stat (into, "lease_epoch", active ? self->epoch : self->other_epoch);
    zhashx_update (into, "lease_holder", active ? self->holder : self->other);
    int64_t until = active ? self->renewed_ms + self->lease_ms : self->other_until_ms;
    zjob_store_stat (into, "lease_expires_in_ms", until > now ? until - now : 0);
    zhashx_update (into, "lease_active", active ? "true" : "false");
    zhashx_update (into, "connected", self->conn ? "true" : "false");
    zjob_store_stat (into, "reconnects", (int64_t) self->reconnects);
    zjob_store_stat (into, "commits", (int64_t) self->commits);
    zjob_store_stat (into, "rows_written", (int64_t) self->rows_written);
    zjob_store_stat (into, "round_trips", (int64_t) self->round_trips);
    zjob_store_stat (into, "last_commit_us", self->last_commit_us);
    zjob_store_stat (into, "pipeline_depth", (int64_t) self->pipeline_depth);
    zjob_store_stat (into, "lease_ms", self->lease_ms);
}

static void
s_close (void *self_)
{
    zjob_store_pg_t *self = (zjob_store_pg_t *) self_;
    if (!self)
        return;
    zjob_pg_drop (self, NULL);  //  The session's end frees the lock
    free (self->conninfo);
    free (self);
}

static const zjob_sql_backend_t s_backend = {
    .name = "postgres",
    .load = s_load,
    .commit = s_commit,
    .stats = s_stats,
    .close = s_close,
    .acquire = s_acquire,
    .fenced = s_fenced,
    .renew_ms = s_renew_ms
};

//  One option of the spec (zjob_store_options_each)
static int
s_option (const char *option, const char *value, void *arg, zjob_error_t *err)
{
    zjob_store_pg_t *self = (zjob_store_pg_t *) arg;
    if (!streq (option, "lease") || !value)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "postgres store: unknown option '%.40s%s%.40s': accepted is "
                               "lease=<duration> (as #lease=5s)",
                               option, value ? "=" : "", value ? value : "");
    int64_t lease_ms = zjob_duration_parse (value);
    if (lease_ms < ZJOB_PG_LEASE_MIN_MS)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "postgres store: lease=%.40s: expected a duration of at "
                               "least 1s (as 5s or 1500ms)",
                               value);
    self->lease_ms = s_min (lease_ms, 24LL * 3600 * 1000);
    return 0;
}

static int
s_parse_options (zjob_store_pg_t *self, const char *options, zjob_error_t *err)
{
    return zjob_store_options_each (options, "postgres", s_option, self, err);
}

zjob_store_t *
zjob_store_pg_new (const char *conninfo, const char *options, zjob_error_t *err)
{
    if (!conninfo || !*conninfo) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "postgres store: no connection string given");
        return NULL;
    }
    zjob_store_pg_t *self = (zjob_store_pg_t *) calloc (1, sizeof *self);
    if (!self || !(self->conninfo = strdup (conninfo))) {
        free (self);
        zjob_error_set (err, ZJOB_INTERNAL, "postgres store: out of memory");
        return NULL;
    }
    self->lease_ms = ZJOB_PG_LEASE_DEFAULT_MS;
    self->backoff_ms = ZJOB_PG_BACKOFF_MIN_MS;
    char host [64] = "localhost";
    gethostname (host, sizeof host - 1);
    snprintf (self->holder, sizeof self->holder, "%s pid %d", host, (int) getpid ());
    //  Loaded at the first acquire, not here: a standby opens it too
    if (s_parse_options (self, options, err) || zjob_pg_connect (self, ZJOB_PG_OPEN_MS, err)
        || s_migrate (self, err) || s_prepare (self, err)) {
        s_close (self);
        return NULL;
    }
    self->idle_timeout_works = PQserverVersion (self->conn) >= 140000;
    return zjob_store_sql_new (&s_backend, self, err);
}
