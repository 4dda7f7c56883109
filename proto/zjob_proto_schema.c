/*  =========================================================================
    zjob_proto_schema - the check of a body against its field table

    The field tables (zjob_proto_fields.c) are the protocol. A body is checked against its table in
    one pass (unknown keys skipped, nil the same as absent, a key given
    twice an error), and an error names the command and the path of the
    field ("SUBMIT: jobs[3].priority: ..."), a path walked only when an
    error is reported. SUBMIT's specs, LIST's query, a bulk operation's
    target and RESULT's results are built into the message's zone as they
    are checked (the "post" function of a schema), so the broker gets C
    structs, not msgpack. This is step 5 of decoding (zjob_proto.c).
    ========================================================================= */

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_proto_fields.h"


//  How a field was reached, for error messages: a chain from the field up
//  to the body, walked only when an error is reported
typedef struct _s_path_t {
    const struct _s_path_t *parent;  //  NULL at the body
    const char *key;                 //  Field key, or NULL for an array index
    size_t index;                    //  Array index when key is NULL
} s_path_t;


//  --------------------------------------------------------------------------
//  Field checking

static const char *
s_object_type_name (const msgpack_object *obj)
{
    switch (obj->type) {
        case MSGPACK_OBJECT_NIL: return "nil";
        case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
        case MSGPACK_OBJECT_POSITIVE_INTEGER: return "an unsigned integer";
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "a negative integer";
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: return "a float";
        case MSGPACK_OBJECT_STR: return "a string";
        case MSGPACK_OBJECT_ARRAY: return "an array";
        case MSGPACK_OBJECT_MAP: return "a map";
        case MSGPACK_OBJECT_BIN: return "a bin";
        case MSGPACK_OBJECT_EXT: return "an ext";
        default: return "an unknown type";
    }
}

//  Write "jobs[3].tags[1]" for path into buf
static void
s_path_format (const s_path_t *path, char *buf, size_t size)
{
    const s_path_t *chain [ZJOB_MSG_DEPTH_MAX * 2];
    int depth = 0;
    for (const s_path_t *node = path; node && depth < ZJOB_MSG_DEPTH_MAX * 2; node = node->parent)
        chain [depth++] = node;
    size_t used = 0;
    buf [0] = 0;
    if (depth == 0) {
        snprintf (buf, size, "body");
        return;
    }
    while (depth-- > 0 && used < size) {
        const s_path_t *node = chain [depth];
        int rc;
        if (node->key)
            rc = snprintf (buf + used, size - used, "%s%s", used ? "." : "", node->key);
        else
            rc = snprintf (buf + used, size - used, "[%zu]", node->index);
        if (rc < 0)
            break;
        used += (size_t) rc;
    }
}

//  Fill err with "<what>: <path>: <problem>"; returns -1
static int
s_fail (zjob_proto_ctx_t *ctx, const s_path_t *path, int code, const char *problem)
{
    char where [128];
    s_path_format (path, where, sizeof (where));
    return zjob_error_set (ctx->err, code, "%s: %s: %s", ctx->what, where, problem);
}

static int
s_fail_type (zjob_proto_ctx_t *ctx, const s_path_t *path, const char *expected, const msgpack_object *obj)
{
    char problem [160];
    snprintf (problem, sizeof (problem), "expected %s, got %s", expected,
              s_object_type_name (obj));
    return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
}

static int
s_fail_memory (zjob_proto_ctx_t *ctx)
{
    return zjob_error_set (ctx->err, ZJOB_INTERNAL, "%s: out of memory decoding", ctx->what);
}

//  Index of the name equal to the len bytes at text among count names from
//  name_of, or -1
static int
s_name_index (const char *text, size_t len, const char *(*name_of) (int), int count)
{
    for (int i = 0; i < count; i++) {
        const char *name = name_of (i);
        if (strlen (name) == len && memcmp (name, text, len) == 0)
            return i;
    }
    return -1;
}

static const char *
s_status_of (int i)
{
    return zjob_status_name ((zjob_status_t) i);
}
static const char *
s_priority_of (int i)
{
    return zjob_priority_name ((zjob_priority_t) i);
}
static const char *
s_sort_of (int i)
{
    return zjob_sort_name ((zjob_sort_t) i);
}
static const char *
s_order_of (int i)
{
    return i == 0 ? "asc" : "desc";
}
#define SORT_COUNT 4

static int s_check_map (zjob_proto_ctx_t *ctx, const msgpack_object *map, const zjob_ftable_t *table,
                        const msgpack_object **values, const s_path_t *path);

//  Check a str value of a typed kind (F_STR .. F_ORDER)
static int
s_check_str (zjob_proto_ctx_t *ctx, const msgpack_object *value, const zjob_field_t *field,
             const s_path_t *path)
{
    static const char *expected [] = {
        [F_STR] = "a string", [F_NAME] = "a name (string)", [F_ID] = "a job id (string)", [F_STATUS] = "a status name (string)", [F_PRIORITY] = "a priority name (string)", [F_SORT] = "a sort name (string)", [F_ORDER] = "\"asc\" or \"desc\""
    };
    if (value->type != MSGPACK_OBJECT_STR)
        return s_fail_type (ctx, path, expected [field->type], value);
    const char *text = value->via.str.ptr;
    size_t len = value->via.str.size;
    char problem [200];
    if (len && memchr (text, 0, len))
        return s_fail (ctx, path, ZJOB_BAD_REQUEST, "contains a NUL byte");
    switch (field->type) {
        case F_STR:
            if (len < field->min)
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, "empty");
            if (field->max && len > field->max) {
                snprintf (problem, sizeof (problem), "%zu bytes, over the limit of %" PRIu64,
                          len, field->max);
                return s_fail (ctx, path, ZJOB_TOO_LARGE, problem);
            }
            return 0;
        case F_NAME: {
            if (len == 0)
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, "empty name");
            if (len > ZJOB_NAME_MAX) {
                snprintf (problem, sizeof (problem), "name of %zu bytes, over the limit of %d",
                          len, ZJOB_NAME_MAX);
                return s_fail (ctx, path, ZJOB_TOO_LARGE, problem);
            }
            char name [ZJOB_NAME_MAX + 1];
            memcpy (name, text, len);
            name [len] = 0;
            if (!zjob_name_valid (name))
                return s_fail (ctx, path, ZJOB_BAD_REQUEST,
                               "not a name (printable ASCII without spaces)");
            return 0;
        }
        case F_ID: {
            char id [ZJOB_ID_LEN + 1] = "";
            if (len == ZJOB_ID_LEN)
                memcpy (id, text, len);
            if (!zjob_id_valid (id)) {
                char shown [ZJOB_ID_LEN + 8];
                zjob_proto_printable (shown, sizeof (shown), text, len);
                snprintf (problem, sizeof (problem), "\"%s\" is not a job id", shown);
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
            }
            return 0;
        }
        case F_STATUS:
        case F_PRIORITY:
        case F_SORT:
        case F_ORDER: {
            int found = field->type == F_STATUS ? s_name_index (text, len, s_status_of, ZJOB_STATUS_COUNT)
                : field->type == F_PRIORITY     ? s_name_index (text, len, s_priority_of, ZJOB_PRIORITY_COUNT)
                : field->type == F_SORT         ? s_name_index (text, len, s_sort_of, SORT_COUNT)
                                                : s_name_index (text, len, s_order_of, 2);
            if (found < 0) {
                char shown [40];
                zjob_proto_printable (shown, sizeof (shown), text, len);
                const char *kind = field->type == F_STATUS ? "status"
                    : field->type == F_PRIORITY            ? "priority"
                    : field->type == F_SORT                ? "sort"
                                                           : "order";
                const char *known = field->type == F_STATUS
                    ? "created, queued, running, paused, completed, failed, cancelled, waiting"
                    : field->type == F_PRIORITY ? "low, medium, high, critical"
                    : field->type == F_SORT     ? "created, updated, priority, status"
                                                : "asc, desc";
                snprintf (problem, sizeof (problem), "unknown %s \"%s\" (%s)", kind, shown, known);
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
            }
            return 0;
        }
        default:
            return s_fail (ctx, path, ZJOB_INTERNAL, "not a string type");
    }
}

//  The index of the name at obj (a checked str) in a name table
static int
s_enum_value (const msgpack_object *obj, const char *(*name_of) (int), int count)
{
    return s_name_index (obj->via.str.ptr, obj->via.str.size, name_of, count);
}

//  Build the message's filter from a checked filter map's values
static int
s_build_filter (zjob_proto_ctx_t *ctx, const msgpack_object **v, zjob_filter_t *filter)
{
    memset (filter, 0, sizeof (*filter));
    msgpack_zone *zone = ctx->msg->zone;
    if (v [FI_STATUS])
        for (uint32_t i = 0; i < v [FI_STATUS]->via.array.size; i++)
            filter->status_mask |= 1u << s_enum_value (&v [FI_STATUS]->via.array.ptr [i],
                                                       s_status_of, ZJOB_STATUS_COUNT);
    if (v [FI_WORKFLOW] && !(filter->workflow_id = zjob_proto_zone_str (zone, v [FI_WORKFLOW])))
        return s_fail_memory (ctx);
    if (v [FI_USER] && !(filter->user_id = zjob_proto_zone_str (zone, v [FI_USER])))
        return s_fail_memory (ctx);
    if (v [FI_TAGS]) {
        bool ok;
        filter->tags = zjob_proto_zone_strs (zone, v [FI_TAGS], &ok);
        if (!ok)
            return s_fail_memory (ctx);
        filter->tag_count = v [FI_TAGS]->via.array.size;
    }
    if (v [FI_AFTER])
        filter->created_after = (int64_t) v [FI_AFTER]->via.u64;
    if (v [FI_BEFORE])
        filter->created_before = (int64_t) v [FI_BEFORE]->via.u64;
    //  now stays 0: the broker's clock decides when it matches
    if (v [FI_SCHEDULED])
        filter->scheduled = v [FI_SCHEDULED]->via.boolean ? ZJOB_SCHEDULED_YES : ZJOB_SCHEDULED_NO;
    if ((v [FI_BATCH] && !(filter->batch_id = zjob_proto_zone_str (zone, v [FI_BATCH])))
        || (v [FI_WAITING_ON] && !(filter->waiting_on = zjob_proto_zone_str (zone, v [FI_WAITING_ON])))
        || (v [FI_SCHEDULE] && !(filter->schedule_id = zjob_proto_zone_str (zone, v [FI_SCHEDULE]))))
        return s_fail_memory (ctx);
    return 0;
}

//  The retry policy's fields of a spec (zjob_proto_spec_policy)
static int
s_build_policy (zjob_proto_ctx_t *ctx, const msgpack_object **v, zjob_spec_t *spec)
{
    const char *bad = zjob_proto_spec_policy (ctx->msg->zone, v + SP_BACKOFF, spec);
    if (bad && !*bad)
        return s_fail_memory (ctx);
    s_path_t field = { NULL, bad, 0 };
    return bad ? s_fail (ctx, &field, ZJOB_BAD_REQUEST,
                         streq (bad, "backoff") ? "fixed or exponential" : "full or none")
               : 0;
}

//  A spec's depends_on (checked): its ids and its positions, apart
static int
s_build_parents (zjob_proto_ctx_t *ctx, const msgpack_object *parents, zjob_spec_t *spec)
{
    msgpack_zone *zone = ctx->msg->zone;
    uint32_t count = parents->via.array.size, ids = 0;
    for (uint32_t i = 0; i < count; i++)
        ids += parents->via.array.ptr [i].type == MSGPACK_OBJECT_STR;
    const char **id_array = ids ? (const char **) msgpack_zone_malloc (zone, ids * sizeof (char *))
                                : NULL;
    uint32_t *index_array = count > ids ? (uint32_t *) msgpack_zone_malloc (
                                zone, (count - ids) * sizeof (uint32_t))
                                        : NULL;
    if ((ids && !id_array) || (count > ids && !index_array))
        return s_fail_memory (ctx);
    for (uint32_t i = 0; i < count; i++) {
        const msgpack_object *item = &parents->via.array.ptr [i];
        if (item->type == MSGPACK_OBJECT_STR) {
            if (!(id_array [spec->depends_on_count++] = zjob_proto_zone_str (zone, item)))
                return s_fail_memory (ctx);
        }
        else
            index_array [spec->depends_on_index_count++] = (uint32_t) item->via.u64;
    }
    spec->depends_on = id_array;
    spec->depends_on_index = index_array;
    return 0;
}

//  The workflow fields of a spec
static int
s_build_spec_extra (zjob_proto_ctx_t *ctx, const msgpack_object **v, zjob_spec_t *spec)
{
    msgpack_zone *zone = ctx->msg->zone;
    if (v [SP_DEPENDS] && s_build_parents (ctx, v [SP_DEPENDS], spec))
        return -1;
    if (v [SP_ONPARENT]) {
        char name [16] = "";
        uint32_t len = v [SP_ONPARENT]->via.str.size;
        if (len < sizeof (name))
            memcpy (name, v [SP_ONPARENT]->via.str.ptr, len);
        spec->on_parent_failure = (zjob_on_parent_t) zjob_on_parent_parse (name);
    }
    if ((v [SP_BATCH] && !(spec->batch_id = zjob_proto_zone_str (zone, v [SP_BATCH])))
        || (v [SP_TEMPLATE] && !(spec->template_name = zjob_proto_zone_str (zone, v [SP_TEMPLATE])))
        || (v [SP_UNIQUE] && !(spec->unique_key = zjob_proto_zone_str (zone, v [SP_UNIQUE]))))
        return s_fail_memory (ctx);
    return 0;
}

//  Build one spec from a checked spec map's values
static int
s_build_spec (zjob_proto_ctx_t *ctx, const msgpack_object **v, zjob_spec_t *spec)
{
    memset (spec, 0, sizeof (*spec));
    msgpack_zone *zone = ctx->msg->zone;
    //  No workflow_id: the template's (zjob_proto_spec_rules made sure)
    if (v [SP_WORKFLOW] && !(spec->workflow_id = zjob_proto_zone_str (zone, v [SP_WORKFLOW])))
        return s_fail_memory (ctx);
    if (v [SP_INPUTS] && v [SP_INPUTS]->via.bin.size) {
        spec->inputs = (const uint8_t *) v [SP_INPUTS]->via.bin.ptr;
        spec->inputs_size = v [SP_INPUTS]->via.bin.size;
    }
    spec->priority = v [SP_PRIORITY]
        ? (zjob_priority_t) s_enum_value (v [SP_PRIORITY], s_priority_of,
                                          ZJOB_PRIORITY_COUNT)
        : ZJOB_PRIORITY_DEFAULT;
    if (v [SP_USER] && !(spec->user_id = zjob_proto_zone_str (zone, v [SP_USER])))
        return s_fail_memory (ctx);
    if (v [SP_TAGS]) {
        bool ok;
        spec->tags = zjob_proto_zone_strs (zone, v [SP_TAGS], &ok);
        if (!ok)
            return s_fail_memory (ctx);
        spec->tag_count = v [SP_TAGS]->via.array.size;
    }
    if (v [SP_METADATA] && v [SP_METADATA]->via.bin.size) {
        spec->metadata = (const uint8_t *) v [SP_METADATA]->via.bin.ptr;
        spec->metadata_size = v [SP_METADATA]->via.bin.size;
    }
    if (v [SP_IDEM] && !(spec->idempotency_key = zjob_proto_zone_str (zone, v [SP_IDEM])))
        return s_fail_memory (ctx);
    if (v [SP_MAXA])  //  On the wire 0 is "no limit"
        spec->max_attempts = v [SP_MAXA]->via.u64 ? (uint32_t) v [SP_MAXA]->via.u64
                                                  : ZJOB_ATTEMPTS_UNLIMITED;
    if (v [SP_RUNAT])
        spec->run_at = (int64_t) v [SP_RUNAT]->via.u64;
    return s_build_spec_extra (ctx, v, spec) || s_build_policy (ctx, v, spec) ? -1 : 0;
}

//  What the table cannot say of a checked spec at path: workflow_id is
//  required unless a template is given; on_parent_failure is one of three
static int
s_check_spec_rules (zjob_proto_ctx_t *ctx, const msgpack_object **v, const s_path_t *path)
{
    if (!v [SP_WORKFLOW] && !v [SP_TEMPLATE]) {
        s_path_t field = { path, "workflow_id", 0 };
        return s_fail (ctx, &field, ZJOB_BAD_REQUEST, "required (or a template)");
    }
    if (v [SP_ONPARENT]) {
        char name [16] = "";
        uint32_t len = v [SP_ONPARENT]->via.str.size;
        if (len < sizeof (name))
            memcpy (name, v [SP_ONPARENT]->via.str.ptr, len);
        if (zjob_on_parent_parse (name) < 0) {
            s_path_t field = { path, "on_parent_failure", 0 };
            return s_fail (ctx, &field, ZJOB_BAD_REQUEST, "fail, cancel or run");
        }
    }
    return 0;
}


//  Check an array's type and item count
static int
s_check_array (zjob_proto_ctx_t *ctx, const msgpack_object *value, const zjob_field_t *field,
               const s_path_t *path, const char *expected)
{
    if (value->type != MSGPACK_OBJECT_ARRAY)
        return s_fail_type (ctx, path, expected, value);
    char problem [120];
    uint32_t count = value->via.array.size;
    if (count < field->min) {
        snprintf (problem, sizeof (problem), "%" PRIu32 " items, at least %" PRIu64 " needed",
                  count, field->min);
        return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
    }
    if (field->max && count > field->max) {
        snprintf (problem, sizeof (problem), "%" PRIu32 " items, over the limit of %" PRIu64,
                  count, field->max);
        return s_fail (ctx, path, ZJOB_TOO_LARGE, problem);
    }
    return 0;
}

static int s_check_value (zjob_proto_ctx_t *ctx, const msgpack_object *value,
                          const zjob_field_t *field, const s_path_t *path);

//  An array of plain values (F_MAPS .. F_STATUSES): each item checked as
//  a field of its own
static int
s_check_list (zjob_proto_ctx_t *ctx, const msgpack_object *value, const zjob_field_t *field,
              const s_path_t *path)
{
    static const char *expected [] = {
        [F_MAPS] = "an array of maps", [F_NAMES] = "an array of names", [F_IDS] = "an array of job ids", [F_UINTS] = "an array of unsigned integers", [F_STATUSES] = "an array of status names"
    };
    static const zjob_field_t items [] = {
        [F_MAPS] = { NULL, F_MAP, OPT, 0, 0, NULL }, [F_NAMES] = { NULL, F_NAME, OPT, 0, 0, NULL }, [F_IDS] = { NULL, F_ID, OPT, 0, 0, NULL }, [F_UINTS] = { NULL, F_UINT, OPT, 0, UINT64_MAX, NULL }, [F_STATUSES] = { NULL, F_STATUS, OPT, 0, 0, NULL }
    };
    if (s_check_array (ctx, value, field, path, expected [field->type]))
        return -1;
    for (uint32_t i = 0; i < value->via.array.size; i++) {
        s_path_t item = { path, NULL, i };
        if (s_check_value (ctx, &value->via.array.ptr [i], &items [field->type], &item))
            return -1;
    }
    return 0;
}

//  A spec's depends_on: an array of job ids and positions (uints), mixed
static int
s_check_parents (zjob_proto_ctx_t *ctx, const msgpack_object *value, const zjob_field_t *field,
                 const s_path_t *path)
{
    if (s_check_array (ctx, value, field, path, "an array of job ids and positions"))
        return -1;
    static const zjob_field_t id_item = { NULL, F_ID, OPT, 0, 0, NULL };
    static const zjob_field_t position_item = { NULL, F_UINT, OPT, 0, ZJOB_BATCH_MAX - 1, NULL };
    for (uint32_t i = 0; i < value->via.array.size; i++) {
        s_path_t item = { path, NULL, i };
        const msgpack_object *parent = &value->via.array.ptr [i];
        if (parent->type == MSGPACK_OBJECT_STR) {
            if (s_check_value (ctx, parent, &id_item, &item))
                return -1;
        }
        else if (parent->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            if (s_check_value (ctx, parent, &position_item, &item))
                return -1;
        }
        else
            return s_fail_type (ctx, &item, "a job id (string) or a position (unsigned integer)",
                                parent);
    }
    return 0;
}

//  A filter map, built into the message when there is one
static int
s_check_filter (zjob_proto_ctx_t *ctx, const msgpack_object *value, const zjob_field_t *field,
                const s_path_t *path)
{
    if (value->type != MSGPACK_OBJECT_MAP)
        return s_fail_type (ctx, path, "a filter map", value);
    const msgpack_object *values [FIELDS_MAX];
    if (s_check_map (ctx, value, &zjob_filter_table, values, path))
        return -1;
    if (ctx->msg) {
        if (s_build_filter (ctx, values, &ctx->msg->filter))
            return -1;
        ctx->msg->has_filter = true;
    }
    return 0;
}

//  Item i of array (an array at path) must be a map (expected says what
//  kind, for the error) that passes table; values as s_check_map
static int
s_check_item (zjob_proto_ctx_t *ctx, const msgpack_object *array, uint32_t i,
              const s_path_t *path, const zjob_ftable_t *table, const char *expected,
              const msgpack_object **values)
{
    s_path_t item = { path, NULL, i };
    const msgpack_object *map = &array->via.array.ptr [i];
    if (map->type != MSGPACK_OBJECT_MAP)
        return s_fail_type (ctx, &item, expected, map);
    return s_check_map (ctx, map, table, values, &item);
}

//  SUBMIT's specs, each checked and built into the message's zone
static int
s_check_specs (zjob_proto_ctx_t *ctx, const msgpack_object *value, const zjob_field_t *field,
               const s_path_t *path)
{
    if (s_check_array (ctx, value, field, path, "an array of job specs"))
        return -1;
    uint32_t count = value->via.array.size;
    zjob_spec_t *specs = NULL;
    if (ctx->msg) {
        specs = (zjob_spec_t *) msgpack_zone_malloc (ctx->msg->zone,
                                                     count * sizeof (zjob_spec_t));
        if (!specs)
            return s_fail_memory (ctx);
    }
    for (uint32_t i = 0; i < count; i++) {
        const msgpack_object *values [FIELDS_MAX];
        if (s_check_item (ctx, value, i, path, &zjob_spec_table, "a job spec map", values))
            return -1;
        s_path_t item = { path, NULL, i };
        if (s_check_spec_rules (ctx, values, &item))
            return -1;
        if (specs && s_build_spec (ctx, values, &specs [i]))
            return -1;
    }
    if (ctx->msg) {
        ctx->msg->specs = specs;
        ctx->msg->spec_count = count;
    }
    return 0;
}

//  An array of maps, each checked against the field's items table
static int
s_check_items (zjob_proto_ctx_t *ctx, const msgpack_object *value, const zjob_field_t *field,
               const s_path_t *path)
{
    if (s_check_array (ctx, value, field, path, "an array of maps"))
        return -1;
    for (uint32_t i = 0; i < value->via.array.size; i++) {
        const msgpack_object *values [FIELDS_MAX];
        if (s_check_item (ctx, value, i, path, field->items, "a map", values))
            return -1;
    }
    return 0;
}

//  Check one field's value against its definition
//  A float or a non-negative integer as a double; false for other types
static bool
s_number (const msgpack_object *value, double *number)
{
    bool is_float = value->type == MSGPACK_OBJECT_FLOAT32 || value->type == MSGPACK_OBJECT_FLOAT64;
    bool is_uint = value->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
    *number = is_float ? value->via.f64 : is_uint ? (double) value->via.u64
                                                  : 0.0;
    return is_float || is_uint;
}

static int
s_check_value (zjob_proto_ctx_t *ctx, const msgpack_object *value, const zjob_field_t *field,
               const s_path_t *path)
{
    char problem [160];
    switch (field->type) {
        case F_STR:
        case F_NAME:
        case F_ID:
        case F_STATUS:
        case F_PRIORITY:
        case F_SORT:
        case F_ORDER:
            return s_check_str (ctx, value, field, path);

        case F_UINT:
            if (value->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                return s_fail_type (ctx, path, "an unsigned integer", value);
            if (value->via.u64 < field->min || value->via.u64 > field->max) {
                snprintf (problem, sizeof (problem), "%" PRIu64 " is out of range %" PRIu64 "..%" PRIu64, value->via.u64, field->min, field->max);
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
            }
            return 0;

        case F_PROGRESS: {
            double number;
            if (!s_number (value, &number))
                return s_fail_type (ctx, path, "a number", value);
            if (!(number >= 0.0 && number <= 1.0))
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, "not a number in 0..1");
            return 0;
        }
        case F_NUMBER: {
            double number;
            if (!s_number (value, &number))
                return s_fail_type (ctx, path, "a number", value);
            if (!(number >= (double) field->min && number <= (double) field->max)) {
                snprintf (problem, sizeof (problem), "%.1f to %.1f, not %g", (double) field->min,
                          (double) field->max, number);
                return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
            }
            return 0;
        }
        case F_BOOL:
            if (value->type != MSGPACK_OBJECT_BOOLEAN)
                return s_fail_type (ctx, path, "a boolean", value);
            return 0;

        case F_BIN:
            if (value->type != MSGPACK_OBJECT_BIN)
                return s_fail_type (ctx, path, "a bin (an encoded msgpack map)", value);
            if (field->max && value->via.bin.size > field->max) {
                snprintf (problem, sizeof (problem), "%" PRIu32 " bytes, over the limit of %" PRIu64, value->via.bin.size, field->max);
                return s_fail (ctx, path, ZJOB_TOO_LARGE, problem);
            }
            return 0;

        case F_MAP:
            if (value->type != MSGPACK_OBJECT_MAP)
                return s_fail_type (ctx, path, "a map", value);
            return 0;

        case F_MAPS:
        case F_NAMES:
        case F_IDS:
        case F_UINTS:
        case F_STATUSES:
            return s_check_list (ctx, value, field, path);
        case F_FILTER:
            return s_check_filter (ctx, value, field, path);
        case F_SPECS:
            return s_check_specs (ctx, value, field, path);
        case F_ITEMS:
            return s_check_items (ctx, value, field, path);
        case F_PARENTS:
            return s_check_parents (ctx, value, field, path);
    }
    return s_fail (ctx, path, ZJOB_INTERNAL, "unknown field type");
}

//  Check a map against a table: values[i] becomes the value of field i
//  (NULL if absent or nil). Unknown keys are skipped.
static int
s_check_map (zjob_proto_ctx_t *ctx, const msgpack_object *map, const zjob_ftable_t *table,
             const msgpack_object **values, const s_path_t *path)
{
    for (size_t i = 0; i < table->count; i++)
        values [i] = NULL;
    uint64_t seen = 0;     //  Bit per field: its key was read
    uint32_t unknown = 0;  //  Keys not in the table
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr [i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return s_fail (ctx, path, ZJOB_BAD_REQUEST, "a key is not a string");
        //  The first byte turns most fields down before a strlen
        uint32_t size = kv->key.via.str.size;
        const char *name = kv->key.via.str.ptr;
        size_t f;
        for (f = 0; f < table->count; f++) {
            const char *key = table->fields [f].key;
            if (size && key [0] == name [0] && strlen (key) == size
                && memcmp (key, name, size) == 0) {
                s_path_t field = { path, key, 0 };
                if (seen & (1ull << f))
                    return s_fail (ctx, &field, ZJOB_BAD_REQUEST, "key given twice");
                seen |= 1ull << f;
                if (kv->val.type != MSGPACK_OBJECT_NIL)
                    values [f] = &kv->val;
                break;
            }
        }
        unknown += f == table->count;
    }
    //  An unknown key can only repeat another unknown key, so the usual
    //  body, with at most one, pays nothing for this
    uint32_t repeat;
    int repeated = unknown > 1 ? zjob_msgpack_map_repeated (map, &repeat) : 0;
    if (repeated < 0)
        return s_fail_memory (ctx);
    if (repeated) {
        const msgpack_object_str *key = &map->via.map.ptr [repeat].key.via.str;
        char name [64], problem [120];
        zjob_proto_printable (name, sizeof (name), key->ptr, key->size);
        snprintf (problem, sizeof (problem), "key \"%s\" given twice", name);
        return s_fail (ctx, path, ZJOB_BAD_REQUEST, problem);
    }
    //  What was sent is checked before what is missing: a field of the
    //  wrong type is the more useful thing to hear about
    for (size_t f = 0; f < table->count; f++) {
        s_path_t field = { path, table->fields [f].key, 0 };
        if (values [f] && s_check_value (ctx, values [f], &table->fields [f], &field))
            return -1;
    }
    for (size_t f = 0; f < table->count; f++) {
        s_path_t field = { path, table->fields [f].key, 0 };
        if (!values [f] && table->fields [f].required)
            return s_fail (ctx, &field, ZJOB_BAD_REQUEST, "missing");
    }
    return 0;
}


//  --------------------------------------------------------------------------
//  Building structures from checked bodies

int
zjob_post_submit (zjob_proto_ctx_t *ctx, const msgpack_object **values)
{
    ctx->msg->auto_start = values [SU_AUTO] ? values [SU_AUTO]->via.boolean : true;
    ctx->msg->batch = values [SU_BATCH];  //  The batches module reads it
    return 0;
}

int
zjob_post_list (zjob_proto_ctx_t *ctx, const msgpack_object **values)
{
    zjob_query_t *query = &ctx->msg->query;
    memset (query, 0, sizeof (*query));
    if (ctx->msg->has_filter)
        query->filter = ctx->msg->filter;
    if (values [LI_SORT])
        query->sort_by = (zjob_sort_t) s_enum_value (values [LI_SORT], s_sort_of, SORT_COUNT);
    if (values [LI_ORDER])
        query->descending = s_enum_value (values [LI_ORDER], s_order_of, 2) == 1;
    if (values [LI_LIMIT])
        query->limit = (size_t) values [LI_LIMIT]->via.u64;
    if (values [LI_OFFSET])
        //  Any uint64: past the total it is an empty page (SIZE_MAX is
        //  past any total a 32-bit broker can hold)
        query->offset = values [LI_OFFSET]->via.u64 > SIZE_MAX
            ? SIZE_MAX
            : (size_t) values [LI_OFFSET]->via.u64;
    ctx->msg->has_query = true;
    return 0;
}

int
zjob_post_target (zjob_proto_ctx_t *ctx, const msgpack_object **values)
{
    int given = !!values [TA_ID] + !!values [TA_IDS] + !!values [TA_FILTER];
    if (given != 1)
        return s_fail (ctx, NULL, ZJOB_BAD_REQUEST,
                       given ? "give only one of id, ids and filter"
                             : "give one of id, ids and filter");
    zjob_target_t *target = &ctx->msg->target;
    memset (target, 0, sizeof (*target));
    msgpack_zone *zone = ctx->msg->zone;
    if (values [TA_ID] && !(target->id = zjob_proto_zone_str (zone, values [TA_ID])))
        return s_fail_memory (ctx);
    if (values [TA_IDS]) {
        bool ok;
        target->ids = zjob_proto_zone_strs (zone, values [TA_IDS], &ok);
        if (!ok)
            return s_fail_memory (ctx);
        target->id_count = values [TA_IDS]->via.array.size;
    }
    if (values [TA_FILTER]) {
        if (zjob_proto_filter_empty (&ctx->msg->filter)) {
            s_path_t field = { NULL, "filter", 0 };
            return s_fail (ctx, &field, ZJOB_BAD_REQUEST,
                           "no criterion: it would match every job");
        }
        target->filter = &ctx->msg->filter;
    }
    ctx->msg->has_target = true;
    return 0;
}

int
zjob_post_worker_target (zjob_proto_ctx_t *ctx, const msgpack_object **values)
{
    zjob_target_t *target = &ctx->msg->target;
    memset (target, 0, sizeof (*target));
    if (!(target->id = zjob_proto_zone_str (ctx->msg->zone, values [0])))
        return s_fail_memory (ctx);
    ctx->msg->has_target = true;
    return 0;
}

//  Build one result from a checked result map's values (RE_ID..RE_MESSAGE)
static int
s_build_result (zjob_proto_ctx_t *ctx, const msgpack_object **v, const s_path_t *path,
                zjob_result_t *result)
{
    int status = s_enum_value (v [RE_STATUS], s_status_of, ZJOB_STATUS_COUNT);
    if (status != ZJOB_COMPLETED && status != ZJOB_FAILED) {
        s_path_t field = { path, "status", 0 };
        return s_fail (ctx, &field, ZJOB_BAD_REQUEST, "must be completed or failed");
    }
    memset (result, 0, sizeof (*result));
    msgpack_zone *zone = ctx->msg->zone;
    result->completed = status == ZJOB_COMPLETED;
    if (!(result->id = zjob_proto_zone_str (zone, v [RE_ID])))
        return s_fail_memory (ctx);
    if (v [RE_OUTPUTS] && v [RE_OUTPUTS]->via.bin.size) {
        result->outputs = (const uint8_t *) v [RE_OUTPUTS]->via.bin.ptr;
        result->outputs_size = v [RE_OUTPUTS]->via.bin.size;
    }
    if (v [RE_KIND] && !(result->error_kind = zjob_proto_zone_str (zone, v [RE_KIND])))
        return s_fail_memory (ctx);
    if (v [RE_MESSAGE] && !(result->error_message = zjob_proto_zone_str (zone, v [RE_MESSAGE])))
        return s_fail_memory (ctx);
    if (v [RE_ATTEMPT])
        result->attempt = (uint32_t) v [RE_ATTEMPT]->via.u64;
    result->permanent = !result->completed && v [RE_PERMANENT] && v [RE_PERMANENT]->via.boolean;
    return 0;
}

//  RESULT: one result (id, status...) or several (results), not both
int
zjob_post_result (zjob_proto_ctx_t *ctx, const msgpack_object **values)
{
    const msgpack_object *list = values [RE_RESULTS];
    if (list
        && (values [RE_ID] || values [RE_STATUS] || values [RE_OUTPUTS] || values [RE_KIND]
            || values [RE_MESSAGE] || values [RE_ATTEMPT] || values [RE_PERMANENT]))
        return s_fail (ctx, NULL, ZJOB_BAD_REQUEST,
                       "give either one result (id, status...) or results, not both");
    if (!list) {
        s_path_t field = { NULL, values [RE_ID] ? "status" : "id", 0 };
        if (!values [RE_ID] || !values [RE_STATUS])
            return s_fail (ctx, &field, ZJOB_BAD_REQUEST, "missing");
    }
    size_t count = list ? list->via.array.size : 1;
    zjob_result_t *results = (zjob_result_t *) msgpack_zone_malloc (ctx->msg->zone,
                                                                    count * sizeof (zjob_result_t));
    if (!results)
        return s_fail_memory (ctx);
    if (!list && s_build_result (ctx, values, NULL, &results [0]))
        return -1;
    for (size_t i = 0; list && i < count; i++) {
        s_path_t field = { NULL, "results", 0 };
        s_path_t item = { &field, NULL, i };
        const msgpack_object *v [FIELDS_MAX];
        if (s_check_map (ctx, &list->via.array.ptr [i], &zjob_result_item_table, v, &item)
            || s_build_result (ctx, v, &item, &results [i]))
            return -1;
    }
    ctx->msg->results = results;
    ctx->msg->result_count = count;
    return 0;
}

//  JOB: one job (job) or several (jobs), exactly one of the two
int
zjob_post_job (zjob_proto_ctx_t *ctx, const msgpack_object **values)
{
    if (!values [JO_JOB] == !values [JO_JOBS])
        return s_fail (ctx, NULL, ZJOB_BAD_REQUEST,
                       values [JO_JOB] ? "give either job or jobs, not both"
                                       : "give one of job and jobs");
    return 0;
}


int
zjob_proto_check_result_error (zjob_proto_ctx_t *ctx, const msgpack_object *item,
                               const msgpack_object **id_p, uint64_t *code_p,
                               const msgpack_object **message_p)
{
    const msgpack_object *v [FIELDS_MAX];
    if (s_check_map (ctx, item, &zjob_result_error_table, v, NULL))
        return -1;
    *id_p = v [RX_ID];
    *code_p = v [RX_CODE]->via.u64;
    *message_p = v [RX_MESSAGE];
    return 0;
}


//  --------------------------------------------------------------------------
//  Bodies checked for zjob_proto.c

int
zjob_proto_check_body (zjob_proto_ctx_t *ctx)
{
    zjob_msg_t *self = ctx->msg;
    if (self->body->type != MSGPACK_OBJECT_MAP)
        return s_fail_type (ctx, NULL, "a map", self->body);
    const zjob_schema_t *schema = zjob_schema_find (self->command, self->route);
    if (schema) {
        const msgpack_object *values [FIELDS_MAX];
        if (s_check_map (ctx, self->body, &schema->body, values, NULL)
            || (schema->post && schema->post (ctx, values)))
            return -1;
    }
    return 0;
}

int
zjob_proto_check_reply (zjob_proto_ctx_t *ctx, const msgpack_object *body,
                        zjob_cmd_t request, zjob_route_t route)
{
    const zjob_schema_t *schema = zjob_schema_find (request, route);
    if (!schema)
        return 0;
    const msgpack_object *values [FIELDS_MAX];
    return s_check_map (ctx, body, &schema->reply, values, NULL);
}
