/*  =========================================================================
    test_zjob_job - the job model: creation, setters, transitions, codec

    The transition table is checked against an independent statement of
    the rules (the list of legal moves in s_legal below), for every
    operation, status and held flag. The codec is checked by round trips
    and by damaged input: every truncation, seeded random byte flips and a
    wrong type in every field. Run under AddressSanitizer, the damaged-input
    tests also prove that nothing leaks or reads out of bounds.
    ========================================================================= */

#include <criterion/criterion.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_job_impl.h"

//  Deterministic random numbers for reproducible tests
static uint64_t
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

static zjob_job_t *
s_new_minimal (void)
{
    zjob_spec_t spec = { .workflow_id = "wf" };
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    return job;
}

//  A job with every field set, as a long-running one would be
static zjob_job_t *
s_new_full (void)
{
    const char *tags [] = { "blue", "green", "red" };
    zjob_spec_t spec = {
        .workflow_id = "image.resize",
        .inputs = s_map, .inputs_size = sizeof (s_map),
        .priority = ZJOB_PRIORITY_HIGH,
        .user_id = "alice@example.com",
        .tags = tags, .tag_count = 3,
        .metadata = s_map2, .metadata_size = sizeof (s_map2),
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

static void
s_assert_str_field (const char *a, const char *b, const char *name)
{
    if (a == NULL || b == NULL)
        cr_assert (a == b, "%s: %s vs %s", name, a? a: "(null)", b? b: "(null)");
    else
        cr_assert_str_eq (a, b, "%s differs", name);
}

static void
s_assert_bytes_field (zjob_bytes_t a, zjob_bytes_t b, const char *name)
{
    cr_assert_eq (a.size, b.size, "%s: size %zu vs %zu", name, a.size, b.size);
    if (a.size)
        cr_assert_eq (memcmp (a.data, b.data, a.size), 0, "%s differs", name);
    else
        cr_assert (a.data == NULL && b.data == NULL, "%s: empty but not NULL", name);
}

//  Every encoded field of a and b is equal
static void
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
}

//  True if [ptr, ptr + size) lies in the job's own allocation
static bool
s_in_block (const zjob_job_t *job, const void *ptr, size_t size)
{
    const char *start = (const char *) job;
    const char *end = start + malloc_usable_size ((void *) job);
    return (const char *) ptr >= start + sizeof (zjob_job_t)
        && (const char *) ptr + size <= end;
}

//  Every creation-fixed field points into the job's single allocation
static void
s_assert_single_block (const zjob_job_t *job)
{
    cr_assert (s_in_block (job, job->workflow_id, strlen (job->workflow_id) + 1));
    if (job->user_id)
        cr_assert (s_in_block (job, job->user_id, strlen (job->user_id) + 1));
    if (job->idempotency_key)
        cr_assert (s_in_block (job, job->idempotency_key, strlen (job->idempotency_key) + 1));
    if (job->tag_count) {
        cr_assert (s_in_block (job, job->tags, job->tag_count * sizeof (char *)));
        cr_assert_eq ((uintptr_t) job->tags % _Alignof (char *), 0);
        for (size_t i = 0; i < job->tag_count; i++)
            cr_assert (s_in_block (job, job->tags [i], strlen (job->tags [i]) + 1));
    }
    if (job->inputs.size)
        cr_assert (s_in_block (job, job->inputs.data, job->inputs.size));
    if (job->metadata.size)
        cr_assert (s_in_block (job, job->metadata.data, job->metadata.size));
    //  And the changing fields do not
    if (job->progress_message)
        cr_assert_not (s_in_block (job, job->progress_message, 1));
    if (job->outputs.size)
        cr_assert_not (s_in_block (job, job->outputs.data, 1));
}

//  A decoded job obeys every rule zjob_job_new enforces
static void
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


//  --------------------------------------------------------------------------
//  Creation

Test (job_new, minimal_spec_takes_defaults)
{
    int64_t before = zjob_clock_ms ();
    zjob_job_t *job = s_new_minimal ();
    int64_t after = zjob_clock_ms ();
    cr_assert (zjob_id_valid (job->id));
    cr_assert_str_eq (job->workflow_id, "wf");
    cr_assert_eq (job->status, ZJOB_CREATED);
    cr_assert_eq (job->priority, ZJOB_PRIORITY_LOW);
    cr_assert_eq (job->held, 0);
    cr_assert_null (job->user_id);
    cr_assert_null (job->tags);
    cr_assert_eq (job->tag_count, 0);
    cr_assert_null (job->inputs.data);
    cr_assert_eq (job->inputs.size, 0);
    cr_assert_null (job->metadata.data);
    cr_assert_eq (job->metadata.size, 0);
    cr_assert_null (job->idempotency_key);
    cr_assert_eq (job->max_attempts, 0);
    cr_assert_eq (job->run_at, 0);
    cr_assert_eq (job->attempts, 0);
    cr_assert_eq (job->progress, 0.0f);
    cr_assert (job->created_at >= before && job->created_at <= after);
    cr_assert_eq (job->updated_at, job->created_at);
    cr_assert_eq (job->queued_at, 0);
    cr_assert_eq (job->started_at, 0);
    cr_assert_eq (job->completed_at, 0);
    cr_assert_null (job->progress_message);
    cr_assert_null (job->error_kind);
    cr_assert_null (job->error_message);
    cr_assert_null (job->worker_id);
    cr_assert_null (job->outputs.data);
    cr_assert_eq (job->refs, 1);
    cr_assert_null (job->next);
    cr_assert_null (job->prev);
    zjob_job_destroy (&job);
    cr_assert_null (job);
}

Test (job_new, full_spec_is_copied_into_one_block)
{
    char workflow [] = "image.resize";
    char tag0 [] = "blue";
    const char *tags [] = { tag0, "green" };
    uint8_t inputs [sizeof (s_map)];
    memcpy (inputs, s_map, sizeof (s_map));
    zjob_spec_t spec = {
        .workflow_id = workflow, .inputs = inputs, .inputs_size = sizeof (inputs),
        .priority = ZJOB_PRIORITY_CRITICAL, .user_id = "bob", .tags = tags, .tag_count = 2,
        .metadata = s_map2, .metadata_size = sizeof (s_map2),
        .idempotency_key = "k1", .max_attempts = 9, .run_at = 12345
    };
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    //  The spec's memory is borrowed: change it, the job keeps its copy
    workflow [0] = 'X';
    tag0 [0] = 'X';
    inputs [3] = 0x7f;
    cr_assert_str_eq (job->workflow_id, "image.resize");
    cr_assert_str_eq (job->tags [0], "blue");
    cr_assert_str_eq (job->tags [1], "green");
    cr_assert_eq (job->inputs.size, sizeof (s_map));
    cr_assert_eq (memcmp (job->inputs.data, s_map, sizeof (s_map)), 0);
    cr_assert_eq (memcmp (job->metadata.data, s_map2, sizeof (s_map2)), 0);
    cr_assert_str_eq (job->user_id, "bob");
    cr_assert_str_eq (job->idempotency_key, "k1");
    cr_assert_eq (job->priority, ZJOB_PRIORITY_CRITICAL);
    cr_assert_eq (job->max_attempts, 9);
    cr_assert_eq (job->run_at, 12345);
    s_assert_single_block (job);
    zjob_job_destroy (&job);
}

Test (job_new, queued_job_stays_under_300_bytes)
{
    //  The memory target: one queued job, beyond its inputs, <= 300 bytes.
    //  This allocation is the job's whole footprint in common/; glibc adds
    //  an 8-byte header and rounds chunks to 16 bytes.
    zjob_spec_t spec = { .workflow_id = "thumbnails", .inputs = s_map,
                         .inputs_size = sizeof (s_map) };
    zjob_job_t *job = zjob_job_new (&spec, NULL);
    cr_assert_not_null (job);
    size_t footprint = ((malloc_usable_size (job) + 8 + 15) & ~(size_t) 15) - sizeof (s_map);
    cr_log_info ("struct %zu bytes, job block %zu bytes, footprint %zu bytes",
                 sizeof (zjob_job_t), malloc_usable_size (job), footprint);
    cr_assert_leq (footprint, 300);
    zjob_job_destroy (&job);
}

Test (job_new, name_limits)
{
    char name [ZJOB_NAME_MAX + 2];
    memset (name, 'n', ZJOB_NAME_MAX);
    name [ZJOB_NAME_MAX] = 0;
    const char *tags [] = { name };
    zjob_spec_t spec = { .workflow_id = name, .user_id = name, .idempotency_key = name,
                         .tags = tags, .tag_count = 1 };
    zjob_job_t *job = zjob_job_new (&spec, NULL);
    cr_assert_not_null (job, "names of exactly ZJOB_NAME_MAX bytes are valid");
    zjob_job_destroy (&job);
    //  Every printable ASCII character but space is allowed
    char all [100];
    int n = 0;
    for (int c = '!'; c <= '~'; c++)
        if (n < ZJOB_NAME_MAX)
            all [n++] = (char) c;
    all [n] = 0;
    spec = (zjob_spec_t) { .workflow_id = all };
    job = zjob_job_new (&spec, NULL);
    cr_assert_not_null (job);
    zjob_job_destroy (&job);
}

//  Expect creation to fail with code and a message starting with prefix
static void
s_expect_refused (const zjob_spec_t *spec, int code, const char *prefix)
{
    zjob_error_t err;
    zjob_error_clear (&err);
    zjob_job_t *job = zjob_job_new (spec, &err);
    cr_assert_null (job, "spec accepted; expected \"%s\"", prefix);
    cr_assert_eq (err.code, code, "code %d (%s), expected %d", err.code, err.text, code);
    cr_assert_eq (strncmp (err.text, prefix, strlen (prefix)), 0,
                  "message \"%s\" does not start with \"%s\"", err.text, prefix);
    //  And without an error record it fails the same way
    cr_assert_null (zjob_job_new (spec, NULL));
}

Test (job_new, each_name_field_is_validated)
{
    char too_long [ZJOB_NAME_MAX + 2];
    memset (too_long, 'x', ZJOB_NAME_MAX + 1);
    too_long [ZJOB_NAME_MAX + 1] = 0;
    const char *bad [] = { "", too_long, "has space", "tab\there", "nl\n", "del\x7f",
                           "caf\xc3\xa9" };
    const int codes [] = { ZJOB_BAD_REQUEST, ZJOB_TOO_LARGE, ZJOB_BAD_REQUEST,
                           ZJOB_BAD_REQUEST, ZJOB_BAD_REQUEST, ZJOB_BAD_REQUEST,
                           ZJOB_BAD_REQUEST };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++) {
        zjob_spec_t spec = { .workflow_id = bad [i] };
        s_expect_refused (&spec, codes [i], "workflow_id: ");
        spec = (zjob_spec_t) { .workflow_id = "wf", .user_id = bad [i] };
        s_expect_refused (&spec, codes [i], "user_id: ");
        spec = (zjob_spec_t) { .workflow_id = "wf", .idempotency_key = bad [i] };
        s_expect_refused (&spec, codes [i], "idempotency_key: ");
        const char *tags [] = { "fine", bad [i] };
        spec = (zjob_spec_t) { .workflow_id = "wf", .tags = tags, .tag_count = 2 };
        s_expect_refused (&spec, codes [i], "tags[1]: ");
    }
    zjob_spec_t spec = { .workflow_id = NULL };
    s_expect_refused (&spec, ZJOB_BAD_REQUEST, "workflow_id: required");
    s_expect_refused (NULL, ZJOB_BAD_REQUEST, "job: ");
}

Test (job_new, tags_are_validated)
{
    const char *tags [ZJOB_TAGS_MAX + 1];
    char names [ZJOB_TAGS_MAX + 1][8];
    for (int i = 0; i <= ZJOB_TAGS_MAX; i++) {
        snprintf (names [i], sizeof (names [i]), "t%d", i);
        tags [i] = names [i];
    }
    zjob_spec_t spec = { .workflow_id = "wf", .tags = tags, .tag_count = ZJOB_TAGS_MAX };
    zjob_job_t *job = zjob_job_new (&spec, NULL);
    cr_assert_not_null (job);
    cr_assert_eq (job->tag_count, ZJOB_TAGS_MAX);
    cr_assert_str_eq (job->tags [ZJOB_TAGS_MAX - 1], "t31");
    s_assert_single_block (job);
    zjob_job_destroy (&job);

    spec.tag_count = ZJOB_TAGS_MAX + 1;
    s_expect_refused (&spec, ZJOB_TOO_LARGE, "tags: more than 32");
    spec = (zjob_spec_t) { .workflow_id = "wf", .tags = NULL, .tag_count = 1 };
    s_expect_refused (&spec, ZJOB_BAD_REQUEST, "tags: ");
    const char *with_null [] = { "a", NULL };
    spec = (zjob_spec_t) { .workflow_id = "wf", .tags = with_null, .tag_count = 2 };
    s_expect_refused (&spec, ZJOB_BAD_REQUEST, "tags[1]: required");
    const char *twice [] = { "a", "b", "a" };
    spec = (zjob_spec_t) { .workflow_id = "wf", .tags = twice, .tag_count = 3 };
    s_expect_refused (&spec, ZJOB_BAD_REQUEST, "tags: \"a\" given twice");
}

Test (job_new, inputs_and_metadata_must_be_maps)
{
    static const uint8_t array [] = { 0x91, 0x01 };
    static const uint8_t string [] = { 0xa1, 'x' };
    static const uint8_t truncated [] = { 0x82, 0xa1, 'a', 0x01 };
    static const uint8_t trailing [] = { 0x80, 0x00 };
    static const uint8_t garbage [] = { 0xc1 };
    const struct { const uint8_t *data; size_t size; } bad [] = {
        { array, sizeof (array) }, { string, sizeof (string) },
        { truncated, sizeof (truncated) }, { trailing, sizeof (trailing) },
        { garbage, sizeof (garbage) }
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++) {
        zjob_spec_t spec = { .workflow_id = "wf", .inputs = bad [i].data,
                             .inputs_size = bad [i].size };
        s_expect_refused (&spec, ZJOB_BAD_REQUEST, "inputs: not a msgpack map");
        spec = (zjob_spec_t) { .workflow_id = "wf", .metadata = bad [i].data,
                               .metadata_size = bad [i].size };
        s_expect_refused (&spec, ZJOB_BAD_REQUEST, "metadata: not a msgpack map");
    }
    zjob_spec_t spec = { .workflow_id = "wf", .inputs = NULL, .inputs_size = 4 };
    s_expect_refused (&spec, ZJOB_BAD_REQUEST, "inputs: ");

    //  An explicit empty map is kept as given; size 0 is the empty map
    static const uint8_t empty [] = { 0x80 };
    spec = (zjob_spec_t) { .workflow_id = "wf", .inputs = empty, .inputs_size = 1,
                           .metadata = empty, .metadata_size = 0 };
    zjob_job_t *job = zjob_job_new (&spec, NULL);
    cr_assert_not_null (job);
    cr_assert_eq (job->inputs.size, 1);
    cr_assert_eq (job->metadata.size, 0);
    cr_assert_null (job->metadata.data);
    zjob_job_destroy (&job);
}

//  A map of exactly size bytes: {"d": bin}
static uint8_t *
s_map_of_size (size_t size)
{
    uint8_t *data = malloc (size);
    cr_assert_not_null (data);
    size_t bin = size - 8;              //  map1 + fixstr "d" + bin32 header
    data [0] = 0x81;
    data [1] = 0xa1;
    data [2] = 'd';
    data [3] = 0xc6;
    data [4] = (uint8_t) (bin >> 24);
    data [5] = (uint8_t) (bin >> 16);
    data [6] = (uint8_t) (bin >> 8);
    data [7] = (uint8_t) bin;
    memset (data + 8, 0xAB, bin);
    cr_assert (zjob_msgpack_is_map (data, size));
    return data;
}

Test (job_new, data_size_limits)
{
    uint8_t *largest = s_map_of_size (ZJOB_DATA_MAX);
    zjob_spec_t spec = { .workflow_id = "wf", .inputs = largest, .inputs_size = ZJOB_DATA_MAX,
                         .metadata = largest, .metadata_size = ZJOB_DATA_MAX };
    zjob_job_t *job = zjob_job_new (&spec, NULL);
    cr_assert_not_null (job);
    s_assert_single_block (job);
    zjob_job_destroy (&job);
    free (largest);

    uint8_t *too_large = s_map_of_size (ZJOB_DATA_MAX + 1);
    spec = (zjob_spec_t) { .workflow_id = "wf", .inputs = too_large,
                           .inputs_size = ZJOB_DATA_MAX + 1 };
    s_expect_refused (&spec, ZJOB_TOO_LARGE, "inputs: ");
    spec = (zjob_spec_t) { .workflow_id = "wf", .metadata = too_large,
                           .metadata_size = ZJOB_DATA_MAX + 1 };
    s_expect_refused (&spec, ZJOB_TOO_LARGE, "metadata: ");
    free (too_large);
}

Test (job_new, priority_and_run_at)
{
    zjob_spec_t spec = { .workflow_id = "wf", .priority = (zjob_priority_t) 4 };
    s_expect_refused (&spec, ZJOB_BAD_REQUEST, "priority: ");
    spec.priority = (zjob_priority_t) -2;
    s_expect_refused (&spec, ZJOB_BAD_REQUEST, "priority: ");
    spec = (zjob_spec_t) { .workflow_id = "wf", .run_at = -1 };
    s_expect_refused (&spec, ZJOB_BAD_REQUEST, "run_at: negative");
    for (int p = 0; p < ZJOB_PRIORITY_COUNT; p++) {
        spec = (zjob_spec_t) { .workflow_id = "wf", .priority = (zjob_priority_t) p };
        zjob_job_t *job = zjob_job_new (&spec, NULL);
        cr_assert_not_null (job);
        cr_assert_eq (job->priority, p);
        zjob_job_destroy (&job);
    }
}

//  No priority given is medium, the middle of the four; zero is low, a
//  priority like the others
Test (job_new, default_priority_is_medium)
{
    cr_assert_eq (ZJOB_PRIORITY_DEFAULT, ZJOB_PRIORITY_MEDIUM);
    zjob_spec_t spec = { .workflow_id = "wf", .priority = ZJOB_PRIORITY_UNSET };
    zjob_job_t *job = zjob_job_new (&spec, NULL);
    cr_assert_not_null (job);
    cr_assert_eq (job->priority, ZJOB_PRIORITY_MEDIUM);
    cr_assert_str_eq (zjob_priority_name ((zjob_priority_t) job->priority), "medium");
    //  It is stored and read back as medium, never as "unset"
    uint8_t *data;
    size_t size;
    cr_assert_eq (zjob_job_encode (job, &data, &size), 0);
    zjob_job_t *copy = zjob_job_decode (data, size, NULL);
    cr_assert_not_null (copy);
    cr_assert_eq (copy->priority, ZJOB_PRIORITY_MEDIUM);
    free (data);
    zjob_job_destroy (&copy);
    zjob_job_destroy (&job);
    spec.priority = ZJOB_PRIORITY_LOW;
    job = zjob_job_new (&spec, NULL);
    cr_assert_eq (job->priority, ZJOB_PRIORITY_LOW);
    zjob_job_destroy (&job);
}

Test (job_new, ids_of_successive_jobs_increase)
{
    zjob_job_t *a = s_new_minimal ();
    zjob_job_t *b = s_new_minimal ();
    cr_assert_lt (strcmp (a->id, b->id), 0);
    zjob_job_destroy (&a);
    zjob_job_destroy (&b);
}

Test (job_name, validity)
{
    cr_assert (zjob_name_valid ("a"));
    cr_assert (zjob_name_valid ("billing.invoice-2024_v1/ok:x"));
    cr_assert_not (zjob_name_valid (NULL));
    cr_assert_not (zjob_name_valid (""));
    cr_assert_not (zjob_name_valid ("a b"));
    cr_assert_not (zjob_name_valid ("\x01"));
    cr_assert_not (zjob_name_valid ("\xff"));
    char name [ZJOB_NAME_MAX + 2];
    memset (name, 'a', sizeof (name));
    name [ZJOB_NAME_MAX] = 0;
    cr_assert (zjob_name_valid (name));
    name [ZJOB_NAME_MAX] = 'a';
    name [ZJOB_NAME_MAX + 1] = 0;
    cr_assert_not (zjob_name_valid (name));
}


//  --------------------------------------------------------------------------
//  References and copies

Test (job_refs, last_reference_frees)
{
    zjob_job_t *job = s_new_minimal ();
    zjob_job_t *other = zjob_job_ref (job);
    cr_assert_eq (other, job);
    cr_assert_eq (job->refs, 2);
    zjob_job_destroy (&other);
    cr_assert_null (other);
    cr_assert_eq (job->refs, 1);
    cr_assert_str_eq (job->workflow_id, "wf");        //  Still alive
    zjob_job_destroy (&job);
    cr_assert_null (job);
    zjob_job_destroy (&job);                          //  Twice is safe
    zjob_job_destroy (NULL);
    cr_assert_null (zjob_job_ref (NULL));
}

Test (job_dup, deep_copy_in_its_own_block)
{
    zjob_job_t *job = s_new_full ();
    zjob_job_t *other = zjob_job_ref (job);
    job->next = job->prev = job;        //  As if queued
    zjob_job_t *copy = zjob_job_dup (job);
    cr_assert_not_null (copy);
    s_assert_jobs_equal (job, copy);
    cr_assert_eq (copy->refs, 1);
    cr_assert_null (copy->next);
    cr_assert_null (copy->prev);
    cr_assert_eq (copy->seq, job->seq);
    cr_assert_neq (copy->workflow_id, job->workflow_id);
    cr_assert_neq (copy->progress_message, job->progress_message);
    cr_assert_neq (copy->outputs.data, job->outputs.data);
    s_assert_single_block (copy);
    job->next = job->prev = NULL;
    zjob_job_destroy (&other);
    zjob_job_destroy (&job);
    //  The copy outlives the original
    cr_assert_str_eq (copy->tags [2], "red");
    cr_assert_str_eq (copy->error_message, "took too long: 30 s");
    zjob_job_destroy (&copy);

    zjob_job_t *minimal = s_new_minimal ();
    copy = zjob_job_dup (minimal);
    s_assert_jobs_equal (minimal, copy);
    zjob_job_destroy (&minimal);
    zjob_job_destroy (&copy);
    cr_assert_null (zjob_job_dup (NULL));
}


//  --------------------------------------------------------------------------
//  Setters

Test (job_set, outputs)
{
    zjob_job_t *job = s_new_minimal ();
    zjob_error_t err;
    job->updated_at = 0;
    cr_assert_eq (zjob_job_set_outputs (job, s_map, sizeof (s_map), &err), 0);
    cr_assert_eq (job->outputs.size, sizeof (s_map));
    cr_assert_eq (memcmp (job->outputs.data, s_map, sizeof (s_map)), 0);
    cr_assert_gt (job->updated_at, 0);
    //  Replace, then refuse a non-map and keep the last good value
    cr_assert_eq (zjob_job_set_outputs (job, s_map3, sizeof (s_map3), &err), 0);
    static const uint8_t array [] = { 0x90 };
    cr_assert_eq (zjob_job_set_outputs (job, array, 1, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_str_eq (err.text, "outputs: not a msgpack map");
    cr_assert_eq (job->outputs.size, sizeof (s_map3));
    uint8_t *big = s_map_of_size (ZJOB_DATA_MAX + 1);
    cr_assert_eq (zjob_job_set_outputs (job, big, ZJOB_DATA_MAX + 1, &err), -1);
    cr_assert_eq (err.code, ZJOB_TOO_LARGE);
    free (big);
    //  NULL clears
    cr_assert_eq (zjob_job_set_outputs (job, NULL, 0, &err), 0);
    cr_assert_null (job->outputs.data);
    cr_assert_eq (job->outputs.size, 0);
    zjob_job_destroy (&job);
}

Test (job_set, error_truncates)
{
    zjob_job_t *job = s_new_minimal ();
    job->updated_at = 0;
    cr_assert_eq (zjob_job_set_error (job, "ValueError", "bad input"), 0);
    cr_assert_str_eq (job->error_kind, "ValueError");
    cr_assert_str_eq (job->error_message, "bad input");
    cr_assert_gt (job->updated_at, 0);

    char kind [ZJOB_NAME_MAX + 50];
    memset (kind, 'K', sizeof (kind) - 1);
    kind [sizeof (kind) - 1] = 0;
    char message [ZJOB_MESSAGE_MAX + 50];
    memset (message, 'm', sizeof (message) - 1);
    message [sizeof (message) - 1] = 0;
    cr_assert_eq (zjob_job_set_error (job, kind, message), 0);
    cr_assert_eq (strlen (job->error_kind), ZJOB_NAME_MAX);
    cr_assert_eq (strlen (job->error_message), ZJOB_MESSAGE_MAX);

    //  A cut never splits a UTF-8 sequence: "é" (2 bytes) across the limit
    message [ZJOB_MESSAGE_MAX - 1] = (char) 0xc3;
    message [ZJOB_MESSAGE_MAX] = (char) 0xa9;
    cr_assert_eq (zjob_job_set_error (job, NULL, message), 0);
    cr_assert_null (job->error_kind);
    cr_assert_eq (strlen (job->error_message), ZJOB_MESSAGE_MAX - 1);

    cr_assert_eq (zjob_job_set_error (job, NULL, NULL), 0);
    cr_assert_null (job->error_message);
    zjob_job_destroy (&job);
}

Test (job_set, progress)
{
    zjob_job_t *job = s_new_minimal ();
    zjob_error_t err;
    job->updated_at = 0;
    cr_assert_eq (zjob_job_set_progress (job, 0.5f, "half", &err), 0);
    cr_assert_eq (job->progress, 0.5f);
    cr_assert_str_eq (job->progress_message, "half");
    cr_assert_gt (job->updated_at, 0);
    cr_assert_eq (zjob_job_set_progress (job, 1.0f, NULL, &err), 0);
    cr_assert_eq (job->progress, 1.0f);
    cr_assert_null (job->progress_message);
    const float bad [] = { -0.01f, 1.01f, NAN, INFINITY, -INFINITY };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++) {
        cr_assert_eq (zjob_job_set_progress (job, bad [i], "x", &err), -1);
        cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
        cr_assert_eq (strncmp (err.text, "progress: ", 10), 0);
    }
    cr_assert_eq (job->progress, 1.0f);
    char message [ZJOB_MESSAGE_MAX + 2];
    memset (message, 'p', sizeof (message) - 1);
    message [ZJOB_MESSAGE_MAX + 1] = 0;
    cr_assert_eq (zjob_job_set_progress (job, 0.7f, message, &err), -1);
    cr_assert_eq (err.code, ZJOB_TOO_LARGE);
    message [ZJOB_MESSAGE_MAX] = 0;
    cr_assert_eq (zjob_job_set_progress (job, 0.7f, message, &err), 0);
    cr_assert_eq (strlen (job->progress_message), ZJOB_MESSAGE_MAX);
    zjob_job_destroy (&job);
}

Test (job_set, worker)
{
    zjob_job_t *job = s_new_minimal ();
    job->updated_at = 0;
    cr_assert_eq (zjob_job_set_worker (job, "w1"), 0);
    cr_assert_str_eq (job->worker_id, "w1");
    cr_assert_gt (job->updated_at, 0);
    char long_id [ZJOB_NAME_MAX + 20];
    memset (long_id, 'w', sizeof (long_id) - 1);
    long_id [sizeof (long_id) - 1] = 0;
    cr_assert_eq (zjob_job_set_worker (job, long_id), 0);
    cr_assert_eq (strlen (job->worker_id), ZJOB_NAME_MAX);
    cr_assert_eq (zjob_job_set_worker (job, NULL), 0);
    cr_assert_null (job->worker_id);
    zjob_job_destroy (&job);
}

Test (job, has_tags)
{
    const char *tags [] = { "a", "b", "c" };
    zjob_spec_t spec = { .workflow_id = "wf", .tags = tags, .tag_count = 3 };
    zjob_job_t *job = zjob_job_new (&spec, NULL);
    const char *ask_ca [] = { "c", "a" };
    const char *ask_ad [] = { "a", "d" };
    const char *ask_prefix [] = { "" };
    cr_assert (zjob_job_has_tags (job, NULL, 0));
    cr_assert (zjob_job_has_tags (job, ask_ca, 2));
    cr_assert (zjob_job_has_tags (job, tags, 3));
    cr_assert_not (zjob_job_has_tags (job, ask_ad, 2));
    cr_assert_not (zjob_job_has_tags (job, ask_prefix, 1));
    zjob_job_t *plain = s_new_minimal ();
    cr_assert (zjob_job_has_tags (plain, NULL, 0));
    cr_assert_not (zjob_job_has_tags (plain, ask_ca, 1));
    zjob_job_destroy (&plain);
    zjob_job_destroy (&job);
}


//  --------------------------------------------------------------------------
//  Transitions

//  The rules, stated as the list of legal moves. held: 0 = only when not
//  held, 1 = only when held, 2 = either. Anything not listed is a conflict.
static const struct {
    zjob_op_t op;
    zjob_status_t from;
    int held;
    zjob_status_t to;
} s_legal [] = {
    { ZJOB_OP_START,    ZJOB_CREATED, 2, ZJOB_QUEUED },
    { ZJOB_OP_START,    ZJOB_PAUSED,  0, ZJOB_QUEUED },
    { ZJOB_OP_PAUSE,    ZJOB_CREATED, 2, ZJOB_PAUSED },
    { ZJOB_OP_PAUSE,    ZJOB_QUEUED,  2, ZJOB_PAUSED },
    { ZJOB_OP_PAUSE,    ZJOB_RUNNING, 2, ZJOB_PAUSED },
    { ZJOB_OP_RESUME,   ZJOB_PAUSED,  0, ZJOB_QUEUED },
    { ZJOB_OP_RESUME,   ZJOB_PAUSED,  1, ZJOB_RUNNING },
    { ZJOB_OP_CANCEL,   ZJOB_CREATED, 2, ZJOB_CANCELLED },
    { ZJOB_OP_CANCEL,   ZJOB_QUEUED,  2, ZJOB_CANCELLED },
    { ZJOB_OP_CANCEL,   ZJOB_RUNNING, 2, ZJOB_CANCELLED },
    { ZJOB_OP_CANCEL,   ZJOB_PAUSED,  2, ZJOB_CANCELLED },
    { ZJOB_OP_DISPATCH, ZJOB_QUEUED,  2, ZJOB_RUNNING },
    { ZJOB_OP_COMPLETE, ZJOB_RUNNING, 2, ZJOB_COMPLETED },
    { ZJOB_OP_FAIL,     ZJOB_RUNNING, 2, ZJOB_FAILED },
    { ZJOB_OP_REQUEUE,  ZJOB_RUNNING, 2, ZJOB_QUEUED },
    { ZJOB_OP_REQUEUE,  ZJOB_PAUSED,  1, ZJOB_PAUSED },
};

static int
s_expected_move (zjob_op_t op, zjob_status_t from, bool held)
{
    for (size_t i = 0; i < sizeof (s_legal) / sizeof (s_legal [0]); i++)
        if (s_legal [i].op == op && s_legal [i].from == from
        && (s_legal [i].held == 2 || s_legal [i].held == (int) held))
            return s_legal [i].to;
    return -1;
}

Test (transition, every_op_status_and_held)
{
    int legal = 0;
    for (int op = 0; op < ZJOB_OP_COUNT; op++)
        for (int from = 0; from < ZJOB_STATUS_COUNT; from++)
            for (int held = 0; held <= 1; held++) {
                zjob_error_t err;
                zjob_error_clear (&err);
                int expected = s_expected_move (op, from, held);
                int got = zjob_transition (from, op, held, &err);
                cr_assert_eq (got, expected, "%s from %s (held %d): got %d, expected %d",
                              zjob_op_name (op), zjob_status_name (from), held, got, expected);
                if (expected < 0) {
                    cr_assert_eq (err.code, ZJOB_CONFLICT);
                    char status_part [64];
                    snprintf (status_part, sizeof (status_part), "job is %s",
                              zjob_status_name (from));
                    cr_assert_eq (strncmp (err.text, status_part, strlen (status_part)), 0,
                                  "message \"%s\"", err.text);
                    char op_part [64];
                    snprintf (op_part, sizeof (op_part), "; cannot %s", zjob_op_name (op));
                    cr_assert_not_null (strstr (err.text, op_part), "message \"%s\"", err.text);
                    //  NULL err is allowed
                    cr_assert_eq (zjob_transition (from, op, held, NULL), -1);
                }
                else {
                    cr_assert_eq (err.code, ZJOB_OK, "a legal move touched err");
                    legal++;
                }
            }
    //  16 moves, 12 of them for either held value
    cr_assert_eq (legal, 28);
}

Test (transition, messages_and_bad_arguments)
{
    zjob_error_t err;
    cr_assert_eq (zjob_transition (ZJOB_COMPLETED, ZJOB_OP_PAUSE, false, &err), -1);
    cr_assert_str_eq (err.text, "job is completed; cannot pause");
    cr_assert_eq (zjob_transition (ZJOB_PAUSED, ZJOB_OP_START, true, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_eq (zjob_transition ((zjob_status_t) 7, ZJOB_OP_START, false, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (zjob_transition (ZJOB_CREATED, (zjob_op_t) 8, false, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (zjob_transition ((zjob_status_t) -1, (zjob_op_t) -1, false, &err), -1);
}

Test (transition, terminal_statuses)
{
    cr_assert_not (zjob_status_terminal (ZJOB_CREATED));
    cr_assert_not (zjob_status_terminal (ZJOB_QUEUED));
    cr_assert_not (zjob_status_terminal (ZJOB_RUNNING));
    cr_assert_not (zjob_status_terminal (ZJOB_PAUSED));
    cr_assert (zjob_status_terminal (ZJOB_COMPLETED));
    cr_assert (zjob_status_terminal (ZJOB_FAILED));
    cr_assert (zjob_status_terminal (ZJOB_CANCELLED));
    //  And a terminal status accepts no operation
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
        if (zjob_status_terminal (status))
            for (int op = 0; op < ZJOB_OP_COUNT; op++)
                cr_assert_eq (zjob_transition (status, op, false, NULL), -1);
}


//  --------------------------------------------------------------------------
//  Names

Test (names, statuses_priorities_ops)
{
    const char *statuses [] = { "created", "queued", "running", "paused", "completed",
                                "failed", "cancelled" };
    for (int i = 0; i < ZJOB_STATUS_COUNT; i++) {
        cr_assert_str_eq (zjob_status_name (i), statuses [i]);
        cr_assert_eq (zjob_status_parse (statuses [i]), i);
    }
    const char *priorities [] = { "low", "medium", "high", "critical" };
    for (int i = 0; i < ZJOB_PRIORITY_COUNT; i++) {
        cr_assert_str_eq (zjob_priority_name (i), priorities [i]);
        cr_assert_eq (zjob_priority_parse (priorities [i]), i);
    }
    const char *ops [] = { "start", "pause", "resume", "cancel", "dispatch", "complete",
                           "fail", "requeue" };
    for (int i = 0; i < ZJOB_OP_COUNT; i++)
        cr_assert_str_eq (zjob_op_name (i), ops [i]);

    cr_assert_eq (zjob_status_parse ("QUEUED"), ZJOB_QUEUED);
    cr_assert_eq (zjob_status_parse ("Cancelled"), ZJOB_CANCELLED);
    cr_assert_eq (zjob_priority_parse ("HiGh"), ZJOB_PRIORITY_HIGH);
    cr_assert_eq (zjob_status_parse ("canceled"), -1);
    cr_assert_eq (zjob_status_parse (""), -1);
    cr_assert_eq (zjob_status_parse (NULL), -1);
    cr_assert_eq (zjob_status_parse ("queued "), -1);
    cr_assert_eq (zjob_priority_parse ("urgent"), -1);
    cr_assert_eq (zjob_priority_parse (NULL), -1);
    cr_assert_str_eq (zjob_status_name ((zjob_status_t) 7), "unknown");
    cr_assert_str_eq (zjob_priority_name ((zjob_priority_t) 4), "unknown");
    cr_assert_str_eq (zjob_op_name ((zjob_op_t) 8), "unknown");
}


//  --------------------------------------------------------------------------
//  msgpack maps

//  n nested single-key maps {"k": {"k": ... {}}}
static uint8_t *
s_nested_maps (int n, size_t *size_p)
{
    uint8_t *data = malloc ((size_t) n * 3 + 1);
    size_t size = 0;
    for (int i = 0; i < n; i++) {
        data [size++] = 0x81;
        data [size++] = 0xa1;
        data [size++] = 'k';
    }
    data [size++] = 0x80;
    *size_p = size;
    return data;
}

//  True if msgpack-c unpacks the bytes as exactly one object
static bool
s_msgpack_c_accepts (const uint8_t *data, size_t size)
{
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    size_t offset = 0;
    bool ok = msgpack_unpack_next (&result, (const char *) data, size, &offset)
              == MSGPACK_UNPACK_SUCCESS && offset == size;
    msgpack_unpacked_destroy (&result);
    return ok;
}

Test (msgpack, is_map)
{
    static const uint8_t empty_map [] = { 0x80 };
    static const uint8_t map16 [] = { 0xde, 0x00, 0x01, 0xa1, 'a', 0xc0 };
    static const uint8_t map32 [] = { 0xdf, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02 };
    static const uint8_t all_types [] = {
        0xde, 0x00, 0x12,                               //  map16, 18 pairs
        0x00, 0x7f,                                     //  fixint
        0xe0, 0xc0,                                     //  negative fixint, nil
        0xc2, 0xc3,                                     //  false, true
        0xa0, 0xd9, 0x01, 'x',                          //  fixstr, str8
        0xda, 0x00, 0x01, 'y', 0xdb, 0, 0, 0, 1, 'z',   //  str16, str32
        0xc4, 0x01, 0x00, 0xc5, 0x00, 0x00,             //  bin8, bin16
        0xc6, 0, 0, 0, 0, 0xca, 0, 0, 0, 0,             //  bin32, float32
        0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0xcc, 1,          //  float64, uint8
        0xcd, 0, 1, 0xce, 0, 0, 0, 1,                   //  uint16, uint32
        0xcf, 0, 0, 0, 0, 0, 0, 0, 1, 0xd0, 0xff,       //  uint64, int8
        0xd1, 0xff, 0xff, 0xd2, 0xff, 0xff, 0xff, 0xff, //  int16, int32
        0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x90,   //  int64, []
        0xdc, 0x00, 0x01, 0x01, 0xdd, 0, 0, 0, 0,       //  array16, array32
        0xd4, 1, 0, 0xd5, 1, 0, 0, 0xd6, 1, 0, 0, 0, 0, //  fixext 1, 2, 4
        0xd7, 1, 0, 0, 0, 0, 0, 0, 0, 0,                //  fixext 8
        0xd8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //  fixext 16
        0xc7, 1, 1, 0, 0xc8, 0, 1, 1, 0,                //  ext8, ext16
        0xc9, 0, 0, 0, 1, 1, 0,                         //  ext32
        0x80, 0xde, 0x00, 0x00                          //  {}, map16 {}
    };
    cr_assert (zjob_msgpack_is_map (empty_map, 1));
    cr_assert (zjob_msgpack_is_map (s_map, sizeof (s_map)));
    cr_assert (zjob_msgpack_is_map (map16, sizeof (map16)));
    cr_assert (zjob_msgpack_is_map (map32, sizeof (map32)));
    cr_assert (zjob_msgpack_is_map (all_types, sizeof (all_types)));
    cr_assert (s_msgpack_c_accepts (all_types, sizeof (all_types)));
    //  Every proper prefix is truncated
    for (size_t size = 0; size < sizeof (all_types); size++)
        cr_assert_not (zjob_msgpack_is_map (all_types, size), "prefix %zu accepted", size);

    static const uint8_t array [] = { 0x90 };
    static const uint8_t nil [] = { 0xc0 };
    static const uint8_t two_maps [] = { 0x80, 0x80 };
    static const uint8_t never_used [] = { 0x81, 0xc1, 0x01 };
    static const uint8_t huge_count [] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0x01 };
    static const uint8_t huge_array [] = { 0x81, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t huge_str [] = { 0x81, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff };
    cr_assert_not (zjob_msgpack_is_map (NULL, 0));
    cr_assert_not (zjob_msgpack_is_map (empty_map, 0));
    cr_assert_not (zjob_msgpack_is_map (array, 1));
    cr_assert_not (zjob_msgpack_is_map (nil, 1));
    cr_assert_not (zjob_msgpack_is_map (two_maps, 2));
    cr_assert_not (zjob_msgpack_is_map (never_used, sizeof (never_used)));
    cr_assert_not (zjob_msgpack_is_map (huge_count, sizeof (huge_count)));
    cr_assert_not (zjob_msgpack_is_map (huge_array, sizeof (huge_array)));
    cr_assert_not (zjob_msgpack_is_map (huge_str, sizeof (huge_str)));
}

Test (msgpack, nesting_limit_matches_msgpack_c)
{
    //  Whatever depth msgpack-c unpacks, is_map accepts, and no deeper
    for (int depth = 1; depth <= 40; depth++) {
        size_t size;
        uint8_t *data = s_nested_maps (depth, &size);
        bool ours = zjob_msgpack_is_map (data, size);
        bool theirs = s_msgpack_c_accepts (data, size);
        cr_assert_eq (ours, theirs, "depth %d: is_map %d, msgpack-c %d", depth, ours, theirs);
        if (depth <= 30)
            cr_assert (ours, "depth %d refused", depth);
        free (data);
    }
}


//  --------------------------------------------------------------------------
//  Codec: round trips

static zjob_job_t *
s_round_trip (const zjob_job_t *job, size_t *size_p)
{
    uint8_t *data;
    size_t size;
    cr_assert_eq (zjob_job_encode (job, &data, &size), 0);
    cr_assert (zjob_msgpack_is_map (data, size));
    zjob_error_t err;
    zjob_job_t *copy = zjob_job_decode (data, size, &err);
    cr_assert_not_null (copy, "decode: %s", err.text);
    free (data);
    if (size_p)
        *size_p = size;
    return copy;
}

Test (codec, full_job_round_trip)
{
    zjob_job_t *job = s_new_full ();
    size_t size;
    zjob_job_t *copy = s_round_trip (job, &size);
    s_assert_jobs_equal (job, copy);
    s_assert_job_valid (copy);
    cr_assert_null (copy->next);
    cr_assert_eq (copy->seq, 0, "seq is process-local, never encoded");
    cr_log_info ("full job: %zu bytes encoded", size);
    zjob_job_destroy (&job);
    zjob_job_destroy (&copy);
}

Test (codec, minimal_job_round_trip_is_small)
{
    zjob_job_t *job = s_new_minimal ();
    size_t size;
    zjob_job_t *copy = s_round_trip (job, &size);
    s_assert_jobs_equal (job, copy);
    s_assert_job_valid (copy);
    //  id (24) + wf (6) + pri, st (8) + ct, ut (2 x 12) + map header
    cr_assert_leq (size, 64, "minimal job takes %zu bytes", size);
    zjob_job_destroy (&job);
    zjob_job_destroy (&copy);
}

Test (codec, every_status_priority_and_extremes)
{
    zjob_job_t *job = s_new_minimal ();
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
        for (int priority = 0; priority < ZJOB_PRIORITY_COUNT; priority++) {
            job->status = (uint8_t) status;
            job->priority = (uint8_t) priority;
            job->held = (uint8_t) (status & 1);
            zjob_job_t *copy = s_round_trip (job, NULL);
            s_assert_jobs_equal (job, copy);
            zjob_job_destroy (&copy);
        }
    job->max_attempts = UINT32_MAX;
    job->attempts = UINT32_MAX;
    job->created_at = INT64_MAX;
    job->updated_at = 0;
    job->run_at = INT64_MAX;
    job->execution_ms = 1;
    job->progress = 1.0f;
    zjob_job_t *copy = s_round_trip (job, NULL);
    s_assert_jobs_equal (job, copy);
    zjob_job_destroy (&copy);
    zjob_job_destroy (&job);
}

Test (codec, pack_into_a_stream_and_from_object)
{
    zjob_job_t *job = s_new_full ();
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 2);
    cr_assert_eq (zjob_job_pack (job, &pk), 0);
    cr_assert_eq (zjob_job_pack (job, &pk), 0);

    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    size_t offset = 0;
    cr_assert_eq (msgpack_unpack_next (&result, buffer.data, buffer.size, &offset),
                  MSGPACK_UNPACK_SUCCESS);
    cr_assert_eq (result.data.type, MSGPACK_OBJECT_ARRAY);
    for (int i = 0; i < 2; i++) {
        zjob_error_t err;
        zjob_job_t *copy = zjob_job_from_object (&result.data.via.array.ptr [i], &err);
        cr_assert_not_null (copy, "%s", err.text);
        s_assert_jobs_equal (job, copy);
        s_assert_single_block (copy);
        zjob_job_destroy (&copy);
    }
    zjob_error_t err;
    cr_assert_null (zjob_job_from_object (&result.data, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_str_eq (err.text, "job: not a msgpack map");
    cr_assert_null (zjob_job_from_object (NULL, NULL));
    msgpack_unpacked_destroy (&result);
    msgpack_sbuffer_destroy (&buffer);
    zjob_job_destroy (&job);
}


//  --------------------------------------------------------------------------
//  Codec: damaged input

Test (codec, every_truncation_fails)
{
    zjob_job_t *job = s_new_full ();
    uint8_t *data;
    size_t size;
    cr_assert_eq (zjob_job_encode (job, &data, &size), 0);
    for (size_t cut = 0; cut < size; cut++) {
        //  A copy of exactly cut bytes, so ASan sees any read beyond
        uint8_t *part = malloc (cut? cut: 1);
        memcpy (part, data, cut);
        zjob_error_t err;
        zjob_error_clear (&err);
        zjob_job_t *copy = zjob_job_decode (part, cut, &err);
        cr_assert_null (copy, "a record cut to %zu of %zu bytes decoded", cut, size);
        cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
        free (part);
    }
    free (data);
    zjob_job_destroy (&job);
}

Test (codec, trailing_bytes_are_refused)
{
    zjob_job_t *job = s_new_minimal ();
    uint8_t *data;
    size_t size;
    cr_assert_eq (zjob_job_encode (job, &data, &size), 0);
    uint8_t *longer = malloc (size + 1);
    memcpy (longer, data, size);
    longer [size] = 0xc0;
    zjob_error_t err;
    cr_assert_null (zjob_job_decode (longer, size + 1, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_str_eq (err.text, "job: 1 bytes after the record");
    //  Two whole records are not one either
    uint8_t *twice = malloc (size * 2);
    memcpy (twice, data, size);
    memcpy (twice + size, data, size);
    cr_assert_null (zjob_job_decode (twice, size * 2, &err));
    cr_assert_null (zjob_job_decode (NULL, 0, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    free (twice);
    free (longer);
    free (data);
    zjob_job_destroy (&job);
}

Test (codec, random_byte_flips_fail_cleanly_or_decode_valid_jobs)
{
    zjob_job_t *job = s_new_full ();
    uint8_t *data;
    size_t size;
    cr_assert_eq (zjob_job_encode (job, &data, &size), 0);
    uint8_t *damaged = malloc (size);
    uint64_t state = 20240611;
    int decoded = 0, refused = 0;
    for (int round = 0; round < 5000; round++) {
        memcpy (damaged, data, size);
        int flips = 1 + (int) (s_rand (&state) % 3);
        for (int i = 0; i < flips; i++) {
            size_t at = s_rand (&state) % size;
            if (s_rand (&state) & 1)
                damaged [at] ^= (uint8_t) (1u << (s_rand (&state) % 8));
            else
                damaged [at] = (uint8_t) s_rand (&state);
        }
        zjob_error_t err;
        zjob_job_t *copy = zjob_job_decode (damaged, size, &err);
        if (copy) {
            s_assert_job_valid (copy);
            //  And what decodes, encodes and decodes to the same job
            zjob_job_t *again = s_round_trip (copy, NULL);
            s_assert_jobs_equal (copy, again);
            zjob_job_destroy (&again);
            zjob_job_destroy (&copy);
            decoded++;
        }
        else {
            cr_assert_eq (err.code, ZJOB_BAD_REQUEST, "%s", err.text);
            cr_assert_str_neq (err.text, "");
            refused++;
        }
    }
    cr_log_info ("byte flips: %d decoded, %d refused", decoded, refused);
    cr_assert_gt (refused, 0);
    free (damaged);
    free (data);
    zjob_job_destroy (&job);
}

//  A value packer for hand-built records
typedef void (s_pack_fn) (msgpack_packer *pk);

static void s_pack_int (msgpack_packer *pk)      { msgpack_pack_int (pk, 1); }
static void s_pack_negative (msgpack_packer *pk) { msgpack_pack_int (pk, -5); }
static void s_pack_string (msgpack_packer *pk)   { msgpack_pack_str_with_body (pk, "x", 1); }
static void s_pack_true (msgpack_packer *pk)     { msgpack_pack_true (pk); }
static void s_pack_double (msgpack_packer *pk)   { msgpack_pack_double (pk, 0.5); }
static void s_pack_array (msgpack_packer *pk)    { msgpack_pack_array (pk, 0); }
static void s_pack_map (msgpack_packer *pk)      { msgpack_pack_map (pk, 0); }
static void s_pack_nil (msgpack_packer *pk)      { msgpack_pack_nil (pk); }
static void s_pack_bin_map (msgpack_packer *pk)
{
    msgpack_pack_bin_with_body (pk, s_map, sizeof (s_map));
}
static void s_pack_bin_array (msgpack_packer *pk)
{
    static const uint8_t array [] = { 0x91, 0x01 };
    msgpack_pack_bin_with_body (pk, array, sizeof (array));
}
static void s_pack_big_uint (msgpack_packer *pk) { msgpack_pack_uint64 (pk, UINT64_MAX); }
static void s_pack_u32_over (msgpack_packer *pk) { msgpack_pack_uint64 (pk, (uint64_t) UINT32_MAX + 1); }
static void s_pack_seven (msgpack_packer *pk)    { msgpack_pack_uint8 (pk, 7); }
static void s_pack_four (msgpack_packer *pk)     { msgpack_pack_uint8 (pk, 4); }
static void s_pack_bad_id (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "0123456789ABCDEFGHJI", 20);
}
static void s_pack_short_id (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "0123456789", 10);
}
static void s_pack_spaced (msgpack_packer *pk)   { msgpack_pack_str_with_body (pk, "a b", 3); }
static void s_pack_nul (msgpack_packer *pk)      { msgpack_pack_str_with_body (pk, "a\0b", 3); }
static void s_pack_name_129 (msgpack_packer *pk)
{
    char name [ZJOB_NAME_MAX + 1];
    memset (name, 'n', sizeof (name));
    msgpack_pack_str_with_body (pk, name, sizeof (name));
}
static void s_pack_message_1025 (msgpack_packer *pk)
{
    char text [ZJOB_MESSAGE_MAX + 1];
    memset (text, 'm', sizeof (text));
    msgpack_pack_str_with_body (pk, text, sizeof (text));
}
static void s_pack_tags_33 (msgpack_packer *pk)
{
    msgpack_pack_array (pk, ZJOB_TAGS_MAX + 1);
    for (int i = 0; i <= ZJOB_TAGS_MAX; i++) {
        char tag [8];
        int len = snprintf (tag, sizeof (tag), "t%d", i);
        msgpack_pack_str_with_body (pk, tag, (size_t) len);
    }
}
static void s_pack_tags_int (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 2);
    msgpack_pack_str_with_body (pk, "a", 1);
    msgpack_pack_int (pk, 3);
}
static void s_pack_tags_twice (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 2);
    msgpack_pack_str_with_body (pk, "a", 1);
    msgpack_pack_str_with_body (pk, "a", 1);
}
static void s_pack_nested (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 1);
    msgpack_pack_str_with_body (pk, "x", 1);
    msgpack_pack_array (pk, 3);
    msgpack_pack_double (pk, 1.5);
    msgpack_pack_bin_with_body (pk, "zz", 2);
    msgpack_pack_map (pk, 0);
}

//  Encode the required fields, except the one named key, then key with
//  pack_value (if key is not NULL), then extra keys (if any)
static void
s_encode_custom (const char *key, s_pack_fn *pack_value, int repeat,
                 uint8_t **data_p, size_t *size_p)
{
    static const char *required [] = { "id", "wf", "pri", "st", "ct" };
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    int count = 0;
    for (int i = 0; i < 5; i++)
        count += !key || strcmp (key, required [i]) != 0;
    msgpack_pack_map (&pk, (size_t) count + (key? repeat: 0));
    if (key)
        for (int i = 0; i < repeat; i++) {
            msgpack_pack_str_with_body (&pk, key, strlen (key));
            pack_value (&pk);
        }
    for (int i = 0; i < 5; i++) {
        if (key && strcmp (key, required [i]) == 0)
            continue;
        msgpack_pack_str_with_body (&pk, required [i], strlen (required [i]));
        switch (i) {
            case 0: msgpack_pack_str_with_body (&pk, "01HZXM4W3B5C6D7E8F9G", 20); break;
            case 1: msgpack_pack_str_with_body (&pk, "wf", 2); break;
            case 2: msgpack_pack_uint8 (&pk, 1); break;
            case 3: msgpack_pack_uint8 (&pk, 2); break;
            case 4: msgpack_pack_int64 (&pk, 1700000000000); break;
        }
    }
    *size_p = buffer.size;
    *data_p = (uint8_t *) msgpack_sbuffer_release (&buffer);
}

static zjob_job_t *
s_decode_custom (const char *key, s_pack_fn *pack_value, zjob_error_t *err)
{
    uint8_t *data;
    size_t size;
    s_encode_custom (key, pack_value, 1, &data, &size);
    zjob_job_t *job = zjob_job_decode (data, size, err);
    free (data);
    return job;
}

static void
s_expect_decode_refused (const char *key, s_pack_fn *pack_value, const char *message)
{
    zjob_error_t err;
    zjob_error_clear (&err);
    zjob_job_t *job = s_decode_custom (key, pack_value, &err);
    cr_assert_null (job, "\"%s\" accepted; expected \"%s\"", key, message);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST, "%s: %s", key, err.text);
    cr_assert_eq (strncmp (err.text, message, strlen (message)), 0,
                  "%s: message \"%s\", expected \"%s...\"", key, err.text, message);
}

Test (codec, hand_built_base_record_decodes)
{
    zjob_error_t err;
    zjob_job_t *job = s_decode_custom (NULL, NULL, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_str_eq (job->id, "01HZXM4W3B5C6D7E8F9G");
    cr_assert_str_eq (job->workflow_id, "wf");
    cr_assert_eq (job->priority, ZJOB_PRIORITY_MEDIUM);
    cr_assert_eq (job->status, ZJOB_RUNNING);
    cr_assert_eq (job->created_at, 1700000000000);
    cr_assert_eq (job->updated_at, 1700000000000, "updated_at defaults to created_at");
    s_assert_job_valid (job);
    zjob_job_destroy (&job);
}

Test (codec, wrong_types_are_refused_per_field)
{
    const struct { const char *key; s_pack_fn *value; const char *message; } cases [] = {
        { "id",    s_pack_int,    "id: not a string" },
        { "wf",    s_pack_int,    "workflow_id: not a string" },
        { "pri",   s_pack_string, "priority: not an integer" },
        { "st",    s_pack_double, "status: not an integer" },
        { "held",  s_pack_int,    "held: not a boolean" },
        { "user",  s_pack_true,   "user_id: not a string" },
        { "tags",  s_pack_string, "tags: not an array" },
        { "tags",  s_pack_tags_int, "tags: not a string" },
        { "in",    s_pack_map,    "inputs: not bin" },
        { "in",    s_pack_string, "inputs: not bin" },
        { "meta",  s_pack_array,  "metadata: not bin" },
        { "idem",  s_pack_int,    "idempotency_key: not a string" },
        { "maxa",  s_pack_string, "max_attempts: not an integer" },
        { "runat", s_pack_double, "run_at: not an integer" },
        { "att",   s_pack_true,   "attempts: not an integer" },
        { "prog",  s_pack_string, "progress: not a number" },
        { "pmsg",  s_pack_int,    "progress_message: not a string" },
        { "ct",    s_pack_string, "created_at: not an integer" },
        { "ut",    s_pack_string, "updated_at: not an integer" },
        { "qt",    s_pack_array,  "queued_at: not an integer" },
        { "sat",   s_pack_map,    "started_at: not an integer" },
        { "cat",   s_pack_true,   "completed_at: not an integer" },
        { "xms",   s_pack_string, "execution_ms: not an integer" },
        { "qms",   s_pack_double, "queued_ms: not an integer" },
        { "ekind", s_pack_int,    "error_kind: not a string" },
        { "emsg",  s_pack_bin_map, "error_message: not a string" },
        { "wk",    s_pack_int,    "worker_id: not a string" },
        { "out",   s_pack_string, "outputs: not bin" },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++)
        s_expect_decode_refused (cases [i].key, cases [i].value, cases [i].message);
}

Test (codec, invalid_values_are_refused)
{
    const struct { const char *key; s_pack_fn *value; const char *message; } cases [] = {
        { "id",    s_pack_bad_id,    "id: not a job id" },
        { "id",    s_pack_short_id,  "id: not a job id" },
        { "wf",    s_pack_spaced,    "workflow_id: has a space" },
        { "wf",    s_pack_name_129,  "workflow_id: longer than 128" },
        { "user",  s_pack_name_129,  "user_id: longer than 128" },
        { "idem",  s_pack_spaced,    "idempotency_key: has a space" },
        { "tags",  s_pack_tags_33,   "tags: more than 32" },
        { "tags",  s_pack_tags_twice, "tags: \"a\" given twice" },
        { "pri",   s_pack_four,      "priority: 4 is out of range" },
        { "pri",   s_pack_negative,  "priority: negative" },
        { "st",    s_pack_seven,     "status: 7 is out of range" },
        { "st",    s_pack_big_uint,  "status: " },
        { "maxa",  s_pack_u32_over,  "max_attempts: 4294967296 is out of range" },
        { "att",   s_pack_negative,  "attempts: negative" },
        { "ct",    s_pack_negative,  "created_at: negative" },
        { "ct",    s_pack_big_uint,  "created_at: 18446744073709551615 is out of range" },
        { "runat", s_pack_negative,  "run_at: negative" },
        { "xms",   s_pack_big_uint,  "execution_ms: " },
        { "prog",  s_pack_negative,  "progress: not a number" },
        { "prog",  s_pack_four,      "progress: not between 0 and 1" },
        { "in",    s_pack_bin_array, "inputs: not a msgpack map" },
        { "meta",  s_pack_bin_array, "metadata: not a msgpack map" },
        { "out",   s_pack_bin_array, "outputs: not a msgpack map" },
        { "pmsg",  s_pack_message_1025, "progress_message: longer than 1024" },
        { "emsg",  s_pack_message_1025, "error_message: longer than 1024" },
        { "ekind", s_pack_name_129,  "error_kind: longer than 128" },
        { "wk",    s_pack_name_129,  "worker_id: longer than 128" },
        { "emsg",  s_pack_nul,       "error_message: has a NUL byte" },
        { "wf",    s_pack_nul,       "workflow_id: has a space, a control" },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++)
        s_expect_decode_refused (cases [i].key, cases [i].value, cases [i].message);
}

Test (codec, required_fields)
{
    const char *required [] = { "id", "wf", "pri", "st", "ct" };
    const char *fields [] = { "id", "workflow_id", "priority", "status", "created_at" };
    for (int i = 0; i < 5; i++) {
        char message [64];
        //  Missing altogether, and present as nil
        snprintf (message, sizeof (message), "%s: missing", fields [i]);
        zjob_error_t err;
        uint8_t *data;
        size_t size;
        s_encode_custom (required [i], s_pack_int, 0, &data, &size);
        cr_assert_null (zjob_job_decode (data, size, &err));
        cr_assert_str_eq (err.text, message);
        free (data);
        s_expect_decode_refused (required [i], s_pack_nil, message);
    }
}

Test (codec, optional_nil_is_unset_and_unknown_keys_are_skipped)
{
    const char *optional [] = { "held", "user", "tags", "in", "meta", "idem", "maxa",
                                "runat", "att", "prog", "pmsg", "ut", "qt", "sat", "cat",
                                "xms", "qms", "ekind", "emsg", "wk", "out" };
    for (size_t i = 0; i < sizeof (optional) / sizeof (optional [0]); i++) {
        zjob_error_t err;
        zjob_job_t *job = s_decode_custom (optional [i], s_pack_nil, &err);
        cr_assert_not_null (job, "%s: nil refused: %s", optional [i], err.text);
        s_assert_job_valid (job);
        zjob_job_destroy (&job);
    }
    //  Keys a later version may add, with any value, anywhere
    const char *unknown [] = { "retry", "x", "", "deps", "a-much-longer-key-name", "Id",
                               "ids", "w" };
    for (size_t i = 0; i < sizeof (unknown) / sizeof (unknown [0]); i++) {
        zjob_error_t err;
        zjob_job_t *job = s_decode_custom (unknown [i], s_pack_nested, &err);
        cr_assert_not_null (job, "%s: %s", unknown [i], err.text);
        cr_assert_str_eq (job->workflow_id, "wf");
        zjob_job_destroy (&job);
    }
}

Test (codec, duplicate_and_non_string_keys_are_refused)
{
    uint8_t *data;
    size_t size;
    s_encode_custom ("user", s_pack_string, 2, &data, &size);
    zjob_error_t err;
    cr_assert_null (zjob_job_decode (data, size, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_str_eq (err.text, "user_id: key \"user\" given twice");
    free (data);
    //  A key the decoder skips is refused twice all the same
    s_encode_custom ("retry", s_pack_string, 2, &data, &size);
    cr_assert_null (zjob_job_decode (data, size, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_str_eq (err.text, "job: key \"retry\" given twice");
    free (data);

    //  {1: 2, ...the base fields}
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_int (&pk, 1);
    msgpack_pack_int (&pk, 2);
    cr_assert_null (zjob_job_decode ((uint8_t *) buffer.data, buffer.size, &err));
    cr_assert_str_eq (err.text, "job: a key is not a string");
    msgpack_sbuffer_destroy (&buffer);

    //  Not a map at all
    static const uint8_t array [] = { 0x91, 0x80 };
    cr_assert_null (zjob_job_decode (array, sizeof (array), &err));
    cr_assert_str_eq (err.text, "job: not a msgpack map");
    static const uint8_t never_used [] = { 0xc1 };
    cr_assert_null (zjob_job_decode (never_used, 1, &err));
    cr_assert_str_eq (err.text, "job: not msgpack");
    //  A header promising more than the record holds
    static const uint8_t huge [] = { 0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa1, 'x', 0x01 };
    cr_assert_null (zjob_job_decode (huge, sizeof (huge), &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
}

Test (codec, decoded_job_is_one_block)
{
    zjob_job_t *job = s_new_full ();
    zjob_job_t *copy = s_round_trip (job, NULL);
    s_assert_single_block (copy);
    //  The same layout as a created job: same size for the same content
    cr_assert_eq (malloc_usable_size (copy), malloc_usable_size (job));
    zjob_job_destroy (&job);
    zjob_job_destroy (&copy);
}


//  --------------------------------------------------------------------------
//  Accessors: what a program on the installed headers reads of a job

Test (accessors, read_every_field)
{
    zjob_job_t *job = s_new_full ();
    cr_assert_str_eq (zjob_job_id (job), job->id);
    cr_assert_str_eq (zjob_job_workflow (job), "image.resize");
    cr_assert_eq (zjob_job_status (job), ZJOB_PAUSED);
    cr_assert_eq (zjob_job_priority (job), ZJOB_PRIORITY_HIGH);
    cr_assert_str_eq (zjob_job_user (job), "alice@example.com");
    cr_assert_str_eq (zjob_job_idempotency_key (job), "req-42");
    size_t count;
    const char *const *tags = zjob_job_tags (job, &count);
    cr_assert_eq (count, 3);
    cr_assert_str_eq (tags [0], "blue");
    cr_assert_str_eq (tags [2], "red");
    size_t size;
    const uint8_t *data = zjob_job_inputs (job, &size);
    cr_assert_eq (size, sizeof (s_map));
    cr_assert_arr_eq (data, s_map, sizeof (s_map));
    data = zjob_job_metadata (job, &size);
    cr_assert_eq (size, sizeof (s_map2));
    cr_assert_arr_eq (data, s_map2, sizeof (s_map2));
    data = zjob_job_outputs (job, &size);
    cr_assert_eq (size, sizeof (s_map3));
    cr_assert_arr_eq (data, s_map3, sizeof (s_map3));
    cr_assert_float_eq (zjob_job_progress (job), 0.25f, 1e-6);
    cr_assert_str_eq (zjob_job_progress_message (job), "a quarter done");
    cr_assert_str_eq (zjob_job_error_kind (job), "Timeout");
    cr_assert_str_eq (zjob_job_error_message (job), "took too long: 30 s");
    cr_assert_str_eq (zjob_job_worker (job), "worker-7@host");
    cr_assert_eq (zjob_job_attempts (job), 3);
    cr_assert_eq (zjob_job_max_attempts (job), 5);
    cr_assert_eq (zjob_job_created_at (job), 1700000000001);
    cr_assert_eq (zjob_job_updated_at (job), 1700000000009);
    cr_assert_eq (zjob_job_queued_at (job), 1700000000002);
    cr_assert_eq (zjob_job_started_at (job), 1700000000003);
    cr_assert_eq (zjob_job_completed_at (job), 1700000000004);
    cr_assert_eq (zjob_job_run_at (job), 1700000000123);
    cr_assert_eq (zjob_job_execution_ms (job), 123456789012);
    cr_assert_eq (zjob_job_queued_ms (job), 42);
    zjob_job_destroy (&job);
}

Test (accessors, unset_fields_read_as_none)
{
    zjob_job_t *job = s_new_minimal ();
    cr_assert_eq (zjob_job_status (job), ZJOB_CREATED);
    cr_assert_null (zjob_job_user (job));
    cr_assert_null (zjob_job_idempotency_key (job));
    size_t count = 99;
    cr_assert_null (zjob_job_tags (job, &count));
    cr_assert_eq (count, 0);
    size_t size = 99;
    cr_assert_null (zjob_job_outputs (job, &size));
    cr_assert_eq (size, 0);
    cr_assert_null (zjob_job_progress_message (job));
    cr_assert_null (zjob_job_error_kind (job));
    cr_assert_null (zjob_job_error_message (job));
    cr_assert_null (zjob_job_worker (job));
    cr_assert_eq (zjob_job_attempts (job), 0);
    cr_assert_eq (zjob_job_started_at (job), 0);
    cr_assert_eq (zjob_job_run_at (job), 0);
    cr_assert (zjob_job_created_at (job) > 0);
    zjob_job_destroy (&job);
}
