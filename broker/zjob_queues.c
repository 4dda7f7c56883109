/*  =========================================================================
    zjob_queues - per-workflow queue controls and the index of unique keys

    entries maps a workflow to its settings and its token bucket; only
    workflows with settings of their own (a record, or config defaults)
    have one, so the check a take makes for any other workflow is one
    failed lookup. The bucket is refilled lazily: each check or spend
    first adds rate * elapsed tokens, up to burst. A workflow refused for
    want of a token is put on the starved list (a flag on the entry keeps
    it there once), which is what the owner's wake-up looks at: the list
    holds only workflows that had ready jobs and no token, so computing
    the next wake is O(starved), not O(workflows).

    Records are written by the call that changes a setting, in the same
    pass as whatever else the pass did, so they are durable together.
    A workflow whose settings all go back to "none" loses its record and
    entry, unless the config gives it defaults: the record then keeps the
    cleared values so that they still override the config after a
    restart.
    ========================================================================= */

#include <czmq.h>
#include <math.h>  //  isnan
#include "zjob_queues.h"
#include "zjob_log.h"
#include "zjob_util.h"
#include "zjob_msgpack.h"

#define S_RECORD_KIND "queue"  //  Store records of kind "queue", named by workflow
#define S_RECORD_MAX 256       //  bytes of a record we write (a few fields)

//  One workflow's settings and bucket
typedef struct {
    char *workflow;        //  Its name (the hash's key is a copy)
    bool paused;           //  Nothing of it handed out
    uint32_t concurrency;  //  Running jobs at most; 0 = none
    double rate;           //  Tokens per second; 0 = none
    double burst;          //  As set: 0 = max (1, rate)
    bool defaulted;        //  The config gives this workflow defaults
    bool recorded;         //  A store record holds the settings
    double tokens;         //  In the bucket now
    int64_t refilled_at;   //  Clock ms of the last refill
    bool starved;          //  On the starved list
} s_entry_t;

struct _zjob_queues_t {
    zjob_store_t *store;              //  Borrowed: the records
    zhashx_t *entries;                //  workflow -> s_entry_t
    size_t paused;                    //  Entries paused
    zjob_queues_running_fn *running;  //  A workflow's running jobs
    void *running_arg;
    zjob_queues_clock_fn *clock;  //  NULL: zjob_mono_ms
    void *clock_arg;
    s_entry_t **starved;  //  Entries refused a token with jobs ready
    size_t starved_count;
    size_t starved_max;
    bool kick;         //  A resume or a raised limit since the last refill
    bool load_failed;  //  Out of memory loading the records
    zhashx_t *unique;  //  unique key -> job id (non-terminal jobs)
};

const char *
zjob_held_name (zjob_held_t held)
{
    switch (held) {
        case ZJOB_HELD_PAUSED: return "paused";
        case ZJOB_HELD_CONCURRENCY: return "concurrency";
        case ZJOB_HELD_RATE: return "rate";
        default: return NULL;
    }
}

static int64_t
s_now (zjob_queues_t *self)
{
    return self->clock ? self->clock (self->clock_arg) : zjob_mono_ms ();
}

static double
s_burst (const s_entry_t *entry)
{
    if (entry->burst > 0)
        return entry->burst;
    return entry->rate > 1 ? entry->rate : 1;
}

static void
s_entry_destroy (void **item_p)
{
    s_entry_t *entry = (s_entry_t *) *item_p;
    if (entry) {
        free (entry->workflow);
        free (entry);
    }
    *item_p = NULL;
}

//  The entry of workflow, made (no settings) if absent; NULL if out of
//  memory or too many workflows
static s_entry_t *
s_require (zjob_queues_t *self, const char *workflow)
{
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, workflow);
    if (entry)
        return entry;
    if (zhashx_size (self->entries) >= ZJOB_QUEUES_MAX)
        return NULL;
    entry = (s_entry_t *) calloc (1, sizeof (s_entry_t));
    if (entry && !(entry->workflow = strdup (workflow))) {
        free (entry);
        entry = NULL;
    }
    if (!entry)
        return NULL;
    entry->refilled_at = s_now (self);
    zhashx_insert (self->entries, workflow, entry);
    return entry;
}

//  Add the tokens earned since the last refill
static void
s_refill (zjob_queues_t *self, s_entry_t *entry, int64_t now)
{
    if (entry->rate <= 0)
        return;
    if (now > entry->refilled_at) {
        entry->tokens += entry->rate * (double) (now - entry->refilled_at) / 1000.0;
        double burst = s_burst (entry);
        if (entry->tokens > burst)
            entry->tokens = burst;
    }
    entry->refilled_at = now;
}

static void
s_starve (zjob_queues_t *self, s_entry_t *entry)
{
    if (entry->starved)
        return;
    if (self->starved_count == self->starved_max) {
        size_t max = self->starved_max ? self->starved_max * 2 : 16;
        s_entry_t **starved = (s_entry_t **) realloc (self->starved, max * sizeof (s_entry_t *));
        if (!starved)
            return;  //  Not woken for its token: the next change or tick is
        self->starved = starved;
        self->starved_max = max;
    }
    self->starved [self->starved_count++] = entry;
    entry->starved = true;
}

//  Take entry off the starved list (before it is freed)
static void
s_unstarve (zjob_queues_t *self, s_entry_t *entry)
{
    for (size_t index = 0; entry->starved && index < self->starved_count; index++)
        if (self->starved [index] == entry) {
            self->starved [index] = self->starved [--self->starved_count];
            entry->starved = false;
        }
}


//  --------------------------------------------------------------------------
//  Records: {p: paused, c: concurrency, r: rate, b: burst}

//  Decode a record into entry's settings; unknown keys are skipped, a bad
//  record is logged and ignored (the defaults stand)
static void
s_record_decode (s_entry_t *entry, const uint8_t *data, size_t size)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    bool ok = size <= S_RECORD_MAX && zjob_msgpack_is_map (data, size)
        && msgpack_unpack_next (&unpacked, (const char *) data, size, &offset)
            == MSGPACK_UNPACK_SUCCESS
        && unpacked.data.type == MSGPACK_OBJECT_MAP;
    for (uint32_t i = 0; ok && i < unpacked.data.via.map.size; i++) {
        const msgpack_object *key = &unpacked.data.via.map.ptr [i].key;
        const msgpack_object *value = &unpacked.data.via.map.ptr [i].val;
        if (key->type != MSGPACK_OBJECT_STR || key->via.str.size != 1)
            continue;
        double number = value->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (double) value->via.u64
            : value->type == MSGPACK_OBJECT_FLOAT64 || value->type == MSGPACK_OBJECT_FLOAT32
            ? value->via.f64
            : -1;
        switch (key->via.str.ptr [0]) {
            case 'p': entry->paused = value->type == MSGPACK_OBJECT_BOOLEAN && value->via.boolean; break;
            case 'c':
                if (number >= 0 && number <= ZJOB_QUEUE_CONCURRENCY_MAX)
                    entry->concurrency = (uint32_t) number;
                break;
            case 'r':
                if (number >= 0 && number <= ZJOB_QUEUE_RATE_MAX)
                    entry->rate = number;
                break;
            case 'b':
                if (number >= 0 && number <= ZJOB_QUEUE_BURST_MAX)
                    entry->burst = number;
                break;
            default: break;
        }
    }
    if (!ok)
        zjob_log_warning ("zjob_queues: queue record of %s is not a map: ignored", entry->workflow);
    msgpack_unpacked_destroy (&unpacked);
}

static int
s_load_one (const char *name, const uint8_t *data, size_t size, void *arg)
{
    zjob_queues_t *self = (zjob_queues_t *) arg;
    if (!zjob_name_valid (name))
        return 0;
    s_entry_t *entry = s_require (self, name);
    if (!entry) {
        self->load_failed = true;
        return -1;
    }
    //  The record overrides the config's defaults wholesale
    entry->paused = false;
    entry->concurrency = 0;
    entry->rate = entry->burst = 0;
    s_record_decode (entry, data, size);
    entry->recorded = true;
    entry->tokens = s_burst (entry);
    return 0;
}

//  Write entry's settings as its record, or remove the record (and the
//  entry: then entry is gone on return) when it has nothing to say
static int
s_save (zjob_queues_t *self, s_entry_t *entry, zjob_error_t *err)
{
    bool empty = !entry->paused && !entry->concurrency && entry->rate <= 0 && entry->burst <= 0;
    if (empty && !entry->defaulted) {
        //  Nothing to say: no record, no entry
        zjob_error_t cause;
        if (entry->recorded
            && zjob_store_record_remove (self->store, S_RECORD_KIND, entry->workflow, &cause)
            && cause.code != ZJOB_NOT_FOUND) {
            if (err)
                *err = cause;
            return -1;
        }
        s_unstarve (self, entry);
        zhashx_delete (self->entries, entry->workflow);
        return 0;
    }
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 4);
    msgpack_pack_str_with_body (&pk, "p", 1);
    if (entry->paused)
        msgpack_pack_true (&pk);
    else
        msgpack_pack_false (&pk);
    msgpack_pack_str_with_body (&pk, "c", 1);
    msgpack_pack_uint32 (&pk, entry->concurrency);
    msgpack_pack_str_with_body (&pk, "r", 1);
    msgpack_pack_double (&pk, entry->rate);
    msgpack_pack_str_with_body (&pk, "b", 1);
    msgpack_pack_double (&pk, entry->burst);
    int rc = buffer.data ? zjob_store_record_put (self->store, S_RECORD_KIND, entry->workflow,
                                                  (const uint8_t *) buffer.data, buffer.size, err)
                         : zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    msgpack_sbuffer_destroy (&buffer);
    if (rc == 0)
        entry->recorded = true;
    return rc ? -1 : 0;
}


//  --------------------------------------------------------------------------
//  Life

zjob_queues_t *
zjob_queues_new (zjob_store_t *store, const zjob_queue_defaults_t *defaults, size_t count,
                 zjob_queues_running_fn *running, void *arg)
{
    zjob_queues_t *self = (zjob_queues_t *) calloc (1, sizeof (zjob_queues_t));
    if (!self)
        return NULL;
    self->store = store;
    self->running = running;
    self->running_arg = arg;
    self->entries = zjob_hashx_new ();
    self->unique = zjob_hashx_new ();
    if (!self->entries || !self->unique) {
        zjob_queues_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->entries, s_entry_destroy);
    zhashx_set_destructor (self->unique, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (self->unique, (zhashx_duplicator_fn *) strdup);
    for (size_t index = 0; defaults && index < count; index++) {
        const zjob_queue_defaults_t *item = &defaults [index];
        if (!item->workflow_id || !zjob_name_valid (item->workflow_id))
            continue;
        if (!item->concurrency && item->rate <= 0 && item->burst <= 0)
            continue;
        s_entry_t *entry = s_require (self, item->workflow_id);
        if (!entry) {
            zjob_queues_destroy (&self);
            return NULL;
        }
        entry->defaulted = true;
        entry->concurrency = item->concurrency;
        entry->rate = item->rate > 0 ? item->rate : 0;
        entry->burst = item->burst > 0 ? item->burst : 0;
        entry->tokens = s_burst (entry);
    }
    if (store)
        zjob_store_record_each (store, S_RECORD_KIND, s_load_one, self);
    if (self->load_failed) {
        zjob_queues_destroy (&self);
        return NULL;
    }
    s_entry_t *entry = (s_entry_t *) zhashx_first (self->entries);
    for (; entry; entry = (s_entry_t *) zhashx_next (self->entries))
        self->paused += entry->paused;
    return self;
}

void
zjob_queues_destroy (zjob_queues_t **self_p)
{
    assert (self_p);
    zjob_queues_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->entries);
    zhashx_destroy (&self->unique);
    free (self->starved);
    free (self);
    *self_p = NULL;
}

void
zjob_queues_set_clock (zjob_queues_t *self, zjob_queues_clock_fn *clock, void *arg)
{
    assert (self);
    self->clock = clock;
    self->clock_arg = clock ? arg : NULL;
    int64_t now = s_now (self);
    s_entry_t *entry = (s_entry_t *) zhashx_first (self->entries);
    for (; entry; entry = (s_entry_t *) zhashx_next (self->entries))
        entry->refilled_at = now;
}


//  --------------------------------------------------------------------------
//  The take's check

bool
zjob_queues_active (zjob_queues_t *self)
{
    assert (self);
    return zhashx_size (self->entries) > 0;
}

zjob_held_t
zjob_queues_check (zjob_queues_t *self, const char *workflow)
{
    assert (self);
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, workflow);
    if (!entry)
        return ZJOB_HELD_NONE;
    if (entry->paused)
        return ZJOB_HELD_PAUSED;
    if (entry->concurrency && self->running
        && self->running (workflow, self->running_arg) >= entry->concurrency)
        return ZJOB_HELD_CONCURRENCY;
    if (entry->rate > 0) {
        s_refill (self, entry, s_now (self));
        if (entry->tokens < 1.0) {
            s_starve (self, entry);
            return ZJOB_HELD_RATE;
        }
    }
    return ZJOB_HELD_NONE;
}

void
zjob_queues_took (zjob_queues_t *self, const char *workflow)
{
    assert (self);
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, workflow);
    if (!entry || entry->rate <= 0)
        return;
    s_refill (self, entry, s_now (self));
    entry->tokens -= 1.0;
    if (entry->tokens < 1.0)
        s_starve (self, entry);  //  The next job waits for a token: wake for it
}

int64_t
zjob_queues_next_token (zjob_queues_t *self)
{
    assert (self);
    int64_t next = 0;
    for (size_t index = 0; index < self->starved_count; index++) {
        const s_entry_t *entry = self->starved [index];
        if (entry->rate <= 0 || entry->tokens >= 1.0)
            return s_now (self);  //  Due now
        double wait = (1.0 - entry->tokens) * 1000.0 / entry->rate;
        int64_t due = entry->refilled_at + (int64_t) wait + 1;
        if (next == 0 || due < next)
            next = due;
    }
    return next;
}

bool
zjob_queues_refill (zjob_queues_t *self)
{
    assert (self);
    bool any = self->kick;
    self->kick = false;
    int64_t now = s_now (self);
    size_t index = 0;
    while (index < self->starved_count) {
        s_entry_t *entry = self->starved [index];
        s_refill (self, entry, now);
        if (entry->rate <= 0 || entry->tokens >= 1.0) {
            entry->starved = false;
            self->starved [index] = self->starved [--self->starved_count];
            any = true;
        }
        else
            index++;
    }
    return any;
}


//  --------------------------------------------------------------------------
//  Settings

int
zjob_queues_pause (zjob_queues_t *self, const char *workflow, bool paused, zjob_error_t *err)
{
    assert (self);
    if (!workflow || !zjob_name_valid (workflow))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "workflow_id: '%s' is not a workflow id",
                               workflow ? workflow : "");
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, workflow);
    if (!entry && !paused)
        return 0;  //  Not paused: nothing to do
    if (!entry && !(entry = s_require (self, workflow)))
        return zjob_error_set (err, ZJOB_INTERNAL, "queues: out of memory or more than %d "
                                                   "workflows with settings",
                               ZJOB_QUEUES_MAX);
    bool was = entry->paused;
    entry->paused = paused;
    if (s_save (self, entry, err)) {
        entry->paused = was;
        s_save (self, entry, NULL);  //  Drops an entry made for nothing
        return -1;
    }
    self->paused = self->paused + (paused && !was) - (!paused && was);
    self->kick |= was && !paused;
    return was && !paused ? 1 : 0;
}

//  Check the limits QUEUE limit gives. 0 or -1 with err filled.
static int
s_limits_check (int64_t concurrency, double rate, double burst, zjob_error_t *err)
{
    if (concurrency > ZJOB_QUEUE_CONCURRENCY_MAX)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "concurrency: 0..%d, not %" PRId64,
                               ZJOB_QUEUE_CONCURRENCY_MAX, concurrency);
    if (isnan (rate) || rate > ZJOB_QUEUE_RATE_MAX)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "rate: 0..%.0f jobs a second",
                               ZJOB_QUEUE_RATE_MAX);
    if (isnan (burst) || burst > ZJOB_QUEUE_BURST_MAX || (burst > 0 && burst < 1))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "burst: 1..%.0f tokens (0: the default)",
                               ZJOB_QUEUE_BURST_MAX);
    return 0;
}

int
zjob_queues_limit (zjob_queues_t *self, const char *workflow, int64_t concurrency,
                   double rate, double burst, zjob_error_t *err)
{
    assert (self);
    if (!workflow || !zjob_name_valid (workflow))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "workflow_id: '%s' is not a workflow id",
                               workflow ? workflow : "");
    if (s_limits_check (concurrency, rate, burst, err))
        return -1;
    s_entry_t *entry = s_require (self, workflow);
    if (!entry)
        return zjob_error_set (err, ZJOB_INTERNAL, "queues: out of memory or more than %d "
                                                   "workflows with settings",
                               ZJOB_QUEUES_MAX);
    s_entry_t was = *entry;
    if (concurrency >= 0)
        entry->concurrency = (uint32_t) concurrency;
    if (rate >= 0)
        entry->rate = rate;
    if (burst >= 0)
        entry->burst = burst;
    int64_t now = s_now (self);
    if (was.rate <= 0 && entry->rate > 0) {
        entry->tokens = s_burst (entry);  //  A new bucket starts full
        entry->refilled_at = now;
    }
    else if (entry->rate > 0) {
        s_refill (self, entry, now);
        if (entry->tokens > s_burst (entry))
            entry->tokens = s_burst (entry);
    }
    //  A walk may hand out more: a limit raised or cleared
    bool raised = (was.concurrency && (!entry->concurrency || entry->concurrency > was.concurrency))
        || (was.rate > 0 && (entry->rate <= 0 || entry->rate > was.rate || s_burst (entry) > s_burst (&was)));
    if (s_save (self, entry, err)) {
        entry->concurrency = was.concurrency;
        entry->rate = was.rate;
        entry->burst = was.burst;
        entry->tokens = was.tokens;
        s_save (self, entry, NULL);
        return -1;
    }
    self->kick |= raised;
    return raised ? 1 : 0;
}

static void
s_settings (const s_entry_t *entry, zjob_queue_settings_t *settings)
{
    settings->paused = entry->paused;
    settings->concurrency = entry->concurrency;
    settings->rate = entry->rate;
    settings->burst = entry->rate > 0 ? s_burst (entry) : entry->burst;
}

bool
zjob_queues_get (zjob_queues_t *self, const char *workflow, zjob_queue_settings_t *settings)
{
    assert (self && settings);
    const s_entry_t *entry = workflow
        ? (const s_entry_t *) zhashx_lookup (self->entries, workflow)
        : NULL;
    memset (settings, 0, sizeof (*settings));
    if (!entry)
        return false;
    s_settings (entry, settings);
    return true;
}

bool
zjob_queues_limited (zjob_queues_t *self, const char *workflow)
{
    assert (self);
    const s_entry_t *entry = zhashx_size (self->entries)
        ? (const s_entry_t *) zhashx_lookup (self->entries, workflow)
        : NULL;
    return entry && entry->concurrency;
}

size_t
zjob_queues_paused (zjob_queues_t *self)
{
    assert (self);
    return self->paused;
}

size_t
zjob_queues_size (zjob_queues_t *self)
{
    assert (self);
    return zhashx_size (self->entries);
}

int
zjob_queues_each (zjob_queues_t *self, zjob_queues_fn *fn, void *arg)
{
    assert (self && fn);
    int visited = 0;
    s_entry_t *entry = (s_entry_t *) zhashx_first (self->entries);
    for (; entry; entry = (s_entry_t *) zhashx_next (self->entries)) {
        zjob_queue_settings_t settings;
        s_settings (entry, &settings);
        fn (entry->workflow, &settings, arg);
        visited++;
    }
    return visited;
}


//  --------------------------------------------------------------------------
//  Unique keys: key -> id of the non-terminal job that holds it. Only
//  jobs submitted with a unique key have an entry, so the index costs
//  nothing to the others.

bool
zjob_queues_unique_find (zjob_queues_t *self, const char *key, char *id)
{
    assert (self && id);
    const char *held = key && zhashx_size (self->unique)
        ? (const char *) zhashx_lookup (self->unique, key)
        : NULL;
    if (held)
        snprintf (id, ZJOB_ID_LEN + 1, "%s", held);
    return held != NULL;
}

void
zjob_queues_unique_add (zjob_queues_t *self, const zjob_job_t *job)
{
    assert (self && job);
    const char *key = zjob_job_unique_key (job);
    if (!key || zjob_status_terminal ((zjob_status_t) job->status))
        return;
    //  A key already held stays with its job (zhashx_insert refuses it)
    if (zhashx_insert (self->unique, key, (void *) job->id) == -1
        && !zhashx_lookup (self->unique, key))
        zjob_log_error ("zjob_queues: out of memory indexing the unique key of job %s", job->id);
}

//  Forget key if job id holds it
static void
s_unique_forget (zjob_queues_t *self, const char *key, const char *id)
{
    const char *held = (const char *) zhashx_lookup (self->unique, key);
    if (held && streq (held, id))
        zhashx_delete (self->unique, key);
}

void
zjob_queues_changed (zjob_queues_t *self, const zjob_job_t *job, int old_status)
{
    assert (self && job);
    const char *key = zjob_job_unique_key (job);
    if (!key)
        return;
    bool was = old_status >= 0 && zjob_status_terminal ((zjob_status_t) old_status);
    bool is = zjob_status_terminal ((zjob_status_t) job->status);
    if (is && !was)
        s_unique_forget (self, key, job->id);
    else if (was && !is)
        zjob_queues_unique_add (self, job);  //  A re-run takes its key back if free
}

void
zjob_queues_deleted (zjob_queues_t *self, const zjob_job_t *job)
{
    assert (self && job);
    const char *key = zjob_job_unique_key (job);
    if (key)
        s_unique_forget (self, key, job->id);
}

size_t
zjob_queues_unique_size (zjob_queues_t *self)
{
    assert (self);
    return zhashx_size (self->unique);
}
