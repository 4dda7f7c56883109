/*  =========================================================================
    zjob_schedules - recurring schedules (see zjob_schedules.h)

    The schedules live in memory as an array sorted by name (at most
    1,000: a binary search finds one, an insert moves pointers), each a
    decoded copy of its record; every change writes the whole record
    again (a few hundred bytes), so the store always holds what memory
    holds. The SCHEDULE command's handler is zjob_schedules_ops.c.
    ========================================================================= */

#include "zjob_schedules_impl.h"
#include "zjob_log.h"
#include "zjob_msgpack.h"
#include "zjob_store.h"
#include <stdlib.h>
#include <string.h>


//  --------------------------------------------------------------------------
//  One schedule

void
zjob_schedule_free (zjob_schedule_t **self_p)
{
    zjob_schedule_t *self = *self_p;
    if (!self)
        return;
    free (self->name);
    free (self->cron_text);
    free (self->tz);
    free (self->tpl);
    free (self->wf);
    free (self->inputs);
    free (self->metadata);
    for (size_t index = 0; index < self->tag_count; index++)
        free (self->tags [index]);
    free (self->tags);
    free (self->last_error);
    free (self);
    *self_p = NULL;
}

static char *
s_strndup (const char *text, size_t size)
{
    char *copy = (char *) malloc (size + 1);
    if (copy) {
        memcpy (copy, text, size);
        copy [size] = 0;
    }
    return copy;
}

static uint8_t *
s_memdup (const uint8_t *data, size_t size)
{
    uint8_t *copy = (uint8_t *) malloc (size ? size : 1);
    if (copy && size)
        memcpy (copy, data, size);
    return copy;
}

//  The record of a schedule (msgpack map), into sbuffer
static int
s_encode (const zjob_schedule_t *self, msgpack_sbuffer *buffer)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    uint32_t count = 6 + (self->tz != NULL) + (self->tpl != NULL) + (self->wf != NULL)
        + (self->inputs != NULL) + (self->metadata != NULL) + (self->priority >= 0)
        + (self->tag_count > 0) + (*self->last_job != 0) + (self->last_error != NULL);
    int rc = msgpack_pack_map (&pk, count);
#define S_KEY(key) rc |= msgpack_pack_str_with_body (&pk, key, strlen (key))
#define S_STR(value) rc |= msgpack_pack_str_with_body (&pk, value, strlen (value))
    S_KEY ("cron");
    S_STR (self->cron_text);
    if (self->tz) {
        S_KEY ("tz");
        S_STR (self->tz);
    }
    if (self->tpl) {
        S_KEY ("tpl");
        S_STR (self->tpl);
    }
    if (self->wf) {
        S_KEY ("wf");
        S_STR (self->wf);
    }
    if (self->inputs) {
        S_KEY ("in");
        rc |= msgpack_pack_bin_with_body (&pk, self->inputs, self->inputs_size);
    }
    if (self->metadata) {
        S_KEY ("meta");
        rc |= msgpack_pack_bin_with_body (&pk, self->metadata, self->metadata_size);
    }
    if (self->priority >= 0) {
        S_KEY ("pri");
        rc |= msgpack_pack_uint32 (&pk, (uint32_t) self->priority);
    }
    if (self->tag_count) {
        S_KEY ("tags");
        rc |= msgpack_pack_array (&pk, (uint32_t) self->tag_count);
        for (size_t index = 0; index < self->tag_count; index++)
            S_STR (self->tags [index]);
    }
    S_KEY ("paused");
    rc |= self->paused ? msgpack_pack_true (&pk) : msgpack_pack_false (&pk);
    S_KEY ("catch_up");
    rc |= self->catch_up ? msgpack_pack_true (&pk) : msgpack_pack_false (&pk);
    S_KEY ("next");
    rc |= msgpack_pack_int64 (&pk, self->next);
    S_KEY ("last_due");
    rc |= msgpack_pack_int64 (&pk, self->last_due);
    if (*self->last_job) {
        S_KEY ("last_job");
        S_STR (self->last_job);
    }
    if (self->last_error) {
        S_KEY ("last_error");
        S_STR (self->last_error);
    }
    S_KEY ("created");
    rc |= msgpack_pack_int64 (&pk, self->created);
#undef S_KEY
#undef S_STR
    return rc ? -1 : 0;
}

static bool
s_key_is (const msgpack_object *key, const char *name)
{
    size_t len = strlen (name);
    return key->type == MSGPACK_OBJECT_STR && key->via.str.size == len
        && memcmp (key->via.str.ptr, name, len) == 0;
}

static int
s_decode_str (const msgpack_object *value, char **out, size_t max)
{
    if (value->type != MSGPACK_OBJECT_STR || value->via.str.size > max)
        return -1;
    free (*out);
    *out = s_strndup (value->via.str.ptr, value->via.str.size);
    return *out ? 0 : -1;
}

static int
s_decode_bin (const msgpack_object *value, uint8_t **out, size_t *size)
{
    if (value->type != MSGPACK_OBJECT_BIN)
        return -1;
    free (*out);
    *size = value->via.bin.size;
    *out = s_memdup ((const uint8_t *) value->via.bin.ptr, *size);
    return *out ? 0 : -1;
}

static int
s_decode_tags (zjob_schedule_t *self, const msgpack_object *value)
{
    if (value->type != MSGPACK_OBJECT_ARRAY || value->via.array.size > ZJOB_TAGS_MAX
        || self->tags)
        return -1;
    self->tags = (char **) calloc (value->via.array.size + 1, sizeof (char *));
    if (!self->tags)
        return -1;
    for (uint32_t index = 0; index < value->via.array.size; index++) {
        if (s_decode_str (&value->via.array.ptr [index], &self->tags [index], ZJOB_NAME_MAX))
            return -1;
        self->tag_count++;
    }
    return 0;
}

static int
s_decode_int (const msgpack_object *value, int64_t *out)
{
    if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER && value->via.u64 <= INT64_MAX)
        *out = (int64_t) value->via.u64;
    else if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = value->via.i64;
    else
        return -1;
    return 0;
}

//  One key of a record; unknown keys are skipped
static int
s_decode_field (zjob_schedule_t *self, const msgpack_object *key, const msgpack_object *value)
{
    int64_t number = 0;
    if (s_key_is (key, "cron"))
        return s_decode_str (value, &self->cron_text, ZJOB_CRON_EXPR_MAX);
    if (s_key_is (key, "tz"))
        return s_decode_str (value, &self->tz, ZJOB_CRON_TZ_MAX);
    if (s_key_is (key, "tpl"))
        return s_decode_str (value, &self->tpl, ZJOB_NAME_MAX);
    if (s_key_is (key, "wf"))
        return s_decode_str (value, &self->wf, ZJOB_NAME_MAX);
    if (s_key_is (key, "in"))
        return s_decode_bin (value, &self->inputs, &self->inputs_size);
    if (s_key_is (key, "meta"))
        return s_decode_bin (value, &self->metadata, &self->metadata_size);
    if (s_key_is (key, "tags"))
        return s_decode_tags (self, value);
    if (s_key_is (key, "last_error"))
        return s_decode_str (value, &self->last_error, ZJOB_MESSAGE_MAX);
    if (s_key_is (key, "paused") || s_key_is (key, "catch_up")) {
        if (value->type != MSGPACK_OBJECT_BOOLEAN)
            return -1;
        *(s_key_is (key, "paused") ? &self->paused : &self->catch_up) = value->via.boolean;
        return 0;
    }
    if (s_key_is (key, "last_job")) {
        if (value->type != MSGPACK_OBJECT_STR || value->via.str.size > ZJOB_ID_LEN)
            return -1;
        memcpy (self->last_job, value->via.str.ptr, value->via.str.size);
        self->last_job [value->via.str.size] = 0;
        return 0;
    }
    if (s_key_is (key, "pri")) {
        if (s_decode_int (value, &number) || number < 0 || number >= ZJOB_PRIORITY_COUNT)
            return -1;
        self->priority = (int) number;
        return 0;
    }
    int64_t *slot = s_key_is (key, "next") ? &self->next
        : s_key_is (key, "last_due")       ? &self->last_due
        : s_key_is (key, "created")        ? &self->created
                                           : NULL;
    return slot ? s_decode_int (value, slot) : 0;
}

zjob_schedule_t *
zjob_schedule_decode (const char *name, const uint8_t *data, size_t size, zjob_error_t *err)
{
    size_t end = 0;
    if (zjob_msgpack_scan (data, size, 4, 1 << 16, &end) != ZJOB_SCAN_OK || end != size) {
        zjob_error_set (err, ZJOB_INTERNAL, "schedule %s: the record is not msgpack", name);
        return NULL;
    }
    zjob_schedule_t *self = (zjob_schedule_t *) calloc (1, sizeof (zjob_schedule_t));
    msgpack_zone zone;
    msgpack_zone_init (&zone, 2048);
    msgpack_object root;
    size_t offset = 0;
    int rc = -1;
    if (self) {
        self->priority = ZJOB_PRIORITY_UNSET;
        self->name = strdup (name);
        rc = self->name ? 0 : -1;
    }
    if (rc == 0
        && (msgpack_unpack ((const char *) data, size, &offset, &zone, &root) != MSGPACK_UNPACK_SUCCESS
            || root.type != MSGPACK_OBJECT_MAP))
        rc = -1;
    for (uint32_t index = 0; rc == 0 && index < root.via.map.size; index++)
        rc = s_decode_field (self, &root.via.map.ptr [index].key, &root.via.map.ptr [index].val);
    msgpack_zone_destroy (&zone);
    zjob_error_t cron_err;
    if (rc == 0 && (!self->cron_text || zjob_cron_parse (&self->cron, self->cron_text, &cron_err) || (!self->tpl == !self->wf)))
        rc = -1;
    if (rc) {
        zjob_error_set (err, ZJOB_INTERNAL, "schedule %s: the record does not decode", name);
        zjob_schedule_free (&self);
    }
    return self;
}


//  --------------------------------------------------------------------------
//  The set

//  Index of name in the array, or of where it would go (*found false)
size_t
zjob_schedules_find (zjob_schedules_t *self, const char *name, bool *found)
{
    size_t low = 0, high = self->count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        int cmp = strcmp (self->items [middle]->name, name);
        if (cmp == 0) {
            *found = true;
            return middle;
        }
        if (cmp < 0)
            low = middle + 1;
        else
            high = middle;
    }
    *found = false;
    return low;
}

void
zjob_schedules_recompute (zjob_schedules_t *self)
{
    int64_t earliest = 0;
    for (size_t index = 0; index < self->count; index++) {
        const zjob_schedule_t *item = self->items [index];
        if (!item->paused && item->next > 0 && (!earliest || item->next < earliest))
            earliest = item->next;
    }
    self->earliest = earliest;
}

int
zjob_schedules_put (zjob_schedules_t *self, const zjob_schedule_t *schedule, zjob_error_t *err)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    int rc = s_encode (schedule, &buffer);
    if (rc)
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    else
        rc = zjob_store_record_put (zjob_manager_store (self->manager), ZJOB_SCHEDULE_KIND,
                                    schedule->name, (const uint8_t *) buffer.data, buffer.size,
                                    err);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

//  The first slot of schedule after now, or 0 (logged) if there is none
int64_t
zjob_schedule_next_after (const zjob_schedule_t *schedule, int64_t now)
{
    zjob_error_t err;
    int64_t next = zjob_cron_next (&schedule->cron, schedule->tz, now, &err);
    if (next < 0) {
        zjob_log_warning ("zjob_schedules: schedule %s: %s", schedule->name, err.text);
        return 0;
    }
    return next;
}

typedef struct {
    zjob_schedules_t *self;
    int failed;
} s_load_t;

static int
s_load_one (const char *name, const uint8_t *data, size_t size, void *arg)
{
    s_load_t *load = (s_load_t *) arg;
    zjob_schedules_t *self = load->self;
    zjob_error_t err;
    zjob_schedule_t *schedule = zjob_schedule_decode (name, data, size, &err);
    if (!schedule) {
        zjob_log_error ("zjob_schedules: %s (left alone)", err.text);
        return 0;
    }
    if (self->count == ZJOB_SCHEDULES_MAX) {
        zjob_log_error ("zjob_schedules: schedule %s: over %d schedules (left alone)", name,
                        ZJOB_SCHEDULES_MAX);
        zjob_schedule_free (&schedule);
        return 0;
    }
    //  Records come in name order: an append
    self->items [self->count++] = schedule;
    return 0;
}

zjob_schedules_t *
zjob_schedules_new (zjob_manager_t *manager, int64_t now, zjob_error_t *err)
{
    assert (manager);
    zjob_schedules_t *self = (zjob_schedules_t *) calloc (1, sizeof (zjob_schedules_t));
    if (!self) {
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    self->manager = manager;
    s_load_t load = { self, 0 };
    zjob_store_record_each (zjob_manager_store (manager), ZJOB_SCHEDULE_KIND, s_load_one, &load);
    //  Missed while the broker was down: one fires once, at the first
    //  pass, for the due time it waited for; or it moves on without a run
    //  (written after the walk: a record walk allows no put)
    for (size_t index = 0; index < self->count; index++) {
        zjob_schedule_t *schedule = self->items [index];
        if (schedule->paused || !schedule->next || schedule->next > now || schedule->catch_up)
            continue;
        schedule->next = zjob_schedule_next_after (schedule, now);
        zjob_error_t put_err;
        if (zjob_schedules_put (self, schedule, &put_err)) {
            zjob_log_error ("zjob_schedules: schedule %s: %s", schedule->name, put_err.text);
            load.failed = 1;
        }
    }
    if (load.failed) {
        zjob_schedules_destroy (&self);
        zjob_error_set (err, ZJOB_INTERNAL, "schedules: a record could not be written");
        return NULL;
    }
    zjob_schedules_recompute (self);
    return self;
}

void
zjob_schedules_destroy (zjob_schedules_t **self_p)
{
    assert (self_p);
    zjob_schedules_t *self = *self_p;
    if (self) {
        for (size_t index = 0; index < self->count; index++)
            zjob_schedule_free (&self->items [index]);
        free (self);
    }
    *self_p = NULL;
}

void
zjob_schedules_set_listener (zjob_schedules_t *self, zjob_schedules_fired_fn *fn, void *arg)
{
    assert (self);
    self->fired = fn;
    self->fired_arg = arg;
}

int64_t
zjob_schedules_next_due (zjob_schedules_t *self)
{
    return self ? self->earliest : 0;
}

size_t
zjob_schedules_count (zjob_schedules_t *self)
{
    return self ? self->count : 0;
}


//  --------------------------------------------------------------------------
//  Making a schedule's job

//  The job of schedule for due time due: created and queued, or NULL
//  with err. The idempotency key makes a second submit for the same due
//  time answer the first job.
zjob_job_t *
zjob_schedule_make_job (zjob_schedules_t *self, zjob_schedule_t *schedule, int64_t due,
                        zjob_error_t *err)
{
    char key [ZJOB_NAME_MAX + 1];
    snprintf (key, sizeof (key), "schedule:%s@%lld", schedule->name, (long long) due);
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.priority = ZJOB_PRIORITY_UNSET;
    if (schedule->tpl)
        spec.template_name = schedule->tpl;
    else {
        spec.workflow_id = schedule->wf;
        spec.inputs = schedule->inputs;
        spec.inputs_size = schedule->inputs_size;
        spec.metadata = schedule->metadata;
        spec.metadata_size = schedule->metadata_size;
        spec.priority = (zjob_priority_t) schedule->priority;
        spec.tags = (const char *const *) schedule->tags;
        spec.tag_count = schedule->tag_count;
    }
    spec.idempotency_key = key;
    spec.schedule_id = schedule->name;
    spec.scheduled_for = due;
    zjob_job_t *job = NULL;
    uint64_t existing = 0;
    size_t existing_count = 0;
    if (zjob_manager_submit (self->manager, &spec, 1, true, &job, &existing, &existing_count,
                             err)
        < 0)
        return NULL;
    return job;
}

//  Fire schedule for its due time: the job, then the record with the
//  next slot after now. Returns 0, or -1 if the record could not be put.
static int
s_fire_one (zjob_schedules_t *self, zjob_schedule_t *schedule, int64_t now)
{
    zjob_error_t err;
    int64_t due = schedule->next;
    zjob_job_t *job = zjob_schedule_make_job (self, schedule, due, &err);
    free (schedule->last_error);
    schedule->last_error = NULL;
    if (job)
        snprintf (schedule->last_job, sizeof (schedule->last_job), "%s", zjob_job_id (job));
    else {
        //  The due time is noted as failed and not tried again: a bad
        //  template would otherwise be tried on every pass
        zjob_log_warning ("zjob_schedules: schedule %s: due %lld made no job: %s", schedule->name,
                          (long long) due, err.text);
        schedule->last_error = strdup (err.text);
    }
    schedule->last_due = due;
    schedule->next = zjob_schedule_next_after (schedule, now > due ? now : due);
    int rc = zjob_schedules_put (self, schedule, &err);
    if (rc)
        zjob_log_error ("zjob_schedules: schedule %s: %s", schedule->name, err.text);
    else if (job && self->fired)
        self->fired (schedule->name, due, job, self->fired_arg);
    zjob_job_destroy (&job);
    return rc;
}

size_t
zjob_schedules_fire (zjob_schedules_t *self, int64_t now, size_t max)
{
    if (!self || !self->earliest || self->earliest > now)
        return 0;
    size_t fired = 0;
    for (size_t index = 0; index < self->count && fired < max; index++) {
        zjob_schedule_t *schedule = self->items [index];
        if (schedule->paused || !schedule->next || schedule->next > now)
            continue;
        s_fire_one (self, schedule, now);
        fired++;
    }
    zjob_schedules_recompute (self);
    return fired;
}
