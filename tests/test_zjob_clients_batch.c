/*  =========================================================================
    test_zjob_clients_batch - SUBMIT's batch map and BATCH, as the broker
    answers them, without sockets: requests built and decoded with the
    codec, handled over a manager on the memory store, the OK decoded as
    a client reads it; and the errors (400 naming the key, 404, 409)
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include "helper_zjob_clients.h"
#include "zjob_batches.h"
#include "zjob_proto.h"
#include "zjob_proto_batch.h"

//  SUBMIT count jobs of workflow w into opts's batch; the reply's rc
static int
s_submit (size_t count, const zjob_batch_opts_t *opts, zjob_error_t *err)
{
    zjob_spec_t specs [4];
    memset (specs, 0, sizeof (specs));
    for (size_t index = 0; index < count; index++) {
        specs [index].workflow_id = "w";
        specs [index].priority = ZJOB_PRIORITY_UNSET;
    }
    zjob_msg_begin (s_request, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (s_request, "jobs", specs, count);
    if (opts)
        zjob_msg_add_batch_opts (s_request, "batch", opts);
    int rc;
    zjob_msg_t *reply = s_handle (&rc, err);
    zjob_msg_destroy (&reply);
    return rc;
}

//  BATCH op on id (NULL: none); the decoded OK or NULL
static zjob_msg_t *
s_batch (const char *op, const char *id, int *rc_p, zjob_error_t *err)
{
    zjob_msg_begin (s_request, ZJOB_CMD_BATCH, 2);
    zjob_msg_add_str (s_request, "op", op);
    if (id)
        zjob_msg_add_str (s_request, "id", id);
    return s_handle (rc_p, err);
}

Test (clients_batch, submit_show_close_list_cancel, .init = s_setup, .fini = s_teardown)
{
    zjob_error_t err;
    zjob_spec_t callback = { .workflow_id = "after", .priority = ZJOB_PRIORITY_UNSET };
    zjob_batch_opts_t opts = { .id = "b1", .open = true, .callback = &callback };
    cr_assert_eq (s_submit (3, &opts, &err), 1, "%s", err.text);
    int rc;
    zjob_msg_t *reply = s_batch ("show", "b1", &rc, &err);
    cr_assert_not_null (reply, "%s", err.text);
    cr_assert_eq (rc, 0, "show is a read");
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_BATCH, &err), 0, "%s", err.text);
    zjob_batch_info_t info;
    cr_assert_eq (zjob_msg_batch (reply, "batch", &info), 0);
    cr_assert_str_eq (info.id, "b1");
    cr_assert_str_eq (info.state, "open");
    cr_assert_eq (info.total, 3);
    cr_assert_eq (info.pending, 3);
    cr_assert_str_eq (info.callback_workflow, "after");
    zjob_msg_destroy (&reply);

    reply = s_batch ("close", "b1", &rc, &err);
    cr_assert_not_null (reply, "%s", err.text);
    cr_assert_eq (rc, 1, "close confirms state");
    cr_assert_eq (zjob_msg_batch (reply, "batch", &info), 0);
    cr_assert_str_eq (info.state, "running");
    zjob_msg_destroy (&reply);
    //  Closed: a SUBMIT to it is a 409
    opts.callback = NULL;
    cr_assert_eq (s_submit (1, &opts, &err), -1);
    cr_assert_eq (err.code, ZJOB_CONFLICT);

    opts = (zjob_batch_opts_t){ .id = "a0" };
    cr_assert_eq (s_submit (1, &opts, &err), 1, "%s", err.text);
    zjob_msg_begin (s_request, ZJOB_CMD_BATCH, 3);
    zjob_msg_add_str (s_request, "op", "list");
    zjob_msg_add_uint (s_request, "limit", 1);
    reply = s_handle (&rc, &err);
    cr_assert_not_null (reply, "%s", err.text);
    zjob_batch_info_t *infos = NULL;
    size_t count = 0;
    cr_assert_eq (zjob_msg_batches (reply, "batches", &infos, &count, &err), 0, "%s", err.text);
    cr_assert_eq (count, 1);
    cr_assert_str_eq (infos [0].id, "a0");
    cr_assert_eq (zjob_msg_uint (reply, "total", 0), 2);
    free (infos);
    zjob_msg_destroy (&reply);

    //  cancel: every member, as a CANCEL by filter; the batch ends failed
    reply = s_batch ("cancel", "b1", &rc, &err);
    cr_assert_not_null (reply, "%s", err.text);
    cr_assert_eq (rc, 1);
    cr_assert_eq (zjob_msg_uint (reply, "done", 0), 3);
    cr_assert_eq (zjob_msg_uint (reply, "failed", 9), 0);
    zjob_msg_destroy (&reply);
    cr_assert_eq (zjob_batches_info (zjob_manager_batches (s_manager), "b1", &info, &err), 0);
    cr_assert_str_eq (info.state, "failed");
    cr_assert_eq (info.cancelled, 3);
}

Test (clients_batch, errors, .init = s_setup, .fini = s_teardown)
{
    zjob_error_t err;
    int rc;
    cr_assert_null (s_batch ("show", "nope", &rc, &err));
    cr_assert_eq (err.code, ZJOB_NOT_FOUND, "%d %s", err.code, err.text);
    cr_assert_null (s_batch ("close", "nope", &rc, &err));
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_null (s_batch ("cancel", "nope", &rc, &err));
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_null (s_batch ("explode", "b", &rc, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_not_null (strstr (err.text, "op"), "%s", err.text);
    cr_assert_null (s_batch ("show", NULL, &rc, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_not_null (strstr (err.text, "id: required"), "%s", err.text);
    //  A SUBMIT with a bad batch map: 400 naming the key, nothing created
    zjob_spec_t spec = { .workflow_id = "w", .priority = ZJOB_PRIORITY_UNSET };
    zjob_msg_begin (s_request, ZJOB_CMD_SUBMIT, 1);
    zjob_msg_add_specs (s_request, "jobs", &spec, 1);
    msgpack_packer *pk = zjob_msg_add_key (s_request, "batch");
    msgpack_pack_map (pk, 1);
    msgpack_pack_str_with_body (pk, "open", 4);
    msgpack_pack_true (pk);
    cr_assert_null (s_handle (&rc, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_not_null (strstr (err.text, "batch.id"), "%s", err.text);
    cr_assert_eq (zjob_manager_stored (s_manager), 0);
}
