/*  =========================================================================
    test_zjob_worker - the worker library's engine against a real broker

    A broker actor runs in process on 127.0.0.1 with ephemeral ports and
    100 ms heartbeats; workers and a client talk to it through libzjob. The
    tests take a job through its whole life with the engine, watch
    progress from a client, pause, resume and cancel running jobs, and
    drain a worker that holds jobs. The handler pool's tests are in
    test_zjob_worker_run.c, the fake broker's in test_zjob_worker_fake.c;
    the helpers they share in test_zjob_worker.h. Every wait polls a
    condition with a deadline.
    ========================================================================= */

#include "test_zjob_worker.h"


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
    //  One attempt: a failure is final here (the broker's retries are
    //  test_zjob_broker_retry's)
    const char *const options [][2] = { { "max-attempts", "1" } };
    zjob_error_t start_err;
    cr_assert_eq (zjob_test_broker_start_with (&broker, "memory:", NULL, options, 1, &start_err),
                  0, "broker: %s", start_err.text);
    zjob_client_t *client = s_client (&broker);
    zjob_worker_t *worker = s_worker (&broker, "engine", "eng", 2);
    zjob_error_t err;

    //  A job with everything a handler reads
    uint8_t buffer [MAP_MAX];
    size_t size;
    const uint8_t *inputs = s_map ("x", 7, buffer, &size);
    zjob_spec_t spec = { .workflow_id = "eng", .inputs = inputs, .inputs_size = size, .priority = ZJOB_PRIORITY_HIGH, .user_id = "ada" };
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
    s_pump (worker, 300);  //  Three heartbeats: no job comes
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
           && !(s_worker_listed (client, zjob_worker_id (worker), &slots, &credit)
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
           && zjob_mono_ms () < deadline)
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
