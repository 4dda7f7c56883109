/*  =========================================================================
    zjob_broker_pass - the broker's loop pass: read, apply, commit, reply

    zjob_broker.c runs the loop and calls zjob_broker_pass once per wake;
    this file is what a pass does: routing each message to its handler,
    queueing replies in the outbox, dispatch, heartbeats, and the
    listener that turns job changes into events and worker control.
    Everything the broker does happens in a loop pass:

      1. poll, until the next heartbeat tick or disconnect re-check, the
         next scheduled job or schedule due, held job timing out or token
         of a rate-limited workflow with jobs waiting, or the store's
         eventfd says a sync completed; take the syncs completed
         (zjob_broker_synced: their messages go out, their enqueues become
         committed_seq); then promote the
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
      5. commit: one zjob_manager_sync_begin for the whole pass (group
         commit: with fsync=always one fsync covers every submit, result and
         state change of the pass, and of the passes begun while the
         previous fsync ran). The memory and SQL stores sync there and
         then; the file store writes, hands the fdatasync to its thread and
         gives the pass a ticket, and the loop goes on with the next pass
         meanwhile (a pass whose only change is a dispatch begins none:
         the next sync made for something else covers it). If the sync fails (at once, or later on the store's
         thread), the outbox turns every
         reply to a write into ERROR 503, changed or not (nothing is
         acknowledged that is not durable); reads are still answered.
         Until a sync succeeds the broker refuses writes before applying
         them and dispatches nothing (a dispatch is a change too), so the
         unwritten backlog stops growing; the sync is tried again every
         second, and the first that succeeds ends it
         (zjob_broker_writes.c);
      6. if the sync is durable already, dispatch the jobs this pass queued;
         then the pass's events join its replies in the outbox, all sealed
         with the pass's ticket, and the outbox sends, in order, what the
         syncs completed make durable (zjob_broker_synced): a reply never
         goes out before the fdatasync that covers it, nor before a reply
         queued earlier. The workers whose READY was answered join the
         credit ring once that OK is sent (the ticket of its pass is done).
    A dispatch is committed by the next pass's sync: one that a crash
    forgets is a job that recovery queues again (at-least-once). But a job
    is never handed out before its own enqueue is durable: step 4 takes only
    jobs enqueued before the last sync (zjob_manager_take_before with the
    sequence number of the last sync completed), and never passes the best
    job over for a lesser one; step 6 takes the rest when the sync is
    durable at once, and with an overlapped sync a later pass's step 4
    does, once the store reports it done.

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
    ========================================================================= */

#include "zjob_broker_impl.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>


//  --------------------------------------------------------------------------
//  The registry's callbacks: a lost worker's jobs, a worker leaving

//  A job whose worker is gone: a failed attempt, retried or failed for good
void
zjob_broker_job_lost (const char *job_id, void *arg)
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

void
zjob_broker_worker_left (s_worker_t *worker, const char *reason, void *arg)
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

//  The outbox's send (zjob_broker_impl.h): a failure to a worker may
//  mean it is gone; an event goes to the XPUB, its topic as the "rid"
int
zjob_broker_send_out (int side, const uint8_t *rid, size_t rid_size, const uint8_t *data,
                      size_t size, void *arg)
{
    s_broker_t *self = (s_broker_t *) arg;
    if (side == S_EVENTS) {
        self->unsettled [S_POLL_EVENTS] = true;  //  A send may swallow a signal
        if (zjob_publisher_send (self->publisher, rid, rid_size, data, size) == 0)
            return 0;
        self->dropped++;
        return -1;
    }
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

//  The publisher's send at the end of a pass: into the outbox, behind the
//  pass's replies, until its sync is durable
static int
s_event_queue (const uint8_t *topic, size_t topic_size, const uint8_t *body, size_t body_size,
               void *arg)
{
    s_broker_t *self = (s_broker_t *) arg;
    return zjob_outbox_add (self->outbox, S_EVENTS, topic, topic_size, 0, false, body,
                            body_size);
}

//  The pass's events, queued after its replies
static void
s_events_queue (s_broker_t *self)
{
    size_t dropped = 0;
    zjob_publisher_flush_with (self->publisher, s_event_queue, self, &dropped);
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

void
zjob_broker_on_change (zjob_event_t event, const zjob_job_t *job, zjob_status_t old_status, void *arg)
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
void
zjob_broker_credit_back (bool now, void *arg)
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
    //  A worker joining enters the credit ring once this OK is sent
    if (zjob_msg_command (msg) == ZJOB_CMD_READY)
        self->ready_seen = true;
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
int
zjob_broker_send_job (const uint8_t *rid, size_t rid_size, const uint8_t *data, size_t size, void *arg)
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
    //  Jobs left because their enqueue is not durable yet ask again when
    //  it is (committed_seq moves: zjob_broker_commit, zjob_broker_synced)
    self->dispatch_needed = false;
    //  What the walk changes alone is kept apart (dispatch_dirty): with an
    //  overlapped sync it waits for the next sync that has to be made
    //  anyway (zjob_broker_commit), as a dispatch after the sync always did
    bool dirty = self->dirty;
    uint64_t seq = zjob_manager_seq (self->manager);
    self->dirty = false;
    bool again = false;
    if (zjob_dispatch_walk (self->dispatcher, committed ? UINT64_MAX : self->committed_seq, &again))
        self->dirty = true;
    self->dispatch_dirty |= self->dirty;
    //  A job put back (a send failed) is an enqueue: that one is synced
    self->dirty = dirty || zjob_manager_seq (self->manager) != seq;
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
    //  Not to a worker whose READY is not answered yet: its OK comes
    //  first (PROTOCOL.md 10.1), and is as good a sign of life
    for (; worker && heartbeat; worker = zjob_registry_next (self->registry))
        if (!worker->dead && !worker->joining
            && s_send_now (self, S_WORKERS, worker->rid, worker->rid_size,
                           zframe_data (heartbeat), zframe_size (heartbeat))
            && zmq_errno () == EHOSTUNREACH)
            zjob_registry_mark_dead (self->registry, worker, "disconnect");
    zframe_destroy (&heartbeat);
}


//  One loop pass after the poll: drain, commit, reply, dispatch, publish
void
zjob_broker_pass (s_broker_t *self)
{
    double started = zjob_broker_seconds ();
    self->passes++;
    self->now = zjob_mono_ms ();
    zjob_error_t sync_err;
    zjob_broker_auth_serve (self);  //  Handshakes waiting for ZAP go on at once
    if (self->unsettled [S_POLL_SYNC]) {
        //  Syncs completed: their replies go, their jobs may be handed out
        self->unsettled [S_POLL_SYNC] = false;
        zjob_broker_synced (self);
    }
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

    //  Group commit: one sync for everything the pass changed, begun
    int committed = zjob_broker_commit (self, &sync_err);
    //  Durable already: the jobs this pass queued go out first, so that a
    //  worker waiting for work gets it a little sooner than the client its
    //  OK (under way: when the sync completes, at step 4 of a later pass)
    if (committed == 1)
        s_dispatch (self, true);
    //  The pass's messages and events wait for its sync (failed at once:
    //  those to changes become 503), then go in order with what is durable
    s_events_queue (self);
    zjob_outbox_seal (self->outbox, self->ticket, committed < 0 ? &sync_err : NULL);
    if (self->ready_seen) {
        self->ready_seen = false;
        self->ready_waiting = true;
        self->ready_ticket = self->ticket;
    }
    zjob_broker_synced (self);
    zjob_registry_reap (self->registry);  //  Found unreachable while sending
    zjob_metrics_set_dropped (self->metrics, self->dropped);
    zjob_metrics_pass (self->metrics, zjob_broker_seconds () - started);
}

//  Stopping: tell the workers, so that they start reconnecting at once
void
zjob_broker_goodbye (s_broker_t *self)
{
    zjob_msg_begin (self->builder, ZJOB_CMD_DISCONNECT, 0);
    zjob_msg_add_str (self->builder, "reason", "broker stopping");
    size_t size;
    const uint8_t *data = zjob_msg_end_data (self->builder, &size, NULL);
    s_worker_t *worker = zjob_registry_first (self->registry);
    for (; worker && data; worker = zjob_registry_next (self->registry))
        s_send_now (self, S_WORKERS, worker->rid, worker->rid_size, data, size);
}
