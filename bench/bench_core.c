/*  =========================================================================
    bench_core - in-process figures for the job manager and its stores

    Measures, with no sockets:
      1. resident memory per queued job, with --jobs queued jobs of
         100-byte inputs on the memory store (RSS growth / jobs, minus the
         input bytes), measured first while the heap is fresh; then the
         same with an idempotency key on every job, shaped as the one
         libzjob makes up for a spec without one (a client's 32-hex-digit
         prefix, a dash and a sequence number), since every job submitted
         through the library carries one.
      2. create -> take -> complete cycles per second, on the memory store
         and on the file store under each fsync policy. Mutations are
         committed in groups of --group cycles per sync, as the broker
         commits one loop pass per sync; each figure is also printed as a
         ratio to the memory store measured in the same run, since this
         machine is shared and its absolute speed varies.
      3. time to reopen (recover) a file store holding --jobs jobs.
      4. the longest single store call (put, sync) while the file store
         compacts a journal of --jobs live jobs: each job is put again,
         --group puts per sync, until the journal passes twice the live
         data and a compaction runs and completes; a call that blocks for
         the whole rewrite shows here as a pause of the broker's loop.
      5. resident memory given back after a cleanup: --jobs jobs on the
         memory store, all but one in a thousand removed, RSS before and
         after the sync that trims (malloc_trim), and how long that took.

      6. the loop-pass bounds: with --jobs finished jobs on the memory
         store, the longest single manager call while a cleanup deletes
         all of them (one call per loop pass), the longest step of a list
         of 100 at offset 0 and at offset jobs - 100 (by created, updated
         and priority), and the longest put and remove of a bare memory
         store growing to --jobs jobs and emptied again (its resizes); then
         with --jobs queued jobs, a CANCEL by a list of 10,000 ids (one
         loop pass), and by filter a CANCEL of every queued job and a
         DELETE of every job, in steps of ZJOB_BULK_STEP (one per pass):
         the longest step, the steps and their total. The
         broker answers nothing else while one of these runs, so each is a
         PING's worst extra wait. These figures are the thread's CPU time
         (page faults included), not wall time, which preemption on a
         shared machine inflates by multiples of 4 ms.

    Stores. --stores LIST (bench_stores.h: memory, file, sqlite,
    postgres, all, or specs, separated by commas) replaces figures 2 and 3
    with the same ones on each store of the list, each on a fresh store:
    the cycles per second with the median, p99 and longest sync (a sync is
    one group commit: an fsync, a SQLite transaction, a PostgreSQL
    pipeline), then --jobs queued jobs put through the manager (a sync
    every 4,096, as a broker under a flood) and the store opened again
    (with zjob_store_acquire: a PostgreSQL store loads its rows there);
    each figure also as a ratio to the file store's (fsync=always) of the
    same run. --stores all: memory, the file store with fsync=always,
    SQLite with sync=full and a PostgreSQL server that the bench starts
    itself with tests/pg_server.sh (fsync on) and stops at its end.

    Usage: bench_core [--quick] [--jobs N] [--cycles N] [--group N] [--dir D]
                      [--only memory|cycles|recovery|compaction|trim|loop]
                      [--stores LIST]
    This is a benchmark, not a test: it prints figures and exits 0.
    ========================================================================= */

#include "zjob_manager.h"
#include "zjob_clients.h"  //  ZJOB_LIST_STEP
#include "zjob_bulk.h"     //  ZJOB_BULK_STEP
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "bench_stores.h"

static size_t s_jobs = 1000000;                    //  queued jobs for memory/recovery
static size_t s_cycles = 500000;                   //  cycles per throughput figure
static size_t s_group = 256;                       //  cycles per sync (one loop pass)
static const char *s_dir = NULL;                   //  where file stores go
static const char *s_only = NULL;                  //  the one section to run, or NULL
static bench_store_t s_stores [BENCH_STORES_MAX];  //  --stores
static size_t s_store_count = 0;                   //  0: the default figures

static bool
s_runs (const char *section)
{
    return !s_only || streq (s_only, section);
}

//  A msgpack map of about 100 bytes: {"payload": "xxxx..."}
static uint8_t s_inputs [128];
static size_t s_inputs_size;

static void
s_make_inputs (void)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    char body [100 - 12];
    memset (body, 'x', sizeof body);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "payload", 7);
    msgpack_pack_str_with_body (&pk, body, sizeof body);
    assert (sbuf.size <= sizeof s_inputs);
    memcpy (s_inputs, sbuf.data, sbuf.size);
    s_inputs_size = sbuf.size;
    msgpack_sbuffer_destroy (&sbuf);
}

static zjob_manager_t *
s_manager (const char *spec, size_t max_concurrent)
{
    zjob_error_t err;
    zjob_store_t *store = zjob_store_open (spec, &err);
    if (!store || zjob_store_acquire (store, &err) != 1) {
        fprintf (stderr, "bench_core: cannot open %s: %s\n", spec, err.text);
        exit (1);
    }
    zjob_manager_config_t config = { .max_concurrent = max_concurrent };
    zjob_manager_t *manager = zjob_manager_new (&store, &config, &err);
    if (!manager) {
        fprintf (stderr, "bench_core: manager on %s: %s\n", spec, err.text);
        exit (1);
    }
    return manager;
}

//  The syncs of a run: each one's time, for the median and p99
typedef struct {
    double *ms;
    size_t count;
    size_t max;
} s_syncs_t;

static void
s_sync (zjob_manager_t *manager, s_syncs_t *syncs)
{
    zjob_error_t err;
    int64_t start = zclock_usecs ();
    if (zjob_manager_sync (manager, &err)) {
        fprintf (stderr, "bench_core: sync: %s\n", err.text);
        exit (1);
    }
    if (syncs && syncs->count < syncs->max)
        syncs->ms [syncs->count++] = (zclock_usecs () - start) / 1e3;
}

static int s_double_compare (const void *a, const void *b);

//  Runs create -> take -> complete cycles in groups, one sync per group.
//  Returns cycles per second; *fsyncs_p (if not NULL) gets the number of
//  fsyncs the store made, so a slow disk can be told from slow code;
//  syncs (if not NULL) each sync's time.
static double
s_cycles_per_sec (const char *spec, long *fsyncs_p, s_syncs_t *syncs)
{
    zjob_manager_t *manager = s_manager (spec, 0);
    zjob_spec_t job_spec = {
        .workflow_id = "bench", .inputs = s_inputs, .inputs_size = s_inputs_size, .priority = ZJOB_PRIORITY_MEDIUM
    };
    const char *workflows [] = { "bench" };
    zjob_job_t **held = calloc (s_group, sizeof *held);
    zjob_error_t err;
    static const uint8_t outputs [] = { 0x81, 0xa2, 'o', 'k', 0xc3 };  //  {"ok": true}

    int64_t start = zclock_usecs ();
    size_t done = 0;
    while (done < s_cycles) {
        size_t group = s_cycles - done < s_group ? s_cycles - done : s_group;
        for (size_t i = 0; i < group; i++) {
            zjob_job_t *job = zjob_manager_create (manager, &job_spec, true, &err);
            if (!job) {
                fprintf (stderr, "bench_core: create: %s\n", err.text);
                exit (1);
            }
            zjob_job_destroy (&job);
        }
        s_sync (manager, syncs);
        for (size_t i = 0; i < group; i++) {
            held [i] = zjob_manager_take (manager, workflows, 1, "w1");
            assert (held [i]);
        }
        for (size_t i = 0; i < group; i++) {
            if (zjob_manager_complete (manager, held [i]->id, "w1",
                                       outputs, sizeof outputs, &err)) {
                fprintf (stderr, "bench_core: complete: %s\n", err.text);
                exit (1);
            }
            zjob_job_destroy (&held [i]);
        }
        s_sync (manager, syncs);
        done += group;
    }
    double secs = (zclock_usecs () - start) / 1e6;
    free (held);
    if (fsyncs_p) {
        zhashx_t *stats = zhashx_new ();
        zjob_store_stats (zjob_manager_store (manager), stats);
        const char *fsyncs = (const char *) zhashx_lookup (stats, "fsyncs");
        *fsyncs_p = fsyncs ? atol (fsyncs) : 0;
        zhashx_destroy (&stats);
    }
    zjob_manager_destroy (&manager);
    return done / secs;
}

static size_t
s_rss_bytes (void)
{
    FILE *file = fopen ("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (file) {
        if (fscanf (file, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose (file);
    }
    return resident * (size_t) sysconf (_SC_PAGESIZE);
}

static void
s_fill (zjob_manager_t *manager, size_t count, bool keyed)
{
    zjob_spec_t job_spec = {
        .workflow_id = "bench", .inputs = s_inputs, .inputs_size = s_inputs_size
    };
    zjob_error_t err;
    char key [64];
    for (size_t i = 0; i < count; i++) {
        job_spec.priority = (zjob_priority_t) (i % ZJOB_PRIORITY_COUNT);
        if (keyed) {
            snprintf (key, sizeof key, "6f1c0e9a2b7d4c58a3e1f0b9d2c4e6a8-%zu", i + 1);
            job_spec.idempotency_key = key;
        }
        zjob_job_t *job = zjob_manager_create (manager, &job_spec, true, &err);
        if (!job) {
            fprintf (stderr, "bench_core: create: %s\n", err.text);
            exit (1);
        }
        zjob_job_destroy (&job);
        if (i % 4096 == 4095 && zjob_manager_sync (manager, &err)) {
            fprintf (stderr, "bench_core: sync: %s\n", err.text);
            exit (1);
        }
    }
}

static uint64_t
s_store_stat (zjob_store_t *store, const char *key)
{
    zhashx_t *stats = zhashx_new ();
    zjob_store_stats (store, stats);
    const char *value = (const char *) zhashx_lookup (stats, key);
    uint64_t number = value ? strtoull (value, NULL, 10) : 0;
    zhashx_destroy (&stats);
    return number;
}

//  Put --jobs jobs in a file store, then put each again, --group puts per
//  sync, until a compaction has run and finished; print the longest put,
//  the longest sync and the compaction's duration
static void
s_compaction_pauses (const char *dir)
{
    char spec [4200];
    snprintf (spec, sizeof spec, "file:%s/compact?fsync=never", dir);
    zjob_error_t err;
    zjob_store_t *store = zjob_store_open (spec, &err);
    if (!store) {
        fprintf (stderr, "bench_core: cannot open %s: %s\n", spec, err.text);
        exit (1);
    }
    zjob_spec_t job_spec = {
        .workflow_id = "bench", .inputs = s_inputs, .inputs_size = s_inputs_size, .priority = ZJOB_PRIORITY_MEDIUM
    };
    zjob_job_t **jobs = (zjob_job_t **) calloc (s_jobs, sizeof *jobs);
    for (size_t i = 0; i < s_jobs; i++) {
        jobs [i] = zjob_job_new (&job_spec, &err);
        if (!jobs [i] || zjob_store_put (store, jobs [i], &err)
            || (i % s_group == s_group - 1 && zjob_store_sync (store, &err))) {
            fprintf (stderr, "bench_core: fill: %s\n", err.text);
            exit (1);
        }
    }
    if (zjob_store_sync (store, &err)) {
        fprintf (stderr, "bench_core: sync: %s\n", err.text);
        exit (1);
    }
    uint64_t compactions = s_store_stat (store, "compactions");
    int64_t max_put = 0, max_sync = 0, started = 0, finished = 0, begin = zclock_usecs ();
    int64_t max_put_before = 0, max_sync_before = 0;  //  Before the compaction began
    size_t puts = 0, syncs = 0;
    //  Until the compaction has finished, or a minute at most
    int64_t deadline = zclock_usecs () + 60 * 1000000LL;
    for (size_t i = 0; finished == 0 && zclock_usecs () < deadline; i++) {
        zjob_job_t *job = jobs [i % s_jobs];
        job->updated_at++;
        int64_t start = zclock_usecs ();
        int rc = zjob_store_put (store, job, &err);
        int64_t took = zclock_usecs () - start;
        max_put = took > max_put ? took : max_put;
        if (!started)
            max_put_before = took > max_put_before ? took : max_put_before;
        puts++;
        if (rc == 0 && i % s_group == s_group - 1) {
            bool running = s_store_stat (store, "compacting") > 0;
            start = zclock_usecs ();
            rc = zjob_store_sync (store, &err);
            took = zclock_usecs () - start;
            max_sync = took > max_sync ? took : max_sync;
            if (!started && !running && s_store_stat (store, "compacting") == 0
                && s_store_stat (store, "compactions") == compactions)
                max_sync_before = took > max_sync_before ? took : max_sync_before;
            syncs++;
            if (!started && (running || s_store_stat (store, "compacting") > 0))
                started = start;
            if (s_store_stat (store, "compactions") > compactions) {
                finished = zclock_usecs ();
                if (!started)
                    started = start;  //  It ran inside this one sync
            }
        }
        if (rc) {
            fprintf (stderr, "bench_core: churn: %s\n", err.text);
            exit (1);
        }
    }
    printf ("\ncompaction of a journal of %zu live jobs (fsync=never, %zu puts per sync)\n",
            s_jobs, s_group);
    if (finished)
        printf ("  compaction took %.2f s; during the whole run (%.1f s, %zu puts, %zu syncs) "
                "the longest put took %.2f ms, the longest sync %.2f ms\n",
                (finished - started) / 1e6, (zclock_usecs () - begin) / 1e6, puts, syncs,
                max_put / 1e3, max_sync / 1e3);
    if (finished)
        printf ("  before the compaction began: longest put %.2f ms, longest sync %.2f ms\n",
                max_put_before / 1e3, max_sync_before / 1e3);
    else
        printf ("  no compaction finished in a minute (%zu puts, %zu syncs, %s)\n",
                puts, syncs, started ? "one started" : "none started");
    for (size_t i = 0; i < s_jobs; i++)
        zjob_job_destroy (&jobs [i]);
    free (jobs);
    zjob_store_destroy (&store);
}

static void s_recovery (const char *dir);
static void s_store_figures (const char *dir);

//  Fill a memory store, remove all but one job in a thousand, and show
//  the resident memory before and after the sync that gives it back
static void
s_trim_figures (void)
{
    zjob_error_t err;
    size_t start = s_rss_bytes ();
    zjob_store_t *store = zjob_store_open ("memory:", &err);
    zjob_spec_t job_spec = {
        .workflow_id = "bench", .inputs = s_inputs, .inputs_size = s_inputs_size
    };
    char (*ids) [ZJOB_ID_LEN + 1] = calloc (s_jobs, sizeof *ids);
    for (size_t i = 0; i < s_jobs; i++) {
        zjob_job_t *job = zjob_job_new (&job_spec, &err);
        if (!job || zjob_store_put (store, job, &err)) {
            fprintf (stderr, "bench_core: fill: %s\n", err.text);
            exit (1);
        }
        strcpy (ids [i], job->id);
        zjob_job_destroy (&job);
    }
    zjob_store_sync (store, &err);
    size_t full = s_rss_bytes ();
    int64_t removing = zclock_usecs ();
    for (size_t i = 0; i < s_jobs; i++)
        if (i % 1000 != 999)
            zjob_store_remove (store, ids [i], &err);
    removing = zclock_usecs () - removing;
    free (ids);
    size_t removed = s_rss_bytes ();
    int64_t begin = zclock_usecs ();
    zjob_store_sync (store, &err);
    int64_t took = zclock_usecs () - begin;
    size_t trimmed = s_rss_bytes ();
    printf ("\nresident memory, %zu jobs on memory:, then all but %zu removed\n",
            s_jobs, zjob_store_count (store));
    printf ("  at start %.0f MB, full %.0f MB, after the removals %.0f MB, after the next "
            "sync %.0f MB (that sync, with its malloc_trim, took %.1f ms)\n",
            start / 1e6, full / 1e6, removed / 1e6, trimmed / 1e6, took / 1e3);
    printf ("  (the removals themselves took %.1f ms)\n", removing / 1e3);
    zjob_store_destroy (&store);
}

static void
s_remove_tree (const char *dir)
{
    char command [4096];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    if (system (command) != 0)
        fprintf (stderr, "bench_core: could not remove %s\n", dir);
}

static int
s_double_compare (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

//  CPU time of this thread, usecs: the loop-pass figures count the work
//  of a step, not the time the scheduler gives other processes (on a
//  shared machine a step is often preempted for 4 ms quanta)
static int64_t
s_cpu_usecs (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

//  A list of 100 at offset by sort_by, in steps of ZJOB_LIST_STEP jobs
//  (one per loop pass in the broker): the longest step, and all steps
static void
s_list_steps (zjob_manager_t *manager, zjob_sort_t sort_by, size_t offset, const char *workflow)
{
    zjob_query_t query;
    memset (&query, 0, sizeof query);
    query.filter.workflow_id = workflow;  //  A criterion reads every job
    query.offset = offset;
    query.limit = 100;
    query.sort_by = sort_by;
    zjob_error_t err;
    zjob_listing_t *listing = zjob_listing_new (&query, &err);
    double longest = 0;
    size_t steps = 0;
    int rc = 0;
    int64_t begun = s_cpu_usecs ();
    while (listing && rc == 0) {
        int64_t start = s_cpu_usecs ();
        rc = zjob_manager_list_step (manager, listing, ZJOB_LIST_STEP, &err);
        double ms = (s_cpu_usecs () - start) / 1e3;
        longest = ms > longest ? ms : longest;
        steps++;
    }
    double all = (s_cpu_usecs () - begun) / 1e3;
    zjob_job_t **jobs;
    size_t count, total;
    if (!listing || rc < 0 || zjob_listing_take (listing, &jobs, &count, &total, &err)) {
        fprintf (stderr, "bench_core: list: %s\n", err.text);
        exit (1);
    }
    printf ("  list of %zu at offset %-7zu by %-8s%s %3zu steps of at most %d jobs: "
            "longest %6.2f ms (all %6.1f ms)\n",
            count, offset, zjob_sort_name (sort_by), workflow ? " filtered" : "", steps,
            ZJOB_LIST_STEP, longest, all);
    for (size_t job = 0; job < count; job++)
        zjob_job_destroy (&jobs [job]);
    free (jobs);
    zjob_listing_destroy (&listing);
}

//  The longest single put while a bare memory store grows to s_jobs jobs,
//  and the longest remove while it empties again: the table's resizes
static void
s_table_resizes (void)
{
    zjob_store_t *store = zjob_store_memory_new ();
    zjob_spec_t job_spec = { .workflow_id = "bench", .inputs = s_inputs, .inputs_size = s_inputs_size };
    zjob_error_t err;
    char (*ids) [ZJOB_ID_LEN + 1] = calloc (s_jobs, sizeof *ids);
    double put_ms = 0, remove_ms = 0, last_ms = 0;
    for (size_t i = 0; store && ids && i < s_jobs; i++) {
        zjob_job_t *job = zjob_job_new (&job_spec, &err);
        if (!job)
            break;
        snprintf (ids [i], sizeof ids [i], "%s", job->id);
        int64_t start = s_cpu_usecs ();
        zjob_store_put (store, job, &err);
        double ms = (s_cpu_usecs () - start) / 1e3;
        put_ms = ms > put_ms ? ms : put_ms;
        zjob_job_destroy (&job);
    }
    for (size_t i = 0; store && ids && i < s_jobs; i++) {
        //  Every other job first, then the rest: holes all through the index
        size_t at = i < s_jobs / 2 ? 2 * i : 2 * (i - s_jobs / 2) + 1;
        int64_t start = s_cpu_usecs ();
        zjob_store_remove (store, ids [at], &err);
        double ms = (s_cpu_usecs () - start) / 1e3;
        if (i + 1 < s_jobs)
            remove_ms = ms > remove_ms ? ms : remove_ms;
        else
            last_ms = ms;
    }
    //  The last remove frees the heap's top chunk, and glibc gives the
    //  emptied heap back to the kernel in that free (system time, 20-45 ms
    //  here): a cost of the allocator, not of the table, shown apart
    printf ("  memory table of %zu jobs: longest put %.2f ms, longest remove %.2f ms "
            "(the last, emptying the heap: %.2f ms)\n",
            s_jobs, put_ms, remove_ms, last_ms);
    free (ids);
    zjob_store_destroy (&store);
}

//  4. The loop-pass bounds: the longest manager call a loop pass makes
//  for a cleanup of s_jobs finished jobs, and for a deep list
static void
s_loop_bounds (void)
{
    printf ("\nloop-pass bounds, %zu completed jobs on memory:\n", s_jobs);
    s_table_resizes ();
    zjob_manager_t *manager = s_manager ("memory:", 0);
    s_fill (manager, s_jobs, false);
    zjob_error_t err;
    static const uint8_t outputs [] = { 0x81, 0xa2, 'o', 'k', 0xc3 };
    for (size_t i = 0; i < s_jobs; i++) {
        zjob_job_t *job = zjob_manager_take (manager, NULL, 0, "w1");
        if (!job || zjob_manager_complete (manager, job->id, "w1", outputs, sizeof outputs, &err)) {
            fprintf (stderr, "bench_core: complete: %s\n", job ? err.text : "nothing to take");
            exit (1);
        }
        zjob_job_destroy (&job);
    }
    size_t deep = s_jobs > 100 ? s_jobs - 100 : 0;
    const struct {
        zjob_sort_t sort_by;
        size_t offset;
        const char *workflow;
    } lists [] = { { ZJOB_SORT_CREATED, 0, NULL }, { ZJOB_SORT_CREATED, deep, NULL }, { ZJOB_SORT_CREATED, deep, "bench" }, { ZJOB_SORT_UPDATED, 0, NULL }, { ZJOB_SORT_UPDATED, deep, NULL }, { ZJOB_SORT_UPDATED, deep, "bench" }, { ZJOB_SORT_PRIORITY, deep, NULL } };
    for (size_t index = 0; index < sizeof lists / sizeof lists [0]; index++)
        s_list_steps (manager, lists [index].sort_by, lists [index].offset,
                      lists [index].workflow);
    //  Everything is past a retention of 7 days from a year ahead
    int64_t later = zjob_clock_ms () + 365LL * 24 * 3600 * 1000;
    size_t deleted = 0;
    size_t steps = 0;
    double longest = 0;
    static double step_ms [1 << 16];  //  Each step's time, for the percentiles
    int64_t begun = s_cpu_usecs ();
    int more = 1;
    while (more > 0) {
        int64_t start = s_cpu_usecs ();
        more = zjob_manager_cleanup_step (manager, later, ZJOB_CLEANUP_STEP, &deleted, &err);
        double ms = (s_cpu_usecs () - start) / 1e3;
        longest = ms > longest ? ms : longest;
        if (steps < sizeof step_ms / sizeof step_ms [0])
            step_ms [steps] = ms;
        steps++;
    }
    if (more < 0) {
        fprintf (stderr, "bench_core: cleanup: %s\n", err.text);
        exit (1);
    }
    double all = (s_cpu_usecs () - begun) / 1e3;
    size_t kept = steps < sizeof step_ms / sizeof step_ms [0] ? steps : sizeof step_ms / sizeof step_ms [0];
    qsort (step_ms, kept, sizeof (double), s_double_compare);
    printf ("  cleanup of %zu jobs: %zu steps of at most %d: median %.2f ms, p99 %.2f ms, "
            "longest %.2f ms (all %.0f ms)\n",
            deleted, steps, ZJOB_CLEANUP_STEP,
            step_ms [kept / 2], step_ms [kept * 99 / 100], longest, all);
    zjob_manager_destroy (&manager);
}

//  An operation by filter over the manager's jobs in steps of
//  ZJOB_BULK_STEP (one per loop pass in the broker): the longest step,
//  the median, the steps and their total
static void
s_bulk_steps (zjob_manager_t *manager, zjob_apply_t what, const zjob_filter_t *filter,
              const char *label)
{
    zjob_error_t err;
    zjob_bulk_walk_t *walk = zjob_manager_bulk_new (manager, what, NULL, 0, filter, NULL, &err);
    static double step_ms [1 << 16];  //  Each step's time, for the median
    size_t steps = 0;
    double longest = 0;
    int rc = walk ? 0 : -1;
    int64_t begun = s_cpu_usecs ();
    while (rc == 0) {
        int64_t start = s_cpu_usecs ();
        rc = zjob_manager_bulk_step (manager, walk, ZJOB_BULK_STEP, &err);
        double ms = (s_cpu_usecs () - start) / 1e3;
        longest = ms > longest ? ms : longest;
        if (steps < sizeof step_ms / sizeof step_ms [0])
            step_ms [steps] = ms;
        steps++;
    }
    double all = (s_cpu_usecs () - begun) / 1e3;
    if (rc < 0) {
        fprintf (stderr, "bench_core: %s: %s\n", label, err.text);
        exit (1);
    }
    size_t kept = steps < sizeof step_ms / sizeof step_ms [0] ? steps : sizeof step_ms / sizeof step_ms [0];
    qsort (step_ms, kept, sizeof (double), s_double_compare);
    printf ("  %s: %zu done, %zu steps of at most %d jobs: median %.2f ms, longest %.2f ms "
            "(all %.0f ms)\n",
            label, zjob_bulk_walk_outcome (walk)->done, steps, ZJOB_BULK_STEP, step_ms [kept / 2],
            longest, all);
    zjob_bulk_walk_destroy (&walk);
}

//  Collects up to max ids from a store walk
typedef struct {
    char (*ids) [ZJOB_ID_LEN + 1];
    size_t count;
} s_ids_t;

static int
s_collect (zjob_job_t *job, void *arg)
{
    s_ids_t *ids = (s_ids_t *) arg;
    snprintf (ids->ids [ids->count++], ZJOB_ID_LEN + 1, "%s", job->id);
    return 0;
}

//  Bulk operations over s_jobs queued jobs: by 10,000 ids in one call (one
//  loop pass), then by filter in steps
static void
s_bulk_bounds (void)
{
    printf ("\nbulk operations, %zu queued jobs on memory:\n", s_jobs);
    zjob_manager_t *manager = s_manager ("memory:", 0);
    s_fill (manager, s_jobs, false);
    size_t max = s_jobs < ZJOB_BATCH_MAX ? s_jobs : ZJOB_BATCH_MAX;
    s_ids_t ids = { calloc (max, ZJOB_ID_LEN + 1), 0 };
    const char **list = (const char **) calloc (max, sizeof (char *));
    char cursor [ZJOB_ID_LEN + 1] = "";
    zjob_bulk_t *bulk = (zjob_bulk_t *) malloc (sizeof (zjob_bulk_t));
    if (!ids.ids || !list || !bulk) {
        fprintf (stderr, "bench_core: out of memory\n");
        exit (1);
    }
    zjob_store_walk (zjob_manager_store (manager), NULL, false, cursor, max, s_collect, &ids);
    for (size_t i = 0; i < ids.count; i++)
        list [i] = ids.ids [i];
    zjob_error_t err;
    int64_t start = s_cpu_usecs ();
    zjob_manager_apply_bulk (manager, ZJOB_APPLY_CANCEL, list, ids.count, NULL, bulk, &err);
    printf ("  CANCEL by %zu ids (one pass): %zu done in %.2f ms\n", ids.count, bulk->done,
            (s_cpu_usecs () - start) / 1e3);
    zjob_filter_t queued = { .status_mask = 1u << ZJOB_QUEUED };
    s_bulk_steps (manager, ZJOB_APPLY_CANCEL, &queued, "CANCEL by filter of every queued job");
    zjob_filter_t every = { .workflow_id = "bench" };
    s_bulk_steps (manager, ZJOB_APPLY_DELETE, &every, "DELETE by filter of every job");
    free (bulk);
    free (list);
    free (ids.ids);
    zjob_manager_destroy (&manager);
}

//  The options into the s_ settings. Returns 0, or 2 (usage) after saying why
static int
s_parse (int argc, char *argv [])
{
    for (int arg = 1; arg < argc; arg++) {
        if (streq (argv [arg], "--quick")) {
            s_jobs = 100000;
            s_cycles = 50000;
        }
        else if (streq (argv [arg], "--jobs") && arg + 1 < argc)
            s_jobs = strtoul (argv [++arg], NULL, 10);
        else if (streq (argv [arg], "--cycles") && arg + 1 < argc)
            s_cycles = strtoul (argv [++arg], NULL, 10);
        else if (streq (argv [arg], "--group") && arg + 1 < argc)
            s_group = strtoul (argv [++arg], NULL, 10);
        else if (streq (argv [arg], "--dir") && arg + 1 < argc)
            s_dir = argv [++arg];
        else if (streq (argv [arg], "--only") && arg + 1 < argc)
            s_only = argv [++arg];
        else if (streq (argv [arg], "--stores") && arg + 1 < argc) {
            s_store_count = bench_stores_parse (argv [++arg], s_stores);
            if (!s_store_count)
                return 2;
        }
        else {
            fprintf (stderr, "usage: bench_core [--quick] [--jobs N] [--cycles N] [--group N] [--dir D]\n"
                             "                  [--only memory|cycles|recovery|compaction|trim|loop]\n"
                             "                  [--stores memory,file,sqlite,postgres|all|SPEC,...]\n");
            return 2;
        }
    }
    if (s_group == 0 || s_cycles == 0 || s_jobs == 0) {
        fprintf (stderr, "bench_core: --jobs, --cycles and --group must be > 0\n");
        return 2;
    }
    return 0;
}

int
main (int argc, char *argv [])
{
    if (s_parse (argc, argv))
        return 2;
    s_make_inputs ();
    char tmpl [] = "/tmp/zjob-bench-XXXXXX";
    char *dir = s_dir ? (char *) s_dir : mkdtemp (tmpl);
    if (!dir) {
        perror ("bench_core: mkdtemp");
        return 1;
    }
    printf ("zjob bench_core: %zu cycles per figure, %zu cycles per sync, "
            "%zu-byte inputs, store dir %s\n\n",
            s_cycles, s_group, s_inputs_size, dir);

    //  1. Memory per queued job, each in a child process whose heap is
    //  fresh (memory a first fill freed would hide a second one's growth)
    if (s_runs ("memory"))
        printf ("resident memory, %zu queued jobs on memory:\n", s_jobs);
    fflush (stdout);
    for (int keyed = 0; keyed < 2 && s_runs ("memory"); keyed++) {
        pid_t pid = fork ();
        if (pid == 0) {
            size_t before = s_rss_bytes ();
            zjob_manager_t *manager = s_manager ("memory:", 0);
            s_fill (manager, s_jobs, keyed);
            size_t after = s_rss_bytes ();
            double per_job = after > before ? (double) (after - before) / s_jobs : 0;
            printf ("  %-34s %.0f bytes per job, %.0f beyond its %zu-byte inputs\n",
                    keyed ? "with a 42-byte idempotency key:" : "without idempotency keys:",
                    per_job, per_job - s_inputs_size, s_inputs_size);
            fflush (stdout);
            _exit (0);
        }
        if (pid < 0 || waitpid (pid, NULL, 0) != pid)
            fprintf (stderr, "bench_core: the memory figure's process failed\n");
    }


    //  2. Throughput
    const char *policies [] = { "always", "interval:50ms", "never" };
    double memory = 0;
    if (s_store_count && (s_runs ("cycles") || s_runs ("recovery")))
        s_store_figures (dir);
    else if (s_runs ("cycles")) {
        printf ("\ncreate -> take -> complete cycles\n");
        memory = s_cycles_per_sec ("memory:", NULL, NULL);
        printf ("  %-28s %10.0f cycles/s   1.00x\n", "memory:", memory);
    }
    for (size_t index = 0; index < 3 && s_runs ("cycles") && !s_store_count; index++) {
        char spec [4200];
        snprintf (spec, sizeof spec, "file:%s/cycles-%zu?fsync=%s", dir, index, policies [index]);
        long fsyncs = 0;
        double rate = s_cycles_per_sec (spec, &fsyncs, NULL);
        char label [64];
        snprintf (label, sizeof label, "file: fsync=%s", policies [index]);
        printf ("  %-28s %10.0f cycles/s   %.2fx", label, rate, rate / memory);
        if (fsyncs > 0)
            printf ("   %ld fsyncs, %.0f us of the run per fsync",
                    fsyncs, 1e6 * (s_cycles / rate) / fsyncs);
        printf ("\n");
    }

    //  3. Recovery
    if (s_runs ("recovery") && !s_store_count)
        s_recovery (dir);

    //  4. Longest store call during a compaction
    if (s_runs ("compaction"))
        s_compaction_pauses (dir);

    //  5. Memory back after a cleanup, in a child whose heap is fresh
    if (s_runs ("trim")) {
        fflush (stdout);
        pid_t pid = fork ();
        if (pid == 0) {
            s_trim_figures ();
            fflush (stdout);
            _exit (0);
        }
        if (pid < 0 || waitpid (pid, NULL, 0) != pid)
            fprintf (stderr, "bench_core: the trim figure's process failed\n");
    }

    //  6. The bounds of one loop pass: cleanup steps and deep list pages
    if (s_runs ("loop")) {
        s_loop_bounds ();
        s_bulk_bounds ();
    }

    if (!s_dir)
        s_remove_tree (dir);
    return 0;
}

static void
s_recovery (const char *dir)
{
    char spec [4200];
    snprintf (spec, sizeof spec, "file:%s/recover?fsync=never", dir);
    zjob_manager_t *manager = s_manager (spec, 0);
    s_fill (manager, s_jobs, false);
    zjob_manager_destroy (&manager);
    int64_t start = zclock_usecs ();
    manager = s_manager (spec, 0);
    double secs = (zclock_usecs () - start) / 1e6;
    printf ("\nrecovery of a file store with %zu queued jobs\n", s_jobs);
    printf ("  %.2f s (%.0f jobs/s), %zu jobs queued after reopen\n",
            secs, s_jobs / secs, zjob_manager_queued (manager));
    zjob_manager_destroy (&manager);
}

//  --------------------------------------------------------------------------
//  --stores: figures 2 and 3 on each store of a list

//  What one store measured; 0 for a figure not taken
typedef struct {
    char label [32];
    double cycles;         //  create -> take -> complete cycles/s
    double p50, p99, max;  //  ms of one sync during the cycles
    double fill;           //  jobs/s put through the manager
    double reopen;         //  secs to open the store again, -1 if it cannot be
    size_t queued;         //  jobs queued after the reopen
} s_store_result_t;

static void
s_store_cycles (const bench_store_t *store, size_t index, const char *dir,
                s_store_result_t *result)
{
    char spec [BENCH_SPEC_MAX + 64], figure [32];
    snprintf (figure, sizeof figure, "cycles-%zu", index);
    if (bench_store_fresh (store, dir, figure, spec, sizeof spec))
        exit (1);
    s_syncs_t syncs = { NULL, 0, 2 * (s_cycles / s_group + 1) };
    syncs.ms = (double *) calloc (syncs.max, sizeof (double));
    if (!syncs.ms) {
        fprintf (stderr, "bench_core: out of memory\n");
        exit (1);
    }
    result->cycles = s_cycles_per_sec (spec, NULL, &syncs);
    qsort (syncs.ms, syncs.count, sizeof (double), s_double_compare);
    if (syncs.count) {
        result->p50 = syncs.ms [syncs.count / 2];
        result->p99 = syncs.ms [syncs.count * 99 / 100];
        result->max = syncs.ms [syncs.count - 1];
    }
    free (syncs.ms);
    printf ("  %-10s %9.0f cycles/s; a sync (%zu cycles) took %.2f ms median, %.2f ms p99, "
            "%.2f ms at most\n",
            result->label, result->cycles, s_group, result->p50, result->p99, result->max);
    fflush (stdout);
}

static void
s_store_recovery (const bench_store_t *store, size_t index, const char *dir,
                  s_store_result_t *result)
{
    char spec [BENCH_SPEC_MAX + 64], figure [32];
    snprintf (figure, sizeof figure, "fill-%zu", index);
    if (bench_store_fresh (store, dir, figure, spec, sizeof spec))
        exit (1);
    zjob_manager_t *manager = s_manager (spec, 0);
    int64_t start = zclock_usecs ();
    s_fill (manager, s_jobs, false);
    s_sync (manager, NULL);
    result->fill = s_jobs / ((zclock_usecs () - start) / 1e6);
    zjob_manager_destroy (&manager);
    result->reopen = -1;
    if (!streq (result->label, "memory")) {
        start = zclock_usecs ();
        manager = s_manager (spec, 0);
        result->reopen = (zclock_usecs () - start) / 1e6;
        result->queued = zjob_manager_queued (manager);
        zjob_manager_destroy (&manager);
    }
    printf ("  %-10s %9.0f jobs/s put (a sync every 4,096)", result->label, result->fill);
    if (result->reopen >= 0)
        printf ("; reopened in %.2f s (%.0f jobs/s), %zu jobs queued after", result->reopen,
                s_jobs / result->reopen, result->queued);
    printf ("\n");
    fflush (stdout);
}

//  "  1.23x" of figure to base, or "     -" without both
static const char *
s_ratio (double figure, double base, char *text, size_t size)
{
    if (figure > 0 && base > 0)
        snprintf (text, size, "%6.2fx", figure / base);
    else
        snprintf (text, size, "%7s", "-");
    return text;
}

//  value in format into text (16 bytes), or "-" for none (< 0); the
//  formats are this file's own
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static const char *
s_figure (const char *format, double value, char *text)
{
    if (value >= 0)
        snprintf (text, 16, format, value);
    else
        snprintf (text, 16, "-");
    return text;
}
#pragma GCC diagnostic pop

static void
s_store_figures (const char *dir)
{
    s_store_result_t results [BENCH_STORES_MAX];
    memset (results, 0, sizeof results);
    for (size_t index = 0; index < s_store_count; index++)
        bench_store_label (&s_stores [index], results [index].label,
                           sizeof results [index].label);
    if (s_runs ("cycles")) {
        printf ("\ncreate -> take -> complete cycles, %zu per sync, on each store\n", s_group);
        for (size_t index = 0; index < s_store_count; index++)
            s_store_cycles (&s_stores [index], index, dir, &results [index]);
    }
    if (s_runs ("recovery")) {
        printf ("\n%zu queued jobs put through the manager, then the store reopened\n", s_jobs);
        for (size_t index = 0; index < s_store_count; index++)
            s_store_recovery (&s_stores [index], index, dir, &results [index]);
    }
    //  The ratios to the file store of this run (or to the first store)
    const s_store_result_t *base = &results [0];
    for (size_t index = 0; index < s_store_count; index++)
        if (streq (results [index].label, "file")) {
            base = &results [index];
            break;
        }
    printf ("\nper store, as a ratio to %s (higher is faster; the reopen: jobs/s)\n",
            base->label);
    printf ("  %-10s %10s %7s %9s %9s %10s %7s %8s %7s\n", "store", "cycles/s", "ratio",
            "sync p50", "sync p99", "put/s", "ratio", "reopen s", "ratio");
    for (size_t index = 0; index < s_store_count; index++) {
        const s_store_result_t *result = &results [index];
        char cycles [16], fill [16], reopen [16], p50 [16], p99 [16], figures [3][16];
        printf ("  %-10s %10s %s %9s %9s %10s %s %8s %s\n", result->label,
                s_figure ("%.0f", result->cycles > 0 ? result->cycles : -1, figures [0]),
                s_ratio (result->cycles, base->cycles, cycles, sizeof cycles),
                s_figure ("%.2f ms", result->cycles > 0 ? result->p50 : -1, p50),
                s_figure ("%.2f ms", result->cycles > 0 ? result->p99 : -1, p99),
                s_figure ("%.0f", result->fill > 0 ? result->fill : -1, figures [1]),
                s_ratio (result->fill, base->fill, fill, sizeof fill),
                s_figure ("%.2f", result->reopen > 0 ? result->reopen : -1, figures [2]),
                s_ratio (result->reopen > 0 ? 1 / result->reopen : 0,
                         base->reopen > 0 ? 1 / base->reopen : 0, reopen, sizeof reopen));
    }
    bench_pg_stop ();
}
