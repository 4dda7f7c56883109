/*  =========================================================================
    e2e_report - bench_e2e: the figures printed

    The table (one row per scenario: rate, ratio to the echo, target),
    the details of a job scenario (CPU, broker figures, latency), and after
    --rounds N the medians.
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
//  Output

//  n with thousands separators, into buf
const char *
e2e_thousands (double n, char *buf, size_t size)
{
    char digits [32];
    snprintf (digits, sizeof digits, "%.0f", n < 0 ? 0 : n);
    size_t length = strlen (digits), at = 0;
    for (size_t i = 0; i < length && at + 2 < size; i++) {
        if (i && (length - i) % 3 == 0)
            buf [at++] = ',';
        buf [at++] = digits [i];
    }
    buf [at] = 0;
    return buf;
}

//  The file system type of path, by name when it is a common one
const char *
e2e_fs_type (const char *path, char *buf, size_t size)
{
    struct statfs st;
    if (statfs (path, &st))
        return "unknown";
    switch ((unsigned long) st.f_type) {
        case 0xEF53UL: return "ext4";
        case 0x01021994UL: return "tmpfs (fsync costs nothing there!)";
        case 0x58465342UL: return "xfs";
        case 0x9123683EUL: return "btrfs";
        case 0x794C7630UL: return "overlayfs";
        default:
            snprintf (buf, size, "0x%lx", (unsigned long) st.f_type);
            return buf;
    }
}

//  Characters of a scenario's label in the table: the CURVE twins' labels
//  are longer
static int
s_width (void)
{
    return e2e_curve == E2E_CURVE_OFF && e2e_http == E2E_HTTP_OFF ? 30 : 37;
}

static const char *
s_store_name (const e2e_scenario_t *scenario)
{
    static char label [32];
    if (scenario->store && scenario->mode != E2E_ECHO)
        return bench_store_label (scenario->store, label, sizeof label);
    return scenario->mode == E2E_ECHO ? "-" : scenario->file ? "file always"
                                                             : "memory";
}

//  The 4-connection echo of this run, when it ran (judges the strict target)
const e2e_result_t *e2e_echo4;

//  One line of the table: scenario, store, rate, ratio to echo, target.
//  A target is also judged scaled by this machine's echo rate over the
//  echo rate where it was set (E2E_ISSUE_ECHO_RATE): the ratio it asks for.
void
e2e_print_row (const e2e_scenario_t *scenario, const e2e_result_t *result, const e2e_result_t *echo)
{
    char rate [32], target [32], scaled [32];
    double scale = echo->ok ? echo->rate / E2E_ISSUE_ECHO_RATE : 0;
    if (!result->ok) {
        printf ("%-*s %-11s %s\n", s_width (), scenario->label, s_store_name (scenario),
                *result->why ? result->why : "failed");
        return;
    }
    if (scenario->mode == E2E_ECHO) {
        printf ("%-*s %-11s %8s rt/s  %5.2fx   %.1f us per round trip\n", s_width (), scenario->label,
                s_store_name (scenario), e2e_thousands (result->rate, rate, sizeof rate),
                echo->ok ? result->rate / echo->rate : 0, result->usecs);
        return;
    }
    if (scenario->mode == E2E_PACED) {
        double trip = echo->ok ? echo->usecs : 0;
        printf ("%-*s %-11s p50 %.0f  p90 %.0f  p99 %.0f  max %.0f us", s_width (), scenario->label,
                s_store_name (scenario), result->p50, result->p90, result->p99, result->max);
        if (trip > 0)
            printf (" = %.1f / %.1f / %.1f / %.1f round trips", result->p50 / trip,
                    result->p90 / trip, result->p99 / trip, result->max / trip);
        printf ("\n");
        if (scenario->target > 0) {
            bool met = result->p50 <= 150 && result->p99 <= 1000;
            printf ("%-*s target p50 <= 150 us, p99 <= 1,000 us: %s", s_width () + 12, "",
                    met ? "met" : "MISSED");
            if (scale > 0) {
                met = result->p50 * scale <= 150 && result->p99 * scale <= 1000;
                printf ("; scaled: p50 <= %.0f us, p99 <= %.0f us: %s", 150 / scale,
                        1000 / scale, met ? "met" : "MISSED");
            }
            printf ("\n");
        }
        return;
    }
    printf ("%-*s %-11s %8s jobs/s %5.2fx", s_width (), scenario->label, s_store_name (scenario),
            e2e_thousands (result->rate, rate, sizeof rate),
            echo->ok ? result->rate / echo->rate : 0);
    if (scenario->target > 0) {
        printf ("   target >= %s: %s", e2e_thousands (scenario->target, target, sizeof target),
                result->rate >= scenario->target ? "met" : "MISSED");
        if (scale > 0)
            printf ("; scaled (%.2fx): >= %s: %s", scenario->target / E2E_ISSUE_ECHO_RATE,
                    e2e_thousands (scenario->target * scale, scaled, sizeof scaled),
                    result->rate >= scenario->target * scale ? "met" : "MISSED");
    }
    printf ("\n");
    //  The strict target, judged as the issue derived it: one strict job
    //  costs a producer's round trip and a worker's, on 4 connections, so
    //  the ceiling is half the 4-connection echo rate (68,000 / 2 = 34,000
    //  where 30,000 was set: 88% of it)
    if (scenario->mode == E2E_STRICT && scenario->target > 0 && e2e_echo4 && e2e_echo4->ok) {
        double ceiling = e2e_echo4->rate / 2;
        double share = scenario->target / (E2E_ISSUE_ECHO4_RATE / 2);
        char bound [32];
        printf ("%-*s vs the 4-connection echo (%s rt/s here): ceiling %s jobs/s, reached"
                " %.0f%%; target %.0f%% of it (30,000 of 34,000), >= %s: %s\n",
                s_width () + 12,
                "",
                e2e_thousands (e2e_echo4->rate, rate, sizeof rate),
                e2e_thousands (ceiling, scaled, sizeof scaled), 100 * result->rate / ceiling,
                100 * share, e2e_thousands (share * ceiling, bound, sizeof bound),
                result->rate >= share * ceiling ? "met" : "MISSED");
    }
}

//  Details of a job scenario, after it ran
//  --http: what the Prometheus server said it did during the scenario
static void
s_print_prometheus (const e2e_result_t *result)
{
    printf ("    Prometheus (its /api/v1/query after the run): %.0f scrapes of /metrics"
            " (samples of up{job=\"zjob\"}), %.0f with up = 1; %.0f zjob_ series held; scrape"
            " %.1f ms and %.0f samples on average; its CPU during the run %.1f%% of one core"
            " (not in the figures above)%s%s\n",
            result->prom_scrapes, result->prom_up, result->prom_series, result->prom_scrape_ms,
            result->prom_samples, result->prom_cpu, *result->prom_note ? "; query failed: " : "",
            result->prom_note);
    if (result->prom_up < 1 || result->prom_series < 1)
        printf ("    warning: Prometheus has no zjob_ series: /metrics did not answer"
                " (METRICS not in this zjobd?)\n");
}

void
e2e_print_details (const e2e_scenario_t *scenario, const e2e_result_t *result)
{
    if (!result->ok)
        return;
    if (scenario->mode == E2E_ECHO) {
        if (result->done)
            printf ("    CPU, server and client%s with their I/O threads and kernel: %.0f%% of"
                    " one core (%.0f%% of it in the kernel), %.1f us per round trip"
                    " (2 messages)\n",
                    scenario->jobs > 1 ? "s" : "", result->cpu_broker,
                    result->cpu_sys,
                    result->cpu_broker * result->cpu_wall / 100 / 1e3 / (double) result->done);
        return;
    }
    char done [32], submit [32], broker [32], split [2][32];
    printf ("    %s jobs completed in %.2f s; producers' SUBMITs acknowledged at %s jobs/s;"
            " per worker %s / %s; STATS completed: %s\n",
            e2e_thousands ((double) result->done, done, sizeof done),
            result->rate > 0 ? (double) result->done / result->rate : 0,
            e2e_thousands (result->submit_rate, submit, sizeof submit),
            e2e_thousands ((double) result->split [0], split [0], sizeof split [0]),
            e2e_thousands ((double) result->split [1], split [1], sizeof split [1]),
            result->broker_completed < 0 ? "unknown"
                                         : e2e_thousands ((double) result->broker_completed, broker, sizeof broker));
    double producers = result->cpu_producers [0] + result->cpu_producers [1];
    double workers = result->cpu_workers [0] + result->cpu_workers [1];
    double all = result->cpu_broker + producers + workers;
    long cpus = sysconf (_SC_NPROCESSORS_ONLN);
    printf ("    CPU during the run, %% of one core: broker %.0f, producers %.0f + %.0f,"
            " workers %.0f + %.0f; all %.0f of %ld00, %.0f%% of it in the kernel\n",
            result->cpu_broker, result->cpu_producers [0], result->cpu_producers [1],
            result->cpu_workers [0], result->cpu_workers [1], all, cpus, result->cpu_sys);
    //  CPU per job: % of a core x wall / jobs
    double per_job = result->done ? result->cpu_wall / 100 / 1e3 / (double) result->done : 0;
    if (per_job > 0 && scenario->mode != E2E_PACED) {
        char bound [32];
        printf ("    CPU per job, us (with ZeroMQ I/O threads and kernel): broker %.1f,"
                " producers %.1f, workers %.1f; all %.1f, which %ld CPUs serve at most"
                " %s jobs/s\n",
                result->cpu_broker * per_job, producers * per_job,
                workers * per_job, all * per_job, cpus,
                e2e_thousands (1e6 * (double) cpus / (all * per_job), bound, sizeof bound));
    }
    //  Where the workers' time went: waiting on the broker for their next
    //  JOB, as a share of the run's span, each
    if (result->waits > 0 && result->rate > 0 && scenario->mode != E2E_PACED) {
        double span = (double) result->done / result->rate * 1e9 * E2E_WORKERS;
        printf ("    workers waited for their next JOB %s times, %.0f us each (from asking to"
                " having a job), %.1f jobs between waits; %.0f%% of the run's span\n",
                e2e_thousands ((double) result->waits, done, sizeof done),
                (double) result->waited_ns / 1e3 / (double) result->waits,
                (double) result->done / (double) result->waits,
                100.0 * (double) result->waited_ns / span);
    }
    if (result->fsyncs > 0)
        printf ("    the store fsynced %s times: %.1f jobs per fsync, %.0f fsyncs/s\n",
                e2e_thousands ((double) result->fsyncs, done, sizeof done),
                (double) result->done / (double) result->fsyncs,
                (double) result->fsyncs * result->rate / (double) result->done);
    if (*result->why)
        printf ("    warning: %s\n", result->why);
    if (scenario->http)
        s_print_prometheus (result);
}

//  --------------------------------------------------------------------------

//  The median of count values (sorted in place); 0 if none
static int
s_double_compare (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double
s_median (double *values, size_t count)
{
    if (count == 0)
        return 0;
    qsort (values, count, sizeof (double), s_double_compare);
    return count % 2 ? values [count / 2] : (values [count / 2 - 1] + values [count / 2]) / 2;
}

//  After --rounds N: each scenario's median rate (with its range), its
//  median ratio to the 1-connection echo of the same round, and for strict
//  its median share of the same round's echo4 ceiling; latency, the
//  median p50 and p99. Rounds where a scenario or its echo failed are left
//  out of its medians.
void
e2e_print_medians (const e2e_scenario_t *scenarios, size_t count, const e2e_result_t *rounds)
{
    double *rates = (double *) calloc (e2e_rounds, sizeof (double));
    double *ratios = (double *) calloc (e2e_rounds, sizeof (double));
    double *shares = (double *) calloc (e2e_rounds, sizeof (double));
    double *tails = (double *) calloc (e2e_rounds, sizeof (double));
    if (!rates || !ratios || !shares || !tails) {
        free (rates), free (ratios), free (shares), free (tails);
        return;
    }
    size_t echo4 = count;
    for (size_t i = 0; i < count; i++)
        if (scenarios [i].mode == E2E_ECHO && scenarios [i].jobs == E2E_ECHO_CLIENTS_MAX)
            echo4 = i;
    printf ("Medians of %zu rounds (each ratio within its own round)\n", e2e_rounds);
    for (size_t i = 0; i < count; i++) {
        const e2e_scenario_t *scenario = &scenarios [i];
        size_t rated = 0, compared = 0, shared = 0;
        double low = 0, high = 0;
        for (size_t round = 0; round < e2e_rounds; round++) {
            const e2e_result_t *results = rounds + round * count;
            const e2e_result_t *result = &results [i];
            if (!result->ran || !result->ok)
                continue;
            double value = scenario->mode == E2E_PACED ? result->p50 : result->rate;
            if (rated == 0 || value < low)
                low = value;
            if (rated == 0 || value > high)
                high = value;
            if (scenario->mode == E2E_PACED)
                tails [rated] = result->p99;
            rates [rated++] = value;
            if (results [0].ran && results [0].ok && results [0].rate > 0) {
                //  Latency: p50 and p99 in this round's echo round trips
                if (scenario->mode == E2E_PACED) {
                    ratios [compared] = result->p50 / results [0].usecs;
                    shares [compared] = result->p99 / results [0].usecs;
                    compared++;
                }
                else
                    ratios [compared++] = result->rate / results [0].rate;
            }
            if (scenario->mode != E2E_PACED && echo4 < count && results [echo4].ran
                && results [echo4].ok && results [echo4].rate > 0)
                shares [shared++] = result->rate / (results [echo4].rate / 2);
        }
        if (rated == 0) {
            bool ran = false;
            for (size_t round = 0; round < e2e_rounds; round++)
                ran |= rounds [round * count + i].ran;
            if (ran)
                printf ("%-*s %-11s failed in every round\n", s_width (), scenario->label,
                        s_store_name (scenario));
            continue;
        }
        char median [32], from [32], to [32];
        if (scenario->mode == E2E_PACED) {
            printf ("%-*s %-11s p50 %.0f us (%.0f..%.0f), p99 %.0f us", s_width (), scenario->label,
                    s_store_name (scenario), s_median (rates, rated), low, high,
                    s_median (tails, rated));
            //  The issue's 150 us and 1 ms were set where a round trip took 50 us
            if (compared) {
                double p50 = s_median (ratios, compared), p99 = s_median (shares, compared);
                printf (" = %.1f / %.1f round trips", p50, p99);
                if (scenario->target > 0)
                    printf (", scaled target 3 / 20: %s", p50 <= 3 && p99 <= 20 ? "met" : "MISSED");
            }
            printf ("; %zu rounds\n", rated);
            continue;
        }
        printf ("%-*s %-11s %8s %s (%s..%s)", s_width (), scenario->label, s_store_name (scenario),
                e2e_thousands (s_median (rates, rated), median, sizeof median),
                scenario->mode == E2E_ECHO ? "rt/s  " : "jobs/s",
                e2e_thousands (low, from, sizeof from), e2e_thousands (high, to, sizeof to));
        if (compared && i > 0)
            printf ("  %5.2fx the echo", s_median (ratios, compared));
        if (scenario->mode == E2E_STRICT && scenario->target > 0 && shared) {
            double want = scenario->target / (E2E_ISSUE_ECHO4_RATE / 2);
            double got = s_median (shares, shared);
            printf ("; %.0f%% of the echo4 ceiling, target %.0f%%: %s", 100 * got, 100 * want,
                    got >= want ? "met" : "MISSED");
        }
        else if (scenario->mode != E2E_ECHO && scenario->target > 0 && compared) {
            double want = scenario->target / E2E_ISSUE_ECHO_RATE;
            double got = s_median (ratios, compared);
            printf (", scaled target %.2fx: %s", want, got >= want ? "met" : "MISSED");
        }
        printf ("; %zu rounds\n", rated);
    }
    free (rates);
    free (ratios);
    free (shares);
    free (tails);
}

//  --------------------------------------------------------------------------
//  --curve compare

//  CPU per job of a job scenario, us (with ZeroMQ I/O threads and kernel),
//  into us: [0] broker, [1] producers, [2] workers, [3] all
static void
s_cpu_per_job (const e2e_result_t *result, double us [4])
{
    double unit = result->done ? result->cpu_wall / 100 / 1e3 / (double) result->done : 0;
    us [0] = result->cpu_broker * unit;
    us [1] = (result->cpu_producers [0] + result->cpu_producers [1]) * unit;
    us [2] = (result->cpu_workers [0] + result->cpu_workers [1]) * unit;
    us [3] = us [0] + us [1] + us [2];
}

void
e2e_print_curve_ratio (const e2e_scenario_t *scenario, const e2e_result_t *plain,
                       const e2e_result_t *curve)
{
    if (!plain->ok || !curve->ok || plain->rate <= 0 || plain->p50 < 0) {
        printf ("    %s: no ratio, a run failed\n", e2e_variant_name ());
        return;
    }
    if (scenario->mode == E2E_PACED) {
        printf ("    %s: p50 %.0f -> %.0f us (%.2fx), p99 %.0f -> %.0f us (%.2fx)\n",
                e2e_variant_name (), plain->p50, curve->p50, plain->p50 > 0 ? curve->p50 / plain->p50 : 0,
                plain->p99, curve->p99, plain->p99 > 0 ? curve->p99 / plain->p99 : 0);
        return;
    }
    char from [32], to [32];
    double a [4], b [4];
    s_cpu_per_job (plain, a);
    s_cpu_per_job (curve, b);
    printf ("    %s: %.2fx the jobs/s (%s -> %s); CPU per job %.2fx, us: broker"
            " %.1f -> %.1f, producers %.1f -> %.1f, workers %.1f -> %.1f, all %.1f -> %.1f\n",
            e2e_variant_name (), curve->rate / plain->rate, e2e_thousands (plain->rate, from, sizeof from),
            e2e_thousands (curve->rate, to, sizeof to), a [3] > 0 ? b [3] / a [3] : 0, a [0],
            b [0], a [1], b [1], a [2], b [2], a [3], b [3]);
}

//  The columns of values: S_COLUMNS doubles a row; one column is copied
//  into column (room for rows) to be sorted for its median
enum { S_RATIO,
       S_CPU,
       S_PLAIN,
       S_CURVE = S_PLAIN + 4,
       S_COLUMNS = S_CURVE + 4 };

static double
s_column_median (const double *values, size_t rows, size_t at, double *column)
{
    for (size_t row = 0; row < rows; row++)
        column [row] = values [row * S_COLUMNS + at];
    return s_median (column, rows);
}

//  The median of a column and its range, into text
static const char *
s_column_range (const double *values, size_t rows, size_t at, double *column, char *text,
                size_t size)
{
    double low = values [at], high = values [at];
    for (size_t row = 1; row < rows; row++) {
        double value = values [row * S_COLUMNS + at];
        low = value < low ? value : low;
        high = value > high ? value : high;
    }
    snprintf (text, size, "%.2fx (%.2f..%.2f)", s_column_median (values, rows, at, column), low,
              high);
    return text;
}

void
e2e_print_curve_medians (const e2e_scenario_t *scenarios, size_t count, const e2e_result_t *rounds)
{
    //  Per round: the ratio of the rates (latency: of p50), of the CPU
    //  per job (latency: of p99), and CPU per job each side, by process
    double *values = (double *) calloc (e2e_rounds * S_COLUMNS, sizeof (double));
    double *column = (double *) calloc (e2e_rounds, sizeof (double));
    if (!values || !column) {
        free (values), free (column);
        return;
    }
    printf ("\n%s, medians of the ratios within each round\n", e2e_variant_name ());
    for (size_t i = 1; i < count; i++) {
        const e2e_scenario_t *scenario = &scenarios [i];
        if (!e2e_variant (scenario) || e2e_variant (&scenarios [i - 1])
            || scenario->mode == E2E_ECHO)
            continue;
        bool paced = scenario->mode == E2E_PACED;
        size_t pairs = 0;
        for (size_t round = 0; round < e2e_rounds; round++) {
            const e2e_result_t *plain = &rounds [round * count + i - 1];
            const e2e_result_t *curve = &rounds [round * count + i];
            if (!plain->ran || !curve->ran || !plain->ok || !curve->ok || plain->rate <= 0)
                continue;
            double *row = values + pairs++ * S_COLUMNS;
            s_cpu_per_job (plain, row + S_PLAIN);
            s_cpu_per_job (curve, row + S_CURVE);
            row [S_RATIO] = paced ? (plain->p50 > 0 ? curve->p50 / plain->p50 : 0)
                                  : curve->rate / plain->rate;
            row [S_CPU] = paced         ? (plain->p99 > 0 ? curve->p99 / plain->p99 : 0)
                : row [S_PLAIN + 3] > 0 ? row [S_CURVE + 3] / row [S_PLAIN + 3]
                                        : 0;
        }
        if (pairs == 0) {
            bool ran = false;
            for (size_t round = 0; round < e2e_rounds; round++)
                ran |= rounds [round * count + i].ran;
            if (ran)
                printf ("%-*s %-11s no round where both ran\n", s_width (),
                        scenarios [i - 1].label, s_store_name (scenario));
            continue;
        }
        char ratio [64], cpu [64];
        printf ("%-*s %-11s %s %s; %s %s", s_width (), scenarios [i - 1].label, s_store_name (scenario),
                s_column_range (values, pairs, S_RATIO, column, ratio, sizeof ratio),
                paced ? "p50" : "jobs/s",
                s_column_range (values, pairs, S_CPU, column, cpu, sizeof cpu),
                paced ? "p99" : "CPU per job");
        static const char *names [] = { "broker", "producers", "workers", "all" };
        for (size_t part = 0; part < 4 && !paced; part++)
            printf ("%s %s %.1f -> %.1f", part ? "," : "; CPU per job, us:", names [part],
                    s_column_median (values, pairs, S_PLAIN + part, column),
                    s_column_median (values, pairs, S_CURVE + part, column));
        printf ("; %zu rounds\n", pairs);
    }
    free (values);
    free (column);
}

void
e2e_print_store_ratios (const e2e_scenario_t *group, const e2e_result_t *results,
                        size_t rounds, size_t stride)
{
    double base = 0;
    printf ("%s", rounds > 1 ? "" : "    stores:");
    if (rounds > 1)
        printf ("%-*s", s_width (), group [0].label);
    for (size_t variant = 0; variant < E2E_COMPARED_STORES; variant++) {
        double rates [rounds], cpu [rounds];
        size_t rated = 0;
        for (size_t round = 0; round < rounds; round++) {
            const e2e_result_t *result = &results [round * stride + variant];
            if (!result->ran || !result->ok || result->rate <= 0)
                continue;
            double per_job [4];
            s_cpu_per_job (result, per_job);
            cpu [rated] = per_job [0];
            rates [rated++] = result->rate;
        }
        char rate [32];
        const char *name = s_store_name (&group [variant]);
        if (!rated) {
            printf ("%s %s failed", variant ? ";" : "", name);
            continue;
        }
        double median = s_median (rates, rated);
        if (variant == 0)
            base = median;
        printf ("%s %s %s jobs/s", variant ? ";" : "", name,
                e2e_thousands (median, rate, sizeof rate));
        if (variant > 0 && base > 0)
            printf (" = %.2fx file", median / base);
        printf (" (broker %.1f us CPU/job)", s_median (cpu, rated));
    }
    if (rounds > 1)
        printf ("; medians of %zu rounds", rounds);
    printf ("\n");
}
