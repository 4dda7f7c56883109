/*  =========================================================================
    cli_admin - the zjob commands about the broker as a whole: cleanup,
    stats, workers, metrics

    stats shows what the broker's STATS reply holds (PROTOCOL.md 9.9), and
    reads the fields newer brokers add (scheduled, max_concurrent,
    held_by_limit) when they are there, computing what it can without
    them (scheduled = by_status.queued - queued), so that it works against
    older brokers too. --json prints the reply with its keys sorted, the
    store's figures as numbers when they are numbers, and times (workers)
    as ISO-8601 beside their milliseconds, as jobs have them.
    ========================================================================= */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_commands.h"
#include "cli_args.h"
#include "cli_output.h"

int
zjob_cli_cmd_cleanup (zjob_cli_t *cli, int argc, char *argv [])
{
    static const struct option options [] = {
        { "older-than", required_argument, NULL, ZJOB_OPT_OLDER_THAN },
        ZJOB_CLI_COMMON_OPTIONS
    };
    int64_t retention = -1;
    int opt, rc;
    zjob_cli_getopt_reset ();
    while ((opt = zjob_cli_getopt (cli, argc, argv, "", options, &rc)) != -1) {
        if (opt != ZJOB_OPT_OLDER_THAN)
            return zjob_cli_getopt_end (cli, opt, rc);
        retention = zjob_cli_parse_duration (optarg);
        if (retention < 0)
            return zjob_cli_bad_value (cli, "--older-than: '%s' is not a duration (1h, 7d...)",
                                       optarg);
    }
    if (optind < argc)
        return zjob_cli_usage (cli, "unexpected argument '%s'", argv [optind]);
    rc = zjob_cli_connect (cli);
    if (rc)
        return rc;
    zjob_error_t err;
    int deleted = zjob_client_cleanup (zjob_cli_client (cli), retention, &err);
    if (deleted < 0)
        return zjob_cli_fail (cli, &err);
    if (cli->json) {
        json_t *object = json_pack ("{s:i}", "deleted", deleted);
        zjob_cli_print_json (object, false);
        json_decref (object);
    }
    else {
        printf ("deleted %d finished job%s\n", deleted, deleted == 1 ? "" : "s");
        fflush (stdout);
    }
    return ZJOB_EXIT_OK;
}


//  --------------------------------------------------------------------------
//  stats

//  An integer of a JSON object
static json_int_t
s_int (json_t *object, const char *key)
{
    return json_integer_value (json_object_get (object, key));
}

//  Queued jobs waiting for their run_at: the broker's figure, or computed
static json_int_t
s_scheduled (json_t *stats)
{
    json_t *scheduled = json_object_get (stats, "scheduled");
    if (json_is_integer (scheduled))
        return json_integer_value (scheduled);
    json_int_t value = s_int (json_object_get (stats, "by_status"), "queued")
        - s_int (stats, "queued");
    return value > 0 ? value : 0;
}

//  The queue controls: paused queues, and the workflows whose ready jobs
//  a pause or a limit holds back (zjob queue list says more)
static void
s_print_queues (json_t *stats)
{
    json_int_t paused = s_int (stats, "paused_queues");
    json_t *held = json_object_get (stats, "held");
    if (paused > 0)
        printf ("%-10s %" JSON_INTEGER_FORMAT " paused (zjob queue list)\n", "queues", paused);
    const char *workflow;
    json_t *reason;
    json_object_foreach (held, workflow, reason)
    {
        const char *why = json_string_value (reason);
        printf ("%-10s %s: ready jobs held back by %s\n", "held", workflow,
                why && streq (why, "paused")            ? "its paused queue"
                    : why && streq (why, "rate")        ? "its rate limit"
                    : why && streq (why, "concurrency") ? "its concurrency limit"
                    : why                               ? why
                                                        : "?");
    }
}

//  "N of LIMIT WHAT" into buf, or "N WHAT (no limit)" when limit is 0
static const char *
s_of_limit (json_int_t value, json_int_t limit, const char *what, char *buf, size_t size)
{
    if (limit > 0)
        snprintf (buf, size, "%" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT " %s", value,
                  limit, what);
    else
        snprintf (buf, size, "%" JSON_INTEGER_FORMAT " %s (no limit)", value, what);
    return buf;
}

//  What --max-queued and --max-queued-bytes bound (brokers before issue
//  #12 send none of it)
static void
s_print_limits (json_t *stats)
{
    if (!json_is_integer (json_object_get (stats, "queued_jobs")))
        return;
    char jobs [96], bytes [96];
    printf ("%-10s %s, %s\n", "not run",
            s_of_limit (s_int (stats, "queued_jobs"), s_int (stats, "max_queued"),
                        "jobs not yet run", jobs, sizeof jobs),
            s_of_limit (s_int (stats, "queued_bytes"), s_int (stats, "max_queued_bytes"),
                        "bytes of their inputs", bytes, sizeof bytes));
}

//  The lines above the table: jobs, queue, limit, workers, rates, uptime
static void
s_print_stats_head (json_t *stats)
{
    char buf [64];
    json_int_t queued = s_int (json_object_get (stats, "by_status"), "queued");
    printf ("%-10s %" JSON_INTEGER_FORMAT " stored\n", "jobs", s_int (stats, "jobs"));
    printf ("%-10s %" JSON_INTEGER_FORMAT " queued: %" JSON_INTEGER_FORMAT " ready, %" JSON_INTEGER_FORMAT " scheduled; %" JSON_INTEGER_FORMAT " held by workers\n",
            "queue", queued, s_int (stats, "queued"), s_scheduled (stats),
            s_int (stats, "active"));
    //  The failures (brokers before issue #10 send neither figure)
    json_t *retrying = json_object_get (stats, "retrying");
    json_t *dead = json_object_get (stats, "dead");
    if (json_is_integer (retrying) || json_is_integer (dead))
        printf ("%-10s %" JSON_INTEGER_FORMAT " retrying (queued for a later attempt), %" JSON_INTEGER_FORMAT " dead (failed for good: zjob list --dead)\n",
                "failures", json_integer_value (retrying),
                json_is_integer (dead) ? json_integer_value (dead)
                                       : s_int (json_object_get (stats, "by_status"), "failed"));
    json_int_t limit = s_int (stats, "max_concurrent");
    if (limit > 0) {
        printf ("%-10s %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT " held at once",
                "limit", s_int (stats, "active"), limit);
        if (json_is_true (json_object_get (stats, "held_by_limit")))
            printf ("; ready jobs held back by --max-concurrent %" JSON_INTEGER_FORMAT, limit);
        printf ("\n");
    }
    s_print_limits (stats);
    s_print_queues (stats);
    printf ("%-10s %" JSON_INTEGER_FORMAT " connected, %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT " slots busy\n", "workers", s_int (stats, "workers"),
            s_int (stats, "busy"), s_int (stats, "slots"));
    json_t *rates = json_object_get (stats, "rates");
    printf ("%-10s %.1f submitted/s, %.1f completed/s, %.1f failed/s (over the last %s)\n",
            "rates", json_number_value (json_object_get (rates, "submitted")),
            json_number_value (json_object_get (rates, "completed")),
            json_number_value (json_object_get (rates, "failed")),
            zjob_cli_format_duration (s_int (stats, "rate_window_ms"), buf, sizeof buf));
    printf ("%-10s %s\n", "uptime",
            zjob_cli_format_duration (s_int (stats, "uptime_ms"), buf, sizeof buf));
    if (json_is_integer (json_object_get (stats, "templates")))
        printf ("%-10s %" JSON_INTEGER_FORMAT " stored (zjob template list)\n", "templates",
                s_int (stats, "templates"));
}

//  A row of the by-status table: the counts of each status and their total
static void
s_stats_row (zjob_cli_table_t *table, const char *workflow, json_t *counts)
{
    char cells [ZJOB_STATUS_COUNT + 1][24];
    const char *row [ZJOB_STATUS_COUNT + 2] = { workflow };
    json_int_t total = 0;
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++) {
        json_int_t count = s_int (counts, zjob_status_name ((zjob_status_t) status));
        total += count;
        snprintf (cells [status], sizeof cells [status], "%" JSON_INTEGER_FORMAT, count);
        row [status + 1] = cells [status];
    }
    snprintf (cells [ZJOB_STATUS_COUNT], sizeof cells [0], "%" JSON_INTEGER_FORMAT, total);
    row [ZJOB_STATUS_COUNT + 1] = cells [ZJOB_STATUS_COUNT];
    zjob_cli_table_add (table, row);
}

void
zjob_cli_print_stats (json_t *stats)
{
    s_print_stats_head (stats);
    //  Jobs by status, all of them and per workflow
    const char *header [ZJOB_STATUS_COUNT + 2] = { "WORKFLOW" };
    char names [ZJOB_STATUS_COUNT][16];
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++) {
        const char *name = zjob_status_name ((zjob_status_t) status);
        size_t index = 0;
        for (; index < 15 && name [index]; index++)
            names [status][index] = (char) toupper ((unsigned char) name [index]);
        names [status][index] = '\0';
        header [status + 1] = names [status];
    }
    header [ZJOB_STATUS_COUNT + 1] = "TOTAL";
    zjob_cli_table_t *table = zjob_cli_table_new (ZJOB_STATUS_COUNT + 2, header);
    if (!table)
        return;
    s_stats_row (table, "(all)", json_object_get (stats, "by_status"));
    const char *workflow;
    json_t *counts;
    json_object_foreach (json_object_get (stats, "by_workflow"), workflow, counts)
        s_stats_row (table, workflow, counts);
    printf ("\n");
    zjob_cli_table_print (table, "");
    zjob_cli_table_destroy (&table);

    json_t *store = json_object_get (stats, "store");
    if (json_object_size (store)) {
        printf ("\nstore\n");
        const char *key;
        json_t *value;
        json_object_foreach (store, key, value)
        {
            char *text = json_is_string (value) ? NULL : zjob_json_dumps (value, 0);
            printf ("  %-24s %s\n", key, text ? text : json_string_value (value));
            free (text);
        }
    }
    fflush (stdout);
}

//  The store's figures that are numbers as text ("1234", "0.5") as numbers
static void
s_store_numbers (json_t *store)
{
    const char *key;
    json_t *value;
    json_object_foreach (store, key, value)
    {
        const char *text = json_string_value (value);
        if (!text || !*text || strspn (text, "-0123456789.eE+") != strlen (text))
            continue;
        char *end;
        if (strchr (text, '.') || strchr (text, 'e') || strchr (text, 'E')) {
            double real = strtod (text, &end);
            if (!*end)
                json_object_set_new (store, key, json_real (real));
        }
        else {
            long long integer = strtoll (text, &end, 10);
            if (!*end)
                json_object_set_new (store, key, json_integer (integer));
        }
    }
}

int
zjob_cli_cmd_stats (zjob_cli_t *cli, int argc, char *argv [])
{
    int rc = zjob_cli_parse_plain (cli, argc, argv);
    if (rc != ZJOB_CLI_CONTINUE)
        return rc;
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_stats (zjob_cli_client (cli), &err);
    if (!reply)
        return zjob_cli_fail (cli, &err);
    json_t *stats = zjob_msgpack_object_to_json (zjob_msg_body (zjob_reply_msg (reply)));
    if (cli->json) {
        s_store_numbers (json_object_get (stats, "store"));
        if (!json_object_get (stats, "scheduled"))
            json_object_set_new (stats, "scheduled", json_integer (s_scheduled (stats)));
        json_t *sorted = zjob_cli_json_sorted (stats);
        zjob_cli_print_json (sorted, false);
        json_decref (sorted);
    }
    else
        zjob_cli_print_stats (stats);
    json_decref (stats);
    zjob_reply_destroy (&reply);
    return ZJOB_EXIT_OK;
}


//  --------------------------------------------------------------------------
//  workers

//  A time of a worker (ms UTC) as ISO-8601, and the ms under KEY_ms
static void
s_iso_key (json_t *worker, const char *key)
{
    json_t *value = json_object_get (worker, key);
    if (!json_is_integer (value))
        return;
    json_int_t ms = json_integer_value (value);
    char iso [ZJOB_ISO_TIME_LEN];
    char ms_key [64];
    snprintf (ms_key, sizeof ms_key, "%s_ms", key);
    json_object_set_new (worker, ms_key, json_integer (ms));
    json_object_set_new (worker, key, ms ? json_string (zjob_iso_time (ms, iso)) : json_null ());
}

static void
s_print_workers (json_t *workers)
{
    static const char *header [] = {
        "WORKER", "NAME", "WORKFLOWS", "SLOTS", "BUSY", "CREDIT", "CONNECTED", "LAST SEEN"
    };
    zjob_cli_table_t *table = zjob_cli_table_new (8, header);
    if (!table)
        return;
    int64_t now = zjob_clock_ms ();
    size_t index;
    json_t *worker;
    json_array_foreach (workers, index, worker)
    {
        char workflows [256] = "";
        size_t at;
        json_t *workflow;
        json_array_foreach (json_object_get (worker, "workflows"), at, workflow)
        {
            size_t used = strlen (workflows);
            snprintf (workflows + used, sizeof workflows - used, "%s%s", at ? "," : "",
                      json_string_value (workflow));
        }
        char slots [24], busy [24], credit [24], connected [32], seen [32];
        snprintf (slots, sizeof slots, "%" JSON_INTEGER_FORMAT, s_int (worker, "slots"));
        snprintf (busy, sizeof busy, "%" JSON_INTEGER_FORMAT, s_int (worker, "busy"));
        snprintf (credit, sizeof credit, "%" JSON_INTEGER_FORMAT, s_int (worker, "credit"));
        const char *cells [] = {
            json_string_value (json_object_get (worker, "worker_id")),
            json_string_value (json_object_get (worker, "name")), workflows, slots, busy,
            credit,
            zjob_cli_format_ago (s_int (worker, "connected_at"), now, connected,
                                 sizeof connected),
            zjob_cli_format_ago (s_int (worker, "last_seen"), now, seen, sizeof seen)
        };
        zjob_cli_table_add (table, cells);
    }
    size_t count = json_array_size (workers);
    if (count)
        zjob_cli_table_print (table, "");
    printf ("%zu worker%s connected\n", count, count == 1 ? "" : "s");
    fflush (stdout);
    zjob_cli_table_destroy (&table);
}

int
zjob_cli_cmd_workers (zjob_cli_t *cli, int argc, char *argv [])
{
    int rc = zjob_cli_parse_plain (cli, argc, argv);
    if (rc != ZJOB_CLI_CONTINUE)
        return rc;
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_workers (zjob_cli_client (cli), &err);
    if (!reply)
        return zjob_cli_fail (cli, &err);
    json_t *body = zjob_msgpack_object_to_json (zjob_msg_body (zjob_reply_msg (reply)));
    json_t *workers = json_object_get (body, "workers");
    if (cli->json) {
        size_t index;
        json_t *worker;
        json_array_foreach (workers, index, worker)
        {
            s_iso_key (worker, "connected_at");
            s_iso_key (worker, "last_seen");
        }
        zjob_cli_print_json (body, false);
    }
    else
        s_print_workers (workers);
    json_decref (body);
    zjob_reply_destroy (&reply);
    return ZJOB_EXIT_OK;
}

//  --------------------------------------------------------------------------
//  metrics: the broker's Prometheus text, as it is (--json: {format, text})

int
zjob_cli_cmd_metrics (zjob_cli_t *cli, int argc, char *argv [])
{
    int rc = zjob_cli_parse_plain (cli, argc, argv);
    if (rc != ZJOB_CLI_CONTINUE)
        return rc;
    zjob_error_t err;
    char *text = NULL;
    if (zjob_client_metrics (zjob_cli_client (cli), &text, &err))
        return zjob_cli_fail (cli, &err);
    if (cli->json) {
        json_t *body = json_pack ("{s:s, s:s}", "format", "prometheus-text-0.0.4", "text", text);
        zjob_cli_print_json (body, false);
        json_decref (body);
    }
    else
        fputs (text, stdout);
    free (text);
    return ZJOB_EXIT_OK;
}
