/*  =========================================================================
    test_zjob_worker_run - zjob_worker_run's handler pool against a real broker

    Handlers on the pool take jobs through their whole life, see pause,
    resume and cancel, and are stopped while they hold jobs; a worker
    process is killed mid-job, the broker is restarted under a running
    handler, and priorities are checked across workers. Every wait polls a
    condition with a deadline.
    ========================================================================= */

#include "test_zjob_worker.h"

//  --------------------------------------------------------------------------
//  The handler pool

//  What handlers saw, shared with the test
typedef struct {
    atomic_int started;     //  Handlers started
    atomic_int saw_pause;   //  A handler saw its task paused
    atomic_int saw_resume;  //  ... and then go on
    atomic_int saw_stop;    //  A checkpoint said -1
    atomic_int release;     //  The test lets blocked handlers finish
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
            zclock_sleep (2);  //  The work
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
    //  One attempt: a failure is final here (the broker's retries are
    //  test_zjob_broker_retry's)
    const char *const options [][2] = { { "max-attempts", "1" } };
    zjob_error_t start_err;
    cr_assert_eq (zjob_test_broker_start_with (&broker, "memory:", NULL, options, 1, &start_err),
                  0, "broker: %s", start_err.text);
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
        _exit (2);  //  Not reached: killed first
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
    enum { PER_PRIORITY = 4,
           OTHERS = 3,
           TOTAL = 4 * PER_PRIORITY + OTHERS };
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
    //  One job at a time each, as the shares below assume: with prefetch
    //  (auto sizes a buffer for these no-op jobs), the worker that starts
    //  first may take the whole queue into its buffer before the other
    //  has asked (test_zjob_prefetch covers priority with buffers)
    for (int w = 0; w < 3; w++)
        cr_assert_eq (zjob_worker_set_prefetch (workers [w], 0), 0);
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
            cr_assert_str_eq (zjob_task_workflow (task), w < 2 ? "prio" : "other");
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
//  Prefetch: the pool never runs more handlers than slots, whatever the
//  engine holds in its buffer

typedef struct {
    atomic_int running;  //  Handlers running now
    atomic_int peak;     //  The most at once
    atomic_int done;     //  Handlers ended
    atomic_int release;  //  The test lets them finish
} s_crowd_t;

static uint8_t *
s_crowd_handler (zjob_task_t *task, size_t *size_p, void *arg)
{
    s_crowd_t *crowd = (s_crowd_t *) arg;
    int now = ++crowd->running;
    int peak = crowd->peak;
    while (now > peak && !atomic_compare_exchange_weak (&crowd->peak, &peak, now))
        ;
    while (!crowd->release && zjob_task_checkpoint (task) == 0)
        zclock_sleep (2);
    crowd->running--;
    crowd->done++;
    uint8_t buffer [MAP_MAX];
    const uint8_t *outputs = s_map ("y", 1, buffer, size_p);
    uint8_t *copy = (uint8_t *) malloc (*size_p);
    memcpy (copy, outputs, *size_p);
    return copy;
}

typedef struct {
    zjob_worker_t *worker;
    s_crowd_t *crowd;
} s_crowd_runner_t;

static void *
s_crowd_thread (void *arg)
{
    s_crowd_runner_t *runner = (s_crowd_runner_t *) arg;
    zjob_worker_run (runner->worker, s_crowd_handler, runner->crowd, NULL);
    return NULL;
}

Test (worker, run_prefetch_never_beyond_slots)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    s_crowd_t crowd = { 0 };
    s_crowd_runner_t runner = { s_worker (&broker, "crowd", "crowd", 2), &crowd };
    cr_assert_eq (zjob_worker_set_prefetch (runner.worker, 8), 0);
    pthread_t thread;
    pthread_create (&thread, NULL, s_crowd_thread, &runner);
    char ids [8][ZJOB_ID_LEN + 1];
    for (int i = 0; i < 8; i++)
        s_submit (client, "crowd", "x", i, ZJOB_PRIORITY_MEDIUM, ids [i]);
    //  All eight are the worker's (2 slots + 8 prefetch), two run
    for (int i = 0; i < 8; i++)
        s_expect_status (client, ids [i], ZJOB_RUNNING, NULL);
    int64_t until = zjob_mono_ms () + 200;
    while (zjob_mono_ms () < until)
        cr_assert_leq (crowd.running, 2);
    cr_assert_eq (crowd.peak, 2);
    crowd.release = 1;
    zjob_error_t err;
    for (int i = 0; i < 8; i++)
        cr_assert_eq (zjob_client_wait (client, ids [i], DEADLINE_MS, &err), ZJOB_COMPLETED,
                      "job %d: %s", i, err.text);
    cr_assert_eq (crowd.peak, 2, "never more handlers than slots");
    cr_assert_eq (crowd.done, 8);
    zjob_worker_stop (runner.worker);
    pthread_join (thread, NULL);
    zjob_worker_destroy (&runner.worker);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}
