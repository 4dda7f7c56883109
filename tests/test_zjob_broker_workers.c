/*  =========================================================================
    test_zjob_broker_workers - the broker and its workers: dispatch, credit

    A broker actor on tcp://127.0.0.1:* and raw DEALER sockets as workers:
    dispatch by priority across workers, credit bounding what a worker is
    sent, workers that go silent, send garbage or disconnect,
    max_concurrent, and batching workers. Helpers in test_zjob_broker.h.
    ========================================================================= */

#include "test_zjob_broker.h"


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
    zjob_job_t *extra = s_take_none (worker);
    cr_assert_null (extra, "a fourth job was sent to a 3-slot worker");
    //  A result with credit 0 (draining) frees nothing; CREDIT does
    zjob_msg_begin (s_builder, ZJOB_CMD_RESULT, ++s_request);
    zjob_msg_add_str (s_builder, "id", jobs [0]->id);
    zjob_msg_add_str (s_builder, "status", "failed");
    zjob_msg_add_uint (s_builder, "credit", 0);
    s_send (worker);
    zjob_msg_t *reply = s_expect_keeping_jobs (worker, ZJOB_CMD_OK);
    cr_assert_not_null (reply);
    zjob_msg_destroy (&reply);
    extra = s_take_none (worker);
    cr_assert_null (extra, "a job was sent without credit");
    zjob_msg_begin (s_builder, ZJOB_CMD_CREDIT, ++s_request);
    zjob_msg_add_uint (s_builder, "credit", 5);
    s_send (worker);
    extra = s_take (worker, S_WAIT);
    cr_assert_not_null (extra, "CREDIT gave nothing");
    //  Credit never exceeds slots minus jobs held: still one at a time
    zjob_job_t *more = s_take_none (worker);
    cr_assert_null (more, "credit went past the worker's slots");
    zjob_job_destroy (&extra);
    for (int index = 0; index < 3; index++)
        zjob_job_destroy (&jobs [index]);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}


//  --------------------------------------------------------------------------
//  Workers that vanish

Test (broker, a_silent_worker_has_its_job_requeued_to_another)
{
    //  A lost worker's attempt is retried after its backoff: none here
    s_start ("heartbeat", "100ms", "backoff-base", "0", NULL);
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
        zmq_poll (&item, 1, 50);  //  Paced by the poll's timeout
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
    zsock_destroy (&gone);  //  The worker process dies
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
            items [index] = (zmq_pollitem_t){ zsock_resolve (workers [index]), 0, ZMQ_POLLIN, 0 };
        int64_t left = deadline - zclock_mono ();
        if (zmq_poll (items, (int) worker_count, (long) (left > 0 ? left : 0)) <= 0)
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
    enum { JOBS = 40,
           LIMIT = 2 };
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
            s_send (worker);  //  Its OK is read and dropped later
            zhashx_insert (done, id, worker);
            served [worker == workers [0] ? 0 : 1]++;
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
    job = s_take_none (one);
    cr_assert_null (job, "a second job went out past max-concurrent 1");

    //  Paused, the job is still held: its place stays taken
    cr_assert_eq (s_operate (client, ZJOB_CMD_PAUSE, first, NULL, 0), ZJOB_OK);
    s_confirm (one, ZJOB_CMD_PAUSE, first);
    job = s_take_none (one);
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
    job = s_take_none (two);
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

//  A worker of "crunch" with 8 slots whose READY announces batches of 16;
//  the broker's OK gives 8 credits and its own batch limit
static zsock_t *
s_batching_worker (void)
{
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
    return worker;
}

//  The five queued jobs, in fewer JOBs than jobs: one walk's worth each
static void
s_take_five_in_batches (zsock_t *worker, zjob_job_t **jobs)
{
    zjob_error_t err;
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
            largest = count > largest ? count : largest;
        }
        else {
            jobs [taken] = zjob_msg_job (msg, "job", &err);
            cr_assert_not_null (jobs [taken++], "%s", err.text);
            largest = largest ? largest : 1;
        }
        zjob_msg_destroy (&msg);
    }
    cr_assert_gt (largest, 1, "no JOB carried several jobs");
    cr_assert_lt (messages, 5);
}

//  Eight jobs, in JOBs of one or several
static void
s_take_eight (zsock_t *worker)
{
    size_t taken = 0;
    while (taken < 8) {
        zjob_msg_t *msg = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_JOB,
                                            S_WAIT);
        cr_assert_not_null (msg, "%zu of 8 jobs came: credit not given back", taken);
        const msgpack_object *batch = zjob_msg_field (msg, "jobs");
        taken += batch ? batch->via.array.size : 1;
        zjob_msg_destroy (&msg);
    }
    cr_assert_eq (taken, 8);
}

Test (broker, a_batching_worker_takes_jobs_and_gives_results_in_batches)
{
    //  A failed result is final here (max-attempts 1): the retry is
    //  test_zjob_broker_retry's
    s_start ("max-attempts", "1", NULL);
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
    zsock_t *worker = s_batching_worker ();
    zjob_error_t err;

    //  The five queued jobs come in fewer JOBs than jobs: one walk's worth each
    zjob_job_t *jobs [5];
    s_take_five_in_batches (worker, jobs);
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
        { .id = jobs [1]->id, .completed = false, .error_kind = "exception", .error_message = "it broke" },
        { .id = idle, .completed = true },
        { .id = jobs [2]->id, .completed = true }
    };
    uint64_t request = ++s_request;
    zjob_msg_begin (s_builder, ZJOB_CMD_RESULT, request);
    zjob_msg_add_results (s_builder, "results", results, 5);
    s_send (worker);
    zjob_msg_t *reply = s_answer_to (worker, request);
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
    s_take_eight (worker);
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
