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
    the program: the READY does not list it, so the broker requeues it at
    once. A drained worker that holds nothing says DISCONNECT instead: a
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
    which are handled as a refused single result is.

    Threads. The engine and its socket belong to one thread. A task's
    paused/cancelled/stopping flags are the only state another thread may
    touch, and they sit under one mutex with a condition variable that
    zjob_task_checkpoint waits on. zjob_worker_run keeps the engine on the
    calling thread and runs handlers on a pool: tasks go to the pool on a
    queue under the same mutex, and handlers send their progress and
    results back as pointers over an inproc PUSH/PULL pair, which the run
    loop polls next to the broker's socket.
    ========================================================================= */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include "zjob_worker.h"
#include "zjob_proto.h"

#define POLL_SLICE_MS (ZJOB_HEARTBEAT_MS / 10)  //  msecs between checks of the stop flag

struct _zjob_task_t {
    zjob_job_t *job;                    //  As dispatched; one reference
    zjob_worker_t *worker;              //  The engine that holds it
    //  Under worker->lock
    bool paused;                        //  The broker said PAUSE (and no RESUME since)
    bool cancelled;                     //  The broker said CANCEL: no result is wanted
    bool dropped;                       //  The broker gave it to another worker
    bool stopping;                      //  zjob_worker_run is stopping
    //  Run mode, owned by the handler thread while it runs the task
    zsock_t *pipe;                      //  The handler thread's PUSH to the run loop
    char *fail_kind;                    //  Set by zjob_task_fail, or NULL
    char *fail_message;
};

//  A result the broker has not settled yet
typedef struct {
    char id [ZJOB_ID_LEN + 1];          //  The job's id
    bool failed;                        //  Else completed
    uint8_t *outputs;                   //  Completed: a copy of the outputs, or NULL
    size_t outputs_size;
    char *error_kind;                   //  Failed: copies, never NULL
    char *error_message;
    uint64_t request_id;                //  Of the RESULT last sent, 0 if not sent
    int64_t resend_at;                  //  mono ms to send again (after a 5xx); 0 = not due
    bool parked;                        //  The job is paused: held back until RESUME
    bool due;                           //  Batching: goes out with the next RESULT
} s_result_t;

//  Something recv has for the program
typedef struct {
    zjob_worker_event_t kind;
    zjob_task_t *task;
} s_event_t;

struct _zjob_worker_t {
    char *endpoint;                     //  The broker's workers endpoint
    char *name;                         //  As given
    char worker_id [ZJOB_NAME_MAX + 1]; //  name.pid.random, fixed for life
    char **workflows;                   //  workflow_count names served
    size_t workflow_count;
    size_t slots;                       //  Jobs run at once
    zsock_t *sock;                      //  DEALER to the broker
    zjob_msg_builder_t *builder;        //  Reused for every message
    uint64_t next_id;                   //  Id of the next message sent (from 1, never reset)

    bool registered;                    //  The broker acknowledged our READY
    uint64_t ready_id;                  //  Id of the READY awaiting its answer, 0 if none
    uint64_t last_ready_id;             //  Id of the latest READY sent
    size_t readies;                     //  READYs sent so far
    int64_t ready_deadline;             //  mono ms when an unanswered READY is given up
    int64_t retry_at;                   //  mono ms to reconnect and send READY, when none waits
    int retry_ivl;                      //  msecs of the next backoff pause
    int64_t heartbeat_ms;               //  msecs between heartbeats, from the broker
    int64_t liveness;                   //  Heartbeats missed before the broker is dead
    int64_t last_heard;                 //  mono ms we last heard from the broker
    int64_t last_sent;                  //  mono ms we last sent to the broker
    bool draining;                      //  zjob_worker_drain: take no more jobs
    bool rejoin;                        //  Draining, and the broker may have credit for
                                        //  us: send READY again (or DISCONNECT)
    bool disconnected;                  //  DISCONNECT sent; nothing more goes out
    bool batch;                         //  Announce batching in READY (unless
                                        //  ZJOB_WORKER_BATCH=0 in the environment)
    size_t result_batch;                //  Results per RESULT the broker takes (its
                                        //  READY answer's batch; 1: one at a time)
    bool results_due;                   //  Some result waits for s_results_flush
    s_result_t **flush_chosen;          //  s_results_flush's scratch: the results of
    zjob_result_t *flush_items;         //  one RESULT, and their wire view;
    size_t flush_max;                   //  entries allocated (grown up to the batch)
    bool gathering;                     //  zjob_worker_run is ending several tasks:
                                        //  their results go out together after

    zhashx_t *tasks;                    //  job id -> zjob_task_t, handed out, not ended
    zlistx_t *results;                  //  s_result_t, oldest first
    zlistx_t *events;                   //  s_event_t waiting for recv

    pthread_mutex_t lock;               //  Guards the tasks' state flags
    pthread_cond_t changed;             //  Broadcast when a flag changes
    atomic_int stop;                    //  Set by zjob_worker_stop (lock-free: signal-safe)
};

//  --------------------------------------------------------------------------
//  Tasks

static zjob_task_t *
s_task_new (zjob_worker_t *worker, zjob_job_t *job)
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
    pthread_mutex_lock (&self->worker->lock);
    bool paused = self->paused;
    pthread_mutex_unlock (&self->worker->lock);
    return paused;
}

bool
zjob_task_cancelled (zjob_task_t *self)
{
    pthread_mutex_lock (&self->worker->lock);
    bool cancelled = self->cancelled || self->dropped || self->stopping;
    pthread_mutex_unlock (&self->worker->lock);
    return cancelled;
}

int
zjob_task_checkpoint (zjob_task_t *self)
{
    zjob_worker_t *worker = self->worker;
    pthread_mutex_lock (&worker->lock);
    while (self->paused && !self->cancelled && !self->dropped && !self->stopping)
        pthread_cond_wait (&worker->changed, &worker->lock);
    int rc = self->cancelled || self->dropped || self->stopping? -1: 0;
    pthread_mutex_unlock (&worker->lock);
    return rc;
}

void
zjob_task_fail (zjob_task_t *self, const char *kind, const char *message)
{
    free (self->fail_kind);
    free (self->fail_message);
    self->fail_kind = kind? strdup (kind): NULL;
    self->fail_message = message? strdup (message): NULL;
}

//  Set one of a task's flags and wake whoever waits on it
static void
s_task_flag (zjob_task_t *task, bool *flag, bool value)
{
    pthread_mutex_lock (&task->worker->lock);
    *flag = value;
    pthread_cond_broadcast (&task->worker->changed);
    pthread_mutex_unlock (&task->worker->lock);
}

//  --------------------------------------------------------------------------
//  Sending. Every message the worker sends takes the next id of one
//  counter (PROTOCOL.md 2), so that a RECONNECT can be told stale.

static void
s_send_frame (zjob_worker_t *self, zframe_t **frame_p)
{
    if (*frame_p && !self->disconnected
    &&  zframe_send (frame_p, self->sock, ZFRAME_DONTWAIT) == 0)
        self->last_sent = zjob_mono_ms ();
    zframe_destroy (frame_p);
}

//  Begin a message with the next id; returns the id
static uint64_t
s_begin (zjob_worker_t *self, zjob_cmd_t cmd)
{
    uint64_t id = self->next_id++;
    zjob_msg_begin (self->builder, cmd, id);
    return id;
}

//  Finish the message in the builder and send it
static void
s_send_built (zjob_worker_t *self)
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

static void
s_result_destroy (void **item_p)
{
    if (item_p && *item_p) {
        s_result_t *result = (s_result_t *) *item_p;
        free (result->outputs);
        free (result->error_kind);
        free (result->error_message);
        free (result);
        *item_p = NULL;
    }
}

//  The kept result of job id (cursor on it), or NULL
static s_result_t *
s_result_of (zjob_worker_t *self, const char *id)
{
    for (s_result_t *result = (s_result_t *) zlistx_first (self->results); result;
         result = (s_result_t *) zlistx_next (self->results))
        if (id && streq (result->id, id))
            return result;
    return NULL;
}

//  The kept result last sent as request_id (cursor on it), or NULL
static s_result_t *
s_result_sent_as (zjob_worker_t *self, uint64_t request_id)
{
    for (s_result_t *result = (s_result_t *) zlistx_first (self->results); result;
         result = (s_result_t *) zlistx_next (self->results))
        if (request_id && result->request_id == request_id)
            return result;
    return NULL;
}

//  Send a kept result alone, with a new request id
static void
s_result_send (zjob_worker_t *self, s_result_t *result)
{
    result->due = false;
    result->request_id = s_begin (self, ZJOB_CMD_RESULT);
    result->resend_at = 0;
    zjob_msg_add_str (self->builder, "id", result->id);
    zjob_msg_add_str (self->builder, "status", result->failed? "failed": "completed");
    if (result->failed) {
        zjob_msg_add_str (self->builder, "error_kind", result->error_kind);
        zjob_msg_add_str (self->builder, "error_message", result->error_message);
    }
    else
        zjob_msg_add_bin (self->builder, "outputs", result->outputs, result->outputs_size);
    //  Draining: no slot comes back, even for a result finished before
    zjob_msg_add_uint (self->builder, "credit", self->draining? 0: 1);
    s_send_built (self);
}

//  Send a kept result: at once, or, when the broker takes several results
//  in one RESULT, with the others due at the next s_results_flush
static void
s_result_post (zjob_worker_t *self, s_result_t *result)
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
#define S_RESULT_BYTES_MAX (ZJOB_MSG_MAX / 2)   //  Outputs in one RESULT, at most
//  Make room for count results in the flush scratch arrays, growing them
//  by doubling (up to the broker's batch). They live as long as the
//  worker: a flush per job must not allocate, let alone clear, room for a
//  whole batch (1000 results, 56 KB) each time. 0, or -1 if out of memory.
static int
s_flush_reserve (zjob_worker_t *self, size_t count, size_t batch)
{
    if (count <= self->flush_max)
        return 0;
    size_t max = self->flush_max? self->flush_max * 2: 16;
    if (max > batch)
        max = batch;
    if (max < count)
        max = count;
    s_result_t **chosen = (s_result_t **) realloc (self->flush_chosen, max * sizeof *chosen);
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

static void
s_results_flush (zjob_worker_t *self)
{
    if (!self->results_due || !self->registered || self->disconnected)
        return;
    self->results_due = false;
    size_t batch = self->result_batch > 1? self->result_batch: 1;
    s_result_t *result = (s_result_t *) zlistx_first (self->results);
    while (result) {
        size_t count = 0, bytes = 0;
        for (; result && count < batch; result = (s_result_t *) zlistx_next (self->results)) {
            if (!result->due || result->parked)
                continue;
            if (count && bytes + result->outputs_size > S_RESULT_BYTES_MAX)
                break;                  //  It opens the next RESULT
            bytes += result->outputs_size;
            if (s_flush_reserve (self, count + 1, batch) == 0)
                self->flush_chosen [count++] = result;
            else
                s_result_send (self, result);   //  Out of memory: one by one
        }
        if (count == 1)
            s_result_send (self, self->flush_chosen [0]);
        else
        if (count > 1) {
            zjob_result_t *items = self->flush_items;
            uint64_t request_id = s_begin (self, ZJOB_CMD_RESULT);
            for (size_t index = 0; index < count; index++) {
                s_result_t *item = self->flush_chosen [index];
                item->due = false;
                item->request_id = request_id;
                items [index] = (zjob_result_t) {
                    .id = item->id, .completed = !item->failed,
                    .outputs = item->outputs, .outputs_size = item->outputs_size,
                    .error_kind = item->error_kind, .error_message = item->error_message
                };
            }
            zjob_msg_add_results (self->builder, "results", items, count);
            //  Draining: no slot comes back, even for results finished before
            zjob_msg_add_uint (self->builder, "credit", self->draining? 0: count);
            s_send_built (self);
        }
        //  The list's cursor is still on result, if any: the next RESULT's first
    }
}

//  --------------------------------------------------------------------------
//  Registration

static void s_disconnect (zjob_worker_t *self, const char *reason);

//  Send READY with the jobs still held; with reconnect, on a new connection
//  (closing the old one drops whatever was queued on it). While draining
//  it announces as many slots as it lists jobs, so that the broker grants
//  no credit; with none to list it says DISCONNECT instead.
static void
s_register (zjob_worker_t *self, bool reconnect)
{
    int64_t now = zjob_mono_ms ();
    //  Held: running or paused tasks, and results not settled
    size_t held = zhashx_size (self->tasks) + zlistx_size (self->results);
    const char **ids = (const char **) calloc (held? held: 1, sizeof (char *));
    size_t count = 0;
    if (ids) {
        for (zjob_task_t *task = (zjob_task_t *) zhashx_first (self->tasks); task;
             task = (zjob_task_t *) zhashx_next (self->tasks))
            if (!task->cancelled && !task->dropped && count < ZJOB_SLOTS_MAX)
                ids [count++] = task->job->id;
        for (s_result_t *result = (s_result_t *) zlistx_first (self->results); result;
             result = (s_result_t *) zlistx_next (self->results))
            if (count < ZJOB_SLOTS_MAX)
                ids [count++] = result->id;
    }
    self->rejoin = false;
    if (self->draining && ids && count == 0) {
        free (ids);
        s_disconnect (self, "worker drained");
        return;
    }
    self->registered = false;
    if (reconnect) {
        zsock_disconnect (self->sock, "%s", self->endpoint);
        zsock_connect (self->sock, "%s", self->endpoint);
    }
    self->ready_id = self->last_ready_id = s_begin (self, ZJOB_CMD_READY);
    self->readies++;
    zjob_msg_add_str (self->builder, "worker_id", self->worker_id);
    zjob_msg_add_str (self->builder, "name", self->name);
    zjob_msg_add_strs (self->builder, "workflows", (const char *const *) self->workflows,
                       self->workflow_count);
    zjob_msg_add_uint (self->builder, "slots", self->draining && count? count: self->slots);
    if (count)
        zjob_msg_add_strs (self->builder, "jobs", ids, count);
    if (self->batch)
        zjob_msg_add_uint (self->builder, "batch", ZJOB_SLOTS_MAX);
    free (ids);
    s_send_built (self);
    self->ready_deadline = now + self->heartbeat_ms * self->liveness;
    self->last_heard = now;
}

static void
s_event_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static void
s_queue_event (zjob_worker_t *self, zjob_worker_event_t kind, zjob_task_t *task)
{
    s_event_t *event = (s_event_t *) malloc (sizeof (s_event_t));
    if (event) {
        event->kind = kind;
        event->task = task;
        zlistx_add_end (self->events, event);
    }
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
    self->result_batch = self->batch? (size_t) zjob_msg_uint (msg, "batch", 1): 1;
    size_t count;
    const char *const *drop = zjob_msg_strs (msg, "drop", &count);
    //  Draining: the broker's credit counts the dropped jobs as free slots
    if (self->draining && count)
        self->rejoin = true;
    for (size_t i = 0; i < count; i++) {
        if (s_result_of (self, drop [i]))
            zlistx_delete (self->results, zlistx_cursor (self->results));
        zjob_task_t *task = (zjob_task_t *) zhashx_lookup (self->tasks, drop [i]);
        if (task && !task->dropped) {
            bool told = task->cancelled;
            s_task_flag (task, &task->dropped, true);
            if (!told)
                s_queue_event (self, ZJOB_WORKER_CANCEL, task);
        }
    }
    for (s_result_t *result = (s_result_t *) zlistx_first (self->results); result;
         result = (s_result_t *) zlistx_next (self->results))
        if (!result->parked)
            s_result_post (self, result);
    s_results_flush (self);
}

//  --------------------------------------------------------------------------
//  Receiving

//  A PAUSE, RESUME or CANCEL from the broker
static void
s_on_control (zjob_worker_t *self, zjob_msg_t *msg)
{
    zjob_cmd_t cmd = zjob_msg_command (msg);
    const char *id = zjob_msg_str (msg, "id");
    uint64_t request_id = zjob_msg_request_id (msg);
    zjob_task_t *task = (zjob_task_t *) zhashx_lookup (self->tasks, id);
    if (!task || task->cancelled || task->dropped) {
        //  A result held back while paused is still this worker's job
        s_result_t *result = s_result_of (self, id);
        bool parked = result && result->parked;
        s_answer (self, request_id, id, parked);
        if (parked && cmd == ZJOB_CMD_CANCEL) {
            zlistx_delete (self->results, zlistx_cursor (self->results));
            self->rejoin = self->rejoin || self->draining;     //  The OK gave a slot back
        }
        else
        if (parked && cmd == ZJOB_CMD_RESUME) {
            result->parked = false;
            s_result_post (self, result);
        }
        return;
    }
    s_answer (self, request_id, id, true);
    if (cmd == ZJOB_CMD_CANCEL) {
        self->rejoin = self->rejoin || self->draining;         //  The OK gave a slot back
        s_task_flag (task, &task->cancelled, true);
        s_queue_event (self, ZJOB_WORKER_CANCEL, task);
    }
    else
    if (cmd == ZJOB_CMD_PAUSE && !task->paused) {
        s_task_flag (task, &task->paused, true);
        s_queue_event (self, ZJOB_WORKER_PAUSE, task);
    }
    else
    if (cmd == ZJOB_CMD_RESUME && task->paused) {
        s_task_flag (task, &task->paused, false);
        s_queue_event (self, ZJOB_WORKER_RESUME, task);
    }
}

//  One job of a JOB (owned)
static void
s_take_job (zjob_worker_t *self, zjob_job_t *job)
{
    if (zhashx_lookup (self->tasks, job->id) || s_result_of (self, job->id)) {
        zjob_job_destroy (&job);        //  Already ours: ignored (PROTOCOL.md 10.3)
        return;
    }
    //  Before READY's answer (see the banner): taken only when this READY
    //  is the first, else the READY, which does not list it, hands it back
    bool early = !self->registered;
    if (self->disconnected) {
        zsys_info ("zjob_worker: %s: job %s came after DISCONNECT, which hands it back",
                   self->worker_id, job->id);
        zjob_job_destroy (&job);
        return;
    }
    if (early && !(self->ready_id && self->readies == 1)) {
        zsys_info ("zjob_worker: %s: job %s came before the answer to READY: handed back "
                   "(that READY does not list it)", self->worker_id, job->id);
        zjob_job_destroy (&job);
        return;
    }
    if (self->draining) {
        zsys_info ("zjob_worker: %s: job %s came while draining: handed back",
                   self->worker_id, job->id);
        self->rejoin = true;            //  A READY that does not list it
        zjob_job_destroy (&job);
        return;
    }
    if (early)
        zsys_debug ("zjob_worker: %s: job %s came before the answer to READY: taken",
                    self->worker_id, job->id);
    zjob_task_t *task = s_task_new (self, job);
    if (!task) {
        zjob_job_destroy (&job);
        return;
    }
    zhashx_insert (self->tasks, job->id, task);
    s_queue_event (self, ZJOB_WORKER_TASK, task);
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
            zsys_warning ("zjob_worker: %s: dropped a JOB that does not decode: %s",
                          self->worker_id, error.text);
            return;
        }
        for (size_t index = 0; index < count; index++)
            s_take_job (self, jobs [index]);
        free (jobs);
        return;
    }
    zjob_job_t *job = zjob_msg_job (msg, "job", &error);
    if (!job) {
        zsys_warning ("zjob_worker: %s: dropped a JOB that does not decode: %s",
                      self->worker_id, error.text);
        return;
    }
    s_take_job (self, job);
}

//  An OK or ERROR answering one of our requests
static void
s_on_reply (zjob_worker_t *self, zjob_msg_t *msg)
{
    uint64_t request_id = zjob_msg_request_id (msg);
    bool ok = zjob_msg_command (msg) == ZJOB_CMD_OK;
    zjob_error_t error;
    if (request_id && request_id == self->ready_id) {
        if (ok && zjob_msg_check_reply (msg, ZJOB_CMD_READY, &error) == 0)
            s_on_ready_ok (self, msg);
        else {
            if (!ok)
                zjob_msg_error (msg, &error);
            //  Try again after a heartbeat interval (PROTOCOL.md 10.2)
            zsys_warning ("zjob_worker: %s: READY refused: %d %s", self->worker_id,
                          error.code, error.text);
            self->ready_id = 0;
            self->retry_at = zjob_mono_ms () + self->heartbeat_ms;
        }
        return;
    }
    //  Results are settled by job id, whichever RESULT the answer is to
    s_result_t *result = ok? s_result_of (self, zjob_msg_str (msg, "id")): NULL;
    if (result) {
        if (!result->parked)
            zlistx_delete (self->results, zlistx_cursor (self->results));
        return;
    }
    //  Else every result the RESULT answered carried (one, or several): an
    //  OK settles each but those its "errors" refuse; an ERROR is for all
    if (ok && zjob_msg_check_reply (msg, ZJOB_CMD_RESULT, &error)) {
        zsys_warning ("zjob_worker: %s: malformed answer to RESULT: %s", self->worker_id,
                      error.text);
        return;                         //  Settles nothing: resent after a reconnection
    }
    if (!ok)
        zjob_msg_error (msg, &error);
    size_t refusals = ok? zjob_msg_result_errors (msg): 0;
    while (request_id && (result = s_result_sent_as (self, request_id))) {
        zjob_error_t refusal;
        const zjob_error_t *why = ok? NULL: &error;
        for (size_t index = 0; index < refusals && !why; index++) {
            const char *id = zjob_msg_result_error (msg, index, &refusal);
            if (id && streq (id, result->id))
                why = &refusal;
        }
        if (why && why->code >= 500) {
            //  Not recorded: send it again later
            result->request_id = 0;
            result->resend_at = zjob_mono_ms () + self->heartbeat_ms;
        }
        else {
            //  Recorded; or the broker will never take it (cancelled,
            //  deleted, not ours)
            if (why)
                zsys_debug ("zjob_worker: %s: result for %s refused: %d %s", self->worker_id,
                            result->id, why->code, why->text);
            zlistx_delete (self->results, zlistx_cursor (self->results));
        }
    }
}

//  Read one message from the broker without blocking, and handle it.
//  Returns true if a message was read (handled or dropped), false if none
//  was waiting. The decoded message borrows the received frame.
static bool
s_read (zjob_worker_t *self)
{
    zmq_msg_t frame;
    int got = zjob_proto_recv_frame (self->sock, &frame);
    //  Any message at all is a sign of life (PROTOCOL.md 10.7), even one
    //  that does not decode: the broker is there, whatever it said
    if (got != 0)
        self->last_heard = zjob_mono_ms ();
    if (got <= 0)
        return got < 0;                 //  A message of several frames is dropped
    const uint8_t *data = (const uint8_t *) zmq_msg_data (&frame);
    size_t size = zmq_msg_size (&frame);
    zjob_error_t error;
    zjob_msg_t *msg = zjob_msg_decode (data, size, ZJOB_ROUTE_BROKER_WORKER, &error);
    if (!msg) {
        //  Tell the broker when it asked something; never answer an answer
        zframe_t *reply = zjob_msg_error_for (data, size, &error);
        zmq_msg_close (&frame);
        s_send_frame (self, &reply);
        return true;
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
                s_register (self, false);
            break;
        case ZJOB_CMD_DISCONNECT:
            //  The broker is stopping: as if it were dead, try READY again
            //  after a pause, keeping jobs and results
            self->registered = false;
            self->ready_id = 0;
            self->retry_at = self->last_heard + self->retry_ivl;
            break;
        default:
            break;                      //  HEARTBEAT: being heard was the point
    }
    zjob_msg_destroy (&msg);
    zmq_msg_close (&frame);
    return true;
}

//  Run whatever timer is due
static void
s_timers (zjob_worker_t *self)
{
    if (self->disconnected)
        return;
    int64_t now = zjob_mono_ms ();
    if (self->registered && self->rejoin) {
        s_register (self, false);       //  Draining: take back the broker's credit
        return;
    }
    if (self->registered) {
        //  The broker is presumed dead: reconnect at once. Unless a message
        //  waits, unread (the program was busy): it is a sign of life too
        if (now - self->last_heard > self->heartbeat_ms * self->liveness
        &&  !(zsock_events (self->sock) & ZMQ_POLLIN)) {
            s_register (self, true);
            return;
        }
        for (s_result_t *result = (s_result_t *) zlistx_first (self->results); result;
             result = (s_result_t *) zlistx_next (self->results))
            if (result->resend_at && now >= result->resend_at && !result->parked)
                s_result_post (self, result);
        if (now - self->last_sent >= self->heartbeat_ms) {
            zframe_t *frame = zjob_msg_empty_new (ZJOB_CMD_HEARTBEAT, self->next_id++);
            s_send_frame (self, &frame);
        }
    }
    else
    if (self->ready_id) {
        if (now >= self->ready_deadline) {
            //  No answer to READY: pause, growing, then a new connection
            self->ready_id = 0;
            self->retry_at = now + self->retry_ivl;
            self->retry_ivl = self->retry_ivl * 2 > ZJOB_WORKER_RECONNECT_MAX_MS
                            ? ZJOB_WORKER_RECONNECT_MAX_MS: self->retry_ivl * 2;
        }
    }
    else
    if (now >= self->retry_at)
        s_register (self, true);
}

int
zjob_worker_timeout (zjob_worker_t *self)
{
    if (zlistx_size (self->events) || (self->registered && self->rejoin)
    ||  (self->registered && self->results_due))
        return 0;
    int64_t now = zjob_mono_ms ();
    int64_t due;
    if (self->registered) {
        due = self->last_sent + self->heartbeat_ms;
        int64_t dead = self->last_heard + self->heartbeat_ms * self->liveness + 1;
        if (dead < due)
            due = dead;
        for (s_result_t *result = (s_result_t *) zlistx_first (self->results); result;
             result = (s_result_t *) zlistx_next (self->results))
            if (result->resend_at && !result->parked && result->resend_at < due)
                due = result->resend_at;
    }
    else
        due = self->ready_id? self->ready_deadline: self->retry_at;
    return due > now? (int) (due - now): 0;
}

//  --------------------------------------------------------------------------
//  The engine's public face

//  An endpoint without a transport ("127.0.0.1:5571") is a common slip that
//  libzmq reports only as "Invalid argument"; 0, or -1 with err filled
static int
s_check_endpoint (const char *endpoint, zjob_error_t *err)
{
    if (strstr (endpoint, "://"))
        return 0;
    return zjob_error_set (err, ZJOB_BAD_REQUEST, "bad endpoint \"%s\": an endpoint must "
                           "include a transport, e.g. tcp://%s", endpoint, endpoint);
}

zjob_worker_t *
zjob_worker_new (const char *endpoint, const char *name, const char *const *workflows,
                 size_t count, size_t slots, zjob_error_t *err)
{
    if (!endpoint || !*endpoint) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "no broker endpoint given");
        return NULL;
    }
    if (s_check_endpoint (endpoint, err))
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
                        ZJOB_WORKFLOWS_MAX, workflows? count: 0);
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
    bool ok = self->endpoint && self->name && self->workflows && self->sock && self->builder
           && self->tasks && self->results && self->events;
    for (size_t i = 0; ok && i < count; i++)
        ok = (self->workflows [i] = strdup (workflows [i])) != NULL;
    if (!ok) {
        zjob_worker_destroy (&self);
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    zlistx_set_destructor (self->results, s_result_destroy);
    zlistx_set_destructor (self->events, s_event_destroy);
    zuuid_t *uuid = zuuid_new ();
    snprintf (self->worker_id, sizeof (self->worker_id), "%s.%d.%.6s", name, (int) getpid (),
              uuid? zuuid_str (uuid): "000000");
    zuuid_destroy (&uuid);
    self->next_id = 1;
    self->heartbeat_ms = ZJOB_HEARTBEAT_MS;
    self->liveness = ZJOB_LIVENESS;
    self->retry_ivl = ZJOB_WORKER_RECONNECT_MIN_MS;
    const char *batch = getenv ("ZJOB_WORKER_BATCH");
    self->batch = !(batch && streq (batch, "0"));
    self->result_batch = 1;

    zjob_proto_socket_setup (self->sock);
    zsock_set_linger (self->sock, 0);
    if (zsock_connect (self->sock, "%s", endpoint) != 0) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "cannot connect to \"%s\": %s", endpoint,
                        zmq_strerror (zmq_errno ()));
        zjob_worker_destroy (&self);
        return NULL;
    }
    s_register (self, false);
    return self;
}

//  Say DISCONNECT once; the broker requeues what this worker still holds
static void
s_disconnect (zjob_worker_t *self, const char *reason)
{
    if (self->disconnected)
        return;
    if (self->registered) {
        s_begin (self, ZJOB_CMD_DISCONNECT);
        zjob_msg_add_str (self->builder, "reason", reason);
        s_send_built (self);
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
            s_disconnect (self, "worker closed");
        if (self->tasks) {
            for (zjob_task_t *task = (zjob_task_t *) zhashx_first (self->tasks); task;
                 task = (zjob_task_t *) zhashx_next (self->tasks))
                s_task_destroy (&task);
            zhashx_destroy (&self->tasks);
        }
        zlistx_destroy (&self->results);
        zlistx_destroy (&self->events);
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
    int64_t deadline = timeout_ms < 0? INT64_MAX: zjob_mono_ms () + timeout_ms;
    while (true) {
        s_event_t *event = (s_event_t *) zlistx_first (self->events);
        if (event) {
            int kind = event->kind;
            *task_p = event->task;
            zlistx_delete (self->events, zlistx_cursor (self->events));
            return kind;
        }
        //  The program has taken every event: what it finished goes out
        s_results_flush (self);
        s_timers (self);
        if (s_read (self))
            continue;
        int64_t now = zjob_mono_ms ();
        if (now >= deadline)
            return ZJOB_WORKER_NOTHING;
        int64_t wait = zjob_worker_timeout (self);
        if (deadline - now < wait)
            wait = deadline - now;
        if (zjob_proto_wait_input (self->sock, (int) wait) < 0)
            return zjob_error_set (err, ZJOB_UNAVAILABLE, "interrupted");
    }
}

//  Forget events still queued about task (it is about to be freed)
static void
s_forget_events (zjob_worker_t *self, zjob_task_t *task)
{
    for (s_event_t *event = (s_event_t *) zlistx_first (self->events); event;
         event = (s_event_t *) zlistx_next (self->events))
        if (event->task == task)
            zlistx_delete (self->events, zlistx_cursor (self->events));
}

//  The task ends here: unlink and free it. Returns true if the broker
//  still wants its result, and in *paused_p whether the job is paused
//  (its result must wait for RESUME). A cancelled task needs nothing
//  more: the OK to the broker's CANCEL gave its credit back.
static bool
s_task_end (zjob_worker_t *self, zjob_task_t **task_p, bool *paused_p)
{
    zjob_task_t *task = *task_p;
    pthread_mutex_lock (&self->lock);
    bool wanted = !task->cancelled && !task->dropped;
    if (paused_p)
        *paused_p = task->paused;
    pthread_mutex_unlock (&self->lock);
    zhashx_delete (self->tasks, task->job->id);
    s_forget_events (self, task);
    s_task_destroy (task_p);
    return wanted;
}

//  A task whose TASK event the program has not had yet, or NULL
static zjob_task_t *
s_unseen_task (zjob_worker_t *self)
{
    for (s_event_t *event = (s_event_t *) zlistx_first (self->events); event;
         event = (s_event_t *) zlistx_next (self->events))
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
        zsys_info ("zjob_worker: %s: job %s handed back unstarted: draining",
                   self->worker_id, unseen->job->id);
        s_task_end (self, &unseen, NULL);
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
        s_register (self, false);
    return 0;
}

int
zjob_worker_progress (zjob_worker_t *self, zjob_task_t *task, float progress,
                      const char *message)
{
    if (!task || zhashx_lookup (self->tasks, task->job->id) != task || task->cancelled
    ||  task->dropped)
        return -1;
    if (!(progress >= 0))               //  Also catches NaN
        progress = 0;
    if (progress > 1)
        progress = 1;
    if (self->registered) {
        s_begin (self, ZJOB_CMD_PROGRESS);
        zjob_msg_add_str (self->builder, "id", task->job->id);
        zjob_msg_add_float (self->builder, "progress", progress);
        if (message && strlen (message) <= ZJOB_MESSAGE_MAX)
            zjob_msg_add_str (self->builder, "message", message);
        s_send_built (self);
    }
    return 0;
}

//  End the task with a result, kept until the broker settles it. The
//  result copies what it needs first: kind and message may be the task's.
static int
s_finish (zjob_worker_t *self, zjob_task_t **task_p, const uint8_t *outputs, size_t size,
          const char *kind, const char *message, bool failed)
{
    s_result_t *result = (s_result_t *) zmalloc (sizeof (s_result_t));
    bool ok = result != NULL;
    if (ok) {
        snprintf (result->id, sizeof (result->id), "%s", (*task_p)->job->id);
        result->failed = failed;
        if (failed) {
            //  Cut to the protocol's limits rather than lose the result
            char kind_buf [ZJOB_NAME_MAX + 1];
            snprintf (kind_buf, sizeof (kind_buf), "%s", kind && *kind? kind: ZJOB_KIND_ERROR);
            char message_buf [ZJOB_MESSAGE_MAX + 1];
            snprintf (message_buf, sizeof (message_buf), "%s", message? message: "");
            result->error_kind = strdup (kind_buf);
            result->error_message = strdup (message_buf);
            ok = result->error_kind && result->error_message;
        }
        else
        if (outputs && size) {
            result->outputs = (uint8_t *) malloc (size);
            if ((ok = result->outputs != NULL)) {
                memcpy (result->outputs, outputs, size);
                result->outputs_size = size;
            }
        }
    }
    bool paused;
    bool wanted = s_task_end (self, task_p, &paused);
    if (!ok || !wanted) {
        void *item = result;
        s_result_destroy (&item);       //  Not wanted: the result is discarded
        return ok? 0: -1;
    }
    result->parked = paused;
    zlistx_add_end (self->results, result);
    if (self->registered && !result->parked) {
        s_result_post (self, result);
        //  Batching: while the program has events still to take (the rest
        //  of a JOB's jobs), its next recv sends this with the others
        if (zlistx_size (self->events) == 0 && !self->gathering)
            s_results_flush (self);
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
    else
    if (outputs && size && !zjob_msgpack_is_map (outputs, size))
        zjob_error_set (err, ZJOB_BAD_REQUEST, "outputs of %zu bytes are not one msgpack map",
                        size);
    else {
        if (s_finish (self, task_p, outputs, size, NULL, NULL, false) == 0)
            return 0;
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory keeping a result");
    }
    //  Outputs the broker would refuse: the job fails, saying why
    s_finish (self, task_p, NULL, 0, ZJOB_KIND_BAD_OUTPUT, err->text, true);
    return -1;
}

int
zjob_worker_fail (zjob_worker_t *self, zjob_task_t **task_p, const char *kind,
                  const char *message)
{
    if (!task_p || !*task_p)
        return -1;
    return s_finish (self, task_p, NULL, 0, kind, message, true);
}

//  Results the broker still has to settle (parked ones wait for RESUME)
static size_t
s_results_pending (zjob_worker_t *self)
{
    size_t pending = 0;
    for (s_result_t *result = (s_result_t *) zlistx_first (self->results); result;
         result = (s_result_t *) zlistx_next (self->results))
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
        s_results_flush (self);
        s_timers (self);
        if (!s_read (self)) {
            int wait = zjob_worker_timeout (self);
            if (zjob_proto_wait_input (self->sock, wait < left? wait: left) < 0)
                break;
        }
    }
    return s_results_pending (self)? -1: 0;
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

//  --------------------------------------------------------------------------
//  The simple API: a thread pool

//  What a handler thread reports to the run loop
typedef enum { REPORT_PROGRESS, REPORT_DONE } s_report_kind_t;
typedef struct {
    s_report_kind_t kind;
    zjob_task_t *task;
    float progress;                     //  PROGRESS
    char *message;                      //  PROGRESS, may be NULL
    uint8_t *outputs;                   //  DONE: the handler's buffer, NULL if it failed
    size_t size;
} s_report_t;

typedef struct {
    zjob_worker_t *worker;              //  The engine (its lock guards the queue)
    zjob_handler_fn *handler;           //  The program's handler and its argument
    void *arg;
    zlistx_t *queue;                    //  Tasks waiting for a thread
    size_t running;                     //  Handlers running now
    bool closing;                       //  Threads exit when they see it
    char endpoint [64];                 //  inproc endpoint of reports
    pthread_t *threads;                 //  One per slot
    size_t thread_count;                //  Threads started
} s_pool_t;

static void *
s_pool_thread (void *arg)
{
    s_pool_t *pool = (s_pool_t *) arg;
    zjob_worker_t *worker = pool->worker;
    zsock_t *pipe = zsock_new_push (pool->endpoint);
    while (pipe) {
        pthread_mutex_lock (&worker->lock);
        while (!pool->closing && zlistx_size (pool->queue) == 0)
            pthread_cond_wait (&worker->changed, &worker->lock);
        zjob_task_t *task = (zjob_task_t *) zlistx_first (pool->queue);
        if (task) {
            zlistx_detach_cur (pool->queue);
            pool->running++;
        }
        pthread_mutex_unlock (&worker->lock);
        if (!task)
            break;                      //  Closing, and nothing left to run

        task->pipe = pipe;
        s_report_t *report = (s_report_t *) zmalloc (sizeof (s_report_t));
        size_t size = 0;
        uint8_t *outputs = pool->handler (task, &size, pool->arg);
        task->pipe = NULL;
        if (report) {
            report->kind = REPORT_DONE;
            report->task = task;
            report->outputs = outputs;
            report->size = outputs? size: 0;
            if (zsock_send (pipe, "p", report) == 0)
                continue;
            free (report);
        }
        //  Cannot tell the loop: it will count the thread out anyway
        free (outputs);
        pthread_mutex_lock (&worker->lock);
        pool->running--;
        pthread_mutex_unlock (&worker->lock);
    }
    zsock_destroy (&pipe);
    return NULL;
}

int
zjob_task_progress (zjob_task_t *self, float progress, const char *message)
{
    if (zjob_task_cancelled (self))
        return -1;
    if (!self->pipe)                    //  Not in a pool: the engine's own thread
        return zjob_worker_progress (self->worker, self, progress, message);
    s_report_t *report = (s_report_t *) zmalloc (sizeof (s_report_t));
    if (!report)
        return -1;
    report->kind = REPORT_PROGRESS;
    report->task = self;
    report->progress = progress;
    report->message = message? strdup (message): NULL;
    if (zsock_send (self->pipe, "p", report) != 0) {
        free (report->message);
        free (report);
        return -1;
    }
    return 0;
}

//  Act on one report from a handler thread
static void
s_pool_report (s_pool_t *pool, s_report_t *report)
{
    zjob_worker_t *worker = pool->worker;
    zjob_task_t *task = report->task;
    if (report->kind == REPORT_PROGRESS)
        zjob_worker_progress (worker, task, report->progress, report->message);
    else {
        pthread_mutex_lock (&worker->lock);
        pool->running--;
        bool stopping = task->stopping;
        pthread_mutex_unlock (&worker->lock);
        if (report->outputs) {
            zjob_error_t error;
            zjob_worker_complete (worker, &task, report->outputs, report->size, &error);
        }
        else
        if (stopping)
            //  Interrupted by the stop: hand the job back, do not fail it
            s_task_end (worker, &task, NULL);
        else
            zjob_worker_fail (worker, &task, task->fail_kind? task->fail_kind: ZJOB_KIND_HANDLER,
                              task->fail_message? task->fail_message: "no outputs");
    }
    free (report->message);
    free (report->outputs);
    free (report);
}

//  Drain the reports waiting on pull
static void
s_pool_drain (s_pool_t *pool, zsock_t *pull)
{
    //  Their results go out together, in as few RESULTs as the broker takes
    pool->worker->gathering = true;
    //  Each report is one frame holding a pointer (zsock_send "p"): read
    //  without asking zsock_events first
    void *pointer = NULL;
    while (zmq_recv (zsock_resolve (pull), &pointer, sizeof (pointer), ZMQ_DONTWAIT)
           == (int) sizeof (pointer)) {
        if (pointer)
            s_pool_report (pool, (s_report_t *) pointer);
        pointer = NULL;
    }
    pool->worker->gathering = false;
    s_results_flush (pool->worker);
}

//  A task came, or the broker said something about one
static void
s_pool_event (s_pool_t *pool, int kind, zjob_task_t *task)
{
    zjob_worker_t *worker = pool->worker;
    pthread_mutex_lock (&worker->lock);
    if (kind == ZJOB_WORKER_TASK) {
        zlistx_add_end (pool->queue, task);
        pthread_cond_broadcast (&worker->changed);
        task = NULL;
    }
    else
    if (kind == ZJOB_WORKER_CANCEL && zlistx_find (pool->queue, task))
        zlistx_detach_cur (pool->queue);    //  Not started: end it here
    else
        task = NULL;                        //  Its handler sees the flags
    pthread_mutex_unlock (&worker->lock);
    if (task)
        s_task_end (worker, &task, NULL);
}

int
zjob_worker_run (zjob_worker_t *self, zjob_handler_fn *handler, void *arg, zjob_error_t *err)
{
    if (!handler)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "no handler");
    s_pool_t pool = { .worker = self, .handler = handler, .arg = arg, .queue = zlistx_new () };
    snprintf (pool.endpoint, sizeof (pool.endpoint), "inproc://zjob-worker-%p", (void *) self);
    zsock_t *pull = zsock_new_pull (pool.endpoint);
    pool.threads = (pthread_t *) calloc (self->slots, sizeof (pthread_t));
    int rc = 0;
    if (!pool.queue || !pull || !pool.threads)
        rc = zjob_error_set (err, ZJOB_INTERNAL, "cannot start the worker's thread pool");
    for (size_t i = 0; rc == 0 && i < self->slots; i++) {
        if (pthread_create (&pool.threads [i], NULL, s_pool_thread, &pool) != 0) {
            rc = zjob_error_set (err, ZJOB_INTERNAL, "cannot start handler thread %zu", i);
            break;
        }
        pool.thread_count++;
    }
    //  Serve until stopped or interrupted
    bool serving = rc == 0;
    while (serving && !self->stop && !zsys_interrupted) {
        zmq_pollitem_t items [] = {
            { zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0 },
            { zsock_resolve (pull), 0, ZMQ_POLLIN, 0 }
        };
        int wait = zjob_worker_timeout (self);
        zmq_poll (items, 2, wait < POLL_SLICE_MS? wait: POLL_SLICE_MS);
        s_pool_drain (&pool, pull);
        int kind;
        zjob_task_t *task;
        while ((kind = zjob_worker_recv (self, 0, &task, NULL)) > ZJOB_WORKER_NOTHING)
            s_pool_event (&pool, kind, task);
        if (kind < 0)
            serving = false;            //  Interrupted
    }
    //  Stop: end what has not started, tell the handlers (checkpoint
    //  returns -1), drain (which hands the unstarted jobs back and takes
    //  no more), and wait for the handlers to return
    pthread_mutex_lock (&self->lock);
    pool.closing = true;
    zlistx_t *unstarted = pool.queue? zlistx_dup (pool.queue): NULL;
    if (pool.queue)
        zlistx_purge (pool.queue);
    for (zjob_task_t *task = (zjob_task_t *) zhashx_first (self->tasks); task;
         task = (zjob_task_t *) zhashx_next (self->tasks))
        task->stopping = true;
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->lock);
    for (zjob_task_t *task = unstarted? (zjob_task_t *) zlistx_first (unstarted): NULL; task;
         task = (zjob_task_t *) zlistx_next (unstarted)) {
        zjob_task_t *doomed = task;
        s_task_end (self, &doomed, NULL);
    }
    zlistx_destroy (&unstarted);
    zjob_worker_drain (self);
    while (pull) {
        pthread_mutex_lock (&self->lock);
        size_t running = pool.running;
        pthread_mutex_unlock (&self->lock);
        if (running == 0)
            break;
        //  Keep the engine alive (heartbeats, answers) while handlers
        //  finish; drained, it gives no new task
        zjob_task_t *task;
        while (zjob_worker_recv (self, 0, &task, NULL) > ZJOB_WORKER_NOTHING)
            ;
        zmq_pollitem_t items [] = {
            { zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0 },
            { zsock_resolve (pull), 0, ZMQ_POLLIN, 0 }
        };
        zmq_poll (items, 2, POLL_SLICE_MS);
        s_pool_drain (&pool, pull);
    }
    for (size_t i = 0; i < pool.thread_count; i++)
        pthread_join (pool.threads [i], NULL);
    if (pull)
        s_pool_drain (&pool, pull);
    zjob_worker_flush (self, ZJOB_WORKER_LINGER_MS);
    s_disconnect (self, "worker stopped");
    zsock_destroy (&pull);
    zlistx_destroy (&pool.queue);
    free (pool.threads);
    return rc;
}

void
zjob_worker_stop (zjob_worker_t *self)
{
    self->stop = 1;
}
