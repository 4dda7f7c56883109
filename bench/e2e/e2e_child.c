/*  =========================================================================
    e2e_child - bench_e2e: time, inputs, child processes, zjobd, CPU

    The parent never touches ZeroMQ: it forks every child before any of
    them creates a context, and talks with each over two pipes: the child
    writes fixed-size records (e2e_record_t, under PIPE_BUF, so each write
    is atomic) to its report pipe and reads commands, a byte and a 64-bit
    argument, from its control pipe; EOF on it means stop. zjobd is run
    with fork and exec, as in production, and is ready when it prints its
    ready line. CPU figures come from /proc/PID/stat (utime, stime).
    ========================================================================= */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "e2e.h"

//  --------------------------------------------------------------------------
//  Time and inputs

int64_t
e2e_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

//  Write a msgpack map {"t": submit_ns, "p": "xxx..."} of exactly
//  E2E_INPUT_SIZE bytes into buf. Returns its size.
size_t
e2e_make_inputs (uint8_t *buf, int64_t submit_ns)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "t", 1);
    msgpack_pack_int64 (&pk, submit_ns);
    msgpack_pack_str_with_body (&pk, "p", 1);
    //  The rest is a str8 (2-byte header) padding the map to size
    char pad [E2E_INPUT_SIZE];
    size_t body = E2E_INPUT_SIZE - sbuf.size - 2;
    memset (pad, 'x', body);
    msgpack_pack_str (&pk, body);
    msgpack_pack_str_body (&pk, pad, body);
    assert (sbuf.size == E2E_INPUT_SIZE);
    memcpy (buf, sbuf.data, sbuf.size);
    size_t size = sbuf.size;
    msgpack_sbuffer_destroy (&sbuf);
    return size;
}

//  The "t" of inputs made by e2e_make_inputs, or -1
int64_t
e2e_inputs_time (const uint8_t *data, size_t size)
{
    int64_t submit_ns = -1;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    if (msgpack_unpack_next (&unpacked, (const char *) data, size, NULL) == MSGPACK_UNPACK_SUCCESS
        && unpacked.data.type == MSGPACK_OBJECT_MAP) {
        msgpack_object_map *map = &unpacked.data.via.map;
        for (uint32_t i = 0; i < map->size; i++) {
            msgpack_object *key = &map->ptr [i].key;
            msgpack_object *value = &map->ptr [i].val;
            if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == 1
                && key->via.str.ptr [0] == 't'
                && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                submit_ns = (int64_t) value->via.u64;
        }
    }
    msgpack_unpacked_destroy (&unpacked);
    return submit_ns;
}


//  Every pipe end the parent holds, so that a child closes those that are
//  not its own: a child that kept a sibling's control pipe open would keep
//  that sibling from seeing EOF.
static int s_fds [E2E_FDS_MAX];
static size_t s_fd_count;

static void
s_fd_add (int fd)
{
    assert (s_fd_count < E2E_FDS_MAX);
    s_fds [s_fd_count++] = fd;
}

static void
s_fd_close (int *fd_p)
{
    if (*fd_p < 0)
        return;
    for (size_t i = 0; i < s_fd_count; i++)
        if (s_fds [i] == *fd_p) {
            s_fds [i] = s_fds [--s_fd_count];
            break;
        }
    close (*fd_p);
    *fd_p = -1;
}

//  Write all of size bytes; 0 or -1
static int
s_write_all (int fd, const void *data, size_t size)
{
    const char *bytes = (const char *) data;
    while (size) {
        ssize_t rc = write (fd, bytes, size);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        bytes += rc;
        size -= (size_t) rc;
    }
    return 0;
}

//  Read exactly size bytes, waiting at most until deadline (ns). Returns
//  1 when read, 0 at EOF, -1 at the deadline or on an error.
static int
s_read_all (int fd, void *data, size_t size, int64_t deadline)
{
    char *bytes = (char *) data;
    size_t got = 0;
    while (got < size) {
        int64_t left_ms = (deadline - e2e_now_ns ()) / 1000000;
        if (left_ms <= 0)
            return -1;
        struct pollfd item = { fd, POLLIN, 0 };
        int rc = poll (&item, 1, left_ms > INT32_MAX ? INT32_MAX : (int) left_ms);
        if (rc < 0 && errno != EINTR)
            return -1;
        if (rc <= 0)
            continue;
        ssize_t size_read = read (fd, bytes + got, size - got);
        if (size_read < 0 && errno == EINTR)
            continue;
        if (size_read < 0)
            return -1;
        if (size_read == 0)
            return got ? -1 : 0;
        got += (size_t) size_read;
    }
    return 1;
}

//  In a child: send one record to the parent
void
e2e_report (e2e_role_t *role, e2e_rec_kind_t kind, int64_t count, int64_t t0, int64_t t1,
            int64_t value, const char *text)
{
    e2e_record_t record;
    memset (&record, 0, sizeof record);
    record.kind = kind;
    record.index = (int32_t) role->index;
    record.count = count;
    record.t0 = t0;
    record.t1 = t1;
    record.value = value;
    if (text)
        snprintf (record.text, sizeof record.text, "%s", text);
    if (s_write_all (role->report, &record, sizeof record))
        _exit (1);  //  The parent is gone
}

//  In a child: report a failure and end
void
e2e_fail (e2e_role_t *role, const char *what, const char *detail)
{
    char text [200];
    snprintf (text, sizeof text, "%s: %s", what, detail ? detail : "");
    e2e_report (role, E2E_REC_FAIL, 0, 0, 0, 0, text);
    exit (1);
}

//  In a child: wait for a command from the parent (a byte and a 64-bit
//  argument, into *argument_p if not NULL). Returns it, or 0 at EOF.
char
e2e_command (e2e_role_t *role, int64_t *argument_p)
{
    char message [1 + sizeof (int64_t)];
    if (s_read_all (role->control, message, sizeof message, INT64_MAX) != 1)
        return 0;
    if (argument_p)
        memcpy (argument_p, message + 1, sizeof (int64_t));
    return message [0];
}

//  Fork a child running body. The parent keeps the report pipe's read end
//  and the control pipe's write end. Returns 0, or -1 if it cannot fork.
int
e2e_spawn (e2e_child_t *child, const char *name, e2e_body_fn *body, e2e_role_t *role)
{
    memset (child, 0, sizeof *child);
    child->report = child->control = -1;
    int report [2], control [2];
    if (pipe2 (report, O_CLOEXEC))
        return -1;
    if (pipe2 (control, O_CLOEXEC)) {
        close (report [0]);
        close (report [1]);
        return -1;
    }
    pid_t parent = getpid ();
    fflush (NULL);  //  Or the child would print the parent's buffer
    pid_t pid = fork ();
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (1);
        prctl (PR_SET_NAME, name);
        signal (SIGPIPE, SIG_IGN);
        for (size_t i = 0; i < s_fd_count; i++)
            close (s_fds [i]);
        s_fd_count = 0;
        close (report [0]);
        close (control [1]);
        role->report = report [1];
        role->control = control [0];
        body (role);
        exit (0);
    }
    close (report [1]);
    close (control [0]);
    if (pid < 0) {
        close (report [0]);
        close (control [1]);
        return -1;
    }
    child->pid = pid;
    child->report = report [0];
    child->control = control [1];
    s_fd_add (child->report);
    s_fd_add (child->control);
    return 0;
}

//  A program in a child of ours, its output into a log (e2e.h)
pid_t
e2e_exec (const char *path, char *const argv [], const char *log, char *why, size_t size)
{
    pid_t parent = getpid ();
    fflush (NULL);
    pid_t pid = fork ();
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (1);
        int fd = open (log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2 (fd, STDOUT_FILENO);
            dup2 (fd, STDERR_FILENO);
        }
        execv (path, argv);
        fprintf (stderr, "cannot run %s: %s\n", path, strerror (errno));
        _exit (127);
    }
    if (pid < 0)
        snprintf (why, size, "fork: %s", strerror (errno));
    return pid;
}

//  Send a command byte (and an optional 64-bit argument) to a child
void
e2e_tell (e2e_child_t *child, char command, int64_t argument)
{
    if (child->control < 0)
        return;
    char message [1 + sizeof (int64_t)];
    message [0] = command;
    memcpy (message + 1, &argument, sizeof argument);
    if (s_write_all (child->control, message, sizeof message))
        s_fd_close (&child->control);
}

//  Stop count children: EOF on every control pipe, then wait for each
//  report pipe to close (it exited), all within E2E_STOP_MS, then SIGKILL
//  those left. Reaps them.
void
e2e_stop (e2e_child_t *children, size_t count)
{
    for (size_t i = 0; i < count; i++)
        s_fd_close (&children [i].control);
    int64_t deadline = e2e_now_ns () + (int64_t) E2E_STOP_MS * 1000000;
    for (size_t i = 0; i < count; i++) {
        e2e_child_t *child = &children [i];
        if (child->pid <= 0)
            continue;
        e2e_record_t record;
        while (child->report >= 0) {
            int rc = s_read_all (child->report, &record, sizeof record, deadline);
            if (rc == 0)
                break;  //  EOF: it exited
            if (rc < 0) {
                kill (child->pid, SIGKILL);
                break;
            }
        }
        s_fd_close (&child->report);
        waitpid (child->pid, NULL, 0);
        child->pid = 0;
    }
}

//  Wait until one of count children has a record, at most until deadline.
//  Returns the index of the child whose record is in record, -1 at the
//  deadline, or -2 - index when that child's pipe closed (it exited).
int
e2e_next_record (e2e_child_t *children, size_t count, int64_t deadline, e2e_record_t *record)
{
    struct pollfd items [E2E_CHILDREN_MAX];
    assert (count <= E2E_CHILDREN_MAX);
    while (true) {
        int64_t left_ms = (deadline - e2e_now_ns ()) / 1000000;
        if (left_ms <= 0)
            return -1;
        for (size_t i = 0; i < count; i++)
            items [i] = (struct pollfd){ children [i].report, POLLIN, 0 };
        int rc = poll (items, count, left_ms > 1000 ? 1000 : (int) left_ms);
        if (rc < 0 && errno != EINTR)
            return -1;
        for (size_t i = 0; rc > 0 && i < count; i++) {
            if (!items [i].revents)
                continue;
            //  Readable: the record is there (a write under PIPE_BUF is
            //  atomic) or the pipe closed, whatever the deadline says
            rc = s_read_all (children [i].report, record, sizeof record [0],
                             e2e_now_ns () + (int64_t) E2E_STOP_MS * 1000000);
            if (rc == 1)
                return (int) i;
            s_fd_close (&children [i].report);
            return -2 - (int) i;
        }
    }
}

//  Wait until every one of count children said READY, at most ready_ms.
//  Returns 0, or -1 with why filled.
int
e2e_await_ready (e2e_child_t *children, size_t count, const char *role, char *why, size_t size)
{
    int64_t deadline = e2e_now_ns () + (int64_t) E2E_READY_MS * 1000000;
    size_t ready = 0;
    e2e_record_t record;
    while (ready < count) {
        int which = e2e_next_record (children, count, deadline, &record);
        if (which == -1) {
            snprintf (why, size, "%s not ready within %d ms", role, E2E_READY_MS);
            return -1;
        }
        if (which < -1) {
            snprintf (why, size, "%s %d exited before it was ready", role, -2 - which);
            return -1;
        }
        if (record.kind == E2E_REC_FAIL) {
            snprintf (why, size, "%s %d: %s", role, which, record.text);
            return -1;
        }
        if (record.kind == E2E_REC_READY && !children [which].ready) {
            children [which].ready = true;
            memcpy (children [which].text, record.text, sizeof record.text);
            ready++;
        }
    }
    return 0;
}


//  The value of "key=" in the ready line, into value
static int
s_ready_field (const char *line, const char *key, char *value, size_t size)
{
    const char *at = strstr (line, key);
    if (!at)
        return -1;
    at += strlen (key);
    size_t length = strcspn (at, " \n");
    if (length == 0 || length >= size)
        return -1;
    memcpy (value, at, length);
    value [length] = 0;
    return 0;
}

//  Start zjobd on store (a store spec), with CURVE and --http as asked,
//  and wait for its ready line.
//  Returns 0, or -1 with why filled (the broker is then stopped).
int
e2e_broker_start (e2e_broker_t *broker, const char *store, bool curve, bool http,
                  const char *log, char *why, size_t size)
{
    memset (broker, 0, sizeof *broker);
    broker->out = -1;
    snprintf (broker->log, sizeof broker->log, "%s", log);
    int out [2];
    if (pipe2 (out, O_CLOEXEC)) {
        snprintf (why, size, "pipe: %s", strerror (errno));
        return -1;
    }
    char path [1024];
    const char *chosen = getenv ("ZJOB_BENCH_ZJOBD");
    if (chosen && *chosen)
        snprintf (path, sizeof path, "%s", chosen);
    else
        snprintf (path, sizeof path, "%s/zjobd", ZJOB_BIN_DIR);
    pid_t parent = getpid ();
    fflush (NULL);
    pid_t pid = fork ();
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (1);
        dup2 (out [1], STDOUT_FILENO);
        int log_fd = open (log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log_fd >= 0)
            dup2 (log_fd, STDERR_FILENO);
        //  Every endpoint ephemeral on loopback; by default no limit on jobs
        //  held by workers (zjobd's default of 10 would cap 2 x 16 slots)
        const char *args [20] = { "zjobd", "--clients", "tcp://127.0.0.1:*", "--workers",
                                  "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*",
                                  "--store", store, "--max-concurrent", e2e_max_concurrent,
                                  "--log-level", "warning" };
        size_t count = 13;
        //  ZJOB_BENCH_IPC=DIR: the three sockets on ipc:// in DIR instead
        char ipc [3][600];
        const char *ipc_dir = getenv ("ZJOB_BENCH_IPC");
        if (ipc_dir && *ipc_dir) {
            const char *names [3] = { "clients", "workers", "events" };
            for (size_t i = 0; i < 3; i++) {
                snprintf (ipc [i], sizeof ipc [i], "ipc://%s/%d-%s", ipc_dir, (int) getpid (),
                          names [i]);
                args [2 + 2 * i] = ipc [i];
            }
        }
        if (curve) {
            args [count++] = "--curve-secret";
            args [count++] = e2e_curve_broker_secret ();
            args [count++] = "--keys";
            args [count++] = e2e_curve_keys_dir ();
        }
        if (http) {
            args [count++] = "--http";
            args [count++] = "127.0.0.1:0";
        }
        args [count] = NULL;
        execv (path, (char *const *) args);
        fprintf (stderr, "bench_e2e: cannot run %s: %s\n", path, strerror (errno));
        _exit (127);
    }
    close (out [1]);
    if (pid < 0) {
        close (out [0]);
        snprintf (why, size, "fork: %s", strerror (errno));
        return -1;
    }
    broker->pid = pid;
    broker->out = out [0];
    s_fd_add (broker->out);

    //  The ready line, within E2E_READY_MS
    char line [1024] = "";
    size_t length = 0;
    int64_t deadline = e2e_now_ns () + (int64_t) E2E_READY_MS * 1000000;
    while (length < sizeof line - 1 && !memchr (line, '\n', length)) {
        int rc = s_read_all (broker->out, line + length, 1, deadline);
        if (rc != 1) {
            snprintf (why, size, "zjobd %s", rc == 0 ? "exited before it was ready" : "not ready in time");
            return -1;
        }
        length++;
    }
    line [length] = 0;
    if (strncmp (line, "zjobd ready ", 12)
        || s_ready_field (line, "clients=", broker->clients, sizeof broker->clients)
        || s_ready_field (line, "workers=", broker->workers, sizeof broker->workers)
        || (http && s_ready_field (line, "http=", broker->http, sizeof broker->http))) {
        snprintf (why, size, "unexpected line from zjobd: %.200s", line);
        return -1;
    }
    return 0;
}

//  SIGTERM, then wait for its exit (its stdout closes) for
//  E2E_BROKER_STOP_MS, then SIGKILL. Reaps it.
void
e2e_broker_stop (e2e_broker_t *broker)
{
    if (broker->pid <= 0)
        return;
    kill (broker->pid, SIGTERM);
    int64_t deadline = e2e_now_ns () + (int64_t) E2E_BROKER_STOP_MS * 1000000;
    char byte;
    while (broker->out >= 0) {
        int rc = s_read_all (broker->out, &byte, 1, deadline);
        if (rc == 0)
            break;
        if (rc < 0) {
            fprintf (stderr, "bench_e2e: zjobd did not stop in time, killed\n");
            kill (broker->pid, SIGKILL);
            break;
        }
    }
    s_fd_close (&broker->out);
    waitpid (broker->pid, NULL, 0);
    broker->pid = 0;
}

//  Print the last lines zjobd logged, after a failure
void
e2e_broker_log_tail (e2e_broker_t *broker)
{
    FILE *file = *broker->log ? fopen (broker->log, "r") : NULL;
    if (!file)
        return;
    char lines [8][256];
    size_t count = 0;
    while (fgets (lines [count % 8], sizeof lines [0], file))
        count++;
    fclose (file);
    if (count)
        printf ("    zjobd's last log lines:\n");
    for (size_t i = count > 8 ? count - 8 : 0; i < count; i++)
        printf ("      %s", lines [i % 8]);
}

//  CPU time used so far by process pid, all its threads (ns), or 0; of
//  which, in *sys_p if not NULL, in the kernel
int64_t
e2e_cpu_ns (pid_t pid, int64_t *sys_p)
{
    char path [64], line [1024];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return 0;
    size_t size = fread (line, 1, sizeof line - 1, file);
    fclose (file);
    line [size] = 0;
    //  Fields 14 and 15 (utime, stime) count after the ")" that ends field 2
    const char *at = strrchr (line, ')');
    unsigned long long utime = 0, stime = 0;
    if (!at || sscanf (at + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return 0;
    int64_t tick = 1000000000LL / sysconf (_SC_CLK_TCK);
    if (sys_p)
        *sys_p = (int64_t) stime * tick;
    return (int64_t) (utime + stime) * tick;
}
