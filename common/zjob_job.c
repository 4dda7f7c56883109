/*  =========================================================================
    zjob_job - the job: its fields, its states, its memory

    Memory. A job is one malloc for the struct and everything fixed at
    creation, laid out behind it:

        [zjob_job_t][tags: tag_count pointers][inputs][metadata]
        [workflow_id\0][user_id\0][idempotency_key\0][tag\0 ...]

    The struct's size is a multiple of its alignment (8), so the pointer
    array right behind it is aligned; bytes and strings need none. With a
    short workflow name and no inputs a queued job costs the struct (256
    bytes), the name and malloc's header. zjob_job_new, zjob_job_dup and the
    decoder all build this block through zjob_job_alloc, so a decoded job is
    indistinguishable from a created one. Fields that change while the job
    runs (messages, worker, outputs) are separate allocations, NULL until
    set, because most jobs never carry them and they change in place.

    Validation. Names (workflow, user, tags, idempotency key) are 1 to
    ZJOB_NAME_MAX bytes of printable ASCII without spaces: they appear in
    logs, CLI output and filters, where anything else is trouble. Inputs,
    metadata and outputs must be exactly one msgpack map. A value over a
    size limit is ZJOB_TOO_LARGE, any other bad value ZJOB_BAD_REQUEST, and
    the message starts with the field's name.

    msgpack input checks. msgpack-c allocates a container's object array
    from the count in its header before reading the items, so a five-byte
    "array of 4 billion" asks for ~100 GB. zjob_job_decode and the field
    checks therefore scan the bytes first (zjob_msgpack.h, no allocation),
    so a map accepted here is one every msgpack-c reader can unpack, and
    the unpack that follows allocates at most a small multiple of the
    input size.

    The msgpack codec (zjob_job_pack, zjob_job_from_object) is in
    zjob_job_codec.c; zjob_job_alloc.h is what the two files share.
    ========================================================================= */

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <math.h>
#include "zjob_job_alloc.h"

_Static_assert(sizeof (zjob_job_t) % _Alignof(const char *) == 0,
               "the tags array placed behind the struct must be aligned");


//  --------------------------------------------------------------------------
//  Field validation; each returns 0, or -1 with err naming the field

static bool
s_name_chars_valid (const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) name [i] <= ' ' || (unsigned char) name [i] >= 0x7f)
            return false;
    return true;
}

bool
zjob_name_valid (const char *name)
{
    if (!name)
        return false;
    size_t len = strnlen (name, ZJOB_NAME_MAX + 1);
    return len > 0 && len <= ZJOB_NAME_MAX && s_name_chars_valid (name, len);
}

int
zjob_job_check_name (const char *field, const char *name, size_t len, zjob_error_t *err)
{
    if (len == 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: empty", field);
    if (len > ZJOB_NAME_MAX)
        return zjob_error_set (err, ZJOB_TOO_LARGE, "%s: longer than %d bytes",
                               field, ZJOB_NAME_MAX);
    if (!s_name_chars_valid (name, len))
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "%s: has a space, a control or a non-ASCII character", field);
    return 0;
}

//  A name given as a C string; NULL is an error only when required
static int
s_check_cname (const char *field, const char *name, bool required, zjob_text_t *out,
               zjob_error_t *err)
{
    out->ptr = NULL;
    out->len = 0;
    if (!name) {
        if (required)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: required", field);
        return 0;
    }
    size_t len = strnlen (name, ZJOB_NAME_MAX + 1);
    if (zjob_job_check_name (field, name, len, err))
        return -1;
    out->ptr = name;
    out->len = len;
    return 0;
}

//  Tags already checked one by one; refuse a repeated tag
int
zjob_job_check_tags_unique (const zjob_text_t *tags, size_t count, zjob_error_t *err)
{
    for (size_t i = 1; i < count; i++)
        for (size_t j = 0; j < i; j++)
            if (tags [i].len == tags [j].len
                && memcmp (tags [i].ptr, tags [j].ptr, tags [i].len) == 0)
                return zjob_error_set (err, ZJOB_BAD_REQUEST, "tags: \"%.*s\" given twice",
                                       (int) tags [i].len, tags [i].ptr);
    return 0;
}

//  Encoded map bytes; size 0 is the empty map
int
zjob_job_check_data (const char *field, const uint8_t *data, size_t size, zjob_bytes_t *out,
                     zjob_error_t *err)
{
    out->data = NULL;
    out->size = 0;
    if (size == 0)
        return 0;
    if (!data)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: no data for %zu bytes", field, size);
    if (size > ZJOB_DATA_MAX)
        return zjob_error_set (err, ZJOB_TOO_LARGE, "%s: %zu bytes, over the limit of %d",
                               field, size, ZJOB_DATA_MAX);
    if (!zjob_msgpack_is_map (data, size))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: not a msgpack map", field);
    out->data = data;
    out->size = size;
    return 0;
}


//  The retry policy's fields of a spec: zero/NULL is "the default", so
//  only what is given is checked
int
zjob_job_check_policy (const zjob_spec_t *spec, zjob_error_t *err)
{
    if ((unsigned) spec->backoff > ZJOB_BACKOFF_EXPONENTIAL)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "backoff: fixed or exponential, not %d",
                               (int) spec->backoff);
    if (spec->backoff_factor != 0.0
        && !(spec->backoff_factor >= 1.0 && spec->backoff_factor <= 100.0))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "backoff_factor: 1.0 to 100.0, not %g",
                               spec->backoff_factor);
    if ((unsigned) spec->jitter > ZJOB_JITTER_NONE)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "jitter: full or none, not %d",
                               (int) spec->jitter);
    if (spec->no_retry_count > ZJOB_NO_RETRY_MAX)
        return zjob_error_set (err, ZJOB_TOO_LARGE, "no_retry: %zu kinds, at most %d",
                               spec->no_retry_count, ZJOB_NO_RETRY_MAX);
    if (spec->no_retry_count && !spec->no_retry)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "no_retry: no array for %zu kinds",
                               spec->no_retry_count);
    for (size_t i = 0; i < spec->no_retry_count; i++) {
        char field [32];
        snprintf (field, sizeof (field), "no_retry[%zu]", i);
        const char *kind = spec->no_retry [i];
        if (!kind)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: required", field);
        if (zjob_job_check_name (field, kind, strnlen (kind, ZJOB_NAME_MAX + 1), err))
            return -1;
    }
    return 0;
}


//  --------------------------------------------------------------------------
//  The single allocation

static char *
s_place_text (char **cursor_p, zjob_text_t text)
{
    if (!text.ptr)
        return NULL;
    char *placed = *cursor_p;
    memcpy (placed, text.ptr, text.len);
    placed [text.len] = 0;
    *cursor_p += text.len + 1;
    return placed;
}

static const uint8_t *
s_place_bytes (char **cursor_p, zjob_bytes_t bytes)
{
    if (bytes.size == 0)
        return NULL;
    uint8_t *placed = (uint8_t *) *cursor_p;
    memcpy (placed, bytes.data, bytes.size);
    *cursor_p += bytes.size;
    return placed;
}

//  A zeroed job with one reference and its fixed fields in place, or NULL
//  if out of memory. The caller sets the id and everything else.
zjob_job_t *
zjob_job_alloc (const zjob_job_fixed_t *fixed)
{
    size_t size = sizeof (zjob_job_t)
        + fixed->tag_count * sizeof (const char *)
        + fixed->inputs.size + fixed->metadata.size
        + fixed->workflow_id.len + 1;
    if (fixed->user_id.ptr)
        size += fixed->user_id.len + 1;
    if (fixed->idempotency_key.ptr)
        size += fixed->idempotency_key.len + 1;
    for (size_t i = 0; i < fixed->tag_count; i++)
        size += fixed->tags [i].len + 1;
    size += zjob_job_extra_size (fixed);

    zjob_job_t *job = (zjob_job_t *) malloc (size);
    if (!job)
        return NULL;
    memset (job, 0, sizeof (zjob_job_t));
    char *cursor = (char *) (job + 1);
    if (fixed->tag_count) {
        job->tags = (const char **) cursor;
        cursor += fixed->tag_count * sizeof (const char *);
    }
    //  Aligned behind the tags array, before the bytes and strings
    job->extra = zjob_job_extra_place (fixed, &cursor);
    job->inputs.data = s_place_bytes (&cursor, fixed->inputs);
    job->inputs.size = fixed->inputs.size;
    job->metadata.data = s_place_bytes (&cursor, fixed->metadata);
    job->metadata.size = fixed->metadata.size;
    job->workflow_id = s_place_text (&cursor, fixed->workflow_id);
    job->user_id = s_place_text (&cursor, fixed->user_id);
    job->idempotency_key = s_place_text (&cursor, fixed->idempotency_key);
    for (size_t i = 0; i < fixed->tag_count; i++)
        job->tags [i] = s_place_text (&cursor, fixed->tags [i]);
    job->tag_count = (uint16_t) fixed->tag_count;
    job->refs = 1;
    return job;
}


//  --------------------------------------------------------------------------
//  Life cycle

zjob_job_t *
zjob_job_new (const zjob_spec_t *spec, zjob_error_t *err)
{
    if (!spec) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "job: no spec");
        return NULL;
    }
    zjob_job_fixed_t fixed;
    if (s_check_cname ("workflow_id", spec->workflow_id, true, &fixed.workflow_id, err)
        || s_check_cname ("user_id", spec->user_id, false, &fixed.user_id, err)
        || s_check_cname ("idempotency_key", spec->idempotency_key, false,
                          &fixed.idempotency_key, err))
        return NULL;

    if (spec->tag_count > ZJOB_TAGS_MAX) {
        zjob_error_set (err, ZJOB_TOO_LARGE, "tags: more than %d", ZJOB_TAGS_MAX);
        return NULL;
    }
    if (spec->tag_count > 0 && !spec->tags) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "tags: no array for %zu tags", spec->tag_count);
        return NULL;
    }
    fixed.tag_count = spec->tag_count;
    for (size_t i = 0; i < spec->tag_count; i++) {
        char field [32];
        snprintf (field, sizeof (field), "tags[%zu]", i);
        if (s_check_cname (field, spec->tags [i], true, &fixed.tags [i], err))
            return NULL;
    }
    if (zjob_job_check_tags_unique (fixed.tags, fixed.tag_count, err))
        return NULL;

    zjob_priority_t priority = spec->priority == ZJOB_PRIORITY_UNSET
        ? ZJOB_PRIORITY_DEFAULT
        : spec->priority;
    if ((unsigned) priority >= ZJOB_PRIORITY_COUNT) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "priority: %d is not a priority (0..%d)",
                        (int) spec->priority, ZJOB_PRIORITY_COUNT - 1);
        return NULL;
    }
    if (spec->run_at < 0) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "run_at: negative");
        return NULL;
    }
    if (zjob_job_check_data ("inputs", spec->inputs, spec->inputs_size, &fixed.inputs, err)
        || zjob_job_check_data ("metadata", spec->metadata, spec->metadata_size, &fixed.metadata, err)
        || zjob_job_check_policy (spec, err) || zjob_job_check_extra (spec, &fixed, err))
        return NULL;

    zjob_job_t *job = zjob_job_alloc (&fixed);
    if (!job) {
        zjob_error_set (err, ZJOB_INTERNAL, "job: out of memory");
        return NULL;
    }
    zjob_id_new (job->id);
    job->priority = (uint8_t) priority;
    job->status = ZJOB_CREATED;
    //  0 asks for the default, which the broker resolves (the manager);
    //  on a job, 0 is "no limit"
    job->max_attempts = spec->max_attempts == ZJOB_ATTEMPTS_UNLIMITED ? 0 : spec->max_attempts;
    job->run_at = spec->run_at;
    job->created_at = job->updated_at = zjob_clock_ms ();
    return job;
}

zjob_job_t *
zjob_job_ref (zjob_job_t *job)
{
    if (job)
        job->refs++;
    return job;
}

static void
s_history_free (zjob_history_t *history);

void
zjob_job_destroy (zjob_job_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zjob_job_t *job = *self_p;
    *self_p = NULL;
    if (--job->refs > 0)
        return;
    free (job->progress_message);
    free (job->error_kind);
    free (job->error_message);
    free (job->worker_id);
    free ((void *) job->outputs.data);
    if (job->extra)
        free ((void *) job->extra->parent_outputs.data);
    zjob_policy_release (&job->policy);
    s_history_free (job->history);
    free (job);
}

void
zjob_policy_release (zjob_policy_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zjob_policy_t *policy = *self_p;
    *self_p = NULL;
    if (--policy->refs > 0)
        return;
    for (uint16_t i = 0; i < policy->no_retry_count; i++)
        free (policy->no_retry [i]);
    free (policy->no_retry);
    free (policy);
}

zjob_policy_t *
zjob_policy_new (const zjob_policy_t *values, const char *const *no_retry, size_t count)
{
    zjob_policy_t *policy = (zjob_policy_t *) malloc (sizeof (zjob_policy_t));
    if (!policy)
        return NULL;
    *policy = *values;
    policy->refs = 1;
    policy->no_retry = NULL;
    policy->no_retry_count = 0;
    if (count) {
        policy->no_retry = (char **) calloc (count, sizeof (char *));
        if (!policy->no_retry) {
            free (policy);
            return NULL;
        }
        for (; policy->no_retry_count < count; policy->no_retry_count++) {
            char *kind = strdup (no_retry [policy->no_retry_count]);
            if (!kind) {
                zjob_policy_release (&policy);
                return NULL;
            }
            policy->no_retry [policy->no_retry_count] = kind;
        }
    }
    return policy;
}

bool
zjob_policy_equal (const zjob_policy_t *a, const zjob_policy_t *b)
{
    if (!a || !b)
        return a == b;
    if (a->backoff_base_ms != b->backoff_base_ms || a->backoff_max_ms != b->backoff_max_ms
        || a->timeout_ms != b->timeout_ms || a->heartbeat_timeout_ms != b->heartbeat_timeout_ms
        || a->backoff_factor != b->backoff_factor || a->backoff != b->backoff
        || a->jitter != b->jitter || a->no_retry_count != b->no_retry_count)
        return false;
    for (uint16_t i = 0; i < a->no_retry_count; i++)
        if (strcmp (a->no_retry [i], b->no_retry [i]) != 0)
            return false;
    return true;
}

bool
zjob_policy_no_retry (const zjob_policy_t *policy, const char *kind)
{
    for (uint16_t i = 0; policy && kind && i < policy->no_retry_count; i++)
        if (strcmp (policy->no_retry [i], kind) == 0)
            return true;
    return false;
}

//  Free an attempt history. Accepts NULL.
static void
s_history_free (zjob_history_t *history)
{
    if (!history)
        return;
    for (uint32_t i = 0; i < history->count; i++) {
        free (history->entries [i].kind);
        free (history->entries [i].message);
        free (history->entries [i].worker_id);
    }
    free (history);
}

//  A deep copy of history, or NULL if history is NULL; *failed_p is set if
//  memory ran out
static zjob_history_t *
s_history_dup (const zjob_history_t *history, bool *failed_p)
{
    if (!history)
        return NULL;
    zjob_history_t *copy = (zjob_history_t *) calloc (
        1, sizeof (zjob_history_t) + history->count * sizeof (zjob_error_entry_t));
    if (!copy) {
        *failed_p = true;
        return NULL;
    }
    for (; copy->count < history->count; copy->count++) {
        const zjob_error_entry_t *from = &history->entries [copy->count];
        zjob_error_entry_t *to = &copy->entries [copy->count];
        to->attempt = from->attempt;
        to->at = from->at;
        to->kind = strdup (from->kind);
        to->message = from->message ? strdup (from->message) : NULL;
        to->worker_id = from->worker_id ? strdup (from->worker_id) : NULL;
        if (!to->kind || (from->message && !to->message) || (from->worker_id && !to->worker_id)) {
            copy->count++;
            s_history_free (copy);
            *failed_p = true;
            return NULL;
        }
    }
    return copy;
}

//  A malloc'd copy of len bytes at text plus a NUL, or NULL
char *
zjob_job_strndup (const char *text, size_t len)
{
    char *copy = (char *) malloc (len + 1);
    if (copy) {
        memcpy (copy, text, len);
        copy [len] = 0;
    }
    return copy;
}

uint8_t *
zjob_job_memdup (const uint8_t *data, size_t size)
{
    uint8_t *copy = (uint8_t *) malloc (size);
    if (copy)
        memcpy (copy, data, size);
    return copy;
}

zjob_job_t *
zjob_job_dup (const zjob_job_t *job)
{
    if (!job)
        return NULL;
    zjob_job_fixed_t fixed;
    fixed.workflow_id = (zjob_text_t){ job->workflow_id, strlen (job->workflow_id) };
    fixed.user_id = (zjob_text_t){ job->user_id, job->user_id ? strlen (job->user_id) : 0 };
    fixed.idempotency_key = (zjob_text_t){
        job->idempotency_key, job->idempotency_key ? strlen (job->idempotency_key) : 0
    };
    fixed.tag_count = job->tag_count;
    for (size_t i = 0; i < fixed.tag_count; i++)
        fixed.tags [i] = (zjob_text_t){ job->tags [i], strlen (job->tags [i]) };
    fixed.inputs = job->inputs;
    fixed.metadata = job->metadata;
    zjob_job_extra_fixed (job, &fixed);

    zjob_job_t *copy = zjob_job_alloc (&fixed);
    if (!copy)
        return NULL;
    //  Every plain field by value, then the pointers back to our own
    zjob_job_t placed = *copy;
    *copy = *job;
    copy->workflow_id = placed.workflow_id;
    copy->user_id = placed.user_id;
    copy->idempotency_key = placed.idempotency_key;
    copy->tags = placed.tags;
    copy->inputs = placed.inputs;
    copy->metadata = placed.metadata;
    copy->extra = placed.extra;
    const zjob_bytes_t *pout = job->extra ? &job->extra->parent_outputs : NULL;
    if (copy->extra) {
        copy->extra->pending_parents = job->extra->pending_parents;
        copy->extra->parent_outputs.data = pout->size ? zjob_job_memdup (pout->data, pout->size)
                                                      : NULL;
        copy->extra->parent_outputs.size = copy->extra->parent_outputs.data ? pout->size : 0;
    }
    copy->refs = 1;
    copy->next = copy->prev = NULL;

    copy->progress_message = job->progress_message ? strdup (job->progress_message) : NULL;
    copy->error_kind = job->error_kind ? strdup (job->error_kind) : NULL;
    copy->error_message = job->error_message ? strdup (job->error_message) : NULL;
    copy->worker_id = job->worker_id ? strdup (job->worker_id) : NULL;
    copy->outputs.data = job->outputs.size ? zjob_job_memdup (job->outputs.data, job->outputs.size)
                                           : NULL;
    copy->outputs.size = copy->outputs.data ? job->outputs.size : 0;
    //  Its own policy: a shared one's count is not atomic, and a copy may
    //  go to another thread
    bool failed = false;
    if (job->policy) {
        copy->policy = zjob_policy_new (job->policy, (const char *const *) job->policy->no_retry,
                                        job->policy->no_retry_count);
        failed = copy->policy == NULL;
    }
    copy->history = s_history_dup (job->history, &failed);
    if (failed || (job->progress_message && !copy->progress_message)
        || (job->error_kind && !copy->error_kind)
        || (job->error_message && !copy->error_message)
        || (job->worker_id && !copy->worker_id)
        || (job->outputs.size && !copy->outputs.data)
        || (pout && pout->size && !copy->extra->parent_outputs.data))
        zjob_job_destroy (&copy);
    return copy;
}


//  --------------------------------------------------------------------------
//  Setters

//  Length of text cut to at most max bytes without splitting a UTF-8
//  sequence
static size_t
s_cut_length (const char *text, size_t max)
{
    size_t len = strnlen (text, max + 1);
    if (len <= max)
        return len;
    len = max;
    while (len > 0 && ((unsigned char) text [len] & 0xC0) == 0x80)
        len--;  //  text [len] continues a sequence
    return len;
}

//  Replace *field_p by a copy of text (NULL clears); -1 if out of memory
static int
s_replace_text (char **field_p, const char *text, size_t len)
{
    char *copy = NULL;
    if (text && !(copy = zjob_job_strndup (text, len)))
        return -1;
    free (*field_p);
    *field_p = copy;
    return 0;
}

int
zjob_job_set_outputs (zjob_job_t *job, const uint8_t *data, size_t size, zjob_error_t *err)
{
    zjob_bytes_t checked;
    if (zjob_job_check_data ("outputs", data, size, &checked, err))
        return -1;
    uint8_t *copy = NULL;
    if (checked.size && !(copy = zjob_job_memdup (checked.data, checked.size)))
        return zjob_error_set (err, ZJOB_INTERNAL, "outputs: out of memory");
    free ((void *) job->outputs.data);
    job->outputs.data = copy;
    job->outputs.size = checked.size;
    job->updated_at = zjob_clock_ms ();
    return 0;
}

int
zjob_job_set_error (zjob_job_t *job, const char *kind, const char *message)
{
    char *kind_copy = NULL;
    char *message_copy = NULL;
    if (kind && !(kind_copy = zjob_job_strndup (kind, s_cut_length (kind, ZJOB_NAME_MAX))))
        return -1;
    if (message
        && !(message_copy = zjob_job_strndup (message, s_cut_length (message, ZJOB_MESSAGE_MAX)))) {
        free (kind_copy);
        return -1;
    }
    free (job->error_kind);
    free (job->error_message);
    job->error_kind = kind_copy;
    job->error_message = message_copy;
    job->updated_at = zjob_clock_ms ();
    return 0;
}

int
zjob_job_set_progress (zjob_job_t *job, float progress, const char *message, zjob_error_t *err)
{
    if (!(progress >= 0.0f && progress <= 1.0f))  //  Also refuses NaN
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "progress: not between 0 and 1");
    size_t len = message ? strnlen (message, ZJOB_MESSAGE_MAX + 1) : 0;
    if (len > ZJOB_MESSAGE_MAX)
        return zjob_error_set (err, ZJOB_TOO_LARGE, "progress_message: longer than %d bytes",
                               ZJOB_MESSAGE_MAX);
    if (s_replace_text (&job->progress_message, message, len))
        return zjob_error_set (err, ZJOB_INTERNAL, "progress_message: out of memory");
    job->progress = progress;
    job->updated_at = zjob_clock_ms ();
    return 0;
}

int
zjob_job_set_worker (zjob_job_t *job, const char *worker_id)
{
    size_t len = worker_id ? s_cut_length (worker_id, ZJOB_NAME_MAX) : 0;
    if (s_replace_text (&job->worker_id, worker_id, len))
        return -1;
    job->updated_at = zjob_clock_ms ();
    return 0;
}

//  Free the strings of one history entry
static void
s_entry_free (zjob_error_entry_t *entry)
{
    free (entry->kind);
    free (entry->message);
    free (entry->worker_id);
}

int
zjob_job_add_error (zjob_job_t *job, uint32_t attempt, const char *kind, const char *message,
                    const char *worker_id, int64_t at, zjob_history_t **replaced_p)
{
    assert (job && replaced_p);
    if (!kind || !*kind)
        kind = "error";
    zjob_history_t *old = job->history;
    uint32_t count = old ? old->count : 0;
    uint32_t drop = count + 1 > ZJOB_ERRORS_KEPT ? count + 1 - ZJOB_ERRORS_KEPT : 0;
    uint32_t kept = count - drop;
    zjob_history_t *history = (zjob_history_t *) malloc (
        sizeof (zjob_history_t) + (kept + 1) * sizeof (zjob_error_entry_t));
    if (!history)
        return -1;
    //  The entries kept are moved, not copied: settle frees the block they
    //  came from and the dropped entries' strings, undo the new entry's
    if (kept)
        memcpy (history->entries, old->entries + drop, kept * sizeof (zjob_error_entry_t));
    zjob_error_entry_t *entry = &history->entries [kept];
    entry->attempt = attempt;
    entry->at = at;
    entry->kind = zjob_job_strndup (kind, s_cut_length (kind, ZJOB_NAME_MAX));
    entry->message = message
        ? zjob_job_strndup (message, s_cut_length (message, ZJOB_MESSAGE_MAX))
        : NULL;
    entry->worker_id = worker_id
        ? zjob_job_strndup (worker_id, s_cut_length (worker_id, ZJOB_NAME_MAX))
        : NULL;
    history->count = kept + 1;
    if (!entry->kind || (message && !entry->message) || (worker_id && !entry->worker_id)
        || zjob_job_set_error (job, kind, message)) {
        s_entry_free (entry);
        free (history);
        return -1;
    }
    job->history = history;
    *replaced_p = old;
    return 0;
}

void
zjob_job_history_settle (zjob_job_t *job, zjob_history_t *replaced)
{
    assert (job);
    if (!replaced)
        return;
    uint32_t now_kept = job->history ? job->history->count - 1 : 0;
    for (uint32_t i = 0; i + now_kept < replaced->count; i++)
        s_entry_free (&replaced->entries [i]);  //  Dropped
    free (replaced);
}

void
zjob_job_history_undo (zjob_job_t *job, zjob_history_t *replaced)
{
    assert (job);
    if (job->history) {
        s_entry_free (&job->history->entries [job->history->count - 1]);
        free (job->history);
    }
    job->history = replaced;
}

bool
zjob_job_has_tags (const zjob_job_t *job, const char *const *tags, size_t tag_count)
{
    for (size_t i = 0; i < tag_count; i++) {
        bool found = false;
        for (size_t j = 0; j < job->tag_count && !found; j++)
            found = tags [i] && strcmp (tags [i], job->tags [j]) == 0;
        if (!found)
            return false;
    }
    return true;
}


//  --------------------------------------------------------------------------
//  The transition table

//  Where op leads from a status, for a job not held and held by a worker
typedef struct {
    int8_t free;
    int8_t held;
} s_move_t;

#define X_ -1  //  Illegal
#define CR_ ZJOB_CREATED
#define QU_ ZJOB_QUEUED
#define RU_ ZJOB_RUNNING
#define PA_ ZJOB_PAUSED
#define CO_ ZJOB_COMPLETED
#define FA_ ZJOB_FAILED
#define CA_ ZJOB_CANCELLED
#define WA_ ZJOB_WAITING

//  Held matters only for a paused job: a worker still has it, so resume
//  gives it back to that worker (running), start may not queue it behind
//  the worker's back, and requeue (the worker is gone) leaves it paused
//  but no longer held. Terminal states accept nothing. Nothing leads to
//  waiting here: the manager turns a start, resume or re-run's queued
//  into waiting while the job has parents pending; release is the way
//  out once they have settled.
static const s_move_t s_transitions [ZJOB_OP_COUNT][ZJOB_STATUS_COUNT] = {
    //                    created    queued     running    paused     completed  failed     cancelled  waiting
    [ZJOB_OP_START] = { { QU_, QU_ }, { X_, X_ }, { X_, X_ }, { QU_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ } },
    [ZJOB_OP_PAUSE] = { { PA_, PA_ }, { PA_, PA_ }, { PA_, PA_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { PA_, PA_ } },
    [ZJOB_OP_RESUME] = { { X_, X_ }, { X_, X_ }, { X_, X_ }, { QU_, RU_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ } },
    [ZJOB_OP_CANCEL] = { { CA_, CA_ }, { CA_, CA_ }, { CA_, CA_ }, { CA_, CA_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { CA_, CA_ } },
    [ZJOB_OP_DISPATCH] = { { X_, X_ }, { RU_, RU_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ } },
    [ZJOB_OP_COMPLETE] = { { X_, X_ }, { X_, X_ }, { CO_, CO_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ } },
    [ZJOB_OP_FAIL] = { { X_, X_ }, { X_, X_ }, { FA_, FA_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { FA_, FA_ } },
    [ZJOB_OP_REQUEUE] = { { X_, X_ }, { X_, X_ }, { QU_, QU_ }, { X_, PA_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ } },
    [ZJOB_OP_RETRY] = { { X_, X_ }, { X_, X_ }, { QU_, QU_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ } },
    [ZJOB_OP_RERUN] = { { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { QU_, QU_ }, { QU_, QU_ }, { X_, X_ } },
    [ZJOB_OP_RELEASE] = { { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { X_, X_ }, { QU_, QU_ } },
};

int
zjob_transition (zjob_status_t from, zjob_op_t op, bool held, zjob_error_t *err)
{
    if ((unsigned) from >= ZJOB_STATUS_COUNT || (unsigned) op >= ZJOB_OP_COUNT)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "unknown status %d or operation %d",
                               (int) from, (int) op);
    const s_move_t *move = &s_transitions [op][from];
    int to = held ? move->held : move->free;
    if (to < 0)
        return zjob_error_set (err, ZJOB_CONFLICT, "job is %s%s; cannot %s",
                               zjob_status_name (from),
                               held && from == ZJOB_PAUSED ? " and held by a worker" : "",
                               zjob_op_name (op));
    return to;
}

bool
zjob_status_terminal (zjob_status_t status)
{
    return status == ZJOB_COMPLETED || status == ZJOB_FAILED || status == ZJOB_CANCELLED;
}


//  --------------------------------------------------------------------------
//  Names

static const char *s_status_names [ZJOB_STATUS_COUNT] = {
    "created", "queued", "running", "paused", "completed", "failed", "cancelled", "waiting"
};
static const char *s_priority_names [ZJOB_PRIORITY_COUNT] = {
    "low", "medium", "high", "critical"
};
static const char *s_op_names [ZJOB_OP_COUNT] = {
    "start", "pause", "resume", "cancel", "dispatch", "complete", "fail", "requeue", "retry",
    "re-run", "release"
};
static const char *s_backoff_names [] = { "fixed", "exponential" };
static const char *s_jitter_names [] = { "full", "none" };

static int
s_name_index (const char *const *names, int count, const char *name)
{
    if (name)
        for (int i = 0; i < count; i++)
            if (strcasecmp (names [i], name) == 0)
                return i;
    return -1;
}

const char *
zjob_status_name (zjob_status_t status)
{
    return (unsigned) status < ZJOB_STATUS_COUNT ? s_status_names [status] : "unknown";
}

int
zjob_status_parse (const char *name)
{
    return s_name_index (s_status_names, ZJOB_STATUS_COUNT, name);
}

const char *
zjob_priority_name (zjob_priority_t priority)
{
    return (unsigned) priority < ZJOB_PRIORITY_COUNT ? s_priority_names [priority] : "unknown";
}

int
zjob_priority_parse (const char *name)
{
    return s_name_index (s_priority_names, ZJOB_PRIORITY_COUNT, name);
}

const char *
zjob_backoff_name (zjob_backoff_t backoff)
{
    return backoff == ZJOB_BACKOFF_FIXED || backoff == ZJOB_BACKOFF_EXPONENTIAL
        ? s_backoff_names [backoff - 1]
        : NULL;
}

int
zjob_backoff_parse (const char *name)
{
    int index = s_name_index (s_backoff_names, 2, name);
    return index < 0 ? -1 : index + 1;
}

const char *
zjob_jitter_name (zjob_jitter_t jitter)
{
    return jitter == ZJOB_JITTER_FULL || jitter == ZJOB_JITTER_NONE ? s_jitter_names [jitter - 1]
                                                                    : NULL;
}

int
zjob_jitter_parse (const char *name)
{
    int index = s_name_index (s_jitter_names, 2, name);
    return index < 0 ? -1 : index + 1;
}

const char *
zjob_op_name (zjob_op_t op)
{
    return (unsigned) op < ZJOB_OP_COUNT ? s_op_names [op] : "unknown";
}


//  --------------------------------------------------------------------------
//  Accessors, for programs that see the job as an opaque type

const char *
zjob_job_id (const zjob_job_t *job)
{
    return job->id;
}

const char *
zjob_job_workflow (const zjob_job_t *job)
{
    return job->workflow_id;
}

zjob_status_t
zjob_job_status (const zjob_job_t *job)
{
    return (zjob_status_t) job->status;
}

zjob_priority_t
zjob_job_priority (const zjob_job_t *job)
{
    return (zjob_priority_t) job->priority;
}

const char *
zjob_job_user (const zjob_job_t *job)
{
    return job->user_id;
}

const char *
zjob_job_idempotency_key (const zjob_job_t *job)
{
    return job->idempotency_key;
}

const char *const *
zjob_job_tags (const zjob_job_t *job, size_t *count_p)
{
    *count_p = job->tag_count;
    return job->tag_count ? (const char *const *) job->tags : NULL;
}

//  The bytes of a data field, NULL with size 0 when empty
static const uint8_t *
s_bytes (zjob_bytes_t bytes, size_t *size_p)
{
    *size_p = bytes.size;
    return bytes.size ? bytes.data : NULL;
}

const uint8_t *
zjob_job_inputs (const zjob_job_t *job, size_t *size_p)
{
    return s_bytes (job->inputs, size_p);
}

const uint8_t *
zjob_job_metadata (const zjob_job_t *job, size_t *size_p)
{
    return s_bytes (job->metadata, size_p);
}

const uint8_t *
zjob_job_outputs (const zjob_job_t *job, size_t *size_p)
{
    return s_bytes (job->outputs, size_p);
}

float
zjob_job_progress (const zjob_job_t *job)
{
    return job->progress;
}

const char *
zjob_job_progress_message (const zjob_job_t *job)
{
    return job->progress_message;
}

const char *
zjob_job_error_kind (const zjob_job_t *job)
{
    return job->error_kind;
}

const char *
zjob_job_error_message (const zjob_job_t *job)
{
    return job->error_message;
}

const char *
zjob_job_worker (const zjob_job_t *job)
{
    return job->worker_id;
}

uint32_t
zjob_job_attempts (const zjob_job_t *job)
{
    return job->attempts;
}

uint32_t
zjob_job_max_attempts (const zjob_job_t *job)
{
    return job->max_attempts;
}

int64_t
zjob_job_created_at (const zjob_job_t *job)
{
    return job->created_at;
}

int64_t
zjob_job_updated_at (const zjob_job_t *job)
{
    return job->updated_at;
}

int64_t
zjob_job_queued_at (const zjob_job_t *job)
{
    return job->queued_at;
}

int64_t
zjob_job_started_at (const zjob_job_t *job)
{
    return job->started_at;
}

int64_t
zjob_job_completed_at (const zjob_job_t *job)
{
    return job->completed_at;
}

int64_t
zjob_job_run_at (const zjob_job_t *job)
{
    return job->run_at;
}

int64_t
zjob_job_execution_ms (const zjob_job_t *job)
{
    return job->execution_ms;
}

int64_t
zjob_job_queued_ms (const zjob_job_t *job)
{
    return job->queued_ms;
}

zjob_backoff_t
zjob_job_backoff (const zjob_job_t *job)
{
    return job->policy ? (zjob_backoff_t) job->policy->backoff : ZJOB_BACKOFF_UNSET;
}

uint32_t
zjob_job_backoff_base_ms (const zjob_job_t *job)
{
    return job->policy ? job->policy->backoff_base_ms : 0;
}

double
zjob_job_backoff_factor (const zjob_job_t *job)
{
    return job->policy ? job->policy->backoff_factor : 0;
}

uint32_t
zjob_job_backoff_max_ms (const zjob_job_t *job)
{
    return job->policy ? job->policy->backoff_max_ms : 0;
}

zjob_jitter_t
zjob_job_jitter (const zjob_job_t *job)
{
    return job->policy ? (zjob_jitter_t) job->policy->jitter : ZJOB_JITTER_UNSET;
}

const char *const *
zjob_job_no_retry (const zjob_job_t *job, size_t *count_p)
{
    size_t count = job->policy ? job->policy->no_retry_count : 0;
    if (count_p)
        *count_p = count;
    return count ? (const char *const *) job->policy->no_retry : NULL;
}

uint32_t
zjob_job_timeout_ms (const zjob_job_t *job)
{
    return job->policy ? job->policy->timeout_ms : 0;
}

uint32_t
zjob_job_heartbeat_timeout_ms (const zjob_job_t *job)
{
    return job->policy ? job->policy->heartbeat_timeout_ms : 0;
}

size_t
zjob_job_error_count (const zjob_job_t *job)
{
    return job->history ? job->history->count : 0;
}

int
zjob_job_error_at (const zjob_job_t *job, size_t index, zjob_attempt_error_t *entry)
{
    if (!entry || !job->history || index >= job->history->count)
        return -1;
    const zjob_error_entry_t *stored = &job->history->entries [index];
    entry->attempt = stored->attempt;
    entry->kind = stored->kind;
    entry->message = stored->message;
    entry->worker_id = stored->worker_id;
    entry->at = stored->at;
    return 0;
}

uint32_t
zjob_job_result_attempt (const zjob_job_t *job)
{
    return job->result_attempt;
}
