/*  =========================================================================
    zjob_broker_store - the broker's store: opening it, keeping its lease

    Which store a broker runs on: config->store, or the file store under
    config->data_dir (created if need be) when no spec is given. zjobd
    opens it itself (zjob_broker_store_open), before the broker, so that
    a standby can wait for a shared store's lease (zjob_store_acquire)
    without binding anything, and hands the open store to the broker
    (config->store_handle); a broker given none opens the spec as it
    always did (tests that start a broker in process).

    Keeping the lease. A shared store (PostgreSQL) renews its lease in
    its sync, and needs one at least every zjob_store_renew_ms even when
    nothing changed: the broker marks the pass dirty on that cadence
    (zjob_broker_renew, from the timed work) and wakes for it
    (zjob_broker_renew_wait). A sync that finds another broker took the
    lease leaves the store fenced (zjob_store_fenced): that pass's replies
    become 503 like any failed sync's, and the broker stops at once
    (zjob_broker_fenced): the loop ends, the actor returns, and zjobd,
    seeing it stop by itself, exits 8. Nothing more is acknowledged, and
    the workers it sends DISCONNECT go to the new active broker.
    ========================================================================= */

#include "zjob_broker_impl.h"

int
zjob_broker_store_spec (const zjob_broker_config_t *config, char *spec, size_t size,
                        zjob_error_t *err)
{
    if (*config->store) {
        snprintf (spec, size, "%s", config->store);
        return 0;
    }
    if (zsys_dir_create ("%s", config->data_dir))
        return zjob_error_set (err, ZJOB_UNAVAILABLE, "cannot create data directory %s",
                               config->data_dir);
    snprintf (spec, size, "file:%s", config->data_dir);
    return 0;
}

zjob_store_t *
zjob_broker_store_open (const zjob_broker_config_t *config, zjob_error_t *err)
{
    char spec [ZJOB_BROKER_PATH_MAX + 8];
    if (zjob_broker_store_spec (config, spec, sizeof spec, err))
        return NULL;
    return zjob_store_open (spec, err);
}

//  The manager over the config's store: the one given (config.store_handle,
//  taken), else the spec's, opened here. spec gets what the log names
int
zjob_broker_manager_start (s_broker_t *self, char *spec, size_t size)
{
    zjob_error_t *err = &self->start_error;
    zjob_broker_config_t *config = &self->config;
    if (config->store_handle)
        snprintf (spec, size, "%s%s", *config->store ? "" : "file:",
                  *config->store ? config->store : config->data_dir);
    else if (zjob_broker_store_spec (config, spec, size, err))
        return -1;
    zjob_manager_config_t manager_config = {
        .max_concurrent = config->max_concurrent, .retention_ms = config->retention_ms,
        .limits = config->limits  //  max-queued, max-queued-bytes, max-pending
    };
    zjob_workflow_defaults_t workflows [ZJOB_CONFIG_WORKFLOWS_MAX];
    manager_config.workflows = workflows;
    manager_config.workflow_count = zjob_broker_config_retry (config, &manager_config.defaults,
                                                              workflows);
    zjob_queue_defaults_t queues [ZJOB_CONFIG_WORKFLOWS_MAX];
    manager_config.queues = queues;
    manager_config.queue_count = zjob_broker_config_queues (config, queues);
    if (config->store_handle) {
        self->manager = zjob_manager_new (&config->store_handle, &manager_config, err);
        zjob_store_destroy (&config->store_handle);  //  NULL once the manager took it
    }
    else
        self->manager = zjob_manager_open (spec, &manager_config, err);
    if (!self->manager)
        return -1;
    self->renew_ms = zjob_store_renew_ms (zjob_manager_store (self->manager));
    self->renewed_at = zjob_mono_ms ();
    return 0;
}

//  A sync due for the lease's sake: the pass is marked dirty
void
zjob_broker_renew (s_broker_t *self)
{
    if (self->renew_ms > 0 && zjob_mono_ms () - self->renewed_at >= self->renew_ms) {
        self->dirty = true;
        self->renewed_at = zjob_mono_ms ();
    }
}

int64_t
zjob_broker_renew_wait (s_broker_t *self, int64_t timeout)
{
    if (self->renew_ms <= 0)
        return timeout;
    int64_t due = self->renewed_at + self->renew_ms - zjob_mono_ms ();
    if (due < 0)
        due = 0;
    return due < timeout ? due : timeout;
}

bool
zjob_broker_fenced (s_broker_t *self)
{
    if (!zjob_store_fenced (zjob_manager_store (self->manager)))
        return false;
    if (!self->terminated)
        s_log_error (self, "zjob_broker: lost the lease to another broker: stopping; nothing "
                           "more is acknowledged");
    self->terminated = true;
    return true;
}
