/*  =========================================================================
    zjob_broker_impl - the broker actor's state, shared by its own files

    zjob_broker.c keeps the actor, the loop, its start and stop;
    zjob_broker_pass.c the pass, routing, replies and dispatch, and the
    listeners of the manager and the registry; zjob_broker_timers.c the pass's timed work (promotions,
    tokens, timeouts, children of settled parents, schedules) and how long
    the loop may wait for input; zjob_broker_writes.c the pass's commit
    and the refusal of writes while the store cannot write;
    zjob_broker_auth.c CURVE (the broker's certificate, the ZAP handler's
    place in the loop, reloads of the key lists); zjob_broker_metrics.c
    what feeds zjob_metrics (job changes, connections through the socket
    monitors) and the job change log line; zjob_broker_store.c which store
    the manager runs on and a shared store's lease. They see the actor's
    state through this header. Nothing outside the broker's own files
    includes it.
    ========================================================================= */

#ifndef ZJOB_BROKER_IMPL_H_INCLUDED
#define ZJOB_BROKER_IMPL_H_INCLUDED

#include "zjob_broker.h"
#include "zjob_log.h"
#include "zjob_manager.h"
#include "zjob_registry.h"
#include "zjob_dispatch.h"
#include "zjob_outbox.h"
#include "zjob_publisher.h"
#include "zjob_clients.h"
#include "zjob_workers.h"
#include "zjob_proto.h"
#include "zjob_auth.h"
#include "zjob_metrics.h"

//  The side a message came from or goes to
typedef enum {
    S_CLIENTS = 0,  //  The clients ROUTER
    S_WORKERS = 1,  //  The workers ROUTER
    S_EVENTS = 2    //  The XPUB (events waiting in the outbox for their sync)
} s_side_t;

//  The sockets the loop waits on, in the order of its pollfds
typedef enum {
    S_POLL_CLIENTS = S_CLIENTS,
    S_POLL_WORKERS = S_WORKERS,
    S_POLL_PIPE,             //  The actor pipe
    S_POLL_EVENTS,           //  The XPUB: subscriptions
    S_POLL_MONITOR,          //  The workers ROUTER's monitor
    S_POLL_ZAP,              //  The ZAP handler (zjob_auth), with CURVE; else fd -1
    S_POLL_CLIENTS_MONITOR,  //  The clients ROUTER's monitor (connections)
    S_POLL_EVENTS_MONITOR,   //  The XPUB's monitor (connections)
    S_POLL_SYNC,             //  The store's sync completions (zjob_store_sync_fd);
                             //  fd -1 for a store whose syncs complete at once
    S_POLL_COUNT
} s_poll_t;

#define S_RID_MAX ZJOB_RID_MAX  //  bytes in a routing id (libzmq allows 255)
#define S_LABEL_MAX 256         //  bytes of who asked, in logs
#define S_SYNC_RETRY_MS 1000    //  msecs between syncs while the store cannot write

//  A worker connection: the registry's record
typedef zjob_registry_worker_t s_worker_t;

typedef struct {
    zsock_t *pipe;                //  Actor command pipe
    zjob_broker_config_t config;  //  Our copy of the options
    zsock_t *clients;             //  ROUTER for clients
    zsock_t *workers;             //  ROUTER for workers (mandatory routing)
    zsock_t *events;              //  XPUB for events
    void *clients_handle;         //  The libzmq sockets, for the hot path
    void *workers_handle;
    void *events_handle;
    zactor_t *monitor;          //  zmonitor on the workers socket
    zactor_t *clients_monitor;  //  zmonitor on the clients socket
    zactor_t *events_monitor;   //  zmonitor on the events socket
    zjob_metrics_t *metrics;    //  What METRICS renders
    char *clients_endpoint;     //  As bound, with the real port
    char *workers_endpoint;
    char *events_endpoint;
    zjob_manager_t *manager;           //  The jobs
    zjob_msg_builder_t *builder;       //  Encodes replies and jobs
    zjob_msg_builder_t *side_builder;  //  Encodes what the listener sends (worker
                                       //  control), even mid-reply
    zjob_error_t start_error;          //  Why the broker is not serving, if not
    zjob_auth_t *auth;                 //  Key lists and ZAP handler; NULL without CURVE
    zcert_t *cert;                     //  The broker's certificate, with CURVE
    zcert_t *internal_cert;            //  The HTTP side's key pair, with CURVE

    zjob_registry_t *registry;    //  The workers, their credit and jobs
    zjob_dispatch_t *dispatcher;  //  The dispatch walk
    bool dispatch_needed;         //  Something changed since the last walk
    bool dirty;                   //  Mutations since the last sync
    bool dispatch_dirty;          //  Dispatch's own, since the last sync
    uint64_t committed_seq;       //  Enqueues up to this one are durable
    bool sync_failing;            //  The last sync failed: writes are refused
                                  //  (zjob_broker_writes.c) until one succeeds
    int64_t sync_retry_at;        //  Monotonic ms of the next try meanwhile
    zjob_error_t refusal;         //  The 503 writes get meanwhile
    uint64_t ticket;              //  The store's last sync ticket given
    uint64_t done;                //  Its last ticket durable (or failed)
    uint64_t *flight;             //  Pairs (ticket, manager seq) of the syncs
    size_t flight_count;          //  under way, oldest first
    size_t flight_max;            //  (pairs allocated)
    bool ready_seen;              //  A READY was answered in this pass
    bool ready_waiting;           //  Workers join the credit ring once
    uint64_t ready_ticket;        //  this ticket is done (their OK sent)

    zjob_outbox_t *outbox;  //  Messages of this pass, sent after its sync

    zjob_publisher_t *publisher;  //  Events, encoded if anyone listens

    zjob_clients_t *clients_handler;  //  Answers client requests, keeps the rates
    zjob_workers_t *workers_handler;  //  Answers worker messages
    int64_t now;                      //  Monotonic ms at the start of the pass
    int64_t next_tick;                //  Monotonic ms of the next heartbeat tick
    int64_t hold_until;               //  Monotonic ms: no dispatch before (reclaim
                                      //  window after a restart), 0 = none
    uint64_t passes;                  //  Loop passes run
    bool unsettled [S_POLL_COUNT];    //  May hold input its fd will not
                                      //  signal (see the banner)
    uint64_t dropped;                 //  Messages dropped without a reply
    bool terminated;                  //  $TERM seen
    bool expiring;                    //  In zjob_manager_expire_step: the
                                      //  expiry sends the worker its CANCEL
    bool expire_more;                 //  Timed-out jobs left for the next pass
    int64_t renew_ms;                 //  A shared store's lease: a sync at least
                                      //  this often (ms), 0 = none (zjob_broker_store.c)
    int64_t renewed_at;               //  Monotonic ms of the last sync tried
} s_broker_t;

//  Logging, filtered by level before any formatting
#define s_log_error(self, ...) \
    ZJOB_LOG_IF ((self)->config.log_level, ZJOB_LOG_ERROR, __VA_ARGS__)
#define s_log_warning(self, ...) \
    ZJOB_LOG_IF ((self)->config.log_level, ZJOB_LOG_WARNING, __VA_ARGS__)
#define s_log_info(self, ...) \
    ZJOB_LOG_IF ((self)->config.log_level, ZJOB_LOG_INFO, __VA_ARGS__)
#define s_log_debug(self, ...) \
    ZJOB_LOG_IF ((self)->config.log_level, ZJOB_LOG_DEBUG, __VA_ARGS__)


//  --------------------------------------------------------------------------
//  Across the files

//  zjob_broker_pass.c: one loop pass after the poll (its banner says
//  what it does, step by step)
void
zjob_broker_pass (s_broker_t *self);

//  zjob_broker_pass.c: stopping: tell the workers (DISCONNECT), so that
//  they start reconnecting at once
void
zjob_broker_goodbye (s_broker_t *self);

//  zjob_broker_pass.c: the registry's callbacks (zjob_registry_set_listener):
//  a lost worker's job, a worker leaving
void
zjob_broker_job_lost (const char *job_id, void *arg);
void
zjob_broker_worker_left (s_worker_t *worker, const char *reason, void *arg);

//  zjob_broker_pass.c: the manager's listener (zjob_manager_set_listener):
//  events, worker control, dispatch and rate hints
void
zjob_broker_on_change (zjob_event_t event, const zjob_job_t *job, zjob_status_t old_status,
                       void *arg);

//  zjob_broker_pass.c: the dispatcher's send (a JOB to a worker, now) and
//  zjob_workers' credit-back hook
int
zjob_broker_send_job (const uint8_t *rid, size_t rid_size, const uint8_t *data, size_t size,
                      void *arg);
void
zjob_broker_credit_back (bool now, void *arg);

//  zjob_broker_pass.c: the outbox's send (zjob_outbox_send_fn): side is an
//  s_side_t; for S_EVENTS, rid is the event's topic
int
zjob_broker_send_out (int side, const uint8_t *rid, size_t rid_size, const uint8_t *data,
                      size_t size, void *arg);

//  zjob_broker_pass.c: zjob_manager_expire_step's callback for a held job that
//  timed out: its worker is sent CANCEL {id, reason, attempt}
void
zjob_broker_expired (const zjob_job_t *job, const char *worker_id, uint32_t attempt,
                     const char *reason, void *arg);

//  zjob_broker_metrics.c: seconds on the monotonic clock (for durations)
double
zjob_broker_seconds (void);

//  zjob_broker_metrics.c: make the metrics and watch the clients and
//  events sockets' connections (ACCEPTED and DISCONNECTED), before they
//  bind; the workers monitor hears ACCEPTED too. 0, or -1 with
//  self->start_error filled
int
zjob_broker_metrics_start (s_broker_t *self);

//  zjob_broker_metrics.c: read at most batch events of the monitor that
//  which polls (S_POLL_MONITOR, S_POLL_CLIENTS_MONITOR,
//  S_POLL_EVENTS_MONITOR), counting connections; a workers' DISCONNECTED
//  also goes to the registry. Returns whether it read any
bool
zjob_broker_monitor_read (s_broker_t *self, s_poll_t which);

//  zjob_broker_metrics.c: the manager's listener's part for metrics and
//  the job change debug line (zjob_manager_listener_fn's arguments)
void
zjob_broker_job_changed (s_broker_t *self, zjob_event_t event, const zjob_job_t *job,
                         zjob_status_t old_status);

//  zjob_broker_metrics.c: stop the clients and events monitors and free
//  the metrics; after the handlers are destroyed
void
zjob_broker_metrics_destroy (s_broker_t *self);

//  zjob_broker_timers.c: the timed work of a pass, before the drain:
//  promote the scheduled jobs due, refill the workflows' tokens, time out
//  at most ZJOB_EXPIRE_STEP held jobs, settle at most ZJOB_DEPS_STEP
//  children, fire at most ZJOB_SCHEDULES_STEP due schedules
void
zjob_broker_timed (s_broker_t *self);

//  zjob_broker_writes.c: the pass's commit: one sync begun for what it
//  changed (self->ticket), tried at most once every S_SYNC_RETRY_MS while
//  syncs fail. Returns 1 if the pass's changes are durable now, 0 if they
//  will be when self->ticket is done (an overlapped sync under way), -1
//  with sync_err filled with the 503 its writes get, the store being
//  unable to write
int
zjob_broker_commit (s_broker_t *self, zjob_error_t *sync_err);

//  zjob_broker_writes.c: take the syncs that completed (without waiting):
//  the manager's enqueues they cover become committed_seq, the outbox
//  sends what they make durable (a failed one's writes as 503, and the
//  broker refuses writes from then on), the workers whose READY is
//  answered join the credit ring
void
zjob_broker_synced (s_broker_t *self);

//  zjob_broker_writes.c: stopping: wait for the last sync (a synchronous
//  one, which waits for those under way), then send what the outbox holds
void
zjob_broker_sync_last (s_broker_t *self);

//  zjob_broker_writes.c: while the store cannot write, whether msg, from
//  side, is a write to refuse before it is applied: true with err filled
//  (503) if so. Reads, and worker messages that change nothing durable,
//  go through
bool
zjob_broker_refuses (s_broker_t *self, s_side_t side, zjob_msg_t *msg, zjob_error_t *err);

//  zjob_broker_timers.c: how long the loop may wait for input, in ms: until
//  the first of the next heartbeat tick, disconnect re-check, scheduled job
//  or schedule due, token, timeout and end of the reclaim window; 0 when
//  the next pass has work already
int64_t
zjob_broker_wait_ms (s_broker_t *self);

//  zjob_broker_auth.c: check the config (zjob_broker_config_check) and,
//  with CURVE, load the broker's certificate, read the key lists and bind
//  the ZAP endpoint; before any socket is bound. 0, or -1 with
//  self->start_error filled
int
zjob_broker_auth_start (s_broker_t *self);

//  zjob_broker_auth.c: with CURVE, make sock a CURVE server with the
//  broker's certificate, of ZAP domain (clients, workers, events); before
//  it binds. Nothing without CURVE.
void
zjob_broker_auth_socket (s_broker_t *self, zsock_t *sock, const char *domain);

//  zjob_broker_auth.c: answer at most batch pending ZAP requests, if the
//  ZAP socket is unsettled
void
zjob_broker_auth_serve (s_broker_t *self);

//  zjob_broker_auth.c: RELOAD: read the key lists again, logging the
//  counts, or the error (the old lists are kept)
void
zjob_broker_auth_reload (s_broker_t *self);

//  zjob_broker_auth.c: free the key lists (closing the ZAP socket) and
//  the certificate; after the sockets are closed
void
zjob_broker_auth_destroy (s_broker_t *self);

//  zjob_broker_store.c: the manager over the config's store (the one
//  given in config.store_handle, taken, else opened from the spec); spec
//  (size bytes) gets what the log names. 0, or -1 with self->start_error
int
zjob_broker_manager_start (s_broker_t *self, char *spec, size_t size);

//  zjob_broker_store.c: from the timed work: mark the pass dirty when a
//  shared store's lease needs a sync (every renew_ms, even idle)
void
zjob_broker_renew (s_broker_t *self);

//  zjob_broker_store.c: timeout, or less if a renewal sync is due sooner
int64_t
zjob_broker_renew_wait (s_broker_t *self, int64_t timeout);

//  zjob_broker_store.c: after a failed sync: true if the store is fenced
//  (another broker took the lease), in which case the error is logged
//  once and the loop ends (terminated): zjobd exits 8
bool
zjob_broker_fenced (s_broker_t *self);

#endif
