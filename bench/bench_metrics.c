/*  =========================================================================
    bench_metrics - what one METRICS costs the broker loop

    A manager over the memory store with N jobs spread over W workflows
    (queued; one in a hundred run and completed, so that histograms and
    counters are filled), the broker's metrics fed by its listener as in
    zjobd, then METRICS answered R times in a row as the broker does
    (zjob_metrics_cmd_handle: the figures gathered, the text rendered, the
    OK encoded). Prints the fastest, median and slowest answer and the
    text's size. The answer walks workflows and buckets, never jobs, so
    its time should not grow with N.

        bench_metrics [--jobs N] [--workflows W] [--rounds R]
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "zjob_manager.h"
#include "zjob_metrics_cmd.h"
#include "zjob_job_impl.h"
#include "zjob_util.h"

typedef struct {
    zjob_metrics_t *metrics;
    zjob_manager_t *manager;
} s_feed_t;

static void
s_feed (zjob_event_t event, const zjob_job_t *job, zjob_status_t old_status, void *arg)
{
    s_feed_t *feed = (s_feed_t *) arg;
    bool created = event == ZJOB_EVENT_STATUS && old_status == ZJOB_CREATED
        && zjob_manager_creating (feed->manager);
    zjob_metrics_job (feed->metrics, event, job, old_status, created);
}

//  Seconds on clock (wall: CLOCK_MONOTONIC; this thread's CPU time:
//  CLOCK_THREAD_CPUTIME_ID, which a loaded machine does not inflate)
static double
s_clock (clockid_t clock)
{
    struct timespec now;
    clock_gettime (clock, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}
#define s_now() s_clock (CLOCK_MONOTONIC)

static int
s_compare (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

//  Make jobs jobs over workflows workflows; one in a hundred run and completed
static int
s_fill (zjob_manager_t *manager, size_t jobs, size_t workflows)
{
    static const uint8_t outputs [] = { 0x80 };
    char name [32];
    zjob_error_t err;
    for (size_t index = 0; index < jobs; index++) {
        snprintf (name, sizeof name, "workflow-%zu", index % workflows);
        zjob_spec_t spec;
        memset (&spec, 0, sizeof spec);
        spec.workflow_id = name;
        spec.priority = ZJOB_PRIORITY_UNSET;
        zjob_job_t *job = zjob_manager_create (manager, &spec, true, &err);
        if (!job) {
            fprintf (stderr, "bench_metrics: create: %s\n", err.text);
            return -1;
        }
        zjob_job_destroy (&job);
        if (index % 100 == 0) {
            const char *wanted = name;
            job = zjob_manager_take (manager, &wanted, 1, "w1");
            if (job && zjob_manager_complete (manager, job->id, "w1", outputs, sizeof outputs, &err))
                fprintf (stderr, "bench_metrics: complete: %s\n", err.text);
            zjob_job_destroy (&job);
        }
    }
    return 0;
}

int
main (int argc, char *argv [])
{
    size_t jobs = 1000000, workflows = 1000, rounds = 20;
    for (int index = 1; index + 1 < argc; index += 2) {
        size_t value = strtoull (argv [index + 1], NULL, 10);
        if (streq (argv [index], "--jobs"))
            jobs = value;
        else if (streq (argv [index], "--workflows"))
            workflows = value ? value : 1;
        else if (streq (argv [index], "--rounds"))
            rounds = value ? value : 1;
    }
    zjob_error_t err;
    zjob_manager_t *manager = zjob_manager_open ("memory:", NULL, &err);
    zjob_registry_t *registry = zjob_registry_new (1000, 3);
    zjob_metrics_t *metrics = zjob_metrics_new ();
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    double *times = (double *) calloc (rounds, sizeof (double));
    double *cpu = (double *) calloc (rounds, sizeof (double));
    if (!manager || !registry || !metrics || !builder || !times || !cpu) {
        fprintf (stderr, "bench_metrics: cannot start\n");
        return 1;
    }
    s_feed_t feed = { metrics, manager };
    zjob_manager_set_listener (manager, s_feed, &feed);
    double started = s_now ();
    if (s_fill (manager, jobs, workflows))
        return 1;
    printf ("%zu jobs over %zu workflows made in %.1f s\n", jobs, workflows, s_now () - started);
    size_t size = 0;
    for (size_t round = 0; round < rounds; round++) {
        double begin = s_now ();
        double begin_cpu = s_clock (CLOCK_THREAD_CPUTIME_ID);
        if (zjob_metrics_cmd_handle (metrics, manager, registry, NULL, builder, 1, &err)) {
            fprintf (stderr, "bench_metrics: METRICS: %s\n", err.text);
            return 1;
        }
        zjob_msg_end_data (builder, &size, NULL);
        times [round] = (s_now () - begin) * 1000;
        cpu [round] = (s_clock (CLOCK_THREAD_CPUTIME_ID) - begin_cpu) * 1000;
    }
    qsort (times, rounds, sizeof (double), s_compare);
    qsort (cpu, rounds, sizeof (double), s_compare);
    printf ("METRICS answered %zu times: %.2f ms fastest, %.2f ms median, %.2f ms slowest "
            "(CPU: %.2f, %.2f, %.2f ms); reply %zu bytes\n",
            rounds, times [0], times [rounds / 2], times [rounds - 1], cpu [0], cpu [rounds / 2],
            cpu [rounds - 1], size);
    free (times);
    free (cpu);
    zjob_msg_builder_destroy (&builder);
    zjob_metrics_destroy (&metrics);
    zjob_registry_destroy (&registry);
    zjob_manager_destroy (&manager);
    return 0;
}
