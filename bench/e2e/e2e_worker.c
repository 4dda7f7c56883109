/*  =========================================================================
    e2e_worker - bench_e2e: a worker process

    The pollable engine, completing each job at once without outputs; it
    reports its completions to the parent in batches, and the latency
    scenarios' samples (submit to handler start) one by one.
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
//  A worker: the pollable engine, completing each job at once. It reports
//  its count (and the time of its last completion) every E2E_REPORT_EVERY
//  jobs and once no job came for E2E_REPORT_IDLE_MS (not each time it runs
//  out of work: with one slot that is after every job, and a report per
//  job woke the parent as often, CPU taken from the run it measures); in
//  a paced run, every job, with the time from submit to recv handing the
//  job over. The report's time is the last completion's, so the delay
//  does not enter the figures. A progress report also carries how often
//  recv had to wait for the next job (it took over E2E_WAIT_MIN_NS: a JOB
//  had to come, rather than being already there) and for how long in all:
//  a worker with credit but nothing to do is waiting on the broker.

void
e2e_worker (e2e_role_t *role)
{
    const e2e_scenario_t *scenario = role->scenario;
    const char *workflows [] = { "bench" };
    char name [32];
    snprintf (name, sizeof name, "bench-w%zu", role->index);
    zjob_error_t err;
    if (scenario->single)
        setenv ("ZJOB_WORKER_BATCH", "0", 1);  //  This process only (a forked child)
    zjob_connect_opts_t opts = { NULL, NULL };
    if (scenario->curve) {
        opts = e2e_curve_opts (E2E_KEY_WORKER);
        //  libzjob notes each handshake that succeeded; CZMQ logs to
        //  stdout, where the figures go
        zsys_set_logstream (stderr);
    }
    zjob_worker_t *worker = zjob_worker_new_with (role->endpoint, name, workflows, 1,
                                                  scenario->slots, &opts, &err);
    if (!worker)
        e2e_fail (role, "worker", err.text);
    int64_t deadline = e2e_now_ns () + (int64_t) E2E_READY_MS * 1000000;
    while (!zjob_worker_registered (worker)) {
        if (e2e_now_ns () > deadline)
            e2e_fail (role, "register", zjob_worker_error (worker, &err) ? err.text : "READY not answered");
        zjob_task_t *task;
        if (zjob_worker_recv (worker, 50, &task, &err) < 0)
            e2e_fail (role, "register", err.text);
    }
    e2e_report (role, E2E_REC_READY, 0, 0, 0, 0, NULL);

    bool paced = scenario->mode == E2E_PACED;
    int64_t count = 0, reported = 0, last = 0, waits = 0, waited = 0;
    while (true) {
        //  Wait in the library (its one-poll wait); a count not yet
        //  reported is reported once no job came for E2E_REPORT_IDLE_MS
        zjob_task_t *task;
        int64_t asked = e2e_now_ns ();
        int event = zjob_worker_recv (worker, count != reported ? E2E_REPORT_IDLE_MS : E2E_CONTROL_MS,
                                      &task, &err);
        if (event < 0)
            break;  //  Interrupted
        if (event == ZJOB_WORKER_TASK && count > 0) {
            int64_t took = e2e_now_ns () - asked;
            if (took > E2E_WAIT_MIN_NS) {
                waits++;
                waited += took;
            }
        }
        if (event == ZJOB_WORKER_NOTHING) {
            if (count != reported) {
                e2e_report (role, E2E_REC_PROGRESS, count, waited, last, waits, NULL);
                reported = count;
            }
            struct pollfd control = { role->control, POLLIN, 0 };
            if (poll (&control, 1, 0) > 0 && e2e_command (role, NULL) == 0)
                break;  //  EOF: the run is over
            continue;
        }
        if (event != ZJOB_WORKER_TASK)
            continue;
        int64_t latency = -1;
        if (paced) {
            size_t size;
            const uint8_t *inputs = zjob_task_inputs (task, &size);
            int64_t submitted = e2e_inputs_time (inputs, size);
            if (submitted > 0)
                latency = e2e_now_ns () - submitted;
        }
        if (zjob_worker_complete (worker, &task, NULL, 0, &err))
            e2e_fail (role, "complete", err.text);
        count++;
        last = e2e_now_ns ();
        if (paced) {
            e2e_report (role, E2E_REC_SAMPLE, count, 0, last, latency, NULL);
            reported = count;
        }
        else if (count - reported >= E2E_REPORT_EVERY) {
            e2e_report (role, E2E_REC_PROGRESS, count, waited, last, waits, NULL);
            reported = count;
        }
    }
    zjob_worker_destroy (&worker);
}
