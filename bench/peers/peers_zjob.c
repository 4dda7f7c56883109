/*  =========================================================================
    peers_zjob - bench_peers: zjob's side

    A real zjobd, as bench_e2e runs it (e2e_broker_start: fork and exec,
    every endpoint ephemeral on loopback, --max-concurrent 0 so that the
    workers' slots are the only limit), on the memory store, or a file
    store with fsync=always under the run's directory. Producers are
    libzjob clients: strict ones submit synchronously (zjob_client_submit,
    one job in flight), pipelined ones keep a window of single-job SUBMITs
    in flight (zjob_client_send_submit, zjob_client_recv). Workers are the
    pollable engine with the setup's slots, completing each job at once
    without outputs; with a prefetch in the setup they get it as
    ZJOB_WORKER_PREFETCH (the library's default otherwise). The remote
    scenario puts the delaying proxy (peers_proxy.c, a child of its own)
    between the workers and zjobd's workers endpoint; producers stay near.
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "peers.h"

#define S_TIMEOUT_MS 10000  //  msecs a producer waits for a reply

//  Submit share jobs, window in flight; the accepted count into
//  *accepted, the first refusal into first_error
static size_t
s_submit_window (e2e_role_t *role, zjob_client_t *client, const zjob_spec_t *spec,
                 size_t share, size_t *accepted, char *first_error, size_t size)
{
    zjob_error_t err;
    size_t sent = 0, answered = 0, refused = 0;
    while (answered < share) {
        while (sent < share && zjob_client_inflight (client) < peers_setup->window) {
            if (!zjob_client_send_submit (client, spec, 1, true, &err))
                e2e_fail (role, "send SUBMIT", err.text);
            sent++;
        }
        zjob_reply_t *reply = zjob_client_recv (client, S_TIMEOUT_MS, &err);
        if (!reply)
            e2e_fail (role, "SUBMIT reply", err.text);
        if (zjob_reply_status (reply) == ZJOB_OK)
            (*accepted)++;
        else if (refused++ == 0) {
            zjob_reply_error (reply, &err);
            snprintf (first_error, size, "%d %.180s", err.code, err.text);
        }
        answered++;
        zjob_reply_destroy (&reply);
    }
    return refused;
}

static void
s_producer (e2e_role_t *role)
{
    zjob_error_t err;
    zjob_connect_opts_t opts = { NULL, NULL };
    zjob_client_t *client = zjob_client_new_with (role->endpoint, S_TIMEOUT_MS, &opts, &err);
    if (!client)
        e2e_fail (role, "connect", err.text);
    uint8_t inputs [E2E_INPUT_SIZE];
    zjob_spec_t spec = { .workflow_id = PEERS_TUBE, .inputs = inputs };
    spec.inputs_size = e2e_make_inputs (inputs, 0);
    e2e_report (role, E2E_REC_READY, 0, 0, 0, 0, NULL);
    if (e2e_command (role, NULL) != 'G') {
        zjob_client_destroy (&client);
        exit (0);
    }
    size_t share = peers_share (role), accepted = 0, refused = 0;
    char first_error [200] = "";
    int64_t start = e2e_now_ns ();
    if (peers_setup->window > 1)
        refused = s_submit_window (role, client, &spec, share, &accepted, first_error,
                                   sizeof first_error);
    else
        for (size_t i = 0; i < share; i++) {
            char id [ZJOB_ID_LEN + 1];
            if (zjob_client_submit (client, &spec, true, id, &err) == 0)
                accepted++;
            else if (refused++ == 0)
                snprintf (first_error, sizeof first_error, "%d %.180s", err.code, err.text);
        }
    e2e_report (role, E2E_REC_DONE, (int64_t) accepted, start, e2e_now_ns (), (int64_t) refused,
                first_error);
    while (e2e_command (role, NULL))
        ;  //  Until the run is over
    zjob_client_destroy (&client);
}

//  A worker registered with the broker (READY answered), or the child fails
static zjob_worker_t *
s_worker_new (e2e_role_t *role)
{
    if (peers_setup->prefetch)
        setenv ("ZJOB_WORKER_PREFETCH", peers_setup->prefetch, 1);  //  This child only
    const char *workflows [] = { PEERS_TUBE };
    char name [32];
    snprintf (name, sizeof name, "peers-w%zu", role->index);
    zjob_error_t err;
    zjob_connect_opts_t opts = { NULL, NULL };
    zjob_worker_t *worker = zjob_worker_new_with (role->endpoint, name, workflows, 1,
                                                  peers_setup->slots, &opts, &err);
    if (!worker)
        e2e_fail (role, "worker", err.text);
    int64_t deadline = e2e_now_ns () + (int64_t) E2E_READY_MS * 1000000;
    while (!zjob_worker_registered (worker)) {
        if (e2e_now_ns () > deadline)
            e2e_fail (role, "register",
                      zjob_worker_error (worker, &err) ? err.text : "READY not answered");
        zjob_task_t *task;
        if (zjob_worker_recv (worker, 50, &task, &err) < 0)
            e2e_fail (role, "register", err.text);
    }
    return worker;
}

static void
s_worker (e2e_role_t *role)
{
    zjob_worker_t *worker = s_worker_new (role);
    e2e_report (role, E2E_REC_READY, 0, 0, 0, 0, NULL);
    int64_t count = 0, reported = 0, last = 0;
    while (true) {
        zjob_task_t *task;
        zjob_error_t err;
        int event = zjob_worker_recv (worker, count != reported ? PEERS_IDLE_MS : PEERS_CONTROL_MS,
                                      &task, &err);
        if (event < 0)
            break;  //  Interrupted
        if (event == ZJOB_WORKER_NOTHING) {
            peers_progress (role, count, &reported, last);
            if (peers_stopped (role))
                break;
            continue;
        }
        if (event != ZJOB_WORKER_TASK)
            continue;
        if (zjob_worker_complete (worker, &task, NULL, 0, &err))
            e2e_fail (role, "complete", err.text);
        count++;
        last = e2e_now_ns ();
        if (count - reported >= PEERS_REPORT_EVERY)
            peers_progress (role, count, &reported, last);
    }
    zjob_worker_destroy (&worker);
}

//  Start the delaying proxy in front of zjobd's workers endpoint: the
//  endpoint the workers connect to into endpoint. 0, or -1 with why.
static int
s_proxy_start (e2e_child_t *proxy, const char *upstream, char *endpoint, size_t size,
               char *why, size_t why_size)
{
    const char *colon = strrchr (upstream, ':');
    e2e_role_t role = { .index = colon ? (size_t) atoi (colon + 1) : 0 };
    if (e2e_spawn (proxy, "peers-proxy", peers_proxy, &role)) {
        snprintf (why, why_size, "cannot fork the proxy");
        return -1;
    }
    if (e2e_await_ready (proxy, 1, "proxy", why, why_size))
        return -1;
    snprintf (endpoint, size, "%s", proxy->text);
    return 0;
}

void
peers_zjob_run (const peers_setup_t *setup, const char *dir, peers_result_t *result)
{
    char log [E2E_PATH_MAX], data [E2E_PATH_MAX] = "", store [E2E_PATH_MAX + 32] = "memory:";
    snprintf (log, sizeof log, "%s/zjobd-%s.log", dir, setup->key);
    if (setup->fsync) {
        snprintf (data, sizeof data, "%s/zjob-%s", dir, setup->key);
        snprintf (store, sizeof store, "file:%s?fsync=always", data);
    }
    e2e_broker_t broker;
    e2e_child_t proxy = { .pid = 0 };
    char endpoint [E2E_ENDPOINT_MAX];
    peers_setup = setup;  //  The proxy's delay
    if (e2e_broker_start (&broker, store, false, false, log, result->why, sizeof result->why) == 0
        && (setup->delay_ms < 0
            || s_proxy_start (&proxy, broker.workers, endpoint, sizeof endpoint, result->why,
                              sizeof result->why)
                == 0)) {
        peers_procs_t procs = { .server = broker.pid, .proxy = proxy.pid, .producer_endpoint = broker.clients, .worker_endpoint = setup->delay_ms < 0 ? broker.workers : endpoint };
        peers_run (setup, &procs, s_producer, s_worker, result);
    }
    if (proxy.pid)
        e2e_stop (&proxy, 1);
    e2e_broker_stop (&broker);
    if (!result->ok)
        e2e_broker_log_tail (&broker);
    if (*data)
        peers_remove_tree (data);
}
