/*  =========================================================================
    test_zjob_workers - the broker's answers to worker messages, without
    sockets

    Messages are built and decoded with the proto codec and handled over a
    manager on the memory store and a registry; the reply the handler
    builds is decoded as a worker would read it.
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include "zjob_workers.h"
#include "zjob_config.h"
#include "zjob_proto.h"

static zjob_manager_t *s_manager = NULL;
static zjob_registry_t *s_registry = NULL;
static zjob_workers_t *s_workers = NULL;
static zjob_msg_builder_t *s_request = NULL;
static zjob_msg_builder_t *s_reply = NULL;
static int s_dispatches = 0;  //  Times credit came back

static void
s_dispatch (bool now, void *arg)
{
    (void) now;
    (void) arg;
    s_dispatches++;
}

static void
s_setup (void)
{
    zjob_error_t err;
    s_manager = zjob_manager_open ("memory:", NULL, &err);
    s_registry = zjob_registry_new (1000, 3);
    zjob_workers_config_t config = { 1000, 3, 1 << 20, ZJOB_LOG_ERROR, 1000 };
    s_workers = zjob_workers_new (s_manager, s_registry, NULL, &config);
    s_request = zjob_msg_builder_new ();
    s_reply = zjob_msg_builder_new ();
    cr_assert (s_manager && s_registry && s_workers && s_request && s_reply);
    zjob_workers_set_dispatch (s_workers, s_dispatch, NULL);
    s_dispatches = 0;
}

static void
s_teardown (void)
{
    zjob_workers_destroy (&s_workers);
    zjob_registry_destroy (&s_registry);
    zjob_manager_destroy (&s_manager);
    zjob_msg_builder_destroy (&s_request);
    zjob_msg_builder_destroy (&s_reply);
}

//  Handle the message in s_request from rid; *reply_p gets the decoded
//  reply, if there is one
static int
s_handle (const char *rid, zjob_msg_t **reply_p, zjob_error_t *err)
{
    zframe_t *frame = zjob_msg_end (s_request, err);
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                       ZJOB_ROUTE_WORKER_BROKER, err);
    cr_assert_not_null (msg, "%s", err->text);
    int rc = zjob_workers_handle (s_workers, msg, NULL, (const uint8_t *) rid, strlen (rid), -1,
                                  s_reply, zjob_mono_ms (), err);
    zjob_msg_destroy (&msg);
    zframe_destroy (&frame);
    *reply_p = NULL;
    if (rc == 0 || rc == 1) {
        frame = zjob_msg_end (s_reply, err);
        *reply_p = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                    ZJOB_ROUTE_BROKER_WORKER, err);
        cr_assert_not_null (*reply_p, "%s", err->text);
        zjob_msg_adopt (*reply_p, &frame);
    }
    return rc;
}

static void
s_ready (const char *rid, const char *worker_id, size_t slots)
{
    const char *workflows [] = { "wf" };
    zjob_msg_begin (s_request, ZJOB_CMD_READY, 1);
    zjob_msg_add_str (s_request, "worker_id", worker_id);
    zjob_msg_add_strs (s_request, "workflows", workflows, 1);
    zjob_msg_add_uint (s_request, "slots", slots);
    zjob_msg_t *reply;
    zjob_error_t err;
    cr_assert_eq (s_handle (rid, &reply, &err), 0);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    cr_assert_eq (zjob_msg_uint (reply, "credit", 0), slots);
    cr_assert_eq (zjob_msg_uint (reply, "heartbeat_ms", 0), 1000);
    zjob_msg_destroy (&reply);
}

Test (workers, ready_registers_unknown_gets_reconnect, .init = s_setup, .fini = s_teardown)
{
    zjob_msg_begin (s_request, ZJOB_CMD_HEARTBEAT, 0);
    zjob_msg_t *reply;
    zjob_error_t err;
    cr_assert_eq (s_handle ("rid-a", &reply, &err), 0);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_RECONNECT);
    zjob_msg_destroy (&reply);

    s_ready ("rid-a", "a", 2);
    cr_assert_eq (zjob_registry_size (s_registry), 1);
    zjob_msg_begin (s_request, ZJOB_CMD_HEARTBEAT, 0);
    cr_assert_eq (s_handle ("rid-a", &reply, &err), ZJOB_WORKERS_NO_REPLY);
    //  Goodbye: removed
    zjob_msg_begin (s_request, ZJOB_CMD_DISCONNECT, 0);
    cr_assert_eq (s_handle ("rid-a", &reply, &err), ZJOB_WORKERS_NO_REPLY);
    cr_assert_eq (zjob_registry_size (s_registry), 0);
}

Test (workers, result_from_the_holder, .init = s_setup, .fini = s_teardown)
{
    s_ready ("rid-a", "a", 1);
    zjob_registry_worker_t *worker = zjob_registry_lookup (s_registry,
                                                           (const uint8_t *) "rid-a", 5);
    zjob_registry_admit (s_registry);
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "wf";
    zjob_error_t err;
    zjob_job_t *job = zjob_manager_create (s_manager, &spec, true, &err);
    zjob_job_destroy (&job);
    job = zjob_manager_take (s_manager, NULL, 0, "a");
    cr_assert_not_null (job);
    zjob_registry_hold (s_registry, worker, job->id);
    worker->credit--;
    zjob_registry_ring_remove (s_registry, worker);

    //  Progress on a job it does not hold: a CANCEL back
    zjob_msg_begin (s_request, ZJOB_CMD_PROGRESS, 0);
    zjob_msg_add_str (s_request, "id", "06H4E76Q144DM4VV8R9F");
    zjob_msg_add_float (s_request, "progress", 0.5);
    zjob_msg_t *reply;
    cr_assert_eq (s_handle ("rid-a", &reply, &err), 0);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_CANCEL);
    zjob_msg_destroy (&reply);

    zjob_msg_begin (s_request, ZJOB_CMD_RESULT, 7);
    zjob_msg_add_str (s_request, "id", job->id);
    zjob_msg_add_str (s_request, "status", "completed");
    cr_assert_eq (s_handle ("rid-a", &reply, &err), 1, "%s", err.text);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    cr_assert_str_eq (zjob_msg_str (reply, "id"), job->id);
    zjob_msg_destroy (&reply);
    cr_assert_eq (zjob_manager_status (s_manager, job->id, NULL), ZJOB_COMPLETED);
    cr_assert_eq (worker->holding, 0);
    cr_assert_eq (worker->credit, 1, "the slot came back");
    cr_assert_geq (s_dispatches, 1);
    //  The same result again: acknowledged, nothing changed, but its OK
    //  still confirms state (held for the sync like any other)
    zjob_msg_begin (s_request, ZJOB_CMD_RESULT, 8);
    zjob_msg_add_str (s_request, "id", job->id);
    zjob_msg_add_str (s_request, "status", "completed");
    cr_assert_eq (s_handle ("rid-a", &reply, &err), 1);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    zjob_job_destroy (&job);
}
