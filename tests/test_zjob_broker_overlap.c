/*  =========================================================================
    test_zjob_broker_overlap - the file store's fdatasync overlapped with passes

    The broker begins each pass's sync and goes on with the next pass while
    the file store's thread fdatasyncs (zjob_broker_writes.c). What a user
    counts on: nothing is acknowledged before the fdatasync that covers it
    (held fdatasyncs hold the replies; a failed one turns them into 503),
    replies keep their order, and a broker killed with fdatasyncs under way
    loses no job it acknowledged. The test hooks zjob_store_file_hold_fsyncs
    and zjob_store_file_fail_fsyncs stand for a slow and a failing disk.
    Helpers in test_zjob_broker.h.
    ========================================================================= */

#include "test_zjob_broker.h"
#include "zjob_store_file.h"
#include <signal.h>
#include <sys/wait.h>

//  Send a SUBMIT of one job of workflow to client, request id request_id
static void
s_send_submit (zsock_t *client, const char *workflow, uint64_t request_id)
{
    zjob_spec_t spec = { .workflow_id = workflow };
    zjob_msg_begin (s_builder, ZJOB_CMD_SUBMIT, request_id);
    zjob_msg_add_specs (s_builder, "jobs", &spec, 1);
    zframe_t *frame = zjob_msg_end (s_builder, NULL);
    cr_assert_eq (zjob_test_send (client, &frame), 0);
}

Test (overlap, a_held_fdatasync_holds_the_replies_and_a_failed_one_makes_them_503)
{
    char *dir = zjob_test_tmpdir ();
    char spec [600];
    snprintf (spec, sizeof spec, "file:%s?fsync=always", dir);
    s_start ("store", spec, NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    char *first = zjob_test_submit (client, "scan", NULL, NULL);
    cr_assert_not_null (first);

    //  A slow disk: the submits are applied and written, not acknowledged
    zjob_store_file_hold_fsyncs (true);
    enum { COUNT = 20 };
    for (uint64_t index = 1; index <= COUNT; index++)
        s_send_submit (client, "scan", 1000 + index);
    zjob_msg_t *early = zjob_test_recv (client, ZJOB_ROUTE_BROKER_CLIENT, 300);
    cr_assert_null (early, "a reply before the fdatasync that covers it");
    //  The disk fails it: every one is 503, in order, none acknowledged
    zjob_store_file_fail_fsyncs (true);
    zjob_store_file_hold_fsyncs (false);
    size_t not_committed = 0;
    char last [ZJOB_ERROR_TEXT_MAX] = "";
    for (uint64_t index = 1; index <= COUNT; index++) {
        zjob_msg_t *reply = zjob_test_recv (client, ZJOB_ROUTE_BROKER_CLIENT, S_WAIT);
        cr_assert_not_null (reply, "no reply to submit %" PRIu64, index);
        cr_assert_eq (zjob_msg_request_id (reply), 1000 + index, "replies out of order");
        zjob_error_t err;
        cr_assert_eq (zjob_msg_error (reply, &err), ZJOB_UNAVAILABLE,
                      "submit %" PRIu64 " acknowledged after a failed fdatasync", index);
        if (strncmp (err.text, "not committed: the store cannot write: ", 39) == 0
            && strstr (err.text, strerror (EIO)))
            not_committed++;
        snprintf (last, sizeof last, "%s", err.text);
        zjob_msg_destroy (&reply);
    }
    cr_assert_gt (not_committed, 0, "no reply names the failed fdatasync: %s", last);
    zjob_store_file_fail_fsyncs (false);
    //  The store rewrites its journal from memory and writes resume
    int64_t deadline = zclock_mono () + S_WAIT;
    char *after = NULL;
    while (!after && zclock_mono () < deadline) {
        zjob_spec_t one = { .workflow_id = "scan" };
        zjob_msg_begin (s_builder, ZJOB_CMD_SUBMIT, ++s_request);
        zjob_msg_add_specs (s_builder, "jobs", &one, 1);
        zjob_msg_t *reply = s_call (client);
        size_t count = 0;
        const char *const *ids = zjob_msg_strs (reply, "ids", &count);
        if (zjob_msg_command (reply) == ZJOB_CMD_OK && count == 1)
            after = strdup (ids [0]);
        else
            zclock_sleep (50);  //  Polling the broker's retry (every second)
        zjob_msg_destroy (&reply);
    }
    cr_assert_not_null (after, "writes did not resume after the disk came back");
    zsock_destroy (&client);
    s_stop ();
    //  What was acknowledged is on disk
    zjob_error_t err;
    zjob_store_t *store = zjob_store_open (spec, &err);
    cr_assert_not_null (store, "%s", err.text);
    zjob_job_t *job = zjob_store_get (store, first);
    cr_assert_not_null (job, "acknowledged job lost");
    zjob_job_destroy (&job);
    job = zjob_store_get (store, after);
    cr_assert_not_null (job, "acknowledged job lost");
    zjob_job_destroy (&job);
    zjob_store_destroy (&store);
    zstr_free (&first);
    free (after);
    zjob_test_tmpdir_done (&dir);
}

Test (overlap, replies_keep_their_order_while_syncs_overlap)
{
    char *dir = zjob_test_tmpdir ();
    char spec [600];
    snprintf (spec, sizeof spec, "file:%s?fsync=always", dir);
    s_start ("store", spec, NULL);
    zsock_t *client = zjob_test_dealer (s_clients);
    char *first = zjob_test_submit (client, "scan", NULL, NULL);
    cr_assert_not_null (first);
    //  Writes and reads pipelined, 64 in flight: a read answered in a
    //  pass after a write's must not overtake the write's OK
    enum { COUNT = 3000,
           WINDOW = 64 };
    uint64_t sent = 0, received = 0;
    while (received < COUNT) {
        while (sent < COUNT && sent - received < WINDOW) {
            sent++;
            if (sent % 3 == 0) {
                zjob_msg_begin (s_builder, ZJOB_CMD_GET, sent);
                zjob_msg_add_str (s_builder, "id", first);
                zframe_t *frame = zjob_msg_end (s_builder, NULL);
                cr_assert_eq (zjob_test_send (client, &frame), 0);
            }
            else
                s_send_submit (client, "scan", sent);
        }
        zjob_msg_t *reply = zjob_test_recv (client, ZJOB_ROUTE_BROKER_CLIENT, S_WAIT);
        cr_assert_not_null (reply, "no reply to request %" PRIu64, received + 1);
        cr_assert_eq (zjob_msg_request_id (reply), received + 1, "replies out of order");
        cr_assert_eq (s_code (reply), 200);
        zjob_msg_destroy (&reply);
        received++;
    }
    zsock_destroy (&client);
    s_stop ();
    zstr_free (&first);
    zjob_test_tmpdir_done (&dir);
}


//  --------------------------------------------------------------------------
//  kill -9 with fdatasyncs under way

static void
s_hold (int signal)
{
    (void) signal;
    zjob_store_file_hold_fsyncs (true);
}

//  The child: a broker on spec; its clients endpoint goes to report;
//  SIGUSR1 holds its fdatasyncs (a disk that stops answering). Never returns
static void
s_broker_child (const char *spec, int report)
{
    signal (SIGUSR1, s_hold);
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    zjob_error_t err;
    if (zjob_broker_config_set (&config, "clients", "tcp://127.0.0.1:*", &err)
        || zjob_broker_config_set (&config, "workers", "tcp://127.0.0.1:*", &err)
        || zjob_broker_config_set (&config, "events", "tcp://127.0.0.1:*", &err)
        || zjob_broker_config_set (&config, "store", spec, &err)
        || zjob_broker_config_set (&config, "log-level", "error", &err))
        _exit (2);
    zactor_t *broker = zjob_broker_new (&config, &err);
    char *clients = NULL;
    if (!broker || zjob_broker_endpoints (broker, &clients, NULL, NULL))
        _exit (3);
    char line [256];
    snprintf (line, sizeof line, "%s", clients);
    if (write (report, line, sizeof line) != sizeof line)
        _exit (4);
    while (true)
        pause ();
}

Test (overlap, killed_with_fdatasyncs_under_way_loses_no_acknowledged_job, .timeout = 60)
{
    char *dir = zjob_test_tmpdir ();
    char spec [600];
    snprintf (spec, sizeof spec, "file:%s?fsync=always", dir);
    int report [2];
    cr_assert_eq (pipe (report), 0);
    pid_t pid = fork ();
    cr_assert_geq (pid, 0);
    if (pid == 0) {
        close (report [0]);
        s_broker_child (spec, report [1]);
    }
    close (report [1]);
    char clients [256];
    cr_assert_eq (read (report [0], clients, sizeof clients), (ssize_t) sizeof clients,
                  "the broker child did not start");
    close (report [0]);
    if (!s_builder)
        s_builder = zjob_msg_builder_new ();

    //  Pipelined submits, 64 in flight, for 300 ms; then the disk stops
    //  answering while 64 more are written, and the broker is killed
    zsock_t *client = zjob_test_dealer (clients);
    enum { MAX_JOBS = 100000,
           WINDOW = 64 };
    char (*acked) [ZJOB_ID_LEN + 1] = calloc (MAX_JOBS, ZJOB_ID_LEN + 1);
    size_t acked_count = 0, sent = 0, in_flight = 0;
    int64_t hold_at = zclock_mono () + 300;
    bool held = false;
    while (in_flight || !held) {
        if (!held && zclock_mono () >= hold_at) {
            cr_assert_eq (kill (pid, SIGUSR1), 0);
            held = true;
        }
        while (in_flight < WINDOW && sent < MAX_JOBS && (!held || in_flight < WINDOW)) {
            s_send_submit (client, "load", ++sent);
            in_flight++;
        }
        zjob_msg_t *reply = zjob_test_recv (client, ZJOB_ROUTE_BROKER_CLIENT, held ? 500 : S_WAIT);
        if (!reply) {
            cr_assert (held, "no reply under load");
            break;  //  The held fdatasyncs hold the rest
        }
        in_flight--;
        size_t count = 0;
        const char *const *ids = zjob_msg_strs (reply, "ids", &count);
        if (zjob_msg_command (reply) == ZJOB_CMD_OK && count == 1)
            snprintf (acked [acked_count++], ZJOB_ID_LEN + 1, "%s", ids [0]);
        zjob_msg_destroy (&reply);
    }
    cr_assert_gt (acked_count, 100, "only %zu jobs acknowledged", acked_count);
    cr_assert_gt (in_flight, 0, "nothing was left under way at the crash");
    cr_log_info ("%zu acknowledged, %zu written and unacknowledged at the crash", acked_count,
                 in_flight);
    cr_assert_eq (kill (pid, SIGKILL), 0);
    int status;
    cr_assert_eq (waitpid (pid, &status, 0), pid);
    cr_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
    zsock_destroy (&client);

    //  Reopened: every acknowledged job is there
    zjob_error_t err;
    zjob_store_t *store = zjob_store_open (spec, &err);
    cr_assert_not_null (store, "%s", err.text);
    for (size_t index = 0; index < acked_count; index++) {
        zjob_job_t *job = zjob_store_get (store, acked [index]);
        cr_assert_not_null (job, "acknowledged job %s lost", acked [index]);
        zjob_job_destroy (&job);
    }
    zjob_store_destroy (&store);
    free (acked);
    zjob_test_tmpdir_done (&dir);
}
