/*  =========================================================================
    test_zjob_deps_e2e - job dependencies, as a user sees them

    Real processes only: zjobd (a file store in the test's directory, so
    that a kill -9 and a restart can be tried), zjob-worker running
    /bin/sh snippets, the client library and the zjob CLI. The issue's
    promises: a diamond graph (a -> b, c -> d) submitted in one batch by
    positions runs in order and d sees the outputs of b and c (the
    command prints ZJOB_PARENT_OUTPUTS into its outputs); a failed parent
    fails its children; a cycle in a batch is refused, naming a job on it;
    a waiting job survives a kill -9 of zjobd and is released when its
    last parent completes after the restart. Every process started here
    is stopped in the fini, and is killed by the kernel if the test
    process dies first.
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "zjob_client.h"
#include "zjob_json.h"
#include "helper_zjob_test.h"
#include "helper_zjob_e2e.h"

#define DEADLINE_MS ZJOB_E2E_DEADLINE_MS

//  Prints its id and its parents' outputs as its own outputs
#define ECHO_SCRIPT "echo \"{\\\"me\\\": \\\"$ZJOB_JOB_ID\\\", \\\"parents\\\": ${ZJOB_PARENT_OUTPUTS:-null}}\""

//  What one test started; the fini stops all of it
static zjob_e2e_t s_env;


//  --------------------------------------------------------------------------
//  Processes

//  Start zjob-worker number index serving workflow with the /bin/sh
//  snippet script, with slots slots
static void
s_worker_start (int index, const char *workflow, const char *slots, const char *script)
{
    const char *const options [] = { "--slots", slots, "--grace", "1", NULL };
    zjob_e2e_worker_start (&s_env, index, workflow, options, script);
}


//  --------------------------------------------------------------------------
//  Jobs

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

//  The job's outputs as JSON (free it)
static json_t *
s_outputs (const zjob_job_t *job)
{
    size_t size;
    const uint8_t *data = zjob_job_outputs (job, &size);
    cr_assert (data && size, "job %s has no outputs", zjob_job_id (job));
    zjob_error_t err;
    json_t *value = zjob_msgpack_to_json_value (data, size, &err);
    cr_assert_not_null (value, "outputs: %s", err.text);
    return value;
}

//  Run the zjob CLI with args; returns its exit status, its stdout in
//  s_cli_out
#define s_cli(...) zjob_e2e_cli (&s_env, __VA_ARGS__)
#define s_cli_out s_env.cli_out

//  `zjob submit ARGS...` (up to 4): the new job's id into id
static void
s_cli_submit (char *id, const char *a, const char *b, const char *c, const char *d)
{
    int rc = s_cli ("submit", a, b, c, d, NULL);
    cr_assert_eq (rc, 0, "zjob submit: exit %d (%s)", rc, s_cli_out);
    cr_assert_eq (strlen (s_cli_out), ZJOB_ID_LEN + 1, "submit printed '%s'", s_cli_out);
    memcpy (id, s_cli_out, ZJOB_ID_LEN);
    id [ZJOB_ID_LEN] = 0;
}


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

TestSuite (deps_e2e, .init = s_setup, .fini = s_teardown, .timeout = 120);


//  --------------------------------------------------------------------------
//  A diamond, by positions in one SUBMIT

Test (deps_e2e, a_diamond_runs_in_order_and_d_sees_b_and_c)
{
    s_worker_start (0, "dag", "4", ECHO_SCRIPT);
    //  jobs[0] = a, [1] = b, [2] = c (both after a), [3] = d (after b, c)
    const uint32_t on_a [] = { 0 }, on_bc [] = { 1, 2 };
    zjob_spec_t specs [4];
    memset (specs, 0, sizeof (specs));
    for (int index = 0; index < 4; index++) {
        specs [index].workflow_id = "dag";
        specs [index].priority = ZJOB_PRIORITY_UNSET;
    }
    specs [1].depends_on_index = specs [2].depends_on_index = on_a;
    specs [1].depends_on_index_count = specs [2].depends_on_index_count = 1;
    specs [3].depends_on_index = on_bc;
    specs [3].depends_on_index_count = 2;
    char ids [4][ZJOB_ID_LEN + 1];
    zjob_error_t err;
    cr_assert_eq (zjob_client_submit_batch (s_env.client, specs, 4, true, ids, &err), 0, "%s",
                  err.text);

    zjob_job_t *jobs [4];
    jobs [3] = s_expect_end (ids [3], ZJOB_COMPLETED);
    for (int index = 0; index < 3; index++)
        jobs [index] = s_expect_end (ids [index], ZJOB_COMPLETED);
    //  In order: each started after its parents completed
    for (int index = 1; index < 3; index++)
        cr_assert_geq (zjob_job_started_at (jobs [index]), zjob_job_completed_at (jobs [0]));
    cr_assert_geq (zjob_job_started_at (jobs [3]), zjob_job_completed_at (jobs [1]));
    cr_assert_geq (zjob_job_started_at (jobs [3]), zjob_job_completed_at (jobs [2]));
    size_t count;
    const char *const *parents = zjob_job_parents (jobs [3], &count);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (parents [0], ids [1]);
    cr_assert_str_eq (parents [1], ids [2]);

    //  d's command saw {b: b's outputs, c: c's outputs}
    json_t *outputs = s_outputs (jobs [3]);
    json_t *seen = json_object_get (outputs, "parents");
    cr_assert (json_is_object (seen), "d saw no parent outputs");
    cr_assert_eq (json_object_size (seen), 2);
    for (int index = 1; index < 3; index++) {
        json_t *parent = json_object_get (seen, ids [index]);
        cr_assert (json_is_object (parent), "d did not see %s's outputs", ids [index]);
        cr_assert_str_eq (json_string_value (json_object_get (parent, "me")), ids [index]);
        //  ... which saw a's
        json_t *grand = json_object_get (json_object_get (parent, "parents"), ids [0]);
        cr_assert_str_eq (json_string_value (json_object_get (grand, "me")), ids [0]);
    }
    json_decref (outputs);
    outputs = s_outputs (jobs [0]);
    cr_assert (json_is_null (json_object_get (outputs, "parents")), "a has no parents");
    json_decref (outputs);
    for (int index = 0; index < 4; index++)
        zjob_job_destroy (&jobs [index]);
}


//  --------------------------------------------------------------------------
//  A failed parent, from the CLI

Test (deps_e2e, a_failed_parent_fails_its_children)
{
    //  "bad" fails for good (exit 65); "dag" would echo
    s_worker_start (0, "bad", "1", "echo 'no way' >&2; exit 65");
    s_worker_start (1, "dag", "2", ECHO_SCRIPT);
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1], c [ZJOB_ID_LEN + 1];
    s_cli_submit (a, "bad", "--no-start", NULL, NULL);
    s_cli_submit (b, "dag", "--depends-on", a, NULL);
    char both [2 * ZJOB_ID_LEN + 2];
    snprintf (both, sizeof (both), "%s,%s", a, b);
    s_cli_submit (c, "dag", "--depends-on", both, NULL);
    //  Bad options exit 2, an unknown parent 3 (not found)
    cr_assert_eq (s_cli ("submit", "dag", "--depends-on", "nope", NULL), 2);
    cr_assert_eq (s_cli ("submit", "dag", "--depends-on", a, "--on-parent-failure", "maybe",
                         NULL),
                  2);
    cr_assert_eq (s_cli ("submit", "dag", "--depends-on", "0000000000000000000Z", NULL), 3);
    //  zjob get shows the parents and the children
    cr_assert_eq (s_cli ("get", b, NULL), 0);
    cr_assert (strstr (s_cli_out, "waiting"), "%s", s_cli_out);
    cr_assert (strstr (s_cli_out, a), "b's parent: %s", s_cli_out);
    cr_assert (strstr (s_cli_out, c), "b's child: %s", s_cli_out);
    cr_assert_eq (s_cli ("list", "--waiting-on", a, NULL), 0);
    cr_assert (strstr (s_cli_out, b) && strstr (s_cli_out, c), "%s", s_cli_out);
    cr_assert_eq (s_cli ("list", "--status", "waiting", NULL), 0);
    cr_assert (strstr (s_cli_out, b) && strstr (s_cli_out, c), "%s", s_cli_out);

    cr_assert_eq (s_cli ("start", a, NULL), 0, "%s", s_cli_out);
    zjob_job_t *job = s_expect_end (b, ZJOB_FAILED);
    cr_assert_str_eq (zjob_job_error_kind (job), "dependency_failed");
    cr_assert (strstr (zjob_job_error_message (job), a), "%s", zjob_job_error_message (job));
    cr_assert_eq (zjob_job_attempts (job), 0, "never run");
    zjob_job_destroy (&job);
    job = s_expect_end (c, ZJOB_FAILED);
    cr_assert_str_eq (zjob_job_error_kind (job), "dependency_failed");
    zjob_job_destroy (&job);
}


//  --------------------------------------------------------------------------
//  A cycle

Test (deps_e2e, a_cycle_in_a_batch_is_refused)
{
    const uint32_t on_next [] = { 1 }, on_first [] = { 0 };
    zjob_spec_t specs [3];
    memset (specs, 0, sizeof (specs));
    for (int index = 0; index < 3; index++) {
        specs [index].workflow_id = "dag";
        specs [index].priority = ZJOB_PRIORITY_UNSET;
    }
    specs [0].depends_on_index = on_next;
    specs [0].depends_on_index_count = 1;
    specs [1].depends_on_index = on_first;
    specs [1].depends_on_index_count = 1;
    char ids [3][ZJOB_ID_LEN + 1];
    zjob_error_t err;
    cr_assert_eq (zjob_client_submit_batch (s_env.client, specs, 3, true, ids, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST, "%d %s", err.code, err.text);
    cr_assert (strstr (err.text, "depends_on: cycle (") && strstr (err.text, "jobs[0]")
                   && strstr (err.text, "jobs[1]"),
               "%s", err.text);
    size_t count = 0;
    zjob_job_t **jobs = NULL;
    zjob_query_t query;
    memset (&query, 0, sizeof (query));
    cr_assert_eq (zjob_client_list (s_env.client, &query, &jobs, &count, NULL, &err), 0);
    cr_assert_eq (count, 0, "nothing of the batch was created");
    free (jobs);
}


//  --------------------------------------------------------------------------
//  kill -9 of the broker while a job waits

Test (deps_e2e, a_waiting_job_survives_kill_9_and_is_released)
{
    //  a has no worker yet: b waits for it across the crash
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1];
    s_cli_submit (a, "first", NULL, NULL, NULL);
    s_cli_submit (b, "dag", "--depends-on", a, NULL);
    zjob_job_t *job = s_get (b);
    cr_assert_eq (zjob_job_status (job), ZJOB_WAITING);
    zjob_job_destroy (&job);
    zjob_e2e_broker_kill (&s_env);
    zjob_e2e_broker_start (&s_env);
    job = s_get (b);
    cr_assert_eq (zjob_job_status (job), ZJOB_WAITING, "still waiting after the restart");
    zjob_job_destroy (&job);
    cr_assert_eq (s_cli ("get", a, NULL), 0);
    cr_assert (strstr (s_cli_out, b), "the children index is rebuilt: %s", s_cli_out);

    s_worker_start (0, "first", "1", ECHO_SCRIPT);
    s_worker_start (1, "dag", "1", ECHO_SCRIPT);
    job = s_expect_end (a, ZJOB_COMPLETED);
    zjob_job_destroy (&job);
    job = s_expect_end (b, ZJOB_COMPLETED);
    json_t *outputs = s_outputs (job);
    json_t *parent = json_object_get (json_object_get (outputs, "parents"), a);
    cr_assert_str_eq (json_string_value (json_object_get (parent, "me")), a);
    json_decref (outputs);
    zjob_job_destroy (&job);
}


//  --------------------------------------------------------------------------
//  Parent outputs from 64 KiB on: in a file

Test (deps_e2e, big_parent_outputs_come_in_a_file)
{
    //  The parent prints 70,000 x's; the child says what it was given
    s_worker_start (0, "big", "1",
                    "if [ -n \"$ZJOB_PARENT_OUTPUTS_FILE\" ]; then "
                    "echo \"{\\\"file\\\": \\\"$ZJOB_PARENT_OUTPUTS_FILE\\\", \\\"size\\\": "
                    "$(wc -c < \"$ZJOB_PARENT_OUTPUTS_FILE\"), \\\"env\\\": "
                    "\\\"${ZJOB_PARENT_OUTPUTS:-}\\\"}\"; "
                    "else printf '{\"big\": \"%s\"}' \"$(head -c 70000 /dev/zero | tr '\\0' x)\"; fi");
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1];
    s_cli_submit (a, "big", NULL, NULL, NULL);
    s_cli_submit (b, "big", "--depends-on", a, NULL);
    zjob_job_t *job = s_expect_end (b, ZJOB_COMPLETED);
    json_t *outputs = s_outputs (job);
    const char *file = json_string_value (json_object_get (outputs, "file"));
    cr_assert_not_null (file, "no ZJOB_PARENT_OUTPUTS_FILE");
    cr_assert_gt (json_integer_value (json_object_get (outputs, "size")), 70000);
    cr_assert_str_eq (json_string_value (json_object_get (outputs, "env")), "",
                      "not in the environment too");
    //  The worker removes it once the job is done
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (zsys_file_exists (file) && zjob_mono_ms () < deadline)
        zclock_sleep (10);  //  Polling for the file's removal
    cr_assert (!zsys_file_exists (file), "%s is left behind", file);
    json_decref (outputs);
    zjob_job_destroy (&job);
}
