/*  =========================================================================
    zjob_connect - how a client, a worker or a subscriber reaches a broker
    that uses CURVE

    A broker started with --curve-secret and --keys accepts only peers
    whose public key its key lists hold (PROTOCOL.md 1.1). A peer then
    needs two things: its own certificate, with both keys (the NAME.key_secret
    file `zjob keygen` writes), and the broker's public key, which
    authenticates the broker to it. zjob_connect_opts_t carries them to the
    constructors (zjob_client_new_with, zjob_events_new_with,
    zjob_worker_new_with); zjob_connect_apply sets them on a socket before
    it connects.

    Endpoint lists. Every endpoint a constructor takes may be a comma list
    ("tcp://a:5570,tcp://b:5570", at most ZJOB_CONNECT_ENDPOINTS_MAX): the
    brokers of one shared store, one active and the others standby
    (zjobd's banner). zjob_connect_endpoints connects the socket to each;
    for a list it first sets ZMQ_IMMEDIATE (a message goes only over a
    connection whose handshake completed, so never to a standby, which
    binds nothing, nor to a broker that died) and ZMTP heartbeats (a broker
    stopped without closing its sockets, SIGSTOP, loses its connection
    after ZJOB_CONNECT_HEARTBEAT_TIMEOUT_MS). With IMMEDIATE a send fails
    at once (EAGAIN) while no connection is complete: the client waits
    for one (zjob_connect_writable) up to its timeout, the worker keeps
    its READY until one is. A single endpoint is connected as it always
    was: messages queue for it while it is away.
    ========================================================================= */

#ifndef ZJOB_CONNECT_H_INCLUDED
#define ZJOB_CONNECT_H_INCLUDED

#include <czmq.h>
#include "zjob_export.h"
#include "zjob_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *cert;        //  Our certificate file, as zjob keygen writes it
                             //  (NAME.key_secret: both keys); NULL: no CURVE
    const char *broker_key;  //  The broker's public key: 40 Z85 characters,
                             //  or the path of its public certificate
} zjob_connect_opts_t;

//  True if opts asks for CURVE (opts and its cert are set)
ZJOB_EXPORT bool
zjob_connect_secure (const zjob_connect_opts_t *opts);

//  Make sock a CURVE client as opts says (nothing if it asks for no CURVE),
//  before it connects. Returns 0, or -1 with err filled (ZJOB_BAD_REQUEST):
//  an unreadable certificate, one without its secret key, a broker key
//  that is neither 40 Z85 characters nor a readable certificate, or a
//  certificate without a broker key.
ZJOB_EXPORT int
zjob_connect_apply (zsock_t *sock, const zjob_connect_opts_t *opts, zjob_error_t *err);

#define ZJOB_CONNECT_ENDPOINTS_MAX 16           //  endpoints in a list
#define ZJOB_CONNECT_ENDPOINT_MAX 256           //  bytes of one, with its NUL
#define ZJOB_CONNECT_HEARTBEAT_IVL_MS 1000      //  ZMTP PING, for a list
#define ZJOB_CONNECT_HEARTBEAT_TIMEOUT_MS 3000  //  no traffic that long: dropped

//  Check an endpoint or a comma list of them; *count_p (if not NULL) gets
//  how many. 0, or -1 with err filled (ZJOB_BAD_REQUEST): nothing given,
//  an empty item, an item without its transport ("://"), more than
//  ZJOB_CONNECT_ENDPOINTS_MAX items.
ZJOB_EXPORT int
zjob_connect_check (const char *list, size_t *count_p, zjob_error_t *err);

//  Connect sock to every endpoint of list (checked as zjob_connect_check
//  does); for a list of two or more, set ZMQ_IMMEDIATE and the ZMTP
//  heartbeats first. 0, or -1 with err filled (ZJOB_BAD_REQUEST), sock
//  left connected to none of them.
ZJOB_EXPORT int
zjob_connect_endpoints (zsock_t *sock, const char *list, zjob_error_t *err);

//  Disconnect sock from every endpoint of list (a reconnection is this,
//  then zjob_connect_endpoints).
ZJOB_EXPORT void
zjob_connect_disconnect (zsock_t *sock, const char *list);

//  True if list names more than one endpoint.
ZJOB_EXPORT bool
zjob_connect_is_list (const char *list);

//  Wait up to timeout_ms for sock to accept a message (a connection of a
//  list completed); true if it does. Returns at once when it already does.
ZJOB_EXPORT bool
zjob_connect_writable (zsock_t *sock, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
