/*  =========================================================================
    zjob_json - JSON <-> msgpack for inputs, outputs and printed jobs

    People and scripts write job inputs as JSON and read jobs and outputs
    as JSON; the broker and workers carry msgpack. This module converts
    between the two with jansson (parsing, printing, UTF-8 checks) and
    msgpack-c (packing, unpacking): nothing is parsed or printed by hand.

    JSON -> msgpack
        null, true, false       nil, true, false
        integer                 the smallest msgpack int that holds it;
                                jansson reads integers as int64, so one
                                beyond int64 is refused ("too big integer"):
                                write it as a string or as a real
        real                    float64
        string                  str (UTF-8; "\u0000" is allowed)
        array, object           array, map with str keys, in document order
    Containers may nest MSGPACK_EMBED_STACK_SIZE (32) deep, the limit of
    every msgpack-c reader; deeper input is refused here, with a message,
    rather than accepted and then unreadable by the broker.

    msgpack -> JSON
        nil, bool               null, true/false
        int                     integer; a uint64 above INT64_MAX, which
                                jansson cannot hold, becomes a string of its
                                exact decimal digits ("18446744073709551615")
        float32, float64        real; NaN and infinities, which JSON has
                                not, become null (as JavaScript does)
        str, bin                string when the bytes are valid UTF-8, else
                                a string of their base64 (RFC 4648, padded;
                                what protobuf's JSON mapping does for bytes)
        array                   array
        map                     object; a str key (or UTF-8 bin key) is
                                used as is, any other key is stringified as
                                its compact JSON text (1 -> "1", true ->
                                "true", [1,2] -> "[1,2]"); when two keys
                                meet, the later one wins. A key inside a
                                key inside a key (a map as a map's key,
                                three deep) is the base64 of its msgpack
                                instead: each level of text escapes the
                                next, so the text would double per level
        ext                     {"$ext": TYPE, "data": "BASE64"}: kept
                                visible rather than failing a whole job
    So a JSON object survives JSON -> msgpack -> JSON unchanged: key order
    kept, integers stay integers and reals reals (1.0 prints as "1.0").
    Reals print with the fewest digits (15 to 17) that read back as the
    same double. Input with a key given twice in one object is refused.

    Errors are ZJOB_BAD_REQUEST with jansson's position, as in
    "invalid JSON at line 1 column 7: unexpected token near 'x'"; callers
    prefix the field ("inputs: ...").
    ========================================================================= */

#ifndef ZJOB_JSON_H_INCLUDED
#define ZJOB_JSON_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <msgpack.h>
#include "zjob_export.h"
#include "zjob_error.h"
#include "zjob_job.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Flags for zjob_msgpack_to_json and zjob_json_dumps
#define ZJOB_JSON_COMPACT 0  //  One line, no spaces
#define ZJOB_JSON_PRETTY 1   //  Indented by 2, one member a line
#define ZJOB_JSON_ASCII 2    //  Escape every non-ASCII character

#define ZJOB_JSON_DEPTH_MAX 32  //  containers nested at most (msgpack-c's limit)
#define ZJOB_ISO_TIME_LEN 25    //  bytes of "2024-01-31T12:34:56.789Z" + NUL

//  Parse json_text (NUL-terminated) into a new JSON value; with
//  object_only, the top level must be an object. Returns the value (the
//  caller json_decrefs it), or NULL with err filled (ZJOB_BAD_REQUEST,
//  naming line and column).
ZJOB_EXPORT json_t *
zjob_json_parse (const char *json_text, bool object_only, zjob_error_t *err);

//  Convert JSON text whose top level is an object to a msgpack map in a
//  fresh buffer; the caller frees *data_p with free(). Returns 0, or -1
//  with err filled (ZJOB_BAD_REQUEST).
ZJOB_EXPORT int
zjob_json_to_msgpack (const char *json_text, uint8_t **data_p, size_t *size_p,
                      zjob_error_t *err);

//  The same for any JSON value at the top level (a number, a string...).
ZJOB_EXPORT int
zjob_json_any_to_msgpack (const char *json_text, uint8_t **data_p, size_t *size_p,
                          zjob_error_t *err);

//  Append value to pk. Returns 0, or -1 if value nests deeper than
//  ZJOB_JSON_DEPTH_MAX or packing fails.
ZJOB_EXPORT int
zjob_json_value_to_msgpack (json_t *value, msgpack_packer *pk);

//  Encode value to a fresh buffer (free with free()). Returns 0, or -1
//  with err filled (ZJOB_BAD_REQUEST for too deep a value).
ZJOB_EXPORT int
zjob_json_value_encode (json_t *value, uint8_t **data_p, size_t *size_p,
                        zjob_error_t *err);

//  Convert size bytes holding exactly one msgpack value to a new JSON
//  value (the caller json_decrefs it). NULL with err filled
//  (ZJOB_BAD_REQUEST) for bytes that are empty, not msgpack, truncated,
//  followed by more bytes, or nested deeper than msgpack-c reads (a map
//  ZJOB_JSON_DEPTH_MAX deep; any other top-level value one level less).
ZJOB_EXPORT json_t *
zjob_msgpack_to_json_value (const uint8_t *data, size_t size, zjob_error_t *err);

//  Convert an unpacked msgpack object to a new JSON value; NULL only when
//  out of memory.
ZJOB_EXPORT json_t *
zjob_msgpack_object_to_json (const msgpack_object *obj);

//  Convert size bytes of msgpack to JSON text printed with flags
//  (ZJOB_JSON_*). Returns a string the caller frees with free(), or NULL
//  with err filled as for zjob_msgpack_to_json_value.
ZJOB_EXPORT char *
zjob_msgpack_to_json (const uint8_t *data, size_t size, int flags, zjob_error_t *err);

//  Print value with flags (ZJOB_JSON_*); any value, not only containers.
//  Returns a string the caller frees with free(), or NULL if out of memory.
ZJOB_EXPORT char *
zjob_json_dumps (const json_t *value, int flags);

//  A job as a JSON object with readable fields: id, workflow_id, status
//  and priority by name, user_id, tags, inputs/outputs/metadata as JSON
//  (outputs null until set), every time as an ISO-8601 UTC string with
//  msecs (null while unset) next to its raw msecs (created_at and
//  created_at_ms...), progress, progress_message, error {kind, message}
//  (null when none), attempts, max_attempts, worker_id, execution_ms,
//  queued_ms; the retry policy and timeouts under their SUBMIT keys
//  (backoff and jitter by name or null, backoff_base_ms, backoff_factor,
//  backoff_max_ms, no_retry [kind], timeout_ms and heartbeat_timeout_ms,
//  0 for none); errors, each failed attempt's {attempt, kind, message,
//  worker_id, at, at_ms}, oldest first; result_attempt, the attempt whose
//  result ended the job (null if none). NULL if out of memory; the caller
//  json_decrefs it.
ZJOB_EXPORT json_t *
zjob_job_to_json (const zjob_job_t *job);

//  Write ms UTC as "2024-01-31T12:34:56.789Z" into buf (at least
//  ZJOB_ISO_TIME_LEN bytes). Returns buf.
ZJOB_EXPORT char *
zjob_iso_time (int64_t ms, char *buf);

#ifdef __cplusplus
}
#endif

#endif
