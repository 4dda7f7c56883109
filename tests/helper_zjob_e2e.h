/*  =========================================================================
    helper_zjob_e2e - the process harness of the end-to-end tests

    An end-to-end test runs real processes only: zjobd on a store in the
    test's own directory, zjob-workers running /bin/sh snippets, and the
    zjob CLI, next to a client of the library. zjob_e2e_t holds all of it
    for one test, so the suite's fini can stop every process the test
    started even after a failed assertion left it half-way. Each call
    asserts (Criterion) on what must not fail, and waits on conditions
    with ZJOB_E2E_DEADLINE_MS, never blindly.
    ========================================================================= */

#ifndef HELPER_ZJOB_E2E_H_INCLUDED
#define HELPER_ZJOB_E2E_H_INCLUDED

#include <sys/types.h>
#include "zjob_client.h"

//  msecs any expected thing may take: a poll ends as soon as it holds;
//  the margin is for a loaded machine (sanitizers, -j2)
#define ZJOB_E2E_DEADLINE_MS 20000
//  Workers one test may run at once
#define ZJOB_E2E_WORKERS 4

//  What one test started; zjob_e2e_teardown stops all of it
typedef struct {
    char *dir;                       //  The test's temporary directory
    char store [700];                //  zjobd's --store ("file:<dir>/data")
    const char *const *broker_args;  //  Extra zjobd arguments, borrowed
    int timeout_ms;                  //  The client's request timeout
    int deadline_ms;                 //  msecs a process may take to start or end
    int cli_line_ms;                 //  msecs a CLI may print no line
    pid_t broker;                    //  zjobd, 0 if not running
    int broker_out;                  //  Its stdout (the ready line), -1 if none
    char clients [256];              //  Its endpoints, kept across a restart
    char workers [256];
    char events [256];
    pid_t worker [ZJOB_E2E_WORKERS];     //  zjob-workers, 0 if not running
    zjob_client_t *client;               //  Connected to clients, or NULL
    const zjob_connect_opts_t *connect;  //  The client's CURVE options, borrowed; NULL none
    char cli_out [65536];                //  What the last zjob_e2e_cli printed
} zjob_e2e_t;

//  A fresh directory, zjobd started on a file store in it with the
//  NULL-terminated extra arguments broker_args (NULL for none; borrowed,
//  kept for restarts), and self->client connected with timeout_ms. Waits
//  on processes take up to deadline_ms (0: ZJOB_E2E_DEADLINE_MS), and so
//  does each line of a CLI's output (self->cli_line_ms, which a test may
//  raise after the setup for a CLI that watches).
void
zjob_e2e_setup (zjob_e2e_t *self, const char *const *broker_args, int timeout_ms,
                int deadline_ms);

//  As zjob_e2e_setup, but only the directory: a test puts what zjobd needs
//  in it (keys), then calls zjob_e2e_start.
void
zjob_e2e_prepare (zjob_e2e_t *self, const char *const *broker_args, int timeout_ms,
                  int deadline_ms);

//  Start zjobd and connect self->client with connect (NULL: no CURVE;
//  borrowed, and used again by zjob_e2e_restart).
void
zjob_e2e_start (zjob_e2e_t *self, const zjob_connect_opts_t *connect);

//  Stop every process still running, destroy the client, remove the
//  directory (its logs printed first with ZJOB_TEST_VERBOSE). Safe after
//  a failed setup, and twice.
void
zjob_e2e_teardown (zjob_e2e_t *self);

//  dir/name, in a static buffer overwritten by the next call.
const char *
zjob_e2e_path (zjob_e2e_t *self, const char *name);

//  Start zjobd: on ephemeral ports the first time, on the same endpoints
//  after a restart, retrying while the killed broker's ports are not free.
void
zjob_e2e_broker_start (zjob_e2e_t *self);

//  Kill zjobd with SIGKILL and wait for it.
void
zjob_e2e_broker_kill (zjob_e2e_t *self);

//  Destroy the client, kill zjobd, start it again on the same endpoints
//  and connect a new client.
void
zjob_e2e_restart (zjob_e2e_t *self);

//  Start zjob-worker number index (< ZJOB_E2E_WORKERS) for workflow, with
//  the NULL-terminated worker options (NULL for none, e.g. "--slots",
//  "2"), running /bin/sh -c script with the test's directory as $1.
//  Its stderr goes to dir/worker<index>.log.
void
zjob_e2e_worker_start (zjob_e2e_t *self, int index, const char *workflow,
                       const char *const *options, const char *script);

//  Kill worker index with SIGKILL and wait for it.
void
zjob_e2e_worker_kill (zjob_e2e_t *self, int index);

//  Run the zjob CLI on the broker with the NULL-terminated arguments.
//  Returns its exit status; its stdout is in self->cli_out (cut at its
//  size), its stderr appended to dir/cli.log.
int
zjob_e2e_cli (zjob_e2e_t *self, const char *arg, ...);

#endif
