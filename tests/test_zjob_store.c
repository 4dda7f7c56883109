/*  =========================================================================
    test_zjob_store - the store conformance suite: memory, file, sqlite and
    postgres

    Every test body runs once per store (a Criterion parameterised test,
    the parameter being the store), through zjob_store.h only: what it
    asserts is what the job manager relies on, whatever the store. The
    durable stores (all but memory) also reopen what they synced and must
    give it back as it was. Each store's own matters are in its own file:
    test_zjob_store_file.c (journal, recovery, compaction, crashes),
    test_zjob_store_sqlite.c, test_zjob_store_pg.c.

    The postgres case needs the PostgreSQL server of the CTest fixture
    "pg" (tests/pg_server.sh); each test gets a database of its own
    (helper_zjob_pg.h) and fails, rather than skips, without a server.
    ========================================================================= */

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zjob_store.h"
#include "helper_zjob_test.h"
#include "helper_zjob_pg.h"

//  --------------------------------------------------------------------------
//  Helpers

static char *
s_tmpdir (void)
{
    char *dir = zjob_test_tmpdir ();
    cr_assert_not_null (dir, "cannot make a temporary directory");
    return dir;
}

static void
s_tmpdir_remove (char **path_p)
{
    zjob_test_rmtree (*path_p);
    cr_assert (!zsys_file_exists (*path_p), "%s not removed", *path_p);
    free (*path_p);
    *path_p = NULL;
}

//  The stores every test runs on, each in a fresh place of its own
typedef enum { S_MEMORY,
               S_FILE,
               S_SQLITE,
               S_POSTGRES,
               STORES } s_which_t;
static const char *s_names [STORES] = { "memory", "file", "sqlite", "postgres" };
static int s_stores [STORES] = { S_MEMORY, S_FILE, S_SQLITE, S_POSTGRES };

//  A test of the suite: its body runs once for each store, as *which_p
#define STORE_TEST(name)                                    \
    ParameterizedTestParameters (store, name)               \
    {                                                       \
        return cr_make_param_array (int, s_stores, STORES); \
    }                                                       \
    ParameterizedTest (int *which_p, store, name, .timeout = 120)

typedef struct {
    int which;       //  s_which_t
    char *dir;       //  Temporary directory, or NULL
    char *conninfo;  //  The test's PostgreSQL database, or NULL
    char *spec;      //  The spec the store was opened with
    zjob_store_t *store;
} s_fixture_t;

//  Open fixture->spec and become its active broker, as zjobd does
static void
s_attach (s_fixture_t *fixture)
{
    zjob_error_t err = { 0, "" };
    fixture->store = zjob_store_open (fixture->spec, &err);
    cr_assert_not_null (fixture->store, "open %s: %s", fixture->spec, err.text);
    int rc = zjob_store_acquire (fixture->store, &err);
    cr_assert_eq (rc, 1, "%s: acquire %d: %s", fixture->spec, rc, err.text);
}

static void
s_open (s_fixture_t *fixture, int which)
{
    memset (fixture, 0, sizeof *fixture);
    fixture->which = which;
    if (which == S_MEMORY)
        fixture->spec = strdup ("memory:");
    else if (which == S_FILE) {
        fixture->dir = s_tmpdir ();
        fixture->spec = zsys_sprintf ("file:%s/store?fsync=never", fixture->dir);
    }
    else if (which == S_SQLITE) {
        fixture->dir = s_tmpdir ();
        fixture->spec = zsys_sprintf ("sqlite:%s/jobs.db?sync=off", fixture->dir);
    }
    else {
        fixture->conninfo = zjob_test_pg_new_db ();
        cr_assert_not_null (fixture->conninfo, "postgres: no database to test on (see above)");
        fixture->spec = zsys_sprintf ("postgres:%s", fixture->conninfo);
    }
    s_attach (fixture);
}

//  Whether what was synced survives a close
static bool
s_durable (const s_fixture_t *fixture)
{
    return fixture->which != S_MEMORY;
}

//  Sync, close and open the same store again
static void
s_reopen (s_fixture_t *fixture)
{
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_sync (fixture->store, &err), 0, "%s: sync: %s", fixture->spec, err.text);
    zjob_store_destroy (&fixture->store);
    s_attach (fixture);
}

static void
s_close (s_fixture_t *fixture)
{
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_sync (fixture->store, &err), 0, "%s: sync: %s", fixture->spec, err.text);
    zjob_store_destroy (&fixture->store);
    cr_assert_null (fixture->store);
    if (fixture->dir)
        s_tmpdir_remove (&fixture->dir);
    if (fixture->conninfo)
        zjob_test_pg_drop_db (fixture->conninfo);
    free (fixture->conninfo);
    free (fixture->spec);
}

//  A new job (one reference, the caller's) in workflow with status
static zjob_job_t *
s_job (const char *workflow, zjob_status_t status)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof spec);
    spec.workflow_id = workflow;
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "job: %s", err.text);
    job->status = (uint8_t) status;
    return job;
}

//  Put job and drop the caller's reference: the store keeps the job alive
static void
s_put (zjob_store_t *store, zjob_job_t **job_p)
{
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_put (store, *job_p, &err), 0, "put: %s", err.text);
    zjob_job_destroy (job_p);
}

static bool
s_has (zjob_store_t *store, const char *id)
{
    zjob_job_t *job = zjob_store_get (store, id);
    bool found = job != NULL;
    zjob_job_destroy (&job);
    return found;
}

//  Visitor: collect the ids seen, stop after limit (0 = never)
typedef struct {
    char ids [64][ZJOB_ID_LEN + 1];
    int count;
    int limit;
} s_seen_t;

static int
s_seen_visit (zjob_job_t *job, void *arg)
{
    s_seen_t *seen = (s_seen_t *) arg;
    cr_assert_lt (seen->count, 64);
    strcpy (seen->ids [seen->count++], job->id);
    return seen->limit && seen->count >= seen->limit;
}

static bool
s_seen_has (const s_seen_t *seen, const char *id)
{
    for (int index = 0; index < seen->count; index++)
        if (streq (seen->ids [index], id))
            return true;
    return false;
}


//  --------------------------------------------------------------------------
//  Put, get, remove

STORE_TEST (put_get_remove)
{
    int which = *which_p;
    s_fixture_t fixture;
    s_open (&fixture, which);
    zjob_store_t *store = fixture.store;
    cr_assert_str_eq (zjob_store_name (store), s_names [which]);
    cr_assert_eq (zjob_store_count (store), 0);

    char ids [3][ZJOB_ID_LEN + 1];
    for (int index = 0; index < 3; index++) {
        zjob_job_t *job = s_job ("resize", ZJOB_CREATED);
        strcpy (ids [index], job->id);
        s_put (store, &job);
    }
    cr_assert_eq (zjob_store_count (store), 3, "%s", fixture.spec);

    //  get hands out a reference to the stored object itself
    zjob_job_t *job = zjob_store_get (store, ids [1]);
    cr_assert_not_null (job, "%s: get", fixture.spec);
    cr_assert_str_eq (job->id, ids [1]);
    cr_assert_str_eq (job->workflow_id, "resize");
    zjob_job_t *again = zjob_store_get (store, ids [1]);
    cr_assert_eq (again, job, "%s: jobs are shared, not copied", fixture.spec);
    cr_assert_eq (job->refs, 3, "store + two gets");
    zjob_job_destroy (&again);
    zjob_job_destroy (&job);

    cr_assert_null (zjob_store_get (store, "0000000000000000000Z"));
    cr_assert_null (zjob_store_get (store, ""));
    cr_assert_null (zjob_store_get (store, NULL));

    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_remove (store, ids [1], &err), 0, "remove: %s", err.text);
    cr_assert_eq (zjob_store_count (store), 2);
    cr_assert_not (s_has (store, ids [1]));
    cr_assert (s_has (store, ids [0]));
    cr_assert (s_has (store, ids [2]));

    //  Unknown ids, including one just removed
    cr_assert_eq (zjob_store_remove (store, ids [1], &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND, "%s: %d %s", fixture.spec, err.code, err.text);
    cr_assert (strstr (err.text, ids [1]), "names the id: %s", err.text);
    err.code = 0;
    cr_assert_eq (zjob_store_remove (store, "nonsense", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_eq (zjob_store_remove (store, "nonsense", NULL), -1, "err may be NULL");
    cr_assert_eq (zjob_store_count (store), 2);
    s_close (&fixture);
}

STORE_TEST (replace)
{
    int which = *which_p;
    s_fixture_t fixture;
    s_open (&fixture, which);
    zjob_store_t *store = fixture.store;
    zjob_error_t err = { 0, "" };

    zjob_job_t *first = s_job ("resize", ZJOB_CREATED);
    cr_assert_eq (zjob_store_put (store, first, &err), 0, "put: %s", err.text);
    cr_assert_eq (first->refs, 2);

    //  The owner changes the job in place and puts the same object again
    first->status = ZJOB_QUEUED;
    cr_assert_eq (zjob_store_put (store, first, &err), 0, "put: %s", err.text);
    cr_assert_eq (first->refs, 2, "%s: a second put of the same job takes no reference",
                  fixture.spec);
    cr_assert_eq (zjob_store_count (store), 1);

    //  A different object with the same id replaces it
    zjob_job_t *second = zjob_job_dup (first);
    cr_assert_not_null (second);
    second->status = ZJOB_RUNNING;
    cr_assert_eq (zjob_store_put (store, second, &err), 0, "put: %s", err.text);
    cr_assert_eq (first->refs, 1, "%s: the store dropped the replaced job", fixture.spec);
    cr_assert_eq (second->refs, 2);
    cr_assert_eq (zjob_store_count (store), 1);
    zjob_job_t *got = zjob_store_get (store, first->id);
    cr_assert_eq (got, second);
    cr_assert_eq (got->status, ZJOB_RUNNING);
    zjob_job_destroy (&got);
    zjob_job_destroy (&first);
    zjob_job_destroy (&second);

    //  Bad input is refused, not stored
    cr_assert_eq (zjob_store_put (store, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (zjob_store_count (store), 1);
    s_close (&fixture);
}

STORE_TEST (many_jobs)
{
    //  Enough to grow the table several times and to shrink it again
    int which = *which_p;
    s_fixture_t fixture;
    s_open (&fixture, which);
    zjob_store_t *store = fixture.store;
    enum { COUNT = 5000 };
    char (*ids) [ZJOB_ID_LEN + 1] = calloc (COUNT, sizeof *ids);
    cr_assert_not_null (ids);
    for (int index = 0; index < COUNT; index++) {
        zjob_job_t *job = s_job ("bulk", ZJOB_QUEUED);
        strcpy (ids [index], job->id);
        s_put (store, &job);
    }
    cr_assert_eq (zjob_store_count (store), COUNT);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_sync (store, &err), 0, "sync: %s", err.text);
    for (int index = 0; index < COUNT; index += 2)
        cr_assert_eq (zjob_store_remove (store, ids [index], &err), 0, "remove: %s", err.text);
    cr_assert_eq (zjob_store_count (store), COUNT / 2);
    for (int index = 0; index < COUNT; index++)
        cr_assert_eq (s_has (store, ids [index]), index % 2 == 1,
                      "%s: job %d", fixture.spec, index);
    for (int index = 1; index < COUNT - 10; index += 2)
        cr_assert_eq (zjob_store_remove (store, ids [index], &err), 0, "remove: %s", err.text);
    cr_assert_eq (zjob_store_count (store), 5);
    for (int index = COUNT - 10; index < COUNT; index++)
        cr_assert_eq (s_has (store, ids [index]), index % 2 == 1);
    free (ids);
    s_close (&fixture);
}


//  --------------------------------------------------------------------------
//  Iterate and count

STORE_TEST (iterate_filters)
{
    int which = *which_p;
    s_fixture_t fixture;
    s_open (&fixture, which);
    zjob_store_t *store = fixture.store;

    //  resize: queued x2, running; thumbs: queued (tagged, user ann), completed
    const char *tags [] = { "red", "big" };
    zjob_spec_t spec;
    memset (&spec, 0, sizeof spec);
    spec.workflow_id = "thumbs";
    spec.user_id = "ann";
    spec.tags = tags;
    spec.tag_count = 2;
    zjob_error_t err = { 0, "" };
    zjob_job_t *tagged = zjob_job_new (&spec, &err);
    cr_assert_not_null (tagged, "%s", err.text);
    tagged->status = ZJOB_QUEUED;
    char tagged_id [ZJOB_ID_LEN + 1];
    strcpy (tagged_id, tagged->id);
    s_put (store, &tagged);

    zjob_job_t *jobs [4] = {
        s_job ("resize", ZJOB_QUEUED), s_job ("resize", ZJOB_QUEUED),
        s_job ("resize", ZJOB_RUNNING), s_job ("thumbs", ZJOB_COMPLETED)
    };
    char ids [4][ZJOB_ID_LEN + 1];
    for (int index = 0; index < 4; index++) {
        strcpy (ids [index], jobs [index]->id);
        s_put (store, &jobs [index]);
    }
    cr_assert_eq (zjob_store_count (store), 5);

    s_seen_t seen = { .count = 0 };
    cr_assert_eq (zjob_store_iterate (store, NULL, s_seen_visit, &seen), 5);
    cr_assert_eq (seen.count, 5);

    memset (&seen, 0, sizeof seen);
    zjob_filter_t filter = { .status_mask = 1u << ZJOB_QUEUED };
    cr_assert_eq (zjob_store_iterate (store, &filter, s_seen_visit, &seen), 3, "%s", fixture.spec);
    cr_assert (s_seen_has (&seen, ids [0]) && s_seen_has (&seen, ids [1])
               && s_seen_has (&seen, tagged_id));

    memset (&seen, 0, sizeof seen);
    filter = (zjob_filter_t){ .workflow_id = "resize",
                              .status_mask = 1u << ZJOB_QUEUED | 1u << ZJOB_RUNNING };
    cr_assert_eq (zjob_store_iterate (store, &filter, s_seen_visit, &seen), 3);
    cr_assert (s_seen_has (&seen, ids [2]));
    cr_assert_not (s_seen_has (&seen, tagged_id));

    memset (&seen, 0, sizeof seen);
    const char *red [] = { "red" };
    filter = (zjob_filter_t){ .tags = red, .tag_count = 1 };
    cr_assert_eq (zjob_store_iterate (store, &filter, s_seen_visit, &seen), 1);
    cr_assert_str_eq (seen.ids [0], tagged_id);

    memset (&seen, 0, sizeof seen);
    filter = (zjob_filter_t){ .user_id = "bob" };
    cr_assert_eq (zjob_store_iterate (store, &filter, s_seen_visit, &seen), 0);
    cr_assert_eq (seen.count, 0);

    //  A visitor that returns non-zero stops the walk
    memset (&seen, 0, sizeof seen);
    seen.limit = 2;
    cr_assert_eq (zjob_store_iterate (store, NULL, s_seen_visit, &seen), 2);
    cr_assert_eq (seen.count, 2);
    s_close (&fixture);
}


//  --------------------------------------------------------------------------
//  Cleanup

STORE_TEST (cleanup)
{
    int64_t now = zjob_clock_ms ();
    int64_t old = now - 3600 * 1000;
    int which = *which_p;
    s_fixture_t fixture;
    s_open (&fixture, which);
    zjob_store_t *store = fixture.store;
    struct {
        zjob_status_t status;
        int64_t completed_at;
        bool removed;
    } cases [] = {
        { ZJOB_COMPLETED, old, true },
        { ZJOB_FAILED, old, true },
        { ZJOB_CANCELLED, old, true },
        { ZJOB_COMPLETED, now, false },         //  Not old enough
        { ZJOB_CANCELLED, now - 1000, false },  //  Cutoff is exclusive of this
        { ZJOB_QUEUED, old, false },            //  Never a non-terminal job,
        { ZJOB_RUNNING, old, false },           //  whatever its times say
        { ZJOB_PAUSED, old, false },
        { ZJOB_CREATED, 0, false },
    };
    size_t count = sizeof cases / sizeof cases [0];
    char ids [16][ZJOB_ID_LEN + 1];
    for (size_t index = 0; index < count; index++) {
        zjob_job_t *job = s_job ("clean", cases [index].status);
        job->completed_at = cases [index].completed_at;
        strcpy (ids [index], job->id);
        s_put (store, &job);
    }
    zjob_error_t err = { 0, "" };
    int removed = zjob_store_cleanup (store, now - 1000, &err);
    cr_assert_eq (removed, 3, "%s: cleanup removed %d: %s", fixture.spec, removed, err.text);
    for (size_t index = 0; index < count; index++)
        cr_assert_eq (s_has (store, ids [index]), !cases [index].removed,
                      "%s: case %zu", fixture.spec, index);
    cr_assert_eq (zjob_store_count (store), count - 3);
    cr_assert_eq (zjob_store_cleanup (store, now - 1000, &err), 0, "nothing left to clean");

    //  A cutoff in the future takes every terminal job, and only those
    cr_assert_eq (zjob_store_cleanup (store, now + 1000, &err), 2);
    cr_assert_eq (zjob_store_count (store), 4);
    s_close (&fixture);
}


//  --------------------------------------------------------------------------
//  Specs

Test (store, spec_errors)
{
    char *dir = s_tmpdir ();
    struct {
        const char *spec;
        const char *says;  //  In the message
    } cases [] = {
        { "", "memory:" },
        { "mysql://localhost/jobs", "file:DIR" },
        { "sqlite:", "needs a file" },
        { "sqlite:?sync=full", "needs a file" },
        { "postgres:", "needs a connection string" },
        { "postgres:#lease=5s", "needs a connection string" },
        { "memory:/tmp/x", "no path or options" },
        { "memory:?fsync=never", "no path or options" },
        { "file:", "needs a directory" },
        { "file:?fsync=always", "needs a directory" },
        { "file:%s/a?fsync=sometimes", "interval:" },
        { "file:%s/a?fsync=interval:soon", "interval:" },
        { "file:%s/a?fsync", "accepted are" },
        { "file:%s/a?color=blue", "accepted are fsync=" },
        { "file:%s/a?fsync=never&colour=blue", "colour" },
        { "file:%s/a?compact=lots", "compact=lots" },
        { "file:%s/a?compact=-5", "compact" },
        { "file:%s/a?salvage=yes", "truncate" },
        { "sqlite:%s/a.db?sync=sometimes", "sync=full|normal|off" },
        { "sqlite:%s/a.db?fsync=never", "sync=full|normal|off" },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases [0]; index++) {
        char *spec = zsys_sprintf (cases [index].spec, dir);
        zjob_error_t err = { 0, "" };
        zjob_store_t *store = zjob_store_open (spec, &err);
        cr_assert_null (store, "'%s' opened", spec);
        cr_assert_eq (err.code, ZJOB_BAD_REQUEST, "'%s': %d %s", spec, err.code, err.text);
        cr_assert (strstr (err.text, cases [index].says),
                   "'%s': \"%s\" does not say %s", spec, err.text, cases [index].says);
        zstr_free (&spec);
    }
    cr_assert_null (zjob_store_open (NULL, NULL), "a NULL spec, and no err");

    //  Every accepted form opens
    const char *good [] = {
        "memory:", "memory",
        "file:%s/b", "file:%s/c?", "file:%s/d?fsync=always", "file:%s/e?fsync=never",
        "file:%s/f?fsync=interval:50ms&compact=1m", "file:%s/g?compact=4096&salvage=truncate",
        "file:%s/h/deeper/still?compact=64MiB",
        "sqlite:%s/i.db", "sqlite:%s/new/dir/j.db?sync=full", "sqlite:%s/k.db?sync=normal",
        "sqlite:%s/l.db?sync=off"
    };
    for (size_t index = 0; index < sizeof good / sizeof good [0]; index++) {
        char *spec = zsys_sprintf (good [index], dir);
        zjob_error_t err = { 0, "" };
        zjob_store_t *store = zjob_store_open (spec, &err);
        cr_assert_not_null (store, "'%s': %s", spec, err.text);
        cr_assert_str_eq (zjob_store_name (store), index < 2 ? "memory" : strncmp (good [index], "file", 4) == 0 ? "file"
                                                                                                                 : "sqlite");
        zjob_store_destroy (&store);
        zstr_free (&spec);
    }
    s_tmpdir_remove (&dir);
}


//  --------------------------------------------------------------------------
//  Sync and stats

STORE_TEST (sync_and_stats)
{
    int which = *which_p;
    s_fixture_t fixture;
    s_open (&fixture, which);
    zjob_store_t *store = fixture.store;
    zjob_job_t *job = s_job ("stats", ZJOB_QUEUED);
    s_put (store, &job);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_sync (store, &err), 0, "sync: %s", err.text);
    cr_assert_eq (zjob_store_sync (store, &err), 0, "an empty sync: %s", err.text);

    zhashx_t *stats = zhashx_new ();  //  as a caller would make it
    zjob_store_stats (store, stats);
    //  Every store says whether its last sync succeeded, and if not why
    //  and since when, until one does
    cr_assert_str_eq (zhashx_lookup (stats, "writable"), "true");
    cr_assert_null (zhashx_lookup (stats, "write_error"));
    cr_assert (zjob_store_writable (store, NULL, NULL));
    zjob_store_fail_syncs (true);
    int rc = zjob_store_sync (store, &err);
    zjob_store_fail_syncs (false);
    cr_assert_eq (rc, -1);
    int64_t since = 0;
    zjob_error_t why;
    cr_assert_not (zjob_store_writable (store, &why, &since));
    cr_assert_str_eq (why.text, "sync failed (injected)");
    cr_assert (since > 0 && since <= zjob_clock_ms ());
    zhashx_t *failing = zhashx_new ();
    zjob_store_stats (store, failing);
    cr_assert_str_eq (zhashx_lookup (failing, "writable"), "false");
    cr_assert_str_eq (zhashx_lookup (failing, "write_error"), "sync failed (injected)");
    cr_assert_not_null (zhashx_lookup (failing, "write_error_since"));
    zhashx_destroy (&failing);
    cr_assert_eq (zjob_store_sync (store, &err), 0, "sync: %s", err.text);
    cr_assert (zjob_store_writable (store, NULL, NULL));
    if (which == S_MEMORY)
        cr_assert_eq (zhashx_size (stats), 1, "the memory store has no figures of its own");
    else if (which != S_FILE) {
        //  The SQL stores: one row written, in one commit, nothing left dirty
        const char *keys [] = { "dirty", "rows_written", "commits", "last_commit_us" };
        for (size_t index = 0; index < sizeof keys / sizeof keys [0]; index++)
            cr_assert_not_null (zhashx_lookup (stats, keys [index]), "%s: no %s", fixture.spec,
                                keys [index]);
        cr_assert_str_eq (zhashx_lookup (stats, "dirty"), "0");
        cr_assert_str_eq (zhashx_lookup (stats, "rows_written"), "1");
        cr_assert_geq (atol (zhashx_lookup (stats, "commits")), 1);
    }
    else {
        const char *keys [] = {
            "journal_bytes", "live_bytes", "records", "syncs", "fsyncs",
            "compactions", "last_fsync_us", "policy", "pending_bytes"
        };
        for (size_t index = 0; index < sizeof keys / sizeof keys [0]; index++)
            cr_assert_not_null (zhashx_lookup (stats, keys [index]), "no %s", keys [index]);
        cr_assert_str_eq (zhashx_lookup (stats, "policy"), "never");
        cr_assert_str_eq (zhashx_lookup (stats, "records"), "1");
        cr_assert_str_eq (zhashx_lookup (stats, "syncs"), "2");
        cr_assert_str_eq (zhashx_lookup (stats, "fsyncs"), "0");
        long live = atol (zhashx_lookup (stats, "live_bytes"));
        long journal = atol (zhashx_lookup (stats, "journal_bytes"));
        cr_assert_gt (live, 20, "one job is more than its id");
        cr_assert_eq (journal, live + 8, "the header and one record");
    }
    zhashx_destroy (&stats);
    zjob_store_stats (store, NULL);
    s_close (&fixture);
}


//  --------------------------------------------------------------------------
//  Memory goes back to the OS after a store shrinks

static size_t
s_rss_bytes (void)
{
    FILE *file = fopen ("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (file) {
        if (fscanf (file, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose (file);
    }
    return resident * (size_t) sysconf (_SC_PAGESIZE);
}

//  A store that held 20,000 jobs of 2 KB and keeps one in a hundred (so
//  the heap stays pinned at its top, as after a real cleanup) gives the
//  freed memory back at its next sync; a second shrink within 5 s does
//  not trim again
STORE_TEST (memory_goes_back_after_a_shrink)
{
    enum { COUNT = 20000,
           INPUT = 2048 };
    int which = *which_p;
    s_fixture_t fixture;
    s_open (&fixture, which);
    uint8_t *inputs = (uint8_t *) malloc (INPUT + 16);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "p", 1);
    memset (inputs, 'x', INPUT);
    msgpack_pack_str_with_body (&pk, inputs, INPUT);
    zjob_store_t *store = fixture.store;
    char (*ids) [ZJOB_ID_LEN + 1] = calloc (COUNT, sizeof *ids);
    zjob_error_t err = { 0, "" };
    for (int index = 0; index < COUNT; index++) {
        zjob_spec_t spec = { .workflow_id = "trim", .inputs = (uint8_t *) buffer.data, .inputs_size = buffer.size };
        zjob_job_t *job = zjob_job_new (&spec, &err);
        cr_assert_not_null (job, "%s", err.text);
        cr_assert_eq (zjob_store_put (store, job, &err), 0, "%s", err.text);
        strcpy (ids [index], job->id);
        zjob_job_destroy (&job);
    }
    cr_assert_eq (zjob_store_sync (store, &err), 0, "%s", err.text);
    size_t full = s_rss_bytes ();
    for (int index = 0; index < COUNT; index++)
        if (index % 100 != 99)
            cr_assert_eq (zjob_store_remove (store, ids [index], &err), 0, "%s", err.text);
    size_t removed = s_rss_bytes ();
    cr_assert_eq (zjob_store_sync (store, &err), 0, "%s", err.text);
    size_t trimmed = s_rss_bytes ();
#if !defined(__SANITIZE_ADDRESS__) && defined(__GLIBC__)
    //  The sanitizer's allocator is not glibc's: only the count holds there
    size_t freed = (size_t) COUNT * 99 / 100 * INPUT;
    cr_assert_lt (trimmed + freed / 2, removed,
                  "%s: %zu KB resident full, %zu KB after the removals, %zu KB after "
                  "the sync: less than half of %zu KB freed went back",
                  fixture.spec,
                  full / 1024, removed / 1024, trimmed / 1024, freed / 1024);
#else
    (void) full;
    (void) removed;
    (void) trimmed;
#endif
    if (which != S_MEMORY) {
        zhashx_t *stats = zhashx_new ();
        zjob_store_stats (store, stats);
        const char *trims = (const char *) zhashx_lookup (stats, "trims");
        cr_assert_not_null (trims, "%s: no trims figure", fixture.spec);
        cr_assert_str_eq (trims, "1");
        //  Shrinking again at once: not before 5 s
        for (int index = 99; index < COUNT; index += 200)
            cr_assert_eq (zjob_store_remove (store, ids [index], &err), 0, "%s", err.text);
        cr_assert_eq (zjob_store_sync (store, &err), 0, "%s", err.text);
        zjob_store_stats (store, stats);
        cr_assert_str_eq (zhashx_lookup (stats, "trims"), "1");
        zhashx_destroy (&stats);
    }
    free (ids);
    s_close (&fixture);
    msgpack_sbuffer_destroy (&buffer);
    free (inputs);
}


//  --------------------------------------------------------------------------
//  What a durable store gives back after a close

//  A job with most of its fields set (index varies them): each must come
//  back from a reopen as it went in
static zjob_job_t *
s_rich_job (int index)
{
    const char *tags [] = { "red", "big" };
    uint8_t metadata [] = { 0x81, 0xa1, 'k', 0x2a };  //  {"k": 42}
    zjob_spec_t spec = {
        .workflow_id = index % 2 ? "thumbs" : "resize",
        .user_id = index % 3 ? "ann" : NULL,
        .tags = tags,
        .tag_count = (size_t) (index % 3),
        .priority = (zjob_priority_t) (index % ZJOB_PRIORITY_COUNT),
        .metadata = metadata,
        .metadata_size = sizeof metadata,
        .batch_id = index % 4 == 0 ? "batch-1" : NULL,
        .max_attempts = 3,
    };
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "job: %s", err.text);
    job->status = (uint8_t) (ZJOB_QUEUED + index % 3);
    job->attempts = (uint32_t) index % 4;
    job->started_at = job->attempts ? job->created_at + 5 : 0;
    cr_assert_eq (zjob_job_set_progress (job, 0.25f * (float) (index % 5), "step", &err), 0,
                  "%s", err.text);
    if (index % 5 == 4) {
        uint8_t outputs [] = { 0x81, 0xa1, 'n', 0x07 };  //  {"n": 7}
        cr_assert_eq (zjob_job_set_outputs (job, outputs, sizeof outputs, &err), 0, "%s", err.text);
        cr_assert_eq (zjob_job_set_error (job, "too_big", "the image is too big"), 0);
        job->status = ZJOB_FAILED;
        job->completed_at = job->updated_at;
    }
    return job;
}

//  Whether two jobs encode to the same bytes: the codec writes every
//  field, so this is every field equal
static bool
s_same_job (const zjob_job_t *one, const zjob_job_t *other)
{
    uint8_t *a, *b;
    size_t a_size, b_size;
    cr_assert_eq (zjob_job_encode (one, &a, &a_size), 0);
    cr_assert_eq (zjob_job_encode (other, &b, &b_size), 0);
    bool same = a_size == b_size && memcmp (a, b, a_size) == 0;
    free (a);
    free (b);
    return same;
}

//  Whether store holds a job equal to job
static bool
s_holds (zjob_store_t *store, const zjob_job_t *job)
{
    zjob_job_t *stored = zjob_store_get (store, job->id);
    bool holds = stored && s_same_job (stored, job);
    zjob_job_destroy (&stored);
    return holds;
}

STORE_TEST (reopen_gives_back_every_job)
{
    s_fixture_t fixture;
    s_open (&fixture, *which_p);
    if (!s_durable (&fixture)) {
        s_close (&fixture);
        cr_skip_test ("memory: nothing survives a close");
    }
    enum { COUNT = 40 };
    zjob_job_t *jobs [COUNT];
    zjob_error_t err = { 0, "" };
    for (int index = 0; index < COUNT; index++) {
        jobs [index] = s_rich_job (index);
        cr_assert_eq (zjob_store_put (fixture.store, jobs [index], &err), 0, "%s", err.text);
    }
    //  Half of them synced twice, the rest once
    cr_assert_eq (zjob_store_sync (fixture.store, &err), 0, "%s: sync: %s", fixture.spec, err.text);
    for (int index = 0; index < COUNT; index += 2) {
        jobs [index]->attempts++;
        jobs [index]->updated_at++;
        cr_assert_eq (zjob_store_put (fixture.store, jobs [index], &err), 0, "%s", err.text);
    }
    //  A job changed after its last put is not what the store gave back:
    //  the copies are taken now
    zjob_job_t *copies [COUNT];
    for (int index = 0; index < COUNT; index++)
        copies [index] = zjob_job_dup (jobs [index]);
    s_reopen (&fixture);
    cr_assert_eq (zjob_store_count (fixture.store), COUNT, "%s", fixture.spec);
    for (int index = 0; index < COUNT; index++) {
        cr_assert (s_holds (fixture.store, copies [index]), "%s: job %d (%s) came back changed",
                   fixture.spec, index, copies [index]->id);
        zjob_job_destroy (&jobs [index]);
        zjob_job_destroy (&copies [index]);
    }
    //  And what came back is not written again for nothing
    zhashx_t *stats = zhashx_new ();
    zjob_store_stats (fixture.store, stats);
    const char *dirty = (const char *) zhashx_lookup (stats, "dirty");
    if (dirty)
        cr_assert_str_eq (dirty, "0", "%s: a reopen left jobs dirty", fixture.spec);
    zhashx_destroy (&stats);
    s_close (&fixture);
}

//  Visitor of record_each: the names in order, joined by spaces
static int
s_record_names (const char *name, const uint8_t *data, size_t size, void *arg)
{
    (void) data;
    (void) size;
    char *names = (char *) arg;
    if (*names)
        strcat (names, " ");
    strcat (names, name);
    return 0;
}

STORE_TEST (reopen_gives_back_every_record)
{
    s_fixture_t fixture;
    s_open (&fixture, *which_p);
    if (!s_durable (&fixture)) {
        s_close (&fixture);
        cr_skip_test ("memory: nothing survives a close");
    }
    zjob_store_t *store = fixture.store;
    zjob_error_t err = { 0, "" };
    const uint8_t one [] = { 1 }, two [] = { 2, 2 }, three [] = { 3, 3, 3 };
    cr_assert_eq (zjob_store_record_put (store, "template", "a", one, 1, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_store_record_put (store, "template", "b", two, 2, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_store_record_put (store, "schedule", "a", three, 3, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_store_sync (store, &err), 0, "%s: sync: %s", fixture.spec, err.text);
    //  Replaced, removed, added, in the next pass
    cr_assert_eq (zjob_store_record_put (store, "template", "a", three, 3, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_store_record_remove (store, "template", "b", &err), 0, "%s", err.text);
    cr_assert_eq (zjob_store_record_put (store, "template", "c", two, 2, &err), 0, "%s", err.text);
    s_reopen (&fixture);
    store = fixture.store;
    char names [64] = "";
    cr_assert_eq (zjob_store_record_each (store, "template", s_record_names, names), 2);
    cr_assert_str_eq (names, "a c", "%s", fixture.spec);
    size_t size = 0;
    const uint8_t *data = zjob_store_record_get (store, "template", "a", &size);
    cr_assert (data && size == 3 && memcmp (data, three, 3) == 0, "%s: template a", fixture.spec);
    data = zjob_store_record_get (store, "schedule", "a", &size);
    cr_assert (data && size == 3 && memcmp (data, three, 3) == 0, "%s: schedule a", fixture.spec);
    cr_assert_null (zjob_store_record_get (store, "template", "b", NULL));
    cr_assert_eq (zjob_store_record_count (store, "template"), 2);
    cr_assert_eq (zjob_store_record_count (store, "schedule"), 1);
    s_close (&fixture);
}

//  What is put and removed between two syncs leaves nothing behind, a
//  job or a record new in that pass or one synced before
STORE_TEST (put_then_remove_in_one_pass_leaves_nothing)
{
    s_fixture_t fixture;
    s_open (&fixture, *which_p);
    zjob_store_t *store = fixture.store;
    zjob_error_t err = { 0, "" };
    zjob_job_t *old = s_job ("gone", ZJOB_QUEUED);
    char old_id [ZJOB_ID_LEN + 1];
    strcpy (old_id, old->id);
    s_put (store, &old);
    const uint8_t data [] = { 9 };
    cr_assert_eq (zjob_store_record_put (store, "queue", "old", data, 1, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_store_sync (store, &err), 0, "%s: sync: %s", fixture.spec, err.text);

    zjob_job_t *fresh = s_job ("gone", ZJOB_CREATED);
    char fresh_id [ZJOB_ID_LEN + 1];
    strcpy (fresh_id, fresh->id);
    s_put (store, &fresh);
    zjob_job_t *again = zjob_store_get (store, old_id);
    again->status = ZJOB_RUNNING;
    cr_assert_eq (zjob_store_put (store, again, &err), 0, "%s", err.text);
    zjob_job_destroy (&again);
    cr_assert_eq (zjob_store_remove (store, fresh_id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_store_remove (store, old_id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_store_record_put (store, "queue", "new", data, 1, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_store_record_remove (store, "queue", "new", &err), 0, "%s", err.text);
    cr_assert_eq (zjob_store_record_remove (store, "queue", "old", &err), 0, "%s", err.text);
    if (s_durable (&fixture))
        s_reopen (&fixture);
    store = fixture.store;
    cr_assert_eq (zjob_store_count (store), 0, "%s", fixture.spec);
    cr_assert_not (s_has (store, old_id));
    cr_assert_not (s_has (store, fresh_id));
    cr_assert_eq (zjob_store_record_count (store, "queue"), 0, "%s", fixture.spec);
    s_close (&fixture);
}

//  A job changed five times in a pass is stored as its last version; a
//  SQL store writes it once
STORE_TEST (five_changes_in_a_pass_keep_the_last)
{
    s_fixture_t fixture;
    s_open (&fixture, *which_p);
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = s_rich_job (1);
    cr_assert_eq (zjob_store_put (fixture.store, job, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_store_sync (fixture.store, &err), 0, "%s: sync: %s", fixture.spec, err.text);
    zhashx_t *stats = zhashx_new ();
    zjob_store_stats (fixture.store, stats);
    const char *before = (const char *) zhashx_lookup (stats, "rows_written");
    long rows = before ? atol (before) : 0;

    const zjob_status_t steps [5] = { ZJOB_RUNNING, ZJOB_PAUSED, ZJOB_RUNNING, ZJOB_QUEUED,
                                      ZJOB_COMPLETED };
    for (int step = 0; step < 5; step++) {
        job->status = (uint8_t) steps [step];
        job->attempts++;
        cr_assert_eq (zjob_job_set_progress (job, 0.2f * (float) (step + 1), NULL, &err), 0);
        if (step % 2) {
            //  Sometimes a new object with the id, as a snapshot's undo does
            zjob_job_t *copy = zjob_job_dup (job);
            zjob_job_destroy (&job);
            job = copy;
        }
        cr_assert_eq (zjob_store_put (fixture.store, job, &err), 0, "%s", err.text);
    }
    job->completed_at = zjob_clock_ms ();
    cr_assert_eq (zjob_store_put (fixture.store, job, &err), 0, "%s", err.text);
    zjob_job_t *last = zjob_job_dup (job);
    cr_assert_eq (zjob_store_sync (fixture.store, &err), 0, "%s: sync: %s", fixture.spec, err.text);
    zjob_store_stats (fixture.store, stats);
    if (before)
        cr_assert_eq (atol (zhashx_lookup (stats, "rows_written")), rows + 1,
                      "%s: six puts of a job in a pass are one row written", fixture.spec);
    zhashx_destroy (&stats);
    zjob_job_destroy (&job);
    if (s_durable (&fixture))
        s_reopen (&fixture);
    cr_assert (s_holds (fixture.store, last), "%s: not the last version", fixture.spec);
    zjob_job_t *stored = zjob_store_get (fixture.store, last->id);
    cr_assert_eq (stored->status, ZJOB_COMPLETED);
    cr_assert_eq (stored->attempts, last->attempts);
    zjob_job_destroy (&stored);
    zjob_job_destroy (&last);
    s_close (&fixture);
}


//  --------------------------------------------------------------------------
//  The walk: id order, a resumable cursor, before and after a reopen

//  Walk the whole store in steps of max: the ids seen, in order
static void
s_walk_all (zjob_store_t *store, const zjob_filter_t *filter, bool descending, size_t max,
            s_seen_t *seen)
{
    memset (seen, 0, sizeof *seen);
    char cursor [ZJOB_ID_LEN + 1] = "";
    int steps = 0;
    while (zjob_store_walk (store, filter, descending, cursor, max, s_seen_visit, seen) == 0) {
        cr_assert_lt (++steps, 100, "the walk does not end");
        cr_assert_eq ((int) strlen (cursor), ZJOB_ID_LEN, "the cursor is an id");
    }
}

//  Check full walks of store, which holds count jobs, ids in creation
//  order, the odd ones of workflow "odd"
static void
s_check_walks (s_fixture_t *fixture, char (*ids) [ZJOB_ID_LEN + 1], const bool *odd, int count)
{
    zjob_store_t *store = fixture->store;
    s_seen_t seen;
    s_walk_all (store, NULL, false, 7, &seen);
    cr_assert_eq (seen.count, count, "%s", fixture->spec);
    for (int index = 0; index < count; index++)
        cr_assert_str_eq (seen.ids [index], ids [index], "%s: ascending, at %d", fixture->spec, index);
    s_walk_all (store, NULL, true, 4, &seen);
    cr_assert_eq (seen.count, count);
    for (int index = 0; index < count; index++)
        cr_assert_str_eq (seen.ids [index], ids [count - 1 - index], "%s: descending", fixture->spec);
    //  A filter: max bounds the jobs examined, not the jobs matched
    zjob_filter_t filter = { .workflow_id = "odd" };
    s_walk_all (store, &filter, false, 5, &seen);
    int matched = 0;
    for (int index = 0; index < count; index++)
        if (odd [index]) {
            cr_assert_lt (matched, seen.count, "%s: filtered walk", fixture->spec);
            cr_assert_str_eq (seen.ids [matched++], ids [index]);
        }
    cr_assert_eq (seen.count, matched);
}

STORE_TEST (walk_order_and_cursor)
{
    s_fixture_t fixture;
    s_open (&fixture, *which_p);
    enum { COUNT = 25 };
    char ids [COUNT][ZJOB_ID_LEN + 1];
    bool odd [COUNT];
    for (int index = 0; index < COUNT; index++) {
        odd [index] = index % 2 == 1;
        zjob_job_t *job = s_job (odd [index] ? "odd" : "even", ZJOB_QUEUED);
        strcpy (ids [index], job->id);
        s_put (fixture.store, &job);
    }
    s_check_walks (&fixture, ids, odd, COUNT);

    //  A step resumes after its cursor, whatever was removed meanwhile
    char cursor [ZJOB_ID_LEN + 1] = "";
    s_seen_t seen = { .count = 0 };
    cr_assert_eq (zjob_store_walk (fixture.store, NULL, false, cursor, 10, s_seen_visit, &seen), 0);
    cr_assert_eq (seen.count, 10);
    cr_assert_str_eq (cursor, ids [9]);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_remove (fixture.store, ids [10], &err), 0, "%s", err.text);
    memset (&seen, 0, sizeof seen);
    cr_assert_eq (zjob_store_walk (fixture.store, NULL, false, cursor, 100, s_seen_visit, &seen), 1);
    cr_assert_eq (seen.count, COUNT - 11, "%s", fixture.spec);
    cr_assert_str_eq (seen.ids [0], ids [11]);

    //  What a reopen loaded walks the same (the index is rebuilt)
    if (s_durable (&fixture)) {
        memmove (ids [10], ids [11], (COUNT - 11) * sizeof ids [0]);
        memmove (odd + 10, odd + 11, (COUNT - 11) * sizeof odd [0]);
        s_reopen (&fixture);
        s_check_walks (&fixture, ids, odd, COUNT - 1);
    }
    s_close (&fixture);
}

//  Cleanup's removals are removals like any other: they last
STORE_TEST (cleanup_lasts)
{
    s_fixture_t fixture;
    s_open (&fixture, *which_p);
    int64_t now = zjob_clock_ms ();
    char ids [6][ZJOB_ID_LEN + 1];
    for (int index = 0; index < 6; index++) {
        zjob_job_t *job = s_job ("clean", index < 3 ? ZJOB_COMPLETED : ZJOB_QUEUED);
        job->completed_at = index < 3 ? now - 60000 : 0;
        strcpy (ids [index], job->id);
        s_put (fixture.store, &job);
    }
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_sync (fixture.store, &err), 0, "%s: sync: %s", fixture.spec, err.text);
    cr_assert_eq (zjob_store_cleanup (fixture.store, now, &err), 3, "%s: %s", fixture.spec, err.text);
    if (s_durable (&fixture))
        s_reopen (&fixture);
    cr_assert_eq (zjob_store_count (fixture.store), 3, "%s", fixture.spec);
    for (int index = 0; index < 6; index++)
        cr_assert_eq (s_has (fixture.store, ids [index]), index >= 3, "%s: job %d", fixture.spec, index);
    s_close (&fixture);
}
