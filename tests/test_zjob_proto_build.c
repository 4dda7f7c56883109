/*  =========================================================================
    test_zjob_proto_build - the wire codec's builders of batches and replies

    The batched worker messages (READY's batch, JOB and RESULT with several
    jobs, and the OK that refuses some results), the reply builders of
    STATS, WORKERS and bulk operations, and the defaults and criteria a
    builder writes (a filter's scheduled criterion, a spec's priority).
    Each message is built, decoded, checked against its table and read.
    ========================================================================= */

#include "test_zjob_proto.h"

//  --------------------------------------------------------------------------
//  Batched worker messages (PROTOCOL.md 10.2, 10.3, 10.5)

//  Decode an OK on the worker route and check it against request's table
static int
s_check_ok (zjob_msg_builder_t *b, zjob_cmd_t request, zjob_msg_t **msg_p, zjob_error_t *err)
{
    *msg_p = s_decode (s_end (b), ZJOB_ROUTE_BROKER_WORKER);
    return zjob_msg_check_reply (*msg_p, request, err);
}

Test (proto, batch_capability)
{
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    const char *wf [] = { "resize" };
    zjob_msg_begin (b, ZJOB_CMD_READY, 1);
    zjob_msg_add_str (b, "worker_id", "w1");
    zjob_msg_add_strs (b, "workflows", wf, 1);
    zjob_msg_add_uint (b, "slots", 16);
    zjob_msg_add_uint (b, "batch", 16);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_WORKER_BROKER);
    cr_assert_eq (zjob_msg_uint (msg, "batch", 1), 16);
    zjob_msg_destroy (&msg);
    //  batch is 1..1000
    uint64_t bad [] = { 0, ZJOB_SLOTS_MAX + 1 };
    for (size_t i = 0; i < 2; i++) {
        zjob_msg_begin (b, ZJOB_CMD_READY, 1);
        zjob_msg_add_str (b, "worker_id", "w1");
        zjob_msg_add_strs (b, "workflows", wf, 1);
        zjob_msg_add_uint (b, "slots", 16);
        zjob_msg_add_uint (b, "batch", bad [i]);
        zframe_t *frame = s_end (b);
        s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST, "batch");
    }
    //  The broker's answer carries its own batch
    zjob_error_t err;
    zjob_msg_begin (b, ZJOB_CMD_OK, 1);
    zjob_msg_add_uint (b, "heartbeat_ms", 1000);
    zjob_msg_add_uint (b, "liveness", 3);
    zjob_msg_add_uint (b, "credit", 16);
    zjob_msg_add_uint (b, "batch", ZJOB_SLOTS_MAX);
    cr_assert_eq (s_check_ok (b, ZJOB_CMD_READY, &msg, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (msg, "batch", 1), ZJOB_SLOTS_MAX);
    zjob_msg_destroy (&msg);
    zjob_msg_begin (b, ZJOB_CMD_OK, 1);
    zjob_msg_add_uint (b, "heartbeat_ms", 1000);
    zjob_msg_add_uint (b, "liveness", 3);
    zjob_msg_add_uint (b, "credit", 16);
    zjob_msg_add_str (b, "batch", "yes");
    cr_assert_eq (s_check_ok (b, ZJOB_CMD_READY, &msg, &err), -1);
    cr_assert (strstr (err.text, "batch"), "%s", err.text);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
}

Test (proto, job_batches)
{
    zjob_job_t *jobs [3];
    for (size_t i = 0; i < 3; i++)
        jobs [i] = s_job_new ();
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_msg_begin (b, ZJOB_CMD_JOB, 0);
    cr_assert_eq (zjob_msg_add_jobs (b, "jobs", jobs, 3), 3);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_WORKER);
    zjob_error_t err;
    zjob_job_t **decoded;
    size_t count;
    cr_assert_eq (zjob_msg_jobs (msg, "jobs", &decoded, &count, &err), 0, "%s", err.text);
    cr_assert_eq (count, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_str_eq (decoded [i]->id, jobs [i]->id);
        cr_assert_eq (decoded [i]->inputs.size, s_inputs_size);
        zjob_job_destroy (&decoded [i]);
    }
    free (decoded);
    zjob_msg_destroy (&msg);

    //  One of job and jobs: not both, not neither, not an empty batch
    zjob_msg_begin (b, ZJOB_CMD_JOB, 0);
    zjob_msg_add_job (b, "job", jobs [0]);
    zjob_msg_add_jobs (b, "jobs", jobs, 2);
    zframe_t *frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_BROKER_WORKER, ZJOB_BAD_REQUEST, "not both");
    zjob_msg_begin (b, ZJOB_CMD_JOB, 0);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_BROKER_WORKER, ZJOB_BAD_REQUEST,
                          "one of job and jobs");
    zjob_msg_begin (b, ZJOB_CMD_JOB, 0);
    zjob_msg_add_jobs (b, "jobs", jobs, 0);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_BROKER_WORKER, ZJOB_BAD_REQUEST, "jobs");
    //  An item that is not a map
    s_raw_t raw;
    s_raw_envelope (&raw, 1, "JOB", 0);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "jobs");
    msgpack_pack_array (&raw.pk, 1);
    s_raw_str (&raw, jobs [0]->id);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_BROKER_WORKER,
                    ZJOB_BAD_REQUEST, "jobs[0]");
    s_raw_destroy (&raw);
    zjob_msg_builder_destroy (&b);
    for (size_t i = 0; i < 3; i++)
        zjob_job_destroy (&jobs [i]);
}

Test (proto, result_batches)
{
    zjob_job_t *a = s_job_new ();
    zjob_job_t *c = s_job_new ();
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_result_t results [2] = {
        { .id = a->id, .completed = true, .outputs = s_inputs, .outputs_size = s_inputs_size },
        { .id = c->id, .completed = false, .error_kind = "timeout", .error_message = "took more than 30 s" }
    };
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 9);
    zjob_msg_add_results (b, "results", results, 2);
    zjob_msg_add_uint (b, "credit", 2);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_WORKER_BROKER);
    size_t count;
    const zjob_result_t *got = zjob_msg_results (msg, &count);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (got [0].id, a->id);
    cr_assert (got [0].completed);
    cr_assert_eq (got [0].outputs_size, s_inputs_size);
    cr_assert_eq (memcmp (got [0].outputs, s_inputs, s_inputs_size), 0);
    cr_assert_null (got [0].error_kind);
    cr_assert_str_eq (got [1].id, c->id);
    cr_assert_not (got [1].completed);
    cr_assert_null (got [1].outputs);
    cr_assert_str_eq (got [1].error_kind, "timeout");
    cr_assert_str_eq (got [1].error_message, "took more than 30 s");
    cr_assert_eq (zjob_msg_uint (msg, "credit", 0), 2);
    zjob_msg_destroy (&msg);

    //  The single form reads the same way
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 10);
    zjob_msg_add_str (b, "id", c->id);
    zjob_msg_add_str (b, "status", "failed");
    zjob_msg_add_str (b, "error_kind", "exit");
    msg = s_decode (s_end (b), ZJOB_ROUTE_WORKER_BROKER);
    got = zjob_msg_results (msg, &count);
    cr_assert_eq (count, 1);
    cr_assert_str_eq (got [0].id, c->id);
    cr_assert_not (got [0].completed);
    cr_assert_str_eq (got [0].error_kind, "exit");
    cr_assert_null (got [0].error_message);
    zjob_msg_destroy (&msg);
    //  Other commands have none
    msg = s_decode (zjob_msg_empty_new (ZJOB_CMD_HEARTBEAT, 1), ZJOB_ROUTE_WORKER_BROKER);
    cr_assert_null (zjob_msg_results (msg, &count));
    cr_assert_eq (count, 0);
    zjob_msg_destroy (&msg);

    //  Both forms at once; neither
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 11);
    zjob_msg_add_str (b, "id", a->id);
    zjob_msg_add_results (b, "results", results, 2);
    zframe_t *frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST, "not both");
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 11);
    zjob_msg_add_uint (b, "credit", 1);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST, "RESULT: id: missing");
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 11);
    zjob_msg_add_str (b, "id", a->id);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST, "status: missing");
    //  An empty batch
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 11);
    zjob_msg_add_results (b, "results", results, 0);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST, "results");
    //  A bad item names its index
    zjob_result_t bad [2] = { results [0], { .id = NULL, .completed = true } };
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 11);
    zjob_msg_add_results (b, "results", bad, 2);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST, "results[1].id");
    bad [1] = (zjob_result_t){ .id = c->id, .completed = false, .error_kind = "" };
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 11);
    zjob_msg_add_results (b, "results", bad, 2);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST,
                          "results[1].error_kind");
    //  Raw: an item without status, an item with status running, an item
    //  that is not a map
    const char *statuses [] = { NULL, "running" };
    for (size_t i = 0; i < 2; i++) {
        s_raw_t raw;
        s_raw_envelope (&raw, 1, "RESULT", 11);
        msgpack_pack_map (&raw.pk, 1);
        s_raw_str (&raw, "results");
        msgpack_pack_array (&raw.pk, 1);
        msgpack_pack_map (&raw.pk, statuses [i] ? 2 : 1);
        s_raw_str (&raw, "id");
        s_raw_str (&raw, a->id);
        if (statuses [i]) {
            s_raw_str (&raw, "status");
            s_raw_str (&raw, statuses [i]);
        }
        s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_WORKER_BROKER,
                        ZJOB_BAD_REQUEST, i ? "results[0].status: must be completed or failed" : "results[0].status: missing");
        s_raw_destroy (&raw);
    }
    s_raw_t raw;
    s_raw_envelope (&raw, 1, "RESULT", 11);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "results");
    msgpack_pack_array (&raw.pk, 1);
    msgpack_pack_uint8 (&raw.pk, 7);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_WORKER_BROKER,
                    ZJOB_BAD_REQUEST, "results[0]: expected a map");
    s_raw_destroy (&raw);
    //  Over the limit of 1000 results
    zjob_result_t *many = (zjob_result_t *) calloc (ZJOB_SLOTS_MAX + 1, sizeof (zjob_result_t));
    for (size_t i = 0; i <= ZJOB_SLOTS_MAX; i++)
        many [i] = results [1];
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 11);
    zjob_msg_add_results (b, "results", many, ZJOB_SLOTS_MAX + 1);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_TOO_LARGE, "results");
    free (many);

    //  The OK: per-result refusals
    const char *ids [2] = { a->id, c->id };
    zjob_error_t errors [2];
    zjob_error_set (&errors [0], ZJOB_NOT_FOUND, "no job %s", a->id);
    zjob_error_set (&errors [1], ZJOB_INTERNAL, "store failed");
    zjob_msg_begin (b, ZJOB_CMD_OK, 9);
    zjob_msg_add_result_errors (b, ids, errors, 2);
    zjob_error_t err;
    cr_assert_eq (s_check_ok (b, ZJOB_CMD_RESULT, &msg, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_result_errors (msg), 2);
    const char *id = zjob_msg_result_error (msg, 0, &err);
    cr_assert_str_eq (id, a->id);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert (strstr (err.text, a->id));
    id = zjob_msg_result_error (msg, 1, &err);
    cr_assert_str_eq (id, c->id);
    cr_assert_eq (err.code, ZJOB_INTERNAL);
    cr_assert_str_eq (err.text, "store failed");
    cr_assert_null (zjob_msg_result_error (msg, 2, &err));
    zjob_msg_destroy (&msg);
    //  An OK without errors refuses nothing
    zjob_msg_begin (b, ZJOB_CMD_OK, 9);
    cr_assert_eq (s_check_ok (b, ZJOB_CMD_RESULT, &msg, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_result_errors (msg), 0);
    zjob_msg_destroy (&msg);
    //  A refusal with a bad code, or without an id
    zjob_error_set (&errors [0], 99, "too low");
    zjob_msg_begin (b, ZJOB_CMD_OK, 9);
    zjob_msg_add_result_errors (b, ids, errors, 1);
    cr_assert_eq (s_check_ok (b, ZJOB_CMD_RESULT, &msg, &err), -1);
    cr_assert (strstr (err.text, "errors[0].code"), "%s", err.text);
    zjob_msg_destroy (&msg);
    s_raw_envelope (&raw, 1, "OK", 9);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "errors");
    msgpack_pack_array (&raw.pk, 1);
    msgpack_pack_map (&raw.pk, 2);
    s_raw_str (&raw, "code");
    msgpack_pack_uint16 (&raw.pk, 404);
    s_raw_str (&raw, "message");
    s_raw_str (&raw, "gone");
    msg = zjob_msg_decode (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_BROKER_WORKER, &err);
    cr_assert_not_null (msg, "%s", err.text);
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_RESULT, &err), -1);
    cr_assert (strstr (err.text, "errors[0].id: missing"), "%s", err.text);
    zjob_msg_destroy (&msg);
    s_raw_destroy (&raw);

    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&a);
    zjob_job_destroy (&c);
}


//  --------------------------------------------------------------------------
//  Reply builders: STATS, WORKERS, bulk operations. Each reply is decoded
//  and checked against its table (zjob_msg_check_reply), then read field
//  by field as PROTOCOL.md 9.5, 9.9 and 9.10 describe them.

//  The value at key in a msgpack map, or NULL
static const msgpack_object *
s_map_get (const msgpack_object *map, const char *key)
{
    cr_assert_eq (map->type, MSGPACK_OBJECT_MAP);
    for (uint32_t index = 0; index < map->via.map.size; index++) {
        const msgpack_object_kv *kv = &map->via.map.ptr [index];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen (key)
            && memcmp (kv->key.via.str.ptr, key, kv->key.via.str.size) == 0)
            return &kv->val;
    }
    return NULL;
}

static uint64_t
s_map_uint (const msgpack_object *map, const char *key)
{
    const msgpack_object *value = s_map_get (map, key);
    cr_assert_not_null (value, "no %s", key);
    cr_assert_eq (value->type, MSGPACK_OBJECT_POSITIVE_INTEGER, "%s: not a uint", key);
    return value->via.u64;
}

static bool
s_str_is (const msgpack_object *value, const char *text)
{
    return value && value->type == MSGPACK_OBJECT_STR && value->via.str.size == strlen (text)
        && memcmp (value->via.str.ptr, text, strlen (text)) == 0;
}

Test (proto, stats_reply_builder)
{
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_stats_t stats = { .queued = 3, .active = 2, .workers = 1, .slots = 8, .busy = 2, .max_concurrent = 2, .scheduled = 1, .held_by_limit = true, .submitted_rate = 12.5, .completed_rate = 10, .failed_rate = 0.25, .rate_window_ms = 10000, .uptime_ms = 60000, .subscriptions = 4 };
    stats.by_status [ZJOB_QUEUED] = 3;
    stats.by_status [ZJOB_RUNNING] = 2;
    stats.by_status [ZJOB_COMPLETED] = 5;
    const char *workflows [] = { "resize", "encode" };
    size_t counts [2][ZJOB_STATUS_COUNT] = { { 0 } };
    counts [0][ZJOB_QUEUED] = 3;
    counts [0][ZJOB_COMPLETED] = 5;
    counts [1][ZJOB_RUNNING] = 2;
    stats.workflow_ids = workflows;
    stats.workflow_counts = (const size_t (*) [ZJOB_STATUS_COUNT]) counts;
    stats.workflow_count = 2;
    const char *keys [] = { "journal_bytes", "syncs" };
    const char *values [] = { "4096", "17" };
    stats.store_name = "file";
    stats.store_keys = keys;
    stats.store_values = values;
    stats.store_count = 2;
    zjob_msg_begin (b, ZJOB_CMD_OK, 7);
    zjob_msg_add_stats (b, &stats);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_STATS, &err), 0, "%s", err.text);

    cr_assert_eq (zjob_msg_uint (msg, "jobs", 0), 10);
    const msgpack_object *by_status = zjob_msg_field (msg, "by_status");
    cr_assert_eq (by_status->via.map.size, ZJOB_STATUS_COUNT, "every status, zeros too");
    cr_assert_eq (s_map_uint (by_status, "queued"), 3);
    cr_assert_eq (s_map_uint (by_status, "failed"), 0);
    const msgpack_object *by_workflow = zjob_msg_field (msg, "by_workflow");
    cr_assert_eq (by_workflow->via.map.size, 2);
    const msgpack_object *resize = s_map_get (by_workflow, "resize");
    cr_assert_eq (resize->via.map.size, 2, "only the statuses it has jobs in");
    cr_assert_eq (s_map_uint (resize, "completed"), 5);
    cr_assert_eq (s_map_uint (s_map_get (by_workflow, "encode"), "running"), 2);
    cr_assert_eq (zjob_msg_uint (msg, "queued", 0), 3);
    cr_assert_eq (zjob_msg_uint (msg, "active", 0), 2);
    cr_assert_eq (zjob_msg_uint (msg, "workers", 0), 1);
    cr_assert_eq (zjob_msg_uint (msg, "slots", 0), 8);
    cr_assert_eq (zjob_msg_uint (msg, "busy", 0), 2);
    cr_assert_eq (zjob_msg_uint (msg, "max_concurrent", 0), 2);
    cr_assert_eq (zjob_msg_uint (msg, "scheduled", 0), 1);
    cr_assert (zjob_msg_bool (msg, "held_by_limit", false));
    const msgpack_object *rates = zjob_msg_field (msg, "rates");
    cr_assert_eq (rates->via.map.size, 3);
    cr_assert_float_eq (s_map_get (rates, "submitted")->via.f64, 12.5, 1e-9);
    cr_assert_float_eq (s_map_get (rates, "failed")->via.f64, 0.25, 1e-9);
    cr_assert_eq (zjob_msg_uint (msg, "rate_window_ms", 0), 10000);
    cr_assert_eq (zjob_msg_uint (msg, "uptime_ms", 0), 60000);
    cr_assert_eq (zjob_msg_uint (msg, "subscriptions", 0), 4);
    const msgpack_object *store = zjob_msg_field (msg, "store");
    cr_assert_eq (store->via.map.size, 3);
    cr_assert (s_str_is (s_map_get (store, "name"), "file"));
    cr_assert (s_str_is (s_map_get (store, "syncs"), "17"));
    zjob_msg_destroy (&msg);

    //  No store, no workflows: no "store" map, an empty by_workflow
    zjob_stats_t empty = { .rate_window_ms = 10000 };
    zjob_msg_begin (b, ZJOB_CMD_OK, 8);
    zjob_msg_add_stats (b, &empty);
    msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_STATS, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (msg, "jobs", 99), 0);
    cr_assert_eq (zjob_msg_field (msg, "by_workflow")->via.map.size, 0);
    cr_assert_not (zjob_msg_has (msg, "store"));
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
}

Test (proto, workers_reply_builder)
{
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    const char *workflows [] = { "resize", "encode" };
    const char *jobs [] = { "06H4E76Q144DM4VV8R9F" };
    zjob_worker_info_t workers [2] = {
        { .worker_id = "gpu-1", .name = "GPU one", .workflows = workflows, .workflow_count = 2, .slots = 4, .busy = 1, .credit = 3, .jobs = jobs, .job_count = 1, .connected_at = 1750000000000, .last_seen = 1750000001000 },
        { .worker_id = "cpu-1", .slots = 1 }
    };
    zjob_msg_begin (b, ZJOB_CMD_OK, 9);
    zjob_msg_add_workers (b, workers, 2);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_WORKERS, &err), 0, "%s", err.text);
    const msgpack_object *list = zjob_msg_field (msg, "workers");
    cr_assert_eq (list->type, MSGPACK_OBJECT_ARRAY);
    cr_assert_eq (list->via.array.size, 2);
    const msgpack_object *first = &list->via.array.ptr [0];
    cr_assert_eq (first->via.map.size, 9);
    cr_assert (s_str_is (s_map_get (first, "worker_id"), "gpu-1"));
    cr_assert (s_str_is (s_map_get (first, "name"), "GPU one"));
    const msgpack_object *served = s_map_get (first, "workflows");
    cr_assert_eq (served->via.array.size, 2);
    cr_assert (s_str_is (&served->via.array.ptr [1], "encode"));
    cr_assert_eq (s_map_uint (first, "slots"), 4);
    cr_assert_eq (s_map_uint (first, "busy"), 1);
    cr_assert_eq (s_map_uint (first, "credit"), 3);
    const msgpack_object *held = s_map_get (first, "jobs");
    cr_assert_eq (held->via.array.size, 1);
    cr_assert (s_str_is (&held->via.array.ptr [0], jobs [0]));
    cr_assert_eq (s_map_uint (first, "connected_at"), 1750000000000);
    cr_assert_eq (s_map_uint (first, "last_seen"), 1750000001000);
    //  No name: the worker id stands in; no workflows or jobs: empty arrays
    const msgpack_object *second = &list->via.array.ptr [1];
    cr_assert (s_str_is (s_map_get (second, "name"), "cpu-1"));
    cr_assert_eq (s_map_get (second, "workflows")->via.array.size, 0);
    cr_assert_eq (s_map_get (second, "jobs")->via.array.size, 0);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
}

Test (proto, bulk_reply_builder)
{
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    const char *ids [] = { "06H4E76Q144DM4VV8R9F", "06H4E76Q144DM4VV8R9G" };
    zjob_error_t errors [2];
    zjob_error_set (&errors [0], ZJOB_NOT_FOUND, "job %s: not found", ids [0]);
    zjob_error_set (&errors [1], ZJOB_CONFLICT, "completed: cannot pause");
    zjob_msg_begin (b, ZJOB_CMD_OK, 10);
    zjob_msg_add_bulk (b, 5, 2, ids, errors, 2);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_PAUSE, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (msg, "done", 0), 5);
    cr_assert_eq (zjob_msg_uint (msg, "failed", 0), 2);
    const msgpack_object *list = zjob_msg_field (msg, "errors");
    cr_assert_eq (list->via.array.size, 2);
    const msgpack_object *second = &list->via.array.ptr [1];
    cr_assert_eq (second->via.map.size, 3);
    cr_assert (s_str_is (s_map_get (second, "id"), ids [1]));
    cr_assert_eq (s_map_uint (second, "code"), ZJOB_CONFLICT);
    cr_assert (s_str_is (s_map_get (second, "message"), "completed: cannot pause"));
    zjob_msg_destroy (&msg);

    //  Nothing failed: no "errors"
    zjob_msg_begin (b, ZJOB_CMD_OK, 11);
    zjob_msg_add_bulk (b, 3, 0, NULL, NULL, 0);
    msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_CANCEL, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (msg, "done", 0), 3);
    cr_assert_not (zjob_msg_has (msg, "errors"));
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
}


//  The filter's scheduled criterion goes over the wire both ways, and
//  alone it is a criterion (a bulk operation may use it)
Test (proto, filter_scheduled)
{
    zjob_scheduled_t values [] = { ZJOB_SCHEDULED_YES, ZJOB_SCHEDULED_NO, ZJOB_SCHEDULED_ANY };
    for (size_t i = 0; i < 3; i++) {
        zjob_msg_builder_t *b = zjob_msg_builder_new ();
        zjob_query_t sent;
        memset (&sent, 0, sizeof sent);
        sent.filter.status_mask = 1u << ZJOB_QUEUED;
        sent.filter.scheduled = values [i];
        zjob_msg_begin (b, ZJOB_CMD_LIST, 1);
        zjob_msg_add_query (b, &sent);
        zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
        const zjob_query_t *query = zjob_msg_query (msg);
        cr_assert_eq (query->filter.scheduled, values [i]);
        cr_assert_eq (query->filter.now, 0, "now is the broker's");
        zjob_msg_destroy (&msg);
        zjob_msg_builder_destroy (&b);
    }
    //  A bulk CANCEL by scheduled alone is a filter with a criterion
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_filter_t filter;
    memset (&filter, 0, sizeof filter);
    filter.scheduled = ZJOB_SCHEDULED_YES;
    zjob_target_t target = { .filter = &filter };
    zjob_msg_begin (b, ZJOB_CMD_CANCEL, 2);
    zjob_msg_add_target (b, &target);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    const zjob_target_t *got = zjob_msg_target (msg);
    cr_assert_not_null (got);
    cr_assert_not_null (got->filter);
    cr_assert_eq (got->filter->scheduled, ZJOB_SCHEDULED_YES);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
    //  Not a boolean: 400
    s_raw_t raw;
    s_raw_envelope (&raw, 1, "LIST", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "filter");
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "scheduled");
    msgpack_pack_uint8 (&raw.pk, 1);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "filter.scheduled: expected a boolean");
    s_raw_destroy (&raw);
}

//  A spec without a priority is medium; an explicit low is sent as low
Test (proto, priority_default_is_medium)
{
    s_raw_t raw;
    s_raw_envelope (&raw, 1, "SUBMIT", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "jobs");
    msgpack_pack_array (&raw.pk, 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "workflow_id");
    s_raw_str (&raw, "w");
    zjob_error_t err;
    zjob_msg_t *msg = zjob_msg_decode (raw.buffer.data, raw.buffer.size,
                                       ZJOB_ROUTE_CLIENT_BROKER, &err);
    cr_assert_not_null (msg, "%s", err.text);
    size_t count;
    const zjob_spec_t *specs = zjob_msg_specs (msg, &count);
    cr_assert_eq (specs [0].priority, ZJOB_PRIORITY_MEDIUM);
    zjob_msg_destroy (&msg);
    s_raw_destroy (&raw);

    zjob_spec_t sent [2] = {
        { .workflow_id = "w", .priority = ZJOB_PRIORITY_LOW },
        { .workflow_id = "w", .priority = ZJOB_PRIORITY_UNSET }
    };
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 2);
    zjob_msg_add_specs (b, "jobs", sent, 2);
    msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    specs = zjob_msg_specs (msg, &count);
    cr_assert_eq (count, 2);
    cr_assert_eq (specs [0].priority, ZJOB_PRIORITY_LOW);
    cr_assert_eq (specs [1].priority, ZJOB_PRIORITY_MEDIUM);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
}
