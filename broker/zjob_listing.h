/*  =========================================================================
    zjob_listing - LIST: the jobs a query matches, sorted and paged

    A page is selected, not the whole store sorted: the jobs the filter
    matches are visited once (zjob_store_iterate) and only the ones that
    can be on the page are kept. The order is total (the sort key, then
    the id), so a page is exactly that of a full sort and paging is
    stable. The listing reads the store only; it changes nothing.
    ========================================================================= */

#ifndef ZJOB_LISTING_H_INCLUDED
#define ZJOB_LISTING_H_INCLUDED

#include "zjob_store.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The page of store's jobs that query asks for (NULL: the defaults):
//  validates the query (limit, sort key, filter), then *jobs_p becomes an
//  array of *count_p new references (free each, then the array with free;
//  never NULL on success) and *total_p (if not NULL) the number matching
//  before paging. Returns 0, or -1 with err filled.
int
zjob_listing_page (zjob_store_t *store, const zjob_query_t *query,
                   zjob_job_t ***jobs_p, size_t *count_p, size_t *total_p,
                   zjob_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
