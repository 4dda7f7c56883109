/*  =========================================================================
    test_zjob_release - jobs a worker gives back unstarted

    READY's `release` (PROTOCOL.md 10.2): a draining worker gives back the
    jobs it holds but never started (its prefetch buffer), and the broker
    queues them again without counting an attempt, so a job on its last
    attempt is not failed by a routine restart. Against a real broker from
    raw DEALERs (a job on its only attempt given back and run by the next
    worker with the same `att`; a release of another worker's job ignored;
    a job both kept and released refused; DISCONNECT's release), the worker engine against a
    fake broker (its READY at drain releases what it buffered), and a
    zjob-worker process with a full buffer stopped by SIGTERM, whose jobs
    all complete on one attempt.
    ========================================================================= */

#include "test_zjob_worker_fake.h"
#include "zjob_worker_impl.h"

//  --------------------------------------------------------------------------
//  Helpers

//  Submit a job of workflow that may run once (max_attempts 1)
static void
s_submit_once (zjob_client_t *client, const char *workflow, int64_t value, char *id)
{
    uint8_t buffer [MAP_MAX];
    size_t size;
    const uint8_t *inputs = s_map ("n", value, buffer, &size);
    zjob_spec_t spec = { .workflow_id = workflow,
                         .inputs = inputs,
                         .inputs_size = size,
                         .priority = ZJOB_PRIORITY_MEDIUM,
                         .max_attempts = 1 };
    zjob_error_t err;
    cr_assert_eq (zjob_client_submit (client, &spec, true, id, &err), 0, "%s", err.text);
}

//  Send READY for worker_id (workflow "rel") on dealer, keeping jobs and
//  releasing release (NULL-ended lists, NULL for none); returns the reply
static zjob_msg_t *
s_ready (zsock_t *dealer, const char *worker_id, uint64_t slots, const char *const *jobs,
         const char *const *release)
{
    static uint64_t request_id = 100;
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_READY, ++request_id);
    zjob_msg_add_str (builder, "worker_id", worker_id);
    zjob_msg_add_strs (builder, "workflows", (const char *[]){ "rel" }, 1);
    zjob_msg_add_uint (builder, "slots", slots);
    size_t count = 0;
    while (jobs && jobs [count])
        count++;
    if (count)
        zjob_msg_add_strs (builder, "jobs", (const char **) jobs, count);
    count = 0;
    while (release && release [count])
        count++;
    if (count)
        zjob_msg_add_strs (builder, "release", (const char **) release, count);
    zjob_msg_t *reply = zjob_test_call (dealer, builder, DEADLINE_MS);
    zjob_msg_builder_destroy (&builder);
    cr_assert_not_null (reply, "no answer to READY");
    return reply;
}

//  READY that must be answered OK, dropping nothing
static void
s_ready_ok (zsock_t *dealer, const char *worker_id, uint64_t slots, const char *const *jobs,
            const char *const *release)
{
    zjob_msg_t *reply = s_ready (dealer, worker_id, slots, jobs, release);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK, "READY refused: %s",
                  zjob_msg_str (reply, "text") ? zjob_msg_str (reply, "text") : "");
    cr_assert_not (zjob_msg_has (reply, "drop"));
    zjob_msg_destroy (&reply);
}

//  The next job sent to dealer (a JOB of one job)
static zjob_job_t *
s_take (zsock_t *dealer)
{
    zjob_msg_t *msg = zjob_test_expect (dealer, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_JOB,
                                        DEADLINE_MS);
    cr_assert_not_null (msg, "no JOB");
    zjob_error_t err;
    zjob_job_t *job = zjob_msg_job (msg, "job", &err);
    cr_assert_not_null (job, "%s", err.text);
    zjob_msg_destroy (&msg);
    return job;
}

//  Complete job from dealer, attempt att, taking no more jobs; the broker
//  must say OK
static void
s_complete (zsock_t *dealer, const char *id, uint32_t att)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_RESULT, 900 + att);
    zjob_msg_add_str (builder, "id", id);
    zjob_msg_add_str (builder, "status", "completed");
    zjob_msg_add_uint (builder, "attempt", att);
    zjob_msg_add_uint (builder, "credit", 0);  //  No JOB before the OK
    zjob_msg_t *reply = zjob_test_call (dealer, builder, DEADLINE_MS);
    zjob_msg_builder_destroy (&builder);
    cr_assert_not_null (reply);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
}

//  Job id as the broker has it now: status, attempts, worker
static void
s_expect_job (zjob_client_t *client, const char *id, int status, uint32_t attempts,
              const char *worker_id)
{
    zjob_error_t err;
    zjob_job_t *job = zjob_client_get (client, id, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (job->status, status, "job %s is %s, not %s", id,
                  zjob_status_name (job->status), zjob_status_name (status));
    cr_assert_eq (job->attempts, attempts, "job %s: %u attempts, not %u", id,
                  (unsigned) job->attempts, (unsigned) attempts);
    if (worker_id)
        cr_assert (job->worker_id && streq (job->worker_id, worker_id), "job %s: worker %s",
                   id, job->worker_id ? job->worker_id : "(none)");
    zjob_job_destroy (&job);
}

//  --------------------------------------------------------------------------
//  The broker

//  A draining worker gives back a job on its only attempt: queued again,
//  not failed, its attempt not counted, no history; the next worker gets
//  it with the same att and completes it
Test (release, last_attempt_queued_again)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    char one [ZJOB_ID_LEN + 1], two [ZJOB_ID_LEN + 1];
    s_submit_once (client, "rel", 1, one);
    s_submit_once (client, "rel", 2, two);
    zsock_t *a = zjob_test_dealer (broker.workers);
    s_ready_ok (a, "a.1.rel", 2, NULL, NULL);
    zjob_job_t *first = s_take (a);
    zjob_job_t *second = s_take (a);
    cr_assert_eq (first->attempts, 1);
    //  It runs one, and drains: the other goes back unstarted
    const char *running = first->id, *buffered = second->id;
    s_ready_ok (a, "a.1.rel", 1, (const char *[]){ running, NULL },
                (const char *[]){ buffered, NULL });
    s_expect_job (client, buffered, ZJOB_QUEUED, 0, NULL);
    s_expect_job (client, running, ZJOB_RUNNING, 1, "a.1.rel");
    zjob_error_t err;
    zjob_job_t *job = zjob_client_get (client, buffered, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_null (job->worker_id, "no worker holds it");
    cr_assert_null (job->error_kind, "no failed attempt: %s", job->error_kind);
    cr_assert_eq (job->run_at, 0, "no backoff");
    zjob_job_destroy (&job);

    //  The next worker gets it as the first attempt, and completes it
    zsock_t *b = zjob_test_dealer (broker.workers);
    s_ready_ok (b, "b.1.rel", 1, NULL, NULL);
    job = s_take (b);
    cr_assert_str_eq (job->id, buffered);
    cr_assert_eq (job->attempts, 1, "the same att: %u", (unsigned) job->attempts);
    s_complete (b, buffered, 1);
    s_expect_job (client, buffered, ZJOB_COMPLETED, 1, "b.1.rel");
    s_complete (a, running, 1);
    s_expect_job (client, running, ZJOB_COMPLETED, 1, "a.1.rel");
    zjob_job_destroy (&job);
    zjob_job_destroy (&first);
    zjob_job_destroy (&second);
    zsock_destroy (&b);
    zsock_destroy (&a);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

//  A worker cannot give back another worker's job: ignored, silently; the
//  worker that holds it can
Test (release, another_workers_job_ignored)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    char one [ZJOB_ID_LEN + 1], two [ZJOB_ID_LEN + 1];
    s_submit_once (client, "rel", 1, one);
    s_submit_once (client, "rel", 2, two);
    zsock_t *a = zjob_test_dealer (broker.workers);
    s_ready_ok (a, "a.2.rel", 2, NULL, NULL);
    zjob_job_t *first = s_take (a);
    zjob_job_t *second = s_take (a);
    //  Another worker names them: nothing happens to them
    zsock_t *b = zjob_test_dealer (broker.workers);
    s_ready_ok (b, "b.2.rel", 1, NULL, (const char *[]){ first->id, second->id, NULL });
    s_expect_job (client, first->id, ZJOB_RUNNING, 1, "a.2.rel");
    s_expect_job (client, second->id, ZJOB_RUNNING, 1, "a.2.rel");
    //  Gone, so that the job given back below is not sent to it at once
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_DISCONNECT, 0);
    zframe_t *frame = zjob_msg_end (builder, NULL);
    cr_assert_eq (zjob_test_send (b, &frame), 0);
    zjob_msg_builder_destroy (&builder);
    zsock_destroy (&b);
    //  Its own worker gives one back, and completes the other
    s_ready_ok (a, "a.2.rel", 1, (const char *[]){ first->id, NULL },
                (const char *[]){ second->id, NULL });
    s_expect_job (client, second->id, ZJOB_QUEUED, 0, NULL);
    s_complete (a, first->id, 1);
    s_expect_job (client, first->id, ZJOB_COMPLETED, 1, "a.2.rel");
    zjob_job_destroy (&first);
    zjob_job_destroy (&second);
    zsock_destroy (&a);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

//  A job listed both in jobs and in release is a bad READY (400), which
//  changes nothing
Test (release, kept_and_released_is_400)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    char id [ZJOB_ID_LEN + 1];
    s_submit_once (client, "rel", 1, id);
    zsock_t *a = zjob_test_dealer (broker.workers);
    s_ready_ok (a, "a.3.rel", 1, NULL, NULL);
    zjob_job_t *job = s_take (a);
    zjob_msg_t *reply = s_ready (a, "a.3.rel", 1, (const char *[]){ id, NULL },
                                 (const char *[]){ id, NULL });
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_ERROR);
    zjob_error_t refusal;
    zjob_msg_error (reply, &refusal);
    cr_assert_eq (refusal.code, ZJOB_BAD_REQUEST, "%d %s", refusal.code, refusal.text);
    zjob_msg_destroy (&reply);
    s_expect_job (client, id, ZJOB_RUNNING, 1, "a.3.rel");
    s_complete (a, id, 1);
    s_expect_job (client, id, ZJOB_COMPLETED, 1, "a.3.rel");
    zjob_job_destroy (&job);
    zsock_destroy (&a);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

//  A worker that says DISCONNECT may give jobs back too (one that drained
//  with nothing left running): they are queued again without an attempt,
//  the others it held are lost as before
Test (release, disconnect_releases)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    char one [ZJOB_ID_LEN + 1], two [ZJOB_ID_LEN + 1];
    s_submit_once (client, "rel", 1, one);
    s_submit_once (client, "rel", 2, two);
    zsock_t *a = zjob_test_dealer (broker.workers);
    s_ready_ok (a, "a.4.rel", 2, NULL, NULL);
    zjob_job_t *first = s_take (a);
    zjob_job_t *second = s_take (a);
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_DISCONNECT, 0);
    zjob_msg_add_str (builder, "reason", "drained");
    zjob_msg_add_strs (builder, "release", (const char *[]){ first->id }, 1);
    zframe_t *frame = zjob_msg_end (builder, NULL);
    cr_assert_eq (zjob_test_send (a, &frame), 0);
    zjob_msg_builder_destroy (&builder);
    int64_t deadline = zjob_mono_ms () + DEADLINE_MS;
    zjob_error_t err;
    while (zjob_client_status (client, second->id, &err) != ZJOB_FAILED
           && zjob_mono_ms () < deadline)
        zclock_sleep (10);
    s_expect_job (client, first->id, ZJOB_QUEUED, 0, NULL);
    s_expect_job (client, second->id, ZJOB_FAILED, 1, NULL);
    zjob_job_destroy (&first);
    zjob_job_destroy (&second);
    zsock_destroy (&a);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

//  --------------------------------------------------------------------------
//  The worker engine

//  Answer READY with OK: credit, and a prefetch grant
static void
s_fake_grant (s_fake_t *fake, zjob_msg_t *ready, uint64_t credit, uint64_t granted)
{
    zjob_msg_begin (fake->builder, ZJOB_CMD_OK, zjob_msg_request_id (ready));
    zjob_msg_add_uint (fake->builder, "heartbeat_ms", 1000);
    zjob_msg_add_uint (fake->builder, "liveness", 3);
    zjob_msg_add_uint (fake->builder, "credit", credit);
    zjob_msg_add_uint (fake->builder, "prefetch", granted);
    s_fake_send (fake);
}

//  True if the list at key of msg holds id
static bool
s_lists (zjob_msg_t *msg, const char *key, const char *id)
{
    size_t count = 0;
    const char *const *ids = zjob_msg_strs (msg, key, &count);
    for (size_t index = 0; index < count; index++)
        if (streq (ids [index], id))
            return true;
    return false;
}

//  zjob_worker_drain with jobs in the buffer: the READY it sends lists the
//  running one in jobs and releases the buffered ones; once that READY is
//  answered they are not released again
Test (release, drain_releases_the_buffer)
{
    s_fake_t fake;
    s_fake_start (&fake);
    const char *workflows [] = { "fake" };
    zjob_error_t err;
    setenv ("ZJOB_WORKER_PREFETCH", "5", 1);
    zjob_worker_t *worker = zjob_worker_new (fake.endpoint, "drainer", workflows, 1, 1, &err);
    cr_assert_not_null (worker, "%s", err.text);
    zjob_msg_t *ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    cr_assert_not (zjob_msg_has (ready, "release"), "nothing to give back yet");
    s_fake_grant (&fake, ready, 1, 5);
    zjob_msg_destroy (&ready);
    zjob_msg_destroy (&(zjob_msg_t *){ s_fake_expect (&fake, worker, ZJOB_CMD_CREDIT) });
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1], c [ZJOB_ID_LEN + 1];
    s_fake_job (&fake, a);
    s_fake_job (&fake, b);
    s_fake_job (&fake, c);
    zjob_task_t *task = s_expect (worker, ZJOB_WORKER_TASK);
    cr_assert_str_eq (zjob_task_id (task), a);
    while (zjob_worker_held (worker) < 3)
        s_pump (worker, 10);

    cr_assert_eq (zjob_worker_drain (worker), 0);
    ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    s_expect_ready (ready, 1, (const char *[]){ a, NULL });
    size_t count = 0;
    zjob_msg_strs (ready, "release", &count);
    cr_assert_eq (count, 2, "READY releases %zu jobs, not 2", count);
    cr_assert (s_lists (ready, "release", b) && s_lists (ready, "release", c));
    cr_assert_not (s_lists (ready, "release", a), "the running job is kept, not released");
    s_fake_grant (&fake, ready, 0, 0);
    zjob_msg_destroy (&ready);
    cr_assert_eq (zjob_worker_held (worker), 1, "b and c forgotten");

    //  Settled: a later READY does not release them again
    s_pump (worker, 50);
    zjob_msg_begin (fake.builder, ZJOB_CMD_RECONNECT, 0);
    s_fake_send (&fake);
    ready = s_fake_expect (&fake, worker, ZJOB_CMD_READY);
    s_expect_ready (ready, 1, (const char *[]){ a, NULL });
    cr_assert_not (zjob_msg_has (ready, "release"));
    zjob_msg_destroy (&ready);
    zjob_worker_destroy (&worker);
    s_fake_stop (&fake);
}

//  --------------------------------------------------------------------------
//  End to end

//  A zjob-worker with a full buffer stopped by SIGTERM (a routine restart):
//  its running jobs finish, its buffered ones go back without an attempt,
//  and every job, though it may run only once, completes on one attempt
Test (release, sigterm_with_a_full_buffer_burns_no_attempt, .timeout = 60)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker, "memory:", NULL);
    zjob_client_t *client = s_client (&broker);
    enum { JOBS = 30 };
    char ids [JOBS][ZJOB_ID_LEN + 1];
    for (int index = 0; index < JOBS; index++)
        s_submit_once (client, "hoard", index, ids [index]);
    char *const argv [] = { (char *) ZJOB_BIN_DIR "/zjob-worker", (char *) "--broker",
                            broker.workers, (char *) "--workflow", (char *) "hoard",
                            (char *) "--slots", (char *) "2", (char *) "--prefetch",
                            (char *) "40", (char *) "--", (char *) "sleep", (char *) "1",
                            NULL };
    pid_t pid = zjob_test_spawn_with (argv, NULL, NULL);
    cr_assert_gt (pid, 0);
    //  Every job is the worker's: 2 running, 28 in its buffer
    for (int index = 0; index < JOBS; index++)
        s_expect_status (client, ids [index], ZJOB_RUNNING, NULL);
    kill (pid, SIGTERM);
    cr_assert_eq (zjob_test_wait_exit (pid, 3 * DEADLINE_MS), 0, "a clean exit");

    //  Another worker runs the rest, each as its first attempt
    zjob_worker_t *worker = s_worker (&broker, "heir", "hoard", 4);
    zjob_error_t err;
    int64_t deadline = zjob_mono_ms () + 2 * DEADLINE_MS;
    size_t done = 0, ended = 0;
    while (ended < JOBS && zjob_mono_ms () < deadline) {
        zjob_task_t *task;
        if (zjob_worker_recv (worker, 20, &task, NULL) == ZJOB_WORKER_TASK) {
            cr_assert_eq (zjob_task_attempt (task), 1);
            cr_assert_eq (zjob_worker_complete (worker, &task, NULL, 0, &err), 0, "%s", err.text);
            done++;
            continue;
        }
        ended = 0;
        for (int index = 0; index < JOBS; index++) {
            int status = zjob_client_status (client, ids [index], &err);
            ended += status >= 0 && zjob_status_terminal ((zjob_status_t) status);
        }
    }
    cr_assert_gt (done, 0, "the buffered jobs came to the heir");
    cr_assert_eq (zjob_worker_flush (worker, DEADLINE_MS), 0);
    for (int index = 0; index < JOBS; index++)
        s_expect_job (client, ids [index], ZJOB_COMPLETED, 1, NULL);
    zjob_worker_destroy (&worker);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}
