/*  =========================================================================
    zjob_proto_read - the typed readers of a decoded message

    What a broker, client or worker reads of a message that zjob_msg_decode
    accepted: the envelope, any body field by key (typed, with a default
    when absent), and the structures the schema built (specs, query,
    target, results), jobs and errors. A decoded message is already
    checked, so these readers never fail on a field its table defines;
    for other fields they answer the default. Copies they make live in the
    message's zone and die with it. zjob_msg_result_error, which reads with
    a field table, is in zjob_proto_schema.c; the zone copies and the
    retry policy of a spec, which the schema's builders use, are here.
    ========================================================================= */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_proto_impl.h"

uint32_t
zjob_msg_version (zjob_msg_t *self)
{
    return self ? self->version : 0;
}

zjob_cmd_t
zjob_msg_command (zjob_msg_t *self)
{
    return self ? self->command : ZJOB_CMD_UNKNOWN;
}

const char *
zjob_msg_command_name (zjob_msg_t *self)
{
    return zjob_cmd_name (zjob_msg_command (self));
}

uint64_t
zjob_msg_request_id (zjob_msg_t *self)
{
    return self ? self->request_id : 0;
}

zjob_route_t
zjob_msg_route (zjob_msg_t *self)
{
    return self ? self->route : ZJOB_ROUTE_CLIENT_BROKER;
}

const msgpack_object *
zjob_msg_body (zjob_msg_t *self)
{
    return self ? self->body : NULL;
}

const msgpack_object *
zjob_msg_field (zjob_msg_t *self, const char *key)
{
    if (!self || !key)
        return NULL;
    size_t len = strlen (key);
    const msgpack_object_map *map = &self->body->via.map;
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object *k = &map->ptr [i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == len
            && memcmp (k->via.str.ptr, key, len) == 0)
            return map->ptr [i].val.type == MSGPACK_OBJECT_NIL ? NULL : &map->ptr [i].val;
    }
    return NULL;
}

bool
zjob_msg_has (zjob_msg_t *self, const char *key)
{
    return zjob_msg_field (self, key) != NULL;
}

const char *
zjob_msg_str (zjob_msg_t *self, const char *key)
{
    const msgpack_object *value = zjob_msg_field (self, key);
    if (!value || value->type != MSGPACK_OBJECT_STR)
        return NULL;
    return zjob_proto_zone_str (self->zone, value);
}

uint64_t
zjob_msg_uint (zjob_msg_t *self, const char *key, uint64_t dflt)
{
    const msgpack_object *value = zjob_msg_field (self, key);
    return value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? value->via.u64 : dflt;
}

int64_t
zjob_msg_int (zjob_msg_t *self, const char *key, int64_t dflt)
{
    const msgpack_object *value = zjob_msg_field (self, key);
    if (value && value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return value->via.i64;
    if (value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER && value->via.u64 <= INT64_MAX)
        return (int64_t) value->via.u64;
    return dflt;
}

double
zjob_msg_float (zjob_msg_t *self, const char *key, double dflt)
{
    const msgpack_object *value = zjob_msg_field (self, key);
    if (!value)
        return dflt;
    switch (value->type) {
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: return value->via.f64;
        case MSGPACK_OBJECT_POSITIVE_INTEGER: return (double) value->via.u64;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return (double) value->via.i64;
        default: return dflt;
    }
}

bool
zjob_msg_bool (zjob_msg_t *self, const char *key, bool dflt)
{
    const msgpack_object *value = zjob_msg_field (self, key);
    return value && value->type == MSGPACK_OBJECT_BOOLEAN ? value->via.boolean : dflt;
}

const uint8_t *
zjob_msg_bin (zjob_msg_t *self, const char *key, size_t *size_p)
{
    const msgpack_object *value = zjob_msg_field (self, key);
    bool is_bin = value && value->type == MSGPACK_OBJECT_BIN;
    if (size_p)
        *size_p = is_bin ? value->via.bin.size : 0;
    return is_bin ? (const uint8_t *) value->via.bin.ptr : NULL;
}

const char *const *
zjob_msg_strs (zjob_msg_t *self, const char *key, size_t *count_p)
{
    if (count_p)
        *count_p = 0;
    const msgpack_object *value = zjob_msg_field (self, key);
    if (!value || value->type != MSGPACK_OBJECT_ARRAY)
        return NULL;
    for (uint32_t i = 0; i < value->via.array.size; i++)
        if (value->via.array.ptr [i].type != MSGPACK_OBJECT_STR)
            return NULL;
    bool ok;
    const char *const *strs = zjob_proto_zone_strs (self->zone, value, &ok);
    if (strs && count_p)
        *count_p = value->via.array.size;
    return strs;
}

const zjob_spec_t *
zjob_msg_specs (zjob_msg_t *self, size_t *count_p)
{
    if (count_p)
        *count_p = self ? self->spec_count : 0;
    return self ? self->specs : NULL;
}

const msgpack_object *
zjob_msg_submit_batch (zjob_msg_t *self)
{
    return self && self->command == ZJOB_CMD_SUBMIT ? self->batch : NULL;
}

bool
zjob_msg_auto_start (zjob_msg_t *self)
{
    return self && self->command == ZJOB_CMD_SUBMIT ? self->auto_start : false;
}

const zjob_query_t *
zjob_msg_query (zjob_msg_t *self)
{
    return self && self->has_query ? &self->query : NULL;
}

const zjob_target_t *
zjob_msg_target (zjob_msg_t *self)
{
    return self && self->has_target ? &self->target : NULL;
}

const zjob_result_t *
zjob_msg_results (zjob_msg_t *self, size_t *count_p)
{
    *count_p = self && self->results ? self->result_count : 0;
    return self && self->results ? self->results : NULL;
}

size_t
zjob_msg_result_errors (zjob_msg_t *self)
{
    const msgpack_object *errors = zjob_msg_field (self, "errors");
    return errors && errors->type == MSGPACK_OBJECT_ARRAY ? errors->via.array.size : 0;
}

zjob_job_t *
zjob_msg_job (zjob_msg_t *self, const char *key, zjob_error_t *err)
{
    const msgpack_object *value = zjob_msg_field (self, key);
    if (!value) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: %s: missing", zjob_msg_command_name (self),
                        key ? key : "(null)");
        return NULL;
    }
    return zjob_job_from_object (value, err);
}

int
zjob_msg_jobs (zjob_msg_t *self, const char *key, zjob_job_t ***jobs_p, size_t *count_p,
               zjob_error_t *err)
{
    *jobs_p = NULL;
    *count_p = 0;
    const msgpack_object *value = zjob_msg_field (self, key);
    if (!value || value->type != MSGPACK_OBJECT_ARRAY)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: %s: expected an array of jobs",
                               zjob_msg_command_name (self), key ? key : "(null)");
    uint32_t count = value->via.array.size;
    zjob_job_t **jobs = (zjob_job_t **) calloc (count ? count : 1, sizeof (zjob_job_t *));
    if (!jobs)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    for (uint32_t i = 0; i < count; i++) {
        jobs [i] = zjob_job_from_object (&value->via.array.ptr [i], err);
        if (!jobs [i]) {
            while (i > 0)
                zjob_job_destroy (&jobs [--i]);
            free (jobs);
            return -1;
        }
    }
    *jobs_p = jobs;
    *count_p = count;
    return 0;
}

int
zjob_msg_error (zjob_msg_t *self, zjob_error_t *err)
{
    if (!self || self->command != ZJOB_CMD_ERROR) {
        zjob_error_clear (err);
        return ZJOB_OK;
    }
    int code = (int) zjob_msg_uint (self, "code", ZJOB_INTERNAL);
    const msgpack_object *message = zjob_msg_field (self, "message");
    if (message && message->type == MSGPACK_OBJECT_STR)
        zjob_error_set (err, code, "%.*s", (int) message->via.str.size, message->via.str.ptr);
    else
        zjob_error_set (err, code, "%s", zjob_error_name (code));
    return code;
}


//  --------------------------------------------------------------------------
//  What the schema's builders use

//  A NUL-terminated copy of a str object, in the message's zone
const char *
zjob_proto_zone_str (msgpack_zone *zone, const msgpack_object *obj)
{
    char *copy = (char *) msgpack_zone_malloc_no_align (zone, obj->via.str.size + 1);
    if (copy) {
        if (obj->via.str.size)
            memcpy (copy, obj->via.str.ptr, obj->via.str.size);
        copy [obj->via.str.size] = 0;
    }
    return copy;
}

//  An array of NUL-terminated copies of an array of str, in the zone;
//  NULL for an empty array or no memory (*ok false then)
const char *const *
zjob_proto_zone_strs (msgpack_zone *zone, const msgpack_object *array, bool *ok)
{
    *ok = true;
    uint32_t count = array->via.array.size;
    if (count == 0)
        return NULL;
    const char **strs = (const char **) msgpack_zone_malloc (zone, count * sizeof (char *));
    if (!strs) {
        *ok = false;
        return NULL;
    }
    for (uint32_t i = 0; i < count; i++) {
        strs [i] = zjob_proto_zone_str (zone, &array->via.array.ptr [i]);
        if (!strs [i]) {
            *ok = false;
            return NULL;
        }
    }
    return strs;
}

bool
zjob_proto_filter_empty (const zjob_filter_t *filter)
{
    return !filter->status_mask && !filter->workflow_id && !filter->user_id
        && !filter->tag_count && !filter->created_after && !filter->created_before
        && filter->scheduled == ZJOB_SCHEDULED_ANY && !filter->batch_id && !filter->waiting_on
        && !filter->schedule_id;
}

//  A given time of 0 is "none" (the C spec's ZJOB_TIMEOUT_NONE)
static uint32_t
s_given_ms (const msgpack_object *value)
{
    return value->via.u64 ? (uint32_t) value->via.u64 : ZJOB_TIMEOUT_NONE;
}

//  A checked str naming a backoff or a jitter: its value, or -1
static int
s_policy_name (const msgpack_object *value, int (*parse) (const char *))
{
    char name [ZJOB_NAME_MAX + 1];
    snprintf (name, sizeof (name), "%.*s", (int) value->via.str.size, value->via.str.ptr);
    return parse (name);
}

const char *
zjob_proto_spec_policy (msgpack_zone *zone, const msgpack_object *const *v, zjob_spec_t *spec)
{
    enum { BACKOFF,
           BASE,
           FACTOR,
           MAX,
           JITTER,
           NORETRY,
           TIMEOUT,
           HEARTBEAT };
    if (v [BACKOFF]) {
        int backoff = s_policy_name (v [BACKOFF], zjob_backoff_parse);
        if (backoff < 0)
            return "backoff";
        spec->backoff = (zjob_backoff_t) backoff;
    }
    if (v [JITTER]) {
        int jitter = s_policy_name (v [JITTER], zjob_jitter_parse);
        if (jitter < 0)
            return "jitter";
        spec->jitter = (zjob_jitter_t) jitter;
    }
    if (v [BASE])
        spec->backoff_base_ms = s_given_ms (v [BASE]);
    if (v [MAX])  //  0 takes the default: a cap of 0 means nothing
        spec->backoff_max_ms = (uint32_t) v [MAX]->via.u64;
    if (v [TIMEOUT])
        spec->timeout_ms = s_given_ms (v [TIMEOUT]);
    if (v [HEARTBEAT])
        spec->heartbeat_timeout_ms = s_given_ms (v [HEARTBEAT]);
    if (v [FACTOR])
        spec->backoff_factor = v [FACTOR]->type == MSGPACK_OBJECT_POSITIVE_INTEGER
            ? (double) v [FACTOR]->via.u64
            : v [FACTOR]->via.f64;
    if (v [NORETRY]) {
        //  Given, even empty: [] overrides the default list
        static const char *const s_empty [1] = { NULL };
        bool ok = true;
        spec->no_retry_count = v [NORETRY]->via.array.size;
        spec->no_retry = spec->no_retry_count ? zjob_proto_zone_strs (zone, v [NORETRY], &ok)
                                              : s_empty;
        if (!ok)
            return "";
    }
    return NULL;
}

const char *
zjob_msg_result_error (zjob_msg_t *self, size_t index, zjob_error_t *err)
{
    zjob_error_t local;
    if (!err)
        err = &local;
    zjob_error_clear (err);
    const msgpack_object *errors = zjob_msg_field (self, "errors");
    if (!errors || errors->type != MSGPACK_OBJECT_ARRAY || index >= errors->via.array.size
        || errors->via.array.ptr [index].type != MSGPACK_OBJECT_MAP)
        return NULL;
    //  Checked by zjob_msg_check_reply: read it with the same table
    zjob_proto_ctx_t ctx = { NULL, "OK to RESULT", err };
    const msgpack_object *id, *text;
    uint64_t code;
    if (zjob_proto_check_result_error (&ctx, &errors->via.array.ptr [index], &id, &code, &text))
        return NULL;
    char message [ZJOB_MESSAGE_MAX + 1];
    size_t len = text->via.str.size < ZJOB_MESSAGE_MAX ? text->via.str.size : ZJOB_MESSAGE_MAX;
    memcpy (message, text->via.str.ptr, len);
    message [len] = 0;
    zjob_error_set (err, (int) code, "%s", message);
    return zjob_proto_zone_str (self->zone, id);
}


//  --------------------------------------------------------------------------
//  QUEUE's OK: "queues", an array of maps

size_t
zjob_msg_queue_count (zjob_msg_t *self)
{
    const msgpack_object *queues = zjob_msg_field (self, "queues");
    return queues && queues->type == MSGPACK_OBJECT_ARRAY ? queues->via.array.size : 0;
}

//  A number of a queue map (an integer or a float), or dflt
static double
s_queue_number (const msgpack_object *value, double dflt)
{
    switch (value->type) {
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: return value->via.f64;
        case MSGPACK_OBJECT_POSITIVE_INTEGER: return (double) value->via.u64;
        default: return dflt;
    }
}

bool
zjob_msg_queue (zjob_msg_t *self, size_t index, zjob_queue_info_t *info)
{
    assert (info);
    memset (info, 0, sizeof (*info));
    const msgpack_object *queues = zjob_msg_field (self, "queues");
    if (!queues || queues->type != MSGPACK_OBJECT_ARRAY || index >= queues->via.array.size
        || queues->via.array.ptr [index].type != MSGPACK_OBJECT_MAP)
        return false;
    const msgpack_object_map *map = &queues->via.array.ptr [index].via.map;
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object *key = &map->ptr [i].key;
        const msgpack_object *value = &map->ptr [i].val;
        if (key->type != MSGPACK_OBJECT_STR)
            continue;
        const char *name = key->via.str.ptr;
        size_t len = key->via.str.size;
#define S_IS(text) (len == sizeof (text) - 1 && memcmp (name, text, len) == 0)
        if (S_IS ("workflow_id") && value->type == MSGPACK_OBJECT_STR)
            info->workflow_id = zjob_proto_zone_str (self->zone, value);
        else if (S_IS ("held_by") && value->type == MSGPACK_OBJECT_STR)
            info->held_by = zjob_proto_zone_str (self->zone, value);
        else if (S_IS ("paused"))
            info->paused = value->type == MSGPACK_OBJECT_BOOLEAN && value->via.boolean;
        else if (S_IS ("concurrency"))
            info->concurrency = (uint32_t) s_queue_number (value, 0);
        else if (S_IS ("rate"))
            info->rate = s_queue_number (value, 0);
        else if (S_IS ("burst"))
            info->burst = s_queue_number (value, 0);
        else if (S_IS ("queued") && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            info->queued = value->via.u64;
        else if (S_IS ("running") && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            info->running = value->via.u64;
#undef S_IS
    }
    return info->workflow_id != NULL;
}
