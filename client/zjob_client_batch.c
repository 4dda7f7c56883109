/*  =========================================================================
    zjob_client_batch - libzjob's batch calls: BATCH show, close, cancel,
    list (PROTOCOL.md), each a request waited for, the reply read into
    zjob_batch_info_t
    ========================================================================= */

#include "zjob_client_impl.h"
#include <stdlib.h>

//  One BATCH op on batch id, waited for (resent if resend)
static zjob_reply_t *
s_batch_call (zjob_client_t *self, const char *op, const char *id, bool resend,
              zjob_error_t *err)
{
    if (!self || !id) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "BATCH %s: no batch id given", op);
        return NULL;
    }
    uint64_t request;
    zjob_msg_builder_t *builder = zjob_client_begin (self, ZJOB_CMD_BATCH, &request, err);
    if (!builder)
        return NULL;
    zjob_msg_add_str (builder, "op", op);
    zjob_msg_add_str (builder, "id", id);
    return zjob_client_call (self, ZJOB_CMD_BATCH, request, resend, err);
}

//  Read the reply's batch into info (if not NULL), and destroy the reply
static int
s_batch_info (zjob_reply_t *reply, zjob_batch_info_t *info, zjob_error_t *err)
{
    if (!reply)
        return -1;
    zjob_batch_info_t ignored;
    int rc = zjob_msg_batch (zjob_reply_msg (reply), "batch", info ? info : &ignored);
    zjob_reply_destroy (&reply);
    return rc ? zjob_error_set (err, ZJOB_BAD_REQUEST, "BATCH: the reply has no batch") : 0;
}

int
zjob_client_batch_show (zjob_client_t *self, const char *id, zjob_batch_info_t *info,
                        zjob_error_t *err)
{
    return s_batch_info (s_batch_call (self, "show", id, true, err), info, err);
}

int
zjob_client_batch_close (zjob_client_t *self, const char *id, zjob_batch_info_t *info,
                         zjob_error_t *err)
{
    //  Closing twice is closing once: safe to resend
    return s_batch_info (s_batch_call (self, "close", id, true, err), info, err);
}

int
zjob_client_batch_cancel (zjob_client_t *self, const char *id, size_t *cancelled_p,
                          zjob_error_t *err)
{
    zjob_reply_t *reply = s_batch_call (self, "cancel", id, false, err);
    if (!reply)
        return -1;
    if (cancelled_p)
        *cancelled_p = (size_t) zjob_msg_uint (zjob_reply_msg (reply), "done", 0);
    zjob_reply_destroy (&reply);
    return 0;
}

int
zjob_client_batch_list (zjob_client_t *self, size_t offset, size_t limit,
                        zjob_batch_info_t **infos_p, size_t *count_p, size_t *total_p,
                        zjob_error_t *err)
{
    if (!self || !infos_p || !count_p)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "BATCH list: no room for the batches");
    *infos_p = NULL;
    *count_p = 0;
    uint64_t request;
    zjob_msg_builder_t *builder = zjob_client_begin (self, ZJOB_CMD_BATCH, &request, err);
    if (!builder)
        return -1;
    zjob_msg_add_str (builder, "op", "list");
    if (offset)
        zjob_msg_add_uint (builder, "offset", offset);
    if (limit)
        zjob_msg_add_uint (builder, "limit", limit);
    zjob_reply_t *reply = zjob_client_call (self, ZJOB_CMD_BATCH, request, true, err);
    if (!reply)
        return -1;
    int rc = zjob_msg_batches (zjob_reply_msg (reply), "batches", infos_p, count_p, err);
    if (rc == 0 && total_p)
        *total_p = (size_t) zjob_msg_uint (zjob_reply_msg (reply), "total", 0);
    zjob_reply_destroy (&reply);
    return rc;
}
