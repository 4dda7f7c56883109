/*  =========================================================================
    test_zjob_json - JSON <-> msgpack conversion and the JSON form of a job

    Every JSON type goes through JSON -> msgpack -> JSON and comes back
    equal; the msgpack forms JSON has no word for (bin, ext, big unsigned
    integers, non-string keys, NaN) come out as zjob_json.h documents; bad
    input is refused with a message that names what and where.
    ========================================================================= */

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include "zjob_json.h"
#include "zjob_job_impl.h"

//  JSON text -> msgpack -> compact JSON text
static char *
s_round_trip (const char *json_text)
{
    uint8_t *data = NULL;
    size_t size = 0;
    zjob_error_t err;
    int rc = zjob_json_any_to_msgpack (json_text, &data, &size, &err);
    cr_assert_eq (rc, 0, "%s: %s", json_text, err.text);
    char *text = zjob_msgpack_to_json (data, size, ZJOB_JSON_COMPACT, &err);
    cr_assert_not_null (text, "%s: %s", json_text, err.text);
    free (data);
    return text;
}

static void
s_assert_round_trip (const char *json_text, const char *expected)
{
    char *text = s_round_trip (json_text);
    cr_assert_str_eq (text, expected ? expected : json_text);
    free (text);
}

//  msgpack packed by build -> compact JSON
typedef void (s_build_fn) (msgpack_packer *pk);

static char *
s_msgpack_json (s_build_fn *build)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    build (&pk);
    zjob_error_t err;
    char *text = zjob_msgpack_to_json ((uint8_t *) buffer.data, buffer.size,
                                       ZJOB_JSON_COMPACT, &err);
    cr_assert_not_null (text, "%s", err.text);
    msgpack_sbuffer_destroy (&buffer);
    return text;
}

Test (zjob_json, scalars_round_trip)
{
    s_assert_round_trip ("null", NULL);
    s_assert_round_trip ("true", NULL);
    s_assert_round_trip ("false", NULL);
    s_assert_round_trip ("0", NULL);
    s_assert_round_trip ("-1", NULL);
    s_assert_round_trip ("127", NULL);
    s_assert_round_trip ("-33", NULL);
    s_assert_round_trip ("65536", NULL);
    s_assert_round_trip ("9223372036854775807", NULL);
    s_assert_round_trip ("-9223372036854775808", NULL);
    s_assert_round_trip ("\"\"", NULL);
    s_assert_round_trip ("\"plain\"", NULL);
    s_assert_round_trip ("0.5", NULL);
    s_assert_round_trip ("1.0", NULL);
    s_assert_round_trip ("-2.5e-300", NULL);
    s_assert_round_trip ("1.7976931348623157e308", NULL);
}

Test (zjob_json, reals_print_short_and_exact)
{
    //  0.3 prints as written, 0.1+0.2 needs its 17 digits to stay itself
    s_assert_round_trip ("0.3", NULL);
    s_assert_round_trip ("0.30000000000000004", NULL);
    char *text = s_round_trip ("[0.1, 0.30000000000000004]");
    json_t *value = json_loads (text, JSON_DECODE_ANY, NULL);
    cr_assert_not_null (value);
    cr_assert_eq (json_real_value (json_array_get (value, 0)), 0.1);
    cr_assert_eq (json_real_value (json_array_get (value, 1)), 0.1 + 0.2);
    json_decref (value);
    free (text);
}

Test (zjob_json, containers_and_order)
{
    s_assert_round_trip ("[]", NULL);
    s_assert_round_trip ("{}", NULL);
    s_assert_round_trip ("[1,\"a\",null,true,[],{}]", NULL);
    //  Objects keep their document order, not a sorted one
    s_assert_round_trip ("{\"z\":1,\"a\":{\"y\":[1,{\"b\":false}],\"c\":\"d\"},"
                         "\"m\":[[[]]]}",
                         NULL);
    s_assert_round_trip ("{ \"spaced\" : [ 1 , 2 ] }", "{\"spaced\":[1,2]}");
}

Test (zjob_json, integers_use_the_shortest_msgpack_form)
{
    uint8_t *data;
    size_t size;
    zjob_error_t err;
    cr_assert_eq (zjob_json_to_msgpack ("{\"a\":1,\"b\":-1,\"c\":300,\"d\":2.5}", &data, &size,
                                        &err),
                  0);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    cr_assert_eq (msgpack_unpack_next (&unpacked, (const char *) data, size, NULL),
                  MSGPACK_UNPACK_SUCCESS);
    msgpack_object_map *map = &unpacked.data.via.map;
    cr_assert_eq (unpacked.data.type, MSGPACK_OBJECT_MAP);
    cr_assert_eq (map->size, 4);
    cr_assert_eq (map->ptr [0].key.type, MSGPACK_OBJECT_STR);
    cr_assert_eq (map->ptr [0].val.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    cr_assert_eq (map->ptr [1].val.type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    cr_assert_eq (map->ptr [2].val.via.u64, 300);
    cr_assert_eq (map->ptr [3].val.type, MSGPACK_OBJECT_FLOAT64);
    //  {"a":1}: fixmap, fixstr "a", fixint 1 -- one byte per small int
    cr_assert_eq (data [0], 0x84);
    cr_assert_eq (data [1], 0xa1);
    cr_assert_eq (data [3], 0x01);
    msgpack_unpacked_destroy (&unpacked);
    free (data);
}

Test (zjob_json, unicode_and_nul)
{
    s_assert_round_trip ("\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"", NULL);
    s_assert_round_trip ("\"\\u00e9\\u20ac\"", "\"\xc3\xa9\xe2\x82\xac\"");
    //  A surrogate pair is one character, U+1F600
    s_assert_round_trip ("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
    s_assert_round_trip ("{\"cl\xc3\xa9\":\"\\u0000x\"}", "{\"cl\xc3\xa9\":\"\\u0000x\"}");
    s_assert_round_trip ("\"tab\\tquote\\\"back\\\\slash\\n\"", NULL);

    //  ASCII output escapes what is not ASCII
    uint8_t *data;
    size_t size;
    cr_assert_eq (zjob_json_any_to_msgpack ("\"\xc3\xa9\"", &data, &size, NULL), 0);
    char *text = zjob_msgpack_to_json (data, size, ZJOB_JSON_ASCII, NULL);
    cr_assert_str_eq (text, "\"\\u00E9\"");
    free (text);
    free (data);
}

Test (zjob_json, pretty_printing)
{
    uint8_t *data;
    size_t size;
    cr_assert_eq (zjob_json_to_msgpack ("{\"a\":[1,2],\"b\":{}}", &data, &size, NULL), 0);
    char *text = zjob_msgpack_to_json (data, size, ZJOB_JSON_PRETTY, NULL);
    cr_assert_str_eq (text, "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}");
    free (text);
    free (data);
}

static void
s_build_big_unsigned (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 3);
    msgpack_pack_uint64 (pk, UINT64_MAX);
    msgpack_pack_uint64 (pk, (uint64_t) INT64_MAX + 1);
    msgpack_pack_uint64 (pk, (uint64_t) INT64_MAX);
}

Test (zjob_json, unsigned_beyond_int64_is_an_exact_string)
{
    char *text = s_msgpack_json (s_build_big_unsigned);
    cr_assert_str_eq (text, "[\"18446744073709551615\",\"9223372036854775808\","
                            "9223372036854775807]");
    free (text);
}

static void
s_build_bin_ext_float (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 7);
    msgpack_pack_bin (pk, 3);
    msgpack_pack_bin_body (pk, "abc", 3);  //  UTF-8: a string
    msgpack_pack_bin (pk, 3);
    msgpack_pack_bin_body (pk, "\xff\x00\x01", 3);  //  not UTF-8: base64
    msgpack_pack_str (pk, 2);
    msgpack_pack_str_body (pk, "\xc3\x28", 2);  //  bad UTF-8 str: base64
    msgpack_pack_ext (pk, 2, 5);
    msgpack_pack_ext_body (pk, "\x01\x02", 2);
    msgpack_pack_float (pk, 0.5f);
    msgpack_pack_double (pk, NAN);
    msgpack_pack_double (pk, -INFINITY);
}

Test (zjob_json, bin_ext_and_special_floats)
{
    char *text = s_msgpack_json (s_build_bin_ext_float);
    cr_assert_str_eq (text, "[\"abc\",\"/wAB\",\"wyg=\",{\"$ext\":5,\"data\":\"AQI=\"},"
                            "0.5,null,null]");
    free (text);
}

static void
s_build_odd_keys (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 6);
    msgpack_pack_int (pk, 1);
    msgpack_pack_str (pk, 3);
    msgpack_pack_str_body (pk, "one", 3);
    msgpack_pack_true (pk);
    msgpack_pack_int (pk, 2);
    msgpack_pack_nil (pk);
    msgpack_pack_int (pk, 3);
    msgpack_pack_array (pk, 2);
    msgpack_pack_int (pk, 1);
    msgpack_pack_int (pk, 2);
    msgpack_pack_int (pk, 4);
    msgpack_pack_bin (pk, 1);
    msgpack_pack_bin_body (pk, "k", 1);
    msgpack_pack_int (pk, 5);
    //  "1" again, as a string: the later key wins
    msgpack_pack_str (pk, 1);
    msgpack_pack_str_body (pk, "1", 1);
    msgpack_pack_int (pk, 6);
}

Test (zjob_json, non_string_keys_are_stringified)
{
    char *text = s_msgpack_json (s_build_odd_keys);
    cr_assert_str_eq (text, "{\"1\":6,\"true\":2,\"null\":3,\"[1,2]\":4,\"k\":5}");
    free (text);
}

//  A map key that is a map whose key is a map...: each level's key text
//  holds the next one's, escaped, so its size doubles with every level
//  (found by tests/fuzz/fuzz_json: 168 bytes that took gigabytes and
//  minutes). Past two levels of keys inside keys, a key is the base64
//  of its msgpack: linear, and still distinct per key.
Test (zjob_json, keys_nested_in_keys_stay_linear, .timeout = 30)
{
    enum { LEVELS = 24 };
    uint8_t data [2 * LEVELS + 2];
    size_t size = 0;
    for (int level = 0; level < LEVELS; level++)
        data [size++] = 0x81;  //  {key: value}, the key being the next map
    data [size++] = 0xc0;      //  The innermost map's key: nil
    for (int level = 0; level < LEVELS; level++)
        data [size++] = 0x01;  //  Each map's value
    zjob_error_t err;
    char *text = zjob_msgpack_to_json (data, size, ZJOB_JSON_COMPACT, &err);
    cr_assert_not_null (text, "%s", err.text);
    cr_assert_lt (strlen (text), 4096, "%zu bytes of JSON from %zu of msgpack", strlen (text), size);
    free (text);
    //  Two levels are still JSON text
    static const uint8_t two [] = { 0x81, 0x81, 0x81, 0xa1, 'a', 0x01, 0x02, 0x03 };
    text = zjob_msgpack_to_json (two, sizeof two, ZJOB_JSON_COMPACT, &err);
    cr_assert_not_null (text, "%s", err.text);
    cr_assert_str_eq (text, "{\"{\\\"{\\\\\\\"a\\\\\\\":1}\\\":2}\":3}");
    free (text);
}

Test (zjob_json, invalid_json_names_line_and_column)
{
    uint8_t *data = NULL;
    size_t size = 0;
    zjob_error_t err;
    cr_assert_eq (zjob_json_to_msgpack ("{\"a\": x}", &data, &size, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_str_eq (err.text, "invalid JSON at line 1 column 7: invalid token near 'x'");
    cr_assert_null (data);

    cr_assert_eq (zjob_json_to_msgpack ("{\"a\": 1,\n \"b\": }", &data, &size, &err), -1);
    cr_assert_not_null (strstr (err.text, "at line 2 column"), "%s", err.text);

    cr_assert_eq (zjob_json_to_msgpack ("{\"a\": 1} trailing", &data, &size, &err), -1);
    cr_assert_not_null (strstr (err.text, "end of file expected"), "%s", err.text);

    cr_assert_eq (zjob_json_to_msgpack ("{\"a\": 1, \"a\": 2}", &data, &size, &err), -1);
    cr_assert_not_null (strstr (err.text, "duplicate object key"), "%s", err.text);

    cr_assert_eq (zjob_json_to_msgpack ("{\"a\": 99999999999999999999}", &data, &size, &err), -1);
    cr_assert_not_null (strstr (err.text, "too big integer"), "%s", err.text);

    cr_assert_eq (zjob_json_to_msgpack ("{\"a\": \"\xff\"}", &data, &size, &err), -1);
    cr_assert_not_null (strstr (err.text, "unable to decode byte 0xff"), "%s", err.text);

    cr_assert_eq (zjob_json_to_msgpack ("  \n", &data, &size, &err), -1);
    cr_assert_str_eq (err.text, "no JSON given: expected an object such as {\"x\": 1}");
    cr_assert_eq (zjob_json_to_msgpack (NULL, &data, &size, &err), -1);
    cr_assert_null (data);
}

Test (zjob_json, top_level_must_be_an_object)
{
    uint8_t *data = NULL;
    size_t size = 0;
    zjob_error_t err;
    cr_assert_eq (zjob_json_to_msgpack ("[1]", &data, &size, &err), -1);
    cr_assert_str_eq (err.text, "expected a JSON object such as {\"x\": 1}, got an array");
    cr_assert_eq (zjob_json_to_msgpack ("42", &data, &size, &err), -1);
    cr_assert_not_null (strstr (err.text, "got an integer"), "%s", err.text);
    cr_assert_null (data);
    //  The any-value form takes them
    cr_assert_eq (zjob_json_any_to_msgpack ("[1]", &data, &size, &err), 0);
    cr_assert_eq (size, 2);
    free (data);
}

//  n nested arrays around 1
static char *
s_nested (int n)
{
    char *text = (char *) malloc (2 * (size_t) n + 2);
    memset (text, '[', n);
    text [n] = '1';
    memset (text + n + 1, ']', n);
    text [2 * n + 1] = '\0';
    return text;
}

Test (zjob_json, nesting_stops_at_msgpack_c_limit)
{
    //  32 containers: a map around 31 arrays
    char *arrays = s_nested (ZJOB_JSON_DEPTH_MAX - 1);
    char *deepest = (char *) malloc (strlen (arrays) + 8);
    sprintf (deepest, "{\"a\":%s}", arrays);
    char *text = s_round_trip (deepest);
    cr_assert_str_eq (text, deepest);
    free (text);
    free (deepest);
    //  A top-level value other than a map is checked inside a map (see
    //  zjob_msgpack_to_json_value), so it goes one level less deep
    text = s_round_trip (arrays);
    cr_assert_str_eq (text, arrays);
    free (text);
    free (arrays);

    char *too_deep = s_nested (ZJOB_JSON_DEPTH_MAX + 1);
    uint8_t *data = NULL;
    size_t size;
    zjob_error_t err;
    cr_assert_eq (zjob_json_any_to_msgpack (too_deep, &data, &size, &err), -1);
    cr_assert_str_eq (err.text, "JSON nested 33 levels deep, at most 32 are allowed");
    free (too_deep);

    //  What is accepted, every msgpack-c reader accepts
    char *arrays32 = s_nested (ZJOB_JSON_DEPTH_MAX);
    cr_assert_eq (zjob_json_any_to_msgpack (arrays32, &data, &size, &err), 0, "%s", err.text);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    cr_assert_eq (msgpack_unpack_next (&unpacked, (const char *) data, size, NULL),
                  MSGPACK_UNPACK_SUCCESS);
    msgpack_unpacked_destroy (&unpacked);
    free (data);
    free (arrays32);
}

Test (zjob_json, bad_msgpack_is_refused)
{
    zjob_error_t err;
    cr_assert_null (zjob_msgpack_to_json_value (NULL, 0, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    //  Truncated map, trailing bytes, a never-used byte, an array claiming
    //  4 billion items in five bytes
    const uint8_t truncated [] = { 0x81, 0xa1, 'a' };
    const uint8_t trailing [] = { 0x80, 0x01 };
    const uint8_t unused [] = { 0xc1 };
    const uint8_t huge [] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
    cr_assert_null (zjob_msgpack_to_json_value (truncated, sizeof truncated, &err));
    cr_assert_not_null (strstr (err.text, "not one msgpack value"), "%s", err.text);
    cr_assert_null (zjob_msgpack_to_json_value (trailing, sizeof trailing, &err));
    cr_assert_null (zjob_msgpack_to_json_value (unused, sizeof unused, &err));
    cr_assert_null (zjob_msgpack_to_json (huge, sizeof huge, 0, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
}

Test (zjob_json, value_level_functions)
{
    zjob_error_t err;
    json_t *value = zjob_json_parse ("{\"k\": [1, 2.5, \"s\"]}", true, &err);
    cr_assert_not_null (value, "%s", err.text);

    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    cr_assert_eq (zjob_json_value_to_msgpack (value, &pk), 0);
    json_t *back = zjob_msgpack_to_json_value ((uint8_t *) buffer.data, buffer.size, &err);
    cr_assert_not_null (back, "%s", err.text);
    cr_assert (json_equal (value, back));
    msgpack_sbuffer_destroy (&buffer);

    uint8_t *data;
    size_t size;
    cr_assert_eq (zjob_json_value_encode (back, &data, &size, &err), 0);
    cr_assert (zjob_msgpack_is_map (data, size));
    free (data);

    char *text = zjob_json_dumps (back, ZJOB_JSON_COMPACT);
    cr_assert_str_eq (text, "{\"k\":[1,2.5,\"s\"]}");
    free (text);
    json_decref (value);
    json_decref (back);
    cr_assert_null (zjob_json_dumps (NULL, 0));
    cr_assert_eq (zjob_json_value_to_msgpack (NULL, &pk), -1);
}

Test (zjob_json, iso_time)
{
    char buf [ZJOB_ISO_TIME_LEN];
    cr_assert_str_eq (zjob_iso_time (0, buf), "1970-01-01T00:00:00.000Z");
    cr_assert_str_eq (zjob_iso_time (1706704496789LL, buf), "2024-01-31T12:34:56.789Z");
    cr_assert_str_eq (zjob_iso_time (-1, buf), "1969-12-31T23:59:59.999Z");
}

Test (zjob_json, job_to_json)
{
    uint8_t *inputs;
    size_t inputs_size;
    zjob_error_t err;
    cr_assert_eq (zjob_json_to_msgpack ("{\"n\": 3, \"name\": \"x\"}", &inputs, &inputs_size,
                                        &err),
                  0);
    const char *tags [] = { "red", "big" };
    zjob_spec_t spec = {
        .workflow_id = "resize", .inputs = inputs, .inputs_size = inputs_size, .priority = ZJOB_PRIORITY_HIGH, .user_id = "ann", .tags = tags, .tag_count = 2
    };
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    free (inputs);

    json_t *object = zjob_job_to_json (job);
    cr_assert_not_null (object);
    cr_assert_str_eq (json_string_value (json_object_get (object, "id")), job->id);
    cr_assert_str_eq (json_string_value (json_object_get (object, "workflow_id")), "resize");
    cr_assert_str_eq (json_string_value (json_object_get (object, "status")), "created");
    cr_assert_str_eq (json_string_value (json_object_get (object, "priority")), "high");
    cr_assert_str_eq (json_string_value (json_object_get (object, "user_id")), "ann");
    cr_assert_eq (json_array_size (json_object_get (object, "tags")), 2);
    json_t *inputs_json = json_object_get (object, "inputs");
    cr_assert_eq (json_integer_value (json_object_get (inputs_json, "n")), 3);
    cr_assert (json_is_null (json_object_get (object, "outputs")));
    cr_assert (json_is_object (json_object_get (object, "metadata")));
    cr_assert (json_is_null (json_object_get (object, "error")));
    cr_assert (json_is_null (json_object_get (object, "started_at")));
    cr_assert_eq (json_integer_value (json_object_get (object, "started_at_ms")), 0);
    char iso [ZJOB_ISO_TIME_LEN];
    cr_assert_str_eq (json_string_value (json_object_get (object, "created_at")),
                      zjob_iso_time (job->created_at, iso));
    cr_assert_eq (json_integer_value (json_object_get (object, "created_at_ms")), job->created_at);
    json_decref (object);

    //  A failed job with outputs, progress and an error
    uint8_t *outputs;
    size_t outputs_size;
    cr_assert_eq (zjob_json_to_msgpack ("{\"ok\": false}", &outputs, &outputs_size, &err), 0);
    cr_assert_eq (zjob_job_set_outputs (job, outputs, outputs_size, &err), 0, "%s", err.text);
    free (outputs);
    cr_assert_eq (zjob_job_set_progress (job, 0.3f, "a third", &err), 0);
    zjob_job_set_error (job, "timeout", "took too long");
    zjob_job_set_worker (job, "w-1");
    job->status = ZJOB_FAILED;
    job->attempts = 2;

    object = zjob_job_to_json (job);
    char *text = zjob_json_dumps (json_object_get (object, "outputs"), 0);
    cr_assert_str_eq (text, "{\"ok\":false}");
    free (text);
    text = zjob_json_dumps (json_object_get (object, "progress"), 0);
    cr_assert_str_eq (text, "0.3");
    free (text);
    cr_assert_str_eq (json_string_value (json_object_get (object, "status")), "failed");
    cr_assert_str_eq (json_string_value (json_object_get (object, "progress_message")), "a third");
    json_t *error = json_object_get (object, "error");
    cr_assert_str_eq (json_string_value (json_object_get (error, "kind")), "timeout");
    cr_assert_str_eq (json_string_value (json_object_get (error, "message")), "took too long");
    cr_assert_eq (json_integer_value (json_object_get (object, "attempts")), 2);
    cr_assert_str_eq (json_string_value (json_object_get (object, "worker_id")), "w-1");
    json_decref (object);
    zjob_job_destroy (&job);
    cr_assert_null (zjob_job_to_json (NULL));
}

//  A job's retry policy, attempt errors and winning attempt, set as the
//  broker's codec will (the job's own fields), seen through the accessors
Test (zjob_json, job_policy_errors_and_result_attempt)
{
    zjob_spec_t spec = { .workflow_id = "resize", .priority = ZJOB_PRIORITY_UNSET };
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);

    //  No policy resolved, no errors: nulls, zeros and an empty array
    json_t *object = zjob_job_to_json (job);
    cr_assert (json_is_null (json_object_get (object, "backoff")));
    cr_assert (json_is_null (json_object_get (object, "jitter")));
    cr_assert_eq (json_integer_value (json_object_get (object, "timeout_ms")), 0);
    cr_assert_eq (json_array_size (json_object_get (object, "errors")), 0);
    cr_assert (json_is_array (json_object_get (object, "no_retry")));
    cr_assert (json_is_null (json_object_get (object, "result_attempt")));
    json_decref (object);

    zjob_policy_t *policy = (zjob_policy_t *) calloc (1, sizeof (zjob_policy_t));
    policy->refs = 1;
    policy->backoff = ZJOB_BACKOFF_EXPONENTIAL;
    policy->jitter = ZJOB_JITTER_NONE;
    policy->backoff_base_ms = 1000;
    policy->backoff_max_ms = 300000;
    policy->backoff_factor = 2.5f;
    policy->timeout_ms = 30000;
    policy->heartbeat_timeout_ms = 10000;
    policy->no_retry = (char **) calloc (2, sizeof (char *));
    policy->no_retry [0] = strdup ("bad_input");
    policy->no_retry [1] = strdup ("quota");
    policy->no_retry_count = 2;
    job->policy = policy;
    zjob_history_t *history = (zjob_history_t *) calloc (
        1, sizeof (zjob_history_t) + 2 * sizeof (zjob_error_entry_t));
    history->count = 2;
    history->entries [0] = (zjob_error_entry_t){ 1, strdup ("timeout"), strdup ("ran longer than 30s"),
                                                 strdup ("gpu-1"), 1706704496789LL };
    history->entries [1] = (zjob_error_entry_t){ 2, strdup ("worker_lost"), NULL, NULL, 1706704500000LL };
    job->history = history;
    job->result_attempt = 3;

    object = zjob_job_to_json (job);
    cr_assert_str_eq (json_string_value (json_object_get (object, "backoff")), "exponential");
    cr_assert_str_eq (json_string_value (json_object_get (object, "jitter")), "none");
    cr_assert_eq (json_integer_value (json_object_get (object, "backoff_base_ms")), 1000);
    cr_assert_eq (json_integer_value (json_object_get (object, "backoff_max_ms")), 300000);
    char *text = zjob_json_dumps (json_object_get (object, "backoff_factor"), 0);
    cr_assert_str_eq (text, "2.5");
    free (text);
    cr_assert_eq (json_integer_value (json_object_get (object, "timeout_ms")), 30000);
    cr_assert_eq (json_integer_value (json_object_get (object, "heartbeat_timeout_ms")), 10000);
    json_t *kinds = json_object_get (object, "no_retry");
    cr_assert_eq (json_array_size (kinds), 2);
    cr_assert_str_eq (json_string_value (json_array_get (kinds, 1)), "quota");
    json_t *errors = json_object_get (object, "errors");
    cr_assert_eq (json_array_size (errors), 2);
    json_t *first = json_array_get (errors, 0);
    cr_assert_eq (json_integer_value (json_object_get (first, "attempt")), 1);
    cr_assert_str_eq (json_string_value (json_object_get (first, "kind")), "timeout");
    cr_assert_str_eq (json_string_value (json_object_get (first, "message")), "ran longer than 30s");
    cr_assert_str_eq (json_string_value (json_object_get (first, "worker_id")), "gpu-1");
    cr_assert_str_eq (json_string_value (json_object_get (first, "at")), "2024-01-31T12:34:56.789Z");
    cr_assert_eq (json_integer_value (json_object_get (first, "at_ms")), 1706704496789LL);
    json_t *second = json_array_get (errors, 1);
    cr_assert (json_is_null (json_object_get (second, "message")));
    cr_assert (json_is_null (json_object_get (second, "worker_id")));
    cr_assert_eq (json_integer_value (json_object_get (object, "result_attempt")), 3);
    json_decref (object);
    zjob_job_destroy (&job);
}

//  The workflow fields show only when set, parent outputs as JSON maps
Test (zjob_json, job_workflow_fields)
{
    zjob_spec_t plain_spec = { .workflow_id = "w" };
    zjob_job_t *plain = zjob_job_new (&plain_spec, NULL);
    json_t *object = zjob_job_to_json (plain);
    const char *keys [] = { "parents", "on_parent_failure", "parent_outputs", "batch_id",
                            "template", "schedule_id", "scheduled_for", "unique_key" };
    for (size_t index = 0; index < sizeof keys / sizeof keys [0]; index++)
        cr_assert_null (json_object_get (object, keys [index]), "%s on a plain job", keys [index]);
    json_decref (object);
    zjob_job_destroy (&plain);

    const char *parents [] = { "0000000000000000000A", "0000000000000000000B" };
    zjob_spec_t spec = { .workflow_id = "w", .depends_on = parents, .depends_on_count = 2, .on_parent_failure = ZJOB_ON_PARENT_CANCEL, .batch_id = "b1", .template_name = "t1", .schedule_id = "s1", .scheduled_for = 1700000000000, .unique_key = "u1" };
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    //  {A: bin {"rows": 3}, B: nil}
    uint8_t *outputs;
    size_t outputs_size;
    cr_assert_eq (zjob_json_to_msgpack ("{\"rows\": 3}", &outputs, &outputs_size, &err), 0);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, parents [0], 20);
    msgpack_pack_bin_with_body (&pk, outputs, outputs_size);
    msgpack_pack_str_with_body (&pk, parents [1], 20);
    msgpack_pack_nil (&pk);
    free (outputs);
    cr_assert_eq (zjob_job_set_parent_outputs (job, (const uint8_t *) buffer.data, buffer.size,
                                               &err),
                  0, "%s", err.text);
    msgpack_sbuffer_destroy (&buffer);
    job->status = ZJOB_WAITING;

    object = zjob_job_to_json (job);
    cr_assert_str_eq (json_string_value (json_object_get (object, "status")), "waiting");
    json_t *list = json_object_get (object, "parents");
    cr_assert_eq (json_array_size (list), 2);
    cr_assert_str_eq (json_string_value (json_array_get (list, 1)), parents [1]);
    cr_assert_str_eq (json_string_value (json_object_get (object, "on_parent_failure")), "cancel");
    char *text = zjob_json_dumps (json_object_get (object, "parent_outputs"), ZJOB_JSON_COMPACT);
    cr_assert_str_eq (text, "{\"0000000000000000000A\":{\"rows\":3},\"0000000000000000000B\":null}");
    free (text);
    cr_assert_str_eq (json_string_value (json_object_get (object, "batch_id")), "b1");
    cr_assert_str_eq (json_string_value (json_object_get (object, "template")), "t1");
    cr_assert_str_eq (json_string_value (json_object_get (object, "schedule_id")), "s1");
    cr_assert_str_eq (json_string_value (json_object_get (object, "unique_key")), "u1");
    cr_assert_eq (json_integer_value (json_object_get (object, "scheduled_for_ms")), 1700000000000);
    char iso [ZJOB_ISO_TIME_LEN];
    cr_assert_str_eq (json_string_value (json_object_get (object, "scheduled_for")),
                      zjob_iso_time (1700000000000, iso));
    json_decref (object);
    zjob_job_destroy (&job);
}
