/*  =========================================================================
    zjob_handshake - what became of a CURVE socket's handshakes

    A CURVE handshake the broker refuses is invisible on the socket
    itself: libzmq drops the connection and the request queued on it, and
    a caller would only see its timeout. A socket monitor sees it: libzmq
    4.3 reports HANDSHAKE_FAILED_AUTH (value: the ZAP status, 400) when
    the broker's ZAP handler refused the key, HANDSHAKE_FAILED_NO_DETAIL
    when the broker could not read our HELLO (a wrong --broker-key: it
    drops the connection), HANDSHAKE_FAILED_PROTOCOL when the mechanisms
    differ (a broker without CURVE). After the first and the last, libzmq
    does not connect again by itself: zjob_handshake_failed tells the
    caller, which reconnects when it wants another try (a broker may
    reload its keys). A later HANDSHAKE_SUCCEEDED clears the failure.

    The watcher reads the monitor's PAIR without blocking, from the
    socket's own thread; a client or worker without a certificate makes
    none (its cost stays that of the plain socket). Not installed.
    ========================================================================= */

#ifndef ZJOB_HANDSHAKE_H_INCLUDED
#define ZJOB_HANDSHAKE_H_INCLUDED

#include <czmq.h>
#include "zjob_error.h"

#ifdef __cplusplus
extern "C" {
#endif

//  How the last handshake went
typedef enum {
    ZJOB_HANDSHAKE_UNKNOWN = 0,  //  None finished yet
    ZJOB_HANDSHAKE_OK,           //  Succeeded
    ZJOB_HANDSHAKE_REFUSED,      //  The broker's ZAP refused our key
    ZJOB_HANDSHAKE_FAILED        //  Broken off: wrong broker key, or no CURVE there
} zjob_handshake_state_t;

typedef struct _zjob_handshake_t zjob_handshake_t;

//  Watch sock's handshakes (before it connects). NULL with err filled
//  (ZJOB_INTERNAL) if the monitor cannot start.
zjob_handshake_t *
zjob_handshake_new (zsock_t *sock, zjob_error_t *err);

//  Stop watching; call it before the socket is destroyed. Accepts NULL.
void
zjob_handshake_destroy (zjob_handshake_t **self_p);

//  Read the events waiting, without blocking; returns the state after them.
zjob_handshake_state_t
zjob_handshake_update (zjob_handshake_t *self);

//  Forget the state (the caller connects again): UNKNOWN until the next
//  handshake ends.
void
zjob_handshake_reset (zjob_handshake_t *self);

//  Update; true if the last handshake failed, with err filled
//  (ZJOB_UNAUTHORIZED, the reason in plain words). NULL self: false.
bool
zjob_handshake_failed (zjob_handshake_t *self, zjob_error_t *err);

//  The message for a failed state (REFUSED or FAILED)
const char *
zjob_handshake_text (zjob_handshake_state_t state);

//  Wait at most timeout_ms (-1: no limit) until sock may have input or,
//  with self, a handshake event came (as zjob_proto_wait_input: 1, 0 on
//  timeout, -1 when interrupted). Call zjob_handshake_update before: the
//  monitor's descriptor only tells of new events.
int
zjob_handshake_wait (zjob_handshake_t *self, zsock_t *sock, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
