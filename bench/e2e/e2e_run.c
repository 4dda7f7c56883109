/*  =========================================================================
    e2e_run - bench_e2e: one job scenario

    A fresh zjobd (memory store, or a file store with fsync=always under
    the scenario's directory; with --http, its HTTP side on and a
    Prometheus server scraping it, e2e_http.c), its workers, then its
    producers; the run is
    timed from the first submit to the last result handed to a socket, its
    deadline is --timeout, and STATS confirms the broker completed every
    job.
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
//  A job scenario: fresh zjobd, 2 workers, 2 producers

static int
s_compare_int64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

//  The q-quantile of count sorted samples (ns), in usecs
static double
s_quantile (const int64_t *samples, size_t count, double q)
{
    size_t at = (size_t) (q * (double) (count - 1) + 0.5);
    return samples [at < count ? at : count - 1] / 1e3;
}

int
e2e_remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

//  What a run's records add up to
typedef struct {
    int64_t accepted;        //  jobs the producers got accepted
    int64_t completed;       //  jobs the workers completed
    int64_t refused;         //  SUBMITs refused
    char first_error [200];  //  the first refusal's message
    int64_t *samples;        //  paced: latency samples (ns), or NULL
    size_t sample_count;
} s_tally_t;

//  Follow the records of kids (workers, then producers) until the workers
//  completed every job the producers got accepted, at most until deadline.
//  Returns 0, or -1 with result->why filled.
static int
s_follow (e2e_child_t *kids, const e2e_scenario_t *scenario, int64_t deadline,
          s_tally_t *tally, e2e_result_t *result)
{
    size_t producers_done = 0;
    e2e_record_t record;
    while (producers_done < E2E_PRODUCERS || tally->completed < tally->accepted) {
        int which = e2e_next_record (kids, E2E_WORKERS + E2E_PRODUCERS, deadline, &record);
        if (which == -1) {
            snprintf (result->why, sizeof result->why,
                      "timed out after %d s: %" PRId64 " of %zu jobs completed, "
                      "%zu of %d producers done",
                      e2e_timeout_s, tally->completed, scenario->jobs,
                      producers_done, E2E_PRODUCERS);
            return -1;
        }
        if (which < -1 || record.kind == E2E_REC_FAIL) {
            int index = which < -1 ? -2 - which : which;
            snprintf (result->why, sizeof result->why, "%s %d: %s",
                      index < E2E_WORKERS ? "worker" : "producer",
                      index < E2E_WORKERS ? index : index - E2E_WORKERS,
                      which < -1 ? "exited" : record.text);
            return -1;
        }
        e2e_child_t *kid = &kids [which];
        if (record.kind == E2E_REC_PROGRESS || record.kind == E2E_REC_SAMPLE) {
            tally->completed += record.count - kid->count;
            kid->count = record.count;
            kid->t1 = record.t1;
            if (record.kind == E2E_REC_PROGRESS) {
                kid->t0 = record.t0;  //  Waits so far, and their time
                kid->value = record.value;
            }
            if (record.kind == E2E_REC_SAMPLE && record.value >= 0
                && tally->sample_count < scenario->jobs)
                tally->samples [tally->sample_count++] = record.value;
        }
        else if (record.kind == E2E_REC_DONE && !kid->done) {
            kid->done = true;
            kid->count = record.count;
            kid->t0 = record.t0;
            kid->t1 = record.t1;
            tally->accepted += record.count;
            tally->refused += record.value;
            if (record.value && !*tally->first_error)
                snprintf (tally->first_error, sizeof tally->first_error, "%s", record.text);
            producers_done++;
        }
    }
    return 0;
}

//  The CPU each process used since the start figures, as a share of one
//  core, into result
static void
s_cpu_figures (pid_t broker_pid, const e2e_child_t *kids, const int64_t *cpu_start,
               int64_t sys_start, int64_t wall_start, e2e_result_t *result)
{
    double wall = (double) (e2e_now_ns () - wall_start);
    result->cpu_wall = wall;
    int64_t sys;
    int64_t cpu_all = e2e_cpu_ns (broker_pid, &sys) - cpu_start [0], sys_end = sys;
    result->cpu_broker = 100.0 * (double) cpu_all / wall;
    for (size_t i = 0; i < E2E_WORKERS + E2E_PRODUCERS; i++) {
        int64_t used = e2e_cpu_ns (kids [i].pid, &sys) - cpu_start [1 + i];
        double cpu = 100.0 * (double) used / wall;
        cpu_all += used;
        sys_end += sys;
        if (i < E2E_WORKERS) {
            result->cpu_workers [i] = cpu;
            result->waits += kids [i].value;
            result->waited_ns += kids [i].t0;
        }
        else
            result->cpu_producers [i - E2E_WORKERS] = cpu;
    }
    result->cpu_sys = cpu_all > 0 ? 100.0 * (double) (sys_end - sys_start) / (double) cpu_all : 0;
}

//  The rates and latencies of a run that finished, into result
static void
s_figures (const e2e_child_t *workers, const e2e_child_t *producers, s_tally_t *tally,
           e2e_result_t *result)
{
    int64_t first = INT64_MAX, last_ack = 0, last_done = 0;
    for (size_t i = 0; i < E2E_PRODUCERS; i++) {
        first = producers [i].t0 < first ? producers [i].t0 : first;
        last_ack = producers [i].t1 > last_ack ? producers [i].t1 : last_ack;
    }
    for (size_t i = 0; i < E2E_WORKERS; i++) {
        last_done = workers [i].t1 > last_done ? workers [i].t1 : last_done;
        result->split [i] = (size_t) workers [i].count;
    }
    result->done = (size_t) tally->completed;
    result->errors = (size_t) tally->refused;
    result->rate = (double) tally->completed / ((double) (last_done - first) / 1e9);
    result->submit_rate = (double) tally->accepted / ((double) (last_ack - first) / 1e9);
    if (tally->refused)
        snprintf (result->why, sizeof result->why, "%" PRId64 " jobs refused, first: %s",
                  tally->refused, tally->first_error);
    if (tally->samples && tally->sample_count) {
        qsort (tally->samples, tally->sample_count, sizeof (int64_t), s_compare_int64);
        result->p50 = s_quantile (tally->samples, tally->sample_count, 0.50);
        result->p90 = s_quantile (tally->samples, tally->sample_count, 0.90);
        result->p99 = s_quantile (tally->samples, tally->sample_count, 0.99);
        result->max = tally->samples [tally->sample_count - 1] / 1e3;
    }
}

//  The store spec of scenario into store (size bytes), and the directory
//  of its files (removed after the run) into data_dir (E2E_PATH_MAX bytes;
//  "" for none). 0, or -1 with result->why set.
static int
s_store_spec (const e2e_scenario_t *scenario, const char *dir, char *store, size_t size,
              char *data_dir, e2e_result_t *result)
{
    if (scenario->store) {
        //  A fresh store of its kind, its files in a directory of its own;
        //  the PostgreSQL server's under the run's
        if (streq (scenario->store->kind, "postgres") && bench_pg_start (dir)) {
            snprintf (result->why, sizeof result->why, "cannot start PostgreSQL");
            return -1;
        }
        snprintf (data_dir, E2E_PATH_MAX, "%s/%s-%s", dir, scenario->key, scenario->store->kind);
        if (zsys_dir_create ("%s", data_dir)
            || bench_store_fresh (scenario->store, data_dir, scenario->key, store, size)) {
            snprintf (result->why, sizeof result->why, "cannot make a %s store in %s",
                      scenario->store->kind, data_dir);
            return -1;
        }
    }
    else if (scenario->file) {
        snprintf (data_dir, E2E_PATH_MAX, "%s/%s", dir, scenario->key);
        snprintf (store, size, "file:%s?fsync=always", data_dir);
    }
    else
        snprintf (store, size, "memory:");
    return 0;
}

//  The broker's own count of completed jobs and fsyncs, asked through
//  the first producer (-1 if it does not answer within 15 s)
static void
s_broker_count (e2e_child_t *producers, int64_t accepted, e2e_result_t *result)
{
    result->broker_completed = -1;
    result->fsyncs = -1;
    e2e_tell (&producers [0], 'S', accepted);
    int64_t stats_deadline = e2e_now_ns () + (int64_t) 15 * 1000000000;
    e2e_record_t record;
    while (e2e_next_record (producers, 1, stats_deadline, &record) == 0)
        if (record.kind == E2E_REC_STATS) {
            result->broker_completed = record.count;
            result->fsyncs = record.t0;
            break;
        }
}

void
e2e_run_jobs (const e2e_scenario_t *scenario, const char *dir, e2e_result_t *result)
{
    char log [E2E_PATH_MAX];
    snprintf (log, sizeof log, "%s/zjobd-%s.log", dir, scenario->key);
    char store [E2E_PATH_MAX + 64];  //  data_dir and the options
    char data_dir [E2E_PATH_MAX] = "";
    if (s_store_spec (scenario, dir, store, sizeof store, data_dir, result))
        return;

    //  Workers first, then producers, in one array for polling
    enum { KIDS = E2E_WORKERS + E2E_PRODUCERS };
    e2e_child_t kids [KIDS];
    e2e_child_t *workers = kids, *producers = kids + E2E_WORKERS;
    size_t started = 0;
    s_tally_t tally = { 0 };
    e2e_broker_t broker;
    e2e_prom_t prom = { 0 };
    if (e2e_broker_start (&broker, store, scenario->curve, scenario->http, log, result->why,
                          sizeof result->why))
        goto stop;
    if (scenario->http
        && e2e_prom_start (&prom, dir, scenario->key, broker.http, result->why, sizeof result->why))
        goto stop;
    e2e_role_t role = { .scenario = scenario, .endpoint = broker.workers };
    for (size_t i = 0; i < E2E_WORKERS; i++, started++) {
        role.index = i;
        if (e2e_spawn (&workers [i], "e2e-worker", e2e_worker, &role))
            goto fork_failed;
    }
    if (e2e_await_ready (workers, E2E_WORKERS, "worker", result->why, sizeof result->why))
        goto stop;
    role.endpoint = broker.clients;
    for (size_t i = 0; i < E2E_PRODUCERS; i++, started++) {
        role.index = i;
        if (e2e_spawn (&producers [i], "e2e-producer", e2e_producer, &role))
            goto fork_failed;
    }
    if (e2e_await_ready (producers, E2E_PRODUCERS, "producer", result->why, sizeof result->why))
        goto stop;
    if (scenario->mode == E2E_PACED
        && !(tally.samples = (int64_t *) calloc (scenario->jobs, sizeof (int64_t)))) {
        snprintf (result->why, sizeof result->why, "out of memory");
        goto stop;
    }

    //  --settle: idle, every process ready (a pause on purpose, not a wait
    //  for a condition: bench_e2e.c says why)
    if (e2e_settle_ms > 0) {
        struct timespec pause = { e2e_settle_ms / 1000, (long) (e2e_settle_ms % 1000) * 1000000 };
        nanosleep (&pause, NULL);
    }

    //  Go, and follow the counts until the workers completed every job
    //  the producers got accepted
    int64_t cpu_start [1 + KIDS], sys, sys_start = 0;
    cpu_start [0] = e2e_cpu_ns (broker.pid, &sys);
    sys_start += sys;
    for (size_t i = 0; i < KIDS; i++) {
        cpu_start [1 + i] = e2e_cpu_ns (kids [i].pid, &sys);
        sys_start += sys;
    }
    int64_t prom_cpu = scenario->http ? e2e_cpu_ns (prom.pid, NULL) : 0;
    int64_t wall_start = e2e_now_ns ();
    for (size_t i = 0; i < E2E_PRODUCERS; i++)
        e2e_tell (&producers [i], 'G', 0);
    int64_t deadline = e2e_now_ns () + (int64_t) e2e_timeout_s * 1000000000;
    if (s_follow (kids, scenario, deadline, &tally, result))
        goto stop;

    s_cpu_figures (broker.pid, kids, cpu_start, sys_start, wall_start, result);
    if (scenario->http) {
        prom_cpu = e2e_cpu_ns (prom.pid, NULL) - prom_cpu;
        result->prom_cpu = 100.0 * (double) prom_cpu / result->cpu_wall;
        e2e_prom_check (&prom, result);
    }

    s_broker_count (producers, tally.accepted, result);
    s_figures (workers, producers, &tally, result);
    result->ok = true;
    goto stop;

fork_failed:
    snprintf (result->why, sizeof result->why, "cannot fork: %s", strerror (errno));
stop:
    e2e_stop (kids, started);
    e2e_prom_stop (&prom, !result->ok);
    e2e_broker_stop (&broker);
    if (!result->ok)
        e2e_broker_log_tail (&broker);
    free (tally.samples);
    if (*data_dir)
        nftw (data_dir, e2e_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void
e2e_stores_stop (void)
{
    bench_pg_stop ();
}
