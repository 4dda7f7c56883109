/*  =========================================================================
    test_zjob_worker_attempts - attempts, permanent failures and the
    broker's cancels, on the worker's side of the wire

    The retry policy is the broker's; what the worker owes it is exact
    messages. A fake broker (test_zjob_worker_fake.h) checks them key by
    key: every RESULT names its attempt, in the single and the batched
    form, and says `permanent` only for a failure given as permanent; a
    CANCEL's reason reaches the task; a CANCEL about another attempt is
    answered 404 and stops nothing; a later attempt of a job whose
    cancelled task still runs waits for it, then runs. The same against
    zjob_worker_run's handlers, and against the real zjob-worker: exit
    statuses of --permanent-exit, a CANCEL for a timeout that kills the
    command's whole process group after the grace, and the job's own
    timeout applied locally when no CANCEL comes (skipped while the job
    map does not carry `tmo`). Every wait polls a condition with a
    deadline.
    ========================================================================= */

#include "test_zjob_worker_fake.h"

#define WORKER_BIN ZJOB_BIN_DIR "/zjob-worker"
#define PROCESS_DEADLINE_MS 15000  //  msecs for what a child process does

//  --------------------------------------------------------------------------
//  Helpers

//  A worker of workflow "fake" on the fake broker, registered with credit
static zjob_worker_t *
s_fake_worker (s_fake_t *fake, const char *name, size_t slots, uint64_t batch)
{
    const char *workflows [] = { "fake" };
    zjob_error_t err;
    zjob_worker_t *worker = zjob_worker_new (fake->endpoint, name, workflows, 1, slots, &err);
    cr_assert_not_null (worker, "%s", err.text);
    zjob_msg_t *ready = s_fake_expect (fake, worker, ZJOB_CMD_READY);
    zjob_msg_begin (fake->builder, ZJOB_CMD_OK, zjob_msg_request_id (ready));
    zjob_msg_add_uint (fake->builder, "heartbeat_ms", 1000);
    zjob_msg_add_uint (fake->builder, "liveness", 3);
    zjob_msg_add_uint (fake->builder, "credit", slots);
    if (batch)
        zjob_msg_add_uint (fake->builder, "batch", batch);
    s_fake_send (fake);
    zjob_msg_destroy (&ready);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (!zjob_worker_registered (worker) && zjob_mono_ms () < deadline)
        s_pump (worker, 10);
    cr_assert (zjob_worker_registered (worker));
    return worker;
}

//  The next RESULT, single form, for job id with status; its body is
//  checked for attempt and permanent; the fake answers OK
static void
s_expect_result (s_fake_t *fake, zjob_worker_t *worker, const char *id, const char *status,
                 uint32_t attempt, bool permanent)
{
    zjob_msg_t *result = s_fake_expect (fake, worker, ZJOB_CMD_RESULT);
    cr_assert_str_eq (zjob_msg_str (result, "id"), id);
    cr_assert_str_eq (zjob_msg_str (result, "status"), status);
    s_expect_result_keys (zjob_msg_body (result), attempt, permanent);
    s_fake_result_ok (fake, result);
    zjob_msg_destroy (&result);
}

//  The worker's answer to the CANCEL sent as request_id: OK, or ERROR code
static void
s_expect_answer (s_fake_t *fake, zjob_worker_t *worker, uint64_t request_id, int code)
{
    zjob_msg_t *answer = s_fake_expect (fake, worker, code ? ZJOB_CMD_ERROR : ZJOB_CMD_OK);
    cr_assert_eq (zjob_msg_request_id (answer), request_id);
    if (code) {
        zjob_error_t err;
        zjob_msg_error (answer, &err);
        cr_assert_eq (err.code, code, "ERROR %d: %s", err.code, err.text);
    }
    zjob_msg_destroy (&answer);
}

//  Wait until the worker has read what the fake sent so far: a CANCEL of
//  an attempt it never has, answered 404 after them (one connection keeps
//  the order), with no event for the program meanwhile
static void
s_fake_barrier (s_fake_t *fake, zjob_worker_t *worker, const char *id)
{
    uint64_t request = s_fake_cancel (fake, id, ZJOB_REASON_CANCELLED, 999);
    s_expect_answer (fake, worker, request, ZJOB_NOT_FOUND);
}


//  --------------------------------------------------------------------------
//  The engine

Test (worker_attempts, every_result_names_its_attempt_and_permanent_only_when_set)
{
    s_fake_t fake;
    s_fake_start (&fake);
    zjob_worker_t *worker = s_fake_worker (&fake, "attempts", 3, 0);
    zjob_error_t err;

    //  Completed, on the third attempt
    char id [ZJOB_ID_LEN + 1] = "";
    s_fake_job_attempt (&fake, id, 3);
    zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_eq (zjob_task_attempt (task), 3);
    cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0, "%s", err.text);
    s_expect_result (&fake, worker, id, "completed", 3, false);

    //  Failed, to be retried: no permanent key at all
    *id = '\0';
    s_fake_job_attempt (&fake, id, 1);
    task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_eq (zjob_worker_fail (worker, &task, "flaky", "try again"), 0);
    s_expect_result (&fake, worker, id, "failed", 1, false);

    //  Failed for good
    *id = '\0';
    s_fake_job_attempt (&fake, id, 2);
    task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_eq (zjob_worker_fail_permanent (worker, &task, "bad_data", "never valid"), 0);
    zjob_msg_t *result = s_fake_expect (&fake, worker, ZJOB_CMD_RESULT);
    cr_assert_str_eq (zjob_msg_str (result, "error_kind"), "bad_data");
    cr_assert_str_eq (zjob_msg_str (result, "error_message"), "never valid");
    s_expect_result_keys (zjob_msg_body (result), 2, true);
    s_fake_result_ok (&fake, result);
    zjob_msg_destroy (&result);
    cr_assert_eq (zjob_worker_flush (worker, DEADLINE_MS), 0);

    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
}

Test (worker_attempts, batched_results_name_their_attempts)
{
    s_fake_t fake;
    s_fake_start (&fake);
    zjob_worker_t *worker = s_fake_worker (&fake, "batched", 3, 10);

    //  One JOB of three jobs, on attempts 1, 2 and 4
    zjob_job_t *jobs [3] = { s_fake_job_new (NULL, 1), s_fake_job_new (NULL, 2),
                             s_fake_job_new (NULL, 4) };
    zjob_msg_begin (fake.builder, ZJOB_CMD_JOB, 0);
    cr_assert_eq (zjob_msg_add_jobs (fake.builder, "jobs", jobs, 3), 3);
    s_fake_send (&fake);

    //  Completed, failed, failed for good: one RESULT once all are taken
    zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, NULL), 0);
    task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_eq (zjob_worker_fail (worker, &task, "flaky", NULL), 0);
    task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_eq (zjob_worker_fail_permanent (worker, &task, NULL, "no"), 0);
    zjob_msg_t *result = s_fake_expect (&fake, worker, ZJOB_CMD_RESULT);
    const msgpack_object *items = zjob_msg_field (result, "results");
    cr_assert (items && items->type == MSGPACK_OBJECT_ARRAY);
    cr_assert_eq (items->via.array.size, 3);
    cr_assert_eq (zjob_msg_uint (result, "credit", 0), 3);
    for (uint32_t i = 0; i < 3; i++) {
        const msgpack_object *item = &items->via.array.ptr [i];
        const msgpack_object *id = s_obj_field (item, "id");
        cr_assert (id && id->type == MSGPACK_OBJECT_STR);
        cr_assert_eq (id->via.str.size, strlen (jobs [i]->id));
        cr_assert (memcmp (id->via.str.ptr, jobs [i]->id, id->via.str.size) == 0,
                   "results in the order of the jobs");
        s_expect_result_keys (item, jobs [i]->attempts, i == 2);
        const msgpack_object *kind = s_obj_field (item, "error_kind");
        cr_assert (i == 0 ? kind == NULL : kind && kind->type == MSGPACK_OBJECT_STR);
    }
    //  The broker's codec reads the same
    size_t count;
    const zjob_result_t *decoded = zjob_msg_results (result, &count);
    cr_assert_eq (count, 3);
    cr_assert (decoded [0].completed && !decoded [1].completed && !decoded [2].completed);
    cr_assert_str_eq (decoded [2].error_kind, "error");
    zjob_msg_begin (fake.builder, ZJOB_CMD_OK, zjob_msg_request_id (result));
    s_fake_send (&fake);
    zjob_msg_destroy (&result);
    cr_assert_eq (zjob_worker_flush (worker, DEADLINE_MS), 0);

    for (int i = 0; i < 3; i++)
        zjob_job_destroy (&jobs [i]);
    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
}

Test (worker_attempts, a_cancel_says_why)
{
    s_fake_t fake;
    s_fake_start (&fake);
    zjob_worker_t *worker = s_fake_worker (&fake, "why", 2, 0);

    //  A timeout's CANCEL names the attempt it stops
    char timed_out [ZJOB_ID_LEN + 1] = "";
    s_fake_job_attempt (&fake, timed_out, 2);
    zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_null (zjob_task_cancel_reason (task), "no reason before a cancel");
    uint64_t request = s_fake_cancel (&fake, timed_out, ZJOB_REASON_TIMEOUT, 2);
    cr_assert_eq (s_expect (worker, ZJOB_WORKER_CANCEL), task);
    s_expect_answer (&fake, worker, request, 0);
    cr_assert (zjob_task_cancelled (task));
    cr_assert_str_eq (zjob_task_cancel_reason (task), "timeout");

    //  A plain CANCEL (an older broker) gives none; a reason that is no
    //  name makes the CANCEL bad input (400), which stops nothing
    char plain [ZJOB_ID_LEN + 1];
    s_fake_job (&fake, plain);
    zjob_task_t *other = s_expect (worker, ZJOB_WORKER_TASK);
    request = s_fake_cancel (&fake, plain, NULL, 0);
    cr_assert_eq (s_expect (worker, ZJOB_WORKER_CANCEL), other);
    s_expect_answer (&fake, worker, request, 0);
    cr_assert (zjob_task_cancelled (other));
    cr_assert_null (zjob_task_cancel_reason (other));

    //  Their ends send nothing: the next RESULT is a third job's
    cr_assert_eq (zjob_worker_fail (worker, &task, NULL, NULL), 0);
    cr_assert_eq (zjob_worker_complete (worker, &other, NULL, 0, NULL), 0);
    char third [ZJOB_ID_LEN + 1];
    s_fake_job (&fake, third);
    task = s_expect (worker, ZJOB_WORKER_TASK);
    request = s_fake_cancel (&fake, third, "not a name!", 1);
    s_expect_answer (&fake, worker, request, ZJOB_BAD_REQUEST);
    cr_assert_not (zjob_task_cancelled (task));
    cr_assert_null (zjob_task_cancel_reason (task));
    request = s_fake_cancel (&fake, third, ZJOB_REASON_HEARTBEAT_TIMEOUT, 1);
    cr_assert_eq (s_expect (worker, ZJOB_WORKER_CANCEL), task);
    s_expect_answer (&fake, worker, request, 0);
    cr_assert_str_eq (zjob_task_cancel_reason (task), "heartbeat_timeout");
    zjob_worker_fail (worker, &task, NULL, NULL);
    char fourth [ZJOB_ID_LEN + 1];
    s_fake_job (&fake, fourth);
    task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, NULL), 0);
    s_expect_result (&fake, worker, fourth, "completed", 1, false);

    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
}

Test (worker_attempts, a_cancel_of_another_attempt_is_404_and_stops_nothing)
{
    s_fake_t fake;
    s_fake_start (&fake);
    zjob_worker_t *worker = s_fake_worker (&fake, "stale", 1, 0);
    char id [ZJOB_ID_LEN + 1] = "";
    s_fake_job_attempt (&fake, id, 2);
    zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);

    //  About attempt 1 (timed out before) or 3: not this one. The fake's
    //  wait for the answer also checks that the program gets no event.
    uint64_t request = s_fake_cancel (&fake, id, ZJOB_REASON_TIMEOUT, 1);
    s_expect_answer (&fake, worker, request, ZJOB_NOT_FOUND);
    request = s_fake_cancel (&fake, id, ZJOB_REASON_CANCELLED, 3);
    s_expect_answer (&fake, worker, request, ZJOB_NOT_FOUND);
    cr_assert_not (zjob_task_cancelled (task));
    cr_assert_null (zjob_task_cancel_reason (task));
    cr_assert_eq (zjob_worker_progress (worker, task, 0.5, NULL), 0);
    zjob_msg_t *progress = s_fake_expect (&fake, worker, ZJOB_CMD_PROGRESS);
    zjob_msg_destroy (&progress);

    //  Its result is still sent, for attempt 2
    cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, NULL), 0);
    s_expect_result (&fake, worker, id, "completed", 2, false);
    cr_assert_eq (zjob_worker_flush (worker, DEADLINE_MS), 0);

    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
}

Test (worker_attempts, a_later_attempt_waits_for_the_cancelled_one)
{
    s_fake_t fake;
    s_fake_start (&fake);
    zjob_worker_t *worker = s_fake_worker (&fake, "later", 2, 0);

    //  Attempt 1 times out; its handler has not ended when attempt 2 comes
    char id [ZJOB_ID_LEN + 1] = "";
    s_fake_job_attempt (&fake, id, 1);
    zjob_task_t *first = s_expect (worker, ZJOB_WORKER_TASK);
    uint64_t request = s_fake_cancel (&fake, id, ZJOB_REASON_TIMEOUT, 1);
    cr_assert_eq (s_expect (worker, ZJOB_WORKER_CANCEL), first);
    s_expect_answer (&fake, worker, request, 0);
    s_fake_job_attempt (&fake, id, 2);
    s_fake_job_attempt (&fake, id, 2);   //  Twice: the second is ignored
    s_fake_barrier (&fake, worker, id);  //  No TASK while attempt 1 runs
    cr_assert_eq (zjob_worker_held (worker), 1);

    //  Attempt 1 ends: attempt 2 starts, and only its result is sent
    cr_assert_eq (zjob_worker_fail (worker, &first, ZJOB_KIND_TIMEOUT, "stopped"), 0);
    zjob_task_t *second = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (second), id);
    cr_assert_eq (zjob_task_attempt (second), 2);
    cr_assert_not (zjob_task_cancelled (second));
    //  A JOB for it while it runs, even of a later attempt, is ignored
    s_fake_job_attempt (&fake, id, 3);
    s_fake_barrier (&fake, worker, id);
    cr_assert_eq (zjob_worker_complete (worker, &second, NULL, 0, NULL), 0);
    s_expect_result (&fake, worker, id, "completed", 2, false);

    //  A waiting attempt that is cancelled in turn never starts
    char other [ZJOB_ID_LEN + 1] = "";
    s_fake_job_attempt (&fake, other, 1);
    first = s_expect (worker, ZJOB_WORKER_TASK);
    request = s_fake_cancel (&fake, other, ZJOB_REASON_TIMEOUT, 1);
    cr_assert_eq (s_expect (worker, ZJOB_WORKER_CANCEL), first);
    s_expect_answer (&fake, worker, request, 0);
    s_fake_job_attempt (&fake, other, 2);
    s_fake_barrier (&fake, worker, other);
    request = s_fake_cancel (&fake, other, ZJOB_REASON_CANCELLED, 2);
    s_expect_answer (&fake, worker, request, 0);
    cr_assert_eq (zjob_worker_fail (worker, &first, NULL, NULL), 0);
    s_pump (worker, 100);
    cr_assert_eq (zjob_worker_held (worker), 0);

    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
}


//  A broker that died before its dispatch of a job was durable (a crash,
//  a failover) found the job never handed out: it tells the worker, back
//  with the job in its READY, to drop it, and hands it out again under
//  the same attempt number. That JOB is a new one, not the one held: it
//  runs once the dropped task ends, instead of being ignored, which left
//  the job running for nobody
Test (worker_attempts, a_dropped_job_handed_out_again_under_the_same_attempt_runs)
{
    s_fake_t fake;
    s_fake_start (&fake);
    zjob_worker_t *worker = s_fake_worker (&fake, "dropped", 2, 0);
    char id [ZJOB_ID_LEN + 1] = "";
    s_fake_job_attempt (&fake, id, 1);
    zjob_task_t *first = s_expect (worker, ZJOB_WORKER_TASK);

    //  The new broker: RECONNECT, and the READY that lists the job is
    //  answered with drop
    zjob_msg_begin (fake.builder, ZJOB_CMD_RECONNECT, 0);
    s_fake_send (&fake);
    zjob_msg_t *ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    size_t listed = 0;
    const char *const *jobs = zjob_msg_strs (ready, "jobs", &listed);
    cr_assert_eq (listed, 1);
    cr_assert_str_eq (jobs [0], id);
    zjob_msg_begin (fake.builder, ZJOB_CMD_OK, zjob_msg_request_id (ready));
    zjob_msg_add_uint (fake.builder, "heartbeat_ms", 1000);
    zjob_msg_add_uint (fake.builder, "liveness", 3);
    zjob_msg_add_uint (fake.builder, "credit", 2);
    const char *drop [] = { id };
    zjob_msg_add_strs (fake.builder, "drop", drop, 1);
    s_fake_send (&fake);
    zjob_msg_destroy (&ready);
    cr_assert_eq (s_expect (worker, ZJOB_WORKER_CANCEL), first);

    //  Handed out again, attempt 1 again: it waits for the dropped task
    s_fake_job_attempt (&fake, id, 1);
    s_fake_barrier (&fake, worker, id);
    cr_assert_eq (zjob_worker_fail (worker, &first, NULL, NULL), 0);
    zjob_task_t *second = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (second), id);
    cr_assert_eq (zjob_task_attempt (second), 1);
    cr_assert_eq (zjob_worker_complete (worker, &second, NULL, 0, NULL), 0);
    s_expect_result (&fake, worker, id, "completed", 1, false);

    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
}


//  --------------------------------------------------------------------------
//  zjob_worker_run's handlers

typedef struct {
    zjob_worker_t *worker;
    char reason [64];    //  The cancel reason a handler saw ("(none)" if NULL)
    atomic_int waiting;  //  Handlers waiting for their cancel
    atomic_int cancels;  //  Handlers that saw their cancel
} s_run_state_t;

//  Attempt 1: fail for good. Else: wait for a cancel, and note its reason
static uint8_t *
s_handler (zjob_task_t *task, size_t *size_p, void *arg)
{
    (void) size_p;
    s_run_state_t *state = (s_run_state_t *) arg;
    if (zjob_task_attempt (task) == 1) {
        zjob_task_fail_permanent (task, "bad_data", "never valid");
        return NULL;
    }
    state->waiting++;
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (zjob_task_checkpoint (task) == 0 && zjob_mono_ms () < deadline)
        zclock_sleep (2);  //  The work
    const char *reason = zjob_task_cancel_reason (task);
    snprintf (state->reason, sizeof (state->reason), "%s", reason ? reason : "(none)");
    state->cancels++;
    return NULL;
}

static void *
s_run_thread (void *arg)
{
    s_run_state_t *state = (s_run_state_t *) arg;
    zjob_worker_run (state->worker, s_handler, state, NULL);
    return NULL;
}

Test (worker_attempts, handlers_fail_for_good_and_see_why_they_are_cancelled)
{
    s_fake_t fake;
    s_fake_start (&fake);
    s_run_state_t state = { .waiting = 0, .cancels = 0 };
    state.worker = s_fake_worker (&fake, "handlers", 2, 0);
    pthread_t thread;
    cr_assert_eq (pthread_create (&thread, NULL, s_run_thread, &state), 0);

    char id [ZJOB_ID_LEN + 1] = "";
    s_fake_job_attempt (&fake, id, 1);
    s_expect_result (&fake, NULL, id, "failed", 1, true);

    //  Cancelled once its handler runs (one not started yet just ends)
    *id = '\0';
    s_fake_job_attempt (&fake, id, 2);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    while (state.waiting == 0 && zjob_mono_ms () < deadline)
        zclock_sleep (5);  //  Polling for the handler to start
    cr_assert_eq (state.waiting, 1);
    uint64_t request = s_fake_cancel (&fake, id, ZJOB_REASON_HEARTBEAT_TIMEOUT, 2);
    s_expect_answer (&fake, NULL, request, 0);
    deadline = zjob_mono_ms () + DEADLINE_MS;
    while (state.cancels == 0 && zjob_mono_ms () < deadline)
        zclock_sleep (5);  //  Polling for the handler to return
    cr_assert_eq (state.cancels, 1);
    cr_assert_str_eq (state.reason, "heartbeat_timeout");

    zjob_worker_stop (state.worker);
    pthread_join (thread, NULL);
    zjob_worker_destroy (&state.worker);
    s_fake_stop (&fake);
}


//  --------------------------------------------------------------------------
//  zjob-worker

//  What a zjob-worker test started
typedef struct {
    s_fake_t fake;
    char *dir;       //  Temporary directory: pid files, the log
    char log [600];  //  zjob-worker's stderr
    pid_t worker;
} s_cmd_t;

//  Start zjob-worker on a fake broker serving "fake" with the options and
//  command in args (NULL-ended; "@DIR@" stands for the test's directory),
//  and register it with one slot
static void
s_cmd_start (s_cmd_t *cmd, const char *const *args)
{
    s_fake_start (&cmd->fake);
    cmd->dir = zjob_test_tmpdir ();
    cr_assert_not_null (cmd->dir);
    snprintf (cmd->log, sizeof (cmd->log), "%s/worker.log", cmd->dir);
    char *argv [40] = { "/bin/sh", "-c", "log=$1; shift; exec \"$@\" 2>>\"$log\"", "sh",
                        cmd->log, WORKER_BIN, "--broker", cmd->fake.endpoint, "-w", "fake" };
    int argc = 10;
    for (; args && *args && argc < 39; args++)
        argv [argc++] = streq (*args, "@DIR@") ? cmd->dir : (char *) *args;
    argv [argc] = NULL;
    cmd->worker = zjob_test_spawn (argv, NULL);
    cr_assert_gt (cmd->worker, 0);
    zjob_msg_t *ready = s_fake_expect (&cmd->fake, NULL, ZJOB_CMD_READY);
    //  Slow heartbeats: a loaded machine must not make either side look dead
    zjob_msg_begin (cmd->fake.builder, ZJOB_CMD_OK, zjob_msg_request_id (ready));
    zjob_msg_add_uint (cmd->fake.builder, "heartbeat_ms", 5000);
    zjob_msg_add_uint (cmd->fake.builder, "liveness", 3);
    zjob_msg_add_uint (cmd->fake.builder, "credit", 1);
    s_fake_send (&cmd->fake);
    zjob_msg_destroy (&ready);
}

static void
s_cmd_stop (s_cmd_t *cmd)
{
    zjob_test_stop (&cmd->worker, SIGKILL, PROCESS_DEADLINE_MS);
    s_fake_stop (&cmd->fake);
    zjob_test_tmpdir_done (&cmd->dir);
}

//  The pid a job wrote into dir/name, once it is there
static pid_t
s_cmd_pid (s_cmd_t *cmd, const char *name)
{
    char path [700];
    snprintf (path, sizeof (path), "%s/%s", cmd->dir, name);
    int64_t deadline = zjob_mono_ms () + PROCESS_DEADLINE_MS;
    while (!zsys_file_exists (path) && zjob_mono_ms () < deadline)
        zclock_sleep (5);  //  Polling for a file the job writes
    FILE *file = fopen (path, "r");
    cr_assert_not_null (file, "the job did not write %s", name);
    int pid = 0;
    cr_assert_eq (fscanf (file, "%d", &pid), 1);
    fclose (file);
    cr_assert_gt (pid, 0);
    return (pid_t) pid;
}

//  Run one job on attempt and expect its failed RESULT: kind, permanent
static void
s_cmd_expect_failure (s_cmd_t *cmd, uint32_t attempt, const char *kind, bool permanent)
{
    char id [ZJOB_ID_LEN + 1] = "";
    s_fake_job_attempt (&cmd->fake, id, attempt);
    zjob_msg_t *result = s_fake_expect (&cmd->fake, NULL, ZJOB_CMD_RESULT);
    cr_assert_str_eq (zjob_msg_str (result, "id"), id);
    cr_assert_str_eq (zjob_msg_str (result, "status"), "failed");
    cr_assert_str_eq (zjob_msg_str (result, "error_kind"), kind, "attempt %u: %s",
                      (unsigned) attempt, zjob_msg_str (result, "error_message"));
    s_expect_result_keys (zjob_msg_body (result), attempt, permanent);
    s_fake_result_ok (&cmd->fake, result);
    zjob_msg_destroy (&result);
}

//  Exits with 65 on attempt 1, 3 on attempt 2, 75 on attempt 3
#define EXIT_BY_ATTEMPT \
    "echo \"attempt $ZJOB_ATTEMPT\" >&2; case $ZJOB_ATTEMPT in 1) exit 65;; 2) exit 3;; *) exit 75;; esac"

Test (worker_attempts, zjob_worker_exit_65_fails_for_good)
{
    s_cmd_t cmd;
    s_cmd_start (&cmd, (const char *[]){ "--", "/bin/sh", "-c", EXIT_BY_ATTEMPT, NULL });
    s_cmd_expect_failure (&cmd, 1, "exit", true);
    s_cmd_expect_failure (&cmd, 2, "exit", false);
    s_cmd_expect_failure (&cmd, 3, "exit", false);
    s_cmd_stop (&cmd);
}

Test (worker_attempts, zjob_worker_permanent_exit_list_and_none)
{
    s_cmd_t cmd;
    s_cmd_start (&cmd, (const char *[]){ "--permanent-exit", "3,75", "--", "/bin/sh", "-c", EXIT_BY_ATTEMPT, NULL });
    s_cmd_expect_failure (&cmd, 1, "exit", false);
    s_cmd_expect_failure (&cmd, 2, "exit", true);
    s_cmd_expect_failure (&cmd, 3, "exit", true);
    s_cmd_stop (&cmd);

    s_cmd_start (&cmd, (const char *[]){ "--permanent-exit", "none", "--", "/bin/sh", "-c", EXIT_BY_ATTEMPT, NULL });
    s_cmd_expect_failure (&cmd, 1, "exit", false);
    s_cmd_stop (&cmd);
}

//  Attempt 1: a shell that ignores SIGTERM, with a child (sleep, which
//  inherits that), writing both pids and hanging. Later attempts succeed.
#define HANG_ON_FIRST                                                                  \
    "d=$1; if [ \"$ZJOB_ATTEMPT\" = 1 ]; then trap '' TERM; sleep 30 & "               \
    "echo $! > \"$d/child.tmp\"; mv \"$d/child.tmp\" \"$d/child\"; "                   \
    "echo $$ > \"$d/pid.tmp\"; mv \"$d/pid.tmp\" \"$d/pid\"; wait; wait; exit 0; fi; " \
    "echo \"{\\\"attempt\\\": $ZJOB_ATTEMPT}\""

Test (worker_attempts, zjob_worker_timeout_cancel_kills_the_whole_group)
{
    s_cmd_t cmd;
    s_cmd_start (&cmd, (const char *[]){ "--grace", "0.5", "--", "/bin/sh", "-c", HANG_ON_FIRST, "sh", "@DIR@", NULL });
    char id [ZJOB_ID_LEN + 1] = "";
    s_fake_job_attempt (&cmd.fake, id, 1);
    pid_t shell = s_cmd_pid (&cmd, "pid");
    pid_t child = s_cmd_pid (&cmd, "child");
    cr_assert_eq (getpgid (child), shell, "the child is in the job's process group");

    //  The broker timed the attempt out: CANCEL, and at once attempt 2 of
    //  the same job (the OK to the CANCEL freed the slot)
    int64_t cancelled_at = zjob_mono_ms ();
    uint64_t request = s_fake_cancel (&cmd.fake, id, ZJOB_REASON_TIMEOUT, 1);
    s_expect_answer (&cmd.fake, NULL, request, 0);
    s_fake_job_attempt (&cmd.fake, id, 2);

    //  Both processes ignore SIGTERM: the SIGKILL after the grace takes
    //  the whole group
    cr_assert (zjob_test_wait_gone (shell, PROCESS_DEADLINE_MS), "the shell is gone");
    cr_assert (zjob_test_wait_gone (child, PROCESS_DEADLINE_MS), "its child is gone");
    int64_t took = zjob_mono_ms () - cancelled_at;
    cr_assert_geq (took, 400, "gone after %lld ms: before the grace", (long long) took);

    //  Then attempt 2 runs, and the only RESULT is its own
    zjob_msg_t *result = s_fake_expect (&cmd.fake, NULL, ZJOB_CMD_RESULT);
    cr_assert_str_eq (zjob_msg_str (result, "id"), id);
    cr_assert_str_eq (zjob_msg_str (result, "status"), "completed",
                      "attempt 2: %s", zjob_msg_str (result, "error_message"));
    s_expect_result_keys (zjob_msg_body (result), 2, false);
    size_t size;
    const uint8_t *outputs = zjob_msg_bin (result, "outputs", &size);
    cr_assert_eq (s_map_int (outputs, size, "attempt", 0), 2);
    s_fake_result_ok (&cmd.fake, result);
    zjob_msg_destroy (&result);

    //  The log says why the command was stopped
    int64_t deadline = zjob_mono_ms () + PROCESS_DEADLINE_MS;
    bool logged = false;
    while (!logged && zjob_mono_ms () < deadline) {
        char *text = NULL;
        size_t length = 0;
        FILE *log = fopen (cmd.log, "r");
        if (log) {
            text = (char *) zmalloc (1 << 16);
            length = fread (text, 1, (1 << 16) - 1, log);
            fclose (log);
        }
        logged = text && length && strstr (text, "cancelled (timeout): SIGTERM to process group");
        free (text);
        if (!logged)
            zclock_sleep (10);  //  Polling the log file
    }
    cr_assert (logged, "the log does not say the cancel was for a timeout");
    s_cmd_stop (&cmd);
}

Test (worker_attempts, zjob_worker_stops_a_job_past_its_own_timeout)
{
    //  A job of 300 ms timeout, as the broker would hand it out
    zjob_job_t *job = s_fake_job_new (NULL, 1);
    zjob_policy_t *policy = (zjob_policy_t *) calloc (1, sizeof (zjob_policy_t));
    cr_assert_not_null (policy);
    policy->refs = 1;
    policy->timeout_ms = 300;
    job->policy = policy;
    //  The job map carries it (tmo) only with the codec of issue #10
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_JOB, 0);
    zjob_msg_add_job (builder, "job", job);
    zjob_error_t err;
    zframe_t *frame = zjob_msg_end (builder, &err);
    cr_assert_not_null (frame, "%s", err.text);
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                       ZJOB_ROUTE_BROKER_WORKER, &err);
    cr_assert_not_null (msg, "%s", err.text);
    zjob_job_t *decoded = zjob_msg_job (msg, "job", &err);
    cr_assert_not_null (decoded, "%s", err.text);
    uint32_t carried = zjob_job_timeout_ms (decoded);
    zjob_job_destroy (&decoded);
    zjob_msg_destroy (&msg);
    zframe_destroy (&frame);
    zjob_msg_builder_destroy (&builder);
    if (carried != 300) {
        zjob_job_destroy (&job);
        cr_skip_test ("the job map does not carry the job's timeout (tmo) yet");
    }

    //  No CANCEL comes: zjob-worker stops the command itself, a second
    //  past the job's timeout, and fails the attempt with kind timeout
    s_cmd_t cmd;
    s_cmd_start (&cmd, (const char *[]){ "--grace", "0.2", "--", "/bin/sh", "-c", "echo 'still working' >&2; exec sleep 30", NULL });
    int64_t sent_at = zjob_mono_ms ();
    zjob_msg_begin (cmd.fake.builder, ZJOB_CMD_JOB, 0);
    zjob_msg_add_job (cmd.fake.builder, "job", job);
    s_fake_send (&cmd.fake);
    zjob_msg_t *result = s_fake_expect (&cmd.fake, NULL, ZJOB_CMD_RESULT);
    int64_t took = zjob_mono_ms () - sent_at;
    cr_assert_str_eq (zjob_msg_str (result, "id"), job->id);
    cr_assert_str_eq (zjob_msg_str (result, "error_kind"), "timeout");
    const char *message = zjob_msg_str (result, "error_message");
    cr_assert (strstr (message, "ran longer than the job's timeout of 1.3s: still working"),
               "%s", message);
    s_expect_result_keys (zjob_msg_body (result), 1, false);
    cr_assert_geq (took, 1300, "stopped after %lld ms: before the job's timeout and its slack",
                   (long long) took);
    s_fake_result_ok (&cmd.fake, result);
    zjob_msg_destroy (&result);
    zjob_job_destroy (&job);
    s_cmd_stop (&cmd);
}
