/*  =========================================================================
    test_zjob_store_file_compact - the file store's compaction

    What a user of the file store counts on while the journal is compacted
    in the background: the journal stays proportional to the live jobs; a
    stale journal.tmp is ignored; puts and syncs go on beside a compaction;
    a process killed at any step of one (the crash-point hook,
    zjob_store_file_crash_at) loses nothing acknowledged; a record damaged
    on the disk makes a compaction fail, not the store. Helpers are in
    test_zjob_store_file.h.
    ========================================================================= */

#include "test_zjob_store_file.h"


//  --------------------------------------------------------------------------
//  Compaction

Test (file_store, compaction_keeps_journal_bounded)
{
    char *dir = s_tmpdir ();
    char *journal = s_journal (dir);
    zjob_store_t *store = s_open (dir, "fsync=never&compact=4k");
    enum { COUNT = 100,
           ROUNDS = 60 };
    zjob_job_t *jobs [COUNT];
    for (int index = 0; index < COUNT; index++) {
        jobs [index] = s_job (index, ZJOB_RUNNING);
        s_put (store, jobs [index]);
    }
    s_sync (store);
    zjob_error_t err = { 0, "" };
    for (int round = 1; round <= ROUNDS; round++) {
        if (round == ROUNDS / 2)
            for (int index = 0; index < COUNT; index += 3)
                cr_assert_eq (zjob_store_remove (store, jobs [index]->id, &err), 0, "%s", err.text);
        for (int index = 0; index < COUNT; index++) {
            if (round >= ROUNDS / 2 && index % 3 == 0)
                continue;
            cr_assert_eq (zjob_job_set_progress (jobs [index], (float) round / ROUNDS, "working", &err),
                          0, "%s", err.text);
            s_put (store, jobs [index]);
        }
        s_settle (store);
        uint64_t live = s_stat (store, "live_bytes");
        uint64_t journal_bytes = s_stat (store, "journal_bytes");
        cr_assert_eq ((uint64_t) s_size (journal), journal_bytes, "round %d", round);
        cr_assert_lt (journal_bytes, 4 * live, "round %d: journal %" PRIu64 " bytes for %" PRIu64 " live bytes", round, journal_bytes, live);
    }
    cr_assert_gt (s_stat (store, "compactions"), 5);
    size_t live_count = zjob_store_count (store);
    cr_assert_eq (live_count, COUNT - (COUNT + 2) / 3);
    zchunk_t *expected [COUNT];
    for (int index = 0; index < COUNT; index++)
        expected [index] = s_encoding (jobs [index]);
    zjob_store_destroy (&store);

    char *tmp = zsys_sprintf ("%s/store/journal.tmp", dir);
    cr_assert_not (zsys_file_exists (tmp), "journal.tmp left behind");
    zstr_free (&tmp);

    store = s_open (dir, NULL);
    cr_assert_eq (zjob_store_count (store), live_count);
    for (int index = 0; index < COUNT; index++) {
        zjob_job_t *job = zjob_store_get (store, jobs [index]->id);
        if (index % 3 == 0)
            cr_assert_null (job, "removed job %d is back", index);
        else {
            cr_assert_not_null (job, "job %d lost", index);
            zchunk_t *got = s_encoding (job);
            cr_assert (s_same (got, expected [index]), "job %d not in its latest state", index);
            cr_assert_float_eq (job->progress, 1.0f, 1e-6);
            zchunk_destroy (&got);
        }
        zjob_job_destroy (&job);
        zchunk_destroy (&expected [index]);
        zjob_job_destroy (&jobs [index]);
    }
    zjob_store_destroy (&store);
    zstr_free (&journal);
    s_tmpdir_remove (&dir);
}

Test (file_store, stale_tmp_is_ignored)
{
    //  A compaction killed before its rename leaves journal.tmp: the
    //  journal is still the whole truth
    char *dir = s_tmpdir ();
    zjob_store_t *store = s_open (dir, NULL);
    char ids [3][ZJOB_ID_LEN + 1];
    s_put_new (store, 0, 3, ids);
    zjob_store_destroy (&store);
    char *tmp = zsys_sprintf ("%s/store/journal.tmp", dir);
    s_append (tmp, "ZJOBJNL1garbage", 15);

    store = s_open (dir, NULL);
    cr_assert_eq (zjob_store_count (store), 3);
    cr_assert_not (zsys_file_exists (tmp));
    zjob_store_destroy (&store);
    zstr_free (&tmp);
    s_tmpdir_remove (&dir);
}


//  --------------------------------------------------------------------------
//  Crash during a compaction: whatever the step, nothing acknowledged is
//  lost and no deleted job comes back

//  Rounds of: three new jobs (n3r, n3r+1, n3r+2, queued, each put four
//  times); the completion
//  of job nr (unless it is one that gets deleted); the deletion of the
//  middle job of the round before. One sync per round, then the round's
//  number goes to the parent. The store compacts when its journal passes
//  twice the live data, on its own thread; the process _exits at step.
static void
s_compact_crash_child (const char *dir, const char *step, int report)
{
    zjob_store_file_crash_at (step);
    zjob_error_t err;
    zjob_store_t *store = s_try_open (dir, "fsync=always&compact=8k", &err);
    if (!store)
        _exit (2);
    enum { ROUNDS = 20000 };
    char (*ids) [ZJOB_ID_LEN + 1] = calloc (3 * ROUNDS, sizeof *ids);
    for (int round = 0; round < ROUNDS; round++) {
        for (int index = 0; index < 3; index++) {
            zjob_job_t *job = s_job (round * 3 + index, ZJOB_QUEUED);
            //  Progress, put by put: the journal outgrows the live data
            for (int put = 0; put < 4; put++) {
                job->attempts = (uint32_t) put;
                if (zjob_store_put (store, job, &err))
                    _exit (3);
            }
            strcpy (ids [round * 3 + index], job->id);
            zjob_job_destroy (&job);
        }
        if (round % 3 != 1) {
            zjob_job_t *job = zjob_store_get (store, ids [round]);
            if (!job)
                _exit (4);
            job->status = ZJOB_COMPLETED;
            job->completed_at = round + 1;
            if (zjob_store_put (store, job, &err))
                _exit (3);
            zjob_job_destroy (&job);
        }
        if (round > 0 && zjob_store_remove (store, ids [(round - 1) * 3 + 1], &err))
            _exit (4);
        if (zjob_store_sync (store, &err))
            _exit (5);
        int32_t synced = round;
        if (write (report, &synced, sizeof synced) != sizeof synced)
            _exit (6);
    }
    _exit (0);
}

static void
s_compact_crash (const char *step)
{
    char *dir = s_tmpdir ();
    int reports [2];
    cr_assert_eq (pipe (reports), 0);
    pid_t pid = fork ();
    cr_assert_geq (pid, 0, "fork: %s", strerror (errno));
    if (pid == 0) {
        close (reports [0]);
        s_compact_crash_child (dir, step, reports [1]);
    }
    close (reports [1]);
    //  Every round the child reports was synced; it ends at step
    int32_t round, acked = -1;
    while (read (reports [0], &round, sizeof round) == sizeof round)
        acked = round;
    close (reports [0]);
    int status;
    cr_assert_eq (waitpid (pid, &status, 0), pid);
    cr_assert (WIFEXITED (status) && WEXITSTATUS (status) == ZJOB_STORE_FILE_CRASH_STATUS,
               "%s: the child did not stop there (status %d, %d rounds)", step, status, acked + 1);
    cr_assert_geq (acked, 0, "%s: nothing synced", step);

    zjob_store_t *store = s_open (dir, NULL);
    char *tmp = zsys_sprintf ("%s/store/journal.tmp", dir);
    cr_assert_not (zsys_file_exists (tmp), "%s: journal.tmp left after the open", step);
    zstr_free (&tmp);
    size_t size = 3 * ((size_t) acked + 2);
    s_found_t found = {
        .status = (uint8_t *) calloc (size, 1),
        .completed_at = (int64_t *) calloc (size, sizeof (int64_t)),
        .size = size
    };
    zjob_store_iterate (store, NULL, s_found_visit, &found);
    int rounds = acked + 1;  //  Rounds 0..acked were synced
    for (int number = 0; number < 3 * rounds; number++) {
        bool deleted = number % 3 == 1 && number / 3 + 1 < rounds;
        if (deleted) {
            cr_assert_not (found.status [number], "%s: deleted job n%d is back", step, number);
            continue;
        }
        if (number % 3 == 1 && number / 3 + 1 == rounds)
            continue;  //  Its deletion may or may not be there
        cr_assert (found.status [number], "%s: synced job n%d lost (%d rounds synced)",
                   step, number, rounds);
        if (number < rounds && number % 3 != 1) {
            cr_assert_eq (found.status [number] - 1, ZJOB_COMPLETED, "%s: job n%d", step, number);
            cr_assert_eq (found.completed_at [number], number + 1, "%s: job n%d", step, number);
        }
    }
    free (found.status);
    free (found.completed_at);
    //  The store goes on from there, and compacts again
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}

Test (file_store, crash_at_compaction_start, .timeout = 60)
{
    s_compact_crash ("started");
}
Test (file_store, crash_after_compaction_scan, .timeout = 60)
{
    s_compact_crash ("scanned");
}
Test (file_store, crash_after_compaction_write, .timeout = 60)
{
    s_compact_crash ("written");
}
Test (file_store, crash_after_compaction_sync, .timeout = 60)
{
    s_compact_crash ("synced");
}
Test (file_store, crash_in_compaction_tail, .timeout = 60)
{
    s_compact_crash ("tail");
}
Test (file_store, crash_after_compaction_rename, .timeout = 60)
{
    s_compact_crash ("renamed");
}
Test (file_store, crash_after_compaction_switch, .timeout = 60)
{
    s_compact_crash ("switched");
}

//  A compaction runs on its own thread: while it runs, puts and syncs go
//  on into the old journal, and what they did is in the new one
Test (file_store, compaction_runs_beside_puts_and_syncs)
{
    char *dir = s_tmpdir ();
    zjob_store_t *store = s_open (dir, "fsync=never&compact=4k");
    enum { COUNT = 2000 };
    zjob_job_t *jobs [COUNT];
    for (int index = 0; index < COUNT; index++) {
        jobs [index] = s_job (index, ZJOB_QUEUED);
        s_put (store, jobs [index]);
    }
    s_sync (store);
    //  Churn until a compaction is under way, then change every job while
    //  it runs (it may finish at any point of this)
    int64_t deadline = zclock_mono () + 20000;
    uint64_t compactions = s_stat (store, "compactions");
    for (int index = 0; !s_stat (store, "compacting"); index = (index + 1) % COUNT) {
        cr_assert_lt (zclock_mono (), deadline, "no compaction started");
        cr_assert_eq (s_stat (store, "compactions"), compactions, "it ran without a thread");
        jobs [index]->attempts++;
        s_put (store, jobs [index]);
        if (index % 100 == 99)
            s_sync (store);
    }
    zjob_error_t err;
    for (int index = 0; index < COUNT; index++) {
        if (index % 2) {
            jobs [index]->status = ZJOB_COMPLETED;
            jobs [index]->completed_at = 1000 + index;
            s_put (store, jobs [index]);
        }
        else
            cr_assert_eq (zjob_store_remove (store, jobs [index]->id, &err), 0);
        if (index % 100 == 99)
            s_sync (store);
    }
    s_settle (store);
    cr_assert_gt (s_stat (store, "compactions"), compactions);
    zjob_store_destroy (&store);
    store = s_open (dir, NULL);
    cr_assert_eq (zjob_store_count (store), COUNT / 2);
    for (int index = 0; index < COUNT; index++) {
        zjob_job_t *job = zjob_store_get (store, jobs [index]->id);
        if (index % 2) {
            cr_assert_not_null (job, "job %d lost", index);
            cr_assert_eq (job->status, ZJOB_COMPLETED);
            cr_assert_eq (job->completed_at, 1000 + index);
        }
        else
            cr_assert_null (job, "deleted job %d is back", index);
        zjob_job_destroy (&job);
        zjob_job_destroy (&jobs [index]);
    }
    zjob_store_destroy (&store);
    s_tmpdir_remove (&dir);
}

//  A record damaged on the disk after the open makes a compaction fail
//  (it never copies damage into a new journal): the store goes on with
//  its journal, and the next open reports the damage
Test (file_store, compaction_of_a_damaged_journal_fails_safely)
{
    char *dir = s_tmpdir ();
    char *journal = s_journal (dir);
    zjob_store_t *store = s_open (dir, "fsync=never&compact=4k");
    enum { COUNT = 200 };
    zjob_job_t *jobs [COUNT];
    for (int index = 0; index < COUNT; index++) {
        jobs [index] = s_job (index, ZJOB_QUEUED);
        s_put (store, jobs [index]);
    }
    s_sync (store);
    off_t offsets [COUNT];
    cr_assert_eq (s_record_offsets (journal, offsets, COUNT), COUNT);
    s_flip_bit (journal, offsets [COUNT / 2] + S_HEADER + 5, 2);
    //  Churn until a compaction has started and ended
    int64_t deadline = zclock_mono () + 20000;
    bool started = false;
    for (int index = 0; !started || s_stat (store, "compacting"); index = (index + 1) % COUNT) {
        cr_assert_lt (zclock_mono (), deadline, "no compaction came and went");
        jobs [index]->attempts++;
        s_put (store, jobs [index]);
        s_sync (store);
        started = started || s_stat (store, "compacting");
    }
    cr_assert_eq (s_stat (store, "compactions"), 0, "a damaged journal was compacted");
    char *tmp = zsys_sprintf ("%s/store/journal.tmp", dir);
    cr_assert_not (zsys_file_exists (tmp), "journal.tmp left behind");
    zstr_free (&tmp);
    s_put (store, jobs [0]);
    s_sync (store);
    zjob_store_destroy (&store);
    zjob_error_t err = { 0, "" };
    cr_assert_null (s_try_open (dir, NULL, &err), "the damage was hidden");
    char *says = zsys_sprintf ("offset %jd (crc mismatch)", (intmax_t) offsets [COUNT / 2]);
    cr_assert (strstr (err.text, says), "\"%s\" does not say %s", err.text, says);
    zstr_free (&says);
    for (int index = 0; index < COUNT; index++)
        zjob_job_destroy (&jobs [index]);
    zstr_free (&journal);
    s_tmpdir_remove (&dir);
}
