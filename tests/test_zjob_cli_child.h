/*  =========================================================================
    test_zjob_cli_child - what the zjob CLI's integration tests share

    Child processes with their stdin, stdout and stderr on pipes (or a
    pseudo-terminal), the real zjobd started once per suite on ephemeral
    ports (the suite's init and fini), zjob runs against it, and a worker
    of the worker library on a thread of the test: workflow "echo"
    completes with the inputs as outputs, "fail" fails, "slow" reports 50%
    and waits for s_release. Included by each tests/test_zjob_cli*.c that
    runs the binary; its functions are static inline, so a file that uses
    some of them gets no warning for the others.
    ========================================================================= */

#ifndef TEST_ZJOB_CLI_CHILD_H_INCLUDED
#define TEST_ZJOB_CLI_CHILD_H_INCLUDED

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

#define S_RUN_TIMEOUT_MS 20000  //  msecs a zjob run may take at most


//  --------------------------------------------------------------------------
//  Child processes with their stdin, stdout and stderr on pipes

typedef struct {
    pid_t pid;
    int out_fd;  //  Read end of stdout, -1 at EOF
    int err_fd;  //  Read end of stderr, -1 at EOF
    char *out;   //  All of stdout read so far (NUL-terminated)
    size_t out_size;
    size_t out_taken;  //  Bytes of out returned by s_child_line
    char *err;         //  All of stderr read so far
    size_t err_size;
    int code;            //  Exit code, 128 + signal, or -1
    int64_t elapsed_ms;  //  From spawn to exit
    int64_t started;     //  zjob_mono_ms at spawn
} s_child_t;

static inline void
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
static inline s_child_t *
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

static inline s_child_t *
s_spawn (char *const argv [], const char *stdin_text)
{
    return s_spawn_to (argv, stdin_text, NULL, false);
}

//  Read what the child wrote, waiting at most timeout_ms for something.
//  Returns false when both pipes are at EOF.
static inline bool
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
static inline char *
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
static inline bool
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
static inline void
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

static inline void
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

static s_child_t *s_broker;   //  The zjobd process
static char s_clients [256];  //  The broker's endpoints, as bound
static char s_workers [256];
static char s_events [256];
static char *s_tmp;  //  This test's temp directory

static inline void
s_broker_start (void)
{
    s_tmp = zjob_test_tmpdir ();
    cr_assert_not_null (s_tmp);
    //  watch's bar is as wide as $COLUMNS says when the terminal does not
    //  know; the tests that want another width set it themselves
    unsetenv ("COLUMNS");
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
                          s_clients, s_workers, s_events),
                  3, "ready line: %s", line);
    free (line);
}

static inline void
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
static inline s_child_t *
s_zjob_start (const char *stdin_text, const char *arg, va_list args)
{
    char *argv [64] = { ZJOB_BIN_DIR "/zjob", "--broker", s_clients, "--events", s_events };
    int argc = 5;
    for (; arg && argc < 63; arg = va_arg (args, const char *))
        argv [argc++] = (char *) arg;
    argv [argc] = NULL;
    return s_spawn (argv, stdin_text);
}

static inline s_child_t *
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
static inline json_t *
s_json (s_child_t *child)
{
    json_error_t error;
    json_t *value = json_loads (child->out, 0, &error);
    cr_assert_not_null (value, "not JSON (%s): '%s' (stderr: %s)", error.text, child->out,
                        child->err);
    return value;
}

//  Submit one job with zjob submit --json; its id (fresh string)
static inline char *
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
static inline const char *
s_job_id (json_t *jobs, size_t index)
{
    return json_string_value (json_object_get (json_array_get (jobs, index), "id"));
}

static inline void
s_assert_contains (const char *text, const char *part)
{
    cr_assert_not_null (strstr (text, part), "'%s' not in '%s'", part, text);
}


//  --------------------------------------------------------------------------
//  A worker on a thread: workflow "echo" completes with the inputs as
//  outputs, "fail" fails, "slow" reports 50% and waits for s_release

static atomic_int s_release;

static inline uint8_t *
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
                zclock_sleep (10);  //  A handler's "work"
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

static inline void *
s_worker_thread (void *arg)
{
    s_worker_t *self = (s_worker_t *) arg;
    zjob_worker_run (self->worker, s_handler, NULL, NULL);
    return NULL;
}

static inline s_worker_t *
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

static inline void
s_worker_stop (s_worker_t **self_p)
{
    s_worker_t *self = *self_p;
    zjob_worker_stop (self->worker);
    pthread_join (self->thread, NULL);
    zjob_worker_destroy (&self->worker);
    free (self);
    *self_p = NULL;
}

//  Wait until the "slow" job id is running at 50%
static inline void
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
            zclock_sleep (20);  //  Polling a condition with a deadline
    }
    cr_assert (halfway, "the job never reached 50%%");
    zjob_client_destroy (&client);
}

#endif
