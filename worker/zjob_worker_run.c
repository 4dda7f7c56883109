/*  =========================================================================
    zjob_worker_run - the simple worker API: a handler on a thread pool

    Inline (zjob_worker_set_inline, 1 slot): no pool. The handler runs on
    the calling thread, between two receives of the engine, which saves
    the two thread hops per job of the pool (the task to a pool thread on
    the queue, its result back over inproc): measured, the worker's CPU per
    no-op job fell from 115 - 143 us to 68 - 74 us. The engine waits while
    the handler runs, so zjob_task_progress, _checkpoint, _cancelled and
    _paused, called from the handler, let it read what came and run its
    timers (heartbeats); a pause is waited out in checkpoint the same way.

    Threads. The engine and its socket belong to one thread. A task's
    paused/cancelled/stopping flags are the only state another thread may
    touch, and they sit under one mutex with a condition variable that
    zjob_task_checkpoint waits on. zjob_worker_run keeps the engine on the
    calling thread and runs handlers on a pool: tasks go to the pool on a
    queue under the same mutex, and handlers send their progress and
    results back as pointers over an inproc PUSH/PULL pair, which the run
    loop polls next to the broker's socket.

    On zjob_worker_stop (a flag, safe from a signal handler, read every
    POLL_SLICE_MS) the loop drains the engine and lets the handlers that
    still run finish, as zjob_worker.h says.
    ========================================================================= */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include "zjob_worker_impl.h"

#define POLL_SLICE_MS (ZJOB_HEARTBEAT_MS / 10)  //  msecs between checks of the stop flag

//  --------------------------------------------------------------------------
//  The simple API: a thread pool

//  What a handler thread reports to the run loop
typedef enum { REPORT_PROGRESS,
               REPORT_DONE } s_report_kind_t;
typedef struct {
    s_report_kind_t kind;
    zjob_task_t *task;
    float progress;    //  PROGRESS
    char *message;     //  PROGRESS, may be NULL
    uint8_t *outputs;  //  DONE: the handler's buffer, NULL if it failed
    size_t size;
} s_report_t;

typedef struct {
    zjob_worker_t *worker;     //  The engine (its lock guards the queue)
    zjob_handler_fn *handler;  //  The program's handler and its argument
    void *arg;
    zlistx_t *queue;      //  Tasks waiting for a thread
    size_t running;       //  Handlers running now
    bool closing;         //  Threads exit when they see it
    char endpoint [64];   //  inproc endpoint of reports
    pthread_t *threads;   //  One per slot
    size_t thread_count;  //  Threads started
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
            break;  //  Closing, and nothing left to run

        task->pipe = pipe;
        s_report_t *report = (s_report_t *) zmalloc (sizeof (s_report_t));
        size_t size = 0;
        uint8_t *outputs = pool->handler (task, &size, pool->arg);
        task->pipe = NULL;
        if (report) {
            report->kind = REPORT_DONE;
            report->task = task;
            report->outputs = outputs;
            report->size = outputs ? size : 0;
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
    if (!self->pipe)  //  Not in a pool: the engine's own thread
        return zjob_worker_progress (self->worker, self, progress, message);
    s_report_t *report = (s_report_t *) zmalloc (sizeof (s_report_t));
    if (!report)
        return -1;
    report->kind = REPORT_PROGRESS;
    report->task = self;
    report->progress = progress;
    report->message = message ? strdup (message) : NULL;
    if (zsock_send (self->pipe, "p", report) != 0) {
        free (report->message);
        free (report);
        return -1;
    }
    return 0;
}

//  A handler returned outputs (NULL: it failed, or stopped): end its task
static void
s_task_done (zjob_worker_t *worker, zjob_task_t *task, const uint8_t *outputs, size_t size,
             bool stopping)
{
    if (outputs) {
        zjob_error_t error;
        zjob_worker_complete (worker, &task, outputs, size, &error);
    }
    else if (stopping)
        //  Interrupted by the stop: hand the job back, do not fail it
        zjob_worker_task_end (worker, &task, NULL);
    else if (task->fail_permanent)
        zjob_worker_fail_permanent (worker, &task, task->fail_kind, task->fail_message);
    else
        zjob_worker_fail (worker, &task, task->fail_kind ? task->fail_kind : ZJOB_KIND_HANDLER,
                          task->fail_message ? task->fail_message : "no outputs");
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
        s_task_done (worker, task, report->outputs, report->size, stopping);
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
    zjob_worker_results_flush (pool->worker);
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
    else if (kind == ZJOB_WORKER_CANCEL && zlistx_find (pool->queue, task))
        zlistx_detach_cur (pool->queue);  //  Not started: end it here
    else
        task = NULL;  //  Its handler sees the flags
    pthread_mutex_unlock (&worker->lock);
    if (task)
        zjob_worker_task_end (worker, &task, NULL);
}

//  --------------------------------------------------------------------------
//  One slot, the handler on the engine's thread (zjob_worker_set_inline)

void
zjob_worker_set_inline (zjob_worker_t *self, bool on)
{
    self->inline_asked = on;
}

bool
zjob_worker_inline (zjob_task_t *task)
{
    zjob_worker_t *worker = task->worker;
    return worker->inline_task == task && pthread_equal (worker->inline_thread, pthread_self ());
}

void
zjob_worker_inline_pump (zjob_task_t *task, int wait_ms)
{
    zjob_worker_t *worker = task->worker;
    zjob_worker_timers (worker);
    //  What came is read (PAUSE, CANCEL, the answers to RESULTs...); the
    //  events it queues are forgotten when the task ends, or wait for recv
    int got;
    while ((got = zjob_worker_read_wait (worker, 0)) > 0)
        ;
    if (got == 0 && wait_ms > 0) {
        int due = zjob_worker_timeout (worker);
        zjob_worker_read_wait (worker, due < wait_ms ? due : wait_ms);
    }
    if ((worker->stop || zsys_interrupted) && !task->stopping)
        zjob_worker_task_flag (task, &task->stopping, true);
}

int
zjob_worker_inline_checkpoint (zjob_task_t *task)
{
    zjob_worker_inline_pump (task, 0);
    //  The flags change only here, on this thread: no lock needed to wait
    while (task->paused && !task->cancelled && !task->dropped && !task->stopping)
        zjob_worker_inline_pump (task, POLL_SLICE_MS);
    return task->cancelled || task->dropped || task->stopping ? -1 : 0;
}

//  Serve with the handler on this thread until stopped or interrupted
static void
s_run_inline (zjob_worker_t *self, zjob_handler_fn *handler, void *arg)
{
    self->inline_thread = pthread_self ();
    while (!self->stop && !zsys_interrupted) {
        zjob_task_t *task;
        int kind = zjob_worker_recv (self, POLL_SLICE_MS, &task, NULL);
        if (kind < 0)
            break;  //  Interrupted
        if (kind != ZJOB_WORKER_TASK)
            continue;  //  About a task that ended: it ran to its end here
        self->inline_task = task;
        size_t size = 0;
        uint8_t *outputs = handler (task, &size, arg);
        self->inline_task = NULL;
        //  As in the pool: a NULL after the stop hands the job back
        bool stopping = task->stopping || self->stop || zsys_interrupted;
        s_task_done (self, task, outputs, outputs ? size : 0, stopping);
        free (outputs);
    }
    zjob_worker_drain (self);
    zjob_worker_flush (self, ZJOB_WORKER_LINGER_MS);
    zjob_worker_disconnect (self, "worker stopped");
}

int
zjob_worker_run (zjob_worker_t *self, zjob_handler_fn *handler, void *arg, zjob_error_t *err)
{
    if (!handler)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "no handler");
    if (self->inline_asked && self->slots == 1) {
        s_run_inline (self, handler, arg);
        return 0;
    }
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
        zmq_poll (items, 2, wait < POLL_SLICE_MS ? wait : POLL_SLICE_MS);
        s_pool_drain (&pool, pull);
        int kind;
        zjob_task_t *task;
        while ((kind = zjob_worker_recv (self, 0, &task, NULL)) > ZJOB_WORKER_NOTHING)
            s_pool_event (&pool, kind, task);
        if (kind < 0)
            serving = false;  //  Interrupted
    }
    //  Stop: end what has not started, tell the handlers (checkpoint
    //  returns -1), drain (which hands the unstarted jobs back and takes
    //  no more), and wait for the handlers to return
    pthread_mutex_lock (&self->lock);
    pool.closing = true;
    zlistx_t *unstarted = pool.queue ? zlistx_dup (pool.queue) : NULL;
    if (pool.queue)
        zlistx_purge (pool.queue);
    for (zjob_task_t *task = (zjob_task_t *) zhashx_first (self->tasks); task;
         task = (zjob_task_t *) zhashx_next (self->tasks))
        task->stopping = true;
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->lock);
    for (zjob_task_t *task = unstarted ? (zjob_task_t *) zlistx_first (unstarted) : NULL; task;
         task = (zjob_task_t *) zlistx_next (unstarted)) {
        zjob_task_t *doomed = task;
        zjob_worker_task_end (self, &doomed, NULL);
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
    zjob_worker_disconnect (self, "worker stopped");
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
