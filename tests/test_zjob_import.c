/*  =========================================================================
    test_zjob_import - zjob_import and `zjobd --store NEW --import OLD`

    In process: a source store filled by a job manager (jobs queued,
    running, completed, failed, cancelled, with keys and priorities) and
    records of every kind is imported into an empty target of another
    kind; every job's encoded form (zjob_job_encode) and every record of
    the target equals the source's, also after the target is closed and
    opened again (what was synced is what a broker will read). A target
    that holds a job or a record is refused and left as it was. Then the
    real program: zjobd --import copies a store a real zjobd filled, says
    so in one line and exits 0 (2 for a refused target or a bad spec, 8
    for a store that cannot be opened), and a real zjobd serving the new
    store lists the imported jobs and template.
    ========================================================================= */

#include <criterion/criterion.h>
#include "zjob_import.h"
#include "zjob_manager.h"
#include "zjob_store_memory.h"
#include "helper_zjob_test.h"
#include "helper_zjob_e2e.h"
#include "helper_zjob_pg.h"

#define S_JOBS 2500  //  jobs in the source: past no sync boundary, see s_fill

static char *s_dir = NULL;

static void
s_setup (void)
{
    s_dir = zjob_test_tmpdir ();
    cr_assert_not_null (s_dir);
}

static void
s_teardown (void)
{
    zjob_test_tmpdir_done (&s_dir);
}

//  The store spec SCHEME:DIR/REST, DIR the test's directory, in a static
//  buffer per slot
static const char *
s_spec (int slot, const char *scheme, const char *rest)
{
    static char specs [4][1024];
    snprintf (specs [slot], sizeof specs [slot], "%s%s/%s", scheme, s_dir, rest);
    return specs [slot];
}

static zjob_store_t *
s_open (const char *spec)
{
    zjob_error_t err;
    zjob_store_t *store = zjob_store_open (spec, &err);
    cr_assert_not_null (store, "%s: %s", spec, err.text);
    return store;
}

//  Fill the store of spec through a job manager with count jobs of every
//  status, and a record of each kind; close it
static void
s_fill (const char *spec, size_t count)
{
    zjob_store_t *store = s_open (spec);
    zjob_error_t err;
    cr_assert_eq (zjob_store_acquire (store, &err), 1, "%s", err.text);
    zjob_manager_config_t config = { .max_concurrent = 0 };
    zjob_manager_t *manager = zjob_manager_new (&store, &config, &err);
    cr_assert_not_null (manager, "%s", err.text);
    static const uint8_t inputs [] = { 0x81, 0xa1, 'n', 0x2a };  //  {"n": 42}
    for (size_t i = 0; i < count; i++) {
        char key [32];
        snprintf (key, sizeof key, "key-%zu", i);
        zjob_spec_t spec_of = { .workflow_id = i % 2 ? "odd" : "even", .inputs = inputs, .inputs_size = sizeof inputs, .priority = (zjob_priority_t) (i % ZJOB_PRIORITY_COUNT), .idempotency_key = i % 3 ? key : NULL };
        zjob_job_t *job = zjob_manager_create (manager, &spec_of, i % 7 != 0, &err);
        cr_assert_not_null (job, "%s", err.text);
        zjob_job_destroy (&job);
    }
    //  Some running, completed, failed and cancelled
    for (size_t i = 0; i < count / 4; i++) {
        zjob_job_t *job = zjob_manager_take (manager, NULL, 0, "w1");
        cr_assert_not_null (job);
        if (i % 3 == 0)
            cr_assert_eq (zjob_manager_complete (manager, job->id, "w1", inputs, sizeof inputs,
                                                 &err),
                          0, "%s", err.text);
        else if (i % 3 == 1)
            cr_assert_eq (zjob_manager_fail (manager, job->id, "w1", "bad_input", "no", &err),
                          0, "%s", err.text);
        zjob_job_destroy (&job);
    }
    zjob_job_t *job = zjob_manager_take (manager, NULL, 0, "w1");
    cr_assert_not_null (job);
    cr_assert_eq (zjob_manager_cancel (manager, job->id, &err), 0, "%s", err.text);
    zjob_job_destroy (&job);
    store = zjob_manager_store (manager);
    for (size_t kind = 0; zjob_import_kinds [kind]; kind++) {
        for (int n = 0; n < 3; n++) {
            char name [32], data [64];
            snprintf (name, sizeof name, "%s-%d", zjob_import_kinds [kind], n);
            snprintf (data, sizeof data, "data of %s", name);
            cr_assert_eq (zjob_store_record_put (store, zjob_import_kinds [kind], name,
                                                 (const uint8_t *) data, strlen (data), &err),
                          0, "%s", err.text);
        }
    }
    cr_assert_eq (zjob_manager_sync (manager, &err), 0, "%s", err.text);
    zjob_manager_destroy (&manager);
}

//  Checks every job of the visited store is in other, encoded alike
typedef struct {
    zjob_store_t *other;
    size_t seen;
} s_check_t;

static int
s_check_job (zjob_job_t *job, void *arg)
{
    s_check_t *check = (s_check_t *) arg;
    zjob_job_t *twin = zjob_store_get (check->other, job->id);
    cr_assert_not_null (twin, "job %s was not imported", job->id);
    uint8_t *data, *twin_data;
    size_t size, twin_size;
    cr_assert_eq (zjob_job_encode (job, &data, &size), 0);
    cr_assert_eq (zjob_job_encode (twin, &twin_data, &twin_size), 0);
    cr_assert_eq (size, twin_size, "job %s: %zu bytes encoded, %zu imported", job->id, size,
                  twin_size);
    cr_assert_eq (memcmp (data, twin_data, size), 0, "job %s differs", job->id);
    free (data);
    free (twin_data);
    zjob_job_destroy (&twin);
    check->seen++;
    return 0;
}

typedef struct {
    zjob_store_t *other;
    const char *kind;
    size_t seen;
} s_check_record_t;

static int
s_check_record (const char *name, const uint8_t *data, size_t size, void *arg)
{
    s_check_record_t *check = (s_check_record_t *) arg;
    size_t twin_size = 0;
    const uint8_t *twin = zjob_store_record_get (check->other, check->kind, name, &twin_size);
    cr_assert_not_null (twin, "record %s/%s was not imported", check->kind, name);
    cr_assert_eq (twin_size, size);
    cr_assert_eq (memcmp (twin, data, size), 0, "record %s/%s differs", check->kind, name);
    check->seen++;
    return 0;
}

//  from and to hold the same jobs and records
static void
s_assert_same (zjob_store_t *from, zjob_store_t *to)
{
    cr_assert_eq (zjob_store_count (to), zjob_store_count (from));
    s_check_t check = { to, 0 };
    zjob_store_iterate (from, NULL, s_check_job, &check);
    cr_assert_eq (check.seen, zjob_store_count (from));
    for (size_t kind = 0; zjob_import_kinds [kind]; kind++) {
        const char *name = zjob_import_kinds [kind];
        cr_assert_eq (zjob_store_record_count (to, name), zjob_store_record_count (from, name),
                      "records of kind %s", name);
        s_check_record_t records = { to, name, 0 };
        zjob_store_record_each (from, name, s_check_record, &records);
        cr_assert_eq (records.seen, zjob_store_record_count (from, name));
    }
}

//  Fill from_spec, import it into to_spec, check, reopen to_spec, check
static void
s_import_and_check (const char *from_spec, const char *to_spec, size_t jobs)
{
    s_fill (from_spec, jobs);
    zjob_store_t *from = s_open (from_spec);
    zjob_store_t *to = s_open (to_spec);
    cr_assert_eq (zjob_store_acquire (from, NULL), 1);
    cr_assert_eq (zjob_store_count (from), jobs);
    zjob_import_report_t report = { .log_level = ZJOB_LOG_ERROR };
    zjob_error_t err;
    cr_assert_eq (zjob_import (from, to, &report, &err), 0, "%s", err.text);
    cr_assert_eq (report.jobs, jobs);
    cr_assert_eq (report.records, 3 * 4);
    cr_assert_eq (report.syncs, jobs / ZJOB_IMPORT_SYNC_EVERY + 1);
    s_assert_same (from, to);
    //  What the target synced is what it reads back
    zjob_store_destroy (&to);
    to = s_open (to_spec);
    cr_assert_eq (zjob_store_acquire (to, &err), 1, "%s", err.text);
    s_assert_same (from, to);
    zjob_store_destroy (&to);
    zjob_store_destroy (&from);
}

TestSuite (import, .init = s_setup, .fini = s_teardown, .timeout = 120);

Test (import, memory_into_file)
{
    //  A memory store cannot be reopened: fill a file store, import it
    //  into memory, and that into a second file store
    s_fill (s_spec (0, "file:", "old"), S_JOBS);
    zjob_store_t *old = s_open (s_spec (0, "file:", "old"));
    zjob_store_t *memory = s_open ("memory:");
    zjob_import_report_t report = { .log_level = ZJOB_LOG_ERROR };
    zjob_error_t err;
    cr_assert_eq (zjob_import (old, memory, &report, &err), 0, "%s", err.text);
    s_assert_same (old, memory);
    zjob_store_t *new = s_open (s_spec (1, "file:", "new?fsync=never"));
    cr_assert_eq (zjob_import (memory, new, &report, &err), 0, "%s", err.text);
    cr_assert_eq (report.jobs, S_JOBS);
    zjob_store_destroy (&new);
    new = s_open (s_spec (1, "file:", "new"));
    s_assert_same (old, new);
    zjob_store_destroy (&new);
    zjob_store_destroy (&memory);
    zjob_store_destroy (&old);
}

Test (import, file_into_file_past_sync_boundaries)
{
    //  More jobs than one sync's worth: the syncs on the way count
    s_import_and_check (s_spec (0, "file:", "old"), s_spec (1, "file:", "new?fsync=never"),
                        ZJOB_IMPORT_SYNC_EVERY * 2 + 17);
}

Test (import, file_into_sqlite)
{
    s_import_and_check (s_spec (0, "file:", "old"), s_spec (1, "sqlite:", "new.db"),
                        ZJOB_IMPORT_SYNC_EVERY + 3);
}

Test (import, sqlite_into_file)
{
    s_import_and_check (s_spec (0, "sqlite:", "old.db"), s_spec (1, "file:", "new"), S_JOBS);
}

//  "postgres:" and the conninfo of a fresh database (free it), or a
//  failed test if there is no server (the fixture pg starts one)
static char *
s_pg_spec (char **conninfo_p)
{
    *conninfo_p = zjob_test_pg_new_db ();
    cr_assert_not_null (*conninfo_p, "no PostgreSQL: run under ctest (fixture pg), or "
                                     "tests/pg_server.sh start DIR and ZJOB_TEST_PG=DIR/conninfo");
    char *spec = zsys_sprintf ("postgres:%s", *conninfo_p);
    cr_assert_not_null (spec);
    return spec;
}

Test (import, file_into_postgres)
{
    char *conninfo;
    char *spec = s_pg_spec (&conninfo);
    s_import_and_check (s_spec (0, "file:", "old"), spec, ZJOB_IMPORT_SYNC_EVERY + 3);
    zstr_free (&spec);
    zjob_test_pg_drop_db (conninfo);
    free (conninfo);
}

Test (import, postgres_into_sqlite)
{
    char *conninfo;
    char *spec = s_pg_spec (&conninfo);
    s_import_and_check (spec, s_spec (1, "sqlite:", "new.db"), S_JOBS);
    zstr_free (&spec);
    zjob_test_pg_drop_db (conninfo);
    free (conninfo);
}

Test (import, postgres_a_broker_is_active_on_is_refused)
{
    char *conninfo;
    char *spec = s_pg_spec (&conninfo);
    s_fill (s_spec (0, "file:", "old"), 10);
    zjob_store_t *from = s_open (s_spec (0, "file:", "old"));
    zjob_store_t *active = s_open (spec);
    zjob_error_t err;
    cr_assert_eq (zjob_store_acquire (active, &err), 1, "%s", err.text);
    zjob_store_t *to = s_open (spec);
    zjob_import_report_t report = { .to_label = "NEW", .log_level = ZJOB_LOG_ERROR };
    cr_assert_eq (zjob_import (from, to, &report, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT, "%d %s", err.code, err.text);
    cr_assert_not_null (strstr (err.text, "a broker is active on NEW"), "%s", err.text);
    char host [256];
    gethostname (host, sizeof host);
    cr_assert_not_null (strstr (err.text, host), "the holder is not named: %s", err.text);
    zjob_store_destroy (&to);
    cr_assert_eq (zjob_store_count (active), 0);
    zjob_store_destroy (&active);
    zjob_store_destroy (&from);
    zstr_free (&spec);
    zjob_test_pg_drop_db (conninfo);
    free (conninfo);
}

//  Records of every kind the import knows in store
static size_t
s_records (zjob_store_t *store)
{
    size_t records = 0;
    for (size_t kind = 0; zjob_import_kinds [kind]; kind++)
        records += zjob_store_record_count (store, zjob_import_kinds [kind]);
    return records;
}

//  A target holding anything is refused, and keeps what it held
static void
s_refused (bool job_not_record)
{
    s_fill (s_spec (0, "file:", "old"), 10);
    zjob_store_t *to = s_open (s_spec (1, "file:", "new"));
    zjob_error_t err;
    zjob_spec_t spec = { .workflow_id = "mine" };
    zjob_job_t *mine = zjob_job_new (&spec, &err);
    cr_assert_not_null (mine);
    if (job_not_record)
        cr_assert_eq (zjob_store_put (to, mine, &err), 0, "%s", err.text);
    else
        cr_assert_eq (zjob_store_record_put (to, "queue", "mine", (const uint8_t *) "x", 1, &err), 0);
    cr_assert_eq (zjob_store_sync (to, &err), 0);
    zjob_store_t *from = s_open (s_spec (0, "file:", "old"));
    zjob_import_report_t report = { .to_label = "NEW", .log_level = ZJOB_LOG_ERROR };
    cr_assert_eq (zjob_import (from, to, &report, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_not_null (strstr (err.text, job_not_record ? "the target store NEW already holds 1 job and 0 records" : "the target store NEW already holds 0 jobs and 1 record"),
                        "%s", err.text);
    cr_assert_eq (report.jobs + report.records, 0);
    zjob_store_destroy (&to);
    to = s_open (s_spec (1, "file:", "new"));
    cr_assert_eq (zjob_store_count (to), job_not_record ? 1 : 0);
    cr_assert_eq (s_records (to), job_not_record ? 0 : 1);
    if (job_not_record) {
        zjob_job_t *kept = zjob_store_get (to, mine->id);
        cr_assert_not_null (kept);
        cr_assert_str_eq (kept->workflow_id, "mine");
        zjob_job_destroy (&kept);
    }
    zjob_job_destroy (&mine);
    zjob_store_destroy (&to);
    zjob_store_destroy (&from);
}

Test (import, target_with_a_job_is_refused)
{
    s_refused (true);
}

Test (import, target_with_a_record_is_refused)
{
    s_refused (false);
}

//  A shared store another broker holds: the memory store with an acquire
//  that always finds the lease taken, as a standby's PostgreSQL store does
static int
s_busy_acquire (void *self, zjob_error_t *err)
{
    (void) self;
    zjob_error_set (err, ZJOB_CONFLICT, "held by otherhost pid 42, epoch 7");
    return 0;
}

static zjob_store_t *
s_busy_store (void)
{
    static zjob_store_ops_t ops;
    ops = zjob_store_memory_ops;
    ops.acquire = s_busy_acquire;
    zjob_store_memory_t *table = zjob_store_memory_table_new (false);
    cr_assert_not_null (table);
    return zjob_store_new (&ops, table);
}

Test (import, store_a_broker_is_active_on_is_refused)
{
    s_fill (s_spec (0, "file:", "old"), 10);
    zjob_store_t *from = s_open (s_spec (0, "file:", "old"));
    zjob_store_t *busy = s_busy_store ();
    zjob_import_report_t report = { .to_label = "NEW", .log_level = ZJOB_LOG_ERROR };
    zjob_error_t err;
    //  As the target: refused, nothing written
    cr_assert_eq (zjob_import (from, busy, &report, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_not_null (strstr (err.text, "a broker is active on NEW"), "%s", err.text);
    cr_assert_not_null (strstr (err.text, "otherhost pid 42, epoch 7"), "%s", err.text);
    cr_assert_eq (zjob_store_count (busy), 0);
    cr_assert_eq (s_records (busy), 0);
    //  As the source: refused before anything is copied
    zjob_store_t *to = s_open ("memory:");
    report.from_label = "OLD";
    report.to_label = NULL;
    cr_assert_eq (zjob_import (busy, to, &report, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_not_null (strstr (err.text, "a broker is active on OLD"), "%s", err.text);
    cr_assert_eq (zjob_store_count (to), 0);
    zjob_store_destroy (&to);
    zjob_store_destroy (&busy);
    zjob_store_destroy (&from);
}

//  --------------------------------------------------------------------------
//  The real programs

static zjob_e2e_t s_env;

static void
s_e2e_teardown (void)
{
    zjob_e2e_teardown (&s_env);
}

//  Run zjobd with the NULL-terminated arguments; its exit status, and its
//  first stdout line into line (cut at size; "" if none)
static int
s_zjobd (char *line, size_t size, const char *arg, ...)
{
    char *argv [16] = { ZJOB_BIN_DIR "/zjobd" };
    int argc = 1;
    va_list args;
    va_start (args, arg);
    for (const char *next = arg; next && argc < 15; next = va_arg (args, const char *))
        argv [argc++] = (char *) next;
    va_end (args);
    argv [argc] = NULL;
    int out = -1;
    pid_t pid = zjob_test_spawn_with (argv, &out, zjob_e2e_path (&s_env, "import.log"));
    cr_assert (pid > 0);
    char *first = zjob_test_read_line (out, ZJOB_E2E_DEADLINE_MS);
    snprintf (line, size, "%s", first ? first : "");
    free (first);
    close (out);
    return zjob_test_wait_exit (pid, ZJOB_E2E_DEADLINE_MS);
}

TestSuite (import_e2e, .fini = s_e2e_teardown, .timeout = 180);

Test (import_e2e, zjobd_imports_a_store_a_broker_serves_after)
{
    zjob_e2e_setup (&s_env, NULL, 5000, 0);
    enum { JOBS = 30 };
    char ids [JOBS][ZJOB_ID_LEN + 1];
    zjob_error_t err;
    for (int i = 0; i < JOBS; i++) {
        zjob_spec_t spec = { .workflow_id = "moved", .priority = ZJOB_PRIORITY_MEDIUM };
        cr_assert_eq (zjob_client_submit (s_env.client, &spec, true, ids [i], &err), 0, "%s",
                      err.text);
    }
    cr_assert_eq (zjob_e2e_cli (&s_env, "template", "set", "t1", "--workflow", "moved", NULL), 0,
                  "%s", s_env.cli_out);
    //  Every acknowledged job is in the store even after a SIGKILL
    zjob_e2e_broker_kill (&s_env);
    char old [700], new [700], line [2048], expected [2048];
    snprintf (old, sizeof old, "%s", s_env.store);
    snprintf (new, sizeof new, "sqlite:%s/new.db", s_env.dir);

    cr_assert_eq (s_zjobd (line, sizeof line, "--store", new, "--import", old, NULL), 0, "%s",
                  line);
    snprintf (expected, sizeof expected, "imported %d jobs and 1 records from %s into %s in ",
              JOBS, old, new);
    cr_assert_eq (strncmp (line, expected, strlen (expected)), 0, "%s", line);
    //  Again: the target is no longer empty (2), and is left as it is
    cr_assert_eq (s_zjobd (line, sizeof line, "--store", new, "--import", old, NULL), 2);
    cr_assert_str_eq (line, "");
    //  A bad spec (2); a store that cannot be opened (8): a file store
    //  whose directory is under a regular file
    cr_assert_eq (s_zjobd (line, sizeof line, "--store", "nosuch:x", "--import", old, NULL), 2);
    char blocked [800];
    snprintf (blocked, sizeof blocked, "file:%s/import.log/under", s_env.dir);
    cr_assert_eq (s_zjobd (line, sizeof line, "--store", blocked, "--import", old, NULL), 8);

    //  A password in a connection string is never shown: the server is
    //  not there (8, either side), and what zjobd says names it without it
    cr_assert_eq (s_zjobd (line, sizeof line, "--store", "postgres:host=127.0.0.1 port=1 "
                                                         "password=hunter2 connect_timeout=1",
                           "--import", old, NULL),
                  8);
    cr_assert_eq (s_zjobd (line, sizeof line, "--store", new, "--import",
                           "postgresql://zjob:hunter2@127.0.0.1:1/x?connect_timeout=1", NULL),
                  8);
    char *log = zsys_sprintf ("%s", zjob_e2e_path (&s_env, "import.log"));
    zchunk_t *said = zchunk_slurp (log, 0);
    cr_assert_not_null (said);
    zchunk_extend (said, "", 1);
    const char *text = (const char *) zchunk_data (said);
    cr_assert_null (strstr (text, "hunter2"), "%s", text);
    cr_assert_not_null (strstr (text, "password=*** connect_timeout=1"), "%s", text);
    cr_assert_not_null (strstr (text, "postgresql://zjob:***@127.0.0.1:1/x"), "%s", text);
    zchunk_destroy (&said);
    zstr_free (&log);

    //  A real zjobd on the new (SQLite) store serves the jobs and the template
    snprintf (s_env.store, sizeof s_env.store, "%s", new);
    zjob_e2e_broker_start (&s_env);
    for (int i = 0; i < JOBS; i++) {
        zjob_job_t *job = zjob_client_get (s_env.client, ids [i], &err);
        cr_assert_not_null (job, "job %s: %s", ids [i], err.text);
        cr_assert_str_eq (job->workflow_id, "moved");
        cr_assert_eq (job->status, ZJOB_QUEUED);
        zjob_job_destroy (&job);
    }
    cr_assert_eq (zjob_e2e_cli (&s_env, "list", "--limit", "100", NULL), 0, "%s", s_env.cli_out);
    for (int i = 0; i < JOBS; i++)
        cr_assert_not_null (strstr (s_env.cli_out, ids [i]), "%s not listed: %s", ids [i],
                            s_env.cli_out);
    cr_assert_eq (zjob_e2e_cli (&s_env, "template", "get", "t1", NULL), 0, "%s", s_env.cli_out);
    cr_assert_not_null (strstr (s_env.cli_out, "moved"), "%s", s_env.cli_out);
}
