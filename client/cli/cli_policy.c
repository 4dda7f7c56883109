/*  =========================================================================
    cli_policy - the retry policy and timeouts of `zjob submit`

    A job's retry policy and timeouts come from submit's options (the
    defaults of every job it sends) and from the keys of a --batch line,
    which are the SUBMIT spec's wire keys (PROTOCOL.md 9.2), so that a
    line reads as the request it becomes. The two meet the C spec's
    convention here: on the wire and on the command line 0 means "none"
    (no limit, no timeout, no delay), in zjob_spec_t 0 means "the
    default", so an explicit 0 becomes ZJOB_ATTEMPTS_UNLIMITED or
    ZJOB_TIMEOUT_NONE. Values are checked before anything is sent: a bad
    one is exit 2 naming the option or the key.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "cli_commands.h"
#include "cli_args.h"

#define S_MS_MAX ((int64_t) UINT32_MAX - 1)  //  ms a timeout may be (MAX is "none")

int64_t
zjob_cli_parse_timeout (const char *text)
{
    if (!text)
        return -1;
    if (streq (text, "none") || streq (text, "0"))
        return ZJOB_TIMEOUT_NONE;
    int64_t ms = zjob_cli_parse_duration (text);
    return ms >= 1 && ms <= S_MS_MAX ? ms : -1;
}

double
zjob_cli_parse_factor (const char *text)
{
    if (!text || !*text)
        return -1;
    char *end;
    double factor = strtod (text, &end);
    //  Written this way, NaN fails too
    return *end == '\0' && factor >= 1.0 && factor <= 100.0 ? factor : -1;
}

char **
zjob_cli_parse_kinds (const char *text, size_t *count_p)
{
    *count_p = 0;
    if (!text || !*text)
        return NULL;
    size_t length = strlen (text);
    //  The pointers, then a copy of the text they point into
    char **kinds = (char **) malloc ((ZJOB_NO_RETRY_MAX + 1) * sizeof (char *) + length + 1);
    if (!kinds)
        return NULL;
    char *copy = (char *) (kinds + ZJOB_NO_RETRY_MAX + 1);
    memcpy (copy, text, length + 1);
    size_t count = 0;
    for (char *kind = copy; kind; count++) {
        char *comma = strchr (kind, ',');
        if (comma)
            *comma = '\0';
        if (count == ZJOB_NO_RETRY_MAX || !zjob_name_valid (kind)) {
            free (kinds);
            return NULL;
        }
        kinds [count] = kind;
        kind = comma ? comma + 1 : NULL;
    }
    kinds [count] = NULL;
    *count_p = count;
    return kinds;
}

//  A cap: a duration of 1 ms to 2^32-2 ms ("none" means nothing here)
static int64_t
s_parse_cap (const char *text)
{
    int64_t ms = zjob_cli_parse_duration (text);
    return ms >= 1 && ms <= S_MS_MAX ? ms : -1;
}

int
zjob_cli_policy_option (zjob_cli_t *cli, int opt, const char *arg,
                        zjob_cli_defaults_t *defaults, char ***kinds_p)
{
    zjob_spec_t *policy = &defaults->policy;
    int64_t ms;
    switch (opt) {
        case 'p':
            defaults->priority = zjob_cli_parse_priority (arg);
            if (defaults->priority < 0)
                return zjob_cli_bad_value (cli, "--priority: '%s' is not low, medium, high or "
                                                "critical",
                                           arg);
            break;
        case ZJOB_OPT_MAX_ATTEMPTS:
            defaults->max_attempts = zjob_cli_parse_count (arg, UINT32_MAX);
            if (defaults->max_attempts < 0)
                return zjob_cli_bad_value (cli, "--max-attempts: '%s' is not a count", arg);
            break;
        case ZJOB_OPT_BACKOFF: {
            int backoff = zjob_backoff_parse (arg);
            if (backoff < 0)
                return zjob_cli_bad_value (cli, "--backoff: '%s' is not fixed or exponential",
                                           arg);
            policy->backoff = (zjob_backoff_t) backoff;
            break;
        }
        case ZJOB_OPT_JITTER: {
            int jitter = zjob_jitter_parse (arg);
            if (jitter < 0)
                return zjob_cli_bad_value (cli, "--jitter: '%s' is not full or none", arg);
            policy->jitter = (zjob_jitter_t) jitter;
            break;
        }
        case ZJOB_OPT_BACKOFF_FACTOR:
            policy->backoff_factor = zjob_cli_parse_factor (arg);
            if (policy->backoff_factor < 0)
                return zjob_cli_bad_value (cli, "--backoff-factor: '%s' is not a number from "
                                                "1 to 100",
                                           arg);
            break;
        case ZJOB_OPT_BACKOFF_MAX:
            if ((ms = s_parse_cap (arg)) < 0)
                return zjob_cli_bad_value (cli, "--backoff-max: '%s' is not a duration (5m, "
                                                "1h)",
                                           arg);
            policy->backoff_max_ms = (uint32_t) ms;
            break;
        case ZJOB_OPT_BACKOFF_BASE:
        case ZJOB_OPT_JOB_TIMEOUT:
        case ZJOB_OPT_HEARTBEAT_TIMEOUT: {
            const char *name = opt == ZJOB_OPT_BACKOFF_BASE ? "--backoff-base"
                : opt == ZJOB_OPT_JOB_TIMEOUT               ? "--job-timeout"
                                                            : "--heartbeat-timeout";
            if ((ms = zjob_cli_parse_timeout (arg)) < 0)
                return zjob_cli_bad_value (cli, "%s: '%s' is not a duration (30s, 5m) or 0 "
                                                "for none",
                                           name, arg);
            uint32_t *field = opt == ZJOB_OPT_BACKOFF_BASE ? &policy->backoff_base_ms
                : opt == ZJOB_OPT_JOB_TIMEOUT              ? &policy->timeout_ms
                                                           : &policy->heartbeat_timeout_ms;
            *field = (uint32_t) ms;
            break;
        }
        case ZJOB_OPT_NO_RETRY: {
            size_t count;
            char **kinds = zjob_cli_parse_kinds (arg, &count);
            if (!kinds)
                return zjob_cli_bad_value (cli, "--no-retry: '%s' is not a list of 1 to %d "
                                                "error kinds (bad_input,timeout)",
                                           arg, ZJOB_NO_RETRY_MAX);
            free (*kinds_p);
            *kinds_p = kinds;
            policy->no_retry = (const char *const *) kinds;
            policy->no_retry_count = count;
            break;
        }
        default:
            return 0;
    }
    return 1;
}

void
zjob_cli_defaults_apply (const zjob_cli_defaults_t *defaults, zjob_spec_t *spec)
{
    const zjob_spec_t *policy = &defaults->policy;
    spec->max_attempts = defaults->max_attempts < 0 ? 0
        : defaults->max_attempts == 0               ? ZJOB_ATTEMPTS_UNLIMITED
                                                    : (uint32_t) defaults->max_attempts;
    spec->backoff = policy->backoff;
    spec->backoff_base_ms = policy->backoff_base_ms;
    spec->backoff_factor = policy->backoff_factor;
    spec->backoff_max_ms = policy->backoff_max_ms;
    spec->jitter = policy->jitter;
    spec->no_retry = policy->no_retry;
    spec->no_retry_count = policy->no_retry_count;
    spec->timeout_ms = policy->timeout_ms;
    spec->heartbeat_timeout_ms = policy->heartbeat_timeout_ms;
}


//  --------------------------------------------------------------------------
//  --batch lines: the wire's keys

//  A uint of a line within 0..max, or -1
static int64_t
s_line_uint (json_t *value, int64_t max)
{
    if (!json_is_integer (value) || json_integer_value (value) < 0
        || json_integer_value (value) > max)
        return -1;
    return (int64_t) json_integer_value (value);
}

//  no_retry: an array of 0..ZJOB_NO_RETRY_MAX kinds, borrowed from value
static int
s_line_kinds (zjob_cli_line_t *line, json_t *value, zjob_error_t *err)
{
    size_t count = json_array_size (value);
    if (!json_is_array (value) || count > ZJOB_NO_RETRY_MAX)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "no_retry: expected an array of at most %d error kinds",
                               ZJOB_NO_RETRY_MAX);
    free (line->no_retry);
    line->no_retry = (const char **) calloc (count + 1, sizeof (char *));
    if (!line->no_retry)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    for (size_t index = 0; index < count; index++) {
        const char *kind = json_string_value (json_array_get (value, index));
        if (!kind || !zjob_name_valid (kind))
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "no_retry[%zu]: not an error kind",
                                   index);
        line->no_retry [index] = kind;
    }
    line->spec.no_retry = line->no_retry;
    line->spec.no_retry_count = count;
    return 0;
}

//  A name of a line (backoff, jitter), parsed by parse
static int
s_line_name (json_t *value, int (*parse) (const char *))
{
    return json_is_string (value) ? parse (json_string_value (value)) : -1;
}

int
zjob_cli_line_policy (zjob_cli_line_t *line, const char *key, json_t *value,
                      zjob_error_t *err)
{
    zjob_spec_t *spec = &line->spec;
    int64_t number;
    if (streq (key, "no_retry"))
        return s_line_kinds (line, value, err) ? -1 : 1;
    if (streq (key, "backoff") || streq (key, "jitter")) {
        bool backoff = streq (key, "backoff");
        int kind = s_line_name (value, backoff ? zjob_backoff_parse : zjob_jitter_parse);
        if (kind < 0)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: expected %s", key,
                                   backoff ? "fixed or exponential" : "full or none");
        if (backoff)
            spec->backoff = (zjob_backoff_t) kind;
        else
            spec->jitter = (zjob_jitter_t) kind;
        return 1;
    }
    if (streq (key, "backoff_factor")) {
        double factor = json_is_number (value) ? json_number_value (value) : -1;
        if (!(factor >= 1.0 && factor <= 100.0))
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "backoff_factor: expected a number from 1 to 100");
        spec->backoff_factor = factor;
        return 1;
    }
    //  The rest are uints where the wire's 0 is "none" (max_attempts: no
    //  limit; backoff_max_ms: a cap of 0 means nothing, so it is refused)
    bool attempts = streq (key, "max_attempts");
    uint32_t *field = attempts                ? &spec->max_attempts
        : streq (key, "backoff_base_ms")      ? &spec->backoff_base_ms
        : streq (key, "backoff_max_ms")       ? &spec->backoff_max_ms
        : streq (key, "timeout_ms")           ? &spec->timeout_ms
        : streq (key, "heartbeat_timeout_ms") ? &spec->heartbeat_timeout_ms
                                              : NULL;
    if (!field)
        return 0;
    number = s_line_uint (value, attempts ? (int64_t) UINT32_MAX : S_MS_MAX);
    if (number < 0 || (number == 0 && field == &spec->backoff_max_ms))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: expected %s", key,
                               attempts ? "a count (0 = no limit)"
                                   : field == &spec->backoff_max_ms
                                   ? "msecs, 1 or more"
                                   : "msecs (0 = none)");
    *field = number == 0 ? (attempts ? ZJOB_ATTEMPTS_UNLIMITED : ZJOB_TIMEOUT_NONE)
                         : (uint32_t) number;
    return 1;
}
