/*  =========================================================================
    cli_args - the values the zjob CLI reads from its arguments

    Durations are seconds or a number with a unit; times are ISO-8601 in
    UTC or a duration from now; counts are plain decimal numbers with a
    bound; every parser refuses trailing junk rather than guessing ("5x"
    is not five seconds). Batch lines are checked against the job model
    (zjob_job_new) before anything is sent, so that a bad line 900 of a
    file never leaves 899 jobs submitted.
    ========================================================================= */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli_args.h"

int64_t
zjob_cli_parse_duration (const char *text)
{
    if (!text || !*text)
        return -1;
    if (strspn (text, "0123456789.") == strlen (text)) {
        char *end;
        double seconds = strtod (text, &end);
        if (*end || seconds < 0 || seconds > 1e12)
            return -1;
        return (int64_t) (seconds * 1000.0 + 0.5);
    }
    return zjob_duration_parse (text);
}

int64_t
zjob_cli_parse_time (const char *text, int sign)
{
    if (!text || !*text)
        return -1;
    int64_t duration = zjob_cli_parse_duration (text);
    if (duration >= 0)
        return zjob_clock_ms () + sign * duration;
    static const char *formats [] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d" };
    for (size_t index = 0; index < sizeof formats / sizeof formats [0]; index++) {
        struct tm tm;
        memset (&tm, 0, sizeof tm);
        const char *rest = strptime (text, formats [index], &tm);
        if (!rest)
            continue;
        int millis = 0;
        if (*rest == '.' && index == 0) {
            char *end;
            double fraction = strtod (rest, &end);
            if (end == rest + 1)
                continue;  //  A '.' without digits
            millis = (int) (fraction * 1000.0 + 0.5);
            rest = end;
        }
        if (*rest == 'Z')
            rest++;
        if (*rest)
            continue;
        time_t seconds = timegm (&tm);
        if (seconds < 0)
            return -1;
        return (int64_t) seconds * 1000 + millis;
    }
    return -1;
}

int64_t
zjob_cli_parse_count (const char *text, int64_t max)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long value = strtoull (text, &end, 10);
    if (*end || errno || value > (unsigned long long) max)
        return -1;
    return (int64_t) value;
}

int
zjob_cli_parse_priority (const char *text)
{
    return text ? zjob_priority_parse (text) : -1;
}

int64_t
zjob_cli_parse_statuses (const char *text, char *bad, size_t bad_size)
{
    if (!text || !*text) {
        if (bad && bad_size)
            snprintf (bad, bad_size, "%s", "");
        return -1;
    }
    int64_t mask = 0;
    const char *start = text;
    while (true) {
        size_t length = strcspn (start, ",");
        char name [32];
        int64_t bit = -1;
        if (length > 0 && length < sizeof name) {
            memcpy (name, start, length);
            name [length] = '\0';
            int status = zjob_status_parse (name);
            if (status >= 0)
                bit = INT64_C (1) << status;
            else if (streq (name, "scheduled"))
                bit = ZJOB_CLI_SCHEDULED;
            else if (streq (name, "ready"))
                bit = ZJOB_CLI_READY;
        }
        if (bit < 0) {
            if (bad && bad_size)
                snprintf (bad, bad_size, "%.*s", (int) length, start);
            return -1;
        }
        mask |= bit;
        if (!start [length])
            break;
        start += length + 1;
    }
    return mask;
}


//  --------------------------------------------------------------------------
//  JSON arguments

char *
zjob_cli_slurp (FILE *file)
{
    size_t size = 0, capacity = 4096;
    char *text = (char *) malloc (capacity);
    while (text) {
        if (size + 1 >= capacity) {
            if (capacity >= ZJOB_CLI_TEXT_MAX) {
                free (text);
                errno = EFBIG;
                return NULL;
            }
            char *bigger = (char *) realloc (text, capacity * 2);
            if (!bigger)
                break;
            text = bigger;
            capacity *= 2;
        }
        size_t got = fread (text + size, 1, capacity - size - 1, file);
        size += got;
        if (got == 0) {
            if (ferror (file))
                break;
            text [size] = '\0';
            return text;
        }
    }
    free (text);
    return NULL;
}

FILE *
zjob_cli_open_arg (zjob_cli_t *cli, const char *what, const char *path)
{
    if (streq (path, "-")) {
        if (cli->stdin_used) {
            zjob_cli_error (cli, "%s: stdin is already read by another option; use @FILE",
                            what);
            return NULL;
        }
        cli->stdin_used = true;
        return stdin;
    }
    FILE *file = fopen (path, "r");
    if (!file)
        zjob_cli_error (cli, "%s: cannot read '%s': %s", what, path, strerror (errno));
    return file;
}

int
zjob_cli_json_arg (zjob_cli_t *cli, const char *what, const char *arg, uint8_t **data_p,
                   size_t *size_p)
{
    char *text = NULL;
    const char *source = NULL;  //  Where the text came from, if not inline
    if (streq (arg, "-") || arg [0] == '@') {
        source = streq (arg, "-") ? "stdin" : arg + 1;
        FILE *file = zjob_cli_open_arg (cli, what, streq (arg, "-") ? arg : arg + 1);
        if (!file)
            return ZJOB_EXIT_BAD_INPUT;
        text = zjob_cli_slurp (file);
        if (!text)
            zjob_cli_error (cli, "%s: cannot read %s: %s", what, source,
                            errno == EFBIG ? "larger than 16 MiB" : strerror (errno));
        if (file != stdin)
            fclose (file);
        if (!text)
            return ZJOB_EXIT_BAD_INPUT;
    }
    zjob_error_t err;
    int rc = zjob_json_to_msgpack (text ? text : arg, data_p, size_p, &err);
    free (text);
    if (rc) {
        if (source)
            zjob_cli_error (cli, "%s (from %s): %s", what, source, err.text);
        else
            zjob_cli_error (cli, "%s: %s", what, err.text);
        return zjob_cli_exit_code (err.code);
    }
    return 0;
}

//  True if arg is a JSON argument (inline, @FILE, -), not KEY=VALUE: a
//  KEY=VALUE has an '=' after a key of printable characters that are not
//  JSON's punctuation, so that '{"a": "b=c"}' or '[1, 2]' is JSON (and
//  is told what is wrong with it as JSON)
static bool
s_json_source (const char *arg)
{
    const char *equals = strchr (arg, '=');
    if (!equals || equals == arg || arg [0] == '@')
        return true;
    for (const char *at = arg; at < equals; at++)
        if ((unsigned char) *at <= ' ' || (unsigned char) *at >= 0x7f || strchr ("{}[]\"", *at))
            return true;
    return false;
}

//  Add arg (JSON object or KEY=VALUE) to object. Returns 0 or an exit code.
static int
s_object_add (zjob_cli_t *cli, const char *what, const char *arg, json_t *object)
{
    zjob_error_t err;
    if (s_json_source (arg)) {
        uint8_t *data = NULL;
        size_t size = 0;
        int rc = zjob_cli_json_arg (cli, what, arg, &data, &size);
        json_t *value = rc ? NULL : zjob_msgpack_to_json_value (data, size, &err);
        free (data);
        if (rc)
            return rc;
        if (!value) {
            zjob_cli_error (cli, "%s: %s", what, err.text);
            return ZJOB_EXIT_BAD_INPUT;
        }
        json_object_update (object, value);
        json_decref (value);
        return 0;
    }
    const char *equals = strchr (arg, '=');
    char *key = strndup (arg, (size_t) (equals - arg));
    json_t *value = zjob_json_parse (equals + 1, false, &err);
    if (!value)
        value = json_string (equals + 1);
    int rc = key && value ? json_object_set_new (object, key, value) : -1;
    free (key);
    if (rc) {
        zjob_cli_error (cli, "%s: '%s': not UTF-8 text, or out of memory", what, arg);
        return ZJOB_EXIT_BAD_INPUT;
    }
    return 0;
}

int
zjob_cli_object_args (zjob_cli_t *cli, const char *what, const char *const *args, size_t count,
                      uint8_t **data_p, size_t *size_p)
{
    *data_p = NULL;
    *size_p = 0;
    if (count == 0)
        return 0;
    if (count == 1 && s_json_source (args [0]))
        return zjob_cli_json_arg (cli, what, args [0], data_p, size_p);
    json_t *object = json_object ();
    int rc = object ? 0 : ZJOB_EXIT_INTERNAL;
    for (size_t index = 0; index < count && rc == 0; index++)
        rc = s_object_add (cli, what, args [index], object);
    zjob_error_t err;
    if (rc == 0 && zjob_json_value_encode (object, data_p, size_p, &err)) {
        zjob_cli_error (cli, "%s: %s", what, err.text);
        rc = zjob_cli_exit_code (err.code);
    }
    json_decref (object);
    return rc;
}

int
zjob_cli_strings_add (zjob_cli_strings_t *strings, const char *item)
{
    const char **bigger = (const char **) realloc (strings->items,
                                                   (strings->count + 1) * sizeof (char *));
    if (!bigger)
        return -1;
    strings->items = bigger;
    strings->items [strings->count++] = item;
    return 0;
}


//  --------------------------------------------------------------------------
//  Batches: a JSON object a line

//  A string key of a line (workflow_id, user_id, idempotency_key)
static int
s_line_string (zjob_spec_t *spec, const char *key, json_t *value, zjob_error_t *err)
{
    if (!json_is_string (value))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: not a string", key);
    const char *text = json_string_value (value);
    if (streq (key, "workflow_id"))
        spec->workflow_id = text;
    else if (streq (key, "user_id"))
        spec->user_id = text;
    else
        spec->idempotency_key = text;
    return 0;
}

//  An object key of a line (inputs, metadata), encoded to msgpack
static int
s_line_object (zjob_cli_line_t *line, const char *key, json_t *value, zjob_error_t *err)
{
    if (!json_is_object (value))
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "%s: expected a JSON object such as {\"x\": 1}", key);
    bool inputs = streq (key, "inputs");
    uint8_t **data_p = inputs ? &line->inputs : &line->metadata;
    free (*data_p);
    *data_p = NULL;
    size_t size;
    zjob_error_t local;
    if (zjob_json_value_encode (value, data_p, &size, &local))
        return zjob_error_set (err, local.code, "%s: %s", key, local.text);
    if (inputs) {
        line->spec.inputs = line->inputs;
        line->spec.inputs_size = size;
    }
    else {
        line->spec.metadata = line->metadata;
        line->spec.metadata_size = size;
    }
    return 0;
}

static int
s_line_tags (zjob_cli_line_t *line, json_t *value, zjob_error_t *err)
{
    if (!json_is_array (value))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "tags: not an array of strings");
    size_t count = json_array_size (value);
    free (line->tags);
    line->tags = (const char **) calloc (count + 1, sizeof (char *));
    if (!line->tags)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    for (size_t index = 0; index < count; index++) {
        json_t *tag = json_array_get (value, index);
        if (!json_is_string (tag))
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "tags[%zu]: not a string", index);
        line->tags [index] = json_string_value (tag);
    }
    line->spec.tags = line->tags;
    line->spec.tag_count = count;
    return 0;
}

//  The scalar keys of a line: priority, run_at
static int
s_line_scalar (zjob_spec_t *spec, const char *key, json_t *value, zjob_error_t *err)
{
    if (streq (key, "priority")) {
        int priority = json_is_string (value)
            ? zjob_priority_parse (json_string_value (value))
            : -1;
        if (priority < 0)
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "priority: expected low, medium, high or critical");
        spec->priority = (zjob_priority_t) priority;
    }
    else {
        int64_t when = json_is_integer (value) ? (int64_t) json_integer_value (value)
            : json_is_string (value)
            ? zjob_cli_parse_time (json_string_value (value), 1)
            : -1;
        if (when < 0)
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "run_at: expected ms UTC or an ISO-8601 time");
        spec->run_at = when;
    }
    return 0;
}

int
zjob_cli_line_spec (zjob_cli_line_t *line, const zjob_cli_defaults_t *defaults,
                    zjob_error_t *err)
{
    zjob_spec_t *spec = &line->spec;
    spec->workflow_id = defaults->workflow_id;
    spec->priority = defaults->priority >= 0 ? (zjob_priority_t) defaults->priority
                                             : ZJOB_PRIORITY_UNSET;
    spec->user_id = defaults->user_id;
    spec->tags = (const char **) defaults->tags;
    spec->tag_count = defaults->tag_count;
    zjob_cli_defaults_apply (defaults, spec);
    const char *key;
    json_t *value;
    json_object_foreach (line->value, key, value)
    {
        int rc = zjob_cli_line_policy (line, key, value, err);
        if (rc)
            rc = rc < 0 ? -1 : 0;
        else if (streq (key, "workflow_id") || streq (key, "user_id")
                 || streq (key, "idempotency_key"))
            rc = s_line_string (spec, key, value, err);
        else if (streq (key, "inputs") || streq (key, "metadata"))
            rc = s_line_object (line, key, value, err);
        else if (streq (key, "tags"))
            rc = s_line_tags (line, value, err);
        else if (streq (key, "priority") || streq (key, "run_at"))
            rc = s_line_scalar (spec, key, value, err);
        else
            rc = zjob_error_set (err, ZJOB_BAD_REQUEST, "unknown key \"%s\" (known: "
                                                        "workflow_id, inputs, priority, user_id, tags, metadata, "
                                                        "idempotency_key, max_attempts, run_at, backoff, "
                                                        "backoff_base_ms, backoff_factor, backoff_max_ms, "
                                                        "jitter, no_retry, timeout_ms, heartbeat_timeout_ms)",
                                 key);
        if (rc)
            return -1;
    }
    if (!spec->workflow_id)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "workflow_id: required (or give WORKFLOW on the command line)");
    //  The job model's own checks, so that nothing is sent when a line is bad
    zjob_job_t *probe = zjob_job_new (spec, err);
    if (!probe)
        return -1;
    zjob_job_destroy (&probe);
    return 0;
}

void
zjob_cli_lines_free (zjob_cli_line_t *lines, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        json_decref (lines [index].value);
        free (lines [index].inputs);
        free (lines [index].metadata);
        free (lines [index].tags);
        free (lines [index].no_retry);
    }
    free (lines);
}

zjob_cli_line_t *
zjob_cli_batch_parse (FILE *file, const char *name, const zjob_cli_defaults_t *defaults,
                      size_t *count_p, zjob_error_t *err)
{
    zjob_cli_line_t *lines = NULL;
    size_t count = 0, capacity = 0, number = 0;
    char *text = NULL;
    size_t text_size = 0;
    bool failed = false;
    while (!failed && getline (&text, &text_size, file) >= 0) {
        number++;
        if (text [strspn (text, " \t\r\n")] == '\0')
            continue;  //  Blank lines separate nothing
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            zjob_cli_line_t *bigger = (zjob_cli_line_t *)
                realloc (lines, capacity * sizeof (zjob_cli_line_t));
            if (!bigger) {
                failed = true;
                zjob_error_set (err, ZJOB_INTERNAL, "out of memory reading %s", name);
                break;
            }
            lines = bigger;
        }
        zjob_cli_line_t *line = &lines [count++];
        memset (line, 0, sizeof *line);
        line->line = number;
        zjob_error_t local;
        line->value = zjob_json_parse (text, true, &local);
        if (!line->value || zjob_cli_line_spec (line, defaults, &local)) {
            zjob_error_set (err, local.code, "%s line %zu: %s (nothing was submitted)", name,
                            number, local.text);
            failed = true;
        }
    }
    free (text);
    if (!failed && count == 0) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "%s has no jobs: expected one JSON object "
                                               "per line",
                        name);
        failed = true;
    }
    if (failed) {
        zjob_cli_lines_free (lines, count);
        return NULL;
    }
    *count_p = count;
    return lines;
}
