/*  =========================================================================
    zjob_store_pg_impl - what the PostgreSQL store's files share (private)

    zjob_store_pg.c is the backend (zjob_store_sql.h): options, migrations,
    lease, commit and load. zjob_store_pg_conn.c is libpq under it: the
    connection, made and remade with backoff, and every command run with
    a deadline on a non-blocking socket, so that a server that stops
    answering costs the broker loop at most ZJOB_PG_COMMAND_MS once and
    the connection is then dropped, never a hang.
    ========================================================================= */

#ifndef ZJOB_STORE_PG_IMPL_H_INCLUDED
#define ZJOB_STORE_PG_IMPL_H_INCLUDED

#include <libpq-fe.h>
#include "zjob_store_sql.h"

#define ZJOB_PG_LEASE_KEY 0x7a6a6f62    //  'zjob': the lease's advisory lock (session)
#define ZJOB_PG_MIGRATE_KEY 0x7a6a6f6d  //  'zjom': migrations' lock (transaction)
#define ZJOB_PG_COMMAND_MS 5000         //  msecs a command may make no progress
#define ZJOB_PG_OPEN_MS 5000            //  msecs the connect at open may take
#define ZJOB_PG_CONNECT_MS 5000         //  msecs one reconnect attempt may take
#define ZJOB_PG_CONNECT_SLICE_MS 50     //  msecs of it one sync may wait
#define ZJOB_PG_BACKOFF_MIN_MS 100      //  msecs before the second reconnect attempt
#define ZJOB_PG_BACKOFF_MAX_MS 5000     //  msecs between attempts at most
#define ZJOB_PG_LEASE_DEFAULT_MS 5000   //  msecs of a lease without lease=
#define ZJOB_PG_LOAD_PAGE 10000         //  jobs a page of the load reads
#define ZJOB_PG_LOAD_PAGE_TEXT "10000"  //  the same, in the query
#define ZJOB_PG_LEASE_MIN_MS 1000       //  msecs of the shortest lease=

typedef struct {
    char *conninfo;                     //  libpq's key=value string or URI
    int64_t lease_ms;                   //  The lease's length
    char holder [128];                  //  "HOST pid N": who we are in zjob_lease
    PGconn *conn;                       //  NULL while disconnected
    PGconn *connecting;                 //  A reconnect attempt under way, or NULL
    PostgresPollingStatusType polling;  //  Its PQconnectPoll state
    int64_t connect_deadline_ms;        //  Monotonic ms it gives up at
    char server [128];                  //  "HOST:PORT/DB" for messages
    zjob_error_t lost;                  //  Why the connection was lost, for sync's error
    int64_t backoff_ms;                 //  Wait after the next failed attempt
    int64_t next_connect_ms;            //  Monotonic ms of the next attempt allowed
    bool connected_once;                //  A later connect is a reconnect
    bool locked;                        //  This session holds the advisory lock
    bool idle_timeout;                  //  Sessions get idle_session_timeout (from
                                        //  the first write of the active store)
    bool idle_timeout_works;            //  The server knows it (14 and later)
    int64_t lock_tried_ms;              //  Monotonic ms of the last try without it
    int64_t epoch;                      //  Our lease's epoch, 0 while standby
    bool fenced;                        //  Another broker took the lease: never write
    zjob_error_t fence_error;           //  What every sync answers once fenced
    int64_t renewed_ms;                 //  Monotonic ms of the last fenced commit
    char other [128];                   //  The active broker seen by a standby
    int64_t other_epoch;                //  Its epoch
    int64_t other_until_ms;             //  Monotonic ms its lease ends (as seen)
    uint64_t reconnects;                //  Connections made after the first
    uint64_t commits;                   //  Transactions committed
    uint64_t rows_written;              //  Upserts and deletes committed
    uint64_t round_trips;               //  Exchanges with the server (a pipeline = 1)
    int64_t last_commit_us;             //  How long the last commit took
    size_t pipeline_depth;              //  Commands in the last commit's pipeline
} zjob_store_pg_t;

//  Connect with a deadline of timeout_ms (PQconnectStart/Poll), make the
//  socket non-blocking and quiet the notices. 0, or -1 with err filled
//  (ZJOB_UNAVAILABLE, naming the server). Prepares nothing.
int
zjob_pg_connect (zjob_store_pg_t *self, int64_t timeout_ms, zjob_error_t *err);

//  Close the connection (and an attempt under way); why (may be NULL) is
//  what later syncs report until a reconnect succeeds. The next attempt
//  may come at once.
void
zjob_pg_drop (zjob_store_pg_t *self, const char *why);

//  If disconnected and the backoff allows it, a step of a reconnect
//  attempt (waiting ZJOB_PG_CONNECT_SLICE_MS at most: an attempt spans
//  several calls), then once connected ready (may be NULL: statements,
//  lock, lease). 0 when connected, else -1 with err filled.
int
zjob_pg_ensure (zjob_store_pg_t *self, int (*ready) (zjob_store_pg_t *, zjob_error_t *),
                zjob_error_t *err);

//  Run sql (one command; several with nparams < 0, the simple protocol)
//  with the text params values, and return its result (the caller
//  clears it), or NULL with err filled: a server error (the connection
//  stays), a lost connection or a deadline passed (it is dropped).
PGresult *
zjob_pg_exec (zjob_store_pg_t *self, const char *sql, int nparams, const char *const *values,
              zjob_error_t *err);

//  The next result of what was sent (PQgetResult), waiting at most
//  ZJOB_PG_COMMAND_MS for it while flushing what is unsent. NULL with
//  *failed false is libpq's NULL (end of a command); with *failed true,
//  err is filled and the connection dropped.
PGresult *
zjob_pg_next (zjob_store_pg_t *self, bool *failed, zjob_error_t *err);

//  Send the pipeline's Sync and read every result up to it; keep the
//  first error (its SQLSTATE into sqlstate, 6 bytes). Leaves pipeline
//  mode. 0, or -1 with err filled (the transaction did not commit).
int
zjob_pg_pipeline_end (zjob_store_pg_t *self, char *sqlstate, zjob_error_t *err);

//  The error of result (or of the connection), "postgres: MESSAGE", as
//  code into err; drops the connection if it is gone. Returns -1.
int
zjob_pg_fail (zjob_store_pg_t *self, const PGresult *result, int code, zjob_error_t *err);

#endif
