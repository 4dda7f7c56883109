/*  =========================================================================
    fuzz_msg - libFuzzer harness: a wire message, as every receiver reads it

    The bytes are one message frame as a peer could send it. They are
    decoded on every route (the broker's two sockets, the client's, the
    worker's, an events subscriber's), and what a receiver does with a
    frame that does not decode (zjob_msg_peek for its request id,
    zjob_msg_error_for for the ERROR it sends back) is done with the error.
    A message that decodes is read the way its receivers read it: every
    structured field, the typed readers, an OK checked against the reply
    table of every request, the job, template, batch and queue maps a
    client takes out of a reply, SUBMIT's batch map.
    ========================================================================= */

#include "zjob_proto.h"
#include "zjob_proto_batch.h"
#include "fuzz_common.h"

//  Read everything a receiver may read out of a decoded message
static void
s_read_fields (zjob_msg_t *msg)
{
    (void) zjob_msg_version (msg);
    (void) zjob_msg_command_name (msg);
    (void) zjob_msg_request_id (msg);
    size_t count = 0;
    (void) zjob_msg_specs (msg, &count);
    (void) zjob_msg_auto_start (msg);
    (void) zjob_msg_submit_batch (msg);
    (void) zjob_msg_query (msg);
    (void) zjob_msg_target (msg);
    (void) zjob_msg_results (msg, &count);
    static const char *keys [] = { "id", "message", "status", "job", "jobs", "ids", "workflow_id",
                                   "outputs", "done", "progress", "name" };
    for (size_t index = 0; index < sizeof (keys) / sizeof (keys [0]); index++) {
        size_t size = 0;
        (void) zjob_msg_has (msg, keys [index]);
        (void) zjob_msg_str (msg, keys [index]);
        (void) zjob_msg_uint (msg, keys [index], 0);
        (void) zjob_msg_int (msg, keys [index], 0);
        (void) zjob_msg_float (msg, keys [index], 0);
        (void) zjob_msg_bool (msg, keys [index], false);
        (void) zjob_msg_bin (msg, keys [index], &size);
        (void) zjob_msg_strs (msg, keys [index], &count);
    }
    zjob_error_t err;
    (void) zjob_msg_error (msg, &err);
}

//  Read the maps a client takes out of a reply (jobs, a template,
//  batches, queues) and SUBMIT's batch map, as the broker does
static void
s_read_maps (zjob_msg_t *msg)
{
    zjob_error_t err;
    zjob_job_t *job = zjob_msg_job (msg, "job", &err);
    zjob_job_destroy (&job);
    zjob_job_t **jobs = NULL;
    size_t count = 0;
    if (zjob_msg_jobs (msg, "jobs", &jobs, &count, &err) == 0) {
        for (size_t index = 0; index < count; index++)
            zjob_job_destroy (&jobs [index]);
        free (jobs);
    }
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    (void) zjob_msg_template (msg, "template", &spec, &err);
    zjob_batch_info_t info;
    (void) zjob_msg_batch (msg, "batch", &info);
    zjob_batch_info_t *infos = NULL;
    if (zjob_msg_batches (msg, "batches", &infos, &count, &err) == 0)
        free (infos);
    size_t queues = zjob_msg_queue_count (msg);
    for (size_t index = 0; index < queues && index < 100; index++) {
        zjob_queue_info_t queue;
        (void) zjob_msg_queue (msg, index, &queue);
    }
    zjob_batch_opts_t opts;
    zjob_spec_t callback;
    (void) zjob_msg_batch_opts (msg, &opts, &callback, &err);
}

//  An OK, checked as the reply to each request in turn, and a checked
//  reply to a RESULT's refusals read
static void
s_check_replies (zjob_msg_t *msg)
{
    if (zjob_msg_command (msg) != ZJOB_CMD_OK)
        return;
    for (int request = 1; request < ZJOB_CMD_COUNT; request++) {
        zjob_error_t err;
        if (zjob_msg_check_reply (msg, (zjob_cmd_t) request, &err) == 0
            && request == ZJOB_CMD_RESULT) {
            size_t errors = zjob_msg_result_errors (msg);
            for (size_t index = 0; index <= errors && index < 200; index++)
                (void) zjob_msg_result_error (msg, index, &err);
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_quiet ();
    for (int route = 0; route < ZJOB_ROUTE_COUNT; route++) {
        zjob_error_t err;
        zjob_msg_t *msg = zjob_msg_decode (data, size, (zjob_route_t) route, &err);
        if (!msg) {
            uint64_t request_id = 0;
            zjob_cmd_t command = ZJOB_CMD_UNKNOWN;
            (void) zjob_msg_peek (data, size, &request_id, &command);
            zframe_t *reply = zjob_msg_error_for (data, size, &err);
            zframe_destroy (&reply);
            continue;
        }
        if (zjob_msg_route (msg) != (zjob_route_t) route)
            abort ();  //  Decoded for another route than asked
        s_read_fields (msg);
        s_read_maps (msg);
        s_check_replies (msg);
        zjob_msg_destroy (&msg);
    }
    return 0;
}
