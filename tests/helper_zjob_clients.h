/*  =========================================================================
    helper_zjob_clients - what the tests of the client request handlers
    share

    Included by test_zjob_clients.c, test_zjob_clients_batch.c and
    test_zjob_clients_roles.c: a handler over a manager on the memory
    store and an empty registry (s_setup, s_teardown), and the round
    trip of one request: built in s_request, encoded and decoded with the
    proto codec, handled as from a peer, and the OK decoded again as a
    client reads it. All static, as helper_zjob_manager.h.
    ========================================================================= */

#ifndef HELPER_ZJOB_CLIENTS_H_INCLUDED
#define HELPER_ZJOB_CLIENTS_H_INCLUDED

#include <criterion/criterion.h>
#include <string.h>
#include "zjob_clients.h"
#include "zjob_proto.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"

static zjob_manager_t *s_manager = NULL;
static zjob_registry_t *s_registry = NULL;
static zjob_clients_t *s_clients = NULL;
static zjob_msg_builder_t *s_request = NULL;
static zjob_msg_builder_t *s_reply = NULL;

static void
s_setup (void)
{
    zjob_error_t err;
    s_manager = zjob_manager_open ("memory:", NULL, &err);
    s_registry = zjob_registry_new (1000, 3);
    cr_assert (s_manager && s_registry);
    s_clients = zjob_clients_new (s_manager, s_registry, NULL, 0);
    s_request = zjob_msg_builder_new ();
    s_reply = zjob_msg_builder_new ();
    cr_assert (s_clients && s_request && s_reply);
}

static void
s_teardown (void)
{
    zjob_clients_destroy (&s_clients);
    zjob_registry_destroy (&s_registry);
    zjob_manager_destroy (&s_manager);
    zjob_msg_builder_destroy (&s_request);
    zjob_msg_builder_destroy (&s_reply);
}

//  Decode the request in s_request and hand it to the handler as from
//  peer (NULL: the broker without CURVE); returns what the handler
//  returned (err filled on -1). A request left pending is kept for rid
//  (NULL: it must not be left pending).
static int
s_handle_raw (const zjob_peer_t *peer, const char *rid, zjob_error_t *err)
{
    zframe_t *frame = zjob_msg_end (s_request, err);
    cr_assert_not_null (frame);
    zjob_msg_t *request = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                           ZJOB_ROUTE_CLIENT_BROKER, err);
    cr_assert_not_null (request, "%s", err->text);
    int rc = zjob_clients_handle (s_clients, request, peer, s_reply, zjob_mono_ms (), err);
    if (rc == ZJOB_CLIENTS_PENDING) {
        cr_assert_not_null (rid, "the request was left pending");
        cr_assert_eq (zjob_clients_defer (s_clients, (const uint8_t *) rid, strlen (rid), err), 0);
    }
    zjob_msg_destroy (&request);
    zframe_destroy (&frame);
    return rc;
}

//  The OK built in s_reply, decoded as a client reads it
static zjob_msg_t *
s_reply_decoded (void)
{
    zjob_error_t err;
    zframe_t *frame = zjob_msg_end (s_reply, &err);
    cr_assert_not_null (frame, "%s", err.text);
    zjob_msg_t *reply = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                         ZJOB_ROUTE_BROKER_CLIENT, &err);
    cr_assert_not_null (reply, "%s", err.text);
    zjob_msg_adopt (reply, &frame);
    return reply;
}

//  Handle the request in s_request as from peer, and return the decoded
//  OK (or NULL, with *rc_p -1 and err filled)
static zjob_msg_t *
s_handle_as (const zjob_peer_t *peer, int *rc_p, zjob_error_t *err)
{
    *rc_p = s_handle_raw (peer, NULL, err);
    return *rc_p < 0 ? NULL : s_reply_decoded ();
}

//  The same, from the broker without CURVE
static zjob_msg_t *
s_handle (int *rc_p, zjob_error_t *err)
{
    return s_handle_as (NULL, rc_p, err);
}

#pragma GCC diagnostic pop

#endif
