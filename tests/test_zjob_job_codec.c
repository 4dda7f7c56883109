/*  =========================================================================
    test_zjob_job_codec - the job's msgpack codec

    The codec is checked by round trips and by damaged input: every
    truncation, seeded random byte flips, a wrong type and an invalid
    value in every field, missing required fields, nil and unknown keys.
    Run under AddressSanitizer, the damaged-input tests also prove that
    nothing leaks or reads out of bounds.
    ========================================================================= */

#include "test_zjob_job.h"


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

Test (codec, workflow_fields_round_trip)
{
    zjob_job_t *job = s_new_workflow ();
    size_t size;
    zjob_job_t *copy = s_round_trip (job, &size);
    cr_assert_not_null (copy->extra);
    s_assert_jobs_equal (job, copy);
    s_assert_job_valid (copy);
    cr_assert_eq (copy->status, ZJOB_WAITING);
    cr_assert_eq (copy->extra->pending_parents, 0, "process-local, never encoded");
    cr_log_info ("workflow job: %zu bytes encoded", size);
    zjob_job_destroy (&copy);
    //  A plain job still has no block after a round trip
    zjob_job_t *plain = s_new_full ();
    copy = s_round_trip (plain, NULL);
    cr_assert_null (copy->extra);
    zjob_job_destroy (&copy);
    zjob_job_destroy (&plain);
    //  on_parent_failure fail is the default: not written, read back
    zjob_spec_t spec = { .workflow_id = "wf", .depends_on = (const char *const []){ S_PARENT_A }, .depends_on_count = 1, .on_parent_failure = ZJOB_ON_PARENT_CANCEL };
    zjob_job_destroy (&job);
    job = zjob_job_new (&spec, NULL);
    copy = s_round_trip (job, NULL);
    s_assert_jobs_equal (job, copy);
    cr_assert_eq (zjob_job_on_parent_failure (copy), ZJOB_ON_PARENT_CANCEL);
    zjob_job_destroy (&copy);
    zjob_job_destroy (&job);
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
        uint8_t *part = malloc (cut ? cut : 1);
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

static void
s_pack_int (msgpack_packer *pk)
{
    msgpack_pack_int (pk, 1);
}
static void
s_pack_negative (msgpack_packer *pk)
{
    msgpack_pack_int (pk, -5);
}
static void
s_pack_string (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "x", 1);
}
static void
s_pack_true (msgpack_packer *pk)
{
    msgpack_pack_true (pk);
}
static void
s_pack_double (msgpack_packer *pk)
{
    msgpack_pack_double (pk, 0.5);
}
static void
s_pack_array (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 0);
}
static void
s_pack_map (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 0);
}
static void
s_pack_nil (msgpack_packer *pk)
{
    msgpack_pack_nil (pk);
}
static void
s_pack_bin_map (msgpack_packer *pk)
{
    msgpack_pack_bin_with_body (pk, s_map, sizeof (s_map));
}
static void
s_pack_bin_array (msgpack_packer *pk)
{
    static const uint8_t array [] = { 0x91, 0x01 };
    msgpack_pack_bin_with_body (pk, array, sizeof (array));
}
static void
s_pack_big_uint (msgpack_packer *pk)
{
    msgpack_pack_uint64 (pk, UINT64_MAX);
}
static void
s_pack_u32_over (msgpack_packer *pk)
{
    msgpack_pack_uint64 (pk, (uint64_t) UINT32_MAX + 1);
}
static void
s_pack_eight (msgpack_packer *pk)
{
    msgpack_pack_uint8 (pk, 8);
}
static void
s_pack_three (msgpack_packer *pk)
{
    msgpack_pack_uint8 (pk, 3);
}
static void
s_pack_parents_twice (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 2);
    msgpack_pack_str_with_body (pk, S_PARENT_A, ZJOB_ID_LEN);
    msgpack_pack_str_with_body (pk, S_PARENT_A, ZJOB_ID_LEN);
}
static void
s_pack_parents_65 (msgpack_packer *pk)
{
    msgpack_pack_array (pk, ZJOB_PARENTS_MAX + 1);
    for (int i = 0; i <= ZJOB_PARENTS_MAX; i++) {
        char id [ZJOB_ID_LEN + 1];
        zjob_id_new (id);
        msgpack_pack_str_with_body (pk, id, ZJOB_ID_LEN);
    }
}
static void
s_pack_parents_bad (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 1);
    msgpack_pack_str_with_body (pk, "x", 1);
}
static void
s_pack_parents_uint (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 1);
    msgpack_pack_uint8 (pk, 0);
}
static void
s_pack_four (msgpack_packer *pk)
{
    msgpack_pack_uint8 (pk, 4);
}
static void
s_pack_bad_id (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "0123456789ABCDEFGHJI", 20);
}
static void
s_pack_short_id (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "0123456789", 10);
}
static void
s_pack_spaced (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "a b", 3);
}
static void
s_pack_nul (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "a\0b", 3);
}
static void
s_pack_name_129 (msgpack_packer *pk)
{
    char name [ZJOB_NAME_MAX + 1];
    memset (name, 'n', sizeof (name));
    msgpack_pack_str_with_body (pk, name, sizeof (name));
}
static void
s_pack_message_1025 (msgpack_packer *pk)
{
    char text [ZJOB_MESSAGE_MAX + 1];
    memset (text, 'm', sizeof (text));
    msgpack_pack_str_with_body (pk, text, sizeof (text));
}
static void
s_pack_tags_33 (msgpack_packer *pk)
{
    msgpack_pack_array (pk, ZJOB_TAGS_MAX + 1);
    for (int i = 0; i <= ZJOB_TAGS_MAX; i++) {
        char tag [8];
        int len = snprintf (tag, sizeof (tag), "t%d", i);
        msgpack_pack_str_with_body (pk, tag, (size_t) len);
    }
}
static void
s_pack_tags_int (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 2);
    msgpack_pack_str_with_body (pk, "a", 1);
    msgpack_pack_int (pk, 3);
}
static void
s_pack_tags_twice (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 2);
    msgpack_pack_str_with_body (pk, "a", 1);
    msgpack_pack_str_with_body (pk, "a", 1);
}
static void
s_pack_nested (msgpack_packer *pk)
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
    msgpack_pack_map (&pk, (size_t) count + (key ? repeat : 0));
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
    const struct {
        const char *key;
        s_pack_fn *value;
        const char *message;
    } cases [] = {
        { "id", s_pack_int, "id: not a string" },
        { "wf", s_pack_int, "workflow_id: not a string" },
        { "pri", s_pack_string, "priority: not an integer" },
        { "st", s_pack_double, "status: not an integer" },
        { "held", s_pack_int, "held: not a boolean" },
        { "user", s_pack_true, "user_id: not a string" },
        { "tags", s_pack_string, "tags: not an array" },
        { "tags", s_pack_tags_int, "tags: not a string" },
        { "in", s_pack_map, "inputs: not bin" },
        { "in", s_pack_string, "inputs: not bin" },
        { "meta", s_pack_array, "metadata: not bin" },
        { "idem", s_pack_int, "idempotency_key: not a string" },
        { "maxa", s_pack_string, "max_attempts: not an integer" },
        { "runat", s_pack_double, "run_at: not an integer" },
        { "att", s_pack_true, "attempts: not an integer" },
        { "prog", s_pack_string, "progress: not a number" },
        { "pmsg", s_pack_int, "progress_message: not a string" },
        { "ct", s_pack_string, "created_at: not an integer" },
        { "ut", s_pack_string, "updated_at: not an integer" },
        { "qt", s_pack_array, "queued_at: not an integer" },
        { "sat", s_pack_map, "started_at: not an integer" },
        { "cat", s_pack_true, "completed_at: not an integer" },
        { "xms", s_pack_string, "execution_ms: not an integer" },
        { "qms", s_pack_double, "queued_ms: not an integer" },
        { "ekind", s_pack_int, "error_kind: not a string" },
        { "emsg", s_pack_bin_map, "error_message: not a string" },
        { "wk", s_pack_int, "worker_id: not a string" },
        { "out", s_pack_string, "outputs: not bin" },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++)
        s_expect_decode_refused (cases [i].key, cases [i].value, cases [i].message);
}

Test (codec, invalid_values_are_refused)
{
    const struct {
        const char *key;
        s_pack_fn *value;
        const char *message;
    } cases [] = {
        { "id", s_pack_bad_id, "id: not a job id" },
        { "id", s_pack_short_id, "id: not a job id" },
        { "wf", s_pack_spaced, "workflow_id: has a space" },
        { "wf", s_pack_name_129, "workflow_id: longer than 128" },
        { "user", s_pack_name_129, "user_id: longer than 128" },
        { "idem", s_pack_spaced, "idempotency_key: has a space" },
        { "tags", s_pack_tags_33, "tags: more than 32" },
        { "tags", s_pack_tags_twice, "tags: \"a\" given twice" },
        { "pri", s_pack_four, "priority: 4 is out of range" },
        { "pri", s_pack_negative, "priority: negative" },
        { "st", s_pack_eight, "status: 8 is out of range" },
        { "par", s_pack_parents_twice, "parents: " S_PARENT_A " given twice" },
        { "par", s_pack_parents_65, "parents: more than 64" },
        { "par", s_pack_parents_bad, "parents: not a job id" },
        { "par", s_pack_parents_uint, "parents: not a string" },
        { "par", s_pack_string, "parents: not an array" },
        { "opf", s_pack_three, "on_parent_failure: 3 is out of range" },
        { "pout", s_pack_bin_map, "parent_outputs: the job has no parents" },
        { "bat", s_pack_spaced, "batch_id: has a space" },
        { "tpl", s_pack_name_129, "template: longer than 128" },
        { "sch", s_pack_int, "schedule_id: not a string" },
        { "uniq", s_pack_nul, "unique_key: has a space, a control" },
        { "sfor", s_pack_negative, "scheduled_for: negative" },
        { "st", s_pack_big_uint, "status: " },
        { "maxa", s_pack_u32_over, "max_attempts: 4294967296 is out of range" },
        { "att", s_pack_negative, "attempts: negative" },
        { "ct", s_pack_negative, "created_at: negative" },
        { "ct", s_pack_big_uint, "created_at: 18446744073709551615 is out of range" },
        { "runat", s_pack_negative, "run_at: negative" },
        { "xms", s_pack_big_uint, "execution_ms: " },
        { "prog", s_pack_negative, "progress: not a number" },
        { "prog", s_pack_four, "progress: not between 0 and 1" },
        { "in", s_pack_bin_array, "inputs: not a msgpack map" },
        { "meta", s_pack_bin_array, "metadata: not a msgpack map" },
        { "out", s_pack_bin_array, "outputs: not a msgpack map" },
        { "pmsg", s_pack_message_1025, "progress_message: longer than 1024" },
        { "emsg", s_pack_message_1025, "error_message: longer than 1024" },
        { "ekind", s_pack_name_129, "error_kind: longer than 128" },
        { "wk", s_pack_name_129, "worker_id: longer than 128" },
        { "emsg", s_pack_nul, "error_message: has a NUL byte" },
        { "wf", s_pack_nul, "workflow_id: has a space, a control" },
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
                                "xms", "qms", "ekind", "emsg", "wk", "out", "par", "opf",
                                "pout", "bat", "tpl", "sch", "sfor", "uniq" };
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
