/*  =========================================================================
    e2e_echo - bench_e2e: the plain ZeroMQ echo

    A ROUTER that sends every message back, and DEALER clients that keep
    one 100-byte message in flight, each in its own process: the ceiling
    every job scenario is compared with.
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
//  The plain ZeroMQ echo: a ROUTER that sends every message back, and
//  DEALER clients that keep one message in flight. Each in its own process.

static void
s_echo_server (e2e_role_t *role)
{
    void *context = zmq_ctx_new ();
    void *router = zmq_socket (context, ZMQ_ROUTER);
    char endpoint [256];
    size_t size = sizeof endpoint;
    if (zmq_bind (router, "tcp://127.0.0.1:*")
        || zmq_getsockopt (router, ZMQ_LAST_ENDPOINT, endpoint, &size))
        e2e_fail (role, "echo server bind", zmq_strerror (zmq_errno ()));
    e2e_report (role, E2E_REC_READY, 0, 0, 0, 0, endpoint);
    zmq_pollitem_t items [] = {
        { router, 0, ZMQ_POLLIN, 0 },
        { NULL, role->control, ZMQ_POLLIN, 0 }
    };
    zmq_msg_t identity, message;
    zmq_msg_init (&identity);
    zmq_msg_init (&message);
    while (true) {
        if (zmq_poll (items, 2, -1) < 0 && zmq_errno () != EINTR)
            break;
        if (items [1].revents)
            break;  //  EOF: the run is over
        while (zmq_msg_recv (&identity, router, ZMQ_DONTWAIT) >= 0) {
            if (zmq_msg_recv (&message, router, 0) < 0)
                break;
            zmq_msg_send (&identity, router, ZMQ_SNDMORE);
            zmq_msg_send (&message, router, 0);
        }
    }
    zmq_msg_close (&identity);
    zmq_msg_close (&message);
    zmq_close (router);
    zmq_ctx_term (context);
}

static void
s_echo_client (e2e_role_t *role)
{
    void *context = zmq_ctx_new ();
    void *dealer = zmq_socket (context, ZMQ_DEALER);
    int option = 5000;  //  msecs; a lost echo fails the run
    zmq_setsockopt (dealer, ZMQ_RCVTIMEO, &option, sizeof option);
    option = 0;
    zmq_setsockopt (dealer, ZMQ_LINGER, &option, sizeof option);
    if (zmq_connect (dealer, role->endpoint))
        e2e_fail (role, "echo client connect", zmq_strerror (zmq_errno ()));
    uint8_t data [E2E_INPUT_SIZE];
    e2e_make_inputs (data, 0);
    uint8_t back [E2E_INPUT_SIZE];
    int64_t start = 0;
    for (size_t trip = 0; trip < E2E_ECHO_WARMUP + e2e_echo_trips; trip++) {
        if (trip == E2E_ECHO_WARMUP) {
            //  Connected and warm: wait for the other clients
            e2e_report (role, E2E_REC_READY, 0, 0, 0, 0, NULL);
            if (e2e_command (role, NULL) != 'G')
                exit (0);
            start = e2e_now_ns ();
        }
        if (zmq_send (dealer, data, sizeof data, 0) != (int) sizeof data
            || zmq_recv (dealer, back, sizeof back, 0) != (int) sizeof data)
            e2e_fail (role, "echo round trip", zmq_strerror (zmq_errno ()));
    }
    int64_t end = e2e_now_ns ();
    e2e_report (role, E2E_REC_DONE, (int64_t) e2e_echo_trips, start, end, 0, NULL);
    zmq_close (dealer);
    zmq_ctx_term (context);
    e2e_command (role, NULL);  //  Until the parent is done with us
}

//  Run the echo with scenario->jobs client processes on one server
void
e2e_run_echo (const e2e_scenario_t *scenario, e2e_result_t *result)
{
    size_t clients = scenario->jobs;
    e2e_child_t children [1 + E2E_ECHO_CLIENTS_MAX];  //  the server, then the clients
    size_t started = 0;
    e2e_role_t role = { .scenario = scenario };
    assert (clients >= 1 && clients <= E2E_ECHO_CLIENTS_MAX);
    if (e2e_spawn (&children [0], "e2e-echo-srv", s_echo_server, &role))
        goto fork_failed;
    started++;
    if (e2e_await_ready (children, 1, "echo server", result->why, sizeof result->why))
        goto stop;
    role.endpoint = children [0].text;
    for (size_t i = 0; i < clients; i++) {
        role.index = i;
        if (e2e_spawn (&children [1 + i], "e2e-echo-cli", s_echo_client, &role))
            goto fork_failed;
        started++;
    }
    if (e2e_await_ready (children + 1, clients, "echo client", result->why, sizeof result->why))
        goto stop;
    int64_t cpu_start = 0, sys, sys_start = 0;
    for (size_t i = 0; i <= clients; i++) {
        cpu_start += e2e_cpu_ns (children [i].pid, &sys);
        sys_start += sys;
    }
    int64_t wall_start = e2e_now_ns ();
    for (size_t i = 0; i < clients; i++)
        e2e_tell (&children [1 + i], 'G', 0);

    int64_t deadline = e2e_now_ns () + (int64_t) e2e_timeout_s * 1000000000;
    size_t done = 0;
    e2e_record_t record;
    while (done < clients) {
        int which = e2e_next_record (children + 1, clients, deadline, &record);
        if (which == -1) {
            snprintf (result->why, sizeof result->why, "timed out after %d s", e2e_timeout_s);
            goto stop;
        }
        if (which < -1 || record.kind == E2E_REC_FAIL) {
            snprintf (result->why, sizeof result->why, "echo client %d: %s",
                      which < -1 ? -2 - which : which, which < -1 ? "exited" : record.text);
            goto stop;
        }
        if (record.kind == E2E_REC_DONE) {
            children [1 + which].t0 = record.t0;
            children [1 + which].t1 = record.t1;
            children [1 + which].count = record.count;
            done++;
        }
    }
    int64_t cpu_end = 0, sys_end = 0;
    for (size_t i = 0; i <= clients; i++) {
        cpu_end += e2e_cpu_ns (children [i].pid, &sys);
        sys_end += sys;
    }
    result->cpu_sys = cpu_end > cpu_start
        ? 100.0 * (double) (sys_end - sys_start) / (double) (cpu_end - cpu_start)
        : 0;
    result->cpu_wall = (double) (e2e_now_ns () - wall_start);
    result->cpu_broker = 100.0 * (double) (cpu_end - cpu_start) / result->cpu_wall;
    int64_t first = INT64_MAX, last = 0, trips = 0;
    double usecs = 0;
    for (size_t i = 0; i < clients; i++) {
        e2e_child_t *child = &children [1 + i];
        first = child->t0 < first ? child->t0 : first;
        last = child->t1 > last ? child->t1 : last;
        trips += child->count;
        usecs += (child->t1 - child->t0) / 1e3 / (double) child->count / (double) clients;
    }
    result->rate = (double) trips / ((double) (last - first) / 1e9);
    result->usecs = usecs;
    result->done = (size_t) trips;
    result->ok = true;
    goto stop;

fork_failed:
    snprintf (result->why, sizeof result->why, "cannot fork: %s", strerror (errno));
stop:
    e2e_stop (children, started);
}
