/*  =========================================================================
    zjob_json - JSON <-> msgpack for inputs, outputs and printed jobs

    The mapping is in zjob_json.h. Two points of the implementation:

    Untrusted msgpack. msgpack-c sizes a container's array from its header
    before reading the items, so a few bytes can ask for gigabytes. Bytes
    are therefore first walked without allocation by zjob_msgpack_is_map
    (common/zjob_job.c), which also stops at msgpack-c's nesting limit; a
    value that is not a map is checked the same way inside a one-entry map
    built around it.

    Printing reals. jansson prints a real with 17 significant digits, which
    is exact but shows 0.3 as 0.29999999999999999. zjob_json_dumps picks
    the smallest precision from 15 to 17 at which every real of the value
    reads back as the same double: 0.3 prints as 0.3, and no value ever
    prints as another.
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <czmq.h>
#include <msgpack/unpack_define.h>  //  MSGPACK_EMBED_STACK_SIZE
#include "zjob_json.h"
#include "zjob_job_impl.h"

_Static_assert(ZJOB_JSON_DEPTH_MAX == MSGPACK_EMBED_STACK_SIZE,
               "JSON nesting must stop where msgpack-c's readers stop");


//  --------------------------------------------------------------------------
//  JSON -> msgpack

static const char *
s_type_name (const json_t *value)
{
    switch (json_typeof (value)) {
        case JSON_OBJECT: return "an object";
        case JSON_ARRAY: return "an array";
        case JSON_STRING: return "a string";
        case JSON_INTEGER: return "an integer";
        case JSON_REAL: return "a real number";
        case JSON_TRUE: return "true";
        case JSON_FALSE: return "false";
        case JSON_NULL: return "null";
    }
    return "a value";
}

json_t *
zjob_json_parse (const char *json_text, bool object_only, zjob_error_t *err)
{
    if (!json_text)
        json_text = "";
    //  Whitespace only: say what is expected rather than "end of file"
    if (json_text [strspn (json_text, " \t\r\n")] == '\0') {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "no JSON given: expected %s such as {\"x\": 1}",
                        object_only ? "an object" : "a value");
        return NULL;
    }
    json_error_t jerr;
    json_t *value = json_loads (json_text, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
    if (!value) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "invalid JSON at line %d column %d: %s",
                        jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (object_only && !json_is_object (value)) {
        zjob_error_set (err, ZJOB_BAD_REQUEST,
                        "expected a JSON object such as {\"x\": 1}, got %s", s_type_name (value));
        json_decref (value);
        return NULL;
    }
    return value;
}

static int
s_pack_value (json_t *value, msgpack_packer *pk, int depth)
{
    switch (json_typeof (value)) {
        case JSON_NULL:
            return msgpack_pack_nil (pk);
        case JSON_TRUE:
            return msgpack_pack_true (pk);
        case JSON_FALSE:
            return msgpack_pack_false (pk);
        case JSON_INTEGER:
            //  msgpack-c writes the shortest int form for the value
            return msgpack_pack_int64 (pk, (int64_t) json_integer_value (value));
        case JSON_REAL:
            return msgpack_pack_double (pk, json_real_value (value));
        case JSON_STRING: {
            size_t length = json_string_length (value);
            if (msgpack_pack_str (pk, length))
                return -1;
            return msgpack_pack_str_body (pk, json_string_value (value), length);
        }
        case JSON_ARRAY: {
            if (depth >= ZJOB_JSON_DEPTH_MAX)
                return -1;
            size_t size = json_array_size (value);
            if (msgpack_pack_array (pk, size))
                return -1;
            for (size_t index = 0; index < size; index++)
                if (s_pack_value (json_array_get (value, index), pk, depth + 1))
                    return -1;
            return 0;
        }
        case JSON_OBJECT: {
            if (depth >= ZJOB_JSON_DEPTH_MAX)
                return -1;
            if (msgpack_pack_map (pk, json_object_size (value)))
                return -1;
            const char *key;
            size_t key_len;
            json_t *member;
            json_object_keylen_foreach (value, key, key_len, member)
            {
                if (msgpack_pack_str (pk, key_len)
                    || msgpack_pack_str_body (pk, key, key_len)
                    || s_pack_value (member, pk, depth + 1))
                    return -1;
            }
            return 0;
        }
    }
    return -1;
}

//  Deepest container nesting of value (0 for a scalar)
static int
s_depth (json_t *value)
{
    int deepest = 0;
    if (json_is_array (value)) {
        for (size_t index = 0; index < json_array_size (value); index++) {
            int depth = s_depth (json_array_get (value, index));
            if (depth > deepest)
                deepest = depth;
        }
        return deepest + 1;
    }
    if (json_is_object (value)) {
        const char *key;
        json_t *member;
        json_object_foreach (value, key, member)
        {
            int depth = s_depth (member);
            if (depth > deepest)
                deepest = depth;
        }
        return deepest + 1;
    }
    return 0;
}

int
zjob_json_value_to_msgpack (json_t *value, msgpack_packer *pk)
{
    if (!value || !pk)
        return -1;
    return s_pack_value (value, pk, 0) ? -1 : 0;
}

int
zjob_json_value_encode (json_t *value, uint8_t **data_p, size_t *size_p, zjob_error_t *err)
{
    if (!value || !data_p || !size_p)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "no JSON value to encode");
    int depth = s_depth (value);
    if (depth > ZJOB_JSON_DEPTH_MAX)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "JSON nested %d levels deep, at most %d are allowed",
                               depth, ZJOB_JSON_DEPTH_MAX);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    if (zjob_json_value_to_msgpack (value, &pk)) {
        msgpack_sbuffer_destroy (&buffer);
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory encoding JSON");
    }
    *size_p = buffer.size;  //  release zeroes it
    *data_p = (uint8_t *) msgpack_sbuffer_release (&buffer);
    return 0;
}

static int
s_text_to_msgpack (const char *json_text, bool object_only, uint8_t **data_p, size_t *size_p,
                   zjob_error_t *err)
{
    json_t *value = zjob_json_parse (json_text, object_only, err);
    if (!value)
        return -1;
    int rc = zjob_json_value_encode (value, data_p, size_p, err);
    json_decref (value);
    return rc;
}

int
zjob_json_to_msgpack (const char *json_text, uint8_t **data_p, size_t *size_p,
                      zjob_error_t *err)
{
    return s_text_to_msgpack (json_text, true, data_p, size_p, err);
}

int
zjob_json_any_to_msgpack (const char *json_text, uint8_t **data_p, size_t *size_p,
                          zjob_error_t *err)
{
    return s_text_to_msgpack (json_text, false, data_p, size_p, err);
}


//  --------------------------------------------------------------------------
//  msgpack -> JSON

static json_t *
s_base64 (const char *data, size_t size)
{
    if (size == 0)
        return json_string ("");
    zarmour_t *armour = zarmour_new ();  //  Base64, padded, no line breaks
    if (!armour)
        return NULL;
    char *text = zarmour_encode (armour, (const byte *) data, size);
    zarmour_destroy (&armour);
    if (!text)
        return NULL;
    json_t *string = json_string (text);
    zstr_free (&text);
    return string;
}

//  A str or bin as a string: its text when UTF-8, else its base64
static json_t *
s_bytes (const char *data, size_t size)
{
    if (size == 0)
        return json_string ("");
    json_t *string = json_stringn (data, size);  //  NULL unless valid UTF-8
    return string ? string : s_base64 (data, size);
}

//  Keys inside keys stringified as JSON text at most this deep; deeper, a
//  key is the base64 of its msgpack. Each level's text holds the next
//  one's escaped, which doubles its backslashes: 32 levels of maps as
//  keys (168 bytes) made gigabytes. Base64 has nothing to escape.
#define S_KEY_TEXT_DEPTH 2

static json_t *
s_to_json (const msgpack_object *obj, int key_depth);

//  A key that is not a str or bin, as a string: its compact JSON text,
//  or past S_KEY_TEXT_DEPTH keys inside keys, the base64 of its msgpack
static json_t *
s_key_name (const msgpack_object *key, int key_depth)
{
    if (key_depth >= S_KEY_TEXT_DEPTH) {
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        msgpack_packer packer;
        msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
        json_t *name = msgpack_pack_object (&packer, *key) == 0
            ? s_base64 (buffer.data, buffer.size)
            : NULL;
        msgpack_sbuffer_destroy (&buffer);
        return name;
    }
    json_t *key_json = s_to_json (key, key_depth + 1);
    char *text = key_json ? zjob_json_dumps (key_json, ZJOB_JSON_COMPACT) : NULL;
    json_decref (key_json);
    json_t *name = text ? json_string (text) : NULL;
    free (text);
    return name;
}

json_t *
zjob_msgpack_object_to_json (const msgpack_object *obj)
{
    return s_to_json (obj, 0);
}

//  obj as JSON, inside key_depth keys being stringified
static json_t *
s_to_json (const msgpack_object *obj, int key_depth)
{
    if (!obj)
        return NULL;
    switch (obj->type) {
        case MSGPACK_OBJECT_NIL:
            return json_null ();
        case MSGPACK_OBJECT_BOOLEAN:
            return json_boolean (obj->via.boolean);
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            if (obj->via.u64 > (uint64_t) INT64_MAX) {
                char digits [24];
                snprintf (digits, sizeof digits, "%" PRIu64, obj->via.u64);
                return json_string (digits);
            }
            return json_integer ((json_int_t) obj->via.u64);
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            return json_integer ((json_int_t) obj->via.i64);
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            return isfinite (obj->via.f64) ? json_real (obj->via.f64) : json_null ();
        case MSGPACK_OBJECT_STR:
            return s_bytes (obj->via.str.ptr, obj->via.str.size);
        case MSGPACK_OBJECT_BIN:
            return s_bytes (obj->via.bin.ptr, obj->via.bin.size);
        case MSGPACK_OBJECT_EXT: {
            json_t *data = s_base64 (obj->via.ext.ptr, obj->via.ext.size);
            if (!data)
                return NULL;
            return json_pack ("{s:i, s:o}", "$ext", (int) obj->via.ext.type, "data", data);
        }
        case MSGPACK_OBJECT_ARRAY: {
            json_t *array = json_array ();
            for (uint32_t index = 0; array && index < obj->via.array.size; index++)
                if (json_array_append_new (array,
                                           s_to_json (&obj->via.array.ptr [index], key_depth)))
                    json_decref (array), array = NULL;
            return array;
        }
        case MSGPACK_OBJECT_MAP: {
            json_t *object = json_object ();
            for (uint32_t index = 0; object && index < obj->via.map.size; index++) {
                const msgpack_object *key = &obj->via.map.ptr [index].key;
                json_t *value = s_to_json (&obj->via.map.ptr [index].val, key_depth);
                json_t *name = key->type == MSGPACK_OBJECT_STR || key->type == MSGPACK_OBJECT_BIN
                    ? s_bytes (key->via.str.ptr, key->via.str.size)
                    : s_key_name (key, key_depth);
                int rc = name && value
                    ? json_object_setn_new (object, json_string_value (name),
                                            json_string_length (name), value)
                    : (json_decref (value), -1);
                json_decref (name);
                if (rc)
                    json_decref (object), object = NULL;
            }
            return object;
        }
    }
    return NULL;
}

//  True if size bytes at data are exactly one msgpack value that msgpack-c
//  can unpack without unbounded allocation (see the banner)
static bool
s_msgpack_safe (const uint8_t *data, size_t size)
{
    uint8_t byte = data [0];
    if ((byte >= 0x80 && byte <= 0x8f) || byte == 0xde || byte == 0xdf)
        return zjob_msgpack_is_map (data, size);
    //  Check any other value as the one value of {"": value}
    uint8_t *wrapped = (uint8_t *) malloc (size + 2);
    if (!wrapped)
        return false;
    wrapped [0] = 0x81;  //  fixmap of one entry
    wrapped [1] = 0xa0;  //  key: empty fixstr
    memcpy (wrapped + 2, data, size);
    bool safe = zjob_msgpack_is_map (wrapped, size + 2);
    free (wrapped);
    return safe;
}

json_t *
zjob_msgpack_to_json_value (const uint8_t *data, size_t size, zjob_error_t *err)
{
    if (!data || size == 0) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "no msgpack data to convert");
        return NULL;
    }
    if (!s_msgpack_safe (data, size)) {
        zjob_error_set (err, ZJOB_BAD_REQUEST,
                        "not one msgpack value (%zu bytes: corrupt, truncated, followed by "
                        "more bytes, or nested deeper than %d)",
                        size, ZJOB_JSON_DEPTH_MAX);
        return NULL;
    }
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    json_t *value = NULL;
    msgpack_unpack_return rc = msgpack_unpack_next (&unpacked, (const char *) data, size, &offset);
    if (rc == MSGPACK_UNPACK_SUCCESS && offset == size) {
        value = zjob_msgpack_object_to_json (&unpacked.data);
        if (!value)
            zjob_error_set (err, ZJOB_INTERNAL, "out of memory converting msgpack to JSON");
    }
    else
        zjob_error_set (err, ZJOB_BAD_REQUEST, "msgpack data could not be unpacked");
    msgpack_unpacked_destroy (&unpacked);
    return value;
}

//  True if every real in value prints at precision digits and reads back
//  as the same double
static bool
s_reals_exact (const json_t *value, int precision)
{
    if (json_is_real (value)) {
        char text [40];
        double real = json_real_value (value);
        snprintf (text, sizeof text, "%.*g", precision, real);
        return strtod (text, NULL) == real;
    }
    if (json_is_array (value)) {
        for (size_t index = 0; index < json_array_size (value); index++)
            if (!s_reals_exact (json_array_get (value, index), precision))
                return false;
        return true;
    }
    if (json_is_object (value)) {
        const char *key;
        json_t *member;
        json_object_foreach ((json_t *) value, key, member) if (!s_reals_exact (member, precision)) return false;
    }
    return true;
}

char *
zjob_json_dumps (const json_t *value, int flags)
{
    if (!value)
        return NULL;
    size_t jflags = JSON_ENCODE_ANY;
    if (flags & ZJOB_JSON_PRETTY)
        jflags |= JSON_INDENT (2);
    else
        jflags |= JSON_COMPACT;
    if (flags & ZJOB_JSON_ASCII)
        jflags |= JSON_ENSURE_ASCII;
    int precision = 15;
    while (precision < 17 && !s_reals_exact (value, precision))
        precision++;
    jflags |= JSON_REAL_PRECISION (precision);
    return json_dumps (value, jflags);
}

char *
zjob_msgpack_to_json (const uint8_t *data, size_t size, int flags, zjob_error_t *err)
{
    json_t *value = zjob_msgpack_to_json_value (data, size, err);
    if (!value)
        return NULL;
    char *text = zjob_json_dumps (value, flags);
    json_decref (value);
    if (!text)
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory printing JSON");
    return text;
}


//  --------------------------------------------------------------------------
//  Jobs

char *
zjob_iso_time (int64_t ms, char *buf)
{
    //  Floor division, so times before 1970 stay right
    int64_t seconds = ms / 1000;
    int64_t millis = ms % 1000;
    if (millis < 0) {
        millis += 1000;
        seconds--;
    }
    time_t when = (time_t) seconds;
    struct tm tm;
    if (!gmtime_r (&when, &tm))
        memset (&tm, 0, sizeof tm);
    size_t length = strftime (buf, ZJOB_ISO_TIME_LEN - 5, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf (buf + length, 6, ".%03dZ", (int) millis);
    return buf;
}

//  Set name (ISO string, null while 0) and name_ms (raw msecs) on object
static int
s_set_time (json_t *object, const char *name, int64_t ms)
{
    char key [64];
    snprintf (key, sizeof key, "%s_ms", name);
    char iso [ZJOB_ISO_TIME_LEN];
    return json_object_set_new (object, name, ms ? json_string (zjob_iso_time (ms, iso)) : json_null ())
        || json_object_set_new (object, key, json_integer (ms));
}

//  text as a JSON string, or null for NULL. A job read from a journal or
//  a peer may carry bytes that are not UTF-8 (jansson refuses them): each
//  byte of such a text past ASCII is then shown as '?', rather than the
//  text failing the whole job (and leaking what json_pack had built)
static json_t *
s_string_or_null (const char *text)
{
    if (!text)
        return json_null ();
    json_t *string = json_string (text);
    if (string)
        return string;
    char *copy = strdup (text);
    for (char *scan = copy; scan && *scan; scan++)
        if ((unsigned char) *scan >= 0x80)
            *scan = '?';
    string = copy ? json_string (copy) : NULL;
    free (copy);
    return string ? string : json_null ();
}

//  Inputs, metadata or outputs as JSON; empty bytes as empty_value
static json_t *
s_data (const zjob_bytes_t *bytes, json_t *empty_value)
{
    if (!bytes->data || bytes->size == 0)
        return empty_value;
    json_decref (empty_value);
    json_t *value = zjob_msgpack_to_json_value (bytes->data, bytes->size, NULL);
    //  The job model only holds valid maps; null marks what is not
    return value ? value : json_null ();
}

//  The retry policy and timeouts, under their SUBMIT spec keys (so that
//  a job's JSON can be submitted again): names for the kinds (null when
//  no policy was resolved), numbers for the rest, 0 for "none"
static int
s_set_policy (json_t *object, const zjob_job_t *job)
{
    size_t count = 0;
    const char *const *kinds = zjob_job_no_retry (job, &count);
    json_t *no_retry = json_array ();
    for (size_t index = 0; no_retry && kinds && index < count; index++)
        json_array_append_new (no_retry, json_string (kinds [index]));
    //  As a float's few first decimals: 2.5, not 2.5000000001
    double factor = (double) (int64_t) (zjob_job_backoff_factor (job) * 1000.0 + 0.5) / 1000.0;
    return !no_retry
        || json_object_set_new (object, "backoff",
                                s_string_or_null (zjob_backoff_name (zjob_job_backoff (job))))
        || json_object_set_new (object, "backoff_base_ms",
                                json_integer (zjob_job_backoff_base_ms (job)))
        || json_object_set_new (object, "backoff_factor", json_real (factor))
        || json_object_set_new (object, "backoff_max_ms",
                                json_integer (zjob_job_backoff_max_ms (job)))
        || json_object_set_new (object, "jitter",
                                s_string_or_null (zjob_jitter_name (zjob_job_jitter (job))))
        || json_object_set_new (object, "no_retry", no_retry)
        || json_object_set_new (object, "timeout_ms", json_integer (zjob_job_timeout_ms (job)))
        || json_object_set_new (object, "heartbeat_timeout_ms",
                                json_integer (zjob_job_heartbeat_timeout_ms (job)));
}

//  The attempt errors, oldest first, and the attempt whose result won
static int
s_set_errors (json_t *object, const zjob_job_t *job)
{
    json_t *errors = json_array ();
    size_t count = zjob_job_error_count (job);
    for (size_t index = 0; errors && index < count; index++) {
        zjob_attempt_error_t entry;
        if (zjob_job_error_at (job, index, &entry))
            continue;
        json_t *item = json_pack ("{s:I, s:o, s:o, s:o}", "attempt", (json_int_t) entry.attempt,
                                  "kind", s_string_or_null (entry.kind ? entry.kind : ""),
                                  "message", s_string_or_null (entry.message),
                                  "worker_id", s_string_or_null (entry.worker_id));
        if (!item || s_set_time (item, "at", entry.at) || json_array_append_new (errors, item)) {
            json_decref (errors);
            return -1;
        }
    }
    uint32_t won = zjob_job_result_attempt (job);
    return !errors || json_object_set_new (object, "errors", errors)
        || json_object_set_new (object, "result_attempt", won ? json_integer (won) : json_null ());
}

//  The parents' outputs, {parent id: outputs map | null}, as JSON: each
//  value is a bin holding the parent's encoded outputs, shown as the map
static json_t *
s_parent_outputs (const uint8_t *data, size_t size)
{
    if (!s_msgpack_safe (data, size))
        return json_null ();
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    json_t *map = NULL;
    if (msgpack_unpack_next (&unpacked, (const char *) data, size, &offset) == MSGPACK_UNPACK_SUCCESS
        && unpacked.data.type == MSGPACK_OBJECT_MAP)
        map = json_object ();
    for (uint32_t index = 0; map && index < unpacked.data.via.map.size; index++) {
        const msgpack_object_kv *kv = &unpacked.data.via.map.ptr [index];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            continue;
        json_t *value = kv->val.type == MSGPACK_OBJECT_BIN && kv->val.via.bin.size
            ? zjob_msgpack_to_json_value ((const uint8_t *) kv->val.via.bin.ptr,
                                          kv->val.via.bin.size, NULL)
            : json_null ();
        if (json_object_setn_new (map, kv->key.via.str.ptr, kv->key.via.str.size,
                                  value ? value : json_null ()))
            json_decref (map), map = NULL;
    }
    msgpack_unpacked_destroy (&unpacked);
    return map ? map : json_null ();
}

//  The workflow fields, only those set (a plain job's JSON is unchanged)
static int
s_set_workflow (json_t *object, const zjob_job_t *job)
{
    size_t count = 0;
    const char *const *parents = zjob_job_parents (job, &count);
    int rc = 0;
    if (count) {
        json_t *array = json_array ();
        for (size_t index = 0; array && index < count; index++)
            json_array_append_new (array, json_string (parents [index]));
        rc = !array || json_object_set_new (object, "parents", array)
            || json_object_set_new (
                object, "on_parent_failure",
                json_string (zjob_on_parent_name (zjob_job_on_parent_failure (job))));
    }
    size_t outputs_size = 0;
    const uint8_t *outputs = zjob_job_parent_outputs (job, &outputs_size);
    if (!rc && outputs)
        rc = json_object_set_new (object, "parent_outputs",
                                  s_parent_outputs (outputs, outputs_size));
    const char *keys [] = { "batch_id", "template", "schedule_id", "unique_key" };
    const char *values [] = { zjob_job_batch (job), zjob_job_template (job),
                              zjob_job_schedule (job), zjob_job_unique_key (job) };
    for (size_t index = 0; !rc && index < 4; index++)
        if (values [index])
            rc = json_object_set_new (object, keys [index], json_string (values [index]));
    if (!rc && zjob_job_scheduled_for (job))
        rc = s_set_time (object, "scheduled_for", zjob_job_scheduled_for (job));
    return rc;
}

json_t *
zjob_job_to_json (const zjob_job_t *job)
{
    if (!job)
        return NULL;
    json_t *object = json_object ();
    json_t *tags = json_array ();
    if (!object || !tags) {
        json_decref (object);
        json_decref (tags);
        return NULL;
    }
    for (size_t index = 0; index < job->tag_count; index++)
        json_array_append_new (tags, json_string (job->tags [index]));

    json_t *error = json_null ();
    if (job->error_kind || job->error_message)
        error = json_pack ("{s:o, s:o}", "kind", s_string_or_null (job->error_kind),
                           "message", s_string_or_null (job->error_message));
    //  A float progress shows as its 4 first decimals, 0.3 and not 0.300000012
    //  (rounded by hand: libzjob does not link libm for one call)
    double progress = job->progress > 0
        ? (double) (int64_t) ((double) job->progress * 10000.0 + 0.5) / 10000.0
        : 0.0;

    int rc = json_object_set_new (object, "id", json_string (job->id))
        || json_object_set_new (object, "workflow_id", json_string (job->workflow_id))
        || json_object_set_new (object, "status",
                                json_string (zjob_status_name ((zjob_status_t) job->status)))
        || json_object_set_new (object, "priority",
                                json_string (zjob_priority_name ((zjob_priority_t) job->priority)))
        || json_object_set_new (object, "user_id", s_string_or_null (job->user_id))
        || json_object_set_new (object, "tags", tags)
        || json_object_set_new (object, "inputs", s_data (&job->inputs, json_object ()))
        || json_object_set_new (object, "outputs", s_data (&job->outputs, json_null ()))
        || json_object_set_new (object, "metadata", s_data (&job->metadata, json_object ()))
        || json_object_set_new (object, "progress", json_real (progress))
        || json_object_set_new (object, "progress_message",
                                s_string_or_null (job->progress_message))
        || json_object_set_new (object, "error", error)
        || json_object_set_new (object, "attempts", json_integer (job->attempts))
        || json_object_set_new (object, "max_attempts", json_integer (job->max_attempts))
        || json_object_set_new (object, "worker_id", s_string_or_null (job->worker_id))
        || json_object_set_new (object, "idempotency_key",
                                s_string_or_null (job->idempotency_key))
        || s_set_time (object, "created_at", job->created_at)
        || s_set_time (object, "updated_at", job->updated_at)
        || s_set_time (object, "queued_at", job->queued_at)
        || s_set_time (object, "started_at", job->started_at)
        || s_set_time (object, "completed_at", job->completed_at)
        || s_set_time (object, "run_at", job->run_at)
        || json_object_set_new (object, "execution_ms", json_integer (job->execution_ms))
        || json_object_set_new (object, "queued_ms", json_integer (job->queued_ms))
        || s_set_policy (object, job) || s_set_errors (object, job)
        || s_set_workflow (object, job);
    if (rc) {
        json_decref (object);
        return NULL;
    }
    return object;
}
