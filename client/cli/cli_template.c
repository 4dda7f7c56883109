/*  =========================================================================
    cli_template - zjob template set|get|list|delete (issue #11)

    A template is a named set of job settings the broker keeps (TEMPLATE,
    PROTOCOL.md 9.12); `zjob submit --template NAME` makes a job of it,
    the submit's own options winning. set takes submit's options for the
    settings (the same parsers: cli_args.c, cli_policy.c), and checks them
    as a job's before it connects, so that bad input is exit 2 with
    nothing sent. --input and --metadata take a JSON object or KEY=VALUE,
    repeated (zjob_cli_object_args). get prints the template for people
    or, with --json, as an object with submit's keys (inputs and metadata
    as JSON, times as ISO-8601); list a table of names, or with --json
    {"templates": [...], "total"}.
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_commands.h"
#include "cli_args.h"
#include "cli_output.h"

#define S_OPT_WORKFLOW 'w'
#define S_OPT_LIMIT 2001
#define S_OPT_OFFSET 2002

//  The options of set (strings borrowed from argv)
typedef struct {
    zjob_cli_defaults_t defaults;  //  Workflow, priority, user, attempts, policy
    zjob_cli_strings_t tags;
    zjob_cli_strings_t inputs;     //  --input arguments, in order
    zjob_cli_strings_t metadatas;  //  --metadata arguments, in order
    char **kinds;                  //  --no-retry's list, or NULL
} s_set_t;

static int
s_set_option (zjob_cli_t *cli, int opt, const char *arg, s_set_t *opts)
{
    switch (opt) {
        case S_OPT_WORKFLOW: opts->defaults.workflow_id = arg; break;
        case 'u': opts->defaults.user_id = arg; break;
        case 'i':
        case 'm':
        case 't':
            if (zjob_cli_strings_add (opt == 'i' ? &opts->inputs : opt == 'm' ? &opts->metadatas
                                                                              : &opts->tags,
                                      arg))
                return ZJOB_EXIT_INTERNAL;
            break;
        default: {
            int rc = zjob_cli_policy_option (cli, opt, arg, &opts->defaults, &opts->kinds);
            return rc == 1 ? ZJOB_CLI_CONTINUE : rc == 0 ? ZJOB_EXIT_USAGE
                                                         : rc;
        }
    }
    return ZJOB_CLI_CONTINUE;
}

//  Build the template's spec from the options, check it as a job's, send
//  it. Returns the exit code.
static int
s_set_send (zjob_cli_t *cli, const char *name, s_set_t *opts)
{
    uint8_t *inputs = NULL, *metadata = NULL;
    size_t inputs_size = 0, metadata_size = 0;
    int rc = zjob_cli_object_args (cli, "--input", opts->inputs.items, opts->inputs.count,
                                   &inputs, &inputs_size);
    if (rc == 0)
        rc = zjob_cli_object_args (cli, "--metadata", opts->metadatas.items,
                                   opts->metadatas.count, &metadata, &metadata_size);
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
        .metadata_size = metadata_size
    };
    zjob_cli_defaults_apply (defaults, &spec);
    zjob_error_t err;
    if (rc == 0) {
        //  What a job refuses, a template refuses: no broker needed to say so
        zjob_job_t *probe = zjob_job_new (&spec, &err);
        if (probe)
            zjob_job_destroy (&probe);
        else {
            zjob_cli_error (cli, "%s", err.text);
            rc = zjob_cli_exit_code (err.code);
        }
    }
    if (rc == 0)
        rc = zjob_cli_connect (cli);
    bool created = false;
    if (rc == 0
        && zjob_client_template_set (zjob_cli_client (cli), name, &spec, &created, &err))
        rc = zjob_cli_fail (cli, &err);
    if (rc == 0 && cli->json) {
        json_t *object = json_pack ("{s:s, s:b}", "name", name, "created", created);
        zjob_cli_print_json (object, false);
        json_decref (object);
    }
    else if (rc == 0)
        printf ("template %s %s\n", name, created ? "created" : "replaced");
    free (inputs);
    free (metadata);
    return rc;
}

static int
s_set (zjob_cli_t *cli, int argc, char *argv [])
{
    static const struct option options [] = {
        { "workflow", required_argument, NULL, S_OPT_WORKFLOW },
        { "input", required_argument, NULL, 'i' },
        { "priority", required_argument, NULL, 'p' },
        { "user", required_argument, NULL, 'u' },
        { "tag", required_argument, NULL, 't' },
        { "metadata", required_argument, NULL, 'm' },
        { "max-attempts", required_argument, NULL, ZJOB_OPT_MAX_ATTEMPTS },
        { "backoff", required_argument, NULL, ZJOB_OPT_BACKOFF },
        { "backoff-base", required_argument, NULL, ZJOB_OPT_BACKOFF_BASE },
        { "backoff-factor", required_argument, NULL, ZJOB_OPT_BACKOFF_FACTOR },
        { "backoff-max", required_argument, NULL, ZJOB_OPT_BACKOFF_MAX },
        { "jitter", required_argument, NULL, ZJOB_OPT_JITTER },
        { "no-retry", required_argument, NULL, ZJOB_OPT_NO_RETRY },
        { "job-timeout", required_argument, NULL, ZJOB_OPT_JOB_TIMEOUT },
        { "heartbeat-timeout", required_argument, NULL, ZJOB_OPT_HEARTBEAT_TIMEOUT },
        ZJOB_CLI_COMMON_OPTIONS
    };
    s_set_t opts = { .defaults = { .priority = -1, .max_attempts = -1 } };
    int rc = ZJOB_CLI_CONTINUE;
    int opt;
    zjob_cli_getopt_reset ();
    while (rc == ZJOB_CLI_CONTINUE
           && (opt = zjob_cli_getopt (cli, argc, argv, "w:i:p:u:t:m:", options, &rc)) != -1) {
        if (opt == ZJOB_OPT_HELP || opt == ZJOB_OPT_INVALID)
            rc = zjob_cli_getopt_end (cli, opt, rc);
        else
            rc = s_set_option (cli, opt, optarg, &opts);
    }
    if (rc == ZJOB_CLI_CONTINUE && argc - optind != 1)
        rc = zjob_cli_usage (cli, argc - optind ? "one template NAME only, please" : "which template? give its NAME");
    if (rc == ZJOB_CLI_CONTINUE && !opts.defaults.workflow_id)
        rc = zjob_cli_usage (cli, "a template names its workflow: give --workflow W");
    if (rc == ZJOB_CLI_CONTINUE && !zjob_name_valid (argv [optind]))
        rc = zjob_cli_bad_value (cli, "'%s' is not a name (1 to %d printable ASCII "
                                      "characters, no space)",
                                 argv [optind], ZJOB_NAME_MAX);
    if (rc == ZJOB_CLI_CONTINUE)
        rc = s_set_send (cli, argv [optind], &opts);
    free (opts.tags.items);
    free (opts.inputs.items);
    free (opts.metadatas.items);
    free (opts.kinds);
    return rc;
}


//  --------------------------------------------------------------------------
//  get

//  Replace the bin at key (an encoded map) by its JSON
static void
s_data_json (json_t *object, const char *key, const uint8_t *data, size_t size)
{
    zjob_error_t err;
    json_t *value = size ? zjob_msgpack_to_json_value (data, size, &err) : NULL;
    if (value)
        json_object_set_new (object, key, value);
    else
        json_object_del (object, key);
}

//  A time (ms UTC) at key as ISO-8601
static void
s_time_json (json_t *object, const char *key)
{
    json_t *value = json_object_get (object, key);
    if (!json_is_integer (value))
        return;
    char iso [ZJOB_ISO_TIME_LEN];
    json_object_set_new (object, key, json_string (zjob_iso_time (json_integer_value (value), iso)));
}

static int64_t
s_ms (json_t *object, const char *key)
{
    json_t *value = json_object_get (object, key);
    return json_is_integer (value) ? (int64_t) json_integer_value (value) : 0;
}

//  A time or a delay of a spec ("none", "30s")
static const char *
s_duration (uint32_t ms, char *buf, size_t size)
{
    return ms == ZJOB_TIMEOUT_NONE ? "none" : zjob_cli_format_duration (ms, buf, size);
}

//  The template for people, one field a line (object: its map as JSON)
static void
s_print_template (const zjob_spec_t *spec, json_t *object)
{
    char when [64], one [32], two [32];
    json_t *name = json_object_get (object, "name");
    printf ("%-12s  %s\n", "template", json_is_string (name) ? json_string_value (name) : "");
    printf ("%-12s  %s\n", "workflow", spec->workflow_id);
    if (spec->priority != ZJOB_PRIORITY_UNSET)
        printf ("%-12s  %s\n", "priority", zjob_priority_name (spec->priority));
    if (spec->user_id)
        printf ("%-12s  %s\n", "user", spec->user_id);
    if (spec->tag_count) {
        printf ("%-12s  ", "tags");
        for (size_t index = 0; index < spec->tag_count; index++)
            printf ("%s%s", index ? ", " : "", spec->tags [index]);
        printf ("\n");
    }
    zjob_bytes_t inputs = { spec->inputs, spec->inputs_size };
    zjob_bytes_t metadata = { spec->metadata, spec->metadata_size };
    if (inputs.size)
        zjob_cli_print_data ("inputs", &inputs);
    if (metadata.size)
        zjob_cli_print_data ("metadata", &metadata);
    if (spec->max_attempts == ZJOB_ATTEMPTS_UNLIMITED)
        printf ("%-12s  no limit\n", "attempts");
    else if (spec->max_attempts)
        printf ("%-12s  at most %" PRIu32 "\n", "attempts", spec->max_attempts);
    if (spec->backoff)
        printf ("%-12s  %s\n", "backoff", zjob_backoff_name (spec->backoff));
    if (spec->no_retry_count) {
        printf ("%-12s  ", "not retried");
        for (size_t index = 0; index < spec->no_retry_count; index++)
            printf ("%s%s", index ? ", " : "", spec->no_retry [index]);
        printf ("\n");
    }
    if (spec->timeout_ms || spec->heartbeat_timeout_ms)
        printf ("%-12s  %s an attempt, %s without progress\n", "timeouts",
                spec->timeout_ms ? s_duration (spec->timeout_ms, one, sizeof one) : "default",
                spec->heartbeat_timeout_ms ? s_duration (spec->heartbeat_timeout_ms, two, sizeof two)
                                           : "default");
    printf ("%-12s  %s\n", "created",
            zjob_cli_format_when (s_ms (object, "created_at"), when, sizeof when));
    printf ("%-12s  %s\n", "updated",
            zjob_cli_format_when (s_ms (object, "updated_at"), when, sizeof when));
    fflush (stdout);
}

//  The one NAME argument of get and delete; connects. Returns
//  ZJOB_CLI_CONTINUE with *name_p set, or the exit code.
static int
s_parse_name (zjob_cli_t *cli, int argc, char *argv [], const char **name_p)
{
    static const struct option options [] = { ZJOB_CLI_COMMON_OPTIONS };
    int opt, rc;
    zjob_cli_getopt_reset ();
    while ((opt = zjob_cli_getopt (cli, argc, argv, "", options, &rc)) != -1)
        return zjob_cli_getopt_end (cli, opt, rc);
    if (argc - optind != 1)
        return zjob_cli_usage (cli, argc - optind ? "one template NAME only, please" : "which template? give its NAME");
    *name_p = argv [optind];
    rc = zjob_cli_connect (cli);
    return rc ? rc : ZJOB_CLI_CONTINUE;
}

static int
s_get (zjob_cli_t *cli, int argc, char *argv [])
{
    const char *name = NULL;
    int rc = s_parse_name (cli, argc, argv, &name);
    if (rc != ZJOB_CLI_CONTINUE)
        return rc;
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_template_get (zjob_cli_client (cli), name, &err);
    if (!reply)
        return zjob_cli_fail (cli, &err);
    zjob_msg_t *msg = zjob_reply_msg (reply);
    zjob_spec_t spec;
    const msgpack_object *map = zjob_msg_field (msg, "template");
    json_t *object = map ? zjob_msgpack_object_to_json (map) : NULL;
    if (!object || zjob_msg_template (msg, "template", &spec, &err)) {
        json_decref (object);
        zjob_reply_destroy (&reply);
        zjob_cli_error (cli, "the broker's answer is not a template");
        return ZJOB_EXIT_INTERNAL;
    }
    if (cli->json) {
        s_data_json (object, "inputs", spec.inputs, spec.inputs_size);
        s_data_json (object, "metadata", spec.metadata, spec.metadata_size);
        s_time_json (object, "created_at");
        s_time_json (object, "updated_at");
        json_t *sorted = zjob_cli_json_sorted (object);
        zjob_cli_print_json (sorted, false);
        json_decref (sorted);
    }
    else
        s_print_template (&spec, object);
    json_decref (object);
    zjob_reply_destroy (&reply);
    return ZJOB_EXIT_OK;
}


//  --------------------------------------------------------------------------
//  list, delete

static void
s_print_list (json_t *templates, json_int_t total, json_int_t offset)
{
    static const char *header [] = { "NAME", "WORKFLOW", "PRIORITY", "TAGS", "UPDATED" };
    zjob_cli_table_t *table = zjob_cli_table_new (5, header);
    if (!table)
        return;
    int64_t now = zjob_clock_ms ();
    size_t index;
    json_t *entry;
    json_array_foreach (templates, index, entry)
    {
        char tags [256] = "", ago [32];
        size_t used = 0, tag_index;
        json_t *tag;
        json_array_foreach (json_object_get (entry, "tags"), tag_index, tag)
            used
            += (size_t) snprintf (tags + used, used < sizeof tags ? sizeof tags - used : 0,
                                  "%s%s", tag_index ? "," : "", json_string_value (tag));
        const char *row [] = { json_string_value (json_object_get (entry, "name")),
                               json_string_value (json_object_get (entry, "workflow_id")),
                               json_string_value (json_object_get (entry, "priority")), tags,
                               zjob_cli_format_ago (s_ms (entry, "updated_at"), now, ago,
                                                    sizeof ago) };
        zjob_cli_table_add (table, row);
    }
    zjob_cli_table_print (table, "");
    zjob_cli_table_destroy (&table);
    size_t shown = json_array_size (templates);
    if ((json_int_t) shown < total)
        printf ("(%zu of %" JSON_INTEGER_FORMAT " templates from %" JSON_INTEGER_FORMAT
                "; --offset and --limit page)\n",
                shown, total, offset);
    fflush (stdout);
}

static int
s_list (zjob_cli_t *cli, int argc, char *argv [])
{
    static const struct option options [] = {
        { "limit", required_argument, NULL, S_OPT_LIMIT },
        { "offset", required_argument, NULL, S_OPT_OFFSET },
        ZJOB_CLI_COMMON_OPTIONS
    };
    int64_t limit = 0, offset = 0;
    int opt, rc = ZJOB_CLI_CONTINUE;
    zjob_cli_getopt_reset ();
    while (rc == ZJOB_CLI_CONTINUE
           && (opt = zjob_cli_getopt (cli, argc, argv, "", options, &rc)) != -1) {
        if (opt == S_OPT_LIMIT && (limit = zjob_cli_parse_count (optarg, ZJOB_TEMPLATE_PAGE_MAX)) < 1)
            rc = zjob_cli_bad_value (cli, "--limit: '%s' is not a count from 1 to %d", optarg,
                                     ZJOB_TEMPLATE_PAGE_MAX);
        else if (opt == S_OPT_OFFSET && (offset = zjob_cli_parse_count (optarg, INT64_MAX)) < 0)
            rc = zjob_cli_bad_value (cli, "--offset: '%s' is not a count", optarg);
        else if (opt != S_OPT_LIMIT && opt != S_OPT_OFFSET)
            rc = zjob_cli_getopt_end (cli, opt, rc);
    }
    if (rc == ZJOB_CLI_CONTINUE && optind < argc)
        rc = zjob_cli_usage (cli, "unexpected argument '%s'", argv [optind]);
    if (rc == ZJOB_CLI_CONTINUE)
        rc = zjob_cli_connect (cli);
    if (rc != ZJOB_CLI_CONTINUE && rc != 0)
        return rc;
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_template_list (zjob_cli_client (cli), (size_t) offset,
                                                     (size_t) limit, &err);
    if (!reply)
        return zjob_cli_fail (cli, &err);
    json_t *body = zjob_msgpack_object_to_json (zjob_msg_body (zjob_reply_msg (reply)));
    json_t *templates = json_object_get (body, "templates");
    json_int_t total = json_integer_value (json_object_get (body, "total"));
    if (cli->json) {
        size_t index;
        json_t *entry;
        json_array_foreach (templates, index, entry)
        {
            s_time_json (entry, "created_at");
            s_time_json (entry, "updated_at");
        }
        json_t *object = json_pack ("{s:O, s:I}", "templates", templates, "total", total);
        json_t *sorted = zjob_cli_json_sorted (object);
        zjob_cli_print_json (sorted, false);
        json_decref (sorted);
        json_decref (object);
    }
    else
        s_print_list (templates, total, (json_int_t) offset);
    json_decref (body);
    zjob_reply_destroy (&reply);
    return ZJOB_EXIT_OK;
}

static int
s_delete (zjob_cli_t *cli, int argc, char *argv [])
{
    const char *name = NULL;
    int rc = s_parse_name (cli, argc, argv, &name);
    if (rc != ZJOB_CLI_CONTINUE)
        return rc;
    zjob_error_t err;
    if (zjob_client_template_delete (zjob_cli_client (cli), name, &err))
        return zjob_cli_fail (cli, &err);
    if (cli->json) {
        json_t *object = json_pack ("{s:s, s:b}", "name", name, "deleted", 1);
        zjob_cli_print_json (object, false);
        json_decref (object);
    }
    else
        printf ("template %s deleted\n", name);
    return ZJOB_EXIT_OK;
}

int
zjob_cli_cmd_template (zjob_cli_t *cli, int argc, char *argv [])
{
    static const struct {
        const char *name;
        zjob_cli_fn *run;
    } s_ops [] = { { "set", s_set }, { "get", s_get }, { "list", s_list }, { "delete", s_delete } };
    if (argc < 2 || streq (argv [1], "--help") || streq (argv [1], "-h")) {
        if (argc < 2)
            return zjob_cli_usage (cli, "which? set, get, list or delete");
        zjob_cli_print_command_help (cli->command, stdout);
        return ZJOB_EXIT_OK;
    }
    for (size_t index = 0; index < sizeof s_ops / sizeof s_ops [0]; index++)
        if (streq (argv [1], s_ops [index].name))
            return s_ops [index].run (cli, argc - 1, argv + 1);
    return zjob_cli_usage (cli, "'%s' is not set, get, list or delete", argv [1]);
}
