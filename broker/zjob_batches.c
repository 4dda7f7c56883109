/*  =========================================================================
    zjob_batches - batches of jobs: their counters, state and callback

    The batches live in a hash by id; each one's counters move in O(1)
    per member change (zjob_batches.h says when). Three lists keep the
    work of a pass bounded and out of the hot path: the ids of batches to
    write (dirty), of callbacks to create (due), and the FIFO of finished
    batches for cleanup. The lists hold ids, not pointers, so a batch
    removed meanwhile is simply not found.

    The record (kind "batch", name the id) is a msgpack map with short
    keys: tot, ok, fail, can (counters), open (bool), cat, fat (created
    and finished ms UTC), cb (the callback: a map {wf, in, pri, tags,
    meta}), cbj (the callback job's id), usr (the owner: the user of the
    client key whose SUBMIT created it; absent: no owner, admin keys
    only). A key it does not know is skipped, so that a later version can
    add some.
    ========================================================================= */

#include "zjob_batches.h"
#include "zjob_log.h"
#include "zjob_job_impl.h"
#include "zjob_msgpack.h"
#include <stdlib.h>
#include <string.h>

//  One batch
typedef struct {
    char id [ZJOB_NAME_MAX + 1];                 //  Its name, the record's name
    uint64_t total;                              //  Members
    uint64_t completed;                          //  Members completed
    uint64_t failed;                             //  Members failed
    uint64_t cancelled;                          //  Members cancelled (or deleted unfinished)
    bool open;                                   //  More members may join
    bool finished;                               //  Closed and none pending
    bool dirty;                                  //  Its id is in the dirty list
    bool due;                                    //  Its callback job is to be created
    int64_t created_at;                          //  ms UTC
    int64_t finished_at;                         //  ms UTC of the last finish; 0 if running
    uint8_t *callback;                           //  The callback map (record form), or NULL
    size_t callback_size;                        //  Its bytes
    char callback_workflow [ZJOB_NAME_MAX + 1];  //  "" if none
    char callback_job [ZJOB_ID_LEN + 1];         //  "" until created
    char user [ZJOB_NAME_MAX + 1];               //  Its owner; "" none (admin only)
} s_batch_t;

//  A finished batch in the cleanup FIFO
typedef struct {
    int64_t at;  //  Its finished_at when it entered
    char id [ZJOB_NAME_MAX + 1];
} s_done_t;

struct _zjob_batches_t {
    zjob_manager_t *manager;             //  Borrowed
    zhashx_t *batches;                   //  id -> s_batch_t, owned
    zlistx_t *dirty;                     //  Ids of batches to write (strings)
    zlistx_t *due;                       //  Ids of batches whose callback is due
    zlistx_t *done;                      //  s_done_t, in order of finishing
    zlistx_t *staged;                    //  New batches of the SUBMIT under way
    bool holding;                        //  A SUBMIT is under way: members'
                                         //  changes are counted when it ends
    char submitter [ZJOB_NAME_MAX + 1];  //  The owner of the batches the next
                                         //  SUBMIT creates; "" none
    zjob_batches_listener_fn *listener;  //  Hears a batch finish, or NULL
    void *listener_arg;
};

static void
s_batch_destroy (s_batch_t **self_p)
{
    if (*self_p) {
        free ((*self_p)->callback);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_batch_free (void **item_p)
{
    s_batch_destroy ((s_batch_t **) item_p);
}

static void
s_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static void *
s_strdup (const void *item)
{
    return strdup ((const char *) item);
}

static int
s_done_compare (const void *a, const void *b)
{
    const s_done_t *x = (const s_done_t *) a, *y = (const s_done_t *) b;
    return x->at < y->at ? -1 : x->at > y->at;
}

zjob_batches_t *
zjob_batches_new (zjob_manager_t *manager)
{
    assert (manager);
    zjob_batches_t *self = (zjob_batches_t *) calloc (1, sizeof (zjob_batches_t));
    if (!self)
        return NULL;
    self->manager = manager;
    self->batches = zjob_hashx_new ();
    self->dirty = zlistx_new ();
    self->due = zlistx_new ();
    self->done = zlistx_new ();
    self->staged = zlistx_new ();
    if (!self->batches || !self->dirty || !self->due || !self->done || !self->staged) {
        zjob_batches_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->batches, s_batch_free);
    zlistx_set_duplicator (self->dirty, s_strdup);
    zlistx_set_destructor (self->dirty, s_free);
    zlistx_set_duplicator (self->due, s_strdup);
    zlistx_set_destructor (self->due, s_free);
    zlistx_set_destructor (self->done, s_free);
    zlistx_set_comparator (self->done, s_done_compare);
    zlistx_set_destructor (self->staged, s_batch_free);
    return self;
}

void
zjob_batches_destroy (zjob_batches_t **self_p)
{
    assert (self_p);
    zjob_batches_t *self = *self_p;
    if (!self)
        return;
    zjob_error_t err;
    if (self->dirty && zjob_batches_flush (self, false, &err))
        zjob_log_error ("zjob_batches: batch records not written at exit: %s", err.text);
    zhashx_destroy (&self->batches);
    zlistx_destroy (&self->dirty);
    zlistx_destroy (&self->due);
    zlistx_destroy (&self->done);
    zlistx_destroy (&self->staged);
    free (self);
    *self_p = NULL;
}

void
zjob_batches_set_listener (zjob_batches_t *self, zjob_batches_listener_fn *fn, void *arg)
{
    assert (self);
    self->listener = fn;
    self->listener_arg = fn ? arg : NULL;
}

size_t
zjob_batches_size (zjob_batches_t *self)
{
    assert (self);
    return zhashx_size (self->batches);
}

bool
zjob_batches_dirty (zjob_batches_t *self)
{
    assert (self);
    return zlistx_size (self->dirty) > 0 || zlistx_size (self->due) > 0;
}


//  --------------------------------------------------------------------------
//  State

static uint64_t
s_pending (const s_batch_t *batch)
{
    uint64_t ended = batch->completed + batch->failed + batch->cancelled;
    return batch->total > ended ? batch->total - ended : 0;
}

static const char *
s_state (const s_batch_t *batch)
{
    if (batch->open)
        return "open";
    if (s_pending (batch))
        return "running";
    return batch->failed + batch->cancelled ? "failed" : "completed";
}

static void
s_info (const s_batch_t *batch, zjob_batch_info_t *info)
{
    memset (info, 0, sizeof (*info));
    snprintf (info->id, sizeof (info->id), "%s", batch->id);
    snprintf (info->state, sizeof (info->state), "%s", s_state (batch));
    info->total = batch->total;
    info->completed = batch->completed;
    info->failed = batch->failed;
    info->cancelled = batch->cancelled;
    info->pending = s_pending (batch);
    info->created_at = batch->created_at;
    info->finished_at = batch->finished ? batch->finished_at : 0;
    snprintf (info->callback_workflow, sizeof (info->callback_workflow), "%s",
              batch->callback_workflow);
    snprintf (info->callback_job, sizeof (info->callback_job), "%s", batch->callback_job);
}

static void
s_mark_dirty (zjob_batches_t *self, s_batch_t *batch)
{
    if (!batch->dirty && zlistx_add_end (self->dirty, batch->id))
        batch->dirty = true;
    else if (!batch->dirty)
        zjob_log_error ("zjob_batches: out of memory marking batch %s to write", batch->id);
}

//  The batch changed: write it, and see whether it finished or runs again
static void
s_changed (zjob_batches_t *self, s_batch_t *batch)
{
    s_mark_dirty (self, batch);
    bool finished = !batch->open && s_pending (batch) == 0;
    if (finished == batch->finished)
        return;
    batch->finished = finished;
    if (!finished) {
        batch->finished_at = 0;  //  A member re-run: it runs again
        return;
    }
    batch->finished_at = zjob_clock_ms ();
    s_done_t *done = (s_done_t *) malloc (sizeof (s_done_t));
    if (done) {
        done->at = batch->finished_at;
        snprintf (done->id, sizeof (done->id), "%s", batch->id);
        if (!zlistx_add_end (self->done, done))
            free (done);
    }
    if (batch->callback && !batch->callback_job [0] && !batch->due) {
        if (zlistx_add_end (self->due, batch->id))
            batch->due = true;
        else
            zjob_log_error ("zjob_batches: out of memory: batch %s's callback waits for a "
                            "restart",
                            batch->id);
    }
    if (self->listener) {
        zjob_batch_info_t info;
        s_info (batch, &info);
        self->listener (&info, self->listener_arg);
    }
}

//  A status's class: 0 pending, 1 completed, 2 failed, 3 cancelled
static int
s_class (int status)
{
    return status == ZJOB_COMPLETED ? 1 : status == ZJOB_FAILED ? 2
        : status == ZJOB_CANCELLED                              ? 3
                                                                : 0;
}

static uint64_t *
s_counter (s_batch_t *batch, int klass)
{
    return klass == 1 ? &batch->completed : klass == 2 ? &batch->failed
        : klass == 3                                   ? &batch->cancelled
                                                       : NULL;
}

static void
s_move (s_batch_t *batch, int from, int to)
{
    uint64_t *out = s_counter (batch, from);
    uint64_t *in = s_counter (batch, to);
    if (out && *out)
        (*out)--;
    if (in)
        (*in)++;
}

static s_batch_t *
s_member_batch (zjob_batches_t *self, const zjob_job_t *job)
{
    const char *id = zjob_job_batch (job);
    return id && !self->holding ? (s_batch_t *) zhashx_lookup (self->batches, id) : NULL;
}

void
zjob_batches_changed (zjob_batches_t *self, const zjob_job_t *job, int old_status)
{
    assert (self && job);
    if (old_status < 0)
        return;  //  A new member is counted by zjob_batches_submitted
    s_batch_t *batch = s_member_batch (self, job);
    int from = s_class (old_status), to = s_class (job->status);
    if (!batch || from == to)
        return;
    s_move (batch, from, to);
    s_changed (self, batch);
}

void
zjob_batches_deleted (zjob_batches_t *self, const zjob_job_t *job)
{
    assert (self && job);
    s_batch_t *batch = s_member_batch (self, job);
    if (!batch || s_class (job->status) != 0)
        return;  //  A finished member keeps its count
    s_move (batch, 0, 3);
    s_changed (self, batch);
}


//  --------------------------------------------------------------------------
//  SUBMIT

static s_batch_t *
s_find (zjob_batches_t *self, const char *id)
{
    s_batch_t *batch = (s_batch_t *) zhashx_lookup (self->batches, id);
    for (s_batch_t *staged = (s_batch_t *) zlistx_first (self->staged); !batch && staged;
         staged = (s_batch_t *) zlistx_next (self->staged))
        if (strcmp (staged->id, id) == 0)
            batch = staged;
    return batch;
}

//  The callback spec in its record form {wf, in, pri, tags, meta}
static int
s_callback_encode (s_batch_t *batch, const zjob_spec_t *cb)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    bool inputs = cb->inputs && cb->inputs_size, meta = cb->metadata && cb->metadata_size;
    bool priority = cb->priority != ZJOB_PRIORITY_UNSET, tags = cb->tags && cb->tag_count;
    int rc = msgpack_pack_map (&pk, 1 + inputs + meta + priority + tags);
    rc |= msgpack_pack_str_with_body (&pk, "wf", 2);
    rc |= msgpack_pack_str_with_body (&pk, cb->workflow_id, strlen (cb->workflow_id));
    if (inputs) {
        rc |= msgpack_pack_str_with_body (&pk, "in", 2);
        rc |= msgpack_pack_bin_with_body (&pk, cb->inputs, cb->inputs_size);
    }
    if (meta) {
        rc |= msgpack_pack_str_with_body (&pk, "meta", 4);
        rc |= msgpack_pack_bin_with_body (&pk, cb->metadata, cb->metadata_size);
    }
    if (priority) {
        rc |= msgpack_pack_str_with_body (&pk, "pri", 3);
        rc |= msgpack_pack_uint32 (&pk, (uint32_t) cb->priority);
    }
    if (tags) {
        rc |= msgpack_pack_str_with_body (&pk, "tags", 4);
        rc |= msgpack_pack_array (&pk, cb->tag_count);
        for (size_t t = 0; t < cb->tag_count; t++)
            rc |= msgpack_pack_str_with_body (&pk, cb->tags [t], strlen (cb->tags [t]));
    }
    if (rc) {
        msgpack_sbuffer_destroy (&buffer);
        return -1;
    }
    batch->callback_size = buffer.size;  //  release zeroes it
    batch->callback = (uint8_t *) msgpack_sbuffer_release (&buffer);
    snprintf (batch->callback_workflow, sizeof (batch->callback_workflow), "%s",
              cb->workflow_id);
    return 0;
}

//  A new batch, staged until its SUBMIT's jobs exist
static s_batch_t *
s_stage (zjob_batches_t *self, const char *id, const zjob_batch_opts_t *opts, zjob_error_t *err)
{
    s_batch_t *batch = (s_batch_t *) calloc (1, sizeof (s_batch_t));
    if (batch) {
        snprintf (batch->id, sizeof (batch->id), "%s", id);
        snprintf (batch->user, sizeof (batch->user), "%s", self->submitter);
        batch->created_at = zjob_clock_ms ();
        bool mine = opts && opts->id && strcmp (opts->id, id) == 0;
        if (mine && opts->callback && s_callback_encode (batch, opts->callback))
            s_batch_destroy (&batch);
    }
    if (batch && !zlistx_add_end (self->staged, batch))
        s_batch_destroy (&batch);
    if (!batch)
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    return batch;
}

int
zjob_batches_submit_check (zjob_batches_t *self, const zjob_batch_opts_t *opts,
                           const zjob_spec_t *specs, size_t count, zjob_error_t *err)
{
    assert (self && specs);
    zlistx_purge (self->staged);
    if (opts && opts->callback && zhashx_lookup (self->batches, opts->id))
        return zjob_error_set (err, ZJOB_CONFLICT, "batch %s exists already: a callback is "
                                                   "given only by the SUBMIT that creates it",
                               opts->id);
    if (opts && opts->callback) {
        //  Checked now, so that the callback cannot fail when it is due
        zjob_error_t cause = { 0, "" };
        zjob_job_t *probe = zjob_job_new (opts->callback, &cause);
        if (!probe)
            return zjob_error_set (err, cause.code ? cause.code : ZJOB_BAD_REQUEST,
                                   "batch.callback: %s", cause.text);
        zjob_job_destroy (&probe);
    }
    for (size_t index = 0; index < count; index++) {
        const char *id = specs [index].batch_id;
        if (!id)
            continue;
        s_batch_t *batch = s_find (self, id);
        if (batch && !batch->open && zhashx_lookup (self->batches, id)) {
            zlistx_purge (self->staged);
            return zjob_error_set (err, ZJOB_CONFLICT, "jobs[%zu]: batch %s is closed; it "
                                                       "takes no more jobs",
                                   index, id);
        }
        if (!batch && !s_stage (self, id, opts, err)) {
            zlistx_purge (self->staged);
            return -1;
        }
    }
    self->holding = true;
    return 0;
}

int
zjob_batches_submitted (zjob_batches_t *self, const zjob_batch_opts_t *opts,
                        zjob_job_t *const *jobs, const bool *created, size_t count,
                        zjob_error_t *err)
{
    assert (self);
    self->holding = false;
    if (!jobs) {
        zlistx_purge (self->staged);  //  The SUBMIT created nothing
        return 0;
    }
    int rc = 0;
    s_batch_t *batch;
    while ((batch = (s_batch_t *) zlistx_first (self->staged)) != NULL) {
        zlistx_detach_cur (self->staged);
        batch->open = true;  //  Until the members are counted, below
        if (zhashx_insert (self->batches, batch->id, batch)) {
            s_batch_destroy (&batch);
            rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        }
    }
    //  Count the members by their status now (one may have ended at once)
    for (size_t index = 0; index < count; index++) {
        if (!jobs [index] || (created && !created [index]))
            continue;
        const char *id = zjob_job_batch (jobs [index]);
        batch = id ? (s_batch_t *) zhashx_lookup (self->batches, id) : NULL;
        if (!batch)
            continue;
        batch->total++;
        s_move (batch, 0, s_class (jobs [index]->status));
        s_mark_dirty (self, batch);
    }
    //  Each batch this SUBMIT added to closes, unless its map says open
    for (size_t index = 0; index < count; index++) {
        const char *id = jobs [index] ? zjob_job_batch (jobs [index]) : NULL;
        batch = id ? (s_batch_t *) zhashx_lookup (self->batches, id) : NULL;
        if (!batch || !batch->open)
            continue;
        batch->open = opts && opts->open && opts->id && strcmp (opts->id, id) == 0;
        s_changed (self, batch);
    }
    //  The batch map's own batch, even when no job was created for it
    batch = opts && opts->id ? (s_batch_t *) zhashx_lookup (self->batches, opts->id) : NULL;
    if (batch && batch->open && !opts->open) {
        batch->open = false;
        s_changed (self, batch);
    }
    else if (batch)
        s_mark_dirty (self, batch);
    return rc;
}


//  --------------------------------------------------------------------------
//  The record

static void
s_pack_key (msgpack_packer *pk, const char *key)
{
    msgpack_pack_str_with_body (pk, key, strlen (key));
}

static int
s_encode (const s_batch_t *batch, msgpack_sbuffer *buffer)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    bool cb = batch->callback != NULL, cbj = batch->callback_job [0] != 0;
    bool fat = batch->finished, usr = batch->user [0] != 0;
    int rc = msgpack_pack_map (&pk, 6 + cb + cbj + fat + usr);
    s_pack_key (&pk, "tot");
    rc |= msgpack_pack_uint64 (&pk, batch->total);
    s_pack_key (&pk, "ok");
    rc |= msgpack_pack_uint64 (&pk, batch->completed);
    s_pack_key (&pk, "fail");
    rc |= msgpack_pack_uint64 (&pk, batch->failed);
    s_pack_key (&pk, "can");
    rc |= msgpack_pack_uint64 (&pk, batch->cancelled);
    s_pack_key (&pk, "open");
    rc |= batch->open ? msgpack_pack_true (&pk) : msgpack_pack_false (&pk);
    s_pack_key (&pk, "cat");
    rc |= msgpack_pack_int64 (&pk, batch->created_at);
    if (fat) {
        s_pack_key (&pk, "fat");
        rc |= msgpack_pack_int64 (&pk, batch->finished_at);
    }
    if (cb) {
        s_pack_key (&pk, "cb");
        rc |= msgpack_sbuffer_write (buffer, (const char *) batch->callback, batch->callback_size);
    }
    if (cbj) {
        s_pack_key (&pk, "cbj");
        rc |= msgpack_pack_str_with_body (&pk, batch->callback_job, strlen (batch->callback_job));
    }
    if (usr) {
        s_pack_key (&pk, "usr");
        rc |= msgpack_pack_str_with_body (&pk, batch->user, strlen (batch->user));
    }
    return rc ? -1 : 0;
}

static bool
s_key_is (const msgpack_object *obj, const char *key)
{
    size_t len = strlen (key);
    return obj->type == MSGPACK_OBJECT_STR && obj->via.str.size == len
        && memcmp (obj->via.str.ptr, key, len) == 0;
}

static uint64_t
s_uint (const msgpack_object *obj)
{
    return obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? obj->via.u64 : 0;
}

static int64_t
s_int (const msgpack_object *obj)
{
    return obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t) obj->via.u64
        : obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER  ? obj->via.i64
                                                        : 0;
}

//  Read the callback map back: its bytes, re-packed, and its workflow
static int
s_decode_callback (s_batch_t *batch, const msgpack_object *map)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return -1;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (s_key_is (&map->via.map.ptr [i].key, "wf")
            && map->via.map.ptr [i].val.type == MSGPACK_OBJECT_STR) {
            const msgpack_object *wf = &map->via.map.ptr [i].val;
            size_t len = wf->via.str.size < ZJOB_NAME_MAX ? wf->via.str.size : ZJOB_NAME_MAX;
            memcpy (batch->callback_workflow, wf->via.str.ptr, len);
            batch->callback_workflow [len] = 0;
        }
    if (!batch->callback_workflow [0])
        return -1;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    if (msgpack_pack_object (&pk, *map)) {
        msgpack_sbuffer_destroy (&buffer);
        return -1;
    }
    batch->callback_size = buffer.size;  //  release zeroes it
    batch->callback = (uint8_t *) msgpack_sbuffer_release (&buffer);
    return 0;
}

static s_batch_t *
s_decode (const char *name, const uint8_t *data, size_t size)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    s_batch_t *batch = NULL;
    //  Scanned first: a stored count of 4 billion must not make msgpack-c
    //  allocate before it reads (as the journal's replay, fuzz_journal)
    if (zjob_msgpack_is_map (data, size)
        && msgpack_unpack_next (&unpacked, (const char *) data, size, NULL) == MSGPACK_UNPACK_SUCCESS
        && unpacked.data.type == MSGPACK_OBJECT_MAP && zjob_name_valid (name))
        batch = (s_batch_t *) calloc (1, sizeof (s_batch_t));
    const msgpack_object *map = &unpacked.data;
    for (uint32_t i = 0; batch && i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr [i].key;
        const msgpack_object *value = &map->via.map.ptr [i].val;
        if (s_key_is (key, "tot"))
            batch->total = s_uint (value);
        else if (s_key_is (key, "ok"))
            batch->completed = s_uint (value);
        else if (s_key_is (key, "fail"))
            batch->failed = s_uint (value);
        else if (s_key_is (key, "can"))
            batch->cancelled = s_uint (value);
        else if (s_key_is (key, "open"))
            batch->open = value->type == MSGPACK_OBJECT_BOOLEAN && value->via.boolean;
        else if (s_key_is (key, "cat"))
            batch->created_at = s_int (value);
        else if (s_key_is (key, "fat"))
            batch->finished_at = s_int (value);
        else if (s_key_is (key, "cb")) {
            if (s_decode_callback (batch, value))
                s_batch_destroy (&batch);
        }
        else if (s_key_is (key, "cbj") && value->type == MSGPACK_OBJECT_STR
                 && value->via.str.size == ZJOB_ID_LEN) {
            memcpy (batch->callback_job, value->via.str.ptr, ZJOB_ID_LEN);
            batch->callback_job [ZJOB_ID_LEN] = 0;
        }
        else if (s_key_is (key, "usr") && value->type == MSGPACK_OBJECT_STR
                 && value->via.str.size <= ZJOB_NAME_MAX) {
            memcpy (batch->user, value->via.str.ptr, value->via.str.size);
            batch->user [value->via.str.size] = 0;
        }
    }
    if (batch) {
        snprintf (batch->id, sizeof (batch->id), "%s", name);
        batch->finished = !batch->open && s_pending (batch) == 0;
        if (!batch->finished)
            batch->finished_at = 0;
    }
    msgpack_unpacked_destroy (&unpacked);
    return batch;
}

typedef struct {
    zjob_batches_t *self;
    int rc;
} s_load_t;

static int
s_load_one (const char *name, const uint8_t *data, size_t size, void *arg)
{
    s_load_t *load = (s_load_t *) arg;
    zjob_batches_t *self = load->self;
    s_batch_t *batch = s_decode (name, data, size);
    if (!batch) {
        zjob_log_warning ("zjob_batches: batch record %s does not decode; skipped", name);
        return 0;
    }
    if (zhashx_insert (self->batches, batch->id, batch)) {
        s_batch_destroy (&batch);
        load->rc = -1;
        return 1;
    }
    if (batch->finished) {
        s_done_t *done = (s_done_t *) malloc (sizeof (s_done_t));
        if (!done || !zlistx_add_end (self->done, done)) {
            free (done);
            load->rc = -1;
            return 1;
        }
        done->at = batch->finished_at;
        snprintf (done->id, sizeof (done->id), "%s", batch->id);
        //  Finished, its callback lost with the sync that would have
        //  made it durable: due now
        if (batch->callback && !batch->callback_job [0]) {
            if (!zlistx_add_end (self->due, batch->id)) {
                load->rc = -1;
                return 1;
            }
            batch->due = true;
        }
    }
    return 0;
}

int
zjob_batches_load (zjob_batches_t *self, zjob_error_t *err)
{
    assert (self);
    s_load_t load = { self, 0 };
    zjob_store_record_each (zjob_manager_store (self->manager), ZJOB_BATCH_RECORD, s_load_one,
                            &load);
    zlistx_sort (self->done);
    return load.rc ? zjob_error_set (err, ZJOB_INTERNAL, "out of memory loading batches") : 0;
}


//  --------------------------------------------------------------------------
//  The callback job

//  Pack inputs (a map, or none) with its "batch" key set to the summary
static int
s_callback_inputs (const s_batch_t *batch, const msgpack_object *inputs, msgpack_sbuffer *buffer)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    uint32_t keep = 0;
    for (uint32_t i = 0; inputs && i < inputs->via.map.size; i++)
        keep += !s_key_is (&inputs->via.map.ptr [i].key, "batch");
    int rc = msgpack_pack_map (&pk, keep + 1);
    for (uint32_t i = 0; inputs && i < inputs->via.map.size; i++)
        if (!s_key_is (&inputs->via.map.ptr [i].key, "batch")) {
            rc |= msgpack_pack_object (&pk, inputs->via.map.ptr [i].key);
            rc |= msgpack_pack_object (&pk, inputs->via.map.ptr [i].val);
        }
    s_pack_key (&pk, "batch");
    rc |= msgpack_pack_map (&pk, 6);
    s_pack_key (&pk, "id");
    s_pack_key (&pk, batch->id);
    s_pack_key (&pk, "state");
    s_pack_key (&pk, s_state (batch));
    s_pack_key (&pk, "total");
    rc |= msgpack_pack_uint64 (&pk, batch->total);
    s_pack_key (&pk, "completed");
    rc |= msgpack_pack_uint64 (&pk, batch->completed);
    s_pack_key (&pk, "failed");
    rc |= msgpack_pack_uint64 (&pk, batch->failed);
    s_pack_key (&pk, "cancelled");
    rc |= msgpack_pack_uint64 (&pk, batch->cancelled);
    return rc ? -1 : 0;
}

//  Create batch's callback job. 0, or -1 with err filled.
static int
s_fire (zjob_batches_t *self, s_batch_t *batch, zjob_error_t *err)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    if (!zjob_msgpack_is_map (batch->callback, batch->callback_size)
        || msgpack_unpack_next (&unpacked, (const char *) batch->callback, batch->callback_size,
                                NULL)
            != MSGPACK_UNPACK_SUCCESS) {
        msgpack_unpacked_destroy (&unpacked);
        return zjob_error_set (err, ZJOB_INTERNAL, "batch %s: bad callback", batch->id);
    }
    const msgpack_object *map = &unpacked.data;
    //  The owner's callback job is the owner's, so that it sees it
    zjob_spec_t spec = { .workflow_id = batch->callback_workflow,
                         .priority = ZJOB_PRIORITY_UNSET,
                         .user_id = batch->user [0] ? batch->user : NULL };
    msgpack_object inputs_obj;
    const msgpack_object *inputs = NULL;
    const char *tags [ZJOB_TAGS_MAX];
    char tag_text [ZJOB_TAGS_MAX][ZJOB_NAME_MAX + 1];
    msgpack_unpacked in_unpacked;
    msgpack_unpacked_init (&in_unpacked);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr [i].key;
        const msgpack_object *value = &map->via.map.ptr [i].val;
        if (s_key_is (key, "in") && value->type == MSGPACK_OBJECT_BIN
            && zjob_msgpack_is_map ((const uint8_t *) value->via.bin.ptr, value->via.bin.size)
            && msgpack_unpack_next (&in_unpacked, value->via.bin.ptr, value->via.bin.size, NULL)
                == MSGPACK_UNPACK_SUCCESS
            && in_unpacked.data.type == MSGPACK_OBJECT_MAP) {
            inputs_obj = in_unpacked.data;
            inputs = &inputs_obj;
        }
        else if (s_key_is (key, "meta") && value->type == MSGPACK_OBJECT_BIN) {
            spec.metadata = (const uint8_t *) value->via.bin.ptr;
            spec.metadata_size = value->via.bin.size;
        }
        else if (s_key_is (key, "pri") && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            spec.priority = (zjob_priority_t) value->via.u64;
        else if (s_key_is (key, "tags") && value->type == MSGPACK_OBJECT_ARRAY)
            for (uint32_t t = 0; t < value->via.array.size && t < ZJOB_TAGS_MAX; t++) {
                const msgpack_object *tag = &value->via.array.ptr [t];
                if (tag->type != MSGPACK_OBJECT_STR || tag->via.str.size > ZJOB_NAME_MAX)
                    continue;
                memcpy (tag_text [spec.tag_count], tag->via.str.ptr, tag->via.str.size);
                tag_text [spec.tag_count][tag->via.str.size] = 0;
                tags [spec.tag_count] = tag_text [spec.tag_count];
                spec.tag_count++;
            }
    }
    spec.tags = spec.tag_count ? tags : NULL;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    int rc = s_callback_inputs (batch, inputs, &buffer);
    if (rc)
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    spec.inputs = (const uint8_t *) buffer.data;
    spec.inputs_size = buffer.size;
    zjob_job_t *job = rc ? NULL : zjob_manager_create (self->manager, &spec, true, err);
    if (job) {
        snprintf (batch->callback_job, sizeof (batch->callback_job), "%s", job->id);
        zjob_job_destroy (&job);
        s_mark_dirty (self, batch);
    }
    else
        rc = -1;
    msgpack_sbuffer_destroy (&buffer);
    msgpack_unpacked_destroy (&in_unpacked);
    msgpack_unpacked_destroy (&unpacked);
    return rc;
}


//  --------------------------------------------------------------------------
//  Flush and cleanup

int
zjob_batches_flush (zjob_batches_t *self, bool fire, zjob_error_t *err)
{
    assert (self);
    const char *id;
    while (fire && (id = (const char *) zlistx_first (self->due)) != NULL) {
        s_batch_t *batch = (s_batch_t *) zhashx_lookup (self->batches, id);
        if (batch && batch->callback && !batch->callback_job [0]) {
            zjob_error_t cause;
            if (s_fire (self, batch, &cause)) {
                //  Left due: tried again at the next flush
                zjob_log_error ("zjob_batches: batch %s: callback job not created: %s", id,
                                cause.text);
                break;
            }
        }
        if (batch)
            batch->due = false;
        zlistx_delete (self->due, zlistx_cursor (self->due));
    }
    zjob_store_t *store = zjob_manager_store (self->manager);
    while ((id = (const char *) zlistx_first (self->dirty)) != NULL) {
        s_batch_t *batch = (s_batch_t *) zhashx_lookup (self->batches, id);
        if (batch) {
            msgpack_sbuffer buffer;
            msgpack_sbuffer_init (&buffer);
            int rc = s_encode (batch, &buffer)
                ? zjob_error_set (err, ZJOB_INTERNAL, "out of memory")
                : zjob_store_record_put (store, ZJOB_BATCH_RECORD, id,
                                         (const uint8_t *) buffer.data, buffer.size, err);
            msgpack_sbuffer_destroy (&buffer);
            if (rc)
                return -1;
            batch->dirty = false;
        }
        zlistx_delete (self->dirty, zlistx_cursor (self->dirty));
    }
    return 0;
}

int
zjob_batches_cleanup_step (zjob_batches_t *self, int64_t before_ms, size_t max,
                           zjob_error_t *err)
{
    assert (self);
    zjob_store_t *store = zjob_manager_store (self->manager);
    for (size_t done = 0; done < max; done++) {
        s_done_t *entry = (s_done_t *) zlistx_first (self->done);
        if (!entry || entry->at >= before_ms)
            return 0;
        s_batch_t *batch = (s_batch_t *) zhashx_lookup (self->batches, entry->id);
        //  Stale unless it is still finished since then
        if (batch && batch->finished && batch->finished_at == entry->at && !batch->due) {
            zjob_error_t cause;
            if (zjob_store_record_remove (store, ZJOB_BATCH_RECORD, entry->id, &cause)
                && cause.code != ZJOB_NOT_FOUND) {
                if (err)
                    *err = cause;
                return -1;
            }
            zhashx_delete (self->batches, entry->id);
        }
        zlistx_delete (self->done, zlistx_cursor (self->done));
    }
    s_done_t *next = (s_done_t *) zlistx_first (self->done);
    return next && next->at < before_ms ? 1 : 0;
}


//  --------------------------------------------------------------------------
//  BATCH's operations

//  What an unknown batch answers (also another owner's, to a client)
static int
s_unknown (const char *id, zjob_error_t *err)
{
    return zjob_error_set (err, ZJOB_NOT_FOUND, "no batch %s", id ? id : "");
}

//  True if user (NULL: an admin) may see batch
static bool
s_owned (const s_batch_t *batch, const char *user)
{
    return !user || (batch->user [0] && strcmp (batch->user, user) == 0);
}

void
zjob_batches_set_submitter (zjob_batches_t *self, const char *user)
{
    assert (self);
    snprintf (self->submitter, sizeof (self->submitter), "%s", user ? user : "");
}

const char *
zjob_batches_owner (zjob_batches_t *self, const char *id)
{
    assert (self);
    const s_batch_t *batch = id ? (s_batch_t *) zhashx_lookup (self->batches, id) : NULL;
    return batch ? batch->user : NULL;
}

int
zjob_batches_visible (zjob_batches_t *self, const char *id, const char *user,
                      zjob_error_t *err)
{
    assert (self);
    const s_batch_t *batch = id ? (s_batch_t *) zhashx_lookup (self->batches, id) : NULL;
    return batch && s_owned (batch, user) ? 0 : s_unknown (id, err);
}

int
zjob_batches_info (zjob_batches_t *self, const char *id, zjob_batch_info_t *info,
                   zjob_error_t *err)
{
    assert (self && info);
    s_batch_t *batch = id ? (s_batch_t *) zhashx_lookup (self->batches, id) : NULL;
    if (!batch)
        return s_unknown (id, err);
    s_info (batch, info);
    return 0;
}

int
zjob_batches_close (zjob_batches_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    s_batch_t *batch = id ? (s_batch_t *) zhashx_lookup (self->batches, id) : NULL;
    if (!batch)
        return s_unknown (id, err);
    if (batch->open) {
        batch->open = false;
        s_changed (self, batch);
    }
    return 0;
}

static int
s_id_compare (const void *a, const void *b)
{
    return strcmp ((*(s_batch_t *const *) a)->id, (*(s_batch_t *const *) b)->id);
}

int
zjob_batches_list (zjob_batches_t *self, size_t offset, size_t limit,
                   zjob_batch_info_t **infos_p, size_t *count_p, size_t *total_p,
                   zjob_error_t *err)
{
    return zjob_batches_list_of (self, NULL, offset, limit, infos_p, count_p, total_p, err);
}

int
zjob_batches_list_of (zjob_batches_t *self, const char *user, size_t offset, size_t limit,
                      zjob_batch_info_t **infos_p, size_t *count_p, size_t *total_p,
                      zjob_error_t *err)
{
    assert (self && infos_p && count_p && total_p);
    *infos_p = NULL;
    *count_p = 0;
    *total_p = 0;
    if (limit == 0 || limit > ZJOB_BATCH_LIST_MAX)
        limit = ZJOB_BATCH_LIST_MAX;
    size_t size = zhashx_size (self->batches);
    s_batch_t **all = (s_batch_t **) malloc ((size ? size : 1) * sizeof (s_batch_t *));
    if (!all)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    size_t total = 0;  //  The batches user sees
    for (s_batch_t *batch = (s_batch_t *) zhashx_first (self->batches); batch;
         batch = (s_batch_t *) zhashx_next (self->batches))
        if (s_owned (batch, user))
            all [total++] = batch;
    *total_p = total;
    if (offset >= total) {
        free (all);
        return 0;
    }
    size_t count = total - offset < limit ? total - offset : limit;
    zjob_batch_info_t *infos = (zjob_batch_info_t *) calloc (count, sizeof (zjob_batch_info_t));
    if (!infos) {
        free (all);
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    qsort (all, total, sizeof (s_batch_t *), s_id_compare);
    for (size_t index = 0; index < count; index++)
        s_info (all [offset + index], &infos [index]);
    free (all);
    *infos_p = infos;
    *count_p = count;
    return 0;
}
