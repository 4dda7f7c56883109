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
#include "zjob_log.h"
#include "zjob_job.h"
#include "zjob_manager.h"

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
#define ZJOB_BROKER_MAX_PREFETCH_DEFAULT 1000               //  jobs a worker may hold beyond its slots
//  bytes (ZJOB_MSG_MAX); ZMQ_MAXMSGSIZE:
//  a peer sending more is disconnected
#define ZJOB_BROKER_MAXMSG_DEFAULT (16LL << 20)

#define ZJOB_BROKER_ENDPOINT_MAX 256  //  bytes in an endpoint, with the NUL
#define ZJOB_BROKER_PATH_MAX 1024     //  bytes in a store spec or a path

//  The retry defaults of the broker or of one workflow, as configured:
//  zero is unset (the next level decides: workflow, then broker, then
//  built-in); the manager's conventions (ZJOB_ATTEMPTS_UNLIMITED and
//  ZJOB_TIMEOUT_NONE for an explicit "no limit", "none", "0 ms"). The
//  no_retry list is kept as text in the struct, so that the config stays
//  plain values.
#define ZJOB_CONFIG_NO_RETRY_MAX 256  //  bytes of a no-retry list, with the NUL
#define ZJOB_CONFIG_WORKFLOWS_MAX 32  //  workflows with defaults of their own
typedef struct {
    uint32_t max_attempts;
    uint32_t backoff_base_ms;
    uint32_t backoff_max_ms;
    uint32_t timeout_ms;
    uint32_t heartbeat_timeout_ms;
    double backoff_factor;
    uint8_t backoff;  //  zjob_backoff_t
    uint8_t jitter;   //  zjob_jitter_t
    bool no_retry_set;
    char no_retry [ZJOB_CONFIG_NO_RETRY_MAX];  //  "kind,kind"
} zjob_config_retry_t;

typedef struct {
    char workflow_id [ZJOB_NAME_MAX + 1];
    zjob_config_retry_t retry;
    bool retry_set;        //  A retry default was given (else only queue limits)
    uint32_t concurrency;  //  Queue limits (zjob_queues.h): jobs running at
    double rate;           //  once, jobs per second, tokens; 0 = none (or, for
    double burst;          //  burst, max (1, rate)). A QUEUE limit overrides
} zjob_config_workflow_t;

//  What the broker is started with. Plain values, so that a config is
//  copied by assignment and needs no destructor (the per-workflow
//  defaults are a bounded array for that reason: ZJOB_CONFIG_WORKFLOWS_MAX
//  workflows, about 14 KB).
typedef struct {
    char clients [ZJOB_BROKER_ENDPOINT_MAX];  //  Client ROUTER endpoint to bind
    char workers [ZJOB_BROKER_ENDPOINT_MAX];  //  Worker ROUTER endpoint to bind
    char events [ZJOB_BROKER_ENDPOINT_MAX];   //  Event PUB endpoint to bind
    char store [ZJOB_BROKER_PATH_MAX];        //  Store spec; "" = file:<data_dir>
    char data_dir [ZJOB_BROKER_PATH_MAX];     //  Directory of the default file store
    size_t max_concurrent;                    //  Jobs held by workers at once; 0 = no limit
    size_t max_prefetch;                      //  Jobs a worker may hold beyond its slots
                                              //  (READY "prefetch"), at most; 0 = none
    int64_t heartbeat_ms;                     //  msecs between heartbeats
    int liveness;                             //  Heartbeats missed before a worker is dead
    int log_level;                            //  zjob_log_level_t
    size_t batch;                             //  Messages per socket per loop pass
    int64_t max_message;                      //  bytes; ZMQ_MAXMSGSIZE on the ROUTERs
    int64_t retention_ms;                     //  Terminal jobs kept this long; 0 = default
    zjob_config_retry_t retry;                //  The broker's retry defaults
    zjob_config_workflow_t workflows [ZJOB_CONFIG_WORKFLOWS_MAX];
    size_t workflow_count;  //  Workflows with defaults of their own
    //  Limits (zjob_manager.h): max-queued, max-queued-bytes, max-pending
    zjob_limits_t limits;

    //  CURVE (zjob_auth.h): curve_secret and keys both set, or neither
    char curve_secret [ZJOB_BROKER_PATH_MAX];  //  The broker's certificate, both
                                               //  keys (NAME.key_secret); "" = none
    char keys [ZJOB_BROKER_PATH_MAX];          //  The key lists' directory; "" = none
    bool insecure;                             //  Without CURVE, bind beyond loopback

    //  Observability (zjob_http.h): the HTTP endpoint, "HOST:PORT" ("" = off;
    //  port 0 = any free port), and the admin token's file (needed with CURVE)
    char http [ZJOB_BROKER_ENDPOINT_MAX];
    char http_token [ZJOB_BROKER_PATH_MAX];
    int log_format;  //  zjob_log_format_t: text (default) or json

    //  A store already open (zjobd opens it, and waits for a shared
    //  store's lease, before it starts the broker), or NULL: the broker
    //  opens store (or the default file store) itself. Not a plain value:
    //  zjob_broker_new takes it, whatever its outcome, and a copy of the
    //  config does not own it
    zjob_store_t *store_handle;
} zjob_broker_config_t;

//  Fill config with the defaults above.
void
zjob_broker_config_init (zjob_broker_config_t *config);

//  Set one option by the name used for flags and in config files:
//  clients, workers, events, store, data-dir, max-concurrent, max-prefetch
//  (0..1000), heartbeat (a duration: "500ms", "1s"), liveness, log-level (error, warning, info,
//  debug), batch, max-message (bytes, 4096 up to the protocol's 16 MiB),
//  retention (a duration); and the retry defaults: max-attempts (0 = no
//  limit), backoff (fixed, exponential), backoff-base (a duration; 0 = no
//  delay), backoff-factor (1.0 .. 100.0), backoff-max (a duration),
//  backoff-jitter (full, none), no-retry (comma-separated error kinds; ""
//  = none), job-timeout and heartbeat-timeout (durations; 0 = none); and
//  workflow/NAME/KEY, one of those for workflow NAME alone, or one of its
//  queue limits: concurrency (jobs running at once, 0 = none), rate (jobs
//  a second, a decimal number; 0 = none) and burst (tokens; 0 = max (1,
//  rate)); and the limits on what peers can make the broker hold:
//  max-queued (jobs not yet run: created, waiting, queued, paused; 0 =
//  none), max-queued-bytes (the bytes of their inputs: a number with an
//  optional suffix k, M, G, T, each 1024 times the one before, also
//  written KiB or KB, MiB or MB...; 0 = none), max-pending (requests one
//  client connection keeps across loop passes; 0 = none);
//  and CURVE: curve-secret (the broker's certificate file, both keys),
//  keys (the key lists' directory, zjob_auth.h), insecure ("true" or
//  "false": without CURVE, bind endpoints beyond loopback anyway);
//  http (the HTTP endpoint of metrics, probes, the JSON API and the
//  dashboard: HOST:PORT, e.g. 127.0.0.1:5573; "" = off), http-token (the
//  file holding the admin token HTTP requests must present; required with
//  CURVE), log-format (text or json).
//  Returns 0, or -1 with err filled (ZJOB_BAD_REQUEST) for an unknown
//  name or a bad value.
int
zjob_broker_config_set (zjob_broker_config_t *config, const char *name, const char *value,
                        zjob_error_t *err);

//  Set one retry default (a name of the list above, from max-attempts on)
//  for workflow alone. Returns 0, or -1 with err filled for a bad name or
//  value, or more than ZJOB_CONFIG_WORKFLOWS_MAX workflows.
int
zjob_broker_config_set_workflow (zjob_broker_config_t *config, const char *workflow,
                                 const char *name, const char *value, zjob_error_t *err);

//  Load options from a ZPL file (CZMQ zconfig): every key under a
//  "broker" section, or at the top level, is an option as above, and a
//  "workflow" section holds one section per workflow of its own retry
//  defaults, e.g.
//      broker
//          clients = "tcp://127.0.0.1:5570"
//          store = "file:/var/lib/zjob?fsync=always"
//          max-attempts = 5
//      workflow
//          resize
//              max-attempts = 10
//              job-timeout = 30s
//  Returns 0, or -1 with err filled for an unreadable file or a bad option.
int
zjob_broker_config_load (zjob_broker_config_t *config, const char *path, zjob_error_t *err);

//  The retry defaults of config as the manager takes them: the broker's
//  into defaults, each workflow's into workflows (room for
//  ZJOB_CONFIG_WORKFLOWS_MAX). Strings are borrowed from config. Returns
//  the number of workflows.
size_t
zjob_broker_config_retry (const zjob_broker_config_t *config, zjob_retry_defaults_t *defaults,
                          zjob_workflow_defaults_t *workflows);

//  The per-workflow queue limits of config (workflows with one) into
//  queues (room for ZJOB_CONFIG_WORKFLOWS_MAX), names borrowed from
//  config. Returns their number.
size_t
zjob_broker_config_queues (const zjob_broker_config_t *config, zjob_queue_defaults_t *queues);

//  A size in bytes: digits and an optional suffix (k, M, G, T: powers of
//  1024; KiB and KB are k, and so on; B alone is bytes). The bytes, or -1
//  for anything else or a size past 2^62.
int64_t
zjob_config_bytes_parse (const char *text);

//  True if endpoint can only be reached from this host: tcp://127.x.y.z,
//  tcp://[::1], tcp://localhost (with a port), ipc://, inproc://.
bool
zjob_endpoint_is_loopback (const char *endpoint);

//  Whether config may start a broker: curve-secret and keys both given or
//  neither; with CURVE, http-token if http is on; and without CURVE,
//  every endpoint (the HTTP one too) loopback unless insecure
//  (anyone who reaches an open broker may do anything). Returns 0, or -1
//  with err filled (ZJOB_BAD_REQUEST).
int
zjob_broker_config_check (const zjob_broker_config_t *config, zjob_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
