/*  =========================================================================
    zjob_manager_limits - the broker's limits on what its peers make it hold

    A broker that takes every SUBMIT runs out of memory when producers
    outpace workers: every job not yet run is a struct, its inputs, and
    its entries in the store and the queue, all in memory. So the SUBMIT
    of a client is refused, whole and before any job is made, when its new
    jobs would take the jobs not yet run (created, waiting, queued,
    paused) past max_queued, or the bytes of their inputs past
    max_queued_bytes. 429 tells the client to come back later, once
    workers have drained some; nothing it sent is half made.

    The figures cost nothing to read: zjob_tally keeps the count per
    status and the bytes as jobs move through the manager's one path
    (create, every status change, delete, cleanup, recovery), so the check
    is O(specs) and never a walk of the store. Only the client's SUBMIT is
    checked: what the broker makes itself (a schedule's job, a batch's
    callback) and a re-run of a job already there are not refused, since
    refusing them would lose work the broker has already acknowledged;
    they count, so the next SUBMIT sees them. A SUBMIT can then be refused
    while the count is over the limit by such jobs: the limit is where
    new work stops, not a hard ceiling.

    max_pending is kept here with the others, as configuration only: it
    bounds a client connection's requests kept across passes, which
    zjob_clients applies (zjob_clients_defer).
    ========================================================================= */

#include "zjob_manager_impl.h"
#include "zjob_tally.h"

const zjob_limits_t *
zjob_manager_limits (zjob_manager_t *self)
{
    assert (self);
    return &self->limits;
}

void
zjob_manager_set_limits (zjob_manager_t *self, const zjob_limits_t *limits)
{
    assert (self && limits);
    self->limits = *limits;
}

size_t
zjob_manager_unrun (zjob_manager_t *self, uint64_t *bytes_p)
{
    assert (self);
    return zjob_tally_unrun (self->tally, bytes_p);
}

int
zjob_mgr_limits_check (zjob_manager_t *self, const zjob_spec_t *specs, size_t count,
                       const bool *skip, zjob_error_t *err)
{
    const zjob_limits_t *limits = &self->limits;
    if (!limits->max_queued && !limits->max_queued_bytes)
        return 0;
    size_t jobs = 0;
    uint64_t bytes = 0;
    for (size_t index = 0; index < count; index++) {
        if (skip && skip [index])
            continue;
        jobs++;
        bytes += specs [index].inputs_size;
    }
    uint64_t held_bytes = 0;
    size_t held = zjob_tally_unrun (self->tally, &held_bytes);
    if (limits->max_queued && jobs > limits->max_queued)
        return zjob_error_set (err, ZJOB_TOO_LARGE, "this SUBMIT makes %zu jobs, more than the "
                                                    "broker ever holds not yet run (--max-queued "
                                                    "%zu); split it",
                               jobs, limits->max_queued);
    if (limits->max_queued_bytes && bytes > limits->max_queued_bytes)
        return zjob_error_set (err, ZJOB_TOO_LARGE, "this SUBMIT's inputs are %" PRIu64 " bytes, "
                                                    "more than the broker ever holds for jobs not "
                                                    "yet run (--max-queued-bytes %" PRIu64 "); "
                                                    "split it",
                               bytes, limits->max_queued_bytes);
    //  Over the limit, or at it with this SUBMIT's jobs to add
    if (limits->max_queued && held + jobs > limits->max_queued) {
        char more [64] = "";
        if (held < limits->max_queued)
            snprintf (more, sizeof (more), " and this SUBMIT makes %zu more", jobs);
        return zjob_error_set (err, ZJOB_TOO_MANY, "the broker holds %zu jobs not yet run%s "
                                                   "(--max-queued %zu); try again later",
                               held, more, limits->max_queued);
    }
    if (limits->max_queued_bytes && held_bytes + bytes > limits->max_queued_bytes) {
        char more [64] = "";
        if (held_bytes < limits->max_queued_bytes)
            snprintf (more, sizeof (more), " and this SUBMIT's inputs are %" PRIu64, bytes);
        return zjob_error_set (err, ZJOB_TOO_MANY, "the broker holds %" PRIu64 " bytes of "
                                                   "inputs of jobs not yet run%s "
                                                   "(--max-queued-bytes %" PRIu64 "); try again "
                                                   "later",
                               held_bytes, more, limits->max_queued_bytes);
    }
    return 0;
}
