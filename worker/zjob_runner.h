/*  =========================================================================
    zjob_runner - one command run as a child process, for one job

    zjob-worker runs a command per job; this module is the child process
    part, kept apart from the broker conversation so that it can be tested
    on its own. A runner starts the command in its own process group, feeds
    it the job's inputs on stdin, collects its stdout, keeps the tail of its
    stderr, reads progress lines from a third pipe, and signals the group
    to pause, resume or stop it. It never blocks: the program polls the
    runner's pipes (zjob_runner_pollitems) next to its own sockets, and
    calls zjob_runner_update when a pipe is ready, on SIGCHLD, or when
    zjob_runner_timeout has run out.

    The command sees:
        stdin       the input bytes, then end of file (written as the
                    command reads them, so one that never reads does not
                    hold anything up)
        stdout      collected, up to output_max bytes
        stderr      the last ZJOB_RUNNER_TAIL_MAX bytes are kept
        fd 3        ZJOB_RUNNER_PROGRESS_FD, write-only: progress lines
                    "FRACTION [MESSAGE]", FRACTION a number from 0 to 1
                    ("0.4 resizing") or a percentage ("40% resizing")
        ZJOB_PROGRESS_FD=3 in its environment, with the entries of env

    Process group. The command leads a new process group, and every signal
    goes to the whole group, so a shell script's children are paused and
    stopped with it. When the command exits, whatever it left running in
    its group is killed, before the command is reaped (so the group id
    cannot have been reused by then): a job ends with all its processes.

    Nothing outlives a worker that is killed, even by SIGKILL. The command
    asks the kernel for SIGKILL when its parent dies (PR_SET_PDEATHSIG),
    but that reaches only the command, not what it started. So each job
    also has a watcher: a small process forked from the worker (it never
    execs, and sits outside the job's group, so a pause does not stop it)
    that holds the read end of a pipe whose only writer is the worker.
    When the worker dies, by any means, the kernel closes the pipe and the
    watcher kills the job's whole process group (SIGKILL). The command
    execs only once its watcher knows the group, so there is no moment in
    which a job runs unwatched. When a job ends normally, the runner kills
    and reaps the watcher before it reaps the command.

    Start-up is checked: the command is exec'd behind a close-on-exec pipe
    on which the child writes errno if exec fails, so zjob_runner_new knows
    whether the command runs (as posix_spawn does, it waits for the exec).
    ========================================================================= */

#ifndef ZJOB_RUNNER_H_INCLUDED
#define ZJOB_RUNNER_H_INCLUDED

#include <czmq.h>
#include <sys/types.h>
#include "zjob_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_RUNNER_PROGRESS_FD 3    //  the command's descriptor for progress lines
#define ZJOB_RUNNER_POLLITEMS 4      //  pollitems one runner needs, at most
#define ZJOB_RUNNER_TAIL_MAX 1024    //  bytes of stderr kept, the last ones
#define ZJOB_RUNNER_LINE_MAX 1000    //  bytes of a progress line kept; more is cut
#define ZJOB_RUNNER_PROGRESS_MS 100  //  msecs between two progress reports, at least
#define ZJOB_RUNNER_DRAIN_MS 1000    //  msecs the pipes may stay open after the exit

typedef struct _zjob_runner_t zjob_runner_t;

//  What to run and how. Strings are borrowed: the runner copies what it
//  keeps.
typedef struct {
    const char *const *argv;  //  Command and arguments, NULL-terminated;
                              //  argv[0] is looked up in PATH
    const char *const *env;   //  "NAME=value" entries set on top of the
                              //  environment, NULL-terminated; may be NULL
    const void *input;        //  Bytes for stdin, then end of file; may be NULL
    size_t input_size;
    size_t output_max;   //  Bytes of stdout kept (0: ZJOB_DATA_MAX); more
                         //  is read and dropped, and flagged as overflow
    int64_t timeout_ms;  //  Run time (paused time excluded) after which
                         //  the command is stopped; 0 = no limit
    int64_t grace_ms;    //  msecs from SIGTERM to SIGKILL when stopping
} zjob_runner_config_t;

//  Start the command. Returns the runner, or NULL with err filled:
//  ZJOB_BAD_REQUEST when the command cannot be executed ("cannot execute
//  \"cmd\": No such file or directory"), ZJOB_INTERNAL when the worker
//  lacks a resource (pipes, fork).
zjob_runner_t *
zjob_runner_new (const zjob_runner_config_t *config, zjob_error_t *err);

//  Destroy the runner. A command still running is killed with its process
//  group (SIGKILL) and reaped first, and the watcher with it: destroying a
//  runner leaves no process behind. Accepts NULL; sets *self_p to NULL.
void
zjob_runner_destroy (zjob_runner_t **self_p);

//  Write into items (room for max) the pipes to poll, as POLLIN or POLLOUT
//  items on file descriptors. Returns the number written, at most
//  ZJOB_RUNNER_POLLITEMS; 0 once every pipe is closed.
size_t
zjob_runner_pollitems (zjob_runner_t *self, zmq_pollitem_t *items, size_t max);

//  Msecs until the runner has a timer due (SIGKILL after the grace, the
//  run time limit, a throttled progress report, the end of draining), 0 if
//  one is due now, -1 if none.
int
zjob_runner_timeout (zjob_runner_t *self);

//  Move what is ready on the pipes, without blocking; notice the exit of
//  the command; run the timers that are due. Calling it more often than
//  needed is harmless.
void
zjob_runner_update (zjob_runner_t *self);

//  True, with the latest progress the command reported, when a report is
//  due: at most one per ZJOB_RUNNER_PROGRESS_MS, the last line winning.
//  *message_p is NULL or a string borrowed until the next call. Once the
//  runner is finished (zjob_runner_finished), a report still waiting is
//  due at once: a program that asks for progress before it reports the
//  outcome never loses a line the command wrote before it exited.
bool
zjob_runner_progress (zjob_runner_t *self, float *progress_p, const char **message_p);

//  Signal the process group: SIGSTOP, SIGCONT. Each returns 0, or -1 if
//  the command has already exited.
int
zjob_runner_pause (zjob_runner_t *self);
int
zjob_runner_resume (zjob_runner_t *self);

//  Stop the command: SIGTERM (and SIGCONT, so that a paused group sees
//  it), then SIGKILL if it is still there grace_ms later. 0, or -1 if the
//  command has already exited. Calling it again does not restart the grace.
int
zjob_runner_stop (zjob_runner_t *self);

//  Kill the command's process group now (SIGKILL). 0, or -1 if exited.
int
zjob_runner_kill (zjob_runner_t *self);

//  True once the command has exited and its pipes are closed (or were
//  given up ZJOB_RUNNER_DRAIN_MS after the exit): the outcome is final.
bool
zjob_runner_finished (zjob_runner_t *self);

//  The command's pid, which is also its process group id.
pid_t
zjob_runner_pid (zjob_runner_t *self);

//  True while the group is paused by zjob_runner_pause.
bool
zjob_runner_paused (zjob_runner_t *self);

//  The outcome, once finished: the exit status (-1 if a signal ended the
//  command), the signal that ended it (0 if it exited), whether the run
//  time limit stopped it, whether stop or kill was called.
int
zjob_runner_exit_status (zjob_runner_t *self);
int
zjob_runner_signal (zjob_runner_t *self);
bool
zjob_runner_timed_out (zjob_runner_t *self);
bool
zjob_runner_stopped (zjob_runner_t *self);

//  Msecs the command ran, paused time excluded (up to now if running).
int64_t
zjob_runner_run_ms (zjob_runner_t *self);

//  Stdout as collected: *size_p bytes, followed by a NUL not counted.
//  Borrowed. zjob_runner_overflow is true if there was more than
//  output_max bytes (the bytes beyond were dropped).
const char *
zjob_runner_output (zjob_runner_t *self, size_t *size_p);
bool
zjob_runner_overflow (zjob_runner_t *self);

//  The last bytes of stderr (ZJOB_RUNNER_TAIL_MAX at most) as printable
//  UTF-8 text: trimmed, with bytes that are not valid UTF-8 or are control
//  characters other than newline and tab shown as '?'. "" if none.
//  Borrowed until the next call.
const char *
zjob_runner_errors (zjob_runner_t *self);

//  Parse one progress line ("0.4 message", "40% message", "1"). Returns 0
//  with *progress_p in 0..1 (clamped) and *message_p pointing into line at
//  the message ("" if none), or -1 if the line does not start with a
//  number. line is not modified.
int
zjob_runner_parse_progress (const char *line, float *progress_p, const char **message_p);

//  Copy up to size - 1 bytes of text (len bytes) into buf as printable
//  UTF-8 (as zjob_runner_errors), never cutting a character; with
//  multiline false, newlines and tabs become spaces too. Returns the
//  bytes written (buf is NUL-terminated).
size_t
zjob_runner_clean_text (char *buf, size_t size, const char *text, size_t len,
                        bool multiline);

#ifdef __cplusplus
}
#endif

#endif
