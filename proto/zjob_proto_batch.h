/*  =========================================================================
    zjob_proto_batch - the wire form of batches: SUBMIT's batch map, the
    batch maps of BATCH's replies and of the batch_finished event

    SUBMIT's "batch" is a nested map ({id, open, callback: {workflow_id,
    inputs, priority, tags, metadata}}), checked here rather than by the
    field tables, which check one level: the broker reads it after the
    decoder has checked the rest of the SUBMIT, and a bad one is a 400
    that names the key. A batch map in a reply is built from and read into
    the plain zjob_batch_info_t (zjob_msg.h). Internal to libzjob and the
    broker, as zjob_proto.h.
    ========================================================================= */

#ifndef ZJOB_PROTO_BATCH_H_INCLUDED
#define ZJOB_PROTO_BATCH_H_INCLUDED

#include "zjob_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Read SUBMIT's batch map from msg into opts; a callback goes into
//  *callback (strings in the message's zone, valid while it lives) and
//  opts->callback points to it. Returns 1 with opts filled, 0 if the
//  SUBMIT has no batch map, or -1 with err filled (ZJOB_BAD_REQUEST,
//  naming the key) for a malformed one.
int
zjob_msg_batch_opts (zjob_msg_t *msg, zjob_batch_opts_t *opts, zjob_spec_t *callback,
                     zjob_error_t *err);

//  Add key with opts as SUBMIT's batch map (the client's side).
void
zjob_msg_add_batch_opts (zjob_msg_builder_t *self, const char *key,
                         const zjob_batch_opts_t *opts);

//  Add key with info as a batch map.
void
zjob_msg_add_batch (zjob_msg_builder_t *self, const char *key, const zjob_batch_info_t *info);

//  Add key with an array of count batch maps.
void
zjob_msg_add_batches (zjob_msg_builder_t *self, const char *key,
                      const zjob_batch_info_t *infos, size_t count);

#ifdef __cplusplus
}
#endif

#endif
