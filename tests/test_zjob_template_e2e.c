/*  =========================================================================
    test_zjob_template_e2e - templates as a user sees them (issue #11)

    Real processes only: zjobd on a file store in the test's directory,
    zjob-worker running a /bin/sh snippet that answers with its inputs,
    and the zjob CLI. A template's defaults are merged into a job and
    overridden by what the submit gives (the worker sees the merged
    inputs); templates survive a kill -9 of the broker and a restart;
    `zjob template` get, list and delete behave as documented; an unknown
    template is exit 3 with nothing created; STATS counts the templates.
    ========================================================================= */

#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "zjob_client.h"
#include "zjob_json.h"
#include "helper_zjob_test.h"

//  msecs any expected thing may take: a poll ends as soon as it holds;
//  the margin is for a loaded machine (sanitizers, -j2)
#define DEADLINE_MS 20000
#define ZJOBD_BIN ZJOB_BIN_DIR "/zjobd"
#define WORKER_BIN ZJOB_BIN_DIR "/zjob-worker"
#define CLI_BIN ZJOB_BIN_DIR "/zjob"

//  What one test started; the fini stops all of it
static struct {
    char *dir;           //  The test's temporary directory
    pid_t broker;        //  zjobd, 0 if not running
    int broker_out;      //  Its stdout (the ready line), -1 if none
    char clients [256];  //  Its endpoints, kept across a restart
    char workers [256];
    char events [256];
    pid_t worker;  //  zjob-worker, 0 if not running
} s_env;

static char *
s_path (const char *name)
{
    static char path [700];
    snprintf (path, sizeof (path), "%s/%s", s_env.dir, name);
    return path;
}

//  Start zjobd on the test's file store: on ephemeral ports the first
//  time, on the same endpoints after a restart
static void
s_broker_start (void)
{
    char store [700], log [700];
    snprintf (store, sizeof (store), "file:%s/data", s_env.dir);
    snprintf (log, sizeof (log), "%s/zjobd.log", s_env.dir);
    bool again = s_env.clients [0] != 0;
    char *argv [] = { ZJOBD_BIN,
                      "--clients", again ? s_env.clients : "tcp://127.0.0.1:*",
                      "--workers", again ? s_env.workers : "tcp://127.0.0.1:*",
                      "--events", again ? s_env.events : "tcp://127.0.0.1:*",
                      "--store", store, "--heartbeat", "200ms", "--log-level", "info", NULL };
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (true) {
        s_env.broker = zjob_test_spawn_with (argv, &s_env.broker_out, log);
        cr_assert_gt (s_env.broker, 0);
        char *line = zjob_test_read_line (s_env.broker_out, DEADLINE_MS);
        if (line) {
            int parsed = sscanf (line, "zjobd ready clients=%255s workers=%255s events=%255s",
                                 s_env.clients, s_env.workers, s_env.events);
            free (line);
            cr_assert_eq (parsed, 3, "zjobd's ready line");
            return;
        }
        //  The ports of the killed broker may not be free yet: try again
        zjob_test_wait_exit (s_env.broker, DEADLINE_MS);
        close (s_env.broker_out);
        s_env.broker_out = -1;
        cr_assert_lt (zjob_mono_ms (), deadline, "zjobd did not start again");
        zclock_sleep (100);  //  Waiting for the kernel to free the ports
    }
}

static void
s_broker_kill (void)
{
    kill (s_env.broker, SIGKILL);
    cr_assert_eq (zjob_test_wait_exit (s_env.broker, DEADLINE_MS), 128 + SIGKILL);
    s_env.broker = 0;
    close (s_env.broker_out);
    s_env.broker_out = -1;
}

//  What the last s_cli printed on stdout
static char s_cli_out [16384];

//  Run the zjob CLI with args; returns its exit status, its stdout in
//  s_cli_out
static int
s_cli (const char *arg, ...)
{
    char *argv [40];
    int argc = 0;
    argv [argc++] = CLI_BIN;
    argv [argc++] = "--broker";
    argv [argc++] = s_env.clients;
    va_list args;
    va_start (args, arg);
    for (; arg && argc < 39; arg = va_arg (args, const char *))
        argv [argc++] = (char *) arg;
    va_end (args);
    argv [argc] = NULL;
    int out = -1;
    pid_t pid = zjob_test_spawn_with (argv, &out, s_path ("cli.log"));
    cr_assert_gt (pid, 0);
    size_t size = 0;
    s_cli_out [0] = 0;
    char *line;
    while ((line = zjob_test_read_line (out, DEADLINE_MS))) {
        size += (size_t) snprintf (s_cli_out + size, sizeof (s_cli_out) - size, "%s\n", line);
        free (line);
        if (size >= sizeof (s_cli_out))
            size = sizeof (s_cli_out) - 1;
    }
    close (out);
    return zjob_test_wait_exit (pid, DEADLINE_MS);
}

//  The JSON the last s_cli printed (decref it)
static json_t *
s_cli_json (void)
{
    zjob_error_t err;
    json_t *value = zjob_json_parse (s_cli_out, false, &err);
    cr_assert_not_null (value, "not JSON (%s): %s", err.text, s_cli_out);
    return value;
}

//  The id `zjob submit` printed (one line)
static void
s_cli_id (char *id)
{
    cr_assert_eq (strlen (s_cli_out), ZJOB_ID_LEN + 1, "not an id: %s", s_cli_out);
    memcpy (id, s_cli_out, ZJOB_ID_LEN);
    id [ZJOB_ID_LEN] = 0;
}

//  The job's field key, as `zjob get --json` shows it (decref it)
static json_t *
s_job_field (const char *id, const char *key)
{
    cr_assert_eq (s_cli ("get", id, "--json", NULL), 0, "get %s", id);
    json_t *job = s_cli_json ();
    json_t *value = json_incref (json_object_get (job, key));
    json_decref (job);
    return value;
}

static void
s_assert_json (json_t *value, const char *expected)
{
    char *text = json_dumps (value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    cr_assert_str_eq (text, expected);
    free (text);
}

static void
s_setup (void)
{
    memset (&s_env, 0, sizeof (s_env));
    s_env.broker_out = -1;
    s_env.dir = zjob_test_tmpdir ();
    cr_assert_not_null (s_env.dir);
    s_broker_start ();
}

static void
s_teardown (void)
{
    zjob_test_stop (&s_env.worker, SIGKILL, DEADLINE_MS);
    zjob_test_stop (&s_env.broker, SIGTERM, DEADLINE_MS);
    if (s_env.broker_out >= 0)
        close (s_env.broker_out);
    zjob_test_tmpdir_done (&s_env.dir);
}

TestSuite (template_e2e, .init = s_setup, .fini = s_teardown, .timeout = 120);


//  --------------------------------------------------------------------------

Test (template_e2e, defaults_are_merged_and_overridden)
{
    //  The worker answers with the inputs it was given
    char *argv [] = { WORKER_BIN, "--broker", s_env.workers, "--workflow", "resize", "--",
                      "/bin/sh", "-c", "cat", NULL };
    s_env.worker = zjob_test_spawn_with (argv, NULL, s_path ("worker.log"));
    cr_assert_gt (s_env.worker, 0);

    cr_assert_eq (s_cli ("template", "set", "thumb", "--workflow", "resize",
                         "--input", "width=128", "--input", "height=128",
                         "--input", "format=\"png\"", "--metadata", "{\"team\": \"media\"}",
                         "--priority", "high", "--tag", "images", "--max-attempts", "4",
                         "--job-timeout", "30s", NULL),
                  0);
    cr_assert_str_eq (s_cli_out, "template thumb created\n");

    //  Only the template: its settings as they are
    cr_assert_eq (s_cli ("submit", "--template", "thumb", NULL), 0);
    char plain [ZJOB_ID_LEN + 1];
    s_cli_id (plain);
    //  Overridden: a key of the inputs, the priority, one more tag
    cr_assert_eq (s_cli ("submit", "--template", "thumb", "--input", "width=512",
                         "--input", "src=a.jpg", "--priority", "low", "--tag", "urgent", NULL),
                  0);
    char custom [ZJOB_ID_LEN + 1];
    s_cli_id (custom);

    zjob_error_t err;
    zjob_client_t *client = zjob_client_new (s_env.clients, 2000, &err);
    cr_assert_not_null (client, "%s", err.text);
    cr_assert_eq (zjob_client_wait (client, plain, DEADLINE_MS, &err), ZJOB_COMPLETED, "%s",
                  err.text);
    cr_assert_eq (zjob_client_wait (client, custom, DEADLINE_MS, &err), ZJOB_COMPLETED, "%s",
                  err.text);
    zjob_client_destroy (&client);

    json_t *value = s_job_field (plain, "inputs");
    s_assert_json (value, "{\"format\":\"png\",\"height\":128,\"width\":128}");
    json_decref (value);
    value = s_job_field (plain, "outputs");
    s_assert_json (value, "{\"format\":\"png\",\"height\":128,\"width\":128}");
    json_decref (value);
    value = s_job_field (plain, "priority");
    s_assert_json (value, "\"high\"");
    json_decref (value);
    value = s_job_field (plain, "max_attempts");
    s_assert_json (value, "4");
    json_decref (value);
    value = s_job_field (plain, "metadata");
    s_assert_json (value, "{\"team\":\"media\"}");
    json_decref (value);
    value = s_job_field (plain, "template");
    s_assert_json (value, "\"thumb\"");
    json_decref (value);

    //  The worker saw the merged inputs: the submit's keys over the template's
    value = s_job_field (custom, "outputs");
    s_assert_json (value,
                   "{\"format\":\"png\",\"height\":128,\"src\":\"a.jpg\",\"width\":512}");
    json_decref (value);
    value = s_job_field (custom, "priority");
    s_assert_json (value, "\"low\"");
    json_decref (value);
    value = s_job_field (custom, "tags");
    s_assert_json (value, "[\"images\",\"urgent\"]");
    json_decref (value);
    value = s_job_field (custom, "workflow_id");
    s_assert_json (value, "\"resize\"");
    json_decref (value);
}

Test (template_e2e, templates_survive_a_broker_crash)
{
    cr_assert_eq (s_cli ("template", "set", "nightly", "--workflow", "backup",
                         "--input", "{\"path\": \"/srv\"}", "--tag", "db", NULL),
                  0);
    cr_assert_eq (s_cli ("template", "set", "weekly", "--workflow", "backup", NULL), 0);
    cr_assert_eq (s_cli ("template", "set", "gone", "--workflow", "backup", NULL), 0);
    //  A replace and a delete, each acknowledged before the crash
    cr_assert_eq (s_cli ("template", "set", "weekly", "--workflow", "archive", NULL), 0);
    cr_assert_str_eq (s_cli_out, "template weekly replaced\n");
    cr_assert_eq (s_cli ("template", "delete", "gone", NULL), 0);
    cr_assert_eq (s_cli ("submit", "--template", "nightly", "--no-start", NULL), 0);
    char id [ZJOB_ID_LEN + 1];
    s_cli_id (id);

    s_broker_kill ();
    s_broker_start ();

    cr_assert_eq (s_cli ("template", "list", "--json", NULL), 0);
    json_t *list = s_cli_json ();
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 2);
    json_t *templates = json_object_get (list, "templates");
    cr_assert_eq (json_array_size (templates), 2);
    cr_assert_str_eq (json_string_value (json_object_get (json_array_get (templates, 0), "name")),
                      "nightly");
    cr_assert_str_eq (json_string_value (json_object_get (json_array_get (templates, 1),
                                                          "workflow_id")),
                      "archive");
    json_decref (list);

    cr_assert_eq (s_cli ("template", "get", "nightly", "--json", NULL), 0);
    json_t *nightly = s_cli_json ();
    s_assert_json (json_object_get (nightly, "inputs"), "{\"path\":\"/srv\"}");
    s_assert_json (json_object_get (nightly, "tags"), "[\"db\"]");
    s_assert_json (json_object_get (nightly, "workflow_id"), "\"backup\"");
    json_decref (nightly);
    cr_assert_eq (s_cli ("template", "get", "gone", NULL), 3, "a deleted template stays deleted");

    //  The job made before the crash still names its template
    json_t *value = s_job_field (id, "template");
    s_assert_json (value, "\"nightly\"");
    json_decref (value);
    //  And the templates go on working after the restart
    cr_assert_eq (s_cli ("submit", "--template", "weekly", "--no-start", NULL), 0);
    s_cli_id (id);
    value = s_job_field (id, "workflow_id");
    s_assert_json (value, "\"archive\"");
    json_decref (value);

    cr_assert_eq (s_cli ("stats", "--json", NULL), 0);
    json_t *stats = s_cli_json ();
    cr_assert_eq (json_integer_value (json_object_get (stats, "templates")), 2);
    json_decref (stats);
}

Test (template_e2e, unknown_templates_and_bad_input)
{
    cr_assert_eq (s_cli ("submit", "--template", "nope", NULL), 3);
    cr_assert_eq (s_cli ("list", "--json", NULL), 0);
    cr_assert (strstr (s_cli_out, "\"total\": 0") || strstr (s_cli_out, "\"total\":0"),
               "nothing created: %s", s_cli_out);
    cr_assert_eq (s_cli ("template", "get", "nope", NULL), 3);
    cr_assert_eq (s_cli ("template", "delete", "nope", NULL), 3);
    //  Bad input is exit 2 (or 1 for usage) with nothing sent
    cr_assert_eq (s_cli ("template", "set", "t", "--workflow", "w", "--input", "novalue", NULL), 2);
    cr_assert_eq (s_cli ("template", "set", "t", "--workflow", "w", "--tag", "a b", NULL), 2);
    cr_assert_eq (s_cli ("template", "set", "t", NULL), 1);
    cr_assert_eq (s_cli ("template", "rename", "t", NULL), 1);
    cr_assert_eq (s_cli ("template", "list", "--json", NULL), 0);
    json_t *list = s_cli_json ();
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 0);
    json_decref (list);
    //  Text output: a table of names
    cr_assert_eq (s_cli ("template", "set", "t", "--workflow", "w", "--priority", "critical",
                         NULL),
                  0);
    cr_assert_eq (s_cli ("template", "list", NULL), 0);
    cr_assert (strstr (s_cli_out, "NAME") && strstr (s_cli_out, "critical"), "%s", s_cli_out);
    cr_assert_eq (s_cli ("template", "get", "t", NULL), 0);
    cr_assert (strstr (s_cli_out, "workflow") && strstr (s_cli_out, "critical"), "%s",
               s_cli_out);
}
