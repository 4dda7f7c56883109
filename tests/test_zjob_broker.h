/*  =========================================================================
    test_zjob_broker - what the broker's tests share

    The broker actor started on tcp://127.0.0.1:* and stopped after each
    test, and raw sockets that speak to it as a client, a worker and a
    subscriber would: every message built and read with the proto codec,
    every wait with a deadline. Included by tests/test_zjob_broker*.c, each
    its own program with its own broker; its functions are static inline,
    so a file that uses some of them gets no warning for the others.
    ========================================================================= */

#ifndef TEST_ZJOB_BROKER_H_INCLUDED
#define TEST_ZJOB_BROKER_H_INCLUDED

#include <criterion/criterion.h>
#include <string.h>
#include "zjob_broker.h"
#include "zjob_manager.h"
#include "zjob_store.h"
#include "helper_zjob_test.h"

#define S_WAIT 3000  //  msecs any expected message may take

static zactor_t *s_actor = NULL;
static char *s_clients = NULL;  //  Endpoints as bound
static char *s_workers = NULL;
static char *s_events = NULL;
static zjob_msg_builder_t *s_builder = NULL;
static uint64_t s_request = 0;       //  Request ids of this test process
static uint64_t s_heartbeat = 1000;  //  msecs, as the broker was started with

//  Start a broker with these options on ephemeral ports; extra is a
//  NULL-terminated list of name, value pairs
static inline void
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
    cr_assert_eq (zjob_broker_config_set (&config, "log-level", getenv ("ZJOB_TEST_LOG") ? getenv ("ZJOB_TEST_LOG") : "error", &err), 0);
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

static inline void
s_stop (void)
{
    zactor_destroy (&s_actor);
    zstr_free (&s_clients);
    zstr_free (&s_workers);
    zstr_free (&s_events);
}

static void s_stash_clear (void);

static inline void
s_teardown (void)
{
    s_stash_clear ();
    s_stop ();
    zjob_msg_builder_destroy (&s_builder);
}

TestSuite (broker, .fini = s_teardown, .timeout = 60);

//  Send what s_builder holds on sock
static inline void
s_send (zsock_t *sock)
{
    size_t size;
    const uint8_t *data = zjob_msg_end_data (s_builder, &size, NULL);
    cr_assert_not_null (data);
    cr_assert_neq (zmq_send (zsock_resolve (sock), data, size, 0), -1);
}

//  Send s_builder's request and return the reply (which must come)
static inline zjob_msg_t *
s_call (zsock_t *client)
{
    zjob_msg_t *reply = zjob_test_call (client, s_builder, S_WAIT);
    cr_assert_not_null (reply, "no reply within %d ms", S_WAIT);
    return reply;
}

//  The error code of reply (200 for OK)
static inline int
s_code (zjob_msg_t *reply)
{
    zjob_error_t err;
    return zjob_msg_error (reply, &err);
}

//  A one-id lifecycle request; returns the reply code
static inline int
s_operate (zsock_t *client, zjob_cmd_t cmd, const char *id, char *status, size_t size)
{
    zjob_msg_begin (s_builder, cmd, ++s_request);
    zjob_msg_add_str (s_builder, "id", id);
    zjob_msg_t *reply = s_call (client);
    int code = s_code (reply);
    if (status && size)
        snprintf (status, size, "%s", zjob_msg_str (reply, "status") ? zjob_msg_str (reply, "status") : "");
    zjob_msg_destroy (&reply);
    return code;
}

static inline int
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
static inline zsock_t *
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

static inline zsock_t *
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

static inline void
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

static inline void
s_stash_clear (void)
{
    for (size_t index = 0; index < S_STASH_MAX; index++)
        zjob_msg_destroy (&s_stash [index].msg);
}

static inline zjob_msg_t *
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
static inline zjob_job_t *
s_take (zsock_t *worker, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    zjob_msg_t *msg = s_stash_take (worker);
    while (!msg && zclock_mono () < deadline) {
        zframe_t *heartbeat = zjob_msg_empty_new (ZJOB_CMD_HEARTBEAT, ++s_request);
        zjob_test_send (worker, &heartbeat);
        int64_t left = deadline - zclock_mono ();
        msg = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_JOB,
                                (int) (left < 50 ? left : 50));
    }
    if (!msg)
        return NULL;
    zjob_error_t err;
    zjob_job_t *job = zjob_msg_job (msg, "job", &err);
    cr_assert_not_null (job, "JOB: %s", err.text);
    zjob_msg_destroy (&msg);
    return job;
}

//  As zjob_test_expect on a worker, but a JOB that comes first is kept for
//  s_take or s_take_none rather than dropped: a JOB sent before the
//  message a test waits for is still seen
static inline zjob_msg_t *
s_expect_keeping_jobs (zsock_t *worker, zjob_cmd_t cmd)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    while (zclock_mono () < deadline) {
        zjob_msg_t *msg = zjob_test_recv (worker, ZJOB_ROUTE_BROKER_WORKER,
                                          (int) (deadline - zclock_mono ()));
        if (!msg || zjob_msg_command (msg) == cmd)
            return msg;
        if (zjob_msg_command (msg) == ZJOB_CMD_JOB)
            s_stash_job (worker, &msg);
        zjob_msg_destroy (&msg);
    }
    return NULL;
}

//  A job id no job has: a time of 0 ms, before any id this broker made
#define S_NO_SUCH_JOB "00000000000000000000"

//  Prove that no JOB is sent to worker now, by waiting on an event rather
//  than a window: the broker handles one connection's messages in order,
//  and sends any JOB a pass produces before or with that pass's replies,
//  so a JOB that the steps before this call cause comes before the answer
//  to a request sent now. That request is a RESULT for S_NO_SUCH_JOB with
//  credit 0, answered ERROR 404 and changing no job and no credit
//  (PROTOCOL.md 10.5), or 503 while the store cannot write (code says
//  which). Returns the first JOB received before the answer (or kept
//  from an earlier wait), or NULL; the caller destroys it.
static inline zjob_job_t *
s_take_none_answered (zsock_t *worker, int code)
{
    zjob_msg_t *msg = s_stash_take (worker);
    uint64_t request = ++s_request;
    zjob_msg_begin (s_builder, ZJOB_CMD_RESULT, request);
    zjob_msg_add_str (s_builder, "id", S_NO_SUCH_JOB);
    zjob_msg_add_str (s_builder, "status", "failed");
    zjob_msg_add_uint (s_builder, "credit", 0);
    s_send (worker);
    zjob_msg_t *answer = NULL;
    int64_t deadline = zclock_mono () + S_WAIT;
    while (!answer && zclock_mono () < deadline) {
        zjob_msg_t *reply = zjob_test_recv (worker, ZJOB_ROUTE_BROKER_WORKER,
                                            (int) (deadline - zclock_mono ()));
        if (!reply)
            break;
        zjob_cmd_t cmd = zjob_msg_command (reply);
        if ((cmd == ZJOB_CMD_OK || cmd == ZJOB_CMD_ERROR || cmd == ZJOB_CMD_RECONNECT)
            && zjob_msg_request_id (reply) == request)
            answer = reply;
        else if (cmd == ZJOB_CMD_JOB && !msg)
            msg = reply;
        else
            zjob_msg_destroy (&reply);
    }
    cr_assert_not_null (answer, "the RESULT for a job that does not exist was not answered");
    cr_assert_eq (s_code (answer), code,
                  "the RESULT for a job that does not exist was answered %d", s_code (answer));
    zjob_msg_destroy (&answer);
    if (!msg)
        return NULL;
    zjob_error_t err;
    zjob_job_t *job = zjob_msg_job (msg, "job", &err);
    cr_assert_not_null (job, "JOB: %s", err.text);
    zjob_msg_destroy (&msg);
    return job;
}

#define s_take_none(worker) s_take_none_answered ((worker), ZJOB_NOT_FOUND)

//  Send a RESULT (completed with outputs, or failed) and return the
//  broker's answer
static inline zjob_msg_t *
s_result (zsock_t *worker, const char *id, const uint8_t *outputs, size_t size)
{
    uint64_t request = ++s_request;
    zjob_msg_begin (s_builder, ZJOB_CMD_RESULT, request);
    zjob_msg_add_str (s_builder, "id", id);
    zjob_msg_add_str (s_builder, "status", outputs ? "completed" : "failed");
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
            && zjob_msg_request_id (reply) == request)
            return reply;
        if (cmd == ZJOB_CMD_JOB)
            s_stash_job (worker, &reply);
        zjob_msg_destroy (&reply);
    }
    cr_assert_fail ("RESULT for %s not answered", id);
    return NULL;
}

//  {"n": n} as msgpack
static inline size_t
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
static inline void
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
        zclock_sleep (2);  //  Polling the broker's view, with a deadline
    }
}

//  A SUB socket subscribed to prefix, once the broker has seen it (the
//  count-th distinct subscription)
static inline zsock_t *
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

static inline zsock_t *
s_subscriber (const char *prefix)
{
    return s_subscriber_nth (prefix, 1);
}

//  Read events until one of type about id (or any id if NULL); returns it
static inline zjob_msg_t *
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
            && (!id || (event_id && streq (event_id, id))))
            return event;
        zjob_msg_destroy (&event);
    }
    return NULL;
}

#endif
