/*  =========================================================================
    test_zjob_cli_keygen - the zjob CLI and CURVE: keygen's files, and
    --cert, --broker-key and their environment variables, against a fake
    broker with CURVE (helper_zjob_curve.h)

    Every test runs the real zjob binary. keygen's files must be what the
    broker reads (zcert_load, metadata and all) with the secret half
    private; a bad certificate or broker key is a plain exit 2 before any
    connection; a key the broker refuses is exit 10, fast, and says so.
    ========================================================================= */

#include <sys/stat.h>
#include "test_zjob_cli_child.h"
#include "helper_zjob_curve.h"

#define S_FAST_MS 2000  //  a refused key is told within this (the timeout is 10 s)

static char *s_dir;

static void
s_setup (void)
{
    s_dir = zjob_test_tmpdir ();
}

static void
s_teardown (void)
{
    zjob_test_tmpdir_done (&s_dir);
}

TestSuite (zjob_cli_keygen, .init = s_setup, .fini = s_teardown, .timeout = 60);

//  Run zjob with argv (NULL-terminated, without the program) and wait
static s_child_t *
s_run (const char *const *args)
{
    char *argv [32] = { ZJOB_BIN_DIR "/zjob" };
    size_t count = 1;
    while (args [count - 1] && count < 31) {
        argv [count] = (char *) args [count - 1];
        count++;
    }
    argv [count] = NULL;
    s_child_t *child = s_spawn (argv, NULL);
    s_child_finish (child, S_RUN_TIMEOUT_MS);
    return child;
}

static mode_t
s_mode (const char *path)
{
    struct stat info;
    cr_assert_eq (stat (path, &info), 0, "%s: %s", path, strerror (errno));
    return info.st_mode & 0777;
}

//  keygen NAME with extra options in s_dir; the public key it printed
//  into key (41 bytes)
static void
s_keygen (const char *name, const char *user, const char *workflows, char *key)
{
    const char *args [12] = { "keygen", name, "--dir", s_dir };
    size_t count = 4;
    if (user) {
        args [count++] = "--user";
        args [count++] = user;
    }
    if (workflows) {
        args [count++] = "--workflows";
        args [count++] = workflows;
    }
    s_child_t *child = s_run (args);
    cr_assert_eq (child->code, 0, "keygen: %d %s", child->code, child->err);
    cr_assert_eq (strncmp (child->out, "public key: ", 12), 0, "%s", child->out);
    snprintf (key, 41, "%s", child->out + 12);
    s_child_destroy (&child);
}


//  --------------------------------------------------------------------------
//  keygen

Test (zjob_cli_keygen, writes_a_pair_the_broker_reads)
{
    char key [41];
    s_keygen ("alice", "al", "resize,thumb", key);
    char public_path [600], secret_path [600];
    snprintf (public_path, sizeof public_path, "%s/alice.key", s_dir);
    snprintf (secret_path, sizeof secret_path, "%s/alice.key_secret", s_dir);
    cr_assert_eq (s_mode (secret_path), 0600, "the secret half is private");
    cr_assert_eq (s_mode (public_path) & 0600, 0600);

    //  The public half as the broker reads it: the key and the metadata,
    //  and no secret key (a public certificate loads with zeros)
    char lone [700];
    snprintf (lone, sizeof lone, "%s/lone", s_dir);
    cr_assert_eq (mkdir (lone, 0700), 0);
    char copy [800];
    snprintf (copy, sizeof copy, "%s/alice.key", lone);
    cr_assert_eq (rename (public_path, copy), 0);
    zcert_t *cert = zcert_load (copy);
    cr_assert_not_null (cert);
    cr_assert_str_eq (zcert_public_txt (cert), key);
    cr_assert_str_eq (zcert_meta (cert, "user_id"), "al");
    cr_assert_str_eq (zcert_meta (cert, "workflows"), "resize,thumb");
    static const byte zero [32] = { 0 };
    cr_assert_eq (memcmp (zcert_secret_key (cert), zero, 32), 0);
    zcert_destroy (&cert);

    //  The secret half: both keys, what --cert takes
    cert = zcert_load (secret_path);
    cr_assert_not_null (cert);
    cr_assert_str_eq (zcert_public_txt (cert), key);
    cr_assert_neq (memcmp (zcert_secret_key (cert), zero, 32), 0);
    cr_assert_str_eq (zcert_meta (cert, "user_id"), "al");
    zcert_destroy (&cert);

    //  Without --user and --workflows: no metadata
    s_keygen ("bob", NULL, NULL, key);
    snprintf (public_path, sizeof public_path, "%s/bob.key_secret", s_dir);
    cert = zcert_load (public_path);
    cr_assert_not_null (cert);
    cr_assert_null (zcert_meta (cert, "user_id"));
    cr_assert_null (zcert_meta (cert, "workflows"));
    zcert_destroy (&cert);
}

Test (zjob_cli_keygen, says_where_each_file_goes)
{
    const char *args [] = { "keygen", "carol", "--dir", s_dir, NULL };
    s_child_t *child = s_run (args);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "carol.key: copy it into the broker's keys directory, "
                                   "under admin/, client/ or worker/");
    s_assert_contains (child->out, "carol.key_secret: stays with the peer, mode 0600");
    s_child_destroy (&child);

    const char *json [] = { "keygen", "dave", "--dir", s_dir, "--user", "d", "--json", NULL };
    child = s_run (json);
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *object = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (object, "user_id")), "d");
    cr_assert_eq (strlen (json_string_value (json_object_get (object, "public_key"))), 40);
    json_decref (object);
    s_child_destroy (&child);
}

Test (zjob_cli_keygen, never_overwrites_without_force)
{
    char first [41], second [41];
    s_keygen ("erin", NULL, NULL, first);
    const char *again [] = { "keygen", "erin", "--dir", s_dir, NULL };
    s_child_t *child = s_run (again);
    cr_assert_eq (child->code, 4, "exit %d", child->code);
    s_assert_contains (child->err, "exists: give --force");
    s_child_destroy (&child);
    char path [600];
    snprintf (path, sizeof path, "%s/erin.key_secret", s_dir);
    zcert_t *cert = zcert_load (path);
    cr_assert_str_eq (zcert_public_txt (cert), first, "the old pair is untouched");
    zcert_destroy (&cert);

    //  Only the secret half left: still refused
    char public_path [600];
    snprintf (public_path, sizeof public_path, "%s/erin.key", s_dir);
    cr_assert_eq (unlink (public_path), 0);
    child = s_run (again);
    cr_assert_eq (child->code, 4, "exit %d", child->code);
    s_child_destroy (&child);

    const char *force [] = { "keygen", "erin", "--dir", s_dir, "--force", NULL };
    child = s_run (force);
    cr_assert_eq (child->code, 0, "%s", child->err);
    snprintf (second, sizeof second, "%s", child->out + 12);
    s_child_destroy (&child);
    cr_assert_str_neq (first, second);
    cert = zcert_load (path);
    cr_assert_str_eq (zcert_public_txt (cert), second);
    zcert_destroy (&cert);
    cr_assert_eq (s_mode (path), 0600);
}

Test (zjob_cli_keygen, refuses_bad_names_and_values)
{
    const char *cases [][8] = {
        { "keygen", "../x", "--dir", s_dir, NULL },
        { "keygen", ".hidden", "--dir", s_dir, NULL },
        { "keygen", "x_secret", "--dir", s_dir, NULL },
        { "keygen", "x", "--dir", s_dir, "--workflows", "a,,b", NULL },
        { "keygen", "x", "--dir", s_dir, "--user", "a b", NULL },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases [0]; index++) {
        s_child_t *child = s_run (cases [index]);
        cr_assert_eq (child->code, 2, "case %zu: exit %d %s", index, child->code, child->err);
        s_child_destroy (&child);
    }
    const char *none [] = { "keygen", "--dir", s_dir, NULL };
    s_child_t *child = s_run (none);
    cr_assert_eq (child->code, 1, "no NAME: exit %d", child->code);
    s_child_destroy (&child);
    char path [600];
    snprintf (path, sizeof path, "%s/x.key", s_dir);
    cr_assert_neq (access (path, F_OK), 0, "nothing written");
}


//  --------------------------------------------------------------------------
//  --cert and --broker-key

//  A fake CURVE broker that accepts the key in s_dir/NAME.key_secret;
//  its public key into broker_key (41 bytes)
static zactor_t *
s_fake (const char *name, char *endpoint, size_t size, char *broker_key, zcert_t **server_p)
{
    char path [600];
    snprintf (path, sizeof path, "%s/%s.key_secret", s_dir, name);
    zcert_t *cert = zcert_load (path);
    cr_assert_not_null (cert);
    *server_p = zcert_new ();
    snprintf (broker_key, 41, "%s", zcert_public_txt (*server_p));
    zactor_t *fake = zjob_test_curve_fake (true, *server_p, zcert_public_txt (cert), endpoint,
                                           size);
    zcert_destroy (&cert);
    cr_assert_not_null (fake);
    return fake;
}

Test (zjob_cli_keygen, a_bad_certificate_or_broker_key_is_exit_2)
{
    char key [41];
    s_keygen ("frank", NULL, NULL, key);
    char missing [600], good [600];
    snprintf (missing, sizeof missing, "%s/nobody.key_secret", s_dir);
    snprintf (good, sizeof good, "%s/frank.key_secret", s_dir);
    //  A port nobody listens on: none of these may get as far as connecting
    const char *broker = "tcp://127.0.0.1:1";
    const char *cases [][10] = {
        { "--broker", broker, "--cert", missing, "--broker-key", key, "stats", NULL },
        { "--broker", broker, "stats", "--cert", good, "--broker-key", "short", NULL },
        { "--broker", broker, "--cert", good, "stats", NULL },
        { "--broker", broker, "--broker-key", key, "stats", NULL },
    };
    const char *says [] = { "cannot read the certificate", "neither 40 Z85 characters",
                            "no broker key", "no certificate" };
    for (size_t index = 0; index < sizeof cases / sizeof cases [0]; index++) {
        s_child_t *child = s_run (cases [index]);
        cr_assert_eq (child->code, 2, "case %zu: exit %d %s", index, child->code, child->err);
        s_assert_contains (child->err, says [index]);
        s_child_destroy (&child);
    }

    //  The same from the environment
    setenv ("ZJOB_CERT", missing, 1);
    setenv ("ZJOB_BROKER_KEY", key, 1);
    const char *plain [] = { "--broker", broker, "stats", NULL };
    s_child_t *child = s_run (plain);
    cr_assert_eq (child->code, 2, "exit %d %s", child->code, child->err);
    s_assert_contains (child->err, "cannot read the certificate");
    s_assert_contains (child->err, "ZJOB_CERT");
    s_child_destroy (&child);
    unsetenv ("ZJOB_CERT");
    unsetenv ("ZJOB_BROKER_KEY");
}

Test (zjob_cli_keygen, a_listed_key_gets_in_and_flags_win_over_the_environment)
{
    char key [41], broker_key [41], endpoint [64];
    s_keygen ("grace", NULL, NULL, key);
    zcert_t *server;
    zactor_t *fake = s_fake ("grace", endpoint, sizeof endpoint, broker_key, &server);
    char good [600], missing [600];
    snprintf (good, sizeof good, "%s/grace.key_secret", s_dir);
    snprintf (missing, sizeof missing, "%s/nobody.key_secret", s_dir);

    //  The fake answers any job with 404: exit 3 means the request got in
    const char *flags [] = { "--broker", endpoint, "--cert", good, "--broker-key", broker_key,
                             "status", "01JD6ZQ8XKTBV3M9W2N4", NULL };
    s_child_t *child = s_run (flags);
    cr_assert_eq (child->code, 3, "exit %d %s", child->code, child->err);
    s_child_destroy (&child);

    //  From the environment alone
    setenv ("ZJOB_CERT", good, 1);
    setenv ("ZJOB_BROKER_KEY", broker_key, 1);
    const char *plain [] = { "--broker", endpoint, "status", "01JD6ZQ8XKTBV3M9W2N4", NULL };
    child = s_run (plain);
    cr_assert_eq (child->code, 3, "exit %d %s", child->code, child->err);
    s_child_destroy (&child);

    //  A bad environment, good flags: the flags win
    setenv ("ZJOB_CERT", missing, 1);
    setenv ("ZJOB_BROKER_KEY", "short", 1);
    child = s_run (flags);
    cr_assert_eq (child->code, 3, "exit %d %s", child->code, child->err);
    s_child_destroy (&child);
    unsetenv ("ZJOB_CERT");
    unsetenv ("ZJOB_BROKER_KEY");
    zjob_test_curve_stop (&fake);
    zcert_destroy (&server);
}

Test (zjob_cli_keygen, a_refused_key_is_exit_10_and_fast)
{
    char key [41], broker_key [41], endpoint [64];
    s_keygen ("heidi", NULL, NULL, key);
    s_keygen ("ivan", NULL, NULL, key);
    zcert_t *server;
    zactor_t *fake = s_fake ("heidi", endpoint, sizeof endpoint, broker_key, &server);
    char ivan [600], heidi [600];
    snprintf (ivan, sizeof ivan, "%s/ivan.key_secret", s_dir);
    snprintf (heidi, sizeof heidi, "%s/heidi.key_secret", s_dir);

    const char *refused [] = { "--broker", endpoint, "--request-timeout", "10s", "--cert",
                               ivan, "--broker-key", broker_key, "stats", NULL };
    s_child_t *child = s_run (refused);
    cr_assert_eq (child->code, 10, "exit %d %s", child->code, child->err);
    s_assert_contains (child->err, "the broker refused this key at the handshake");
    s_assert_contains (child->err, "--cert");
    cr_assert_lt (child->elapsed_ms, S_FAST_MS, "took %lld ms", (long long) child->elapsed_ms);
    s_child_destroy (&child);

    //  A wrong broker key (ivan's, not the broker's)
    const char *wrong [] = { "--broker", endpoint, "--request-timeout", "10s", "--cert",
                             heidi, "--broker-key", key, "stats", "--json", NULL };
    child = s_run (wrong);
    cr_assert_eq (child->code, 10, "exit %d %s", child->code, child->err);
    s_assert_contains (child->err, "the CURVE handshake with the broker failed: wrong broker "
                                   "key (--broker-key)");
    cr_assert_lt (child->elapsed_ms, S_FAST_MS, "took %lld ms", (long long) child->elapsed_ms);
    s_child_destroy (&child);
    zjob_test_curve_stop (&fake);
    zcert_destroy (&server);
}


//  --------------------------------------------------------------------------
//  zjob-worker

static size_t
s_count (const char *text, const char *part)
{
    size_t count = 0;
    for (const char *at = strstr (text, part); at; at = strstr (at + 1, part))
        count++;
    return count;
}

Test (zjob_cli_keygen, zjob_worker_takes_the_keys_and_keeps_trying_a_refused_one)
{
    char key [41], broker_key [41], endpoint [64];
    s_keygen ("judy", NULL, NULL, key);
    s_keygen ("mallory", NULL, NULL, key);
    zcert_t *server;
    zactor_t *fake = s_fake ("judy", endpoint, sizeof endpoint, broker_key, &server);
    char mallory [600], missing [600];
    snprintf (mallory, sizeof mallory, "%s/mallory.key_secret", s_dir);
    snprintf (missing, sizeof missing, "%s/nobody.key_secret", s_dir);

    //  A certificate it cannot read: exit 2 at once, naming the option
    setenv ("ZJOB_BROKER_KEY", broker_key, 1);
    char *bad [] = { ZJOB_BIN_DIR "/zjob-worker", "--broker", endpoint, "--cert", missing,
                     "-w", "echo", "--", "/bin/cat", NULL };
    s_child_t *child = s_spawn (bad, NULL);
    s_child_finish (child, S_RUN_TIMEOUT_MS);
    cr_assert_eq (child->code, 2, "exit %d %s", child->code, child->err);
    s_assert_contains (child->err, "cannot read the certificate");
    s_assert_contains (child->err, "--cert FILE or ZJOB_CERT");
    s_child_destroy (&child);

    //  A key the broker refuses (the broker key from the environment): it
    //  says so once, and goes on trying
    setenv ("ZJOB_CERT", mallory, 1);
    char *refused [] = { ZJOB_BIN_DIR "/zjob-worker", "--broker", endpoint, "-w", "echo", "--",
                         "/bin/cat", NULL };
    child = s_spawn (refused, NULL);
    const char *said = "the broker refused this key at the handshake";
    int64_t deadline = zjob_mono_ms () + S_FAST_MS;
    while (!strstr (child->err, said) && zjob_mono_ms () < deadline)
        s_child_read (child, 50);
    s_assert_contains (child->err, said);
    //  Past a READY's wait and a retry (3 heartbeats of 1 s, then a pause)
    deadline = zjob_mono_ms () + 4500;
    while (zjob_mono_ms () < deadline)
        s_child_read (child, 50);
    cr_assert_eq (s_count (child->err, said), 1, "logged more than once: %s", child->err);
    cr_assert_eq (waitpid (child->pid, NULL, WNOHANG), 0, "zjob-worker gave up");

    //  The broker lists the key: the worker gets in by itself
    zcert_t *cert = zcert_load (mallory);
    char command [64];
    snprintf (command, sizeof command, "ALLOW %s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    zjob_test_curve_command (fake, command);
    cr_assert (zjob_test_curve_ready (fake, NULL, 10000), "no READY after the key was listed");
    kill (child->pid, SIGTERM);
    s_child_finish (child, S_RUN_TIMEOUT_MS);
    cr_assert_eq (child->code, 0, "exit %d %s", child->code, child->err);
    s_child_destroy (&child);
    unsetenv ("ZJOB_CERT");
    unsetenv ("ZJOB_BROKER_KEY");
    zjob_test_curve_stop (&fake);
    zcert_destroy (&server);
}
