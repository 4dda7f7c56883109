/*  =========================================================================
    zjob_listing - LIST: the jobs a query matches, sorted and paged

    A page is selected, not the whole store sorted: the jobs the filter
    matches are visited once, in id order (zjob_store_walk), and only what
    the page needs is kept. The order is total (the sort key, then the
    id), so a page is exactly that of a full sort and paging is stable.
    The sort `created` is creation order: the id, which is time-sortable.

    A listing is a resumable operation, so that a LIST over a million jobs
    never holds the broker's loop: each zjob_listing_step examines a
    bounded number of jobs, and the owner runs one step per loop pass
    until it returns 1. Between steps the store may change: a job that
    matches for the whole listing appears once, in the place its sort key
    had when it was visited; a job on the page is returned as it is when
    the page is taken. The listing reads the store only.
    ========================================================================= */

#ifndef ZJOB_LISTING_H_INCLUDED
#define ZJOB_LISTING_H_INCLUDED

#include "zjob_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zjob_listing_t zjob_listing_t;

//  A listing of query (NULL: the defaults), which it copies: validates
//  the query (limit, sort key, filter). NULL with err filled if invalid
//  (ZJOB_BAD_REQUEST) or out of memory (ZJOB_INTERNAL).
zjob_listing_t *
zjob_listing_new (const zjob_query_t *query, zjob_error_t *err);

//  Destroy the listing and the references it holds. Accepts NULL; sets
//  *self_p to NULL.
void
zjob_listing_destroy (zjob_listing_t **self_p);

//  One step over store, always the same store: at most about max jobs
//  examined (or max references released, or one final selection). 1 when
//  the page is ready, 0 if more steps are needed, -1 with err filled
//  (out of memory). After 1, further steps return 1 and do nothing.
int
zjob_listing_step (zjob_listing_t *self, zjob_store_t *store, size_t max, zjob_error_t *err);

//  The page, once a step returned 1: *jobs_p becomes an array of
//  *count_p references (free each, then the array with free; never NULL)
//  that the caller now owns, and *total_p (if not NULL) the number of
//  jobs matching before paging. 0, or -1 with err filled (not ready, or
//  taken already).
int
zjob_listing_take (zjob_listing_t *self, zjob_job_t ***jobs_p, size_t *count_p,
                   size_t *total_p, zjob_error_t *err);

//  The page of store's jobs that query asks for, in one call however many
//  jobs there are (tests, tools, and stores too small to need steps):
//  new, steps until done, take. Same contract as zjob_listing_take, and
//  -1 with err filled for an invalid query.
int
zjob_listing_page (zjob_store_t *store, const zjob_query_t *query,
                   zjob_job_t ***jobs_p, size_t *count_p, size_t *total_p,
                   zjob_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
