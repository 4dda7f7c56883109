/*  =========================================================================
    cli_batch - zjob batch show | watch | cancel | close | list

    A batch is made by `zjob submit ... --batch-id ID` (cli_jobs.c); these
    read and steer it through BATCH (zjob_client_batch_*). watch polls the
    batch every S_BATCH_POLL_MS (a batch's members each send events, so a
    poll of one small reply is cheaper than following them all) and shows
    a progress bar on a terminal, else a line per change; it exits when
    the batch has finished: 0 if every member completed, 6 if some failed
    or were cancelled, 7 at --timeout.
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli_commands.h"
#include "cli_args.h"
#include "cli_output.h"

#define S_BATCH_POLL_MS 500  //  msecs between watch's polls

//  --------------------------------------------------------------------------
//  submit's batch options

int
zjob_cli_batch_option (zjob_cli_t *cli, int opt, const char *arg, zjob_cli_batch_t *batch,
                       int *rc_p)
{
    switch (opt) {
        case ZJOB_OPT_BATCH_ID:
            if (!zjob_name_valid (arg)) {
                *rc_p = zjob_cli_bad_value (cli, "--batch-id: '%s' is not a name (1..%d "
                                                 "printable characters, no spaces)",
                                            arg, ZJOB_NAME_MAX);
                return -1;
            }
            batch->opts.id = arg;
            return 1;
        case ZJOB_OPT_BATCH_OPEN: batch->opts.open = true; return 1;
        case ZJOB_OPT_CALLBACK:
            batch->callback.workflow_id = arg;
            batch->callback.priority = ZJOB_PRIORITY_UNSET;
            batch->opts.callback = &batch->callback;
            return 1;
        case ZJOB_OPT_CALLBACK_INPUT: {
            //  k=v (v as JSON if it is JSON, else a string), or a JSON object
            if (!batch->inputs && !(batch->inputs = json_object ())) {
                *rc_p = ZJOB_EXIT_INTERNAL;
                return -1;
            }
            json_error_t error;
            json_t *value = NULL;
            const char *equals = strchr (arg, '=');
            if (arg [0] == '{') {
                value = json_loads (arg, 0, &error);
                if (!json_is_object (value)) {
                    json_decref (value);
                    *rc_p = zjob_cli_bad_value (cli, "--callback-input: '%s' is not a JSON "
                                                     "object",
                                                arg);
                    return -1;
                }
                json_object_update (batch->inputs, value);
                json_decref (value);
                return 1;
            }
            if (!equals || equals == arg) {
                *rc_p = zjob_cli_bad_value (cli, "--callback-input: '%s' is not KEY=VALUE", arg);
                return -1;
            }
            value = json_loads (equals + 1, JSON_DECODE_ANY, &error);
            if (!value)
                value = json_string (equals + 1);
            char key [ZJOB_NAME_MAX + 1];
            size_t len = (size_t) (equals - arg) < ZJOB_NAME_MAX ? (size_t) (equals - arg)
                                                                 : ZJOB_NAME_MAX;
            memcpy (key, arg, len);
            key [len] = 0;
            json_object_set_new (batch->inputs, key, value);
            return 1;
        }
        default: return 0;
    }
}

int
zjob_cli_batch_ready (zjob_cli_t *cli, zjob_cli_batch_t *batch)
{
    if (!batch->opts.id && (batch->opts.open || batch->opts.callback || batch->inputs))
        return zjob_cli_usage (cli, "--batch-open, --callback and --callback-input need "
                                    "--batch-id ID");
    if (batch->inputs && !batch->opts.callback)
        return zjob_cli_usage (cli, "--callback-input needs --callback WORKFLOW");
    if (!batch->opts.callback)
        return 0;
    if (!zjob_name_valid (batch->callback.workflow_id))
        return zjob_cli_bad_value (cli, "--callback: '%s' is not a workflow name",
                                   batch->callback.workflow_id);
    if (batch->inputs) {
        char *text = json_dumps (batch->inputs, JSON_COMPACT);
        zjob_error_t err;
        size_t size = 0;
        int rc = text ? zjob_json_to_msgpack (text, &batch->packed, &size, &err) : -1;
        free (text);
        if (rc)
            return zjob_cli_bad_value (cli, "--callback-input: cannot encode the inputs");
        batch->callback.inputs = batch->packed;
        batch->callback.inputs_size = size;
    }
    return 0;
}

void
zjob_cli_batch_free (zjob_cli_batch_t *batch)
{
    json_decref (batch->inputs);
    batch->inputs = NULL;
    free (batch->packed);
    batch->packed = NULL;
}


//  --------------------------------------------------------------------------
//  batch show, watch, cancel, close, list

//  A failed BATCH request: an unknown batch is said as such
static int
s_fail (zjob_cli_t *cli, const zjob_error_t *err)
{
    if (err->code != ZJOB_NOT_FOUND)
        return zjob_cli_fail (cli, err);
    zjob_cli_fail_json (cli, err->code, err->text);
    zjob_cli_error (cli, "%s ('zjob batch list' shows the batches)", err->text);
    return ZJOB_EXIT_NOT_FOUND;
}

static json_t *
s_batch_json (const zjob_batch_info_t *info)
{
    json_t *object = json_pack ("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "id", info->id,
                                "state", info->state, "total", (json_int_t) info->total,
                                "completed", (json_int_t) info->completed, "failed",
                                (json_int_t) info->failed, "cancelled",
                                (json_int_t) info->cancelled, "pending",
                                (json_int_t) info->pending, "created_at_ms",
                                (json_int_t) info->created_at);
    if (object && info->finished_at)
        json_object_set_new (object, "finished_at_ms", json_integer (info->finished_at));
    if (object && info->callback_workflow [0])
        json_object_set_new (object, "callback_workflow", json_string (info->callback_workflow));
    if (object && info->callback_job [0])
        json_object_set_new (object, "callback_job", json_string (info->callback_job));
    return object;
}

static void
s_print_batch (zjob_cli_t *cli, const zjob_batch_info_t *info)
{
    if (cli->json) {
        json_t *object = s_batch_json (info);
        zjob_cli_print_json (object, false);
        json_decref (object);
        return;
    }
    char when [64];
    printf ("batch      %s\n", info->id);
    printf ("state      %s\n", info->state);
    printf ("total      %" PRIu64 "\n", info->total);
    printf ("completed  %" PRIu64 "\n", info->completed);
    printf ("failed     %" PRIu64 "\n", info->failed);
    printf ("cancelled  %" PRIu64 "\n", info->cancelled);
    printf ("pending    %" PRIu64 "\n", info->pending);
    printf ("created    %s\n", zjob_cli_format_when (info->created_at, when, sizeof when));
    if (info->finished_at)
        printf ("finished   %s\n", zjob_cli_format_when (info->finished_at, when, sizeof when));
    if (info->callback_workflow [0])
        printf ("callback   %s%s%s\n", info->callback_workflow, info->callback_job [0] ? " job " : " (not yet)",
                info->callback_job);
    fflush (stdout);
}

//  The exit code of a batch as it is: 0 completed, 6 failed
static int
s_batch_exit (const zjob_batch_info_t *info)
{
    return streq (info->state, "failed") ? ZJOB_EXIT_JOB_FAILED : ZJOB_EXIT_OK;
}

static bool
s_finished (const zjob_batch_info_t *info)
{
    return streq (info->state, "completed") || streq (info->state, "failed");
}

//  One progress line (terminal: redrawn in place) or a line per change
static void
s_watch_show (zjob_cli_t *cli, const zjob_batch_info_t *info, bool *bar)
{
    uint64_t ended = info->completed + info->failed + info->cancelled;
    int percent = info->total ? (int) (ended * 100 / info->total) : 100;
    char counts [160];
    snprintf (counts, sizeof counts, "%" PRIu64 "/%" PRIu64 " done, %" PRIu64 " completed, %" PRIu64 " failed, %" PRIu64 " cancelled",
              ended, info->total, info->completed, info->failed, info->cancelled);
    if (cli->json) {
        json_t *object = s_batch_json (info);
        zjob_cli_print_json (object, true);
        json_decref (object);
    }
    else if (cli->tty) {
        char line [1024];
        zjob_cli_progress_line (line, sizeof line, zjob_cli_terminal_width (STDOUT_FILENO),
                                info->id, info->state, percent, counts);
        printf ("\r\033[K%s", line);
        *bar = true;
    }
    else
        printf ("%s %s %d%% %s\n", info->id, info->state, percent, counts);
    fflush (stdout);
}

static int
s_watch (zjob_cli_t *cli, const char *id)
{
    zjob_error_t err;
    zjob_batch_info_t info, shown;
    memset (&shown, 0, sizeof shown);
    bool bar = false;
    int64_t bound = cli->timeout_ms;
    int64_t deadline = bound >= 0 ? cli->started + bound : INT64_MAX;
    int rc = ZJOB_CLI_CONTINUE;
    while (rc == ZJOB_CLI_CONTINUE) {
        if (zjob_client_batch_show (zjob_cli_client (cli), id, &info, &err)) {
            rc = s_fail (cli, &err);
            break;
        }
        if (memcmp (&info, &shown, sizeof info)) {
            s_watch_show (cli, &info, &bar);
            shown = info;
        }
        if (s_finished (&info))
            rc = s_batch_exit (&info);
        else if (zsys_interrupted)
            rc = ZJOB_EXIT_INTERRUPTED;
        else if (zjob_mono_ms () >= deadline) {
            if (bar)
                printf ("\n");
            bar = false;
            char waited [32];
            zjob_cli_error (cli, "batch %s is still %s after %s; watch longer with --timeout",
                            id, info.state, zjob_cli_format_duration (bound, waited, sizeof waited));
            rc = ZJOB_EXIT_TIMEOUT;
        }
        else {
            int64_t left = deadline - zjob_mono_ms ();
            zclock_sleep (left < S_BATCH_POLL_MS ? (int) left : S_BATCH_POLL_MS);
        }
    }
    if (bar)
        printf ("\n");
    if (rc == ZJOB_EXIT_INTERRUPTED)
        zjob_cli_error (cli, "interrupted");
    else if ((rc == ZJOB_EXIT_OK || rc == ZJOB_EXIT_JOB_FAILED) && !cli->json)
        printf ("batch %s %s: %" PRIu64 " completed, %" PRIu64 " failed, %" PRIu64 " cancelled of %" PRIu64 "\n", id,
                info.state, info.completed, info.failed, info.cancelled, info.total);
    return rc;
}

static int
s_list (zjob_cli_t *cli, size_t offset, size_t limit)
{
    zjob_error_t err;
    zjob_batch_info_t *infos = NULL;
    size_t count = 0, total = 0;
    if (zjob_client_batch_list (zjob_cli_client (cli), offset, limit, &infos, &count, &total,
                                &err))
        return s_fail (cli, &err);
    if (cli->json) {
        json_t *array = json_array ();
        for (size_t index = 0; index < count; index++)
            json_array_append_new (array, s_batch_json (&infos [index]));
        json_t *object = json_pack ("{s:o, s:I, s:I}", "batches", array, "total",
                                    (json_int_t) total, "offset", (json_int_t) offset);
        zjob_cli_print_json (object, false);
        json_decref (object);
    }
    else {
        const char *header [] = { "BATCH", "STATE", "TOTAL", "COMPLETED", "FAILED", "CANCELLED", "PENDING" };
        zjob_cli_table_t *table = zjob_cli_table_new (7, header);
        for (size_t index = 0; table && index < count; index++) {
            char numbers [5][24];
            snprintf (numbers [0], 24, "%" PRIu64, infos [index].total);
            snprintf (numbers [1], 24, "%" PRIu64, infos [index].completed);
            snprintf (numbers [2], 24, "%" PRIu64, infos [index].failed);
            snprintf (numbers [3], 24, "%" PRIu64, infos [index].cancelled);
            snprintf (numbers [4], 24, "%" PRIu64, infos [index].pending);
            const char *cells [] = { infos [index].id, infos [index].state, numbers [0],
                                     numbers [1], numbers [2], numbers [3], numbers [4] };
            zjob_cli_table_add (table, cells);
        }
        if (table)
            zjob_cli_table_print (table, "");
        zjob_cli_table_destroy (&table);
        if (offset + count < total)
            printf ("(%zu of %zu batches; see more with --offset %zu)\n", count, total,
                    offset + count);
        fflush (stdout);
    }
    free (infos);
    return 0;
}

int
zjob_cli_cmd_batch (zjob_cli_t *cli, int argc, char *argv [])
{
    static const struct option options [] = {
        { "limit", required_argument, NULL, 'n' },
        { "offset", required_argument, NULL, ZJOB_OPT_OFFSET },
        ZJOB_CLI_COMMON_OPTIONS
    };
    int64_t limit = 0, offset = 0;
    int opt, rc = 0;
    zjob_cli_getopt_reset ();
    while ((opt = zjob_cli_getopt (cli, argc, argv, "n:", options, &rc)) != -1) {
        if (opt == 'n' || opt == ZJOB_OPT_OFFSET) {
            int64_t value = zjob_cli_parse_count (optarg, opt == 'n' ? ZJOB_BATCH_LIST_MAX : INT64_MAX);
            if (value < 0)
                return zjob_cli_bad_value (cli, "%s: '%s' is not a count%s", opt == 'n' ? "--limit" : "--offset",
                                           optarg, opt == 'n' ? " (1..1000)" : "");
            *(opt == 'n' ? &limit : &offset) = value;
        }
        else
            return zjob_cli_getopt_end (cli, opt, rc);
    }
    int args = argc - optind;
    const char *sub = args > 0 ? argv [optind] : NULL;
    if (!sub)
        return zjob_cli_usage (cli, "which operation? show, watch, cancel, close or list");
    bool list = streq (sub, "list");
    if (!list && !streq (sub, "show") && !streq (sub, "watch") && !streq (sub, "cancel")
        && !streq (sub, "close"))
        return zjob_cli_usage (cli, "unknown operation '%s' (show, watch, cancel, close, list)",
                               sub);
    if (list ? args != 1 : args != 2)
        return zjob_cli_usage (cli, list ? "batch list takes no argument" : "which batch? give its ID");
    const char *id = list ? NULL : argv [optind + 1];
    if (id && !zjob_name_valid (id))
        return zjob_cli_bad_value (cli, "'%s' is not a batch id (1..%d printable characters, no "
                                        "spaces)",
                                   id, ZJOB_NAME_MAX);
    if ((rc = zjob_cli_connect (cli)) != 0)
        return rc;
    if (list)
        return s_list (cli, (size_t) offset, (size_t) limit);
    if (streq (sub, "watch"))
        return s_watch (cli, id);
    zjob_error_t err;
    zjob_batch_info_t info;
    if (streq (sub, "cancel")) {
        size_t cancelled = 0;
        if (zjob_client_batch_cancel (zjob_cli_client (cli), id, &cancelled, &err))
            return s_fail (cli, &err);
        if (cli->json) {
            json_t *object = json_pack ("{s:s, s:I}", "id", id, "cancelled", (json_int_t) cancelled);
            zjob_cli_print_json (object, false);
            json_decref (object);
        }
        else
            printf ("batch %s closed; %zu job%s cancelled\n", id, cancelled, cancelled == 1 ? "" : "s");
        return 0;
    }
    rc = streq (sub, "close") ? zjob_client_batch_close (zjob_cli_client (cli), id, &info, &err)
                              : zjob_client_batch_show (zjob_cli_client (cli), id, &info, &err);
    if (rc)
        return s_fail (cli, &err);
    s_print_batch (cli, &info);
    return 0;
}
