/*  =========================================================================
    test_zjob_manager_times - a job's times, as PROTOCOL.md 12 defines them

    started_at is the current (or last) attempt's start; queued_at when the
    job last entered queued, given back by an adoption that undoes a
    provisional requeue; execution_ms the wall-clock time of every attempt,
    each counted when it ends (a broker restart in the middle included);
    queued_ms the time spent ready and waiting for a worker, not for
    run_at. The manager has no injectable clock: each test lets known
    intervals pass on the wall clock (polled, with a deadline) and checks
    bounds.
    ========================================================================= */

#include "helper_zjob_manager.h"

//  A running job's fields now
static zjob_job_t *
s_job (zjob_manager_t *manager, const char *id)
{
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_manager_get (manager, id, &err);
    cr_assert_not_null (job, "%s", err.text);
    return job;
}

Test (times, a_requeue_after_a_lost_worker_counts_both_attempts)
{
    zjob_manager_t *manager = s_manager (0);
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, id);
    s_take (manager, "w1", taken);
    zjob_job_t *job = s_job (manager, id);
    int64_t first_start = job->started_at;
    zjob_job_destroy (&job);
    s_let_time_pass (30);  //  Attempt 1 runs ~30 ms
    cr_assert_eq (zjob_manager_worker_lost (manager, id, &err), ZJOB_LOST_REQUEUED, "%s",
                  err.text);
    job = s_job (manager, id);
    cr_assert_geq (job->execution_ms, 30, "attempt 1 is counted when it ends");
    int64_t requeued_at = job->queued_at;
    cr_assert_geq (requeued_at, first_start + 30);
    int64_t queued_before = job->queued_ms;
    zjob_job_destroy (&job);
    s_let_time_pass (5);  //  Waits for a worker
    s_take (manager, "w2", taken);
    job = s_job (manager, id);
    cr_assert_eq (job->attempts, 2);
    cr_assert_geq (job->started_at, requeued_at, "started_at is attempt 2's start");
    cr_assert_geq (job->queued_ms, queued_before + 5);
    int64_t second_start = job->started_at;
    zjob_job_destroy (&job);
    s_let_time_pass (20);  //  Attempt 2 runs ~20 ms
    cr_assert_eq (zjob_manager_complete (manager, id, "w2", s_outputs, sizeof (s_outputs),
                                         &err),
                  0, "%s", err.text);
    job = s_job (manager, id);
    cr_assert_eq (job->started_at, second_start);
    cr_assert_geq (job->execution_ms, 30 + 20);
    cr_assert_geq (job->execution_ms, (requeued_at - first_start) + (job->completed_at - second_start));
    cr_assert_leq (job->started_at, job->completed_at);
    cr_assert_leq (job->queued_at, job->started_at);
    zjob_job_destroy (&job);
    zjob_manager_destroy (&manager);
}

Test (times, a_delayed_job_is_not_queued_while_it_waits_for_run_at)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_error_t err = { 0, "" };
    zjob_spec_t spec = s_spec ("w", ZJOB_PRIORITY_LOW);
    spec.run_at = zjob_clock_ms () + 60;
    zjob_job_t *job = zjob_manager_create (manager, &spec, true, &err);
    cr_assert_not_null (job, "%s", err.text);
    char id [ZJOB_ID_LEN + 1];
    strcpy (id, job->id);
    int64_t run_at = job->run_at;
    cr_assert_lt (job->queued_at, run_at);
    zjob_job_destroy (&job);
    //  Due, then ~15 ms ready before a worker takes it
    s_let_time_pass (run_at - zjob_clock_ms () + 15);
    char taken [ZJOB_ID_LEN + 1];
    s_take (manager, "w1", taken);
    job = s_job (manager, id);
    cr_assert_geq (job->queued_ms, 15);
    cr_assert_leq (job->queued_ms, job->started_at - run_at,
                   "queued_ms %lld counts the wait for run_at (%lld ms after queued_at)",
                   (long long) job->queued_ms, (long long) (run_at - job->queued_at));
    cr_assert_leq (job->queued_at, job->started_at);
    zjob_job_destroy (&job);
    zjob_manager_destroy (&manager);
}

//  The broker stops while a worker runs a job; the worker takes it back
//  from the restarted broker (adoption) and completes it
Test (times, a_job_adopted_after_a_restart_counts_its_whole_attempt, .fini = s_tmpdir_fini)
{
    s_dir = s_tmpdir ();
    zjob_manager_t *manager = s_manager_over (s_file_store (s_dir), 0);
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, id);
    s_let_time_pass (5);
    s_take (manager, "w1", taken);
    zjob_job_t *job = s_job (manager, id);
    int64_t queued_at = job->queued_at;
    int64_t started_at = job->started_at;
    int64_t queued_ms = job->queued_ms;
    cr_assert_geq (queued_ms, 5);
    zjob_job_destroy (&job);
    s_let_time_pass (40);  //  Runs under the first broker
    zjob_manager_destroy (&manager);
    s_let_time_pass (30);  //  The broker is down

    manager = s_manager_over (s_file_store (s_dir), 0);
    job = s_job (manager, id);
    cr_assert_eq (job->status, ZJOB_QUEUED, "recovery requeues it, provisionally");
    cr_assert_eq (job->started_at, started_at);
    zjob_job_destroy (&job);
    job = zjob_manager_adopt (manager, id, "w1", &err);
    cr_assert_not_null (job, "%s", err.text);
    zjob_job_destroy (&job);
    job = s_job (manager, id);
    cr_assert_eq (job->status, ZJOB_RUNNING);
    cr_assert_eq (job->attempts, 1);
    cr_assert_eq (job->started_at, started_at, "an adoption keeps the attempt's start");
    cr_assert_eq (job->queued_at, queued_at, "an adoption undoes the provisional requeue");
    cr_assert_eq (job->queued_ms, queued_ms, "the job was running, not waiting");
    cr_assert_eq (job->execution_ms, 0, "the attempt goes on: not counted yet");
    zjob_job_destroy (&job);
    s_let_time_pass (20);  //  Runs under the second
    cr_assert_eq (zjob_manager_complete (manager, id, "w1", s_outputs, sizeof (s_outputs),
                                         &err),
                  0, "%s", err.text);
    job = s_job (manager, id);
    cr_assert_geq (job->execution_ms, 40 + 30 + 20, "execution_ms %lld",
                   (long long) job->execution_ms);
    cr_assert_eq (job->execution_ms, job->completed_at - job->started_at);
    cr_assert_leq (job->queued_at, job->started_at);
    cr_assert_leq (job->started_at, job->completed_at);
    zjob_job_destroy (&job);
    zjob_manager_destroy (&manager);

    //  Durable: the times read back from the store are the same
    manager = s_manager_over (s_file_store (s_dir), 0);
    job = s_job (manager, id);
    cr_assert_eq (job->started_at, started_at);
    cr_assert_eq (job->queued_at, queued_at);
    cr_assert_geq (job->execution_ms, 90);
    zjob_job_destroy (&job);
    zjob_manager_destroy (&manager);
}

//  Not adopted: the interrupted attempt counts up to the restart, and the
//  next dispatch starts attempt 2
Test (times, a_job_not_adopted_after_a_restart_runs_a_new_attempt, .fini = s_tmpdir_fini)
{
    s_dir = s_tmpdir ();
    zjob_manager_t *manager = s_manager_over (s_file_store (s_dir), 0);
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    s_create (manager, "w", ZJOB_PRIORITY_LOW, true, id);
    s_take (manager, "w1", taken);
    zjob_job_t *job = s_job (manager, id);
    int64_t first_start = job->started_at;
    zjob_job_destroy (&job);
    s_let_time_pass (25);
    zjob_manager_destroy (&manager);

    manager = s_manager_over (s_file_store (s_dir), 0);
    job = s_job (manager, id);
    int64_t requeued_at = job->queued_at;
    cr_assert_geq (job->execution_ms, 25);
    cr_assert_eq (job->execution_ms, requeued_at - first_start);
    zjob_job_destroy (&job);
    s_take (manager, "w2", taken);
    s_let_time_pass (10);
    cr_assert_eq (zjob_manager_complete (manager, id, "w2", s_outputs, sizeof (s_outputs),
                                         &err),
                  0, "%s", err.text);
    job = s_job (manager, id);
    cr_assert_eq (job->attempts, 2);
    cr_assert_geq (job->started_at, requeued_at);
    cr_assert_eq (job->execution_ms,
                  (requeued_at - first_start) + (job->completed_at - job->started_at));
    zjob_job_destroy (&job);
    zjob_manager_destroy (&manager);
}
