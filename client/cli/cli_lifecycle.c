/*  =========================================================================
    cli_lifecycle - the zjob commands that move jobs through their
    statuses: start, pause, resume, cancel, delete, retry, run-now

    Each takes one job id, several, or a filter, never neither: an
    operation on every job must be asked for by naming its jobs. One id is
    the single-job request, whose refusal is an error with the job's
    reason (exit 4 for an illegal transition); several ids or a filter are
    one bulk request, which reports the jobs done and the first failures,
    and exits with the code of its first failure. --dry-run lists what a
    filter matches and changes nothing. retry and run-now send their dry
    run to the broker (RETRY and RUN_NOW take dry_run), which answers what
    the real operation would do, with ids or a filter alike.
    ========================================================================= */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_commands.h"
#include "cli_args.h"
#include "cli_output.h"

#define S_DRY_RUN_LIMIT 100  //  jobs a dry run shows

//  The command's operation for messages: "paused", "deleted"
static const char *
s_done_name (zjob_cmd_t command)
{
    switch (command) {
        case ZJOB_CMD_START: return "started";
        case ZJOB_CMD_PAUSE: return "paused";
        case ZJOB_CMD_RESUME: return "resumed";
        case ZJOB_CMD_CANCEL: return "cancelled";
        case ZJOB_CMD_RETRY: return "retried";
        case ZJOB_CMD_RUN_NOW: return "made ready";
        default: return "deleted";
    }
}

//  Send command of target, with options for retry and run-now
static uint64_t
s_send (zjob_cli_t *cli, zjob_cmd_t command, const zjob_target_t *target,
        const zjob_apply_options_t *options, zjob_error_t *err)
{
    return options ? zjob_client_send_target_with (cli->client, command, target, options, err)
                   : zjob_client_send_target (cli->client, command, target, err);
}

//  One job: its status after the operation
static int
s_apply_one (zjob_cli_t *cli, zjob_cmd_t command, const char *id,
             const zjob_apply_options_t *options)
{
    zjob_error_t err;
    cli->job_id = id;
    zjob_target_t target = { .id = id };
    zjob_reply_t *reply = zjob_cli_reply (cli, s_send (cli, command, &target, options, &err), &err);
    if (!reply)
        return zjob_cli_fail (cli, &err);
    const char *status = zjob_msg_str (zjob_reply_msg (reply), "status");
    bool dry_run = options && options->dry_run;
    if (cli->json) {
        json_t *object = json_pack ("{s:s, s:s}", "id", id, "operation", cli->command);
        json_object_set_new (object, "status", status ? json_string (status) : json_null ());
        if (dry_run)
            json_object_set_new (object, "dry_run", json_true ());
        zjob_cli_print_json (object, false);
        json_decref (object);
    }
    else if (dry_run) {
        //  "ID: would be retried (nothing changed)"
        printf ("%s: would be %s (nothing changed)\n", id, s_done_name (command));
        fflush (stdout);
    }
    else {
        //  "ID: paused", "ID: resumed, now queued"; run-now stays queued
        const char *done = s_done_name (command);
        bool more = status && !streq (status, done) && command != ZJOB_CMD_RUN_NOW;
        printf ("%s: %s%s%s\n", id, done, more ? ", now " : "", more ? status : "");
        fflush (stdout);
    }
    zjob_reply_destroy (&reply);
    return ZJOB_EXIT_OK;
}

//  The failures of a bulk operation, one a line on stderr
static void
s_report_errors (zjob_cli_t *cli, json_t *errors, uint64_t failed)
{
    size_t index;
    json_t *error;
    json_array_foreach (errors, index, error)
    {
        const char *job_id = json_string_value (json_object_get (error, "id"));
        const char *message = json_string_value (json_object_get (error, "message"));
        if (job_id && message && !strstr (message, job_id))
            zjob_cli_error (cli, "%s: %s", job_id, message);
        else
            zjob_cli_error (cli, "%s", message ? message : "(no message)");
    }
    if (failed > json_array_size (errors))
        zjob_cli_error (cli, "(%zu failures more not shown)",
                        (size_t) failed - json_array_size (errors));
}

//  A dry run's jobs, after its counts: one id a line
static void
s_print_would (zjob_msg_t *msg)
{
    size_t count;
    const char *const *ids = zjob_msg_strs (msg, "ids", &count);
    for (size_t index = 0; ids && index < count; index++)
        printf ("  %s\n", ids [index]);
    if (count < zjob_msg_uint (msg, "done", 0))
        printf ("  (%" PRIu64 " more not listed)\n", zjob_msg_uint (msg, "done", 0) - count);
}

//  Several jobs, or a filter: the counts and the first failures
static int
s_apply_many (zjob_cli_t *cli, zjob_cmd_t command, const zjob_target_t *target,
              const zjob_apply_options_t *options)
{
    zjob_error_t err;
    bool dry_run = options && options->dry_run;
    zjob_reply_t *reply = zjob_cli_reply (cli, s_send (cli, command, target, options, &err), &err);
    if (!reply)
        return zjob_cli_fail (cli, &err);
    zjob_msg_t *msg = zjob_reply_msg (reply);
    json_t *body = zjob_msgpack_object_to_json (zjob_msg_body (msg));
    uint64_t done = zjob_msg_uint (msg, "done", 0);
    uint64_t failed = zjob_msg_uint (msg, "failed", 0);
    json_t *errors = json_object_get (body, "errors");
    int rc = ZJOB_EXIT_OK;
    if (failed) {
        //  The exit code of the first failure
        json_int_t code = json_integer_value (json_object_get (json_array_get (errors, 0),
                                                               "code"));
        rc = zjob_cli_exit_code (code ? (int) code : ZJOB_INTERNAL);
    }
    if (cli->json) {
        json_t *object = json_pack ("{s:s, s:I, s:I}", "operation", cli->command,
                                    "done", (json_int_t) done, "failed", (json_int_t) failed);
        json_object_set_new (object, "errors", errors ? json_incref (errors) : json_array ());
        if (dry_run) {
            json_t *ids = json_object_get (body, "ids");
            json_object_set_new (object, "dry_run", json_true ());
            json_object_set_new (object, "ids", ids ? json_incref (ids) : json_array ());
        }
        zjob_cli_print_json (object, false);
        json_decref (object);
    }
    else {
        //  "retried 3 jobs; 1 failed", "would be retried: 3 jobs"
        if (dry_run)
            printf ("would be %s: %" PRIu64 " job%s", s_done_name (command), done,
                    done == 1 ? "" : "s");
        else
            printf ("%s %" PRIu64 " job%s", s_done_name (command), done, done == 1 ? "" : "s");
        if (failed)
            printf ("; %" PRIu64 " %s", failed, dry_run ? "would fail" : "failed");
        printf ("%s\n", dry_run ? " (nothing changed)" : "");
        if (dry_run)
            s_print_would (msg);
        fflush (stdout);
    }
    s_report_errors (cli, errors, failed);
    json_decref (body);
    zjob_reply_destroy (&reply);
    return rc;
}

//  Dry run: the jobs a filter matches, without changing them
static int
s_apply_dry_run (zjob_cli_t *cli, const zjob_filter_t *filter)
{
    zjob_query_t query = { .filter = *filter, .limit = S_DRY_RUN_LIMIT };
    zjob_job_t **jobs;
    size_t count, total;
    zjob_error_t err;
    if (zjob_client_list (zjob_cli_client (cli), &query, &jobs, &count, &total, &err))
        return zjob_cli_fail (cli, &err);
    if (cli->json) {
        json_t *array = json_array ();
        for (size_t index = 0; index < count; index++)
            json_array_append_new (array, zjob_job_to_json (jobs [index]));
        json_t *object = json_pack ("{s:s, s:b, s:I, s:o}", "operation", cli->command,
                                    "dry_run", 1, "matching", (json_int_t) total,
                                    "jobs", array);
        zjob_cli_print_json (object, false);
        json_decref (object);
    }
    else {
        if (count)
            zjob_cli_print_jobs_table (jobs, count);
        printf ("%zu job%s match%s%s; without --dry-run, %s applies to those whose status "
                "allows it\n",
                total, total == 1 ? "" : "s", total == 1 ? "es" : "",
                count < total ? " (first ones shown)" : "", cli->command);
        fflush (stdout);
    }
    for (size_t index = 0; index < count; index++)
        zjob_job_destroy (&jobs [index]);
    free (jobs);
    return ZJOB_EXIT_OK;
}

//  Check the ids-or-filter choice (a dry run of retry or run-now, which
//  the broker answers, may name ids). Returns ZJOB_CLI_CONTINUE or an
//  exit code.
static int
s_apply_check (zjob_cli_t *cli, char *ids [], size_t id_count, bool filtered, bool dry_run,
               bool rerun)
{
    if (id_count && filtered)
        return zjob_cli_usage (cli, "give job ids or a filter, not both");
    if (!id_count && !filtered)
        return zjob_cli_usage (cli, "which jobs? give their ids, or a filter such as "
                                    "--status queued --workflow W");
    if (dry_run && !filtered && !rerun)
        return zjob_cli_usage (cli, "--dry-run goes with a filter");
    if (id_count > ZJOB_BATCH_MAX)
        return zjob_cli_bad_value (cli, "%zu ids: at most %d at once", id_count,
                                   ZJOB_BATCH_MAX);
    if (id_count == 1)
        cli->job_id = ids [0];
    for (size_t index = 0; index < id_count; index++)
        if (zjob_cli_check_id (cli, ids [index]))
            return ZJOB_EXIT_NOT_FOUND;
    return ZJOB_CLI_CONTINUE;
}

static int
s_apply (zjob_cli_t *cli, int argc, char *argv [], zjob_cmd_t command)
{
    static const struct option options [] = {
        ZJOB_CLI_FILTER_OPTIONS,
        { "dry-run", no_argument, NULL, ZJOB_OPT_DRY_RUN },
        ZJOB_CLI_COMMON_OPTIONS
    };
    //  retry's, with --reset-attempts (run-now takes the others)
    static const struct option retry_options [] = {
        ZJOB_CLI_FILTER_OPTIONS,
        { "dry-run", no_argument, NULL, ZJOB_OPT_DRY_RUN },
        { "reset-attempts", no_argument, NULL, ZJOB_OPT_RESET_ATTEMPTS },
        ZJOB_CLI_COMMON_OPTIONS
    };
    bool rerun = command == ZJOB_CMD_RETRY || command == ZJOB_CMD_RUN_NOW;
    zjob_cli_filter_t filter = { .given = false };
    zjob_apply_options_t apply = { .dry_run = false };
    int rc = ZJOB_CLI_CONTINUE;
    int opt;
    zjob_cli_getopt_reset ();
    while (rc == ZJOB_CLI_CONTINUE
           && (opt = zjob_cli_getopt (cli, argc, argv, "s:w:u:t:",
                                      command == ZJOB_CMD_RETRY ? retry_options : options, &rc))
               != -1) {
        if (opt == ZJOB_OPT_HELP || opt == ZJOB_OPT_INVALID)
            rc = zjob_cli_getopt_end (cli, opt, rc);
        else if (zjob_cli_filter_option (cli, opt, optarg, &filter, &rc) == 0) {
            if (opt == ZJOB_OPT_DRY_RUN)
                apply.dry_run = true;
            else if (opt == ZJOB_OPT_RESET_ATTEMPTS)
                apply.reset_attempts = true;
            else
                rc = ZJOB_EXIT_USAGE;
        }
    }
    bool dry_run = apply.dry_run;
    size_t id_count = (size_t) (argc - optind);
    char **ids = argv + optind;
    if (rc == ZJOB_CLI_CONTINUE)
        rc = s_apply_check (cli, ids, id_count, filter.given, dry_run, rerun);
    if (rc == ZJOB_CLI_CONTINUE && (rc = zjob_cli_connect (cli)) == 0) {
        zjob_target_t target = { .filter = NULL };
        if (filter.given)
            target.filter = &filter.filter;
        else {
            target.ids = (const char *const *) ids;
            target.id_count = id_count;
        }
        const zjob_apply_options_t *with = rerun ? &apply : NULL;
        if (dry_run && !rerun)
            rc = s_apply_dry_run (cli, &filter.filter);
        else if (id_count == 1)
            rc = s_apply_one (cli, command, ids [0], with);
        else
            rc = s_apply_many (cli, command, &target, with);
    }
    free (filter.tags);
    return rc;
}

int
zjob_cli_cmd_start (zjob_cli_t *cli, int argc, char *argv [])
{
    return s_apply (cli, argc, argv, ZJOB_CMD_START);
}

int
zjob_cli_cmd_pause (zjob_cli_t *cli, int argc, char *argv [])
{
    return s_apply (cli, argc, argv, ZJOB_CMD_PAUSE);
}

int
zjob_cli_cmd_resume (zjob_cli_t *cli, int argc, char *argv [])
{
    return s_apply (cli, argc, argv, ZJOB_CMD_RESUME);
}

int
zjob_cli_cmd_cancel (zjob_cli_t *cli, int argc, char *argv [])
{
    return s_apply (cli, argc, argv, ZJOB_CMD_CANCEL);
}

int
zjob_cli_cmd_delete (zjob_cli_t *cli, int argc, char *argv [])
{
    return s_apply (cli, argc, argv, ZJOB_CMD_DELETE);
}

int
zjob_cli_cmd_retry (zjob_cli_t *cli, int argc, char *argv [])
{
    return s_apply (cli, argc, argv, ZJOB_CMD_RETRY);
}

int
zjob_cli_cmd_run_now (zjob_cli_t *cli, int argc, char *argv [])
{
    return s_apply (cli, argc, argv, ZJOB_CMD_RUN_NOW);
}
