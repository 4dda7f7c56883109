/*  =========================================================================
    test_zjob_proto - the wire codec: round trips, bodies, sockets

    Every command on every route it may take is built with the builder and
    decoded back; every request's OK reply is checked against its table.
    Each body is then read field by field; the codec is driven over a real
    ROUTER and DEALER, and timed. Bad input is in test_zjob_proto_bad.c,
    the batched worker messages and the reply builders in
    test_zjob_proto_build.c; the helpers they share in test_zjob_proto.h.
    ========================================================================= */

#include "test_zjob_proto.h"


//  --------------------------------------------------------------------------
//  Commands

Test (proto, command_table)
{
    for (int cmd = 1; cmd < ZJOB_CMD_COUNT; cmd++) {
        const char *name = zjob_cmd_name ((zjob_cmd_t) cmd);
        cr_assert_neq (strcmp (name, "UNKNOWN"), 0, "command %d has no name", cmd);
        cr_assert_eq (zjob_cmd_parse (name), cmd, "%s does not parse back", name);
        bool somewhere = false;
        for (int route = 0; route < ZJOB_ROUTE_COUNT; route++) {
            somewhere |= zjob_cmd_allowed ((zjob_cmd_t) cmd, (zjob_route_t) route);
            if (zjob_cmd_is_request ((zjob_cmd_t) cmd, (zjob_route_t) route))
                cr_assert (zjob_cmd_allowed ((zjob_cmd_t) cmd, (zjob_route_t) route));
        }
        //  The workflow commands are named before their owners open
        //  their routes, with their schemas
        cr_assert (somewhere || cmd >= ZJOB_CMD_BATCH, "%s is allowed nowhere", name);
    }
    cr_assert_eq (zjob_cmd_parse ("submit"), ZJOB_CMD_UNKNOWN);
    cr_assert_eq (zjob_cmd_parse ("NOPE"), ZJOB_CMD_UNKNOWN);
    cr_assert_eq (zjob_cmd_parse (NULL), ZJOB_CMD_UNKNOWN);
    cr_assert_str_eq (zjob_cmd_name ((zjob_cmd_t) 999), "UNKNOWN");
    cr_assert (zjob_cmd_is_request (ZJOB_CMD_SUBMIT, ZJOB_ROUTE_CLIENT_BROKER));
    cr_assert (zjob_cmd_is_request (ZJOB_CMD_RESULT, ZJOB_ROUTE_WORKER_BROKER));
    cr_assert (zjob_cmd_is_request (ZJOB_CMD_CANCEL, ZJOB_ROUTE_BROKER_WORKER));
    cr_assert_not (zjob_cmd_is_request (ZJOB_CMD_PROGRESS, ZJOB_ROUTE_WORKER_BROKER));
    cr_assert_not (zjob_cmd_is_request (ZJOB_CMD_HEARTBEAT, ZJOB_ROUTE_BROKER_WORKER));
    cr_assert_not (zjob_cmd_allowed (ZJOB_CMD_READY, ZJOB_ROUTE_CLIENT_BROKER));
    cr_assert_not (zjob_cmd_allowed (ZJOB_CMD_SUBMIT, ZJOB_ROUTE_WORKER_BROKER));
    cr_assert_str_eq (zjob_route_name (ZJOB_ROUTE_WORKER_BROKER), "worker->broker");
}

//  Every command, on every route it may take, survives the codec; on the
//  routes it may not take it is a 400
Test (proto, every_command_round_trips)
{
    zjob_job_t *job = s_job_new ();
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    cr_assert_not_null (b);
    int checked = 0;
    for (int cmd = 1; cmd < ZJOB_CMD_COUNT; cmd++)
        for (int route = 0; route < ZJOB_ROUTE_COUNT; route++) {
            s_sample (b, (zjob_cmd_t) cmd, (zjob_route_t) route, job);
            zframe_t *frame = s_end (b);
            if (!zjob_cmd_allowed ((zjob_cmd_t) cmd, (zjob_route_t) route)) {
                s_expect_frame_error (&frame, (zjob_route_t) route, ZJOB_BAD_REQUEST,
                                      "not valid on the");
                continue;
            }
            zjob_msg_t *msg = s_decode (frame, (zjob_route_t) route);
            cr_assert_eq (zjob_msg_version (msg), ZJOB_PROTO_VERSION);
            cr_assert_eq (zjob_msg_command (msg), cmd);
            cr_assert_str_eq (zjob_msg_command_name (msg), zjob_cmd_name ((zjob_cmd_t) cmd));
            cr_assert_eq (zjob_msg_request_id (msg), RID);
            cr_assert_eq (zjob_msg_route (msg), route);
            cr_assert_eq (zjob_msg_body (msg)->type, MSGPACK_OBJECT_MAP);
            zjob_msg_destroy (&msg);
            cr_assert_null (msg);
            checked++;
        }
    cr_assert_geq (checked, ZJOB_CMD_COUNT);
    zjob_msg_builder_destroy (&b);
    zjob_msg_builder_destroy (&b);
    cr_assert_null (b);
    zjob_job_destroy (&job);
}

//  Every request's OK reply passes its reply table; an empty OK does not
//  when the reply has a required field
Test (proto, every_reply_round_trips)
{
    zjob_job_t *job = s_job_new ();
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_error_t err;
    for (int cmd = 1; cmd < ZJOB_CMD_COUNT; cmd++)
        for (int route = 0; route < ZJOB_ROUTE_COUNT; route++) {
            if (!zjob_cmd_is_request ((zjob_cmd_t) cmd, (zjob_route_t) route))
                continue;
            zjob_route_t back = s_reply_route ((zjob_route_t) route);
            s_sample_reply (b, (zjob_cmd_t) cmd, (zjob_route_t) route, job);
            zjob_msg_t *reply = s_decode (s_end (b), back);
            cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
            cr_assert_eq (zjob_msg_check_reply (reply, (zjob_cmd_t) cmd, &err), 0,
                          "OK to %s: %s", zjob_cmd_name ((zjob_cmd_t) cmd), err.text);
            zjob_msg_destroy (&reply);

            zjob_msg_begin (b, ZJOB_CMD_OK, RID);
            reply = s_decode (s_end (b), back);
            int rc = zjob_msg_check_reply (reply, (zjob_cmd_t) cmd, &err);
            if (route == ZJOB_ROUTE_CLIENT_BROKER
                && cmd != ZJOB_CMD_DELETE && cmd != ZJOB_CMD_START && cmd != ZJOB_CMD_PAUSE
                && cmd != ZJOB_CMD_RESUME && cmd != ZJOB_CMD_CANCEL && cmd != ZJOB_CMD_RETRY
                && cmd != ZJOB_CMD_RUN_NOW
                && cmd != ZJOB_CMD_BATCH
                && cmd != ZJOB_CMD_TEMPLATE
                && cmd != ZJOB_CMD_SCHEDULE) {  //  These OKs depend on the op
                cr_assert_eq (rc, -1, "empty OK to %s passed", zjob_cmd_name ((zjob_cmd_t) cmd));
                cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
                cr_assert (strstr (err.text, "missing"), "%s", err.text);
            }
            zjob_msg_destroy (&reply);
        }
    //  A reply to something that is not a request on that socket
    zjob_msg_begin (b, ZJOB_CMD_OK, RID);
    zjob_msg_t *reply = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_READY, &err), -1);
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_HEARTBEAT, &err), -1);
    zjob_msg_destroy (&reply);
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}


//  --------------------------------------------------------------------------
//  Bodies, field by field

Test (proto, submit_specs)
{
    zjob_job_t *job = s_job_new ();
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    s_sample (b, ZJOB_CMD_SUBMIT, ZJOB_ROUTE_CLIENT_BROKER, job);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    size_t count;
    const zjob_spec_t *specs = zjob_msg_specs (msg, &count);
    cr_assert_eq (count, 2);
    cr_assert_not (zjob_msg_auto_start (msg));
    const zjob_spec_t *full = &specs [0];
    cr_assert_str_eq (full->workflow_id, "resize");
    cr_assert_eq (full->inputs_size, s_inputs_size);
    cr_assert_eq (memcmp (full->inputs, s_inputs, s_inputs_size), 0);
    cr_assert_eq (full->priority, ZJOB_PRIORITY_CRITICAL);
    cr_assert_str_eq (full->user_id, "alice");
    cr_assert_eq (full->tag_count, 2);
    cr_assert_str_eq (full->tags [0], "batch-7");
    cr_assert_str_eq (full->tags [1], "urgent");
    cr_assert_eq (full->metadata_size, s_inputs_size);
    cr_assert_str_eq (full->idempotency_key, "order-1234");
    cr_assert_eq (full->max_attempts, 5);
    cr_assert_eq (full->run_at, 1750000000000);
    const zjob_spec_t *bare = &specs [1];
    cr_assert_str_eq (bare->workflow_id, "thumbnail");
    cr_assert_null (bare->inputs);
    cr_assert_eq (bare->priority, ZJOB_PRIORITY_LOW);
    cr_assert_null (bare->user_id);
    cr_assert_null (bare->tags);
    cr_assert_null (bare->idempotency_key);
    cr_assert_eq (bare->max_attempts, 0);
    cr_assert_eq (bare->run_at, 0);
    //  The specs are what zjob_job_new takes
    zjob_error_t err;
    zjob_job_t *created = zjob_job_new (full, &err);
    cr_assert_not_null (created, "%s", err.text);
    cr_assert_str_eq (created->idempotency_key, "order-1234");
    zjob_job_destroy (&created);
    cr_assert_null (zjob_msg_query (msg));
    cr_assert_null (zjob_msg_target (msg));
    zjob_msg_destroy (&msg);

    //  auto_start defaults to true
    zjob_spec_t one = { .workflow_id = "resize" };
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 7);
    zjob_msg_add_specs (b, "jobs", &one, 1);
    msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    cr_assert (zjob_msg_auto_start (msg));
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}

Test (proto, list_query)
{
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_query_t sent = s_query ();
    zjob_msg_begin (b, ZJOB_CMD_LIST, 1);
    zjob_msg_add_query (b, &sent);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    const zjob_query_t *query = zjob_msg_query (msg);
    cr_assert_not_null (query);
    cr_assert_eq (query->filter.status_mask, sent.filter.status_mask);
    cr_assert_str_eq (query->filter.workflow_id, "resize");
    cr_assert_str_eq (query->filter.user_id, "alice");
    cr_assert_eq (query->filter.tag_count, 1);
    cr_assert_str_eq (query->filter.tags [0], "urgent");
    cr_assert_eq (query->filter.created_after, sent.filter.created_after);
    cr_assert_eq (query->filter.created_before, sent.filter.created_before);
    cr_assert_eq (query->sort_by, ZJOB_SORT_PRIORITY);
    cr_assert (query->descending);
    cr_assert_eq (query->limit, 50);
    cr_assert_eq (query->offset, 100);
    zjob_error_t err;
    cr_assert_eq (zjob_filter_validate (&query->filter, &err), 0, "%s", err.text);
    zjob_msg_destroy (&msg);

    //  An empty LIST is the default query
    msg = s_decode (zjob_msg_empty_new (ZJOB_CMD_LIST, 2), ZJOB_ROUTE_CLIENT_BROKER);
    query = zjob_msg_query (msg);
    cr_assert_not_null (query);
    cr_assert_eq (query->filter.status_mask, 0);
    cr_assert_null (query->filter.workflow_id);
    cr_assert_eq (query->sort_by, ZJOB_SORT_CREATED);
    cr_assert_not (query->descending);
    cr_assert_eq (query->limit, 0);
    cr_assert_eq (query->offset, 0);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
}

Test (proto, targets)
{
    zjob_job_t *job = s_job_new ();
    zjob_msg_builder_t *b = zjob_msg_builder_new ();

    zjob_target_t one = { .id = job->id };
    zjob_msg_begin (b, ZJOB_CMD_CANCEL, 1);
    zjob_msg_add_target (b, &one);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    const zjob_target_t *target = zjob_msg_target (msg);
    cr_assert_not_null (target);
    cr_assert_str_eq (target->id, job->id);
    cr_assert_null (target->ids);
    cr_assert_null (target->filter);
    zjob_msg_destroy (&msg);

    const char *ids [] = { job->id, "00000000000000000000" };
    zjob_target_t some = { .ids = ids, .id_count = 2 };
    zjob_msg_begin (b, ZJOB_CMD_DELETE, 2);
    zjob_msg_add_target (b, &some);
    msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    target = zjob_msg_target (msg);
    cr_assert_null (target->id);
    cr_assert_eq (target->id_count, 2);
    cr_assert_str_eq (target->ids [0], job->id);
    cr_assert_str_eq (target->ids [1], "00000000000000000000");
    zjob_msg_destroy (&msg);

    zjob_filter_t filter = { .status_mask = 1u << ZJOB_QUEUED, .workflow_id = "resize" };
    zjob_target_t matching = { .filter = &filter };
    zjob_msg_begin (b, ZJOB_CMD_CANCEL, 3);
    zjob_msg_add_target (b, &matching);
    msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    target = zjob_msg_target (msg);
    cr_assert_not_null (target->filter);
    cr_assert_eq (target->filter->status_mask, 1u << ZJOB_QUEUED);
    cr_assert_str_eq (target->filter->workflow_id, "resize");
    zjob_msg_destroy (&msg);

    //  From the broker to a worker, PAUSE names one job
    zjob_msg_begin (b, ZJOB_CMD_PAUSE, 4);
    zjob_msg_add_str (b, "id", job->id);
    msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_WORKER);
    cr_assert_str_eq (zjob_msg_target (msg)->id, job->id);
    zjob_msg_destroy (&msg);

    //  None, two, or an empty filter: refused
    zjob_msg_begin (b, ZJOB_CMD_START, 5);
    zframe_t *frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "one of id, ids");
    zjob_msg_begin (b, ZJOB_CMD_START, 5);
    zjob_msg_add_str (b, "id", job->id);
    zjob_msg_add_strs (b, "ids", ids, 1);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "only one");
    zjob_filter_t empty = { 0 };
    zjob_msg_begin (b, ZJOB_CMD_DELETE, 5);
    zjob_msg_add_filter (b, "filter", &empty);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "every job");
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}

//  RETRY and RUN_NOW: lifecycle targets with their options; appended to
//  the command enum, so the values before them are unchanged (ABI)
Test (proto, retry_and_run_now)
{
    cr_assert_eq (ZJOB_CMD_EVENT, 25);
    cr_assert_eq (ZJOB_CMD_RETRY, 26);
    cr_assert_eq (ZJOB_CMD_RUN_NOW, 27);
    cr_assert_str_eq (zjob_cmd_name (ZJOB_CMD_RUN_NOW), "RUN_NOW");
    cr_assert (zjob_cmd_is_request (ZJOB_CMD_RETRY, ZJOB_ROUTE_CLIENT_BROKER));
    cr_assert_not (zjob_cmd_allowed (ZJOB_CMD_RETRY, ZJOB_ROUTE_WORKER_BROKER));
    cr_assert_not (zjob_cmd_allowed (ZJOB_CMD_RUN_NOW, ZJOB_ROUTE_BROKER_WORKER));
    zjob_job_t *job = s_job_new ();
    zjob_msg_builder_t *b = zjob_msg_builder_new ();

    //  One job, with both options
    zjob_target_t one = { .id = job->id };
    zjob_msg_begin (b, ZJOB_CMD_RETRY, 1);
    zjob_msg_add_target (b, &one);
    zjob_msg_add_bool (b, "reset_attempts", true);
    zjob_msg_add_bool (b, "dry_run", true);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    cr_assert_str_eq (zjob_msg_target (msg)->id, job->id);
    cr_assert (zjob_msg_bool (msg, "reset_attempts", false));
    cr_assert (zjob_msg_bool (msg, "dry_run", false));
    zjob_msg_destroy (&msg);

    //  A filter, no options: both false
    zjob_filter_t filter = { .status_mask = 1u << ZJOB_QUEUED };
    zjob_target_t matching = { .filter = &filter };
    zjob_msg_begin (b, ZJOB_CMD_RUN_NOW, 2);
    zjob_msg_add_target (b, &matching);
    msg = s_decode (s_end (b), ZJOB_ROUTE_CLIENT_BROKER);
    cr_assert_eq (zjob_msg_target (msg)->filter->status_mask, 1u << ZJOB_QUEUED);
    cr_assert_not (zjob_msg_bool (msg, "dry_run", false));
    zjob_msg_destroy (&msg);

    //  Both id and ids, neither, an empty filter, empty ids: 400
    const char *ids [] = { job->id };
    zjob_msg_begin (b, ZJOB_CMD_RETRY, 3);
    zjob_msg_add_str (b, "id", job->id);
    zjob_msg_add_strs (b, "ids", ids, 1);
    zframe_t *frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "only one");
    zjob_msg_begin (b, ZJOB_CMD_RUN_NOW, 3);
    zjob_msg_add_bool (b, "dry_run", true);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "one of id, ids");
    zjob_filter_t empty = { 0 };
    zjob_msg_begin (b, ZJOB_CMD_RETRY, 3);
    zjob_msg_add_filter (b, "filter", &empty);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "every job");
    zjob_msg_begin (b, ZJOB_CMD_RUN_NOW, 3);
    zjob_msg_add_strs (b, "ids", ids, 0);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "ids");

    //  Options of the wrong type
    zjob_msg_begin (b, ZJOB_CMD_RETRY, 4);
    zjob_msg_add_str (b, "id", job->id);
    zjob_msg_add_str (b, "dry_run", "yes");
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "RETRY: dry_run");
    zjob_msg_begin (b, ZJOB_CMD_RETRY, 4);
    zjob_msg_add_str (b, "id", job->id);
    zjob_msg_add_uint (b, "reset_attempts", 1);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "reset_attempts");
    zjob_msg_begin (b, ZJOB_CMD_RUN_NOW, 4);
    zjob_msg_add_uint (b, "id", 7);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_CLIENT_BROKER, ZJOB_BAD_REQUEST, "RUN_NOW: id");

    //  On a worker's socket, either way: not valid there
    zjob_msg_begin (b, ZJOB_CMD_RETRY, 5);
    zjob_msg_add_str (b, "id", job->id);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST, "not valid on the");
    zjob_msg_begin (b, ZJOB_CMD_RUN_NOW, 5);
    zjob_msg_add_str (b, "id", job->id);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_BROKER_WORKER, ZJOB_BAD_REQUEST, "not valid on the");

    //  The OK: a dry run's ids are ids
    zjob_error_t err;
    zjob_msg_begin (b, ZJOB_CMD_OK, 6);
    zjob_msg_add_uint (b, "done", 1);
    zjob_msg_add_strs (b, "ids", ids, 1);
    msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_RETRY, &err), 0, "%s", err.text);
    zjob_msg_destroy (&msg);
    zjob_msg_begin (b, ZJOB_CMD_OK, 6);
    zjob_msg_add_uint (b, "done", 1);
    zjob_msg_add_str (b, "ids", job->id);
    msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_RUN_NOW, &err), -1);
    cr_assert (strstr (err.text, "ids"), "%s", err.text);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}

Test (proto, jobs_in_replies)
{
    zjob_job_t *job = s_job_new ();
    zjob_error_t err;
    cr_assert_eq (zjob_job_set_progress (job, 0.5f, "half", &err), 0);
    zjob_msg_builder_t *b = zjob_msg_builder_new ();

    s_sample_reply (b, ZJOB_CMD_GET, ZJOB_ROUTE_CLIENT_BROKER, job);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    zjob_job_t *copy = zjob_msg_job (msg, "job", &err);
    cr_assert_not_null (copy, "%s", err.text);
    cr_assert_str_eq (copy->id, job->id);
    cr_assert_str_eq (copy->workflow_id, "resize");
    cr_assert_eq (copy->priority, ZJOB_PRIORITY_HIGH);
    cr_assert_eq (copy->inputs.size, s_inputs_size);
    cr_assert_eq (copy->tag_count, 2);
    cr_assert_str_eq (copy->progress_message, "half");
    zjob_job_destroy (&copy);
    cr_assert_null (zjob_msg_job (msg, "nothing", &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    zjob_msg_destroy (&msg);

    s_sample_reply (b, ZJOB_CMD_LIST, ZJOB_ROUTE_CLIENT_BROKER, job);
    msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_LIST, &err), 0, "%s", err.text);
    zjob_job_t **jobs;
    size_t count;
    cr_assert_eq (zjob_msg_jobs (msg, "jobs", &jobs, &count, &err), 0, "%s", err.text);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (jobs [1]->id, job->id);
    for (size_t i = 0; i < count; i++)
        zjob_job_destroy (&jobs [i]);
    free (jobs);
    cr_assert_eq (zjob_msg_uint (msg, "total", 0), 1002);
    cr_assert_eq (zjob_msg_jobs (msg, "total", &jobs, &count, &err), -1);
    cr_assert_null (jobs);
    zjob_msg_destroy (&msg);

    //  A JOB to a worker carries the whole job
    s_sample (b, ZJOB_CMD_JOB, ZJOB_ROUTE_BROKER_WORKER, job);
    msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_WORKER);
    copy = zjob_msg_job (msg, "job", &err);
    cr_assert_not_null (copy, "%s", err.text);
    cr_assert_eq (memcmp (copy->inputs.data, s_inputs, s_inputs_size), 0);
    zjob_job_destroy (&copy);
    zjob_msg_destroy (&msg);

    //  A corrupt job map in a reply: the job codec says what is wrong
    zjob_msg_begin (b, ZJOB_CMD_OK, 9);
    msgpack_packer *pk = zjob_msg_add_key (b, "job");
    msgpack_pack_map (pk, 1);
    msgpack_pack_str_with_body (pk, "id", 2);
    msgpack_pack_uint8 (pk, 1);
    msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_GET, &err), 0);
    cr_assert_null (zjob_msg_job (msg, "job", &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}

Test (proto, worker_messages)
{
    zjob_job_t *job = s_job_new ();
    zjob_msg_builder_t *b = zjob_msg_builder_new ();

    s_sample (b, ZJOB_CMD_READY, ZJOB_ROUTE_WORKER_BROKER, job);
    zjob_msg_t *msg = s_decode (s_end (b), ZJOB_ROUTE_WORKER_BROKER);
    cr_assert_str_eq (zjob_msg_str (msg, "worker_id"), "gpu-1.4711");
    cr_assert_str_eq (zjob_msg_str (msg, "name"), "gpu-1");
    size_t count;
    const char *const *workflows = zjob_msg_strs (msg, "workflows", &count);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (workflows [1], "thumbnail");
    cr_assert_eq (zjob_msg_uint (msg, "slots", 0), 8);
    const char *const *held = zjob_msg_strs (msg, "jobs", &count);
    cr_assert_eq (count, 1);
    cr_assert_str_eq (held [0], job->id);
    zjob_msg_destroy (&msg);

    s_sample (b, ZJOB_CMD_PROGRESS, ZJOB_ROUTE_WORKER_BROKER, job);
    msg = s_decode (s_end (b), ZJOB_ROUTE_WORKER_BROKER);
    cr_assert_float_eq (zjob_msg_float (msg, "progress", -1), 0.25, 1e-9);
    cr_assert_str_eq (zjob_msg_str (msg, "message"), "resizing");
    zjob_msg_destroy (&msg);

    s_sample (b, ZJOB_CMD_RESULT, ZJOB_ROUTE_WORKER_BROKER, job);
    msg = s_decode (s_end (b), ZJOB_ROUTE_WORKER_BROKER);
    cr_assert_str_eq (zjob_msg_str (msg, "status"), "completed");
    size_t size;
    const uint8_t *outputs = zjob_msg_bin (msg, "outputs", &size);
    cr_assert_eq (size, s_inputs_size);
    cr_assert_eq (memcmp (outputs, s_inputs, size), 0);
    cr_assert_eq (zjob_msg_uint (msg, "credit", 9), 1);
    zjob_msg_destroy (&msg);

    zjob_msg_begin (b, ZJOB_CMD_RESULT, 3);
    zjob_msg_add_str (b, "id", job->id);
    zjob_msg_add_str (b, "status", "failed");
    zjob_msg_add_str (b, "error_kind", "timeout");
    zjob_msg_add_str (b, "error_message", "took more than 30 s");
    msg = s_decode (s_end (b), ZJOB_ROUTE_WORKER_BROKER);
    cr_assert_str_eq (zjob_msg_str (msg, "error_kind"), "timeout");
    cr_assert_eq (zjob_msg_uint (msg, "credit", 1), 1, "credit defaults to 1");
    zjob_msg_destroy (&msg);

    //  A result is completed or failed, nothing else
    zjob_msg_begin (b, ZJOB_CMD_RESULT, 3);
    zjob_msg_add_str (b, "id", job->id);
    zjob_msg_add_str (b, "status", "running");
    zframe_t *frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST, "status");

    //  Progress outside 0..1
    zjob_msg_begin (b, ZJOB_CMD_PROGRESS, 0);
    zjob_msg_add_str (b, "id", job->id);
    zjob_msg_add_float (b, "progress", 1.5);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST, "progress");

    //  Slots over the limit, none at all
    zjob_msg_begin (b, ZJOB_CMD_READY, 1);
    zjob_msg_add_str (b, "worker_id", "w1");
    const char *wf [] = { "resize" };
    zjob_msg_add_strs (b, "workflows", wf, 1);
    zjob_msg_add_uint (b, "slots", ZJOB_SLOTS_MAX + 1);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST, "slots");
    zjob_msg_begin (b, ZJOB_CMD_READY, 1);
    zjob_msg_add_str (b, "worker_id", "w1");
    zjob_msg_add_strs (b, "workflows", wf, 0);
    zjob_msg_add_uint (b, "slots", 1);
    frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_WORKER_BROKER, ZJOB_BAD_REQUEST, "workflows");

    //  Heartbeats, reconnect, disconnect
    msg = s_decode (zjob_msg_empty_new (ZJOB_CMD_HEARTBEAT, 0), ZJOB_ROUTE_BROKER_WORKER);
    cr_assert_eq (zjob_msg_command (msg), ZJOB_CMD_HEARTBEAT);
    zjob_msg_destroy (&msg);
    s_sample (b, ZJOB_CMD_RECONNECT, ZJOB_ROUTE_BROKER_WORKER, job);
    msg = s_decode (s_end (b), ZJOB_ROUTE_BROKER_WORKER);
    cr_assert_str_eq (zjob_msg_str (msg, "reason"), "shutting down");
    zjob_msg_destroy (&msg);
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}

Test (proto, events)
{
    zjob_job_t *job = s_job_new ();
    zjob_error_t err;
    cr_assert_eq (zjob_job_set_progress (job, 0.75f, "almost", &err), 0);
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_msg_begin (b, ZJOB_CMD_EVENT, 1001);
    zjob_msg_add_job_event (b, "progress", job, -1);
    size_t size;
    const uint8_t *data = zjob_msg_end_data (b, &size, &err);
    cr_assert_not_null (data, "%s", err.text);
    zjob_msg_t *msg = zjob_msg_decode (data, size, ZJOB_ROUTE_EVENTS, &err);
    cr_assert_not_null (msg, "%s", err.text);
    cr_assert_eq (zjob_msg_request_id (msg), 1001, "the id of an event is its sequence number");
    cr_assert_str_eq (zjob_msg_str (msg, "type"), "progress");
    cr_assert_str_eq (zjob_msg_str (msg, "id"), job->id);
    cr_assert_str_eq (zjob_msg_str (msg, "workflow_id"), "resize");
    cr_assert_str_eq (zjob_msg_str (msg, "status"), "created");
    cr_assert_not (zjob_msg_has (msg, "old_status"));
    cr_assert_float_eq (zjob_msg_float (msg, "progress", 0), 0.75, 1e-6);
    cr_assert_str_eq (zjob_msg_str (msg, "progress_message"), "almost");
    cr_assert_gt (zjob_msg_uint (msg, "time", 0), 1600000000000ull);
    zjob_msg_destroy (&msg);

    //  Topics, and the prefixes that select them
    char topics [ZJOB_EVENT_TOPICS][ZJOB_TOPIC_MAX];
    cr_assert_eq (zjob_event_topics ("completed", "resize", job->id, topics), 3);
    char expect [ZJOB_TOPIC_MAX];
    snprintf (expect, sizeof (expect), "ev/completed/resize/%s", job->id);
    cr_assert_str_eq (topics [0], expect);
    snprintf (expect, sizeof (expect), "wf/resize/completed/%s", job->id);
    cr_assert_str_eq (topics [1], expect);
    snprintf (expect, sizeof (expect), "job/%s/completed", job->id);
    cr_assert_str_eq (topics [2], expect);

    struct {
        const char *type, *workflow, *id;
        int matches;  //  Bit per topic the prefix selects
    } cases [] = {
        { NULL, NULL, NULL, 1 },
        { "completed", NULL, NULL, 1 },
        { "failed", NULL, NULL, 0 },
        { NULL, "resize", NULL, 2 },
        { "completed", "resize", NULL, 2 },
        { "queued", "resize", NULL, 0 },
        { NULL, "resiz", NULL, 0 },
        { NULL, "resize2", NULL, 0 },
        { NULL, NULL, job->id, 4 },
        { "completed", NULL, job->id, 4 },
        { "progress", NULL, job->id, 0 },
    };
    for (size_t c = 0; c < sizeof (cases) / sizeof (cases [0]); c++) {
        char prefix [ZJOB_TOPIC_MAX];
        cr_assert_eq (zjob_event_prefix (prefix, sizeof (prefix), cases [c].type,
                                         cases [c].workflow, cases [c].id),
                      0);
        int matches = 0;
        for (int t = 0; t < 3; t++)
            if (strncmp (topics [t], prefix, strlen (prefix)) == 0)
                matches |= 1 << t;
        cr_assert_eq (matches, cases [c].matches, "prefix \"%s\" selects %d", prefix, matches);
    }
    //  Worker events: one topic
    cr_assert_eq (zjob_event_topics ("worker_joined", NULL, "gpu-1.4711", topics), 1);
    cr_assert_str_eq (topics [0], "ev/worker_joined/gpu-1.4711");
    char small [8];
    cr_assert_eq (zjob_event_prefix (small, sizeof (small), NULL, "resize", NULL), -1);
    char long_name [ZJOB_TOPIC_MAX + 10];
    memset (long_name, 'x', sizeof (long_name) - 1);
    long_name [sizeof (long_name) - 1] = 0;
    cr_assert_eq (zjob_event_topics ("queued", long_name, job->id, topics), 0);
    zjob_msg_builder_destroy (&b);
    zjob_job_destroy (&job);
}

Test (proto, error_replies)
{
    zjob_error_t err, copy;
    zjob_error_set (&err, ZJOB_NOT_FOUND, "no job 0123");
    zjob_msg_t *msg = s_decode (zjob_msg_error_new (77, &err), ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_command (msg), ZJOB_CMD_ERROR);
    cr_assert_eq (zjob_msg_request_id (msg), 77);
    cr_assert_eq (zjob_msg_error (msg, &copy), ZJOB_NOT_FOUND);
    cr_assert_eq (copy.code, ZJOB_NOT_FOUND);
    cr_assert_str_eq (copy.text, "no job 0123");
    cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_GET, &copy), 0);
    zjob_msg_destroy (&msg);
    //  Not an ERROR: no error
    msg = s_decode (zjob_msg_empty_new (ZJOB_CMD_OK, 1), ZJOB_ROUTE_BROKER_CLIENT);
    cr_assert_eq (zjob_msg_error (msg, &copy), ZJOB_OK);
    cr_assert_str_eq (copy.text, "");
    zjob_msg_destroy (&msg);
    //  An ERROR without a code is malformed
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_msg_begin (b, ZJOB_CMD_ERROR, 1);
    zjob_msg_add_str (b, "message", "oops");
    zframe_t *frame = s_end (b);
    s_expect_frame_error (&frame, ZJOB_ROUTE_BROKER_CLIENT, ZJOB_BAD_REQUEST, "code");
    zjob_msg_builder_destroy (&b);
}


//  --------------------------------------------------------------------------
//  Sockets and speed

//  One frame after the ROUTER identity, no delimiter; replies find the
//  DEALER by identity and carry the request id back
Test (proto, over_router_dealer)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    cr_assert (router && dealer);
    zjob_proto_socket_setup (router);
    zjob_proto_socket_setup (dealer);
    cr_assert_eq (zsock_maxmsgsize (router), ZJOB_MSG_MAX);
    cr_assert_eq (zsock_sndhwm (dealer), ZJOB_HWM);
    zsock_set_rcvtimeo (router, 5000);
    zsock_set_rcvtimeo (dealer, 5000);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    cr_assert_gt (port, 0);
    cr_assert_eq (zsock_connect (dealer, "tcp://127.0.0.1:%d", port), 0);

    //  Three pipelined requests
    for (uint64_t rid = 1; rid <= 3; rid++) {
        zframe_t *frame = zjob_msg_empty_new (ZJOB_CMD_PING, rid);
        cr_assert_eq (zframe_send (&frame, dealer, 0), 0);
    }
    for (uint64_t rid = 1; rid <= 3; rid++) {
        zmsg_t *request = zmsg_recv (router);
        cr_assert_not_null (request, "no request");
        cr_assert_eq (zmsg_size (request), 2, "identity and one frame");
        zframe_t *identity = zmsg_pop (request);
        zframe_t *body = zmsg_pop (request);
        zjob_msg_t *msg = s_decode (body, ZJOB_ROUTE_CLIENT_BROKER);
        cr_assert_eq (zjob_msg_command (msg), ZJOB_CMD_PING);
        cr_assert_eq (zjob_msg_request_id (msg), rid);
        zjob_msg_builder_t *b = zjob_msg_builder_new ();
        zjob_msg_begin (b, ZJOB_CMD_OK, zjob_msg_request_id (msg));
        zjob_msg_add_uint (b, "version", ZJOB_PROTO_VERSION);
        zjob_msg_add_uint (b, "time", (uint64_t) zjob_clock_ms ());
        zmsg_t *reply = zmsg_new ();
        zmsg_append (reply, &identity);
        zframe_t *frame = s_end (b);
        zmsg_append (reply, &frame);
        cr_assert_eq (zmsg_send (&reply, router), 0);
        zjob_msg_builder_destroy (&b);
        zjob_msg_destroy (&msg);
        zmsg_destroy (&request);
    }
    for (uint64_t rid = 1; rid <= 3; rid++) {
        zframe_t *frame = zframe_recv (dealer);
        cr_assert_not_null (frame, "no reply");
        cr_assert_not (zframe_more (frame));
        zjob_msg_t *msg = s_decode (frame, ZJOB_ROUTE_BROKER_CLIENT);
        cr_assert_eq (zjob_msg_request_id (msg), rid);
        zjob_error_t err;
        cr_assert_eq (zjob_msg_check_reply (msg, ZJOB_CMD_PING, &err), 0, "%s", err.text);
        zjob_msg_destroy (&msg);
    }
    zsock_destroy (&dealer);
    zsock_destroy (&router);
}

//  Decoding a small SUBMIT is cheap: the hot path of a 200k jobs/s bench
Test (proto, decode_speed)
{
    s_make_inputs ();
    uint8_t inputs [100];
    memset (inputs, 0, sizeof (inputs));
    inputs [0] = 0x81;  //  {"x": bin of 94 bytes}
    inputs [1] = 0xa1;
    inputs [2] = 'x';
    inputs [3] = 0xc4;
    inputs [4] = 95;
    zjob_spec_t spec = { .workflow_id = "resize", .inputs = inputs, .inputs_size = sizeof (inputs), .idempotency_key = "k-1" };
    zjob_msg_builder_t *b = zjob_msg_builder_new ();
    zjob_msg_begin (b, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (b, "jobs", &spec, 1);
    size_t size;
    zjob_error_t err;
    const uint8_t *data = zjob_msg_end_data (b, &size, &err);
    cr_assert_not_null (data);
    int rounds = 100000;
    int64_t start = zjob_mono_ms ();
    for (int i = 0; i < rounds; i++) {
        zjob_msg_t *msg = zjob_msg_decode (data, size, ZJOB_ROUTE_CLIENT_BROKER, &err);
        cr_assert_not_null (msg);
        size_t count;
        cr_assert_eq (zjob_msg_specs (msg, &count)->inputs_size, sizeof (inputs));
        zjob_msg_destroy (&msg);
    }
    int64_t decode_ms = zjob_mono_ms () - start;
    start = zjob_mono_ms ();
    for (int i = 0; i < rounds; i++) {
        zjob_msg_begin (b, ZJOB_CMD_SUBMIT, (uint64_t) i);
        zjob_msg_add_specs (b, "jobs", &spec, 1);
        cr_assert_not_null (zjob_msg_end_data (b, &size, &err));
    }
    int64_t encode_ms = zjob_mono_ms () - start;
    fprintf (stderr, "proto: %zu-byte SUBMIT: %d decodes in %" PRId64 " ms, %d encodes in %" PRId64 " ms\n", size, rounds, decode_ms, rounds, encode_ms);
    //  A loose bound (1M/s is typical) so a loaded or sanitized run passes
    cr_assert_lt (decode_ms, 10000);
    zjob_msg_builder_destroy (&b);
}


//  --------------------------------------------------------------------------
//  Receiving one frame

Test (proto, recv_frame_takes_one_frame_and_drops_more)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    cr_assert_not_null (router);
    cr_assert_eq (zsock_bind (router, "inproc://test-recv-frame"), 0);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    cr_assert_eq (zsock_connect (dealer, "inproc://test-recv-frame"), 0);
    zmq_msg_t frame;
    cr_assert_eq (zjob_proto_recv_frame (dealer, &frame), 0, "nothing waiting");

    //  Learn the dealer's routing id, then send it two messages
    zstr_send (dealer, "hello");
    zmsg_t *hello = zmsg_recv (router);
    cr_assert_not_null (hello);
    zframe_t *routing = zmsg_pop (hello);
    zmsg_destroy (&hello);
    zframe_send (&routing, router, ZFRAME_MORE + ZFRAME_REUSE);
    zstr_sendm (router, "one");
    zstr_send (router, "two");  //  A message of two frames
    zframe_send (&routing, router, ZFRAME_MORE);
    zstr_send (router, "single");

    zpoller_t *poller = zpoller_new (dealer, NULL);
    int got = 0;
    while ((got = zjob_proto_recv_frame (dealer, &frame)) == 0)
        cr_assert_not_null (zpoller_wait (poller, 5000), "no message within 5 s");
    cr_assert_eq (got, -1, "a message of several frames is dropped whole");
    while ((got = zjob_proto_recv_frame (dealer, &frame)) == 0)
        cr_assert_not_null (zpoller_wait (poller, 5000), "no message within 5 s");
    zpoller_destroy (&poller);
    cr_assert_eq (got, 1);
    cr_assert_eq (zmq_msg_size (&frame), 6);
    cr_assert (memcmp (zmq_msg_data (&frame), "single", 6) == 0);
    zmq_msg_close (&frame);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
}

//  The waiting receive: nothing comes within its timeout (and it waited),
//  a message sent meanwhile is taken, several frames are dropped whole,
//  and the socket's ZMQ_RCVTIMEO is put back to -1
Test (proto, recv_frame_wait_waits_takes_and_restores)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    cr_assert_not_null (router);
    cr_assert_eq (zsock_bind (router, "inproc://test-recv-wait"), 0);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    cr_assert_eq (zsock_connect (dealer, "inproc://test-recv-wait"), 0);
    zmq_msg_t frame;
    int64_t start = zjob_mono_ms ();
    cr_assert_eq (zjob_proto_recv_frame_wait (dealer, &frame, 100), 0, "nothing came");
    cr_assert_geq (zjob_mono_ms () - start, 90, "it waited its timeout");
    cr_assert_eq (zsock_rcvtimeo (dealer), -1, "RCVTIMEO put back");

    zstr_send (dealer, "hello");
    zmsg_t *hello = zmsg_recv (router);
    cr_assert_not_null (hello);
    zframe_t *routing = zmsg_pop (hello);
    zmsg_destroy (&hello);
    zframe_send (&routing, router, ZFRAME_MORE + ZFRAME_REUSE);
    zstr_sendm (router, "one");
    zstr_send (router, "two");
    zframe_send (&routing, router, ZFRAME_MORE);
    zstr_send (router, "single");
    cr_assert_eq (zjob_proto_recv_frame_wait (dealer, &frame, 5000), -1, "two frames: dropped");
    cr_assert_eq (zjob_proto_recv_frame_wait (dealer, &frame, 5000), 1);
    cr_assert_eq (zmq_msg_size (&frame), 6);
    cr_assert (memcmp (zmq_msg_data (&frame), "single", 6) == 0);
    zmq_msg_close (&frame);
    cr_assert_eq (zsock_rcvtimeo (dealer), -1, "RCVTIMEO put back");
    //  A wait of 0 does not wait
    start = zjob_mono_ms ();
    cr_assert_eq (zjob_proto_recv_frame_wait (dealer, &frame, 0), 0);
    cr_assert_lt (zjob_mono_ms () - start, 50);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
}
