/*  =========================================================================
    zjob_broker - the broker: a CZMQ actor that serves clients and workers

    One thread, one loop, no locks. The actor owns three sockets (a ROUTER
    for clients, a ROUTER for workers, an XPUB for events) and the objects
    that do the work, each in its own class:

      zjob_manager    the jobs: every job rule, the ready queue, the store
      zjob_clients    answers client requests (and keeps the STATS rates)
      zjob_workers    answers worker messages (READY, RESULT, PROGRESS...)
      zjob_registry   the workers: credit ring, holders, liveness
      zjob_dispatch   the dispatch walk over the credit ring
      zjob_outbox     replies held until the sync that covers them
      zjob_publisher  events, encoded only for topics somebody wants

    This file keeps the actor, the loop, the pass, routing and dispatch;
    zjob_broker_timers.c the pass's timed work (step 1 below) and the
    poll's timeout; zjob_broker_metrics.c what feeds zjob_metrics;
    zjob_broker_impl.h the actor's state they share.
    Everything the broker does happens in a loop pass:

      1. poll, until the next heartbeat tick or disconnect re-check, the
         next scheduled job or schedule due, held job timing out or token
         of a rate-limited workflow with jobs waiting; then promote the
         scheduled jobs due (zjob_manager_promote), time out at most
         ZJOB_EXPIRE_STEP held jobs (zjob_manager_expire_step: each retried
         or failed by its policy, its worker sent CANCEL {id, reason,
         attempt}), settle at most ZJOB_DEPS_STEP children of the parents
         that settled (zjob_manager_deps_step; the poll does not wait
         while some are left), fire at most ZJOB_SCHEDULES_STEP due
         schedules;
      2. drain: read what is readable on each socket without blocking, at
         most `batch` messages per socket (workers first: their results
         free the credit that new jobs need, and jobs already durable
         refill it before the clients are read), and route each message to
         zjob_workers or zjob_clients, which apply it at once. Frames are
         received into zmq_msg_t and decoded in place (no copy); nothing
         is sent yet: each reply goes to the outbox; then one bounded step
         of the oldest CLEANUP, LIST or bulk operation by filter under way
         (pending across passes: zjob_clients_step);
      3. expire silent workers; the registry's reap gives what dead workers
         held back to the manager (zjob_manager_worker_lost);
      4. dispatch what is already durable (below), so that workers run
         jobs while the sync waits for the disk;
      5. commit: one zjob_manager_sync for the whole pass (group commit:
         with fsync=always one fsync covers every submit, result and state
         change of the pass). If the sync fails, the outbox turns every
         reply to a write into ERROR 503, changed or not (nothing is
         acknowledged that is not durable); reads are still answered.
         Until a sync succeeds the broker refuses writes before applying
         them and dispatches nothing (a dispatch is a change too), so the
         unwritten backlog stops growing; the sync is tried again every
         second, and the first that succeeds ends it
         (zjob_broker_writes.c);
      6. dispatch the jobs this pass queued, then flush the outbox;
      7. publish the pass's events.
    A dispatch is committed by the next pass's sync: one that a crash
    forgets is a job that recovery queues again (at-least-once). But a job
    is never handed out before its own enqueue is durable: step 4 takes only
    jobs enqueued before the last sync (zjob_manager_take_before with the
    sequence number the sync covered), and never passes the best job over
    for a lesser one; step 6 takes the rest once committed.

    The wait is poll(2) on the sockets' ZMQ_FDs, not zmq_poll, which asks
    every socket for ZMQ_EVENTS before and after it waits (some 22 system
    calls per wake with five sockets: half the broker thread's time with one
    request in flight per client). A ZMQ_FD is edge-triggered, so the loop
    keeps, per socket, a flag "unsettled": the socket may hold input its fd
    will not signal. It is set when poll reports the fd, and by every send
    on the socket (a send may process, and so swallow, the signal of an
    incoming message); it is cleared only by a read that found nothing. The
    loop blocks only when no socket is unsettled.

    Dispatch and credit. zjob_dispatch walks the registry's credit ring and
    hands each worker in turn the best job for it (its banner says how);
    this file decides when a walk runs: only when something could now be
    handed out that could not before (a job was queued or became due, a
    worker joined or left, credit came back, the reclaim window after a
    restart ended, under max-concurrent or a workflow's concurrency limit a
    held job was let go, a workflow's queue was resumed or its limit raised,
    or a rate-limited workflow got a token), never while syncs fail, and
    before the pass's sync only over jobs whose enqueue is durable. A worker
    is sent no JOB before the OK to its READY has gone out. After a restart
    that found jobs handed out before, dispatch waits one liveness period so
    that the workers still running them can reconnect and take them back
    (READY "jobs") before anyone else is given them.

    Bad input never stops the loop: a message that does not decode gets the
    ERROR that zjob_msg_error_for builds (400, 413, 505...), or is dropped
    and logged when it carries no request id to answer. Messages over
    max-message bytes never reach the broker: ZMQ_MAXMSGSIZE makes libzmq
    drop the connection before the frame is read.

    CURVE (zjob_broker_auth.c): the ZAP handler is a sixth socket of the
    loop, answered in the pass like the others; each message's key (its
    User-Id) is looked up in the key lists of the moment and the peer it
    names goes to the handlers, which apply the roles; a key no longer
    listed gets ERROR 401 and nothing is applied.

    Shutdown ($TERM): the loop ends between passes, so no request is
    half-applied; workers are sent DISCONNECT; the store is synced and
    closed. zmq_bind makes "tcp://127.0.0.1:*" a port the kernel picks; both
    ROUTERs set ROUTER_HANDOVER, and the workers ROUTER is ROUTER_MANDATORY,
    so a send to a worker that is gone fails with EHOSTUNREACH: it is dead.
    ========================================================================= */

#include "zjob_broker_impl.h"
#include "zjob_deps.h"
#include "zjob_registry.h"
#include "zjob_dispatch.h"
#include "zjob_outbox.h"
#include "zjob_publisher.h"
#include "zjob_clients.h"
#include "zjob_workers.h"
#include "zjob_proto.h"
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>


//  --------------------------------------------------------------------------
//  The registry's callbacks: a lost worker's jobs, a worker leaving

//  A job whose worker is gone: a failed attempt, retried or failed for good
static void
s_job_lost (const char *job_id, void *arg)
{
    s_broker_t *self = (s_broker_t *) arg;
    const char *stale = strchr (job_id, '~');
    if (stale) {
        //  A timed-out attempt it still had: the job is free of it
        char id [ZJOB_ID_LEN + 1];
        snprintf (id, sizeof (id), "%.*s", (int) (stale - job_id), job_id);
        zjob_manager_attempt_released (self->manager, id, NULL);
        self->dispatch_needed = true;
        return;
    }
    zjob_error_t err;
    if (zjob_manager_worker_lost (self->manager, job_id, &err) < 0
        && err.code != ZJOB_NOT_FOUND)
        s_log_warning (self, "zjob_broker: cannot requeue job %s: %s", job_id, err.text);
    self->dirty = true;
}

static void
s_worker_left (s_worker_t *worker, const char *reason, void *arg)
{
    s_broker_t *self = (s_broker_t *) arg;
    s_log_info (self, "zjob_broker: worker %s left (%s)", worker->worker_id, reason);
    zjob_publisher_worker (self->publisher, "worker_left", worker->worker_id, worker->name,
                           (const char *const *) worker->workflows, worker->workflow_count,
                           worker->slots, reason);
    //  Its jobs are back in the queue, or let go under max-concurrent (a
    //  held paused job's requeue changes no status: no listener hears it)
    self->dispatch_needed = true;
}

//  --------------------------------------------------------------------------
//  Outgoing messages: queued during the pass, sent after its sync

//  Queue size bytes at data for the peer rid on side
static void
s_queue_bytes (s_broker_t *self, s_side_t side, const uint8_t *rid, size_t rid_size,
               uint64_t request_id, bool mutating, const uint8_t *data, size_t size)
{
    if (zjob_outbox_add (self->outbox, side, rid, rid_size, request_id, mutating, data, size)) {
        s_log_error (self, "zjob_broker: out of memory queueing a reply");
        self->dropped++;
    }
}

//  Queue an ERROR reply with err's code and message
static void
s_queue_error (s_broker_t *self, s_side_t side, const uint8_t *rid, size_t rid_size,
               uint64_t request_id, const zjob_error_t *err)
{
    if (zjob_outbox_add_error (self->outbox, side, rid, rid_size, request_id, err)) {
        s_log_error (self, "zjob_broker: out of memory queueing a reply");
        self->dropped++;
    }
}

//  Queue the message in the builder; one that cannot be finished (too
//  large, out of memory) becomes an ERROR instead
static void
s_queue_built_by (s_broker_t *self, zjob_msg_builder_t *builder, s_side_t side,
                  const uint8_t *rid, size_t rid_size, uint64_t request_id, bool mutating)
{
    zjob_error_t err;
    size_t size;
    const uint8_t *data = zjob_msg_end_data (builder, &size, &err);
    if (data)
        s_queue_bytes (self, side, rid, rid_size, request_id, mutating, data, size);
    else
        s_queue_error (self, side, rid, rid_size, request_id, &err);
}

#define s_queue_built(self, side, rid, rid_size, request_id, mutating) \
    s_queue_built_by ((self), (self)->builder, (side), (rid), (rid_size), (request_id), (mutating))

//  Whether a socket holds input, per ZMQ_EVENTS (which processes its
//  mailbox: without POLLIN, the socket is settled). An error, such as a
//  terminated context, counts as input, for the read to see it.
static bool
s_has_input (void *handle)
{
    int events = 0;
    size_t size = sizeof (events);
    return zmq_getsockopt (handle, ZMQ_EVENTS, &events, &size) || (events & ZMQ_POLLIN);
}

//  Send rid + data on side now. Returns 0, or -1 with errno (EHOSTUNREACH:
//  the worker is gone; EAGAIN: its pipe is full)
static int
s_send_now (s_broker_t *self, s_side_t side, const uint8_t *rid, size_t rid_size,
            const uint8_t *data, size_t size)
{
    void *handle = side == S_CLIENTS ? self->clients_handle : self->workers_handle;
    self->unsettled [side] = true;  //  A send may swallow an input's signal
    if (zmq_send (handle, rid, rid_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
        return -1;
    if (zmq_send (handle, data, size, ZMQ_DONTWAIT) == -1)
        return -1;
    return 0;
}

//  A send to a worker failed: if it is gone, it is dead
static void
s_worker_send_failed (s_broker_t *self, const uint8_t *rid, size_t rid_size)
{
    int error = zmq_errno ();
    s_worker_t *worker = zjob_registry_lookup (self->registry, rid, rid_size);
    if (!worker)
        return;
    if (error == EHOSTUNREACH) {
        s_log_info (self, "zjob_broker: worker %s is unreachable", worker->worker_id);
        zjob_registry_mark_dead (self->registry, worker, "disconnect");
    }
    else
        s_log_warning (self, "zjob_broker: cannot send to worker %s: %s",
                       worker->worker_id, zmq_strerror (error));
}

//  The outbox's send: a failure to a worker may mean it is gone
static int
s_send_out (int side, const uint8_t *rid, size_t rid_size, const uint8_t *data, size_t size,
            void *arg)
{
    s_broker_t *self = (s_broker_t *) arg;
    if (s_send_now (self, (s_side_t) side, rid, rid_size, data, size) == 0)
        return 0;
    if (side == S_WORKERS)
        s_worker_send_failed (self, rid, rid_size);
    else
        self->dropped++;  //  A client's pipe is full: it stopped reading
    return -1;
}

//  Queue a request to a worker: PAUSE, RESUME or CANCEL of a job it holds
static void
s_queue_control (s_broker_t *self, s_worker_t *worker, zjob_cmd_t cmd, const char *job_id)
{
    static uint64_t s_control_id = 0;
    zjob_msg_begin (self->side_builder, cmd, ++s_control_id);
    zjob_msg_add_str (self->side_builder, "id", job_id);
    s_queue_built_by (self, self->side_builder, S_WORKERS, worker->rid, worker->rid_size,
                      s_control_id, false);
    s_log_debug (self, "zjob_broker: %s job %s on worker %s", zjob_cmd_name (cmd), job_id,
                 worker->worker_id);
}


//  --------------------------------------------------------------------------
//  Events: the publisher encodes them when they happen, if anyone listens

//  Publish the pass's events
static void
s_events_publish (s_broker_t *self)
{
    size_t dropped = 0;
    if (zjob_publisher_flush (self->publisher, &dropped))
        self->unsettled [S_POLL_EVENTS] = true;  //  A send may swallow a signal
    self->dropped += dropped;
}

//  Read the subscriptions the XPUB passes up, up to batch of them; reading
//  until recv finds nothing settles the socket
static void
s_events_subscriptions (s_broker_t *self)
{
    size_t count = zjob_publisher_read (self->publisher, self->config.batch);
    self->unsettled [S_POLL_EVENTS] = count == self->config.batch;
}


//  --------------------------------------------------------------------------
//  The manager's listener: events, worker control, dispatch and rate hints

static void
s_on_change (zjob_event_t event, const zjob_job_t *job, zjob_status_t old_status, void *arg)
{
    s_broker_t *self = (s_broker_t *) arg;
    self->dirty = true;
    zjob_broker_job_changed (self, event, job, old_status);
    if (event == ZJOB_EVENT_TIMED_OUT) {
        zjob_publisher_job_reason (self->publisher, "timed_out", job, -1, job->error_kind);
        return;
    }
    if (event == ZJOB_EVENT_DEAD_EXHAUSTED || event == ZJOB_EVENT_DEAD_PERMANENT) {
        zjob_publisher_job_reason (self->publisher, "dead", job, -1,
                                   event == ZJOB_EVENT_DEAD_PERMANENT ? "permanent"
                                                                      : "exhausted");
        return;
    }
    if (event == ZJOB_EVENT_STATUS || event == ZJOB_EVENT_RETRYING) {
        zjob_status_t status = (zjob_status_t) job->status;
        //  A job to hand out, or (under max_concurrent) a held job let go:
        //  finished, cancelled or requeued, running or paused. A walk that
        //  stopped at the limit left its workers in the ring, so the
        //  credit their results bring back does not restart it: this does.
        //  Likewise a running job of a workflow with a concurrency limit
        //  (zjob_queues.h) that ends may let the next of its jobs go.
        bool let_go = !job->held && (old_status == ZJOB_RUNNING || old_status == ZJOB_PAUSED);
        if (status == ZJOB_QUEUED || (let_go && self->config.max_concurrent)
            || (let_go && zjob_queues_limited (zjob_manager_queues (self->manager), job->workflow_id)))
            self->dispatch_needed = true;
        if (status == ZJOB_COMPLETED || status == ZJOB_FAILED)
            zjob_clients_count (self->clients_handler, status == ZJOB_COMPLETED ? ZJOB_RATE_COMPLETED : ZJOB_RATE_FAILED, self->now, 1);
        //  A job a worker still has (the reporter itself is forgotten
        //  before its result is applied): tell it what changed. Only a
        //  job that was running or paused can have one.
        s_worker_t *holder = old_status == ZJOB_RUNNING || old_status == ZJOB_PAUSED
            ? zjob_registry_holder (self->registry, job->id)
            : NULL;
        //  (A timed-out job's CANCEL, with its reason, is zjob_broker_expired's)
        if (holder && !holder->dead && !self->expiring) {
            if (old_status == ZJOB_RUNNING && status == ZJOB_PAUSED)
                s_queue_control (self, holder, ZJOB_CMD_PAUSE, job->id);
            else if (old_status == ZJOB_PAUSED && status == ZJOB_RUNNING)
                s_queue_control (self, holder, ZJOB_CMD_RESUME, job->id);
            else if (status == ZJOB_CANCELLED) {
                //  A client's cancel says so (PROTOCOL.md 10.6)
                static uint64_t s_cancel_id = 0;
                zjob_msg_build_cancel (self->side_builder, ++s_cancel_id, job->id, "cancelled",
                                       job->attempts);
                s_queue_built_by (self, self->side_builder, S_WORKERS, holder->rid,
                                  holder->rid_size, s_cancel_id, false);
            }
            else if (zjob_status_terminal (status))
                s_queue_control (self, holder, ZJOB_CMD_CANCEL, job->id);
        }
        //  A new job's first event has no old status (PROTOCOL.md 11.2)
        zjob_publisher_job (self->publisher,
                            event == ZJOB_EVENT_RETRYING ? "retrying" : zjob_status_name (status),
                            job,
                            zjob_clients_creating (self->clients_handler) ? -1
                                                                          : (int) old_status);
    }
    else if (event == ZJOB_EVENT_PROGRESS)
        zjob_publisher_job (self->publisher, "progress", job, -1);
    else
        zjob_publisher_job (self->publisher, "deleted", job, -1);
}


//  A held job timed out (zjob_manager_expire_step has retried or failed
//  it): its worker is told to stop, as for a client's cancel of a held
//  job, with the reason and the attempt. It still has the attempt until
//  it answers, so its slot stays busy (zjob_registry_hold_stale) and the
//  manager does not give it the job again meanwhile.
void
zjob_broker_expired (const zjob_job_t *job, const char *worker_id, uint32_t attempt,
                     const char *reason, void *arg)
{
    s_broker_t *self = (s_broker_t *) arg;
    self->dispatch_needed = true;
    s_worker_t *holder = zjob_registry_holder (self->registry, job->id);
    if (!holder || holder->dead || !streq (holder->worker_id, worker_id)
        || zjob_registry_hold_stale (self->registry, holder, job->id)) {
        //  Nobody (alive) has it: nothing to wait for
        zjob_manager_attempt_released (self->manager, job->id, worker_id);
        if (holder && !holder->dead && streq (holder->worker_id, worker_id))
            s_log_warning (self, "zjob_broker: out of memory holding job %s's attempt",
                           job->id);
        return;
    }
    static uint64_t s_expire_id = 0;
    zjob_msg_build_cancel (self->side_builder, ++s_expire_id, job->id, reason, attempt);
    s_queue_built_by (self, self->side_builder, S_WORKERS, holder->rid, holder->rid_size,
                      s_expire_id, false);
    s_log_info (self, "zjob_broker: job %s attempt %u on worker %s: %s", job->id,
                (unsigned) attempt, worker_id, reason);
}


//  --------------------------------------------------------------------------
//  Client requests

//  The peer a request came from, and its request id
typedef struct {
    const uint8_t *rid;
    size_t rid_size;
    uint64_t request_id;
} s_peer_t;

static void
s_reply_error (s_broker_t *self, s_side_t side, const s_peer_t *peer, const zjob_error_t *err)
{
    s_log_debug (self, "zjob_broker: request %" PRIu64 ": %d %s", peer->request_id,
                 err->code, err->text);
    s_queue_error (self, side, peer->rid, peer->rid_size, peer->request_id, err);
}

//  Queue the reply a handler built (rc >= 0: 1 if it confirms state) or err
static void
s_reply_built (s_broker_t *self, const s_peer_t *peer, int rc, const zjob_error_t *err)
{
    if (rc < 0)
        s_reply_error (self, S_CLIENTS, peer, err);
    else
        s_queue_built (self, S_CLIENTS, peer->rid, peer->rid_size, peer->request_id, rc > 0);
}

//  A client request from who (NULL without CURVE): the handler applies it
//  and encodes the OK, or the error
static void
s_client_message (s_broker_t *self, zjob_msg_t *msg, const s_peer_t *peer,
                  const zjob_peer_t *who)
{
    zjob_error_t err;
    if (zjob_broker_refuses (self, S_CLIENTS, msg, &err)) {
        s_reply_error (self, S_CLIENTS, peer, &err);  //  The store cannot write
        return;
    }
    size_t ready = zjob_manager_queued (self->manager);
    int rc = zjob_clients_handle (self->clients_handler, msg, who, self->builder, self->now, &err);
    //  RUN_NOW makes a job ready with no status change, which no listener
    //  hears: the ready queue growing is the sign
    if (zjob_manager_queued (self->manager) > ready)
        self->dispatch_needed = true;
    //  A change's OK waits for a sync, even if no job changed (QUEUE's record)
    if (rc == 1)
        self->dirty = true;
    if (rc == ZJOB_CLIENTS_PENDING)  //  Answered when done, passes later
        rc = zjob_clients_defer (self->clients_handler, peer->rid, peer->rid_size, &err)
            ? -1
            : ZJOB_CLIENTS_PENDING;
    if (rc != ZJOB_CLIENTS_PENDING)
        s_reply_built (self, peer, rc, &err);
}


//  --------------------------------------------------------------------------
//  Worker messages

static void s_dispatch (s_broker_t *self, bool committed);

//  Credit came back to a worker (zjob_workers): dispatch now, or soon
static void
s_credit_back (bool now, void *arg)
{
    s_broker_t *self = (s_broker_t *) arg;
    self->dispatch_needed = true;
    if (now)
        s_dispatch (self, false);
}

//  A worker message from who (NULL without CURVE): the handler applies it
//  and encodes the reply, if any
static void
s_worker_message (s_broker_t *self, zjob_msg_t *msg, const s_peer_t *peer, int fd,
                  const zjob_peer_t *who)
{
    zjob_error_t err;
    if (zjob_broker_refuses (self, S_WORKERS, msg, &err)) {
        s_reply_error (self, S_WORKERS, peer, &err);  //  The store cannot write
        return;
    }
    int rc = zjob_workers_handle (self->workers_handler, msg, who, peer->rid, peer->rid_size, fd,
                                  self->builder, self->now, &err);
    if (rc < 0)
        s_reply_error (self, S_WORKERS, peer, &err);
    else if (rc != ZJOB_WORKERS_NO_REPLY)
        s_queue_built (self, S_WORKERS, peer->rid, peer->rid_size, peer->request_id, rc > 0);
}


//  --------------------------------------------------------------------------
//  Reading the sockets

//  A message whose key is no longer listed (a reload dropped it): a
//  request is answered 401, nothing is applied
static void
s_key_refused (s_broker_t *self, s_side_t side, s_peer_t *peer, const uint8_t *data,
               size_t size)
{
    zjob_cmd_t cmd = ZJOB_CMD_UNKNOWN;
    s_log_debug (self, "zjob_broker: a message on the %s socket from a key no longer listed",
                 side == S_CLIENTS ? "clients" : "workers");
    if (peer->rid_size == 0 || peer->rid_size >= S_RID_MAX
        || !zjob_msg_peek (data, size, &peer->request_id, &cmd)
        || !zjob_cmd_is_request (cmd, side == S_CLIENTS ? ZJOB_ROUTE_CLIENT_BROKER : ZJOB_ROUTE_WORKER_BROKER))
        return;  //  A heartbeat, a reply: nothing to answer
    zjob_error_t err;
    zjob_error_set (&err, ZJOB_UNAUTHORIZED, "key no longer accepted");
    s_queue_error (self, side, peer->rid, peer->rid_size, peer->request_id, &err);
}

//  Who sent a message, for logs: the connection's peer address; for the
//  broker's own HTTP side (its internal key), the requester it put in its
//  routing id ("http 10.0.0.5:51234 #7"), which only it can choose; and
//  without CURVE, a routing id of that form after the address, as said
static const char *
s_peer_label (const zjob_peer_t *who, zmq_msg_t *body, const s_peer_t *peer, char *label)
{
    char rid [S_LABEL_MAX / 2] = "";
    if (peer->rid_size < sizeof rid) {
        memcpy (rid, peer->rid, peer->rid_size);
        rid [peer->rid_size] = 0;
        for (size_t index = 0; index < peer->rid_size; index++)
            if (!isprint ((unsigned char) rid [index])) {
                *rid = 0;  //  A binary id (libzmq's own): nothing to say
                break;
            }
    }
    if (who->internal && *rid)
        return snprintf (label, S_LABEL_MAX, "%s", rid), label;
    const char *address = zmq_msg_gets (body, "Peer-Address");
    if (!who->key && strncmp (rid, "http ", 5) == 0)
        return snprintf (label, S_LABEL_MAX, "%s (%s)", address ? address : "local", rid), label;
    return address;
}

//  Read one message from a ROUTER, if any, and handle it. Returns 0 if a
//  message was read, -1 if none was waiting.
static int
s_read_one (s_broker_t *self, s_side_t side)
{
    void *handle = side == S_CLIENTS ? self->clients_handle : self->workers_handle;
    zmq_msg_t rid, body;
    zmq_msg_init (&rid);
    if (zmq_msg_recv (&rid, handle, ZMQ_DONTWAIT) == -1) {
        if (zmq_errno () == ETERM)
            self->terminated = true;  //  The context is ending
        zmq_msg_close (&rid);
        return -1;
    }
    zmq_msg_init (&body);
    bool more = zmq_msg_more (&rid);
    if (more && zmq_msg_recv (&body, handle, 0) == -1)
        more = false;
    size_t frames = more ? 2 : 1;
    if (more && zmq_msg_more (&body)) {
        //  The protocol has one frame: swallow the rest
        zmq_msg_t extra;
        zmq_msg_init (&extra);
        while (zmq_msg_recv (&extra, handle, 0) != -1) {
            frames++;
            if (!zmq_msg_more (&extra))
                break;
        }
        zmq_msg_close (&extra);
    }
    s_peer_t peer = {
        (const uint8_t *) zmq_msg_data (&rid), zmq_msg_size (&rid), 0
    };
    const uint8_t *data = (const uint8_t *) zmq_msg_data (&body);
    size_t size = zmq_msg_size (&body);
    zjob_route_t route = side == S_CLIENTS ? ZJOB_ROUTE_CLIENT_BROKER : ZJOB_ROUTE_WORKER_BROKER;
    zjob_error_t err;
    zjob_msg_t *msg = NULL;
    //  With CURVE, who sent it: its key (the user id ZAP gave the
    //  connection) in the lists of now. A key a reload dropped is refused
    //  here, before anything is applied (for a worker: no sign of life)
    const zjob_peer_t *who = NULL;
    if (self->auth && more
        && !(who = zjob_auth_lookup (self->auth, zmq_msg_gets (&body, "User-Id")))) {
        s_key_refused (self, side, &peer, data, size);
        peer.rid_size = 0;  //  Nothing more to do
    }
    else if (peer.rid_size == 0 || peer.rid_size >= S_RID_MAX)
        zjob_error_set (&err, ZJOB_BAD_REQUEST, "bad routing id");
    else if (frames != 2)
        zjob_error_set (&err, ZJOB_BAD_REQUEST,
                        "a message is one frame (after the routing id), not %zu", frames - 1);
    else
        msg = zjob_msg_decode (data, size, route, &err);

    if (msg) {
        peer.request_id = zjob_msg_request_id (msg);
        //  Who asked, for the logs of what it changes
        zjob_peer_t asked = who ? *who : *zjob_peer_open ();
        char label [S_LABEL_MAX];
        asked.address = s_peer_label (&asked, &body, &peer, label);
        if (side == S_CLIENTS)
            s_client_message (self, msg, &peer, &asked);
        else {
            int fd = zjob_msg_command (msg) == ZJOB_CMD_READY ? zmq_msg_get (&body, ZMQ_SRCFD) : -1;
            s_worker_message (self, msg, &peer, fd, &asked);
        }
        zjob_msg_destroy (&msg);
    }
    else if (peer.rid_size > 0 && peer.rid_size < S_RID_MAX) {
        //  Any message from a registered worker is a sign of life, one
        //  that does not decode too (PROTOCOL.md 10.7)
        s_worker_t *worker = side == S_WORKERS
            ? zjob_registry_lookup (self->registry, peer.rid, peer.rid_size)
            : NULL;
        if (worker && !worker->dead)
            zjob_registry_touch (self->registry, worker, self->now);
        zframe_t *reply = size ? zjob_msg_error_for (data, size, &err) : NULL;
        if (reply) {
            s_log_debug (self, "zjob_broker: bad message: %d %s", err.code, err.text);
            zjob_msg_peek (data, size, &peer.request_id, NULL);
            s_queue_bytes (self, side, peer.rid, peer.rid_size, peer.request_id, false,
                           zframe_data (reply), zframe_size (reply));
            zframe_destroy (&reply);
        }
        else {
            s_log_warning (self, "zjob_broker: dropped a message on the %s socket: %s",
                           side == S_CLIENTS ? "clients" : "workers", err.text);
            self->dropped++;
        }
    }
    zmq_msg_close (&body);
    zmq_msg_close (&rid);
    return 0;
}

//  Read up to batch messages from side, if it may have any. Reading until
//  recv finds nothing settles the socket (see the banner); stopping at
//  batch leaves it unsettled, for the next pass.
static size_t
s_drain (s_broker_t *self, s_side_t side)
{
    if (!self->unsettled [side])
        return 0;
    size_t count = 0;
    while (count < self->config.batch && s_read_one (self, side) == 0)
        count++;
    self->unsettled [side] = count == self->config.batch;
    return count;
}


//  --------------------------------------------------------------------------
//  Dispatch: zjob_dispatch walks the credit ring; this decides when

//  The dispatcher's send: a JOB to a worker, now
static int
s_send_job (const uint8_t *rid, size_t rid_size, const uint8_t *data, size_t size, void *arg)
{
    return s_send_now ((s_broker_t *) arg, S_WORKERS, rid, rid_size, data, size);
}

//  Hand out jobs. Before the pass's sync (committed), only jobs whose
//  enqueue is already durable go out, so that no job runs before the
//  broker could lose it; after the sync, any job.
static void
s_dispatch (s_broker_t *self, bool committed)
{
    if (!self->dispatch_needed)
        return;
    if (self->sync_failing)
        return;  //  A dispatch is a change that cannot be
                 //  written: wait for a sync that succeeds
    if (self->hold_until) {
        if (zjob_mono_ms () < self->hold_until)
            return;  //  Still leaving workers time to reclaim
        self->hold_until = 0;
    }
    if (committed)
        self->dispatch_needed = false;
    bool again = false;
    if (zjob_dispatch_walk (self->dispatcher, committed ? UINT64_MAX : self->committed_seq, &again))
        self->dirty = true;
    if (again)
        self->dispatch_needed = true;
}


//  --------------------------------------------------------------------------
//  Heartbeats and disconnects

//  Every heartbeat_ms: expire silent workers, send HEARTBEAT to the others
static void
s_heartbeat (s_broker_t *self)
{
    int64_t now = zjob_mono_ms ();
    if (now < self->next_tick)
        return;
    self->next_tick = now + self->config.heartbeat_ms;
    zjob_registry_expire (self->registry, now);  //  Each is logged as it leaves
    zframe_t *heartbeat = zjob_msg_empty_new (ZJOB_CMD_HEARTBEAT, 0);
    s_worker_t *worker = zjob_registry_first (self->registry);
    for (; worker && heartbeat; worker = zjob_registry_next (self->registry))
        if (!worker->dead
            && s_send_now (self, S_WORKERS, worker->rid, worker->rid_size,
                           zframe_data (heartbeat), zframe_size (heartbeat))
            && zmq_errno () == EHOSTUNREACH)
            zjob_registry_mark_dead (self->registry, worker, "disconnect");
    zframe_destroy (&heartbeat);
}

//  --------------------------------------------------------------------------
//  The actor

//  A command on the actor pipe
//  endpoint as bound, as this process may connect to it: a wildcard host
//  becomes loopback. Into buffer (ZJOB_BROKER_ENDPOINT_MAX bytes)
static void
s_connectable (const char *endpoint, char *buffer)
{
    static const char *wild [][2] = {
        { "tcp://*:", "tcp://127.0.0.1:" }, { "tcp://0.0.0.0:", "tcp://127.0.0.1:" }, { "tcp://[::]:", "tcp://[::1]:" }
    };
    endpoint = endpoint ? endpoint : "";
    for (size_t index = 0; index < sizeof wild / sizeof wild [0]; index++) {
        size_t len = strlen (wild [index][0]);
        if (strncmp (endpoint, wild [index][0], len) == 0) {
            snprintf (buffer, ZJOB_BROKER_ENDPOINT_MAX, "%s%s", wild [index][1], endpoint + len);
            return;
        }
    }
    snprintf (buffer, ZJOB_BROKER_ENDPOINT_MAX, "%s", endpoint);
}

static void
s_pipe_command (s_broker_t *self)
{
    zmsg_t *request = zmsg_recv (self->pipe);
    if (!request) {
        self->terminated = true;  //  Interrupted
        return;
    }
    char *command = zmsg_popstr (request);
    if (!command || streq (command, "$TERM"))
        self->terminated = true;
    else if (streq (command, "ENDPOINTS"))
        zstr_sendx (self->pipe, self->clients_endpoint ? self->clients_endpoint : "",
                    self->workers_endpoint ? self->workers_endpoint : "",
                    self->events_endpoint ? self->events_endpoint : "", NULL);
    else if (streq (command, "STATUS")) {
        char code [16];
        snprintf (code, sizeof (code), "%d", self->start_error.code);
        zstr_sendx (self->pipe, code, self->start_error.text, NULL);
    }
    else if (streq (command, "SUBSCRIPTIONS"))
        zstr_sendf (self->pipe, "%zu",
                    self->publisher ? zjob_publisher_subscriptions (self->publisher) : 0);
    else if (streq (command, "VERBOSE"))
        self->config.log_level = ZJOB_LOG_DEBUG;
    else if (streq (command, "RELOAD"))
        zjob_broker_auth_reload (self);
    else if (streq (command, "ACCESS")) {
        char clients [ZJOB_BROKER_ENDPOINT_MAX], events [ZJOB_BROKER_ENDPOINT_MAX];
        s_connectable (self->clients_endpoint, clients);
        s_connectable (self->events_endpoint, events);
        zstr_sendx (self->pipe, clients, events,
                    self->cert ? zcert_public_txt (self->cert) : "",
                    self->internal_cert ? zcert_public_txt (self->internal_cert) : "",
                    self->internal_cert ? zcert_secret_txt (self->internal_cert) : "", NULL);
    }
    else
        s_log_warning (self, "zjob_broker: unknown pipe command '%s'", command);
    zstr_free (&command);
    zmsg_destroy (&request);
}

//  Bind sock to endpoint; returns the endpoint as bound (freshly
//  allocated), or NULL with err filled. libzmq's own bind, not CZMQ's: a
//  port of '*' is then the kernel's choice of ephemeral port, not the
//  first free one from 49152 up (which tests running side by side would
//  keep handing to each other's leftover peers).
static char *
s_bind (zsock_t *sock, const char *what, const char *endpoint, zjob_error_t *err)
{
    if (zmq_bind (zsock_resolve (sock), endpoint) == -1) {
        zjob_error_set (err, ZJOB_UNAVAILABLE, "cannot bind the %s socket to %s: %s",
                        what, endpoint, zmq_strerror (zmq_errno ()));
        return NULL;
    }
    char *bound = zsock_last_endpoint (sock);
    if (!bound)
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    return bound;
}

static void
s_broker_destroy (s_broker_t **self_p)
{
    s_broker_t *self = *self_p;
    if (!self)
        return;
    if (self->manager) {
        zjob_error_t err;
        if (zjob_manager_sync (self->manager, &err))
            s_log_error (self, "zjob_broker: final sync failed: %s", err.text);
        zjob_manager_set_listener (self->manager, NULL, NULL);
    }
    zjob_registry_destroy (&self->registry);
    zjob_clients_destroy (&self->clients_handler);
    zjob_workers_destroy (&self->workers_handler);
    zjob_publisher_destroy (&self->publisher);
    zjob_manager_destroy (&self->manager);
    zactor_destroy (&self->monitor);
    zjob_broker_metrics_destroy (self);
    zsock_destroy (&self->clients);
    zsock_destroy (&self->workers);
    zsock_destroy (&self->events);
    zjob_broker_auth_destroy (self);  //  The ZAP handler outlives the sockets it serves
    zjob_msg_builder_destroy (&self->builder);
    zjob_msg_builder_destroy (&self->side_builder);
    zstr_free (&self->clients_endpoint);
    zstr_free (&self->workers_endpoint);
    zstr_free (&self->events_endpoint);
    zjob_outbox_destroy (&self->outbox);
    zjob_dispatch_destroy (&self->dispatcher);
    zjob_store_destroy (&self->config.store_handle);  //  Given, but never used
    free (self);
    *self_p = NULL;
}

//  Create the three sockets with their options, watch the workers socket
//  for disconnects and bind them. Returns 0, or -1 with self->start_error
static int
s_broker_sockets (s_broker_t *self)
{
    zjob_error_t *err = &self->start_error;
    zjob_broker_config_t *config = &self->config;
    self->clients = zsock_new (ZMQ_ROUTER);
    self->workers = zsock_new (ZMQ_ROUTER);
    self->events = zsock_new (ZMQ_XPUB);
    if (!self->clients || !self->workers || !self->events)
        return zjob_error_set (err, ZJOB_INTERNAL, "cannot create sockets");
    zjob_proto_socket_setup (self->clients);
    zjob_proto_socket_setup (self->workers);
    zjob_proto_socket_setup (self->events);
    zsock_set_maxmsgsize (self->clients, config->max_message);
    zsock_set_maxmsgsize (self->workers, config->max_message);
    zsock_set_router_mandatory (self->workers, 1);
    //  A peer that reconnects with the routing id it chose takes it over
    zsock_set_router_handover (self->clients, 1);
    zsock_set_router_handover (self->workers, 1);
    //  ZMTP heartbeats close half-open worker connections (the monitor
    //  then reports them); the application heartbeats decide liveness
    zsock_set_heartbeat_ivl (self->workers, (int) config->heartbeat_ms);
    zsock_set_heartbeat_timeout (self->workers, (int) (config->heartbeat_ms * config->liveness));
    zsock_set_linger (self->clients, 200);
    zsock_set_linger (self->workers, 200);
    zsock_set_linger (self->events, 0);
    //  With CURVE: each a CURVE server of its ZAP domain; the publisher
    //  applies each subscription itself, for the subscriber's user
    zjob_broker_auth_socket (self, self->clients, "clients");
    zjob_broker_auth_socket (self, self->workers, "workers");
    zjob_broker_auth_socket (self, self->events, "events");
    if (self->auth)
        zsock_set_xpub_manual (self->events, 1);

    //  Watch worker disconnects before anyone can connect
    self->monitor = zactor_new (zmonitor, self->workers);
    if (!self->monitor)
        return zjob_error_set (err, ZJOB_INTERNAL, "cannot start the socket monitor");
    zstr_sendx (self->monitor, "LISTEN", "ACCEPTED", "DISCONNECTED", NULL);
    zstr_sendx (self->monitor, "START", NULL);
    zsock_wait (self->monitor);
    if (zjob_broker_metrics_start (self))
        return -1;

    if (!(self->clients_endpoint = s_bind (self->clients, "clients", config->clients, err))
        || !(self->workers_endpoint = s_bind (self->workers, "workers", config->workers, err))
        || !(self->events_endpoint = s_bind (self->events, "events", config->events, err)))
        return -1;
    return 0;
}

//  Set up sockets and the manager. Returns 0, or -1 with self->start_error
static int
s_broker_start (s_broker_t *self)
{
    zjob_error_t *err = &self->start_error;
    zjob_broker_config_t *config = &self->config;
    //  The config's own checks, and with CURVE the keys and the ZAP
    //  handler, before anything is opened or bound
    if (zjob_broker_auth_start (self))
        return -1;
    self->registry = zjob_registry_new (config->heartbeat_ms, config->liveness);
    self->builder = zjob_msg_builder_new ();
    self->side_builder = zjob_msg_builder_new ();
    self->outbox = zjob_outbox_new ();
    if (!self->registry || !self->outbox
        || !self->builder || !self->side_builder)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    zjob_registry_set_listener (self->registry, s_job_lost, s_worker_left, self);

    //  The store (given, or opened from the spec) and the manager over it
    char spec [ZJOB_BROKER_PATH_MAX + 8];
    if (zjob_broker_manager_start (self, spec, sizeof spec))
        return -1;
    zjob_dispatch_config_t dispatch_config = {
        .manager = self->manager, .registry = self->registry, .builder = self->builder, .send = s_send_job, .send_arg = self, .max_concurrent = (size_t) config->max_concurrent, .log_level = config->log_level
    };
    self->dispatcher = zjob_dispatch_new (&dispatch_config);
    if (!self->dispatcher)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    self->dispatch_needed = true;  //  Recovery may have queued jobs
    self->dirty = true;            //  And rewritten some: commit them first

    //  Jobs that were handed out before the restart are queued again; the
    //  workers that still run them get a moment to reconnect and take
    //  them back (READY "jobs") before anyone else is given them
    size_t handed_out = zjob_manager_reclaimable (self->manager);
    if (handed_out) {
        self->hold_until = zjob_mono_ms () + config->heartbeat_ms * config->liveness;
        s_log_info (self, "zjob_broker: %zu recovered jobs: dispatch starts in %" PRId64 " ms",
                    handed_out, config->heartbeat_ms * config->liveness);
    }

    if (s_broker_sockets (self))
        return -1;
    self->clients_handle = zsock_resolve (self->clients);
    self->workers_handle = zsock_resolve (self->workers);
    self->events_handle = zsock_resolve (self->events);
    self->publisher = zjob_publisher_new (self->events_handle);
    if (self->publisher) {
        zjob_publisher_set_log_level (self->publisher, config->log_level);
        //  With CURVE the XPUB is in manual mode (set before it was bound):
        //  the publisher applies each subscription for its key's user
        if (self->auth)
            zjob_publisher_set_auth (self->publisher, zjob_auth_lookup, self->auth);
    }
    self->clients_handler = self->publisher
        ? zjob_clients_new (self->manager, self->registry, self->publisher,
                            config->retention_ms)
        : NULL;
    zjob_workers_config_t workers_config = {
        config->heartbeat_ms, config->liveness, config->max_message, config->log_level,
        config->max_prefetch
    };
    self->workers_handler = zjob_workers_new (self->manager, self->registry, self->publisher,
                                              &workers_config);
    if (!self->clients_handler || !self->workers_handler)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    zjob_clients_set_log_level (self->clients_handler, config->log_level);
    zjob_workers_set_dispatch (self->workers_handler, s_credit_back, self);
    zjob_clients_set_metrics (self->clients_handler, self->metrics);
    //  The listener publishes: it starts hearing once the publisher exists
    zjob_manager_set_listener (self->manager, s_on_change, self);
    if (zjob_clients_start_schedules (self->clients_handler, zjob_clock_ms (), err))
        return -1;  //  A due time missed while down fires in the first pass
    self->next_tick = zjob_mono_ms () + config->heartbeat_ms;
    char safe [ZJOB_BROKER_PATH_MAX + 8];
    s_log_info (self, "zjob_broker: serving clients=%s workers=%s events=%s store=%s "
                      "(%zu jobs, %zu queued, %zu scheduled)",
                self->clients_endpoint,
                self->workers_endpoint, self->events_endpoint,
                zjob_store_spec_safe (spec, safe, sizeof safe),
                zjob_manager_stored (self->manager),
                zjob_manager_queued (self->manager), zjob_manager_scheduled (self->manager));
    return 0;
}

//  One loop pass after the poll: drain, commit, reply, dispatch, publish
static void
s_broker_pass (s_broker_t *self)
{
    double started = zjob_broker_seconds ();
    self->passes++;
    self->now = zjob_mono_ms ();
    zjob_error_t sync_err;
    zjob_broker_auth_serve (self);  //  Handshakes waiting for ZAP go on at once
    if (self->unsettled [S_POLL_EVENTS])
        s_events_subscriptions (self);
    //  Connections opened and closed; the workers' closed go to the registry
    bool monitored = zjob_broker_monitor_read (self, S_POLL_MONITOR);
    zjob_broker_monitor_read (self, S_POLL_CLIENTS_MONITOR);
    zjob_broker_monitor_read (self, S_POLL_EVENTS_MONITOR);
    int64_t recheck_at = zjob_registry_recheck_at (self->registry);
    if (!monitored && recheck_at && zjob_mono_ms () >= recheck_at)
        zjob_registry_recheck (self->registry, zjob_mono_ms ());
    //  What has come due: promotions, tokens, timeouts, children, schedules
    zjob_broker_timed (self);
    //  Workers first: their results free the credit that submits use,
    //  and jobs already durable refill it at once (each RESULT refills
    //  its own credit before its results are applied), not after a batch
    //  of client requests (512 SUBMITs take milliseconds): measured, +11%
    //  jobs/s with single-job SUBMITs, 16-slot workers
    if (s_drain (self, S_WORKERS))
        s_dispatch (self, false);
    s_drain (self, S_CLIENTS);
    s_peer_t peer;  //  A CLEANUP, a LIST or a bulk operation finished: answer it
    size_t ready = zjob_manager_queued (self->manager);
    int rc = zjob_clients_step (self->clients_handler, self->builder, &peer.rid,
                                &peer.rid_size, &peer.request_id, &sync_err);
    //  A step of a RUN_NOW makes jobs ready with no status change; a
    //  QUEUE resume or limit lets held jobs go
    if (zjob_manager_queued (self->manager) > ready
        || zjob_queues_refill (zjob_manager_queues (self->manager)))
        self->dispatch_needed = true;
    if (rc)
        s_reply_built (self, &peer, rc == ZJOB_CLIENTS_READ ? 0 : rc, &sync_err);
    s_heartbeat (self);
    zjob_registry_reap (self->registry);
    //  Jobs already durable go out now, so that workers run them while
    //  the sync below waits for the disk
    s_dispatch (self, false);

    //  Group commit: one sync for everything the pass changed
    bool synced = zjob_broker_commit (self, &sync_err);
    //  The jobs this pass queued go out first: a worker waiting for work
    //  gets it a little sooner than the client its OK
    if (synced)
        s_dispatch (self, true);
    //  The replies: when the sync failed, those to changes become 503
    zjob_outbox_flush (self->outbox, synced ? NULL : &sync_err, s_send_out, self);
    //  The workers whose READY was answered may now be sent jobs
    if (zjob_registry_admit (self->registry))
        self->dispatch_needed = true;
    zjob_registry_reap (self->registry);  //  Found unreachable while sending
    s_events_publish (self);
    zjob_metrics_set_dropped (self->metrics, self->dropped);
    zjob_metrics_pass (self->metrics, zjob_broker_seconds () - started);
}

//  Stopping: tell the workers, so that they start reconnecting at once
static void
s_broker_goodbye (s_broker_t *self)
{
    zjob_msg_begin (self->builder, ZJOB_CMD_DISCONNECT, 0);
    zjob_msg_add_str (self->builder, "reason", "broker stopping");
    size_t size;
    const uint8_t *data = zjob_msg_end_data (self->builder, &size, NULL);
    s_worker_t *worker = zjob_registry_first (self->registry);
    for (; worker && data; worker = zjob_registry_next (self->registry))
        s_send_now (self, S_WORKERS, worker->rid, worker->rid_size, data, size);
}

void
zjob_broker_actor (zsock_t *pipe, void *args)
{
    s_broker_t *self = (s_broker_t *) calloc (1, sizeof (s_broker_t));
    if (!self) {
        zjob_broker_config_t *config = (zjob_broker_config_t *) args;
        if (config)
            zjob_store_destroy (&config->store_handle);  //  Ours, whatever happens
        zsock_signal (pipe, 1);
        return;
    }
    self->pipe = pipe;
    if (args)
        self->config = *(const zjob_broker_config_t *) args;
    else
        zjob_broker_config_init (&self->config);
    zjob_error_clear (&self->start_error);
    int rc = s_broker_start (self);
    zsock_signal (pipe, 0);

    if (rc) {
        //  Not serving: answer STATUS with the reason until told to stop
        s_log_error (self, "zjob_broker: cannot start: %s", self->start_error.text);
        while (!self->terminated)
            s_pipe_command (self);
        s_broker_destroy (&self);
        return;
    }
    void *handles [S_POLL_COUNT] = {
        [S_POLL_CLIENTS] = self->clients_handle,
        [S_POLL_WORKERS] = self->workers_handle,
        [S_POLL_PIPE] = zsock_resolve (pipe),
        [S_POLL_EVENTS] = self->events_handle,
        [S_POLL_MONITOR] = zsock_resolve (self->monitor),
        [S_POLL_ZAP] = self->auth ? zjob_auth_handle (self->auth) : NULL,
        [S_POLL_CLIENTS_MONITOR] = zsock_resolve (self->clients_monitor),
        [S_POLL_EVENTS_MONITOR] = zsock_resolve (self->events_monitor)
    };
    struct pollfd fds [S_POLL_COUNT];
    for (size_t index = 0; index < S_POLL_COUNT; index++) {
        size_t size = sizeof (int);
        fds [index].events = POLLIN;
        if (!handles [index] || zmq_getsockopt (handles [index], ZMQ_FD, &fds [index].fd, &size))
            fds [index].fd = -1;         //  No ZAP socket without CURVE; poll skips it
        self->unsettled [index] = true;  //  Nothing is known of them yet
    }
    while (!self->terminated) {
        int64_t timeout = zjob_broker_wait_ms (self);
        bool unsettled = false;
        for (size_t index = 0; index < S_POLL_COUNT; index++)
            unsettled |= self->unsettled [index];
        if (!unsettled) {
            //  Every socket settled: block until one signals
            int ready = poll (fds, S_POLL_COUNT, timeout > INT32_MAX ? INT32_MAX : (int) timeout);
            if (ready == -1 && errno != EINTR && errno != ENOMEM) {
                s_log_error (self, "zjob_broker: poll: %s", strerror (errno));
                break;
            }
            for (size_t index = 0; ready > 0 && index < S_POLL_COUNT; index++)
                if (fds [index].revents)
                    self->unsettled [index] = true;
        }
        if (self->unsettled [S_POLL_PIPE]) {
            while (!self->terminated && s_has_input (handles [S_POLL_PIPE]))
                s_pipe_command (self);
            self->unsettled [S_POLL_PIPE] = false;
        }
        if (self->terminated)
            break;
        s_broker_pass (self);
    }
    s_broker_goodbye (self);
    s_log_info (self, "zjob_broker: stopping after %" PRIu64 " passes, %" PRIu64 " messages dropped", self->passes, self->dropped);
    s_broker_destroy (&self);
}


//  --------------------------------------------------------------------------
//  Starting a broker

zactor_t *
zjob_broker_new (const zjob_broker_config_t *config, zjob_error_t *err)
{
    zactor_t *actor = zactor_new (zjob_broker_actor, (void *) config);
    if (!actor) {
        zjob_store_t *store = config->store_handle;  //  Ours, whatever happens
        zjob_store_destroy (&store);
        zjob_error_set (err, ZJOB_INTERNAL, "cannot start the broker thread");
        return NULL;
    }
    zstr_send (actor, "STATUS");
    char *code = NULL, *text = NULL;
    if (zstr_recvx (actor, &code, &text, NULL) < 2 || atoi (code) != ZJOB_OK) {
        zjob_error_set (err, code ? atoi (code) : ZJOB_INTERNAL, "%s",
                        text && *text ? text : "the broker did not start");
        zactor_destroy (&actor);
    }
    zstr_free (&code);
    zstr_free (&text);
    return actor;
}

int
zjob_broker_endpoints (zactor_t *self, char **clients, char **workers, char **events)
{
    assert (self);
    char *bound [3] = { NULL, NULL, NULL };
    if (zstr_send (self, "ENDPOINTS")
        || zstr_recvx (self, &bound [0], &bound [1], &bound [2], NULL) < 3) {
        for (int index = 0; index < 3; index++)
            zstr_free (&bound [index]);
        return -1;
    }
    char **wanted [3] = { clients, workers, events };
    for (int index = 0; index < 3; index++) {
        if (wanted [index])
            *wanted [index] = bound [index];
        else
            zstr_free (&bound [index]);
    }
    return 0;
}

int
zjob_broker_access (zactor_t *self, zjob_broker_access_t *access)
{
    assert (self);
    assert (access);
    memset (access, 0, sizeof *access);
    if (zstr_send (self, "ACCESS"))
        return -1;
    char *parts [5] = { NULL };
    if (zstr_recvx (self, &parts [0], &parts [1], &parts [2], &parts [3], &parts [4], NULL) < 5) {
        for (size_t index = 0; index < 5; index++)
            zstr_free (&parts [index]);
        return -1;
    }
    snprintf (access->clients, sizeof access->clients, "%s", parts [0]);
    snprintf (access->events, sizeof access->events, "%s", parts [1]);
    snprintf (access->broker_key, sizeof access->broker_key, "%s", parts [2]);
    snprintf (access->public_key, sizeof access->public_key, "%s", parts [3]);
    snprintf (access->secret_key, sizeof access->secret_key, "%s", parts [4]);
    for (size_t index = 0; index < 5; index++)
        zstr_free (&parts [index]);
    return 0;
}
