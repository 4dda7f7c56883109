/*  =========================================================================
    helper_zjob_curve - a fake broker with CURVE, for the client side's
    tests (libzjob, the zjob CLI, zjob-worker)

    A ROUTER on an ephemeral port of 127.0.0.1, CURVE server or plain, run
    by an actor, with a ZAP handler (a REP on inproc://zeromq.zap.01 in
    CZMQ's context) that accepts one public key and refuses any other
    (400), as zjobd's key lists do. It answers PING with OK, any other
    client request with ERROR 404, and tells its pipe "READY" for each
    READY a worker sends. Only one CURVE fake per process (the ZAP
    endpoint is per context); Criterion runs each test in its own.
    ========================================================================= */

#ifndef HELPER_ZJOB_CURVE_H_INCLUDED
#define HELPER_ZJOB_CURVE_H_INCLUDED

#include <czmq.h>

//  Start a fake with server's certificate (curve) or none, accepting the
//  key allowed (40 Z85 characters); its endpoint into endpoint (size
//  bytes). NULL if it cannot start.
zactor_t *
zjob_test_curve_fake (bool curve, zcert_t *server, const char *allowed, char *endpoint,
                      size_t size);

//  "ALLOW KEY": accept KEY from now on, instead; "RESTART": a new ROUTER
//  on the same port, so every peer handshakes again. Returns when done.
void
zjob_test_curve_command (zactor_t *fake, const char *command);

//  Wait at most timeout_ms for the fake to see a READY; true if it did.
//  While waiting, runs worker's engine if given (zjob_worker_t *).
bool
zjob_test_curve_ready (zactor_t *fake, void *worker, int timeout_ms);

//  Answer one ZAP request on zap (a REP on inproc://zeromq.zap.01): 200
//  with user_id = the client's Z85 key, as zjobd answers, when the key is
//  allowed (NULL: any CURVE key), else 400 "not listed".
void
zjob_test_zap_answer (zsock_t *zap, const char *allowed);

//  Stop the fake; accepts NULL.
void
zjob_test_curve_stop (zactor_t **fake_p);

#endif
