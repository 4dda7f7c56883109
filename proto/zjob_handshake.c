/*  =========================================================================
    zjob_handshake - what became of a CURVE socket's handshakes

    See the header. One connection is one story: CONNECTED, then
    HANDSHAKE_SUCCEEDED or a HANDSHAKE_FAILED_* event, then perhaps
    DISCONNECTED. A connection that ends before its handshake did (the
    broker closed it without a word) counts as a failed handshake too.
    What libzmq 4.3.4 reports was checked against a CURVE ROUTER with a
    ZAP handler (tests/test_zjob_curve_client.c keeps that true).
    ========================================================================= */

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <stdatomic.h>
#include "zjob_handshake.h"
#include "zjob_proto.h"

//  The events read: a connection's start and end, and its handshake
#define S_EVENTS                                                                  \
    (ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED \
     | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL \
     | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

struct _zjob_handshake_t {
    void *watched;                 //  The socket watched (libzmq handle)
    zsock_t *pair;                 //  PAIR connected to its monitor
    zjob_handshake_state_t state;  //  How the last handshake went
    bool pending;                  //  Connected, handshake not finished
};

zjob_handshake_t *
zjob_handshake_new (zsock_t *sock, zjob_error_t *err)
{
    //  inproc names are per context: a counter keeps them apart
    static atomic_uint s_count;
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://zjob-handshake-%u",
              atomic_fetch_add (&s_count, 1));
    zjob_handshake_t *self = (zjob_handshake_t *) zmalloc (sizeof (zjob_handshake_t));
    if (!self) {
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    self->watched = zsock_resolve (sock);
    if (zmq_socket_monitor (self->watched, endpoint, S_EVENTS) != 0) {
        zjob_error_set (err, ZJOB_INTERNAL, "cannot watch the CURVE handshake: %s",
                        zmq_strerror (zmq_errno ()));
        free (self);
        return NULL;
    }
    self->pair = zsock_new (ZMQ_PAIR);
    if (!self->pair || zsock_connect (self->pair, "%s", endpoint) != 0) {
        zjob_error_set (err, ZJOB_INTERNAL, "cannot watch the CURVE handshake: %s",
                        zmq_strerror (zmq_errno ()));
        zjob_handshake_destroy (&self);
        return NULL;
    }
    zsock_set_linger (self->pair, 0);
    return self;
}

void
zjob_handshake_destroy (zjob_handshake_t **self_p)
{
    if (self_p && *self_p) {
        zjob_handshake_t *self = *self_p;
        zmq_socket_monitor (self->watched, NULL, 0);
        zsock_destroy (&self->pair);
        free (self);
        *self_p = NULL;
    }
}

//  Read one event without blocking: its number, or 0 if none waited
static int
s_event_read (zjob_handshake_t *self)
{
    void *handle = zsock_resolve (self->pair);
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    if (zmq_msg_recv (&frame, handle, ZMQ_DONTWAIT) == -1) {
        zmq_msg_close (&frame);
        return 0;
    }
    //  [event: 2 bytes, value: 4 bytes] [endpoint]
    uint16_t event = 0;
    if (zmq_msg_size (&frame) >= sizeof (event))
        memcpy (&event, zmq_msg_data (&frame), sizeof (event));
    while (zmq_msg_more (&frame) && zmq_msg_recv (&frame, handle, 0) != -1)
        ;
    zmq_msg_close (&frame);
    return event ? event : -1;
}

zjob_handshake_state_t
zjob_handshake_update (zjob_handshake_t *self)
{
    int event;
    while ((event = s_event_read (self)) != 0) {
        switch (event) {
            case ZMQ_EVENT_CONNECTED: self->pending = true; break;
            case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: self->state = ZJOB_HANDSHAKE_OK; break;
            case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: self->state = ZJOB_HANDSHAKE_REFUSED; break;
            case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: self->state = ZJOB_HANDSHAKE_FAILED; break;
            case ZMQ_EVENT_DISCONNECTED:
                if (self->pending)
                    self->state = ZJOB_HANDSHAKE_FAILED;
                break;
            default: break;
        }
        if (event != ZMQ_EVENT_CONNECTED)
            self->pending = false;
    }
    return self->state;
}

void
zjob_handshake_reset (zjob_handshake_t *self)
{
    zjob_handshake_update (self);  //  Events of the old connection
    self->state = ZJOB_HANDSHAKE_UNKNOWN;
    self->pending = false;
}

const char *
zjob_handshake_text (zjob_handshake_state_t state)
{
    if (state == ZJOB_HANDSHAKE_REFUSED)
        return "the broker refused this key at the handshake: it is not in the broker's key "
               "lists for this socket";
    if (state == ZJOB_HANDSHAKE_FAILED)
        return "the CURVE handshake with the broker failed: wrong broker key (--broker-key), "
               "or the broker does not use CURVE";
    return "";
}

bool
zjob_handshake_failed (zjob_handshake_t *self, zjob_error_t *err)
{
    if (!self)
        return false;
    zjob_handshake_state_t state = zjob_handshake_update (self);
    if (state != ZJOB_HANDSHAKE_REFUSED && state != ZJOB_HANDSHAKE_FAILED)
        return false;
    zjob_error_set (err, ZJOB_UNAUTHORIZED, "%s", zjob_handshake_text (state));
    return true;
}

int
zjob_handshake_wait (zjob_handshake_t *self, zsock_t *sock, int timeout_ms)
{
    if (!self)
        return zjob_proto_wait_input (sock, timeout_ms);
    int fd [2];
    size_t size = sizeof (int);
    if (zmq_getsockopt (zsock_resolve (sock), ZMQ_FD, &fd [0], &size)
        || zmq_getsockopt (zsock_resolve (self->pair), ZMQ_FD, &fd [1], &size))
        return -1;
    struct pollfd items [2] = { { fd [0], POLLIN, 0 }, { fd [1], POLLIN, 0 } };
    int rc = poll (items, 2, timeout_ms);
    if (rc < 0)
        return errno == EINTR && !zsys_interrupted ? 0 : -1;
    return rc > 0 ? 1 : 0;
}
