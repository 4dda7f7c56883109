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

#ifdef __cplusplus
extern "C" {
#endif

//  Defaults. The three endpoints bind to loopback: to serve other hosts,
//  name an address (tcp://0.0.0.0:5570) explicitly.
#define ZJOB_BROKER_CLIENTS_DEFAULT     "tcp://127.0.0.1:5570"  //  ROUTER, clients
#define ZJOB_BROKER_WORKERS_DEFAULT     "tcp://127.0.0.1:5571"  //  ROUTER, workers
#define ZJOB_BROKER_EVENTS_DEFAULT      "tcp://127.0.0.1:5572"  //  PUB, events
#define ZJOB_BROKER_DATA_DIR_DEFAULT    "./zjob-data"           //  file store's directory
#define ZJOB_BROKER_HEARTBEAT_DEFAULT   1000    //  msecs between heartbeats, both ways
#define ZJOB_BROKER_LIVENESS_DEFAULT    3       //  heartbeats missed before a peer is dead
#define ZJOB_BROKER_BATCH_DEFAULT       512     //  messages read per socket per loop pass
#define ZJOB_BROKER_MAXMSG_DEFAULT      (16LL << 20)    //  bytes (ZJOB_MSG_MAX); ZMQ_MAXMSGSIZE:
                                                        //  a peer sending more is disconnected

//  Log levels, in increasing verbosity
typedef enum {
    ZJOB_LOG_ERROR = 0,
    ZJOB_LOG_WARNING,
    ZJOB_LOG_INFO,
    ZJOB_LOG_DEBUG
} zjob_log_level_t;

#define ZJOB_BROKER_ENDPOINT_MAX    256         //  bytes in an endpoint, with the NUL
#define ZJOB_BROKER_PATH_MAX        1024        //  bytes in a store spec or a path

//  What the broker is started with. Plain values, so that a config is
//  copied by assignment and needs no destructor.
typedef struct {
    char clients [ZJOB_BROKER_ENDPOINT_MAX];    //  Client ROUTER endpoint to bind
    char workers [ZJOB_BROKER_ENDPOINT_MAX];    //  Worker ROUTER endpoint to bind
    char events [ZJOB_BROKER_ENDPOINT_MAX];     //  Event PUB endpoint to bind
    char store [ZJOB_BROKER_PATH_MAX];          //  Store spec; "" = file:<data_dir>
    char data_dir [ZJOB_BROKER_PATH_MAX];       //  Directory of the default file store
    size_t max_concurrent;                      //  Jobs held by workers at once; 0 = no limit
    int64_t heartbeat_ms;                       //  msecs between heartbeats
    int liveness;                               //  Heartbeats missed before a worker is dead
    int log_level;                              //  zjob_log_level_t
    size_t batch;                               //  Messages per socket per loop pass
    int64_t max_message;                        //  bytes; ZMQ_MAXMSGSIZE on the ROUTERs
    int64_t retention_ms;                       //  Terminal jobs kept this long; 0 = default
} zjob_broker_config_t;

//  Fill config with the defaults above.
void
    zjob_broker_config_init (zjob_broker_config_t *config);

//  Set one option by the name used for flags and in config files:
//  clients, workers, events, store, data-dir, max-concurrent, heartbeat
//  (a duration: "500ms", "1s"), liveness, log-level (error, warning, info,
//  debug), batch, max-message (bytes, 4096 up to the protocol's 16 MiB),
//  retention (a duration).
//  Returns 0, or -1 with err filled (ZJOB_BAD_REQUEST) for an unknown
//  name or a bad value.
int
    zjob_broker_config_set (zjob_broker_config_t *config, const char *name, const char *value,
                            zjob_error_t *err);

//  Load options from a ZPL file (CZMQ zconfig): every key under a
//  "broker" section, or at the top level, is an option as above, e.g.
//      broker
//          clients = "tcp://127.0.0.1:5570"
//          store = "file:/var/lib/zjob?fsync=always"
//  Returns 0, or -1 with err filled for an unreadable file or a bad option.
int
    zjob_broker_config_load (zjob_broker_config_t *config, const char *path, zjob_error_t *err);

//  The actor function; args is a const zjob_broker_config_t * (copied
//  before the actor signals, so it may live on the caller's stack).
void
    zjob_broker_actor (zsock_t *pipe, void *args);

//  Start a broker actor with config and check that it is serving.
//  Returns the actor (destroy it with zactor_destroy), or NULL with err
//  filled when a socket cannot bind or the store cannot be opened.
zactor_t *
    zjob_broker_new (const zjob_broker_config_t *config, zjob_error_t *err);

//  Ask a running broker for its bound endpoints. Each of clients, workers
//  and events (any may be NULL) receives a fresh string the caller frees.
//  Returns 0, or -1 if the actor did not answer.
int
    zjob_broker_endpoints (zactor_t *self, char **clients, char **workers, char **events);

//  Name of a log level, and its parse (-1 for an unknown name).
const char *
    zjob_log_level_name (int level);
int
    zjob_log_level_parse (const char *name);

#ifdef __cplusplus
}
#endif

#endif
