/*  =========================================================================
    zjob_dispatch - the dispatch walk: jobs to workers with credit

    Workers with credit are in the registry's ring; a walk visits it from
    where the last one stopped and hands each worker in turn the best job
    for it (zjob_manager_take_before: highest priority, then oldest, among
    the workflows it serves), one per visit, so work spreads evenly. A
    worker that gets nothing is skipped for the rest of the walk, so a walk
    costs O(jobs handed out + workers). A worker whose credit runs out, or
    that is found dead, leaves the ring.

    Prefetch (READY "prefetch"): a worker may be given jobs beyond its
    slots, which it buffers, best first, until a slot frees. Free slots
    come first: a first round of the walk serves only workers with a free
    slot, and only then a second round spends prefetch credit. A job thus
    waits in a buffer only when no worker could start it at once, and a
    buffer holds what the worker asks for (its round trip's worth, when it
    sizes it itself), so a high-priority job submitted later is at most
    one buffer behind, and is started first by the worker that has it.

    A batching worker (READY "batch") is not sent each job as it is taken:
    the walk keeps its jobs (held, credit spent, as if sent) and sends them
    at the walk's end in one JOB ("jobs"), or earlier when it has `batch`
    of them. A JOB that cannot go out puts its jobs back at the front of
    their queue, last first, so they keep their order. A worker that is
    gone (EHOSTUNREACH) is marked dead; one whose pipe is full gets no more
    until a result brings credit back.
    ========================================================================= */

#include "zjob_dispatch.h"
#include "zjob_log.h"
#include "zjob_config.h"
#include "zjob_job_impl.h"
#include "zjob_util.h"
#include <errno.h>
#include <stdlib.h>

struct _zjob_dispatch_t {
    zjob_dispatch_config_t config;     //  What it works on
    zjob_registry_worker_t **batched;  //  Batching workers given jobs in this walk
    size_t batched_count;
    size_t batched_max;
    bool again;  //  A send failed in this walk
};

#define s_log_error(self, ...) \
    ZJOB_LOG_IF ((self)->config.log_level, ZJOB_LOG_ERROR, __VA_ARGS__)


zjob_dispatch_t *
zjob_dispatch_new (const zjob_dispatch_config_t *config)
{
    assert (config && config->manager && config->registry && config->builder && config->send);
    zjob_dispatch_t *self = (zjob_dispatch_t *) calloc (1, sizeof (zjob_dispatch_t));
    if (self)
        self->config = *config;
    return self;
}

void
zjob_dispatch_destroy (zjob_dispatch_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free ((*self_p)->batched);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Send the encoded message in the builder to worker. Returns 0, or -1
//  with errno set.
static int
s_send_built (zjob_dispatch_t *self, zjob_registry_worker_t *worker, size_t jobs)
{
    zjob_error_t err;
    size_t size;
    const uint8_t *data = zjob_msg_end_data (self->config.builder, &size, &err);
    if (!data) {
        s_log_error (self, "zjob_broker: cannot encode a JOB of %zu jobs for worker %s: %s",
                     jobs, worker->worker_id, err.text);
        errno = ENOMEM;
        return -1;
    }
    return self->config.send (worker->rid, worker->rid_size, data, size, self->config.send_arg);
}

//  A JOB could not go out (error is its errno): a worker that is gone is
//  dead; one whose pipe is full gets no more until a result comes back.
static void
s_send_failed (zjob_dispatch_t *self, zjob_registry_worker_t *worker, int error)
{
    if (error == EHOSTUNREACH)
        zjob_registry_mark_dead (self->config.registry, worker, "disconnect");
    else
        worker->credit = 0;
    self->again = true;
}

//  Put a job that did not go out back at the front of its queue
static void
s_requeue (zjob_dispatch_t *self, const char *job_id)
{
    zjob_error_t err;
    if (zjob_manager_requeue (self->config.manager, job_id, &err))
        s_log_error (self, "zjob_broker: cannot requeue job %s: %s", job_id, err.text);
}

//  Send the jobs taken for a batching worker: JOBs whose "jobs" hold as
//  many as fit in a message (the single form for one job). What cannot be
//  sent is requeued.
static void
s_batch_send (zjob_dispatch_t *self, zjob_registry_worker_t *worker)
{
    zjob_msg_builder_t *builder = self->config.builder;
    size_t sent = 0;
    int error = 0;
    while (sent < worker->pending_count) {
        size_t left = worker->pending_count - sent;
        size_t added = 1;
        zjob_msg_begin (builder, ZJOB_CMD_JOB, 0);
        if (left == 1)
            zjob_msg_add_job (builder, "job", worker->pending [sent]);
        else
            added = zjob_msg_add_jobs (builder, "jobs", worker->pending + sent, left);
        if (!added) {
            s_log_error (self, "zjob_broker: cannot encode a JOB of %zu jobs for worker %s",
                         left, worker->worker_id);
            error = ENOMEM;
            break;
        }
        if (s_send_built (self, worker, added)) {
            error = errno;
            break;
        }
        sent += added;
    }
    //  Last first: each goes to the front, so they keep their order
    for (size_t index = worker->pending_count; index > sent; index--) {
        zjob_job_t *job = worker->pending [index - 1];
        zjob_registry_release (self->config.registry, job->id, worker);
        s_requeue (self, job->id);
    }
    if (sent < worker->pending_count) {
        s_send_failed (self, worker, error);
        zjob_registry_ring_remove (self->config.registry, worker);
    }
    for (size_t index = 0; index < worker->pending_count; index++)
        zjob_job_destroy (&worker->pending [index]);
    worker->pending_count = 0;
}

//  Keep job for a batching worker until the walk's end (or until it has
//  a JOB's worth). Returns 0, or -1 if out of memory (job untouched).
static int
s_batch_add (zjob_dispatch_t *self, zjob_registry_worker_t *worker, zjob_job_t **job_p)
{
    if (!worker->pending_listed) {
        zjob_registry_worker_t **grown = (zjob_registry_worker_t **) zjob_grow (
            self->batched, &self->batched_max, self->batched_count + 1,
            sizeof (zjob_registry_worker_t *), 16);
        if (!grown)
            return -1;
        self->batched = grown;
        self->batched [self->batched_count++] = worker;
        worker->pending_listed = true;
    }
    if (zjob_registry_hold (self->config.registry, worker, (*job_p)->id))
        return -1;
    worker->credit--;
    worker->pending [worker->pending_count++] = *job_p;
    *job_p = NULL;
    if (worker->pending_count == worker->batch)
        s_batch_send (self, worker);
    return 0;
}

//  Give job to worker now, or keep it for the worker's JOB at the walk's
//  end; a job that cannot go out goes back to the front of its queue.
static void
s_give (zjob_dispatch_t *self, zjob_registry_worker_t *worker, zjob_job_t *job)
{
    if (worker->batch > 1 && s_batch_add (self, worker, &job) == 0)
        return;  //  Sent with the others at the walk's end
    zjob_msg_begin (self->config.builder, ZJOB_CMD_JOB, 0);
    zjob_msg_add_job (self->config.builder, "job", job);
    if (s_send_built (self, worker, 1) == 0) {
        if (zjob_registry_hold (self->config.registry, worker, job->id))
            s_log_error (self, "zjob_broker: out of memory recording job %s", job->id);
        worker->credit--;
    }
    else {
        s_send_failed (self, worker, errno);
        s_requeue (self, job->id);
    }
    zjob_job_destroy (&job);
}

//  One round of the walk over the credit ring from its cursor, handing
//  each worker visited its best job. With slots_only, only workers with a
//  free slot are served (*skipped set if one was passed over for having
//  none). Returns false when nothing more can be handed out to anyone.
static bool
s_walk_round (zjob_dispatch_t *self, uint64_t max_seq, bool slots_only, size_t *taken,
              bool *skipped)
{
    zjob_manager_t *manager = self->config.manager;
    zjob_registry_t *registry = self->config.registry;
    bool more = true;
    size_t misses = 0;  //  Workers in a row that got nothing
    zjob_registry_worker_t *worker = zjob_registry_ring (registry);
    while (worker && misses < zjob_registry_ring_size (registry)) {
        zjob_registry_worker_t *next = worker->next;
        if (slots_only && worker->holding >= worker->slots) {
            *skipped = true;  //  Only prefetch credit left: the second round's
            misses++;
            worker = next;
            continue;
        }
        zjob_job_t *job = zjob_manager_take_before (manager,
                                                    (const char *const *) worker->workflows,
                                                    worker->workflow_count, worker->worker_id,
                                                    max_seq);
        if (!job) {
            if (zjob_manager_queued (manager) == 0
                || (self->config.max_concurrent
                    && zjob_manager_active (manager) >= self->config.max_concurrent)) {
                more = false;
                break;  //  Nothing for anyone
            }
            misses++;
            worker = next;
            continue;
        }
        misses = 0;
        (*taken)++;
        s_give (self, worker, job);
        if (worker->credit == 0 || worker->dead) {
            zjob_registry_ring_remove (registry, worker);
            if (!zjob_registry_ring (registry)) {
                worker = NULL;
                break;
            }
            if (next == worker || !next->in_ring)
                next = zjob_registry_ring (registry);
        }
        worker = next;
    }
    //  The next round, or walk, starts where this one ended
    zjob_registry_ring_set (registry, worker);
    return more && worker;
}

//  Free slots before prefetch: a first round serves only workers with a
//  free slot, so that a job goes to a worker that starts it at once rather
//  than into another's buffer; a second round, only if the first passed a
//  worker over for that, spends the prefetch credit left (best jobs first
//  still: each take is the best queued job). With no prefetching worker
//  the first round is the whole walk, as before prefetch.
size_t
zjob_dispatch_walk (zjob_dispatch_t *self, uint64_t max_seq, bool *again)
{
    assert (self);
    self->again = false;
    size_t taken = 0;
    bool skipped = false;
    if (s_walk_round (self, max_seq, true, &taken, &skipped) && skipped)
        s_walk_round (self, max_seq, false, &taken, &skipped);
    //  The batching workers' JOBs: one each, all this walk gave them
    for (size_t index = 0; index < self->batched_count; index++) {
        zjob_registry_worker_t *batched = self->batched [index];
        batched->pending_listed = false;
        if (batched->pending_count)
            s_batch_send (self, batched);
    }
    self->batched_count = 0;
    if (again)
        *again = self->again;
    return taken;
}
