/*  =========================================================================
    test_zjob_proto - what the wire codec's tests share

    A sample job and query, a valid sample of every command on every route
    and of every OK reply, hand-packed envelopes for malformed messages, a
    replayable random source, and decode helpers that assert. Included by
    tests/test_zjob_proto*.c; its functions are static inline, so a file
    that uses some of them gets no warning for the others.
    ========================================================================= */

#ifndef TEST_ZJOB_PROTO_H_INCLUDED
#define TEST_ZJOB_PROTO_H_INCLUDED

#include <criterion/criterion.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <inttypes.h>
#include "zjob_proto.h"
#include "zjob_proto_batch.h"

#define RID 42

//  --------------------------------------------------------------------------
//  Helpers

//  Encoded msgpack map {"width": 100, "name": "cat.png"} for inputs
static uint8_t s_inputs [64];
static size_t s_inputs_size;

static inline void
s_make_inputs (void)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "width", 5);
    msgpack_pack_uint32 (&pk, 100);
    msgpack_pack_str_with_body (&pk, "name", 4);
    msgpack_pack_str_with_body (&pk, "cat.png", 7);
    cr_assert_leq (buffer.size, sizeof (s_inputs));
    memcpy (s_inputs, buffer.data, buffer.size);
    s_inputs_size = buffer.size;
    msgpack_sbuffer_destroy (&buffer);
}

static const char *s_tags [] = { "batch-7", "urgent" };

//  A job as the broker would hold it
static inline zjob_job_t *
s_job_new (void)
{
    s_make_inputs ();
    zjob_spec_t spec = {
        .workflow_id = "resize", .inputs = s_inputs, .inputs_size = s_inputs_size, .priority = ZJOB_PRIORITY_HIGH, .user_id = "alice", .tags = s_tags, .tag_count = 2
    };
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "zjob_job_new: %s", err.text);
    return job;
}

static inline zframe_t *
s_end (zjob_msg_builder_t *builder)
{
    zjob_error_t err;
    zframe_t *frame = zjob_msg_end (builder, &err);
    cr_assert_not_null (frame, "zjob_msg_end: %d %s", err.code, err.text);
    return frame;
}

//  Decode a frame that must decode; the message adopts the frame
static inline zjob_msg_t *
s_decode (zframe_t *frame, zjob_route_t route)
{
    zjob_error_t err = { 0, "" };
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame), route, &err);
    cr_assert_not_null (msg, "decode on %s: %d %s", zjob_route_name (route), err.code, err.text);
    zjob_msg_adopt (msg, &frame);
    cr_assert_null (frame);
    return msg;
}

//  Decode bytes that must fail with code, the message containing needle
static inline void
s_expect_error (const void *data, size_t size, zjob_route_t route, int code, const char *needle)
{
    zjob_error_t err = { 0, "" };
    zjob_msg_t *msg = zjob_msg_decode (data, size, route, &err);
    if (msg)
        zjob_msg_destroy (&msg);
    cr_assert_null (msg, "decoded, but expected %d (%s)", code, needle);
    cr_assert_eq (err.code, code, "expected %d, got %d: %s", code, err.code, err.text);
    cr_assert (strlen (err.text) > 0, "error without a message");
    if (needle)
        cr_assert (strstr (err.text, needle), "\"%s\" does not mention \"%s\"", err.text, needle);
}

static inline void
s_expect_frame_error (zframe_t **frame_p, zjob_route_t route, int code, const char *needle)
{
    s_expect_error (zframe_data (*frame_p), zframe_size (*frame_p), route, code, needle);
    zframe_destroy (frame_p);
}

//  Hand-packed envelopes for malformed messages, with a body that the
//  caller packs after
typedef struct {
    msgpack_sbuffer buffer;
    msgpack_packer pk;
} s_raw_t;

static inline void
s_raw_init (s_raw_t *raw)
{
    msgpack_sbuffer_init (&raw->buffer);
    msgpack_packer_init (&raw->pk, &raw->buffer, msgpack_sbuffer_write);
}

static inline void
s_raw_str (s_raw_t *raw, const char *text)
{
    msgpack_pack_str_with_body (&raw->pk, text, strlen (text));
}

static inline void
s_raw_envelope (s_raw_t *raw, uint64_t version, const char *command, uint64_t request_id)
{
    s_raw_init (raw);
    msgpack_pack_array (&raw->pk, 4);
    msgpack_pack_uint64 (&raw->pk, version);
    s_raw_str (raw, command);
    msgpack_pack_uint64 (&raw->pk, request_id);
}

static inline void
s_raw_destroy (s_raw_t *raw)
{
    msgpack_sbuffer_destroy (&raw->buffer);
}

//  The full query used by LIST samples
static const char *s_filter_tags [] = { "urgent" };
static inline zjob_query_t
s_query (void)
{
    zjob_query_t query;
    memset (&query, 0, sizeof (query));
    query.filter.status_mask = (1u << ZJOB_QUEUED) | (1u << ZJOB_FAILED);
    query.filter.workflow_id = "resize";
    query.filter.user_id = "alice";
    query.filter.tags = s_filter_tags;
    query.filter.tag_count = 1;
    query.filter.created_after = 1700000000000;
    query.filter.created_before = 1800000000000;
    query.sort_by = ZJOB_SORT_PRIORITY;
    query.descending = true;
    query.limit = 50;
    query.offset = 100;
    return query;
}

//  A valid message of cmd on route, into builder
static inline void
s_sample (zjob_msg_builder_t *b, zjob_cmd_t cmd, zjob_route_t route, const zjob_job_t *job)
{
    zjob_msg_begin (b, cmd, RID);
    switch (cmd) {
        case ZJOB_CMD_SUBMIT: {
            zjob_spec_t specs [2] = {
                { .workflow_id = "resize", .inputs = s_inputs, .inputs_size = s_inputs_size, .priority = ZJOB_PRIORITY_CRITICAL, .user_id = "alice", .tags = s_tags, .tag_count = 2, .metadata = s_inputs, .metadata_size = s_inputs_size, .idempotency_key = "order-1234", .max_attempts = 5, .run_at = 1750000000000 },
                { .workflow_id = "thumbnail" }
            };
            zjob_msg_add_specs (b, "jobs", specs, 2);
            zjob_msg_add_bool (b, "auto_start", false);
            break;
        }
        case ZJOB_CMD_GET:
        case ZJOB_CMD_STATUS:
        case ZJOB_CMD_RESULTS:
            zjob_msg_add_str (b, "id", job->id);
            break;
        case ZJOB_CMD_LIST: {
            zjob_query_t query = s_query ();
            zjob_msg_add_query (b, &query);
            break;
        }
        case ZJOB_CMD_DELETE:
        case ZJOB_CMD_START:
        case ZJOB_CMD_PAUSE:
        case ZJOB_CMD_RESUME:
        case ZJOB_CMD_CANCEL:
            if (route == ZJOB_ROUTE_BROKER_WORKER)
                zjob_msg_add_str (b, "id", job->id);
            else {
                const char *ids [] = { job->id, job->id };
                zjob_target_t target = { .ids = ids, .id_count = 2 };
                zjob_msg_add_target (b, &target);
            }
            break;
        case ZJOB_CMD_RETRY:
        case ZJOB_CMD_RUN_NOW: {
            const char *ids [] = { job->id, job->id };
            zjob_target_t target = { .ids = ids, .id_count = 2 };
            zjob_msg_add_target (b, &target);
            zjob_msg_add_bool (b, "dry_run", true);
            if (cmd == ZJOB_CMD_RETRY)
                zjob_msg_add_bool (b, "reset_attempts", true);
            break;
        }
        case ZJOB_CMD_CLEANUP:
            zjob_msg_add_uint (b, "retention_ms", 3600000);
            break;
        case ZJOB_CMD_BATCH:
            zjob_msg_add_str (b, "op", "list");
            zjob_msg_add_str (b, "id", "nightly-1");
            zjob_msg_add_uint (b, "offset", 10);
            zjob_msg_add_uint (b, "limit", 20);
            break;
        case ZJOB_CMD_TEMPLATE: {
            zjob_spec_t spec = { .workflow_id = "resize", .inputs = s_inputs, .inputs_size = s_inputs_size, .priority = ZJOB_PRIORITY_HIGH, .tags = s_tags, .tag_count = 2, .max_attempts = 3 };
            zjob_msg_add_str (b, "op", "set");
            zjob_msg_add_str (b, "name", "thumbnails");
            zjob_msg_add_spec (b, "template", &spec);
            break;
        }
        case ZJOB_CMD_SCHEDULE:
            zjob_msg_add_str (b, "op", "add");
            zjob_msg_add_str (b, "name", "nightly");
            zjob_msg_add_str (b, "cron", "0 2 * * *");
            zjob_msg_add_str (b, "timezone", "Europe/Berlin");
            zjob_msg_add_bool (b, "catch_up", false);
            zjob_msg_add_str (b, "workflow_id", "report");
            zjob_msg_add_bin (b, "inputs", s_inputs, s_inputs_size);
            zjob_msg_add_str (b, "priority", "high");
            zjob_msg_add_strs (b, "tags", s_tags, 2);
            break;
        case ZJOB_CMD_QUEUE:
            zjob_msg_add_str (b, "op", "limit");
            zjob_msg_add_str (b, "workflow_id", "resize");
            zjob_msg_add_uint (b, "concurrency", 2);
            zjob_msg_add_float (b, "rate", 5.5);
            zjob_msg_add_float (b, "burst", 10);
            break;
        case ZJOB_CMD_ERROR:
            zjob_msg_add_uint (b, "code", ZJOB_NOT_FOUND);
            zjob_msg_add_str (b, "message", "no job 01ABC");
            break;
        case ZJOB_CMD_READY: {
            const char *workflows [] = { "resize", "thumbnail" };
            const char *held [] = { job->id };
            zjob_msg_add_str (b, "worker_id", "gpu-1.4711");
            zjob_msg_add_str (b, "name", "gpu-1");
            zjob_msg_add_strs (b, "workflows", workflows, 2);
            zjob_msg_add_uint (b, "slots", 8);
            zjob_msg_add_strs (b, "jobs", held, 1);
            break;
        }
        case ZJOB_CMD_JOB:
            zjob_msg_add_job (b, "job", job);
            break;
        case ZJOB_CMD_PROGRESS:
            zjob_msg_add_str (b, "id", job->id);
            zjob_msg_add_float (b, "progress", 0.25);
            zjob_msg_add_str (b, "message", "resizing");
            break;
        case ZJOB_CMD_RESULT:
            zjob_msg_add_str (b, "id", job->id);
            zjob_msg_add_str (b, "status", "completed");
            zjob_msg_add_bin (b, "outputs", s_inputs, s_inputs_size);
            zjob_msg_add_uint (b, "credit", 1);
            break;
        case ZJOB_CMD_CREDIT:
            zjob_msg_add_uint (b, "credit", 2);
            break;
        case ZJOB_CMD_RECONNECT:
        case ZJOB_CMD_DISCONNECT:
            zjob_msg_add_str (b, "reason", "shutting down");
            break;
        case ZJOB_CMD_EVENT:
            zjob_msg_add_job_event (b, "queued", job, ZJOB_CREATED);
            break;
        default:
            break;  //  Empty bodies: STATS, WORKERS, PING, METRICS, OK, HEARTBEAT
    }
}

//  The body of a sample OK to STATS, into builder
static inline void
s_sample_stats_reply (zjob_msg_builder_t *b)
{
    zjob_msg_add_uint (b, "jobs", 3);
    msgpack_packer *pk = zjob_msg_add_key (b, "by_status");
    msgpack_pack_map (pk, ZJOB_STATUS_COUNT);
    for (int s = 0; s < ZJOB_STATUS_COUNT; s++) {
        const char *name = zjob_status_name ((zjob_status_t) s);
        msgpack_pack_str_with_body (pk, name, strlen (name));
        msgpack_pack_uint32 (pk, s == ZJOB_QUEUED ? 3 : 0);
    }
    pk = zjob_msg_add_key (b, "by_workflow");
    msgpack_pack_map (pk, 1);
    msgpack_pack_str_with_body (pk, "resize", 6);
    msgpack_pack_map (pk, 1);
    msgpack_pack_str_with_body (pk, "queued", 6);
    msgpack_pack_uint32 (pk, 3);
    zjob_msg_add_uint (b, "queued", 3);
    zjob_msg_add_uint (b, "active", 0);
    zjob_msg_add_uint (b, "workers", 1);
    zjob_msg_add_uint (b, "slots", 8);
    zjob_msg_add_uint (b, "busy", 0);
    pk = zjob_msg_add_key (b, "rates");
    msgpack_pack_map (pk, 3);
    msgpack_pack_str_with_body (pk, "submitted", 9);
    msgpack_pack_double (pk, 12.5);
    msgpack_pack_str_with_body (pk, "completed", 9);
    msgpack_pack_double (pk, 10.0);
    msgpack_pack_str_with_body (pk, "failed", 6);
    msgpack_pack_double (pk, 0.0);
    zjob_msg_add_uint (b, "rate_window_ms", 10000);
    zjob_msg_add_uint (b, "uptime_ms", 60000);
}

//  A valid OK reply to request (on its request route) into builder
static inline void
s_sample_reply (zjob_msg_builder_t *b, zjob_cmd_t request, zjob_route_t route,
                zjob_job_t *job)
{
    zjob_msg_begin (b, ZJOB_CMD_OK, RID);
    switch (request) {
        case ZJOB_CMD_SUBMIT: {
            const char *ids [] = { job->id, job->id };
            uint64_t existing [] = { 1 };
            zjob_msg_add_strs (b, "ids", ids, 2);
            zjob_msg_add_uints (b, "existing", existing, 1);
            break;
        }
        case ZJOB_CMD_GET:
            zjob_msg_add_job (b, "job", job);
            break;
        case ZJOB_CMD_LIST: {
            zjob_job_t *jobs [] = { job, job };
            cr_assert_eq (zjob_msg_add_jobs (b, "jobs", jobs, 2), 2);
            zjob_msg_add_uint (b, "total", 1002);
            zjob_msg_add_uint (b, "offset", 100);
            break;
        }
        case ZJOB_CMD_DELETE:
        case ZJOB_CMD_START:
        case ZJOB_CMD_PAUSE:
        case ZJOB_CMD_RESUME:
        case ZJOB_CMD_CANCEL:
            if (route == ZJOB_ROUTE_BROKER_WORKER)
                zjob_msg_add_str (b, "id", job->id);
            else {
                zjob_msg_add_uint (b, "done", 1);
                zjob_msg_add_uint (b, "failed", 1);
                msgpack_packer *pk = zjob_msg_add_key (b, "errors");
                msgpack_pack_array (pk, 1);
                msgpack_pack_map (pk, 3);
                msgpack_pack_str_with_body (pk, "id", 2);
                msgpack_pack_str_with_body (pk, job->id, ZJOB_ID_LEN);
                msgpack_pack_str_with_body (pk, "code", 4);
                msgpack_pack_uint32 (pk, ZJOB_CONFLICT);
                msgpack_pack_str_with_body (pk, "message", 7);
                msgpack_pack_str_with_body (pk, "completed", 9);
            }
            break;
        case ZJOB_CMD_RETRY:
        case ZJOB_CMD_RUN_NOW: {
            //  A bulk dry run: the counts and the ids it would do
            const char *ids [] = { job->id };
            zjob_msg_add_uint (b, "done", 1);
            zjob_msg_add_uint (b, "failed", 0);
            zjob_msg_add_strs (b, "ids", ids, 1);
            break;
        }
        case ZJOB_CMD_STATUS:
            zjob_msg_add_str (b, "id", job->id);
            zjob_msg_add_str (b, "status", "running");
            zjob_msg_add_float (b, "progress", 0.5);
            zjob_msg_add_str (b, "progress_message", "half way");
            zjob_msg_add_uint (b, "updated_at", 1750000000000);
            break;
        case ZJOB_CMD_RESULTS:
            zjob_msg_add_str (b, "id", job->id);
            zjob_msg_add_str (b, "status", "failed");
            zjob_msg_add_str (b, "error_kind", "timeout");
            zjob_msg_add_str (b, "error_message", "took too long");
            zjob_msg_add_uint (b, "completed_at", 1750000000000);
            zjob_msg_add_uint (b, "execution_ms", 1234);
            break;
        case ZJOB_CMD_CLEANUP:
            zjob_msg_add_uint (b, "deleted", 17);
            break;
        case ZJOB_CMD_BATCH: {
            zjob_batch_info_t info = { .id = "nightly-1", .state = "failed", .total = 3, .completed = 1, .failed = 1, .cancelled = 1, .created_at = 1750000000000, .finished_at = 1750000001000, .callback_workflow = "report" };
            snprintf (info.callback_job, sizeof (info.callback_job), "%s", job->id);
            zjob_msg_add_batch (b, "batch", &info);
            zjob_msg_add_batches (b, "batches", &info, 1);
            zjob_msg_add_uint (b, "total", 1);
            zjob_msg_add_uint (b, "offset", 0);
            break;
        }
        case ZJOB_CMD_TEMPLATE: {
            zjob_spec_t spec = { .workflow_id = "resize", .priority = ZJOB_PRIORITY_UNSET };
            zjob_template_info_t info = { "thumbnails", &spec, 1750000000000, 1750000000001 };
            zjob_msg_add_template (b, "template", &info);
            zjob_msg_add_templates (b, "templates", &info, 1);
            zjob_msg_add_uint (b, "total", 1);
            zjob_msg_add_str (b, "name", "thumbnails");
            zjob_msg_add_bool (b, "created", true);
            break;
        }
        case ZJOB_CMD_SCHEDULE: {
            zjob_schedule_info_t info = { .name = "nightly", .cron = "0 2 * * *", .catch_up = true, .workflow_id = "report", .inputs = s_inputs, .inputs_size = s_inputs_size, .priority = ZJOB_PRIORITY_HIGH, .tags = s_tags, .tag_count = 2, .next = 1750000000000, .last_due = 1749990000000, .last_job = job->id, .created = 1740000000000 };
            zjob_msg_add_schedule (b, "schedule", &info, true);
            zjob_msg_add_schedules (b, "schedules", &info, 1);
            zjob_msg_add_uint (b, "total", 1);
            zjob_msg_add_str (b, "id", job->id);
            break;
        }
        case ZJOB_CMD_STATS:
            s_sample_stats_reply (b);
            break;
        case ZJOB_CMD_WORKERS: {
            msgpack_packer *pk = zjob_msg_add_key (b, "workers");
            msgpack_pack_array (pk, 1);
            msgpack_pack_map (pk, 1);
            msgpack_pack_str_with_body (pk, "worker_id", 9);
            msgpack_pack_str_with_body (pk, "gpu-1", 5);
            break;
        }
        case ZJOB_CMD_PING:
            zjob_msg_add_uint (b, "version", ZJOB_PROTO_VERSION);
            zjob_msg_add_uint (b, "time", 1750000000000);
            break;
        case ZJOB_CMD_METRICS:
            zjob_msg_add_metrics (b, "prometheus-text-0.0.4", "zjob_workers 1\n", 15);
            break;
        case ZJOB_CMD_READY: {
            const char *drop [] = { job->id };
            zjob_msg_add_uint (b, "heartbeat_ms", ZJOB_HEARTBEAT_MS);
            zjob_msg_add_uint (b, "liveness", ZJOB_LIVENESS);
            zjob_msg_add_uint (b, "credit", 7);
            zjob_msg_add_strs (b, "drop", drop, 1);
            zjob_msg_add_uint (b, "max_message", ZJOB_MSG_MAX);
            break;
        }
        case ZJOB_CMD_RESULT:
            zjob_msg_add_str (b, "id", job->id);
            break;
        case ZJOB_CMD_QUEUE: {
            zjob_queue_info_t queues [] = {
                { "resize", true, 2, 5.5, 10, 7, 2, "paused" },
                { "thumbnail", false, 0, 0, 0, 1, 0, NULL }
            };
            zjob_msg_add_queues (b, queues, 2);
            break;
        }
        default:
            cr_assert_fail ("no reply sample for %s", zjob_cmd_name (request));
    }
}

//  The route a reply takes back
static inline zjob_route_t
s_reply_route (zjob_route_t route)
{
    return route == ZJOB_ROUTE_CLIENT_BROKER ? ZJOB_ROUTE_BROKER_CLIENT
        : route == ZJOB_ROUTE_WORKER_BROKER  ? ZJOB_ROUTE_BROKER_WORKER
                                             : ZJOB_ROUTE_WORKER_BROKER;
}

//  Deterministic xorshift64*, so a failure replays
static uint64_t s_seed = 0x2545F4914F6CDD1Dull;
static inline uint64_t
s_random (void)
{
    s_seed ^= s_seed >> 12;
    s_seed ^= s_seed << 25;
    s_seed ^= s_seed >> 27;
    return s_seed * 0x2545F4914F6CDD1Dull;
}

//  Decode anything; it may succeed or fail but must be sane
static inline void
s_decode_any (const uint8_t *data, size_t size, zjob_route_t route)
{
    zjob_error_t err = { 0, "" };
    zjob_msg_t *msg = zjob_msg_decode (data, size, route, &err);
    if (msg) {
        //  Whatever decoded must be safe to read
        size_t count;
        zjob_msg_specs (msg, &count);
        zjob_msg_query (msg);
        zjob_msg_target (msg);
        zjob_msg_str (msg, "id");
        zjob_msg_strs (msg, "ids", &count);
        if (zjob_msg_command (msg) == ZJOB_CMD_OK)
            zjob_msg_check_reply (msg, ZJOB_CMD_LIST, &err);
        zjob_msg_destroy (&msg);
        return;
    }
    cr_assert (err.code == ZJOB_BAD_REQUEST || err.code == ZJOB_TOO_LARGE
                   || err.code == ZJOB_VERSION_MISMATCH,
               "unexpected code %d: %s", err.code, err.text);
    cr_assert (strlen (err.text) > 0);
    zframe_t *reply = zjob_msg_error_for (data, size, &err);
    if (reply) {
        zjob_msg_t *error = s_decode (reply, ZJOB_ROUTE_BROKER_CLIENT);
        cr_assert_eq (zjob_msg_command (error), ZJOB_CMD_ERROR);
        zjob_msg_destroy (&error);
    }
}

#endif
