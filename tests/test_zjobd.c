/*  =========================================================================
    test_zjobd - the zjobd daemon, as a child process

    Starts the real binary (ZJOB_BIN_DIR "/zjobd") on ephemeral ports,
    learns them from its "zjobd ready" line, speaks the protocol to it over
    raw sockets, and stops it with SIGTERM (a clean shutdown) or SIGKILL (a
    crash). Every child is reaped, every data directory removed.
    ========================================================================= */

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "zjob_broker.h"
#include "helper_zjob_test.h"
#include "zjob_client.h"
#include "zjob_worker.h"

#define S_WAIT 5000  //  msecs the daemon may take to answer

typedef struct {
    pid_t pid;           //  The child, or -1
    int out;             //  Its stdout
    char clients [256];  //  Its endpoints, from the ready line
    char workers [256];
    char events [256];
} s_daemon_t;

static s_daemon_t s_daemons [4];
static size_t s_daemon_count = 0;
static char *s_dir = NULL;

static void
s_teardown (void)
{
    for (size_t index = 0; index < s_daemon_count; index++)
        if (s_daemons [index].pid > 0) {
            kill (s_daemons [index].pid, SIGKILL);
            zjob_test_wait_exit (s_daemons [index].pid, S_WAIT);
        }
    if (s_dir) {
        zjob_test_rmtree (s_dir);
        free (s_dir);
        s_dir = NULL;
    }
}

TestSuite (zjobd, .fini = s_teardown, .timeout = 60);

//  Start zjobd with the given extra arguments (NULL-terminated) on
//  ephemeral ports; returns it once it printed its ready line
static s_daemon_t *
s_zjobd (const char *first, ...)
{
    char *argv [32];
    size_t argc = 0;
    argv [argc++] = (char *) ZJOB_BIN_DIR "/zjobd";
    argv [argc++] = (char *) "--clients";
    argv [argc++] = (char *) "tcp://127.0.0.1:*";
    argv [argc++] = (char *) "--workers";
    argv [argc++] = (char *) "tcp://127.0.0.1:*";
    argv [argc++] = (char *) "--events";
    argv [argc++] = (char *) "tcp://127.0.0.1:*";
    argv [argc++] = (char *) "--log-level";
    argv [argc++] = (char *) "error";
    va_list args;
    va_start (args, first);
    for (const char *arg = first; arg && argc < 31; arg = va_arg (args, const char *))
        argv [argc++] = (char *) arg;
    va_end (args);
    argv [argc] = NULL;

    cr_assert_lt (s_daemon_count, 4);
    s_daemon_t *daemon = &s_daemons [s_daemon_count++];
    daemon->pid = zjob_test_spawn (argv, &daemon->out);
    cr_assert_gt (daemon->pid, 0);
    char *line = zjob_test_read_line (daemon->out, S_WAIT);
    cr_assert_not_null (line, "zjobd printed no ready line");
    int fields = sscanf (line, "zjobd ready clients=%255s workers=%255s events=%255s",
                         daemon->clients, daemon->workers, daemon->events);
    cr_assert_eq (fields, 3, "unexpected line: %s", line);
    cr_assert (strncmp (daemon->clients, "tcp://127.0.0.1:", 16) == 0);
    cr_assert_neq (strcmp (daemon->clients + 16, "*"), 0, "the real port, not '*'");
    free (line);
    return daemon;
}

//  Stop it with signal; returns its exit status
static int
s_stop (s_daemon_t *daemon, int signal)
{
    kill (daemon->pid, signal);
    int status = zjob_test_wait_exit (daemon->pid, S_WAIT);
    daemon->pid = -1;
    close (daemon->out);
    return status;
}

static void
s_ping (zsock_t *client)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_PING, 1);
    zjob_msg_t *reply = zjob_test_call (client, builder, S_WAIT);
    cr_assert_not_null (reply, "zjobd does not answer PING");
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    cr_assert_eq (zjob_msg_uint (reply, "version", 0), ZJOB_PROTO_VERSION);
    zjob_msg_destroy (&reply);
    zjob_msg_builder_destroy (&builder);
}


//  A worker speaking the protocol by hand: READY for workflow with slots
//  on daemon's worker endpoint, answered OK. Its reply goes to *reply_p
//  if asked for, else it is dropped.
static zsock_t *
s_raw_worker (s_daemon_t *daemon, const char *worker_id, const char *workflow,
              uint64_t slots, zjob_msg_t **reply_p)
{
    zsock_t *worker = zjob_test_dealer (daemon->workers);
    cr_assert_not_null (worker);
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_READY, 1);
    zjob_msg_add_str (builder, "worker_id", worker_id);
    zjob_msg_add_strs (builder, "workflows", &workflow, 1);
    zjob_msg_add_uint (builder, "slots", slots);
    zframe_t *frame = zjob_msg_end (builder, NULL);
    zjob_test_send (worker, &frame);
    zjob_msg_builder_destroy (&builder);
    zjob_msg_t *reply = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_OK, S_WAIT);
    cr_assert_not_null (reply, "READY of %s not answered", worker_id);
    if (reply_p)
        *reply_p = reply;
    else
        zjob_msg_destroy (&reply);
    return worker;
}

Test (zjobd, serves_and_stops_cleanly_on_sigterm)
{
    s_dir = zjob_test_tmpdir ();
    cr_assert_not_null (s_dir);
    s_daemon_t *daemon = s_zjobd ("--data-dir", s_dir, NULL);
    zsock_t *client = zjob_test_dealer (daemon->clients);
    s_ping (client);
    enum { JOBS = 20 };
    char *ids [JOBS];
    for (int index = 0; index < JOBS; index++) {
        ids [index] = zjob_test_submit (client, "report", index % 2 ? "high" : "low", NULL);
        cr_assert_not_null (ids [index]);
    }
    zsock_destroy (&client);
    cr_assert_eq (s_stop (daemon, SIGTERM), 0, "zjobd did not exit 0 on SIGTERM");

    //  Restarted on the same data directory, it has every job
    daemon = s_zjobd ("--data-dir", s_dir, NULL);
    client = zjob_test_dealer (daemon->clients);
    for (int index = 0; index < JOBS; index++) {
        zjob_job_t *job = zjob_test_get (client, ids [index]);
        cr_assert_not_null (job, "job %s lost over a clean restart", ids [index]);
        cr_assert_eq (job->status, ZJOB_QUEUED);
        cr_assert_str_eq (job->workflow_id, "report");
        zjob_job_destroy (&job);
        free (ids [index]);
    }
    zsock_destroy (&client);
    cr_assert_eq (s_stop (daemon, SIGINT), 0, "zjobd did not exit 0 on SIGINT");
}

Test (zjobd, options_from_a_config_file_and_flags)
{
    s_dir = zjob_test_tmpdir ();
    char path [512];
    snprintf (path, sizeof (path), "%s/zjobd.cfg", s_dir);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    //  The file says memory and 5 s heartbeats; the flag says 250 ms
    fprintf (file, "broker\n    store = \"memory:\"\n    heartbeat = 5s\n"
                   "    clients = \"tcp://127.0.0.1:1\"\n");
    fclose (file);
    s_daemon_t *daemon = s_zjobd ("--config", path, "--heartbeat", "250ms", NULL);
    //  The flags' ephemeral endpoint won over the file's port 1
    cr_assert_neq (strcmp (daemon->clients, "tcp://127.0.0.1:1"), 0);
    zjob_msg_t *reply;
    zsock_t *worker = s_raw_worker (daemon, "w-config", "any", 1, &reply);
    cr_assert_eq (zjob_msg_uint (reply, "heartbeat_ms", 0), 250);
    zjob_msg_destroy (&reply);
    zsock_destroy (&worker);
    //  No data directory was made: the store is memory
    char data [600];
    snprintf (data, sizeof (data), "%s/zjob-data", s_dir);
    cr_assert_not (zsys_file_exists (data));
    cr_assert_eq (s_stop (daemon, SIGTERM), 0);

    //  An unknown option: exit 1 (usage); a store spec the broker refuses:
    //  exit 2 (bad input); see exit_codes_and_errors_said_once
    char *bad_flag [] = { (char *) ZJOB_BIN_DIR "/zjobd", (char *) "--colour", (char *) "blue", NULL };
    pid_t pid = zjob_test_spawn (bad_flag, NULL);
    cr_assert_eq (zjob_test_wait_exit (pid, S_WAIT), 1);
    char *bad_store [] = { (char *) ZJOB_BIN_DIR "/zjobd", (char *) "--store",
                           (char *) "tape:/dev/st0", (char *) "--log-level", (char *) "error",
                           (char *) "--clients", (char *) "tcp://127.0.0.1:*",
                           (char *) "--workers", (char *) "tcp://127.0.0.1:*",
                           (char *) "--events", (char *) "tcp://127.0.0.1:*", NULL };
    pid = zjob_test_spawn (bad_store, NULL);
    cr_assert_eq (zjob_test_wait_exit (pid, S_WAIT), 2);
}

Test (zjobd, killed_under_load_loses_no_acknowledged_job)
{
    s_dir = zjob_test_tmpdir ();
    char spec [600];
    snprintf (spec, sizeof (spec), "file:%s?fsync=always", s_dir);
    s_daemon_t *daemon = s_zjobd ("--store", spec, "--max-concurrent", "0", NULL);

    //  A worker that takes jobs and never finishes them
    zsock_t *worker = s_raw_worker (daemon, "w-load", "load", 8, NULL);
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zframe_t *frame;
    zjob_msg_t *reply;

    //  A client pipelining submits, 64 in flight, for 400 ms
    zsock_t *client = zjob_test_dealer (daemon->clients);
    enum { MAX_JOBS = 200000 };
    char (*acked) [ZJOB_ID_LEN + 1] = calloc (MAX_JOBS, ZJOB_ID_LEN + 1);
    cr_assert_not_null (acked);
    size_t acked_count = 0, sent = 0, in_flight = 0;
    zjob_spec_t spec_one = { .workflow_id = "load" };
    int64_t stop_at = zclock_mono () + 400;
    while (zclock_mono () < stop_at && sent < MAX_JOBS) {
        while (in_flight < 64 && sent < MAX_JOBS) {
            zjob_msg_begin (builder, ZJOB_CMD_SUBMIT, ++sent);
            zjob_msg_add_specs (builder, "jobs", &spec_one, 1);
            frame = zjob_msg_end (builder, NULL);
            cr_assert_eq (zjob_test_send (client, &frame), 0);
            in_flight++;
        }
        reply = zjob_test_recv (client, ZJOB_ROUTE_BROKER_CLIENT, S_WAIT);
        cr_assert_not_null (reply, "no reply under load");
        in_flight--;
        if (zjob_msg_command (reply) == ZJOB_CMD_OK) {
            size_t count = 0;
            const char *const *ids = zjob_msg_strs (reply, "ids", &count);
            cr_assert_eq (count, 1);
            snprintf (acked [acked_count++], ZJOB_ID_LEN + 1, "%s", ids [0]);
        }
        zjob_msg_destroy (&reply);
    }
    //  The jobs the worker was given before the crash
    char running [8][ZJOB_ID_LEN + 1];
    size_t running_count = 0;
    while (running_count < 8) {
        zjob_msg_t *msg = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_JOB, 500);
        if (!msg)
            break;
        zjob_job_t *job = zjob_msg_job (msg, "job", NULL);
        cr_assert_not_null (job);
        snprintf (running [running_count++], ZJOB_ID_LEN + 1, "%s", job->id);
        zjob_job_destroy (&job);
        zjob_msg_destroy (&msg);
    }
    cr_assert_gt (acked_count, 100, "only %zu jobs acknowledged", acked_count);
    cr_log_info ("%zu jobs acknowledged, %zu running at the crash", acked_count, running_count);
    cr_assert_gt (running_count, 0);

    //  Crash, with requests still in flight
    for (size_t index = 0; index < 32; index++) {
        zjob_msg_begin (builder, ZJOB_CMD_SUBMIT, ++sent);
        zjob_msg_add_specs (builder, "jobs", &spec_one, 1);
        frame = zjob_msg_end (builder, NULL);
        zjob_test_send (client, &frame);
    }
    cr_assert_eq (s_stop (daemon, SIGKILL), 128 + SIGKILL);
    zsock_destroy (&client);
    zsock_destroy (&worker);

    //  Restart: every acknowledged job is there, the running ones queued
    daemon = s_zjobd ("--store", spec, NULL);
    client = zjob_test_dealer (daemon->clients);
    //  (GETs pipelined 256 at a time; request id = index + 1)
    size_t asked = 0, found = 0;
    while (found < acked_count) {
        while (asked < acked_count && asked - found < 256) {
            zjob_msg_begin (builder, ZJOB_CMD_GET, asked + 1);
            zjob_msg_add_str (builder, "id", acked [asked]);
            frame = zjob_msg_end (builder, NULL);
            cr_assert_eq (zjob_test_send (client, &frame), 0);
            asked++;
        }
        reply = zjob_test_recv (client, ZJOB_ROUTE_BROKER_CLIENT, S_WAIT);
        cr_assert_not_null (reply, "no GET reply");
        size_t index = zjob_msg_request_id (reply) - 1;
        cr_assert_lt (index, acked_count);
        cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK,
                      "acknowledged job %s lost", acked [index]);
        zjob_msg_destroy (&reply);
        found++;
    }
    for (size_t index = 0; index < running_count; index++) {
        zjob_job_t *job = zjob_test_get (client, running [index]);
        cr_assert_not_null (job);
        cr_assert_eq (job->status, ZJOB_QUEUED, "job %s was running: %s", job->id,
                      zjob_status_name ((zjob_status_t) job->status));
        zjob_job_destroy (&job);
    }

    //  At-least-once: a worker now completes every job, the ones running
    //  at the crash included, and no job is left unfinished
    const char *workflows [] = { "load" };
    zjob_error_t err;
    zjob_worker_t *engine = zjob_worker_new (daemon->workers, "w-after", workflows, 1, 64, &err);
    cr_assert_not_null (engine, "%s", err.text);
    zjob_client_t *lib = zjob_client_new (daemon->clients, S_WAIT, &err);
    cr_assert_not_null (lib, "%s", err.text);
    zjob_query_t unfinished = {
        .filter.status_mask = (1u << ZJOB_CREATED) | (1u << ZJOB_QUEUED)
            | (1u << ZJOB_RUNNING) | (1u << ZJOB_PAUSED),
        .limit = 1
    };
    size_t left = SIZE_MAX, completed = 0;
    int64_t deadline = zclock_mono () + 60000;
    while (left > 0 && zclock_mono () < deadline) {
        zjob_task_t *task = NULL;
        int event = zjob_worker_recv (engine, 100, &task, &err);
        if (event == ZJOB_WORKER_TASK) {
            cr_assert_eq (zjob_worker_complete (engine, &task, NULL, 0, &err), 0, "%s", err.text);
            completed++;
        }
        else if (event == ZJOB_WORKER_NOTHING) {
            zjob_job_t **jobs = NULL;
            size_t count = 0;
            cr_assert_eq (zjob_client_list (lib, &unfinished, &jobs, &count, &left, &err), 0,
                          "%s", err.text);
            for (size_t index = 0; index < count; index++)
                zjob_job_destroy (&jobs [index]);
            free (jobs);
        }
    }
    cr_assert_eq (left, 0, "%zu jobs still unfinished after the restart", left);
    cr_assert_geq (completed, acked_count, "only %zu of %zu acknowledged jobs completed",
                   completed, acked_count);
    cr_assert_eq (zjob_worker_flush (engine, S_WAIT), 0, "results not acknowledged");
    zjob_worker_destroy (&engine);
    zjob_client_destroy (&lib);
    free (acked);
    zjob_msg_builder_destroy (&builder);
    zsock_destroy (&client);
    cr_assert_eq (s_stop (daemon, SIGTERM), 0);
}

//  Run a daemon at log level through a little life (a worker comes, runs
//  a job and leaves; a client submits) and a SIGTERM; returns what it
//  wrote on stderr (freshly allocated)
static char *
s_logged_life (const char *level, const char *log_path)
{
    //  The child inherits our stderr: point it at the log for the spawn
    int log_fd = open (log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert_geq (log_fd, 0);
    int saved = dup (STDERR_FILENO);
    cr_assert_geq (saved, 0);
    dup2 (log_fd, STDERR_FILENO);
    s_daemon_t *daemon = s_zjobd ("--store", "memory:", "--log-level", level, NULL);
    dup2 (saved, STDERR_FILENO);
    close (saved);
    close (log_fd);

    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zsock_t *worker = s_raw_worker (daemon, "w-logs", "logs", 1, NULL);
    zframe_t *frame;
    zsock_t *client = zjob_test_dealer (daemon->clients);
    char *id = zjob_test_submit (client, "logs", NULL, NULL);
    cr_assert_not_null (id);
    zjob_msg_t *msg = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_JOB, S_WAIT);
    cr_assert_not_null (msg, "the job was not dispatched");
    zjob_msg_destroy (&msg);
    zjob_msg_begin (builder, ZJOB_CMD_DISCONNECT, 2);
    frame = zjob_msg_end (builder, NULL);
    zjob_test_send (worker, &frame);
    //  The job is queued again once the worker is gone
    int64_t deadline = zclock_mono () + S_WAIT;
    zjob_job_t *job = zjob_test_get (client, id);
    while (job && job->status != ZJOB_QUEUED && zclock_mono () < deadline) {
        zjob_job_destroy (&job);
        job = zjob_test_get (client, id);
    }
    cr_assert (job && job->status == ZJOB_QUEUED, "the leaving worker's job was not requeued");
    zjob_job_destroy (&job);
    free (id);
    zsock_destroy (&client);
    zsock_destroy (&worker);
    zjob_msg_builder_destroy (&builder);
    cr_assert_eq (s_stop (daemon, SIGTERM), 0);

    FILE *file = fopen (log_path, "r");
    cr_assert_not_null (file);
    char *text = (char *) calloc (1, 65536);
    cr_assert_not_null (text);
    size_t size = fread (text, 1, 65535, file);
    text [size] = 0;
    fclose (file);
    return text;
}

//  Lines of text at level ("info"): "TIME info zjobd[PID]: ..."
static size_t
s_lines_with (const char *text, const char *level)
{
    char tag [32];
    snprintf (tag, sizeof tag, " %s zjobd[", level);
    size_t count = 0;
    for (const char *line = text; line && *line; line = strchr (line, '\n') ? strchr (line, '\n') + 1 : NULL) {
        const char *found = strstr (line, tag), *end = strchr (line, '\n');
        if (found && (!end || found < end))
            count++;
    }
    return count;
}

Test (zjobd, log_level_warning_prints_no_info_lines)
{
    s_dir = zjob_test_tmpdir ();
    cr_assert_not_null (s_dir);
    char log_path [600];
    //  At info (the control: the log is caught), the life is told
    snprintf (log_path, sizeof (log_path), "%s/info.log", s_dir);
    char *text = s_logged_life ("info", log_path);
    cr_assert (strstr (text, "shutting down"), "no shutdown line at info:\n%s", text);
    cr_assert (strstr (text, "worker w-logs ready"), "no worker line at info:\n%s", text);
    cr_assert_gt (s_lines_with (text, "info"), 2, "%s", text);
    free (text);
    //  At warning, none of it
    snprintf (log_path, sizeof (log_path), "%s/warning.log", s_dir);
    text = s_logged_life ("warning", log_path);
    cr_assert_eq (s_lines_with (text, "info"), 0, "info lines at --log-level warning:\n%s", text);
    cr_assert_eq (s_lines_with (text, "debug"), 0, "debug lines at --log-level warning:\n%s", text);
    free (text);
}

//  --------------------------------------------------------------------------
//  Signals, exit codes, errors

//  The whole of the file at path (freshly allocated; "" if none)
static char *
s_slurp (const char *path)
{
    char *text = (char *) calloc (1, 65536);
    cr_assert_not_null (text);
    FILE *file = fopen (path, "r");
    if (file) {
        size_t size = fread (text, 1, 65535, file);
        text [size] = 0;
        fclose (file);
    }
    return text;
}

//  Times needle occurs in text
static size_t
s_count (const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *at = strstr (text, needle); at; at = strstr (at + 1, needle))
        count++;
    return count;
}

//  Wait until the file at path holds needle; true if it did in time
static bool
s_wait_for_text (const char *path, const char *needle)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    while (true) {
        char *text = s_slurp (path);
        bool found = strstr (text, needle) != NULL;
        free (text);
        if (found || zclock_mono () >= deadline)
            return found;
        zclock_sleep (10);  //  Polling a file the daemon writes
    }
}

Test (zjobd, sighup_keeps_serving_and_reopens_the_log_file)
{
    s_dir = zjob_test_tmpdir ();
    cr_assert_not_null (s_dir);
    char log_path [600], rotated [600];
    snprintf (log_path, sizeof (log_path), "%s/zjobd.log", s_dir);
    snprintf (rotated, sizeof (rotated), "%s/zjobd.log.1", s_dir);
    s_daemon_t *daemon = s_zjobd ("--store", "memory:", "--log-level", "info",
                                  "--log-file", log_path, NULL);
    zsock_t *client = zjob_test_dealer (daemon->clients);
    s_ping (client);
    cr_assert (s_wait_for_text (log_path, "serving"), "the log file has the start");

    //  A rotation: rename, then SIGHUP; the broker goes on, in a new file
    cr_assert_eq (rename (log_path, rotated), 0);
    kill (daemon->pid, SIGHUP);
    cr_assert (s_wait_for_text (log_path, "SIGHUP: log reopened"), "no new log file");
    s_ping (client);
    zsock_t *worker = s_raw_worker (daemon, "w-rotated", "rotate", 1, NULL);
    cr_assert (s_wait_for_text (log_path, "w-rotated"), "the broker's lines go to the new file");
    zsock_destroy (&worker);
    zsock_destroy (&client);
    cr_assert_eq (s_stop (daemon, SIGTERM), 0, "a clean stop after SIGHUP");
    char *text = s_slurp (log_path);
    cr_assert (strstr (text, "shutting down"), "%s", text);
    free (text);
    text = s_slurp (rotated);
    cr_assert (strstr (text, "serving"), "%s", text);
    cr_assert_null (strstr (text, "SIGHUP"), "nothing after the rotation in the old file");
    cr_assert_null (strstr (text, "shutting down"), "%s", text);
    free (text);
}

Test (zjobd, sighup_when_logging_to_stderr_keeps_serving)
{
    s_daemon_t *daemon = s_zjobd ("--store", "memory:", NULL);
    zsock_t *client = zjob_test_dealer (daemon->clients);
    s_ping (client);
    kill (daemon->pid, SIGHUP);
    kill (daemon->pid, SIGHUP);
    s_ping (client);
    cr_assert_eq (zjob_test_proc_state (daemon->pid) != 0 && zjob_test_proc_state (daemon->pid) != 'Z',
                  true, "zjobd survived SIGHUP");
    zsock_destroy (&client);
    cr_assert_eq (s_stop (daemon, SIGTERM), 0);
}

//  Run zjobd with args (NULL-terminated) to its end, stdout and stderr
//  kept in out and err (fresh strings); returns its exit status
static int
s_run (const char *const *args, char **out, char **err)
{
    if (!s_dir)
        s_dir = zjob_test_tmpdir ();
    char out_path [600], err_path [600];
    snprintf (out_path, sizeof (out_path), "%s/run.out", s_dir);
    snprintf (err_path, sizeof (err_path), "%s/run.err", s_dir);
    pid_t pid = fork ();
    cr_assert_geq (pid, 0);
    if (pid == 0) {
        int out_fd = open (out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err_fd = open (err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out_fd < 0 || err_fd < 0)
            _exit (127);
        dup2 (out_fd, STDOUT_FILENO);
        dup2 (err_fd, STDERR_FILENO);
        char *argv [32] = { (char *) ZJOB_BIN_DIR "/zjobd" };
        for (int index = 0; index < 30 && args [index]; index++)
            argv [index + 1] = (char *) args [index];
        execv (argv [0], argv);
        _exit (127);
    }
    int status = zjob_test_wait_exit (pid, S_WAIT);
    *out = s_slurp (out_path);
    *err = s_slurp (err_path);
    return status;
}

Test (zjobd, exit_codes_and_errors_said_once)
{
    char *out, *err;
    const char *help [] = { "--help", NULL };
    cr_assert_eq (s_run (help, &out, &err), 0);
    cr_assert (strstr (out, "Exit status"), "%s", out);
    cr_assert (strstr (out, "SIGHUP"), "%s", out);
    free (out);
    free (err);

    struct {
        const char *args [16];
        int status;
        const char *says;
    } cases [] = {
        { { "--colour", "blue", NULL }, 1, "unknown option '--colour'" },
        { { "--store", NULL }, 1, "--store needs a value" },
        { { "stray", NULL }, 1, "unexpected argument 'stray'" },
        { { "--config", NULL }, 1, "--config needs a file" },
        { { "--heartbeat", "soon", NULL }, 2, "'soon' is not a duration" },
        { { "--config", "/nonexistent/zjobd.cfg", NULL }, 2, "not found" },
        { { "--clients", "127.0.0.1:5570", NULL }, 2, "endpoint must include a transport, e.g. tcp://127.0.0.1:5570" },
        { { "--workers", "tcp://127.0.0.1:*,127.0.0.1:5571", NULL }, 2, "bad workers endpoint \"127.0.0.1:5571\": an endpoint must include a transport" },
        { { "--store", "tape:/dev/st0", "--log-level", "error",
            "--clients", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*",
            "--events", "tcp://127.0.0.1:*", NULL },
          2,
          "unknown store 'tape:/dev/st0'" },
        { { "--log-file", "/nonexistent/dir/zjobd.log", NULL }, 2, "cannot open the log file" }
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        int status = s_run (cases [index].args, &out, &err);
        cr_assert_eq (status, cases [index].status, "case %zu exits %d, not %d: %s", index,
                      cases [index].status, status, err);
        cr_assert_eq (s_count (err, cases [index].says), 1, "case %zu says \"%s\" once: %s",
                      index, cases [index].says, err);
        free (out);
        free (err);
    }

    //  An endpoint already bound by another broker: cannot start, said once
    s_daemon_t *daemon = s_zjobd ("--store", "memory:", NULL);
    const char *taken [] = { "--store", "memory:", "--clients", daemon->clients,
                             "--workers", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*",
                             NULL };
    cr_assert_eq (s_run (taken, &out, &err), 8, "%s", err);
    cr_assert_eq (s_count (err, "cannot bind the clients socket"), 1, "%s", err);
    free (out);
    free (err);

    //  With a log file, the log has it once and stderr once
    char log_path [600];
    snprintf (log_path, sizeof (log_path), "%s/taken.log", s_dir);
    const char *logged [] = { "--store", "memory:", "--clients", daemon->clients,
                              "--workers", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*",
                              "--log-file", log_path, NULL };
    cr_assert_eq (s_run (logged, &out, &err), 8, "%s", err);
    cr_assert_eq (s_count (err, "cannot bind the clients socket"), 1, "%s", err);
    char *text = s_slurp (log_path);
    cr_assert_eq (s_count (text, "cannot bind the clients socket"), 1, "%s", text);
    free (text);
    free (out);
    free (err);
    cr_assert_eq (s_stop (daemon, SIGTERM), 0);
}

//  A retry scheduled 2 s ahead survives a kill -9 and a restart: it is
//  neither run at once nor lost
Test (zjobd, a_retry_waiting_for_its_backoff_survives_a_kill)
{
    s_dir = zjob_test_tmpdir ();
    cr_assert_not_null (s_dir);
    s_daemon_t *daemon = s_zjobd ("--data-dir", s_dir, "--backoff", "fixed", "--backoff-base",
                                  "2s", "--backoff-jitter", "none", NULL);
    zsock_t *client = zjob_test_dealer (daemon->clients);
    char *id = zjob_test_submit (client, "report", NULL, NULL);
    cr_assert_not_null (id);
    zsock_t *worker = s_raw_worker (daemon, "w-fails", "report", 1, NULL);
    zjob_msg_t *msg = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_JOB, S_WAIT);
    cr_assert_not_null (msg, "no JOB");
    zjob_msg_destroy (&msg);
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_RESULT, 2);
    zjob_msg_add_str (builder, "id", id);
    zjob_msg_add_str (builder, "status", "failed");
    zjob_msg_add_str (builder, "error_kind", "exception");
    zjob_msg_add_uint (builder, "attempt", 1);
    zframe_t *frame = zjob_msg_end (builder, NULL);
    zjob_test_send (worker, &frame);
    msg = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_OK, S_WAIT);
    cr_assert_not_null (msg, "RESULT not acknowledged");
    zjob_msg_destroy (&msg);
    zjob_job_t *job = zjob_test_get (client, id);
    cr_assert_eq (job->status, ZJOB_QUEUED, "retried");
    int64_t run_at = job->run_at;
    cr_assert_geq (run_at, zjob_clock_ms () + 1000, "the retry waits for its backoff");
    zjob_job_destroy (&job);
    zsock_destroy (&worker);
    zsock_destroy (&client);
    s_stop (daemon, SIGKILL);

    //  Restarted: still waiting, for the same time
    daemon = s_zjobd ("--data-dir", s_dir, NULL);
    client = zjob_test_dealer (daemon->clients);
    job = zjob_test_get (client, id);
    cr_assert_not_null (job, "the retry was lost");
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_eq (job->run_at, run_at);
    cr_assert_eq (zjob_job_error_count (job), 1);
    zjob_job_destroy (&job);
    worker = s_raw_worker (daemon, "w-next", "report", 1, NULL);
    int64_t deadline = zjob_mono_ms () + S_WAIT + 3000;
    msg = NULL;
    while (!msg && zjob_mono_ms () < deadline) {
        //  Heartbeat as a live worker does; keep any JOB
        zframe_t *beat = zjob_msg_empty_new (ZJOB_CMD_HEARTBEAT, 3);
        zjob_test_send (worker, &beat);
        msg = zjob_test_recv (worker, ZJOB_ROUTE_BROKER_WORKER, 200);
        if (msg && zjob_msg_command (msg) != ZJOB_CMD_JOB)
            zjob_msg_destroy (&msg);
    }
    cr_assert_not_null (msg, "the retry never ran");
    cr_assert_geq (zjob_clock_ms (), run_at, "the retry ran before its time");
    zjob_msg_destroy (&msg);
    free (id);
    zjob_msg_builder_destroy (&builder);
    zsock_destroy (&worker);
    zsock_destroy (&client);
    s_stop (daemon, SIGTERM);
}


//  An endpoint list: the clients ROUTER on tcp and ipc at once, the
//  workers on ipc only; a client of each transport and a worker on ipc
//  run one job together
Test (zjobd, binds_a_list_of_endpoints_tcp_and_ipc)
{
    s_dir = zjob_test_tmpdir ();
    char clients [512], workers [512];
    snprintf (clients, sizeof clients, "tcp://127.0.0.1:*,ipc://%s/clients", s_dir);
    snprintf (workers, sizeof workers, "ipc://%s/workers", s_dir);
    s_daemon_t *daemon = s_zjobd ("--clients", clients, "--workers", workers, NULL);
    //  The ready line says both, as bound: the port, then the ipc path
    char *ipc = strchr (daemon->clients, ',');
    cr_assert_not_null (ipc, "one endpoint in %s", daemon->clients);
    *ipc++ = '\0';
    cr_assert_str_eq (ipc, clients + strlen ("tcp://127.0.0.1:*,"));
    cr_assert_str_eq (daemon->workers, workers);

    zjob_error_t err;
    zjob_client_t *near = zjob_client_new (ipc, S_WAIT, &err);
    zjob_client_t *far = zjob_client_new (daemon->clients, S_WAIT, &err);
    cr_assert (near && far, "%s", err.text);
    const char *workflow = "listed";
    zjob_worker_t *worker = zjob_worker_new (daemon->workers, "w", &workflow, 1, 1, &err);
    cr_assert_not_null (worker, "%s", err.text);
    zjob_spec_t spec = { .workflow_id = workflow };
    char id [ZJOB_ID_LEN + 1];
    cr_assert_eq (zjob_client_submit (near, &spec, true, id, &err), 0, "submit over ipc: %s",
                  err.text);
    zjob_task_t *task = NULL;
    int64_t deadline = zjob_mono_ms () + S_WAIT;
    while (!task && zjob_mono_ms () < deadline)
        if (zjob_worker_recv (worker, 100, &task, &err) != ZJOB_WORKER_TASK)
            task = NULL;
    cr_assert_not_null (task, "the worker on ipc got no job");
    cr_assert_str_eq (zjob_task_id (task), id);
    cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0);
    cr_assert_eq (zjob_worker_flush (worker, S_WAIT), 0);
    zjob_job_t *done = zjob_client_get (far, id, &err);
    cr_assert_not_null (done, "get over tcp: %s", err.text);
    cr_assert_eq (zjob_job_status (done), ZJOB_COMPLETED);
    zjob_job_destroy (&done);
    zjob_worker_destroy (&worker);
    zjob_client_destroy (&near);
    zjob_client_destroy (&far);
    cr_assert_eq (s_stop (daemon, SIGTERM), 0);
}
