/*  =========================================================================
    test_zjob_worker - the worker library against a real broker

    A broker actor runs in process on 127.0.0.1 with ephemeral ports and
    100 ms heartbeats; workers and a client talk to it through libzjob. The
    tests take a job through its whole life with the engine and with the
    handler pool, watch progress from a client, pause, resume and cancel
    running jobs, kill a worker process mid-job, restart the broker under a
    running handler, check priorities across workers, and stop or drain a
    worker that holds jobs. A fake broker (a raw ROUTER speaking through
    the proto codec) checks what no real broker does: a JOB before READY's
    answer, and the exact messages of a drain. Every wait polls a
    condition with a deadline.
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

static void
s_broker_start (zjob_test_broker_t *broker, const char *store, const zjob_test_broker_t *like)
{
    zjob_error_t err;
    cr_assert_eq (zjob_test_broker_start (broker, store, like, &err), 0, "broker: %s", err.text);
}

static zjob_client_t *
s_client (zjob_test_broker_t *broker)
{
    zjob_error_t err;
    zjob_client_t *client = zjob_client_new (broker->clients, 2000, &err);
    cr_assert_not_null (client, "client: %s", err.text);
    return client;
}

static zjob_worker_t *
s_worker (zjob_test_broker_t *broker, const char *name, const char *workflow, size_t slots)
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

//  What the broker's WORKERS says of worker_id: its slots and credit, or
//  false if it is not listed
static bool
s_worker_listed (zjob_client_t *client, const char *worker_id, uint64_t *slots_p,
                 uint64_t *credit_p)
{
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_workers (client, &err);
    cr_assert_not_null (reply, "%s", err.text);
    const msgpack_object *workers = zjob_msg_field (zjob_reply_msg (reply), "workers");
    cr_assert (workers && workers->type == MSGPACK_OBJECT_ARRAY);
    bool found = false;
    for (uint32_t i = 0; i < workers->via.array.size && !found; i++) {
        const msgpack_object *map = &workers->via.array.ptr [i];
        uint64_t values [2] = { 0, 0 };
        bool mine = false;
        for (uint32_t k = 0; map->type == MSGPACK_OBJECT_MAP && k < map->via.map.size; k++) {
            const msgpack_object *key = &map->via.map.ptr [k].key;
            const msgpack_object *val = &map->via.map.ptr [k].val;
            if (key->type != MSGPACK_OBJECT_STR)
                continue;
            const char *names [] = { "slots", "credit" };
            for (int n = 0; n < 2; n++)
                if (key->via.str.size == strlen (names [n])
                &&  memcmp (key->via.str.ptr, names [n], key->via.str.size) == 0
                &&  val->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                    values [n] = val->via.u64;
            if (key->via.str.size == 9 && memcmp (key->via.str.ptr, "worker_id", 9) == 0
            &&  val->type == MSGPACK_OBJECT_STR && val->via.str.size == strlen (worker_id)
            &&  memcmp (val->via.str.ptr, worker_id, val->via.str.size) == 0)
                mine = true;
        }
        if (mine) {
            found = true;
            *slots_p = values [0];
            *credit_p = values [1];
        }
    }
    zjob_reply_destroy (&reply);
    return found;
}

//  The job is queued and was never handed out
static void
s_expect_unattempted (zjob_client_t *client, const char *id)
{
    zjob_error_t err;
    zjob_job_t *job = zjob_client_get (client, id, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (job->status, ZJOB_QUEUED, "job %s is %s", id, zjob_status_name (job->status));
    cr_assert_eq (job->attempts, 0, "job %s was handed out %u times", id,
                  (unsigned) job->attempts);
    zjob_job_destroy (&job);
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
    zjob_test_broker_t broker;
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
    s_expect_results (client, id, "failed", NULL, 0, "bad_output");

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
    zjob_test_broker_stop (&broker);
}

//  Jobs that came in one JOB are finished before the program takes the
//  next: their results wait and go out together, more in one RESULT than
//  the flush's scratch first holds (it grows), and every one is recorded
Test (worker, engine_results_of_a_batch_go_out_together)
{
    //  No concurrency limit: all of them run at once
    zjob_test_broker_t broker;
    const char *const options [][2] = { { "max-concurrent", "0" } };
    zjob_error_t err;
    cr_assert_eq (zjob_test_broker_start_with (&broker, "memory:", NULL, options, 1, &err), 0,
                  "broker: %s", err.text);
    zjob_client_t *client = s_client (&broker);
    enum { JOBS = 40 };
    char ids [JOBS][ZJOB_ID_LEN + 1];
    for (int i = 0; i < JOBS; i++)
        s_submit (client, "many", "x", i, ZJOB_PRIORITY_MEDIUM, ids [i]);
    //  Registered after the jobs are queued: the broker hands them out in
    //  as few JOBs as its batch allows
    zjob_worker_t *worker = s_worker (&broker, "many", "many", JOBS);
    for (int i = 0; i < JOBS; i++) {
        zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);
        size_t size;
        const uint8_t *inputs = zjob_task_inputs (task, &size);
        uint8_t buffer [MAP_MAX];
        const uint8_t *outputs = s_map ("y", 2 * s_map_int (inputs, size, "x", -1), buffer,
                                        &size);
        cr_assert_eq (zjob_worker_complete (worker, &task, outputs, size, &err), 0, "%s",
                      err.text);
    }
    for (int i = 0; i < JOBS; i++) {
        cr_assert_eq (zjob_client_wait (client, ids [i], DEADLINE_MS, &err), ZJOB_COMPLETED,
                      "job %d: %s", i, err.text);
        s_expect_results (client, ids [i], "completed", "y", 2 * i, NULL);
    }
    //  Every result is settled: nothing is left to send again
    cr_assert_eq (zjob_worker_flush (worker, DEADLINE_MS), 0);
    zjob_worker_destroy (&worker);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

Test (worker, engine_pause_resume_cancel)
{
    zjob_test_broker_t broker;
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
    zjob_test_broker_stop (&broker);
}


Test (worker, drain_takes_no_new_job)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    zjob_worker_t *worker = s_worker (&broker, "drainer", "drain", 1);
    zjob_error_t err;

    //  One slot, one job running, two more queued
    char running [ZJOB_ID_LEN + 1], queued [2][ZJOB_ID_LEN + 1];
    s_submit (client, "drain", "x", 0, ZJOB_PRIORITY_HIGH, running);
    zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (task), running);
    s_submit (client, "drain", "x", 1, ZJOB_PRIORITY_LOW, queued [0]);
    s_submit (client, "drain", "x", 2, ZJOB_PRIORITY_LOW, queued [1]);

    //  Draining while it runs: finishing it frees no slot
    cr_assert_eq (zjob_worker_drain (worker), 0);
    cr_assert_eq (zjob_worker_drain (worker), 0, "again: nothing more");
    cr_assert_eq (zjob_worker_progress (worker, task, 0.5, "still reporting"), 0);
    cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_worker_flush (worker, DEADLINE_MS), 0);
    cr_assert_eq (zjob_client_wait (client, running, DEADLINE_MS, &err), ZJOB_COMPLETED);
    uint64_t slots, credit;
    cr_assert (s_worker_listed (client, zjob_worker_id (worker), &slots, &credit));
    cr_assert_eq (credit, 0, "the result gave no credit back");
    s_pump (worker, 300);               //  Three heartbeats: no job comes
    for (int i = 0; i < 2; i++)
        s_expect_unattempted (client, queued [i]);
    cr_assert_eq (zjob_worker_held (worker), 0);

    //  Gone, its queue goes to the next worker, first attempts
    zjob_worker_destroy (&worker);
    worker = s_worker (&broker, "next", "drain", 1);
    task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (task), queued [0]);
    cr_assert_eq (zjob_task_attempt (task), 1);
    cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0);
    zjob_worker_destroy (&worker);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

Test (worker, drain_takes_back_free_slots)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    zjob_worker_t *worker = s_worker (&broker, "wide", "wide", 3);
    zjob_error_t err;
    char running [ZJOB_ID_LEN + 1], later [ZJOB_ID_LEN + 1];
    s_submit (client, "wide", "x", 0, ZJOB_PRIORITY_LOW, running);
    zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);

    //  Two free slots: drain registers again with one, and the broker
    //  grants nothing more
    cr_assert_eq (zjob_worker_drain (worker), 0);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    uint64_t slots = 0, credit = 1;
    while (zjob_mono_ms () < deadline
       &&  !(s_worker_listed (client, zjob_worker_id (worker), &slots, &credit)
             && slots == 1 && credit == 0 && zjob_worker_registered (worker)))
        s_pump (worker, 10);
    cr_assert_eq (slots, 1, "registered again with the one job it holds");
    cr_assert_eq (credit, 0);
    s_expect_status (client, running, ZJOB_RUNNING, worker);

    //  A job submitted now is not sent, and the running one still ends
    s_submit (client, "wide", "x", 1, ZJOB_PRIORITY_LOW, later);
    s_pump (worker, 300);
    s_expect_unattempted (client, later);
    cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0);
    cr_assert_eq (zjob_client_wait (client, running, DEADLINE_MS, &err), ZJOB_COMPLETED);
    zjob_job_t *job = zjob_client_get (client, running, &err);
    cr_assert_not_null (job);
    cr_assert_eq (job->attempts, 1);
    zjob_job_destroy (&job);
    s_pump (worker, 100);
    s_expect_unattempted (client, later);
    zjob_worker_destroy (&worker);

    //  Drained with nothing held, a worker leaves at once
    worker = s_worker (&broker, "idle", "idle", 2);
    deadline = zjob_mono_ms () + DEADLINE_MS;
    while (!zjob_worker_registered (worker) && zjob_mono_ms () < deadline)
        s_pump (worker, 10);
    cr_assert (s_worker_listed (client, zjob_worker_id (worker), &slots, &credit));
    cr_assert_eq (zjob_worker_drain (worker), 0);
    cr_assert_not (zjob_worker_registered (worker));
    deadline = zjob_mono_ms () + DEADLINE_MS;
    while (s_worker_listed (client, zjob_worker_id (worker), &slots, &credit)
       &&  zjob_mono_ms () < deadline)
        s_pump (worker, 10);
    cr_assert_not (s_worker_listed (client, zjob_worker_id (worker), &slots, &credit),
                   "DISCONNECT took it off the broker's list");
    s_submit (client, "idle", "x", 1, ZJOB_PRIORITY_LOW, later);
    s_pump (worker, 100);
    s_expect_unattempted (client, later);
    zjob_worker_destroy (&worker);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
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
    zjob_test_broker_t broker;
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
    zjob_test_broker_stop (&broker);
}

Test (worker, run_pause_resume_cancel)
{
    zjob_test_broker_t broker;
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
    zjob_test_broker_stop (&broker);
}

Test (worker, stop_finishes_or_hands_back)
{
    zjob_test_broker_t broker;
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
    zjob_job_t *job = zjob_client_get (client, waiting, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_eq (job->attempts, 0, "never sent to the stopping worker");
    zjob_job_destroy (&job);
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
    zjob_test_broker_stop (&broker);
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
    zjob_test_broker_t broker;
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
    zjob_test_broker_stop (&broker);
}

Test (worker, result_survives_a_broker_restart)
{
    char *dir = zjob_test_tmpdir ();
    cr_assert_not_null (dir);
    char store [1024];
    snprintf (store, sizeof (store), "file:%s?fsync=never", dir);
    zjob_test_broker_t broker;
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
    zjob_test_broker_t old = {
        NULL, strdup (broker.clients), strdup (broker.workers), strdup (broker.events)
    };
    zjob_test_broker_stop (&broker);

    //  It finishes while there is no broker; a new broker starts on the
    //  same store and endpoints, the worker registers again listing the
    //  job, and its kept result completes it
    seen.release = 1;
    s_broker_start (&broker, store, &old);
    zjob_test_broker_stop (&old);
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
    zjob_test_broker_stop (&broker);
    zjob_test_rmtree (dir);
    free (dir);
}

//  --------------------------------------------------------------------------
//  Several workers

Test (worker, priorities_across_workers)
{
    zjob_test_broker_t broker;
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
    zjob_test_broker_stop (&broker);
}

//  --------------------------------------------------------------------------
//  A fake broker: a ROUTER that speaks through the proto codec, for what a
//  real broker never does

typedef struct {
    zsock_t *router;
    char endpoint [64];
    zframe_t *peer;                     //  The worker's routing id, once heard
    zjob_msg_builder_t *builder;
} s_fake_t;

static void
s_fake_start (s_fake_t *fake)
{
    fake->router = zsock_new (ZMQ_ROUTER);
    cr_assert_not_null (fake->router);
    zjob_proto_socket_setup (fake->router);
    int port = zsock_bind (fake->router, "tcp://127.0.0.1:*");
    cr_assert_gt (port, 0);
    snprintf (fake->endpoint, sizeof (fake->endpoint), "tcp://127.0.0.1:%d", port);
    fake->peer = NULL;
    fake->builder = zjob_msg_builder_new ();
    cr_assert_not_null (fake->builder);
}

static void
s_fake_stop (s_fake_t *fake)
{
    zframe_destroy (&fake->peer);
    zjob_msg_builder_destroy (&fake->builder);
    zsock_destroy (&fake->router);
}

//  Send what the builder holds to the worker
static void
s_fake_send (s_fake_t *fake)
{
    cr_assert_not_null (fake->peer, "no worker heard yet");
    zjob_error_t err;
    zframe_t *frame = zjob_msg_end (fake->builder, &err);
    cr_assert_not_null (frame, "%s", err.text);
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *) { zframe_dup (fake->peer) });
    zmsg_append (msg, &frame);
    cr_assert_eq (zmsg_send (&msg, fake->router), 0);
}

//  Keep the worker's engine running (it may have no event) until the fake
//  receives a message other than HEARTBEAT; it must be cmd. Returns it.
static zjob_msg_t *
s_fake_expect (s_fake_t *fake, zjob_worker_t *worker, zjob_cmd_t cmd)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (zjob_mono_ms () < deadline) {
        zjob_task_t *task;
        cr_assert_eq (zjob_worker_recv (worker, 0, &task, NULL), ZJOB_WORKER_NOTHING,
                      "no event while the fake waits for %s", zjob_cmd_name (cmd));
        zmq_pollitem_t item = { zsock_resolve (fake->router), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, 10) <= 0)
            continue;
        zmsg_t *zmsg = zmsg_recv (fake->router);
        cr_assert_not_null (zmsg);
        cr_assert_eq (zmsg_size (zmsg), 2);
        zframe_t *peer = zmsg_pop (zmsg);
        zframe_t *frame = zmsg_pop (zmsg);
        zmsg_destroy (&zmsg);
        zframe_destroy (&fake->peer);
        fake->peer = peer;
        zjob_error_t err;
        zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                           ZJOB_ROUTE_WORKER_BROKER, &err);
        cr_assert_not_null (msg, "%s", err.text);
        zjob_msg_adopt (msg, &frame);
        if (zjob_msg_command (msg) == ZJOB_CMD_HEARTBEAT) {
            zjob_msg_destroy (&msg);
            continue;
        }
        cr_assert_eq (zjob_msg_command (msg), cmd, "expected %s, got %s", zjob_cmd_name (cmd),
                      zjob_msg_command_name (msg));
        return msg;
    }
    cr_assert_fail ("the fake broker got no %s", zjob_cmd_name (cmd));
    return NULL;
}

//  Answer READY with OK: slow heartbeats, and credit
static void
s_fake_ready_ok (s_fake_t *fake, zjob_msg_t *ready, uint64_t credit)
{
    zjob_msg_begin (fake->builder, ZJOB_CMD_OK, zjob_msg_request_id (ready));
    zjob_msg_add_uint (fake->builder, "heartbeat_ms", 1000);
    zjob_msg_add_uint (fake->builder, "liveness", 3);
    zjob_msg_add_uint (fake->builder, "credit", credit);
    s_fake_send (fake);
}

//  Send a JOB of workflow "fake"; its id goes to id
static void
s_fake_job (s_fake_t *fake, char *id)
{
    zjob_spec_t spec = { .workflow_id = "fake" };
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    job->status = ZJOB_RUNNING;
    job->attempts = 1;
    snprintf (id, ZJOB_ID_LEN + 1, "%s", job->id);
    zjob_msg_begin (fake->builder, ZJOB_CMD_JOB, 0);
    zjob_msg_add_job (fake->builder, "job", job);
    s_fake_send (fake);
    zjob_job_destroy (&job);
}

//  Keep the engine running until it is registered
static void
s_until_registered (zjob_worker_t *worker)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (!zjob_worker_registered (worker) && zjob_mono_ms () < deadline)
        s_pump (worker, 10);
    cr_assert (zjob_worker_registered (worker));
}

//  Check READY's slots and the jobs it lists: those of ids (NULL-ended),
//  in any order
static void
s_expect_ready (zjob_msg_t *ready, uint64_t slots, const char *const *ids)
{
    cr_assert_eq (zjob_msg_uint (ready, "slots", 0), slots);
    size_t count, expected = 0;
    const char *const *jobs = zjob_msg_strs (ready, "jobs", &count);
    for (; ids && ids [expected]; expected++) {
        bool listed = false;
        for (size_t i = 0; i < count; i++)
            listed = listed || streq (jobs [i], ids [expected]);
        cr_assert (listed, "READY does not list %s", ids [expected]);
    }
    cr_assert_eq (count, expected, "READY lists %zu jobs, not %zu", count, expected);
}

Test (worker, job_before_ready_ok_reaches_the_program)
{
    s_fake_t fake;
    s_fake_start (&fake);
    const char *workflows [] = { "fake" };
    zjob_error_t err;
    zjob_worker_t *worker = zjob_worker_new (fake.endpoint, "early", workflows, 1, 2, &err);
    cr_assert_not_null (worker, "%s", err.text);

    //  The JOB overtakes READY's OK: the program gets it all the same
    zjob_msg_t *ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    char id [ZJOB_ID_LEN + 1];
    s_fake_job (&fake, id);
    s_fake_ready_ok (&fake, ready, 1);
    zjob_msg_destroy (&ready);
    zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (task), id);
    cr_assert_eq (zjob_task_attempt (task), 1);
    cr_assert_eq (zjob_worker_held (worker), 1);

    //  Its result goes to the broker once registered
    cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0, "%s", err.text);
    zjob_msg_t *result = s_fake_expect (&fake, worker, ZJOB_CMD_RESULT);
    cr_assert (zjob_worker_registered (worker));
    cr_assert_str_eq (zjob_msg_str (result, "id"), id);
    cr_assert_str_eq (zjob_msg_str (result, "status"), "completed");
    cr_assert_eq (zjob_msg_uint (result, "credit", 1), 1);
    zjob_msg_begin (fake.builder, ZJOB_CMD_OK, zjob_msg_request_id (result));
    zjob_msg_add_str (fake.builder, "id", id);
    s_fake_send (&fake);
    zjob_msg_destroy (&result);
    cr_assert_eq (zjob_worker_flush (worker, DEADLINE_MS), 0);

    //  On a registration again, a JOB before the OK was sent under the
    //  session that READY replaces without listing it: the broker requeues
    //  it, so the program must not run it
    zjob_msg_begin (fake.builder, ZJOB_CMD_RECONNECT, 0);
    s_fake_send (&fake);
    ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    s_expect_ready (ready, 2, NULL);
    char stale [ZJOB_ID_LEN + 1];
    s_fake_job (&fake, stale);
    s_fake_ready_ok (&fake, ready, 2);
    zjob_msg_destroy (&ready);
    s_until_registered (worker);
    s_pump (worker, 50);
    cr_assert_eq (zjob_worker_held (worker), 0);

    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
}

Test (worker, drain_hands_back_what_still_comes)
{
    s_fake_t fake;
    s_fake_start (&fake);
    const char *workflows [] = { "fake" };
    zjob_error_t err;
    zjob_worker_t *worker = zjob_worker_new (fake.endpoint, "drained", workflows, 1, 3, &err);
    cr_assert_not_null (worker, "%s", err.text);
    zjob_msg_t *ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    s_expect_ready (ready, 3, NULL);
    s_fake_ready_ok (&fake, ready, 3);
    zjob_msg_destroy (&ready);

    //  One task runs; another has a result not yet acknowledged
    char held [ZJOB_ID_LEN + 1], done [ZJOB_ID_LEN + 1], unseen [ZJOB_ID_LEN + 1];
    s_fake_job (&fake, held);
    zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (task), held);
    s_fake_job (&fake, done);
    zjob_task_t *other = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_eq (zjob_worker_complete (worker, &other, NULL, 0, &err), 0);
    zjob_msg_t *result = s_fake_expect (&fake, worker, ZJOB_CMD_RESULT);
    cr_assert_str_eq (zjob_msg_str (result, "id"), done);
    cr_assert_eq (zjob_msg_uint (result, "credit", 0), 1);
    zjob_msg_destroy (&result);

    //  A third job is read by flush, which does not hand it to the program
    s_fake_job (&fake, unseen);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (zjob_worker_held (worker) < 2 && zjob_mono_ms () < deadline)
        cr_assert_eq (zjob_worker_flush (worker, 20), -1, "the result waits for its OK");
    cr_assert_eq (zjob_worker_held (worker), 2);

    //  Drain hands it back: READY lists what is held (the running task and
    //  the unsettled result), announcing as many slots
    cr_assert_eq (zjob_worker_drain (worker), 0);
    cr_assert_eq (zjob_worker_held (worker), 1);
    ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    s_expect_ready (ready, 2, (const char *[]) { held, done, NULL });
    s_fake_ready_ok (&fake, ready, 0);
    zjob_msg_destroy (&ready);
    //  The result is sent again after the OK, now with no credit
    result = s_fake_expect (&fake, worker, ZJOB_CMD_RESULT);
    cr_assert_str_eq (zjob_msg_str (result, "id"), done);
    cr_assert_eq (zjob_msg_uint (result, "credit", 1), 0);
    zjob_msg_begin (fake.builder, ZJOB_CMD_OK, zjob_msg_request_id (result));
    zjob_msg_add_str (fake.builder, "id", done);
    s_fake_send (&fake);
    zjob_msg_destroy (&result);
    cr_assert_eq (zjob_worker_flush (worker, DEADLINE_MS), 0);

    //  A job that comes anyway is handed back the same way, at once
    char stray [ZJOB_ID_LEN + 1];
    s_fake_job (&fake, stray);
    ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    s_expect_ready (ready, 1, (const char *[]) { held, NULL });
    s_fake_ready_ok (&fake, ready, 0);
    zjob_msg_destroy (&ready);
    s_until_registered (worker);
    cr_assert_eq (zjob_worker_held (worker), 1);

    //  The held task goes on; its result gives no credit back
    cr_assert_eq (zjob_worker_progress (worker, task, 0.5, NULL), 0);
    zjob_msg_t *progress = s_fake_expect (&fake, worker, ZJOB_CMD_PROGRESS);
    zjob_msg_destroy (&progress);
    cr_assert_eq (zjob_worker_fail (worker, &task, NULL, "no kind given"), 0);
    result = s_fake_expect (&fake, worker, ZJOB_CMD_RESULT);
    cr_assert_str_eq (zjob_msg_str (result, "id"), held);
    cr_assert_str_eq (zjob_msg_str (result, "status"), "failed");
    cr_assert_str_eq (zjob_msg_str (result, "error_kind"), "error");
    cr_assert_eq (zjob_msg_uint (result, "credit", 1), 0);
    zjob_msg_begin (fake.builder, ZJOB_CMD_OK, zjob_msg_request_id (result));
    zjob_msg_add_str (fake.builder, "id", held);
    s_fake_send (&fake);
    zjob_msg_destroy (&result);
    cr_assert_eq (zjob_worker_flush (worker, DEADLINE_MS), 0);

    //  Holding nothing, a job that comes makes it leave
    s_fake_job (&fake, stray);
    zjob_msg_t *bye = s_fake_expect (&fake, worker, ZJOB_CMD_DISCONNECT);
    zjob_msg_destroy (&bye);
    cr_assert_not (zjob_worker_registered (worker));
    cr_assert_eq (zjob_worker_held (worker), 0);

    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
}

//  --------------------------------------------------------------------------
//  Endpoints

Test (endpoints, a_missing_transport_is_named_with_an_example)
{
    //  libzmq says only "Invalid argument"; the constructors say what is wrong
    const char *workflows [] = { "w" };
    zjob_error_t err;
    zjob_worker_t *worker = zjob_worker_new ("127.0.0.1:5571", "hint", workflows, 1, 1, &err);
    cr_assert_null (worker);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "endpoint must include a transport, e.g. tcp://127.0.0.1:5571"),
               "%s", err.text);
    zjob_client_t *client = zjob_client_new ("127.0.0.1:5570", 100, &err);
    cr_assert_null (client);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "endpoint must include a transport, e.g. tcp://127.0.0.1:5570"),
               "%s", err.text);
    zjob_events_t *events = zjob_events_new ("localhost:5572", &err);
    cr_assert_null (events);
    cr_assert (strstr (err.text, "e.g. tcp://localhost:5572"), "%s", err.text);
}

//  --------------------------------------------------------------------------
//  Liveness (PROTOCOL.md 10.7): any message from the broker is a sign of
//  life, even one this worker cannot make sense of

Test (worker, any_message_from_the_broker_is_a_sign_of_life)
{
    s_fake_t fake;
    s_fake_start (&fake);
    const char *workflows [] = { "fake" };
    zjob_error_t err;
    zjob_worker_t *worker = zjob_worker_new (fake.endpoint, "alive", workflows, 1, 1, &err);
    cr_assert_not_null (worker, "%s", err.text);
    zjob_msg_t *ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    //  Heartbeats of 100 ms: the broker is dead after 300 ms of silence
    zjob_msg_begin (fake.builder, ZJOB_CMD_OK, zjob_msg_request_id (ready));
    zjob_msg_add_uint (fake.builder, "heartbeat_ms", 100);
    zjob_msg_add_uint (fake.builder, "liveness", 3);
    zjob_msg_add_uint (fake.builder, "credit", 1);
    s_fake_send (&fake);
    zjob_msg_destroy (&ready);
    s_until_registered (worker);

    //  For five liveness periods the broker says only what this worker
    //  cannot decode (bytes that are no message, a message of two frames):
    //  it is alive all the same, so the worker stays registered and never
    //  reconnects with a new READY
    int64_t until = zjob_mono_ms () + 1500;
    int64_t next_send = 0;
    int sent = 0;
    while (zjob_mono_ms () < until) {
        if (zjob_mono_ms () >= next_send) {
            zmsg_t *msg = zmsg_new ();
            zmsg_append (msg, &(zframe_t *) { zframe_dup (fake.peer) });
            zmsg_addmem (msg, "\xc1 not msgpack", 13);
            if (sent % 2)
                zmsg_addmem (msg, "", 0);
            cr_assert_eq (zmsg_send (&msg, fake.router), 0);
            sent++;
            next_send = zjob_mono_ms () + 50;
            //  Let it arrive before the engine runs, as a poll loop would
            zmq_pollitem_t arrived = { zsock_resolve (zjob_worker_sock (worker)), 0,
                                       ZMQ_POLLIN, 0 };
            zmq_poll (&arrived, 1, 100);
        }
        zjob_task_t *task;
        cr_assert_eq (zjob_worker_recv (worker, 0, &task, NULL), ZJOB_WORKER_NOTHING);
        cr_assert (zjob_worker_registered (worker),
                   "the worker judged a broker that talks to it dead");
        zmq_pollitem_t item = { zsock_resolve (fake.router), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, 10) <= 0)
            continue;
        zmsg_t *zmsg = zmsg_recv (fake.router);
        cr_assert_not_null (zmsg);
        zframe_t *peer = zmsg_pop (zmsg);
        zframe_t *frame = zmsg_pop (zmsg);
        cr_assert (zframe_eq (peer, fake.peer), "the worker came back on a new connection");
        zjob_msg_t *heard = frame? zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                                    ZJOB_ROUTE_WORKER_BROKER, &err): NULL;
        cr_assert (!heard || zjob_msg_command (heard) != ZJOB_CMD_READY,
                   "the worker registered again");
        zjob_msg_destroy (&heard);
        zframe_destroy (&frame);
        zframe_destroy (&peer);
        zmsg_destroy (&zmsg);
    }
    cr_assert_gt (sent, 20);
    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
}

Test (worker, a_busy_program_still_hears_the_broker)
{
    //  The program does not call the engine for longer than the liveness
    //  period, while the broker keeps heartbeating: the heartbeats waiting
    //  on the socket are signs of life, read before the broker is judged
    s_fake_t fake;
    s_fake_start (&fake);
    const char *workflows [] = { "fake" };
    zjob_error_t err;
    zjob_worker_t *worker = zjob_worker_new (fake.endpoint, "busy", workflows, 1, 1, &err);
    cr_assert_not_null (worker, "%s", err.text);
    zjob_msg_t *ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    zjob_msg_begin (fake.builder, ZJOB_CMD_OK, zjob_msg_request_id (ready));
    zjob_msg_add_uint (fake.builder, "heartbeat_ms", 100);
    zjob_msg_add_uint (fake.builder, "liveness", 3);
    zjob_msg_add_uint (fake.builder, "credit", 1);
    s_fake_send (&fake);
    zjob_msg_destroy (&ready);
    s_until_registered (worker);

    //  600 ms (twice the liveness period) of heartbeats the program does
    //  not read; the fake's poll on its own socket paces them
    int64_t until = zjob_mono_ms () + 600;
    while (zjob_mono_ms () < until) {
        zjob_msg_begin (fake.builder, ZJOB_CMD_HEARTBEAT, 0);
        s_fake_send (&fake);
        zmq_pollitem_t item = { zsock_resolve (fake.router), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, 50) > 0) {
            zmsg_t *zmsg = zmsg_recv (fake.router);
            zmsg_destroy (&zmsg);       //  The worker's own heartbeats: not looked at
        }
    }
    zjob_task_t *task;
    cr_assert_eq (zjob_worker_recv (worker, 0, &task, NULL), ZJOB_WORKER_NOTHING);
    cr_assert (zjob_worker_registered (worker), "a busy worker judged a live broker dead");
    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
}
