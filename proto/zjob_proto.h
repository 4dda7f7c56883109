/*  =========================================================================
    zjob_proto - the wire protocol: commands, limits, message codec

    This is the only module that knows the wire layout; the broker, the
    client library and the worker library speak through it and never pack
    or parse a message by hand. proto/PROTOCOL.md is the specification;
    this header is its C binding, and the two change together.

    A message is one ZeroMQ frame (after the ROUTER identity) holding one
    msgpack array [version, command, request_id, body]. Decoding checks the
    whole frame before trusting any of it: the size, then the msgpack
    structure (without allocating), then the envelope, the version, the
    command and the body against the command's field table. A message that
    decodes is therefore complete and typed: the broker reads its fields
    without further checks. Decoding never copies the frame: strings and
    bins point into it, so the bytes must outlive the message (or be handed
    to it with zjob_msg_adopt). Everything decode allocates lives in one
    msgpack zone that zjob_msg_destroy frees at once.

    Encoding goes through a reusable builder: begin, add fields, end into a
    frame. The body is written as a map32 whose count is patched at the
    end, so fields are added one by one without counting them first.

    What a libzjob user needs of all this (the limits, the commands, the
    field readers of a reply) is in zjob_msg.h, which libzjob installs and
    exports; the rest of this header is internal to the tree.
    ========================================================================= */

#ifndef ZJOB_PROTO_H_INCLUDED
#define ZJOB_PROTO_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <czmq.h>
#include <msgpack.h>
#include "zjob_error.h"
#include "zjob_job_impl.h"
#include "zjob_query.h"
#include "zjob_msg.h"  //  Constants, commands, message readers

#ifdef __cplusplus
extern "C" {
#endif

//  --------------------------------------------------------------------------
//  Routes

//  Who sends to whom on which socket; a decoder is told its route so that
//  a command that does not belong there is a 400, and a command that means
//  two things (PAUSE from a client or to a worker) is read right.
typedef enum {
    ZJOB_ROUTE_CLIENT_BROKER = 0,  //  clients socket, client -> broker
    ZJOB_ROUTE_BROKER_CLIENT,      //  clients socket, broker -> client
    ZJOB_ROUTE_WORKER_BROKER,      //  workers socket, worker -> broker
    ZJOB_ROUTE_BROKER_WORKER,      //  workers socket, broker -> worker
    ZJOB_ROUTE_EVENTS              //  events socket, broker -> subscriber
} zjob_route_t;
#define ZJOB_ROUTE_COUNT 5

//  True if cmd may be sent on route.
bool
zjob_cmd_allowed (zjob_cmd_t cmd, zjob_route_t route);

//  True if cmd on route is a request: the receiver answers it with exactly
//  one OK or ERROR (or, to a worker, RECONNECT) echoing its request id.
bool
zjob_cmd_is_request (zjob_cmd_t cmd, zjob_route_t route);

//  Short name of a route ("client->broker").
const char *
zjob_route_name (zjob_route_t route);

//  Apply the protocol's socket options to sock: ZMQ_MAXMSGSIZE of
//  ZJOB_MSG_MAX and send/receive high-water marks of ZJOB_HWM. Call it
//  before bind or connect, on every zjob socket (ROUTER, DEALER, PUB, SUB).
void
zjob_proto_socket_setup (zsock_t *sock);

//  Receive one message from a DEALER without blocking, straight into
//  frame (initialised here; the caller closes it when it returns 1).
//  Returns 1 with a one-frame message, 0 if none was waiting, -1 if a
//  message of several frames came, which the protocol never sends: it was
//  read whole and dropped. One receive per message: asking ZMQ_EVENTS
//  first costs a second trip through libzmq's pipes for every message.
int
zjob_proto_recv_frame (zsock_t *sock, zmq_msg_t *frame);

//  Receive one message from a DEALER, waiting for it at most timeout_ms
//  (0: not at all, -1: forever), as zjob_proto_recv_frame. The wait is
//  libzmq's own blocking receive (ZMQ_RCVTIMEO, set for the call and put
//  back to -1): one poll(2) that blocks and one read of the socket's
//  mailbox per message that had to be waited for, where a receive that
//  finds nothing, a poll of ZMQ_FD and a second receive cost two more
//  system calls (and libzmq's getpid checks with them) each time. No edge
//  is lost: a blocking receive processes the socket's commands itself.
//  For a socket watched alone; one waited on next to another descriptor
//  (a CURVE handshake's monitor) keeps zjob_proto_wait_input. Returns 1,
//  0 (none in time, or EINTR), -1 (several frames, dropped), or -2 when
//  the process is interrupted (zsys_interrupted) or the context ends.
int
zjob_proto_recv_frame_wait (zsock_t *sock, zmq_msg_t *frame, int timeout_ms);

//  Wait until sock may have input, at most timeout_ms (-1: forever), in
//  one poll(2) of its ZMQ_FD. Only right after a receive on sock found
//  nothing, with no send since: the fd signals edges only, and a send may
//  swallow the signal of an input (zjob_broker.c's banner). zmq_poll asks
//  ZMQ_EVENTS before and after it waits instead, four more system calls
//  per wait. A wake may be spurious: the caller receives again. Returns 1
//  when the fd signalled, 0 at the timeout or on EINTR, -1 when the
//  process is interrupted (zsys_interrupted) or on an error.
int
zjob_proto_wait_input (zsock_t *sock, int timeout_ms);

//  --------------------------------------------------------------------------
//  Structured request fields, as decoded (all borrowed from the message)

//  One job's result, as a RESULT carries it (PROTOCOL.md 10.5): decoded
//  (borrowed from the message) or given to the encoder.
typedef struct {
    const char *id;          //  The job
    bool completed;          //  Else failed
    const uint8_t *outputs;  //  Completed: outputs (a msgpack map), or NULL
    size_t outputs_size;
    const char *error_kind;     //  Failed: short class, or NULL
    const char *error_message;  //  Failed: what went wrong, or NULL
    uint32_t attempt;           //  The attempt it is for (the JOB's att); 0: not said
    bool permanent;             //  Failed: never retry this job
} zjob_result_t;

//  --------------------------------------------------------------------------
//  Decoding

//  Decode one message of size bytes at data, received on route. The bytes
//  are borrowed and must outlive the message. Returns the message, or NULL
//  with err filled: ZJOB_BAD_REQUEST (malformed, naming the field),
//  ZJOB_TOO_LARGE (over ZJOB_MSG_MAX or another limit) or
//  ZJOB_VERSION_MISMATCH (naming the supported version). Never crashes on
//  any input; on failure nothing is left allocated.
zjob_msg_t *
zjob_msg_decode (const void *data, size_t size, zjob_route_t route, zjob_error_t *err);

//  Read just the envelope's request id (and command, if command_p) from a
//  message that may not decode. Returns true if a request id is readable,
//  i.e. the bytes start with a msgpack array of 3 or more items whose third
//  is an unsigned integer; *command_p is ZJOB_CMD_UNKNOWN if unreadable.
bool
zjob_msg_peek (const void *data, size_t size, uint64_t *request_id_p,
               zjob_cmd_t *command_p);

//  The ERROR reply to send back for bytes that failed to decode with err,
//  echoing their request id; NULL when no reply is possible (no request id
//  can be read, or the message was itself a reply or an event): the
//  receiver then logs err and drops the message. Caller owns the frame.
zframe_t *
zjob_msg_error_for (const void *data, size_t size, const zjob_error_t *err);

//  Give the message ownership of the frame holding its bytes; the frame is
//  destroyed with the message. *frame_p becomes NULL.
void
zjob_msg_adopt (zjob_msg_t *self, zframe_t **frame_p);

//  Destroy the message and all it allocated. Accepts NULL.
void
zjob_msg_destroy (zjob_msg_t **self_p);

//  Check an OK reply's body against the reply table of the request it
//  answers (the request's command; the caller matched it by request id).
//  ERROR and RECONNECT bodies are checked at decode; for them this returns
//  0. Returns 0, or -1 with err filled (ZJOB_BAD_REQUEST naming the field).
int
zjob_msg_check_reply (zjob_msg_t *self, zjob_cmd_t request, zjob_error_t *err);

//  The route the message was decoded for (the envelope's other readers
//  are in zjob_msg.h).
zjob_route_t
zjob_msg_route (zjob_msg_t *self);

//  Structured fields, decoded and validated with the message.
//  SUBMIT: the job specs (*count_p of them); NULL for other commands.
const zjob_spec_t *
zjob_msg_specs (zjob_msg_t *self, size_t *count_p);
//  SUBMIT: the auto_start flag (default true).
bool
zjob_msg_auto_start (zjob_msg_t *self);
//  SUBMIT: the top-level batch map as sent (checked to be a map only;
//  borrowed, valid while the message lives), or NULL if none.
const msgpack_object *
zjob_msg_submit_batch (zjob_msg_t *self);
//  LIST: the query (filter, sort, paging); NULL for other commands.
const zjob_query_t *
zjob_msg_query (zjob_msg_t *self);
//  DELETE/START/PAUSE/RESUME/CANCEL: which jobs (from a worker: PAUSE,
//  RESUME, CANCEL carry an id only); NULL for other commands.
const zjob_target_t *
zjob_msg_target (zjob_msg_t *self);

//  RESULT: its results, in order (*count_p of them): the one result of
//  the single form (id, status...) or each item of "results". NULL with
//  *count_p 0 for other commands.
const zjob_result_t *
zjob_msg_results (zjob_msg_t *self, size_t *count_p);
//  OK to a RESULT carrying "results" (checked with zjob_msg_check_reply):
//  the number of results it refuses ("errors"), and the job id of the
//  index-th refusal (valid while the message lives) with its code and
//  message in err; NULL if there is no such refusal.
size_t
zjob_msg_result_errors (zjob_msg_t *self);
const char *
zjob_msg_result_error (zjob_msg_t *self, size_t index, zjob_error_t *err);

//  --------------------------------------------------------------------------
//  Encoding

typedef struct _zjob_msg_builder_t zjob_msg_builder_t;

//  A new builder, reusable for any number of messages. NULL if out of memory.
zjob_msg_builder_t *
zjob_msg_builder_new (void);

//  Destroy the builder. Accepts NULL; sets *self_p to NULL.
void
zjob_msg_builder_destroy (zjob_msg_builder_t **self_p);

//  Start a message: the envelope with the current version, and an empty
//  body. Drops anything the builder held.
void
zjob_msg_begin (zjob_msg_builder_t *self, zjob_cmd_t cmd, uint64_t request_id);

//  Add one body field each. A NULL string or bin adds nothing, so optional
//  fields can be passed as they are. A failure (memory) is kept and
//  reported by zjob_msg_end.
void
zjob_msg_add_str (zjob_msg_builder_t *self, const char *key, const char *value);
void
zjob_msg_add_uint (zjob_msg_builder_t *self, const char *key, uint64_t value);
void
zjob_msg_add_int (zjob_msg_builder_t *self, const char *key, int64_t value);
void
zjob_msg_add_float (zjob_msg_builder_t *self, const char *key, double value);
void
zjob_msg_add_bool (zjob_msg_builder_t *self, const char *key, bool value);
void
zjob_msg_add_bin (zjob_msg_builder_t *self, const char *key, const void *data, size_t size);
//  An array of count strings (empty if count is 0).
void
zjob_msg_add_strs (zjob_msg_builder_t *self, const char *key, const char *const *values,
                   size_t count);
void
zjob_msg_add_uints (zjob_msg_builder_t *self, const char *key, const uint64_t *values,
                    size_t count);
//  SUBMIT's "jobs": count specs, each as a spec map.
void
zjob_msg_add_specs (zjob_msg_builder_t *self, const char *key, const zjob_spec_t *specs,
                    size_t count);
//  A filter map at key (criteria left unset are left out).
void
zjob_msg_add_filter (zjob_msg_builder_t *self, const char *key, const zjob_filter_t *filter);
//  LIST's fields: filter, sort_by, order, limit, offset.
void
zjob_msg_add_query (zjob_msg_builder_t *self, const zjob_query_t *query);
//  A target's one field: id, ids or filter.
void
zjob_msg_add_target (zjob_msg_builder_t *self, const zjob_target_t *target);
//  A job map (zjob_job_pack) at key.
void
zjob_msg_add_job (zjob_msg_builder_t *self, const char *key, const zjob_job_t *job);
//  An array of job maps at key, as many of the count as fit in the
//  message with room to spare for a few more fields (ZJOB_MSG_MAX less
//  64 KiB). Returns the number added; the rest is the next page's.
size_t
zjob_msg_add_jobs (zjob_msg_builder_t *self, const char *key, zjob_job_t *const *jobs,
                   size_t count);
//  RESULT's "results": count result maps (id, status, and the outputs or
//  error fields that are set).
void
zjob_msg_add_results (zjob_msg_builder_t *self, const char *key,
                      const zjob_result_t *results, size_t count);
//  The "errors" of the OK to a multi-result RESULT: for each of count
//  refused results, its job id and the error (code and text).
void
zjob_msg_add_result_errors (zjob_msg_builder_t *self, const char *const *ids,
                            const zjob_error_t *errors, size_t count);
//  The reply to a bulk DELETE/START/PAUSE/RESUME/CANCEL (PROTOCOL.md 9.5):
//  "done" and "failed", and, when count > 0, "errors" listing for each of
//  count failures its job id and error, as zjob_msg_add_result_errors.
//  The caller keeps count within ZJOB_BULK_ERRORS_MAX.
void
zjob_msg_add_bulk (zjob_msg_builder_t *self, uint64_t done, uint64_t failed,
                   const char *const *ids, const zjob_error_t *errors, size_t count);

//  What the OK to STATS reports (PROTOCOL.md 9.9). Everything is borrowed
//  for the call to zjob_msg_add_stats.
typedef struct {
    size_t by_status [ZJOB_STATUS_COUNT];                 //  Stored jobs per status; "jobs" is their sum
    const char *const *workflow_ids;                      //  by_workflow: each workflow with jobs,
    const size_t (*workflow_counts) [ZJOB_STATUS_COUNT];  //  and its jobs per status
    size_t workflow_count;
    uint64_t queued;          //  Jobs in the ready queue
    uint64_t active;          //  Jobs held by workers
    uint64_t workers;         //  Workers connected
    uint64_t slots;           //  Their slots, summed
    uint64_t busy;            //  Jobs they hold, summed
    uint64_t max_concurrent;  //  The global cap on held jobs; 0 = none
    uint64_t scheduled;       //  Queued jobs waiting for their run_at
    uint64_t retrying;        //  Of those, retries waiting for their backoff
    uint64_t dead;            //  Jobs failed for good (= failed)
    bool held_by_limit;       //  Ready jobs and free credit, held back
                              //  by max_concurrent alone
    double submitted_rate;    //  Jobs per second over the rate window
    double completed_rate;
    double failed_rate;
    uint64_t rate_window_ms;            //  msecs the rates are averaged over
    uint64_t uptime_ms;                 //  msecs since the broker started
    uint64_t subscriptions;             //  Distinct event topic prefixes subscribed
    const char *const *held_workflows;  //  held: workflows with ready jobs held back
    const char *const *held_reasons;    //  by their queue controls, and why ("paused",
    size_t held_count;                  //  "concurrency", "rate")
    uint64_t paused_queues;             //  Workflows whose queue is paused
    uint64_t templates;                 //  Templates stored
    uint64_t queued_jobs;               //  Jobs not yet run (created, waiting, queued,
    uint64_t queued_bytes;              //  paused) and their inputs' bytes, and the
    uint64_t max_queued;                //  broker's limits on them and on a client's
    uint64_t max_queued_bytes;          //  requests kept across passes (0 = none)
    uint64_t max_pending;
    const char *store_name;         //  NULL: no "store" map
    const char *const *store_keys;  //  The store's own figures, as strings
    const char *const *store_values;
    size_t store_count;
    const uint64_t *history_submitted;  //  NULL: no "history" map; else
    const uint64_t *history_completed;  //  history_minutes counts each, oldest
    const uint64_t *history_failed;     //  first, the last one of the minute that
    size_t history_minutes;             //  starts at history_minute (ms UTC)
    uint64_t history_minute;
} zjob_stats_t;

//  The fields of the OK to STATS: jobs, by_status (every status, zeros
//  included), by_workflow (per workflow, only the statuses it has jobs
//  in), queued, active, workers, slots, busy, max_concurrent, scheduled,
//  held_by_limit, held (workflow -> reason, a map, only when held_count)
//  and paused_queues, rates (submitted, completed, failed), rate_window_ms,
//  uptime_ms, subscriptions, templates, queued_jobs, queued_bytes,
//  max_queued, max_queued_bytes, max_pending, store (name and the
//  store's figures) when store_name is set, and history {minute,
//  submitted, completed, failed} when history_submitted is set.
void
zjob_msg_add_stats (zjob_msg_builder_t *self, const zjob_stats_t *stats);

//  The fields of the OK to METRICS: format and text (size bytes, not
//  NUL-terminated; borrowed for the call).
void
zjob_msg_add_metrics (zjob_msg_builder_t *self, const char *format, const char *text,
                      size_t size);

//  The "queues" of the OK to QUEUE (PROTOCOL.md 9.x): one map per queue,
//  with workflow_id, paused, concurrency, rate, burst, queued, running,
//  and held_by when set. Everything is borrowed for the call.
void
zjob_msg_add_queues (zjob_msg_builder_t *self, const zjob_queue_info_t *queues, size_t count);

//  One connected worker, as the OK to WORKERS lists it (PROTOCOL.md 9.10).
//  Everything is borrowed for the call to zjob_msg_add_workers.
typedef struct {
    const char *worker_id;
    const char *name;              //  NULL: the worker id is shown
    const char *const *workflows;  //  Workflows it serves
    size_t workflow_count;
    uint64_t slots;           //  Jobs it runs at once
    uint64_t busy;            //  Jobs it holds (job_count)
    uint64_t credit;          //  Jobs it may be sent now
    const char *const *jobs;  //  Ids of the jobs it holds
    size_t job_count;
    uint64_t connected_at;  //  ms UTC of its READY
    uint64_t last_seen;     //  ms UTC of its last message
} zjob_worker_info_t;

//  The "workers" array of the OK to WORKERS: one map of nine fields per
//  worker (worker_id, name, workflows, slots, busy, credit, jobs,
//  connected_at, last_seen).
void
zjob_msg_add_workers (zjob_msg_builder_t *self, const zjob_worker_info_t *workers,
                      size_t count);
//  A template as TEMPLATE's OK carries it (PROTOCOL.md 9.12). Everything
//  is borrowed for the call.
typedef struct {
    const char *name;
    const zjob_spec_t *spec;  //  Its settings: only what is set goes out
    int64_t created_at;       //  ms UTC of its first set
    int64_t updated_at;       //  ms UTC of its last set
} zjob_template_info_t;

//  A spec map at key, with SUBMIT's spec keys (TEMPLATE set's "template").
void
zjob_msg_add_spec (zjob_msg_builder_t *self, const char *key, const zjob_spec_t *spec);
//  A template map at key: name, the spec's keys as in a SUBMIT spec
//  (workflow_id, inputs, priority, user_id, tags, metadata, max_attempts
//  and the retry policy and timeouts, those that are set), created_at,
//  updated_at.
void
zjob_msg_add_template (zjob_msg_builder_t *self, const char *key,
                       const zjob_template_info_t *info);
//  An array at key of count template summaries, each {name, workflow_id,
//  priority (if set), tags (if any), created_at, updated_at}.
void
zjob_msg_add_templates (zjob_msg_builder_t *self, const char *key,
                        const zjob_template_info_t *infos, size_t count);

//  The fields of a job event about job: type (a status name, "progress",
//  "deleted", "retrying", "timed_out", "dead"), time, id, workflow_id,
//  status, old_status (if old_status >= 0), the user, progress, error and
//  worker fields that are set, and run_at for a queued job that waits
//  for it (a delayed job, a retry's backoff).
//  Begin a CANCEL to a worker (PROTOCOL.md 10.6): id, and reason
//  ("cancelled", "timeout", "heartbeat_timeout"; NULL: none) and the
//  attempt (0: none) when the broker times an attempt out.
void
zjob_msg_build_cancel (zjob_msg_builder_t *self, uint64_t request_id, const char *id,
                       const char *reason, uint32_t attempt);

void
zjob_msg_add_job_event (zjob_msg_builder_t *self, const char *type, const zjob_job_t *job,
                        int old_status);
//  Add key and return the packer: the caller packs exactly one value with
//  msgpack-c (for nested maps such as STATS' by_status).
msgpack_packer *
zjob_msg_add_key (zjob_msg_builder_t *self, const char *key);

//  Bytes written so far.
size_t
zjob_msg_builder_size (zjob_msg_builder_t *self);

//  Finish the message into a new frame (the caller owns it). Returns NULL
//  with err filled if a pack failed (ZJOB_INTERNAL) or the message is over
//  ZJOB_MSG_MAX (ZJOB_TOO_LARGE). The builder is ready to begin again.
zframe_t *
zjob_msg_end (zjob_msg_builder_t *self, zjob_error_t *err);

//  Finish the message and lend its bytes (valid until the next begin), for
//  sending one payload under several topics without a copy. Returns the
//  bytes and *size_p, or NULL with err filled as zjob_msg_end.
const uint8_t *
zjob_msg_end_data (zjob_msg_builder_t *self, size_t *size_p, zjob_error_t *err);

//  One-shot messages, returned as a new frame, NULL only if out of memory.
//  An ERROR reply with err's code and message (505 also lists the
//  supported versions).
zframe_t *
zjob_msg_error_new (uint64_t request_id, const zjob_error_t *err);
//  A message with an empty body (HEARTBEAT, PING, STATS, WORKERS, OK...).
zframe_t *
zjob_msg_empty_new (zjob_cmd_t cmd, uint64_t request_id);

//  --------------------------------------------------------------------------
//  Event topics (PROTOCOL.md, "Events")

#define ZJOB_TOPIC_MAX 300   //  bytes in an event topic, with the NUL
#define ZJOB_EVENT_TOPICS 3  //  topics one job event is sent under

//  Write into topics the topic frames one event is published under:
//  for a job event (workflow_id and id set) three,
//      ev/<type>/<workflow_id>/<id>   wf/<workflow_id>/<type>/<id>   job/<id>/<type>
//  for a worker event (workflow_id NULL, id the worker id) one,
//      ev/<type>/<id>
//  Returns the number written, or 0 if a topic would not fit.
size_t
zjob_event_topics (const char *type, const char *workflow_id, const char *id,
                   char topics [ZJOB_EVENT_TOPICS][ZJOB_TOPIC_MAX]);

//  Write into buf the subscription prefix for the events a subscriber
//  wants, from the most specific criterion given (NULL = any):
//      id                  "job/<id>/"          (type: "job/<id>/<type>")
//      workflow_id         "wf/<workflow_id>/"  (type: "wf/<workflow_id>/<type>/")
//      type                "ev/<type>/"
//      nothing             "ev/"                (every event, once)
//  Returns 0, or -1 if it does not fit in size bytes.
int
zjob_event_prefix (char *buf, size_t size, const char *type, const char *workflow_id,
                   const char *id);

//  --------------------------------------------------------------------------
//  SCHEDULE's replies

//  A schedule as SCHEDULE's OK carries it; strings and bytes borrowed
typedef struct {
    const char *name;
    const char *cron;
    const char *timezone;  //  NULL: UTC
    bool catch_up;
    bool paused;
    const char *template_name;  //  NULL if it names a workflow
    const char *workflow_id;    //  NULL if it names a template
    const uint8_t *inputs;      //  msgpack map, or NULL
    size_t inputs_size;
    int priority;  //  A zjob_priority_t; ZJOB_PRIORITY_UNSET: the default
    const char *const *tags;
    size_t tag_count;
    const uint8_t *metadata;  //  msgpack map, or NULL
    size_t metadata_size;
    int64_t next;            //  ms UTC of the next due time
    int64_t last_due;        //  ms UTC of the last one fired; 0: none yet
    const char *last_job;    //  The job it made last, or NULL
    const char *last_error;  //  Why the last due time made no job, or NULL
    int64_t created;         //  ms UTC
} zjob_schedule_info_t;

//  Add key: the schedule as a map (PROTOCOL.md, SCHEDULE); with full
//  false, without inputs and metadata (a list's summary).
void
zjob_msg_add_schedule (zjob_msg_builder_t *self, const char *key,
                       const zjob_schedule_info_t *info, bool full);

//  Add key: an array of count schedule summaries.
void
zjob_msg_add_schedules (zjob_msg_builder_t *self, const char *key,
                        const zjob_schedule_info_t *infos, size_t count);

#ifdef __cplusplus
}
#endif

#endif
