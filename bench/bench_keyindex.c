/*  =========================================================================
    bench_keyindex - the idempotency-key index's longest single call

    Puts --keys keys (shaped as libzjob makes them up: a 32-hex-digit
    client prefix, a dash and a sequence number) into a zjob_keyindex,
    as a broker filling with jobs submitted through the library does, then
    removes them all, and prints the longest single put and remove and
    their totals. A put or remove that resizes the whole table at once
    shows here as a pause of the broker's loop. With --sync N, every N
    calls are followed by zjob_keyindex_step (65,536 slots), as the
    manager's sync does once per loop pass (0: never).

    The figures are the thread's CPU time (page faults included), not wall
    time, which preemption on a shared machine inflates.

    Usage: bench_keyindex [--keys N] [--sync N]
    This is a benchmark, not a test: it prints figures and exits 0.
    ========================================================================= */

#include "zjob_keyindex.h"
#include "zjob_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t s_keys = 2000000;  //  keys put, then removed
static size_t s_sync = 256;      //  calls per step (one loop pass), 0: none
static char (*s_key) [64];       //  The key of job n

static int64_t
s_cpu_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

//  Ids are the key's number in decimal, padded
static void
s_make_id (size_t index, char *id)
{
    snprintf (id, ZJOB_ID_LEN + 1, "%020zu", index);
}

//  The manager answers by looking the job up; here, by the id's number
static bool
s_match (const char *id, const char *key, void *arg)
{
    (void) arg;
    size_t index = strtoul (id, NULL, 10);
    return index < s_keys && streq (s_key [index], key);
}

typedef struct {
    int64_t worst;  //  ns
    size_t worst_at;
    int64_t total;  //  ns
} s_figures_t;

static void
s_time (s_figures_t *figures, int64_t start, size_t at)
{
    int64_t spent = s_cpu_ns () - start;
    figures->total += spent;
    if (spent > figures->worst) {
        figures->worst = spent;
        figures->worst_at = at;
    }
}

static void
s_print (const char *what, const s_figures_t *figures)
{
    printf ("  %-7s longest %8.3f ms (call %zu), total %8.1f ms, mean %6.0f ns\n", what,
            figures->worst / 1e6, figures->worst_at, figures->total / 1e6,
            (double) figures->total / (double) s_keys);
}

int
main (int argc, char *argv [])
{
    for (int arg = 1; arg < argc; arg++) {
        if (streq (argv [arg], "--keys") && arg + 1 < argc)
            s_keys = strtoul (argv [++arg], NULL, 10);
        else if (streq (argv [arg], "--sync") && arg + 1 < argc)
            s_sync = strtoul (argv [++arg], NULL, 10);
        else {
            fprintf (stderr, "usage: bench_keyindex [--keys N] [--sync N]\n");
            return 1;
        }
    }
    s_key = calloc (s_keys ? s_keys : 1, sizeof *s_key);
    zjob_keyindex_t *index = zjob_keyindex_new ();
    if (!s_key || !index) {
        fprintf (stderr, "out of memory\n");
        return 1;
    }
    for (size_t n = 0; n < s_keys; n++)
        snprintf (s_key [n], sizeof s_key [n], "6f1c0e9a2b7d4c58a1e3f5b7c9d0e2f4-%zu", n);

    printf ("bench_keyindex: %zu keys, a step of 65,536 slots every %zu calls\n", s_keys,
            s_sync);
    s_figures_t put = { 0 }, remove = { 0 }, step = { 0 };
    char id [ZJOB_ID_LEN + 1];
    for (size_t n = 0; n < s_keys; n++) {
        s_make_id (n, id);
        int64_t start = s_cpu_ns ();
        if (zjob_keyindex_put (index, s_key [n], id, s_match, NULL)) {
            fprintf (stderr, "put %zu failed\n", n);
            return 1;
        }
        s_time (&put, start, n);
        if (s_sync && n % s_sync == s_sync - 1) {
            start = s_cpu_ns ();
            zjob_keyindex_step (index, ZJOB_KEYINDEX_SYNC_STEP);
            s_time (&step, start, n);
        }
    }
    size_t bytes = zjob_keyindex_bytes (index);
    for (size_t n = 0; n < s_keys; n++) {
        s_make_id (n, id);
        int64_t start = s_cpu_ns ();
        if (!zjob_keyindex_remove (index, s_key [n], id)) {
            fprintf (stderr, "remove %zu failed\n", n);
            return 1;
        }
        s_time (&remove, start, n);
        if (s_sync && n % s_sync == s_sync - 1) {
            start = s_cpu_ns ();
            zjob_keyindex_step (index, ZJOB_KEYINDEX_SYNC_STEP);
            s_time (&step, start, n);
        }
    }
    s_print ("put", &put);
    s_print ("remove", &remove);
    if (step.total)
        printf ("  step    longest %8.3f ms\n", step.worst / 1e6);
    printf ("  table at %zu keys: %zu bytes (%.1f a key)\n", s_keys, bytes,
            s_keys ? (double) bytes / (double) s_keys : 0.0);
    zjob_keyindex_destroy (&index);
    free (s_key);
    return 0;
}
