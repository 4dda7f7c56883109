/*  =========================================================================
    cli_queue - `zjob queue`: per-workflow queue controls

        zjob queue pause WORKFLOW
        zjob queue resume WORKFLOW
        zjob queue limit WORKFLOW [--concurrency N] [--rate R] [--burst B]
        zjob queue list

    pause, resume and limit print the workflow's queue as list does (one
    row); a limit of 0 clears it. --json prints the OK's "queues" as the
    broker sent them ({"queues": [...]}). Options not given to limit are
    left as they are, so `--rate 0` clears the rate and keeps the
    concurrency.
    ========================================================================= */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_commands.h"
#include "cli_args.h"
#include "cli_output.h"

//  Options of limit (values of their own, beyond the common ones)
enum { S_OPT_CONCURRENCY = 'c',
       S_OPT_RATE = 'r',
       S_OPT_BURST = 'b' };

//  A rate or a burst: a decimal number in 0..max, or -1
static double
s_number (const char *text, double max)
{
    char *end = NULL;
    double value = text && *text ? strtod (text, &end) : -1;
    if (!end || *end || isnan (value) || value < 0 || value > max)
        return -1;
    return value;
}

//  A rate for people: "5/s", "0.5/s", "-" for none
static const char *
s_format_rate (double rate, char *buf, size_t size)
{
    if (rate <= 0)
        return "-";
    snprintf (buf, size, "%g/s", rate);
    return buf;
}

static void
s_print_queues (zjob_msg_t *msg)
{
    static const char *header [] = { "WORKFLOW", "STATE", "QUEUED", "RUNNING",
                                     "CONCURRENCY", "RATE", "BURST", "HELD BY" };
    zjob_cli_table_t *table = zjob_cli_table_new (8, header);
    if (!table)
        return;
    size_t count = zjob_msg_queue_count (msg);
    for (size_t index = 0; index < count; index++) {
        zjob_queue_info_t queue;
        if (!zjob_msg_queue (msg, index, &queue))
            continue;
        char queued [24], running [24], concurrency [24], rate [32], burst [32];
        snprintf (queued, sizeof queued, "%" PRIu64, queue.queued);
        snprintf (running, sizeof running, "%" PRIu64, queue.running);
        if (queue.concurrency)
            snprintf (concurrency, sizeof concurrency, "%u", (unsigned) queue.concurrency);
        else
            snprintf (concurrency, sizeof concurrency, "-");
        if (queue.rate > 0)
            snprintf (burst, sizeof burst, "%g", queue.burst);
        else
            snprintf (burst, sizeof burst, "-");
        const char *cells [] = { queue.workflow_id, queue.paused ? "paused" : "active", queued,
                                 running, concurrency, s_format_rate (queue.rate, rate, sizeof rate),
                                 burst, queue.held_by ? queue.held_by : "-" };
        zjob_cli_table_add (table, cells);
    }
    if (count)
        zjob_cli_table_print (table, "");
    else
        printf ("no queues: no workflow has jobs or settings\n");
    fflush (stdout);
    zjob_cli_table_destroy (&table);
}

//  Print a QUEUE OK: JSON or a table
static int
s_print_reply (zjob_cli_t *cli, zjob_reply_t *reply)
{
    zjob_msg_t *msg = zjob_reply_msg (reply);
    if (cli->json) {
        json_t *body = zjob_msgpack_object_to_json (zjob_msg_body (msg));
        zjob_cli_print_json (body, false);
        json_decref (body);
    }
    else
        s_print_queues (msg);
    return ZJOB_EXIT_OK;
}

//  After pause, resume or limit: the workflow's queue as the broker has it
static int
s_show (zjob_cli_t *cli, const char *workflow)
{
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_queue_list (zjob_cli_client (cli), &err);
    if (!reply)
        return zjob_cli_fail (cli, &err);
    zjob_msg_t *msg = zjob_reply_msg (reply);
    size_t count = zjob_msg_queue_count (msg);
    int rc = ZJOB_EXIT_OK;
    for (size_t index = 0; index < count; index++) {
        zjob_queue_info_t queue;
        if (zjob_msg_queue (msg, index, &queue) && streq (queue.workflow_id, workflow)) {
            if (cli->json) {
                json_t *object = json_pack (
                    "{s:s,s:b,s:i,s:f,s:f,s:i,s:i,s:s?}", "workflow_id", queue.workflow_id,
                    "paused", queue.paused, "concurrency", (json_int_t) queue.concurrency, "rate",
                    queue.rate, "burst", queue.burst, "queued", (json_int_t) queue.queued,
                    "running", (json_int_t) queue.running, "held_by", queue.held_by);
                zjob_cli_print_json (object, false);
                json_decref (object);
            }
            else {
                char limit [32] = "none", rate [32], burst [32] = "";
                if (queue.concurrency)
                    snprintf (limit, sizeof limit, "%u", (unsigned) queue.concurrency);
                if (queue.rate > 0)
                    snprintf (burst, sizeof burst, " (burst %g)", queue.burst);
                printf ("%s: %s, concurrency %s, rate %s%s; %" PRIu64 " queued, %" PRIu64
                        " running%s%s\n",
                        workflow, queue.paused ? "paused" : "active", limit,
                        queue.rate > 0 ? s_format_rate (queue.rate, rate, sizeof rate) : "none",
                        burst, queue.queued, queue.running, queue.held_by ? "; held by " : "",
                        queue.held_by ? queue.held_by : "");
            }
            break;
        }
    }
    fflush (stdout);
    zjob_reply_destroy (&reply);
    return rc;
}

int
zjob_cli_cmd_queue (zjob_cli_t *cli, int argc, char *argv [])
{
    static const struct option options [] = {
        { "concurrency", required_argument, NULL, S_OPT_CONCURRENCY },
        { "rate", required_argument, NULL, S_OPT_RATE },
        { "burst", required_argument, NULL, S_OPT_BURST },
        ZJOB_CLI_COMMON_OPTIONS
    };
    int64_t concurrency = -1;
    double rate = -1, burst = -1;
    int opt, rc;
    zjob_cli_getopt_reset ();
    while ((opt = zjob_cli_getopt (cli, argc, argv, "", options, &rc)) != -1) {
        const char *value = optarg;
        if (opt == S_OPT_CONCURRENCY) {
            concurrency = zjob_cli_parse_count (value, 1000000);
            if (concurrency < 0)
                return zjob_cli_bad_value (cli, "--concurrency: '%s' is not a number in "
                                                "0..1000000",
                                           value);
        }
        else if (opt == S_OPT_RATE || opt == S_OPT_BURST) {
            double number = s_number (value, 1000000);
            if (number < 0)
                return zjob_cli_bad_value (cli, "--%s: '%s' is not a number in 0..1000000",
                                           opt == S_OPT_RATE ? "rate" : "burst", value);
            *(opt == S_OPT_RATE ? &rate : &burst) = number;
        }
        else
            return zjob_cli_getopt_end (cli, opt, rc);
    }
    const char *op = optind < argc ? argv [optind++] : NULL;
    if (!op)
        return zjob_cli_usage (cli, "pause, resume, limit or list?");
    bool list = streq (op, "list");
    bool limit = streq (op, "limit");
    if (!list && !limit && !streq (op, "pause") && !streq (op, "resume"))
        return zjob_cli_usage (cli, "'%s' is not pause, resume, limit or list", op);
    const char *workflow = list ? NULL : optind < argc ? argv [optind++]
                                                       : NULL;
    if (!list && !workflow)
        return zjob_cli_usage (cli, "%s: which workflow?", op);
    if (optind < argc)
        return zjob_cli_usage (cli, "unexpected argument '%s'", argv [optind]);
    if (!limit && (concurrency >= 0 || rate >= 0 || burst >= 0))
        return zjob_cli_usage (cli, "%s: --concurrency, --rate and --burst are limit's",
                               op);
    if (limit && concurrency < 0 && rate < 0 && burst < 0)
        return zjob_cli_usage (cli, "limit: --concurrency, --rate or --burst?");
    rc = zjob_cli_connect (cli);
    if (rc)
        return rc;
    zjob_error_t err;
    zjob_client_t *client = zjob_cli_client (cli);
    if (list) {
        zjob_reply_t *reply = zjob_client_queue_list (client, &err);
        if (!reply)
            return zjob_cli_fail (cli, &err);
        rc = s_print_reply (cli, reply);
        zjob_reply_destroy (&reply);
        return rc;
    }
    if (limit)
        rc = zjob_client_queue_limit (client, workflow, concurrency, rate, burst, &err);
    else if (streq (op, "pause"))
        rc = zjob_client_queue_pause (client, workflow, &err);
    else
        rc = zjob_client_queue_resume (client, workflow, &err);
    if (rc)
        return zjob_cli_fail (cli, &err);
    return s_show (cli, workflow);
}
