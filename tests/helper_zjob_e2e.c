/*  =========================================================================
    helper_zjob_e2e - the process harness of the end-to-end tests

    Built on helper_zjob_test's children (spawned with a death signal, so
    none outlives a crashed test) and its deadlines. Failures here are
    Criterion assertions: they end the test, and its fini still runs
    zjob_e2e_teardown, which is why every pid is stored in the struct the
    moment it exists.
    ========================================================================= */

#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "helper_zjob_test.h"
#include "helper_zjob_e2e.h"

#define ZJOBD_BIN ZJOB_BIN_DIR "/zjobd"
#define WORKER_BIN ZJOB_BIN_DIR "/zjob-worker"
#define CLI_BIN ZJOB_BIN_DIR "/zjob"
//  Room for the fixed arguments plus a test's extra ones
#define ARGV_MAX 48

//  Append the NULL-terminated extra to argv (argc of ARGV_MAX used)
static int
s_append (char **argv, int argc, const char *const *extra)
{
    for (; extra && *extra; extra++) {
        cr_assert_lt (argc, ARGV_MAX - 1, "too many arguments");
        argv [argc++] = (char *) *extra;
    }
    argv [argc] = NULL;
    return argc;
}

static void
s_client_connect (zjob_e2e_t *self)
{
    zjob_error_t err;
    self->client = zjob_client_new_with (self->clients, self->timeout_ms, self->connect, &err);
    cr_assert_not_null (self->client, "%s", err.text);
}

void
zjob_e2e_setup (zjob_e2e_t *self, const char *const *broker_args, int timeout_ms,
                int deadline_ms)
{
    zjob_e2e_prepare (self, broker_args, timeout_ms, deadline_ms);
    zjob_e2e_start (self, NULL);
}

void
zjob_e2e_prepare (zjob_e2e_t *self, const char *const *broker_args, int timeout_ms,
                  int deadline_ms)
{
    memset (self, 0, sizeof (*self));
    self->broker_out = -1;
    self->broker_args = broker_args;
    self->timeout_ms = timeout_ms;
    self->deadline_ms = deadline_ms > 0 ? deadline_ms : ZJOB_E2E_DEADLINE_MS;
    self->cli_line_ms = self->deadline_ms;
    self->dir = zjob_test_tmpdir ();
    cr_assert_not_null (self->dir);
    snprintf (self->store, sizeof (self->store), "file:%s/data", self->dir);
}

void
zjob_e2e_start (zjob_e2e_t *self, const zjob_connect_opts_t *connect)
{
    self->connect = connect;
    zjob_e2e_broker_start (self);
    s_client_connect (self);
}

void
zjob_e2e_teardown (zjob_e2e_t *self)
{
    for (int index = 0; index < ZJOB_E2E_WORKERS; index++)
        zjob_test_stop (&self->worker [index], SIGKILL, self->deadline_ms);
    zjob_client_destroy (&self->client);
    zjob_test_stop (&self->broker, SIGTERM, self->deadline_ms);
    if (self->broker_out >= 0)
        close (self->broker_out);
    self->broker_out = -1;
    zjob_test_tmpdir_done (&self->dir);
}

const char *
zjob_e2e_path (zjob_e2e_t *self, const char *name)
{
    static char path [700];
    snprintf (path, sizeof (path), "%s/%s", self->dir, name);
    return path;
}

void
zjob_e2e_broker_start (zjob_e2e_t *self)
{
    char log [700];
    snprintf (log, sizeof (log), "%s/zjobd.log", self->dir);
    bool again = self->clients [0] != 0;
    char *argv [ARGV_MAX] = { ZJOBD_BIN,
                              "--clients", again ? self->clients : "tcp://127.0.0.1:*",
                              "--workers", again ? self->workers : "tcp://127.0.0.1:*",
                              "--events", again ? self->events : "tcp://127.0.0.1:*",
                              "--store", self->store, NULL };
    s_append (argv, 9, self->broker_args);
    int64_t deadline = zjob_mono_ms () + self->deadline_ms;
    while (true) {
        self->broker = zjob_test_spawn_with (argv, &self->broker_out, log);
        cr_assert_gt (self->broker, 0);
        char *line = zjob_test_read_line (self->broker_out, self->deadline_ms);
        if (line) {
            int parsed = sscanf (line, "zjobd ready clients=%255s workers=%255s events=%255s",
                                 self->clients, self->workers, self->events);
            free (line);
            cr_assert_eq (parsed, 3, "zjobd's ready line");
            return;
        }
        //  The ports of the killed broker may not be free yet: try again
        zjob_test_wait_exit (self->broker, self->deadline_ms);
        self->broker = 0;
        close (self->broker_out);
        self->broker_out = -1;
        cr_assert_lt (zjob_mono_ms (), deadline, "zjobd did not start again");
        zclock_sleep (100);  //  Waiting for the kernel to free the ports
    }
}

void
zjob_e2e_broker_kill (zjob_e2e_t *self)
{
    kill (self->broker, SIGKILL);
    cr_assert_eq (zjob_test_wait_exit (self->broker, self->deadline_ms), 128 + SIGKILL);
    self->broker = 0;
    close (self->broker_out);
    self->broker_out = -1;
}

void
zjob_e2e_restart (zjob_e2e_t *self)
{
    zjob_client_destroy (&self->client);
    zjob_e2e_broker_kill (self);
    zjob_e2e_broker_start (self);
    s_client_connect (self);
}

void
zjob_e2e_worker_start (zjob_e2e_t *self, int index, const char *workflow,
                       const char *const *options, const char *script)
{
    cr_assert (index >= 0 && index < ZJOB_E2E_WORKERS, "worker %d", index);
    char log [700];
    snprintf (log, sizeof (log), "%s/worker%d.log", self->dir, index);
    char *argv [ARGV_MAX] = { WORKER_BIN, "--broker", self->workers, "--workflow",
                              (char *) workflow, NULL };
    int argc = s_append (argv, 5, options);
    const char *const command [] = { "--", "/bin/sh", "-c", script, "sh", self->dir, NULL };
    s_append (argv, argc, command);
    self->worker [index] = zjob_test_spawn_with (argv, NULL, log);
    cr_assert_gt (self->worker [index], 0);
}

void
zjob_e2e_worker_kill (zjob_e2e_t *self, int index)
{
    kill (self->worker [index], SIGKILL);
    cr_assert_eq (zjob_test_wait_exit (self->worker [index], self->deadline_ms),
                  128 + SIGKILL);
    self->worker [index] = 0;
}

int
zjob_e2e_cli (zjob_e2e_t *self, const char *arg, ...)
{
    //  Before zjobd has started (keygen) there is no broker to name
    char *argv [ARGV_MAX] = { CLI_BIN, "--broker", self->clients, NULL };
    int argc = self->clients [0] ? 3 : 1;
    va_list args;
    va_start (args, arg);
    for (; arg && argc < ARGV_MAX - 1; arg = va_arg (args, const char *))
        argv [argc++] = (char *) arg;
    va_end (args);
    cr_assert_null (arg, "too many arguments");
    argv [argc] = NULL;
    char log [700];
    snprintf (log, sizeof (log), "%s/cli.log", self->dir);
    int out = -1;
    pid_t pid = zjob_test_spawn_with (argv, &out, log);
    cr_assert_gt (pid, 0);
    size_t size = 0;
    self->cli_out [0] = 0;
    char *line;
    while ((line = zjob_test_read_line (out, self->cli_line_ms))) {
        size += (size_t) snprintf (self->cli_out + size, sizeof (self->cli_out) - size, "%s\n",
                                   line);
        free (line);
        if (size >= sizeof (self->cli_out))
            size = sizeof (self->cli_out) - 1;
    }
    close (out);
    return zjob_test_wait_exit (pid, self->deadline_ms);
}
