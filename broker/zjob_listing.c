/*  =========================================================================
    zjob_listing - LIST: the jobs a query matches, sorted and paged

    A listing walks the store in id order, a bounded number of jobs per
    step (zjob_store_walk, whose cursor is an id: it survives any change
    to the store between steps), and keeps what the page needs:

    - `created` is the walk's own order (ids are time-sortable), walked
      forwards or backwards: the first offset matches are skipped, the
      next limit kept, the rest only counted. No heap, no sort, any offset.
    - Another sort key, with offset + limit within S_HEAP_KEEP: a bounded
      max-heap keeps the first offset + limit entries (its top is the last
      of them), O(n log keep) time and O(keep) memory.
    - A deeper page: every match is collected, and the page found by
      selection at the end (an introselect puts the entry of rank offset
      in its place with every earlier one before it, a second one does
      the same for the page's last entry, and only the page is sorted):
      O(n + limit log limit).

    An entry is {the sort key read at the visit, the walk's sequence
    number, a reference to the job}. Since the walk is in id order, the
    sequence number orders ties as the id does, and the selection compares
    plain integers, never a job: at a million entries it takes a few ms,
    where comparing through job pointers (a cache miss each) took 60 ms.
    It also keeps the heap and the selection sound when a job changes
    between steps: a job keeps the place of the key it was visited with.
    The references keep visited jobs alive across steps; dropping a
    million of them is itself a million cache misses, so the entries off
    the page are released in bounded steps too, before the page is ready.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_listing.h"

//  offset + limit beyond which a page is selected, not kept in a heap
#define S_HEAP_KEEP 4096

//  How a listing keeps what it visits
typedef enum {
    S_PAGE = 0,  //  sort `created`: the page itself, in walk order
    S_HEAP,      //  a bounded max-heap of the best offset + limit
    S_COLLECT    //  every match, for a selection at the end
} s_mode_t;

//  Where a listing is
typedef enum {
    S_WALKING = 0,  //  Steps walk the store
    S_SELECTING,    //  The next step finds the page among the entries
    S_RELEASING,    //  Steps release the entries off the page
    S_READY,        //  The page can be taken
    S_TAKEN         //  It was
} s_state_t;

//  A visited job
typedef struct {
    int64_t key;      //  Its sort key when visited
    uint64_t seq;     //  Its rank in the walk (the id's order)
    zjob_job_t *job;  //  A reference, or NULL once moved or released
} s_entry_t;

struct _zjob_listing_t {
    zjob_query_t query;  //  The copy (filter strings below)
    char *workflow_id;   //  Owned copies of the filter's strings
    char *user_id;
    char *extra [3];  //  batch_id, waiting_on, schedule_id
    char **tags;      //  tag_count copies, or NULL
    size_t limit;     //  Page size (the query's, or the maximum)
    size_t keep;      //  offset + limit, saturated
    s_mode_t mode;
    s_state_t state;
    char cursor [ZJOB_ID_LEN + 1];  //  Where the walk resumes, "" to begin
    size_t total;                   //  Jobs matching so far
    s_entry_t *entries;             //  Page, heap or collection
    size_t count;                   //  Entries used
    size_t max;                     //  Entries allocated
    size_t first;                   //  Selected page: [first, end) of entries
    size_t end;
    size_t released;    //  Entries released so far
    zjob_job_t **page;  //  The page, ready to take
    size_t page_count;
    bool failed;  //  Out of memory in a visit
};


//  --------------------------------------------------------------------------
//  The order of entries: key, then walk rank; reversed when descending

static inline int
s_entry_compare (const s_entry_t *a, const s_entry_t *b, bool descending)
{
    int rc = a->key != b->key ? (a->key > b->key ? 1 : -1)
                              : (a->seq > b->seq) - (a->seq < b->seq);
    return descending ? -rc : rc;
}

static int
s_entry_qsort (const void *a, const void *b, void *arg)
{
    return s_entry_compare ((const s_entry_t *) a, (const s_entry_t *) b, *(const bool *) arg);
}

static int64_t
s_key (const zjob_job_t *job, zjob_sort_t sort_by)
{
    return sort_by == ZJOB_SORT_UPDATED ? job->updated_at
        : sort_by == ZJOB_SORT_PRIORITY ? (int64_t) job->priority
        : sort_by == ZJOB_SORT_STATUS   ? (int64_t) job->status
                                        : job->created_at;
}

//  Room for one more entry, growing by doubling up to cap. Sets failed.
static bool
s_room (zjob_listing_t *self, size_t cap)
{
    if (self->count < self->max)
        return true;
    size_t max = self->max ? self->max * 2 : 64;
    if (max > cap)
        max = cap;
    s_entry_t *entries = (s_entry_t *) realloc (self->entries, max * sizeof (s_entry_t));
    if (!entries) {
        self->failed = true;
        return false;
    }
    self->entries = entries;
    self->max = max;
    return true;
}


//  --------------------------------------------------------------------------
//  The visitors, one per mode

static int
s_visit_page (zjob_job_t *job, void *arg)
{
    zjob_listing_t *self = (zjob_listing_t *) arg;
    if (self->total++ < self->query.offset || self->count == self->limit)
        return 0;
    if (!s_room (self, self->limit))
        return -1;
    self->entries [self->count++].job = zjob_job_ref (job);
    return 0;
}

static void
s_heap_down (zjob_listing_t *self, size_t index)
{
    s_entry_t *entries = self->entries;
    s_entry_t entry = entries [index];
    bool descending = self->query.descending;
    while (true) {
        size_t child = 2 * index + 1;
        if (child >= self->count)
            break;
        if (child + 1 < self->count
            && s_entry_compare (&entries [child + 1], &entries [child], descending) > 0)
            child++;
        if (s_entry_compare (&entries [child], &entry, descending) <= 0)
            break;
        entries [index] = entries [child];
        index = child;
    }
    entries [index] = entry;
}

static int
s_visit_heap (zjob_job_t *job, void *arg)
{
    zjob_listing_t *self = (zjob_listing_t *) arg;
    s_entry_t entry = { s_key (job, self->query.sort_by), self->total++, job };
    bool descending = self->query.descending;
    if (self->count == self->keep) {
        //  Full: the entry replaces the worst kept one if it comes before it
        if (s_entry_compare (&entry, &self->entries [0], descending) > 0)
            return 0;
        zjob_job_destroy (&self->entries [0].job);
        entry.job = zjob_job_ref (job);
        self->entries [0] = entry;
        s_heap_down (self, 0);
        return 0;
    }
    if (!s_room (self, self->keep))
        return -1;
    entry.job = zjob_job_ref (job);
    size_t index = self->count++;
    while (index > 0) {
        size_t parent = (index - 1) / 2;
        if (s_entry_compare (&entry, &self->entries [parent], descending) <= 0)
            break;
        self->entries [index] = self->entries [parent];
        index = parent;
    }
    self->entries [index] = entry;
    return 0;
}

static int
s_visit_collect (zjob_job_t *job, void *arg)
{
    zjob_listing_t *self = (zjob_listing_t *) arg;
    if (!s_room (self, SIZE_MAX / sizeof (s_entry_t)))
        return -1;
    s_entry_t *entry = &self->entries [self->count++];
    entry->key = s_key (job, self->query.sort_by);
    entry->seq = self->total++;
    entry->job = zjob_job_ref (job);
    return 0;
}


//  --------------------------------------------------------------------------
//  The selection of a deep page

static inline void
s_swap (s_entry_t *entries, size_t a, size_t b)
{
    s_entry_t entry = entries [a];
    entries [a] = entries [b];
    entries [b] = entry;
}

//  Rearrange entries [lo, hi) so that entries [k] is the one a full sort
//  would put there, every one before it comes before it and every one
//  after it after it. The order is total (the rank breaks ties).
static void
s_select_nth (s_entry_t *entries, size_t lo, size_t hi, size_t k, bool descending)
{
    int rounds = 0;
    for (size_t size = hi - lo; size > 1; size /= 2)
        rounds += 2;
    while (hi - lo > 16) {
        if (rounds-- == 0) {
            //  Too many bad pivots: a sort is O(n log n) whatever the input
            qsort_r (entries + lo, hi - lo, sizeof (s_entry_t), s_entry_qsort, &descending);
            return;
        }
        //  Median of three: entries [lo] <= pivot <= entries [hi - 1] bound the scans
        size_t mid = lo + (hi - lo - 1) / 2;
        if (s_entry_compare (&entries [mid], &entries [lo], descending) < 0)
            s_swap (entries, mid, lo);
        if (s_entry_compare (&entries [hi - 1], &entries [lo], descending) < 0)
            s_swap (entries, hi - 1, lo);
        if (s_entry_compare (&entries [hi - 1], &entries [mid], descending) < 0)
            s_swap (entries, hi - 1, mid);
        s_entry_t pivot = entries [mid];
        //  Hoare's partition: [lo, j] <= pivot <= [j + 1, hi)
        size_t i = lo, j = hi - 1;
        while (true) {
            while (s_entry_compare (&entries [i], &pivot, descending) < 0)
                i++;
            while (s_entry_compare (&entries [j], &pivot, descending) > 0)
                j--;
            if (i >= j)
                break;
            s_swap (entries, i++, j--);
        }
        if (k <= j)
            hi = j + 1;
        else
            lo = j + 1;
    }
    //  A few left: insertion sort
    for (size_t index = lo + 1; index < hi; index++)
        for (size_t at = index; at > lo
             && s_entry_compare (&entries [at], &entries [at - 1], descending) < 0;
             at--)
            s_swap (entries, at, at - 1);
}

//  Find the page among the entries and move its references out: by
//  selection over a collection, by a sort of a heap (at most S_HEAP_KEEP).
//  0, or -1 if out of memory.
static int
s_select (zjob_listing_t *self)
{
    size_t count = self->count;
    bool descending = self->query.descending;
    size_t first = self->query.offset < count ? self->query.offset : count;
    size_t end = count - first < self->limit ? count : first + self->limit;
    self->page = (zjob_job_t **) calloc (end > first ? end - first : 1, sizeof (zjob_job_t *));
    if (!self->page)
        return -1;
    if (end > first) {
        if (self->mode == S_COLLECT) {
            s_select_nth (self->entries, 0, count, first, descending);
            s_select_nth (self->entries, first, count, end - 1, descending);
            qsort_r (self->entries + first, end - first, sizeof (s_entry_t), s_entry_qsort,
                     &descending);
        }
        else
            qsort_r (self->entries, count, sizeof (s_entry_t), s_entry_qsort, &descending);
        for (size_t index = first; index < end; index++) {
            self->page [index - first] = self->entries [index].job;
            self->entries [index].job = NULL;
        }
    }
    self->page_count = end - first;
    self->first = first;
    self->end = end;
    return 0;
}

//  Release at most max entries off the page. True when none is left.
static bool
s_release (zjob_listing_t *self, size_t max)
{
    size_t until = self->count - self->released > max ? self->released + max : self->count;
    for (; self->released < until; self->released++)
        zjob_job_destroy (&self->entries [self->released].job);
    return self->released == self->count;
}


//  --------------------------------------------------------------------------
//  The class

//  Copy the filter's strings into self, which then owns them. 0 or -1.
static int
s_copy_filter (zjob_listing_t *self, const zjob_filter_t *filter)
{
    zjob_filter_t *copy = &self->query.filter;
    if (filter->workflow_id && !(copy->workflow_id = self->workflow_id = strdup (filter->workflow_id)))
        return -1;
    if (filter->user_id && !(copy->user_id = self->user_id = strdup (filter->user_id)))
        return -1;
    const char *extra [3] = { filter->batch_id, filter->waiting_on, filter->schedule_id };
    for (int i = 0; i < 3; i++)
        if (extra [i] && !(self->extra [i] = strdup (extra [i])))
            return -1;
    copy->batch_id = self->extra [0];
    copy->waiting_on = self->extra [1];
    copy->schedule_id = self->extra [2];
    copy->tags = NULL;
    if (filter->tag_count) {
        self->tags = (char **) calloc (filter->tag_count, sizeof (char *));
        if (!self->tags)
            return -1;
        for (size_t index = 0; index < filter->tag_count; index++)
            if (!(self->tags [index] = strdup (filter->tags [index])))
                return -1;
        copy->tags = (const char *const *) self->tags;
    }
    return 0;
}

zjob_listing_t *
zjob_listing_new (const zjob_query_t *query, zjob_error_t *err)
{
    zjob_query_t fallback;
    memset (&fallback, 0, sizeof (fallback));
    if (!query)
        query = &fallback;
    if (query->limit > ZJOB_LIST_LIMIT_MAX) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "limit: at most %d, not %zu",
                        ZJOB_LIST_LIMIT_MAX, query->limit);
        return NULL;
    }
    if ((int) query->sort_by < 0 || query->sort_by > ZJOB_SORT_STATUS) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "sort: unknown key %d", (int) query->sort_by);
        return NULL;
    }
    if (zjob_filter_validate (&query->filter, err))
        return NULL;
    zjob_listing_t *self = (zjob_listing_t *) calloc (1, sizeof (zjob_listing_t));
    if (self) {
        self->query = *query;
        self->query.filter.workflow_id = self->query.filter.user_id = NULL;
        self->query.filter.batch_id = self->query.filter.waiting_on = NULL;
        self->query.filter.schedule_id = NULL;
        self->query.filter.tags = NULL;
    }
    if (!self || s_copy_filter (self, &query->filter)) {
        zjob_listing_destroy (&self);
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory listing jobs");
        return NULL;
    }
    self->limit = query->limit ? query->limit : ZJOB_LIST_LIMIT_MAX;
    self->keep = query->offset > SIZE_MAX - self->limit ? SIZE_MAX : query->offset + self->limit;
    self->mode = query->sort_by == ZJOB_SORT_CREATED ? S_PAGE
        : self->keep <= S_HEAP_KEEP                  ? S_HEAP
                                                     : S_COLLECT;
    return self;
}

void
zjob_listing_destroy (zjob_listing_t **self_p)
{
    assert (self_p);
    zjob_listing_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; index < self->count; index++)
        zjob_job_destroy (&self->entries [index].job);
    free (self->entries);
    for (size_t index = 0; index < self->page_count; index++)
        zjob_job_destroy (&self->page [index]);
    free (self->page);
    free (self->workflow_id);
    free (self->user_id);
    for (int i = 0; i < 3; i++)
        free (self->extra [i]);
    for (size_t index = 0; self->tags && index < self->query.filter.tag_count; index++)
        free (self->tags [index]);
    free (self->tags);
    free (self);
    *self_p = NULL;
}

int
zjob_listing_step (zjob_listing_t *self, zjob_store_t *store, size_t max, zjob_error_t *err)
{
    assert (self && store);
    if (max == 0)
        max = 1;
    if (self->state == S_WALKING) {
        zjob_store_visit_fn *visit = self->mode == S_PAGE ? s_visit_page
            : self->mode == S_HEAP                        ? s_visit_heap
                                                          : s_visit_collect;
        //  `created` walks in the page's direction; a sort key, forwards,
        //  so that the walk's rank orders ties by id
        bool backwards = self->mode == S_PAGE && self->query.descending;
        if (self->mode == S_COLLECT && self->max == 0) {
            //  Room for every job now: a doubling realloc of a large
            //  collection took 33 ms in one step (copying, and faulting
            //  in the new pages); untouched, these pages fault in a few
            //  at a time, as the steps fill them
            size_t room = zjob_store_count (store) + 64;
            self->entries = (s_entry_t *) malloc (room * sizeof (s_entry_t));
            if (!self->entries)
                return zjob_error_set (err, ZJOB_INTERNAL, "out of memory listing jobs");
            self->max = room;
        }
        int done = zjob_store_walk (store, &self->query.filter, backwards, self->cursor, max,
                                    visit, self);
        if (self->failed)
            return zjob_error_set (err, ZJOB_INTERNAL, "out of memory listing jobs");
        if (!done)
            return 0;
        if (self->mode == S_PAGE) {
            //  The entries are the page, in order
            self->page = (zjob_job_t **) calloc (self->count ? self->count : 1,
                                                 sizeof (zjob_job_t *));
            if (!self->page)
                return zjob_error_set (err, ZJOB_INTERNAL, "out of memory listing jobs");
            for (size_t index = 0; index < self->count; index++) {
                self->page [index] = self->entries [index].job;
                self->entries [index].job = NULL;
            }
            self->page_count = self->count;
            self->state = S_READY;
            return 1;
        }
        //  The selection is a step of its own: it may take a few ms
        self->state = S_SELECTING;
        return 0;
    }
    if (self->state == S_SELECTING) {
        if (s_select (self))
            return zjob_error_set (err, ZJOB_INTERNAL, "out of memory listing jobs");
        self->state = S_RELEASING;
    }
    if (self->state == S_RELEASING) {
        //  What the heap kept is few: released at once
        if (!s_release (self, self->mode == S_HEAP ? SIZE_MAX : max))
            return 0;
        self->state = S_READY;
    }
    return 1;
}

int
zjob_listing_take (zjob_listing_t *self, zjob_job_t ***jobs_p, size_t *count_p,
                   size_t *total_p, zjob_error_t *err)
{
    assert (self && jobs_p && count_p);
    if (self->state != S_READY)
        return zjob_error_set (err, ZJOB_INTERNAL, "listing: no page to take");
    *jobs_p = self->page;
    *count_p = self->page_count;
    if (total_p)
        *total_p = self->total;
    self->page = NULL;
    self->page_count = 0;
    self->state = S_TAKEN;
    return 0;
}

int
zjob_listing_page (zjob_store_t *store, const zjob_query_t *query,
                   zjob_job_t ***jobs_p, size_t *count_p, size_t *total_p,
                   zjob_error_t *err)
{
    assert (store && jobs_p && count_p);
    *jobs_p = NULL;
    *count_p = 0;
    if (total_p)
        *total_p = 0;
    zjob_listing_t *self = zjob_listing_new (query, err);
    if (!self)
        return -1;
    int rc;
    while ((rc = zjob_listing_step (self, store, SIZE_MAX, err)) == 0)
        ;
    if (rc > 0)
        rc = zjob_listing_take (self, jobs_p, count_p, total_p, err);
    zjob_listing_destroy (&self);
    return rc > 0 ? 0 : rc;
}
