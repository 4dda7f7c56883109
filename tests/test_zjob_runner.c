/*  =========================================================================
    test_zjob_runner - a command per job as a child process

    Real commands (/bin/sh snippets, sleep, cat) run under a runner, driven
    by the same poll-and-update loop zjob-worker uses. The tests check what
    the command receives (stdin, environment, descriptor 3) and what comes
    back (stdout, the stderr tail, the exit), and that signals reach the
    whole process group: a paused command is really stopped (state 'T' in
    /proc), a stopped one is gone, and nothing outlives the runner.
    ========================================================================= */

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zjob_runner.h"
#include "zjob_util.h"
#include "helper_zjob_test.h"

#define DEADLINE_MS 5000  //  msecs any expected thing may take

//  --------------------------------------------------------------------------
//  Helpers

//  A runner for argv with input and the rest of the config as given
static zjob_runner_t *
s_start (const char *const *argv, const char *input, int64_t timeout_ms, int64_t grace_ms)
{
    zjob_runner_config_t config = {
        .argv = argv, .input = input, .input_size = input ? strlen (input) : 0, .timeout_ms = timeout_ms, .grace_ms = grace_ms
    };
    zjob_error_t err;
    zjob_runner_t *runner = zjob_runner_new (&config, &err);
    cr_assert_not_null (runner, "runner: %s", err.text);
    return runner;
}

//  One pass of the loop zjob-worker runs: poll the pipes (at most 10 ms:
//  this test has no SIGCHLD handler), then update
static void
s_pass (zjob_runner_t *runner)
{
    zmq_pollitem_t items [ZJOB_RUNNER_POLLITEMS];
    size_t count = zjob_runner_pollitems (runner, items, ZJOB_RUNNER_POLLITEMS);
    int wait = zjob_runner_timeout (runner);
    if (wait < 0 || wait > 10)
        wait = 10;
    zmq_poll (items, (int) count, wait);
    zjob_runner_update (runner);
}

//  Run passes until the command is finished; false at the deadline
static bool
s_finish (zjob_runner_t *runner, int timeout_ms)
{
    int64_t deadline = zjob_mono_ms () + timeout_ms;
    while (!zjob_runner_finished (runner) && zjob_mono_ms () < deadline)
        s_pass (runner);
    return zjob_runner_finished (runner);
}

//  --------------------------------------------------------------------------
//  Text helpers

Test (runner, parse_progress_reads_fraction_or_percentage)
{
    float progress;
    const char *message;
    cr_assert_eq (zjob_runner_parse_progress ("0.4 resizing image", &progress, &message), 0);
    cr_assert_float_eq (progress, 0.4, 1e-6);
    cr_assert_str_eq (message, "resizing image");
    cr_assert_eq (zjob_runner_parse_progress ("40%", &progress, &message), 0);
    cr_assert_float_eq (progress, 0.4, 1e-6);
    cr_assert_str_eq (message, "");
    cr_assert_eq (zjob_runner_parse_progress ("  .5\tx y", &progress, &message), 0);
    cr_assert_float_eq (progress, 0.5, 1e-6);
    cr_assert_str_eq (message, "x y");
    cr_assert_eq (zjob_runner_parse_progress ("1.5 over", &progress, &message), 0);
    cr_assert_float_eq (progress, 1.0, 1e-6, "clamped to 1");
    cr_assert_eq (zjob_runner_parse_progress ("150%", &progress, &message), 0);
    cr_assert_float_eq (progress, 1.0, 1e-6);

    const char *bad [] = { "", "   ", "half", "0.5x", "-0.2", "nan", "inf 1", "% 5" };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++)
        cr_assert_eq (zjob_runner_parse_progress (bad [i], &progress, &message), -1,
                      "\"%s\" is not a progress line", bad [i]);
}

Test (runner, clean_text_keeps_printable_utf8)
{
    char buf [64];
    const char text [] = "caf\xc3\xa9 \xff\x1b[31m\r\nnext\tline\x7f \xc2\x9b";
    zjob_runner_clean_text (buf, sizeof (buf), text, strlen (text), true);
    cr_assert_str_eq (buf, "caf\xc3\xa9 ??[31m\nnext\tline? ?");
    zjob_runner_clean_text (buf, sizeof (buf), text, strlen (text), false);
    cr_assert_str_eq (buf, "caf\xc3\xa9 ??[31m next line? ?");

    //  Overlong, surrogate, beyond U+10FFFF, truncated: each byte a '?'
    const char bad [] = "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82";
    zjob_runner_clean_text (buf, sizeof (buf), bad, strlen (bad), true);
    cr_assert_str_eq (buf, "??|???|????|??");

    //  A character that does not fit whole is left out
    const char euro [] = "ab\xe2\x82\xac";
    cr_assert_eq (zjob_runner_clean_text (buf, 5, euro, strlen (euro), true), 2);
    cr_assert_str_eq (buf, "ab");
    cr_assert_eq (zjob_runner_clean_text (buf, 6, euro, strlen (euro), true), 5);
    cr_assert_str_eq (buf, euro);
}

//  --------------------------------------------------------------------------
//  What goes in and comes out

Test (runner, stdin_to_stdout_and_exit_zero)
{
    const char *argv [] = { "/bin/sh", "-c", "cat; echo 'a warning' >&2", NULL };
    zjob_runner_t *runner = s_start (argv, "{\"x\": 1}\n", 0, 1000);
    cr_assert_gt (zjob_runner_pid (runner), 0);
    cr_assert (s_finish (runner, DEADLINE_MS));
    size_t size;
    const char *output = zjob_runner_output (runner, &size);
    cr_assert_str_eq (output, "{\"x\": 1}\n");
    cr_assert_eq (size, strlen (output));
    cr_assert_not (zjob_runner_overflow (runner));
    cr_assert_eq (zjob_runner_exit_status (runner), 0);
    cr_assert_eq (zjob_runner_signal (runner), 0);
    cr_assert_str_eq (zjob_runner_errors (runner), "a warning");
    cr_assert_not (zjob_runner_stopped (runner));
    cr_assert_not (zjob_runner_timed_out (runner));
    cr_assert_geq (zjob_runner_run_ms (runner), 0);
    zjob_runner_destroy (&runner);
    zjob_runner_destroy (&runner);  //  Safe twice
    cr_assert_null (runner);
}

Test (runner, exit_status_and_stderr_tail)
{
    //  2000 two-byte characters, then a last line: the tail keeps the end
    //  and starts on a whole character
    const char *argv [] = { "/bin/sh", "-c",
                            "i=0; while [ $i -lt 200 ]; do printf '\\303\\251\\303\\251\\303\\251\\303\\251"
                            "\\303\\251\\303\\251\\303\\251\\303\\251\\303\\251\\303\\251' >&2; i=$((i+1)); done;"
                            "printf '\\ndisk is full!\\n' >&2; exit 7",
                            NULL };
    zjob_runner_t *runner = s_start (argv, NULL, 0, 1000);
    cr_assert (s_finish (runner, DEADLINE_MS));
    cr_assert_eq (zjob_runner_exit_status (runner), 7);
    cr_assert_eq (zjob_runner_signal (runner), 0);
    const char *errors = zjob_runner_errors (runner);
    cr_assert_leq (strlen (errors), ZJOB_RUNNER_TAIL_MAX);
    cr_assert_geq (strlen (errors), ZJOB_RUNNER_TAIL_MAX - 20);
    cr_assert_eq ((unsigned char) errors [0], 0xC3, "starts on a whole character");
    cr_assert_str_eq (errors + strlen (errors) - 14, "\ndisk is full!");
    cr_assert_null (strchr (errors, '?'), "no character was cut");
    zjob_runner_destroy (&runner);
}

Test (runner, environment_and_progress_fd)
{
    setenv ("ZJOB_TEST_OVERRIDDEN", "old", 1);
    setenv ("ZJOB_TEST_KEPT", "kept", 1);
    const char *env [] = { "ZJOB_TEST_OVERRIDDEN=new", "ZJOB_TEST_ADDED=a b", NULL };
    const char *argv [] = { "/bin/sh", "-c",
                            "env | grep -c '^ZJOB_TEST_OVERRIDDEN='; "
                            "echo \"$ZJOB_TEST_OVERRIDDEN|$ZJOB_TEST_ADDED|$ZJOB_TEST_KEPT|$ZJOB_PROGRESS_FD\"; "
                            "[ -w /dev/fd/3 ] && echo fd3",
                            NULL };
    zjob_runner_config_t config = { .argv = argv, .env = env, .grace_ms = 1000 };
    zjob_error_t err;
    zjob_runner_t *runner = zjob_runner_new (&config, &err);
    cr_assert_not_null (runner, "%s", err.text);
    cr_assert (s_finish (runner, DEADLINE_MS));
    cr_assert_str_eq (zjob_runner_output (runner, NULL), "1\nnew|a b|kept|3\nfd3\n");
    zjob_runner_destroy (&runner);
}

Test (runner, command_that_does_not_read_stdin)
{
    //  1 MiB of input, far beyond a pipe's buffer, to a command that exits
    //  without reading: nothing blocks, and the write error is not fatal
    char *input = (char *) malloc (1 << 20);
    cr_assert_not_null (input);
    memset (input, 'x', (1 << 20) - 1);
    input [(1 << 20) - 1] = '\0';
    const char *argv [] = { "/bin/sh", "-c", "echo done", NULL };
    zjob_runner_t *runner = s_start (argv, input, 0, 1000);
    free (input);
    cr_assert (s_finish (runner, DEADLINE_MS));
    cr_assert_str_eq (zjob_runner_output (runner, NULL), "done\n");
    cr_assert_eq (zjob_runner_exit_status (runner), 0);
    zjob_runner_destroy (&runner);
}

Test (runner, output_over_the_limit_is_flagged)
{
    const char *argv [] = { "/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x", NULL };
    zjob_runner_config_t config = { .argv = argv, .output_max = 1000, .grace_ms = 1000 };
    zjob_runner_t *runner = zjob_runner_new (&config, NULL);
    cr_assert_not_null (runner);
    cr_assert (s_finish (runner, DEADLINE_MS));
    cr_assert (zjob_runner_overflow (runner));
    size_t size;
    zjob_runner_output (runner, &size);
    cr_assert_leq (size, 1000);
    cr_assert_eq (zjob_runner_exit_status (runner), 0, "the command was not hurt");
    zjob_runner_destroy (&runner);
}

Test (runner, exec_failure_is_reported)
{
    zjob_error_t err;
    const char *missing [] = { "/nonexistent/command", NULL };
    zjob_runner_config_t config = { .argv = missing };
    cr_assert_null (zjob_runner_new (&config, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "cannot execute \"/nonexistent/command\""), "%s", err.text);
    cr_assert (strstr (err.text, "No such file or directory"), "%s", err.text);

    const char *not_in_path [] = { "zjob-no-such-command-anywhere", NULL };
    config.argv = not_in_path;
    cr_assert_null (zjob_runner_new (&config, &err));
    cr_assert (strstr (err.text, "No such file or directory"), "%s", err.text);

    char *dir = zjob_test_tmpdir ();
    char path [512];
    snprintf (path, sizeof (path), "%s/not-executable", dir);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fputs ("#!/bin/sh\necho hi\n", file);
    fclose (file);
    const char *denied [] = { path, NULL };
    config.argv = denied;
    cr_assert_null (zjob_runner_new (&config, &err));
    cr_assert (strstr (err.text, "Permission denied"), "%s", err.text);
    zjob_test_rmtree (dir);
    free (dir);

    const char *empty [] = { NULL };
    config.argv = empty;
    cr_assert_null (zjob_runner_new (&config, &err));
    cr_assert_null (zjob_runner_new (NULL, &err));
}

//  --------------------------------------------------------------------------
//  Progress

Test (runner, progress_lines_are_reported_latest_first)
{
    //  The command waits for a file, so that it is still running while
    //  the progress is read (nothing is reported after the exit)
    char *dir = zjob_test_tmpdir ();
    char script [512];
    snprintf (script, sizeof (script),
              "echo '0.25 a quarter' >&3; echo 'not progress' >&3; "
              "printf '50%%%% half \\033[1mway' >&3; exec 3>&-; "
              "while [ ! -e %s/go ]; do sleep 0.01; done",
              dir);
    const char *argv [] = { "/bin/sh", "-c", script, NULL };
    zjob_runner_t *runner = s_start (argv, NULL, 0, 1000);
    float progress = 0;
    const char *message = NULL;
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    bool half = false;
    while (!half && zjob_mono_ms () < deadline) {
        s_pass (runner);
        if (zjob_runner_progress (runner, &progress, &message))
            half = progress > 0.49 && progress < 0.51;
    }
    cr_assert (half, "the last line wins, even without its newline");
    cr_assert_str_eq (message, "half ?[1mway");
    cr_assert_not (zjob_runner_progress (runner, &progress, &message), "reported once");
    char path [600];
    snprintf (path, sizeof (path), "%s/go", dir);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fclose (file);
    cr_assert (s_finish (runner, DEADLINE_MS));
    cr_assert_eq (zjob_runner_exit_status (runner), 0);
    zjob_runner_destroy (&runner);
    zjob_test_rmtree (dir);
    free (dir);
}

Test (runner, last_progress_before_the_exit_is_reported)
{
    //  Lines written just before the exit are read after it: the last one
    //  is still due, at once, however recent the report before it
    const char *argv [] = { "/bin/sh", "-c", "printf '0.5 a\\n1.0 last\\n' >&3", NULL };
    zjob_runner_t *runner = s_start (argv, NULL, 0, 1000);
    cr_assert (s_finish (runner, DEADLINE_MS));
    cr_assert_eq (zjob_runner_exit_status (runner), 0);
    cr_assert_eq (zjob_runner_timeout (runner), 0, "the report is due now");
    float progress = 0;
    const char *message = NULL;
    cr_assert (zjob_runner_progress (runner, &progress, &message),
               "the last line is reported after the exit");
    cr_assert_eq (zjob_runner_timeout (runner), -1, "nothing left to wait for");
    cr_assert_float_eq (progress, 1.0, 0.001);
    cr_assert_str_eq (message, "last");
    cr_assert_not (zjob_runner_progress (runner, &progress, &message), "reported once");
    zjob_runner_destroy (&runner);
}

Test (runner, progress_is_throttled)
{
    //  A flood of lines becomes a few reports, the last one the last line
    const char *argv [] = { "/bin/sh", "-c",
                            "i=0; while [ $i -lt 2000 ]; do echo \"0.$i\" >&3; i=$((i+1)); done;"
                            "echo '1 done' >&3; sleep 30",
                            NULL };
    zjob_runner_t *runner = s_start (argv, NULL, 0, 1000);
    int reports = 0;
    float progress = 0;
    const char *message = NULL;
    int64_t started = zjob_mono_ms ();
    int64_t deadline = started + DEADLINE_MS;
    while (zjob_mono_ms () < deadline) {
        s_pass (runner);
        if (zjob_runner_progress (runner, &progress, &message)) {
            reports++;
            if (progress == 1)
                break;
        }
    }
    int64_t elapsed = zjob_mono_ms () - started;
    cr_assert_float_eq (progress, 1, 1e-6);
    cr_assert_str_eq (message, "done");
    cr_assert_leq (reports, 1 + elapsed / ZJOB_RUNNER_PROGRESS_MS + 1,
                   "%d reports in %lld ms", reports, (long long) elapsed);
    pid_t pid = zjob_runner_pid (runner);
    zjob_runner_destroy (&runner);
    cr_assert (zjob_test_wait_gone (pid, DEADLINE_MS));
}

//  --------------------------------------------------------------------------
//  Signals

Test (runner, pause_resume_stop_reach_the_process)
{
    const char *argv [] = { "sleep", "30", NULL };
    zjob_runner_t *runner = s_start (argv, NULL, 0, 2000);
    pid_t pid = zjob_runner_pid (runner);
    cr_assert_eq (zjob_runner_pause (runner), 0);
    cr_assert (zjob_runner_paused (runner));
    cr_assert (zjob_test_wait_stopped (pid, true, DEADLINE_MS), "paused: state T");
    cr_assert_eq (zjob_runner_resume (runner), 0);
    cr_assert_not (zjob_runner_paused (runner));
    cr_assert (zjob_test_wait_stopped (pid, false, DEADLINE_MS), "resumed: no longer T");

    //  Stop a paused command: it must still see SIGTERM
    cr_assert_eq (zjob_runner_pause (runner), 0);
    cr_assert (zjob_test_wait_stopped (pid, true, DEADLINE_MS));
    cr_assert_eq (zjob_runner_stop (runner), 0);
    cr_assert (s_finish (runner, DEADLINE_MS));
    cr_assert_eq (zjob_runner_signal (runner), SIGTERM);
    cr_assert_eq (zjob_runner_exit_status (runner), -1);
    cr_assert (zjob_runner_stopped (runner));
    cr_assert_not (zjob_runner_timed_out (runner));
    cr_assert_eq (zjob_runner_pause (runner), -1, "exited: nothing to pause");
    cr_assert_eq (zjob_runner_resume (runner), -1);
    cr_assert_eq (zjob_runner_stop (runner), -1);
    cr_assert_eq (zjob_runner_kill (runner), -1);
    zjob_runner_destroy (&runner);
    cr_assert_eq (zjob_test_proc_state (pid), 0, "reaped");
}

Test (runner, signals_reach_the_whole_group)
{
    //  The shell's child writes its pid; pausing the runner stops it too
    char *dir = zjob_test_tmpdir ();
    char script [512];
    snprintf (script, sizeof (script), "sleep 30 & echo $! > %s/child.tmp && "
                                       "mv %s/child.tmp %s/child; wait",
              dir, dir, dir);
    const char *argv [] = { "/bin/sh", "-c", script, NULL };
    zjob_runner_t *runner = s_start (argv, NULL, 0, 2000);
    char path [600];
    snprintf (path, sizeof (path), "%s/child", dir);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (!zsys_file_exists (path) && zjob_mono_ms () < deadline)
        s_pass (runner);
    FILE *file = fopen (path, "r");
    cr_assert_not_null (file, "the child wrote its pid");
    int child = 0;
    cr_assert_eq (fscanf (file, "%d", &child), 1);
    fclose (file);
    cr_assert_eq (zjob_runner_pause (runner), 0);
    cr_assert (zjob_test_wait_stopped (child, true, DEADLINE_MS), "the shell's child is paused too");
    cr_assert_eq (zjob_runner_resume (runner), 0);
    cr_assert (zjob_test_wait_stopped (child, false, DEADLINE_MS));
    cr_assert_eq (zjob_runner_stop (runner), 0);
    cr_assert (s_finish (runner, DEADLINE_MS));
    cr_assert (zjob_test_wait_gone (child, DEADLINE_MS), "the shell's child is stopped too");
    zjob_runner_destroy (&runner);
    zjob_test_rmtree (dir);
    free (dir);
}

Test (runner, stop_kills_after_the_grace)
{
    //  Everything ignores SIGTERM: only the SIGKILL after the grace ends it
    const char *argv [] = { "/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done", NULL };
    zjob_runner_t *runner = s_start (argv, NULL, 0, 200);
    //  Let the shell set its trap before the signal
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    char path [64];
    snprintf (path, sizeof (path), "/proc/%d/status", (int) zjob_runner_pid (runner));
    bool trapped = false;
    while (!trapped && zjob_mono_ms () < deadline) {
        FILE *file = fopen (path, "r");
        char line [256];
        while (file && fgets (line, sizeof (line), file))
            if (strncmp (line, "SigIgn:", 7) == 0)
                trapped = (strtoull (line + 7, NULL, 16) & (1ULL << (SIGTERM - 1))) != 0;
        if (file)
            fclose (file);
        s_pass (runner);
    }
    cr_assert (trapped);
    int64_t stopped_at = zjob_mono_ms ();
    cr_assert_eq (zjob_runner_stop (runner), 0);
    cr_assert_eq (zjob_runner_stop (runner), 0, "again: the grace goes on");
    cr_assert (s_finish (runner, DEADLINE_MS));
    cr_assert_geq (zjob_mono_ms () - stopped_at, 200);
    cr_assert_eq (zjob_runner_signal (runner), SIGKILL);
    zjob_runner_destroy (&runner);
}

Test (runner, timeout_excludes_paused_time)
{
    const char *argv [] = { "sleep", "30", NULL };
    zjob_runner_t *runner = s_start (argv, NULL, 300, 1000);
    cr_assert_eq (zjob_runner_pause (runner), 0);
    //  Paused for twice the limit: it must not time out meanwhile
    int64_t until = zjob_mono_ms () + 600;
    while (zjob_mono_ms () < until)
        s_pass (runner);
    cr_assert_not (zjob_runner_finished (runner));
    cr_assert_not (zjob_runner_timed_out (runner));
    cr_assert_lt (zjob_runner_run_ms (runner), 300);
    cr_assert_eq (zjob_runner_resume (runner), 0);
    cr_assert (s_finish (runner, DEADLINE_MS));
    cr_assert (zjob_runner_timed_out (runner));
    cr_assert (zjob_runner_stopped (runner));
    cr_assert_eq (zjob_runner_signal (runner), SIGTERM);
    cr_assert_geq (zjob_runner_run_ms (runner), 300);
    cr_assert_lt (zjob_runner_run_ms (runner), 300 + DEADLINE_MS);
    zjob_runner_destroy (&runner);
}

//  --------------------------------------------------------------------------
//  Nothing is left behind

Test (runner, leftovers_in_the_group_are_killed_at_exit)
{
    //  The background sleep holds stdout open: without the group kill the
    //  runner would wait for it
    const char *argv [] = { "/bin/sh", "-c", "sleep 30 & echo $!", NULL };
    zjob_runner_t *runner = s_start (argv, NULL, 0, 1000);
    cr_assert (s_finish (runner, DEADLINE_MS));
    cr_assert_eq (zjob_runner_exit_status (runner), 0);
    pid_t leftover = (pid_t) atoi (zjob_runner_output (runner, NULL));
    cr_assert_gt (leftover, 0);
    cr_assert (zjob_test_wait_gone (leftover, DEADLINE_MS));
    zjob_runner_destroy (&runner);
}

Test (runner, escaped_process_is_given_up_after_draining)
{
    //  setsid takes a sleep out of the group with stdout still open; the
    //  shell waits until it has left, then exits
    char *dir = zjob_test_tmpdir ();
    char script [512];
    snprintf (script, sizeof (script),
              "setsid sh -c 'touch %s/out; exec sleep 30' & "
              "while [ ! -e %s/out ]; do sleep 0.01; done; echo $!",
              dir, dir);
    const char *argv [] = { "/bin/sh", "-c", script, NULL };
    zjob_runner_t *runner = s_start (argv, NULL, 0, 1000);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (zjob_runner_exit_status (runner) < 0 && zjob_mono_ms () < deadline)
        s_pass (runner);
    int64_t exited = zjob_mono_ms ();
    cr_assert_eq (zjob_runner_exit_status (runner), 0);
    cr_assert_not (zjob_runner_finished (runner), "the pipe is still open");
    cr_assert (s_finish (runner, DEADLINE_MS));
    cr_assert_geq (zjob_mono_ms () - exited, ZJOB_RUNNER_DRAIN_MS - 150);
    pid_t escaped = (pid_t) atoi (zjob_runner_output (runner, NULL));
    cr_assert_gt (escaped, 0);
    cr_assert_neq (zjob_test_proc_state (escaped), 0, "not ours to kill");
    kill (escaped, SIGKILL);
    zjob_runner_destroy (&runner);
    zjob_test_rmtree (dir);
    free (dir);
}

Test (runner, destroy_kills_a_running_command)
{
    const char *argv [] = { "sleep", "30", NULL };
    zjob_runner_t *runner = s_start (argv, NULL, 0, 1000);
    pid_t pid = zjob_runner_pid (runner);
    cr_assert (zjob_test_proc_state (pid) != 0);
    zjob_runner_destroy (&runner);
    cr_assert_eq (zjob_test_proc_state (pid), 0, "killed and reaped");
}

//  Read a pid the job wrote into dir/name, waiting for the file
static pid_t
s_pid_in (const char *dir, const char *name)
{
    char path [600];
    snprintf (path, sizeof (path), "%s/%s", dir, name);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (!zsys_file_exists (path) && zjob_mono_ms () < deadline)
        zclock_sleep (5);  //  Polling for a file the job writes
    FILE *file = fopen (path, "r");
    cr_assert_not_null (file, "the job did not write %s", name);
    int pid = 0;
    cr_assert_eq (fscanf (file, "%d", &pid), 1);
    fclose (file);
    cr_assert_gt (pid, 1);
    return (pid_t) pid;
}

Test (runner, a_killed_worker_takes_the_whole_group_along)
{
    //  The "worker" is a child of the test that starts the runner and then
    //  is killed with SIGKILL: no destructor runs. Its command has a
    //  background and a foreground grandchild, which PR_SET_PDEATHSIG
    //  alone would leave running
    char *dir = zjob_test_tmpdir ();
    char script [1024];
    snprintf (script, sizeof (script),
              "sleep 30 & echo $! > %s/bg.tmp; mv %s/bg.tmp %s/bg; "
              "sh -c 'echo $$ > %s/fg.tmp; mv %s/fg.tmp %s/fg; exec sleep 30'",
              dir, dir, dir, dir, dir, dir);
    pid_t worker = fork ();
    cr_assert_geq (worker, 0);
    if (worker == 0) {
        const char *argv [] = { "/bin/sh", "-c", script, NULL };
        zjob_runner_config_t config = { .argv = argv, .grace_ms = 1000 };
        zjob_error_t err;
        zjob_runner_t *runner = zjob_runner_new (&config, &err);
        if (!runner)
            _exit (1);
        while (true)
            pause ();  //  Until the SIGKILL
    }
    pid_t background = s_pid_in (dir, "bg");
    pid_t foreground = s_pid_in (dir, "fg");
    cr_assert_neq (zjob_test_proc_state (background), 0);
    cr_assert_neq (zjob_test_proc_state (foreground), 0);
    kill (worker, SIGKILL);
    cr_assert_eq (zjob_test_wait_exit (worker, DEADLINE_MS), 128 + SIGKILL);
    cr_assert (zjob_test_wait_gone (background, DEADLINE_MS), "the background sleep is killed");
    cr_assert (zjob_test_wait_gone (foreground, DEADLINE_MS), "the foreground sleep is killed");
    zjob_test_rmtree (dir);
    free (dir);
}

Test (runner, a_paused_job_is_still_watched)
{
    //  The watcher is outside the job's group: a pause does not stop it, and
    //  a worker killed while the job is paused takes the job along. (The
    //  sleep ignores SIGHUP, which the kernel sends to a stopped group that
    //  its parent's death orphans.)
    char *dir = zjob_test_tmpdir ();
    char script [1024];
    snprintf (script, sizeof (script),
              "trap '' HUP; sleep 30 & echo $! > %s/bg.tmp; mv %s/bg.tmp %s/bg; wait",
              dir, dir, dir);
    int ready [2];
    cr_assert_eq (pipe (ready), 0);
    pid_t worker = fork ();
    cr_assert_geq (worker, 0);
    if (worker == 0) {
        const char *argv [] = { "/bin/sh", "-c", script, NULL };
        zjob_runner_config_t config = { .argv = argv, .grace_ms = 1000 };
        zjob_error_t err;
        zjob_runner_t *runner = zjob_runner_new (&config, &err);
        if (!runner)
            _exit (1);
        char path [600];
        snprintf (path, sizeof (path), "%s/bg", dir);
        while (!zsys_file_exists (path))
            zclock_sleep (5);  //  Polling for a file the job writes
        zjob_runner_pause (runner);
        if (write (ready [1], "p", 1) != 1)
            _exit (1);
        while (true)
            pause ();  //  Until the SIGKILL
    }
    close (ready [1]);
    char byte;
    cr_assert_eq (read (ready [0], &byte, 1), 1, "the runner paused the job");
    close (ready [0]);
    pid_t background = s_pid_in (dir, "bg");
    cr_assert (zjob_test_wait_stopped (background, true, DEADLINE_MS));
    kill (worker, SIGKILL);
    cr_assert_eq (zjob_test_wait_exit (worker, DEADLINE_MS), 128 + SIGKILL);
    cr_assert (zjob_test_wait_gone (background, DEADLINE_MS), "the paused sleep is killed");
    zjob_test_rmtree (dir);
    free (dir);
}

Test (runner, destroy_leaves_no_watcher)
{
    //  The runner's only children are the command and its watcher: once
    //  the runner is destroyed, this process has no child left
    const char *argv [] = { "/bin/sh", "-c", "exit 3", NULL };
    zjob_runner_t *runner = s_start (argv, NULL, 0, 1000);
    cr_assert (s_finish (runner, DEADLINE_MS));
    cr_assert_eq (zjob_runner_exit_status (runner), 3);
    zjob_runner_destroy (&runner);
    const char *sleeper [] = { "sleep", "30", NULL };
    runner = s_start (sleeper, NULL, 0, 1000);
    zjob_runner_destroy (&runner);
    cr_assert_eq (waitpid (-1, NULL, WNOHANG), -1, "no child left to reap");
    cr_assert_eq (errno, ECHILD);
}
