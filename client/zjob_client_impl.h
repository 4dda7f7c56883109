/*  =========================================================================
    zjob_client_impl - the client's request calls, for its own files

    zjob_client.c keeps the socket, the window of requests in flight and
    the resends; a file that adds requests (zjob_client_batch.c,
    zjob_client_admin.c) begins one here, adds its fields to the builder,
    and calls it. Not installed.
    ========================================================================= */

#ifndef ZJOB_CLIENT_IMPL_H_INCLUDED
#define ZJOB_CLIENT_IMPL_H_INCLUDED

#include "zjob_client.h"
#include "zjob_proto.h"

//  Begin a request of cmd: returns the builder to add its fields to, with
//  *request_p its id, or NULL with err filled (too many in flight).
zjob_msg_builder_t *
zjob_client_begin (zjob_client_t *self, zjob_cmd_t cmd, uint64_t *request_p,
                   zjob_error_t *err);

//  Send the request begun and wait for its OK (resent while waiting if
//  resend: only for a request that may be applied twice). Returns the
//  reply, or NULL with err filled (the ERROR's code and message, or a
//  timeout).
zjob_reply_t *
zjob_client_call (zjob_client_t *self, zjob_cmd_t cmd, uint64_t request, bool resend,
                  zjob_error_t *err);

#endif
