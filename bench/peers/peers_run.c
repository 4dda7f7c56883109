/*  =========================================================================
    peers_run - bench_peers: one measured run

    The same frame for every side, so that only the clients differ: the
    workers are forked first and each says READY once it can take jobs,
    then the producers, which say READY once connected; all producers are
    told to go at once. A run is timed from the earliest first submit to
    the last completion a worker reported (CLOCK_MONOTONIC, shared by all
    processes), and its CPU is read from /proc (all threads, user and
    kernel) for the server, each producer and each worker between the go
    and the last record, then divided by the jobs completed.
    ========================================================================= */

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include "peers.h"

const peers_setup_t *peers_setup = NULL;

//  Every child of a run: workers first, then producers
typedef struct {
    e2e_child_t kids [2 * PEERS_ROLES_MAX];
    size_t count;                       //  forked so far
    int64_t cpu [2 * PEERS_ROLES_MAX];  //  each one's CPU ns at the go
    int64_t cpu_server;                 //  the server's, same
    int64_t cpu_proxy;                  //  the proxy's, same
    int64_t accepted;                   //  jobs the producers got accepted
    int64_t refused;                    //  submits refused
    int64_t completed;                  //  jobs the workers completed
    size_t producers_done;              //  producers that reported DONE
    char first_error [200];             //  the first refusal's message
} s_run_t;

//  CPU time used so far by process pid, all its threads, in ns: the sum
//  of /proc/PID/task/TID/schedstat's time on a CPU (user and kernel, to
//  the ns), or e2e_cpu_ns's figure (in clock ticks, 10 ms: too coarse for
//  a producer of 32 that ran 100 ms) if the kernel has no schedstat
static int64_t
s_cpu_ns (pid_t pid)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/task", (int) pid);
    DIR *tasks = opendir (path);
    int64_t sum = 0;
    struct dirent *entry;
    while (tasks && (entry = readdir (tasks))) {
        if (entry->d_name [0] == '.')
            continue;
        char stat_path [320];
        snprintf (stat_path, sizeof stat_path, "%s/%.64s/schedstat", path, entry->d_name);
        FILE *file = fopen (stat_path, "r");
        long long on_cpu = 0;
        if (file && fscanf (file, "%lld", &on_cpu) == 1)
            sum += on_cpu;
        if (file)
            fclose (file);
    }
    if (tasks)
        closedir (tasks);
    return sum > 0 ? sum : e2e_cpu_ns (pid, NULL);
}

void
peers_progress (e2e_role_t *role, int64_t count, int64_t *reported, int64_t last)
{
    if (count == *reported)
        return;
    e2e_report (role, E2E_REC_PROGRESS, count, 0, last, 0, NULL);
    *reported = count;
}

int
peers_wait (e2e_role_t *role, int fd, int64_t count, int64_t *reported, int64_t last)
{
    while (true) {
        struct pollfd items [2] = { { fd, POLLIN, 0 }, { role->control, POLLIN, 0 } };
        int rc = poll (items, 2, count != *reported ? PEERS_IDLE_MS : PEERS_CONTROL_MS);
        if (rc < 0 && errno != EINTR)
            e2e_fail (role, "poll", strerror (errno));
        if (rc == 0)
            peers_progress (role, count, reported, last);
        if (items [1].revents && e2e_command (role, NULL) == 0)
            return 0;
        if (items [0].revents)
            return 1;
    }
}

bool
peers_stopped (e2e_role_t *role)
{
    struct pollfd control = { role->control, POLLIN, 0 };
    return poll (&control, 1, 0) > 0 && e2e_command (role, NULL) == 0;
}

size_t
peers_share (const e2e_role_t *role)
{
    size_t producers = peers_setup->producers;
    return peers_setup->jobs / producers + (role->index < peers_setup->jobs % producers ? 1 : 0);
}

//  Fork count children of body at run->kids [run->count...] and wait
//  until each said READY. 0, or -1 with why filled.
static int
s_fork (s_run_t *run, size_t count, const char *name, e2e_body_fn *body, const char *endpoint,
        char *why, size_t size)
{
    e2e_role_t role = { .endpoint = endpoint };
    e2e_child_t *first = &run->kids [run->count];
    for (size_t i = 0; i < count; i++, run->count++) {
        role.index = i;
        if (e2e_spawn (&run->kids [run->count], name, body, &role)) {
            snprintf (why, size, "cannot fork: %s", strerror (errno));
            return -1;
        }
    }
    return e2e_await_ready (first, count, name, why, size);
}

//  Why the run failed: child which (or -2 - which, that exited) sent
//  record
static void
s_why_failed (size_t workers, int which, const e2e_record_t *record, char *why, size_t size)
{
    int index = which < -1 ? -2 - which : which;
    bool worker = (size_t) index < workers;
    snprintf (why, size, "%s %d: %s", worker ? "worker" : "producer",
              worker ? index : index - (int) workers, which < -1 ? "exited" : record->text);
}

//  Take one record of child which into run
static void
s_take (s_run_t *run, size_t which, const e2e_record_t *record)
{
    e2e_child_t *kid = &run->kids [which];
    if (record->kind == E2E_REC_PROGRESS) {
        run->completed += record->count - kid->count;
        kid->count = record->count;
        kid->t1 = record->t1;
    }
    else if (record->kind == E2E_REC_DONE && !kid->done) {
        kid->done = true;
        kid->count = record->count;
        kid->t0 = record->t0;
        kid->t1 = record->t1;
        run->accepted += record->count;
        run->refused += record->value;
        if (record->value && !*run->first_error)
            snprintf (run->first_error, sizeof run->first_error, "%s", record->text);
        run->producers_done++;
    }
}

//  Follow the records until every producer is done and the workers
//  completed what they got accepted. 0, or -1 with why filled.
static int
s_follow (s_run_t *run, const peers_setup_t *setup, char *why, size_t size)
{
    int64_t deadline = e2e_now_ns () + (int64_t) setup->timeout_s * 1000000000;
    e2e_record_t record;
    while (run->producers_done < setup->producers || run->completed < run->accepted) {
        int which = e2e_next_record (run->kids, run->count, deadline, &record);
        if (which == -1) {
            snprintf (why, size,
                      "timed out after %d s: %" PRId64 " of %zu jobs completed, %zu of %zu "
                      "producers done",
                      setup->timeout_s, run->completed, setup->jobs, run->producers_done,
                      setup->producers);
            return -1;
        }
        if (which < -1 || record.kind == E2E_REC_FAIL) {
            s_why_failed (setup->workers, which, &record, why, size);
            return -1;
        }
        s_take (run, (size_t) which, &record);
    }
    return 0;
}

//  The CPU figures at the go
static void
s_cpu_start (s_run_t *run, const peers_procs_t *procs)
{
    run->cpu_server = s_cpu_ns (procs->server);
    run->cpu_proxy = procs->proxy ? s_cpu_ns (procs->proxy) : 0;
    for (size_t i = 0; i < run->count; i++)
        run->cpu [i] = s_cpu_ns (run->kids [i].pid);
}

//  The rate and the CPU per job of a run that finished, into result
static void
s_figures (s_run_t *run, const peers_setup_t *setup, const peers_procs_t *procs,
           int64_t wall_start, peers_result_t *result)
{
    double wall = (double) (e2e_now_ns () - wall_start);
    double jobs = run->completed > 0 ? (double) run->completed : 1;
    double server = (double) (s_cpu_ns (procs->server) - run->cpu_server);
    double proxy = procs->proxy ? (double) (s_cpu_ns (procs->proxy) - run->cpu_proxy) : 0;
    double workers = 0, producers = 0;
    int64_t first = INT64_MAX, last = 0;
    for (size_t i = 0; i < run->count; i++) {
        const e2e_child_t *kid = &run->kids [i];
        double used = (double) (s_cpu_ns (kid->pid) - run->cpu [i]);
        if (i < setup->workers) {
            workers += used;
            last = kid->t1 > last ? kid->t1 : last;
        }
        else {
            producers += used;
            first = kid->t0 < first ? kid->t0 : first;
        }
    }
    result->us_server = server / 1e3 / jobs;
    result->us_producers = producers / 1e3 / jobs;
    result->us_workers = workers / 1e3 / jobs;
    result->us_proxy = proxy / 1e3 / jobs;
    result->busy = (server + proxy + workers + producers) / wall;
    result->done = (size_t) run->completed;
    result->refused = (size_t) run->refused;
    result->rate = last > first ? (double) run->completed / ((double) (last - first) / 1e9) : 0;
    if (run->refused)
        snprintf (result->why, sizeof result->why, "%" PRId64 " refused, first: %s",
                  run->refused, run->first_error);
}

void
peers_run (const peers_setup_t *setup, const peers_procs_t *procs, e2e_body_fn *producer,
           e2e_body_fn *worker, peers_result_t *result)
{
    static s_run_t run;  //  Too large for the stack of a careful program
    memset (&run, 0, sizeof run);
    peers_setup = setup;
    if (s_fork (&run, setup->workers, "peers-worker", worker, procs->worker_endpoint,
                result->why, sizeof result->why)
        || s_fork (&run, setup->producers, "peers-producer", producer,
                   procs->producer_endpoint, result->why, sizeof result->why)) {
        e2e_stop (run.kids, run.count);
        return;
    }
    s_cpu_start (&run, procs);
    int64_t wall_start = e2e_now_ns ();
    for (size_t i = setup->workers; i < run.count; i++)
        e2e_tell (&run.kids [i], 'G', 0);
    if (s_follow (&run, setup, result->why, sizeof result->why) == 0) {
        s_figures (&run, setup, procs, wall_start, result);
        result->ok = run.refused == 0;
    }
    e2e_stop (run.kids, run.count);
}
