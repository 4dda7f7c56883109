/*  =========================================================================
    test_zjob_schedule_e2e - recurring schedules, as a user sees them

    Real processes only: zjobd on a file store in the test's directory,
    zjob-worker running the jobs, the zjob CLI to add and pause schedules,
    the client library to read the jobs back. A schedule every second
    ("* * * * * *") makes one job per second while it is active (the
    count is checked against the time it was active, one off at either
    edge), each with its schedule and a distinct due time; and across a
    kill -9 of zjobd and a restart no due time makes two jobs, and none
    is lost but as the catch-up rule says: the one missed while down runs
    once at start, then the schedule goes on from the first slot after
    that. Nothing sleeps blindly: each wait polls a condition (or the
    clock) with a deadline.
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_client.h"
#include "zjob_json.h"
#include "zjob_job_impl.h"
#include "helper_zjob_test.h"
#include "helper_zjob_e2e.h"

#define DEADLINE_MS ZJOB_E2E_DEADLINE_MS

//  What one test started; the fini stops all of it
static zjob_e2e_t s_env;

#define s_cli(...) zjob_e2e_cli (&s_env, __VA_ARGS__)

//  The jobs schedule name made, sorted by scheduled_for (the caller
//  destroys them); checks each carries the schedule
static zjob_job_t **
s_scheduled_jobs (const char *name, size_t *count_p)
{
    zjob_query_t query;
    memset (&query, 0, sizeof (query));
    query.filter.schedule_id = name;
    zjob_job_t **jobs = NULL;
    zjob_error_t err;
    cr_assert_eq (zjob_client_list (s_env.client, &query, &jobs, count_p, NULL, &err), 0, "%s",
                  err.text);
    for (size_t i = 0; i < *count_p; i++) {
        cr_assert_str_eq (zjob_job_schedule (jobs [i]), name);
        for (size_t j = i + 1; j < *count_p; j++)
            if (zjob_job_scheduled_for (jobs [j]) < zjob_job_scheduled_for (jobs [i])) {
                zjob_job_t *swap = jobs [i];
                jobs [i] = jobs [j];
                jobs [j] = swap;
            }
    }
    return jobs;
}

static void
s_jobs_free (zjob_job_t **jobs, size_t count)
{
    for (size_t index = 0; index < count; index++)
        zjob_job_destroy (&jobs [index]);
    free (jobs);
}

//  Wait until schedule name has made at least count jobs; their number
static size_t
s_wait_jobs (const char *name, size_t count)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (true) {
        size_t found = 0;
        zjob_job_t **jobs = s_scheduled_jobs (name, &found);
        s_jobs_free (jobs, found);
        if (found >= count)
            return found;
        cr_assert_lt (zjob_mono_ms (), deadline, "%zu jobs of %s, not %zu", found, name, count);
        zclock_sleep (50);
    }
}

//  Wait until the wall clock passes when (ms UTC)
static void
s_wait_clock (int64_t when)
{
    cr_assert_lt (when - zjob_clock_ms (), DEADLINE_MS);
    while (zjob_clock_ms () < when)
        zclock_sleep (20);
}

static const char *const s_broker_args [] = { "--heartbeat", "200ms", "--log-level", "info",
                                              NULL };

static void
s_setup (void)
{
    zjob_e2e_setup (&s_env, s_broker_args, 2000, 0);
}

static void
s_teardown (void)
{
    zjob_e2e_teardown (&s_env);
}

TestSuite (schedule_e2e, .init = s_setup, .fini = s_teardown, .timeout = 120);

Test (schedule_e2e, every_second_for_five_seconds_makes_five_jobs_that_run)
{
    zjob_e2e_worker_start (&s_env, 0, "tick", NULL, "echo '{}'");
    zjob_error_t err;
    zjob_events_t *events = zjob_events_new (s_env.events, &err);
    cr_assert_not_null (events, "%s", err.text);
    cr_assert_eq (zjob_events_subscribe (events, "schedule_fired", NULL, NULL, &err), 0);
    int64_t added_before = zjob_clock_ms ();
    cr_assert_eq (s_cli ("schedule", "add", "tick", "--cron", "* * * * * *", "--workflow", "tick",
                         "--input", "n=1", NULL),
                  0);
    int64_t added_after = zjob_clock_ms ();
    //  Each due time's job is told as a schedule_fired event (the first may
    //  come before the subscription reaches the broker)
    zjob_event_info_t event;
    cr_assert_eq (zjob_events_recv (events, &event, DEADLINE_MS, &err), 0, "%s", err.text);
    cr_assert_str_eq (event.type, "schedule_fired");
    cr_assert_str_eq (event.workflow_id, "tick");
    cr_assert_eq (strlen (event.id), ZJOB_ID_LEN);
    zjob_events_destroy (&events);
    s_wait_clock (added_after + 5000);
    int64_t paused_before = zjob_clock_ms ();
    cr_assert_eq (s_cli ("schedule", "pause", "tick", NULL), 0);
    int64_t paused_after = zjob_clock_ms ();
    size_t count = 0;
    zjob_job_t **jobs = s_scheduled_jobs ("tick", &count);
    //  The whole seconds in the active window, one off at either edge
    int64_t least = (paused_before / 1000) - (added_after / 1000) - 1;
    int64_t most = (paused_after / 1000) - (added_before / 1000);
    cr_assert (count >= 4 && count <= 6, "%zu jobs over 5 s", count);
    cr_assert ((int64_t) count >= least && (int64_t) count <= most,
               "%zu jobs, between %lld and %lld expected", count, (long long) least,
               (long long) most);
    for (size_t index = 0; index < count; index++) {
        int64_t due = zjob_job_scheduled_for (jobs [index]);
        cr_assert_eq (due % 1000, 0);
        cr_assert (due > added_before && due <= paused_after, "due %lld outside", (long long) due);
        if (index)
            cr_assert_eq (due - zjob_job_scheduled_for (jobs [index - 1]), 1000,
                          "due times one second apart, none twice");
    }
    s_jobs_free (jobs, count);
    //  Paused: nothing more; each job runs to completion on the worker
    s_wait_clock (paused_after + 1500);
    size_t after = 0;
    jobs = s_scheduled_jobs ("tick", &after);
    cr_assert_eq (after, count, "a paused schedule made a job");
    for (size_t index = 0; index < after; index++) {
        int status = zjob_client_wait (s_env.client, zjob_job_id (jobs [index]), DEADLINE_MS, &err);
        cr_assert_eq (status, ZJOB_COMPLETED, "%s", err.text);
    }
    s_jobs_free (jobs, after);
    //  The CLI's filter finds them too, and run-now adds one
    cr_assert_eq (s_cli ("list", "--schedule", "tick", NULL), 0);
    cr_assert_eq (s_cli ("schedule", "run-now", "tick", NULL), 0);
    s_wait_jobs ("tick", after + 1);
    cr_assert_eq (s_cli ("schedule", "get", "nope", NULL), 3, "404 exits 3");
}

Test (schedule_e2e, a_kill_9_and_restart_neither_repeats_nor_loses_a_due_time)
{
    cr_assert_eq (s_cli ("schedule", "add", "beat", "--cron", "* * * * * *", "--workflow", "beat",
                         NULL),
                  0);
    s_wait_jobs ("beat", 3);
    int64_t killed = zjob_clock_ms ();
    zjob_e2e_broker_kill (&s_env);
    //  Down for two and a half seconds: two or three due times missed
    s_wait_clock (killed + 2500);
    int64_t restarted = zjob_clock_ms ();
    zjob_client_destroy (&s_env.client);
    zjob_e2e_broker_start (&s_env);
    zjob_error_t err;
    s_env.client = zjob_client_new (s_env.clients, 2000, &err);
    cr_assert_not_null (s_env.client, "%s", err.text);
    size_t before = 0;
    zjob_job_t **jobs = s_scheduled_jobs ("beat", &before);
    s_jobs_free (jobs, before);
    s_wait_jobs ("beat", before + 3);
    cr_assert_eq (s_cli ("schedule", "pause", "beat", NULL), 0);
    size_t count = 0;
    jobs = s_scheduled_jobs ("beat", &count);
    //  Due times strictly increasing (none twice), a second apart but for
    //  one gap: the run missed while down came once at start (created
    //  after the restart, due before the kill plus a second), and the
    //  next is the first slot after that
    size_t gaps = 0;
    for (size_t index = 1; index < count; index++) {
        int64_t due = zjob_job_scheduled_for (jobs [index]);
        int64_t previous = zjob_job_scheduled_for (jobs [index - 1]);
        cr_assert_gt (due, previous, "due time %lld twice", (long long) due);
        if (due - previous == 1000)
            continue;
        gaps++;
        cr_assert_geq (index, 3, "three runs came before the kill");
        const zjob_job_t *caught_up = jobs [index - 1];
        cr_assert_geq (zjob_job_created_at (caught_up), restarted,
                       "the run before the gap is the catch-up, made at start");
        cr_assert_leq (zjob_job_scheduled_for (caught_up), killed + 1000,
                       "the catch-up is the due time missed first");
        cr_assert_eq (zjob_job_scheduled_for (caught_up) - zjob_job_scheduled_for (jobs [index - 2]),
                      1000, "no due time lost before the catch-up");
        cr_assert_geq (due, restarted - 1000);
    }
    cr_assert_eq (gaps, 1, "%zu gaps in the due times", gaps);
    s_jobs_free (jobs, count);
}

//  A schedule that names a template, added with the CLI: its job is the
//  template's (workflow and inputs), and records the template and the
//  schedule; it runs on the template's workflow's worker.
Test (schedule_e2e, a_schedule_of_a_template_makes_the_templates_job)
{
    zjob_e2e_worker_start (&s_env, 0, "tpl-wf", NULL, "echo '{}'");
    cr_assert_eq (s_cli ("template", "set", "T", "--workflow", "tpl-wf", "--input", "a=1",
                         "--input", "b=two", NULL),
                  0);
    cr_assert_eq (s_cli ("schedule", "add", "S", "--cron", "* * * * * *", "--template", "T",
                         NULL),
                  0);
    s_wait_jobs ("S", 1);
    cr_assert_eq (s_cli ("schedule", "pause", "S", NULL), 0);
    size_t count = 0;
    zjob_job_t **jobs = s_scheduled_jobs ("S", &count);
    cr_assert_geq (count, 1);
    const zjob_job_t *job = jobs [0];
    cr_assert_str_eq (zjob_job_template (job), "T");
    cr_assert_str_eq (zjob_job_schedule (job), "S");
    cr_assert_str_eq (zjob_job_workflow (job), "tpl-wf");
    cr_assert_eq (zjob_job_scheduled_for (job) % 1000, 0);
    size_t size = 0;
    const uint8_t *data = zjob_job_inputs (job, &size);
    zjob_error_t err;
    char *inputs = zjob_msgpack_to_json (data, size, ZJOB_JSON_COMPACT, &err);
    cr_assert_not_null (inputs, "%s", err.text);
    cr_assert (strstr (inputs, "\"a\":1") && strstr (inputs, "\"b\":\"two\""), "inputs %s",
               inputs);
    free (inputs);
    int status = zjob_client_wait (s_env.client, zjob_job_id (job), DEADLINE_MS, &err);
    cr_assert_eq (status, ZJOB_COMPLETED, "%s", err.text);
    s_jobs_free (jobs, count);
}
