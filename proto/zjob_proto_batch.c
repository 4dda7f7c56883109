/*  =========================================================================
    zjob_proto_batch - the wire form of batches

    SUBMIT's batch map is read here with a check of each key, since the
    field tables check one level only; a bad value is a 400 naming it
    ("batch.callback.workflow_id: required"). Unknown keys are refused, as
    the tables refuse them. Batch maps in replies and events are packed
    from zjob_batch_info_t and read back into it by the client (absent
    keys read as zero: a newer broker may add keys, an older one may
    leave some out).
    ========================================================================= */

#include "zjob_proto_batch.h"
#include "zjob_proto_impl.h"
#include "zjob_job_impl.h"
#include "zjob_msgpack.h"
#include <string.h>
#include <stdlib.h>

//  True if obj is a str of key
static bool
s_key_is (const msgpack_object *obj, const char *key)
{
    size_t len = strlen (key);
    return obj->type == MSGPACK_OBJECT_STR && obj->via.str.size == len
        && memcmp (obj->via.str.ptr, key, len) == 0;
}

//  A name at obj, copied into the zone; NULL with err filled if not one
static const char *
s_name (msgpack_zone *zone, const msgpack_object *obj, const char *what, zjob_error_t *err)
{
    const char *name = obj->type == MSGPACK_OBJECT_STR ? zjob_proto_zone_str (zone, obj) : NULL;
    if (!name || !zjob_name_valid (name)) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: expected a name (1..%d printable bytes, "
                                               "no spaces)",
                        what, ZJOB_NAME_MAX);
        return NULL;
    }
    return name;
}

//  A bin holding a msgpack map of at most ZJOB_DATA_MAX bytes. 0 or -1.
static int
s_map_bin (const msgpack_object *obj, const uint8_t **data_p, size_t *size_p, const char *what,
           zjob_error_t *err)
{
    if (obj->type != MSGPACK_OBJECT_BIN || obj->via.bin.size > ZJOB_DATA_MAX
        || (obj->via.bin.size
            && !zjob_msgpack_is_map ((const uint8_t *) obj->via.bin.ptr, obj->via.bin.size)))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: expected a bin holding a msgpack "
                                                      "map of at most %d bytes",
                               what, ZJOB_DATA_MAX);
    *data_p = obj->via.bin.size ? (const uint8_t *) obj->via.bin.ptr : NULL;
    *size_p = obj->via.bin.size;
    return 0;
}

//  The callback map: {workflow_id, inputs, priority, tags, metadata}
static int
s_callback (msgpack_zone *zone, const msgpack_object *map, zjob_spec_t *spec, zjob_error_t *err)
{
    memset (spec, 0, sizeof (*spec));
    spec->priority = ZJOB_PRIORITY_UNSET;
    if (map->type != MSGPACK_OBJECT_MAP)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "batch.callback: expected a map");
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr [i].key;
        const msgpack_object *value = &map->via.map.ptr [i].val;
        if (value->type == MSGPACK_OBJECT_NIL)
            continue;
        if (s_key_is (key, "workflow_id")) {
            if (!(spec->workflow_id = s_name (zone, value, "batch.callback.workflow_id", err)))
                return -1;
        }
        else if (s_key_is (key, "inputs")) {
            if (s_map_bin (value, &spec->inputs, &spec->inputs_size, "batch.callback.inputs", err))
                return -1;
        }
        else if (s_key_is (key, "metadata")) {
            if (s_map_bin (value, &spec->metadata, &spec->metadata_size,
                           "batch.callback.metadata", err))
                return -1;
        }
        else if (s_key_is (key, "priority")) {
            const char *name = value->type == MSGPACK_OBJECT_STR
                ? zjob_proto_zone_str (zone, value)
                : NULL;
            int priority = name ? (int) zjob_priority_parse (name) : -1;
            if (priority < 0)
                return zjob_error_set (err, ZJOB_BAD_REQUEST, "batch.callback.priority: "
                                                              "expected low, medium or high");
            spec->priority = (zjob_priority_t) priority;
        }
        else if (s_key_is (key, "tags")) {
            if (value->type != MSGPACK_OBJECT_ARRAY || value->via.array.size > ZJOB_TAGS_MAX)
                return zjob_error_set (err, ZJOB_BAD_REQUEST, "batch.callback.tags: expected "
                                                              "an array of at most %d names",
                                       ZJOB_TAGS_MAX);
            for (uint32_t t = 0; t < value->via.array.size; t++)
                if (!s_name (zone, &value->via.array.ptr [t], "batch.callback.tags", err))
                    return -1;
            bool ok;
            spec->tags = zjob_proto_zone_strs (zone, value, &ok);
            spec->tag_count = value->via.array.size;
            if (!ok)
                return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        }
        else
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "batch.callback: unknown key");
    }
    if (!spec->workflow_id)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "batch.callback.workflow_id: required");
    return 0;
}

int
zjob_msg_batch_opts (zjob_msg_t *msg, zjob_batch_opts_t *opts, zjob_spec_t *callback,
                     zjob_error_t *err)
{
    assert (msg && opts && callback);
    memset (opts, 0, sizeof (*opts));
    const msgpack_object *map = zjob_msg_submit_batch (msg);
    if (!map || map->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (map->type != MSGPACK_OBJECT_MAP)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "batch: expected a map");
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr [i].key;
        const msgpack_object *value = &map->via.map.ptr [i].val;
        if (value->type == MSGPACK_OBJECT_NIL)
            continue;
        if (s_key_is (key, "id")) {
            if (!(opts->id = s_name (msg->zone, value, "batch.id", err)))
                return -1;
        }
        else if (s_key_is (key, "open")) {
            if (value->type != MSGPACK_OBJECT_BOOLEAN)
                return zjob_error_set (err, ZJOB_BAD_REQUEST, "batch.open: expected a boolean");
            opts->open = value->via.boolean;
        }
        else if (s_key_is (key, "callback")) {
            if (s_callback (msg->zone, value, callback, err))
                return -1;
            opts->callback = callback;
        }
        else
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "batch: unknown key");
    }
    if (!opts->id)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "batch.id: required");
    return 1;
}


//  --------------------------------------------------------------------------
//  Building

static void
s_pack_str (msgpack_packer *pk, const char *text)
{
    size_t len = strlen (text);
    msgpack_pack_str (pk, len);
    msgpack_pack_str_body (pk, text, len);
}

void
zjob_msg_add_batch_opts (zjob_msg_builder_t *self, const char *key,
                         const zjob_batch_opts_t *opts)
{
    assert (self && key && opts);
    msgpack_packer *pk = zjob_msg_add_key (self, key);
    const zjob_spec_t *cb = opts->callback;
    msgpack_pack_map (pk, 1 + (opts->open ? 1 : 0) + (cb ? 1 : 0));
    s_pack_str (pk, "id");
    s_pack_str (pk, opts->id ? opts->id : "");
    if (opts->open) {
        s_pack_str (pk, "open");
        msgpack_pack_true (pk);
    }
    if (!cb)
        return;
    bool inputs = cb->inputs && cb->inputs_size;
    bool metadata = cb->metadata && cb->metadata_size;
    bool tags = cb->tags && cb->tag_count;
    bool priority = cb->priority != ZJOB_PRIORITY_UNSET;
    s_pack_str (pk, "callback");
    msgpack_pack_map (pk, 1 + inputs + metadata + tags + priority);
    s_pack_str (pk, "workflow_id");
    s_pack_str (pk, cb->workflow_id ? cb->workflow_id : "");
    if (inputs) {
        s_pack_str (pk, "inputs");
        msgpack_pack_bin_with_body (pk, cb->inputs, cb->inputs_size);
    }
    if (metadata) {
        s_pack_str (pk, "metadata");
        msgpack_pack_bin_with_body (pk, cb->metadata, cb->metadata_size);
    }
    if (priority) {
        s_pack_str (pk, "priority");
        s_pack_str (pk, zjob_priority_name (cb->priority));
    }
    if (tags) {
        s_pack_str (pk, "tags");
        msgpack_pack_array (pk, cb->tag_count);
        for (size_t t = 0; t < cb->tag_count; t++)
            s_pack_str (pk, cb->tags [t] ? cb->tags [t] : "");
    }
}

static void
s_pack_uint (msgpack_packer *pk, const char *key, uint64_t value)
{
    s_pack_str (pk, key);
    msgpack_pack_uint64 (pk, value);
}

//  One batch map; the callback keys only when there is a callback
static void
s_pack_batch (msgpack_packer *pk, const zjob_batch_info_t *info)
{
    bool callback = info->callback_workflow [0] != 0;
    bool job = info->callback_job [0] != 0;
    bool finished = info->finished_at > 0;
    msgpack_pack_map (pk, 8 + finished + callback + job);
    s_pack_str (pk, "id");
    s_pack_str (pk, info->id);
    s_pack_str (pk, "state");
    s_pack_str (pk, info->state);
    s_pack_uint (pk, "total", info->total);
    s_pack_uint (pk, "completed", info->completed);
    s_pack_uint (pk, "failed", info->failed);
    s_pack_uint (pk, "cancelled", info->cancelled);
    s_pack_uint (pk, "pending", info->pending);
    s_pack_uint (pk, "created_at", (uint64_t) info->created_at);
    if (finished)
        s_pack_uint (pk, "finished_at", (uint64_t) info->finished_at);
    if (callback) {
        s_pack_str (pk, "callback_workflow");
        s_pack_str (pk, info->callback_workflow);
    }
    if (job) {
        s_pack_str (pk, "callback_job");
        s_pack_str (pk, info->callback_job);
    }
}

void
zjob_msg_add_batch (zjob_msg_builder_t *self, const char *key, const zjob_batch_info_t *info)
{
    assert (self && key && info);
    s_pack_batch (zjob_msg_add_key (self, key), info);
}

void
zjob_msg_add_batches (zjob_msg_builder_t *self, const char *key,
                      const zjob_batch_info_t *infos, size_t count)
{
    assert (self && key);
    msgpack_packer *pk = zjob_msg_add_key (self, key);
    msgpack_pack_array (pk, infos ? count : 0);
    for (size_t index = 0; infos && index < count; index++)
        s_pack_batch (pk, &infos [index]);
}


//  --------------------------------------------------------------------------
//  Reading (the client's side)

//  Copy a str object into buf of size bytes (cut to fit)
static void
s_copy_str (const msgpack_object *obj, char *buf, size_t size)
{
    size_t len = obj->via.str.size < size - 1 ? obj->via.str.size : size - 1;
    memcpy (buf, obj->via.str.ptr, len);
    buf [len] = 0;
}

static int
s_read_batch (const msgpack_object *map, zjob_batch_info_t *info)
{
    memset (info, 0, sizeof (*info));
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return -1;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr [i].key;
        const msgpack_object *value = &map->via.map.ptr [i].val;
        if (value->type == MSGPACK_OBJECT_STR) {
            if (s_key_is (key, "id"))
                s_copy_str (value, info->id, sizeof (info->id));
            else if (s_key_is (key, "state"))
                s_copy_str (value, info->state, sizeof (info->state));
            else if (s_key_is (key, "callback_workflow"))
                s_copy_str (value, info->callback_workflow, sizeof (info->callback_workflow));
            else if (s_key_is (key, "callback_job"))
                s_copy_str (value, info->callback_job, sizeof (info->callback_job));
        }
        else if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            uint64_t number = value->via.u64;
            if (s_key_is (key, "total"))
                info->total = number;
            else if (s_key_is (key, "completed"))
                info->completed = number;
            else if (s_key_is (key, "failed"))
                info->failed = number;
            else if (s_key_is (key, "cancelled"))
                info->cancelled = number;
            else if (s_key_is (key, "pending"))
                info->pending = number;
            else if (s_key_is (key, "created_at"))
                info->created_at = (int64_t) number;
            else if (s_key_is (key, "finished_at"))
                info->finished_at = (int64_t) number;
        }
    }
    return info->id [0] ? 0 : -1;
}

int
zjob_msg_batch (zjob_msg_t *self, const char *key, zjob_batch_info_t *info)
{
    assert (self && key && info);
    return s_read_batch (zjob_msg_field (self, key), info);
}

int
zjob_msg_batches (zjob_msg_t *self, const char *key, zjob_batch_info_t **infos_p,
                  size_t *count_p, zjob_error_t *err)
{
    assert (self && key && infos_p && count_p);
    *infos_p = NULL;
    *count_p = 0;
    const msgpack_object *array = zjob_msg_field (self, key);
    if (!array || array->type != MSGPACK_OBJECT_ARRAY)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: expected an array of batches", key);
    size_t count = array->via.array.size;
    if (count == 0)
        return 0;
    zjob_batch_info_t *infos = (zjob_batch_info_t *) calloc (count, sizeof (zjob_batch_info_t));
    if (!infos)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    for (size_t index = 0; index < count; index++)
        if (s_read_batch (&array->via.array.ptr [index], &infos [index])) {
            free (infos);
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s[%zu]: not a batch", key, index);
        }
    *infos_p = infos;
    *count_p = count;
    return 0;
}
