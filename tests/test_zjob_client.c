/*  =========================================================================
    test_zjob_client - the client library against a real broker

    Every test starts a broker actor in process on 127.0.0.1 with ephemeral
    ports and a memory store, and speaks to it through the client library
    as a user would: each job operation and its error paths, the pipelined
    API with a window, idempotent retries, wait, event subscriptions, many
    clients at once, and a broker that is not there. Two tests use a fake
    broker (a ROUTER driven by the test) to see what the client puts on the
    wire when a reply is lost, and what it does with a malformed reply.
    ========================================================================= */

#include <criterion/criterion.h>
#include <assert.h>
#include <string.h>
#include "zjob_client.h"
#include "zjob_worker.h"
#include "zjob_broker.h"
#include "helper_zjob_test.h"

//  --------------------------------------------------------------------------
//  Helpers

static void
s_broker_start (zjob_test_broker_t *broker)
{
    zjob_error_t err;
    cr_assert_eq (zjob_test_broker_start (broker, "memory:", NULL, &err), 0, "broker: %s", err.text);
}

static zjob_client_t *
s_client (zjob_test_broker_t *broker)
{
    zjob_error_t err;
    zjob_client_t *client = zjob_client_new (broker->clients, 2000, &err);
    cr_assert_not_null (client, "client: %s", err.text);
    return client;
}

//  A msgpack map {key: value} written into buffer (MAP_MAX bytes)
#define MAP_MAX 64
static const uint8_t *
s_map (const char *key, int64_t value, uint8_t *buffer, size_t *size_p)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, key, strlen (key));
    msgpack_pack_int64 (&pk, value);
    assert (sbuf.size <= MAP_MAX);
    memcpy (buffer, sbuf.data, sbuf.size);
    *size_p = sbuf.size;
    msgpack_sbuffer_destroy (&sbuf);
    return (const uint8_t *) buffer;
}

//  A broker that never answers: a ROUTER that reads nothing. (A port
//  bound and released could be taken at once by a parallel test.)
static zsock_t *
s_silent_broker (char *endpoint, size_t size)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (sock, "tcp://127.0.0.1:*");
    cr_assert_gt (port, 0);
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", port);
    return sock;
}

//  A worker engine on an actor thread: completes every job of its
//  workflows with outputs {"done": attempt}, until $TERM
static void
s_completer (zsock_t *pipe, void *args)
{
    const char *endpoint = (const char *) args;
    const char *workflows [] = { "wait", "ev" };
    zjob_worker_t *worker = zjob_worker_new (endpoint, "completer", workflows, 2, 4, NULL);
    zsock_signal (pipe, 0);
    while (worker && !zsys_interrupted) {
        if (zsock_events (pipe) & ZMQ_POLLIN)
            break;  //  $TERM
        zjob_task_t *task;
        int kind = zjob_worker_recv (worker, 20, &task, NULL);
        if (kind == ZJOB_WORKER_TASK) {
            uint8_t buffer [MAP_MAX];
            size_t size;
            const uint8_t *outputs = s_map ("done", zjob_task_attempt (task), buffer, &size);
            zjob_worker_complete (worker, &task, outputs, size, NULL);
        }
        else if (kind == ZJOB_WORKER_CANCEL)
            zjob_worker_fail (worker, &task, NULL, NULL);
    }
    if (worker)
        zjob_worker_flush (worker, 1000);
    zjob_worker_destroy (&worker);
    char *command = zstr_recv (pipe);
    zstr_free (&command);
}

//  --------------------------------------------------------------------------
//  Connecting

Test (client, connect_and_broker_down)
{
    zjob_error_t err;
    //  Nobody there: NULL within about the timeout, with the broker named
    char endpoint [64];
    zsock_t *silent = s_silent_broker (endpoint, sizeof (endpoint));
    int64_t start = zjob_mono_ms ();
    zjob_client_t *client = zjob_client_new (endpoint, 200, &err);
    int64_t took = zjob_mono_ms () - start;
    zsock_destroy (&silent);
    cr_assert_null (client);
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE);
    cr_assert (strstr (err.text, endpoint) && strstr (err.text, "within 200 ms"), "%s", err.text);
    cr_assert_geq (took, 190);
    cr_assert_lt (took, 1000, "took %" PRId64 " ms", took);

    //  Not an endpoint at all
    cr_assert_null (zjob_client_new ("nowhere", 200, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_null (zjob_client_new (NULL, 200, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);

    //  A broker that goes away: calls fail quickly, with 503
    zjob_test_broker_t broker;
    s_broker_start (&broker);
    client = s_client (&broker);
    cr_assert_str_eq (zjob_client_endpoint (client), broker.clients);
    cr_assert_not_null (zjob_client_sock (client));
    cr_assert_eq (zjob_client_ping (client, &err), 0, "%s", err.text);
    //  Hold the port with a silent socket, so that no broker of a parallel
    //  test can take it and answer
    char *clients = strdup (broker.clients);
    zjob_test_broker_stop (&broker);
    silent = zsock_new (ZMQ_ROUTER);
    int64_t deadline = zjob_mono_ms () + 2000;
    while (zsock_bind (silent, "%s", clients) < 0 && zjob_mono_ms () < deadline)
        zclock_sleep (5);
    free (clients);
    zjob_client_set_timeout (client, 300);
    start = zjob_mono_ms ();
    cr_assert_eq (zjob_client_status (client, "01JD6ZQ8XKTBV3M9W2N4", &err), -1);
    took = zjob_mono_ms () - start;
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE, "%d %s", err.code, err.text);
    cr_assert (strstr (err.text, "did not answer STATUS within 300 ms"), "%s", err.text);
    cr_assert_lt (took, 1000, "took %" PRId64 " ms", took);
    cr_assert_eq (zjob_client_inflight (client), 0, "a timed-out call leaves the window");
    zsock_destroy (&silent);
    zjob_client_destroy (&client);
    zjob_client_destroy (&client);  //  Safe twice
}

//  --------------------------------------------------------------------------
//  Every operation

Test (client, every_operation)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker);
    zjob_client_t *client = s_client (&broker);
    zjob_error_t err;

    //  Create without starting, then read it back
    uint8_t buffer [MAP_MAX];
    size_t inputs_size;
    const uint8_t *inputs = s_map ("n", 42, buffer, &inputs_size);
    const char *tags [] = { "red", "big" };
    zjob_spec_t spec = {
        .workflow_id = "ops", .inputs = inputs, .inputs_size = inputs_size, .priority = ZJOB_PRIORITY_HIGH, .user_id = "ada", .tags = tags, .tag_count = 2
    };
    char id [ZJOB_ID_LEN + 1];
    cr_assert_eq (zjob_client_submit (client, &spec, false, id, &err), 0, "%s", err.text);
    cr_assert (zjob_id_valid (id));
    zjob_job_t *job = zjob_client_get (client, id, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_str_eq (job->id, id);
    cr_assert_str_eq (job->workflow_id, "ops");
    cr_assert_str_eq (job->user_id, "ada");
    cr_assert_eq (job->priority, ZJOB_PRIORITY_HIGH);
    cr_assert_eq (job->status, ZJOB_CREATED);
    cr_assert_eq (job->tag_count, 2);
    cr_assert_str_eq (job->tags [1], "big");
    cr_assert_eq (job->inputs.size, inputs_size);
    cr_assert_eq (memcmp (job->inputs.data, inputs, inputs_size), 0);
    cr_assert_not_null (job->idempotency_key, "the library gave the spec a key");
    zjob_job_destroy (&job);

    //  The lifecycle, each step confirmed by STATUS
    cr_assert_eq (zjob_client_status (client, id, &err), ZJOB_CREATED);
    cr_assert_eq (zjob_client_start (client, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_client_status (client, id, &err), ZJOB_QUEUED);
    cr_assert_eq (zjob_client_pause (client, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_client_status (client, id, &err), ZJOB_PAUSED);
    cr_assert_eq (zjob_client_resume (client, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_client_status (client, id, &err), ZJOB_QUEUED);
    cr_assert_eq (zjob_client_cancel (client, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_client_status (client, id, &err), ZJOB_CANCELLED);

    //  A batch, then list it with a filter, sorted and paged
    zjob_spec_t specs [3] = {
        { .workflow_id = "batch", .priority = ZJOB_PRIORITY_LOW },
        { .workflow_id = "batch", .priority = ZJOB_PRIORITY_CRITICAL },
        { .workflow_id = "batch", .priority = ZJOB_PRIORITY_MEDIUM },
    };
    char ids [3][ZJOB_ID_LEN + 1];
    cr_assert_eq (zjob_client_submit_batch (client, specs, 3, true, ids, &err), 0, "%s", err.text);
    cr_assert_str_neq (ids [0], ids [1]);
    zjob_query_t query = {
        .filter = { .workflow_id = "batch" }, .sort_by = ZJOB_SORT_PRIORITY, .descending = true, .limit = 2
    };
    zjob_job_t **jobs;
    size_t count, total;
    cr_assert_eq (zjob_client_list (client, &query, &jobs, &count, &total, &err), 0, "%s",
                  err.text);
    cr_assert_eq (count, 2);
    cr_assert_eq (total, 3);
    cr_assert_str_eq (jobs [0]->id, ids [1], "critical first");
    cr_assert_str_eq (jobs [1]->id, ids [2]);
    for (size_t i = 0; i < count; i++)
        zjob_job_destroy (&jobs [i]);
    free (jobs);
    cr_assert_eq (zjob_client_list (client, NULL, &jobs, &count, &total, &err), 0, "%s", err.text);
    cr_assert_eq (count, 4);
    cr_assert_eq (total, 4);
    for (size_t i = 0; i < count; i++)
        zjob_job_destroy (&jobs [i]);
    free (jobs);

    //  A bulk operation on ids and on a filter
    const char *pause_ids [] = { ids [0], ids [1] };
    zjob_target_t target = { .ids = pause_ids, .id_count = 2 };
    cr_assert_eq (zjob_client_apply (client, ZJOB_CMD_PAUSE, &target, &err), 2, "%s", err.text);
    cr_assert_eq (zjob_client_status (client, ids [1], &err), ZJOB_PAUSED);
    zjob_filter_t filter = { .workflow_id = "batch" };
    target = (zjob_target_t){ .filter = &filter };
    cr_assert_eq (zjob_client_apply (client, ZJOB_CMD_CANCEL, &target, &err), 3, "%s", err.text);
    cr_assert_eq (zjob_client_status (client, ids [2], &err), ZJOB_CANCELLED);

    //  Stats and workers
    zjob_reply_t *reply = zjob_client_stats (client, &err);
    cr_assert_not_null (reply, "%s", err.text);
    cr_assert_eq (zjob_reply_status (reply), ZJOB_OK);
    cr_assert_eq (zjob_reply_request (reply), ZJOB_CMD_STATS);
    cr_assert_eq (zjob_msg_uint (zjob_reply_msg (reply), "jobs", 0), 4);
    zjob_reply_destroy (&reply);
    reply = zjob_client_workers (client, &err);
    cr_assert_not_null (reply, "%s", err.text);
    cr_assert_not_null (zjob_msg_field (zjob_reply_msg (reply), "workers"));
    zjob_reply_destroy (&reply);
    zjob_reply_destroy (&reply);  //  Safe twice

    //  Cleanup of what finished more than 0 ms ago (once the clock has
    //  moved past the last cancel: the bulk cancel visits jobs in the
    //  store's order, which need not be creation order), then delete
    //  what is left
    cr_assert_eq (zjob_client_cleanup (client, -1, &err), 0, "%s", err.text);
    const char *finished [] = { id, ids [0], ids [1], ids [2] };
    int64_t last_finished = 0;
    for (size_t index = 0; index < 4; index++) {
        job = zjob_client_get (client, finished [index], &err);
        cr_assert_not_null (job, "%s", err.text);
        if (job->completed_at > last_finished)
            last_finished = job->completed_at;
        zjob_job_destroy (&job);
    }
    while (zjob_clock_ms () <= last_finished)
        zclock_sleep (1);  //  At most a millisecond or two
    int deleted = zjob_client_cleanup (client, 0, &err);
    cr_assert_eq (deleted, 4, "%d: %s", deleted, err.text);
    cr_assert_eq (zjob_client_submit (client, &spec, true, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_client_delete (client, id, &err), 0, "%s", err.text);
    cr_assert_null (zjob_client_get (client, id, &err));
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);

    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

//  RETRY and RUN_NOW, one job and in bulk, dry runs, and options that the
//  library refuses to send
Test (client, retry_and_run_now)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker);
    zjob_client_t *client = s_client (&broker);
    zjob_error_t err;
    zjob_spec_t spec = { .workflow_id = "rerun", .priority = ZJOB_PRIORITY_UNSET };
    char ids [3][ZJOB_ID_LEN + 1];
    for (int index = 0; index < 3; index++) {
        cr_assert_eq (zjob_client_submit (client, &spec, false, ids [index], &err), 0);
        cr_assert_eq (zjob_client_cancel (client, ids [index], &err), 0, "%s", err.text);
    }
    //  One job: cancelled -> queued; again, 409
    cr_assert_eq (zjob_client_retry (client, ids [0], true, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_client_status (client, ids [0], &err), ZJOB_QUEUED);
    cr_assert_eq (zjob_client_retry (client, ids [0], false, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);

    //  A bulk dry run names the other two and changes nothing
    zjob_filter_t cancelled = { .status_mask = 1u << ZJOB_CANCELLED };
    zjob_target_t target = { .filter = &cancelled };
    zjob_apply_options_t dry = { .dry_run = true };
    zjob_reply_t *reply = zjob_client_apply_with (client, ZJOB_CMD_RETRY, &target, &dry, &err);
    cr_assert_not_null (reply, "%s", err.text);
    zjob_msg_t *msg = zjob_reply_msg (reply);
    cr_assert_eq (zjob_msg_uint (msg, "done", 0), 2);
    size_t count;
    zjob_msg_strs (msg, "ids", &count);
    cr_assert_eq (count, 2);
    zjob_reply_destroy (&reply);
    cr_assert_eq (zjob_client_status (client, ids [1], &err), ZJOB_CANCELLED);
    //  Then for real, through the plain bulk call
    cr_assert_eq (zjob_client_apply (client, ZJOB_CMD_RETRY, &target, &err), 2, "%s", err.text);
    cr_assert_eq (zjob_client_status (client, ids [2], &err), ZJOB_QUEUED);

    //  RUN_NOW: a delayed job becomes ready, stored with no run_at
    spec.run_at = zjob_clock_ms () + 3600000;
    char later [ZJOB_ID_LEN + 1];
    cr_assert_eq (zjob_client_submit (client, &spec, true, later, &err), 0);
    zjob_target_t one = { .id = later };
    reply = zjob_client_apply_with (client, ZJOB_CMD_RUN_NOW, &one, &dry, &err);
    cr_assert_not_null (reply, "%s", err.text);
    cr_assert_str_eq (zjob_msg_str (zjob_reply_msg (reply), "status"), "queued");
    zjob_reply_destroy (&reply);
    cr_assert_eq (zjob_client_run_now (client, later, &err), 0, "%s", err.text);
    zjob_job_t *job = zjob_client_get (client, later, &err);
    cr_assert_eq (job->run_at, 0);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_client_run_now (client, later, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert_eq (zjob_client_run_now (client, "0000000000000000000Z", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);

    //  Options only where they mean something: DELETE would delete
    zjob_target_t first = { .id = ids [0] };
    cr_assert_null (zjob_client_apply_with (client, ZJOB_CMD_DELETE, &first, &dry, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (zjob_client_send_target_with (client, ZJOB_CMD_CANCEL, &first, &dry, &err),
                  0);
    zjob_apply_options_t reset = { .reset_attempts = true };
    cr_assert_null (zjob_client_apply_with (client, ZJOB_CMD_RUN_NOW, &one, &reset, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (zjob_client_status (client, ids [0], &err), ZJOB_QUEUED, "nothing was sent");
    //  Asynchronously, as any target
    uint64_t request = zjob_client_send_target_with (client, ZJOB_CMD_RETRY, &target, &dry,
                                                     &err);
    cr_assert_neq (request, 0, "%s", err.text);
    reply = zjob_client_recv (client, 2000, &err);
    cr_assert_not_null (reply);
    cr_assert_eq (zjob_reply_request (reply), ZJOB_CMD_RETRY);
    cr_assert_eq (zjob_reply_status (reply), ZJOB_OK);
    cr_assert_eq (zjob_msg_uint (zjob_reply_msg (reply), "done", 9), 0);
    zjob_reply_destroy (&reply);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

Test (client, errors_reach_the_caller)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker);
    zjob_client_t *client = s_client (&broker);
    zjob_error_t err;

    //  404: an id nobody made; 400: not an id
    cr_assert_null (zjob_client_get (client, "01JD6ZQ8XKTBV3M9W2N4", &err));
    cr_assert_eq (err.code, ZJOB_NOT_FOUND, "%d %s", err.code, err.text);
    cr_assert (strstr (err.text, "01JD6ZQ8XKTBV3M9W2N4"), "%s", err.text);
    cr_assert_eq (zjob_client_status (client, "not-an-id", &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST, "%d %s", err.code, err.text);
    cr_assert_eq (zjob_client_cancel (client, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);

    //  409: illegal transitions, results of an unfinished job
    zjob_spec_t spec = { .workflow_id = "errors" };
    char id [ZJOB_ID_LEN + 1];
    cr_assert_eq (zjob_client_submit (client, &spec, true, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_client_resume (client, id, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT, "%d %s", err.code, err.text);
    cr_assert_null (zjob_client_results (client, id, &err));
    cr_assert_eq (err.code, ZJOB_CONFLICT, "%d %s", err.code, err.text);
    cr_assert_eq (zjob_client_cancel (client, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_client_pause (client, id, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT, "%d %s", err.code, err.text);
    cr_assert_eq (zjob_client_start (client, id, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);

    //  400: a bad spec, in a batch naming its index; nothing is created
    zjob_spec_t bad [2] = { { .workflow_id = "fine" }, { .workflow_id = "has space" } };
    char ids [2][ZJOB_ID_LEN + 1];
    cr_assert_eq (zjob_client_submit_batch (client, bad, 2, true, ids, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST, "%d %s", err.code, err.text);
    cr_assert (strstr (err.text, "jobs[1]"), "%s", err.text);
    zjob_filter_t filter = { .workflow_id = "fine" };
    zjob_query_t query = { .filter = filter };
    zjob_job_t **jobs;
    size_t count, total;
    cr_assert_eq (zjob_client_list (client, &query, &jobs, &count, &total, &err), 0);
    cr_assert_eq (total, 0, "all or none");
    free (jobs);
    spec.workflow_id = NULL;
    cr_assert_eq (zjob_client_submit (client, &spec, true, id, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);

    //  Arguments refused before anything is sent
    cr_assert_eq (zjob_client_submit_batch (client, bad, 0, true, ids, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (zjob_client_send_id (client, ZJOB_CMD_LIST, id, &err), 0);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    zjob_target_t none = { 0 };
    cr_assert_eq (zjob_client_apply (client, ZJOB_CMD_CANCEL, &none, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (zjob_client_send_cmd (client, ZJOB_CMD_GET, &err), 0);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (zjob_client_inflight (client), 0);

    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

//  --------------------------------------------------------------------------
//  Pipelining

Test (client, pipeline_ten_thousand_submits)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker);
    zjob_client_t *client = s_client (&broker);
    zjob_error_t err;
    const size_t total = 10000, window = 200;
    zhashx_t *ids = zhashx_new ();
    size_t sent = 0, answered = 0;
    uint64_t last_request = 0;
    int64_t start = zjob_mono_ms ();
    while (answered < total) {
        while (sent < total && zjob_client_inflight (client) < window) {
            uint8_t buffer [MAP_MAX];
            size_t size;
            const uint8_t *inputs = s_map ("i", (int64_t) sent, buffer, &size);
            zjob_spec_t spec = { .workflow_id = "pipe", .inputs = inputs, .inputs_size = size };
            uint64_t request = zjob_client_send_submit (client, &spec, 1, true, &err);
            cr_assert_gt (request, last_request, "%s", err.text);
            last_request = request;
            sent++;
        }
        zjob_reply_t *reply = zjob_client_recv (client, 5000, &err);
        cr_assert_not_null (reply, "after %zu replies: %s", answered, err.text);
        cr_assert_eq (zjob_reply_status (reply), ZJOB_OK, "%s",
                      (zjob_reply_error (reply, &err), err.text));
        cr_assert_eq (zjob_reply_request (reply), ZJOB_CMD_SUBMIT);
        size_t count;
        const char *const *got = zjob_msg_strs (zjob_reply_msg (reply), "ids", &count);
        cr_assert_eq (count, 1);
        cr_assert_eq (zhashx_insert (ids, got [0], (void *) 1), 0, "ids are unique");
        zjob_reply_destroy (&reply);
        answered++;
    }
    int64_t took = zjob_mono_ms () - start;
    cr_log_info ("10000 pipelined submits, window 200: %" PRId64 " ms", took);
    cr_assert_eq (zhashx_size (ids), total);
    cr_assert_eq (zjob_client_inflight (client), 0);
    zjob_reply_t *stats = zjob_client_stats (client, &err);
    cr_assert_not_null (stats, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (zjob_reply_msg (stats), "jobs", 0), total);
    zjob_reply_destroy (&stats);

    //  The same 10000 in one batch message
    zjob_spec_t *specs = (zjob_spec_t *) calloc (total, sizeof (zjob_spec_t));
    for (size_t i = 0; i < total; i++)
        specs [i].workflow_id = "pipe-batch";
    char (*batch_ids) [ZJOB_ID_LEN + 1] = calloc (total, ZJOB_ID_LEN + 1);
    zjob_client_set_timeout (client, 20000);
    cr_assert_eq (zjob_client_submit_batch (client, specs, total, true, batch_ids, &err), 0,
                  "%s", err.text);
    cr_assert_str_neq (batch_ids [0], batch_ids [total - 1]);
    free (batch_ids);
    free (specs);
    zhashx_destroy (&ids);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

Test (client, window_backlog_and_forget)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker);
    zjob_client_t *client = s_client (&broker);
    zjob_error_t err;
    zjob_spec_t spec = { .workflow_id = "mixed" };
    char id [ZJOB_ID_LEN + 1];
    cr_assert_eq (zjob_client_submit (client, &spec, false, id, &err), 0, "%s", err.text);

    //  Asynchronous requests, then a synchronous call: the replies to the
    //  first are kept for recv, in order
    uint64_t status_request = zjob_client_send_id (client, ZJOB_CMD_STATUS, id, &err);
    uint64_t ping_request = zjob_client_send_cmd (client, ZJOB_CMD_PING, &err);
    uint64_t missing_request = zjob_client_send_id (client, ZJOB_CMD_GET,
                                                    "01JD6ZQ8XKTBV3M9W2N4", &err);
    cr_assert (status_request && ping_request && missing_request);
    cr_assert_eq (zjob_client_inflight (client), 3);
    zjob_job_t *job = zjob_client_get (client, id, &err);
    cr_assert_not_null (job, "%s", err.text);
    zjob_job_destroy (&job);
    zjob_reply_t *reply = zjob_client_recv (client, 1000, &err);
    cr_assert_not_null (reply, "%s", err.text);
    cr_assert_eq (zjob_reply_request_id (reply), status_request);
    cr_assert_str_eq (zjob_msg_str (zjob_reply_msg (reply), "status"), "created");
    zjob_reply_destroy (&reply);
    reply = zjob_client_recv (client, 1000, &err);
    cr_assert_eq (zjob_reply_request_id (reply), ping_request);
    cr_assert_eq (zjob_msg_uint (zjob_reply_msg (reply), "version", 0), ZJOB_PROTO_VERSION);
    zjob_reply_destroy (&reply);
    reply = zjob_client_recv (client, 1000, &err);
    cr_assert_eq (zjob_reply_request_id (reply), missing_request);
    cr_assert_eq (zjob_reply_status (reply), ZJOB_NOT_FOUND);
    cr_assert_eq (zjob_reply_error (reply, &err), ZJOB_NOT_FOUND);
    cr_assert (strstr (err.text, "01JD6ZQ8XKTBV3M9W2N4"), "%s", err.text);
    zjob_reply_destroy (&reply);
    cr_assert_null (zjob_client_recv (client, 0, &err), "nothing more");
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE);

    //  The window: ZJOB_INFLIGHT_MAX requests, then 429 until some leave
    for (int i = 0; i < ZJOB_INFLIGHT_MAX; i++)
        cr_assert_neq (zjob_client_send_cmd (client, ZJOB_CMD_PING, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_client_send_cmd (client, ZJOB_CMD_PING, &err), 0);
    cr_assert_eq (err.code, ZJOB_TOO_MANY);
    cr_assert_eq (zjob_client_ping (client, &err), -1);
    cr_assert_eq (err.code, ZJOB_TOO_MANY);
    reply = zjob_client_recv (client, 1000, &err);
    cr_assert_not_null (reply);
    uint64_t first = zjob_reply_request_id (reply);
    zjob_reply_destroy (&reply);
    cr_assert_eq (zjob_client_inflight (client), ZJOB_INFLIGHT_MAX - 1);
    zjob_client_forget (client, first + 1);
    cr_assert_eq (zjob_client_inflight (client), ZJOB_INFLIGHT_MAX - 2);
    zjob_client_forget (client, 0);
    cr_assert_eq (zjob_client_inflight (client), 0);
    //  Late replies to forgotten requests are dropped, not returned
    cr_assert_eq (zjob_client_ping (client, &err), 0, "%s", err.text);
    cr_assert_null (zjob_client_recv (client, 200, &err));

    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

Test (client, hundred_clients)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker);
    zjob_error_t err;
    zjob_client_t *clients [100];
    uint64_t requests [100];
    for (int i = 0; i < 100; i++)
        clients [i] = s_client (&broker);
    //  All submit at once, then all read their answers
    for (int i = 0; i < 100; i++) {
        char user [16];
        snprintf (user, sizeof (user), "user-%d", i);
        zjob_spec_t spec = { .workflow_id = "crowd", .user_id = user };
        requests [i] = zjob_client_send_submit (clients [i], &spec, 1, true, &err);
        cr_assert_neq (requests [i], 0, "%s", err.text);
    }
    for (int i = 0; i < 100; i++) {
        zjob_reply_t *reply = zjob_client_recv (clients [i], 5000, &err);
        cr_assert_not_null (reply, "client %d: %s", i, err.text);
        cr_assert_eq (zjob_reply_request_id (reply), requests [i]);
        cr_assert_eq (zjob_reply_status (reply), ZJOB_OK);
        size_t count;
        const char *const *ids = zjob_msg_strs (zjob_reply_msg (reply), "ids", &count);
        cr_assert_eq (count, 1);
        //  Each client sees its own job
        zjob_job_t *job = zjob_client_get (clients [i], ids [0], &err);
        cr_assert_not_null (job, "%s", err.text);
        char user [16];
        snprintf (user, sizeof (user), "user-%d", i);
        cr_assert_str_eq (job->user_id, user);
        zjob_job_destroy (&job);
        zjob_reply_destroy (&reply);
    }
    zjob_filter_t filter = { .workflow_id = "crowd" };
    zjob_query_t query = { .filter = filter, .limit = 1 };
    zjob_job_t **jobs;
    size_t count, total;
    cr_assert_eq (zjob_client_list (clients [0], &query, &jobs, &count, &total, &err), 0);
    cr_assert_eq (total, 100);
    for (size_t i = 0; i < count; i++)
        zjob_job_destroy (&jobs [i]);
    free (jobs);
    for (int i = 0; i < 100; i++)
        zjob_client_destroy (&clients [i]);
    zjob_test_broker_stop (&broker);
}

//  --------------------------------------------------------------------------
//  Idempotency and retries

Test (client, idempotent_submit)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker);
    zjob_client_t *client = s_client (&broker);
    zjob_error_t err;
    zjob_spec_t spec = { .workflow_id = "idem", .idempotency_key = "order-1234" };
    char first [ZJOB_ID_LEN + 1], second [ZJOB_ID_LEN + 1];
    cr_assert_eq (zjob_client_submit (client, &spec, true, first, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_client_submit (client, &spec, true, second, &err), 0, "%s", err.text);
    cr_assert_str_eq (first, second, "the same key names the same job");

    //  The broker says which specs created nothing
    uint64_t request = zjob_client_send_submit (client, &spec, 1, true, &err);
    zjob_reply_t *reply = zjob_client_recv (client, 2000, &err);
    cr_assert_not_null (reply, "%s", err.text);
    cr_assert_eq (zjob_reply_request_id (reply), request);
    size_t count;
    const msgpack_object *existing = zjob_msg_field (zjob_reply_msg (reply), "existing");
    cr_assert (existing && existing->type == MSGPACK_OBJECT_ARRAY
               && existing->via.array.size == 1);
    const char *const *ids = zjob_msg_strs (zjob_reply_msg (reply), "ids", &count);
    cr_assert_str_eq (ids [0], first);
    zjob_reply_destroy (&reply);

    //  Without a key, each submit is a new job (the library's keys differ)
    spec.idempotency_key = NULL;
    cr_assert_eq (zjob_client_submit (client, &spec, true, first, &err), 0);
    cr_assert_eq (zjob_client_submit (client, &spec, true, second, &err), 0);
    cr_assert_str_neq (first, second);

    zjob_filter_t filter = { .workflow_id = "idem" };
    zjob_query_t query = { .filter = filter };
    zjob_job_t **jobs;
    size_t total;
    cr_assert_eq (zjob_client_list (client, &query, &jobs, &count, &total, &err), 0);
    cr_assert_eq (total, 3);
    for (size_t i = 0; i < count; i++)
        zjob_job_destroy (&jobs [i]);
    free (jobs);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

//  A fake broker for the wire-level tests. It answers PING; it ignores
//  the first SUBMIT and answers the second, reporting both idempotency
//  keys and request ids on the pipe; it answers GET with an OK that lacks
//  the job, and STATUS with an ERROR whose code and message it makes up.
static void
s_fake_broker (zsock_t *pipe, void *args)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    zsock_send (pipe, "i", port);
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    int submits = 0;
    while (zpoller_wait (poller, -1) == router) {
        zmsg_t *zmsg = zmsg_recv (router);
        zframe_t *identity = zmsg_pop (zmsg);
        zframe_t *frame = zmsg_pop (zmsg);
        zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                           ZJOB_ROUTE_CLIENT_BROKER, NULL);
        uint64_t request_id = zjob_msg_request_id (msg);
        zframe_t *reply = NULL;
        switch (zjob_msg_command (msg)) {
            case ZJOB_CMD_PING:
                zjob_msg_begin (builder, ZJOB_CMD_OK, request_id);
                zjob_msg_add_uint (builder, "version", ZJOB_PROTO_VERSION);
                zjob_msg_add_uint (builder, "time", (uint64_t) zjob_clock_ms ());
                reply = zjob_msg_end (builder, NULL);
                break;
            case ZJOB_CMD_SUBMIT: {
                size_t count;
                const zjob_spec_t *specs = zjob_msg_specs (msg, &count);
                zstr_sendf (pipe, "%" PRIu64 " %s", request_id, specs [0].idempotency_key);
                if (++submits == 2) {
                    char id [ZJOB_ID_LEN + 1];
                    zjob_id_new (id);
                    const char *ids [] = { id };
                    zjob_msg_begin (builder, ZJOB_CMD_OK, request_id);
                    zjob_msg_add_strs (builder, "ids", ids, 1);
                    reply = zjob_msg_end (builder, NULL);
                }
                break;
            }
            case ZJOB_CMD_GET:
                reply = zjob_msg_empty_new (ZJOB_CMD_OK, request_id);
                break;
            case ZJOB_CMD_STATUS: {
                zjob_error_t error;
                zjob_error_set (&error, ZJOB_TOO_MANY, "store is full");
                reply = zjob_msg_error_new (request_id, &error);
                break;
            }
            default:
                break;
        }
        if (reply) {
            zframe_send (&identity, router, ZFRAME_MORE);
            zframe_send (&reply, router, 0);
        }
        zframe_destroy (&identity);
        zjob_msg_destroy (&msg);
        zframe_destroy (&frame);
        zmsg_destroy (&zmsg);
    }
    zpoller_destroy (&poller);
    zjob_msg_builder_destroy (&builder);
    zsock_destroy (&router);
    char *command = zstr_recv (pipe);
    zstr_free (&command);
}

Test (client, lost_reply_is_resent_with_the_same_key)
{
    zactor_t *fake = zactor_new (s_fake_broker, NULL);
    int port;
    zsock_recv (fake, "i", &port);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
    zjob_error_t err;
    zjob_client_t *client = zjob_client_new (endpoint, 900, &err);
    cr_assert_not_null (client, "%s", err.text);

    //  The first SUBMIT goes unanswered; the library sends it again within
    //  the timeout, with the key it made up, and takes the answer
    zjob_spec_t spec = { .workflow_id = "retry" };
    char id [ZJOB_ID_LEN + 1];
    cr_assert_eq (zjob_client_submit (client, &spec, true, id, &err), 0, "%s", err.text);
    cr_assert (zjob_id_valid (id));
    char *first = zstr_recv (fake);
    char *second = zstr_recv (fake);
    cr_assert_str_eq (first, second, "same request id, same idempotency key");
    cr_assert_gt (strlen (strchr (first, ' ') + 1), 8, "a key was made up: %s", first);
    zstr_free (&first);
    zstr_free (&second);

    //  An OK without the fields its request's table requires is a 400
    cr_assert_null (zjob_client_get (client, "01JD6ZQ8XKTBV3M9W2N4", &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "malformed reply"), "%s", err.text);
    //  An ERROR's code and message come through unchanged
    cr_assert_eq (zjob_client_status (client, "01JD6ZQ8XKTBV3M9W2N4", &err), -1);
    cr_assert_eq (err.code, ZJOB_TOO_MANY);
    cr_assert_str_eq (err.text, "store is full");

    zjob_client_destroy (&client);
    zactor_destroy (&fake);
}

//  --------------------------------------------------------------------------
//  Wait and events

Test (client, wait_for_jobs)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker);
    zjob_client_t *client = s_client (&broker);
    zjob_error_t err;

    //  No worker for it: wait gives up at its deadline with 202
    zjob_spec_t spec = { .workflow_id = "wait" };
    char id [ZJOB_ID_LEN + 1];
    cr_assert_eq (zjob_client_submit (client, &spec, true, id, &err), 0, "%s", err.text);
    int64_t start = zjob_mono_ms ();
    cr_assert_eq (zjob_client_wait (client, id, 150, &err), -1);
    int64_t took = zjob_mono_ms () - start;
    cr_assert_eq (err.code, ZJOB_ACCEPTED);
    cr_assert (strstr (err.text, "still queued"), "%s", err.text);
    cr_assert_geq (took, 150);
    cr_assert_lt (took, 1000);
    cr_assert_eq (zjob_client_wait (client, "01JD6ZQ8XKTBV3M9W2N4", 100, &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);

    //  A worker comes: the job completes, and wait says so
    zactor_t *completer = zactor_new (s_completer, broker.workers);
    cr_assert_eq (zjob_client_wait (client, id, 5000, &err), ZJOB_COMPLETED, "%s", err.text);
    zjob_reply_t *results = zjob_client_results (client, id, &err);
    cr_assert_not_null (results, "%s", err.text);
    cr_assert_str_eq (zjob_msg_str (zjob_reply_msg (results), "status"), "completed");
    size_t size, expected_size;
    const uint8_t *outputs = zjob_msg_bin (zjob_reply_msg (results), "outputs", &size);
    uint8_t buffer [MAP_MAX];
    const uint8_t *expected = s_map ("done", 1, buffer, &expected_size);
    cr_assert_eq (size, expected_size);
    cr_assert_eq (memcmp (outputs, expected, size), 0);
    zjob_reply_destroy (&results);

    //  Cancelled by another client while waited for: wait returns it
    zactor_destroy (&completer);
    cr_assert_eq (zjob_client_submit (client, &spec, false, id, &err), 0, "%s", err.text);
    zjob_client_t *other = s_client (&broker);
    cr_assert_eq (zjob_client_cancel (other, id, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_client_wait (client, id, 1000, &err), ZJOB_CANCELLED);
    zjob_client_destroy (&other);

    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}

//  Receive events until one for job id of type, within timeout_ms;
//  appends each type seen for id to seen
static bool
s_expect_event (zjob_events_t *events, const char *id, const char *type, char *seen,
                size_t seen_size, zjob_event_info_t *event)
{
    int64_t deadline = zjob_mono_ms () + 5000;
    while (zjob_mono_ms () < deadline) {
        if (zjob_events_recv (events, event, 100, NULL) != 0)
            continue;
        if (!streq (event->id, id))
            continue;
        strncat (seen, event->type, seen_size - strlen (seen) - 2);
        strcat (seen, " ");
        if (streq (event->type, type))
            return true;
    }
    return false;
}

Test (client, events_follow_a_job)
{
    zjob_test_broker_t broker;
    s_broker_start (&broker);
    zjob_client_t *client = s_client (&broker);
    zjob_error_t err;
    zjob_events_t *events = zjob_events_new (broker.events, &err);
    cr_assert_not_null (events, "%s", err.text);
    cr_assert_not_null (zjob_events_sock (events));
    cr_assert_eq (zjob_events_subscribe (events, NULL, "ev", NULL, &err), 0, "%s", err.text);
    //  Subscribing twice over (workflow, and every event) still gives
    //  each event once
    cr_assert_eq (zjob_events_subscribe (events, NULL, NULL, NULL, &err), 0, "%s", err.text);

    //  A subscription takes a moment to reach the broker: submit probes
    //  until one is seen
    zjob_spec_t spec = { .workflow_id = "ev" };
    char id [ZJOB_ID_LEN + 1];
    zjob_event_info_t event;
    bool live = false;
    int64_t deadline = zjob_mono_ms () + 5000;
    while (!live && zjob_mono_ms () < deadline) {
        cr_assert_eq (zjob_client_submit (client, &spec, false, id, &err), 0, "%s", err.text);
        live = zjob_events_recv (events, &event, 50, NULL) == 0;
    }
    cr_assert (live, "no event came");
    while (zjob_events_recv (events, &event, 50, NULL) == 0)
        ;  //  The other probes' events

    //  One job through created, queued, paused, queued, cancelled
    cr_assert_eq (zjob_client_submit (client, &spec, false, id, &err), 0, "%s", err.text);
    char seen [256] = "";
    cr_assert (s_expect_event (events, id, "created", seen, sizeof (seen), &event), "%s", seen);
    cr_assert_str_eq (event.workflow_id, "ev");
    cr_assert_eq (event.status, ZJOB_CREATED);
    cr_assert_gt (event.time, 0);
    uint64_t seq = event.seq;
    cr_assert_eq (zjob_client_start (client, id, &err), 0);
    cr_assert (s_expect_event (events, id, "queued", seen, sizeof (seen), &event), "%s", seen);
    cr_assert_eq (event.old_status, ZJOB_CREATED);
    cr_assert_eq (event.status, ZJOB_QUEUED);
    cr_assert_gt (event.seq, seq);
    cr_assert_eq (zjob_client_pause (client, id, &err), 0);
    cr_assert (s_expect_event (events, id, "paused", seen, sizeof (seen), &event), "%s", seen);
    cr_assert_eq (zjob_client_cancel (client, id, &err), 0);
    cr_assert (s_expect_event (events, id, "cancelled", seen, sizeof (seen), &event), "%s", seen);
    cr_assert_eq (event.old_status, ZJOB_PAUSED);
    cr_assert_str_eq (seen, "created queued paused cancelled ", "each event once, in order");

    //  Only one job's events: another job's do not come
    cr_assert_eq (zjob_events_unsubscribe (events, NULL, "ev", NULL, &err), 0);
    cr_assert_eq (zjob_events_unsubscribe (events, NULL, NULL, NULL, &err), 0);
    char other [ZJOB_ID_LEN + 1];
    cr_assert_eq (zjob_client_submit (client, &spec, false, other, &err), 0);
    cr_assert_eq (zjob_events_subscribe (events, "completed", NULL, id, &err), 0);
    cr_assert_eq (zjob_events_recv (events, &event, 200, &err), -1, "unsubscribed");
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE);

    //  A name too long for a topic is refused
    char huge [ZJOB_TOPIC_MAX + 8];
    memset (huge, 'w', sizeof (huge) - 1);
    huge [sizeof (huge) - 1] = 0;
    cr_assert_eq (zjob_events_subscribe (events, NULL, huge, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_null (zjob_events_new (NULL, &err));

    zjob_events_destroy (&events);
    zjob_events_destroy (&events);
    zjob_client_destroy (&client);
    zjob_test_broker_stop (&broker);
}
