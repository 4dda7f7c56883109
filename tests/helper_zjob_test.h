/*  =========================================================================
    helper_zjob_test - utilities shared by the integration tests

    Temporary directories, deadlines, child processes, and speaking the
    zjob protocol over raw DEALER sockets through the proto codec. Every
    wait takes a deadline in milliseconds and gives up when it passes, so
    a broken broker fails a test instead of hanging it.
    ========================================================================= */

#ifndef HELPER_ZJOB_TEST_H_INCLUDED
#define HELPER_ZJOB_TEST_H_INCLUDED

#include <czmq.h>
#include <sys/types.h>
#include "zjob_proto.h"
#include "zjob_broker.h"

//  A fresh directory under $ZJOB_TEST_TMP (or /tmp); the caller frees the
//  path with free() after removing the tree with zjob_test_rmtree.
char *
zjob_test_tmpdir (void);

//  Remove path and everything under it. Accepts NULL.
void
zjob_test_rmtree (const char *path);

//  A test is done with the directory *dir_p: with ZJOB_TEST_VERBOSE set
//  in the environment, print the logs in it (files named *.log) on
//  stderr first; then remove it, free the path and set *dir_p to NULL.
//  Accepts NULL.
void
zjob_test_tmpdir_done (char **dir_p);

//  Stop the child *pid_p, if any (> 0): send it signal, wait for it
//  (timeout_ms, then SIGKILL), and set *pid_p to 0.
void
zjob_test_stop (pid_t *pid_p, int signal, int timeout_ms);

//  A DEALER with the protocol's socket options, connected to endpoint.
zsock_t *
zjob_test_dealer (const char *endpoint);

//  Send the frame (destroyed) on sock. Returns 0 or -1.
int
zjob_test_send (zsock_t *sock, zframe_t **frame_p);

//  Receive one message on sock within timeout_ms and decode it for route.
//  Returns it (it owns its frame), or NULL on timeout or a decode error.
zjob_msg_t *
zjob_test_recv (zsock_t *sock, zjob_route_t route, int timeout_ms);

//  As zjob_test_recv, skipping messages until one with command cmd.
zjob_msg_t *
zjob_test_expect (zsock_t *sock, zjob_route_t route, zjob_cmd_t cmd, int timeout_ms);

//  Send a request built in builder (zjob_msg_begin ... fields) and wait
//  for the reply with the same request id (timeout_ms). Returns the reply.
zjob_msg_t *
zjob_test_call (zsock_t *sock, zjob_msg_builder_t *builder, int timeout_ms);

//  SUBMIT one job of workflow at priority (a name, NULL for the default)
//  with key as idempotency key (NULL for none). Returns the new job's id
//  (freshly allocated), or NULL if the broker refused.
char *
zjob_test_submit (zsock_t *client, const char *workflow, const char *priority,
                  const char *key);

//  GET a job: a new job (destroy it), or NULL if unknown or on timeout.
zjob_job_t *
zjob_test_get (zsock_t *client, const char *id);

//  Start a child process running argv (argv[0] a path) with its stdout on
//  a pipe (*stdout_fd, the read end; -1 if not wanted). Returns the pid,
//  or -1.
pid_t
zjob_test_spawn (char *const argv [], int *stdout_fd);

//  As zjob_test_spawn, with the child's stderr appended to stderr_path
//  (NULL: inherited), and the child killed by the kernel (SIGKILL) if the
//  test process dies first, so no process outlives a crashed test.
pid_t
zjob_test_spawn_with (char *const argv [], int *stdout_fd, const char *stderr_path);

//  Read one line (without its newline) from fd within timeout_ms; a fresh
//  string, or NULL on timeout or end of file.
char *
zjob_test_read_line (int fd, int timeout_ms);

//  Wait for child pid to exit within timeout_ms. Returns its exit status
//  (0..255), 128 + signal if killed, or -1 on timeout (the child is then
//  killed with SIGKILL and reaped).
int
zjob_test_wait_exit (pid_t pid, int timeout_ms);

//  A broker actor run in the test's own process, and its bound endpoints
typedef struct {
    zactor_t *actor;
    char *clients;
    char *workers;
    char *events;
} zjob_test_broker_t;

//  Start a broker on store (heartbeat 100 ms, log level error) on
//  ephemeral ports of 127.0.0.1, or on the endpoints of like (a stopped
//  broker's) if given, retrying for up to 5 s while the kernel frees them.
//  Returns 0, or -1 with err filled.
int
zjob_test_broker_start (zjob_test_broker_t *broker, const char *store,
                        const zjob_test_broker_t *like, zjob_error_t *err);

//  The same, with more configuration: count (name, value) pairs, set
//  after the ones above (so they can override them).
int
zjob_test_broker_start_with (zjob_test_broker_t *broker, const char *store,
                             const zjob_test_broker_t *like,
                             const char *const (*options) [2], size_t count,
                             zjob_error_t *err);

//  Stop the broker and free its endpoints; safe twice.
void
zjob_test_broker_stop (zjob_test_broker_t *broker);

//  The state letter of pid in /proc ('R', 'S', 'T', 'Z'...), 0 if gone.
char
zjob_test_proc_state (pid_t pid);

//  True if pid is stopped: in state T, or blocked (D) in a vfork whose
//  child is stopped. A shell vforks to run a command, and a SIGSTOP to the
//  group that lands between the vfork and the exec stops the child and
//  leaves the shell waiting for it, in D, for as long as the pause lasts.
bool
zjob_test_proc_stopped (pid_t pid);

//  Wait up to timeout_ms until pid is stopped (with stopped) or runs (with
//  !stopped). Polls /proc, which has no event to wait on. True if so.
bool
zjob_test_wait_stopped (pid_t pid, bool stopped, int timeout_ms);

//  Wait up to timeout_ms until pid is gone, or a zombie nobody here will
//  reap. True if so.
bool
zjob_test_wait_gone (pid_t pid, int timeout_ms);

#endif
