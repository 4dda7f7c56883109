/*  =========================================================================
    test_zjob_audit - the admin-action log (zjob_audit), through
    zjob_clients_handle as the broker calls it, without sockets

    The log is captured (zjob_log_set_stream on an open_memstream) and
    each test checks the line an operator would read: the action, who
    asked (the address, and with CURVE the key's name, role and user),
    and the outcome. Reads, SUBMITs and dry runs must leave no line, and
    a log level under info none at all.
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "helper_zjob_clients.h"
#include "zjob_audit.h"
#include "zjob_log.h"

#define S_ADDRESS "127.0.0.1:40404"
#define S_MADE_UP "06H4E76Q144DM4VV8R9F"  //  An id nobody made

//  Without CURVE, as the broker hands it over: the open peer and an address
static const zjob_peer_t s_open = { ZJOB_ROLE_ADMIN, "", NULL, NULL, NULL, false, S_ADDRESS };
static const zjob_peer_t s_ops = { ZJOB_ROLE_ADMIN, "ops", NULL, NULL, "ops-key", false, S_ADDRESS };
static const zjob_peer_t s_alice = { ZJOB_ROLE_CLIENT, "alice", "alice", NULL, "alice-key", false,
                                     "10.0.0.9:5000" };
static const zjob_peer_t s_http = { ZJOB_ROLE_ADMIN, "http", NULL, NULL, "http-key", true,
                                    "http 10.0.0.5:51234 #7" };

static char *s_log_text = NULL;
static size_t s_log_size = 0;
static FILE *s_log = NULL;

static void
s_init (void)
{
    s_setup ();
    s_log = open_memstream (&s_log_text, &s_log_size);
    cr_assert_not_null (s_log);
    zjob_log_set_stream (s_log);
    zjob_log_set_program ("zjobd");
}

static void
s_fini (void)
{
    zjob_log_set_stream (NULL);
    fclose (s_log);
    free (s_log_text);
    s_teardown ();
}

TestSuite (zjob_audit, .init = s_init, .fini = s_fini);

//  What was logged so far (borrowed until the next call)
static const char *
s_logged (void)
{
    fflush (s_log);
    return s_log_text ? s_log_text : "";
}

//  The number of "admin: " lines logged
static size_t
s_admin_lines (void)
{
    size_t count = 0;
    for (const char *at = s_logged (); (at = strstr (at, " admin: ")); at++)
        count++;
    return count;
}

//  Submit count jobs of workflow wf; the last one's id into id
static void
s_submit (size_t count, char *id)
{
    for (size_t index = 0; index < count; index++) {
        zjob_spec_t spec;
        memset (&spec, 0, sizeof (spec));
        spec.workflow_id = "wf";
        spec.priority = ZJOB_PRIORITY_UNSET;
        zjob_msg_begin (s_request, ZJOB_CMD_SUBMIT, 1);
        zjob_msg_add_specs (s_request, "jobs", &spec, 1);
        int rc;
        zjob_error_t err;
        zjob_msg_t *reply = s_handle (&rc, &err);
        cr_assert_eq (rc, 1, "%s", err.text);
        size_t ids = 0;
        snprintf (id, ZJOB_ID_LEN + 1, "%s", zjob_msg_strs (reply, "ids", &ids) [0]);
        zjob_msg_destroy (&reply);
    }
}

//  CANCEL of one job id as peer; the handler's rc
static int
s_cancel (const zjob_peer_t *peer, const char *id)
{
    zjob_msg_begin (s_request, ZJOB_CMD_CANCEL, 7);
    zjob_target_t target = { .id = id };
    zjob_msg_add_target (s_request, &target);
    int rc;
    zjob_error_t err;
    zjob_msg_t *reply = s_handle_as (peer, &rc, &err);
    zjob_msg_destroy (&reply);
    return rc;
}

//  QUEUE op on workflow wf as peer; the handler's rc
static int
s_queue (const zjob_peer_t *peer, const char *op)
{
    zjob_msg_begin (s_request, ZJOB_CMD_QUEUE, 8);
    zjob_msg_add_str (s_request, "op", op);
    zjob_msg_add_str (s_request, "workflow_id", "wf");
    int rc;
    zjob_error_t err;
    zjob_msg_t *reply = s_handle_as (peer, &rc, &err);
    zjob_msg_destroy (&reply);
    return rc;
}

//  Run the requests kept until one is answered; its rc
static int
s_step_done (void)
{
    for (int steps = 0; steps < 1000; steps++) {
        const uint8_t *rid;
        size_t rid_size;
        uint64_t request_id;
        zjob_error_t err;
        int rc = zjob_clients_step (s_clients, s_reply, &rid, &rid_size, &request_id, &err);
        if (rc) {
            if (rc > 0) {
                zjob_msg_t *reply = s_reply_decoded ();
                zjob_msg_destroy (&reply);
            }
            return rc;
        }
    }
    cr_assert_fail ("the request kept never finished");
    return -1;
}

Test (zjob_audit, cancel_by_id_without_key)
{
    char id [ZJOB_ID_LEN + 1];
    s_submit (1, id);
    cr_assert_eq (s_admin_lines (), 0, "a SUBMIT is no admin action: %s", s_logged ());
    cr_assert_eq (s_cancel (&s_open, id), 1);
    char expected [200];
    snprintf (expected, sizeof (expected),
              " info zjobd[%d]: admin: CANCEL job %s by " S_ADDRESS ": ok\n", (int) getpid (),
              id);
    cr_assert (strstr (s_logged (), expected), "expected '%s' in:\n%s", expected, s_logged ());
    cr_assert_eq (s_admin_lines (), 1);
}

Test (zjob_audit, cancel_by_id_with_key_and_unknown_id)
{
    char id [ZJOB_ID_LEN + 1];
    s_submit (1, id);
    cr_assert_eq (s_cancel (&s_ops, id), 1);
    char expected [200];
    snprintf (expected, sizeof (expected),
              "admin: CANCEL job %s by " S_ADDRESS " (key ops, role admin): ok\n", id);
    cr_assert (strstr (s_logged (), expected), "expected '%s' in:\n%s", expected, s_logged ());
    cr_assert_eq (s_cancel (&s_ops, S_MADE_UP), -1);
    cr_assert (strstr (s_logged (), "admin: CANCEL job " S_MADE_UP " by " S_ADDRESS " (key ops, role admin): 404 "),
               "%s", s_logged ());
}

Test (zjob_audit, delete_by_filter_started_then_finished)
{
    char id [ZJOB_ID_LEN + 1];
    s_submit (5, id);
    zjob_clients_set_bulk_step (2);  //  Three steps: pending across passes
    zjob_msg_begin (s_request, ZJOB_CMD_DELETE, 9);
    zjob_filter_t filter = { .workflow_id = "wf" };
    zjob_target_t target = { .filter = &filter };
    zjob_msg_add_target (s_request, &target);
    zjob_error_t err;
    cr_assert_eq (s_handle_raw (&s_ops, "client-1", &err), ZJOB_CLIENTS_PENDING);
    const char *what = "admin: DELETE jobs matching {\"workflow_id\":\"wf\"} by " S_ADDRESS
                       " (key ops, role admin)";
    char expected [300];
    snprintf (expected, sizeof (expected), "%s: started\n", what);
    cr_assert (strstr (s_logged (), expected), "expected '%s' in:\n%s", expected, s_logged ());
    cr_assert_eq (s_admin_lines (), 1);
    cr_assert_eq (s_step_done (), 1);
    snprintf (expected, sizeof (expected), "%s: ok, 5 done, 0 failed\n", what);
    cr_assert (strstr (s_logged (), expected), "expected '%s' in:\n%s", expected, s_logged ());
    cr_assert_eq (s_admin_lines (), 2);
    zjob_clients_set_bulk_step (0);
}

Test (zjob_audit, cancel_by_ids_counts)
{
    char first [ZJOB_ID_LEN + 1], second [ZJOB_ID_LEN + 1];
    s_submit (1, first);
    s_submit (1, second);
    const char *ids [] = { first, second, S_MADE_UP };
    zjob_msg_begin (s_request, ZJOB_CMD_CANCEL, 9);
    zjob_target_t target = { .ids = ids, .id_count = 3 };
    zjob_msg_add_target (s_request, &target);
    int rc;
    zjob_error_t err;
    zjob_msg_t *reply = s_handle_as (&s_open, &rc, &err);
    cr_assert_eq (rc, 1, "%s", err.text);
    zjob_msg_destroy (&reply);
    cr_assert (strstr (s_logged (), "admin: CANCEL 3 jobs by id by " S_ADDRESS ": ok, 2 done, 1 failed\n"),
               "%s", s_logged ());
}

Test (zjob_audit, queue_pause_and_cleanup)
{
    cr_assert_eq (s_queue (&s_http, "pause"), 1);
    cr_assert (strstr (s_logged (), "admin: QUEUE pause wf by http 10.0.0.5:51234 #7 "
                                    "(key http, role admin): ok\n"),
               "%s", s_logged ());
    cr_assert_eq (s_queue (&s_http, "list"), 0);
    cr_assert_eq (s_admin_lines (), 1, "a QUEUE list is a read: %s", s_logged ());
    zjob_msg_begin (s_request, ZJOB_CMD_CLEANUP, 10);
    zjob_error_t err;
    cr_assert_eq (s_handle_raw (&s_open, "client-2", &err), ZJOB_CLIENTS_PENDING);
    cr_assert (strstr (s_logged (), "admin: CLEANUP by " S_ADDRESS ": started\n"), "%s",
               s_logged ());
    cr_assert_eq (s_step_done (), 1);
    cr_assert (strstr (s_logged (), "admin: CLEANUP by " S_ADDRESS ": ok, 0 deleted\n"), "%s",
               s_logged ());
}

Test (zjob_audit, refused_op_names_key_role_and_user)
{
    cr_assert_eq (s_queue (&s_alice, "pause"), -1);
    cr_assert (strstr (s_logged (), "admin: QUEUE pause wf by 10.0.0.9:5000 "
                                    "(key alice, role client, user alice): 403 "),
               "%s", s_logged ());
    //  A refused read is no admin action
    zjob_msg_begin (s_request, ZJOB_CMD_STATS, 11);
    int rc;
    zjob_error_t err;
    zjob_msg_t *reply = s_handle_as (&s_alice, &rc, &err);
    cr_assert_eq (rc, -1);
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_admin_lines (), 1, "%s", s_logged ());
}

Test (zjob_audit, dry_run_and_reads_are_not_logged)
{
    char id [ZJOB_ID_LEN + 1];
    s_submit (1, id);
    cr_assert_eq (s_cancel (&s_open, id), 1);
    zjob_msg_begin (s_request, ZJOB_CMD_RETRY, 12);
    zjob_target_t target = { .id = id };
    zjob_msg_add_target (s_request, &target);
    zjob_msg_add_bool (s_request, "dry_run", true);
    int rc;
    zjob_error_t err;
    zjob_msg_t *reply = s_handle_as (&s_open, &rc, &err);
    cr_assert_eq (rc, 0, "%s", err.text);
    zjob_msg_destroy (&reply);
    zjob_msg_begin (s_request, ZJOB_CMD_GET, 13);
    zjob_msg_add_str (s_request, "id", id);
    reply = s_handle_as (&s_open, &rc, &err);
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_admin_lines (), 1, "only the CANCEL: %s", s_logged ());
}

Test (zjob_audit, below_info_nothing)
{
    zjob_clients_set_log_level (s_clients, ZJOB_LOG_WARNING);
    char id [ZJOB_ID_LEN + 1];
    s_submit (1, id);
    cr_assert_eq (s_cancel (&s_ops, id), 1);
    cr_assert_eq (s_queue (&s_ops, "pause"), 1);
    cr_assert_str_empty (s_logged ());
}

Test (zjob_audit, describe_keeps_one_line_and_bounds)
{
    //  A workflow name holding a newline (as the network may send it)
    zjob_msg_begin (s_request, ZJOB_CMD_QUEUE, 14);
    zjob_msg_add_str (s_request, "op", "pause");
    char name [2000];
    memset (name, 'x', sizeof (name) - 1);
    name [sizeof (name) - 1] = '\0';
    name [3] = '\n';
    zjob_msg_add_str (s_request, "workflow_id", name);
    zjob_error_t err;
    zframe_t *frame = zjob_msg_end (s_request, &err);
    cr_assert_not_null (frame);
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                       ZJOB_ROUTE_CLIENT_BROKER, &err);
    if (msg) {  //  The decoder may refuse such a name first; if not, we bound it
        char what [ZJOB_AUDIT_MAX];
        cr_assert (zjob_audit_describe (msg, &s_ops, what, sizeof (what)));
        cr_assert_null (strchr (what, '\n'));
        cr_assert_eq (strlen (what), sizeof (what) - 1);
        cr_assert_str_eq (what + sizeof (what) - 4, "...");
        zjob_msg_destroy (&msg);
    }
    zframe_destroy (&frame);
}

Test (zjob_audit, template_schedule_and_batch_changes)
{
    //  TEMPLATE set and delete; get and list are reads
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "wf";
    spec.priority = ZJOB_PRIORITY_UNSET;
    zjob_msg_begin (s_request, ZJOB_CMD_TEMPLATE, 20);
    zjob_msg_add_str (s_request, "op", "set");
    zjob_msg_add_str (s_request, "name", "thumb");
    zjob_msg_add_spec (s_request, "template", &spec);
    int rc;
    zjob_error_t err;
    zjob_msg_t *reply = s_handle_as (&s_ops, &rc, &err);
    cr_assert_geq (rc, 0, "%s", err.text);
    zjob_msg_destroy (&reply);
    cr_assert (strstr (s_logged (), "admin: TEMPLATE set thumb by " S_ADDRESS " (key ops, role admin): ok\n"),
               "%s", s_logged ());
    zjob_msg_begin (s_request, ZJOB_CMD_TEMPLATE, 21);
    zjob_msg_add_str (s_request, "op", "list");
    reply = s_handle_as (&s_ops, &rc, &err);
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_admin_lines (), 1, "%s", s_logged ());
    //  SCHEDULE add: this handler serves no schedules (none started), so
    //  the outcome is its error, logged all the same
    zjob_msg_begin (s_request, ZJOB_CMD_SCHEDULE, 22);
    zjob_msg_add_str (s_request, "op", "delete");
    zjob_msg_add_str (s_request, "name", "nightly");
    reply = s_handle_as (&s_ops, &rc, &err);
    zjob_msg_destroy (&reply);
    cr_assert_eq (rc, -1);
    char expected [300];
    snprintf (expected, sizeof (expected), "admin: SCHEDULE delete nightly by " S_ADDRESS " (key ops, role admin): %d ",
              err.code);
    cr_assert (strstr (s_logged (), expected), "expected '%s' in:\n%s", expected, s_logged ());
    //  BATCH close of a batch nobody made
    zjob_msg_begin (s_request, ZJOB_CMD_BATCH, 23);
    zjob_msg_add_str (s_request, "op", "close");
    zjob_msg_add_str (s_request, "id", "nightly-batch");
    reply = s_handle_as (&s_open, &rc, &err);
    zjob_msg_destroy (&reply);
    cr_assert_eq (rc, -1);
    cr_assert (strstr (s_logged (), "admin: BATCH close nightly-batch by " S_ADDRESS ": 404 "),
               "%s", s_logged ());
    cr_assert_eq (s_admin_lines (), 3, "%s", s_logged ());
}
