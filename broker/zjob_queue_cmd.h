/*  =========================================================================
    zjob_queue_cmd - the QUEUE command: per-workflow queue controls

    QUEUE {op, workflow_id, concurrency, rate, burst} (PROTOCOL.md): op
    "pause" and "resume" stop and restart the handing out of a workflow's
    jobs, "limit" sets its concurrency, rate and burst (each absent:
    unchanged; 0: cleared), "list" reports every workflow with settings
    or stored jobs. The OK carries "queues", one map per workflow
    (zjob_msg_add_queues): the one changed, or all of them, sorted by
    name. The rules are zjob_queues.h's; this file reads the request and
    builds the reply, with no socket, as zjob_clients does for the other
    client requests (its switch calls zjob_queue_cmd_handle).
    ========================================================================= */

#ifndef ZJOB_QUEUE_CMD_H_INCLUDED
#define ZJOB_QUEUE_CMD_H_INCLUDED

#include "zjob_manager.h"
#include "zjob_proto.h"
#include "zjob_publisher.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Answer msg, a decoded QUEUE: apply it and begin and fill its OK in
//  builder (request_id its id); a pause or resume that changes the queue
//  is announced through publisher (NULL: none) as a "queue_paused" or
//  "queue_resumed" event. Returns 1 if the OK confirms a change (pause,
//  resume, limit: it waits for the sync), 0 for list, or -1 with err
//  filled (400 for a bad op or value, 500 if the store refuses).
int
zjob_queue_cmd_handle (zjob_manager_t *manager, zjob_publisher_t *publisher, zjob_msg_t *msg,
                       zjob_msg_builder_t *builder, uint64_t request_id, zjob_error_t *err);

//  STATS' "held": the workflows with ready jobs that their queue controls
//  hold back, and why (zjob_held_name), at most max of them. Names are
//  the manager's, valid until its settings change. Returns how many.
size_t
zjob_queue_cmd_held (zjob_manager_t *manager, const char **workflows, const char **reasons,
                     size_t max);

#ifdef __cplusplus
}
#endif

#endif
