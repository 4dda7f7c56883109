/*  =========================================================================
    test_zjob_metrics_broker - METRICS and STATS' history from a real broker

    The broker actor in-process on ephemeral ports, two raw workers of two
    workflows running jobs to completion, a failure and its retry; then
    libzjob's zjob_client_metrics: the counters, gauges and connections the
    text must show, checked by Debian's `promtool check metrics` (package
    prometheus), which must print nothing (a lint warning is a failure)
    and exit 0. Also: STATS' history, and the job change debug line.
    ========================================================================= */

#include "test_zjob_broker.h"
#include "zjob_client.h"
#include <sys/wait.h>

#define S_PROMTOOL "/usr/bin/promtool"

static const uint8_t s_outputs [] = { 0x81, 0xa2, 'o', 'k', 0x01 };

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

//  METRICS through libzjob until text has line (the monitors report
//  connections asynchronously), within S_WAIT; the last text, to free
static char *
s_metrics_until (zjob_client_t *client, const char *line)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    while (true) {
        char *text = NULL;
        zjob_error_t err;
        cr_assert_eq (zjob_client_metrics (client, &text, &err), 0, "%s", err.text);
        if (!line || s_has_line (text, line) || zclock_mono () >= deadline)
            return text;
        free (text);
        zclock_sleep (10);  //  Polling the broker's view, with a deadline
    }
}

//  Run promtool check metrics on text: its output (to free) and exit code
static char *
s_promtool (const char *text, int *status_p)
{
    char path [] = "/tmp/zjob-metrics-XXXXXX";
    int fd = mkstemp (path);
    cr_assert_geq (fd, 0);
    cr_assert_eq (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
    char command [256];
    snprintf (command, sizeof command, S_PROMTOOL " check metrics < %s 2>&1", path);
    FILE *pipe = popen (command, "r");
    cr_assert_not_null (pipe);
    char *output = (char *) calloc (1, 65536);
    size_t size = fread (output, 1, 65535, pipe);
    output [size] = 0;
    int status = pclose (pipe);
    unlink (path);
    *status_p = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
    return output;
}

//  Jobs of two workflows: resize (one completed, one failed and retried)
//  and thumbs (two completed), through two workers
static void
s_run_jobs (zsock_t **workers)
{
    zsock_t *client = zjob_test_dealer (s_clients);
    zsock_t *resize = s_worker ("w-resize", "resize", 2);
    zsock_t *thumbs = s_worker ("w-thumbs", "thumbs", 2);
    char *ids [4] = { zjob_test_submit (client, "resize", NULL, NULL),
                      zjob_test_submit (client, "resize", NULL, NULL),
                      zjob_test_submit (client, "thumbs", NULL, NULL),
                      zjob_test_submit (client, "thumbs", NULL, NULL) };
    for (size_t index = 0; index < 4; index++)
        cr_assert_not_null (ids [index]);
    for (size_t index = 0; index < 2; index++) {
        zjob_job_t *job = s_take (resize, S_WAIT);
        zjob_msg_t *reply = index ? s_result (resize, job->id, NULL, 0)
                                  : s_result (resize, job->id, s_outputs, sizeof s_outputs);
        cr_assert_eq (s_code (reply), ZJOB_OK);
        zjob_msg_destroy (&reply);
        zjob_job_destroy (&job);
        job = s_take (thumbs, S_WAIT);
        reply = s_result (thumbs, job->id, s_outputs, sizeof s_outputs);
        cr_assert_eq (s_code (reply), ZJOB_OK);
        zjob_msg_destroy (&reply);
        zjob_job_destroy (&job);
    }
    for (size_t index = 0; index < 4; index++)
        free (ids [index]);
    zsock_destroy (&client);
    //  The workers stay, for their connections to be counted
    workers [0] = resize;
    workers [1] = thumbs;
}

static void
s_workers_destroy (zsock_t **workers)
{
    zsock_destroy (&workers [0]);
    zsock_destroy (&workers [1]);
}

Test (broker, metrics_of_a_broker_that_ran_jobs_pass_promtool)
{
    s_start ("store", "memory:", NULL);
    zsock_t *workers [2];
    s_run_jobs (workers);
    zjob_error_t err;
    zjob_client_t *client = zjob_client_new (s_clients, S_WAIT, &err);
    cr_assert_not_null (client, "%s", err.text);
    char *text = s_metrics_until (client, "zjob_connections{socket=\"workers\"} 2");
    cr_assert (s_has_line (text, "zjob_connections{socket=\"workers\"} 2"), "%s", text);
    cr_assert (s_has_line (text, "zjob_jobs_submitted_total{workflow=\"resize\"} 2"), "%s", text);
    cr_assert (s_has_line (text, "zjob_jobs_submitted_total{workflow=\"thumbs\"} 2"));
    cr_assert (s_has_line (text, "zjob_jobs_completed_total{workflow=\"resize\"} 1"));
    cr_assert (s_has_line (text, "zjob_jobs_completed_total{workflow=\"thumbs\"} 2"));
    cr_assert (s_has_line (text, "zjob_jobs_retried_total{workflow=\"resize\"} 1"));
    cr_assert (s_has_line (text, "zjob_jobs_failed_total{workflow=\"resize\"} 0"));
    cr_assert (s_has_line (text, "zjob_jobs{workflow=\"thumbs\",status=\"completed\"} 2"));
    cr_assert (s_has_line (text, "zjob_jobs{workflow=\"resize\",status=\"queued\"} 1"));
    cr_assert (s_has_line (text, "zjob_scheduled_jobs 1"), "the retry waits for its backoff");
    cr_assert (s_has_line (text, "zjob_job_run_seconds_count{workflow=\"resize\"} 2"));
    cr_assert (s_has_line (text, "zjob_job_wait_seconds_count{workflow=\"thumbs\"} 2"));
    cr_assert (s_has_line (text, "zjob_workers 2"));
    cr_assert (s_has_line (text, "zjob_worker_slots 4"));
    cr_assert (s_has_line (text, "zjob_store_writable 1"));
    cr_assert_null (strstr (text, "zjob_connections{socket=\"clients\"} 0\n"));
    cr_assert_not_null (strstr (text, "\nzjob_store_syncs_total "));
    cr_assert_not_null (strstr (text, "\nprocess_resident_memory_bytes "));

    int status = -1;
    char *output = s_promtool (text, &status);
    cr_assert_eq (status, 0, "promtool exit %d: %s", status, output);
    cr_assert_str_eq (output, "", "promtool says: %s", output);
    free (output);
    free (text);
    zjob_client_destroy (&client);
    s_workers_destroy (workers);
}

//  promtool tells a bad exposition from a good one: the check can fail
Test (broker, promtool_refuses_a_bad_exposition)
{
    int status = -1;
    char *output = s_promtool ("# TYPE zjob_things counter\nzjob_things 1\n", &status);
    cr_assert (status != 0 || *output, "a counter without _total must be flagged");
    free (output);
}

//  STATS has the history: this minute counts what the jobs did
Test (broker, stats_history)
{
    s_start ("store", "memory:", NULL);
    zsock_t *workers [2];
    s_run_jobs (workers);
    zjob_error_t err;
    zjob_client_t *client = zjob_client_new (s_clients, S_WAIT, &err);
    cr_assert_not_null (client, "%s", err.text);
    zjob_reply_t *reply = zjob_client_stats (client, &err);
    cr_assert_not_null (reply, "%s", err.text);
    const msgpack_object *history = zjob_msg_field (zjob_reply_msg (reply), "history");
    cr_assert_not_null (history);
    cr_assert_eq (history->type, MSGPACK_OBJECT_MAP);
    cr_assert_eq (history->via.map.size, 4);
    uint64_t minute = 0, last [3] = { 0 };
    const char *names [3] = { "submitted", "completed", "failed" };
    for (uint32_t index = 0; index < history->via.map.size; index++) {
        const msgpack_object_kv *kv = &history->via.map.ptr [index];
        cr_assert_eq (kv->key.type, MSGPACK_OBJECT_STR);
        if (kv->key.via.str.size == 6 && memcmp (kv->key.via.str.ptr, "minute", 6) == 0)
            minute = kv->val.via.u64;
        for (size_t which = 0; which < 3; which++)
            if (kv->key.via.str.size == strlen (names [which])
                && memcmp (kv->key.via.str.ptr, names [which], strlen (names [which])) == 0) {
                cr_assert_eq (kv->val.type, MSGPACK_OBJECT_ARRAY);
                cr_assert_eq (kv->val.via.array.size, 60);
                last [which] = kv->val.via.array.ptr [59].via.u64;
            }
    }
    int64_t now = zjob_clock_ms ();
    cr_assert_eq (minute % 60000, 0);
    cr_assert ((int64_t) minute <= now && now - (int64_t) minute < 120000);
    //  The jobs may straddle a minute: at least this minute's part
    cr_assert_leq (last [0], 4);
    cr_assert_leq (last [1], 3);
    cr_assert_eq (last [2], 0, "a retried attempt is not a failed job");
    zjob_reply_destroy (&reply);
    zjob_client_destroy (&client);
    s_workers_destroy (workers);
}

//  With --log-level debug, each job change is one line
Test (broker, job_changes_logged_at_debug)
{
    char path [] = "/tmp/zjob-metrics-log-XXXXXX";
    int fd = mkstemp (path);
    cr_assert_geq (fd, 0);
    FILE *log = fdopen (fd, "w+");
    zjob_log_set_stream (log);
    s_start ("store", "memory:", "log-level", "debug", NULL);
    zsock_t *workers [2];
    s_run_jobs (workers);
    s_workers_destroy (workers);
    s_stop ();
    zjob_log_set_stream (NULL);
    fflush (log);
    rewind (log);
    char line [1024];
    size_t created = 0, running = 0, retried = 0;
    while (fgets (line, sizeof line, log)) {
        created += strstr (line, ": created -> queued (workflow thumbs, worker -, attempt 0)") != NULL;
        running += strstr (line, ": queued -> running (workflow resize, worker w-resize, attempt 1)") != NULL;
        retried += strstr (line, ": running -> queued (workflow resize, worker w-resize, attempt 1)") != NULL;
    }
    fclose (log);
    unlink (path);
    cr_assert_eq (created, 2);
    cr_assert_eq (running, 2);
    cr_assert_eq (retried, 1);
}
