/*  =========================================================================
    zjob_proto_build - encoding: the message builder, and the event topics

    Every message zjob sends is written here, through one reusable builder:
    begin (envelope and an empty body), add fields, end into a frame. The
    body is a map32 whose count is patched at the end, and the nested
    arrays and maps of a reply (jobs, results, stats, workers) are written
    the same way, so no caller counts a map by hand. Builders take plain
    structs (zjob_spec_t, zjob_stats_t, zjob_worker_info_t...), so the
    broker, the client and the worker never see msgpack. An allocation
    that fails marks the builder failed, and end reports it once.

    The event topics (PROTOCOL.md 11) are here too: the strings an EVENT is
    published under, and the prefixes a subscriber asks for.
    ========================================================================= */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_proto_impl.h"

//  --------------------------------------------------------------------------
//  Encoding

struct _zjob_msg_builder_t {
    msgpack_sbuffer buffer;  //  The message being written
    msgpack_packer pk;       //  Writes into buffer
    size_t body_at;          //  Offset of the body's map32 header
    uint32_t keys;           //  Keys in the body so far
    bool failed;             //  A write ran out of memory
};

//  Room kept free when packing a page of jobs, for the fields after it
#define JOBS_MARGIN (64 * 1024)

zjob_msg_builder_t *
zjob_msg_builder_new (void)
{
    zjob_msg_builder_t *self = (zjob_msg_builder_t *) calloc (1, sizeof (zjob_msg_builder_t));
    if (self) {
        msgpack_sbuffer_init (&self->buffer);
        msgpack_packer_init (&self->pk, &self->buffer, msgpack_sbuffer_write);
    }
    return self;
}

void
zjob_msg_builder_destroy (zjob_msg_builder_t **self_p)
{
    if (self_p && *self_p) {
        msgpack_sbuffer_destroy (&(*self_p)->buffer);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Write a 32-bit count placeholder with its header byte; returns its offset
static size_t
s_placeholder (zjob_msg_builder_t *self, uint8_t header)
{
    size_t at = self->buffer.size;
    const char bytes [5] = { (char) header, 0, 0, 0, 0 };
    self->failed |= msgpack_sbuffer_write (&self->buffer, bytes, sizeof (bytes)) != 0;
    return at;
}

static void
s_patch_count (zjob_msg_builder_t *self, size_t at, uint32_t count)
{
    if (self->failed || at + 5 > self->buffer.size)
        return;
    uint8_t *p = (uint8_t *) self->buffer.data + at + 1;
    p [0] = (uint8_t) (count >> 24);
    p [1] = (uint8_t) (count >> 16);
    p [2] = (uint8_t) (count >> 8);
    p [3] = (uint8_t) count;
}

static void
s_pack_cstr (zjob_msg_builder_t *self, const char *text)
{
    self->failed |= msgpack_pack_str_with_body (&self->pk, text, strlen (text)) != 0;
}

void
zjob_msg_begin (zjob_msg_builder_t *self, zjob_cmd_t cmd, uint64_t request_id)
{
    if (!self)
        return;
    self->buffer.size = 0;
    self->failed = false;
    self->keys = 0;
    self->failed |= msgpack_pack_array (&self->pk, 4) != 0;
    self->failed |= msgpack_pack_uint32 (&self->pk, ZJOB_PROTO_VERSION) != 0;
    s_pack_cstr (self, zjob_cmd_name (cmd));
    self->failed |= msgpack_pack_uint64 (&self->pk, request_id) != 0;
    self->body_at = s_placeholder (self, 0xdf);  //  map32
}

msgpack_packer *
zjob_msg_add_key (zjob_msg_builder_t *self, const char *key)
{
    s_pack_cstr (self, key);
    self->keys++;
    return &self->pk;
}

void
zjob_msg_add_str (zjob_msg_builder_t *self, const char *key, const char *value)
{
    if (value) {
        zjob_msg_add_key (self, key);
        s_pack_cstr (self, value);
    }
}

void
zjob_msg_add_uint (zjob_msg_builder_t *self, const char *key, uint64_t value)
{
    self->failed |= msgpack_pack_uint64 (zjob_msg_add_key (self, key), value) != 0;
}

void
zjob_msg_add_int (zjob_msg_builder_t *self, const char *key, int64_t value)
{
    self->failed |= msgpack_pack_int64 (zjob_msg_add_key (self, key), value) != 0;
}

void
zjob_msg_add_float (zjob_msg_builder_t *self, const char *key, double value)
{
    self->failed |= msgpack_pack_double (zjob_msg_add_key (self, key), value) != 0;
}

void
zjob_msg_add_bool (zjob_msg_builder_t *self, const char *key, bool value)
{
    msgpack_packer *pk = zjob_msg_add_key (self, key);
    self->failed |= (value ? msgpack_pack_true (pk) : msgpack_pack_false (pk)) != 0;
}

void
zjob_msg_add_bin (zjob_msg_builder_t *self, const char *key, const void *data, size_t size)
{
    if (data)
        self->failed |= msgpack_pack_bin_with_body (zjob_msg_add_key (self, key), data, size) != 0;
}

static void
s_pack_strs (zjob_msg_builder_t *self, const char *const *values, size_t count)
{
    self->failed |= msgpack_pack_array (&self->pk, count) != 0;
    for (size_t i = 0; i < count; i++)
        s_pack_cstr (self, values [i] ? values [i] : "");
}

void
zjob_msg_add_strs (zjob_msg_builder_t *self, const char *key, const char *const *values,
                   size_t count)
{
    zjob_msg_add_key (self, key);
    s_pack_strs (self, values, values ? count : 0);
}

void
zjob_msg_add_uints (zjob_msg_builder_t *self, const char *key, const uint64_t *values,
                    size_t count)
{
    zjob_msg_add_key (self, key);
    if (!values)
        count = 0;
    self->failed |= msgpack_pack_array (&self->pk, count) != 0;
    for (size_t i = 0; i < count; i++)
        self->failed |= msgpack_pack_uint64 (&self->pk, values [i]) != 0;
}

//  The retry policy's keys a spec writes
static size_t
s_policy_keys (const zjob_spec_t *spec)
{
    return (zjob_backoff_name (spec->backoff) != NULL) + (spec->backoff_base_ms != 0)
        + (spec->backoff_factor != 0.0) + (spec->backoff_max_ms != 0)
        + (zjob_jitter_name (spec->jitter) != NULL) + (spec->no_retry != NULL)
        + (spec->timeout_ms != 0) + (spec->heartbeat_timeout_ms != 0);
}

//  A C spec's time: ZJOB_TIMEOUT_NONE is 0 on the wire
static void
s_pack_ms (zjob_msg_builder_t *self, const char *key, uint32_t value)
{
    if (!value)
        return;
    s_pack_cstr (self, key);
    self->failed |= msgpack_pack_uint32 (&self->pk, value == ZJOB_TIMEOUT_NONE ? 0 : value) != 0;
}

//  Pack the retry policy's keys a spec gives
static void
s_pack_policy (zjob_msg_builder_t *self, const zjob_spec_t *spec)
{
    if (zjob_backoff_name (spec->backoff)) {
        s_pack_cstr (self, "backoff");
        s_pack_cstr (self, zjob_backoff_name (spec->backoff));
    }
    s_pack_ms (self, "backoff_base_ms", spec->backoff_base_ms);
    if (spec->backoff_factor != 0.0) {
        s_pack_cstr (self, "backoff_factor");
        self->failed |= msgpack_pack_double (&self->pk, spec->backoff_factor) != 0;
    }
    if (spec->backoff_max_ms) {
        s_pack_cstr (self, "backoff_max_ms");
        self->failed |= msgpack_pack_uint32 (&self->pk, spec->backoff_max_ms) != 0;
    }
    if (zjob_jitter_name (spec->jitter)) {
        s_pack_cstr (self, "jitter");
        s_pack_cstr (self, zjob_jitter_name (spec->jitter));
    }
    if (spec->no_retry) {
        s_pack_cstr (self, "no_retry");
        s_pack_strs (self, spec->no_retry, spec->no_retry_count);
    }
    s_pack_ms (self, "timeout_ms", spec->timeout_ms);
    s_pack_ms (self, "heartbeat_timeout_ms", spec->heartbeat_timeout_ms);
}

//  The workflow keys of a spec: how many, and packing them. depends_on
//  holds the ids (str) then the positions (uint), in one array; schedule_id
//  and scheduled_for are the broker's own, never sent.
static size_t
s_workflow_keys (const zjob_spec_t *spec)
{
    return (spec->depends_on_count + spec->depends_on_index_count > 0)
        + (spec->on_parent_failure != ZJOB_ON_PARENT_FAIL) + (spec->batch_id != NULL)
        + (spec->template_name != NULL) + (spec->unique_key != NULL);
}

static void
s_pack_workflow (zjob_msg_builder_t *self, const zjob_spec_t *spec)
{
    msgpack_packer *pk = &self->pk;
    size_t ids = spec->depends_on ? spec->depends_on_count : 0;
    size_t positions = spec->depends_on_index ? spec->depends_on_index_count : 0;
    if (spec->depends_on_count + spec->depends_on_index_count > 0) {
        s_pack_cstr (self, "depends_on");
        self->failed |= msgpack_pack_array (pk, ids + positions) != 0;
        for (size_t i = 0; i < ids; i++)
            s_pack_cstr (self, spec->depends_on [i] ? spec->depends_on [i] : "");
        for (size_t i = 0; i < positions; i++)
            self->failed |= msgpack_pack_uint32 (pk, spec->depends_on_index [i]) != 0;
    }
    if (spec->on_parent_failure != ZJOB_ON_PARENT_FAIL) {
        s_pack_cstr (self, "on_parent_failure");
        s_pack_cstr (self, zjob_on_parent_name (spec->on_parent_failure));
    }
    const char *keys [] = { "batch_id", "template", "unique_key" };
    const char *values [] = { spec->batch_id, spec->template_name, spec->unique_key };
    for (size_t i = 0; i < 3; i++)
        if (values [i]) {
            s_pack_cstr (self, keys [i]);
            s_pack_cstr (self, values [i]);
        }
}

//  Pack one spec map, with room for extra pairs the caller packs after
static void
s_pack_spec (zjob_msg_builder_t *self, const zjob_spec_t *spec, size_t extra)
{
    bool inputs = spec->inputs && spec->inputs_size;
    bool metadata = spec->metadata && spec->metadata_size;
    bool tags = spec->tags && spec->tag_count;
    bool priority = spec->priority != ZJOB_PRIORITY_UNSET;
    //  A spec made from a template may leave its workflow to it
    bool workflow = spec->workflow_id || !spec->template_name;
    size_t count = workflow + inputs + priority + (spec->user_id != NULL) + tags
        + metadata + (spec->idempotency_key != NULL) + (spec->max_attempts != 0)
        + (spec->run_at > 0) + s_policy_keys (spec) + s_workflow_keys (spec) + extra;
    msgpack_packer *pk = &self->pk;
    self->failed |= msgpack_pack_map (pk, count) != 0;
    if (workflow) {
        s_pack_cstr (self, "workflow_id");
        s_pack_cstr (self, spec->workflow_id ? spec->workflow_id : "");
    }
    if (inputs) {
        s_pack_cstr (self, "inputs");
        self->failed |= msgpack_pack_bin_with_body (pk, spec->inputs, spec->inputs_size) != 0;
    }
    if (priority) {
        s_pack_cstr (self, "priority");
        s_pack_cstr (self, zjob_priority_name (spec->priority));
    }
    if (spec->user_id) {
        s_pack_cstr (self, "user_id");
        s_pack_cstr (self, spec->user_id);
    }
    if (tags) {
        s_pack_cstr (self, "tags");
        s_pack_strs (self, spec->tags, spec->tag_count);
    }
    if (metadata) {
        s_pack_cstr (self, "metadata");
        self->failed |= msgpack_pack_bin_with_body (pk, spec->metadata, spec->metadata_size) != 0;
    }
    if (spec->idempotency_key) {
        s_pack_cstr (self, "idempotency_key");
        s_pack_cstr (self, spec->idempotency_key);
    }
    if (spec->max_attempts) {  //  On the wire 0 is "no limit"
        s_pack_cstr (self, "max_attempts");
        self->failed |= msgpack_pack_uint32 (pk, spec->max_attempts == ZJOB_ATTEMPTS_UNLIMITED ? 0 : spec->max_attempts)
            != 0;
    }
    if (spec->run_at > 0) {
        s_pack_cstr (self, "run_at");
        self->failed |= msgpack_pack_uint64 (pk, (uint64_t) spec->run_at) != 0;
    }
    s_pack_policy (self, spec);
    s_pack_workflow (self, spec);
}

void
zjob_msg_add_specs (zjob_msg_builder_t *self, const char *key, const zjob_spec_t *specs,
                    size_t count)
{
    zjob_msg_add_key (self, key);
    if (!specs)
        count = 0;
    self->failed |= msgpack_pack_array (&self->pk, count) != 0;
    for (size_t i = 0; i < count; i++)
        s_pack_spec (self, &specs [i], 0);
}

void
zjob_msg_add_spec (zjob_msg_builder_t *self, const char *key, const zjob_spec_t *spec)
{
    assert (spec);
    zjob_msg_add_key (self, key);
    s_pack_spec (self, spec, 0);
}

void
zjob_msg_add_template (zjob_msg_builder_t *self, const char *key,
                       const zjob_template_info_t *info)
{
    assert (info && info->spec);
    zjob_msg_add_key (self, key);
    s_pack_spec (self, info->spec, 3);
    s_pack_cstr (self, "name");
    s_pack_cstr (self, info->name ? info->name : "");
    s_pack_cstr (self, "created_at");
    self->failed |= msgpack_pack_uint64 (&self->pk, (uint64_t) info->created_at) != 0;
    s_pack_cstr (self, "updated_at");
    self->failed |= msgpack_pack_uint64 (&self->pk, (uint64_t) info->updated_at) != 0;
}

void
zjob_msg_add_templates (zjob_msg_builder_t *self, const char *key,
                        const zjob_template_info_t *infos, size_t count)
{
    zjob_msg_add_key (self, key);
    if (!infos)
        count = 0;
    self->failed |= msgpack_pack_array (&self->pk, (uint32_t) count) != 0;
    for (size_t index = 0; index < count; index++) {
        const zjob_spec_t *spec = infos [index].spec;
        bool priority = spec->priority != ZJOB_PRIORITY_UNSET;
        bool tags = spec->tags && spec->tag_count;
        self->failed |= msgpack_pack_map (&self->pk, 4 + priority + tags) != 0;
        s_pack_cstr (self, "name");
        s_pack_cstr (self, infos [index].name ? infos [index].name : "");
        s_pack_cstr (self, "workflow_id");
        s_pack_cstr (self, spec->workflow_id ? spec->workflow_id : "");
        if (priority) {
            s_pack_cstr (self, "priority");
            s_pack_cstr (self, zjob_priority_name (spec->priority));
        }
        if (tags) {
            s_pack_cstr (self, "tags");
            s_pack_strs (self, spec->tags, spec->tag_count);
        }
        s_pack_cstr (self, "created_at");
        self->failed |= msgpack_pack_uint64 (&self->pk, (uint64_t) infos [index].created_at) != 0;
        s_pack_cstr (self, "updated_at");
        self->failed |= msgpack_pack_uint64 (&self->pk, (uint64_t) infos [index].updated_at) != 0;
    }
}

void
zjob_msg_add_filter (zjob_msg_builder_t *self, const char *key, const zjob_filter_t *filter)
{
    zjob_filter_t none;
    if (!filter) {
        memset (&none, 0, sizeof (none));
        filter = &none;
    }
    bool tags = filter->tags && filter->tag_count;
    size_t statuses = 0;
    for (int s = 0; s < ZJOB_STATUS_COUNT; s++)
        statuses += (filter->status_mask >> s) & 1;
    size_t count = (statuses > 0) + (filter->workflow_id != NULL) + (filter->user_id != NULL)
        + tags + (filter->created_after > 0) + (filter->created_before > 0)
        + (filter->scheduled != ZJOB_SCHEDULED_ANY) + (filter->batch_id != NULL)
        + (filter->waiting_on != NULL) + (filter->schedule_id != NULL);
    msgpack_packer *pk = zjob_msg_add_key (self, key);
    self->failed |= msgpack_pack_map (pk, count) != 0;
    if (statuses) {
        s_pack_cstr (self, "status");
        self->failed |= msgpack_pack_array (pk, statuses) != 0;
        for (int s = 0; s < ZJOB_STATUS_COUNT; s++)
            if ((filter->status_mask >> s) & 1)
                s_pack_cstr (self, zjob_status_name ((zjob_status_t) s));
    }
    if (filter->workflow_id) {
        s_pack_cstr (self, "workflow_id");
        s_pack_cstr (self, filter->workflow_id);
    }
    if (filter->user_id) {
        s_pack_cstr (self, "user_id");
        s_pack_cstr (self, filter->user_id);
    }
    if (tags) {
        s_pack_cstr (self, "tags");
        s_pack_strs (self, filter->tags, filter->tag_count);
    }
    if (filter->created_after > 0) {
        s_pack_cstr (self, "created_after");
        self->failed |= msgpack_pack_uint64 (pk, (uint64_t) filter->created_after) != 0;
    }
    if (filter->created_before > 0) {
        s_pack_cstr (self, "created_before");
        self->failed |= msgpack_pack_uint64 (pk, (uint64_t) filter->created_before) != 0;
    }
    //  filter->now is not sent: the broker matches by its own clock
    if (filter->scheduled != ZJOB_SCHEDULED_ANY) {
        s_pack_cstr (self, "scheduled");
        self->failed |= (filter->scheduled == ZJOB_SCHEDULED_YES
                             ? msgpack_pack_true (pk)
                             : msgpack_pack_false (pk))
            != 0;
    }
    const char *keys [] = { "batch_id", "waiting_on", "schedule_id" };
    const char *values [] = { filter->batch_id, filter->waiting_on, filter->schedule_id };
    for (size_t i = 0; i < 3; i++)
        if (values [i]) {
            s_pack_cstr (self, keys [i]);
            s_pack_cstr (self, values [i]);
        }
}

void
zjob_msg_add_query (zjob_msg_builder_t *self, const zjob_query_t *query)
{
    if (!query)
        return;
    if (!zjob_proto_filter_empty (&query->filter))
        zjob_msg_add_filter (self, "filter", &query->filter);
    zjob_msg_add_str (self, "sort_by", zjob_sort_name (query->sort_by));
    zjob_msg_add_str (self, "order", query->descending ? "desc" : "asc");
    if (query->limit)
        zjob_msg_add_uint (self, "limit", query->limit);
    if (query->offset)
        zjob_msg_add_uint (self, "offset", query->offset);
}

void
zjob_msg_add_target (zjob_msg_builder_t *self, const zjob_target_t *target)
{
    if (!target)
        return;
    if (target->id)
        zjob_msg_add_str (self, "id", target->id);
    else if (target->ids)
        zjob_msg_add_strs (self, "ids", target->ids, target->id_count);
    else if (target->filter)
        zjob_msg_add_filter (self, "filter", target->filter);
}

void
zjob_msg_add_job (zjob_msg_builder_t *self, const char *key, const zjob_job_t *job)
{
    if (job)
        self->failed |= zjob_job_pack (job, zjob_msg_add_key (self, key)) != 0;
}

size_t
zjob_msg_add_jobs (zjob_msg_builder_t *self, const char *key, zjob_job_t *const *jobs,
                   size_t count)
{
    zjob_msg_add_key (self, key);
    size_t at = s_placeholder (self, 0xdd);  //  array32
    size_t added = 0;
    for (size_t i = 0; jobs && i < count && !self->failed; i++) {
        size_t before = self->buffer.size;
        self->failed |= zjob_job_pack (jobs [i], &self->pk) != 0;
        if (self->buffer.size > ZJOB_MSG_MAX - JOBS_MARGIN) {
            self->buffer.size = before;  //  Next page's
            break;
        }
        added++;
    }
    s_patch_count (self, at, (uint32_t) added);
    return added;
}

//  Pack one result map (the fields of a single RESULT but credit)
static void
s_pack_result (zjob_msg_builder_t *self, const zjob_result_t *result)
{
    bool failed = !result->completed;
    bool outputs = !failed && result->outputs;
    uint32_t fields = 2 + (outputs ? 1 : 0) + (failed && result->error_kind ? 1 : 0)
        + (failed && result->error_message ? 1 : 0) + (result->attempt != 0)
        + (failed && result->permanent);
    self->failed |= msgpack_pack_map (&self->pk, fields) != 0;
    s_pack_cstr (self, "id");
    s_pack_cstr (self, result->id ? result->id : "");
    s_pack_cstr (self, "status");
    s_pack_cstr (self, failed ? "failed" : "completed");
    if (outputs) {
        s_pack_cstr (self, "outputs");
        self->failed |= msgpack_pack_bin_with_body (&self->pk, result->outputs,
                                                    result->outputs_size)
            != 0;
    }
    if (failed && result->error_kind) {
        s_pack_cstr (self, "error_kind");
        s_pack_cstr (self, result->error_kind);
    }
    if (failed && result->error_message) {
        s_pack_cstr (self, "error_message");
        s_pack_cstr (self, result->error_message);
    }
    if (result->attempt) {
        s_pack_cstr (self, "attempt");
        self->failed |= msgpack_pack_uint32 (&self->pk, result->attempt) != 0;
    }
    if (failed && result->permanent) {
        s_pack_cstr (self, "permanent");
        self->failed |= msgpack_pack_true (&self->pk) != 0;
    }
}

void
zjob_msg_add_results (zjob_msg_builder_t *self, const char *key, const zjob_result_t *results,
                      size_t count)
{
    zjob_msg_add_key (self, key);
    if (!results)
        count = 0;
    self->failed |= msgpack_pack_array (&self->pk, count) != 0;
    for (size_t i = 0; i < count; i++)
        s_pack_result (self, &results [i]);
}

void
zjob_msg_add_result_errors (zjob_msg_builder_t *self, const char *const *ids,
                            const zjob_error_t *errors, size_t count)
{
    zjob_msg_add_key (self, "errors");
    if (!ids || !errors)
        count = 0;
    self->failed |= msgpack_pack_array (&self->pk, count) != 0;
    for (size_t i = 0; i < count; i++) {
        self->failed |= msgpack_pack_map (&self->pk, 3) != 0;
        s_pack_cstr (self, "id");
        s_pack_cstr (self, ids [i] ? ids [i] : "");
        s_pack_cstr (self, "code");
        self->failed |= msgpack_pack_uint64 (&self->pk, (uint64_t) errors [i].code) != 0;
        s_pack_cstr (self, "message");
        s_pack_cstr (self, errors [i].text);
    }
}

void
zjob_msg_add_bulk (zjob_msg_builder_t *self, uint64_t done, uint64_t failed,
                   const char *const *ids, const zjob_error_t *errors, size_t count)
{
    zjob_msg_add_uint (self, "done", done);
    zjob_msg_add_uint (self, "failed", failed);
    if (count && ids && errors)
        zjob_msg_add_result_errors (self, ids, errors, count);
}

//  A map of status name -> count: every status, or (sparse) those > 0
static void
s_pack_status_counts (zjob_msg_builder_t *self, const size_t counts [ZJOB_STATUS_COUNT],
                      bool sparse)
{
    uint32_t present = 0;
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
        present += !sparse || counts [status] > 0;
    self->failed |= msgpack_pack_map (&self->pk, present) != 0;
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
        if (!sparse || counts [status]) {
            s_pack_cstr (self, zjob_status_name ((zjob_status_t) status));
            self->failed |= msgpack_pack_uint64 (&self->pk, counts [status]) != 0;
        }
}

void
zjob_msg_add_stats (zjob_msg_builder_t *self, const zjob_stats_t *stats)
{
    uint64_t total = 0;
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
        total += stats->by_status [status];
    zjob_msg_add_uint (self, "jobs", total);
    zjob_msg_add_key (self, "by_status");
    s_pack_status_counts (self, stats->by_status, false);
    zjob_msg_add_key (self, "by_workflow");
    size_t workflows = stats->workflow_ids && stats->workflow_counts ? stats->workflow_count : 0;
    self->failed |= msgpack_pack_map (&self->pk, (uint32_t) workflows) != 0;
    for (size_t index = 0; index < workflows; index++) {
        s_pack_cstr (self, stats->workflow_ids [index] ? stats->workflow_ids [index] : "");
        s_pack_status_counts (self, stats->workflow_counts [index], true);
    }
    zjob_msg_add_uint (self, "queued", stats->queued);
    zjob_msg_add_uint (self, "active", stats->active);
    zjob_msg_add_uint (self, "workers", stats->workers);
    zjob_msg_add_uint (self, "slots", stats->slots);
    zjob_msg_add_uint (self, "busy", stats->busy);
    zjob_msg_add_uint (self, "max_concurrent", stats->max_concurrent);
    zjob_msg_add_uint (self, "scheduled", stats->scheduled);
    zjob_msg_add_uint (self, "retrying", stats->retrying);
    zjob_msg_add_uint (self, "dead", stats->dead);
    zjob_msg_add_bool (self, "held_by_limit", stats->held_by_limit);
    size_t held = stats->held_workflows && stats->held_reasons ? stats->held_count : 0;
    if (held) {
        zjob_msg_add_key (self, "held");
        self->failed |= msgpack_pack_map (&self->pk, (uint32_t) held) != 0;
        for (size_t index = 0; index < held; index++) {
            s_pack_cstr (self, stats->held_workflows [index] ? stats->held_workflows [index] : "");
            s_pack_cstr (self, stats->held_reasons [index] ? stats->held_reasons [index] : "");
        }
    }
    zjob_msg_add_uint (self, "paused_queues", stats->paused_queues);
    zjob_msg_add_key (self, "rates");
    self->failed |= msgpack_pack_map (&self->pk, 3) != 0;
    s_pack_cstr (self, "submitted");
    self->failed |= msgpack_pack_double (&self->pk, stats->submitted_rate) != 0;
    s_pack_cstr (self, "completed");
    self->failed |= msgpack_pack_double (&self->pk, stats->completed_rate) != 0;
    s_pack_cstr (self, "failed");
    self->failed |= msgpack_pack_double (&self->pk, stats->failed_rate) != 0;
    zjob_msg_add_uint (self, "rate_window_ms", stats->rate_window_ms);
    zjob_msg_add_uint (self, "uptime_ms", stats->uptime_ms);
    zjob_msg_add_uint (self, "subscriptions", stats->subscriptions);
    zjob_msg_add_uint (self, "templates", stats->templates);
    zjob_msg_add_uint (self, "queued_jobs", stats->queued_jobs);
    zjob_msg_add_uint (self, "queued_bytes", stats->queued_bytes);
    zjob_msg_add_uint (self, "max_queued", stats->max_queued);
    zjob_msg_add_uint (self, "max_queued_bytes", stats->max_queued_bytes);
    zjob_msg_add_uint (self, "max_pending", stats->max_pending);
    if (stats->store_name) {
        size_t figures = stats->store_keys && stats->store_values ? stats->store_count : 0;
        zjob_msg_add_key (self, "store");
        self->failed |= msgpack_pack_map (&self->pk, (uint32_t) figures + 1) != 0;
        s_pack_cstr (self, "name");
        s_pack_cstr (self, stats->store_name);
        for (size_t index = 0; index < figures; index++) {
            s_pack_cstr (self, stats->store_keys [index] ? stats->store_keys [index] : "");
            s_pack_cstr (self, stats->store_values [index] ? stats->store_values [index] : "");
        }
    }
    if (stats->history_submitted && stats->history_completed && stats->history_failed) {
        zjob_msg_add_key (self, "history");
        self->failed |= msgpack_pack_map (&self->pk, 4) != 0;
        s_pack_cstr (self, "minute");
        self->failed |= msgpack_pack_uint64 (&self->pk, stats->history_minute) != 0;
        const char *names [3] = { "submitted", "completed", "failed" };
        const uint64_t *counts [3] = { stats->history_submitted, stats->history_completed,
                                       stats->history_failed };
        for (size_t which = 0; which < 3; which++) {
            s_pack_cstr (self, names [which]);
            self->failed |= msgpack_pack_array (&self->pk, (uint32_t) stats->history_minutes) != 0;
            for (size_t index = 0; index < stats->history_minutes; index++)
                self->failed |= msgpack_pack_uint64 (&self->pk, counts [which][index]) != 0;
        }
    }
}

void
zjob_msg_add_metrics (zjob_msg_builder_t *self, const char *format, const char *text,
                      size_t size)
{
    zjob_msg_add_str (self, "format", format);
    zjob_msg_add_key (self, "text");
    self->failed |= msgpack_pack_str (&self->pk, size) != 0;
    self->failed |= msgpack_pack_str_body (&self->pk, text, size) != 0;
}

void
zjob_msg_add_queues (zjob_msg_builder_t *self, const zjob_queue_info_t *queues, size_t count)
{
    zjob_msg_add_key (self, "queues");
    if (!queues)
        count = 0;
    self->failed |= msgpack_pack_array (&self->pk, (uint32_t) count) != 0;
    for (size_t index = 0; index < count; index++) {
        const zjob_queue_info_t *queue = &queues [index];
        self->failed |= msgpack_pack_map (&self->pk, queue->held_by ? 8 : 7) != 0;
        s_pack_cstr (self, "workflow_id");
        s_pack_cstr (self, queue->workflow_id ? queue->workflow_id : "");
        s_pack_cstr (self, "paused");
        self->failed |= (queue->paused ? msgpack_pack_true (&self->pk)
                                       : msgpack_pack_false (&self->pk))
            != 0;
        s_pack_cstr (self, "concurrency");
        self->failed |= msgpack_pack_uint64 (&self->pk, queue->concurrency) != 0;
        s_pack_cstr (self, "rate");
        self->failed |= msgpack_pack_double (&self->pk, queue->rate) != 0;
        s_pack_cstr (self, "burst");
        self->failed |= msgpack_pack_double (&self->pk, queue->burst) != 0;
        s_pack_cstr (self, "queued");
        self->failed |= msgpack_pack_uint64 (&self->pk, queue->queued) != 0;
        s_pack_cstr (self, "running");
        self->failed |= msgpack_pack_uint64 (&self->pk, queue->running) != 0;
        if (queue->held_by) {
            s_pack_cstr (self, "held_by");
            s_pack_cstr (self, queue->held_by);
        }
    }
}

void
zjob_msg_add_workers (zjob_msg_builder_t *self, const zjob_worker_info_t *workers,
                      size_t count)
{
    zjob_msg_add_key (self, "workers");
    if (!workers)
        count = 0;
    self->failed |= msgpack_pack_array (&self->pk, (uint32_t) count) != 0;
    for (size_t index = 0; index < count; index++) {
        const zjob_worker_info_t *worker = &workers [index];
        const char *worker_id = worker->worker_id ? worker->worker_id : "";
        self->failed |= msgpack_pack_map (&self->pk, 9) != 0;
        s_pack_cstr (self, "worker_id");
        s_pack_cstr (self, worker_id);
        s_pack_cstr (self, "name");
        s_pack_cstr (self, worker->name ? worker->name : worker_id);
        s_pack_cstr (self, "workflows");
        s_pack_strs (self, worker->workflows, worker->workflows ? worker->workflow_count : 0);
        s_pack_cstr (self, "slots");
        self->failed |= msgpack_pack_uint64 (&self->pk, worker->slots) != 0;
        s_pack_cstr (self, "busy");
        self->failed |= msgpack_pack_uint64 (&self->pk, worker->busy) != 0;
        s_pack_cstr (self, "credit");
        self->failed |= msgpack_pack_uint64 (&self->pk, worker->credit) != 0;
        s_pack_cstr (self, "jobs");
        s_pack_strs (self, worker->jobs, worker->jobs ? worker->job_count : 0);
        s_pack_cstr (self, "connected_at");
        self->failed |= msgpack_pack_uint64 (&self->pk, worker->connected_at) != 0;
        s_pack_cstr (self, "last_seen");
        self->failed |= msgpack_pack_uint64 (&self->pk, worker->last_seen) != 0;
    }
}

void
zjob_msg_add_job_event (zjob_msg_builder_t *self, const char *type, const zjob_job_t *job,
                        int old_status)
{
    zjob_msg_add_str (self, "type", type);
    zjob_msg_add_uint (self, "time", (uint64_t) zjob_clock_ms ());
    if (!job)
        return;
    zjob_msg_add_str (self, "id", job->id);
    zjob_msg_add_str (self, "workflow_id", job->workflow_id);
    zjob_msg_add_str (self, "user_id", job->user_id);
    zjob_msg_add_str (self, "status", zjob_status_name ((zjob_status_t) job->status));
    if (old_status >= 0 && old_status < ZJOB_STATUS_COUNT)
        zjob_msg_add_str (self, "old_status", zjob_status_name ((zjob_status_t) old_status));
    if (job->attempts)
        zjob_msg_add_uint (self, "attempts", job->attempts);
    if (job->progress > 0 || job->progress_message) {
        float progress = job->progress;
        zjob_msg_add_float (self, "progress", progress >= 0 && progress <= 1 ? progress : 0);
        zjob_msg_add_str (self, "progress_message", job->progress_message);
    }
    zjob_msg_add_str (self, "error_kind", job->error_kind);
    zjob_msg_add_str (self, "error_message", job->error_message);
    zjob_msg_add_str (self, "worker_id", job->worker_id);
    //  A queued job that waits (delayed, or a retry's backoff): when
    if (job->status == ZJOB_QUEUED && job->run_at > job->queued_at)
        zjob_msg_add_uint (self, "run_at", (uint64_t) job->run_at);
}

void
zjob_msg_build_cancel (zjob_msg_builder_t *self, uint64_t request_id, const char *id,
                       const char *reason, uint32_t attempt)
{
    zjob_msg_begin (self, ZJOB_CMD_CANCEL, request_id);
    zjob_msg_add_str (self, "id", id);
    zjob_msg_add_str (self, "reason", reason);
    if (attempt)
        zjob_msg_add_uint (self, "attempt", attempt);
}

size_t
zjob_msg_builder_size (zjob_msg_builder_t *self)
{
    return self ? self->buffer.size : 0;
}

const uint8_t *
zjob_msg_end_data (zjob_msg_builder_t *self, size_t *size_p, zjob_error_t *err)
{
    *size_p = 0;
    if (!self || self->failed || !self->buffer.data) {
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory encoding a message");
        return NULL;
    }
    s_patch_count (self, self->body_at, self->keys);
    if (self->buffer.size > ZJOB_MSG_MAX) {
        zjob_error_set (err, ZJOB_TOO_LARGE, "message of %zu bytes is over the limit of %d bytes",
                        self->buffer.size, ZJOB_MSG_MAX);
        return NULL;
    }
    *size_p = self->buffer.size;
    return (const uint8_t *) self->buffer.data;
}

zframe_t *
zjob_msg_end (zjob_msg_builder_t *self, zjob_error_t *err)
{
    size_t size;
    const uint8_t *data = zjob_msg_end_data (self, &size, err);
    if (!data)
        return NULL;
    zframe_t *frame = zframe_new (data, size);
    if (!frame)
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory encoding a message");
    return frame;
}

zframe_t *
zjob_msg_error_new (uint64_t request_id, const zjob_error_t *err)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    if (!builder)
        return NULL;
    int code = err ? err->code : ZJOB_INTERNAL;
    zjob_msg_begin (builder, ZJOB_CMD_ERROR, request_id);
    zjob_msg_add_uint (builder, "code", code >= 100 && code <= 599 ? (uint64_t) code : ZJOB_INTERNAL);
    zjob_msg_add_str (builder, "message", err ? err->text : "");
    if (code == ZJOB_VERSION_MISMATCH) {
        uint64_t supported [] = { ZJOB_PROTO_VERSION };
        zjob_msg_add_uints (builder, "supported", supported, 1);
    }
    zframe_t *frame = zjob_msg_end (builder, NULL);
    zjob_msg_builder_destroy (&builder);
    return frame;
}

zframe_t *
zjob_msg_empty_new (zjob_cmd_t cmd, uint64_t request_id)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    if (!builder)
        return NULL;
    zjob_msg_begin (builder, cmd, request_id);
    zframe_t *frame = zjob_msg_end (builder, NULL);
    zjob_msg_builder_destroy (&builder);
    return frame;
}


//  --------------------------------------------------------------------------
//  Event topics

size_t
zjob_event_topics (const char *type, const char *workflow_id, const char *id,
                   char topics [ZJOB_EVENT_TOPICS][ZJOB_TOPIC_MAX])
{
    if (!type || !id)
        return 0;
    int rc;
    if (!workflow_id) {
        rc = snprintf (topics [0], ZJOB_TOPIC_MAX, "ev/%s/%s", type, id);
        return rc > 0 && rc < ZJOB_TOPIC_MAX ? 1 : 0;
    }
    rc = snprintf (topics [0], ZJOB_TOPIC_MAX, "ev/%s/%s/%s", type, workflow_id, id);
    if (rc <= 0 || rc >= ZJOB_TOPIC_MAX)
        return 0;
    rc = snprintf (topics [1], ZJOB_TOPIC_MAX, "wf/%s/%s/%s", workflow_id, type, id);
    if (rc <= 0 || rc >= ZJOB_TOPIC_MAX)
        return 0;
    rc = snprintf (topics [2], ZJOB_TOPIC_MAX, "job/%s/%s", id, type);
    if (rc <= 0 || rc >= ZJOB_TOPIC_MAX)
        return 0;
    return 3;
}

int
zjob_event_prefix (char *buf, size_t size, const char *type, const char *workflow_id,
                   const char *id)
{
    if (!buf || size == 0)
        return -1;
    int rc;
    if (id)
        rc = type ? snprintf (buf, size, "job/%s/%s", id, type)
                  : snprintf (buf, size, "job/%s/", id);
    else if (workflow_id)
        rc = type ? snprintf (buf, size, "wf/%s/%s/", workflow_id, type)
                  : snprintf (buf, size, "wf/%s/", workflow_id);
    else
        rc = type ? snprintf (buf, size, "ev/%s/", type)
                  : snprintf (buf, size, "ev/");
    return rc > 0 && (size_t) rc < size ? 0 : -1;
}


//  --------------------------------------------------------------------------
//  SCHEDULE's replies. A schedule is one map whose keys depend on what it
//  makes (a template, or a workflow with its job fields) and on its state
//  (last_due, last_job, last_error once it has fired): the keys are
//  counted first, then packed.

static void
s_sched_str (msgpack_packer *pk, bool *failed, const char *text)
{
    *failed |= msgpack_pack_str_with_body (pk, text, strlen (text)) != 0;
}

static void
s_sched_bin (msgpack_packer *pk, bool *failed, const uint8_t *data, size_t size)
{
    *failed |= msgpack_pack_bin_with_body (pk, data, size) != 0;
}

static void
s_sched_int (msgpack_packer *pk, bool *failed, int64_t value)
{
    *failed |= msgpack_pack_int64 (pk, value) != 0;
}

//  The map of one schedule on pk; returns false if packing failed
static bool
s_sched_pack (msgpack_packer *pk, const zjob_schedule_info_t *info, bool full)
{
    bool failed = false;
    bool inputs = full && info->inputs && info->inputs_size;
    bool metadata = full && info->metadata && info->metadata_size;
    bool priority = info->priority >= 0 && info->priority < ZJOB_PRIORITY_COUNT;
    uint32_t count = 7;  //  name cron timezone catch_up paused next created
    count += (info->template_name != NULL) + (info->workflow_id != NULL) + inputs + metadata
        + priority + (info->tag_count > 0) + (info->last_due > 0)
        + (info->last_job != NULL) + (info->last_error != NULL);
    failed |= msgpack_pack_map (pk, count) != 0;
    s_sched_str (pk, &failed, "name");
    s_sched_str (pk, &failed, info->name ? info->name : "");
    s_sched_str (pk, &failed, "cron");
    s_sched_str (pk, &failed, info->cron ? info->cron : "");
    s_sched_str (pk, &failed, "timezone");
    s_sched_str (pk, &failed, info->timezone && *info->timezone ? info->timezone : "UTC");
    s_sched_str (pk, &failed, "catch_up");
    failed |= (info->catch_up ? msgpack_pack_true (pk) : msgpack_pack_false (pk)) != 0;
    s_sched_str (pk, &failed, "paused");
    failed |= (info->paused ? msgpack_pack_true (pk) : msgpack_pack_false (pk)) != 0;
    if (info->template_name) {
        s_sched_str (pk, &failed, "template");
        s_sched_str (pk, &failed, info->template_name);
    }
    if (info->workflow_id) {
        s_sched_str (pk, &failed, "workflow_id");
        s_sched_str (pk, &failed, info->workflow_id);
    }
    if (inputs) {
        s_sched_str (pk, &failed, "inputs");
        s_sched_bin (pk, &failed, info->inputs, info->inputs_size);
    }
    if (metadata) {
        s_sched_str (pk, &failed, "metadata");
        s_sched_bin (pk, &failed, info->metadata, info->metadata_size);
    }
    if (priority) {
        s_sched_str (pk, &failed, "priority");
        s_sched_str (pk, &failed, zjob_priority_name ((zjob_priority_t) info->priority));
    }
    if (info->tag_count > 0) {
        s_sched_str (pk, &failed, "tags");
        failed |= msgpack_pack_array (pk, (uint32_t) info->tag_count) != 0;
        for (size_t index = 0; index < info->tag_count; index++)
            s_sched_str (pk, &failed, info->tags [index]);
    }
    s_sched_str (pk, &failed, "next");
    s_sched_int (pk, &failed, info->next);
    if (info->last_due > 0) {
        s_sched_str (pk, &failed, "last_due");
        s_sched_int (pk, &failed, info->last_due);
    }
    if (info->last_job) {
        s_sched_str (pk, &failed, "last_job");
        s_sched_str (pk, &failed, info->last_job);
    }
    if (info->last_error) {
        s_sched_str (pk, &failed, "last_error");
        s_sched_str (pk, &failed, info->last_error);
    }
    s_sched_str (pk, &failed, "created");
    s_sched_int (pk, &failed, info->created);
    return !failed;
}

void
zjob_msg_add_schedule (zjob_msg_builder_t *self, const char *key,
                       const zjob_schedule_info_t *info, bool full)
{
    if (!info)
        return;
    msgpack_packer *pk = zjob_msg_add_key (self, key);
    self->failed |= !s_sched_pack (pk, info, full);
}

void
zjob_msg_add_schedules (zjob_msg_builder_t *self, const char *key,
                        const zjob_schedule_info_t *infos, size_t count)
{
    msgpack_packer *pk = zjob_msg_add_key (self, key);
    if (!infos)
        count = 0;
    self->failed |= msgpack_pack_array (pk, (uint32_t) count) != 0;
    for (size_t index = 0; index < count; index++)
        self->failed |= !s_sched_pack (pk, &infos [index], false);
}
