/*  =========================================================================
    zjob_worker_impl - what the worker engine's files share, and nobody else

    The worker library is four files over one engine: zjob_worker.c (the
    tasks and the engine's public face: new, recv, complete, drain...),
    zjob_worker_session.c (the conversation with the broker: sending,
    results kept until settled, registration, receiving, timers),
    zjob_worker_prefetch.c (the buffer of jobs beyond the slots, and the
    credit that sizes it) and zjob_worker_run.c (zjob_worker_run's thread
    pool). They share the
    structs below and the calls declared here; everything else is static.
    This header is private to worker/: it is not installed, and libzjob
    exports none of it (its symbols are hidden like every undeclared one).
    ========================================================================= */

#ifndef ZJOB_WORKER_IMPL_H_INCLUDED
#define ZJOB_WORKER_IMPL_H_INCLUDED

#include <pthread.h>
#include <stdatomic.h>
#include "zjob_worker.h"
#include "zjob_proto.h"
#include "zjob_handshake.h"

struct _zjob_task_t {
    zjob_job_t *job;        //  As dispatched; one reference
    zjob_worker_t *worker;  //  The engine that holds it
    //  Under worker->lock
    bool paused;          //  The broker said PAUSE (and no RESUME since)
    bool cancelled;       //  The broker said CANCEL: no result is wanted
    bool dropped;         //  The broker gave it to another worker
    bool stopping;        //  zjob_worker_run is stopping
    char *cancel_reason;  //  The CANCEL's reason (set once), or NULL
    //  Engine thread only
    zjob_job_t *successor;  //  A later attempt of the same job, sent while
                            //  this cancelled one still runs: it starts
                            //  when this task ends. NULL if none
    bool successor_paused;  //  The broker paused that later attempt
    bool given;             //  Its TASK event went to the program (counted in
                            //  worker->given); else it waits in the buffer
    uint64_t seq;           //  Arrival order, for the buffer's order
    int64_t given_us;       //  mono usecs it was given, for the service time
    //  Run mode, owned by the handler thread while it runs the task
    zsock_t *pipe;        //  The handler thread's PUSH to the run loop
    char *fail_kind;      //  Set by zjob_task_fail, or NULL
    char *fail_message;   //
    bool fail_permanent;  //  Set by zjob_task_fail_permanent
};

//  A result the broker has not settled yet
typedef struct {
    char id [ZJOB_ID_LEN + 1];  //  The job's id
    bool failed;                //  Else completed
    uint8_t *outputs;           //  Completed: a copy of the outputs, or NULL
    size_t outputs_size;
    char *error_kind;  //  Failed: copies, never NULL
    char *error_message;
    uint32_t attempt;     //  The attempt it ends (the JOB map's att), 0 if unknown
    bool permanent;       //  Failed, and never to be retried
    uint64_t request_id;  //  Of the RESULT last sent, 0 if not sent
    int64_t resend_at;    //  mono ms to send again (after a 5xx); 0 = not due
    bool parked;          //  The job is paused: held back until RESUME
    bool due;             //  Batching: goes out with the next RESULT
    bool released;        //  Prefetch: a RESULT carrying it was answered, so
                          //  the broker holds the job no more (until a READY
                          //  lists it again): a resend frees no window
} zjob_worker_result_t;

//  Something recv has for the program
typedef struct {
    zjob_worker_event_t kind;
    zjob_task_t *task;
} zjob_worker_notice_t;

struct _zjob_worker_t {
    char *endpoint;                      //  The broker's workers endpoint
    char *name;                          //  As given
    char worker_id [ZJOB_NAME_MAX + 1];  //  name.pid.random, fixed for life
    char **workflows;                    //  workflow_count names served
    size_t workflow_count;
    size_t slots;                 //  Jobs run at once
    zsock_t *sock;                //  DEALER to the broker
    zjob_msg_builder_t *builder;  //  Reused for every message
    uint64_t next_id;             //  Id of the next message sent (from 1, never reset)

    bool registered;                      //  The broker acknowledged our READY
    uint64_t ready_id;                    //  Id of the READY awaiting its answer, 0 if none
    uint64_t last_ready_id;               //  Id of the latest READY sent
    size_t readies;                       //  READYs sent so far
    int64_t ready_deadline;               //  mono ms when an unanswered READY is given up
    zframe_t *ready_frame;                //  That READY, not sent yet: a list of endpoints
                                          //  none of which is connected (ZMQ_IMMEDIATE);
                                          //  sent as soon as one is, until ready_deadline
    int64_t retry_at;                     //  mono ms to reconnect and send READY, when none waits
    int retry_ivl;                        //  msecs of the next backoff pause
    int64_t heartbeat_ms;                 //  msecs between heartbeats, from the broker
    int64_t liveness;                     //  Heartbeats missed before the broker is dead
    int64_t last_heard;                   //  mono ms we last heard from the broker
    int64_t last_sent;                    //  mono ms we last sent to the broker
    int64_t lost_at;                      //  mono ms the broker was found lost, 0 if
                                          //  not: one warning per loss, and "back"
    bool draining;                        //  zjob_worker_drain: take no more jobs
    bool rejoin;                          //  Draining, and the broker may have credit for
                                          //  us: send READY again (or DISCONNECT)
    bool disconnected;                    //  DISCONNECT sent; nothing more goes out
    bool batch;                           //  Announce batching in READY (unless
                                          //  ZJOB_WORKER_BATCH=0 in the environment)
    size_t result_batch;                  //  Results per RESULT the broker takes (its
                                          //  READY answer's batch; 1: one at a time)
    bool results_due;                     //  Some result waits for zjob_worker_results_flush
    zjob_worker_result_t **flush_chosen;  //  zjob_worker_results_flush's scratch: the results
    zjob_result_t *flush_items;           //  of one RESULT, as kept and as the wire's
    size_t flush_max;                     //  results; entries allocated in each (grown up
                                          //  to the batch)
    bool gathering;                       //  zjob_worker_run is ending several tasks:
                                          //  their results go out together after

    //  Prefetch (zjob_worker_prefetch.c): jobs held beyond the slots
    int prefetch_want;        //  ZJOB_PREFETCH_AUTO, or 0..ZJOB_PREFETCH_MAX
    size_t prefetch_granted;  //  The broker's ceiling (READY's OK), 0 if none
    size_t prefetch;          //  Jobs beyond the slots wanted now (<= granted)
    int64_t window;           //  Jobs the broker may have out to us (its
                              //  credit plus the jobs of ours it holds), as
                              //  counted here; kept near slots + prefetch
    size_t ready_listed;      //  Jobs the latest READY listed
    zlistx_t *given_back;     //  Ids of jobs handed back unstarted, oldest
                              //  first, for READY's (or DISCONNECT's) release
    size_t ready_released;    //  How many of them the latest READY released
    zlistx_t *buffer;         //  Tasks held, not given: best first
    size_t given;             //  Tasks given to the program, not ended
    uint64_t arrivals;        //  Tasks taken so far (the next seq)
    double rtt_us;            //  Smoothed round trip in usecs, 0 = none yet
    double service_us;        //  Smoothed usecs from giving a task to its end
    uint64_t probe_id;        //  Request timed for the round trip, 0 = none
    int64_t probe_us;         //  mono usecs it was sent
    int64_t busy_from_us;     //  mono usecs recv last gave the program an
                              //  event (it has the engine's thread), 0 if not
    int64_t blind_us;         //  usecs the program kept the engine from its
                              //  socket before this recv: an answer read now
                              //  may have waited that long

    zhashx_t *tasks;    //  job id -> zjob_task_t, handed out, not ended
                        //  (given to the program, or in the buffer)
    zlistx_t *results;  //  zjob_worker_result_t, oldest first
    zlistx_t *events;   //  zjob_worker_notice_t waiting for recv

    pthread_mutex_t lock;    //  Guards the tasks' state flags
    pthread_cond_t changed;  //  Broadcast when a flag changes
    atomic_int stop;         //  Set by zjob_worker_stop (lock-free: signal-safe)

    zjob_handshake_t *handshake;           //  With a certificate: the handshakes, else NULL
    zjob_handshake_state_t handshake_was;  //  The state last logged

    //  zjob_worker_set_inline (zjob_worker_run.c)
    bool inline_asked;         //  1 slot's handler on the engine's thread
    zjob_task_t *inline_task;  //  The task whose handler runs there now, or NULL
    pthread_t inline_thread;   //  That thread (zjob_worker_run's caller)
};


//  --------------------------------------------------------------------------
//  zjob_worker.c: tasks and the engine

//  A task of worker holding job (the task takes the caller's reference),
//  or NULL if out of memory (the caller keeps it); not yet in worker->tasks
zjob_task_t *
zjob_worker_task_new (zjob_worker_t *worker, zjob_job_t *job);

//  Set one of a task's flags (under the worker's lock) and wake whoever
//  waits on it
void
zjob_worker_task_flag (zjob_task_t *task, bool *flag, bool value);

//  The task ends here: unlink and free it. Returns true if the broker
//  still wants its result, and in *paused_p whether the job is paused
//  (its result must wait for RESUME).
bool
zjob_worker_task_end (zjob_worker_t *self, zjob_task_t **task_p, bool *paused_p);

//  Say DISCONNECT once; the broker requeues what this worker still holds
void
zjob_worker_disconnect (zjob_worker_t *self, const char *reason);

//  With CURVE, read the handshake's events and log a change of its state
//  (once per change: a refused key is retried with every READY)
void
zjob_worker_handshake_check (zjob_worker_t *self);

//  Forget a task's later attempt waiting for it (see zjob_worker_session.c,
//  "A JOB for a job still held"), if any
void
zjob_worker_successor_drop (zjob_task_t *task);


//  --------------------------------------------------------------------------
//  zjob_worker_prefetch.c: the buffer beyond the slots, and its size

//  Set up a new engine's buffer, and the prefetch asked for in the
//  environment (ZJOB_WORKER_PREFETCH=N|auto|0; unset: auto)
void
zjob_worker_prefetch_init (zjob_worker_t *self);

//  The prefetch auto sizes for a round trip and a service time (usecs, 0
//  if not measured yet) over slots, within ceiling: the jobs the slots
//  finish in one round trip, rounded up; none before both are measured or
//  when that is under half a job (slow jobs gain nothing from a buffer)
size_t
zjob_worker_prefetch_size (double rtt_us, double service_us, size_t slots, size_t ceiling);

//  READY's `prefetch`: the ceiling asked, 0 for none (the key left out)
size_t
zjob_worker_prefetch_ask (zjob_worker_t *self);

//  READY's OK came: the grant (absent: an older broker, none), and the
//  window it leaves (the jobs kept of those listed, plus the credit)
void
zjob_worker_prefetch_granted (zjob_worker_t *self, zjob_msg_t *ok, size_t dropped);

//  The credit a RESULT of count results gives back, held of them still
//  held by the broker; it moves the window towards slots + prefetch
uint64_t
zjob_worker_prefetch_credit (zjob_worker_t *self, size_t count, size_t held);

//  Raise the broker's credit to the window wanted, with a CREDIT, if it is
//  short of it (after READY's OK, a larger prefetch)
void
zjob_worker_prefetch_top_up (zjob_worker_t *self);

//  A request was sent (READY, RESULT): time it for the round trip unless
//  one is timed already; its answer came: take the sample
void
zjob_worker_probe_sent (zjob_worker_t *self, uint64_t request_id);
void
zjob_worker_probe_answered (zjob_worker_t *self, uint64_t request_id);

//  Put a task the broker sent in the buffer (best first: priority, then
//  arrival); zjob_worker_buffer_release gives the program what fits
void
zjob_worker_buffer_add (zjob_worker_t *self, zjob_task_t *task);

//  Give the program the best startable (not paused) buffered tasks while
//  it has fewer than slots
void
zjob_worker_buffer_release (zjob_worker_t *self);

//  The engine hands job id back unstarted (drain, a JOB while draining):
//  the next READY or DISCONNECT lists it in release, so the broker
//  queues it again without an attempt (PROTOCOL.md 10.2). At most
//  ZJOB_PREFETCH_MAX are kept; past that the oldest goes (the broker then
//  counts it lost, as an older broker does every one)
void
zjob_worker_give_back (zjob_worker_t *self, const char *id);

//  Fill ids (borrowed, up to max) with the jobs handed back, but any held
//  again; returns their number. *walked_p: how many entries that took
size_t
zjob_worker_given_back (zjob_worker_t *self, const char **ids, size_t max, size_t *walked_p);

//  READY's OK: the broker has the jobs that READY released; forget them
void
zjob_worker_given_back_settled (zjob_worker_t *self);

//  A task leaves the engine: out of the buffer, or out of the program's
//  count (and its time given to ended measured, if wanted is true)
void
zjob_worker_buffer_forget (zjob_worker_t *self, zjob_task_t *task, bool wanted);

//  zjob_worker_run.c: handlers on the engine's thread (zjob_worker_set_inline)

//  True if the caller is task's handler running on the engine's thread:
//  the engine waits for it, so the task calls below keep it going
bool
zjob_worker_inline (zjob_task_t *task);

//  From such a handler: read what the broker sent and run the engine's
//  timers (heartbeats), waiting for a message at most wait_ms; notes a
//  zjob_worker_stop as the task's stopping flag
void
zjob_worker_inline_pump (zjob_task_t *task, int wait_ms);

//  zjob_task_checkpoint from such a handler: waits out a pause while
//  keeping the engine going. 0 to go on, -1 cancelled or stopping.
int
zjob_worker_inline_checkpoint (zjob_task_t *task);


//  --------------------------------------------------------------------------
//  zjob_worker_session.c: the conversation with the broker

//  Begin a message in self->builder with the next request id; returns it
uint64_t
zjob_worker_begin (zjob_worker_t *self, zjob_cmd_t cmd);

//  Finish the message in the builder and send it
void
zjob_worker_send_built (zjob_worker_t *self);

//  zlistx destructor of a kept result (zjob_worker_result_t)
void
zjob_worker_result_destroy (void **item_p);

//  Send a kept result: at once, or, when the broker takes several results
//  in one RESULT, with the others due at the next zjob_worker_results_flush
void
zjob_worker_result_post (zjob_worker_t *self, zjob_worker_result_t *result);

//  Send the results that are due, in as few RESULTs as the broker's batch
//  allows
void
zjob_worker_results_flush (zjob_worker_t *self);

//  Send READY with the jobs still held; with reconnect, on a new
//  connection. While draining with nothing to list, DISCONNECT instead.
void
zjob_worker_register (zjob_worker_t *self, bool reconnect);

//  zlistx destructor of a queued event (zjob_worker_notice_t)
void
zjob_worker_event_destroy (void **item_p);

//  Queue an event for recv to give the program
void
zjob_worker_queue_event (zjob_worker_t *self, zjob_worker_event_t kind, zjob_task_t *task);

//  Read one message from the broker without blocking, and handle it.
//  Returns true if a message was read (handled or dropped), false if none
//  was waiting.
bool
zjob_worker_read (zjob_worker_t *self);

//  The same, waiting for a message at most timeout_ms (0: not at all).
//  Returns 1 if a message was read (handled or dropped), 0 if none came,
//  -1 if the wait was interrupted.
int
zjob_worker_read_wait (zjob_worker_t *self, int timeout_ms);

//  Run whatever timer is due
void
zjob_worker_timers (zjob_worker_t *self);

#endif
