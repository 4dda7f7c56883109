/*  =========================================================================
    test_zjob_logs_e2e - the logs an operator reads, from real processes

    zjobd and zjob-worker started by the e2e harness (tests/helper_zjob_e2e),
    their stderr in the test's directory. Each test is one promise of
    issue #13's logs: a worker says once that it lost the broker (kill -9)
    and once that it is back (a restart on the same endpoints); with
    --log-format json both programs write only JSON objects {time, level,
    program, pid, msg}, the time ISO 8601 with its offset; an admin action
    names the TCP peer that asked. Every wait polls a log file with a
    deadline.
    ========================================================================= */

#include <criterion/criterion.h>
#include <jansson.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "zjob_client.h"
#include "helper_zjob_test.h"
#include "helper_zjob_e2e.h"

#define DEADLINE_MS ZJOB_E2E_DEADLINE_MS

static zjob_e2e_t s_env;

static void
s_fini (void)
{
    zjob_e2e_teardown (&s_env);
}

TestSuite (zjob_logs_e2e, .fini = s_fini, .timeout = 120);

#define s_path(name) zjob_e2e_path (&s_env, name)

//  The whole of file name in the test's directory ("" if none yet); free it
static char *
s_read (const char *name)
{
    FILE *file = fopen (s_path (name), "r");
    if (!file)
        return strdup ("");
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    cr_assert_not_null (out);
    char buffer [4096];
    size_t got;
    while ((got = fread (buffer, 1, sizeof (buffer), file)) > 0)
        fwrite (buffer, 1, got, out);
    fclose (file);
    fclose (out);
    return text;
}

//  Times needle occurs in text
static size_t
s_count (const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *at = text; (at = strstr (at, needle)); at += strlen (needle))
        count++;
    return count;
}

//  Wait until log file name holds needle at least times times, within
//  timeout_ms; returns how many times it does then
static size_t
s_wait_log (const char *name, const char *needle, size_t times, int timeout_ms)
{
    int64_t deadline = zjob_mono_ms () + timeout_ms;
    while (true) {
        char *text = s_read (name);
        size_t count = s_count (text, needle);
        free (text);
        if (count >= times || zjob_mono_ms () >= deadline)
            return count;
        zclock_sleep (20);  //  Polling a file another process writes
    }
}

//  Submit a job of workflow wf and wait until it completed
static void
s_run_one (void)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "wf";
    spec.priority = ZJOB_PRIORITY_UNSET;
    char id [ZJOB_ID_LEN + 1];
    zjob_error_t err;
    cr_assert_eq (zjob_client_submit (s_env.client, &spec, true, id, &err), 0, "%s", err.text);
    int end = zjob_client_wait (s_env.client, id, DEADLINE_MS, &err);
    cr_assert_eq (end, ZJOB_COMPLETED, "job %s: %d %s", id, end, err.text);
}

Test (zjob_logs_e2e, worker_logs_losing_and_regaining_the_broker)
{
    //  Heartbeats every 200 ms: the worker finds the broker dead in 0.6 s
    static const char *const args [] = { "--heartbeat", "200ms", NULL };
    zjob_e2e_setup (&s_env, args, 5000, 0);
    zjob_e2e_worker_start (&s_env, 0, "wf", NULL, "cat >/dev/null; echo '{}'");
    s_run_one ();  //  The worker is registered
    char lost [400], back [400];
    char *text = s_read ("worker0.log");
    cr_assert_eq (s_count (text, "lost the broker"), 0, "%s", text);
    free (text);

    zjob_client_destroy (&s_env.client);
    zjob_e2e_broker_kill (&s_env);
    snprintf (lost, sizeof (lost), ": lost the broker at %s: no heartbeat for ", s_env.workers);
    cr_assert_eq (s_wait_log ("worker0.log", lost, 1, DEADLINE_MS), 1, "no '%s' line", lost);
    //  Once per loss: READY's retries while the broker stays down (each
    //  after 0.6 s without an answer) say nothing more
    cr_assert_eq (s_wait_log ("worker0.log", "lost the broker", 2, 2500), 1);
    text = s_read ("worker0.log");
    cr_assert_eq (s_count (text, " warning zjob-worker["), 1, "%s", text);
    cr_assert_eq (s_count (text, "is back after"), 0, "%s", text);
    free (text);

    zjob_e2e_broker_start (&s_env);
    snprintf (back, sizeof (back), " info zjob-worker[%d]: zjob_worker: ", (int) s_env.worker [0]);
    cr_assert_eq (s_wait_log ("worker0.log", "is back after", 1, DEADLINE_MS), 1);
    text = s_read ("worker0.log");
    char expected [400];
    snprintf (expected, sizeof (expected), ": the broker at %s is back after ", s_env.workers);
    cr_assert (strstr (text, expected), "no '%s' in:\n%s", expected, text);
    cr_assert (strstr (text, back), "the 'back' line is at info:\n%s", text);
    free (text);
    //  And the worker works for the new broker
    zjob_error_t err;
    s_env.client = zjob_client_new_with (s_env.clients, 5000, NULL, &err);
    cr_assert_not_null (s_env.client, "%s", err.text);
    s_run_one ();
    text = s_read ("worker0.log");
    cr_assert_eq (s_count (text, "lost the broker"), 1, "%s", text);
    cr_assert_eq (s_count (text, "is back after"), 1, "%s", text);
    free (text);
}

//  Check that every line of log file name is a JSON object {time, level,
//  program, pid, msg} of program and pid; returns the lines' count
static size_t
s_check_json_lines (const char *name, const char *program, pid_t pid, const char *needle,
                    bool *found)
{
    regex_t iso;
    cr_assert_eq (regcomp (&iso,
                           "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}"
                           "[+-][0-9]{2}:[0-9]{2}$",
                           REG_EXTENDED | REG_NOSUB),
                  0);
    char *text = s_read (name);
    size_t lines = 0;
    char *save = NULL;
    for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        lines++;
        json_error_t error;
        json_t *object = json_loads (line, 0, &error);
        cr_assert (json_is_object (object), "%s line %zu is no JSON object (%s): %s", name,
                   lines, error.text, line);
        cr_assert_eq (json_object_size (object), 5, "%s: %s", name, line);
        const char *time = json_string_value (json_object_get (object, "time"));
        const char *level = json_string_value (json_object_get (object, "level"));
        const char *msg = json_string_value (json_object_get (object, "msg"));
        cr_assert (time && regexec (&iso, time, 0, NULL, 0) == 0, "time: %s", line);
        cr_assert (level
                       && (strcmp (level, "error") == 0 || strcmp (level, "warning") == 0
                           || strcmp (level, "info") == 0 || strcmp (level, "debug") == 0),
                   "level: %s", line);
        cr_assert_str_eq (json_string_value (json_object_get (object, "program")), program);
        cr_assert (json_is_integer (json_object_get (object, "pid")), "%s", line);
        cr_assert_eq (json_integer_value (json_object_get (object, "pid")), pid, "%s", line);
        cr_assert_not_null (msg, "%s", line);
        if (needle && strstr (msg, needle))
            *found = true;
        json_decref (object);
    }
    free (text);
    regfree (&iso);
    return lines;
}

Test (zjob_logs_e2e, json_logs_of_zjobd_and_zjob_worker)
{
    static const char *const args [] = { "--log-format", "json", "--log-level", "debug",
                                         "--heartbeat", "200ms", NULL };
    zjob_e2e_setup (&s_env, args, 5000, 0);
    static const char *const options [] = { "--log-format", "json", NULL };
    zjob_e2e_worker_start (&s_env, 0, "wf", options, "cat >/dev/null; echo '{}'");
    s_run_one ();
    //  An admin action, by the CLI
    cr_assert_eq (zjob_e2e_cli (&s_env, "queue", "pause", "wf", NULL), 0, "%s", s_env.cli_out);
    //  A loss and a return, for the worker's lines
    zjob_client_destroy (&s_env.client);
    zjob_e2e_broker_kill (&s_env);
    cr_assert_eq (s_wait_log ("worker0.log", "lost the broker", 1, DEADLINE_MS), 1);
    //  The first broker's log, before the second writes to the same file
    bool audit = false;
    size_t broker_lines = 0;
    pid_t first = 0;
    {
        char *text = s_read ("zjobd.log");
        const char *at = strstr (text, "\"pid\":");
        cr_assert_not_null (at, "%s", text);
        first = (pid_t) atoi (at + 6);
        free (text);
        broker_lines = s_check_json_lines ("zjobd.log", "zjobd", first,
                                           "admin: QUEUE pause wf by 127.0.0.1:", &audit);
    }
    cr_assert_gt (broker_lines, 2);
    cr_assert (audit, "no audit line for the QUEUE pause");
    zjob_e2e_broker_start (&s_env);
    cr_assert_eq (s_wait_log ("worker0.log", "is back after", 1, DEADLINE_MS), 1);
    pid_t worker = s_env.worker [0];
    zjob_test_stop (&s_env.worker [0], SIGTERM, DEADLINE_MS);
    bool back = false;
    size_t worker_lines = s_check_json_lines ("worker0.log", "zjob-worker", worker,
                                              "is back after", &back);
    cr_assert_geq (worker_lines, 4);  //  serving, lost, back, stopping...
    cr_assert (back);
}

Test (zjob_logs_e2e, audit_names_the_tcp_peer)
{
    zjob_e2e_setup (&s_env, NULL, 5000, 0);
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "wf";
    spec.priority = ZJOB_PRIORITY_UNSET;
    char id [ZJOB_ID_LEN + 1];
    zjob_error_t err;
    cr_assert_eq (zjob_client_submit (s_env.client, &spec, true, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_e2e_cli (&s_env, "cancel", id, NULL), 0, "%s", s_env.cli_out);
    cr_assert_neq (zjob_e2e_cli (&s_env, "cancel", "06H4E76Q144DM4VV8R9F", NULL), 0);
    char ok [200];
    snprintf (ok, sizeof (ok), " info zjobd[%d]: admin: CANCEL job %s by 127.0.0.1:",
              (int) s_env.broker, id);
    cr_assert_eq (s_wait_log ("zjobd.log", ok, 1, DEADLINE_MS), 1);
    cr_assert_eq (s_wait_log ("zjobd.log", "admin: CANCEL job 06H4E76Q144DM4VV8R9F by 127.0.0.1:",
                              1, DEADLINE_MS),
                  1);
    char *text = s_read ("zjobd.log");
    cr_assert (strstr (text, "06H4E76Q144DM4VV8R9F by 127.0.0.1:") && strstr (text, ": 404 "),
               "%s", text);
    free (text);
}
