/*  =========================================================================
    test_zjob_proto - the wire codec: round trips, bad input, limits

    Every command on every route it may take is built with the builder and
    decoded back; every request's OK reply is checked against its table.
    Then the decoder is fed what a hostile or broken peer sends: empty and
    random frames, every truncation of every valid message, mutated
    messages, wrong versions, unknown commands, fields of the wrong type,
    oversize messages, and messages whose request id cannot be read. It
    must never crash or leak (the sanitizer build checks that), and always
    say what is wrong with a status code and a message.
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <inttypes.h>
#include "zjob_proto.h"

#define RID 42

//  --------------------------------------------------------------------------
//  Helpers

//  Encoded msgpack map {"width": 100, "name": "cat.png"} for inputs
static uint8_t s_inputs [64];
static size_t s_inputs_size;

static void
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
static zjob_job_t *
s_job_new (void)
{
    s_make_inputs ();
    zjob_spec_t spec = {
        .workflow_id = "resize", .inputs = s_inputs, .inputs_size = s_inputs_size,
        .priority = ZJOB_PRIORITY_HIGH, .user_id = "alice", .tags = s_tags, .tag_count = 2
    };
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "zjob_job_new: %s", err.text);
    return job;
}

static zframe_t *
s_end (zjob_msg_builder_t *builder)
{
    zjob_error_t err;
    zframe_t *frame = zjob_msg_end (builder, &err);
    cr_assert_not_null (frame, "zjob_msg_end: %d %s", err.code, err.text);
    return frame;
}

//  Decode a frame that must decode; the message adopts the frame
static zjob_msg_t *
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
static void
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

static void
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

static void
s_raw_init (s_raw_t *raw)
{
    msgpack_sbuffer_init (&raw->buffer);
    msgpack_packer_init (&raw->pk, &raw->buffer, msgpack_sbuffer_write);
}

static void
s_raw_str (s_raw_t *raw, const char *text)
{
    msgpack_pack_str_with_body (&raw->pk, text, strlen (text));
}

static void
s_raw_envelope (s_raw_t *raw, uint64_t version, const char *command, uint64_t request_id)
{
    s_raw_init (raw);
    msgpack_pack_array (&raw->pk, 4);
    msgpack_pack_uint64 (&raw->pk, version);
    s_raw_str (raw, command);
    msgpack_pack_uint64 (&raw->pk, request_id);
}

static void
s_raw_destroy (s_raw_t *raw)
{
    msgpack_sbuffer_destroy (&raw->buffer);
}

//  The full query used by LIST samples
static const char *s_filter_tags [] = { "urgent" };
static zjob_query_t
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
static void
s_sample (zjob_msg_builder_t *b, zjob_cmd_t cmd, zjob_route_t route, const zjob_job_t *job)
{
    zjob_msg_begin (b, cmd, RID);
    switch (cmd) {
        case ZJOB_CMD_SUBMIT: {
            zjob_spec_t specs [2] = {
                { .workflow_id = "resize", .inputs = s_inputs, .inputs_size = s_inputs_size,
                  .priority = ZJOB_PRIORITY_CRITICAL, .user_id = "alice", .tags = s_tags,
                  .tag_count = 2, .metadata = s_inputs, .metadata_size = s_inputs_size,
                  .idempotency_key = "order-1234", .max_attempts = 5, .run_at = 1750000000000 },
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
        case ZJOB_CMD_CLEANUP:
            zjob_msg_add_uint (b, "retention_ms", 3600000);
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
            break;                      //  Empty bodies: STATS, WORKERS, PING, OK, HEARTBEAT
    }
}

//  A valid OK reply to request (on its request route) into builder
static void
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
        case ZJOB_CMD_STATS: {
            zjob_msg_add_uint (b, "jobs", 3);
            msgpack_packer *pk = zjob_msg_add_key (b, "by_status");
            msgpack_pack_map (pk, ZJOB_STATUS_COUNT);
            for (int s = 0; s < ZJOB_STATUS_COUNT; s++) {
                const char *name = zjob_status_name ((zjob_status_t) s);
                msgpack_pack_str_with_body (pk, name, strlen (name));
                msgpack_pack_uint32 (pk, s == ZJOB_QUEUED? 3: 0);
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
            break;
        }
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
        default:
            cr_assert_fail ("no reply sample for %s", zjob_cmd_name (request));
    }
}

//  The route a reply takes back
static zjob_route_t
s_reply_route (zjob_route_t route)
{
    return route == ZJOB_ROUTE_CLIENT_BROKER? ZJOB_ROUTE_BROKER_CLIENT
         : route == ZJOB_ROUTE_WORKER_BROKER? ZJOB_ROUTE_BROKER_WORKER
         : ZJOB_ROUTE_WORKER_BROKER;
}

//  Deterministic xorshift64*, so a failure replays
static uint64_t s_seed = 0x2545F4914F6CDD1Dull;
static uint64_t
s_random (void)
{
    s_seed ^= s_seed >> 12;
    s_seed ^= s_seed << 25;
    s_seed ^= s_seed >> 27;
    return s_seed * 0x2545F4914F6CDD1Dull;
}

//  Decode anything; it may succeed or fail but must be sane
static void
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
            || err.code == ZJOB_VERSION_MISMATCH, "unexpected code %d: %s", err.code, err.text);
    cr_assert (strlen (err.text) > 0);
    zframe_t *reply = zjob_msg_error_for (data, size, &err);
    if (reply) {
        zjob_msg_t *error = s_decode (reply, ZJOB_ROUTE_BROKER_CLIENT);
        cr_assert_eq (zjob_msg_command (error), ZJOB_CMD_ERROR);
        zjob_msg_destroy (&error);
    }
}


//  --------------------------------------------------------------------------
//  Commands

Test (proto, command_table)
{
    for (int cmd = 1; cmd < ZJOB_CMD_COUNT; cmd++) {
        const char *name = zjob_cmd_name ((zjob_cmd_t) cmd);
        cr_assert_neq (strcmp (name, "UNKNOWN"), 0, "command %d has no name", cmd);
        cr_assert_eq (zjob_cmd_parse (name), cmd, "%s does not parse back", name);
        bool somewhere = false;
        for (int route = 0; route < ZJOB_ROUTE_COUNT; route++) {
            somewhere |= zjob_cmd_allowed ((zjob_cmd_t) cmd, (zjob_route_t) route);
            if (zjob_cmd_is_request ((zjob_cmd_t) cmd, (zjob_route_t) route))
                cr_assert (zjob_cmd_allowed ((zjob_cmd_t) cmd, (zjob_route_t) route));
        }
        cr_assert (somewhere, "%s is allowed nowhere", name);
    }
    cr_assert_eq (zjob_cmd_parse ("submit"), ZJOB_CMD_UNKNOWN);
    cr_assert_eq (zjob_cmd_parse ("NOPE"), ZJOB_CMD_UNKNOWN);
    cr_assert_eq (zjob_cmd_parse (NULL), ZJOB_CMD_UNKNOWN);
    cr_assert_str_eq (zjob_cmd_name ((zjob_cmd_t) 999), "UNKNOWN");
    cr_assert (zjob_cmd_is_request (ZJOB_CMD_SUBMIT, ZJOB_ROUTE_CLIENT_BROKER));
    cr_assert (zjob_cmd_is_request (ZJOB_CMD_RESULT, ZJOB_ROUTE_WORKER_BROKER));
    cr_assert (zjob_cmd_is_request (ZJOB_CMD_CANCEL, ZJOB_ROUTE_BROKER_WORKER));
    cr_assert_not (zjob_cmd_is_request (ZJOB_CMD_PROGRESS, ZJOB_ROUTE_WORKER_BROKER));
    cr_assert_not (zjob_cmd_is_request (ZJOB_CMD_HEARTBEAT, ZJOB_ROUTE_BROKER_WORKER));
    cr_assert_not (zjob_cmd_allowed (ZJOB_CMD_READY, ZJOB_ROUTE_CLIENT_BROKER));
    cr_assert_not (zjob_cmd_allowed (ZJOB_CMD_SUBMIT, ZJOB_ROUTE_WORKER_BROKER));
    cr_assert_str_eq (zjob_route_name (ZJOB_ROUTE_WORKER_BROKER), "worker->broker");
}

//  Every command, on every route it may take, survives the codec; on the
//  routes it may not take it is a 400
Test (proto, every_command_round_trips)
{
    zjob_job_t *job = s_job_new ();
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    cr_assert_not_null (b);
    int checked = 0;
    for (int cmd = 1; cmd < ZJOB_CMD_COUNT; cmd++)
        for (int route = 0; route < ZJOB_ROUTE_COUNT; route++) {
            s_sample (b, (zjob_cmd_t) cmd, (zjob_route_t) route, job);
            zframe_t *frame = s_end (b);
            if (!zjob_cmd_allowed ((zjob_cmd_t) cmd, (zjob_route_t) route)) {
                s_expect_frame_error (&frame, (zjob_route_t) route, ZJOB_BAD_REQUEST,
                                      "not valid on the");
                continue;
            }
            zjob_msg_t *msg = s_decode (frame, (zjob_route_t) route);
            cr_assert_eq (zjob_msg_version (msg), ZJOB_PROTO_VERSION);
            cr_assert_eq (zjob_msg_command (msg), cmd);
            cr_assert_str_eq (zjob_msg_command_name (msg), zjob_cmd_name ((zjob_cmd_t) cmd));
            cr_assert_eq (zjob_msg_request_id (msg), RID);
            cr_assert_eq (zjob_msg_route (msg), route);
            cr_assert_eq (zjob_msg_body (msg)->type, MSGPACK_OBJECT_MAP);
            zjob_msg_destroy (&msg);
            cr_assert_null (msg);
            checked++;
        }
    cr_assert_geq (checked, ZJOB_CMD_COUNT);
    zjob_msg_builder_destroy (&b);
    zjob_msg_builder_destroy (&b);
    cr_assert_null (b);
    zjob_job_destroy (&job);
}

//  Every request's OK reply passes its reply table; an empty OK does not
//  when the reply has a required field
Test (proto, every_reply_round_trips)
{
    zjob_job_t *job = s_job_new ();
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_error_t err;
    for (int cmd = 1; cmd < ZJOB_CMD_COUNT; cmd++)
        for (int route = 0; route < ZJOB_ROUTE_COUNT; route++) {
            if (!zjob_cmd_is_request ((zjob_cmd_t) cmd, (zjob_route_t) route))
                continue;
            zjob_route_t back = s_reply_route ((zjob_route_t) route);
            s_sample_reply (b, (zjob_cmd_t) cmd, (zjob_route_t) route, job);
            zjob_msg_t *reply = s_decode (s_end (b), back);
            cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
            cr_assert_eq (zjob_msg_check_reply (reply, (zjob_cmd_t) cmd, &err), 0,
                          "OK to %s: %s", zjob_cmd_name ((zjob_cmd_t) cmd), err.text);
            zjob_msg_destroy (&reply);

            zjob_msg_begin (b, ZJOB_CMD_OK, RID);
            reply = s_decode (s_end (b), back);
            int rc = zjob_msg_check_reply (reply, (zjob_cmd_t) cmd, &err);
            if (route == ZJOB_ROUTE_CLIENT_BROKER
            &&  cmd != ZJOB_CMD_DELETE && cmd != ZJOB_CMD_START && cmd != ZJOB_CMD_PAUSE
            &&  cmd != ZJOB_CMD_RESUME && cmd != ZJOB_CMD_CANCEL) {
                cr_assert_eq (rc, -1, "empty OK to %s passed", zjob_cmd_name ((zjob_cmd_t) cmd));
                cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
                cr_assert (strstr (err.text, "missing"), "%s", err.text);
            }
            zjob_msg_destroy (&reply);
        }
    //  A reply to something that is not a request on that socket
    zjob_msg_begin (b, ZJOB_CMD_OK, RID);
    zjob_msg_t *reply = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_READY, &err), -1);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_HEARTBEAT, &err), -1);
    zjob_msg_destroy (&reply);
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}


//  --------------------------------------------------------------------------
//  Bodies, field by field

Test (proto, submit_specs)
{
    zjob_job_t *job = s_job_new ();
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    s_sample (b, ZJOB_CMD_SUBMIT, ZJOB_ROUTE_CLIENT_BROKER, job);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    size_t count;
    const zjob_spec_t *specs = zjob_msg_specs (msg, &count);
    cr_assert_eq (count, 2);
    cr_assert_not (zjob_msg_auto_start (msg));
    const zjob_spec_t *full = &specs [0];
    cr_assert_str_eq (full->workflow_id, "resize");
    cr_assert_eq (full->inputs_size, s_inputs_size);
    cr_assert_eq (memcmp (full->inputs, s_inputs, s_inputs_size), 0);
    cr_assert_eq (full->priority, ZJOB_PRIORITY_CRITICAL);
    cr_assert_str_eq (full->user_id, "alice");
    cr_assert_eq (full->tag_count, 2);
    cr_assert_str_eq (full->tags [0], "batch-7");
    cr_assert_str_eq (full->tags [1], "urgent");
    cr_assert_eq (full->metadata_size, s_inputs_size);
    cr_assert_str_eq (full->idempotency_key, "order-1234");
    cr_assert_eq (full->max_attempts, 5);
    cr_assert_eq (full->run_at, 1750000000000);
    const zjob_spec_t *bare = &specs [1];
    cr_assert_str_eq (bare->workflow_id, "thumbnail");
    cr_assert_null (bare->inputs);
    cr_assert_eq (bare->priority, ZJOB_PRIORITY_LOW);
    cr_assert_null (bare->user_id);
    cr_assert_null (bare->tags);
    cr_assert_null (bare->idempotency_key);
    cr_assert_eq (bare->max_attempts, 0);
    cr_assert_eq (bare->run_at, 0);
    //  The specs are what zjob_job_new takes
    zjob_error_t err;
    zjob_job_t *created = zjob_job_new (full, &err);
    cr_assert_not_null (created, "%s", err.text);
    cr_assert_str_eq (created->idempotency_key, "order-1234");
    zjob_job_destroy (&created);
    cr_assert_null (zjob_msg_query (msg));
    cr_assert_null (zjob_msg_target (msg));
    zjob_msg_destroy (&msg);

    //  auto_start defaults to true
    zjob_spec_t one = { .workflow_id = "resize" };
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 7);
    zjob_msg_add_specs (b, "jobs", &one, 1);
    msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    cr_assert (zjob_msg_auto_start (msg));
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}

Test (proto, list_query)
{
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_query_t sent = s_query ();
    zjob_msg_begin (b, ZJOB_CMD_LIST, 1);
    zjob_msg_add_query (b, &sent);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    const zjob_query_t *query = zjob_msg_query (msg);
    cr_assert_not_null (query);
    cr_assert_eq (query->filter.status_mask, sent.filter.status_mask);
    cr_assert_str_eq (query->filter.workflow_id, "resize");
    cr_assert_str_eq (query->filter.user_id, "alice");
    cr_assert_eq (query->filter.tag_count, 1);
    cr_assert_str_eq (query->filter.tags [0], "urgent");
    cr_assert_eq (query->filter.created_after, sent.filter.created_after);
    cr_assert_eq (query->filter.created_before, sent.filter.created_before);
    cr_assert_eq (query->sort_by, ZJOB_SORT_PRIORITY);
    cr_assert (query->descending);
    cr_assert_eq (query->limit, 50);
    cr_assert_eq (query->offset, 100);
    zjob_error_t err;
    cr_assert_eq (zjob_filter_validate (&query->filter, &err), 0, "%s", err.text);
    zjob_msg_destroy (&msg);

    //  An empty LIST is the default query
    msg = s_decode (zjob_msg_empty_new (ZJOB_CMD_LIST, 2), ZJOB_ROUTE_CLIENT_BROKER);
    query = zjob_msg_query (msg);
    cr_assert_not_null (query);
    cr_assert_eq (query->filter.status_mask, 0);
    cr_assert_null (query->filter.workflow_id);
    cr_assert_eq (query->sort_by, ZJOB_SORT_CREATED);
    cr_assert_not (query->descending);
    cr_assert_eq (query->limit, 0);
    cr_assert_eq (query->offset, 0);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
}

Test (proto, targets)
{
    zjob_job_t *job = s_job_new ();
    zjob_msg_builder_t *b = zjob_msg_builder_new ();

    zjob_target_t one = { .id = job->id };
    zjob_msg_begin (b, ZJOB_CMD_CANCEL, 1);
    zjob_msg_add_target (b, &one);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    const zjob_target_t *target = zjob_msg_target (msg);
    cr_assert_not_null (target);
    cr_assert_str_eq (target->id, job->id);
    cr_assert_null (target->ids);
    cr_assert_null (target->filter);
    zjob_msg_destroy (&msg);

    const char *ids [] = { job->id, "00000000000000000000" };
    zjob_target_t some = { .ids = ids, .id_count = 2 };
    zjob_msg_begin (b, ZJOB_CMD_DELETE, 2);
    zjob_msg_add_target (b, &some);
    msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    target = zjob_msg_target (msg);
    cr_assert_null (target->id);
    cr_assert_eq (target->id_count, 2);
    cr_assert_str_eq (target->ids [0], job->id);
    cr_assert_str_eq (target->ids [1], "00000000000000000000");
    zjob_msg_destroy (&msg);

    zjob_filter_t filter = { .status_mask = 1u << ZJOB_QUEUED, .workflow_id = "resize" };
    zjob_target_t matching = { .filter = &filter };
    zjob_msg_begin (b, ZJOB_CMD_CANCEL, 3);
    zjob_msg_add_target (b, &matching);
    msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    target = zjob_msg_target (msg);
    cr_assert_not_null (target->filter);
    cr_assert_eq (target->filter->status_mask, 1u << ZJOB_QUEUED);
    cr_assert_str_eq (target->filter->workflow_id, "resize");
    zjob_msg_destroy (&msg);

    //  From the broker to a worker, PAUSE names one job
    zjob_msg_begin (b, ZJOB_CMD_PAUSE, 4);
    zjob_msg_add_str (b, "id", job->id);
    msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_WORKER);
    cr_assert_str_eq (zjob_msg_target (msg)->id, job->id);
    zjob_msg_destroy (&msg);

    //  None, two, or an empty filter: refused
    zjob_msg_begin (b, ZJOB_CMD_START, 5);
    zframe_t *frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "one of id, ids");
    zjob_msg_begin (b, ZJOB_CMD_START, 5);
    zjob_msg_add_str (b, "id", job->id);
    zjob_msg_add_strs (b, "ids", ids, 1);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "only one");
    zjob_filter_t empty = { 0 };
    zjob_msg_begin (b, ZJOB_CMD_DELETE, 5);
    zjob_msg_add_filter (b, "filter", &empty);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "every job");
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}

Test (proto, jobs_in_replies)
{
    zjob_job_t *job = s_job_new ();
    zjob_error_t err;
    cr_assert_eq (zjob_job_set_progress (job, 0.5f, "half", &err), 0);
    zjob_msg_builder_t *b = zjob_msg_builder_new ();

    s_sample_reply (b, ZJOB_CMD_GET, ZJOB_ROUTE_CLIENT_BROKER, job);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    zjob_job_t *copy = zjob_msg_job (msg, "job", &err);
    cr_assert_not_null (copy, "%s", err.text);
    cr_assert_str_eq (copy->id, job->id);
    cr_assert_str_eq (copy->workflow_id, "resize");
    cr_assert_eq (copy->priority, ZJOB_PRIORITY_HIGH);
    cr_assert_eq (copy->inputs.size, s_inputs_size);
    cr_assert_eq (copy->tag_count, 2);
    cr_assert_str_eq (copy->progress_message, "half");
    zjob_job_destroy (&copy);
    cr_assert_null (zjob_msg_job (msg, "nothing", &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    zjob_msg_destroy (&msg);

    s_sample_reply (b, ZJOB_CMD_LIST, ZJOB_ROUTE_CLIENT_BROKER, job);
    msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_LIST, &err), 0, "%s", err.text);
    zjob_job_t **jobs;
    size_t count;
    cr_assert_eq (zjob_msg_jobs (msg, "jobs", &jobs, &count, &err), 0, "%s", err.text);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (jobs [1]->id, job->id);
    for (size_t i = 0; i < count; i++)
        zjob_job_destroy (&jobs [i]);
    free (jobs);
    cr_assert_eq (zjob_msg_uint (msg, "total", 0), 1002);
    cr_assert_eq (zjob_msg_jobs (msg, "total", &jobs, &count, &err), -1);
    cr_assert_null (jobs);
    zjob_msg_destroy (&msg);

    //  A JOB to a worker carries the whole job
    s_sample (b, ZJOB_CMD_JOB, ZJOB_ROUTE_BROKER_WORKER, job);
    msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_WORKER);
    copy = zjob_msg_job (msg, "job", &err);
    cr_assert_not_null (copy, "%s", err.text);
    cr_assert_eq (memcmp (copy->inputs.data, s_inputs, s_inputs_size), 0);
    zjob_job_destroy (&copy);
    zjob_msg_destroy (&msg);

    //  A corrupt job map in a reply: the job codec says what is wrong
    zjob_msg_begin (b, ZJOB_CMD_OK, 9);
    msgpack_packer *pk = zjob_msg_add_key (b, "job");
    msgpack_pack_map (pk, 1);
    msgpack_pack_str_with_body (pk, "id", 2);
    msgpack_pack_uint8 (pk, 1);
    msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_GET, &err), 0);
    cr_assert_null (zjob_msg_job (msg, "job", &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}

Test (proto, worker_messages)
{
    zjob_job_t *job = s_job_new ();
    zjob_msg_builder_t *b = zjob_msg_builder_new ();

    s_sample (b, ZJOB_CMD_READY, ZJOB_ROUTE_WORKER_BROKER, job);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_WORKER_BROKER);
    cr_assert_str_eq (zjob_msg_str (msg, "worker_id"), "gpu-1.4711");
    cr_assert_str_eq (zjob_msg_str (msg, "name"), "gpu-1");
    size_t count;
    const char *const *workflows = zjob_msg_strs (msg, "workflows", &count);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (workflows [1], "thumbnail");
    cr_assert_eq (zjob_msg_uint (msg, "slots", 0), 8);
    const char *const *held = zjob_msg_strs (msg, "jobs", &count);
    cr_assert_eq (count, 1);
    cr_assert_str_eq (held [0], job->id);
    zjob_msg_destroy (&msg);

    s_sample (b, ZJOB_CMD_PROGRESS, ZJOB_ROUTE_WORKER_BROKER, job);
    msg = s_decode (s_end (b), ZJOB_ROUTE_WORKER_BROKER);
    cr_assert_float_eq (zjob_msg_float (msg, "progress", -1), 0.25, 1e-9);
    cr_assert_str_eq (zjob_msg_str (msg, "message"), "resizing");
    zjob_msg_destroy (&msg);

    s_sample (b, ZJOB_CMD_RESULT, ZJOB_ROUTE_WORKER_BROKER, job);
    msg = s_decode (s_end (b), ZJOB_ROUTE_WORKER_BROKER);
    cr_assert_str_eq (zjob_msg_str (msg, "status"), "completed");
    size_t size;
    const uint8_t *outputs = zjob_msg_bin (msg, "outputs", &size);
    cr_assert_eq (size, s_inputs_size);
    cr_assert_eq (memcmp (outputs, s_inputs, size), 0);
    cr_assert_eq (zjob_msg_uint (msg, "credit", 9), 1);
    zjob_msg_destroy (&msg);

    zjob_msg_begin (b, ZJOB_CMD_RESULT, 3);
    zjob_msg_add_str (b, "id", job->id);
    zjob_msg_add_str (b, "status", "failed");
    zjob_msg_add_str (b, "error_kind", "timeout");
    zjob_msg_add_str (b, "error_message", "took more than 30 s");
    msg = s_decode (s_end (b), ZJOB_ROUTE_WORKER_BROKER);
    cr_assert_str_eq (zjob_msg_str (msg, "error_kind"), "timeout");
    cr_assert_eq (zjob_msg_uint (msg, "credit", 1), 1, "credit defaults to 1");
    zjob_msg_destroy (&msg);

    //  A result is completed or failed, nothing else
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 3);
    zjob_msg_add_str (b, "id", job->id);
    zjob_msg_add_str (b, "status", "running");
    zframe_t *frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST, "status");

    //  Progress outside 0..1
    zjob_msg_begin (b, ZJOB_CMD_PROGRESS, 0);
    zjob_msg_add_str (b, "id", job->id);
    zjob_msg_add_float (b, "progress", 1.5);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST, "progress");

    //  Slots over the limit, none at all
    zjob_msg_begin (b, ZJOB_CMD_READY, 1);
    zjob_msg_add_str (b, "worker_id", "w1");
    const char *wf [] = { "resize" };
    zjob_msg_add_strs (b, "workflows", wf, 1);
    zjob_msg_add_uint (b, "slots", ZJOB_SLOTS_MAX + 1);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST, "slots");
    zjob_msg_begin (b, ZJOB_CMD_READY, 1);
    zjob_msg_add_str (b, "worker_id", "w1");
    zjob_msg_add_strs (b, "workflows", wf, 0);
    zjob_msg_add_uint (b, "slots", 1);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST, "workflows");

    //  Heartbeats, reconnect, disconnect
    msg = s_decode (zjob_msg_empty_new (ZJOB_CMD_HEARTBEAT, 0), ZJOB_ROUTE_BROKER_WORKER);
    cr_assert_eq (zjob_msg_command (msg), ZJOB_CMD_HEARTBEAT);
    zjob_msg_destroy (&msg);
    s_sample (b, ZJOB_CMD_RECONNECT, ZJOB_ROUTE_BROKER_WORKER, job);
    msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_WORKER);
    cr_assert_str_eq (zjob_msg_str (msg, "reason"), "shutting down");
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}

Test (proto, events)
{
    zjob_job_t *job = s_job_new ();
    zjob_error_t err;
    cr_assert_eq (zjob_job_set_progress (job, 0.75f, "almost", &err), 0);
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_msg_begin (b, ZJOB_CMD_EVENT, 1001);
    zjob_msg_add_job_event (b, "progress", job, -1);
    size_t size;
    const uint8_t *data = zjob_msg_end_data (b, &size, &err);
    cr_assert_not_null (data, "%s", err.text);
    zjob_msg_t *msg = zjob_msg_decode (data, size, ZJOB_ROUTE_EVENTS, &err);
    cr_assert_not_null (msg, "%s", err.text);
    cr_assert_eq (zjob_msg_request_id (msg), 1001, "the id of an event is its sequence number");
    cr_assert_str_eq (zjob_msg_str (msg, "type"), "progress");
    cr_assert_str_eq (zjob_msg_str (msg, "id"), job->id);
    cr_assert_str_eq (zjob_msg_str (msg, "workflow_id"), "resize");
    cr_assert_str_eq (zjob_msg_str (msg, "status"), "created");
    cr_assert_not (zjob_msg_has (msg, "old_status"));
    cr_assert_float_eq (zjob_msg_float (msg, "progress", 0), 0.75, 1e-6);
    cr_assert_str_eq (zjob_msg_str (msg, "progress_message"), "almost");
    cr_assert_gt (zjob_msg_uint (msg, "time", 0), 1600000000000ull);
    zjob_msg_destroy (&msg);

    //  Topics, and the prefixes that select them
    char topics [ZJOB_EVENT_TOPICS][ZJOB_TOPIC_MAX];
    cr_assert_eq (zjob_event_topics ("completed", "resize", job->id, topics), 3);
    char expect [ZJOB_TOPIC_MAX];
    snprintf (expect, sizeof (expect), "ev/completed/resize/%s", job->id);
    cr_assert_str_eq (topics [0], expect);
    snprintf (expect, sizeof (expect), "wf/resize/completed/%s", job->id);
    cr_assert_str_eq (topics [1], expect);
    snprintf (expect, sizeof (expect), "job/%s/completed", job->id);
    cr_assert_str_eq (topics [2], expect);

    struct {
        const char *type, *workflow, *id;
        int matches;                    //  Bit per topic the prefix selects
    } cases [] = {
        { NULL,        NULL,      NULL,    1 },
        { "completed", NULL,      NULL,    1 },
        { "failed",    NULL,      NULL,    0 },
        { NULL,        "resize",  NULL,    2 },
        { "completed", "resize",  NULL,    2 },
        { "queued",    "resize",  NULL,    0 },
        { NULL,        "resiz",   NULL,    0 },
        { NULL,        "resize2", NULL,    0 },
        { NULL,        NULL,      job->id, 4 },
        { "completed", NULL,      job->id, 4 },
        { "progress",  NULL,      job->id, 0 },
    };
    for (size_t c = 0; c < sizeof (cases) / sizeof (cases [0]); c++) {
        char prefix [ZJOB_TOPIC_MAX];
        cr_assert_eq (zjob_event_prefix (prefix, sizeof (prefix), cases [c].type,
                                         cases [c].workflow, cases [c].id), 0);
        int matches = 0;
        for (int t = 0; t < 3; t++)
            if (strncmp (topics [t], prefix, strlen (prefix)) == 0)
                matches |= 1 << t;
        cr_assert_eq (matches, cases [c].matches, "prefix \"%s\" selects %d", prefix, matches);
    }
    //  Worker events: one topic
    cr_assert_eq (zjob_event_topics ("worker_joined", NULL, "gpu-1.4711", topics), 1);
    cr_assert_str_eq (topics [0], "ev/worker_joined/gpu-1.4711");
    char small [8];
    cr_assert_eq (zjob_event_prefix (small, sizeof (small), NULL, "resize", NULL), -1);
    char long_name [ZJOB_TOPIC_MAX + 10];
    memset (long_name, 'x', sizeof (long_name) - 1);
    long_name [sizeof (long_name) - 1] = 0;
    cr_assert_eq (zjob_event_topics ("queued", long_name, job->id, topics), 0);
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}

Test (proto, error_replies)
{
    zjob_error_t err, copy;
    zjob_error_set (&err, ZJOB_NOT_FOUND, "no job 0123");
    zjob_msg_t *msg = s_decode (zjob_msg_error_new (77, &err), ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_command (msg), ZJOB_CMD_ERROR);
    cr_assert_eq (zjob_msg_request_id (msg), 77);
    cr_assert_eq (zjob_msg_error (msg, &copy), ZJOB_NOT_FOUND);
    cr_assert_eq (copy.code, ZJOB_NOT_FOUND);
    cr_assert_str_eq (copy.text, "no job 0123");
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_GET, &copy), 0);
    zjob_msg_destroy (&msg);
    //  Not an ERROR: no error
    msg = s_decode (zjob_msg_empty_new (ZJOB_CMD_OK, 1), ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_error (msg, &copy), ZJOB_OK);
    cr_assert_str_eq (copy.text, "");
    zjob_msg_destroy (&msg);
    //  An ERROR without a code is malformed
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_msg_begin (b, ZJOB_CMD_ERROR, 1);
    zjob_msg_add_str (b, "message", "oops");
    zframe_t *frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_BROKER_CLIENT, ZJOB_BAD_REQUEST, "code");
    zjob_msg_builder_destroy (&b);
}


//  --------------------------------------------------------------------------
//  Bad input

Test (proto, empty_and_tiny_frames)
{
    s_expect_error ("", 0, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "empty");
    s_expect_error (NULL, 0, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "empty");
    zjob_error_t err;
    zjob_error_set (&err, ZJOB_BAD_REQUEST, "empty");
    cr_assert_null (zjob_msg_error_for ("", 0, &err), "no reply to an empty frame");
    cr_assert_null (zjob_msg_error_for (NULL, 0, &err));
    //  A lone fixint, nil, a string, a map: not an envelope
    s_expect_error ("\x01", 1, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "not an array");
    s_expect_error ("\xc0", 1, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "not an array");
    s_expect_error ("\xa3GET", 4, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "not an array");
    s_expect_error ("\x80", 1, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "not an array");
    s_expect_error ("\xc1", 1, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "0xc1");
    //  An array of the wrong length
    s_expect_error ("\x93\x01\xa3GET\x05", 7, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST,
                    "not an array [version");
    //  "Array of 4 billion" in five bytes: refused before any allocation
    s_expect_error ("\xdd\xff\xff\xff\xff", 5, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST,
                    "truncated");
    s_expect_error ("\x94\x01\xa3GET\x05\xdf\xff\xff\xff\xff", 11, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "truncated");
}

//  Every truncation of every valid message is a 400; the reply goes to the
//  request id when the truncation left it readable, and nowhere otherwise
Test (proto, every_truncation)
{
    zjob_job_t *job = s_job_new ();
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    size_t truncations = 0;
    for (int cmd = 1; cmd < ZJOB_CMD_COUNT; cmd++)
        for (int route = 0; route < ZJOB_ROUTE_COUNT; route++) {
            if (!zjob_cmd_allowed ((zjob_cmd_t) cmd, (zjob_route_t) route))
                continue;
            s_sample (b, (zjob_cmd_t) cmd, (zjob_route_t) route, job);
            zframe_t *frame = s_end (b);
            const uint8_t *data = zframe_data (frame);
            for (size_t len = 0; len < zframe_size (frame); len++) {
                s_expect_error (data, len, (zjob_route_t) route, ZJOB_BAD_REQUEST, NULL);
                zjob_error_t err;
                zjob_error_set (&err, ZJOB_BAD_REQUEST, "truncated");
                uint64_t rid;
                bool readable = zjob_msg_peek (data, len, &rid, NULL);
                zframe_t *reply = zjob_msg_error_for (data, len, &err);
                bool is_reply = cmd == ZJOB_CMD_OK || cmd == ZJOB_CMD_ERROR
                             || cmd == ZJOB_CMD_RECONNECT || cmd == ZJOB_CMD_EVENT;
                cr_assert_eq (reply != NULL, readable && !is_reply);
                if (reply) {
                    cr_assert_eq (rid, RID);
                    zjob_msg_t *error = s_decode (reply, ZJOB_ROUTE_BROKER_CLIENT);
                    cr_assert_eq (zjob_msg_request_id (error), RID);
                    cr_assert_eq (zjob_msg_uint (error, "code", 0), ZJOB_BAD_REQUEST);
                    cr_assert_str_eq (zjob_msg_str (error, "message"), "truncated");
                    zjob_msg_destroy (&error);
                }
                truncations++;
            }
            zframe_destroy (&frame);
        }
    cr_assert_gt (truncations, 1000);
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}

//  Random frames, random frames behind a valid envelope, and valid
//  messages with random bytes changed: never a crash, a leak or a
//  nameless error
Test (proto, random_and_mutated_input)
{
    zjob_job_t *job = s_job_new ();
    uint8_t buffer [512];
    for (int i = 0; i < 3000; i++) {
        size_t size = s_random () % sizeof (buffer);
        for (size_t j = 0; j < size; j++)
            buffer [j] = (uint8_t) s_random ();
        s_decode_any (buffer, size, (zjob_route_t) (s_random () % ZJOB_ROUTE_COUNT));
    }
    //  A valid envelope, then random bytes where the body goes
    static const char *commands [] = { "SUBMIT", "LIST", "CANCEL", "READY", "RESULT", "OK",
                                       "EVENT", "GET" };
    for (int i = 0; i < 3000; i++) {
        s_raw_t raw;
        s_raw_envelope (&raw, 1, commands [i % 8], (uint64_t) i);
        size_t head = raw.buffer.size;
        size_t size = s_random () % (sizeof (buffer) - head);
        memcpy (buffer, raw.buffer.data, head);
        //  Bias towards maps and arrays so that bodies get parsed
        static const uint8_t starts [] = { 0x81, 0x82, 0x83, 0x91, 0x92, 0xde, 0xdc };
        if (size > 0)
            buffer [head] = starts [s_random () % sizeof (starts)];
        for (size_t j = 1; j < size; j++)
            buffer [head + j] = (uint8_t) s_random ();
        s_raw_destroy (&raw);
        for (int route = 0; route < ZJOB_ROUTE_COUNT; route++)
            s_decode_any (buffer, head + size, (zjob_route_t) route);
    }
    //  Valid messages with a few bytes changed
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    int cmds [] = { ZJOB_CMD_SUBMIT, ZJOB_CMD_LIST, ZJOB_CMD_CANCEL, ZJOB_CMD_READY,
                    ZJOB_CMD_RESULT, ZJOB_CMD_JOB, ZJOB_CMD_EVENT };
    zjob_route_t routes [] = { ZJOB_ROUTE_CLIENT_BROKER, ZJOB_ROUTE_CLIENT_BROKER,
                               ZJOB_ROUTE_CLIENT_BROKER, ZJOB_ROUTE_WORKER_BROKER,
                               ZJOB_ROUTE_WORKER_BROKER, ZJOB_ROUTE_BROKER_WORKER,
                               ZJOB_ROUTE_EVENTS };
    for (int i = 0; i < 3000; i++) {
        int which = i % 7;
        s_sample (b, (zjob_cmd_t) cmds [which], routes [which], job);
        size_t size;
        zjob_error_t err;
        const uint8_t *data = zjob_msg_end_data (b, &size, &err);
        cr_assert_not_null (data);
        cr_assert_leq (size, sizeof (buffer));
        memcpy (buffer, data, size);
        int flips = 1 + (int) (s_random () % 4);
        for (int f = 0; f < flips; f++)
            buffer [s_random () % size] = (uint8_t) s_random ();
        s_decode_any (buffer, size, routes [which]);
    }
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}

Test (proto, wrong_version)
{
    s_raw_t raw;
    s_raw_envelope (&raw, 2, "GET", 5);
    msgpack_pack_map (&raw.pk, 0);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_VERSION_MISMATCH, "supported version: 1");
    //  Version before command: an unknown command of another version is 505
    s_raw_destroy (&raw);
    s_raw_envelope (&raw, 7, "FUTURE", 6);
    msgpack_pack_map (&raw.pk, 0);
    zjob_error_t err;
    zjob_msg_t *msg = zjob_msg_decode (raw.buffer.data, raw.buffer.size,
                                       ZJOB_ROUTE_CLIENT_BROKER, &err);
    cr_assert_null (msg);
    cr_assert_eq (err.code, ZJOB_VERSION_MISMATCH);
    cr_assert (strstr (err.text, "version 7"), "%s", err.text);
    //  The reply names the supported version in text and as a list
    zframe_t *reply = zjob_msg_error_for (raw.buffer.data, raw.buffer.size, &err);
    cr_assert_not_null (reply);
    msg = s_decode (reply, ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_version (msg), ZJOB_PROTO_VERSION);
    cr_assert_eq (zjob_msg_request_id (msg), 6);
    cr_assert_eq (zjob_msg_uint (msg, "code", 0), ZJOB_VERSION_MISMATCH);
    cr_assert (strstr (zjob_msg_str (msg, "message"), "supported version: 1"));
    const msgpack_object *supported = zjob_msg_field (msg, "supported");
    cr_assert_not_null (supported);
    cr_assert_eq (supported->type, MSGPACK_OBJECT_ARRAY);
    cr_assert_eq (supported->via.array.size, 1);
    cr_assert_eq (supported->via.array.ptr [0].via.u64, ZJOB_PROTO_VERSION);
    zjob_msg_destroy (&msg);
    s_raw_destroy (&raw);
    //  A version that is not a number
    s_raw_init (&raw);
    msgpack_pack_array (&raw.pk, 4);
    s_raw_str (&raw, "1");
    s_raw_str (&raw, "GET");
    msgpack_pack_uint8 (&raw.pk, 3);
    msgpack_pack_map (&raw.pk, 0);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "version");
    uint64_t rid;
    cr_assert (zjob_msg_peek (raw.buffer.data, raw.buffer.size, &rid, NULL));
    cr_assert_eq (rid, 3);
    s_raw_destroy (&raw);
}

Test (proto, unknown_command)
{
    s_raw_t raw;
    s_raw_envelope (&raw, 1, "FROBNICATE", 9);
    msgpack_pack_map (&raw.pk, 0);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "unknown command \"FROBNICATE\"");
    zjob_error_t err;
    zjob_error_set (&err, ZJOB_BAD_REQUEST, "unknown command");
    zjob_cmd_t cmd;
    uint64_t rid;
    cr_assert (zjob_msg_peek (raw.buffer.data, raw.buffer.size, &rid, &cmd));
    cr_assert_eq (cmd, ZJOB_CMD_UNKNOWN);
    zframe_t *reply = zjob_msg_error_for (raw.buffer.data, raw.buffer.size, &err);
    cr_assert_not_null (reply);
    zjob_msg_t *msg = s_decode (reply, ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_request_id (msg), 9);
    zjob_msg_destroy (&msg);
    s_raw_destroy (&raw);
    //  Case matters; control characters are not echoed raw
    s_raw_envelope (&raw, 1, "get", 9);
    msgpack_pack_map (&raw.pk, 0);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "unknown command");
    s_raw_destroy (&raw);
    s_raw_envelope (&raw, 1, "GE\nT\x01", 9);
    msgpack_pack_map (&raw.pk, 0);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "\"GE?T?\"");
    s_raw_destroy (&raw);
    //  A command that is not a string
    s_raw_init (&raw);
    msgpack_pack_array (&raw.pk, 4);
    msgpack_pack_uint8 (&raw.pk, 1);
    msgpack_pack_uint8 (&raw.pk, 3);
    msgpack_pack_uint8 (&raw.pk, 3);
    msgpack_pack_map (&raw.pk, 0);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "command");
    s_raw_destroy (&raw);
}

//  When the request id cannot be read there is no one to answer
Test (proto, request_id_unreadable)
{
    zjob_error_t err;
    zjob_error_set (&err, ZJOB_BAD_REQUEST, "whatever");
    s_raw_t raw;
    s_raw_init (&raw);
    msgpack_pack_array (&raw.pk, 4);
    msgpack_pack_uint8 (&raw.pk, 1);
    s_raw_str (&raw, "GET");
    s_raw_str (&raw, "seven");
    msgpack_pack_map (&raw.pk, 0);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "request_id");
    cr_assert_not (zjob_msg_peek (raw.buffer.data, raw.buffer.size, NULL, NULL));
    cr_assert_null (zjob_msg_error_for (raw.buffer.data, raw.buffer.size, &err));
    s_raw_destroy (&raw);
    //  Negative request id
    s_raw_init (&raw);
    msgpack_pack_array (&raw.pk, 4);
    msgpack_pack_uint8 (&raw.pk, 1);
    s_raw_str (&raw, "GET");
    msgpack_pack_int8 (&raw.pk, -4);
    msgpack_pack_map (&raw.pk, 0);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "request_id");
    cr_assert_null (zjob_msg_error_for (raw.buffer.data, raw.buffer.size, &err));
    s_raw_destroy (&raw);
    //  Garbage
    cr_assert_null (zjob_msg_error_for ("\xff\xfe\xfd", 3, &err));
    //  A malformed reply is never answered, even with its id readable
    s_raw_envelope (&raw, 1, "OK", 4);
    msgpack_pack_array (&raw.pk, 0);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_BROKER_CLIENT,
                    ZJOB_BAD_REQUEST, "body: expected a map");
    cr_assert (zjob_msg_peek (raw.buffer.data, raw.buffer.size, NULL, NULL));
    cr_assert_null (zjob_msg_error_for (raw.buffer.data, raw.buffer.size, &err));
    s_raw_destroy (&raw);
    //  A signed but positive request id is read (other encoders use them)
    s_raw_init (&raw);
    msgpack_pack_array (&raw.pk, 4);
    msgpack_pack_fix_int32 (&raw.pk, 1);
    s_raw_str (&raw, "PING");
    msgpack_pack_fix_int64 (&raw.pk, 1234567);
    msgpack_pack_map (&raw.pk, 0);
    zjob_msg_t *msg = zjob_msg_decode (raw.buffer.data, raw.buffer.size,
                                       ZJOB_ROUTE_CLIENT_BROKER, &err);
    cr_assert_not_null (msg, "%s", err.text);
    cr_assert_eq (zjob_msg_request_id (msg), 1234567);
    zjob_msg_destroy (&msg);
    s_raw_destroy (&raw);
}

Test (proto, wrong_field_types)
{
    zjob_job_t *job = s_job_new ();
    s_raw_t raw;
    //  GET id as an integer
    s_raw_envelope (&raw, 1, "GET", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "id");
    msgpack_pack_uint8 (&raw.pk, 5);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "GET: id: expected a job id (string), got an unsigned integer");
    s_raw_destroy (&raw);
    //  GET id that is a string but not an id
    s_raw_envelope (&raw, 1, "GET", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "id");
    s_raw_str (&raw, "not-an-id");
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "\"not-an-id\" is not a job id");
    s_raw_destroy (&raw);
    //  GET without id; with id nil (nil is absent)
    s_raw_envelope (&raw, 1, "GET", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "id");
    msgpack_pack_nil (&raw.pk);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "GET: id: missing");
    s_raw_destroy (&raw);
    //  The body is not a map
    s_raw_envelope (&raw, 1, "GET", 1);
    s_raw_str (&raw, job->id);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "body: expected a map, got a string");
    s_raw_destroy (&raw);
    //  A key given twice, a key that is not a string
    s_raw_envelope (&raw, 1, "GET", 1);
    msgpack_pack_map (&raw.pk, 2);
    s_raw_str (&raw, "id");
    s_raw_str (&raw, job->id);
    s_raw_str (&raw, "id");
    s_raw_str (&raw, job->id);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "id: key given twice");
    s_raw_destroy (&raw);
    s_raw_envelope (&raw, 1, "GET", 1);
    msgpack_pack_map (&raw.pk, 1);
    msgpack_pack_uint8 (&raw.pk, 1);
    s_raw_str (&raw, job->id);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "not a string");
    s_raw_destroy (&raw);
    //  Unknown keys are skipped (a later revision's optional fields)
    s_raw_envelope (&raw, 1, "GET", 1);
    msgpack_pack_map (&raw.pk, 2);
    s_raw_str (&raw, "future");
    msgpack_pack_array (&raw.pk, 0);
    s_raw_str (&raw, "id");
    s_raw_str (&raw, job->id);
    zjob_error_t err;
    zjob_msg_t *msg = zjob_msg_decode (raw.buffer.data, raw.buffer.size,
                                       ZJOB_ROUTE_CLIENT_BROKER, &err);
    cr_assert_not_null (msg, "%s", err.text);
    cr_assert_str_eq (zjob_msg_str (msg, "id"), job->id);
    //  Readers of another type give the default
    cr_assert_eq (zjob_msg_uint (msg, "id", 3), 3);
    cr_assert_eq (zjob_msg_int (msg, "id", -3), -3);
    cr_assert_float_eq (zjob_msg_float (msg, "id", 0.5), 0.5, 0);
    cr_assert (zjob_msg_bool (msg, "id", true));
    size_t size = 9;
    cr_assert_null (zjob_msg_bin (msg, "id", &size));
    cr_assert_eq (size, 0);
    cr_assert_null (zjob_msg_strs (msg, "future", &size));
    cr_assert_null (zjob_msg_str (msg, "missing"));
    zjob_msg_destroy (&msg);
    s_raw_destroy (&raw);

    //  Deep in a SUBMIT: the path names the spec and the field
    s_raw_envelope (&raw, 1, "SUBMIT", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "jobs");
    msgpack_pack_array (&raw.pk, 2);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "workflow_id");
    s_raw_str (&raw, "resize");
    msgpack_pack_map (&raw.pk, 2);
    s_raw_str (&raw, "workflow_id");
    s_raw_str (&raw, "resize");
    s_raw_str (&raw, "tags");
    msgpack_pack_array (&raw.pk, 2);
    s_raw_str (&raw, "ok");
    msgpack_pack_uint8 (&raw.pk, 9);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "SUBMIT: jobs[1].tags[1]: expected a name");
    s_raw_destroy (&raw);

    struct {
        const char *cmd;                //  Command
        const char *key;                //  Field given a bad value
        int kind;                       //  0 string "x y", 1 uint 7, 2 negative, 3 float, 4 array
        int code;
        const char *needle;
    } cases [] = {
        { "LIST",    "limit",        0, 400, "LIST: limit: expected an unsigned integer" },
        { "LIST",    "limit",        2, 400, "limit: expected an unsigned integer, got a negative" },
        { "LIST",    "limit",        3, 400, "limit: expected an unsigned integer, got a float" },
        { "LIST",    "sort_by",      0, 400, "unknown sort \"x y\"" },
        { "LIST",    "order",        1, 400, "order: expected \"asc\" or \"desc\"" },
        { "LIST",    "filter",       4, 400, "filter: expected a filter map, got an array" },
        { "SUBMIT",  "jobs",         1, 400, "jobs: expected an array of job specs" },
        { "SUBMIT",  "auto_start",   1, 400, "auto_start: expected a boolean" },
        { "CLEANUP", "retention_ms", 0, 400, "retention_ms: expected an unsigned integer" },
        { "DELETE",  "ids",          0, 400, "ids: expected an array of job ids" },
        { "CANCEL",  "id",           4, 400, "id: expected a job id" },
    };
    for (size_t c = 0; c < sizeof (cases) / sizeof (cases [0]); c++) {
        s_raw_envelope (&raw, 1, cases [c].cmd, 1);
        msgpack_pack_map (&raw.pk, 1);
        s_raw_str (&raw, cases [c].key);
        switch (cases [c].kind) {
            case 0: s_raw_str (&raw, "x y"); break;
            case 1: msgpack_pack_uint8 (&raw.pk, 7); break;
            case 2: msgpack_pack_int8 (&raw.pk, -7); break;
            case 3: msgpack_pack_double (&raw.pk, 7.5); break;
            case 4: msgpack_pack_array (&raw.pk, 0); break;
        }
        s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                        cases [c].code, cases [c].needle);
        s_raw_destroy (&raw);
    }

    //  Values of the right type but wrong: names, enums, ranges, NULs
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_spec_t spec = { .workflow_id = "has space" };
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (b, "jobs", &spec, 1);
    zframe_t *frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST,
                          "jobs[0].workflow_id: not a name");
    spec.workflow_id = "";
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (b, "jobs", &spec, 1);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "empty name");

    s_raw_envelope (&raw, 1, "SUBMIT", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "jobs");
    msgpack_pack_array (&raw.pk, 1);
    msgpack_pack_map (&raw.pk, 2);
    s_raw_str (&raw, "workflow_id");
    s_raw_str (&raw, "resize");
    s_raw_str (&raw, "priority");
    s_raw_str (&raw, "urgent");
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "jobs[0].priority: unknown priority \"urgent\"");
    s_raw_destroy (&raw);

    s_raw_envelope (&raw, 1, "SUBMIT", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "jobs");
    msgpack_pack_array (&raw.pk, 1);
    msgpack_pack_map (&raw.pk, 2);
    s_raw_str (&raw, "workflow_id");
    msgpack_pack_str_with_body (&raw.pk, "res\0ze", 6);
    s_raw_str (&raw, "inputs");
    msgpack_pack_map (&raw.pk, 0);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "NUL byte");
    s_raw_destroy (&raw);

    //  inputs must be a bin holding the encoded map, not a map
    s_raw_envelope (&raw, 1, "SUBMIT", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "jobs");
    msgpack_pack_array (&raw.pk, 1);
    msgpack_pack_map (&raw.pk, 2);
    s_raw_str (&raw, "workflow_id");
    s_raw_str (&raw, "resize");
    s_raw_str (&raw, "inputs");
    msgpack_pack_map (&raw.pk, 0);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "jobs[0].inputs: expected a bin");
    s_raw_destroy (&raw);

    //  SUBMIT with no jobs
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (b, "jobs", NULL, 0);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "at least 1");
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}

Test (proto, limits)
{
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    //  A frame over ZJOB_MSG_MAX: 413, answered when its id is readable
    size_t size = ZJOB_MSG_MAX + 1;
    uint8_t *big = (uint8_t *) calloc (1, size);
    cr_assert_not_null (big);
    s_raw_t raw;
    s_raw_envelope (&raw, 1, "SUBMIT", 31);
    memcpy (big, raw.buffer.data, raw.buffer.size);
    s_raw_destroy (&raw);
    s_expect_error (big, size, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_TOO_LARGE, "over the limit");
    zjob_error_t err;
    zjob_msg_decode (big, size, ZJOB_ROUTE_CLIENT_BROKER, &err);
    zframe_t *reply = zjob_msg_error_for (big, size, &err);
    cr_assert_not_null (reply);
    zjob_msg_t *msg = s_decode (reply, ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_request_id (msg), 31);
    cr_assert_eq (zjob_msg_uint (msg, "code", 0), ZJOB_TOO_LARGE);
    zjob_msg_destroy (&msg);
    free (big);

    //  The builder refuses to make one
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 1);
    uint8_t *blob = (uint8_t *) calloc (1, ZJOB_MSG_MAX);
    zjob_msg_add_bin (b, "blob", blob, ZJOB_MSG_MAX);
    free (blob);
    cr_assert_null (zjob_msg_end (b, &err));
    cr_assert_eq (err.code, ZJOB_TOO_LARGE);

    //  More specs than ZJOB_BATCH_MAX
    zjob_spec_t *specs = (zjob_spec_t *) calloc (ZJOB_BATCH_MAX + 1, sizeof (zjob_spec_t));
    for (size_t i = 0; i <= ZJOB_BATCH_MAX; i++)
        specs [i].workflow_id = "w";
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (b, "jobs", specs, ZJOB_BATCH_MAX + 1);
    zframe_t *frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_TOO_LARGE,
                          "jobs: 10001 items, over the limit of 10000");
    //  ...and exactly ZJOB_BATCH_MAX is fine
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (b, "jobs", specs, ZJOB_BATCH_MAX);
    msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    size_t count;
    zjob_msg_specs (msg, &count);
    cr_assert_eq (count, ZJOB_BATCH_MAX);
    zjob_msg_destroy (&msg);
    free (specs);

    //  inputs over ZJOB_DATA_MAX
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 1);
    zjob_msg_add_str (b, "id", "00000000000000000000");
    zjob_msg_add_str (b, "status", "completed");
    blob = (uint8_t *) calloc (1, ZJOB_DATA_MAX + 1);
    zjob_msg_add_bin (b, "outputs", blob, ZJOB_DATA_MAX + 1);
    free (blob);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_TOO_LARGE, "outputs");

    //  More than ZJOB_MSG_OBJECTS_MAX values
    s_raw_envelope (&raw, 1, "PING", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "x");
    msgpack_pack_array (&raw.pk, ZJOB_MSG_OBJECTS_MAX);
    for (int i = 0; i < ZJOB_MSG_OBJECTS_MAX; i++)
        msgpack_pack_nil (&raw.pk);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_TOO_LARGE, "values");
    s_raw_destroy (&raw);

    //  Nesting deeper than ZJOB_MSG_DEPTH_MAX
    s_raw_envelope (&raw, 1, "PING", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "x");
    for (int i = 0; i < ZJOB_MSG_DEPTH_MAX; i++)
        msgpack_pack_array (&raw.pk, 1);
    msgpack_pack_nil (&raw.pk);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "nested deeper");
    s_raw_destroy (&raw);

    //  Bytes after the message
    s_raw_envelope (&raw, 1, "PING", 1);
    msgpack_pack_map (&raw.pk, 0);
    msgpack_pack_nil (&raw.pk);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "1 bytes after the message");
    s_raw_destroy (&raw);
    zjob_msg_builder_destroy (&b);
}

//  A LIST reply holds as many jobs as fit; the rest is the next page's
Test (proto, list_reply_paging)
{
    //  Jobs of nearly 3 MiB each: inputs, metadata and outputs of ~1 MiB
    size_t data_size = ZJOB_DATA_MAX - 16;
    uint8_t *data = (uint8_t *) calloc (1, data_size);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "b", 1);
    msgpack_pack_bin_with_body (&pk, data, data_size - 16);
    free (data);
    cr_assert_leq (buffer.size, ZJOB_DATA_MAX);
    zjob_spec_t spec = { .workflow_id = "big", .inputs = (uint8_t *) buffer.data,
                         .inputs_size = buffer.size, .metadata = (uint8_t *) buffer.data,
                         .metadata_size = buffer.size };
    zjob_job_t *jobs [8];
    zjob_error_t err;
    for (int i = 0; i < 8; i++) {
        jobs [i] = zjob_job_new (&spec, &err);
        cr_assert_not_null (jobs [i], "%s", err.text);
        cr_assert_eq (zjob_job_set_outputs (jobs [i], (uint8_t *) buffer.data, buffer.size,
                                            &err), 0, "%s", err.text);
    }
    msgpack_sbuffer_destroy (&buffer);
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_msg_begin (b, ZJOB_CMD_OK, 5);
    size_t added = zjob_msg_add_jobs (b, "jobs", jobs, 8);
    cr_assert_eq (added, 5, "5 jobs of 3 MiB fit in 16 MiB, got %zu", added);
    zjob_msg_add_uint (b, "total", 8);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_LIST, &err), 0, "%s", err.text);
    zjob_job_t **got;
    size_t count;
    cr_assert_eq (zjob_msg_jobs (msg, "jobs", &got, &count, &err), 0, "%s", err.text);
    cr_assert_eq (count, 5);
    cr_assert_str_eq (got [4]->id, jobs [4]->id);
    for (size_t i = 0; i < count; i++)
        zjob_job_destroy (&got [i]);
    free (got);
    zjob_msg_destroy (&msg);
    for (int i = 0; i < 8; i++)
        zjob_job_destroy (&jobs [i]);
    zjob_msg_builder_destroy (&b);
}


//  --------------------------------------------------------------------------
//  Sockets and speed

//  One frame after the ROUTER identity, no delimiter; replies find the
//  DEALER by identity and carry the request id back
Test (proto, over_router_dealer)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    cr_assert (router && dealer);
    zjob_proto_socket_setup (router);
    zjob_proto_socket_setup (dealer);
    cr_assert_eq (zsock_maxmsgsize (router), ZJOB_MSG_MAX);
    cr_assert_eq (zsock_sndhwm (dealer), ZJOB_HWM);
    zsock_set_rcvtimeo (router, 5000);
    zsock_set_rcvtimeo (dealer, 5000);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    cr_assert_gt (port, 0);
    cr_assert_eq (zsock_connect (dealer, "tcp://127.0.0.1:%d", port), 0);

    //  Three pipelined requests
    for (uint64_t rid = 1; rid <= 3; rid++) {
        zframe_t *frame = zjob_msg_empty_new (ZJOB_CMD_PING, rid);
        cr_assert_eq (zframe_send (&frame, dealer, 0), 0);
    }
    for (uint64_t rid = 1; rid <= 3; rid++) {
        zmsg_t *request = zmsg_recv (router);
        cr_assert_not_null (request, "no request");
        cr_assert_eq (zmsg_size (request), 2, "identity and one frame");
        zframe_t *identity = zmsg_pop (request);
        zframe_t *body = zmsg_pop (request);
        zjob_msg_t *msg = s_decode (body, ZJOB_ROUTE_CLIENT_BROKER);
        cr_assert_eq (zjob_msg_command (msg), ZJOB_CMD_PING);
        cr_assert_eq (zjob_msg_request_id (msg), rid);
        zjob_msg_builder_t *b = zjob_msg_builder_new ();
        zjob_msg_begin (b, ZJOB_CMD_OK, zjob_msg_request_id (msg));
        zjob_msg_add_uint (b, "version", ZJOB_PROTO_VERSION);
        zjob_msg_add_uint (b, "time", (uint64_t) zjob_clock_ms ());
        zmsg_t *reply = zmsg_new ();
        zmsg_append (reply, &identity);
        zframe_t *frame = s_end (b);
        zmsg_append (reply, &frame);
        cr_assert_eq (zmsg_send (&reply, router), 0);
        zjob_msg_builder_destroy (&b);
        zjob_msg_destroy (&msg);
        zmsg_destroy (&request);
    }
    for (uint64_t rid = 1; rid <= 3; rid++) {
        zframe_t *frame = zframe_recv (dealer);
        cr_assert_not_null (frame, "no reply");
        cr_assert_not (zframe_more (frame));
        zjob_msg_t *msg = s_decode (frame, ZJOB_ROUTE_BROKER_CLIENT);
        cr_assert_eq (zjob_msg_request_id (msg), rid);
        zjob_error_t err;
        cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_PING, &err), 0, "%s", err.text);
        zjob_msg_destroy (&msg);
    }
    zsock_destroy (&dealer);
    zsock_destroy (&router);
}

//  Decoding a small SUBMIT is cheap: the hot path of a 200k jobs/s bench
Test (proto, decode_speed)
{
    s_make_inputs ();
    uint8_t inputs [100];
    memset (inputs, 0, sizeof (inputs));
    inputs [0] = 0x81;                  //  {"x": bin of 94 bytes}
    inputs [1] = 0xa1;
    inputs [2] = 'x';
    inputs [3] = 0xc4;
    inputs [4] = 95;
    zjob_spec_t spec = { .workflow_id = "resize", .inputs = inputs,
                         .inputs_size = sizeof (inputs), .idempotency_key = "k-1" };
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (b, "jobs", &spec, 1);
    size_t size;
    zjob_error_t err;
    const uint8_t *data = zjob_msg_end_data (b, &size, &err);
    cr_assert_not_null (data);
    int rounds = 100000;
    int64_t start = zjob_mono_ms ();
    for (int i = 0; i < rounds; i++) {
        zjob_msg_t *msg = zjob_msg_decode (data, size, ZJOB_ROUTE_CLIENT_BROKER, &err);
        cr_assert_not_null (msg);
        size_t count;
        cr_assert_eq (zjob_msg_specs (msg, &count)->inputs_size, sizeof (inputs));
        zjob_msg_destroy (&msg);
    }
    int64_t decode_ms = zjob_mono_ms () - start;
    start = zjob_mono_ms ();
    for (int i = 0; i < rounds; i++) {
        zjob_msg_begin (b, ZJOB_CMD_SUBMIT, (uint64_t) i);
        zjob_msg_add_specs (b, "jobs", &spec, 1);
        cr_assert_not_null (zjob_msg_end_data (b, &size, &err));
    }
    int64_t encode_ms = zjob_mono_ms () - start;
    fprintf (stderr, "proto: %zu-byte SUBMIT: %d decodes in %" PRId64 " ms, %d encodes in %"
             PRId64 " ms\n", size, rounds, decode_ms, rounds, encode_ms);
    //  A loose bound (1M/s is typical) so a loaded or sanitized run passes
    cr_assert_lt (decode_ms, 10000);
    zjob_msg_builder_destroy (&b);
}

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
        { .id = c->id, .completed = false, .error_kind = "timeout",
          .error_message = "took more than 30 s" }
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
    bad [1] = (zjob_result_t) { .id = c->id, .completed = false, .error_kind = "" };
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
        msgpack_pack_map (&raw.pk, statuses [i]? 2: 1);
        s_raw_str (&raw, "id");
        s_raw_str (&raw, a->id);
        if (statuses [i]) {
            s_raw_str (&raw, "status");
            s_raw_str (&raw, statuses [i]);
        }
        s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_WORKER_BROKER,
                        ZJOB_BAD_REQUEST, i? "results[0].status: must be completed or failed"
                                           : "results[0].status: missing");
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
//  Receiving one frame

Test (proto, recv_frame_takes_one_frame_and_drops_more)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    cr_assert_not_null (router);
    cr_assert_eq (zsock_bind (router, "inproc://test-recv-frame"), 0);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    cr_assert_eq (zsock_connect (dealer, "inproc://test-recv-frame"), 0);
    zmq_msg_t frame;
    cr_assert_eq (zjob_proto_recv_frame (dealer, &frame), 0, "nothing waiting");

    //  Learn the dealer's routing id, then send it two messages
    zstr_send (dealer, "hello");
    zmsg_t *hello = zmsg_recv (router);
    cr_assert_not_null (hello);
    zframe_t *routing = zmsg_pop (hello);
    zmsg_destroy (&hello);
    zframe_send (&routing, router, ZFRAME_MORE + ZFRAME_REUSE);
    zstr_sendm (router, "one");
    zstr_send (router, "two");                  //  A message of two frames
    zframe_send (&routing, router, ZFRAME_MORE);
    zstr_send (router, "single");

    zpoller_t *poller = zpoller_new (dealer, NULL);
    int got = 0;
    while ((got = zjob_proto_recv_frame (dealer, &frame)) == 0)
        cr_assert_not_null (zpoller_wait (poller, 5000), "no message within 5 s");
    cr_assert_eq (got, -1, "a message of several frames is dropped whole");
    while ((got = zjob_proto_recv_frame (dealer, &frame)) == 0)
        cr_assert_not_null (zpoller_wait (poller, 5000), "no message within 5 s");
    zpoller_destroy (&poller);
    cr_assert_eq (got, 1);
    cr_assert_eq (zmq_msg_size (&frame), 6);
    cr_assert (memcmp (zmq_msg_data (&frame), "single", 6) == 0);
    zmq_msg_close (&frame);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
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
        &&  memcmp (kv->key.via.str.ptr, key, kv->key.via.str.size) == 0)
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
    zjob_stats_t stats = { .queued = 3, .active = 2, .workers = 1, .slots = 8, .busy = 2,
                           .max_concurrent = 2, .scheduled = 1, .held_by_limit = true,
                           .submitted_rate = 12.5, .completed_rate = 10, .failed_rate = 0.25,
                           .rate_window_ms = 10000, .uptime_ms = 60000, .subscriptions = 4 };
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
        { .worker_id = "gpu-1", .name = "GPU one", .workflows = workflows,
          .workflow_count = 2, .slots = 4, .busy = 1, .credit = 3, .jobs = jobs,
          .job_count = 1, .connected_at = 1750000000000, .last_seen = 1750000001000 },
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

//  PROTOCOL.md section 3: any key given twice in one map is 400, a key
//  the decoder skips included, at the top level and in nested maps
Test (proto, unknown_key_given_twice)
{
    zjob_job_t *job = s_job_new ();
    s_raw_t raw;
    //  Top level: GET with an unknown key twice
    s_raw_envelope (&raw, 1, "GET", 1);
    msgpack_pack_map (&raw.pk, 3);
    s_raw_str (&raw, "later");
    msgpack_pack_uint8 (&raw.pk, 1);
    s_raw_str (&raw, "id");
    s_raw_str (&raw, job->id);
    s_raw_str (&raw, "later");
    msgpack_pack_uint8 (&raw.pk, 2);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "GET: body: key \"later\" given twice");
    s_raw_destroy (&raw);
    //  Two different unknown keys are skipped as before
    s_raw_envelope (&raw, 1, "GET", 1);
    msgpack_pack_map (&raw.pk, 3);
    s_raw_str (&raw, "later");
    msgpack_pack_uint8 (&raw.pk, 1);
    s_raw_str (&raw, "id");
    s_raw_str (&raw, job->id);
    s_raw_str (&raw, "later2");
    msgpack_pack_uint8 (&raw.pk, 2);
    zjob_error_t err;
    zjob_msg_t *msg = zjob_msg_decode (raw.buffer.data, raw.buffer.size,
                                       ZJOB_ROUTE_CLIENT_BROKER, &err);
    cr_assert_not_null (msg, "%s", err.text);
    zjob_msg_destroy (&msg);
    s_raw_destroy (&raw);
    //  In a filter (LIST), in a spec (SUBMIT), in a result item (RESULT)
    s_raw_envelope (&raw, 1, "LIST", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "filter");
    msgpack_pack_map (&raw.pk, 2);
    s_raw_str (&raw, "x");
    msgpack_pack_true (&raw.pk);
    s_raw_str (&raw, "x");
    msgpack_pack_false (&raw.pk);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "LIST: filter: key \"x\" given twice");
    s_raw_destroy (&raw);
    s_raw_envelope (&raw, 1, "SUBMIT", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "jobs");
    msgpack_pack_array (&raw.pk, 1);
    msgpack_pack_map (&raw.pk, 3);
    s_raw_str (&raw, "workflow_id");
    s_raw_str (&raw, "w");
    s_raw_str (&raw, "deadline");
    msgpack_pack_uint8 (&raw.pk, 1);
    s_raw_str (&raw, "deadline");
    msgpack_pack_uint8 (&raw.pk, 1);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "SUBMIT: jobs[0]: key \"deadline\" given twice");
    s_raw_destroy (&raw);
    s_raw_envelope (&raw, 1, "RESULT", 1);
    msgpack_pack_map (&raw.pk, 1);
    s_raw_str (&raw, "results");
    msgpack_pack_array (&raw.pk, 1);
    msgpack_pack_map (&raw.pk, 4);
    s_raw_str (&raw, "id");
    s_raw_str (&raw, job->id);
    s_raw_str (&raw, "status");
    s_raw_str (&raw, "completed");
    s_raw_str (&raw, "z");
    msgpack_pack_nil (&raw.pk);
    s_raw_str (&raw, "z");
    msgpack_pack_nil (&raw.pk);
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_WORKER_BROKER,
                    ZJOB_BAD_REQUEST, "RESULT: results[0]: key \"z\" given twice");
    s_raw_destroy (&raw);
    //  Many keys (past the pairwise check): the repeat is found all the same
    s_raw_envelope (&raw, 1, "GET", 1);
    msgpack_pack_map (&raw.pk, 41);
    s_raw_str (&raw, "id");
    s_raw_str (&raw, job->id);
    char key [16];
    for (int index = 0; index < 40; index++) {
        snprintf (key, sizeof key, "k%d", index == 39? 7: index);
        s_raw_str (&raw, key);
        msgpack_pack_uint8 (&raw.pk, 0);
    }
    s_expect_error (raw.buffer.data, raw.buffer.size, ZJOB_ROUTE_CLIENT_BROKER,
                    ZJOB_BAD_REQUEST, "key \"k7\" given twice");
    s_raw_destroy (&raw);
    zjob_job_destroy (&job);
}

//  LIST offset is any uint64 (PROTOCOL.md 9.4 gives it no bound)
Test (proto, list_offset_is_any_uint64)
{
    uint64_t offsets [] = { (uint64_t) UINT32_MAX + 1, UINT64_MAX };
    for (size_t i = 0; i < 2; i++) {
        s_raw_t raw;
        s_raw_envelope (&raw, 1, "LIST", 1);
        msgpack_pack_map (&raw.pk, 1);
        s_raw_str (&raw, "offset");
        msgpack_pack_uint64 (&raw.pk, offsets [i]);
        zjob_error_t err;
        zjob_msg_t *msg = zjob_msg_decode (raw.buffer.data, raw.buffer.size,
                                           ZJOB_ROUTE_CLIENT_BROKER, &err);
        cr_assert_not_null (msg, "offset %" PRIu64 ": %s", offsets [i], err.text);
        const zjob_query_t *query = zjob_msg_query (msg);
        cr_assert_eq ((uint64_t) query->offset, offsets [i] > SIZE_MAX? SIZE_MAX: offsets [i]);
        zjob_msg_destroy (&msg);
        s_raw_destroy (&raw);
    }
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
