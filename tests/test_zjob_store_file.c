/*  =========================================================================
    test_zjob_store_file - the file store: journal, recovery, salvage

    What a user of the file store counts on: every job and its latest state
    survive a close and reopen; a torn tail (a crash in mid-write) is cut
    off and the store opens; corruption before the end refuses the open,
    names the offset, and salvage=truncate recovers what came before it; a
    process killed with SIGKILL loses nothing it had synced; a failed write
    is retried; a format 1 journal still opens. The tests write damage into
    the journal by hand, following the format in the banner of
    broker/zjob_store_file.c. Compaction is tested in
    test_zjob_store_file_compact.c; the helpers are in test_zjob_store_file.h.
    ========================================================================= */

#include "test_zjob_store_file.h"


//  --------------------------------------------------------------------------
//  Reopen

//  Inputs of 64 KiB: {"blob": <bin>}, into sbuf (the caller destroys it)
static void
s_big_inputs (msgpack_sbuffer *sbuf)
{
    size_t big_size = 65536;
    uint8_t *big = (uint8_t *) malloc (big_size);
    msgpack_sbuffer_init (sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "blob", 4);
    memset (big, 'b', big_size);
    msgpack_pack_bin_with_body (&pk, big, big_size - 16);
    free (big);
}

//  Change job in place by its number: completed, failed or running
static void
s_change (zjob_job_t *job, int index)
{
    static const uint8_t outputs [] = { 0x81, 0xa2, 'o', 'k', 0xc3 };  //  {"ok": true}
    zjob_error_t err = { 0, "" };
    if (index % 3 == 0) {
        job->status = ZJOB_COMPLETED;
        job->completed_at = zjob_clock_ms ();
        cr_assert_eq (zjob_job_set_outputs (job, outputs, sizeof outputs, &err), 0, "%s", err.text);
    }
    else if (index % 3 == 1) {
        job->status = ZJOB_FAILED;
        zjob_job_set_error (job, "Timeout", "took too long");
    }
    else {
        job->status = ZJOB_RUNNING;
        zjob_job_set_worker (job, "worker-1");
        cr_assert_eq (zjob_job_set_progress (job, 0.5f, "half way", &err), 0, "%s", err.text);
    }
}

Test (file_store, reopen_keeps_latest_state)
{
    char *dir = s_tmpdir ();
    zjob_store_t *store = s_open (dir, NULL);
    enum { COUNT = 60 };
    zjob_job_t *jobs [COUNT];
    zjob_error_t err = { 0, "" };

    //  Jobs with 64 KiB inputs make the write buffer pass its chunk size,
    //  so puts also write early, before the sync
    msgpack_sbuffer sbuf;
    s_big_inputs (&sbuf);

    for (int index = 0; index < COUNT; index++) {
        if (index % 2) {
            zjob_spec_t spec;
            memset (&spec, 0, sizeof spec);
            spec.workflow_id = "large";
            spec.inputs = (const uint8_t *) sbuf.data;
            spec.inputs_size = sbuf.size;
            jobs [index] = zjob_job_new (&spec, &err);
            cr_assert_not_null (jobs [index], "%s", err.text);
        }
        else
            jobs [index] = s_job (index, ZJOB_CREATED);
        s_put (store, jobs [index]);
    }
    msgpack_sbuffer_destroy (&sbuf);
    s_sync (store);

    //  Change most of them, in place, then put again; remove some
    for (int index = 0; index < COUNT; index++) {
        s_change (jobs [index], index);
        s_put (store, jobs [index]);
    }
    for (int index = 0; index < COUNT; index += 7)
        cr_assert_eq (zjob_store_remove (store, jobs [index]->id, &err), 0, "%s", err.text);
    s_sync (store);
    size_t live = zjob_store_count (store);
    cr_assert_eq (live, COUNT - (COUNT + 6) / 7);

    zchunk_t *expected [COUNT];
    for (int index = 0; index < COUNT; index++)
        expected [index] = s_encoding (jobs [index]);
    zjob_store_destroy (&store);

    //  Twice: a reopen that changed nothing changes nothing either
    for (int round = 0; round < 2; round++) {
        store = s_open (dir, NULL);
        cr_assert_eq (zjob_store_count (store), live, "round %d", round);
        for (int index = 0; index < COUNT; index++) {
            zjob_job_t *job = zjob_store_get (store, jobs [index]->id);
            if (index % 7 == 0) {
                cr_assert_null (job, "job %d was removed", index);
                continue;
            }
            cr_assert_not_null (job, "job %d lost", index);
            zchunk_t *got = s_encoding (job);
            cr_assert (s_same (got, expected [index]), "job %d not in its latest state", index);
            zchunk_destroy (&got);
            zjob_job_destroy (&job);
        }
        zjob_store_destroy (&store);
    }
    for (int index = 0; index < COUNT; index++) {
        zchunk_destroy (&expected [index]);
        zjob_job_destroy (&jobs [index]);
    }
    s_tmpdir_remove (&dir);
}


//  --------------------------------------------------------------------------
//  Torn tails

typedef enum {
    TORN_HALF_RECORD,      //  The first half of a real record
    TORN_SHORT_GARBAGE,    //  Fewer bytes than a record header
    TORN_LONG_GARBAGE,     //  Garbage whose "length" runs past EOF
    TORN_LENGTH_PAST_EOF,  //  A header claiming 1000 bytes, then 10
    TORN_CRC_AT_END,       //  A whole record with a wrong CRC, at EOF
    TORN_ZEROS             //  Zeros, as a filesystem may leave
} s_torn_t;

static void
s_torn (s_torn_t kind)
{
    char *dir = s_tmpdir ();
    char *journal = s_journal (dir);
    zjob_store_t *store = s_open (dir, NULL);
    char ids [12][ZJOB_ID_LEN + 1];
    s_put_new (store, 0, 9, ids);
    off_t before_last = s_size (journal);
    s_put_new (store, 9, 1, ids + 9);
    zjob_store_destroy (&store);
    off_t good = s_size (journal);

    uint8_t tail [1000];
    size_t tail_size = 0;
    switch (kind) {
        case TORN_HALF_RECORD:
            tail_size = (size_t) (good - before_last) / 2;
            s_read_at (journal, before_last, tail, tail_size);
            break;
        case TORN_SHORT_GARBAGE:
            tail_size = 5;
            memcpy (tail, "\xde\xad\xbe\xef\x01", tail_size);
            break;
        case TORN_LONG_GARBAGE:
            tail_size = 13;
            memset (tail, 0xab, tail_size);
            break;
        case TORN_LENGTH_PAST_EOF:
            s_le32 (tail, 1000);
            s_le32 (tail + 4, 0x12345678);
            s_le32 (tail + 8, zjob_crc32c (0, tail, 8));
            memset (tail + 12, 0x92, 10);
            tail_size = 22;
            break;
        case TORN_CRC_AT_END:
            s_le32 (tail, 6);
            s_le32 (tail + 4, 0);
            s_le32 (tail + 8, zjob_crc32c (0, tail, 8));
            memcpy (tail + 12, "\x92\x02\xa3\x61\x62\x63", 6);  //  [2, "abc"]
            tail_size = 18;
            break;
        case TORN_ZEROS:
            memset (tail, 0, 64);
            tail_size = 64;
            break;
    }
    s_append (journal, tail, tail_size);
    cr_assert_eq (s_size (journal), good + (off_t) tail_size);

    store = s_open (dir, NULL);
    cr_assert_eq (zjob_store_count (store), 10, "torn kind %d", kind);
    for (int index = 0; index < 10; index++)
        cr_assert (s_has (store, ids [index]), "job %d lost", index);
    cr_assert_eq (s_size (journal), good, "the torn tail is cut off");

    //  Appending after the cut is durable too
    s_put_new (store, 10, 1, ids + 10);
    zjob_store_destroy (&store);
    store = s_open (dir, NULL);
    cr_assert_eq (zjob_store_count (store), 11);
    for (int index = 0; index < 11; index++)
        cr_assert (s_has (store, ids [index]), "job %d lost", index);
    zjob_store_destroy (&store);
    zstr_free (&journal);
    s_tmpdir_remove (&dir);
}

Test (file_store, torn_half_record)
{
    s_torn (TORN_HALF_RECORD);
}
Test (file_store, torn_short_garbage)
{
    s_torn (TORN_SHORT_GARBAGE);
}
Test (file_store, torn_long_garbage)
{
    s_torn (TORN_LONG_GARBAGE);
}
Test (file_store, torn_length_past_eof)
{
    s_torn (TORN_LENGTH_PAST_EOF);
}
Test (file_store, torn_crc_at_end)
{
    s_torn (TORN_CRC_AT_END);
}
Test (file_store, torn_zero_tail)
{
    s_torn (TORN_ZEROS);
}


//  --------------------------------------------------------------------------
//  Corruption

Test (file_store, corrupt_middle_refused_then_salvaged)
{
    char *dir = s_tmpdir ();
    char *journal = s_journal (dir);
    zjob_store_t *store = s_open (dir, NULL);
    char ids [13][ZJOB_ID_LEN + 1];
    s_put_new (store, 0, 12, ids);
    zjob_store_destroy (&store);

    off_t offsets [16];
    cr_assert_eq (s_record_offsets (journal, offsets, 16), 12);
    off_t size = s_size (journal);
    uint8_t byte;
    s_read_at (journal, offsets [4] + 20, &byte, 1);
    byte ^= 0x40;
    s_write_at (journal, offsets [4] + 20, &byte, 1);

    zjob_error_t err = { 0, "" };
    cr_assert_null (s_try_open (dir, NULL, &err), "a corrupt journal opened");
    cr_assert_eq (err.code, ZJOB_INTERNAL, "%d %s", err.code, err.text);
    char *says = zsys_sprintf ("offset %jd (crc mismatch)", (intmax_t) offsets [4]);
    cr_assert (strstr (err.text, says), "\"%s\" does not say %s", err.text, says);
    cr_assert (strstr (err.text, journal), "\"%s\" does not name %s", err.text, journal);
    cr_assert (strstr (err.text, "salvage=truncate to keep the 4 records"), "%s", err.text);
    zstr_free (&says);
    cr_assert_eq (s_size (journal), size, "a refused open changes nothing");

    store = s_open (dir, "salvage=truncate");
    cr_assert_eq (zjob_store_count (store), 4);
    for (int index = 0; index < 12; index++)
        cr_assert_eq (s_has (store, ids [index]), index < 4, "job %d", index);
    cr_assert_eq (s_size (journal), offsets [4], "cut at the bad record");
    char *store_dir = zsys_sprintf ("%s/store", dir);
    char *copy = s_find_file (store_dir, "journal.corrupt-");
    cr_assert_not_null (copy, "no journal.corrupt-<ms> copy");
    cr_assert_eq (s_size (copy), size, "the copy is the whole original");

    //  The salvaged journal goes on like any other
    s_put_new (store, 12, 1, ids + 12);
    zjob_store_destroy (&store);
    store = s_open (dir, NULL);
    cr_assert_eq (zjob_store_count (store), 5);
    cr_assert (s_has (store, ids [12]));
    zjob_store_destroy (&store);
    zstr_free (&copy);
    zstr_free (&store_dir);
    zstr_free (&journal);
    s_tmpdir_remove (&dir);
}

//  Append a record with a correct CRC around payload
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

Test (file_store, valid_crc_bad_content_is_corruption)
{
    //  Content the CRC vouches for was written so: no tear explains it,
    //  even at the very end of the file
    struct {
        const char *payload;
        uint32_t length;
        const char *says;
    } cases [] = {
        { "\xc1\xc1", 2, "invalid msgpack" },
        { "\x92\x01", 2, "invalid msgpack" },             //  [1, ...missing
        { "\x92\x01\x81\xa1x\x01", 6, "invalid job" },    //  [1, {"x": 1}]
        { "\x92\x07\xa1x", 4, "unknown record type 7" },  //  [7, "x"]
        { "\x93\x01\x02\x03", 4, "not a record" },        //  [1, 2, 3]
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases [0]; index++) {
        char *dir = s_tmpdir ();
        char *journal = s_journal (dir);
        zjob_store_t *store = s_open (dir, NULL);
        char ids [2][ZJOB_ID_LEN + 1];
        s_put_new (store, 0, 2, ids);
        zjob_store_destroy (&store);
        off_t size = s_size (journal);
        s_append_record (journal, cases [index].payload, cases [index].length);

        zjob_error_t err = { 0, "" };
        cr_assert_null (s_try_open (dir, NULL, &err), "case %zu opened", index);
        cr_assert_eq (err.code, ZJOB_INTERNAL);
        char *says = zsys_sprintf ("offset %jd (%s", (intmax_t) size, cases [index].says);
        cr_assert (strstr (err.text, says), "case %zu: \"%s\" does not say %s", index, err.text, says);
        zstr_free (&says);
        zstr_free (&journal);
        s_tmpdir_remove (&dir);
    }
}

//  The process's peak virtual size, in KiB (VmPeak in /proc/self/status)
static long
s_vm_peak_kib (void)
{
    FILE *file = fopen ("/proc/self/status", "r");
    cr_assert_not_null (file);
    char line [256];
    long kib = -1;
    while (fgets (line, sizeof line, file))
        if (sscanf (line, "VmPeak: %ld kB", &kib) == 1)
            break;
    fclose (file);
    cr_assert_gt (kib, 0);
    return kib;
}

//  A record the CRC vouches for may still say it holds 4 billion values
//  in a few bytes: msgpack-c sizes an array's objects from its count
//  before it reads them, so replay must scan the payload first (found by
//  tests/fuzz/fuzz_journal: a 128 GB malloc, which ASan reports and a
//  broker on an overcommitting kernel would reserve)
Test (file_store, a_record_count_cannot_make_replay_allocate)
{
    static const struct {
        const char *payload;
        uint32_t length;
    } cases [] = {
        { "\x92\x01\xdd\xff\xff\xff\xff", 7 },             //  [1, array32 of 2^32 - 1]
        { "\x92\x01\xdd\x03\x00\x00\x00", 7 },             //  [1, array32 of 50 M]: 1.2 GB of objects
        { "\x94\x03\xa1t\xa1n\xdf\x01\x00\x00\x00", 10 },  //  A named record's map32
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases [0]; index++) {
        char *dir = s_tmpdir ();
        char *journal = s_journal (dir);
        zjob_store_t *store = s_open (dir, NULL);
        zjob_store_destroy (&store);
        s_append_record (journal, cases [index].payload, cases [index].length);
        long before = s_vm_peak_kib ();
        zjob_error_t err = { 0, "" };
        cr_assert_null (s_try_open (dir, NULL, &err), "case %zu opened", index);
        cr_assert (strstr (err.text, "invalid msgpack"), "case %zu: %s", index, err.text);
        long grown = s_vm_peak_kib () - before;
        cr_assert_lt (grown, 256 * 1024, "case %zu: replay reserved %ld MiB", index, grown / 1024);
        zstr_free (&journal);
        s_tmpdir_remove (&dir);
    }
}

Test (file_store, bad_header)
{
    char *dir = s_tmpdir ();
    char *store_dir = zsys_sprintf ("%s/store", dir);
    char *journal = s_journal (dir);
    cr_assert_eq (mkdir (store_dir, 0700), 0);

    //  Not our file: refused
    s_append (journal, "SQLite format 3\0", 16);
    zjob_error_t err = { 0, "" };
    cr_assert_null (s_try_open (dir, NULL, &err));
    cr_assert_eq (err.code, ZJOB_INTERNAL);
    cr_assert (strstr (err.text, "bad magic"), "%s", err.text);

    unlink (journal);
    s_append (journal, "XYZ", 3);
    cr_assert_null (s_try_open (dir, NULL, &err));
    cr_assert (strstr (err.text, "not a zjob journal"), "%s", err.text);

    //  A header cut short at creation: an empty store
    unlink (journal);
    s_append (journal, "ZJO", 3);
    zjob_store_t *store = s_open (dir, NULL);
    cr_assert_eq (zjob_store_count (store), 0);
    char ids [1][ZJOB_ID_LEN + 1];
    s_put_new (store, 0, 1, ids);
    zjob_store_destroy (&store);
    store = s_open (dir, NULL);
    cr_assert (s_has (store, ids [0]));
    zjob_store_destroy (&store);

    zstr_free (&journal);
    zstr_free (&store_dir);
    s_tmpdir_remove (&dir);
}


//  --------------------------------------------------------------------------
//  Crash: SIGKILL loses nothing that was synced

//  Rounds of three new jobs (put created, then put again queued) and the
//  completion of the job of an earlier round; one sync per round, then the
//  count of jobs synced goes to the parent. In lockstep (go >= 0) it then
//  waits for a byte on go before the next round. Never returns.
static void
s_crash_child (const char *dir, int report, int go)
{
    zjob_error_t err;
    zjob_store_t *store = s_try_open (dir, "fsync=always&compact=16k", &err);
    if (!store)
        _exit (2);
    enum { ROUNDS = 100000 };
    char (*ids) [ZJOB_ID_LEN + 1] = calloc (3 * ROUNDS, sizeof *ids);
    for (uint64_t round = 0; round < ROUNDS; round++) {
        for (int index = 0; index < 3; index++) {
            char user [32];
            snprintf (user, sizeof user, "n%d", (int) (round * 3 + index));
            zjob_spec_t spec = { .workflow_id = "crash", .user_id = user };
            zjob_job_t *job = zjob_job_new (&spec, &err);
            if (!job || zjob_store_put (store, job, &err))
                _exit (3);
            job->status = ZJOB_QUEUED;
            if (zjob_store_put (store, job, &err))
                _exit (3);
            strcpy (ids [round * 3 + index], job->id);
            zjob_job_destroy (&job);
        }
        zjob_job_t *job = zjob_store_get (store, ids [round]);
        if (!job)
            _exit (4);
        job->status = ZJOB_COMPLETED;
        job->completed_at = (int64_t) round + 1;
        if (zjob_store_put (store, job, &err))
            _exit (3);
        zjob_job_destroy (&job);
        if (zjob_store_sync (store, &err))
            _exit (5);
        uint64_t synced = (round + 1) * 3;
        if (write (report, &synced, sizeof synced) != sizeof synced)
            _exit (6);
        char byte;
        if (go >= 0 && read (go, &byte, 1) != 1)
            _exit (7);
    }
    _exit (0);
}


//  Run the child until it has reported target syncs and kill it: in
//  lockstep, while it waits right after a sync; else wherever it is (in a
//  put, a write, a compaction...). Then every synced job must be there.
static void
s_crash (bool lockstep)
{
    char *dir = s_tmpdir ();
    int reports_pipe [2], go_pipe [2];
    cr_assert_eq (pipe (reports_pipe), 0);
    cr_assert_eq (pipe (go_pipe), 0);
    pid_t pid = fork ();
    cr_assert_geq (pid, 0, "fork: %s", strerror (errno));
    if (pid == 0) {
        close (reports_pipe [0]);
        close (go_pipe [1]);
        s_crash_child (dir, reports_pipe [1], lockstep ? go_pipe [0] : -1);
    }
    close (reports_pipe [1]);
    close (go_pipe [0]);

    int target = 61;
    uint64_t synced = 0;
    int reports = 0;
    int64_t deadline = zclock_mono () + 60000;
    while (reports < target && zclock_mono () < deadline) {
        struct pollfd item = { reports_pipe [0], POLLIN, 0 };
        if (poll (&item, 1, 100) <= 0)
            continue;
        uint64_t count;
        if (read (reports_pipe [0], &count, sizeof count) != sizeof count)
            break;  //  The child ended: its status says why
        synced = count;
        reports++;
        if (lockstep && reports < target)
            cr_assert_eq (write (go_pipe [1], "g", 1), 1);
    }
    cr_assert_eq (kill (pid, SIGKILL), 0);
    int status;
    cr_assert_eq (waitpid (pid, &status, 0), pid);
    cr_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL,
               "the child ended on its own (status %d) after %d reports", status, reports);
    cr_assert_eq (reports, target, "only %d reports", reports);
    //  Counts already in the pipe were sent after their sync returned
    uint64_t count;
    while (read (reports_pipe [0], &count, sizeof count) == sizeof count)
        synced = count;
    close (reports_pipe [0]);
    close (go_pipe [1]);

    zjob_store_t *store = s_open (dir, NULL);
    size_t stored = zjob_store_count (store);
    cr_assert_geq (stored, synced, "%zu jobs stored, %" PRIu64 " synced", stored, synced);
    s_found_t found = {
        .status = (uint8_t *) calloc (synced, 1),
        .completed_at = (int64_t *) calloc (synced, sizeof (int64_t)),
        .size = synced
    };
    zjob_store_iterate (store, NULL, s_found_visit, &found);
    uint64_t rounds = synced / 3;
    for (uint64_t number = 0; number < synced; number++) {
        cr_assert (found.status [number], "synced job n%" PRIu64 " lost (%" PRIu64 " synced)",
                   number, synced);
        int job_status = found.status [number] - 1;
        if (number < rounds) {
            //  Completed in a synced round
            cr_assert_eq (job_status, ZJOB_COMPLETED, "job n%" PRIu64, number);
            cr_assert_eq (found.completed_at [number], (int64_t) number + 1);
        }
        else
            cr_assert (job_status == ZJOB_QUEUED || job_status == ZJOB_COMPLETED,
                       "job n%" PRIu64 " is %d", number, job_status);
    }
    free (found.status);
    free (found.completed_at);
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}

Test (file_store, sigkill_after_sync_keeps_synced_jobs, .timeout = 120)
{
    s_crash (true);
}

Test (file_store, sigkill_anywhere_keeps_synced_jobs, .timeout = 120)
{
    s_crash (false);
}


//  --------------------------------------------------------------------------
//  Policies and failures

Test (file_store, fsync_policies)
{
    char *dir = s_tmpdir ();
    char ids [20][ZJOB_ID_LEN + 1];

    //  always: one fdatasync per sync that wrote, however many puts
    zjob_store_t *store = s_open (dir, NULL);
    cr_assert_eq (s_stat (store, "fsyncs"), 0);
    for (int index = 0; index < 5; index++) {
        zjob_job_t *job = s_job (index, ZJOB_QUEUED);
        s_put (store, job);
        strcpy (ids [index], job->id);
        zjob_job_destroy (&job);
    }
    s_sync (store);
    cr_assert_eq (s_stat (store, "fsyncs"), 1, "group commit: five puts, one fsync");
    s_sync (store);
    cr_assert_eq (s_stat (store, "fsyncs"), 1, "nothing written, nothing to fsync");
    zjob_store_destroy (&store);

    //  never: written, never fsynced; still there after a clean close
    store = s_open (dir, "fsync=never");
    s_put_new (store, 5, 5, ids + 5);
    cr_assert_eq (s_stat (store, "syncs"), 5);
    cr_assert_eq (s_stat (store, "fsyncs"), 0);
    zjob_store_destroy (&store);

    //  interval: fsyncs only once the interval has passed since the last
    store = s_open (dir, "fsync=interval:100ms");
    zhashx_t *stats = zhashx_new ();
    zhashx_set_duplicator (stats, (zhashx_duplicator_fn *) strdup);
    zhashx_set_destructor (stats, (zhashx_destructor_fn *) zstr_free);
    zjob_store_stats (store, stats);
    cr_assert_str_eq (zhashx_lookup (stats, "policy"), "interval:100ms");
    zhashx_destroy (&stats);
    int index = 10;
    int64_t deadline = zclock_mono () + 10000;
    while (s_stat (store, "fsyncs") < 2 && zclock_mono () < deadline) {
        if (index < 20) {
            s_put_new (store, index, 1, ids + index);
            index++;
        }
        else {
            zjob_job_t *job = zjob_store_get (store, ids [19]);
            s_put (store, job);
            zjob_job_destroy (&job);
            s_sync (store);
        }
        zclock_sleep (5);
    }
    cr_assert_geq (s_stat (store, "fsyncs"), 2, "no fsync within 10 s");
    cr_assert_gt (s_stat (store, "syncs"), s_stat (store, "fsyncs"), "at most one fsync per interval");
    zjob_store_destroy (&store);

    store = s_open (dir, NULL);
    cr_assert_eq (zjob_store_count (store), (size_t) index);
    for (int number = 0; number < index; number++)
        cr_assert (s_has (store, ids [number]), "job %d lost", number);
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}

Test (file_store, write_failure_is_reported_and_retried)
{
    //  RLIMIT_FSIZE makes write(2) fail with EFBIG past a given size
    char *dir = s_tmpdir ();
    char *journal = s_journal (dir);
    zjob_store_t *store = s_open (dir, "fsync=never");
    char ids [21][ZJOB_ID_LEN + 1];
    s_put_new (store, 0, 1, ids);
    off_t size = s_size (journal);

    signal (SIGXFSZ, SIG_IGN);
    struct rlimit saved, limit;
    cr_assert_eq (getrlimit (RLIMIT_FSIZE, &saved), 0);
    limit = saved;
    limit.rlim_cur = (rlim_t) size + 100;
    cr_assert_eq (setrlimit (RLIMIT_FSIZE, &limit), 0);
    for (int index = 1; index < 21; index++) {
        zjob_job_t *job = s_job (index, ZJOB_QUEUED);
        s_put (store, job);
        strcpy (ids [index], job->id);
        zjob_job_destroy (&job);
    }
    zjob_error_t err = { 0, "" };
    int rc = zjob_store_sync (store, &err);
    int rc_again = zjob_store_sync (store, &err);
    cr_assert_eq (setrlimit (RLIMIT_FSIZE, &saved), 0);
    cr_assert_eq (rc, -1, "a write past the limit succeeded");
    cr_assert_eq (rc_again, -1, "a second try past the limit succeeded");
    cr_assert_eq (err.code, ZJOB_INTERNAL);
    cr_assert (strstr (err.text, "write failed") && strstr (err.text, strerror (EFBIG)), "%s", err.text);
    cr_assert_eq (zjob_store_count (store), 21, "the store's view is unchanged");

    //  With room again, the next sync writes what was left
    s_sync (store);
    zjob_store_destroy (&store);
    store = s_open (dir, NULL);
    cr_assert_eq (zjob_store_count (store), 21);
    for (int index = 0; index < 21; index++)
        cr_assert (s_has (store, ids [index]), "job %d lost", index);
    zjob_store_destroy (&store);
    zstr_free (&journal);
    s_tmpdir_remove (&dir);
}

//  A store figure (zjob_store_stats) as text, "" if absent
static void
s_figure (zjob_store_t *store, const char *key, char *value, size_t size)
{
    zhashx_t *figures = zhashx_new ();
    zjob_store_stats (store, figures);
    const char *found = (const char *) zhashx_lookup (figures, key);
    snprintf (value, size, "%s", found ? found : "");
    zhashx_destroy (&figures);
}

Test (file_store, a_short_write_is_completed_where_it_stopped)
{
    //  A disk that fills up in the middle of a record: the bytes that
    //  landed stay, the rest is written after them by the next sync, and
    //  a crash in between leaves a torn record that the open cuts off
    char *dir = s_tmpdir ();
    char *journal = s_journal (dir);
    zjob_store_t *store = s_open (dir, NULL);
    char ids [6][ZJOB_ID_LEN + 1];
    s_put_new (store, 0, 1, ids);
    off_t size = s_size (journal);
    char value [ZJOB_ERROR_TEXT_MAX];
    s_figure (store, "writable", value, sizeof value);
    cr_assert_str_eq (value, "true");

    signal (SIGXFSZ, SIG_IGN);
    struct rlimit saved, limit;
    cr_assert_eq (getrlimit (RLIMIT_FSIZE, &saved), 0);
    limit = saved;
    limit.rlim_cur = (rlim_t) size + 100;  //  Within the next record
    cr_assert_eq (setrlimit (RLIMIT_FSIZE, &limit), 0);
    zjob_job_t *jobs [6] = { NULL };
    for (int index = 1; index < 6; index++) {
        jobs [index] = s_job (index, ZJOB_QUEUED);
        s_put (store, jobs [index]);
        strcpy (ids [index], jobs [index]->id);
    }
    jobs [1]->status = ZJOB_RUNNING;  //  A later state of a job in the same sync
    s_put (store, jobs [1]);
    zjob_error_t err = { 0, "" };
    int rc = zjob_store_sync (store, &err);
    cr_assert_eq (setrlimit (RLIMIT_FSIZE, &saved), 0);
    cr_assert_eq (rc, -1, "a write past the limit succeeded");
    cr_assert_eq (s_size (journal), size + 100, "the bytes that fitted were not written");
    cr_assert_gt (s_stat (store, "pending_bytes"), 0);
    //  The store says it cannot write, why, and since when
    int64_t since = 0;
    zjob_error_t why;
    cr_assert_not (zjob_store_writable (store, &why, &since));
    cr_assert (strstr (why.text, strerror (EFBIG)), "%s", why.text);
    cr_assert (since > 0 && since <= zjob_clock_ms ());
    s_figure (store, "writable", value, sizeof value);
    cr_assert_str_eq (value, "false");
    s_figure (store, "write_error", value, sizeof value);
    cr_assert_str_eq (value, why.text);
    s_figure (store, "write_error_since", value, sizeof value);
    cr_assert_eq (strlen (value), 20, "%s", value);

    //  A crash now: the copy of the journal holds a torn record, cut off
    char *crashed = s_tmpdir ();
    char *copy_dir = zsys_sprintf ("%s/store", crashed);
    cr_assert_eq (zsys_dir_create ("%s", copy_dir), 0);
    char *copy = s_journal (crashed);
    zchunk_t *bytes = zchunk_slurp (journal, 0);
    cr_assert_not_null (bytes);
    s_append (copy, zchunk_data (bytes), zchunk_size (bytes));
    zchunk_destroy (&bytes);
    zjob_store_t *reopened = s_open (crashed, NULL);
    cr_assert (s_has (reopened, ids [0]), "a synced job lost in a crash");
    cr_assert_lt (zjob_store_count (reopened), 6);
    cr_assert_lt (s_size (copy), size + 100, "the torn record was not cut off");
    zjob_store_destroy (&reopened);

    //  With room again, the next sync writes the rest where it stopped:
    //  the journal is the store's view, each job in its latest state
    s_sync (store);
    cr_assert (zjob_store_writable (store, NULL, NULL));
    cr_assert_eq (s_stat (store, "pending_bytes"), 0);
    zjob_store_destroy (&store);
    store = s_open (dir, NULL);
    cr_assert_eq (zjob_store_count (store), 6);
    for (int index = 0; index < 6; index++)
        cr_assert (s_has (store, ids [index]), "job %d lost", index);
    zjob_job_t *job = zjob_store_get (store, ids [1]);
    cr_assert_eq (job->status, ZJOB_RUNNING, "not the latest state");
    zjob_job_destroy (&job);
    for (int index = 1; index < 6; index++)
        zjob_job_destroy (&jobs [index]);
    zjob_store_destroy (&store);
    zstr_free (&copy);
    zstr_free (&copy_dir);
    zstr_free (&journal);
    s_tmpdir_remove (&crashed);
    s_tmpdir_remove (&dir);
}

Test (file_store, one_process_per_directory)
{
    char *dir = s_tmpdir ();
    zjob_store_t *store = s_open (dir, NULL);
    zjob_error_t err = { 0, "" };
    cr_assert_null (s_try_open (dir, NULL, &err), "two stores on one journal");
    cr_assert_eq (err.code, ZJOB_INTERNAL);
    cr_assert (strstr (err.text, "in use"), "%s", err.text);
    zjob_store_destroy (&store);
    store = s_open (dir, NULL);
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}


//  --------------------------------------------------------------------------
//  Damaged lengths: a torn tail or corruption

//  A journal of count jobs, one record each; their ids go to ids
static void
s_journal_of (const char *dir, int count, char (*ids) [ZJOB_ID_LEN + 1])
{
    zjob_store_t *store = s_open (dir, "fsync=never");
    for (int index = 0; index < count; index++) {
        zjob_job_t *job = s_job (index, ZJOB_QUEUED);
        s_put (store, job);
        strcpy (ids [index], job->id);
        zjob_job_destroy (&job);
    }
    s_sync (store);
    zjob_store_destroy (&store);
}


//  One flipped bit in the length of a record in the middle is corruption,
//  whichever bit: the open is refused, naming the offset, and nothing is
//  cut; salvage=truncate keeps the records before it
Test (file_store, length_flip_in_the_middle_is_corruption, .timeout = 60)
{
    char *dir = s_tmpdir ();
    char *journal = s_journal (dir);
    enum { COUNT = 200,
           DAMAGED = 120 };
    char ids [COUNT][ZJOB_ID_LEN + 1];
    s_journal_of (dir, COUNT, ids);
    off_t offsets [COUNT];
    cr_assert_eq (s_record_offsets (journal, offsets, COUNT), COUNT);
    off_t size = s_size (journal);
    for (int bit = 0; bit < 32; bit++) {
        s_flip_bit (journal, offsets [DAMAGED] + bit / 8, bit % 8);
        zjob_error_t err = { 0, "" };
        cr_assert_null (s_try_open (dir, NULL, &err), "bit %d: opened", bit);
        cr_assert_eq (err.code, ZJOB_INTERNAL);
        char *says = zsys_sprintf ("corrupt record at offset %jd (record header CRC mismatch",
                                   (intmax_t) offsets [DAMAGED]);
        cr_assert (strstr (err.text, says), "bit %d: \"%s\" does not say %s", bit, err.text, says);
        zstr_free (&says);
        cr_assert (strstr (err.text, "79 intact records after it"), "bit %d: %s", bit, err.text);
        cr_assert_eq (s_size (journal), size, "bit %d: a refused open cuts nothing", bit);
        s_flip_bit (journal, offsets [DAMAGED] + bit / 8, bit % 8);
    }
    //  salvage=truncate: the records before, and a copy of the whole
    s_flip_bit (journal, offsets [DAMAGED] + 2, 3);
    zjob_store_t *store = s_open (dir, "salvage=truncate");
    cr_assert_eq (zjob_store_count (store), DAMAGED);
    for (int index = 0; index < COUNT; index++)
        cr_assert_eq (s_has (store, ids [index]), index < DAMAGED, "job %d", index);
    zjob_store_destroy (&store);
    char *store_dir = zsys_sprintf ("%s/store", dir);
    char *copy = s_find_file (store_dir, "journal.corrupt-");
    cr_assert_not_null (copy);
    cr_assert_eq (s_size (copy), size);
    zstr_free (&copy);
    zstr_free (&store_dir);
    zstr_free (&journal);
    s_tmpdir_remove (&dir);
}

//  The same flip in the last record is a torn tail: it is cut, the rest
//  kept
Test (file_store, length_flip_in_the_last_record_is_torn)
{
    char *dir = s_tmpdir ();
    char *journal = s_journal (dir);
    enum { COUNT = 20 };
    char ids [COUNT][ZJOB_ID_LEN + 1];
    s_journal_of (dir, COUNT, ids);
    off_t offsets [COUNT];
    cr_assert_eq (s_record_offsets (journal, offsets, COUNT), COUNT);
    for (int bit = 0; bit < 32; bit += 5) {
        s_flip_bit (journal, offsets [COUNT - 1] + bit / 8, bit % 8);
        zjob_store_t *store = s_open (dir, NULL);
        cr_assert_eq (zjob_store_count (store), COUNT - 1, "bit %d", bit);
        cr_assert_not (s_has (store, ids [COUNT - 1]));
        cr_assert_eq (s_size (journal), offsets [COUNT - 1], "bit %d: cut at the last record", bit);
        //  Put the last job back for the next round
        zjob_job_t *job = s_job (COUNT - 1, ZJOB_QUEUED);
        strcpy (ids [COUNT - 1], job->id);
        s_put (store, job);
        zjob_job_destroy (&job);
        s_sync (store);
        zjob_store_destroy (&store);
    }
    zstr_free (&journal);
    s_tmpdir_remove (&dir);
}

//  The last record cut at every byte is a torn tail
Test (file_store, last_record_cut_at_every_byte_is_torn, .timeout = 60)
{
    char *dir = s_tmpdir ();
    char *journal = s_journal (dir);
    enum { COUNT = 10 };
    char ids [COUNT][ZJOB_ID_LEN + 1];
    s_journal_of (dir, COUNT, ids);
    off_t offsets [COUNT];
    cr_assert_eq (s_record_offsets (journal, offsets, COUNT), COUNT);
    off_t size = s_size (journal);
    off_t last = offsets [COUNT - 1];
    uint8_t *record = (uint8_t *) malloc ((size_t) (size - last));
    s_read_at (journal, last, record, (size_t) (size - last));
    for (off_t cut = last + 1; cut < size; cut++) {
        cr_assert_eq (truncate (journal, last), 0);
        s_append (journal, record, (size_t) (cut - last));
        zjob_store_t *store = s_open (dir, NULL);
        cr_assert_eq (zjob_store_count (store), COUNT - 1, "cut at %jd", (intmax_t) cut);
        cr_assert_eq (s_size (journal), last, "cut at %jd", (intmax_t) cut);
        zjob_store_destroy (&store);
    }
    free (record);
    zstr_free (&journal);
    s_tmpdir_remove (&dir);
}


//  --------------------------------------------------------------------------
//  Format 1 journals, as zjob wrote them before the header CRC

//  Append a format 1 record: [length][CRC of the payload][payload]
static void
s_append_v1 (const char *path, const uint8_t *payload, uint32_t length)
{
    uint8_t header [8];
    s_le32 (header, length);
    s_le32 (header + 4, zjob_crc32c (0, payload, length));
    s_append (path, header, 8);
    s_append (path, payload, length);
}

//  A format 1 journal in DIR/store: a PUT of each of count jobs, then a
//  DEL of the first; their ids go to ids, the record offsets to offsets
static void
s_write_v1 (const char *dir, int count, char (*ids) [ZJOB_ID_LEN + 1], off_t *offsets)
{
    char *store_dir = zsys_sprintf ("%s/store", dir);
    cr_assert_eq (mkdir (store_dir, 0700), 0);
    char *journal = s_journal (dir);
    s_append (journal, "ZJOBJNL1", 8);
    for (int index = 0; index < count; index++) {
        zjob_job_t *job = s_job (index, ZJOB_QUEUED);
        strcpy (ids [index], job->id);
        uint8_t *data;
        size_t size;
        cr_assert_eq (zjob_job_encode (job, &data, &size), 0);
        uint8_t *payload = (uint8_t *) malloc (size + 2);
        payload [0] = 0x92;
        payload [1] = 0x01;
        memcpy (payload + 2, data, size);
        offsets [index] = s_size (journal);
        s_append_v1 (journal, payload, (uint32_t) (size + 2));
        free (payload);
        free (data);
        zjob_job_destroy (&job);
    }
    uint8_t del [2 + 1 + ZJOB_ID_LEN] = { 0x92, 0x02, 0xa0 | ZJOB_ID_LEN };
    memcpy (del + 3, ids [0], ZJOB_ID_LEN);
    offsets [count] = s_size (journal);
    s_append_v1 (journal, del, sizeof del);
    zstr_free (&journal);
    zstr_free (&store_dir);
}

//  A journal of the old format opens, keeps every job, and is rewritten
//  in the new format, which then reopens
Test (file_store, format_1_journal_opens_and_is_upgraded)
{
    char *dir = s_tmpdir ();
    char *journal = s_journal (dir);
    enum { COUNT = 50 };
    char ids [COUNT][ZJOB_ID_LEN + 1];
    off_t offsets [COUNT + 1];
    s_write_v1 (dir, COUNT, ids, offsets);
    for (int round = 0; round < 2; round++) {
        zjob_store_t *store = s_open (dir, NULL);
        cr_assert_eq (zjob_store_count (store), COUNT - 1, "round %d", round);
        for (int index = 0; index < COUNT; index++)
            cr_assert_eq (s_has (store, ids [index]), index > 0, "round %d job %d", round, index);
        zjob_store_destroy (&store);
        char magic [8];
        s_read_at (journal, 0, magic, 8);
        cr_assert (memcmp (magic, "ZJOBJNL2", 8) == 0, "rewritten in format 2");
    }
    zstr_free (&journal);
    s_tmpdir_remove (&dir);
}

//  In the old format, a length made to run past the end by one flipped
//  bit was taken for a torn tail and half the journal cut: intact records
//  after it now say it is corruption
Test (file_store, format_1_length_past_the_end_with_records_after_is_corruption)
{
    char *dir = s_tmpdir ();
    char *journal = s_journal (dir);
    enum { COUNT = 100,
           DAMAGED = 30 };
    char ids [COUNT][ZJOB_ID_LEN + 1];
    off_t offsets [COUNT + 1];
    s_write_v1 (dir, COUNT, ids, offsets);
    off_t size = s_size (journal);
    s_flip_bit (journal, offsets [DAMAGED] + 3, 6);  //  The length's high byte
    zjob_error_t err = { 0, "" };
    cr_assert_null (s_try_open (dir, NULL, &err), "a damaged length was taken for a torn tail");
    char *says = zsys_sprintf ("corrupt record at offset %jd (length", (intmax_t) offsets [DAMAGED]);
    cr_assert (strstr (err.text, says), "\"%s\" does not say %s", err.text, says);
    cr_assert (strstr (err.text, "a damaged length"), "%s", err.text);
    zstr_free (&says);
    cr_assert_eq (s_size (journal), size, "nothing cut");
    //  The same flip in the last record is still a torn tail
    s_flip_bit (journal, offsets [DAMAGED] + 3, 6);
    s_flip_bit (journal, offsets [COUNT] + 3, 6);
    zjob_store_t *store = s_open (dir, NULL);
    cr_assert_eq (zjob_store_count (store), COUNT, "the DEL is cut, the first job is back");
    zjob_store_destroy (&store);
    zstr_free (&journal);
    s_tmpdir_remove (&dir);
}
