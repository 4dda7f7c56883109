/*  =========================================================================
    zjob_templates - named, stored sets of job settings (issue #11)

    The store keeps the templates (records of kind "template", see the
    header for their format); this module encodes, decodes, checks and
    merges them, and keeps nothing else. A set is checked by making a job
    of the spec and throwing it away: whatever a job refuses (a bad name,
    a map that is not one, too many tags, a bad policy) a template refuses
    too, with the same message, so the two never disagree. A decode
    copies what it keeps into a zone of the template's own, because the
    store's bytes are borrowed only until the record changes. A SUBMIT's
    merge decodes each template it names once, however many specs name
    it, and puts every merged spec's new parts (merged maps, united tags)
    in one zone that goes with the specs.
    ========================================================================= */

#include "zjob_templates.h"
#include "zjob_log.h"
#include "zjob_msgpack.h"

struct _zjob_templates_t {
    zjob_store_t *store;  //  Where the records are (borrowed)
};

zjob_templates_t *
zjob_templates_new (zjob_store_t *store)
{
    assert (store);
    zjob_templates_t *self = (zjob_templates_t *) calloc (1, sizeof *self);
    if (self)
        self->store = store;
    return self;
}

void
zjob_templates_destroy (zjob_templates_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

size_t
zjob_templates_count (zjob_templates_t *self)
{
    assert (self);
    return zjob_store_record_count (self->store, ZJOB_TEMPLATE_KIND);
}


//  --------------------------------------------------------------------------
//  The record

static void
s_pack_key (msgpack_packer *pk, const char *key)
{
    msgpack_pack_str_with_body (pk, key, strlen (key));
}

static void
s_pack_strs (msgpack_packer *pk, const char *key, const char *const *strs, size_t count)
{
    s_pack_key (pk, key);
    msgpack_pack_array (pk, (uint32_t) count);
    for (size_t index = 0; index < count; index++)
        msgpack_pack_str_with_body (pk, strs [index], strlen (strs [index]));
}

static void
s_pack_uint (msgpack_packer *pk, const char *key, uint64_t value)
{
    s_pack_key (pk, key);
    msgpack_pack_uint64 (pk, value);
}

//  The record of spec, set at now with created_at (ms UTC), into buffer.
//  Only what the spec sets is written.
static void
s_encode (msgpack_sbuffer *buffer, const zjob_spec_t *spec, int64_t created_at, int64_t now)
{
    msgpack_packer packer, *pk = &packer;
    msgpack_packer_init (pk, buffer, msgpack_sbuffer_write);
    uint32_t count = 3 + !!spec->inputs_size + (spec->priority != ZJOB_PRIORITY_UNSET)
        + !!spec->user_id + !!spec->tag_count + !!spec->metadata_size + !!spec->max_attempts
        + !!spec->backoff + !!spec->backoff_base_ms + (spec->backoff_factor != 0.0)
        + !!spec->backoff_max_ms + !!spec->jitter + !!spec->no_retry_count + !!spec->timeout_ms
        + !!spec->heartbeat_timeout_ms;
    msgpack_pack_map (pk, count);
    s_pack_key (pk, "wf");
    msgpack_pack_str_with_body (pk, spec->workflow_id, strlen (spec->workflow_id));
    if (spec->inputs_size) {
        s_pack_key (pk, "in");
        msgpack_pack_bin_with_body (pk, spec->inputs, spec->inputs_size);
    }
    if (spec->priority != ZJOB_PRIORITY_UNSET)
        s_pack_uint (pk, "pri", (uint64_t) spec->priority);
    if (spec->user_id) {
        s_pack_key (pk, "user");
        msgpack_pack_str_with_body (pk, spec->user_id, strlen (spec->user_id));
    }
    if (spec->tag_count)
        s_pack_strs (pk, "tags", spec->tags, spec->tag_count);
    if (spec->metadata_size) {
        s_pack_key (pk, "meta");
        msgpack_pack_bin_with_body (pk, spec->metadata, spec->metadata_size);
    }
    if (spec->max_attempts)
        s_pack_uint (pk, "maxa", spec->max_attempts);
    if (spec->backoff)
        s_pack_uint (pk, "bo", (uint64_t) spec->backoff);
    if (spec->backoff_base_ms)
        s_pack_uint (pk, "bb", spec->backoff_base_ms);
    if (spec->backoff_factor != 0.0) {
        s_pack_key (pk, "bf");
        msgpack_pack_double (pk, spec->backoff_factor);
    }
    if (spec->backoff_max_ms)
        s_pack_uint (pk, "bm", spec->backoff_max_ms);
    if (spec->jitter)
        s_pack_uint (pk, "jit", (uint64_t) spec->jitter);
    if (spec->no_retry_count)
        s_pack_strs (pk, "nr", spec->no_retry, spec->no_retry_count);
    if (spec->timeout_ms)
        s_pack_uint (pk, "tmo", spec->timeout_ms);
    if (spec->heartbeat_timeout_ms)
        s_pack_uint (pk, "hbt", spec->heartbeat_timeout_ms);
    s_pack_key (pk, "cat");
    msgpack_pack_int64 (pk, created_at);
    s_pack_key (pk, "uat");
    msgpack_pack_int64 (pk, now);
}

//  A NUL-terminated copy of a str in zone; NULL if not a str or no memory
static const char *
s_zone_str (msgpack_zone *zone, const msgpack_object *object)
{
    if (object->type != MSGPACK_OBJECT_STR)
        return NULL;
    char *copy = (char *) msgpack_zone_malloc (zone, object->via.str.size + 1);
    if (copy) {
        memcpy (copy, object->via.str.ptr, object->via.str.size);
        copy [object->via.str.size] = 0;
    }
    return copy;
}

//  A copy of a bin in zone; -1 if not a bin or no memory
static int
s_zone_bin (msgpack_zone *zone, const msgpack_object *object, const uint8_t **data,
            size_t *size)
{
    if (object->type != MSGPACK_OBJECT_BIN)
        return -1;
    uint8_t *copy = (uint8_t *) msgpack_zone_malloc (zone, object->via.bin.size + 1);
    if (!copy)
        return -1;
    memcpy (copy, object->via.bin.ptr, object->via.bin.size);
    *data = copy;
    *size = object->via.bin.size;
    return 0;
}

//  An array of str as NUL-terminated copies in zone; -1 if not that
static int
s_zone_strs (msgpack_zone *zone, const msgpack_object *object, const char *const **strs,
             size_t *count)
{
    if (object->type != MSGPACK_OBJECT_ARRAY)
        return -1;
    uint32_t size = object->via.array.size;
    const char **copies = (const char **) msgpack_zone_malloc (zone, (size + 1) * sizeof (char *));
    if (!copies)
        return -1;
    for (uint32_t index = 0; index < size; index++)
        if (!(copies [index] = s_zone_str (zone, &object->via.array.ptr [index])))
            return -1;
    *strs = copies;
    *count = size;
    return 0;
}

//  A uint value of at most max; -1 if not that
static int
s_uint (const msgpack_object *object, uint64_t max, uint64_t *value)
{
    if (object->type != MSGPACK_OBJECT_POSITIVE_INTEGER || object->via.u64 > max)
        return -1;
    *value = object->via.u64;
    return 0;
}

//  Apply one key of a record to template; 0, or -1 if its value is wrong
static int
s_decode_pair (zjob_template_t *template_, const char *key, const msgpack_object *value)
{
    zjob_spec_t *spec = &template_->spec;
    msgpack_zone *zone = template_->zone;
    uint64_t number = 0;
    if (streq (key, "wf"))
        return (spec->workflow_id = s_zone_str (zone, value)) ? 0 : -1;
    if (streq (key, "in"))
        return s_zone_bin (zone, value, &spec->inputs, &spec->inputs_size);
    if (streq (key, "meta"))
        return s_zone_bin (zone, value, &spec->metadata, &spec->metadata_size);
    if (streq (key, "user"))
        return (spec->user_id = s_zone_str (zone, value)) ? 0 : -1;
    if (streq (key, "tags"))
        return s_zone_strs (zone, value, &spec->tags, &spec->tag_count);
    if (streq (key, "nr"))
        return s_zone_strs (zone, value, &spec->no_retry, &spec->no_retry_count);
    if (streq (key, "bf")) {
        if (value->type != MSGPACK_OBJECT_FLOAT64 && value->type != MSGPACK_OBJECT_FLOAT32)
            return -1;
        spec->backoff_factor = value->via.f64;
        return 0;
    }
    if (streq (key, "cat") || streq (key, "uat")) {
        if (value->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return -1;
        *(streq (key, "cat") ? &template_->created_at : &template_->updated_at)
            = (int64_t) (value->via.u64 & INT64_MAX);
        return 0;
    }
    //  The numbers
    if (streq (key, "pri")) {
        if (s_uint (value, ZJOB_PRIORITY_COUNT - 1, &number))
            return -1;
        spec->priority = (zjob_priority_t) number;
    }
    else if (streq (key, "bo") || streq (key, "jit")) {
        if (s_uint (value, 2, &number))
            return -1;
        if (streq (key, "bo"))
            spec->backoff = (zjob_backoff_t) number;
        else
            spec->jitter = (zjob_jitter_t) number;
    }
    else {
        uint32_t *field = streq (key, "maxa") ? &spec->max_attempts
            : streq (key, "bb")               ? &spec->backoff_base_ms
            : streq (key, "bm")               ? &spec->backoff_max_ms
            : streq (key, "tmo")              ? &spec->timeout_ms
            : streq (key, "hbt")              ? &spec->heartbeat_timeout_ms
                                              : NULL;
        if (field) {
            if (s_uint (value, UINT32_MAX, &number))
                return -1;
            *field = (uint32_t) number;
        }
        //  Else a key of a later version: skipped
    }
    return 0;
}

//  Decode the record of name (size bytes at data). NULL with err filled
//  (ZJOB_INTERNAL: a record that does not decode, or no memory).
static zjob_template_t *
s_decode (const char *name, const uint8_t *data, size_t size, zjob_error_t *err)
{
    zjob_template_t *template_ = (zjob_template_t *) calloc (1, sizeof *template_);
    if (template_)
        template_->zone = msgpack_zone_new (size + 1024);
    if (!template_ || !template_->zone) {
        zjob_template_destroy (&template_);
        zjob_error_set (err, ZJOB_INTERNAL, "template %s: out of memory", name);
        return NULL;
    }
    snprintf (template_->name, sizeof template_->name, "%s", name);
    template_->spec.priority = ZJOB_PRIORITY_UNSET;
    msgpack_object map;
    size_t offset = 0;
    //  Records are this module's own writing; still, a damaged one is an
    //  error to report, not a crash: scanned before msgpack-c unpacks it
    bool ok = zjob_msgpack_is_map (data, size)
        && msgpack_unpack ((const char *) data, size, &offset, template_->zone, &map)
            == MSGPACK_UNPACK_SUCCESS;
    for (uint32_t index = 0; ok && index < map.via.map.size; index++) {
        const msgpack_object_kv *pair = &map.via.map.ptr [index];
        char key [8];
        if (pair->key.type != MSGPACK_OBJECT_STR || pair->key.via.str.size >= sizeof key)
            continue;
        memcpy (key, pair->key.via.str.ptr, pair->key.via.str.size);
        key [pair->key.via.str.size] = 0;
        ok = s_decode_pair (template_, key, &pair->val) == 0;
    }
    if (!ok || !template_->spec.workflow_id) {
        zjob_template_destroy (&template_);
        zjob_error_set (err, ZJOB_INTERNAL, "template %s: its stored record does not decode",
                        name);
    }
    return template_;
}

void
zjob_template_destroy (zjob_template_t **self_p)
{
    if (self_p && *self_p) {
        if ((*self_p)->zone)
            msgpack_zone_free ((*self_p)->zone);
        free (*self_p);
        *self_p = NULL;
    }
}


//  --------------------------------------------------------------------------
//  Set, get, delete, list

//  The fields a template may not carry: a submit's own. NULL if none.
static const char *
s_submit_only (const zjob_spec_t *spec)
{
    return spec->idempotency_key       ? "idempotency_key"
        : spec->run_at                 ? "run_at"
        : spec->template_name          ? "template"
        : spec->depends_on_count       ? "depends_on"
        : spec->depends_on_index_count ? "depends_on"
        : spec->on_parent_failure      ? "on_parent_failure"
        : spec->batch_id               ? "batch_id"
        : spec->unique_key             ? "unique_key"
        : spec->schedule_id            ? "schedule_id"
                                       : NULL;
}

int
zjob_templates_set (zjob_templates_t *self, const char *name, const zjob_spec_t *spec,
                    bool *created_p, zjob_error_t *err)
{
    assert (self && spec);
    if (!zjob_name_valid (name))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "name: not a name (1 to %d printable "
                                                      "ASCII bytes, no space)",
                               ZJOB_NAME_MAX);
    if (!spec->workflow_id)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "template.workflow_id: missing");
    const char *field = s_submit_only (spec);
    if (field)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "template.%s: a submit's own, not a template's", field);
    //  A template is good when a job of it is: the same checks, the same words
    zjob_error_t why;
    zjob_job_t *probe = zjob_job_new (spec, &why);
    if (!probe)
        return zjob_error_set (err, why.code, "template.%s", why.text);
    zjob_job_destroy (&probe);
    size_t old_size = 0;
    const uint8_t *old = zjob_store_record_get (self->store, ZJOB_TEMPLATE_KIND, name, &old_size);
    if (!old && zjob_templates_count (self) >= ZJOB_TEMPLATES_MAX)
        return zjob_error_set (err, ZJOB_TOO_LARGE, "templates: %d already, the most a broker "
                                                    "keeps; delete one first",
                               ZJOB_TEMPLATES_MAX);
    int64_t now = zjob_clock_ms ();
    int64_t created_at = now;
    if (old) {
        zjob_template_t *previous = s_decode (name, old, old_size, NULL);
        if (previous && previous->created_at)
            created_at = previous->created_at;
        zjob_template_destroy (&previous);
    }
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    s_encode (&buffer, spec, created_at, now);
    int rc = buffer.data ? zjob_store_record_put (self->store, ZJOB_TEMPLATE_KIND, name,
                                                  (const uint8_t *) buffer.data, buffer.size, err)
                         : zjob_error_set (err, ZJOB_INTERNAL, "template %s: out of memory", name);
    msgpack_sbuffer_destroy (&buffer);
    if (rc == 0 && created_p)
        *created_p = old == NULL;
    return rc;
}

zjob_template_t *
zjob_templates_get (zjob_templates_t *self, const char *name, zjob_error_t *err)
{
    assert (self);
    if (!zjob_name_valid (name)) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "name: not a name");
        return NULL;
    }
    size_t size = 0;
    const uint8_t *data = zjob_store_record_get (self->store, ZJOB_TEMPLATE_KIND, name, &size);
    if (!data) {
        zjob_error_set (err, ZJOB_NOT_FOUND, "no template %s", name);
        return NULL;
    }
    return s_decode (name, data, size, err);
}

int
zjob_templates_delete (zjob_templates_t *self, const char *name, zjob_error_t *err)
{
    assert (self);
    if (!zjob_name_valid (name))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "name: not a name");
    if (!zjob_store_record_get (self->store, ZJOB_TEMPLATE_KIND, name, NULL))
        return zjob_error_set (err, ZJOB_NOT_FOUND, "no template %s", name);
    return zjob_store_record_remove (self->store, ZJOB_TEMPLATE_KIND, name, err);
}

//  A list under way
typedef struct {
    size_t skip;               //  Records still to skip (the offset)
    size_t left;               //  Templates still to visit (the limit)
    zjob_templates_fn *visit;  //  The caller's
    void *arg;
} s_list_t;

static int
s_list_one (const char *name, const uint8_t *data, size_t size, void *arg)
{
    s_list_t *list = (s_list_t *) arg;
    if (list->skip) {
        list->skip--;
        return 0;
    }
    zjob_error_t err;
    zjob_template_t *template_ = s_decode (name, data, size, &err);
    if (!template_) {
        zjob_log_warning ("zjob_templates: %s", err.text);
        return 0;
    }
    return list->visit (template_, list->arg) || --list->left == 0;
}

size_t
zjob_templates_list (zjob_templates_t *self, size_t offset, size_t limit,
                     zjob_templates_fn *visit, void *arg)
{
    assert (self && visit);
    size_t total = zjob_templates_count (self);
    s_list_t list = { offset, limit ? limit : ZJOB_TEMPLATES_LIST_DEFAULT, visit, arg };
    if (offset < total)
        zjob_store_record_each (self->store, ZJOB_TEMPLATE_KIND, s_list_one, &list);
    return total;
}


//  --------------------------------------------------------------------------
//  A SUBMIT's specs merged with their templates

struct _zjob_templates_applied_t {
    zjob_spec_t *specs;   //  The merged specs
    zhashx_t *templates;  //  name -> zjob_template_t: each decoded once
    msgpack_zone *zone;   //  What the merges made
};

void
zjob_templates_applied_destroy (zjob_templates_applied_t **self_p)
{
    if (self_p && *self_p) {
        zjob_templates_applied_t *self = *self_p;
        free (self->specs);
        zhashx_destroy (&self->templates);
        if (self->zone)
            msgpack_zone_free (self->zone);
        free (self);
        *self_p = NULL;
    }
}

static void
s_template_free (void **item)
{
    zjob_template_destroy ((zjob_template_t **) item);
}

//  Merge two maps into the zone: *data_p and *size_p become the map of
//  base's pairs under over's. 0, or -1 with err filled.
static int
s_merge_maps (msgpack_zone *zone, size_t index, const char *field, const uint8_t *base,
              size_t base_size, const uint8_t **data_p, size_t *size_p, zjob_error_t *err)
{
    uint8_t *merged;
    size_t size;
    zjob_merge_t rc = zjob_msgpack_merge_maps (base, base_size, *data_p, *size_p, ZJOB_DATA_MAX,
                                               &merged, &size);
    if (rc == ZJOB_MERGE_TOO_LARGE)
        return zjob_error_set (err, ZJOB_TOO_LARGE, "jobs[%zu]: %s: merged with the template's, "
                                                    "over the limit of %d bytes",
                               index, field, ZJOB_DATA_MAX);
    if (rc == ZJOB_MERGE_BAD_BASE || rc == ZJOB_MERGE_BAD_OVER)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "jobs[%zu]: %s: not a msgpack map%s",
                               index, field, rc == ZJOB_MERGE_BAD_BASE ? " (the template's)" : "");
    if (rc != ZJOB_MERGE_OK)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    uint8_t *copy = size ? (uint8_t *) msgpack_zone_malloc (zone, size) : NULL;
    if (size && !copy) {
        free (merged);
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    if (size)
        memcpy (copy, merged, size);
    free (merged);
    *data_p = copy;
    *size_p = size;
    return 0;
}

//  The template's tags, then the spec's that are not among them, into spec
static int
s_unite_tags (msgpack_zone *zone, const zjob_spec_t *template_, zjob_spec_t *spec,
              zjob_error_t *err)
{
    if (template_->tag_count == 0)
        return 0;
    const char **tags = (const char **) msgpack_zone_malloc (
        zone, (template_->tag_count + spec->tag_count) * sizeof (char *));
    if (!tags)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    size_t count = 0;
    for (size_t index = 0; index < template_->tag_count; index++)
        tags [count++] = template_->tags [index];
    for (size_t index = 0; index < spec->tag_count; index++) {
        bool known = false;
        for (size_t other = 0; other < template_->tag_count && !known; other++)
            known = streq (spec->tags [index], template_->tags [other]);
        if (!known)
            tags [count++] = spec->tags [index];
    }
    spec->tags = tags;
    spec->tag_count = count;
    return 0;
}

//  Merge spec (index index, a copy of the submit's) with its template
static int
s_merge (msgpack_zone *zone, size_t index, const zjob_spec_t *from, zjob_spec_t *spec,
         zjob_error_t *err)
{
    if (!spec->workflow_id)
        spec->workflow_id = from->workflow_id;
    if (spec->priority == ZJOB_PRIORITY_UNSET)
        spec->priority = from->priority;
    if (!spec->user_id)
        spec->user_id = from->user_id;
    if (!spec->max_attempts)
        spec->max_attempts = from->max_attempts;
    if (!spec->backoff)
        spec->backoff = from->backoff;
    if (!spec->backoff_base_ms)
        spec->backoff_base_ms = from->backoff_base_ms;
    if (spec->backoff_factor == 0.0)
        spec->backoff_factor = from->backoff_factor;
    if (!spec->backoff_max_ms)
        spec->backoff_max_ms = from->backoff_max_ms;
    if (!spec->jitter)
        spec->jitter = from->jitter;
    if (!spec->no_retry_count) {
        spec->no_retry = from->no_retry;
        spec->no_retry_count = from->no_retry_count;
    }
    if (!spec->timeout_ms)
        spec->timeout_ms = from->timeout_ms;
    if (!spec->heartbeat_timeout_ms)
        spec->heartbeat_timeout_ms = from->heartbeat_timeout_ms;
    if (from->inputs_size
        && s_merge_maps (zone, index, "inputs", from->inputs, from->inputs_size, &spec->inputs,
                         &spec->inputs_size, err))
        return -1;
    if (from->metadata_size
        && s_merge_maps (zone, index, "metadata", from->metadata, from->metadata_size,
                         &spec->metadata, &spec->metadata_size, err))
        return -1;
    return s_unite_tags (zone, from, spec, err);
}

//  The template name, decoded once per apply. NULL with err filled.
static const zjob_template_t *
s_template_of (zjob_templates_t *self, zjob_templates_applied_t *applied, size_t index,
               const char *name, zjob_error_t *err)
{
    zjob_template_t *template_ = (zjob_template_t *) zhashx_lookup (applied->templates, name);
    if (template_)
        return template_;
    zjob_error_t why;
    template_ = zjob_templates_get (self, name, &why);
    if (!template_) {
        zjob_error_set (err, why.code, "jobs[%zu]: template: %s", index, why.text);
        return NULL;
    }
    if (zhashx_insert (applied->templates, name, template_)) {
        zjob_template_destroy (&template_);
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    return template_;
}

int
zjob_templates_apply (zjob_templates_t *self, const zjob_spec_t *specs, size_t count,
                      const zjob_spec_t **specs_out, zjob_templates_applied_t **applied_p,
                      zjob_error_t *err)
{
    assert (self && specs_out && applied_p);
    *specs_out = specs;
    *applied_p = NULL;
    size_t first = 0;
    while (first < count && !specs [first].template_name)
        first++;
    if (first == count)
        return 0;  //  The usual SUBMIT: nothing to do, nothing allocated
    zjob_templates_applied_t *applied = (zjob_templates_applied_t *) calloc (1, sizeof *applied);
    if (applied) {
        applied->specs = (zjob_spec_t *) malloc (count * sizeof (zjob_spec_t));
        applied->templates = zjob_hashx_new ();
        applied->zone = msgpack_zone_new (8192);
    }
    if (!applied || !applied->specs || !applied->templates || !applied->zone) {
        zjob_templates_applied_destroy (&applied);
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    zhashx_set_destructor (applied->templates, s_template_free);
    memcpy (applied->specs, specs, count * sizeof (zjob_spec_t));
    for (size_t index = first; index < count; index++) {
        zjob_spec_t *spec = &applied->specs [index];
        if (!spec->template_name)
            continue;
        if (!zjob_name_valid (spec->template_name)) {
            zjob_templates_applied_destroy (&applied);
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "jobs[%zu]: template: not a name",
                                   index);
        }
        const zjob_template_t *template_ = s_template_of (self, applied, index,
                                                          spec->template_name, err);
        if (!template_ || s_merge (applied->zone, index, &template_->spec, spec, err)) {
            zjob_templates_applied_destroy (&applied);
            return -1;
        }
    }
    *specs_out = applied->specs;
    *applied_p = applied;
    return 0;
}
