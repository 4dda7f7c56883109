/*  =========================================================================
    test_zjob_store_sql - the SQL layer over a fake backend

    The layer's own contract (zjob_store_sql.h), which no real database
    is needed to check: what a sync hands the backend (one commit, one
    change per dirty job or record, rows filled from the job), a failed
    commit kept whole for the next sync, an empty sync that commits only
    for a lease, and a shared backend that is loaded at its first
    successful acquire and refuses writes before. The fake keeps its
    "database" in a struct of the test, so the test reads what was
    committed after the store has closed it.
    ========================================================================= */

#include <criterion/criterion.h>
#include "zjob_store_sql.h"

//  --------------------------------------------------------------------------
//  The fake backend

typedef struct {
    //  What the test sets
    bool shared;        //  Has acquire, fenced, renew_ms
    int acquire_rc;     //  What acquire returns
    bool fenced;        //  What fenced returns
    int64_t renew;      //  What renew_ms returns
    int load_fails;     //  Loads that fail before one succeeds
    bool commit_fails;  //  Every commit fails
    //  The "database": encoded jobs by id, records by "kind name"
    zhashx_t *rows;
    zhashx_t *records;
    //  What the layer did
    int loads;
    int acquires;
    int commits;              //  Calls of commit, failed ones too
    size_t last_count;        //  Changes in the last commit
    int puts, deletes;        //  Of jobs, in the last commit
    zjob_sql_row_t last_row;  //  Of the last JOB_PUT (strings copied below)
    char status [16], workflow [32], user_id [32], batch_id [32];
    bool batch_null, user_null, error_null;
    bool closed;
} s_fake_t;

static s_fake_t s_fake;

static void
s_fake_reset (void)
{
    zhashx_destroy (&s_fake.rows);
    zhashx_destroy (&s_fake.records);
    memset (&s_fake, 0, sizeof s_fake);
    s_fake.rows = zhashx_new ();
    s_fake.records = zhashx_new ();
    zhashx_set_destructor (s_fake.rows, (zhashx_destructor_fn *) zchunk_destroy);
    zhashx_set_destructor (s_fake.records, (zhashx_destructor_fn *) zchunk_destroy);
    s_fake.acquire_rc = 1;
}

typedef struct {
    zjob_sql_loader_t *loader;
    zjob_error_t *err;
    int rc;
} s_load_t;

static int
s_load (void *self, zjob_sql_loader_t *loader, zjob_error_t *err)
{
    cr_assert_eq (self, &s_fake);
    s_fake.loads++;
    if (s_fake.load_fails > 0) {
        s_fake.load_fails--;
        //  Half a load, then an error: the layer must not keep the half
        zchunk_t *chunk = (zchunk_t *) zhashx_first (s_fake.rows);
        if (chunk)
            zjob_sql_load_job (loader, NULL, zchunk_data (chunk), zchunk_size (chunk), NULL);
        return zjob_error_set (err, ZJOB_INTERNAL, "fake: load failed");
    }
    for (zchunk_t *chunk = (zchunk_t *) zhashx_first (s_fake.rows); chunk;
         chunk = (zchunk_t *) zhashx_next (s_fake.rows)) {
        const char *id = (const char *) zhashx_cursor (s_fake.rows);
        if (zjob_sql_load_job (loader, id, zchunk_data (chunk), zchunk_size (chunk), err))
            return -1;
    }
    for (zchunk_t *chunk = (zchunk_t *) zhashx_first (s_fake.records); chunk;
         chunk = (zchunk_t *) zhashx_next (s_fake.records)) {
        char key [300];
        snprintf (key, sizeof key, "%s", (const char *) zhashx_cursor (s_fake.records));
        char *name = strchr (key, ' ');
        *name++ = 0;
        if (zjob_sql_load_record (loader, key, name, zchunk_data (chunk), zchunk_size (chunk), err))
            return -1;
    }
    return 0;
}

static void
s_copy (char *to, size_t size, const char *text, bool *null)
{
    *null = text == NULL;
    snprintf (to, size, "%s", text ? text : "");
}

static int
s_commit (void *self, const zjob_sql_change_t *changes, size_t count, zjob_error_t *err)
{
    cr_assert_eq (self, &s_fake);
    s_fake.commits++;
    s_fake.last_count = count;
    if (s_fake.commit_fails)
        return zjob_error_set (err, ZJOB_INTERNAL, "fake: disk full");
    s_fake.puts = s_fake.deletes = 0;
    bool ignored;
    for (size_t index = 0; index < count; index++) {
        const zjob_sql_change_t *change = &changes [index];
        char key [300];
        switch (change->kind) {
            case ZJOB_SQL_JOB_PUT:
                cr_assert_str_eq (change->id, change->row.id);
                zhashx_update (s_fake.rows, change->row.id,
                               zchunk_new (change->row.data, change->row.size));
                s_fake.puts++;
                s_fake.last_row = change->row;
                s_copy (s_fake.status, sizeof s_fake.status, change->row.status, &ignored);
                s_copy (s_fake.workflow, sizeof s_fake.workflow, change->row.workflow, &ignored);
                s_copy (s_fake.user_id, sizeof s_fake.user_id, change->row.user_id, &s_fake.user_null);
                s_copy (s_fake.batch_id, sizeof s_fake.batch_id, change->row.batch_id,
                        &s_fake.batch_null);
                s_fake.error_null = change->row.error_kind == NULL;
                break;
            case ZJOB_SQL_JOB_DELETE:
                zhashx_delete (s_fake.rows, change->id);
                s_fake.deletes++;
                break;
            case ZJOB_SQL_RECORD_PUT:
                snprintf (key, sizeof key, "%s %s", change->record_kind, change->record_name);
                zhashx_update (s_fake.records, key, zchunk_new (change->data, change->size));
                break;
            case ZJOB_SQL_RECORD_DELETE:
                snprintf (key, sizeof key, "%s %s", change->record_kind, change->record_name);
                zhashx_delete (s_fake.records, key);
                break;
        }
    }
    return 0;
}

static void
s_stats (void *self, zhashx_t *into)
{
    (void) self;
    zhashx_update (into, "fake_figure", "42");
}

static void
s_close (void *self)
{
    cr_assert_eq (self, &s_fake);
    s_fake.closed = true;
}

static int
s_acquire (void *self, zjob_error_t *err)
{
    (void) self;
    s_fake.acquires++;
    if (s_fake.acquire_rc == 0)
        zjob_error_set (err, ZJOB_UNAVAILABLE, "fake: held by another broker");
    else if (s_fake.acquire_rc < 0)
        zjob_error_set (err, ZJOB_UNAVAILABLE, "fake: unreachable");
    return s_fake.acquire_rc;
}

static bool
s_fenced (void *self)
{
    (void) self;
    return s_fake.fenced;
}

static int64_t
s_renew_ms (void *self)
{
    (void) self;
    return s_fake.renew;
}

static const zjob_sql_backend_t s_plain = {
    .name = "fake", .load = s_load, .commit = s_commit, .stats = s_stats, .close = s_close
};
static const zjob_sql_backend_t s_shared = {
    .name = "fakepg", .load = s_load, .commit = s_commit, .stats = s_stats, .close = s_close, .acquire = s_acquire, .fenced = s_fenced, .renew_ms = s_renew_ms
};

static zjob_store_t *
s_store (const zjob_sql_backend_t *backend)
{
    zjob_error_t err = { 0, "" };
    zjob_store_t *store = zjob_store_sql_new (backend, &s_fake, &err);
    cr_assert_not_null (store, "%s", err.text);
    return store;
}

static zjob_job_t *
s_job (const char *workflow)
{
    zjob_spec_t spec = { .workflow_id = workflow, .batch_id = "b7", .priority = ZJOB_PRIORITY_HIGH };
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    return job;
}

static int
s_count_visit (zjob_job_t *job, void *arg)
{
    (void) job;
    (*(int *) arg)++;
    return 0;
}

//  A row of the fake database decoded
static zjob_job_t *
s_row (const char *id)
{
    zchunk_t *chunk = (zchunk_t *) zhashx_lookup (s_fake.rows, id);
    if (!chunk)
        return NULL;
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_job_decode (zchunk_data (chunk), zchunk_size (chunk), &err);
    cr_assert_not_null (job, "row %s: %s", id, err.text);
    return job;
}

static const char *
s_stat (zjob_store_t *store, zhashx_t *stats, const char *key)
{
    zjob_store_stats (store, stats);
    return (const char *) zhashx_lookup (stats, key);
}


//  --------------------------------------------------------------------------
//  Sync: one commit, one change per dirty entry, as it is at the sync

Test (store_sql, a_sync_is_one_commit_of_each_dirty_entry_once)
{
    s_fake_reset ();
    zjob_store_t *store = s_store (&s_plain);
    cr_assert_eq (s_fake.loads, 1, "a store that is not shared loads at once");
    cr_assert_str_eq (zjob_store_name (store), "fake");
    cr_assert_not (zjob_store_shared (store));
    zjob_error_t err = { 0, "" };
    zjob_job_t *kept = s_job ("resize");
    zjob_job_t *gone = s_job ("resize");
    cr_assert_eq (zjob_store_put (store, kept, &err), 0);
    cr_assert_eq (zjob_store_put (store, gone, &err), 0);
    cr_assert_eq (zjob_store_sync (store, &err), 0, "%s", err.text);
    cr_assert_eq (s_fake.commits, 1);
    cr_assert_eq (s_fake.last_count, 2);
    cr_assert_eq (s_fake.puts, 2);

    //  Five changes of one job, a removal, a record put and removed: one
    //  change each, the job as it is at the sync
    for (int step = 0; step < 5; step++) {
        kept->status = step < 4 ? ZJOB_RUNNING : ZJOB_FAILED;
        kept->attempts = (uint32_t) step + 1;
        cr_assert_eq (zjob_store_put (store, kept, &err), 0);
    }
    kept->started_at = 1700000000000;
    kept->completed_at = 1700000000500;
    cr_assert_eq (zjob_job_set_error (kept, "boom", "it broke"), 0);
    cr_assert_eq (zjob_store_remove (store, gone->id, &err), 0);
    const uint8_t data [] = { 7, 7 };
    cr_assert_eq (zjob_store_record_put (store, "template", "t1", data, 2, &err), 0);
    cr_assert_eq (zjob_store_record_put (store, "template", "t2", data, 2, &err), 0);
    cr_assert_eq (zjob_store_record_remove (store, "template", "t2", &err), 0);
    zhashx_t *stats = zhashx_new ();
    cr_assert_str_eq (s_stat (store, stats, "dirty"), "4");
    cr_assert_eq (zjob_store_sync (store, &err), 0, "%s", err.text);
    cr_assert_eq (s_fake.commits, 2);
    cr_assert_eq (s_fake.last_count, 4, "kept, gone, t1, t2");
    cr_assert_eq (s_fake.puts, 1);
    cr_assert_eq (s_fake.deletes, 1);
    cr_assert_null (zhashx_lookup (s_fake.rows, gone->id));
    cr_assert_not_null (zhashx_lookup (s_fake.records, "template t1"));
    cr_assert_null (zhashx_lookup (s_fake.records, "template t2"));

    //  The row's columns are the job's
    cr_assert_str_eq (s_fake.status, "failed");
    cr_assert_str_eq (s_fake.workflow, "resize");
    cr_assert (s_fake.user_null, "no user is NULL");
    cr_assert_str_eq (s_fake.batch_id, "b7");
    cr_assert_eq (s_fake.last_row.priority, ZJOB_PRIORITY_HIGH);
    cr_assert_eq (s_fake.last_row.attempts, 5);
    cr_assert_eq (s_fake.last_row.started_at, 1700000000000);
    cr_assert_eq (s_fake.last_row.completed_at, 1700000000500);
    cr_assert_eq (s_fake.last_row.created_at, kept->created_at);
    cr_assert_not (s_fake.error_null);
    zjob_job_t *row = s_row (kept->id);
    cr_assert_eq (row->status, ZJOB_FAILED, "data is the job at the sync");
    cr_assert_str_eq (row->error_kind, "boom");
    zjob_job_destroy (&row);

    cr_assert_str_eq (s_stat (store, stats, "dirty"), "0");
    cr_assert_str_eq (s_stat (store, stats, "rows_written"), "6");
    cr_assert_str_eq (s_stat (store, stats, "commits"), "2");
    cr_assert_str_eq (s_stat (store, stats, "fake_figure"), "42", "the backend's figures");
    cr_assert_not_null (s_stat (store, stats, "last_commit_us"));

    //  Nothing dirty, no lease: no commit
    cr_assert_eq (zjob_store_sync (store, &err), 0);
    cr_assert_eq (s_fake.commits, 2);
    zhashx_destroy (&stats);
    zjob_job_destroy (&kept);
    zjob_job_destroy (&gone);
    zjob_store_destroy (&store);
    cr_assert (s_fake.closed);
}

Test (store_sql, a_failed_commit_is_kept_whole_for_the_next_sync)
{
    s_fake_reset ();
    zjob_store_t *store = s_store (&s_plain);
    zjob_error_t err = { 0, "" };
    zjob_job_t *one = s_job ("a"), *two = s_job ("b");
    cr_assert_eq (zjob_store_put (store, one, &err), 0);
    const uint8_t data [] = { 1 };
    cr_assert_eq (zjob_store_record_put (store, "queue", "q", data, 1, &err), 0);
    s_fake.commit_fails = true;
    cr_assert_eq (zjob_store_sync (store, &err), -1);
    cr_assert_str_eq (err.text, "fake: disk full");
    cr_assert_eq (zjob_store_sync (store, &err), -1);
    cr_assert_eq (s_fake.last_count, 2, "the same changes again");
    //  More changes meanwhile join them
    cr_assert_eq (zjob_store_put (store, two, &err), 0);
    one->status = ZJOB_QUEUED;
    cr_assert_eq (zjob_store_put (store, one, &err), 0);
    s_fake.commit_fails = false;
    cr_assert_eq (zjob_store_sync (store, &err), 0, "%s", err.text);
    cr_assert_eq (s_fake.last_count, 3);
    zjob_job_t *row = s_row (one->id);
    cr_assert_eq (row->status, ZJOB_QUEUED);
    zjob_job_destroy (&row);
    cr_assert_not_null (zhashx_lookup (s_fake.rows, two->id));
    cr_assert_not_null (zhashx_lookup (s_fake.records, "queue q"));
    zhashx_t *stats = zhashx_new ();
    cr_assert_str_eq (s_stat (store, stats, "dirty"), "0");
    cr_assert_str_eq (s_stat (store, stats, "commits"), "1", "failed commits are not counted");
    zhashx_destroy (&stats);
    zjob_job_destroy (&one);
    zjob_job_destroy (&two);
    zjob_store_destroy (&store);
}

//  The dirty set grows well past its first size, and goes back after
Test (store_sql, many_dirty_jobs)
{
    s_fake_reset ();
    zjob_store_t *store = s_store (&s_plain);
    zjob_error_t err = { 0, "" };
    enum { COUNT = 100000 };
    for (int index = 0; index < COUNT; index++) {
        zjob_job_t *job = s_job ("bulk");
        cr_assert_eq (zjob_store_put (store, job, &err), 0);
        cr_assert_eq (zjob_store_put (store, job, &err), 0);
        zjob_job_destroy (&job);
    }
    cr_assert_eq (zjob_store_sync (store, &err), 0, "%s", err.text);
    cr_assert_eq (s_fake.last_count, COUNT);
    cr_assert_eq (zhashx_size (s_fake.rows), COUNT);
    zjob_job_t *job = s_job ("bulk");
    cr_assert_eq (zjob_store_put (store, job, &err), 0);
    cr_assert_eq (zjob_store_sync (store, &err), 0, "%s", err.text);
    cr_assert_eq (s_fake.last_count, 1);
    zjob_job_destroy (&job);
    zjob_store_destroy (&store);
}


//  --------------------------------------------------------------------------
//  Loading

Test (store_sql, a_store_opens_on_what_the_backend_holds)
{
    s_fake_reset ();
    zjob_job_t *job = s_job ("stored");
    uint8_t *data;
    size_t size;
    cr_assert_eq (zjob_job_encode (job, &data, &size), 0);
    zhashx_insert (s_fake.rows, job->id, zchunk_new (data, size));
    zhashx_insert (s_fake.records, "schedule nightly", zchunk_new ("x", 1));
    zjob_store_t *store = s_store (&s_plain);
    cr_assert_eq (zjob_store_count (store), 1);
    zjob_job_t *got = zjob_store_get (store, job->id);
    cr_assert_not_null (got);
    cr_assert_str_eq (got->workflow_id, "stored");
    zjob_job_destroy (&got);
    cr_assert_not_null (zjob_store_record_get (store, "schedule", "nightly", NULL));
    //  Walks work on what was loaded (the index is built after a load)
    char cursor [ZJOB_ID_LEN + 1] = "";
    int visited = 0;
    cr_assert_eq (zjob_store_walk (store, NULL, false, cursor, 10, s_count_visit, &visited), 1);
    cr_assert_eq (visited, 1);
    zjob_store_destroy (&store);

    //  A row that does not decode, or holds another id: the store does not
    //  open, and the backend is closed
    zhashx_update (s_fake.rows, job->id, zchunk_new ("\x81\xa2id\x01", 5));
    s_fake.closed = false;
    zjob_error_t err = { 0, "" };
    cr_assert_null (zjob_store_sql_new (&s_plain, &s_fake, &err));
    cr_assert (s_fake.closed);
    cr_assert (strstr (err.text, job->id) && strstr (err.text, "does not decode"), "%s", err.text);
    zhashx_delete (s_fake.rows, job->id);
    zhashx_insert (s_fake.rows, "0000000000000000000Z", zchunk_new (data, size));
    cr_assert_null (zjob_store_sql_new (&s_plain, &s_fake, &err));
    cr_assert (strstr (err.text, "0000000000000000000Z") && strstr (err.text, job->id), "%s",
               err.text);
    zhashx_purge (s_fake.rows);
    zhashx_insert (s_fake.records, "schedule not_a name", zchunk_new ("x", 1));
    cr_assert_null (zjob_store_sql_new (&s_plain, &s_fake, &err));
    cr_assert (strstr (err.text, "not a name"), "%s", err.text);
    free (data);
    zjob_job_destroy (&job);
}


//  --------------------------------------------------------------------------
//  A shared backend

Test (store_sql, a_shared_store_is_loaded_at_its_first_acquire)
{
    s_fake_reset ();
    zjob_job_t *job = s_job ("stored");
    uint8_t *data;
    size_t size;
    cr_assert_eq (zjob_job_encode (job, &data, &size), 0);
    zhashx_insert (s_fake.rows, job->id, zchunk_new (data, size));
    free (data);
    zjob_store_t *store = s_store (&s_shared);
    cr_assert (zjob_store_shared (store));
    cr_assert_eq (s_fake.loads, 0, "nothing is loaded before the lease");
    cr_assert_eq (zjob_store_count (store), 0);

    //  A standby writes nothing
    zjob_error_t err = { 0, "" };
    zjob_job_t *fresh = s_job ("fresh");
    cr_assert_eq (zjob_store_put (store, fresh, &err), -1);
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE);
    cr_assert_eq (zjob_store_record_put (store, "queue", "q", (const uint8_t *) "x", 1, &err), -1);
    cr_assert_eq (zjob_store_sync (store, &err), -1);
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE);
    cr_assert_eq (s_fake.commits, 0);

    s_fake.acquire_rc = 0;
    cr_assert_eq (zjob_store_acquire (store, &err), 0);
    cr_assert (strstr (err.text, "another broker"), "%s", err.text);
    s_fake.acquire_rc = -1;
    cr_assert_eq (zjob_store_acquire (store, &err), -1);
    cr_assert_eq (s_fake.loads, 0);

    //  The lease, but the load fails: nothing half-loaded, tried again
    s_fake.acquire_rc = 1;
    s_fake.load_fails = 1;
    cr_assert_eq (zjob_store_acquire (store, &err), -1);
    cr_assert_str_eq (err.text, "fake: load failed");
    cr_assert_eq (zjob_store_count (store), 0, "half a load is not kept");
    cr_assert_eq (zjob_store_put (store, fresh, &err), -1);
    cr_assert_eq (zjob_store_acquire (store, &err), 1, "%s", err.text);
    cr_assert_eq (s_fake.loads, 2);
    cr_assert_eq (zjob_store_count (store), 1);
    cr_assert_eq (zjob_store_acquire (store, &err), 1);
    cr_assert_eq (s_fake.loads, 2, "loaded once");

    //  Active: writes go through; an empty sync renews when there is a lease
    cr_assert_eq (zjob_store_put (store, fresh, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_store_sync (store, &err), 0, "%s", err.text);
    cr_assert_eq (s_fake.last_count, 1);
    cr_assert_eq (zjob_store_sync (store, &err), 0);
    cr_assert_eq (s_fake.commits, 1, "no lease to renew: no commit");
    s_fake.renew = 1500;
    cr_assert_eq (zjob_store_renew_ms (store), 1500);
    cr_assert_eq (zjob_store_sync (store, &err), 0);
    cr_assert_eq (s_fake.commits, 2);
    cr_assert_eq (s_fake.last_count, 0, "a renewal is a commit of nothing");
    cr_assert_not (zjob_store_fenced (store));
    s_fake.fenced = true;
    cr_assert (zjob_store_fenced (store));
    cr_assert_str_eq (zjob_store_name (store), "fakepg");
    zjob_job_destroy (&fresh);
    zjob_job_destroy (&job);
    zjob_store_destroy (&store);
    cr_assert (s_fake.closed);
    zhashx_destroy (&s_fake.rows);
    zhashx_destroy (&s_fake.records);
}
