/*  =========================================================================
    zjob_clients_batch - the broker's answer to BATCH

    BATCH {op, id, offset, limit}: "show" (a read: the batch map),
    "close" (no more members; the batch map after it), "list" (the batches
    in id order, paged: batches, total, offset) and "cancel" (the batch is
    closed, then every member that can be is cancelled: a CANCEL by the
    filter batch_id, in bounded steps as any operation by filter, answered
    with its counts done, failed, errors). The batch state itself is
    zjob_batches.c's.

    A client key (user set) sees its own batches only: another's, or one
    without an owner, answers show, close and cancel as an unknown batch
    (404 "no batch ID"), and list counts its own only. Its cancel is also
    confined to its own members (the filter's user), should a batch hold
    another user's jobs (an admin may add some).
    ========================================================================= */

#include "zjob_clients.h"
#include "zjob_batches.h"
#include "zjob_proto_batch.h"
#include <stdlib.h>
#include <string.h>

static int
s_show (zjob_batches_t *batches, const char *id, zjob_msg_builder_t *builder,
        uint64_t request_id, zjob_error_t *err)
{
    zjob_batch_info_t info;
    if (zjob_batches_info (batches, id, &info, err))
        return -1;
    zjob_msg_begin (builder, ZJOB_CMD_OK, request_id);
    zjob_msg_add_batch (builder, "batch", &info);
    return 0;
}

static int
s_list (zjob_batches_t *batches, zjob_msg_t *msg, const char *user, zjob_msg_builder_t *builder,
        uint64_t request_id, zjob_error_t *err)
{
    size_t offset = (size_t) zjob_msg_uint (msg, "offset", 0);
    size_t limit = (size_t) zjob_msg_uint (msg, "limit", 0);
    zjob_batch_info_t *infos = NULL;
    size_t count = 0, total = 0;
    if (zjob_batches_list_of (batches, user, offset, limit, &infos, &count, &total, err))
        return -1;
    zjob_msg_begin (builder, ZJOB_CMD_OK, request_id);
    zjob_msg_add_batches (builder, "batches", infos, count);
    zjob_msg_add_uint (builder, "total", total);
    zjob_msg_add_uint (builder, "offset", offset);
    free (infos);
    return 0;
}

void
zjob_clients_batch_finished (const zjob_batch_info_t *info, void *arg)
{
    zjob_publisher_batch ((zjob_publisher_t *) arg, "batch_finished", info);
}

int
zjob_clients_batch (zjob_clients_t *self, zjob_manager_t *manager, zjob_msg_t *msg,
                    const char *user, zjob_msg_builder_t *builder, uint64_t request_id,
                    zjob_error_t *err)
{
    assert (self && manager && msg && builder);
    zjob_batches_t *batches = zjob_manager_batches (manager);
    const char *op = zjob_msg_str (msg, "op");
    const char *id = zjob_msg_str (msg, "id");
    if (!op)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "BATCH: op: required");
    if (streq (op, "list"))
        return s_list (batches, msg, user, builder, request_id, err);
    if (!streq (op, "show") && !streq (op, "close") && !streq (op, "cancel"))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "BATCH: op: expected show, close, "
                                                      "cancel or list, not %s",
                               op);
    if (!id)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "BATCH %s: id: required", op);
    if (user && zjob_batches_visible (batches, id, user, err))
        return -1;
    if (streq (op, "show"))
        return s_show (batches, id, builder, request_id, err);
    if (zjob_batches_close (batches, id, err))
        return -1;
    if (streq (op, "close"))
        return s_show (batches, id, builder, request_id, err) ? -1 : 1;
    //  cancel: closed first, so that no SUBMIT adds members behind it
    zjob_filter_t filter = { .batch_id = id };
    return zjob_clients_cancel_filter (self, &filter, user, err);
}
