/*  =========================================================================
    zjob_workers - the broker's answers to worker messages

    Which worker holds a job is the registry's record (holders), kept
    apart from the manager's: a cancelled job is released by the manager
    at once, but its worker still has it until it answers the CANCEL, and
    that answer (an OK) is what frees the slot.

    Results that arrive late. A worker keeps a result it could not deliver
    and sends it again after reconnecting, possibly to a new broker
    process that requeued the job at recovery, or after the broker gave
    the worker up for dead. A RESULT is therefore accepted from a worker
    that no longer holds the job, if the job was handed out at least once:
    if the job is not terminal it is completed or failed
    (zjob_manager_finish); if it is terminal already, the RESULT is
    acknowledged without change, so a duplicate never becomes an error the
    worker would retry for ever. A worker that re-registers lists the jobs
    it still runs; those the broker can give back to it (queued again, or
    already its own) are adopted, the others are named in the reply's
    "drop". It may also give jobs back it never started ("release", a
    drain): those it holds running are queued again without an attempt
    (zjob_manager_give_back) before the join, which would count them lost.
    ========================================================================= */

#include "zjob_workers.h"
#include "zjob_log.h"
#include "zjob_config.h"
#include "zjob_proto.h"
#include <stdlib.h>
#include <string.h>

struct _zjob_workers_t {
    zjob_manager_t *manager;             //  The jobs (borrowed)
    zjob_registry_t *registry;           //  The workers (borrowed)
    zjob_publisher_t *publisher;         //  Events (borrowed), or NULL
    zjob_workers_config_t config;        //  What READY's OK says, the log level
    zjob_workers_dispatch_fn *dispatch;  //  Hears credit come back
    void *dispatch_arg;
    zjob_msg_builder_t *builder;  //  The reply being built (borrowed)
    uint64_t request_id;          //  The message being answered
    uint64_t control_id;          //  Request ids of the broker's own CANCELs
};

#define s_log_info(self, ...) \
    ZJOB_LOG_IF ((self)->config.log_level, ZJOB_LOG_INFO, __VA_ARGS__)
#define s_log_warning(self, ...) \
    ZJOB_LOG_IF ((self)->config.log_level, ZJOB_LOG_WARNING, __VA_ARGS__)
#define s_log_debug(self, ...) \
    ZJOB_LOG_IF ((self)->config.log_level, ZJOB_LOG_DEBUG, __VA_ARGS__)

zjob_workers_t *
zjob_workers_new (zjob_manager_t *manager, zjob_registry_t *registry,
                  zjob_publisher_t *publisher, const zjob_workers_config_t *config)
{
    assert (manager && registry && config);
    zjob_workers_t *self = (zjob_workers_t *) calloc (1, sizeof (zjob_workers_t));
    if (self) {
        self->manager = manager;
        self->registry = registry;
        self->publisher = publisher;
        self->config = *config;
    }
    return self;
}

void
zjob_workers_destroy (zjob_workers_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

void
zjob_workers_set_dispatch (zjob_workers_t *self, zjob_workers_dispatch_fn *fn, void *arg)
{
    assert (self);
    self->dispatch = fn;
    self->dispatch_arg = arg;
}

//  Whether peer may send READY msg: a worker key whose certificate lists
//  workflows may serve only those (an admin key, any). 0, or -1 with err
//  filled (403) naming the first workflow it may not serve
static int
s_ready_allowed (const zjob_peer_t *peer, zjob_msg_t *msg, zjob_error_t *err)
{
    if (!peer || peer->role != ZJOB_ROLE_WORKER || !peer->workflows)
        return 0;
    size_t count = 0;
    const char *const *workflows = zjob_msg_strs (msg, "workflows", &count);
    for (size_t index = 0; index < count; index++) {
        const char *allowed = peer->workflows;
        size_t len = strlen (workflows [index]);
        bool found = false;
        while (!found && *allowed) {
            size_t item = strcspn (allowed, ",");
            found = item == len && memcmp (allowed, workflows [index], len) == 0;
            allowed += item + (allowed [item] == ',');
        }
        if (!found)
            return zjob_error_set (err, ZJOB_FORBIDDEN,
                                   "this key may not serve workflow %s (its workflows: %s)",
                                   workflows [index], peer->workflows);
    }
    return 0;
}

//  Give credit back to a worker; one that rejoins the ring may be given jobs
static void
s_credit (zjob_workers_t *self, zjob_registry_worker_t *worker, size_t credit)
{
    if (zjob_registry_credit (self->registry, worker, credit) && self->dispatch)
        self->dispatch (false, self->dispatch_arg);
}

static void
s_ok (zjob_workers_t *self)
{
    zjob_msg_begin (self->builder, ZJOB_CMD_OK, self->request_id);
}

//  READY's release (PROTOCOL.md 10.2): the jobs worker_id gives back
//  unstarted. A job both kept and released is a 400, checked before
//  anything changes; then each listed job this worker holds running goes
//  back to the queue without an attempt (zjob_manager_give_back) and its
//  holder record goes, so the join that follows does not find it held
//  and unlisted (worker_lost); the others are left alone, silently.
//  Returns the number given back, or -1 with err filled.
static int
s_give_back (zjob_workers_t *self, zjob_msg_t *msg, const char *worker_id,
             const char *const *keep, size_t keep_count, zjob_error_t *err)
{
    size_t count = 0;
    const char *const *release = zjob_msg_strs (msg, "release", &count);
    if (count == 0 || !worker_id)
        return 0;
    //  Up to 1000 x 1000 ids: a hash, not a double loop
    zhashx_t *kept = keep_count ? zhashx_new () : NULL;
    if (keep_count && !kept)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    for (size_t index = 0; index < keep_count; index++)
        zhashx_update (kept, keep [index], (void *) keep [index]);
    for (size_t index = 0; kept && index < count; index++)
        if (zhashx_lookup (kept, release [index])) {
            zhashx_destroy (&kept);
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "release: job %s is listed in jobs too", release [index]);
        }
    zhashx_destroy (&kept);
    int given = 0;
    for (size_t index = 0; index < count; index++) {
        zjob_registry_worker_t *holder = zjob_registry_holder (self->registry, release [index]);
        if (!holder || !streq (holder->worker_id, worker_id))
            continue;
        zjob_error_t failure;
        int rc = zjob_manager_give_back (self->manager, release [index], worker_id, &failure);
        if (rc < 0)
            //  Still held: the join below fails it as worker_lost
            s_log_warning (self, "zjob_broker: worker %s: cannot give back job %s: %s",
                           worker_id, release [index], failure.text);
        else if (rc > 0 && zjob_registry_release (self->registry, release [index], holder))
            given++;
    }
    if (given)
        s_log_info (self, "zjob_broker: worker %s gave back %d unstarted jobs", worker_id, given);
    return given;
}

//  READY: register (or re-register) the worker on this connection. It
//  lists the jobs it still runs; those it can keep are adopted, the rest
//  are named in "drop". fd is the connection's descriptor (ZMQ_SRCFD).
static int
s_ready (zjob_workers_t *self, zjob_msg_t *msg, const uint8_t *rid, size_t rid_size, int fd,
         int64_t now_mono, zjob_error_t *err)
{
    const char *worker_id = zjob_msg_str (msg, "worker_id");
    size_t workflow_count = 0, keep_count = 0;
    const char *const *workflows = zjob_msg_strs (msg, "workflows", &workflow_count);
    const char *const *keep = zjob_msg_strs (msg, "jobs", &keep_count);
    size_t slots = (size_t) zjob_msg_uint (msg, "slots", 1);
    //  The jobs it gives back go first, so that the join keeps them from
    //  failing as lost; the OK waits for the sync that makes it durable
    int given = s_give_back (self, msg, worker_id, keep, keep_count, err);
    if (given < 0)
        return -1;
    zjob_registry_worker_t *worker = zjob_registry_join (
        self->registry, rid, rid_size, worker_id, zjob_msg_str (msg, "name"), workflows,
        workflow_count, slots, (size_t) zjob_msg_uint (msg, "batch", 1), fd, now_mono,
        keep, keep_count);
    if (!worker)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    //  The jobs it still runs: keep what can be kept
    const char **drop = keep_count ? (const char **) calloc (keep_count, sizeof (char *)) : NULL;
    size_t drop_count = 0;
    bool adopted = given > 0;
    for (size_t index = 0; index < keep_count; index++) {
        zjob_registry_worker_t *holder = zjob_registry_holder (self->registry, keep [index]);
        if (holder == worker)
            continue;  //  Handed over from its old record
        zjob_job_t *job = holder ? NULL
                                 : zjob_manager_adopt (self->manager, keep [index], worker_id, NULL);
        if (job && zjob_registry_hold (self->registry, worker, job->id) == 0)
            adopted = true;
        else if (drop)
            drop [drop_count++] = keep [index];
        zjob_job_destroy (&job);
    }
    //  Its prefetch (jobs it buffers beyond its slots): what it asks, up to
    //  ours. Its credit: the slots it has free; the worker itself raises it
    //  into its prefetch (CREDIT, RESULT's credit) as far as it wants, so a
    //  worker sizing its buffer from the round trip starts with none. It
    //  joins the credit ring once the OK is sent (zjob_registry_admit)
    bool prefetching = zjob_msg_has (msg, "prefetch");
    size_t prefetch = (size_t) zjob_msg_uint (msg, "prefetch", 0);
    if (prefetch > self->config.max_prefetch)
        prefetch = self->config.max_prefetch;
    prefetch = zjob_registry_prefetch (self->registry, worker, prefetch);
    s_credit (self, worker, worker->slots > worker->holding ? worker->slots - worker->holding : 0);
    s_log_info (self, "zjob_broker: worker %s ready: %zu slots, prefetch %zu, %zu workflows, "
                      "%zu jobs kept",
                worker->worker_id, worker->slots, prefetch, worker->workflow_count,
                worker->holding);
    if (self->publisher)
        zjob_publisher_worker (self->publisher, "worker_joined", worker->worker_id,
                               worker->name, (const char *const *) worker->workflows,
                               worker->workflow_count, worker->slots, NULL);
    s_ok (self);
    zjob_msg_add_uint (self->builder, "heartbeat_ms", (uint64_t) self->config.heartbeat_ms);
    zjob_msg_add_uint (self->builder, "liveness", (uint64_t) self->config.liveness);
    zjob_msg_add_uint (self->builder, "credit", worker->credit);
    if (drop_count)
        zjob_msg_add_strs (self->builder, "drop", drop, drop_count);
    zjob_msg_add_uint (self->builder, "max_message", (uint64_t) self->config.max_message);
    //  Results it may send in one RESULT (PROTOCOL.md 10.5)
    zjob_msg_add_uint (self->builder, "batch", ZJOB_SLOTS_MAX);
    //  Only to a worker that asked: an older one gets the OK it always got
    if (prefetching)
        zjob_msg_add_uint (self->builder, "prefetch", prefetch);
    free (drop);
    return adopted;
}

//  One result of a RESULT: the outcome of a job. From the worker that
//  holds it, the job ends and its slot is free again. From a worker that
//  no longer holds it (given up for dead, or the broker restarted), it is
//  still the job's result if the job has not ended since. Returns 1 if
//  the result changed the job, 0 if it was acknowledged without change,
//  -1 with err filled if it is refused.
static int
s_result_one (zjob_workers_t *self, zjob_registry_worker_t *worker,
              const zjob_result_t *result, bool held, zjob_error_t *err)
{
    const char *id = result->id;
    worker->results++;
    int rc = zjob_manager_finish_attempt (self->manager, id, worker->worker_id,
                                          (const char *const *) worker->workflows,
                                          worker->workflow_count, result->completed,
                                          result->outputs, result->outputs_size,
                                          result->error_kind, result->error_message,
                                          result->attempt, result->permanent, err);
    if (rc > 0 && !held)
        s_log_info (self, "zjob_broker: late result for job %s from worker %s", id,
                    worker->worker_id);
    //  Unknown job (404), not this worker's (409), or the store failed (500:
    //  the worker sends it again). A holder's report on a job deleted
    //  meanwhile is simply acknowledged.
    if (rc < 0 && held && err->code == ZJOB_NOT_FOUND)
        rc = 0;
    return rc < 0 ? -1 : rc > 0 ? 1
                                : 0;
}

//  RESULT: one result (id, status...) answered OK {id} or ERROR, or
//  several (results) answered by one OK whose "errors" lists the refused
//  ones; the others are recorded. The slots come back whatever the answer
//  (PROTOCOL.md 10.5). Every OK goes out after the pass's sync.
//
//  The slots come back first: the holders are forgotten (so that the
//  listener sends the reporter no CANCEL, but does send one to any other
//  worker given a job since), the credit returns, and jobs already
//  durable go out, before the results are applied. The worker idles until
//  that JOB comes, and applying 16 results was about half the time from
//  reading a RESULT to sending the JOB it pays for (measured: 70 - 109 us
//  before, 40 - 57 us after).
static int
s_result (zjob_workers_t *self, zjob_registry_worker_t *worker, zjob_msg_t *msg,
          zjob_error_t *err)
{
    size_t count;
    const zjob_result_t *results = zjob_msg_results (msg, &count);
    bool single = zjob_msg_has (msg, "id");
    const char **ids = NULL;
    zjob_error_t *errors = NULL;
    if (!single
        && (!(ids = (const char **) calloc (count, sizeof (char *)))
            || !(errors = (zjob_error_t *) calloc (count, sizeof (zjob_error_t))))) {
        free (ids);
        //  Nothing applied: the worker sends them again
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    bool held [ZJOB_SLOTS_MAX];  //  The decoder allows no more results
    if (count > ZJOB_SLOTS_MAX)
        count = ZJOB_SLOTS_MAX;
    for (size_t index = 0; index < count; index++) {
        held [index] = zjob_registry_release (self->registry, results [index].id, worker);
        //  The result of an attempt that timed out frees its slot too
        if (!held [index]
            && zjob_registry_release_stale (self->registry, results [index].id, worker))
            zjob_manager_attempt_released (self->manager, results [index].id,
                                           worker->worker_id);
    }
    s_credit (self, worker, (size_t) zjob_msg_uint (msg, "credit", single ? 1 : count));
    if (self->dispatch)
        self->dispatch (true, self->dispatch_arg);

    size_t refused = 0;
    int rc = 0;
    for (size_t index = 0; index < count; index++) {
        rc = s_result_one (self, worker, &results [index], held [index], err);
        if (rc < 0 && !single) {
            ids [refused] = results [index].id;
            errors [refused++] = *err;
        }
    }
    if (!(single && rc < 0)) {
        s_ok (self);
        if (single)
            zjob_msg_add_str (self->builder, "id", results [0].id);
        else if (refused)
            zjob_msg_add_result_errors (self->builder, ids, errors, refused);
        //  An OK confirms the job's state whether or not this RESULT changed
        //  it (a retry after a 503 changes nothing, but what it confirms
        //  may still be unwritten): it waits for a successful sync
        rc = 1;
    }
    free (ids);
    free (errors);
    return rc;
}

//  PROGRESS on a job the worker holds; on any other, a CANCEL back
static int
s_progress (zjob_workers_t *self, zjob_registry_worker_t *worker, zjob_msg_t *msg)
{
    zjob_error_t err;
    const char *id = zjob_msg_str (msg, "id");
    if (zjob_registry_holder (self->registry, id) != worker) {
        //  Work it does not own: tell it to stop (PROTOCOL.md 10.4)
        s_log_debug (self, "zjob_broker: progress from worker %s on job %s it does not hold",
                     worker->worker_id, id);
        zjob_msg_begin (self->builder, ZJOB_CMD_CANCEL, ++self->control_id);
        zjob_msg_add_str (self->builder, "id", id);
        return 0;
    }
    if (zjob_manager_progress (self->manager, id, worker->worker_id,
                               (float) zjob_msg_float (msg, "progress", 0),
                               zjob_msg_str (msg, "message"), &err))
        s_log_debug (self, "zjob_broker: progress on job %s: %s", id, err.text);
    return ZJOB_WORKERS_NO_REPLY;
}

//  OK to a PAUSE, RESUME or CANCEL. Once the job has ended (cancelled, or
//  finished by another worker's result) or the worker's attempt was
//  taken from it (timed out), the OK means the worker has let it go: its
//  slot is free (PROTOCOL.md 10.6).
static int
s_confirmed (zjob_workers_t *self, zjob_registry_worker_t *worker, const char *id)
{
    if (!id)
        return ZJOB_WORKERS_NO_REPLY;
    if (zjob_registry_holder (self->registry, id) != worker) {
        //  A timed-out attempt, let go: the job may go to it again
        if (zjob_registry_release_stale (self->registry, id, worker)) {
            zjob_manager_attempt_released (self->manager, id, worker->worker_id);
            s_credit (self, worker, 1);
        }
        return ZJOB_WORKERS_NO_REPLY;
    }
    int status = zjob_manager_status (self->manager, id, NULL);
    if (status < 0 || zjob_status_terminal ((zjob_status_t) status)
        || !zjob_manager_held_by (self->manager, id, worker->worker_id)) {
        zjob_registry_release (self->registry, id, worker);
        s_credit (self, worker, 1);
    }
    return ZJOB_WORKERS_NO_REPLY;
}

int
zjob_workers_handle (zjob_workers_t *self, zjob_msg_t *msg, const zjob_peer_t *peer,
                     const uint8_t *rid, size_t rid_size, int fd, zjob_msg_builder_t *builder,
                     int64_t now_mono, zjob_error_t *err)
{
    assert (self && msg && builder);
    self->builder = builder;
    self->request_id = zjob_msg_request_id (msg);
    zjob_cmd_t cmd = zjob_msg_command (msg);
    if (peer && peer->role == ZJOB_ROLE_CLIENT) {
        //  The handshake refuses a client key here: never trust it alone
        zjob_error_set (err, ZJOB_FORBIDDEN, "forbidden: a client key on the workers socket");
        return zjob_cmd_is_request (cmd, ZJOB_ROUTE_WORKER_BROKER) ? -1 : ZJOB_WORKERS_NO_REPLY;
    }
    if (cmd == ZJOB_CMD_READY)
        return s_ready_allowed (peer, msg, err)
            ? -1
            : s_ready (self, msg, rid, rid_size, fd, now_mono, err);
    zjob_registry_worker_t *worker = zjob_registry_lookup (self->registry, rid, rid_size);
    if (!worker || worker->dead) {
        //  Not registered (the broker restarted, or gave it up): it must
        //  send READY again. Replies and goodbyes need no answer.
        if (cmd == ZJOB_CMD_OK || cmd == ZJOB_CMD_ERROR || cmd == ZJOB_CMD_DISCONNECT)
            return ZJOB_WORKERS_NO_REPLY;
        zjob_msg_begin (self->builder, ZJOB_CMD_RECONNECT, self->request_id);
        zjob_msg_add_str (self->builder, "reason", "unknown worker");
        return 0;
    }
    zjob_registry_touch (self->registry, worker, now_mono);
    switch (cmd) {
        case ZJOB_CMD_RESULT:
            return s_result (self, worker, msg, err);
        case ZJOB_CMD_PROGRESS:
            return s_progress (self, worker, msg);
        case ZJOB_CMD_CREDIT:
            s_credit (self, worker, (size_t) zjob_msg_uint (msg, "credit", 0));
            return ZJOB_WORKERS_NO_REPLY;
        case ZJOB_CMD_HEARTBEAT:
            return ZJOB_WORKERS_NO_REPLY;
        case ZJOB_CMD_DISCONNECT:
            s_log_debug (self, "zjob_broker: worker %s says goodbye: %s", worker->worker_id,
                         zjob_msg_str (msg, "reason") ? zjob_msg_str (msg, "reason") : "");
            //  The jobs it gives back unstarted are queued without an
            //  attempt; the rest it held are lost
            if (s_give_back (self, msg, worker->worker_id, NULL, 0, err) < 0)
                s_log_warning (self, "zjob_broker: worker %s: %s", worker->worker_id, err->text);
            zjob_registry_remove (self->registry, worker, "disconnect", NULL, NULL, 0);
            return ZJOB_WORKERS_NO_REPLY;
        case ZJOB_CMD_ERROR: {
            zjob_error_t refusal;
            zjob_msg_error (msg, &refusal);
            s_log_warning (self, "zjob_broker: worker %s refused request %" PRIu64 ": %d %s",
                           worker->worker_id, self->request_id, refusal.code, refusal.text);
            return ZJOB_WORKERS_NO_REPLY;
        }
        case ZJOB_CMD_OK:
            return s_confirmed (self, worker, zjob_msg_str (msg, "id"));
        default:
            zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: not a worker message",
                            zjob_cmd_name (cmd));
            return zjob_cmd_is_request (cmd, ZJOB_ROUTE_WORKER_BROKER)
                ? -1
                : ZJOB_WORKERS_NO_REPLY;
    }
}
