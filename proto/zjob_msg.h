/*  =========================================================================
    zjob_msg - the wire protocol as libzjob's users see it: its limits, its
    commands, and the readers of a decoded reply

    The client API hands back some replies as they came (RESULTS, STATS,
    WORKERS, and every reply of the pipelined API, through zjob_reply_msg);
    a program reads their fields by name with the readers below, as
    proto/PROTOCOL.md lists them. The readers never fail: an absent key or
    a value of another type gives NULL or the default. Commands name the
    requests of the pipelined API, and targets the jobs a bulk operation
    applies to.

    This is the public part of zjob_proto, which implements it: decoding,
    encoding, routes and topics stay internal (zjob_proto.h, which includes
    this header).
    ========================================================================= */

#ifndef ZJOB_MSG_H_INCLUDED
#define ZJOB_MSG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <msgpack.h>
#include "zjob_export.h"
#include "zjob_error.h"
#include "zjob_job.h"
#include "zjob_query.h"

#ifdef __cplusplus
extern "C" {
#endif

//  --------------------------------------------------------------------------
//  Protocol constants (PROTOCOL.md, "Limits" and "Heartbeats")

#define ZJOB_PROTO_VERSION 1            //  The one version this code speaks
#define ZJOB_MSG_MAX (16 << 20)         //  bytes in one message frame
#define ZJOB_MSG_OBJECTS_MAX (1 << 21)  //  msgpack values in one message
#define ZJOB_MSG_DEPTH_MAX 16           //  nesting of arrays and maps
#define ZJOB_BATCH_MAX 10000            //  specs in a SUBMIT, ids in a bulk op
#define ZJOB_CHILDREN_MAX 1000          //  ids in GET's children
#define ZJOB_BULK_ERRORS_MAX 100        //  per-job errors in a bulk reply
#define ZJOB_WORKFLOWS_MAX 64           //  workflows one worker serves
#define ZJOB_SLOTS_MAX 1000             //  slots (credit) of one worker
#define ZJOB_HWM 10000                  //  messages queued per peer pipe
#define ZJOB_INFLIGHT_MAX 1000          //  requests a client keeps in flight
#define ZJOB_HEARTBEAT_MS 1000          //  msecs between heartbeats
#define ZJOB_LIVENESS 3                 //  heartbeats missed = peer dead
#define ZJOB_TEMPLATE_PAGE_MAX 1000     //  templates in one TEMPLATE list page

//  Jobs a worker may hold beyond its slots (READY "prefetch"); slots +
//  prefetch never exceed ZJOB_SLOTS_MAX (PROTOCOL.md 10.2)
#define ZJOB_PREFETCH_MAX 1000

//  --------------------------------------------------------------------------
//  Commands

typedef enum {
    ZJOB_CMD_UNKNOWN = 0,
    //  client -> broker, clients socket; each is a request
    ZJOB_CMD_SUBMIT,
    ZJOB_CMD_GET,
    ZJOB_CMD_LIST,
    ZJOB_CMD_DELETE,
    ZJOB_CMD_START,
    ZJOB_CMD_PAUSE,   //  also broker -> worker
    ZJOB_CMD_RESUME,  //  also broker -> worker
    ZJOB_CMD_CANCEL,  //  also broker -> worker
    ZJOB_CMD_STATUS,
    ZJOB_CMD_RESULTS,
    ZJOB_CMD_CLEANUP,
    ZJOB_CMD_STATS,
    ZJOB_CMD_WORKERS,
    ZJOB_CMD_PING,
    //  replies, on both ROUTER sockets, either way
    ZJOB_CMD_OK,
    ZJOB_CMD_ERROR,
    //  workers socket
    ZJOB_CMD_READY,       //  worker -> broker, request
    ZJOB_CMD_JOB,         //  broker -> worker, notification
    ZJOB_CMD_PROGRESS,    //  worker -> broker, notification
    ZJOB_CMD_RESULT,      //  worker -> broker, request
    ZJOB_CMD_CREDIT,      //  worker -> broker, notification
    ZJOB_CMD_HEARTBEAT,   //  both ways, notification
    ZJOB_CMD_RECONNECT,   //  broker -> worker, reply or notification
    ZJOB_CMD_DISCONNECT,  //  both ways, notification
    //  events socket
    ZJOB_CMD_EVENT,  //  broker -> subscriber
    //  client -> broker, clients socket; appended so that the values
    //  above keep their numbers (libzjob's ABI)
    ZJOB_CMD_RETRY,    //  re-run failed or cancelled jobs
    ZJOB_CMD_RUN_NOW,  //  a queued job waiting for its run_at: ready now
    //  Workflows (0.4.0), each with an op and its fields
    ZJOB_CMD_BATCH = 28,  //  show, cancel, close, list batches
    ZJOB_CMD_TEMPLATE,    //  set, get, list, delete templates
    ZJOB_CMD_SCHEDULE,    //  add, get, list, pause, resume, delete, run_now
    ZJOB_CMD_QUEUE,       //  pause, resume, limit, list workflow queues
    //  Observability (issue #13)
    ZJOB_CMD_METRICS = 32  //  the broker's metrics, Prometheus text
} zjob_cmd_t;
#define ZJOB_CMD_COUNT 33

//  The command's wire name ("SUBMIT"), "UNKNOWN" for anything else.
ZJOB_EXPORT const char *
zjob_cmd_name (zjob_cmd_t cmd);

//  The command named name (exact, upper case), or ZJOB_CMD_UNKNOWN.
ZJOB_EXPORT zjob_cmd_t
zjob_cmd_parse (const char *name);

//  --------------------------------------------------------------------------
//  Targets of bulk operations

//  Which jobs a DELETE/START/PAUSE/RESUME/CANCEL/RETRY/RUN_NOW applies
//  to: exactly one of id, ids or filter is set.
typedef struct {
    const char *id;          //  One job, or NULL
    const char *const *ids;  //  id_count jobs, or NULL
    size_t id_count;
    const zjob_filter_t *filter;  //  Every matching job, or NULL
} zjob_target_t;

//  The options of RETRY and RUN_NOW (PROTOCOL.md 9.5); zero is the default.
//  No other command takes them.
typedef struct {
    bool reset_attempts;  //  RETRY: the attempt count starts again at 0
    bool dry_run;         //  Change nothing: the reply says what would be
                          //  done (bulk: also the ids, in "ids")
} zjob_apply_options_t;

//  --------------------------------------------------------------------------
//  Reading a decoded message

typedef struct _zjob_msg_t zjob_msg_t;

//  The envelope
ZJOB_EXPORT uint32_t
zjob_msg_version (zjob_msg_t *self);
ZJOB_EXPORT zjob_cmd_t
zjob_msg_command (zjob_msg_t *self);
ZJOB_EXPORT const char *
zjob_msg_command_name (zjob_msg_t *self);
ZJOB_EXPORT uint64_t
zjob_msg_request_id (zjob_msg_t *self);

//  The body map (borrowed; valid while the message lives)
ZJOB_EXPORT const msgpack_object *
zjob_msg_body (zjob_msg_t *self);

//  Field readers, by key. They never fail: an absent key, a nil value or a
//  value of another type gives NULL or the default. (Decoding has already
//  checked the types of every field a command defines, and the client
//  checks an OK reply's body against its request's reply table.)
//  The value of key, or NULL.
ZJOB_EXPORT const msgpack_object *
zjob_msg_field (zjob_msg_t *self, const char *key);
//  True if key is present and not nil.
ZJOB_EXPORT bool
zjob_msg_has (zjob_msg_t *self, const char *key);
//  A NUL-terminated copy of a str value, valid while the message lives.
ZJOB_EXPORT const char *
zjob_msg_str (zjob_msg_t *self, const char *key);
ZJOB_EXPORT uint64_t
zjob_msg_uint (zjob_msg_t *self, const char *key, uint64_t dflt);
ZJOB_EXPORT int64_t
zjob_msg_int (zjob_msg_t *self, const char *key, int64_t dflt);
//  A float, or an integer as a double.
ZJOB_EXPORT double
zjob_msg_float (zjob_msg_t *self, const char *key, double dflt);
ZJOB_EXPORT bool
zjob_msg_bool (zjob_msg_t *self, const char *key, bool dflt);
//  A bin value's bytes (pointing into the frame) and *size_p, or NULL/0.
ZJOB_EXPORT const uint8_t *
zjob_msg_bin (zjob_msg_t *self, const char *key, size_t *size_p);
//  An array of str as NUL-terminated strings (*count_p entries), or NULL
//  with *count_p 0. An array with a non-string item also gives NULL.
ZJOB_EXPORT const char *const *
zjob_msg_strs (zjob_msg_t *self, const char *key, size_t *count_p);

//  Decode the job map at key (GET reply "job", JOB "job"). Returns a new
//  job (the caller destroys it) or NULL with err filled.
ZJOB_EXPORT zjob_job_t *
zjob_msg_job (zjob_msg_t *self, const char *key, zjob_error_t *err);

//  Decode the array of job maps at key (LIST reply "jobs"). On success
//  *jobs_p is a fresh array of *count_p new jobs (destroy each, then free
//  the array); returns 0, or -1 with err filled and nothing allocated.
ZJOB_EXPORT int
zjob_msg_jobs (zjob_msg_t *self, const char *key, zjob_job_t ***jobs_p, size_t *count_p,
               zjob_error_t *err);

//  Decode the template map at key (the OK to TEMPLATE get: "template")
//  into spec, its settings under SUBMIT's spec keys; strings and bytes
//  are borrowed from the message. The template's name, created_at and
//  updated_at are read from the map with the other readers. Returns 0,
//  or -1 with err filled.
ZJOB_EXPORT int
zjob_msg_template (zjob_msg_t *self, const char *key, zjob_spec_t *spec, zjob_error_t *err);
//  One workflow's queue, as the OK to QUEUE lists it (its "queues"):
//  its settings, its jobs, and what holds its ready jobs back. Strings
//  are borrowed from the message.
typedef struct {
    const char *workflow_id;
    bool paused;           //  Nothing of it is handed out
    uint32_t concurrency;  //  Jobs running at once at most; 0 = no limit
    double rate;           //  Jobs handed out a second at most; 0 = no limit
    double burst;          //  Tokens the rate's bucket holds
    uint64_t queued;       //  Its queued jobs
    uint64_t running;      //  Its running jobs
    const char *held_by;   //  "paused", "concurrency", "rate", or NULL: ready
                           //  jobs held back by that
} zjob_queue_info_t;

//  The number of queues in an OK to QUEUE.
ZJOB_EXPORT size_t
zjob_msg_queue_count (zjob_msg_t *self);

//  Read the index-th queue of an OK to QUEUE into info. Returns false
//  (info zeroed) if there is none or it is not a queue map.
ZJOB_EXPORT bool
zjob_msg_queue (zjob_msg_t *self, size_t index, zjob_queue_info_t *info);

//  Copy an ERROR message's code and message into err. Returns the code
//  (ZJOB_OK with an empty message if the message is not an ERROR).
ZJOB_EXPORT int
zjob_msg_error (zjob_msg_t *self, zjob_error_t *err);

//  --------------------------------------------------------------------------
//  Batches (PROTOCOL.md: SUBMIT's batch map, BATCH, the batch_finished event)

#define ZJOB_BATCH_LIST_MAX 1000  //  batches in one BATCH list reply

//  SUBMIT's batch map: every spec of the SUBMIT joins batch id. The first
//  SUBMIT of an id creates the batch, later ones add members while it is
//  open (409 once it is closed); open keeps it open for more, else that
//  SUBMIT closes it. callback only on the SUBMIT that creates the batch.
typedef struct {
    const char *id;               //  The batch (a name); required
    bool open;                    //  Keep it open for more SUBMITs
    const zjob_spec_t *callback;  //  NULL: none. Its workflow_id, inputs,
                                  //  priority, tags and metadata are sent
} zjob_batch_opts_t;

//  One batch as the broker reports it (BATCH show, close, list; the
//  batch_finished event). pending = total - completed - failed - cancelled.
typedef struct {
    char id [ZJOB_NAME_MAX + 1];
    char state [16];  //  "open", "running", "completed", "failed"
    uint64_t total;
    uint64_t completed;
    uint64_t failed;
    uint64_t cancelled;
    uint64_t pending;
    int64_t created_at;                          //  ms UTC
    int64_t finished_at;                         //  ms UTC; 0 while not finished
    char callback_workflow [ZJOB_NAME_MAX + 1];  //  "" if no callback
    char callback_job [ZJOB_ID_LEN + 1];         //  "" until it is created
} zjob_batch_info_t;

//  Read the batch map at key (BATCH's "batch", the event's "batch") into
//  info. Returns 0, or -1 if it is absent or not a batch map.
ZJOB_EXPORT int
zjob_msg_batch (zjob_msg_t *self, const char *key, zjob_batch_info_t *info);

//  Read the array of batch maps at key (BATCH list's "batches"). On
//  success *infos_p is a malloc'd array of *count_p (the caller frees it;
//  NULL when empty); returns 0, or -1 with err filled.
ZJOB_EXPORT int
zjob_msg_batches (zjob_msg_t *self, const char *key, zjob_batch_info_t **infos_p,
                  size_t *count_p, zjob_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
