/*  =========================================================================
    test_zjob_cli_events - `zjob events`, as a user runs it

    Real processes: zjobd (tests/helper_zjob_e2e) and `zjob events` with
    its stdout on a pipe, read line by line with deadlines. A subscription
    reaches the broker a little after the CLI starts, and events published
    before are not seen (PROTOCOL.md 11): each test first submits probe
    jobs until the CLI prints one, so it is known to be subscribed. Events
    come in the order the broker published them, so when a test sees the
    line of a job it submitted last, every event before it has been
    printed or filtered out: what must not show can be checked without
    waiting for nothing.
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
#include "cli_core.h"

#define DEADLINE_MS ZJOB_E2E_DEADLINE_MS
#define CLI_BIN ZJOB_BIN_DIR "/zjob"
#define PROBE_MS 200  //  msecs between probe jobs while the CLI subscribes

static zjob_e2e_t s_env;
static pid_t s_cli = 0;  //  `zjob events`, 0 if not running
static int s_out = -1;   //  Its stdout

static void
s_init (void)
{
    zjob_e2e_setup (&s_env, NULL, 5000, 0);
}

static void
s_fini (void)
{
    zjob_test_stop (&s_cli, SIGKILL, DEADLINE_MS);
    if (s_out >= 0)
        close (s_out);
    s_out = -1;
    zjob_e2e_teardown (&s_env);
}

TestSuite (zjob_cli_events, .init = s_init, .fini = s_fini, .timeout = 120);

//  Start `zjob events` with the NULL-terminated extra arguments
static void
s_events_start (const char *const *extra)
{
    char *argv [24] = { CLI_BIN, "--broker", s_env.clients, "--events", s_env.events,
                        "events", NULL };
    int argc = 6;
    for (; extra && *extra && argc < 23; extra++)
        argv [argc++] = (char *) *extra;
    argv [argc] = NULL;
    s_cli = zjob_test_spawn_with (argv, &s_out, zjob_e2e_path (&s_env, "cli.log"));
    cr_assert_gt (s_cli, 0);
}

//  Submit a job of workflow (queued: auto-started); its id into id
static void
s_submit (const char *workflow, char *id)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = workflow;
    spec.priority = ZJOB_PRIORITY_UNSET;
    zjob_error_t err;
    cr_assert_eq (zjob_client_submit (s_env.client, &spec, true, id, &err), 0, "%s", err.text);
}

static void
s_cancel (const char *id)
{
    zjob_error_t err;
    cr_assert_eq (zjob_client_cancel (s_env.client, id, &err), 0, "%s", err.text);
}

//  Until the CLI prints a line: submit a job of workflow (and cancel it,
//  with cancel) every PROBE_MS. Returns that first line (free it).
static char *
s_probe (const char *workflow, bool cancel)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (zjob_mono_ms () < deadline) {
        char id [ZJOB_ID_LEN + 1];
        s_submit (workflow, id);
        if (cancel)
            s_cancel (id);
        char *line = zjob_test_read_line (s_out, PROBE_MS);
        if (line)
            return line;
    }
    cr_assert_fail ("zjob events printed nothing (see cli.log)");
    return NULL;
}

//  Read lines until one holds needle, within the deadline; each line read
//  (needle's too) goes through check (NULL: none). Returns how many lines
//  were read.
static size_t
s_read_until (const char *needle, void (*check) (const char *line, void *arg), void *arg)
{
    size_t lines = 0;
    while (true) {
        char *line = zjob_test_read_line (s_out, DEADLINE_MS);
        cr_assert_not_null (line, "no line with '%s' came", needle);
        lines++;
        if (check)
            check (line, arg);
        bool found = strstr (line, needle) != NULL;
        free (line);
        if (found)
            return lines;
    }
}

//  The text format: TIME TYPE JOB_ID WORKFLOW [(details)]
static void
s_check_text (const char *line, void *arg)
{
    regex_t *format = (regex_t *) arg;
    cr_assert_eq (regexec (format, line, 0, NULL, 0), 0, "not an event line: '%s'", line);
}

static void
s_text_format (regex_t *format)
{
    cr_assert_eq (regcomp (format,
                           "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}"
                           "[+-][0-9]{2}:[0-9]{2} [a-z_]+ ([0-9A-Z]{20}|-) [^ ]+( \\(.*\\))?$",
                           REG_EXTENDED | REG_NOSUB),
                  0);
}

Test (zjob_cli_events, every_event_of_two_workflows)
{
    s_events_start (NULL);
    char *line = s_probe ("alpha", false);
    regex_t format;
    s_text_format (&format);
    s_check_text (line, &format);
    cr_assert (strstr (line, " queued ") && strstr (line, " alpha"), "%s", line);
    free (line);
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1];
    s_submit ("beta", b);
    s_submit ("alpha", a);
    char expected [100];
    snprintf (expected, sizeof (expected), " queued %s beta", b);
    s_read_until (expected, s_check_text, &format);
    snprintf (expected, sizeof (expected), " queued %s alpha", a);
    s_read_until (expected, s_check_text, &format);
    s_cancel (b);
    snprintf (expected, sizeof (expected), " cancelled %s beta", b);
    s_read_until (expected, s_check_text, &format);
    regfree (&format);
}

//  No line names workflow arg
static void
s_check_not (const char *line, void *arg)
{
    cr_assert_null (strstr (line, (const char *) arg), "'%s' shown: %s", (const char *) arg,
                    line);
}

Test (zjob_cli_events, workflow_filters)
{
    static const char *const args [] = { "--workflow", "alpha", NULL };
    s_events_start (args);
    free (s_probe ("alpha", false));
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1];
    s_submit ("beta", b);
    s_cancel (b);
    s_submit ("alpha", a);
    char expected [100];
    snprintf (expected, sizeof (expected), " queued %s alpha", a);
    s_read_until (expected, s_check_not, (void *) "beta");
}

//  Every line is a cancelled event
static void
s_check_cancelled (const char *line, void *arg)
{
    cr_assert (strstr (line, " cancelled ") && !strstr (line, " queued "), "%s", line);
}

Test (zjob_cli_events, type_filters)
{
    static const char *const args [] = { "--type", "cancelled", NULL };
    s_events_start (args);
    char *line = s_probe ("alpha", true);
    s_check_cancelled (line, NULL);
    free (line);
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1];
    s_submit ("beta", b);  //  queued: not shown
    s_submit ("alpha", a);
    s_cancel (a);
    char expected [100];
    snprintf (expected, sizeof (expected), " cancelled %s alpha", a);
    s_read_until (expected, s_check_cancelled, NULL);
}

Test (zjob_cli_events, job_filters)
{
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1];
    s_submit ("alpha", a);
    const char *const args [] = { "--job", a, NULL };
    s_events_start (args);
    //  The probe: pause and resume the job until a line shows
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    char *line = NULL;
    zjob_error_t err;
    while (!line && zjob_mono_ms () < deadline) {
        s_submit ("alpha", b);  //  Another job: never shown
        cr_assert_eq (zjob_client_pause (s_env.client, a, &err), 0, "%s", err.text);
        cr_assert_eq (zjob_client_resume (s_env.client, a, &err), 0, "%s", err.text);
        line = zjob_test_read_line (s_out, PROBE_MS);
    }
    cr_assert_not_null (line);
    cr_assert (strstr (line, a), "%s", line);
    free (line);
    s_submit ("alpha", b);
    s_cancel (a);
    char expected [100];
    snprintf (expected, sizeof (expected), " cancelled %s alpha", a);
    s_read_until (expected, s_check_not, b);
}

//  The line is one JSON object with the event's fields
static void
s_check_json (const char *line, void *arg)
{
    json_error_t error;
    json_t *object = json_loads (line, 0, &error);
    cr_assert (json_is_object (object), "not a JSON object (%s): %s", error.text, line);
    cr_assert (json_is_string (json_object_get (object, "type")), "%s", line);
    cr_assert (json_is_string (json_object_get (object, "time")), "%s", line);
    cr_assert (json_is_integer (json_object_get (object, "time_ms")), "%s", line);
    cr_assert (json_is_integer (json_object_get (object, "seq")), "%s", line);
    cr_assert_str_eq (json_string_value (json_object_get (object, "workflow_id")), "alpha");
    cr_assert_eq (json_string_length (json_object_get (object, "id")), ZJOB_ID_LEN, "%s", line);
    json_decref (object);
}

Test (zjob_cli_events, json_lines_parse)
{
    static const char *const args [] = { "--json", "--workflow", "alpha", NULL };
    s_events_start (args);
    char *line = s_probe ("alpha", false);
    s_check_json (line, NULL);
    free (line);
    char a [ZJOB_ID_LEN + 1];
    s_submit ("alpha", a);
    s_cancel (a);
    char expected [100];
    snprintf (expected, sizeof (expected), "\"status\":\"cancelled\"");
    //  Every line parses, up to the cancellation of a
    while (true) {
        line = zjob_test_read_line (s_out, DEADLINE_MS);
        cr_assert_not_null (line);
        s_check_json (line, NULL);
        json_t *object = json_loads (line, 0, NULL);
        bool done = streq (json_string_value (json_object_get (object, "id")), a)
            && streq (json_string_value (json_object_get (object, "type")), "cancelled");
        if (done) {
            cr_assert_str_eq (json_string_value (json_object_get (object, "status")),
                              "cancelled");
            cr_assert_str_eq (json_string_value (json_object_get (object, "old_status")),
                              "queued");
        }
        json_decref (object);
        free (line);
        if (done)
            break;
    }
}

Test (zjob_cli_events, sigterm_and_sigint_exit_0)
{
    s_events_start (NULL);
    free (s_probe ("alpha", false));
    kill (s_cli, SIGTERM);
    cr_assert_eq (zjob_test_wait_exit (s_cli, DEADLINE_MS), 0);
    s_cli = 0;
    close (s_out);
    s_out = -1;
    s_events_start (NULL);
    free (s_probe ("alpha", false));
    kill (s_cli, SIGINT);
    cr_assert_eq (zjob_test_wait_exit (s_cli, DEADLINE_MS), 0);
    s_cli = 0;
}

Test (zjob_cli_events, bad_arguments_and_no_broker)
{
    cr_assert_eq (zjob_e2e_cli (&s_env, "events", "--type", "a/b", NULL), ZJOB_EXIT_BAD_INPUT);
    cr_assert_eq (zjob_e2e_cli (&s_env, "events", "--job", "nope", NULL), ZJOB_EXIT_NOT_FOUND);
    cr_assert_eq (zjob_e2e_cli (&s_env, "events", "extra", NULL), ZJOB_EXIT_USAGE);
    //  A broker that does not answer: 5, as every command
    zjob_e2e_broker_kill (&s_env);
    cr_assert_eq (zjob_e2e_cli (&s_env, "--request-timeout", "300ms", "events", NULL),
                  ZJOB_EXIT_UNAVAILABLE);
}


//  --------------------------------------------------------------------------
//  With CURVE: keys made with zjob keygen, as an operator would

static char s_keys [4][700];     //  ops (admin), alice (client), eve (listed nowhere)
static char s_broker_key [700];  //  broker.key
static const char *s_curve_args [8];
static char s_curve_secret [700];
static char s_keys_dir [450];
static zjob_connect_opts_t s_admin;

static void
s_keygen (const char *name, const char *dir, const char *option, const char *value)
{
    int rc = option ? zjob_e2e_cli (&s_env, "keygen", name, "--dir", dir, option, value, NULL)
                    : zjob_e2e_cli (&s_env, "keygen", name, "--dir", dir, NULL);
    cr_assert_eq (rc, 0, "keygen %s: %s", name, s_env.cli_out);
}

static void
s_curve_init (void)
{
    zjob_e2e_prepare (&s_env, NULL, 5000, 0);
    char dir [400], role [800];
    snprintf (dir, sizeof (dir), "%s", s_env.dir);
    snprintf (s_keys_dir, sizeof (s_keys_dir), "%s/keys", dir);
    s_keygen ("broker", dir, NULL, NULL);
    snprintf (role, sizeof (role), "%s/admin", s_keys_dir);
    s_keygen ("ops", role, NULL, NULL);
    snprintf (role, sizeof (role), "%s/client", s_keys_dir);
    s_keygen ("alice", role, "--user", "alice");
    s_keygen ("eve", dir, NULL, NULL);
    snprintf (s_keys [0], 700, "%s/admin/ops.key_secret", s_keys_dir);
    snprintf (s_keys [1], 700, "%s/client/alice.key_secret", s_keys_dir);
    snprintf (s_keys [2], 700, "%s/eve.key_secret", dir);
    snprintf (s_broker_key, sizeof (s_broker_key), "%s/broker.key", dir);
    snprintf (s_curve_secret, sizeof (s_curve_secret), "%s/broker.key_secret", dir);
    const char *const args [] = { "--curve-secret", s_curve_secret, "--keys", s_keys_dir, NULL };
    memcpy (s_curve_args, args, sizeof (args));
    s_env.broker_args = s_curve_args;
    s_admin = (zjob_connect_opts_t){ s_keys [0], s_broker_key };
    zjob_e2e_start (&s_env, &s_admin);
}

TestSuite (zjob_cli_events_curve, .init = s_curve_init, .fini = s_fini, .timeout = 120);

Test (zjob_cli_events_curve, a_refused_key_exits_10)
{
    cr_assert_eq (zjob_e2e_cli (&s_env, "--cert", s_keys [2], "--broker-key", s_broker_key,
                                "events", NULL),
                  ZJOB_EXIT_DENIED);
}

Test (zjob_cli_events_curve, a_client_key_follows_its_own_jobs)
{
    const char *const args [] = { "--cert", s_keys [1], "--broker-key", s_broker_key, NULL };
    s_events_start (args);
    zjob_error_t err;
    zjob_client_t *alice = zjob_client_new_with (s_env.clients, 5000,
                                                 &(zjob_connect_opts_t){ s_keys [1],
                                                                         s_broker_key },
                                                 &err);
    cr_assert_not_null (alice, "%s", err.text);
    //  Probe with alice's jobs until her CLI is subscribed
    char *line = NULL;
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    zjob_spec_t spec = { .workflow_id = "alpha", .priority = ZJOB_PRIORITY_UNSET };
    char id [ZJOB_ID_LEN + 1];
    while (!line && zjob_mono_ms () < deadline) {
        cr_assert_eq (zjob_client_submit (alice, &spec, true, id, &err), 0, "%s", err.text);
        line = zjob_test_read_line (s_out, PROBE_MS);
    }
    cr_assert_not_null (line, "alice's zjob events printed nothing");
    free (line);
    char admins [ZJOB_ID_LEN + 1];
    s_submit ("alpha", admins);  //  The admin's (no user): not alice's to see
    cr_assert_eq (zjob_client_submit (alice, &spec, true, id, &err), 0, "%s", err.text);
    char expected [100];
    snprintf (expected, sizeof (expected), " queued %s alpha", id);
    s_read_until (expected, s_check_not, admins);
    zjob_client_destroy (&alice);
}
