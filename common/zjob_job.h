/*  =========================================================================
    zjob_job - the job: its fields, its states, its codec

    A job is a record with two kinds of field. The fields fixed at creation
    (id, workflow, user, tags, inputs, metadata, scheduling options) live in
    the same allocation as the struct: one malloc per job, which is what
    keeps a million queued jobs in a few hundred megabytes. The fields that
    change while the job runs (status, times, progress, outputs, error,
    worker) are plain members or separately allocated strings, NULL while
    unset.

    Inputs, outputs and metadata are msgpack maps kept as their encoded
    bytes: the broker moves them between client, store and worker without
    looking inside. The job is reference counted (the store and the ready
    queue may hold the same job); zjob_job_destroy drops one reference.

    Status changes go through one table, zjob_transition: every layer that
    changes a job's status asks it, so the rules live in one place. An
    illegal change is a ZJOB_CONFLICT error naming the job's status and the
    operation, never a silent false.

    The codec writes a msgpack map keyed by short field names; a decoder
    skips keys it does not know, so later fields (retry policy, scheduling,
    dependencies, batches) can be added without breaking stored journals or
    older peers.
    ========================================================================= */

#ifndef ZJOB_JOB_H_INCLUDED
#define ZJOB_JOB_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <msgpack.h>
#include "zjob_error.h"
#include "zjob_util.h"
#include "zjob_msgpack.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Limits on what a job may carry; larger input is a ZJOB_BAD_REQUEST or
//  ZJOB_TOO_LARGE error at creation.
#define ZJOB_NAME_MAX       128         //  bytes in workflow_id, user_id, a tag
#define ZJOB_TAGS_MAX       32          //  tags on one job
#define ZJOB_DATA_MAX       (1 << 20)   //  bytes of encoded inputs, metadata or outputs
#define ZJOB_MESSAGE_MAX    1024        //  bytes of an error or progress message

typedef enum {
    ZJOB_CREATED = 0,                   //  Stored, not yet asked to run
    ZJOB_QUEUED,                        //  Waiting in the ready queue
    ZJOB_RUNNING,                       //  Held by a worker
    ZJOB_PAUSED,                        //  Stopped; a worker may still hold it
    ZJOB_COMPLETED,                     //  Terminal: outputs are set
    ZJOB_FAILED,                        //  Terminal: error is set
    ZJOB_CANCELLED                      //  Terminal
} zjob_status_t;
#define ZJOB_STATUS_COUNT 7

//  Explicit ranks: a higher number is served first. ZJOB_PRIORITY_UNSET
//  is not a rank: in a spec it asks for the default, ZJOB_PRIORITY_DEFAULT,
//  the middle of the four (a job is never stored with it).
typedef enum {
    ZJOB_PRIORITY_UNSET = -1,
    ZJOB_PRIORITY_LOW = 0,
    ZJOB_PRIORITY_MEDIUM = 1,
    ZJOB_PRIORITY_HIGH = 2,
    ZJOB_PRIORITY_CRITICAL = 3
} zjob_priority_t;
#define ZJOB_PRIORITY_COUNT 4
#define ZJOB_PRIORITY_DEFAULT ZJOB_PRIORITY_MEDIUM  //  A job's priority when none is given

//  What can happen to a job. The first four are the user's operations;
//  the rest are the broker's, driven by workers and by recovery.
typedef enum {
    ZJOB_OP_START = 0,                  //  created/paused -> queued
    ZJOB_OP_PAUSE,                      //  created/queued/running -> paused
    ZJOB_OP_RESUME,                     //  paused -> queued (or running, if held)
    ZJOB_OP_CANCEL,                     //  any non-terminal -> cancelled
    ZJOB_OP_DISPATCH,                   //  queued -> running
    ZJOB_OP_COMPLETE,                   //  running -> completed
    ZJOB_OP_FAIL,                       //  running -> failed
    ZJOB_OP_REQUEUE                     //  running -> queued; paused(held) -> paused
} zjob_op_t;
#define ZJOB_OP_COUNT 8

//  Encoded msgpack bytes (a map), owned by whoever owns the job.
typedef struct {
    const uint8_t *data;                //  NULL when empty
    size_t size;                        //  0 when empty
} zjob_bytes_t;

typedef struct _zjob_job_t zjob_job_t;

//  Everything a job is created with. Strings and bytes are borrowed: the
//  job copies them. Zero/NULL fields take their defaults, except priority
//  (zero is low, a real rank; ZJOB_PRIORITY_UNSET takes the default).
typedef struct {
    const char *workflow_id;            //  Required, 1..ZJOB_NAME_MAX bytes
    const uint8_t *inputs;              //  msgpack map, or NULL for {}
    size_t inputs_size;
    zjob_priority_t priority;           //  ZJOB_PRIORITY_UNSET for the default
                                        //  (medium); beware: zero is LOW
    const char *user_id;                //  NULL for none
    const char *const *tags;            //  tag_count strings
    size_t tag_count;
    const uint8_t *metadata;            //  msgpack map, or NULL for {}
    size_t metadata_size;
    const char *idempotency_key;        //  NULL for none; see the broker
    uint32_t max_attempts;              //  0 = no limit
    int64_t run_at;                     //  ms UTC not to start before; 0 = now
} zjob_spec_t;

struct _zjob_job_t {
    //  Fields are ordered to leave no padding: a million queued jobs are a
    //  million of these, so every 8 bytes is 8 MB.

    //  Fixed at creation; the strings and bytes point into this allocation
    char id [ZJOB_ID_LEN + 1];          //  Time-sortable printable id
    uint8_t priority;                   //  zjob_priority_t
    uint8_t status;                     //  zjob_status_t
    uint8_t held;                       //  1 while a worker holds it (running,
                                        //  or paused while running)
    uint16_t tag_count;                 //  Entries in tags
    uint32_t max_attempts;              //  0 = no limit
    const char *workflow_id;            //  Never NULL
    const char *user_id;                //  NULL if none
    const char **tags;                  //  tag_count strings, NULL if none
    zjob_bytes_t inputs;                //  Encoded msgpack map
    zjob_bytes_t metadata;              //  Encoded msgpack map, may be empty
    const char *idempotency_key;        //  NULL if none
    int64_t run_at;                     //  ms UTC; 0 = as soon as queued

    //  Changes over the job's life
    uint32_t attempts;                  //  Times handed to a worker
    float progress;                     //  0.0 .. 1.0
    int64_t created_at;                 //  ms UTC
    int64_t updated_at;                 //  ms UTC, every change
    int64_t queued_at;                  //  ms UTC of the last enqueue, 0 if never
    int64_t started_at;                 //  ms UTC of the first dispatch, 0 if never
    int64_t completed_at;               //  ms UTC of reaching a terminal state
    int64_t execution_ms;               //  Time spent running, all attempts
    int64_t queued_ms;                  //  Time spent queued, all attempts
    char *progress_message;             //  NULL if none
    char *error_kind;                   //  NULL unless failed (or last attempt failed)
    char *error_message;                //  NULL unless failed
    char *worker_id;                    //  Worker holding or last holding the job
    zjob_bytes_t outputs;               //  Encoded map, set when completed

    //  Process-local bookkeeping, never encoded
    int32_t refs;                       //  References held
    zjob_job_t *next;                   //  Intrusive links for the owner's queue
    zjob_job_t *prev;
    uint64_t seq;                       //  Enqueue order, set by the owner
};

//  Create a job from spec with a new id, status created and the times set
//  to now. Validates every field; on a bad one returns NULL and fills err
//  (ZJOB_BAD_REQUEST or ZJOB_TOO_LARGE). The caller owns one reference.
zjob_job_t *
    zjob_job_new (const zjob_spec_t *spec, zjob_error_t *err);

//  Take one more reference to job; returns job.
zjob_job_t *
    zjob_job_ref (zjob_job_t *job);

//  Drop one reference; the job is freed with the last. Accepts NULL and
//  sets *self_p to NULL.
void
    zjob_job_destroy (zjob_job_t **self_p);

//  A deep copy with one reference and no queue links.
zjob_job_t *
    zjob_job_dup (const zjob_job_t *job);

//  Setters for the changing fields; they copy what they are given and set
//  updated_at to now. data/text may be NULL to clear. Return 0, or -1 with
//  err filled in when a value is over its limit or not a msgpack map.
int
    zjob_job_set_outputs (zjob_job_t *job, const uint8_t *data, size_t size, zjob_error_t *err);
int
    zjob_job_set_error (zjob_job_t *job, const char *kind, const char *message);
int
    zjob_job_set_progress (zjob_job_t *job, float progress, const char *message, zjob_error_t *err);
int
    zjob_job_set_worker (zjob_job_t *job, const char *worker_id);

//  True if job carries every one of the tag_count tags.
bool
    zjob_job_has_tags (const zjob_job_t *job, const char *const *tags, size_t tag_count);

//  The transition table. Returns the status op leads to from status from,
//  or -1 if op is illegal there (and fills err with ZJOB_CONFLICT naming
//  both). held says whether a worker still holds the job: it decides where
//  resume leads (running if held, else queued) and whether requeue is legal
//  from paused.
int
    zjob_transition (zjob_status_t from, zjob_op_t op, bool held, zjob_error_t *err);

//  True if name is a valid workflow id, user id, tag or idempotency key:
//  1..ZJOB_NAME_MAX bytes of printable ASCII without spaces.
bool
    zjob_name_valid (const char *name);

//  True for completed, failed and cancelled.
bool
    zjob_status_terminal (zjob_status_t status);

//  Names as used on the wire, in the CLI and in logs ("queued", "high",
//  "pause"). The _parse functions return -1 for an unknown name.
const char *
    zjob_status_name (zjob_status_t status);
int
    zjob_status_parse (const char *name);
const char *
    zjob_priority_name (zjob_priority_t priority);
int
    zjob_priority_parse (const char *name);
const char *
    zjob_op_name (zjob_op_t op);

//  Append the job as a msgpack map to pk. Returns 0 or -1 on a pack error.
int
    zjob_job_pack (const zjob_job_t *job, msgpack_packer *pk);

//  Encode to a fresh buffer; the caller frees *data_p with free().
//  Returns 0, or -1 if out of memory.
int
    zjob_job_encode (const zjob_job_t *job, uint8_t **data_p, size_t *size_p);

//  Decode a job from a msgpack object (a map as written by zjob_job_pack).
//  Returns a new job with one reference, or NULL with err filled in
//  (ZJOB_BAD_REQUEST) for a wrong type, a missing or invalid field.
zjob_job_t *
    zjob_job_from_object (const msgpack_object *obj, zjob_error_t *err);

//  Decode a job from size bytes at data, which must hold exactly one
//  msgpack map. Corrupt or truncated input returns NULL with err filled in.
zjob_job_t *
    zjob_job_decode (const uint8_t *data, size_t size, zjob_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
