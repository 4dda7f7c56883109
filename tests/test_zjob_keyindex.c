/*  =========================================================================
    test_zjob_keyindex - the idempotency key index

    The index keeps hashes, not keys; its match callback is answered here
    from a small table of (id, key) pairs standing for the job store.
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_keyindex.h"
#include "zjob_util.h"

#define JOBS_MAX 200000

typedef struct {
    char id [ZJOB_ID_LEN + 1];
    char key [32];
    bool gone;  //  Deleted from the "store"
} s_job_t;

static s_job_t *s_jobs;
static size_t s_job_count;
static size_t s_matches;  //  Callback calls

//  The job with id, as a store lookup would find it
static s_job_t *
s_job (const char *id)
{
    for (size_t index = 0; index < s_job_count; index++)
        if (!s_jobs [index].gone && streq (s_jobs [index].id, id))
            return &s_jobs [index];
    return NULL;
}

//  Ids here are the index in decimal, padded: s_job is a scan only in the
//  small tests; the large ones use s_match_indexed
static void
s_make_id (size_t index, char *id)
{
    snprintf (id, ZJOB_ID_LEN + 1, "%020zu", index);
}

static bool
s_match (const char *id, const char *key, void *arg)
{
    (void) arg;
    s_matches++;
    s_job_t *job = s_job (id);
    return job && streq (job->key, key);
}

static bool
s_match_indexed (const char *id, const char *key, void *arg)
{
    (void) arg;
    s_matches++;
    size_t index = strtoul (id, NULL, 10);
    return index < s_job_count && !s_jobs [index].gone && streq (s_jobs [index].key, key);
}

static s_job_t *
s_add (const char *key)
{
    s_job_t *job = &s_jobs [s_job_count];
    s_make_id (s_job_count++, job->id);
    snprintf (job->key, sizeof job->key, "%s", key);
    job->gone = false;
    return job;
}

static void
s_setup (void)
{
    s_jobs = (s_job_t *) calloc (JOBS_MAX, sizeof (s_job_t));
    cr_assert_not_null (s_jobs);
    s_job_count = 0;
    s_matches = 0;
}

static void
s_teardown (void)
{
    free (s_jobs);
}

TestSuite (keyindex, .init = s_setup, .fini = s_teardown);

Test (keyindex, put_find_remove)
{
    zjob_keyindex_t *index = zjob_keyindex_new ();
    cr_assert_not_null (index);
    char id [ZJOB_ID_LEN + 1];
    cr_assert_not (zjob_keyindex_find (index, "order-1", s_match, NULL, id));

    s_job_t *one = s_add ("order-1");
    s_job_t *two = s_add ("order-2");
    cr_assert_eq (zjob_keyindex_put (index, one->key, one->id, s_match, NULL), 0);
    cr_assert_eq (zjob_keyindex_put (index, two->key, two->id, s_match, NULL), 0);
    cr_assert_eq (zjob_keyindex_size (index), 2);
    cr_assert (zjob_keyindex_find (index, "order-1", s_match, NULL, id));
    cr_assert_str_eq (id, one->id);
    cr_assert (zjob_keyindex_find (index, "order-2", s_match, NULL, id));
    cr_assert_str_eq (id, two->id);
    cr_assert_not (zjob_keyindex_find (index, "order-3", s_match, NULL, id));

    //  Only the job the key names is forgotten
    cr_assert_not (zjob_keyindex_remove (index, "order-1", two->id));
    cr_assert (zjob_keyindex_remove (index, "order-1", one->id));
    cr_assert_not (zjob_keyindex_remove (index, "order-1", one->id));
    cr_assert_not (zjob_keyindex_find (index, "order-1", s_match, NULL, id));
    cr_assert (zjob_keyindex_find (index, "order-2", s_match, NULL, id));
    cr_assert_eq (zjob_keyindex_size (index), 1);

    //  Not a job id: refused, nothing changes
    cr_assert_eq (zjob_keyindex_put (index, "order-9", "short", s_match, NULL), -1);
    cr_assert_eq (zjob_keyindex_size (index), 1);
    zjob_keyindex_destroy (&index);
    zjob_keyindex_destroy (&index);
    cr_assert_null (index);
}

Test (keyindex, a_key_given_again_names_the_latest_job)
{
    zjob_keyindex_t *index = zjob_keyindex_new ();
    s_job_t *first = s_add ("same");
    s_job_t *second = s_add ("same");
    cr_assert_eq (zjob_keyindex_put (index, "same", first->id, s_match, NULL), 0);
    cr_assert_eq (zjob_keyindex_put (index, "same", second->id, s_match, NULL), 0);
    cr_assert_eq (zjob_keyindex_size (index), 1, "one entry per key");
    char id [ZJOB_ID_LEN + 1];
    cr_assert (zjob_keyindex_find (index, "same", s_match, NULL, id));
    cr_assert_str_eq (id, second->id);
    //  Removing the job it no longer names changes nothing
    cr_assert_not (zjob_keyindex_remove (index, "same", first->id));
    cr_assert (zjob_keyindex_find (index, "same", s_match, NULL, id));
    zjob_keyindex_destroy (&index);
}

static int
s_compare_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

//  Two keys whose 32-bit hashes are equal (found by brute force over the
//  seeded hash) each find their own job, before and after the other goes
Test (keyindex, keys_with_one_hash_are_told_apart)
{
    enum { TRIES = 300000 };  //  Some 20 pairs expected
    uint64_t *hashes = (uint64_t *) calloc (TRIES, sizeof (uint64_t));
    cr_assert_not_null (hashes);
    char key [32];
    for (size_t n = 0; n < TRIES; n++) {
        snprintf (key, sizeof key, "k%zu", n);
        uint32_t hash = (uint32_t) zjob_hash_string (key) | 1u << 31;
        hashes [n] = (uint64_t) hash << 32 | n;
    }
    //  Sort by hash: equal neighbours are a collision
    qsort (hashes, TRIES, sizeof (uint64_t), s_compare_u64);
    size_t found = TRIES;
    for (size_t n = 1; n < TRIES && found == TRIES; n++)
        if (hashes [n] >> 32 == hashes [n - 1] >> 32)
            found = n;
    cr_assert_lt (found, TRIES, "no two of %d keys share a 31-bit hash", TRIES);
    char a [32], b [32];
    snprintf (a, sizeof a, "k%u", (unsigned) (hashes [found - 1] & 0xffffffffu));
    snprintf (b, sizeof b, "k%u", (unsigned) (hashes [found] & 0xffffffffu));
    free (hashes);

    zjob_keyindex_t *index = zjob_keyindex_new ();
    s_job_t *ja = s_add (a);
    s_job_t *jb = s_add (b);
    cr_assert_eq (zjob_keyindex_put (index, a, ja->id, s_match, NULL), 0);
    cr_assert_eq (zjob_keyindex_put (index, b, jb->id, s_match, NULL), 0);
    cr_assert_eq (zjob_keyindex_size (index), 2, "%s and %s are two keys", a, b);
    char id [ZJOB_ID_LEN + 1];
    cr_assert (zjob_keyindex_find (index, a, s_match, NULL, id));
    cr_assert_str_eq (id, ja->id);
    cr_assert (zjob_keyindex_find (index, b, s_match, NULL, id));
    cr_assert_str_eq (id, jb->id);
    cr_assert (zjob_keyindex_remove (index, a, ja->id));
    ja->gone = true;
    cr_assert_not (zjob_keyindex_find (index, a, s_match, NULL, id));
    cr_assert (zjob_keyindex_find (index, b, s_match, NULL, id));
    cr_assert_str_eq (id, jb->id);
    zjob_keyindex_destroy (&index);
}

//  Many keys: the table grows, every key stays found; removing most of
//  them shrinks it, and the rest stay found (removal shifts runs back)
Test (keyindex, grows_and_shrinks_and_finds_every_key)
{
    enum { COUNT = 100000 };
    zjob_keyindex_t *index = zjob_keyindex_new ();
    size_t empty = zjob_keyindex_bytes (index);
    char key [32];
    for (size_t n = 0; n < COUNT; n++) {
        snprintf (key, sizeof key, "6f1c0e9a2b7d4c58-%zu", n);
        s_job_t *job = s_add (key);
        cr_assert_eq (zjob_keyindex_put (index, key, job->id, s_match_indexed, NULL), 0);
    }
    cr_assert_eq (zjob_keyindex_size (index), COUNT);
    size_t full = zjob_keyindex_bytes (index);
    cr_assert_leq (full, (size_t) COUNT * 24 * 8 / 3, "at most 64 bytes an entry");
    char id [ZJOB_ID_LEN + 1], want [ZJOB_ID_LEN + 1];
    for (size_t n = 0; n < COUNT; n++) {
        cr_assert (zjob_keyindex_find (index, s_jobs [n].key, s_match_indexed, NULL, id),
                   "key %zu", n);
        s_make_id (n, want);
        cr_assert_str_eq (id, want);
    }
    //  Remove all but every 16th
    for (size_t n = 0; n < COUNT; n++)
        if (n % 16) {
            cr_assert (zjob_keyindex_remove (index, s_jobs [n].key, s_jobs [n].id), "key %zu", n);
            s_jobs [n].gone = true;
        }
    cr_assert_eq (zjob_keyindex_size (index), (COUNT + 15) / 16);
    cr_assert_lt (zjob_keyindex_bytes (index), full / 4, "the table shrank");
    cr_assert_gt (zjob_keyindex_bytes (index), empty);
    for (size_t n = 0; n < COUNT; n++) {
        bool found = zjob_keyindex_find (index, s_jobs [n].key, s_match_indexed, NULL, id);
        cr_assert_eq (found, n % 16 == 0, "key %zu", n);
    }
    zjob_keyindex_destroy (&index);
}
