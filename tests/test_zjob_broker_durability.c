/*  =========================================================================
    test_zjob_broker_durability - the broker and its store: syncs, restarts

    A broker actor on tcp://127.0.0.1:* over a store that can fail its
    syncs or a file store that outlives it: nothing is acknowledged or
    dispatched while syncs fail, a restart keeps jobs and late results, and
    a long CLEANUP runs in bounded steps. Helpers in test_zjob_broker.h.
    ========================================================================= */

#include "test_zjob_broker.h"


//  --------------------------------------------------------------------------
//  Syncs that fail: nothing unsynced is acknowledged or dispatched

//  The text of reply's ERROR ("" for OK)
static const char *
s_error_text (zjob_msg_t *reply, zjob_error_t *err)
{
    if (zjob_msg_error (reply, err) == 200)
        err->text [0] = 0;
    return err->text;
}

//  Whether text is the refusal of a write while the store cannot write,
//  for a write refused before it was applied (applied false: "the store
//  cannot write: ...") or one applied in the pass whose sync failed ("not
//  committed: the store cannot write: ...")
static bool
s_refusal (const char *text, bool applied)
{
    const char *head = applied ? "not committed: the store cannot write: sync failed (injected) (since 20"
                               : "the store cannot write: sync failed (injected) (since 20";
    return strncmp (text, head, strlen (head)) == 0
        && strstr (text, "); reads are served; writes resume by themselves when the store can "
                         "write again");
}

//  A request built in s_builder, answered: its code, its text in err
static int
s_ask (zsock_t *client, zjob_error_t *err)
{
    zjob_msg_t *reply = s_call (client);
    s_error_text (reply, err);
    int code = zjob_msg_error (reply, err);
    zjob_msg_destroy (&reply);
    return code;
}

//  STATS: the stored jobs, and the store's figure key into value ("" if none)
static uint64_t
s_stats (zsock_t *client, const char *key, char *value, size_t size)
{
    zjob_msg_begin (s_builder, ZJOB_CMD_STATS, ++s_request);
    zjob_msg_t *reply = s_call (client);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK, "STATS refused");
    uint64_t jobs = zjob_msg_uint (reply, "jobs", UINT64_MAX);
    snprintf (value, size, "%s", "");
    const msgpack_object *store = zjob_msg_field (reply, "store");
    for (uint32_t i = 0; store && store->type == MSGPACK_OBJECT_MAP && i < store->via.map.size; i++) {
        const msgpack_object_kv *kv = &store->via.map.ptr [i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->val.type == MSGPACK_OBJECT_STR
            && kv->key.via.str.size == strlen (key)
            && memcmp (kv->key.via.str.ptr, key, strlen (key)) == 0)
            snprintf (value, size, "%.*s", (int) kv->val.via.str.size, kv->val.via.str.ptr);
    }
    zjob_msg_destroy (&reply);
    return jobs;
}

//  SUBMIT one job of workflow "scan" with an idempotency key: the code
static int
s_submit_keyed (zsock_t *client, const char *key, zjob_error_t *err)
{
    zjob_spec_t spec = { .workflow_id = "scan", .idempotency_key = key };
    zjob_msg_begin (s_builder, ZJOB_CMD_SUBMIT, ++s_request);
    zjob_msg_add_specs (s_builder, "jobs", &spec, 1);
    return s_ask (client, err);
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
    //  The JOB may go out before the sync of its dispatch: a SUBMIT
    //  acknowledged after it proves that sync done, so that the RESULT
    //  below is the first write a failing sync meets
    char *other = zjob_test_submit (client, "elsewhere", NULL, NULL);
    cr_assert_not_null (other);
    zstr_free (&other);
    zjob_store_fail_syncs (true);
    uint8_t outputs [32];
    size_t outputs_size = s_map (outputs, sizeof (outputs), "n", 1);
    zjob_error_t err;
    zjob_msg_t *reply = s_result (worker, id, outputs, outputs_size);
    cr_assert_eq (s_code (reply), ZJOB_UNAVAILABLE);
    cr_assert (s_refusal (s_error_text (reply, &err), true), "%s", err.text);
    zjob_msg_destroy (&reply);
    //  The same RESULT again is refused before it is applied: the
    //  completion of the first is still unwritten
    reply = s_result (worker, id, outputs, outputs_size);
    cr_assert_eq (s_code (reply), ZJOB_UNAVAILABLE, "acknowledged while syncs fail");
    cr_assert (s_refusal (s_error_text (reply, &err), false), "%s", err.text);
    zjob_msg_destroy (&reply);
    //  A read is answered all the same, and sees the first RESULT applied
    cr_assert_eq (s_status (client, id), ZJOB_COMPLETED, "reads are answered while syncs fail");
    //  The disk has room again: the broker finds out by itself within
    //  about a second, and the retry is acknowledged
    zjob_store_fail_syncs (false);
    int64_t deadline = zclock_mono () + S_WAIT;
    int code = 0;
    while (code != 200 && zclock_mono () < deadline) {
        reply = s_result (worker, id, outputs, outputs_size);
        code = s_code (reply);
        cr_assert (code == 200 || code == ZJOB_UNAVAILABLE, "RESULT answered %d", code);
        zjob_msg_destroy (&reply);
    }
    cr_assert_eq (code, 200, "the RESULT was not acknowledged after the store recovered");
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
    char *second = zjob_test_submit (client, "scan", NULL, NULL);  //  Durable, waiting
    zjob_store_fail_syncs (true);
    //  A write finds the store failing (until a sync fails, nothing is
    //  known: a pass dispatches durable jobs before its sync)
    cr_assert_null (zjob_test_submit (client, "other", NULL, NULL), "a SUBMIT was acknowledged");
    //  A worker that only registers is served: it changes nothing durable
    zsock_t *idle = s_worker ("w-idle", "scan", 1);
    //  A READY that would adopt a job is a write: refused
    zsock_t *again = zjob_test_dealer (s_workers);
    zjob_msg_begin (s_builder, ZJOB_CMD_READY, ++s_request);
    zjob_msg_add_str (s_builder, "worker_id", "w-full");
    const char *workflows [] = { "scan" };
    zjob_msg_add_strs (s_builder, "workflows", workflows, 1);
    zjob_msg_add_uint (s_builder, "slots", 1);
    const char *held [] = { first };
    zjob_msg_add_strs (s_builder, "jobs", held, 1);
    zjob_error_t err;
    cr_assert_eq (s_ask (again, &err), ZJOB_UNAVAILABLE, "READY with jobs: %s", err.text);
    cr_assert (s_refusal (err.text, false), "%s", err.text);
    zsock_destroy (&again);
    //  The idle worker has credit and a job waits: it must not go out
    job = s_take_none_answered (idle, ZJOB_UNAVAILABLE);
    cr_assert_null (job, "job %s dispatched while syncs fail", job ? job->id : "");
    uint8_t outputs [32];
    size_t outputs_size = s_map (outputs, sizeof (outputs), "n", 1);
    zjob_msg_t *reply = s_result (worker, first, outputs, outputs_size);
    cr_assert_eq (s_code (reply), ZJOB_UNAVAILABLE);
    zjob_msg_destroy (&reply);
    zjob_store_fail_syncs (false);
    job = s_take (idle, S_WAIT);
    cr_assert_not_null (job, "dispatch did not resume after a good sync");
    cr_assert_str_eq (job->id, second);
    zjob_job_destroy (&job);
    free (first);
    free (second);
    zsock_destroy (&idle);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}

Test (broker, a_ready_that_releases_jobs_is_refused_while_syncs_fail)
{
    //  Giving jobs back (READY's release) is a write, as adopting is:
    //  refused while the store cannot write, whoever sends it
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    char *id = zjob_test_submit (client, "scan", NULL, NULL);
    cr_assert_not_null (id);
    zjob_store_fail_syncs (true);
    cr_assert_null (zjob_test_submit (client, "other", NULL, NULL), "a SUBMIT was acknowledged");
    zsock_t *again = zjob_test_dealer (s_workers);
    zjob_msg_begin (s_builder, ZJOB_CMD_READY, ++s_request);
    zjob_msg_add_str (s_builder, "worker_id", "w-release");
    const char *workflows [] = { "elsewhere" };
    zjob_msg_add_strs (s_builder, "workflows", workflows, 1);
    zjob_msg_add_uint (s_builder, "slots", 1);
    const char *released [] = { id };
    zjob_msg_add_strs (s_builder, "release", released, 1);
    zjob_error_t err;
    cr_assert_eq (s_ask (again, &err), ZJOB_UNAVAILABLE, "READY with release: %s", err.text);
    cr_assert (s_refusal (err.text, false), "%s", err.text);
    zjob_store_fail_syncs (false);
    free (id);
    zsock_destroy (&again);
    zsock_destroy (&client);
}

Test (broker, writes_are_refused_before_they_are_applied_and_reads_are_served)
{
    s_start ("heartbeat", "100ms", NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zjob_error_t err;
    char value [256];
    cr_assert_eq (s_submit_keyed (client, "k0", &err), 200, "%s", err.text);
    cr_assert_eq (s_stats (client, "writable", value, sizeof value), 1);
    cr_assert_str_eq (value, "true");
    zjob_store_fail_syncs (true);
    //  The write of the pass whose sync fails was applied: 503, and it
    //  may still take effect (here it is in memory)
    cr_assert_eq (s_submit_keyed (client, "k1", &err), ZJOB_UNAVAILABLE);
    cr_assert (s_refusal (err.text, true), "%s", err.text);
    cr_assert_eq (s_stats (client, "writable", value, sizeof value), 2);
    cr_assert_str_eq (value, "false");
    s_stats (client, "write_error", value, sizeof value);
    cr_assert_str_eq (value, "sync failed (injected)");
    s_stats (client, "write_error_since", value, sizeof value);
    cr_assert (strlen (value) == 20 && value [10] == 'T' && value [19] == 'Z', "%s", value);
    //  From now on writes are refused before they are applied
    cr_assert_eq (s_submit_keyed (client, "k2", &err), ZJOB_UNAVAILABLE);
    cr_assert (s_refusal (err.text, false), "%s", err.text);
    cr_assert_eq (s_stats (client, "writable", value, sizeof value), 2, "a refused SUBMIT made a job");
    //  (each valid as a message: a decoder's 400 comes first)
    const char *writes [][4] = { { "TEMPLATE", "delete", "name", "t" },
                                 { "SCHEDULE", "delete", "name", "s" },
                                 { "QUEUE", "pause", "workflow_id", "scan" },
                                 { "BATCH", "close", "id", "b" },
                                 { "CLEANUP", NULL, NULL, NULL } };
    zjob_cmd_t write_cmds [] = { ZJOB_CMD_TEMPLATE, ZJOB_CMD_SCHEDULE, ZJOB_CMD_QUEUE,
                                 ZJOB_CMD_BATCH, ZJOB_CMD_CLEANUP };
    for (size_t index = 0; index < 5; index++) {
        zjob_msg_begin (s_builder, write_cmds [index], ++s_request);
        if (writes [index][1]) {
            zjob_msg_add_str (s_builder, "op", writes [index][1]);
            zjob_msg_add_str (s_builder, writes [index][2], writes [index][3]);
        }
        cr_assert_eq (s_ask (client, &err), ZJOB_UNAVAILABLE, "%s %s: %s", writes [index][0],
                      writes [index][1] ? writes [index][1] : "", err.text);
    }
    //  Reads are served
    zjob_cmd_t read_cmds [] = { ZJOB_CMD_TEMPLATE, ZJOB_CMD_SCHEDULE, ZJOB_CMD_QUEUE,
                                ZJOB_CMD_BATCH, ZJOB_CMD_PING, ZJOB_CMD_WORKERS };
    for (size_t index = 0; index < 6; index++) {
        zjob_msg_begin (s_builder, read_cmds [index], ++s_request);
        if (index < 4)
            zjob_msg_add_str (s_builder, "op", "list");
        cr_assert_eq (s_ask (client, &err), 200, "%s: %s", zjob_cmd_name (read_cmds [index]),
                      err.text);
    }
    zjob_msg_begin (s_builder, ZJOB_CMD_LIST, ++s_request);
    zjob_msg_t *reply = s_call (client);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    //  Room again: writes resume by themselves, within about a second
    zjob_store_fail_syncs (false);
    int64_t deadline = zclock_mono () + S_WAIT;
    int code = ZJOB_UNAVAILABLE;
    while (code == ZJOB_UNAVAILABLE && zclock_mono () < deadline)
        code = s_submit_keyed (client, "k2", &err);
    cr_assert_eq (code, 200, "writes did not resume: %s", err.text);
    cr_assert_eq (s_stats (client, "writable", value, sizeof value), 3);
    cr_assert_str_eq (value, "true");
    s_stats (client, "write_error", value, sizeof value);
    cr_assert_str_eq (value, "");
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
//  A long CLEANUP does not stop the loop: it runs in bounded steps, one
//  per pass, and PINGs are answered in between

#define S_CLEANUP_JOBS 200000

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

    int64_t longest = 0;  //  The slowest PING answered during it
    size_t pings = 0;     //  PINGs answered during it
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
            longest = waited > longest ? waited : longest;
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
