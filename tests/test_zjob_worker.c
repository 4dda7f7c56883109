/*  =========================================================================
    test_zjob_worker - the worker library against a real broker

    A broker actor runs in process on 127.0.0.1 with ephemeral ports and
    100 ms heartbeats; workers and a client talk to it through libzjob. The
    tests take a job through its whole life with the engine and with the
    handler pool, watch progress from a client, pause, resume and cancel
    running jobs, kill a worker process mid-job, restart the broker under a
    running handler, check priorities across workers, and stop a worker
    that holds jobs. Every wait polls a condition with a deadline.
    ========================================================================= */

#include <criterion/criterion.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zjob_client.h"
#include "zjob_worker.h"
#include "zjob_broker.h"
#include "helper_zjob_test.h"

#define DEADLINE_MS 5000                //  msecs any expected thing may take

//  --------------------------------------------------------------------------
//  Helpers

typedef struct {
    zactor_t *actor;
    char *clients;
    char *workers;
    char *events;
} s_broker_t;

//  Start a broker on store; on the endpoints of like (a stopped broker's)
//  if given, else on ephemeral ports
static void
s_broker_start (s_broker_t *broker, const char *store, const s_broker_t *like)
{
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    zjob_error_t err;
    const char *options [][2] = {
        { "clients", like? like->clients: "tcp://127.0.0.1:*" },
        { "workers", like? like->workers: "tcp://127.0.0.1:*" },
        { "events", like? like->events: "tcp://127.0.0.1:*" },
        { "store", store }, { "heartbeat", "100ms" }, { "log-level", "error" }
    };
    for (size_t i = 0; i < sizeof (options) / sizeof (options [0]); i++)
        cr_assert_eq (zjob_broker_config_set (&config, options [i][0], options [i][1], &err), 0,
                      "%s: %s", options [i][0], err.text);
    //  The ports of a broker just stopped may take a moment to be free
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    do
        broker->actor = zjob_broker_new (&config, &err);
    while (!broker->actor && like && zjob_mono_ms () < deadline && (zclock_sleep (20), true));
    cr_assert_not_null (broker->actor, "broker: %s", err.text);
    cr_assert_eq (zjob_broker_endpoints (broker->actor, &broker->clients, &broker->workers,
                                         &broker->events), 0);
}

static void
s_broker_stop (s_broker_t *broker)
{
    zactor_destroy (&broker->actor);
    zstr_free (&broker->clients);
    zstr_free (&broker->workers);
    zstr_free (&broker->events);
}

static zjob_client_t *
s_client (s_broker_t *broker)
{
    zjob_error_t err;
    zjob_client_t *client = zjob_client_new (broker->clients, 2000, &err);
    cr_assert_not_null (client, "client: %s", err.text);
    return client;
}

static zjob_worker_t *
s_worker (s_broker_t *broker, const char *name, const char *workflow, size_t slots)
{
    zjob_error_t err;
    const char *workflows [] = { workflow };
    zjob_worker_t *worker = zjob_worker_new (broker->workers, name, workflows, 1, slots, &err);
    cr_assert_not_null (worker, "worker: %s", err.text);
    return worker;
}

//  A msgpack map {key: value} written into buffer (MAP_MAX bytes)
#define MAP_MAX 64
static const uint8_t *
s_map (const char *key, int64_t value, uint8_t *buffer, size_t *size_p)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, key, strlen (key));
    msgpack_pack_int64 (&pk, value);
    if (sbuf.size <= MAP_MAX)
        memcpy (buffer, sbuf.data, sbuf.size);
    *size_p = sbuf.size <= MAP_MAX? sbuf.size: 0;
    msgpack_sbuffer_destroy (&sbuf);
    return buffer;
}

//  The integer at key in the msgpack map data, or fallback
static int64_t
s_map_int (const uint8_t *data, size_t size, const char *key, int64_t fallback)
{
    int64_t value = fallback;
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    if (data && msgpack_unpack_next (&result, (const char *) data, size, NULL)
                == MSGPACK_UNPACK_SUCCESS
    &&  result.data.type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < result.data.via.map.size; i++) {
            msgpack_object_kv *kv = &result.data.via.map.ptr [i];
            if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen (key)
            &&  memcmp (kv->key.via.str.ptr, key, strlen (key)) == 0
            &&  (kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER
              || kv->val.type == MSGPACK_OBJECT_NEGATIVE_INTEGER))
                value = kv->val.via.i64;
        }
    msgpack_unpacked_destroy (&result);
    return value;
}

//  Submit one job of workflow with {key: value} inputs; returns its id
static void
s_submit (zjob_client_t *client, const char *workflow, const char *key, int64_t value,
          zjob_priority_t priority, char *id)
{
    uint8_t buffer [MAP_MAX];
    size_t size;
    const uint8_t *inputs = s_map (key, value, buffer, &size);
    zjob_spec_t spec = { .workflow_id = workflow, .inputs = inputs, .inputs_size = size,
                         .priority = priority };
    zjob_error_t err;
    cr_assert_eq (zjob_client_submit (client, &spec, true, id, &err), 0, "%s", err.text);
}

//  Run the engine until it has an event of kind (other events are a
//  failure), at most DEADLINE_MS. Returns the task.
static zjob_task_t *
s_expect (zjob_worker_t *worker, int kind)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (zjob_mono_ms () < deadline) {
        zjob_task_t *task;
        int got = zjob_worker_recv (worker, 20, &task, NULL);
        if (got == ZJOB_WORKER_NOTHING)
            continue;
        cr_assert_eq (got, kind, "expected event %d, got %d", kind, got);
        return task;
    }
    cr_assert_fail ("no event %d within %d ms", kind, DEADLINE_MS);
    return NULL;
}

//  Poll the job's status until it is status, keeping the engine (if any)
//  alive meanwhile; no engine event may come. At most DEADLINE_MS.
static void
s_expect_status (zjob_client_t *client, const char *id, int status, zjob_worker_t *worker)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    int now = -1;
    zjob_error_t err;
    while (zjob_mono_ms () < deadline) {
        now = zjob_client_status (client, id, &err);
        if (now == status)
            return;
        if (worker) {
            zjob_task_t *task;
            cr_assert_eq (zjob_worker_recv (worker, 10, &task, NULL), ZJOB_WORKER_NOTHING);
        }
        else
            zclock_sleep (10);
    }
    cr_assert_fail ("job %s is %s, not %s", id, now < 0? err.text: zjob_status_name (now),
                    zjob_status_name (status));
}

//  Keep the engine alive for ms, expecting no event
static void
s_pump (zjob_worker_t *worker, int ms)
{
    int64_t until = zjob_mono_ms () + ms;
    while (zjob_mono_ms () < until) {
        zjob_task_t *task;
        cr_assert_eq (zjob_worker_recv (worker, 10, &task, NULL), ZJOB_WORKER_NOTHING);
    }
}

//  The RESULTS of a job: status, outputs[key] or error kind
static void
s_expect_results (zjob_client_t *client, const char *id, const char *status,
                  const char *key, int64_t value, const char *error_kind)
{
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_results (client, id, &err);
    cr_assert_not_null (reply, "results of %s: %s", id, err.text);
    zjob_msg_t *msg = zjob_reply_msg (reply);
    cr_assert_str_eq (zjob_msg_str (msg, "status"), status);
    if (key) {
        size_t size;
        const uint8_t *outputs = zjob_msg_bin (msg, "outputs", &size);
        cr_assert_eq (s_map_int (outputs, size, key, -999), value);
    }
    if (error_kind)
        cr_assert_str_eq (zjob_msg_str (msg, "error_kind"), error_kind);
    zjob_reply_destroy (&reply);
}

//  --------------------------------------------------------------------------
//  The engine

Test (worker, new_checks_its_arguments)
{
    zjob_error_t err;
    const char *workflows [] = { "ok", "also-ok" };
    const char *bad_workflows [] = { "ok", "not ok" };
    cr_assert_null (zjob_worker_new (NULL, "w", workflows, 1, 1, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_null (zjob_worker_new ("tcp://127.0.0.1:1", "has space", workflows, 1, 1, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_null (zjob_worker_new ("tcp://127.0.0.1:1", "w", workflows, 0, 1, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_null (zjob_worker_new ("tcp://127.0.0.1:1", "w", bad_workflows, 2, 1, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "workflow 1"), "%s", err.text);
    cr_assert_null (zjob_worker_new ("tcp://127.0.0.1:1", "w", workflows, 1, 0, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_null (zjob_worker_new ("tcp://127.0.0.1:1", "w", workflows, 1,
                                     ZJOB_SLOTS_MAX + 1, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_null (zjob_worker_new ("nowhere", "w", workflows, 1, 1, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);

    //  No broker yet is not an error: the worker waits for one
    zsock_t *silent = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (silent, "tcp://127.0.0.1:*");
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
    zjob_worker_t *worker = zjob_worker_new (endpoint, "patient", workflows, 2, 3, &err);
    cr_assert_not_null (worker, "%s", err.text);
    cr_assert_str_eq (zjob_worker_name (worker), "patient");
    cr_assert_eq (strncmp (zjob_worker_id (worker), "patient.", 8), 0);
    cr_assert_not_null (zjob_worker_sock (worker));
    zjob_task_t *task;
    cr_assert_eq (zjob_worker_recv (worker, 50, &task, &err), ZJOB_WORKER_NOTHING);
    cr_assert_null (task);
    cr_assert_not (zjob_worker_registered (worker));
    cr_assert_eq (zjob_worker_held (worker), 0);
    cr_assert_geq (zjob_worker_timeout (worker), 0);
    //  It sent its READY to whoever listens there
    zmsg_t *ready = zmsg_recv (silent);
    cr_assert_not_null (ready);
    zframe_t *frame = zmsg_last (ready);
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                       ZJOB_ROUTE_WORKER_BROKER, &err);
    cr_assert_not_null (msg, "%s", err.text);
    cr_assert_eq (zjob_msg_command (msg), ZJOB_CMD_READY);
    cr_assert_str_eq (zjob_msg_str (msg, "worker_id"), zjob_worker_id (worker));
    cr_assert_eq (zjob_msg_uint (msg, "slots", 0), 3);
    zjob_msg_destroy (&msg);
    zmsg_destroy (&ready);
    zjob_worker_destroy (&worker);
    zjob_worker_destroy (&worker);
    zsock_destroy (&silent);
}

Test (worker, engine_runs_a_job_through_its_life)
{
    s_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    zjob_worker_t *worker = s_worker (&broker, "engine", "eng", 2);
    zjob_error_t err;

    //  A job with everything a handler reads
    uint8_t buffer [MAP_MAX];
    size_t size;
    const uint8_t *inputs = s_map ("x", 7, buffer, &size);
    zjob_spec_t spec = { .workflow_id = "eng", .inputs = inputs, .inputs_size = size,
                         .priority = ZJOB_PRIORITY_HIGH, .user_id = "ada" };
    char id [ZJOB_ID_LEN + 1];
    cr_assert_eq (zjob_client_submit (client, &spec, true, id, &err), 0, "%s", err.text);
    zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert (zjob_worker_registered (worker));
    cr_assert_str_eq (zjob_task_id (task), id);
    cr_assert_str_eq (zjob_task_workflow (task), "eng");
    size_t got_size;
    const uint8_t *got = zjob_task_inputs (task, &got_size);
    cr_assert_eq (got_size, size);
    cr_assert_eq (memcmp (got, inputs, size), 0);
    cr_assert_eq (zjob_task_attempt (task), 1);
    cr_assert_eq (zjob_task_priority (task), ZJOB_PRIORITY_HIGH);
    cr_assert_str_eq (zjob_task_job (task)->user_id, "ada");
    cr_assert_not (zjob_task_paused (task));
    cr_assert_not (zjob_task_cancelled (task));
    cr_assert_eq (zjob_worker_held (worker), 1);

    //  Running, held by this worker
    s_expect_status (client, id, ZJOB_RUNNING, worker);
    zjob_job_t *job = zjob_client_get (client, id, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_str_eq (job->worker_id, zjob_worker_id (worker));
    zjob_job_destroy (&job);

    //  Progress reaches the client
    cr_assert_eq (zjob_worker_progress (worker, task, 0.5, "half way"), 0);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    bool seen = false;
    while (!seen && zjob_mono_ms () < deadline) {
        uint64_t request = zjob_client_send_id (client, ZJOB_CMD_STATUS, id, &err);
        cr_assert_neq (request, 0);
        zjob_reply_t *reply = zjob_client_recv (client, 1000, &err);
        cr_assert_not_null (reply, "%s", err.text);
        zjob_msg_t *msg = zjob_reply_msg (reply);
        const char *message = zjob_msg_str (msg, "progress_message");
        seen = zjob_msg_float (msg, "progress", 0) == 0.5 && message
            && streq (message, "half way");
        zjob_reply_destroy (&reply);
        if (!seen)
            s_pump (worker, 10);
    }
    cr_assert (seen, "progress never showed in STATUS");

    //  Complete: the client sees the outputs; the result is acknowledged
    const uint8_t *outputs = s_map ("y", 14, buffer, &size);
    cr_assert_eq (zjob_worker_complete (worker, &task, outputs, size, &err), 0, "%s", err.text);
    cr_assert_null (task, "the task is freed");
    cr_assert_eq (zjob_worker_held (worker), 0);
    cr_assert_eq (zjob_worker_flush (worker, DEADLINE_MS), 0);
    cr_assert_eq (zjob_client_wait (client, id, DEADLINE_MS, &err), ZJOB_COMPLETED, "%s", err.text);
    s_expect_results (client, id, "completed", "y", 14, NULL);

    //  Fail, with a kind and a message
    s_submit (client, "eng", "x", 1, ZJOB_PRIORITY_LOW, id);
    task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_eq (zjob_worker_fail (worker, &task, "boom", "it broke"), 0);
    cr_assert_eq (zjob_client_wait (client, id, DEADLINE_MS, &err), ZJOB_FAILED, "%s", err.text);
    s_expect_results (client, id, "failed", NULL, 0, "boom");

    //  Outputs that are not a msgpack map fail the job, saying why
    s_submit (client, "eng", "x", 2, ZJOB_PRIORITY_LOW, id);
    task = s_expect (worker, ZJOB_WORKER_TASK);
    const uint8_t not_a_map [] = { 0x93, 1, 2, 3 };
    cr_assert_eq (zjob_worker_complete (worker, &task, not_a_map, sizeof (not_a_map), &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (zjob_client_wait (client, id, DEADLINE_MS, &err), ZJOB_FAILED, "%s", err.text);
    s_expect_results (client, id, "failed", NULL, 0, "bad-outputs");

    //  The broker lists the worker, and forgets it when it closes
    zjob_reply_t *reply = zjob_client_workers (client, &err);
    cr_assert_not_null (reply, "%s", err.text);
    const msgpack_object *workers = zjob_msg_field (zjob_reply_msg (reply), "workers");
    cr_assert (workers && workers->type == MSGPACK_OBJECT_ARRAY && workers->via.array.size == 1);
    zjob_reply_destroy (&reply);
    zjob_worker_destroy (&worker);
    deadline = zjob_mono_ms () + DEADLINE_MS;
    size_t count = 1;
    while (count && zjob_mono_ms () < deadline) {
        reply = zjob_client_workers (client, &err);
        cr_assert_not_null (reply, "%s", err.text);
        count = zjob_msg_field (zjob_reply_msg (reply), "workers")->via.array.size;
        zjob_reply_destroy (&reply);
        if (count)
            zclock_sleep (10);
    }
    cr_assert_eq (count, 0, "DISCONNECT unregisters the worker");

    zjob_client_destroy (&client);
    s_broker_stop (&broker);
}

Test (worker, engine_pause_resume_cancel)
{
    s_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    zjob_worker_t *worker = s_worker (&broker, "ctl", "ctl", 1);
    zjob_error_t err;
    char id [ZJOB_ID_LEN + 1];

    //  Pause and resume a running job: the program hears both
    s_submit (client, "ctl", "x", 1, ZJOB_PRIORITY_LOW, id);
    zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_eq (zjob_client_pause (client, id, &err), 0, "%s", err.text);
    cr_assert_eq (s_expect (worker, ZJOB_WORKER_PAUSE), task);
    cr_assert (zjob_task_paused (task));
    cr_assert_eq (zjob_client_status (client, id, &err), ZJOB_PAUSED);
    cr_assert_eq (zjob_client_resume (client, id, &err), 0, "%s", err.text);
    cr_assert_eq (s_expect (worker, ZJOB_WORKER_RESUME), task);
    cr_assert_not (zjob_task_paused (task));
    cr_assert_eq (zjob_client_status (client, id, &err), ZJOB_RUNNING);

    //  Finished while paused: the result waits for RESUME
    cr_assert_eq (zjob_client_pause (client, id, &err), 0, "%s", err.text);
    cr_assert_eq (s_expect (worker, ZJOB_WORKER_PAUSE), task);
    uint8_t buffer [MAP_MAX];
    size_t size;
    const uint8_t *outputs = s_map ("y", 1, buffer, &size);
    cr_assert_eq (zjob_worker_complete (worker, &task, outputs, size, &err), 0, "%s", err.text);
    s_pump (worker, 300);
    cr_assert_eq (zjob_client_status (client, id, &err), ZJOB_PAUSED, "held back while paused");
    cr_assert_eq (zjob_client_resume (client, id, &err), 0, "%s", err.text);
    s_expect_status (client, id, ZJOB_COMPLETED, worker);
    s_expect_results (client, id, "completed", "y", 1, NULL);

    //  Cancel a running job: the program hears it, its result is not sent
    s_submit (client, "ctl", "x", 2, ZJOB_PRIORITY_LOW, id);
    task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_eq (zjob_client_cancel (client, id, &err), 0, "%s", err.text);
    cr_assert_eq (s_expect (worker, ZJOB_WORKER_CANCEL), task);
    cr_assert (zjob_task_cancelled (task));
    cr_assert_eq (zjob_worker_complete (worker, &task, outputs, size, &err), 0);
    cr_assert_eq (zjob_worker_flush (worker, 0), 0, "nothing kept to send");
    cr_assert_eq (zjob_client_status (client, id, &err), ZJOB_CANCELLED);

    //  The cancelled job's slot is free again: the next job comes
    s_submit (client, "ctl", "x", 3, ZJOB_PRIORITY_LOW, id);
    task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (task), id);
    cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0);
    cr_assert_eq (zjob_client_wait (client, id, DEADLINE_MS, &err), ZJOB_COMPLETED, "%s", err.text);

    zjob_worker_destroy (&worker);
    zjob_client_destroy (&client);
    s_broker_stop (&broker);
}

//  --------------------------------------------------------------------------
//  The handler pool

//  What handlers saw, shared with the test
typedef struct {
    atomic_int started;                 //  Handlers started
    atomic_int saw_pause;               //  A handler saw its task paused
    atomic_int saw_resume;              //  ... and then go on
    atomic_int saw_stop;                //  A checkpoint said -1
    atomic_int release;                 //  The test lets blocked handlers finish
} s_seen_t;

//  Inputs {"x": n}. n >= 0: progress, then outputs {"y": 2n}. n < 0:
//  fail. n == 1000: block (noting pause and resume) until released or
//  told to stop. n == 1001: the same, but return outputs even when told
//  to stop. n == 1002: return NULL without saying why.
static uint8_t *
s_handler (zjob_task_t *task, size_t *size_p, void *arg)
{
    s_seen_t *seen = (s_seen_t *) arg;
    seen->started++;
    size_t size;
    const uint8_t *inputs = zjob_task_inputs (task, &size);
    int64_t x = s_map_int (inputs, size, "x", 0);
    if (x < 0) {
        zjob_task_fail (task, "negative", "x is below zero");
        return NULL;
    }
    if (x == 1002)
        return NULL;
    if (x >= 1000) {
        bool paused = false;
        while (!seen->release) {
            if (zjob_task_paused (task) && !paused) {
                paused = true;
                seen->saw_pause++;
            }
            if (zjob_task_checkpoint (task) != 0) {
                seen->saw_stop++;
                if (x == 1000)
                    return NULL;
                break;
            }
            if (paused) {
                paused = false;
                seen->saw_resume++;
            }
            zclock_sleep (2);           //  The work
        }
    }
    else
        zjob_task_progress (task, 0.5, "doubling");
    uint8_t buffer [MAP_MAX];
    const uint8_t *outputs = s_map ("y", x * 2, buffer, size_p);
    uint8_t *copy = (uint8_t *) malloc (*size_p);
    memcpy (copy, outputs, *size_p);
    return copy;
}

typedef struct {
    zjob_worker_t *worker;
    s_seen_t *seen;
    int rc;
} s_runner_t;

static void *
s_run_thread (void *arg)
{
    s_runner_t *runner = (s_runner_t *) arg;
    runner->rc = zjob_worker_run (runner->worker, s_handler, runner->seen, NULL);
    return NULL;
}

static void
s_wait_for (atomic_int *counter, int value)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (*counter < value && zjob_mono_ms () < deadline)
        zclock_sleep (5);
    cr_assert_geq (*counter, value, "counter at %d, not %d", (int) *counter, value);
}

Test (worker, run_calls_the_handler)
{
    s_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    s_seen_t seen = { 0 };
    s_runner_t runner = { s_worker (&broker, "pool", "pool", 3), &seen, -1 };
    pthread_t thread;
    pthread_create (&thread, NULL, s_run_thread, &runner);
    zjob_error_t err;

    char ids [8][ZJOB_ID_LEN + 1];
    for (int i = 0; i < 6; i++)
        s_submit (client, "pool", "x", i, ZJOB_PRIORITY_LOW, ids [i]);
    s_submit (client, "pool", "x", -1, ZJOB_PRIORITY_LOW, ids [6]);
    s_submit (client, "pool", "x", 1002, ZJOB_PRIORITY_LOW, ids [7]);
    for (int i = 0; i < 6; i++) {
        cr_assert_eq (zjob_client_wait (client, ids [i], DEADLINE_MS, &err), ZJOB_COMPLETED,
                      "job %d: %s", i, err.text);
        s_expect_results (client, ids [i], "completed", "y", i * 2, NULL);
        zjob_job_t *job = zjob_client_get (client, ids [i], &err);
        cr_assert_not_null (job);
        cr_assert_not_null (job->progress_message, "the handler's progress was recorded");
        cr_assert_str_eq (job->progress_message, "doubling");
        zjob_job_destroy (&job);
    }
    cr_assert_eq (zjob_client_wait (client, ids [6], DEADLINE_MS, &err), ZJOB_FAILED);
    s_expect_results (client, ids [6], "failed", NULL, 0, "negative");
    cr_assert_eq (zjob_client_wait (client, ids [7], DEADLINE_MS, &err), ZJOB_FAILED);
    s_expect_results (client, ids [7], "failed", NULL, 0, "handler");
    cr_assert_eq (seen.started, 8);

    zjob_worker_stop (runner.worker);
    pthread_join (thread, NULL);
    cr_assert_eq (runner.rc, 0);
    zjob_worker_destroy (&runner.worker);
    zjob_client_destroy (&client);
    s_broker_stop (&broker);
}

Test (worker, run_pause_resume_cancel)
{
    s_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    s_seen_t seen = { 0 };
    s_runner_t runner = { s_worker (&broker, "ctlpool", "ctlpool", 2), &seen, -1 };
    pthread_t thread;
    pthread_create (&thread, NULL, s_run_thread, &runner);
    zjob_error_t err;

    //  A running handler is paused and resumed, and sees both
    char id [ZJOB_ID_LEN + 1];
    s_submit (client, "ctlpool", "x", 1001, ZJOB_PRIORITY_LOW, id);
    s_wait_for (&seen.started, 1);
    s_expect_status (client, id, ZJOB_RUNNING, NULL);
    cr_assert_eq (zjob_client_pause (client, id, &err), 0, "%s", err.text);
    s_wait_for (&seen.saw_pause, 1);
    cr_assert_eq (zjob_client_status (client, id, &err), ZJOB_PAUSED);
    cr_assert_eq (seen.saw_resume, 0, "blocked while paused");
    cr_assert_eq (zjob_client_resume (client, id, &err), 0, "%s", err.text);
    s_wait_for (&seen.saw_resume, 1);
    cr_assert_eq (zjob_client_status (client, id, &err), ZJOB_RUNNING);

    //  Another is cancelled: its checkpoint says -1 and the job stays
    //  cancelled
    char doomed [ZJOB_ID_LEN + 1];
    s_submit (client, "ctlpool", "x", 1000, ZJOB_PRIORITY_LOW, doomed);
    s_wait_for (&seen.started, 2);
    s_expect_status (client, doomed, ZJOB_RUNNING, NULL);
    cr_assert_eq (zjob_client_cancel (client, doomed, &err), 0, "%s", err.text);
    s_wait_for (&seen.saw_stop, 1);
    cr_assert_eq (zjob_client_status (client, doomed, &err), ZJOB_CANCELLED);

    //  The first finishes when released; a new job takes the freed slot
    seen.release = 1;
    cr_assert_eq (zjob_client_wait (client, id, DEADLINE_MS, &err), ZJOB_COMPLETED, "%s", err.text);
    s_expect_results (client, id, "completed", "y", 2002, NULL);
    s_submit (client, "ctlpool", "x", 4, ZJOB_PRIORITY_LOW, id);
    cr_assert_eq (zjob_client_wait (client, id, DEADLINE_MS, &err), ZJOB_COMPLETED, "%s", err.text);

    zjob_worker_stop (runner.worker);
    pthread_join (thread, NULL);
    cr_assert_eq (runner.rc, 0);
    zjob_worker_destroy (&runner.worker);
    zjob_client_destroy (&client);
    s_broker_stop (&broker);
}

Test (worker, stop_finishes_or_hands_back)
{
    s_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    s_seen_t seen = { 0 };
    s_runner_t runner = { s_worker (&broker, "stopper", "stop", 2), &seen, -1 };
    pthread_t thread;
    pthread_create (&thread, NULL, s_run_thread, &runner);
    zjob_error_t err;

    //  Two handlers block; a third job waits in the broker (no credit)
    char back [ZJOB_ID_LEN + 1], finished [ZJOB_ID_LEN + 1], waiting [ZJOB_ID_LEN + 1];
    s_submit (client, "stop", "x", 1000, ZJOB_PRIORITY_LOW, back);
    s_submit (client, "stop", "x", 1001, ZJOB_PRIORITY_LOW, finished);
    s_wait_for (&seen.started, 2);
    s_submit (client, "stop", "x", 5, ZJOB_PRIORITY_LOW, waiting);

    //  Stop: one handler gives up (its job goes back to the queue), the
    //  other still returns outputs (its job completes)
    zjob_worker_stop (runner.worker);
    pthread_join (thread, NULL);
    cr_assert_eq (runner.rc, 0);
    cr_assert_eq (seen.saw_stop, 2);
    cr_assert_eq (seen.started, 2, "nothing started after the stop");
    cr_assert_eq (zjob_client_wait (client, finished, DEADLINE_MS, &err), ZJOB_COMPLETED, "%s",
                  err.text);
    s_expect_status (client, back, ZJOB_QUEUED, NULL);
    cr_assert_eq (zjob_client_status (client, waiting, &err), ZJOB_QUEUED);
    zjob_worker_destroy (&runner.worker);

    //  Another worker does what was handed back
    zjob_worker_t *worker = s_worker (&broker, "heir", "stop", 2);
    for (int i = 0; i < 2; i++) {
        zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);
        cr_assert (streq (zjob_task_id (task), back) || streq (zjob_task_id (task), waiting));
        cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0);
    }
    cr_assert_eq (zjob_client_wait (client, back, DEADLINE_MS, &err), ZJOB_COMPLETED);
    cr_assert_eq (zjob_client_wait (client, waiting, DEADLINE_MS, &err), ZJOB_COMPLETED);
    zjob_worker_destroy (&worker);
    zjob_client_destroy (&client);
    s_broker_stop (&broker);
}

//  --------------------------------------------------------------------------
//  Failures

Test (worker, killed_worker_job_is_requeued)
{
    //  Fork before anything touches ZeroMQ: the child gets a clean process
    int to_child [2];
    cr_assert_eq (pipe (to_child), 0);
    pid_t pid = fork ();
    cr_assert_geq (pid, 0);
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        close (to_child [1]);
        char endpoint [256] = "";
        ssize_t got = read (to_child [0], endpoint, sizeof (endpoint) - 1);
        if (got <= 0)
            _exit (1);
        endpoint [got] = 0;
        const char *workflows [] = { "mortal" };
        zjob_worker_t *worker = zjob_worker_new (endpoint, "doomed", workflows, 1, 1, NULL);
        s_seen_t seen = { 0 };
        if (worker)
            zjob_worker_run (worker, s_handler, &seen, NULL);
        _exit (2);                      //  Not reached: killed first
    }
    close (to_child [0]);
    s_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    cr_assert_eq (write (to_child [1], broker.workers, strlen (broker.workers)),
                  (ssize_t) strlen (broker.workers));
    close (to_child [1]);
    zjob_client_t *client = s_client (&broker);
    zjob_error_t err;

    //  The child takes the job and blocks in its handler
    char id [ZJOB_ID_LEN + 1];
    s_submit (client, "mortal", "x", 1000, ZJOB_PRIORITY_LOW, id);
    s_expect_status (client, id, ZJOB_RUNNING, NULL);
    zjob_job_t *job = zjob_client_get (client, id, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (strncmp (job->worker_id, "doomed.", 7), 0, "%s", job->worker_id);
    zjob_job_destroy (&job);

    //  Killed: the broker requeues the job, and another worker runs it
    kill (pid, SIGKILL);
    int status;
    cr_assert_eq (waitpid (pid, &status, 0), pid);
    cr_assert (WIFSIGNALED (status));
    zjob_worker_t *worker = s_worker (&broker, "rescuer", "mortal", 1);
    zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (task), id);
    cr_assert_eq (zjob_task_attempt (task), 2, "the lost attempt counts");
    uint8_t buffer [MAP_MAX];
    size_t size;
    const uint8_t *outputs = s_map ("y", 42, buffer, &size);
    cr_assert_eq (zjob_worker_complete (worker, &task, outputs, size, &err), 0);
    cr_assert_eq (zjob_client_wait (client, id, DEADLINE_MS, &err), ZJOB_COMPLETED, "%s", err.text);
    s_expect_results (client, id, "completed", "y", 42, NULL);

    zjob_worker_destroy (&worker);
    zjob_client_destroy (&client);
    s_broker_stop (&broker);
}

Test (worker, result_survives_a_broker_restart)
{
    char *dir = zjob_test_tmpdir ();
    cr_assert_not_null (dir);
    char store [1024];
    snprintf (store, sizeof (store), "file:%s?fsync=never", dir);
    s_broker_t broker;
    s_broker_start (&broker, store, NULL);
    zjob_client_t *client = s_client (&broker);
    s_seen_t seen = { 0 };
    s_runner_t runner = { s_worker (&broker, "survivor", "durable", 1), &seen, -1 };
    pthread_t thread;
    pthread_create (&thread, NULL, s_run_thread, &runner);
    zjob_error_t err;

    //  The handler is running when the broker stops
    char id [ZJOB_ID_LEN + 1];
    s_submit (client, "durable", "x", 1001, ZJOB_PRIORITY_LOW, id);
    s_wait_for (&seen.started, 1);
    s_expect_status (client, id, ZJOB_RUNNING, NULL);
    s_broker_t old = {
        NULL, strdup (broker.clients), strdup (broker.workers), strdup (broker.events)
    };
    s_broker_stop (&broker);

    //  It finishes while there is no broker; a new broker starts on the
    //  same store and endpoints, the worker registers again listing the
    //  job, and its kept result completes it
    seen.release = 1;
    s_broker_start (&broker, store, &old);
    s_broker_stop (&old);
    cr_assert_eq (zjob_client_wait (client, id, DEADLINE_MS, &err), ZJOB_COMPLETED, "%s", err.text);
    s_expect_results (client, id, "completed", "y", 2002, NULL);
    zjob_job_t *job = zjob_client_get (client, id, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (job->attempts, 1, "run once: the result was not lost");
    cr_assert_eq (seen.started, 1);
    zjob_job_destroy (&job);

    zjob_worker_stop (runner.worker);
    pthread_join (thread, NULL);
    zjob_worker_destroy (&runner.worker);
    zjob_client_destroy (&client);
    s_broker_stop (&broker);
    zjob_test_rmtree (dir);
    free (dir);
}

//  --------------------------------------------------------------------------
//  Several workers

Test (worker, priorities_across_workers)
{
    s_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);

    //  Everything is queued before any worker comes
    enum { PER_PRIORITY = 4, OTHERS = 3, TOTAL = 4 * PER_PRIORITY + OTHERS };
    char ids [TOTAL][ZJOB_ID_LEN + 1];
    int n = 0;
    for (int round = 0; round < PER_PRIORITY; round++)
        for (int priority = 0; priority < ZJOB_PRIORITY_COUNT; priority++, n++)
            s_submit (client, "prio", "x", n, (zjob_priority_t) priority, ids [n]);
    for (int i = 0; i < OTHERS; i++, n++)
        s_submit (client, "other", "x", n, ZJOB_PRIORITY_CRITICAL, ids [n]);

    zjob_worker_t *workers [3] = {
        s_worker (&broker, "prio-a", "prio", 1), s_worker (&broker, "prio-b", "prio", 1),
        s_worker (&broker, "other", "other", 1)
    };
    //  What each worker got, in order: priority and input number
    int got [3][TOTAL][2];
    int counts [3] = { 0 };
    int done = 0;
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (done < TOTAL && zjob_mono_ms () < deadline)
        for (int w = 0; w < 3; w++) {
            zjob_task_t *task;
            int kind = zjob_worker_recv (workers [w], 5, &task, NULL);
            if (kind != ZJOB_WORKER_TASK)
                continue;
            size_t size;
            const uint8_t *inputs = zjob_task_inputs (task, &size);
            got [w][counts [w]][0] = zjob_task_priority (task);
            got [w][counts [w]][1] = (int) s_map_int (inputs, size, "x", -1);
            counts [w]++;
            cr_assert_str_eq (zjob_task_workflow (task), w < 2? "prio": "other");
            cr_assert_eq (zjob_worker_complete (workers [w], &task, NULL, 0, NULL), 0);
            done++;
        }
    cr_assert_eq (done, TOTAL);
    cr_assert_eq (counts [2], OTHERS);
    cr_assert_gt (counts [0], 0, "both workers had a share");
    cr_assert_gt (counts [1], 0, "both workers had a share");
    //  Each worker's jobs come by priority, critical first, then in the
    //  order they were submitted
    for (int w = 0; w < 2; w++) {
        cr_assert_eq (got [w][0][0], ZJOB_PRIORITY_CRITICAL);
        for (int i = 1; i < counts [w]; i++) {
            cr_assert_leq (got [w][i][0], got [w][i - 1][0], "worker %d, job %d", w, i);
            if (got [w][i][0] == got [w][i - 1][0])
                cr_assert_gt (got [w][i][1], got [w][i - 1][1], "worker %d, job %d", w, i);
        }
    }
    for (int w = 0; w < 3; w++) {
        cr_assert_eq (zjob_worker_flush (workers [w], DEADLINE_MS), 0);
        zjob_worker_destroy (&workers [w]);
    }
    zjob_error_t err;
    for (int i = 0; i < TOTAL; i++)
        cr_assert_eq (zjob_client_status (client, ids [i], &err), ZJOB_COMPLETED);
    zjob_client_destroy (&client);
    s_broker_stop (&broker);
}
