/*  =========================================================================
    test_zjob_query - filters, their validation, and job sorting

    Jobs are built with zjob_job_new and then given the status, priority
    and times each test needs, so every criterion can be tested on its own.
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_query.h"
#include "zjob_job_impl.h"

static zjob_job_t *
s_job (const char *workflow, const char *user, const char *const *tags, size_t tag_count,
       zjob_status_t status, zjob_priority_t priority, int64_t created, int64_t updated)
{
    zjob_spec_t spec = { .workflow_id = workflow, .user_id = user, .tags = tags, .tag_count = tag_count, .priority = priority };
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    job->status = (uint8_t) status;
    job->created_at = created;
    job->updated_at = updated;
    return job;
}


//  --------------------------------------------------------------------------
//  Matching

Test (filter_match, empty_and_null_filters_match_all)
{
    zjob_job_t *job = s_job ("wf", NULL, NULL, 0, ZJOB_FAILED, ZJOB_PRIORITY_LOW, 5, 5);
    zjob_filter_t filter = { 0 };
    cr_assert (zjob_filter_match (NULL, job));
    cr_assert (zjob_filter_match (&filter, job));
    zjob_job_destroy (&job);
}

Test (filter_match, status_mask)
{
    zjob_filter_t filter = { .status_mask = (1u << ZJOB_QUEUED) | (1u << ZJOB_PAUSED) };
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++) {
        zjob_job_t *job = s_job ("wf", NULL, NULL, 0, status, ZJOB_PRIORITY_LOW, 1, 1);
        bool expected = status == ZJOB_QUEUED || status == ZJOB_PAUSED;
        cr_assert_eq (zjob_filter_match (&filter, job), expected, "status %s",
                      zjob_status_name (status));
        zjob_job_destroy (&job);
    }
}

Test (filter_match, workflow_and_user)
{
    zjob_job_t *alice = s_job ("resize", "alice", NULL, 0, ZJOB_QUEUED, 0, 1, 1);
    zjob_job_t *nobody = s_job ("resize", NULL, NULL, 0, ZJOB_QUEUED, 0, 1, 1);
    zjob_job_t *other = s_job ("encode", "alice", NULL, 0, ZJOB_QUEUED, 0, 1, 1);

    zjob_filter_t filter = { .workflow_id = "resize" };
    cr_assert (zjob_filter_match (&filter, alice));
    cr_assert (zjob_filter_match (&filter, nobody));
    cr_assert_not (zjob_filter_match (&filter, other));
    filter.workflow_id = "resiz";  //  Whole names only
    cr_assert_not (zjob_filter_match (&filter, alice));

    filter = (zjob_filter_t){ .user_id = "alice" };
    cr_assert (zjob_filter_match (&filter, alice));
    cr_assert_not (zjob_filter_match (&filter, nobody));
    cr_assert (zjob_filter_match (&filter, other));
    filter.user_id = "ALICE";  //  Names are case-sensitive
    cr_assert_not (zjob_filter_match (&filter, alice));

    filter = (zjob_filter_t){ .workflow_id = "resize", .user_id = "alice" };
    cr_assert (zjob_filter_match (&filter, alice));
    cr_assert_not (zjob_filter_match (&filter, nobody));
    cr_assert_not (zjob_filter_match (&filter, other));
    zjob_job_destroy (&alice);
    zjob_job_destroy (&nobody);
    zjob_job_destroy (&other);
}

Test (filter_match, tags_must_all_be_carried)
{
    const char *tags [] = { "eu", "batch", "gpu" };
    zjob_job_t *job = s_job ("wf", NULL, tags, 3, ZJOB_QUEUED, 0, 1, 1);
    zjob_job_t *bare = s_job ("wf", NULL, NULL, 0, ZJOB_QUEUED, 0, 1, 1);
    const char *want_two [] = { "gpu", "eu" };
    const char *want_missing [] = { "eu", "us" };
    zjob_filter_t filter = { .tags = want_two, .tag_count = 2 };
    cr_assert (zjob_filter_match (&filter, job));
    cr_assert_not (zjob_filter_match (&filter, bare));
    filter = (zjob_filter_t){ .tags = want_missing, .tag_count = 2 };
    cr_assert_not (zjob_filter_match (&filter, job));
    filter = (zjob_filter_t){ .tags = want_missing, .tag_count = 1 };
    cr_assert (zjob_filter_match (&filter, job));
    zjob_job_destroy (&job);
    zjob_job_destroy (&bare);
}

Test (filter_match, created_bounds_are_exclusive)
{
    zjob_job_t *job = s_job ("wf", NULL, NULL, 0, ZJOB_QUEUED, 0, 1000, 1000);
    zjob_filter_t filter = { .created_after = 999 };
    cr_assert (zjob_filter_match (&filter, job));
    filter.created_after = 1000;
    cr_assert_not (zjob_filter_match (&filter, job));
    filter = (zjob_filter_t){ .created_before = 1001 };
    cr_assert (zjob_filter_match (&filter, job));
    filter.created_before = 1000;
    cr_assert_not (zjob_filter_match (&filter, job));
    filter = (zjob_filter_t){ .created_after = 999, .created_before = 1001 };
    cr_assert (zjob_filter_match (&filter, job));
    filter = (zjob_filter_t){ .created_after = 1001, .created_before = 999 };
    cr_assert_not (zjob_filter_match (&filter, job));
    zjob_job_destroy (&job);
}

Test (filter_match, every_criterion_together)
{
    const char *tags [] = { "a", "b" };
    zjob_job_t *job = s_job ("wf", "u", tags, 2, ZJOB_RUNNING, 0, 50, 60);
    const char *want [] = { "b" };
    zjob_filter_t filter = { .status_mask = 1u << ZJOB_RUNNING, .workflow_id = "wf", .user_id = "u", .tags = want, .tag_count = 1, .created_after = 49, .created_before = 51 };
    cr_assert (zjob_filter_match (&filter, job));
    //  Each criterion alone can exclude the job
    zjob_filter_t miss = filter;
    miss.status_mask = 1u << ZJOB_QUEUED;
    cr_assert_not (zjob_filter_match (&miss, job));
    miss = filter;
    miss.workflow_id = "other";
    cr_assert_not (zjob_filter_match (&miss, job));
    miss = filter;
    miss.user_id = "v";
    cr_assert_not (zjob_filter_match (&miss, job));
    const char *absent [] = { "c" };
    miss = filter;
    miss.tags = absent;
    cr_assert_not (zjob_filter_match (&miss, job));
    miss = filter;
    miss.created_after = 50;
    cr_assert_not (zjob_filter_match (&miss, job));
    miss = filter;
    miss.created_before = 50;
    cr_assert_not (zjob_filter_match (&miss, job));
    zjob_job_destroy (&job);
}


//  --------------------------------------------------------------------------
//  Validation

static void
s_expect_invalid (const zjob_filter_t *filter, const char *prefix)
{
    zjob_error_t err;
    zjob_error_clear (&err);
    cr_assert_eq (zjob_filter_validate (filter, &err), -1, "expected \"%s\"", prefix);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (strncmp (err.text, prefix, strlen (prefix)), 0,
                  "message \"%s\", expected \"%s...\"", err.text, prefix);
}

//  scheduled: queued and waiting for a run_at after now. NO is everything
//  else, so status [queued] + NO is the ready jobs
Test (filter_match, scheduled_against_the_filters_now)
{
    const int64_t now = 1750000000000;
    struct {
        zjob_status_t status;
        int64_t run_at;
        bool scheduled;
    } cases [] = {
        { ZJOB_QUEUED, now + 1, true },       //  waits for its time
        { ZJOB_QUEUED, now, false },          //  due exactly now: ready
        { ZJOB_QUEUED, now - 1000, false },   //  was due
        { ZJOB_QUEUED, 0, false },            //  never had a time
        { ZJOB_CREATED, now + 1000, false },  //  not queued yet
        { ZJOB_PAUSED, now + 1000, false },
        { ZJOB_RUNNING, now + 1000, false },
        { ZJOB_COMPLETED, now + 1000, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        zjob_job_t *job = s_job ("wf", NULL, NULL, 0, cases [i].status, ZJOB_PRIORITY_LOW, 5, 5);
        job->run_at = cases [i].run_at;
        cr_assert_eq (zjob_job_scheduled (job, now), cases [i].scheduled, "case %zu", i);
        zjob_filter_t yes = { .scheduled = ZJOB_SCHEDULED_YES, .now = now };
        zjob_filter_t no = { .scheduled = ZJOB_SCHEDULED_NO, .now = now };
        zjob_filter_t any = { .now = now };
        zjob_filter_t ready = { .status_mask = 1u << ZJOB_QUEUED,
                                .scheduled = ZJOB_SCHEDULED_NO,
                                .now = now };
        cr_assert_eq (zjob_filter_match (&yes, job), cases [i].scheduled, "case %zu", i);
        cr_assert_eq (zjob_filter_match (&no, job), !cases [i].scheduled, "case %zu", i);
        cr_assert (zjob_filter_match (&any, job));
        cr_assert_eq (zjob_filter_match (&ready, job),
                      cases [i].status == ZJOB_QUEUED && !cases [i].scheduled, "case %zu", i);
        zjob_job_destroy (&job);
    }
    //  now = 0 is the clock: a job an hour ahead is scheduled, one an hour
    //  behind is not
    zjob_job_t *job = s_job ("wf", NULL, NULL, 0, ZJOB_QUEUED, ZJOB_PRIORITY_LOW, 5, 5);
    zjob_filter_t yes = { .scheduled = ZJOB_SCHEDULED_YES };
    job->run_at = zjob_clock_ms () + 3600 * 1000;
    cr_assert (zjob_filter_match (&yes, job));
    job->run_at = zjob_clock_ms () - 3600 * 1000;
    cr_assert_not (zjob_filter_match (&yes, job));
    zjob_job_destroy (&job);
}

Test (filter_validate, accepts_valid_filters)
{
    const char *tags [] = { "a", "b" };
    zjob_filter_t filter = { .status_mask = (1u << ZJOB_STATUS_COUNT) - 1,
                             .workflow_id = "wf",
                             .user_id = "u",
                             .tags = tags,
                             .tag_count = 2,
                             .created_after = 1,
                             .created_before = 2 };
    zjob_error_t err;
    cr_assert_eq (zjob_filter_validate (&filter, &err), 0, "%s", err.text);
    zjob_filter_t empty = { 0 };
    cr_assert_eq (zjob_filter_validate (&empty, &err), 0);
    cr_assert_eq (zjob_filter_validate (NULL, &err), 0);
}

Test (filter_validate, refuses_bad_fields)
{
    zjob_filter_t filter = { .status_mask = 1u << ZJOB_STATUS_COUNT };
    s_expect_invalid (&filter, "status: ");
    filter = (zjob_filter_t){ .status_mask = 0x80000000u | 1u };
    s_expect_invalid (&filter, "status: ");
    filter = (zjob_filter_t){ .workflow_id = "" };
    s_expect_invalid (&filter, "workflow_id: ");
    filter = (zjob_filter_t){ .workflow_id = "a b" };
    s_expect_invalid (&filter, "workflow_id: ");
    char too_long [ZJOB_NAME_MAX + 2];
    memset (too_long, 'x', ZJOB_NAME_MAX + 1);
    too_long [ZJOB_NAME_MAX + 1] = 0;
    filter = (zjob_filter_t){ .user_id = too_long };
    s_expect_invalid (&filter, "user_id: ");
    const char *bad_tags [] = { "ok", "not ok" };
    filter = (zjob_filter_t){ .tags = bad_tags, .tag_count = 2 };
    s_expect_invalid (&filter, "tags[1]: ");
    filter = (zjob_filter_t){ .tags = NULL, .tag_count = 1 };
    s_expect_invalid (&filter, "tags: ");
    filter = (zjob_filter_t){ .tags = bad_tags, .tag_count = ZJOB_TAGS_MAX + 1 };
    s_expect_invalid (&filter, "tags: more than 32");
    filter = (zjob_filter_t){ .created_after = -1 };
    s_expect_invalid (&filter, "created_after: ");
    filter = (zjob_filter_t){ .created_before = -1 };
    s_expect_invalid (&filter, "created_before: ");
    filter = (zjob_filter_t){ .scheduled = (zjob_scheduled_t) 3 };
    s_expect_invalid (&filter, "scheduled: ");
    filter = (zjob_filter_t){ .scheduled = ZJOB_SCHEDULED_YES, .now = -1 };
    s_expect_invalid (&filter, "now: ");
    filter = (zjob_filter_t){ .batch_id = "a b" };
    s_expect_invalid (&filter, "batch_id: ");
    filter = (zjob_filter_t){ .schedule_id = "" };
    s_expect_invalid (&filter, "schedule_id: ");
    filter = (zjob_filter_t){ .waiting_on = "not-an-id" };
    s_expect_invalid (&filter, "waiting_on: ");
    //  A NULL err is allowed
    cr_assert_eq (zjob_filter_validate (&filter, NULL), -1);
}

Test (filter_match, batch_schedule_and_waiting_on)
{
    const char *parents [] = { "0000000000000000000A", "0000000000000000000B" };
    zjob_spec_t spec = { .workflow_id = "w", .depends_on = parents, .depends_on_count = 2, .batch_id = "b1", .schedule_id = "nightly" };
    zjob_error_t err;
    zjob_job_t *child = zjob_job_new (&spec, &err);
    cr_assert_not_null (child, "%s", err.text);
    child->status = ZJOB_WAITING;
    zjob_job_t *plain = s_job ("w", NULL, NULL, 0, ZJOB_QUEUED, ZJOB_PRIORITY_LOW, 1, 1);

    zjob_filter_t filter = { .batch_id = "b1" };
    cr_assert (zjob_filter_match (&filter, child));
    cr_assert_not (zjob_filter_match (&filter, plain));
    filter.batch_id = "b2";
    cr_assert_not (zjob_filter_match (&filter, child));

    filter = (zjob_filter_t){ .schedule_id = "nightly" };
    cr_assert (zjob_filter_match (&filter, child));
    cr_assert_not (zjob_filter_match (&filter, plain));
    filter.schedule_id = "hourly";
    cr_assert_not (zjob_filter_match (&filter, child));

    filter = (zjob_filter_t){ .waiting_on = "0000000000000000000B" };
    cr_assert (zjob_filter_match (&filter, child), "the second parent");
    cr_assert_not (zjob_filter_match (&filter, plain));
    filter.waiting_on = "0000000000000000000C";
    cr_assert_not (zjob_filter_match (&filter, child));
    filter.waiting_on = child->id;
    cr_assert_not (zjob_filter_match (&filter, child), "not its own parent");

    //  Together, and with a status
    filter = (zjob_filter_t){ .status_mask = 1u << ZJOB_WAITING, .batch_id = "b1", .waiting_on = "0000000000000000000A", .schedule_id = "nightly" };
    cr_assert (zjob_filter_match (&filter, child));
    cr_assert_eq (zjob_filter_validate (&filter, &err), 0, "%s", err.text);
    filter.status_mask = 1u << ZJOB_QUEUED;
    cr_assert_not (zjob_filter_match (&filter, child));
    //  A job in a batch with no parents is not waiting on anything
    zjob_spec_t batched = { .workflow_id = "w", .batch_id = "b1" };
    zjob_job_t *member = zjob_job_new (&batched, &err);
    filter = (zjob_filter_t){ .batch_id = "b1", .waiting_on = "0000000000000000000A" };
    cr_assert_not (zjob_filter_match (&filter, member));
    filter.waiting_on = NULL;
    cr_assert (zjob_filter_match (&filter, member));
    zjob_job_destroy (&member);
    zjob_job_destroy (&plain);
    zjob_job_destroy (&child);
}


//  --------------------------------------------------------------------------
//  Sorting

static zjob_sort_t s_sort_by;
static bool s_descending;

static int
s_qsort_compare (const void *a, const void *b)
{
    return zjob_job_compare (*(zjob_job_t *const *) a, *(zjob_job_t *const *) b,
                             s_sort_by, s_descending);
}

Test (job_compare, each_key_with_ties_broken_by_id)
{
    //  Created in this order, so their ids increase: a < b < c
    zjob_job_t *a = s_job ("wf", NULL, NULL, 0, ZJOB_RUNNING, ZJOB_PRIORITY_LOW, 300, 10);
    zjob_job_t *b = s_job ("wf", NULL, NULL, 0, ZJOB_QUEUED, ZJOB_PRIORITY_CRITICAL, 100, 30);
    zjob_job_t *c = s_job ("wf", NULL, NULL, 0, ZJOB_QUEUED, ZJOB_PRIORITY_MEDIUM, 100, 20);
    cr_assert_lt (strcmp (a->id, b->id), 0);
    cr_assert_lt (strcmp (b->id, c->id), 0);

    //  created: creation order, the ids' (a, b, c), whatever created_at
    //  says (a's 300 is a clock that went back)
    cr_assert_lt (zjob_job_compare (b, c, ZJOB_SORT_CREATED, false), 0);
    cr_assert_lt (zjob_job_compare (a, b, ZJOB_SORT_CREATED, false), 0);
    cr_assert_gt (zjob_job_compare (a, c, ZJOB_SORT_CREATED, true), 0);
    cr_assert_gt (zjob_job_compare (b, c, ZJOB_SORT_CREATED, true), 0);
    //  updated: a (10), c (20), b (30)
    cr_assert_lt (zjob_job_compare (a, c, ZJOB_SORT_UPDATED, false), 0);
    cr_assert_lt (zjob_job_compare (c, b, ZJOB_SORT_UPDATED, false), 0);
    //  priority by rank, not by name: low < medium < critical
    cr_assert_lt (zjob_job_compare (a, c, ZJOB_SORT_PRIORITY, false), 0);
    cr_assert_lt (zjob_job_compare (c, b, ZJOB_SORT_PRIORITY, false), 0);
    cr_assert_gt (zjob_job_compare (c, b, ZJOB_SORT_PRIORITY, true), 0);
    //  status in life-cycle order: queued (b, c by id) < running (a)
    cr_assert_lt (zjob_job_compare (b, c, ZJOB_SORT_STATUS, false), 0);
    cr_assert_lt (zjob_job_compare (c, a, ZJOB_SORT_STATUS, false), 0);
    //  A job equals itself, whatever the order
    cr_assert_eq (zjob_job_compare (a, a, ZJOB_SORT_CREATED, false), 0);
    cr_assert_eq (zjob_job_compare (a, a, ZJOB_SORT_PRIORITY, true), 0);
    zjob_job_destroy (&a);
    zjob_job_destroy (&b);
    zjob_job_destroy (&c);
}

Test (job_compare, qsort_gives_a_total_order)
{
    enum { COUNT = 200 };
    zjob_job_t *jobs [COUNT];
    uint64_t state = 12345;
    for (int i = 0; i < COUNT; i++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        jobs [i] = s_job ("wf", NULL, NULL, 0, (zjob_status_t) ((state >> 33) % 7),
                          (zjob_priority_t) ((state >> 40) % 4),
                          (int64_t) ((state >> 45) % 10), (int64_t) ((state >> 50) % 10));
    }
    for (int sort = ZJOB_SORT_CREATED; sort <= ZJOB_SORT_STATUS; sort++)
        for (int descending = 0; descending <= 1; descending++) {
            s_sort_by = (zjob_sort_t) sort;
            s_descending = descending;
            qsort (jobs, COUNT, sizeof (jobs [0]), s_qsort_compare);
            for (int i = 1; i < COUNT; i++) {
                zjob_job_t *x = jobs [descending ? i : i - 1];
                zjob_job_t *y = jobs [descending ? i - 1 : i];
                int64_t kx, ky;
                switch (sort) {
                    case ZJOB_SORT_UPDATED:
                        kx = x->updated_at;
                        ky = y->updated_at;
                        break;
                    case ZJOB_SORT_PRIORITY:
                        kx = x->priority;
                        ky = y->priority;
                        break;
                    case ZJOB_SORT_STATUS:
                        kx = x->status;
                        ky = y->status;
                        break;
                    default:
                        //  Creation order: the ids' alone
                        kx = ky = 0;
                        break;
                }
                //  x comes before y in ascending order
                cr_assert (kx < ky || (kx == ky && strcmp (x->id, y->id) < 0),
                           "sort %s desc %d broken at %d", zjob_sort_name (sort), descending, i);
            }
        }
    for (int i = 0; i < COUNT; i++)
        zjob_job_destroy (&jobs [i]);
}

Test (sort, names)
{
    const char *names [] = { "created", "updated", "priority", "status" };
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq (zjob_sort_name (i), names [i]);
        cr_assert_eq (zjob_sort_parse (names [i]), i);
    }
    cr_assert_eq (zjob_sort_parse ("Priority"), ZJOB_SORT_PRIORITY);
    cr_assert_eq (zjob_sort_parse ("UPDATED"), ZJOB_SORT_UPDATED);
    cr_assert_eq (zjob_sort_parse ("id"), -1);
    cr_assert_eq (zjob_sort_parse (""), -1);
    cr_assert_eq (zjob_sort_parse (NULL), -1);
    cr_assert_str_eq (zjob_sort_name ((zjob_sort_t) 4), "unknown");
}
