/*  =========================================================================
    test_zjob_limits - the broker's limits, without sockets

    The manager's figures of the jobs not yet run and of their inputs'
    bytes, checked after every kind of move against a count made afresh
    from the store (create, start, pause, resume, dispatch, complete,
    fail and retry, requeue, cancel, delete, cleanup, re-run, waiting and
    release, recovery over the file store); SUBMIT refused whole by count
    and by bytes (429), or as too large (413), while the broker's own jobs
    and re-runs go through and count; --max-pending in zjob_clients_defer;
    the STATS keys; the three options in the config.
    ========================================================================= */

#include "helper_zjob_manager.h"
#include "zjob_batches.h"
#include "zjob_clients.h"
#include "zjob_config.h"
#include "zjob_deps.h"
#include "zjob_proto.h"

//  A msgpack map {"d": bin} of size bytes (at least 6) into buffer
static void
s_inputs (uint8_t *buffer, size_t size)
{
    cr_assert_geq (size, 6);
    cr_assert_lt (size, 65536 + 6);
    size_t data = size - 6;
    buffer [0] = 0x81;
    buffer [1] = 0xa1;
    buffer [2] = 'd';
    buffer [3] = 0xc5;  //  bin 16
    buffer [4] = (uint8_t) (data >> 8);
    buffer [5] = (uint8_t) (data & 0xff);
    memset (buffer + 6, 'x', data);
}

//  The figures counted afresh from the store: jobs created, waiting,
//  queued or paused, and the bytes of their inputs
typedef struct {
    size_t jobs;
    uint64_t bytes;
} s_fresh_t;

static int
s_count_unrun (zjob_job_t *job, void *arg)
{
    s_fresh_t *fresh = (s_fresh_t *) arg;
    if (job->status == ZJOB_CREATED || job->status == ZJOB_WAITING
        || job->status == ZJOB_QUEUED || job->status == ZJOB_PAUSED) {
        fresh->jobs++;
        fresh->bytes += job->inputs.size;
    }
    return 0;
}

//  The manager's figures must be what the store holds; and they are
//  (jobs, bytes)
static void
s_assert_unrun (zjob_manager_t *manager, size_t jobs, uint64_t bytes, const char *when)
{
    s_fresh_t fresh = { 0, 0 };
    zjob_store_iterate (zjob_manager_store (manager), NULL, s_count_unrun, &fresh);
    uint64_t kept_bytes = 0;
    size_t kept = zjob_manager_unrun (manager, &kept_bytes);
    cr_assert_eq (kept, fresh.jobs, "%s: %zu jobs kept, %zu in the store", when, kept,
                  fresh.jobs);
    cr_assert_eq (kept_bytes, fresh.bytes, "%s: %" PRIu64 " bytes kept, %" PRIu64 " in the store",
                  when, kept_bytes, fresh.bytes);
    cr_assert_eq (kept, jobs, "%s: %zu jobs, expected %zu", when, kept, jobs);
    cr_assert_eq (kept_bytes, bytes, "%s: %" PRIu64 " bytes, expected %" PRIu64, when,
                  kept_bytes, bytes);
    s_assert_counts (manager);
}

//  Create a job of workflow with inputs of size bytes; its id into id
static void
s_create_sized (zjob_manager_t *manager, const char *workflow, size_t size, bool start,
                char *id)
{
    uint8_t inputs [1024];
    s_inputs (inputs, size);
    zjob_spec_t spec = s_spec (workflow, ZJOB_PRIORITY_MEDIUM);
    spec.inputs = inputs;
    spec.inputs_size = size;
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_manager_create (manager, &spec, start, &err);
    cr_assert_not_null (job, "create: %s", err.text);
    strcpy (id, job->id);
    zjob_job_destroy (&job);
}

//  A client's SUBMIT of count specs of workflow, inputs of size bytes
//  each (0: none), key (may be NULL) on the first; the jobs made or -1
//  with err filled
static int
s_submit (zjob_manager_t *manager, size_t count, size_t size, const char *key,
          zjob_error_t *err)
{
    static uint8_t inputs [1024];
    if (size)
        s_inputs (inputs, size);
    zjob_spec_t specs [16];
    cr_assert_leq (count, 16);
    for (size_t index = 0; index < count; index++) {
        specs [index] = s_spec ("limited", ZJOB_PRIORITY_MEDIUM);
        specs [index].inputs = size ? inputs : NULL;
        specs [index].inputs_size = size;
    }
    specs [0].idempotency_key = key;
    zjob_job_t *jobs [16];
    uint64_t existing [16];
    size_t existing_count = 0;
    int rc = zjob_manager_submit_with (manager, specs, count, true, NULL, jobs, existing,
                                       &existing_count, err);
    for (size_t index = 0; rc >= 0 && index < count; index++)
        zjob_job_destroy (&jobs [index]);
    return rc;
}

static void
s_limit (zjob_manager_t *manager, size_t max_queued, uint64_t max_queued_bytes)
{
    zjob_limits_t limits = { max_queued, max_queued_bytes, 0 };
    zjob_manager_set_limits (manager, &limits);
}


//  --------------------------------------------------------------------------
//  The figures, through every move

Test (limits, figures_follow_every_move)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_error_t err = { 0, "" };
    char a [ZJOB_ID_LEN + 1], b [ZJOB_ID_LEN + 1], x [ZJOB_ID_LEN + 1], y [ZJOB_ID_LEN + 1];
    s_assert_unrun (manager, 0, 0, "empty");
    s_create_sized (manager, "wf", 100, false, a);
    s_assert_unrun (manager, 1, 100, "created");
    s_create_sized (manager, "wf", 200, true, b);
    s_assert_unrun (manager, 2, 300, "queued");
    cr_assert_eq (zjob_manager_pause (manager, b, &err), 0, "%s", err.text);
    s_assert_unrun (manager, 2, 300, "paused");
    cr_assert_eq (zjob_manager_resume (manager, b, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_start (manager, a, &err), 0, "%s", err.text);
    s_assert_unrun (manager, 2, 300, "resumed, started");

    //  Dispatched, a job has run: it leaves the figures, and a result
    //  changes nothing more
    s_take (manager, "w1", x);
    strcpy (y, streq (x, a) ? b : a);
    uint64_t x_size = streq (x, a) ? 100 : 200, y_size = 300 - x_size;
    s_assert_unrun (manager, 1, y_size, "running");
    cr_assert_eq (zjob_manager_complete (manager, x, "w1", s_outputs, sizeof s_outputs, &err),
                  0, "%s", err.text);
    s_assert_unrun (manager, 1, y_size, "completed");

    //  A held job paused is paused (it counts) until resumed
    s_take (manager, "w1", x);
    cr_assert_str_eq (x, y);
    s_assert_unrun (manager, 0, 0, "both ran");
    cr_assert_eq (zjob_manager_pause (manager, y, &err), 0, "%s", err.text);
    s_assert_unrun (manager, 1, y_size, "held, paused");
    cr_assert_eq (zjob_manager_resume (manager, y, &err), 0, "%s", err.text);
    s_assert_unrun (manager, 0, 0, "held, resumed");

    //  A failed attempt retried is queued again; a lost worker's job too
    cr_assert_eq (zjob_manager_finish_attempt (manager, y, "w1", NULL, 0, false, NULL, 0, "boom",
                                               "it broke", 0, false, &err),
                  1, "%s", err.text);
    cr_assert_eq (s_status (manager, y), ZJOB_QUEUED, "retried");
    s_assert_unrun (manager, 1, y_size, "retrying");
    s_let_time_pass (2);
    s_take (manager, "w2", x);
    s_assert_unrun (manager, 0, 0, "second attempt");
    cr_assert_eq (zjob_manager_worker_lost (manager, y, &err), ZJOB_LOST_REQUEUED, "%s",
                  err.text);
    s_assert_unrun (manager, 1, y_size, "worker lost");

    //  Cancelled, re-run, deleted
    cr_assert_eq (zjob_manager_cancel (manager, y, &err), 0, "%s", err.text);
    s_assert_unrun (manager, 0, 0, "cancelled");
    cr_assert_eq (zjob_manager_retry (manager, y, false, &err), 0, "%s", err.text);
    s_assert_unrun (manager, 1, y_size, "re-run");
    cr_assert_eq (zjob_manager_delete (manager, y, &err), 0, "%s", err.text);
    s_assert_unrun (manager, 0, 0, "deleted");

    //  Waiting for a parent, then released with its outputs: the inputs
    //  are what count, the parent's outputs do not change them
    char parent [ZJOB_ID_LEN + 1];
    s_create_sized (manager, "wf", 300, true, parent);
    uint8_t inputs [400];
    s_inputs (inputs, sizeof inputs);
    zjob_spec_t spec = s_spec ("wf", ZJOB_PRIORITY_MEDIUM);
    spec.inputs = inputs;
    spec.inputs_size = sizeof inputs;
    const char *parents [] = { parent };
    spec.depends_on = parents;
    spec.depends_on_count = 1;
    zjob_job_t *child = zjob_manager_create (manager, &spec, true, &err);
    cr_assert_not_null (child, "%s", err.text);
    cr_assert_eq (child->status, ZJOB_WAITING);
    char child_id [ZJOB_ID_LEN + 1];
    strcpy (child_id, child->id);
    zjob_job_destroy (&child);
    s_assert_unrun (manager, 2, 700, "a child waiting");
    s_take (manager, "w1", x);
    cr_assert_str_eq (x, parent);
    cr_assert_eq (zjob_manager_complete (manager, parent, "w1", s_outputs, sizeof s_outputs,
                                         &err),
                  0, "%s", err.text);
    while (zjob_manager_deps_step (manager, 100) > 0)
        ;
    cr_assert_eq (s_status (manager, child_id), ZJOB_QUEUED, "released");
    s_assert_unrun (manager, 1, 400, "released");

    //  Cleanup removes finished jobs only
    cr_assert_geq (zjob_manager_cleanup (manager, zjob_clock_ms () + 365LL * 86400000, &err), 2);
    s_assert_unrun (manager, 1, 400, "cleaned up");
    cr_assert_eq (zjob_manager_delete (manager, child_id, &err), 0, "%s", err.text);
    s_assert_unrun (manager, 0, 0, "all gone");
    zjob_manager_destroy (&manager);
}

//  At start the figures are rebuilt from the store: the jobs that were
//  running when it stopped are queued again and count
Test (limits, figures_after_recovery, .fini = s_tmpdir_fini)
{
    s_dir = s_tmpdir ();
    zjob_manager_t *manager = s_manager_over (s_file_store (s_dir), 0);
    char ids [4][ZJOB_ID_LEN + 1];
    s_create_sized (manager, "wf", 100, false, ids [0]);
    s_create_sized (manager, "wf", 200, true, ids [1]);
    s_create_sized (manager, "wf", 300, true, ids [2]);
    s_create_sized (manager, "wf", 400, true, ids [3]);
    char taken [ZJOB_ID_LEN + 1];
    s_take (manager, "w1", taken);  //  ids [1]: running when it stops
    cr_assert_str_eq (taken, ids [1]);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_manager_pause (manager, ids [2], &err), 0, "%s", err.text);
    cr_assert_eq (zjob_manager_cancel (manager, ids [3], &err), 0, "%s", err.text);
    s_assert_unrun (manager, 2, 400, "before the stop");
    zjob_manager_destroy (&manager);

    manager = s_manager_over (s_file_store (s_dir), 0);
    s_assert_unrun (manager, 3, 600, "after recovery");
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  SUBMIT under the limits

Test (limits, submit_refused_by_count)
{
    zjob_manager_t *manager = s_manager (0);
    s_limit (manager, 10, 0);
    zjob_error_t err = { 0, "" };
    for (int round = 0; round < 8; round++)
        cr_assert_eq (s_submit (manager, 1, 0, NULL, &err), 1, "%s", err.text);
    s_assert_unrun (manager, 8, 0, "8 submitted");

    //  Three more would pass 10: refused whole, nothing made
    cr_assert_eq (s_submit (manager, 3, 0, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_TOO_MANY);
    cr_assert_str_eq (err.text, "the broker holds 8 jobs not yet run and this SUBMIT makes 3 "
                                "more (--max-queued 10); try again later");
    cr_assert_eq (zjob_manager_stored (manager), 8);
    cr_assert_eq (s_submit (manager, 2, 0, "k", &err), 2, "%s", err.text);
    cr_assert_eq (s_submit (manager, 1, 0, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_TOO_MANY);
    cr_assert_str_eq (err.text,
                      "the broker holds 10 jobs not yet run (--max-queued 10); try again later");
    cr_assert_eq (zjob_manager_stored (manager), 10);

    //  A SUBMIT answered by its idempotency key makes nothing: not refused
    cr_assert_eq (s_submit (manager, 1, 0, "k", &err), 0, "%s", err.text);
    //  More than the limit ever holds: 413, whatever the broker holds
    cr_assert_eq (s_submit (manager, 11, 0, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_TOO_LARGE, "%d %s", err.code, err.text);
    cr_assert (strstr (err.text, "this SUBMIT makes 11 jobs"), "%s", err.text);

    //  The broker's own jobs (zjob_manager_submit: a schedule) and a
    //  re-run go through, and count
    zjob_spec_t spec = s_spec ("limited", ZJOB_PRIORITY_MEDIUM);
    zjob_job_t *job = NULL;
    uint64_t existing [1];
    size_t existing_count = 0;
    cr_assert_eq (zjob_manager_submit (manager, &spec, 1, true, &job, existing, &existing_count,
                                       &err),
                  1, "%s", err.text);
    zjob_job_destroy (&job);
    s_assert_unrun (manager, 11, 0, "a schedule's job past the limit");
    char taken [ZJOB_ID_LEN + 1];
    s_take (manager, "w1", taken);
    cr_assert_eq (zjob_manager_cancel (manager, taken, &err), 0, "%s", err.text);
    s_assert_unrun (manager, 10, 0, "one cancelled");
    cr_assert_eq (s_submit (manager, 1, 0, NULL, &err), -1, "still at the limit");
    cr_assert_eq (zjob_manager_retry (manager, taken, false, &err), 0, "%s", err.text);
    s_assert_unrun (manager, 11, 0, "a re-run past the limit");

    //  Workers drain: SUBMITs are taken again
    for (int round = 0; round < 3; round++) {
        s_take (manager, "w1", taken);
        cr_assert_eq (zjob_manager_complete (manager, taken, "w1", s_outputs, sizeof s_outputs,
                                             &err),
                      0, "%s", err.text);
    }
    s_assert_unrun (manager, 8, 0, "three done");
    cr_assert_eq (s_submit (manager, 2, 0, NULL, &err), 2, "%s", err.text);
    cr_assert_eq (s_submit (manager, 1, 0, NULL, &err), -1);

    //  0: no limit
    s_limit (manager, 0, 0);
    cr_assert_eq (s_submit (manager, 16, 0, NULL, &err), 16, "%s", err.text);
    s_assert_unrun (manager, 26, 0, "no limit");
    zjob_manager_destroy (&manager);
}

Test (limits, submit_refused_by_bytes)
{
    zjob_manager_t *manager = s_manager (0);
    s_limit (manager, 0, 1000);
    zjob_error_t err = { 0, "" };
    for (int round = 0; round < 3; round++)
        cr_assert_eq (s_submit (manager, 1, 300, NULL, &err), 1, "%s", err.text);
    s_assert_unrun (manager, 3, 900, "900 bytes");
    cr_assert_eq (s_submit (manager, 1, 101, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_TOO_MANY);
    cr_assert_str_eq (err.text, "the broker holds 900 bytes of inputs of jobs not yet run and "
                                "this SUBMIT's inputs are 101 (--max-queued-bytes 1000); try "
                                "again later");
    cr_assert_eq (s_submit (manager, 1, 100, NULL, &err), 1, "%s", err.text);
    s_assert_unrun (manager, 4, 1000, "at the limit");
    cr_assert_eq (s_submit (manager, 1, 6, NULL, &err), -1);
    cr_assert_str_eq (err.text, "the broker holds 1000 bytes of inputs of jobs not yet run "
                                "(--max-queued-bytes 1000); try again later");
    //  A job without inputs adds no bytes
    cr_assert_eq (s_submit (manager, 2, 0, NULL, &err), 2, "%s", err.text);
    //  Inputs the limit can never hold: 413
    s_limit (manager, 0, 500);
    cr_assert_eq (s_submit (manager, 2, 300, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_TOO_LARGE, "%s", err.text);
    cr_assert (strstr (err.text, "this SUBMIT's inputs are 600 bytes"), "%s", err.text);

    //  A batch SUBMIT refused makes no batch
    s_limit (manager, 0, 1000);
    zjob_spec_t spec = s_spec ("limited", ZJOB_PRIORITY_MEDIUM);
    uint8_t inputs [50];
    s_inputs (inputs, sizeof inputs);
    spec.inputs = inputs;
    spec.inputs_size = sizeof inputs;
    zjob_batch_opts_t opts = { .id = "b1" };
    zjob_job_t *job = NULL;
    uint64_t existing [1];
    size_t existing_count = 0;
    cr_assert_eq (zjob_manager_submit_with (manager, &spec, 1, true, &opts, &job, existing,
                                            &existing_count, &err),
                  -1);
    cr_assert_eq (err.code, ZJOB_TOO_MANY);
    cr_assert_eq (zjob_batches_size (zjob_manager_batches (manager)), 0);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  --max-pending, in zjob_clients_defer; the STATS keys

//  Hand the request in builder to clients as if from rid; a request left
//  pending is kept for rid (zjob_clients_defer), whose result is returned
//  instead (0 kept, -1 with err filled)
static int
s_request_from (zjob_clients_t *clients, zjob_msg_builder_t *builder, zjob_msg_builder_t *reply,
                const char *rid, zjob_error_t *err)
{
    zframe_t *frame = zjob_msg_end (builder, err);
    cr_assert_not_null (frame);
    zjob_msg_t *request = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                           ZJOB_ROUTE_CLIENT_BROKER, err);
    cr_assert_not_null (request, "%s", err->text);
    int rc = zjob_clients_handle (clients, request, NULL, reply, zjob_mono_ms (), err);
    if (rc == ZJOB_CLIENTS_PENDING)
        rc = zjob_clients_defer (clients, (const uint8_t *) rid, strlen (rid), err);
    zjob_msg_destroy (&request);
    zframe_destroy (&frame);
    return rc;
}

Test (limits, max_pending_per_connection)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_limits_t limits = { 0, 0, 2 };
    zjob_manager_set_limits (manager, &limits);
    zjob_registry_t *registry = zjob_registry_new (1000, 3);
    zjob_clients_t *clients = zjob_clients_new (manager, registry, NULL, 0);
    zjob_msg_builder_t *request = zjob_msg_builder_new ();
    zjob_msg_builder_t *reply = zjob_msg_builder_new ();
    cr_assert (registry && clients && request && reply);
    char id [ZJOB_ID_LEN + 1];
    s_create (manager, "wf", ZJOB_PRIORITY_MEDIUM, true, id);

    //  Two CLEANUPs kept for "a"; the third is refused
    zjob_error_t err = { 0, "" };
    for (uint64_t request_id = 1; request_id <= 2; request_id++) {
        zjob_msg_begin (request, ZJOB_CMD_CLEANUP, request_id);
        cr_assert_eq (s_request_from (clients, request, reply, "a", &err), 0, "%s", err.text);
    }
    zjob_msg_begin (request, ZJOB_CMD_CLEANUP, 3);
    cr_assert_eq (s_request_from (clients, request, reply, "a", &err), -1);
    cr_assert_eq (err.code, ZJOB_TOO_MANY);
    cr_assert_str_eq (err.text, "too many requests pending on this connection (2)");
    cr_assert_eq (zjob_clients_deferred (clients), 2);

    //  A CANCEL by filter from "a" is refused too, and cancels nothing: its
    //  first step never ran, since requests were kept already
    zjob_filter_t filter = { .status_mask = 1u << ZJOB_QUEUED };
    zjob_target_t target = { .filter = &filter };
    zjob_msg_begin (request, ZJOB_CMD_CANCEL, 4);
    zjob_msg_add_target (request, &target);
    cr_assert_eq (s_request_from (clients, request, reply, "a", &err), -1);
    cr_assert_eq (err.code, ZJOB_TOO_MANY);
    cr_assert_eq (s_status (manager, id), ZJOB_QUEUED);
    //  A LIST, the same (and what it held is freed: the sanitizers see)
    zjob_query_t query;
    memset (&query, 0, sizeof (query));
    zjob_msg_begin (request, ZJOB_CMD_LIST, 5);
    zjob_msg_add_query (request, &query);
    cr_assert_eq (s_request_from (clients, request, reply, "a", &err), -1);
    cr_assert_eq (err.code, ZJOB_TOO_MANY);

    //  Another connection is not held back by "a"'s
    zjob_msg_begin (request, ZJOB_CMD_CANCEL, 6);
    zjob_msg_add_target (request, &target);
    cr_assert_eq (s_request_from (clients, request, reply, "b", &err), 0, "%s", err.text);
    cr_assert_eq (zjob_clients_deferred (clients), 3);

    //  Once one of "a"'s is answered, "a" may leave another
    const uint8_t *rid;
    size_t rid_size;
    uint64_t request_id;
    zjob_msg_builder_destroy (&reply);
    reply = zjob_msg_builder_new ();
    cr_assert_eq (zjob_clients_step (clients, reply, &rid, &rid_size, &request_id, &err), 1,
                  "%s", err.text);
    cr_assert_eq (request_id, 1);
    zjob_msg_builder_destroy (&reply);
    reply = zjob_msg_builder_new ();
    zjob_msg_begin (request, ZJOB_CMD_CLEANUP, 7);
    cr_assert_eq (s_request_from (clients, request, reply, "a", &err), 0, "%s", err.text);

    //  0: no limit
    limits.max_pending = 0;
    zjob_manager_set_limits (manager, &limits);
    for (uint64_t more = 8; more < 20; more++) {
        zjob_msg_begin (request, ZJOB_CMD_CLEANUP, more);
        cr_assert_eq (s_request_from (clients, request, reply, "a", &err), 0, "%s", err.text);
    }
    cr_assert_eq (zjob_clients_deferred (clients), 15);

    zjob_clients_destroy (&clients);
    zjob_registry_destroy (&registry);
    zjob_msg_builder_destroy (&request);
    zjob_msg_builder_destroy (&reply);
    zjob_manager_destroy (&manager);
}

Test (limits, stats_report_the_figures_and_the_limits)
{
    zjob_manager_t *manager = s_manager (0);
    zjob_limits_t limits = { 1000, 1 << 20, 64 };
    zjob_manager_set_limits (manager, &limits);
    zjob_registry_t *registry = zjob_registry_new (1000, 3);
    zjob_clients_t *clients = zjob_clients_new (manager, registry, NULL, 0);
    zjob_msg_builder_t *request = zjob_msg_builder_new ();
    zjob_msg_builder_t *reply = zjob_msg_builder_new ();
    cr_assert (registry && clients && request && reply);
    char id [ZJOB_ID_LEN + 1];
    s_create_sized (manager, "wf", 100, true, id);
    s_create_sized (manager, "wf", 50, false, id);

    zjob_error_t err = { 0, "" };
    zjob_msg_begin (request, ZJOB_CMD_STATS, 1);
    cr_assert_eq (s_request_from (clients, request, reply, "a", &err), 0, "%s", err.text);
    zframe_t *frame = zjob_msg_end (reply, &err);
    cr_assert_not_null (frame);
    zjob_msg_t *ok = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                      ZJOB_ROUTE_BROKER_CLIENT, &err);
    cr_assert_not_null (ok, "%s", err.text);
    zjob_msg_adopt (ok, &frame);
    cr_assert_eq (zjob_msg_check_reply (ok, ZJOB_CMD_STATS, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (ok, "queued_jobs", 0), 2);
    cr_assert_eq (zjob_msg_uint (ok, "queued_bytes", 0), 150);
    cr_assert_eq (zjob_msg_uint (ok, "max_queued", 0), 1000);
    cr_assert_eq (zjob_msg_uint (ok, "max_queued_bytes", 0), 1 << 20);
    cr_assert_eq (zjob_msg_uint (ok, "max_pending", 0), 64);
    zjob_msg_destroy (&ok);

    zjob_clients_destroy (&clients);
    zjob_registry_destroy (&registry);
    zjob_msg_builder_destroy (&request);
    zjob_msg_builder_destroy (&reply);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  The options

Test (limits, options)
{
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    cr_assert_eq (config.limits.max_queued, 1000000);
    cr_assert_eq (config.limits.max_queued_bytes, 1ULL << 30);
    cr_assert_eq (config.limits.max_pending, 64);
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_broker_config_set (&config, "max-queued", "1000", &err), 0, "%s", err.text);
    cr_assert_eq (zjob_broker_config_set (&config, "max-queued-bytes", "512M", &err), 0, "%s",
                  err.text);
    cr_assert_eq (zjob_broker_config_set (&config, "max-pending", "0", &err), 0, "%s", err.text);
    cr_assert_eq (config.limits.max_queued, 1000);
    cr_assert_eq (config.limits.max_queued_bytes, 512ULL << 20);
    cr_assert_eq (config.limits.max_pending, 0);
    cr_assert_eq (zjob_broker_config_set (&config, "max-queued", "-1", &err), -1);
    cr_assert_eq (zjob_broker_config_set (&config, "max-queued", "lots", &err), -1);
    cr_assert_eq (zjob_broker_config_set (&config, "max-queued-bytes", "1 GiB", &err), -1);
    cr_assert (strstr (err.text, "max-queued-bytes: '1 GiB' is not a size"), "%s", err.text);
    cr_assert_eq (zjob_broker_config_set (&config, "max-pending", "x", &err), -1);

    struct {
        const char *text;
        int64_t bytes;
    } sizes [] = {
        { "0", 0 },
        { "1000", 1000 },
        { "1000B", 1000 },
        { "4k", 4096 },
        { "4K", 4096 },
        { "4KiB", 4096 },
        { "4kb", 4096 },
        { "2M", 2 << 20 },
        { "2MiB", 2 << 20 },
        { "1G", 1LL << 30 },
        { "1GiB", 1LL << 30 },
        { "3T", 3LL << 40 },
        { "", -1 },
        { "G", -1 },
        { "1X", -1 },
        { "1Gx", -1 },
        { "-5", -1 },
        { "1.5G", -1 },
        { "99999999999999999999", -1 },
        { "9999999999T", -1 },
    };
    for (size_t index = 0; index < sizeof sizes / sizeof sizes [0]; index++)
        cr_assert_eq (zjob_config_bytes_parse (sizes [index].text), sizes [index].bytes,
                      "\"%s\": %" PRId64, sizes [index].text,
                      zjob_config_bytes_parse (sizes [index].text));

    //  From a file, under "broker"
    char *dir = s_tmpdir ();
    char *path = zsys_sprintf ("%s/zjobd.cfg", dir);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fprintf (file, "broker\n    max-queued = 5\n    max-queued-bytes = 1k\n    max-pending = 3\n");
    fclose (file);
    zjob_broker_config_init (&config);
    cr_assert_eq (zjob_broker_config_load (&config, path, &err), 0, "%s", err.text);
    cr_assert_eq (config.limits.max_queued, 5);
    cr_assert_eq (config.limits.max_queued_bytes, 1024);
    cr_assert_eq (config.limits.max_pending, 3);
    zstr_free (&path);
    s_tmpdir_remove (&dir);
}
