/*  =========================================================================
    test_zjob_broker - the broker actor: clients and a job's lifecycle

    Each test starts a broker actor on tcp://127.0.0.1:* (memory store
    unless the test is about the store) and talks to it the way a client,
    a worker and a subscriber would: DEALER and SUB sockets, every message
    built and read with the proto codec. Heartbeats are shortened to
    100 ms so that liveness tests take a fraction of a second; every wait
    has a deadline. This file: a job's whole life, events, pause, resume and
    cancel, bad input, many clients, idempotency, figures, scheduled jobs.
    The worker conversation is in test_zjob_broker_workers.c, sync
    failures, restarts and cleanup in test_zjob_broker_durability.c, the
    helpers in test_zjob_broker.h.
    ========================================================================= */

#include "test_zjob_broker.h"


Test (broker, refuses_to_start_without_its_store_or_port)
{
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    zjob_error_t err;
    zjob_broker_config_set (&config, "clients", "tcp://127.0.0.1:*", NULL);
    zjob_broker_config_set (&config, "workers", "tcp://127.0.0.1:*", NULL);
    zjob_broker_config_set (&config, "events", "tcp://127.0.0.1:*", NULL);
    zjob_broker_config_set (&config, "log-level", "error", NULL);
    zjob_broker_config_set (&config, "store", "tape:/dev/st0", NULL);
    zactor_t *broker = zjob_broker_new (&config, &err);
    cr_assert_null (broker);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST, "%d %s", err.code, err.text);

    //  A port that is taken
    s_start (NULL);
    zjob_broker_config_set (&config, "store", "memory:", NULL);
    zjob_broker_config_set (&config, "clients", s_clients, NULL);
    broker = zjob_broker_new (&config, &err);
    cr_assert_null (broker);
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE);
    cr_assert (strstr (err.text, "clients"), "%s", err.text);
}


//  --------------------------------------------------------------------------
//  A job's whole life

Test (broker, job_life_over_raw_sockets)
{
    s_start (NULL);
    zsock_t *sub = s_subscriber ("ev/");
    zsock_t *client = zjob_test_dealer (s_clients);

    uint8_t inputs [64], outputs [64];
    size_t inputs_size = s_map (inputs, sizeof (inputs), "width", 640);
    size_t outputs_size = s_map (outputs, sizeof (outputs), "bytes", 4096);
    const char *tags [] = { "batch-7", "urgent" };
    zjob_spec_t spec = {
        .workflow_id = "resize", .inputs = inputs, .inputs_size = inputs_size, .priority = ZJOB_PRIORITY_HIGH, .user_id = "alice", .tags = tags, .tag_count = 2
    };
    zjob_msg_begin (s_builder, ZJOB_CMD_SUBMIT, ++s_request);
    zjob_msg_add_specs (s_builder, "jobs", &spec, 1);
    zjob_msg_t *reply = s_call (client);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_error_t err;
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_SUBMIT, &err), 0, "%s", err.text);
    size_t count = 0;
    const char *const *ids = zjob_msg_strs (reply, "ids", &count);
    cr_assert_eq (count, 1);
    char id [ZJOB_ID_LEN + 1];
    snprintf (id, sizeof (id), "%s", ids [0]);
    cr_assert (zjob_id_valid (id));
    cr_assert_not (zjob_msg_has (reply, "existing"));
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_status (client, id), ZJOB_QUEUED);

    //  A worker comes, is given the job
    zsock_t *worker = s_worker ("w1.resize", "resize", 2);
    zjob_job_t *job = s_take (worker, S_WAIT);
    cr_assert_not_null (job, "no JOB");
    cr_assert_str_eq (job->id, id);
    cr_assert_str_eq (job->workflow_id, "resize");
    cr_assert_eq (job->attempts, 1);
    cr_assert_eq (job->inputs.size, inputs_size);
    cr_assert_eq (memcmp (job->inputs.data, inputs, inputs_size), 0);
    cr_assert_str_eq (job->user_id, "alice");
    zjob_job_destroy (&job);
    cr_assert_eq (s_status (client, id), ZJOB_RUNNING);

    //  Progress: not answered, seen by STATUS
    zjob_msg_begin (s_builder, ZJOB_CMD_PROGRESS, ++s_request);
    zjob_msg_add_str (s_builder, "id", id);
    zjob_msg_add_float (s_builder, "progress", 0.5);
    zjob_msg_add_str (s_builder, "message", "half way");
    s_send (worker);
    zjob_msg_t *event = s_event (sub, "progress", id);
    cr_assert_not_null (event, "no progress event");
    cr_assert_float_eq (zjob_msg_float (event, "progress", 0), 0.5, 1e-6);
    zjob_msg_destroy (&event);
    zjob_msg_begin (s_builder, ZJOB_CMD_STATUS, ++s_request);
    zjob_msg_add_str (s_builder, "id", id);
    reply = s_call (client);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_STATUS, &err), 0, "%s", err.text);
    cr_assert_str_eq (zjob_msg_str (reply, "status"), "running");
    cr_assert_float_eq (zjob_msg_float (reply, "progress", 0), 0.5, 1e-6);
    cr_assert_str_eq (zjob_msg_str (reply, "progress_message"), "half way");
    zjob_msg_destroy (&reply);

    //  The result, acknowledged
    reply = s_result (worker, id, outputs, outputs_size);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    cr_assert_str_eq (zjob_msg_str (reply, "id"), id);
    zjob_msg_destroy (&reply);

    job = zjob_test_get (client, id);
    cr_assert_not_null (job);
    cr_assert_eq (job->status, ZJOB_COMPLETED);
    cr_assert_eq (job->outputs.size, outputs_size);
    cr_assert_eq (memcmp (job->outputs.data, outputs, outputs_size), 0);
    cr_assert_str_eq (job->worker_id, "w1.resize");
    cr_assert_gt (job->completed_at, 0);
    zjob_job_destroy (&job);

    zjob_msg_begin (s_builder, ZJOB_CMD_RESULTS, ++s_request);
    zjob_msg_add_str (s_builder, "id", id);
    reply = s_call (client);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_RESULTS, &err), 0, "%s", err.text);
    size_t size = 0;
    const uint8_t *data = zjob_msg_bin (reply, "outputs", &size);
    cr_assert_eq (size, outputs_size);
    cr_assert_eq (memcmp (data, outputs, size), 0);
    zjob_msg_destroy (&reply);

    //  The last event
    zjob_msg_t *completed = s_event (sub, "completed", id);
    cr_assert_not_null (completed, "no completed event");
    cr_assert_str_eq (zjob_msg_str (completed, "old_status"), "running");
    cr_assert_str_eq (zjob_msg_str (completed, "workflow_id"), "resize");
    cr_assert_str_eq (zjob_msg_str (completed, "worker_id"), "w1.resize");
    zjob_msg_destroy (&completed);

    zsock_destroy (&sub);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}

Test (broker, events_in_order_under_every_topic_form)
{
    s_start (NULL);
    zsock_t *all = s_subscriber ("ev/");
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w-events", "thumbs", 1);
    zjob_msg_t *joined = s_event (all, "worker_joined", NULL);
    cr_assert_not_null (joined, "no worker_joined");
    cr_assert_str_eq (zjob_msg_str (joined, "worker_id"), "w-events");
    zjob_msg_destroy (&joined);

    char *id = zjob_test_submit (client, "thumbs", NULL, NULL);
    cr_assert_not_null (id);
    char prefix [ZJOB_TOPIC_MAX];
    zjob_event_prefix (prefix, sizeof (prefix), NULL, NULL, id);
    zsock_t *one = s_subscriber_nth (prefix, 2);

    zjob_job_t *job = s_take (worker, S_WAIT);
    cr_assert_not_null (job);
    uint8_t outputs [32];
    size_t outputs_size = s_map (outputs, sizeof (outputs), "ok", 1);
    zjob_msg_t *reply = s_result (worker, id, outputs, outputs_size);
    zjob_msg_destroy (&reply);
    zjob_job_destroy (&job);

    const char *expected [] = { "queued", "running", "completed" };
    uint64_t last_seq = 0;
    for (size_t index = 0; index < 3; index++) {
        zjob_msg_t *event = s_event (all, expected [index], id);
        cr_assert_not_null (event, "no %s event", expected [index]);
        cr_assert_gt (zjob_msg_request_id (event), last_seq);
        last_seq = zjob_msg_request_id (event);
        cr_assert_str_eq (zjob_msg_str (event, "status"), expected [index]);
        //  A new job's first event has no old status; later ones do
        cr_assert_eq (zjob_msg_has (event, "old_status"), index > 0);
        zjob_msg_destroy (&event);
    }
    //  The job's own subscriber (subscribed after the job was queued)
    zjob_msg_t *event = s_event (one, "completed", id);
    cr_assert_not_null (event, "no completed event under %s", prefix);
    cr_assert_eq (zjob_msg_request_id (event), last_seq);
    zjob_msg_destroy (&event);

    //  A worker leaving is an event too
    zjob_msg_begin (s_builder, ZJOB_CMD_DISCONNECT, ++s_request);
    zjob_msg_add_str (s_builder, "reason", "done for today");
    s_send (worker);
    zjob_msg_t *left = s_event (all, "worker_left", NULL);
    cr_assert_not_null (left, "no worker_left");
    cr_assert_str_eq (zjob_msg_str (left, "reason"), "disconnect");
    zjob_msg_destroy (&left);
    free (id);
    zsock_destroy (&one);
    zsock_destroy (&all);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}


//  --------------------------------------------------------------------------
//  Pause, resume, cancel

Test (broker, pause_resume_cancel_of_a_queued_job)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    char *id = zjob_test_submit (client, "later", NULL, NULL);
    cr_assert_not_null (id);
    char status [32];
    cr_assert_eq (s_operate (client, ZJOB_CMD_PAUSE, id, status, sizeof (status)), ZJOB_OK);
    cr_assert_str_eq (status, "paused");
    cr_assert_eq (s_operate (client, ZJOB_CMD_PAUSE, id, NULL, 0), ZJOB_CONFLICT);
    cr_assert_eq (s_operate (client, ZJOB_CMD_RESUME, id, status, sizeof (status)), ZJOB_OK);
    cr_assert_str_eq (status, "queued");
    cr_assert_eq (s_operate (client, ZJOB_CMD_CANCEL, id, status, sizeof (status)), ZJOB_OK);
    cr_assert_str_eq (status, "cancelled");
    cr_assert_eq (s_operate (client, ZJOB_CMD_RESUME, id, NULL, 0), ZJOB_CONFLICT);
    //  A cancelled job is never dispatched
    zsock_t *worker = s_worker ("w-late", "later", 1);
    zjob_job_t *job = s_take_none (worker);
    cr_assert_null (job);
    free (id);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}

Test (broker, pause_resume_cancel_of_a_running_job_reach_its_worker)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w-ctl", "video", 1);
    char *id = zjob_test_submit (client, "video", NULL, NULL);
    cr_assert_not_null (id);
    zjob_job_t *job = s_take (worker, S_WAIT);
    cr_assert_not_null (job);
    zjob_job_destroy (&job);

    //  PAUSE: confirmed to the client, told to the worker, which answers
    char status [32];
    cr_assert_eq (s_operate (client, ZJOB_CMD_PAUSE, id, status, sizeof (status)), ZJOB_OK);
    cr_assert_str_eq (status, "paused");
    zjob_msg_t *control = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_PAUSE,
                                            S_WAIT);
    cr_assert_not_null (control, "worker not told to pause");
    cr_assert_str_eq (zjob_msg_str (control, "id"), id);
    zjob_msg_begin (s_builder, ZJOB_CMD_OK, zjob_msg_request_id (control));
    zjob_msg_add_str (s_builder, "id", id);
    s_send (worker);
    zjob_msg_destroy (&control);

    //  RESUME: running again, on the same worker
    cr_assert_eq (s_operate (client, ZJOB_CMD_RESUME, id, status, sizeof (status)), ZJOB_OK);
    cr_assert_str_eq (status, "running");
    control = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_RESUME, S_WAIT);
    cr_assert_not_null (control, "worker not told to resume");
    cr_assert_str_eq (zjob_msg_str (control, "id"), id);
    zjob_msg_begin (s_builder, ZJOB_CMD_OK, zjob_msg_request_id (control));
    zjob_msg_add_str (s_builder, "id", id);
    s_send (worker);
    zjob_msg_destroy (&control);

    //  CANCEL: the worker's OK frees its one slot for the next job
    char *next = zjob_test_submit (client, "video", NULL, NULL);
    cr_assert_not_null (next);
    cr_assert_eq (s_operate (client, ZJOB_CMD_CANCEL, id, status, sizeof (status)), ZJOB_OK);
    cr_assert_str_eq (status, "cancelled");
    control = s_expect_keeping_jobs (worker, ZJOB_CMD_CANCEL);
    cr_assert_not_null (control, "worker not told to cancel");
    cr_assert_str_eq (zjob_msg_str (control, "id"), id);
    job = s_take_none (worker);
    cr_assert_null (job, "a job was sent before the cancelled one was let go");
    zjob_msg_begin (s_builder, ZJOB_CMD_OK, zjob_msg_request_id (control));
    zjob_msg_add_str (s_builder, "id", id);
    s_send (worker);
    zjob_msg_destroy (&control);
    job = s_take (worker, S_WAIT);
    cr_assert_not_null (job, "the slot was not given back");
    cr_assert_str_eq (job->id, next);
    zjob_job_destroy (&job);

    //  A late RESULT for the cancelled job changes nothing and is no error
    uint8_t outputs [32];
    size_t outputs_size = s_map (outputs, sizeof (outputs), "ok", 1);
    zjob_msg_t *reply = s_result (worker, id, outputs, outputs_size);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_status (client, id), ZJOB_CANCELLED);
    free (id);
    free (next);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}


//  --------------------------------------------------------------------------
//  Bad input: each class answered (or dropped), and the broker goes on

//  Send raw bytes as one frame (or several) on sock
static void
s_send_raw (zsock_t *sock, const void *data, size_t size, bool more)
{
    cr_assert_neq (zmq_send (zsock_resolve (sock), data, size, more ? ZMQ_SNDMORE : 0), -1);
}

//  [version, command, request_id, body] packed by hand, to say what the
//  codec never would
static size_t
s_envelope (uint8_t *buffer, size_t max, uint64_t version, const char *command,
            uint64_t request_id, const char *key, int value_kind)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 4);
    msgpack_pack_uint64 (&pk, version);
    msgpack_pack_str_with_body (&pk, command, strlen (command));
    msgpack_pack_uint64 (&pk, request_id);
    msgpack_pack_map (&pk, key ? 1 : 0);
    if (key) {
        msgpack_pack_str_with_body (&pk, key, strlen (key));
        if (value_kind == 0)
            msgpack_pack_int (&pk, 42);  //  A number where a string belongs
        else
            msgpack_pack_str_with_body (&pk, "01JD6ZQ8XKTBV3M9W2N4", 20);
    }
    cr_assert (sbuf.size <= max);
    memcpy (buffer, sbuf.data, sbuf.size);
    size_t size = sbuf.size;
    msgpack_sbuffer_destroy (&sbuf);
    return size;
}

//  Expect an ERROR with code for request_id as the next reply
static void
s_expect_error (zsock_t *sock, zjob_route_t route, uint64_t request_id, int code)
{
    zjob_msg_t *reply = zjob_test_recv (sock, route, S_WAIT);
    cr_assert_not_null (reply, "no reply (expected %d)", code);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_ERROR, "expected ERROR %d, got %s",
                  code, zjob_msg_command_name (reply));
    cr_assert_eq (zjob_msg_request_id (reply), request_id);
    zjob_error_t err;
    cr_assert_eq (zjob_msg_error (reply, &err), code, "expected %d, got %d %s", code,
                  err.code, err.text);
    cr_assert_gt (strlen (err.text), 0);
    zjob_msg_destroy (&reply);
}

//  PING works, and is the very next reply (nothing was left queued)
static void
s_expect_serving (zsock_t *client)
{
    zjob_msg_begin (s_builder, ZJOB_CMD_PING, ++s_request);
    s_send (client);
    zjob_msg_t *reply = zjob_test_recv (client, ZJOB_ROUTE_BROKER_CLIENT, S_WAIT);
    cr_assert_not_null (reply, "broker stopped answering");
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    cr_assert_eq (zjob_msg_request_id (reply), s_request);
    cr_assert_eq (zjob_msg_uint (reply, "version", 0), ZJOB_PROTO_VERSION);
    zjob_msg_destroy (&reply);
}

//  Envelopes refused with a 4xx, each answered by its request id (71-76):
//  two frames, an unknown command, another route's, another version, a
//  field of the wrong type, a required field missing
static void
s_bad_envelopes_refused (zsock_t *client)
{
    uint8_t buffer [256];
    size_t size;
    //  Two frames: refused, answered by the first frame's request id
    size = s_envelope (buffer, sizeof (buffer), 1, "PING", 71, NULL, 0);
    s_send_raw (client, buffer, size, true);
    s_send_raw (client, "extra", 5, false);
    s_expect_error (client, ZJOB_ROUTE_BROKER_CLIENT, 71, ZJOB_BAD_REQUEST);

    //  Unknown command; a command of another route; another version
    size = s_envelope (buffer, sizeof (buffer), 1, "LAUNCH", 72, NULL, 0);
    s_send_raw (client, buffer, size, false);
    s_expect_error (client, ZJOB_ROUTE_BROKER_CLIENT, 72, ZJOB_BAD_REQUEST);
    size = s_envelope (buffer, sizeof (buffer), 1, "READY", 73, NULL, 0);
    s_send_raw (client, buffer, size, false);
    s_expect_error (client, ZJOB_ROUTE_BROKER_CLIENT, 73, ZJOB_BAD_REQUEST);
    size = s_envelope (buffer, sizeof (buffer), 2, "PING", 74, NULL, 0);
    s_send_raw (client, buffer, size, false);
    s_expect_error (client, ZJOB_ROUTE_BROKER_CLIENT, 74, ZJOB_VERSION_MISMATCH);

    //  A field of the wrong type; a required field missing
    size = s_envelope (buffer, sizeof (buffer), 1, "GET", 75, "id", 0);
    s_send_raw (client, buffer, size, false);
    s_expect_error (client, ZJOB_ROUTE_BROKER_CLIENT, 75, ZJOB_BAD_REQUEST);
    size = s_envelope (buffer, sizeof (buffer), 1, "GET", 76, NULL, 0);
    s_send_raw (client, buffer, size, false);
    s_expect_error (client, ZJOB_ROUTE_BROKER_CLIENT, 76, ZJOB_BAD_REQUEST);
}

//  A SUBMIT whose job has inputs over ZJOB_DATA_MAX, as request
static void
s_send_too_large_inputs (zsock_t *client, uint64_t request)
{
    uint8_t *big = (uint8_t *) malloc (ZJOB_DATA_MAX + 16);
    cr_assert_not_null (big);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 4);
    msgpack_pack_uint64 (&pk, 1);
    msgpack_pack_str_with_body (&pk, "SUBMIT", 6);
    msgpack_pack_uint64 (&pk, request);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "jobs", 4);
    msgpack_pack_array (&pk, 1);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "workflow_id", 11);
    msgpack_pack_str_with_body (&pk, "big", 3);
    msgpack_pack_str_with_body (&pk, "inputs", 6);
    memset (big, 0x80, ZJOB_DATA_MAX + 16);  //  Any bytes: the size decides
    msgpack_pack_bin_with_body (&pk, big, ZJOB_DATA_MAX + 16);
    s_send_raw (client, sbuf.data, sbuf.size, false);
    msgpack_sbuffer_destroy (&sbuf);
    free (big);
}

Test (broker, every_class_of_bad_input_is_answered_and_harmless)
{
    s_start ("max-message", "4194304", NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    char *kept = zjob_test_submit (client, "keep", "high", NULL);
    cr_assert_not_null (kept);
    uint8_t buffer [256];
    size_t size;

    //  Garbage, and an empty frame: no request id, dropped
    s_send_raw (client, "\xc1\xc1\xc1 not msgpack", 15, false);
    s_send_raw (client, "", 0, false);
    s_expect_serving (client);

    s_bad_envelopes_refused (client);

    //  An unknown job id; an illegal transition
    size = s_envelope (buffer, sizeof (buffer), 1, "GET", 77, "id", 1);
    s_send_raw (client, buffer, size, false);
    s_expect_error (client, ZJOB_ROUTE_BROKER_CLIENT, 77, ZJOB_NOT_FOUND);
    zjob_msg_begin (s_builder, ZJOB_CMD_RESUME, 78);
    zjob_msg_add_str (s_builder, "id", kept);
    s_send (client);
    s_expect_error (client, ZJOB_ROUTE_BROKER_CLIENT, 78, ZJOB_CONFLICT);

    //  A field over its limit: 413, answered
    s_send_too_large_inputs (client, 79);
    s_expect_error (client, ZJOB_ROUTE_BROKER_CLIENT, 79, ZJOB_TOO_LARGE);

    //  A message over max-message: libzmq drops the connection before the
    //  broker reads it, the DEALER reconnects, and the broker goes on
    uint8_t *huge = (uint8_t *) calloc (1, 5 << 20);
    cr_assert_not_null (huge);
    size = s_envelope (huge, 64, 1, "PING", 80, NULL, 0);
    s_send_raw (client, huge, 5 << 20, false);
    free (huge);
    zjob_msg_t *nothing = zjob_test_recv (client, ZJOB_ROUTE_BROKER_CLIENT, 300);
    cr_assert_null (nothing, "an oversize message was answered");
    s_expect_serving (client);

    //  Worker side: a malformed RESULT is a 400; a good one before READY
    //  is told to register
    zsock_t *worker = zjob_test_dealer (s_workers);
    size = s_envelope (buffer, sizeof (buffer), 1, "RESULT", 81, "id", 1);
    s_send_raw (worker, buffer, size, false);
    s_expect_error (worker, ZJOB_ROUTE_BROKER_WORKER, 81, ZJOB_BAD_REQUEST);
    uint8_t outputs [32];
    size_t outputs_size = s_map (outputs, sizeof (outputs), "ok", 1);
    zjob_msg_t *reply = s_result (worker, kept, outputs, outputs_size);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_RECONNECT);
    zjob_msg_destroy (&reply);
    zsock_destroy (&worker);

    worker = s_worker ("w-bad", "keep", 1);
    zjob_job_t *job = s_take (worker, S_WAIT);
    cr_assert_not_null (job);
    cr_assert_str_eq (job->id, kept);
    zjob_job_destroy (&job);
    char *queued = zjob_test_submit (client, "keep", NULL, NULL);
    cr_assert_not_null (queued);

    //  A worker reporting a job it does not hold, and one that is unknown
    reply = s_result (worker, queued, outputs, outputs_size);
    cr_assert_eq (s_code (reply), ZJOB_CONFLICT);
    zjob_msg_destroy (&reply);
    reply = s_result (worker, "01JD6ZQ8XKTBV3M9W2N4", outputs, outputs_size);
    cr_assert_eq (s_code (reply), ZJOB_NOT_FOUND);
    zjob_msg_destroy (&reply);
    //  A RESULT with a bad status: 400
    zjob_msg_begin (s_builder, ZJOB_CMD_RESULT, 82);
    zjob_msg_add_str (s_builder, "id", kept);
    zjob_msg_add_str (s_builder, "status", "running");
    s_send (worker);
    s_expect_error (worker, ZJOB_ROUTE_BROKER_WORKER, 82, ZJOB_BAD_REQUEST);

    //  Nothing was lost: the held job completes, the queued one is there
    reply = s_result (worker, kept, outputs, outputs_size);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_status (client, kept), ZJOB_COMPLETED);
    s_expect_serving (client);
    free (kept);
    free (queued);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}


//  --------------------------------------------------------------------------
//  Many clients, idempotency, figures

Test (broker, a_hundred_concurrent_clients)
{
    s_start (NULL);
    enum { CLIENTS = 100 };
    zsock_t *clients [CLIENTS];
    zpoller_t *poller = zpoller_new (NULL);
    for (int index = 0; index < CLIENTS; index++) {
        clients [index] = zjob_test_dealer (s_clients);
        cr_assert_not_null (clients [index]);
        zpoller_add (poller, clients [index]);
    }
    //  All submit at once, then all read; then all GET
    char ids [CLIENTS][ZJOB_ID_LEN + 1];
    for (int index = 0; index < CLIENTS; index++) {
        char workflow [32];
        snprintf (workflow, sizeof (workflow), "wf-%d", index % 7);
        zjob_spec_t spec = { .workflow_id = workflow };
        zjob_msg_begin (s_builder, ZJOB_CMD_SUBMIT, 500 + index);
        zjob_msg_add_specs (s_builder, "jobs", &spec, 1);
        s_send (clients [index]);
    }
    for (int index = 0; index < CLIENTS; index++) {
        zjob_msg_t *reply = zjob_test_recv (clients [index], ZJOB_ROUTE_BROKER_CLIENT, S_WAIT);
        cr_assert_not_null (reply, "client %d: no reply", index);
        cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
        cr_assert_eq (zjob_msg_request_id (reply), (uint64_t) (500 + index));
        size_t count = 0;
        const char *const *got = zjob_msg_strs (reply, "ids", &count);
        cr_assert_eq (count, 1);
        snprintf (ids [index], sizeof (ids [index]), "%s", got [0]);
        zjob_msg_destroy (&reply);
    }
    for (int index = 0; index < CLIENTS; index++) {
        zjob_msg_begin (s_builder, ZJOB_CMD_GET, 900 + index);
        zjob_msg_add_str (s_builder, "id", ids [index]);
        s_send (clients [index]);
    }
    for (int index = 0; index < CLIENTS; index++) {
        zjob_msg_t *reply = zjob_test_recv (clients [index], ZJOB_ROUTE_BROKER_CLIENT, S_WAIT);
        cr_assert_not_null (reply);
        cr_assert_eq (zjob_msg_request_id (reply), (uint64_t) (900 + index));
        zjob_job_t *job = zjob_msg_job (reply, "job", NULL);
        cr_assert_not_null (job);
        cr_assert_str_eq (job->id, ids [index]);
        zjob_job_destroy (&job);
        zjob_msg_destroy (&reply);
    }
    //  Ids are distinct
    for (int index = 1; index < CLIENTS; index++)
        cr_assert_str_neq (ids [index], ids [index - 1]);
    zpoller_destroy (&poller);
    for (int index = 0; index < CLIENTS; index++)
        zsock_destroy (&clients [index]);
}

//  The broker waits on its sockets' fds, which signal edges only (see
//  zjob_broker.c's banner): an input whose signal a send swallowed would
//  wait for the next timer. With a 10 s heartbeat, every answer here must
//  still come within S_WAIT, over rounds in which the broker reads and
//  sends on each socket in the same passes: two clients, a worker, and a
//  subscriber that makes every change publish an event.
Test (broker, no_message_waits_for_a_timer)
{
    s_start ("heartbeat", "10s", NULL);
    zsock_t *sub = s_subscriber ("");
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *other = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w1.fast", "fast", 1);
    int64_t slowest = 0;
    for (int round = 0; round < 2000; round++) {
        int64_t start = zclock_mono ();
        zjob_spec_t spec = { .workflow_id = "fast" };
        zjob_msg_begin (s_builder, ZJOB_CMD_SUBMIT, ++s_request);
        zjob_msg_add_specs (s_builder, "jobs", &spec, 1);
        s_send (client);
        uint64_t submitted = s_request;
        zjob_msg_begin (s_builder, ZJOB_CMD_PING, ++s_request);
        s_send (other);
        zjob_msg_t *reply = zjob_test_recv (client, ZJOB_ROUTE_BROKER_CLIENT, S_WAIT);
        cr_assert_not_null (reply, "round %d: no answer to SUBMIT", round);
        cr_assert_eq (zjob_msg_request_id (reply), submitted);
        cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
        zjob_msg_destroy (&reply);
        reply = zjob_test_recv (other, ZJOB_ROUTE_BROKER_CLIENT, S_WAIT);
        cr_assert_not_null (reply, "round %d: no answer to PING", round);
        zjob_msg_destroy (&reply);
        zjob_job_t *job = s_take (worker, S_WAIT);
        cr_assert_not_null (job, "round %d: no JOB", round);
        reply = s_result (worker, job->id, NULL, 0);
        cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK, "round %d", round);
        zjob_msg_destroy (&reply);
        zjob_job_destroy (&job);
        int64_t took = zclock_mono () - start;
        slowest = took > slowest ? took : slowest;
    }
    //  A round that waited for a timer took seconds; none is near that
    cr_assert_lt (slowest, S_WAIT, "slowest round %" PRId64 " ms", slowest);
    zsock_destroy (&sub);
    zsock_destroy (&worker);
    zsock_destroy (&other);
    zsock_destroy (&client);
}

Test (broker, a_retried_create_with_a_key_creates_once)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    char *first = zjob_test_submit (client, "pay", NULL, "order-1234");
    char *again = zjob_test_submit (client, "pay", NULL, "order-1234");
    cr_assert_not_null (first);
    cr_assert_not_null (again);
    cr_assert_str_eq (first, again);

    //  In a batch: the known key, a new key twice, no key
    zjob_spec_t specs [4] = {
        { .workflow_id = "pay", .idempotency_key = "order-5678" },
        { .workflow_id = "pay", .idempotency_key = "order-1234" },
        { .workflow_id = "pay", .idempotency_key = "order-5678" },
        { .workflow_id = "pay" }
    };
    zjob_msg_begin (s_builder, ZJOB_CMD_SUBMIT, ++s_request);
    zjob_msg_add_specs (s_builder, "jobs", specs, 4);
    zjob_msg_t *reply = s_call (client);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK, "%s", zjob_msg_str (reply, "message"));
    size_t count = 0, existing_count = 0;
    const char *const *ids = zjob_msg_strs (reply, "ids", &count);
    cr_assert_eq (count, 4);
    cr_assert_str_eq (ids [1], first);
    cr_assert_str_eq (ids [0], ids [2]);
    cr_assert_str_neq (ids [0], ids [3]);
    cr_assert_str_neq (ids [0], first);
    const msgpack_object *existing = zjob_msg_field (reply, "existing");
    cr_assert_not_null (existing);
    existing_count = existing->via.array.size;
    cr_assert_eq (existing_count, 2);
    cr_assert_eq (existing->via.array.ptr [0].via.u64, 1);
    cr_assert_eq (existing->via.array.ptr [1].via.u64, 2);
    zjob_msg_destroy (&reply);

    //  Deleting the job frees its key
    cr_assert_eq (s_operate (client, ZJOB_CMD_DELETE, first, NULL, 0), ZJOB_OK);
    char *third = zjob_test_submit (client, "pay", NULL, "order-1234");
    cr_assert_not_null (third);
    cr_assert_str_neq (third, first);
    free (first);
    free (again);
    free (third);
    zsock_destroy (&client);
}

//  STATS "jobs": the number of stored jobs
static uint64_t
s_stored_jobs (zsock_t *client)
{
    zjob_msg_begin (s_builder, ZJOB_CMD_STATS, ++s_request);
    zjob_msg_t *reply = s_call (client);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    uint64_t jobs = zjob_msg_uint (reply, "jobs", UINT64_MAX);
    zjob_msg_destroy (&reply);
    return jobs;
}

//  SUBMIT specs; the reply must be ERROR 400 whose message names prefix
static void
s_submit_refused (zsock_t *client, const zjob_spec_t *specs, size_t count, const char *prefix)
{
    zjob_msg_begin (s_builder, ZJOB_CMD_SUBMIT, ++s_request);
    zjob_msg_add_specs (s_builder, "jobs", specs, count);
    zjob_msg_t *reply = s_call (client);
    zjob_error_t err;
    cr_assert_eq (zjob_msg_error (reply, &err), ZJOB_BAD_REQUEST, "got %d %s", err.code, err.text);
    cr_assert (strstr (err.text, prefix) == err.text, "\"%s\" should start with \"%s\"",
               err.text, prefix);
    zjob_msg_destroy (&reply);
}

Test (broker, a_bad_spec_among_known_keys_is_named_by_its_index_in_the_batch)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    char *known = zjob_test_submit (client, "pay", NULL, "known-1");
    char *also = zjob_test_submit (client, "pay", NULL, "known-2");
    cr_assert_not_null (known);
    cr_assert_not_null (also);
    const char *twice [] = { "a", "a" };

    //  Two known keys ahead of a good new spec and a bad one (a tag given
    //  twice): the bad one is jobs[3], not jobs[1] of the new specs
    zjob_spec_t specs [6] = {
        { .workflow_id = "pay", .idempotency_key = "known-1" },
        { .workflow_id = "pay", .idempotency_key = "known-2" },
        { .workflow_id = "pay", .idempotency_key = "new-1" },
        { .workflow_id = "pay", .tags = twice, .tag_count = 2 },
    };
    s_submit_refused (client, specs, 4, "jobs[3]: tags:");

    //  Known keys and a key repeated within the batch, all left out of the
    //  creation, before and after new specs
    specs [0] = (zjob_spec_t){ .workflow_id = "pay", .idempotency_key = "new-2" };
    specs [1] = (zjob_spec_t){ .workflow_id = "pay", .idempotency_key = "known-1" };
    specs [2] = (zjob_spec_t){ .workflow_id = "pay", .idempotency_key = "new-2" };
    specs [3] = (zjob_spec_t){ .workflow_id = "pay" };
    specs [4] = (zjob_spec_t){ .workflow_id = "pay", .idempotency_key = "known-2" };
    specs [5] = (zjob_spec_t){ .workflow_id = "pay", .tags = twice, .tag_count = 2 };
    s_submit_refused (client, specs, 6, "jobs[5]: tags:");
    //  The bad spec first: nothing is left out ahead of it
    specs [0] = specs [5];
    s_submit_refused (client, specs, 5, "jobs[0]: tags:");
    //  Only new specs: the manager's index is the client's
    zjob_spec_t fresh [2] = {
        { .workflow_id = "pay" },
        { .workflow_id = "pay", .tags = twice, .tag_count = 2 }
    };
    s_submit_refused (client, fresh, 2, "jobs[1]: tags:");

    //  All or none: no refused batch created a job
    cr_assert_eq (s_stored_jobs (client), 2);
    free (known);
    free (also);
    zsock_destroy (&client);
}

//  STATS after stats_workers_list_and_bulk_operations's start: 6 jobs
//  (4 alpha, 2 beta), one worker of 2 slots holding one job
static void
s_check_stats (zsock_t *client)
{
    zjob_msg_begin (s_builder, ZJOB_CMD_STATS, ++s_request);
    zjob_msg_t *reply = s_call (client);
    zjob_error_t err;
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_STATS, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (reply, "jobs", 0), 6);
    cr_assert_eq (zjob_msg_uint (reply, "queued", 0), 4);
    cr_assert_eq (zjob_msg_uint (reply, "active", 0), 1);
    cr_assert_eq (zjob_msg_uint (reply, "workers", 0), 1);
    cr_assert_eq (zjob_msg_uint (reply, "slots", 0), 2);
    cr_assert_eq (zjob_msg_uint (reply, "busy", 0), 1);
    cr_assert (zjob_msg_has (reply, "rates"));
    cr_assert (zjob_msg_has (reply, "uptime_ms"));
    const msgpack_object *by_workflow = zjob_msg_field (reply, "by_workflow");
    cr_assert_not_null (by_workflow);
    cr_assert_eq (by_workflow->type, MSGPACK_OBJECT_MAP);
    cr_assert_eq (by_workflow->via.map.size, 2);
    bool seen_beta = false;
    for (uint32_t index = 0; index < by_workflow->via.map.size; index++) {
        const msgpack_object_kv *kv = &by_workflow->via.map.ptr [index];
        if (kv->key.via.str.size == 4 && memcmp (kv->key.via.str.ptr, "beta", 4) == 0) {
            seen_beta = true;
            cr_assert_eq (kv->val.via.map.size, 1);  //  Only "queued": 2
            cr_assert_eq (kv->val.via.map.ptr [0].val.via.u64, 2);
        }
    }
    cr_assert (seen_beta);
    zjob_msg_destroy (&reply);
}

//  LIST of the alpha jobs, newest first: 4 of them, newest first
static void
s_check_list (zsock_t *client, const char *newest)
{
    zjob_query_t query;
    memset (&query, 0, sizeof (query));
    query.filter.workflow_id = "alpha";
    query.descending = true;
    zjob_msg_begin (s_builder, ZJOB_CMD_LIST, ++s_request);
    zjob_msg_add_query (s_builder, &query);
    zjob_msg_t *reply = s_call (client);
    zjob_error_t err;
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_LIST, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (reply, "total", 0), 4);
    zjob_job_t **jobs = NULL;
    size_t count = 0;
    cr_assert_eq (zjob_msg_jobs (reply, "jobs", &jobs, &count, &err), 0);
    cr_assert_eq (count, 4);
    cr_assert_str_eq (jobs [0]->id, newest);
    for (size_t index = 0; index < count; index++)
        zjob_job_destroy (&jobs [index]);
    free (jobs);
    zjob_msg_destroy (&reply);
}

Test (broker, stats_workers_list_and_bulk_operations)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    char *ids [6];
    for (int index = 0; index < 6; index++) {
        ids [index] = zjob_test_submit (client, index < 4 ? "alpha" : "beta", NULL, NULL);
        cr_assert_not_null (ids [index]);
    }
    zsock_t *worker = s_worker ("w-stats", "alpha", 2);
    zjob_job_t *held = s_take (worker, S_WAIT);
    cr_assert_not_null (held);
    zjob_job_t *second = s_take (worker, S_WAIT);
    cr_assert_not_null (second);
    //  Completed, with no credit back: the worker keeps one job
    zjob_msg_begin (s_builder, ZJOB_CMD_RESULT, ++s_request);
    zjob_msg_add_str (s_builder, "id", second->id);
    zjob_msg_add_str (s_builder, "status", "completed");
    zjob_msg_add_uint (s_builder, "credit", 0);
    s_send (worker);
    zjob_msg_t *reply = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_OK, S_WAIT);
    cr_assert_not_null (reply);
    zjob_msg_destroy (&reply);

    s_check_stats (client);
    zjob_error_t err;

    zjob_msg_begin (s_builder, ZJOB_CMD_WORKERS, ++s_request);
    reply = s_call (client);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_WORKERS, &err), 0, "%s", err.text);
    const msgpack_object *workers = zjob_msg_field (reply, "workers");
    cr_assert_eq (workers->via.array.size, 1);
    zjob_msg_destroy (&reply);

    //  LIST by workflow, newest first
    s_check_list (client, ids [3]);

    //  Bulk CANCEL by filter: only the jobs that can be cancelled count
    zjob_filter_t filter;
    memset (&filter, 0, sizeof (filter));
    filter.workflow_id = "alpha";
    zjob_target_t target = { .filter = &filter };
    zjob_msg_begin (s_builder, ZJOB_CMD_CANCEL, ++s_request);
    zjob_msg_add_target (s_builder, &target);
    reply = s_call (client);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_CANCEL, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (reply, "done", 0), 3);  //  2 queued + 1 running
    cr_assert_eq (zjob_msg_uint (reply, "failed", 99), 0);
    zjob_msg_destroy (&reply);
    //  The worker holding one is told
    zjob_msg_t *control = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_CANCEL,
                                            S_WAIT);
    cr_assert_not_null (control);
    cr_assert_str_eq (zjob_msg_str (control, "id"), held->id);
    zjob_msg_destroy (&control);

    //  Bulk DELETE by ids, one of them unknown
    const char *doomed [] = { ids [4], "01JD6ZQ8XKTBV3M9W2N4" };
    zjob_target_t by_ids = { .ids = doomed, .id_count = 2 };
    zjob_msg_begin (s_builder, ZJOB_CMD_DELETE, ++s_request);
    zjob_msg_add_target (s_builder, &by_ids);
    reply = s_call (client);
    cr_assert_eq (zjob_msg_uint (reply, "done", 0), 1);
    cr_assert_eq (zjob_msg_uint (reply, "failed", 0), 1);
    const msgpack_object *errors = zjob_msg_field (reply, "errors");
    cr_assert_not_null (errors);
    cr_assert_eq (errors->via.array.size, 1);
    zjob_msg_destroy (&reply);
    zjob_job_t *deleted = zjob_test_get (client, ids [4]);
    cr_assert_null (deleted);

    //  CLEANUP with a retention of 0 removes every job finished before
    //  this millisecond: 3 cancelled + 1 completed, once the clock moves
    uint64_t removed = 0;
    int64_t deadline = zclock_mono () + S_WAIT;
    while (removed < 4 && zclock_mono () < deadline) {
        zjob_msg_begin (s_builder, ZJOB_CMD_CLEANUP, ++s_request);
        zjob_msg_add_uint (s_builder, "retention_ms", 0);
        reply = s_call (client);
        cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
        removed += zjob_msg_uint (reply, "deleted", 0);
        zjob_msg_destroy (&reply);
    }
    cr_assert_eq (removed, 4);
    zjob_msg_begin (s_builder, ZJOB_CMD_STATS, ++s_request);
    reply = s_call (client);
    cr_assert_eq (zjob_msg_uint (reply, "jobs", 0), 1);  //  The queued beta job
    zjob_msg_destroy (&reply);

    zjob_job_destroy (&held);
    zjob_job_destroy (&second);
    for (int index = 0; index < 6; index++)
        free (ids [index]);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}


//  --------------------------------------------------------------------------
//  Scheduled jobs

//  The uint at key in a msgpack map, or -1 if absent
static int64_t
s_map_uint (const msgpack_object *map, const char *key)
{
    cr_assert_eq (map->type, MSGPACK_OBJECT_MAP);
    for (uint32_t index = 0; index < map->via.map.size; index++) {
        const msgpack_object_kv *kv = &map->via.map.ptr [index];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen (key)
            && memcmp (kv->key.via.str.ptr, key, strlen (key)) == 0)
            return (int64_t) kv->val.via.u64;
    }
    return -1;
}

Test (broker, a_job_with_run_at_reaches_a_worker_at_its_time)
{
    //  Heartbeats every 2 s: a job that went out at a heartbeat tick
    //  rather than at its time would be seen late
    s_start ("heartbeat", "2s", NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w-sched", "sched", 1);

    //  A critical job not before 400 ms from now, then a low one for now
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "sched";
    spec.priority = ZJOB_PRIORITY_CRITICAL;
    spec.run_at = zjob_clock_ms () + 400;
    zjob_msg_begin (s_builder, ZJOB_CMD_SUBMIT, ++s_request);
    zjob_msg_add_specs (s_builder, "jobs", &spec, 1);
    zjob_msg_t *reply = s_call (client);
    cr_assert_eq (s_code (reply), ZJOB_OK);
    size_t count = 0;
    const char *const *ids = zjob_msg_strs (reply, "ids", &count);
    cr_assert_eq (count, 1);
    char later [ZJOB_ID_LEN + 1];
    snprintf (later, sizeof (later), "%s", ids [0]);
    zjob_msg_destroy (&reply);
    char *now = zjob_test_submit (client, "sched", "low", NULL);
    cr_assert_not_null (now);

    //  The job for now goes first, whatever the other's priority
    zjob_msg_t *msg = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_JOB, S_WAIT);
    cr_assert_not_null (msg, "the job for now was not sent");
    zjob_error_t err;
    zjob_job_t *job = zjob_msg_job (msg, "job", &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_str_eq (job->id, now);
    zjob_job_destroy (&job);
    zjob_msg_destroy (&msg);

    //  Meanwhile the other is queued, but not in the ready queue
    job = zjob_test_get (client, later);
    cr_assert_not_null (job);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_eq (job->run_at, spec.run_at);
    zjob_job_destroy (&job);
    zjob_msg_begin (s_builder, ZJOB_CMD_STATS, ++s_request);
    reply = s_call (client);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_STATS, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (reply, "queued", 99), 0);
    cr_assert_eq (s_map_uint (zjob_msg_field (reply, "by_status"), "queued"), 1);
    zjob_msg_destroy (&reply);

    uint8_t outputs [32];
    size_t outputs_size = s_map (outputs, sizeof (outputs), "ok", 1);
    reply = s_result (worker, now, outputs, outputs_size);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);

    //  Now wait without a word to the broker: only its own timer wakes it
    msg = s_stash_take (worker);
    if (!msg)
        msg = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_JOB, S_WAIT);
    int64_t arrived = zjob_clock_ms ();
    cr_assert_not_null (msg, "the scheduled job was never sent");
    job = zjob_msg_job (msg, "job", &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_str_eq (job->id, later);
    cr_assert_eq (job->attempts, 1);
    cr_assert_geq (job->started_at, spec.run_at, "dispatched %" PRId64 " ms early",
                   spec.run_at - job->started_at);
    cr_assert_geq (arrived, spec.run_at);
    cr_assert_lt (arrived - spec.run_at, 500, "arrived %" PRId64 " ms after its time",
                  arrived - spec.run_at);
    zjob_job_destroy (&job);
    zjob_msg_destroy (&msg);
    free (now);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}
