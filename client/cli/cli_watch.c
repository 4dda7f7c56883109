/*  =========================================================================
    cli_watch - the zjob commands that follow a job until it is finished:
    wait and watch

    wait polls the job's status through the client library (whose polls
    back off from 5 to 250 ms); watch subscribes to the job's events and
    polls its status besides, once a second, so that a missed event (or a
    wrong events endpoint) delays its output but never makes it hang. Both
    are bounded by --timeout, the command's own time limit wherever it is
    written (`zjob --timeout 2 wait ID` is `zjob wait ID --timeout 2`):
    when it passes with the job unfinished, they exit 7.
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli_commands.h"
#include "cli_output.h"

#define S_WAIT_CHUNK_MS 60000  //  msecs per zjob_client_wait without --timeout
#define S_WATCH_POLL_MS 1000   //  msecs between watch's status polls

//  The exit code of a finished job
static int
s_job_exit (const zjob_job_t *job)
{
    return job->status == ZJOB_COMPLETED ? ZJOB_EXIT_OK : ZJOB_EXIT_JOB_FAILED;
}

//  One line on how a finished job ended, and its outputs
static void
s_print_outcome (const zjob_job_t *job)
{
    char ran [32], total [32];
    int64_t end = job->completed_at ? job->completed_at : job->updated_at;
    printf ("%s %s after %s", job->id, zjob_status_name ((zjob_status_t) job->status),
            zjob_cli_format_duration (end - job->created_at, total, sizeof total));
    if (job->execution_ms)
        printf (" (ran %s, %u attempt%s)",
                zjob_cli_format_duration (job->execution_ms, ran, sizeof ran),
                job->attempts, job->attempts == 1 ? "" : "s");
    if (job->status == ZJOB_FAILED)
        printf (": %s%s%s", job->error_kind ? job->error_kind : "",
                job->error_kind && job->error_message ? ": " : "",
                job->error_message ? job->error_message : "");
    printf ("\n");
    if (job->status == ZJOB_COMPLETED)
        zjob_cli_print_data ("outputs", &job->outputs);
    fflush (stdout);
}

//  "job ID is still running after 2.0s; ..." and ZJOB_EXIT_TIMEOUT
static int
s_timed_out (zjob_cli_t *cli, const zjob_job_t *job, int64_t waited_ms, const char *advice)
{
    char waited [32];
    zjob_cli_error (cli, "job %s is still %s after %s; %s", job->id,
                    zjob_status_name ((zjob_status_t) job->status),
                    zjob_cli_format_duration (waited_ms, waited, sizeof waited), advice);
    return ZJOB_EXIT_TIMEOUT;
}

int
zjob_cli_cmd_wait (zjob_cli_t *cli, int argc, char *argv [])
{
    const char *id = NULL;
    int rc = zjob_cli_parse_id_command (cli, argc, argv, &id);
    if (rc != ZJOB_CLI_CONTINUE)
        return rc;
    zjob_error_t err;
    int status;
    while (true) {
        int64_t left = zjob_cli_time_left (cli);
        int chunk = left < 0 ? S_WAIT_CHUNK_MS : (int) left;
        status = zjob_client_wait (zjob_cli_client (cli), id, chunk, &err);
        if (status >= 0 || err.code != ZJOB_ACCEPTED || left >= 0 || zsys_interrupted)
            break;
    }
    if (status < 0 && err.code != ZJOB_ACCEPTED)
        return zjob_cli_fail (cli, &err);
    //  The job as it is, even when the time is up: one request more to read it
    int64_t bound = cli->timeout_ms;
    cli->timeout_ms = -1;
    zjob_job_t *job = zjob_client_get (zjob_cli_client (cli), id, &err);
    if (!job)
        return zjob_cli_fail (cli, &err);
    if (cli->json) {
        json_t *object = zjob_job_to_json (job);
        zjob_cli_print_json (object, false);
        json_decref (object);
    }
    if (status < 0)
        rc = s_timed_out (cli, job, bound, "wait longer with --timeout, or follow it "
                                           "with 'zjob watch ID'");
    else {
        if (!cli->json)
            s_print_outcome (job);
        rc = s_job_exit (job);
    }
    zjob_job_destroy (&job);
    return rc;
}


//  --------------------------------------------------------------------------
//  watch

//  What watch last showed, so that a poll shows only changes
typedef struct {
    const char *id;  //  The job watched
    int status;      //  -1 before the first
    float progress;
    char message [ZJOB_MESSAGE_MAX + 1];
    bool bar;  //  A progress bar line is open
} s_watch_t;

//  An event made from the job, when a poll finds a change
static void
s_event_from_job (const zjob_job_t *job, const char *type, zjob_event_info_t *event)
{
    memset (event, 0, sizeof *event);
    snprintf (event->type, sizeof event->type, "%s", type);
    event->time = job->updated_at;
    snprintf (event->id, sizeof event->id, "%s", job->id);
    snprintf (event->workflow_id, sizeof event->workflow_id, "%s", job->workflow_id);
    event->status = job->status;
    event->old_status = -1;
    event->attempts = job->attempts;
    event->progress = job->progress;
    snprintf (event->worker_id, sizeof event->worker_id, "%s",
              job->worker_id ? job->worker_id : "");
    snprintf (event->error_kind, sizeof event->error_kind, "%s",
              job->error_kind ? job->error_kind : "");
    const char *message = job->status == ZJOB_FAILED ? job->error_message
                                                     : job->progress_message;
    snprintf (event->message, sizeof event->message, "%s", message ? message : "");
}

//  An event as one JSON object on one line
static void
s_watch_json (const zjob_event_info_t *event, const char *status)
{
    char iso [ZJOB_ISO_TIME_LEN];
    json_t *object = json_pack ("{s:s, s:s, s:I, s:s, s:s, s:s}", "type", event->type,
                                "time", zjob_iso_time (event->time, iso),
                                "time_ms", (json_int_t) event->time, "id", event->id,
                                "workflow_id", event->workflow_id, "status", status);
    json_object_set_new (object, "progress",
                         json_real ((double) (int) (event->progress * 10000.0f + 0.5f)
                                    / 10000.0));
    json_object_set_new (object, "attempts", json_integer (event->attempts));
    json_object_set_new (object, "worker_id", *event->worker_id ? json_string (event->worker_id) : json_null ());
    json_object_set_new (object, "error_kind", *event->error_kind ? json_string (event->error_kind) : json_null ());
    json_object_set_new (object, "message", *event->message ? json_string (event->message) : json_null ());
    zjob_cli_print_json (object, true);
    json_decref (object);
}

//  An event as one line of text: time, type, what it says
static void
s_watch_text (const zjob_event_info_t *event, int percent)
{
    char details [ZJOB_MESSAGE_MAX + 1024] = "";
    size_t used = 0;
    if (streq (event->type, "progress"))
        snprintf (details, sizeof details, "%d%%%s%s", percent, *event->message ? "  " : "",
                  event->message);
    else {
        bool running = event->status == ZJOB_RUNNING;
        if (event->attempts && running)
            used += (size_t) snprintf (details + used, sizeof details - used, "attempt %u  ",
                                       event->attempts);
        if (*event->worker_id && running)
            used += (size_t) snprintf (details + used, sizeof details - used, "worker %s  ",
                                       event->worker_id);
        if (*event->error_kind || (event->status == ZJOB_FAILED && *event->message))
            snprintf (details + used, sizeof details - used, "%s%s%s", event->error_kind,
                      *event->error_kind ? ": " : "", event->message);
    }
    char iso [ZJOB_ISO_TIME_LEN];
    char line [sizeof details + 64];
    size_t length = (size_t) snprintf (line, sizeof line, "%s  %-9s  %s",
                                       zjob_iso_time (event->time, iso), event->type, details);
    if (length >= sizeof line)
        length = sizeof line - 1;
    while (length > 0 && line [length - 1] == ' ')
        line [--length] = '\0';  //  No trailing blanks
    puts (line);
}

static void
s_watch_show (zjob_cli_t *cli, s_watch_t *watch, const zjob_event_info_t *event)
{
    bool is_progress = streq (event->type, "progress");
    if (event->status >= 0)
        watch->status = event->status;
    if (is_progress || event->progress > 0)
        watch->progress = event->progress;
    if (watch->status == ZJOB_COMPLETED)
        watch->progress = 1.0f;  //  Whatever the worker last said
    //  Only progress sets the progress message: a status event's message
    //  may be an error (failed, retrying, timed_out), which the job's
    //  progress_message is not, and a poll would then see a change
    if (is_progress)
        snprintf (watch->message, sizeof watch->message, "%s", event->message);
    const char *status = watch->status >= 0 ? zjob_status_name ((zjob_status_t) watch->status)
                                            : "?";
    int percent = (int) (watch->progress * 100.0f + 0.5f);
    if (cli->json)
        s_watch_json (event, status);
    else if (cli->tty) {
        //  One line, redrawn in place, as wide as the terminal allows
        char line [1024];
        zjob_cli_progress_line (line, sizeof line, zjob_cli_terminal_width (STDOUT_FILENO),
                                event->id, status, percent,
                                watch->status == ZJOB_FAILED ? event->message : watch->message);
        printf ("\r\033[K%s", line);
        watch->bar = true;
    }
    else
        s_watch_text (event, percent);
    fflush (stdout);
}

//  End the progress bar's line, if one is open
static void
s_watch_end_bar (s_watch_t *watch)
{
    if (watch->bar) {
        printf ("\n");
        watch->bar = false;
    }
}

//  Read the job as stored and show what the events missed, if anything.
//  Returns 0, or an exit code after saying why (*job_p then unchanged).
static int
s_watch_poll (zjob_cli_t *cli, s_watch_t *watch, zjob_job_t **job_p)
{
    zjob_error_t err;
    zjob_job_t *fresh = zjob_client_get (zjob_cli_client (cli), watch->id, &err);
    if (!fresh) {
        s_watch_end_bar (watch);
        return zjob_cli_fail (cli, &err);
    }
    zjob_job_destroy (job_p);
    *job_p = fresh;
    zjob_event_info_t event;
    const char *message = fresh->progress_message ? fresh->progress_message : "";
    if (fresh->status != watch->status) {
        s_event_from_job (fresh, zjob_status_name ((zjob_status_t) fresh->status), &event);
        s_watch_show (cli, watch, &event);
    }
    else if (fresh->progress != watch->progress || strcmp (message, watch->message)) {
        s_event_from_job (fresh, "progress", &event);
        s_watch_show (cli, watch, &event);
    }
    return 0;
}

//  Follow the job until finished, with *job_p as first read. Returns
//  ZJOB_CLI_CONTINUE when it is finished (*job_p then as finished), or an
//  exit code after saying why.
static int
s_watch_follow (zjob_cli_t *cli, zjob_events_t *events, s_watch_t *watch,
                zjob_job_t **job_p)
{
    zjob_error_t err;
    zjob_event_info_t event;
    int64_t bound = cli->timeout_ms;
    int64_t deadline = bound >= 0 ? cli->started + bound : INT64_MAX;
    int64_t next_poll = zjob_mono_ms () + S_WATCH_POLL_MS;
    while (!zjob_status_terminal ((zjob_status_t) (*job_p)->status)) {
        int64_t now = zjob_mono_ms ();
        int64_t until = next_poll < deadline ? next_poll : deadline;
        if (zjob_events_recv (events, &event, until > now ? (int) (until - now) : 0, &err) == 0
            && streq (event.id, watch->id)) {
            if (streq (event.type, "deleted")) {
                s_watch_end_bar (watch);
                zjob_cli_error (cli, "job %s was deleted", watch->id);
                return ZJOB_EXIT_NOT_FOUND;
            }
            s_watch_show (cli, watch, &event);
            if (event.status < 0 || !zjob_status_terminal ((zjob_status_t) event.status))
                continue;
            next_poll = 0;  //  Finished: read the job at once
        }
        if (zsys_interrupted)
            return ZJOB_EXIT_INTERRUPTED;
        if (zjob_mono_ms () >= deadline) {
            cli->timeout_ms = -1;  //  One read more, to report the job as it is
            next_poll = 0;
        }
        if (zjob_mono_ms () >= next_poll) {
            int rc = s_watch_poll (cli, watch, job_p);
            if (rc)
                return rc;
            next_poll = zjob_mono_ms () + S_WATCH_POLL_MS;
        }
        if (cli->timeout_ms < 0 && bound >= 0
            && !zjob_status_terminal ((zjob_status_t) (*job_p)->status)) {
            s_watch_end_bar (watch);
            return s_timed_out (cli, *job_p, bound, "watch longer with --timeout");
        }
    }
    return ZJOB_CLI_CONTINUE;
}

int
zjob_cli_cmd_watch (zjob_cli_t *cli, int argc, char *argv [])
{
    const char *id = NULL;
    int rc = zjob_cli_parse_id_command (cli, argc, argv, &id);
    if (rc != ZJOB_CLI_CONTINUE)
        return rc;
    zjob_error_t err;
    zjob_events_t *events = zjob_cli_events_open (cli);
    if (!events)
        return ZJOB_EXIT_BAD_INPUT;
    //  Subscribed before the job is read, so no change falls in between
    //  (one that comes before the broker sees the subscription is found
    //  by the polls)
    zjob_job_t *job = NULL;
    s_watch_t watch = { .id = id, .status = -1 };
    if (zjob_events_subscribe (events, NULL, NULL, id, &err))
        rc = zjob_cli_fail (cli, &err);
    else if (!(job = zjob_client_get (zjob_cli_client (cli), id, &err)))
        rc = zjob_cli_fail (cli, &err);
    else {
        zjob_event_info_t event;
        s_event_from_job (job, zjob_status_name ((zjob_status_t) job->status), &event);
        s_watch_show (cli, &watch, &event);
        rc = s_watch_follow (cli, events, &watch, &job);
    }
    s_watch_end_bar (&watch);
    if (rc == ZJOB_CLI_CONTINUE) {
        if (!cli->json)
            s_print_outcome (job);
        rc = s_job_exit (job);
    }
    else if (rc == ZJOB_EXIT_INTERRUPTED)
        zjob_cli_error (cli, "interrupted");
    zjob_job_destroy (&job);
    zjob_events_destroy (&events);
    return rc;
}
