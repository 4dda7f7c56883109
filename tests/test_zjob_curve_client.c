/*  =========================================================================
    test_zjob_curve_client - libzjob's client and worker over CURVE: a
    key the broker accepts works, and every way the handshake fails is a
    fast 401 that says which, never a timeout

    The broker here is a fake (helper_zjob_curve.c): a ROUTER with CURVE
    on, and a ZAP handler in CZMQ's context, which the client shares, that
    accepts one key and refuses any other, as zjobd's key lists do.
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "helper_zjob_test.h"
#include "helper_zjob_curve.h"
#include "zjob_client.h"
#include "zjob_worker.h"

#define S_TIMEOUT_MS 10000  //  the clients' request timeout: never reached
#define S_FAST_MS 2000      //  a handshake failure is reported within this

static char *s_dir;
static char s_alice [600];      //  alice.key_secret: a key the fake accepts
static char s_mallory [600];    //  mallory.key_secret: a key it does not
static char s_broker_txt [41];  //  The fake's public key
static char s_other_txt [41];   //  Some other broker's public key
static zcert_t *s_server;       //  The fake's certificate

//  A certificate with both keys saved as dir/name.key_secret into path
static void
s_cert_save (const char *name, char *path, size_t size, zcert_t **cert_p)
{
    zcert_t *cert = zcert_new ();
    char public_path [600];
    snprintf (public_path, sizeof public_path, "%s/%s.key", s_dir, name);
    cr_assert_eq (zcert_save (cert, public_path), 0);
    snprintf (path, size, "%s/%s.key_secret", s_dir, name);
    if (cert_p)
        *cert_p = cert;
    else
        zcert_destroy (&cert);
}

static zcert_t *s_alice_cert;

static void
s_setup (void)
{
    s_dir = zjob_test_tmpdir ();
    s_cert_save ("alice", s_alice, sizeof s_alice, &s_alice_cert);
    s_cert_save ("mallory", s_mallory, sizeof s_mallory, NULL);
    s_server = zcert_new ();
    memcpy (s_broker_txt, zcert_public_txt (s_server), 41);
    zcert_t *other = zcert_new ();
    memcpy (s_other_txt, zcert_public_txt (other), 41);
    zcert_destroy (&other);
}

static void
s_teardown (void)
{
    zcert_destroy (&s_alice_cert);
    zcert_destroy (&s_server);
    zjob_test_tmpdir_done (&s_dir);
}

TestSuite (curve_client, .init = s_setup, .fini = s_teardown, .timeout = 60);


//  The fake (helper_zjob_curve.h), accepting alice's key
static zactor_t *
s_fake_start (bool curve, char *endpoint, size_t size)
{
    zactor_t *fake = zjob_test_curve_fake (curve, s_server, zcert_public_txt (s_alice_cert),
                                           endpoint, size);
    cr_assert_not_null (fake);
    return fake;
}

//  A client with cert and broker key, timing its construction
static zjob_client_t *
s_client (const char *endpoint, const char *cert, const char *broker_key, int64_t *elapsed_p,
          zjob_error_t *err)
{
    zjob_connect_opts_t opts = { .cert = cert, .broker_key = broker_key };
    int64_t start = zjob_mono_ms ();
    zjob_client_t *client = zjob_client_new_with (endpoint, S_TIMEOUT_MS, &opts, err);
    *elapsed_p = zjob_mono_ms () - start;
    return client;
}

#define S_REFUSED "the broker refused this key at the handshake: it is not in the broker's key lists for this socket"
#define S_BROKEN "the CURVE handshake with the broker failed: wrong broker key (--broker-key), or the broker does not use CURVE"


//  --------------------------------------------------------------------------
//  The client

Test (curve_client, a_listed_key_works)
{
    char endpoint [64];
    zactor_t *fake = s_fake_start (true, endpoint, sizeof endpoint);
    zjob_error_t err;
    int64_t elapsed;
    zjob_client_t *client = s_client (endpoint, s_alice, s_broker_txt, &elapsed, &err);
    cr_assert_not_null (client, "%d %s", err.code, err.text);
    cr_assert_eq (zjob_client_ping (client, &err), 0, "%s", err.text);
    zjob_client_destroy (&client);

    //  Without a certificate, against a plain broker: as zjob_client_new
    zactor_t *plain = s_fake_start (false, endpoint, sizeof endpoint);
    zjob_connect_opts_t none = { .cert = NULL, .broker_key = s_broker_txt };
    client = zjob_client_new_with (endpoint, S_TIMEOUT_MS, &none, &err);
    cr_assert_not_null (client, "%d %s", err.code, err.text);
    zjob_client_destroy (&client);
    client = zjob_client_new_with (endpoint, S_TIMEOUT_MS, NULL, &err);
    cr_assert_not_null (client, "%d %s", err.code, err.text);
    zjob_client_destroy (&client);
    zjob_test_curve_stop (&plain);
    zjob_test_curve_stop (&fake);
}

Test (curve_client, an_unlisted_key_fails_fast_with_401)
{
    char endpoint [64];
    zactor_t *fake = s_fake_start (true, endpoint, sizeof endpoint);
    zjob_error_t err;
    int64_t elapsed;
    zjob_client_t *client = s_client (endpoint, s_mallory, s_broker_txt, &elapsed, &err);
    cr_assert_null (client);
    cr_assert_eq (err.code, ZJOB_UNAUTHORIZED, "%d %s", err.code, err.text);
    cr_assert_str_eq (err.text, S_REFUSED);
    cr_assert_lt (elapsed, S_FAST_MS, "the refusal took %lld ms", (long long) elapsed);
    zjob_test_curve_stop (&fake);
}

Test (curve_client, a_wrong_broker_key_fails_fast_with_401)
{
    char endpoint [64];
    zactor_t *fake = s_fake_start (true, endpoint, sizeof endpoint);
    zjob_error_t err;
    int64_t elapsed;
    zjob_client_t *client = s_client (endpoint, s_alice, s_other_txt, &elapsed, &err);
    cr_assert_null (client);
    cr_assert_eq (err.code, ZJOB_UNAUTHORIZED, "%d %s", err.code, err.text);
    cr_assert_str_eq (err.text, S_BROKEN);
    cr_assert_lt (elapsed, S_FAST_MS, "the failure took %lld ms", (long long) elapsed);
    zjob_test_curve_stop (&fake);
}

Test (curve_client, a_broker_without_curve_fails_fast_with_401)
{
    char endpoint [64];
    zactor_t *fake = s_fake_start (false, endpoint, sizeof endpoint);
    zjob_error_t err;
    int64_t elapsed;
    zjob_client_t *client = s_client (endpoint, s_alice, s_broker_txt, &elapsed, &err);
    cr_assert_null (client);
    cr_assert_eq (err.code, ZJOB_UNAUTHORIZED, "%d %s", err.code, err.text);
    cr_assert_str_eq (err.text, S_BROKEN);
    cr_assert_lt (elapsed, S_FAST_MS, "the failure took %lld ms", (long long) elapsed);
    zjob_test_curve_stop (&fake);
}

Test (curve_client, bad_options_fail_at_construction_with_400)
{
    char endpoint [64];
    zactor_t *fake = s_fake_start (true, endpoint, sizeof endpoint);
    zjob_error_t err;
    int64_t elapsed;
    char missing [700];
    snprintf (missing, sizeof missing, "%s/nobody.key_secret", s_dir);
    cr_assert_null (s_client (endpoint, missing, s_broker_txt, &elapsed, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "cannot read the certificate"), "%s", err.text);
    cr_assert_null (s_client (endpoint, s_alice, "not-a-key", &elapsed, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "neither 40 Z85 characters"), "%s", err.text);
    const char *const flows [] = { "echo" };
    zjob_connect_opts_t opts = { .cert = missing, .broker_key = s_broker_txt };
    cr_assert_null (zjob_worker_new_with (endpoint, "w", flows, 1, 1, &opts, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    zjob_test_curve_stop (&fake);
}

//  A broker that restarts with other key lists: the request then fails at
//  once, later ones too, and once the key is listed again the client gets
//  in by itself
Test (curve_client, a_refusal_later_fails_requests_until_the_key_is_back)
{
    char endpoint [64];
    zactor_t *fake = s_fake_start (true, endpoint, sizeof endpoint);
    zjob_error_t err;
    int64_t elapsed;
    zjob_client_t *client = s_client (endpoint, s_alice, s_broker_txt, &elapsed, &err);
    cr_assert_not_null (client, "%s", err.text);

    char command [64];
    snprintf (command, sizeof command, "ALLOW %s", s_other_txt);
    zjob_test_curve_command (fake, command);
    zjob_test_curve_command (fake, "RESTART");
    int64_t start = zjob_mono_ms ();
    cr_assert_eq (zjob_client_ping (client, &err), -1);
    cr_assert_eq (err.code, ZJOB_UNAUTHORIZED, "%d %s", err.code, err.text);
    cr_assert_str_eq (err.text, S_REFUSED);
    cr_assert_lt (zjob_mono_ms () - start, S_FAST_MS);
    //  The next one fails at once, asking nothing
    start = zjob_mono_ms ();
    cr_assert_eq (zjob_client_ping (client, &err), -1);
    cr_assert_eq (err.code, ZJOB_UNAUTHORIZED);
    cr_assert_lt (zjob_mono_ms () - start, 100);
    //  So does an asynchronous one
    cr_assert_eq (zjob_client_send_cmd (client, ZJOB_CMD_PING, &err), 0);
    cr_assert_eq (err.code, ZJOB_UNAUTHORIZED);

    //  The broker takes the key again: within a retry's pause, a request gets through
    snprintf (command, sizeof command, "ALLOW %s", zcert_public_txt (s_alice_cert));
    zjob_test_curve_command (fake, command);
    int64_t deadline = zjob_mono_ms () + ZJOB_CLIENT_HANDSHAKE_RETRY_MS + S_FAST_MS;
    int rc = -1;
    while (rc != 0 && zjob_mono_ms () < deadline) {
        rc = zjob_client_ping (client, &err);
        if (rc != 0)
            zclock_sleep (50);  //  A caller trying again; the client paces the handshakes
    }
    cr_assert_eq (rc, 0, "still refused: %s", err.text);
    zjob_client_destroy (&client);
    zjob_test_curve_stop (&fake);
}


//  --------------------------------------------------------------------------
//  The worker

//  Run worker's engine until zjob_worker_error says something or
//  timeout_ms passes; returns what it said
static int
s_worker_error_within (zjob_worker_t *worker, int timeout_ms, zjob_error_t *err)
{
    int64_t deadline = zjob_mono_ms () + timeout_ms;
    zjob_error_clear (err);
    while (zjob_mono_ms () < deadline) {
        zjob_task_t *task;
        zjob_worker_recv (worker, 50, &task, NULL);
        int code = zjob_worker_error (worker, err);
        if (code)
            return code;
    }
    return 0;
}

Test (curve_client, a_worker_with_a_refused_key_reports_it_and_keeps_trying)
{
    char endpoint [64];
    zactor_t *fake = s_fake_start (true, endpoint, sizeof endpoint);
    zjob_error_t err;
    const char *const flows [] = { "echo" };
    zjob_connect_opts_t opts = { .cert = s_mallory, .broker_key = s_broker_txt };
    zjob_worker_t *worker = zjob_worker_new_with (endpoint, "w", flows, 1, 1, &opts, &err);
    cr_assert_not_null (worker, "%s", err.text);
    int64_t start = zjob_mono_ms ();
    cr_assert_eq (s_worker_error_within (worker, S_FAST_MS, &err), ZJOB_UNAUTHORIZED);
    cr_assert_lt (zjob_mono_ms () - start, S_FAST_MS);
    cr_assert_str_eq (err.text, S_REFUSED);
    cr_assert_not (zjob_worker_registered (worker));

    //  The broker lists the key (a reload): the worker's next READY gets in
    char command [64];
    zcert_t *mallory = zcert_load (s_mallory);
    snprintf (command, sizeof command, "ALLOW %s", zcert_public_txt (mallory));
    zcert_destroy (&mallory);
    zjob_test_curve_command (fake, command);
    cr_assert (zjob_test_curve_ready (fake, worker, 15000), "the worker never tried again");
    cr_assert_eq (zjob_worker_error (worker, &err), 0, "%s", err.text);
    zjob_worker_destroy (&worker);
    zjob_test_curve_stop (&fake);
}

Test (curve_client, a_worker_with_a_listed_key_sends_ready)
{
    char endpoint [64];
    zactor_t *fake = s_fake_start (true, endpoint, sizeof endpoint);
    zjob_error_t err;
    const char *const flows [] = { "echo" };
    zjob_connect_opts_t opts = { .cert = s_alice, .broker_key = s_broker_txt };
    zjob_worker_t *worker = zjob_worker_new_with (endpoint, "w", flows, 1, 1, &opts, &err);
    cr_assert_not_null (worker, "%s", err.text);
    cr_assert (zjob_test_curve_ready (fake, worker, S_FAST_MS), "no READY reached the broker");
    cr_assert_eq (zjob_worker_error (worker, &err), 0, "%s", err.text);

    //  A wrong broker key: reported too
    zjob_worker_t *lost = NULL;
    opts.broker_key = s_other_txt;
    lost = zjob_worker_new_with (endpoint, "w", flows, 1, 1, &opts, &err);
    cr_assert_not_null (lost, "%s", err.text);
    cr_assert_eq (s_worker_error_within (lost, S_FAST_MS, &err), ZJOB_UNAUTHORIZED);
    cr_assert_str_eq (err.text, S_BROKEN);
    zjob_worker_destroy (&lost);
    zjob_worker_destroy (&worker);
    zjob_test_curve_stop (&fake);
}
