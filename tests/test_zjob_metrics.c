/*  =========================================================================
    test_zjob_metrics - the broker's metrics and their Prometheus text

    Counters and histograms moved by jobs going through a real manager
    (its listener feeding zjob_metrics as the broker's does), the bucket
    edges, label escaping, the cap on workflows with series of their own,
    the history ring across wall-clock minutes (an injected clock), the
    render of nothing, METRICS through zjob_clients_handle (admin OK,
    client key 403), and the render's cost with 1,000 workflows.
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include "zjob_metrics.h"
#include "zjob_metrics_cmd.h"
#include "zjob_clients.h"
#include "zjob_job_impl.h"
#include "zjob_proto.h"
#include "zjob_util.h"
#include "zjob_store_memory.h"

//  {"ok": 1} as msgpack
static const uint8_t s_outputs [] = { 0x81, 0xa2, 'o', 'k', 0x01 };

//  The listener the broker installs, reduced to its metrics part
typedef struct {
    zjob_metrics_t *metrics;
    zjob_manager_t *manager;
} s_feed_t;

static void
s_feed (zjob_event_t event, const zjob_job_t *job, zjob_status_t old_status, void *arg)
{
    s_feed_t *feed = (s_feed_t *) arg;
    bool created = event == ZJOB_EVENT_STATUS && old_status == ZJOB_CREATED
        && zjob_manager_creating (feed->manager);
    zjob_metrics_job (feed->metrics, event, job, old_status, created);
}

//  A manager over the memory store whose failed attempts retry at once
static zjob_manager_t *
s_manager_new (void)
{
    zjob_manager_config_t config = { .defaults = { .backoff_base_ms = ZJOB_TIMEOUT_NONE },
                                     .seed = 1 };
    zjob_store_t *store = zjob_store_memory_new ();
    zjob_error_t err;
    zjob_manager_t *manager = zjob_manager_new (&store, &config, &err);
    cr_assert_not_null (manager, "%s", err.text);
    return manager;
}

static void
s_create (zjob_manager_t *manager, const char *workflow, bool auto_start, char *id)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof spec);
    spec.workflow_id = workflow;
    spec.priority = ZJOB_PRIORITY_UNSET;
    zjob_error_t err;
    zjob_job_t *job = zjob_manager_create (manager, &spec, auto_start, &err);
    cr_assert_not_null (job, "%s", err.text);
    snprintf (id, ZJOB_ID_LEN + 1, "%s", job->id);
    zjob_job_destroy (&job);
}

static void
s_take (zjob_manager_t *manager, const char *workflow, const char *expected)
{
    zjob_job_t *job = zjob_manager_take (manager, &workflow, 1, "w1");
    cr_assert_not_null (job, "nothing to take");
    cr_assert_str_eq (job->id, expected);
    zjob_job_destroy (&job);
}

//  The render of metrics with figures (may be NULL); the caller frees it
static char *
s_render (zjob_metrics_t *metrics, const zjob_metrics_figures_t *figures)
{
    char *text = NULL;
    size_t size = 0;
    cr_assert_eq (zjob_metrics_render (metrics, figures, &text, &size), 0);
    cr_assert_not_null (text);
    cr_assert_eq (strlen (text), size);
    return text;
}

//  Whether text has line as a whole line
static bool
s_has_line (const char *text, const char *line)
{
    size_t length = strlen (line);
    for (const char *found = strstr (text, line); found; found = strstr (found + 1, line))
        if ((found == text || found [-1] == '\n') && found [length] == '\n')
            return true;
    return false;
}

//  Lines of text that start with prefix
static size_t
s_lines_with (const char *text, const char *prefix)
{
    size_t count = 0, length = strlen (prefix);
    for (const char *line = text; line && *line; line = strchr (line, '\n') ? strchr (line, '\n') + 1 : NULL)
        count += strncmp (line, prefix, length) == 0;
    return count;
}

//  A job of workflow as it is after a change at now, for direct feeding
static zjob_job_t *
s_job (const char *workflow, zjob_status_t status, int64_t queued_at, int64_t started_at,
       int64_t updated_at)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof spec);
    spec.workflow_id = workflow;
    spec.priority = ZJOB_PRIORITY_UNSET;
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "%s", err.text);
    job->status = (uint8_t) status;
    job->queued_at = queued_at;
    job->started_at = started_at;
    job->updated_at = updated_at;
    return job;
}


//  --------------------------------------------------------------------------
//  Jobs through a manager

Test (metrics, counters_and_histograms_move_as_jobs_move)
{
    zjob_metrics_t *metrics = zjob_metrics_new ();
    zjob_manager_t *manager = s_manager_new ();
    s_feed_t feed = { metrics, manager };
    zjob_manager_set_listener (manager, s_feed, &feed);
    zjob_error_t err;
    char a1 [ZJOB_ID_LEN + 1], a2 [ZJOB_ID_LEN + 1], b1 [ZJOB_ID_LEN + 1], b2 [ZJOB_ID_LEN + 1];
    s_create (manager, "a", true, a1);
    s_create (manager, "a", true, a2);
    s_create (manager, "b", true, b1);
    //  Created, then started: submitted once, not twice
    s_create (manager, "b", false, b2);
    cr_assert_eq (zjob_manager_start (manager, b2, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_metrics_count (metrics, "a", "submitted"), 2);
    cr_assert_eq (zjob_metrics_count (metrics, "b", "submitted"), 2);

    s_take (manager, "a", a1);
    cr_assert_eq (zjob_manager_complete (manager, a1, "w1", s_outputs, sizeof s_outputs, &err), 0,
                  "%s", err.text);
    //  a2 fails three times: retried twice, then failed for good
    for (int attempt = 1; attempt <= 3; attempt++) {
        //  A retry waits for its backoff: make it due now
        zjob_manager_promote (manager, zjob_clock_ms () + 24 * 3600 * 1000);
        s_take (manager, "a", a2);
        cr_assert_geq (zjob_manager_finish (manager, a2, "w1", NULL, 0, false, NULL, 0,
                                            "exception", "it broke", &err),
                       0, "%s", err.text);
    }
    cr_assert_eq (zjob_manager_status (manager, a2, NULL), ZJOB_FAILED);
    cr_assert_eq (zjob_manager_cancel (manager, b1, &err), 0, "%s", err.text);

    cr_assert_eq (zjob_metrics_count (metrics, "a", "completed"), 1);
    cr_assert_eq (zjob_metrics_count (metrics, "a", "retried"), 2);
    cr_assert_eq (zjob_metrics_count (metrics, "a", "failed"), 1);
    cr_assert_eq (zjob_metrics_count (metrics, "a", "cancelled"), 0);
    cr_assert_eq (zjob_metrics_count (metrics, "b", "cancelled"), 1);
    cr_assert_eq (zjob_metrics_count (metrics, "b", "completed"), 0);
    //  Four attempts started and ended in a; none in b
    cr_assert_eq (zjob_metrics_count (metrics, "a", "wait"), 4);
    cr_assert_eq (zjob_metrics_count (metrics, "a", "run"), 4);
    cr_assert_eq (zjob_metrics_count (metrics, "b", "wait"), 0);
    cr_assert_eq (zjob_metrics_count (metrics, NULL, "submitted"), 4);

    char *text = s_render (metrics, NULL);
    cr_assert (s_has_line (text, "zjob_jobs_submitted_total{workflow=\"a\"} 2"), "%s", text);
    cr_assert (s_has_line (text, "zjob_jobs_retried_total{workflow=\"a\"} 2"));
    cr_assert (s_has_line (text, "zjob_jobs_failed_total{workflow=\"a\"} 1"));
    cr_assert (s_has_line (text, "zjob_jobs_cancelled_total{workflow=\"b\"} 1"));
    cr_assert (s_has_line (text, "zjob_job_wait_seconds_count{workflow=\"a\"} 4"));
    cr_assert (s_has_line (text, "zjob_job_run_seconds_bucket{workflow=\"a\",le=\"+Inf\"} 4"));
    free (text);

    //  The history: this minute has them all
    zjob_metrics_history_t history;
    zjob_metrics_history (metrics, zjob_clock_ms (), &history);
    cr_assert_eq (history.submitted [ZJOB_METRICS_MINUTES - 1], 4);
    cr_assert_eq (history.completed [ZJOB_METRICS_MINUTES - 1], 1);
    cr_assert_eq (history.failed [ZJOB_METRICS_MINUTES - 1], 1);
    zjob_manager_destroy (&manager);
    zjob_metrics_destroy (&metrics);
    zjob_metrics_destroy (&metrics);  //  Safe twice
}

//  The gauges the METRICS command gathers: jobs per status, ready jobs
//  and the oldest one's age, from the tally and the ready lists' heads
Test (metrics, gauges_from_the_manager)
{
    zjob_metrics_t *metrics = zjob_metrics_new ();
    zjob_error_t err;
    zjob_manager_t *manager = zjob_manager_open ("memory:", NULL, &err);
    zjob_registry_t *registry = zjob_registry_new (1000, 3);
    cr_assert (metrics && manager && registry);
    char id [ZJOB_ID_LEN + 1];
    s_create (manager, "a", true, id);
    s_create (manager, "a", true, id);
    s_create (manager, "b", false, id);
    char *text = NULL;
    size_t size = 0;
    cr_assert_eq (zjob_metrics_cmd_text (metrics, manager, registry, NULL, &text, &size, &err), 0);
    cr_assert (s_has_line (text, "zjob_jobs{workflow=\"a\",status=\"queued\"} 2"), "%s", text);
    cr_assert (s_has_line (text, "zjob_jobs{workflow=\"b\",status=\"created\"} 1"));
    cr_assert_eq (s_lines_with (text, "zjob_jobs{workflow=\"b\""), 1, "zero statuses left out");
    cr_assert (s_has_line (text, "zjob_queue_ready_jobs{workflow=\"a\"} 2"));
    cr_assert (s_has_line (text, "zjob_queue_ready_jobs{workflow=\"b\"} 0"));
    cr_assert (s_has_line (text, "zjob_queue_oldest_ready_age_seconds{workflow=\"b\"} 0"));
    cr_assert (s_has_line (text, "zjob_workers 0"));
    cr_assert (s_has_line (text, "zjob_store_writable 1"));
    cr_assert_eq (s_lines_with (text, "process_open_fds "), 1);
    cr_assert_eq (s_lines_with (text, "zjob_store_journal_bytes"), 0, "a memory store");
    free (text);
    zjob_registry_destroy (&registry);
    zjob_manager_destroy (&manager);
    zjob_metrics_destroy (&metrics);
}


//  --------------------------------------------------------------------------
//  Buckets, labels, the cap

//  A value on a bucket's bound counts in that bucket (le: less or equal)
Test (metrics, bucket_edges)
{
    zjob_metrics_t *metrics = zjob_metrics_new ();
    zjob_metrics_sync (metrics, 0.0001);
    zjob_metrics_sync (metrics, 0.00011);
    zjob_metrics_sync (metrics, 1.0);
    zjob_metrics_sync (metrics, 2.0);
    //  Waits of exactly 5 ms and 3,600 s, and one of 3,601 s
    int64_t base = 1750000000000;
    int64_t waits [] = { 5, 3600000, 3601000 };
    for (size_t index = 0; index < 3; index++) {
        zjob_job_t *job = s_job ("edge", ZJOB_RUNNING, base, base + waits [index],
                                 base + waits [index]);
        zjob_metrics_job (metrics, ZJOB_EVENT_STATUS, job, ZJOB_QUEUED, false);
        zjob_job_destroy (&job);
    }
    //  An adoption (the attempt goes on: started_at older than the change) is no wait
    zjob_job_t *job = s_job ("edge", ZJOB_RUNNING, base, base + 1, base + 9);
    zjob_metrics_job (metrics, ZJOB_EVENT_STATUS, job, ZJOB_QUEUED, false);
    zjob_job_destroy (&job);
    char *text = s_render (metrics, NULL);
    cr_assert (s_has_line (text, "zjob_store_sync_seconds_bucket{le=\"0.0001\"} 1"), "%s", text);
    cr_assert (s_has_line (text, "zjob_store_sync_seconds_bucket{le=\"0.00025\"} 2"));
    cr_assert (s_has_line (text, "zjob_store_sync_seconds_bucket{le=\"0.5\"} 2"));
    cr_assert (s_has_line (text, "zjob_store_sync_seconds_bucket{le=\"1\"} 3"));
    cr_assert (s_has_line (text, "zjob_store_sync_seconds_bucket{le=\"+Inf\"} 4"));
    cr_assert (s_has_line (text, "zjob_store_sync_seconds_count 4"));
    cr_assert (s_has_line (text, "zjob_job_wait_seconds_bucket{workflow=\"edge\",le=\"0.005\"} 1"));
    cr_assert (s_has_line (text, "zjob_job_wait_seconds_bucket{workflow=\"edge\",le=\"1800\"} 1"));
    cr_assert (s_has_line (text, "zjob_job_wait_seconds_bucket{workflow=\"edge\",le=\"3600\"} 2"));
    cr_assert (s_has_line (text, "zjob_job_wait_seconds_bucket{workflow=\"edge\",le=\"+Inf\"} 3"));
    cr_assert (s_has_line (text, "zjob_job_wait_seconds_sum{workflow=\"edge\"} 7201.005"));
    //  Every bucket list in the design's order, +Inf last
    cr_assert_eq (s_lines_with (text, "zjob_job_wait_seconds_bucket{workflow=\"edge\""), 17);
    cr_assert_eq (s_lines_with (text, "zjob_store_sync_seconds_bucket"), 14);
    cr_assert_eq (s_lines_with (text, "zjob_loop_pass_seconds_bucket"), 14);
    free (text);
    zjob_metrics_destroy (&metrics);
}

//  Label values escape a backslash, a double quote and a newline
Test (metrics, label_values_are_escaped)
{
    zjob_metrics_t *metrics = zjob_metrics_new ();
    zjob_metrics_workflow_t workflows [] = { { .workflow = "a\"b\\c\nd", .ready = 3 } };
    workflows [0].jobs [ZJOB_QUEUED] = 3;
    zjob_metrics_figures_t figures = { .now_ms = zjob_clock_ms (), .workflows = workflows, .workflow_count = 1, .version = "1.2\"3" };
    char *text = s_render (metrics, &figures);
    cr_assert (s_has_line (text, "zjob_queue_ready_jobs{workflow=\"a\\\"b\\\\c\\nd\"} 3"), "%s",
               text);
    cr_assert (s_has_line (text, "zjob_jobs{workflow=\"a\\\"b\\\\c\\nd\",status=\"queued\"} 3"));
    cr_assert (s_has_line (text, "zjob_jobs_submitted_total{workflow=\"a\\\"b\\\\c\\nd\"} 0"));
    free (text);
    zjob_metrics_destroy (&metrics);
}

//  Past ZJOB_METRICS_WORKFLOWS_MAX workflows, the rest are summed as ~other
Test (metrics, workflows_past_the_cap_are_other)
{
    zjob_metrics_t *metrics = zjob_metrics_new ();
    size_t count = ZJOB_METRICS_WORKFLOWS_MAX + 5;
    char (*names) [16] = (char (*) [16]) calloc (count, 16);
    zjob_metrics_workflow_t *workflows = (zjob_metrics_workflow_t *) calloc (count, sizeof *workflows);
    int64_t now = zjob_clock_ms ();
    for (size_t index = 0; index < count; index++) {
        snprintf (names [index], 16, "wf%zu", index);
        workflows [index].workflow = names [index];
        workflows [index].jobs [ZJOB_QUEUED] = 2;
        workflows [index].ready = 2;
        workflows [index].oldest_ready_ms = now - 1000 * (int64_t) index;
    }
    //  The first render makes the series of the first 1,000, in order
    zjob_metrics_figures_t figures = { .now_ms = now, .workflows = workflows, .workflow_count = count };
    char *text = s_render (metrics, &figures);
    free (text);
    //  Two jobs completed in workflows past the cap
    for (size_t index = count - 2; index < count; index++) {
        zjob_job_t *job = s_job (names [index], ZJOB_COMPLETED, now - 10, now - 5, now);
        zjob_metrics_job (metrics, ZJOB_EVENT_STATUS, job, ZJOB_RUNNING, false);
        zjob_job_destroy (&job);
    }
    text = s_render (metrics, &figures);
    cr_assert_eq (s_lines_with (text, "zjob_queue_ready_jobs{"), ZJOB_METRICS_WORKFLOWS_MAX + 1);
    cr_assert (s_has_line (text, "zjob_queue_ready_jobs{workflow=\"~other\"} 10"));
    cr_assert (s_has_line (text, "zjob_jobs{workflow=\"~other\",status=\"queued\"} 10"));
    //  The oldest of the rest: the last one's, 1,004 s old
    cr_assert (s_has_line (text, "zjob_queue_oldest_ready_age_seconds{workflow=\"~other\"} 1004"));
    cr_assert (s_has_line (text, "zjob_jobs_completed_total{workflow=\"~other\"} 2"));
    cr_assert (s_has_line (text, "zjob_job_run_seconds_count{workflow=\"~other\"} 2"));
    cr_assert (s_has_line (text, "zjob_jobs_completed_total{workflow=\"wf999\"} 0"));
    cr_assert_eq (s_lines_with (text, "zjob_jobs_completed_total{workflow=\"wf1000\""), 0);
    cr_assert_eq (zjob_metrics_count (metrics, ZJOB_METRICS_OTHER, "completed"), 2);
    free (text);
    free (names);
    free (workflows);
    zjob_metrics_destroy (&metrics);
}


//  --------------------------------------------------------------------------
//  The history ring

static int64_t s_clock_now = 0;

static int64_t
s_clock (void)
{
    return s_clock_now;
}

//  One completed job, heard at s_clock_now
static void
s_complete_one (zjob_metrics_t *metrics, zjob_status_t status)
{
    zjob_job_t *job = s_job ("h", status, s_clock_now - 10, s_clock_now - 5, s_clock_now);
    zjob_metrics_job (metrics, ZJOB_EVENT_STATUS, job, ZJOB_RUNNING, false);
    zjob_job_destroy (&job);
}

Test (metrics, history_ring_across_minutes)
{
    zjob_metrics_t *metrics = zjob_metrics_new ();
    zjob_metrics_set_clock (metrics, s_clock);
    int64_t minute0 = 29175000 * (int64_t) 60000;  //  A minute's start
    s_clock_now = minute0 + 59999;                 //  Its last millisecond
    s_complete_one (metrics, ZJOB_COMPLETED);
    s_clock_now = minute0 + 60000;  //  The next minute
    s_complete_one (metrics, ZJOB_COMPLETED);
    s_complete_one (metrics, ZJOB_COMPLETED);
    s_complete_one (metrics, ZJOB_FAILED);
    zjob_metrics_history_t history;
    zjob_metrics_history (metrics, minute0 + 60000 + 30000, &history);
    cr_assert_eq (history.minute, minute0 + 60000);
    cr_assert_eq (history.completed [58], 1);
    cr_assert_eq (history.completed [59], 2);
    cr_assert_eq (history.failed [59], 1);
    cr_assert_eq (history.failed [58], 0);
    //  59 minutes on, the first minute is the oldest kept
    zjob_metrics_history (metrics, minute0 + 59 * 60000, &history);
    cr_assert_eq (history.completed [0], 1);
    cr_assert_eq (history.completed [1], 2);
    //  An hour on, both are gone (read as zero), though no slot was reset
    zjob_metrics_history (metrics, minute0 + 61 * 60000, &history);
    for (size_t index = 0; index < ZJOB_METRICS_MINUTES; index++)
        cr_assert_eq (history.completed [index] + history.failed [index], 0, "minute %zu", index);
    //  A count in the slot the first minute used resets it first
    s_clock_now = minute0 + 60 * 60000 + 1;
    s_complete_one (metrics, ZJOB_COMPLETED);
    zjob_metrics_history (metrics, s_clock_now, &history);
    cr_assert_eq (history.completed [59], 1);
    cr_assert_eq (history.completed [0], 2, "the second minute is now the oldest kept");
    cr_assert_eq (history.completed [1], 0);
    zjob_metrics_destroy (&metrics);
}


//  --------------------------------------------------------------------------
//  Render of nothing, METRICS and roles

Test (metrics, render_of_an_empty_broker)
{
    zjob_metrics_t *metrics = zjob_metrics_new ();
    char *text = s_render (metrics, NULL);
    //  Every family has HELP and TYPE, even with no sample
    cr_assert (s_has_line (text, "# TYPE zjob_jobs_submitted_total counter"), "%s", text);
    cr_assert (s_has_line (text, "# TYPE zjob_job_wait_seconds histogram"));
    cr_assert (s_has_line (text, "zjob_loop_passes_total 0"));
    cr_assert (s_has_line (text, "zjob_connections{socket=\"events\"} 0"));
    cr_assert_eq (s_lines_with (text, "zjob_jobs_submitted_total{"), 0);
    cr_assert_eq (s_lines_with (text, "# HELP "), s_lines_with (text, "# TYPE "));
    free (text);
    zjob_metrics_destroy (&metrics);
}

//  Connections never go below zero (a DISCONNECTED of a connection made
//  before the monitor started)
Test (metrics, connections)
{
    zjob_metrics_t *metrics = zjob_metrics_new ();
    zjob_metrics_connection (metrics, ZJOB_METRICS_CLIENTS, 1);
    zjob_metrics_connection (metrics, ZJOB_METRICS_CLIENTS, 1);
    zjob_metrics_connection (metrics, ZJOB_METRICS_CLIENTS, -1);
    zjob_metrics_connection (metrics, ZJOB_METRICS_EVENTS, -1);
    char *text = s_render (metrics, NULL);
    cr_assert (s_has_line (text, "zjob_connections{socket=\"clients\"} 1"), "%s", text);
    cr_assert (s_has_line (text, "zjob_connections{socket=\"events\"} 0"));
    free (text);
    zjob_metrics_destroy (&metrics);
}

//  METRICS through the client handler: an admin (and the broker without
//  CURVE) gets the text, a client key 403
Test (metrics, metrics_command_admin_only)
{
    zjob_error_t err;
    zjob_manager_t *manager = zjob_manager_open ("memory:", NULL, &err);
    zjob_registry_t *registry = zjob_registry_new (1000, 3);
    zjob_clients_t *clients = zjob_clients_new (manager, registry, NULL, 0);
    zjob_metrics_t *metrics = zjob_metrics_new ();
    zjob_msg_builder_t *request = zjob_msg_builder_new ();
    zjob_msg_builder_t *reply = zjob_msg_builder_new ();
    cr_assert (manager && registry && clients && metrics && request && reply);
    const zjob_peer_t admin = { ZJOB_ROLE_ADMIN, "ops", NULL, NULL, "admin-key", false, NULL };
    const zjob_peer_t alice = { ZJOB_ROLE_CLIENT, "alice", "alice", NULL, "alice-key", false, NULL };
    zjob_msg_begin (request, ZJOB_CMD_METRICS, 5);
    zframe_t *frame = zjob_msg_end (request, &err);
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                       ZJOB_ROUTE_CLIENT_BROKER, &err);
    cr_assert_not_null (msg, "%s", err.text);
    //  Without metrics set: a 500, not a crash
    cr_assert_eq (zjob_clients_handle (clients, msg, NULL, reply, zjob_mono_ms (), &err), -1);
    cr_assert_eq (err.code, ZJOB_INTERNAL);
    zjob_clients_set_metrics (clients, metrics);
    cr_assert_eq (zjob_clients_handle (clients, msg, &alice, reply, zjob_mono_ms (), &err), -1);
    cr_assert_eq (err.code, ZJOB_FORBIDDEN);
    cr_assert_str_eq (err.text, "METRICS: forbidden: admin only");
    const zjob_peer_t *allowed [2] = { &admin, NULL };
    for (size_t index = 0; index < 2; index++) {
        cr_assert_eq (zjob_clients_handle (clients, msg, allowed [index], reply, zjob_mono_ms (), &err),
                      0, "%s", err.text);
        zframe_t *out = zjob_msg_end (reply, &err);
        cr_assert_not_null (out, "%s", err.text);
        zjob_msg_t *ok = zjob_msg_decode (zframe_data (out), zframe_size (out),
                                          ZJOB_ROUTE_BROKER_CLIENT, &err);
        cr_assert_not_null (ok, "%s", err.text);
        cr_assert_eq (zjob_msg_check_reply (ok, ZJOB_CMD_METRICS, &err), 0, "%s", err.text);
        cr_assert_str_eq (zjob_msg_str (ok, "format"), "prometheus-text-0.0.4");
        cr_assert (s_has_line (zjob_msg_str (ok, "text"), "# TYPE zjob_jobs gauge"));
        zjob_msg_destroy (&ok);
        zframe_destroy (&out);
    }
    zjob_msg_destroy (&msg);
    zframe_destroy (&frame);
    zjob_msg_builder_destroy (&request);
    zjob_msg_builder_destroy (&reply);
    zjob_clients_destroy (&clients);
    zjob_metrics_destroy (&metrics);
    zjob_registry_destroy (&registry);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  Cost

//  A render with 1,000 workflows, each with jobs and histograms filled,
//  stays well within a loop pass's budget (tens of ms); the time is
//  printed for the record
Test (metrics, render_cost_with_a_thousand_workflows)
{
    zjob_metrics_t *metrics = zjob_metrics_new ();
    size_t count = ZJOB_METRICS_WORKFLOWS_MAX;
    char (*names) [16] = (char (*) [16]) calloc (count, 16);
    zjob_metrics_workflow_t *workflows = (zjob_metrics_workflow_t *) calloc (count, sizeof *workflows);
    int64_t now = zjob_clock_ms ();
    for (size_t index = 0; index < count; index++) {
        snprintf (names [index], 16, "workflow-%zu", index);
        workflows [index].workflow = names [index];
        for (int status = 0; status < ZJOB_STATUS_COUNT; status++)
            workflows [index].jobs [status] = 1000;
        workflows [index].ready = 1000;
        workflows [index].oldest_ready_ms = now - 5000;
        zjob_job_t *job = s_job (names [index], ZJOB_COMPLETED, now - 3000, now - 2000, now);
        zjob_metrics_job (metrics, ZJOB_EVENT_STATUS, job, ZJOB_RUNNING, false);
        zjob_job_destroy (&job);
    }
    zjob_metrics_figures_t figures = { .now_ms = now, .workflows = workflows, .workflow_count = count };
    zjob_metrics_process (&figures);
    cr_assert (figures.process);
    int64_t best = INT64_MAX;
    size_t size = 0;
    for (int round = 0; round < 5; round++) {
        int64_t started = zjob_mono_ms ();
        char *text = NULL;
        cr_assert_eq (zjob_metrics_render (metrics, &figures, &text, &size), 0);
        int64_t took = zjob_mono_ms () - started;
        best = took < best ? took : best;
        free (text);
    }
    cr_log_info ("render of %zu workflows: %zu bytes in %" PRId64 " ms (best of 5)", count, size,
                 best);
    fprintf (stderr, "render of %zu workflows: %zu bytes in %" PRId64 " ms (best of 5)\n", count,
             size, best);
    cr_assert_lt (size, ZJOB_MSG_MAX / 2, "the text fits a METRICS reply with room to spare");
    //  A few ms in a release build; the bound leaves room for a sanitizer
    //  build on a loaded machine, and still catches a render gone quadratic
    cr_assert_lt (best, 1000);
    free (names);
    free (workflows);
    zjob_metrics_destroy (&metrics);
}
