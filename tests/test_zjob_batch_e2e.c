/*  =========================================================================
    test_zjob_batch_e2e - batches as a user sees them

    Real processes only: zjobd (a file store in the test's directory, so
    that a kill -9 and a restart can be tried), zjob-worker running
    /bin/sh snippets, the client library and the zjob CLI. A batch of
    1,000 jobs, some of which fail for good, reports its counts and runs
    its callback once, with the summary in the callback's inputs; a batch
    cancel cancels every member and leaves the batch failed; counts and
    the callback survive a kill -9 of the broker. Every process started
    here is stopped in the fini.
    ========================================================================= */

#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "zjob_client.h"
#include "zjob_worker.h"
#include "helper_zjob_test.h"
#include "helper_zjob_e2e.h"

#define DEADLINE_MS 60000  //  msecs any expected thing may take
//  msecs the 1,000 jobs may take (a library worker runs them, in
//  well under a second on an idle machine)
#define BIG_DEADLINE_MS 120000

//  A member: fails for good (exit 65, permanent: not retried) when its
//  inputs say "fail"
#define MEMBER_SCRIPT "read line; case \"$line\" in *fail*) exit 65;; esac; echo '{}'"
//  The callback: writes its inputs to $1/callback.<job id> (whole: moved
//  into place once written)
#define CALLBACK_SCRIPT                 \
    "cat > \"$1/tmp.$ZJOB_JOB_ID\" && " \
    "mv \"$1/tmp.$ZJOB_JOB_ID\" \"$1/callback.$ZJOB_JOB_ID\"; echo '{}'"

//  What one test started; the fini stops all of it
static zjob_e2e_t s_env;

#define s_path(name) zjob_e2e_path (&s_env, name)

//  Start worker index for workflow on slots slots, running script
static void
s_worker_start (int index, const char *workflow, const char *slots, const char *script)
{
    const char *const options [] = { "--slots", slots, "--grace", "1", NULL };
    zjob_e2e_worker_start (&s_env, index, workflow, options, script);
}

//  Run the zjob CLI with args; returns its exit status, stdout in s_cli_out
#define s_cli(...) zjob_e2e_cli (&s_env, __VA_ARGS__)
#define s_cli_out s_env.cli_out

//  Kill zjobd, start it again and connect a new client
#define s_restart() zjob_e2e_restart (&s_env)

//  The callback files the callback jobs wrote; the last one's path in path
static int
s_callbacks (char *path, size_t size)
{
    DIR *dir = opendir (s_env.dir);
    cr_assert_not_null (dir);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)))
        if (strncmp (entry->d_name, "callback.", 9) == 0) {
            count++;
            if (path)
                snprintf (path, size, "%s/%s", s_env.dir, entry->d_name);
        }
    closedir (dir);
    return count;
}

static zjob_batch_info_t
s_show (const char *id)
{
    zjob_batch_info_t info;
    zjob_error_t err;
    cr_assert_eq (zjob_client_batch_show (s_env.client, id, &info, &err), 0, "show %s: %s", id,
                  err.text);
    return info;
}

//  Wait until batch id has finished; returns it
static zjob_batch_info_t
s_wait_finished (const char *id)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (true) {
        zjob_batch_info_t info = s_show (id);
        if (streq (info.state, "completed") || streq (info.state, "failed"))
            return info;
        cr_assert_lt (zjob_mono_ms (), deadline, "batch %s still %s: %" PRIu64 " pending", id,
                      info.state, info.pending);
        zclock_sleep (50);  //  Polling the broker for a change
    }
}

//  Wait until count callback files exist (and stay that many); path: the last
static void
s_expect_callbacks (int count, char *path, size_t size)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (s_callbacks (NULL, 0) < count) {
        cr_assert_lt (zjob_mono_ms (), deadline, "the callback did not run");
        zclock_sleep (20);  //  Polling for the file the callback writes
    }
    cr_assert_eq (s_callbacks (path, size), count, "the callback ran more than once");
}

static char *
s_slurp (const char *path)
{
    FILE *file = fopen (path, "r");
    cr_assert_not_null (file, "%s", path);
    static char text [8192];
    size_t got = fread (text, 1, sizeof (text) - 1, file);
    text [got] = 0;
    fclose (file);
    return text;
}

static void
s_setup (void)
{
    zjob_e2e_setup (&s_env, NULL, 5000, DEADLINE_MS);
    //  batch watch prints once the whole batch has ended
    s_env.cli_line_ms = BIG_DEADLINE_MS;
}

static void
s_teardown (void)
{
    zjob_e2e_teardown (&s_env);
}

TestSuite (batch_e2e, .init = s_setup, .fini = s_teardown, .timeout = 240);

//  The members of the big batch run in this process, on the library's
//  worker API: a /bin/sh per member made the test's time the machine's
//  fork rate (about 5 a second on a busy CI host), not the broker's.
typedef struct {
    zjob_worker_t *worker;
    pthread_t thread;
} s_member_worker_t;

//  A member: fails for good when its inputs hold the key "fail"
static uint8_t *
s_member (zjob_task_t *task, size_t *size_p, void *arg)
{
    (void) arg;
    size_t size;
    const uint8_t *inputs = zjob_task_inputs (task, &size);
    if (memmem (inputs, size, "fail", 4)) {
        zjob_task_fail_permanent (task, "test", "asked to fail");
        return NULL;
    }
    uint8_t *outputs = (uint8_t *) malloc (1);
    outputs [0] = 0x80;  //  {}
    *size_p = 1;
    return outputs;
}

static void *
s_member_run (void *arg)
{
    zjob_worker_run ((zjob_worker_t *) arg, s_member, NULL, NULL);
    return NULL;
}

static void
s_member_start (s_member_worker_t *self)
{
    const char *const workflows [] = { "member" };
    zjob_error_t err;
    self->worker = zjob_worker_new (s_env.workers, "members", workflows, 1, 16, &err);
    cr_assert_not_null (self->worker, "%s", err.text);
    cr_assert_eq (pthread_create (&self->thread, NULL, s_member_run, self->worker), 0);
}

static void
s_member_stop (s_member_worker_t *self)
{
    zjob_worker_stop (self->worker);
    pthread_join (self->thread, NULL);
    zjob_worker_destroy (&self->worker);
}

#define BATCH_SIZE 1000
#define FAILING 50  //  Every twentieth member fails for good

//  {"fail": true} and {"n": 1} as msgpack
static const uint8_t s_fail [] = { 0x81, 0xa4, 'f', 'a', 'i', 'l', 0xc3 };
static const uint8_t s_fine [] = { 0x81, 0xa1, 'n', 0x01 };

Test (batch_e2e, a_batch_of_1000_reports_its_counts_and_calls_back_once)
{
    s_member_worker_t members;
    s_member_start (&members);
    s_worker_start (1, "after", "1", CALLBACK_SCRIPT);
    static zjob_spec_t specs [BATCH_SIZE];
    static char ids [BATCH_SIZE][ZJOB_ID_LEN + 1];
    for (int index = 0; index < BATCH_SIZE; index++) {
        bool fail = index % (BATCH_SIZE / FAILING) == 0;
        specs [index] = (zjob_spec_t){ .workflow_id = "member",
                                       .priority = ZJOB_PRIORITY_UNSET,
                                       .inputs = fail ? s_fail : s_fine,
                                       .inputs_size = fail ? sizeof (s_fail) : sizeof (s_fine) };
    }
    static const uint8_t s_to [] = { 0x81, 0xa2, 't', 'o', 0xa3, 'o', 'p', 's' };
    zjob_spec_t callback = { .workflow_id = "after", .priority = ZJOB_PRIORITY_UNSET, .inputs = s_to, .inputs_size = sizeof (s_to) };
    //  Two SUBMITs, the first leaving the batch open
    zjob_batch_opts_t opts = { .id = "big", .open = true, .callback = &callback };
    zjob_error_t err;
    cr_assert_eq (zjob_client_submit_batch_with (s_env.client, specs, BATCH_SIZE / 2, true,
                                                 &opts, ids, &err),
                  0, "%s", err.text);
    opts = (zjob_batch_opts_t){ .id = "big" };
    cr_assert_eq (zjob_client_submit_batch_with (s_env.client, specs + BATCH_SIZE / 2,
                                                 BATCH_SIZE / 2, true, &opts,
                                                 ids + BATCH_SIZE / 2, &err),
                  0, "%s", err.text);
    //  Closed now: one more is refused
    cr_assert_eq (zjob_client_submit_batch_with (s_env.client, specs, 1, true, &opts, ids,
                                                 &err),
                  -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT, "%d %s", err.code, err.text);

    //  zjob batch watch follows it to the end: 6, since some failed
    cr_assert_eq (s_cli ("batch", "watch", "big", "--timeout", "120s", NULL), 6, "%s",
                  s_cli_out);
    cr_assert_not_null (strstr (s_cli_out, "950 completed, 50 failed, 0 cancelled of 1000"),
                        "%s", s_cli_out);
    zjob_batch_info_t info = s_wait_finished ("big");
    cr_assert_str_eq (info.state, "failed");
    cr_assert_eq (info.total, BATCH_SIZE);
    cr_assert_eq (info.completed, BATCH_SIZE - FAILING);
    cr_assert_eq (info.failed, FAILING);
    cr_assert_eq (info.cancelled, 0);
    cr_assert_eq (info.pending, 0);

    char path [800];
    s_expect_callbacks (1, path, sizeof (path));
    char *inputs = s_slurp (path);
    cr_assert_not_null (strstr (inputs, "\"to\""), "%s", inputs);
    cr_assert_not_null (strstr (inputs, "\"total\":1000"), "%s", inputs);
    cr_assert_not_null (strstr (inputs, "\"completed\":950"), "%s", inputs);
    cr_assert_not_null (strstr (inputs, "\"failed\":50"), "%s", inputs);
    cr_assert_not_null (strstr (inputs, "\"state\":\"failed\""), "%s", inputs);

    //  The CLI agrees, by batch and by filter
    cr_assert_eq (s_cli ("batch", "show", "big", "--json", NULL), 0, "%s", s_cli_out);
    cr_assert_not_null (strstr (s_cli_out, "\"completed\": 950"), "%s", s_cli_out);
    cr_assert_not_null (strstr (s_cli_out, "\"callback_job\""), "%s", s_cli_out);
    cr_assert_eq (s_cli ("list", "--batch", "big", "--status", "failed", "--json", NULL), 0);
    cr_assert_not_null (strstr (s_cli_out, "\"total\": 50"), "%s", s_cli_out);
    //  A re-run of the failed members (retry by the batch filter): they
    //  fail again; the batch finishes again, the callback does not run again
    cr_assert_eq (s_cli ("retry", "--batch", "big", "--status", "failed", NULL), 0, "%s",
                  s_cli_out);
    info = s_wait_finished ("big");
    cr_assert_eq (info.failed, FAILING);
    zclock_sleep (300);  //  A second callback, if there were one, would show by now
    s_expect_callbacks (1, NULL, 0);
    s_member_stop (&members);
}

Test (batch_e2e, batch_cancel_cancels_every_member)
{
    s_worker_start (1, "after", "1", CALLBACK_SCRIPT);
    //  Nobody serves "idle": the members wait, queued
    cr_assert_eq (s_cli ("submit", "idle", "--batch-id", "c1", "--batch-open", "--callback",
                         "after", "--callback-input", "who=ops", NULL),
                  0, "%s", s_cli_out);
    for (int index = 0; index < 9; index++)
        cr_assert_eq (s_cli ("submit", "idle", "--batch-id", "c1", "--batch-open", NULL), 0);
    zjob_batch_info_t info = s_show ("c1");
    cr_assert_str_eq (info.state, "open");
    cr_assert_eq (info.total, 10);
    //  A subscriber to batch_finished, known to the broker before the cancel
    zjob_error_t err;
    zjob_events_t *events = zjob_events_new (s_env.events, &err);
    cr_assert_not_null (events, "%s", err.text);
    cr_assert_eq (zjob_events_subscribe (events, "batch_finished", NULL, NULL, &err), 0);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (true) {
        zjob_reply_t *stats = zjob_client_stats (s_env.client, &err);
        cr_assert_not_null (stats, "%s", err.text);
        uint64_t subscribed = zjob_msg_uint (zjob_reply_msg (stats), "subscriptions", 0);
        zjob_reply_destroy (&stats);
        if (subscribed > 0)
            break;
        cr_assert_lt (zjob_mono_ms (), deadline, "the subscription never reached the broker");
        zclock_sleep (10);  //  Polling the broker
    }
    cr_assert_eq (s_cli ("batch", "cancel", "c1", NULL), 0, "%s", s_cli_out);
    zjob_event_info_t event;
    cr_assert_eq (zjob_events_recv (events, &event, DEADLINE_MS, &err), 0, "no batch_finished");
    cr_assert_str_eq (event.type, "batch_finished");
    zjob_events_destroy (&events);
    cr_assert_not_null (strstr (s_cli_out, "10 jobs cancelled"), "%s", s_cli_out);
    info = s_show ("c1");
    cr_assert_str_eq (info.state, "failed");
    cr_assert_eq (info.cancelled, 10);
    cr_assert_eq (info.pending, 0);
    char path [800];
    s_expect_callbacks (1, path, sizeof (path));
    char *inputs = s_slurp (path);
    cr_assert_not_null (strstr (inputs, "\"who\":\"ops\""), "%s", inputs);
    cr_assert_not_null (strstr (inputs, "\"cancelled\":10"), "%s", inputs);
    //  Closed: the batch takes no more
    cr_assert_eq (s_cli ("submit", "idle", "--batch-id", "c1", NULL), 4);
    cr_assert_eq (s_cli ("batch", "show", "nope", NULL), 3);
    cr_assert_eq (s_cli ("batch", "list", "--json", NULL), 0);
    cr_assert_not_null (strstr (s_cli_out, "\"total\": 1"), "%s", s_cli_out);
}

Test (batch_e2e, counts_and_callback_survive_a_kill_9)
{
    s_worker_start (0, "member", "4", MEMBER_SCRIPT);
    cr_assert_eq (s_cli ("submit", "member", "--batch-id", "k", "--batch-open", "--callback",
                         "after", NULL),
                  0, "%s", s_cli_out);
    for (int index = 1; index < 4; index++)
        cr_assert_eq (s_cli ("submit", "member", "--batch-id", "k", "--batch-open", NULL), 0,
                      "%s", s_cli_out);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (s_show ("k").completed < 4) {
        cr_assert_lt (zjob_mono_ms (), deadline, "members did not complete");
        zclock_sleep (20);  //  Polling the broker
    }
    s_restart ();
    zjob_batch_info_t info = s_show ("k");
    cr_assert_str_eq (info.state, "open");
    cr_assert_eq (info.completed, 4);
    //  Closed after the restart: the callback runs once, and once only
    //  across another kill -9
    cr_assert_eq (s_cli ("batch", "close", "k", NULL), 0, "%s", s_cli_out);
    s_worker_start (1, "after", "1", CALLBACK_SCRIPT);
    s_expect_callbacks (1, NULL, 0);
    s_restart ();
    info = s_show ("k");
    cr_assert_str_eq (info.state, "completed");
    cr_assert_neq (info.callback_job [0], 0);
    cr_assert_eq (s_cli ("list", "--workflow", "after", "--json", NULL), 0);
    cr_assert_not_null (strstr (s_cli_out, "\"total\": 1"), "%s", s_cli_out);
}
