/*  =========================================================================
    zjob_template_cmd - the broker's answer to TEMPLATE (issue #11)

    One client request, TEMPLATE {op, name, template, offset, limit}
    (PROTOCOL.md 9.12), applied to the manager's templates
    (zjob_templates.h) and answered in the caller's builder, as
    zjob_clients answers the other requests; zjob_clients' dispatch calls
    it. Like them it has no socket.
    ========================================================================= */

#ifndef ZJOB_TEMPLATE_CMD_H_INCLUDED
#define ZJOB_TEMPLATE_CMD_H_INCLUDED

#include "zjob_templates.h"
#include "zjob_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Answer msg, a decoded TEMPLATE (its op and fields checked by the
//  decoder), to request request_id: the OK is begun and filled in builder.
//  set: {name, created}; get: {template}; list: {templates, total,
//  offset}; delete: {name}. Returns 1 for set and delete (the OK confirms
//  a change: it waits for the sync), 0 for get and list, or -1 with err
//  filled (builder unused).
int
zjob_template_cmd (zjob_templates_t *templates, zjob_msg_t *msg, zjob_msg_builder_t *builder,
                   uint64_t request_id, zjob_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
