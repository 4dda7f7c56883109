/*  =========================================================================
    zjob_listing - LIST: the jobs a query matches, sorted and paged

    The page is selected, not sorted whole: a bounded max-heap keeps the
    keep = offset + limit first jobs in the query's order (its top is the
    last of them), so a list costs O(n log keep) time and O(keep) memory
    over n matching jobs, however many there are. The order is total (ties
    broken by id), so the page is exactly that of a full sort.

    A deep page (offset + limit beyond S_HEAP_KEEP) would make that heap
    large and each visit O(log keep): 1.1 s for a page at offset 999,900
    of a million jobs. Then the matching jobs are collected instead, as
    borrowed pointers (nothing changes the store during the call), and the
    page is found by selection: an introselect (quickselect with a median
    of three, falling back to a sort past 2 log2 n rounds) puts the job of
    rank offset in its place with every earlier one before it, a second
    one over the rest does the same for the page's last job, and only the
    page is then sorted: O(n + limit log limit) time and O(n) pointers of
    memory for n matches, about the cost of the scan itself.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_listing.h"

typedef struct {
    const zjob_query_t *query;  //  Its order decides
    zjob_job_t **jobs;          //  Max-heap of references, worst on top
    size_t count;               //  Entries in jobs
    size_t max;                 //  Entries allocated
    size_t keep;                //  Entries kept at most (offset + limit)
    size_t total;               //  Jobs matching, all visited
    int failed;                 //  Out of memory
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
        size_t max = select->max ? select->max * 2 : 64;
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

//  offset + limit beyond which a page is selected, not kept in a heap
#define S_HEAP_KEEP 4096

//  Collects every matching job, borrowed
typedef struct {
    zjob_job_t **jobs;  //  Borrowed pointers
    size_t count;       //  Entries in jobs
    size_t max;         //  Entries allocated
    int failed;         //  Out of memory
} s_collect_t;

static int
s_collect_visit (zjob_job_t *job, void *arg)
{
    s_collect_t *collect = (s_collect_t *) arg;
    if (collect->count == collect->max) {
        size_t max = collect->max ? collect->max * 2 : 4096;
        zjob_job_t **jobs = (zjob_job_t **) realloc (collect->jobs, max * sizeof (zjob_job_t *));
        if (!jobs) {
            collect->failed = 1;
            return -1;
        }
        collect->jobs = jobs;
        collect->max = max;
    }
    collect->jobs [collect->count++] = job;
    return 0;
}

static int
s_order (const zjob_query_t *query, const zjob_job_t *a, const zjob_job_t *b)
{
    return zjob_job_compare (a, b, query->sort_by, query->descending);
}

static void
s_swap (zjob_job_t **jobs, size_t a, size_t b)
{
    zjob_job_t *job = jobs [a];
    jobs [a] = jobs [b];
    jobs [b] = job;
}

//  Rearrange jobs [lo, hi) so that jobs [k] is the one a full sort would
//  put there, every job before it comes before it and every job after it
//  after it. The order is total (ties broken by id).
static void
s_select_nth (zjob_job_t **jobs, size_t lo, size_t hi, size_t k, const zjob_query_t *query)
{
    int rounds = 0;
    for (size_t size = hi - lo; size > 1; size /= 2)
        rounds += 2;
    while (hi - lo > 16) {
        if (rounds-- == 0) {
            //  Too many bad pivots: a sort is O(n log n) whatever the input
            qsort_r (jobs + lo, hi - lo, sizeof (zjob_job_t *), s_list_compare, (void *) query);
            return;
        }
        //  Median of three: jobs [lo] <= pivot <= jobs [hi - 1] bound the scans
        size_t mid = lo + (hi - lo - 1) / 2;
        if (s_order (query, jobs [mid], jobs [lo]) < 0)
            s_swap (jobs, mid, lo);
        if (s_order (query, jobs [hi - 1], jobs [lo]) < 0)
            s_swap (jobs, hi - 1, lo);
        if (s_order (query, jobs [hi - 1], jobs [mid]) < 0)
            s_swap (jobs, hi - 1, mid);
        const zjob_job_t *pivot = jobs [mid];
        //  Hoare's partition: [lo, j] <= pivot <= [j + 1, hi)
        size_t i = lo, j = hi - 1;
        while (true) {
            while (s_order (query, jobs [i], pivot) < 0)
                i++;
            while (s_order (query, jobs [j], pivot) > 0)
                j--;
            if (i >= j)
                break;
            s_swap (jobs, i++, j--);
        }
        if (k <= j)
            hi = j + 1;
        else
            lo = j + 1;
    }
    //  A few left: insertion sort
    for (size_t index = lo + 1; index < hi; index++)
        for (size_t at = index; at > lo && s_order (query, jobs [at], jobs [at - 1]) < 0; at--)
            s_swap (jobs, at, at - 1);
}

//  The page [offset, offset + limit) of every matching job, by selection.
//  Returns 0, or -1 if out of memory.
static int
s_page_by_selection (zjob_store_t *store, const zjob_query_t *query, size_t limit,
                     zjob_job_t ***jobs_p, size_t *count_p, size_t *total_p)
{
    s_collect_t collect = { NULL, 0, 0, 0 };
    zjob_store_iterate (store, &query->filter, s_collect_visit, &collect);
    size_t total = collect.count;
    size_t first = query->offset < total ? query->offset : total;
    size_t end = total - first < limit ? total : first + limit;
    zjob_job_t **page = collect.failed ? NULL
                                       : (zjob_job_t **) calloc (end > first ? end - first : 1, sizeof (zjob_job_t *));
    if (page && end > first) {
        s_select_nth (collect.jobs, 0, total, first, query);
        s_select_nth (collect.jobs, first, total, end - 1, query);
        qsort_r (collect.jobs + first, end - first, sizeof (zjob_job_t *), s_list_compare,
                 (void *) query);
        for (size_t index = first; index < end; index++)
            page [index - first] = zjob_job_ref (collect.jobs [index]);
    }
    free (collect.jobs);
    if (!page)
        return -1;
    *jobs_p = page;
    *count_p = end - first;
    if (total_p)
        *total_p = total;
    return 0;
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

    size_t limit = query->limit ? query->limit : ZJOB_LIST_LIMIT_MAX;
    s_select_t select = { query, NULL, 0, 0, 0, 0, 0 };
    select.keep = query->offset > SIZE_MAX - limit ? SIZE_MAX : query->offset + limit;
    if (select.keep > S_HEAP_KEEP) {
        if (s_page_by_selection (store, query, limit, jobs_p, count_p, total_p))
            return zjob_error_set (err, ZJOB_INTERNAL, "out of memory listing jobs");
        return 0;
    }
    zjob_store_iterate (store, &query->filter, s_select_visit, &select);
    //  The kept jobs in order; the page is their last count (at most limit)
    size_t first = query->offset < select.count ? query->offset : select.count;
    size_t count = select.count - first;
    //  Never NULL on success, even for an empty page
    zjob_job_t **page = select.failed ? NULL
                                      : (zjob_job_t **) calloc (count ? count : 1, sizeof (zjob_job_t *));
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
