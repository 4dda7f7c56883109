/*  =========================================================================
    e2e_producer - bench_e2e: a producer process

    Submits its share of the scenario's jobs as its mode says: one
    synchronous SUBMIT at a time, a window of single-job SUBMITs, a window
    of batched SUBMITs, or paced at a rate; then answers the parent's
    STATS checks until its control pipe closes.
    ========================================================================= */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "e2e.h"

//  --------------------------------------------------------------------------
//  A producer: submits its share of the scenario's jobs as told by its mode

//  Sleep until the CLOCK_MONOTONIC time due (ns): the pacing of a
//  light-load run, not a synchronisation
static void
s_sleep_until (int64_t due)
{
    struct timespec ts = { (time_t) (due / 1000000000), (long) (due % 1000000000) };
    while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

//  The jobs the broker counts as completed, from a STATS reply, or -1
static int64_t
s_stats_completed (zjob_reply_t *reply, int64_t *pending_p)
{
    zjob_msg_t *msg = zjob_reply_msg (reply);
    const msgpack_object *by_status = msg ? zjob_msg_field (msg, "by_status") : NULL;
    if (!by_status || by_status->type != MSGPACK_OBJECT_MAP)
        return -1;
    *pending_p = (int64_t) (zjob_msg_uint (msg, "queued", 0) + zjob_msg_uint (msg, "active", 0));
    for (uint32_t i = 0; i < by_status->via.map.size; i++) {
        const msgpack_object *key = &by_status->via.map.ptr [i].key;
        const msgpack_object *value = &by_status->via.map.ptr [i].val;
        if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == 9
            && memcmp (key->via.str.ptr, "completed", 9) == 0
            && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            return (int64_t) value->via.u64;
    }
    return -1;
}

//  A figure of the store from a STATS reply ("store": {str: str}), or -1
static int64_t
s_stats_store (zjob_reply_t *reply, const char *name)
{
    zjob_msg_t *msg = zjob_reply_msg (reply);
    const msgpack_object *store = msg ? zjob_msg_field (msg, "store") : NULL;
    if (!store || store->type != MSGPACK_OBJECT_MAP)
        return -1;
    size_t length = strlen (name);
    for (uint32_t i = 0; i < store->via.map.size; i++) {
        const msgpack_object *key = &store->via.map.ptr [i].key;
        const msgpack_object *value = &store->via.map.ptr [i].val;
        if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == length
            && memcmp (key->via.str.ptr, name, length) == 0) {
            if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                return (int64_t) value->via.u64;
            if (value->type == MSGPACK_OBJECT_STR && value->via.str.size < 32) {
                char text [32];
                memcpy (text, value->via.str.ptr, value->via.str.size);
                text [value->via.str.size] = 0;
                return strtoll (text, NULL, 10);
            }
        }
    }
    return -1;
}

//  Answer 'S' commands: poll STATS until the broker counts expected jobs
//  as completed (or 10 s have passed) and report what it counts.
static void
s_producer_check (e2e_role_t *role, zjob_client_t *client)
{
    int64_t expected;
    while (e2e_command (role, &expected) == 'S') {
        int64_t completed = -1, pending = -1, fsyncs = -1;
        int64_t deadline = e2e_now_ns () + (int64_t) 10 * 1000000000;
        while (e2e_now_ns () < deadline) {
            zjob_error_t err;
            zjob_reply_t *reply = zjob_client_stats (client, &err);
            if (reply) {
                completed = s_stats_completed (reply, &pending);
                fsyncs = s_stats_store (reply, "fsyncs");
                zjob_reply_destroy (&reply);
            }
            if (completed >= expected)
                break;
            //  Polling with a deadline; not faster, as STATS walks every job
            s_sleep_until (e2e_now_ns () + 20000000);
        }
        e2e_report (role, E2E_REC_STATS, completed, fsyncs, e2e_now_ns (), pending, NULL);
    }
}

void
e2e_producer (e2e_role_t *role)
{
    const e2e_scenario_t *scenario = role->scenario;
    zjob_error_t err;
    zjob_connect_opts_t opts = { NULL, NULL };
    if (scenario->curve)
        opts = e2e_curve_opts (E2E_KEY_PRODUCER);
    zjob_client_t *client = zjob_client_new_with (role->endpoint, 10000, &opts, &err);
    if (!client)
        e2e_fail (role, "connect", err.text);
    size_t share = scenario->jobs / E2E_PRODUCERS
        + (role->index < scenario->jobs % E2E_PRODUCERS ? 1 : 0);
    size_t batch = scenario->mode == E2E_BATCH ? scenario->batch : 1;
    uint8_t (*inputs) [E2E_INPUT_SIZE] = calloc (batch, E2E_INPUT_SIZE);
    zjob_spec_t *specs = (zjob_spec_t *) calloc (batch, sizeof (zjob_spec_t));
    if (!inputs || !specs)
        e2e_fail (role, "memory", "out of memory");
    for (size_t i = 0; i < batch; i++) {
        specs [i].workflow_id = "bench";
        specs [i].inputs = inputs [i];
        specs [i].inputs_size = e2e_make_inputs (inputs [i], 0);
    }
    e2e_report (role, E2E_REC_READY, 0, 0, 0, 0, NULL);
    if (e2e_command (role, NULL) != 'G') {
        zjob_client_destroy (&client);
        exit (0);
    }

    int64_t start = e2e_now_ns ();
    size_t accepted = 0, refused = 0;
    char first_error [200] = "";
    if (scenario->mode == E2E_STRICT || scenario->mode == E2E_PACED) {
        //  Each producer at half the rate, the second half an interval late
        double interval = 1e9 * E2E_PRODUCERS / e2e_rate;
        for (size_t i = 0; i < share; i++) {
            if (scenario->mode == E2E_PACED) {
                s_sleep_until (start + (int64_t) (interval * ((double) i + (double) role->index / E2E_PRODUCERS)));
                e2e_make_inputs (inputs [0], e2e_now_ns ());
            }
            char id [ZJOB_ID_LEN + 1];
            if (zjob_client_submit (client, specs, true, id, &err) == 0)
                accepted++;
            else if (refused++ == 0)
                snprintf (first_error, sizeof first_error, "%d %.180s", err.code, err.text);
        }
    }
    else {
        //  A window of SUBMITs in flight; sizes holds each one's spec count
        //  by request id (ids are consecutive, the window is below 4096)
        size_t sizes [4096];
        size_t sent = 0;
        assert (scenario->window < 4096);
        while (accepted + refused < share) {
            while (sent < share && zjob_client_inflight (client) < scenario->window) {
                size_t count = share - sent < batch ? share - sent : batch;
                uint64_t request = zjob_client_send_submit (client, specs, count, true, &err);
                if (!request)
                    e2e_fail (role, "send SUBMIT", err.text);
                sizes [request % 4096] = count;
                sent += count;
            }
            zjob_reply_t *reply = zjob_client_recv (client, 10000, &err);
            if (!reply)
                e2e_fail (role, "SUBMIT reply", err.text);
            size_t count = sizes [zjob_reply_request_id (reply) % 4096];
            if (zjob_reply_status (reply) == ZJOB_OK)
                accepted += count;
            else {
                if (refused == 0) {
                    zjob_reply_error (reply, &err);
                    snprintf (first_error, sizeof first_error, "%d %.180s", err.code, err.text);
                }
                refused += count;
            }
            zjob_reply_destroy (&reply);
        }
    }
    int64_t end = e2e_now_ns ();
    e2e_report (role, E2E_REC_DONE, (int64_t) accepted, start, end, (int64_t) refused, first_error);
    //  STATS is admin only: with CURVE the check needs an admin key
    zjob_client_t *admin = NULL;
    if (scenario->curve) {
        opts = e2e_curve_opts (E2E_KEY_ADMIN);
        admin = zjob_client_new_with (role->endpoint, 10000, &opts, &err);
        if (!admin)
            e2e_fail (role, "connect as admin", err.text);
    }
    s_producer_check (role, admin ? admin : client);
    zjob_client_destroy (&admin);
    zjob_client_destroy (&client);
    free (specs);
    free (inputs);
}
