/*  =========================================================================
    helper_zjob_test - utilities shared by the integration tests

    See helper_zjob_test.h. Kept generic: no test's own assertions here,
    only plumbing that returns NULL or -1 when something does not happen
    in time, so each test states what it expects.
    ========================================================================= */

#include "helper_zjob_test.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *
zjob_test_tmpdir (void)
{
    const char *base = getenv ("ZJOB_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    zsys_dir_create ("%s", base);
    char *path = NULL;
    if (asprintf (&path, "%s/zjob-test-XXXXXX", base) < 0)
        return NULL;
    if (!mkdtemp (path)) {
        free (path);
        return NULL;
    }
    return path;
}

static int
s_remove_entry (const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;
    remove (path);
    return 0;
}

void
zjob_test_rmtree (const char *path)
{
    if (path)
        nftw (path, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void
zjob_test_tmpdir_done (char **dir_p)
{
    if (!dir_p || !*dir_p)
        return;
    if (getenv ("ZJOB_TEST_VERBOSE")) {
        char command [1200];
        snprintf (command, sizeof (command), "tail -n 100 %s/*.log >&2", *dir_p);
        if (system (command) != 0)
            fprintf (stderr, "(no logs in %s)\n", *dir_p);
    }
    zjob_test_rmtree (*dir_p);
    free (*dir_p);
    *dir_p = NULL;
}

void
zjob_test_stop (pid_t *pid_p, int signal, int timeout_ms)
{
    if (*pid_p <= 0)
        return;
    kill (*pid_p, signal);
    zjob_test_wait_exit (*pid_p, timeout_ms);
    *pid_p = 0;
}

zsock_t *
zjob_test_dealer (const char *endpoint)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock)
        return NULL;
    zjob_proto_socket_setup (sock);
    zsock_set_linger (sock, 0);
    if (zsock_connect (sock, "%s", endpoint)) {
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
}

int
zjob_test_send (zsock_t *sock, zframe_t **frame_p)
{
    if (!frame_p || !*frame_p)
        return -1;
    return zframe_send (frame_p, sock, 0);
}

zjob_msg_t *
zjob_test_recv (zsock_t *sock, zjob_route_t route, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (sock, NULL);
    if (!poller)
        return NULL;
    void *which = zpoller_wait (poller, timeout_ms);
    zpoller_destroy (&poller);
    if (which != sock)
        return NULL;
    zframe_t *frame = zframe_recv (sock);
    while (frame && zframe_more (frame)) {
        //  Events are [topic][message]: keep the last frame
        zframe_destroy (&frame);
        frame = zframe_recv (sock);
    }
    if (!frame)
        return NULL;
    zjob_error_t err;
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame), route, &err);
    if (msg)
        zjob_msg_adopt (msg, &frame);
    else
        zsys_warning ("zjob_test_recv: cannot decode: %s", err.text);
    zframe_destroy (&frame);
    return msg;
}

zjob_msg_t *
zjob_test_expect (zsock_t *sock, zjob_route_t route, zjob_cmd_t cmd, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        if (left < 0)
            return NULL;
        zjob_msg_t *msg = zjob_test_recv (sock, route, (int) left);
        if (!msg)
            return NULL;
        if (zjob_msg_command (msg) == cmd)
            return msg;
        zjob_msg_destroy (&msg);
    }
}

zjob_msg_t *
zjob_test_call (zsock_t *sock, zjob_msg_builder_t *builder, int timeout_ms)
{
    zjob_error_t err;
    size_t size;
    const uint8_t *data = zjob_msg_end_data (builder, &size, &err);
    if (!data)
        return NULL;
    //  The request id is in the envelope that the caller began
    uint64_t request_id = 0;
    if (!zjob_msg_peek (data, size, &request_id, NULL))
        return NULL;
    if (zmq_send (zsock_resolve (sock), data, size, 0) == -1)
        return NULL;
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        if (left < 0)
            return NULL;
        zjob_msg_t *reply = zjob_test_recv (sock, ZJOB_ROUTE_BROKER_CLIENT, (int) left);
        if (!reply)
            return NULL;
        if (zjob_msg_request_id (reply) == request_id)
            return reply;
        zjob_msg_destroy (&reply);
    }
}

static uint64_t s_request_id = 1000000;

char *
zjob_test_submit (zsock_t *client, const char *workflow, const char *priority,
                  const char *key)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    if (!builder)
        return NULL;
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = workflow;
    spec.priority = priority ? (zjob_priority_t) zjob_priority_parse (priority)
                             : ZJOB_PRIORITY_LOW;
    spec.idempotency_key = key;
    zjob_msg_begin (builder, ZJOB_CMD_SUBMIT, ++s_request_id);
    zjob_msg_add_specs (builder, "jobs", &spec, 1);
    zjob_msg_t *reply = zjob_test_call (client, builder, 5000);
    zjob_msg_builder_destroy (&builder);
    char *id = NULL;
    if (reply && zjob_msg_command (reply) == ZJOB_CMD_OK) {
        size_t count = 0;
        const char *const *ids = zjob_msg_strs (reply, "ids", &count);
        if (ids && count == 1)
            id = strdup (ids [0]);
    }
    zjob_msg_destroy (&reply);
    return id;
}

zjob_job_t *
zjob_test_get (zsock_t *client, const char *id)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    if (!builder)
        return NULL;
    zjob_msg_begin (builder, ZJOB_CMD_GET, ++s_request_id);
    zjob_msg_add_str (builder, "id", id);
    zjob_msg_t *reply = zjob_test_call (client, builder, 5000);
    zjob_msg_builder_destroy (&builder);
    zjob_job_t *job = NULL;
    if (reply && zjob_msg_command (reply) == ZJOB_CMD_OK)
        job = zjob_msg_job (reply, "job", NULL);
    zjob_msg_destroy (&reply);
    return job;
}

pid_t
zjob_test_spawn (char *const argv [], int *stdout_fd)
{
    return zjob_test_spawn_with (argv, stdout_fd, NULL);
}

pid_t
zjob_test_spawn_with (char *const argv [], int *stdout_fd, const char *stderr_path)
{
    int fds [2] = { -1, -1 };
    if (stdout_fd && pipe2 (fds, O_CLOEXEC))
        return -1;
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid < 0) {
        if (stdout_fd) {
            close (fds [0]);
            close (fds [1]);
        }
        return -1;
    }
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (127);  //  The test died before the prctl
        if (stdout_fd)
            dup2 (fds [1], STDOUT_FILENO);
        if (stderr_path) {
            int fd = open (stderr_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0)
                dup2 (fd, STDERR_FILENO);
        }
        execv (argv [0], argv);
        _exit (127);
    }
    if (stdout_fd) {
        close (fds [1]);
        *stdout_fd = fds [0];
    }
    return pid;
}

char *
zjob_test_read_line (int fd, int timeout_ms)
{
    char line [4096];
    size_t size = 0;
    int64_t deadline = zclock_mono () + timeout_ms;
    while (size < sizeof (line) - 1) {
        int64_t left = deadline - zclock_mono ();
        if (left < 0)
            return NULL;
        struct pollfd item = { fd, POLLIN, 0 };
        int rc = poll (&item, 1, (int) left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return NULL;
        char c;
        ssize_t got = read (fd, &c, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return NULL;
        if (c == '\n')
            break;
        line [size++] = c;
    }
    line [size] = 0;
    return strdup (line);
}

int
zjob_test_wait_exit (pid_t pid, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        int status = 0;
        pid_t done = waitpid (pid, &status, WNOHANG);
        if (done == pid) {
            if (WIFEXITED (status))
                return WEXITSTATUS (status);
            if (WIFSIGNALED (status))
                return 128 + WTERMSIG (status);
            return -1;
        }
        if (done < 0)
            return -1;
        if (zclock_mono () >= deadline) {
            kill (pid, SIGKILL);
            waitpid (pid, &status, 0);
            return -1;
        }
        zclock_sleep (5);  //  Polling a child's exit: no event to wait on
    }
}


//  --------------------------------------------------------------------------
//  An in-process broker

int
zjob_test_broker_start (zjob_test_broker_t *broker, const char *store,
                        const zjob_test_broker_t *like, zjob_error_t *err)
{
    return zjob_test_broker_start_with (broker, store, like, NULL, 0, err);
}

int
zjob_test_broker_start_with (zjob_test_broker_t *broker, const char *store,
                             const zjob_test_broker_t *like,
                             const char *const (*extra) [2], size_t count, zjob_error_t *err)
{
    memset (broker, 0, sizeof (*broker));
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    const char *options [][2] = {
        { "clients", like ? like->clients : "tcp://127.0.0.1:*" },
        { "workers", like ? like->workers : "tcp://127.0.0.1:*" },
        { "events", like ? like->events : "tcp://127.0.0.1:*" },
        { "store", store },
        { "heartbeat", "100ms" },
        { "log-level", "error" }
    };
    for (size_t i = 0; i < sizeof (options) / sizeof (options [0]); i++)
        if (zjob_broker_config_set (&config, options [i][0], options [i][1], err))
            return -1;
    for (size_t i = 0; i < count; i++)
        if (zjob_broker_config_set (&config, extra [i][0], extra [i][1], err))
            return -1;
    //  The ports of a broker just stopped may take a moment to be free
    int64_t deadline = zjob_mono_ms () + 5000;
    while (!(broker->actor = zjob_broker_new (&config, err))) {
        if (!like || zjob_mono_ms () >= deadline)
            return -1;
        zclock_sleep (20);  //  Retrying a bind: no event to wait on
    }
    if (zjob_broker_endpoints (broker->actor, &broker->clients, &broker->workers,
                               &broker->events)) {
        zjob_test_broker_stop (broker);
        return zjob_error_set (err, ZJOB_INTERNAL, "the broker gave no endpoints");
    }
    return 0;
}

void
zjob_test_broker_stop (zjob_test_broker_t *broker)
{
    zactor_destroy (&broker->actor);
    zstr_free (&broker->clients);
    zstr_free (&broker->workers);
    zstr_free (&broker->events);
}


//  --------------------------------------------------------------------------
//  Processes, as /proc shows them

//  The fields after the command name in /proc/pid/stat, or NULL
static char *
s_proc_stat (pid_t pid, char *line, size_t size)
{
    char path [64];
    snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return NULL;
    char *got = fgets (line, (int) size, file);
    fclose (file);
    char *paren = got ? strrchr (line, ')') : NULL;
    return paren && paren [1] == ' ' ? paren + 2 : NULL;
}

char
zjob_test_proc_state (pid_t pid)
{
    char line [512];
    char *fields = s_proc_stat (pid, line, sizeof (line));
    return fields ? fields [0] : 0;
}

//  The parent of pid, or 0
static pid_t
s_proc_parent (pid_t pid)
{
    char line [512];
    char *fields = s_proc_stat (pid, line, sizeof (line));
    int parent = 0;
    if (!fields || sscanf (fields, "%*c %d", &parent) != 1)
        return 0;
    return (pid_t) parent;
}

bool
zjob_test_proc_stopped (pid_t pid)
{
    char state = zjob_test_proc_state (pid);
    if (state == 'T')
        return true;
    if (state != 'D')
        return false;
    DIR *proc = opendir ("/proc");
    if (!proc)
        return false;
    bool stopped_child = false;
    struct dirent *entry;
    while (!stopped_child && (entry = readdir (proc))) {
        pid_t child = (pid_t) atoi (entry->d_name);
        if (child > 0 && s_proc_parent (child) == pid && zjob_test_proc_state (child) == 'T')
            stopped_child = true;
    }
    closedir (proc);
    return stopped_child;
}

bool
zjob_test_wait_stopped (pid_t pid, bool stopped, int timeout_ms)
{
    int64_t deadline = zjob_mono_ms () + timeout_ms;
    while (zjob_mono_ms () < deadline) {
        if (zjob_test_proc_stopped (pid) == stopped)
            return true;
        zclock_sleep (5);  //  Polling /proc: no event to wait on
    }
    return false;
}

bool
zjob_test_wait_gone (pid_t pid, int timeout_ms)
{
    int64_t deadline = zjob_mono_ms () + timeout_ms;
    while (zjob_mono_ms () < deadline) {
        char state = zjob_test_proc_state (pid);
        if (state == 0 || state == 'Z')
            return true;
        zclock_sleep (5);  //  Polling /proc: no event to wait on
    }
    return false;
}
