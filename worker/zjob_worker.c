/*  =========================================================================
    zjob_worker - the worker API of libzjob: take jobs, report, stay alive

    The engine is a small state machine driven from recv. It is either
    registered (the broker acknowledged its READY) or not; while it is not,
    it waits `liveness` heartbeats for READY's answer, then pauses (from
    ZJOB_WORKER_RECONNECT_MIN_MS, doubling to ZJOB_WORKER_RECONNECT_MAX_MS)
    and sends READY again on a freshly reconnected socket (a disconnect
    drops what was queued on the old connection, so READYs and stale
    reports never pile up). Until READY's answer it sends nothing else. While
    registered it sends a HEARTBEAT whenever it has sent nothing for a
    heartbeat interval, and falls back to unregistered when the broker has
    sent nothing for `liveness` intervals. Both figures come from the
    broker's answer to READY, so a test broker with 100 ms heartbeats gets
    workers that heartbeat every 100 ms. A RECONNECT from the broker (it
    does not know this worker: it restarted, or gave it up for dead) also
    makes the worker unregistered, and it registers again at once.

    The worker id is the name, the pid and a random suffix, made once: it
    is how the broker recognises the same worker after a reconnection
    (PROTOCOL.md 10.2). READY lists the jobs the worker still holds,
    including those whose result waits for an acknowledgement; the
    broker's answer names those it must drop (another worker has them now,
    or they were cancelled), and the engine then sends every result it
    still keeps, with new request ids. So results survive a lost
    connection and a broker restart: a result leaves `results` only when
    the broker has settled it (OK, or an ERROR 4xx saying it never will
    take it; after a 5xx it is sent again a heartbeat later). Results are
    matched to answers by job id, whichever RESULT an answer is to.

    The engine is three files: this one (tasks, and the public calls of
    the engine), zjob_worker_session.c (the conversation with the broker:
    credit, draining, batching, registration, described at its top) and
    zjob_worker_run.c (zjob_worker_run's threads); zjob_worker_impl.h is
    what they share.
    ========================================================================= */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include "zjob_worker_impl.h"
#include "zjob_log.h"

//  --------------------------------------------------------------------------
//  Tasks

zjob_task_t *
zjob_worker_task_new (zjob_worker_t *worker, zjob_job_t *job)
{
    zjob_task_t *self = (zjob_task_t *) zmalloc (sizeof (zjob_task_t));
    if (self) {
        self->job = job;
        self->worker = worker;
    }
    return self;
}

static void
s_task_destroy (zjob_task_t **self_p)
{
    if (self_p && *self_p) {
        zjob_task_t *self = *self_p;
        zjob_job_destroy (&self->job);
        zjob_job_destroy (&self->successor);
        free (self->cancel_reason);
        free (self->fail_kind);
        free (self->fail_message);
        free (self);
        *self_p = NULL;
    }
}

const char *
zjob_task_id (zjob_task_t *self)
{
    return self->job->id;
}

const char *
zjob_task_workflow (zjob_task_t *self)
{
    return self->job->workflow_id;
}

const uint8_t *
zjob_task_inputs (zjob_task_t *self, size_t *size_p)
{
    if (size_p)
        *size_p = self->job->inputs.size;
    return self->job->inputs.data;
}

const uint8_t *
zjob_task_parent_outputs (zjob_task_t *self, size_t *size_p)
{
    return zjob_job_parent_outputs (self->job, size_p);
}

uint32_t
zjob_task_attempt (zjob_task_t *self)
{
    return self->job->attempts;
}

zjob_priority_t
zjob_task_priority (zjob_task_t *self)
{
    return (zjob_priority_t) self->job->priority;
}

const zjob_job_t *
zjob_task_job (zjob_task_t *self)
{
    return self->job;
}

bool
zjob_task_paused (zjob_task_t *self)
{
    if (zjob_worker_inline (self))
        zjob_worker_inline_pump (self, 0);
    pthread_mutex_lock (&self->worker->lock);
    bool paused = self->paused;
    pthread_mutex_unlock (&self->worker->lock);
    return paused;
}

bool
zjob_task_cancelled (zjob_task_t *self)
{
    if (zjob_worker_inline (self))
        zjob_worker_inline_pump (self, 0);
    pthread_mutex_lock (&self->worker->lock);
    bool cancelled = self->cancelled || self->dropped || self->stopping;
    pthread_mutex_unlock (&self->worker->lock);
    return cancelled;
}

const char *
zjob_task_cancel_reason (zjob_task_t *self)
{
    //  Set once, under the lock, before the cancelled flag
    pthread_mutex_lock (&self->worker->lock);
    const char *reason = self->cancelled ? self->cancel_reason : NULL;
    pthread_mutex_unlock (&self->worker->lock);
    return reason;
}

int
zjob_task_checkpoint (zjob_task_t *self)
{
    if (zjob_worker_inline (self))
        return zjob_worker_inline_checkpoint (self);
    zjob_worker_t *worker = self->worker;
    pthread_mutex_lock (&worker->lock);
    while (self->paused && !self->cancelled && !self->dropped && !self->stopping)
        pthread_cond_wait (&worker->changed, &worker->lock);
    int rc = self->cancelled || self->dropped || self->stopping ? -1 : 0;
    pthread_mutex_unlock (&worker->lock);
    return rc;
}

void
zjob_task_fail (zjob_task_t *self, const char *kind, const char *message)
{
    free (self->fail_kind);
    free (self->fail_message);
    self->fail_kind = kind ? strdup (kind) : NULL;
    self->fail_message = message ? strdup (message) : NULL;
    self->fail_permanent = false;
}

void
zjob_task_fail_permanent (zjob_task_t *self, const char *kind, const char *message)
{
    zjob_task_fail (self, kind, message);
    self->fail_permanent = true;
}

void
zjob_worker_successor_drop (zjob_task_t *task)
{
    if (task->successor)
        zjob_log_info ("zjob_worker: %s: attempt %u of job %s dropped before it started",
                       task->worker->worker_id, (unsigned) task->successor->attempts,
                       task->job->id);
    zjob_job_destroy (&task->successor);
    task->successor_paused = false;
}

//  Set one of a task's flags and wake whoever waits on it
void
zjob_worker_task_flag (zjob_task_t *task, bool *flag, bool value)
{
    pthread_mutex_lock (&task->worker->lock);
    *flag = value;
    pthread_cond_broadcast (&task->worker->changed);
    pthread_mutex_unlock (&task->worker->lock);
}


//  --------------------------------------------------------------------------
//  The engine's public face

zjob_worker_t *
zjob_worker_new (const char *endpoint, const char *name, const char *const *workflows,
                 size_t count, size_t slots, zjob_error_t *err)
{
    return zjob_worker_new_with (endpoint, name, workflows, count, slots, NULL, err);
}

zjob_worker_t *
zjob_worker_new_with (const char *endpoint, const char *name, const char *const *workflows,
                      size_t count, size_t slots, const zjob_connect_opts_t *opts,
                      zjob_error_t *err)
{
    if (zjob_connect_check (endpoint, NULL, err))
        return NULL;
    //  The worker id adds a pid and a random suffix and must stay a name
    if (!name || !zjob_name_valid (name) || strlen (name) > ZJOB_NAME_MAX - 20) {
        zjob_error_set (err, ZJOB_BAD_REQUEST,
                        "worker name must be 1 to %d printable characters without spaces",
                        ZJOB_NAME_MAX - 20);
        return NULL;
    }
    if (!workflows || count == 0 || count > ZJOB_WORKFLOWS_MAX) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "a worker serves 1 to %d workflows, not %zu",
                        ZJOB_WORKFLOWS_MAX, workflows ? count : 0);
        return NULL;
    }
    for (size_t i = 0; i < count; i++)
        if (!workflows [i] || !zjob_name_valid (workflows [i])) {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "workflow %zu is not a valid name", i);
            return NULL;
        }
    if (slots == 0 || slots > ZJOB_SLOTS_MAX) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "slots must be 1 to %d, not %zu",
                        ZJOB_SLOTS_MAX, slots);
        return NULL;
    }
    //  CZMQ set up once, whatever other threads do now (zjob_util.h)
    if (zjob_czmq_init ()) {
        zjob_error_set (err, ZJOB_INTERNAL, "CZMQ cannot start (zsys_init failed)");
        return NULL;
    }
    zjob_worker_t *self = (zjob_worker_t *) zmalloc (sizeof (zjob_worker_t));
    if (!self) {
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->changed, NULL);
    self->endpoint = strdup (endpoint);
    self->name = strdup (name);
    self->workflows = (char **) calloc (count, sizeof (char *));
    self->workflow_count = count;
    self->slots = slots;
    self->sock = zsock_new (ZMQ_DEALER);
    self->builder = zjob_msg_builder_new ();
    self->tasks = zjob_hashx_new ();
    self->results = zlistx_new ();
    self->events = zlistx_new ();
    self->buffer = zlistx_new ();
    self->given_back = zlistx_new ();
    if (self->given_back) {
        zlistx_set_duplicator (self->given_back, (zlistx_duplicator_fn *) strdup);
        zlistx_set_destructor (self->given_back, (zlistx_destructor_fn *) zstr_free);
    }
    bool ok = self->endpoint && self->name && self->workflows && self->sock && self->builder
        && self->tasks && self->results && self->events && self->buffer && self->given_back;
    for (size_t i = 0; ok && i < count; i++)
        ok = (self->workflows [i] = strdup (workflows [i])) != NULL;
    if (!ok) {
        zjob_worker_destroy (&self);
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    zlistx_set_destructor (self->results, zjob_worker_result_destroy);
    zlistx_set_destructor (self->events, zjob_worker_event_destroy);
    zuuid_t *uuid = zuuid_new ();
    snprintf (self->worker_id, sizeof (self->worker_id), "%s.%d.%.6s", name, (int) getpid (),
              uuid ? zuuid_str (uuid) : "000000");
    zuuid_destroy (&uuid);
    self->next_id = 1;
    self->heartbeat_ms = ZJOB_HEARTBEAT_MS;
    self->liveness = ZJOB_LIVENESS;
    self->retry_ivl = ZJOB_WORKER_RECONNECT_MIN_MS;
    const char *batch = getenv ("ZJOB_WORKER_BATCH");
    self->batch = !(batch && streq (batch, "0"));
    self->result_batch = 1;
    zjob_worker_prefetch_init (self);

    zjob_proto_socket_setup (self->sock);
    zsock_set_linger (self->sock, 0);
    //  Only a CURVE worker watches its handshakes
    if (zjob_connect_secure (opts)
        && (zjob_connect_apply (self->sock, opts, err)
            || !(self->handshake = zjob_handshake_new (self->sock, err)))) {
        zjob_worker_destroy (&self);
        return NULL;
    }
    if (zjob_connect_endpoints (self->sock, endpoint, err)) {
        zjob_worker_destroy (&self);
        return NULL;
    }
    zjob_worker_register (self, false);
    return self;
}

//  Say DISCONNECT once; the broker requeues what this worker still holds
void
zjob_worker_disconnect (zjob_worker_t *self, const char *reason)
{
    if (self->disconnected)
        return;
    if (self->registered) {
        zjob_worker_begin (self, ZJOB_CMD_DISCONNECT);
        zjob_msg_add_str (self->builder, "reason", reason);
        //  What it hands back unstarted is queued again without an attempt
        const char *ids [ZJOB_PREFETCH_MAX];
        size_t count = zjob_worker_given_back (self, ids, ZJOB_PREFETCH_MAX, NULL);
        if (count)
            zjob_msg_add_strs (self->builder, "release", ids, count);
        zjob_worker_send_built (self);
    }
    self->registered = false;
    self->disconnected = true;
}

void
zjob_worker_destroy (zjob_worker_t **self_p)
{
    if (self_p && *self_p) {
        zjob_worker_t *self = *self_p;
        if (self->sock && self->builder && self->tasks)
            zjob_worker_disconnect (self, "worker closed");
        if (self->tasks) {
            for (zjob_task_t *task = (zjob_task_t *) zhashx_first (self->tasks); task;
                 task = (zjob_task_t *) zhashx_next (self->tasks))
                s_task_destroy (&task);
            zhashx_destroy (&self->tasks);
        }
        zlistx_destroy (&self->results);
        zlistx_destroy (&self->events);
        zlistx_destroy (&self->buffer);
        zlistx_destroy (&self->given_back);
        zframe_destroy (&self->ready_frame);
        zjob_handshake_destroy (&self->handshake);
        zsock_destroy (&self->sock);
        zjob_msg_builder_destroy (&self->builder);
        for (size_t i = 0; self->workflows && i < self->workflow_count; i++)
            free (self->workflows [i]);
        free (self->workflows);
        free (self->flush_chosen);
        free (self->flush_items);
        free (self->endpoint);
        free (self->name);
        pthread_cond_destroy (&self->changed);
        pthread_mutex_destroy (&self->lock);
        free (self);
        *self_p = NULL;
    }
}

int
zjob_worker_recv (zjob_worker_t *self, int timeout_ms, zjob_task_t **task_p,
                  zjob_error_t *err)
{
    *task_p = NULL;
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : zjob_mono_ms () + timeout_ms;
    //  How long the program kept the engine from its socket (its work on
    //  the last event), for the round trip's timing (zjob_worker_prefetch.c)
    self->blind_us = self->busy_from_us ? zclock_usecs () - self->busy_from_us : 0;
    self->busy_from_us = 0;
    while (true) {
        zjob_worker_notice_t *event = (zjob_worker_notice_t *) zlistx_first (self->events);
        if (event) {
            int kind = event->kind;
            *task_p = event->task;
            zlistx_delete (self->events, zlistx_cursor (self->events));
            self->busy_from_us = zclock_usecs ();
            return kind;
        }
        //  The program has taken every event: what it finished goes out
        zjob_worker_results_flush (self);
        zjob_worker_timers (self);
        //  One receive that waits (zjob_worker_read_wait), not a read, a
        //  poll and a read again: what is there comes without a wait
        int64_t now = zjob_mono_ms ();
        int64_t wait = zjob_worker_timeout (self);
        if (deadline - now < wait)
            wait = deadline > now ? deadline - now : 0;
        int got = zjob_worker_read_wait (self, (int) wait);
        if (got < 0)
            return zjob_error_set (err, ZJOB_UNAVAILABLE, "interrupted");
        if (got == 0 && zjob_mono_ms () >= deadline)
            return ZJOB_WORKER_NOTHING;
    }
}

//  Forget events still queued about task (it is about to be freed)
static void
s_forget_events (zjob_worker_t *self, zjob_task_t *task)
{
    for (zjob_worker_notice_t *event = (zjob_worker_notice_t *) zlistx_first (self->events); event;
         event = (zjob_worker_notice_t *) zlistx_next (self->events))
        if (event->task == task)
            zlistx_delete (self->events, zlistx_cursor (self->events));
}

//  A later attempt of a job, kept while the cancelled task of an earlier
//  one ran (zjob_worker_session.c, "A JOB for a job still held"), starts
//  now that it ended: a task as if its JOB came now, paused if the broker
//  paused it meanwhile
static void
s_successor_start (zjob_worker_t *self, zjob_job_t *job, bool paused)
{
    zjob_task_t *task = self->disconnected ? NULL : zjob_worker_task_new (self, job);
    if (!task) {
        zjob_job_destroy (&job);  //  Disconnected: the broker requeued it
        return;
    }
    zjob_log_debug ("zjob_worker: %s: attempt %u of job %s starts: the earlier one ended",
                    self->worker_id, (unsigned) job->attempts, job->id);
    //  Paused meanwhile: it waits in the buffer for RESUME
    task->paused = paused;
    zhashx_insert (self->tasks, job->id, task);
    zjob_worker_buffer_add (self, task);
}

//  The task ends here: unlink and free it. Returns true if the broker
//  still wants its result, and in *paused_p whether the job is paused
//  (its result must wait for RESUME). A cancelled task needs nothing
//  more: the OK to the broker's CANCEL gave its credit back.
bool
zjob_worker_task_end (zjob_worker_t *self, zjob_task_t **task_p, bool *paused_p)
{
    zjob_task_t *task = *task_p;
    pthread_mutex_lock (&self->lock);
    bool wanted = !task->cancelled && !task->dropped;
    if (paused_p)
        *paused_p = task->paused;
    pthread_mutex_unlock (&self->lock);
    zhashx_delete (self->tasks, task->job->id);
    s_forget_events (self, task);
    zjob_worker_buffer_forget (self, task, wanted);
    zjob_job_t *successor = task->successor;
    bool successor_paused = task->successor_paused;
    task->successor = NULL;
    s_task_destroy (task_p);
    if (successor)
        s_successor_start (self, successor, successor_paused);
    //  Its slot is free: the best buffered task takes it
    if (!self->draining)
        zjob_worker_buffer_release (self);
    return wanted;
}

//  A task whose TASK event the program has not had yet, or NULL
static zjob_task_t *
s_unseen_task (zjob_worker_t *self)
{
    for (zjob_worker_notice_t *event = (zjob_worker_notice_t *) zlistx_first (self->events); event;
         event = (zjob_worker_notice_t *) zlistx_next (self->events))
        if (event->kind == ZJOB_WORKER_TASK)
            return event->task;
    return NULL;
}

int
zjob_worker_drain (zjob_worker_t *self)
{
    if (self->draining)
        return 0;
    self->draining = true;
    //  Tasks the program has not been given go back with the READY below
    bool handed = false;
    zjob_task_t *unseen;
    while ((unseen = s_unseen_task (self))) {
        zjob_log_info ("zjob_worker: %s: job %s handed back unstarted: draining",
                       self->worker_id, unseen->job->id);
        zjob_worker_give_back (self, unseen->job->id);
        zjob_worker_task_end (self, &unseen, NULL);
        handed = true;
    }
    //  And so do those in the buffer (prefetched)
    size_t buffered = zlistx_size (self->buffer);
    while ((unseen = (zjob_task_t *) zlistx_first (self->buffer))) {
        zjob_worker_give_back (self, unseen->job->id);
        zjob_worker_task_end (self, &unseen, NULL);
    }
    if (buffered) {
        zjob_log_info ("zjob_worker: %s: %zu buffered jobs handed back unstarted: draining",
                       self->worker_id, buffered);
        handed = true;
    }
    //  So do later attempts waiting for a cancelled one to end
    for (zjob_task_t *task = (zjob_task_t *) zhashx_first (self->tasks); task;
         task = (zjob_task_t *) zhashx_next (self->tasks))
        if (task->successor) {
            zjob_worker_give_back (self, task->successor->id);
            zjob_worker_successor_drop (task);
            handed = true;
        }
    //  With every slot held the broker has no credit for us: results with
    //  credit 0 are enough. Else take its credit back with a READY.
    size_t held = zlistx_size (self->results);
    for (zjob_task_t *task = (zjob_task_t *) zhashx_first (self->tasks); task;
         task = (zjob_task_t *) zhashx_next (self->tasks))
        held += !task->cancelled && !task->dropped;
    if (handed || held < self->slots || !self->registered)
        self->rejoin = true;
    if (self->registered && self->rejoin && !self->disconnected)
        zjob_worker_register (self, false);
    return 0;
}

int
zjob_worker_progress (zjob_worker_t *self, zjob_task_t *task, float progress,
                      const char *message)
{
    if (!task || zhashx_lookup (self->tasks, task->job->id) != task || task->cancelled
        || task->dropped)
        return -1;
    if (!(progress >= 0))  //  Also catches NaN
        progress = 0;
    if (progress > 1)
        progress = 1;
    if (self->registered) {
        zjob_worker_begin (self, ZJOB_CMD_PROGRESS);
        zjob_msg_add_str (self->builder, "id", task->job->id);
        zjob_msg_add_float (self->builder, "progress", progress);
        if (message && strlen (message) <= ZJOB_MESSAGE_MAX)
            zjob_msg_add_str (self->builder, "message", message);
        zjob_worker_send_built (self);
    }
    return 0;
}

//  End the task with a result, kept until the broker settles it. The
//  result copies what it needs first: kind and message may be the task's.
static int
s_finish (zjob_worker_t *self, zjob_task_t **task_p, const uint8_t *outputs, size_t size,
          const char *kind, const char *message, bool failed, bool permanent)
{
    zjob_worker_result_t *result = (zjob_worker_result_t *) zmalloc (sizeof (zjob_worker_result_t));
    bool ok = result != NULL;
    if (ok) {
        snprintf (result->id, sizeof (result->id), "%s", (*task_p)->job->id);
        result->attempt = (*task_p)->job->attempts;
        result->failed = failed;
        result->permanent = failed && permanent;
        if (failed) {
            //  Cut to the protocol's limits rather than lose the result
            char kind_buf [ZJOB_NAME_MAX + 1];
            snprintf (kind_buf, sizeof (kind_buf), "%s", kind && *kind ? kind : ZJOB_KIND_ERROR);
            char message_buf [ZJOB_MESSAGE_MAX + 1];
            snprintf (message_buf, sizeof (message_buf), "%s", message ? message : "");
            result->error_kind = strdup (kind_buf);
            result->error_message = strdup (message_buf);
            ok = result->error_kind && result->error_message;
        }
        else if (outputs && size) {
            result->outputs = (uint8_t *) malloc (size);
            if ((ok = result->outputs != NULL)) {
                memcpy (result->outputs, outputs, size);
                result->outputs_size = size;
            }
        }
    }
    bool paused;
    bool wanted = zjob_worker_task_end (self, task_p, &paused);
    if (!ok || !wanted) {
        void *item = result;
        zjob_worker_result_destroy (&item);  //  Not wanted: the result is discarded
        return ok ? 0 : -1;
    }
    result->parked = paused;
    zlistx_add_end (self->results, result);
    if (self->registered && !result->parked) {
        zjob_worker_result_post (self, result);
        //  Batching: while the program has events still to take (the rest
        //  of a JOB's jobs), its next recv sends this with the others
        if (zlistx_size (self->events) == 0 && !self->gathering)
            zjob_worker_results_flush (self);
    }
    return 0;
}

int
zjob_worker_complete (zjob_worker_t *self, zjob_task_t **task_p, const uint8_t *outputs,
                      size_t size, zjob_error_t *err)
{
    if (!task_p || !*task_p)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "no task");
    zjob_error_t local;
    if (!err)
        err = &local;
    if (outputs && size > ZJOB_DATA_MAX)
        zjob_error_set (err, ZJOB_TOO_LARGE, "outputs of %zu bytes are over the limit of %d bytes",
                        size, ZJOB_DATA_MAX);
    else if (outputs && size && !zjob_msgpack_is_map (outputs, size))
        zjob_error_set (err, ZJOB_BAD_REQUEST, "outputs of %zu bytes are not one msgpack map",
                        size);
    else {
        if (s_finish (self, task_p, outputs, size, NULL, NULL, false, false) == 0)
            return 0;
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory keeping a result");
    }
    //  Outputs the broker would refuse: the job fails, saying why
    s_finish (self, task_p, NULL, 0, ZJOB_KIND_BAD_OUTPUT, err->text, true, false);
    return -1;
}

int
zjob_worker_fail (zjob_worker_t *self, zjob_task_t **task_p, const char *kind,
                  const char *message)
{
    if (!task_p || !*task_p)
        return -1;
    return s_finish (self, task_p, NULL, 0, kind, message, true, false);
}

int
zjob_worker_fail_permanent (zjob_worker_t *self, zjob_task_t **task_p, const char *kind,
                            const char *message)
{
    if (!task_p || !*task_p)
        return -1;
    return s_finish (self, task_p, NULL, 0, kind, message, true, true);
}

//  Results the broker still has to settle (parked ones wait for RESUME)
static size_t
s_results_pending (zjob_worker_t *self)
{
    size_t pending = 0;
    for (zjob_worker_result_t *result = (zjob_worker_result_t *) zlistx_first (self->results); result;
         result = (zjob_worker_result_t *) zlistx_next (self->results))
        pending += !result->parked;
    return pending;
}

int
zjob_worker_flush (zjob_worker_t *self, int timeout_ms)
{
    int64_t deadline = zjob_mono_ms () + timeout_ms;
    while (s_results_pending (self)) {
        int left = (int) (deadline - zjob_mono_ms ());
        if (left <= 0)
            break;
        zjob_worker_results_flush (self);
        zjob_worker_timers (self);
        if (!zjob_worker_read (self)) {
            int wait = zjob_worker_timeout (self);
            if (zjob_handshake_wait (self->handshake, self->sock, wait < left ? wait : left) < 0)
                break;
        }
    }
    return s_results_pending (self) ? -1 : 0;
}

zsock_t *
zjob_worker_sock (zjob_worker_t *self)
{
    return self->sock;
}

bool
zjob_worker_registered (zjob_worker_t *self)
{
    return self->registered;
}

void
zjob_worker_handshake_check (zjob_worker_t *self)
{
    if (!self->handshake)
        return;
    zjob_handshake_state_t state = zjob_handshake_update (self->handshake);
    if (state == self->handshake_was || state == ZJOB_HANDSHAKE_UNKNOWN)
        return;
    if (state == ZJOB_HANDSHAKE_OK)
        zjob_log_info ("zjob_worker: %s: the CURVE handshake with %s succeeded", self->worker_id,
                       self->endpoint);
    else
        zjob_log_warning ("zjob_worker: %s: %s (%s); trying again with each READY",
                          self->worker_id, zjob_handshake_text (state), self->endpoint);
    self->handshake_was = state;
}

int
zjob_worker_error (zjob_worker_t *self, zjob_error_t *err)
{
    if (self->handshake)
        zjob_worker_handshake_check (self);
    if (self->handshake_was != ZJOB_HANDSHAKE_REFUSED
        && self->handshake_was != ZJOB_HANDSHAKE_FAILED)
        return 0;
    zjob_error_set (err, ZJOB_UNAUTHORIZED, "%s", zjob_handshake_text (self->handshake_was));
    return ZJOB_UNAUTHORIZED;
}

const char *
zjob_worker_name (zjob_worker_t *self)
{
    return self->name;
}

const char *
zjob_worker_id (zjob_worker_t *self)
{
    return self->worker_id;
}

size_t
zjob_worker_held (zjob_worker_t *self)
{
    return zhashx_size (self->tasks);
}
