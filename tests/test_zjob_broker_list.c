/*  =========================================================================
    test_zjob_broker_list - a LIST over many jobs runs in steps

    A broker actor over a file store that a manager filled beforehand, with
    the LIST step lowered (zjob_clients_set_list_step) so that a few
    thousand jobs take many loop passes: a PING sent right after a LIST is
    answered before it, every page equals that of a full sort of the jobs
    (a reference the test sorts itself), for each key, both orders, shallow
    and deep offsets, and a LIST during which other clients delete and
    submit jobs still lists once, in order, every job that stayed.
    ========================================================================= */

#include "test_zjob_broker.h"
#include "zjob_clients.h"

#define S_LIST_JOBS 6000  //  Jobs in the store: deep pages (past 4096) too
#define S_LIST_STEP 50    //  Jobs a LIST step examines here

static zjob_job_t *s_jobs [S_LIST_JOBS];  //  The jobs as the manager left them
static char *s_dir = NULL;

//  Fill a file store with jobs of mixed priorities, statuses and update
//  times (many equal: ties broken by id), keep them, start a broker on it
static void
s_start_over_jobs (void)
{
    s_dir = zjob_test_tmpdir ();
    cr_assert_not_null (s_dir);
    char spec [600];
    snprintf (spec, sizeof (spec), "file:%s?fsync=never", s_dir);
    zjob_error_t err = { 0, "" };
    zjob_manager_t *manager = zjob_manager_open (spec, NULL, &err);
    cr_assert_not_null (manager, "%s", err.text);
    static const char *workflows [] = { "a", "b", "c" };
    for (int index = 0; index < S_LIST_JOBS; index++) {
        zjob_spec_t job_spec;
        memset (&job_spec, 0, sizeof (job_spec));
        job_spec.workflow_id = workflows [index % 3];
        job_spec.priority = (zjob_priority_t) ((index * 7) % ZJOB_PRIORITY_COUNT);
        zjob_job_t *job = zjob_manager_create (manager, &job_spec, index % 5 == 1, &err);
        cr_assert_not_null (job, "%s", err.text);
        if (index % 4 == 2)
            cr_assert_eq (zjob_manager_cancel (manager, job->id, &err), 0, "%s", err.text);
        zjob_job_destroy (&job);
    }
    //  The jobs as stored, read back once the manager is done with them
    zjob_query_t all;
    memset (&all, 0, sizeof (all));
    all.limit = ZJOB_LIST_LIMIT_MAX;
    zjob_job_t **jobs;
    size_t count, total;
    cr_assert_eq (zjob_manager_list (manager, &all, &jobs, &count, &total, &err), 0);
    cr_assert_eq (count, S_LIST_JOBS);
    memcpy (s_jobs, jobs, sizeof (s_jobs));
    free (jobs);
    zjob_manager_destroy (&manager);
    zjob_clients_set_list_step (S_LIST_STEP);
    s_start ("store", spec, NULL);
}

static void
s_stop_over_jobs (void)
{
    s_stop ();
    zjob_clients_set_list_step (0);
    for (int index = 0; index < S_LIST_JOBS; index++)
        zjob_job_destroy (&s_jobs [index]);
    zjob_test_rmtree (s_dir);
    free (s_dir);
    s_dir = NULL;
}

//  The reference order: `created` is the id; another key, then the id
static const zjob_query_t *s_ref_query;

static int
s_ref_compare (const void *a, const void *b)
{
    const zjob_job_t *x = *(zjob_job_t *const *) a, *y = *(zjob_job_t *const *) b;
    if (s_ref_query->sort_by != ZJOB_SORT_CREATED)
        return zjob_job_compare (x, y, s_ref_query->sort_by, s_ref_query->descending);
    int rc = strcmp (x->id, y->id);
    return s_ref_query->descending ? -rc : rc;
}

//  Send a LIST of query on client; returns its request id
static uint64_t
s_send_list (zsock_t *client, const zjob_query_t *query)
{
    zjob_msg_begin (s_builder, ZJOB_CMD_LIST, ++s_request);
    zjob_msg_add_query (s_builder, query);
    zjob_error_t err;
    size_t size;
    const uint8_t *data = zjob_msg_end_data (s_builder, &size, &err);
    cr_assert_not_null (data, "%s", err.text);
    zframe_t *frame = zframe_new (data, size);
    cr_assert_eq (zjob_test_send (client, &frame), 0);
    return s_request;
}

//  The jobs of a LIST's reply (an array of references, *count_p of them)
static zjob_job_t **
s_reply_jobs (zjob_msg_t *reply, size_t *count_p)
{
    zjob_error_t err;
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_LIST, &err), 0, "%s", err.text);
    zjob_job_t **jobs = NULL;
    cr_assert_eq (zjob_msg_jobs (reply, "jobs", &jobs, count_p, &err), 0, "%s", err.text);
    return jobs;
}

static void
s_free_jobs (zjob_job_t **jobs, size_t count)
{
    for (size_t index = 0; index < count; index++)
        zjob_job_destroy (&jobs [index]);
    free (jobs);
}


//  --------------------------------------------------------------------------

Test (broker_list, a_ping_after_a_long_list_is_answered_first)
{
    s_start_over_jobs ();
    zjob_clients_set_list_step (1);  //  A loop pass per job: S_LIST_JOBS passes
    zsock_t *client = zjob_test_dealer (s_clients);
    zjob_msg_begin (s_builder, ZJOB_CMD_PING, ++s_request);
    zjob_msg_destroy (&(zjob_msg_t *){ s_call (client) });
    //  The PING is answered first once it reaches the broker while the
    //  LIST runs; a test process descheduled for all of the LIST's passes
    //  could send it too late, so a few tries, one is enough. Before LIST
    //  had steps, the PING could never come first.
    bool ping_first = false;
    for (int attempt = 0; attempt < 5 && !ping_first; attempt++) {
        zjob_query_t query;  //  The default: all, by creation
        memset (&query, 0, sizeof (query));
        uint64_t list = s_send_list (client, &query);
        zjob_msg_begin (s_builder, ZJOB_CMD_PING, ++s_request);
        uint64_t ping = s_request;
        size_t size;
        zjob_error_t err;
        const uint8_t *data = zjob_msg_end_data (s_builder, &size, &err);
        zframe_t *frame = zframe_new (data, size);
        cr_assert_eq (zjob_test_send (client, &frame), 0);
        for (int reply = 0; reply < 2; reply++) {
            zjob_msg_t *next = zjob_test_recv (client, ZJOB_ROUTE_BROKER_CLIENT, S_WAIT);
            cr_assert_not_null (next, "a reply is missing");
            if (zjob_msg_request_id (next) == ping)
                ping_first |= reply == 0;
            else {
                //  The LIST's, whole
                cr_assert_eq (zjob_msg_request_id (next), list);
                cr_assert_eq (zjob_msg_uint (next, "total", 0), S_LIST_JOBS);
                size_t count;
                zjob_job_t **jobs = s_reply_jobs (next, &count);
                cr_assert_eq (count, S_LIST_JOBS);
                s_free_jobs (jobs, count);
            }
            zjob_msg_destroy (&next);
        }
    }
    cr_assert (ping_first, "the LIST was answered before the PING, every time");
    zsock_destroy (&client);
    s_stop_over_jobs ();
}

Test (broker_list, stepped_pages_equal_a_full_sort, .timeout = 120)
{
    s_start_over_jobs ();
    zsock_t *client = zjob_test_dealer (s_clients);
    zjob_job_t **sorted = (zjob_job_t **) calloc (S_LIST_JOBS, sizeof (zjob_job_t *));
    cr_assert_not_null (sorted);
    const struct {
        size_t offset, limit;
    } pages [] = { { 0, 10 }, { 7, 1 }, { 1000, 300 }, { 4500, 100 }, { 5990, 50 }, { 2000, 0 }, { 9000, 5 } };
    zjob_filter_t filters [2];
    memset (filters, 0, sizeof (filters));
    filters [1].workflow_id = "b";
    for (int which = 0; which < 2; which++)
        for (int sort = ZJOB_SORT_CREATED; sort <= ZJOB_SORT_STATUS; sort++)
            for (int descending = 0; descending < 2; descending++) {
                zjob_query_t query;
                memset (&query, 0, sizeof (query));
                query.filter = filters [which];
                query.sort_by = (zjob_sort_t) sort;
                query.descending = descending;
                size_t matching = 0;
                for (int index = 0; index < S_LIST_JOBS; index++)
                    if (zjob_filter_match (&query.filter, s_jobs [index]))
                        sorted [matching++] = s_jobs [index];
                s_ref_query = &query;
                qsort (sorted, matching, sizeof (zjob_job_t *), s_ref_compare);
                for (size_t page = 0; page < sizeof (pages) / sizeof (pages [0]); page++) {
                    query.offset = pages [page].offset;
                    query.limit = pages [page].limit;
                    uint64_t list = s_send_list (client, &query);
                    zjob_msg_t *reply = zjob_test_recv (client, ZJOB_ROUTE_BROKER_CLIENT, S_WAIT);
                    cr_assert_not_null (reply);
                    cr_assert_eq (zjob_msg_request_id (reply), list);
                    cr_assert_eq (zjob_msg_uint (reply, "total", 0), matching);
                    size_t count;
                    zjob_job_t **jobs = s_reply_jobs (reply, &count);
                    size_t limit = query.limit ? query.limit : ZJOB_LIST_LIMIT_MAX;
                    size_t first = query.offset < matching ? query.offset : matching;
                    size_t expected = matching - first < limit ? matching - first : limit;
                    cr_assert_eq (count, expected, "%s %s offset %zu: %zu jobs, not %zu",
                                  zjob_sort_name (query.sort_by), descending ? "desc" : "asc",
                                  query.offset, count, expected);
                    for (size_t index = 0; index < count; index++)
                        cr_assert_str_eq (jobs [index]->id, sorted [first + index]->id,
                                          "%s %s filter %d offset %zu limit %zu: job %zu differs",
                                          zjob_sort_name (query.sort_by),
                                          descending ? "desc" : "asc", which, query.offset,
                                          query.limit, index);
                    s_free_jobs (jobs, count);
                    zjob_msg_destroy (&reply);
                }
            }
    free (sorted);
    zsock_destroy (&client);
    s_stop_over_jobs ();
}

//  The index in s_jobs of the job with id (s_jobs is in id order), or -1
static int
s_index_of (const char *id)
{
    int lo = 0, hi = S_LIST_JOBS;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int rc = strcmp (s_jobs [mid]->id, id);
        if (rc == 0)
            return mid;
        if (rc < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

//  Send what s_builder holds on client
static void
s_send_built (zsock_t *client)
{
    zjob_error_t err;
    size_t size;
    const uint8_t *data = zjob_msg_end_data (s_builder, &size, &err);
    cr_assert_not_null (data, "%s", err.text);
    zframe_t *frame = zframe_new (data, size);
    cr_assert_eq (zjob_test_send (client, &frame), 0);
}

//  While a LIST runs, the same client deletes and submits jobs (pipelined
//  behind it: they are applied, and answered, while the LIST is pending):
//  the LIST still has every job that stayed, once, in order
Test (broker_list, a_list_under_changes_has_every_job_that_stayed_once, .timeout = 120)
{
    s_start_over_jobs ();
    zjob_clients_set_list_step (1);  //  A pass per job: the changes land mid-walk
    zsock_t *client = zjob_test_dealer (s_clients);
    zjob_msg_begin (s_builder, ZJOB_CMD_PING, ++s_request);
    zjob_msg_destroy (&(zjob_msg_t *){ s_call (client) });
    static bool gone [S_LIST_JOBS];     //  Deleted in an earlier round
    static bool deleted [S_LIST_JOBS];  //  Deleted in this one
    for (int sort = ZJOB_SORT_CREATED; sort <= ZJOB_SORT_UPDATED; sort++) {
        zjob_query_t query;
        memset (&query, 0, sizeof (query));
        query.sort_by = (zjob_sort_t) sort;
        query.descending = sort == ZJOB_SORT_CREATED;
        uint64_t list = s_send_list (client, &query);
        //  Every 10th job deleted, as many submitted
        memset (deleted, 0, sizeof (deleted));
        size_t sent = 0;
        for (int index = sort; index < S_LIST_JOBS; index += 10) {
            zjob_msg_begin (s_builder, ZJOB_CMD_DELETE, ++s_request);
            zjob_msg_add_str (s_builder, "id", s_jobs [index]->id);
            s_send_built (client);
            deleted [index] = true;
            zjob_spec_t spec;
            memset (&spec, 0, sizeof (spec));
            spec.workflow_id = "new";
            zjob_msg_begin (s_builder, ZJOB_CMD_SUBMIT, ++s_request);
            zjob_msg_add_specs (s_builder, "jobs", &spec, 1);
            s_send_built (client);
            sent += 2;
        }
        //  Replies to changes came before the LIST's: it was pending then
        size_t before = 0;
        zjob_msg_t *reply = NULL;
        while (!reply) {
            zjob_msg_t *next = zjob_test_recv (client, ZJOB_ROUTE_BROKER_CLIENT, 30000);
            cr_assert_not_null (next, "a reply is missing");
            if (zjob_msg_request_id (next) == list)
                reply = next;
            else {
                cr_assert_eq (zjob_msg_command (next), ZJOB_CMD_OK);
                before++;
                zjob_msg_destroy (&next);
            }
        }
        cr_assert_gt (before, 10, "the LIST ended before the changes");
        size_t count;
        zjob_job_t **jobs = s_reply_jobs (reply, &count);
        //  Every job that stayed is there, once; those (unchanged) are in
        //  order. A deleted job may be there too, as it was when deleted.
        s_ref_query = &query;
        zjob_job_t *last = NULL;
        size_t stayed = 0;
        for (size_t at = 0; at < count; at++) {
            int index = s_index_of (jobs [at]->id);
            if (index < 0 || deleted [index] || gone [index])
                continue;
            if (last)
                cr_assert_lt (s_ref_compare (&last, &jobs [at]), 0, "%s: %s listed after %s",
                              zjob_sort_name (query.sort_by), jobs [at]->id, last->id);
            last = jobs [at];
            stayed++;
        }
        size_t expected = 0;
        for (int index = 0; index < S_LIST_JOBS; index++)
            expected += !deleted [index] && !gone [index];
        cr_assert_eq (stayed, expected, "%s: %zu of the %zu jobs that stayed listed",
                      zjob_sort_name (query.sort_by), stayed, expected);
        cr_assert_eq (zjob_msg_uint (reply, "total", 0), count);
        s_free_jobs (jobs, count);
        zjob_msg_destroy (&reply);
        //  The rest of the changes' replies
        for (; before < sent; before++) {
            zjob_msg_t *next = zjob_test_recv (client, ZJOB_ROUTE_BROKER_CLIENT, S_WAIT);
            cr_assert_not_null (next, "a reply is missing");
            cr_assert_eq (zjob_msg_command (next), ZJOB_CMD_OK);
            zjob_msg_destroy (&next);
        }
        for (int index = 0; index < S_LIST_JOBS; index++)
            gone [index] |= deleted [index];
    }
    zsock_destroy (&client);
    s_stop_over_jobs ();
}
