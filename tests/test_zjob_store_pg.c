/*  =========================================================================
    test_zjob_store_pg - the PostgreSQL store's own matters, on a real server

    What every store does (put, get, walk, records...) is in the
    conformance suite, test_zjob_store.c. Here: options, migrations, the
    lease between two stores on one database (advisory lock, expiry,
    epochs, fencing), the pipeline (a thousand changes, one round trip),
    and a server stopped and started under a store. Each test has a fresh
    database on the fixture's server (ctest -R store_pg starts it); the
    one that stops a server runs a private one (test_zjob_pg.h).
    ========================================================================= */

#include <criterion/criterion.h>
#include "test_zjob_pg.h"
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "zjob_store.h"

#define S_DEADLINE_MS 20000  //  msecs any expected thing may take

//  --------------------------------------------------------------------------
//  Helpers

static zjob_store_t *
s_open (const char *conninfo, const char *options)
{
    char *spec = zsys_sprintf ("postgres:%s%s%s", conninfo, options ? "#" : "",
                               options ? options : "");
    zjob_error_t err = { 0, "" };
    zjob_store_t *store = zjob_store_open (spec, &err);
    cr_assert_not_null (store, "open %s: %s", spec, err.text);
    zstr_free (&spec);
    return store;
}

static void
s_acquire (zjob_store_t *store)
{
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_acquire (store, &err), 1, "acquire: %s", err.text);
}

//  Put a new job in workflow; its id into id (ZJOB_ID_LEN + 1 bytes)
static void
s_put (zjob_store_t *store, const char *workflow, char *id)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof spec);
    spec.workflow_id = workflow;
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "job: %s", err.text);
    if (id)
        snprintf (id, ZJOB_ID_LEN + 1, "%s", job->id);
    cr_assert_eq (zjob_store_put (store, job, &err), 0, "put: %s", err.text);
    zjob_job_destroy (&job);
}

static void
s_sync_ok (zjob_store_t *store)
{
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_sync (store, &err), 0, "sync: %s", err.text);
}

//  The store's figure key, as a number (-1 if absent)
static long long
s_stat (zjob_store_t *store, const char *key)
{
    zhashx_t *stats = zhashx_new ();
    zjob_store_stats (store, stats);
    const char *value = (const char *) zhashx_lookup (stats, key);
    long long number = value ? atoll (value) : -1;
    zhashx_destroy (&stats);
    return number;
}

static const char *
s_stat_text (zjob_store_t *store, const char *key, char *buffer, size_t size)
{
    zhashx_t *stats = zhashx_new ();
    zjob_store_stats (store, stats);
    const char *value = (const char *) zhashx_lookup (stats, key);
    snprintf (buffer, size, "%s", value ? value : "");
    zhashx_destroy (&stats);
    return buffer;
}

//  Rows of zjob_jobs with id
static long long
s_rows (const char *conninfo, const char *id)
{
    char *sql = zsys_sprintf ("SELECT count(*) FROM zjob_jobs WHERE id = '%s'", id);
    long long rows = zjob_test_pg_number (conninfo, sql);
    zstr_free (&sql);
    return rows;
}

//  Call acquire until it returns 1 (deadline_ms at most); its msecs
static int64_t
s_acquire_within (zjob_store_t *store, int64_t deadline_ms)
{
    int64_t start = zclock_mono ();
    zjob_error_t err = { 0, "" };
    int rc;
    while ((rc = zjob_store_acquire (store, &err)) == 0 && zclock_mono () - start < deadline_ms)
        zclock_sleep (20);  //  A standby's poll, as zjobd's (250 ms there)
    cr_assert_eq (rc, 1, "no take-over in %d ms: %s", (int) deadline_ms, err.text);
    return zclock_mono () - start;
}

//  A socket listening on 127.0.0.1:port that never accepts: connects
//  succeed (the kernel's backlog), and nothing ever answers
static int
s_listen (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    cr_assert_geq (fd, 0);
    int on = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    cr_assert_eq (bind (fd, (struct sockaddr *) &address, sizeof address), 0,
                  "bind 127.0.0.1:%d: %s", port, strerror (errno));
    cr_assert_eq (listen (fd, 16), 0);
    return fd;
}

static void
s_drop (char **conninfo_p)
{
    zjob_test_pg_drop_db (*conninfo_p);
    free (*conninfo_p);
    *conninfo_p = NULL;
}

//  --------------------------------------------------------------------------
//  Options and opening

Test (store_pg, options_are_checked)
{
    zjob_error_t err = { 0, "" };
    //  Checked before any connection is tried: no server needed
    cr_assert_null (zjob_store_open ("postgres:host=127.0.0.1 port=1#fsync=on", &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "unknown option 'fsync=on'"), "%s", err.text);
    cr_assert_null (zjob_store_open ("postgres:host=127.0.0.1 port=1#lease=500ms", &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "at least 1s"), "%s", err.text);
    cr_assert_null (zjob_store_open ("postgres:host=127.0.0.1 port=1#lease=soon", &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
}

Test (store_pg, a_server_down_at_open_is_unavailable_and_named)
{
    zjob_error_t err = { 0, "" };
    int64_t start = zclock_mono ();
    cr_assert_null (zjob_store_open ("postgres:host=127.0.0.1 port=1 user=zjob dbname=x", &err));
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE, "%d %s", err.code, err.text);
    cr_assert (strstr (err.text, "127.0.0.1:1"), "%s", err.text);
    cr_assert_lt (zclock_mono () - start, 6000);
    cr_assert_null (zjob_store_open ("postgresql://zjob@127.0.0.1:1/x#lease=2s", &err));
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE, "%s", err.text);
}

Test (store_pg, a_server_that_never_answers_fails_the_open_in_time)
{
    int silent = s_listen (0);
    struct sockaddr_in address;
    socklen_t length = sizeof address;
    cr_assert_eq (getsockname (silent, (struct sockaddr *) &address, &length), 0);
    char *spec = zsys_sprintf ("postgres:host=127.0.0.1 port=%d user=zjob dbname=x",
                               ntohs (address.sin_port));
    zjob_error_t err = { 0, "" };
    int64_t start = zclock_mono ();
    cr_assert_null (zjob_store_open (spec, &err));
    int64_t took = zclock_mono () - start;
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE, "%d %s", err.code, err.text);
    cr_assert (strstr (err.text, "no answer in time"), "%s", err.text);
    cr_assert (took >= 4500 && took < 8000, "gave up after %d ms, not 5 s", (int) took);
    zstr_free (&spec);
    close (silent);
}

Test (store_pg, migrations_are_idempotent_and_a_newer_schema_refused)
{
    char *conninfo = zjob_test_pg_db ();
    zjob_store_t *store = s_open (conninfo, NULL);
    cr_assert_str_eq (zjob_store_name (store), "postgres");
    cr_assert (zjob_store_shared (store));
    cr_assert_eq (zjob_store_renew_ms (store), 5000 / 3);
    //  Not loaded before acquire: nothing may be put by a standby
    s_acquire (store);
    char id [ZJOB_ID_LEN + 1];
    s_put (store, "mig", id);
    s_sync_ok (store);
    zjob_store_destroy (&store);

    //  A second open migrates nothing and sees the job
    store = s_open (conninfo, "lease=3s");
    cr_assert_eq (zjob_store_renew_ms (store), 1000);
    s_acquire (store);
    zjob_job_t *job = zjob_store_get (store, id);
    cr_assert_not_null (job, "job %s not loaded", id);
    cr_assert_str_eq (job->workflow_id, "mig");
    zjob_job_destroy (&job);
    zjob_store_destroy (&store);
    cr_assert_eq (zjob_test_pg_number (conninfo, "SELECT value FROM zjob_meta"
                                                 " WHERE key = 'schema_version'"),
                  1);
    cr_assert_eq (zjob_test_pg_number (conninfo, "SELECT count(*) FROM zjob_meta"), 1);
    cr_assert_eq (zjob_test_pg_number (conninfo, "SELECT count(*) FROM pg_indexes"
                                                 " WHERE tablename = 'zjob_jobs'"),
                  6);
    //  The plain columns are there for an operator's query
    cr_assert_eq (zjob_test_pg_number (conninfo, "SELECT count(*) FROM zjob_jobs WHERE"
                                                 " workflow = 'mig' AND status = 'created'"
                                                 " AND started_at IS NULL"),
                  1);

    char *done = zjob_test_pg_query (conninfo, "UPDATE zjob_meta SET value = '7'"
                                               " WHERE key = 'schema_version'");
    cr_assert_not_null (done);
    free (done);
    char *spec = zsys_sprintf ("postgres:%s", conninfo);
    zjob_error_t err = { 0, "" };
    cr_assert_null (zjob_store_open (spec, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "schema version 7 is newer than this zjobd (1)"), "%s", err.text);
    zstr_free (&spec);
    s_drop (&conninfo);
}

//  Two brokers starting at once: the migration lock makes one of them
//  create the schema and the other find it
Test (store_pg, two_stores_opening_at_once_both_open)
{
    char *conninfo = zjob_test_pg_db ();
    pid_t children [4];
    for (int index = 0; index < 4; index++) {
        children [index] = fork ();
        cr_assert_geq (children [index], 0);
        if (children [index] == 0) {
            char *spec = zsys_sprintf ("postgres:%s", conninfo);
            zjob_error_t err = { 0, "" };
            zjob_store_t *store = zjob_store_open (spec, &err);
            bool opened = store != NULL;
            if (!opened)
                fprintf (stderr, "open: %s\n", err.text);
            zjob_store_destroy (&store);
            _exit (opened ? 0 : 1);
        }
    }
    for (int index = 0; index < 4; index++) {
        int status = -1;
        cr_assert_eq (waitpid (children [index], &status, 0), children [index]);
        cr_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0, "open %d failed", index);
    }
    cr_assert_eq (zjob_test_pg_number (conninfo, "SELECT count(*) FROM zjob_lease"), 1);
    s_drop (&conninfo);
}

//  --------------------------------------------------------------------------
//  The lease

Test (store_pg, a_second_store_waits_then_takes_over_when_the_first_is_gone)
{
    char *conninfo = zjob_test_pg_db ();
    //  A long lease: only the advisory lock's release can explain a
    //  take-over within seconds
    zjob_store_t *first = s_open (conninfo, "lease=60s");
    zjob_store_t *second = s_open (conninfo, "lease=60s");
    s_acquire (first);
    cr_assert_eq (s_stat (first, "lease_epoch"), 1);
    char id [ZJOB_ID_LEN + 1];
    s_put (first, "wf", id);
    s_sync_ok (first);

    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_acquire (second, &err), 0, "%s", err.text);
    cr_assert (strstr (err.text, "holds the lease (epoch 1) until "), "%s", err.text);
    cr_assert (strstr (err.text, "pid "), "%s", err.text);
    cr_assert_eq (zjob_store_acquire (second, &err), 0);
    //  A standby refuses writes: it has not loaded and holds no lease
    cr_assert_eq (zjob_store_count (second), 0);
    cr_assert_eq (zjob_store_sync (second, &err), -1);

    zjob_store_destroy (&first);
    int64_t took = s_acquire_within (second, 5000);
    cr_assert_lt (took, 5000);
    cr_assert_eq (s_stat (second, "lease_epoch"), 2);
    zjob_job_t *job = zjob_store_get (second, id);
    cr_assert_not_null (job, "the first store's job is not loaded by the second");
    zjob_job_destroy (&job);
    s_put (second, "wf", NULL);
    s_sync_ok (second);
    zjob_store_destroy (&second);
    cr_assert_eq (zjob_test_pg_number (conninfo, "SELECT count(*) FROM zjob_jobs"), 2);
    cr_assert_eq (zjob_test_pg_number (conninfo, "SELECT epoch FROM zjob_lease"), 2);
    s_drop (&conninfo);
}

//  A sync with nothing to write renews the lease when a third of it has
//  passed, and only then: an idle active broker keeps its lease, and an
//  idle pass costs no round trip
Test (store_pg, idle_syncs_renew_the_lease_every_third_of_it)
{
    char *conninfo = zjob_test_pg_db ();
    zjob_store_t *active = s_open (conninfo, "lease=1s");
    zjob_store_t *standby = s_open (conninfo, "lease=1s");
    s_acquire (active);
    long long trips = s_stat (active, "round_trips");
    int syncs = 0;
    int64_t start = zclock_mono ();
    while (zclock_mono () - start < 3000) {
        s_sync_ok (active);
        syncs++;
        zjob_error_t err = { 0, "" };
        cr_assert_eq (zjob_store_acquire (standby, &err), 0, "the standby took a renewed lease");
        zclock_sleep (20);
    }
    long long renewals = s_stat (active, "round_trips") - trips;
    cr_assert (renewals >= 5 && renewals <= 12, "%lld renewals in 3 s (%d syncs) with a 1 s lease",
               renewals, syncs);
    cr_assert_gt (syncs, 3 * renewals);
    zjob_store_destroy (&active);
    zjob_store_destroy (&standby);
    s_drop (&conninfo);
}

//  A holder whose session lingers (it holds the advisory lock) but which
//  stopped renewing: the lease expires by the server's clock and a
//  standby takes it although the lock stays taken
Test (store_pg, an_expired_lease_is_taken_over_with_the_lock_still_held)
{
    char *conninfo = zjob_test_pg_db ();
    zjob_store_t *store = s_open (conninfo, "lease=1s");
    PGconn *ghost = PQconnectdb (conninfo);
    cr_assert_eq (PQstatus (ghost), CONNECTION_OK);
    PGresult *result = PQexec (ghost, "SELECT pg_advisory_lock (2053795682);"
                                      "UPDATE zjob_lease SET epoch = 41, holder = 'ghost pid 1',"
                                      " expires_at = now () + interval '1500 ms'");
    cr_assert_eq (PQresultStatus (result), PGRES_COMMAND_OK, "%s", PQerrorMessage (ghost));
    PQclear (result);

    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_acquire (store, &err), 0, "%s", err.text);
    cr_assert (strstr (err.text, "broker ghost pid 1 holds the lease (epoch 41) until"), "%s",
               err.text);
    char holder [128];
    cr_assert_str_eq (s_stat_text (store, "lease_holder", holder, sizeof holder), "ghost pid 1");
    int64_t took = s_acquire_within (store, 10000);
    cr_assert_gt (took, 500, "took over after %d ms, before the lease expired", (int) took);
    cr_assert_eq (s_stat (store, "lease_epoch"), 42);
    s_put (store, "wf", NULL);
    s_sync_ok (store);
    PQfinish (ghost);
    zjob_store_destroy (&store);
    s_drop (&conninfo);
}

Test (store_pg, a_store_that_stops_renewing_is_fenced_and_writes_nothing_after)
{
    char *conninfo = zjob_test_pg_db ();
    zjob_store_t *old = s_open (conninfo, "lease=1s");
    zjob_store_t *standby = s_open (conninfo, "lease=1s");
    s_acquire (old);
    char before [ZJOB_ID_LEN + 1], after [ZJOB_ID_LEN + 1];
    s_put (old, "wf", before);
    s_sync_ok (old);
    cr_assert_not (zjob_store_fenced (old));

    //  old never syncs again (a broker stopped, its connection held):
    //  the lease runs out, and the standby takes over
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_acquire (standby, &err), 0, "%s", err.text);
    s_acquire_within (standby, 10000);
    cr_assert_eq (s_stat (standby, "lease_epoch"), 2);
    zjob_job_t *job = zjob_store_get (standby, before);
    cr_assert_not_null (job, "the standby did not load %s", before);
    zjob_job_destroy (&job);

    //  old wakes up: what it puts is never committed
    s_put (old, "wf", after);
    int rc = zjob_store_sync (old, &err);
    //  Its session may be gone (idle_session_timeout): then the first
    //  sync finds the connection lost and the reconnect finds the epoch
    for (int tries = 0; rc == -1 && !zjob_store_fenced (old) && tries < 50; tries++) {
        zclock_sleep (100);
        rc = zjob_store_sync (old, &err);
    }
    cr_assert_eq (rc, -1);
    cr_assert (zjob_store_fenced (old));
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE);
    cr_assert (strstr (err.text, "lost the lease to "), "%s", err.text);
    cr_assert (strstr (err.text, "(epoch 2): another broker is active"), "%s", err.text);
    cr_assert_eq (zjob_store_sync (old, &err), -1);
    cr_assert (strstr (err.text, "lost the lease"), "%s", err.text);
    cr_assert_eq (zjob_store_acquire (old, &err), -1);
    cr_assert_eq (s_rows (conninfo, before), 1);
    cr_assert_eq (s_rows (conninfo, after), 0, "a fenced store wrote %s", after);
    zjob_store_destroy (&old);
    cr_assert_eq (s_rows (conninfo, after), 0, "a fenced store wrote %s at close", after);
    s_sync_ok (standby);
    zjob_store_destroy (&standby);
    s_drop (&conninfo);
}

//  A holder stopped (SIGSTOP) keeps its session open; the server ends
//  it after a lease of silence, and its advisory lock with it
Test (store_pg, the_active_session_dies_on_the_server_after_a_lease_of_silence)
{
    char *conninfo = zjob_test_pg_db ();
    zjob_store_t *store = s_open (conninfo, "lease=1s");
    s_acquire (store);
    const char *sql = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                      " AND objid = 2053795682 AND granted AND database = (SELECT oid"
                      " FROM pg_database WHERE datname = current_database ())";
    cr_assert_eq (zjob_test_pg_number (conninfo, sql), 1);
    //  Not before the first write: the load and recovery are long silences
    zclock_sleep (1500);
    cr_assert_eq (zjob_test_pg_number (conninfo, sql), 1, "the session died before any write");
    s_put (store, "wf", NULL);
    s_sync_ok (store);
    int64_t start = zclock_mono ();
    while (zjob_test_pg_number (conninfo, sql) == 1 && zclock_mono () - start < 10000)
        zclock_sleep (50);
    cr_assert_eq (zjob_test_pg_number (conninfo, sql), 0, "the silent session still holds the lock");
    //  Nobody took over: the store reconnects and goes on with its epoch
    s_put (store, "wf", NULL);
    zjob_error_t err = { 0, "" };
    int rc = zjob_store_sync (store, &err);
    for (int tries = 0; rc == -1 && tries < 50; tries++) {
        zclock_sleep (100);
        rc = zjob_store_sync (store, &err);
    }
    cr_assert_eq (rc, 0, "%s", err.text);
    cr_assert_not (zjob_store_fenced (store));
    cr_assert_geq (s_stat (store, "reconnects"), 1);
    cr_assert_eq (zjob_test_pg_number (conninfo, sql), 1, "the lock is not taken again");
    zjob_store_destroy (&store);
    s_drop (&conninfo);
}

//  --------------------------------------------------------------------------
//  The pipeline

Test (store_pg, a_thousand_changes_are_one_round_trip)
{
    char *conninfo = zjob_test_pg_db ();
    zjob_store_t *store = s_open (conninfo, NULL);
    s_acquire (store);
    for (int index = 0; index < 1000; index++)
        s_put (store, "bulk", NULL);
    long long trips = s_stat (store, "round_trips");
    int64_t start = zclock_usecs ();
    s_sync_ok (store);
    int64_t batch_us = zclock_usecs () - start;
    cr_assert_eq (s_stat (store, "round_trips") - trips, 1);
    //  BEGIN, the fence, 1,000 changes, COMMIT, and with this first write
    //  the session's idle_session_timeout
    cr_assert_eq (s_stat (store, "pipeline_depth"), 1004);
    cr_assert_eq (zjob_test_pg_number (conninfo, "SELECT count(*) FROM zjob_jobs"), 1000);

    //  The same thousand as a thousand commits: a round trip each
    start = zclock_usecs ();
    for (int index = 0; index < 1000; index++) {
        s_put (store, "single", NULL);
        s_sync_ok (store);
    }
    int64_t single_us = zclock_usecs () - start;
    cr_assert_lt (batch_us * 3, single_us, "1,000 changes: %d us in one commit, %d us in 1,000",
                  (int) batch_us, (int) single_us);
    cr_assert_eq (zjob_test_pg_number (conninfo, "SELECT count(*) FROM zjob_jobs"), 2000);
    zjob_store_destroy (&store);
    s_drop (&conninfo);
}

//  Megabytes in one pipeline: libpq buffers what the socket does not
//  take, and the results are read while it is sent (no deadlock)
Test (store_pg, a_commit_of_many_megabytes_goes_through)
{
    char *conninfo = zjob_test_pg_db ();
    zjob_store_t *store = s_open (conninfo, NULL);
    s_acquire (store);
    //  Inputs {"x": "xxx...x"}: 200 kB each, as msgpack (str 32)
    size_t size = 200 * 1000;
    uint8_t *inputs = (uint8_t *) malloc (size + 8);
    cr_assert_not_null (inputs);
    memcpy (inputs, "\x81\xa1x\xdb", 4);
    for (int shift = 0; shift < 4; shift++)
        inputs [4 + shift] = (uint8_t) (size >> (24 - 8 * shift));
    memset (inputs + 8, 'x', size);
    for (int index = 0; index < 100; index++) {
        zjob_spec_t spec;
        memset (&spec, 0, sizeof spec);
        spec.workflow_id = "big";
        spec.inputs = inputs;
        spec.inputs_size = size + 8;
        zjob_error_t err = { 0, "" };
        zjob_job_t *job = zjob_job_new (&spec, &err);
        cr_assert_not_null (job, "job: %s", err.text);
        cr_assert_eq (zjob_store_put (store, job, &err), 0, "put: %s", err.text);
        zjob_job_destroy (&job);
    }
    free (inputs);
    long long trips = s_stat (store, "round_trips");
    s_sync_ok (store);
    cr_assert_eq (s_stat (store, "round_trips") - trips, 1);
    cr_assert_gt (zjob_test_pg_number (conninfo, "SELECT sum (length (data)) FROM zjob_jobs"),
                  20 * 1000 * 1000);
    zjob_store_destroy (&store);
    s_drop (&conninfo);
}

//  A row the server refuses fails the whole transaction: nothing of the
//  pass is written, the connection stays usable, the next sync writes it all
Test (store_pg, a_refused_row_rolls_the_commit_back_and_the_next_writes_all)
{
    char *conninfo = zjob_test_pg_db ();
    zjob_store_t *store = s_open (conninfo, NULL);
    s_acquire (store);
    char *done = zjob_test_pg_query (conninfo, "ALTER TABLE zjob_jobs ADD CONSTRAINT no_bad"
                                               " CHECK (workflow <> 'bad')");
    cr_assert_not_null (done);
    free (done);
    char good [ZJOB_ID_LEN + 1], bad [ZJOB_ID_LEN + 1];
    s_put (store, "good", good);
    s_put (store, "bad", bad);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_sync (store, &err), -1);
    cr_assert_eq (err.code, ZJOB_INTERNAL, "%d %s", err.code, err.text);
    cr_assert (strstr (err.text, "no_bad"), "the server's message: %s", err.text);
    cr_assert_eq (s_rows (conninfo, good), 0, "half a transaction was written");
    cr_assert_not (zjob_store_fenced (store));
    cr_assert_eq (zjob_store_sync (store, &err), -1);
    long long reconnects = s_stat (store, "reconnects");
    done = zjob_test_pg_query (conninfo, "ALTER TABLE zjob_jobs DROP CONSTRAINT no_bad");
    cr_assert_not_null (done);
    free (done);
    s_sync_ok (store);
    cr_assert_eq (s_stat (store, "reconnects"), reconnects, "the session was not kept");
    cr_assert_eq (s_rows (conninfo, good), 1);
    cr_assert_eq (s_rows (conninfo, bad), 1);
    zjob_store_destroy (&store);
    s_drop (&conninfo);
}

Test (store_pg, deletes_records_and_a_reload_agree)
{
    char *conninfo = zjob_test_pg_db ();
    zjob_store_t *store = s_open (conninfo, NULL);
    s_acquire (store);
    char kept [ZJOB_ID_LEN + 1], gone [ZJOB_ID_LEN + 1];
    s_put (store, "wf", kept);
    s_put (store, "wf", gone);
    zjob_error_t err = { 0, "" };
    const uint8_t data [] = { 0x81, 0xa1, 'a', 0x00, 0xff };
    cr_assert_eq (zjob_store_record_put (store, "template", "t1", data, sizeof data, &err), 0);
    cr_assert_eq (zjob_store_record_put (store, "template", "t2", data, 2, &err), 0);
    s_sync_ok (store);
    cr_assert_eq (zjob_store_remove (store, gone, &err), 0);
    cr_assert_eq (zjob_store_record_remove (store, "template", "t2", &err), 0);
    s_sync_ok (store);
    zjob_store_destroy (&store);
    cr_assert_eq (s_rows (conninfo, gone), 0);
    cr_assert_eq (zjob_test_pg_number (conninfo, "SELECT length (data) FROM zjob_records"), 5);

    store = s_open (conninfo, NULL);
    s_acquire (store);
    cr_assert_eq (zjob_store_count (store), 1);
    zjob_job_t *job = zjob_store_get (store, kept);
    cr_assert_not_null (job);
    zjob_job_destroy (&job);
    size_t size = 0;
    const uint8_t *got = zjob_store_record_get (store, "template", "t1", &size);
    cr_assert_not_null (got);
    cr_assert_eq (size, sizeof data);
    cr_assert_eq (memcmp (got, data, size), 0, "bytea lost bytes (a NUL, 0xff)");
    cr_assert_null (zjob_store_record_get (store, "template", "t2", NULL));
    zjob_store_destroy (&store);
    s_drop (&conninfo);
}

//  --------------------------------------------------------------------------
//  The server stopped and started

//  The private server, stopped by the fini even when an assertion failed
static zjob_test_pg_private_t s_server;

static void
s_server_stop (void)
{
    zjob_test_pg_private_stop (&s_server);
}

Test (store_pg, a_stopped_server_fails_syncs_and_a_restarted_one_gets_everything,
      .fini = s_server_stop)
{
    zjob_test_pg_private_t *server = &s_server;
    zjob_test_pg_private_start (server);
    zjob_store_t *store = s_open (server->conninfo, "lease=2s");
    s_acquire (store);
    char ids [3][ZJOB_ID_LEN + 1];
    s_put (store, "wf", ids [0]);
    s_sync_ok (store);

    zjob_test_pg_ctl (server, "stop");
    s_put (store, "wf", ids [1]);
    zjob_error_t err = { 0, "" };
    int64_t start = zclock_mono ();
    cr_assert_eq (zjob_store_sync (store, &err), -1, "a sync succeeded with the server down");
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE, "%s", err.text);
    cr_assert (strstr (err.text, "postgres: "), "%s", err.text);
    s_put (store, "wf", ids [2]);
    cr_assert_eq (zjob_store_sync (store, &err), -1);
    cr_assert_eq (zjob_store_sync (store, &err), -1);
    cr_assert_lt (zclock_mono () - start, 3000, "the syncs blocked while the server was down");
    char connected [16];
    cr_assert_str_eq (s_stat_text (store, "connected", connected, sizeof connected), "false");

    //  A server that takes connections and never answers (a listener
    //  that accepts nothing) holds no sync: a reconnect attempt is
    //  spread over syncs
    int silent = s_listen (server->port);
    for (int index = 0; index < 20; index++) {
        int64_t sync_start = zclock_mono ();
        cr_assert_eq (zjob_store_sync (store, &err), -1);
        cr_assert_lt (zclock_mono () - sync_start, 500, "a sync waited on a silent server");
        zclock_sleep (50);
    }
    close (silent);

    zjob_test_pg_ctl (server, "start");
    start = zclock_mono ();
    int rc;
    while ((rc = zjob_store_sync (store, &err)) == -1 && zclock_mono () - start < S_DEADLINE_MS)
        zclock_sleep (50);
    cr_assert_eq (rc, 0, "no sync after the restart: %s", err.text);
    //  The backoff is 5 s at most: the first attempt after the restart
    //  comes within it
    cr_assert_lt (zclock_mono () - start, 6000);
    cr_assert_geq (s_stat (store, "reconnects"), 1);
    cr_assert_not (zjob_store_fenced (store));
    for (int index = 0; index < 3; index++)
        cr_assert_eq (s_rows (server->conninfo, ids [index]), 1, "job %d lost", index);
    zjob_store_destroy (&store);
}

//  The connection is killed under the active store and a standby takes
//  the lease meanwhile: the reconnect finds another epoch and fences
Test (store_pg, a_reconnect_that_finds_another_epoch_is_fenced)
{
    char *conninfo = zjob_test_pg_db ();
    zjob_store_t *old = s_open (conninfo, "lease=30s");
    s_acquire (old);
    s_put (old, "wf", NULL);
    s_sync_ok (old);
    cr_assert_eq (zjob_test_pg_number (conninfo, "SELECT count(pg_terminate_backend (pid))"
                                                 " FROM pg_stat_activity WHERE"
                                                 " application_name = 'zjobd'"
                                                 " AND datname = current_database ()"),
                  1);
    zjob_store_t *standby = s_open (conninfo, "lease=30s");
    s_acquire_within (standby, 5000);
    char after [ZJOB_ID_LEN + 1];
    s_put (old, "wf", after);
    zjob_error_t err = { 0, "" };
    int rc = zjob_store_sync (old, &err);
    for (int tries = 0; rc == -1 && !zjob_store_fenced (old) && tries < 50; tries++) {
        zclock_sleep (100);
        rc = zjob_store_sync (old, &err);
    }
    cr_assert_eq (rc, -1);
    cr_assert (zjob_store_fenced (old), "%s", err.text);
    cr_assert (strstr (err.text, "lost the lease to "), "%s", err.text);
    cr_assert_eq (s_rows (conninfo, after), 0);
    zjob_store_destroy (&old);
    zjob_store_destroy (&standby);
    s_drop (&conninfo);
}

//  A take-over loads in pages by id (ZJOB_PG_LOAD_PAGE), renewing the
//  lease between them, so a load longer than the lease keeps it
Test (store_pg, a_load_of_several_pages_gets_every_job, .timeout = 120)
{
    char *conninfo = zjob_test_pg_db ();
    zjob_store_t *first = s_open (conninfo, "lease=1s");
    s_acquire (first);
    const size_t total = 25000;  //  Three pages of 10,000
    for (size_t index = 0; index < total; index++)
        s_put (first, index % 2 ? "odd" : "even", NULL);
    s_sync_ok (first);
    zjob_store_destroy (&first);

    zjob_store_t *second = s_open (conninfo, "lease=1s");
    long long trips = s_stat (second, "round_trips");
    s_acquire (second);
    cr_assert_eq (zjob_store_count (second), total);
    //  Three pages, the last short, then the records: four reads at least
    cr_assert_geq (s_stat (second, "round_trips") - trips, 4);
    cr_assert_eq (s_stat (second, "lease_epoch"), 2);
    s_sync_ok (second);
    zjob_store_destroy (&second);
    s_drop (&conninfo);
}

//  zjob_store_renew, which recovery calls as it goes: a round trip when a
//  third of the lease has passed, none before, and never a dirty job
Test (store_pg, renew_renews_when_due_and_writes_nothing_else)
{
    char *conninfo = zjob_test_pg_db ();
    zjob_store_t *store = s_open (conninfo, "lease=1s");
    s_acquire (store);
    char id [ZJOB_ID_LEN + 1];
    s_put (store, "wf", id);  //  Dirty, not synced
    zjob_error_t err = { 0, "" };
    long long trips = s_stat (store, "round_trips");
    cr_assert_eq (zjob_store_renew (store, &err), 0, "%s", err.text);
    cr_assert_eq (s_stat (store, "round_trips"), trips, "a renewal before it was due");
    zclock_sleep (400);  //  More than a third of the lease
    cr_assert_eq (zjob_store_renew (store, &err), 0, "%s", err.text);
    cr_assert_eq (s_stat (store, "round_trips"), trips + 1);
    cr_assert_eq (s_rows (conninfo, id), 0, "the renewal wrote the dirty job");
    s_sync_ok (store);
    cr_assert_eq (s_rows (conninfo, id), 1);
    zjob_store_destroy (&store);
    s_drop (&conninfo);
}
