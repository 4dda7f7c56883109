/*  =========================================================================
    test_zjob_proto_bad - the wire codec against bad input

    The decoder is fed what a hostile or broken peer sends: empty and
    random frames, every truncation of every valid message, mutated
    messages, wrong versions, unknown commands, fields of the wrong type,
    keys given twice, oversize messages, and messages whose request id
    cannot be read. It must never crash or leak (the sanitizer build checks
    that), and always say what is wrong with a status code and a message.
    The limits, and the paging of a LIST reply that would not fit, too.
    ========================================================================= */

#include "test_zjob_proto.h"

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
        const char *cmd;  //  Command
        const char *key;  //  Field given a bad value
        int kind;         //  0 string "x y", 1 uint 7, 2 negative, 3 float, 4 array
        int code;
        const char *needle;
    } cases [] = {
        { "LIST", "limit", 0, 400, "LIST: limit: expected an unsigned integer" },
        { "LIST", "limit", 2, 400, "limit: expected an unsigned integer, got a negative" },
        { "LIST", "limit", 3, 400, "limit: expected an unsigned integer, got a float" },
        { "LIST", "sort_by", 0, 400, "unknown sort \"x y\"" },
        { "LIST", "order", 1, 400, "order: expected \"asc\" or \"desc\"" },
        { "LIST", "filter", 4, 400, "filter: expected a filter map, got an array" },
        { "SUBMIT", "jobs", 1, 400, "jobs: expected an array of job specs" },
        { "SUBMIT", "auto_start", 1, 400, "auto_start: expected a boolean" },
        { "CLEANUP", "retention_ms", 0, 400, "retention_ms: expected an unsigned integer" },
        { "DELETE", "ids", 0, 400, "ids: expected an array of job ids" },
        { "CANCEL", "id", 4, 400, "id: expected a job id" },
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
    zjob_spec_t spec = { .workflow_id = "big", .inputs = (uint8_t *) buffer.data, .inputs_size = buffer.size, .metadata = (uint8_t *) buffer.data, .metadata_size = buffer.size };
    zjob_job_t *jobs [8];
    zjob_error_t err;
    for (int i = 0; i < 8; i++) {
        jobs [i] = zjob_job_new (&spec, &err);
        cr_assert_not_null (jobs [i], "%s", err.text);
        cr_assert_eq (zjob_job_set_outputs (jobs [i], (uint8_t *) buffer.data, buffer.size,
                                            &err),
                      0, "%s", err.text);
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
        snprintf (key, sizeof key, "k%d", index == 39 ? 7 : index);
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
        cr_assert_eq ((uint64_t) query->offset, offsets [i] > SIZE_MAX ? SIZE_MAX : offsets [i]);
        zjob_msg_destroy (&msg);
        s_raw_destroy (&raw);
    }
}
