/*  =========================================================================
    zjob_worker_session - the worker engine's conversation with the broker

    Everything the engine sends and receives: the request ids, the results
    kept until the broker settles them, registration (READY and its
    answer), the handling of each message from the broker, and the timers
    (heartbeats, READY's retries with backoff, results sent again after a
    5xx). The engine's state machine and its results' life are described
    at the top of zjob_worker.c; this file holds the rules below.

    Credit (PROTOCOL.md 10.6). The broker sends a JOB only against credit:
    READY's answer grants the free slots, each RESULT gives one back, and
    the OK to a CANCEL gives one back, so a cancelled task ends with
    nothing sent. A job the broker told the worker to drop was left out of
    READY's credit, so it returns nothing. A result of a paused job is held
    back ("parked") until RESUME, since the broker refuses results of
    paused jobs.

    Draining (zjob_worker_drain). Results then carry credit 0. CREDIT can
    only add (10.6), so to take back credit already granted the engine
    re-registers: a READY on the same connection replaces the session and
    keeps the jobs it lists (10.2), and while draining READY announces as
    many slots as it lists jobs, so the broker's answer grants none. It
    does so at drain when some slot may be free (it holds fewer jobs than
    slots, or tasks not yet given to the program were handed back), and
    again whenever credit may have come back (the OK to a CANCEL, a READY
    answer that dropped jobs) or a JOB came anyway. Such a JOB never reaches
    the program: the READY releases it (with the buffer's jobs handed back
    at drain), so the broker queues it again at once without counting an
    attempt (an older broker, which ignores `release`, counts it lost).
    The ids given back stay listed in every READY until one is answered
    (zjob_worker_give_back), and go in DISCONNECT when nothing is held. A drained worker that holds nothing says DISCONNECT instead: a
    READY must announce at least one slot.

    A JOB before READY's answer. A broker sends none (10.2), but one that
    comes is never silently lost. If this READY is the worker's first, no
    earlier session can have sent it, so the broker registered the worker
    before its OK reached us: the job is taken as if the OK had come. After
    that, it was sent under the session that the READY (pending, or the
    next one) replaces without listing it, so the broker requeues it: it
    is logged as handed back and not given to the program, which would
    run a job the broker has given up.

    Batching (PROTOCOL.md 10.2). READY announces `batch` (unless
    ZJOB_WORKER_BATCH=0 is in the environment), so the broker may send
    several jobs in one JOB: they become one task event each, in order.
    When the broker's answer allows it, results are not sent one by one
    but marked due, and go out together in one RESULT (`results`) when
    the program has taken every event recv had queued (it finished the
    tasks of one JOB), at the next recv, flush or timeout of 0, or, in
    zjob_worker_run, once per batch of handler reports. An OK to such a
    RESULT settles each of its results but those it lists as refused,

    Attempts (PROTOCOL.md 10.5, 10.8). Each result carries `attempt`, the
    JOB map's `att` of the task it ends, and `permanent` when the program
    failed it for good; batched results carry them per item. A CANCEL may
    carry `reason` (kept on the task for zjob_task_cancel_reason) and
    `attempt`: one naming another attempt than the one held is about an
    earlier attempt and is answered 404, changing nothing.

    A JOB for a job still held is ignored (10.3), except a later attempt
    of a job whose task was cancelled or dropped but has not ended: it
    waits on that task and starts when it ends (s_successor_keep). For a
    dropped task any attempt is a new one: the broker gave the job up
    when it said drop, and one that died before its dispatch was durable
    (a failover, a restart) hands the job out again under the same
    attempt number; ignored, it would stay running for nobody.
    ========================================================================= */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "zjob_worker_impl.h"
#include "zjob_log.h"
#include "zjob_connect.h"

#define S_READY_UNSENT_MS 10  //  msecs between tries of a READY not sent yet

//  --------------------------------------------------------------------------
//  Sending. Every message the worker sends takes the next id of one
//  counter (PROTOCOL.md 2), so that a RECONNECT can be told stale.

static void
s_send_frame (zjob_worker_t *self, zframe_t **frame_p)
{
    if (*frame_p && !self->disconnected
        && zframe_send (frame_p, self->sock, ZFRAME_DONTWAIT) == 0)
        self->last_sent = zjob_mono_ms ();
    zframe_destroy (frame_p);
}

//  Begin a message with the next id; returns the id
uint64_t
zjob_worker_begin (zjob_worker_t *self, zjob_cmd_t cmd)
{
    uint64_t id = self->next_id++;
    zjob_msg_begin (self->builder, cmd, id);
    return id;
}

//  Finish the message in the builder and send it
void
zjob_worker_send_built (zjob_worker_t *self)
{
    zframe_t *frame = zjob_msg_end (self->builder, NULL);
    s_send_frame (self, &frame);
}

//  Answer a broker's request (PAUSE, RESUME, CANCEL) about job id
static void
s_answer (zjob_worker_t *self, uint64_t request_id, const char *id, bool held)
{
    zframe_t *frame;
    if (held) {
        zjob_msg_begin (self->builder, ZJOB_CMD_OK, request_id);
        zjob_msg_add_str (self->builder, "id", id);
        frame = zjob_msg_end (self->builder, NULL);
    }
    else {
        zjob_error_t error;
        zjob_error_set (&error, ZJOB_NOT_FOUND, "worker %s does not hold job %s",
                        self->worker_id, id);
        frame = zjob_msg_error_new (request_id, &error);
    }
    s_send_frame (self, &frame);
}

//  --------------------------------------------------------------------------
//  Results

void
zjob_worker_result_destroy (void **item_p)
{
    if (item_p && *item_p) {
        zjob_worker_result_t *result = (zjob_worker_result_t *) *item_p;
        free (result->outputs);
        free (result->error_kind);
        free (result->error_message);
        free (result);
        *item_p = NULL;
    }
}

//  The kept result of job id (cursor on it), or NULL
static zjob_worker_result_t *
s_result_of (zjob_worker_t *self, const char *id)
{
    for (zjob_worker_result_t *result = (zjob_worker_result_t *) zlistx_first (self->results); result;
         result = (zjob_worker_result_t *) zlistx_next (self->results))
        if (id && streq (result->id, id))
            return result;
    return NULL;
}

//  The kept result last sent as request_id (cursor on it), or NULL
static zjob_worker_result_t *
s_result_sent_as (zjob_worker_t *self, uint64_t request_id)
{
    for (zjob_worker_result_t *result = (zjob_worker_result_t *) zlistx_first (self->results); result;
         result = (zjob_worker_result_t *) zlistx_next (self->results))
        if (request_id && result->request_id == request_id)
            return result;
    return NULL;
}

//  Send a kept result alone, with a new request id
static void
s_result_send (zjob_worker_t *self, zjob_worker_result_t *result)
{
    result->due = false;
    result->request_id = zjob_worker_begin (self, ZJOB_CMD_RESULT);
    result->resend_at = 0;
    zjob_msg_add_str (self->builder, "id", result->id);
    zjob_msg_add_str (self->builder, "status", result->failed ? "failed" : "completed");
    if (result->failed) {
        zjob_msg_add_str (self->builder, "error_kind", result->error_kind);
        zjob_msg_add_str (self->builder, "error_message", result->error_message);
    }
    else
        zjob_msg_add_bin (self->builder, "outputs", result->outputs, result->outputs_size);
    if (result->attempt)
        zjob_msg_add_uint (self->builder, "attempt", result->attempt);
    if (result->permanent)
        zjob_msg_add_bool (self->builder, "permanent", true);
    //  Draining: no slot comes back, even for a result finished before;
    //  with prefetch, what steers the window
    zjob_msg_add_uint (self->builder, "credit",
                       zjob_worker_prefetch_credit (self, 1, !result->released));
    zjob_worker_send_built (self);
    zjob_worker_probe_sent (self, result->request_id);
}

//  Send a kept result: at once, or, when the broker takes several results
//  in one RESULT, with the others due at the next zjob_worker_results_flush
void
zjob_worker_result_post (zjob_worker_t *self, zjob_worker_result_t *result)
{
    if (self->result_batch > 1) {
        result->due = true;
        result->resend_at = 0;
        self->results_due = true;
    }
    else
        s_result_send (self, result);
}

//  Send the results that are due, as few RESULTs as the broker's batch
//  and the message limit allow (outputs are up to 1 MiB each). Each
//  result takes the request id of the RESULT that carries it.
#define S_RESULT_BYTES_MAX (ZJOB_MSG_MAX / 2)  //  Outputs in one RESULT, at most
//  Make room for count results in the flush scratch arrays, growing them
//  by doubling (up to the broker's batch). They live as long as the
//  worker: a flush per job must not allocate, let alone clear, room for a
//  whole batch (1000 results, 56 KB) each time. 0, or -1 if out of memory.
static int
s_flush_reserve (zjob_worker_t *self, size_t count, size_t batch)
{
    if (count <= self->flush_max)
        return 0;
    size_t max = self->flush_max ? self->flush_max * 2 : 16;
    if (max > batch)
        max = batch;
    if (max < count)
        max = count;
    zjob_worker_result_t **chosen = (zjob_worker_result_t **) realloc (self->flush_chosen, max * sizeof *chosen);
    if (chosen)
        self->flush_chosen = chosen;
    zjob_result_t *items = (zjob_result_t *) realloc (self->flush_items, max * sizeof *items);
    if (items)
        self->flush_items = items;
    if (!chosen || !items)
        return -1;
    self->flush_max = max;
    return 0;
}

void
zjob_worker_results_flush (zjob_worker_t *self)
{
    if (!self->results_due || !self->registered || self->disconnected)
        return;
    self->results_due = false;
    size_t batch = self->result_batch > 1 ? self->result_batch : 1;
    zjob_worker_result_t *result = (zjob_worker_result_t *) zlistx_first (self->results);
    while (result) {
        size_t count = 0, bytes = 0;
        for (; result && count < batch; result = (zjob_worker_result_t *) zlistx_next (self->results)) {
            if (!result->due || result->parked)
                continue;
            if (count && bytes + result->outputs_size > S_RESULT_BYTES_MAX)
                break;  //  It opens the next RESULT
            bytes += result->outputs_size;
            if (s_flush_reserve (self, count + 1, batch) == 0)
                self->flush_chosen [count++] = result;
            else
                s_result_send (self, result);  //  Out of memory: one by one
        }
        if (count == 1)
            s_result_send (self, self->flush_chosen [0]);
        else if (count > 1) {
            uint64_t request_id = zjob_worker_begin (self, ZJOB_CMD_RESULT);
            for (size_t index = 0; index < count; index++) {
                zjob_worker_result_t *item = self->flush_chosen [index];
                item->due = false;
                item->request_id = request_id;
                self->flush_items [index] = (zjob_result_t){
                    .id = item->id,
                    .completed = !item->failed,
                    .outputs = item->failed ? NULL : item->outputs,
                    .outputs_size = item->failed ? 0 : item->outputs_size,
                    .error_kind = item->failed ? item->error_kind : NULL,
                    .error_message = item->failed ? item->error_message : NULL,
                    .attempt = item->attempt,
                    .permanent = item->permanent
                };
            }
            zjob_msg_add_results (self->builder, "results", self->flush_items, count);
            //  Draining: no slot comes back, even for results finished
            //  before; with prefetch, what steers the window
            size_t held = 0;
            for (size_t index = 0; index < count; index++)
                held += !self->flush_chosen [index]->released;
            zjob_msg_add_uint (self->builder, "credit",
                               zjob_worker_prefetch_credit (self, count, held));
            zframe_t *frame = zjob_msg_end (self->builder, NULL);
            if (!frame) {
                //  Out of memory mid-message: send nothing, try them again
                //  a heartbeat later rather than send a broken RESULT
                for (size_t index = 0; index < count; index++) {
                    self->flush_chosen [index]->request_id = 0;
                    self->flush_chosen [index]->resend_at = zjob_mono_ms () + self->heartbeat_ms;
                }
                continue;
            }
            s_send_frame (self, &frame);
            zjob_worker_probe_sent (self, request_id);
        }
        //  The list's cursor is still on result, if any: the next RESULT's first
    }
}

//  --------------------------------------------------------------------------
//  Registration

//  Send READY with the jobs still held; with reconnect, on a new connection
//  (closing the old one drops whatever was queued on it). While draining
//  it announces as many slots as it lists jobs, so that the broker grants
//  no credit; with none to list it says DISCONNECT instead.
void
zjob_worker_register (zjob_worker_t *self, bool reconnect)
{
    int64_t now = zjob_mono_ms ();
    //  Held: running or paused tasks, and results not settled
    size_t held = zhashx_size (self->tasks) + zlistx_size (self->results);
    const char **ids = (const char **) calloc (held ? held : 1, sizeof (char *));
    size_t count = 0;
    if (ids) {
        for (zjob_task_t *task = (zjob_task_t *) zhashx_first (self->tasks); task;
             task = (zjob_task_t *) zhashx_next (self->tasks))
            //  A later attempt waiting for a cancelled one is held too
            if ((task->successor || (!task->cancelled && !task->dropped))
                && count < ZJOB_SLOTS_MAX)
                ids [count++] = task->job->id;
        for (zjob_worker_result_t *result = (zjob_worker_result_t *) zlistx_first (self->results); result;
             result = (zjob_worker_result_t *) zlistx_next (self->results))
            if (count < ZJOB_SLOTS_MAX)
                ids [count++] = result->id;
    }
    self->rejoin = false;
    if (self->draining && ids && count == 0) {
        free (ids);
        zjob_worker_disconnect (self, "worker drained");
        return;
    }
    self->registered = false;
    if (reconnect) {
        zjob_connect_disconnect (self->sock, self->endpoint);
        zjob_connect_endpoints (self->sock, self->endpoint, NULL);
    }
    self->ready_id = self->last_ready_id = zjob_worker_begin (self, ZJOB_CMD_READY);
    self->readies++;
    zjob_msg_add_str (self->builder, "worker_id", self->worker_id);
    zjob_msg_add_str (self->builder, "name", self->name);
    zjob_msg_add_strs (self->builder, "workflows", (const char *const *) self->workflows,
                       self->workflow_count);
    zjob_msg_add_uint (self->builder, "slots", self->draining && count ? count : self->slots);
    if (count)
        zjob_msg_add_strs (self->builder, "jobs", ids, count);
    //  The jobs handed back unstarted: queued again without an attempt
    //  (an older broker ignores the key and counts them lost, as it did)
    const char *released [ZJOB_PREFETCH_MAX];
    size_t released_count = zjob_worker_given_back (self, released, ZJOB_PREFETCH_MAX,
                                                    &self->ready_released);
    if (released_count)
        zjob_msg_add_strs (self->builder, "release", released, released_count);
    if (self->batch)
        zjob_msg_add_uint (self->builder, "batch", ZJOB_SLOTS_MAX);
    //  Asked only when wanted: without it, the broker serves us as a worker
    //  that knows no prefetch
    size_t prefetch = zjob_worker_prefetch_ask (self);
    if (prefetch)
        zjob_msg_add_uint (self->builder, "prefetch", prefetch);
    self->ready_listed = count;
    zjob_worker_probe_sent (self, self->ready_id);
    free (ids);
    zframe_destroy (&self->ready_frame);
    zframe_t *frame = zjob_msg_end (self->builder, NULL);
    //  A list of endpoints with none connected yet (a broker failing
    //  over, or a connection just made again) refuses the send: READY
    //  waits for one (zjob_worker_timers) instead of for its deadline
    if (frame && !self->disconnected && zjob_connect_is_list (self->endpoint)
        && !(zsock_events (self->sock) & ZMQ_POLLOUT))
        self->ready_frame = frame;
    else
        s_send_frame (self, &frame);
    self->ready_deadline = now + self->heartbeat_ms * self->liveness;
    self->last_heard = now;
}

//  Send the READY that waits for a connection, if one is there now
static void
s_ready_unsent (zjob_worker_t *self, int64_t now)
{
    if (!self->ready_id || now >= self->ready_deadline) {
        zframe_destroy (&self->ready_frame);
        return;
    }
    if (zframe_send (&self->ready_frame, self->sock, ZFRAME_DONTWAIT) == 0) {
        self->ready_frame = NULL;
        self->last_sent = now;
    }
}

void
zjob_worker_event_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

void
zjob_worker_queue_event (zjob_worker_t *self, zjob_worker_event_t kind, zjob_task_t *task)
{
    zjob_worker_notice_t *event = (zjob_worker_notice_t *) malloc (sizeof (zjob_worker_notice_t));
    if (event) {
        event->kind = kind;
        event->task = task;
        zlistx_add_end (self->events, event);
    }
}

//  The broker went silent or said it stops: warn once per loss (READY's
//  retries, however many, are not news), and remember when, for "back"
static void
s_lost (zjob_worker_t *self, int64_t now, const char *why)
{
    if (self->lost_at)
        return;
    self->lost_at = now ? now : 1;
    zjob_log_warning ("zjob_worker: %s: lost the broker at %s: %s; reconnecting",
                      self->worker_id, self->endpoint, why);
}

//  The broker acknowledged READY: take its figures, abandon what it says
//  to drop, and send every result it has not settled
static void
s_on_ready_ok (zjob_worker_t *self, zjob_msg_t *msg)
{
    self->registered = true;
    self->ready_id = 0;
    self->retry_ivl = ZJOB_WORKER_RECONNECT_MIN_MS;
    self->heartbeat_ms = (int64_t) zjob_msg_uint (msg, "heartbeat_ms", ZJOB_HEARTBEAT_MS);
    self->liveness = (int64_t) zjob_msg_uint (msg, "liveness", ZJOB_LIVENESS);
    //  A broker that does not batch (an older one) gives no batch: 1
    self->result_batch = self->batch ? (size_t) zjob_msg_uint (msg, "batch", 1) : 1;
    size_t count;
    const char *const *drop = zjob_msg_strs (msg, "drop", &count);
    zjob_worker_given_back_settled (self);
    zjob_worker_prefetch_granted (self, msg, count);
    //  Draining: the broker's credit counts the dropped jobs as free slots
    if (self->draining && count)
        self->rejoin = true;
    for (size_t i = 0; i < count; i++) {
        if (s_result_of (self, drop [i]))
            zlistx_delete (self->results, zlistx_cursor (self->results));
        zjob_task_t *task = (zjob_task_t *) zhashx_lookup (self->tasks, drop [i]);
        if (task && task->successor) {
            zjob_worker_successor_drop (task);  //  Never started: nothing to stop
            continue;
        }
        if (task && !task->dropped) {
            bool told = task->cancelled;
            zjob_worker_task_flag (task, &task->dropped, true);
            if (!task->given)
                zjob_worker_task_end (self, &task, NULL);  //  Buffered: never started
            else if (!told)
                zjob_worker_queue_event (self, ZJOB_WORKER_CANCEL, task);
        }
    }
    size_t resent = 0;
    for (zjob_worker_result_t *result = (zjob_worker_result_t *) zlistx_first (self->results); result;
         result = (zjob_worker_result_t *) zlistx_next (self->results))
        if (!result->parked) {
            zjob_worker_result_post (self, result);
            resent++;
        }
    zjob_worker_results_flush (self);
    //  What the results did not raise the broker's credit to, a CREDIT does
    zjob_worker_prefetch_top_up (self);
    if (self->lost_at) {
        zjob_log_info ("zjob_worker: %s: the broker at %s is back after %.1f s; %zu result%s "
                       "resent",
                       self->worker_id, self->endpoint,
                       (double) (zjob_mono_ms () - self->lost_at) / 1000.0, resent,
                       resent == 1 ? "" : "s");
        self->lost_at = 0;
    }
}

//  --------------------------------------------------------------------------
//  Receiving

//  A CANCEL's reason, as kept on the task (the decoder has checked it is
//  a name; a newer broker may give reasons this one does not know), else
//  none
static char *
s_cancel_reason (zjob_msg_t *msg)
{
    const char *reason = zjob_msg_str (msg, "reason");
    return reason ? strdup (reason) : NULL;
}

//  A PAUSE, RESUME or CANCEL about a later attempt that waits for a
//  cancelled task to end: it applies to that attempt, not yet started
static void
s_on_control_successor (zjob_worker_t *self, zjob_msg_t *msg, zjob_task_t *task)
{
    zjob_cmd_t cmd = zjob_msg_command (msg);
    s_answer (self, zjob_msg_request_id (msg), task->job->id, true);
    if (cmd == ZJOB_CMD_CANCEL) {
        self->rejoin = self->rejoin || self->draining;  //  The OK gave a slot back
        zjob_worker_successor_drop (task);
    }
    else
        task->successor_paused = cmd == ZJOB_CMD_PAUSE;
}

//  A PAUSE, RESUME or CANCEL (answered OK) about a task in the buffer, which
//  the program has not seen: a paused one stays there, not startable,
//  until RESUME; a cancelled one just goes (the OK gave its credit back)
static void
s_on_control_buffered (zjob_worker_t *self, zjob_cmd_t cmd, zjob_task_t *task)
{
    if (cmd == ZJOB_CMD_CANCEL) {
        zjob_log_debug ("zjob_worker: %s: job %s cancelled in the buffer", self->worker_id,
                        task->job->id);
        zjob_worker_task_flag (task, &task->cancelled, true);
        zjob_worker_task_end (self, &task, NULL);
    }
    else {
        zjob_worker_task_flag (task, &task->paused, cmd == ZJOB_CMD_PAUSE);
        zjob_worker_buffer_release (self);
    }
}

//  A PAUSE, RESUME or CANCEL from the broker. A CANCEL that names an
//  attempt (`attempt`) other than the one this worker has for the job is
//  about an earlier attempt (one the broker timed out, say): it is
//  answered 404, as for a job not held, and changes nothing.
static void
s_on_control (zjob_worker_t *self, zjob_msg_t *msg)
{
    zjob_cmd_t cmd = zjob_msg_command (msg);
    const char *id = zjob_msg_str (msg, "id");
    uint64_t request_id = zjob_msg_request_id (msg);
    uint64_t attempt = cmd == ZJOB_CMD_CANCEL ? zjob_msg_uint (msg, "attempt", 0) : 0;
    zjob_task_t *task = (zjob_task_t *) zhashx_lookup (self->tasks, id);
    if (task && task->successor) {
        if (attempt && attempt != task->successor->attempts)
            s_answer (self, request_id, id, false);
        else
            s_on_control_successor (self, msg, task);
        return;
    }
    if (!task || task->cancelled || task->dropped) {
        //  A result held back while paused is still this worker's job
        zjob_worker_result_t *result = s_result_of (self, id);
        bool parked = result && result->parked && !(attempt && attempt != result->attempt);
        s_answer (self, request_id, id, parked);
        if (parked && cmd == ZJOB_CMD_CANCEL) {
            zlistx_delete (self->results, zlistx_cursor (self->results));
            self->rejoin = self->rejoin || self->draining;  //  The OK gave a slot back
        }
        else if (parked && cmd == ZJOB_CMD_RESUME) {
            result->parked = false;
            zjob_worker_result_post (self, result);
        }
        return;
    }
    if (attempt && attempt != task->job->attempts) {
        zjob_log_info ("zjob_worker: %s: CANCEL of attempt %u of job %s ignored: this worker "
                       "runs attempt %u",
                       self->worker_id, (unsigned) attempt, id, (unsigned) task->job->attempts);
        s_answer (self, request_id, id, false);
        return;
    }
    s_answer (self, request_id, id, true);
    if (!task->given) {
        s_on_control_buffered (self, cmd, task);
        return;
    }
    if (cmd == ZJOB_CMD_CANCEL) {
        self->rejoin = self->rejoin || self->draining;  //  The OK gave a slot back
        char *reason = s_cancel_reason (msg);
        pthread_mutex_lock (&self->lock);
        task->cancel_reason = reason;  //  Only once: a cancelled task comes here no more
        pthread_mutex_unlock (&self->lock);
        zjob_worker_task_flag (task, &task->cancelled, true);
        zjob_worker_queue_event (self, ZJOB_WORKER_CANCEL, task);
    }
    else if (cmd == ZJOB_CMD_PAUSE && !task->paused) {
        zjob_worker_task_flag (task, &task->paused, true);
        zjob_worker_queue_event (self, ZJOB_WORKER_PAUSE, task);
    }
    else if (cmd == ZJOB_CMD_RESUME && task->paused) {
        zjob_worker_task_flag (task, &task->paused, false);
        zjob_worker_queue_event (self, ZJOB_WORKER_RESUME, task);
    }
}

//  A JOB for a job still held. PROTOCOL.md 10.3 has it ignored, and so it
//  is, but for one case: a later attempt of a job whose task the broker
//  cancelled (a timeout) or gave away, and which has not ended yet (a
//  handler winding down, a command given its grace). The OK to that
//  CANCEL gave the slot back, so the broker may hand the job out again,
//  to this worker too: ignoring it would leave the job running nowhere
//  and the credit spent. The new attempt is kept on the old task and
//  starts when it ends, so that one worker never runs two attempts of one
//  job at once. Returns true if the job was kept (it takes job).
static bool
s_successor_keep (zjob_worker_t *self, zjob_task_t *held, zjob_job_t *job)
{
    //  Before READY's answer the READY pending does not list it: the
    //  broker requeues it (see "A JOB before READY's answer")
    if (!(held->cancelled || held->dropped) || held->successor
        || (job->attempts <= held->job->attempts && !held->dropped) || self->disconnected
        || !self->registered)
        return false;
    if (self->draining) {
        zjob_log_info ("zjob_worker: %s: job %s came while draining: handed back", self->worker_id,
                       job->id);
        zjob_worker_give_back (self, job->id);
        self->rejoin = true;  //  A READY that releases it
        zjob_job_destroy (&job);
        return true;
    }
    zjob_log_info ("zjob_worker: %s: attempt %u of job %s waits for attempt %u, cancelled, to end",
                   self->worker_id, (unsigned) job->attempts, job->id,
                   (unsigned) held->job->attempts);
    held->successor = job;
    held->successor_paused = false;
    return true;
}

//  One job of a JOB (owned)
static void
s_take_job (zjob_worker_t *self, zjob_job_t *job)
{
    zjob_task_t *held = (zjob_task_t *) zhashx_lookup (self->tasks, job->id);
    if (held && s_successor_keep (self, held, job))
        return;
    if (held || s_result_of (self, job->id)) {
        zjob_log_debug ("zjob_worker: %s: JOB for job %s (attempt %u), which this worker holds: "
                        "ignored",
                        self->worker_id, job->id, (unsigned) job->attempts);
        zjob_job_destroy (&job);  //  Already ours: ignored (PROTOCOL.md 10.3)
        return;
    }
    //  Before READY's answer (see the banner): taken only when this READY
    //  is the first, else the READY, which does not list it, hands it back
    bool early = !self->registered;
    if (self->disconnected) {
        zjob_log_info ("zjob_worker: %s: job %s came after DISCONNECT, which hands it back",
                       self->worker_id, job->id);
        zjob_job_destroy (&job);
        return;
    }
    if (early && !(self->ready_id && self->readies == 1)) {
        zjob_log_info ("zjob_worker: %s: job %s came before the answer to READY: handed back "
                       "(that READY does not list it)",
                       self->worker_id, job->id);
        zjob_job_destroy (&job);
        return;
    }
    if (self->draining) {
        zjob_log_info ("zjob_worker: %s: job %s came while draining: handed back",
                       self->worker_id, job->id);
        zjob_worker_give_back (self, job->id);
        self->rejoin = true;  //  A READY that releases it
        zjob_job_destroy (&job);
        return;
    }
    if (early)
        zjob_log_debug ("zjob_worker: %s: job %s came before the answer to READY: taken",
                        self->worker_id, job->id);
    zjob_task_t *task = zjob_worker_task_new (self, job);
    if (!task) {
        zjob_job_destroy (&job);
        return;
    }
    zhashx_insert (self->tasks, job->id, task);
    //  The program gets it when a slot is free (s_on_job)
    zjob_worker_buffer_add (self, task);
}

//  A JOB: one job ("job"), or several ("jobs", as a batching worker may
//  be sent), taken in order
static void
s_on_job (zjob_worker_t *self, zjob_msg_t *msg)
{
    zjob_error_t error;
    if (zjob_msg_has (msg, "jobs")) {
        zjob_job_t **jobs;
        size_t count;
        if (zjob_msg_jobs (msg, "jobs", &jobs, &count, &error)) {
            zjob_log_warning ("zjob_worker: %s: dropped a JOB that does not decode: %s",
                              self->worker_id, error.text);
            return;
        }
        for (size_t index = 0; index < count; index++)
            s_take_job (self, jobs [index]);
        free (jobs);
        zjob_worker_buffer_release (self);
        return;
    }
    zjob_job_t *job = zjob_msg_job (msg, "job", &error);
    if (!job) {
        zjob_log_warning ("zjob_worker: %s: dropped a JOB that does not decode: %s",
                          self->worker_id, error.text);
        return;
    }
    s_take_job (self, job);
    zjob_worker_buffer_release (self);
}

//  An OK or ERROR answering one of our requests
static void
s_on_reply (zjob_worker_t *self, zjob_msg_t *msg)
{
    uint64_t request_id = zjob_msg_request_id (msg);
    bool ok = zjob_msg_command (msg) == ZJOB_CMD_OK;
    zjob_error_t error;
    zjob_worker_probe_answered (self, request_id);
    if (request_id && request_id == self->ready_id) {
        if (ok && zjob_msg_check_reply (msg, ZJOB_CMD_READY, &error) == 0)
            s_on_ready_ok (self, msg);
        else {
            if (!ok)
                zjob_msg_error (msg, &error);
            //  Try again after a heartbeat interval (PROTOCOL.md 10.2)
            zjob_log_warning ("zjob_worker: %s: READY refused: %d %s", self->worker_id,
                              error.code, error.text);
            self->ready_id = 0;
            self->retry_at = zjob_mono_ms () + self->heartbeat_ms;
        }
        return;
    }
    //  Results are settled by job id, whichever RESULT the answer is to
    zjob_worker_result_t *result = ok ? s_result_of (self, zjob_msg_str (msg, "id")) : NULL;
    if (result) {
        if (!result->parked)
            zlistx_delete (self->results, zlistx_cursor (self->results));
        return;
    }
    //  Else every result the RESULT answered carried (one, or several): an
    //  OK settles each but those its "errors" refuse; an ERROR is for all
    if (ok && zjob_msg_check_reply (msg, ZJOB_CMD_RESULT, &error)) {
        zjob_log_warning ("zjob_worker: %s: malformed answer to RESULT: %s", self->worker_id,
                          error.text);
        return;  //  Settles nothing: resent after a reconnection
    }
    if (!ok)
        zjob_msg_error (msg, &error);
    size_t refusals = ok ? zjob_msg_result_errors (msg) : 0;
    while (request_id && (result = s_result_sent_as (self, request_id))) {
        zjob_error_t refusal;
        const zjob_error_t *why = ok ? NULL : &error;
        for (size_t index = 0; index < refusals && !why; index++) {
            const char *id = zjob_msg_result_error (msg, index, &refusal);
            if (id && streq (id, result->id))
                why = &refusal;
        }
        if (why && why->code >= 500) {
            //  Not recorded: send it again later. The broker let the job
            //  go and took the credit all the same (10.5)
            result->released = true;
            result->request_id = 0;
            result->resend_at = zjob_mono_ms () + self->heartbeat_ms;
        }
        else {
            //  Recorded; or the broker will never take it (cancelled,
            //  deleted, not ours)
            if (why)
                zjob_log_debug ("zjob_worker: %s: result for %s refused: %d %s", self->worker_id,
                                result->id, why->code, why->text);
            zlistx_delete (self->results, zlistx_cursor (self->results));
        }
    }
}

//  Read one message from the broker without blocking, and handle it.
//  Returns true if a message was read (handled or dropped), false if none
//  was waiting.
bool
zjob_worker_read (zjob_worker_t *self)
{
    return zjob_worker_read_wait (self, 0) > 0;
}

//  Receive one message, waiting at most timeout_ms: a plain worker in
//  libzmq's blocking receive (two system calls fewer per message than a
//  receive, a poll and a receive again: zjob_proto.h); a CURVE worker
//  polls its socket and its handshake monitor, and reads after the wake.
static int
s_recv_wait (zjob_worker_t *self, zmq_msg_t *frame, int timeout_ms)
{
    if (!self->handshake || timeout_ms == 0)
        return zjob_proto_recv_frame_wait (self->sock, frame, timeout_ms);
    int got = zjob_proto_recv_frame (self->sock, frame);
    if (got == 0 && zjob_handshake_wait (self->handshake, self->sock, timeout_ms) < 0)
        return -2;
    return got;
}

//  Read one message from the broker, waiting for it at most timeout_ms
//  (0: not at all), and handle it. Returns 1 if a message was read
//  (handled or dropped), 0 if none came, -1 if the wait was interrupted.
//  The decoded message borrows the received frame.
int
zjob_worker_read_wait (zjob_worker_t *self, int timeout_ms)
{
    zmq_msg_t frame;
    int got = s_recv_wait (self, &frame, timeout_ms);
    if (got == -2)
        return -1;
    //  Any message at all is a sign of life (PROTOCOL.md 10.7), even one
    //  that does not decode: the broker is there, whatever it said
    if (got != 0)
        self->last_heard = zjob_mono_ms ();
    if (got <= 0)
        return got < 0;  //  A message of several frames is dropped
    const uint8_t *data = (const uint8_t *) zmq_msg_data (&frame);
    size_t size = zmq_msg_size (&frame);
    zjob_error_t error;
    zjob_msg_t *msg = zjob_msg_decode (data, size, ZJOB_ROUTE_BROKER_WORKER, &error);
    if (!msg) {
        //  Tell the broker when it asked something; never answer an answer
        zframe_t *reply = zjob_msg_error_for (data, size, &error);
        zmq_msg_close (&frame);
        s_send_frame (self, &reply);
        return 1;
    }
    uint64_t request_id = zjob_msg_request_id (msg);
    switch (zjob_msg_command (msg)) {
        case ZJOB_CMD_JOB:
            s_on_job (self, msg);
            break;
        case ZJOB_CMD_PAUSE:
        case ZJOB_CMD_RESUME:
        case ZJOB_CMD_CANCEL:
            s_on_control (self, msg);
            break;
        case ZJOB_CMD_OK:
        case ZJOB_CMD_ERROR:
            s_on_reply (self, msg);
            break;
        case ZJOB_CMD_RECONNECT:
            //  Stale if a READY waits for its answer or was sent after the
            //  message it answers (an id of 0 cannot be told: obey it)
            if (!self->ready_id && (request_id == 0 || request_id >= self->last_ready_id))
                zjob_worker_register (self, false);
            break;
        case ZJOB_CMD_DISCONNECT:
            //  The broker is stopping: as if it were dead, try READY again
            //  after a pause, keeping jobs and results
            s_lost (self, zjob_mono_ms (), "it is stopping (DISCONNECT)");
            self->registered = false;
            self->ready_id = 0;
            self->retry_at = self->last_heard + self->retry_ivl;
            break;
        default:
            break;  //  HEARTBEAT: being heard was the point
    }
    zjob_msg_destroy (&msg);
    zmq_msg_close (&frame);
    return 1;
}

//  Run whatever timer is due
void
zjob_worker_timers (zjob_worker_t *self)
{
    zjob_worker_handshake_check (self);
    if (self->disconnected)
        return;
    int64_t now = zjob_mono_ms ();
    if (self->ready_frame)
        s_ready_unsent (self, now);
    if (self->registered && self->rejoin) {
        zjob_worker_register (self, false);  //  Draining: take back the broker's credit
        return;
    }
    if (self->registered) {
        //  The broker is presumed dead: reconnect at once. Unless a message
        //  waits, unread (the program was busy): it is a sign of life too
        if (now - self->last_heard > self->heartbeat_ms * self->liveness
            && !(zsock_events (self->sock) & ZMQ_POLLIN)) {
            char why [64];
            snprintf (why, sizeof (why), "no heartbeat for %.1f s",
                      (double) (now - self->last_heard) / 1000.0);
            s_lost (self, now, why);
            zjob_worker_register (self, true);
            return;
        }
        for (zjob_worker_result_t *result = (zjob_worker_result_t *) zlistx_first (self->results); result;
             result = (zjob_worker_result_t *) zlistx_next (self->results))
            if (result->resend_at && now >= result->resend_at && !result->parked)
                zjob_worker_result_post (self, result);
        if (now - self->last_sent >= self->heartbeat_ms) {
            zframe_t *frame = zjob_msg_empty_new (ZJOB_CMD_HEARTBEAT, self->next_id++);
            s_send_frame (self, &frame);
        }
    }
    else if (self->ready_id) {
        if (now >= self->ready_deadline) {
            //  No answer to READY: pause, growing, then a new connection
            self->ready_id = 0;
            self->retry_at = now + self->retry_ivl;
            self->retry_ivl = self->retry_ivl * 2 > ZJOB_WORKER_RECONNECT_MAX_MS
                ? ZJOB_WORKER_RECONNECT_MAX_MS
                : self->retry_ivl * 2;
        }
    }
    else if (now >= self->retry_at)
        zjob_worker_register (self, true);
}

int
zjob_worker_timeout (zjob_worker_t *self)
{
    if (zlistx_size (self->events) || (self->registered && self->rejoin)
        || (self->registered && self->results_due))
        return 0;
    int64_t now = zjob_mono_ms ();
    int64_t due;
    if (self->registered) {
        due = self->last_sent + self->heartbeat_ms;
        int64_t dead = self->last_heard + self->heartbeat_ms * self->liveness + 1;
        if (dead < due)
            due = dead;
        for (zjob_worker_result_t *result = (zjob_worker_result_t *) zlistx_first (self->results); result;
             result = (zjob_worker_result_t *) zlistx_next (self->results))
            if (result->resend_at && !result->parked && result->resend_at < due)
                due = result->resend_at;
    }
    else
        due = self->ready_id ? self->ready_deadline : self->retry_at;
    if (self->ready_frame && due > now + S_READY_UNSENT_MS)
        due = now + S_READY_UNSENT_MS;  //  Look for a connection again soon
    return due > now ? (int) (due - now) : 0;
}
