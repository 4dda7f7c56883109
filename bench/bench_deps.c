/*  =========================================================================
    bench_deps - job dependencies at scale, in-process (zjob_deps.h)

    Measures, with no sockets, on the memory store:
      1. a graph of --jobs jobs (100,000) submitted through the manager in
         SUBMITs of --batch specs (10,000): in each SUBMIT, job i > 0
         waits for job (i - 1) / 2 by position (a binary tree), and the
         root of each SUBMIT after the first waits for the last job of
         the one before (by id). The time to submit it all, then the time
         to run it all (take, complete, and settle the children in
         ZJOB_DEPS_STEP steps as the broker's passes do), with the part
         spent settling, and the longest single settle step.
      2. the cost of one release while W jobs wait elsewhere (W = 1,000,
         10,000, 100,000, each waiting for one of 100 parents that never
         run): a parent is created and run and its one child settled and
         released, --rounds times; the time per release, and its ratio to
         the figure with 1,000 waiting. A release looks up its own list in
         the children index, so the ratio must stay near 1.
    Times are the thread's CPU time (not wall time, which preemption on a
    shared machine inflates).

    Usage: bench_deps [--jobs N] [--batch N] [--rounds N]
    This is a benchmark, not a test: it prints figures and exits 0.
    ========================================================================= */

#include "zjob_manager.h"
#include "zjob_deps.h"
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t s_jobs = 100000;  //  jobs in the graph
static size_t s_batch = 10000;  //  specs per SUBMIT
static size_t s_rounds = 2000;  //  releases timed per figure

//  The thread's CPU time, in microseconds
static double
s_cpu_us (void)
{
    struct timespec now;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &now);
    return (double) now.tv_sec * 1e6 + (double) now.tv_nsec / 1e3;
}

static zjob_manager_t *
s_manager (void)
{
    zjob_error_t err = { 0, "" };
    zjob_manager_config_t config = { .seed = 1 };
    zjob_manager_t *manager = zjob_manager_open ("memory:", &config, &err);
    if (!manager) {
        fprintf (stderr, "bench_deps: %s\n", err.text);
        exit (1);
    }
    return manager;
}

static zjob_spec_t
s_spec (const char *const *ids, size_t count, const uint32_t *positions, size_t position_count)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "bench";
    spec.priority = ZJOB_PRIORITY_UNSET;
    spec.depends_on = ids;
    spec.depends_on_count = count;
    spec.depends_on_index = positions;
    spec.depends_on_index_count = position_count;
    return spec;
}

//  Submit count specs (auto_start); ids of the jobs into ids (or NULL)
static void
s_submit (zjob_manager_t *manager, const zjob_spec_t *specs, size_t count,
          char (*ids) [ZJOB_ID_LEN + 1])
{
    zjob_job_t **jobs = (zjob_job_t **) calloc (count, sizeof (zjob_job_t *));
    uint64_t *existing = (uint64_t *) calloc (count, sizeof (uint64_t));
    size_t existing_count;
    zjob_error_t err = { 0, "" };
    if (!jobs || !existing
        || zjob_manager_submit (manager, specs, count, true, jobs, existing, &existing_count,
                                &err)
            < 0) {
        fprintf (stderr, "bench_deps: submit: %s\n", err.text);
        exit (1);
    }
    for (size_t index = 0; index < count; index++) {
        if (ids)
            memcpy (ids [index], zjob_job_id (jobs [index]), ZJOB_ID_LEN + 1);
        zjob_job_destroy (&jobs [index]);
    }
    free (jobs);
    free (existing);
}

//  Take and complete every ready job; the number done
static size_t
s_run_ready (zjob_manager_t *manager)
{
    size_t done = 0;
    zjob_job_t *job;
    zjob_error_t err = { 0, "" };
    while ((job = zjob_manager_take (manager, NULL, 0, "w1"))) {
        if (zjob_manager_complete (manager, zjob_job_id (job), "w1", NULL, 0, &err)) {
            fprintf (stderr, "bench_deps: complete: %s\n", err.text);
            exit (1);
        }
        zjob_job_destroy (&job);
        done++;
    }
    return done;
}


//  --------------------------------------------------------------------------
//  1. The graph

static void
s_graph (void)
{
    zjob_manager_t *manager = s_manager ();
    zjob_spec_t *specs = (zjob_spec_t *) calloc (s_batch, sizeof (zjob_spec_t));
    uint32_t *positions = (uint32_t *) calloc (s_batch, sizeof (uint32_t));
    char (*ids) [ZJOB_ID_LEN + 1] = calloc (s_batch, ZJOB_ID_LEN + 1);
    char last [ZJOB_ID_LEN + 1] = "";
    const char *previous [] = { last };
    double start = s_cpu_us ();
    size_t submitted = 0;
    for (size_t batch = 0; submitted < s_jobs; batch++) {
        size_t count = s_jobs - submitted < s_batch ? s_jobs - submitted : s_batch;
        for (size_t index = 0; index < count; index++) {
            positions [index] = (uint32_t) (index ? (index - 1) / 2 : 0);
            specs [index] = s_spec (NULL, 0, &positions [index], index > 0);
        }
        if (batch > 0)
            specs [0] = s_spec (previous, 1, NULL, 0);
        s_submit (manager, specs, count, ids);
        memcpy (last, ids [count - 1], sizeof (last));
        submitted += count;
    }
    double submit_us = s_cpu_us () - start;
    size_t counts [ZJOB_STATUS_COUNT];
    zjob_manager_counts (manager, counts);
    size_t waiting = counts [ZJOB_WAITING];

    start = s_cpu_us ();
    double settle_us = 0, longest_us = 0;
    size_t completed = 0, steps = 0;
    do {
        completed += s_run_ready (manager);
        while (zjob_manager_deps_busy (manager)) {
            double step_start = s_cpu_us ();
            zjob_manager_deps_step (manager, ZJOB_DEPS_STEP);
            double step_us = s_cpu_us () - step_start;
            settle_us += step_us;
            longest_us = step_us > longest_us ? step_us : longest_us;
            steps++;
        }
    } while (zjob_manager_queued (manager) > 0);
    double run_us = s_cpu_us () - start;
    printf ("graph: %zu jobs in SUBMITs of %zu (%zu waiting after the submit)\n", s_jobs,
            s_batch, waiting);
    printf ("  submit         %8.0f ms  (%.2f us a job)\n", submit_us / 1e3,
            submit_us / (double) s_jobs);
    printf ("  run all        %8.0f ms  (take + complete + settle; %zu completed)\n",
            run_us / 1e3, completed);
    printf ("  of it settling %8.0f ms  (%.2f us a release; %zu steps, the longest %.2f ms)\n",
            settle_us / 1e3, settle_us / (double) (s_jobs - 1), steps, longest_us / 1e3);
    free (specs);
    free (positions);
    free (ids);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  2. One release against the number of jobs waiting elsewhere

#define BLOCKERS 100

//  Microseconds of CPU per release (the parent's complete and the settle
//  step that releases its child) with waiting jobs waiting elsewhere
static double
s_release_cost (size_t waiting)
{
    zjob_manager_t *manager = s_manager ();
    zjob_error_t err = { 0, "" };
    char blockers [BLOCKERS][ZJOB_ID_LEN + 1];
    for (size_t index = 0; index < BLOCKERS; index++) {
        zjob_spec_t spec = s_spec (NULL, 0, NULL, 0);
        zjob_job_t *job = zjob_manager_create (manager, &spec, false, &err);
        memcpy (blockers [index], zjob_job_id (job), ZJOB_ID_LEN + 1);
        zjob_job_destroy (&job);
    }
    zjob_spec_t *specs = (zjob_spec_t *) calloc (s_batch, sizeof (zjob_spec_t));
    const char *parent [BLOCKERS];
    for (size_t done = 0; done < waiting;) {
        size_t count = waiting - done < s_batch ? waiting - done : s_batch;
        for (size_t index = 0; index < count; index++) {
            parent [(done + index) % BLOCKERS] = blockers [(done + index) % BLOCKERS];
            specs [index] = s_spec (&parent [(done + index) % BLOCKERS], 1, NULL, 0);
        }
        s_submit (manager, specs, count, NULL);
        done += count;
    }
    free (specs);
    double spent = 0;
    for (size_t round = 0; round < s_rounds; round++) {
        char id [1][ZJOB_ID_LEN + 1];
        zjob_spec_t spec = s_spec (NULL, 0, NULL, 0);
        s_submit (manager, &spec, 1, id);
        const char *parents [] = { id [0] };
        zjob_spec_t child = s_spec (parents, 1, NULL, 0);
        s_submit (manager, &child, 1, NULL);
        zjob_job_t *job = zjob_manager_take (manager, NULL, 0, "w1");
        double start = s_cpu_us ();
        zjob_manager_complete (manager, zjob_job_id (job), "w1", NULL, 0, &err);
        while (zjob_manager_deps_busy (manager))
            zjob_manager_deps_step (manager, ZJOB_DEPS_STEP);
        spent += s_cpu_us () - start;
        zjob_job_destroy (&job);
        if (s_run_ready (manager) != 1) {
            fprintf (stderr, "bench_deps: the child was not released\n");
            exit (1);
        }
    }
    zjob_manager_destroy (&manager);
    return spent / (double) s_rounds;
}

static void
s_releases (void)
{
    static const size_t waiting [] = { 1000, 10000, 100000 };
    printf ("one release (a parent completes, its child is settled and queued), %zu rounds:\n",
            s_rounds);
    double base = 0;
    for (size_t index = 0; index < sizeof (waiting) / sizeof (waiting [0]); index++) {
        double cost = s_release_cost (waiting [index]);
        if (index == 0)
            base = cost;
        printf ("  %6zu waiting elsewhere  %6.2f us  (x%.2f)\n", waiting [index], cost,
                cost / base);
    }
}

int
main (int argc, char *argv [])
{
    for (int index = 1; index < argc; index++) {
        const char *arg = argv [index];
        const char *value = index + 1 < argc ? argv [index + 1] : NULL;
        if (streq (arg, "--jobs") && value)
            s_jobs = (size_t) atol (value);
        else if (streq (arg, "--batch") && value)
            s_batch = (size_t) atol (value);
        else if (streq (arg, "--rounds") && value)
            s_rounds = (size_t) atol (value);
        else {
            fprintf (stderr, "usage: bench_deps [--jobs N] [--batch N] [--rounds N]\n");
            return 1;
        }
        index++;
    }
    if (s_jobs < 2 || s_batch < 1 || s_batch > ZJOB_BATCH_MAX || s_rounds < 1) {
        fprintf (stderr, "bench_deps: --jobs >= 2, --batch 1..%d, --rounds >= 1\n",
                 ZJOB_BATCH_MAX);
        return 1;
    }
    s_graph ();
    s_releases ();
    return 0;
}
