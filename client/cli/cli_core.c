/*  =========================================================================
    cli_core - what every command of the zjob CLI shares

    The context, the exit codes, errors with hints, the connection and the
    common options: see cli_core.h. Errors go to stderr as one line that
    says what was wrong and what to do; the hint fits the failure: "is
    zjobd running?" only when no answer came at all, never when the broker
    answered and refused (a 503 says why in the broker's own words), and an
    ERROR about the route means the endpoint is zjobd's workers socket.
    ========================================================================= */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli_core.h"
#include "cli_args.h"
#include "cli_output.h"

void
zjob_cli_init (zjob_cli_t *cli)
{
    memset (cli, 0, sizeof *cli);
    const char *broker = getenv ("ZJOB_BROKER");
    if (!broker || zjob_cli_endpoint_set (cli->broker, broker))
        zjob_cli_endpoint_set (cli->broker, ZJOB_CLI_BROKER_DEFAULT);
    const char *events = getenv ("ZJOB_EVENTS");
    if (!events || zjob_cli_endpoint_set (cli->events, events))
        zjob_cli_endpoint_set (cli->events, ZJOB_CLI_EVENTS_DEFAULT);
    const char *cert = getenv ("ZJOB_CERT");
    cli->keys.cert = cert && *cert ? cert : NULL;
    const char *broker_key = getenv ("ZJOB_BROKER_KEY");
    cli->keys.broker_key = broker_key && *broker_key ? broker_key : NULL;
    cli->request_timeout_ms = ZJOB_CLI_REQUEST_TIMEOUT;
    cli->timeout_ms = -1;
    cli->started = zjob_mono_ms ();
    cli->tty = isatty (STDOUT_FILENO);
}

void
zjob_cli_fini (zjob_cli_t *cli)
{
    zjob_client_destroy (&cli->client);
}

int
zjob_cli_endpoint_set (char *buf, const char *endpoint)
{
    if (!endpoint || !*endpoint)
        return -1;
    //  Each endpoint of a list (the brokers of one shared store) gets its
    //  transport; an empty item stays, for libzjob to refuse by name
    size_t used = 0;
    const char *cursor = endpoint;
    while (cursor) {
        const char *comma = strchr (cursor, ',');
        int length = comma ? (int) (comma - cursor) : (int) strlen (cursor);
        bool bare = length > 0 && !memmem (cursor, (size_t) length, "://", 3);
        int wrote = snprintf (buf + used, ZJOB_CLI_ENDPOINT_MAX - used, "%s%s%.*s",
                              used ? "," : "", bare ? "tcp://" : "", length, cursor);
        if (wrote < 0 || (size_t) wrote >= ZJOB_CLI_ENDPOINT_MAX - used)
            return -1;
        used += (size_t) wrote;
        cursor = comma ? comma + 1 : NULL;
    }
    return 0;
}


//  --------------------------------------------------------------------------
//  Messages and exit codes

static void
s_verror (zjob_cli_t *cli, const char *format, va_list args)
{
    fprintf (stderr, "zjob%s%s: ", cli->command ? " " : "", cli->command ? cli->command : "");
    vfprintf (stderr, format, args);
    fputc ('\n', stderr);
}

void
zjob_cli_error (zjob_cli_t *cli, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_verror (cli, format, args);
    va_end (args);
}

static void
s_with_help (zjob_cli_t *cli, const char *format, va_list args)
{
    char text [512];
    vsnprintf (text, sizeof text, format, args);
    if (cli->command)
        zjob_cli_error (cli, "%s (see 'zjob %s --help')", text, cli->command);
    else
        zjob_cli_error (cli, "%s (see 'zjob help')", text);
}

int
zjob_cli_usage (zjob_cli_t *cli, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_with_help (cli, format, args);
    va_end (args);
    return ZJOB_EXIT_USAGE;
}

int
zjob_cli_bad_value (zjob_cli_t *cli, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_with_help (cli, format, args);
    va_end (args);
    return ZJOB_EXIT_BAD_INPUT;
}

int
zjob_cli_exit_code (int code)
{
    switch (code) {
        case ZJOB_OK: return ZJOB_EXIT_OK;
        case ZJOB_BAD_REQUEST:
        case ZJOB_TOO_LARGE: return ZJOB_EXIT_BAD_INPUT;
        case ZJOB_NOT_FOUND: return ZJOB_EXIT_NOT_FOUND;
        case ZJOB_CONFLICT: return ZJOB_EXIT_CONFLICT;
        case ZJOB_UNAVAILABLE: return ZJOB_EXIT_UNAVAILABLE;
        case ZJOB_TOO_MANY: return ZJOB_EXIT_BUSY;
        case ZJOB_ACCEPTED: return ZJOB_EXIT_TIMEOUT;
        case ZJOB_UNAUTHORIZED:
        case ZJOB_FORBIDDEN: return ZJOB_EXIT_DENIED;
        default: return ZJOB_EXIT_INTERNAL;
    }
}

bool
zjob_cli_no_answer (const zjob_error_t *err)
{
    //  The texts libzjob (client/zjob_client.c) gives the failures it
    //  raises itself; an ERROR reply carries the broker's message instead
    static const char *prefixes [] = { "broker at ", "no reply from ", "cannot send " };
    if (err->code != ZJOB_UNAVAILABLE)
        return false;
    for (size_t index = 0; index < sizeof prefixes / sizeof prefixes [0]; index++)
        if (strncmp (err->text, prefixes [index], strlen (prefixes [index])) == 0)
            return true;
    return false;
}

//  True if err is the broker refusing a client command on its workers socket
static bool
s_workers_endpoint (const zjob_error_t *err)
{
    return err->code == ZJOB_BAD_REQUEST && strstr (err->text, "not valid on the")
        && strstr (err->text, "worker->broker route");
}

void
zjob_cli_fail_json (zjob_cli_t *cli, int code, const char *text)
{
    if (!cli->json || !cli->job_id)
        return;
    json_t *object = json_pack ("{s:s, s:i, s:s}", "id", cli->job_id, "code", code,
                                "error", text);
    zjob_cli_print_json (object, false);
    json_decref (object);
}

static void
s_say_unavailable (zjob_cli_t *cli, const zjob_error_t *err)
{
    if (zjob_cli_no_answer (err))
        zjob_cli_error (cli, "%s; is zjobd running at %s? (set --broker or ZJOB_BROKER, or "
                             "allow more time with --request-timeout)",
                        err->text, cli->broker);
    else if (strncmp (err->text, "not committed", 13) == 0)
        zjob_cli_error (cli, "the broker refused the request: its store cannot write (%s); "
                             "nothing was changed for certain, see zjobd's log",
                        err->text);
    else
        zjob_cli_error (cli, "the broker refused the request: %s", err->text);
}

zjob_events_t *
zjob_cli_events_open (zjob_cli_t *cli)
{
    zjob_error_t err;
    zjob_events_t *events = zjob_events_new_with (cli->events, &cli->keys, &err);
    if (!events)
        zjob_cli_error (cli, "cannot use events endpoint '%s': %s (give tcp://HOST:PORT with "
                             "--events or ZJOB_EVENTS)",
                        cli->events, err.text);
    return events;
}

int
zjob_cli_fail (zjob_cli_t *cli, const zjob_error_t *err)
{
    if (zsys_interrupted) {
        zjob_cli_error (cli, "interrupted");
        return ZJOB_EXIT_INTERRUPTED;
    }
    zjob_cli_fail_json (cli, err->code, err->text);
    if (s_workers_endpoint (err)) {
        zjob_cli_error (cli, "%s looks like zjobd's workers endpoint; clients use the "
                             "clients endpoint (default :5570)",
                        cli->broker);
        return ZJOB_EXIT_UNAVAILABLE;
    }
    switch (err->code) {
        case ZJOB_NOT_FOUND:
            if (strstr (err->text, "template"))
                zjob_cli_error (cli, "%s ('zjob template list' shows the templates)", err->text);
            else
                zjob_cli_error (cli, "%s (the job does not exist, or was deleted; 'zjob list' "
                                     "shows the jobs)",
                                err->text);
            break;
        case ZJOB_CONFLICT:
            zjob_cli_error (cli, "%s ('zjob help' shows which operation each status allows)",
                            err->text);
            break;
        case ZJOB_UNAVAILABLE:
            s_say_unavailable (cli, err);
            break;
        case ZJOB_TOO_MANY:
            zjob_cli_error (cli, "the broker is at a limit: %s%s (nothing was done)",
                            err->text, strstr (err->text, "try again") ? "" : "; try again later");
            break;
        case ZJOB_BAD_REQUEST:
        case ZJOB_TOO_LARGE:
            zjob_cli_error (cli, "%s", err->text);
            break;
        case ZJOB_UNAUTHORIZED:
            zjob_cli_error (cli, "%s (--cert or ZJOB_CERT: this key's NAME.key_secret; "
                                 "--broker-key or ZJOB_BROKER_KEY: the broker's public key; "
                                 "the broker lists NAME.key in its keys directory)",
                            err->text);
            break;
        case ZJOB_FORBIDDEN:
            zjob_cli_error (cli, "the broker refused this key the operation: %s", err->text);
            break;
        default:
            zjob_cli_error (cli, "the broker failed: %s (%d %s); see zjobd's log", err->text,
                            err->code, zjob_error_name (err->code));
    }
    return zjob_cli_exit_code (err->code);
}


//  --------------------------------------------------------------------------
//  Time and the connection

int64_t
zjob_cli_time_left (zjob_cli_t *cli)
{
    if (cli->timeout_ms < 0)
        return -1;
    int64_t left = cli->started + cli->timeout_ms - zjob_mono_ms ();
    return left > 0 ? left : 0;
}

int
zjob_cli_request_ms (zjob_cli_t *cli)
{
    int64_t left = zjob_cli_time_left (cli);
    int64_t timeout = cli->request_timeout_ms;
    if (left >= 0 && left < timeout)
        timeout = left;
    int64_t floor = cli->request_timeout_ms < ZJOB_CLI_REQUEST_MIN
        ? cli->request_timeout_ms
        : ZJOB_CLI_REQUEST_MIN;
    return (int) (timeout > floor ? timeout : floor);
}

//  Check the CURVE options on a socket that never connects, so that a bad
//  certificate is told from a bad endpoint. Returns 0, or an exit code.
static int
s_check_keys (zjob_cli_t *cli)
{
    if (!zjob_connect_secure (&cli->keys)) {
        if (!cli->keys.broker_key)
            return 0;
        zjob_cli_fail_json (cli, ZJOB_BAD_REQUEST, "a broker key but no certificate");
        zjob_cli_error (cli, "a broker key was given (--broker-key or ZJOB_BROKER_KEY) but no "
                             "certificate: give this key's NAME.key_secret with --cert FILE "
                             "or ZJOB_CERT");
        return ZJOB_EXIT_BAD_INPUT;
    }
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    zjob_error_t err;
    int rc = sock ? zjob_connect_apply (sock, &cli->keys, &err) : 0;
    zsock_destroy (&sock);
    if (rc == 0)
        return 0;
    zjob_cli_fail_json (cli, err.code, err.text);
    if (strstr (err.text, "--"))
        zjob_cli_error (cli, "%s", err.text);  //  It names the option already
    else
        zjob_cli_error (cli, "%s (%s)", err.text,
                        strstr (err.text, "broker key") ? "--broker-key KEY|FILE or ZJOB_BROKER_KEY"
                                                        : "--cert FILE or ZJOB_CERT");
    return ZJOB_EXIT_BAD_INPUT;
}

int
zjob_cli_connect (zjob_cli_t *cli)
{
    if (cli->client)
        return 0;
    int rc = s_check_keys (cli);
    if (rc)
        return rc;
    zjob_error_t err;
    int timeout = zjob_cli_request_ms (cli);
    cli->client = zjob_client_new_with (cli->broker, timeout, &cli->keys, &err);
    if (cli->client)
        return 0;
    if (zjob_cli_no_answer (&err)) {
        //  The time the user gave: --timeout when it was the shorter
        bool bounded = timeout < cli->request_timeout_ms;
        zjob_cli_fail_json (cli, err.code, err.text);
        zjob_cli_error (cli, "no broker answered at %s within %d ms; is zjobd running? "
                             "(set --broker or ZJOB_BROKER, or allow more time with %s)",
                        cli->broker, bounded && cli->timeout_ms > timeout ? (int) cli->timeout_ms : timeout,
                        bounded ? "--timeout" : "--request-timeout");
        return ZJOB_EXIT_UNAVAILABLE;
    }
    if (err.code == ZJOB_BAD_REQUEST && !s_workers_endpoint (&err)) {
        zjob_cli_fail_json (cli, err.code, err.text);
        zjob_cli_error (cli, "cannot use broker endpoint '%s': %s (give tcp://HOST:PORT with "
                             "--broker or ZJOB_BROKER)",
                        cli->broker, err.text);
        return ZJOB_EXIT_BAD_INPUT;
    }
    return zjob_cli_fail (cli, &err);
}

zjob_client_t *
zjob_cli_client (zjob_cli_t *cli)
{
    if (cli->client)
        zjob_client_set_timeout (cli->client, zjob_cli_request_ms (cli));
    return cli->client;
}

int
zjob_cli_check_id (zjob_cli_t *cli, const char *id)
{
    if (zjob_id_valid (id))
        return 0;
    char text [ZJOB_ERROR_TEXT_MAX];
    snprintf (text, sizeof text, "no job can have id '%.40s': ids are %d characters such "
                                 "as 01JD6ZQ8XKTBV3M9W2N4",
              id, ZJOB_ID_LEN);
    zjob_cli_fail_json (cli, ZJOB_NOT_FOUND, text);
    zjob_cli_error (cli, "%s ('zjob list' shows the jobs)", text);
    return ZJOB_EXIT_NOT_FOUND;
}

zjob_reply_t *
zjob_cli_reply (zjob_cli_t *cli, uint64_t request, zjob_error_t *err)
{
    if (!request)
        return NULL;
    zjob_reply_t *reply = zjob_client_recv (cli->client, zjob_cli_request_ms (cli), err);
    if (reply && zjob_reply_error (reply, err) != ZJOB_OK)
        zjob_reply_destroy (&reply);
    return reply;
}


//  --------------------------------------------------------------------------
//  Options

void
zjob_cli_getopt_reset (void)
{
    optind = 0;  //  0: GNU getopt starts afresh
    opterr = 0;
}

//  A common option that takes a value. Returns 0, or an exit code.
static int
s_common_value (zjob_cli_t *cli, int opt, const char *arg)
{
    if (opt == ZJOB_OPT_BROKER || opt == ZJOB_OPT_EVENTS) {
        if (zjob_cli_endpoint_set (opt == ZJOB_OPT_BROKER ? cli->broker : cli->events, arg))
            return zjob_cli_bad_value (cli, "%s: '%s' is not an endpoint (tcp://HOST:PORT)",
                                       opt == ZJOB_OPT_BROKER ? "--broker" : "--events", arg);
        return 0;
    }
    int64_t duration = zjob_cli_parse_duration (arg);
    if (opt == ZJOB_OPT_REQUEST_TIMEOUT) {
        if (duration <= 0 || duration > INT32_MAX)
            return zjob_cli_bad_value (cli, "--request-timeout: '%s' is not a duration "
                                            "(e.g. 2s, 500ms)",
                                       arg);
        cli->request_timeout_ms = (int) duration;
        return 0;
    }
    if (duration < 0 || duration > INT32_MAX)
        return zjob_cli_bad_value (cli, "--timeout: '%s' is not a duration (seconds, or "
                                        "500ms, 5m...)",
                                   arg);
    cli->timeout_ms = duration;
    return 0;
}

int
zjob_cli_getopt (zjob_cli_t *cli, int argc, char *argv [], const char *shorts,
                 const struct option *options, int *rc_p)
{
    //  ':' first (after a '+') to tell a missing value from an unknown option
    char optstring [64];
    bool in_order = shorts [0] == '+';
    snprintf (optstring, sizeof optstring, "%s:%sh", in_order ? "+" : "", shorts + in_order);
    *rc_p = ZJOB_CLI_CONTINUE;
    while (true) {
        int opt = getopt_long (argc, argv, optstring, options, NULL);
        switch (opt) {
            case ZJOB_OPT_BROKER:
            case ZJOB_OPT_EVENTS:
            case ZJOB_OPT_REQUEST_TIMEOUT:
            case ZJOB_OPT_TIMEOUT:
                *rc_p = s_common_value (cli, opt, optarg);
                if (*rc_p)
                    return ZJOB_OPT_INVALID;
                *rc_p = ZJOB_CLI_CONTINUE;
                break;
            case ZJOB_OPT_JSON:
                cli->json = true;
                break;
            case ZJOB_OPT_CERT:
                cli->keys.cert = *optarg ? optarg : NULL;
                break;
            case ZJOB_OPT_BROKER_KEY:
                cli->keys.broker_key = *optarg ? optarg : NULL;
                break;
            case 'h':
                return ZJOB_OPT_HELP;
            case ':':
                *rc_p = zjob_cli_usage (cli, "option '%s' needs a value", argv [optind - 1]);
                return ZJOB_OPT_INVALID;
            case '?':
                if (optopt)
                    *rc_p = zjob_cli_usage (cli, "unknown option '-%c'", optopt);
                else
                    *rc_p = zjob_cli_usage (cli, "unknown option '%s'", argv [optind - 1]);
                return ZJOB_OPT_INVALID;
            default:
                return opt;
        }
    }
}

int
zjob_cli_getopt_end (zjob_cli_t *cli, int opt, int rc)
{
    if (opt == ZJOB_OPT_HELP) {
        zjob_cli_print_command_help (cli->command, stdout);
        return ZJOB_EXIT_OK;
    }
    if (opt == ZJOB_OPT_INVALID && rc > 0)
        return rc;
    return ZJOB_EXIT_USAGE;
}
