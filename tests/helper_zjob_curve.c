/*  =========================================================================
    helper_zjob_curve - a fake broker with CURVE, for the client side's
    tests: see the header
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "helper_zjob_curve.h"
#include "zjob_proto.h"
#include "zjob_worker.h"

typedef struct {
    bool curve;         //  CURVE server, else a plain ROUTER
    zcert_t *server;    //  Its certificate (curve)
    char allowed [41];  //  The one key its ZAP handler accepts
} s_fake_args_t;

void
zjob_test_zap_answer (zsock_t *zap, const char *allowed)
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
    bool ok = *text && (!allowed || streq (text, allowed));
    zsock_send (zap, "ssssss", version ? version : "1.0", sequence ? sequence : "",
                ok ? "200" : "400", ok ? "OK" : "not listed", ok ? text : "", "");
    zframe_destroy (&key);
    zstr_free (&version);
    zstr_free (&sequence);
    zmsg_destroy (&request);
}

//  Answer PING, refuse other client requests (404); tell the pipe "READY"
//  for each READY
static void
s_router_answer (zsock_t *router, zsock_t *pipe, zjob_msg_builder_t *builder)
{
    zmsg_t *zmsg = zmsg_recv (router);
    zframe_t *identity = zmsg_pop (zmsg);
    zframe_t *frame = zmsg_pop (zmsg);
    zframe_t *reply = NULL;
    zjob_msg_t *msg = frame ? zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                               ZJOB_ROUTE_CLIENT_BROKER, NULL)
                            : NULL;
    if (msg && zjob_msg_command (msg) == ZJOB_CMD_PING) {
        zjob_msg_begin (builder, ZJOB_CMD_OK, zjob_msg_request_id (msg));
        zjob_msg_add_uint (builder, "version", ZJOB_PROTO_VERSION);
        zjob_msg_add_uint (builder, "time", (uint64_t) zjob_clock_ms ());
        reply = zjob_msg_end (builder, NULL);
    }
    else if (msg) {
        zjob_error_t error;
        zjob_error_set (&error, ZJOB_NOT_FOUND, "the fake broker knows no jobs");
        reply = zjob_msg_error_new (zjob_msg_request_id (msg), &error);
    }
    else if (frame) {
        msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                               ZJOB_ROUTE_WORKER_BROKER, NULL);
        if (msg && zjob_msg_command (msg) == ZJOB_CMD_READY)
            zstr_send (pipe, "READY");
    }
    if (reply) {
        zframe_send (&identity, router, ZFRAME_MORE);
        zframe_send (&reply, router, 0);
    }
    zjob_msg_destroy (&msg);
    zframe_destroy (&identity);
    zframe_destroy (&frame);
    zmsg_destroy (&zmsg);
}

//  A ROUTER on port (0: any); NULL if it cannot bind within 5 s (the old
//  ROUTER's listener closes in the background: the same port may take a
//  moment to be free)
static zsock_t *
s_router_new (const s_fake_args_t *args, int port)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    if (args->curve) {
        zsock_set_zap_domain (router, "clients");
        zcert_apply (args->server, router);
        zsock_set_curve_server (router, 1);
    }
    zsock_set_linger (router, 0);
    int64_t deadline = zclock_mono () + 5000;
    int bound = -1;
    while (bound <= 0 && zclock_mono () < deadline) {
        bound = port ? zsock_bind (router, "tcp://127.0.0.1:%d", port)
                     : zsock_bind (router, "tcp://127.0.0.1:*");
        if (bound <= 0)
            zclock_sleep (10);
    }
    if (bound <= 0)
        zsock_destroy (&router);
    return router;
}

//  Handle a command from the pipe; false on $TERM
static bool
s_pipe_command (zsock_t *pipe, s_fake_args_t *args, zpoller_t *poller, zsock_t **router_p,
                int port)
{
    char *command = zstr_recv (pipe);
    bool done = !command || streq (command, "$TERM");
    if (command && strncmp (command, "ALLOW ", 6) == 0)
        snprintf (args->allowed, sizeof args->allowed, "%s", command + 6);
    else if (command && streq (command, "RESTART")) {
        zpoller_remove (poller, *router_p);
        zsock_destroy (router_p);
        *router_p = s_router_new (args, port);
        if (*router_p)
            zpoller_add (poller, *router_p);
    }
    if (!done)
        zsock_signal (pipe, 0);
    zstr_free (&command);
    return !done;
}

static void
s_fake_broker (zsock_t *pipe, void *arg)
{
    s_fake_args_t *args = (s_fake_args_t *) arg;
    zsock_t *zap = args->curve ? zsock_new_rep ("inproc://zeromq.zap.01") : NULL;
    zsock_t *router = s_router_new (args, 0);
    int port = router ? atoi (strrchr (zsock_endpoint (router), ':') + 1) : 0;
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zsock_signal (pipe, 0);
    zsock_send (pipe, "i", (zap || !args->curve) && router ? port : 0);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    if (router)
        zpoller_add (poller, router);
    if (zap)
        zpoller_add (poller, zap);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (zap && which == zap)
            zjob_test_zap_answer (zap, args->allowed);
        else if (router && which == router)
            s_router_answer (router, pipe, builder);
        else if (which != pipe || !s_pipe_command (pipe, args, poller, &router, port))
            break;
    }
    zpoller_destroy (&poller);
    zjob_msg_builder_destroy (&builder);
    zsock_destroy (&router);
    zsock_destroy (&zap);
    free (args);
}

zactor_t *
zjob_test_curve_fake (bool curve, zcert_t *server, const char *allowed, char *endpoint,
                      size_t size)
{
    s_fake_args_t *args = (s_fake_args_t *) calloc (1, sizeof (s_fake_args_t));
    args->curve = curve;
    args->server = server;
    snprintf (args->allowed, sizeof args->allowed, "%s", allowed);
    zactor_t *fake = zactor_new (s_fake_broker, args);
    int port = 0;
    zsock_recv (fake, "i", &port);
    if (port <= 0) {
        zactor_destroy (&fake);
        return NULL;
    }
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", port);
    return fake;
}

void
zjob_test_curve_command (zactor_t *fake, const char *command)
{
    zstr_send (fake, command);
    zsock_wait (fake);
}

bool
zjob_test_curve_ready (zactor_t *fake, void *worker, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    bool ready = false;
    while (!ready && zclock_mono () < deadline) {
        if (worker) {
            zjob_task_t *task;
            zjob_worker_recv ((zjob_worker_t *) worker, 50, &task, NULL);
        }
        zsock_set_rcvtimeo (zactor_sock (fake), worker ? 0 : 50);
        char *said = zstr_recv (fake);
        ready = said && streq (said, "READY");
        zstr_free (&said);
    }
    zsock_set_rcvtimeo (zactor_sock (fake), -1);
    return ready;
}

void
zjob_test_curve_stop (zactor_t **fake_p)
{
    if (fake_p && *fake_p) {
        zsock_set_rcvtimeo (zactor_sock (*fake_p), -1);
        zactor_destroy (fake_p);
    }
}
