/*  =========================================================================
    test_zjob_manager_failure - the retry policy, timeouts and lost workers

    The manager's failure rules without sockets: a failed attempt retried
    with backoff until max_attempts, then dead; permanent failures; the
    policy resolved from spec, workflow and broker defaults and shared; a
    lost worker's attempt; a job given back unstarted; timeouts found by the deadline heap, the
    timed-out worker kept from the job until it lets go, and its late
    result ignored.
    ========================================================================= */

#include "helper_zjob_manager.h"

//  A manager with no delay between attempts (jitter none), seeded
static zjob_manager_t *
s_manager_with (const zjob_retry_defaults_t *defaults, const zjob_workflow_defaults_t *workflows,
                size_t workflow_count)
{
    zjob_manager_config_t config = { .seed = 7 };
    if (defaults)
        config.defaults = *defaults;
    else {
        config.defaults.backoff_base_ms = ZJOB_TIMEOUT_NONE;
        config.defaults.jitter = ZJOB_JITTER_NONE;
    }
    config.workflows = workflows;
    config.workflow_count = workflow_count;
    zjob_error_t err = { 0, "" };
    zjob_manager_t *manager = zjob_manager_new (&(zjob_store_t *){ zjob_store_memory_new () },
                                                &config, &err);
    cr_assert_not_null (manager, "%s", err.text);
    return manager;
}

static void
s_make (zjob_manager_t *manager, zjob_spec_t *spec, char *id)
{
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_manager_create (manager, spec, true, &err);
    cr_assert_not_null (job, "%s", err.text);
    strcpy (id, job->id);
    zjob_job_destroy (&job);
}

static int
s_fail (zjob_manager_t *manager, const char *id, const char *worker, const char *kind,
        uint32_t attempt, bool permanent)
{
    zjob_error_t err = { 0, "" };
    int rc = zjob_manager_finish_attempt (manager, id, worker, NULL, 0, false, NULL, 0, kind,
                                          "it broke", attempt, permanent, &err);
    cr_assert_geq (rc, 0, "%s", err.text);
    return rc;
}

Test (failure, a_failed_attempt_is_retried_until_max_attempts_then_dead)
{
    zjob_manager_t *manager = s_manager_with (NULL, NULL, 0);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_UNSET);
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    s_make (manager, &spec, id);
    zjob_job_t *job = s_get (manager, id);
    cr_assert_eq (job->max_attempts, ZJOB_MAX_ATTEMPTS_DEFAULT, "3 when the spec gives none");
    zjob_job_destroy (&job);
    for (uint32_t attempt = 1; attempt <= 3; attempt++) {
        s_take (manager, "w1", taken);
        cr_assert_str_eq (taken, id);
        cr_assert_eq (s_fail (manager, id, "w1", "boom", attempt, false), 1);
        cr_assert_eq (s_status (manager, id), attempt < 3 ? ZJOB_QUEUED : ZJOB_FAILED);
        s_assert_counts (manager);
    }
    job = s_get (manager, id);
    cr_assert_eq (zjob_job_error_count (job), 3, "every attempt's error is kept");
    zjob_attempt_error_t entry;
    cr_assert_eq (zjob_job_error_at (job, 2, &entry), 0);
    cr_assert_eq (entry.attempt, 3);
    cr_assert_str_eq (entry.worker_id, "w1");
    cr_assert_eq (job->result_attempt, 3);
    zjob_job_destroy (&job);
    //  created, then per attempt: running, retrying (twice), then failed and dead
    cr_assert_eq (log.heard [2].event, ZJOB_EVENT_RETRYING);
    cr_assert_eq (log.heard [2].old_status, ZJOB_RUNNING);
    cr_assert_eq (log.heard [log.count - 2].event, ZJOB_EVENT_STATUS);
    cr_assert_eq (log.heard [log.count - 2].status, ZJOB_FAILED);
    cr_assert_eq (log.heard [log.count - 1].event, ZJOB_EVENT_DEAD_EXHAUSTED);
    zjob_manager_destroy (&manager);
}

Test (failure, the_retry_waits_for_its_backoff)
{
    zjob_retry_defaults_t defaults = { .backoff_base_ms = 60000, .jitter = ZJOB_JITTER_NONE };
    zjob_manager_t *manager = s_manager_with (&defaults, NULL, 0);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_UNSET);
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    s_make (manager, &spec, id);
    s_take (manager, "w1", taken);
    int64_t before = zjob_clock_ms ();
    cr_assert_eq (s_fail (manager, id, "w1", "boom", 1, false), 1);
    zjob_job_t *job = s_get (manager, id);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_geq (job->run_at, before + 60000);
    cr_assert_leq (job->run_at, zjob_clock_ms () + 60000);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_retrying (manager), 1);
    cr_assert_eq (zjob_manager_scheduled (manager), 1);
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w2"), "not before its run_at");
    cr_assert_eq (zjob_manager_next_due (manager) >= before + 60000, true);
    //  Promoted when due
    cr_assert_eq (zjob_manager_promote (manager, zjob_clock_ms () + 60001), 1);
    cr_assert_eq (zjob_manager_retrying (manager), 0);
    zjob_manager_destroy (&manager);
}

Test (failure, permanent_failures_are_not_retried)
{
    zjob_manager_t *manager = s_manager_with (NULL, NULL, 0);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_UNSET);
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    //  RESULT permanent
    s_make (manager, &spec, id);
    s_take (manager, "w1", taken);
    cr_assert_eq (s_fail (manager, id, "w1", "boom", 1, true), 1);
    cr_assert_eq (s_status (manager, id), ZJOB_FAILED);
    cr_assert_eq (log.heard [log.count - 1].event, ZJOB_EVENT_DEAD_PERMANENT);
    //  A kind in no_retry: the default list is bad_input
    s_make (manager, &spec, id);
    s_take (manager, "w1", taken);
    cr_assert_eq (s_fail (manager, id, "w1", "bad_input", 1, false), 1);
    cr_assert_eq (s_status (manager, id), ZJOB_FAILED);
    //  The spec's own list replaces it
    const char *kinds [] = { "quota" };
    spec.no_retry = kinds;
    spec.no_retry_count = 1;
    s_make (manager, &spec, id);
    s_take (manager, "w1", taken);
    cr_assert_eq (s_fail (manager, id, "w1", "bad_input", 1, false), 1);
    cr_assert_eq (s_status (manager, id), ZJOB_QUEUED, "bad_input is retried now");
    s_take (manager, "w1", taken);
    cr_assert_eq (s_fail (manager, id, "w1", "quota", 2, false), 1);
    cr_assert_eq (s_status (manager, id), ZJOB_FAILED);
    zjob_manager_destroy (&manager);
}

Test (failure, unlimited_attempts_only_when_asked)
{
    zjob_manager_t *manager = s_manager_with (NULL, NULL, 0);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_UNSET);
    spec.max_attempts = ZJOB_ATTEMPTS_UNLIMITED;
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    s_make (manager, &spec, id);
    for (uint32_t attempt = 1; attempt <= 10; attempt++) {
        s_take (manager, "w1", taken);
        cr_assert_eq (s_fail (manager, id, "w1", "boom", attempt, false), 1);
        cr_assert_eq (s_status (manager, id), ZJOB_QUEUED);
    }
    zjob_manager_destroy (&manager);
}

Test (failure, the_policy_comes_from_spec_workflow_and_broker_and_is_shared)
{
    zjob_retry_defaults_t defaults = { .max_attempts = 7, .backoff_base_ms = 20, .timeout_ms = 9000, .no_retry = "" };
    zjob_workflow_defaults_t workflows [] = {
        { "resize", { .max_attempts = 2, .backoff = ZJOB_BACKOFF_FIXED, .no_retry = "a,b" } }
    };
    zjob_manager_t *manager = s_manager_with (&defaults, workflows, 1);
    zjob_spec_t spec = s_spec ("other", ZJOB_PRIORITY_UNSET);
    char one [ZJOB_ID_LEN + 1], two [ZJOB_ID_LEN + 1], three [ZJOB_ID_LEN + 1];
    s_make (manager, &spec, one);
    s_make (manager, &spec, two);
    zjob_job_t *a = s_get (manager, one), *b = s_get (manager, two);
    cr_assert_eq (a->max_attempts, 7);
    cr_assert_eq (zjob_job_backoff (a), ZJOB_BACKOFF_EXPONENTIAL);
    cr_assert_eq (zjob_job_backoff_base_ms (a), 20);
    cr_assert_eq (zjob_job_backoff_max_ms (a), ZJOB_BACKOFF_MAX_DEFAULT_MS);
    cr_assert_eq (zjob_job_timeout_ms (a), 9000);
    size_t count = 9;
    zjob_job_no_retry (a, &count);
    cr_assert_eq (count, 0, "the broker's empty list");
    cr_assert_eq (a->policy, b->policy, "one policy shared");
    zjob_job_destroy (&a);
    zjob_job_destroy (&b);
    //  The workflow's defaults over the broker's; the spec's over both
    spec.workflow_id = "resize";
    s_make (manager, &spec, one);
    spec.max_attempts = 4;
    spec.timeout_ms = ZJOB_TIMEOUT_NONE;
    s_make (manager, &spec, two);
    s_make (manager, &spec, three);
    a = s_get (manager, one);
    b = s_get (manager, two);
    zjob_job_t *c = s_get (manager, three);
    cr_assert_eq (a->max_attempts, 2);
    cr_assert_eq (zjob_job_backoff (a), ZJOB_BACKOFF_FIXED);
    cr_assert_eq (zjob_job_timeout_ms (a), 9000);
    const char *const *kinds = zjob_job_no_retry (a, &count);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (kinds [1], "b");
    cr_assert_eq (b->max_attempts, 4);
    cr_assert_eq (zjob_job_timeout_ms (b), 0, "none, asked for");
    cr_assert_eq (zjob_job_backoff (b), ZJOB_BACKOFF_FIXED);
    cr_assert_neq (a->policy, b->policy);
    cr_assert_eq (b->policy, c->policy, "equal policies are interned");
    zjob_job_destroy (&a);
    zjob_job_destroy (&b);
    zjob_job_destroy (&c);
    zjob_manager_destroy (&manager);
}

Test (failure, a_lost_worker_is_a_failed_attempt_and_may_still_adopt)
{
    zjob_manager_t *manager = s_manager_with (NULL, NULL, 0);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_UNSET);
    spec.max_attempts = 2;
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    s_make (manager, &spec, id);
    s_take (manager, "w1", taken);
    cr_assert_eq (zjob_manager_worker_lost (manager, id, &err), ZJOB_LOST_REQUEUED);
    zjob_job_t *job = s_get (manager, id);
    cr_assert_eq (zjob_job_error_count (job), 1);
    cr_assert_str_eq (job->error_kind, "worker_lost");
    zjob_job_destroy (&job);
    //  The worker comes back: it adopts the job, the attempt goes on
    job = zjob_manager_adopt (manager, id, "w1", &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (job->attempts, 1);
    zjob_job_destroy (&job);
    //  Lost again on the last attempt... no: it is still attempt 1
    cr_assert_eq (zjob_manager_worker_lost (manager, id, &err), ZJOB_LOST_REQUEUED);
    s_take (manager, "w2", taken);
    cr_assert_eq (zjob_manager_worker_lost (manager, id, &err), ZJOB_LOST_FAILED);
    job = s_get (manager, id);
    cr_assert_eq (job->status, ZJOB_FAILED);
    cr_assert_str_eq (job->error_kind, "worker_lost");
    cr_assert_eq (zjob_job_error_count (job), 3);
    zjob_job_destroy (&job);
    zjob_manager_destroy (&manager);
}

//  A job its worker gives back unstarted goes back to the queue as if never
//  dispatched: no attempt, no history, no worker, nothing to adopt; only
//  the worker holding it running can give it back
Test (failure, a_job_given_back_costs_no_attempt)
{
    zjob_manager_t *manager = s_manager_with (NULL, NULL, 0);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_UNSET);
    spec.max_attempts = 1;
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    s_make (manager, &spec, id);
    s_take (manager, "w1", taken);
    cr_assert_eq (zjob_manager_give_back (manager, id, "w2", &err), 0, "not w2's");
    cr_assert_eq (zjob_manager_give_back (manager, "nope", "w1", &err), 0, "unknown");
    cr_assert_eq (zjob_manager_give_back (manager, id, "w1", &err), 1, "%s", err.text);
    zjob_job_t *job = s_get (manager, id);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_eq (job->attempts, 0);
    cr_assert_eq (job->started_at, 0);
    cr_assert_eq (job->run_at, 0);
    cr_assert_null (job->worker_id);
    cr_assert_eq (zjob_job_error_count (job), 0);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_active (manager), 0);
    cr_assert_eq (zjob_manager_queued (manager), 1);
    s_assert_counts (manager);
    cr_assert_null (zjob_manager_adopt (manager, id, "w1", &err), "never handed out now");
    cr_assert_eq (zjob_manager_give_back (manager, id, "w1", &err), 0, "queued: nothing to do");
    //  The next dispatch is the first attempt; a paused job is not given back
    s_take (manager, "w2", taken);
    job = s_get (manager, id);
    cr_assert_eq (job->attempts, 1);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_pause (manager, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_give_back (manager, id, "w2", &err), 0, "paused");
    cr_assert_eq (zjob_manager_worker_lost (manager, id, &err), ZJOB_LOST_REQUEUED);
    job = s_get (manager, id);
    cr_assert_eq (job->status, ZJOB_PAUSED);
    zjob_job_destroy (&job);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

//  Hears timed-out attempts
typedef struct {
    int count;
    char worker [32];
    uint32_t attempt;
    char reason [32];
} s_expired_t;

static void
s_on_expired (const zjob_job_t *job, const char *worker_id, uint32_t attempt, const char *reason,
              void *arg)
{
    (void) job;
    s_expired_t *expired = (s_expired_t *) arg;
    expired->count++;
    snprintf (expired->worker, sizeof (expired->worker), "%s", worker_id);
    expired->attempt = attempt;
    snprintf (expired->reason, sizeof (expired->reason), "%s", reason);
}

Test (failure, a_job_that_runs_too_long_times_out_and_its_late_result_is_ignored)
{
    zjob_manager_t *manager = s_manager_with (NULL, NULL, 0);
    s_log_t log = { .count = 0 };
    zjob_manager_set_listener (manager, s_listener, &log);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_UNSET);
    spec.timeout_ms = 30;
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    s_make (manager, &spec, id);
    cr_assert_eq (zjob_manager_next_deadline (manager), 0, "none until held");
    s_take (manager, "w1", taken);
    int64_t deadline = zjob_manager_next_deadline (manager);
    cr_assert_gt (deadline, 0);
    s_expired_t expired = { 0 };
    cr_assert_eq (zjob_manager_expire_step (manager, deadline - 1, 10, s_on_expired, &expired),
                  0);
    cr_assert_eq (expired.count, 0, "not before its deadline");
    size_t before = log.count;
    cr_assert_eq (zjob_manager_expire_step (manager, deadline, 10, s_on_expired, &expired), 0);
    cr_assert_eq (expired.count, 1);
    cr_assert_str_eq (expired.worker, "w1");
    cr_assert_eq (expired.attempt, 1);
    cr_assert_str_eq (expired.reason, "timeout");
    cr_assert_eq (log.heard [before].event, ZJOB_EVENT_TIMED_OUT, "timed_out first");
    cr_assert_eq (log.heard [before + 1].event, ZJOB_EVENT_RETRYING);
    zjob_job_t *job = s_get (manager, id);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_str_eq (job->error_kind, "timeout");
    cr_assert_str_eq (job->error_message, "ran longer than 30ms");
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_active (manager), 0, "let go");
    //  w1 still has the old attempt: the job goes to w2, not to w1
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w1"));
    s_take (manager, "w2", taken);
    cr_assert_str_eq (taken, id);
    //  w1's late result, with or without its attempt, is ignored
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_finish_attempt (manager, id, "w1", NULL, 0, true, s_outputs,
                                               sizeof (s_outputs), NULL, NULL, 1, false, &err),
                  0);
    cr_assert_eq (zjob_manager_finish (manager, id, "w1", NULL, 0, true, s_outputs,
                                       sizeof (s_outputs), NULL, NULL, &err),
                  0);
    cr_assert_eq (s_status (manager, id), ZJOB_RUNNING);
    //  w2's result wins, and says which attempt
    cr_assert_eq (zjob_manager_finish_attempt (manager, id, "w2", NULL, 0, true, s_outputs,
                                               sizeof (s_outputs), NULL, NULL, 2, false, &err),
                  1, "%s", err.text);
    job = s_get (manager, id);
    cr_assert_eq (job->status, ZJOB_COMPLETED);
    cr_assert_eq (job->result_attempt, 2);
    zjob_job_destroy (&job);
    //  The stale deadline of attempt 2 finds nothing to do
    cr_assert_eq (zjob_manager_expire_step (manager, zjob_clock_ms () + 100000, 10, s_on_expired,
                                            &expired),
                  0);
    cr_assert_eq (expired.count, 1);
    zjob_manager_destroy (&manager);
}

Test (failure, a_timed_out_worker_gets_the_job_again_once_it_lets_go)
{
    zjob_manager_t *manager = s_manager_with (NULL, NULL, 0);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_UNSET);
    spec.timeout_ms = 10;
    spec.max_attempts = 2;
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    s_make (manager, &spec, id);
    s_take (manager, "w1", taken);
    s_expired_t expired = { 0 };
    zjob_manager_expire_step (manager, zjob_clock_ms () + 1000, 10, s_on_expired, &expired);
    cr_assert_eq (expired.count, 1);
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w1"));
    zjob_manager_attempt_released (manager, id, "w1");
    s_take (manager, "w1", taken);
    //  The last attempt times out: dead
    zjob_manager_expire_step (manager, zjob_clock_ms () + 1000, 10, s_on_expired, &expired);
    cr_assert_eq (expired.count, 2);
    cr_assert_eq (expired.attempt, 2);
    zjob_job_t *job = s_get (manager, id);
    cr_assert_eq (job->status, ZJOB_FAILED);
    cr_assert_eq (zjob_job_error_count (job), 2);
    zjob_job_destroy (&job);
    zjob_manager_destroy (&manager);
}

Test (failure, progress_extends_a_heartbeat_timeout)
{
    zjob_manager_t *manager = s_manager_with (NULL, NULL, 0);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_UNSET);
    spec.heartbeat_timeout_ms = 40;
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    s_make (manager, &spec, id);
    s_take (manager, "w1", taken);
    int64_t first = zjob_manager_next_deadline (manager);
    s_let_time_pass (25);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_progress (manager, id, "w1", 0.5f, NULL, &err), 0);
    s_expired_t expired = { 0 };
    //  The first deadline comes: it has reported since, so it is moved on
    cr_assert_eq (zjob_manager_expire_step (manager, first, 10, s_on_expired, &expired), 0);
    cr_assert_eq (expired.count, 0);
    int64_t moved = zjob_manager_next_deadline (manager);
    cr_assert_geq (moved, first + 20);
    cr_assert_eq (zjob_manager_expire_step (manager, moved, 10, s_on_expired, &expired), 0);
    cr_assert_eq (expired.count, 1);
    cr_assert_str_eq (expired.reason, "heartbeat_timeout");
    zjob_job_t *job = s_get (manager, id);
    cr_assert_str_eq (job->error_message, "no progress for 40ms");
    zjob_job_destroy (&job);
    zjob_manager_destroy (&manager);
}

Test (failure, expire_steps_are_bounded)
{
    zjob_manager_t *manager = s_manager_with (NULL, NULL, 0);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_UNSET);
    spec.timeout_ms = 5;
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    for (int i = 0; i < 5; i++) {
        s_make (manager, &spec, id);
        s_take (manager, "w1", taken);
    }
    s_expired_t expired = { 0 };
    int64_t later = zjob_clock_ms () + 1000;
    cr_assert_eq (zjob_manager_expire_step (manager, later, 2, s_on_expired, &expired), 1);
    cr_assert_eq (expired.count, 2);
    cr_assert_eq (zjob_manager_expire_step (manager, later, 2, s_on_expired, &expired), 1);
    cr_assert_eq (zjob_manager_expire_step (manager, later, 2, s_on_expired, &expired), 0);
    cr_assert_eq (expired.count, 5);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (failure, a_job_without_a_policy_keeps_the_old_rules)
{
    //  A job of the previous version (no policy in its record): its
    //  failed result is final
    zjob_store_t *store = zjob_store_memory_new ();
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_UNSET);
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_job_new (&spec, &err);
    job->status = ZJOB_QUEUED;
    job->queued_at = zjob_clock_ms ();
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    strcpy (id, job->id);
    cr_assert_eq (zjob_store_put (store, job, &err), 0);
    zjob_job_destroy (&job);
    zjob_manager_config_t config = { .seed = 1 };
    zjob_manager_t *manager = zjob_manager_new (&store, &config, &err);
    s_take (manager, "w1", taken);
    cr_assert_eq (s_fail (manager, id, "w1", "boom", 0, false), 1);
    cr_assert_eq (s_status (manager, id), ZJOB_FAILED);
    zjob_manager_destroy (&manager);
}

Test (failure, a_lost_worker_can_take_back_a_job_whose_retry_waits_for_its_backoff)
{
    zjob_retry_defaults_t defaults = { .backoff_base_ms = 60000, .jitter = ZJOB_JITTER_NONE };
    zjob_manager_t *manager = s_manager_with (&defaults, NULL, 0);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_UNSET);
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    zjob_error_t err = { 0, "" };
    s_make (manager, &spec, id);
    s_take (manager, "w1", taken);
    cr_assert_eq (zjob_manager_worker_lost (manager, id, &err), ZJOB_LOST_REQUEUED);
    cr_assert_eq (zjob_manager_retrying (manager), 1, "the retry waits in the scheduled set");
    //  The worker comes back with the job: it adopts it out of the set
    zjob_job_t *job = zjob_manager_adopt (manager, id, "w1", &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (job->status, ZJOB_RUNNING);
    cr_assert_eq (job->attempts, 1, "the attempt goes on");
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_retrying (manager), 0);
    cr_assert_eq (zjob_manager_scheduled (manager), 0);
    s_assert_counts (manager);
    //  Lost again, and its result comes late: it still counts
    cr_assert_eq (zjob_manager_worker_lost (manager, id, &err), ZJOB_LOST_REQUEUED);
    cr_assert_eq (zjob_manager_finish_attempt (manager, id, "w1", NULL, 0, true, s_outputs,
                                               sizeof (s_outputs), NULL, NULL, 1, false, &err),
                  1, "%s", err.text);
    job = s_get (manager, id);
    cr_assert_eq (job->status, ZJOB_COMPLETED);
    cr_assert_eq (job->result_attempt, 1);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_retrying (manager), 0);
    s_assert_counts (manager);
    zjob_manager_destroy (&manager);
}

Test (failure, a_retry_survives_a_restart_on_a_file_store)
{
    char *dir = s_tmpdir ();
    char spec_text [1100];
    snprintf (spec_text, sizeof (spec_text), "file:%s", dir);
    zjob_error_t err = { 0, "" };
    zjob_manager_config_t config = {
        .defaults = { .backoff_base_ms = 60000, .jitter = ZJOB_JITTER_NONE }, .seed = 3
    };
    zjob_manager_t *manager = zjob_manager_open (spec_text, &config, &err);
    cr_assert_not_null (manager, "%s", err.text);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_UNSET);
    char id [ZJOB_ID_LEN + 1], taken [ZJOB_ID_LEN + 1];
    s_make (manager, &spec, id);
    s_take (manager, "w1", taken);
    cr_assert_eq (s_fail (manager, id, "w1", "boom", 1, false), 1);
    zjob_job_t *job = s_get (manager, id);
    int64_t run_at = job->run_at;
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_sync (manager, &err), 0);
    zjob_manager_destroy (&manager);
    manager = zjob_manager_open (spec_text, &config, &err);
    cr_assert_not_null (manager, "%s", err.text);
    job = s_get (manager, id);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_eq (job->run_at, run_at);
    cr_assert_eq (zjob_job_error_count (job), 1);
    cr_assert_eq (job->max_attempts, 3);
    cr_assert_eq (zjob_job_backoff_base_ms (job), 60000);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_retrying (manager), 1, "back in the scheduled set");
    cr_assert_null (zjob_manager_take (manager, NULL, 0, "w2"), "run at once after a restart");
    zjob_manager_destroy (&manager);
    s_tmpdir_remove (&dir);
}
