/*  =========================================================================
    test_zjob_retry - the delay before a retry, and the spec's policy fields

    zjob_retry_delay is a pure function: the sequence with a fixed seed,
    the cap, the bounds of full jitter, fixed backoff, factor 1 and huge
    attempt numbers are checked exactly. Then zjob_job_new's checks of the
    policy fields, the attempt history setter (kept to ZJOB_ERRORS_KEPT,
    undo), and the codec's new keys, including a record of the previous
    version (no policy keys) and a malformed history.
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_retry.h"
#include "zjob_job_impl.h"

static zjob_policy_t
s_policy (zjob_backoff_t backoff, uint32_t base, double factor, uint32_t cap,
          zjob_jitter_t jitter)
{
    zjob_policy_t policy;
    memset (&policy, 0, sizeof (policy));
    policy.backoff = (uint8_t) backoff;
    policy.backoff_base_ms = base;
    policy.backoff_factor = (float) factor;
    policy.backoff_max_ms = cap;
    policy.jitter = (uint8_t) jitter;
    return policy;
}

Test (retry, exponential_without_jitter_doubles_up_to_the_cap)
{
    zjob_policy_t policy = s_policy (ZJOB_BACKOFF_EXPONENTIAL, 1000, 2.0, 300000,
                                     ZJOB_JITTER_NONE);
    uint64_t expected [] = { 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000,
                             300000, 300000 };
    for (uint32_t n = 1; n <= 11; n++)
        cr_assert_eq (zjob_retry_delay (&policy, n, 12345), expected [n - 1], "attempt %u", n);
    //  0 is taken as 1
    cr_assert_eq (zjob_retry_delay (&policy, 0, 0), 1000);
}

Test (retry, huge_attempt_numbers_and_factors_saturate_at_the_cap)
{
    zjob_policy_t policy = s_policy (ZJOB_BACKOFF_EXPONENTIAL, UINT32_MAX - 1, 100.0,
                                     UINT32_MAX - 1, ZJOB_JITTER_NONE);
    cr_assert_eq (zjob_retry_delay (&policy, UINT32_MAX, 0), UINT32_MAX - 1);
    cr_assert_eq (zjob_retry_delay (&policy, 1000000, 0), UINT32_MAX - 1);
    policy = s_policy (ZJOB_BACKOFF_EXPONENTIAL, 50, 1.5, 60000, ZJOB_JITTER_NONE);
    cr_assert_eq (zjob_retry_delay (&policy, 3, 0), 112);  //  50 * 2.25
    cr_assert_eq (zjob_retry_delay (&policy, UINT32_MAX, 0), 60000);
    //  A base of 0 stays 0 (retry at once)
    policy = s_policy (ZJOB_BACKOFF_EXPONENTIAL, 0, 2.0, 60000, ZJOB_JITTER_NONE);
    cr_assert_eq (zjob_retry_delay (&policy, 40, 0), 0);
}

Test (retry, factor_one_and_fixed_are_constant)
{
    zjob_policy_t policy = s_policy (ZJOB_BACKOFF_EXPONENTIAL, 700, 1.0, 300000,
                                     ZJOB_JITTER_NONE);
    for (uint32_t n = 1; n < 100; n += 7)
        cr_assert_eq (zjob_retry_delay (&policy, n, 99), 700);
    cr_assert_eq (zjob_retry_delay (&policy, UINT32_MAX, 99), 700);
    policy = s_policy (ZJOB_BACKOFF_FIXED, 250, 3.0, 100, ZJOB_JITTER_NONE);
    for (uint32_t n = 1; n < 50; n++)
        cr_assert_eq (zjob_retry_delay (&policy, n, 1), 250, "fixed ignores factor and cap");
}

Test (retry, full_jitter_stays_in_bounds_and_follows_the_seed)
{
    zjob_policy_t policy = s_policy (ZJOB_BACKOFF_EXPONENTIAL, 100, 2.0, 5000,
                                     ZJOB_JITTER_FULL);
    uint64_t state = 42, again = 42;
    uint64_t first [8];
    bool spread = false;
    for (uint32_t n = 1; n <= 8; n++) {
        uint64_t ceiling = zjob_retry_delay (
            &(zjob_policy_t){ .backoff = ZJOB_BACKOFF_EXPONENTIAL, .backoff_base_ms = 100, .backoff_factor = 2.0f, .backoff_max_ms = 5000, .jitter = ZJOB_JITTER_NONE },
            n, 0);
        first [n - 1] = zjob_retry_delay (&policy, n, zjob_retry_random (&state));
        cr_assert_leq (first [n - 1], ceiling, "attempt %u: %llu > %llu", n,
                       (unsigned long long) first [n - 1], (unsigned long long) ceiling);
        spread |= first [n - 1] != ceiling;
    }
    cr_assert (spread, "full jitter draws below the ceiling");
    //  The same seed gives the same sequence
    for (uint32_t n = 1; n <= 8; n++)
        cr_assert_eq (zjob_retry_delay (&policy, n, zjob_retry_random (&again)), first [n - 1]);
    //  Over many draws both ends of [0, d] are reached
    uint64_t low = UINT64_MAX, high = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t delay = zjob_retry_delay (&policy, 1, zjob_retry_random (&state));
        low = delay < low ? delay : low;
        high = delay > high ? delay : high;
    }
    cr_assert_eq (low, 0);
    cr_assert_eq (high, 100);
}


//  --------------------------------------------------------------------------
//  The spec's policy fields

static zjob_spec_t
s_spec (void)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "wf";
    spec.priority = ZJOB_PRIORITY_UNSET;
    return spec;
}

Test (retry, the_spec_policy_is_checked_naming_the_field)
{
    zjob_error_t err;
    zjob_spec_t spec = s_spec ();
    spec.backoff_factor = 0.5;
    cr_assert_null (zjob_job_new (&spec, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_str_eq (err.text, "backoff_factor: 1.0 to 100.0, not 0.5");
    spec.backoff_factor = 101;
    cr_assert_null (zjob_job_new (&spec, &err));
    spec = s_spec ();
    spec.backoff = (zjob_backoff_t) 3;
    cr_assert_null (zjob_job_new (&spec, &err));
    cr_assert (strncmp (err.text, "backoff: ", 9) == 0, "%s", err.text);
    spec = s_spec ();
    spec.jitter = (zjob_jitter_t) 7;
    cr_assert_null (zjob_job_new (&spec, &err));
    cr_assert (strncmp (err.text, "jitter: ", 8) == 0, "%s", err.text);
    spec = s_spec ();
    const char *kinds [ZJOB_NO_RETRY_MAX + 1];
    for (int i = 0; i <= ZJOB_NO_RETRY_MAX; i++)
        kinds [i] = "bad_input";
    spec.no_retry = kinds;
    spec.no_retry_count = ZJOB_NO_RETRY_MAX + 1;
    cr_assert_null (zjob_job_new (&spec, &err));
    cr_assert_eq (err.code, ZJOB_TOO_LARGE);
    kinds [1] = "has space";
    spec.no_retry_count = 2;
    cr_assert_null (zjob_job_new (&spec, &err));
    cr_assert (strncmp (err.text, "no_retry[1]: ", 13) == 0, "%s", err.text);
    //  Good values pass; unlimited attempts are 0 on the job
    kinds [1] = "timeout";
    spec.backoff = ZJOB_BACKOFF_FIXED;
    spec.backoff_factor = 1.0;
    spec.jitter = ZJOB_JITTER_NONE;
    spec.max_attempts = ZJOB_ATTEMPTS_UNLIMITED;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (zjob_job_max_attempts (job), 0);
    zjob_job_destroy (&job);
}


//  --------------------------------------------------------------------------
//  The attempt history

Test (retry, the_history_keeps_the_latest_entries_and_can_be_undone)
{
    zjob_spec_t spec = s_spec ();
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job);
    cr_assert_eq (zjob_job_error_count (job), 0);
    for (uint32_t n = 1; n <= ZJOB_ERRORS_KEPT + 5; n++) {
        char message [32];
        snprintf (message, sizeof (message), "failure %u", n);
        zjob_history_t *replaced = NULL;
        cr_assert_eq (zjob_job_add_error (job, n, "boom", message, "w1", 1000 + n, &replaced), 0);
        zjob_job_history_settle (job, replaced);
    }
    cr_assert_eq (zjob_job_error_count (job), ZJOB_ERRORS_KEPT);
    zjob_attempt_error_t entry;
    cr_assert_eq (zjob_job_error_at (job, 0, &entry), 0);
    cr_assert_eq (entry.attempt, 6, "the oldest are dropped");
    cr_assert_eq (zjob_job_error_at (job, ZJOB_ERRORS_KEPT - 1, &entry), 0);
    cr_assert_eq (entry.attempt, ZJOB_ERRORS_KEPT + 5);
    cr_assert_str_eq (entry.message, "failure 25");
    cr_assert_str_eq (entry.worker_id, "w1");
    cr_assert_eq (entry.at, 1025);
    cr_assert_str_eq (zjob_job_error_kind (job), "boom");
    cr_assert_eq (zjob_job_error_at (job, ZJOB_ERRORS_KEPT, &entry), -1);
    //  Undo puts the history back as it was
    zjob_history_t *replaced = NULL;
    cr_assert_eq (zjob_job_add_error (job, 99, "late", NULL, NULL, 5, &replaced), 0);
    zjob_job_history_undo (job, replaced);
    cr_assert_eq (zjob_job_error_count (job), ZJOB_ERRORS_KEPT);
    cr_assert_eq (zjob_job_error_at (job, ZJOB_ERRORS_KEPT - 1, &entry), 0);
    cr_assert_eq (entry.attempt, ZJOB_ERRORS_KEPT + 5);
    //  A copy has its own
    zjob_job_t *copy = zjob_job_dup (job);
    cr_assert_eq (zjob_job_error_count (copy), ZJOB_ERRORS_KEPT);
    zjob_job_destroy (&copy);
    zjob_job_destroy (&job);
}


//  --------------------------------------------------------------------------
//  The codec's new keys

Test (retry, policy_history_and_result_attempt_round_trip)
{
    zjob_spec_t spec = s_spec ();
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    zjob_policy_t values = s_policy (ZJOB_BACKOFF_FIXED, 50, 1.5, 9000, ZJOB_JITTER_NONE);
    values.timeout_ms = 30000;
    values.heartbeat_timeout_ms = 5000;
    const char *kinds [] = { "bad_input", "timeout" };
    job->policy = zjob_policy_new (&values, kinds, 2);
    zjob_history_t *replaced = NULL;
    cr_assert_eq (zjob_job_add_error (job, 1, "boom", "first", "w1", 111, &replaced), 0);
    zjob_job_history_settle (job, replaced);
    cr_assert_eq (zjob_job_add_error (job, 2, "worker_lost", NULL, NULL, 222, &replaced), 0);
    zjob_job_history_settle (job, replaced);
    job->result_attempt = 3;
    job->updated_at = 333;  //  A time long past: decoding must not stamp now
    uint8_t *data;
    size_t size;
    cr_assert_eq (zjob_job_encode (job, &data, &size), 0);
    zjob_job_t *copy = zjob_job_decode (data, size, &err);
    free (data);
    cr_assert_not_null (copy, "%s", err.text);
    cr_assert (zjob_policy_equal (copy->policy, job->policy));
    cr_assert_eq (zjob_job_backoff (copy), ZJOB_BACKOFF_FIXED);
    cr_assert_eq (zjob_job_timeout_ms (copy), 30000);
    cr_assert_eq (zjob_job_heartbeat_timeout_ms (copy), 5000);
    size_t count;
    const char *const *no_retry = zjob_job_no_retry (copy, &count);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (no_retry [1], "timeout");
    cr_assert_eq (zjob_job_error_count (copy), 2);
    zjob_attempt_error_t entry;
    cr_assert_eq (zjob_job_error_at (copy, 1, &entry), 0);
    cr_assert_str_eq (entry.kind, "worker_lost");
    cr_assert_null (entry.message);
    cr_assert_null (entry.worker_id);
    cr_assert_eq (entry.at, 222);
    cr_assert_str_eq (zjob_job_error_kind (copy), "worker_lost", "error_kind is the job's own");
    cr_assert_eq (zjob_job_result_attempt (copy), 3);
    cr_assert_eq (zjob_job_updated_at (copy), 333, "the record's updated_at, not now");
    zjob_job_destroy (&copy);
    zjob_job_destroy (&job);
}

//  A job map as msgpack, from pairs of key and a packing function
static size_t
s_pack_record (uint8_t *out, size_t max, const char *extra_key, int extra_kind)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, extra_key ? 6 : 5);
    msgpack_pack_str_with_body (&pk, "id", 2);
    msgpack_pack_str_with_body (&pk, "0123456789ABCDEFGHJK", 20);
    msgpack_pack_str_with_body (&pk, "wf", 2);
    msgpack_pack_str_with_body (&pk, "wf", 2);
    msgpack_pack_str_with_body (&pk, "pri", 3);
    msgpack_pack_uint8 (&pk, 1);
    msgpack_pack_str_with_body (&pk, "st", 2);
    msgpack_pack_uint8 (&pk, 5);
    msgpack_pack_str_with_body (&pk, "ct", 2);
    msgpack_pack_uint64 (&pk, 1000);
    if (extra_key) {
        msgpack_pack_str_with_body (&pk, extra_key, strlen (extra_key));
        if (extra_kind == 0)  //  errs: an entry without a kind
            msgpack_pack_array (&pk, 1), msgpack_pack_map (&pk, 1),
                msgpack_pack_str_with_body (&pk, "att", 3), msgpack_pack_uint8 (&pk, 1);
        else if (extra_kind == 1)  //  errs: not an array
            msgpack_pack_uint8 (&pk, 1);
        else if (extra_kind == 2)  //  bof: out of range
            msgpack_pack_double (&pk, 0.5);
        else  //  bo: out of range
            msgpack_pack_uint8 (&pk, 9);
    }
    cr_assert_leq (buffer.size, max);
    memcpy (out, buffer.data, buffer.size);
    size_t size = buffer.size;
    msgpack_sbuffer_destroy (&buffer);
    return size;
}

Test (retry, a_record_of_the_previous_version_decodes_and_bad_ones_are_refused)
{
    uint8_t data [256];
    zjob_error_t err;
    size_t size = s_pack_record (data, sizeof (data), NULL, 0);
    zjob_job_t *job = zjob_job_decode (data, size, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_null (job->policy, "no policy keys: no policy");
    cr_assert_eq (zjob_job_error_count (job), 0);
    cr_assert_eq (zjob_job_result_attempt (job), 0);
    zjob_job_destroy (&job);
    const char *keys [] = { "errs", "errs", "bof", "bo" };
    const char *fields [] = { "errors: an entry has no kind", "errors: not an array",
                              "backoff_factor: 1.0 to 100.0, not 0.5", "backoff: 9 is out of range" };
    for (int kind = 0; kind < 4; kind++) {
        size = s_pack_record (data, sizeof (data), keys [kind], kind);
        cr_assert_null (zjob_job_decode (data, size, &err), "%s", keys [kind]);
        cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
        cr_assert_str_eq (err.text, fields [kind]);
    }
}
