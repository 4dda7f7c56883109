/*  =========================================================================
    zjob_metrics_cmd - the METRICS command: the broker's metrics as text

    METRICS (PROTOCOL.md 9.16), admin only, empty body. The OK carries
    {format: "prometheus-text-0.0.4", text}: zjob_metrics_render over the
    figures gathered here at that moment from the manager (jobs per
    workflow and status from its tally, ready jobs and the oldest one per
    workflow from the ready lists' heads, the store's figures), the
    registry (workers, slots, busy), the publisher (events) and the
    process (/proc/self). Nothing walks the jobs: a render is
    O(workflows x priorities + workflows x buckets). The HTTP side's
    /metrics is this command's text.
    ========================================================================= */

#ifndef ZJOB_METRICS_CMD_H_INCLUDED
#define ZJOB_METRICS_CMD_H_INCLUDED

#include "zjob_metrics.h"
#include "zjob_manager.h"
#include "zjob_registry.h"
#include "zjob_publisher.h"
#include "zjob_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The exposition of metrics with the figures of manager, registry and
//  publisher (NULL: no events figure) of now, into *text_p (the caller's
//  to free) and *size_p. 0, or -1 with err filled (out of memory).
int
zjob_metrics_cmd_text (zjob_metrics_t *metrics, zjob_manager_t *manager,
                       zjob_registry_t *registry, zjob_publisher_t *publisher, char **text_p,
                       size_t *size_p, zjob_error_t *err);

//  Answer METRICS: begin and fill its OK in builder (request_id its id).
//  Returns 0 (a read), or -1 with err filled (500 without metrics or
//  memory).
int
zjob_metrics_cmd_handle (zjob_metrics_t *metrics, zjob_manager_t *manager,
                         zjob_registry_t *registry, zjob_publisher_t *publisher,
                         zjob_msg_builder_t *builder, uint64_t request_id, zjob_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
