/*  =========================================================================
    zjob_broker_writes - the pass's commit, and refusing writes meanwhile

    Every pass ends with one sync of the store for all it changed (group
    commit, zjob_broker_pass.c's banner); its replies wait for it. With
    the file store the sync is begun at the end of the pass and completes
    on the store's thread while the loop goes on (zjob_store_sync_begin):
    the pass's messages wait in the outbox, sealed with the sync's ticket,
    and zjob_broker_synced sends them when the store reports the ticket
    done (woken by the store's eventfd in the poll set); the enqueues the
    ticket covers become committed_seq then, so dispatch before a sync
    only ever hands out durable jobs. When a sync fails (a full disk:
    write(2) says ENOSPC, at once; or fdatasync, reported later), the
    broker is "refusing writes" until one succeeds:

      - the writes of the pass whose sync failed were applied in memory:
        the outbox turns their replies into 503 (for a failed fdatasync:
        the replies of every pass whose sync was under way). The store keeps what it
        could not write (zjob_store.h), so they become durable at the
        first sync that succeeds, and memory and disk agree again; if the
        broker dies first, they are lost. Either way nothing was
        acknowledged: a 503 to a write means "not acknowledged, may still
        take effect", which a client retrying with an idempotency key
        handles (PROTOCOL.md section 8);
      - from the next message on, every request that would change
        something is answered 503 before it is applied (zjob_broker_refuses):
        client writes, decided from the command and its op (an unknown op
        counts as a write), a worker's RESULT, and a READY that lists jobs
        or whose worker_id holds some (adoption, or the loss of what it
        does not list); reads and the other worker messages are served,
        and dispatch stops (zjob_broker.c), so the unwritten backlog stops
        growing;
      - the sync is tried again once every S_SYNC_RETRY_MS (the loop
        wakes for it: zjob_broker_wait_ms), which makes the store write
        its buffered bytes again; the first that succeeds ends the state.

    The 503 says why and since when: "the store cannot write: <the store's
    error> (since <ISO 8601 UTC>); reads are served; writes resume by
    themselves when the store can write again". Entering the state is
    logged once at error, leaving it once at info; STATS shows it through
    the store's figures (zjob_store_stats: writable, write_error,
    write_error_since). Timed work (timeouts, schedules, a lost worker's
    jobs) goes on in memory meanwhile: it acknowledges nothing, and the
    first good sync writes it. A failed fdatasync is the store's to mend
    (zjob_store_file.c: it rewrites the journal whole from memory, tried
    every second), and its error says so.
    ========================================================================= */

#include "zjob_broker_impl.h"

//  The refusal's last part, and what the outbox puts before it
#define S_REFUSAL_TAIL "; reads are served; writes resume by themselves when the store can write again"
#define S_OUTBOX_PREFIX "not committed: "

//  Set the 503 of writes from why the sync failed and since when. The
//  store's error (a path, then the system's reason) is cut at its start
//  if it must be, so that the reason and the rest of the message survive
//  the error text's bound, even behind the outbox's prefix.
static void
s_refusal_set (s_broker_t *self, const zjob_error_t *why, int64_t since_ms)
{
    char since [ZJOB_ISO_SECONDS_MAX];
    zjob_iso_seconds (since_ms, since, sizeof since);
    size_t fixed = strlen (S_OUTBOX_PREFIX "the store cannot write:  (since )" S_REFUSAL_TAIL)
        + strlen (since);
    size_t room = ZJOB_ERROR_TEXT_MAX - 1 > fixed + 3 ? ZJOB_ERROR_TEXT_MAX - 1 - fixed : 3;
    const char *reason = why->text;
    size_t length = strlen (reason);
    const char *cut = "";
    if (length > room) {
        reason += length - (room - 3);
        cut = "...";
    }
    zjob_error_set (&self->refusal, ZJOB_UNAVAILABLE,
                    "the store cannot write: %s%s (since %s)" S_REFUSAL_TAIL, cut, reason, since);
}

//  A sync failed (at once, or later on the store's thread): refuse writes
//  from now on, retry in S_SYNC_RETRY_MS. sync_err gets the 503
static void
s_sync_failed (s_broker_t *self, const zjob_error_t *failure, zjob_error_t *sync_err)
{
    zjob_metrics_set_writable (self->metrics, false);
    //  Since when: the store's first failed sync of this run (a failure
    //  before the store, flushing the batches, is dated now)
    int64_t since = zjob_clock_ms ();
    zjob_store_writable (zjob_manager_store (self->manager), NULL, &since);
    if (zjob_broker_fenced (self)) {
        //  Another broker took the lease: this one stops (zjob_broker_store.c)
        zjob_error_set (&self->refusal, ZJOB_UNAVAILABLE,
                        "this broker lost the store's lease to another one: %s", failure->text);
        *sync_err = self->refusal;
        return;
    }
    s_refusal_set (self, failure, since);
    if (!self->sync_failing)
        s_log_error (self, "zjob_broker: the store cannot write: %s; writes are answered 503 "
                           "and nothing is dispatched until a sync succeeds (tried every %d ms); "
                           "reads are served",
                     failure->text, S_SYNC_RETRY_MS);
    self->sync_failing = true;
    self->sync_retry_at = zjob_mono_ms () + S_SYNC_RETRY_MS;
    *sync_err = self->refusal;
}

//  A sync succeeded (begun, for an overlapped one: its writes went through)
static void
s_sync_works (s_broker_t *self)
{
    zjob_metrics_set_writable (self->metrics, true);
    if (self->sync_failing) {
        self->sync_failing = false;
        s_log_info (self, "zjob_broker: the store writes again: writes are accepted and "
                          "dispatch resumes");
    }
}

//  The enqueues up to seq are durable: a walk may hand them out
static void
s_committed (s_broker_t *self, uint64_t seq)
{
    if (seq != self->committed_seq)
        self->dispatch_needed = true;
    self->committed_seq = seq;
}

//  Remember that the enqueues up to seq are durable with ticket
static void
s_flight_add (s_broker_t *self, uint64_t ticket, uint64_t seq)
{
    uint64_t *grown = (uint64_t *) zjob_grow (self->flight, &self->flight_max,
                                              2 * (self->flight_count + 1), sizeof (uint64_t), 64);
    if (!grown)
        return;  //  Out of memory: committed_seq moves on at the next good sync
    self->flight = grown;
    self->flight [2 * self->flight_count] = ticket;
    self->flight [2 * self->flight_count + 1] = seq;
    self->flight_count++;
}

//  The pass's commit (zjob_broker_impl.h)
int
zjob_broker_commit (s_broker_t *self, zjob_error_t *sync_err)
{
    //  A pass whose only change is a dispatch acknowledges nothing that
    //  needs it durable (a dispatch a crash forgets is a job recovery
    //  queues again): with an overlapped sync it waits for the next sync
    //  made for something else (a RESULT, a SUBMIT), rather than cost an
    //  fdatasync of its own between them. A store that syncs at once syncs
    //  it in its pass, as ever
    if (self->dispatch_dirty && zjob_store_sync_fd (zjob_manager_store (self->manager)) < 0)
        self->dirty = true;
    if (!self->dirty && !self->sync_failing) {
        //  Nothing to write: durable as soon as the syncs under way are
        if (self->done != self->ticket)
            return 0;
        s_committed (self, zjob_manager_seq (self->manager));
        return 1;
    }
    if (self->sync_failing && zjob_mono_ms () < self->sync_retry_at) {
        *sync_err = self->refusal;
        return -1;
    }
    uint64_t seq = zjob_manager_seq (self->manager);
    zjob_error_t failure;
    double started = zjob_broker_seconds ();
    uint64_t ticket = 0;
    int rc = zjob_manager_sync_begin (self->manager, &ticket, &failure);
    self->renewed_at = zjob_mono_ms ();  //  A sync renews a shared store's lease
    zjob_metrics_sync (self->metrics, zjob_broker_seconds () - started);
    if (rc) {
        s_sync_failed (self, &failure, sync_err);
        return -1;
    }
    self->dirty = false;
    self->dispatch_dirty = false;
    self->ticket = ticket;
    s_sync_works (self);
    //  A store whose sync completes at once: done now (no system call)
    uint64_t done = self->done;
    if (zjob_store_sync_fd (zjob_manager_store (self->manager)) < 0
        && zjob_store_sync_poll (zjob_manager_store (self->manager), &done, &failure) == 0
        && done == ticket && self->flight_count == 0) {
        self->done = done;
        s_committed (self, seq);
        return 1;
    }
    s_flight_add (self, ticket, seq);
    return 0;
}

//  The syncs that completed (zjob_broker_impl.h)
void
zjob_broker_synced (s_broker_t *self)
{
    zjob_store_t *store = zjob_manager_store (self->manager);
    uint64_t done = self->done;
    zjob_error_t failure, sync_err;
    int rc = zjob_store_sync_poll (store, &done, &failure);
    //  The enqueues that the done syncs cover may be handed out
    size_t taken = 0;
    for (; taken < self->flight_count && self->flight [2 * taken] <= done; taken++)
        if (rc == 0)
            s_committed (self, self->flight [2 * taken + 1]);
    if (taken) {
        self->flight_count -= taken;
        memmove (self->flight, self->flight + 2 * taken,
                 2 * self->flight_count * sizeof (uint64_t));
    }
    self->done = done;
    if (rc)
        s_sync_failed (self, &failure, &sync_err);
    //  Their messages, in order: a failed sync's writes become 503
    zjob_outbox_release (self->outbox, done, rc ? &sync_err : NULL, zjob_broker_send_out, self);
    //  The workers whose READY was answered may now be sent jobs
    if (self->ready_waiting && done >= self->ready_ticket) {
        self->ready_waiting = false;
        if (zjob_registry_admit (self->registry))
            self->dispatch_needed = true;
    }
}

//  Stopping (zjob_broker_impl.h)
void
zjob_broker_sync_last (s_broker_t *self)
{
    zjob_error_t failure, sync_err;
    int rc = zjob_manager_sync (self->manager, &failure);
    if (rc) {
        s_log_error (self, "zjob_broker: final sync failed: %s", failure.text);
        s_sync_failed (self, &failure, &sync_err);
    }
    self->flight_count = 0;
    zjob_outbox_flush (self->outbox, rc ? &sync_err : NULL, zjob_broker_send_out, self);
}

//  Whether a client request would change something, from its command and
//  op alone (the handler says so only after applying it). What is not
//  known to be a read is a write
static bool
s_client_writes (zjob_msg_t *msg)
{
    const char *op = zjob_msg_str (msg, "op");
    switch (zjob_msg_command (msg)) {
        case ZJOB_CMD_GET:
        case ZJOB_CMD_LIST:
        case ZJOB_CMD_STATUS:
        case ZJOB_CMD_RESULTS:
        case ZJOB_CMD_STATS:
        case ZJOB_CMD_WORKERS:
        case ZJOB_CMD_METRICS:
        case ZJOB_CMD_PING: return false;
        case ZJOB_CMD_BATCH: return !op || !(streq (op, "list") || streq (op, "show"));
        case ZJOB_CMD_TEMPLATE: return !op || !(streq (op, "list") || streq (op, "get"));
        case ZJOB_CMD_SCHEDULE: return !op || !(streq (op, "list") || streq (op, "get"));
        case ZJOB_CMD_QUEUE: return !op || !streq (op, "list");
        default: return true;
    }
}

//  Whether a worker message would change something durable: a RESULT
//  always; a READY that lists jobs (adopted) or gives jobs back
//  (release), or whose worker_id holds jobs it may not list (each would
//  fail an attempt). The rest (a READY that only registers, PROGRESS,
//  CREDIT, HEARTBEAT...) goes through
static bool
s_worker_writes (s_broker_t *self, zjob_msg_t *msg)
{
    zjob_cmd_t cmd = zjob_msg_command (msg);
    if (cmd == ZJOB_CMD_RESULT)
        return true;
    if (cmd != ZJOB_CMD_READY)
        return false;
    size_t listed = 0, released = 0;
    zjob_msg_strs (msg, "jobs", &listed);
    zjob_msg_strs (msg, "release", &released);
    if (listed || released)
        return true;
    const char *worker_id = zjob_msg_str (msg, "worker_id");
    s_worker_t *worker = zjob_registry_first (self->registry);
    for (; worker && worker_id; worker = zjob_registry_next (self->registry))
        if (worker->holding && streq (worker->worker_id, worker_id))
            return true;
    return false;
}

//  While the store cannot write, whether msg is a write to refuse
//  (zjob_broker_impl.h)
bool
zjob_broker_refuses (s_broker_t *self, s_side_t side, zjob_msg_t *msg, zjob_error_t *err)
{
    if (!self->sync_failing)
        return false;
    bool writes = side == S_CLIENTS ? s_client_writes (msg) : s_worker_writes (self, msg);
    if (writes)
        *err = self->refusal;
    return writes;
}
