/*  =========================================================================
    zjob_config - the broker's options: defaults, one setter, ZPL files

    Every option has one name, the one zjobd takes as a flag (--name value)
    and a config file uses as a key, and one setter knows them all
    (zjob_broker_config_set), so the flags, the files and the defaults
    cannot drift apart. A config is a plain struct of values: it is copied
    by assignment (the broker actor keeps its own copy) and needs no
    destructor. Config files are ZPL (CZMQ zconfig); an unknown key is an
    error, not a silent default, since a misspelt option is the commonest
    configuration bug.

    The names keep the zjob_broker_config_ prefix they had when this lived
    in zjob_broker.c: zjobd and the tests call them, and zjob_broker.h
    includes this header.
    ========================================================================= */

#ifndef ZJOB_CONFIG_H_INCLUDED
#define ZJOB_CONFIG_H_INCLUDED

#include <czmq.h>
#include "zjob_error.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Defaults. The three endpoints bind to loopback: to serve other hosts,
//  name an address (tcp://0.0.0.0:5570) explicitly.
#define ZJOB_BROKER_CLIENTS_DEFAULT "tcp://127.0.0.1:5570"  //  ROUTER, clients
#define ZJOB_BROKER_WORKERS_DEFAULT "tcp://127.0.0.1:5571"  //  ROUTER, workers
#define ZJOB_BROKER_EVENTS_DEFAULT "tcp://127.0.0.1:5572"   //  PUB, events
#define ZJOB_BROKER_DATA_DIR_DEFAULT "./zjob-data"          //  file store's directory
#define ZJOB_BROKER_HEARTBEAT_DEFAULT 1000                  //  msecs between heartbeats, both ways
#define ZJOB_BROKER_LIVENESS_DEFAULT 3                      //  heartbeats missed before a peer is dead
#define ZJOB_BROKER_BATCH_DEFAULT 512                       //  messages read per socket per loop pass
//  bytes (ZJOB_MSG_MAX); ZMQ_MAXMSGSIZE:
//  a peer sending more is disconnected
#define ZJOB_BROKER_MAXMSG_DEFAULT (16LL << 20)

//  Log levels, in increasing verbosity
typedef enum {
    ZJOB_LOG_ERROR = 0,
    ZJOB_LOG_WARNING,
    ZJOB_LOG_INFO,
    ZJOB_LOG_DEBUG
} zjob_log_level_t;

//  Log through CZMQ's zsys_fn (zsys_error, zsys_info...) when log_level
//  (the configured zjob_log_level_t) is at least level; the arguments are
//  not evaluated otherwise
#define ZJOB_LOG_IF(log_level, level, zsys_fn, ...) \
    do {                                            \
        if ((log_level) >= (level))                 \
            zsys_fn (__VA_ARGS__);                  \
    } while (0)

#define ZJOB_BROKER_ENDPOINT_MAX 256  //  bytes in an endpoint, with the NUL
#define ZJOB_BROKER_PATH_MAX 1024     //  bytes in a store spec or a path

//  What the broker is started with. Plain values, so that a config is
//  copied by assignment and needs no destructor.
typedef struct {
    char clients [ZJOB_BROKER_ENDPOINT_MAX];  //  Client ROUTER endpoint to bind
    char workers [ZJOB_BROKER_ENDPOINT_MAX];  //  Worker ROUTER endpoint to bind
    char events [ZJOB_BROKER_ENDPOINT_MAX];   //  Event PUB endpoint to bind
    char store [ZJOB_BROKER_PATH_MAX];        //  Store spec; "" = file:<data_dir>
    char data_dir [ZJOB_BROKER_PATH_MAX];     //  Directory of the default file store
    size_t max_concurrent;                    //  Jobs held by workers at once; 0 = no limit
    int64_t heartbeat_ms;                     //  msecs between heartbeats
    int liveness;                             //  Heartbeats missed before a worker is dead
    int log_level;                            //  zjob_log_level_t
    size_t batch;                             //  Messages per socket per loop pass
    int64_t max_message;                      //  bytes; ZMQ_MAXMSGSIZE on the ROUTERs
    int64_t retention_ms;                     //  Terminal jobs kept this long; 0 = default
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

//  Name of a log level, and its parse (-1 for an unknown name).
const char *
zjob_log_level_name (int level);
int
zjob_log_level_parse (const char *name);

#ifdef __cplusplus
}
#endif

#endif
