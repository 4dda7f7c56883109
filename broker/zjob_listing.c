/*  =========================================================================
    zjob_listing - LIST: the jobs a query matches, sorted and paged

    The page is selected, not sorted whole: a bounded max-heap keeps the
    keep = offset + limit first jobs in the query's order (its top is the
    last of them), so a list costs O(n log keep) time and O(keep) memory
    over n matching jobs, however many there are. The order is total (ties
    broken by id), so the page is exactly that of a full sort.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_listing.h"

typedef struct {
    const zjob_query_t *query;          //  Its order decides
    zjob_job_t **jobs;                  //  Max-heap of references, worst on top
    size_t count;                       //  Entries in jobs
    size_t max;                         //  Entries allocated
    size_t keep;                        //  Entries kept at most (offset + limit)
    size_t total;                       //  Jobs matching, all visited
    int failed;                         //  Out of memory
} s_select_t;

//  True if a comes after b in the query's order
static bool
s_select_after (const s_select_t *select, const zjob_job_t *a, const zjob_job_t *b)
{
    return zjob_job_compare (a, b, select->query->sort_by, select->query->descending) > 0;
}

static void
s_select_down (s_select_t *select, size_t index)
{
    zjob_job_t **jobs = select->jobs;
    zjob_job_t *job = jobs [index];
    while (true) {
        size_t child = 2 * index + 1;
        if (child >= select->count)
            break;
        if (child + 1 < select->count && s_select_after (select, jobs [child + 1], jobs [child]))
            child++;
        if (!s_select_after (select, jobs [child], job))
            break;
        jobs [index] = jobs [child];
        index = child;
    }
    jobs [index] = job;
}

static int
s_select_visit (zjob_job_t *job, void *arg)
{
    s_select_t *select = (s_select_t *) arg;
    select->total++;
    if (select->count == select->keep) {
        //  Full: job replaces the worst kept one if it comes before it
        if (s_select_after (select, job, select->jobs [0]))
            return 0;
        zjob_job_destroy (&select->jobs [0]);
        select->jobs [0] = zjob_job_ref (job);
        s_select_down (select, 0);
        return 0;
    }
    if (select->count == select->max) {
        size_t max = select->max? select->max * 2: 64;
        if (max > select->keep)
            max = select->keep;
        zjob_job_t **jobs = (zjob_job_t **) realloc (select->jobs, max * sizeof (zjob_job_t *));
        if (!jobs) {
            select->failed = 1;
            return -1;
        }
        select->jobs = jobs;
        select->max = max;
    }
    //  Sift up
    size_t index = select->count++;
    while (index > 0) {
        size_t parent = (index - 1) / 2;
        if (!s_select_after (select, job, select->jobs [parent]))
            break;
        select->jobs [index] = select->jobs [parent];
        index = parent;
    }
    select->jobs [index] = zjob_job_ref (job);
    return 0;
}

static int
s_list_compare (const void *a, const void *b, void *arg)
{
    const zjob_query_t *query = (const zjob_query_t *) arg;
    return zjob_job_compare (*(zjob_job_t *const *) a, *(zjob_job_t *const *) b,
                             query->sort_by, query->descending);
}

int
zjob_listing_page (zjob_store_t *store, const zjob_query_t *query,
                   zjob_job_t ***jobs_p, size_t *count_p, size_t *total_p,
                   zjob_error_t *err)
{
    assert (store);
    assert (jobs_p);
    assert (count_p);
    *jobs_p = NULL;
    *count_p = 0;
    if (total_p)
        *total_p = 0;
    zjob_query_t fallback;
    memset (&fallback, 0, sizeof (fallback));
    if (!query)
        query = &fallback;
    if (query->limit > ZJOB_LIST_LIMIT_MAX)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "limit: at most %d, not %zu",
                               ZJOB_LIST_LIMIT_MAX, query->limit);
    if ((int) query->sort_by < 0 || query->sort_by > ZJOB_SORT_STATUS)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "sort: unknown key %d",
                               (int) query->sort_by);
    if (zjob_filter_validate (&query->filter, err))
        return -1;

    size_t limit = query->limit? query->limit: ZJOB_LIST_LIMIT_MAX;
    s_select_t select = { query, NULL, 0, 0, 0, 0, 0 };
    select.keep = query->offset > SIZE_MAX - limit? SIZE_MAX: query->offset + limit;
    zjob_store_iterate (store, &query->filter, s_select_visit, &select);
    //  The kept jobs in order; the page is their last count (at most limit)
    size_t first = query->offset < select.count? query->offset: select.count;
    size_t count = select.count - first;
    //  Never NULL on success, even for an empty page
    zjob_job_t **page = select.failed? NULL
                      : (zjob_job_t **) calloc (count? count: 1, sizeof (zjob_job_t *));
    if (page && select.count > 1)
        qsort_r (select.jobs, select.count, sizeof (zjob_job_t *), s_list_compare,
                 (void *) query);
    for (size_t index = 0; index < select.count; index++) {
        if (page && index >= first)
            page [index - first] = select.jobs [index];
        else
            zjob_job_destroy (&select.jobs [index]);
    }
    free (select.jobs);
    if (!page)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory listing jobs");
    *jobs_p = page;
    *count_p = count;
    if (total_p)
        *total_p = select.total;
    return 0;
}
