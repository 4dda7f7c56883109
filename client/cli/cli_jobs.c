/*  =========================================================================
    cli_jobs - the zjob commands that create and read jobs: submit, get,
    status, result, list

    A command checks everything it can before it connects (option values,
    JSON, every line of a batch, the job model's own rules), so that bad
    input is exit 2 with nothing sent, and `--help` never needs a broker.
    submit --batch sends its lines in messages of ZJOB_BATCH_MAX jobs and
    half the message limit at most, each all or none, and on a failure
    prints the ids already created, so that the user knows what exists.
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_commands.h"
#include "cli_args.h"
#include "cli_output.h"

#define S_LIST_LIMIT 100  //  jobs list shows without --limit


//  --------------------------------------------------------------------------
//  Parsing shared by several commands

int
zjob_cli_filter_option (zjob_cli_t *cli, int opt, const char *arg, zjob_cli_filter_t *filter,
                        int *rc_p)
{
    zjob_filter_t *criteria = &filter->filter;
    switch (opt) {
        case 's': {
            char bad [64];
            int64_t mask = zjob_cli_parse_statuses (arg, bad, sizeof bad);
            if (mask < 0) {
                *rc_p = zjob_cli_bad_value (cli, "--status: unknown status '%s' (created, "
                                                 "waiting, queued, scheduled, ready, running, "
                                                 "paused, completed, failed, cancelled)",
                                            bad);
                return -1;
            }
            if (mask & (ZJOB_CLI_SCHEDULED | ZJOB_CLI_READY))
                filter->narrowed |= mask & (ZJOB_CLI_SCHEDULED | ZJOB_CLI_READY);
            else
                filter->plain = true;
            if (filter->narrowed && (filter->plain || (mask & 0xffffffff))) {
                *rc_p = zjob_cli_bad_value (cli, "--status: scheduled and ready narrow "
                                                 "queued; they cannot be combined with "
                                                 "other statuses");
                return -1;
            }
            if (filter->narrowed) {
                //  Both narrowings together are every queued job
                criteria->status_mask = 1u << ZJOB_QUEUED;
                criteria->scheduled = filter->narrowed == ZJOB_CLI_SCHEDULED ? ZJOB_SCHEDULED_YES : filter->narrowed == ZJOB_CLI_READY ? ZJOB_SCHEDULED_NO
                                                                                                                                       : ZJOB_SCHEDULED_ANY;
            }
            else
                criteria->status_mask |= (uint32_t) mask;
            break;
        }
        case ZJOB_OPT_DEAD:
            //  The dead set: jobs failed for good (a failure with attempts
            //  left is retried, so failed is final)
            if (filter->narrowed) {
                *rc_p = zjob_cli_bad_value (cli, "--dead: the failed jobs; it cannot be "
                                                 "combined with --status scheduled or ready");
                return -1;
            }
            criteria->status_mask |= 1u << ZJOB_FAILED;
            filter->plain = true;
            break;
        case 'w': criteria->workflow_id = arg; break;
        case 'u': criteria->user_id = arg; break;
        case ZJOB_OPT_WAITING_ON:
            //  The jobs that name this one among their parents
            if (!zjob_id_valid (arg)) {
                *rc_p = zjob_cli_bad_value (cli, "--waiting-on: '%s' is not a job id", arg);
                return -1;
            }
            criteria->waiting_on = arg;
            break;
        case ZJOB_OPT_BATCH_ID: criteria->batch_id = arg; break;
        case ZJOB_OPT_SCHEDULE: criteria->schedule_id = arg; break;
        case 't': {
            const char **bigger = (const char **) realloc (filter->tags,
                                                           (criteria->tag_count + 1) * sizeof (char *));
            if (!bigger) {
                *rc_p = ZJOB_EXIT_INTERNAL;
                return -1;
            }
            filter->tags = bigger;
            filter->tags [criteria->tag_count++] = arg;
            criteria->tags = filter->tags;
            break;
        }
        case ZJOB_OPT_CREATED_AFTER:
        case ZJOB_OPT_CREATED_BEFORE: {
            int64_t when = zjob_cli_parse_time (arg, -1);
            const char *name = opt == ZJOB_OPT_CREATED_AFTER ? "--created-after"
                                                             : "--created-before";
            if (when < 0) {
                *rc_p = zjob_cli_bad_value (cli, "%s: '%s' is not a time (2024-05-01T12:00:00Z, "
                                                 "or a duration ago such as 2h)",
                                            name, arg);
                return -1;
            }
            if (opt == ZJOB_OPT_CREATED_AFTER)
                criteria->created_after = when;
            else
                criteria->created_before = when;
            break;
        }
        default:
            return 0;
    }
    filter->given = true;
    return 1;
}

int
zjob_cli_parse_id_command (zjob_cli_t *cli, int argc, char *argv [], const char **id_p)
{
    static const struct option options [] = { ZJOB_CLI_COMMON_OPTIONS };
    int opt, rc;
    zjob_cli_getopt_reset ();
    while ((opt = zjob_cli_getopt (cli, argc, argv, "", options, &rc)) != -1)
        return zjob_cli_getopt_end (cli, opt, rc);
    if (argc - optind != 1)
        return zjob_cli_usage (cli, argc - optind ? "one job id only, please" : "which job? give its ID");
    *id_p = argv [optind];
    cli->job_id = *id_p;
    rc = zjob_cli_check_id (cli, *id_p);
    if (rc == 0)
        rc = zjob_cli_connect (cli);
    return rc ? rc : ZJOB_CLI_CONTINUE;
}

int
zjob_cli_parse_plain (zjob_cli_t *cli, int argc, char *argv [])
{
    static const struct option options [] = { ZJOB_CLI_COMMON_OPTIONS };
    int opt, rc;
    zjob_cli_getopt_reset ();
    while ((opt = zjob_cli_getopt (cli, argc, argv, "", options, &rc)) != -1)
        return zjob_cli_getopt_end (cli, opt, rc);
    if (optind < argc)
        return zjob_cli_usage (cli, "unexpected argument '%s'", argv [optind]);
    rc = zjob_cli_connect (cli);
    return rc ? rc : ZJOB_CLI_CONTINUE;
}


//  --------------------------------------------------------------------------
//  submit

//  --unique's value: an option of submit alone, kept out of the shared
//  ZJOB_OPT_ list (beyond it)
#define S_OPT_UNIQUE 1900

//  Options of submit that become spec fields (strings borrowed from argv)
typedef struct {
    zjob_cli_defaults_t defaults;  //  Workflow, priority, user, tags, attempts
    zjob_cli_strings_t tags;
    zjob_cli_strings_t inputs;     //  --input arguments, in order
    zjob_cli_strings_t metadatas;  //  --metadata arguments, in order
    const char *template_name;     //  --template, or NULL
    const char *idempotency_key;
    const char *unique_key;  //  --unique: no second job with it while one is active
    int64_t run_at;          //  0 if not given
    bool no_start;
    const char *batch;
    char **kinds;                //  --no-retry's list, or NULL
    zjob_cli_strings_t parents;  //  --depends-on's ids
    int on_parent_failure;       //  zjob_on_parent_t, or -1 if not given
    zjob_cli_batch_t joined;     //  --batch-id and its options
} s_submit_t;

//  Print the ids of submitted jobs: one a line, or {"count", "ids"}
static void
s_print_ids (zjob_cli_t *cli, char (*ids) [ZJOB_ID_LEN + 1], size_t count)
{
    if (cli->json) {
        json_t *array = json_array ();
        for (size_t index = 0; index < count; index++)
            json_array_append_new (array, json_string (ids [index]));
        json_t *object = json_pack ("{s:I, s:o}", "count", (json_int_t) count, "ids", array);
        zjob_cli_print_json (object, false);
        json_decref (object);
    }
    else {
        for (size_t index = 0; index < count; index++)
            puts (ids [index]);
        fflush (stdout);
    }
}

//  Send the lines in chunks; prints the ids. Returns the exit code.
static int
s_submit_lines (zjob_cli_t *cli, s_submit_t *opts, zjob_cli_line_t *lines, size_t count)
{
    zjob_spec_t *specs = (zjob_spec_t *) calloc (count, sizeof (zjob_spec_t));
    char (*ids) [ZJOB_ID_LEN + 1] = calloc (count, ZJOB_ID_LEN + 1);
    if (!specs || !ids) {
        free (specs);
        free (ids);
        zjob_cli_error (cli, "out of memory for %zu jobs", count);
        return ZJOB_EXIT_INTERNAL;
    }
    for (size_t index = 0; index < count; index++) {
        specs [index] = lines [index].spec;
        //  --depends-on: every line waits for those parents
        specs [index].depends_on = opts->parents.items;
        specs [index].depends_on_count = opts->parents.count;
        if (opts->on_parent_failure > 0)
            specs [index].on_parent_failure = (zjob_on_parent_t) opts->on_parent_failure;
    }
    size_t done = 0;
    int rc = 0;
    while (done < count && rc == 0) {
        size_t chunk = 0, bytes = 0;
        while (done + chunk < count && chunk < ZJOB_BATCH_MAX
               && (chunk == 0 || bytes < ZJOB_MSG_MAX / 2)) {
            const zjob_spec_t *spec = &specs [done + chunk];
            bytes += spec->inputs_size + spec->metadata_size + 256;
            chunk++;
        }
        zjob_error_t err;
        //  A batch over several messages: open until the last, the
        //  callback with the first
        zjob_batch_opts_t joined = opts->joined.opts;
        joined.open |= done + chunk < count;
        if (done)
            joined.callback = NULL;
        if (zjob_client_submit_batch_with (zjob_cli_client (cli), specs + done, chunk,
                                           !opts->no_start, joined.id ? &joined : NULL,
                                           ids + done, &err)
            == 0) {
            done += chunk;
            continue;
        }
        //  The broker names the spec as jobs[i]: name the line instead
        unsigned index;
        int skip = 0;
        if (sscanf (err.text, "jobs[%u].%n", &index, &skip) == 1 && skip > 0 && index < chunk) {
            char text [ZJOB_ERROR_TEXT_MAX];
            snprintf (text, sizeof text, "line %zu: %s", lines [done + index].line,
                      err.text + skip);
            snprintf (err.text, sizeof err.text, "%s", text);
        }
        s_print_ids (cli, ids, done);
        rc = zjob_cli_fail (cli, &err);
        zjob_cli_error (cli, "%zu jobs were submitted (their ids are printed), lines from %zu "
                             "on were not",
                        done, lines [done].line);
    }
    if (rc == 0)
        s_print_ids (cli, ids, done);
    free (ids);
    free (specs);
    return rc;
}

static int
s_submit_batch (zjob_cli_t *cli, s_submit_t *opts)
{
    FILE *file = zjob_cli_open_arg (cli, "--batch", opts->batch);
    if (!file)
        return ZJOB_EXIT_BAD_INPUT;
    size_t count = 0;
    zjob_error_t err;
    zjob_cli_line_t *lines = zjob_cli_batch_parse (file, streq (opts->batch, "-") ? "stdin" : opts->batch, &opts->defaults, &count,
                                                   &err);
    if (file != stdin)
        fclose (file);
    if (!lines) {
        zjob_cli_error (cli, "%s", err.text);
        return zjob_cli_exit_code (err.code);
    }
    int rc = zjob_cli_connect (cli);
    if (rc == 0)
        rc = s_submit_lines (cli, opts, lines, count);
    zjob_cli_lines_free (lines, count);
    return rc;
}

//  Print the job just submitted: its id, or with --json the job as accepted
static void
s_print_submitted (zjob_cli_t *cli, const char *id)
{
    if (!cli->json) {
        puts (id);
        fflush (stdout);
        return;
    }
    zjob_error_t err;
    zjob_job_t *job = zjob_client_get (zjob_cli_client (cli), id, &err);
    json_t *object = job ? zjob_job_to_json (job) : json_pack ("{s:s}", "id", id);
    zjob_cli_print_json (object, false);
    json_decref (object);
    zjob_job_destroy (&job);
}

static int
s_submit_one (zjob_cli_t *cli, s_submit_t *opts)
{
    uint8_t *inputs = NULL, *metadata = NULL;
    size_t inputs_size = 0, metadata_size = 0;
    int rc = zjob_cli_object_args (cli, "inputs", opts->inputs.items, opts->inputs.count,
                                   &inputs, &inputs_size);
    if (rc == 0)
        rc = zjob_cli_object_args (cli, "metadata", opts->metadatas.items, opts->metadatas.count,
                                   &metadata, &metadata_size);
    const zjob_cli_defaults_t *defaults = &opts->defaults;
    zjob_spec_t spec = {
        .workflow_id = defaults->workflow_id,
        .inputs = inputs,
        .inputs_size = inputs_size,
        .priority = defaults->priority >= 0 ? (zjob_priority_t) defaults->priority
                                            : ZJOB_PRIORITY_UNSET,
        .user_id = defaults->user_id,
        .tags = opts->tags.items,
        .tag_count = opts->tags.count,
        .metadata = metadata,
        .metadata_size = metadata_size,
        .idempotency_key = opts->idempotency_key,
        .unique_key = opts->unique_key,
        .run_at = opts->run_at,
        .depends_on = opts->parents.items,
        .depends_on_count = opts->parents.count,
        .on_parent_failure = opts->on_parent_failure > 0
            ? (zjob_on_parent_t) opts->on_parent_failure
            : ZJOB_ON_PARENT_FAIL,
        .template_name = opts->template_name
    };
    zjob_cli_defaults_apply (defaults, &spec);
    zjob_error_t err;
    if (rc == 0) {
        //  The job model's checks first: a bad field needs no broker (a
        //  template's workflow is the broker's to fill in)
        zjob_spec_t checked = spec;
        if (!checked.workflow_id)
            checked.workflow_id = opts->template_name;
        zjob_job_t *probe = zjob_job_new (&checked, &err);
        if (probe)
            zjob_job_destroy (&probe);
        else {
            zjob_cli_error (cli, "%s", err.text);
            rc = zjob_cli_exit_code (err.code);
        }
    }
    if (rc == 0)
        rc = zjob_cli_connect (cli);
    char id [ZJOB_ID_LEN + 1];
    const zjob_batch_opts_t *joined = opts->joined.opts.id ? &opts->joined.opts : NULL;
    if (rc == 0
        && zjob_client_submit_batch_with (zjob_cli_client (cli), &spec, 1, !opts->no_start,
                                          joined, (char (*) [ZJOB_ID_LEN + 1]) id, &err))
        rc = zjob_cli_fail (cli, &err);
    if (rc == 0)
        s_print_submitted (cli, id);
    free (inputs);
    free (metadata);
    return rc;
}

//  --depends-on ID[,ID...] (may be repeated): the parents, checked here.
//  The ids point into arg (argv's, cut at the commas). Returns
//  ZJOB_CLI_CONTINUE, or an exit code.
static int
s_depends_on_option (zjob_cli_t *cli, const char *arg, s_submit_t *opts)
{
    for (char *id = (char *) arg; id;) {
        char *comma = strchr (id, ',');
        if (comma)
            *comma = 0;
        if (!zjob_id_valid (id))
            return zjob_cli_bad_value (cli, "--depends-on: '%s' is not a job id", id);
        if (opts->parents.count == ZJOB_PARENTS_MAX)
            return zjob_cli_bad_value (cli, "--depends-on: more than %d parents",
                                       ZJOB_PARENTS_MAX);
        if (zjob_cli_strings_add (&opts->parents, id))
            return ZJOB_EXIT_INTERNAL;
        id = comma ? comma + 1 : NULL;
    }
    return ZJOB_CLI_CONTINUE;
}

//  One option of submit. Returns ZJOB_CLI_CONTINUE, or an exit code.
static int
s_submit_option (zjob_cli_t *cli, int opt, const char *arg, s_submit_t *opts)
{
    switch (opt) {
        case 'i':
        case 'm':
            if (zjob_cli_strings_add (opt == 'i' ? &opts->inputs : &opts->metadatas, arg))
                return ZJOB_EXIT_INTERNAL;
            break;
        case ZJOB_OPT_TEMPLATE:
            if (!zjob_name_valid (arg))
                return zjob_cli_bad_value (cli, "--template: '%s' is not a name", arg);
            opts->template_name = arg;
            break;
        case 'u': opts->defaults.user_id = arg; break;
        case 'k': opts->idempotency_key = arg; break;
        case S_OPT_UNIQUE: opts->unique_key = arg; break;
        case ZJOB_OPT_NO_START: opts->no_start = true; break;
        case ZJOB_OPT_BATCH: opts->batch = arg; break;
        case ZJOB_OPT_DEPENDS_ON: return s_depends_on_option (cli, arg, opts);
        case ZJOB_OPT_ON_PARENT_FAILURE:
            opts->on_parent_failure = zjob_on_parent_parse (arg);
            if (opts->on_parent_failure < 0)
                return zjob_cli_bad_value (cli, "--on-parent-failure: '%s' is not fail, cancel "
                                                "or run",
                                           arg);
            break;
        case 't':
            if (zjob_cli_strings_add (&opts->tags, arg))
                return ZJOB_EXIT_INTERNAL;
            break;
        case ZJOB_OPT_RUN_AT:
            opts->run_at = zjob_cli_parse_time (arg, 1);
            if (opts->run_at < 0)
                return zjob_cli_bad_value (cli, "--run-at: '%s' is not a time "
                                                "(2024-05-01T12:00:00Z)",
                                           arg);
            break;
        case ZJOB_OPT_DELAY: {
            int64_t delay = zjob_cli_parse_duration (arg);
            if (delay < 0)
                return zjob_cli_bad_value (cli, "--delay: '%s' is not a duration (30s, 5m)",
                                           arg);
            opts->run_at = zjob_clock_ms () + delay;
            break;
        }
        default: {
            int rc = 0;
            if (zjob_cli_batch_option (cli, opt, arg, &opts->joined, &rc))
                return rc ? rc : ZJOB_CLI_CONTINUE;
            rc = zjob_cli_policy_option (cli, opt, arg, &opts->defaults, &opts->kinds);
            return rc == 1 ? ZJOB_CLI_CONTINUE : rc == 0 ? ZJOB_EXIT_USAGE
                                                         : rc;
        }
    }
    return ZJOB_CLI_CONTINUE;
}

//  The arguments after submit's options. Returns ZJOB_CLI_CONTINUE or an exit code.
static int
s_submit_args (zjob_cli_t *cli, int argc, char *argv [], s_submit_t *opts)
{
    int args = argc - optind;
    if (args > 1)
        return zjob_cli_usage (cli, "one WORKFLOW at most, got '%s' too", argv [optind + 1]);
    if (args == 1)
        opts->defaults.workflow_id = argv [optind];
    else if (!opts->batch && !opts->template_name)
        return zjob_cli_usage (cli, "which workflow? give WORKFLOW (or --template NAME, or "
                                    "--batch FILE)");
    if (opts->batch && opts->template_name)
        return zjob_cli_usage (cli, "--template makes one job: it cannot be combined with "
                                    "--batch");
    if (opts->batch
        && (opts->inputs.count || opts->metadatas.count || opts->idempotency_key || opts->run_at
            || opts->unique_key))
        return zjob_cli_usage (cli, "--batch takes inputs, metadata, keys and times from its "
                                    "lines: drop --input, --metadata, --idempotency-key, "
                                    "--unique, --run-at and --delay");
    return ZJOB_CLI_CONTINUE;
}

int
zjob_cli_cmd_submit (zjob_cli_t *cli, int argc, char *argv [])
{
    static const struct option options [] = {
        { "input", required_argument, NULL, 'i' },
        { "priority", required_argument, NULL, 'p' },
        { "user", required_argument, NULL, 'u' },
        { "tag", required_argument, NULL, 't' },
        { "metadata", required_argument, NULL, 'm' },
        { "idempotency-key", required_argument, NULL, 'k' },
        { "unique", required_argument, NULL, S_OPT_UNIQUE },
        { "max-attempts", required_argument, NULL, ZJOB_OPT_MAX_ATTEMPTS },
        { "run-at", required_argument, NULL, ZJOB_OPT_RUN_AT },
        { "delay", required_argument, NULL, ZJOB_OPT_DELAY },
        { "no-start", no_argument, NULL, ZJOB_OPT_NO_START },
        { "batch", required_argument, NULL, ZJOB_OPT_BATCH },
        { "backoff", required_argument, NULL, ZJOB_OPT_BACKOFF },
        { "backoff-base", required_argument, NULL, ZJOB_OPT_BACKOFF_BASE },
        { "backoff-factor", required_argument, NULL, ZJOB_OPT_BACKOFF_FACTOR },
        { "backoff-max", required_argument, NULL, ZJOB_OPT_BACKOFF_MAX },
        { "jitter", required_argument, NULL, ZJOB_OPT_JITTER },
        { "no-retry", required_argument, NULL, ZJOB_OPT_NO_RETRY },
        { "job-timeout", required_argument, NULL, ZJOB_OPT_JOB_TIMEOUT },
        { "heartbeat-timeout", required_argument, NULL, ZJOB_OPT_HEARTBEAT_TIMEOUT },
        { "depends-on", required_argument, NULL, ZJOB_OPT_DEPENDS_ON },
        { "on-parent-failure", required_argument, NULL, ZJOB_OPT_ON_PARENT_FAILURE },
        { "batch-id", required_argument, NULL, ZJOB_OPT_BATCH_ID },
        { "batch-open", no_argument, NULL, ZJOB_OPT_BATCH_OPEN },
        { "callback", required_argument, NULL, ZJOB_OPT_CALLBACK },
        { "callback-input", required_argument, NULL, ZJOB_OPT_CALLBACK_INPUT },
        { "template", required_argument, NULL, ZJOB_OPT_TEMPLATE },
        ZJOB_CLI_COMMON_OPTIONS
    };
    s_submit_t opts = { .defaults = { .priority = -1, .max_attempts = -1 },
                        .on_parent_failure = -1 };
    int rc = ZJOB_CLI_CONTINUE;
    int opt;
    zjob_cli_getopt_reset ();
    while (rc == ZJOB_CLI_CONTINUE
           && (opt = zjob_cli_getopt (cli, argc, argv, "i:p:u:t:m:k:", options, &rc)) != -1) {
        if (opt == ZJOB_OPT_HELP || opt == ZJOB_OPT_INVALID)
            rc = zjob_cli_getopt_end (cli, opt, rc);
        else
            rc = s_submit_option (cli, opt, optarg, &opts);
    }
    if (rc == ZJOB_CLI_CONTINUE)
        rc = s_submit_args (cli, argc, argv, &opts);
    int ready = rc == ZJOB_CLI_CONTINUE ? zjob_cli_batch_ready (cli, &opts.joined) : 0;
    if (ready)
        rc = ready;  //  The options together make no sense: said why
    if (rc == ZJOB_CLI_CONTINUE) {
        opts.defaults.tags = opts.tags.items;
        opts.defaults.tag_count = opts.tags.count;
        rc = opts.batch ? s_submit_batch (cli, &opts) : s_submit_one (cli, &opts);
    }
    free (opts.tags.items);
    free (opts.parents.items);
    free (opts.inputs.items);
    free (opts.metadatas.items);
    free (opts.kinds);
    zjob_cli_batch_free (&opts.joined);
    return rc;
}


//  --------------------------------------------------------------------------
//  get, status, result: one job by id

//  The lines "parents" (with the rule when it is not fail) and
//  "children", each when there are some
static void
s_print_family (const zjob_job_t *job, const char *const *children, size_t child_count)
{
    size_t count;
    const char *const *parents = zjob_job_parents (job, &count);
    for (size_t index = 0; index < count; index++)
        printf ("%-12s  %s\n", index ? "" : "parents", parents [index]);
    if (count && zjob_job_on_parent_failure (job) != ZJOB_ON_PARENT_FAIL)
        printf ("%-12s  %s\n", "on failure",
                zjob_on_parent_name (zjob_job_on_parent_failure (job)));
    for (size_t index = 0; index < child_count; index++)
        printf ("%-12s  %s\n", index ? "" : "children", children [index]);
    if (child_count == ZJOB_CHILDREN_MAX)
        printf ("%-12s  (the first %d: zjob list --waiting-on %s)\n", "", ZJOB_CHILDREN_MAX,
                job->id);
    fflush (stdout);
}

int
zjob_cli_cmd_get (zjob_cli_t *cli, int argc, char *argv [])
{
    const char *id = NULL;
    int rc = zjob_cli_parse_id_command (cli, argc, argv, &id);
    if (rc != ZJOB_CLI_CONTINUE)
        return rc;
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_get_reply (zjob_cli_client (cli), id, &err);
    zjob_job_t *job = reply ? zjob_msg_job (zjob_reply_msg (reply), "job", &err) : NULL;
    if (!job) {
        zjob_reply_destroy (&reply);
        return zjob_cli_fail (cli, &err);
    }
    //  The children still waiting for it (GET's children)
    size_t child_count = 0;
    const char *const *children = zjob_msg_strs (zjob_reply_msg (reply), "children",
                                                 &child_count);
    if (cli->json) {
        json_t *object = zjob_job_to_json (job);
        json_t *array = json_array ();
        for (size_t index = 0; index < child_count; index++)
            json_array_append_new (array, json_string (children [index]));
        json_object_set_new (object, "children", array);
        zjob_cli_print_json (object, false);
        json_decref (object);
    }
    else {
        zjob_cli_print_job (job);
        s_print_family (job, children, child_count);
    }
    zjob_job_destroy (&job);
    zjob_reply_destroy (&reply);
    return ZJOB_EXIT_OK;
}

//  What STATUS does not say of a queued job waiting for its run_at: the
//  time, and for a retry the attempt to come and the last error
typedef struct {
    int64_t run_at;  //  0: not waiting
    uint32_t attempt;
    uint32_t max_attempts;  //  0: no limit
    char error_kind [ZJOB_NAME_MAX + 1];
} s_waiting_t;

//  Fill waiting for job id (GET): run_at 0 unless it is queued with a
//  run_at in the future; attempt 0 unless that wait is for a retry
static void
s_waiting_for (zjob_cli_t *cli, const char *id, s_waiting_t *waiting)
{
    memset (waiting, 0, sizeof (*waiting));
    zjob_error_t err;
    zjob_job_t *job = zjob_client_get (zjob_cli_client (cli), id, &err);
    if (job && zjob_job_status (job) == ZJOB_QUEUED && zjob_job_run_at (job) > zjob_clock_ms ()) {
        waiting->run_at = zjob_job_run_at (job);
        if (zjob_job_attempts (job) > 0 && zjob_job_error_count (job) > 0) {
            waiting->attempt = zjob_job_attempts (job) + 1;
            waiting->max_attempts = zjob_job_max_attempts (job);
            snprintf (waiting->error_kind, sizeof (waiting->error_kind), "%s",
                      zjob_job_error_kind (job) ? zjob_job_error_kind (job) : "error");
        }
    }
    zjob_job_destroy (&job);
}

//  status for people: "queued, scheduled for TIME (in 4m)", "queued,
//  retrying at TIME (in 2s): attempt 2 of 3 after exit", "running  50%"
static void
s_print_status (const char *status, zjob_msg_t *msg, const s_waiting_t *waiting)
{
    const char *message = zjob_msg_str (msg, "progress_message");
    double progress = zjob_msg_float (msg, "progress", 0.0);
    int64_t updated_at = zjob_msg_int (msg, "updated_at", 0);
    char iso [ZJOB_ISO_TIME_LEN], ago [32];
    int64_t now = zjob_clock_ms ();
    printf ("%s", status ? status : "?");
    if (waiting->run_at)
        printf (", %s %s (%s)", waiting->attempt ? "retrying at" : "scheduled for",
                zjob_iso_time (waiting->run_at, iso),
                zjob_cli_format_ago (waiting->run_at, now, ago, sizeof ago));
    if (waiting->attempt && waiting->max_attempts)
        printf (": attempt %u of %u after %s", waiting->attempt, waiting->max_attempts,
                waiting->error_kind);
    else if (waiting->attempt)
        printf (": attempt %u after %s", waiting->attempt, waiting->error_kind);
    if (progress > 0 || message)
        printf ("  %d%%%s%s", (int) (progress * 100.0 + 0.5), message ? "  " : "",
                message ? message : "");
    if (updated_at)
        printf ("  (updated %s)", zjob_cli_format_ago (updated_at, now, ago, sizeof ago));
    printf ("\n");
    fflush (stdout);
}

int
zjob_cli_cmd_status (zjob_cli_t *cli, int argc, char *argv [])
{
    const char *id = NULL;
    int rc = zjob_cli_parse_id_command (cli, argc, argv, &id);
    if (rc != ZJOB_CLI_CONTINUE)
        return rc;
    zjob_error_t err;
    zjob_reply_t *reply = zjob_cli_reply (cli, zjob_client_send_id (cli->client, ZJOB_CMD_STATUS, id, &err), &err);
    if (!reply)
        return zjob_cli_fail (cli, &err);
    zjob_msg_t *msg = zjob_reply_msg (reply);
    const char *status = zjob_msg_str (msg, "status");
    s_waiting_t waiting = { 0 };
    if (status && streq (status, "queued"))
        s_waiting_for (cli, id, &waiting);
    int64_t run_at = waiting.run_at;
    if (cli->json) {
        json_t *object = zjob_msgpack_object_to_json (zjob_msg_body (msg));
        char iso [ZJOB_ISO_TIME_LEN];
        int64_t updated_at = zjob_msg_int (msg, "updated_at", 0);
        if (updated_at) {
            json_object_set_new (object, "updated_at",
                                 json_string (zjob_iso_time (updated_at, iso)));
            json_object_set_new (object, "updated_at_ms", json_integer (updated_at));
        }
        if (run_at) {
            json_object_set_new (object, "run_at", json_string (zjob_iso_time (run_at, iso)));
            json_object_set_new (object, "run_at_ms", json_integer (run_at));
        }
        if (waiting.attempt)
            json_object_set_new (object, "retrying", json_true ());
        zjob_cli_print_json (object, false);
        json_decref (object);
    }
    else
        s_print_status (status, msg, &waiting);
    zjob_reply_destroy (&reply);
    return ZJOB_EXIT_OK;
}

//  result without results: say whether they will come. Returns the exit code.
static int
s_no_results (zjob_cli_t *cli, const char *id)
{
    zjob_error_t local;
    int status = zjob_client_status (zjob_cli_client (cli), id, &local);
    char text [ZJOB_ERROR_TEXT_MAX];
    if (status == ZJOB_CANCELLED) {
        snprintf (text, sizeof text, "job %s was cancelled: it has no results", id);
        zjob_cli_fail_json (cli, ZJOB_CONFLICT, text);
        zjob_cli_error (cli, "%s", text);
        return ZJOB_EXIT_JOB_FAILED;
    }
    snprintf (text, sizeof text, "job %s is %s and has no results yet", id, status >= 0 ? zjob_status_name ((zjob_status_t) status) : "not finished");
    zjob_cli_fail_json (cli, ZJOB_CONFLICT, text);
    zjob_cli_error (cli, "%s; wait for them with 'zjob wait %s'", text, id);
    return ZJOB_EXIT_CONFLICT;
}

//  result --json: {"id", "status", "outputs", "error", "completed_at", ...}
static void
s_print_result_json (const char *id, zjob_msg_t *msg, bool completed, json_t *outputs)
{
    json_t *object = json_pack ("{s:s, s:s}", "id", id, "status",
                                completed ? "completed" : "failed");
    json_object_set (object, "outputs", completed && outputs ? outputs : json_null ());
    json_object_set_new (object, "error", completed ? json_null () : json_pack ("{s:s?, s:s?}", "kind", zjob_msg_str (msg, "error_kind"), "message", zjob_msg_str (msg, "error_message")));
    int64_t completed_at = zjob_msg_int (msg, "completed_at", 0);
    char iso [ZJOB_ISO_TIME_LEN];
    json_object_set_new (object, "completed_at", completed_at ? json_string (zjob_iso_time (completed_at, iso)) : json_null ());
    json_object_set_new (object, "completed_at_ms", json_integer (completed_at));
    json_object_set_new (object, "execution_ms",
                         json_integer (zjob_msg_int (msg, "execution_ms", 0)));
    zjob_cli_print_json (object, false);
    json_decref (object);
}

int
zjob_cli_cmd_result (zjob_cli_t *cli, int argc, char *argv [])
{
    const char *id = NULL;
    int rc = zjob_cli_parse_id_command (cli, argc, argv, &id);
    if (rc != ZJOB_CLI_CONTINUE)
        return rc;
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_results (zjob_cli_client (cli), id, &err);
    if (!reply)
        return err.code == ZJOB_CONFLICT ? s_no_results (cli, id) : zjob_cli_fail (cli, &err);
    zjob_msg_t *msg = zjob_reply_msg (reply);
    const char *status = zjob_msg_str (msg, "status");
    bool completed = status && streq (status, "completed");
    size_t size = 0;
    const uint8_t *outputs = zjob_msg_bin (msg, "outputs", &size);
    json_t *outputs_json = size ? zjob_msgpack_to_json_value (outputs, size, &err)
                                : json_object ();
    if (cli->json)
        s_print_result_json (id, msg, completed, outputs_json);
    else if (completed && outputs_json)
        zjob_cli_print_json (outputs_json, false);
    if (!completed) {
        const char *kind = zjob_msg_str (msg, "error_kind");
        const char *message = zjob_msg_str (msg, "error_message");
        zjob_cli_error (cli, "job %s failed: %s%s%s", id, kind ? kind : "",
                        kind && message ? ": " : "", message ? message : "");
    }
    json_decref (outputs_json);
    zjob_reply_destroy (&reply);
    return completed ? ZJOB_EXIT_OK : ZJOB_EXIT_JOB_FAILED;
}


//  --------------------------------------------------------------------------
//  list

//  The page(s) read, and what to say about them
typedef struct {
    zjob_job_t **jobs;
    size_t count;  //  Jobs read
    size_t total;  //  Jobs matching
    size_t first;  //  Offset of jobs [0]
} s_pages_t;

static void
s_print_list (zjob_cli_t *cli, s_pages_t *pages, bool filtered)
{
    if (cli->json) {
        json_t *array = json_array ();
        for (size_t index = 0; index < pages->count; index++)
            json_array_append_new (array, zjob_job_to_json (pages->jobs [index]));
        json_t *object = json_pack ("{s:I, s:I, s:I, s:o}", "total", (json_int_t) pages->total,
                                    "offset", (json_int_t) pages->first,
                                    "count", (json_int_t) pages->count, "jobs", array);
        zjob_cli_print_json (object, false);
        json_decref (object);
        return;
    }
    size_t count = pages->count, total = pages->total, first = pages->first;
    if (count)
        zjob_cli_print_jobs_table (pages->jobs, count);
    if (total == 0)
        printf ("no jobs%s\n", filtered ? " match" : "");
    else if (count == 0)
        printf ("no jobs from offset %zu: %zu job%s in all\n", first, total,
                total == 1 ? "" : "s");
    else if (count < total)
        printf ("jobs %zu-%zu of %zu%s\n", first + 1, first + count, total,
                first + count < total ? " (more with --offset or --all)" : "");
    else
        printf ("%zu job%s\n", total, total == 1 ? "" : "s");
    fflush (stdout);
}

//  One page, or with all every page from the query's offset on
static int
s_list_run (zjob_cli_t *cli, zjob_query_t *query, bool all, bool filtered)
{
    s_pages_t pages = { NULL, 0, 0, query->offset };
    zjob_error_t err;
    int rc = 0;
    while (true) {
        zjob_job_t **page;
        size_t page_count, page_total;
        if (zjob_client_list (zjob_cli_client (cli), query, &page, &page_count, &page_total,
                              &err)) {
            rc = zjob_cli_fail (cli, &err);
            break;
        }
        pages.total = page_total;
        zjob_job_t **bigger = (zjob_job_t **) realloc (pages.jobs, (pages.count + page_count + 1) * sizeof (zjob_job_t *));
        if (!bigger) {
            for (size_t index = 0; index < page_count; index++)
                zjob_job_destroy (&page [index]);
            free (page);
            zjob_cli_error (cli, "out of memory after %zu jobs", pages.count);
            rc = ZJOB_EXIT_INTERNAL;
            break;
        }
        pages.jobs = bigger;
        memcpy (pages.jobs + pages.count, page, page_count * sizeof (zjob_job_t *));
        pages.count += page_count;
        free (page);
        query->offset += page_count;
        if (!all || page_count == 0 || query->offset >= page_total)
            break;
    }
    if (rc == 0)
        s_print_list (cli, &pages, filtered);
    for (size_t index = 0; index < pages.count; index++)
        zjob_job_destroy (&pages.jobs [index]);
    free (pages.jobs);
    return rc;
}

//  One option of list (not a filter one). Returns ZJOB_CLI_CONTINUE or an exit code.
static int
s_list_option (zjob_cli_t *cli, int opt, const char *arg, zjob_query_t *query, bool *all)
{
    switch (opt) {
        case ZJOB_OPT_SORT: {
            int sort = zjob_sort_parse (arg);
            if (sort < 0)
                return zjob_cli_bad_value (cli, "--sort: '%s' is not created, updated, "
                                                "priority or status",
                                           arg);
            query->sort_by = (zjob_sort_t) sort;
            break;
        }
        case ZJOB_OPT_ASC: query->descending = false; break;
        case ZJOB_OPT_DESC: query->descending = true; break;
        case ZJOB_OPT_ALL: *all = true; break;
        case 'n': {
            int64_t value = zjob_cli_parse_count (arg, ZJOB_LIST_LIMIT_MAX);
            if (value <= 0)
                return zjob_cli_bad_value (cli, "--limit: '%s' is not 1..%d", arg,
                                           ZJOB_LIST_LIMIT_MAX);
            query->limit = (size_t) value;
            break;
        }
        case ZJOB_OPT_OFFSET: {
            int64_t value = zjob_cli_parse_count (arg, INT32_MAX);
            if (value < 0)
                return zjob_cli_bad_value (cli, "--offset: '%s' is not a count", arg);
            query->offset = (size_t) value;
            break;
        }
        default:
            return ZJOB_EXIT_USAGE;
    }
    return ZJOB_CLI_CONTINUE;
}

int
zjob_cli_cmd_list (zjob_cli_t *cli, int argc, char *argv [])
{
    static const struct option options [] = {
        ZJOB_CLI_FILTER_OPTIONS,
        { "sort", required_argument, NULL, ZJOB_OPT_SORT },
        { "asc", no_argument, NULL, ZJOB_OPT_ASC },
        { "desc", no_argument, NULL, ZJOB_OPT_DESC },
        { "limit", required_argument, NULL, 'n' },
        { "offset", required_argument, NULL, ZJOB_OPT_OFFSET },
        { "all", no_argument, NULL, ZJOB_OPT_ALL },
        ZJOB_CLI_COMMON_OPTIONS
    };
    zjob_cli_filter_t filter = { .given = false };
    //  Newest first unless --asc: what was just submitted is what one looks for
    zjob_query_t query = { .limit = S_LIST_LIMIT, .descending = true };
    bool all = false;
    int rc = ZJOB_CLI_CONTINUE;
    int opt;
    zjob_cli_getopt_reset ();
    while (rc == ZJOB_CLI_CONTINUE
           && (opt = zjob_cli_getopt (cli, argc, argv, "s:w:u:t:n:", options, &rc)) != -1) {
        if (opt == ZJOB_OPT_HELP || opt == ZJOB_OPT_INVALID)
            rc = zjob_cli_getopt_end (cli, opt, rc);
        else if (zjob_cli_filter_option (cli, opt, optarg, &filter, &rc) == 0)
            rc = s_list_option (cli, opt, optarg, &query, &all);
    }
    if (rc == ZJOB_CLI_CONTINUE && optind < argc)
        rc = zjob_cli_usage (cli, "unexpected argument '%s'", argv [optind]);
    if (rc == ZJOB_CLI_CONTINUE && (rc = zjob_cli_connect (cli)) == 0) {
        query.filter = filter.filter;
        if (all)
            query.limit = ZJOB_LIST_LIMIT_MAX;
        rc = s_list_run (cli, &query, all, filter.given);
    }
    free (filter.tags);
    return rc;
}
