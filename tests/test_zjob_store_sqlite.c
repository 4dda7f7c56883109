/*  =========================================================================
    test_zjob_store_sqlite - the SQLite store's own matters

    What every store must do is in the conformance suite
    (test_zjob_store.c). Here: the database is in WAL mode with the
    documented schema; the sqlite3 shell reads it while zjobd has it open
    and sees what was synced; a second open of the same file refuses; a
    schema newer than the code refuses; a commit that fails (another
    writer holding the lock, the disk refusing to grow the WAL) keeps
    every change for the next sync and writes nothing of it; a row that
    does not decode refuses the open, naming its id; the WAL stays bounded
    by the checkpoints.
    ========================================================================= */

#include <criterion/criterion.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "zjob_store.h"
#include "helper_zjob_test.h"

//  --------------------------------------------------------------------------
//  Helpers

typedef struct {
    char *dir;   //  Temporary directory
    char *path;  //  The database file in it
    char *spec;  //  sqlite:PATH[?OPTIONS]
    zjob_store_t *store;
} s_db_t;

static void
s_db_open (s_db_t *db, const char *options)
{
    memset (db, 0, sizeof *db);
    db->dir = zjob_test_tmpdir ();
    cr_assert_not_null (db->dir);
    db->path = zsys_sprintf ("%s/jobs.db", db->dir);
    db->spec = zsys_sprintf ("sqlite:%s%s%s", db->path, options ? "?" : "", options ? options : "");
    zjob_error_t err = { 0, "" };
    db->store = zjob_store_open (db->spec, &err);
    cr_assert_not_null (db->store, "open %s: %s", db->spec, err.text);
}

static void
s_db_reopen (s_db_t *db)
{
    zjob_store_destroy (&db->store);
    zjob_error_t err = { 0, "" };
    db->store = zjob_store_open (db->spec, &err);
    cr_assert_not_null (db->store, "reopen %s: %s", db->spec, err.text);
}

static void
s_db_close (s_db_t *db)
{
    zjob_store_destroy (&db->store);
    zjob_test_rmtree (db->dir);
    free (db->dir);
    zstr_free (&db->path);
    zstr_free (&db->spec);
}

//  A new job in workflow with status, put and synced into store; its id
//  goes to id (ZJOB_ID_LEN + 1 bytes) if not NULL
static void
s_put (zjob_store_t *store, const char *workflow, zjob_status_t status, char *id)
{
    zjob_spec_t spec = { .workflow_id = workflow, .user_id = "ann", .priority = ZJOB_PRIORITY_HIGH };
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    job->status = (uint8_t) status;
    if (id)
        strcpy (id, job->id);
    cr_assert_eq (zjob_store_put (store, job, &err), 0, "%s", err.text);
    zjob_job_destroy (&job);
}

static void
s_sync (zjob_store_t *store)
{
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_sync (store, &err), 0, "sync: %s", err.text);
}

//  The output of the sqlite3 shell (Debian's /usr/bin/sqlite3) running
//  sql on path, newlines included; freed by the caller
static char *
s_shell (const char *path, const char *sql)
{
    char *command = zsys_sprintf ("/usr/bin/sqlite3 '%s' \"%s\" 2>&1", path, sql);
    FILE *pipe = popen (command, "r");
    cr_assert_not_null (pipe, "cannot run %s", command);
    char output [4096];
    size_t size = fread (output, 1, sizeof output - 1, pipe);
    output [size] = 0;
    int status = pclose (pipe);
    cr_assert_eq (status, 0, "%s: exit %d: %s", command, status, output);
    zstr_free (&command);
    return strdup (output);
}

//  Run sql on path through a connection of the test's own; 0 or fail
static void
s_exec (const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    cr_assert_eq (sqlite3_open (path, &db), SQLITE_OK);
    char *error = NULL;
    int rc = sqlite3_exec (db, sql, NULL, NULL, &error);
    cr_assert_eq (rc, SQLITE_OK, "%s: %s", sql, error ? error : "");
    sqlite3_close (db);
}

//  The store's figure key, as a number
static long
s_stat (zjob_store_t *store, const char *key)
{
    zhashx_t *stats = zhashx_new ();
    zjob_store_stats (store, stats);
    const char *value = (const char *) zhashx_lookup (stats, key);
    cr_assert_not_null (value, "no %s among the stats", key);
    long number = atol (value);
    zhashx_destroy (&stats);
    return number;
}


//  --------------------------------------------------------------------------
//  The database

Test (store_sqlite, wal_and_schema)
{
    s_db_t db;
    s_db_open (&db, NULL);
    s_put (db.store, "resize", ZJOB_QUEUED, NULL);
    s_sync (db.store);

    char *mode = s_shell (db.path, "PRAGMA journal_mode");
    cr_assert_str_eq (mode, "wal\n");
    free (mode);
    char *version = s_shell (db.path, "SELECT value FROM zjob_meta WHERE key = 'schema_version'");
    cr_assert_str_eq (version, "1\n");
    free (version);
    char *tables = s_shell (db.path, "SELECT name FROM sqlite_master WHERE type = 'table' "
                                     "ORDER BY name");
    cr_assert_str_eq (tables, "zjob_jobs\nzjob_meta\nzjob_records\n");
    free (tables);
    //  The operators' queries use the indexes
    char *plan = s_shell (db.path, "EXPLAIN QUERY PLAN SELECT id FROM zjob_jobs WHERE "
                                   "status = 'queued' ORDER BY priority DESC, created_at");
    cr_assert (strstr (plan, "zjob_jobs_status"), "%s", plan);
    free (plan);
    plan = s_shell (db.path, "EXPLAIN QUERY PLAN SELECT id FROM zjob_jobs WHERE "
                             "batch_id = 'b' ");
    cr_assert (strstr (plan, "zjob_jobs_batch"), "%s", plan);
    free (plan);
    zhashx_t *stats = zhashx_new ();
    zjob_store_stats (db.store, stats);
    cr_assert_str_eq (zhashx_lookup (stats, "sqlite_sync"), "full", "full is the default");
    cr_assert_gt (atol (zhashx_lookup (stats, "sqlite_wal_bytes")), 0);
    cr_assert_gt (atol (zhashx_lookup (stats, "sqlite_page_count")), 1);
    zhashx_destroy (&stats);
    //  A sync with nothing to write makes no transaction
    long commits = s_stat (db.store, "commits");
    s_sync (db.store);
    cr_assert_eq (s_stat (db.store, "commits"), commits);
    s_db_close (&db);
}

//  An operator reads the database with the sqlite3 shell while the store
//  is open: each time, what the last sync wrote, and every column
Test (store_sqlite, the_shell_reads_it_while_open)
{
    s_db_t db;
    s_db_open (&db, "sync=normal");
    zjob_status_t statuses [] = { ZJOB_QUEUED, ZJOB_QUEUED, ZJOB_QUEUED, ZJOB_RUNNING,
                                  ZJOB_RUNNING, ZJOB_COMPLETED };
    char ids [6][ZJOB_ID_LEN + 1];
    for (int index = 0; index < 6; index++)
        s_put (db.store, index < 4 ? "resize" : "thumbs", statuses [index], ids [index]);
    s_sync (db.store);
    const char *query = "SELECT status, count(*) FROM zjob_jobs GROUP BY status ORDER BY status";
    char *counts = s_shell (db.path, query);
    cr_assert_str_eq (counts, "completed|1\nqueued|3\nrunning|2\n");
    free (counts);

    //  A change not yet synced is not there; once synced it is
    zjob_job_t *job = zjob_store_get (db.store, ids [0]);
    job->status = ZJOB_RUNNING;
    job->started_at = 1700000000123;
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_put (db.store, job, &err), 0, "%s", err.text);
    zjob_job_destroy (&job);
    counts = s_shell (db.path, query);
    cr_assert_str_eq (counts, "completed|1\nqueued|3\nrunning|2\n");
    free (counts);
    s_sync (db.store);
    counts = s_shell (db.path, query);
    cr_assert_str_eq (counts, "completed|1\nqueued|2\nrunning|3\n");
    free (counts);
    char *sql = zsys_sprintf ("SELECT workflow, status, priority, user_id, started_at, "
                              "attempts, typeof(data) FROM zjob_jobs WHERE id = '%s'",
                              ids [0]);
    char *row = s_shell (db.path, sql);
    cr_assert_str_eq (row, "resize|running|2|ann|1700000000123|0|blob\n");
    free (row);
    zstr_free (&sql);
    //  The store goes on writing after the shell came and went
    s_put (db.store, "resize", ZJOB_QUEUED, NULL);
    s_sync (db.store);
    counts = s_shell (db.path, "SELECT count(*) FROM zjob_jobs");
    cr_assert_str_eq (counts, "7\n");
    free (counts);
    s_db_close (&db);
}

Test (store_sqlite, a_second_open_refuses)
{
    s_db_t db;
    s_db_open (&db, NULL);
    zjob_error_t err = { 0, "" };
    zjob_store_t *second = zjob_store_open (db.spec, &err);
    cr_assert_null (second, "a second store on %s", db.path);
    cr_assert_eq (err.code, ZJOB_INTERNAL);
    cr_assert (strstr (err.text, "in use by another process"), "%s", err.text);
    cr_assert (strstr (err.text, db.path), "names the file: %s", err.text);
    //  The first goes on undisturbed, and once closed the file opens again
    s_put (db.store, "resize", ZJOB_QUEUED, NULL);
    s_sync (db.store);
    s_db_reopen (&db);
    cr_assert_eq (zjob_store_count (db.store), 1);
    s_db_close (&db);
}

Test (store_sqlite, a_newer_schema_refuses)
{
    s_db_t db;
    s_db_open (&db, NULL);
    zjob_store_destroy (&db.store);
    s_exec (db.path, "UPDATE zjob_meta SET value = '99' WHERE key = 'schema_version'");
    zjob_error_t err = { 0, "" };
    zjob_store_t *store = zjob_store_open (db.spec, &err);
    cr_assert_null (store);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST, "%d %s", err.code, err.text);
    cr_assert (strstr (err.text, "schema version 99 is newer than this zjobd (1)"), "%s", err.text);
    //  And a version that is not a number is no version
    s_exec (db.path, "UPDATE zjob_meta SET value = 'one' WHERE key = 'schema_version'");
    store = zjob_store_open (db.spec, &err);
    cr_assert_null (store);
    cr_assert (strstr (err.text, "schema_version"), "%s", err.text);
    s_exec (db.path, "UPDATE zjob_meta SET value = '1' WHERE key = 'schema_version'");
    s_db_reopen (&db);
    s_db_close (&db);
}

//  A file that is not a database is refused with SQLite's word for it
Test (store_sqlite, not_a_database)
{
    char *dir = zjob_test_tmpdir ();
    char *path = zsys_sprintf ("%s/jobs.db", dir);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    for (int index = 0; index < 200; index++)
        fputs ("this is not a database, only a text file that is long enough\n", file);
    fclose (file);
    char *spec = zsys_sprintf ("sqlite:%s", path);
    zjob_error_t err = { 0, "" };
    zjob_store_t *store = zjob_store_open (spec, &err);
    cr_assert_null (store);
    cr_assert (strstr (err.text, path) && strstr (err.text, "not a database"), "%s", err.text);
    zstr_free (&spec);
    zstr_free (&path);
    zjob_test_rmtree (dir);
    free (dir);
}


//  --------------------------------------------------------------------------
//  Failing commits

//  The rows of zjob_jobs as the database has them (another connection)
static int
s_rows (const char *path)
{
    char *count = s_shell (path, "SELECT count(*) FROM zjob_jobs");
    int rows = atoi (count);
    free (count);
    return rows;
}

//  Another writer holds the database's write lock: the sync fails within
//  the busy timeout, keeps its changes, and the next sync writes them
Test (store_sqlite, a_commit_that_waits_for_a_writer_fails_and_is_retried)
{
    s_db_t db;
    s_db_open (&db, NULL);
    s_put (db.store, "resize", ZJOB_QUEUED, NULL);
    s_sync (db.store);
    sqlite3 *other = NULL;
    cr_assert_eq (sqlite3_open (db.path, &other), SQLITE_OK);
    cr_assert_eq (sqlite3_exec (other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    for (int index = 0; index < 10; index++)
        s_put (db.store, "resize", ZJOB_QUEUED, NULL);
    zjob_error_t err = { 0, "" };
    int64_t start = zclock_mono ();
    cr_assert_eq (zjob_store_sync (db.store, &err), -1, "a sync past another writer's lock");
    int64_t took = zclock_mono () - start;
    cr_assert_lt (took, 1000, "the sync waited %" PRId64 " ms", took);
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE, "%d %s", err.code, err.text);
    cr_assert (strstr (err.text, "locked"), "%s", err.text);
    cr_assert_eq (s_stat (db.store, "dirty"), 10);
    cr_assert_eq (zjob_store_count (db.store), 11, "the view keeps them");
    cr_assert_eq (sqlite3_exec (other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close (other);
    cr_assert_eq (s_rows (db.path), 1, "nothing of the failed commit was written");
    s_sync (db.store);
    cr_assert_eq (s_stat (db.store, "dirty"), 0);
    cr_assert_eq (s_rows (db.path), 11);
    s_db_reopen (&db);
    cr_assert_eq (zjob_store_count (db.store), 11);
    s_db_close (&db);
}

//  The disk refuses to grow the WAL (RLIMIT_FSIZE, as a full disk would;
//  Criterion runs each test in a process of its own): the sync fails
//  with SQLite's error, nothing of it is in the database, and once there
//  is room again the next sync writes every change, records too
Test (store_sqlite, a_commit_the_disk_refuses_is_kept_for_the_next_sync)
{
    s_db_t db;
    s_db_open (&db, NULL);
    char ids [50][ZJOB_ID_LEN + 1];
    s_put (db.store, "resize", ZJOB_QUEUED, ids [0]);
    s_sync (db.store);
    //  An empty WAL, so that the next commit must grow it
    s_exec (db.path, "PRAGMA wal_checkpoint(TRUNCATE)");
    signal (SIGXFSZ, SIG_IGN);
    struct rlimit limit;
    cr_assert_eq (getrlimit (RLIMIT_FSIZE, &limit), 0);
    struct rlimit small = { 1024, limit.rlim_max };
    for (int index = 1; index < 50; index++)
        s_put (db.store, "resize", ZJOB_QUEUED, ids [index]);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_remove (db.store, ids [0], &err), 0);
    const uint8_t data [] = { 1, 2, 3 };
    cr_assert_eq (zjob_store_record_put (db.store, "template", "t", data, 3, &err), 0);
    cr_assert_eq (setrlimit (RLIMIT_FSIZE, &small), 0);
    int rc = zjob_store_sync (db.store, &err);
    int rc_again = zjob_store_sync (db.store, NULL);
    cr_assert_eq (setrlimit (RLIMIT_FSIZE, &limit), 0);
    cr_assert_eq (rc, -1, "a sync the disk refused");
    cr_assert_eq (rc_again, -1);
    cr_assert_eq (err.code, ZJOB_INTERNAL, "%d %s", err.code, err.text);
    cr_assert (strstr (err.text, db.path), "%s", err.text);
    cr_assert_not (zjob_store_writable (db.store, NULL, NULL));
    cr_assert_eq (s_stat (db.store, "dirty"), 51);
    cr_assert_eq (s_rows (db.path), 1, "nothing of the failed commit was written");

    s_sync (db.store);
    cr_assert (zjob_store_writable (db.store, NULL, NULL));
    cr_assert_eq (s_rows (db.path), 49);
    s_db_reopen (&db);
    cr_assert_eq (zjob_store_count (db.store), 49);
    cr_assert_null (zjob_store_get (db.store, ids [0]));
    for (int index = 1; index < 50; index++) {
        zjob_job_t *job = zjob_store_get (db.store, ids [index]);
        cr_assert_not_null (job, "job %d lost", index);
        zjob_job_destroy (&job);
    }
    cr_assert_not_null (zjob_store_record_get (db.store, "template", "t", NULL));
    s_db_close (&db);
}


//  --------------------------------------------------------------------------
//  Loading

//  A row whose data does not decode, or holds another job, refuses the
//  open with the id: a store never starts on half of its jobs
Test (store_sqlite, a_row_that_does_not_decode_refuses_the_open)
{
    s_db_t db;
    s_db_open (&db, NULL);
    char good [ZJOB_ID_LEN + 1], bad [ZJOB_ID_LEN + 1];
    s_put (db.store, "resize", ZJOB_QUEUED, good);
    s_put (db.store, "resize", ZJOB_QUEUED, bad);
    s_sync (db.store);
    zjob_store_destroy (&db.store);

    char *sql = zsys_sprintf ("UPDATE zjob_jobs SET data = x'81a2696401' WHERE id = '%s'", bad);
    s_exec (db.path, sql);
    zstr_free (&sql);
    zjob_error_t err = { 0, "" };
    zjob_store_t *store = zjob_store_open (db.spec, &err);
    cr_assert_null (store, "opened with a broken row");
    cr_assert_eq (err.code, ZJOB_INTERNAL);
    cr_assert (strstr (err.text, bad) && strstr (err.text, "does not decode"), "%s", err.text);
    cr_assert (strstr (err.text, db.path), "names the file: %s", err.text);

    //  The data of another job under this id
    sql = zsys_sprintf ("UPDATE zjob_jobs SET data = (SELECT data FROM zjob_jobs WHERE id = '%s')"
                        " WHERE id = '%s'",
                        good, bad);
    s_exec (db.path, sql);
    zstr_free (&sql);
    store = zjob_store_open (db.spec, &err);
    cr_assert_null (store);
    cr_assert (strstr (err.text, bad) && strstr (err.text, good), "%s", err.text);

    //  Without it the store opens, and a bad record is refused too
    sql = zsys_sprintf ("DELETE FROM zjob_jobs WHERE id = '%s';"
                        "INSERT INTO zjob_records VALUES ('template', 'not a name', x'01')",
                        bad);
    s_exec (db.path, sql);
    zstr_free (&sql);
    store = zjob_store_open (db.spec, &err);
    cr_assert_null (store);
    cr_assert (strstr (err.text, "not a name"), "%s", err.text);
    s_exec (db.path, "DELETE FROM zjob_records");
    s_db_reopen (&db);
    cr_assert_eq (zjob_store_count (db.store), 1);
    s_db_close (&db);
}


//  --------------------------------------------------------------------------
//  Checkpoints

//  Put count jobs of 2 KB of inputs into store and sync
static void
s_put_big (zjob_store_t *store, int count)
{
    uint8_t inputs [2048 + 8];
    size_t size = 0;
    inputs [size++] = 0x81;  //  {"p": "xxx..."}, a str 16 of 2048 bytes
    inputs [size++] = 0xa1;
    inputs [size++] = 'p';
    inputs [size++] = 0xda;
    inputs [size++] = 0x08;
    inputs [size++] = 0x00;
    memset (inputs + size, 'x', 2048);
    size += 2048;
    zjob_error_t err = { 0, "" };
    for (int index = 0; index < count; index++) {
        zjob_spec_t spec = { .workflow_id = "big", .inputs = inputs, .inputs_size = size };
        zjob_job_t *job = zjob_job_new (&spec, &err);
        cr_assert_not_null (job, "%s", err.text);
        cr_assert_eq (zjob_store_put (store, job, &err), 0, "%s", err.text);
        zjob_job_destroy (&job);
    }
    s_sync (store);
}

//  A steady flow of commits (a pass every 2 ms, 25 jobs of 2 KB each, some
//  10 MB a second of WAL): checkpoints run on the store's thread, the
//  commits finish them, the WAL starts over again and again instead of
//  growing with everything ever written, and no commit takes long
Test (store_sqlite, checkpoints_keep_the_wal_bounded, .timeout = 120)
{
    s_db_t db;
    s_db_open (&db, "sync=normal");
    for (int pass = 0; pass < 600; pass++) {
        s_put_big (db.store, 25);
        zclock_sleep (2);  //  Pacing the load, not waiting for anything
    }
    long wal = s_stat (db.store, "sqlite_wal_bytes");
    long longest = s_stat (db.store, "sqlite_max_commit_us");
    fprintf (stderr, "checkpoints: %ld (%ld by commits), the longest %ld us; the longest "
                     "commit %ld us; WAL %ld bytes\n",
             s_stat (db.store, "sqlite_checkpoints"), s_stat (db.store, "sqlite_commit_checkpoints"),
             s_stat (db.store, "sqlite_max_checkpoint_us"), longest, wal);
    //  15,000 jobs, some 40 MB of WAL written: a WAL that never started
    //  over would hold all of it
    cr_assert_geq (s_stat (db.store, "sqlite_checkpoints"), 3);
    cr_assert_geq (s_stat (db.store, "sqlite_commit_checkpoints"), 2, "the WAL never started over");
    cr_assert_lt (wal, 16 << 20, "the WAL holds %ld bytes", wal);
    s_db_reopen (&db);
    cr_assert_eq (zjob_store_count (db.store), 15000);
    s_db_close (&db);
}

//  A commit that finds the WAL grown past its bound (commits outrunning
//  the thread) checkpoints itself: the WAL stays bounded however fast
//  the commits come
Test (store_sqlite, the_wal_has_a_bound_under_any_load, .timeout = 120)
{
    s_db_t db;
    s_db_open (&db, "sync=off");
    for (int pass = 0; pass < 300; pass++)
        s_put_big (db.store, 100);
    long wal = s_stat (db.store, "sqlite_wal_bytes");
    cr_assert_lt (wal, 80 << 20, "the WAL holds %ld bytes", wal);
    s_db_close (&db);
}
