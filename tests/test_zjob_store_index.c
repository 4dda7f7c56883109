/*  =========================================================================
    test_zjob_store_index - the memory table's creation-order index, its
    resumable walk, and its incremental resizes

    The table (zjob_store_memory.h) is checked against a plain model: an
    array of every id ever used, whether it is stored and with what size.
    Random puts (mostly appends, some out of order, some of removed ids),
    replacements and removals take it through growths and shrinks, each
    drained a few slots per call, and through the index's compactions;
    every lookup and every walk, whole or in steps resumed from a cursor in
    either direction, must agree with the model at every point.
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_store_memory.h"
#include "helper_zjob_test.h"

//  A new job with id (one reference, the caller's)
static zjob_job_t *
s_job (const char *id)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof spec);
    spec.workflow_id = "index";
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "job: %s", err.text);
    snprintf (job->id, sizeof job->id, "%s", id);
    return job;
}

//  The model: ids [i] is "I" and i on 9 digits, so the order of the ids
//  is the order of i
#define MODEL_MAX 40000

typedef struct {
    bool stored [MODEL_MAX];
    uint32_t size [MODEL_MAX];
    size_t count;
} s_model_t;

static void
s_id (size_t i, char *id)
{
    snprintf (id, ZJOB_ID_LEN + 1, "I%09zu", i);
}

//  Collects what a walk visits
typedef struct {
    size_t *seen;  //  Model index of each job visited
    size_t count;
    size_t max;
} s_visits_t;

static int
s_visit (zjob_job_t *job, void *arg)
{
    s_visits_t *visits = (s_visits_t *) arg;
    cr_assert_lt (visits->count, visits->max, "more visits than jobs");
    visits->seen [visits->count++] = strtoul (job->id + 1, NULL, 10);
    return 0;
}

//  Walk the whole table in steps of at most step jobs, either way; the
//  visits must be the stored ids of the model, in order
static void
s_check_walk (zjob_store_memory_t *table, const s_model_t *model, bool descending, size_t step)
{
    s_visits_t visits = { (size_t *) calloc (MODEL_MAX, sizeof (size_t)), 0, MODEL_MAX };
    cr_assert_not_null (visits.seen);
    char cursor [ZJOB_ID_LEN + 1] = "";
    size_t steps = 0;
    while (!zjob_store_memory_walk_ids (table, NULL, descending, cursor, step, s_visit, &visits))
        cr_assert_lt (++steps, 10 * MODEL_MAX, "the walk does not end");
    size_t expected = 0;
    for (size_t k = 0; k < MODEL_MAX; k++) {
        size_t i = descending ? MODEL_MAX - 1 - k : k;
        if (!model->stored [i])
            continue;
        cr_assert_lt (expected, visits.count, "walk: %zu visited, %zu stored", visits.count,
                      model->count);
        cr_assert_eq (visits.seen [expected], i, "walk (%s, step %zu): at %zu, %zu, not %zu",
                      descending ? "desc" : "asc", step, expected, visits.seen [expected], i);
        expected++;
    }
    cr_assert_eq (visits.count, expected);
    free (visits.seen);
}

static void
s_check_lookups (zjob_store_memory_t *table, const s_model_t *model, size_t used)
{
    char id [ZJOB_ID_LEN + 1];
    for (size_t i = 0; i < used; i++) {
        s_id (i, id);
        zjob_job_t *job = zjob_store_memory_lookup (table, id);
        cr_assert_eq (job != NULL, model->stored [i], "lookup %s: %s", id,
                      job ? "found, removed" : "not found, stored");
        if (job)
            cr_assert_str_eq (job->id, id);
    }
    cr_assert_eq (zjob_store_memory_size (table), model->count);
}

static void
s_insert (zjob_store_memory_t *table, s_model_t *model, size_t i, uint32_t size)
{
    char id [ZJOB_ID_LEN + 1];
    s_id (i, id);
    zjob_job_t *job = s_job (id);
    uint32_t old_size = 99;
    cr_assert_eq (zjob_store_memory_insert (table, job, size, &old_size), 0);
    cr_assert_eq (old_size, model->stored [i] ? model->size [i] : 0, "%s: old size", id);
    zjob_job_destroy (&job);
    if (!model->stored [i])
        model->count++;
    model->stored [i] = true;
    model->size [i] = size;
}

static void
s_delete (zjob_store_memory_t *table, s_model_t *model, size_t i)
{
    char id [ZJOB_ID_LEN + 1];
    s_id (i, id);
    uint32_t old_size = 0;
    int rc = zjob_store_memory_delete (table, id, &old_size);
    cr_assert_eq (rc, model->stored [i] ? 0 : -1, "delete %s", id);
    if (rc == 0) {
        cr_assert_eq (old_size, model->size [i]);
        model->stored [i] = false;
        model->count--;
    }
}

static unsigned s_seed = 4242;
static size_t s_random (size_t below);

//  A few random lookups after every operation: many fall while a resize
//  is being drained, when a job may be in either of two tables
static void
s_spot_check (zjob_store_memory_t *table, const s_model_t *model, size_t used)
{
    char id [ZJOB_ID_LEN + 1];
    for (int check = 0; check < 3; check++) {
        size_t i = s_random (used);
        s_id (i, id);
        zjob_job_t *job = zjob_store_memory_lookup (table, id);
        cr_assert_eq (job != NULL, model->stored [i], "lookup %s", id);
    }
}

static size_t
s_random (size_t below)
{
    s_seed = s_seed * 1103515245u + 12345u;
    return (size_t) ((s_seed >> 8) % below);
}


//  --------------------------------------------------------------------------

//  Random puts, replacements and removals through growths, shrinks and
//  compactions: lookups and walks agree with the model all along
Test (store_index, random_operations_match_a_model, .timeout = 120)
{
    zjob_store_memory_t *table = zjob_store_memory_table_new (true);
    cr_assert_not_null (table);
    s_model_t *model = (s_model_t *) calloc (1, sizeof (s_model_t));
    cr_assert_not_null (model);
    size_t next = 1000;  //  Appends go up from here; below is out of order
    for (int round = 0; round < 4; round++) {
        //  Grow: mostly appends, some out-of-order, some replacements
        for (int op = 0; op < 6000; op++) {
            size_t r = s_random (100);
            if (r < 80 && next < MODEL_MAX)
                s_insert (table, model, next++, (uint32_t) op);
            else if (r < 90)
                s_insert (table, model, s_random (next), (uint32_t) op);  //  anywhere
            else
                s_delete (table, model, s_random (next));
            s_spot_check (table, model, next);
            if (op % 997 == 0) {
                s_check_lookups (table, model, next);
                s_check_walk (table, model, s_random (2), 1 + s_random (300));
            }
        }
        s_check_walk (table, model, false, 1000);
        s_check_walk (table, model, true, 7);
        //  Shrink: remove most, in random places and in runs
        for (int op = 0; op < 7000; op++) {
            if (s_random (4) == 0) {
                size_t from = s_random (next);
                for (size_t i = from; i < from + 40 && i < next; i++)
                    s_delete (table, model, i);
            }
            else
                s_delete (table, model, s_random (next));
            s_spot_check (table, model, next);
            if (op % 499 == 0) {
                s_check_lookups (table, model, next);
                s_check_walk (table, model, s_random (2), 1 + s_random (50));
            }
        }
        s_check_lookups (table, model, next);
        s_check_walk (table, model, false, SIZE_MAX);
        s_check_walk (table, model, true, SIZE_MAX);
    }
    //  Empty it: the table and the index go back to nothing
    for (size_t i = 0; i < next; i++)
        s_delete (table, model, i);
    cr_assert_eq (zjob_store_memory_size (table), 0);
    s_check_walk (table, model, false, 10);
    zjob_store_memory_table_destroy (&table);
    cr_assert_null (table);
    free (model);
}

//  A walk resumed from its cursor visits once every job stored for the
//  whole walk, in order, while jobs are added and removed between steps
//  (so that the index compacts under it), in both directions
Test (store_index, cursor_survives_changes_and_compactions)
{
    for (int descending = 0; descending < 2; descending++) {
        zjob_store_memory_t *table = zjob_store_memory_table_new (false);
        s_model_t *model = (s_model_t *) calloc (1, sizeof (s_model_t));
        cr_assert_not_null (model);
        for (size_t i = 0; i < 20000; i += 2)
            s_insert (table, model, i, 0);
        //  Jobs that stay: every fourth id; the others come and go
        s_visits_t visits = { (size_t *) calloc (MODEL_MAX, sizeof (size_t)), 0, MODEL_MAX };
        cr_assert_not_null (visits.seen);
        char cursor [ZJOB_ID_LEN + 1] = "";
        size_t steps = 0;
        while (!zjob_store_memory_walk_ids (table, NULL, descending, cursor, 97, s_visit, &visits)) {
            steps++;
            for (int op = 0; op < 300; op++) {
                size_t i = s_random (20000);
                if (i % 4 == 0)
                    continue;
                if (s_random (3))
                    s_delete (table, model, i);
                else
                    s_insert (table, model, i, 0);
            }
        }
        cr_assert_gt (steps, 100);
        //  Strictly in order: so each job at most once
        for (size_t index = 1; index < visits.count; index++)
            cr_assert (descending ? visits.seen [index] < visits.seen [index - 1]
                                  : visits.seen [index] > visits.seen [index - 1],
                       "out of order at %zu", index);
        //  Every job that stayed was visited
        size_t stayed = 0;
        for (size_t index = 0; index < visits.count; index++)
            stayed += visits.seen [index] % 4 == 0;
        cr_assert_eq (stayed, 5000);
        free (visits.seen);
        s_check_walk (table, model, descending, 33);
        zjob_store_memory_table_destroy (&table);
        free (model);
    }
}

//  A walk with a filter examines at most max jobs per step, matching or
//  not, and visits the matching ones only; a visitor that stops the walk
//  leaves the cursor on its job
Test (store_index, walk_filters_and_stops)
{
    zjob_store_memory_t *table = zjob_store_memory_table_new (false);
    s_model_t *model = (s_model_t *) calloc (1, sizeof (s_model_t));
    cr_assert_not_null (model);
    for (size_t i = 0; i < 100; i++) {
        s_insert (table, model, i, 0);
        char id [ZJOB_ID_LEN + 1];
        s_id (i, id);
        zjob_store_memory_lookup (table, id)->status = (uint8_t) (i % 10 ? ZJOB_CREATED : ZJOB_QUEUED);
    }
    zjob_filter_t filter;
    memset (&filter, 0, sizeof filter);
    filter.status_mask = 1u << ZJOB_QUEUED;
    s_visits_t visits = { (size_t *) calloc (100, sizeof (size_t)), 0, 100 };
    char cursor [ZJOB_ID_LEN + 1] = "";
    cr_assert_eq (zjob_store_memory_walk_ids (table, &filter, false, cursor, 25, s_visit, &visits), 0);
    cr_assert_eq (visits.count, 3);  //  0, 10, 20 among the first 25
    cr_assert_str_eq (cursor, "I000000024");
    cr_assert_eq (zjob_store_memory_walk_ids (table, &filter, false, cursor, 1000, s_visit, &visits), 1);
    cr_assert_eq (visits.count, 10);
    free (visits.seen);
    zjob_store_memory_table_destroy (&table);
    free (model);
}

//  A load with the index suspended (jobs in any order, some removed), then
//  one build: the walk is in id order
Test (store_index, unsorted_load_then_one_sort)
{
    zjob_store_memory_t *table = zjob_store_memory_table_new (true);
    s_model_t *model = (s_model_t *) calloc (1, sizeof (s_model_t));
    cr_assert_not_null (model);
    zjob_store_memory_index_suspend (table);
    for (int op = 0; op < 20000; op++) {
        size_t i = s_random (MODEL_MAX);
        if (s_random (5))
            s_insert (table, model, i, 1);
        else
            s_delete (table, model, i);
    }
    cr_assert_eq (zjob_store_memory_index_build (table), 0);
    s_check_walk (table, model, false, 500);
    s_check_walk (table, model, true, 500);
    //  And kept from then on
    s_insert (table, model, 5, 2);
    s_delete (table, model, s_random (MODEL_MAX));
    s_check_walk (table, model, false, 64);
    zjob_store_memory_table_destroy (&table);
    free (model);
}

Test (store_index, a_small_load_grows_its_index)
{
    //  An index built from a load of 1 job (a journal reopened with one)
    //  must still grow when jobs are added (it once grew 1 to 1: a write
    //  past its end, which the ASan build catches)
    for (size_t loaded = 0; loaded < 4; loaded++) {
        zjob_store_memory_t *table = zjob_store_memory_table_new (true);
        s_model_t *model = (s_model_t *) calloc (1, sizeof (s_model_t));
        cr_assert_not_null (model);
        zjob_store_memory_index_suspend (table);
        for (size_t i = 0; i < loaded; i++)
            s_insert (table, model, i, 1);
        cr_assert_eq (zjob_store_memory_index_build (table), 0);
        for (size_t i = loaded; i < loaded + 100; i++)
            s_insert (table, model, i, 1);
        s_check_walk (table, model, false, 7);
        s_check_walk (table, model, true, 7);
        zjob_store_memory_table_destroy (&table);
        free (model);
    }
}

//  Real job ids (the file store checks them), made in order: ascending
#define FILE_JOBS 5000
static char s_real [FILE_JOBS][ZJOB_ID_LEN + 1];

static int
s_real_compare (const void *key, const void *item)
{
    return strcmp ((const char *) key, (const char *) item);
}

//  Records the rank of each visited job's id among s_real
static int
s_visit_real (zjob_job_t *job, void *arg)
{
    s_visits_t *visits = (s_visits_t *) arg;
    const char *found = (const char *) bsearch (job->id, s_real, FILE_JOBS, ZJOB_ID_LEN + 1,
                                                s_real_compare);
    cr_assert_not_null (found, "%s: not a job of the test", job->id);
    cr_assert_lt (visits->count, visits->max);
    visits->seen [visits->count++] = (size_t) (found - s_real [0]) / (ZJOB_ID_LEN + 1);
    return 0;
}

//  The file store walks in id order after a reopen, from its journal and
//  from the snapshot a compaction wrote in table order
Test (store_index, file_store_walks_in_order_after_reopen)
{
    char *dir = zjob_test_tmpdir ();
    cr_assert_not_null (dir);
    char *spec = zsys_sprintf ("file:%s/store?fsync=never&compact=4096", dir);
    zjob_error_t err = { 0, "" };
    zjob_store_t *store = zjob_store_open (spec, &err);
    cr_assert_not_null (store, "%s", err.text);
    s_model_t *model = (s_model_t *) calloc (1, sizeof (s_model_t));
    cr_assert_not_null (model);
    for (size_t i = 0; i < FILE_JOBS; i++) {
        zjob_job_t *job = s_job ("");
        zjob_id_new (job->id);
        snprintf (s_real [i], ZJOB_ID_LEN + 1, "%s", job->id);
        zjob_job_destroy (&job);
    }
    for (int op = 0; op < 3000; op++) {
        size_t i = s_random (FILE_JOBS);
        const char *id = s_real [i];
        if (s_random (4)) {
            zjob_job_t *job = s_job (id);
            cr_assert_eq (zjob_store_put (store, job, &err), 0, "%s", err.text);
            zjob_job_destroy (&job);
            model->count += !model->stored [i];
            model->stored [i] = true;
        }
        else if (zjob_store_remove (store, id, &err) == 0) {
            model->stored [i] = false;
            model->count--;
        }
        if (op % 100 == 0)
            cr_assert_eq (zjob_store_sync (store, &err), 0, "%s", err.text);
    }
    for (int reopen = 0; reopen < 2; reopen++) {
        zjob_store_destroy (&store);
        store = zjob_store_open (spec, &err);
        cr_assert_not_null (store, "%s", err.text);
        cr_assert_eq (zjob_store_count (store), model->count);
        for (int descending = 0; descending < 2; descending++) {
            s_visits_t visits = { (size_t *) calloc (MODEL_MAX, sizeof (size_t)), 0, MODEL_MAX };
            char cursor [ZJOB_ID_LEN + 1] = "";
            while (!zjob_store_walk (store, NULL, descending, cursor, 333, s_visit_real, &visits))
                ;
            cr_assert_eq (visits.count, model->count);
            for (size_t index = 1; index < visits.count; index++)
                cr_assert (descending ? visits.seen [index] < visits.seen [index - 1]
                                      : visits.seen [index] > visits.seen [index - 1]);
            free (visits.seen);
        }
    }
    zjob_store_destroy (&store);
    free (model);
    free (spec);
    zjob_test_rmtree (dir);
    free (dir);
}
