/*  =========================================================================
    test_zjob_clients - the broker's answers to client requests, without
    sockets

    Requests are built and decoded with the proto codec, handled over a
    manager on the memory store and an empty registry, and the OK the
    handler builds is decoded again, as a client would read it.
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include "helper_zjob_clients.h"
#include "zjob_proto.h"

Test (clients, submit_get_and_errors, .init = s_setup, .fini = s_teardown)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "wf";
    spec.idempotency_key = "k1";
    zjob_msg_begin (s_request, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (s_request, "jobs", &spec, 1);
    int rc;
    zjob_error_t err;
    zjob_msg_t *reply = s_handle (&rc, &err);
    cr_assert_eq (rc, 1, "a SUBMIT's OK acknowledges a change");
    cr_assert_eq (zjob_msg_request_id (reply), 1);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_SUBMIT, &err), 0, "%s", err.text);
    size_t count;
    const char *const *ids = zjob_msg_strs (reply, "ids", &count);
    cr_assert_eq (count, 1);
    char id [ZJOB_ID_LEN + 1];
    snprintf (id, sizeof (id), "%s", ids [0]);
    cr_assert_not (zjob_msg_has (reply, "existing"));
    zjob_msg_destroy (&reply);

    //  The same key again: the same job, listed as existing
    zjob_msg_begin (s_request, ZJOB_CMD_SUBMIT, 2);
    zjob_msg_add_specs (s_request, "jobs", &spec, 1);
    reply = s_handle (&rc, &err);
    cr_assert_str_eq (zjob_msg_strs (reply, "ids", &count) [0], id);
    cr_assert (zjob_msg_has (reply, "existing"));
    zjob_msg_destroy (&reply);

    //  GET: a read
    zjob_msg_begin (s_request, ZJOB_CMD_GET, 3);
    zjob_msg_add_str (s_request, "id", id);
    reply = s_handle (&rc, &err);
    cr_assert_eq (rc, 0);
    zjob_job_t *job = zjob_msg_job (reply, "job", &err);
    cr_assert_not_null (job);
    cr_assert_str_eq (job->id, id);
    zjob_job_destroy (&job);
    zjob_msg_destroy (&reply);

    //  An unknown job: the error to answer
    zjob_msg_begin (s_request, ZJOB_CMD_STATUS, 4);
    zjob_msg_add_str (s_request, "id", "06H4E76Q144DM4VV8R9F");
    cr_assert_null (s_handle (&rc, &err));
    cr_assert_eq (rc, -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);

    //  CANCEL of one job: a change
    zjob_msg_begin (s_request, ZJOB_CMD_CANCEL, 5);
    zjob_target_t target = { .id = id };
    zjob_msg_add_target (s_request, &target);
    reply = s_handle (&rc, &err);
    cr_assert_eq (rc, 1);
    cr_assert_str_eq (zjob_msg_str (reply, "status"), "cancelled");
    zjob_msg_destroy (&reply);
}

Test (clients, stats_workers_ping, .init = s_setup, .fini = s_teardown)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "wf";
    zjob_error_t err;
    zjob_job_t *job = zjob_manager_create (s_manager, &spec, true, &err);
    zjob_job_destroy (&job);
    const char *workflows [] = { "wf" };
    zjob_registry_worker_t *worker = zjob_registry_join (
        s_registry, (const uint8_t *) "rid", 3, "w1", NULL, workflows, 1, 4, 1, -1,
        zjob_mono_ms (), NULL, 0);
    cr_assert_not_null (worker);

    zjob_msg_begin (s_request, ZJOB_CMD_STATS, 1);
    int rc;
    zjob_msg_t *reply = s_handle (&rc, &err);
    cr_assert_eq (rc, 0);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_STATS, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (reply, "jobs", 0), 1);
    cr_assert_eq (zjob_msg_uint (reply, "queued", 0), 1);
    cr_assert_eq (zjob_msg_uint (reply, "workers", 0), 1);
    cr_assert_eq (zjob_msg_uint (reply, "slots", 0), 4);
    cr_assert_eq (zjob_msg_uint (reply, "rate_window_ms", 0), ZJOB_RATE_WINDOW_MS);
    cr_assert (zjob_msg_has (reply, "store"));
    zjob_msg_destroy (&reply);

    zjob_msg_begin (s_request, ZJOB_CMD_WORKERS, 2);
    reply = s_handle (&rc, &err);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_WORKERS, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_field (reply, "workers")->via.array.size, 1);
    zjob_msg_destroy (&reply);

    zjob_msg_begin (s_request, ZJOB_CMD_PING, 3);
    reply = s_handle (&rc, &err);
    cr_assert_eq (zjob_msg_uint (reply, "version", 0), ZJOB_PROTO_VERSION);
    zjob_msg_destroy (&reply);
}

Test (clients, rates_over_the_elapsed_part_of_the_window, .init = s_setup, .fini = s_teardown)
{
    //  A second boundary well past the start: the window is all elapsed
    int64_t base = (zjob_mono_ms () / 1000 + 30) * 1000;
    int64_t window = ZJOB_RATE_WINDOW_MS / 1000;
    zjob_clients_count (s_clients, ZJOB_RATE_COMPLETED, base, 30);
    zjob_clients_count (s_clients, ZJOB_RATE_COMPLETED, base + 1500, 20);
    //  Read right after: 30 in the window's (window - 1) s + 0.5 s
    cr_assert_float_eq (zjob_clients_rate (s_clients, ZJOB_RATE_COMPLETED, base + 500),
                        30.0 / (window - 0.5), 1e-9, "a rate right after activity is not 0");
    //  50 over the window, whose current second has just begun
    cr_assert_float_eq (zjob_clients_rate (s_clients, ZJOB_RATE_COMPLETED, base + 2000),
                        50.0 / (window - 1), 1e-9);
    cr_assert_float_eq (zjob_clients_rate (s_clients, ZJOB_RATE_COMPLETED, base + 2999),
                        50.0 / (window - 0.001), 1e-9);
    cr_assert_float_eq (zjob_clients_rate (s_clients, ZJOB_RATE_FAILED, base + 2000), 0, 1e-9);
    //  Past the window, forgotten
    cr_assert_float_eq (zjob_clients_rate (s_clients, ZJOB_RATE_COMPLETED,
                                           base + ZJOB_RATE_WINDOW_MS + 3000),
                        0, 1e-9);
}

Test (clients, rate_right_after_the_start, .init = s_setup, .fini = s_teardown)
{
    //  Shortly after the start, the elapsed part is the time since it
    int64_t now = zjob_mono_ms ();
    zjob_clients_count (s_clients, ZJOB_RATE_SUBMITTED, now, 10);
    double rate = zjob_clients_rate (s_clients, ZJOB_RATE_SUBMITTED, now + 200);
    cr_assert_gt (rate, 10.0, "10 jobs in about 200 ms: %f", rate);
}

Test (clients, stats_cap_scheduled_and_held_by_limit)
{
    zjob_error_t err;
    zjob_manager_config_t config = { .max_concurrent = 1 };
    zjob_manager_t *manager = zjob_manager_open ("memory:", &config, &err);
    zjob_registry_t *registry = zjob_registry_new (1000, 3);
    zjob_clients_t *clients = zjob_clients_new (manager, registry, NULL, 0);
    zjob_msg_builder_t *request = zjob_msg_builder_new ();
    zjob_msg_builder_t *reply_builder = zjob_msg_builder_new ();
    cr_assert (manager && registry && clients && request && reply_builder);
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "wf";
    for (int index = 0; index < 2; index++) {
        zjob_job_t *job = zjob_manager_create (manager, &spec, true, &err);
        zjob_job_destroy (&job);
    }
    spec.run_at = zjob_clock_ms () + 3600 * 1000;
    zjob_job_t *later = zjob_manager_create (manager, &spec, true, &err);
    zjob_job_destroy (&later);
    zjob_job_t *taken = zjob_manager_take (manager, NULL, 0, "w1");
    cr_assert_not_null (taken);
    zjob_job_destroy (&taken);
    const char *workflows [] = { "wf" };
    zjob_registry_worker_t *worker = zjob_registry_join (
        registry, (const uint8_t *) "rid", 3, "w2", NULL, workflows, 1, 2, 1, -1,
        zjob_mono_ms (), NULL, 0);
    zjob_registry_credit (registry, worker, 2);

    //  One job ready, a worker with credit, the cap reached
    zjob_msg_begin (request, ZJOB_CMD_STATS, 1);
    zframe_t *frame = zjob_msg_end (request, &err);
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                       ZJOB_ROUTE_CLIENT_BROKER, &err);
    cr_assert_eq (zjob_clients_handle (clients, msg, NULL, reply_builder, zjob_mono_ms (), &err), 0);
    zjob_msg_destroy (&msg);
    zframe_destroy (&frame);
    frame = zjob_msg_end (reply_builder, &err);
    zjob_msg_t *reply = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                         ZJOB_ROUTE_BROKER_CLIENT, &err);
    cr_assert_not_null (reply, "%s", err.text);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_STATS, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (reply, "max_concurrent", 99), 1);
    cr_assert_eq (zjob_msg_uint (reply, "scheduled", 99), 1);
    cr_assert_eq (zjob_msg_uint (reply, "queued", 99), 1);
    cr_assert (zjob_msg_bool (reply, "held_by_limit", false));
    zjob_msg_destroy (&reply);
    zframe_destroy (&frame);

    //  Without credit, it is not the cap that holds the job back
    worker->credit = 0;
    zjob_msg_begin (request, ZJOB_CMD_STATS, 2);
    frame = zjob_msg_end (request, &err);
    msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame), ZJOB_ROUTE_CLIENT_BROKER,
                           &err);
    zjob_clients_handle (clients, msg, NULL, reply_builder, zjob_mono_ms (), &err);
    zjob_msg_destroy (&msg);
    zframe_destroy (&frame);
    frame = zjob_msg_end (reply_builder, &err);
    reply = zjob_msg_decode (zframe_data (frame), zframe_size (frame), ZJOB_ROUTE_BROKER_CLIENT,
                             &err);
    cr_assert_not (zjob_msg_bool (reply, "held_by_limit", true));
    zjob_msg_destroy (&reply);
    zframe_destroy (&frame);

    zjob_msg_builder_destroy (&request);
    zjob_msg_builder_destroy (&reply_builder);
    zjob_clients_destroy (&clients);
    zjob_registry_destroy (&registry);
    zjob_manager_destroy (&manager);
}

//  Hand the CLEANUP in s_request to the handler, which leaves it pending,
//  and keep it for the client whose routing id is rid
static void
s_cleanup_deferred (const char *rid)
{
    zjob_error_t err;
    zframe_t *frame = zjob_msg_end (s_request, &err);
    cr_assert_not_null (frame);
    zjob_msg_t *request = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                           ZJOB_ROUTE_CLIENT_BROKER, &err);
    cr_assert_not_null (request, "%s", err.text);
    cr_assert_eq (zjob_clients_handle (s_clients, request, NULL, s_reply, zjob_mono_ms (), &err),
                  ZJOB_CLIENTS_PENDING, "a CLEANUP goes on in later passes");
    cr_assert_eq (zjob_clients_defer (s_clients, (const uint8_t *) rid, strlen (rid), &err), 0);
    zjob_msg_destroy (&request);
    zframe_destroy (&frame);
}

//  Two CLEANUPs at once run one after the other, each in steps of at most
//  ZJOB_CLEANUP_STEP jobs, each answered with the jobs it deleted itself
Test (clients, cleanups_run_in_steps_one_after_the_other, .init = s_setup, .fini = s_teardown)
{
#define DOOMED (2 * ZJOB_CLEANUP_STEP + 10)
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "wf";
    zjob_error_t err;
    for (int index = 0; index < DOOMED; index++) {
        zjob_job_t *job = zjob_manager_create (s_manager, &spec, false, &err);
        cr_assert_not_null (job);
        cr_assert_eq (zjob_manager_cancel (s_manager, job->id, &err), 0);
        zjob_job_destroy (&job);
    }
    //  Past their retention of 0 once the clock has moved
    int64_t after = zjob_clock_ms () + 1;
    int64_t deadline = zjob_mono_ms () + 5000;
    while (zjob_clock_ms () <= after)
        cr_assert_lt (zjob_mono_ms (), deadline);
    zjob_msg_begin (s_request, ZJOB_CMD_CLEANUP, 7);
    zjob_msg_add_uint (s_request, "retention_ms", 0);
    s_cleanup_deferred ("first");
    zjob_msg_begin (s_request, ZJOB_CMD_CLEANUP, 8);
    zjob_msg_add_uint (s_request, "retention_ms", 0);
    s_cleanup_deferred ("second");
    cr_assert_eq (zjob_clients_deferred (s_clients), 2);

    const char *answered [2] = { NULL, NULL };
    uint64_t deleted [2] = { 99, 99 };
    int steps = 0;
    size_t count = 0;
    while (count < 2) {
        cr_assert_lt (steps++, 10, "the cleanups never end");
        size_t stored = zjob_manager_stored (s_manager);
        const uint8_t *rid;
        size_t rid_size;
        uint64_t request_id;
        int rc = zjob_clients_step (s_clients, s_reply, &rid, &rid_size, &request_id, &err);
        cr_assert_geq (rc, 0, "%s", err.text);
        cr_assert_leq (stored - zjob_manager_stored (s_manager), ZJOB_CLEANUP_STEP);
        if (rc == 0)
            continue;
        zframe_t *frame = zjob_msg_end (s_reply, &err);
        zjob_msg_t *reply = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                             ZJOB_ROUTE_BROKER_CLIENT, &err);
        cr_assert_not_null (reply, "%s", err.text);
        cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
        cr_assert_eq (zjob_msg_request_id (reply), request_id);
        answered [count] = rid_size == 5 && memcmp (rid, "first", 5) == 0 ? "first" : "second";
        deleted [count] = zjob_msg_uint (reply, "deleted", 99);
        cr_assert_eq (request_id, count ? 8 : 7);
        count++;
        zjob_msg_destroy (&reply);
        zframe_destroy (&frame);
    }
    cr_assert_str_eq (answered [0], "first");
    cr_assert_eq (deleted [0], DOOMED, "the OK counts every step's deletions");
    cr_assert_str_eq (answered [1], "second");
    cr_assert_eq (deleted [1], 0, "the first deleted them all");
    cr_assert_eq (steps, 4, "3 steps for the first, 1 for the second");
    cr_assert_eq (zjob_clients_deferred (s_clients), 0);
    cr_assert_eq (zjob_manager_stored (s_manager), 0);
#undef DOOMED
}

//  RETRY and RUN_NOW: the real operation's OK waits for the sync, a dry
//  run's is a read; a job a worker still holds is not re-run
Test (clients, retry_and_run_now, .init = s_setup, .fini = s_teardown)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "wf";
    zjob_error_t err;
    zjob_job_t *job = zjob_manager_create (s_manager, &spec, false, &err);
    cr_assert_not_null (job);
    char id [ZJOB_ID_LEN + 1];
    snprintf (id, sizeof (id), "%s", job->id);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_cancel (s_manager, id, &err), 0);
    //  A worker still holds it (its CANCEL unanswered)
    const char *workflows [] = { "wf" };
    zjob_registry_worker_t *worker = zjob_registry_join (
        s_registry, (const uint8_t *) "rid", 3, "w-1", NULL, workflows, 1, 1, 1, -1,
        zjob_mono_ms (), NULL, 0);
    cr_assert_not_null (worker);
    cr_assert_eq (zjob_registry_hold (s_registry, worker, id), 0);

    int rc;
    zjob_target_t target = { .id = id };
    zjob_msg_begin (s_request, ZJOB_CMD_RETRY, 1);
    zjob_msg_add_target (s_request, &target);
    cr_assert_null (s_handle (&rc, &err));
    cr_assert_eq (err.code, ZJOB_CONFLICT);
    cr_assert (strstr (err.text, "w-1"), "%s", err.text);
    zjob_registry_release (s_registry, id, worker);

    //  A dry run: a read, and the OK of the real one
    zjob_msg_begin (s_request, ZJOB_CMD_RETRY, 2);
    zjob_msg_add_target (s_request, &target);
    zjob_msg_add_bool (s_request, "dry_run", true);
    zjob_msg_t *reply = s_handle (&rc, &err);
    cr_assert_eq (rc, 0, "a dry run changes nothing: no sync to wait for");
    cr_assert_str_eq (zjob_msg_str (reply, "status"), "queued");
    zjob_msg_destroy (&reply);
    cr_assert_eq (zjob_manager_status (s_manager, id, &err), ZJOB_CANCELLED);
    zjob_msg_begin (s_request, ZJOB_CMD_RETRY, 3);
    zjob_msg_add_target (s_request, &target);
    reply = s_handle (&rc, &err);
    cr_assert_eq (rc, 1, "a re-run's OK acknowledges a change");
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_RETRY, &err), 0, "%s", err.text);
    zjob_msg_destroy (&reply);
    cr_assert_eq (zjob_manager_status (s_manager, id, &err), ZJOB_QUEUED);

    //  RUN_NOW in bulk, dry: the ids it would do (none here: due already)
    zjob_filter_t queued = { .status_mask = 1u << ZJOB_QUEUED };
    zjob_target_t matching = { .filter = &queued };
    zjob_msg_begin (s_request, ZJOB_CMD_RUN_NOW, 4);
    zjob_msg_add_target (s_request, &matching);
    zjob_msg_add_bool (s_request, "dry_run", true);
    reply = s_handle (&rc, &err);
    cr_assert_eq (rc, 0);
    size_t count = 9;
    zjob_msg_strs (reply, "ids", &count);
    cr_assert_eq (count, 0);
    cr_assert (zjob_msg_has (reply, "ids"));
    cr_assert_eq (zjob_msg_uint (reply, "done", 9), 0);
    zjob_msg_destroy (&reply);
    //  For real, by filter: a change to acknowledge, even of nothing
    zjob_msg_begin (s_request, ZJOB_CMD_RUN_NOW, 5);
    zjob_msg_add_target (s_request, &matching);
    reply = s_handle (&rc, &err);
    cr_assert_eq (rc, 1);
    cr_assert_not (zjob_msg_has (reply, "ids"));
    zjob_msg_destroy (&reply);
}

//  Hand the request in s_request to the handler; returns what it returned
//  (a pending one is kept for rid)
static int
s_handle_keeping (const char *rid, zjob_error_t *err)
{
    return s_handle_raw (NULL, rid, err);
}

//  A LIST over more jobs than a step examines is kept pending and runs
//  one step per call, after the requests kept before it; its OK, a read,
//  has the whole page. A LIST within one step is answered at once.
Test (clients, a_big_list_runs_in_steps_after_what_was_pending, .init = s_setup,
      .fini = s_teardown)
{
#define LISTED 95
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "wf";
    zjob_error_t err;
    for (int index = 0; index < LISTED; index++) {
        zjob_job_t *job = zjob_manager_create (s_manager, &spec, false, &err);
        cr_assert_not_null (job);
        zjob_job_destroy (&job);
    }
    zjob_query_t query;
    memset (&query, 0, sizeof (query));
    query.descending = true;
    //  Within a step: at once
    zjob_msg_begin (s_request, ZJOB_CMD_LIST, 5);
    zjob_msg_add_query (s_request, &query);
    cr_assert_eq (s_handle_keeping ("small", &err), 0, "%s", err.text);
    zjob_msg_builder_destroy (&s_reply);
    s_reply = zjob_msg_builder_new ();

    zjob_clients_set_list_step (10);
    //  A CLEANUP first, then the LIST: it waits its turn
    zjob_msg_begin (s_request, ZJOB_CMD_CLEANUP, 6);
    cr_assert_eq (s_handle_keeping ("cleaner", &err), ZJOB_CLIENTS_PENDING);
    zjob_msg_begin (s_request, ZJOB_CMD_LIST, 7);
    zjob_msg_add_query (s_request, &query);
    cr_assert_eq (s_handle_keeping ("lister", &err), ZJOB_CLIENTS_PENDING);
    cr_assert_eq (zjob_clients_deferred (s_clients), 2);
    int steps = 0;
    zjob_msg_t *reply = NULL;
    while (!reply) {
        cr_assert_lt (steps++, 100, "the LIST never ends");
        const uint8_t *rid;
        size_t rid_size;
        uint64_t request_id;
        int rc = zjob_clients_step (s_clients, s_reply, &rid, &rid_size, &request_id, &err);
        cr_assert_geq (rc, 0, "%s", err.text);
        if (rc == 1) {
            cr_assert_eq (request_id, 6, "the CLEANUP is answered first");
            cr_assert_eq (steps, 1);
            zjob_msg_builder_destroy (&s_reply);
            s_reply = zjob_msg_builder_new ();
        }
        else if (rc == ZJOB_CLIENTS_READ) {
            cr_assert_eq (request_id, 7);
            cr_assert_eq (rid_size, 6);
            cr_assert_eq (memcmp (rid, "lister", 6), 0);
            zframe_t *frame = zjob_msg_end (s_reply, &err);
            reply = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                     ZJOB_ROUTE_BROKER_CLIENT, &err);
            cr_assert_not_null (reply, "%s", err.text);
            zjob_msg_adopt (reply, &frame);
        }
    }
    //  One step for the CLEANUP, then at least one per 10 jobs
    cr_assert_geq (steps, 1 + LISTED / 10, "%d steps", steps);
    cr_assert_eq (zjob_msg_uint (reply, "total", 0), LISTED);
    zjob_job_t **jobs = NULL;
    size_t count = 0;
    cr_assert_eq (zjob_msg_jobs (reply, "jobs", &jobs, &count, &err), 0);
    cr_assert_eq (count, LISTED);
    for (size_t index = 1; index < count; index++)
        cr_assert_gt (strcmp (jobs [index - 1]->id, jobs [index]->id), 0, "newest first");
    for (size_t index = 0; index < count; index++)
        zjob_job_destroy (&jobs [index]);
    free (jobs);
    zjob_msg_destroy (&reply);
    cr_assert_eq (zjob_clients_deferred (s_clients), 0);
    zjob_clients_set_list_step (0);
#undef LISTED
}

//  Step the request kept first until one is answered; returns what the
//  step returned (1 or ZJOB_CLIENTS_READ), with the reply decoded in
//  *reply_p and its request id in *request_id_p; *steps_p counts the
//  steps. Between steps, no more than max jobs change status.
static int
s_step_until_answered (zjob_msg_t **reply_p, uint64_t *request_id_p, int *steps_p, size_t max)
{
    zjob_error_t err;
    while (true) {
        cr_assert_lt ((*steps_p)++, 1000, "the request never ends");
        size_t counts_before [ZJOB_STATUS_COUNT], counts_after [ZJOB_STATUS_COUNT];
        zjob_manager_counts (s_manager, counts_before);
        const uint8_t *rid;
        size_t rid_size;
        int rc = zjob_clients_step (s_clients, s_reply, &rid, &rid_size, request_id_p, &err);
        cr_assert_geq (rc, 0, "%s", err.text);
        zjob_manager_counts (s_manager, counts_after);
        size_t changed = 0;
        for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
            changed += counts_after [status] > counts_before [status]
                ? counts_after [status] - counts_before [status]
                : 0;
        cr_assert_leq (changed, max, "a step changed %zu jobs", changed);
        if (rc == 0)
            continue;
        zframe_t *frame = zjob_msg_end (s_reply, &err);
        cr_assert_not_null (frame, "%s", err.text);
        *reply_p = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                    ZJOB_ROUTE_BROKER_CLIENT, &err);
        cr_assert_not_null (*reply_p, "%s", err.text);
        zjob_msg_adopt (*reply_p, &frame);
        return rc;
    }
}

//  An operation by filter over more jobs than a step examines is kept
//  pending and runs one step per call, after the requests kept before
//  it; a real one's OK confirms state (it waits for the sync), a dry
//  run's is a read; both count every step. By ids, or within a step: at
//  once.
Test (clients, a_big_bulk_by_filter_runs_in_steps_after_what_was_pending, .init = s_setup,
      .fini = s_teardown)
{
#define BULKED 95
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "wf";
    zjob_error_t err;
    char ids [BULKED][ZJOB_ID_LEN + 1];
    for (int index = 0; index < BULKED; index++) {
        zjob_job_t *job = zjob_manager_create (s_manager, &spec, true, &err);
        cr_assert_not_null (job);
        snprintf (ids [index], sizeof (ids [index]), "%s", job->id);
        zjob_job_destroy (&job);
    }
    //  By ids: at once, a write
    const char *two [] = { ids [0], ids [1] };
    zjob_target_t by_ids = { .ids = two, .id_count = 2 };
    zjob_msg_begin (s_request, ZJOB_CMD_CANCEL, 4);
    zjob_msg_add_target (s_request, &by_ids);
    cr_assert_eq (s_handle_keeping ("ids", &err), 1, "%s", err.text);
    //  Within a step: at once, a read for a dry run
    zjob_filter_t cancelled = { .status_mask = 1u << ZJOB_CANCELLED };
    zjob_target_t cancelled_ones = { .filter = &cancelled };
    zjob_msg_begin (s_request, ZJOB_CMD_RETRY, 5);
    zjob_msg_add_target (s_request, &cancelled_ones);
    zjob_msg_add_bool (s_request, "dry_run", true);
    cr_assert_eq (s_handle_keeping ("small", &err), 0, "%s", err.text);
    zjob_msg_builder_destroy (&s_reply);
    s_reply = zjob_msg_builder_new ();

    zjob_clients_set_bulk_step (10);
    //  A CLEANUP first, then the CANCEL and the dry RETRY: they wait
    zjob_msg_begin (s_request, ZJOB_CMD_CLEANUP, 6);
    cr_assert_eq (s_handle_keeping ("cleaner", &err), ZJOB_CLIENTS_PENDING);
    zjob_filter_t queued = { .status_mask = 1u << ZJOB_QUEUED };
    zjob_target_t queued_ones = { .filter = &queued };
    zjob_msg_begin (s_request, ZJOB_CMD_CANCEL, 7);
    zjob_msg_add_target (s_request, &queued_ones);
    cr_assert_eq (s_handle_keeping ("canceller", &err), ZJOB_CLIENTS_PENDING);
    cr_assert_eq (zjob_manager_status (s_manager, ids [2], NULL), ZJOB_QUEUED,
                  "it waits for the CLEANUP");
    zjob_msg_begin (s_request, ZJOB_CMD_RETRY, 8);
    zjob_msg_add_target (s_request, &cancelled_ones);
    zjob_msg_add_bool (s_request, "dry_run", true);
    cr_assert_eq (s_handle_keeping ("dry", &err), ZJOB_CLIENTS_PENDING);
    cr_assert_eq (zjob_clients_deferred (s_clients), 3);

    int steps = 0;
    uint64_t request_id = 0;
    zjob_msg_t *reply = NULL;
    cr_assert_eq (s_step_until_answered (&reply, &request_id, &steps, 10), 1);
    cr_assert_eq (request_id, 6, "the CLEANUP is answered first");
    zjob_msg_destroy (&reply);
    zjob_msg_builder_destroy (&s_reply);
    s_reply = zjob_msg_builder_new ();
    steps = 0;
    cr_assert_eq (s_step_until_answered (&reply, &request_id, &steps, 10), 1,
                  "a real operation's OK confirms state");
    cr_assert_eq (request_id, 7);
    cr_assert_geq (steps, BULKED / 10, "%d steps", steps);
    cr_assert_eq (zjob_msg_uint (reply, "done", 0), BULKED - 2, "every step counts");
    cr_assert_eq (zjob_msg_uint (reply, "failed", 9), 0);
    cr_assert_not (zjob_msg_has (reply, "ids"));
    zjob_msg_destroy (&reply);
    for (int index = 0; index < BULKED; index++)
        cr_assert_eq (zjob_manager_status (s_manager, ids [index], NULL), ZJOB_CANCELLED);
    zjob_msg_builder_destroy (&s_reply);
    s_reply = zjob_msg_builder_new ();
    steps = 0;
    cr_assert_eq (s_step_until_answered (&reply, &request_id, &steps, 0), ZJOB_CLIENTS_READ,
                  "a dry run's OK is a read");
    cr_assert_eq (request_id, 8);
    cr_assert_geq (steps, BULKED / 10, "%d steps", steps);
    size_t count = 0;
    const char *const *would = zjob_msg_strs (reply, "ids", &count);
    cr_assert_eq (count, BULKED);
    for (size_t index = 0; index < count; index++)
        cr_assert_str_eq (would [index], ids [index], "in creation order");
    zjob_msg_destroy (&reply);
    for (int index = 0; index < BULKED; index++)
        cr_assert_eq (zjob_manager_status (s_manager, ids [index], NULL), ZJOB_CANCELLED);
    cr_assert_eq (zjob_clients_deferred (s_clients), 0);

    //  Nothing pending: the first step runs at once
    zjob_msg_builder_destroy (&s_reply);
    s_reply = zjob_msg_builder_new ();
    zjob_msg_begin (s_request, ZJOB_CMD_RETRY, 9);
    zjob_msg_add_target (s_request, &cancelled_ones);
    cr_assert_eq (s_handle_keeping ("retrier", &err), ZJOB_CLIENTS_PENDING);
    cr_assert_eq (zjob_manager_status (s_manager, ids [0], NULL), ZJOB_QUEUED);
    cr_assert_eq (zjob_manager_status (s_manager, ids [BULKED - 1], NULL), ZJOB_CANCELLED);
    zjob_clients_set_bulk_step (0);
#undef BULKED
}
