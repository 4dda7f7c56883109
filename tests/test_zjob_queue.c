/*  =========================================================================
    test_zjob_queue - the ready queue and the scheduled set

    The queue on its own (zjob_queue.h), then scheduled jobs (run_at)
    through the manager, driven mostly through zjob_manager_promote with
    an explicit time, so that no test waits for the clock longer than a
    few milliseconds.
    ========================================================================= */

#include "helper_zjob_manager.h"
#include "zjob_queue.h"
#include "zjob_job_impl.h"

//  --------------------------------------------------------------------------
//  The queue on its own

//  A queued job of workflow at priority, due at run_at (0: now)
static zjob_job_t *
s_queued_job (const char *workflow, zjob_priority_t priority, int64_t run_at)
{
    zjob_spec_t spec = s_spec (workflow, priority);
    spec.run_at = run_at;
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "job: %s", err.text);
    job->status = ZJOB_QUEUED;
    job->queued_at = 1000;
    return job;
}

Test (queue, best_is_highest_priority_then_oldest_across_workflows)
{
    zjob_queue_t *queue = zjob_queue_new ();
    cr_assert_not_null (queue);
    zjob_job_t *a = s_queued_job ("wa", ZJOB_PRIORITY_MEDIUM, 0);
    zjob_job_t *b = s_queued_job ("wb", ZJOB_PRIORITY_MEDIUM, 0);
    zjob_job_t *c = s_queued_job ("wb", ZJOB_PRIORITY_HIGH, 0);
    cr_assert_null (zjob_queue_best (queue, NULL, 0));
    cr_assert_eq (zjob_queue_append (queue, a), 0);
    cr_assert_eq (zjob_queue_append (queue, b), 0);
    cr_assert_eq (zjob_queue_ready (queue), 2);
    cr_assert_eq (zjob_queue_seq (queue), 2);
    //  Same priority: enqueue order across workflows
    cr_assert_eq (zjob_queue_best (queue, NULL, 0), a);
    const char *only_b [] = { "wb", "nothing" };
    cr_assert_eq (zjob_queue_best (queue, only_b, 2), b);
    //  Higher priority wins whatever its order
    cr_assert_eq (zjob_queue_append (queue, c), 0);
    cr_assert_eq (zjob_queue_best (queue, NULL, 0), c);
    zjob_queue_remove (queue, c);
    cr_assert_eq (zjob_queue_ready (queue), 2);
    cr_assert_eq (zjob_queue_best (queue, NULL, 0), a);
    //  A requeued job keeps its number and goes back ahead of later ones
    zjob_queue_remove (queue, a);
    cr_assert_eq (zjob_queue_best (queue, NULL, 0), b);
    cr_assert_eq (zjob_queue_requeue (queue, a), 0);
    cr_assert_eq (zjob_queue_best (queue, NULL, 0), a);
    cr_assert_eq (zjob_queue_seq (queue), 3, "a requeue issues no number");
    //  Destroy drops the queue's references (ASan sees a leak otherwise)
    zjob_queue_destroy (&queue);
    zjob_queue_destroy (&queue);
    cr_assert_null (queue);
    zjob_job_destroy (&a);
    zjob_job_destroy (&b);
    zjob_job_destroy (&c);
}

Test (queue, scheduled_jobs_wait_until_promoted_in_run_at_order)
{
    zjob_queue_t *queue = zjob_queue_new ();
    cr_assert_not_null (queue);
    zjob_job_t *late = s_queued_job ("w", ZJOB_PRIORITY_MEDIUM, 5000);
    zjob_job_t *early = s_queued_job ("w", ZJOB_PRIORITY_MEDIUM, 3000);
    zjob_job_t *now = s_queued_job ("w", ZJOB_PRIORITY_MEDIUM, 0);
    cr_assert_eq (zjob_queue_reserve (queue, 2), 0);
    cr_assert_eq (zjob_queue_enqueue (queue, late, 2000), 0);
    cr_assert_eq (zjob_queue_enqueue (queue, early, 2000), 0);
    cr_assert_eq (zjob_queue_enqueue (queue, now, 2000), 0);
    cr_assert_eq (zjob_queue_scheduled (queue), 2);
    cr_assert_eq (zjob_queue_ready (queue), 1);
    cr_assert_eq (zjob_queue_next_due (queue), 3000);
    cr_assert_eq (zjob_queue_promote (queue, 2999), 0);
    cr_assert_eq (zjob_queue_promote (queue, 6000), 2);
    cr_assert_eq (zjob_queue_scheduled (queue), 0);
    cr_assert_eq (zjob_queue_next_due (queue), 0);
    //  Promoted jobs go to the back, earliest run_at first
    cr_assert_eq (zjob_queue_best (queue, NULL, 0), now);
    zjob_queue_remove (queue, now);
    cr_assert_eq (zjob_queue_best (queue, NULL, 0), early);
    zjob_queue_remove (queue, early);
    cr_assert_eq (zjob_queue_best (queue, NULL, 0), late);
    zjob_queue_destroy (&queue);
    zjob_job_destroy (&late);
    zjob_job_destroy (&early);
    zjob_job_destroy (&now);
}

Test (queue, a_scheduled_job_removed_is_never_promoted)
{
    zjob_queue_t *queue = zjob_queue_new ();
    cr_assert_not_null (queue);
    zjob_job_t *jobs [200];
    cr_assert_eq (zjob_queue_reserve (queue, 200), 0);
    for (int index = 0; index < 200; index++) {
        jobs [index] = s_queued_job ("w", ZJOB_PRIORITY_MEDIUM, 10000 + index);
        cr_assert_eq (zjob_queue_enqueue (queue, jobs [index], 0), 0);
    }
    //  Remove all but the last: the queue uncounts them at once, and drops
    //  their stale entries when they reach the top (or in a rebuild)
    for (int index = 0; index < 199; index++) {
        zjob_queue_remove (queue, jobs [index]);
        jobs [index]->status = ZJOB_PAUSED;
    }
    cr_assert_eq (zjob_queue_scheduled (queue), 1);
    cr_assert_eq (zjob_queue_next_due (queue), 10199);
    cr_assert_eq (zjob_queue_promote (queue, 20000), 1);
    cr_assert_eq (zjob_queue_best (queue, NULL, 0), jobs [199]);
    zjob_queue_destroy (&queue);
    for (int index = 0; index < 200; index++)
        zjob_job_destroy (&jobs [index]);
}

//  RUN_NOW's move: a waiting job joins the back of its ready list, and its
//  heap entry is never promoted again
Test (queue, a_waiting_job_hurried_is_ready_once)
{
    zjob_queue_t *queue = zjob_queue_new ();
    cr_assert_not_null (queue);
    zjob_job_t *ready = s_queued_job ("w", ZJOB_PRIORITY_MEDIUM, 0);
    zjob_job_t *later = s_queued_job ("w", ZJOB_PRIORITY_MEDIUM, 5000);
    cr_assert_eq (zjob_queue_reserve (queue, 1), 0);
    cr_assert_eq (zjob_queue_enqueue (queue, ready, 1000), 0);
    cr_assert_eq (zjob_queue_enqueue (queue, later, 1000), 0);
    cr_assert_not (zjob_queue_waiting (queue, ready));
    cr_assert (zjob_queue_waiting (queue, later));
    cr_assert_eq (zjob_queue_hurry (queue, later), 0);
    cr_assert_not (zjob_queue_waiting (queue, later));
    cr_assert_eq (zjob_queue_scheduled (queue), 0);
    cr_assert_eq (zjob_queue_ready (queue), 2);
    cr_assert_eq (zjob_queue_next_due (queue), 0, "its entry is stale");
    cr_assert_eq (zjob_queue_promote (queue, 9000), 0, "not promoted a second time");
    //  Behind the job that was ready before it
    cr_assert_eq (zjob_queue_best (queue, NULL, 0), ready);
    zjob_queue_remove (queue, ready);
    cr_assert_eq (zjob_queue_best (queue, NULL, 0), later);
    zjob_queue_remove (queue, later);
    cr_assert_eq (zjob_queue_ready (queue), 0);
    zjob_queue_destroy (&queue);
    zjob_job_destroy (&ready);
    zjob_job_destroy (&later);
}

//  --------------------------------------------------------------------------
//  Scheduled jobs: run_at

//  Create a job that is not to start before run_at; its id into id
static void
s_create_at (zjob_manager_t *manager, const char *workflow, zjob_priority_t priority,
             bool auto_start, int64_t run_at, char *id)
{
    zjob_spec_t spec = s_spec (workflow, priority);
    spec.run_at = run_at;
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_manager_create (manager, &spec, auto_start, &err);
    cr_assert_not_null (job, "create: %s", err.text);
    cr_assert_eq (job->run_at, run_at);
    strcpy (id, job->id);
    zjob_job_destroy (&job);
}

//  Nothing can be taken now
static void
s_assert_nothing (zjob_manager_t *manager)
{
    zjob_job_t *job = zjob_manager_take (manager, NULL, 0, "w");
    cr_assert_null (job, "took %s, expected nothing", job ? job->id : "");
}

Test (manager, scheduled_job_waits_for_its_time)
{
    zjob_manager_t *manager = s_manager (0);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    cr_assert_eq (zjob_manager_next_due (manager), 0);
    cr_assert_eq (zjob_manager_promote (manager, INT64_MAX), 0);

    //  An hour ahead: queued by status, but not in the ready queue
    int64_t run_at = zjob_clock_ms () + 3600 * 1000;
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    s_create_at (manager, "later", ZJOB_PRIORITY_CRITICAL, true, run_at, id);
    cr_assert_eq (s_status (manager, id), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_queued (manager), 0);
    cr_assert_eq (zjob_manager_scheduled (manager), 1);
    cr_assert_eq (zjob_manager_next_due (manager), run_at);
    s_assert_counts (manager);
    s_assert_nothing (manager);
    cr_assert_eq (s_status (manager, id), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_promote (manager, run_at - 1), 0, "promoted before its time");
    s_assert_nothing (manager);

    //  Due: promoted once, with no event (its status does not change)
    zjob_job_t *job = s_get (manager, id);
    int64_t queued_at = job->queued_at;
    zjob_job_destroy (&job);
    size_t heard = log.count;
    cr_assert_eq (zjob_manager_promote (manager, run_at), 1);
    cr_assert_eq (zjob_manager_promote (manager, run_at), 0);
    cr_assert_eq (log.count, heard, "promotion is not an event");
    cr_assert_eq (zjob_manager_queued (manager), 1);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    cr_assert_eq (zjob_manager_next_due (manager), 0);
    s_assert_counts (manager);
    job = s_get (manager, id);
    cr_assert_eq (job->queued_at, queued_at, "promotion changes nothing stored");
    cr_assert_eq (job->status, ZJOB_QUEUED);
    zjob_job_destroy (&job);
    s_take (manager, "w", taken);
    cr_assert_str_eq (taken, id);
    cr_assert_eq (s_status (manager, id), ZJOB_RUNNING);

    //  By the real clock: take promotes by itself once the time has come
    run_at = zjob_clock_ms () + 30;
    s_create_at (manager, "soon", ZJOB_PRIORITY_LOW, true, run_at, id);
    cr_assert_eq (zjob_manager_scheduled (manager), 1);
    int64_t deadline = zjob_mono_ms () + 5000;
    while (true) {
        int64_t before = zjob_clock_ms ();
        if ((job = zjob_manager_take (manager, NULL, 0, "w")))
            break;
        //  Nothing only while the clock had not reached run_at
        cr_assert_lt (before, run_at, "due at %" PRId64 ", not taken at %" PRId64,
                      run_at, before);
        cr_assert_eq (zjob_manager_scheduled (manager), 1);
        cr_assert_lt (zjob_mono_ms (), deadline, "the job never became due");
    }
    int64_t taken_at = zjob_clock_ms ();
    cr_assert_str_eq (job->id, id);
    cr_assert_geq (taken_at, run_at, "taken %" PRId64 " ms early", run_at - taken_at);
    cr_assert_eq (job->attempts, 1);
    zjob_job_destroy (&job);

    //  run_at already past, or 0: ready at once
    s_create_at (manager, "past", ZJOB_PRIORITY_LOW, true, zjob_clock_ms () - 1000, id);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    s_take (manager, "w", taken);
    cr_assert_str_eq (taken, id);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, scheduled_jobs_become_due_in_run_at_order)
{
    zjob_manager_t *manager = s_manager (0);
    int64_t base = zjob_clock_ms () + 3600 * 1000;
    //  Created out of order; two share a run_at (creation order breaks it)
    const int64_t offsets [] = { 300, 100, 200, 100, 50 };
    const size_t expected [] = { 4, 1, 3, 2, 0 };
    char ids [5][ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    for (size_t index = 0; index < 5; index++)
        s_create_at (manager, index % 2 ? "a" : "b", ZJOB_PRIORITY_MEDIUM, true,
                     base + offsets [index], ids [index]);
    cr_assert_eq (zjob_manager_scheduled (manager), 5);
    cr_assert_eq (zjob_manager_next_due (manager), base + 50);

    //  Partial promotion: only what is due
    cr_assert_eq (zjob_manager_promote (manager, base + 100), 3);
    cr_assert_eq (zjob_manager_queued (manager), 3);
    cr_assert_eq (zjob_manager_scheduled (manager), 2);
    cr_assert_eq (zjob_manager_next_due (manager), base + 200);
    s_assert_counts (manager);
    //  A job queued now, between two promotions, is served between them
    char now_id [ZJOB_ID_LEN + 1];
    s_create (manager, "a", ZJOB_PRIORITY_MEDIUM, true, now_id);
    cr_assert_eq (zjob_manager_promote (manager, base + 1000), 2);
    cr_assert_eq (zjob_manager_next_due (manager), 0);
    for (size_t index = 0; index < 6; index++) {
        s_take (manager, "w", id);
        const char *want = index < 3 ? ids [expected [index]]
            : index == 3             ? now_id
                                     : ids [expected [index - 1]];
        cr_assert_str_eq (id, want, "take %zu", index);
    }
    s_assert_nothing (manager);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, priority_order_applies_once_due)
{
    zjob_manager_t *manager = s_manager (0);
    int64_t base = zjob_clock_ms () + 3600 * 1000;
    char low [ZJOB_ID_LEN + 1], critical [ZJOB_ID_LEN + 1], medium [ZJOB_ID_LEN + 1];
    char high [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base, low);
    s_create_at (manager, "x", ZJOB_PRIORITY_CRITICAL, true, base + 10, critical);
    s_create (manager, "x", ZJOB_PRIORITY_MEDIUM, true, medium);
    s_create_at (manager, "x", ZJOB_PRIORITY_HIGH, true, base + 20, high);
    //  Before they are due, a scheduled critical job does not block the rest
    s_take (manager, "w", id);
    cr_assert_str_eq (id, medium);
    s_assert_nothing (manager);
    //  Once due, priority first, then the order they became due
    char again [ZJOB_ID_LEN + 1];
    s_create (manager, "x", ZJOB_PRIORITY_MEDIUM, true, again);
    cr_assert_eq (zjob_manager_promote (manager, base + 20), 3);
    const char *order [] = { critical, high, again, low };
    for (size_t index = 0; index < 4; index++) {
        s_take (manager, "w", id);
        cr_assert_str_eq (id, order [index], "take %zu", index);
    }
    //  take_before sees a promoted job as enqueued at its promotion
    char late [ZJOB_ID_LEN + 1];
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base + 30, late);
    uint64_t durable = zjob_manager_seq (manager);
    cr_assert_eq (zjob_manager_promote (manager, base + 30), 1);
    cr_assert_null (zjob_manager_take_before (manager, NULL, 0, "w", durable));
    zjob_job_t *job = zjob_manager_take_before (manager, NULL, 0, "w", zjob_manager_seq (manager));
    cr_assert_not_null (job);
    cr_assert_str_eq (job->id, late);
    zjob_job_destroy (&job);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, pause_cancel_delete_of_scheduled_jobs)
{
    zjob_manager_t *manager = s_manager (0);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    zjob_error_t err = { 0, "" };
    int64_t base = zjob_clock_ms () + 3600 * 1000;
    char paused [ZJOB_ID_LEN + 1], cancelled [ZJOB_ID_LEN + 1], deleted [ZJOB_ID_LEN + 1];
    char kept [ZJOB_ID_LEN + 1], started [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base + 1, paused);
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base + 2, cancelled);
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base + 3, deleted);
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base + 4, kept);
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, false, base + 5, started);
    cr_assert_eq (zjob_manager_scheduled (manager), 4);
    cr_assert_eq (s_status (manager, started), ZJOB_CREATED);

    //  Pause takes the job out of the schedule, resume puts it back
    cr_assert_eq (zjob_manager_pause (manager, paused, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_scheduled (manager), 3);
    cr_assert_eq (zjob_manager_next_due (manager), base + 2);
    cr_assert_eq (zjob_manager_resume (manager, paused, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, paused), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_scheduled (manager), 4);
    cr_assert_eq (zjob_manager_queued (manager), 0);
    cr_assert_eq (zjob_manager_next_due (manager), base + 1);
    //  Start of a created job respects its run_at
    cr_assert_eq (zjob_manager_start (manager, started, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_scheduled (manager), 5);
    cr_assert_eq (zjob_manager_queued (manager), 0);
    //  Cancel and delete: gone from the schedule
    cr_assert_eq (zjob_manager_cancel (manager, cancelled, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_delete (manager, deleted, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_scheduled (manager), 3);
    s_assert_counts (manager);

    //  Only the live ones are promoted, each once, in run_at order
    size_t heard = log.count;
    cr_assert_eq (zjob_manager_promote (manager, base + 100), 3);
    cr_assert_eq (log.count, heard);
    const char *order [] = { paused, kept, started };
    for (size_t index = 0; index < 3; index++) {
        s_take (manager, "w", id);
        cr_assert_str_eq (id, order [index], "take %zu", index);
    }
    s_assert_nothing (manager);
    cr_assert_eq (s_status (manager, cancelled), ZJOB_CANCELLED);
    cr_assert_eq (zjob_manager_status (manager, deleted, &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    s_assert_counts (manager);

    //  A job paused until after its run_at is ready at once on resume
    int64_t run_at = zjob_clock_ms () + 20;
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, run_at, id);
    cr_assert_eq (zjob_manager_pause (manager, id, &err), 0, "%s", err.text);
    s_let_time_pass (20);
    cr_assert_eq (zjob_manager_resume (manager, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    char taken [ZJOB_ID_LEN + 1];
    s_take (manager, "w", taken);
    cr_assert_str_eq (taken, id);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, schedule_churn_keeps_one_entry_per_job)
{
    //  Many pauses and resumes, and most scheduled jobs cancelled: the
    //  heap drops what went stale, and each live job comes out once
    zjob_manager_t *manager = s_manager (0);
    zjob_error_t err = { 0, "" };
    int64_t base = zjob_clock_ms () + 3600 * 1000;
    char churned [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base, churned);
    for (int round = 0; round < 1000; round++) {
        cr_assert_eq (zjob_manager_pause (manager, churned, &err), 0, "%s", err.text);
        cr_assert_eq (zjob_manager_resume (manager, churned, &err), 0, "%s", err.text);
    }
    cr_assert_eq (zjob_manager_scheduled (manager), 1);
#define S_CHURN 500
    static char ids [S_CHURN][ZJOB_ID_LEN + 1];
    for (int index = 0; index < S_CHURN; index++)
        s_create_at (manager, "y", ZJOB_PRIORITY_LOW, true, base + S_CHURN - index, ids [index]);
    for (int index = 0; index < S_CHURN; index++)
        if (index % 10)
            cr_assert_eq (zjob_manager_cancel (manager, ids [index], &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_scheduled (manager), 1 + S_CHURN / 10);
    s_assert_counts (manager);
    cr_assert_eq (zjob_manager_next_due (manager), base);
    cr_assert_eq (zjob_manager_promote (manager, base + S_CHURN), 1 + S_CHURN / 10);
    s_take (manager, "w", id);
    cr_assert_str_eq (id, churned);
    //  The survivors, latest created first (their run_at is earliest)
    for (int index = S_CHURN - 10; index >= 0; index -= 10) {
        s_take (manager, "w", id);
        cr_assert_str_eq (id, ids [index]);
    }
    s_assert_nothing (manager);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    cr_assert_eq (zjob_manager_next_due (manager), 0);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, requeue_and_adopt_ignore_run_at)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_error_t err = { 0, "" };
    //  Promoted early (an explicit time), so by the clock run_at is ahead
    int64_t run_at = zjob_clock_ms () + 3600 * 1000;
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, run_at, id);
    cr_assert_eq (zjob_manager_promote (manager, run_at), 1);
    s_take (manager, "w1", taken);
    cr_assert_str_eq (taken, id);
    //  The worker is lost: the job is ready again at once
    cr_assert_eq (zjob_manager_requeue (manager, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    s_take (manager, "w2", taken);
    cr_assert_str_eq (taken, id);
    zjob_job_t *job = s_get (manager, id);
    cr_assert_eq (job->attempts, 2);
    zjob_job_destroy (&job);

    //  A scheduled job adopted by a worker that still runs it leaves the
    //  schedule
    char other [ZJOB_ID_LEN + 1];
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, run_at, other);
    cr_assert_eq (zjob_manager_promote (manager, run_at), 1);
    s_take (manager, "w3", taken);
    cr_assert_str_eq (taken, other);
    cr_assert_eq (zjob_manager_pause (manager, other, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_requeue (manager, other, &err), 0, "%s", err.text);
    cr_assert_eq (s_status (manager, other), ZJOB_PAUSED);
    cr_assert_eq (zjob_manager_resume (manager, other, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_scheduled (manager), 1, "a resume respects run_at");
    job = zjob_manager_adopt (manager, other, "w3", &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (job->status, ZJOB_RUNNING);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    cr_assert_eq (zjob_manager_promote (manager, INT64_MAX), 0);
    s_assert_nothing (manager);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, scheduled_batch_and_refused_put)
{
    s_flaky_t *flaky = NULL;
    zjob_manager_t *manager = s_manager_over (s_flaky_new (&flaky), 0);
    zjob_error_t err = { 0, "" };
    int64_t base = zjob_clock_ms () + 3600 * 1000;
    zjob_spec_t specs [3] = { s_spec ("x", ZJOB_PRIORITY_LOW), s_spec ("x", ZJOB_PRIORITY_LOW),
                              s_spec ("x", ZJOB_PRIORITY_LOW) };
    specs [0].run_at = base + 2;
    specs [2].run_at = base + 1;
    zjob_job_t *jobs [3];
    cr_assert_eq (zjob_manager_create_batch (manager, specs, 3, true, jobs, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_scheduled (manager), 2);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    s_assert_counts (manager);

    //  A refused pause leaves the job scheduled
    flaky->refuse_put = true;
    cr_assert_eq (zjob_manager_pause (manager, jobs [0]->id, &err), -1);
    flaky->refuse_put = false;
    cr_assert_eq (zjob_manager_scheduled (manager), 2);
    cr_assert_eq (s_status (manager, jobs [0]->id), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_promote (manager, base + 2), 2);
    char id [ZJOB_ID_LEN + 1];
    const size_t order [] = { 1, 2, 0 };
    for (size_t index = 0; index < 3; index++) {
        s_take (manager, "w", id);
        cr_assert_str_eq (id, jobs [order [index]]->id, "take %zu", index);
    }
    for (size_t index = 0; index < 3; index++)
        zjob_job_destroy (&jobs [index]);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (manager, recovery_keeps_the_schedule, .fini = s_tmpdir_fini)
{
    char *dir = s_dir = s_tmpdir ();
    char first [ZJOB_ID_LEN + 1], second [ZJOB_ID_LEN + 1], ready [ZJOB_ID_LEN + 1];
    char running [ZJOB_ID_LEN + 1], soon [ZJOB_ID_LEN + 1], id [ZJOB_ID_LEN + 1];
    int64_t base = zjob_clock_ms () + 3600 * 1000;

    zjob_manager_t *manager = s_manager_over (s_file_store (dir), 0);
    s_create_at (manager, "x", ZJOB_PRIORITY_CRITICAL, true, base + 2000, second);
    s_create_at (manager, "x", ZJOB_PRIORITY_LOW, true, base + 1000, first);
    //  Still ahead when it is created, however slow the machine (ASan, a
    //  loaded CI host): 50 ms from the test's start was not always
    int64_t soon_at = zjob_clock_ms () + 300;
    s_create_at (manager, "x", ZJOB_PRIORITY_HIGH, true, soon_at, soon);
    //  Taken early: running when the process stops, its run_at still ahead
    s_create_at (manager, "r", ZJOB_PRIORITY_LOW, true, base, running);
    cr_assert_eq (zjob_manager_promote (manager, base), 2);  //  soon and running
    const char *only_r [] = { "r" };
    zjob_job_t *job = zjob_manager_take (manager, only_r, 1, "w");
    cr_assert_not_null (job);
    cr_assert_str_eq (job->id, running);
    zjob_job_destroy (&job);
    //  soon goes back to the schedule (if its time has not come yet)
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_pause (manager, soon, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_resume (manager, soon, &err), 0, "%s", err.text);
    s_create (manager, "x", ZJOB_PRIORITY_MEDIUM, true, ready);
    cr_assert_eq (zjob_manager_sync (manager, &err), 0, "%s", err.text);
    zjob_manager_destroy (&manager);

    //  After soon's time, a restart: the running job is queued again
    //  whatever its run_at, soon is due, the two others are still ahead
    int64_t left = soon_at - zjob_clock_ms ();
    s_let_time_pass (left > 0 ? left : 0);
    manager = s_manager_over (s_file_store (dir), 0);
    cr_assert_eq (zjob_manager_scheduled (manager), 2);
    cr_assert_eq (zjob_manager_queued (manager), 3);
    cr_assert_eq (zjob_manager_next_due (manager), base + 1000);
    s_assert_counts (manager);
    const char *order [] = { soon, ready, running };
    for (size_t index = 0; index < 3; index++) {
        s_take (manager, "w", id);
        cr_assert_str_eq (id, order [index], "take %zu", index);
    }
    s_assert_nothing (manager);
    cr_assert_eq (zjob_manager_promote (manager, base + 1999), 1);
    s_take (manager, "w", id);
    cr_assert_str_eq (id, first);
    cr_assert_eq (zjob_manager_promote (manager, base + 2000), 1);
    s_take (manager, "w", id);
    cr_assert_str_eq (id, second);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}
