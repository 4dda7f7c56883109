/*  =========================================================================
    test_zjob_cli_exit - the zjob CLI's promises to users: help, exit
    codes, time limits, hints, JSON shapes, list order, the README's tour

    Each test is a defect users found, run against the real zjob binary and
    a real zjobd (test_zjob_cli_child.h), or against a fake broker on a
    ROUTER socket where only a fake can answer what is checked (a 503 from
    a store that cannot write). Every one of them failed before its fix.
    ========================================================================= */

#include <sys/ioctl.h>
#include "test_zjob_cli_child.h"

TestSuite (zjob_cli_exit, .init = s_broker_start, .fini = s_broker_stop, .timeout = 120);

//  A run of zjob with exactly these arguments (no --broker added)
static s_child_t *
s_run (char *const argv [])
{
    s_child_t *child = s_spawn (argv, NULL);
    s_child_finish (child, S_RUN_TIMEOUT_MS);
    return child;
}

static void
s_assert_lacks (const char *text, const char *part)
{
    cr_assert_null (strstr (text, part), "'%s' in '%s'", part, text);
}


//  --------------------------------------------------------------------------
//  Help

Test (zjob_cli_exit, every_command_help_exits_0_without_a_broker)
{
    //  A TCP listener that is no broker: a command that tried to reach it
    //  would hang on its PING and leave a connection pending here
    int sock = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t length = sizeof address;
    cr_assert_eq (bind (sock, (struct sockaddr *) &address, length), 0);
    cr_assert_eq (listen (sock, 16), 0);
    cr_assert_eq (getsockname (sock, (struct sockaddr *) &address, &length), 0);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", ntohs (address.sin_port));

    const char *commands [] = {
        "submit", "get", "list", "delete", "start", "pause", "resume", "cancel", "retry",
        "run-now", "status", "result", "wait", "watch", "cleanup", "stats", "workers", "help"
    };
    const char *flags [] = { "--help", "-h" };
    for (size_t index = 0; index < sizeof commands / sizeof commands [0]; index++)
        for (int flag = 0; flag < 2; flag++) {
            char *argv [] = { ZJOB_BIN_DIR "/zjob", "--broker", endpoint,
                              "--request-timeout", "5s", (char *) commands [index],
                              (char *) flags [flag], NULL };
            s_child_t *child = s_run (argv);
            cr_assert_eq (child->code, 0, "zjob %s %s: exit %d, stderr '%s'", commands [index],
                          flags [flag], child->code, child->err);
            cr_assert_str_eq (child->err, "", "zjob %s %s", commands [index], flags [flag]);
            cr_assert_eq (strncmp (child->out, "usage: zjob ", 12), 0, "zjob %s %s: '%s'",
                          commands [index], flags [flag], child->out);
            cr_assert_lt (child->elapsed_ms, 4000, "zjob %s %s waited for a broker",
                          commands [index], flags [flag]);
            s_child_destroy (&child);
        }
    struct pollfd item = { sock, POLLIN, 0 };
    cr_assert_eq (poll (&item, 1, 0), 0, "a help command connected to the broker");
    close (sock);

    //  The help says what the defects were about
    s_child_t *child = s_zjob ("wait", "--help");
    s_assert_contains (child->out, "--timeout DURATION");
    s_assert_contains (child->out, "'zjob --timeout 2 wait ID'");
    s_child_destroy (&child);
    child = s_zjob ("stats", "--help");
    s_assert_contains (child->out, "the last 10 s");
    s_assert_lacks (child->out, "last minute");
    s_child_destroy (&child);
    child = s_zjob ("list", "--help");
    s_assert_contains (child->out, "newest first");
    s_child_destroy (&child);
}


//  --------------------------------------------------------------------------
//  Exit codes: the README's table

typedef struct {
    const char *args [8];
    int code;
    const char *says;  //  In stderr
} s_case_t;

static void
s_check_cases (const s_case_t *cases, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        char *argv [16] = { ZJOB_BIN_DIR "/zjob", "--broker", s_clients };
        int argc = 3;
        for (int arg = 0; cases [index].args [arg]; arg++)
            argv [argc++] = (char *) cases [index].args [arg];
        argv [argc] = NULL;
        s_child_t *child = s_spawn (argv, "{\"inputs\": {}}\n{\"priority\": \"urgent\"}\n");
        s_child_finish (child, S_RUN_TIMEOUT_MS);
        cr_assert_eq (child->code, cases [index].code, "zjob %s %s %s: exit %d, not %d: %s",
                      argv [3], argv [4] ? argv [4] : "", argv [4] && argv [5] ? argv [5] : "",
                      child->code, cases [index].code, child->err);
        s_assert_contains (child->err, cases [index].says);
        s_child_destroy (&child);
    }
}

Test (zjob_cli_exit, usage_errors_exit_1_and_bad_values_exit_2)
{
    static const s_case_t cases [] = {
        //  1: unknown command or option, missing argument or value
        { { "frobnicate", NULL }, 1, "unknown command 'frobnicate'" },
        { { "get", "--colour", NULL }, 1, "unknown option '--colour'" },
        { { "list", "-x", NULL }, 1, "unknown option '-x'" },
        { { "wait", NULL }, 1, "which job? give its ID" },
        { { "submit", NULL }, 1, "which workflow?" },
        { { "list", "--limit", NULL }, 1, "option '--limit' needs a value" },
        { { "cancel", NULL }, 1, "which jobs?" },
        { { "retry", NULL }, 1, "which jobs?" },
        { { "run-now", "--reset-attempts", "01JD6ZQ8XKTBV3M9W2N4", NULL }, 1, "unknown option '--reset-attempts'" },
        { { "retry", "01JD6ZQ8XKTBV3M9W2N4", "--dead", NULL }, 1, "ids or a filter, not both" },
        { { "cancel", "01JD6ZQ8XKTBV3M9W2N4", "--dry-run", NULL }, 1, "--dry-run goes with" },
        //  2: an invalid value of an option, JSON or a batch line
        { { "submit", "w", "--priority", "urgent", NULL }, 2, "--priority: 'urgent'" },
        { { "list", "--status", "bogus", NULL }, 2, "unknown status 'bogus'" },
        { { "cancel", "--status", "queued,bogus", NULL }, 2, "unknown status 'bogus'" },
        { { "submit", "w", "--delay", "5x", NULL }, 2, "--delay: '5x' is not a duration" },
        { { "list", "--limit", "0", NULL }, 2, "--limit: '0' is not 1..10000" },
        { { "list", "--limit", "10001", NULL }, 2, "--limit: '10001'" },
        { { "list", "--sort", "size", NULL }, 2, "--sort: 'size'" },
        { { "list", "--created-after", "yesterday", NULL }, 2, "--created-after" },
        { { "submit", "w", "--run-at", "noon", NULL }, 2, "--run-at: 'noon'" },
        { { "submit", "w", "--max-attempts", "-1", NULL }, 2, "--max-attempts" },
        { { "submit", "w", "--backoff", "linear", NULL }, 2, "--backoff: 'linear'" },
        { { "submit", "w", "--backoff-base", "soon", NULL }, 2, "--backoff-base: 'soon'" },
        { { "submit", "w", "--backoff-factor", "0.5", NULL }, 2, "--backoff-factor: '0.5'" },
        { { "submit", "w", "--backoff-max", "0", NULL }, 2, "--backoff-max: '0'" },
        { { "submit", "w", "--jitter", "half", NULL }, 2, "--jitter: 'half'" },
        { { "submit", "w", "--no-retry", "a,,b", NULL }, 2, "--no-retry: 'a,,b'" },
        { { "submit", "w", "--job-timeout", "-5s", NULL }, 2, "--job-timeout: '-5s'" },
        { { "submit", "w", "--heartbeat-timeout", "x", NULL }, 2, "--heartbeat-timeout: 'x'" },
        { { "list", "--status", "scheduled", "--dead", NULL }, 2, "--dead" },
        { { "submit", "w", "--batch", "-", NULL }, 2, "stdin line 2: priority" },
        { { "submit", "w", "--input", "{", NULL }, 2, "inputs: invalid JSON" },
        { { "cleanup", "--older-than", "old", NULL }, 2, "--older-than: 'old'" },
        { { "wait", "01JD6ZQ8XKTBV3M9W2N4", "--timeout", "soon", NULL }, 2, "--timeout" },
        { { "--timeout", "soon", "stats", NULL }, 2, "--timeout: 'soon'" },
        { { "--request-timeout", "0", "stats", NULL }, 2, "--request-timeout: '0'" },
        //  3: not found
        { { "get", "01JD6ZQ8XKTBV3M9W2N4", NULL }, 3, "not found" },
        { { "status", "not-an-id", NULL }, 3, "no job can have id 'not-an-id'" },
    };
    s_check_cases (cases, sizeof cases / sizeof cases [0]);
    //  None of them created a job
    s_child_t *child = s_zjob ("list", "--json");
    json_t *list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 0);
    json_decref (list);
    s_child_destroy (&child);
}

Test (zjob_cli_exit, conflict_failed_and_cancelled_exit_4_and_6)
{
    char *id = s_submit ("nobody", "{}", "--no-start");
    s_child_t *child = s_zjob ("cancel", id);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_child_destroy (&child);
    child = s_zjob ("pause", id);
    cr_assert_eq (child->code, 4, "%s", child->err);
    s_child_destroy (&child);
    child = s_zjob ("result", id);
    cr_assert_eq (child->code, 6, "%s", child->err);
    s_child_destroy (&child);
    child = s_zjob ("wait", id);
    cr_assert_eq (child->code, 6, "%s", child->err);
    s_child_destroy (&child);
    free (id);
}


//  --------------------------------------------------------------------------
//  --timeout: the command's time limit, before or after the command

Test (zjob_cli_exit, timeout_bounds_wait_wherever_it_is_written)
{
    char *id = s_submit ("nobody", "{}", NULL);
    char *before [] = { ZJOB_BIN_DIR "/zjob", "--broker", s_clients, "--timeout", "2",
                        "wait", id, NULL };
    char *after [] = { ZJOB_BIN_DIR "/zjob", "--broker", s_clients, "wait", id,
                       "--timeout", "2", NULL };
    //  A short request timeout does not end the wait early
    char *requests [] = { ZJOB_BIN_DIR "/zjob", "--broker", s_clients, "--request-timeout",
                          "500ms", "wait", id, "--timeout", "2", NULL };
    char **runs [] = { before, after, requests };
    for (int run = 0; run < 3; run++) {
        s_child_t *child = s_run (runs [run]);
        cr_assert_eq (child->code, 7, "run %d: exit %d: %s", run, child->code, child->err);
        cr_assert_geq (child->elapsed_ms, 1900, "run %d ended after %d ms", run,
                       (int) child->elapsed_ms);
        cr_assert_lt (child->elapsed_ms, 6000, "run %d took %d ms", run,
                      (int) child->elapsed_ms);
        s_assert_contains (child->err, "is still queued after 2.0s");
        s_child_destroy (&child);
    }
    //  A spent --timeout still reads the job once: not finished, not 'no broker'
    s_child_t *child = s_zjob ("wait", id, "--timeout", "0");
    cr_assert_eq (child->code, 7, "%s", child->err);
    s_assert_contains (child->err, "is still queued after 0ms");
    s_child_destroy (&child);
    free (id);
}


//  --------------------------------------------------------------------------
//  Scheduled jobs in stats and status; list's order

Test (zjob_cli_exit, stats_and_status_tell_scheduled_jobs)
{
    free (s_submit ("nobody", "{}", NULL));
    char *later = s_submit ("nobody", "{}", "--delay=5m");
    free (s_submit ("nobody", "{}", "--delay=1h"));

    s_child_t *child = s_zjob ("stats");
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "queue      3 queued: 1 ready, 2 scheduled; 0 held by workers");
    s_assert_contains (child->out, "(over the last 10.0s)");
    s_child_destroy (&child);

    child = s_zjob ("stats", "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *stats = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (stats, "scheduled")), 2);
    cr_assert (json_is_integer (json_object_get (stats, "rate_window_ms")));
    json_t *store = json_object_get (stats, "store");
    const char *key;
    json_t *value;
    json_object_foreach (store, key, value)
        cr_assert (!json_is_string (value) || strspn (json_string_value (value), "0123456789") != strlen (json_string_value (value)),
                   "store.%s is a number as text", key);
    json_decref (stats);
    //  Keys in sorted order, so that two runs diff cleanly
    const char *order [] = { "\"active\"", "\"busy\"", "\"by_status\"", "\"by_workflow\"",
                             "\"jobs\"", "\"queued\"", "\"rate_window_ms\"", "\"rates\"",
                             "\"scheduled\"", "\"slots\"", "\"uptime_ms\"", "\"workers\"" };
    const char *at = child->out;
    for (size_t index = 0; index < sizeof order / sizeof order [0]; index++) {
        const char *found = strstr (at, order [index]);
        cr_assert_not_null (found, "%s not after the keys before it: %s", order [index],
                            child->out);
        at = found;
    }
    s_child_destroy (&child);

    child = s_zjob ("status", later);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "queued, scheduled for 20");
    s_assert_contains (child->out, "Z (in 4m)");
    s_child_destroy (&child);
    child = s_zjob ("status", later, "--json");
    json_t *status = s_json (child);
    cr_assert (json_is_string (json_object_get (status, "run_at")));
    json_decref (status);
    s_child_destroy (&child);
    free (later);
}

Test (zjob_cli_exit, list_shows_the_newest_first)
{
    char *ids [3];
    for (int index = 0; index < 3; index++)
        ids [index] = s_submit ("orderwf", "{}", "--no-start");
    s_child_t *child = s_zjob ("list", "--workflow", "orderwf", "--json");
    json_t *list = s_json (child);
    json_t *jobs = json_object_get (list, "jobs");
    for (int index = 0; index < 3; index++)
        cr_assert_str_eq (s_job_id (jobs, (size_t) index), ids [2 - index]);
    json_decref (list);
    s_child_destroy (&child);

    child = s_zjob ("list", "--workflow", "orderwf", "--asc", "--json");
    list = s_json (child);
    jobs = json_object_get (list, "jobs");
    for (int index = 0; index < 3; index++)
        cr_assert_str_eq (s_job_id (jobs, (size_t) index), ids [index]);
    json_decref (list);
    s_child_destroy (&child);
    for (int index = 0; index < 3; index++)
        free (ids [index]);
}


//  --------------------------------------------------------------------------
//  JSON

Test (zjob_cli_exit, json_errors_and_worker_times)
{
    s_child_t *child = s_zjob ("get", "01JD6ZQ8XKTBV3M9W2N4", "--json");
    cr_assert_eq (child->code, 3);
    json_t *error = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (error, "id")), "01JD6ZQ8XKTBV3M9W2N4");
    cr_assert_eq (json_integer_value (json_object_get (error, "code")), 404);
    cr_assert (json_is_string (json_object_get (error, "error")));
    json_decref (error);
    s_child_destroy (&child);

    child = s_zjob ("pause", "01JD6ZQ8XKTBV3M9W2N4", "--json");
    cr_assert_eq (child->code, 3);
    error = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (error, "code")), 404);
    json_decref (error);
    s_child_destroy (&child);

    //  No results yet: a conflict, as JSON too
    char *id = s_submit ("nobody", "{}", NULL);
    child = s_zjob ("result", id, "--json");
    cr_assert_eq (child->code, 4, "%s", child->err);
    error = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (error, "id")), id);
    cr_assert_eq (json_integer_value (json_object_get (error, "code")), 409);
    json_decref (error);
    s_child_destroy (&child);
    free (id);

    s_worker_t *worker = s_worker_start ();
    child = s_zjob ("workers", "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *body = s_json (child);
    json_t *first = json_array_get (json_object_get (body, "workers"), 0);
    const char *connected = json_string_value (json_object_get (first, "connected_at"));
    cr_assert_not_null (connected, "%s", child->out);
    cr_assert_eq (strlen (connected), 24, "%s", connected);
    cr_assert_eq (connected [23], 'Z', "%s", connected);
    cr_assert (json_is_string (json_object_get (first, "last_seen")));
    cr_assert_gt (json_integer_value (json_object_get (first, "connected_at_ms")), 0);
    cr_assert_gt (json_integer_value (json_object_get (first, "last_seen_ms")), 0);
    json_decref (body);
    s_child_destroy (&child);
    s_worker_stop (&worker);
}


//  --------------------------------------------------------------------------
//  Hints: what the broker said, not a guess

Test (zjob_cli_exit, the_workers_endpoint_is_named_as_such)
{
    char *argv [] = { ZJOB_BIN_DIR "/zjob", "--broker", s_workers, "stats", NULL };
    s_child_t *child = s_run (argv);
    cr_assert_eq (child->code, 5, "%s", child->err);
    char says [512];
    snprintf (says, sizeof says, "%s looks like zjobd's workers endpoint; clients use the "
                                 "clients endpoint (default :5570)",
              s_workers);
    s_assert_contains (child->err, says);
    s_assert_lacks (child->err, "is zjobd running");
    s_child_destroy (&child);

    //  An endpoint without a transport is tcp://
    char *plain [] = { ZJOB_BIN_DIR "/zjob", "--broker", s_clients + strlen ("tcp://"),
                       "stats", NULL };
    child = s_run (plain);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_child_destroy (&child);
}

//  A broker whose store cannot write: PING is answered, every other
//  request gets ERROR 503 "not committed: ..."
static void
s_refusing_broker (zsock_t *pipe, void *args)
{
    zsock_t *router = zsock_new_router ("tcp://127.0.0.1:*");
    assert (router);
    zsock_signal (pipe, 0);
    char *endpoint = zsock_last_endpoint (router);
    zstr_send (pipe, endpoint);
    zstr_free (&endpoint);
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which != router)
            break;  //  $TERM, or interrupted
        zframe_t *identity = zframe_recv (router);
        zframe_t *frame = zframe_recv (router);
        uint64_t request_id = 0;
        zjob_cmd_t command = ZJOB_CMD_UNKNOWN;
        zjob_msg_peek (zframe_data (frame), zframe_size (frame), &request_id, &command);
        zframe_t *reply;
        if (command == ZJOB_CMD_PING) {
            zjob_msg_begin (builder, ZJOB_CMD_OK, request_id);
            zjob_msg_add_uint (builder, "version", ZJOB_PROTO_VERSION);
            zjob_msg_add_int (builder, "time", zjob_clock_ms ());
            reply = zjob_msg_end (builder, NULL);
        }
        else {
            zjob_error_t err;
            zjob_error_set (&err, ZJOB_UNAVAILABLE, "not committed: journal write: No space "
                                                    "left on device");
            reply = zjob_msg_error_new (request_id, &err);
        }
        zframe_send (&identity, router, ZFRAME_MORE);
        zframe_send (&reply, router, 0);
        zframe_destroy (&frame);
    }
    zpoller_destroy (&poller);
    zjob_msg_builder_destroy (&builder);
    zsock_destroy (&router);
}

Test (zjob_cli_exit, a_broker_that_refuses_is_no_missing_broker)
{
    zactor_t *fake = zactor_new (s_refusing_broker, NULL);
    char *endpoint = zstr_recv (fake);
    char *argv [] = { ZJOB_BIN_DIR "/zjob", "--broker", endpoint, "submit", "render",
                      "--input", "{}", NULL };
    s_child_t *child = s_run (argv);
    cr_assert_eq (child->code, 5, "%s", child->err);
    s_assert_contains (child->err, "the broker refused the request: its store cannot write");
    s_assert_contains (child->err, "No space left on device");
    s_assert_lacks (child->err, "is zjobd running");
    s_child_destroy (&child);
    zstr_free (&endpoint);
    zactor_destroy (&fake);
}


//  --------------------------------------------------------------------------
//  The README's tour, command by command

Test (zjob_cli_exit, the_readme_tour_works)
{
    s_worker_t *worker = s_worker_start ();
    char *id = s_submit ("echo", "{\"steps\": 5}", "--priority=high");
    s_child_t *child = s_zjob ("watch", id);
    cr_assert_eq (child->code, 0, "watch: %s", child->err);
    s_child_destroy (&child);
    child = s_zjob ("result", id);
    cr_assert_eq (child->code, 0, "result: %s", child->err);
    s_assert_contains (child->out, "\"steps\": 5");
    s_child_destroy (&child);

    child = s_zjob ("submit", "echo", "--input", "@" ZJOB_SOURCE_DIR "/examples/job.json",
                    "--tag", "nightly", "--user", "ana", "--json");
    cr_assert_eq (child->code, 0, "submit @job.json: %s", child->err);
    json_t *job = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (job, "user_id")), "ana");
    json_decref (job);
    s_child_destroy (&child);
    child = s_zjob ("submit", "nobody", "--batch", ZJOB_SOURCE_DIR "/examples/jobs.jsonl");
    cr_assert_eq (child->code, 0, "submit --batch jobs.jsonl: %s", child->err);
    s_child_destroy (&child);
    child = s_zjob ("list", "--status", "queued,running", "--sort", "priority", "--desc");
    cr_assert_eq (child->code, 0, "list: %s", child->err);
    s_assert_contains (child->out, "nobody");
    s_child_destroy (&child);
    char *later = s_submit ("nobody", "{\"steps\": 1}", "--delay=5m");
    const char *steps [][3] = { { "pause", later, NULL }, { "resume", later, NULL }, { "cancel", later, NULL } };
    for (int step = 0; step < 3; step++) {
        child = s_zjob (steps [step][0], steps [step][1]);
        cr_assert_eq (child->code, 0, "%s: %s", steps [step][0], child->err);
        s_child_destroy (&child);
    }
    child = s_zjob ("cancel", "--status", "queued", "--workflow", "nobody", "--dry-run");
    cr_assert_eq (child->code, 0, "cancel --dry-run: %s", child->err);
    s_assert_contains (child->out, "3 jobs match");
    s_child_destroy (&child);
    child = s_zjob ("wait", id, "--timeout", "60", "--json");
    cr_assert_eq (child->code, 0, "wait: %s", child->err);
    s_child_destroy (&child);
    const char *plain [] = { "stats", "workers", "cleanup" };
    for (int index = 0; index < 3; index++) {
        child = s_zjob (plain [index]);
        cr_assert_eq (child->code, 0, "%s: %s", plain [index], child->err);
        s_child_destroy (&child);
    }
    free (later);
    free (id);
    s_worker_stop (&worker);
}


//  --------------------------------------------------------------------------
//  watch's bar fits the terminal

//  Every line watch drew on the terminal (between "\r\033[K" and the next
//  "\r" or "\n") is at most width - 1 characters
static void
s_assert_lines_fit (const char *out, int width)
{
    const char *at = out;
    int lines = 0;
    while ((at = strstr (at, "\r\033[K"))) {
        at += 4;
        size_t length = strcspn (at, "\r\n");
        cr_assert_leq ((int) length, width - 1, "a line of %zu at %d columns: '%.*s'",
                       length, width, (int) length, at);
        lines++;
    }
    cr_assert_gt (lines, 0, "no bar in '%s'", out);
}

Test (zjob_cli_exit, watch_fits_its_bar_to_the_terminal)
{
    atomic_store (&s_release, 0);
    s_worker_t *worker = s_worker_start ();
    char *id = s_submit ("slow", "{}", NULL);
    s_wait_halfway (id);

    //  A pseudo-terminal that does not know its size: $COLUMNS says
    setenv ("COLUMNS", "40", 1);
    char *argv [] = { ZJOB_BIN_DIR "/zjob", "--broker", s_clients, "--events", s_events,
                      "watch", id, NULL };
    s_child_t *child = s_spawn_to (argv, NULL, NULL, true);
    unsetenv ("COLUMNS");
    cr_assert (s_child_wait_for (child, "]  50%", 10000), "'%s'", child->out);
    s_assert_lines_fit (child->out, 40);
    cr_assert_null (strstr (child->out, id), "no room for the id at 40 columns");

    //  The window grows to 60 columns: the terminal says so, over $COLUMNS,
    //  and the next redraw (the job completed) follows
    struct winsize size = { .ws_row = 24, .ws_col = 60 };
    cr_assert_eq (ioctl (child->out_fd, TIOCSWINSZ, &size), 0);
    size_t drawn = strlen (child->out);
    atomic_store (&s_release, 1);
    cr_assert (s_child_wait_for (child, " completed after ", 10000), "'%s'", child->out);
    s_child_finish (child, S_RUN_TIMEOUT_MS);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_lines_fit (child->out + drawn, 60);
    s_assert_contains (child->out + drawn, id);
    s_assert_contains (child->out + drawn, "completed [");
    s_child_destroy (&child);
    free (id);
    s_worker_stop (&worker);
}
