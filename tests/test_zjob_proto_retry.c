/*  =========================================================================
    test_zjob_proto_retry - the wire of issue #10: the retry policy in
    SUBMIT, RESULT attempt and permanent, CANCEL's reason and attempt,
    STATS retrying and dead, and the events' run_at and reason
    ========================================================================= */

#include "test_zjob_proto.h"

static zjob_spec_t
s_policy_spec (void)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "resize";
    spec.priority = ZJOB_PRIORITY_UNSET;
    return spec;
}

Test (proto, submit_carries_the_retry_policy)
{
    static const char *kinds [] = { "bad_input", "quota" };
    zjob_spec_t specs [3];
    specs [0] = s_policy_spec ();
    specs [0].max_attempts = 5;
    specs [0].backoff = ZJOB_BACKOFF_FIXED;
    specs [0].backoff_base_ms = 250;
    specs [0].backoff_factor = 1.5;
    specs [0].backoff_max_ms = 60000;
    specs [0].jitter = ZJOB_JITTER_NONE;
    specs [0].no_retry = kinds;
    specs [0].no_retry_count = 2;
    specs [0].timeout_ms = 30000;
    specs [0].heartbeat_timeout_ms = 5000;
    //  The explicit "none"s and "no limit" of a C spec, and an empty list
    specs [1] = s_policy_spec ();
    specs [1].max_attempts = ZJOB_ATTEMPTS_UNLIMITED;
    specs [1].backoff_base_ms = ZJOB_TIMEOUT_NONE;
    specs [1].timeout_ms = ZJOB_TIMEOUT_NONE;
    specs [1].heartbeat_timeout_ms = ZJOB_TIMEOUT_NONE;
    specs [1].no_retry = kinds;
    specs [1].no_retry_count = 0;
    //  Nothing: the defaults
    specs [2] = s_policy_spec ();
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (b, "jobs", specs, 3);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    size_t count;
    const zjob_spec_t *got = zjob_msg_specs (msg, &count);
    cr_assert_eq (count, 3);
    cr_assert_eq (got [0].max_attempts, 5);
    cr_assert_eq (got [0].backoff, ZJOB_BACKOFF_FIXED);
    cr_assert_eq (got [0].backoff_base_ms, 250);
    cr_assert_eq (got [0].backoff_factor, 1.5);
    cr_assert_eq (got [0].backoff_max_ms, 60000);
    cr_assert_eq (got [0].jitter, ZJOB_JITTER_NONE);
    cr_assert_eq (got [0].no_retry_count, 2);
    cr_assert_str_eq (got [0].no_retry [1], "quota");
    cr_assert_eq (got [0].timeout_ms, 30000);
    cr_assert_eq (got [0].heartbeat_timeout_ms, 5000);
    cr_assert_eq (got [1].max_attempts, ZJOB_ATTEMPTS_UNLIMITED, "0 on the wire");
    cr_assert_eq (got [1].backoff_base_ms, ZJOB_TIMEOUT_NONE);
    cr_assert_eq (got [1].timeout_ms, ZJOB_TIMEOUT_NONE);
    cr_assert_eq (got [1].heartbeat_timeout_ms, ZJOB_TIMEOUT_NONE);
    cr_assert_not_null (got [1].no_retry, "an empty list is given, not absent");
    cr_assert_eq (got [1].no_retry_count, 0);
    cr_assert_eq (got [2].max_attempts, 0);
    cr_assert_null (got [2].no_retry);
    cr_assert_eq (got [2].backoff, ZJOB_BACKOFF_UNSET);
    cr_assert_eq (got [2].backoff_factor, 0.0);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
}

//  A SUBMIT of one spec map with one extra key, packed by hand
static void
s_submit_with (msgpack_packer *pk, const char *key, int kind)
{
    msgpack_pack_str_with_body (pk, key, strlen (key));
    if (kind == 0)
        msgpack_pack_str_with_body (pk, "linear", 6);
    else if (kind == 1)
        msgpack_pack_double (pk, 0.5);
    else if (kind == 2) {
        msgpack_pack_array (pk, 17);
        for (int i = 0; i < 17; i++)
            msgpack_pack_str_with_body (pk, "k", 1);
    }
    else
        msgpack_pack_uint64 (pk, UINT32_MAX);
}

Test (proto, bad_policy_fields_are_refused_by_name)
{
    const char *keys [] = { "backoff", "backoff_factor", "no_retry", "timeout_ms", "jitter" };
    const int kinds [] = { 0, 1, 2, 3, 0 };
    const int codes [] = { ZJOB_BAD_REQUEST, ZJOB_BAD_REQUEST, ZJOB_TOO_LARGE,
                           ZJOB_BAD_REQUEST, ZJOB_BAD_REQUEST };
    for (size_t i = 0; i < 5; i++) {
        msgpack_sbuffer sbuf;
        msgpack_sbuffer_init (&sbuf);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
        msgpack_pack_array (&pk, 4);
        msgpack_pack_uint8 (&pk, ZJOB_PROTO_VERSION);
        msgpack_pack_str_with_body (&pk, "SUBMIT", 6);
        msgpack_pack_uint8 (&pk, 1);
        msgpack_pack_map (&pk, 1);
        msgpack_pack_str_with_body (&pk, "jobs", 4);
        msgpack_pack_array (&pk, 1);
        msgpack_pack_map (&pk, 2);
        msgpack_pack_str_with_body (&pk, "workflow_id", 11);
        msgpack_pack_str_with_body (&pk, "wf", 2);
        s_submit_with (&pk, keys [i], kinds [i]);
        s_expect_error (sbuf.data, sbuf.size, ZJOB_ROUTE_CLIENT_BROKER, codes [i], keys [i]);
        msgpack_sbuffer_destroy (&sbuf);
    }
}

Test (proto, result_attempt_and_permanent)
{
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    //  Single form
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 3);
    zjob_msg_add_str (b, "id", "01JD6ZQ8XKTBV3M9W2N4");
    zjob_msg_add_str (b, "status", "failed");
    zjob_msg_add_uint (b, "attempt", 2);
    zjob_msg_add_bool (b, "permanent", true);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_WORKER_BROKER);
    size_t count;
    const zjob_result_t *results = zjob_msg_results (msg, &count);
    cr_assert_eq (count, 1);
    cr_assert_eq (results [0].attempt, 2);
    cr_assert (results [0].permanent);
    zjob_msg_destroy (&msg);
    //  Batched form, through the builder
    zjob_result_t sent [2] = {
        { .id = "01JD6ZQ8XKTBV3M9W2N4", .completed = false, .error_kind = "bad_input", .attempt = 1, .permanent = true },
        { .id = "01JD6ZQ8XKTBV3M9W2N5", .completed = true, .attempt = 7, .permanent = true }
    };
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 4);
    zjob_msg_add_results (b, "results", sent, 2);
    msg = s_decode (s_end (b), ZJOB_ROUTE_WORKER_BROKER);
    results = zjob_msg_results (msg, &count);
    cr_assert_eq (count, 2);
    cr_assert_eq (results [0].attempt, 1);
    cr_assert (results [0].permanent);
    cr_assert_eq (results [1].attempt, 7);
    cr_assert_not (results [1].permanent, "only a failure is permanent");
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
}

Test (proto, cancel_to_a_worker_says_why)
{
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_msg_build_cancel (b, 9, "01JD6ZQ8XKTBV3M9W2N4", "timeout", 3);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_WORKER);
    cr_assert_str_eq (zjob_msg_str (msg, "reason"), "timeout");
    cr_assert_eq (zjob_msg_uint (msg, "attempt", 0), 3);
    zjob_msg_destroy (&msg);
    //  A plain cancel has neither
    zjob_msg_build_cancel (b, 10, "01JD6ZQ8XKTBV3M9W2N4", NULL, 0);
    msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_WORKER);
    cr_assert_null (zjob_msg_str (msg, "reason"));
    cr_assert_not (zjob_msg_has (msg, "attempt"));
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
}

Test (proto, stats_count_retrying_and_dead)
{
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_stats_t stats;
    memset (&stats, 0, sizeof (stats));
    stats.retrying = 4;
    stats.dead = 2;
    stats.by_status [ZJOB_FAILED] = 2;
    zjob_msg_begin (b, ZJOB_CMD_OK, 5);
    zjob_msg_add_stats (b, &stats);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    zjob_error_t err;
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_STATS, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (msg, "retrying", 0), 4);
    cr_assert_eq (zjob_msg_uint (msg, "dead", 0), 2);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
}

Test (proto, a_retrying_event_has_its_run_at)
{
    zjob_job_t *job = s_job_new ();
    job->status = ZJOB_QUEUED;
    job->queued_at = 1000;
    job->run_at = 5000;
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_msg_begin (b, ZJOB_CMD_EVENT, 1);
    zjob_msg_add_job_event (b, "retrying", job, ZJOB_RUNNING);
    zjob_msg_add_str (b, "reason", "timeout");
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_EVENTS);
    cr_assert_eq (zjob_msg_uint (msg, "run_at", 0), 5000);
    cr_assert_str_eq (zjob_msg_str (msg, "reason"), "timeout");
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}
