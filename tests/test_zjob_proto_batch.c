/*  =========================================================================
    test_zjob_proto_batch - the wire form of batches: SUBMIT's batch map
    as the client builds it and the broker reads it (and refuses a bad
    one with a 400 naming the key), and batch maps read back as built
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include "zjob_proto.h"
#include "zjob_proto_batch.h"

//  Decode what builder holds on the client route
static zjob_msg_t *
s_decode (zjob_msg_builder_t *builder)
{
    zjob_error_t err = { 0, "" };
    size_t size = 0;
    const uint8_t *data = zjob_msg_end_data (builder, &size, &err);
    cr_assert_not_null (data, "%s", err.text);
    zjob_msg_t *msg = zjob_msg_decode (data, size, ZJOB_ROUTE_CLIENT_BROKER, &err);
    cr_assert_not_null (msg, "decode: %s", err.text);
    return msg;
}

static void
s_begin_submit (zjob_msg_builder_t *builder)
{
    zjob_spec_t spec = { .workflow_id = "w", .priority = ZJOB_PRIORITY_UNSET };
    zjob_msg_begin (builder, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (builder, "jobs", &spec, 1);
}

Test (proto_batch, submit_batch_map_round_trips)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    static const uint8_t inputs [] = { 0x81, 0xa1, 'a', 0x01 };
    const char *tags [] = { "t1", "t2" };
    zjob_spec_t callback = { .workflow_id = "after", .inputs = inputs, .inputs_size = sizeof (inputs), .priority = ZJOB_PRIORITY_HIGH, .tags = tags, .tag_count = 2, .metadata = inputs, .metadata_size = sizeof (inputs) };
    zjob_batch_opts_t opts = { .id = "b-1", .open = true, .callback = &callback };
    s_begin_submit (builder);
    zjob_msg_add_batch_opts (builder, "batch", &opts);
    zjob_msg_t *msg = s_decode (builder);
    zjob_batch_opts_t got;
    zjob_spec_t got_callback;
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_msg_batch_opts (msg, &got, &got_callback, &err), 1, "%s", err.text);
    cr_assert_str_eq (got.id, "b-1");
    cr_assert (got.open);
    cr_assert_eq (got.callback, &got_callback);
    cr_assert_str_eq (got_callback.workflow_id, "after");
    cr_assert_eq (got_callback.inputs_size, sizeof (inputs));
    cr_assert_eq (memcmp (got_callback.inputs, inputs, sizeof (inputs)), 0);
    cr_assert_eq (got_callback.metadata_size, sizeof (inputs));
    cr_assert_eq (got_callback.priority, ZJOB_PRIORITY_HIGH);
    cr_assert_eq (got_callback.tag_count, 2);
    cr_assert_str_eq (got_callback.tags [1], "t2");
    zjob_msg_destroy (&msg);

    //  No batch map: 0
    s_begin_submit (builder);
    msg = s_decode (builder);
    cr_assert_eq (zjob_msg_batch_opts (msg, &got, &got_callback, &err), 0);
    cr_assert_null (got.id);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&builder);
}

//  A SUBMIT whose batch map is pack's; the error its read gives
static void
s_expect_refused (void (*pack) (msgpack_packer *pk), const char *needle)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    s_begin_submit (builder);
    pack (zjob_msg_add_key (builder, "batch"));
    zjob_msg_t *msg = s_decode (builder);
    zjob_batch_opts_t got;
    zjob_spec_t callback;
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_msg_batch_opts (msg, &got, &callback, &err), -1, "accepted");
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_not_null (strstr (err.text, needle), "'%s' does not name %s", err.text, needle);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&builder);
}

static void
s_key (msgpack_packer *pk, const char *key)
{
    msgpack_pack_str_with_body (pk, key, strlen (key));
}

static void
s_no_id (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 1);
    s_key (pk, "open");
    msgpack_pack_true (pk);
}

static void
s_bad_id (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 1);
    s_key (pk, "id");
    s_key (pk, "has space");
}

static void
s_bad_open (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 2);
    s_key (pk, "id");
    s_key (pk, "b");
    s_key (pk, "open");
    msgpack_pack_uint8 (pk, 1);
}

static void
s_unknown (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 2);
    s_key (pk, "id");
    s_key (pk, "b");
    s_key (pk, "colour");
    s_key (pk, "red");
}

static void
s_callback_no_workflow (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 2);
    s_key (pk, "id");
    s_key (pk, "b");
    s_key (pk, "callback");
    msgpack_pack_map (pk, 1);
    s_key (pk, "priority");
    s_key (pk, "high");
}

static void
s_callback_inputs_not_map (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 2);
    s_key (pk, "id");
    s_key (pk, "b");
    s_key (pk, "callback");
    msgpack_pack_map (pk, 2);
    s_key (pk, "workflow_id");
    s_key (pk, "after");
    s_key (pk, "inputs");
    msgpack_pack_bin_with_body (pk, "\x93\x01\x02\x03", 4);
}

static void
s_callback_bad_priority (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 2);
    s_key (pk, "id");
    s_key (pk, "b");
    s_key (pk, "callback");
    msgpack_pack_map (pk, 2);
    s_key (pk, "workflow_id");
    s_key (pk, "after");
    s_key (pk, "priority");
    s_key (pk, "urgent");
}

Test (proto_batch, a_bad_batch_map_is_a_400_naming_the_key)
{
    s_expect_refused (s_no_id, "batch.id: required");
    s_expect_refused (s_bad_id, "batch.id");
    s_expect_refused (s_bad_open, "batch.open");
    s_expect_refused (s_unknown, "batch: unknown key");
    s_expect_refused (s_callback_no_workflow, "batch.callback.workflow_id");
    s_expect_refused (s_callback_inputs_not_map, "batch.callback.inputs");
    s_expect_refused (s_callback_bad_priority, "batch.callback.priority");
}

Test (proto_batch, batch_maps_read_back_as_built)
{
    zjob_batch_info_t info = { .id = "nightly", .state = "running", .total = 10, .completed = 4, .failed = 1, .cancelled = 2, .pending = 3, .created_at = 1750000000000, .callback_workflow = "after" };
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_OK, 2);
    zjob_msg_add_batch (builder, "batch", &info);
    zjob_msg_add_batches (builder, "batches", &info, 1);
    zjob_error_t err = { 0, "" };
    size_t size = 0;
    const uint8_t *data = zjob_msg_end_data (builder, &size, &err);
    cr_assert_not_null (data);
    zjob_msg_t *msg = zjob_msg_decode (data, size, ZJOB_ROUTE_BROKER_CLIENT, &err);
    cr_assert_not_null (msg, "%s", err.text);
    zjob_batch_info_t got;
    cr_assert_eq (zjob_msg_batch (msg, "batch", &got), 0);
    cr_assert_eq (memcmp (&got, &info, sizeof (info)), 0, "the batch map reads back");
    zjob_batch_info_t *infos = NULL;
    size_t count = 0;
    cr_assert_eq (zjob_msg_batches (msg, "batches", &infos, &count, &err), 0, "%s", err.text);
    cr_assert_eq (count, 1);
    cr_assert_str_eq (infos [0].id, "nightly");
    cr_assert_eq (infos [0].pending, 3);
    free (infos);
    cr_assert_eq (zjob_msg_batch (msg, "nothing", &got), -1);
    //  The reply checks against BATCH's reply table
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_BATCH, &err), 0, "%s", err.text);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&builder);
}
