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
