/*  =========================================================================
    test_zjob_store_records - the stores' named records

    What the owners of templates, schedules, batches and queue settings
    count on: put, get, remove, each (in name order) and count behave the
    same on both stores; bad kinds, names and sizes are refused with an
    error; the file store replays records after a reopen, keeps them
    through a compaction, cuts a torn record at the tail and refuses a
    damaged one in the middle, as it does for jobs; and a job and a
    record of one sync are durable together, or neither is. Helpers for
    the journal's bytes are in test_zjob_store_file.h.
    ========================================================================= */

#include "test_zjob_store_file.h"
#include "zjob_store_memory.h"

//  --------------------------------------------------------------------------
//  Helpers

static void
s_record_put (zjob_store_t *store, const char *kind, const char *name, const char *data)
{
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_record_put (store, kind, name, (const uint8_t *) data,
                                         strlen (data), &err),
                  0, "put %s/%s: %s", kind, name, err.text);
}

//  Whether kind/name holds exactly data
static bool
s_record_is (zjob_store_t *store, const char *kind, const char *name, const char *data)
{
    size_t size = 12345;
    const uint8_t *got = zjob_store_record_get (store, kind, name, &size);
    if (!data)
        return got == NULL && size == 0;
    return got && size == strlen (data) && memcmp (got, data, size) == 0;
}

//  Names and data as each visits them, joined as "name=data,"
typedef struct {
    char text [4096];
    int stop_after;  //  Stop after this many (0 = never)
    int seen;
} s_visits_t;

static int
s_visit (const char *name, const uint8_t *data, size_t size, void *arg)
{
    s_visits_t *visits = (s_visits_t *) arg;
    size_t used = strlen (visits->text);
    snprintf (visits->text + used, sizeof visits->text - used, "%s=%.*s,", name, (int) size,
              (const char *) data);
    visits->seen++;
    return visits->stop_after && visits->seen >= visits->stop_after;
}

static char *
s_each (zjob_store_t *store, const char *kind)
{
    s_visits_t visits = { "", 0, 0 };
    int visited = zjob_store_record_each (store, kind, s_visit, &visits);
    cr_assert_eq (visited, visits.seen);
    return strdup (visits.text);
}

//  The same checks on either store
static void
s_basics (zjob_store_t *store)
{
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_record_count (store, "template"), 0);
    cr_assert (s_record_is (store, "template", "nightly", NULL));
    s_record_put (store, "template", "nightly", "one");
    s_record_put (store, "template", "backup", "two");
    s_record_put (store, "template", "cleanup", "three");
    s_record_put (store, "schedule", "nightly", "other kind");
    cr_assert_eq (zjob_store_record_count (store, "template"), 3);
    cr_assert_eq (zjob_store_record_count (store, "schedule"), 1);
    cr_assert_eq (zjob_store_record_count (store, "batch"), 0);
    cr_assert (s_record_is (store, "template", "nightly", "one"));
    cr_assert (s_record_is (store, "schedule", "nightly", "other kind"));

    //  Name order, whatever the order of the puts
    char *text = s_each (store, "template");
    cr_assert_str_eq (text, "backup=two,cleanup=three,nightly=one,");
    free (text);

    //  A replacement keeps the name and changes the data; the caller's
    //  buffer is copied
    char buffer [16];
    strcpy (buffer, "four!");
    cr_assert_eq (zjob_store_record_put (store, "template", "cleanup", (const uint8_t *) buffer,
                                         strlen (buffer), &err),
                  0, "%s", err.text);
    strcpy (buffer, "XXXXX");
    cr_assert (s_record_is (store, "template", "cleanup", "four!"));
    cr_assert_eq (zjob_store_record_count (store, "template"), 3);
    text = s_each (store, "template");
    cr_assert_str_eq (text, "backup=two,cleanup=four!,nightly=one,");
    free (text);

    //  A visitor stops the walk
    s_visits_t visits = { "", 2, 0 };
    cr_assert_eq (zjob_store_record_each (store, "template", s_visit, &visits), 2);
    cr_assert_str_eq (visits.text, "backup=two,cleanup=four!,");

    //  Removal
    cr_assert_eq (zjob_store_record_remove (store, "template", "backup", &err), 0, "%s", err.text);
    cr_assert (s_record_is (store, "template", "backup", NULL));
    cr_assert_eq (zjob_store_record_remove (store, "template", "backup", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert (strstr (err.text, "template record backup not found"), "%s", err.text);
    cr_assert_eq (zjob_store_record_remove (store, "queue", "backup", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_eq (zjob_store_record_count (store, "template"), 2);
    text = s_each (store, "template");
    cr_assert_str_eq (text, "cleanup=four!,nightly=one,");
    free (text);
    text = s_each (store, "schedule");
    cr_assert_str_eq (text, "nightly=other kind,");
    free (text);
    text = s_each (store, "batch");
    cr_assert_str_eq (text, "");
    free (text);

    //  Records are not jobs
    cr_assert_eq (zjob_store_count (store), 0);
}

//  The same refusals on either store
static void
s_refusals (zjob_store_t *store)
{
    char long_name [ZJOB_NAME_MAX + 2];
    memset (long_name, 'n', sizeof long_name - 1);
    long_name [sizeof long_name - 1] = 0;
    const char *bad [] = { NULL, "", "with space", "tab\there", "caf\xc3\xa9", long_name };
    const uint8_t data [] = { 0x80 };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        zjob_error_t err = { 0, "" };
        cr_assert_eq (zjob_store_record_put (store, bad [index], "name", data, 1, &err), -1);
        cr_assert_eq (err.code, ZJOB_BAD_REQUEST, "kind %zu: %d", index, err.code);
        cr_assert (strstr (err.text, "record kind"), "%s", err.text);
        cr_assert_eq (zjob_store_record_put (store, "template", bad [index], data, 1, &err), -1);
        cr_assert_eq (err.code, ZJOB_BAD_REQUEST, "name %zu: %d", index, err.code);
        cr_assert (strstr (err.text, "template record"), "%s", err.text);
        cr_assert_eq (zjob_store_record_remove (store, "template", bad [index], &err), -1);
        cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
        cr_assert_null (zjob_store_record_get (store, bad [index], "name", NULL));
        cr_assert_null (zjob_store_record_get (store, "template", bad [index], NULL));
        cr_assert_eq (zjob_store_record_count (store, bad [index]), 0);
        s_visits_t visits = { "", 0, 0 };
        cr_assert_eq (zjob_store_record_each (store, bad [index], s_visit, &visits), 0);
    }
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_record_put (store, "template", "empty", data, 0, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "no data"), "%s", err.text);
    cr_assert_eq (zjob_store_record_put (store, "template", "empty", NULL, 5, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);

    //  At the limit it goes in; one byte over it does not
    uint8_t *big = (uint8_t *) calloc (1, ZJOB_RECORD_MAX + 1);
    cr_assert_not_null (big);
    cr_assert_eq (zjob_store_record_put (store, "template", "big", big, ZJOB_RECORD_MAX + 1, &err),
                  -1);
    cr_assert_eq (err.code, ZJOB_TOO_LARGE);
    cr_assert (strstr (err.text, "template record big"), "%s", err.text);
    big [ZJOB_RECORD_MAX - 1] = 0x42;
    cr_assert_eq (zjob_store_record_put (store, "template", "big", big, ZJOB_RECORD_MAX, &err), 0,
                  "%s", err.text);
    size_t size = 0;
    const uint8_t *got = zjob_store_record_get (store, "template", "big", &size);
    cr_assert_eq (size, ZJOB_RECORD_MAX);
    cr_assert_eq (got [ZJOB_RECORD_MAX - 1], 0x42);
    free (big);
    cr_assert_eq (zjob_store_record_count (store, "template"), 1);
}


//  --------------------------------------------------------------------------
//  Both stores

Test (store_records, memory_basics)
{
    zjob_store_t *store = zjob_store_memory_new ();
    s_basics (store);
    zjob_store_destroy (&store);
}

Test (store_records, file_basics)
{
    char *dir = s_tmpdir ();
    zjob_store_t *store = s_open (dir, NULL);
    s_basics (store);
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}

Test (store_records, memory_refusals)
{
    zjob_store_t *store = zjob_store_memory_new ();
    s_refusals (store);
    zjob_store_destroy (&store);
}

Test (store_records, file_refusals_then_reopen)
{
    char *dir = s_tmpdir ();
    zjob_store_t *store = s_open (dir, NULL);
    s_refusals (store);
    zjob_store_destroy (&store);
    //  The largest record replays
    store = s_open (dir, NULL);
    size_t size = 0;
    const uint8_t *got = zjob_store_record_get (store, "template", "big", &size);
    cr_assert_not_null (got);
    cr_assert_eq (size, ZJOB_RECORD_MAX);
    cr_assert_eq (got [ZJOB_RECORD_MAX - 1], 0x42);
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}

Test (store_records, name_order_of_many)
{
    //  Names put in a scrambled order come out sorted, after every change
    zjob_store_t *store = zjob_store_memory_new ();
    enum { COUNT = 1000 };
    for (int round = 0; round < 2; round++) {
        for (int index = 0; index < COUNT; index++) {
            char name [16];
            snprintf (name, sizeof name, "t%04d", (index * 7919) % COUNT);
            s_record_put (store, "template", name, round ? "again" : "x");
        }
        cr_assert_eq (zjob_store_record_count (store, "template"), COUNT);
        char *text = s_each (store, "template");
        //  The text is cut at 4 KB: check its start
        cr_assert (strncmp (text, "t0000=", 6) == 0, "%.40s", text);
        free (text);
    }
    //  Every visit in order, after removals
    zjob_error_t err = { 0, "" };
    for (int index = 0; index < COUNT; index += 2) {
        char name [16];
        snprintf (name, sizeof name, "t%04d", index);
        cr_assert_eq (zjob_store_record_remove (store, "template", name, &err), 0, "%s", err.text);
    }
    s_visits_t visits = { "", 0, 0 };
    cr_assert_eq (zjob_store_record_each (store, "template", s_visit, &visits), COUNT / 2);
    cr_assert (strncmp (visits.text, "t0001=again,t0003=again,t0005=again,", 36) == 0, "%.60s",
               visits.text);
    zjob_store_destroy (&store);
}


//  --------------------------------------------------------------------------
//  The file store's journal

Test (store_records, file_replays_records)
{
    char *dir = s_tmpdir ();
    zjob_store_t *store = s_open (dir, NULL);
    s_record_put (store, "template", "a", "first");
    s_record_put (store, "template", "b", "gone soon");
    s_record_put (store, "queue", "a", "paused");
    s_sync (store);
    s_record_put (store, "template", "a", "second");
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_record_remove (store, "template", "b", &err), 0);
    s_sync (store);
    cr_assert_eq (s_stat (store, "named_records"), 2);
    zjob_store_destroy (&store);

    store = s_open (dir, NULL);
    cr_assert (s_record_is (store, "template", "a", "second"));
    cr_assert (s_record_is (store, "template", "b", NULL));
    cr_assert (s_record_is (store, "queue", "a", "paused"));
    cr_assert_eq (zjob_store_record_count (store, "template"), 1);
    cr_assert_eq (s_stat (store, "named_records"), 2);
    //  The live bytes count the live records only (two records of about
    //  40 bytes), so that compaction is decided on what is live
    cr_assert_lt (s_stat (store, "live_bytes"), 100);
    cr_assert_gt (s_stat (store, "live_bytes"), 40);
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}

Test (store_records, job_and_record_of_one_sync_are_durable_together)
{
    //  A process that syncs and then dies: both are there. A process
    //  that dies before its sync: neither is.
    char *dir = s_tmpdir ();
    char id [ZJOB_ID_LEN + 1], unsynced_id [ZJOB_ID_LEN + 1];
    zjob_job_t *job = s_job (1, ZJOB_QUEUED);
    zjob_job_t *unsynced = s_job (2, ZJOB_QUEUED);
    strcpy (id, job->id);
    strcpy (unsynced_id, unsynced->id);
    pid_t pid = fork ();
    cr_assert_geq (pid, 0);
    if (pid == 0) {
        zjob_error_t err;
        zjob_store_t *store = s_try_open (dir, NULL, &err);
        if (!store)
            _exit (2);
        if (zjob_store_put (store, job, &err)
            || zjob_store_record_put (store, "batch", "b1", (const uint8_t *) "\x80", 1, &err)
            || zjob_store_sync (store, &err))
            _exit (3);
        if (zjob_store_put (store, unsynced, &err)
            || zjob_store_record_put (store, "batch", "b2", (const uint8_t *) "\x80", 1, &err))
            _exit (4);
        _exit (0);  //  As a crash: no close, no last sync
    }
    int status;
    cr_assert_eq (waitpid (pid, &status, 0), pid);
    cr_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0, "child status %d", status);
    zjob_job_destroy (&job);
    zjob_job_destroy (&unsynced);

    zjob_store_t *store = s_open (dir, NULL);
    cr_assert (s_has (store, id));
    cr_assert (s_record_is (store, "batch", "b1", "\x80"));
    cr_assert_not (s_has (store, unsynced_id));
    cr_assert (s_record_is (store, "batch", "b2", NULL));
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}

Test (store_records, records_survive_compaction)
{
    char *dir = s_tmpdir ();
    zjob_store_t *store = s_open (dir, "fsync=never&compact=4k");
    s_record_put (store, "template", "kept", "v1");
    s_record_put (store, "template", "replaced", "v1");
    s_record_put (store, "template", "removed", "v1");
    s_record_put (store, "schedule", "kept", "s1");
    s_sync (store);
    enum { COUNT = 50 };
    zjob_job_t *jobs [COUNT];
    for (int index = 0; index < COUNT; index++) {
        jobs [index] = s_job (index, ZJOB_RUNNING);
        s_put (store, jobs [index]);
    }
    zjob_error_t err = { 0, "" };
    //  Rounds of changes to jobs and records make the journal grow past
    //  4 KB and twice the live bytes again and again
    for (int round = 1; round <= 30; round++) {
        for (int index = 0; index < COUNT; index++) {
            cr_assert_eq (zjob_job_set_progress (jobs [index], (float) round / 30, "working", &err),
                          0, "%s", err.text);
            s_put (store, jobs [index]);
        }
        char data [16];
        snprintf (data, sizeof data, "v%d", round);
        s_record_put (store, "template", "replaced", data);
        if (round == 10)
            cr_assert_eq (zjob_store_record_remove (store, "template", "removed", &err), 0);
        if (round == 20)
            s_record_put (store, "template", "late", "new");
        s_settle (store);
    }
    cr_assert_gt (s_stat (store, "compactions"), 2);
    uint64_t journal_bytes = s_stat (store, "journal_bytes");
    cr_assert_lt (journal_bytes, 4 * s_stat (store, "live_bytes"));
    zjob_store_destroy (&store);

    store = s_open (dir, NULL);
    cr_assert (s_record_is (store, "template", "kept", "v1"));
    cr_assert (s_record_is (store, "template", "replaced", "v30"));
    cr_assert (s_record_is (store, "template", "removed", NULL));
    cr_assert (s_record_is (store, "template", "late", "new"));
    cr_assert (s_record_is (store, "schedule", "kept", "s1"));
    cr_assert_eq (zjob_store_record_count (store, "template"), 3);
    cr_assert_eq (zjob_store_count (store), COUNT);
    for (int index = 0; index < COUNT; index++) {
        cr_assert (s_has (store, jobs [index]->id));
        zjob_job_destroy (&jobs [index]);
    }
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}

Test (store_records, torn_record_at_the_tail_is_cut, .timeout = 60)
{
    //  Two records, each synced; the second cut at every byte: the first
    //  stays, the second is gone, the journal is cut where it began
    char *dir = s_tmpdir ();
    char *journal = s_journal (dir);
    zjob_store_t *store = s_open (dir, NULL);
    char ids [1][ZJOB_ID_LEN + 1];
    s_put_new (store, 0, 1, ids);
    s_record_put (store, "template", "first", "one");
    s_sync (store);
    s_record_put (store, "template", "second", "a longer record, cut anywhere");
    s_sync (store);
    zjob_store_destroy (&store);

    off_t offsets [4];
    cr_assert_eq (s_record_offsets (journal, offsets, 4), 3);
    off_t size = s_size (journal);
    off_t last = offsets [2];
    uint8_t *record = (uint8_t *) malloc ((size_t) (size - last));
    s_read_at (journal, last, record, (size_t) (size - last));
    for (off_t cut = last + 1; cut < size; cut++) {
        cr_assert_eq (truncate (journal, last), 0);
        s_append (journal, record, (size_t) (cut - last));
        store = s_open (dir, NULL);
        cr_assert (s_record_is (store, "template", "first", "one"), "cut at %jd", (intmax_t) cut);
        cr_assert (s_record_is (store, "template", "second", NULL), "cut at %jd", (intmax_t) cut);
        cr_assert (s_has (store, ids [0]));
        cr_assert_eq (s_size (journal), last, "cut at %jd", (intmax_t) cut);
        zjob_store_destroy (&store);
    }
    //  And whole, it is there
    cr_assert_eq (truncate (journal, last), 0);
    s_append (journal, record, (size_t) (size - last));
    store = s_open (dir, NULL);
    cr_assert (s_record_is (store, "template", "second", "a longer record, cut anywhere"));
    zjob_store_destroy (&store);
    free (record);
    zstr_free (&journal);
    s_tmpdir_remove (&dir);
}

Test (store_records, damaged_record_in_the_middle_is_corruption)
{
    //  A record damaged with an intact named record after it is not a
    //  tear: the open fails and counts what follows; salvage cuts there
    char *dir = s_tmpdir ();
    char *journal = s_journal (dir);
    zjob_store_t *store = s_open (dir, NULL);
    s_record_put (store, "template", "a", "one");
    s_sync (store);
    s_record_put (store, "template", "b", "two");
    s_sync (store);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_record_remove (store, "template", "a", &err), 0);
    s_sync (store);
    zjob_store_destroy (&store);

    off_t offsets [4];
    cr_assert_eq (s_record_offsets (journal, offsets, 4), 3);
    uint8_t byte;
    s_read_at (journal, offsets [1] + S_HEADER + 5, &byte, 1);
    byte ^= 0x01;
    s_write_at (journal, offsets [1] + S_HEADER + 5, &byte, 1);
    cr_assert_null (s_try_open (dir, NULL, &err), "a corrupt journal opened");
    cr_assert_eq (err.code, ZJOB_INTERNAL);
    cr_assert (strstr (err.text, "crc mismatch), 1 intact records after it"), "%s", err.text);

    //  Salvage keeps what came before: "a", whose removal came after
    store = s_open (dir, "salvage=truncate");
    cr_assert (s_record_is (store, "template", "a", "one"));
    cr_assert (s_record_is (store, "template", "b", NULL));
    zjob_store_destroy (&store);
    zstr_free (&journal);
    s_tmpdir_remove (&dir);
}

//  Append a record with correct CRCs around payload
static void
s_append_record (const char *path, const void *payload, uint32_t length)
{
    uint8_t header [S_HEADER];
    s_le32 (header, length);
    s_le32 (header + 4, zjob_crc32c (0, payload, length));
    s_le32 (header + 8, zjob_crc32c (0, header, 8));
    s_append (path, header, S_HEADER);
    s_append (path, payload, length);
}

Test (store_records, valid_crc_bad_named_record_is_corruption)
{
    //  What the CRC vouches for was written so, even at the end of the
    //  file: a named record that is not one is corruption, not a tear
    struct {
        const char *payload;
        uint32_t length;
        const char *says;
    } cases [] = {
        //  [3, "t", "n"]: a put without data
        { "\x93\x03\xa1t\xa1n", 6, "a named record of 3 items" },
        //  [3, "t t", "n", bin "x"]: a kind with a space
        { "\x94\x03\xa3t t\xa1n\xc4\x01x", 11, "is not a name" },
        //  [3, "t", 7, bin "x"]
        { "\x94\x03\xa1t\x07\xc4\x01x", 8, "is not a name" },
        //  [3, "t", "n", "x"]: data not a bin
        { "\x94\x03\xa1t\xa1n\xa1x", 8, "t record n: data is not a bin" },
        //  [3, "t", "n", bin ""]: empty data
        { "\x94\x03\xa1t\xa1n\xc4\x00", 8, "t record n: data is not a bin" },
        //  [4, "t", "n", 1]: a removal with an extra item
        { "\x94\x04\xa1t\xa1n\x01", 7, "a named record of 4 items" },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases [0]; index++) {
        char *dir = s_tmpdir ();
        char *journal = s_journal (dir);
        zjob_store_t *store = s_open (dir, NULL);
        s_record_put (store, "t", "n", "fine");
        s_sync (store);
        zjob_store_destroy (&store);
        off_t size = s_size (journal);
        s_append_record (journal, cases [index].payload, cases [index].length);

        zjob_error_t err = { 0, "" };
        cr_assert_null (s_try_open (dir, NULL, &err), "case %zu opened", index);
        cr_assert_eq (err.code, ZJOB_INTERNAL);
        char *says = zsys_sprintf ("offset %jd (", (intmax_t) size);
        cr_assert (strstr (err.text, says), "case %zu: \"%s\" does not say %s", index, err.text, says);
        cr_assert (strstr (err.text, cases [index].says), "case %zu: \"%s\" does not say %s",
                   index, err.text, cases [index].says);
        zstr_free (&says);
        zstr_free (&journal);
        s_tmpdir_remove (&dir);
    }
}

Test (store_records, a_store_without_records_refuses_them)
{
    //  A store whose ops table has no record calls (one defined
    //  elsewhere, before records) answers with errors, not a crash
    static zjob_store_ops_t ops;
    ops = zjob_store_memory_ops;
    ops.record_put = NULL;
    ops.record_remove = NULL;
    ops.record_get = NULL;
    ops.record_each = NULL;
    ops.record_count = NULL;
    zjob_store_t *store = zjob_store_new (&ops, zjob_store_memory_table_new (false));
    cr_assert_not_null (store);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_record_put (store, "t", "n", (const uint8_t *) "x", 1, &err), -1);
    cr_assert_eq (err.code, ZJOB_INTERNAL);
    cr_assert (strstr (err.text, "keeps no records"), "%s", err.text);
    cr_assert_eq (zjob_store_record_remove (store, "t", "n", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_null (zjob_store_record_get (store, "t", "n", NULL));
    s_visits_t visits = { "", 0, 0 };
    cr_assert_eq (zjob_store_record_each (store, "t", s_visit, &visits), 0);
    cr_assert_eq (zjob_store_record_count (store, "t"), 0);
    zjob_store_destroy (&store);
}
