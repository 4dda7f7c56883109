/*  =========================================================================
    zjob_registry - the broker's workers: records, credit ring, holders,
    liveness

    Three tables: routing id (hex) -> record, which owns the records;
    worker id -> the latest record with that id (a worker that reconnects
    on a new connection replaces its old record); job id -> the record
    holding it. The credit ring is a circular list threaded through the
    records, with a cursor: a worker joins just behind the cursor, so it is
    visited last in the current round, and leaving is O(1).

    Dead workers are only marked during a pass and removed at its end, so
    that a record found dead while the broker walks the ring or sends its
    replies stays valid until nothing points at it.
    ========================================================================= */

#include "zjob_registry.h"
#include "zjob_util.h"
#include "zjob_msg.h"
#include <stdlib.h>
#include <string.h>

struct _zjob_registry_t {
    zhashx_t *workers;             //  Routing id (hex) -> record, owns
    zhashx_t *by_worker_id;        //  Worker id -> record (the latest)
    zhashx_t *holders;             //  Job id -> record holding it
    zjob_registry_worker_t *ring;  //  Ring cursor: the next to visit, or NULL
    size_t ring_size;              //  Workers in the ring
    zjob_registry_worker_t *last;  //  The last worker looked up, a cache
    size_t dead_count;             //  Workers marked dead, not yet removed
    size_t joining_count;          //  Workers not yet admitted
    size_t stale_count;            //  Timed-out attempts held (zjob_registry_hold_stale)
    int64_t expiry_ms;             //  msecs of silence after which one is dead
    int64_t recheck_at;            //  Monotonic ms of the next disconnect
                                   //  check, 0 = none due
    zjob_registry_lost_fn *lost;   //  Hears the jobs of removed workers
    zjob_registry_left_fn *left;   //  Hears removed workers
    void *listener_arg;
};


//  --------------------------------------------------------------------------
//  Records

static void
s_hex (char *hex, const uint8_t *data, size_t size)
{
    static const char digits [] = "0123456789abcdef";
    for (size_t index = 0; index < size; index++) {
        hex [index * 2] = digits [data [index] >> 4];
        hex [index * 2 + 1] = digits [data [index] & 15];
    }
    hex [size * 2] = 0;
}

//  Table destructor: the record only; the caller has already unlinked it
static void
s_worker_destroy (void **item_p)
{
    zjob_registry_worker_t *worker = (zjob_registry_worker_t *) *item_p;
    if (worker) {
        for (size_t index = 0; index < worker->workflow_count; index++)
            free (worker->workflows [index]);
        free (worker->workflows);
        for (size_t index = 0; index < worker->pending_count; index++)
            zjob_job_destroy (&worker->pending [index]);
        free (worker->pending);
        free (worker->worker_id);
        free (worker->name);
        free (worker);
    }
    *item_p = NULL;
}

zjob_registry_t *
zjob_registry_new (int64_t heartbeat_ms, int liveness)
{
    zjob_registry_t *self = (zjob_registry_t *) calloc (1, sizeof (zjob_registry_t));
    if (!self)
        return NULL;
    self->workers = zjob_hashx_new ();
    self->by_worker_id = zjob_hashx_new ();
    self->holders = zjob_hashx_new ();
    if (!self->workers || !self->by_worker_id || !self->holders) {
        zjob_registry_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->workers, s_worker_destroy);
    self->expiry_ms = heartbeat_ms * liveness;
    return self;
}

void
zjob_registry_destroy (zjob_registry_t **self_p)
{
    assert (self_p);
    zjob_registry_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->holders);
    zhashx_destroy (&self->by_worker_id);
    zhashx_destroy (&self->workers);
    free (self);
    *self_p = NULL;
}

void
zjob_registry_set_listener (zjob_registry_t *self, zjob_registry_lost_fn *lost,
                            zjob_registry_left_fn *left, void *arg)
{
    assert (self);
    self->lost = lost;
    self->left = left;
    self->listener_arg = arg;
}


//  --------------------------------------------------------------------------
//  The credit ring

static bool
s_ring_add (zjob_registry_t *self, zjob_registry_worker_t *worker)
{
    if (worker->in_ring || worker->credit == 0 || worker->dead || worker->joining)
        return false;
    if (self->ring) {
        //  Join just behind the cursor: last in this round
        worker->next = self->ring;
        worker->prev = self->ring->prev;
        worker->prev->next = worker;
        self->ring->prev = worker;
    }
    else {
        worker->next = worker->prev = worker;
        self->ring = worker;
    }
    worker->in_ring = true;
    self->ring_size++;
    return true;
}

void
zjob_registry_ring_remove (zjob_registry_t *self, zjob_registry_worker_t *worker)
{
    assert (self && worker);
    if (!worker->in_ring)
        return;
    if (worker->next == worker)
        self->ring = NULL;
    else {
        worker->prev->next = worker->next;
        worker->next->prev = worker->prev;
        if (self->ring == worker)
            self->ring = worker->next;
    }
    worker->next = worker->prev = NULL;
    worker->in_ring = false;
    self->ring_size--;
}

zjob_registry_worker_t *
zjob_registry_ring (zjob_registry_t *self)
{
    assert (self);
    return self->ring;
}

size_t
zjob_registry_ring_size (zjob_registry_t *self)
{
    assert (self);
    return self->ring_size;
}

void
zjob_registry_ring_set (zjob_registry_t *self, zjob_registry_worker_t *worker)
{
    assert (self);
    if (worker && worker->in_ring)
        self->ring = worker;
}

size_t
zjob_registry_prefetch (zjob_registry_t *self, zjob_registry_worker_t *worker, size_t prefetch)
{
    assert (self && worker);
    if (prefetch > ZJOB_PREFETCH_MAX)
        prefetch = ZJOB_PREFETCH_MAX;
    if (worker->slots + prefetch > ZJOB_SLOTS_MAX)
        prefetch = worker->slots < ZJOB_SLOTS_MAX ? ZJOB_SLOTS_MAX - worker->slots : 0;
    //  A walk may hand it a whole window: one JOB carries it, if it batches
    size_t batch = worker->batch_asked < worker->slots + prefetch ? worker->batch_asked
                                                                  : worker->slots + prefetch;
    if (batch > worker->batch && worker->batch > 1 && worker->pending_count == 0) {
        zjob_job_t **pending = (zjob_job_t **) realloc (worker->pending,
                                                        batch * sizeof (zjob_job_t *));
        if (!pending)
            return worker->prefetch = 0;
        worker->pending = pending;
        worker->batch = batch;
    }
    return worker->prefetch = prefetch;
}

bool
zjob_registry_credit (zjob_registry_t *self, zjob_registry_worker_t *worker, size_t credit)
{
    assert (self && worker);
    //  Free slots, and the jobs it may buffer beyond them (its prefetch)
    size_t window = worker->slots + worker->prefetch;
    size_t free_slots = window > worker->holding ? window - worker->holding : 0;
    worker->credit += credit;
    if (worker->credit > free_slots)
        worker->credit = free_slots;
    return worker->credit && s_ring_add (self, worker);
}


//  --------------------------------------------------------------------------
//  Holders

int
zjob_registry_hold (zjob_registry_t *self, zjob_registry_worker_t *worker, const char *job_id)
{
    assert (self && worker && job_id);
    zjob_registry_worker_t *before = (zjob_registry_worker_t *) zhashx_lookup (self->holders,
                                                                               job_id);
    if (before == worker)
        return 0;
    if (before && before->holding)
        before->holding--;
    zhashx_update (self->holders, job_id, worker);
    if (zhashx_lookup (self->holders, job_id) != worker)
        return -1;
    worker->holding++;
    return 0;
}

zjob_registry_worker_t *
zjob_registry_holder (zjob_registry_t *self, const char *job_id)
{
    assert (self);
    return job_id ? (zjob_registry_worker_t *) zhashx_lookup (self->holders, job_id) : NULL;
}

bool
zjob_registry_release (zjob_registry_t *self, const char *job_id,
                       zjob_registry_worker_t *worker)
{
    assert (self);
    if (!job_id || zhashx_lookup (self->holders, job_id) != worker)
        return false;
    zhashx_delete (self->holders, job_id);
    if (worker->holding)
        worker->holding--;
    return true;
}

size_t
zjob_registry_jobs (zjob_registry_t *self, zjob_registry_worker_t *worker,
                    const char **ids, size_t max)
{
    assert (self);
    size_t count = 0;
    const void *holder = zhashx_first (self->holders);
    for (; holder && count < max && count < worker->holding;
         holder = zhashx_next (self->holders))
        if (holder == worker && !strchr ((const char *) zhashx_cursor (self->holders), '~'))
            ids [count++] = (const char *) zhashx_cursor (self->holders);
    return count;
}

//  The key a worker's timed-out attempt of job_id is held under
static void
s_stale_key (char *key, size_t size, const char *job_id, const zjob_registry_worker_t *worker)
{
    snprintf (key, size, "%s~%s", job_id, worker->key);
}

int
zjob_registry_hold_stale (zjob_registry_t *self, zjob_registry_worker_t *worker,
                          const char *job_id)
{
    assert (self && worker && job_id);
    char key [ZJOB_ID_LEN + 2 + sizeof (worker->key)];
    s_stale_key (key, sizeof (key), job_id, worker);
    if (!zjob_registry_release (self, job_id, worker))
        return -1;
    if (zjob_registry_hold (self, worker, key))
        return -1;
    self->stale_count++;
    return 0;
}

bool
zjob_registry_release_stale (zjob_registry_t *self, const char *job_id,
                             zjob_registry_worker_t *worker)
{
    assert (self && worker);
    if (!job_id || self->stale_count == 0)
        return false;
    char key [ZJOB_ID_LEN + 2 + sizeof (worker->key)];
    s_stale_key (key, sizeof (key), job_id, worker);
    if (!zjob_registry_release (self, key, worker))
        return false;
    self->stale_count--;
    return true;
}


//  --------------------------------------------------------------------------
//  Joining and leaving

void
zjob_registry_remove (zjob_registry_t *self, zjob_registry_worker_t *worker,
                      const char *reason, zjob_registry_worker_t *heir,
                      const char *const *keep, size_t keep_count)
{
    assert (self && worker);
    zjob_registry_ring_remove (self, worker);
    if (worker->holding) {
        //  Collect first: the lost callback may change the holders
        zlistx_t *ids = zlistx_new ();
        if (ids) {
            zlistx_set_duplicator (ids, (zlistx_duplicator_fn *) strdup);
            zlistx_set_destructor (ids, (zlistx_destructor_fn *) zstr_free);
        }
        const void *item = zhashx_first (self->holders);
        for (; item; item = zhashx_next (self->holders))
            if (item == worker && ids)
                zlistx_add_end (ids, (void *) zhashx_cursor (self->holders));
        const char *job_id = ids ? (const char *) zlistx_first (ids) : NULL;
        for (; job_id; job_id = (const char *) zlistx_next (ids)) {
            bool handed = false;
            for (size_t index = 0; heir && index < keep_count; index++)
                if (keep [index] && streq (keep [index], job_id)) {
                    handed = zjob_registry_hold (self, heir, job_id) == 0;
                    break;
                }
            if (handed)
                continue;
            if (strchr (job_id, '~') && self->stale_count)
                self->stale_count--;
            zhashx_delete (self->holders, job_id);
            if (self->lost)
                self->lost (job_id, self->listener_arg);
        }
        zlistx_destroy (&ids);
    }
    worker->holding = 0;
    if (self->left)
        self->left (worker, reason, self->listener_arg);
    if (zhashx_lookup (self->by_worker_id, worker->worker_id) == worker)
        zhashx_delete (self->by_worker_id, worker->worker_id);
    if (self->last == worker)
        self->last = NULL;
    if (worker->dead && self->dead_count)
        self->dead_count--;
    if (worker->joining && self->joining_count)
        self->joining_count--;
    zhashx_delete (self->workers, worker->key);
}

zjob_registry_worker_t *
zjob_registry_join (zjob_registry_t *self, const uint8_t *rid, size_t rid_size,
                    const char *worker_id, const char *name,
                    const char *const *workflows, size_t workflow_count,
                    size_t slots, size_t batch, int fd, int64_t now_mono,
                    const char *const *keep, size_t keep_count)
{
    assert (self);
    if (!rid || rid_size == 0 || rid_size >= ZJOB_RID_MAX || !worker_id)
        return NULL;
    zjob_registry_worker_t *worker = (zjob_registry_worker_t *) calloc (1, sizeof (zjob_registry_worker_t));
    if (worker) {
        worker->worker_id = strdup (worker_id);
        worker->name = name ? strdup (name) : NULL;
        worker->workflows = (char **) calloc (workflow_count ? workflow_count : 1, sizeof (char *));
    }
    bool ok = worker && worker->worker_id && (!name || worker->name) && worker->workflows;
    for (size_t index = 0; ok && index < workflow_count; index++)
        ok = (worker->workflows [worker->workflow_count++] = strdup (workflows [index])) != NULL;
    if (!ok) {
        void *item = worker;
        s_worker_destroy (&item);
        return NULL;
    }
    memcpy (worker->rid, rid, rid_size);
    worker->rid_size = rid_size;
    s_hex (worker->key, rid, rid_size);
    worker->slots = slots;
    //  A batching worker gets the jobs of a dispatch walk in one JOB
    worker->batch_asked = batch;
    worker->batch = batch > slots ? slots : batch;
    if (worker->batch > 1
        && !(worker->pending = (zjob_job_t **) calloc (worker->batch, sizeof (zjob_job_t *))))
        worker->batch = 1;
    worker->fd = fd;
    worker->peer_size = sizeof (worker->peer);
    if (fd < 0 || getpeername (fd, (struct sockaddr *) &worker->peer, &worker->peer_size))
        worker->peer_size = 0;
    worker->joined_at = zjob_clock_ms ();
    worker->seen_at = now_mono;
    worker->expires_at = now_mono + self->expiry_ms;

    //  The same connection again, or the same worker on a new connection:
    //  the old record goes, handing over the jobs the worker still runs
    zjob_registry_worker_t *old = (zjob_registry_worker_t *) zhashx_lookup (self->workers,
                                                                            worker->key);
    if (old)
        zjob_registry_remove (self, old, "replaced", worker, keep, keep_count);
    old = (zjob_registry_worker_t *) zhashx_lookup (self->by_worker_id, worker_id);
    if (old)
        zjob_registry_remove (self, old, "replaced", worker, keep, keep_count);
    if (zhashx_insert (self->workers, worker->key, worker)) {
        void *item = worker;
        s_worker_destroy (&item);
        return NULL;
    }
    zhashx_update (self->by_worker_id, worker->worker_id, worker);
    //  It joins the credit ring once its READY is answered
    worker->joining = true;
    self->joining_count++;
    return worker;
}

bool
zjob_registry_admit (zjob_registry_t *self)
{
    assert (self);
    if (self->joining_count == 0)
        return false;
    self->joining_count = 0;
    bool joined = false;
    zjob_registry_worker_t *worker = (zjob_registry_worker_t *) zhashx_first (self->workers);
    for (; worker; worker = (zjob_registry_worker_t *) zhashx_next (self->workers))
        if (worker->joining) {
            worker->joining = false;
            joined |= s_ring_add (self, worker);
        }
    return joined;
}

zjob_registry_worker_t *
zjob_registry_lookup (zjob_registry_t *self, const uint8_t *rid, size_t rid_size)
{
    assert (self);
    if (!rid || rid_size == 0 || rid_size >= ZJOB_RID_MAX)
        return NULL;
    //  Messages come in runs from one worker: try the last one first
    zjob_registry_worker_t *last = self->last;
    if (last && last->rid_size == rid_size && memcmp (last->rid, rid, rid_size) == 0)
        return last;
    char key [ZJOB_RID_MAX * 2 + 1];
    s_hex (key, rid, rid_size);
    zjob_registry_worker_t *worker = (zjob_registry_worker_t *) zhashx_lookup (self->workers,
                                                                               key);
    if (worker)
        self->last = worker;
    return worker;
}


//  --------------------------------------------------------------------------
//  Liveness

void
zjob_registry_touch (zjob_registry_t *self, zjob_registry_worker_t *worker, int64_t now_mono)
{
    assert (self && worker);
    worker->seen_at = now_mono;
    worker->expires_at = now_mono + self->expiry_ms;
}

void
zjob_registry_mark_dead (zjob_registry_t *self, zjob_registry_worker_t *worker,
                         const char *reason)
{
    assert (self && worker);
    if (worker->dead)
        return;
    worker->dead = true;
    worker->dead_reason = reason;
    worker->rechecks = 0;
    self->dead_count++;
    zjob_registry_ring_remove (self, worker);
}

size_t
zjob_registry_reap (zjob_registry_t *self)
{
    assert (self);
    size_t reaped = 0;
    while (self->dead_count) {
        zjob_registry_worker_t *worker = (zjob_registry_worker_t *) zhashx_first (self->workers);
        while (worker && !worker->dead)
            worker = (zjob_registry_worker_t *) zhashx_next (self->workers);
        if (!worker) {
            self->dead_count = 0;  //  Cannot be: every dead one is listed
            break;
        }
        zjob_registry_remove (self, worker,
                              worker->dead_reason ? worker->dead_reason : "disconnect",
                              NULL, NULL, 0);
        reaped++;
    }
    return reaped;
}

size_t
zjob_registry_expire (zjob_registry_t *self, int64_t now_mono)
{
    assert (self);
    size_t expired = 0;
    zjob_registry_worker_t *worker = (zjob_registry_worker_t *) zhashx_first (self->workers);
    for (; worker; worker = (zjob_registry_worker_t *) zhashx_next (self->workers))
        if (!worker->dead && now_mono >= worker->expires_at) {
            zjob_registry_mark_dead (self, worker, "expired");
            expired++;
        }
    return expired;
}

//  True if the worker's connection is no longer the one it registered on
static bool
s_worker_disconnected (zjob_registry_worker_t *worker)
{
    if (worker->peer_size == 0)
        return false;  //  Unknown: the heartbeats will tell
    struct sockaddr_storage peer;
    socklen_t peer_size = sizeof (peer);
    if (getpeername (worker->fd, (struct sockaddr *) &peer, &peer_size))
        return true;  //  Closed
    return peer_size != worker->peer_size || memcmp (&peer, &worker->peer, peer_size) != 0;
}

int64_t
zjob_registry_recheck (zjob_registry_t *self, int64_t now_mono)
{
    assert (self);
    self->recheck_at = 0;
    zjob_registry_worker_t *worker = (zjob_registry_worker_t *) zhashx_first (self->workers);
    for (; worker; worker = (zjob_registry_worker_t *) zhashx_next (self->workers)) {
        if (worker->dead || worker->rechecks == 0)
            continue;
        if (s_worker_disconnected (worker))
            zjob_registry_mark_dead (self, worker, "disconnect");
        else if (--worker->rechecks)
            self->recheck_at = now_mono + ZJOB_RECHECK_MS;
    }
    return self->recheck_at;
}

void
zjob_registry_disconnected (zjob_registry_t *self, int fd, int64_t now_mono)
{
    assert (self);
    zjob_registry_worker_t *worker = (zjob_registry_worker_t *) zhashx_first (self->workers);
    for (; worker; worker = (zjob_registry_worker_t *) zhashx_next (self->workers))
        if (!worker->dead && worker->fd == fd)
            worker->rechecks = ZJOB_RECHECKS;
    zjob_registry_recheck (self, now_mono);
}

int64_t
zjob_registry_recheck_at (zjob_registry_t *self)
{
    assert (self);
    return self->recheck_at;
}


//  --------------------------------------------------------------------------
//  Counting and iterating

size_t
zjob_registry_size (zjob_registry_t *self)
{
    assert (self);
    return zhashx_size (self->workers);
}

size_t
zjob_registry_held (zjob_registry_t *self)
{
    assert (self);
    return zhashx_size (self->holders);
}

zjob_registry_worker_t *
zjob_registry_first (zjob_registry_t *self)
{
    assert (self);
    return (zjob_registry_worker_t *) zhashx_first (self->workers);
}

zjob_registry_worker_t *
zjob_registry_next (zjob_registry_t *self)
{
    assert (self);
    return (zjob_registry_worker_t *) zhashx_next (self->workers);
}
