/*  =========================================================================
    zjob_store_pg_conn - the PostgreSQL store's connection and commands

    libpq's synchronous calls (PQexec, PQconnectdb) wait as long as the
    kernel does: a server that stops answering, or a network that drops
    packets, would hang the broker loop for minutes. So the socket is
    non-blocking and every wait here is a poll with a deadline: a connect
    attempt gets its timeout, a command ZJOB_PG_COMMAND_MS without
    progress. A deadline passed drops the connection, as a lost one is
    dropped, and the store reconnects at a later sync, after a backoff
    (100 ms doubling to 5 s) so that a server that is down costs each
    loop pass nothing but a clock read.
    ========================================================================= */

#include "zjob_store_pg_impl.h"
#include "zjob_log.h"
#include <poll.h>

//  Copy libpq's message into buffer as one line (its messages carry
//  newlines and tabs: "connection to server ... failed: ...\n\tIs the
//  server running...")
static const char *
s_one_line (const char *message, char *buffer, size_t size)
{
    size_t length = 0;
    bool space = false;
    for (const char *at = message ? message : ""; *at && length + 1 < size; at++) {
        if (*at == '\n' || *at == '\t' || *at == '\r') {
            space = length > 0;
            continue;
        }
        if (space && length + 2 < size)
            buffer [length++] = ' ';
        space = false;
        buffer [length++] = *at;
    }
    buffer [length] = 0;
    return buffer;
}

//  Notices ("relation already exists, skipping") are not the operator's
//  business; libpq would print them on stderr
static void
s_notice (void *arg, const char *message)
{
    (void) arg;
    char line [256];
    zjob_log_debug ("postgres: %s", s_one_line (message, line, sizeof line));
}

//  Wait on conn's socket for events, until deadline (monotonic ms) at
//  most and never more than a second at a time. 1 if it is ready (or a
//  signal came: look again), 0 if not (the caller checks its deadline),
//  -1 on a poll error.
static int
s_wait_socket (PGconn *conn, short events, int64_t deadline)
{
    int64_t left = deadline - zclock_mono ();
    if (left <= 0)
        return 0;
    struct pollfd item = { .fd = PQsocket (conn), .events = events };
    if (item.fd < 0)
        return -1;
    int rc = poll (&item, 1, (int) (left > 1000 ? 1000 : left));
    if (rc < 0 && errno == EINTR)
        rc = 1;
    return rc;
}

//  Start a connect attempt in self->connecting. 0, or -1 with err.
static int
s_connect_start (zjob_store_pg_t *self, int64_t timeout_ms, zjob_error_t *err)
{
    assert (!self->conn && !self->connecting);
    //  expand_dbname: conninfo may be a key=value string or a URI, given
    //  whole as dbname; the application name is only a fallback for it
    const char *keys [] = { "dbname", "fallback_application_name", NULL };
    const char *values [] = { self->conninfo, "zjobd", NULL };
    self->connecting = PQconnectStartParams (keys, values, 1);
    if (!self->connecting)
        return zjob_error_set (err, ZJOB_INTERNAL, "postgres: out of memory");
    self->polling = PGRES_POLLING_WRITING;
    self->connect_deadline_ms = zclock_mono () + timeout_ms;
    return 0;
}

//  The attempt in self->connecting is over: name the server, and make
//  the connection self->conn if it succeeded. 1, or -1 with err filled.
static int
s_connect_end (zjob_store_pg_t *self, bool timed_out, zjob_error_t *err)
{
    PGconn *conn = self->connecting;
    self->connecting = NULL;
    const char *host = PQhost (conn), *port = PQport (conn), *db = PQdb (conn);
    snprintf (self->server, sizeof self->server, "%s:%s/%s", host && *host ? host : "localhost",
              port && *port ? port : "5432", db ? db : "?");
    if (self->polling != PGRES_POLLING_OK || PQstatus (conn) != CONNECTION_OK) {
        char line [200];
        if (timed_out)
            snprintf (line, sizeof line, "no answer in time");
        else
            s_one_line (PQerrorMessage (conn), line, sizeof line);
        PQfinish (conn);
        return zjob_error_set (err, ZJOB_UNAVAILABLE, "postgres: cannot connect to %s: %s",
                               self->server, line);
    }
    PQsetNoticeProcessor (conn, s_notice, NULL);
    if (PQsetnonblocking (conn, 1)) {
        PQfinish (conn);
        return zjob_error_set (err, ZJOB_INTERNAL, "postgres: %s: cannot make the socket non-blocking",
                               self->server);
    }
    self->conn = conn;
    self->locked = false;  //  A new session holds no lock
    if (self->connected_once)
        self->reconnects++;
    self->connected_once = true;
    return 1;
}

//  Drive the attempt in self->connecting until it ends or until passes
//  (monotonic ms; PQconnectPoll is only called on a ready socket). 1
//  when connected, 0 while under way, -1 with err filled if it failed.
static int
s_connect_step (zjob_store_pg_t *self, int64_t until, zjob_error_t *err)
{
    PGconn *conn = self->connecting;
    while (PQstatus (conn) != CONNECTION_BAD && self->polling != PGRES_POLLING_OK
           && self->polling != PGRES_POLLING_FAILED) {
        short events = self->polling == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        int64_t deadline = until < self->connect_deadline_ms ? until : self->connect_deadline_ms;
        int rc = s_wait_socket (conn, events, deadline);
        if (rc < 0)
            break;
        if (rc == 0) {
            int64_t now = zclock_mono ();
            if (now >= self->connect_deadline_ms)
                return s_connect_end (self, true, err);
            if (now >= until)
                return 0;
            continue;
        }
        self->polling = PQconnectPoll (conn);
    }
    return s_connect_end (self, false, err);
}

int
zjob_pg_connect (zjob_store_pg_t *self, int64_t timeout_ms, zjob_error_t *err)
{
    if (s_connect_start (self, timeout_ms, err))
        return -1;
    return s_connect_step (self, self->connect_deadline_ms, err) == 1 ? 0 : -1;
}

void
zjob_pg_drop (zjob_store_pg_t *self, const char *why)
{
    if (self->connecting) {
        PQfinish (self->connecting);
        self->connecting = NULL;
    }
    if (!self->conn)
        return;
    if (why) {
        zjob_error_set (&self->lost, ZJOB_UNAVAILABLE, "postgres: %s: %s", self->server, why);
        zjob_log_warning ("%s: the connection is dropped", self->lost.text);
    }
    PQfinish (self->conn);
    self->conn = NULL;
    self->locked = false;
    self->next_connect_ms = zclock_mono ();
}

int
zjob_pg_ensure (zjob_store_pg_t *self, int (*ready) (zjob_store_pg_t *, zjob_error_t *),
                zjob_error_t *err)
{
    if (self->conn)
        return 0;
    int64_t now = zclock_mono ();
    const char *why_lost = self->lost.text [0] ? self->lost.text : "postgres: not connected";
    if (!self->connecting && now < self->next_connect_ms)
        return zjob_error_set (err, ZJOB_UNAVAILABLE, "%s (next attempt in %d ms)", why_lost,
                               (int) (self->next_connect_ms - now));
    //  An attempt goes on over several calls, each waiting a slice of it
    //  at most: a server that does not answer costs no pass more than that
    zjob_error_t why;
    int rc = self->connecting ? 0 : s_connect_start (self, ZJOB_PG_CONNECT_MS, &why);
    if (rc == 0)
        rc = s_connect_step (self, now + ZJOB_PG_CONNECT_SLICE_MS, &why);
    if (rc == 0)
        return zjob_error_set (err, ZJOB_UNAVAILABLE, "%s (connecting again)", why_lost);
    if (rc == 1 && (!ready || ready (self, &why) == 0)) {
        self->backoff_ms = ZJOB_PG_BACKOFF_MIN_MS;
        zjob_log_info ("postgres: %s: connected again", self->server);
        return 0;
    }
    //  A failed setup leaves a connection that must not be used
    if (self->conn) {
        PQfinish (self->conn);
        self->conn = NULL;
    }
    self->lost = why;
    self->next_connect_ms = zclock_mono () + self->backoff_ms;
    self->backoff_ms = self->backoff_ms * 2 > ZJOB_PG_BACKOFF_MAX_MS ? ZJOB_PG_BACKOFF_MAX_MS
                                                                     : self->backoff_ms * 2;
    if (err)
        *err = why;
    return -1;
}

int
zjob_pg_fail (zjob_store_pg_t *self, const PGresult *result, int code, zjob_error_t *err)
{
    char line [200];
    const char *message = result ? PQresultErrorField (result, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!message && self->conn)
        message = PQerrorMessage (self->conn);
    s_one_line (message && *message ? message : "connection lost", line, sizeof line);
    //  A connection that failed in the middle of a command is in no state
    //  to trust (a half-sent pipeline): dropped, the server rolls back
    if (self->conn && (code == ZJOB_UNAVAILABLE || PQstatus (self->conn) == CONNECTION_BAD)) {
        zjob_pg_drop (self, line);
        code = ZJOB_UNAVAILABLE;
    }
    return zjob_error_set (err, code, "postgres: %s: %s", self->server, line);
}

//  Flush what libpq holds and read what came until a result is ready
//  (PQisBusy false) or deadline. 0, or -1 with err filled and the
//  connection dropped.
static int
s_ready (zjob_store_pg_t *self, int64_t deadline, zjob_error_t *err)
{
    while (true) {
        int flushing = PQflush (self->conn);
        if (flushing < 0)
            return zjob_pg_fail (self, NULL, ZJOB_UNAVAILABLE, err);
        if (!flushing && !PQisBusy (self->conn))
            return 0;
        int rc = s_wait_socket (self->conn, (short) (POLLIN | (flushing ? POLLOUT : 0)), deadline);
        if (rc == 0 && zclock_mono () < deadline)
            continue;
        if (rc == 0) {
            char why [64];
            snprintf (why, sizeof why, "no answer in %d ms", ZJOB_PG_COMMAND_MS);
            zjob_pg_drop (self, why);
            return zjob_error_set (err, ZJOB_UNAVAILABLE, "%s", self->lost.text);
        }
        if (rc < 0 || !PQconsumeInput (self->conn))
            return zjob_pg_fail (self, NULL, ZJOB_UNAVAILABLE, err);
    }
}

PGresult *
zjob_pg_next (zjob_store_pg_t *self, bool *failed, zjob_error_t *err)
{
    *failed = true;
    if (!self->conn) {
        zjob_error_set (err, ZJOB_UNAVAILABLE, "postgres: not connected");
        return NULL;
    }
    if (s_ready (self, zclock_mono () + ZJOB_PG_COMMAND_MS, err))
        return NULL;
    PGresult *result = PQgetResult (self->conn);
    if (!result && PQstatus (self->conn) == CONNECTION_BAD) {
        zjob_pg_fail (self, NULL, ZJOB_UNAVAILABLE, err);
        return NULL;
    }
    *failed = false;
    return result;
}

PGresult *
zjob_pg_exec (zjob_store_pg_t *self, const char *sql, int nparams, const char *const *values,
              zjob_error_t *err)
{
    if (!self->conn) {
        zjob_error_set (err, ZJOB_UNAVAILABLE, "postgres: not connected");
        return NULL;
    }
    int sent = nparams < 0 ? PQsendQuery (self->conn, sql)
                           : PQsendQueryParams (self->conn, sql, nparams, NULL, values, NULL,
                                                NULL, 0);
    if (!sent) {
        zjob_pg_fail (self, NULL, ZJOB_UNAVAILABLE, err);
        return NULL;
    }
    self->round_trips++;
    //  Keep the first error, else the last result (several commands)
    PGresult *kept = NULL;
    while (true) {
        bool failed;
        PGresult *result = zjob_pg_next (self, &failed, err);
        if (failed) {
            PQclear (kept);
            return NULL;
        }
        if (!result)
            break;
        ExecStatusType status = PQresultStatus (kept);
        if (kept && status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
            PQclear (result);
        else {
            PQclear (kept);
            kept = result;
        }
    }
    ExecStatusType status = PQresultStatus (kept);
    if (kept && (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK))
        return kept;
    zjob_pg_fail (self, kept, ZJOB_INTERNAL, err);
    PQclear (kept);
    return NULL;
}

int
zjob_pg_pipeline_end (zjob_store_pg_t *self, char *sqlstate, zjob_error_t *err)
{
    *sqlstate = 0;
    if (!PQpipelineSync (self->conn))
        return zjob_pg_fail (self, NULL, ZJOB_UNAVAILABLE, err);
    self->round_trips++;
    zjob_error_t first = { .code = ZJOB_OK };
    while (true) {
        bool failed;
        PGresult *result = zjob_pg_next (self, &failed, err);
        if (failed)
            return -1;  //  Dropped: the server rolls the transaction back
        if (!result)
            continue;  //  The end of one command's results
        ExecStatusType status = PQresultStatus (result);
        if (status == PGRES_PIPELINE_SYNC) {
            PQclear (result);
            break;
        }
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK
            && status != PGRES_PIPELINE_ABORTED && first.code == ZJOB_OK) {
            const char *state = PQresultErrorField (result, PG_DIAG_SQLSTATE);
            snprintf (sqlstate, 6, "%s", state ? state : "");
            zjob_pg_fail (self, result, ZJOB_INTERNAL, &first);
        }
        PQclear (result);
        if (!self->conn)
            return zjob_error_set (err, ZJOB_UNAVAILABLE, "%s", first.text);
    }
    if (!PQexitPipelineMode (self->conn)) {
        zjob_pg_drop (self, "cannot leave pipeline mode");
        return zjob_error_set (err, ZJOB_UNAVAILABLE, "%s", self->lost.text);
    }
    if (first.code == ZJOB_OK)
        return 0;
    //  An error inside BEGIN leaves the transaction aborted, not ended;
    //  a session that cannot end it is of no more use
    if (PQtransactionStatus (self->conn) != PQTRANS_IDLE) {
        zjob_error_t ignored;
        PQclear (zjob_pg_exec (self, "ROLLBACK", 0, NULL, &ignored));
        if (self->conn && PQtransactionStatus (self->conn) != PQTRANS_IDLE)
            zjob_pg_drop (self, "cannot roll back");
    }
    if (err)
        *err = first;
    return -1;
}
