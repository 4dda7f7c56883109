/*  =========================================================================
    bench_e2e - end-to-end figures: broker, 2 producers, 2 workers

    Each job scenario runs on a fresh `zjobd` (the real daemon, from
    ZJOB_BIN_DIR, bound to tcp://127.0.0.1:*, --max-concurrent 0 so that
    the workers' slots are the only limit), with 2 producer processes and
    2 worker processes using libzjob, 100-byte msgpack inputs and no-op
    work (a worker completes each job, without outputs, as soon as recv
    hands it over). The scenarios:

      echo      the plain ZeroMQ echo round trip: a DEALER client process
                and a ROUTER echo server process over tcp://127.0.0.1,
                strictly one 100-byte message in flight; echo2: two client
                processes on one server (the shape of 2 strict producers);
                echo4: four, the shape of the strict scenario's 4
                connections (2 producers, 2 workers), the "68,000/s
                over four" from which it derived the strict ceiling.
                Every figure is also printed as a ratio to the 1-connection
                echo rate measured in the same run, since this machine is
                shared and its absolute speed varies from run to run;
                echo-end measures it again at the end, to show the drift.
      strict    each producer submits one job at a time (synchronous
                zjob_client_submit); workers have 1 slot.
      window    each producer keeps --window single-job SUBMITs in flight
                (asynchronous API); workers have --slots (16) slots.
      batch     each producer keeps --batch-window SUBMITs of --batch specs
                in flight; workers have 16 slots.
      *-single  window and batch ("unbatched" in the table) with workers
                that do not batch (ZJOB_WORKER_BATCH=0: one job per JOB,
                one result per RESULT, PROTOCOL.md 10.3, 10.5), to compare
                with the batching default in the same run.
      *-file    the same on the file store with fsync=always (every SUBMIT
                and RESULT fsynced before its OK, one fsync per loop pass).
      latency   producers submit at a paced --rate jobs/s in all, each
                input carrying its CLOCK_MONOTONIC submit time; the worker
                takes (now - submit time) when recv hands it the job: submit
                to handler start. Memory store, and file store (fsync=always).

    Throughput is jobs / (T_end - T_start): T_start is the earliest first
    submit of the two producers, T_end the last moment a worker handed a
    RESULT to its socket (zjob_worker_complete returned), both on
    CLOCK_MONOTONIC, which all processes share. The broker's last
    acknowledgement (and last fsync) is outside the interval: at most one
    loop pass. After each run a producer checks with STATS that the broker
    counts every job as completed.

    Each target is judged twice: as the issue states it, and scaled by this
    machine's one-connection echo rate over the 20,000 round trips/s that
    the issue measured where it set its targets ("about 50 us, 20,000
    round trips/s on one connection"), which is the ratio to the echo the
    target asks for. To tell where the time goes, each run also reports the CPU
    time (from /proc, all threads, user and kernel) that the broker, the
    producers and the workers used, per job and as a share of a core.

    Processes. The parent never touches ZeroMQ: it forks every producer,
    worker and echo process before any of them creates a context (a CZMQ
    context does not survive fork) and runs zjobd with fork and exec; it
    talks with its children over pipes of fixed-size records, so it learns
    readiness without sleeping (zjobd: its ready line; a worker: the broker
    acknowledged its READY; a producer: the broker answered its PING).
    Every child dies with the parent (PR_SET_PDEATHSIG), is stopped at the
    end of its scenario (EOF on its control pipe, SIGKILL after a grace
    period; zjobd: SIGTERM, then SIGKILL), and every scenario has a
    deadline: one that does not finish in time is reported as timed out
    and the next one runs. zjobd's log goes to a file, shown on failure.

    The machine's cores are shared by the broker, the 2 producers and the
    2 workers (and the ZeroMQ I/O thread of each), so CPU contention is
    part of every figure.

    Rounds. On a shared machine one run of a scenario can land 20% away
    from the next. --rounds N runs the selection N times in turn (echo,
    strict, echo, strict, ...), so each round's ratios compare figures
    taken minutes apart at most, and ends with the median of each
    scenario's rate, of its ratio to the echo of its own round, and, for
    strict, of its share of its own round's echo4 ceiling.

    CURVE. --curve on runs the job scenarios on a zjobd with CURVE
    (--curve-secret, --keys), its producers and workers connected with
    keys of their roles (bench/e2e/e2e_curve.c), the keys made once per
    run under the run's directory. --curve compare runs each job scenario
    twice in every round, without CURVE and with it, one right after the
    other (which goes first alternates by round, so a drift in the
    machine's speed favours neither), and prints after the pair the ratio
    of their rates and the CPU per job of each; with --rounds, the median
    of those ratios, each taken within its round.

    HTTP. --http on runs the job scenarios on a zjobd with its HTTP side
    (--http 127.0.0.1:0) and, for each scenario, a real Prometheus server
    (Debian's /usr/bin/prometheus, its own process on the same CPUs)
    scraping its /metrics every second (bench/e2e/e2e_http.c); the run
    starts once Prometheus has scraped zjobd once, and after it the
    server is asked what it did (scrapes, how many succeeded, their mean
    duration, the zjob_ series it holds), which is printed with the
    scenario. --http compare pairs the scenarios as --curve compare does
    (one comparison at a time); without Prometheus, --http on and compare
    exit 2. A scenario with --http starts seconds after its zjobd (waiting
    for Prometheus to be ready and to scrape once), one without it at
    once: in a first try without a pause, the side with --http was the
    faster in each of 3 rounds (1.04..1.16x; the machine busy with the
    previous scenario's end, or zjobd's first seconds?), so with
    --http compare every job scenario first idles --settle ms (2,000 by
    default), its processes ready, and both sides of a pair start alike.

    Stores. --store SPEC runs the job scenarios that are not *-file on
    SPEC, or on a fresh store of a kind (file, sqlite, postgres: see
    bench/bench_stores.h; postgres on a server the bench starts itself,
    fsync on, and stops at its end). --store-compare runs each of them
    three times in every round, on the file store (fsync=always), SQLite
    (sync=full) and PostgreSQL, in an order that turns by round (so a
    drift of the machine's speed favours none), and ends with the ratios
    of the medians to the file store's: what a broker on a database
    costs against the journal, on the same machine at the same time.

    Usage: bench_e2e [--quick] [--jobs N] [--strict-jobs N] [--latency-jobs N]
                     [--rate R] [--window W] [--batch B] [--batch-window W]
                     [--slots N] [--timeout SECS] [--dir D] [--only LIST]
                     [--max-concurrent N] [--rounds N] [--curve on|off|compare]
                     [--http on|off|compare] [--settle MS]
                     [--store SPEC|file|sqlite|postgres] [--store-compare]
    ZJOB_BENCH_ZJOBD=PATH runs that zjobd instead of the one built beside
    it: two builds of the broker, compared by alternating runs.
    ZJOB_BENCH_IPC=DIR binds zjobd's three sockets to ipc:// endpoints in
    DIR instead of tcp://127.0.0.1 (the echo stays on tcp).
    This is a benchmark, not a test: it prints figures and exits 0.
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

//  Options (declared in e2e.h, where the other parts read them)
size_t e2e_jobs = 200000;               //  jobs per pipelined/batched scenario
size_t e2e_strict_jobs = 60000;         //  jobs per strict scenario
size_t e2e_latency_jobs = 3000;         //  jobs per latency scenario
size_t e2e_echo_trips = 20000;          //  round trips per echo client
size_t e2e_rounds = 1;                  //  times the selection runs (--rounds)
double e2e_rate = 1000;                 //  jobs/s, in total, in the latency scenarios
size_t e2e_window = 100;                //  single-job SUBMITs in flight per producer
size_t e2e_batch = 100;                 //  specs per SUBMIT, batched scenarios
size_t e2e_batch_window = 10;           //  batched SUBMITs in flight per producer
size_t e2e_slots = 16;                  //  slots per worker, pipelined scenarios
int e2e_timeout_s = 60;                 //  secs a scenario may take
const char *e2e_base_dir = NULL;        //  where the file stores go
const char *e2e_only = NULL;            //  comma-separated scenario keys, or all
const char *e2e_max_concurrent = "0";   //  zjobd --max-concurrent (0: no limit)
e2e_curve_t e2e_curve = E2E_CURVE_OFF;  //  job scenarios with CURVE, without, or both
e2e_http_t e2e_http = E2E_HTTP_OFF;     //  job scenarios with --http + Prometheus, without, or both
int e2e_settle_ms = -1;                 //  msecs idle before each job scenario; -1: auto
bench_store_t e2e_store;                //  --store, kind "" if not given
bool e2e_store_compare = false;         //  --store-compare
bench_store_t e2e_compared_stores [E2E_COMPARED_STORES] = {
    { "file", "" }, { "sqlite", "" }, { "postgres", "" }
};

static bool
s_selected (const char *key)
{
    if (!e2e_only)
        return true;
    size_t length = strlen (key);
    for (const char *at = e2e_only; *at;) {
        size_t item = strcspn (at, ",");
        if (item == length && strncmp (at, key, length) == 0)
            return true;
        at += item + (at [item] == ',');
    }
    return false;
}

static void
s_usage (void)
{
    fprintf (stderr,
             "usage: bench_e2e [--quick] [--jobs N] [--strict-jobs N] [--latency-jobs N]\n"
             "                 [--rate R] [--window W] [--batch B] [--batch-window W]\n"
             "                 [--slots N] [--timeout SECS] [--dir D] [--only LIST]\n"
             "                 [--max-concurrent N] [--rounds N] [--curve on|off|compare]\n"
             "                 [--http on|off|compare] [--settle MS]\n"
             "                 [--store SPEC|file|sqlite|postgres] [--store-compare]\n"
             "  --only takes scenario keys separated by commas: echo, echo2, echo4, strict,\n"
             "  window, window-single, batch, batch-single, strict-file, window-file,\n"
             "  batch-file, latency, latency-file,\n"
             "  echo-end (the echo again, to see how the machine's speed drifted)\n"
             "  --rounds N runs the selection N times in turn and ends with medians\n"
             "  --curve on runs the job scenarios with CURVE (zjobd --curve-secret --keys,\n"
             "  peers with keys); compare runs each with and without it, in turn\n"
             "  --http on runs the job scenarios on a zjobd with --http 127.0.0.1:0 and a\n"
             "  Prometheus server (/usr/bin/prometheus) scraping its /metrics every second;\n"
             "  compare runs each with and without them, in turn (not with --curve compare)\n"
             "  --settle MS: each job scenario idles MS ms, all ready, before it starts\n"
             "  (default 2,000 with --http compare, so both sides of a pair start alike)\n"
             "  --store: the job scenarios (not *-file) on that store, fresh for each;\n"
             "  --store-compare: each on file, sqlite and postgres in turn, ratios to file\n");
}

static size_t
s_size_arg (const char *value)
{
    char *end;
    unsigned long long n = strtoull (value, &end, 10);
    if (*end || n == 0) {
        s_usage ();
        exit (2);
    }
    return (size_t) n;
}

//  Set the options from the command line. Returns 0, or the exit code
//  (2) after a usage error.
static int
s_parse_options (int argc, char *argv [])
{
    for (int arg = 1; arg < argc; arg++) {
        const char *flag = argv [arg];
        const char *value = arg + 1 < argc ? argv [arg + 1] : NULL;
        if (streq (flag, "--store-compare")) {
            e2e_store_compare = true;
            continue;
        }
        if (streq (flag, "--quick")) {
            e2e_jobs = 40000;
            e2e_strict_jobs = 10000;
            e2e_latency_jobs = 1000;
            e2e_echo_trips = 5000;
            continue;
        }
        if (!value) {
            s_usage ();
            return 2;
        }
        arg++;
        if (streq (flag, "--jobs"))
            e2e_jobs = s_size_arg (value);
        else if (streq (flag, "--strict-jobs"))
            e2e_strict_jobs = s_size_arg (value);
        else if (streq (flag, "--latency-jobs"))
            e2e_latency_jobs = s_size_arg (value);
        else if (streq (flag, "--rate"))
            e2e_rate = (double) s_size_arg (value);
        else if (streq (flag, "--window"))
            e2e_window = s_size_arg (value);
        else if (streq (flag, "--batch"))
            e2e_batch = s_size_arg (value);
        else if (streq (flag, "--batch-window"))
            e2e_batch_window = s_size_arg (value);
        else if (streq (flag, "--slots"))
            e2e_slots = s_size_arg (value);
        else if (streq (flag, "--timeout"))
            e2e_timeout_s = (int) s_size_arg (value);
        else if (streq (flag, "--dir"))
            e2e_base_dir = value;
        else if (streq (flag, "--only"))
            e2e_only = value;
        else if (streq (flag, "--max-concurrent"))
            e2e_max_concurrent = value;
        else if (streq (flag, "--rounds"))
            e2e_rounds = s_size_arg (value);
        else if (streq (flag, "--store")) {
            bench_store_t stores [BENCH_STORES_MAX];
            if (bench_stores_parse (value, stores) != 1) {
                fprintf (stderr, "bench_e2e: --store takes one store\n");
                return 2;
            }
            e2e_store = stores [0];
        }
        else if (streq (flag, "--settle"))
            e2e_settle_ms = streq (value, "0") ? 0 : (int) s_size_arg (value);
        else if (streq (flag, "--curve") && streq (value, "on"))
            e2e_curve = E2E_CURVE_ON;
        else if (streq (flag, "--curve") && streq (value, "off"))
            e2e_curve = E2E_CURVE_OFF;
        else if (streq (flag, "--curve") && streq (value, "compare"))
            e2e_curve = E2E_CURVE_COMPARE;
        else if (streq (flag, "--http") && streq (value, "on"))
            e2e_http = E2E_HTTP_ON;
        else if (streq (flag, "--http") && streq (value, "off"))
            e2e_http = E2E_HTTP_OFF;
        else if (streq (flag, "--http") && streq (value, "compare"))
            e2e_http = E2E_HTTP_COMPARE;
        else {
            s_usage ();
            return 2;
        }
    }
    if (e2e_window > ZJOB_INFLIGHT_MAX || e2e_batch_window > ZJOB_INFLIGHT_MAX
        || e2e_batch > ZJOB_BATCH_MAX || e2e_slots > ZJOB_SLOTS_MAX) {
        fprintf (stderr, "bench_e2e: windows are at most %d, batches %d, slots %d\n",
                 ZJOB_INFLIGHT_MAX, ZJOB_BATCH_MAX, ZJOB_SLOTS_MAX);
        return 2;
    }
    if (e2e_settle_ms < 0)
        e2e_settle_ms = e2e_http == E2E_HTTP_COMPARE ? 2000 : 0;
    if ((e2e_curve == E2E_CURVE_COMPARE) + (e2e_http == E2E_HTTP_COMPARE) + e2e_store_compare
        > 1) {
        fprintf (stderr, "bench_e2e: --curve compare, --http compare, --store-compare: one"
                         " comparison at a time\n");
        return 2;
    }
    if (e2e_http != E2E_HTTP_OFF && access (e2e_prom_path (), X_OK)) {
        fprintf (stderr, "bench_e2e: --http needs a Prometheus server: %s is missing (Debian's"
                         " prometheus package; or set ZJOB_BENCH_PROMETHEUS)\n",
                 e2e_prom_path ());
        return 2;
    }
    return 0;
}

//  Fill in each scenario's label for the table
static void
s_label (e2e_scenario_t *scenarios, size_t count)
{
    char rate [32];
    for (size_t i = 0; i < count; i++) {
        e2e_scenario_t *scenario = &scenarios [i];
        switch (scenario->mode) {
            case E2E_ECHO:
                snprintf (scenario->label, sizeof scenario->label, "echo round trip, %zu conn%s%s",
                          scenario->jobs, scenario->jobs > 1 ? "s" : "",
                          i > 0 && scenario->jobs == 1 ? ", again" : "");
                break;
            case E2E_STRICT:
                snprintf (scenario->label, sizeof scenario->label, "strict w=1, 1 slot");
                break;
            case E2E_WINDOW:
                if (scenario->single)
                    snprintf (scenario->label, sizeof scenario->label, "pipelined w=%zu, unbatched",
                              scenario->window);
                else
                    snprintf (scenario->label, sizeof scenario->label, "pipelined w=%zu, %zu slots",
                              scenario->window, scenario->slots);
                break;
            case E2E_BATCH:
                if (scenario->single)
                    snprintf (scenario->label, sizeof scenario->label,
                              "batched %zu x w=%zu, unbatched", scenario->batch, scenario->window);
                else
                    snprintf (scenario->label, sizeof scenario->label,
                              "batched %zu x w=%zu, %zu slots", scenario->batch, scenario->window,
                              scenario->slots);
                break;
            case E2E_PACED:
                snprintf (scenario->label, sizeof scenario->label, "latency @%s/s, %zu slots",
                          e2e_thousands (e2e_rate, rate, sizeof rate), scenario->slots);
                break;
        }
        size_t length = strlen (scenario->label);
        if (scenario->curve)
            snprintf (scenario->label + length, sizeof scenario->label - length, ", CURVE");
        length = strlen (scenario->label);
        if (scenario->http)
            snprintf (scenario->label + length, sizeof scenario->label - length, ", http");
    }
}

//  What the figures are, printed once above them; files says whether
//  file stores go under dir
static void
s_print_header (const char *dir, bool files)
{
    char load [64] = "?", fs [32];
    FILE *file = fopen ("/proc/loadavg", "r");
    if (file) {
        if (!fgets (load, sizeof load, file))
            snprintf (load, sizeof load, "?");
        load [strcspn (load, "\n")] = 0;
        fclose (file);
    }
    printf ("bench_e2e: zjobd + %d producer processes + %d worker processes, %d-byte inputs,"
            " no-op work\n",
            E2E_PRODUCERS, E2E_WORKERS, E2E_INPUT_SIZE);
    printf ("  %ld CPUs online, shared by all of them (contention is part of every figure);"
            " load average before: %s\n",
            sysconf (_SC_NPROCESSORS_ONLN), load);
    char store [BENCH_SPEC_MAX + 64] = "memory:";
    if (e2e_store.kind [0])
        bench_store_label (&e2e_store, store, sizeof store);
    if (e2e_store_compare)
        snprintf (store, sizeof store, "file:DIR?fsync=always | sqlite:DIR?sync=full | "
                                       "postgres (a server of the bench's own, fsync on)");
    printf ("  broker: %s/zjobd --store %s | file:DIR?fsync=always --max-concurrent %s\n",
            ZJOB_BIN_DIR, store, e2e_max_concurrent);
    if (e2e_store_compare)
        printf ("  each job scenario runs on file, sqlite and postgres in turn, each on a fresh"
                " store; the order turns by round\n");
    if (files)
        printf ("  file stores under %s (%s)\n", dir, e2e_fs_type (dir, fs, sizeof fs));
    if (e2e_curve != E2E_CURVE_OFF)
        printf ("  CURVE: zjobd --curve-secret --keys %s; producers with a client key (user"
                " bench), workers with a worker key (workflow bench)%s\n",
                e2e_curve_keys_dir (),
                e2e_curve == E2E_CURVE_COMPARE ? "; each job scenario runs without CURVE and"
                                                 " with it, in turn (which first alternates by"
                                                 " round)"
                                               : "");
    if (e2e_http != E2E_HTTP_OFF)
        printf ("  http: zjobd --http 127.0.0.1:0 and a Prometheus server (%s, its own process"
                " on the same CPUs) scraping its /metrics every 1 s, started for each scenario%s\n",
                e2e_prom_path (),
                e2e_http == E2E_HTTP_COMPARE ? "; each job scenario runs without them and with"
                                               " them, in turn (which first alternates by round)"
                                             : "");
    if (e2e_settle_ms > 0)
        printf ("  each job scenario idles %d ms, its processes ready, before it starts\n",
                e2e_settle_ms);
    printf ("  echo: plain libzmq DEALER -> ROUTER echo, 1 client process (or 2, or 4) and 1 server"
            " process, one %d-byte message in flight per client, %zu round trips each\n",
            E2E_INPUT_SIZE, e2e_echo_trips);
    printf ("  jobs/s = jobs / (last zjob_worker_complete - first submit), CLOCK_MONOTONIC;"
            " x = ratio to the 1-connection echo round trips/s\n");
    printf ("  latency = recv handing the job to the worker - submit call, per job; also in"
            " 1-connection echo round trips\n");
    printf ("  scaled target = the issue's target x (echo here / %s, the echo rate the targets"
            " were set against)\n\n",
            "20,000");
}

//  The scenarios to run, from base (count of them) into out (room for
//  twice as many) as --curve and --http say: a job scenario as it is
//  (off), with the option (on), or twice, without it and then with it
//  (compare). The echoes run as they are. Returns how many are in out.
static size_t
s_expand (const e2e_scenario_t *base, size_t count, e2e_scenario_t *out)
{
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        bool jobs = base [i].mode != E2E_ECHO;
        out [used] = base [i];
        out [used].curve = jobs && e2e_curve == E2E_CURVE_ON;
        out [used++].http = jobs && e2e_http == E2E_HTTP_ON;
        if (jobs && (e2e_curve == E2E_CURVE_COMPARE || e2e_http == E2E_HTTP_COMPARE)) {
            out [used] = out [used - 1];
            if (e2e_curve == E2E_CURVE_COMPARE)
                out [used].curve = true;
            else
                out [used].http = true;
            used++;
        }
        if (jobs && !base [i].file && e2e_store_compare) {
            //  This one on each compared store, in a row
            e2e_scenario_t plain = out [--used];
            for (size_t variant = 0; variant < E2E_COMPARED_STORES; variant++) {
                out [used] = plain;
                out [used].store = &e2e_compared_stores [variant];
                out [used++].variant = variant;
            }
        }
        else if (jobs && !base [i].file && e2e_store.kind [0])
            out [used - 1].store = &e2e_store;
    }
    return used;
}

//  With --curve or --http compare, the other scenario of the pair
//  scenario i is in (the same one without the option just before it,
//  with it just after it), else i itself
static size_t
s_twin (const e2e_scenario_t *scenarios, size_t count, size_t i)
{
    if ((e2e_curve != E2E_CURVE_COMPARE && e2e_http != E2E_HTTP_COMPARE)
        || scenarios [i].mode == E2E_ECHO)
        return i;
    return e2e_variant (&scenarios [i]) ? i - 1 : i + 1;
}

//  Run the selected scenarios once, into results (count of them), and
//  print each as it ends. With --curve compare, a pair runs without CURVE
//  first in even rounds and with it first in odd ones (a machine whose
//  speed drifts during a round favours neither), and its ratio follows
//  the second.
static void
s_run_round (const e2e_scenario_t *scenarios, size_t count, size_t round, const char *dir,
             e2e_result_t *results)
{
    e2e_echo4 = NULL;
    for (size_t slot = 0; slot < count; slot++) {
        size_t i = round % 2 ? s_twin (scenarios, count, slot) : slot;
        if (e2e_store_compare && scenarios [slot].store) {
            //  The compared stores in an order that turns by round
            size_t first = slot - scenarios [slot].variant;
            i = first + (scenarios [slot].variant + round) % E2E_COMPARED_STORES;
        }
        const e2e_scenario_t *scenario = &scenarios [i];
        if (!s_selected (scenario->key))
            continue;
        results [i].ran = true;
        if (scenario->mode == E2E_ECHO) {
            e2e_run_echo (scenario, &results [i]);
            if (scenario->jobs == E2E_ECHO_CLIENTS_MAX)
                e2e_echo4 = &results [i];
        }
        else
            e2e_run_jobs (scenario, dir, &results [i]);
        e2e_print_row (scenario, &results [i], &results [0]);
        e2e_print_details (scenario, &results [i]);
        size_t twin = s_twin (scenarios, count, slot);
        if (twin < slot)  //  The pair's second: both ran
            e2e_print_curve_ratio (scenario, &results [twin], &results [slot]);
        if (e2e_store_compare && scenarios [slot].store
            && scenarios [slot].variant == E2E_COMPARED_STORES - 1)
            e2e_print_store_ratios (scenarios + slot + 1 - E2E_COMPARED_STORES,
                                    results + slot + 1 - E2E_COMPARED_STORES, 1, count);
        fflush (stdout);
    }
}

int
main (int argc, char *argv [])
{
    int code = s_parse_options (argc, argv);
    if (code)
        return code;

    e2e_scenario_t base [] = {
        { "echo", "", E2E_ECHO, false, 1, 1, 1, 1, 0, false, false, false, NULL, 0 },
        { "echo2", "", E2E_ECHO, false, 2, 1, 1, 1, 0, false, false, false, NULL, 0 },
        { "echo4", "", E2E_ECHO, false, 4, 1, 1, 1, 0, false, false, false, NULL, 0 },
        { "strict", "", E2E_STRICT, false, e2e_strict_jobs, 1, 1, 1, 30000, false, false, false, NULL, 0 },
        { "window", "", E2E_WINDOW, false, e2e_jobs, e2e_window, 1, e2e_slots, 200000,
          false, false, false, NULL, 0 },
        { "window-single", "", E2E_WINDOW, false, e2e_jobs, e2e_window, 1, e2e_slots, 0, true, false, false, NULL, 0 },
        { "batch", "", E2E_BATCH, false, e2e_jobs, e2e_batch_window, e2e_batch, e2e_slots,
          200000, false, false, false, NULL, 0 },
        { "batch-single", "", E2E_BATCH, false, e2e_jobs, e2e_batch_window, e2e_batch, e2e_slots,
          0, true, false, false, NULL, 0 },
        { "strict-file", "", E2E_STRICT, true, e2e_strict_jobs / 6, 1, 1, 1, 0, false, false, false, NULL, 0 },
        { "window-file", "", E2E_WINDOW, true, e2e_jobs, e2e_window, 1, e2e_slots, 100000,
          false, false, false, NULL, 0 },
        { "batch-file", "", E2E_BATCH, true, e2e_jobs, e2e_batch_window, e2e_batch, e2e_slots,
          100000, false, false, false, NULL, 0 },
        { "latency", "", E2E_PACED, false, e2e_latency_jobs, 1, 1, e2e_slots, 1, false, false, false, NULL, 0 },
        { "latency-file", "", E2E_PACED, true, e2e_latency_jobs, 1, 1, e2e_slots, 0, false, false, false, NULL, 0 },
        { "echo-end", "", E2E_ECHO, false, 1, 1, 1, 1, 0, false, false, false, NULL, 0 },
    };
    e2e_scenario_t scenarios [E2E_COMPARED_STORES * sizeof base / sizeof base [0]];
    size_t count = s_expand (base, sizeof base / sizeof base [0], scenarios);
    s_label (scenarios, count);

    //  Where the file stores, zjobd's logs and the keys go
    char dir [1024] = "";
    bool files = false;
    for (size_t i = 0; i < count; i++)
        files |= scenarios [i].file && s_selected (scenarios [i].key);
    {
        const char *base_dir = e2e_base_dir ? e2e_base_dir
            : getenv ("TMPDIR")             ? getenv ("TMPDIR")
                                            : "/tmp";
        snprintf (dir, sizeof dir, "%s/zjob-bench-XXXXXX", base_dir);
        if (!mkdtemp (dir)) {
            fprintf (stderr, "bench_e2e: cannot create a directory in %s: %s\n", base_dir,
                     strerror (errno));
            return 1;
        }
    }
    char why [256];
    if (e2e_curve != E2E_CURVE_OFF && e2e_curve_keys (dir, why, sizeof why)) {
        fprintf (stderr, "bench_e2e: %s\n", why);
        nftw (dir, e2e_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 1;
    }

    s_print_header (dir, files);

    e2e_result_t *rounds = (e2e_result_t *) calloc (e2e_rounds * count, sizeof (e2e_result_t));
    if (!rounds) {
        fprintf (stderr, "bench_e2e: out of memory\n");
        return 1;
    }
    for (size_t round = 0; round < e2e_rounds; round++) {
        if (e2e_rounds > 1)
            printf ("Round %zu of %zu\n", round + 1, e2e_rounds);
        s_run_round (scenarios, count, round, dir, rounds + round * count);
        if (e2e_rounds > 1)
            printf ("\n");
    }

    if (e2e_rounds == 1) {
        printf ("\nSummary\n");
        for (size_t i = 0; i < count; i++)
            if (rounds [i].ran) {
                e2e_print_row (&scenarios [i], &rounds [i], &rounds [0]);
                if (s_twin (scenarios, count, i) < i && rounds [i - 1].ran)
                    e2e_print_curve_ratio (&scenarios [i], &rounds [i - 1], &rounds [i]);
            }
    }
    else {
        e2e_print_medians (scenarios, count, rounds);
        if (e2e_curve == E2E_CURVE_COMPARE || e2e_http == E2E_HTTP_COMPARE)
            e2e_print_curve_medians (scenarios, count, rounds);
    }
    if (e2e_store_compare) {
        printf ("\nstores, ratio of the medians to the file store's (fsync=always)\n");
        for (size_t i = 0; i < count; i++)
            if (scenarios [i].store && scenarios [i].variant == 0 && s_selected (scenarios [i].key))
                e2e_print_store_ratios (scenarios + i, rounds + i, e2e_rounds, count);
    }
    e2e_stores_stop ();
    free (rounds);
    if (*dir)
        nftw (dir, e2e_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
