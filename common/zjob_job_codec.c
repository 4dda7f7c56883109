/*  =========================================================================
    zjob_job_codec - the job as msgpack: the store's records, the wire's jobs

    Codec. A job is a msgpack map with short string keys. Always written:
    id, wf, pri, st, ct, ut. The others are left out while zero, empty or
    unset, which keeps journal records small; a missing key reads back as
    zero/unset. Inputs, metadata and outputs are bin values holding their
    encoded map, so they stay opaque and are copied, never re-encoded.

        key     field               type
        id      id                  str, 20 Crockford base32 chars
        wf      workflow_id         str (name)
        pri     priority            uint 0..3
        st      status              uint 0..7
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
        bo      policy: backoff     uint 1 fixed, 2 exponential
        bob     backoff_base_ms     uint32
        bof     backoff_factor      float 1.0 .. 100.0
        bom     backoff_max_ms      uint32
        boj     jitter              uint 1 full, 2 none
        nr      no_retry            array of str (names), at most 16
        tmo     timeout_ms          uint32, 0 = none
        hbt     heartbeat_timeout_ms uint32, 0 = none
        errs    the attempt history array of map {att uint32, kind str,
                                    msg str, wk str, at int64 ms}, at most
                                    ZJOB_ERRORS_KEPT, oldest first
        ratt    result_attempt      uint32
        par     parents             array of str (job ids), at most 64
        opf     on_parent_failure   uint 1 cancel, 2 run (absent: fail)
        pout    parent_outputs      bin holding a msgpack map {parent id:
                                    bin outputs map, or nil}
        bat     batch_id            str (name)
        tpl     template            str (name)
        sch     schedule_id         str (name)
        sfor    scheduled_for       int64 >= 0, ms UTC
        uniq    unique_key          str (name)

    The workflow keys (par .. uniq, 0.4.0) live in the job's optional
    extra block; pout needs par (only a job with parents has them).

    The policy keys are written when the job has a resolved policy (bo and
    boj then always, the others while not zero); a job of an earlier
    version has none and reads back with no policy (its accessors give
    zeros, and the manager keeps the rules it was created under).

    The decoder takes keys in any order, skips unknown keys (later versions
    add fields), treats nil as unset for optional keys, and refuses a
    duplicate key, a wrong type, a value out of range and a missing
    id/wf/pri/st/ct, naming the field. refs, next, prev and seq belong to
    the process and are never encoded.

    Decoding checks every field with the same checks zjob_job_new applies
    (zjob_job_alloc.h) and builds the job through the same single
    allocation, so a decoded job is indistinguishable from a created one.
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "zjob_job_alloc.h"

//  --------------------------------------------------------------------------
//  Codec: keys

typedef enum {
    K_ID,
    K_WF,
    K_PRI,
    K_ST,
    K_HELD,
    K_USER,
    K_TAGS,
    K_IN,
    K_META,
    K_IDEM,
    K_MAXA,
    K_RUNAT,
    K_ATT,
    K_PROG,
    K_PMSG,
    K_CT,
    K_UT,
    K_QT,
    K_SAT,
    K_CAT,
    K_XMS,
    K_QMS,
    K_EKIND,
    K_EMSG,
    K_WK,
    K_OUT,
    K_BO,
    K_BOB,
    K_BOF,
    K_BOM,
    K_BOJ,
    K_NR,
    K_TMO,
    K_HBT,
    K_ERRS,
    K_RATT,
    K_PAR,
    K_OPF,
    K_POUT,
    K_BAT,
    K_TPL,
    K_SCH,
    K_SFOR,
    K_UNIQ,
    K_COUNT
} s_key_t;

static const struct {
    const char *key;    //  On the wire
    size_t len;         //  strlen (key)
    const char *field;  //  In the struct and in messages
} s_keys [K_COUNT] = {
    [K_ID] = { "id", 2, "id" },
    [K_WF] = { "wf", 2, "workflow_id" },
    [K_PRI] = { "pri", 3, "priority" },
    [K_ST] = { "st", 2, "status" },
    [K_HELD] = { "held", 4, "held" },
    [K_USER] = { "user", 4, "user_id" },
    [K_TAGS] = { "tags", 4, "tags" },
    [K_IN] = { "in", 2, "inputs" },
    [K_META] = { "meta", 4, "metadata" },
    [K_IDEM] = { "idem", 4, "idempotency_key" },
    [K_MAXA] = { "maxa", 4, "max_attempts" },
    [K_RUNAT] = { "runat", 5, "run_at" },
    [K_ATT] = { "att", 3, "attempts" },
    [K_PROG] = { "prog", 4, "progress" },
    [K_PMSG] = { "pmsg", 4, "progress_message" },
    [K_CT] = { "ct", 2, "created_at" },
    [K_UT] = { "ut", 2, "updated_at" },
    [K_QT] = { "qt", 2, "queued_at" },
    [K_SAT] = { "sat", 3, "started_at" },
    [K_CAT] = { "cat", 3, "completed_at" },
    [K_XMS] = { "xms", 3, "execution_ms" },
    [K_QMS] = { "qms", 3, "queued_ms" },
    [K_EKIND] = { "ekind", 5, "error_kind" },
    [K_EMSG] = { "emsg", 4, "error_message" },
    [K_WK] = { "wk", 2, "worker_id" },
    [K_OUT] = { "out", 3, "outputs" },
    [K_BO] = { "bo", 2, "backoff" },
    [K_BOB] = { "bob", 3, "backoff_base_ms" },
    [K_BOF] = { "bof", 3, "backoff_factor" },
    [K_BOM] = { "bom", 3, "backoff_max_ms" },
    [K_BOJ] = { "boj", 3, "jitter" },
    [K_NR] = { "nr", 2, "no_retry" },
    [K_TMO] = { "tmo", 3, "timeout_ms" },
    [K_HBT] = { "hbt", 3, "heartbeat_timeout_ms" },
    [K_ERRS] = { "errs", 4, "errors" },
    [K_RATT] = { "ratt", 4, "result_attempt" },
    [K_PAR] = { "par", 3, "parents" },
    [K_OPF] = { "opf", 3, "on_parent_failure" },
    [K_POUT] = { "pout", 4, "parent_outputs" },
    [K_BAT] = { "bat", 3, "batch_id" },
    [K_TPL] = { "tpl", 3, "template" },
    [K_SCH] = { "sch", 3, "schedule_id" },
    [K_SFOR] = { "sfor", 4, "scheduled_for" },
    [K_UNIQ] = { "uniq", 4, "unique_key" },
};

//  The key's index, or -1 for a key this version does not know
static int
s_key_lookup (const char *key, size_t len)
{
    if (len < 2 || len > 5)
        return -1;
    for (int k = 0; k < K_COUNT; k++)
        if (s_keys [k].len == len && s_keys [k].key [0] == key [0]
            && memcmp (s_keys [k].key, key, len) == 0)
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

//  Which keys job writes (has [k]), and how many: the ones always
//  written, and the others while they are set
static uint32_t
s_pack_keys (const zjob_job_t *job, bool has [K_COUNT])
{
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
    const zjob_policy_t *policy = job->policy;
    has [K_BO] = has [K_BOJ] = policy != NULL;
    has [K_BOB] = policy && policy->backoff_base_ms != 0;
    has [K_BOF] = policy && policy->backoff_factor != 0.0f;
    has [K_BOM] = policy && policy->backoff_max_ms != 0;
    has [K_NR] = policy && policy->no_retry_count > 0;
    has [K_TMO] = policy && policy->timeout_ms != 0;
    has [K_HBT] = policy && policy->heartbeat_timeout_ms != 0;
    has [K_ERRS] = job->history && job->history->count > 0;
    has [K_RATT] = job->result_attempt != 0;
    const zjob_extra_t *extra = job->extra;
    has [K_PAR] = extra && extra->parent_count > 0;
    has [K_OPF] = extra && extra->on_parent_failure != ZJOB_ON_PARENT_FAIL;
    has [K_POUT] = extra && extra->parent_outputs.size > 0;
    has [K_BAT] = extra && extra->batch_id;
    has [K_TPL] = extra && extra->template_name;
    has [K_SCH] = extra && extra->schedule_id;
    has [K_SFOR] = extra && extra->scheduled_for != 0;
    has [K_UNIQ] = extra && extra->unique_key;
    uint32_t count = 0;
    for (int k = 0; k < K_COUNT; k++)
        count += has [k];
    return count;
}

//  The fields from id to run_at, in the order of the key table
static void
s_pack_spec_fields (zjob_packbuf_t *pb, const zjob_job_t *job, const bool has [K_COUNT])
{
    s_pack_key (pb, K_ID);
    zjob_packbuf_str (pb, job->id, strnlen (job->id, ZJOB_ID_LEN));
    s_pack_key (pb, K_WF);
    s_pack_cstr (pb, job->workflow_id);
    s_pack_key (pb, K_PRI);
    zjob_packbuf_uint (pb, job->priority);
    s_pack_key (pb, K_ST);
    zjob_packbuf_uint (pb, job->status);
    if (has [K_HELD]) {
        s_pack_key (pb, K_HELD);
        zjob_packbuf_bool (pb, true);
    }
    if (has [K_USER]) {
        s_pack_key (pb, K_USER);
        s_pack_cstr (pb, job->user_id);
    }
    if (has [K_TAGS]) {
        s_pack_key (pb, K_TAGS);
        zjob_packbuf_array (pb, (uint32_t) job->tag_count);
        for (size_t i = 0; i < job->tag_count; i++)
            s_pack_cstr (pb, job->tags [i]);
    }
    if (has [K_IN]) {
        s_pack_key (pb, K_IN);
        zjob_packbuf_bin (pb, job->inputs.data, job->inputs.size);
    }
    if (has [K_META]) {
        s_pack_key (pb, K_META);
        zjob_packbuf_bin (pb, job->metadata.data, job->metadata.size);
    }
    if (has [K_IDEM]) {
        s_pack_key (pb, K_IDEM);
        s_pack_cstr (pb, job->idempotency_key);
    }
    if (has [K_MAXA]) {
        s_pack_key (pb, K_MAXA);
        zjob_packbuf_uint (pb, job->max_attempts);
    }
    if (has [K_RUNAT]) {
        s_pack_key (pb, K_RUNAT);
        zjob_packbuf_int (pb, job->run_at);
    }
}

//  The fields from attempts to outputs, in the order of the key table
static void
s_pack_run_fields (zjob_packbuf_t *pb, const zjob_job_t *job, const bool has [K_COUNT])
{
    if (has [K_ATT]) {
        s_pack_key (pb, K_ATT);
        zjob_packbuf_uint (pb, job->attempts);
    }
    if (has [K_PROG]) {
        s_pack_key (pb, K_PROG);
        zjob_packbuf_float (pb, job->progress);
    }
    if (has [K_PMSG]) {
        s_pack_key (pb, K_PMSG);
        s_pack_cstr (pb, job->progress_message);
    }
    s_pack_key (pb, K_CT);
    zjob_packbuf_int (pb, job->created_at);
    s_pack_key (pb, K_UT);
    zjob_packbuf_int (pb, job->updated_at);
    if (has [K_QT]) {
        s_pack_key (pb, K_QT);
        zjob_packbuf_int (pb, job->queued_at);
    }
    if (has [K_SAT]) {
        s_pack_key (pb, K_SAT);
        zjob_packbuf_int (pb, job->started_at);
    }
    if (has [K_CAT]) {
        s_pack_key (pb, K_CAT);
        zjob_packbuf_int (pb, job->completed_at);
    }
    if (has [K_XMS]) {
        s_pack_key (pb, K_XMS);
        zjob_packbuf_int (pb, job->execution_ms);
    }
    if (has [K_QMS]) {
        s_pack_key (pb, K_QMS);
        zjob_packbuf_int (pb, job->queued_ms);
    }
    if (has [K_EKIND]) {
        s_pack_key (pb, K_EKIND);
        s_pack_cstr (pb, job->error_kind);
    }
    if (has [K_EMSG]) {
        s_pack_key (pb, K_EMSG);
        s_pack_cstr (pb, job->error_message);
    }
    if (has [K_WK]) {
        s_pack_key (pb, K_WK);
        s_pack_cstr (pb, job->worker_id);
    }
    if (has [K_OUT]) {
        s_pack_key (pb, K_OUT);
        zjob_packbuf_bin (pb, job->outputs.data, job->outputs.size);
    }
}

//  The retry policy, the attempt history and result_attempt
static void
s_pack_retry_fields (zjob_packbuf_t *pb, const zjob_job_t *job, const bool has [K_COUNT])
{
    const zjob_policy_t *policy = job->policy;
    static const s_key_t uints [] = { K_BO, K_BOB, K_BOM, K_BOJ, K_TMO, K_HBT };
    for (size_t i = 0; policy && i < sizeof (uints) / sizeof (uints [0]); i++) {
        s_key_t k = uints [i];
        if (!has [k])
            continue;
        s_pack_key (pb, k);
        zjob_packbuf_uint (pb, k == K_BO ? policy->backoff : k == K_BOB ? policy->backoff_base_ms
                               : k == K_BOM                             ? policy->backoff_max_ms
                               : k == K_BOJ                             ? policy->jitter
                               : k == K_TMO                             ? policy->timeout_ms
                                                                        : policy->heartbeat_timeout_ms);
    }
    if (has [K_BOF]) {
        s_pack_key (pb, K_BOF);
        zjob_packbuf_float (pb, policy->backoff_factor);
    }
    if (has [K_NR]) {
        s_pack_key (pb, K_NR);
        zjob_packbuf_array (pb, policy->no_retry_count);
        for (uint16_t i = 0; i < policy->no_retry_count; i++)
            s_pack_cstr (pb, policy->no_retry [i]);
    }
    if (has [K_ERRS]) {
        s_pack_key (pb, K_ERRS);
        zjob_packbuf_array (pb, job->history->count);
        for (uint32_t i = 0; i < job->history->count; i++) {
            const zjob_error_entry_t *entry = &job->history->entries [i];
            zjob_packbuf_map (pb, 3 + (entry->message != NULL) + (entry->worker_id != NULL));
            zjob_packbuf_str (pb, "att", 3);
            zjob_packbuf_uint (pb, entry->attempt);
            zjob_packbuf_str (pb, "kind", 4);
            s_pack_cstr (pb, entry->kind);
            if (entry->message) {
                zjob_packbuf_str (pb, "msg", 3);
                s_pack_cstr (pb, entry->message);
            }
            if (entry->worker_id) {
                zjob_packbuf_str (pb, "wk", 2);
                s_pack_cstr (pb, entry->worker_id);
            }
            zjob_packbuf_str (pb, "at", 2);
            zjob_packbuf_int (pb, entry->at);
        }
    }
    if (has [K_RATT]) {
        s_pack_key (pb, K_RATT);
        zjob_packbuf_uint (pb, job->result_attempt);
    }
}

//  The workflow fields of the extra block
static void
s_pack_extra_fields (zjob_packbuf_t *pb, const zjob_job_t *job, const bool has [K_COUNT])
{
    const zjob_extra_t *extra = job->extra;
    if (!extra)
        return;
    if (has [K_PAR]) {
        s_pack_key (pb, K_PAR);
        zjob_packbuf_array (pb, extra->parent_count);
        for (uint16_t i = 0; i < extra->parent_count; i++)
            s_pack_cstr (pb, extra->parents [i]);
    }
    if (has [K_OPF]) {
        s_pack_key (pb, K_OPF);
        zjob_packbuf_uint (pb, extra->on_parent_failure);
    }
    if (has [K_POUT]) {
        s_pack_key (pb, K_POUT);
        zjob_packbuf_bin (pb, extra->parent_outputs.data, extra->parent_outputs.size);
    }
    const struct {
        s_key_t k;
        const char *text;
    } names [] = { { K_BAT, extra->batch_id },
                   { K_TPL, extra->template_name },
                   { K_SCH, extra->schedule_id } };
    for (size_t i = 0; i < sizeof (names) / sizeof (names [0]); i++)
        if (has [names [i].k]) {
            s_pack_key (pb, names [i].k);
            s_pack_cstr (pb, names [i].text);
        }
    if (has [K_SFOR]) {
        s_pack_key (pb, K_SFOR);
        zjob_packbuf_int (pb, extra->scheduled_for);
    }
    if (has [K_UNIQ]) {
        s_pack_key (pb, K_UNIQ);
        s_pack_cstr (pb, extra->unique_key);
    }
}

int
zjob_job_pack (const zjob_job_t *job, msgpack_packer *pk)
{
    bool has [K_COUNT] = { false };
    uint32_t count = s_pack_keys (job, has);

    zjob_packbuf_t pb;
    zjob_packbuf_init (&pb, pk);
    zjob_packbuf_map (&pb, count);
    s_pack_spec_fields (&pb, job, has);
    s_pack_run_fields (&pb, job, has);
    s_pack_retry_fields (&pb, job, has);
    s_pack_extra_fields (&pb, job, has);
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
    if (job->policy) {
        estimate += 48;
        for (uint16_t i = 0; i < job->policy->no_retry_count; i++)
            estimate += strlen (job->policy->no_retry [i]) + 2;
    }
    if (job->extra) {
        const zjob_extra_t *extra = job->extra;
        const char *names [] = { extra->batch_id, extra->template_name, extra->schedule_id,
                                 extra->unique_key };
        estimate += 48 + extra->parent_count * (ZJOB_ID_LEN + 2) + extra->parent_outputs.size;
        for (size_t i = 0; i < sizeof (names) / sizeof (names [0]); i++)
            estimate += names [i] ? strlen (names [i]) : 0;
    }
    for (uint32_t i = 0; job->history && i < job->history->count; i++) {
        const zjob_error_entry_t *entry = &job->history->entries [i];
        estimate += 40 + strlen (entry->kind) + (entry->message ? strlen (entry->message) : 0)
            + (entry->worker_id ? strlen (entry->worker_id) : 0);
    }

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
s_get_str (const msgpack_object *obj, s_key_t k, zjob_text_t *text, zjob_error_t *err)
{
    if (obj->type != MSGPACK_OBJECT_STR)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: not a string", s_keys [k].field);
    text->ptr = obj->via.str.ptr;
    text->len = obj->via.str.size;
    return 0;
}

static int
s_get_name (const msgpack_object *obj, s_key_t k, zjob_text_t *text, zjob_error_t *err)
{
    if (s_get_str (obj, k, text, err))
        return -1;
    if (zjob_job_check_name (s_keys [k].field, text->ptr, text->len, err)) {
        err->code = ZJOB_BAD_REQUEST;
        return -1;
    }
    return 0;
}

//  A free-form string of at most max bytes, without NULs
static int
s_get_message (const msgpack_object *obj, s_key_t k, size_t max, zjob_text_t *text,
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
    if (zjob_job_check_data (s_keys [k].field, (const uint8_t *) obj->via.bin.ptr,
                             obj->via.bin.size, bytes, err)) {
        err->code = ZJOB_BAD_REQUEST;
        return -1;
    }
    return 0;
}

//  Find the values of obj (a job's map) by key into values (NULL where
//  absent or nil); refuse a key given twice and a missing required key.
//  Returns 0, or -1 with err set.
static int
s_find_values (const msgpack_object *obj, const msgpack_object *values [K_COUNT],
               zjob_error_t *err)
{
    uint32_t unknown = 0;  //  Keys of a later version
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object_kv *kv = &obj->via.map.ptr [i];
        if (kv->key.type != MSGPACK_OBJECT_STR) {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "job: a key is not a string");
            return -1;
        }
        int k = s_key_lookup (kv->key.via.str.ptr, kv->key.via.str.size);
        if (k < 0) {
            unknown++;  //  A later version's field
            continue;
        }
        if (values [k]) {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: key \"%s\" given twice",
                            s_keys [k].field, s_keys [k].key);
            return -1;
        }
        values [k] = &kv->val;
    }
    //  Skipped keys are refused twice all the same; only they can repeat
    //  one another, so a map without two of them costs nothing more
    uint32_t repeat;
    int repeated = unknown > 1 ? zjob_msgpack_map_repeated (obj, &repeat) : 0;
    if (repeated < 0) {
        zjob_error_set (err, ZJOB_INTERNAL, "job: out of memory decoding");
        return -1;
    }
    if (repeated) {
        const msgpack_object_str *key = &obj->via.map.ptr [repeat].key.via.str;
        zjob_error_set (err, ZJOB_BAD_REQUEST, "job: key \"%.*s\" given twice",
                        key->size > 64 ? 64 : (int) key->size, key->ptr);
        return -1;
    }
    static const s_key_t required [] = { K_ID, K_WF, K_PRI, K_ST, K_CT };
    for (size_t i = 0; i < sizeof (required) / sizeof (required [0]); i++)
        if (!values [required [i]] || values [required [i]]->type == MSGPACK_OBJECT_NIL) {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: missing", s_keys [required [i]].field);
            return -1;
        }
    //  Optional fields: nil is the same as absent
    for (int k = 0; k < K_COUNT; k++)
        if (values [k] && values [k]->type == MSGPACK_OBJECT_NIL)
            values [k] = NULL;
    return 0;
}

//  The parents: job ids, none twice
static int
s_get_parents (const msgpack_object *par, zjob_job_fixed_t *fixed, zjob_error_t *err)
{
    if (par->type != MSGPACK_OBJECT_ARRAY)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "parents: not an array");
    if (par->via.array.size > ZJOB_PARENTS_MAX)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "parents: more than %d", ZJOB_PARENTS_MAX);
    for (uint32_t i = 0; i < par->via.array.size; i++) {
        zjob_text_t id;
        char id_text [ZJOB_ID_LEN + 1] = "";
        if (s_get_str (&par->via.array.ptr [i], K_PAR, &id, err))
            return -1;
        if (id.len == ZJOB_ID_LEN)
            memcpy (id_text, id.ptr, ZJOB_ID_LEN);
        if (!zjob_id_valid (id_text))
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "parents: not a job id");
        for (uint32_t j = 0; j < i; j++)
            if (memcmp (fixed->parents [j].ptr, id.ptr, ZJOB_ID_LEN) == 0)
                return zjob_error_set (err, ZJOB_BAD_REQUEST, "parents: %s given twice", id_text);
        fixed->parents [i] = id;
    }
    fixed->parent_count = par->via.array.size;
    return 0;
}

//  The fixed fields of the extra block (fixed is zeroed by the caller)
static int
s_get_extra_fixed (const msgpack_object **values, zjob_job_fixed_t *fixed, zjob_error_t *err)
{
    uint64_t opf = 0;
    if ((values [K_PAR] && s_get_parents (values [K_PAR], fixed, err))
        || (values [K_OPF] && s_get_uint (values [K_OPF], K_OPF, ZJOB_ON_PARENT_COUNT - 1, &opf, err))
        || (values [K_SFOR] && s_get_time (values [K_SFOR], K_SFOR, &fixed->scheduled_for, err))
        || (values [K_BAT] && s_get_name (values [K_BAT], K_BAT, &fixed->batch_id, err))
        || (values [K_TPL] && s_get_name (values [K_TPL], K_TPL, &fixed->template_name, err))
        || (values [K_SCH] && s_get_name (values [K_SCH], K_SCH, &fixed->schedule_id, err))
        || (values [K_UNIQ] && s_get_name (values [K_UNIQ], K_UNIQ, &fixed->unique_key, err)))
        return -1;
    fixed->on_parent_failure = (uint8_t) opf;
    if (values [K_POUT] && fixed->parent_count == 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "parent_outputs: the job has no parents");
    return 0;
}

//  The parents' outputs (checked as a map of bounded size) onto job
static int
s_get_parent_outputs (const msgpack_object *pout, zjob_job_t *job, zjob_error_t *err)
{
    if (pout->type != MSGPACK_OBJECT_BIN)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "parent_outputs: not bin");
    if (zjob_job_set_parent_outputs (job, (const uint8_t *) pout->via.bin.ptr, pout->via.bin.size,
                                     err)) {
        if (err->code != ZJOB_INTERNAL)
            err->code = ZJOB_BAD_REQUEST;
        return -1;
    }
    return 0;
}

//  Check the fields of the single allocation into *fixed, and the id into
//  id_text (ZJOB_ID_LEN + 1 bytes). Returns 0, or -1 with err set.
static int
s_get_fixed (const msgpack_object **values, zjob_job_fixed_t *fixed, char *id_text,
             zjob_error_t *err)
{
    zjob_text_t id = { NULL, 0 };
    if (s_get_str (values [K_ID], K_ID, &id, err))
        return -1;
    if (id.len == ZJOB_ID_LEN)
        memcpy (id_text, id.ptr, ZJOB_ID_LEN);
    if (!zjob_id_valid (id_text)) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "id: not a job id");
        return -1;
    }
    if (s_get_name (values [K_WF], K_WF, &fixed->workflow_id, err)
        || (values [K_USER] && s_get_name (values [K_USER], K_USER, &fixed->user_id, err))
        || (values [K_IDEM] && s_get_name (values [K_IDEM], K_IDEM, &fixed->idempotency_key, err))
        || (values [K_IN] && s_get_data (values [K_IN], K_IN, &fixed->inputs, err))
        || (values [K_META] && s_get_data (values [K_META], K_META, &fixed->metadata, err)))
        return -1;
    if (values [K_TAGS]) {
        const msgpack_object *tags = values [K_TAGS];
        if (tags->type != MSGPACK_OBJECT_ARRAY) {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "tags: not an array");
            return -1;
        }
        if (tags->via.array.size > ZJOB_TAGS_MAX) {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "tags: more than %d", ZJOB_TAGS_MAX);
            return -1;
        }
        for (uint32_t i = 0; i < tags->via.array.size; i++)
            if (s_get_name (&tags->via.array.ptr [i], K_TAGS, &fixed->tags [i], err))
                return -1;
        fixed->tag_count = tags->via.array.size;
        if (zjob_job_check_tags_unique (fixed->tags, fixed->tag_count, err))
            return -1;
    }
    return s_get_extra_fixed (values, fixed, err);
}

//  A progress value (float, or the integers 0 and 1) in 0..1
static int
s_get_progress (const msgpack_object *value, double *progress, zjob_error_t *err)
{
    if (value->type == MSGPACK_OBJECT_FLOAT32 || value->type == MSGPACK_OBJECT_FLOAT64)
        *progress = value->via.f64;
    else if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *progress = value->via.u64 <= 1 ? (double) value->via.u64 : 2.0;
    else {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "progress: not a number");
        return -1;
    }
    if (!(*progress >= 0.0 && *progress <= 1.0)) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "progress: not between 0 and 1");
        return -1;
    }
    return 0;
}

//  Copy the fields that change as the job runs into job; returns false if
//  out of memory
static bool
s_copy_run_fields (zjob_job_t *job, const zjob_text_t texts [K_COUNT], zjob_bytes_t outputs)
{
    bool nomem = false;
    if (texts [K_PMSG].ptr)
        nomem |= !(job->progress_message = zjob_job_strndup (texts [K_PMSG].ptr,
                                                             texts [K_PMSG].len));
    if (texts [K_EKIND].ptr)
        nomem |= !(job->error_kind = zjob_job_strndup (texts [K_EKIND].ptr,
                                                       texts [K_EKIND].len));
    if (texts [K_EMSG].ptr)
        nomem |= !(job->error_message = zjob_job_strndup (texts [K_EMSG].ptr,
                                                          texts [K_EMSG].len));
    if (texts [K_WK].ptr)
        nomem |= !(job->worker_id = zjob_job_strndup (texts [K_WK].ptr,
                                                      texts [K_WK].len));
    if (outputs.size) {
        job->outputs.data = zjob_job_memdup (outputs.data, outputs.size);
        job->outputs.size = outputs.size;
        nomem |= !job->outputs.data;
    }
    return !nomem;
}

//  The policy's keys into a new policy on job (none if no key is there)
static int
s_get_policy (const msgpack_object **values, zjob_job_t *job, zjob_error_t *err)
{
    static const s_key_t keys [] = { K_BO, K_BOB, K_BOF, K_BOM, K_BOJ, K_NR, K_TMO, K_HBT };
    bool any = false;
    for (size_t i = 0; i < sizeof (keys) / sizeof (keys [0]); i++)
        any |= values [keys [i]] != NULL;
    if (!any)
        return 0;
    uint64_t u [K_COUNT] = { 0 };
    static const s_key_t uints [] = { K_BO, K_BOB, K_BOM, K_BOJ, K_TMO, K_HBT };
    for (size_t i = 0; i < sizeof (uints) / sizeof (uints [0]); i++) {
        s_key_t k = uints [i];
        uint64_t max = k == K_BO ? ZJOB_BACKOFF_EXPONENTIAL : k == K_BOJ ? ZJOB_JITTER_NONE
                                                                         : UINT32_MAX;
        if (values [k] && s_get_uint (values [k], k, max, &u [k], err))
            return -1;
    }
    double factor = 0;
    const msgpack_object *bof = values [K_BOF];
    if (bof) {
        if (bof->type == MSGPACK_OBJECT_FLOAT32 || bof->type == MSGPACK_OBJECT_FLOAT64)
            factor = bof->via.f64;
        else if (bof->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            factor = (double) bof->via.u64;
        else
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "backoff_factor: not a number");
        if (!(factor >= 1.0 && factor <= 100.0))
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "backoff_factor: 1.0 to 100.0, not %g",
                                   factor);
    }
    zjob_text_t kinds [ZJOB_NO_RETRY_MAX];
    char *copies [ZJOB_NO_RETRY_MAX];
    size_t count = 0;
    const msgpack_object *nr = values [K_NR];
    if (nr) {
        if (nr->type != MSGPACK_OBJECT_ARRAY)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "no_retry: not an array");
        if (nr->via.array.size > ZJOB_NO_RETRY_MAX)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "no_retry: more than %d",
                                   ZJOB_NO_RETRY_MAX);
        for (; count < nr->via.array.size; count++)
            if (s_get_name (&nr->via.array.ptr [count], K_NR, &kinds [count], err))
                return -1;
    }
    zjob_policy_t values_in = {
        .backoff_base_ms = (uint32_t) u [K_BOB], .backoff_max_ms = (uint32_t) u [K_BOM], .timeout_ms = (uint32_t) u [K_TMO], .heartbeat_timeout_ms = (uint32_t) u [K_HBT], .backoff_factor = (float) factor, .backoff = (uint8_t) u [K_BO], .jitter = (uint8_t) u [K_BOJ]
    };
    size_t made = 0;
    for (; made < count; made++)
        if (!(copies [made] = zjob_job_strndup (kinds [made].ptr, kinds [made].len)))
            break;
    if (made == count)
        job->policy = zjob_policy_new (&values_in, (const char *const *) copies, count);
    for (size_t i = 0; i < made; i++)
        free (copies [i]);
    if (!job->policy)
        return zjob_error_set (err, ZJOB_INTERNAL, "job: out of memory");
    return 0;
}

//  One entry of errs: {att, kind, msg, wk, at}, unknown keys skipped
static int
s_get_entry (const msgpack_object *obj, zjob_job_t *job, zjob_error_t *err)
{
    if (obj->type != MSGPACK_OBJECT_MAP)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "errors: an entry is not a map");
    static const char *names [] = { "att", "kind", "msg", "wk", "at" };
    const msgpack_object *found [5] = { NULL };
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object_kv *kv = &obj->via.map.ptr [i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "errors: a key is not a string");
        for (int n = 0; n < 5; n++)
            if (kv->key.via.str.size == strlen (names [n])
                && memcmp (kv->key.via.str.ptr, names [n], kv->key.via.str.size) == 0) {
                if (found [n])
                    return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                           "errors: key \"%s\" given twice", names [n]);
                found [n] = kv->val.type == MSGPACK_OBJECT_NIL ? NULL : &kv->val;
            }
    }
    uint64_t attempt = 0;
    int64_t at = 0;
    zjob_text_t texts [3] = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
    if (!found [1])
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "errors: an entry has no kind");
    if ((found [0] && s_get_uint (found [0], K_ERRS, UINT32_MAX, &attempt, err))
        || (found [4] && s_get_time (found [4], K_ERRS, &at, err))
        || s_get_message (found [1], K_ERRS, ZJOB_NAME_MAX, &texts [0], err)
        || (found [2] && s_get_message (found [2], K_ERRS, ZJOB_MESSAGE_MAX, &texts [1], err))
        || (found [3] && s_get_message (found [3], K_ERRS, ZJOB_NAME_MAX, &texts [2], err)))
        return -1;
    char *copies [3] = { NULL, NULL, NULL };
    bool nomem = false;
    for (int n = 0; n < 3; n++)
        if (texts [n].ptr)
            nomem |= !(copies [n] = zjob_job_strndup (texts [n].ptr, texts [n].len));
    zjob_history_t *replaced = NULL;
    //  add_error sets error_kind/message too: the decoder sets them after
    if (!nomem
        && zjob_job_add_error (job, (uint32_t) attempt, copies [0], copies [1], copies [2], at,
                               &replaced))
        nomem = true;
    else if (!nomem)
        zjob_job_history_settle (job, replaced);
    for (int n = 0; n < 3; n++)
        free (copies [n]);
    return nomem ? zjob_error_set (err, ZJOB_INTERNAL, "job: out of memory") : 0;
}

//  The attempt history, and result_attempt
static int
s_get_history (const msgpack_object **values, zjob_job_t *job, zjob_error_t *err)
{
    uint64_t ratt = 0;
    if (values [K_RATT] && s_get_uint (values [K_RATT], K_RATT, UINT32_MAX, &ratt, err))
        return -1;
    job->result_attempt = (uint32_t) ratt;
    const msgpack_object *errs = values [K_ERRS];
    if (!errs)
        return 0;
    if (errs->type != MSGPACK_OBJECT_ARRAY)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "errors: not an array");
    if (errs->via.array.size > ZJOB_ERRORS_KEPT)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "errors: more than %d", ZJOB_ERRORS_KEPT);
    for (uint32_t i = 0; i < errs->via.array.size; i++)
        if (s_get_entry (&errs->via.array.ptr [i], job, err))
            return -1;
    return 0;
}

//  The plain fields of a record, checked before the job is built
typedef struct {
    uint64_t priority, status, max_attempts, attempts;
    int64_t times [K_COUNT];
    bool held;
    double progress;
    zjob_text_t texts [K_COUNT];  //  Still in the record, not copied
    zjob_bytes_t outputs;         //  Likewise
} s_plain_t;

//  Check the plain fields (numbers, times, held, progress, texts, outputs)
//  into plain, zeroed by the caller. Returns 0, or -1 with err filled
static int
s_get_plain (const msgpack_object **values, s_plain_t *plain, zjob_error_t *err)
{
    if (s_get_uint (values [K_PRI], K_PRI, ZJOB_PRIORITY_COUNT - 1, &plain->priority, err)
        || s_get_uint (values [K_ST], K_ST, ZJOB_STATUS_COUNT - 1, &plain->status, err)
        || (values [K_MAXA]
            && s_get_uint (values [K_MAXA], K_MAXA, UINT32_MAX, &plain->max_attempts, err))
        || (values [K_ATT]
            && s_get_uint (values [K_ATT], K_ATT, UINT32_MAX, &plain->attempts, err)))
        return -1;
    static const s_key_t time_keys [] = {
        K_RUNAT, K_CT, K_UT, K_QT, K_SAT, K_CAT, K_XMS, K_QMS
    };
    for (size_t i = 0; i < sizeof (time_keys) / sizeof (time_keys [0]); i++) {
        s_key_t k = time_keys [i];
        if (values [k] && s_get_time (values [k], k, &plain->times [k], err))
            return -1;
    }
    if (values [K_HELD]) {
        if (values [K_HELD]->type != MSGPACK_OBJECT_BOOLEAN)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "held: not a boolean");
        plain->held = values [K_HELD]->via.boolean;
    }
    if (values [K_PROG] && s_get_progress (values [K_PROG], &plain->progress, err))
        return -1;
    zjob_text_t *texts = plain->texts;
    if ((values [K_PMSG]
         && s_get_message (values [K_PMSG], K_PMSG, ZJOB_MESSAGE_MAX, &texts [K_PMSG], err))
        || (values [K_EKIND]
            && s_get_message (values [K_EKIND], K_EKIND, ZJOB_NAME_MAX, &texts [K_EKIND], err))
        || (values [K_EMSG]
            && s_get_message (values [K_EMSG], K_EMSG, ZJOB_MESSAGE_MAX, &texts [K_EMSG], err))
        || (values [K_WK]
            && s_get_message (values [K_WK], K_WK, ZJOB_NAME_MAX, &texts [K_WK], err))
        || (values [K_OUT] && s_get_data (values [K_OUT], K_OUT, &plain->outputs, err)))
        return -1;
    return 0;
}

//  Set the job's plain numbers and times from plain (checked already)
static void
s_set_plain (zjob_job_t *job, const msgpack_object **values, const s_plain_t *plain)
{
    const int64_t *times = plain->times;
    job->priority = (uint8_t) plain->priority;
    job->status = (uint8_t) plain->status;
    job->held = plain->held;
    job->max_attempts = (uint32_t) plain->max_attempts;
    job->attempts = (uint32_t) plain->attempts;
    job->progress = (float) plain->progress;
    job->run_at = times [K_RUNAT];
    job->created_at = times [K_CT];
    job->updated_at = values [K_UT] ? times [K_UT] : times [K_CT];
    job->queued_at = times [K_QT];
    job->started_at = times [K_SAT];
    job->completed_at = times [K_CAT];
    job->execution_ms = times [K_XMS];
    job->queued_ms = times [K_QMS];
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
    if (s_find_values (obj, values, err))
        return NULL;

    //  The fixed part
    zjob_job_fixed_t fixed;
    memset (&fixed, 0, sizeof (fixed));
    char id_text [ZJOB_ID_LEN + 1] = "";
    if (s_get_fixed (values, &fixed, id_text, err))
        return NULL;

    //  The plain fields
    s_plain_t plain;
    memset (&plain, 0, sizeof (plain));
    if (s_get_plain (values, &plain, err))
        return NULL;

    //  Everything is valid: build the job
    zjob_job_t *job = zjob_job_alloc (&fixed);
    if (!job) {
        zjob_error_set (err, ZJOB_INTERNAL, "job: out of memory");
        return NULL;
    }
    memcpy (job->id, id_text, sizeof (job->id));
    s_set_plain (job, values, &plain);
    //  The history first: adding its entries sets error_kind/message,
    //  which the job's own keys then set
    if (s_get_policy (values, job, err) || s_get_history (values, job, err)
        || (values [K_POUT] && s_get_parent_outputs (values [K_POUT], job, err))) {
        zjob_job_destroy (&job);
        return NULL;
    }
    free (job->error_kind);
    free (job->error_message);
    job->error_kind = job->error_message = NULL;
    bool nomem = !s_copy_run_fields (job, plain.texts, plain.outputs);
    if (nomem) {
        zjob_job_destroy (&job);
        zjob_error_set (err, ZJOB_INTERNAL, "job: out of memory");
    }
    else  //  The setters above stamp updated_at with now: the record's
        job->updated_at = values [K_UT] ? plain.times [K_UT] : plain.times [K_CT];
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
            == MSGPACK_UNPACK_SUCCESS
        && offset == size)
        job = zjob_job_from_object (&result.data, err);
    else
        zjob_error_set (err, ZJOB_BAD_REQUEST, "job: not msgpack");
    msgpack_unpacked_destroy (&result);
    return job;
}
