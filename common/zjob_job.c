/*  =========================================================================
    zjob_job - the job: its fields, its states, its codec

    Memory. A job is one malloc for the struct and everything fixed at
    creation, laid out behind it:

        [zjob_job_t][tags: tag_count pointers][inputs][metadata]
        [workflow_id\0][user_id\0][idempotency_key\0][tag\0 ...]

    The struct's size is a multiple of its alignment (8), so the pointer
    array right behind it is aligned; bytes and strings need none. With a
    short workflow name and no inputs a queued job costs the struct (256
    bytes), the name and malloc's header. zjob_job_new, zjob_job_dup and the
    decoder all build this block through s_job_alloc, so a decoded job is
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

    Codec. A job is a msgpack map with short string keys. Always written:
    id, wf, pri, st, ct, ut. The others are left out while zero, empty or
    unset, which keeps journal records small; a missing key reads back as
    zero/unset. Inputs, metadata and outputs are bin values holding their
    encoded map, so they stay opaque and are copied, never re-encoded.

        key     field               type
        id      id                  str, 20 Crockford base32 chars
        wf      workflow_id         str (name)
        pri     priority            uint 0..3
        st      status              uint 0..6
        held    held                bool
        user    user_id             str (name)
        tags    tags                array of str (names), at most 32
        in      inputs              bin holding a msgpack map
        meta    metadata            bin holding a msgpack map
        idem    idempotency_key     str (name)
        maxa    max_attempts        uint32
        runat   run_at              int64 >= 0, ms UTC
        att     attempts            uint32
        prog    progress            float 0..1
        pmsg    progress_message    str, <= ZJOB_MESSAGE_MAX bytes
        ct      created_at          int64 >= 0, ms UTC
        ut      updated_at          int64 >= 0, ms UTC
        qt      queued_at           int64 >= 0, ms UTC
        sat     started_at          int64 >= 0, ms UTC
        cat     completed_at        int64 >= 0, ms UTC
        xms     execution_ms        int64 >= 0
        qms     queued_ms           int64 >= 0
        ekind   error_kind          str, <= ZJOB_NAME_MAX bytes
        emsg    error_message       str, <= ZJOB_MESSAGE_MAX bytes
        wk      worker_id           str, <= ZJOB_NAME_MAX bytes
        out     outputs             bin holding a msgpack map

    The decoder takes keys in any order, skips unknown keys (later versions
    add fields), treats nil as unset for optional keys, and refuses a
    duplicate key, a wrong type, a value out of range and a missing
    id/wf/pri/st/ct, naming the field. refs, next, prev and seq belong to
    the process and are never encoded.
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <math.h>
#include "zjob_job_impl.h"

_Static_assert (sizeof (zjob_job_t) % _Alignof (const char *) == 0,
                "the tags array placed behind the struct must be aligned");

//  A string that need not be NUL-terminated (msgpack str values are not)
typedef struct {
    const char *ptr;                    //  NULL for none
    size_t len;                         //  bytes, without any NUL
} s_text_t;

//  What goes into a job's single allocation
typedef struct {
    s_text_t workflow_id;               //  Required
    s_text_t user_id;                   //  ptr NULL if none
    s_text_t idempotency_key;           //  ptr NULL if none
    s_text_t tags [ZJOB_TAGS_MAX];      //  tag_count entries
    size_t tag_count;
    zjob_bytes_t inputs;                //  Empty: data NULL, size 0
    zjob_bytes_t metadata;
} s_fixed_t;


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

static int
s_check_name (const char *field, const char *name, size_t len, zjob_error_t *err)
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
s_check_cname (const char *field, const char *name, bool required, s_text_t *out,
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
    if (s_check_name (field, name, len, err))
        return -1;
    out->ptr = name;
    out->len = len;
    return 0;
}

//  Tags already checked one by one; refuse a repeated tag
static int
s_check_tags_unique (const s_text_t *tags, size_t count, zjob_error_t *err)
{
    for (size_t i = 1; i < count; i++)
        for (size_t j = 0; j < i; j++)
            if (tags [i].len == tags [j].len
            &&  memcmp (tags [i].ptr, tags [j].ptr, tags [i].len) == 0)
                return zjob_error_set (err, ZJOB_BAD_REQUEST, "tags: \"%.*s\" given twice",
                                       (int) tags [i].len, tags [i].ptr);
    return 0;
}

//  Encoded map bytes; size 0 is the empty map
static int
s_check_data (const char *field, const uint8_t *data, size_t size, zjob_bytes_t *out,
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


//  --------------------------------------------------------------------------
//  The single allocation

static char *
s_place_text (char **cursor_p, s_text_t text)
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
static zjob_job_t *
s_job_alloc (const s_fixed_t *fixed)
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

    zjob_job_t *job = (zjob_job_t *) malloc (size);
    if (!job)
        return NULL;
    memset (job, 0, sizeof (zjob_job_t));
    char *cursor = (char *) (job + 1);
    if (fixed->tag_count) {
        job->tags = (const char **) cursor;
        cursor += fixed->tag_count * sizeof (const char *);
    }
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
    s_fixed_t fixed;
    if (s_check_cname ("workflow_id", spec->workflow_id, true, &fixed.workflow_id, err)
    ||  s_check_cname ("user_id", spec->user_id, false, &fixed.user_id, err)
    ||  s_check_cname ("idempotency_key", spec->idempotency_key, false,
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
    if (s_check_tags_unique (fixed.tags, fixed.tag_count, err))
        return NULL;

    zjob_priority_t priority = spec->priority == ZJOB_PRIORITY_UNSET
                             ? ZJOB_PRIORITY_DEFAULT: spec->priority;
    if ((unsigned) priority >= ZJOB_PRIORITY_COUNT) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "priority: %d is not a priority (0..%d)",
                        (int) spec->priority, ZJOB_PRIORITY_COUNT - 1);
        return NULL;
    }
    if (spec->run_at < 0) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "run_at: negative");
        return NULL;
    }
    if (s_check_data ("inputs", spec->inputs, spec->inputs_size, &fixed.inputs, err)
    ||  s_check_data ("metadata", spec->metadata, spec->metadata_size, &fixed.metadata, err))
        return NULL;

    zjob_job_t *job = s_job_alloc (&fixed);
    if (!job) {
        zjob_error_set (err, ZJOB_INTERNAL, "job: out of memory");
        return NULL;
    }
    zjob_id_new (job->id);
    job->priority = (uint8_t) priority;
    job->status = ZJOB_CREATED;
    job->max_attempts = spec->max_attempts;
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
    free (job);
}

//  A malloc'd copy of len bytes at text plus a NUL, or NULL
static char *
s_strndup (const char *text, size_t len)
{
    char *copy = (char *) malloc (len + 1);
    if (copy) {
        memcpy (copy, text, len);
        copy [len] = 0;
    }
    return copy;
}

static uint8_t *
s_memdup (const uint8_t *data, size_t size)
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
    s_fixed_t fixed;
    fixed.workflow_id = (s_text_t) { job->workflow_id, strlen (job->workflow_id) };
    fixed.user_id = (s_text_t) { job->user_id, job->user_id? strlen (job->user_id): 0 };
    fixed.idempotency_key = (s_text_t) {
        job->idempotency_key, job->idempotency_key? strlen (job->idempotency_key): 0 };
    fixed.tag_count = job->tag_count;
    for (size_t i = 0; i < fixed.tag_count; i++)
        fixed.tags [i] = (s_text_t) { job->tags [i], strlen (job->tags [i]) };
    fixed.inputs = job->inputs;
    fixed.metadata = job->metadata;

    zjob_job_t *copy = s_job_alloc (&fixed);
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
    copy->refs = 1;
    copy->next = copy->prev = NULL;

    copy->progress_message = job->progress_message? strdup (job->progress_message): NULL;
    copy->error_kind = job->error_kind? strdup (job->error_kind): NULL;
    copy->error_message = job->error_message? strdup (job->error_message): NULL;
    copy->worker_id = job->worker_id? strdup (job->worker_id): NULL;
    copy->outputs.data = job->outputs.size? s_memdup (job->outputs.data, job->outputs.size): NULL;
    copy->outputs.size = copy->outputs.data? job->outputs.size: 0;
    if ((job->progress_message && !copy->progress_message)
    ||  (job->error_kind && !copy->error_kind)
    ||  (job->error_message && !copy->error_message)
    ||  (job->worker_id && !copy->worker_id)
    ||  (job->outputs.size && !copy->outputs.data))
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
        len--;                          //  text [len] continues a sequence
    return len;
}

//  Replace *field_p by a copy of text (NULL clears); -1 if out of memory
static int
s_replace_text (char **field_p, const char *text, size_t len)
{
    char *copy = NULL;
    if (text && !(copy = s_strndup (text, len)))
        return -1;
    free (*field_p);
    *field_p = copy;
    return 0;
}

int
zjob_job_set_outputs (zjob_job_t *job, const uint8_t *data, size_t size, zjob_error_t *err)
{
    zjob_bytes_t checked;
    if (s_check_data ("outputs", data, size, &checked, err))
        return -1;
    uint8_t *copy = NULL;
    if (checked.size && !(copy = s_memdup (checked.data, checked.size)))
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
    if (kind && !(kind_copy = s_strndup (kind, s_cut_length (kind, ZJOB_NAME_MAX))))
        return -1;
    if (message
    && !(message_copy = s_strndup (message, s_cut_length (message, ZJOB_MESSAGE_MAX)))) {
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
    if (!(progress >= 0.0f && progress <= 1.0f))        //  Also refuses NaN
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "progress: not between 0 and 1");
    size_t len = message? strnlen (message, ZJOB_MESSAGE_MAX + 1): 0;
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
    size_t len = worker_id? s_cut_length (worker_id, ZJOB_NAME_MAX): 0;
    if (s_replace_text (&job->worker_id, worker_id, len))
        return -1;
    job->updated_at = zjob_clock_ms ();
    return 0;
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

#define X_  -1                          //  Illegal
#define CR_ ZJOB_CREATED
#define QU_ ZJOB_QUEUED
#define RU_ ZJOB_RUNNING
#define PA_ ZJOB_PAUSED
#define CO_ ZJOB_COMPLETED
#define FA_ ZJOB_FAILED
#define CA_ ZJOB_CANCELLED

//  Held matters only for a paused job: a worker still has it, so resume
//  gives it back to that worker (running), start may not queue it behind
//  the worker's back, and requeue (the worker is gone) leaves it paused
//  but no longer held. Terminal states accept nothing.
static const s_move_t s_transitions [ZJOB_OP_COUNT][ZJOB_STATUS_COUNT] = {
    //                    created    queued     running    paused     completed  failed     cancelled
    [ZJOB_OP_START]    = {{QU_,QU_}, {X_, X_ }, {X_, X_ }, {QU_,X_ }, {X_, X_ }, {X_, X_ }, {X_, X_ }},
    [ZJOB_OP_PAUSE]    = {{PA_,PA_}, {PA_,PA_}, {PA_,PA_}, {X_, X_ }, {X_, X_ }, {X_, X_ }, {X_, X_ }},
    [ZJOB_OP_RESUME]   = {{X_, X_ }, {X_, X_ }, {X_, X_ }, {QU_,RU_}, {X_, X_ }, {X_, X_ }, {X_, X_ }},
    [ZJOB_OP_CANCEL]   = {{CA_,CA_}, {CA_,CA_}, {CA_,CA_}, {CA_,CA_}, {X_, X_ }, {X_, X_ }, {X_, X_ }},
    [ZJOB_OP_DISPATCH] = {{X_, X_ }, {RU_,RU_}, {X_, X_ }, {X_, X_ }, {X_, X_ }, {X_, X_ }, {X_, X_ }},
    [ZJOB_OP_COMPLETE] = {{X_, X_ }, {X_, X_ }, {CO_,CO_}, {X_, X_ }, {X_, X_ }, {X_, X_ }, {X_, X_ }},
    [ZJOB_OP_FAIL]     = {{X_, X_ }, {X_, X_ }, {FA_,FA_}, {X_, X_ }, {X_, X_ }, {X_, X_ }, {X_, X_ }},
    [ZJOB_OP_REQUEUE]  = {{X_, X_ }, {X_, X_ }, {QU_,QU_}, {X_, PA_}, {X_, X_ }, {X_, X_ }, {X_, X_ }},
};

int
zjob_transition (zjob_status_t from, zjob_op_t op, bool held, zjob_error_t *err)
{
    if ((unsigned) from >= ZJOB_STATUS_COUNT || (unsigned) op >= ZJOB_OP_COUNT)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "unknown status %d or operation %d",
                               (int) from, (int) op);
    const s_move_t *move = &s_transitions [op][from];
    int to = held? move->held: move->free;
    if (to < 0)
        return zjob_error_set (err, ZJOB_CONFLICT, "job is %s%s; cannot %s",
                               zjob_status_name (from),
                               held && from == ZJOB_PAUSED? " and held by a worker": "",
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
    "created", "queued", "running", "paused", "completed", "failed", "cancelled"
};
static const char *s_priority_names [ZJOB_PRIORITY_COUNT] = {
    "low", "medium", "high", "critical"
};
static const char *s_op_names [ZJOB_OP_COUNT] = {
    "start", "pause", "resume", "cancel", "dispatch", "complete", "fail", "requeue"
};

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
    return (unsigned) status < ZJOB_STATUS_COUNT? s_status_names [status]: "unknown";
}

int
zjob_status_parse (const char *name)
{
    return s_name_index (s_status_names, ZJOB_STATUS_COUNT, name);
}

const char *
zjob_priority_name (zjob_priority_t priority)
{
    return (unsigned) priority < ZJOB_PRIORITY_COUNT? s_priority_names [priority]: "unknown";
}

int
zjob_priority_parse (const char *name)
{
    return s_name_index (s_priority_names, ZJOB_PRIORITY_COUNT, name);
}

const char *
zjob_op_name (zjob_op_t op)
{
    return (unsigned) op < ZJOB_OP_COUNT? s_op_names [op]: "unknown";
}


//  --------------------------------------------------------------------------
//  Codec: keys

typedef enum {
    K_ID, K_WF, K_PRI, K_ST, K_HELD, K_USER, K_TAGS, K_IN, K_META, K_IDEM,
    K_MAXA, K_RUNAT, K_ATT, K_PROG, K_PMSG, K_CT, K_UT, K_QT, K_SAT, K_CAT,
    K_XMS, K_QMS, K_EKIND, K_EMSG, K_WK, K_OUT,
    K_COUNT
} s_key_t;

static const struct {
    const char *key;                    //  On the wire
    size_t len;                         //  strlen (key)
    const char *field;                  //  In the struct and in messages
} s_keys [K_COUNT] = {
    [K_ID]    = { "id",    2, "id" },
    [K_WF]    = { "wf",    2, "workflow_id" },
    [K_PRI]   = { "pri",   3, "priority" },
    [K_ST]    = { "st",    2, "status" },
    [K_HELD]  = { "held",  4, "held" },
    [K_USER]  = { "user",  4, "user_id" },
    [K_TAGS]  = { "tags",  4, "tags" },
    [K_IN]    = { "in",    2, "inputs" },
    [K_META]  = { "meta",  4, "metadata" },
    [K_IDEM]  = { "idem",  4, "idempotency_key" },
    [K_MAXA]  = { "maxa",  4, "max_attempts" },
    [K_RUNAT] = { "runat", 5, "run_at" },
    [K_ATT]   = { "att",   3, "attempts" },
    [K_PROG]  = { "prog",  4, "progress" },
    [K_PMSG]  = { "pmsg",  4, "progress_message" },
    [K_CT]    = { "ct",    2, "created_at" },
    [K_UT]    = { "ut",    2, "updated_at" },
    [K_QT]    = { "qt",    2, "queued_at" },
    [K_SAT]   = { "sat",   3, "started_at" },
    [K_CAT]   = { "cat",   3, "completed_at" },
    [K_XMS]   = { "xms",   3, "execution_ms" },
    [K_QMS]   = { "qms",   3, "queued_ms" },
    [K_EKIND] = { "ekind", 5, "error_kind" },
    [K_EMSG]  = { "emsg",  4, "error_message" },
    [K_WK]    = { "wk",    2, "worker_id" },
    [K_OUT]   = { "out",   3, "outputs" },
};

//  The key's index, or -1 for a key this version does not know
static int
s_key_lookup (const char *key, size_t len)
{
    if (len < 2 || len > 5)
        return -1;
    for (int k = 0; k < K_COUNT; k++)
        if (s_keys [k].len == len && s_keys [k].key [0] == key [0]
        &&  memcmp (s_keys [k].key, key, len) == 0)
            return k;
    return -1;
}


//  --------------------------------------------------------------------------
//  Codec: encoding

//  The values go through a zjob_packbuf: a job is one write to the
//  packer, or a few when it has large inputs or outputs (written through)
static void
s_pack_key (zjob_packbuf_t *pb, s_key_t k)
{
    zjob_packbuf_str (pb, s_keys [k].key, s_keys [k].len);
}

static void
s_pack_cstr (zjob_packbuf_t *pb, const char *text)
{
    zjob_packbuf_str (pb, text, strlen (text));
}

int
zjob_job_pack (const zjob_job_t *job, msgpack_packer *pk)
{
    bool has [K_COUNT] = { false };
    has [K_ID] = has [K_WF] = has [K_PRI] = has [K_ST] = has [K_CT] = has [K_UT] = true;
    has [K_HELD] = job->held != 0;
    has [K_USER] = job->user_id != NULL;
    has [K_TAGS] = job->tag_count > 0;
    has [K_IN] = job->inputs.size > 0;
    has [K_META] = job->metadata.size > 0;
    has [K_IDEM] = job->idempotency_key != NULL;
    has [K_MAXA] = job->max_attempts != 0;
    has [K_RUNAT] = job->run_at != 0;
    has [K_ATT] = job->attempts != 0;
    has [K_PROG] = job->progress != 0.0f;
    has [K_PMSG] = job->progress_message != NULL;
    has [K_QT] = job->queued_at != 0;
    has [K_SAT] = job->started_at != 0;
    has [K_CAT] = job->completed_at != 0;
    has [K_XMS] = job->execution_ms != 0;
    has [K_QMS] = job->queued_ms != 0;
    has [K_EKIND] = job->error_kind != NULL;
    has [K_EMSG] = job->error_message != NULL;
    has [K_WK] = job->worker_id != NULL;
    has [K_OUT] = job->outputs.size > 0;
    uint32_t count = 0;
    for (int k = 0; k < K_COUNT; k++)
        count += has [k];

    zjob_packbuf_t pb;
    zjob_packbuf_init (&pb, pk);
    zjob_packbuf_map (&pb, count);
    s_pack_key (&pb, K_ID);
    zjob_packbuf_str (&pb, job->id, strnlen (job->id, ZJOB_ID_LEN));
    s_pack_key (&pb, K_WF);
    s_pack_cstr (&pb, job->workflow_id);
    s_pack_key (&pb, K_PRI);
    zjob_packbuf_uint (&pb, job->priority);
    s_pack_key (&pb, K_ST);
    zjob_packbuf_uint (&pb, job->status);
    if (has [K_HELD]) {
        s_pack_key (&pb, K_HELD);
        zjob_packbuf_bool (&pb, true);
    }
    if (has [K_USER]) {
        s_pack_key (&pb, K_USER);
        s_pack_cstr (&pb, job->user_id);
    }
    if (has [K_TAGS]) {
        s_pack_key (&pb, K_TAGS);
        zjob_packbuf_array (&pb, (uint32_t) job->tag_count);
        for (size_t i = 0; i < job->tag_count; i++)
            s_pack_cstr (&pb, job->tags [i]);
    }
    if (has [K_IN]) {
        s_pack_key (&pb, K_IN);
        zjob_packbuf_bin (&pb, job->inputs.data, job->inputs.size);
    }
    if (has [K_META]) {
        s_pack_key (&pb, K_META);
        zjob_packbuf_bin (&pb, job->metadata.data, job->metadata.size);
    }
    if (has [K_IDEM]) {
        s_pack_key (&pb, K_IDEM);
        s_pack_cstr (&pb, job->idempotency_key);
    }
    if (has [K_MAXA]) {
        s_pack_key (&pb, K_MAXA);
        zjob_packbuf_uint (&pb, job->max_attempts);
    }
    if (has [K_RUNAT]) {
        s_pack_key (&pb, K_RUNAT);
        zjob_packbuf_int (&pb, job->run_at);
    }
    if (has [K_ATT]) {
        s_pack_key (&pb, K_ATT);
        zjob_packbuf_uint (&pb, job->attempts);
    }
    if (has [K_PROG]) {
        s_pack_key (&pb, K_PROG);
        zjob_packbuf_float (&pb, job->progress);
    }
    if (has [K_PMSG]) {
        s_pack_key (&pb, K_PMSG);
        s_pack_cstr (&pb, job->progress_message);
    }
    s_pack_key (&pb, K_CT);
    zjob_packbuf_int (&pb, job->created_at);
    s_pack_key (&pb, K_UT);
    zjob_packbuf_int (&pb, job->updated_at);
    if (has [K_QT]) {
        s_pack_key (&pb, K_QT);
        zjob_packbuf_int (&pb, job->queued_at);
    }
    if (has [K_SAT]) {
        s_pack_key (&pb, K_SAT);
        zjob_packbuf_int (&pb, job->started_at);
    }
    if (has [K_CAT]) {
        s_pack_key (&pb, K_CAT);
        zjob_packbuf_int (&pb, job->completed_at);
    }
    if (has [K_XMS]) {
        s_pack_key (&pb, K_XMS);
        zjob_packbuf_int (&pb, job->execution_ms);
    }
    if (has [K_QMS]) {
        s_pack_key (&pb, K_QMS);
        zjob_packbuf_int (&pb, job->queued_ms);
    }
    if (has [K_EKIND]) {
        s_pack_key (&pb, K_EKIND);
        s_pack_cstr (&pb, job->error_kind);
    }
    if (has [K_EMSG]) {
        s_pack_key (&pb, K_EMSG);
        s_pack_cstr (&pb, job->error_message);
    }
    if (has [K_WK]) {
        s_pack_key (&pb, K_WK);
        s_pack_cstr (&pb, job->worker_id);
    }
    if (has [K_OUT]) {
        s_pack_key (&pb, K_OUT);
        zjob_packbuf_bin (&pb, job->outputs.data, job->outputs.size);
    }
    return zjob_packbuf_flush (&pb);
}

int
zjob_job_encode (const zjob_job_t *job, uint8_t **data_p, size_t *size_p)
{
    //  Size the buffer to the record (the sbuffer would start at 8 KB):
    //  keys and headers take well under 192 bytes, the rest is the values
    size_t estimate = 192 + strlen (job->workflow_id)
                    + job->inputs.size + job->metadata.size + job->outputs.size;
    if (job->user_id)
        estimate += strlen (job->user_id);
    if (job->idempotency_key)
        estimate += strlen (job->idempotency_key);
    for (size_t i = 0; i < job->tag_count; i++)
        estimate += strlen (job->tags [i]) + 2;
    if (job->progress_message)
        estimate += strlen (job->progress_message);
    if (job->error_kind)
        estimate += strlen (job->error_kind);
    if (job->error_message)
        estimate += strlen (job->error_message);
    if (job->worker_id)
        estimate += strlen (job->worker_id);

    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    buffer.data = (char *) malloc (estimate);
    if (!buffer.data)
        return -1;
    buffer.alloc = estimate;
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    if (zjob_job_pack (job, &pk)) {
        msgpack_sbuffer_destroy (&buffer);
        return -1;
    }
    *size_p = buffer.size;
    *data_p = (uint8_t *) msgpack_sbuffer_release (&buffer);
    return 0;
}


//  --------------------------------------------------------------------------
//  Codec: decoding

//  Each returns 0 with the value, or -1 with err naming the field

static int
s_get_uint (const msgpack_object *obj, s_key_t k, uint64_t max, uint64_t *value,
            zjob_error_t *err)
{
    if (obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (obj->via.u64 > max)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: %llu is out of range",
                                   s_keys [k].field, (unsigned long long) obj->via.u64);
        *value = obj->via.u64;
        return 0;
    }
    if (obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: negative", s_keys [k].field);
    return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: not an integer", s_keys [k].field);
}

static int
s_get_time (const msgpack_object *obj, s_key_t k, int64_t *value, zjob_error_t *err)
{
    uint64_t u = 0;
    if (s_get_uint (obj, k, INT64_MAX, &u, err))
        return -1;
    *value = (int64_t) u;
    return 0;
}

static int
s_get_str (const msgpack_object *obj, s_key_t k, s_text_t *text, zjob_error_t *err)
{
    if (obj->type != MSGPACK_OBJECT_STR)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: not a string", s_keys [k].field);
    text->ptr = obj->via.str.ptr;
    text->len = obj->via.str.size;
    return 0;
}

static int
s_get_name (const msgpack_object *obj, s_key_t k, s_text_t *text, zjob_error_t *err)
{
    if (s_get_str (obj, k, text, err))
        return -1;
    if (s_check_name (s_keys [k].field, text->ptr, text->len, err)) {
        err->code = ZJOB_BAD_REQUEST;
        return -1;
    }
    return 0;
}

//  A free-form string of at most max bytes, without NULs
static int
s_get_message (const msgpack_object *obj, s_key_t k, size_t max, s_text_t *text,
               zjob_error_t *err)
{
    if (s_get_str (obj, k, text, err))
        return -1;
    if (text->len > max)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: longer than %zu bytes",
                               s_keys [k].field, max);
    if (memchr (text->ptr, 0, text->len))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: has a NUL byte", s_keys [k].field);
    return 0;
}

static int
s_get_data (const msgpack_object *obj, s_key_t k, zjob_bytes_t *bytes, zjob_error_t *err)
{
    if (obj->type != MSGPACK_OBJECT_BIN)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: not bin", s_keys [k].field);
    if (s_check_data (s_keys [k].field, (const uint8_t *) obj->via.bin.ptr,
                      obj->via.bin.size, bytes, err)) {
        err->code = ZJOB_BAD_REQUEST;
        return -1;
    }
    return 0;
}

zjob_job_t *
zjob_job_from_object (const msgpack_object *obj, zjob_error_t *err)
{
    //  The helpers write through err; keep one even if the caller has none
    zjob_error_t local;
    if (!err)
        err = &local;
    if (!obj || obj->type != MSGPACK_OBJECT_MAP) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "job: not a msgpack map");
        return NULL;
    }
    //  Find the values by key first, then check them field by field
    const msgpack_object *values [K_COUNT] = { NULL };
    uint32_t unknown = 0;               //  Keys of a later version
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object_kv *kv = &obj->via.map.ptr [i];
        if (kv->key.type != MSGPACK_OBJECT_STR) {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "job: a key is not a string");
            return NULL;
        }
        int k = s_key_lookup (kv->key.via.str.ptr, kv->key.via.str.size);
        if (k < 0) {
            unknown++;                  //  A later version's field
            continue;
        }
        if (values [k]) {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: key \"%s\" given twice",
                            s_keys [k].field, s_keys [k].key);
            return NULL;
        }
        values [k] = &kv->val;
    }
    //  Skipped keys are refused twice all the same; only they can repeat
    //  one another, so a map without two of them costs nothing more
    uint32_t repeat;
    int repeated = unknown > 1? zjob_msgpack_map_repeated (obj, &repeat): 0;
    if (repeated < 0) {
        zjob_error_set (err, ZJOB_INTERNAL, "job: out of memory decoding");
        return NULL;
    }
    if (repeated) {
        const msgpack_object_str *key = &obj->via.map.ptr [repeat].key.via.str;
        zjob_error_set (err, ZJOB_BAD_REQUEST, "job: key \"%.*s\" given twice",
                        key->size > 64? 64: (int) key->size, key->ptr);
        return NULL;
    }
    static const s_key_t required [] = { K_ID, K_WF, K_PRI, K_ST, K_CT };
    for (size_t i = 0; i < sizeof (required) / sizeof (required [0]); i++)
        if (!values [required [i]] || values [required [i]]->type == MSGPACK_OBJECT_NIL) {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: missing", s_keys [required [i]].field);
            return NULL;
        }
    //  Optional fields: nil is the same as absent
    for (int k = 0; k < K_COUNT; k++)
        if (values [k] && values [k]->type == MSGPACK_OBJECT_NIL)
            values [k] = NULL;

    //  The fixed part
    s_fixed_t fixed;
    memset (&fixed, 0, sizeof (fixed));
    s_text_t id = { NULL, 0 };
    if (s_get_str (values [K_ID], K_ID, &id, err))
        return NULL;
    char id_text [ZJOB_ID_LEN + 1] = "";
    if (id.len == ZJOB_ID_LEN)
        memcpy (id_text, id.ptr, ZJOB_ID_LEN);
    if (!zjob_id_valid (id_text)) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "id: not a job id");
        return NULL;
    }
    if (s_get_name (values [K_WF], K_WF, &fixed.workflow_id, err)
    || (values [K_USER] && s_get_name (values [K_USER], K_USER, &fixed.user_id, err))
    || (values [K_IDEM] && s_get_name (values [K_IDEM], K_IDEM, &fixed.idempotency_key, err))
    || (values [K_IN] && s_get_data (values [K_IN], K_IN, &fixed.inputs, err))
    || (values [K_META] && s_get_data (values [K_META], K_META, &fixed.metadata, err)))
        return NULL;
    if (values [K_TAGS]) {
        const msgpack_object *tags = values [K_TAGS];
        if (tags->type != MSGPACK_OBJECT_ARRAY) {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "tags: not an array");
            return NULL;
        }
        if (tags->via.array.size > ZJOB_TAGS_MAX) {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "tags: more than %d", ZJOB_TAGS_MAX);
            return NULL;
        }
        for (uint32_t i = 0; i < tags->via.array.size; i++)
            if (s_get_name (&tags->via.array.ptr [i], K_TAGS, &fixed.tags [i], err))
                return NULL;
        fixed.tag_count = tags->via.array.size;
        if (s_check_tags_unique (fixed.tags, fixed.tag_count, err))
            return NULL;
    }

    //  The plain fields
    uint64_t priority = 0, status = 0, max_attempts = 0, attempts = 0;
    int64_t times [K_COUNT] = { 0 };
    if (s_get_uint (values [K_PRI], K_PRI, ZJOB_PRIORITY_COUNT - 1, &priority, err)
    ||  s_get_uint (values [K_ST], K_ST, ZJOB_STATUS_COUNT - 1, &status, err)
    || (values [K_MAXA] && s_get_uint (values [K_MAXA], K_MAXA, UINT32_MAX, &max_attempts, err))
    || (values [K_ATT] && s_get_uint (values [K_ATT], K_ATT, UINT32_MAX, &attempts, err)))
        return NULL;
    static const s_key_t time_keys [] = {
        K_RUNAT, K_CT, K_UT, K_QT, K_SAT, K_CAT, K_XMS, K_QMS
    };
    for (size_t i = 0; i < sizeof (time_keys) / sizeof (time_keys [0]); i++) {
        s_key_t k = time_keys [i];
        if (values [k] && s_get_time (values [k], k, &times [k], err))
            return NULL;
    }
    bool held = false;
    if (values [K_HELD]) {
        if (values [K_HELD]->type != MSGPACK_OBJECT_BOOLEAN) {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "held: not a boolean");
            return NULL;
        }
        held = values [K_HELD]->via.boolean;
    }
    double progress = 0;
    if (values [K_PROG]) {
        const msgpack_object *value = values [K_PROG];
        if (value->type == MSGPACK_OBJECT_FLOAT32 || value->type == MSGPACK_OBJECT_FLOAT64)
            progress = value->via.f64;
        else
        if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            progress = value->via.u64 <= 1? (double) value->via.u64: 2.0;
        else {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "progress: not a number");
            return NULL;
        }
        if (!(progress >= 0.0 && progress <= 1.0)) {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "progress: not between 0 and 1");
            return NULL;
        }
    }
    s_text_t texts [K_COUNT];
    memset (texts, 0, sizeof (texts));
    zjob_bytes_t outputs = { NULL, 0 };
    if ((values [K_PMSG]
         && s_get_message (values [K_PMSG], K_PMSG, ZJOB_MESSAGE_MAX, &texts [K_PMSG], err))
    ||  (values [K_EKIND]
         && s_get_message (values [K_EKIND], K_EKIND, ZJOB_NAME_MAX, &texts [K_EKIND], err))
    ||  (values [K_EMSG]
         && s_get_message (values [K_EMSG], K_EMSG, ZJOB_MESSAGE_MAX, &texts [K_EMSG], err))
    ||  (values [K_WK]
         && s_get_message (values [K_WK], K_WK, ZJOB_NAME_MAX, &texts [K_WK], err))
    ||  (values [K_OUT] && s_get_data (values [K_OUT], K_OUT, &outputs, err)))
        return NULL;

    //  Everything is valid: build the job
    zjob_job_t *job = s_job_alloc (&fixed);
    if (!job) {
        zjob_error_set (err, ZJOB_INTERNAL, "job: out of memory");
        return NULL;
    }
    memcpy (job->id, id_text, sizeof (job->id));
    job->priority = (uint8_t) priority;
    job->status = (uint8_t) status;
    job->held = held;
    job->max_attempts = (uint32_t) max_attempts;
    job->attempts = (uint32_t) attempts;
    job->progress = (float) progress;
    job->run_at = times [K_RUNAT];
    job->created_at = times [K_CT];
    job->updated_at = values [K_UT]? times [K_UT]: times [K_CT];
    job->queued_at = times [K_QT];
    job->started_at = times [K_SAT];
    job->completed_at = times [K_CAT];
    job->execution_ms = times [K_XMS];
    job->queued_ms = times [K_QMS];
    bool nomem = false;
    if (texts [K_PMSG].ptr)
        nomem |= !(job->progress_message = s_strndup (texts [K_PMSG].ptr, texts [K_PMSG].len));
    if (texts [K_EKIND].ptr)
        nomem |= !(job->error_kind = s_strndup (texts [K_EKIND].ptr, texts [K_EKIND].len));
    if (texts [K_EMSG].ptr)
        nomem |= !(job->error_message = s_strndup (texts [K_EMSG].ptr, texts [K_EMSG].len));
    if (texts [K_WK].ptr)
        nomem |= !(job->worker_id = s_strndup (texts [K_WK].ptr, texts [K_WK].len));
    if (outputs.size) {
        job->outputs.data = s_memdup (outputs.data, outputs.size);
        job->outputs.size = outputs.size;
        nomem |= !job->outputs.data;
    }
    if (nomem) {
        zjob_job_destroy (&job);
        zjob_error_set (err, ZJOB_INTERNAL, "job: out of memory");
    }
    return job;
}

zjob_job_t *
zjob_job_decode (const uint8_t *data, size_t size, zjob_error_t *err)
{
    if (!data || size == 0) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "job: empty record");
        return NULL;
    }
    size_t end = 0;
    zjob_scan_t scan = zjob_msgpack_scan (data, size, ZJOB_MSGPACK_DEPTH_MAX, UINT64_MAX, &end);
    if (scan == ZJOB_SCAN_TRUNCATED) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "job: truncated record (%zu bytes)", size);
        return NULL;
    }
    if (scan != ZJOB_SCAN_OK) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "job: not msgpack");
        return NULL;
    }
    if (end != size) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "job: %zu bytes after the record", size - end);
        return NULL;
    }
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    size_t offset = 0;
    zjob_job_t *job = NULL;
    if (msgpack_unpack_next (&result, (const char *) data, size, &offset)
        == MSGPACK_UNPACK_SUCCESS && offset == size)
        job = zjob_job_from_object (&result.data, err);
    else
        zjob_error_set (err, ZJOB_BAD_REQUEST, "job: not msgpack");
    msgpack_unpacked_destroy (&result);
    return job;
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
    return job->tag_count? (const char *const *) job->tags: NULL;
}

//  The bytes of a data field, NULL with size 0 when empty
static const uint8_t *
s_bytes (zjob_bytes_t bytes, size_t *size_p)
{
    *size_p = bytes.size;
    return bytes.size? bytes.data: NULL;
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
