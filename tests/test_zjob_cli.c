/*  =========================================================================
    test_zjob_cli - the zjob command line, used as a person or a script would

    Every test starts the real zjobd (memory store, ephemeral ports, read
    from its ready line) and runs the real zjob binary as a child process
    with pipes on stdin, stdout and stderr, then checks what it printed and
    its exit code. Jobs that must run are taken by a worker of the worker
    library on a thread of the test. Children get PR_SET_PDEATHSIG, and the
    suite's fini stops the broker, so nothing outlives a failed test.
    ========================================================================= */

#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <jansson.h>
#include "helper_zjob_test.h"
#include "zjob_client.h"
#include "zjob_worker.h"

#define S_RUN_TIMEOUT_MS 20000          //  msecs a zjob run may take at most


//  --------------------------------------------------------------------------
//  Child processes with their stdin, stdout and stderr on pipes

typedef struct {
    pid_t pid;
    int out_fd;                         //  Read end of stdout, -1 at EOF
    int err_fd;                         //  Read end of stderr, -1 at EOF
    char *out;                          //  All of stdout read so far (NUL-terminated)
    size_t out_size;
    size_t out_taken;                   //  Bytes of out returned by s_child_line
    char *err;                          //  All of stderr read so far
    size_t err_size;
    int code;                           //  Exit code, 128 + signal, or -1
    int64_t elapsed_ms;                 //  From spawn to exit
    int64_t started;                    //  zjob_mono_ms at spawn
} s_child_t;

static void
s_append (char **buf, size_t *size, const char *data, size_t length)
{
    *buf = (char *) realloc (*buf, *size + length + 1);
    memcpy (*buf + *size, data, length);
    *size += length;
    (*buf) [*size] = '\0';
}

//  Start argv[0] with stdin_text (NULL: nothing) on its stdin, its stdout
//  on a pipe (or with tty, on a pseudo-terminal, as a person would see
//  it), and its stderr into the file err_path (NULL: a pipe, read as
//  child->err)
static s_child_t *
s_spawn_to (char *const argv [], const char *stdin_text, const char *err_path, bool tty)
{
    int in [2], out [2], err [2];
    cr_assert (pipe2 (in, O_CLOEXEC) == 0 && pipe2 (out, O_CLOEXEC) == 0
               && pipe2 (err, O_CLOEXEC) == 0);
    if (tty) {
        close (out [0]);
        close (out [1]);
        out [0] = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
        cr_assert (out [0] >= 0 && grantpt (out [0]) == 0 && unlockpt (out [0]) == 0);
        out [1] = open (ptsname (out [0]), O_RDWR | O_NOCTTY | O_CLOEXEC);
        cr_assert (out [1] >= 0);
    }
    s_child_t *child = (s_child_t *) calloc (1, sizeof (s_child_t));
    child->out = strdup ("");
    child->err = strdup ("");
    child->started = zjob_mono_ms ();
    child->pid = fork ();
    cr_assert (child->pid >= 0);
    if (child->pid == 0) {
        //  Die with the test, whatever happens to it
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        dup2 (in [0], STDIN_FILENO);
        dup2 (out [1], STDOUT_FILENO);
        if (err_path) {
            int fd = open (err_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            dup2 (fd, STDERR_FILENO);
        }
        else
            dup2 (err [1], STDERR_FILENO);
        execv (argv [0], argv);
        _exit (127);
    }
    close (in [0]);
    close (out [1]);
    close (err [1]);
    if (stdin_text) {
        size_t length = strlen (stdin_text);
        cr_assert (length < 60000, "stdin text must fit in the pipe");
        cr_assert_eq (write (in [1], stdin_text, length), (ssize_t) length);
    }
    close (in [1]);
    child->out_fd = out [0];
    child->err_fd = err [0];
    if (err_path) {
        close (err [0]);
        child->err_fd = -1;
    }
    return child;
}

static s_child_t *
s_spawn (char *const argv [], const char *stdin_text)
{
    return s_spawn_to (argv, stdin_text, NULL, false);
}

//  Read what the child wrote, waiting at most timeout_ms for something.
//  Returns false when both pipes are at EOF.
static bool
s_child_read (s_child_t *child, int timeout_ms)
{
    struct pollfd items [2] = {
        { child->out_fd, POLLIN, 0 }, { child->err_fd, POLLIN, 0 }
    };
    if (child->out_fd < 0 && child->err_fd < 0)
        return false;
    if (poll (items, 2, timeout_ms) <= 0)
        return true;
    for (int index = 0; index < 2; index++) {
        if (items [index].fd < 0 || !items [index].revents)
            continue;
        char data [4096];
        ssize_t got = read (items [index].fd, data, sizeof data);
        if (got > 0) {
            if (index == 0)
                s_append (&child->out, &child->out_size, data, (size_t) got);
            else
                s_append (&child->err, &child->err_size, data, (size_t) got);
        }
        else {
            close (items [index].fd);
            if (index == 0)
                child->out_fd = -1;
            else
                child->err_fd = -1;
        }
    }
    return true;
}

//  The next line of the child's stdout (fresh string, no newline), waiting
//  at most timeout_ms; NULL if none came
static char *
s_child_line (s_child_t *child, int timeout_ms)
{
    int64_t deadline = zjob_mono_ms () + timeout_ms;
    while (true) {
        char *start = child->out + child->out_taken;
        char *newline = strchr (start, '\n');
        if (newline) {
            child->out_taken = (size_t) (newline + 1 - child->out);
            return strndup (start, (size_t) (newline - start));
        }
        int64_t left = deadline - zjob_mono_ms ();
        if (left <= 0 || !s_child_read (child, (int) left))
            return NULL;
    }
}

//  Wait at most timeout_ms until the child's stdout holds text
static bool
s_child_wait_for (s_child_t *child, const char *text, int timeout_ms)
{
    int64_t deadline = zjob_mono_ms () + timeout_ms;
    while (!strstr (child->out, text)) {
        int64_t left = deadline - zjob_mono_ms ();
        if (left <= 0 || !s_child_read (child, (int) left))
            return false;
    }
    return true;
}

//  Read everything until the child exits (killing it after timeout_ms)
static void
s_child_finish (s_child_t *child, int timeout_ms)
{
    int64_t deadline = zjob_mono_ms () + timeout_ms;
    while (zjob_mono_ms () < deadline && s_child_read (child, 50))
        ;
    int64_t left = deadline - zjob_mono_ms ();
    child->code = zjob_test_wait_exit (child->pid, left > 0 ? (int) left : 0);
    child->elapsed_ms = zjob_mono_ms () - child->started;
    while (s_child_read (child, 0))
        ;
}

static void
s_child_destroy (s_child_t **child_p)
{
    s_child_t *child = *child_p;
    if (child) {
        if (child->out_fd >= 0)
            close (child->out_fd);
        if (child->err_fd >= 0)
            close (child->err_fd);
        free (child->out);
        free (child->err);
        free (child);
        *child_p = NULL;
    }
}


//  --------------------------------------------------------------------------
//  The broker and the zjob runs

static s_child_t *s_broker;             //  The zjobd process
static char s_clients [256];            //  The broker's endpoints, as bound
static char s_workers [256];
static char s_events [256];
static char *s_tmp;                     //  This test's temp directory

static void
s_broker_start (void)
{
    s_tmp = zjob_test_tmpdir ();
    cr_assert_not_null (s_tmp);
    char *argv [] = {
        ZJOB_BIN_DIR "/zjobd", "--clients", "tcp://127.0.0.1:*", "--workers",
        "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*", "--store", "memory:",
        "--log-level", "error", NULL
    };
    //  Its log goes to a file, so that a full pipe never blocks it
    char log [1024];
    snprintf (log, sizeof log, "%s/zjobd.log", s_tmp);
    s_broker = s_spawn_to (argv, NULL, log, false);
    char *line = s_child_line (s_broker, 10000);
    cr_assert_not_null (line, "zjobd printed no ready line (see %s)", log);
    cr_assert_eq (sscanf (line, "zjobd ready clients=%255s workers=%255s events=%255s",
                          s_clients, s_workers, s_events), 3, "ready line: %s", line);
    free (line);
}

static void
s_broker_stop (void)
{
    if (s_broker) {
        kill (s_broker->pid, SIGTERM);
        s_child_finish (s_broker, 5000);
        s_child_destroy (&s_broker);
    }
    if (s_tmp) {
        zjob_test_rmtree (s_tmp);
        free (s_tmp);
        s_tmp = NULL;
    }
}

//  Run zjob with the broker's endpoint and the NULL-terminated arguments,
//  stdin_text on stdin; the finished child (destroy it)
static s_child_t *
s_zjob_start (const char *stdin_text, const char *arg, va_list args)
{
    char *argv [64] = { ZJOB_BIN_DIR "/zjob", "--broker", s_clients, "--events", s_events };
    int argc = 5;
    for (; arg && argc < 63; arg = va_arg (args, const char *))
        argv [argc++] = (char *) arg;
    argv [argc] = NULL;
    return s_spawn (argv, stdin_text);
}

static s_child_t *
s_zjob_in (const char *stdin_text, const char *arg, ...)
{
    va_list args;
    va_start (args, arg);
    s_child_t *child = s_zjob_start (stdin_text, arg, args);
    va_end (args);
    s_child_finish (child, S_RUN_TIMEOUT_MS);
    return child;
}

#define s_zjob(...) s_zjob_in (NULL, __VA_ARGS__, NULL)

//  The child's stdout as JSON (asserting it is)
static json_t *
s_json (s_child_t *child)
{
    json_error_t error;
    json_t *value = json_loads (child->out, 0, &error);
    cr_assert_not_null (value, "not JSON (%s): '%s' (stderr: %s)", error.text, child->out,
                        child->err);
    return value;
}

//  Submit one job with zjob submit --json; its id (fresh string)
static char *
s_submit (const char *workflow, const char *input, const char *extra)
{
    s_child_t *child = extra
                     ? s_zjob ("submit", workflow, "--input", input, extra, "--json")
                     : s_zjob ("submit", workflow, "--input", input, "--json");
    cr_assert_eq (child->code, 0, "submit: %s", child->err);
    json_t *job = s_json (child);
    char *id = strdup (json_string_value (json_object_get (job, "id")));
    json_decref (job);
    s_child_destroy (&child);
    return id;
}

//  The id of the job at index in a list's "jobs"
static const char *
s_job_id (json_t *jobs, size_t index)
{
    return json_string_value (json_object_get (json_array_get (jobs, index), "id"));
}

static void
s_assert_contains (const char *text, const char *part)
{
    cr_assert_not_null (strstr (text, part), "'%s' not in '%s'", part, text);
}

TestSuite (zjob_cli, .init = s_broker_start, .fini = s_broker_stop, .timeout = 120);


//  --------------------------------------------------------------------------
//  A worker on a thread: workflow "echo" completes with the inputs as
//  outputs, "fail" fails, "slow" reports 50% and waits for s_release

static atomic_int s_release;

static uint8_t *
s_handler (zjob_task_t *task, size_t *size_p, void *arg)
{
    const char *workflow = zjob_task_workflow (task);
    if (streq (workflow, "fail")) {
        zjob_task_fail (task, "rejected", "the input was rejected");
        return NULL;
    }
    if (streq (workflow, "slow")) {
        zjob_task_progress (task, 0.5f, "half way");
        int64_t deadline = zjob_mono_ms () + 20000;
        while (!atomic_load (&s_release) && zjob_mono_ms () < deadline)
            if (zjob_task_checkpoint (task))
                return NULL;
            else
                zclock_sleep (10);      //  A handler's "work"
    }
    //  {"echo": inputs, "ok": true}
    size_t size;
    const uint8_t *inputs = zjob_task_inputs (task, &size);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "echo", 4);
    if (size)
        msgpack_sbuffer_write (&buffer, (const char *) inputs, size);
    else
        msgpack_pack_map (&pk, 0);
    msgpack_pack_str_with_body (&pk, "ok", 2);
    msgpack_pack_true (&pk);
    *size_p = buffer.size;
    return (uint8_t *) msgpack_sbuffer_release (&buffer);
}

typedef struct {
    zjob_worker_t *worker;
    pthread_t thread;
} s_worker_t;

static void *
s_worker_thread (void *arg)
{
    s_worker_t *self = (s_worker_t *) arg;
    zjob_worker_run (self->worker, s_handler, NULL, NULL);
    return NULL;
}

static s_worker_t *
s_worker_start (void)
{
    s_worker_t *self = (s_worker_t *) calloc (1, sizeof (s_worker_t));
    const char *workflows [] = { "echo", "fail", "slow" };
    zjob_error_t err;
    self->worker = zjob_worker_new (s_workers, "cli-test", workflows, 3, 2, &err);
    cr_assert_not_null (self->worker, "%s", err.text);
    cr_assert_eq (pthread_create (&self->thread, NULL, s_worker_thread, self), 0);
    return self;
}

static void
s_worker_stop (s_worker_t **self_p)
{
    s_worker_t *self = *self_p;
    zjob_worker_stop (self->worker);
    pthread_join (self->thread, NULL);
    zjob_worker_destroy (&self->worker);
    free (self);
    *self_p = NULL;
}


//  --------------------------------------------------------------------------
//  submit and get

Test (zjob_cli, submit_json_prints_the_job_and_get_reads_it)
{
    s_child_t *child = s_zjob ("submit", "resize", "--input", "{\"width\": 640, \"name\": \"cat\"}",
                               "--priority", "high", "--user", "ann", "--tag", "red",
                               "--tag", "big", "--json");
    cr_assert_eq (child->code, 0, "stderr: %s", child->err);
    json_t *job = s_json (child);
    const char *id = json_string_value (json_object_get (job, "id"));
    cr_assert (zjob_id_valid (id), "id: %s", id);
    cr_assert_str_eq (json_string_value (json_object_get (job, "workflow_id")), "resize");
    cr_assert_str_eq (json_string_value (json_object_get (job, "status")), "queued");
    cr_assert_str_eq (json_string_value (json_object_get (job, "priority")), "high");
    cr_assert_str_eq (json_string_value (json_object_get (job, "user_id")), "ann");
    cr_assert_eq (json_array_size (json_object_get (job, "tags")), 2);
    json_t *inputs = json_object_get (job, "inputs");
    cr_assert_eq (json_integer_value (json_object_get (inputs, "width")), 640);
    cr_assert_str_eq (json_string_value (json_object_get (inputs, "name")), "cat");
    s_child_destroy (&child);

    //  get, as JSON and as text
    child = s_zjob ("get", id, "--json");
    cr_assert_eq (child->code, 0, "stderr: %s", child->err);
    json_t *got = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (got, "id")), id);
    cr_assert (json_equal (json_object_get (got, "inputs"), inputs));
    cr_assert (json_is_string (json_object_get (got, "created_at")));
    cr_assert (json_is_integer (json_object_get (got, "created_at_ms")));
    json_decref (got);
    s_child_destroy (&child);

    child = s_zjob ("get", id);
    cr_assert_eq (child->code, 0);
    s_assert_contains (child->out, id);
    s_assert_contains (child->out, "queued");
    s_assert_contains (child->out, "red, big");
    s_assert_contains (child->out, "ago)");
    s_assert_contains (child->out, "{\"width\":640,\"name\":\"cat\"}");
    s_child_destroy (&child);
    json_decref (job);

    //  Without --json: the id alone
    child = s_zjob ("submit", "resize");
    cr_assert_eq (child->code, 0);
    cr_assert_eq (strlen (child->out), ZJOB_ID_LEN + 1, "'%s'", child->out);
    s_child_destroy (&child);
}

Test (zjob_cli, get_unknown_id_exits_3)
{
    s_child_t *child = s_zjob ("get", "01JD6ZQ8XKTBV3M9W2N4");
    cr_assert_eq (child->code, 3, "stderr: %s", child->err);
    cr_assert_str_eq (child->out, "");
    s_assert_contains (child->err, "zjob get: job 01JD6ZQ8XKTBV3M9W2N4 not found");
    s_assert_contains (child->err, "zjob list");
    s_child_destroy (&child);

    //  Something that cannot be an id at all
    child = s_zjob ("get", "nonsense");
    cr_assert_eq (child->code, 3);
    s_assert_contains (child->err, "no job can have id 'nonsense'");
    s_child_destroy (&child);
}

Test (zjob_cli, bad_json_input_exits_2_and_names_the_problem)
{
    s_child_t *child = s_zjob ("submit", "resize", "--input", "{\"width\": x}");
    cr_assert_eq (child->code, 2);
    cr_assert_str_eq (child->err, "zjob submit: inputs: invalid JSON at line 1 column 11: "
                                  "invalid token near 'x'\n");
    s_child_destroy (&child);

    child = s_zjob ("submit", "resize", "--input", "[1, 2]");
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err,
                       "inputs: expected a JSON object such as {\"x\": 1}, got an array");
    s_child_destroy (&child);

    child = s_zjob ("submit", "resize", "--metadata", "{\"a\": 1,}");
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "metadata: invalid JSON at line 1 column 9");
    s_child_destroy (&child);

    //  Fields the job model refuses, before any broker is asked
    child = s_zjob ("submit", "bad workflow");
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "workflow_id");
    s_child_destroy (&child);

    child = s_zjob ("submit", "resize", "--priority", "urgent");
    cr_assert_eq (child->code, 1);
    s_assert_contains (child->err, "--priority: 'urgent' is not low, medium, high or critical");
    s_child_destroy (&child);

    //  Nothing was created
    child = s_zjob ("list", "--json");
    json_t *list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 0);
    json_decref (list);
    s_child_destroy (&child);
}

Test (zjob_cli, inputs_from_file_and_stdin)
{
    char path [1024];
    snprintf (path, sizeof path, "%s/inputs.json", s_tmp);
    FILE *file = fopen (path, "w");
    fputs ("{\n  \"from\": \"file\",\n  \"n\": [1, 2, 3]\n}\n", file);
    fclose (file);
    char arg [1100];
    snprintf (arg, sizeof arg, "@%s", path);
    char *id = s_submit ("resize", arg, NULL);
    s_child_t *child = s_zjob ("get", id, "--json");
    json_t *job = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (json_object_get (job, "inputs"),
                                                          "from")), "file");
    json_decref (job);
    s_child_destroy (&child);
    free (id);

    child = s_zjob_in ("{\"from\": \"stdin\", \"caf\xc3\xa9\": \"\xe2\x82\xac\"}",
                       "submit", "resize", "--input", "-", "--json", NULL);
    cr_assert_eq (child->code, 0, "%s", child->err);
    job = s_json (child);
    json_t *inputs = json_object_get (job, "inputs");
    cr_assert_str_eq (json_string_value (json_object_get (inputs, "from")), "stdin");
    cr_assert_str_eq (json_string_value (json_object_get (inputs, "caf\xc3\xa9")), "\xe2\x82\xac");
    json_decref (job);
    s_child_destroy (&child);

    //  A file with an error: where it is, and which file
    file = fopen (path, "w");
    fputs ("{\n  \"from\": \"file\"\n  \"n\": 1\n}\n", file);
    fclose (file);
    child = s_zjob ("submit", "resize", "--input", arg);
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "inputs (from ");
    s_assert_contains (child->err, "invalid JSON at line 3 column");
    s_child_destroy (&child);

    snprintf (arg, sizeof arg, "@%s/missing.json", s_tmp);
    child = s_zjob ("submit", "resize", "--input", arg);
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "cannot read");
    s_assert_contains (child->err, "No such file or directory");
    s_child_destroy (&child);

    //  Empty stdin
    child = s_zjob_in ("", "submit", "resize", "--input", "-", NULL);
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "inputs (from stdin): no JSON given");
    s_child_destroy (&child);
}

Test (zjob_cli, batch_submit_from_json_lines)
{
    char path [1024];
    snprintf (path, sizeof path, "%s/jobs.jsonl", s_tmp);
    FILE *file = fopen (path, "w");
    fputs ("{\"inputs\": {\"n\": 1}}\n"
           "\n"
           "{\"inputs\": {\"n\": 2}, \"priority\": \"critical\", \"tags\": [\"t1\"]}\n"
           "{\"workflow_id\": \"other\", \"user_id\": \"bob\","
           " \"run_at\": \"2020-01-01T00:00:00Z\"}\n",
           file);
    fclose (file);
    s_child_t *child = s_zjob ("submit", "batchwf", "--batch", path, "--no-start");
    cr_assert_eq (child->code, 0, "%s", child->err);
    char *save = NULL;
    int lines = 0;
    for (char *line = strtok_r (child->out, "\n", &save); line;
         line = strtok_r (NULL, "\n", &save), lines++)
        cr_assert (zjob_id_valid (line), "'%s'", line);
    cr_assert_eq (lines, 3);
    s_child_destroy (&child);

    child = s_zjob ("list", "--status", "created", "--sort", "priority", "--desc", "--json");
    json_t *list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 3);
    json_t *first = json_array_get (json_object_get (list, "jobs"), 0);
    cr_assert_str_eq (json_string_value (json_object_get (first, "priority")), "critical");
    cr_assert_eq (json_integer_value (json_object_get (json_object_get (first, "inputs"), "n")), 2);
    json_decref (list);
    s_child_destroy (&child);

    child = s_zjob ("list", "--workflow", "other", "--user", "bob", "--json");
    list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 1);
    json_decref (list);
    s_child_destroy (&child);

    //  From stdin, with --json
    child = s_zjob_in ("{\"inputs\": {}}\n{\"inputs\": {}}\n", "submit", "batchwf", "--batch",
                       "-", "--json", NULL);
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *result = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (result, "count")), 2);
    cr_assert_eq (json_array_size (json_object_get (result, "ids")), 2);
    json_decref (result);
    s_child_destroy (&child);

    //  A bad line: its number, and nothing submitted
    child = s_zjob_in ("{\"inputs\": {}}\n{\"inputs\": {\"n\": }}\n", "submit", "batchwf",
                       "--batch", "-", NULL);
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "stdin line 2: invalid JSON at line 1 column");
    s_assert_contains (child->err, "nothing was submitted");
    s_child_destroy (&child);
    child = s_zjob_in ("{\"input\": {}}\n", "submit", "batchwf", "--batch", "-", NULL);
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "line 1: unknown key \"input\"");
    s_child_destroy (&child);
    child = s_zjob_in ("{\"inputs\": {}}\n", "submit", "--batch", "-", NULL);
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "workflow_id: required");
    s_child_destroy (&child);

    child = s_zjob ("list", "--json");
    list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 5);
    json_decref (list);
    s_child_destroy (&child);
}


//  --------------------------------------------------------------------------
//  list

Test (zjob_cli, list_filters_sorts_and_pages)
{
    const char *priorities [] = { "low", "high", "medium", "critical", "low" };
    char *ids [5];
    for (int index = 0; index < 5; index++) {
        char input [32];
        snprintf (input, sizeof input, "{\"i\": %d}", index);
        s_child_t *child = s_zjob ("submit", index < 4 ? "listwf" : "elsewf", "--input", input,
                                   "--priority", priorities [index], "--tag",
                                   index % 2 ? "odd" : "even", "--no-start", "--json");
        cr_assert_eq (child->code, 0, "%s", child->err);
        json_t *job = s_json (child);
        ids [index] = strdup (json_string_value (json_object_get (job, "id")));
        json_decref (job);
        s_child_destroy (&child);
    }
    //  Workflow, sorted by priority from the top, second page of 2
    s_child_t *child = s_zjob ("list", "--workflow", "listwf", "--sort", "priority", "--desc",
                               "--limit", "2", "--offset", "1", "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 4);
    cr_assert_eq (json_integer_value (json_object_get (list, "offset")), 1);
    cr_assert_eq (json_integer_value (json_object_get (list, "count")), 2);
    json_t *jobs = json_object_get (list, "jobs");
    cr_assert_str_eq (s_job_id (jobs, 0), ids [1]);
    cr_assert_str_eq (s_job_id (jobs, 1), ids [2]);
    json_decref (list);
    s_child_destroy (&child);

    //  Tag, default order (creation)
    child = s_zjob ("list", "--tag", "odd", "--json");
    list = s_json (child);
    jobs = json_object_get (list, "jobs");
    cr_assert_eq (json_array_size (jobs), 2);
    cr_assert_str_eq (s_job_id (jobs, 0), ids [1]);
    cr_assert_str_eq (s_job_id (jobs, 1), ids [3]);
    json_decref (list);
    s_child_destroy (&child);

    //  Created in the last hour, but not before a future time: all
    child = s_zjob ("list", "--created-after", "1h", "--created-before", "2999-01-01", "--json");
    list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 5);
    json_decref (list);
    s_child_destroy (&child);

    //  --all pages through everything, however small the page
    child = s_zjob ("list", "--all", "--json");
    list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "count")), 5);
    json_decref (list);
    s_child_destroy (&child);

    //  The table for people
    child = s_zjob ("list", "--workflow", "listwf", "--limit", "3");
    cr_assert_eq (child->code, 0);
    s_assert_contains (child->out, "ID                    WORKFLOW  STATUS   PRIORITY");
    s_assert_contains (child->out, ids [0]);
    s_assert_contains (child->out, "jobs 1-3 of 4 (more with --offset or --all)");
    s_child_destroy (&child);

    child = s_zjob ("list", "--status", "bogus");
    cr_assert_eq (child->code, 1);
    s_assert_contains (child->err, "unknown status 'bogus'");
    s_child_destroy (&child);
    for (int index = 0; index < 5; index++)
        free (ids [index]);
}


//  --------------------------------------------------------------------------
//  start, pause, resume, cancel, delete

Test (zjob_cli, lifecycle_and_illegal_transition)
{
    char *id = s_submit ("nobody", "{}", "--no-start");
    s_child_t *child = s_zjob ("start", id);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "started, now queued");
    s_child_destroy (&child);

    child = s_zjob ("pause", id, "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *result = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (result, "status")), "paused");
    json_decref (result);
    s_child_destroy (&child);

    child = s_zjob ("pause", id);
    cr_assert_eq (child->code, 4);
    s_assert_contains (child->err, "zjob pause: job ");
    s_assert_contains (child->err, "is paused; cannot pause");
    s_assert_contains (child->err, "'zjob help' shows which operation each status allows");
    s_child_destroy (&child);

    child = s_zjob ("resume", id);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "resumed, now queued");
    s_child_destroy (&child);

    child = s_zjob ("status", id, "--json");
    cr_assert_eq (child->code, 0);
    result = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (result, "status")), "queued");
    json_decref (result);
    s_child_destroy (&child);

    child = s_zjob ("cancel", id);
    cr_assert_eq (child->code, 0);
    s_child_destroy (&child);
    child = s_zjob ("resume", id);
    cr_assert_eq (child->code, 4);
    s_assert_contains (child->err, "is cancelled; cannot resume");
    s_child_destroy (&child);

    //  A cancelled job has no results, and waiting for it ends at once
    child = s_zjob ("result", id);
    cr_assert_eq (child->code, 6);
    s_assert_contains (child->err, "was cancelled: it has no results");
    s_child_destroy (&child);
    child = s_zjob ("wait", id, "--timeout", "5");
    cr_assert_eq (child->code, 6);
    s_assert_contains (child->out, "cancelled");
    s_child_destroy (&child);

    child = s_zjob ("delete", id);
    cr_assert_eq (child->code, 0);
    s_child_destroy (&child);
    child = s_zjob ("get", id);
    cr_assert_eq (child->code, 3);
    s_child_destroy (&child);
    child = s_zjob ("delete", id);
    cr_assert_eq (child->code, 3);
    s_child_destroy (&child);
    free (id);
}

Test (zjob_cli, cancel_and_delete_by_filter)
{
    char *ids [4];
    for (int index = 0; index < 3; index++)
        ids [index] = s_submit ("cancelwf", "{}", NULL);
    ids [3] = s_submit ("keepwf", "{}", NULL);

    //  Never everything by accident
    s_child_t *child = s_zjob ("cancel");
    cr_assert_eq (child->code, 1);
    s_assert_contains (child->err, "which jobs? give their ids, or a filter");
    s_child_destroy (&child);
    child = s_zjob ("delete", ids [0], "--workflow", "cancelwf");
    cr_assert_eq (child->code, 1);
    s_assert_contains (child->err, "not both");
    s_child_destroy (&child);

    child = s_zjob ("cancel", "--workflow", "cancelwf", "--status", "queued", "--dry-run");
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "3 jobs match");
    s_child_destroy (&child);

    child = s_zjob ("cancel", "--workflow", "cancelwf", "--status", "queued");
    cr_assert_eq (child->code, 0, "%s", child->err);
    cr_assert_str_eq (child->out, "cancelled 3 jobs\n");
    s_child_destroy (&child);

    child = s_zjob ("list", "--status", "cancelled", "--json");
    json_t *list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 3);
    json_decref (list);
    s_child_destroy (&child);
    child = s_zjob ("status", ids [3]);
    s_assert_contains (child->out, "queued");
    s_child_destroy (&child);

    //  Several ids, one of them in a status that does not allow it
    child = s_zjob ("pause", ids [0], ids [3], "--json");
    cr_assert_eq (child->code, 4, "%s", child->err);
    json_t *result = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (result, "done")), 1);
    cr_assert_eq (json_integer_value (json_object_get (result, "failed")), 1);
    json_decref (result);
    s_assert_contains (child->err, ids [0]);
    s_child_destroy (&child);

    child = s_zjob ("delete", "--status", "cancelled", "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    result = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (result, "done")), 3);
    json_decref (result);
    s_child_destroy (&child);
    child = s_zjob ("list", "--json");
    list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 1);
    json_decref (list);
    s_child_destroy (&child);
    for (int index = 0; index < 4; index++)
        free (ids [index]);
}


//  --------------------------------------------------------------------------
//  wait, watch, result, with a worker

Test (zjob_cli, wait_prints_the_finished_job)
{
    s_worker_t *worker = s_worker_start ();
    char *id = s_submit ("echo", "{\"x\": [1, 2.5, \"three\"]}", NULL);
    s_child_t *child = s_zjob ("wait", id, "--timeout", "15", "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *job = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (job, "status")), "completed");
    json_t *outputs = json_object_get (job, "outputs");
    cr_assert (json_is_true (json_object_get (outputs, "ok")));
    json_t *expected = json_loads ("{\"x\": [1, 2.5, \"three\"]}", 0, NULL);
    cr_assert (json_equal (json_object_get (outputs, "echo"), expected));
    json_decref (expected);
    json_decref (job);
    s_child_destroy (&child);

    //  The same for people, and the results
    child = s_zjob ("wait", id);
    cr_assert_eq (child->code, 0);
    s_assert_contains (child->out, " completed after ");
    s_assert_contains (child->out, "\"ok\":true");
    s_child_destroy (&child);
    child = s_zjob ("result", id, "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *result = s_json (child);
    cr_assert (json_is_true (json_object_get (json_object_get (result, "outputs"), "ok")));
    json_decref (result);
    s_child_destroy (&child);
    child = s_zjob ("result", id);
    cr_assert_eq (child->code, 0);
    result = s_json (child);
    cr_assert (json_is_true (json_object_get (result, "ok")));
    json_decref (result);
    s_child_destroy (&child);
    free (id);

    //  A job that fails: exit 6 and its error
    id = s_submit ("fail", "{}", NULL);
    child = s_zjob ("wait", id, "--timeout", "15s", "--json");
    cr_assert_eq (child->code, 6, "%s", child->err);
    job = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (job, "status")), "failed");
    json_t *error = json_object_get (job, "error");
    cr_assert_str_eq (json_string_value (json_object_get (error, "kind")), "rejected");
    json_decref (job);
    s_child_destroy (&child);
    child = s_zjob ("result", id);
    cr_assert_eq (child->code, 6);
    s_assert_contains (child->err, "failed: rejected: the input was rejected");
    s_child_destroy (&child);
    free (id);
    s_worker_stop (&worker);
}

Test (zjob_cli, wait_times_out)
{
    char *id = s_submit ("nobody", "{}", NULL);
    s_child_t *child = s_zjob ("wait", id, "--timeout", "300ms");
    cr_assert_eq (child->code, 7, "%s", child->err);
    s_assert_contains (child->err, "is still queued after 300ms");
    s_assert_contains (child->err, "--timeout");
    cr_assert_lt (child->elapsed_ms, 5000);
    s_child_destroy (&child);

    //  With --json, the job as it is
    child = s_zjob ("wait", id, "--timeout", "0.1", "--json");
    cr_assert_eq (child->code, 7);
    json_t *job = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (job, "status")), "queued");
    json_decref (job);
    s_child_destroy (&child);

    child = s_zjob ("result", id);
    cr_assert_eq (child->code, 4);
    s_assert_contains (child->err, "is queued and has no results yet");
    s_child_destroy (&child);
    free (id);
}

//  Wait until the "slow" job id is running at 50%
static void
s_wait_halfway (const char *id)
{
    zjob_error_t err;
    zjob_client_t *client = zjob_client_new (s_clients, 5000, &err);
    cr_assert_not_null (client, "%s", err.text);
    int64_t deadline = zjob_mono_ms () + 15000;
    bool halfway = false;
    while (!halfway && zjob_mono_ms () < deadline) {
        zjob_job_t *job = zjob_client_get (client, id, &err);
        cr_assert_not_null (job, "%s", err.text);
        halfway = job->status == ZJOB_RUNNING && job->progress >= 0.5f;
        zjob_job_destroy (&job);
        if (!halfway)
            zclock_sleep (20);          //  Polling a condition with a deadline
    }
    cr_assert (halfway, "the job never reached 50%%");
    zjob_client_destroy (&client);
}

Test (zjob_cli, watch_follows_progress_to_the_end)
{
    atomic_store (&s_release, 0);
    s_worker_t *worker = s_worker_start ();
    char *id = s_submit ("slow", "{}", NULL);

    s_wait_halfway (id);

    //  watch (not a terminal: one JSON object a line) shows it running,
    //  then completed once the worker is let go
    char *argv [] = { ZJOB_BIN_DIR "/zjob", "--broker", s_clients, "watch", id, "--events",
                      s_events, "--json", "--timeout", "30", NULL };
    s_child_t *child = s_spawn (argv, NULL);
    char *line = s_child_line (child, 10000);
    cr_assert_not_null (line, "watch printed nothing: %s", child->err);
    json_t *event = json_loads (line, 0, NULL);
    cr_assert_not_null (event, "'%s'", line);
    cr_assert_str_eq (json_string_value (json_object_get (event, "status")), "running");
    cr_assert_eq (json_real_value (json_object_get (event, "progress")), 0.5);
    cr_assert_str_eq (json_string_value (json_object_get (event, "message")), "half way");
    json_decref (event);
    free (line);

    atomic_store (&s_release, 1);
    s_child_finish (child, S_RUN_TIMEOUT_MS);
    cr_assert_eq (child->code, 0, "%s", child->err);
    char *last = strrchr (child->out, '{');
    cr_assert_not_null (last, "'%s'", child->out);
    event = json_loads (last, 0, NULL);
    cr_assert_not_null (event, "'%s'", last);
    cr_assert_str_eq (json_string_value (json_object_get (event, "status")), "completed");
    json_decref (event);
    s_child_destroy (&child);

    //  Text, one line per event, on a finished job: its state and outcome
    child = s_zjob ("watch", id);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "completed");
    s_assert_contains (child->out, " completed after ");
    s_child_destroy (&child);

    child = s_zjob ("watch", "01JD6ZQ8XKTBV3M9W2N4");
    cr_assert_eq (child->code, 3);
    s_child_destroy (&child);
    free (id);
    s_worker_stop (&worker);
}


Test (zjob_cli, watch_draws_a_progress_bar_on_a_terminal)
{
    atomic_store (&s_release, 0);
    s_worker_t *worker = s_worker_start ();
    char *id = s_submit ("slow", "{}", NULL);
    s_wait_halfway (id);

    char *argv [] = { ZJOB_BIN_DIR "/zjob", "--broker", s_clients, "--events", s_events,
                      "watch", id, NULL };
    s_child_t *child = s_spawn_to (argv, NULL, NULL, true);
    //  The bar, half full, redrawn in place
    cr_assert (s_child_wait_for (child, "running   [###############...............]  50%  "
                                        "half way", 10000), "'%s'", child->out);
    s_assert_contains (child->out, "\r\033[K");
    atomic_store (&s_release, 1);
    cr_assert (s_child_wait_for (child, " completed after ", 10000), "'%s'", child->out);
    s_child_finish (child, S_RUN_TIMEOUT_MS);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_child_destroy (&child);
    free (id);
    s_worker_stop (&worker);
}


//  --------------------------------------------------------------------------
//  The broker as a whole: stats, workers, cleanup, and no broker at all

Test (zjob_cli, stats_and_workers)
{
    s_worker_t *worker = s_worker_start ();
    char *id = s_submit ("echo", "{}", NULL);
    s_child_t *child = s_zjob ("wait", id, "--timeout", "15");
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_child_destroy (&child);
    free (id);

    child = s_zjob ("stats");
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "jobs       1 stored");
    s_assert_contains (child->out, "workers    1 connected");
    s_assert_contains (child->out, "WORKFLOW  CREATED  QUEUED  RUNNING  PAUSED  COMPLETED");
    s_assert_contains (child->out, "(all)");
    s_assert_contains (child->out, "echo");
    s_child_destroy (&child);

    child = s_zjob ("stats", "--json");
    cr_assert_eq (child->code, 0);
    json_t *stats = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (stats, "jobs")), 1);
    cr_assert_eq (json_integer_value (json_object_get (json_object_get (stats, "by_status"),
                                                       "completed")), 1);
    json_decref (stats);
    s_child_destroy (&child);

    child = s_zjob ("workers", "--json");
    cr_assert_eq (child->code, 0);
    json_t *body = s_json (child);
    json_t *workers = json_object_get (body, "workers");
    cr_assert_eq (json_array_size (workers), 1);
    json_t *first = json_array_get (workers, 0);
    cr_assert_str_eq (json_string_value (json_object_get (first, "name")), "cli-test");
    cr_assert_eq (json_integer_value (json_object_get (first, "slots")), 2);
    json_decref (body);
    s_child_destroy (&child);

    child = s_zjob ("workers");
    cr_assert_eq (child->code, 0);
    s_assert_contains (child->out, "WORKER");
    s_assert_contains (child->out, "cli-test");
    s_assert_contains (child->out, "echo,fail,slow");
    s_assert_contains (child->out, "1 worker connected");
    s_child_destroy (&child);

    //  cleanup of every finished job
    child = s_zjob ("cleanup", "--older-than", "0", "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *result = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (result, "deleted")), 1);
    json_decref (result);
    s_child_destroy (&child);
    s_worker_stop (&worker);
}

Test (zjob_cli, broker_from_the_environment)
{
    char *argv [] = { ZJOB_BIN_DIR "/zjob", "stats", "--json", NULL };
    setenv ("ZJOB_BROKER", s_clients, 1);
    s_child_t *child = s_spawn (argv, NULL);
    s_child_finish (child, S_RUN_TIMEOUT_MS);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_child_destroy (&child);
    unsetenv ("ZJOB_BROKER");
}

Test (zjob_cli, no_broker_exits_5_quickly)
{
    //  A port nothing listens on
    int sock = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t length = sizeof address;
    cr_assert_eq (bind (sock, (struct sockaddr *) &address, length), 0);
    cr_assert_eq (getsockname (sock, (struct sockaddr *) &address, &length), 0);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", ntohs (address.sin_port));
    close (sock);

    char *argv [] = { ZJOB_BIN_DIR "/zjob", "--broker", endpoint, "--timeout", "300ms",
                      "get", "01JD6ZQ8XKTBV3M9W2N4", NULL };
    s_child_t *child = s_spawn (argv, NULL);
    s_child_finish (child, S_RUN_TIMEOUT_MS);
    cr_assert_eq (child->code, 5, "%s", child->err);
    cr_assert_lt (child->elapsed_ms, 3000);
    s_assert_contains (child->err, "no broker answered at ");
    s_assert_contains (child->err, endpoint);
    s_assert_contains (child->err, "within 300 ms; is zjobd running?");
    s_assert_contains (child->err, "ZJOB_BROKER");
    s_child_destroy (&child);
}


//  --------------------------------------------------------------------------
//  help and usage

Test (zjob_cli, help_and_usage)
{
    s_child_t *child = s_zjob ("help");
    cr_assert_eq (child->code, 0);
    const char *commands [] = {
        "submit", "get", "list", "delete", "start", "pause", "resume", "cancel", "status",
        "result", "wait", "watch", "cleanup", "stats", "workers"
    };
    for (size_t index = 0; index < sizeof commands / sizeof commands [0]; index++) {
        char entry [32];
        snprintf (entry, sizeof entry, "\n  %-9s ", commands [index]);
        s_assert_contains (child->out, entry);
    }
    s_assert_contains (child->out, "exit codes:");
    s_assert_contains (child->out, "  7    timed out");
    s_assert_contains (child->out, "ZJOB_BROKER");
    s_child_destroy (&child);

    child = s_zjob ("submit", "--help");
    cr_assert_eq (child->code, 0);
    s_assert_contains (child->out, "usage: zjob submit WORKFLOW");
    s_assert_contains (child->out, "--batch FILE");
    s_child_destroy (&child);

    child = s_zjob ("help", "cancel");
    cr_assert_eq (child->code, 0);
    s_assert_contains (child->out, "usage: zjob cancel ID... | filter");
    s_assert_contains (child->out, "--dry-run");
    s_child_destroy (&child);

    child = s_zjob ("frobnicate");
    cr_assert_eq (child->code, 1);
    s_assert_contains (child->err, "unknown command 'frobnicate'");
    s_child_destroy (&child);

    child = s_zjob ("get", "--colour");
    cr_assert_eq (child->code, 1);
    s_assert_contains (child->err, "zjob get: unknown option '--colour'");
    s_child_destroy (&child);

    child = s_zjob ("wait");
    cr_assert_eq (child->code, 1);
    s_assert_contains (child->err, "which job? give its ID");
    s_child_destroy (&child);

    child = s_zjob ("wait", "01JD6ZQ8XKTBV3M9W2N4", "--timeout", "soon");
    cr_assert_eq (child->code, 1);
    s_assert_contains (child->err, "--timeout: 'soon' is not a duration");
    s_child_destroy (&child);
}
