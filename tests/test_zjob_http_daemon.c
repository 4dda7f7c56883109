/*  =========================================================================
    test_zjob_http_daemon - zjobd --http, a real process

    zjobd started on ephemeral ports with --http 127.0.0.1:0: its ready
    line names the bound HTTP port; with CURVE it refuses to start without
    --http-token (exit 2) and with one it serves the JSON API through its
    internal admin key; bad --http values are refused (exit 2).
    ========================================================================= */

#include <criterion/criterion.h>
#include <signal.h>
#include <sys/stat.h>
#include "helper_zjob_http.h"
#include "helper_zjob_test.h"

#define S_WAIT 10000  //  msecs any awaited thing may take

static char *s_dir;
static pid_t s_pid;
static int s_out = -1;

static void
s_setup (void)
{
    s_dir = zjob_test_tmpdir ();
}

static void
s_teardown (void)
{
    zjob_test_stop (&s_pid, SIGKILL, 2000);
    if (s_out >= 0)
        close (s_out);
    s_out = -1;
    zjob_test_tmpdir_done (&s_dir);
}

TestSuite (http_daemon, .init = s_setup, .fini = s_teardown, .timeout = 60);

static const char *
s_path (const char *name)
{
    static char path [4][600];
    static int next;
    char *buf = path [next++ % 4];
    snprintf (buf, 600, "%s/%s", s_dir, name);
    return buf;
}

//  Start zjobd with the common options and extra (NULL-terminated, at
//  most 12); its stdout is s_out
static void
s_start (const char *const *extra)
{
    const char *argv [32] = { ZJOB_BIN_DIR "/zjobd", "--store", "memory:",
                              "--clients", "tcp://127.0.0.1:*", "--workers",
                              "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*",
                              "--log-level", "error" };
    size_t argc = 11;
    for (size_t index = 0; extra [index] && argc < 31; index++)
        argv [argc++] = extra [index];
    s_pid = zjob_test_spawn_with ((char *const *) argv, &s_out, s_path ("zjobd.log"));
    cr_assert_gt (s_pid, 0);
}

//  The exit status of a zjobd that should not start
static int
s_refused (const char *const *extra)
{
    s_start (extra);
    int status = zjob_test_wait_exit (s_pid, S_WAIT);
    s_pid = 0;
    close (s_out);
    s_out = -1;
    return status;
}

//  Read the ready line; the http port in it, or 0 without one
static int
s_ready (void)
{
    char *line = zjob_test_read_line (s_out, S_WAIT);
    cr_assert (line && strncmp (line, "zjobd ready ", 12) == 0, "%s", line ? line : "(none)");
    const char *http = strstr (line, " http=127.0.0.1:");
    int port = http ? atoi (http + 16) : 0;
    free (line);
    return port;
}

static void
s_write (const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen (path, "w");
    cr_assert (file);
    fputs (text, file);
    fclose (file);
    chmod (path, mode);
}

//  A broker certificate and a --keys directory (one admin key)
static void
s_curve (void)
{
    zcert_t *broker = zcert_new ();
    cr_assert_eq (zcert_save (broker, s_path ("broker.key")), 0);
    zcert_destroy (&broker);
    zsys_dir_create ("%s", s_path ("keys/admin"));
    zcert_t *admin = zcert_new ();
    cr_assert_eq (zcert_save_public (admin, s_path ("keys/admin/ops.key")), 0);
    zcert_destroy (&admin);
}

Test (http_daemon, serves_and_names_its_port)
{
    const char *const extra [] = { "--http", "127.0.0.1:0", NULL };
    s_start (extra);
    int port = s_ready ();
    cr_assert_gt (port, 0);
    zjob_http_test_t resp;
    cr_assert_eq (zjob_http_test_get (port, "/healthz", NULL, &resp), 200);
    zjob_http_test_free (&resp);
    cr_assert_eq (zjob_http_test_get (port, "/api/stats", NULL, &resp), 200);
    zjob_http_test_free (&resp);
    cr_assert_eq (zjob_http_test_get (port, "/", NULL, &resp), 200);
    zjob_http_test_free (&resp);
    kill (s_pid, SIGTERM);
    cr_assert_eq (zjob_test_wait_exit (s_pid, S_WAIT), 0);
    s_pid = 0;
}

Test (http_daemon, without_http_there_is_no_http)
{
    const char *const extra [] = { NULL };
    s_start (extra);
    cr_assert_eq (s_ready (), 0);
}

Test (http_daemon, curve_needs_a_token_and_then_serves_with_it)
{
    s_curve ();
    const char *const no_token [] = { "--curve-secret", s_path ("broker.key_secret"), "--keys",
                                      s_path ("keys"), "--http", "127.0.0.1:0", NULL };
    cr_assert_eq (s_refused (no_token), 2);
    const char *token = "a-token-of-the-http-side-0123456789";
    char line [128];
    snprintf (line, sizeof line, "  %s  \nsecond line ignored\n", token);
    s_write (s_path ("token"), line, 0600);
    const char *const with_token [] = { "--curve-secret", s_path ("broker.key_secret"), "--keys",
                                        s_path ("keys"), "--http", "127.0.0.1:0",
                                        "--http-token", s_path ("token"), NULL };
    s_start (with_token);
    int port = s_ready ();
    cr_assert_gt (port, 0);
    zjob_http_test_t resp;
    cr_assert_eq (zjob_http_test_get (port, "/api/stats", NULL, &resp), 401);
    zjob_http_test_free (&resp);
    char header [128];
    snprintf (header, sizeof header, "Authorization: Bearer %s\r\n", token);
    //  Through the broker's internal admin key, over CURVE
    cr_assert_eq (zjob_http_test_get (port, "/api/stats", header, &resp), 200, "%s", resp.body);
    zjob_http_test_free (&resp);
    cr_assert_eq (zjob_http_test_get (port, "/readyz", NULL, &resp), 200, "%s", resp.body);
    zjob_http_test_free (&resp);
}

Test (http_daemon, a_short_token_is_refused)
{
    s_write (s_path ("token"), "short\n", 0600);
    const char *const extra [] = { "--http", "127.0.0.1:0", "--http-token", s_path ("token"),
                                   NULL };
    cr_assert_eq (s_refused (extra), 2);
    const char *const missing [] = { "--http", "127.0.0.1:0", "--http-token",
                                     s_path ("no-such-file"), NULL };
    cr_assert_eq (s_refused (missing), 2);
}

Test (http_daemon, bad_http_values_are_refused)
{
    const char *bad [] = { "nope", "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:x", "[::1",
                           "0.0.0.0:0" };  //  The last: beyond loopback without CURVE
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        const char *const extra [] = { "--http", bad [index], NULL };
        cr_assert_eq (s_refused (extra), 2, "--http %s", bad [index]);
    }
}
