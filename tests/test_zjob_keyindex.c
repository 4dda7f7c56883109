/*  =========================================================================
    test_zjob_keyindex - the idempotency key index

    The index keeps hashes, not keys; its match callback is answered here
    from a small table of (id, key) pairs standing for the job store. Its
    resizes are incremental (two tables for a while): the tests below
    check every operation while one is under way against a zhashx.
    ========================================================================= */

#include <criterion/criterion.h>
#include <czmq.h>
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
    zjob_keyindex_step (index, SIZE_MAX);  //  One table, not two
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

//  Is a resize under way? (a step of 0 slots moves nothing)
static bool
s_migrating (zjob_keyindex_t *index)
{
    return zjob_keyindex_step (index, 0);
}

static void
s_key_of (size_t number, char *key, size_t size)
{
    snprintf (key, size, "6f1c0e9a-%zu", number);
}

//  The home slot of key in a table of slots slots
static size_t
s_home (const char *key, size_t slots)
{
    return ((uint32_t) zjob_hash_string (key) | 1u << 31) & (slots - 1);
}

//  Right after a growth starts, most entries are still in the old table:
//  every one is found, removing one there forgets it (and only it), a
//  key given again there names the latest job, and finishing the move
//  changes none of that
Test (keyindex, a_growth_under_way_finds_and_removes_in_the_old_table)
{
    enum { FILL = 768 };  //  Three quarters of 1,024 slots: the next put grows
    zjob_keyindex_t *index = zjob_keyindex_new ();
    char key [32], id [ZJOB_ID_LEN + 1];
    for (size_t n = 0; n < FILL; n++) {
        s_key_of (n, key, sizeof key);
        s_job_t *job = s_add (key);
        cr_assert_eq (zjob_keyindex_put (index, key, job->id, s_match_indexed, NULL), 0);
    }
    cr_assert_not (s_migrating (index));
    cr_assert_eq (zjob_keyindex_bytes (index), 1024 * 24);
    s_key_of (FILL, key, sizeof key);
    s_job_t *last = s_add (key);
    cr_assert_eq (zjob_keyindex_put (index, key, last->id, s_match_indexed, NULL), 0);
    cr_assert (s_migrating (index), "the growth is spread over later calls");
    cr_assert_eq (zjob_keyindex_bytes (index), (1024 + 2048) * 24, "two tables meanwhile");

    //  A find right after: both tables are looked in
    for (size_t n = 0; n <= FILL; n++) {
        cr_assert (zjob_keyindex_find (index, s_jobs [n].key, s_match_indexed, NULL, id),
                   "key %zu", n);
        cr_assert_str_eq (id, s_jobs [n].id);
    }
    //  Keys whose old home is near the old table's end move last (it is
    //  drained in slot order, 64 slots a call): remove some of them, and
    //  give one of them again, while they are still there
    size_t picked [8], picks = 0;
    for (size_t n = 0; n < FILL && picks < 8; n++) {
        size_t home = s_home (s_jobs [n].key, 1024);
        if (home >= 900 && home < 980)
            picked [picks++] = n;
    }
    cr_assert_eq (picks, 8);
    for (size_t pick = 0; pick < 7; pick++) {
        s_job_t *job = &s_jobs [picked [pick]];
        cr_assert (zjob_keyindex_remove (index, job->key, job->id));
        job->gone = true;
    }
    snprintf (key, sizeof key, "%s", s_jobs [picked [7]].key);
    s_job_t *again = s_add (key);
    cr_assert_eq (zjob_keyindex_put (index, again->key, again->id, s_match_indexed, NULL), 0);
    cr_assert (s_migrating (index), "the picked entries were removed from the old table");
    cr_assert_eq (zjob_keyindex_size (index), FILL + 1 - 7);
    for (size_t pick = 0; pick < 7; pick++)
        cr_assert_not (zjob_keyindex_remove (index, s_jobs [picked [pick]].key,
                                             s_jobs [picked [pick]].id));
    cr_assert_not (zjob_keyindex_remove (index, again->key, s_jobs [picked [7]].id),
                   "the key no longer names its first job");

    for (int pass = 0; pass < 2; pass++) {
        for (size_t n = 0; n <= FILL; n++) {
            bool found = zjob_keyindex_find (index, s_jobs [n].key, s_match_indexed, NULL, id);
            if (s_jobs [n].gone)
                cr_assert_not (found, "key %zu", n);
            else {
                cr_assert (found, "key %zu", n);
                cr_assert_str_eq (id, n == picked [7] ? again->id : s_jobs [n].id);
            }
        }
        //  Then again with the move finished
        cr_assert_not (zjob_keyindex_step (index, SIZE_MAX));
        cr_assert_eq (zjob_keyindex_bytes (index), 2048 * 24, "the old table is freed");
    }
    zjob_keyindex_destroy (&index);
}

//  A small PRNG with a fixed seed: a failure replays
static uint64_t s_rng = 0x9e3779b97f4a7c15ull;

static size_t
s_random (size_t below)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (size_t) (s_rng % below);
}

typedef struct {
    zjob_keyindex_t *index;
    zhashx_t *reference;  //  key -> id, as the index must answer
    size_t keys;          //  Key numbers used: [0, keys)
    size_t while_moving;  //  Operations done while a resize was under way
} s_world_t;

//  Put key as a new job: it names that job from now on
static void
s_put (s_world_t *world, const char *key)
{
    cr_assert_lt (s_job_count, JOBS_MAX * 15);
    s_job_t *job = s_add (key);
    cr_assert_eq (zjob_keyindex_put (world->index, key, job->id, s_match_indexed, NULL), 0);
    const char *before = (const char *) zhashx_lookup (world->reference, key);
    if (before)  //  The job the key named before stays in the "store"
        cr_assert_not (zjob_keyindex_remove (world->index, key, before), "%s", key);
    zhashx_update (world->reference, key, job->id);
}

static void
s_remove (s_world_t *world, const char *key)
{
    const char *id = (const char *) zhashx_lookup (world->reference, key);
    if (!id) {
        cr_assert_not (zjob_keyindex_remove (world->index, key, "00000000000000000000"));
        return;
    }
    cr_assert (zjob_keyindex_remove (world->index, key, id), "%s", key);
    s_jobs [strtoul (id, NULL, 10)].gone = true;
    zhashx_delete (world->reference, key);
}

static void
s_check (s_world_t *world, const char *key)
{
    char id [ZJOB_ID_LEN + 1];
    const char *want = (const char *) zhashx_lookup (world->reference, key);
    bool found = zjob_keyindex_find (world->index, key, s_match_indexed, NULL, id);
    cr_assert_eq (found, want != NULL, "%s", key);
    if (want)
        cr_assert_str_eq (id, want, "%s", key);
}

//  One random operation on a key used before: give it again (if growing,
//  or if it names a job: a shrink then goes on), remove it, or find it
static void
s_random_op (s_world_t *world, bool growing)
{
    if (s_migrating (world->index))
        world->while_moving++;
    char key [32];
    s_key_of (s_random (world->keys), key, sizeof key);
    size_t dice = s_random (3);
    if (dice == 0 && (growing || zhashx_lookup (world->reference, key)))
        s_put (world, key);
    else if (dice == 1)
        s_remove (world, key);
    else
        s_check (world, key);
}

static void
s_check_all (s_world_t *world)
{
    cr_assert_eq (zjob_keyindex_size (world->index), zhashx_size (world->reference));
    char key [32];
    for (size_t n = 0; n < world->keys; n++) {
        s_key_of (n, key, sizeof key);
        s_check (world, key);
    }
}

//  400,000 keys put, given again, removed and found in random order
//  while the table grows to 1M slots and shrinks back, checked against a
//  zhashx after every call and in full after each phase
Test (keyindex, many_keys_in_random_order_match_a_reference, .timeout = 300)
{
    enum { KEYS = 400000 };
    free (s_jobs);
    s_jobs = (s_job_t *) calloc (JOBS_MAX * 15, sizeof (s_job_t));
    cr_assert_not_null (s_jobs);
    s_world_t world = { zjob_keyindex_new (), zhashx_new (), 0, 0 };
    cr_assert_not_null (world.index);
    zhashx_set_duplicator (world.reference, (zhashx_duplicator_fn *) strdup);
    zhashx_set_destructor (world.reference, (zhashx_destructor_fn *) zstr_free);

    //  Growth: each new key put is followed by a random operation on a
    //  key put before, until KEYS are in
    char key [32];
    while (zhashx_size (world.reference) < KEYS) {
        s_key_of (world.keys++, key, sizeof key);
        s_put (&world, key);
        s_random_op (&world, true);
        if (world.keys % 4096 == 0)  //  A sync now and then
            zjob_keyindex_step (world.index, 65536);
    }
    size_t full = zjob_keyindex_bytes (world.index);
    cr_assert_geq (full, (size_t) 1024 * 1024 * 24);  //  Past 3/4 of 512K slots
    cr_assert_gt (world.while_moving, 3000, "the operations met resizes under way: %zu", (size_t) world.while_moving);
    s_check_all (&world);

    //  Shrink: every key removed in random order, with a random operation
    //  between two removals (which gives again only keys still in)
    size_t *order = (size_t *) malloc (world.keys * sizeof (size_t));
    cr_assert_not_null (order);
    for (size_t n = 0; n < world.keys; n++)
        order [n] = n;
    for (size_t n = world.keys - 1; n > 0; n--) {
        size_t other = s_random (n + 1), swap = order [n];
        order [n] = order [other];
        order [other] = swap;
    }
    world.while_moving = 0;
    size_t keys = world.keys;
    for (size_t n = 0; n < keys; n++) {
        s_key_of (order [n], key, sizeof key);
        s_remove (&world, key);
        s_random_op (&world, false);
    }
    free (order);
    cr_assert_gt (world.while_moving, 3000, "the operations met resizes under way: %zu", (size_t) world.while_moving);
    cr_assert_eq (zhashx_size (world.reference), 0);
    cr_assert_leq (zjob_keyindex_bytes (world.index), 2 * 64 * 24, "the table shrank");
    s_check_all (&world);
    zhashx_destroy (&world.reference);
    zjob_keyindex_destroy (&world.index);
}
