/*  =========================================================================
    cli_events - `zjob events`: follow every event of the broker

        zjob events [--workflow W] [--type T] [--job ID] [--json]

    A tail -f of the broker's events socket (PROTOCOL.md 11), where
    `zjob watch` follows one job. It subscribes through libzjob's
    subscriber (zjob_events_t, with the command's --cert and --broker-key)
    to the narrowest topic prefix the criteria allow (the job's, else the
    workflow's, else the type's, each narrowed by the type), and checks
    every criterion on the event itself, since the message is the truth
    (a name may hold '/', so a prefix can match more than asked).

    Output is one line per event, flushed at once so that a pipe sees it:
    text "TIME TYPE JOB_ID WORKFLOW (details)" with the time ISO 8601 in
    local time with its offset, as the logs have it, "-" for what a
    worker or queue event lacks; or with --json one object per line.

    It runs until SIGINT or SIGTERM (exit 0), or until --timeout if given
    (exit 0 too: following is all it does). The broker is asked for a PING
    at the start (zjob_cli_connect: a key it refuses exits 10, no broker
    5, as every command) and every S_EVENTS_PING_MS after, since a SUB
    never says that its broker went away or stopped taking its key.
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli_commands.h"
#include "cli_output.h"

#define S_EVENTS_PING_MS 5000  //  msecs between checks that the broker answers
#define S_TIME_MAX 64          //  bytes of an event's ISO 8601 time, with the NUL (30 used)

//  The criteria, from the options (borrowed from argv); NULL: any
typedef struct {
    const char *workflow;
    const char *type;
    const char *job;
} s_criteria_t;

//  ms UTC as local ISO 8601 with milliseconds and the offset from UTC
//  ("2026-12-06T03:47:38.123+00:00"), as zjob_log_time writes now
static const char *
s_time (int64_t ms, char *buf, size_t size)
{
    time_t seconds = (time_t) (ms / 1000);
    struct tm local;
    if (!localtime_r (&seconds, &local)) {
        snprintf (buf, size, "%" PRId64, ms);
        return buf;
    }
    char date [32], zone [8];
    strftime (date, sizeof (date), "%Y-%m-%dT%H:%M:%S", &local);
    strftime (zone, sizeof (zone), "%z", &local);  //  "+0100": ISO 8601 wants "+01:00"
    snprintf (buf, size, "%s.%03u%.3s:%.2s", date, (unsigned) (ms % 1000), zone,
              strlen (zone) >= 5 ? zone + 3 : "00");
    return buf;
}

//  True if event meets every criterion
static bool
s_matches (const s_criteria_t *criteria, const zjob_event_info_t *event)
{
    return (!criteria->workflow || streq (event->workflow_id, criteria->workflow))
        && (!criteria->type || streq (event->type, criteria->type))
        && (!criteria->job || streq (event->id, criteria->job));
}

//  Append to buf (size bytes, used so far) one detail, ", " between them
static void
s_detail (char *buf, size_t size, size_t *used, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));
static void
s_detail (char *buf, size_t size, size_t *used, const char *format, ...)
{
    if (*used + 3 >= size)
        return;
    if (*used) {
        memcpy (buf + *used, ", ", 3);
        *used += 2;
    }
    va_list args;
    va_start (args, format);
    int written = vsnprintf (buf + *used, size - *used, format, args);
    va_end (args);
    if (written > 0)
        *used = *used + (size_t) written < size ? *used + (size_t) written : size - 1;
}

//  True if a message without an error kind says something: a worker's
//  reason for leaving, a schedule's name, a retry's or a timeout's cause,
//  not a running or completed job's last progress message
static bool
s_message_news (const zjob_event_info_t *event)
{
    return event->status < 0 || event->status == ZJOB_FAILED
        || !streq (event->type, zjob_status_name ((zjob_status_t) event->status));
}

//  One event as a line of text
static void
s_print_text (const zjob_event_info_t *event)
{
    char details [ZJOB_MESSAGE_MAX + 256] = "";
    size_t used = 0;
    bool progress = streq (event->type, "progress");
    if (*event->worker_id)
        s_detail (details, sizeof (details), &used, "worker %s", event->worker_id);
    if (event->attempts && event->status == ZJOB_RUNNING && !progress)
        s_detail (details, sizeof (details), &used, "attempt %u", event->attempts);
    if (progress)
        s_detail (details, sizeof (details), &used, "%d%%%s%s",
                  (int) (event->progress * 100.0f + 0.5f), *event->message ? " " : "",
                  event->message);
    else if (*event->error_kind)
        s_detail (details, sizeof (details), &used, "%s%s%s", event->error_kind,
                  *event->message ? ": " : "", event->message);
    else if (*event->message && s_message_news (event))
        s_detail (details, sizeof (details), &used, "%s", event->message);
    //  One line whatever an error message holds (a command's stderr)
    for (char *c = details; *c; c++)
        if ((unsigned char) *c < 0x20)
            *c = ' ';
    char time [S_TIME_MAX];
    printf ("%s %s %s %s%s%s%s\n", s_time (event->time, time, sizeof (time)), event->type,
            *event->id ? event->id : "-", *event->workflow_id ? event->workflow_id : "-",
            used ? " (" : "", details, used ? ")" : "");
    fflush (stdout);
}

//  A string member, null when empty
static json_t *
s_json_str (const char *value)
{
    return *value ? json_string (value) : json_null ();
}

//  One event as one JSON object on one line: the EVENT's fields (PROTOCOL.md
//  11.2) as libzjob decodes them, null where the event has none
static void
s_print_json (const zjob_event_info_t *event)
{
    char time [S_TIME_MAX];
    json_t *object = json_object ();
    json_object_set_new (object, "seq", json_integer ((json_int_t) event->seq));
    json_object_set_new (object, "type", json_string (event->type));
    json_object_set_new (object, "time", json_string (s_time (event->time, time, sizeof (time))));
    json_object_set_new (object, "time_ms", json_integer ((json_int_t) event->time));
    json_object_set_new (object, "id", s_json_str (event->id));
    json_object_set_new (object, "workflow_id", s_json_str (event->workflow_id));
    json_object_set_new (object, "user_id", s_json_str (event->user_id));
    json_object_set_new (object, "status",
                         event->status >= 0
                             ? json_string (zjob_status_name ((zjob_status_t) event->status))
                             : json_null ());
    json_object_set_new (object, "old_status",
                         event->old_status >= 0
                             ? json_string (zjob_status_name ((zjob_status_t) event->old_status))
                             : json_null ());
    json_object_set_new (object, "attempts", json_integer (event->attempts));
    json_object_set_new (object, "progress",
                         json_real ((double) (int) (event->progress * 10000.0f + 0.5f)
                                    / 10000.0));
    json_object_set_new (object, "worker_id", s_json_str (event->worker_id));
    json_object_set_new (object, "error_kind", s_json_str (event->error_kind));
    json_object_set_new (object, "message", s_json_str (event->message));
    zjob_cli_print_json (object, true);  //  Flushed: a pipe sees each line
    json_decref (object);
}

//  Parse the options into criteria. Returns ZJOB_CLI_CONTINUE with the
//  broker connected, or the exit code.
static int
s_parse (zjob_cli_t *cli, int argc, char *argv [], s_criteria_t *criteria)
{
    enum { S_OPT_TYPE = 1950,
           S_OPT_JOB };
    static const struct option options [] = {
        { "workflow", required_argument, NULL, 'w' },
        { "type", required_argument, NULL, S_OPT_TYPE },
        { "job", required_argument, NULL, S_OPT_JOB },
        ZJOB_CLI_COMMON_OPTIONS
    };
    int opt, rc;
    zjob_cli_getopt_reset ();
    while ((opt = zjob_cli_getopt (cli, argc, argv, "w:", options, &rc)) != -1) {
        if (opt == 'w')
            criteria->workflow = optarg;
        else if (opt == S_OPT_TYPE)
            criteria->type = optarg;
        else if (opt == S_OPT_JOB)
            criteria->job = optarg;
        else
            return zjob_cli_getopt_end (cli, opt, rc);
    }
    if (optind < argc)
        return zjob_cli_usage (cli, "unexpected argument '%s'", argv [optind]);
    if (criteria->workflow && !zjob_name_valid (criteria->workflow))
        return zjob_cli_bad_value (cli, "--workflow: '%s' is not a workflow name",
                                   criteria->workflow);
    if (criteria->type && (!zjob_name_valid (criteria->type) || strchr (criteria->type, '/')))
        return zjob_cli_bad_value (cli, "--type: '%s' is not an event type (completed, "
                                        "failed, progress, worker_joined...)",
                                   criteria->type);
    if (criteria->job && (rc = zjob_cli_check_id (cli, criteria->job)) != 0)
        return rc;
    rc = zjob_cli_connect (cli);
    return rc ? rc : ZJOB_CLI_CONTINUE;
}

//  Print the events that meet criteria until a signal, --timeout, or a
//  broker that stops answering. Returns the exit code.
static int
s_follow (zjob_cli_t *cli, zjob_events_t *events, const s_criteria_t *criteria)
{
    int64_t deadline = cli->timeout_ms >= 0 ? cli->started + cli->timeout_ms : INT64_MAX;
    int64_t next_ping = zjob_mono_ms () + S_EVENTS_PING_MS;
    zjob_error_t err;
    while (!zsys_interrupted) {
        int64_t now = zjob_mono_ms ();
        if (now >= deadline)
            return ZJOB_EXIT_OK;
        if (now >= next_ping) {
            if (zjob_client_ping (zjob_cli_client (cli), &err) != 0)
                return zsys_interrupted ? ZJOB_EXIT_OK : zjob_cli_fail (cli, &err);
            next_ping = zjob_mono_ms () + S_EVENTS_PING_MS;
            continue;
        }
        int64_t until = next_ping < deadline ? next_ping : deadline;
        zjob_event_info_t event;
        if (zjob_events_recv (events, &event, (int) (until - now), &err) == 0
            && s_matches (criteria, &event)) {
            if (cli->json)
                s_print_json (&event);
            else
                s_print_text (&event);
        }
    }
    return ZJOB_EXIT_OK;  //  SIGINT, SIGTERM: the way to stop following
}

int
zjob_cli_cmd_events (zjob_cli_t *cli, int argc, char *argv [])
{
    s_criteria_t criteria = { NULL, NULL, NULL };
    int rc = s_parse (cli, argc, argv, &criteria);
    if (rc != ZJOB_CLI_CONTINUE)
        return rc;
    zjob_error_t err;
    zjob_events_t *events = zjob_events_new_with (cli->events, &cli->keys, &err);
    if (!events) {
        zjob_cli_error (cli, "cannot use events endpoint '%s': %s (give tcp://HOST:PORT with "
                             "--events or ZJOB_EVENTS)",
                        cli->events, err.text);
        return ZJOB_EXIT_BAD_INPUT;
    }
    //  The narrowest prefix: the job's, else the workflow's, else the type's
    if (zjob_events_subscribe (events, criteria.type, criteria.job ? NULL : criteria.workflow,
                               criteria.job, &err))
        rc = zjob_cli_fail (cli, &err);
    else
        rc = s_follow (cli, events, &criteria);
    zjob_events_destroy (&events);
    return rc;
}
