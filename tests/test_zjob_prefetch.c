/*  =========================================================================
    test_zjob_prefetch - workers that hold jobs beyond their slots

    Prefetch (PROTOCOL.md 10.2, READY/OK `prefetch`): the sizing rule
    alone; the worker engine's buffer against a fake broker (order by
    priority, never more than slots tasks to the program, pause and cancel
    of buffered jobs, the window it steers with CREDIT and RESULT's
    credit, an older broker that grants nothing); and against a real
    broker: the credit it grants, a high-priority job overtaking a
    buffer of low-priority ones, an older worker served as before, a
    zjob-worker process killed with a full buffer losing no job, and the
    auto size behind a delaying proxy (20 ms each way) and next to the
    broker with slow jobs.
    ========================================================================= */

#include "test_zjob_worker_fake.h"
#include "helper_zjob_delay.h"
#include "zjob_worker_impl.h"

//  --------------------------------------------------------------------------
//  Helpers

//  Answer READY with OK: credit, and a prefetch grant unless granted < 0
//  (an older broker, which gives none)
static void
s_fake_ready_grant (s_fake_t *fake, zjob_msg_t *ready, uint64_t credit, int granted)
{
    zjob_msg_begin (fake->builder, ZJOB_CMD_OK, zjob_msg_request_id (ready));
    zjob_msg_add_uint (fake->builder, "heartbeat_ms", 1000);
    zjob_msg_add_uint (fake->builder, "liveness", 3);
    zjob_msg_add_uint (fake->builder, "credit", credit);
    if (granted >= 0)
        zjob_msg_add_uint (fake->builder, "prefetch", (uint64_t) granted);
    s_fake_send (fake);
}

//  Send a JOB of workflow "fake" at priority; its id goes to id
static void
s_fake_job_at (s_fake_t *fake, zjob_priority_t priority, char *id)
{
    zjob_job_t *job = s_fake_job_new (NULL, 1);
    job->priority = priority;
    snprintf (id, ZJOB_ID_LEN + 1, "%s", job->id);
    zjob_msg_begin (fake->builder, ZJOB_CMD_JOB, 0);
    zjob_msg_add_job (fake->builder, "job", job);
    s_fake_send (fake);
    zjob_job_destroy (&job);
}

//  Send PAUSE, RESUME or CANCEL for job id
static void
s_fake_control (s_fake_t *fake, zjob_cmd_t cmd, const char *id)
{
    static uint64_t request_id = 2000;
    zjob_msg_begin (fake->builder, cmd, ++request_id);
    zjob_msg_add_str (fake->builder, "id", id);
    s_fake_send (fake);
}

//  A worker on the fake for workflow "fake" with slots, prefetch set in the
//  environment (as its READY asks) and by the call (each test runs in a
//  process of its own)
static zjob_worker_t *
s_fake_worker (s_fake_t *fake, const char *name, size_t slots, int prefetch)
{
    const char *workflows [] = { "fake" };
    zjob_error_t err;
    char value [16];
    snprintf (value, sizeof value, "%d", prefetch);
    setenv ("ZJOB_WORKER_PREFETCH", prefetch == ZJOB_PREFETCH_AUTO ? "auto" : value, 1);
    zjob_worker_t *worker = zjob_worker_new (fake->endpoint, name, workflows, 1, slots, &err);
    cr_assert_not_null (worker, "%s", err.text);
    cr_assert_eq (zjob_worker_set_prefetch (worker, prefetch), 0);
    return worker;
}

//  Complete task and answer its RESULT (single form); returns the credit
//  the RESULT gave back
static uint64_t
s_fake_complete (s_fake_t *fake, zjob_worker_t *worker, zjob_task_t **task_p)
{
    zjob_error_t err;
    cr_assert_eq (zjob_worker_complete (worker, task_p, NULL, 0, &err), 0, "%s", err.text);
    //  Sent at once (no batching: the fake grants none); the engine is not
    //  run meanwhile, as it may have the next task for the program
    zjob_msg_t *result = s_fake_expect (fake, NULL, ZJOB_CMD_RESULT);
    uint64_t credit = zjob_msg_uint (result, "credit", 1);
    s_fake_result_ok (fake, result);
    zjob_msg_destroy (&result);
    return credit;
}


//  --------------------------------------------------------------------------
//  Sizing

//  auto: the jobs the slots finish in one round trip, rounded up, within
//  the ceiling; none before it has measured, none for slow jobs near by
Test (prefetch, auto_size)
{
    cr_assert_eq (zjob_worker_prefetch_size (0, 0, 16, 1000), 0, "nothing measured: none");
    cr_assert_eq (zjob_worker_prefetch_size (40000, 0, 16, 1000), 0, "no service time yet");
    cr_assert_eq (zjob_worker_prefetch_size (0, 100, 16, 1000), 0, "no round trip yet");
    //  A broker near by (300 us), jobs of 100 ms: nothing to gain
    cr_assert_eq (zjob_worker_prefetch_size (300, 100000, 16, 1000), 0);
    //  ... jobs of 1 ms: 300 / 1000 x 16 = 4.8 jobs per round trip
    cr_assert_eq (zjob_worker_prefetch_size (300, 1000, 16, 1000), 5);
    //  20 ms each way, 40 ms round trip, jobs of 1 ms, 16 slots: 640
    cr_assert_eq (zjob_worker_prefetch_size (40000, 1000, 16, 1000), 640);
    //  It grows with the round trip, up to the ceiling
    size_t before = 0;
    for (double rtt = 100; rtt < 1e6; rtt *= 2) {
        size_t size = zjob_worker_prefetch_size (rtt, 200, 16, 984);
        cr_assert_geq (size, before, "smaller at %g us", rtt);
        cr_assert_leq (size, 984);
        before = size;
    }
    cr_assert_eq (before, 984, "the ceiling");
}


//  --------------------------------------------------------------------------
//  The engine, against a fake broker

//  READY asks; the window is topped up by CREDIT; the program gets at most
//  slots tasks; the buffer is taken best first: a high-priority job that
//  comes while low-priority ones wait starts before them
Test (prefetch, buffer_best_first_within_slots)
{
    s_fake_t fake;
    s_fake_start (&fake);
    zjob_worker_t *worker = s_fake_worker (&fake, "buffer", 2, 10);
    zjob_msg_t *ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    cr_assert_eq (zjob_msg_uint (ready, "prefetch", 0), 10);
    s_fake_ready_grant (&fake, ready, 2, 10);
    zjob_msg_destroy (&ready);
    //  The OK's credit covered the slots: the worker asks for its prefetch
    zjob_msg_t *credit = s_fake_expect (&fake, worker, ZJOB_CMD_CREDIT);
    cr_assert_eq (zjob_msg_uint (credit, "credit", 0), 10);
    zjob_msg_destroy (&credit);
    cr_assert_eq (zjob_worker_prefetch (worker), 10);

    char low [4][ZJOB_ID_LEN + 1], high [ZJOB_ID_LEN + 1];
    for (int index = 0; index < 4; index++)
        s_fake_job_at (&fake, ZJOB_PRIORITY_LOW, low [index]);
    s_fake_job_at (&fake, ZJOB_PRIORITY_HIGH, high);
    zjob_task_t *first = s_expect (worker, ZJOB_WORKER_TASK);
    zjob_task_t *second = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (first), low [0]);
    cr_assert_str_eq (zjob_task_id (second), low [1]);
    //  Slots full: the rest wait, all held
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (zjob_worker_held (worker) < 5 && zjob_mono_ms () < deadline)
        s_pump (worker, 10);
    s_pump (worker, 100);
    cr_assert_eq (zjob_worker_held (worker), 5);

    //  A slot frees: the high one, though it came last; then the others in
    //  order. Each RESULT gives its slot back (the window is full)
    cr_assert_eq (s_fake_complete (&fake, worker, &first), 1);
    zjob_task_t *next = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (next), high, "the high-priority job first");
    cr_assert_eq (s_fake_complete (&fake, worker, &next), 1);
    next = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (next), low [2]);
    s_pump (worker, 50);  //  Still two at most: no third task
    cr_assert_eq (s_fake_complete (&fake, worker, &second), 1);
    zjob_task_t *last = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (last), low [3]);

    //  A smaller prefetch shrinks the window: results give back less
    cr_assert_eq (zjob_worker_set_prefetch (worker, 0), 0);
    cr_assert_eq (s_fake_complete (&fake, worker, &next), 0, "window 12, wanted 2");
    cr_assert_eq (s_fake_complete (&fake, worker, &last), 0, "window 11, wanted 2");
    cr_assert_eq (zjob_worker_set_prefetch (worker, 1001), -1);
    cr_assert_eq (zjob_worker_set_prefetch (worker, -2), -1);
    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
}

//  PAUSE keeps a buffered job buffered and not startable until RESUME;
//  CANCEL removes it; the program sees neither; both are answered OK
Test (prefetch, pause_and_cancel_buffered)
{
    s_fake_t fake;
    s_fake_start (&fake);
    zjob_worker_t *worker = s_fake_worker (&fake, "ctl", 1, 5);
    zjob_msg_t *ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    s_fake_ready_grant (&fake, ready, 1, 5);
    zjob_msg_destroy (&ready);
    zjob_msg_destroy (&(zjob_msg_t *){ s_fake_expect (&fake, worker, ZJOB_CMD_CREDIT) });
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1], c [ZJOB_ID_LEN + 1];
    s_fake_job_at (&fake, ZJOB_PRIORITY_MEDIUM, a);
    s_fake_job_at (&fake, ZJOB_PRIORITY_MEDIUM, b);
    s_fake_job_at (&fake, ZJOB_PRIORITY_MEDIUM, c);
    zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (task), a);

    s_fake_control (&fake, ZJOB_CMD_PAUSE, b);
    zjob_msg_t *ok = s_fake_expect (&fake, worker, ZJOB_CMD_OK);
    cr_assert_str_eq (zjob_msg_str (ok, "id"), b);
    zjob_msg_destroy (&ok);
    s_fake_control (&fake, ZJOB_CMD_CANCEL, c);
    ok = s_fake_expect (&fake, worker, ZJOB_CMD_OK);
    cr_assert_str_eq (zjob_msg_str (ok, "id"), c);
    zjob_msg_destroy (&ok);
    cr_assert_eq (zjob_worker_held (worker), 2, "a running, b paused in the buffer");

    //  The slot frees: b is paused, c gone: nothing to start
    s_fake_complete (&fake, worker, &task);
    s_pump (worker, 100);
    cr_assert_eq (zjob_worker_held (worker), 1);
    s_fake_control (&fake, ZJOB_CMD_RESUME, b);
    task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (task), b);
    cr_assert_not (zjob_task_paused (task));
    ok = s_fake_expect (&fake, worker, ZJOB_CMD_OK);
    cr_assert_str_eq (zjob_msg_str (ok, "id"), b);
    zjob_msg_destroy (&ok);

    //  A READY lists the buffered jobs too; drain hands them back
    s_fake_job_at (&fake, ZJOB_PRIORITY_MEDIUM, c);
    while (zjob_worker_held (worker) < 2)
        s_pump (worker, 10);
    zjob_msg_begin (fake.builder, ZJOB_CMD_RECONNECT, 0);
    s_fake_send (&fake);
    ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    s_expect_ready (ready, 1, (const char *[]){ b, c, NULL });
    s_fake_ready_grant (&fake, ready, 0, 5);
    zjob_msg_destroy (&ready);
    zjob_msg_destroy (&(zjob_msg_t *){ s_fake_expect (&fake, worker, ZJOB_CMD_CREDIT) });
    cr_assert_eq (zjob_worker_drain (worker), 0);
    ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    s_expect_ready (ready, 1, (const char *[]){ b, NULL });
    cr_assert_eq (zjob_msg_uint (ready, "prefetch", 0), 0, "a drained worker asks none");
    zjob_msg_destroy (&ready);
    cr_assert_eq (zjob_worker_held (worker), 1);
    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
}

//  An older broker grants no prefetch (no key in the OK): the worker
//  sends no CREDIT, gives one slot back per result, and still never gives
//  the program more than its slots
Test (prefetch, older_broker_grants_none)
{
    s_fake_t fake;
    s_fake_start (&fake);
    zjob_worker_t *worker = s_fake_worker (&fake, "older", 1, ZJOB_PREFETCH_AUTO);
    zjob_msg_t *ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    cr_assert_eq (zjob_msg_uint (ready, "prefetch", 0), ZJOB_PREFETCH_MAX, "auto asks the most");
    s_fake_ready_grant (&fake, ready, 1, -1);
    zjob_msg_destroy (&ready);
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1];
    s_fake_job_at (&fake, ZJOB_PRIORITY_MEDIUM, a);
    zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);
    //  The next message is the RESULT: no CREDIT came before it
    cr_assert_eq (s_fake_complete (&fake, worker, &task), 1);
    cr_assert_eq (zjob_worker_prefetch (worker), 0);
    s_fake_job_at (&fake, ZJOB_PRIORITY_MEDIUM, a);
    s_fake_job_at (&fake, ZJOB_PRIORITY_MEDIUM, b);  //  More than it may: held back
    task = s_expect (worker, ZJOB_WORKER_TASK);
    s_pump (worker, 100);
    cr_assert_eq (s_fake_complete (&fake, worker, &task), 1);
    task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (task), b);
    cr_assert_eq (s_fake_complete (&fake, worker, &task), 1);
    zjob_worker_destroy (&worker);
    zjob_msg_destroy (&(zjob_msg_t *){ s_fake_expect (&fake, NULL, ZJOB_CMD_DISCONNECT) });

    //  And prefetch 0 asks none at all: READY as a worker without prefetch
    worker = s_fake_worker (&fake, "none", 1, 0);
    ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    cr_assert_not (zjob_msg_has (ready, "prefetch"));
    zjob_msg_destroy (&ready);
    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
}


//  --------------------------------------------------------------------------
//  Against a real broker

//  Credit with prefetch: the free slots at READY, then slots + prefetch -
//  held; a high-priority job submitted while the worker's buffer holds
//  low-priority ones runs before them at that worker
Test (prefetch, broker_credit_and_priority)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    zjob_worker_t *worker = s_worker (&broker, "prio", "pf", 1);
    cr_assert_eq (zjob_worker_set_prefetch (worker, 10), 0);
    s_until_registered (worker);
    uint64_t slots = 0, credit = 0;
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while ((!s_worker_listed (client, zjob_worker_id (worker), &slots, &credit) || credit != 11)
           && zjob_mono_ms () < deadline)
        s_pump (worker, 10);
    cr_assert_eq (credit, 11, "1 slot + 10 prefetch, not %" PRIu64, credit);

    char low [4][ZJOB_ID_LEN + 1], high [ZJOB_ID_LEN + 1];
    for (int index = 0; index < 4; index++)
        s_submit (client, "pf", "n", index, ZJOB_PRIORITY_LOW, low [index]);
    zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (task), low [0]);
    //  The others are the worker's too: running, buffered
    for (int index = 1; index < 4; index++)
        s_expect_status (client, low [index], ZJOB_RUNNING, worker);
    cr_assert (s_worker_listed (client, zjob_worker_id (worker), &slots, &credit));
    cr_assert_eq (credit, 7, "11 - 4 held");
    s_submit (client, "pf", "n", 9, ZJOB_PRIORITY_HIGH, high);
    s_expect_status (client, high, ZJOB_RUNNING, worker);
    //  All of them in the worker's buffer (not only sent)
    deadline = zjob_mono_ms () + DEADLINE_MS;
    while (zjob_worker_held (worker) < 5 && zjob_mono_ms () < deadline)
        s_pump (worker, 10);
    cr_assert_eq (zjob_worker_held (worker), 5);

    zjob_error_t err;
    cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0, "%s", err.text);
    task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (task), high, "the high-priority job overtakes the buffer");
    for (int index = 1; index < 4; index++) {
        cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0, "%s", err.text);
        task = s_expect (worker, ZJOB_WORKER_TASK);
        cr_assert_str_eq (zjob_task_id (task), low [index]);
    }
    cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_worker_flush (worker, DEADLINE_MS), 0);
    s_expect_status (client, high, ZJOB_COMPLETED, worker);
    s_expect_status (client, low [3], ZJOB_COMPLETED, worker);
    zjob_worker_destroy (&worker);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

//  A READY without `prefetch` (a worker that knows none) is answered and
//  served exactly as before: no prefetch in the OK, credit = free slots,
//  never more jobs than slots. One with it is granted up to --max-prefetch
Test (prefetch, older_worker_served_as_before)
{
    const char *const options [][2] = { { "max-prefetch", "3" } };
    zjob_test_broker_t broker;
    zjob_error_t err;
    cr_assert_eq (zjob_test_broker_start_with (&broker, "memory:", NULL, options, 1, &err), 0,
                  "%s", err.text);
    zjob_client_t *client = s_client (&broker);
    zsock_t *old = zjob_test_dealer (broker.workers);
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_READY, 1);
    zjob_msg_add_str (builder, "worker_id", "old.1.abc");
    zjob_msg_add_strs (builder, "workflows", (const char *[]){ "old" }, 1);
    zjob_msg_add_uint (builder, "slots", 2);
    zjob_msg_t *ok = zjob_test_call (old, builder, DEADLINE_MS);
    cr_assert_not_null (ok);
    cr_assert_eq (zjob_msg_command (ok), ZJOB_CMD_OK);
    cr_assert_eq (zjob_msg_uint (ok, "credit", 0), 2);
    cr_assert_not (zjob_msg_has (ok, "prefetch"), "an older worker's OK, as it always was");
    zjob_msg_destroy (&ok);
    char ids [3][ZJOB_ID_LEN + 1];
    for (int index = 0; index < 3; index++)
        s_submit (client, "old", "n", index, ZJOB_PRIORITY_MEDIUM, ids [index]);
    size_t jobs = 0;
    zjob_msg_t *msg;
    while ((msg = zjob_test_recv (old, ZJOB_ROUTE_BROKER_WORKER, 300))) {
        if (zjob_msg_command (msg) == ZJOB_CMD_JOB)
            jobs++;
        zjob_msg_destroy (&msg);
    }
    cr_assert_eq (jobs, 2, "its slots, no more");
    s_expect_status (client, ids [2], ZJOB_QUEUED, NULL);

    //  A newer worker asking 50 gets the broker's 3
    zsock_t *newer = zjob_test_dealer (broker.workers);
    zjob_msg_begin (builder, ZJOB_CMD_READY, 1);
    zjob_msg_add_str (builder, "worker_id", "new.1.abc");
    zjob_msg_add_strs (builder, "workflows", (const char *[]){ "other" }, 1);
    zjob_msg_add_uint (builder, "slots", 2);
    zjob_msg_add_uint (builder, "prefetch", 50);
    ok = zjob_test_call (newer, builder, DEADLINE_MS);
    cr_assert_not_null (ok);
    cr_assert_eq (zjob_msg_uint (ok, "prefetch", 0), 3);
    cr_assert_eq (zjob_msg_uint (ok, "credit", 0), 2, "the free slots; prefetch by CREDIT");
    zjob_msg_destroy (&ok);
    //  And a prefetch beyond the protocol's bound is a bad READY
    zjob_msg_begin (builder, ZJOB_CMD_READY, 2);
    zjob_msg_add_str (builder, "worker_id", "new.1.abc");
    zjob_msg_add_strs (builder, "workflows", (const char *[]){ "other" }, 1);
    zjob_msg_add_uint (builder, "slots", 2);
    zjob_msg_add_uint (builder, "prefetch", ZJOB_PREFETCH_MAX + 1);
    ok = zjob_test_call (newer, builder, DEADLINE_MS);
    cr_assert_not_null (ok);
    cr_assert_eq (zjob_msg_command (ok), ZJOB_CMD_ERROR);
    zjob_msg_destroy (&ok);
    zsock_destroy (&newer);
    zsock_destroy (&old);
    zjob_msg_builder_destroy (&builder);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

//  A zjob-worker process killed (SIGKILL) with a full buffer loses no job:
//  the broker queues every job it held again, and another worker runs them
Test (prefetch, killed_with_a_full_buffer_loses_nothing)
{
    const char *const options [][2] = { { "backoff-base", "0" } };
    zjob_test_broker_t broker;
    zjob_error_t err;
    cr_assert_eq (zjob_test_broker_start_with (&broker, "memory:", NULL, options, 1, &err), 0,
                  "%s", err.text);
    zjob_client_t *client = s_client (&broker);
    enum { JOBS = 30 };
    char ids [JOBS][ZJOB_ID_LEN + 1];
    for (int index = 0; index < JOBS; index++)
        s_submit (client, "hoard", "n", index, ZJOB_PRIORITY_MEDIUM, ids [index]);
    char *const argv [] = { (char *) ZJOB_BIN_DIR "/zjob-worker", (char *) "--broker",
                            broker.workers, (char *) "--workflow", (char *) "hoard",
                            (char *) "--slots", (char *) "2", (char *) "--prefetch",
                            (char *) "40", (char *) "--", (char *) "sleep", (char *) "60",
                            NULL };
    pid_t pid = zjob_test_spawn_with (argv, NULL, NULL);
    cr_assert_gt (pid, 0);
    //  Every job is the worker's: 2 running, 28 in its buffer
    for (int index = 0; index < JOBS; index++)
        s_expect_status (client, ids [index], ZJOB_RUNNING, NULL);
    kill (pid, SIGKILL);
    cr_assert_eq (zjob_test_wait_exit (pid, DEADLINE_MS), 128 + SIGKILL);

    //  Another worker finishes them all
    zjob_worker_t *worker = s_worker (&broker, "heir", "hoard", 4);
    size_t done = 0;
    int64_t deadline = zjob_mono_ms () + 2 * DEADLINE_MS;
    while (done < JOBS && zjob_mono_ms () < deadline) {
        zjob_task_t *task;
        if (zjob_worker_recv (worker, 20, &task, NULL) == ZJOB_WORKER_TASK) {
            cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0, "%s", err.text);
            done++;
        }
    }
    cr_assert_eq (done, JOBS, "%zu of %d jobs run again", done, JOBS);
    cr_assert_eq (zjob_worker_flush (worker, DEADLINE_MS), 0);
    for (int index = 0; index < JOBS; index++)
        s_expect_status (client, ids [index], ZJOB_COMPLETED, NULL);
    zjob_worker_destroy (&worker);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

//  Run worker's engine on count jobs of workflow, each taking work_ms,
//  until all are done or the deadline; returns the msecs it took
static int64_t
s_run_jobs (zjob_client_t *client, zjob_worker_t *worker, const char *workflow, size_t count,
            int work_ms)
{
    zjob_spec_t *specs = (zjob_spec_t *) calloc (count, sizeof (zjob_spec_t));
    char (*ids) [ZJOB_ID_LEN + 1] = calloc (count, ZJOB_ID_LEN + 1);
    for (size_t index = 0; index < count; index++)
        specs [index] = (zjob_spec_t){ .workflow_id = workflow, .priority = ZJOB_PRIORITY_UNSET };
    zjob_error_t err;
    int64_t start = zjob_mono_ms ();
    cr_assert_eq (zjob_client_submit_batch (client, specs, count, true, ids, &err), 0, "%s",
                  err.text);
    size_t done = 0;
    int64_t deadline = start + 4 * DEADLINE_MS;
    while (done < count && zjob_mono_ms () < deadline) {
        zjob_task_t *task;
        if (zjob_worker_recv (worker, 10, &task, NULL) == ZJOB_WORKER_TASK) {
            if (work_ms)
                zclock_sleep (work_ms);
            cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0, "%s", err.text);
            done++;
        }
    }
    int64_t took = zjob_mono_ms () - start;
    cr_assert_eq (done, count, "%zu of %zu jobs done", done, count);
    cr_assert_eq (zjob_worker_flush (worker, DEADLINE_MS), 0);
    free (specs);
    free (ids);
    return took;
}

//  auto sizes from what it measures. Behind 20 ms each way (a 40 ms round
//  trip) a 2-slot worker would do 50 no-op jobs a second without a
//  buffer; its buffer grows to cover the round trip, and 600 jobs take a
//  fraction of the 12 s they would. Next to the broker, jobs of 20 ms (a
//  round trip of well under a job) get no buffer at all
Test (prefetch, auto_grows_with_the_round_trip, .timeout = 60)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    const char *port = strrchr (broker.workers, ':');
    cr_assert_not_null (port);
    char endpoint [64];
    zjob_test_delay_t *proxy = zjob_test_delay_new (atoi (port + 1), 20, endpoint);
    cr_assert_not_null (proxy);
    const char *workflows [] = { "far" };
    zjob_error_t err;
    zjob_worker_t *far = zjob_worker_new (endpoint, "far", workflows, 1, 2, &err);
    cr_assert_not_null (far, "%s", err.text);
    cr_assert_eq (zjob_worker_set_prefetch (far, ZJOB_PREFETCH_AUTO), 0);
    s_until_registered (far);
    int64_t took = s_run_jobs (client, far, "far", 600, 0);
    size_t prefetch = zjob_worker_prefetch (far);
    cr_log_info ("far: 600 jobs in %" PRId64 " ms, prefetch %zu", took, prefetch);
    cr_assert_lt (took, 6000, "600 jobs took %" PRId64 " ms", took);
    cr_assert_geq (prefetch, 50, "prefetch %zu behind a 40 ms round trip", prefetch);
    zjob_worker_destroy (&far);
    zjob_test_delay_destroy (&proxy);

    zjob_worker_t *near = s_worker (&broker, "near", "near", 2);
    cr_assert_eq (zjob_worker_set_prefetch (near, ZJOB_PREFETCH_AUTO), 0);
    s_until_registered (near);
    s_run_jobs (client, near, "near", 20, 20);
    cr_assert_eq (zjob_worker_prefetch (near), 0, "slow jobs near by: prefetch %zu",
                  zjob_worker_prefetch (near));
    zjob_worker_destroy (&near);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}
