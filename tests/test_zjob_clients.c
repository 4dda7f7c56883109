/*  =========================================================================
    test_zjob_clients - the broker's answers to client requests, without
    sockets

    Requests are built and decoded with the proto codec, handled over a
    manager on the memory store and an empty registry, and the OK the
    handler builds is decoded again, as a client would read it.
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include "zjob_clients.h"
#include "zjob_proto.h"

static zjob_manager_t *s_manager = NULL;
static zjob_registry_t *s_registry = NULL;
static zjob_clients_t *s_clients = NULL;
static zjob_msg_builder_t *s_request = NULL;
static zjob_msg_builder_t *s_reply = NULL;

static void
s_setup (void)
{
    zjob_error_t err;
    s_manager = zjob_manager_open ("memory:", NULL, &err);
    s_registry = zjob_registry_new (1000, 3);
    cr_assert (s_manager && s_registry);
    s_clients = zjob_clients_new (s_manager, s_registry, NULL, 0);
    s_request = zjob_msg_builder_new ();
    s_reply = zjob_msg_builder_new ();
    cr_assert (s_clients && s_request && s_reply);
}

static void
s_teardown (void)
{
    zjob_clients_destroy (&s_clients);
    zjob_registry_destroy (&s_registry);
    zjob_manager_destroy (&s_manager);
    zjob_msg_builder_destroy (&s_request);
    zjob_msg_builder_destroy (&s_reply);
}

//  Decode the request in s_request, handle it, and return the decoded
//  OK (or NULL, with *rc_p -1 and err filled)
static zjob_msg_t *
s_handle (int *rc_p, zjob_error_t *err)
{
    zframe_t *frame = zjob_msg_end (s_request, err);
    cr_assert_not_null (frame);
    zjob_msg_t *request = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                           ZJOB_ROUTE_CLIENT_BROKER, err);
    cr_assert_not_null (request, "%s", err->text);
    *rc_p = zjob_clients_handle (s_clients, request, s_reply, zjob_mono_ms (), err);
    zjob_msg_destroy (&request);
    zframe_destroy (&frame);
    if (*rc_p < 0)
        return NULL;
    frame = zjob_msg_end (s_reply, err);
    cr_assert_not_null (frame, "%s", err->text);
    zjob_msg_t *reply = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                         ZJOB_ROUTE_BROKER_CLIENT, err);
    cr_assert_not_null (reply, "%s", err->text);
    zjob_msg_adopt (reply, &frame);
    return reply;
}

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

Test (clients, rates_count_whole_seconds, .init = s_setup, .fini = s_teardown)
{
    int64_t base = 1000000;             //  A monotonic ms, on a second boundary
    zjob_clients_count (s_clients, ZJOB_RATE_COMPLETED, base, 30);
    zjob_clients_count (s_clients, ZJOB_RATE_COMPLETED, base + 1500, 20);
    //  Within the second still counting, nothing is complete yet
    cr_assert_float_eq (zjob_clients_rate (s_clients, ZJOB_RATE_COMPLETED, base + 900), 0,
                        1e-9);
    //  Two seconds later both buckets are whole: 50 over the window
    cr_assert_float_eq (zjob_clients_rate (s_clients, ZJOB_RATE_COMPLETED, base + 2000),
                        50.0 / (ZJOB_RATE_WINDOW_MS / 1000), 1e-9);
    cr_assert_float_eq (zjob_clients_rate (s_clients, ZJOB_RATE_FAILED, base + 2000), 0, 1e-9);
    //  Past the window, forgotten
    cr_assert_float_eq (zjob_clients_rate (s_clients, ZJOB_RATE_COMPLETED,
                                           base + ZJOB_RATE_WINDOW_MS + 3000), 0, 1e-9);
}
