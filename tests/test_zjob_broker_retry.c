/*  =========================================================================
    test_zjob_broker_retry - failed attempts, retries, timeouts, the dead set

    A broker actor on tcp://127.0.0.1:* and raw worker sockets that fail,
    hang, go silent or answer late: a job that fails twice completes on
    its third attempt with both errors kept; a permanent failure is not
    retried; a job that runs too long (or reports no progress) is timed
    out, its worker told CANCEL {reason, attempt}, and the job retried
    elsewhere, then dead; a late result of a timed-out attempt is
    acknowledged and ignored; a silent worker's attempt counts; the
    defaults come from the broker's and the workflow's config. Backoff is
    kept small (50 ms, no jitter) and every wait has a deadline. Helpers in
    test_zjob_broker.h.
    ========================================================================= */

#include "test_zjob_broker.h"

//  Submit one job of workflow with the policy fields of spec set
static char *
s_submit_spec (zsock_t *client, zjob_spec_t *spec)
{
    zjob_msg_begin (s_builder, ZJOB_CMD_SUBMIT, ++s_request);
    zjob_msg_add_specs (s_builder, "jobs", spec, 1);
    zjob_msg_t *reply = s_call (client);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK, "SUBMIT refused");
    size_t count = 0;
    const char *const *ids = zjob_msg_strs (reply, "ids", &count);
    cr_assert_eq (count, 1);
    char *id = strdup (ids [0]);
    zjob_msg_destroy (&reply);
    return id;
}

static zjob_spec_t
s_spec_of (const char *workflow)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = workflow;
    spec.priority = ZJOB_PRIORITY_UNSET;
    return spec;
}

//  A failed RESULT for attempt (0: not said), permanent or not; returns
//  the answer's code
static int
s_fail (zsock_t *worker, const char *id, const char *kind, uint32_t attempt, bool permanent)
{
    uint64_t request = ++s_request;
    zjob_msg_begin (s_builder, ZJOB_CMD_RESULT, request);
    zjob_result_t result = { .id = id, .completed = false, .error_kind = kind, .error_message = "it broke", .attempt = attempt, .permanent = permanent };
    zjob_msg_add_results (s_builder, "results", &result, 1);
    s_send (worker);
    zjob_msg_t *reply = s_expect_keeping_jobs (worker, ZJOB_CMD_OK);
    cr_assert_not_null (reply, "RESULT not answered");
    int code = s_code (reply);
    zjob_msg_destroy (&reply);
    return code;
}

//  A completed RESULT for attempt; returns the answer's code
static int
s_complete (zsock_t *worker, const char *id, uint32_t attempt)
{
    uint8_t outputs [32];
    size_t size = s_map (outputs, sizeof (outputs), "n", 1);
    zjob_msg_begin (s_builder, ZJOB_CMD_RESULT, ++s_request);
    zjob_result_t result = { .id = id, .completed = true, .outputs = outputs, .outputs_size = size, .attempt = attempt };
    zjob_msg_add_results (s_builder, "results", &result, 1);
    s_send (worker);
    zjob_msg_t *reply = s_expect_keeping_jobs (worker, ZJOB_CMD_OK);
    cr_assert_not_null (reply, "RESULT not answered");
    int code = s_code (reply);
    zjob_msg_destroy (&reply);
    return code;
}

//  Wait until job id has status, with a deadline
static void
s_wait_status (zsock_t *client, const char *id, int status)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    int now = -1;
    while (zclock_mono () < deadline && (now = s_status (client, id)) != status)
        zclock_sleep (10);
    cr_assert_eq (now, status, "job %s is %s, not %s", id, zjob_status_name (now),
                  zjob_status_name (status));
}

//  Wait for a CANCEL on worker (answering its heartbeats); returns it
static zjob_msg_t *
s_cancel (zsock_t *worker)
{
    zjob_msg_t *cancel = s_expect_keeping_jobs (worker, ZJOB_CMD_CANCEL);
    cr_assert_not_null (cancel, "no CANCEL");
    return cancel;
}

//  Answer a CANCEL with OK {id}: the worker has let the job go
static void
s_let_go (zsock_t *worker, zjob_msg_t **cancel_p)
{
    zjob_msg_begin (s_builder, ZJOB_CMD_OK, zjob_msg_request_id (*cancel_p));
    zjob_msg_add_str (s_builder, "id", zjob_msg_str (*cancel_p, "id"));
    s_send (worker);
    zjob_msg_destroy (cancel_p);
}

Test (broker, a_handler_that_fails_twice_completes_on_attempt_3)
{
    s_start ("backoff-base", "50ms", "backoff-jitter", "none", NULL);
    zsock_t *sub = s_subscriber ("ev/retrying/");
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w-flaky", "scan", 1);
    zjob_spec_t spec = s_spec_of ("scan");
    char *id = s_submit_spec (client, &spec);
    for (uint32_t attempt = 1; attempt <= 2; attempt++) {
        zjob_job_t *job = s_take (worker, S_WAIT);
        cr_assert_not_null (job, "attempt %u not handed out", attempt);
        cr_assert_eq (job->attempts, attempt);
        zjob_job_destroy (&job);
        cr_assert_eq (s_fail (worker, id, "exception", attempt, false), ZJOB_OK);
    }
    zjob_msg_t *retrying = s_event (sub, "retrying", id);
    cr_assert_not_null (retrying, "no retrying event");
    cr_assert_str_eq (zjob_msg_str (retrying, "status"), "queued");
    cr_assert_str_eq (zjob_msg_str (retrying, "old_status"), "running");
    cr_assert_gt (zjob_msg_uint (retrying, "run_at", 0), 0, "the retry's time");
    cr_assert_str_eq (zjob_msg_str (retrying, "error_kind"), "exception");
    zjob_msg_destroy (&retrying);
    zjob_job_t *job = s_take (worker, S_WAIT);
    cr_assert_not_null (job, "attempt 3 not handed out");
    cr_assert_eq (job->attempts, 3);
    zjob_job_destroy (&job);
    cr_assert_eq (s_complete (worker, id, 3), ZJOB_OK);
    job = zjob_test_get (client, id);
    cr_assert_eq (job->status, ZJOB_COMPLETED);
    cr_assert_eq (job->attempts, 3);
    cr_assert_eq (job->max_attempts, 3, "the default");
    cr_assert_eq (zjob_job_error_count (job), 2, "both errors are kept");
    zjob_attempt_error_t entry;
    for (size_t index = 0; index < 2; index++) {
        cr_assert_eq (zjob_job_error_at (job, index, &entry), 0);
        cr_assert_eq (entry.attempt, index + 1);
        cr_assert_str_eq (entry.kind, "exception");
        cr_assert_str_eq (entry.worker_id, "w-flaky");
        cr_assert_gt (entry.at, 0);
    }
    cr_assert_eq (zjob_job_result_attempt (job), 3);
    zjob_job_destroy (&job);
    free (id);
    zsock_destroy (&sub);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}

Test (broker, a_permanent_failure_is_not_retried)
{
    s_start ("backoff-base", "50ms", "backoff-jitter", "none", NULL);
    zsock_t *sub = s_subscriber ("ev/dead/");
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w-strict", "scan", 1);
    zjob_spec_t spec = s_spec_of ("scan");
    //  RESULT permanent
    char *first = s_submit_spec (client, &spec);
    zjob_job_t *job = s_take (worker, S_WAIT);
    zjob_job_destroy (&job);
    cr_assert_eq (s_fail (worker, first, "exception", 1, true), ZJOB_OK);
    s_wait_status (client, first, ZJOB_FAILED);
    zjob_msg_t *dead = s_event (sub, "dead", first);
    cr_assert_not_null (dead);
    cr_assert_str_eq (zjob_msg_str (dead, "reason"), "permanent");
    zjob_msg_destroy (&dead);
    //  A kind of the spec's no_retry
    const char *kinds [] = { "quota" };
    spec.no_retry = kinds;
    spec.no_retry_count = 1;
    char *second = s_submit_spec (client, &spec);
    job = s_take (worker, S_WAIT);
    cr_assert_str_eq (job->id, second);
    zjob_job_destroy (&job);
    cr_assert_eq (s_fail (worker, second, "quota", 1, false), ZJOB_OK);
    s_wait_status (client, second, ZJOB_FAILED);
    job = zjob_test_get (client, second);
    cr_assert_eq (job->attempts, 1);
    cr_assert_eq (zjob_job_result_attempt (job), 1);
    zjob_job_destroy (&job);
    //  Both are in the dead set
    zjob_msg_begin (s_builder, ZJOB_CMD_STATS, ++s_request);
    zjob_msg_t *stats = s_call (client);
    cr_assert_eq (zjob_msg_uint (stats, "dead", 0), 2);
    zjob_msg_destroy (&stats);
    cr_assert_null (s_take_none (worker), "a permanent failure was retried");
    free (first);
    free (second);
    zsock_destroy (&sub);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}

Test (broker, a_job_past_its_timeout_is_cancelled_retried_and_then_dead)
{
    s_start ("backoff-base", "50ms", "backoff-jitter", "none", NULL);
    zsock_t *sub = s_subscriber ("ev/timed_out/");
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w-hang", "scan", 2);
    zjob_spec_t spec = s_spec_of ("scan");
    spec.timeout_ms = 200;
    spec.max_attempts = 2;
    char *id = s_submit_spec (client, &spec);
    zjob_job_t *job = s_take (worker, S_WAIT);
    cr_assert_not_null (job);
    zjob_job_destroy (&job);
    int64_t start = zclock_mono ();
    //  The handler hangs: the broker cancels the attempt, with its reason
    zjob_msg_t *cancel = s_cancel (worker);
    cr_assert_geq (zclock_mono () - start, 150, "cancelled before its timeout");
    cr_assert_str_eq (zjob_msg_str (cancel, "id"), id);
    cr_assert_str_eq (zjob_msg_str (cancel, "reason"), "timeout");
    cr_assert_eq (zjob_msg_uint (cancel, "attempt", 0), 1);
    zjob_msg_t *timed_out = s_event (sub, "timed_out", id);
    cr_assert_not_null (timed_out);
    cr_assert_str_eq (zjob_msg_str (timed_out, "reason"), "timeout");
    zjob_msg_destroy (&timed_out);
    s_wait_status (client, id, ZJOB_QUEUED);
    //  The worker still has attempt 1 (its CANCEL unanswered): attempt 2
    //  does not go to it, though it has a free slot
    cr_assert_null (s_take_none (worker), "the job went back to the worker that has it");
    s_let_go (worker, &cancel);
    job = s_take (worker, S_WAIT);
    cr_assert_not_null (job, "attempt 2 not handed out once the worker let go");
    cr_assert_eq (job->attempts, 2);
    zjob_job_destroy (&job);
    //  The last attempt times out too: dead, kind timeout
    cancel = s_cancel (worker);
    cr_assert_eq (zjob_msg_uint (cancel, "attempt", 0), 2);
    s_let_go (worker, &cancel);
    s_wait_status (client, id, ZJOB_FAILED);
    job = zjob_test_get (client, id);
    cr_assert_str_eq (job->error_kind, "timeout");
    cr_assert_str_eq (job->error_message, "ran longer than 200ms");
    cr_assert_eq (zjob_job_error_count (job), 2);
    zjob_job_destroy (&job);
    //  Its slots are free: a new job goes out
    char *next = zjob_test_submit (client, "scan", NULL, NULL);
    job = s_take (worker, S_WAIT);
    cr_assert_not_null (job, "the timed-out attempts' slots never came back");
    zjob_job_destroy (&job);
    free (next);
    free (id);
    zsock_destroy (&sub);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}

Test (broker, a_late_result_of_a_timed_out_attempt_is_acknowledged_and_ignored)
{
    s_start ("backoff-base", "50ms", "backoff-jitter", "none", NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *slow = s_worker ("w-slow", "scan", 1);
    zjob_spec_t spec = s_spec_of ("scan");
    spec.timeout_ms = 150;
    char *id = s_submit_spec (client, &spec);
    zjob_job_t *job = s_take (slow, S_WAIT);
    zjob_job_destroy (&job);
    zjob_msg_t *cancel = s_cancel (slow);
    zjob_msg_destroy (&cancel);
    zsock_t *fast = s_worker ("w-fast", "scan", 1);
    job = s_take (fast, S_WAIT);
    cr_assert_not_null (job);
    cr_assert_eq (job->attempts, 2);
    zjob_job_destroy (&job);
    //  The slow worker's result comes after all: OK, and nothing changes
    cr_assert_eq (s_complete (slow, id, 1), ZJOB_OK);
    cr_assert_eq (s_status (client, id), ZJOB_RUNNING);
    cr_assert_eq (s_complete (fast, id, 2), ZJOB_OK);
    job = zjob_test_get (client, id);
    cr_assert_eq (job->status, ZJOB_COMPLETED);
    cr_assert_eq (zjob_job_result_attempt (job), 2, "attempt 2 won");
    cr_assert_str_eq (job->worker_id, "w-fast");
    zjob_job_destroy (&job);
    free (id);
    zsock_destroy (&fast);
    zsock_destroy (&slow);
    zsock_destroy (&client);
}

//  Send PROGRESS on job id
static void
s_progress (zsock_t *worker, const char *id)
{
    zjob_msg_begin (s_builder, ZJOB_CMD_PROGRESS, ++s_request);
    zjob_msg_add_str (s_builder, "id", id);
    zjob_msg_add_float (s_builder, "progress", 0.5f);
    s_send (worker);
}

Test (broker, progress_keeps_a_heartbeat_timeout_away_and_silence_triggers_it)
{
    s_start ("backoff-base", "50ms", "backoff-jitter", "none", NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w-beat", "scan", 1);
    zjob_spec_t spec = s_spec_of ("scan");
    spec.heartbeat_timeout_ms = 300;
    spec.max_attempts = 1;
    char *id = s_submit_spec (client, &spec);
    zjob_job_t *job = s_take (worker, S_WAIT);
    zjob_job_destroy (&job);
    //  Progress every 100 ms for 900 ms: three heartbeat timeouts' worth
    int64_t until = zclock_mono () + 900;
    while (zclock_mono () < until) {
        s_progress (worker, id);
        zjob_msg_t *msg = zjob_test_recv (worker, ZJOB_ROUTE_BROKER_WORKER, 100);
        if (msg)
            cr_assert_neq (zjob_msg_command (msg), ZJOB_CMD_CANCEL,
                           "cancelled while reporting progress");
        zjob_msg_destroy (&msg);
    }
    cr_assert_eq (s_status (client, id), ZJOB_RUNNING);
    //  Then silence (heartbeats only): timed out
    zjob_msg_t *cancel = s_cancel (worker);
    cr_assert_str_eq (zjob_msg_str (cancel, "reason"), "heartbeat_timeout");
    zjob_msg_destroy (&cancel);
    s_wait_status (client, id, ZJOB_FAILED);
    job = zjob_test_get (client, id);
    cr_assert_str_eq (job->error_kind, "heartbeat_timeout");
    zjob_job_destroy (&job);
    free (id);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}

Test (broker, a_silent_worker_costs_an_attempt_and_the_job_dies_as_worker_lost)
{
    s_start ("heartbeat", "100ms", "backoff-base", "50ms", "backoff-jitter", "none", NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zjob_spec_t spec = s_spec_of ("scan");
    spec.max_attempts = 2;
    char *id = s_submit_spec (client, &spec);
    for (uint32_t attempt = 1; attempt <= 2; attempt++) {
        char worker_id [32];
        snprintf (worker_id, sizeof (worker_id), "w-silent-%u", attempt);
        zsock_t *worker = s_worker (worker_id, "scan", 1);
        zjob_job_t *job = s_take (worker, S_WAIT);
        cr_assert_not_null (job, "attempt %u not handed out", attempt);
        cr_assert_eq (job->attempts, attempt);
        zjob_job_destroy (&job);
        //  It says nothing more: found dead after 3 heartbeats
        s_wait_status (client, id, attempt < 2 ? ZJOB_QUEUED : ZJOB_FAILED);
        zsock_destroy (&worker);
    }
    zjob_job_t *job = zjob_test_get (client, id);
    cr_assert_str_eq (job->error_kind, "worker_lost");
    cr_assert_eq (zjob_job_error_count (job), 2);
    zjob_attempt_error_t entry;
    cr_assert_eq (zjob_job_error_at (job, 0, &entry), 0);
    cr_assert_str_eq (entry.worker_id, "w-silent-1");
    zjob_job_destroy (&job);
    free (id);
    zsock_destroy (&client);
}

Test (broker, the_defaults_come_from_the_workflow_then_the_broker)
{
    s_start ("max-attempts", "2", "job-timeout", "30s", "workflow/resize/max-attempts", "5",
             "workflow/resize/backoff", "fixed", NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zjob_spec_t spec = s_spec_of ("scan");
    char *scan = s_submit_spec (client, &spec);
    spec.workflow_id = "resize";
    char *resize = s_submit_spec (client, &spec);
    spec.max_attempts = ZJOB_ATTEMPTS_UNLIMITED;
    char *unlimited = s_submit_spec (client, &spec);
    zjob_job_t *job = zjob_test_get (client, scan);
    cr_assert_eq (job->max_attempts, 2, "the broker's default");
    cr_assert_eq (zjob_job_timeout_ms (job), 30000);
    cr_assert_eq (zjob_job_backoff (job), ZJOB_BACKOFF_EXPONENTIAL);
    zjob_job_destroy (&job);
    job = zjob_test_get (client, resize);
    cr_assert_eq (job->max_attempts, 5, "the workflow's default");
    cr_assert_eq (zjob_job_backoff (job), ZJOB_BACKOFF_FIXED);
    cr_assert_eq (zjob_job_timeout_ms (job), 30000);
    zjob_job_destroy (&job);
    job = zjob_test_get (client, unlimited);
    cr_assert_eq (job->max_attempts, 0, "max_attempts 0 on the wire: no limit");
    zjob_job_destroy (&job);
    free (scan);
    free (resize);
    free (unlimited);
    zsock_destroy (&client);
}

Test (broker, a_client_cancel_tells_the_worker_why)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w-told", "scan", 1);
    char *id = zjob_test_submit (client, "scan", NULL, NULL);
    zjob_job_t *job = s_take (worker, S_WAIT);
    cr_assert_not_null (job);
    zjob_job_destroy (&job);
    cr_assert_eq (s_operate (client, ZJOB_CMD_CANCEL, id, NULL, 0), ZJOB_OK);
    zjob_msg_t *cancel = s_cancel (worker);
    cr_assert_str_eq (zjob_msg_str (cancel, "id"), id);
    cr_assert_str_eq (zjob_msg_str (cancel, "reason"), "cancelled");
    cr_assert_eq (zjob_msg_uint (cancel, "attempt", 0), 1);
    s_let_go (worker, &cancel);
    free (id);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}
