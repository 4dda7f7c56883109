/*  =========================================================================
    cli_schedule - `zjob schedule`: recurring schedules

        zjob schedule add NAME --cron EXPR [--timezone TZ] [--no-catch-up]
                          [--paused] [--replace]
                          (--template T | --workflow W [--input k=v ...]
                           [--priority P] [--tag T ...] [--metadata JSON])
        zjob schedule list
        zjob schedule get|pause|resume|delete|run-now NAME

    --input takes k=v pairs (repeated; v is read as JSON when it is JSON,
    else as a string) or one JSON object (inline, @FILE or -), as submit's.
    Output: the schedule one field a line (a list: one schedule a line),
    or with --json the reply's schedule (or schedules) as JSON, inputs
    and metadata as JSON too.
    ========================================================================= */

#include "cli_commands.h"
#include "cli_args.h"
#include "cli_output.h"

enum {
    S_OPT_CRON = 2000,
    S_OPT_TIMEZONE,
    S_OPT_NO_CATCH_UP,
    S_OPT_TEMPLATE,
    S_OPT_WORKFLOW,
    S_OPT_PAUSED,
    S_OPT_REPLACE
};

//  A failed request: the hints of 404 and 409 are about schedules here
static int
s_fail (zjob_cli_t *cli, const zjob_error_t *err)
{
    if (err->code == ZJOB_CONFLICT) {
        zjob_cli_error (cli, "%s", err->text);  //  It says what to do
        return zjob_cli_exit_code (err->code);
    }
    if (err->code == ZJOB_NOT_FOUND) {
        bool template = strncmp (err->text, "template", 8) == 0;
        zjob_cli_error (cli, "%s ('zjob %s list' shows them)", err->text,
                        template ? "template" : "schedule");
        return zjob_cli_exit_code (err->code);
    }
    return zjob_cli_fail (cli, err);
}

//  A schedule map of a reply as JSON, its bins (inputs, metadata) decoded
static json_t *
s_schedule_json (const msgpack_object *map)
{
    json_t *object = zjob_msgpack_object_to_json (map);
    if (!object || map->type != MSGPACK_OBJECT_MAP)
        return object;
    for (uint32_t index = 0; index < map->via.map.size; index++) {
        const msgpack_object *key = &map->via.map.ptr [index].key;
        const msgpack_object *value = &map->via.map.ptr [index].val;
        if (key->type != MSGPACK_OBJECT_STR || value->type != MSGPACK_OBJECT_BIN)
            continue;
        char name [32];
        snprintf (name, sizeof (name), "%.*s", (int) key->via.str.size, key->via.str.ptr);
        zjob_error_t err;
        json_t *decoded = zjob_msgpack_to_json_value ((const uint8_t *) value->via.bin.ptr,
                                                      value->via.bin.size, &err);
        if (decoded)
            json_object_set_new (object, name, decoded);
    }
    return object;
}

static json_int_t
s_int (json_t *object, const char *key)
{
    json_t *value = json_object_get (object, key);
    return json_is_integer (value) ? json_integer_value (value) : 0;
}

static const char *
s_str (json_t *object, const char *key, const char *dflt)
{
    const char *value = json_string_value (json_object_get (object, key));
    return value ? value : dflt;
}

//  One schedule for people, one field a line
static void
s_print_schedule (json_t *schedule)
{
    char when [64];
    printf ("%-10s %s\n", "name", s_str (schedule, "name", "-"));
    printf ("%-10s %s (%s)\n", "cron", s_str (schedule, "cron", "-"),
            s_str (schedule, "timezone", "UTC"));
    printf ("%-10s %s%s\n", "state",
            json_is_true (json_object_get (schedule, "paused")) ? "paused" : "active",
            json_is_false (json_object_get (schedule, "catch_up")) ? ", no catch-up" : "");
    if (json_object_get (schedule, "template"))
        printf ("%-10s %s\n", "template", s_str (schedule, "template", "-"));
    else
        printf ("%-10s %s\n", "workflow", s_str (schedule, "workflow_id", "-"));
    json_t *inputs = json_object_get (schedule, "inputs");
    if (inputs) {
        char *text = zjob_json_dumps (inputs, ZJOB_JSON_COMPACT);
        printf ("%-10s %s\n", "inputs", text ? text : "?");
        free (text);
    }
    if (json_object_get (schedule, "priority"))
        printf ("%-10s %s\n", "priority", s_str (schedule, "priority", "-"));
    printf ("%-10s %s\n", "next",
            zjob_cli_format_when (s_int (schedule, "next"), when, sizeof (when)));
    printf ("%-10s %s\n", "last_due",
            zjob_cli_format_when (s_int (schedule, "last_due"), when, sizeof (when)));
    printf ("%-10s %s\n", "last_job", s_str (schedule, "last_job", "-"));
    if (json_object_get (schedule, "last_error"))
        printf ("%-10s %s\n", "last_error", s_str (schedule, "last_error", "-"));
}

//  The reply's "schedule" (and run-now's "id"), printed
static void
s_print_reply (zjob_cli_t *cli, zjob_reply_t *reply)
{
    zjob_msg_t *msg = zjob_reply_msg (reply);
    const msgpack_object *map = zjob_msg_field (msg, "schedule");
    json_t *schedule = map ? s_schedule_json (map) : json_object ();
    const char *id = zjob_msg_str (msg, "id");
    if (cli->json) {
        if (id)
            json_object_set_new (schedule, "job_id", json_string (id));
        zjob_cli_print_json (schedule, false);
    }
    else {
        if (id)
            printf ("%-10s %s\n", "job", id);
        s_print_schedule (schedule);
    }
    json_decref (schedule);
}

static int
s_list (zjob_cli_t *cli)
{
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_schedule (zjob_cli_client (cli), "list", NULL, &err);
    if (!reply)
        return s_fail (cli, &err);
    const msgpack_object *array = zjob_msg_field (zjob_reply_msg (reply), "schedules");
    json_t *list = json_array ();
    for (uint32_t index = 0; array && array->type == MSGPACK_OBJECT_ARRAY
         && index < array->via.array.size;
         index++)
        json_array_append_new (list, s_schedule_json (&array->via.array.ptr [index]));
    if (cli->json)
        zjob_cli_print_json (list, false);
    else {
        printf ("%-24s %-20s %-16s %-7s %-26s %s\n", "NAME", "CRON", "TIMEZONE", "STATE",
                "NEXT", "LAST JOB");
        size_t index;
        json_t *schedule;
        json_array_foreach (list, index, schedule)
        {
            char when [64];
            printf ("%-24s %-20s %-16s %-7s %-26s %s\n", s_str (schedule, "name", "-"),
                    s_str (schedule, "cron", "-"), s_str (schedule, "timezone", "UTC"),
                    json_is_true (json_object_get (schedule, "paused")) ? "paused" : "active",
                    zjob_cli_format_when (s_int (schedule, "next"), when, sizeof (when)),
                    s_str (schedule, "last_job", "-"));
        }
    }
    json_decref (list);
    zjob_reply_destroy (&reply);
    return ZJOB_EXIT_OK;
}

//  --input k=v pairs into one JSON object; a JSON object argument as is
typedef struct {
    json_t *pairs;       //  The k=v pairs given
    const char *object;  //  Or one JSON object argument
} s_inputs_t;

static int
s_input_option (zjob_cli_t *cli, const char *arg, s_inputs_t *inputs)
{
    const char *equals = strchr (arg, '=');
    bool is_object = arg [0] == '{' || arg [0] == '@' || streq (arg, "-");
    if (is_object) {
        if (inputs->object || json_object_size (inputs->pairs))
            return zjob_cli_usage (cli, "--input: a JSON object cannot be mixed with "
                                        "others");
        inputs->object = arg;
        return ZJOB_CLI_CONTINUE;
    }
    if (!equals || equals == arg)
        return zjob_cli_bad_value (cli, "--input: '%s' is not KEY=VALUE or a JSON object", arg);
    if (inputs->object)
        return zjob_cli_usage (cli, "--input: a JSON object cannot be mixed with others");
    char key [ZJOB_NAME_MAX + 1];
    snprintf (key, sizeof (key), "%.*s", (int) (equals - arg), arg);
    json_error_t error;
    json_t *value = json_loads (equals + 1, JSON_DECODE_ANY, &error);
    if (!value)
        value = json_string (equals + 1);
    json_object_set_new (inputs->pairs, key, value);
    return ZJOB_CLI_CONTINUE;
}

typedef struct {
    zjob_schedule_add_t add;
    s_inputs_t inputs;
    const char *metadata;
    zjob_cli_strings_t tags;
} s_add_t;

static int
s_add_option (zjob_cli_t *cli, int opt, const char *arg, s_add_t *opts)
{
    switch (opt) {
        case S_OPT_CRON: opts->add.cron = arg; break;
        case S_OPT_TIMEZONE: opts->add.timezone = arg; break;
        case S_OPT_NO_CATCH_UP: opts->add.no_catch_up = true; break;
        case S_OPT_PAUSED: opts->add.paused = true; break;
        case S_OPT_REPLACE: opts->add.replace = true; break;
        case S_OPT_TEMPLATE: opts->add.template_name = arg; break;
        case S_OPT_WORKFLOW: opts->add.workflow_id = arg; break;
        case 'i': return s_input_option (cli, arg, &opts->inputs);
        case 'm': opts->metadata = arg; break;
        case 't':
            if (zjob_cli_strings_add (&opts->tags, arg))
                return ZJOB_EXIT_INTERNAL;
            break;
        case 'p':
            opts->add.priority = (zjob_priority_t) zjob_cli_parse_priority (arg);
            if (opts->add.priority < 0)
                return zjob_cli_bad_value (cli, "--priority: '%s' is not low, medium, high or "
                                                "critical",
                                           arg);
            break;
        default: return ZJOB_EXIT_USAGE;
    }
    return ZJOB_CLI_CONTINUE;
}

//  add's checks after its options, then the request
static int
s_add_send (zjob_cli_t *cli, s_add_t *opts)
{
    if (!opts->add.cron)
        return zjob_cli_usage (cli, "add: --cron EXPR is required (e.g. --cron \"*/5 * * * *\")");
    if (!opts->add.template_name == !opts->add.workflow_id)
        return zjob_cli_usage (cli, "add: give --template T or --workflow W (one of them)");
    uint8_t *inputs = NULL, *metadata = NULL;
    size_t inputs_size = 0, metadata_size = 0;
    int rc = ZJOB_CLI_CONTINUE;
    zjob_error_t err;
    if (opts->inputs.object)
        rc = zjob_cli_json_arg (cli, "inputs", opts->inputs.object, &inputs, &inputs_size);
    else if (json_object_size (opts->inputs.pairs)
             && zjob_json_value_encode (opts->inputs.pairs, &inputs, &inputs_size, &err))
        rc = zjob_cli_bad_value (cli, "--input: %s", err.text);
    if (rc == ZJOB_CLI_CONTINUE && opts->metadata)
        rc = zjob_cli_json_arg (cli, "metadata", opts->metadata, &metadata, &metadata_size);
    if (rc == ZJOB_CLI_CONTINUE) {
        opts->add.inputs = inputs;
        opts->add.inputs_size = inputs_size;
        opts->add.metadata = metadata;
        opts->add.metadata_size = metadata_size;
        opts->add.tags = opts->tags.items;
        opts->add.tag_count = opts->tags.count;
        rc = zjob_cli_connect (cli);
    }
    if (rc == ZJOB_CLI_CONTINUE || rc == 0) {
        zjob_reply_t *reply = zjob_client_schedule_add (zjob_cli_client (cli), &opts->add, &err);
        if (reply) {
            s_print_reply (cli, reply);
            zjob_reply_destroy (&reply);
            rc = ZJOB_EXIT_OK;
        }
        else
            rc = s_fail (cli, &err);
    }
    free (inputs);
    free (metadata);
    return rc;
}

static int
s_add (zjob_cli_t *cli, int argc, char *argv [])
{
    static const struct option options [] = {
        { "cron", required_argument, NULL, S_OPT_CRON },
        { "timezone", required_argument, NULL, S_OPT_TIMEZONE },
        { "no-catch-up", no_argument, NULL, S_OPT_NO_CATCH_UP },
        { "paused", no_argument, NULL, S_OPT_PAUSED },
        { "replace", no_argument, NULL, S_OPT_REPLACE },
        { "template", required_argument, NULL, S_OPT_TEMPLATE },
        { "workflow", required_argument, NULL, S_OPT_WORKFLOW },
        { "input", required_argument, NULL, 'i' },
        { "metadata", required_argument, NULL, 'm' },
        { "priority", required_argument, NULL, 'p' },
        { "tag", required_argument, NULL, 't' },
        ZJOB_CLI_COMMON_OPTIONS
    };
    s_add_t opts;
    memset (&opts, 0, sizeof (opts));
    opts.add.priority = ZJOB_PRIORITY_UNSET;
    opts.inputs.pairs = json_object ();
    int rc = ZJOB_CLI_CONTINUE;
    int opt;
    zjob_cli_getopt_reset ();
    while (rc == ZJOB_CLI_CONTINUE
           && (opt = zjob_cli_getopt (cli, argc, argv, "i:m:p:t:", options, &rc)) != -1) {
        if (opt == ZJOB_OPT_HELP || opt == ZJOB_OPT_INVALID)
            rc = zjob_cli_getopt_end (cli, opt, rc);
        else
            rc = s_add_option (cli, opt, optarg, &opts);
    }
    if (rc == ZJOB_CLI_CONTINUE) {
        if (argc - optind != 1)
            rc = zjob_cli_usage (cli, "add: give one NAME");
        else {
            opts.add.name = argv [optind];
            rc = s_add_send (cli, &opts);
        }
    }
    json_decref (opts.inputs.pairs);
    free (opts.tags.items);
    return rc;
}

//  get, pause, resume, delete, run-now NAME; list
static int
s_named (zjob_cli_t *cli, const char *op, int argc, char *argv [])
{
    static const struct option options [] = { ZJOB_CLI_COMMON_OPTIONS };
    int rc = ZJOB_CLI_CONTINUE;
    int opt;
    zjob_cli_getopt_reset ();
    while (rc == ZJOB_CLI_CONTINUE
           && (opt = zjob_cli_getopt (cli, argc, argv, "", options, &rc)) != -1)
        rc = zjob_cli_getopt_end (cli, opt, rc);
    if (rc != ZJOB_CLI_CONTINUE)
        return rc;
    bool list = streq (op, "list");
    if (argc - optind != (list ? 0 : 1))
        return zjob_cli_usage (cli, list ? "list takes no argument" : "%s: give one NAME", op);
    if ((rc = zjob_cli_connect (cli)))
        return rc;
    if (list)
        return s_list (cli);
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_schedule (zjob_cli_client (cli), op, argv [optind], &err);
    if (!reply)
        return s_fail (cli, &err);
    if (streq (op, "delete")) {
        if (cli->json) {
            json_t *done = json_pack ("{s:s, s:b}", "name", argv [optind], "deleted", 1);
            zjob_cli_print_json (done, false);
            json_decref (done);
        }
        else
            printf ("schedule %s deleted\n", argv [optind]);
    }
    else
        s_print_reply (cli, reply);
    zjob_reply_destroy (&reply);
    return ZJOB_EXIT_OK;
}

int
zjob_cli_cmd_schedule (zjob_cli_t *cli, int argc, char *argv [])
{
    if (argc < 2 || streq (argv [1], "--help") || streq (argv [1], "-h")) {
        if (argc < 2)
            return zjob_cli_usage (cli, "which? add, list, get, pause, resume, delete, run-now");
        zjob_cli_print_command_help ("schedule", stdout);
        return ZJOB_EXIT_OK;
    }
    const char *sub = argv [1];
    if (streq (sub, "add"))
        return s_add (cli, argc - 1, argv + 1);
    const char *op = streq (sub, "run-now") ? "run_now" : sub;
    if (streq (op, "list") || streq (op, "get") || streq (op, "pause") || streq (op, "resume")
        || streq (op, "delete") || streq (op, "run_now"))
        return s_named (cli, op, argc - 1, argv + 1);
    return zjob_cli_usage (cli, "'%s' is not add, list, get, pause, resume, delete or run-now",
                           sub);
}
