/*  =========================================================================
    zjob_events - the events API of libzjob: a subscriber to the broker's
    events

    A SUB socket on the broker's events endpoint, subscribed with the
    topic prefixes of PROTOCOL.md 11 (zjob_event_prefix builds them). Each
    publication is [topic][EVENT]; the EVENT is decoded into a small
    struct, and the repeat of an event that overlapping subscriptions
    deliver twice in a row (same sequence number) is dropped.

    With CURVE the socket is an XSUB instead, and subscribing is sending
    the subscription message itself (1 + prefix; 0 + prefix to undo). A
    broker with CURVE applies a client key's subscriptions under its
    user's prefix, "ev/" as "u/alice/ev/", and sends it the events of its
    own jobs under that prefix; a SUB filters what arrives by the prefixes
    it sent, "ev/", and would drop them all. The XSUB keeps no filter and
    takes what the broker sends. It still counts its subscriptions: a
    prefix subscribed twice is unsubscribed (0 sent) by the second undo,
    and it sends them all again when it reconnects, as a SUB does.
    ========================================================================= */

#include <string.h>
#include "zjob_client.h"
#include "zjob_proto.h"
#include "zjob_connect.h"

struct _zjob_events_t {
    zsock_t *sock;      //  SUB (XSUB with CURVE), connected to the broker's events
    bool xsub;          //  Subscriptions are sent as messages
    uint64_t last_seq;  //  Sequence number of the last event returned
};

static int
s_remaining (int64_t deadline)
{
    int64_t left = deadline - zjob_mono_ms ();
    return left > 0 ? (int) left : 0;
}

zjob_events_t *
zjob_events_new (const char *endpoint, zjob_error_t *err)
{
    return zjob_events_new_with (endpoint, NULL, err);
}

zjob_events_t *
zjob_events_new_with (const char *endpoint, const zjob_connect_opts_t *opts,
                      zjob_error_t *err)
{
    if (zjob_connect_check (endpoint, NULL, err))
        return NULL;
    if (zjob_czmq_init ()) {
        zjob_error_set (err, ZJOB_INTERNAL, "CZMQ cannot start (zsys_init failed)");
        return NULL;
    }
    bool secure = zjob_connect_secure (opts);
    zjob_events_t *self = (zjob_events_t *) zmalloc (sizeof (zjob_events_t));
    if (self) {
        self->xsub = secure;
        self->sock = zsock_new (secure ? ZMQ_XSUB : ZMQ_SUB);
    }
    if (!self || !self->sock) {
        zjob_events_destroy (&self);
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    zjob_proto_socket_setup (self->sock);
    zsock_set_linger (self->sock, 0);
    if (zjob_connect_apply (self->sock, opts, err)) {
        zjob_events_destroy (&self);
        return NULL;
    }
    //  A list: the events of whichever broker of it serves (a standby
    //  binds nothing, so publishes nothing)
    if (zjob_connect_endpoints (self->sock, endpoint, err)) {
        zjob_events_destroy (&self);
        return NULL;
    }
    return self;
}

void
zjob_events_destroy (zjob_events_t **self_p)
{
    if (self_p && *self_p) {
        zsock_destroy (&(*self_p)->sock);
        free (*self_p);
        *self_p = NULL;
    }
}

static int
s_events_prefix (char *prefix, const char *type, const char *workflow_id, const char *id,
                 zjob_error_t *err)
{
    if (zjob_event_prefix (prefix, ZJOB_TOPIC_MAX, type, workflow_id, id) != 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "subscription does not fit in %d bytes",
                               ZJOB_TOPIC_MAX);
    return 0;
}

//  Subscribe (or undo it) to prefix
static int
s_events_apply (zjob_events_t *self, bool subscribe, const char *prefix, zjob_error_t *err)
{
    if (!self->xsub) {
        if (subscribe)
            zsock_set_subscribe (self->sock, prefix);
        else
            zsock_set_unsubscribe (self->sock, prefix);
        return 0;
    }
    //  The XSUB keeps it and sends it to the broker now if connected, at
    //  each (re)connection otherwise: a send that never blocks
    uint8_t message [ZJOB_TOPIC_MAX + 1];
    size_t size = strlen (prefix);
    message [0] = subscribe ? 1 : 0;
    memcpy (message + 1, prefix, size);
    if (zmq_send (zsock_resolve (self->sock), message, size + 1, ZMQ_DONTWAIT) == -1)
        return zjob_error_set (err, ZJOB_UNAVAILABLE, "cannot send the subscription: %s",
                               zmq_strerror (zmq_errno ()));
    return 0;
}

int
zjob_events_subscribe (zjob_events_t *self, const char *type, const char *workflow_id,
                       const char *id, zjob_error_t *err)
{
    char prefix [ZJOB_TOPIC_MAX];
    if (s_events_prefix (prefix, type, workflow_id, id, err))
        return -1;
    return s_events_apply (self, true, prefix, err);
}

int
zjob_events_unsubscribe (zjob_events_t *self, const char *type, const char *workflow_id,
                         const char *id, zjob_error_t *err)
{
    char prefix [ZJOB_TOPIC_MAX];
    if (s_events_prefix (prefix, type, workflow_id, id, err))
        return -1;
    return s_events_apply (self, false, prefix, err);
}

static void
s_copy_field (char *into, size_t size, zjob_msg_t *msg, const char *key)
{
    const char *value = zjob_msg_str (msg, key);
    snprintf (into, size, "%s", value ? value : "");
}

static int
s_status_field (zjob_msg_t *msg, const char *key)
{
    const char *name = zjob_msg_str (msg, key);
    return name ? zjob_status_parse (name) : -1;
}

//  Decode one [topic, EVENT] message into event; -1 if it is not one
static int
s_event_decode (const void *data, size_t size, zjob_event_info_t *event)
{
    zjob_msg_t *msg = zjob_msg_decode (data, size, ZJOB_ROUTE_EVENTS, NULL);
    if (!msg || zjob_msg_command (msg) != ZJOB_CMD_EVENT) {
        zjob_msg_destroy (&msg);
        return -1;
    }
    memset (event, 0, sizeof (*event));
    s_copy_field (event->type, sizeof (event->type), msg, "type");
    s_copy_field (event->id, sizeof (event->id), msg, "id");
    s_copy_field (event->workflow_id, sizeof (event->workflow_id), msg, "workflow_id");
    s_copy_field (event->user_id, sizeof (event->user_id), msg, "user_id");
    s_copy_field (event->worker_id, sizeof (event->worker_id), msg, "worker_id");
    s_copy_field (event->error_kind, sizeof (event->error_kind), msg, "error_kind");
    const char *message = zjob_msg_str (msg, "error_message");
    if (!message)
        message = zjob_msg_str (msg, "progress_message");
    if (!message)
        message = zjob_msg_str (msg, "reason");
    snprintf (event->message, sizeof (event->message), "%s", message ? message : "");
    event->status = s_status_field (msg, "status");
    event->old_status = s_status_field (msg, "old_status");
    event->attempts = (uint32_t) zjob_msg_uint (msg, "attempts", 0);
    event->progress = (float) zjob_msg_float (msg, "progress", 0);
    event->time = (int64_t) zjob_msg_uint (msg, "time", 0);
    event->seq = zjob_msg_request_id (msg);
    zjob_msg_destroy (&msg);
    return 0;
}

int
zjob_events_recv (zjob_events_t *self, zjob_event_info_t *event, int timeout_ms,
                  zjob_error_t *err)
{
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : zjob_mono_ms () + timeout_ms;
    while (true) {
        //  One non-blocking receive per frame, no zsock_events first
        void *handle = zsock_resolve (self->sock);
        zmq_msg_t topic, body;
        zmq_msg_init (&topic);
        zmq_msg_init (&body);
        while (zmq_msg_recv (&topic, handle, ZMQ_DONTWAIT) != -1) {
            //  An event is [topic][message]; anything else is dropped whole
            size_t frames = 1;
            bool more = zmq_msg_more (&topic);
            while (more && zmq_msg_recv (&body, handle, 0) != -1) {
                frames++;
                more = zmq_msg_more (&body);
            }
            int rc = frames == 2 ? s_event_decode (zmq_msg_data (&body), zmq_msg_size (&body),
                                                   event)
                                 : -1;
            if (rc == 0 && event->seq != self->last_seq) {
                self->last_seq = event->seq;
                zmq_msg_close (&topic);
                zmq_msg_close (&body);
                return 0;
            }
        }
        zmq_msg_close (&topic);
        zmq_msg_close (&body);
        int wait = timeout_ms < 0 ? -1 : s_remaining (deadline);
        if (timeout_ms >= 0 && wait == 0)
            break;
        if (zjob_proto_wait_input (self->sock, wait) < 0)
            return zjob_error_set (err, ZJOB_UNAVAILABLE, "interrupted");
    }
    return zjob_error_set (err, ZJOB_UNAVAILABLE, "no event within %d ms", timeout_ms);
}

zsock_t *
zjob_events_sock (zjob_events_t *self)
{
    return self->sock;
}
