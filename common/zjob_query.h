/*  =========================================================================
    zjob_query - which jobs a list, a cleanup or a bulk operation applies to

    A filter is a conjunction: a job matches when it passes every criterion
    that is set (a zero or NULL criterion is "any"). The same struct is
    pushed down to a store's iterate (a SQL store can turn it into a WHERE
    clause), evaluated in memory by zjob_filter_match, and carried on the
    wire. Sorting and paging sit on top, in zjob_query_t.
    ========================================================================= */

#ifndef ZJOB_QUERY_H_INCLUDED
#define ZJOB_QUERY_H_INCLUDED

#include "zjob_export.h"
#include "zjob_job.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_LIST_LIMIT_MAX 10000  //  jobs in one list page at most

//  The scheduled criterion. A job is "scheduled" when it is queued and
//  its run_at is after now: it waits for its time, not for a worker. NO
//  is every other job, so status [queued] with NO lists the ready ones.
typedef enum {
    ZJOB_SCHEDULED_ANY = 0,  //  Not a criterion
    ZJOB_SCHEDULED_YES,      //  Queued, run_at after now
    ZJOB_SCHEDULED_NO        //  Any job not waiting for its run_at
} zjob_scheduled_t;

typedef struct {
    uint32_t status_mask;     //  Bit (1 << status) per status; 0 = any
    const char *workflow_id;  //  NULL = any
    const char *user_id;      //  NULL = any
    const char *const *tags;  //  Job must carry all of these
    size_t tag_count;
    int64_t created_after;       //  ms UTC, exclusive; 0 = unbounded
    int64_t created_before;      //  ms UTC, exclusive; 0 = unbounded
    zjob_scheduled_t scheduled;  //  ZJOB_SCHEDULED_ANY = either
    int64_t now;                 //  ms UTC that scheduled compares run_at
                                 //  with; 0 = the clock at each match
    //  Workflows (0.4.0, appended)
    const char *batch_id;     //  Jobs of that batch; NULL = any
    const char *waiting_on;   //  Jobs listing that job id among their
                              //  parents; NULL = any
    const char *schedule_id;  //  Jobs that schedule made; NULL = any
} zjob_filter_t;

typedef enum {
    ZJOB_SORT_CREATED = 0,  //  The default; ties broken by id
    ZJOB_SORT_UPDATED,
    ZJOB_SORT_PRIORITY,  //  By rank, not by name
    ZJOB_SORT_STATUS
} zjob_sort_t;

typedef struct {
    zjob_filter_t filter;
    zjob_sort_t sort_by;
    bool descending;  //  Default ascending
    size_t limit;     //  0 = ZJOB_LIST_LIMIT_MAX
    size_t offset;    //  Jobs to skip after sorting
} zjob_query_t;

//  True if job passes every criterion of filter (a NULL filter matches all).
//  scheduled compares run_at with filter->now, or with the clock if now
//  is 0: a caller that matches many jobs sets now once, so they all see
//  the same instant (and a test can choose it).
ZJOB_EXPORT bool
zjob_filter_match (const zjob_filter_t *filter, const zjob_job_t *job);

//  True if job is scheduled at now (ms UTC): queued, with run_at after now.
ZJOB_EXPORT bool
zjob_job_scheduled (const zjob_job_t *job, int64_t now);

//  Validate filter fields (names within limits, a status mask within the
//  known statuses, a known scheduled value, a time not negative). Returns
//  0 or -1 with err filled (ZJOB_BAD_REQUEST).
ZJOB_EXPORT int
zjob_filter_validate (const zjob_filter_t *filter, zjob_error_t *err);

//  qsort-style comparison of two jobs by sort_by then id (created: by id
//  alone, the creation order); descending flips.
ZJOB_EXPORT int
zjob_job_compare (const zjob_job_t *a, const zjob_job_t *b, zjob_sort_t sort_by, bool descending);

//  Names for zjob_sort_t ("created", "updated", "priority", "status").
ZJOB_EXPORT const char *
zjob_sort_name (zjob_sort_t sort);
ZJOB_EXPORT int
zjob_sort_parse (const char *name);

#ifdef __cplusplus
}
#endif

#endif
