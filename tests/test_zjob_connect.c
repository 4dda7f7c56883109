/*  =========================================================================
    test_zjob_connect - a peer's CURVE options: certificates and the
    broker's key, and the plain errors when either is wrong; endpoint
    lists: their checks, the socket options a list sets, and a client, a
    worker and a subscriber given a list whose first broker is absent
    (a standby binds nothing) that serve through the second
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "zjob_connect.h"
#include "zjob_client.h"
#include "zjob_worker.h"
#include "zjob_broker.h"
#include "helper_zjob_test.h"

static char *s_dir;
static char s_own [600];     //  alice.key_secret: both keys, user_id alice
static char s_public [600];  //  alice.key: the public half
static char s_broker [600];  //  broker.key: a broker's public certificate
static char s_broker_txt [41];

static void
s_setup (void)
{
    s_dir = zjob_test_tmpdir ();
    zcert_t *cert = zcert_new ();
    zcert_set_meta (cert, "user_id", "%s", "alice");
    snprintf (s_public, sizeof (s_public), "%s/alice.key", s_dir);
    snprintf (s_own, sizeof (s_own), "%s/alice.key_secret", s_dir);
    cr_assert_eq (zcert_save (cert, s_public), 0);
    zcert_destroy (&cert);
    cert = zcert_new ();
    snprintf (s_broker, sizeof (s_broker), "%s/broker.key", s_dir);
    cr_assert_eq (zcert_save_public (cert, s_broker), 0);
    memcpy (s_broker_txt, zcert_public_txt (cert), 41);
    zcert_destroy (&cert);
}

static void
s_teardown (void)
{
    zjob_test_tmpdir_done (&s_dir);
}

TestSuite (connect, .init = s_setup, .fini = s_teardown);

static int
s_apply (const char *cert, const char *broker_key, zjob_error_t *err)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    zjob_connect_opts_t opts = { cert, broker_key };
    int rc = zjob_connect_apply (sock, &opts, err);
    zsock_destroy (&sock);
    return rc;
}

Test (connect, no_cert_is_no_curve)
{
    zjob_error_t err;
    cr_assert_not (zjob_connect_secure (NULL));
    zjob_connect_opts_t opts = { NULL, "whatever" };
    cr_assert_not (zjob_connect_secure (&opts));
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    cr_assert_eq (zjob_connect_apply (sock, &opts, &err), 0);
    cr_assert_eq (zsock_mechanism (sock), ZMQ_NULL);
    zsock_destroy (&sock);
}

Test (connect, a_secret_cert_and_a_key_or_file_make_a_curve_client)
{
    zjob_error_t err;
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    zjob_connect_opts_t opts = { s_own, s_broker_txt };
    cr_assert_eq (zjob_connect_apply (sock, &opts, &err), 0, "%s", err.text);
    cr_assert_eq (zsock_mechanism (sock), ZMQ_CURVE);
    char *server = zsock_curve_serverkey (sock);
    cr_assert_str_eq (server, s_broker_txt);
    zstr_free (&server);
    zsock_destroy (&sock);
    cr_assert_eq (s_apply (s_own, s_broker, &err), 0, "%s", err.text);
}

Test (connect, wrong_files_and_keys_say_what_is_wrong)
{
    zjob_error_t err;
    cr_assert_eq (s_apply ("/nonexistent/me.key_secret", s_broker_txt, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_not_null (strstr (err.text, "cannot read the certificate"), "%s", err.text);
    //  broker.key has no broker.key_secret beside it (zcert_load would read that)
    cr_assert_eq (s_apply (s_broker, s_broker_txt, &err), -1);
    cr_assert_not_null (strstr (err.text, "no secret key"), "%s", err.text);
    cr_assert_eq (s_apply (s_own, NULL, &err), -1);
    cr_assert_not_null (strstr (err.text, "no broker key"), "%s", err.text);
    cr_assert_eq (s_apply (s_own, "short", &err), -1);
    cr_assert_not_null (strstr (err.text, "neither 40 Z85"), "%s", err.text);
    //  40 characters, not Z85 ('"' is outside its alphabet)
    cr_assert_eq (s_apply (s_own, "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"", &err), -1);
}


//  --------------------------------------------------------------------------
//  Endpoint lists

Test (connect, lists_are_checked_item_by_item)
{
    zjob_error_t err;
    size_t count = 0;
    cr_assert_eq (zjob_connect_check ("tcp://127.0.0.1:5570", &count, &err), 0);
    cr_assert_eq (count, 1);
    cr_assert_eq (zjob_connect_check ("tcp://a:5570,tcp://b:5570", &count, &err), 0, "%s",
                  err.text);
    cr_assert_eq (count, 2);
    cr_assert (zjob_connect_is_list ("tcp://a:5570,tcp://b:5570"));
    cr_assert_not (zjob_connect_is_list ("tcp://a:5570"));
    cr_assert_not (zjob_connect_is_list (NULL));

    struct {
        const char *list;
        const char *says;
    } bad [] = {
        { "", "no endpoint given" },
        { "tcp://a:5570,,tcp://b:5570", "item 2 is empty" },
        { "tcp://a:5570,", "item 2 is empty" },
        { ",tcp://a:5570", "item 1 is empty" },
        { "tcp://a:5570,b:5570", "an endpoint must include a transport" },
        { "a:5570", "an endpoint must include a transport" },
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        zjob_error_clear (&err);
        cr_assert_eq (zjob_connect_check (bad [index].list, NULL, &err), -1, "%s",
                      bad [index].list);
        cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
        cr_assert (strstr (err.text, bad [index].says), "\"%s\": %s", bad [index].list,
                   err.text);
    }
    cr_assert_eq (zjob_connect_check (NULL, NULL, &err), -1);

    //  16 at most
    char list [2048] = "";
    for (int index = 0; index < ZJOB_CONNECT_ENDPOINTS_MAX; index++)
        snprintf (list + strlen (list), sizeof list - strlen (list), "%stcp://127.0.0.1:%d",
                  index ? "," : "", 6000 + index);
    cr_assert_eq (zjob_connect_check (list, &count, &err), 0, "%s", err.text);
    cr_assert_eq (count, ZJOB_CONNECT_ENDPOINTS_MAX);
    strcat (list, ",tcp://127.0.0.1:7000");
    cr_assert_eq (zjob_connect_check (list, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "too many endpoints"), "%s", err.text);

    //  The constructors refuse a bad list the same way
    zjob_client_t *client = zjob_client_new ("tcp://127.0.0.1:1,,tcp://127.0.0.1:2", 500, &err);
    cr_assert_null (client);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    const char *workflows [] = { "w" };
    zjob_worker_t *worker = zjob_worker_new (list, "w", workflows, 1, 1, &err);
    cr_assert_null (worker);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    zjob_events_t *events = zjob_events_new ("tcp://127.0.0.1:1,", &err);
    cr_assert_null (events);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
}

Test (connect, a_list_sets_immediate_and_heartbeats_one_endpoint_does_not)
{
    zjob_error_t err;
    zsock_t *one = zsock_new (ZMQ_DEALER);
    cr_assert_eq (zjob_connect_endpoints (one, "tcp://127.0.0.1:9", &err), 0, "%s", err.text);
    cr_assert_eq (zsock_immediate (one), 0);
    cr_assert_eq (zsock_heartbeat_ivl (one), 0);
    zjob_connect_disconnect (one, "tcp://127.0.0.1:9");
    zsock_destroy (&one);

    zsock_t *two = zsock_new (ZMQ_DEALER);
    cr_assert_eq (zjob_connect_endpoints (two, "tcp://127.0.0.1:9,tcp://127.0.0.1:10", &err), 0,
                  "%s", err.text);
    cr_assert_eq (zsock_immediate (two), 1);
    cr_assert_eq (zsock_heartbeat_ivl (two), ZJOB_CONNECT_HEARTBEAT_IVL_MS);
    cr_assert_eq (zsock_heartbeat_timeout (two), ZJOB_CONNECT_HEARTBEAT_TIMEOUT_MS);
    //  Nothing is connected: a send fails at once rather than queue for
    //  a broker that may never come, and writable waits, then says no
    cr_assert_eq (zmq_send (zsock_resolve (two), "x", 1, ZMQ_DONTWAIT), -1);
    cr_assert_not (zjob_connect_writable (two, 50));
    zsock_destroy (&two);

    //  An item that cannot be connected undoes the ones before it
    zsock_t *three = zsock_new (ZMQ_DEALER);
    cr_assert_eq (zjob_connect_endpoints (three, "tcp://127.0.0.1:9,bogus://x", &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "bogus://x"), "%s", err.text);
    zsock_destroy (&three);
}

//  A tcp endpoint on 127.0.0.1 that nothing listens on: a port the kernel
//  gave, released (the first broker of a list, absent)
static void
s_absent (char *endpoint, size_t size)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (sock, "tcp://127.0.0.1:*");
    cr_assert_gt (port, 0);
    zsock_destroy (&sock);
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", port);
}

//  The OK the worker's recv waits for: one task of workflow w, completed
static void
s_serve_one (zjob_worker_t *worker)
{
    zjob_task_t *task = NULL;
    int64_t deadline = zjob_mono_ms () + 10000;
    zjob_error_t err;
    while (!task && zjob_mono_ms () < deadline) {
        int event = zjob_worker_recv (worker, 100, &task, &err);
        cr_assert_geq (event, 0, "%s", err.text);
        if (event != ZJOB_WORKER_TASK)
            task = NULL;
    }
    cr_assert_not_null (task, "the worker got no job through its list");
    cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_worker_flush (worker, 5000), 0);
}

Test (connect, a_client_and_a_worker_serve_through_the_second_of_a_list)
{
    zjob_test_broker_t broker;
    zjob_error_t err;
    cr_assert_eq (zjob_test_broker_start (&broker, "memory:", NULL, &err), 0, "%s", err.text);
    char absent [64], list [600];
    s_absent (absent, sizeof absent);

    //  Every request goes to the broker that is there: without
    //  ZMQ_IMMEDIATE half of them would wait on the absent one's pipe and
    //  time out (the calls' resends within 900 ms would not save them all)
    snprintf (list, sizeof list, "%s,%s", absent, broker.clients);
    zjob_client_t *client = zjob_client_new (list, 900, &err);
    cr_assert_not_null (client, "%s", err.text);
    char ids [20][ZJOB_ID_LEN + 1];
    for (int index = 0; index < 20; index++) {
        zjob_spec_t spec = { .workflow_id = "w" };
        int64_t started = zjob_mono_ms ();
        cr_assert_eq (zjob_client_submit (client, &spec, true, ids [index], &err), 0,
                      "submit %d: %s", index, err.text);
        cr_assert_lt (zjob_mono_ms () - started, 250, "submit %d waited for a resend", index);
    }
    //  The asynchronous path too: each request sent once, each answered
    for (int index = 0; index < 20; index++) {
        zjob_spec_t spec = { .workflow_id = "other" };
        cr_assert_neq (zjob_client_send_submit (client, &spec, 1, true, &err), 0, "%s",
                       err.text);
    }
    for (int index = 0; index < 20; index++) {
        zjob_reply_t *reply = zjob_client_recv (client, 2000, &err);
        cr_assert_not_null (reply, "reply %d: %s", index, err.text);
        cr_assert_eq (zjob_reply_status (reply), ZJOB_OK);
        zjob_reply_destroy (&reply);
    }

    //  The worker: its READY waits for the connection that completes
    snprintf (list, sizeof list, "%s,%s", absent, broker.workers);
    const char *workflows [] = { "w" };
    zjob_worker_t *worker = zjob_worker_new (list, "listed", workflows, 1, 4, &err);
    cr_assert_not_null (worker, "%s", err.text);
    for (int index = 0; index < 20; index++)
        s_serve_one (worker);
    int64_t deadline = zjob_mono_ms () + 10000;
    for (int index = 0; index < 20; index++) {
        int status;
        while ((status = zjob_client_status (client, ids [index], &err)) != ZJOB_COMPLETED
               && zjob_mono_ms () < deadline)
            zclock_sleep (20);  //  The result's OK comes on the worker's side
        cr_assert_eq (status, ZJOB_COMPLETED, "job %d: %d", index, status);
    }
    zjob_worker_destroy (&worker);
    zjob_client_destroy (&client);

    //  A subscriber with a list hears the broker that is there
    snprintf (list, sizeof list, "%s,%s", absent, broker.events);
    zjob_events_t *events = zjob_events_new (list, &err);
    cr_assert_not_null (events, "%s", err.text);
    zjob_events_destroy (&events);
    zjob_test_broker_stop (&broker);
}
