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

    This header is what libzjob installs: the job is opaque to programs,
    which read it through the accessors below. The struct, the transition
    table, the setters and the codec are the tree's own, in
    zjob_job_impl.h, so they can change without breaking the ABI.
    ========================================================================= */

#ifndef ZJOB_JOB_H_INCLUDED
#define ZJOB_JOB_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "zjob_export.h"
#include "zjob_error.h"
#include "zjob_id.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Limits on what a job may carry; larger input is a ZJOB_BAD_REQUEST or
//  ZJOB_TOO_LARGE error at creation.
#define ZJOB_NAME_MAX 128        //  bytes in workflow_id, user_id, a tag
#define ZJOB_TAGS_MAX 32         //  tags on one job
#define ZJOB_DATA_MAX (1 << 20)  //  bytes of encoded inputs, metadata or outputs
#define ZJOB_MESSAGE_MAX 1024    //  bytes of an error or progress message
#define ZJOB_PARENTS_MAX 64      //  jobs one job depends on

typedef enum {
    ZJOB_CREATED = 0,  //  Stored, not yet asked to run
    ZJOB_QUEUED,       //  Waiting in the ready queue
    ZJOB_RUNNING,      //  Held by a worker
    ZJOB_PAUSED,       //  Stopped; a worker may still hold it
    ZJOB_COMPLETED,    //  Terminal: outputs are set
    ZJOB_FAILED,       //  Terminal: error is set
    ZJOB_CANCELLED,    //  Terminal
    ZJOB_WAITING       //  Created or started, but its parents are not all
                       //  completed (a later addition: at the end, so
                       //  the numbers of the others stay as stored)
} zjob_status_t;
#define ZJOB_STATUS_COUNT 8

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

//  What a failed attempt waits before the next one (PROTOCOL.md 9.2). In a
//  spec, UNSET (zero) takes the workflow's default, else the broker's.
typedef enum {
    ZJOB_BACKOFF_UNSET = 0,
    ZJOB_BACKOFF_FIXED = 1,       //  base each time
    ZJOB_BACKOFF_EXPONENTIAL = 2  //  base * factor^(n-1), at most the cap
} zjob_backoff_t;

//  How the delay is spread: full jitter draws it uniformly from [0, delay]
typedef enum {
    ZJOB_JITTER_UNSET = 0,
    ZJOB_JITTER_FULL = 1,
    ZJOB_JITTER_NONE = 2
} zjob_jitter_t;

//  In a spec, max_attempts 0 takes the default; this asks for no limit
#define ZJOB_ATTEMPTS_UNLIMITED UINT32_MAX
//  In a spec, a zero time takes the default; this asks for none (no
//  timeout) or, for backoff_base_ms, no delay
#define ZJOB_TIMEOUT_NONE UINT32_MAX
#define ZJOB_NO_RETRY_MAX 16  //  error kinds in a job's no_retry list
#define ZJOB_ERRORS_KEPT 20   //  attempt errors a job keeps, the latest

//  What a waiting job does when a parent fails for good or is cancelled:
//  fail itself (error kind dependency_failed), be cancelled, or run as if
//  that parent had completed (its outputs nil)
typedef enum {
    ZJOB_ON_PARENT_FAIL = 0,
    ZJOB_ON_PARENT_CANCEL = 1,
    ZJOB_ON_PARENT_RUN = 2
} zjob_on_parent_t;
#define ZJOB_ON_PARENT_COUNT 3

//  One failed attempt in a job's history (zjob_job_error_at)
typedef struct {
    uint32_t attempt;       //  Its number, from 1
    const char *kind;       //  Never NULL
    const char *message;    //  NULL if none
    const char *worker_id;  //  NULL if no worker had it
    int64_t at;             //  ms UTC the attempt failed
} zjob_attempt_error_t;

//  Encoded msgpack bytes (a map), owned by whoever owns the job.
typedef struct {
    const uint8_t *data;  //  NULL when empty
    size_t size;          //  0 when empty
} zjob_bytes_t;

typedef struct _zjob_job_t zjob_job_t;

//  Everything a job is created with. Strings and bytes are borrowed: the
//  job copies them. Zero/NULL fields take their defaults, except priority
//  (zero is low, a real rank; ZJOB_PRIORITY_UNSET takes the default).
typedef struct {
    const char *workflow_id;  //  Required, 1..ZJOB_NAME_MAX bytes
    const uint8_t *inputs;    //  msgpack map, or NULL for {}
    size_t inputs_size;
    zjob_priority_t priority;  //  ZJOB_PRIORITY_UNSET for the default
                               //  (medium); beware: zero is LOW
    const char *user_id;       //  NULL for none
    const char *const *tags;   //  tag_count strings
    size_t tag_count;
    const uint8_t *metadata;  //  msgpack map, or NULL for {}
    size_t metadata_size;
    const char *idempotency_key;  //  NULL for none; see the broker
    uint32_t max_attempts;        //  0 = the default; ZJOB_ATTEMPTS_UNLIMITED
    int64_t run_at;               //  ms UTC not to start before; 0 = now
    //  The retry policy and timeouts (PROTOCOL.md 9.2); zero/NULL fields
    //  take the workflow's default, else the broker's
    zjob_backoff_t backoff;
    uint32_t backoff_base_ms;  //  ZJOB_TIMEOUT_NONE: no delay
    double backoff_factor;     //  1.0 .. 100.0
    uint32_t backoff_max_ms;   //  The cap on one delay
    zjob_jitter_t jitter;
    const char *const *no_retry;    //  Error kinds never retried
    size_t no_retry_count;          //  0..ZJOB_NO_RETRY_MAX
    uint32_t timeout_ms;            //  Per attempt; ZJOB_TIMEOUT_NONE: none
    uint32_t heartbeat_timeout_ms;  //  Without progress; ZJOB_TIMEOUT_NONE: none
    //  Workflows (0.4.0, appended). zjob_job_new takes parents by id only:
    //  the broker resolves positions (depends_on_index, parents among the
    //  jobs of one SUBMIT) into ids before it creates the job.
    const char *const *depends_on;       //  Parent job ids
    size_t depends_on_count;             //  0..ZJOB_PARENTS_MAX (with the indexes)
    const uint32_t *depends_on_index;    //  Parents by position in the same SUBMIT
    size_t depends_on_index_count;       //  Must be 0 at zjob_job_new
    zjob_on_parent_t on_parent_failure;  //  ZJOB_ON_PARENT_FAIL by default
    const char *batch_id;                //  NULL: none
    const char *template_name;           //  NULL: none (the broker merges it)
    const char *unique_key;              //  NULL: none
    const char *schedule_id;             //  Set by the broker only, NULL: none
    int64_t scheduled_for;               //  Set by the broker only, ms UTC; 0: none
} zjob_spec_t;

//  Take one more reference to job; returns job.
ZJOB_EXPORT zjob_job_t *
zjob_job_ref (zjob_job_t *job);

//  Drop one reference; the job is freed with the last. Accepts NULL and
//  sets *self_p to NULL.
ZJOB_EXPORT void
zjob_job_destroy (zjob_job_t **self_p);

//  A deep copy with one reference, as independent of job as a new job.
ZJOB_EXPORT zjob_job_t *
zjob_job_dup (const zjob_job_t *job);

//  True for completed, failed and cancelled.
ZJOB_EXPORT bool
zjob_status_terminal (zjob_status_t status);

//  Names as used on the wire, in the CLI and in logs ("queued", "high").
//  The _parse functions return -1 for an unknown name.
ZJOB_EXPORT const char *
zjob_status_name (zjob_status_t status);
ZJOB_EXPORT int
zjob_status_parse (const char *name);
ZJOB_EXPORT const char *
zjob_priority_name (zjob_priority_t priority);
ZJOB_EXPORT int
zjob_priority_parse (const char *name);
//  "fixed", "exponential"; "full", "none" (NULL for UNSET)
ZJOB_EXPORT const char *
zjob_backoff_name (zjob_backoff_t backoff);
ZJOB_EXPORT int
zjob_backoff_parse (const char *name);
ZJOB_EXPORT const char *
zjob_jitter_name (zjob_jitter_t jitter);
ZJOB_EXPORT int
zjob_jitter_parse (const char *name);
//  "fail", "cancel", "run"
ZJOB_EXPORT const char *
zjob_on_parent_name (zjob_on_parent_t on_parent);
ZJOB_EXPORT int
zjob_on_parent_parse (const char *name);

//  --------------------------------------------------------------------------
//  Accessors. Strings and bytes are borrowed: valid while the job lives
//  and is not changed. Times are ms UTC, 0 while unset.

//  The id (ZJOB_ID_LEN characters), the workflow, the status and priority.
ZJOB_EXPORT const char *
zjob_job_id (const zjob_job_t *job);
ZJOB_EXPORT const char *
zjob_job_workflow (const zjob_job_t *job);
ZJOB_EXPORT zjob_status_t
zjob_job_status (const zjob_job_t *job);
ZJOB_EXPORT zjob_priority_t
zjob_job_priority (const zjob_job_t *job);

//  The user and the idempotency key the job was submitted with; NULL if none.
ZJOB_EXPORT const char *
zjob_job_user (const zjob_job_t *job);
ZJOB_EXPORT const char *
zjob_job_idempotency_key (const zjob_job_t *job);

//  The tags: an array of *count_p strings, NULL with *count_p 0 if none.
ZJOB_EXPORT const char *const *
zjob_job_tags (const zjob_job_t *job, size_t *count_p);

//  The inputs, metadata and outputs: one encoded msgpack map of *size_p
//  bytes, or NULL with *size_p 0 when empty (outputs: until completed).
ZJOB_EXPORT const uint8_t *
zjob_job_inputs (const zjob_job_t *job, size_t *size_p);
ZJOB_EXPORT const uint8_t *
zjob_job_metadata (const zjob_job_t *job, size_t *size_p);
ZJOB_EXPORT const uint8_t *
zjob_job_outputs (const zjob_job_t *job, size_t *size_p);

//  Progress as last reported (0.0 .. 1.0) and its message (NULL if none).
ZJOB_EXPORT float
zjob_job_progress (const zjob_job_t *job);
ZJOB_EXPORT const char *
zjob_job_progress_message (const zjob_job_t *job);

//  The error of a failed job (or of its last failed attempt): a short
//  snake_case kind and a message, each NULL if none.
ZJOB_EXPORT const char *
zjob_job_error_kind (const zjob_job_t *job);
ZJOB_EXPORT const char *
zjob_job_error_message (const zjob_job_t *job);

//  The worker holding or last holding the job, NULL if none yet.
ZJOB_EXPORT const char *
zjob_job_worker (const zjob_job_t *job);

//  Times handed to a worker, and the most allowed (0: no limit).
ZJOB_EXPORT uint32_t
zjob_job_attempts (const zjob_job_t *job);
ZJOB_EXPORT uint32_t
zjob_job_max_attempts (const zjob_job_t *job);

//  Created, last changed, last queued, first started, finished (reached a
//  terminal status), and the time it may not start before (0: at once).
ZJOB_EXPORT int64_t
zjob_job_created_at (const zjob_job_t *job);
ZJOB_EXPORT int64_t
zjob_job_updated_at (const zjob_job_t *job);
ZJOB_EXPORT int64_t
zjob_job_queued_at (const zjob_job_t *job);
ZJOB_EXPORT int64_t
zjob_job_started_at (const zjob_job_t *job);
ZJOB_EXPORT int64_t
zjob_job_completed_at (const zjob_job_t *job);
ZJOB_EXPORT int64_t
zjob_job_run_at (const zjob_job_t *job);

//  Msecs spent running and spent queued, over all attempts.
ZJOB_EXPORT int64_t
zjob_job_execution_ms (const zjob_job_t *job);
ZJOB_EXPORT int64_t
zjob_job_queued_ms (const zjob_job_t *job);

//  The retry policy in effect, resolved when the job was created (the
//  spec's values, else the workflow's defaults, else the broker's): the
//  backoff, its base, factor and cap, the jitter, and the error kinds that
//  are never retried (an array of *count_p strings, NULL if none).
ZJOB_EXPORT zjob_backoff_t
zjob_job_backoff (const zjob_job_t *job);
ZJOB_EXPORT uint32_t
zjob_job_backoff_base_ms (const zjob_job_t *job);
ZJOB_EXPORT double
zjob_job_backoff_factor (const zjob_job_t *job);
ZJOB_EXPORT uint32_t
zjob_job_backoff_max_ms (const zjob_job_t *job);
ZJOB_EXPORT zjob_jitter_t
zjob_job_jitter (const zjob_job_t *job);
ZJOB_EXPORT const char *const *
zjob_job_no_retry (const zjob_job_t *job, size_t *count_p);

//  The execution timeout of one attempt and the longest it may go without
//  a progress report, in msecs; 0: none.
ZJOB_EXPORT uint32_t
zjob_job_timeout_ms (const zjob_job_t *job);
ZJOB_EXPORT uint32_t
zjob_job_heartbeat_timeout_ms (const zjob_job_t *job);

//  The errors of its failed attempts, oldest first (at most
//  ZJOB_ERRORS_KEPT, the latest). zjob_job_error_at fills *entry (its
//  strings borrowed like the job's) and returns 0, or -1 if index is out
//  of range.
ZJOB_EXPORT size_t
zjob_job_error_count (const zjob_job_t *job);
ZJOB_EXPORT int
zjob_job_error_at (const zjob_job_t *job, size_t index, zjob_attempt_error_t *entry);

//  The attempt whose result ended the job (completed or failed), 0 if none.
ZJOB_EXPORT uint32_t
zjob_job_result_attempt (const zjob_job_t *job);

//  Workflows. The parents (ids of the jobs it depends on: an array of
//  *count_p strings, NULL with *count_p 0 if none) and what it does when
//  one fails; the outputs of its parents, handed over when it was
//  released (an encoded msgpack map {parent id: outputs bin, or nil}, NULL
//  with *size_p 0 until then); the batch, template and schedule it
//  belongs to or was made from, and the schedule's due time that made it
//  (ms UTC, 0 if none); its unique key. Each NULL (0) if none.
ZJOB_EXPORT const char *const *
zjob_job_parents (const zjob_job_t *job, size_t *count_p);
ZJOB_EXPORT zjob_on_parent_t
zjob_job_on_parent_failure (const zjob_job_t *job);
ZJOB_EXPORT const uint8_t *
zjob_job_parent_outputs (const zjob_job_t *job, size_t *size_p);
ZJOB_EXPORT const char *
zjob_job_batch (const zjob_job_t *job);
ZJOB_EXPORT const char *
zjob_job_template (const zjob_job_t *job);
ZJOB_EXPORT const char *
zjob_job_schedule (const zjob_job_t *job);
ZJOB_EXPORT int64_t
zjob_job_scheduled_for (const zjob_job_t *job);
ZJOB_EXPORT const char *
zjob_job_unique_key (const zjob_job_t *job);

#ifdef __cplusplus
}
#endif

#endif
