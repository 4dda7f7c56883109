/*  =========================================================================
    test_zjob_queue_e2e - per-workflow queue controls, as a user sees them

    Real processes only: zjobd on a file store in the test's directory,
    zjob-worker running /bin/sh snippets, the client library and the zjob
    CLI. A paused queue hands out nothing until it is resumed, also across
    a kill -9 of the broker; a concurrency limit of 2 holds at 2 with 10
    worker slots free; a rate of 5 a second hands out about 5 a second;
    unique jobs answer the job already there. Nothing waits by sleeping
    for a result: each check polls the broker against a deadline, and a
    check that something does NOT happen watches for a fixed window after
    the worker is known to have credit for it.
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

#define DEADLINE_MS 20000  //  msecs any expected thing may take
#define WATCH_MS 1000      //  msecs a test watches for what must not happen

//  A job that appends "s" when it starts and "e" when it ends to $1/log,
//  in between running until $1/stop exists
#define LOOP_SCRIPT                                     \
    "d=$1; echo s >> \"$d/log\"; "                      \
    "while [ ! -e \"$d/stop\" ]; do sleep 0.01; done; " \
    "echo e >> \"$d/log\"; echo '{}'"

//  What one test started; the fini stops all of it
static zjob_e2e_t s_env;

#define s_path(name) zjob_e2e_path (&s_env, name)

//  zjob-worker serving workflow with slots slots, running script
static void
s_worker_start (const char *workflow, int slots, const char *script)
{
    char slots_text [16];
    snprintf (slots_text, sizeof (slots_text), "%d", slots);
    const char *const options [] = { "--slots", slots_text, NULL };
    zjob_e2e_worker_start (&s_env, 0, workflow, options, script);
}

//  Run the zjob CLI with args; returns its exit status, stdout in s_cli_out
#define s_cli(...) zjob_e2e_cli (&s_env, __VA_ARGS__)
#define s_cli_out s_env.cli_out

//  Submit count jobs of workflow ({} inputs); ids (count entries) if set
static void
s_submit (const char *workflow, size_t count, char (*ids) [ZJOB_ID_LEN + 1])
{
    for (size_t index = 0; index < count; index++) {
        zjob_spec_t spec;
        memset (&spec, 0, sizeof (spec));
        spec.workflow_id = workflow;
        spec.priority = ZJOB_PRIORITY_UNSET;
        char id [ZJOB_ID_LEN + 1];
        zjob_error_t err;
        cr_assert_eq (zjob_client_submit (s_env.client, &spec, true, id, &err), 0, "%s",
                      err.text);
        if (ids)
            memcpy (ids [index], id, sizeof (id));
    }
}

//  The counts of workflow in status, from STATS
static uint64_t
s_count (const char *workflow, const char *status)
{
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_stats (s_env.client, &err);
    cr_assert_not_null (reply, "stats: %s", err.text);
    json_t *stats = zjob_msgpack_object_to_json (zjob_msg_body (zjob_reply_msg (reply)));
    json_t *counts = json_object_get (json_object_get (stats, "by_workflow"), workflow);
    uint64_t count = (uint64_t) json_integer_value (json_object_get (counts, status));
    json_decref (stats);
    zjob_reply_destroy (&reply);
    return count;
}

//  STATS' held reason for workflow, or "" (a static copy)
static const char *
s_held (const char *workflow)
{
    static char reason [32];
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_stats (s_env.client, &err);
    cr_assert_not_null (reply, "stats: %s", err.text);
    json_t *stats = zjob_msgpack_object_to_json (zjob_msg_body (zjob_reply_msg (reply)));
    const char *value = json_string_value (json_object_get (json_object_get (stats, "held"),
                                                            workflow));
    snprintf (reason, sizeof (reason), "%s", value ? value : "");
    json_decref (stats);
    zjob_reply_destroy (&reply);
    return reason;
}

//  Wait until the connected worker has credit for slots jobs (it is
//  registered and could take them)
static void
s_wait_worker_credit (int slots)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (true) {
        zjob_error_t err;
        zjob_reply_t *reply = zjob_client_workers (s_env.client, &err);
        cr_assert_not_null (reply, "workers: %s", err.text);
        json_t *body = zjob_msgpack_object_to_json (zjob_msg_body (zjob_reply_msg (reply)));
        json_t *worker = json_array_get (json_object_get (body, "workers"), 0);
        json_int_t credit = json_integer_value (json_object_get (worker, "credit"));
        json_decref (body);
        zjob_reply_destroy (&reply);
        if (credit >= slots)
            return;
        cr_assert_lt (zjob_mono_ms (), deadline, "the worker never had %d credit", slots);
        zclock_sleep (20);  //  Polling the broker for a change
    }
}

//  Wait until workflow has count jobs in status
static void
s_wait_count (const char *workflow, const char *status, uint64_t count)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    uint64_t now;
    while ((now = s_count (workflow, status)) != count) {
        cr_assert_lt (zjob_mono_ms (), deadline, "%s: %" PRIu64 " %s, not %" PRIu64, workflow,
                      now, status, count);
        zclock_sleep (20);  //  Polling the broker for a change
    }
}

//  For WATCH_MS, running of workflow must stay at most max and queued at
//  least min_queued: what a limit promises
static void
s_watch (const char *workflow, uint64_t max, uint64_t min_queued)
{
    int64_t end = zjob_mono_ms () + WATCH_MS;
    while (zjob_mono_ms () < end) {
        uint64_t running = s_count (workflow, "running");
        cr_assert_leq (running, max, "%s: %" PRIu64 " running, limit %" PRIu64, workflow,
                       running, max);
        cr_assert_geq (s_count (workflow, "queued"), min_queued);
        zclock_sleep (20);  //  Sampling while watching for a breach
    }
}

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

TestSuite (queue_e2e, .init = s_setup, .fini = s_teardown, .timeout = 120);

Test (queue_e2e, a_paused_queue_hands_out_nothing_until_resumed)
{
    cr_assert_eq (s_cli ("queue", "pause", "mail", NULL), 0, "%s", s_cli_out);
    cr_assert (strstr (s_cli_out, "mail: paused"), "%s", s_cli_out);
    s_submit ("mail", 3, NULL);
    s_worker_start ("mail", 4, "echo '{}'");
    s_wait_worker_credit (4);
    s_watch ("mail", 0, 3);
    cr_assert_str_eq (s_held ("mail"), "paused");
    cr_assert_eq (s_cli ("stats", NULL), 0);
    cr_assert (strstr (s_cli_out, "1 paused"), "%s", s_cli_out);
    cr_assert (strstr (s_cli_out, "mail: ready jobs held back by its paused queue"), "%s",
               s_cli_out);
    cr_assert_eq (s_cli ("queue", "list", NULL), 0);
    cr_assert (strstr (s_cli_out, "paused") && strstr (s_cli_out, "mail"), "%s", s_cli_out);

    cr_assert_eq (s_cli ("queue", "resume", "mail", NULL), 0, "%s", s_cli_out);
    s_wait_count ("mail", "completed", 3);
    cr_assert_str_eq (s_held ("mail"), "");
}

Test (queue_e2e, a_concurrency_limit_of_2_holds_with_10_slots_free)
{
    cr_assert_eq (s_cli ("queue", "limit", "render", "--concurrency", "2", NULL), 0, "%s",
                  s_cli_out);
    s_submit ("render", 8, NULL);
    s_worker_start ("render", 10, LOOP_SCRIPT);
    s_wait_count ("render", "running", 2);
    s_watch ("render", 2, 6);
    cr_assert_str_eq (s_held ("render"), "concurrency");
    //  Let them all go: two at a time, to the end
    FILE *stop = fopen (s_path ("stop"), "w");
    cr_assert_not_null (stop);
    fclose (stop);
    s_wait_count ("render", "completed", 8);
    //  The jobs' own log: never more than two between an s and its e
    FILE *log = fopen (s_path ("log"), "r");
    cr_assert_not_null (log);
    int running = 0, most = 0, started = 0, line;
    while ((line = fgetc (log)) != EOF) {
        if (line == 's') {
            started++;
            if (++running > most)
                most = running;
        }
        else if (line == 'e')
            running--;
    }
    fclose (log);
    cr_assert_eq (started, 8);
    cr_assert_leq (most, 2, "%d ran at once", most);
}

Test (queue_e2e, a_rate_of_5_a_second)
{
    cr_assert_eq (s_cli ("queue", "limit", "mail", "--rate", "5", "--burst", "1", NULL), 0,
                  "%s", s_cli_out);
    char ids [16][ZJOB_ID_LEN + 1];
    s_submit ("mail", 16, ids);
    int64_t start = zjob_mono_ms ();
    s_worker_start ("mail", 10, "echo '{}'");
    s_wait_count ("mail", "completed", 16);
    //  Their start times: 16 jobs with one token at first and 5 a second
    //  after span about 3 s (a loose bound: 2.4 to 6 s)
    int64_t first = INT64_MAX, last = 0;
    for (int index = 0; index < 16; index++) {
        zjob_error_t err;
        zjob_job_t *job = zjob_client_get (s_env.client, ids [index], &err);
        cr_assert_not_null (job, "%s", err.text);
        int64_t at = zjob_job_started_at (job);
        first = at < first ? at : first;
        last = at > last ? at : last;
        zjob_job_destroy (&job);
    }
    double seconds = (double) (last - first) / 1000.0;
    double rate = 15.0 / seconds;
    cr_assert (rate >= 2.5 && rate <= 6.3, "%.2f jobs/s over %.2f s", rate, seconds);
    cr_assert_lt (zjob_mono_ms () - start, DEADLINE_MS);
}

Test (queue_e2e, a_pause_survives_a_kill_9_and_restart)
{
    cr_assert_eq (s_cli ("queue", "pause", "mail", NULL), 0, "%s", s_cli_out);
    cr_assert_eq (s_cli ("queue", "limit", "mail", "--concurrency", "3", NULL), 0, "%s",
                  s_cli_out);
    s_submit ("mail", 2, NULL);
    zjob_e2e_restart (&s_env);
    s_worker_start ("mail", 4, "echo '{}'");
    s_wait_worker_credit (4);
    s_watch ("mail", 0, 2);
    cr_assert_str_eq (s_held ("mail"), "paused");
    cr_assert_eq (s_cli ("--json", "queue", "list", NULL), 0);
    cr_assert (strstr (s_cli_out, "\"concurrency\": 3"), "the limit too: %s", s_cli_out);
    cr_assert_eq (s_cli ("queue", "resume", "mail", NULL), 0, "%s", s_cli_out);
    s_wait_count ("mail", "completed", 2);
}

Test (queue_e2e, a_unique_job_is_not_queued_twice)
{
    cr_assert_eq (s_cli ("submit", "report", "--unique", "daily", NULL), 0, "%s", s_cli_out);
    char first [ZJOB_ID_LEN + 1];
    cr_assert_eq (sscanf (s_cli_out, "%20s", first), 1);
    cr_assert_eq (s_cli ("submit", "report", "--unique", "daily", NULL), 0, "%s", s_cli_out);
    cr_assert (strstr (s_cli_out, first), "the second answers the first: %s", s_cli_out);
    cr_assert_eq (s_count ("report", "queued"), 1);
    //  Once it is done, the key is free again
    s_worker_start ("report", 1, "echo '{}'");
    s_wait_count ("report", "completed", 1);
    cr_assert_eq (s_cli ("submit", "report", "--unique", "daily", NULL), 0, "%s", s_cli_out);
    cr_assert_null (strstr (s_cli_out, first), "a new job: %s", s_cli_out);
    s_wait_count ("report", "completed", 2);
}

Test (queue_e2e, pause_and_resume_are_events)
{
    zjob_error_t err;
    zjob_events_t *events = zjob_events_new (s_env.events, &err);
    cr_assert_not_null (events, "%s", err.text);
    cr_assert_eq (zjob_events_subscribe (events, "queue_resumed", NULL, NULL, &err), 0);
    //  The broker learns of the subscription a little later: pause and
    //  resume until a resume is heard
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    zjob_event_info_t event;
    while (true) {
        cr_assert_eq (zjob_client_queue_pause (s_env.client, "mail", &err), 0, "%s", err.text);
        cr_assert_eq (zjob_client_queue_resume (s_env.client, "mail", &err), 0, "%s", err.text);
        if (zjob_events_recv (events, &event, 100, &err) == 0)
            break;
        cr_assert_lt (zjob_mono_ms (), deadline, "no queue_resumed event");
    }
    cr_assert_str_eq (event.type, "queue_resumed");
    cr_assert_str_eq (event.workflow_id, "mail");
    //  A resume of a queue that is not paused changes nothing: no event
    cr_assert_eq (zjob_client_queue_resume (s_env.client, "mail", &err), 0, "%s", err.text);
    cr_assert_eq (zjob_events_recv (events, &event, 300, &err), -1, "got %s", event.type);
    zjob_events_destroy (&events);
}
