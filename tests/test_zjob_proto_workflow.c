/*  =========================================================================
    test_zjob_proto_workflow - the wire's workflow keys (issue #11)

    SUBMIT specs carry depends_on (job ids and positions in one array),
    on_parent_failure, batch_id, template and unique_key; workflow_id may
    be left to a template; SUBMIT carries a batch map; a filter carries
    batch_id, waiting_on and schedule_id. Each is built by the client's
    builder, decoded into the C structs, and refused, naming the field,
    when it is bad.
    ========================================================================= */

#include "test_zjob_proto.h"

#define S_ID_A "0000000000000000000A"
#define S_ID_B "0000000000000000000B"

Test (proto_workflow, submit_workflow_keys_round_trip)
{
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    const char *ids [] = { S_ID_A, S_ID_B };
    const uint32_t positions [] = { 0 };
    zjob_spec_t specs [2] = {
        { .workflow_id = "extract", .priority = ZJOB_PRIORITY_UNSET, .unique_key = "x:1" },
        { .template_name = "load", .priority = ZJOB_PRIORITY_UNSET, .depends_on = ids, .depends_on_count = 2, .depends_on_index = positions, .depends_on_index_count = 1, .on_parent_failure = ZJOB_ON_PARENT_CANCEL, .batch_id = "nightly",
          //  The broker's own: never sent
          .schedule_id = "every-night",
          .scheduled_for = 5 },
    };
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (b, "jobs", specs, 2);
    msgpack_packer *pk = zjob_msg_add_key (b, "batch");
    msgpack_pack_map (pk, 1);
    msgpack_pack_str_with_body (pk, "id", 2);
    msgpack_pack_str_with_body (pk, "nightly", 7);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    size_t count = 0;
    const zjob_spec_t *got = zjob_msg_specs (msg, &count);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (got [0].workflow_id, "extract");
    cr_assert_str_eq (got [0].unique_key, "x:1");
    cr_assert_eq (got [0].depends_on_count + got [0].depends_on_index_count, 0);
    cr_assert_null (got [0].batch_id);
    cr_assert_null (got [1].workflow_id, "left to the template");
    cr_assert_str_eq (got [1].template_name, "load");
    cr_assert_eq (got [1].depends_on_count, 2);
    cr_assert_str_eq (got [1].depends_on [0], S_ID_A);
    cr_assert_str_eq (got [1].depends_on [1], S_ID_B);
    cr_assert_eq (got [1].depends_on_index_count, 1);
    cr_assert_eq (got [1].depends_on_index [0], 0);
    cr_assert_eq (got [1].on_parent_failure, ZJOB_ON_PARENT_CANCEL);
    cr_assert_str_eq (got [1].batch_id, "nightly");
    cr_assert_null (got [1].schedule_id);
    cr_assert_eq (got [1].scheduled_for, 0);
    const msgpack_object *batch = zjob_msg_submit_batch (msg);
    cr_assert_not_null (batch);
    cr_assert_eq (batch->type, MSGPACK_OBJECT_MAP);
    cr_assert_eq (batch->via.map.size, 1);
    zjob_msg_destroy (&msg);

    //  The ids alone make a job (positions are the broker's to resolve)
    zjob_spec_t one = { .workflow_id = "w", .priority = ZJOB_PRIORITY_UNSET, .depends_on = ids, .depends_on_count = 2, .on_parent_failure = ZJOB_ON_PARENT_RUN };
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 2);
    zjob_msg_add_specs (b, "jobs", &one, 1);
    msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    got = zjob_msg_specs (msg, &count);
    cr_assert_null (zjob_msg_submit_batch (msg));
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&got [0], &err);
    cr_assert_not_null (job, "%s", err.text);
    size_t parents = 0;
    cr_assert_str_eq (zjob_job_parents (job, &parents) [1], S_ID_B);
    cr_assert_eq (zjob_job_on_parent_failure (job), ZJOB_ON_PARENT_RUN);
    zjob_job_destroy (&job);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
}

//  A SUBMIT of one spec map {workflow_id: "w", key: (pack)}, or without
//  workflow_id when key is NULL
typedef void (s_pack_fn) (msgpack_packer *pk);

static void
s_expect_spec_error (const char *key, s_pack_fn *pack, int code, const char *needle)
{
    s_raw_t raw;
    s_raw_envelope (&raw, 1, "SUBMIT", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "jobs");
    msgpack_pack_array (&raw.pk, 2);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "workflow_id");
    s_raw_str (&raw, "ok");
    msgpack_pack_map (&raw.pk, key ? 2 : 1);
    s_raw_str (&raw, key ? "workflow_id" : "priority");
    s_raw_str (&raw, key ? "w" : "low");
    if (key) {
        s_raw_str (&raw, key);
        pack (&raw.pk);
    }
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER, code, needle);
    s_raw_destroy (&raw);
}

static void
s_pack_65_parents (msgpack_packer *pk)
{
    msgpack_pack_array (pk, ZJOB_PARENTS_MAX + 1);
    for (int i = 0; i <= ZJOB_PARENTS_MAX; i++)
        msgpack_pack_uint32 (pk, (uint32_t) i);
}
static void
s_pack_float_parent (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 2);
    msgpack_pack_str_with_body (pk, S_ID_A, ZJOB_ID_LEN);
    msgpack_pack_double (pk, 1.5);
}
static void
s_pack_bad_id_parent (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 1);
    msgpack_pack_str_with_body (pk, "nope", 4);
}
static void
s_pack_big_position (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 1);
    msgpack_pack_uint32 (pk, ZJOB_BATCH_MAX);
}
static void
s_pack_skip (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "skip", 4);
}
static void
s_pack_spaced (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "a b", 3);
}
static void
s_pack_one (msgpack_packer *pk)
{
    msgpack_pack_uint8 (pk, 1);
}

Test (proto_workflow, bad_spec_keys_are_refused_naming_the_spec)
{
    s_expect_spec_error (NULL, NULL, ZJOB_BAD_REQUEST,
                         "SUBMIT: jobs[1].workflow_id: required (or a template)");
    s_expect_spec_error ("depends_on", s_pack_65_parents, ZJOB_TOO_LARGE,
                         "SUBMIT: jobs[1].depends_on: 65 items, over the limit of 64");
    s_expect_spec_error ("depends_on", s_pack_float_parent, ZJOB_BAD_REQUEST,
                         "SUBMIT: jobs[1].depends_on[1]: expected a job id (string) or a "
                         "position (unsigned integer), got a float");
    s_expect_spec_error ("depends_on", s_pack_bad_id_parent, ZJOB_BAD_REQUEST,
                         "jobs[1].depends_on[0]: \"nope\" is not a job id");
    char out_of_range [80];
    snprintf (out_of_range, sizeof out_of_range, "jobs[1].depends_on[0]: %d is out of range 0..%d",
              ZJOB_BATCH_MAX, ZJOB_BATCH_MAX - 1);
    s_expect_spec_error ("depends_on", s_pack_big_position, ZJOB_BAD_REQUEST, out_of_range);
    s_expect_spec_error ("depends_on", s_pack_skip, ZJOB_BAD_REQUEST,
                         "jobs[1].depends_on: expected an array of job ids and positions");
    s_expect_spec_error ("on_parent_failure", s_pack_skip, ZJOB_BAD_REQUEST,
                         "SUBMIT: jobs[1].on_parent_failure: fail, cancel or run");
    s_expect_spec_error ("batch_id", s_pack_spaced, ZJOB_BAD_REQUEST, "jobs[1].batch_id: not a name");
    s_expect_spec_error ("template", s_pack_one, ZJOB_BAD_REQUEST,
                         "jobs[1].template: expected a name (string)");
    s_expect_spec_error ("unique_key", s_pack_spaced, ZJOB_BAD_REQUEST,
                         "jobs[1].unique_key: not a name");

    //  SUBMIT's batch must be a map
    s_raw_t raw;
    s_raw_envelope (&raw, 1, "SUBMIT", 1);
    msgpack_pack_map (&raw.pk, 2);
    s_raw_str (&raw, "jobs");
    msgpack_pack_array (&raw.pk, 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "workflow_id");
    s_raw_str (&raw, "ok");
    s_raw_str (&raw, "batch");
    s_raw_str (&raw, "b1");
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST,
                    "SUBMIT: batch: expected a map");
    s_raw_destroy (&raw);
}

Test (proto_workflow, filter_workflow_keys)
{
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_query_t sent = { .filter = { .status_mask = 1u << ZJOB_WAITING, .batch_id = "nightly", .waiting_on = S_ID_A, .schedule_id = "every-night" } };
    zjob_msg_begin (b, ZJOB_CMD_LIST, 1);
    zjob_msg_add_query (b, &sent);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    const zjob_query_t *query = zjob_msg_query (msg);
    cr_assert_not_null (query);
    cr_assert_eq (query->filter.status_mask, 1u << ZJOB_WAITING);
    cr_assert_str_eq (query->filter.batch_id, "nightly");
    cr_assert_str_eq (query->filter.waiting_on, S_ID_A);
    cr_assert_str_eq (query->filter.schedule_id, "every-night");
    zjob_error_t err;
    cr_assert_eq (zjob_filter_validate (&query->filter, &err), 0, "%s", err.text);
    zjob_msg_destroy (&msg);

    //  A filter of a batch alone is a filter (a bulk CANCEL of a batch)
    zjob_filter_t by_batch = { .batch_id = "nightly" };
    zjob_target_t target = { .filter = &by_batch };
    zjob_msg_begin (b, ZJOB_CMD_CANCEL, 2);
    zjob_msg_add_target (b, &target);
    msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    const zjob_target_t *got = zjob_msg_target (msg);
    cr_assert_not_null (got);
    cr_assert_not_null (got->filter);
    cr_assert_str_eq (got->filter->batch_id, "nightly");
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);

    //  waiting_on must be a job id
    s_raw_t raw;
    s_raw_envelope (&raw, 1, "LIST", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "filter");
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "waiting_on");
    s_raw_str (&raw, "x");
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST,
                    "LIST: filter.waiting_on: \"x\" is not a job id");
    s_raw_destroy (&raw);
}

Test (proto_workflow, waiting_is_a_status_on_the_wire)
{
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_query_t sent = { .filter = { .status_mask = (1u << ZJOB_WAITING) | (1u << ZJOB_QUEUED) } };
    zjob_msg_begin (b, ZJOB_CMD_LIST, 1);
    zjob_msg_add_query (b, &sent);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    cr_assert_eq (zjob_msg_query (msg)->filter.status_mask, sent.filter.status_mask);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
    cr_assert_str_eq (zjob_cmd_name (ZJOB_CMD_BATCH), "BATCH");
    cr_assert_str_eq (zjob_cmd_name (ZJOB_CMD_TEMPLATE), "TEMPLATE");
    cr_assert_str_eq (zjob_cmd_name (ZJOB_CMD_SCHEDULE), "SCHEDULE");
    cr_assert_str_eq (zjob_cmd_name (ZJOB_CMD_QUEUE), "QUEUE");
    cr_assert_str_eq (zjob_cmd_name (ZJOB_CMD_METRICS), "METRICS");
    cr_assert_eq (ZJOB_CMD_BATCH, 28);
    cr_assert_eq (ZJOB_CMD_METRICS, 32);
    cr_assert_eq (ZJOB_CMD_COUNT, 33);
}
