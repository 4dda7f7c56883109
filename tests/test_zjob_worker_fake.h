/*  =========================================================================
    test_zjob_worker_fake - a fake broker for the worker's tests

    A raw ROUTER that speaks through the proto codec, for what a real
    broker never does (a JOB before READY's answer) and to check the exact
    messages a worker sends (the keys of a RESULT, the answer to a CANCEL).
    Against an engine in this process (s_fake_expect keeps it running) or
    a worker running by itself (a zjob_worker_run thread, a zjob-worker
    process: s_fake_wait). Every wait has a deadline. Included by
    tests/test_zjob_worker_fake.c and tests/test_zjob_worker_attempts.c.
    ========================================================================= */

#ifndef TEST_ZJOB_WORKER_FAKE_H_INCLUDED
#define TEST_ZJOB_WORKER_FAKE_H_INCLUDED

#include "test_zjob_worker.h"

//  --------------------------------------------------------------------------
//  A fake broker: a ROUTER that speaks through the proto codec, for what a
//  real broker never does

typedef struct {
    zsock_t *router;
    char endpoint [64];
    zframe_t *peer;  //  The worker's routing id, once heard
    zjob_msg_builder_t *builder;
} s_fake_t;

static inline void
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

static inline void
s_fake_stop (s_fake_t *fake)
{
    zframe_destroy (&fake->peer);
    zjob_msg_builder_destroy (&fake->builder);
    zsock_destroy (&fake->router);
}

//  Send what the builder holds to the worker
static inline void
s_fake_send (s_fake_t *fake)
{
    cr_assert_not_null (fake->peer, "no worker heard yet");
    zjob_error_t err;
    zframe_t *frame = zjob_msg_end (fake->builder, &err);
    cr_assert_not_null (frame, "%s", err.text);
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){ zframe_dup (fake->peer) });
    zmsg_append (msg, &frame);
    cr_assert_eq (zmsg_send (&msg, fake->router), 0);
}

//  Keep the worker's engine running (it may have no event; NULL: a worker
//  that runs by itself) until the fake receives a message other than
//  HEARTBEAT; it must be cmd. Returns it.
static inline zjob_msg_t *
s_fake_expect (s_fake_t *fake, zjob_worker_t *worker, zjob_cmd_t cmd)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (zjob_mono_ms () < deadline) {
        zjob_task_t *task;
        if (worker)
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
static inline void
s_fake_ready_ok (s_fake_t *fake, zjob_msg_t *ready, uint64_t credit)
{
    zjob_msg_begin (fake->builder, ZJOB_CMD_OK, zjob_msg_request_id (ready));
    zjob_msg_add_uint (fake->builder, "heartbeat_ms", 1000);
    zjob_msg_add_uint (fake->builder, "liveness", 3);
    zjob_msg_add_uint (fake->builder, "credit", credit);
    s_fake_send (fake);
}

//  A running job of workflow "fake" on its attempt (destroy it); an id
//  given (not NULL) is kept: another attempt of that job
static inline zjob_job_t *
s_fake_job_new (const char *id, uint32_t attempt)
{
    zjob_spec_t spec = { .workflow_id = "fake" };
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    job->status = ZJOB_RUNNING;
    job->attempts = attempt;
    if (id)
        snprintf (job->id, sizeof (job->id), "%s", id);
    return job;
}

//  Send a JOB of workflow "fake" on its attempt; its id goes to id, or,
//  when id is already set (not ""), the JOB is another attempt of it
static inline void
s_fake_job_attempt (s_fake_t *fake, char *id, uint32_t attempt)
{
    zjob_job_t *job = s_fake_job_new (*id ? id : NULL, attempt);
    snprintf (id, ZJOB_ID_LEN + 1, "%s", job->id);
    zjob_msg_begin (fake->builder, ZJOB_CMD_JOB, 0);
    zjob_msg_add_job (fake->builder, "job", job);
    s_fake_send (fake);
    zjob_job_destroy (&job);
}

//  Send a JOB of workflow "fake", first attempt; its id goes to id
static inline void
s_fake_job (s_fake_t *fake, char *id)
{
    *id = '\0';
    s_fake_job_attempt (fake, id, 1);
}

//  Send CANCEL for job id, with reason and attempt unless NULL / 0; the
//  worker's answer is an OK or an ERROR with this request id
static inline uint64_t
s_fake_cancel (s_fake_t *fake, const char *id, const char *reason, uint32_t attempt)
{
    static uint64_t request_id = 1000;
    zjob_msg_begin (fake->builder, ZJOB_CMD_CANCEL, ++request_id);
    zjob_msg_add_str (fake->builder, "id", id);
    zjob_msg_add_str (fake->builder, "reason", reason);
    if (attempt)
        zjob_msg_add_uint (fake->builder, "attempt", attempt);
    s_fake_send (fake);
    return request_id;
}

//  Answer a single-form RESULT with OK
static inline void
s_fake_result_ok (s_fake_t *fake, zjob_msg_t *result)
{
    zjob_msg_begin (fake->builder, ZJOB_CMD_OK, zjob_msg_request_id (result));
    zjob_msg_add_str (fake->builder, "id", zjob_msg_str (result, "id"));
    s_fake_send (fake);
}

//  The value at key in the msgpack map obj, or NULL
static inline const msgpack_object *
s_obj_field (const msgpack_object *obj, const char *key)
{
    for (uint32_t i = 0; obj && obj->type == MSGPACK_OBJECT_MAP && i < obj->via.map.size; i++) {
        const msgpack_object *k = &obj->via.map.ptr [i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen (key)
            && memcmp (k->via.str.ptr, key, k->via.str.size) == 0)
            return &obj->via.map.ptr [i].val;
    }
    return NULL;
}

//  Check a result map's attempt (0: no "attempt" key) and permanent flag
//  (false: no "permanent" key at all: it is sent only when true)
static inline void
s_expect_result_keys (const msgpack_object *result, uint32_t attempt, bool permanent)
{
    const msgpack_object *value = s_obj_field (result, "attempt");
    if (attempt) {
        cr_assert (value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER,
                   "the result has no attempt");
        cr_assert_eq (value->via.u64, attempt);
    }
    else
        cr_assert_null (value, "the result names an attempt");
    value = s_obj_field (result, "permanent");
    if (permanent)
        cr_assert (value && value->type == MSGPACK_OBJECT_BOOLEAN && value->via.boolean,
                   "the result is not permanent");
    else
        cr_assert_null (value, "the result says permanent");
}

//  Keep the engine running until it is registered
static inline void
s_until_registered (zjob_worker_t *worker)
{
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (!zjob_worker_registered (worker) && zjob_mono_ms () < deadline)
        s_pump (worker, 10);
    cr_assert (zjob_worker_registered (worker));
}

//  Check READY's slots and the jobs it lists: those of ids (NULL-ended),
//  in any order
static inline void
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

#endif
