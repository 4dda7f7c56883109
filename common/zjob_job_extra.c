/*  =========================================================================
    zjob_job_extra - the job's workflow fields (issue #11)

    Parents, on_parent_failure, batch, template, schedule and its due time,
    unique key, and the parents' outputs. Most jobs carry none of them, so
    they live in one optional block (zjob_extra_t, zjob_job_impl.h) that a
    plain job does not have: it costs the job one pointer. When any fixed
    field is set, the block is placed inside the job's single allocation,
    behind the tags array (so it is 8-aligned), followed by its parents
    array and its strings:

        [zjob_job_t][tags][zjob_extra_t][parents][inputs][metadata][strings]

    The parents' outputs change (they are set when the job is released),
    so they are a separate malloc, freed by zjob_job_destroy and copied by
    zjob_job_dup.

    Validation is the job's: parents are job ids, at most ZJOB_PARENTS_MAX
    of them, none twice; batch, template, schedule and unique key are names
    (zjob_name_valid). A spec with parents left by position (the broker
    resolves them into ids first) is refused.
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "zjob_job_alloc.h"

_Static_assert(sizeof (zjob_extra_t) % _Alignof(const char *) == 0,
               "the parents array placed behind the block must be aligned");


//  --------------------------------------------------------------------------
//  The block in the single allocation

bool
zjob_job_extra_wanted (const zjob_job_fixed_t *fixed)
{
    return fixed->parent_count > 0 || fixed->on_parent_failure != ZJOB_ON_PARENT_FAIL
        || fixed->batch_id.ptr || fixed->template_name.ptr || fixed->schedule_id.ptr
        || fixed->unique_key.ptr || fixed->scheduled_for != 0;
}

static size_t
s_text_size (zjob_text_t text)
{
    return text.ptr ? text.len + 1 : 0;
}

size_t
zjob_job_extra_size (const zjob_job_fixed_t *fixed)
{
    if (!zjob_job_extra_wanted (fixed))
        return 0;
    size_t size = sizeof (zjob_extra_t) + fixed->parent_count * sizeof (const char *)
        + s_text_size (fixed->batch_id) + s_text_size (fixed->template_name)
        + s_text_size (fixed->schedule_id) + s_text_size (fixed->unique_key);
    for (size_t i = 0; i < fixed->parent_count; i++)
        size += s_text_size (fixed->parents [i]);
    return size;
}

static const char *
s_place (char **cursor_p, zjob_text_t text)
{
    if (!text.ptr)
        return NULL;
    char *placed = *cursor_p;
    memcpy (placed, text.ptr, text.len);
    placed [text.len] = 0;
    *cursor_p += text.len + 1;
    return placed;
}

zjob_extra_t *
zjob_job_extra_place (const zjob_job_fixed_t *fixed, char **cursor_p)
{
    if (!zjob_job_extra_wanted (fixed))
        return NULL;
    zjob_extra_t *extra = (zjob_extra_t *) *cursor_p;
    memset (extra, 0, sizeof (zjob_extra_t));
    char *cursor = (char *) (extra + 1);
    if (fixed->parent_count) {
        extra->parents = (const char **) cursor;
        cursor += fixed->parent_count * sizeof (const char *);
    }
    for (size_t i = 0; i < fixed->parent_count; i++)
        extra->parents [i] = s_place (&cursor, fixed->parents [i]);
    extra->parent_count = (uint16_t) fixed->parent_count;
    extra->on_parent_failure = fixed->on_parent_failure;
    extra->batch_id = s_place (&cursor, fixed->batch_id);
    extra->template_name = s_place (&cursor, fixed->template_name);
    extra->schedule_id = s_place (&cursor, fixed->schedule_id);
    extra->unique_key = s_place (&cursor, fixed->unique_key);
    extra->scheduled_for = fixed->scheduled_for;
    *cursor_p = cursor;
    return extra;
}

static zjob_text_t
s_text (const char *text)
{
    return (zjob_text_t){ text, text ? strlen (text) : 0 };
}

void
zjob_job_extra_fixed (const zjob_job_t *job, zjob_job_fixed_t *fixed)
{
    const zjob_extra_t *extra = job->extra;
    fixed->parent_count = extra ? extra->parent_count : 0;
    for (size_t i = 0; i < fixed->parent_count; i++)
        fixed->parents [i] = s_text (extra->parents [i]);
    fixed->on_parent_failure = extra ? extra->on_parent_failure : ZJOB_ON_PARENT_FAIL;
    fixed->batch_id = s_text (extra ? extra->batch_id : NULL);
    fixed->template_name = s_text (extra ? extra->template_name : NULL);
    fixed->schedule_id = s_text (extra ? extra->schedule_id : NULL);
    fixed->unique_key = s_text (extra ? extra->unique_key : NULL);
    fixed->scheduled_for = extra ? extra->scheduled_for : 0;
}


//  --------------------------------------------------------------------------
//  Validation of a spec's workflow fields

//  An optional name given as a C string
static int
s_check_name (const char *field, const char *name, zjob_text_t *out, zjob_error_t *err)
{
    *out = (zjob_text_t){ NULL, 0 };
    if (!name)
        return 0;
    size_t len = strnlen (name, ZJOB_NAME_MAX + 1);
    if (zjob_job_check_name (field, name, len, err))
        return -1;
    *out = (zjob_text_t){ name, len };
    return 0;
}

//  The parents by id: each a job id, none twice
static int
s_check_parents (const zjob_spec_t *spec, zjob_job_fixed_t *fixed, zjob_error_t *err)
{
    fixed->parent_count = 0;
    if (spec->depends_on_index_count > 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "depends_on: positions must be resolved");
    if (spec->depends_on_count > ZJOB_PARENTS_MAX)
        return zjob_error_set (err, ZJOB_TOO_LARGE, "depends_on: %zu parents, at most %d",
                               spec->depends_on_count, ZJOB_PARENTS_MAX);
    if (spec->depends_on_count && !spec->depends_on)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "depends_on: no array for %zu parents",
                               spec->depends_on_count);
    for (size_t i = 0; i < spec->depends_on_count; i++) {
        const char *id = spec->depends_on [i];
        if (!id || strnlen (id, ZJOB_ID_LEN + 1) != ZJOB_ID_LEN || !zjob_id_valid (id))
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "depends_on[%zu]: not a job id", i);
        for (size_t j = 0; j < i; j++)
            if (memcmp (fixed->parents [j].ptr, id, ZJOB_ID_LEN) == 0)
                return zjob_error_set (err, ZJOB_BAD_REQUEST, "depends_on: %s given twice", id);
        fixed->parents [i] = (zjob_text_t){ id, ZJOB_ID_LEN };
        fixed->parent_count = i + 1;
    }
    return 0;
}

int
zjob_job_check_extra (const zjob_spec_t *spec, zjob_job_fixed_t *fixed, zjob_error_t *err)
{
    fixed->on_parent_failure = ZJOB_ON_PARENT_FAIL;
    fixed->scheduled_for = 0;
    if (s_check_parents (spec, fixed, err)
        || s_check_name ("batch_id", spec->batch_id, &fixed->batch_id, err)
        || s_check_name ("template", spec->template_name, &fixed->template_name, err)
        || s_check_name ("schedule_id", spec->schedule_id, &fixed->schedule_id, err)
        || s_check_name ("unique_key", spec->unique_key, &fixed->unique_key, err))
        return -1;
    if ((unsigned) spec->on_parent_failure >= ZJOB_ON_PARENT_COUNT)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "on_parent_failure: fail, cancel or run, not %d",
                               (int) spec->on_parent_failure);
    if (spec->scheduled_for < 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "scheduled_for: negative");
    fixed->on_parent_failure = (uint8_t) spec->on_parent_failure;
    fixed->scheduled_for = spec->scheduled_for;
    return 0;
}

int
zjob_job_check_parent_outputs (const uint8_t *data, size_t size, zjob_error_t *err)
{
    if (size == 0)
        return 0;
    if (!data)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "parent_outputs: no data for %zu bytes",
                               size);
    if (size > ZJOB_PARENT_OUTPUTS_MAX)
        return zjob_error_set (err, ZJOB_TOO_LARGE, "parent_outputs: %zu bytes, over the limit of %d",
                               size, ZJOB_PARENT_OUTPUTS_MAX);
    if (!zjob_msgpack_is_map (data, size))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "parent_outputs: not a msgpack map");
    return 0;
}

int
zjob_job_set_parent_outputs (zjob_job_t *job, const uint8_t *data, size_t size,
                             zjob_error_t *err)
{
    if (!job->extra || job->extra->parent_count == 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "parent_outputs: the job has no parents");
    if (zjob_job_check_parent_outputs (data, size, err))
        return -1;
    uint8_t *copy = NULL;
    if (size && !(copy = zjob_job_memdup (data, size)))
        return zjob_error_set (err, ZJOB_INTERNAL, "parent_outputs: out of memory");
    free ((void *) job->extra->parent_outputs.data);
    job->extra->parent_outputs.data = copy;
    job->extra->parent_outputs.size = copy ? size : 0;
    job->updated_at = zjob_clock_ms ();
    return 0;
}


//  --------------------------------------------------------------------------
//  Names and accessors

static const char *s_on_parent_names [ZJOB_ON_PARENT_COUNT] = { "fail", "cancel", "run" };

const char *
zjob_on_parent_name (zjob_on_parent_t on_parent)
{
    return (unsigned) on_parent < ZJOB_ON_PARENT_COUNT ? s_on_parent_names [on_parent]
                                                       : "unknown";
}

int
zjob_on_parent_parse (const char *name)
{
    for (int i = 0; name && i < ZJOB_ON_PARENT_COUNT; i++)
        if (strcasecmp (s_on_parent_names [i], name) == 0)
            return i;
    return -1;
}

const char *const *
zjob_job_parents (const zjob_job_t *job, size_t *count_p)
{
    size_t count = job->extra ? job->extra->parent_count : 0;
    if (count_p)
        *count_p = count;
    return count ? (const char *const *) job->extra->parents : NULL;
}

zjob_on_parent_t
zjob_job_on_parent_failure (const zjob_job_t *job)
{
    return job->extra ? (zjob_on_parent_t) job->extra->on_parent_failure : ZJOB_ON_PARENT_FAIL;
}

const uint8_t *
zjob_job_parent_outputs (const zjob_job_t *job, size_t *size_p)
{
    size_t size = job->extra ? job->extra->parent_outputs.size : 0;
    if (size_p)
        *size_p = size;
    return size ? job->extra->parent_outputs.data : NULL;
}

const char *
zjob_job_batch (const zjob_job_t *job)
{
    return job->extra ? job->extra->batch_id : NULL;
}

const char *
zjob_job_template (const zjob_job_t *job)
{
    return job->extra ? job->extra->template_name : NULL;
}

const char *
zjob_job_schedule (const zjob_job_t *job)
{
    return job->extra ? job->extra->schedule_id : NULL;
}

int64_t
zjob_job_scheduled_for (const zjob_job_t *job)
{
    return job->extra ? job->extra->scheduled_for : 0;
}

const char *
zjob_job_unique_key (const zjob_job_t *job)
{
    return job->extra ? job->extra->unique_key : NULL;
}
