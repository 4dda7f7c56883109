/*  =========================================================================
    test_zjob_worker_cmd - zjob-worker as a user runs it

    Each test starts the real zjobd (memory store, ephemeral ports, default
    heartbeats: a loaded machine must not make a worker look dead) and the
    real zjob-worker with a command: the example
    examples/progress_job.sh or a /bin/sh snippet. Jobs go in through the
    client library, and the tests check what a user would: the outputs a
    command printed, the error a failing one left, its environment and
    stdin, progress seen with get, and the processes themselves, read from
    /proc: paused ('T'), running again, killed, or gone when the worker
    stops or dies. Every process started here is stopped in the fini, and
    gets SIGKILL from the kernel should the test process die first.
    ========================================================================= */

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zjob_client.h"
#include "zjob_json.h"
#include "helper_zjob_test.h"

//  msecs any expected thing may take: a poll
//  ends as soon as it holds; the margin is
//  for a loaded machine (sanitizers, -j2)
#define DEADLINE_MS 15000
#define WORKER_BIN ZJOB_BIN_DIR "/zjob-worker"
#define EXAMPLE ZJOB_SOURCE_DIR "/examples/progress_job.sh"

//  A job that writes its pid to $1/pid, then loops until $1/stop exists
//  and prints how many times it looped
#define LOOP_SCRIPT                                                         \
    "d=$1; echo $$ > \"$d/pid.tmp\" && mv \"$d/pid.tmp\" \"$d/pid\"; n=0; " \
    "while [ ! -e \"$d/stop\" ]; do n=$((n+1)); sleep 0.01; done; "         \
    "echo \"{\\\"loops\\\": $n}\""

//  What one test started; the fini stops all of it
static struct {
    char *dir;           //  The test's temporary directory
    pid_t broker;        //  zjobd, 0 if not running
    int broker_out;      //  Its stdout (the ready line)
    char clients [256];  //  Its endpoints
    char workers [256];
    pid_t worker;    //  zjob-worker, 0 if not running
    char log [512];  //  zjob-worker's stderr
    zjob_client_t *client;
} s_env;

//  --------------------------------------------------------------------------
//  Processes

//  Start zjob-worker on the test's broker with the arguments given (a
//  NULL-terminated list); with_broker false leaves --broker out
static void
s_worker_start (bool with_broker, const char *arg, ...)
{
    char *argv [64];
    int argc = 0;
    argv [argc++] = WORKER_BIN;
    if (with_broker) {
        argv [argc++] = "--broker";
        argv [argc++] = s_env.workers;
    }
    va_list args;
    va_start (args, arg);
    for (; arg && argc < 63; arg = va_arg (args, const char *))
        argv [argc++] = (char *) arg;
    va_end (args);
    argv [argc] = NULL;
    s_env.worker = zjob_test_spawn_with (argv, NULL, s_env.log);
    cr_assert_gt (s_env.worker, 0);
}

//  --------------------------------------------------------------------------
//  Files

static char *
s_path (const char *name)
{
    static char path [600];
    snprintf (path, sizeof (path), "%s/%s", s_env.dir, name);
    return path;
}

static void
s_touch (const char *name)
{
    FILE *file = fopen (s_path (name), "w");
    cr_assert_not_null (file, "%s", s_path (name));
    fclose (file);
}

//  The pid a job wrote into name, once it is there
static pid_t
s_read_pid (const char *name)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (!zsys_file_exists (s_path (name)) && zjob_mono_ms () < deadline)
        zclock_sleep (5);  //  Polling for a file the job writes
    FILE *file = fopen (s_path (name), "r");
    cr_assert_not_null (file, "the job did not write %s", name);
    int pid = 0;
    cr_assert_eq (fscanf (file, "%d", &pid), 1);
    fclose (file);
    cr_assert_gt (pid, 0);
    return (pid_t) pid;
}

//  True if the file at path holds text
static bool
s_file_holds (const char *path, const char *text)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    char buffer [65536];
    size_t size = fread (buffer, 1, sizeof (buffer) - 1, file);
    fclose (file);
    buffer [size] = '\0';
    return strstr (buffer, text) != NULL;
}

//  --------------------------------------------------------------------------
//  Jobs

static void
s_submit (const char *workflow, const char *inputs, zjob_priority_t priority, char *id)
{
    uint8_t *data = NULL;
    size_t size = 0;
    zjob_error_t err;
    cr_assert_eq (zjob_json_to_msgpack (inputs, &data, &size, &err), 0, "%s", err.text);
    zjob_spec_t spec = { .workflow_id = workflow, .inputs = data, .inputs_size = size, .priority = priority };
    cr_assert_eq (zjob_client_submit (s_env.client, &spec, true, id, &err), 0, "%s", err.text);
    free (data);
}

static zjob_job_t *
s_get (const char *id)
{
    zjob_error_t err;
    zjob_job_t *job = zjob_client_get (s_env.client, id, &err);
    cr_assert_not_null (job, "get %s: %s", id, err.text);
    return job;
}

//  Wait until the job has status
static void
s_expect_status (const char *id, zjob_status_t status)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    int now;
    zjob_error_t err;
    while ((now = zjob_client_status (s_env.client, id, &err)) != (int) status
           && zjob_mono_ms () < deadline)
        zclock_sleep (10);  //  Polling the broker for a change
    cr_assert_eq (now, status, "job %s is %s, not %s", id,
                  now >= 0 ? zjob_status_name (now) : err.text, zjob_status_name (status));
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
                  job->error_kind ? job->error_kind : "-",
                  job->error_message ? job->error_message : "-");
    return job;
}

//  A failed job's error, checked: kind, and text found in the message
static void
s_expect_failure (const char *id, const char *kind, const char *text)
{
    zjob_job_t *job = s_expect_end (id, ZJOB_FAILED);
    cr_assert_str_eq (job->error_kind, kind, "message: %s", job->error_message);
    cr_assert_not_null (job->error_message);
    cr_assert (strstr (job->error_message, text), "\"%s\" not in \"%s\"", text,
               job->error_message);
    zjob_job_destroy (&job);
}

//  A job's outputs as JSON (json_decref it)
static json_t *
s_outputs (const zjob_job_t *job)
{
    if (job->outputs.size == 0)
        return json_object ();
    zjob_error_t err;
    json_t *outputs = zjob_msgpack_to_json_value (job->outputs.data, job->outputs.size, &err);
    cr_assert_not_null (outputs, "%s", err.text);
    return outputs;
}

//  --------------------------------------------------------------------------
//  Fixture: a broker and a client per test

static void
s_setup (void)
{
    memset (&s_env, 0, sizeof (s_env));
    s_env.broker_out = -1;
    s_env.dir = zjob_test_tmpdir ();
    cr_assert_not_null (s_env.dir);
    snprintf (s_env.log, sizeof (s_env.log), "%s/worker.log", s_env.dir);
    char broker_log [600];
    snprintf (broker_log, sizeof (broker_log), "%s/zjobd.log", s_env.dir);
    char *argv [] = { ZJOB_BIN_DIR "/zjobd", "--clients", "tcp://127.0.0.1:*",
                      "--workers", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*",
                      "--store", "memory:", "--log-level", "warning", NULL };
    s_env.broker = zjob_test_spawn_with (argv, &s_env.broker_out, broker_log);
    cr_assert_gt (s_env.broker, 0);
    char *line = zjob_test_read_line (s_env.broker_out, DEADLINE_MS);
    cr_assert_not_null (line, "zjobd did not say it is ready");
    int parsed = sscanf (line, "zjobd ready clients=%255s workers=%255s", s_env.clients,
                         s_env.workers);
    free (line);
    cr_assert_eq (parsed, 2);
    zjob_error_t err;
    s_env.client = zjob_client_new (s_env.clients, 2000, &err);
    cr_assert_not_null (s_env.client, "%s", err.text);
}

static void
s_teardown (void)
{
    zjob_test_stop (&s_env.worker, SIGKILL, DEADLINE_MS);
    zjob_client_destroy (&s_env.client);
    zjob_test_stop (&s_env.broker, SIGTERM, DEADLINE_MS);
    if (s_env.broker_out >= 0)
        close (s_env.broker_out);
    zjob_test_tmpdir_done (&s_env.dir);
}

TestSuite (worker_cmd, .init = s_setup, .fini = s_teardown);

//  --------------------------------------------------------------------------
//  What the command gets and gives

Test (worker_cmd, example_job_outputs_its_json)
{
    s_worker_start (true, "--workflow", "demo", "--", EXAMPLE, NULL);
    char id [ZJOB_ID_LEN + 1];
    s_submit ("demo", "{\"steps\": 3, \"sleep_ms\": 20}", ZJOB_PRIORITY_LOW, id);
    zjob_job_t *job = s_expect_end (id, ZJOB_COMPLETED);
    json_t *outputs = s_outputs (job);
    cr_assert_eq (json_integer_value (json_object_get (outputs, "steps_done")), 3);
    cr_assert_str_eq (json_string_value (json_object_get (outputs, "job_id")), id);
    cr_assert_str_eq (json_string_value (json_object_get (outputs, "workflow")), "demo");
    cr_assert_eq (json_integer_value (json_object_get (outputs, "attempt")), 1);
    json_decref (outputs);
    zjob_job_destroy (&job);

    //  The same script failing as asked: its stderr is the message
    s_submit ("demo", "{\"steps\": 1, \"sleep_ms\": 0, \"fail\": true}", ZJOB_PRIORITY_LOW, id);
    s_expect_failure (id, "exit", "exit status 3: progress_job: failing after step 1 of 1");
}

Test (worker_cmd, environment_and_stdin)
{
    //  No --broker: the endpoint comes from ZJOB_WORKER_BROKER
    setenv ("ZJOB_WORKER_BROKER", s_env.workers, 1);
    s_worker_start (false, "--workflow", "env", "--name", "envtester", "--", "/bin/sh", "-c",
                    "printf '{\"id\": \"%s\", \"workflow\": \"%s\", \"attempt\": %s, "
                    "\"priority\": \"%s\", \"worker\": \"%s\", \"progress_fd\": %s, "
                    "\"stdin\": %s}' \"$ZJOB_JOB_ID\" \"$ZJOB_WORKFLOW\" \"$ZJOB_ATTEMPT\" "
                    "\"$ZJOB_PRIORITY\" \"$ZJOB_WORKER_ID\" \"$ZJOB_PROGRESS_FD\" \"$(cat)\"",
                    NULL);
    char id [ZJOB_ID_LEN + 1];
    s_submit ("env", "{\"name\": \"Ada\", \"n\": [1, 2.5], \"caf\\u00e9\": null}",
              ZJOB_PRIORITY_HIGH, id);
    zjob_job_t *job = s_expect_end (id, ZJOB_COMPLETED);
    json_t *outputs = s_outputs (job);
    cr_assert_str_eq (json_string_value (json_object_get (outputs, "id")), id);
    cr_assert_str_eq (json_string_value (json_object_get (outputs, "workflow")), "env");
    cr_assert_eq (json_integer_value (json_object_get (outputs, "attempt")), 1);
    cr_assert_str_eq (json_string_value (json_object_get (outputs, "priority")), "high");
    const char *worker = json_string_value (json_object_get (outputs, "worker"));
    cr_assert (worker && strncmp (worker, "envtester.", 10) == 0, "%s", worker);
    cr_assert_str_eq (worker, job->worker_id);
    cr_assert_eq (json_integer_value (json_object_get (outputs, "progress_fd")), 3);
    json_t *expected = json_loads ("{\"name\": \"Ada\", \"n\": [1, 2.5], \"caf\\u00e9\": null}",
                                   0, NULL);
    cr_assert (json_equal (json_object_get (outputs, "stdin"), expected),
               "the inputs come back as they went in");
    json_decref (expected);
    json_decref (outputs);
    zjob_job_destroy (&job);
}

Test (worker_cmd, failure_carries_the_stderr_tail)
{
    //  3000 bytes of noise, then the line that matters
    s_worker_start (true, "-w", "fails", "--", "/bin/sh", "-c",
                    "echo 'starting' >&2; head -c 3000 /dev/zero | tr '\\0' . >&2; "
                    "printf '\\ndisk is full\\n' >&2; exit 7",
                    NULL);
    char id [ZJOB_ID_LEN + 1];
    s_submit ("fails", "{}", ZJOB_PRIORITY_LOW, id);
    s_expect_failure (id, "exit", "exit status 7: ...");
    zjob_job_t *job = s_get (id);
    size_t len = strlen (job->error_message);
    cr_assert_leq (len, ZJOB_MESSAGE_MAX);
    cr_assert_geq (len, ZJOB_MESSAGE_MAX - 40, "about 1 KiB of the tail: %zu bytes", len);
    cr_assert_str_eq (job->error_message + len - 13, "\ndisk is full");
    cr_assert_null (strstr (job->error_message, "starting"), "the head was cut");
    zjob_job_destroy (&job);
}

Test (worker_cmd, stdout_must_be_a_json_object)
{
    s_worker_start (true, "-w", "out", "--slots", "4", "--", "/bin/sh", "-c",
                    "read -r inputs; case \"$inputs\" in "
                    "*text*) echo 'this is not json' ;; "
                    "*array*) echo '[1, 2]' ;; "
                    "*nul*) printf '{}\\000{}' ;; "
                    "*empty*) ;; "
                    "*spaces*) printf ' \\n\\t\\n' ;; esac",
                    NULL);
    char text [ZJOB_ID_LEN + 1], array [ZJOB_ID_LEN + 1], nul [ZJOB_ID_LEN + 1];
    char empty [ZJOB_ID_LEN + 1], spaces [ZJOB_ID_LEN + 1];
    s_submit ("out", "{\"case\": \"text\"}", ZJOB_PRIORITY_LOW, text);
    s_submit ("out", "{\"case\": \"array\"}", ZJOB_PRIORITY_LOW, array);
    s_submit ("out", "{\"case\": \"nul\"}", ZJOB_PRIORITY_LOW, nul);
    s_submit ("out", "{\"case\": \"empty\"}", ZJOB_PRIORITY_LOW, empty);
    s_submit ("out", "{\"case\": \"spaces\"}", ZJOB_PRIORITY_LOW, spaces);
    s_expect_failure (text, "bad_output", "stdout is not a JSON object: invalid JSON at line 1");
    s_expect_failure (array, "bad_output", "expected a JSON object");
    s_expect_failure (nul, "bad_output", "NUL");
    const char *nothing [] = { empty, spaces };
    for (int i = 0; i < 2; i++) {
        zjob_job_t *job = s_expect_end (nothing [i], ZJOB_COMPLETED);
        json_t *outputs = s_outputs (job);
        cr_assert (json_is_object (outputs) && json_object_size (outputs) == 0,
                   "no output is {}");
        json_decref (outputs);
        zjob_job_destroy (&job);
    }
}

Test (worker_cmd, signal_and_exec_failures)
{
    s_worker_start (true, "-w", "killed", "--", "/bin/sh", "-c",
                    "echo 'about to die' >&2; kill -KILL $$", NULL);
    char id [ZJOB_ID_LEN + 1];
    s_submit ("killed", "{}", ZJOB_PRIORITY_LOW, id);
    s_expect_failure (id, "signal", "killed by signal 9 (SIGKILL): about to die");
    kill (s_env.worker, SIGKILL);
    zjob_test_wait_exit (s_env.worker, DEADLINE_MS);

    //  A command that cannot run fails each job, and the worker goes on
    s_worker_start (true, "-w", "missing", "--", "/nonexistent/zjob-command", "arg", NULL);
    for (int i = 0; i < 2; i++) {
        s_submit ("missing", "{}", ZJOB_PRIORITY_LOW, id);
        s_expect_failure (id, "exec", "cannot execute \"/nonexistent/zjob-command\": "
                                      "No such file or directory");
    }
    cr_assert_eq (waitpid (s_env.worker, NULL, WNOHANG), 0, "the worker still serves");
}

Test (worker_cmd, progress_is_seen_with_get)
{
    s_worker_start (true, "-w", "slow", "--", "/bin/sh", "-c",
                    "echo '0.4 resizing image' >&3; "
                    "while [ ! -e \"$1/go\" ]; do sleep 0.01; done; echo '{}'",
                    "sh", s_env.dir, NULL);
    char id [ZJOB_ID_LEN + 1];
    s_submit ("slow", "{}", ZJOB_PRIORITY_LOW, id);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    bool seen = false;
    while (!seen && zjob_mono_ms () < deadline) {
        zjob_job_t *job = s_get (id);
        seen = job->progress > 0.39 && job->progress < 0.41 && job->progress_message
            && streq (job->progress_message, "resizing image");
        zjob_job_destroy (&job);
        if (!seen)
            zclock_sleep (10);  //  Polling the broker for a change
    }
    cr_assert (seen, "progress 0.4 \"resizing image\" is visible while the job runs");
    s_touch ("go");
    zjob_job_t *job = s_expect_end (id, ZJOB_COMPLETED);
    zjob_job_destroy (&job);
}

//  --------------------------------------------------------------------------
//  Control of a running command

Test (worker_cmd, pause_stops_the_process_and_resume_continues_it)
{
    s_worker_start (true, "-w", "loop", "--", "/bin/sh", "-c", LOOP_SCRIPT, "sh", s_env.dir,
                    NULL);
    char id [ZJOB_ID_LEN + 1];
    s_submit ("loop", "{}", ZJOB_PRIORITY_LOW, id);
    pid_t pid = s_read_pid ("pid");
    s_expect_status (id, ZJOB_RUNNING);
    zjob_error_t err;

    cr_assert_eq (zjob_client_pause (s_env.client, id, &err), 0, "%s", err.text);
    s_expect_status (id, ZJOB_PAUSED);
    cr_assert (zjob_test_wait_stopped (pid, true, DEADLINE_MS), "paused: the process is stopped");

    cr_assert_eq (zjob_client_resume (s_env.client, id, &err), 0, "%s", err.text);
    s_expect_status (id, ZJOB_RUNNING);
    cr_assert (zjob_test_wait_stopped (pid, false, DEADLINE_MS), "resumed: the process runs again");

    s_touch ("stop");
    zjob_job_t *job = s_expect_end (id, ZJOB_COMPLETED);
    json_t *outputs = s_outputs (job);
    cr_assert_gt (json_integer_value (json_object_get (outputs, "loops")), 0);
    json_decref (outputs);
    zjob_job_destroy (&job);
    cr_assert (zjob_test_wait_gone (pid, DEADLINE_MS));
}

Test (worker_cmd, cancel_kills_the_process_and_frees_the_slot)
{
    s_worker_start (true, "-w", "loop", "--grace", "2", "--", "/bin/sh", "-c", LOOP_SCRIPT,
                    "sh", s_env.dir, NULL);
    char id [ZJOB_ID_LEN + 1];
    s_submit ("loop", "{}", ZJOB_PRIORITY_LOW, id);
    pid_t pid = s_read_pid ("pid");
    s_expect_status (id, ZJOB_RUNNING);

    //  Also a paused job: it must still see the SIGTERM
    zjob_error_t err;
    cr_assert_eq (zjob_client_pause (s_env.client, id, &err), 0, "%s", err.text);
    cr_assert (zjob_test_wait_stopped (pid, true, DEADLINE_MS), "paused: the process is stopped");
    int64_t cancelled_at = zjob_mono_ms ();
    cr_assert_eq (zjob_client_cancel (s_env.client, id, &err), 0, "%s", err.text);
    s_expect_status (id, ZJOB_CANCELLED);
    cr_assert (zjob_test_wait_gone (pid, DEADLINE_MS), "the command is gone");
    cr_assert_lt (zjob_mono_ms () - cancelled_at, 1900, "SIGTERM did it, not the SIGKILL");

    //  The one slot is free again
    remove (s_path ("pid"));
    s_submit ("loop", "{}", ZJOB_PRIORITY_LOW, id);
    s_read_pid ("pid");
    s_touch ("stop");
    zjob_job_t *job = s_expect_end (id, ZJOB_COMPLETED);
    zjob_job_destroy (&job);
}

Test (worker_cmd, cancel_kills_a_command_that_ignores_sigterm)
{
    s_worker_start (true, "-w", "stubborn", "--grace", "0.3", "--", "/bin/sh", "-c",
                    "trap '' TERM; " LOOP_SCRIPT, "sh", s_env.dir, NULL);
    char id [ZJOB_ID_LEN + 1];
    s_submit ("stubborn", "{}", ZJOB_PRIORITY_LOW, id);
    pid_t pid = s_read_pid ("pid");
    s_expect_status (id, ZJOB_RUNNING);
    int64_t cancelled_at = zjob_mono_ms ();
    zjob_error_t err;
    cr_assert_eq (zjob_client_cancel (s_env.client, id, &err), 0, "%s", err.text);
    cr_assert (zjob_test_wait_gone (pid, DEADLINE_MS), "SIGKILL after the grace");
    cr_assert_geq (zjob_mono_ms () - cancelled_at, 250, "not before the grace");
    s_expect_status (id, ZJOB_CANCELLED);
}

Test (worker_cmd, timeout_fails_the_job)
{
    s_worker_start (true, "-w", "slow", "--timeout", "300ms", "--grace", "0.2", "--",
                    "/bin/sh", "-c", "echo 'still working' >&2; exec sleep 30", NULL);
    char id [ZJOB_ID_LEN + 1];
    s_submit ("slow", "{}", ZJOB_PRIORITY_LOW, id);
    s_expect_failure (id, "timeout", "ran longer than the time limit of 0.3s: still working");
}

Test (worker_cmd, slots_run_jobs_concurrently)
{
    s_worker_start (true, "-w", "wide", "--slots", "3", "--", "/bin/sh", "-c",
                    "touch \"$1/run.$ZJOB_JOB_ID\"; "
                    "while [ ! -e \"$1/go\" ]; do sleep 0.01; done; echo '{}'",
                    "sh", s_env.dir, NULL);
    char ids [4][ZJOB_ID_LEN + 1];
    for (int i = 0; i < 4; i++)
        s_submit ("wide", "{}", ZJOB_PRIORITY_LOW, ids [i]);

    //  Three commands run at once; the fourth job waits for a slot
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    int running = 0;
    while (running < 3 && zjob_mono_ms () < deadline) {
        running = 0;
        for (int i = 0; i < 4; i++) {
            char name [128];
            snprintf (name, sizeof (name), "run.%s", ids [i]);
            running += zsys_file_exists (s_path (name));
        }
        if (running < 3)
            zclock_sleep (5);
    }
    cr_assert_eq (running, 3, "three commands at once");
    int queued = 0;
    zjob_error_t err;
    for (int i = 0; i < 4; i++)
        queued += zjob_client_status (s_env.client, ids [i], &err) == ZJOB_QUEUED;
    cr_assert_eq (queued, 1, "one job waits");
    s_touch ("go");
    for (int i = 0; i < 4; i++) {
        zjob_job_t *job = s_expect_end (ids [i], ZJOB_COMPLETED);
        zjob_job_destroy (&job);
    }
}

//  --------------------------------------------------------------------------
//  The worker's own end

Test (worker_cmd, sigterm_hands_back_a_running_job)
{
    s_worker_start (true, "-w", "loop", "--grace", "0.3", "--", "/bin/sh", "-c", LOOP_SCRIPT,
                    "sh", s_env.dir, NULL);
    char id [ZJOB_ID_LEN + 1];
    s_submit ("loop", "{}", ZJOB_PRIORITY_LOW, id);
    pid_t pid = s_read_pid ("pid");
    s_expect_status (id, ZJOB_RUNNING);

    kill (s_env.worker, SIGTERM);
    cr_assert_eq (zjob_test_wait_exit (s_env.worker, DEADLINE_MS), 0, "a clean exit");
    s_env.worker = 0;
    cr_assert (zjob_test_wait_gone (pid, DEADLINE_MS), "no command is left running");
    s_expect_status (id, ZJOB_QUEUED);
    cr_assert (s_file_holds (s_env.log, "handed back to the broker"));

    //  Another worker takes it up
    remove (s_path ("pid"));
    s_touch ("stop");
    s_worker_start (true, "-w", "loop", "--", "/bin/sh", "-c", LOOP_SCRIPT, "sh", s_env.dir,
                    NULL);
    zjob_job_t *job = s_expect_end (id, ZJOB_COMPLETED);
    cr_assert_eq (job->attempts, 2);
    zjob_job_destroy (&job);
}

//  The credit the broker's WORKERS shows for its only worker, -1 if none
static int64_t
s_worker_credit (void)
{
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_workers (s_env.client, &err);
    cr_assert_not_null (reply, "%s", err.text);
    const msgpack_object *workers = zjob_msg_field (zjob_reply_msg (reply), "workers");
    cr_assert (workers && workers->type == MSGPACK_OBJECT_ARRAY);
    int64_t credit = -1;
    if (workers->via.array.size == 1 && workers->via.array.ptr [0].type == MSGPACK_OBJECT_MAP) {
        const msgpack_object_map *map = &workers->via.array.ptr [0].via.map;
        for (uint32_t i = 0; i < map->size; i++)
            if (map->ptr [i].key.type == MSGPACK_OBJECT_STR && map->ptr [i].key.via.str.size == 6
                && memcmp (map->ptr [i].key.via.str.ptr, "credit", 6) == 0
                && map->ptr [i].val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                credit = (int64_t) map->ptr [i].val.via.u64;
    }
    zjob_reply_destroy (&reply);
    return credit;
}

Test (worker_cmd, sigterm_lets_a_job_finish_within_the_grace)
{
    //  Two slots, one job: the stop must take back the free slot's credit
    s_worker_start (true, "-w", "loop", "--slots", "2", "--grace", "4", "--", "/bin/sh", "-c",
                    LOOP_SCRIPT, "sh", s_env.dir, NULL);
    char id [ZJOB_ID_LEN + 1], later [ZJOB_ID_LEN + 1];
    s_submit ("loop", "{}", ZJOB_PRIORITY_LOW, id);
    pid_t pid = s_read_pid ("pid");
    s_expect_status (id, ZJOB_RUNNING);

    int64_t signalled_at = zjob_mono_ms ();
    kill (s_env.worker, SIGTERM);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (!s_file_holds (s_env.log, "taking no new job") && zjob_mono_ms () < deadline)
        zclock_sleep (5);  //  Polling the log for the worker's answer
    cr_assert (s_file_holds (s_env.log, "taking no new job"));
    deadline = zjob_mono_ms () + DEADLINE_MS;
    while (s_worker_credit () != 0 && zjob_mono_ms () < deadline)
        zclock_sleep (10);  //  Polling the broker for a change
    cr_assert_eq (s_worker_credit (), 0, "the stopping worker takes no job");
    s_submit ("loop", "{}", ZJOB_PRIORITY_LOW, later);
    s_touch ("stop");
    cr_assert_eq (zjob_test_wait_exit (s_env.worker, DEADLINE_MS), 0);
    s_env.worker = 0;
    cr_assert_lt (zjob_mono_ms () - signalled_at, 3500, "it did not wait for the whole grace");
    cr_assert (zjob_test_wait_gone (pid, DEADLINE_MS));
    zjob_job_t *job = s_expect_end (id, ZJOB_COMPLETED);
    zjob_job_destroy (&job);
    job = s_get (later);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_eq (job->attempts, 0, "never handed to the stopping worker");
    zjob_job_destroy (&job);
}

Test (worker_cmd, killed_worker_leaves_no_command)
{
    s_worker_start (true, "-w", "loop", "--", "/bin/sh", "-c", LOOP_SCRIPT, "sh", s_env.dir,
                    NULL);
    char id [ZJOB_ID_LEN + 1];
    s_submit ("loop", "{}", ZJOB_PRIORITY_LOW, id);
    pid_t pid = s_read_pid ("pid");
    kill (s_env.worker, SIGKILL);
    cr_assert_eq (zjob_test_wait_exit (s_env.worker, DEADLINE_MS), 128 + SIGKILL);
    s_env.worker = 0;
    cr_assert (zjob_test_wait_gone (pid, DEADLINE_MS), "the command died with the worker");
}

Test (worker_cmd, killed_worker_takes_the_jobs_whole_group_along)
{
    //  The job starts a sleep in the background and one in the foreground;
    //  PR_SET_PDEATHSIG alone would kill only the shell and leave both
    //  running while the broker queues the job again (two copies running)
    s_worker_start (true, "-w", "tree", "--", "/bin/sh", "-c",
                    "d=$1; sleep 30 & echo $! > \"$d/bg.tmp\"; mv \"$d/bg.tmp\" \"$d/bg\"; "
                    "sh -c 'echo $$ > \"$1/fg.tmp\"; mv \"$1/fg.tmp\" \"$1/fg\"; exec sleep 30' "
                    "sh \"$d\"; echo '{}'",
                    "sh", s_env.dir, NULL);
    char id [ZJOB_ID_LEN + 1];
    s_submit ("tree", "{}", ZJOB_PRIORITY_LOW, id);
    pid_t background = s_read_pid ("bg");
    pid_t foreground = s_read_pid ("fg");
    kill (s_env.worker, SIGKILL);
    cr_assert_eq (zjob_test_wait_exit (s_env.worker, DEADLINE_MS), 128 + SIGKILL);
    s_env.worker = 0;
    cr_assert (zjob_test_wait_gone (background, DEADLINE_MS), "the background sleep is killed");
    cr_assert (zjob_test_wait_gone (foreground, DEADLINE_MS), "the foreground sleep is killed");
}

Test (worker_cmd, last_progress_line_goes_before_the_result)
{
    //  Progress written just before the exit is read after it; it must
    //  still reach the broker, and before the RESULT (a progress after the
    //  result would be refused). Many runs, since the race is in the timing
    enum { RUNS = 50 };
    s_worker_start (true, "-w", "quick", "--slots", "4", "--", "/bin/sh", "-c",
                    "printf '0.5 a\\n1.0 last\\n' >&3", NULL);
    char ids [RUNS][ZJOB_ID_LEN + 1];
    for (int run = 0; run < RUNS; run++)
        s_submit ("quick", "{}", ZJOB_PRIORITY_LOW, ids [run]);
    int lost = 0;
    for (int run = 0; run < RUNS; run++) {
        zjob_job_t *job = s_expect_end (ids [run], ZJOB_COMPLETED);
        if (!job->progress_message || !streq (job->progress_message, "last"))
            lost++;
        zjob_job_destroy (&job);
    }
    cr_assert_eq (lost, 0, "%d of %d jobs lost their last progress line", lost, RUNS);
}

//  --------------------------------------------------------------------------
//  Usage

//  Run zjob-worker with args (NULL-terminated) to its end; its exit
//  status, and its stdout and stderr in out and err (size bytes each)
static int
s_run_worker (const char *const *args, char *out, char *err, size_t size)
{
    char *dir = zjob_test_tmpdir ();
    char err_path [600];
    snprintf (err_path, sizeof (err_path), "%s/err", dir);
    char *argv [32] = { WORKER_BIN };
    int argc = 1;
    for (; args [argc - 1] && argc < 31; argc++)
        argv [argc] = (char *) args [argc - 1];
    argv [argc] = NULL;
    int out_fd;
    pid_t pid = zjob_test_spawn_with (argv, &out_fd, err_path);
    cr_assert_gt (pid, 0);
    size_t got = 0;
    ssize_t n;
    while (got < size - 1 && (n = read (out_fd, out + got, size - 1 - got)) > 0)
        got += (size_t) n;
    out [got] = '\0';
    close (out_fd);
    int status = zjob_test_wait_exit (pid, DEADLINE_MS);
    FILE *file = fopen (err_path, "r");
    got = file ? fread (err, 1, size - 1, file) : 0;
    err [got] = '\0';
    if (file)
        fclose (file);
    zjob_test_rmtree (dir);
    free (dir);
    return status;
}

Test (worker_cmd_usage, help_and_bad_usage)
{
    char out [16384], err [16384];
    const char *help [] = { "--help", NULL };
    cr_assert_eq (s_run_worker (help, out, err, sizeof (out)), 0);
    cr_assert (strstr (out, "usage: zjob-worker"), "%s", out);
    cr_assert (strstr (out, "ZJOB_JOB_ID"));
    cr_assert (strstr (out, "echo \"0.4 resizing\" >&3"));
    cr_assert (strstr (out, "ZJOB_WORKER_BROKER"));

    cr_assert (strstr (out, "Exit status: 0"), "%s", out);
    cr_assert (strstr (out, "--permanent-exit CODES"), "%s", out);
    cr_assert (strstr (out, "bad_input"), "%s", out);

    //  Exit 1 for usage (an unknown option, a missing argument), 2 for an
    //  invalid value, as the zjob CLI
    struct {
        const char *args [8];
        int status;
        const char *says;
    } cases [] = {
        { { NULL }, 1, "no workflow given" },
        { { "-w", "x", NULL }, 1, "no command given" },
        { { "-w", "x", "--frobnicate", "--", "true", NULL }, 1, "unknown option --frobnicate" },
        { { "-w", NULL }, 1, "-w needs a value" },
        { { "-w", "bad name", "--", "true", NULL }, 2, "bad workflow name \"bad name\"" },
        { { "-w", "x", "--slots", "0", "--", "true", NULL }, 2, "bad --slots \"0\"" },
        { { "-w", "x", "--grace", "soon", "--", "true", NULL }, 2, "bad --grace \"soon\"" },
        { { "-w", "x", "--timeout", "-1", "--", "true", NULL }, 2, "bad --timeout \"-1\"" },
        { { "-w", "x", "--name", "a b", "--", "true", NULL }, 2, "bad --name \"a b\"" },
        { { "-w", "x", "--permanent-exit", NULL }, 1, "--permanent-exit needs a value" },
        { { "-w", "x", "--permanent-exit", "0", "--", "true", NULL }, 2, "bad --permanent-exit \"0\"" },
        { { "-w", "x", "--permanent-exit", "65,", "--", "true", NULL }, 2, "bad --permanent-exit \"65,\"" },
        { { "-w", "x", "--permanent-exit", "256", "--", "true", NULL }, 2, "bad --permanent-exit \"256\"" },
        { { "-w", "x", "--permanent-exit", "-1", "--", "true", NULL }, 2, "bad --permanent-exit \"-1\"" }
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        int status = s_run_worker (cases [i].args, out, err, sizeof (out));
        cr_assert_eq (status, cases [i].status, "case %zu exits %d, not %d", i,
                      cases [i].status, status);
        cr_assert (strstr (err, cases [i].says), "case %zu: \"%s\" not in: %s", i,
                   cases [i].says, err);
        cr_assert (strstr (err, "usage: zjob-worker"), "case %zu shows the usage", i);
    }

    //  An endpoint that cannot be used is bad input, said with a hint
    const char *no_transport [] = { "-b", "127.0.0.1:5571", "-w", "x", "--", "true", NULL };
    cr_assert_eq (s_run_worker (no_transport, out, err, sizeof (out)), 2, "%s", err);
    cr_assert (strstr (err, "endpoint must include a transport, e.g. tcp://127.0.0.1:5571"),
               "%s", err);
    const char *nonsense [] = { "--broker", "nonsense", "-w", "x", "--", "true", NULL };
    cr_assert_eq (s_run_worker (nonsense, out, err, sizeof (out)), 2, "%s", err);
    cr_assert (strstr (err, "\"nonsense\""), "%s", err);
    const char *bad_host [] = { "--broker", "tcp://", "-w", "x", "--", "true", NULL };
    cr_assert_eq (s_run_worker (bad_host, out, err, sizeof (out)), 2, "%s", err);
    cr_assert (strstr (err, "cannot connect to \"tcp://\""), "%s", err);
}
