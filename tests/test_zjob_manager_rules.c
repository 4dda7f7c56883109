/*  =========================================================================
    test_zjob_manager_rules - the manager's counts, cleanup, refused puts,
    recovery, and the job rules of zjob_manager_rules.c

    Split from test_zjob_manager.c (same helpers, helper_zjob_manager.h):
    per-workflow counts after every operation, cleanup of old terminal
    jobs, a store that refuses puts, recovery over a file store, SUBMIT's
    idempotency, bulk operations, a lost worker's jobs, whose result counts.
    ========================================================================= */

#include "helper_zjob_manager.h"


//  --------------------------------------------------------------------------
//  Counts per workflow

#define TALLY_WORKFLOWS 5
static const char *s_tally_names [TALLY_WORKFLOWS] = { "w0", "w1", "w2", "w3", "w4" };

static int
s_tally_index (const char *workflow)
{
    for (int index = 0; index < TALLY_WORKFLOWS; index++)
        if (streq (s_tally_names [index], workflow))
            return index;
    cr_assert_fail ("unexpected workflow %s", workflow);
    return -1;
}

typedef struct {
    size_t counts [TALLY_WORKFLOWS][ZJOB_STATUS_COUNT];
    bool seen [TALLY_WORKFLOWS];
} s_tally_t;

static int
s_recount_visit (zjob_job_t *job, void *arg)
{
    s_tally_t *tally = (s_tally_t *) arg;
    int index = s_tally_index (job->workflow_id);
    tally->counts [index][job->status]++;
    tally->seen [index] = true;
    return 0;
}

static void
s_tally_heard (const char *workflow_id, const size_t counts [ZJOB_STATUS_COUNT], void *arg)
{
    s_tally_t *tally = (s_tally_t *) arg;
    int index = s_tally_index (workflow_id);
    cr_assert_not (tally->seen [index], "workflow %s heard twice", workflow_id);
    tally->seen [index] = true;
    size_t total = 0;
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++) {
        tally->counts [index][status] = counts [status];
        total += counts [status];
    }
    cr_assert_gt (total, 0, "workflow %s heard with no jobs", workflow_id);
}

//  The manager's counts per workflow equal a full recount of the store,
//  and add up to zjob_manager_counts
static void
s_assert_tallies (zjob_manager_t *manager, const char *when)
{
    s_tally_t recount, heard;
    memset (&recount, 0, sizeof (recount));
    memset (&heard, 0, sizeof (heard));
    zjob_store_iterate (zjob_manager_store (manager), NULL, s_recount_visit, &recount);
    int workflows = zjob_manager_workflow_counts (manager, s_tally_heard, &heard);
    size_t expected = 0;
    for (int index = 0; index < TALLY_WORKFLOWS; index++)
        expected += recount.seen [index];
    cr_assert_eq ((size_t) workflows, expected, "%s: %d workflows, not %zu", when,
                  workflows, expected);
    cr_assert_eq (zjob_manager_workflows (manager), expected, "%s", when);
    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++) {
        size_t sum = 0;
        for (int index = 0; index < TALLY_WORKFLOWS; index++) {
            cr_assert_eq (heard.counts [index][status], recount.counts [index][status],
                          "%s: workflow %s, %s: %zu counted, %zu stored", when,
                          s_tally_names [index], zjob_status_name ((zjob_status_t) status),
                          heard.counts [index][status], recount.counts [index][status]);
            sum += heard.counts [index][status];
        }
        cr_assert_eq (sum, counts [status], "%s: %s", when,
                      zjob_status_name ((zjob_status_t) status));
    }
    s_assert_counts (manager);
}

Test (manager, workflow_counts_follow_every_operation, .fini = s_tmpdir_fini)
{
#define TALLY_IDS 1200
    s_dir = s_tmpdir ();
    zjob_manager_t *manager = s_manager_over (s_file_store (s_dir), 0);
    s_assert_tallies (manager, "empty");
    char (*ids) [ZJOB_ID_LEN + 1] = calloc (TALLY_IDS, ZJOB_ID_LEN + 1);
    cr_assert_not_null (ids);
    size_t id_count = 0;
    unsigned seed = 4242;
    int64_t now = zjob_clock_ms ();
    int reopened = 0, cleaned = 0;
    bool reached [ZJOB_STATUS_COUNT] = { false };
    size_t counts [ZJOB_STATUS_COUNT];
    for (int step = 0; step < 3000; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 8;
        const char *workflow = s_tally_names [r % TALLY_WORKFLOWS];
        const char *id = id_count ? ids [(r / 7) % id_count] : "none";
        const char *worker = (r / 3) % 2 ? "wa" : "wb";
        unsigned op = (r / 11) % 100;
        zjob_error_t err = { 0, "" };
        if (op < 25 && id_count < TALLY_IDS - 3) {
            zjob_spec_t spec = s_spec (workflow, (zjob_priority_t) ((r / 5) % 4));
            //  Some wait for their run_at (the scheduled set)
            if (op < 4)
                spec.run_at = now + 3600 * 1000;
            if (op % 5 == 0) {
                zjob_spec_t specs [3] = { spec, s_spec (s_tally_names [(r / 13) % TALLY_WORKFLOWS], ZJOB_PRIORITY_MEDIUM), spec };
                zjob_job_t *made [3];
                cr_assert_eq (zjob_manager_create_batch (manager, specs, 3, op % 2, made, &err),
                              0, "%s", err.text);
                for (int index = 0; index < 3; index++) {
                    strcpy (ids [id_count++], made [index]->id);
                    zjob_job_destroy (&made [index]);
                }
            }
            else
                s_create (manager, workflow, (zjob_priority_t) ((r / 5) % 4), op % 2,
                          ids [id_count++]);
        }
        else if (op < 35)
            zjob_manager_start (manager, id, &err);
        else if (op < 50) {
            zjob_job_t *job = zjob_manager_take (manager, NULL, 0, worker);
            zjob_job_destroy (&job);
        }
        else if (op < 60)
            zjob_manager_complete (manager, id, worker, s_outputs, sizeof (s_outputs), &err);
        else if (op < 65)
            zjob_manager_fail (manager, id, worker, "boom", "it broke", &err);
        else if (op < 68)
            zjob_manager_finish (manager, id, worker, NULL, 0, r % 2, s_outputs,
                                 sizeof (s_outputs), "boom", "late", &err);
        else if (op < 72)
            zjob_manager_pause (manager, id, &err);
        else if (op < 76)
            zjob_manager_resume (manager, id, &err);
        else if (op < 81)
            zjob_manager_cancel (manager, id, &err);
        else if (op < 84)
            zjob_manager_requeue (manager, id, &err);
        else if (op < 86) {
            zjob_job_t *job = zjob_manager_adopt (manager, id, worker, &err);
            zjob_job_destroy (&job);
        }
        else if (op < 94)
            zjob_manager_delete (manager, id, &err);
        else if (op < 96) {
            //  Far enough ahead that every terminal job has expired
            int deleted = zjob_manager_cleanup (manager, now + 3 * ZJOB_RETENTION_DEFAULT_MS, &err);
            cr_assert_geq (deleted, 0, "%s", err.text);
            cleaned += deleted;
        }
        else if (op < 97 || step == 1500) {
            //  Recovery: running jobs go back to the queue, held paused
            //  ones are let go, and the counts are rebuilt from the store
            s_assert_tallies (manager, "before reopening");
            zjob_manager_destroy (&manager);
            manager = s_manager_over (s_file_store (s_dir), 0);
            reopened++;
            s_assert_tallies (manager, "after reopening");
        }
        else
            zjob_manager_promote (manager, now + 7200 * 1000);
        if (step % 100 == 0)
            s_assert_tallies (manager, "during the run");
        zjob_manager_counts (manager, counts);
        for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
            reached [status] |= counts [status] > 0;
    }
    s_assert_tallies (manager, "at the end");
    cr_assert_gt (reopened, 2);
    cr_assert_gt (cleaned, 0);
    //  Every status was reached on the way
    //  (but waiting, which only a job with parents reaches: test_zjob_deps)
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
        cr_assert (reached [status] || status == ZJOB_WAITING, "no job was %s",
                   zjob_status_name ((zjob_status_t) status));

    //  A workflow whose last job goes is dropped
    for (size_t index = 0; index < id_count; index++)
        zjob_manager_delete (manager, ids [index], NULL);
    s_assert_tallies (manager, "all deleted");
    cr_assert_eq (zjob_manager_workflows (manager), 0);
    free (ids);
    zjob_manager_destroy (&manager);
#undef TALLY_IDS
}

//  A create the store refuses leaves no workflow behind
Test (manager, workflow_counts_after_refused_creates)
{
    s_flaky_t *flaky;
    zjob_manager_t *manager = s_manager_over (s_flaky_new (&flaky), 0);
    char id [ZJOB_ID_LEN + 1];
    s_create (manager, "w0", ZJOB_PRIORITY_MEDIUM, true, id);
    flaky->refuse_put = true;
    zjob_spec_t specs [2] = { s_spec ("w1", ZJOB_PRIORITY_MEDIUM),
                              s_spec ("w0", ZJOB_PRIORITY_HIGH) };
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_manager_create (manager, &specs [0], true, &err);
    cr_assert_null (job);
    zjob_job_t *made [2];
    cr_assert_eq (zjob_manager_create_batch (manager, specs, 2, false, made, &err), -1);
    s_assert_tallies (manager, "refused");
    cr_assert_eq (zjob_manager_workflows (manager), 1);
    flaky->refuse_put = false;
    cr_assert_eq (zjob_manager_create_batch (manager, specs, 2, false, made, &err), 0, "%s",
                  err.text);
    zjob_job_destroy (&made [0]);
    zjob_job_destroy (&made [1]);
    s_assert_tallies (manager, "accepted");
    cr_assert_eq (zjob_manager_workflows (manager), 2);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  Cleanup

Test (manager, cleanup_only_old_terminal_jobs)
{
    const int64_t retention = 60 * 1000;
    int64_t now = zjob_clock_ms ();
    //  Old and recent jobs of every status, put into the store directly
    zjob_store_t *store = zjob_store_memory_new ();
    char ids [ZJOB_STATUS_COUNT][2][ZJOB_ID_LEN + 1];
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++) {
        for (int old = 0; old < 2; old++) {
            zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_LOW);
            zjob_error_t err = { 0, "" };
            zjob_job_t *job = zjob_job_new (&spec, &err);
            cr_assert_not_null (job);
            job->status = (uint8_t) status;
            job->held = status == ZJOB_RUNNING;
            //  Non-terminal jobs too carry an old date, to show it is ignored
            job->completed_at = old ? now - 2 * retention : now - retention / 2;
            job->created_at = job->updated_at = job->completed_at - 1000;
            strcpy (ids [status][old], job->id);
            cr_assert_eq (zjob_store_put (store, job, &err), 0);
            zjob_job_destroy (&job);
        }
    }
    zjob_manager_config_t config = { .retention_ms = retention };
    zjob_error_t err = { 0, "" };
    zjob_manager_t *manager = zjob_manager_new (&store, &config, &err);
    cr_assert_not_null (manager, "%s", err.text);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);

    cr_assert_eq (zjob_manager_cleanup (manager, now, &err), 3, "%s", err.text);
    cr_assert_eq (log.count, 3);
    for (size_t index = 0; index < log.count; index++) {
        cr_assert_eq (log.heard [index].event, ZJOB_EVENT_DELETED);
        cr_assert (zjob_status_terminal (log.heard [index].status));
    }
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++) {
        bool terminal = zjob_status_terminal ((zjob_status_t) status);
        cr_assert_eq (zjob_manager_status (manager, ids [status][1], NULL) < 0, terminal,
                      "old %s job", zjob_status_name (status));
        cr_assert_geq (zjob_manager_status (manager, ids [status][0], NULL), 0,
                       "recent %s job", zjob_status_name (status));
    }
    cr_assert_eq (zjob_store_count (zjob_manager_store (manager)), 2 * ZJOB_STATUS_COUNT - 3);
    s_assert_counts (manager);

    //  Nothing more to do now; an hour later the rest of the terminal jobs go
    cr_assert_eq (zjob_manager_cleanup (manager, now, &err), 0);
    cr_assert_eq (zjob_manager_cleanup (manager, now + 3600 * 1000, &err), 3);
    cr_assert_eq (zjob_store_count (zjob_manager_store (manager)), 2 * ZJOB_STATUS_COUNT - 6);
    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    cr_assert_eq (counts [ZJOB_COMPLETED] + counts [ZJOB_FAILED] + counts [ZJOB_CANCELLED], 0);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

//  Cleanup in bounded steps: oldest first, at most max per call, stale
//  entries (jobs deleted since) skipped, live jobs never touched
Test (manager, cleanup_steps_are_bounded_and_oldest_first)
{
    zjob_manager_config_t config = { .retention_ms = 1 };  //  Retention: 1 ms
    zjob_error_t err = { 0, "" };
    zjob_manager_t *manager = zjob_manager_new (&(zjob_store_t *){ zjob_store_memory_new () },
                                                &config, &err);
    cr_assert_not_null (manager, "%s", err.text);
    //  2,500 jobs finish first, 2,500 later; 10 of the first are deleted
    //  by hand; a queued, a running and a paused job stay
    char first [2500][ZJOB_ID_LEN + 1];
    for (int batch = 0; batch < 2; batch++) {
        for (int index = 0; index < 2500; index++) {
            zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_LOW);
            zjob_job_t *job = zjob_manager_create (manager, &spec, false, &err);
            cr_assert_not_null (job, "%s", err.text);
            cr_assert_eq (zjob_manager_cancel (manager, job->id, &err), 0, "%s", err.text);
            if (batch == 0)
                strcpy (first [index], job->id);
            zjob_job_destroy (&job);
        }
        if (batch == 0)
            s_let_time_pass (2);
    }
    for (int index = 0; index < 10; index++)
        cr_assert_eq (zjob_manager_delete (manager, first [index * 7], &err), 0);
    char id [ZJOB_ID_LEN + 1];
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, id);
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, id);
    s_take (manager, "w1", id);
    cr_assert_eq (zjob_manager_pause (manager, id, &err), 0, "%s", err.text);
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, id);
    s_take (manager, "w1", id);

    //  A "now" between the two batches: only the first goes
    zjob_job_t *last = zjob_manager_get (manager, first [2499], &err);
    cr_assert_not_null (last);
    int64_t between = last->completed_at + 1 + 1;  //  before = completed_at + 1
    zjob_job_destroy (&last);
    size_t deleted = 0;
    int steps = 0;
    int rc;
    while ((rc = zjob_manager_cleanup_step (manager, between, 1000, &deleted, &err)) > 0) {
        steps++;
        cr_assert_leq (deleted, (size_t) steps * 1000, "at most max per call");
    }
    cr_assert_eq (rc, 0, "%s", err.text);
    cr_assert_eq (deleted, 2490);
    cr_assert_eq (steps, 2, "2,500 entries, 1,000 a call: 3 calls");
    for (int index = 0; index < 2500; index++)
        cr_assert_lt (zjob_manager_status (manager, first [index], NULL), 0);
    cr_assert_eq (zjob_manager_stored (manager), 2503);
    s_assert_counts (manager);
    //  Later, the rest; the live jobs stay
    deleted = 0;
    cr_assert_eq (zjob_manager_cleanup_step (manager, zjob_clock_ms () + 10, 3000, &deleted,
                                             &err),
                  0);
    cr_assert_eq (deleted, 2500);
    cr_assert_eq (zjob_manager_stored (manager), 3);
    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    cr_assert_eq (counts [ZJOB_QUEUED], 1);
    cr_assert_eq (counts [ZJOB_RUNNING], 1);
    cr_assert_eq (counts [ZJOB_PAUSED], 1);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, cleanup_default_retention)
{
    zjob_manager_t *manager = s_manager (0);
    char id [ZJOB_ID_LEN + 1];
    s_create (manager, "w", ZJOB_PRIORITY_LOW, false, id);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_cancel (manager, id, &err), 0);
    int64_t now = zjob_clock_ms ();
    cr_assert_eq (zjob_manager_cleanup (manager, now + ZJOB_RETENTION_DEFAULT_MS - 1000, &err), 0);
    cr_assert_eq (zjob_manager_cleanup (manager, now + ZJOB_RETENTION_DEFAULT_MS + 1000, &err), 1);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  A store that refuses: nothing changes

Test (manager, refused_put_changes_nothing)
{
    s_flaky_t *flaky;
    zjob_manager_t *manager = s_manager_over (s_flaky_new (&flaky), 0);
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, a);
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, b);
    s_take (manager, "w1", id);
    cr_assert_str_eq (id, a);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    zjob_error_t err = { 0, "" };

    flaky->refuse_put = true;
    //  A take the store refuses gives nothing and leaves b queued
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w2"));
    zjob_job_t *job = s_get (manager, b);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_eq (job->attempts, 0);
    cr_assert_null (job->worker_id);
    cr_assert_eq (job->started_at, 0);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    cr_assert_eq (zjob_manager_active (manager), 1);

    //  Complete, fail, pause, cancel, requeue, progress all refused
    job = s_get (manager, a);
    int64_t updated_at = job->updated_at;
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_complete (manager, a, "w1", s_outputs, sizeof (s_outputs), &err), -1);
    cr_assert_eq (err.code, ZJOB_INTERNAL);
    cr_assert_eq (zjob_manager_fail (manager, a, "w1", "k", "m", &err), -1);
    cr_assert_eq (zjob_manager_progress (manager, a, "w1", 0.5f, "half", &err), -1);
    cr_assert_eq (zjob_manager_pause (manager, a, &err), -1);
    cr_assert_eq (zjob_manager_cancel (manager, a, &err), -1);
    cr_assert_eq (zjob_manager_requeue (manager, a, &err), -1);
    cr_assert_eq (zjob_manager_pause (manager, b, &err), -1);
    cr_assert_eq (zjob_manager_delete (manager, b, &err), -1);
    job = s_get (manager, a);
    cr_assert_eq (job->status, ZJOB_RUNNING);
    cr_assert_eq (job->held, 1);
    cr_assert_eq (job->outputs.size, 0);
    cr_assert_null (job->error_kind);
    cr_assert_null (job->progress_message);
    cr_assert_float_eq (job->progress, 0.0f, 1e-6);
    cr_assert_eq (job->completed_at, 0);
    cr_assert_eq (job->updated_at, updated_at);
    cr_assert_str_eq (job->worker_id, "w1");
    zjob_job_destroy (&job);
    cr_assert_eq (s_status (manager, b), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_active (manager), 1);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    cr_assert_eq (log.count, 0, "nothing heard");
    s_assert_counts (manager);

    //  A refused remove: the cancelled job stays (cancelled), not heard deleted
    flaky->refuse_put = false;
    flaky->refuse_remove = true;
    cr_assert_eq (zjob_manager_delete (manager, b, &err), -1);
    cr_assert_eq (s_status (manager, b), ZJOB_CANCELLED);
    cr_assert_eq (zjob_manager_queued (manager), 0);
    flaky->refuse_remove = false;

    //  Accepted again: the same calls work
    cr_assert_eq (zjob_manager_complete (manager, a, "w1", s_outputs, sizeof (s_outputs), &err), 0,
                  "%s", err.text);
    cr_assert_eq (zjob_manager_active (manager), 0);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, recovery_put_refused)
{
    s_flaky_t *flaky;
    zjob_store_t *store = s_flaky_new (&flaky);
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_LOW);
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_job_new (&spec, &err);
    job->status = ZJOB_RUNNING;
    job->held = 1;
    job->attempts = 1;
    cr_assert_eq (zjob_store_put (store, job, &err), 0);
    zjob_job_destroy (&job);
    flaky->refuse_put = true;
    zjob_manager_t *manager = zjob_manager_new (&store, NULL, &err);
    cr_assert_null (manager);
    cr_assert_null (store, "the store is the manager's either way");
    cr_assert_eq (err.code, ZJOB_INTERNAL);
}


//  --------------------------------------------------------------------------
//  Recovery from a file store

Test (manager, recovery_after_crash, .fini = s_tmpdir_fini)
{
    char *dir = s_dir = s_tmpdir ();
    char c1 [ZJOB_ID_LEN + 1], h1 [ZJOB_ID_LEN + 1], h2 [ZJOB_ID_LEN + 1];
    char m1 [ZJOB_ID_LEN + 1], l1 [ZJOB_ID_LEN + 1], y1 [ZJOB_ID_LEN + 1];
    char done [ZJOB_ID_LEN + 1], created [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };

    zjob_manager_t *manager = s_manager_over (s_file_store (dir), 0);
    s_create (manager, "x", ZJOB_PRIORITY_LOW, true, l1);
    s_create (manager, "x", ZJOB_PRIORITY_MEDIUM, true, m1);
    s_create (manager, "x", ZJOB_PRIORITY_HIGH, true, h1);
    s_create (manager, "x", ZJOB_PRIORITY_CRITICAL, true, c1);
    s_create (manager, "x", ZJOB_PRIORITY_HIGH, true, h2);
    s_create (manager, "x", ZJOB_PRIORITY_HIGH, true, done);
    s_create (manager, "x", ZJOB_PRIORITY_LOW, false, created);
    s_take (manager, "w1", id);
    cr_assert_str_eq (id, c1);
    s_take (manager, "w1", id);
    cr_assert_str_eq (id, h1);
    s_take (manager, "w1", id);
    cr_assert_str_eq (id, h2);
    s_take (manager, "w1", id);
    cr_assert_str_eq (id, done);
    cr_assert_eq (zjob_manager_complete (manager, done, "w1", s_outputs, sizeof (s_outputs), &err), 0);
    cr_assert_eq (zjob_manager_pause (manager, h2, &err), 0);
    cr_assert_eq (zjob_manager_progress (manager, h1, "w1", 0.5f, "half", &err), 0);
    //  A medium job of another workflow, taken later than m1 was queued:
    //  it goes back ahead of m1
    s_create (manager, "y", ZJOB_PRIORITY_MEDIUM, true, y1);
    const char *only_y [] = { "y" };
    zjob_job_t *job = zjob_manager_take (manager, only_y, 1, "w2");
    cr_assert_not_null (job);
    cr_assert_str_eq (job->id, y1);
    zjob_job_destroy (&job);

    //  The process dies: what was written is synced, nothing completes
    cr_assert_eq (zjob_manager_sync (manager, &err), 0, "%s", err.text);
    zjob_manager_destroy (&manager);

    manager = s_manager_over (s_file_store (dir), 0);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    cr_assert_eq (zjob_manager_active (manager), 0);
    cr_assert_eq (zjob_manager_queued (manager), 5);
    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    cr_assert_eq (counts [ZJOB_QUEUED], 5);
    cr_assert_eq (counts [ZJOB_PAUSED], 1);
    cr_assert_eq (counts [ZJOB_COMPLETED], 1);
    cr_assert_eq (counts [ZJOB_CREATED], 1);
    cr_assert_eq (counts [ZJOB_RUNNING], 0);
    s_assert_counts (manager);

    //  Running jobs are queued again, attempts as counted at dispatch
    job = s_get (manager, h1);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_eq (job->held, 0);
    cr_assert_eq (job->attempts, 1);
    cr_assert_float_eq (job->progress, 0.5f, 1e-6);
    zjob_job_destroy (&job);
    //  The held paused job stays paused, let go
    job = s_get (manager, h2);
    cr_assert_eq (job->status, ZJOB_PAUSED);
    cr_assert_eq (job->held, 0);
    zjob_job_destroy (&job);
    job = zjob_manager_results (manager, done, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (job->outputs.size, sizeof (s_outputs));
    zjob_job_destroy (&job);

    //  Taken again in priority order, recovered ones ahead in their priority
    const char *order [] = { c1, h1, y1, m1, l1 };
    for (int index = 0; index < 5; index++) {
        job = zjob_manager_take (manager, NULL, 0, "w3");
        cr_assert_not_null (job, "take %d", index);
        cr_assert_str_eq (job->id, order [index], "take %d", index);
        bool was_running = index < 3;
        cr_assert_eq (job->attempts, was_running ? 2 : 1, "take %d", index);
        s_assert_heard (&log, index, ZJOB_EVENT_STATUS, order [index], ZJOB_QUEUED, ZJOB_RUNNING);
        zjob_job_destroy (&job);
    }
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w3"));
    cr_assert_eq (zjob_manager_resume (manager, h2, &err), 0, "%s", err.text);
    s_assert_heard (&log, 5, ZJOB_EVENT_STATUS, h2, ZJOB_PAUSED, ZJOB_QUEUED);
    s_take (manager, "w3", id);
    cr_assert_str_eq (id, h2);
    cr_assert_eq (zjob_manager_complete (manager, h2, "w3", s_outputs, sizeof (s_outputs), &err), 0);
    s_assert_heard (&log, 6, ZJOB_EVENT_STATUS, h2, ZJOB_QUEUED, ZJOB_RUNNING);
    s_assert_heard (&log, 7, ZJOB_EVENT_STATUS, h2, ZJOB_RUNNING, ZJOB_COMPLETED);
    cr_assert_eq (log.count, 8);

    //  A second crash: the five taken again are all queued again. Among
    //  jobs put back, the order is (priority, last enqueue, id): y1 was
    //  last enqueued by the first recovery, after m1, so m1 now goes first
    zjob_manager_destroy (&manager);
    manager = s_manager_over (s_file_store (dir), 0);
    cr_assert_eq (zjob_manager_active (manager), 0);
    cr_assert_eq (zjob_manager_queued (manager), 5);
    cr_assert_eq (s_status (manager, h2), ZJOB_COMPLETED);
    cr_assert_eq (s_status (manager, created), ZJOB_CREATED);
    zjob_manager_counts (manager, counts);
    cr_assert_eq (counts [ZJOB_RUNNING], 0);
    cr_assert_eq (counts [ZJOB_QUEUED], 5);
    s_assert_counts (manager);
    const char *order2 [] = { c1, h1, m1, y1, l1 };
    const uint32_t attempts2 [] = { 3, 3, 2, 3, 2 };
    for (int index = 0; index < 5; index++) {
        job = zjob_manager_take (manager, NULL, 0, "w4");
        cr_assert_not_null (job, "take %d", index);
        cr_assert_str_eq (job->id, order2 [index], "take %d", index);
        cr_assert_eq (job->attempts, attempts2 [index], "take %d", index);
        zjob_job_destroy (&job);
    }
    zjob_manager_destroy (&manager);
}

Test (manager, recovery_queue_order, .fini = s_tmpdir_fini)
{
    //  Queued jobs come back in (priority, queued_at, id) order, whatever
    //  order the store visits them in
    char *dir = s_dir = s_tmpdir ();
    zjob_manager_t *manager = s_manager_over (s_file_store (dir), 0);
    srand (7);
    for (int index = 0; index < 200; index++) {
        char id [ZJOB_ID_LEN + 1];
        s_create (manager, index % 2 ? "a" : "b", (zjob_priority_t) (rand () % 4), true, id);
    }
    zjob_manager_destroy (&manager);
    manager = s_manager_over (s_file_store (dir), 0);
    cr_assert_eq (zjob_manager_queued (manager), 200);
    int last_priority = ZJOB_PRIORITY_CRITICAL + 1;
    char last_id [ZJOB_ID_LEN + 1] = "";
    zjob_job_t *job;
    size_t taken = 0;
    while ((job = zjob_manager_take (manager, NULL, 0, "w"))) {
        cr_assert_leq (job->priority, last_priority);
        if (job->priority == last_priority)
            cr_assert_lt (strcmp (last_id, job->id), 0);
        last_priority = job->priority;
        strcpy (last_id, job->id);
        taken++;
        zjob_job_destroy (&job);
    }
    cr_assert_eq (taken, 200);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  The job rules the broker used to keep around the manager: SUBMIT's
//  idempotency, bulk operations, a lost worker's jobs

Test (manager, submit_one_with_and_without_key)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_MEDIUM);
    spec.idempotency_key = "order-1";
    zjob_job_t *jobs [1] = { NULL };
    uint64_t existing [1];
    size_t existing_count = 99;
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_submit (manager, &spec, 1, true, jobs, existing,
                                       &existing_count, &err),
                  1, "%s", err.text);
    cr_assert_eq (existing_count, 0);
    char id [ZJOB_ID_LEN + 1];
    strcpy (id, jobs [0]->id);
    zjob_job_destroy (&jobs [0]);
    //  The same key again: the same job, nothing created
    cr_assert_eq (zjob_manager_submit (manager, &spec, 1, true, jobs, existing,
                                       &existing_count, &err),
                  0);
    cr_assert_str_eq (jobs [0]->id, id);
    cr_assert_eq (existing_count, 1);
    cr_assert_eq (existing [0], 0);
    zjob_job_destroy (&jobs [0]);
    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    cr_assert_eq (counts [ZJOB_QUEUED], 1);
    //  A bad spec is refused
    spec.workflow_id = NULL;
    spec.idempotency_key = NULL;
    cr_assert_eq (zjob_manager_submit (manager, &spec, 1, true, jobs, existing,
                                       &existing_count, &err),
                  -1);
    cr_assert_null (jobs [0]);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    zjob_manager_destroy (&manager);
}

Test (manager, submit_batch_keys_and_error_index)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_spec_t known = s_spec ("wf", ZJOB_PRIORITY_MEDIUM);
    known.idempotency_key = "known";
    zjob_job_t *jobs [5] = { NULL };
    uint64_t existing [5];
    size_t existing_count = 0;
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_submit (manager, &known, 1, true, jobs, existing,
                                       &existing_count, &err),
                  1);
    char known_id [ZJOB_ID_LEN + 1];
    strcpy (known_id, jobs [0]->id);
    zjob_job_destroy (&jobs [0]);

    //  [known, fresh "a", plain, "a" again, plain]
    zjob_spec_t specs [5];
    for (size_t index = 0; index < 5; index++)
        specs [index] = s_spec ("wf", ZJOB_PRIORITY_MEDIUM);
    specs [0].idempotency_key = "known";
    specs [1].idempotency_key = "a";
    specs [3].idempotency_key = "a";
    cr_assert_eq (zjob_manager_submit (manager, specs, 5, true, jobs, existing,
                                       &existing_count, &err),
                  3, "%s", err.text);
    cr_assert_eq (existing_count, 2);
    cr_assert_eq (existing [0], 0);
    cr_assert_eq (existing [1], 3);
    cr_assert_str_eq (jobs [0]->id, known_id);
    cr_assert_str_eq (jobs [3]->id, jobs [1]->id);
    cr_assert_str_neq (jobs [2]->id, jobs [4]->id);
    for (size_t index = 0; index < 5; index++)
        zjob_job_destroy (&jobs [index]);

    //  A bad spec after a known one is named by its index in the batch,
    //  not among the specs created, and nothing is created
    specs [0].idempotency_key = "known";
    specs [1].idempotency_key = "b";
    specs [3].idempotency_key = NULL;
    specs [4].workflow_id = NULL;
    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    size_t before = counts [ZJOB_QUEUED];
    cr_assert_eq (zjob_manager_submit (manager, specs, 5, true, jobs, existing,
                                       &existing_count, &err),
                  -1);
    cr_assert (strncmp (err.text, "jobs[4]: ", 9) == 0, "%s", err.text);
    cr_assert_eq (existing_count, 0);
    for (size_t index = 0; index < 5; index++)
        cr_assert_null (jobs [index]);
    zjob_manager_counts (manager, counts);
    cr_assert_eq (counts [ZJOB_QUEUED], before);
    cr_assert_null (zjob_manager_find_key (manager, "b"));
    zjob_manager_destroy (&manager);
}

Test (manager, worker_lost_requeues_or_fails_on_last_attempt)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_MEDIUM);
    spec.max_attempts = 2;
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_manager_create (manager, &spec, true, &err);
    cr_assert_not_null (job);
    char id [ZJOB_ID_LEN + 1];
    strcpy (id, job->id);
    zjob_job_destroy (&job);

    //  First attempt lost: queued again
    job = zjob_manager_take (manager, NULL, 0, "w1");
    cr_assert_not_null (job);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_worker_lost (manager, id, &err), ZJOB_LOST_REQUEUED, "%s",
                  err.text);
    cr_assert_eq (s_status (manager, id), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_active (manager), 0);
    //  Not held: nothing to do
    cr_assert_eq (zjob_manager_worker_lost (manager, id, &err), 0);
    //  Second (last) attempt lost: failed, worker_lost
    job = zjob_manager_take (manager, NULL, 0, "w2");
    cr_assert_eq (job->attempts, 2);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_worker_lost (manager, id, &err), ZJOB_LOST_FAILED, "%s",
                  err.text);
    job = s_get (manager, id);
    cr_assert_eq (job->status, ZJOB_FAILED);
    cr_assert_str_eq (job->error_kind, "worker_lost");
    cr_assert_eq (zjob_manager_active (manager), 0);
    zjob_job_destroy (&job);
    //  Unknown job
    cr_assert_eq (zjob_manager_worker_lost (manager, "nope", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);

    //  A held paused job stays paused, no longer held
    char paused [ZJOB_ID_LEN + 1];
    s_create (manager, "wf", ZJOB_PRIORITY_MEDIUM, true, paused);
    job = zjob_manager_take (manager, NULL, 0, "w3");
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_pause (manager, paused, &err), 0);
    cr_assert_eq (zjob_manager_active (manager), 1);
    cr_assert_eq (zjob_manager_worker_lost (manager, paused, &err), ZJOB_LOST_REQUEUED);
    cr_assert_eq (s_status (manager, paused), ZJOB_PAUSED);
    cr_assert_eq (zjob_manager_active (manager), 0);
    zjob_manager_destroy (&manager);
}

Test (manager, apply_bulk_by_ids_and_by_filter)
{
    zjob_manager_t *manager = s_manager (0);
    char ids [4][ZJOB_ID_LEN + 1];
    s_create (manager, "a", ZJOB_PRIORITY_MEDIUM, true, ids [0]);
    s_create (manager, "a", ZJOB_PRIORITY_MEDIUM, false, ids [1]);
    s_create (manager, "b", ZJOB_PRIORITY_MEDIUM, true, ids [2]);
    s_create (manager, "a", ZJOB_PRIORITY_MEDIUM, true, ids [3]);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_cancel (manager, ids [3], &err), 0);
    zjob_bulk_t *bulk = (zjob_bulk_t *) malloc (sizeof (zjob_bulk_t));
    cr_assert_not_null (bulk);

    //  By ids: the one it cannot apply is listed with its error
    const char *list [] = { ids [0], "0000000000000000nope", ids [3] };
    cr_assert_eq (zjob_manager_apply_bulk (manager, ZJOB_APPLY_PAUSE, list, 3, NULL, bulk,
                                           &err),
                  0);
    cr_assert_eq (bulk->done, 1);
    cr_assert_eq (bulk->failed, 2);
    cr_assert_eq (bulk->error_count, 2);
    cr_assert_str_eq (bulk->ids [0], list [1]);
    cr_assert_eq (bulk->errors [0].code, ZJOB_NOT_FOUND);
    cr_assert_str_eq (bulk->ids [1], ids [3]);
    cr_assert_eq (bulk->errors [1].code, ZJOB_CONFLICT);
    cr_assert_eq (s_status (manager, ids [0]), ZJOB_PAUSED);

    //  By filter: only the jobs the operation is legal for (the paused
    //  and the created one start; cancelled and queued are left alone)
    zjob_filter_t filter = { 0 };
    filter.workflow_id = "a";
    cr_assert_eq (zjob_manager_apply_bulk (manager, ZJOB_APPLY_START, NULL, 0, &filter, bulk,
                                           &err),
                  0);
    cr_assert_eq (bulk->failed, 0);
    cr_assert_eq (bulk->done, 2);
    cr_assert_eq (s_status (manager, ids [0]), ZJOB_QUEUED);
    cr_assert_eq (s_status (manager, ids [1]), ZJOB_QUEUED);
    cr_assert_eq (s_status (manager, ids [3]), ZJOB_CANCELLED);
    //  Delete by filter: every match, whatever its status
    cr_assert_eq (zjob_manager_apply_bulk (manager, ZJOB_APPLY_DELETE, NULL, 0, &filter, bulk,
                                           &err),
                  0);
    cr_assert_eq (bulk->done, 3);
    cr_assert_eq (zjob_manager_stored (manager), 1);
    //  Neither ids nor a filter
    cr_assert_eq (zjob_manager_apply_bulk (manager, ZJOB_APPLY_CANCEL, NULL, 0, NULL, bulk,
                                           &err),
                  -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    //  One job by name
    cr_assert_eq (zjob_manager_apply (manager, ZJOB_APPLY_CANCEL, ids [2], &err), 0);
    cr_assert_eq (s_status (manager, ids [2]), ZJOB_CANCELLED);
    free (bulk);
    zjob_manager_destroy (&manager);
}

Test (manager, open_and_store_figures)
{
    zjob_error_t err = { 0, "" };
    cr_assert_null (zjob_manager_open ("tape:/dev/st0", NULL, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    zjob_manager_t *manager = zjob_manager_open ("memory:", NULL, &err);
    cr_assert_not_null (manager, "%s", err.text);
    cr_assert_str_eq (zjob_manager_store_name (manager), "memory");
    zhashx_t *figures = zjob_hashx_new ();
    zjob_manager_store_stats (manager, figures);
    zhashx_destroy (&figures);
    char id [ZJOB_ID_LEN + 1];
    s_create (manager, "wf", ZJOB_PRIORITY_MEDIUM, true, id);
    cr_assert_eq (zjob_manager_stored (manager), 1);
    cr_assert_eq (zjob_manager_reclaimable (manager), 0);
    //  Handed out, then requeued: a worker may reclaim it
    zjob_job_t *job = zjob_manager_take (manager, NULL, 0, "w");
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_requeue (manager, id, &err), 0);
    cr_assert_eq (zjob_manager_reclaimable (manager), 1);
    zjob_manager_destroy (&manager);
}

Test (manager, finish_only_from_a_worker_that_ran_an_attempt)
{
    zjob_manager_t *manager = s_manager (0);
    char id [ZJOB_ID_LEN + 1];
    s_create (manager, "wfA", ZJOB_PRIORITY_MEDIUM, true, id);
    const char *serves_a [] = { "wfA" };
    const char *serves_b [] = { "wfB" };
    zjob_error_t err = { 0, "" };
    //  Never handed out: nobody's
    cr_assert_eq (zjob_manager_finish (manager, id, "a", serves_a, 1, true, s_outputs,
                                       sizeof (s_outputs), NULL, NULL, &err),
                  -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    zjob_job_t *job = zjob_manager_take (manager, NULL, 0, "a");
    zjob_job_destroy (&job);
    //  Another worker, or the holder while it does not serve the workflow
    cr_assert_eq (zjob_manager_finish (manager, id, "b", serves_a, 1, true, s_outputs,
                                       sizeof (s_outputs), NULL, NULL, &err),
                  -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert (strstr (err.text, "never given to worker b"), "%s", err.text);
    cr_assert_eq (zjob_manager_finish (manager, id, "a", serves_b, 1, true, s_outputs,
                                       sizeof (s_outputs), NULL, NULL, &err),
                  -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_eq (s_status (manager, id), ZJOB_RUNNING);
    //  a is lost, b takes the next attempt; a's late result still counts
    cr_assert_eq (zjob_manager_requeue (manager, id, &err), 0);
    job = zjob_manager_take (manager, NULL, 0, "b");
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_finish (manager, id, "a", serves_a, 1, true, s_outputs,
                                       sizeof (s_outputs), NULL, NULL, &err),
                  1, "%s",
                  err.text);
    cr_assert_eq (s_status (manager, id), ZJOB_COMPLETED);
    //  b's result afterwards is a duplicate: accepted, nothing changes
    cr_assert_eq (zjob_manager_finish (manager, id, "b", NULL, 0, false, NULL, 0, "x", "y",
                                       &err),
                  0);
    cr_assert_eq (zjob_manager_finish (manager, id, "c", NULL, 0, false, NULL, 0, "x", "y",
                                       &err),
                  -1);
    zjob_manager_destroy (&manager);
}

Test (manager, finish_after_a_restart_from_the_last_holder, .fini = s_tmpdir_fini)
{
    //  The worker of the last attempt is stored with the job
    s_dir = s_tmpdir ();
    zjob_manager_t *manager = s_manager_over (s_file_store (s_dir), 0);
    char id [ZJOB_ID_LEN + 1];
    s_create (manager, "wf", ZJOB_PRIORITY_MEDIUM, true, id);
    zjob_job_t *job = zjob_manager_take (manager, NULL, 0, "a");
    zjob_job_destroy (&job);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_sync (manager, &err), 0);
    zjob_manager_destroy (&manager);
    manager = s_manager_over (s_file_store (s_dir), 0);
    cr_assert_eq (s_status (manager, id), ZJOB_QUEUED, "recovery queues it again");
    cr_assert_eq (zjob_manager_finish (manager, id, "b", NULL, 0, true, s_outputs,
                                       sizeof (s_outputs), NULL, NULL, &err),
                  -1);
    cr_assert_eq (zjob_manager_finish (manager, id, "a", NULL, 0, true, s_outputs,
                                       sizeof (s_outputs), NULL, NULL, &err),
                  1, "%s",
                  err.text);
    cr_assert_eq (s_status (manager, id), ZJOB_COMPLETED);
    zjob_manager_destroy (&manager);
}

Test (manager, submit_key_reused_with_other_inputs_is_a_conflict)
{
    zjob_manager_t *manager = s_manager (0);
    static const uint8_t one [] = { 0x81, 0xa1, 'n', 0x01 };  //  {"n": 1}
    static const uint8_t two [] = { 0x81, 0xa1, 'n', 0x02 };  //  {"n": 2}
    zjob_spec_t spec = s_spec ("pay", ZJOB_PRIORITY_MEDIUM);
    spec.idempotency_key = "k";
    spec.inputs = one;
    spec.inputs_size = sizeof (one);
    zjob_job_t *jobs [3] = { NULL };
    uint64_t existing [3];
    size_t existing_count = 0;
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_submit (manager, &spec, 1, true, jobs, existing,
                                       &existing_count, &err),
                  1);
    char id [ZJOB_ID_LEN + 1];
    strcpy (id, jobs [0]->id);
    zjob_job_destroy (&jobs [0]);
    //  Same workflow, same inputs: the same job
    cr_assert_eq (zjob_manager_submit (manager, &spec, 1, true, jobs, existing,
                                       &existing_count, &err),
                  0);
    cr_assert_str_eq (jobs [0]->id, id);
    zjob_job_destroy (&jobs [0]);
    //  Other inputs: 409, naming the spec and the job
    spec.inputs = two;
    cr_assert_eq (zjob_manager_submit (manager, &spec, 1, true, jobs, existing,
                                       &existing_count, &err),
                  -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    char expected [ZJOB_ERROR_TEXT_MAX];
    snprintf (expected, sizeof (expected),
              "jobs[0]: idempotency key \"k\" is already used by job %s with different inputs",
              id);
    cr_assert_str_eq (err.text, expected);
    cr_assert_null (jobs [0]);
    //  Another workflow: 409 too
    spec.inputs = one;
    spec.workflow_id = "refund";
    cr_assert_eq (zjob_manager_submit (manager, &spec, 1, true, jobs, existing,
                                       &existing_count, &err),
                  -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert (strstr (err.text, id) && strstr (err.text, "different workflow"), "%s",
               err.text);
    //  In a batch, at its index; nothing is created
    zjob_spec_t specs [3] = { s_spec ("pay", ZJOB_PRIORITY_MEDIUM),
                              s_spec ("pay", ZJOB_PRIORITY_MEDIUM), spec };
    specs [2].workflow_id = "pay";
    specs [2].inputs = two;
    cr_assert_eq (zjob_manager_submit (manager, specs, 3, true, jobs, existing,
                                       &existing_count, &err),
                  -1);
    snprintf (expected, sizeof (expected),
              "jobs[2]: idempotency key \"k\" is already used by job %s with different inputs",
              id);
    cr_assert_str_eq (err.text, expected);
    cr_assert_eq (zjob_manager_stored (manager), 1);
    //  Two specs of one batch with one key and different inputs
    specs [0].idempotency_key = "fresh";
    specs [1].idempotency_key = "fresh";
    specs [1].inputs = two;
    specs [1].inputs_size = sizeof (two);
    cr_assert_eq (zjob_manager_submit (manager, specs, 2, true, jobs, existing,
                                       &existing_count, &err),
                  -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert (strstr (err.text, "jobs[1]: idempotency key \"fresh\" is already used by jobs[0]"),
               "%s", err.text);
    cr_assert_eq (zjob_manager_stored (manager), 1);
    //  No inputs and {} are the same
    zjob_spec_t bare = s_spec ("pay", ZJOB_PRIORITY_MEDIUM);
    bare.idempotency_key = "bare";
    cr_assert_eq (zjob_manager_submit (manager, &bare, 1, true, jobs, existing,
                                       &existing_count, &err),
                  1);
    zjob_job_destroy (&jobs [0]);
    static const uint8_t empty [] = { 0x80 };
    bare.inputs = empty;
    bare.inputs_size = 1;
    cr_assert_eq (zjob_manager_submit (manager, &bare, 1, true, jobs, existing,
                                       &existing_count, &err),
                  0, "%s", err.text);
    zjob_job_destroy (&jobs [0]);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  Workflow filters

//  A listing owns its filter's workflow strings: the request that carried
//  them is gone before the listing's steps run
Test (manager, listing_owns_the_workflow_filter_strings)
{
    zjob_store_t *store = zjob_store_memory_new ();
    const char *parents [] = { "0000000000000000000A" };
    for (int index = 0; index < 3; index++) {
        zjob_spec_t spec = { .workflow_id = "w", .batch_id = index < 2 ? "b1" : NULL, .depends_on = parents, .depends_on_count = index == 1, .schedule_id = "nightly" };
        zjob_error_t err;
        zjob_job_t *job = zjob_job_new (&spec, &err);
        cr_assert_not_null (job, "%s", err.text);
        cr_assert_eq (zjob_store_put (store, job, &err), 0, "%s", err.text);
        zjob_job_destroy (&job);
    }
    char *batch = strdup ("b1"), *waiting_on = strdup (parents [0]), *schedule = strdup ("nightly");
    zjob_query_t query = { .filter = { .batch_id = batch, .waiting_on = waiting_on, .schedule_id = schedule } };
    zjob_error_t err;
    zjob_listing_t *listing = zjob_listing_new (&query, &err);
    cr_assert_not_null (listing, "%s", err.text);
    memset (batch, 'x', 2);
    memset (waiting_on, 'x', ZJOB_ID_LEN);
    memset (schedule, 'x', 7);
    free (batch);
    free (waiting_on);
    free (schedule);
    int rc;
    while ((rc = zjob_listing_step (listing, store, 100, &err)) == 0)
        ;
    cr_assert_eq (rc, 1, "%s", err.text);
    zjob_job_t **jobs;
    size_t count, total;
    cr_assert_eq (zjob_listing_take (listing, &jobs, &count, &total, &err), 0, "%s", err.text);
    cr_assert_eq (count, 1, "the batch's job waiting on the parent");
    cr_assert_str_eq (zjob_job_batch (jobs [0]), "b1");
    zjob_job_destroy (&jobs [0]);
    free (jobs);
    zjob_listing_destroy (&listing);
    zjob_store_destroy (&store);
}
