/*  =========================================================================
    zjob_manager_setup - the manager's construction and destruction

    zjob_manager_new makes the manager's state (zjob_manager_impl.h) over
    a store it takes, then rebuilds its memory from that store through
    zjob_recovery.c, which calls the two hooks here: one for every stored
    job (its idempotency key, unique key, policy, dependencies and place
    in the expiry line), one for every job a worker held when the process
    stopped (its attempt ends and it is queued again, provisionally).
    zjob_manager_destroy takes it all down, the store last but one. The
    one path every change takes stays in zjob_manager.c.
    ========================================================================= */

#include <stdlib.h>
#include "zjob_manager_impl.h"
#include "zjob_recovery.h"
#include "zjob_times.h"

//  --------------------------------------------------------------------------
//  The hashes' destructors

static void
s_free_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static void
s_held_destroy (void **item_p)
{
    s_held_t *held = (s_held_t *) *item_p;
    if (held) {
        zjob_job_destroy (&held->job);
        free (held);
    }
    *item_p = NULL;
}

//  --------------------------------------------------------------------------
//  Recovery (zjob_recovery.c) calls these: for every stored job, and for
//  every job a worker held when the process stopped

static int
s_recovered (zjob_job_t *job, void *arg)
{
    zjob_manager_t *self = (zjob_manager_t *) arg;
    zjob_mgr_key_add (self, job);
    zjob_queues_unique_add (self->queues, job);
    zjob_mgr_intern (self, job);
    if (zjob_deps_recovered (self->deps, job))
        return -1;
    if (zjob_status_terminal ((zjob_status_t) job->status)) {
        if (zjob_expiry_reserve (self->expiry, 1))
            return -1;
        zjob_expiry_append (self->expiry, job);
    }
    return 0;
}

//  No worker holds the job now: its attempt ends (as a lost worker's
//  does), and a running job is queued again, provisionally (its worker,
//  if it still runs, may adopt it)
static int
s_released (zjob_job_t *job, int64_t now, void *arg)
{
    zjob_manager_t *self = (zjob_manager_t *) arg;
    zjob_requeue_t *prov = (zjob_requeue_t *) malloc (sizeof (zjob_requeue_t));
    if (!prov)
        return -1;
    if (zjob_times_release (job, now, prov))
        zhashx_update (self->provisional, job->id, prov);
    else
        free (prov);
    return 0;
}


//  --------------------------------------------------------------------------
//  Create a manager over store, taking ownership of it, and rebuild the
//  queues from it. Returns NULL with err filled if recovery fails.

zjob_manager_t *
zjob_manager_new (zjob_store_t **store_p, const zjob_manager_config_t *config,
                  zjob_error_t *err)
{
    assert (store_p);
    if (!*store_p) {
        zjob_error_set (err, ZJOB_INTERNAL, "no store");
        return NULL;
    }
    zjob_manager_t *self = (zjob_manager_t *) calloc (1, sizeof (zjob_manager_t));
    if (!self) {
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    self->store = *store_p;
    *store_p = NULL;
    self->max_concurrent = config ? config->max_concurrent : ZJOB_MAX_CONCURRENT_DEFAULT;
    self->retention_ms = config && config->retention_ms > 0 ? config->retention_ms
                                                            : ZJOB_RETENTION_DEFAULT_MS;
    if (config)
        self->limits = config->limits;
    self->queue = zjob_queue_new ();
    self->held = zjob_hashx_new ();
    self->keys = zjob_keyindex_new ();
    self->tally = zjob_tally_new ();
    self->expiry = zjob_expiry_new ();
    self->provisional = zjob_hashx_new ();
    self->earlier = zjob_hashx_new ();
    self->deps = zjob_deps_new (self);
    self->batches = zjob_batches_new (self);
    self->templates = zjob_templates_new (self->store);
    if (!self->queue || !self->held || !self->keys || !self->tally || !self->expiry
        || !self->provisional || !self->earlier || !self->deps || !self->batches
        || !self->templates
        || zjob_mgr_failure_init (self, config)) {
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        zjob_manager_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->held, s_held_destroy);
    zhashx_set_destructor (self->earlier, s_free_destroy);
    zhashx_set_destructor (self->provisional, s_free_destroy);
    self->queues = zjob_queues_new (self->store, config ? config->queues : NULL,
                                    config ? config->queue_count : 0, zjob_mgr_running, self);
    if (!self->queues) {
        zjob_error_set (err, ZJOB_INTERNAL, "queue controls: out of memory");
        zjob_manager_destroy (&self);
        return NULL;
    }
    zjob_recovery_hooks_t hooks = { s_recovered, s_released, self };
    //  Batches after the jobs: a callback lost in a crash is created now
    if (zjob_recovery_run (self->store, self->tally, self->queue, &hooks, err)
        || zjob_batches_load (self->batches, err) || zjob_manager_sync (self, err))
        zjob_manager_destroy (&self);
    else
        zjob_expiry_sort (self->expiry);
    return self;
}


//  --------------------------------------------------------------------------
//  Destroy the manager and its store (synced first). Accepts NULL.

void
zjob_manager_destroy (zjob_manager_t **self_p)
{
    assert (self_p);
    zjob_manager_t *self = *self_p;
    if (!self)
        return;
    zjob_deps_destroy (&self->deps);  //  Its references first
    zjob_queue_destroy (&self->queue);
    zhashx_destroy (&self->held);
    zjob_keyindex_destroy (&self->keys);
    zjob_tally_destroy (&self->tally);
    zjob_queues_destroy (&self->queues);
    zjob_expiry_destroy (&self->expiry);
    zhashx_destroy (&self->provisional);
    zhashx_destroy (&self->earlier);
    zjob_batches_destroy (&self->batches);  //  Writes what changed, before the store goes
    zjob_templates_destroy (&self->templates);
    zjob_store_destroy (&self->store);
    zjob_mgr_failure_destroy (self);
    free (self);
    *self_p = NULL;
}


//  --------------------------------------------------------------------------
//  Set the one listener (NULL to remove).

void
zjob_manager_set_listener (zjob_manager_t *self, zjob_manager_listener_fn *fn, void *arg)
{
    assert (self);
    self->listener = fn;
    self->listener_arg = fn ? arg : NULL;
}

bool
zjob_manager_creating (zjob_manager_t *self)
{
    assert (self);
    return self->creating;
}
