/*  =========================================================================
    zjob_config - the broker's options: defaults, one setter, ZPL files

    See zjob_config.h. Each option is parsed and bounded here, once; the
    broker trusts the values it is given. Durations ("500ms", "1s") go
    through zjob_duration_parse, numbers through strtoll with the whole
    string consumed, so "10x" is an error rather than 10.
    ========================================================================= */

#include "zjob_config.h"
#include "zjob_manager.h"
#include "zjob_proto.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
zjob_broker_config_init (zjob_broker_config_t *config)
{
    assert (config);
    memset (config, 0, sizeof (*config));
    snprintf (config->clients, sizeof (config->clients), "%s", ZJOB_BROKER_CLIENTS_DEFAULT);
    snprintf (config->workers, sizeof (config->workers), "%s", ZJOB_BROKER_WORKERS_DEFAULT);
    snprintf (config->events, sizeof (config->events), "%s", ZJOB_BROKER_EVENTS_DEFAULT);
    snprintf (config->data_dir, sizeof (config->data_dir), "%s", ZJOB_BROKER_DATA_DIR_DEFAULT);
    config->max_concurrent = ZJOB_MAX_CONCURRENT_DEFAULT;
    config->max_prefetch = ZJOB_BROKER_MAX_PREFETCH_DEFAULT;
    config->heartbeat_ms = ZJOB_BROKER_HEARTBEAT_DEFAULT;
    config->liveness = ZJOB_BROKER_LIVENESS_DEFAULT;
    config->log_level = ZJOB_LOG_INFO;
    config->batch = ZJOB_BROKER_BATCH_DEFAULT;
    config->max_message = ZJOB_BROKER_MAXMSG_DEFAULT;
    config->retention_ms = 0;
    config->limits.max_queued = ZJOB_MAX_QUEUED_DEFAULT;
    config->limits.max_queued_bytes = ZJOB_MAX_QUEUED_BYTES_DEFAULT;
    config->limits.max_pending = ZJOB_MAX_PENDING_DEFAULT;
}

//  Copy value into a fixed field, refusing what does not fit
static int
s_set_text (char *field, size_t size, const char *name, const char *value, zjob_error_t *err)
{
    size_t len = strlen (value);
    if (len == 0 || len >= size)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: must be 1..%zu bytes",
                               name, size - 1);
    memcpy (field, value, len + 1);
    return 0;
}

//  A whole decimal number in [min, max], or -1 with err filled
static int
s_set_number (int64_t *number, int64_t min, int64_t max, const char *name,
              const char *value, zjob_error_t *err)
{
    char *end = NULL;
    errno = 0;
    long long parsed = strtoll (value, &end, 10);
    if (errno || end == value || *end || parsed < min || parsed > max)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: '%s' is not a number in %lld..%lld",
                               name, value, (long long) min, (long long) max);
    *number = parsed;
    return 0;
}

//  A duration in ms that fits a uint32 (0 allowed when zero_ok, as
//  ZJOB_TIMEOUT_NONE: "none"/"no delay")
static int
s_set_ms (uint32_t *field, bool zero_ok, const char *name, const char *value, zjob_error_t *err)
{
    int64_t msecs = zjob_duration_parse (value);
    if (msecs < (zero_ok ? 0 : 1) || msecs >= UINT32_MAX)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: '%s' is not a duration%s", name,
                               value, zero_ok ? "" : " over 0");
    *field = msecs == 0 ? ZJOB_TIMEOUT_NONE : (uint32_t) msecs;
    return 0;
}

//  A no-retry list: comma-separated names, at most ZJOB_NO_RETRY_MAX
static int
s_set_kinds (zjob_config_retry_t *retry, const char *value, zjob_error_t *err)
{
    if (strlen (value) >= sizeof (retry->no_retry))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "no-retry: longer than %d bytes",
                               ZJOB_CONFIG_NO_RETRY_MAX - 1);
    int count = 0;
    for (const char *cursor = value; *cursor;) {
        size_t len = strcspn (cursor, ",");
        char kind [ZJOB_NAME_MAX + 1];
        snprintf (kind, sizeof (kind), "%.*s", (int) len, cursor);
        if (len > ZJOB_NAME_MAX || !zjob_name_valid (kind))
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "no-retry: '%.*s' is not an error kind",
                                   (int) len, cursor);
        if (++count > ZJOB_NO_RETRY_MAX)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "no-retry: more than %d kinds",
                                   ZJOB_NO_RETRY_MAX);
        cursor += len + (cursor [len] == ',');
    }
    snprintf (retry->no_retry, sizeof (retry->no_retry), "%s", value);
    retry->no_retry_set = true;
    return 0;
}

//  Set one retry default; 1 if name is not one of them
static int
s_set_retry (zjob_config_retry_t *retry, const char *name, const char *value, zjob_error_t *err)
{
    int64_t number = 0;
    if (streq (name, "max-attempts")) {
        if (s_set_number (&number, 0, 1000000, name, value, err))
            return -1;
        retry->max_attempts = number ? (uint32_t) number : ZJOB_ATTEMPTS_UNLIMITED;
        return 0;
    }
    if (streq (name, "backoff") || streq (name, "backoff-jitter")) {
        bool backoff = streq (name, "backoff");
        int parsed = backoff ? zjob_backoff_parse (value) : zjob_jitter_parse (value);
        if (parsed < 0)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: '%s' is not %s", name, value,
                                   backoff ? "fixed or exponential" : "full or none");
        *(backoff ? &retry->backoff : &retry->jitter) = (uint8_t) parsed;
        return 0;
    }
    if (streq (name, "backoff-factor")) {
        char *end = NULL;
        double factor = strtod (value, &end);
        if (end == value || *end || !(factor >= 1.0 && factor <= 100.0))
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "backoff-factor: 1.0 to 100.0, not '%s'", value);
        retry->backoff_factor = factor;
        return 0;
    }
    if (streq (name, "backoff-base"))
        return s_set_ms (&retry->backoff_base_ms, true, name, value, err);
    if (streq (name, "backoff-max"))
        return s_set_ms (&retry->backoff_max_ms, false, name, value, err);
    if (streq (name, "job-timeout"))
        return s_set_ms (&retry->timeout_ms, true, name, value, err);
    if (streq (name, "heartbeat-timeout"))
        return s_set_ms (&retry->heartbeat_timeout_ms, true, name, value, err);
    if (streq (name, "no-retry"))
        return s_set_kinds (retry, value, err);
    return 1;
}

//  A queue limit of one workflow: concurrency, rate, burst; 1 if name is
//  none of them
static int
s_set_queue (zjob_config_workflow_t *entry, const char *name, const char *value,
             zjob_error_t *err)
{
    if (streq (name, "concurrency")) {
        int64_t number = 0;
        if (s_set_number (&number, 0, ZJOB_QUEUE_CONCURRENCY_MAX, name, value, err))
            return -1;
        entry->concurrency = (uint32_t) number;
        return 0;
    }
    bool rate = streq (name, "rate");
    if (rate || streq (name, "burst")) {
        char *end = NULL;
        double number = strtod (value, &end);
        double max = rate ? ZJOB_QUEUE_RATE_MAX : ZJOB_QUEUE_BURST_MAX;
        if (end == value || *end || !(number >= 0 && number <= max)
            || (!rate && number > 0 && number < 1))
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: '%s' is not a number in %s..%.0f",
                                   name, value, rate ? "0" : "1", max);
        *(rate ? &entry->rate : &entry->burst) = number;
        return 0;
    }
    return 1;
}

int64_t
zjob_config_bytes_parse (const char *text)
{
    static const char *units [] = { "k", "m", "g", "t" };
    if (!text || *text < '0' || *text > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    long long number = strtoll (text, &end, 10);
    if (errno || number < 0)
        return -1;
    int shift = 0;
    if (*end) {
        size_t unit = 0;
        while (unit < 4 && tolower ((unsigned char) *end) != *units [unit])
            unit++;
        if (unit < 4) {
            shift = 10 * (int) (unit + 1);
            end++;
            if (*end == 'i' || *end == 'I')
                end++;
        }
        if (*end == 'B' || (*end == 'b' && shift))
            end++;
        if (*end)
            return -1;
    }
    if (number > (INT64_C (1) << (62 - shift)))
        return -1;
    return (int64_t) number << shift;
}

//  The limits on what peers can make the broker hold; 1 if name is none
//  of them
static int
s_set_limit (zjob_limits_t *limits, const char *name, const char *value, zjob_error_t *err)
{
    int64_t number = 0;
    if (streq (name, "max-queued")) {
        if (s_set_number (&number, 0, INT64_C (1) << 40, name, value, err))
            return -1;
        limits->max_queued = (size_t) number;
        return 0;
    }
    if (streq (name, "max-queued-bytes")) {
        number = zjob_config_bytes_parse (value);
        if (number < 0)
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "max-queued-bytes: '%s' is not a size (bytes, or with k, M, "
                                   "G, T: 512M, 2GiB)",
                                   value);
        limits->max_queued_bytes = (uint64_t) number;
        return 0;
    }
    if (streq (name, "max-pending")) {
        if (s_set_number (&number, 0, 1000000, name, value, err))
            return -1;
        limits->max_pending = (size_t) number;
        return 0;
    }
    return 1;
}

int
zjob_broker_config_set_workflow (zjob_broker_config_t *config, const char *workflow,
                                 const char *name, const char *value, zjob_error_t *err)
{
    assert (config);
    if (!workflow || !zjob_name_valid (workflow))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "workflow: '%s' is not a workflow id",
                               workflow ? workflow : "");
    if (!name || !value)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "option: name and value required");
    size_t index = 0;
    while (index < config->workflow_count
           && !streq (config->workflows [index].workflow_id, workflow))
        index++;
    if (index == ZJOB_CONFIG_WORKFLOWS_MAX)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "workflow %s: more than %d workflows",
                               workflow, ZJOB_CONFIG_WORKFLOWS_MAX);
    zjob_config_workflow_t entry;
    if (index < config->workflow_count)
        entry = config->workflows [index];
    else {
        memset (&entry, 0, sizeof (entry));
        snprintf (entry.workflow_id, sizeof (entry.workflow_id), "%s", workflow);
    }
    zjob_error_t cause;
    int rc = s_set_queue (&entry, name, value, &cause);
    if (rc > 0) {
        rc = s_set_retry (&entry.retry, name, value, &cause);
        entry.retry_set |= rc == 0;
    }
    if (rc > 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "workflow %s: unknown option '%s'",
                               workflow, name);
    if (rc < 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "workflow %s: %s", workflow, cause.text);
    config->workflows [index] = entry;
    if (index == config->workflow_count)
        config->workflow_count++;
    return 0;
}

//  --------------------------------------------------------------------------
//  CURVE: curve-secret, keys, insecure, and the loopback rule

//  Set one CURVE option; 1 if name is none of them
static int
s_set_curve (zjob_broker_config_t *config, const char *name, const char *value,
             zjob_error_t *err)
{
    if (streq (name, "curve-secret"))
        return s_set_text (config->curve_secret, sizeof (config->curve_secret), name, value, err);
    if (streq (name, "keys"))
        return s_set_text (config->keys, sizeof (config->keys), name, value, err);
    if (streq (name, "insecure")) {
        if (!streq (value, "true") && !streq (value, "false"))
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "insecure: '%s' is not true or false",
                                   value);
        config->insecure = streq (value, "true");
        return 0;
    }
    if (streq (name, "http")) {
        //  HOST:PORT, the host a name or an address ([::1] for IPv6)
        const char *colon = strrchr (value, ':');
        if (*value && (!colon || colon == value || !colon [1] || strspn (colon + 1, "0123456789") != strlen (colon + 1) || atol (colon + 1) > 65535))
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "http: '%s' is not HOST:PORT (e.g. 127.0.0.1:5573)", value);
        return s_set_text (config->http, sizeof (config->http), name, value, err);
    }
    if (streq (name, "http-token"))
        return s_set_text (config->http_token, sizeof (config->http_token), name, value, err);
    if (streq (name, "log-format")) {
        zjob_log_format_t format;
        if (!zjob_log_parse_format (value, &format))
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "log-format: '%s' is not text or json",
                                   value);
        config->log_format = (int) format;
        return 0;
    }
    return 1;
}

bool
zjob_endpoint_is_loopback (const char *endpoint)
{
    if (!endpoint)
        return false;
    if (strncmp (endpoint, "ipc://", 6) == 0 || strncmp (endpoint, "inproc://", 9) == 0)
        return true;
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    if (strncmp (host, "[::1]:", 6) == 0 || strncmp (host, "localhost:", 10) == 0)
        return true;
    //  127.0.0.0/8, digits and dots up to the port (not a name like 127.example.com)
    if (strncmp (host, "127.", 4) != 0)
        return false;
    size_t len = strspn (host, "0123456789.");
    return host [len] == ':';
}

int
zjob_broker_config_check (const zjob_broker_config_t *config, zjob_error_t *err)
{
    assert (config);
    if (!*config->curve_secret != !*config->keys)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: CURVE needs both --curve-secret "
                                                      "and --keys",
                               *config->keys ? "--keys without --curve-secret"
                                             : "--curve-secret without --keys");
    if (*config->curve_secret && *config->http && !*config->http_token)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "--http with CURVE needs --http-token FILE: the HTTP side would "
                               "let anyone who reaches it act as an admin");
    if (*config->curve_secret || config->insecure)
        return 0;
    char http [ZJOB_BROKER_ENDPOINT_MAX + 8] = "";
    if (*config->http)
        snprintf (http, sizeof http, "tcp://%s", config->http);
    const char *endpoints [] = { config->clients, config->workers, config->events, http };
    for (size_t index = 0; index < 4; index++) {
        //  Each endpoint of a list (zjobd binds them all)
        const char *item = endpoints [index];
        while (*item) {
            size_t len = strcspn (item, ",");
            char endpoint [ZJOB_BROKER_ENDPOINT_MAX + 8];
            snprintf (endpoint, sizeof endpoint, "%.*s", (int) len, item);
            item += len + (item [len] == ',');
            if (*endpoint && !zjob_endpoint_is_loopback (endpoint))
                return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                       "refusing to bind %s without CURVE: anyone who can reach "
                                       "it could submit, cancel and delete jobs or pose as a "
                                       "worker; give --curve-secret and --keys, or --insecure",
                                       index == 3 ? config->http : endpoint);
        }
    }
    return 0;
}

int
zjob_broker_config_set (zjob_broker_config_t *config, const char *name, const char *value,
                        zjob_error_t *err)
{
    assert (config);
    if (!name || !value)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "option: name and value required");
    if (strncmp (name, "workflow/", 9) == 0) {
        //  workflow/NAME/KEY: one workflow's retry default
        const char *slash = strchr (name + 9, '/');
        char workflow [ZJOB_NAME_MAX + 1];
        if (!slash || slash - (name + 9) > ZJOB_NAME_MAX)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: not workflow/NAME/KEY", name);
        snprintf (workflow, sizeof (workflow), "%.*s", (int) (slash - (name + 9)), name + 9);
        return zjob_broker_config_set_workflow (config, workflow, slash + 1, value, err);
    }
    int rc = s_set_retry (&config->retry, name, value, err);
    if (rc <= 0)
        return rc;
    rc = s_set_limit (&config->limits, name, value, err);
    if (rc <= 0)
        return rc;
    int64_t number = 0;
    if (streq (name, "clients"))
        return s_set_text (config->clients, sizeof (config->clients), name, value, err);
    if (streq (name, "workers"))
        return s_set_text (config->workers, sizeof (config->workers), name, value, err);
    if (streq (name, "events"))
        return s_set_text (config->events, sizeof (config->events), name, value, err);
    if (streq (name, "store"))
        return s_set_text (config->store, sizeof (config->store), name, value, err);
    if (streq (name, "data-dir"))
        return s_set_text (config->data_dir, sizeof (config->data_dir), name, value, err);
    if (streq (name, "max-concurrent")) {
        if (s_set_number (&number, 0, 100000000, name, value, err))
            return -1;
        config->max_concurrent = (size_t) number;
        return 0;
    }
    if (streq (name, "max-prefetch")) {
        if (s_set_number (&number, 0, ZJOB_PREFETCH_MAX, name, value, err))
            return -1;
        config->max_prefetch = (size_t) number;
        return 0;
    }
    if (streq (name, "heartbeat")) {
        int64_t msecs = zjob_duration_parse (value);
        if (msecs < 10 || msecs > 3600 * 1000)
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "heartbeat: '%s' is not a duration in 10ms..1h", value);
        config->heartbeat_ms = msecs;
        return 0;
    }
    if (streq (name, "liveness")) {
        if (s_set_number (&number, 1, 1000, name, value, err))
            return -1;
        config->liveness = (int) number;
        return 0;
    }
    if (streq (name, "log-level")) {
        int level = zjob_log_level_parse (value);
        if (level < 0)
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "log-level: '%s' is not error, warning, info or debug", value);
        config->log_level = level;
        return 0;
    }
    if (streq (name, "batch")) {
        if (s_set_number (&number, 1, 1000000, name, value, err))
            return -1;
        config->batch = (size_t) number;
        return 0;
    }
    if (streq (name, "max-message")) {
        if (s_set_number (&number, 4096, ZJOB_MSG_MAX, name, value, err))
            return -1;
        config->max_message = number;
        return 0;
    }
    rc = s_set_curve (config, name, value, err);
    if (rc <= 0)
        return rc;
    if (streq (name, "retention")) {
        int64_t msecs = zjob_duration_parse (value);
        if (msecs <= 0)
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "retention: '%s' is not a positive duration", value);
        config->retention_ms = msecs;
        return 0;
    }
    return zjob_error_set (err, ZJOB_BAD_REQUEST, "unknown option '%s'", name);
}

//  A "workflow" section: one section per workflow, of retry defaults
static int
s_load_workflows (zjob_broker_config_t *config, zconfig_t *section, const char *path,
                  zjob_error_t *err)
{
    zconfig_t *workflow = zconfig_child (section);
    for (; workflow; workflow = zconfig_next (workflow)) {
        zconfig_t *item = zconfig_child (workflow);
        for (; item; item = zconfig_next (item)) {
            const char *value = zconfig_value (item);
            zjob_error_t cause;
            if (zconfig_child (item)
                || zjob_broker_config_set_workflow (config, zconfig_name (workflow),
                                                    zconfig_name (item), value ? value : "",
                                                    &cause))
                return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: %s", path,
                                       zconfig_child (item) ? "a workflow's option is a section"
                                                            : cause.text);
        }
    }
    return 0;
}

//  Apply every key under section as an option
static int
s_load_section (zjob_broker_config_t *config, zconfig_t *section, const char *path,
                zjob_error_t *err)
{
    zconfig_t *item = zconfig_child (section);
    for (; item; item = zconfig_next (item)) {
        const char *name = zconfig_name (item);
        if (streq (name, "broker") && section != NULL && zconfig_child (item)) {
            if (s_load_section (config, item, path, err))
                return -1;
            continue;
        }
        if (streq (name, "workflow") && zconfig_child (item)) {
            if (s_load_workflows (config, item, path, err))
                return -1;
            continue;
        }
        if (zconfig_child (item))
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: '%s' is a section, not an option",
                                   path, name);
        const char *value = zconfig_value (item);
        zjob_error_t cause;
        if (zjob_broker_config_set (config, name, value ? value : "", &cause))
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: %s", path, cause.text);
    }
    return 0;
}

int
zjob_broker_config_load (zjob_broker_config_t *config, const char *path, zjob_error_t *err)
{
    assert (config);
    if (!path || !zsys_file_exists (path))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "config file %s: not found",
                               path ? path : "(none)");
    //  The file is read here and parsed with zconfig_chunk_load: CZMQ
    //  4.2's zconfig_load leaks its zfile_t when the parse fails
    zchunk_t *chunk = zchunk_slurp (path, 0);
    if (!chunk)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "config file %s: cannot read it", path);
    zconfig_t *root = zconfig_chunk_load (chunk);
    zchunk_destroy (&chunk);
    if (!root)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "config file %s: not valid ZPL", path);
    int rc = s_load_section (config, root, path, err);
    zconfig_destroy (&root);
    return rc;
}

//  One level's defaults as the manager takes them (no_retry borrowed)
static void
s_retry_defaults (const zjob_config_retry_t *retry, zjob_retry_defaults_t *defaults)
{
    defaults->max_attempts = retry->max_attempts;
    defaults->backoff = (zjob_backoff_t) retry->backoff;
    defaults->backoff_base_ms = retry->backoff_base_ms;
    defaults->backoff_factor = retry->backoff_factor;
    defaults->backoff_max_ms = retry->backoff_max_ms;
    defaults->jitter = (zjob_jitter_t) retry->jitter;
    defaults->no_retry = retry->no_retry_set ? retry->no_retry : NULL;
    defaults->timeout_ms = retry->timeout_ms;
    defaults->heartbeat_timeout_ms = retry->heartbeat_timeout_ms;
}

size_t
zjob_broker_config_retry (const zjob_broker_config_t *config, zjob_retry_defaults_t *defaults,
                          zjob_workflow_defaults_t *workflows)
{
    assert (config && defaults && workflows);
    s_retry_defaults (&config->retry, defaults);
    size_t count = 0;
    for (size_t index = 0; index < config->workflow_count; index++) {
        if (!config->workflows [index].retry_set)
            continue;  //  Queue limits only: the broker's policy applies
        workflows [count].workflow_id = config->workflows [index].workflow_id;
        s_retry_defaults (&config->workflows [index].retry, &workflows [count].defaults);
        count++;
    }
    return count;
}

size_t
zjob_broker_config_queues (const zjob_broker_config_t *config, zjob_queue_defaults_t *queues)
{
    assert (config && queues);
    size_t count = 0;
    for (size_t index = 0; index < config->workflow_count; index++) {
        const zjob_config_workflow_t *entry = &config->workflows [index];
        if (!entry->concurrency && entry->rate <= 0 && entry->burst <= 0)
            continue;
        queues [count].workflow_id = entry->workflow_id;
        queues [count].concurrency = entry->concurrency;
        queues [count].rate = entry->rate;
        queues [count].burst = entry->burst;
        count++;
    }
    return count;
}
