/*  =========================================================================
    test_zjob_retry_e2e - when jobs fail, as a user sees it

    Real processes only: zjobd (a file store in the test's directory, so
    that a kill -9 and a restart can be tried), zjob-worker running
    /bin/sh snippets, the client library and the zjob CLI. Each test is
    one of the README's "When jobs fail" promises: a flaky job completes
    on a later attempt with every error kept, a permanent failure is not
    retried, a hanging command is killed at its timeout and retried, a
    worker killed with SIGKILL costs the job an attempt until it is dead,
    `zjob retry` brings a dead job back, and a retry waiting for its time
    survives a broker crash without running early. Backoffs are short and
    without jitter, so the tests know when a retry is due. Every process
    started here is stopped in the fini, and is killed by the kernel if
    the test process dies first.
    ========================================================================= */

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "zjob_client.h"
#include "zjob_json.h"
#include "helper_zjob_test.h"
#include "helper_zjob_e2e.h"

#define DEADLINE_MS ZJOB_E2E_DEADLINE_MS
#define CLI_BIN ZJOB_BIN_DIR "/zjob"

//  A command that writes its pid to $1/pid.N (N its attempt), then runs
//  until $1/stop exists, then prints {}
#define LOOP_SCRIPT                                              \
    "d=$1; echo $$ > \"$d/pid.tmp.$ZJOB_ATTEMPT\" && "           \
    "mv \"$d/pid.tmp.$ZJOB_ATTEMPT\" \"$d/pid.$ZJOB_ATTEMPT\"; " \
    "while [ ! -e \"$d/stop\" ]; do sleep 0.01; done; echo '{}'"

//  What one test started; the fini stops all of it
static zjob_e2e_t s_env;

//  --------------------------------------------------------------------------
//  Processes

#define s_path(name) zjob_e2e_path (&s_env, name)

//  Start zjob-worker number index serving workflow with LOOP_SCRIPT or
//  the /bin/sh snippet script ($1 is the test's directory)
static void
s_worker_start (int index, const char *workflow, const char *script)
{
    const char *const options [] = { "--grace", "1", NULL };
    zjob_e2e_worker_start (&s_env, index, workflow, options, script);
}

#define s_worker_kill(index) zjob_e2e_worker_kill (&s_env, index)

//  The pid the job's attempt wrote, once it is there (0 if it never is)
static pid_t
s_attempt_pid (uint32_t attempt)
{
    char name [32];
    snprintf (name, sizeof (name), "pid.%u", attempt);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (!zsys_file_exists (s_path (name)) && zjob_mono_ms () < deadline)
        zclock_sleep (5);  //  Polling for a file the job writes
    FILE *file = fopen (s_path (name), "r");
    cr_assert_not_null (file, "attempt %u did not start", attempt);
    int pid = 0;
    cr_assert_eq (fscanf (file, "%d", &pid), 1);
    fclose (file);
    return (pid_t) pid;
}

//  --------------------------------------------------------------------------
//  Jobs

//  Submit a job of workflow with {} inputs and the policy in spec (its
//  workflow and inputs are filled in here); id receives its id
static void
s_submit (const char *workflow, zjob_spec_t spec, char *id)
{
    spec.workflow_id = workflow;
    spec.priority = ZJOB_PRIORITY_UNSET;
    zjob_error_t err;
    cr_assert_eq (zjob_client_submit (s_env.client, &spec, true, id, &err), 0, "%s", err.text);
}

static zjob_job_t *
s_get (const char *id)
{
    zjob_error_t err;
    zjob_job_t *job = zjob_client_get (s_env.client, id, &err);
    cr_assert_not_null (job, "get %s: %s", id, err.text);
    return job;
}

//  Wait for the job to end with status; returns it (destroy it)
static zjob_job_t *
s_expect_end (const char *id, zjob_status_t status)
{
    zjob_error_t err;
    int end = zjob_client_wait (s_env.client, id, DEADLINE_MS, &err);
    cr_assert_geq (end, 0, "job %s did not end: %s", id, err.text);
    zjob_job_t *job = s_get (id);
    cr_assert_eq (end, status, "job %s ended %s, not %s (error %s: %s)", id,
                  zjob_status_name (end), zjob_status_name (status),
                  zjob_job_error_kind (job) ? zjob_job_error_kind (job) : "-",
                  zjob_job_error_message (job) ? zjob_job_error_message (job) : "-");
    return job;
}

//  Wait until the job has failed attempts attempts (its history says so)
//  and is queued again, waiting for its retry; returns it (destroy it)
static zjob_job_t *
s_expect_retrying (const char *id, uint32_t attempts)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (true) {
        zjob_job_t *job = s_get (id);
        if (zjob_job_error_count (job) >= attempts && zjob_job_status (job) == ZJOB_QUEUED)
            return job;
        cr_assert_lt (zjob_mono_ms (), deadline, "job %s: %s, %zu errors, not retrying", id,
                      zjob_status_name (zjob_job_status (job)), zjob_job_error_count (job));
        zjob_job_destroy (&job);
        zclock_sleep (10);  //  Polling the broker for a change
    }
}

//  Entry index of the job's history: attempt number and kind
static void
s_expect_error (const zjob_job_t *job, size_t index, uint32_t attempt, const char *kind)
{
    zjob_attempt_error_t entry;
    cr_assert_eq (zjob_job_error_at (job, index, &entry), 0, "no history entry %zu", index);
    cr_assert_eq (entry.attempt, attempt, "entry %zu is attempt %u", index, entry.attempt);
    cr_assert_str_eq (entry.kind, kind, "entry %zu: %s", index,
                      entry.message ? entry.message : "-");
    cr_assert_gt (entry.at, 0);
}

//  Run the zjob CLI with args; returns its exit status, its stdout in
//  s_cli_out
#define s_cli(...) zjob_e2e_cli (&s_env, __VA_ARGS__)
#define s_cli_out s_env.cli_out

//  --------------------------------------------------------------------------
//  Fixture: a broker on a file store and a client per test

static const char *const s_broker_args [] = { "--heartbeat", "200ms", "--log-level", "info",
                                              NULL };

static void
s_setup (void)
{
    zjob_e2e_setup (&s_env, s_broker_args, 2000, DEADLINE_MS);
}

static void
s_teardown (void)
{
    zjob_e2e_teardown (&s_env);
}

TestSuite (retry_e2e, .init = s_setup, .fini = s_teardown, .timeout = 120);

//  A quick retry: 50 ms, no jitter
#define QUICK .backoff = ZJOB_BACKOFF_FIXED, .backoff_base_ms = 50, .jitter = ZJOB_JITTER_NONE

//  --------------------------------------------------------------------------
//  Retries

Test (retry_e2e, a_flaky_job_completes_on_attempt_3_with_both_errors_kept)
{
    //  Fails its first two attempts (exit 3), completes on the third
    s_worker_start (0, "flaky",
                    "if [ \"$ZJOB_ATTEMPT\" -le 2 ]; then echo \"try $ZJOB_ATTEMPT\" >&2; exit 3; "
                    "fi; echo '{\"attempt\": '$ZJOB_ATTEMPT'}'");
    char id [ZJOB_ID_LEN + 1];
    s_submit ("flaky", (zjob_spec_t){ .max_attempts = 3, QUICK }, id);
    zjob_job_t *job = s_expect_end (id, ZJOB_COMPLETED);
    cr_assert_eq (zjob_job_attempts (job), 3);
    cr_assert_eq (zjob_job_result_attempt (job), 3, "attempt 3's result ended it");
    cr_assert_null (zjob_job_error_kind (job), "a completed job's errors are its history's");
    cr_assert_eq (zjob_job_error_count (job), 2);
    s_expect_error (job, 0, 1, "exit");
    s_expect_error (job, 1, 2, "exit");
    zjob_attempt_error_t entry;
    zjob_job_error_at (job, 1, &entry);
    cr_assert (entry.message && strstr (entry.message, "try 2"), "stderr kept: %s",
               entry.message ? entry.message : "-");
    cr_assert_not_null (entry.worker_id);
    zjob_job_destroy (&job);
}

Test (retry_e2e, a_permanent_failure_is_not_retried)
{
    //  Exit status 65 (EX_DATAERR) is zjob-worker's default permanent exit
    s_worker_start (0, "strict", "echo 'bad input' >&2; exit 65");
    char id [ZJOB_ID_LEN + 1];
    s_submit ("strict", (zjob_spec_t){ .max_attempts = 5, QUICK }, id);
    char strict [ZJOB_ID_LEN + 1];
    memcpy (strict, id, sizeof (strict));
    zjob_job_t *job = s_expect_end (id, ZJOB_FAILED);
    cr_assert_eq (zjob_job_attempts (job), 1, "a permanent failure is final on attempt 1");
    cr_assert_eq (zjob_job_error_count (job), 1);
    zjob_job_destroy (&job);
    //  And a kind in the job's no_retry list is final too
    s_worker_start (1, "kinds", "exit 3");
    const char *kinds [] = { "exit" };
    s_submit ("kinds", (zjob_spec_t){ .max_attempts = 5, QUICK, .no_retry = kinds, .no_retry_count = 1 }, id);
    job = s_expect_end (id, ZJOB_FAILED);
    cr_assert_eq (zjob_job_attempts (job), 1, "a no_retry kind is final on attempt 1");
    cr_assert_str_eq (zjob_job_error_kind (job), "exit");
    zjob_job_destroy (&job);
    //  The dead set holds both, and nothing else
    char waiting [ZJOB_ID_LEN + 1];
    s_submit ("kinds", (zjob_spec_t){ .run_at = zjob_clock_ms () + 60000 }, waiting);
    cr_assert_eq (s_cli ("list", "--dead", "--json", NULL), 0);
    cr_assert (strstr (s_cli_out, strict), "%s", s_cli_out);
    cr_assert (strstr (s_cli_out, id), "%s", s_cli_out);
    cr_assert_null (strstr (s_cli_out, waiting), "%s", s_cli_out);
}

Test (retry_e2e, a_hanging_command_is_killed_at_its_timeout_and_retried)
{
    s_worker_start (0, "hang", LOOP_SCRIPT);
    char id [ZJOB_ID_LEN + 1];
    s_submit ("hang", (zjob_spec_t){ .max_attempts = 2, .timeout_ms = 400, QUICK }, id);
    pid_t first = s_attempt_pid (1);
    //  The broker times attempt 1 out and zjob-worker kills its command
    cr_assert (zjob_test_wait_gone (first, DEADLINE_MS), "attempt 1's command is killed");
    pid_t second = s_attempt_pid (2);
    cr_assert_neq (first, second);
    zjob_job_t *job = s_expect_end (id, ZJOB_FAILED);
    cr_assert (zjob_test_wait_gone (second, DEADLINE_MS), "attempt 2's command is killed");
    cr_assert_eq (zjob_job_attempts (job), 2);
    cr_assert_eq (zjob_job_error_count (job), 2);
    s_expect_error (job, 0, 1, "timeout");
    s_expect_error (job, 1, 2, "timeout");
    cr_assert_str_eq (zjob_job_error_kind (job), "timeout");
    zjob_job_destroy (&job);
}

Test (retry_e2e, a_killed_worker_costs_an_attempt_until_the_job_is_dead)
{
    s_worker_start (0, "fragile", LOOP_SCRIPT);
    char id [ZJOB_ID_LEN + 1];
    s_submit ("fragile", (zjob_spec_t){ .max_attempts = 2, QUICK }, id);
    s_attempt_pid (1);
    s_worker_kill (0);
    //  The broker sees the connection close: attempt 1 failed, retried
    zjob_job_t *job = s_expect_retrying (id, 1);
    s_expect_error (job, 0, 1, "worker_lost");
    zjob_job_destroy (&job);
    s_worker_start (1, "fragile", LOOP_SCRIPT);
    s_attempt_pid (2);
    s_worker_kill (1);
    job = s_expect_end (id, ZJOB_FAILED);
    cr_assert_eq (zjob_job_attempts (job), 2);
    cr_assert_str_eq (zjob_job_error_kind (job), "worker_lost");
    s_expect_error (job, 1, 2, "worker_lost");
    zjob_job_destroy (&job);
}

Test (retry_e2e, zjob_retry_brings_a_dead_job_back_and_it_completes)
{
    //  Fails until $1/fixed exists: the bug is fixed, then the job re-run
    s_worker_start (0, "buggy", "if [ -e \"$1/fixed\" ]; then echo '{}'; else exit 3; fi");
    char id [ZJOB_ID_LEN + 1];
    s_submit ("buggy", (zjob_spec_t){ .max_attempts = 2, QUICK }, id);
    zjob_job_t *job = s_expect_end (id, ZJOB_FAILED);
    cr_assert_eq (zjob_job_attempts (job), 2);
    zjob_job_destroy (&job);
    FILE *fixed = fopen (s_path ("fixed"), "w");
    cr_assert_not_null (fixed);
    fclose (fixed);
    cr_assert_eq (s_cli ("retry", id, NULL), 0);
    job = s_expect_end (id, ZJOB_COMPLETED);
    cr_assert_eq (zjob_job_attempts (job), 3, "attempts are kept without --reset-attempts");
    cr_assert_eq (zjob_job_error_count (job), 2, "the history is kept");
    cr_assert_eq (zjob_job_result_attempt (job), 3);
    zjob_job_destroy (&job);
    //  A completed job cannot be re-run: exit 4, illegal transition
    cr_assert_eq (s_cli ("retry", id, NULL), 4);
}

//  --------------------------------------------------------------------------
//  Restarts

Test (retry_e2e, a_retry_waiting_for_its_time_survives_a_broker_crash)
{
    //  Attempt 1 fails; the retry is due 2 s later. The broker is killed
    //  and restarted meanwhile: the retry must neither be lost nor run
    //  before its time
    s_worker_start (0, "later", "if [ \"$ZJOB_ATTEMPT\" -le 1 ]; then exit 3; fi; echo '{}'");
    char id [ZJOB_ID_LEN + 1];
    s_submit ("later",
              (zjob_spec_t){ .max_attempts = 2, .backoff = ZJOB_BACKOFF_FIXED, .backoff_base_ms = 2000, .jitter = ZJOB_JITTER_NONE },
              id);
    zjob_job_t *job = s_expect_retrying (id, 1);
    int64_t run_at = zjob_job_run_at (job);
    zjob_attempt_error_t entry;
    cr_assert_eq (zjob_job_error_at (job, 0, &entry), 0);
    cr_assert_geq (run_at, entry.at + 2000 - 5, "the retry waits its backoff");
    zjob_job_destroy (&job);
    //  zjob status says so
    cr_assert_eq (s_cli ("status", id, NULL), 0);
    cr_assert (strstr (s_cli_out, "queued, retrying at "), "%s", s_cli_out);
    cr_assert (strstr (s_cli_out, ": attempt 2 of 2 after exit"), "%s", s_cli_out);
    zjob_e2e_restart (&s_env);
    job = s_get (id);
    cr_assert_eq (zjob_job_status (job), ZJOB_QUEUED, "still waiting after the restart");
    cr_assert_eq (zjob_job_run_at (job), run_at, "with the same time");
    zjob_job_destroy (&job);
    //  The worker reconnects by itself; the retry runs at its time
    job = s_expect_end (id, ZJOB_COMPLETED);
    cr_assert_eq (zjob_job_attempts (job), 2);
    cr_assert_geq (zjob_job_started_at (job), run_at, "attempt 2 did not start early");
    zjob_job_destroy (&job);
}

//  --------------------------------------------------------------------------
//  Watching

Test (retry_e2e, watch_shows_the_retry_and_the_attempt_that_completes)
{
    s_worker_start (0, "watched", "if [ \"$ZJOB_ATTEMPT\" -le 1 ]; then exit 3; fi; echo '{}'");
    char id [ZJOB_ID_LEN + 1];
    zjob_spec_t spec = { .workflow_id = "watched", .priority = ZJOB_PRIORITY_UNSET, .max_attempts = 2, QUICK };
    zjob_error_t err;
    cr_assert_eq (zjob_client_submit (s_env.client, &spec, false, id, &err), 0, "%s", err.text);
    char *argv [] = { CLI_BIN, "--broker", s_env.clients, "--events", s_env.events, "watch", id,
                      "--timeout", "20", NULL };
    int out = -1;
    pid_t pid = zjob_test_spawn_with (argv, &out, s_path ("cli.log"));
    cr_assert_gt (pid, 0);
    //  Start the job once watch has subscribed
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (true) {
        zjob_reply_t *reply = zjob_client_stats (s_env.client, &err);
        cr_assert_not_null (reply, "%s", err.text);
        uint64_t subscriptions = zjob_msg_uint (zjob_reply_msg (reply), "subscriptions", 0);
        zjob_reply_destroy (&reply);
        if (subscriptions > 0)
            break;
        cr_assert_lt (zjob_mono_ms (), deadline, "watch did not subscribe");
        zclock_sleep (10);  //  Polling the broker for the subscription
    }
    cr_assert_eq (zjob_client_start (s_env.client, id, &err), 0, "%s", err.text);
    char text [8192] = "";
    size_t size = 0;
    char *line;
    while ((line = zjob_test_read_line (out, DEADLINE_MS)) && size < sizeof (text) - 1) {
        size += (size_t) snprintf (text + size, sizeof (text) - size, "%s\n", line);
        free (line);
    }
    free (line);
    close (out);
    cr_assert_eq (zjob_test_wait_exit (pid, DEADLINE_MS), 0, "%s", text);
    cr_assert (strstr (text, "  retrying  "), "%s", text);
    cr_assert (strstr (text, "attempt 2"), "%s", text);
    cr_assert (strstr (text, "completed after"), "%s", text);
    cr_assert_null (strstr (text, "  progress  "), "no progress was reported: %s", text);
}
