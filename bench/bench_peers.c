/*  =========================================================================
    bench_peers - zjob against beanstalkd and Redis, in one run

    zjob's figures mean little alone on a shared 2-core machine whose
    speed drifts from run to run; next to a peer measured on the same
    workload, right after it, in the same round, their ratio does. Each
    scenario runs zjob (a real zjobd, libzjob producers and workers as
    forked processes) and then its peer (a server the bench starts itself
    from Debian's packages, on a free loopback port, in a fresh directory,
    stopped after the run); jobs have 100-byte bodies and no-op work:

      strict  one job in flight per producer: zjob's synchronous
              zjob_client_submit, workers of 1 slot; against beanstalkd
              in memory (a producer puts and waits for INSERTED, a worker
              reserves and deletes). At 2 producers / 2 workers and at
              32 / 8, unless --producers or --workers say otherwise.
      window  pipelined producers (--window SUBMITs in flight each, 100),
              the memory store, workers of --slots (16) slots; against
              Redis without persistence, producers sending LPUSHes
              pipelined by the window, workers taking jobs by BRPOP.
      fsync   the same, zjob's file store with fsync=always against Redis
              with appendonly yes, appendfsync always: both acknowledge a
              job once it is on disk.
      remote  zjob only: 2 workers of --slots behind a delaying proxy
              (bench/peers/peers_proxy.c, --delay ms each way, 20), the
              producers near, pipelined; with ZJOB_WORKER_PREFETCH=0 and
              with the library's default (or --prefetch), each against
              the same run without the proxy.

    A rate is jobs / (last completion - first submit); the CPU of each
    process (/proc, all threads, user and kernel) between the go and the
    end is printed per job and per role: the broker or server, the
    producers, the workers (and the proxy). With --rounds N the table of
    each round is followed by the medians of the ratios. --quick runs a
    fifth of the jobs, to see that all works in under a minute.
    ========================================================================= */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "peers.h"

//  bench_e2e's zjobd option, which e2e_broker_start reads: no limit on
//  the jobs workers hold, so that the slots are the only one
const char *e2e_max_concurrent = "0";

#define S_ROUNDS_MAX 50
#define S_RUNS_MAX 16  //  runs in a round
#define S_ROWS_MAX 8   //  comparisons in a round

//  The scenarios, for --only and the default job counts
typedef enum { S_STRICT = 0,
               S_WINDOW,
               S_FSYNC,
               S_REMOTE,
               S_KINDS } s_kind_t;
static const char *s_keys [S_KINDS] = { "strict", "window", "fsync", "remote" };
static const size_t s_default_jobs [S_KINDS] = { 20000, 100000, 30000, 100000 };

//  Options
static size_t s_producers, s_workers;  //  0: the scenario's own
static size_t s_jobs;                  //  0: s_default_jobs
static size_t s_rounds = 1;
static size_t s_window = 100;
static size_t s_slots = 16;
static int s_delay_ms = 20;
static int s_timeout_s = 180;
static const char *s_prefetch = NULL;
static const char *s_only = NULL;
static const char *s_base_dir = NULL;
static bool s_quick = false;

//  One comparison: run a against run b, a target for the ratio (or for
//  a's rate, when rate_target)
typedef struct {
    char label [64];
    size_t a, b;
    double target;
    bool rate_target;
} s_row_t;

typedef struct {
    peers_setup_t runs [S_RUNS_MAX];
    size_t run_count;
    s_row_t rows [S_ROWS_MAX];
    size_t row_count;
} s_plan_t;

static const char *s_side_names [] = { "zjob", "beanstalkd", "redis" };

static bool
s_selected (s_kind_t kind)
{
    if (!s_only)
        return true;
    size_t length = strlen (s_keys [kind]);
    for (const char *at = s_only; *at;) {
        size_t item = strcspn (at, ",");
        if (item == length && strncmp (at, s_keys [kind], length) == 0)
            return true;
        at += item + (at [item] == ',');
    }
    return false;
}

//  Add a run of kind to plan; its index
static size_t
s_add_run (s_plan_t *plan, s_kind_t kind, peers_side_t side, size_t producers, size_t workers)
{
    size_t jobs = s_jobs ? s_jobs : s_default_jobs [kind] / (s_quick ? 5 : 1);
    peers_setup_t *run = &plan->runs [plan->run_count];
    memset (run, 0, sizeof *run);
    run->key = s_keys [kind];
    run->side = side;
    run->producers = producers;
    run->workers = workers;
    run->jobs = jobs;
    run->window = kind == S_STRICT ? 1 : s_window;
    run->slots = kind == S_STRICT ? 1 : s_slots;
    run->fsync = kind == S_FSYNC;
    run->delay_ms = -1;
    run->prefetch = s_prefetch;
    run->timeout_s = s_timeout_s;
    return plan->run_count++;
}

static void
s_add_row (s_plan_t *plan, size_t a, size_t b, double target, bool rate_target,
           const char *label)
{
    s_row_t *row = &plan->rows [plan->row_count++];
    *row = (s_row_t){ .a = a, .b = b, .target = target, .rate_target = rate_target };
    snprintf (row->label, sizeof row->label, "%s", label);
}

//  The strict rows: the two shapes, or the one of the options
static void
s_plan_strict (s_plan_t *plan)
{
    size_t shapes [2][2] = { { 2, 2 }, { 32, 8 } };
    double targets [2] = { 0.7, 1.0 };
    size_t count = 2;
    if (s_producers || s_workers) {
        shapes [0][0] = s_producers ? s_producers : 2;
        shapes [0][1] = s_workers ? s_workers : 2;
        targets [0] = shapes [0][0] >= 32 ? 1.0 : 0.7;
        count = 1;
    }
    for (size_t i = 0; i < count; i++) {
        size_t a = s_add_run (plan, S_STRICT, PEERS_ZJOB, shapes [i][0], shapes [i][1]);
        size_t b = s_add_run (plan, S_STRICT, PEERS_BEANSTALKD, shapes [i][0], shapes [i][1]);
        char label [64];
        snprintf (label, sizeof label, "strict %zup/%zuw vs beanstalkd", shapes [i][0],
                  shapes [i][1]);
        s_add_row (plan, a, b, targets [i], false, label);
    }
}

//  The remote rows: the delayed runs (prefetch 0, default) against one
//  run without the proxy
static void
s_plan_remote (s_plan_t *plan, size_t producers, size_t workers)
{
    size_t direct = s_add_run (plan, S_REMOTE, PEERS_ZJOB, producers, workers);
    size_t none = s_add_run (plan, S_REMOTE, PEERS_ZJOB, producers, workers);
    plan->runs [none].delay_ms = s_delay_ms;
    plan->runs [none].prefetch = "0";
    //  Without prefetch each slot waits a round trip per job (some 800
    //  jobs/s at 20 ms each way): a tenth of the jobs measures it as well
    //  in a tenth of the time, while a run with prefetch needs enough jobs
    //  to outlast the round trips that size its buffer
    plan->runs [none].jobs = plan->runs [none].jobs / 10 ? plan->runs [none].jobs / 10 : 1;
    size_t fetch = s_add_run (plan, S_REMOTE, PEERS_ZJOB, producers, workers);
    plan->runs [fetch].delay_ms = s_delay_ms;
    char label [64];
    snprintf (label, sizeof label, "remote %d ms, prefetch 0", s_delay_ms);
    s_add_row (plan, none, direct, 20000, true, label);
    snprintf (label, sizeof label, "remote %d ms, prefetch %s", s_delay_ms,
              s_prefetch ? s_prefetch : "default");
    s_add_row (plan, fetch, direct, 20000, true, label);
}

static void
s_plan (s_plan_t *plan)
{
    memset (plan, 0, sizeof *plan);
    size_t producers = s_producers ? s_producers : 2, workers = s_workers ? s_workers : 2;
    if (s_selected (S_STRICT))
        s_plan_strict (plan);
    if (s_selected (S_WINDOW)) {
        size_t a = s_add_run (plan, S_WINDOW, PEERS_ZJOB, producers, workers);
        size_t b = s_add_run (plan, S_WINDOW, PEERS_REDIS, producers, workers);
        s_add_row (plan, a, b, 2.5, false, "window, memory vs redis");
    }
    if (s_selected (S_FSYNC)) {
        size_t a = s_add_run (plan, S_FSYNC, PEERS_ZJOB, producers, workers);
        size_t b = s_add_run (plan, S_FSYNC, PEERS_REDIS, producers, workers);
        s_add_row (plan, a, b, 10.0, false, "fsync always vs redis");
    }
    if (s_selected (S_REMOTE))
        s_plan_remote (plan, producers, s_workers ? s_workers : 2);
}

//  --------------------------------------------------------------------------
//  Printing

//  n rounded, with thousands separators, into buf
static const char *
s_thousands (double n, char *buf, size_t size)
{
    char digits [32];
    int length = snprintf (digits, sizeof digits, "%.0f", n < 0 ? 0 : n);
    size_t at = 0;
    for (int i = 0; i < length && at + 2 < size; i++) {
        if (i > 0 && (length - i) % 3 == 0)
            buf [at++] = ',';
        buf [at++] = digits [i];
    }
    buf [at] = 0;
    return buf;
}

static void
s_print_run (const peers_setup_t *run, const peers_result_t *result)
{
    char rate [32];
    const char *name = s_side_names [run->side];
    if (!result->ok) {
        printf ("    %-10s %-7s %zup/%zuw FAILED: %s\n", name, run->key, run->producers,
                run->workers, result->why);
        return;
    }
    char what [48];
    if (run->delay_ms >= 0)
        snprintf (what, sizeof what, "%s %dms pf=%.8s", run->key, run->delay_ms,
                  run->prefetch ? run->prefetch : "dflt");
    else
        snprintf (what, sizeof what, "%s", run->key);
    printf ("    %-10s %-21s %2zup/%2zuw %7s jobs %9s jobs/s  CPU us/job: server %6.1f"
            "  producers %6.1f  workers %6.1f",
            name, what, run->producers, run->workers,
            s_thousands ((double) run->jobs, (char [32]){ 0 }, 32),
            s_thousands (result->rate, rate, sizeof rate), result->us_server,
            result->us_producers, result->us_workers);
    if (run->delay_ms >= 0)
        printf ("  proxy %5.1f", result->us_proxy);
    printf ("  (%.2f cores)\n", result->busy);
    fflush (stdout);
}

//  What row compares zjob with: a peer, or zjob without the delay
static const char *
s_peer_name (const s_plan_t *plan, const s_row_t *row)
{
    peers_side_t side = plan->runs [row->b].side;
    return side == PEERS_ZJOB ? "no delay" : s_side_names [side];
}

//  The ratio of row (a's rate over b's), or 0 if either failed
static double
s_ratio (const s_row_t *row, const peers_result_t *results)
{
    const peers_result_t *a = &results [row->a], *b = &results [row->b];
    return a->ok && b->ok && b->rate > 0 ? a->rate / b->rate : 0;
}

static void
s_print_row (const s_plan_t *plan, const s_row_t *row, const peers_result_t *results)
{
    const peers_result_t *a = &results [row->a], *b = &results [row->b];
    char ra [32], rb [32];
    double ratio = s_ratio (row, results);
    bool met = row->rate_target ? a->ok && a->rate >= row->target : ratio >= row->target;
    const char *peer = s_peer_name (plan, row);
    printf ("  %-34s zjob %9s  %-10s %9s  ratio %6.2fx", row->label,
            a->ok ? s_thousands (a->rate, ra, sizeof ra) : "failed", peer,
            b->ok ? s_thousands (b->rate, rb, sizeof rb) : "failed", ratio);
    if (row->rate_target)
        printf ("  target >= %s jobs/s: %s\n", s_thousands (row->target, ra, sizeof ra),
                met ? "met" : "NOT met");
    else
        printf ("  target >= %.2fx: %s\n", row->target, met ? "met" : "NOT met");
}

static int
s_compare_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

//  The median of count values (0 if none)
static double
s_median (double *values, size_t count)
{
    if (!count)
        return 0;
    qsort (values, count, sizeof (double), s_compare_double);
    return count % 2 ? values [count / 2] : (values [count / 2 - 1] + values [count / 2]) / 2;
}

//  Over the rounds where both runs of row succeeded: the median of the
//  double at offset in the result of run (row->a or row->b)
static double
s_median_of (const peers_result_t (*results) [S_RUNS_MAX], size_t rounds, const s_row_t *row,
             size_t run, size_t offset)
{
    double values [S_ROUNDS_MAX];
    size_t count = 0;
    for (size_t i = 0; i < rounds; i++)
        if (s_ratio (row, results [i]) > 0)
            memcpy (&values [count++], (const char *) &results [i][run] + offset, sizeof (double));
    return s_median (values, count);
}

//  After --rounds N: per row, the medians of the rates, of the ratios
//  (with their range) and of the CPU per job of each side, rounds where
//  either run failed left out
static void
s_print_medians (const s_plan_t *plan, const peers_result_t (*results) [S_RUNS_MAX],
                 size_t rounds)
{
    printf ("\nMedians over %zu rounds (rounds where a run failed left out)\n", rounds);
    for (size_t r = 0; r < plan->row_count; r++) {
        const s_row_t *row = &plan->rows [r];
        double ratios [S_ROUNDS_MAX];
        size_t count = 0;
        for (size_t i = 0; i < rounds; i++)
            if (s_ratio (row, results [i]) > 0)
                ratios [count++] = s_ratio (row, results [i]);
        double low = count ? ratios [0] : 0, high = low;
        for (size_t i = 0; i < count; i++) {
            low = ratios [i] < low ? ratios [i] : low;
            high = ratios [i] > high ? ratios [i] : high;
        }
        char ra [32], rb [32];
        size_t rate = offsetof (peers_result_t, rate);
        printf ("  %-34s zjob %9s  %-10s %9s  ratio %6.2fx (%.2f..%.2f, %zu rounds)\n",
                row->label,
                s_thousands (s_median_of (results, rounds, row, row->a, rate), ra, sizeof ra),
                s_peer_name (plan, row),
                s_thousands (s_median_of (results, rounds, row, row->b, rate), rb, sizeof rb),
                s_median (ratios, count), low, high, count);
        size_t fields [3] = { offsetof (peers_result_t, us_server),
                              offsetof (peers_result_t, us_producers),
                              offsetof (peers_result_t, us_workers) };
        printf ("  %-34s CPU us/job (server, producers, workers): zjob", "");
        for (size_t f = 0; f < 3; f++)
            printf (" %.1f", s_median_of (results, rounds, row, row->a, fields [f]));
        printf (", %s", s_peer_name (plan, row));
        for (size_t f = 0; f < 3; f++)
            printf (" %.1f", s_median_of (results, rounds, row, row->b, fields [f]));
        printf ("\n");
    }
}

//  --------------------------------------------------------------------------
//  Options and main

static void
s_usage (void)
{
    printf ("usage: bench_peers [--quick] [--rounds N] [--only strict,window,fsync,remote]\n"
            "         [--producers N] [--workers N] [--jobs N] [--window N] [--slots N]\n"
            "         [--delay MS] [--prefetch N|auto|0] [--timeout S] [--dir DIR]\n"
            "  zjob against beanstalkd (strict) and Redis (window, fsync) on the same\n"
            "  workload in one run; remote: zjob's workers behind a delaying proxy.\n"
            "  --producers/--workers: 1..%d each (default: strict at 2/2 and 32/8,\n"
            "  the others at 2/2); --jobs: per run (default strict %zu, window %zu,\n"
            "  fsync %zu, remote %zu; --quick a fifth); --prefetch: zjob's workers'\n"
            "  ZJOB_WORKER_PREFETCH (but 0, and a tenth of the jobs, in the first\n"
            "  delayed remote run).\n",
            PEERS_ROLES_MAX, s_default_jobs [0], s_default_jobs [1], s_default_jobs [2],
            s_default_jobs [3]);
}

//  A number option within [low, high]; exits on a bad one
static size_t
s_number (const char *name, const char *value, size_t low, size_t high)
{
    char *end = NULL;
    errno = 0;
    unsigned long long number = value ? strtoull (value, &end, 10) : 0;
    if (!value || errno || *end || *value == '-' || number < low || number > high) {
        fprintf (stderr, "bench_peers: %s wants a number from %zu to %zu\n", name, low, high);
        exit (2);
    }
    return (size_t) number;
}

static void
s_options (int argc, char *argv [])
{
    for (int i = 1; i < argc; i++) {
        const char *name = argv [i], *value = i + 1 < argc ? argv [i + 1] : NULL;
        bool takes = true;
        if (streq (name, "--quick"))
            s_quick = true, takes = false;
        else if (streq (name, "--rounds"))
            s_rounds = s_number (name, value, 1, S_ROUNDS_MAX);
        else if (streq (name, "--producers"))
            s_producers = s_number (name, value, PEERS_ROLES_MIN, PEERS_ROLES_MAX);
        else if (streq (name, "--workers"))
            s_workers = s_number (name, value, PEERS_ROLES_MIN, PEERS_ROLES_MAX);
        else if (streq (name, "--jobs"))
            s_jobs = s_number (name, value, 1, 100000000);
        else if (streq (name, "--window"))
            s_window = s_number (name, value, 1, 4000);
        else if (streq (name, "--slots"))
            s_slots = s_number (name, value, 1, 1000);
        else if (streq (name, "--delay"))
            s_delay_ms = (int) s_number (name, value, 0, 10000);
        else if (streq (name, "--timeout"))
            s_timeout_s = (int) s_number (name, value, 1, 86400);
        else if (streq (name, "--prefetch") && value)
            s_prefetch = value;
        else if (streq (name, "--only") && value)
            s_only = value;
        else if (streq (name, "--dir") && value)
            s_base_dir = value;
        else {
            s_usage ();
            exit (streq (name, "--help") || streq (name, "-h") ? 0 : 2);
        }
        i += takes;
    }
}

//  Run one round of plan into results, printing as it goes
static void
s_round (const s_plan_t *plan, const char *dir, peers_result_t *results)
{
    for (size_t i = 0; i < plan->run_count; i++) {
        const peers_setup_t *run = &plan->runs [i];
        peers_result_t *result = &results [i];
        memset (result, 0, sizeof *result);
        if (run->side == PEERS_ZJOB)
            peers_zjob_run (run, dir, result);
        else if (run->side == PEERS_BEANSTALKD)
            peers_beanstalk_run (run, dir, result);
        else
            peers_redis_run (run, dir, result);
        s_print_run (run, result);
    }
    for (size_t r = 0; r < plan->row_count; r++)
        s_print_row (plan, &plan->rows [r], results);
}

int
main (int argc, char *argv [])
{
    s_options (argc, argv);
    static s_plan_t plan;
    s_plan (&plan);
    if (plan.run_count == 0) {
        fprintf (stderr, "bench_peers: --only selects nothing\n");
        return 2;
    }
    char dir [E2E_PATH_MAX];
    const char *base = s_base_dir ? s_base_dir : getenv ("TMPDIR") ? getenv ("TMPDIR")
                                                                   : "/tmp";
    snprintf (dir, sizeof dir, "%s/zjob-peers-XXXXXX", base);
    if (!mkdtemp (dir)) {
        fprintf (stderr, "bench_peers: cannot create a directory in %s: %s\n", base,
                 strerror (errno));
        return 1;
    }
    printf ("bench_peers: %ld cores, 100-byte jobs, no-op work, in %s%s\n",
            sysconf (_SC_NPROCESSORS_ONLN), dir, s_quick ? " (--quick)" : "");
    static peers_result_t results [S_ROUNDS_MAX][S_RUNS_MAX];
    for (size_t round = 0; round < s_rounds; round++) {
        printf ("\nRound %zu of %zu\n", round + 1, s_rounds);
        s_round (&plan, dir, results [round]);
    }
    if (s_rounds > 1)
        s_print_medians (&plan, results, s_rounds);
    peers_remove_tree (dir);
    for (size_t i = 0; i < s_rounds; i++)
        for (size_t j = 0; j < plan.run_count; j++)
            if (!results [i][j].ok)
                return 1;
    return 0;
}
