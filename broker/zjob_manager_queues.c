/*  =========================================================================
    zjob_manager_queues - the manager's side of the queue controls

    The queue controls (zjob_queues.c) know settings and buckets; what
    they ask of the manager (a workflow's running jobs, from the tally)
    and what the manager answers about them (is a workflow held back now:
    only if it has ready jobs) are here, so that the manager's main file
    keeps to its one path.
    ========================================================================= */

#include "zjob_manager_impl.h"

size_t
zjob_mgr_running (const char *workflow, void *arg)
{
    return zjob_tally_count (((zjob_manager_t *) arg)->tally, workflow, ZJOB_RUNNING);
}

bool
zjob_mgr_queue_gate (const char *workflow, void *arg)
{
    return zjob_queues_check (((zjob_manager_t *) arg)->queues, workflow) == ZJOB_HELD_NONE;
}

zjob_queues_t *
zjob_manager_queues (zjob_manager_t *self)
{
    assert (self);
    return self->queues;
}

zjob_held_t
zjob_manager_held_back (zjob_manager_t *self, const char *workflow)
{
    assert (self);
    if (!workflow || zjob_queue_ready_in (self->queue, workflow) == 0)
        return ZJOB_HELD_NONE;
    return zjob_queues_check (self->queues, workflow);
}

size_t
zjob_manager_workflow_count (zjob_manager_t *self, const char *workflow, zjob_status_t status)
{
    assert (self);
    return zjob_tally_count (self->tally, workflow, status);
}

int
zjob_manager_unique_step (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                          zjob_job_t **jobs, bool *skip, size_t *first, zjob_error_t *err)
{
    assert (self && specs && jobs && skip && first);
    zhashx_t *batch = NULL;  //  unique key -> index + 1 of its first spec
    int rc = 0;
    for (size_t index = 0; rc == 0 && index < count; index++) {
        const char *key = specs [index].unique_key;
        if (skip [index] || !key)
            continue;
        char id [ZJOB_ID_LEN + 1];
        if (zjob_queues_unique_find (self->queues, key, id)
            && (jobs [index] = zjob_mgr_lookup (self, id, NULL)) != NULL) {
            skip [index] = true;
            continue;
        }
        if (count == 1)
            break;
        if (!batch && (batch = zjob_hashx_new ()) == NULL) {
            rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
            break;
        }
        size_t earlier = (size_t) (uintptr_t) zhashx_lookup (batch, key);
        if (earlier) {
            skip [index] = true;
            first [index] = earlier;
        }
        else if (zhashx_insert (batch, key, (void *) (uintptr_t) (index + 1)))
            rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    zhashx_destroy (&batch);
    return rc;
}
