/*  =========================================================================
    zjob_query - which jobs a list, a cleanup or a bulk operation applies to

    Matching is evaluated cheapest first (status bit, times, then string
    compares, then tags, then scheduled, which may read the clock), since
    a store scans every job with it. "Scheduled" depends on when it is
    asked, so the filter carries its own now: the caller fixes the instant
    (one for a whole scan, any for a test), or leaves 0 for the clock. The filter
    borrows its strings; validation refuses what can never name a job
    (a bad name, an unknown status bit) so a typo is an error, not an
    empty list.

    Sorting compares one key and breaks ties by id. Ids grow with creation
    time, so every sort is total and stable across calls: paging with
    offset and limit over the same jobs never repeats or skips one.
    Descending reverses the whole order, tie-break included.
    ========================================================================= */

#include <string.h>
#include <strings.h>
#include "zjob_query.h"
#include "zjob_job_impl.h"

#define STATUS_MASK_ALL ((1u << ZJOB_STATUS_COUNT) - 1)

static bool
s_streq_or_null (const char *want, const char *have)
{
    return !want || (have && strcmp (want, have) == 0);
}

//  The workflow criteria, on the job's extra block (none: no match)
static bool
s_match_extra (const zjob_filter_t *filter, const zjob_job_t *job)
{
    const zjob_extra_t *extra = job->extra;
    if (!extra || !s_streq_or_null (filter->batch_id, extra->batch_id)
        || !s_streq_or_null (filter->schedule_id, extra->schedule_id))
        return false;
    if (!filter->waiting_on)
        return true;
    for (uint16_t i = 0; i < extra->parent_count; i++)
        if (strcmp (filter->waiting_on, extra->parents [i]) == 0)
            return true;
    return false;
}

bool
zjob_filter_match (const zjob_filter_t *filter, const zjob_job_t *job)
{
    if (!filter)
        return true;
    if (filter->status_mask && !(filter->status_mask & (1u << job->status)))
        return false;
    if (filter->created_after && job->created_at <= filter->created_after)
        return false;
    if (filter->created_before && job->created_at >= filter->created_before)
        return false;
    if (filter->workflow_id && strcmp (filter->workflow_id, job->workflow_id) != 0)
        return false;
    if (filter->user_id
        && (!job->user_id || strcmp (filter->user_id, job->user_id) != 0))
        return false;
    if (filter->tag_count && filter->tags
        && !zjob_job_has_tags (job, filter->tags, filter->tag_count))
        return false;
    if ((filter->batch_id || filter->waiting_on || filter->schedule_id)
        && !s_match_extra (filter, job))
        return false;
    if (filter->scheduled != ZJOB_SCHEDULED_ANY) {
        //  Only a queued job with a run_at can be scheduled: the clock is
        //  read for those alone
        bool scheduled = job->status == ZJOB_QUEUED && job->run_at > 0
            && zjob_job_scheduled (job, filter->now ? filter->now : zjob_clock_ms ());
        if (scheduled != (filter->scheduled == ZJOB_SCHEDULED_YES))
            return false;
    }
    return true;
}

bool
zjob_job_scheduled (const zjob_job_t *job, int64_t now)
{
    return job->status == ZJOB_QUEUED && job->run_at > now;
}

int
zjob_filter_validate (const zjob_filter_t *filter, zjob_error_t *err)
{
    if (!filter)
        return 0;
    if (filter->status_mask & ~STATUS_MASK_ALL)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "status: mask 0x%x has unknown statuses",
                               (unsigned) filter->status_mask);
    if (filter->workflow_id && !zjob_name_valid (filter->workflow_id))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "workflow_id: not a valid name");
    if (filter->user_id && !zjob_name_valid (filter->user_id))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "user_id: not a valid name");
    if (filter->tag_count > ZJOB_TAGS_MAX)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "tags: more than %d", ZJOB_TAGS_MAX);
    if (filter->tag_count && !filter->tags)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "tags: no array for %zu tags",
                               filter->tag_count);
    for (size_t i = 0; i < filter->tag_count; i++)
        if (!zjob_name_valid (filter->tags [i]))
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "tags[%zu]: not a valid name", i);
    if (filter->created_after < 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "created_after: negative");
    if (filter->created_before < 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "created_before: negative");
    if ((unsigned) filter->scheduled > ZJOB_SCHEDULED_NO)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "scheduled: %d is not a choice",
                               (int) filter->scheduled);
    if (filter->now < 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "now: negative");
    if (filter->batch_id && !zjob_name_valid (filter->batch_id))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "batch_id: not a valid name");
    if (filter->schedule_id && !zjob_name_valid (filter->schedule_id))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "schedule_id: not a valid name");
    if (filter->waiting_on && !zjob_id_valid (filter->waiting_on))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "waiting_on: not a job id");
    return 0;
}

static int
s_compare_i64 (int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

int
zjob_job_compare (const zjob_job_t *a, const zjob_job_t *b, zjob_sort_t sort_by, bool descending)
{
    int rc;
    switch (sort_by) {
        case ZJOB_SORT_UPDATED:
            rc = s_compare_i64 (a->updated_at, b->updated_at);
            break;
        case ZJOB_SORT_PRIORITY:
            rc = (int) a->priority - (int) b->priority;
            break;
        case ZJOB_SORT_STATUS:
            rc = (int) a->status - (int) b->status;
            break;
        case ZJOB_SORT_CREATED:
        default:
            //  Creation order is the id's order (it begins with the time
            //  of creation and never goes back within a broker), which is
            //  the order the broker's index walks (PROTOCOL.md 9.4)
            rc = 0;
            break;
    }
    if (rc == 0)
        rc = strcmp (a->id, b->id);
    rc = (rc > 0) - (rc < 0);
    return descending ? -rc : rc;
}

static const char *s_sort_names [] = { "created", "updated", "priority", "status" };
#define SORT_COUNT (int) (sizeof (s_sort_names) / sizeof (s_sort_names [0]))

const char *
zjob_sort_name (zjob_sort_t sort)
{
    return (unsigned) sort < SORT_COUNT ? s_sort_names [sort] : "unknown";
}

int
zjob_sort_parse (const char *name)
{
    if (name)
        for (int i = 0; i < SORT_COUNT; i++)
            if (strcasecmp (s_sort_names [i], name) == 0)
                return i;
    return -1;
}
