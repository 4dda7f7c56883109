/*  =========================================================================
    zjob_runner - one command run as a child process, for one job

    The runner owns four pipes to the command (stdin, stdout, stderr and
    the progress descriptor) and moves data on them only when asked, with
    non-blocking reads and writes on its own ends: a command that never
    reads its stdin, or writes a flood of progress, cannot hold the worker
    up. Each update reads a bounded amount from each pipe (READS_MAX
    buffers), so one chatty command cannot starve the others that share
    the program's poll loop.

    The exit is seen in two steps: waitid with WNOWAIT says the command has
    exited while it is still a zombie, which keeps its pid, and so its
    process group id, from being reused; the group is then killed (the
    command's leftovers) and only then is the command reaped. After the
    exit, the pipes are read until every writer is gone, which is at once
    unless a process escaped the group with the pipes open (a daemon that
    called setsid): those are given up after ZJOB_RUNNER_DRAIN_MS.

    A job is two forks: the watcher first (zjob_runner.h), then the
    command, which waits on a "go" pipe until the runner has written the
    group id into the watcher's life pipe. The watcher closes every
    descriptor but its own, so that it never holds another job's pipes
    open. Ending it before the command is reaped matters: a watcher that
    outlived the command's zombie could kill a group id since reused.

    The child between fork and exec is in a copy of a multi-threaded
    process (libzmq's I/O threads), so it calls only async-signal-safe
    functions (the watcher, which never execs, too): everything it needs (argv, the environment) is built before
    the fork. It moves its pipe ends above the standard descriptors before
    putting them in place, so the program's own descriptor numbers never
    matter, and marks every other descriptor close-on-exec.
    ========================================================================= */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zjob_job.h"
#include "zjob_log.h"
#include "zjob_util.h"
#include "zjob_runner.h"

#define READ_SIZE 16384  //  bytes read from a pipe at once
#define READS_MAX 8      //  reads of one pipe per update, at most
#define HIGH_FD 10       //  where the child parks its pipe ends
#define IDLE_MS 100      //  msecs between exit checks when no pipe is open

extern char **environ;

struct _zjob_runner_t {
    pid_t pid;        //  The command, leader of its process group
    pid_t watcher;    //  Its watcher (see the banner), 0 once reaped
    int life_fd;      //  Our end of the watcher's life pipe, -1 once closed
    char *command;    //  argv[0], for messages
    int in_fd;        //  Our end of its stdin, -1 once closed
    int out_fd;       //  Our end of its stdout, -1 once closed
    int err_fd;       //  Our end of its stderr, -1 once closed
    int progress_fd;  //  Our end of its progress pipe, -1 once closed

    char *input;  //  Bytes for stdin (a copy), NULL if none
    size_t input_size;
    size_t input_sent;  //  Bytes of input written so far
    char *output;       //  Stdout kept, always NUL-terminated
    size_t output_size;
    size_t output_cap;  //  Bytes allocated at output
    size_t output_max;  //  Bytes of stdout kept at most
    bool overflow;      //  Stdout was longer than output_max

    char tail [ZJOB_RUNNER_TAIL_MAX];  //  The last bytes of stderr
    size_t tail_size;
    bool tail_cut;                           //  Stderr was longer than the tail
    char errors [ZJOB_RUNNER_TAIL_MAX + 1];  //  zjob_runner_errors' text

    char line [ZJOB_RUNNER_LINE_MAX + 1];  //  Progress line being read
    size_t line_size;
    bool line_cut;                             //  The line is longer than kept
    bool line_warned;                          //  A bad line was logged (once per run)
    float progress;                            //  Latest progress, not yet reported
    char message [ZJOB_RUNNER_LINE_MAX + 1];   //  Its message
    bool progress_new;                         //  progress/message wait to be reported
    char reported [ZJOB_RUNNER_LINE_MAX + 1];  //  Message as last reported
    int64_t reported_at;                       //  mono ms of the last report, 0 if none

    int64_t timeout_ms;  //  Run time limit, 0 if none
    int64_t grace_ms;    //  SIGTERM to SIGKILL
    int64_t started_at;  //  mono ms of the start
    int64_t paused_at;   //  mono ms of the pause, while paused
    int64_t paused_ms;   //  Time paused before paused_at
    int64_t kill_at;     //  mono ms to send SIGKILL, 0 if none
    int64_t exited_at;   //  mono ms the exit was seen, 0 while running
    int64_t run_ms;      //  Run time, fixed at the exit
    bool paused;         //  SIGSTOP sent, no SIGCONT since
    bool stopped;        //  zjob_runner_stop or kill was called
    bool timed_out;      //  The run time limit stopped it
    bool exited;         //  Reaped
    int status;          //  Exit status, -1 if signalled
    int signal;          //  Terminating signal, 0 if exited
};

//  --------------------------------------------------------------------------
//  Text

//  Length of the valid UTF-8 sequence at text (len bytes left), 0 if the
//  bytes there are not one
static size_t
s_utf8_length (const unsigned char *text, size_t len)
{
    unsigned char lead = text [0];
    size_t size;
    unsigned char low = 0x80, high = 0xBF;  //  Range of the second byte
    if (lead < 0x80)
        return 1;
    else if (lead >= 0xC2 && lead <= 0xDF)
        size = 2;
    else if (lead >= 0xE0 && lead <= 0xEF) {
        size = 3;
        if (lead == 0xE0)
            low = 0xA0;  //  No overlong forms
        if (lead == 0xED)
            high = 0x9F;  //  No surrogates
    }
    else if (lead >= 0xF0 && lead <= 0xF4) {
        size = 4;
        if (lead == 0xF0)
            low = 0x90;
        if (lead == 0xF4)
            high = 0x8F;  //  Nothing above U+10FFFF
    }
    else
        return 0;
    if (len < size || text [1] < low || text [1] > high)
        return 0;
    for (size_t i = 2; i < size; i++)
        if (text [i] < 0x80 || text [i] > 0xBF)
            return 0;
    return size;
}

size_t
zjob_runner_clean_text (char *buf, size_t size, const char *text, size_t len, bool multiline)
{
    const unsigned char *src = (const unsigned char *) text;
    size_t out = 0;
    if (size == 0)
        return 0;
    for (size_t i = 0; i < len;) {
        size_t n = s_utf8_length (src + i, len - i);
        const char *put = (const char *) src + i;
        size_t put_size = n;
        if (n == 0 || src [i] == 0x7F
            || (n == 2 && src [i] == 0xC2 && src [i + 1] < 0xA0)) {
            put = "?";  //  Not UTF-8, DEL, or a C1 control
            put_size = 1;
            n = n ? n : 1;
        }
        else if (src [i] < 0x20) {
            if (src [i] == '\r') {  //  CRLF endings: keep the LF only
                i++;
                continue;
            }
            put = (src [i] == '\n' || src [i] == '\t') ? (multiline ? put : " ") : "?";
        }
        if (out + put_size > size - 1)
            break;  //  Never cut a character
        memcpy (buf + out, put, put_size);
        out += put_size;
        i += n;
    }
    buf [out] = '\0';
    return out;
}

int
zjob_runner_parse_progress (const char *line, float *progress_p, const char **message_p)
{
    const char *start = line + strspn (line, " \t");
    if (!((*start >= '0' && *start <= '9') || *start == '.'))
        return -1;
    char *end;
    double value = strtod (start, &end);
    if (end == start || !isfinite (value))
        return -1;
    if (*end == '%') {
        value /= 100;
        end++;
    }
    if (*end && *end != ' ' && *end != '\t')
        return -1;  //  "0.5x", "12abc": not a number
    end += strspn (end, " \t");
    *progress_p = value < 0 ? 0 : value > 1 ? 1
                                            : (float) value;
    *message_p = end;
    return 0;
}

//  --------------------------------------------------------------------------
//  Starting

//  The child's environment: ours, less the names that extra and the
//  runner set, then those. A fresh array of borrowed strings.
static char **
s_environment (const char *const *extra)
{
    static const char progress_fd [] = "ZJOB_PROGRESS_FD=3";
    size_t own = 0, more = 0;
    while (environ && environ [own])
        own++;
    while (extra && extra [more])
        more++;
    char **envp = (char **) calloc (own + more + 2, sizeof (char *));
    if (!envp)
        return NULL;
    size_t count = 0;
    for (size_t i = 0; i < own; i++) {
        const char *entry = environ [i];
        const char *equals = strchr (entry, '=');
        size_t name_len = equals ? (size_t) (equals - entry) : strlen (entry);
        bool replaced = strncmp (entry, progress_fd, name_len + 1) == 0;
        for (size_t j = 0; !replaced && j < more; j++)
            replaced = strncmp (entry, extra [j], name_len) == 0 && extra [j][name_len] == '=';
        if (!replaced)
            envp [count++] = (char *) entry;
    }
    for (size_t j = 0; j < more; j++)
        envp [count++] = (char *) extra [j];
    envp [count++] = (char *) progress_fd;
    return envp;
}

//  In the child: become a group leader, wait until the watcher knows the
//  group (a byte on go_fd; end of file means the worker died: give up),
//  take the pipes as descriptors 0 to 3, exec. Only async-signal-safe
//  calls. On failure, errno goes to the parent on exec_fd.
static void
s_child (const int fds [4], int exec_fd, int go_fd [2], pid_t parent, char *const argv [],
         char *const envp [])
{
    setpgid (0, 0);
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    if (getppid () != parent)
        _exit (127);    //  The worker died before prctl
    close (go_fd [1]);  //  Else our own copy would keep the pipe open
    char go;
    ssize_t got;
    while ((got = read (go_fd [0], &go, 1)) < 0 && errno == EINTR)
        ;
    if (got != 1)
        _exit (127);  //  The worker died before the watcher was armed
    close (go_fd [0]);
    //  Default dispositions (SIGPIPE is ignored in the worker) and no mask
    struct sigaction dfl;
    memset (&dfl, 0, sizeof (dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset (&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        sigaction (sig, &dfl, NULL);  //  Fails harmlessly for KILL, STOP...
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);

    int high [4];
    int error_fd = fcntl (exec_fd, F_DUPFD_CLOEXEC, HIGH_FD);
    bool ok = error_fd >= 0;
    for (int i = 0; ok && i < 4; i++)
        ok = (high [i] = fcntl (fds [i], F_DUPFD_CLOEXEC, HIGH_FD)) >= 0;
    for (int i = 0; ok && i < 4; i++)
        ok = dup2 (high [i], i) == i;  //  dup2 clears close-on-exec on i
    if (ok) {
        close_range (ZJOB_RUNNER_PROGRESS_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC);
        execvpe (argv [0], argv, envp);
    }
    int error = errno;
    if (write (error_fd >= 0 ? error_fd : exec_fd, &error, sizeof (error)) < 0)
        _exit (127);
    _exit (127);
}

//  In the watcher, a fork of the worker that never execs: keep nothing but
//  the life pipe, read the job's process group id from it, then wait for
//  its end of file, which comes when the worker has died (the worker kills
//  the watcher before it ends a job, so the end of file never comes from
//  a job that ended normally); then kill the group. Every signal is
//  blocked, so that nothing but SIGKILL (from the runner) ends it early:
//  not a Ctrl-C to the worker's terminal, not a pause of the job. Only
//  async-signal-safe calls.
static void
s_watcher (int life_fd)
{
    sigset_t all;
    sigfillset (&all);
    sigprocmask (SIG_SETMASK, &all, NULL);
    if (life_fd > 0)
        close_range (0, (unsigned) life_fd - 1, 0);
    close_range ((unsigned) life_fd + 1, ~0U, 0);
    pid_t group = 0;
    size_t have = 0;
    while (have < sizeof (group)) {
        ssize_t got = read (life_fd, (char *) &group + have, sizeof (group) - have);
        if (got > 0)
            have += (size_t) got;
        else if (got < 0 && errno == EINTR)
            continue;
        else
            _exit (0);  //  The worker died before it started the job
    }
    char byte;
    ssize_t got;
    while ((got = read (life_fd, &byte, 1)) > 0 || (got < 0 && errno == EINTR))
        ;
    if (group > 1)
        kill (-group, SIGKILL);
    _exit (0);
}

static void
s_close (int *fd_p)
{
    if (*fd_p >= 0) {
        close (*fd_p);
        *fd_p = -1;
    }
}

static void
s_set_nonblocking (int fd)
{
    int flags = fcntl (fd, F_GETFL);
    if (flags >= 0)
        fcntl (fd, F_SETFL, flags | O_NONBLOCK);
}

//  Reap pid, retrying on interrupts; the status, or -1
static int
s_reap (pid_t pid)
{
    int status;
    while (waitpid (pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

//  Writes to a pipe whose reader may be gone: SIGPIPE is blocked meanwhile,
//  and one they raised is taken back, so that a command that exits without
//  reading its stdin (or a watcher killed by someone) is an EPIPE here,
//  not the death of the program
typedef struct {
    sigset_t pipe_set;  //  SIGPIPE alone
    sigset_t old_set;   //  The thread's mask before
    bool was_pending;   //  A SIGPIPE was pending before: not ours
} s_quiet_t;

static void
s_quiet_begin (s_quiet_t *quiet)
{
    sigemptyset (&quiet->pipe_set);
    sigaddset (&quiet->pipe_set, SIGPIPE);
    pthread_sigmask (SIG_BLOCK, &quiet->pipe_set, &quiet->old_set);
    sigset_t pending;
    sigpending (&pending);
    quiet->was_pending = sigismember (&pending, SIGPIPE);
}

static void
s_quiet_end (s_quiet_t *quiet)
{
    if (!quiet->was_pending) {
        struct timespec zero = { 0, 0 };
        while (sigtimedwait (&quiet->pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask (SIG_SETMASK, &quiet->old_set, NULL);
}

//  The job is over: kill and reap its watcher, before the command's zombie
//  is reaped, so that the watcher can never kill a group id reused since
static void
s_watcher_end (zjob_runner_t *self)
{
    if (self->watcher > 0) {
        kill (self->watcher, SIGKILL);
        s_reap (self->watcher);
        self->watcher = 0;
    }
    s_close (&self->life_fd);
}

//  Start the job's watcher (see the banner) with the life pipe, whose
//  write end self keeps. Returns its pid, or -1 with *failed naming the
//  step and *fork_errno its errno.
static pid_t
s_watcher_start (zjob_runner_t *self, const char **failed, int *fork_errno)
{
    int life [2];
    pid_t watcher = -1;
    *failed = "pipe";
    if (pipe2 (life, O_CLOEXEC) == 0) {
        *failed = "fork";
        watcher = fork ();
        if (watcher == 0)
            s_watcher (life [0]);
        *fork_errno = errno;
        close (life [0]);
        if (watcher > 0) {
            self->watcher = watcher;
            self->life_fd = life [1];
        }
        else
            close (life [1]);
    }
    else
        *fork_errno = errno;
    return watcher;
}

//  After the fork: close the child's ends of pipes (see zjob_runner_new)
//  and keep ours, non-blocking: the command's stdin, stdout, stderr and
//  progress. The exec pipe's read end and the go pipe's write end stay
//  open for s_release.
static void
s_keep_ends (zjob_runner_t *self, int pipes [6][2])
{
    close (pipes [0][0]);
    close (pipes [1][1]);
    close (pipes [2][1]);
    close (pipes [3][1]);
    close (pipes [4][1]);
    close (pipes [5][0]);
    self->in_fd = pipes [0][1];
    self->out_fd = pipes [1][0];
    self->err_fd = pipes [2][0];
    self->progress_fd = pipes [3][0];
    s_set_nonblocking (self->in_fd);
    s_set_nonblocking (self->out_fd);
    s_set_nonblocking (self->err_fd);
    s_set_nonblocking (self->progress_fd);
}

//  Arm the watcher with the group of pid, then let the command go through
//  go_fd: it runs only once the watcher can kill its group (the pipe holds
//  the bytes even if the watcher has not read them yet). Then wait for the
//  exec on exec_fd. Closes both. Returns 0, or -1 with err filled (the
//  command and the watcher are then reaped).
static int
s_release (zjob_runner_t *self, pid_t pid, int go_fd, int exec_fd, const char *command,
           zjob_error_t *err)
{
    s_quiet_t quiet;
    s_quiet_begin (&quiet);
    bool armed = write (self->life_fd, &pid, sizeof (pid)) == (ssize_t) sizeof (pid);
    char go = 1;
    //  A command already gone (EPIPE) cannot take the byte: its exit says why
    if (armed)
        armed = write (go_fd, &go, 1) == 1 || errno == EPIPE;
    s_quiet_end (&quiet);
    close (go_fd);  //  End of file without the byte: it gives up

    //  Wait for the exec: end of file on the exec pipe means it happened
    int child_errno = 0;
    ssize_t got;
    do
        got = read (exec_fd, &child_errno, sizeof (child_errno));
    while (got < 0 && errno == EINTR);
    close (exec_fd);
    if (got > 0 || !armed) {
        s_watcher_end (self);
        s_reap (pid);
        self->exited = true;  //  Nothing to kill in destroy
        if (got > 0)
            zjob_error_set (err, ZJOB_BAD_REQUEST, "cannot execute \"%s\": %s", command,
                            got == sizeof (child_errno) ? strerror (child_errno) : "unknown error");
        else
            zjob_error_set (err, ZJOB_INTERNAL, "cannot start \"%s\": its watcher is gone",
                            command);
        return -1;
    }
    return 0;
}

zjob_runner_t *
zjob_runner_new (const zjob_runner_config_t *config, zjob_error_t *err)
{
    if (!config || !config->argv || !config->argv [0] || !*config->argv [0]) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "no command given");
        return NULL;
    }
    zjob_runner_t *self = (zjob_runner_t *) zmalloc (sizeof (zjob_runner_t));
    if (!self) {
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    self->in_fd = self->out_fd = self->err_fd = self->progress_fd = self->life_fd = -1;
    self->status = -1;
    self->output_max = config->output_max ? config->output_max : ZJOB_DATA_MAX;
    self->timeout_ms = config->timeout_ms > 0 ? config->timeout_ms : 0;
    self->grace_ms = config->grace_ms > 0 ? config->grace_ms : 0;
    self->command = strdup (config->argv [0]);
    self->output_cap = 4096;
    self->output = (char *) malloc (self->output_cap);
    if (config->input && config->input_size) {
        self->input = (char *) malloc (config->input_size);
        if (self->input) {
            memcpy (self->input, config->input, config->input_size);
            self->input_size = config->input_size;
        }
    }
    char **envp = s_environment (config->env);
    if (!self->command || !self->output || !envp
        || (config->input_size && config->input && !self->input)) {
        free (envp);
        zjob_runner_destroy (&self);
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    self->output [0] = '\0';

    //  The watcher first, with the life pipe: whatever starts later is
    //  covered by it (see the banner)
    pid_t parent = getpid ();
    const char *failed = "pipe";
    int fork_errno = 0;
    pid_t watcher = s_watcher_start (self, &failed, &fork_errno);

    //  pipes [i]: [0] read end, [1] write end; the child gets one end of
    //  each of stdin, stdout, stderr and progress, the exec pipe's write
    //  end, and the go pipe's read end
    int pipes [6][2];
    int made = 0;
    for (; watcher > 0 && made < 6; made++)
        if (pipe2 (pipes [made], O_CLOEXEC) != 0) {
            failed = "pipe";
            fork_errno = errno;
            break;
        }
    pid_t pid = -1;
    if (made == 6) {
        int child_fds [4] = { pipes [0][0], pipes [1][1], pipes [2][1], pipes [3][1] };
        pid = fork ();
        if (pid == 0)
            s_child (child_fds, pipes [4][1], pipes [5], parent, (char *const *) config->argv,
                     envp);
        fork_errno = errno;
    }
    free (envp);
    if (pid < 0) {
        for (int i = 0; i < made; i++) {
            close (pipes [i][0]);
            close (pipes [i][1]);
        }
        zjob_runner_destroy (&self);
        zjob_error_set (err, ZJOB_INTERNAL, "cannot start \"%s\": %s: %s", config->argv [0],
                        failed, strerror (fork_errno));
        return NULL;
    }
    //  Both sides set the group, so it exists whichever runs first
    setpgid (pid, pid);
    self->pid = pid;
    self->started_at = zjob_mono_ms ();
    s_keep_ends (self, pipes);

    if (s_release (self, pid, pipes [5][1], pipes [4][0], config->argv [0], err)) {
        zjob_runner_destroy (&self);
        return NULL;
    }
    if (self->input_size == 0)
        s_close (&self->in_fd);
    return self;
}

void
zjob_runner_destroy (zjob_runner_t **self_p)
{
    if (self_p && *self_p) {
        zjob_runner_t *self = *self_p;
        if (self->pid > 0 && !self->exited) {
            kill (-self->pid, SIGKILL);
            kill (self->pid, SIGKILL);  //  Should the group not exist yet
            s_watcher_end (self);       //  Before the reap frees the group id
            s_reap (self->pid);
        }
        s_watcher_end (self);
        s_close (&self->in_fd);
        s_close (&self->out_fd);
        s_close (&self->err_fd);
        s_close (&self->progress_fd);
        free (self->command);
        free (self->input);
        free (self->output);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Moving data

static void s_write_some (zjob_runner_t *self);

//  Write what the pipe takes of the input. See s_quiet_begin.
static void
s_write_input (zjob_runner_t *self)
{
    if (self->in_fd < 0)
        return;
    s_quiet_t quiet;
    s_quiet_begin (&quiet);
    s_write_some (self);
    s_quiet_end (&quiet);
}

static void
s_write_some (zjob_runner_t *self)
{
    while (self->in_fd >= 0 && self->input_sent < self->input_size) {
        ssize_t sent = write (self->in_fd, self->input + self->input_sent,
                              self->input_size - self->input_sent);
        if (sent > 0)
            self->input_sent += (size_t) sent;
        else if (sent < 0 && errno == EINTR)
            continue;
        else if (sent < 0 && errno == EAGAIN)
            return;  //  The pipe is full: the command is busy
        else
            break;  //  EPIPE: the command closed its stdin
    }
    s_close (&self->in_fd);
}

static void
s_keep_output (zjob_runner_t *self, const char *data, size_t size)
{
    if (self->overflow || self->output_size + size > self->output_max) {
        self->overflow = true;
        return;
    }
    if (self->output_size + size + 1 > self->output_cap) {
        size_t cap = self->output_cap;
        while (cap < self->output_size + size + 1)
            cap *= 2;
        char *output = (char *) realloc (self->output, cap);
        if (!output) {
            self->overflow = true;  //  Out of memory: as good as too long
            return;
        }
        self->output = output;
        self->output_cap = cap;
    }
    memcpy (self->output + self->output_size, data, size);
    self->output_size += size;
    self->output [self->output_size] = '\0';
}

static void
s_keep_tail (zjob_runner_t *self, const char *data, size_t size)
{
    if (size >= ZJOB_RUNNER_TAIL_MAX) {
        self->tail_cut = true;
        memcpy (self->tail, data + size - ZJOB_RUNNER_TAIL_MAX, ZJOB_RUNNER_TAIL_MAX);
        self->tail_size = ZJOB_RUNNER_TAIL_MAX;
        return;
    }
    if (self->tail_size + size > ZJOB_RUNNER_TAIL_MAX) {
        size_t drop = self->tail_size + size - ZJOB_RUNNER_TAIL_MAX;
        memmove (self->tail, self->tail + drop, self->tail_size - drop);
        self->tail_size -= drop;
        self->tail_cut = true;
    }
    memcpy (self->tail + self->tail_size, data, size);
    self->tail_size += size;
}

//  One complete progress line is in self->line
static void
s_progress_line (zjob_runner_t *self)
{
    self->line [self->line_size] = '\0';
    float progress;
    const char *message;
    if (zjob_runner_parse_progress (self->line, &progress, &message) == 0) {
        self->progress = progress;
        zjob_runner_clean_text (self->message, sizeof (self->message), message,
                                strlen (message), false);
        self->progress_new = true;
    }
    else if (!self->line_warned && self->line [strspn (self->line, " \t\r")]) {
        char shown [80];
        zjob_runner_clean_text (shown, sizeof (shown), self->line, self->line_size, false);
        zjob_log_warning ("zjob_runner: %s (pid %d): progress line not understood, expected "
                          "\"FRACTION [MESSAGE]\": \"%s\"",
                          self->command, (int) self->pid, shown);
        self->line_warned = true;
    }
    self->line_size = 0;
    self->line_cut = false;
}

static void
s_keep_progress (zjob_runner_t *self, const char *data, size_t size)
{
    while (size) {
        const char *newline = (const char *) memchr (data, '\n', size);
        size_t part = newline ? (size_t) (newline - data) : size;
        size_t room = ZJOB_RUNNER_LINE_MAX - self->line_size;
        if (part > room)
            self->line_cut = true;  //  The rest of a long line is dropped
        size_t take = part < room ? part : room;
        memcpy (self->line + self->line_size, data, take);
        self->line_size += take;
        if (!newline)
            break;
        s_progress_line (self);
        data = newline + 1;
        size -= part + 1;
    }
}

//  Read what is ready on *fd_p into keep; close it at end of file
static void
s_read_pipe (zjob_runner_t *self, int *fd_p,
             void (*keep) (zjob_runner_t *, const char *, size_t))
{
    char buffer [READ_SIZE];
    for (int reads = 0; *fd_p >= 0 && reads < READS_MAX; reads++) {
        ssize_t got = read (*fd_p, buffer, sizeof (buffer));
        if (got > 0)
            keep (self, buffer, (size_t) got);
        else if (got < 0 && errno == EINTR)
            continue;
        else if (got < 0 && errno == EAGAIN)
            return;
        else {
            if (fd_p == &self->progress_fd && self->line_size)
                s_progress_line (self);  //  A last line without its newline
            s_close (fd_p);
        }
    }
}

//  --------------------------------------------------------------------------
//  Exit and timers

static void
s_check_exit (zjob_runner_t *self)
{
    if (self->exited)
        return;
    siginfo_t info;
    memset (&info, 0, sizeof (info));
    int rc = waitid (P_PID, (id_t) self->pid, &info, WEXITED | WNOHANG | WNOWAIT);
    if (rc == 0 && info.si_pid != self->pid)
        return;  //  Still running
    int status = -1;
    if (rc == 0) {
        //  A zombie keeps its pid, so the group is still ours to kill
        kill (-self->pid, SIGKILL);
        s_watcher_end (self);
        status = s_reap (self->pid);
    }
    else if (errno == EINTR)
        return;
    //  (ECHILD: reaped by someone else; the outcome is unknown)
    s_watcher_end (self);
    self->run_ms = zjob_runner_run_ms (self);
    self->exited = true;
    self->exited_at = zjob_mono_ms ();
    self->paused = false;
    if (status != -1 && WIFEXITED (status))
        self->status = WEXITSTATUS (status);
    else if (status != -1 && WIFSIGNALED (status))
        self->signal = WTERMSIG (status);
    s_close (&self->in_fd);  //  Nobody reads it any more
}

static void
s_timers (zjob_runner_t *self)
{
    int64_t now = zjob_mono_ms ();
    if (!self->exited) {
        if (self->kill_at && now >= self->kill_at) {
            kill (-self->pid, SIGKILL);
            self->kill_at = 0;
        }
        if (self->timeout_ms && !self->stopped && !self->paused
            && zjob_runner_run_ms (self) >= self->timeout_ms) {
            self->timed_out = true;
            zjob_runner_stop (self);
        }
    }
    else if (now >= self->exited_at + ZJOB_RUNNER_DRAIN_MS) {
        //  Someone outside the group holds the pipes: stop waiting
        s_close (&self->out_fd);
        s_close (&self->err_fd);
        s_close (&self->progress_fd);
    }
}

void
zjob_runner_update (zjob_runner_t *self)
{
    s_write_input (self);
    s_read_pipe (self, &self->out_fd, s_keep_output);
    s_read_pipe (self, &self->err_fd, s_keep_tail);
    s_read_pipe (self, &self->progress_fd, s_keep_progress);
    s_check_exit (self);
    if (self->exited) {
        //  Take what the command wrote last, before its exit was seen
        s_read_pipe (self, &self->out_fd, s_keep_output);
        s_read_pipe (self, &self->err_fd, s_keep_tail);
        s_read_pipe (self, &self->progress_fd, s_keep_progress);
    }
    s_timers (self);
}

size_t
zjob_runner_pollitems (zjob_runner_t *self, zmq_pollitem_t *items, size_t max)
{
    size_t count = 0;
    int fds [4] = { self->in_fd, self->out_fd, self->err_fd, self->progress_fd };
    for (int i = 0; i < 4 && count < max; i++)
        if (fds [i] >= 0) {
            items [count].socket = NULL;
            items [count].fd = fds [i];
            items [count].events = i == 0 ? ZMQ_POLLOUT : ZMQ_POLLIN;
            items [count].revents = 0;
            count++;
        }
    return count;
}

int
zjob_runner_timeout (zjob_runner_t *self)
{
    int64_t now = zjob_mono_ms ();
    int64_t due = INT64_MAX;
    if (!self->exited) {
        if (self->kill_at && self->kill_at < due)
            due = self->kill_at;
        if (self->timeout_ms && !self->stopped && !self->paused) {
            int64_t limit = now + self->timeout_ms - zjob_runner_run_ms (self);
            if (limit < due)
                due = limit;
        }
        if (self->progress_new && self->reported_at + ZJOB_RUNNER_PROGRESS_MS < due)
            due = self->reported_at + ZJOB_RUNNER_PROGRESS_MS;
        if (self->in_fd < 0 && self->out_fd < 0 && self->err_fd < 0 && self->progress_fd < 0
            && now + IDLE_MS < due)
            due = now + IDLE_MS;  //  Only the exit is left to see
    }
    else if (self->out_fd >= 0 || self->err_fd >= 0 || self->progress_fd >= 0)
        due = self->exited_at + ZJOB_RUNNER_DRAIN_MS;
    else if (self->progress_new)
        due = now;  //  Finished: the last report is due at once
    if (due == INT64_MAX)
        return -1;
    return due > now ? (int) (due - now) : 0;
}

bool
zjob_runner_progress (zjob_runner_t *self, float *progress_p, const char **message_p)
{
    if (!self->progress_new)
        return false;
    //  Throttled while the pipes may bring more; once the outcome is final
    //  the last line is due at once, so that it goes before the result
    int64_t now = zjob_mono_ms ();
    if (!zjob_runner_finished (self)
        && self->reported_at && now < self->reported_at + ZJOB_RUNNER_PROGRESS_MS)
        return false;
    self->reported_at = now;
    self->progress_new = false;
    memcpy (self->reported, self->message, sizeof (self->reported));
    *progress_p = self->progress;
    *message_p = *self->reported ? self->reported : NULL;
    return true;
}

//  --------------------------------------------------------------------------
//  Signals

int
zjob_runner_pause (zjob_runner_t *self)
{
    if (self->exited)
        return -1;
    kill (-self->pid, SIGSTOP);
    if (!self->paused) {
        self->paused = true;
        self->paused_at = zjob_mono_ms ();
    }
    return 0;
}

int
zjob_runner_resume (zjob_runner_t *self)
{
    if (self->exited)
        return -1;
    kill (-self->pid, SIGCONT);
    if (self->paused) {
        self->paused_ms += zjob_mono_ms () - self->paused_at;
        self->paused = false;
    }
    return 0;
}

int
zjob_runner_stop (zjob_runner_t *self)
{
    if (self->exited)
        return -1;
    if (self->stopped)
        return 0;
    self->stopped = true;
    if (self->grace_ms == 0)
        return zjob_runner_kill (self);
    kill (-self->pid, SIGTERM);
    if (self->paused)
        zjob_runner_resume (self);  //  A stopped process sees SIGTERM only then
    self->kill_at = zjob_mono_ms () + self->grace_ms;
    return 0;
}

int
zjob_runner_kill (zjob_runner_t *self)
{
    if (self->exited)
        return -1;
    self->stopped = true;
    kill (-self->pid, SIGKILL);
    self->kill_at = 0;
    return 0;
}

//  --------------------------------------------------------------------------
//  Outcome

bool
zjob_runner_finished (zjob_runner_t *self)
{
    return self->exited && self->out_fd < 0 && self->err_fd < 0 && self->progress_fd < 0;
}

pid_t
zjob_runner_pid (zjob_runner_t *self)
{
    return self->pid;
}

bool
zjob_runner_paused (zjob_runner_t *self)
{
    return self->paused;
}

int
zjob_runner_exit_status (zjob_runner_t *self)
{
    return self->exited ? self->status : -1;
}

int
zjob_runner_signal (zjob_runner_t *self)
{
    return self->exited ? self->signal : 0;
}

bool
zjob_runner_timed_out (zjob_runner_t *self)
{
    return self->timed_out;
}

bool
zjob_runner_stopped (zjob_runner_t *self)
{
    return self->stopped;
}

int64_t
zjob_runner_run_ms (zjob_runner_t *self)
{
    if (self->exited)
        return self->run_ms;
    int64_t now = zjob_mono_ms ();
    return now - self->started_at - self->paused_ms - (self->paused ? now - self->paused_at : 0);
}

const char *
zjob_runner_output (zjob_runner_t *self, size_t *size_p)
{
    if (size_p)
        *size_p = self->output_size;
    return self->output;
}

bool
zjob_runner_overflow (zjob_runner_t *self)
{
    return self->overflow;
}

const char *
zjob_runner_errors (zjob_runner_t *self)
{
    const char *text = self->tail;
    size_t len = self->tail_size;
    if (self->tail_cut)  //  Do not start inside a character
        for (int i = 0; i < 3 && len && ((unsigned char) *text & 0xC0) == 0x80; i++) {
            text++;
            len--;
        }
    while (len && *text && strchr (" \t\r\n", *text)) {
        text++;
        len--;
    }
    while (len && text [len - 1] && strchr (" \t\r\n", text [len - 1]))
        len--;
    zjob_runner_clean_text (self->errors, sizeof (self->errors), text, len, true);
    return self->errors;
}
