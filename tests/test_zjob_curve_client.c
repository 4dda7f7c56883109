/*  =========================================================================
    test_zjob_curve_client - libzjob's client and worker over CURVE: a
    key the broker accepts works, and every way the handshake fails is a
    fast 401 that says which, never a timeout

    The broker here is a fake in the test: a ROUTER with CURVE on, and a
    ZAP handler (a REP on inproc://zeromq.zap.01, in CZMQ's context, which
    the client shares) that accepts one key and refuses any other, as
    zjobd's key lists do. It answers PING and counts the READYs it gets.
    Criterion runs each test in a process of its own, so each has its own
    ZAP endpoint.
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "helper_zjob_test.h"
#include "zjob_client.h"
#include "zjob_worker.h"

#define S_TIMEOUT_MS 10000  //  the clients' request timeout: never reached
#define S_FAST_MS 2000      //  a handshake failure is reported within this

static char *s_dir;
static char s_alice [600];     //  alice.key_secret: a key the fake accepts
static char s_mallory [600];   //  mallory.key_secret: a key it does not
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


//  --------------------------------------------------------------------------
//  The fake broker

typedef struct {
    bool curve;         //  CURVE server, else a plain ROUTER
    char allowed [41];  //  The one key its ZAP handler accepts
} s_fake_args_t;

//  Answer one ZAP request: 200 for the allowed key, 400 for any other
static void
s_zap_answer (zsock_t *zap, const char *allowed)
{
    zmsg_t *request = zmsg_recv (zap);
    if (!request)
        return;
    char *version = zmsg_popstr (request);
    char *sequence = zmsg_popstr (request);
    for (int skip = 0; skip < 4; skip++) {  //  domain, address, identity, mechanism
        zframe_t *frame = zmsg_pop (request);
        zframe_destroy (&frame);
    }
    zframe_t *key = zmsg_pop (request);
    char text [41] = "";
    if (key && zframe_size (key) == 32)
        zmq_z85_encode (text, zframe_data (key), 32);
    bool ok = streq (text, allowed);
    zsock_send (zap, "ssssss", version, sequence, ok ? "200" : "400", ok ? "OK" : "not listed",
                ok ? text : "", "");
    zframe_destroy (&key);
    zstr_free (&version);
    zstr_free (&sequence);
    zmsg_destroy (&request);
}

//  Answer PING; tell the pipe "READY" for each READY
static void
s_router_answer (zsock_t *router, zsock_t *pipe, zjob_msg_builder_t *builder)
{
    zmsg_t *zmsg = zmsg_recv (router);
    zframe_t *identity = zmsg_pop (zmsg);
    zframe_t *frame = zmsg_pop (zmsg);
    zjob_msg_t *msg = frame ? zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                               ZJOB_ROUTE_CLIENT_BROKER, NULL)
                            : NULL;
    if (!msg && frame)
        msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                               ZJOB_ROUTE_WORKER_BROKER, NULL);
    if (msg && zjob_msg_command (msg) == ZJOB_CMD_PING) {
        zjob_msg_begin (builder, ZJOB_CMD_OK, zjob_msg_request_id (msg));
        zjob_msg_add_uint (builder, "version", ZJOB_PROTO_VERSION);
        zjob_msg_add_uint (builder, "time", (uint64_t) zjob_clock_ms ());
        zframe_t *reply = zjob_msg_end (builder, NULL);
        zframe_send (&identity, router, ZFRAME_MORE);
        zframe_send (&reply, router, 0);
    }
    else if (msg && zjob_msg_command (msg) == ZJOB_CMD_READY)
        zstr_send (pipe, "READY");
    zjob_msg_destroy (&msg);
    zframe_destroy (&identity);
    zframe_destroy (&frame);
    zmsg_destroy (&zmsg);
}

static zsock_t *
s_router_new (bool curve, int port)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    if (curve) {
        zsock_set_zap_domain (router, "clients");
        zcert_apply (s_server, router);
        zsock_set_curve_server (router, 1);
    }
    zsock_set_linger (router, 0);
    //  The old ROUTER's listener closes in the background: the same port
    //  may take a moment to be free
    int64_t deadline = zjob_mono_ms () + 5000;
    int bound = -1;
    while (bound <= 0 && zjob_mono_ms () < deadline) {
        bound = port ? zsock_bind (router, "tcp://127.0.0.1:%d", port)
                     : zsock_bind (router, "tcp://127.0.0.1:*");
        if (bound <= 0)
            zclock_sleep (10);
    }
    cr_assert_gt (bound, 0);
    return router;
}

//  The fake's commands on its pipe: "ALLOW KEY" (its ZAP handler accepts
//  KEY from now on) and "RESTART" (a new ROUTER on the same port: every
//  peer handshakes again); each answered with a signal
static void
s_fake_broker (zsock_t *pipe, void *arg)
{
    s_fake_args_t *args = (s_fake_args_t *) arg;
    zsock_t *zap = args->curve ? zsock_new_rep ("inproc://zeromq.zap.01") : NULL;
    cr_assert (zap || !args->curve);
    zsock_t *router = s_router_new (args->curve, 0);
    int port = zsock_endpoint (router) ? atoi (strrchr (zsock_endpoint (router), ':') + 1) : 0;
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zsock_signal (pipe, 0);
    zsock_send (pipe, "i", port);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    if (zap)
        zpoller_add (poller, zap);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (zap && which == zap)
            s_zap_answer (zap, args->allowed);
        else if (which == router)
            s_router_answer (router, pipe, builder);
        else if (which == pipe) {
            char *command = zstr_recv (pipe);
            bool done = !command || streq (command, "$TERM");
            if (command && strncmp (command, "ALLOW ", 6) == 0)
                snprintf (args->allowed, sizeof args->allowed, "%s", command + 6);
            else if (command && streq (command, "RESTART")) {
                zpoller_remove (poller, router);
                zsock_destroy (&router);
                router = s_router_new (args->curve, port);
                zpoller_add (poller, router);
            }
            if (!done)
                zsock_signal (pipe, 0);
            zstr_free (&command);
            if (done)
                break;
        }
        else
            break;
    }
    zpoller_destroy (&poller);
    zjob_msg_builder_destroy (&builder);
    zsock_destroy (&router);
    zsock_destroy (&zap);
}

static s_fake_args_t s_args [2];  //  One CURVE fake and one plain at most

//  Start the fake (CURVE or not, accepting alice's key); its endpoint into
//  endpoint
static zactor_t *
s_fake_start (bool curve, char *endpoint, size_t size)
{
    s_fake_args_t *args = &s_args [curve];
    args->curve = curve;
    memcpy (args->allowed, zcert_public_txt (s_alice_cert), 41);
    zactor_t *fake = zactor_new (s_fake_broker, args);
    int port = 0;
    zsock_recv (fake, "i", &port);
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", port);
    return fake;
}

//  Stop the fake (its pipe may have been read without waiting)
static void
s_fake_stop (zactor_t **fake_p)
{
    zsock_set_rcvtimeo (zactor_sock (*fake_p), -1);
    zactor_destroy (fake_p);
}

static void
s_fake_command (zactor_t *fake, const char *command)
{
    zstr_send (fake, command);
    zsock_wait (fake);
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
    s_fake_stop (&plain);
    s_fake_stop (&fake);
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
    s_fake_stop (&fake);
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
    s_fake_stop (&fake);
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
    s_fake_stop (&fake);
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
    s_fake_stop (&fake);
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
    s_fake_command (fake, command);
    s_fake_command (fake, "RESTART");
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
    s_fake_command (fake, command);
    int64_t deadline = zjob_mono_ms () + ZJOB_CLIENT_HANDSHAKE_RETRY_MS + S_FAST_MS;
    int rc = -1;
    while (rc != 0 && zjob_mono_ms () < deadline) {
        rc = zjob_client_ping (client, &err);
        if (rc != 0)
            zclock_sleep (50);  //  A caller trying again; the client paces the handshakes
    }
    cr_assert_eq (rc, 0, "still refused: %s", err.text);
    zjob_client_destroy (&client);
    s_fake_stop (&fake);
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
    s_fake_command (fake, command);
    zsock_set_rcvtimeo (zactor_sock (fake), 0);
    char *ready = NULL;
    int64_t deadline = zjob_mono_ms () + 15000;
    while (!ready && zjob_mono_ms () < deadline) {
        zjob_task_t *task;
        zjob_worker_recv (worker, 50, &task, NULL);
        ready = zstr_recv (fake);
    }
    cr_assert_not_null (ready, "the worker never tried again");
    cr_assert_str_eq (ready, "READY");
    zstr_free (&ready);
    cr_assert_eq (zjob_worker_error (worker, &err), 0, "%s", err.text);
    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
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
    zsock_set_rcvtimeo (zactor_sock (fake), 0);
    char *ready = NULL;
    int64_t deadline = zjob_mono_ms () + S_FAST_MS;
    while (!ready && zjob_mono_ms () < deadline) {
        zjob_task_t *task;
        zjob_worker_recv (worker, 50, &task, NULL);
        ready = zstr_recv (fake);
    }
    cr_assert_not_null (ready, "no READY reached the broker");
    zstr_free (&ready);
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
    s_fake_stop (&fake);
}
