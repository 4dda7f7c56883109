/*  =========================================================================
    test_zjob_broker - the broker actor, in process, over raw sockets

    Each test starts a broker actor on tcp://127.0.0.1:* (memory store
    unless the test is about the store) and talks to it the way a client,
    a worker and a subscriber would: DEALER and SUB sockets, every message
    built and read with the proto codec. Heartbeats are shortened to
    100 ms so that liveness tests take a fraction of a second; every wait
    has a deadline.
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include "zjob_broker.h"
#include "zjob_manager.h"
#include "zjob_store.h"
#include "helper_zjob_test.h"

#define S_WAIT 3000                     //  msecs any expected message may take

static zactor_t *s_actor = NULL;
static char *s_clients = NULL;          //  Endpoints as bound
static char *s_workers = NULL;
static char *s_events = NULL;
static zjob_msg_builder_t *s_builder = NULL;
static uint64_t s_request = 0;          //  Request ids of this test process
static uint64_t s_heartbeat = 1000;     //  msecs, as the broker was started with

//  Start a broker with these options on ephemeral ports; extra is a
//  NULL-terminated list of name, value pairs
static void
s_start (const char *first, ...)
{
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    zjob_error_t err;
    cr_assert_eq (zjob_broker_config_set (&config, "clients", "tcp://127.0.0.1:*", &err), 0);
    cr_assert_eq (zjob_broker_config_set (&config, "workers", "tcp://127.0.0.1:*", &err), 0);
    cr_assert_eq (zjob_broker_config_set (&config, "events", "tcp://127.0.0.1:*", &err), 0);
    cr_assert_eq (zjob_broker_config_set (&config, "store", "memory:", &err), 0);
    cr_assert_eq (zjob_broker_config_set (&config, "heartbeat", "1s", &err), 0);
    cr_assert_eq (zjob_broker_config_set (&config, "max-concurrent", "0", &err), 0);
    cr_assert_eq (zjob_broker_config_set (&config, "log-level", getenv ("ZJOB_TEST_LOG")? getenv ("ZJOB_TEST_LOG"): "error", &err), 0);
    va_list args;
    va_start (args, first);
    for (const char *name = first; name; name = va_arg (args, const char *)) {
        const char *value = va_arg (args, const char *);
        cr_assert_eq (zjob_broker_config_set (&config, name, value, &err), 0, "%s", err.text);
    }
    va_end (args);
    s_heartbeat = (uint64_t) config.heartbeat_ms;
    //  A fixed port (a restart on the ports of the last run) can be held
    //  for a moment by an outgoing connection that the kernel gave it:
    //  retry binding until a deadline
    int64_t deadline = zclock_mono () + S_WAIT;
    s_actor = zjob_broker_new (&config, &err);
    while (!s_actor && err.code == ZJOB_UNAVAILABLE && zclock_mono () < deadline) {
        zclock_sleep (20);
        s_actor = zjob_broker_new (&config, &err);
    }
    cr_assert_not_null (s_actor, "broker: %d %s", err.code, err.text);
    cr_assert_eq (zjob_broker_endpoints (s_actor, &s_clients, &s_workers, &s_events), 0);
    if (!s_builder)
        s_builder = zjob_msg_builder_new ();
}

static void
s_stop (void)
{
    zactor_destroy (&s_actor);
    zstr_free (&s_clients);
    zstr_free (&s_workers);
    zstr_free (&s_events);
}

static void s_stash_clear (void);

static void
s_teardown (void)
{
    s_stash_clear ();
    s_stop ();
    zjob_msg_builder_destroy (&s_builder);
}

TestSuite (broker, .fini = s_teardown, .timeout = 60);

//  Send what s_builder holds on sock
static void
s_send (zsock_t *sock)
{
    size_t size;
    const uint8_t *data = zjob_msg_end_data (s_builder, &size, NULL);
    cr_assert_not_null (data);
    cr_assert_neq (zmq_send (zsock_resolve (sock), data, size, 0), -1);
}

//  Send s_builder's request and return the reply (which must come)
static zjob_msg_t *
s_call (zsock_t *client)
{
    zjob_msg_t *reply = zjob_test_call (client, s_builder, S_WAIT);
    cr_assert_not_null (reply, "no reply within %d ms", S_WAIT);
    return reply;
}

//  The error code of reply (200 for OK)
static int
s_code (zjob_msg_t *reply)
{
    zjob_error_t err;
    return zjob_msg_error (reply, &err);
}

//  A one-id lifecycle request; returns the reply code
static int
s_operate (zsock_t *client, zjob_cmd_t cmd, const char *id, char *status, size_t size)
{
    zjob_msg_begin (s_builder, cmd, ++s_request);
    zjob_msg_add_str (s_builder, "id", id);
    zjob_msg_t *reply = s_call (client);
    int code = s_code (reply);
    if (status && size)
        snprintf (status, size, "%s", zjob_msg_str (reply, "status")? zjob_msg_str (reply, "status"): "");
    zjob_msg_destroy (&reply);
    return code;
}

static int
s_status (zsock_t *client, const char *id)
{
    zjob_job_t *job = zjob_test_get (client, id);
    cr_assert_not_null (job, "job %s: no GET", id);
    int status = job->status;
    zjob_job_destroy (&job);
    return status;
}

//  A registered worker: READY with these jobs, OK checked; *credit_p
//  gets the credit granted, *drop_count_p the number of jobs dropped
static zsock_t *
s_worker_ready (const char *worker_id, const char *workflow, size_t slots,
                const char *const *jobs, size_t job_count, uint64_t *credit_p,
                size_t *drop_count_p)
{
    zsock_t *worker = zjob_test_dealer (s_workers);
    cr_assert_not_null (worker);
    zjob_msg_begin (s_builder, ZJOB_CMD_READY, ++s_request);
    zjob_msg_add_str (s_builder, "worker_id", worker_id);
    zjob_msg_add_strs (s_builder, "workflows", &workflow, 1);
    zjob_msg_add_uint (s_builder, "slots", slots);
    if (job_count)
        zjob_msg_add_strs (s_builder, "jobs", jobs, job_count);
    s_send (worker);
    zjob_msg_t *reply = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_OK, S_WAIT);
    cr_assert_not_null (reply, "READY of %s not answered", worker_id);
    cr_assert_eq (zjob_msg_request_id (reply), s_request);
    cr_assert_eq (zjob_msg_uint (reply, "heartbeat_ms", 0), s_heartbeat);
    cr_assert_eq (zjob_msg_uint (reply, "liveness", 0), 3);
    if (credit_p)
        *credit_p = zjob_msg_uint (reply, "credit", 0);
    if (drop_count_p)
        zjob_msg_strs (reply, "drop", drop_count_p);
    zjob_msg_destroy (&reply);
    return worker;
}

static zsock_t *
s_worker (const char *worker_id, const char *workflow, size_t slots)
{
    return s_worker_ready (worker_id, workflow, slots, NULL, 0, NULL, NULL);
}

//  JOBs that arrived while a helper waited for something else, kept for
//  s_take: the broker may send a JOB before the OK to a RESULT
#define S_STASH_MAX 64
static struct {
    zsock_t *worker;
    zjob_msg_t *msg;
} s_stash [S_STASH_MAX];

static void
s_stash_job (zsock_t *worker, zjob_msg_t **msg_p)
{
    for (size_t index = 0; index < S_STASH_MAX; index++)
        if (!s_stash [index].msg) {
            s_stash [index].worker = worker;
            s_stash [index].msg = *msg_p;
            *msg_p = NULL;
            return;
        }
    cr_assert_fail ("too many stashed JOBs");
}

static void
s_stash_clear (void)
{
    for (size_t index = 0; index < S_STASH_MAX; index++)
        zjob_msg_destroy (&s_stash [index].msg);
}

static zjob_msg_t *
s_stash_take (zsock_t *worker)
{
    for (size_t index = 0; index < S_STASH_MAX; index++)
        if (s_stash [index].msg && s_stash [index].worker == worker) {
            zjob_msg_t *msg = s_stash [index].msg;
            s_stash [index].msg = NULL;
            return msg;
        }
    return NULL;
}

//  Wait for a JOB on worker, heartbeating meanwhile as a live worker
//  does; returns the job (destroy it), or NULL after timeout_ms
static zjob_job_t *
s_take (zsock_t *worker, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    zjob_msg_t *msg = s_stash_take (worker);
    while (!msg && zclock_mono () < deadline) {
        zframe_t *heartbeat = zjob_msg_empty_new (ZJOB_CMD_HEARTBEAT, ++s_request);
        zjob_test_send (worker, &heartbeat);
        int64_t left = deadline - zclock_mono ();
        msg = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_JOB,
                                (int) (left < 50? left: 50));
    }
    if (!msg)
        return NULL;
    zjob_error_t err;
    zjob_job_t *job = zjob_msg_job (msg, "job", &err);
    cr_assert_not_null (job, "JOB: %s", err.text);
    zjob_msg_destroy (&msg);
    return job;
}

//  Send a RESULT (completed with outputs, or failed) and return the
//  broker's answer
static zjob_msg_t *
s_result (zsock_t *worker, const char *id, const uint8_t *outputs, size_t size)
{
    uint64_t request = ++s_request;
    zjob_msg_begin (s_builder, ZJOB_CMD_RESULT, request);
    zjob_msg_add_str (s_builder, "id", id);
    zjob_msg_add_str (s_builder, "status", outputs? "completed": "failed");
    if (outputs)
        zjob_msg_add_bin (s_builder, "outputs", outputs, size);
    else {
        zjob_msg_add_str (s_builder, "error_kind", "exception");
        zjob_msg_add_str (s_builder, "error_message", "it broke");
    }
    s_send (worker);
    //  Skip what the broker sends meanwhile (JOB, HEARTBEAT)
    int64_t deadline = zclock_mono () + S_WAIT;
    while (zclock_mono () < deadline) {
        zjob_msg_t *reply = zjob_test_recv (worker, ZJOB_ROUTE_BROKER_WORKER,
                                            (int) (deadline - zclock_mono ()));
        if (!reply)
            break;
        zjob_cmd_t cmd = zjob_msg_command (reply);
        if ((cmd == ZJOB_CMD_OK || cmd == ZJOB_CMD_ERROR || cmd == ZJOB_CMD_RECONNECT)
        &&  zjob_msg_request_id (reply) == request)
            return reply;
        if (cmd == ZJOB_CMD_JOB)
            s_stash_job (worker, &reply);
        zjob_msg_destroy (&reply);
    }
    cr_assert_fail ("RESULT for %s not answered", id);
    return NULL;
}

//  {"n": n} as msgpack
static size_t
s_map (uint8_t *buffer, size_t max, const char *key, int n)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, key, strlen (key));
    msgpack_pack_int (&pk, n);
    cr_assert (sbuf.size <= max);
    memcpy (buffer, sbuf.data, sbuf.size);
    size_t size = sbuf.size;
    msgpack_sbuffer_destroy (&sbuf);
    return size;
}

//  Wait until the broker has seen count distinct subscriptions
static void
s_wait_subscriptions (int count)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    while (true) {
        zstr_send (s_actor, "SUBSCRIPTIONS");
        char *seen = zstr_recv (s_actor);
        bool done = seen && atoi (seen) >= count;
        zstr_free (&seen);
        if (done)
            break;
        cr_assert (zclock_mono () < deadline, "subscriptions not seen by the broker");
        zclock_sleep (2);               //  Polling the broker's view, with a deadline
    }
}

//  A SUB socket subscribed to prefix, once the broker has seen it (the
//  count-th distinct subscription)
static zsock_t *
s_subscriber_nth (const char *prefix, int count)
{
    zsock_t *sub = zsock_new (ZMQ_SUB);
    cr_assert_not_null (sub);
    zjob_proto_socket_setup (sub);
    zsock_set_subscribe (sub, prefix);
    cr_assert_eq (zsock_connect (sub, "%s", s_events), 0);
    s_wait_subscriptions (count);
    return sub;
}

static zsock_t *
s_subscriber (const char *prefix)
{
    return s_subscriber_nth (prefix, 1);
}

//  Read events until one of type about id (or any id if NULL); returns it
static zjob_msg_t *
s_event (zsock_t *sub, const char *type, const char *id)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    while (zclock_mono () < deadline) {
        zjob_msg_t *event = zjob_test_recv (sub, ZJOB_ROUTE_EVENTS,
                                            (int) (deadline - zclock_mono ()));
        if (!event)
            break;
        const char *event_type = zjob_msg_str (event, "type");
        const char *event_id = zjob_msg_str (event, "id");
        if (event_type && streq (event_type, type)
        &&  (!id || (event_id && streq (event_id, id))))
            return event;
        zjob_msg_destroy (&event);
    }
    return NULL;
}


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
        .workflow_id = "resize", .inputs = inputs, .inputs_size = inputs_size,
        .priority = ZJOB_PRIORITY_HIGH, .user_id = "alice", .tags = tags, .tag_count = 2
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
//  Dispatch

Test (broker, priorities_respected_across_two_workers)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    const char *order [] = { "low", "critical", "medium", "high",
                             "low", "critical", "medium", "high" };
    for (size_t index = 0; index < 8; index++) {
        char *id = zjob_test_submit (client, "render", order [index], NULL);
        cr_assert_not_null (id);
        free (id);
    }
    //  A job of another workflow, at the top priority, must not be taken
    char *other = zjob_test_submit (client, "encode", "critical", NULL);
    cr_assert_not_null (other);

    zsock_t *workers [2];
    workers [0] = s_worker ("wa", "render", 1);
    workers [1] = s_worker ("wb", "render", 1);
    uint8_t outputs [32];
    size_t outputs_size = s_map (outputs, sizeof (outputs), "ok", 1);
    int served [2] = { 0, 0 };
    //  Round by round: each worker holds one job; the two jobs of a round
    //  are the two best left, so priorities go down, never up
    int expected [4] = { ZJOB_PRIORITY_CRITICAL, ZJOB_PRIORITY_HIGH,
                         ZJOB_PRIORITY_MEDIUM, ZJOB_PRIORITY_LOW };
    for (int round = 0; round < 4; round++) {
        zjob_job_t *jobs [2];
        for (int index = 0; index < 2; index++) {
            jobs [index] = s_take (workers [index], S_WAIT);
            cr_assert_not_null (jobs [index], "round %d: worker %d got nothing", round, index);
            cr_assert_str_eq (jobs [index]->workflow_id, "render");
            cr_assert_eq (jobs [index]->priority, expected [round],
                          "round %d: worker %d got %s", round, index,
                          zjob_priority_name ((zjob_priority_t) jobs [index]->priority));
            served [index]++;
        }
        for (int index = 0; index < 2; index++) {
            zjob_msg_t *reply = s_result (workers [index], jobs [index]->id, outputs, outputs_size);
            cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
            zjob_msg_destroy (&reply);
            zjob_job_destroy (&jobs [index]);
        }
    }
    cr_assert_eq (served [0], 4);
    cr_assert_eq (served [1], 4);
    cr_assert_eq (s_status (client, other), ZJOB_QUEUED);
    free (other);
    zsock_destroy (&workers [0]);
    zsock_destroy (&workers [1]);
    zsock_destroy (&client);
}

Test (broker, credit_bounds_what_a_worker_is_sent)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    for (int index = 0; index < 5; index++) {
        char *id = zjob_test_submit (client, "crunch", NULL, NULL);
        cr_assert_not_null (id);
        free (id);
    }
    uint64_t credit = 0;
    zsock_t *worker = s_worker_ready ("w-credit", "crunch", 3, NULL, 0, &credit, NULL);
    cr_assert_eq (credit, 3);
    zjob_job_t *jobs [3];
    for (int index = 0; index < 3; index++) {
        jobs [index] = s_take (worker, S_WAIT);
        cr_assert_not_null (jobs [index]);
    }
    //  No fourth while all three slots are busy
    zjob_job_t *extra = s_take (worker, 300);
    cr_assert_null (extra, "a fourth job was sent to a 3-slot worker");
    //  A result with credit 0 (draining) frees nothing; CREDIT does
    zjob_msg_begin (s_builder, ZJOB_CMD_RESULT, ++s_request);
    zjob_msg_add_str (s_builder, "id", jobs [0]->id);
    zjob_msg_add_str (s_builder, "status", "failed");
    zjob_msg_add_uint (s_builder, "credit", 0);
    s_send (worker);
    zjob_msg_t *reply = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_OK, S_WAIT);
    cr_assert_not_null (reply);
    zjob_msg_destroy (&reply);
    extra = s_take (worker, 300);
    cr_assert_null (extra, "a job was sent without credit");
    zjob_msg_begin (s_builder, ZJOB_CMD_CREDIT, ++s_request);
    zjob_msg_add_uint (s_builder, "credit", 5);
    s_send (worker);
    extra = s_take (worker, S_WAIT);
    cr_assert_not_null (extra, "CREDIT gave nothing");
    //  Credit never exceeds slots minus jobs held: still one at a time
    zjob_job_t *more = s_take (worker, 300);
    cr_assert_null (more, "credit went past the worker's slots");
    zjob_job_destroy (&extra);
    for (int index = 0; index < 3; index++)
        zjob_job_destroy (&jobs [index]);
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
    zjob_job_t *job = s_take (worker, 300);
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
    control = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_CANCEL, S_WAIT);
    cr_assert_not_null (control, "worker not told to cancel");
    cr_assert_str_eq (zjob_msg_str (control, "id"), id);
    job = s_take (worker, 200);
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
//  Workers that vanish

Test (broker, a_silent_worker_has_its_job_requeued_to_another)
{
    s_start ("heartbeat", "100ms", NULL);
    zsock_t *sub = s_subscriber ("ev/worker_left/");
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *silent = s_worker ("w-silent", "scan", 1);
    char *id = zjob_test_submit (client, "scan", NULL, NULL);
    cr_assert_not_null (id);
    zjob_job_t *job = s_take (silent, S_WAIT);
    cr_assert_not_null (job);
    cr_assert_eq (job->attempts, 1);
    zjob_job_destroy (&job);

    //  The other worker heartbeats; the first says nothing (its socket
    //  stays open, so only the heartbeats can tell)
    zsock_t *alive = s_worker ("w-alive", "scan", 1);
    int64_t start = zclock_mono ();
    job = NULL;
    while (!job && zclock_mono () - start < S_WAIT) {
        zframe_t *heartbeat = zjob_msg_empty_new (ZJOB_CMD_HEARTBEAT, ++s_request);
        zjob_test_send (alive, &heartbeat);
        job = s_take (alive, 50);
    }
    cr_assert_not_null (job, "job not requeued to the live worker");
    cr_assert_str_eq (job->id, id);
    cr_assert_eq (job->attempts, 2);
    zjob_job_destroy (&job);
    //  3 heartbeats of 100 ms, with a tick of slack
    cr_assert_lt (zclock_mono () - start, 1000);
    zjob_msg_t *left = s_event (sub, "worker_left", NULL);
    cr_assert_not_null (left);
    cr_assert_str_eq (zjob_msg_str (left, "worker_id"), "w-silent");
    cr_assert_str_eq (zjob_msg_str (left, "reason"), "expired");
    zjob_msg_destroy (&left);

    //  The silent one, speaking again, is told to register again
    zframe_t *heartbeat = zjob_msg_empty_new (ZJOB_CMD_HEARTBEAT, ++s_request);
    zjob_test_send (silent, &heartbeat);
    zjob_msg_t *reconnect = zjob_test_expect (silent, ZJOB_ROUTE_BROKER_WORKER,
                                              ZJOB_CMD_RECONNECT, S_WAIT);
    cr_assert_not_null (reconnect);
    cr_assert_eq (zjob_msg_request_id (reconnect), s_request);
    zjob_msg_destroy (&reconnect);
    free (id);
    zsock_destroy (&sub);
    zsock_destroy (&silent);
    zsock_destroy (&alive);
    zsock_destroy (&client);
}

Test (broker, a_worker_sending_only_malformed_messages_stays_alive)
{
    //  PROTOCOL.md 10.7: any message is a sign of life, one that does not
    //  decode included
    s_start ("heartbeat", "100ms", NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *garbled = s_worker ("w-garbled", "scan", 1);
    char *id = zjob_test_submit (client, "scan", NULL, NULL);
    zjob_job_t *job = s_take (garbled, S_WAIT);
    cr_assert_not_null (job);
    zjob_job_destroy (&job);
    //  An envelope with an unknown command: [1, "FROB", 7, {}]
    const uint8_t frob [] = { 0x94, 0x01, 0xa4, 'F', 'R', 'O', 'B', 0x07, 0x80 };
    //  For 8 liveness periods (3 x 100 ms), nothing but that, each answered
    int64_t start = zclock_mono ();
    while (zclock_mono () - start < 2400) {
        cr_assert_neq (zmq_send (zsock_resolve (garbled), frob, sizeof (frob), 0), -1);
        zjob_msg_t *reply = zjob_test_expect (garbled, ZJOB_ROUTE_BROKER_WORKER,
                                              ZJOB_CMD_ERROR, S_WAIT);
        cr_assert_not_null (reply, "a malformed message was not answered");
        cr_assert_eq (s_code (reply), ZJOB_BAD_REQUEST);
        zjob_msg_destroy (&reply);
        zmq_pollitem_t item = { zsock_resolve (garbled), 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, 50);        //  Paced by the poll's timeout
    }
    //  Still registered, still holding its job
    job = zjob_test_get (client, id);
    cr_assert_not_null (job);
    cr_assert_eq (job->status, ZJOB_RUNNING, "the worker was expired");
    cr_assert_eq (job->attempts, 1);
    zjob_job_destroy (&job);
    zjob_msg_begin (s_builder, ZJOB_CMD_WORKERS, ++s_request);
    zjob_msg_t *reply = s_call (client);
    const msgpack_object *workers = zjob_msg_field (reply, "workers");
    cr_assert_not_null (workers);
    cr_assert_eq (workers->via.array.size, 1);
    zjob_msg_destroy (&reply);
    free (id);
    zsock_destroy (&garbled);
    zsock_destroy (&client);
}

Test (broker, a_result_retried_while_syncs_fail_is_not_acknowledged)
{
    //  Disk full: nothing is acknowledged unless the state it acknowledges
    //  is durable, whether or not this message changed it
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w-disk", "scan", 1);
    char *id = zjob_test_submit (client, "scan", NULL, NULL);
    zjob_job_t *job = s_take (worker, S_WAIT);
    cr_assert_not_null (job);
    zjob_job_destroy (&job);
    zjob_store_fail_syncs (true);
    uint8_t outputs [32];
    size_t outputs_size = s_map (outputs, sizeof (outputs), "n", 1);
    zjob_msg_t *reply = s_result (worker, id, outputs, outputs_size);
    cr_assert_eq (s_code (reply), ZJOB_UNAVAILABLE);
    zjob_msg_destroy (&reply);
    //  The same RESULT again changes nothing in memory, but the completion
    //  is still unwritten: not acknowledged either
    reply = s_result (worker, id, outputs, outputs_size);
    cr_assert_eq (s_code (reply), ZJOB_UNAVAILABLE, "acknowledged while syncs fail");
    zjob_msg_destroy (&reply);
    //  A read is answered all the same
    zjob_job_t *read = zjob_test_get (client, id);
    cr_assert_not_null (read, "reads are answered while syncs fail");
    zjob_job_destroy (&read);
    //  The disk has room again: the retry is acknowledged
    zjob_store_fail_syncs (false);
    reply = s_result (worker, id, outputs, outputs_size);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_status (client, id), ZJOB_COMPLETED);
    free (id);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}

Test (broker, no_job_is_dispatched_while_syncs_fail)
{
    //  While the store cannot write, dispatching (a change) stops, so the
    //  unwritten backlog stops growing; it resumes after a good sync
    s_start ("heartbeat", "100ms", NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w-full", "scan", 1);
    char *first = zjob_test_submit (client, "scan", NULL, NULL);
    zjob_job_t *job = s_take (worker, S_WAIT);
    cr_assert_not_null (job);
    zjob_job_destroy (&job);
    char *second = zjob_test_submit (client, "scan", NULL, NULL);    //  Durable, waiting
    zjob_store_fail_syncs (true);
    //  A write finds the store failing (until a sync fails, nothing is
    //  known: a pass dispatches durable jobs before its sync)
    cr_assert_null (zjob_test_submit (client, "other", NULL, NULL), "a SUBMIT was acknowledged");
    //  The first one's RESULT frees the slot: the second must not go out
    uint8_t outputs [32];
    size_t outputs_size = s_map (outputs, sizeof (outputs), "n", 1);
    zjob_msg_t *reply = s_result (worker, first, outputs, outputs_size);
    cr_assert_eq (s_code (reply), ZJOB_UNAVAILABLE);
    zjob_msg_destroy (&reply);
    job = s_take (worker, 600);         //  Six heartbeat periods of passes
    cr_assert_null (job, "job %s dispatched while syncs fail", job? job->id: "");
    zjob_store_fail_syncs (false);
    job = s_take (worker, S_WAIT);
    cr_assert_not_null (job, "dispatch did not resume after a good sync");
    cr_assert_str_eq (job->id, second);
    zjob_job_destroy (&job);
    free (first);
    free (second);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}

Test (broker, a_disconnected_worker_has_its_job_requeued_at_once)
{
    //  Heartbeats of 2 s: only the TCP disconnect can explain a fast requeue
    s_start ("heartbeat", "2s", NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *gone = zsock_new (ZMQ_DEALER);
    zjob_proto_socket_setup (gone);
    zsock_connect (gone, "%s", s_workers);
    zjob_msg_begin (s_builder, ZJOB_CMD_READY, ++s_request);
    const char *workflow = "ocr";
    zjob_msg_add_str (s_builder, "worker_id", "w-gone");
    zjob_msg_add_strs (s_builder, "workflows", &workflow, 1);
    zjob_msg_add_uint (s_builder, "slots", 1);
    s_send (gone);
    zjob_msg_t *ok = zjob_test_expect (gone, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_OK, S_WAIT);
    cr_assert_not_null (ok);
    zjob_msg_destroy (&ok);
    char *id = zjob_test_submit (client, "ocr", NULL, NULL);
    zjob_job_t *job = s_take (gone, S_WAIT);
    cr_assert_not_null (job);
    zjob_job_destroy (&job);

    zsock_t *other = zjob_test_dealer (s_workers);
    zjob_msg_begin (s_builder, ZJOB_CMD_READY, ++s_request);
    zjob_msg_add_str (s_builder, "worker_id", "w-other");
    zjob_msg_add_strs (s_builder, "workflows", &workflow, 1);
    zjob_msg_add_uint (s_builder, "slots", 1);
    s_send (other);
    ok = zjob_test_expect (other, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_OK, S_WAIT);
    cr_assert_not_null (ok);
    zjob_msg_destroy (&ok);

    int64_t start = zclock_mono ();
    zsock_destroy (&gone);              //  The worker process dies
    job = s_take (other, S_WAIT);
    cr_assert_not_null (job, "job not requeued after the disconnect");
    cr_assert_str_eq (job->id, id);
    cr_assert_eq (job->attempts, 2);
    cr_assert_lt (zclock_mono () - start, 1500, "requeue took %d ms",
                  (int) (zclock_mono () - start));
    zjob_job_destroy (&job);
    free (id);
    zsock_destroy (&other);
    zsock_destroy (&client);
}


//  --------------------------------------------------------------------------
//  Bad input: each class answered (or dropped), and the broker goes on

//  Send raw bytes as one frame (or several) on sock
static void
s_send_raw (zsock_t *sock, const void *data, size_t size, bool more)
{
    cr_assert_neq (zmq_send (zsock_resolve (sock), data, size, more? ZMQ_SNDMORE: 0), -1);
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
    msgpack_pack_map (&pk, key? 1: 0);
    if (key) {
        msgpack_pack_str_with_body (&pk, key, strlen (key));
        if (value_kind == 0)
            msgpack_pack_int (&pk, 42);     //  A number where a string belongs
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

    //  An unknown job id; an illegal transition
    size = s_envelope (buffer, sizeof (buffer), 1, "GET", 77, "id", 1);
    s_send_raw (client, buffer, size, false);
    s_expect_error (client, ZJOB_ROUTE_BROKER_CLIENT, 77, ZJOB_NOT_FOUND);
    zjob_msg_begin (s_builder, ZJOB_CMD_RESUME, 78);
    zjob_msg_add_str (s_builder, "id", kept);
    s_send (client);
    s_expect_error (client, ZJOB_ROUTE_BROKER_CLIENT, 78, ZJOB_CONFLICT);

    //  A field over its limit: 413, answered
    uint8_t *big = (uint8_t *) malloc (ZJOB_DATA_MAX + 16);
    cr_assert_not_null (big);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 4);
    msgpack_pack_uint64 (&pk, 1);
    msgpack_pack_str_with_body (&pk, "SUBMIT", 6);
    msgpack_pack_uint64 (&pk, 79);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "jobs", 4);
    msgpack_pack_array (&pk, 1);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "workflow_id", 11);
    msgpack_pack_str_with_body (&pk, "big", 3);
    msgpack_pack_str_with_body (&pk, "inputs", 6);
    memset (big, 0x80, ZJOB_DATA_MAX + 16);     //  Any bytes: the size decides
    msgpack_pack_bin_with_body (&pk, big, ZJOB_DATA_MAX + 16);
    s_send_raw (client, sbuf.data, sbuf.size, false);
    msgpack_sbuffer_destroy (&sbuf);
    s_expect_error (client, ZJOB_ROUTE_BROKER_CLIENT, 79, ZJOB_TOO_LARGE);

    //  A message over max-message: libzmq drops the connection before the
    //  broker reads it, the DEALER reconnects, and the broker goes on
    uint8_t *huge = (uint8_t *) calloc (1, 5 << 20);
    cr_assert_not_null (huge);
    size = s_envelope (huge, 64, 1, "PING", 80, NULL, 0);
    s_send_raw (client, huge, 5 << 20, false);
    free (huge);
    free (big);
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
        slowest = took > slowest? took: slowest;
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
    specs [0] = (zjob_spec_t) { .workflow_id = "pay", .idempotency_key = "new-2" };
    specs [1] = (zjob_spec_t) { .workflow_id = "pay", .idempotency_key = "known-1" };
    specs [2] = (zjob_spec_t) { .workflow_id = "pay", .idempotency_key = "new-2" };
    specs [3] = (zjob_spec_t) { .workflow_id = "pay" };
    specs [4] = (zjob_spec_t) { .workflow_id = "pay", .idempotency_key = "known-2" };
    specs [5] = (zjob_spec_t) { .workflow_id = "pay", .tags = twice, .tag_count = 2 };
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

Test (broker, stats_workers_list_and_bulk_operations)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    char *ids [6];
    for (int index = 0; index < 6; index++) {
        ids [index] = zjob_test_submit (client, index < 4? "alpha": "beta", NULL, NULL);
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

    zjob_msg_begin (s_builder, ZJOB_CMD_STATS, ++s_request);
    reply = s_call (client);
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
            cr_assert_eq (kv->val.via.map.size, 1);     //  Only "queued": 2
            cr_assert_eq (kv->val.via.map.ptr [0].val.via.u64, 2);
        }
    }
    cr_assert (seen_beta);
    zjob_msg_destroy (&reply);

    zjob_msg_begin (s_builder, ZJOB_CMD_WORKERS, ++s_request);
    reply = s_call (client);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_WORKERS, &err), 0, "%s", err.text);
    const msgpack_object *workers = zjob_msg_field (reply, "workers");
    cr_assert_eq (workers->via.array.size, 1);
    zjob_msg_destroy (&reply);

    //  LIST by workflow, newest first
    zjob_query_t query;
    memset (&query, 0, sizeof (query));
    query.filter.workflow_id = "alpha";
    query.descending = true;
    zjob_msg_begin (s_builder, ZJOB_CMD_LIST, ++s_request);
    zjob_msg_add_query (s_builder, &query);
    reply = s_call (client);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_LIST, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (reply, "total", 0), 4);
    zjob_job_t **jobs = NULL;
    size_t count = 0;
    cr_assert_eq (zjob_msg_jobs (reply, "jobs", &jobs, &count, &err), 0);
    cr_assert_eq (count, 4);
    cr_assert_str_eq (jobs [0]->id, ids [3]);
    for (size_t index = 0; index < count; index++)
        zjob_job_destroy (&jobs [index]);
    free (jobs);
    zjob_msg_destroy (&reply);

    //  Bulk CANCEL by filter: only the jobs that can be cancelled count
    zjob_filter_t filter;
    memset (&filter, 0, sizeof (filter));
    filter.workflow_id = "alpha";
    zjob_target_t target = { .filter = &filter };
    zjob_msg_begin (s_builder, ZJOB_CMD_CANCEL, ++s_request);
    zjob_msg_add_target (s_builder, &target);
    reply = s_call (client);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_CANCEL, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (reply, "done", 0), 3);     //  2 queued + 1 running
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
    cr_assert_eq (zjob_msg_uint (reply, "jobs", 0), 1);     //  The queued beta job
    zjob_msg_destroy (&reply);

    zjob_job_destroy (&held);
    zjob_job_destroy (&second);
    for (int index = 0; index < 6; index++)
        free (ids [index]);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}


//  --------------------------------------------------------------------------
//  Restart: the store survives, workers reconnect, results are not lost

//  Send cmd (PING from a client, or a completed RESULT for id from a
//  worker) until it is answered, for S_WAIT at most; returns the answer
static zjob_msg_t *
s_reconnected (zsock_t *sock, zjob_cmd_t cmd, const char *id, zjob_route_t route)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    while (zclock_mono () < deadline) {
        uint64_t request = ++s_request;
        zjob_msg_begin (s_builder, cmd, request);
        if (id) {
            zjob_msg_add_str (s_builder, "id", id);
            zjob_msg_add_str (s_builder, "status", "completed");
        }
        s_send (sock);
        int64_t retry_at = zclock_mono () + 250;
        while (zclock_mono () < retry_at) {
            zjob_msg_t *reply = zjob_test_recv (sock, route, (int) (retry_at - zclock_mono ()));
            if (!reply)
                break;
            if (zjob_msg_request_id (reply) == request)
                return reply;
            zjob_msg_destroy (&reply);
        }
    }
    cr_assert_fail ("%s not answered after the restart", zjob_cmd_name (cmd));
    return NULL;
}

Test (broker, a_restart_keeps_jobs_and_late_results)
{
    char *dir = zjob_test_tmpdir ();
    cr_assert_not_null (dir);
    char spec [600];
    snprintf (spec, sizeof (spec), "file:%s?fsync=always", dir);
    s_start ("store", spec, "heartbeat", "200ms", NULL);
    //  The restarted broker must come back on the same ports
    char clients [256], workers [256], events [256];
    snprintf (clients, sizeof (clients), "%s", s_clients);
    snprintf (workers, sizeof (workers), "%s", s_workers);
    snprintf (events, sizeof (events), "%s", s_events);

    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker_a = s_worker ("w-a", "etl", 1);
    char *done_early = zjob_test_submit (client, "etl", "critical", NULL);
    char *done_late = zjob_test_submit (client, "etl", "high", NULL);
    char *waiting = zjob_test_submit (client, "etl", "low", NULL);
    zjob_job_t *job = s_take (worker_a, S_WAIT);
    cr_assert_str_eq (job->id, done_early);
    zjob_job_destroy (&job);
    uint8_t outputs [32];
    size_t outputs_size = s_map (outputs, sizeof (outputs), "rows", 12);
    zjob_msg_t *reply = s_result (worker_a, done_early, outputs, outputs_size);
    zjob_msg_destroy (&reply);
    job = s_take (worker_a, S_WAIT);
    cr_assert_str_eq (job->id, done_late);
    zjob_job_destroy (&job);

    //  The broker stops while worker a runs done_late
    s_stop ();
    s_start ("store", spec, "heartbeat", "200ms",
             "clients", clients, "workers", workers, "events", events, NULL);

    //  A request sent into the connection the old broker was closing is
    //  lost, as on any network: the client retries until it is answered
    reply = s_reconnected (client, ZJOB_CMD_PING, NULL, ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);

    //  Everything is there; the running job is queued again
    cr_assert_eq (s_status (client, done_early), ZJOB_COMPLETED);
    cr_assert_eq (s_status (client, done_late), ZJOB_QUEUED);
    cr_assert_eq (s_status (client, waiting), ZJOB_QUEUED);

    //  Worker a finished done_late meanwhile; its result is refused
    //  (RECONNECT) until it registers again, listing the job, which it
    //  takes back; then the result counts
    reply = s_reconnected (worker_a, ZJOB_CMD_RESULT, done_late, ZJOB_ROUTE_BROKER_WORKER);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_RECONNECT);
    zjob_msg_destroy (&reply);
    zsock_destroy (&worker_a);
    const char *keep [] = { done_late };
    uint64_t credit = 99;
    size_t drop_count = 99;
    worker_a = s_worker_ready ("w-a", "etl", 1, keep, 1, &credit, &drop_count);
    cr_assert_eq (credit, 0);
    cr_assert_eq (drop_count, 0);
    cr_assert_eq (s_status (client, done_late), ZJOB_RUNNING);
    reply = s_result (worker_a, done_late, outputs, outputs_size);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    job = zjob_test_get (client, done_late);
    cr_assert_eq (job->status, ZJOB_COMPLETED);
    cr_assert_eq (job->attempts, 1, "taking back is not a new attempt");
    cr_assert_eq (job->outputs.size, outputs_size);
    zjob_job_destroy (&job);

    //  Then the waiting job goes out, and a duplicate result is harmless
    job = s_take (worker_a, S_WAIT);
    cr_assert_not_null (job);
    cr_assert_str_eq (job->id, waiting);
    zjob_job_destroy (&job);
    reply = s_result (worker_a, done_late, outputs, outputs_size);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);

    free (done_early);
    free (done_late);
    free (waiting);
    zsock_destroy (&worker_a);
    zsock_destroy (&client);
    s_stop ();
    zjob_test_rmtree (dir);
    free (dir);
}

Test (broker, a_result_from_a_worker_given_up_completes_the_job)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *first = s_worker ("w-first", "mail", 1);
    char *id = zjob_test_submit (client, "mail", NULL, NULL);
    zjob_job_t *job = s_take (first, S_WAIT);
    cr_assert_not_null (job);
    zjob_job_destroy (&job);
    //  Worker first says goodbye without its job (say it crashed and came
    //  back on a new connection); the job goes to worker second
    zjob_msg_begin (s_builder, ZJOB_CMD_DISCONNECT, ++s_request);
    s_send (first);
    zsock_destroy (&first);
    zsock_t *second = s_worker ("w-second", "mail", 1);
    job = s_take (second, S_WAIT);
    cr_assert_not_null (job);
    cr_assert_str_eq (job->id, id);
    zjob_job_destroy (&job);
    //  The first one's result arrives after all, from its new session (a
    //  worker that ran an earlier attempt: PROTOCOL.md 10.5)
    zsock_t *back = s_worker ("w-first", "mail", 1);
    uint8_t outputs [32];
    size_t outputs_size = s_map (outputs, sizeof (outputs), "sent", 1);
    zjob_msg_t *reply = s_result (back, id, outputs, outputs_size);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_status (client, id), ZJOB_COMPLETED);
    //  The worker now running it is told to stop
    zjob_msg_t *control = zjob_test_expect (second, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_CANCEL,
                                            S_WAIT);
    cr_assert_not_null (control, "the other holder was not told");
    cr_assert_str_eq (zjob_msg_str (control, "id"), id);
    zjob_msg_destroy (&control);
    free (id);
    zsock_destroy (&back);
    zsock_destroy (&second);
    zsock_destroy (&client);
}


Test (broker, a_result_from_a_worker_that_never_held_the_job_is_refused)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *a = s_worker ("w-a", "wfA", 1);
    zsock_t *b = s_worker ("w-b", "wfB", 1);
    char *id = zjob_test_submit (client, "wfA", NULL, NULL);
    zjob_job_t *job = s_take (a, S_WAIT);
    cr_assert_not_null (job);
    cr_assert_str_eq (job->id, id);
    zjob_job_destroy (&job);
    //  Worker b (another workflow, never given the job) reports it done
    uint8_t outputs [32];
    size_t outputs_size = s_map (outputs, sizeof (outputs), "forged", 1);
    zjob_msg_t *reply = s_result (b, id, outputs, outputs_size);
    cr_assert_eq (s_code (reply), ZJOB_CONFLICT, "got %d", s_code (reply));
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_status (client, id), ZJOB_RUNNING);
    //  Batched, it is an errors entry
    uint64_t request = ++s_request;
    zjob_msg_begin (s_builder, ZJOB_CMD_RESULT, request);
    zjob_result_t result = { .id = id, .completed = true };
    zjob_msg_add_results (s_builder, "results", &result, 1);
    s_send (b);
    reply = zjob_test_expect (b, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_OK, S_WAIT);
    cr_assert_not_null (reply);
    zjob_error_t err;
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_RESULT, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_result_errors (reply), 1);
    cr_assert_str_eq (zjob_msg_result_error (reply, 0, &err), id);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_status (client, id), ZJOB_RUNNING);
    //  The holder's own result completes it
    reply = s_result (a, id, outputs, outputs_size);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_status (client, id), ZJOB_COMPLETED);
    free (id);
    zsock_destroy (&a);
    zsock_destroy (&b);
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
        &&  memcmp (kv->key.via.str.ptr, key, strlen (key)) == 0)
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


//  --------------------------------------------------------------------------
//  max-concurrent

//  Read whatever JOBs are waiting on the workers, within timeout_ms for
//  the first and a few msecs for the rest of the same burst; each is
//  added to held (ids), counted per worker in holding
static void
s_collect_jobs (zsock_t **workers, size_t worker_count, zhashx_t *held, size_t *holding,
                int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    bool got = false;
    while (zclock_mono () < deadline) {
        zmq_pollitem_t items [2];
        for (size_t index = 0; index < worker_count; index++)
            items [index] = (zmq_pollitem_t) { zsock_resolve (workers [index]), 0, ZMQ_POLLIN, 0 };
        int64_t left = deadline - zclock_mono ();
        if (zmq_poll (items, (int) worker_count, (long) (left > 0? left: 0)) <= 0)
            break;
        for (size_t index = 0; index < worker_count; index++) {
            if (!(items [index].revents & ZMQ_POLLIN))
                continue;
            zjob_msg_t *msg = zjob_test_recv (workers [index], ZJOB_ROUTE_BROKER_WORKER, 0);
            if (msg && zjob_msg_command (msg) == ZJOB_CMD_JOB) {
                zjob_job_t *job = zjob_msg_job (msg, "job", NULL);
                cr_assert_not_null (job);
                cr_assert_null (zhashx_lookup (held, job->id), "job %s sent twice", job->id);
                zhashx_insert (held, job->id, workers [index]);
                holding [index]++;
                zjob_job_destroy (&job);
                got = true;
            }
            zjob_msg_destroy (&msg);
        }
        //  Once something came, a moment more for the rest of its burst
        if (got && deadline - zclock_mono () > 5)
            deadline = zclock_mono () + 5;
    }
}

Test (broker, max_concurrent_is_held_and_results_keep_dispatch_going)
{
    //  The benchmark's stall: a walk that stopped at the limit left the
    //  workers in the ring, and the credit of their results, going to
    //  workers already there, never started another walk
    s_start ("max-concurrent", "2", NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    enum { JOBS = 40, LIMIT = 2 };
    //  Everything queued before any worker comes: from then on, only the
    //  results can move dispatch on
    zjob_spec_t specs [JOBS];
    memset (specs, 0, sizeof (specs));
    for (int index = 0; index < JOBS; index++)
        specs [index].workflow_id = "burst";
    zjob_msg_begin (s_builder, ZJOB_CMD_SUBMIT, ++s_request);
    zjob_msg_add_specs (s_builder, "jobs", specs, JOBS);
    zjob_msg_t *reply = s_call (client);
    cr_assert_eq (s_code (reply), ZJOB_OK);
    size_t count = 0;
    const char *const *got_ids = zjob_msg_strs (reply, "ids", &count);
    cr_assert_eq (count, JOBS);
    char ids [JOBS][ZJOB_ID_LEN + 1];
    for (int index = 0; index < JOBS; index++)
        snprintf (ids [index], sizeof (ids [index]), "%s", got_ids [index]);
    zjob_msg_destroy (&reply);

    zsock_t *workers [2] = { s_worker ("w-lim-a", "burst", 4), s_worker ("w-lim-b", "burst", 4) };
    zhashx_t *done = zhashx_new ();
    uint8_t outputs [32];
    size_t outputs_size = s_map (outputs, sizeof (outputs), "ok", 1);
    size_t max_held = 0;
    size_t served [2] = { 0, 0 };
    int64_t deadline = zclock_mono () + 5000;
    int64_t heartbeat_at = 0;
    while (zhashx_size (done) < JOBS && zclock_mono () < deadline) {
        if (zclock_mono () >= heartbeat_at) {
            for (int index = 0; index < 2; index++) {
                zframe_t *heartbeat = zjob_msg_empty_new (ZJOB_CMD_HEARTBEAT, ++s_request);
                zjob_test_send (workers [index], &heartbeat);
            }
            heartbeat_at = zclock_mono () + 250;
        }
        //  What the workers hold at once, then every one of them finished
        zhashx_t *held = zhashx_new ();
        size_t holding [2] = { 0, 0 };
        s_collect_jobs (workers, 2, held, holding, 50);
        size_t now_held = holding [0] + holding [1];
        cr_assert_leq (now_held, LIMIT, "%zu jobs held at once (%zu + %zu), limit %d",
                       now_held, holding [0], holding [1], LIMIT);
        if (now_held > max_held)
            max_held = now_held;
        for (zsock_t *worker = (zsock_t *) zhashx_first (held); worker;
             worker = (zsock_t *) zhashx_next (held)) {
            const char *id = (const char *) zhashx_cursor (held);
            zjob_msg_begin (s_builder, ZJOB_CMD_RESULT, ++s_request);
            zjob_msg_add_str (s_builder, "id", id);
            zjob_msg_add_str (s_builder, "status", "completed");
            zjob_msg_add_bin (s_builder, "outputs", outputs, outputs_size);
            s_send (worker);            //  Its OK is read and dropped later
            zhashx_insert (done, id, worker);
            served [worker == workers [0]? 0: 1]++;
        }
        zhashx_destroy (&held);
    }
    cr_assert_eq (zhashx_size (done), JOBS, "only %zu of %d jobs done in 5 s: dispatch stalled",
                  zhashx_size (done), JOBS);
    cr_assert_eq (max_held, LIMIT, "the limit was never reached");
    cr_log_info ("served %zu + %zu", served [0], served [1]);
    //  And the broker agrees: all completed, none held
    for (int index = 0; index < JOBS; index++)
        cr_assert_eq (s_status (client, ids [index]), ZJOB_COMPLETED, "job %s", ids [index]);
    zjob_msg_begin (s_builder, ZJOB_CMD_STATS, ++s_request);
    reply = s_call (client);
    cr_assert_eq (zjob_msg_uint (reply, "active", 99), 0);
    cr_assert_eq (zjob_msg_uint (reply, "queued", 99), 0);
    zjob_msg_destroy (&reply);
    zhashx_destroy (&done);
    zsock_destroy (&workers [0]);
    zsock_destroy (&workers [1]);
    zsock_destroy (&client);
}

//  Answer a PAUSE or CANCEL that worker must be sent about id
static void
s_confirm (zsock_t *worker, zjob_cmd_t cmd, const char *id)
{
    zjob_msg_t *control = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, cmd, S_WAIT);
    cr_assert_not_null (control, "worker not sent %s", zjob_cmd_name (cmd));
    cr_assert_str_eq (zjob_msg_str (control, "id"), id);
    zjob_msg_begin (s_builder, ZJOB_CMD_OK, zjob_msg_request_id (control));
    zjob_msg_add_str (s_builder, "id", id);
    s_send (worker);
    zjob_msg_destroy (&control);
}

Test (broker, a_held_job_let_go_frees_its_place_under_max_concurrent)
{
    s_start ("max-concurrent", "1", NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    char *first = zjob_test_submit (client, "lim", NULL, NULL);
    char *second = zjob_test_submit (client, "lim", NULL, NULL);
    char *third = zjob_test_submit (client, "lim", NULL, NULL);
    cr_assert (first && second && third);
    zsock_t *one = s_worker ("w-one", "lim", 2);
    zjob_job_t *job = s_take (one, S_WAIT);
    cr_assert_not_null (job);
    cr_assert_str_eq (job->id, first);
    zjob_job_destroy (&job);
    job = s_take (one, 200);
    cr_assert_null (job, "a second job went out past max-concurrent 1");

    //  Paused, the job is still held: its place stays taken
    cr_assert_eq (s_operate (client, ZJOB_CMD_PAUSE, first, NULL, 0), ZJOB_OK);
    s_confirm (one, ZJOB_CMD_PAUSE, first);
    job = s_take (one, 200);
    cr_assert_null (job, "a job went out while a paused one is held");

    //  Cancelled, it is let go at once: the next job goes to the free
    //  slot, even before the worker confirms (the credit never left it)
    cr_assert_eq (s_operate (client, ZJOB_CMD_CANCEL, first, NULL, 0), ZJOB_OK);
    job = s_take (one, S_WAIT);
    cr_assert_not_null (job, "cancelling the held paused job freed no place");
    cr_assert_str_eq (job->id, second);
    zjob_job_destroy (&job);
    s_confirm (one, ZJOB_CMD_CANCEL, first);

    //  Held paused again, then its worker leaves: the job is let go (no
    //  status changes), and the third job goes to the other worker
    cr_assert_eq (s_operate (client, ZJOB_CMD_PAUSE, second, NULL, 0), ZJOB_OK);
    s_confirm (one, ZJOB_CMD_PAUSE, second);
    zsock_t *two = s_worker ("w-two", "lim", 1);
    job = s_take (two, 200);
    cr_assert_null (job, "a job went out while a paused one is held");
    zjob_msg_begin (s_builder, ZJOB_CMD_DISCONNECT, ++s_request);
    s_send (one);
    job = s_take (two, S_WAIT);
    cr_assert_not_null (job, "the leaving worker's held job freed no place");
    cr_assert_str_eq (job->id, third);
    zjob_job_destroy (&job);
    cr_assert_eq (s_status (client, second), ZJOB_PAUSED);
    free (first);
    free (second);
    free (third);
    zsock_destroy (&one);
    zsock_destroy (&two);
    zsock_destroy (&client);
}


//  --------------------------------------------------------------------------
//  Batching workers (PROTOCOL.md 10.2, 10.3, 10.5)

//  The answer to request on worker, skipping JOBs and HEARTBEATs
static zjob_msg_t *
s_answer_to (zsock_t *worker, uint64_t request)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    while (zclock_mono () < deadline) {
        zjob_msg_t *reply = zjob_test_recv (worker, ZJOB_ROUTE_BROKER_WORKER,
                                            (int) (deadline - zclock_mono ()));
        if (!reply)
            break;
        zjob_cmd_t cmd = zjob_msg_command (reply);
        if ((cmd == ZJOB_CMD_OK || cmd == ZJOB_CMD_ERROR) && zjob_msg_request_id (reply) == request)
            return reply;
        zjob_msg_destroy (&reply);
    }
    cr_assert_fail ("request %" PRIu64 " not answered", request);
    return NULL;
}

Test (broker, a_batching_worker_takes_jobs_and_gives_results_in_batches)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    char *ids [5];
    for (int index = 0; index < 5; index++) {
        ids [index] = zjob_test_submit (client, "crunch", NULL, NULL);
        cr_assert_not_null (ids [index]);
    }
    //  A job nobody serves: queued, never handed out
    char *idle = zjob_test_submit (client, "nobody", NULL, NULL);
    cr_assert_not_null (idle);

    //  READY announcing batches; the answer gives the broker's
    zsock_t *worker = zjob_test_dealer (s_workers);
    cr_assert_not_null (worker);
    const char *workflow = "crunch";
    zjob_msg_begin (s_builder, ZJOB_CMD_READY, ++s_request);
    zjob_msg_add_str (s_builder, "worker_id", "w-batch");
    zjob_msg_add_strs (s_builder, "workflows", &workflow, 1);
    zjob_msg_add_uint (s_builder, "slots", 8);
    zjob_msg_add_uint (s_builder, "batch", 16);
    s_send (worker);
    zjob_msg_t *reply = s_answer_to (worker, s_request);
    zjob_error_t err;
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_READY, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (reply, "credit", 0), 8);
    cr_assert_eq (zjob_msg_uint (reply, "batch", 0), ZJOB_SLOTS_MAX);
    zjob_msg_destroy (&reply);

    //  The five queued jobs come in fewer JOBs than jobs: one walk's worth each
    zjob_job_t *jobs [5];
    size_t taken = 0, messages = 0, largest = 0;
    while (taken < 5) {
        zjob_msg_t *msg = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_JOB,
                                            S_WAIT);
        cr_assert_not_null (msg, "%zu of 5 jobs came", taken);
        messages++;
        if (zjob_msg_has (msg, "jobs")) {
            zjob_job_t **batch;
            size_t count;
            cr_assert_eq (zjob_msg_jobs (msg, "jobs", &batch, &count, &err), 0, "%s", err.text);
            cr_assert_leq (taken + count, 5, "more jobs than were queued");
            for (size_t index = 0; index < count; index++)
                jobs [taken++] = batch [index];
            free (batch);
            largest = count > largest? count: largest;
        }
        else {
            jobs [taken] = zjob_msg_job (msg, "job", &err);
            cr_assert_not_null (jobs [taken++], "%s", err.text);
            largest = largest? largest: 1;
        }
        zjob_msg_destroy (&msg);
    }
    cr_assert_gt (largest, 1, "no JOB carried several jobs");
    cr_assert_lt (messages, 5);
    //  In priority order, then oldest first: the order they were submitted
    for (size_t index = 0; index < 5; index++)
        cr_assert_str_eq (jobs [index]->id, ids [index]);

    //  One RESULT for three jobs, with two a broker must refuse: an unknown
    //  job (404) and one never handed out (409). The good ones are applied.
    uint8_t outputs [32];
    size_t size = s_map (outputs, sizeof outputs, "n", 7);
    zjob_result_t results [5] = {
        { .id = jobs [0]->id, .completed = true, .outputs = outputs, .outputs_size = size },
        { .id = "01JD6ZQ8XKTBV3M9W2N4", .completed = true },
        { .id = jobs [1]->id, .completed = false, .error_kind = "exception",
          .error_message = "it broke" },
        { .id = idle, .completed = true },
        { .id = jobs [2]->id, .completed = true }
    };
    uint64_t request = ++s_request;
    zjob_msg_begin (s_builder, ZJOB_CMD_RESULT, request);
    zjob_msg_add_results (s_builder, "results", results, 5);
    s_send (worker);
    reply = s_answer_to (worker, request);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK, "the RESULT was refused whole");
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_RESULT, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_result_errors (reply), 2);
    const char *refused = zjob_msg_result_error (reply, 0, &err);
    cr_assert_str_eq (refused, "01JD6ZQ8XKTBV3M9W2N4");
    cr_assert_eq (err.code, ZJOB_NOT_FOUND, "%d %s", err.code, err.text);
    refused = zjob_msg_result_error (reply, 1, &err);
    cr_assert_str_eq (refused, idle);
    cr_assert_eq (err.code, ZJOB_CONFLICT, "%d %s", err.code, err.text);
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_status (client, jobs [0]->id), ZJOB_COMPLETED);
    cr_assert_eq (s_status (client, jobs [1]->id), ZJOB_FAILED);
    cr_assert_eq (s_status (client, jobs [2]->id), ZJOB_COMPLETED);
    cr_assert_eq (s_status (client, idle), ZJOB_QUEUED, "a refused result changed its job");
    zjob_job_t *done = zjob_test_get (client, jobs [0]->id);
    cr_assert_not_null (done);
    cr_assert_eq (done->outputs.size, size);
    cr_assert_eq (memcmp (done->outputs.data, outputs, size), 0);
    zjob_job_destroy (&done);

    //  The rest, with a duplicate of one already recorded: all acknowledged
    zjob_result_t rest [3] = {
        { .id = jobs [3]->id, .completed = true },
        { .id = jobs [0]->id, .completed = true },
        { .id = jobs [4]->id, .completed = true }
    };
    request = ++s_request;
    zjob_msg_begin (s_builder, ZJOB_CMD_RESULT, request);
    zjob_msg_add_results (s_builder, "results", rest, 3);
    s_send (worker);
    reply = s_answer_to (worker, request);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_RESULT, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_result_errors (reply), 0);
    cr_assert_null (zjob_msg_str (reply, "id"), "a multi-result OK names no single job");
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_status (client, jobs [3]->id), ZJOB_COMPLETED);
    cr_assert_eq (s_status (client, jobs [4]->id), ZJOB_COMPLETED);

    //  Every slot came back (credit defaults to the number of results):
    //  eight new jobs come, in batches again
    char *more [8];
    for (int index = 0; index < 8; index++) {
        more [index] = zjob_test_submit (client, "crunch", NULL, NULL);
        cr_assert_not_null (more [index]);
    }
    taken = 0;
    while (taken < 8) {
        zjob_msg_t *msg = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_JOB,
                                            S_WAIT);
        cr_assert_not_null (msg, "%zu of 8 jobs came: credit not given back", taken);
        const msgpack_object *batch = zjob_msg_field (msg, "jobs");
        taken += batch? batch->via.array.size: 1;
        zjob_msg_destroy (&msg);
    }
    cr_assert_eq (taken, 8);
    for (int index = 0; index < 8; index++)
        free (more [index]);
    for (int index = 0; index < 5; index++) {
        zjob_job_destroy (&jobs [index]);
        free (ids [index]);
    }
    free (idle);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}


//  --------------------------------------------------------------------------
//  A long CLEANUP does not stop the loop: it runs in bounded steps, one
//  per pass, and PINGs are answered in between

#define S_CLEANUP_JOBS  200000

Test (broker, a_long_cleanup_lets_pings_through_and_counts_every_job)
{
    char *dir = zjob_test_tmpdir ();
    cr_assert_not_null (dir);
    char spec [600];
    snprintf (spec, sizeof (spec), "file:%s?fsync=never", dir);
    //  200,000 finished (cancelled) jobs, written by a manager beforehand
    zjob_error_t err = { 0, "" };
    zjob_manager_t *manager = zjob_manager_open (spec, NULL, &err);
    cr_assert_not_null (manager, "%s", err.text);
    zjob_spec_t job_spec;
    memset (&job_spec, 0, sizeof (job_spec));
    job_spec.workflow_id = "old";
    for (int index = 0; index < S_CLEANUP_JOBS; index++) {
        zjob_job_t *job = zjob_manager_create (manager, &job_spec, false, &err);
        cr_assert_not_null (job, "%s", err.text);
        cr_assert_eq (zjob_manager_cancel (manager, job->id, &err), 0, "%s", err.text);
        zjob_job_destroy (&job);
    }
    zjob_manager_destroy (&manager);
    s_start ("store", spec, NULL);

    //  One client asks for the cleanup, another pings while it runs
    zsock_t *cleaner = zjob_test_dealer (s_clients);
    zsock_t *pinger = zjob_test_dealer (s_clients);
    //  Connected and served before the clock starts
    zjob_msg_begin (s_builder, ZJOB_CMD_PING, ++s_request);
    zjob_msg_t *reply = zjob_test_call (pinger, s_builder, S_WAIT);
    cr_assert_not_null (reply);
    zjob_msg_destroy (&reply);
    zjob_msg_begin (s_builder, ZJOB_CMD_CLEANUP, ++s_request);
    zjob_msg_add_uint (s_builder, "retention_ms", 0);
    uint64_t cleanup_request = s_request;
    size_t size;
    const uint8_t *data = zjob_msg_end_data (s_builder, &size, &err);
    cr_assert_not_null (data, "%s", err.text);
    zframe_t *frame = zframe_new (data, size);
    int64_t started = zclock_mono ();
    cr_assert_eq (zjob_test_send (cleaner, &frame), 0);

    int64_t longest = 0;                //  The slowest PING answered during it
    size_t pings = 0;                   //  PINGs answered during it
    zjob_msg_t *done = NULL;
    int64_t deadline = started + 50000;
    while (!done) {
        cr_assert_lt (zclock_mono (), deadline, "the cleanup never ended");
        zjob_msg_begin (s_builder, ZJOB_CMD_PING, ++s_request);
        int64_t sent = zclock_mono ();
        reply = zjob_test_call (pinger, s_builder, S_WAIT);
        int64_t waited = zclock_mono () - sent;
        cr_assert_not_null (reply, "a PING went unanswered for %d ms", S_WAIT);
        zjob_msg_destroy (&reply);
        done = zjob_test_recv (cleaner, ZJOB_ROUTE_BROKER_CLIENT, 0);
        if (!done) {
            pings++;
            longest = waited > longest? waited: longest;
        }
    }
    int64_t took = zclock_mono () - started;
    cr_assert_eq (zjob_msg_request_id (done), cleanup_request);
    cr_assert_eq (zjob_msg_command (done), ZJOB_CMD_OK);
    cr_assert_eq (zjob_msg_uint (done, "deleted", 0), S_CLEANUP_JOBS,
                  "the OK counts every job deleted");
    zjob_msg_destroy (&done);
    //  Several PINGs were answered while it ran, none after a wait near
    //  the whole cleanup's (one pass at a time in between)
    cr_assert_geq (pings, 3, "only %zu PINGs during a cleanup of %" PRId64 " ms", pings, took);
    cr_assert_lt (longest, took / 3 + 1,
                  "a PING waited %" PRId64 " ms during a cleanup of %" PRId64 " ms", longest, took);
    cr_assert_lt (longest, 1000, "a PING waited %" PRId64 " ms", longest);
    zjob_msg_begin (s_builder, ZJOB_CMD_STATS, ++s_request);
    reply = zjob_test_call (pinger, s_builder, S_WAIT);
    cr_assert_eq (zjob_msg_uint (reply, "jobs", 99), 0);
    zjob_msg_destroy (&reply);

    zsock_destroy (&cleaner);
    zsock_destroy (&pinger);
    s_stop ();
    zjob_test_rmtree (dir);
    free (dir);
}
