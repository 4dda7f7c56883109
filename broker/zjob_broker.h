/*  =========================================================================
    zjob_broker - the broker: a CZMQ actor that serves clients and workers

    The broker binds three sockets: a ROUTER for clients, a ROUTER for
    workers and a PUB (XPUB) for events, and drives a zjob_manager over a
    store opened from a spec. It runs as an actor, so a test starts it in
    process on tcp://127.0.0.1:* and the zjobd daemon only parses options:

        zjob_broker_config_t config;
        zjob_broker_config_init (&config);
        zjob_broker_config_set (&config, "store", "memory:", NULL);
        zactor_t *broker = zjob_broker_new (&config, &err);
        ...
        zactor_destroy (&broker);       //  stops taking work, syncs, closes

    Commands on the actor's pipe (strings):
        ENDPOINTS   replies clients, workers, events: the endpoints as bound,
                    with the real port in place of a '*'
        STATUS      replies the start-up outcome: "200" "" when serving,
                    else the error code and its message (the actor then
                    only waits for $TERM)
        SUBSCRIPTIONS  replies the number of distinct topic prefixes that
                    event subscribers have asked for (a test subscribes,
                    then waits for this to count its subscription)
        VERBOSE     raises the log level to debug
        ACCESS      replies how the broker's own HTTP side reaches it
                    (zjob_broker_access)
        RELOAD      rereads the key lists (with CURVE: zjob_auth.h); no
                    reply, the outcome is logged, the old lists stay if
                    the new ones are bad
        $TERM       clean shutdown: nothing more is read, the store is
                    synced and closed; jobs still running are requeued by
                    the next start's recovery

    The design (loop pass, group commit, dispatch, heartbeats) is described
    at the top of zjob_broker.c; the wire is proto/PROTOCOL.md.
    ========================================================================= */

#ifndef ZJOB_BROKER_H_INCLUDED
#define ZJOB_BROKER_H_INCLUDED

#include <czmq.h>
#include "zjob_error.h"
#include "zjob_config.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The actor function; args is a const zjob_broker_config_t * (copied
//  before the actor signals, so it may live on the caller's stack).
void
zjob_broker_actor (zsock_t *pipe, void *args);

//  Start a broker actor with config and check that it is serving.
//  Returns the actor (destroy it with zactor_destroy), or NULL with err
//  filled when a socket cannot bind or the store cannot be opened. The
//  broker takes config->store_handle (if set) in every case: it runs on
//  it, or destroys it if it cannot start. A shared store must be acquired
//  (zjob_store_acquire) first; the broker stops by itself (its actor
//  ends) when the store finds another broker took the lease.
zactor_t *
zjob_broker_new (const zjob_broker_config_t *config, zjob_error_t *err);

//  The store spec config names: config->store, or "file:DATA_DIR" (the
//  directory created if need be) when it names none. 0, or -1 with err
//  filled (ZJOB_UNAVAILABLE: the directory cannot be created).
int
zjob_broker_store_spec (const zjob_broker_config_t *config, char *spec, size_t size,
                        zjob_error_t *err);

//  Open the store config names (zjob_broker_store_spec, zjob_store_open),
//  as a broker would; zjobd does, to wait for a shared store's lease
//  before it starts the broker with it (config->store_handle). NULL with
//  err filled: ZJOB_BAD_REQUEST for a bad spec, else the store's error.
zjob_store_t *
zjob_broker_store_open (const zjob_broker_config_t *config, zjob_error_t *err);

//  Ask a running broker for its bound endpoints. Each of clients, workers
//  and events (any may be NULL) receives a fresh string the caller frees.
//  Returns 0, or -1 if the actor did not answer.
int
zjob_broker_endpoints (zactor_t *self, char **clients, char **workers, char **events);

//  How the broker's own HTTP side (zjob_http) reaches the broker: as one
//  more client and event subscriber, over the endpoints as bound (a
//  wildcard host, tcp://*:P or 0.0.0.0 or [::], becomes the loopback
//  address), and with CURVE with a key pair the broker made at start and
//  accepts as an admin (zjob_auth_add_internal); the keys are "" without
//  CURVE. Its requests name who asked in their routing id, "http ADDRESS
//  #N", which the broker's logs show (zjob_peer_t address).
typedef struct {
    char clients [ZJOB_BROKER_ENDPOINT_MAX];
    char events [ZJOB_BROKER_ENDPOINT_MAX];
    char broker_key [41];  //  Z85
    char public_key [41];
    char secret_key [41];
} zjob_broker_access_t;

//  Fill access from a running broker. Returns 0, or -1 if the actor did
//  not answer.
int
zjob_broker_access (zactor_t *self, zjob_broker_access_t *access);

#ifdef __cplusplus
}
#endif

#endif
