/*  =========================================================================
    test_zjob_job - the job model: creation, setters, transitions, names, maps

    The transition table is checked against an independent statement of
    the rules (the list of legal moves in s_legal below), for every
    operation, status and held flag. The codec's tests are in
    test_zjob_job_codec.c; the helpers both use in test_zjob_job.h.
    ========================================================================= */

#include "test_zjob_job.h"


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
        .workflow_id = workflow, .inputs = inputs, .inputs_size = sizeof (inputs), .priority = ZJOB_PRIORITY_CRITICAL, .user_id = "bob", .tags = tags, .tag_count = 2, .metadata = s_map2, .metadata_size = sizeof (s_map2), .idempotency_key = "k1", .max_attempts = 9, .run_at = 12345
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
    zjob_spec_t spec = { .workflow_id = "thumbnails", .inputs = s_map, .inputs_size = sizeof (s_map) };
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
    zjob_spec_t spec = { .workflow_id = name, .user_id = name, .idempotency_key = name, .tags = tags, .tag_count = 1 };
    zjob_job_t *job = zjob_job_new (&spec, NULL);
    cr_assert_not_null (job, "names of exactly ZJOB_NAME_MAX bytes are valid");
    zjob_job_destroy (&job);
    //  Every printable ASCII character but space is allowed
    char all [ZJOB_NAME_MAX + 1];
    int n = 0;
    for (int c = '!'; c <= '~'; c++)
        if (n < ZJOB_NAME_MAX)
            all [n++] = (char) c;
    all [n] = 0;
    spec = (zjob_spec_t){ .workflow_id = all };
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
        spec = (zjob_spec_t){ .workflow_id = "wf", .user_id = bad [i] };
        s_expect_refused (&spec, codes [i], "user_id: ");
        spec = (zjob_spec_t){ .workflow_id = "wf", .idempotency_key = bad [i] };
        s_expect_refused (&spec, codes [i], "idempotency_key: ");
        const char *tags [] = { "fine", bad [i] };
        spec = (zjob_spec_t){ .workflow_id = "wf", .tags = tags, .tag_count = 2 };
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
    spec = (zjob_spec_t){ .workflow_id = "wf", .tags = NULL, .tag_count = 1 };
    s_expect_refused (&spec, ZJOB_BAD_REQUEST, "tags: ");
    const char *with_null [] = { "a", NULL };
    spec = (zjob_spec_t){ .workflow_id = "wf", .tags = with_null, .tag_count = 2 };
    s_expect_refused (&spec, ZJOB_BAD_REQUEST, "tags[1]: required");
    const char *twice [] = { "a", "b", "a" };
    spec = (zjob_spec_t){ .workflow_id = "wf", .tags = twice, .tag_count = 3 };
    s_expect_refused (&spec, ZJOB_BAD_REQUEST, "tags: \"a\" given twice");
}

Test (job_new, inputs_and_metadata_must_be_maps)
{
    static const uint8_t array [] = { 0x91, 0x01 };
    static const uint8_t string [] = { 0xa1, 'x' };
    static const uint8_t truncated [] = { 0x82, 0xa1, 'a', 0x01 };
    static const uint8_t trailing [] = { 0x80, 0x00 };
    static const uint8_t garbage [] = { 0xc1 };
    const struct {
        const uint8_t *data;
        size_t size;
    } bad [] = {
        { array, sizeof (array) }, { string, sizeof (string) }, { truncated, sizeof (truncated) }, { trailing, sizeof (trailing) }, { garbage, sizeof (garbage) }
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++) {
        zjob_spec_t spec = { .workflow_id = "wf", .inputs = bad [i].data, .inputs_size = bad [i].size };
        s_expect_refused (&spec, ZJOB_BAD_REQUEST, "inputs: not a msgpack map");
        spec = (zjob_spec_t){ .workflow_id = "wf", .metadata = bad [i].data, .metadata_size = bad [i].size };
        s_expect_refused (&spec, ZJOB_BAD_REQUEST, "metadata: not a msgpack map");
    }
    zjob_spec_t spec = { .workflow_id = "wf", .inputs = NULL, .inputs_size = 4 };
    s_expect_refused (&spec, ZJOB_BAD_REQUEST, "inputs: ");

    //  An explicit empty map is kept as given; size 0 is the empty map
    static const uint8_t empty [] = { 0x80 };
    spec = (zjob_spec_t){ .workflow_id = "wf", .inputs = empty, .inputs_size = 1, .metadata = empty, .metadata_size = 0 };
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
    size_t bin = size - 8;  //  map1 + fixstr "d" + bin32 header
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
    zjob_spec_t spec = { .workflow_id = "wf", .inputs = largest, .inputs_size = ZJOB_DATA_MAX, .metadata = largest, .metadata_size = ZJOB_DATA_MAX };
    zjob_job_t *job = zjob_job_new (&spec, NULL);
    cr_assert_not_null (job);
    s_assert_single_block (job);
    zjob_job_destroy (&job);
    free (largest);

    uint8_t *too_large = s_map_of_size (ZJOB_DATA_MAX + 1);
    spec = (zjob_spec_t){ .workflow_id = "wf", .inputs = too_large, .inputs_size = ZJOB_DATA_MAX + 1 };
    s_expect_refused (&spec, ZJOB_TOO_LARGE, "inputs: ");
    spec = (zjob_spec_t){ .workflow_id = "wf", .metadata = too_large, .metadata_size = ZJOB_DATA_MAX + 1 };
    s_expect_refused (&spec, ZJOB_TOO_LARGE, "metadata: ");
    free (too_large);
}

Test (job_new, priority_and_run_at)
{
    zjob_spec_t spec = { .workflow_id = "wf", .priority = (zjob_priority_t) 4 };
    s_expect_refused (&spec, ZJOB_BAD_REQUEST, "priority: ");
    spec.priority = (zjob_priority_t) -2;
    s_expect_refused (&spec, ZJOB_BAD_REQUEST, "priority: ");
    spec = (zjob_spec_t){ .workflow_id = "wf", .run_at = -1 };
    s_expect_refused (&spec, ZJOB_BAD_REQUEST, "run_at: negative");
    for (int p = 0; p < ZJOB_PRIORITY_COUNT; p++) {
        spec = (zjob_spec_t){ .workflow_id = "wf", .priority = (zjob_priority_t) p };
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
    cr_assert_str_eq (job->workflow_id, "wf");  //  Still alive
    zjob_job_destroy (&job);
    cr_assert_null (job);
    zjob_job_destroy (&job);  //  Twice is safe
    zjob_job_destroy (NULL);
    cr_assert_null (zjob_job_ref (NULL));
}

Test (job_dup, deep_copy_in_its_own_block)
{
    zjob_job_t *job = s_new_full ();
    zjob_job_t *other = zjob_job_ref (job);
    job->next = job->prev = job;  //  As if queued
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
    { ZJOB_OP_START, ZJOB_CREATED, 2, ZJOB_QUEUED },
    { ZJOB_OP_START, ZJOB_PAUSED, 0, ZJOB_QUEUED },
    { ZJOB_OP_PAUSE, ZJOB_CREATED, 2, ZJOB_PAUSED },
    { ZJOB_OP_PAUSE, ZJOB_QUEUED, 2, ZJOB_PAUSED },
    { ZJOB_OP_PAUSE, ZJOB_RUNNING, 2, ZJOB_PAUSED },
    { ZJOB_OP_RESUME, ZJOB_PAUSED, 0, ZJOB_QUEUED },
    { ZJOB_OP_RESUME, ZJOB_PAUSED, 1, ZJOB_RUNNING },
    { ZJOB_OP_CANCEL, ZJOB_CREATED, 2, ZJOB_CANCELLED },
    { ZJOB_OP_CANCEL, ZJOB_QUEUED, 2, ZJOB_CANCELLED },
    { ZJOB_OP_CANCEL, ZJOB_RUNNING, 2, ZJOB_CANCELLED },
    { ZJOB_OP_CANCEL, ZJOB_PAUSED, 2, ZJOB_CANCELLED },
    { ZJOB_OP_DISPATCH, ZJOB_QUEUED, 2, ZJOB_RUNNING },
    { ZJOB_OP_COMPLETE, ZJOB_RUNNING, 2, ZJOB_COMPLETED },
    { ZJOB_OP_FAIL, ZJOB_RUNNING, 2, ZJOB_FAILED },
    { ZJOB_OP_REQUEUE, ZJOB_RUNNING, 2, ZJOB_QUEUED },
    { ZJOB_OP_REQUEUE, ZJOB_PAUSED, 1, ZJOB_PAUSED },
    { ZJOB_OP_RETRY, ZJOB_RUNNING, 2, ZJOB_QUEUED },
    { ZJOB_OP_RERUN, ZJOB_FAILED, 2, ZJOB_QUEUED },
    { ZJOB_OP_RERUN, ZJOB_CANCELLED, 2, ZJOB_QUEUED },
    //  A waiting job (its parents not all completed) is released, or
    //  paused, cancelled or failed (a parent failed); nothing leads into
    //  waiting in the table: the manager decides it
    { ZJOB_OP_RELEASE, ZJOB_WAITING, 2, ZJOB_QUEUED },
    { ZJOB_OP_PAUSE, ZJOB_WAITING, 2, ZJOB_PAUSED },
    { ZJOB_OP_CANCEL, ZJOB_WAITING, 2, ZJOB_CANCELLED },
    { ZJOB_OP_FAIL, ZJOB_WAITING, 2, ZJOB_FAILED },
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
    //  23 moves, 19 of them for either held value
    cr_assert_eq (legal, 42);
}

Test (transition, messages_and_bad_arguments)
{
    zjob_error_t err;
    cr_assert_eq (zjob_transition (ZJOB_COMPLETED, ZJOB_OP_PAUSE, false, &err), -1);
    cr_assert_str_eq (err.text, "job is completed; cannot pause");
    cr_assert_eq (zjob_transition (ZJOB_PAUSED, ZJOB_OP_START, true, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_eq (zjob_transition ((zjob_status_t) 8, ZJOB_OP_START, false, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (zjob_transition (ZJOB_CREATED, (zjob_op_t) ZJOB_OP_COUNT, false, &err), -1);
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
    //  And a terminal status accepts no operation but the user's re-run of
    //  a failed or cancelled job
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
        if (zjob_status_terminal (status))
            for (int op = 0; op < ZJOB_OP_COUNT; op++)
                if (op != ZJOB_OP_RERUN || status == ZJOB_COMPLETED)
                    cr_assert_eq (zjob_transition (status, op, false, NULL), -1);
}


//  --------------------------------------------------------------------------
//  Names

Test (names, statuses_priorities_ops)
{
    const char *statuses [] = { "created", "queued", "running", "paused", "completed",
                                "failed", "cancelled", "waiting" };
    cr_assert_eq (ZJOB_WAITING, 7, "stored numbers of the others kept");
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
                           "fail", "requeue", "retry", "re-run", "release" };
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
    cr_assert_str_eq (zjob_status_name ((zjob_status_t) 8), "unknown");
    cr_assert_str_eq (zjob_priority_name ((zjob_priority_t) 4), "unknown");
    cr_assert_str_eq (zjob_op_name ((zjob_op_t) ZJOB_OP_COUNT), "unknown");
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
            == MSGPACK_UNPACK_SUCCESS
        && offset == size;
    msgpack_unpacked_destroy (&result);
    return ok;
}

Test (msgpack, is_map)
{
    static const uint8_t empty_map [] = { 0x80 };
    static const uint8_t map16 [] = { 0xde, 0x00, 0x01, 0xa1, 'a', 0xc0 };
    static const uint8_t map32 [] = { 0xdf, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02 };
    static const uint8_t all_types [] = {
        0xde, 0x00, 0x12,                                            //  map16, 18 pairs
        0x00, 0x7f,                                                  //  fixint
        0xe0, 0xc0,                                                  //  negative fixint, nil
        0xc2, 0xc3,                                                  //  false, true
        0xa0, 0xd9, 0x01, 'x',                                       //  fixstr, str8
        0xda, 0x00, 0x01, 'y', 0xdb, 0, 0, 0, 1, 'z',                //  str16, str32
        0xc4, 0x01, 0x00, 0xc5, 0x00, 0x00,                          //  bin8, bin16
        0xc6, 0, 0, 0, 0, 0xca, 0, 0, 0, 0,                          //  bin32, float32
        0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0xcc, 1,                       //  float64, uint8
        0xcd, 0, 1, 0xce, 0, 0, 0, 1,                                //  uint16, uint32
        0xcf, 0, 0, 0, 0, 0, 0, 0, 1, 0xd0, 0xff,                    //  uint64, int8
        0xd1, 0xff, 0xff, 0xd2, 0xff, 0xff, 0xff, 0xff,              //  int16, int32
        0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x90,  //  int64, []
        0xdc, 0x00, 0x01, 0x01, 0xdd, 0, 0, 0, 0,                    //  array16, array32
        0xd4, 1, 0, 0xd5, 1, 0, 0, 0xd6, 1, 0, 0, 0, 0,              //  fixext 1, 2, 4
        0xd7, 1, 0, 0, 0, 0, 0, 0, 0, 0,                             //  fixext 8
        0xd8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     //  fixext 16
        0xc7, 1, 1, 0, 0xc8, 0, 1, 1, 0,                             //  ext8, ext16
        0xc9, 0, 0, 0, 1, 1, 0,                                      //  ext32
        0x80, 0xde, 0x00, 0x00                                       //  {}, map16 {}
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
//  Workflow fields (the extra block)

Test (workflow, fields_read_back_in_one_block)
{
    zjob_job_t *job = s_new_workflow ();
    size_t count = 0;
    const char *const *parents = zjob_job_parents (job, &count);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (parents [0], S_PARENT_A);
    cr_assert_str_eq (parents [1], S_PARENT_B);
    cr_assert_eq (zjob_job_on_parent_failure (job), ZJOB_ON_PARENT_RUN);
    cr_assert_str_eq (zjob_job_batch (job), "nightly-2026-12-05");
    cr_assert_str_eq (zjob_job_template (job), "etl");
    cr_assert_str_eq (zjob_job_schedule (job), "every-night");
    cr_assert_eq (zjob_job_scheduled_for (job), 1700000000500);
    cr_assert_str_eq (zjob_job_unique_key (job), "load:customers");
    size_t size = 0;
    const uint8_t *outputs = zjob_job_parent_outputs (job, &size);
    cr_assert_not_null (outputs);
    cr_assert (zjob_msgpack_is_map (outputs, size));
    s_assert_single_block (job);
    s_assert_job_valid (job);
    zjob_job_destroy (&job);
}

Test (workflow, a_plain_job_has_no_block)
{
    zjob_job_t *job = s_new_minimal ();
    cr_assert_null (job->extra);
    size_t count = 9, size = 9;
    cr_assert_null (zjob_job_parents (job, &count));
    cr_assert_eq (count, 0);
    cr_assert_null (zjob_job_parent_outputs (job, &size));
    cr_assert_eq (size, 0);
    cr_assert_eq (zjob_job_on_parent_failure (job), ZJOB_ON_PARENT_FAIL);
    cr_assert_null (zjob_job_batch (job));
    cr_assert_null (zjob_job_template (job));
    cr_assert_null (zjob_job_schedule (job));
    cr_assert_null (zjob_job_unique_key (job));
    cr_assert_eq (zjob_job_scheduled_for (job), 0);
    //  A job without parents has no parent outputs to set
    zjob_error_t err;
    cr_assert_eq (zjob_job_set_parent_outputs (job, s_map, sizeof (s_map), &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    zjob_job_destroy (&job);
    //  One field alone makes the block
    zjob_spec_t spec = { .workflow_id = "wf", .batch_id = "b1" };
    job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_not_null (job->extra);
    cr_assert_eq (job->extra->parent_count, 0);
    cr_assert_null (job->extra->parents);
    s_assert_single_block (job);
    zjob_job_destroy (&job);
}

Test (workflow, dup_copies_the_parent_outputs)
{
    zjob_job_t *job = s_new_workflow ();
    job->extra->pending_parents = 1;
    zjob_job_t *copy = zjob_job_dup (job);
    cr_assert_not_null (copy);
    s_assert_jobs_equal (job, copy);
    s_assert_single_block (copy);
    cr_assert_neq (copy->extra, job->extra);
    cr_assert_neq (copy->extra->parent_outputs.data, job->extra->parent_outputs.data);
    cr_assert_eq (copy->extra->pending_parents, 1);
    //  The copy lives on after the original
    zjob_job_destroy (&job);
    size_t size = 0;
    const uint8_t *outputs = zjob_job_parent_outputs (copy, &size);
    cr_assert (zjob_msgpack_is_map (outputs, size));
    //  Cleared, and set again
    zjob_error_t err;
    cr_assert_eq (zjob_job_set_parent_outputs (copy, NULL, 0, &err), 0);
    cr_assert_null (zjob_job_parent_outputs (copy, &size));
    cr_assert_eq (zjob_job_set_parent_outputs (copy, s_map, sizeof (s_map), &err), 0);
    cr_assert_eq (size = copy->extra->parent_outputs.size, sizeof (s_map));
    cr_assert_eq (zjob_job_set_parent_outputs (copy, (const uint8_t *) "\x93\x01\x02\x03", 4, &err),
                  -1, "an array is not a map");
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (copy->extra->parent_outputs.size, sizeof (s_map), "unchanged on failure");
    zjob_job_destroy (&copy);
}

//  zjob_job_new refuses spec with err's message starting with message
static void
s_expect_spec_refused (const zjob_spec_t *spec, int code, const char *message)
{
    zjob_error_t err;
    zjob_error_clear (&err);
    zjob_job_t *job = zjob_job_new (spec, &err);
    cr_assert_null (job, "accepted; expected \"%s\"", message);
    cr_assert_eq (err.code, code, "%s", err.text);
    cr_assert_eq (strncmp (err.text, message, strlen (message)), 0, "message \"%s\", expected \"%s\"",
                  err.text, message);
}

Test (workflow, bad_values_are_refused_naming_the_field)
{
    const char *twice [] = { S_PARENT_A, S_PARENT_B, S_PARENT_A };
    zjob_spec_t spec = { .workflow_id = "wf", .depends_on = twice, .depends_on_count = 3 };
    s_expect_spec_refused (&spec, ZJOB_BAD_REQUEST, "depends_on: " S_PARENT_A " given twice");

    //  65 distinct parents
    char ids [ZJOB_PARENTS_MAX + 1][ZJOB_ID_LEN + 1];
    const char *many [ZJOB_PARENTS_MAX + 1];
    for (int i = 0; i <= ZJOB_PARENTS_MAX; i++) {
        zjob_id_new (ids [i]);
        many [i] = ids [i];
    }
    spec = (zjob_spec_t){ .workflow_id = "wf", .depends_on = many, .depends_on_count = ZJOB_PARENTS_MAX + 1 };
    s_expect_spec_refused (&spec, ZJOB_TOO_LARGE, "depends_on: 65 parents, at most 64");
    spec.depends_on_count = ZJOB_PARENTS_MAX;
    zjob_job_t *job = zjob_job_new (&spec, NULL);
    cr_assert_not_null (job, "64 parents are fine");
    s_assert_single_block (job);
    zjob_job_destroy (&job);

    const char *bad [] = { "not-an-id" };
    spec = (zjob_spec_t){ .workflow_id = "wf", .depends_on = bad, .depends_on_count = 1 };
    s_expect_spec_refused (&spec, ZJOB_BAD_REQUEST, "depends_on[0]: not a job id");
    const char *none [] = { NULL };
    spec.depends_on = none;
    s_expect_spec_refused (&spec, ZJOB_BAD_REQUEST, "depends_on[0]: not a job id");
    spec.depends_on = NULL;
    s_expect_spec_refused (&spec, ZJOB_BAD_REQUEST, "depends_on: no array");

    const uint32_t positions [] = { 0 };
    spec = (zjob_spec_t){ .workflow_id = "wf", .depends_on_index = positions, .depends_on_index_count = 1 };
    s_expect_spec_refused (&spec, ZJOB_BAD_REQUEST, "depends_on: positions must be resolved");

    spec = (zjob_spec_t){ .workflow_id = "wf", .on_parent_failure = (zjob_on_parent_t) 3 };
    s_expect_spec_refused (&spec, ZJOB_BAD_REQUEST, "on_parent_failure: fail, cancel or run");
    spec = (zjob_spec_t){ .workflow_id = "wf", .batch_id = "has space" };
    s_expect_spec_refused (&spec, ZJOB_BAD_REQUEST, "batch_id: has a space");
    spec = (zjob_spec_t){ .workflow_id = "wf", .template_name = "" };
    s_expect_spec_refused (&spec, ZJOB_BAD_REQUEST, "template: empty");
    spec = (zjob_spec_t){ .workflow_id = "wf", .schedule_id = "tab\there" };
    s_expect_spec_refused (&spec, ZJOB_BAD_REQUEST, "schedule_id: has a space");
    char long_name [ZJOB_NAME_MAX + 2];
    memset (long_name, 'k', sizeof (long_name) - 1);
    long_name [sizeof (long_name) - 1] = 0;
    spec = (zjob_spec_t){ .workflow_id = "wf", .unique_key = long_name };
    s_expect_spec_refused (&spec, ZJOB_TOO_LARGE, "unique_key: longer than 128");
    spec = (zjob_spec_t){ .workflow_id = "wf", .scheduled_for = -1 };
    s_expect_spec_refused (&spec, ZJOB_BAD_REQUEST, "scheduled_for: negative");
}

Test (workflow, on_parent_names)
{
    const char *names [] = { "fail", "cancel", "run" };
    for (int i = 0; i < ZJOB_ON_PARENT_COUNT; i++) {
        cr_assert_str_eq (zjob_on_parent_name ((zjob_on_parent_t) i), names [i]);
        cr_assert_eq (zjob_on_parent_parse (names [i]), i);
    }
    cr_assert_eq (zjob_on_parent_parse ("CANCEL"), ZJOB_ON_PARENT_CANCEL);
    cr_assert_eq (zjob_on_parent_parse ("skip"), -1);
    cr_assert_eq (zjob_on_parent_parse (NULL), -1);
    cr_assert_str_eq (zjob_on_parent_name ((zjob_on_parent_t) 3), "unknown");
}
