/*  =========================================================================
    zjob_store - the job store interface, and opening a store from a spec

    A store is an ops table and the implementation's state; every call here
    is a thin dispatch, so a new store (SQL, say) is one more ops table and
    nothing else changes. What all stores share is written once here:
    parsing the spec, and cleanup, which is built from iterate and remove
    (collect the ids of terminal jobs completed before the cutoff, then
    remove each) so that no store has to get it right on its own, and the
    visitor never changes the store under its own iteration.
    ========================================================================= */

#include "zjob_store.h"
#include "zjob_log.h"

#define ZJOB_STORE_SPECS                                                                                \
    "memory:, file:DIR[?fsync=always|interval:<duration>|never][&compact=<bytes>][&salvage=truncate], " \
    "sqlite:PATH[?sync=full|normal|off], postgres:CONNINFO[#lease=<duration>] or "                      \
    "postgresql://...[#lease=<duration>]"

struct _zjob_store_t {
    const zjob_store_ops_t *ops;  //  The implementation's functions
    void *impl;                   //  Its state, owned, freed by ops->close
    int64_t failing_since;        //  Wall ms of the first failed sync of a
                                  //  run of them, 0 while syncs succeed
    zjob_error_t failure;         //  The last failed sync's error
    uint64_t ticket;              //  Last ticket given (zjob_store_sync_begin)
    uint64_t done;                //  Last ticket reported done
    uint64_t failed_at;           //  The last ticket given when a sync last
                                  //  failed: only a later one's completion
                                  //  makes the store writable again
};

zjob_store_t *
zjob_store_new (const zjob_store_ops_t *ops, void *impl)
{
    assert (ops);
    zjob_store_t *self = (zjob_store_t *) calloc (1, sizeof *self);
    if (!self) {
        ops->close (impl);
        return NULL;
    }
    self->ops = ops;
    self->impl = impl;
    return self;
}

typedef zjob_store_t *(s_store_new_fn) (const char *target, const char *options,
                                        zjob_error_t *err);

//  Open a store whose spec is PREFIX TARGET[SEPARATOR OPTIONS]: target is
//  the path or connection string, needed says what to give without one
static zjob_store_t *
s_open_split (const char *spec, const char *rest, char separator, const char *needed,
              s_store_new_fn *store_new, zjob_error_t *err)
{
    const char *options = strchr (rest, separator);
    size_t length = options ? (size_t) (options - rest) : strlen (rest);
    if (length == 0) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "store '%.64s': %s", spec, needed);
        return NULL;
    }
    char *target = strndup (rest, length);
    if (!target) {
        zjob_error_set (err, ZJOB_INTERNAL, "store: out of memory");
        return NULL;
    }
    zjob_store_t *store = store_new (target, options ? options + 1 : NULL, err);
    free (target);
    return store;
}

zjob_store_t *
zjob_store_open (const char *spec, zjob_error_t *err)
{
    if (!spec)
        spec = "";
    if (streq (spec, "memory:") || streq (spec, "memory")) {
        zjob_store_t *store = zjob_store_memory_new ();
        if (!store)
            zjob_error_set (err, ZJOB_INTERNAL, "store %s: out of memory", spec);
        return store;
    }
    if (strncmp (spec, "memory:", 7) == 0) {
        zjob_error_set (err, ZJOB_BAD_REQUEST,
                        "store '%.64s': memory: takes no path or options", spec);
        return NULL;
    }
    if (strncmp (spec, "file:", 5) == 0)
        return s_open_split (spec, spec + 5, '?', "file: needs a directory, as in file:/var/lib/zjob",
                             zjob_store_file_new, err);
    if (strncmp (spec, "sqlite:", 7) == 0)
        return s_open_split (spec, spec + 7, '?', "sqlite: needs a file, as in "
                                                  "sqlite:/var/lib/zjob/jobs.db",
                             zjob_store_sqlite_new, err);
    if (strncmp (spec, "postgres:", 9) == 0)
        return s_open_split (spec, spec + 9, '#', "postgres: needs a connection string, as in "
                                                  "postgres:host=db dbname=zjob",
                             zjob_store_pg_new, err);
    if (strncmp (spec, "postgresql://", 13) == 0 || strncmp (spec, "postgres://", 11) == 0)
        return s_open_split (spec, spec, '#', "", zjob_store_pg_new, err);
    zjob_error_set (err, ZJOB_BAD_REQUEST,
                    "unknown store '%.64s': expected " ZJOB_STORE_SPECS, spec);
    return NULL;
}

void
zjob_store_destroy (zjob_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zjob_store_t *self = *self_p;
    zjob_error_t err;
    if (self->ops->sync (self->impl, &err))
        zjob_log_warning ("zjob_store: %s store: last sync failed: %s", self->ops->name, err.text);
    self->ops->close (self->impl);
    free (self);
    *self_p = NULL;
}

int
zjob_store_put (zjob_store_t *self, zjob_job_t *job, zjob_error_t *err)
{
    assert (self);
    return self->ops->put (self->impl, job, err);
}

zjob_job_t *
zjob_store_get (zjob_store_t *self, const char *id)
{
    assert (self);
    return id ? self->ops->get (self->impl, id) : NULL;
}

int
zjob_store_remove (zjob_store_t *self, const char *id, zjob_error_t *err)
{
    assert (self);
    if (!id)
        return zjob_error_set (err, ZJOB_NOT_FOUND, "job (null) not found");
    return self->ops->remove (self->impl, id, err);
}

int
zjob_store_iterate (zjob_store_t *self, const zjob_filter_t *filter,
                    zjob_store_visit_fn *visit, void *arg)
{
    assert (self);
    assert (visit);
    return self->ops->iterate (self->impl, filter, visit, arg);
}

int
zjob_store_walk (zjob_store_t *self, const zjob_filter_t *filter, bool descending,
                 char *cursor, size_t max, zjob_store_visit_fn *visit, void *arg)
{
    assert (self && cursor && visit);
    return self->ops->walk (self->impl, filter, descending, cursor, max, visit, arg);
}

size_t
zjob_store_count (zjob_store_t *self)
{
    assert (self);
    return self->ops->count (self->impl);
}

//  Ids collected by cleanup before it removes anything
typedef struct {
    int64_t before;                 //  Cutoff, ms UTC
    char (*ids) [ZJOB_ID_LEN + 1];  //  Collected ids
    size_t count;                   //  Used entries of ids
    size_t alloc;                   //  Allocated entries of ids
    bool oom;                       //  Ran out of memory collecting
} s_cleanup_t;

static int
s_collect (zjob_job_t *job, void *arg)
{
    s_cleanup_t *cleanup = (s_cleanup_t *) arg;
    if (!zjob_status_terminal ((zjob_status_t) job->status)
        || job->completed_at >= cleanup->before)
        return 0;
    if (cleanup->count == cleanup->alloc) {
        size_t alloc = cleanup->alloc ? cleanup->alloc * 2 : 256;
        void *ids = realloc (cleanup->ids, alloc * sizeof *cleanup->ids);
        if (!ids) {
            cleanup->oom = true;
            return -1;
        }
        cleanup->ids = ids;
        cleanup->alloc = alloc;
    }
    snprintf (cleanup->ids [cleanup->count++], ZJOB_ID_LEN + 1, "%s", job->id);
    return 0;
}

int
zjob_store_cleanup (zjob_store_t *self, int64_t before_ms, zjob_error_t *err)
{
    assert (self);
    zjob_filter_t filter = {
        .status_mask = (1u << ZJOB_COMPLETED) | (1u << ZJOB_FAILED) | (1u << ZJOB_CANCELLED)
    };
    s_cleanup_t cleanup = { .before = before_ms };
    zjob_store_iterate (self, &filter, s_collect, &cleanup);
    if (cleanup.oom) {
        free (cleanup.ids);
        return zjob_error_set (err, ZJOB_INTERNAL, "store cleanup: out of memory");
    }
    int removed = 0;
    for (size_t index = 0; index < cleanup.count; index++) {
        if (self->ops->remove (self->impl, cleanup.ids [index], err)) {
            free (cleanup.ids);
            return -1;
        }
        removed++;
    }
    free (cleanup.ids);
    return removed;
}

//  Records: the checks every store shares, then the implementation

//  0 if kind and name are names, else -1 with err filled
static int
s_record_check (const char *kind, const char *name, zjob_error_t *err)
{
    if (!zjob_name_valid (kind))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "record kind '%.64s': not a name "
                                                      "(1 to %d printable ASCII bytes, no space)",
                               kind ? kind : "(null)", ZJOB_NAME_MAX);
    if (!zjob_name_valid (name))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s record '%.64s': not a name "
                                                      "(1 to %d printable ASCII bytes, no space)",
                               kind, name ? name : "(null)", ZJOB_NAME_MAX);
    return 0;
}

int
zjob_store_record_put (zjob_store_t *self, const char *kind, const char *name,
                       const uint8_t *data, size_t size, zjob_error_t *err)
{
    assert (self);
    if (s_record_check (kind, name, err))
        return -1;
    if (!data || size == 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s record %s: no data", kind, name);
    if (size > ZJOB_RECORD_MAX)
        return zjob_error_set (err, ZJOB_TOO_LARGE, "%s record %s: %zu bytes, more than %d",
                               kind, name, size, ZJOB_RECORD_MAX);
    if (!self->ops->record_put)
        return zjob_error_set (err, ZJOB_INTERNAL, "%s store: keeps no records", self->ops->name);
    return self->ops->record_put (self->impl, kind, name, data, size, err);
}

int
zjob_store_record_remove (zjob_store_t *self, const char *kind, const char *name,
                          zjob_error_t *err)
{
    assert (self);
    if (s_record_check (kind, name, err))
        return -1;
    if (!self->ops->record_remove)
        return zjob_error_set (err, ZJOB_NOT_FOUND, "%s record %s not found", kind, name);
    return self->ops->record_remove (self->impl, kind, name, err);
}

const uint8_t *
zjob_store_record_get (zjob_store_t *self, const char *kind, const char *name, size_t *size_p)
{
    assert (self);
    if (size_p)
        *size_p = 0;
    if (!self->ops->record_get || s_record_check (kind, name, NULL))
        return NULL;
    //  The implementation sets *size_p only for a record it has
    return self->ops->record_get (self->impl, kind, name, size_p);
}

int
zjob_store_record_each (zjob_store_t *self, const char *kind, zjob_store_record_fn *visit,
                        void *arg)
{
    assert (self);
    assert (visit);
    if (!self->ops->record_each || !zjob_name_valid (kind))
        return 0;
    return self->ops->record_each (self->impl, kind, visit, arg);
}

size_t
zjob_store_record_count (zjob_store_t *self, const char *kind)
{
    assert (self);
    if (!self->ops->record_count || !zjob_name_valid (kind))
        return 0;
    return self->ops->record_count (self->impl, kind);
}

//  Test hook: while set, every sync fails (process-wide)
static volatile int s_fail_syncs = 0;

void
zjob_store_fail_syncs (bool fail)
{
    __atomic_store_n (&s_fail_syncs, fail ? 1 : 0, __ATOMIC_SEQ_CST);
}

//  Keep the outcome of a sync, begun or polled: 0, or -1 with failure
static int
s_sync_outcome (zjob_store_t *self, int rc, const zjob_error_t *failure, zjob_error_t *err)
{
    if (rc == 0) {
        self->failing_since = 0;
        return 0;
    }
    if (!self->failing_since)
        self->failing_since = zjob_clock_ms ();
    self->failed_at = self->ticket;
    self->failure = *failure;
    if (err)
        *err = *failure;
    return -1;
}

int
zjob_store_sync (zjob_store_t *self, zjob_error_t *err)
{
    assert (self);
    zjob_error_t failure;
    int rc = __atomic_load_n (&s_fail_syncs, __ATOMIC_SEQ_CST)
        ? zjob_error_set (&failure, ZJOB_INTERNAL, "sync failed (injected)")
        : self->ops->sync (self->impl, &failure);
    //  A store with an asynchronous sync waits for the syncs under way
    //  first: every ticket given is resolved, durable or failed with it
    if (self->ops->sync_begin && !__atomic_load_n (&s_fail_syncs, __ATOMIC_SEQ_CST))
        self->done = self->ticket;
    return s_sync_outcome (self, rc, &failure, err);
}

int
zjob_store_sync_begin (zjob_store_t *self, uint64_t *ticket, zjob_error_t *err)
{
    assert (self && ticket);
    zjob_error_t failure;
    int rc;
    if (__atomic_load_n (&s_fail_syncs, __ATOMIC_SEQ_CST))
        rc = zjob_error_set (&failure, ZJOB_INTERNAL, "sync failed (injected)");
    else if (self->ops->sync_begin) {
        //  1: a ticket durable already (the file store with fsync=never)
        uint64_t given = 0;
        rc = self->ops->sync_begin (self->impl, &given, &failure);
        if (rc >= 0) {
            self->ticket = given;
            if (rc == 1)
                self->done = given;
            rc = 0;
        }
    }
    else {
        rc = self->ops->sync (self->impl, &failure);
        if (rc == 0)
            self->done = ++self->ticket;  //  Done at once
    }
    if (rc == 0) {
        *ticket = self->ticket;
        //  Writable again only when a sync completes: a begin that wrote
        //  proves the writes, not the fdatasync
        if (self->done == self->ticket)
            self->failing_since = 0;
        return 0;
    }
    return s_sync_outcome (self, rc, &failure, err);
}

int
zjob_store_sync_poll (zjob_store_t *self, uint64_t *done, zjob_error_t *err)
{
    assert (self && done);
    if (!self->ops->sync_poll) {
        *done = self->done;
        return 0;
    }
    zjob_error_t failure;
    uint64_t before = self->done;
    int rc = self->ops->sync_poll (self->impl, &self->done, &failure);
    *done = self->done;
    if (rc == 0 && (self->done != self->ticket || self->done == before || self->done <= self->failed_at))
        return 0;  //  Nothing new to say of the store
    return s_sync_outcome (self, rc, &failure, err);
}

int
zjob_store_sync_fd (zjob_store_t *self)
{
    assert (self);
    return self->ops->sync_fd ? self->ops->sync_fd (self->impl) : -1;
}

bool
zjob_store_sync_pending (zjob_store_t *self)
{
    assert (self);
    return self->done != self->ticket;
}

bool
zjob_store_writable (zjob_store_t *self, zjob_error_t *why, int64_t *since_ms)
{
    assert (self);
    if (!self->failing_since)
        return true;
    if (why)
        *why = self->failure;
    if (since_ms)
        *since_ms = self->failing_since;
    return false;
}

const char *
zjob_store_spec_safe (const char *spec, char *buffer, size_t size)
{
    assert (buffer && size > 0);
    size_t used = 0;
    const char *scan = spec ? spec : "";
    const char *at = strchr (scan, '@');
    const char *scheme = strstr (scan, "://");
    while (*scan && used + 1 < size) {
        //  A URI's user:password@: keep the user, hide the password
        if (scheme && at && scan > scheme + 2 && scan < at && *scan == ':') {
            used += (size_t) snprintf (buffer + used, size - used, ":***");
            scan = at;
            continue;
        }
        //  password=VALUE, in a key=value string or a URI's query
        if (strncmp (scan, "password=", 9) == 0
            && (scan == spec || strchr (" ?&:", scan [-1]))) {
            used += (size_t) snprintf (buffer + used, size - used, "password=***");
            scan += 9;
            if (*scan == '\'' && scan [1]) {
                const char *end = strchr (scan + 1, '\'');
                scan = end ? end + 1 : scan + strlen (scan);
            }
            else
                scan += strcspn (scan, " &#");
            continue;
        }
        buffer [used++] = *scan++;
    }
    buffer [used < size ? used : size - 1] = 0;
    return buffer;
}

int
zjob_store_acquire (zjob_store_t *self, zjob_error_t *err)
{
    assert (self);
    return self->ops->acquire ? self->ops->acquire (self->impl, err) : 1;
}

bool
zjob_store_shared (zjob_store_t *self)
{
    assert (self);
    return self->ops->acquire != NULL;
}

bool
zjob_store_fenced (zjob_store_t *self)
{
    assert (self);
    return self->ops->fenced && self->ops->fenced (self->impl);
}

int64_t
zjob_store_renew_ms (zjob_store_t *self)
{
    assert (self);
    return self->ops->renew_ms ? self->ops->renew_ms (self->impl) : 0;
}

int
zjob_store_options_each (const char *options, const char *store, zjob_store_option_fn *option,
                         void *arg, zjob_error_t *err)
{
    if (!options || !*options)
        return 0;
    char *copy = strdup (options);
    if (!copy)
        return zjob_error_set (err, ZJOB_INTERNAL, "%s store: out of memory", store);
    int rc = 0;
    char *saveptr = NULL;
    for (char *item = strtok_r (copy, "&", &saveptr); item && rc == 0;
         item = strtok_r (NULL, "&", &saveptr)) {
        char *value = strchr (item, '=');
        if (value)
            *value++ = 0;
        rc = option (item, value, arg, err);
    }
    free (copy);
    return rc;
}

void
zjob_store_stat (zhashx_t *into, const char *key, int64_t value)
{
    char text [32];
    snprintf (text, sizeof text, "%" PRId64, value);
    zhashx_update (into, key, text);
}

int
zjob_store_renew (zjob_store_t *self, zjob_error_t *err)
{
    assert (self);
    return self->ops->renew ? self->ops->renew (self->impl, err) : 0;
}

const char *
zjob_store_name (zjob_store_t *self)
{
    assert (self);
    return self->ops->name;
}

void
zjob_store_stats (zjob_store_t *self, zhashx_t *into)
{
    assert (self);
    if (!into)
        return;
    //  Implementations insert from their own buffers: into keeps copies
    zhashx_set_duplicator (into, (zhashx_duplicator_fn *) strdup);
    zhashx_set_destructor (into, (zhashx_destructor_fn *) zstr_free);
    if (self->ops->stats)
        self->ops->stats (self->impl, into);
    zhashx_update (into, "writable", self->failing_since ? "false" : "true");
    if (self->failing_since) {
        zhashx_update (into, "write_error", self->failure.text);
        char since [ZJOB_ISO_SECONDS_MAX];
        zjob_iso_seconds (self->failing_since, since, sizeof since);
        zhashx_update (into, "write_error_since", since);
    }
}
