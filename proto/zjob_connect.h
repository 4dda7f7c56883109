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

#ifdef __cplusplus
}
#endif

#endif
