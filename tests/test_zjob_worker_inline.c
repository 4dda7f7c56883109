/*  =========================================================================
    test_zjob_worker_inline - zjob_worker_run with the handler on its thread

    zjob_worker_set_inline with 1 slot: the handler runs on the thread that
    called zjob_worker_run (and on a pool thread without it), and the task
    calls it makes keep the engine going while it runs: heartbeats (a
    handler longer than the broker's liveness keeps its job), pause waited
    out in zjob_task_checkpoint, cancel and stop seen there. The broker is
    the in-process test broker (100 ms heartbeats, so liveness is 300 ms).
    ========================================================================= */

#include "test_zjob_worker.h"

//  What handlers saw, shared with the test
typedef struct {
    pthread_t runner;     //  The thread that called zjob_worker_run
    atomic_int started;   //  Handlers started
    atomic_int on_other;  //  Handlers that ran on another thread than runner
    atomic_int ticks;     //  Checkpoints passed by a blocking handler
    atomic_int saw_stop;  //  A checkpoint said -1
    atomic_int release;   //  The test lets a blocking handler finish
} s_seen_t;

//  Inputs {"x": n}. n < 1000: progress, outputs {"y": 2n}. n == 1000:
//  checkpoints every 2 ms until released (outputs) or told to stop
//  (NULL). n == 1003: 1 s of work asking zjob_task_cancelled every 2 ms,
//  then outputs.
static uint8_t *
s_handler (zjob_task_t *task, size_t *size_p, void *arg)
{
    s_seen_t *seen = (s_seen_t *) arg;
    seen->started++;
    if (!pthread_equal (pthread_self (), seen->runner))
        seen->on_other++;
    size_t size;
    const uint8_t *inputs = zjob_task_inputs (task, &size);
    int64_t x = s_map_int (inputs, size, "x", 0);
    if (x == 1000)
        while (!seen->release) {
            if (zjob_task_checkpoint (task) != 0) {
                seen->saw_stop++;
                return NULL;
            }
            seen->ticks++;
            zclock_sleep (2);
        }
    else if (x == 1003) {
        int64_t until = zjob_mono_ms () + 1000;
        while (zjob_mono_ms () < until && !zjob_task_cancelled (task))
            zclock_sleep (2);
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
    runner->seen->runner = pthread_self ();
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

//  A 1-slot worker running on a thread of its own, inline or not
static void
s_start (zjob_test_broker_t *broker, const char *workflow, bool inline_on, s_seen_t *seen,
         s_runner_t *runner, pthread_t *thread)
{
    *runner = (s_runner_t){ s_worker (broker, workflow, workflow, 1), seen, -1 };
    zjob_worker_set_inline (runner->worker, inline_on);
    pthread_create (thread, NULL, s_run_thread, runner);
}

static void
s_stop (s_runner_t *runner, pthread_t thread)
{
    zjob_worker_stop (runner->worker);
    pthread_join (thread, NULL);
    cr_assert_eq (runner->rc, 0);
    zjob_worker_destroy (&runner->worker);
}

//  Jobs through a worker: completed with the handler's outputs and
//  progress; returns how many handlers ran off the runner's thread
static int
s_three_jobs (bool inline_on)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    s_seen_t seen = { 0 };
    s_runner_t runner;
    pthread_t thread;
    s_start (&broker, "inl", inline_on, &seen, &runner, &thread);
    zjob_error_t err;
    char ids [3][ZJOB_ID_LEN + 1];
    for (int i = 0; i < 3; i++)
        s_submit (client, "inl", "x", i, ZJOB_PRIORITY_LOW, ids [i]);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq (zjob_client_wait (client, ids [i], DEADLINE_MS, &err), ZJOB_COMPLETED,
                      "job %d: %s", i, err.text);
        s_expect_results (client, ids [i], "completed", "y", i * 2, NULL);
        zjob_job_t *job = zjob_client_get (client, ids [i], &err);
        cr_assert_not_null (job, "%s", err.text);
        cr_assert_not_null (job->progress_message, "the handler's progress was recorded");
        cr_assert_str_eq (job->progress_message, "doubling");
        zjob_job_destroy (&job);
    }
    cr_assert_eq (seen.started, 3);
    s_stop (&runner, thread);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
    return seen.on_other;
}

Test (worker_inline, handler_runs_on_the_calling_thread)
{
    cr_assert_eq (s_three_jobs (true), 0, "inline: every handler on zjob_worker_run's thread");
    cr_assert_eq (s_three_jobs (false), 3, "the pool: every handler on a pool thread");
}

Test (worker_inline, a_long_handler_keeps_its_worker_alive)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    s_seen_t seen = { 0 };
    s_runner_t runner;
    pthread_t thread;
    s_start (&broker, "long", true, &seen, &runner, &thread);
    zjob_error_t err;

    //  1 s of work, over three times the broker's liveness (300 ms), while
    //  a spare worker waits for the job should the broker give the first
    //  up for dead: the handler's zjob_task_cancelled calls sent the
    //  heartbeats, so the job was never taken back and its first attempt
    //  completes
    char id [ZJOB_ID_LEN + 1];
    s_submit (client, "long", "x", 1003, ZJOB_PRIORITY_LOW, id);
    s_wait_for (&seen.started, 1);
    zjob_worker_t *spare = s_worker (&broker, "spare", "long", 1);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (zjob_client_status (client, id, &err) != ZJOB_COMPLETED
           && zjob_mono_ms () < deadline) {
        zjob_task_t *task;
        cr_assert_neq (zjob_worker_recv (spare, 20, &task, &err), ZJOB_WORKER_TASK,
                       "the job was taken from the inline worker");
    }
    zjob_worker_destroy (&spare);
    cr_assert_eq (zjob_client_wait (client, id, DEADLINE_MS, &err), ZJOB_COMPLETED, "%s",
                  err.text);
    s_expect_results (client, id, "completed", "y", 2006, NULL);
    zjob_job_t *job = zjob_client_get (client, id, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (job->attempts, 1, "the worker was never given up for dead");
    zjob_job_destroy (&job);
    cr_assert_eq (seen.started, 1);

    s_stop (&runner, thread);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

Test (worker_inline, pause_is_waited_out_and_cancel_seen_in_checkpoint)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    s_seen_t seen = { 0 };
    s_runner_t runner;
    pthread_t thread;
    s_start (&broker, "ctl", true, &seen, &runner, &thread);
    zjob_error_t err;

    //  Paused, the handler's checkpoint blocks: no tick for 300 ms
    char id [ZJOB_ID_LEN + 1];
    s_submit (client, "ctl", "x", 1000, ZJOB_PRIORITY_LOW, id);
    s_wait_for (&seen.ticks, 1);
    cr_assert_eq (zjob_client_pause (client, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_client_status (client, id, &err), ZJOB_PAUSED);
    zclock_sleep (50);  //  The PAUSE reaches the worker (its OK came before the status)
    int ticks = seen.ticks;
    zclock_sleep (300);
    cr_assert_eq (seen.ticks, ticks, "blocked while paused");
    //  Resumed, it goes on
    cr_assert_eq (zjob_client_resume (client, id, &err), 0, "%s", err.text);
    s_wait_for (&seen.ticks, ticks + 5);

    //  Cancelled, its checkpoint says -1 and the job stays cancelled
    cr_assert_eq (zjob_client_cancel (client, id, &err), 0, "%s", err.text);
    s_wait_for (&seen.saw_stop, 1);
    cr_assert_eq (zjob_client_status (client, id, &err), ZJOB_CANCELLED);

    //  The slot is free again: the next job runs
    s_submit (client, "ctl", "x", 4, ZJOB_PRIORITY_LOW, id);
    cr_assert_eq (zjob_client_wait (client, id, DEADLINE_MS, &err), ZJOB_COMPLETED, "%s",
                  err.text);
    s_stop (&runner, thread);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

Test (worker_inline, stop_hands_the_running_job_back)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    s_seen_t seen = { 0 };
    s_runner_t runner;
    pthread_t thread;
    s_start (&broker, "stop", true, &seen, &runner, &thread);

    char id [ZJOB_ID_LEN + 1];
    s_submit (client, "stop", "x", 1000, ZJOB_PRIORITY_LOW, id);
    s_wait_for (&seen.ticks, 1);
    //  The stop reaches the handler through its checkpoint, which says -1;
    //  its NULL hands the job back rather than failing it
    s_stop (&runner, thread);
    cr_assert_eq (seen.saw_stop, 1);
    s_expect_status (client, id, ZJOB_QUEUED, NULL);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}
