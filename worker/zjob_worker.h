/*  =========================================================================
    zjob_worker - the worker API of libzjob: take jobs, report, stay alive

    A worker is one DEALER socket connected to the broker's workers
    endpoint. It registers with READY for one or more workflows and a
    number of slots (the jobs it runs at once); the broker then pushes JOB
    messages while the worker has free slots, and the worker answers each
    job with one RESULT (outputs or an error), reporting PROGRESS on the
    way. The broker also tells the worker to PAUSE, RESUME or CANCEL a job
    it holds.

    Two levels. The engine (zjob_worker_new, zjob_worker_recv, and
    zjob_worker_progress/complete/fail) is single-threaded and pollable:
    a program with its own loop (zjob-worker runs a child process per job)
    polls zjob_worker_sock next to its own descriptors and calls recv with
    timeout 0 when the socket is readable or zjob_worker_timeout has run
    out. Everything that keeps the worker alive happens inside recv:
    heartbeats, the broker's liveness, credit, re-registration and
    reconnection. zjob_worker_run is the simple level on top: it calls a
    handler for each job on a pool of one thread per slot, while the
    socket stays on the calling thread.

    Reliability. A result is kept until the broker settles it (OK, or an
    ERROR saying it will never take it; a 5xx is retried), and sent again
    after a reconnection: if the broker restarted, it learns again, from
    the worker's READY, which jobs this worker still holds, so a job
    finished while the broker was down is completed by its result rather
    than run twice. The broker is presumed dead when it has sent nothing (anything
    counts, even a message the worker cannot decode) for `liveness`
    heartbeat intervals (both figures come from its answer to READY;
    ZJOB_LIVENESS and ZJOB_HEARTBEAT_MS until then); the worker then
    reconnects its socket and sends READY, again after pauses growing from
    ZJOB_WORKER_RECONNECT_MIN_MS to ZJOB_WORKER_RECONNECT_MAX_MS while READY
    goes unanswered. A broker that does not know the worker (it restarted,
    or gave the worker up for dead) says so, and the worker registers again
    at once.

    Prefetch. A worker may let the broker send it jobs beyond its slots
    (PROTOCOL.md 10.2, READY's `prefetch`), so that a slot that frees
    finds its next job here rather than waiting a round trip to the
    broker: what a worker far from the broker needs. The engine keeps
    those jobs in a buffer and never gives the program more than `slots`
    tasks at once; it takes the buffer best first (priority, then
    arrival), so a high-priority job that comes while low-priority ones
    wait is started first. For the broker a buffered job is held, and
    running, like any other: PAUSE keeps it buffered and not startable
    until RESUME, CANCEL removes it (the program never sees it), a lost
    worker's buffer is queued again by the broker, and a drain hands it
    back (READY's release: queued again without an attempt). How many: zjob_worker_set_prefetch, or ZJOB_WORKER_PREFETCH in
    the environment; by default the engine sizes it from what it
    measures (ZJOB_PREFETCH_AUTO).

    Tasks. A task is one job as handed to this worker: its id, workflow,
    inputs, attempt and priority. It stays valid until the program reports
    its end with zjob_worker_complete or zjob_worker_fail (in run, until
    the handler returns). A cancelled task must still be ended this way;
    its result is then not sent, since the broker no longer wants it. A
    task that ends while paused keeps its result until the job is resumed
    (the broker refuses results of paused jobs), or drops it if cancelled.

    Attempts and failures (the retry policy is the broker's). Every result
    names the attempt it ends (the JOB map's `att`, zjob_task_attempt), so
    the broker can tell a late result of an attempt it already timed out
    from the current one. A failure is retried by the broker while the
    job's policy allows; zjob_worker_fail_permanent (zjob_task_fail_permanent
    in a handler) fails the job for good instead, for an input that can
    never succeed. A CANCEL may say why (zjob_task_cancel_reason: a
    client, or the job's timeout) and name the attempt it stops; one that
    names another attempt than the one held is about an earlier attempt,
    and is answered 404 and ignored. A JOB for a job still held is ignored
    (PROTOCOL.md 10.3), but for one exception: a later attempt of a job
    whose task was cancelled (a timeout, say) but has not ended yet is
    kept, and reaches the program as a new task once the old one ends, so
    that two attempts of one job never run at once in one worker and the
    broker's dispatch is never lost.
    ========================================================================= */

#ifndef ZJOB_WORKER_H_INCLUDED
#define ZJOB_WORKER_H_INCLUDED

#include <czmq.h>
#include "zjob_export.h"
#include "zjob_version.h"
#include "zjob_error.h"
#include "zjob_job.h"
#include "zjob_msg.h"
#include "zjob_connect.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_WORKER_RECONNECT_MIN_MS 100   //  msecs before the first reconnection
#define ZJOB_WORKER_RECONNECT_MAX_MS 2000  //  msecs between reconnections, at most
#define ZJOB_WORKER_LINGER_MS 2000         //  msecs stop waits for results to be acked
//  zjob_worker_set_prefetch: size the prefetch from the round trip and
//  the jobs' service time
#define ZJOB_PREFETCH_AUTO (-1)

//  Error kinds (a RESULT's error_kind, PROTOCOL.md 10.5). A program names
//  its own; those zjob's own components produce are snake_case, and are:
#define ZJOB_KIND_ERROR "error"  //  A failure given no kind (libzjob, broker)
//  Outputs not one msgpack map, or too large
//  (zjob_worker_complete); stdout not one
//  JSON object, or too large (zjob-worker)
#define ZJOB_KIND_BAD_OUTPUT "bad_output"
//  A zjob_worker_run handler returned NULL
//  without zjob_task_fail
#define ZJOB_KIND_HANDLER "handler"
#define ZJOB_KIND_BAD_INPUT "bad_input"  //  zjob-worker: inputs not expressible as JSON
#define ZJOB_KIND_EXIT "exit"            //  zjob-worker: the command exited non-zero
#define ZJOB_KIND_SIGNAL "signal"        //  zjob-worker: the command died by a signal
#define ZJOB_KIND_EXEC "exec"            //  zjob-worker: the command cannot be executed
//  zjob-worker: the command ran past --timeout
//  or the job's timeout; broker: the attempt
//  ran past the job's timeout_ms
#define ZJOB_KIND_TIMEOUT "timeout"
#define ZJOB_KIND_SPAWN "spawn"  //  zjob-worker: no process could be started
//  Broker: the worker was lost on the job's
//  last attempt (max_attempts)
#define ZJOB_KIND_WORKER_LOST "worker_lost"

//  Why the broker cancelled a task (zjob_task_cancel_reason, CANCEL's
//  reason, PROTOCOL.md 10.8); a newer broker may name others
#define ZJOB_REASON_CANCELLED "cancelled"  //  A client cancelled the job
#define ZJOB_REASON_TIMEOUT "timeout"      //  The attempt ran past the job's timeout
//  No progress for the job's heartbeat timeout
#define ZJOB_REASON_HEARTBEAT_TIMEOUT "heartbeat_timeout"

typedef struct _zjob_worker_t zjob_worker_t;
typedef struct _zjob_task_t zjob_task_t;

//  What zjob_worker_recv has for the program
typedef enum {
    ZJOB_WORKER_NOTHING = 0,  //  Nothing within the timeout
    ZJOB_WORKER_TASK,         //  A new task to run
    ZJOB_WORKER_PAUSE,        //  Pause the task (it stays held)
    ZJOB_WORKER_RESUME,       //  Resume the paused task
    ZJOB_WORKER_CANCEL        //  Stop the task; its result is not wanted
} zjob_worker_event_t;

//  --------------------------------------------------------------------------
//  The engine

//  Connect to the broker's workers endpoint and register as name for
//  count workflows (1..ZJOB_WORKFLOWS_MAX) with slots jobs at once
//  (1..ZJOB_SLOTS_MAX). Registration completes inside recv: the broker
//  need not be up yet. Returns NULL with err filled (ZJOB_BAD_REQUEST)
//  for a bad name, workflow, count or slots, or an endpoint that cannot be
//  used (one without a transport is told so: "e.g. tcp://..."). Any number
//  of threads may create workers and clients at once: CZMQ is set up once,
//  before the first socket (zjob_czmq_init).
ZJOB_EXPORT zjob_worker_t *
zjob_worker_new (const char *endpoint, const char *name, const char *const *workflows,
                 size_t count, size_t slots, zjob_error_t *err);

//  As zjob_worker_new, with the CURVE options of opts (NULL, or no cert:
//  as zjob_worker_new); a bad certificate or broker key fails here with
//  ZJOB_BAD_REQUEST (zjob_connect_apply). A handshake the broker refuses
//  (the key is not in its worker list) or that breaks off (a wrong broker
//  key, a broker without CURVE) is no error of recv: the worker logs it at
//  warning, once per change, reports it with zjob_worker_error, and keeps
//  trying with each READY (a broker that reloads its keys may take it).
//  Since libzjob 0.5.0.
ZJOB_EXPORT zjob_worker_t *
zjob_worker_new_with (const char *endpoint, const char *name, const char *const *workflows,
                      size_t count, size_t slots, const zjob_connect_opts_t *opts,
                      zjob_error_t *err);

//  How many jobs the broker may send beyond the slots, buffered until a
//  slot frees (see Prefetch above): 0 (none: the broker sends a job only
//  for a free slot), 1 to ZJOB_PREFETCH_MAX, or ZJOB_PREFETCH_AUTO (the
//  default, or the environment's ZJOB_WORKER_PREFETCH=N|auto|0): the jobs
//  the slots finish in one round trip to the broker, measured (the answer
//  to each RESULT) over the time a task takes from being given to the
//  program to its end; none until both are measured, and none while that
//  is under half a job (slow jobs, a broker near by: nothing to gain, and
//  a buffer would keep jobs from idle workers). The broker may grant less
//  (zjobd --max-prefetch; slots + prefetch is at most ZJOB_SLOTS_MAX) and
//  an older broker none. The READY that zjob_worker_new sends asks for
//  what the environment says (auto asks the most, ZJOB_PREFETCH_MAX, and
//  0 asks none, as a worker without prefetch); this call applies at once
//  within what the broker granted, and in full from the next READY.
//  Returns 0, or -1 for a value out of range. Since libzjob 0.6.0.
ZJOB_EXPORT int
zjob_worker_set_prefetch (zjob_worker_t *self, int prefetch);

//  The jobs the worker lets the broker send beyond its slots now: what it
//  asked, within the broker's grant; with ZJOB_PREFETCH_AUTO, the size it
//  measured last. Since libzjob 0.6.0.
ZJOB_EXPORT size_t
zjob_worker_prefetch (zjob_worker_t *self);

//  Say DISCONNECT to the broker (which requeues the jobs still held) and
//  close. Results not yet acknowledged are lost; call zjob_worker_flush
//  first to wait for them. Accepts NULL; sets *self_p to NULL.
ZJOB_EXPORT void
zjob_worker_destroy (zjob_worker_t **self_p);

//  Run the engine for at most timeout_ms (0: only what is due now; -1:
//  until something comes) and return what the program must act on; *task_p
//  is the task concerned (borrowed, see Tasks above). Returns -1 with err
//  filled (ZJOB_UNAVAILABLE) when the wait was interrupted by a signal
//  (zsys_interrupted). A broker that is down or refuses READY is not an
//  error: the engine keeps trying, with its backoff.
ZJOB_EXPORT int
zjob_worker_recv (zjob_worker_t *self, int timeout_ms, zjob_task_t **task_p,
                  zjob_error_t *err);

//  Report progress (0.0 .. 1.0, message may be NULL) on a task. Sent at
//  once, never resent: a lost progress report is superseded by the next.
//  0, or -1 if the task is not held.
ZJOB_EXPORT int
zjob_worker_progress (zjob_worker_t *self, zjob_task_t *task, float progress,
                      const char *message);

//  End a task with its outputs (a msgpack map of size bytes; NULL for {})
//  or with an error (kind: a short snake_case class such as "timeout",
//  NULL for "error"; message may be NULL). The result is sent and kept
//  until acknowledged; with batching (the default; ZJOB_WORKER_BATCH=0 in
//  the environment turns it off, PROTOCOL.md 10.2), while recv still has
//  events queued for the program it waits to go out with the others in
//  one RESULT when they are taken (zjob_worker_timeout is 0 meanwhile). The task is freed. 0, or -1 with err filled
//  (outputs not a msgpack map or too large: the task is then failed with
//  kind "bad_output" and that error's text instead).
ZJOB_EXPORT int
zjob_worker_complete (zjob_worker_t *self, zjob_task_t **task_p, const uint8_t *outputs,
                      size_t size, zjob_error_t *err);
ZJOB_EXPORT int
zjob_worker_fail (zjob_worker_t *self, zjob_task_t **task_p, const char *kind,
                  const char *message);

//  As zjob_worker_fail, and the job is not to be retried: the RESULT says
//  `permanent`, and the broker fails the job for good whatever attempts
//  its retry policy has left (a broker without retries ignores it). For
//  an input that can never succeed. 0, or -1 if out of memory.
ZJOB_EXPORT int
zjob_worker_fail_permanent (zjob_worker_t *self, zjob_task_t **task_p, const char *kind,
                            const char *message);

//  Stop taking jobs, for good (a worker about to stop). From now on
//  results give no slot back; the broker's credit for slots still free is
//  taken back by registering again, announcing only the jobs held (CREDIT
//  cannot lower it, PROTOCOL.md 10.6). Tasks not yet returned by recv,
//  and any JOB that still comes, are handed back to the broker at once
//  (listed in the next READY's or DISCONNECT's release: it queues them
//  again without counting an attempt) and never reach the program. Held tasks go on
//  as before. A drained worker that holds nothing leaves (DISCONNECT).
//  Call it on the engine's thread (zjob_worker_run drains by itself on
//  stop). Returns 0; calling it again does nothing.
ZJOB_EXPORT int
zjob_worker_drain (zjob_worker_t *self);

//  Run the engine until every result sent is acknowledged, at most
//  timeout_ms. Returns 0, or -1 if some are still waiting.
ZJOB_EXPORT int
zjob_worker_flush (zjob_worker_t *self, int timeout_ms);

//  The DEALER socket, for a poll loop; it is the same socket for the
//  worker's whole life (a reconnection reuses it). Borrowed; do not read.
//  A loop that also watches plain descriptors (child processes' pipes)
//  polls them together with this socket in one zmq_poll.
ZJOB_EXPORT zsock_t *
zjob_worker_sock (zjob_worker_t *self);

//  Msecs until the engine has a timer due (heartbeat, liveness, resend):
//  the longest a poll loop may wait before calling recv again.
ZJOB_EXPORT int
zjob_worker_timeout (zjob_worker_t *self);

//  True once the broker has acknowledged the registration (and after a
//  reconnection, again when it has acknowledged the new one).
ZJOB_EXPORT bool
zjob_worker_registered (zjob_worker_t *self);

//  Why the worker cannot reach the broker, when it knows: ZJOB_UNAUTHORIZED
//  with err filled (its last CURVE handshake was refused or failed; the
//  message says which), else 0. Since libzjob 0.5.0.
ZJOB_EXPORT int
zjob_worker_error (zjob_worker_t *self, zjob_error_t *err);

//  The worker's name; its id (the name and a random suffix, fixed for
//  its life: what the broker knows it by and sets as a job's worker_id);
//  and the number of tasks it holds now, those buffered (prefetched)
//  included.
ZJOB_EXPORT const char *
zjob_worker_name (zjob_worker_t *self);
ZJOB_EXPORT const char *
zjob_worker_id (zjob_worker_t *self);
ZJOB_EXPORT size_t
zjob_worker_held (zjob_worker_t *self);

//  --------------------------------------------------------------------------
//  Tasks

//  What the broker handed out (borrowed, valid while the task is).
ZJOB_EXPORT const char *
zjob_task_id (zjob_task_t *self);
ZJOB_EXPORT const char *
zjob_task_workflow (zjob_task_t *self);
//  The inputs: a msgpack map of *size_p bytes.
ZJOB_EXPORT const uint8_t *
zjob_task_inputs (zjob_task_t *self, size_t *size_p);
//  The outputs of the job's parents (depends_on), as the broker found
//  them when it released the job: a msgpack map of *size_p bytes, {parent
//  id: bin holding that parent's outputs map, or nil for a parent that
//  did not complete or is gone}. NULL (size 0) for a job without parents.
ZJOB_EXPORT const uint8_t *
zjob_task_parent_outputs (zjob_task_t *self, size_t *size_p);
//  1 for the first run; more after the job was requeued.
ZJOB_EXPORT uint32_t
zjob_task_attempt (zjob_task_t *self);
ZJOB_EXPORT zjob_priority_t
zjob_task_priority (zjob_task_t *self);
//  The job as dispatched (user, tags, metadata...), to read with the
//  zjob_job_* accessors. Borrowed.
ZJOB_EXPORT const zjob_job_t *
zjob_task_job (zjob_task_t *self);

//  The task's state as the broker last told it. Safe from any thread.
ZJOB_EXPORT bool
zjob_task_paused (zjob_task_t *self);
ZJOB_EXPORT bool
zjob_task_cancelled (zjob_task_t *self);
//  Why the broker cancelled the task: ZJOB_REASON_CANCELLED (a client),
//  ZJOB_REASON_TIMEOUT or ZJOB_REASON_HEARTBEAT_TIMEOUT (the job's
//  timeouts; the broker has already failed the attempt and applies the
//  retry policy), or a reason a newer broker names. NULL while the task
//  is not cancelled, after a CANCEL that gives no reason (an older
//  broker), and when the task stops for another cause (zjob_worker_stop,
//  or the broker gave the job to another worker). Borrowed, valid while
//  the task is. Safe from any thread.
ZJOB_EXPORT const char *
zjob_task_cancel_reason (zjob_task_t *self);

//  --------------------------------------------------------------------------
//  The simple API: a handler per job, on a thread pool

//  Runs one task on a pool thread. Return its outputs: a msgpack map in a
//  malloc'd buffer (msgpack_sbuffer's data will do) that the library
//  frees, with *size_p set. Return NULL to fail the task, with the error
//  given to zjob_task_fail (or ZJOB_KIND_HANDLER, "no outputs" if none was).
typedef uint8_t *(zjob_handler_fn) (zjob_task_t *task, size_t *size_p, void *arg);

//  Take jobs and run handler on each, with one thread per slot, until
//  zjob_worker_stop or an interrupt (SIGINT/SIGTERM through CZMQ). On stop
//  the worker drains (zjob_worker_drain: tasks not started yet are handed
//  back, no new one comes), running handlers see zjob_task_cancelled and
//  zjob_task_checkpoint report the stop, results of handlers that still
//  completed are delivered (waiting at most ZJOB_WORKER_LINGER_MS for the
//  acks; a NULL return then hands the job back instead of failing it), and
//  DISCONNECT hands back the jobs left.
//  Call it once per worker. Returns 0, or -1 with err filled when the
//  thread pool cannot start.
ZJOB_EXPORT int
zjob_worker_run (zjob_worker_t *self, zjob_handler_fn *handler, void *arg,
                 zjob_error_t *err);

//  With 1 slot, run the handler on the thread that calls zjob_worker_run
//  (the socket's) instead of a pool thread: no thread hop per job, about
//  half the worker's CPU per job when jobs are short. Off by default, and
//  for short handlers: the engine runs only between jobs and when the
//  handler calls zjob_task_progress, zjob_task_checkpoint,
//  zjob_task_cancelled or zjob_task_paused (which wait out a pause and
//  send heartbeats as the loop would). A handler that calls none of them
//  for longer than the broker's liveness (3 heartbeats, 3 s by default)
//  gets its worker declared dead and its job given to another. From the
//  handler's thread only. No effect with more slots. Call before
//  zjob_worker_run. Since libzjob 0.6.0.
ZJOB_EXPORT void
zjob_worker_set_inline (zjob_worker_t *self, bool on);

//  Ask zjob_worker_run to stop and return. Safe from a signal handler or
//  another thread: it only sets a flag, read within ZJOB_HEARTBEAT_MS / 10.
ZJOB_EXPORT void
zjob_worker_stop (zjob_worker_t *self);

//  From a handler: report progress (0.0 .. 1.0, message may be NULL).
//  0, or -1 if the task is no longer wanted (cancelled or stopping).
ZJOB_EXPORT int
zjob_task_progress (zjob_task_t *self, float progress, const char *message);

//  From a handler: block while the task is paused. Returns 0 to go on, or
//  -1 when the task is cancelled or the worker is stopping (the handler
//  should return at once; its result is not sent as a failure).
ZJOB_EXPORT int
zjob_task_checkpoint (zjob_task_t *self);

//  From a handler: set the error the task fails with when the handler
//  returns NULL (kind and message copied; either may be NULL).
ZJOB_EXPORT void
zjob_task_fail (zjob_task_t *self, const char *kind, const char *message);

//  From a handler: as zjob_task_fail, and the job is not to be retried
//  (zjob_worker_fail_permanent) when the handler returns NULL.
ZJOB_EXPORT void
zjob_task_fail_permanent (zjob_task_t *self, const char *kind, const char *message);

#ifdef __cplusplus
}
#endif

#endif
