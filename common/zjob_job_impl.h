/*  =========================================================================
    zjob_job_impl - the job's insides, for the code zjob is built from

    zjob_job.h is the job as libzjob's users see it: an opaque type, its
    accessors, the spec it is created from. This header is the rest, which
    libzjob neither installs nor exports: the struct itself (the broker's
    queue links and reference count among its fields), the operations and
    their transition table, the setters and the msgpack codec. The broker,
    the stores, the wire codec, the worker engine and the CLI include it;
    a program built on the installed headers cannot, so none of this is
    part of the ABI and it can change in any release (docs/ARCHITECTURE.md,
    "Public API and ABI").

    The design of the job, its memory layout and its codec are described
    at the top of zjob_job.h, zjob_job.c and zjob_job_codec.c.
    ========================================================================= */

#ifndef ZJOB_JOB_IMPL_H_INCLUDED
#define ZJOB_JOB_IMPL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <msgpack.h>
#include "zjob_job.h"
#include "zjob_error.h"
#include "zjob_util.h"
#include "zjob_msgpack.h"

#ifdef __cplusplus
extern "C" {
#endif

//  What can happen to a job. The first four are the user's operations;
//  the rest are the broker's, driven by workers and by recovery.
typedef enum {
    ZJOB_OP_START = 0,  //  created/paused -> queued
    ZJOB_OP_PAUSE,      //  created/queued/running -> paused
    ZJOB_OP_RESUME,     //  paused -> queued (or running, if held)
    ZJOB_OP_CANCEL,     //  any non-terminal -> cancelled
    ZJOB_OP_DISPATCH,   //  queued -> running
    ZJOB_OP_COMPLETE,   //  running -> completed
    ZJOB_OP_FAIL,       //  running -> failed
    ZJOB_OP_REQUEUE,    //  running -> queued; paused(held) -> paused
    ZJOB_OP_RETRY,      //  running -> queued: a failed attempt, retried
    ZJOB_OP_RERUN,      //  failed/cancelled -> queued: the user's RETRY
    ZJOB_OP_RELEASE     //  waiting -> queued: its parents have settled
} zjob_op_t;
#define ZJOB_OP_COUNT 11

//  One stored attempt error; the strings are the job's (malloc'd)
typedef struct {
    uint32_t attempt;
    char *kind;
    char *message;    //  NULL if none
    char *worker_id;  //  NULL if none
    int64_t at;
} zjob_error_entry_t;

//  The errors of a job's failed attempts, oldest first, at most
//  ZJOB_ERRORS_KEPT: one malloc, grown as entries are added
typedef struct {
    uint32_t count;
    zjob_error_entry_t entries [];
} zjob_history_t;

//  A retry policy and timeouts, as resolved for a job. Immutable once
//  made; jobs with equal policies may share one (refs counts them, in the
//  one thread that owns those jobs), so it is freed with the last.
typedef struct {
    int32_t refs;
    uint32_t backoff_base_ms;
    uint32_t backoff_max_ms;
    uint32_t timeout_ms;            //  0 = none
    uint32_t heartbeat_timeout_ms;  //  0 = none
    float backoff_factor;
    uint8_t backoff;  //  zjob_backoff_t
    uint8_t jitter;   //  zjob_jitter_t
    uint16_t no_retry_count;
    char **no_retry;  //  malloc'd array of malloc'd kinds, or NULL
} zjob_policy_t;

//  Drop one reference to a policy, freeing it with the last. Accepts NULL.
void
zjob_policy_release (zjob_policy_t **self_p);

//  A new policy with one reference: values' plain fields, and a copy of
//  the count kinds (values' own no_retry is ignored). NULL if out of memory.
zjob_policy_t *
zjob_policy_new (const zjob_policy_t *values, const char *const *no_retry, size_t count);

//  True if two policies have the same values (refs aside). NULL equals NULL.
bool
zjob_policy_equal (const zjob_policy_t *a, const zjob_policy_t *b);

//  True if kind is in the policy's no_retry list.
bool
zjob_policy_no_retry (const zjob_policy_t *policy, const char *kind);

//  A job's rare fields (workflows), in one optional block so that a job
//  without any costs one pointer. The fixed ones are placed in the job's
//  single allocation, behind the tags array, when any of them is set.
typedef struct {
    //  Fixed at creation: strings point into the job's single allocation
    uint16_t parent_count;      //  0..ZJOB_PARENTS_MAX
    uint8_t on_parent_failure;  //  zjob_on_parent_t
    const char **parents;       //  parent_count job ids, NULL if none
    const char *batch_id;       //  NULL if none
    const char *template_name;  //  NULL if none (the template it was made from)
    const char *schedule_id;    //  NULL if none (the schedule that made it)
    int64_t scheduled_for;      //  ms UTC: the schedule's due time; 0 if none
    const char *unique_key;     //  NULL if none
    //  Changing: malloc'd msgpack map {parent id: outputs bin | nil}, set
    //  when the job is released; freed by zjob_job_destroy
    zjob_bytes_t parent_outputs;
    //  Process-local, never encoded: parents not yet settled (deps keeps it)
    uint32_t pending_parents;
} zjob_extra_t;

//  Bytes of a job's parent outputs: half of a message (proto's
//  ZJOB_MSG_MAX), so a job carrying them still fits in one
#define ZJOB_PARENT_OUTPUTS_MAX (8 << 20)

struct _zjob_job_t {
    //  Fields are ordered to leave no padding: a million queued jobs are a
    //  million of these, so every 8 bytes is 8 MB.

    //  Fixed at creation; the strings and bytes point into this allocation
    char id [ZJOB_ID_LEN + 1];    //  Time-sortable printable id
    uint8_t priority;             //  zjob_priority_t
    uint8_t status;               //  zjob_status_t
    uint8_t held;                 //  1 while a worker holds it (running,
                                  //  or paused while running)
    uint16_t tag_count;           //  Entries in tags
    uint32_t max_attempts;        //  0 = no limit
    const char *workflow_id;      //  Never NULL
    const char *user_id;          //  NULL if none
    const char **tags;            //  tag_count strings, NULL if none
    zjob_bytes_t inputs;          //  Encoded msgpack map
    zjob_bytes_t metadata;        //  Encoded msgpack map, may be empty
    const char *idempotency_key;  //  NULL if none
    int64_t run_at;               //  ms UTC; 0 = as soon as queued

    //  Changes over the job's life
    uint32_t attempts;       //  Times handed to a worker
    float progress;          //  0.0 .. 1.0
    int64_t created_at;      //  ms UTC
    int64_t updated_at;      //  ms UTC, every change
    int64_t queued_at;       //  ms UTC of the last enqueue, 0 if never
    int64_t started_at;      //  ms UTC of the first dispatch, 0 if never
    int64_t completed_at;    //  ms UTC of reaching a terminal state
    int64_t execution_ms;    //  Time spent running, all attempts
    int64_t queued_ms;       //  Time spent queued, all attempts
    char *progress_message;  //  NULL if none
    char *error_kind;        //  NULL unless failed (or last attempt failed)
    char *error_message;     //  NULL unless failed
    char *worker_id;         //  Worker holding or last holding the job
    zjob_bytes_t outputs;    //  Encoded map, set when completed

    //  The retry policy in effect (resolved at creation), often shared
    //  by many jobs, and the attempt errors: 16 bytes for a job that has
    //  none (the budget is 300 bytes a queued job)
    zjob_policy_t *policy;    //  NULL: no policy resolved (all zero)
    zjob_history_t *history;  //  NULL: no attempt failed yet
    zjob_extra_t *extra;      //  NULL: no workflow field (parents, batch, ...)

    //  Process-local bookkeeping, never encoded
    int32_t refs;             //  References held
    uint32_t result_attempt;  //  Attempt whose result ended it, 0 if none
    zjob_job_t *next;         //  Intrusive links for the owner's queue
    zjob_job_t *prev;
    uint64_t seq;  //  Enqueue order, set by the owner
};

//  Create a job from spec with a new id, status created and the times set
//  to now. Validates every field; on a bad one returns NULL and fills err
//  (ZJOB_BAD_REQUEST or ZJOB_TOO_LARGE). The caller owns one reference.
zjob_job_t *
zjob_job_new (const zjob_spec_t *spec, zjob_error_t *err);

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
//  The outputs of the job's parents, at its release: an encoded msgpack
//  map of at most ZJOB_PARENT_OUTPUTS_MAX bytes, NULL to clear; only a job with
//  parents has them (else ZJOB_BAD_REQUEST).
int
zjob_job_set_parent_outputs (zjob_job_t *job, const uint8_t *data, size_t size,
                             zjob_error_t *err);

//  A failed attempt: append {attempt, kind, message, worker_id, at} to
//  the job's history (strings cut to their limits; the oldest entry is
//  dropped beyond ZJOB_ERRORS_KEPT) and make kind/message the job's
//  error_kind/error_message. The history is replaced by a new block, and
//  the one it replaces (NULL if none) is handed back in *replaced_p: the
//  caller ends the change with zjob_job_history_settle once it is stored,
//  or zjob_job_history_undo to put the job's history back as it was
//  (error_kind/error_message are the caller's to restore, as a snapshot
//  does). Returns 0, or -1 if out of memory (nothing changed).
int
zjob_job_add_error (zjob_job_t *job, uint32_t attempt, const char *kind, const char *message,
                    const char *worker_id, int64_t at, zjob_history_t **replaced_p);
void
zjob_job_history_settle (zjob_job_t *job, zjob_history_t *replaced);
void
zjob_job_history_undo (zjob_job_t *job, zjob_history_t *replaced);

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

//  The operation's name ("pause"), as in logs and errors.
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
