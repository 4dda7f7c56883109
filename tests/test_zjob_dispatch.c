/*  =========================================================================
    test_zjob_dispatch - the dispatch walk, without sockets

    A manager over the memory store, a registry with made-up routing ids,
    and a send function that decodes each JOB it is given and records it
    (or fails, as a gone or full worker's send would).
    ========================================================================= */

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include "zjob_dispatch.h"
#include "zjob_job_impl.h"

typedef struct {
    char worker [8][16];  //  Routing id of each job sent, in order
    char job [8][ZJOB_ID_LEN + 1];
    size_t count;
    size_t messages;  //  JOB messages sent
    int fail_errno;   //  Non-zero: every send fails with it
} s_sent_t;

static int
s_send (const uint8_t *rid, size_t rid_size, const uint8_t *data, size_t size, void *arg)
{
    s_sent_t *sent = (s_sent_t *) arg;
    if (sent->fail_errno) {
        errno = sent->fail_errno;
        return -1;
    }
    zjob_error_t err;
    zjob_msg_t *msg = zjob_msg_decode (data, size, ZJOB_ROUTE_BROKER_WORKER, &err);
    cr_assert_not_null (msg, "%s", err.text);
    cr_assert_eq (zjob_msg_command (msg), ZJOB_CMD_JOB);
    zjob_job_t **jobs = NULL;
    size_t count = 0;
    if (zjob_msg_has (msg, "jobs"))
        cr_assert_eq (zjob_msg_jobs (msg, "jobs", &jobs, &count, &err), 0, "%s", err.text);
    else {
        jobs = (zjob_job_t **) calloc (1, sizeof (zjob_job_t *));
        jobs [0] = zjob_msg_job (msg, "job", &err);
        cr_assert_not_null (jobs [0], "%s", err.text);
        count = 1;
    }
    for (size_t index = 0; index < count && sent->count < 8; index++, sent->count++) {
        snprintf (sent->worker [sent->count], 16, "%.*s", (int) rid_size, (const char *) rid);
        snprintf (sent->job [sent->count], ZJOB_ID_LEN + 1, "%s", jobs [index]->id);
        zjob_job_destroy (&jobs [index]);
    }
    free (jobs);
    sent->messages++;
    zjob_msg_destroy (&msg);
    return 0;
}

typedef struct {
    zjob_manager_t *manager;
    zjob_registry_t *registry;
    zjob_msg_builder_t *builder;
    zjob_dispatch_t *dispatch;
    s_sent_t sent;
} s_world_t;

static void
s_world_new (s_world_t *world, size_t max_concurrent)
{
    memset (world, 0, sizeof *world);
    zjob_error_t err;
    zjob_manager_config_t config = { .max_concurrent = max_concurrent };
    world->manager = zjob_manager_open ("memory:", &config, &err);
    cr_assert_not_null (world->manager, "%s", err.text);
    world->registry = zjob_registry_new (1000, 3);
    world->builder = zjob_msg_builder_new ();
    zjob_dispatch_config_t dispatch_config = {
        .manager = world->manager, .registry = world->registry, .builder = world->builder, .send = s_send, .send_arg = &world->sent, .max_concurrent = max_concurrent
    };
    world->dispatch = zjob_dispatch_new (&dispatch_config);
    cr_assert_not_null (world->dispatch);
}

static void
s_world_destroy (s_world_t *world)
{
    zjob_dispatch_destroy (&world->dispatch);
    zjob_msg_builder_destroy (&world->builder);
    zjob_registry_destroy (&world->registry);
    zjob_manager_destroy (&world->manager);
}

//  A worker of workflow "wf" with slots and batch, in the credit ring
static zjob_registry_worker_t *
s_worker (s_world_t *world, const char *rid, size_t slots, size_t batch)
{
    const char *workflows [] = { "wf" };
    zjob_registry_worker_t *worker = zjob_registry_join (
        world->registry, (const uint8_t *) rid, strlen (rid), rid, NULL, workflows, 1, slots,
        batch, -1, 1000, NULL, 0);
    cr_assert_not_null (worker);
    zjob_registry_credit (world->registry, worker, slots);
    zjob_registry_admit (world->registry);
    return worker;
}

static void
s_submit (s_world_t *world, size_t count, zjob_priority_t priority, char ids [][ZJOB_ID_LEN + 1])
{
    for (size_t index = 0; index < count; index++) {
        zjob_spec_t spec = { .workflow_id = "wf", .priority = priority };
        zjob_error_t err;
        zjob_job_t *job = zjob_manager_create (world->manager, &spec, true, &err);
        cr_assert_not_null (job, "%s", err.text);
        if (ids)
            snprintf (ids [index], ZJOB_ID_LEN + 1, "%s", job->id);
        zjob_job_destroy (&job);
    }
}

//  One job per visit, in turn, best job first; credit spent, jobs held
Test (dispatch, round_robin_best_first)
{
    s_world_t world;
    s_world_new (&world, 0);
    zjob_registry_worker_t *a = s_worker (&world, "a", 2, 1);
    zjob_registry_worker_t *b = s_worker (&world, "b", 2, 1);
    char low [3][ZJOB_ID_LEN + 1], high [1][ZJOB_ID_LEN + 1];
    s_submit (&world, 3, ZJOB_PRIORITY_LOW, low);
    s_submit (&world, 1, ZJOB_PRIORITY_HIGH, high);
    bool again = true;
    cr_assert_eq (zjob_dispatch_walk (world.dispatch, UINT64_MAX, &again), 4);
    cr_assert_not (again);
    cr_assert_eq (world.sent.count, 4);
    cr_assert_str_eq (world.sent.job [0], high [0], "the best job goes first");
    cr_assert_str_neq (world.sent.worker [0], world.sent.worker [1], "turns alternate");
    cr_assert_str_eq (world.sent.job [1], low [0]);
    cr_assert_eq (a->credit + b->credit, 0);
    cr_assert_eq (zjob_registry_ring (world.registry), NULL, "no credit: out of the ring");
    cr_assert_not_null (zjob_registry_holder (world.registry, high [0]));
    cr_assert_eq (zjob_manager_active (world.manager), 4);
    s_world_destroy (&world);
}

//  A batching worker gets one JOB for everything a walk gave it
Test (dispatch, batching_worker_gets_one_job_message)
{
    s_world_t world;
    s_world_new (&world, 0);
    s_worker (&world, "a", 8, 8);
    char ids [5][ZJOB_ID_LEN + 1];
    s_submit (&world, 5, ZJOB_PRIORITY_MEDIUM, ids);
    cr_assert_eq (zjob_dispatch_walk (world.dispatch, UINT64_MAX, NULL), 5);
    cr_assert_eq (world.sent.messages, 1);
    cr_assert_eq (world.sent.count, 5);
    for (size_t index = 0; index < 5; index++)
        cr_assert_str_eq (world.sent.job [index], ids [index], "in queue order");
    s_world_destroy (&world);
}

//  max_concurrent stops the walk; a job enqueued after max_seq waits
Test (dispatch, limits_and_durable_prefix)
{
    s_world_t world;
    s_world_new (&world, 1);
    s_worker (&world, "a", 4, 1);
    s_submit (&world, 2, ZJOB_PRIORITY_MEDIUM, NULL);
    cr_assert_eq (zjob_dispatch_walk (world.dispatch, UINT64_MAX, NULL), 1, "the cap is 1");
    s_world_destroy (&world);

    s_world_new (&world, 0);
    s_worker (&world, "a", 4, 1);
    uint64_t before = zjob_manager_seq (world.manager);
    s_submit (&world, 1, ZJOB_PRIORITY_MEDIUM, NULL);
    cr_assert_eq (zjob_dispatch_walk (world.dispatch, before, NULL), 0, "not durable yet");
    cr_assert_eq (zjob_dispatch_walk (world.dispatch, UINT64_MAX, NULL), 1);
    s_world_destroy (&world);
}

//  A send that fails puts the job back at the front; a gone worker is
//  dead, a full one loses its credit; either way another walk is asked for
Test (dispatch, failed_send_requeues)
{
    int errors [] = { EHOSTUNREACH, EAGAIN };
    for (int index = 0; index < 2; index++) {
        s_world_t world;
        s_world_new (&world, 0);
        zjob_registry_worker_t *a = s_worker (&world, "a", 2, index + 1);
        char ids [2][ZJOB_ID_LEN + 1];
        s_submit (&world, 2, ZJOB_PRIORITY_MEDIUM, ids);
        world.sent.fail_errno = errors [index];
        bool again = false;
        zjob_dispatch_walk (world.dispatch, UINT64_MAX, &again);
        cr_assert (again);
        cr_assert_eq (zjob_manager_queued (world.manager), 2, "both back in the queue");
        cr_assert_eq (zjob_manager_active (world.manager), 0);
        cr_assert_null (zjob_registry_holder (world.registry, ids [0]));
        if (errors [index] == EHOSTUNREACH)
            cr_assert (a->dead);
        else
            cr_assert_eq (a->credit, 0);
        //  Back in order: the first is taken first
        world.sent.fail_errno = 0;
        zjob_registry_worker_t *b = s_worker (&world, "b", 2, 1);
        cr_assert_eq (zjob_dispatch_walk (world.dispatch, UINT64_MAX, NULL), 2);
        cr_assert_str_eq (world.sent.job [0], ids [0]);
        cr_assert_str_eq (world.sent.worker [0], "b");
        cr_assert_eq (b->credit, 0);
        s_world_destroy (&world);
    }
}

//  Prefetch: free slots first. A worker with only prefetch credit left
//  gets a job only once no worker with a free slot can take one, and
//  then the best job still goes first
Test (dispatch, free_slots_before_prefetch)
{
    s_world_t world;
    s_world_new (&world, 0);
    zjob_registry_worker_t *a = s_worker (&world, "a", 1, 1);
    zjob_registry_prefetch (world.registry, a, 4);
    zjob_registry_credit (world.registry, a, 4);
    cr_assert_eq (a->credit, 5);
    char ids [1][ZJOB_ID_LEN + 1];
    s_submit (&world, 1, ZJOB_PRIORITY_MEDIUM, ids);
    cr_assert_eq (zjob_dispatch_walk (world.dispatch, UINT64_MAX, NULL), 1);
    cr_assert_str_eq (world.sent.worker [0], "a", "a's slot was free");
    //  a's slot is taken; b comes with a free one, behind a in the ring
    zjob_registry_worker_t *b = s_worker (&world, "b", 1, 1);
    char low [2][ZJOB_ID_LEN + 1], high [1][ZJOB_ID_LEN + 1];
    s_submit (&world, 2, ZJOB_PRIORITY_LOW, low);
    s_submit (&world, 1, ZJOB_PRIORITY_HIGH, high);
    cr_assert_eq (zjob_dispatch_walk (world.dispatch, UINT64_MAX, NULL), 3);
    cr_assert_str_eq (world.sent.worker [1], "b", "the free slot first, though a came first");
    cr_assert_str_eq (world.sent.job [1], high [0], "with the best job");
    cr_assert_str_eq (world.sent.worker [2], "a", "then a's prefetch");
    cr_assert_str_eq (world.sent.worker [3], "a");
    cr_assert_str_eq (world.sent.job [2], low [0]);
    cr_assert_eq (a->holding, 3);
    cr_assert_eq (a->credit, 2, "1 slot + 4 prefetch - 3 held");
    cr_assert_eq (b->credit, 0);
    s_world_destroy (&world);
}
