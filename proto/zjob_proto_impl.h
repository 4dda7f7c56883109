/*  =========================================================================
    zjob_proto_impl - what the codec's own files share, and nobody else

    The codec is five files: zjob_proto.c (commands, routes, sockets, the
    bounded scan, the envelope and decode), zjob_proto_fields.c (the field
    tables, with zjob_proto_fields.h their types and indexes),
    zjob_proto_schema.c (body checking and the structures built from
    checked bodies),
    zjob_proto_read.c (the typed readers of a decoded message) and
    zjob_proto_build.c (the builder and the event topics). They share the
    decoded message's struct and the few calls below; the rest of each file
    is static. This header is private to proto/: it is not installed, and
    none of its functions is exported from libzjob.
    ========================================================================= */

#ifndef ZJOB_PROTO_IMPL_H_INCLUDED
#define ZJOB_PROTO_IMPL_H_INCLUDED

#include "zjob_proto.h"

//  The decoded message; it lives in its own zone (zjob_msg_decode)
struct _zjob_msg_t {
    msgpack_zone *zone;          //  Holds the object tree, copies and this struct
    zframe_t *frame;             //  Adopted frame holding the bytes, or NULL
    uint32_t version;            //  Envelope: protocol version
    zjob_cmd_t command;          //  Envelope: command
    zjob_route_t route;          //  Route it was decoded for
    uint64_t request_id;         //  Envelope: request id
    const msgpack_object *body;  //  The body map, in the zone
    zjob_spec_t *specs;          //  SUBMIT: spec_count specs, in the zone
    size_t spec_count;
    bool auto_start;              //  SUBMIT: auto_start (default true)
    const msgpack_object *batch;  //  SUBMIT: the batch map, or NULL
    zjob_filter_t filter;         //  LIST or target: the filter, if given
    bool has_filter;              //  A filter field was present
    zjob_query_t query;           //  LIST: the query
    bool has_query;
    zjob_target_t target;  //  DELETE..CANCEL: which jobs
    bool has_target;
    zjob_result_t *results;  //  RESULT: result_count results, in the zone
    size_t result_count;
};

//  What a check is doing, for its error messages and what it builds
typedef struct {
    zjob_msg_t *msg;   //  Message being built; NULL to check only
    const char *what;  //  Command name for messages ("SUBMIT")
    zjob_error_t *err;
} zjob_proto_ctx_t;

//  zjob_proto_schema.c: check ctx->msg's body (which must be a map) against
//  the field table of its command on its route, and build the structures
//  that command carries (specs, query, target, results) into the message's
//  zone. Returns 0, or -1 with ctx->err set.
int
zjob_proto_check_body (zjob_proto_ctx_t *ctx);

//  zjob_proto_schema.c: check body, an OK reply to request (sent on the
//  request's route), against that request's reply table. Returns 0 (also
//  when the request has no schema), or -1 with ctx->err set.
int
zjob_proto_check_reply (zjob_proto_ctx_t *ctx, const msgpack_object *body,
                        zjob_cmd_t request, zjob_route_t route);

//  zjob_proto_schema.c: check item, one refusal of an OK to a batched
//  RESULT, against its table; its id, code and message. 0, or -1 with
//  ctx->err set.
int
zjob_proto_check_result_error (zjob_proto_ctx_t *ctx, const msgpack_object *item,
                               const msgpack_object **id_p, uint64_t *code_p,
                               const msgpack_object **message_p);

//  zjob_proto_read.c: a NUL-terminated copy of a str object, in zone;
//  NULL if there is no memory
const char *
zjob_proto_zone_str (msgpack_zone *zone, const msgpack_object *obj);

//  zjob_proto_read.c: an array of NUL-terminated copies of an array of
//  str, in zone; NULL for an empty array or no memory (*ok false then)
const char *const *
zjob_proto_zone_strs (msgpack_zone *zone, const msgpack_object *array, bool *ok);

//  zjob_proto_read.c: the retry policy's fields of a spec from its checked values, in the
//  order backoff, backoff_base_ms, backoff_factor, backoff_max_ms,
//  jitter, no_retry, timeout_ms, heartbeat_timeout_ms (NULL if absent).
//  Returns NULL, the key of a bad value ("backoff", "jitter"), or "" if
//  out of memory.
const char *
zjob_proto_spec_policy (msgpack_zone *zone, const msgpack_object *const *v, zjob_spec_t *spec);

//  zjob_proto_read.c: true if filter selects every job (no criterion set)
bool
zjob_proto_filter_empty (const zjob_filter_t *filter);

//  zjob_proto.c: copy up to size - 1 bytes of text into buf for a message,
//  with anything not printable shown as '?'
void
zjob_proto_printable (char *buf, size_t size, const char *text, size_t len);

#endif
