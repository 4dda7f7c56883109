/*  =========================================================================
    test_zjob_job - what the job model's tests share

    A seeded random source, sample encoded maps, sample jobs (minimal and
    with every field set), and the assertions that two jobs are equal, that
    a job's fixed fields lie in its one allocation, and that a decoded job
    obeys every rule zjob_job_new enforces. Included by tests/test_zjob_job*.c;
    its functions are static inline, so a file that uses some of them gets
    no warning for the others.
    ========================================================================= */

#ifndef TEST_ZJOB_JOB_H_INCLUDED
#define TEST_ZJOB_JOB_H_INCLUDED

#include <criterion/criterion.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_job_impl.h"

//  Deterministic random numbers for reproducible tests
static inline uint64_t
s_rand (uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

//  An encoded map {"a": 1, "b": "xyz"}
static const uint8_t s_map [] = { 0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0xa3, 'x', 'y', 'z' };
//  An encoded map {"n": [1, 2, 3]}
static const uint8_t s_map2 [] = { 0x81, 0xa1, 'n', 0x93, 0x01, 0x02, 0x03 };
//  An encoded map {"ok": true}
static const uint8_t s_map3 [] = { 0x81, 0xa2, 'o', 'k', 0xc3 };

static inline zjob_job_t *
s_new_minimal (void)
{
    zjob_spec_t spec = { .workflow_id = "wf" };
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    return job;
}

//  A job with every field set, as a long-running one would be
static inline zjob_job_t *
s_new_full (void)
{
    const char *tags [] = { "blue", "green", "red" };
    zjob_spec_t spec = {
        .workflow_id = "image.resize",
        .inputs = s_map,
        .inputs_size = sizeof (s_map),
        .priority = ZJOB_PRIORITY_HIGH,
        .user_id = "alice@example.com",
        .tags = tags,
        .tag_count = 3,
        .metadata = s_map2,
        .metadata_size = sizeof (s_map2),
        .idempotency_key = "req-42",
        .max_attempts = 5,
        .run_at = 1700000000123
    };
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    job->status = ZJOB_PAUSED;
    job->held = 1;
    job->attempts = 3;
    cr_assert_eq (zjob_job_set_progress (job, 0.25f, "a quarter done", &err), 0);
    cr_assert_eq (zjob_job_set_error (job, "Timeout", "took too long: 30 s"), 0);
    cr_assert_eq (zjob_job_set_worker (job, "worker-7@host"), 0);
    cr_assert_eq (zjob_job_set_outputs (job, s_map3, sizeof (s_map3), &err), 0);
    job->created_at = 1700000000001;
    job->updated_at = 1700000000009;
    job->queued_at = 1700000000002;
    job->started_at = 1700000000003;
    job->completed_at = 1700000000004;
    job->execution_ms = 123456789012;
    job->queued_ms = 42;
    job->seq = 77;
    return job;
}

//  Two parent ids, fixed (valid Crockford base32 ids)
#define S_PARENT_A "0000000000000000000A"
#define S_PARENT_B "0000000000000000000B"

//  A job with every workflow field set: parents, on_parent_failure, batch,
//  template, schedule, scheduled_for, unique key, and parent outputs
//  {A: {ok: true}, B: nil}
static inline zjob_job_t *
s_new_workflow (void)
{
    const char *parents [] = { S_PARENT_A, S_PARENT_B };
    zjob_spec_t spec = { .workflow_id = "etl.load",
                         .depends_on = parents,
                         .depends_on_count = 2,
                         .on_parent_failure = ZJOB_ON_PARENT_RUN,
                         .batch_id = "nightly-2026-12-05",
                         .template_name = "etl",
                         .unique_key = "load:customers",
                         .schedule_id = "every-night",
                         .scheduled_for = 1700000000500 };
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    //  {A: bin {ok: true}, B: nil}
    uint8_t pout [64];
    size_t size = 0;
    pout [size++] = 0x82;
    pout [size++] = 0xa0 | 20;
    memcpy (pout + size, S_PARENT_A, 20);
    size += 20;
    pout [size++] = 0xc4;
    pout [size++] = sizeof (s_map3);
    memcpy (pout + size, s_map3, sizeof (s_map3));
    size += sizeof (s_map3);
    pout [size++] = 0xa0 | 20;
    memcpy (pout + size, S_PARENT_B, 20);
    size += 20;
    pout [size++] = 0xc0;
    cr_assert_eq (zjob_job_set_parent_outputs (job, pout, size, &err), 0, "%s", err.text);
    job->status = ZJOB_WAITING;
    return job;
}

static inline void
s_assert_str_field (const char *a, const char *b, const char *name)
{
    if (a == NULL || b == NULL)
        cr_assert (a == b, "%s: %s vs %s", name, a ? a : "(null)", b ? b : "(null)");
    else
        cr_assert_str_eq (a, b, "%s differs", name);
}

static inline void
s_assert_bytes_field (zjob_bytes_t a, zjob_bytes_t b, const char *name)
{
    cr_assert_eq (a.size, b.size, "%s: size %zu vs %zu", name, a.size, b.size);
    if (a.size)
        cr_assert_eq (memcmp (a.data, b.data, a.size), 0, "%s differs", name);
    else
        cr_assert (a.data == NULL && b.data == NULL, "%s: empty but not NULL", name);
}

//  Every encoded field of a and b is equal
static inline void
s_assert_jobs_equal (const zjob_job_t *a, const zjob_job_t *b)
{
    cr_assert_str_eq (a->id, b->id);
    cr_assert_str_eq (a->workflow_id, b->workflow_id);
    cr_assert_eq (a->priority, b->priority);
    cr_assert_eq (a->status, b->status);
    cr_assert_eq (a->held, b->held);
    s_assert_str_field (a->user_id, b->user_id, "user_id");
    cr_assert_eq (a->tag_count, b->tag_count);
    for (size_t i = 0; i < a->tag_count; i++)
        cr_assert_str_eq (a->tags [i], b->tags [i]);
    if (a->tag_count == 0)
        cr_assert (a->tags == NULL && b->tags == NULL);
    s_assert_bytes_field (a->inputs, b->inputs, "inputs");
    s_assert_bytes_field (a->metadata, b->metadata, "metadata");
    s_assert_str_field (a->idempotency_key, b->idempotency_key, "idempotency_key");
    cr_assert_eq (a->max_attempts, b->max_attempts);
    cr_assert_eq (a->run_at, b->run_at);
    cr_assert_eq (a->attempts, b->attempts);
    cr_assert_eq (a->progress, b->progress);
    cr_assert_eq (a->created_at, b->created_at);
    cr_assert_eq (a->updated_at, b->updated_at);
    cr_assert_eq (a->queued_at, b->queued_at);
    cr_assert_eq (a->started_at, b->started_at);
    cr_assert_eq (a->completed_at, b->completed_at);
    cr_assert_eq (a->execution_ms, b->execution_ms);
    cr_assert_eq (a->queued_ms, b->queued_ms);
    s_assert_str_field (a->progress_message, b->progress_message, "progress_message");
    s_assert_str_field (a->error_kind, b->error_kind, "error_kind");
    s_assert_str_field (a->error_message, b->error_message, "error_message");
    s_assert_str_field (a->worker_id, b->worker_id, "worker_id");
    s_assert_bytes_field (a->outputs, b->outputs, "outputs");
    //  The workflow fields (absent: no extra block on either)
    cr_assert_eq (a->extra == NULL, b->extra == NULL, "extra block on one only");
    if (a->extra) {
        cr_assert_eq (a->extra->parent_count, b->extra->parent_count);
        for (size_t i = 0; i < a->extra->parent_count; i++)
            cr_assert_str_eq (a->extra->parents [i], b->extra->parents [i]);
        cr_assert_eq (a->extra->on_parent_failure, b->extra->on_parent_failure);
        s_assert_str_field (a->extra->batch_id, b->extra->batch_id, "batch_id");
        s_assert_str_field (a->extra->template_name, b->extra->template_name, "template");
        s_assert_str_field (a->extra->schedule_id, b->extra->schedule_id, "schedule_id");
        s_assert_str_field (a->extra->unique_key, b->extra->unique_key, "unique_key");
        cr_assert_eq (a->extra->scheduled_for, b->extra->scheduled_for);
        s_assert_bytes_field (a->extra->parent_outputs, b->extra->parent_outputs,
                              "parent_outputs");
    }
}

//  True if [ptr, ptr + size) lies in the job's own allocation
static inline bool
s_in_block (const zjob_job_t *job, const void *ptr, size_t size)
{
    const char *start = (const char *) job;
    const char *end = start + malloc_usable_size ((void *) job);
    return (const char *) ptr >= start + sizeof (zjob_job_t)
        && (const char *) ptr + size <= end;
}

//  Every creation-fixed field points into the job's single allocation
static inline void
s_assert_single_block (const zjob_job_t *job)
{
    cr_assert (s_in_block (job, job->workflow_id, strlen (job->workflow_id) + 1));
    if (job->user_id)
        cr_assert (s_in_block (job, job->user_id, strlen (job->user_id) + 1));
    if (job->idempotency_key)
        cr_assert (s_in_block (job, job->idempotency_key, strlen (job->idempotency_key) + 1));
    if (job->tag_count) {
        cr_assert (s_in_block (job, job->tags, job->tag_count * sizeof (char *)));
        cr_assert_eq ((uintptr_t) job->tags % _Alignof(char *), 0);
        for (size_t i = 0; i < job->tag_count; i++)
            cr_assert (s_in_block (job, job->tags [i], strlen (job->tags [i]) + 1));
    }
    if (job->inputs.size)
        cr_assert (s_in_block (job, job->inputs.data, job->inputs.size));
    if (job->metadata.size)
        cr_assert (s_in_block (job, job->metadata.data, job->metadata.size));
    const zjob_extra_t *extra = job->extra;
    if (extra) {
        cr_assert (s_in_block (job, extra, sizeof (zjob_extra_t)));
        cr_assert_eq ((uintptr_t) extra % _Alignof(zjob_extra_t), 0);
        if (extra->parent_count) {
            cr_assert (s_in_block (job, extra->parents, extra->parent_count * sizeof (char *)));
            cr_assert_eq ((uintptr_t) extra->parents % _Alignof(char *), 0);
        }
        for (size_t i = 0; i < extra->parent_count; i++)
            cr_assert (s_in_block (job, extra->parents [i], ZJOB_ID_LEN + 1));
        const char *names [] = { extra->batch_id, extra->template_name, extra->schedule_id,
                                 extra->unique_key };
        for (size_t i = 0; i < 4; i++)
            if (names [i])
                cr_assert (s_in_block (job, names [i], strlen (names [i]) + 1));
        if (extra->parent_outputs.size)
            cr_assert_not (s_in_block (job, extra->parent_outputs.data, 1));
    }
    //  And the changing fields do not
    if (job->progress_message)
        cr_assert_not (s_in_block (job, job->progress_message, 1));
    if (job->outputs.size)
        cr_assert_not (s_in_block (job, job->outputs.data, 1));
}

//  A decoded job obeys every rule zjob_job_new enforces
static inline void
s_assert_job_valid (const zjob_job_t *job)
{
    cr_assert (zjob_id_valid (job->id));
    cr_assert (zjob_name_valid (job->workflow_id));
    cr_assert (job->user_id == NULL || zjob_name_valid (job->user_id));
    cr_assert (job->idempotency_key == NULL || zjob_name_valid (job->idempotency_key));
    cr_assert_leq (job->tag_count, ZJOB_TAGS_MAX);
    for (size_t i = 0; i < job->tag_count; i++)
        cr_assert (zjob_name_valid (job->tags [i]));
    cr_assert_lt (job->priority, ZJOB_PRIORITY_COUNT);
    cr_assert_lt (job->status, ZJOB_STATUS_COUNT);
    cr_assert (job->inputs.size == 0 || zjob_msgpack_is_map (job->inputs.data, job->inputs.size));
    cr_assert (job->metadata.size == 0
               || zjob_msgpack_is_map (job->metadata.data, job->metadata.size));
    cr_assert (job->outputs.size == 0
               || zjob_msgpack_is_map (job->outputs.data, job->outputs.size));
    cr_assert (job->progress >= 0.0f && job->progress <= 1.0f);
    cr_assert (job->created_at >= 0 && job->updated_at >= 0 && job->run_at >= 0);
    cr_assert (!job->error_kind || strlen (job->error_kind) <= ZJOB_NAME_MAX);
    cr_assert (!job->worker_id || strlen (job->worker_id) <= ZJOB_NAME_MAX);
    cr_assert (!job->error_message || strlen (job->error_message) <= ZJOB_MESSAGE_MAX);
    cr_assert (!job->progress_message || strlen (job->progress_message) <= ZJOB_MESSAGE_MAX);
    cr_assert_eq (job->refs, 1);
    s_assert_single_block (job);
}

#endif
