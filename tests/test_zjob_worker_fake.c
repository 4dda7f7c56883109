/*  =========================================================================
    test_zjob_worker_fake - the worker engine against a fake broker

    A fake broker (a raw ROUTER speaking through the proto codec) checks
    what no real broker does: a JOB before READY's answer, the exact
    messages of a drain, and liveness (PROTOCOL.md 10.7): any message from
    the broker is a sign of life, even to a program too busy to take its
    events. Every wait polls a condition with a deadline.
    ========================================================================= */

#include "test_zjob_worker_fake.h"


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
    s_expect_ready (ready, 2, (const char *[]){ held, done, NULL });
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
    s_expect_ready (ready, 1, (const char *[]){ held, NULL });
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
            zmsg_append (msg, &(zframe_t *){ zframe_dup (fake.peer) });
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
        zjob_msg_t *heard = frame ? zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                                     ZJOB_ROUTE_WORKER_BROKER, &err)
                                  : NULL;
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
            zmsg_destroy (&zmsg);  //  The worker's own heartbeats: not looked at
        }
    }
    zjob_task_t *task;
    cr_assert_eq (zjob_worker_recv (worker, 0, &task, NULL), ZJOB_WORKER_NOTHING);
    cr_assert (zjob_worker_registered (worker), "a busy worker judged a live broker dead");
    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
}
