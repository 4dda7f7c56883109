/*  =========================================================================
    zjob_workers - the broker's answers to worker messages

    One call per decoded message from a worker (PROTOCOL.md 10): READY
    registers it in the registry (adopting the jobs it still runs),
    RESULT finishes jobs and gives the slots back, PROGRESS, CREDIT,
    HEARTBEAT, DISCONNECT, and the OK or ERROR a worker sends to the
    broker's PAUSE/RESUME/CANCEL. Any message from a registered worker is
    a sign of life. A message from a routing id the registry does not
    know (the broker restarted, or gave the worker up) is answered with
    RECONNECT.

    Like zjob_clients, it encodes its reply into the caller's builder and
    says whether it acknowledges a change; the broker queues it in the
    outbox. It calls back into the broker for one thing: when credit
    comes back, dispatch may hand out jobs (and a RESULT asks for that at
    once, before its results are applied, so the worker's next JOB is not
    held up by the bookkeeping).
    ========================================================================= */

#ifndef ZJOB_WORKERS_H_INCLUDED
#define ZJOB_WORKERS_H_INCLUDED

#include "zjob_manager.h"
#include "zjob_registry.h"
#include "zjob_publisher.h"
#include "zjob_peer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_WORKERS_NO_REPLY 2  //  zjob_workers_handle: nothing to answer

typedef struct _zjob_workers_t zjob_workers_t;

//  Credit came back: now false means "dispatch when you next can", true
//  "dispatch what is already durable, now".
typedef void (zjob_workers_dispatch_fn) (bool now, void *arg);

//  What READY's OK tells a worker
typedef struct {
    int64_t heartbeat_ms;  //  msecs between heartbeats
    int liveness;          //  Heartbeats missed before it is dead
    int64_t max_message;   //  bytes in a message at most
    int log_level;         //  zjob_log_level_t, for this class's logs
    size_t max_prefetch;   //  Jobs a worker may hold beyond its slots, at most
                           //  (READY "prefetch"; 0: no prefetch)
} zjob_workers_config_t;

//  A handler over manager, registry and publisher (borrowed: they must
//  outlive it; publisher may be NULL). NULL if out of memory.
zjob_workers_t *
zjob_workers_new (zjob_manager_t *manager, zjob_registry_t *registry,
                  zjob_publisher_t *publisher, const zjob_workers_config_t *config);

//  Destroy the handler. Accepts NULL; sets *self_p to NULL.
void
zjob_workers_destroy (zjob_workers_t **self_p);

//  Set the function that hears credit come back (NULL: none).
void
zjob_workers_set_dispatch (zjob_workers_t *self, zjob_workers_dispatch_fn *fn, void *arg);

//  Handle msg, a decoded message from peer (zjob_peer.h; NULL is the open
//  peer: a worker key may send READY only for the workflows its key lists,
//  else 403; a client key is refused everything, 403) with routing id rid, at
//  now_mono; fd is its connection's descriptor (ZMQ_SRCFD) for a READY,
//  else -1. A reply is begun and filled in builder (the caller ends and
//  queues it). Returns 1 if it confirms state (the OK to a RESULT, whether
//  or not it changed the job; the OK to a READY that adopted jobs), 0 if
//  not,
//  ZJOB_WORKERS_NO_REPLY if there is nothing to answer, or -1 with err
//  filled when the answer is that ERROR.
int
zjob_workers_handle (zjob_workers_t *self, zjob_msg_t *msg, const zjob_peer_t *peer,
                     const uint8_t *rid, size_t rid_size, int fd, zjob_msg_builder_t *builder,
                     int64_t now_mono, zjob_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
