/*  =========================================================================
    test_zjob_broker_rerun - RETRY and RUN_NOW through a running broker

    The broker actor on ephemeral ports, spoken to over raw sockets: a
    failed job re-run reaches a worker again and completes, with its
    `queued` event; a dry run changes nothing and names the jobs; a
    cancelled job its worker still holds is not re-run until the worker
    lets go; a delayed job made ready goes out at once; a re-run on the
    file store survives a restart of the broker.
    ========================================================================= */

#include "test_zjob_broker.h"

//  SUBMIT one job of workflow with run_at (0: now) and max_attempts;
//  returns its id (free it)
static char *
s_submit_with (zsock_t *client, const char *workflow, int64_t run_at, uint32_t max_attempts)
{
    zjob_spec_t spec = { .workflow_id = workflow, .priority = ZJOB_PRIORITY_UNSET };
    spec.max_attempts = max_attempts;
    spec.run_at = run_at;
    zjob_msg_begin (s_builder, ZJOB_CMD_SUBMIT, ++s_request);
    zjob_msg_add_specs (s_builder, "jobs", &spec, 1);
    zjob_msg_t *reply = s_call (client);
    cr_assert_eq (s_code (reply), ZJOB_OK);
    size_t count;
    const char *const *ids = zjob_msg_strs (reply, "ids", &count);
    cr_assert_eq (count, 1);
    char *id = strdup (ids [0]);
    zjob_msg_destroy (&reply);
    return id;
}

//  A job of one attempt: its failure is final
static char *
s_submit (zsock_t *client, const char *workflow, int64_t run_at)
{
    return s_submit_with (client, workflow, run_at, 1);
}

//  A RETRY or RUN_NOW of target with its options; returns the reply
static zjob_msg_t *
s_rerun (zsock_t *client, zjob_cmd_t cmd, const zjob_target_t *target, bool reset,
         bool dry_run)
{
    zjob_msg_begin (s_builder, cmd, ++s_request);
    zjob_msg_add_target (s_builder, target);
    if (reset)
        zjob_msg_add_bool (s_builder, "reset_attempts", true);
    if (dry_run)
        zjob_msg_add_bool (s_builder, "dry_run", true);
    return s_call (client);
}

//  The worker takes job id and fails it
static void
s_take_and_fail (zsock_t *worker, const char *id)
{
    zjob_job_t *job = s_take (worker, S_WAIT);
    cr_assert_not_null (job, "job %s not handed out", id);
    cr_assert_str_eq (job->id, id);
    zjob_job_destroy (&job);
    zjob_msg_t *reply = s_result (worker, id, NULL, 0);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
}

Test (broker, retry_brings_a_failed_job_back_and_it_completes)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w-rerun", "flaky", 1);
    zsock_t *sub = s_subscriber ("ev/queued/");
    char *id = s_submit (client, "flaky", 0);
    s_take_and_fail (worker, id);
    cr_assert_eq (s_status (client, id), ZJOB_FAILED);
    zjob_msg_t *event = s_event (sub, "queued", id);
    cr_assert_not_null (event, "no queued event at the submit");
    zjob_msg_destroy (&event);

    //  A dry run: the answer of the real one, and nothing changes
    zjob_target_t one = { .id = id };
    zjob_msg_t *reply = s_rerun (client, ZJOB_CMD_RETRY, &one, false, true);
    cr_assert_eq (s_code (reply), ZJOB_OK);
    cr_assert_str_eq (zjob_msg_str (reply, "status"), "queued");
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_status (client, id), ZJOB_FAILED);
    cr_assert_null (s_take_none (worker), "a dry run handed the job out");

    //  The real one: queued (the event says from failed), handed out again
    reply = s_rerun (client, ZJOB_CMD_RETRY, &one, false, false);
    cr_assert_eq (s_code (reply), ZJOB_OK);
    cr_assert_str_eq (zjob_msg_str (reply, "id"), id);
    cr_assert_str_eq (zjob_msg_str (reply, "status"), "queued");
    zjob_msg_destroy (&reply);
    event = s_event (sub, "queued", id);
    cr_assert_not_null (event, "no queued event for the re-run");
    cr_assert_str_eq (zjob_msg_str (event, "old_status"), "failed");
    zjob_msg_destroy (&event);
    zjob_job_t *job = s_take (worker, S_WAIT);
    cr_assert_not_null (job, "the re-run job was not handed out");
    cr_assert_str_eq (job->id, id);
    cr_assert_eq (job->attempts, 2, "attempts kept");
    zjob_job_destroy (&job);
    uint8_t outputs [32];
    size_t outputs_size = s_map (outputs, sizeof (outputs), "ok", 1);
    reply = s_result (worker, id, outputs, outputs_size);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_status (client, id), ZJOB_COMPLETED);

    //  Completed: nothing to re-run, 409; unknown: 404
    reply = s_rerun (client, ZJOB_CMD_RETRY, &one, true, false);
    cr_assert_eq (s_code (reply), ZJOB_CONFLICT);
    zjob_msg_destroy (&reply);
    zjob_target_t unknown = { .id = "0000000000000000000Z" };
    reply = s_rerun (client, ZJOB_CMD_RETRY, &unknown, false, true);
    cr_assert_eq (s_code (reply), ZJOB_NOT_FOUND);
    zjob_msg_destroy (&reply);
    free (id);
    zsock_destroy (&sub);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}

Test (broker, bulk_retry_dry_run_names_the_jobs_and_changes_nothing)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w-bulk", "bulk", 1);
    char *ids [3];
    for (int index = 0; index < 3; index++) {
        ids [index] = s_submit (client, "bulk", 0);
        s_take_and_fail (worker, ids [index]);
    }
    char *queued = s_submit (client, "other", 0);
    //  The worker's one slot taken, so that nothing re-run is handed out
    char *blocker = s_submit (client, "bulk", 0);
    zjob_job_t *job = s_take (worker, S_WAIT);
    cr_assert_str_eq (job->id, blocker);
    zjob_job_destroy (&job);
    zjob_filter_t failed = { .status_mask = 1u << ZJOB_FAILED };
    zjob_target_t matching = { .filter = &failed };
    zjob_msg_t *reply = s_rerun (client, ZJOB_CMD_RETRY, &matching, true, true);
    cr_assert_eq (s_code (reply), ZJOB_OK);
    cr_assert_eq (zjob_msg_uint (reply, "done", 0), 3);
    cr_assert_eq (zjob_msg_uint (reply, "failed", 9), 0);
    size_t count;
    const char *const *named = zjob_msg_strs (reply, "ids", &count);
    cr_assert_eq (count, 3);
    for (int index = 0; index < 3; index++) {
        bool found = false;
        for (size_t at = 0; at < count; at++)
            found |= streq (named [at], ids [index]);
        cr_assert (found, "%s not named", ids [index]);
        cr_assert_eq (s_status (client, ids [index]), ZJOB_FAILED);
    }
    zjob_msg_destroy (&reply);

    //  By ids, for real: the queued one fails, the others are re-run
    const char *some [] = { ids [0], queued, ids [1] };
    zjob_target_t listed = { .ids = some, .id_count = 3 };
    reply = s_rerun (client, ZJOB_CMD_RETRY, &listed, true, false);
    cr_assert_eq (s_code (reply), ZJOB_OK);
    cr_assert_eq (zjob_msg_uint (reply, "done", 0), 2);
    cr_assert_eq (zjob_msg_uint (reply, "failed", 0), 1);
    cr_assert_not (zjob_msg_has (reply, "ids"), "ids only in a dry run");
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_status (client, ids [0]), ZJOB_QUEUED);
    cr_assert_eq (s_status (client, ids [2]), ZJOB_FAILED);
    job = zjob_test_get (client, ids [1]);
    cr_assert_eq (job->attempts, 0, "reset");
    zjob_job_destroy (&job);
    for (int index = 0; index < 3; index++)
        free (ids [index]);
    free (queued);
    free (blocker);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}

Test (broker, a_cancelled_job_is_not_rerun_while_its_worker_holds_it)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w-held", "held", 1);
    char *id = s_submit (client, "held", 0);
    zjob_job_t *job = s_take (worker, S_WAIT);
    cr_assert_not_null (job);
    zjob_job_destroy (&job);
    cr_assert_eq (s_operate (client, ZJOB_CMD_CANCEL, id, NULL, 0), ZJOB_OK);
    zjob_msg_t *control = s_expect_keeping_jobs (worker, ZJOB_CMD_CANCEL);
    cr_assert_not_null (control, "worker not told to cancel");

    zjob_target_t one = { .id = id };
    zjob_msg_t *reply = s_rerun (client, ZJOB_CMD_RETRY, &one, false, false);
    cr_assert_eq (s_code (reply), ZJOB_CONFLICT);
    zjob_error_t err;
    zjob_msg_error (reply, &err);
    cr_assert (strstr (err.text, "w-held"), "%s", err.text);
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_status (client, id), ZJOB_CANCELLED);

    //  The worker lets go: now it is re-run, and its slot takes it
    zjob_msg_begin (s_builder, ZJOB_CMD_OK, zjob_msg_request_id (control));
    zjob_msg_add_str (s_builder, "id", id);
    s_send (worker);
    zjob_msg_destroy (&control);
    int64_t deadline = zclock_mono () + S_WAIT;
    int code = ZJOB_CONFLICT;
    while (code == ZJOB_CONFLICT && zclock_mono () < deadline) {
        reply = s_rerun (client, ZJOB_CMD_RETRY, &one, false, false);
        code = s_code (reply);
        zjob_msg_destroy (&reply);
    }
    cr_assert_eq (code, ZJOB_OK);
    job = s_take (worker, S_WAIT);
    cr_assert_not_null (job, "the re-run job did not reach the freed slot");
    cr_assert_str_eq (job->id, id);
    zjob_job_destroy (&job);
    free (id);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}

Test (broker, run_now_hands_a_delayed_job_out_at_once)
{
    s_start (NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w-later", "later", 1);
    char *id = s_submit (client, "later", zjob_clock_ms () + 3600000);
    cr_assert_null (s_take_none (worker), "handed out before its time");

    zjob_filter_t queued = { .status_mask = 1u << ZJOB_QUEUED };
    zjob_target_t matching = { .filter = &queued };
    zjob_msg_t *reply = s_rerun (client, ZJOB_CMD_RUN_NOW, &matching, false, true);
    cr_assert_eq (s_code (reply), ZJOB_OK);
    cr_assert_eq (zjob_msg_uint (reply, "done", 0), 1);
    size_t count;
    const char *const *named = zjob_msg_strs (reply, "ids", &count);
    cr_assert_eq (count, 1);
    cr_assert_str_eq (named [0], id);
    zjob_msg_destroy (&reply);
    cr_assert_null (s_take_none (worker), "a dry run handed it out");

    zjob_target_t one = { .id = id };
    reply = s_rerun (client, ZJOB_CMD_RUN_NOW, &one, false, false);
    cr_assert_eq (s_code (reply), ZJOB_OK);
    cr_assert_str_eq (zjob_msg_str (reply, "status"), "queued");
    zjob_msg_destroy (&reply);
    zjob_job_t *job = s_take (worker, S_WAIT);
    cr_assert_not_null (job, "not handed out after RUN_NOW");
    cr_assert_str_eq (job->id, id);
    cr_assert_eq (job->run_at, 0);
    zjob_job_destroy (&job);
    //  Running now: a 409 that says so
    reply = s_rerun (client, ZJOB_CMD_RUN_NOW, &one, false, false);
    cr_assert_eq (s_code (reply), ZJOB_CONFLICT);
    zjob_error_t err;
    zjob_msg_error (reply, &err);
    cr_assert (strstr (err.text, "running"), "%s", err.text);
    zjob_msg_destroy (&reply);
    free (id);
    zsock_destroy (&worker);
    zsock_destroy (&client);
}

Test (broker, a_rerun_survives_a_restart)
{
    char *dir = zjob_test_tmpdir ();
    cr_assert_not_null (dir);
    char store [512];
    snprintf (store, sizeof (store), "file:%s", dir);
    s_start ("store", store, NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *worker = s_worker ("w-disk", "disk", 1);
    char *id = s_submit (client, "disk", 0);
    s_take_and_fail (worker, id);
    //  The worker's one slot taken, so that the re-run job stays queued.
    //  The blocker has attempts to spare: the broker may see its worker's
    //  connection close before it stops (a failed attempt, retried within
    //  a second) or not (the restart queues it again); it runs either way
    char *blocker = s_submit_with (client, "disk", 0, 5);
    zjob_job_t *job = s_take (worker, S_WAIT);
    cr_assert_str_eq (job->id, blocker);
    zjob_job_destroy (&job);
    zjob_target_t one = { .id = id };
    zjob_msg_t *reply = s_rerun (client, ZJOB_CMD_RETRY, &one, true, false);
    cr_assert_eq (s_code (reply), ZJOB_OK);
    zjob_msg_destroy (&reply);
    zsock_destroy (&worker);
    zsock_destroy (&client);
    s_stop ();

    s_start ("store", store, NULL);
    client = zjob_test_dealer (s_clients);
    job = zjob_test_get (client, id);
    cr_assert_not_null (job);
    cr_assert_eq (job->status, ZJOB_QUEUED);
    cr_assert_eq (job->attempts, 0);
    cr_assert_null (job->error_kind);
    zjob_job_destroy (&job);
    //  Both go out again (the blocker's attempt was cut by the lost
    //  worker or by the restart)
    worker = s_worker ("w-disk2", "disk", 2);
    bool seen = false;
    for (int taken = 0; taken < 2; taken++) {
        job = s_take (worker, 3 * S_WAIT);
        cr_assert_not_null (job, "a job was lost in the restart");
        seen |= streq (job->id, id);
        zjob_job_destroy (&job);
    }
    cr_assert (seen, "the re-run job was not handed out");
    free (id);
    free (blocker);
    zsock_destroy (&worker);
    zsock_destroy (&client);
    s_stop ();
    zjob_test_rmtree (dir);
    free (dir);
}
