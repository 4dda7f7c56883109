/*  =========================================================================
    test_zjob_cli_rerun - zjob retry, run-now, list --dead and the policy
    flags of submit, as a user runs them

    The real zjob binary against a real zjobd (test_zjob_cli_child.h) and
    the test's worker, whose workflow "fail" fails every job: a dead job
    is found with list --dead, re-run (dry run first), and fails again; a
    delayed job is made ready and completes; the JSON shapes and the exit
    codes of each.
    ========================================================================= */

#include "test_zjob_cli_child.h"

TestSuite (zjob_cli_rerun, .init = s_broker_start, .fini = s_broker_stop, .timeout = 120);

//  zjob wait ID; its exit code
static int
s_wait (const char *id)
{
    s_child_t *child = s_zjob ("wait", id, "--timeout", "10s");
    int code = child->code;
    s_child_destroy (&child);
    return code;
}

//  The status of job id, by zjob get --json
static char *
s_status_of (const char *id)
{
    s_child_t *child = s_zjob ("get", id, "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *job = s_json (child);
    char *status = strdup (json_string_value (json_object_get (job, "status")));
    json_decref (job);
    s_child_destroy (&child);
    return status;
}

Test (zjob_cli_rerun, a_dead_job_is_listed_rerun_and_fails_again)
{
    s_worker_t *worker = s_worker_start ();
    char *id = s_submit ("fail", "{}", "--max-attempts=1");
    cr_assert_eq (s_wait (id), 6);

    //  The dead set
    s_child_t *child = s_zjob ("list", "--dead", "--workflow", "fail", "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 1);
    cr_assert_str_eq (s_job_id (json_object_get (list, "jobs"), 0), id);
    json_decref (list);
    s_child_destroy (&child);
    child = s_zjob ("list", "--dead", "--workflow", "echo");
    s_assert_contains (child->out, "no jobs match");
    s_child_destroy (&child);

    //  A dry run by id: what would happen, nothing changes
    child = s_zjob ("retry", id, "--dry-run");
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "would be retried (nothing changed)");
    s_child_destroy (&child);
    char *status = s_status_of (id);
    cr_assert_str_eq (status, "failed");
    free (status);

    //  By filter, dry: the ids; then for real, attempts reset
    child = s_zjob ("retry", "--dead", "--workflow", "fail", "--dry-run", "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *reply = s_json (child);
    cr_assert (json_is_true (json_object_get (reply, "dry_run")));
    cr_assert_eq (json_integer_value (json_object_get (reply, "done")), 1);
    cr_assert_str_eq (json_string_value (json_array_get (json_object_get (reply, "ids"), 0)), id);
    json_decref (reply);
    s_child_destroy (&child);
    child = s_zjob ("retry", id, "--reset-attempts", "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    reply = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (reply, "operation")), "retry");
    cr_assert_str_eq (json_string_value (json_object_get (reply, "status")), "queued");
    json_decref (reply);
    s_child_destroy (&child);
    //  The worker fails it again: dead again, attempts counted from 0
    cr_assert_eq (s_wait (id), 6);
    child = s_zjob ("get", id, "--json");
    json_t *job = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (job, "attempts")), 1);
    cr_assert_str_eq (json_string_value (json_object_get (job, "status")), "failed");
    json_decref (job);
    s_child_destroy (&child);

    //  Bulk for real; then a job that is not failed is a conflict (exit 4)
    child = s_zjob ("retry", "--dead", "--workflow", "fail");
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "retried 1 job\n");
    s_child_destroy (&child);
    cr_assert_eq (s_wait (id), 6);
    char *done = s_submit ("echo", "{}", NULL);
    cr_assert_eq (s_wait (done), 0);
    child = s_zjob ("retry", done);
    cr_assert_eq (child->code, 4, "%s", child->err);
    s_assert_contains (child->err, "completed");
    s_child_destroy (&child);
    child = s_zjob ("retry", done, id, "--dry-run");
    cr_assert_eq (child->code, 4, "the first failure's code: %s", child->err);
    s_assert_contains (child->out, "would be retried: 1 job; 1 would fail");
    s_child_destroy (&child);
    free (done);
    free (id);
    s_worker_stop (&worker);
}

Test (zjob_cli_rerun, run_now_hands_out_a_delayed_job)
{
    s_worker_t *worker = s_worker_start ();
    char *id = s_submit ("echo", "{\"n\": 1}", "--delay=1h");
    char *status = s_status_of (id);
    cr_assert_str_eq (status, "queued");
    free (status);
    s_child_t *child = s_zjob ("run-now", id, "--dry-run", "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *reply = s_json (child);
    cr_assert (json_is_true (json_object_get (reply, "dry_run")));
    json_decref (reply);
    s_child_destroy (&child);
    child = s_zjob ("run-now", id);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "made ready");
    s_child_destroy (&child);
    cr_assert_eq (s_wait (id), 0, "not run after run-now");
    child = s_zjob ("run-now", id);
    cr_assert_eq (child->code, 4, "%s", child->err);
    s_assert_contains (child->err, "cannot run now");
    s_child_destroy (&child);
    child = s_zjob ("run-now", "01JD6ZQ8XKTBV3M9W2N4");
    cr_assert_eq (child->code, 3, "%s", child->err);
    s_child_destroy (&child);
    free (id);
    s_worker_stop (&worker);
}

Test (zjob_cli_rerun, submit_takes_the_policy_flags)
{
    s_child_t *child = s_zjob ("submit", "nobody", "--no-start", "--max-attempts", "0",
                               "--backoff", "fixed", "--backoff-base", "2s",
                               "--backoff-factor", "1.5", "--backoff-max", "1m", "--jitter",
                               "none", "--no-retry", "bad_input,quota", "--job-timeout", "30s",
                               "--heartbeat-timeout", "none");
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_child_destroy (&child);
    child = s_zjob_in ("{\"max_attempts\": 2, \"backoff\": \"exponential\", \"timeout_ms\": 0}\n",
                       "submit", "nobody", "--no-start", "--batch", "-", "--jitter", "full",
                       NULL);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_child_destroy (&child);
    child = s_zjob_in ("{\"backoff_factor\": 0.1}\n", "submit", "nobody", "--batch", "-",
                       NULL);
    cr_assert_eq (child->code, 2, "%s", child->err);
    s_assert_contains (child->err, "stdin line 1: backoff_factor");
    s_child_destroy (&child);
}
