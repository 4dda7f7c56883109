/*  =========================================================================
    test_zjob_broker_bulk - an operation by filter over many jobs runs in
    steps

    A broker actor over a file store that a manager filled beforehand,
    with the bulk step lowered (zjob_clients_set_bulk_step) to a loop pass
    per job: a PING sent right after a CANCEL (or a RETRY) by filter over
    thousands of jobs is answered before that operation's OK, the OK
    counts every job, and the jobs end as the operations left them; a
    DELETE by filter then removes every job.
    ========================================================================= */

#include "test_zjob_broker.h"
#include "zjob_clients.h"

#define S_BULK_JOBS 3000  //  Queued jobs in the store

static char *s_dir = NULL;

//  Fill a file store with queued jobs, start a broker on it
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
    for (int index = 0; index < S_BULK_JOBS; index++) {
        zjob_spec_t job_spec;
        memset (&job_spec, 0, sizeof (job_spec));
        job_spec.workflow_id = "bulk";
        zjob_job_t *job = zjob_manager_create (manager, &job_spec, true, &err);
        cr_assert_not_null (job, "%s", err.text);
        zjob_job_destroy (&job);
    }
    zjob_manager_destroy (&manager);
    zjob_clients_set_bulk_step (1);  //  A loop pass per job
    s_start ("store", spec, NULL);
}

static void
s_stop_over_jobs (void)
{
    s_stop ();
    zjob_clients_set_bulk_step (0);
    zjob_test_rmtree (s_dir);
    free (s_dir);
    s_dir = NULL;
}

//  Send what s_builder holds on client; returns its request id
static uint64_t
s_send_built (zsock_t *client)
{
    zjob_error_t err;
    size_t size;
    const uint8_t *data = zjob_msg_end_data (s_builder, &size, &err);
    cr_assert_not_null (data, "%s", err.text);
    zframe_t *frame = zframe_new (data, size);
    cr_assert_eq (zjob_test_send (client, &frame), 0);
    return s_request;
}

//  Jobs in status (a LIST's total)
static uint64_t
s_count_in (zsock_t *client, zjob_status_t status)
{
    zjob_query_t query;
    memset (&query, 0, sizeof (query));
    query.filter.status_mask = 1u << status;
    query.limit = 1;
    zjob_msg_begin (s_builder, ZJOB_CMD_LIST, ++s_request);
    zjob_msg_add_query (s_builder, &query);
    zjob_msg_t *reply = s_call (client);
    zjob_error_t err;
    cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_LIST, &err), 0, "%s", err.text);
    uint64_t total = zjob_msg_uint (reply, "total", 99999);
    zjob_msg_destroy (&reply);
    return total;
}


//  --------------------------------------------------------------------------

Test (broker_bulk, a_ping_after_a_bulk_by_filter_is_answered_first, .timeout = 120)
{
    s_start_over_jobs ();
    zsock_t *client = zjob_test_dealer (s_clients);
    zjob_msg_begin (s_builder, ZJOB_CMD_PING, ++s_request);
    zjob_msg_destroy (&(zjob_msg_t *){ s_call (client) });
    //  CANCEL every queued job, then RETRY them all, and so on: each over
    //  S_BULK_JOBS passes. The PING is answered first once it reaches the
    //  broker while the operation runs; a test process descheduled for
    //  all of its passes could send it too late, so a few tries, one is
    //  enough. Before bulk operations had steps, it could never be first.
    bool ping_first = false;
    int attempt = 0;
    for (; attempt < 6 && !ping_first; attempt++) {
        bool cancel = attempt % 2 == 0;
        zjob_filter_t filter = { .status_mask = 1u << (cancel ? ZJOB_QUEUED : ZJOB_CANCELLED) };
        zjob_target_t target = { .filter = &filter };
        zjob_msg_begin (s_builder, cancel ? ZJOB_CMD_CANCEL : ZJOB_CMD_RETRY, ++s_request);
        zjob_msg_add_target (s_builder, &target);
        uint64_t bulk = s_send_built (client);
        zjob_msg_begin (s_builder, ZJOB_CMD_PING, ++s_request);
        uint64_t ping = s_send_built (client);
        for (int reply = 0; reply < 2; reply++) {
            zjob_msg_t *next = zjob_test_recv (client, ZJOB_ROUTE_BROKER_CLIENT, S_WAIT);
            cr_assert_not_null (next, "a reply is missing");
            cr_assert_eq (zjob_msg_command (next), ZJOB_CMD_OK);
            if (zjob_msg_request_id (next) == ping)
                ping_first |= reply == 0;
            else {
                cr_assert_eq (zjob_msg_request_id (next), bulk);
                cr_assert_eq (zjob_msg_uint (next, "done", 0), S_BULK_JOBS, "every job, once");
                cr_assert_eq (zjob_msg_uint (next, "failed", 9), 0);
            }
            zjob_msg_destroy (&next);
        }
    }
    cr_assert (ping_first, "the operation was answered before the PING, every time");
    //  The last operation's end state
    bool cancelled = (attempt - 1) % 2 == 0;
    cr_assert_eq (s_count_in (client, cancelled ? ZJOB_CANCELLED : ZJOB_QUEUED), S_BULK_JOBS);
    cr_assert_eq (s_count_in (client, cancelled ? ZJOB_QUEUED : ZJOB_CANCELLED), 0);

    //  DELETE by filter, in a pass per job: every job goes
    zjob_filter_t every = { .workflow_id = "bulk" };
    zjob_target_t target = { .filter = &every };
    zjob_msg_begin (s_builder, ZJOB_CMD_DELETE, ++s_request);
    zjob_msg_add_target (s_builder, &target);
    zjob_msg_t *reply = s_call (client);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    cr_assert_eq (zjob_msg_uint (reply, "done", 0), S_BULK_JOBS);
    zjob_msg_destroy (&reply);
    cr_assert_eq (s_count_in (client, cancelled ? ZJOB_CANCELLED : ZJOB_QUEUED), 0);
    zsock_destroy (&client);
    s_stop_over_jobs ();
}
