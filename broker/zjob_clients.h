/*  =========================================================================
    zjob_clients - the broker's answers to client requests

    One call per decoded client request (PROTOCOL.md 9): SUBMIT, GET, LIST,
    DELETE/START/PAUSE/RESUME/CANCEL/RETRY/RUN_NOW (of one job, a list or
    a filter; RETRY and RUN_NOW also as a dry run, which is a read),
    STATUS, RESULTS, CLEANUP, STATS, WORKERS, PING, TEMPLATE (answered by
    zjob_template_cmd.c), METRICS (zjob_metrics_cmd.c). Each is applied to the
    manager at once and its OK encoded into the caller's builder; the
    caller queues it in the outbox, to go out after the pass's sync. The
    call says whether the OK confirms state (the reply to any write, which
    a failed sync turns into 503: nothing is acknowledged unless the state
    it acknowledges is durable, whether or not this request changed it) or
    fails with the error to answer. CLEANUP, and a LIST or an operation
    by filter (a bulk DELETE, CANCEL... over every job it matches) over
    more jobs than one step examines, are not done at once: deleting a
    million jobs takes seconds, listing them some 100 ms, and the loop
    must not stop that long, so the handler leaves them pending and the
    caller runs them
    in bounded steps, one step of the oldest per loop pass
    (zjob_clients_step), in the order they arrived.

    The class also keeps the throughput rates STATS reports: jobs created
    per second (counted here, at SUBMIT), completed and failed (counted by
    the broker's listener through zjob_clients_count). No socket is
    involved, so a test drives it with a manager and a registry.
    ========================================================================= */

#ifndef ZJOB_CLIENTS_H_INCLUDED
#define ZJOB_CLIENTS_H_INCLUDED

#include "zjob_manager.h"
#include "zjob_registry.h"
#include "zjob_publisher.h"
#include "zjob_schedules.h"
#include "zjob_peer.h"
#include "zjob_metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_RATE_WINDOW_MS 10000  //  msecs the STATS rates are averaged over

typedef struct _zjob_clients_t zjob_clients_t;

//  What the rates count
typedef enum {
    ZJOB_RATE_SUBMITTED = 0,
    ZJOB_RATE_COMPLETED,
    ZJOB_RATE_FAILED,
    ZJOB_RATE_COUNT
} zjob_rate_t;

//  A handler over manager, registry and publisher (borrowed: they must
//  outlive it; publisher may be NULL, for no "subscriptions" figure).
//  retention_ms is the manager's configured retention (0: the default),
//  which CLEANUP's own retention is measured against. NULL if out of
//  memory.
zjob_clients_t *
zjob_clients_new (zjob_manager_t *manager, zjob_registry_t *registry,
                  zjob_publisher_t *publisher, int64_t retention_ms);

//  Destroy the handler. Accepts NULL; sets *self_p to NULL.
void
zjob_clients_destroy (zjob_clients_t **self_p);

#define ZJOB_CLIENTS_PENDING 2  //  handle: the request goes on in later passes
#define ZJOB_CLIENTS_READ 3     //  step: a read's reply is built (no sync needed)
#define ZJOB_LIST_STEP 20000    //  jobs a LIST step examines at most (a few ms)

//  Log level (zjob_log_level_t) of the admin-action log (zjob_audit: at
//  info); ZJOB_LOG_INFO until set.
void
zjob_clients_set_log_level (zjob_clients_t *self, int log_level);

//  Test hook: jobs a LIST step examines at most, process-wide (0: back to
//  ZJOB_LIST_STEP), so that a test needs few jobs for a stepped LIST.
void
zjob_clients_set_list_step (size_t jobs);

//  Test hook: jobs a step of an operation by filter examines at most,
//  process-wide (0: back to ZJOB_BULK_STEP).
void
zjob_clients_set_bulk_step (size_t jobs);

//  The metrics METRICS renders and STATS' history reads (borrowed: they
//  must outlive the handler; NULL, the default: METRICS is a 500 and
//  STATS has no history).
void
zjob_clients_set_metrics (zjob_clients_t *self, zjob_metrics_t *metrics);

//  Answer msg, a decoded client request from peer (zjob_peer.h; NULL is
//  zjob_peer_open (), the broker without CURVE), at now_mono (monotonic ms, for
//  the rates): the OK is begun and filled in builder (the caller ends and
//  queues it). What peer's role may do is zjob_roles.h's: a request it may
//  not send is -1 with 403 (nothing applied); a client key's requests are
//  confined to its user's jobs and batches (another's is an unknown id:
//  404), and a request left pending keeps that user's name, not peer
//  (borrowed for this call only). Returns 1 if the OK confirms state (any write request:
//  SUBMIT, DELETE/START/PAUSE/RESUME/CANCEL, RETRY/RUN_NOW unless a dry
//  run, whether or not this request
//  changed anything; it must wait for a successful sync, or be answered
//  503), 0 for a read, or -1 with err filled when the answer is that
//  ERROR (builder then unused). CLEANUP returns ZJOB_CLIENTS_PENDING and
//  builds nothing: the caller keeps it with zjob_clients_defer and runs
//  it with zjob_clients_step, one step per loop pass. So does a LIST, or
//  an operation by filter (a real one or a dry run), that its first step
//  (run at once, unless a request is pending already: it then waits its
//  turn) did not finish. An operation by ids is done at once.
int
zjob_clients_handle (zjob_clients_t *self, zjob_msg_t *msg, const zjob_peer_t *peer,
                     zjob_msg_builder_t *builder, int64_t now_mono, zjob_error_t *err);

//  Keep the request that zjob_clients_handle has just left pending, to
//  answer the client whose routing id is rid (rid_size bytes, copied).
//  Returns 0, or -1 with err filled (answer it that, the request dropped):
//  out of memory, or ZJOB_TOO_MANY when that connection has the
//  manager's limits.max_pending requests kept already (0: no limit).
int
zjob_clients_defer (zjob_clients_t *self, const uint8_t *rid, size_t rid_size,
                    zjob_error_t *err);

//  Requests kept and not yet answered.
size_t
zjob_clients_deferred (zjob_clients_t *self);

//  One step of the oldest request kept: a CLEANUP deletes at most
//  ZJOB_CLEANUP_STEP jobs (about a millisecond), a LIST examines at most
//  ZJOB_LIST_STEP, an operation by filter ZJOB_BULK_STEP. Returns 0
//  while it goes on (or if there is none). When a CLEANUP has none left
//  to delete, begins and fills its OK in builder (deleted: the total over
//  all steps) and returns 1: the OK confirms state (send it after a
//  sync). When a LIST's page is ready, fills its OK and returns
//  ZJOB_CLIENTS_READ (a read: no sync needed). When an operation by
//  filter has examined the last job, fills its OK (done, failed, errors,
//  and a dry run's ids: the totals over all steps) and returns 1, as a
//  CLEANUP, or ZJOB_CLIENTS_READ for a dry run. -1 with err filled if the
//  store refused a removal or memory ran out. On 1, ZJOB_CLIENTS_READ
//  and -1, *rid_p, *rid_size_p and *request_id_p name whom to answer
//  (borrowed until the next call); the next request kept starts at the
//  next call, so two at once run one after the other.
int
zjob_clients_step (zjob_clients_t *self, zjob_msg_builder_t *builder,
                   const uint8_t **rid_p, size_t *rid_size_p, uint64_t *request_id_p,
                   zjob_error_t *err);

//  BATCH (zjob_clients_batch.c): show, close, list, cancel of a batch, by
//  a peer confined to user (NULL: none, an admin; else that user's
//  batches only). Returns as zjob_clients_handle (cancel is an operation
//  by filter, and may be left pending).
int
zjob_clients_batch (zjob_clients_t *self, zjob_manager_t *manager, zjob_msg_t *msg,
                    const char *user, zjob_msg_builder_t *builder, uint64_t request_id,
                    zjob_error_t *err);

//  The batches' listener while a publisher is given (zjob_clients_new):
//  a batch that finished is published as batch_finished (arg: the
//  publisher).
void
zjob_clients_batch_finished (const zjob_batch_info_t *info, void *arg);

//  For zjob_clients_batch: CANCEL every job filter matches (of user only,
//  unless NULL), in steps as a CANCEL by filter, answered as one (done,
//  failed, errors). Returns as zjob_clients_handle.
int
zjob_clients_cancel_filter (zjob_clients_t *self, const zjob_filter_t *filter, const char *user,
                            zjob_error_t *err);
//  Load the schedules SCHEDULE works on (zjob_schedules_new at now, ms
//  UTC), owned by the handler; their schedule_fired events go out through
//  its publisher. 0, or -1 with err. Until then SCHEDULE answers 503.
int
zjob_clients_start_schedules (zjob_clients_t *self, int64_t now, zjob_error_t *err);

//  The schedules (borrowed; the broker fires them), NULL before the start.
zjob_schedules_t *
zjob_clients_schedules (zjob_clients_t *self);

//  True while a SUBMIT is creating jobs: the manager's listener hears new
//  jobs then (their first event has no old status).
bool
zjob_clients_creating (zjob_clients_t *self);

//  Count count events of kind at now_mono for the rates.
void
zjob_clients_count (zjob_clients_t *self, zjob_rate_t kind, int64_t now_mono,
                    uint64_t count);

//  Events of kind per second at now_mono: those counted in the last
//  ZJOB_RATE_WINDOW_MS (the current second included), over the part of
//  that window that has elapsed (less than the window right after the
//  start), so a rate read right after activity is not 0.
double
zjob_clients_rate (zjob_clients_t *self, zjob_rate_t kind, int64_t now_mono);

#ifdef __cplusplus
}
#endif

#endif
