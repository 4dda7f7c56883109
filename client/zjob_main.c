/*  =========================================================================
    zjob - the admin and client command line of the zjob broker

        zjob [GLOBAL OPTIONS] COMMAND [ARGS] [OPTIONS]

    One command per operation of the client API (client/zjob_client.h):
    submit, get, list, delete, start, pause, resume, cancel, status,
    result, wait, watch, cleanup, stats, workers, help. The commands are a
    table (s_commands: name, function, usage, summary, help text); each
    command is one function that parses its own options with getopt_long,
    so `zjob COMMAND --help` and `zjob help COMMAND` print the same text.

    Output is for people by default (aligned tables, times as "3m ago",
    durations as "1.2s") and for programs with --json: one JSON document on
    stdout, made by jansson through client/zjob_json.h, never by hand.
    Errors go to stderr as one line that says what was wrong and what to do.

    The broker is --broker ENDPOINT, else $ZJOB_BROKER, else zjobd's
    default client endpoint; watch also reads events from --events, else
    $ZJOB_EVENTS, else zjobd's default events endpoint. watch polls the
    job's status besides, so a missed event (or a wrong events endpoint)
    delays its output but never makes it hang.

    Exit codes (also in `zjob help`), the same for every command:
        0   done; for wait, watch and result: the job completed
        1   usage: unknown command or option, missing argument
        2   bad input: invalid JSON, an invalid field or value (400, 413)
        3   not found: no job with that id (404), or no id can look so
        4   conflict: the job's status does not allow it (409), or the
            job has no results yet
        5   unavailable: no broker answered in time, or it cannot take the
            request now (503, 429)
        6   the job finished without completing: failed or cancelled
        7   timed out: the job was not finished within --timeout
        8   internal: the broker failed (500) or answered nonsense
        130 interrupted (Ctrl-C)
    A bulk operation (several ids, or a filter) that failed for some jobs
    exits with the code of its first failure.
    ========================================================================= */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "zjob_client.h"
#include "zjob_json.h"
#include "zjob_proto.h"

//  The daemon's defaults (ZJOB_BROKER_*_DEFAULT in broker/zjob_broker.h,
//  which the client side does not include: a lower layer never sees it)
#define S_BROKER_DEFAULT        "tcp://127.0.0.1:5570"
#define S_EVENTS_DEFAULT        "tcp://127.0.0.1:5572"
#define S_CONNECT_TIMEOUT       3000            //  msecs to wait for the broker
#define S_LIST_LIMIT            100             //  jobs list shows without --limit
#define S_TEXT_MAX              (64 << 20)      //  bytes of JSON read from a file
#define S_WAIT_CHUNK_MS         60000           //  msecs per zjob_client_wait when
                                                //  waiting without a timeout
#define S_WATCH_POLL_MS         1000            //  msecs between watch's status polls
#define S_BAR_WIDTH             30              //  characters of watch's progress bar

//  Exit codes; see the banner
#define ZJOB_EXIT_OK            0
#define ZJOB_EXIT_USAGE         1
#define ZJOB_EXIT_BAD_INPUT     2
#define ZJOB_EXIT_NOT_FOUND     3
#define ZJOB_EXIT_CONFLICT      4
#define ZJOB_EXIT_UNAVAILABLE   5
#define ZJOB_EXIT_JOB_FAILED    6
#define ZJOB_EXIT_TIMEOUT       7
#define ZJOB_EXIT_INTERNAL      8
#define ZJOB_EXIT_INTERRUPTED   130

//  What every command works with
typedef struct {
    const char *command;                //  The command's name, for messages
    const char *broker;                 //  Client endpoint of the broker
    const char *events;                 //  Events endpoint of the broker
    int timeout_ms;                     //  msecs to connect and per request
    bool json;                          //  Machine output
    bool tty;                           //  stdout is a terminal
    bool stdin_used;                    //  An argument already read stdin
    zjob_client_t *client;              //  Connected by s_connect, else NULL
} s_cli_t;

typedef int (s_command_fn) (s_cli_t *cli, int argc, char *argv []);

typedef struct {
    const char *name;
    s_command_fn *run;
    const char *usage;                  //  Arguments, after "zjob NAME"
    const char *summary;                //  One line, for `zjob help`
    const char *help;                   //  Description and options
} s_command_t;

static const s_command_t *s_command_find (const char *name);


//  --------------------------------------------------------------------------
//  Messages and exit codes

//  "zjob COMMAND: message" on stderr
static void
s_error (s_cli_t *cli, const char *format, ...) __attribute__ ((format (printf, 2, 3)));
static void
s_error (s_cli_t *cli, const char *format, ...)
{
    fprintf (stderr, "zjob%s%s: ", cli->command ? " " : "", cli->command ? cli->command : "");
    va_list args;
    va_start (args, format);
    vfprintf (stderr, format, args);
    va_end (args);
    fputc ('\n', stderr);
}

//  A usage error: the message, a pointer to the help, and ZJOB_EXIT_USAGE
static int
s_usage_error (s_cli_t *cli, const char *format, ...) __attribute__ ((format (printf, 2, 3)));
static int
s_usage_error (s_cli_t *cli, const char *format, ...)
{
    char text [512];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    if (cli->command)
        s_error (cli, "%s (see 'zjob %s --help')", text, cli->command);
    else
        s_error (cli, "%s (see 'zjob help')", text);
    return ZJOB_EXIT_USAGE;
}

static int
s_exit_code (int code)
{
    switch (code) {
        case ZJOB_OK:           return ZJOB_EXIT_OK;
        case ZJOB_BAD_REQUEST:
        case ZJOB_TOO_LARGE:    return ZJOB_EXIT_BAD_INPUT;
        case ZJOB_NOT_FOUND:    return ZJOB_EXIT_NOT_FOUND;
        case ZJOB_CONFLICT:     return ZJOB_EXIT_CONFLICT;
        case ZJOB_UNAVAILABLE:
        case ZJOB_TOO_MANY:     return ZJOB_EXIT_UNAVAILABLE;
        case ZJOB_ACCEPTED:     return ZJOB_EXIT_TIMEOUT;
        default:                return ZJOB_EXIT_INTERNAL;
    }
}

//  Report a failed request with what to do about it; returns the exit code
static int
s_fail (s_cli_t *cli, const zjob_error_t *err)
{
    if (zsys_interrupted) {
        s_error (cli, "interrupted");
        return ZJOB_EXIT_INTERRUPTED;
    }
    switch (err->code) {
        case ZJOB_NOT_FOUND:
            s_error (cli, "%s (the job does not exist, or was deleted; 'zjob list' shows "
                     "the jobs)", err->text);
            break;
        case ZJOB_CONFLICT:
            s_error (cli, "%s ('zjob help' shows which operation each status allows)",
                     err->text);
            break;
        case ZJOB_UNAVAILABLE:
            s_error (cli, "%s; is zjobd running at %s? (set --broker or ZJOB_BROKER, or "
                     "allow more time with --connect-timeout)", err->text, cli->broker);
            break;
        case ZJOB_TOO_MANY:
            s_error (cli, "the broker is at a limit: %s; try again later", err->text);
            break;
        case ZJOB_BAD_REQUEST:
        case ZJOB_TOO_LARGE:
            s_error (cli, "%s", err->text);
            break;
        default:
            s_error (cli, "the broker failed: %s (%d %s); see zjobd's log", err->text,
                     err->code, zjob_error_name (err->code));
    }
    return s_exit_code (err->code);
}

//  Connect to the broker unless connected. Returns 0, or an exit code
//  after saying what went wrong.
static int
s_connect (s_cli_t *cli)
{
    if (cli->client)
        return 0;
    zjob_error_t err;
    cli->client = zjob_client_new (cli->broker, cli->timeout_ms, &err);
    if (cli->client)
        return 0;
    if (err.code == ZJOB_UNAVAILABLE) {
        s_error (cli, "no broker answered at %s within %d ms; is zjobd running? "
                 "(set --broker or ZJOB_BROKER, or allow more time with --connect-timeout)",
                 cli->broker, cli->timeout_ms);
        return ZJOB_EXIT_UNAVAILABLE;
    }
    if (err.code == ZJOB_BAD_REQUEST) {
        s_error (cli, "cannot use broker endpoint '%s': %s (give tcp://HOST:PORT with "
                 "--broker or ZJOB_BROKER)", cli->broker, err.text);
        return ZJOB_EXIT_USAGE;
    }
    return s_fail (cli, &err);
}


//  --------------------------------------------------------------------------
//  Parsing values

//  A duration: a number of seconds ("30", "1.5") or a number with a unit
//  (ms, s, m, h, d: "500ms", "5m"). Returns msecs or -1.
static int64_t
s_parse_duration (const char *text)
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

//  A time: ISO-8601 in UTC ("2024-05-01", "2024-05-01T12:00",
//  "2024-05-01T12:00:00.250Z"), or a duration from now, forward when
//  sign is 1 and back ("2h" ago) when it is -1. Returns ms UTC or -1.
static int64_t
s_parse_time (const char *text, int sign)
{
    int64_t duration = s_parse_duration (text);
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

//  An unsigned number within max; -1 if text is not one
static int64_t
s_parse_count (const char *text, int64_t max)
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

//  A status list "queued,running" into a mask; -1 with an unknown name
static int64_t
s_parse_statuses (const char *text, const char **bad_p)
{
    uint32_t mask = 0;
    char *copy = strdup (text);
    char *save = NULL;
    for (char *name = strtok_r (copy, ",", &save); name; name = strtok_r (NULL, ",", &save)) {
        int status = zjob_status_parse (name);
        if (status < 0) {
            static char bad [64];
            snprintf (bad, sizeof bad, "%s", name);
            *bad_p = bad;
            free (copy);
            return -1;
        }
        mask |= 1u << status;
    }
    free (copy);
    return mask;
}


//  --------------------------------------------------------------------------
//  Formatting for people

//  "850ms", "1.2s", "3m 12s", "2h 5m", "3d 4h"
static const char *
s_duration (int64_t ms, char *buf, size_t size)
{
    if (ms < 0)
        ms = 0;
    if (ms < 1000)
        snprintf (buf, size, "%dms", (int) ms);
    else
    if (ms < 60000)
        snprintf (buf, size, "%.1fs", (double) ms / 1000.0);
    else
    if (ms < 3600000)
        snprintf (buf, size, "%dm %ds", (int) (ms / 60000), (int) (ms / 1000 % 60));
    else
    if (ms < 86400000)
        snprintf (buf, size, "%dh %dm", (int) (ms / 3600000), (int) (ms / 60000 % 60));
    else
        snprintf (buf, size, "%dd %dh", (int) (ms / 86400000), (int) (ms / 3600000 % 24));
    return buf;
}

//  "3s ago", "2h ago", "in 5m"; "-" for 0 (never)
static const char *
s_ago (int64_t ms, char *buf, size_t size)
{
    if (ms == 0)
        return "-";
    int64_t delta = zjob_clock_ms () - ms;
    bool future = delta < 0;
    if (future)
        delta = -delta;
    int64_t seconds = delta / 1000;
    char amount [32];
    if (seconds < 60)
        snprintf (amount, sizeof amount, "%ds", (int) seconds);
    else
    if (seconds < 3600)
        snprintf (amount, sizeof amount, "%dm", (int) (seconds / 60));
    else
    if (seconds < 86400)
        snprintf (amount, sizeof amount, "%dh", (int) (seconds / 3600));
    else
        snprintf (amount, sizeof amount, "%dd", (int) (seconds / 86400));
    snprintf (buf, size, future ? "in %s" : "%s ago", amount);
    return buf;
}

//  "2024-01-31T12:34:56.789Z (3m ago)"
static const char *
s_when (int64_t ms, char *buf, size_t size)
{
    if (ms == 0)
        return "-";
    char iso [ZJOB_ISO_TIME_LEN];
    char ago [32];
    snprintf (buf, size, "%s (%s)", zjob_iso_time (ms, iso), s_ago (ms, ago, sizeof ago));
    return buf;
}

//  Print value as JSON with a newline; compact for JSON lines, else indented
static void
s_print_json (const json_t *value, bool compact)
{
    char *text = zjob_json_dumps (value, compact ? ZJOB_JSON_COMPACT : ZJOB_JSON_PRETTY);
    if (text) {
        puts (text);
        free (text);
    }
    fflush (stdout);
}

//  A table of text cells printed with aligned columns
typedef struct {
    size_t columns;                     //  Cells per row
    zlistx_t *rows;                     //  Rows: char ** of strdup'd cells, header first
} s_table_t;

static void
s_row_free (void **item)
{
    char ***row_p = (char ***) item;
    if (*row_p) {
        for (size_t cell = 0; (*row_p) [cell]; cell++)
            free ((*row_p) [cell]);
        free (*row_p);
        *row_p = NULL;
    }
}

//  Add a row of table->columns cells (NULL cells print as "-")
static void
s_table_add (s_table_t *table, const char *const *cells)
{
    char **row = (char **) calloc (table->columns + 1, sizeof (char *));
    for (size_t cell = 0; cell < table->columns; cell++)
        row [cell] = strdup (cells [cell] && *cells [cell] ? cells [cell] : "-");
    zlistx_add_end (table->rows, row);
}

static s_table_t *
s_table_new (size_t columns, const char *const *header)
{
    s_table_t *table = (s_table_t *) calloc (1, sizeof (s_table_t));
    table->columns = columns;
    table->rows = zlistx_new ();
    zlistx_set_destructor (table->rows, s_row_free);
    s_table_add (table, header);
    return table;
}

static void
s_table_print (s_table_t *table, const char *indent)
{
    size_t width [16] = { 0 };
    for (char **row = (char **) zlistx_first (table->rows); row;
         row = (char **) zlistx_next (table->rows))
        for (size_t cell = 0; cell < table->columns && cell < 16; cell++)
            if (strlen (row [cell]) > width [cell])
                width [cell] = strlen (row [cell]);
    for (char **row = (char **) zlistx_first (table->rows); row;
         row = (char **) zlistx_next (table->rows)) {
        fputs (indent, stdout);
        for (size_t cell = 0; cell < table->columns; cell++) {
            if (cell + 1 < table->columns)
                printf ("%-*s  ", (int) width [cell], row [cell]);
            else
                printf ("%s\n", row [cell]);
        }
    }
}

static void
s_table_destroy (s_table_t **table_p)
{
    if (*table_p) {
        zlistx_destroy (&(*table_p)->rows);
        free (*table_p);
        *table_p = NULL;
    }
}


//  --------------------------------------------------------------------------
//  Reading JSON arguments

//  All of file, at most S_TEXT_MAX bytes, NUL-terminated; NULL if it
//  cannot be read or is larger
static char *
s_slurp (FILE *file)
{
    size_t size = 0, capacity = 4096;
    char *text = (char *) malloc (capacity);
    while (text) {
        if (size + 1 >= capacity) {
            if (capacity >= S_TEXT_MAX) {
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

//  Open a file argument: "-" is stdin (once per command). Returns the
//  file or NULL after saying why.
static FILE *
s_open_arg (s_cli_t *cli, const char *what, const char *path)
{
    if (streq (path, "-")) {
        if (cli->stdin_used) {
            s_error (cli, "%s: stdin is already read by another option; use @FILE", what);
            return NULL;
        }
        cli->stdin_used = true;
        return stdin;
    }
    FILE *file = fopen (path, "r");
    if (!file)
        s_error (cli, "%s: cannot read '%s': %s", what, path, strerror (errno));
    return file;
}

//  Convert a JSON object argument (inline text, @FILE, or - for stdin) to
//  a msgpack map. Returns 0, or an exit code after saying what is wrong.
static int
s_json_arg (s_cli_t *cli, const char *what, const char *arg, uint8_t **data_p, size_t *size_p)
{
    char *text = NULL;
    const char *source = NULL;          //  Where the text came from, if not inline
    if (streq (arg, "-") || arg [0] == '@') {
        source = streq (arg, "-") ? "stdin" : arg + 1;
        FILE *file = s_open_arg (cli, what, streq (arg, "-") ? arg : arg + 1);
        if (!file)
            return ZJOB_EXIT_BAD_INPUT;
        text = s_slurp (file);
        if (!text)
            s_error (cli, "%s: cannot read %s: %s", what, source, strerror (errno));
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
            s_error (cli, "%s (from %s): %s", what, source, err.text);
        else
            s_error (cli, "%s: %s", what, err.text);
        return s_exit_code (err.code);
    }
    return 0;
}


//  --------------------------------------------------------------------------
//  Options. Every command parses its own with getopt_long; the options
//  common to all (and the filter options of list and the lifecycle
//  commands) are handled here.

enum {
    OPT_BROKER = 1000, OPT_EVENTS, OPT_CONNECT_TIMEOUT, OPT_JSON,
    OPT_CREATED_AFTER, OPT_CREATED_BEFORE,
    OPT_MAX_ATTEMPTS, OPT_RUN_AT, OPT_DELAY, OPT_NO_START, OPT_BATCH,
    OPT_SORT, OPT_ASC, OPT_DESC, OPT_ALL, OPT_OFFSET, OPT_DRY_RUN, OPT_OLDER_THAN,
    OPT_TIMEOUT,
    OPT_HELP_REQUESTED = -2,            //  s_getopt's returns besides options
    OPT_INVALID = -3
};

#define S_COMMON_OPTIONS \
    { "broker", required_argument, NULL, OPT_BROKER }, \
    { "events", required_argument, NULL, OPT_EVENTS }, \
    { "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT }, \
    { "json", no_argument, NULL, OPT_JSON }, \
    { "help", no_argument, NULL, 'h' }, \
    { NULL, 0, NULL, 0 }

#define S_FILTER_OPTIONS \
    { "status", required_argument, NULL, 's' }, \
    { "workflow", required_argument, NULL, 'w' }, \
    { "user", required_argument, NULL, 'u' }, \
    { "tag", required_argument, NULL, 't' }, \
    { "created-after", required_argument, NULL, OPT_CREATED_AFTER }, \
    { "created-before", required_argument, NULL, OPT_CREATED_BEFORE }

#define S_COMMON_HELP \
    "\ncommon options:\n" \
    "      --json                 print JSON for programs instead of text\n" \
    "      --broker ENDPOINT      the broker (default $ZJOB_BROKER, else " S_BROKER_DEFAULT ")\n" \
    "      --connect-timeout D    how long to wait for the broker (default 3s)\n" \
    "  -h, --help                 this text\n"

#define S_FILTER_HELP \
    "  -s, --status S[,S...]      status is one of these (created, queued, running,\n" \
    "                             paused, completed, failed, cancelled)\n" \
    "  -w, --workflow W           of workflow W\n" \
    "  -u, --user U               of user U\n" \
    "  -t, --tag T                carrying tag T; repeat for more (all must match)\n" \
    "      --created-after TIME   created after TIME\n" \
    "      --created-before TIME  created before TIME\n"

#define S_TIME_HELP \
    "TIME is ISO-8601 in UTC (2024-05-01T12:00:00Z, 2024-05-01) or a duration\n" \
    "before now (90s, 2h, 7d).\n"

//  A growing array of borrowed strings (tags)
typedef struct {
    const char **items;
    size_t count;
} s_strings_t;

static void
s_strings_add (s_strings_t *strings, const char *item)
{
    const char **bigger = (const char **) realloc (strings->items,
                                                   (strings->count + 1) * sizeof (char *));
    if (bigger) {
        strings->items = bigger;
        strings->items [strings->count++] = item;
    }
}

//  The next option of a command: like getopt_long with shorts (no leading
//  ':'), but handling the common options itself. Returns the option,
//  -1 at the end, OPT_HELP_REQUESTED, or OPT_INVALID after saying why.
static int
s_getopt (s_cli_t *cli, int argc, char *argv [], const char *shorts,
          const struct option *options)
{
    //  ':' first (after a '+') to tell a missing value from an unknown option
    char optstring [64];
    bool in_order = shorts [0] == '+';
    snprintf (optstring, sizeof optstring, "%s:%sh", in_order ? "+" : "", shorts + in_order);
    while (true) {
        int opt = getopt_long (argc, argv, optstring, options, NULL);
        switch (opt) {
            case OPT_BROKER:
                cli->broker = optarg;
                break;
            case OPT_EVENTS:
                cli->events = optarg;
                break;
            case OPT_CONNECT_TIMEOUT: {
                int64_t timeout = s_parse_duration (optarg);
                if (timeout <= 0 || timeout > INT32_MAX) {
                    s_usage_error (cli, "--connect-timeout: '%s' is not a duration "
                                   "(e.g. 2s, 500ms)", optarg);
                    return OPT_INVALID;
                }
                cli->timeout_ms = (int) timeout;
                break;
            }
            case OPT_JSON:
                cli->json = true;
                break;
            case 'h':
                return OPT_HELP_REQUESTED;
            case ':':
                s_usage_error (cli, "option '%s' needs a value", argv [optind - 1]);
                return OPT_INVALID;
            case '?':
                if (optopt)
                    s_usage_error (cli, "unknown option '-%c'", optopt);
                else
                    s_usage_error (cli, "unknown option '%s'", argv [optind - 1]);
                return OPT_INVALID;
            default:
                return opt;
        }
    }
}

//  Start parsing a command's options (getopt's state is global)
static void
s_getopt_reset (void)
{
    optind = 0;                         //  0: GNU getopt starts afresh
    opterr = 0;
}

static void
s_print_command_help (const s_command_t *command, FILE *out)
{
    fprintf (out, "usage: zjob %s %s\n\n%s", command->name, command->usage, command->help);
}

//  What a command returns when s_getopt did not give an option it knows
static int
s_getopt_end (s_cli_t *cli, int opt)
{
    if (opt == OPT_HELP_REQUESTED) {
        s_print_command_help (s_command_find (cli->command), stdout);
        return ZJOB_EXIT_OK;
    }
    return ZJOB_EXIT_USAGE;
}

//  A filter being built from options; strings are borrowed from argv
typedef struct {
    zjob_filter_t filter;
    s_strings_t tags;
    bool given;                         //  Some criterion was given
} s_filter_opts_t;

//  Take one filter option. Returns 1 if opt was one, 0 if not, -1 after
//  a usage error.
static int
s_filter_option (s_cli_t *cli, int opt, const char *arg, s_filter_opts_t *opts)
{
    switch (opt) {
        case 's': {
            const char *bad = NULL;
            int64_t mask = s_parse_statuses (arg, &bad);
            if (mask < 0) {
                s_usage_error (cli, "--status: unknown status '%s' (created, queued, running, "
                               "paused, completed, failed, cancelled)", bad);
                return -1;
            }
            opts->filter.status_mask |= (uint32_t) mask;
            break;
        }
        case 'w':
            opts->filter.workflow_id = arg;
            break;
        case 'u':
            opts->filter.user_id = arg;
            break;
        case 't':
            s_strings_add (&opts->tags, arg);
            opts->filter.tags = opts->tags.items;
            opts->filter.tag_count = opts->tags.count;
            break;
        case OPT_CREATED_AFTER:
        case OPT_CREATED_BEFORE: {
            int64_t when = s_parse_time (arg, -1);
            if (when < 0) {
                s_usage_error (cli, "%s: '%s' is not a time (2024-05-01T12:00:00Z, or a "
                               "duration ago such as 2h)", opt == OPT_CREATED_AFTER
                               ? "--created-after" : "--created-before", arg);
                return -1;
            }
            if (opt == OPT_CREATED_AFTER)
                opts->filter.created_after = when;
            else
                opts->filter.created_before = when;
            break;
        }
        default:
            return 0;
    }
    opts->given = true;
    return 1;
}

//  Check a job id argument; returns 0 or an exit code after saying why
static int
s_check_id (s_cli_t *cli, const char *id)
{
    if (zjob_id_valid (id))
        return 0;
    s_error (cli, "no job can have id '%s': ids are %d characters such as "
             "01JD6ZQ8XKTBV3M9W2N4 ('zjob list' shows the jobs)", id, ZJOB_ID_LEN);
    return ZJOB_EXIT_NOT_FOUND;
}

//  Send one asynchronous request (already sent: request) and wait for
//  its reply. Returns the reply, or NULL with err filled (an ERROR reply
//  too).
static zjob_reply_t *
s_reply (s_cli_t *cli, uint64_t request, zjob_error_t *err)
{
    if (!request)
        return NULL;
    zjob_reply_t *reply = zjob_client_recv (cli->client, cli->timeout_ms, err);
    if (reply && zjob_reply_error (reply, err) != ZJOB_OK)
        zjob_reply_destroy (&reply);
    return reply;
}


//  --------------------------------------------------------------------------
//  submit

//  Options of submit that become spec fields (strings borrowed from argv)
typedef struct {
    const char *workflow_id;
    const char *input;
    const char *metadata;
    int priority;                       //  -1 if not given
    const char *user_id;
    s_strings_t tags;
    const char *idempotency_key;
    int64_t max_attempts;               //  -1 if not given
    int64_t run_at;                     //  0 if not given
    bool no_start;
    const char *batch;
} s_submit_opts_t;

//  Print the ids of submitted jobs: one a line, or {"count", "ids"}
static void
s_print_ids (s_cli_t *cli, char (*ids) [ZJOB_ID_LEN + 1], size_t count)
{
    if (cli->json) {
        json_t *array = json_array ();
        for (size_t index = 0; index < count; index++)
            json_array_append_new (array, json_string (ids [index]));
        json_t *object = json_pack ("{s:I, s:o}", "count", (json_int_t) count, "ids", array);
        s_print_json (object, false);
        json_decref (object);
    }
    else {
        for (size_t index = 0; index < count; index++)
            puts (ids [index]);
        fflush (stdout);
    }
}

//  One line of a batch: its spec and what the spec points into
typedef struct {
    zjob_spec_t spec;
    json_t *value;                      //  The line's object; holds the strings
    uint8_t *inputs;                    //  Encoded inputs, or NULL
    uint8_t *metadata;                  //  Encoded metadata, or NULL
    const char **tags;                  //  Borrowed from value, or NULL
    size_t line;                        //  Line number in the file, from 1
} s_line_t;

static void
s_lines_free (s_line_t *lines, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        json_decref (lines [index].value);
        free (lines [index].inputs);
        free (lines [index].metadata);
        free (lines [index].tags);
    }
    free (lines);
}

//  Fill line->spec from line->value over the defaults. Returns 0, or -1
//  with err filled (naming the key).
static int
s_line_spec (s_line_t *line, const s_submit_opts_t *opts, zjob_error_t *err)
{
    zjob_spec_t *spec = &line->spec;
    spec->workflow_id = opts->workflow_id;
    spec->priority = opts->priority >= 0 ? (zjob_priority_t) opts->priority : ZJOB_PRIORITY_LOW;
    spec->user_id = opts->user_id;
    spec->tags = opts->tags.items;
    spec->tag_count = opts->tags.count;
    spec->max_attempts = opts->max_attempts >= 0 ? (uint32_t) opts->max_attempts : 0;
    const char *key;
    json_t *value;
    json_object_foreach (line->value, key, value) {
        if (streq (key, "workflow_id") || streq (key, "user_id")
        ||  streq (key, "idempotency_key")) {
            if (!json_is_string (value))
                return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: not a string", key);
            const char *text = json_string_value (value);
            if (streq (key, "workflow_id"))
                spec->workflow_id = text;
            else
            if (streq (key, "user_id"))
                spec->user_id = text;
            else
                spec->idempotency_key = text;
        }
        else
        if (streq (key, "inputs") || streq (key, "metadata")) {
            if (!json_is_object (value))
                return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                       "%s: expected a JSON object such as {\"x\": 1}", key);
            uint8_t **data_p = streq (key, "inputs") ? &line->inputs : &line->metadata;
            size_t size;
            zjob_error_t local;
            if (zjob_json_value_encode (value, data_p, &size, &local))
                return zjob_error_set (err, local.code, "%s: %s", key, local.text);
            if (streq (key, "inputs")) {
                spec->inputs = line->inputs;
                spec->inputs_size = size;
            }
            else {
                spec->metadata = line->metadata;
                spec->metadata_size = size;
            }
        }
        else
        if (streq (key, "priority")) {
            int priority = json_is_string (value)
                         ? zjob_priority_parse (json_string_value (value)) : -1;
            if (priority < 0)
                return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                       "priority: expected low, medium, high or critical");
            spec->priority = (zjob_priority_t) priority;
        }
        else
        if (streq (key, "tags")) {
            size_t count = json_array_size (value);
            if (!json_is_array (value))
                return zjob_error_set (err, ZJOB_BAD_REQUEST, "tags: not an array of strings");
            line->tags = (const char **) calloc (count + 1, sizeof (char *));
            for (size_t index = 0; index < count; index++) {
                json_t *tag = json_array_get (value, index);
                if (!json_is_string (tag))
                    return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                           "tags[%zu]: not a string", index);
                line->tags [index] = json_string_value (tag);
            }
            spec->tags = line->tags;
            spec->tag_count = count;
        }
        else
        if (streq (key, "max_attempts")) {
            if (!json_is_integer (value) || json_integer_value (value) < 0
            ||  json_integer_value (value) > UINT32_MAX)
                return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                       "max_attempts: not a count (0 = broker default)");
            spec->max_attempts = (uint32_t) json_integer_value (value);
        }
        else
        if (streq (key, "run_at")) {
            int64_t when = json_is_integer (value) ? (int64_t) json_integer_value (value)
                         : json_is_string (value) ? s_parse_time (json_string_value (value), 1)
                         : -1;
            if (when < 0)
                return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                       "run_at: expected ms UTC or an ISO-8601 time");
            spec->run_at = when;
        }
        else
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "unknown key \"%s\" (known: "
                                   "workflow_id, inputs, priority, user_id, tags, metadata, "
                                   "idempotency_key, max_attempts, run_at)", key);
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

//  Read a batch; returns the lines or NULL (with *rc_p an exit code)
static s_line_t *
s_batch_read (s_cli_t *cli, const s_submit_opts_t *opts, size_t *count_p, int *rc_p)
{
    FILE *file = s_open_arg (cli, "--batch", opts->batch);
    if (!file) {
        *rc_p = ZJOB_EXIT_BAD_INPUT;
        return NULL;
    }
    s_line_t *lines = NULL;
    size_t count = 0, capacity = 0, number = 0;
    char *text = NULL;
    size_t text_size = 0;
    *rc_p = 0;
    while (getline (&text, &text_size, file) >= 0) {
        number++;
        if (text [strspn (text, " \t\r\n")] == '\0')
            continue;                   //  Blank lines separate nothing
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            s_line_t *bigger = (s_line_t *) realloc (lines, capacity * sizeof (s_line_t));
            if (!bigger) {
                s_error (cli, "out of memory reading the batch");
                *rc_p = ZJOB_EXIT_INTERNAL;
                break;
            }
            lines = bigger;
        }
        s_line_t *line = &lines [count++];
        memset (line, 0, sizeof *line);
        line->line = number;
        zjob_error_t err;
        line->value = zjob_json_parse (text, true, &err);
        if (!line->value || s_line_spec (line, opts, &err)) {
            s_error (cli, "%s line %zu: %s (nothing was submitted)",
                     streq (opts->batch, "-") ? "stdin" : opts->batch, number, err.text);
            *rc_p = s_exit_code (err.code);
            break;
        }
    }
    free (text);
    if (file != stdin)
        fclose (file);
    if (*rc_p == 0 && count == 0) {
        s_error (cli, "%s has no jobs: expected one JSON object per line",
                 streq (opts->batch, "-") ? "stdin" : opts->batch);
        *rc_p = ZJOB_EXIT_BAD_INPUT;
    }
    if (*rc_p) {
        s_lines_free (lines, count);
        return NULL;
    }
    *count_p = count;
    return lines;
}

static int
s_submit_batch (s_cli_t *cli, s_submit_opts_t *opts)
{
    size_t count;
    int rc;
    s_line_t *lines = s_batch_read (cli, opts, &count, &rc);
    if (!lines)
        return rc;
    if ((rc = s_connect (cli))) {
        s_lines_free (lines, count);
        return rc;
    }
    zjob_spec_t *specs = (zjob_spec_t *) calloc (count, sizeof (zjob_spec_t));
    char (*ids) [ZJOB_ID_LEN + 1] = calloc (count, ZJOB_ID_LEN + 1);
    for (size_t index = 0; index < count; index++)
        specs [index] = lines [index].spec;

    //  In messages of ZJOB_BATCH_MAX jobs and half the message limit at
    //  most; each message is all or none
    size_t done = 0;
    while (done < count && rc == 0) {
        size_t chunk = 0, bytes = 0;
        while (done + chunk < count && chunk < ZJOB_BATCH_MAX
        &&     (chunk == 0 || bytes < ZJOB_MSG_MAX / 2)) {
            const zjob_spec_t *spec = &specs [done + chunk];
            bytes += spec->inputs_size + spec->metadata_size + 256;
            chunk++;
        }
        zjob_error_t err;
        if (zjob_client_submit_batch (cli->client, specs + done, chunk, !opts->no_start,
                                      ids + done, &err)) {
            //  The broker names the spec as jobs[i]: name the line instead
            unsigned index;
            int skip = 0;
            if (sscanf (err.text, "jobs[%u].%n", &index, &skip) == 1 && skip > 0
            &&  index < chunk) {
                char text [ZJOB_ERROR_TEXT_MAX];
                snprintf (text, sizeof text, "line %zu: %s", lines [done + index].line,
                          err.text + skip);
                snprintf (err.text, sizeof err.text, "%s", text);
            }
            s_print_ids (cli, ids, done);
            rc = s_fail (cli, &err);
            s_error (cli, "%zu jobs were submitted (their ids are printed), lines from %zu "
                     "on were not", done, lines [done].line);
        }
        else
            done += chunk;
    }
    if (rc == 0)
        s_print_ids (cli, ids, done);
    free (ids);
    free (specs);
    s_lines_free (lines, count);
    return rc;
}

static int
s_submit_one (s_cli_t *cli, s_submit_opts_t *opts)
{
    uint8_t *inputs = NULL, *metadata = NULL;
    size_t inputs_size = 0, metadata_size = 0;
    int rc = 0;
    if (opts->input)
        rc = s_json_arg (cli, "inputs", opts->input, &inputs, &inputs_size);
    if (rc == 0 && opts->metadata)
        rc = s_json_arg (cli, "metadata", opts->metadata, &metadata, &metadata_size);
    zjob_spec_t spec = {
        .workflow_id = opts->workflow_id,
        .inputs = inputs, .inputs_size = inputs_size,
        .priority = opts->priority >= 0 ? (zjob_priority_t) opts->priority : ZJOB_PRIORITY_LOW,
        .user_id = opts->user_id,
        .tags = opts->tags.items, .tag_count = opts->tags.count,
        .metadata = metadata, .metadata_size = metadata_size,
        .idempotency_key = opts->idempotency_key,
        .max_attempts = opts->max_attempts >= 0 ? (uint32_t) opts->max_attempts : 0,
        .run_at = opts->run_at
    };
    zjob_error_t err;
    if (rc == 0) {
        //  The job model's checks first: a bad field needs no broker
        zjob_job_t *probe = zjob_job_new (&spec, &err);
        if (probe)
            zjob_job_destroy (&probe);
        else {
            s_error (cli, "%s", err.text);
            rc = s_exit_code (err.code);
        }
    }
    if (rc == 0)
        rc = s_connect (cli);
    char id [ZJOB_ID_LEN + 1];
    if (rc == 0 && zjob_client_submit (cli->client, &spec, !opts->no_start, id, &err))
        rc = s_fail (cli, &err);
    if (rc == 0) {
        if (cli->json) {
            //  The job as accepted; its id alone if it cannot be read back
            zjob_job_t *job = zjob_client_get (cli->client, id, &err);
            json_t *object = job ? zjob_job_to_json (job) : json_pack ("{s:s}", "id", id);
            s_print_json (object, false);
            json_decref (object);
            zjob_job_destroy (&job);
        }
        else {
            puts (id);
            fflush (stdout);
        }
    }
    free (inputs);
    free (metadata);
    return rc;
}

static int
s_cmd_submit (s_cli_t *cli, int argc, char *argv [])
{
    static const struct option options [] = {
        { "input", required_argument, NULL, 'i' },
        { "priority", required_argument, NULL, 'p' },
        { "user", required_argument, NULL, 'u' },
        { "tag", required_argument, NULL, 't' },
        { "metadata", required_argument, NULL, 'm' },
        { "idempotency-key", required_argument, NULL, 'k' },
        { "max-attempts", required_argument, NULL, OPT_MAX_ATTEMPTS },
        { "run-at", required_argument, NULL, OPT_RUN_AT },
        { "delay", required_argument, NULL, OPT_DELAY },
        { "no-start", no_argument, NULL, OPT_NO_START },
        { "batch", required_argument, NULL, OPT_BATCH },
        S_COMMON_OPTIONS
    };
    s_submit_opts_t opts = { .priority = -1, .max_attempts = -1 };
    int rc = -1;                        //  An exit code once decided
    int opt;
    s_getopt_reset ();
    while (rc < 0 && (opt = s_getopt (cli, argc, argv, "i:p:u:t:m:k:", options)) != -1) {
        switch (opt) {
            case 'i': opts.input = optarg; break;
            case 'm': opts.metadata = optarg; break;
            case 'u': opts.user_id = optarg; break;
            case 't': s_strings_add (&opts.tags, optarg); break;
            case 'k': opts.idempotency_key = optarg; break;
            case OPT_NO_START: opts.no_start = true; break;
            case OPT_BATCH: opts.batch = optarg; break;
            case 'p':
                opts.priority = zjob_priority_parse (optarg);
                if (opts.priority < 0)
                    rc = s_usage_error (cli, "--priority: '%s' is not low, medium, high or "
                                        "critical", optarg);
                break;
            case OPT_MAX_ATTEMPTS:
                opts.max_attempts = s_parse_count (optarg, UINT32_MAX);
                if (opts.max_attempts < 0)
                    rc = s_usage_error (cli, "--max-attempts: '%s' is not a count", optarg);
                break;
            case OPT_RUN_AT:
                opts.run_at = s_parse_time (optarg, 1);
                if (opts.run_at < 0)
                    rc = s_usage_error (cli, "--run-at: '%s' is not a time "
                                        "(2024-05-01T12:00:00Z)", optarg);
                break;
            case OPT_DELAY: {
                int64_t delay = s_parse_duration (optarg);
                if (delay < 0)
                    rc = s_usage_error (cli, "--delay: '%s' is not a duration (30s, 5m)",
                                        optarg);
                opts.run_at = zjob_clock_ms () + delay;
                break;
            }
            default:
                rc = s_getopt_end (cli, opt);
        }
    }
    if (rc >= 0) {
        free (opts.tags.items);
        return rc;
    }
    rc = 0;
    if (rc == 0) {
        int args = argc - optind;
        if (args > 1)
            rc = s_usage_error (cli, "one WORKFLOW at most, got '%s' too", argv [optind + 1]);
        else
        if (args == 1)
            opts.workflow_id = argv [optind];
        else
        if (!opts.batch)
            rc = s_usage_error (cli, "which workflow? give WORKFLOW (or --batch FILE)");
    }
    if (rc == 0 && opts.batch && (opts.input || opts.metadata || opts.idempotency_key
                                  || opts.run_at))
        rc = s_usage_error (cli, "--batch takes inputs, metadata, keys and times from its "
                            "lines: drop --input, --metadata, --idempotency-key, --run-at "
                            "and --delay");
    if (rc == 0)
        rc = opts.batch ? s_submit_batch (cli, &opts) : s_submit_one (cli, &opts);
    free (opts.tags.items);
    return rc;
}


//  --------------------------------------------------------------------------
//  get, status, result: one job by id

//  Parse a command whose only argument is one job id. Returns -1 to go
//  on (with *id_p set), or the exit code to end with.
static int
s_parse_id_command (s_cli_t *cli, int argc, char *argv [], const char **id_p)
{
    static const struct option options [] = { S_COMMON_OPTIONS };
    int opt;
    s_getopt_reset ();
    while ((opt = s_getopt (cli, argc, argv, "", options)) != -1)
        return s_getopt_end (cli, opt);
    if (argc - optind != 1)
        return s_usage_error (cli, argc - optind ? "one job id only, please"
                                                 : "which job? give its ID");
    *id_p = argv [optind];
    int rc = s_check_id (cli, *id_p);
    if (rc == 0)
        rc = s_connect (cli);
    return rc ? rc : -1;
}

//  A data field (inputs, outputs, metadata) as one line of JSON
static void
s_print_data (const char *label, const zjob_bytes_t *bytes)
{
    char *text = bytes->size ? zjob_msgpack_to_json (bytes->data, bytes->size, 0, NULL) : NULL;
    printf ("%-12s  %s\n", label, text ? text : "{}");
    free (text);
}

//  The job for people, one field a line
static void
s_print_job (const zjob_job_t *job)
{
    char buf [128];
    zjob_status_t status = (zjob_status_t) job->status;
    printf ("%-12s  %s\n", "id", job->id);
    printf ("%-12s  %s\n", "workflow", job->workflow_id);
    printf ("%-12s  %s\n", "status", zjob_status_name (status));
    printf ("%-12s  %s\n", "priority", zjob_priority_name ((zjob_priority_t) job->priority));
    if (job->user_id)
        printf ("%-12s  %s\n", "user", job->user_id);
    if (job->tag_count) {
        printf ("%-12s  ", "tags");
        for (size_t index = 0; index < job->tag_count; index++)
            printf ("%s%s", index ? ", " : "", job->tags [index]);
        printf ("\n");
    }
    if (job->progress > 0 || job->progress_message)
        printf ("%-12s  %d%%%s%s\n", "progress", (int) (job->progress * 100.0f + 0.5f),
                job->progress_message ? "  " : "",
                job->progress_message ? job->progress_message : "");
    if (job->attempts || job->max_attempts) {
        if (job->max_attempts)
            printf ("%-12s  %u of %u\n", "attempts", job->attempts, job->max_attempts);
        else
            printf ("%-12s  %u\n", "attempts", job->attempts);
    }
    if (job->worker_id)
        printf ("%-12s  %s\n", "worker", job->worker_id);
    if (job->error_kind || job->error_message)
        printf ("%-12s  %s%s%s\n", "error", job->error_kind ? job->error_kind : "",
                job->error_kind && job->error_message ? ": " : "",
                job->error_message ? job->error_message : "");
    printf ("%-12s  %s\n", "created", s_when (job->created_at, buf, sizeof buf));
    printf ("%-12s  %s\n", "updated", s_when (job->updated_at, buf, sizeof buf));
    if (job->run_at)
        printf ("%-12s  %s\n", "run at", s_when (job->run_at, buf, sizeof buf));
    if (job->queued_at)
        printf ("%-12s  %s\n", "queued", s_when (job->queued_at, buf, sizeof buf));
    if (job->started_at)
        printf ("%-12s  %s\n", "started", s_when (job->started_at, buf, sizeof buf));
    if (job->completed_at)
        printf ("%-12s  %s\n", "finished", s_when (job->completed_at, buf, sizeof buf));
    if (job->execution_ms)
        printf ("%-12s  %s\n", "ran for", s_duration (job->execution_ms, buf, sizeof buf));
    if (job->queued_ms)
        printf ("%-12s  %s\n", "queued for", s_duration (job->queued_ms, buf, sizeof buf));
    if (job->idempotency_key)
        printf ("%-12s  %s\n", "key", job->idempotency_key);
    s_print_data ("inputs", &job->inputs);
    if (job->metadata.size)
        s_print_data ("metadata", &job->metadata);
    if (job->outputs.size)
        s_print_data ("outputs", &job->outputs);
    fflush (stdout);
}

static void
s_print_job_json (const zjob_job_t *job, bool compact)
{
    json_t *object = zjob_job_to_json (job);
    s_print_json (object, compact);
    json_decref (object);
}

static int
s_cmd_get (s_cli_t *cli, int argc, char *argv [])
{
    const char *id = NULL;
    int rc = s_parse_id_command (cli, argc, argv, &id);
    if (rc >= 0)
        return rc;
    zjob_error_t err;
    zjob_job_t *job = zjob_client_get (cli->client, id, &err);
    if (!job)
        return s_fail (cli, &err);
    if (cli->json)
        s_print_job_json (job, false);
    else
        s_print_job (job);
    zjob_job_destroy (&job);
    return ZJOB_EXIT_OK;
}

static int
s_cmd_status (s_cli_t *cli, int argc, char *argv [])
{
    const char *id = NULL;
    int rc = s_parse_id_command (cli, argc, argv, &id);
    if (rc >= 0)
        return rc;
    zjob_error_t err;
    zjob_reply_t *reply = s_reply (cli, zjob_client_send_id (cli->client, ZJOB_CMD_STATUS,
                                                             id, &err), &err);
    if (!reply)
        return s_fail (cli, &err);
    zjob_msg_t *msg = zjob_reply_msg (reply);
    const char *status = zjob_msg_str (msg, "status");
    const char *message = zjob_msg_str (msg, "progress_message");
    double progress = zjob_msg_float (msg, "progress", 0.0);
    int64_t updated_at = zjob_msg_int (msg, "updated_at", 0);
    if (cli->json) {
        json_t *object = zjob_msgpack_object_to_json (zjob_msg_body (msg));
        if (updated_at) {
            char iso [ZJOB_ISO_TIME_LEN];
            json_object_set_new (object, "updated_at",
                                 json_string (zjob_iso_time (updated_at, iso)));
            json_object_set_new (object, "updated_at_ms", json_integer (updated_at));
        }
        s_print_json (object, false);
        json_decref (object);
    }
    else {
        char ago [32];
        printf ("%s", status ? status : "?");
        if (progress > 0 || message)
            printf ("  %d%%%s%s", (int) (progress * 100.0 + 0.5), message ? "  " : "",
                    message ? message : "");
        if (updated_at)
            printf ("  (updated %s)", s_ago (updated_at, ago, sizeof ago));
        printf ("\n");
    }
    zjob_reply_destroy (&reply);
    return ZJOB_EXIT_OK;
}

static int
s_cmd_result (s_cli_t *cli, int argc, char *argv [])
{
    const char *id = NULL;
    int rc = s_parse_id_command (cli, argc, argv, &id);
    if (rc >= 0)
        return rc;
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_results (cli->client, id, &err);
    if (!reply) {
        if (err.code != ZJOB_CONFLICT)
            return s_fail (cli, &err);
        //  No results: say whether they will come
        zjob_error_t local;
        int status = zjob_client_status (cli->client, id, &local);
        if (status == ZJOB_CANCELLED) {
            s_error (cli, "job %s was cancelled: it has no results", id);
            return ZJOB_EXIT_JOB_FAILED;
        }
        s_error (cli, "job %s is %s and has no results yet; wait for them with "
                 "'zjob wait %s'", id, status >= 0 ? zjob_status_name ((zjob_status_t) status)
                                                   : "not finished", id);
        return ZJOB_EXIT_CONFLICT;
    }
    zjob_msg_t *msg = zjob_reply_msg (reply);
    bool completed = streq (zjob_msg_str (msg, "status") ? zjob_msg_str (msg, "status") : "",
                            "completed");
    size_t size = 0;
    const uint8_t *outputs = zjob_msg_bin (msg, "outputs", &size);
    json_t *outputs_json = size ? zjob_msgpack_to_json_value (outputs, size, &err)
                                : json_object ();
    const char *kind = zjob_msg_str (msg, "error_kind");
    const char *message = zjob_msg_str (msg, "error_message");
    if (cli->json) {
        json_t *object = json_pack ("{s:s, s:s}", "id", id, "status",
                                    completed ? "completed" : "failed");
        json_object_set (object, "outputs", completed && outputs_json ? outputs_json
                                                                     : json_null ());
        json_object_set_new (object, "error", completed ? json_null ()
            : json_pack ("{s:s?, s:s?}", "kind", kind, "message", message));
        int64_t completed_at = zjob_msg_int (msg, "completed_at", 0);
        char iso [ZJOB_ISO_TIME_LEN];
        json_object_set_new (object, "completed_at", completed_at
                             ? json_string (zjob_iso_time (completed_at, iso)) : json_null ());
        json_object_set_new (object, "completed_at_ms", json_integer (completed_at));
        json_object_set_new (object, "execution_ms",
                             json_integer (zjob_msg_int (msg, "execution_ms", 0)));
        s_print_json (object, false);
        json_decref (object);
    }
    else
    if (completed && outputs_json)
        s_print_json (outputs_json, false);
    if (!completed)
        s_error (cli, "job %s failed: %s%s%s", id, kind ? kind : "", kind && message ? ": " : "",
                 message ? message : "");
    json_decref (outputs_json);
    zjob_reply_destroy (&reply);
    return completed ? ZJOB_EXIT_OK : ZJOB_EXIT_JOB_FAILED;
}


//  --------------------------------------------------------------------------
//  list

static void
s_print_jobs_table (zjob_job_t **jobs, size_t count)
{
    static const char *header [] = {
        "ID", "WORKFLOW", "STATUS", "PRIORITY", "PROGRESS", "ATTEMPTS", "CREATED", "UPDATED"
    };
    s_table_t *table = s_table_new (8, header);
    for (size_t index = 0; index < count; index++) {
        zjob_job_t *job = jobs [index];
        char progress [16] = "";
        if (job->progress > 0 || job->status == ZJOB_RUNNING || job->status == ZJOB_PAUSED)
            snprintf (progress, sizeof progress, "%d%%", (int) (job->progress * 100.0f + 0.5f));
        char attempts [16];
        snprintf (attempts, sizeof attempts, "%u", job->attempts);
        char created [32], updated [32];
        const char *cells [] = {
            job->id, job->workflow_id, zjob_status_name ((zjob_status_t) job->status),
            zjob_priority_name ((zjob_priority_t) job->priority), progress, attempts,
            s_ago (job->created_at, created, sizeof created),
            s_ago (job->updated_at, updated, sizeof updated)
        };
        s_table_add (table, cells);
    }
    s_table_print (table, "");
    s_table_destroy (&table);
}

static int
    s_list_run (s_cli_t *cli, zjob_query_t *query, bool all, bool filtered);

static int
s_cmd_list (s_cli_t *cli, int argc, char *argv [])
{
    static const struct option options [] = {
        S_FILTER_OPTIONS,
        { "sort", required_argument, NULL, OPT_SORT },
        { "asc", no_argument, NULL, OPT_ASC },
        { "desc", no_argument, NULL, OPT_DESC },
        { "limit", required_argument, NULL, 'n' },
        { "offset", required_argument, NULL, OPT_OFFSET },
        { "all", no_argument, NULL, OPT_ALL },
        S_COMMON_OPTIONS
    };
    s_filter_opts_t filter = { .given = false };
    zjob_query_t query = { .limit = S_LIST_LIMIT };
    bool all = false;
    int rc = -1;
    int opt;
    s_getopt_reset ();
    while (rc < 0 && (opt = s_getopt (cli, argc, argv, "s:w:u:t:n:", options)) != -1) {
        int taken = s_filter_option (cli, opt, optarg, &filter);
        if (taken)
            rc = taken < 0 ? ZJOB_EXIT_USAGE : -1;
        else
        switch (opt) {
            case OPT_SORT: {
                int sort = zjob_sort_parse (optarg);
                if (sort < 0)
                    rc = s_usage_error (cli, "--sort: '%s' is not created, updated, priority "
                                        "or status", optarg);
                query.sort_by = (zjob_sort_t) sort;
                break;
            }
            case OPT_ASC: query.descending = false; break;
            case OPT_DESC: query.descending = true; break;
            case OPT_ALL: all = true; break;
            case 'n':
            case OPT_OFFSET: {
                int64_t value = s_parse_count (optarg, opt == 'n' ? ZJOB_LIST_LIMIT_MAX
                                                                  : INT32_MAX);
                if (value < 0 || (opt == 'n' && value == 0))
                    rc = opt == 'n'
                       ? s_usage_error (cli, "--limit: '%s' is not 1..%d", optarg,
                                        ZJOB_LIST_LIMIT_MAX)
                       : s_usage_error (cli, "--offset: '%s' is not a count", optarg);
                else
                if (opt == 'n')
                    query.limit = (size_t) value;
                else
                    query.offset = (size_t) value;
                break;
            }
            default:
                rc = s_getopt_end (cli, opt);
        }
    }
    if (rc < 0 && optind < argc)
        rc = s_usage_error (cli, "unexpected argument '%s'", argv [optind]);
    if (rc < 0)
        rc = s_connect (cli);
    if (rc == 0) {
        query.filter = filter.filter;
        if (all)
            query.limit = ZJOB_LIST_LIMIT_MAX;
        rc = s_list_run (cli, &query, all, filter.given);
    }
    free (filter.tags.items);
    return rc;
}

//  One page, or with all every page from the query's offset on
static int
s_list_run (s_cli_t *cli, zjob_query_t *query, bool all, bool filtered)
{
    zjob_job_t **jobs = NULL;
    size_t count = 0, total = 0;
    zjob_error_t err;
    int rc = 0;
    while (true) {
        zjob_job_t **page;
        size_t page_count, page_total;
        if (zjob_client_list (cli->client, query, &page, &page_count, &page_total, &err)) {
            rc = s_fail (cli, &err);
            break;
        }
        total = page_total;
        zjob_job_t **bigger = (zjob_job_t **) realloc (jobs, (count + page_count + 1)
                                                             * sizeof (zjob_job_t *));
        if (bigger) {
            jobs = bigger;
            memcpy (jobs + count, page, page_count * sizeof (zjob_job_t *));
            count += page_count;
        }
        free (page);
        query->offset += page_count;
        if (!all || page_count == 0 || query->offset >= total)
            break;
    }
    size_t first = query->offset - count;     //  Offset of jobs [0]
    if (rc == 0 && cli->json) {
        json_t *array = json_array ();
        for (size_t index = 0; index < count; index++)
            json_array_append_new (array, zjob_job_to_json (jobs [index]));
        json_t *object = json_pack ("{s:I, s:I, s:I, s:o}", "total", (json_int_t) total,
                                    "offset", (json_int_t) first, "count", (json_int_t) count,
                                    "jobs", array);
        s_print_json (object, false);
        json_decref (object);
    }
    else
    if (rc == 0) {
        if (count)
            s_print_jobs_table (jobs, count);
        if (total == 0)
            printf ("no jobs%s\n", filtered ? " match" : "");
        else
        if (count == 0)
            printf ("no jobs from offset %zu: %zu job%s in all\n", first, total,
                    total == 1 ? "" : "s");
        else
        if (count < total)
            printf ("jobs %zu-%zu of %zu%s\n", first + 1, first + count, total,
                    first + count < total ? " (more with --offset or --all)" : "");
        else
            printf ("%zu job%s\n", total, total == 1 ? "" : "s");
        fflush (stdout);
    }
    for (size_t index = 0; index < count; index++)
        zjob_job_destroy (&jobs [index]);
    free (jobs);
    return rc;
}


//  --------------------------------------------------------------------------
//  start, pause, resume, cancel, delete: one job, some jobs, or a filter

//  The command's operation for messages: "paused", "deleted"
static const char *
s_done_name (zjob_cmd_t command)
{
    switch (command) {
        case ZJOB_CMD_START:  return "started";
        case ZJOB_CMD_PAUSE:  return "paused";
        case ZJOB_CMD_RESUME: return "resumed";
        case ZJOB_CMD_CANCEL: return "cancelled";
        default:              return "deleted";
    }
}

//  One job: its status after the operation
static int
s_apply_one (s_cli_t *cli, zjob_cmd_t command, const char *id)
{
    zjob_error_t err;
    zjob_reply_t *reply = s_reply (cli, zjob_client_send_id (cli->client, command, id, &err),
                                   &err);
    if (!reply)
        return s_fail (cli, &err);
    const char *status = zjob_msg_str (zjob_reply_msg (reply), "status");
    if (cli->json) {
        json_t *object = json_pack ("{s:s, s:s}", "id", id, "operation", cli->command);
        json_object_set_new (object, "status", status ? json_string (status) : json_null ());
        s_print_json (object, false);
        json_decref (object);
    }
    else {
        //  "ID: paused", "ID: resumed, now queued"
        const char *done = s_done_name (command);
        bool more = status && !streq (status, done);
        printf ("%s: %s%s%s\n", id, done, more ? ", now " : "", more ? status : "");
        fflush (stdout);
    }
    zjob_reply_destroy (&reply);
    return ZJOB_EXIT_OK;
}

//  Several jobs, or a filter: the counts and the first failures
static int
s_apply_many (s_cli_t *cli, zjob_cmd_t command, const zjob_target_t *target)
{
    zjob_error_t err;
    zjob_reply_t *reply = s_reply (cli, zjob_client_send_target (cli->client, command, target,
                                                                 &err), &err);
    if (!reply)
        return s_fail (cli, &err);
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
        rc = s_exit_code (code ? (int) code : ZJOB_INTERNAL);
    }
    if (cli->json) {
        json_t *object = json_pack ("{s:s, s:I, s:I}", "operation", cli->command,
                                    "done", (json_int_t) done, "failed", (json_int_t) failed);
        json_object_set_new (object, "errors", errors ? json_incref (errors) : json_array ());
        s_print_json (object, false);
        json_decref (object);
    }
    else {
        printf ("%s %" PRIu64 " job%s", s_done_name (command), done, done == 1 ? "" : "s");
        if (failed)
            printf ("; %" PRIu64 " failed", failed);
        printf ("\n");
        fflush (stdout);
    }
    size_t index;
    json_t *error;
    json_array_foreach (errors, index, error) {
        const char *job_id = json_string_value (json_object_get (error, "id"));
        const char *message = json_string_value (json_object_get (error, "message"));
        if (job_id && message && !strstr (message, job_id))
            s_error (cli, "%s: %s", job_id, message);
        else
            s_error (cli, "%s", message ? message : "(no message)");
    }
    if (failed > json_array_size (errors))
        s_error (cli, "(%zu failures more not shown)",
                 (size_t) failed - json_array_size (errors));
    json_decref (body);
    zjob_reply_destroy (&reply);
    return rc;
}

//  Dry run: the jobs a filter matches, without changing them
static int
s_apply_dry_run (s_cli_t *cli, const zjob_filter_t *filter)
{
    zjob_query_t query = { .filter = *filter, .limit = S_LIST_LIMIT };
    zjob_job_t **jobs;
    size_t count, total;
    zjob_error_t err;
    if (zjob_client_list (cli->client, &query, &jobs, &count, &total, &err))
        return s_fail (cli, &err);
    if (cli->json) {
        json_t *array = json_array ();
        for (size_t index = 0; index < count; index++)
            json_array_append_new (array, zjob_job_to_json (jobs [index]));
        json_t *object = json_pack ("{s:s, s:b, s:I, s:o}", "operation", cli->command,
                                    "dry_run", 1,
                                    "matching", (json_int_t) total, "jobs", array);
        s_print_json (object, false);
        json_decref (object);
    }
    else {
        if (count)
            s_print_jobs_table (jobs, count);
        printf ("%zu job%s match%s%s; without --dry-run, %s applies to those whose status "
                "allows it\n", total, total == 1 ? "" : "s", total == 1 ? "es" : "",
                count < total ? " (first ones shown)" : "", cli->command);
        fflush (stdout);
    }
    for (size_t index = 0; index < count; index++)
        zjob_job_destroy (&jobs [index]);
    free (jobs);
    return ZJOB_EXIT_OK;
}

static int
s_apply (s_cli_t *cli, int argc, char *argv [], zjob_cmd_t command)
{
    static const struct option options [] = {
        S_FILTER_OPTIONS,
        { "dry-run", no_argument, NULL, OPT_DRY_RUN },
        S_COMMON_OPTIONS
    };
    s_filter_opts_t filter = { .given = false };
    bool dry_run = false;
    int rc = -1;
    int opt;
    s_getopt_reset ();
    while (rc < 0 && (opt = s_getopt (cli, argc, argv, "s:w:u:t:", options)) != -1) {
        int taken = s_filter_option (cli, opt, optarg, &filter);
        if (taken)
            rc = taken < 0 ? ZJOB_EXIT_USAGE : -1;
        else
        if (opt == OPT_DRY_RUN)
            dry_run = true;
        else
            rc = s_getopt_end (cli, opt);
    }
    size_t id_count = (size_t) (argc - optind);
    if (rc < 0) {
        //  Ids or a filter, never neither: an operation on every job
        //  must be asked for by naming its jobs
        if (id_count && filter.given)
            rc = s_usage_error (cli, "give job ids or a filter, not both");
        else
        if (!id_count && !filter.given)
            rc = s_usage_error (cli, "which jobs? give their ids, or a filter such as "
                                "--status queued --workflow W");
        else
        if (dry_run && !filter.given)
            rc = s_usage_error (cli, "--dry-run goes with a filter");
        else
        if (id_count > ZJOB_BATCH_MAX)
            rc = s_usage_error (cli, "%zu ids: at most %d at once", id_count, ZJOB_BATCH_MAX);
    }
    for (size_t index = 0; rc < 0 && index < id_count; index++)
        if (s_check_id (cli, argv [optind + (int) index]))
            rc = ZJOB_EXIT_NOT_FOUND;
    if (rc < 0) {
        rc = s_connect (cli);
        if (rc == 0) {
            zjob_target_t target = { .filter = NULL };
            if (filter.given)
                target.filter = &filter.filter;
            else {
                target.ids = (const char *const *) argv + optind;
                target.id_count = id_count;
            }
            if (dry_run)
                rc = s_apply_dry_run (cli, &filter.filter);
            else
            if (id_count == 1)
                rc = s_apply_one (cli, command, argv [optind]);
            else
                rc = s_apply_many (cli, command, &target);
        }
    }
    free (filter.tags.items);
    return rc;
}

static int
s_cmd_start (s_cli_t *cli, int argc, char *argv [])
{
    return s_apply (cli, argc, argv, ZJOB_CMD_START);
}

static int
s_cmd_pause (s_cli_t *cli, int argc, char *argv [])
{
    return s_apply (cli, argc, argv, ZJOB_CMD_PAUSE);
}

static int
s_cmd_resume (s_cli_t *cli, int argc, char *argv [])
{
    return s_apply (cli, argc, argv, ZJOB_CMD_RESUME);
}

static int
s_cmd_cancel (s_cli_t *cli, int argc, char *argv [])
{
    return s_apply (cli, argc, argv, ZJOB_CMD_CANCEL);
}

static int
s_cmd_delete (s_cli_t *cli, int argc, char *argv [])
{
    return s_apply (cli, argc, argv, ZJOB_CMD_DELETE);
}


//  --------------------------------------------------------------------------
//  wait, watch: until the job is finished

//  Parse wait's and watch's arguments: one id, --timeout. Returns -1 to go
//  on, or the exit code to end with.
static int
s_parse_wait (s_cli_t *cli, int argc, char *argv [], const char **id_p, int64_t *timeout_p)
{
    static const struct option options [] = {
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        S_COMMON_OPTIONS
    };
    *timeout_p = -1;
    int opt;
    s_getopt_reset ();
    while ((opt = s_getopt (cli, argc, argv, "", options)) != -1) {
        if (opt != OPT_TIMEOUT)
            return s_getopt_end (cli, opt);
        *timeout_p = s_parse_duration (optarg);
        if (*timeout_p < 0 || *timeout_p > INT32_MAX)
            return s_usage_error (cli, "--timeout: '%s' is not a duration (seconds, or 500ms, "
                                  "5m...)", optarg);
    }
    if (argc - optind != 1)
        return s_usage_error (cli, argc - optind ? "one job id only, please"
                                                 : "which job? give its ID");
    *id_p = argv [optind];
    int rc = s_check_id (cli, *id_p);
    if (rc == 0)
        rc = s_connect (cli);
    return rc ? rc : -1;
}

//  The exit code of a finished job
static int
s_job_exit (const zjob_job_t *job)
{
    return job->status == ZJOB_COMPLETED ? ZJOB_EXIT_OK : ZJOB_EXIT_JOB_FAILED;
}

//  One line on how a finished job ended, and its outputs
static void
s_print_outcome (const zjob_job_t *job)
{
    char ran [32], total [32];
    int64_t end = job->completed_at ? job->completed_at : job->updated_at;
    printf ("%s %s after %s", job->id, zjob_status_name ((zjob_status_t) job->status),
            s_duration (end - job->created_at, total, sizeof total));
    if (job->execution_ms)
        printf (" (ran %s, %u attempt%s)", s_duration (job->execution_ms, ran, sizeof ran),
                job->attempts, job->attempts == 1 ? "" : "s");
    if (job->status == ZJOB_FAILED)
        printf (": %s%s%s", job->error_kind ? job->error_kind : "",
                job->error_kind && job->error_message ? ": " : "",
                job->error_message ? job->error_message : "");
    printf ("\n");
    if (job->status == ZJOB_COMPLETED)
        s_print_data ("outputs", &job->outputs);
    fflush (stdout);
}

static int
s_cmd_wait (s_cli_t *cli, int argc, char *argv [])
{
    const char *id = NULL;
    int64_t timeout;
    int rc = s_parse_wait (cli, argc, argv, &id, &timeout);
    if (rc >= 0)
        return rc;
    zjob_error_t err;
    int64_t deadline = zjob_mono_ms () + timeout;
    int status;
    while (true) {
        int64_t left = deadline - zjob_mono_ms ();
        int chunk = timeout < 0 ? S_WAIT_CHUNK_MS : left > 0 ? (int) left : 0;
        status = zjob_client_wait (cli->client, id, chunk, &err);
        if (status >= 0 || err.code != ZJOB_ACCEPTED || timeout >= 0 || zsys_interrupted)
            break;
    }
    if (status < 0 && err.code != ZJOB_ACCEPTED)
        return s_fail (cli, &err);
    zjob_job_t *job = zjob_client_get (cli->client, id, &err);
    if (!job)
        return s_fail (cli, &err);
    if (cli->json)
        s_print_job_json (job, false);
    if (status < 0) {
        char waited [32];
        s_error (cli, "job %s is still %s after %s; wait longer with --timeout, or follow it "
                 "with 'zjob watch %s'", id, zjob_status_name ((zjob_status_t) job->status),
                 s_duration (timeout, waited, sizeof waited), id);
        rc = ZJOB_EXIT_TIMEOUT;
    }
    else {
        if (!cli->json)
            s_print_outcome (job);
        rc = s_job_exit (job);
    }
    zjob_job_destroy (&job);
    return rc;
}

//  What watch last showed, so that a poll shows only changes
typedef struct {
    int status;                         //  -1 before the first
    float progress;
    char message [ZJOB_MESSAGE_MAX + 1];
    bool bar;                           //  A progress bar line is open
} s_watch_t;

//  An event made from the job, when a poll finds a change
static void
s_event_from_job (const zjob_job_t *job, const char *type, zjob_event_info_t *event)
{
    memset (event, 0, sizeof *event);
    snprintf (event->type, sizeof event->type, "%s", type);
    event->time = job->updated_at;
    snprintf (event->id, sizeof event->id, "%s", job->id);
    snprintf (event->workflow_id, sizeof event->workflow_id, "%s", job->workflow_id);
    event->status = job->status;
    event->old_status = -1;
    event->attempts = job->attempts;
    event->progress = job->progress;
    snprintf (event->worker_id, sizeof event->worker_id, "%s",
              job->worker_id ? job->worker_id : "");
    snprintf (event->error_kind, sizeof event->error_kind, "%s",
              job->error_kind ? job->error_kind : "");
    const char *message = job->status == ZJOB_FAILED ? job->error_message
                                                     : job->progress_message;
    snprintf (event->message, sizeof event->message, "%s", message ? message : "");
}

static void
s_watch_show (s_cli_t *cli, s_watch_t *watch, const zjob_event_info_t *event)
{
    bool is_progress = streq (event->type, "progress");
    if (event->status >= 0)
        watch->status = event->status;
    if (is_progress || event->progress > 0)
        watch->progress = event->progress;
    if (watch->status == ZJOB_COMPLETED)
        watch->progress = 1.0f;         //  Whatever the worker last said
    if (is_progress || (event->status != ZJOB_FAILED && *event->message))
        snprintf (watch->message, sizeof watch->message, "%s", event->message);
    const char *status = watch->status >= 0 ? zjob_status_name ((zjob_status_t) watch->status)
                                            : "?";
    if (cli->json) {
        char iso [ZJOB_ISO_TIME_LEN];
        json_t *object = json_pack ("{s:s, s:s, s:I, s:s, s:s, s:s}", "type", event->type,
                                    "time", zjob_iso_time (event->time, iso),
                                    "time_ms", (json_int_t) event->time, "id", event->id,
                                    "workflow_id", event->workflow_id, "status", status);
        json_object_set_new (object, "progress",
                             json_real ((double) (int) (event->progress * 10000.0f + 0.5f)
                                        / 10000.0));
        json_object_set_new (object, "attempts", json_integer (event->attempts));
        json_object_set_new (object, "worker_id", *event->worker_id
                             ? json_string (event->worker_id) : json_null ());
        json_object_set_new (object, "error_kind", *event->error_kind
                             ? json_string (event->error_kind) : json_null ());
        json_object_set_new (object, "message", *event->message
                             ? json_string (event->message) : json_null ());
        s_print_json (object, true);
        json_decref (object);
        return;
    }
    int percent = (int) (watch->progress * 100.0f + 0.5f);
    if (cli->tty) {
        //  One line, redrawn: the bar
        int filled = percent * S_BAR_WIDTH / 100;
        char bar [S_BAR_WIDTH + 1];
        for (int index = 0; index < S_BAR_WIDTH; index++)
            bar [index] = index < filled ? '#' : '.';
        bar [S_BAR_WIDTH] = '\0';
        printf ("\r\033[K%s  %-9s [%s] %3d%%  %.60s", event->id, status, bar, percent,
                watch->status == ZJOB_FAILED ? event->message : watch->message);
        watch->bar = true;
    }
    else {
        //  One line per event: time, type, what it says
        char details [ZJOB_MESSAGE_MAX + 1024] = "";
        size_t used = 0;
        if (is_progress)
            used += snprintf (details, sizeof details, "%d%%%s%s", percent,
                              *event->message ? "  " : "", event->message);
        else {
            if (event->attempts && event->status == ZJOB_RUNNING)
                used += snprintf (details + used, sizeof details - used, "attempt %u  ",
                                  event->attempts);
            if (*event->worker_id && event->status == ZJOB_RUNNING)
                used += snprintf (details + used, sizeof details - used, "worker %s  ",
                                  event->worker_id);
            if (*event->error_kind || (event->status == ZJOB_FAILED && *event->message))
                snprintf (details + used, sizeof details - used, "%s%s%s",
                          event->error_kind, *event->error_kind ? ": " : "", event->message);
        }
        char iso [ZJOB_ISO_TIME_LEN];
        char line [sizeof details + 64];
        size_t length = (size_t) snprintf (line, sizeof line, "%s  %-9s  %s",
                                           zjob_iso_time (event->time, iso), event->type,
                                           details);
        if (length >= sizeof line)
            length = sizeof line - 1;
        while (length > 0 && line [length - 1] == ' ')
            line [--length] = '\0';     //  No trailing blanks
        puts (line);
    }
    fflush (stdout);
}

//  End the progress bar's line, if one is open
static void
s_watch_end_bar (s_watch_t *watch)
{
    if (watch->bar) {
        printf ("\n");
        watch->bar = false;
    }
}

//  Follow id until finished; the state is in watch. Returns the job's
//  exit code, or another after saying why.
static int
s_watch_loop (s_cli_t *cli, zjob_events_t *events, const char *id, int64_t timeout,
              s_watch_t *watch)
{
    zjob_error_t err;
    zjob_job_t *job = zjob_client_get (cli->client, id, &err);
    if (!job)
        return s_fail (cli, &err);
    zjob_event_info_t event;
    s_event_from_job (job, zjob_status_name ((zjob_status_t) job->status), &event);
    s_watch_show (cli, watch, &event);

    int64_t deadline = timeout >= 0 ? zjob_mono_ms () + timeout : INT64_MAX;
    int64_t next_poll = zjob_mono_ms () + S_WATCH_POLL_MS;
    while (!zjob_status_terminal ((zjob_status_t) job->status)) {
        int64_t now = zjob_mono_ms ();
        int64_t until = next_poll < deadline ? next_poll : deadline;
        if (zjob_events_recv (events, &event, until > now ? (int) (until - now) : 0, &err) == 0
        &&  streq (event.id, id)) {
            if (streq (event.type, "deleted")) {
                s_watch_end_bar (watch);
                s_error (cli, "job %s was deleted", id);
                zjob_job_destroy (&job);
                return ZJOB_EXIT_NOT_FOUND;
            }
            s_watch_show (cli, watch, &event);
            if (event.status < 0 || !zjob_status_terminal ((zjob_status_t) event.status))
                continue;
            next_poll = 0;              //  Finished: read the job at once
        }
        if (zsys_interrupted) {
            zjob_job_destroy (&job);
            return ZJOB_EXIT_INTERRUPTED;
        }
        if (zjob_mono_ms () >= next_poll) {
            //  The job as stored: what the events missed, if anything
            zjob_job_t *fresh = zjob_client_get (cli->client, id, &err);
            if (!fresh) {
                s_watch_end_bar (watch);
                zjob_job_destroy (&job);
                return s_fail (cli, &err);
            }
            zjob_job_destroy (&job);
            job = fresh;
            const char *message = job->progress_message ? job->progress_message : "";
            if (job->status != watch->status) {
                s_event_from_job (job, zjob_status_name ((zjob_status_t) job->status), &event);
                s_watch_show (cli, watch, &event);
            }
            else
            if (job->progress != watch->progress || strcmp (message, watch->message)) {
                s_event_from_job (job, "progress", &event);
                s_watch_show (cli, watch, &event);
            }
            next_poll = zjob_mono_ms () + S_WATCH_POLL_MS;
        }
        if (zjob_mono_ms () >= deadline
        &&  !zjob_status_terminal ((zjob_status_t) job->status)) {
            char waited [32];
            s_watch_end_bar (watch);
            s_error (cli, "job %s is still %s after %s; watch longer with --timeout", id,
                     zjob_status_name ((zjob_status_t) job->status),
                     s_duration (timeout, waited, sizeof waited));
            zjob_job_destroy (&job);
            return ZJOB_EXIT_TIMEOUT;
        }
    }
    s_watch_end_bar (watch);
    if (!cli->json)
        s_print_outcome (job);
    int rc = s_job_exit (job);
    zjob_job_destroy (&job);
    return rc;
}

static int
s_cmd_watch (s_cli_t *cli, int argc, char *argv [])
{
    const char *id = NULL;
    int64_t timeout;
    int rc = s_parse_wait (cli, argc, argv, &id, &timeout);
    if (rc >= 0)
        return rc;
    zjob_error_t err;
    zjob_events_t *events = zjob_events_new (cli->events, &err);
    if (!events) {
        s_error (cli, "cannot use events endpoint '%s': %s (give tcp://HOST:PORT with "
                 "--events or ZJOB_EVENTS)", cli->events, err.text);
        return ZJOB_EXIT_USAGE;
    }
    //  Subscribed before the job is read, so no change falls in between
    //  (one that comes before the broker sees the subscription is found
    //  by the polls)
    if (zjob_events_subscribe (events, NULL, NULL, id, &err) == 0) {
        s_watch_t watch = { .status = -1 };
        rc = s_watch_loop (cli, events, id, timeout, &watch);
        s_watch_end_bar (&watch);
        if (rc == ZJOB_EXIT_INTERRUPTED)
            s_error (cli, "interrupted");
    }
    else
        rc = s_fail (cli, &err);
    zjob_events_destroy (&events);
    return rc;
}


//  --------------------------------------------------------------------------
//  cleanup, stats, workers: the broker as a whole

//  Parse a command without arguments or options of its own. Returns -1
//  to go on, or the exit code to end with.
static int
s_parse_plain (s_cli_t *cli, int argc, char *argv [])
{
    static const struct option options [] = { S_COMMON_OPTIONS };
    int opt;
    s_getopt_reset ();
    while ((opt = s_getopt (cli, argc, argv, "", options)) != -1)
        return s_getopt_end (cli, opt);
    if (optind < argc)
        return s_usage_error (cli, "unexpected argument '%s'", argv [optind]);
    int rc = s_connect (cli);
    return rc ? rc : -1;
}

static int
s_cmd_cleanup (s_cli_t *cli, int argc, char *argv [])
{
    static const struct option options [] = {
        { "older-than", required_argument, NULL, OPT_OLDER_THAN },
        S_COMMON_OPTIONS
    };
    int64_t retention = -1;
    int opt;
    s_getopt_reset ();
    while ((opt = s_getopt (cli, argc, argv, "", options)) != -1) {
        if (opt != OPT_OLDER_THAN)
            return s_getopt_end (cli, opt);
        retention = s_parse_duration (optarg);
        if (retention < 0)
            return s_usage_error (cli, "--older-than: '%s' is not a duration (1h, 7d...)",
                                  optarg);
    }
    if (optind < argc)
        return s_usage_error (cli, "unexpected argument '%s'", argv [optind]);
    int rc = s_connect (cli);
    if (rc)
        return rc;
    zjob_error_t err;
    int deleted = zjob_client_cleanup (cli->client, retention, &err);
    if (deleted < 0)
        return s_fail (cli, &err);
    if (cli->json) {
        json_t *object = json_pack ("{s:i}", "deleted", deleted);
        s_print_json (object, false);
        json_decref (object);
    }
    else {
        printf ("deleted %d finished job%s\n", deleted, deleted == 1 ? "" : "s");
        fflush (stdout);
    }
    return ZJOB_EXIT_OK;
}

//  A count from a JSON object, as text
static const char *
s_count (json_t *object, const char *key, char *buf, size_t size)
{
    snprintf (buf, size, "%" JSON_INTEGER_FORMAT,
              json_integer_value (json_object_get (object, key)));
    return buf;
}

static void
s_print_stats (json_t *stats)
{
    char buf [64], buf2 [64], buf3 [64], buf4 [64];
    printf ("%-10s %s stored\n", "jobs", s_count (stats, "jobs", buf, sizeof buf));
    printf ("%-10s %s ready, %s held by workers\n", "queue",
            s_count (stats, "queued", buf, sizeof buf),
            s_count (stats, "active", buf2, sizeof buf2));
    printf ("%-10s %s connected, %s of %s slots busy\n", "workers",
            s_count (stats, "workers", buf, sizeof buf), s_count (stats, "busy", buf2, sizeof buf2),
            s_count (stats, "slots", buf3, sizeof buf3));
    json_t *rates = json_object_get (stats, "rates");
    printf ("%-10s %.1f submitted/s, %.1f completed/s, %.1f failed/s (over the last %s)\n",
            "rates", json_number_value (json_object_get (rates, "submitted")),
            json_number_value (json_object_get (rates, "completed")),
            json_number_value (json_object_get (rates, "failed")),
            s_duration (json_integer_value (json_object_get (stats, "rate_window_ms")),
                        buf4, sizeof buf4));
    printf ("%-10s %s\n", "uptime",
            s_duration (json_integer_value (json_object_get (stats, "uptime_ms")), buf,
                        sizeof buf));

    //  Jobs by status, all of them and per workflow
    const char *header [ZJOB_STATUS_COUNT + 2] = { "WORKFLOW" };
    char names [ZJOB_STATUS_COUNT][16];
    for (int status = 0; status < ZJOB_STATUS_COUNT; status++) {
        const char *name = zjob_status_name ((zjob_status_t) status);
        size_t index = 0;
        for (; name [index] && index < 15; index++)
            names [status][index] = (char) toupper ((unsigned char) name [index]);
        names [status][index] = '\0';
        header [status + 1] = names [status];
    }
    header [ZJOB_STATUS_COUNT + 1] = "TOTAL";
    s_table_t *table = s_table_new (ZJOB_STATUS_COUNT + 2, header);
    json_t *by_workflow = json_object_get (stats, "by_workflow");
    const char *workflow = "(all)";
    json_t *counts = json_object_get (stats, "by_status");
    void *iter = json_object_iter (by_workflow);
    while (counts) {
        char cells [ZJOB_STATUS_COUNT + 1][24];
        const char *row [ZJOB_STATUS_COUNT + 2] = { workflow };
        json_int_t total = 0;
        for (int status = 0; status < ZJOB_STATUS_COUNT; status++) {
            json_int_t count = json_integer_value (json_object_get (counts,
                                   zjob_status_name ((zjob_status_t) status)));
            total += count;
            snprintf (cells [status], sizeof cells [status], "%" JSON_INTEGER_FORMAT, count);
            row [status + 1] = cells [status];
        }
        snprintf (cells [ZJOB_STATUS_COUNT], sizeof cells [0], "%" JSON_INTEGER_FORMAT, total);
        row [ZJOB_STATUS_COUNT + 1] = cells [ZJOB_STATUS_COUNT];
        s_table_add (table, row);
        if (!iter)
            break;
        workflow = json_object_iter_key (iter);
        counts = json_object_iter_value (iter);
        iter = json_object_iter_next (by_workflow, iter);
    }
    printf ("\n");
    s_table_print (table, "");
    s_table_destroy (&table);

    json_t *store = json_object_get (stats, "store");
    if (json_object_size (store)) {
        printf ("\nstore\n");
        const char *key;
        json_t *value;
        json_object_foreach (store, key, value) {
            char *text = json_is_string (value) ? NULL : zjob_json_dumps (value, 0);
            printf ("  %-24s %s\n", key, text ? text : json_string_value (value));
            free (text);
        }
    }
    fflush (stdout);
}

static int
s_cmd_stats (s_cli_t *cli, int argc, char *argv [])
{
    int rc = s_parse_plain (cli, argc, argv);
    if (rc >= 0)
        return rc;
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_stats (cli->client, &err);
    if (!reply)
        return s_fail (cli, &err);
    json_t *stats = zjob_msgpack_object_to_json (zjob_msg_body (zjob_reply_msg (reply)));
    if (cli->json)
        s_print_json (stats, false);
    else
        s_print_stats (stats);
    json_decref (stats);
    zjob_reply_destroy (&reply);
    return ZJOB_EXIT_OK;
}

static void
s_print_workers (json_t *workers)
{
    static const char *header [] = {
        "WORKER", "NAME", "WORKFLOWS", "SLOTS", "BUSY", "CREDIT", "CONNECTED", "LAST SEEN"
    };
    s_table_t *table = s_table_new (8, header);
    size_t index;
    json_t *worker;
    json_array_foreach (workers, index, worker) {
        char workflows [256] = "";
        size_t at;
        json_t *workflow;
        json_array_foreach (json_object_get (worker, "workflows"), at, workflow) {
            size_t used = strlen (workflows);
            snprintf (workflows + used, sizeof workflows - used, "%s%s", at ? "," : "",
                      json_string_value (workflow));
        }
        char slots [24], busy [24], credit [24], connected [32], seen [32];
        const char *cells [] = {
            json_string_value (json_object_get (worker, "worker_id")),
            json_string_value (json_object_get (worker, "name")), workflows,
            s_count (worker, "slots", slots, sizeof slots),
            s_count (worker, "busy", busy, sizeof busy),
            s_count (worker, "credit", credit, sizeof credit),
            s_ago (json_integer_value (json_object_get (worker, "connected_at")), connected,
                   sizeof connected),
            s_ago (json_integer_value (json_object_get (worker, "last_seen")), seen,
                   sizeof seen)
        };
        s_table_add (table, cells);
    }
    size_t count = json_array_size (workers);
    if (count)
        s_table_print (table, "");
    printf ("%zu worker%s connected\n", count, count == 1 ? "" : "s");
    fflush (stdout);
    s_table_destroy (&table);
}

static int
s_cmd_workers (s_cli_t *cli, int argc, char *argv [])
{
    int rc = s_parse_plain (cli, argc, argv);
    if (rc >= 0)
        return rc;
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_workers (cli->client, &err);
    if (!reply)
        return s_fail (cli, &err);
    json_t *body = zjob_msgpack_object_to_json (zjob_msg_body (zjob_reply_msg (reply)));
    if (cli->json)
        s_print_json (body, false);
    else
        s_print_workers (json_object_get (body, "workers"));
    json_decref (body);
    zjob_reply_destroy (&reply);
    return ZJOB_EXIT_OK;
}


//  --------------------------------------------------------------------------
//  help, the command table, main

#define S_EXIT_HELP \
    "exit codes:\n" \
    "  0    done; for wait, watch and result: the job completed\n" \
    "  1    usage: an unknown command or option, a missing argument\n" \
    "  2    bad input: invalid JSON, an invalid field or value\n" \
    "  3    not found: no job with that id\n" \
    "  4    conflict: the job's status does not allow the operation, or it has\n" \
    "       no results yet\n" \
    "  5    unavailable: no broker answered in time, or it cannot take the\n" \
    "       request now (shutting down, a limit reached)\n" \
    "  6    the job finished without completing: failed or cancelled\n" \
    "  7    timed out: the job was not finished within --timeout\n" \
    "  8    internal: the broker failed or answered nonsense\n" \
    "  130  interrupted\n" \
    "A bulk operation that failed for some jobs exits with its first failure's code.\n"

#define S_STATUS_HELP \
    "job statuses and what each operation does:\n" \
    "  start   created, paused -> queued\n" \
    "  pause   created, queued, running -> paused (a running job's worker stops it)\n" \
    "  resume  paused -> queued, or running if a worker still holds it\n" \
    "  cancel  created, queued, running, paused -> cancelled\n" \
    "  delete  any job (a running or paused one is cancelled first)\n" \
    "  completed, failed and cancelled jobs are finished: nothing changes them.\n"

#define S_APPLY_HELP(verb) \
    "With one ID, " verb " that job; with several, each of them; with a filter,\n" \
    "every job that matches it and whose status allows it. A filter needs at\n" \
    "least one criterion: nothing applies to every job unless asked for.\n\n" \
    "filter:\n" S_FILTER_HELP \
    "      --dry-run              show the jobs the filter matches, change nothing\n" \
    S_TIME_HELP S_COMMON_HELP

static int s_cmd_help (s_cli_t *cli, int argc, char *argv []);

static const s_command_t s_commands [] = {
    { "submit", s_cmd_submit,
      "WORKFLOW [--input JSON] [options]\n       zjob submit [WORKFLOW] --batch FILE [options]",
      "create a job, or many from JSON lines",
      "Create a job of WORKFLOW and queue it. Prints the job id, or with --json the\n"
      "job as a JSON object.\n\n"
      "  -i, --input JSON           the inputs, a JSON object: inline, @FILE, or - for\n"
      "                             stdin (default {})\n"
      "  -p, --priority P           low (default), medium, high or critical\n"
      "  -u, --user USER            who the job belongs to\n"
      "  -t, --tag TAG              a tag; repeat for more (at most 32)\n"
      "  -m, --metadata JSON        a JSON object kept with the job (inline, @FILE, -)\n"
      "  -k, --idempotency-key KEY  if a stored job has KEY, return it instead of\n"
      "                             creating another\n"
      "      --max-attempts N       times the job may be handed to a worker\n"
      "      --run-at TIME          not before TIME (ISO-8601 UTC: 2024-05-01T12:00:00Z)\n"
      "      --delay DURATION       not before DURATION from now (30s, 5m, 2h)\n"
      "      --no-start             leave the job created; 'zjob start ID' queues it\n"
      "      --batch FILE           one job per line of FILE (- for stdin), each a JSON\n"
      "                             object with the keys workflow_id, inputs, priority,\n"
      "                             user_id, tags, metadata, idempotency_key,\n"
      "                             max_attempts, run_at (ms or ISO-8601); WORKFLOW,\n"
      "                             --priority, --user, --tag and --max-attempts are\n"
      "                             the defaults. Every line is checked before any job\n"
      "                             is sent. Prints the ids, one a line, in order.\n"
      S_COMMON_HELP },
    { "get", s_cmd_get, "ID [--json]", "show a job",
      "Show everything about a job: status, progress, times, inputs, outputs, error.\n"
      "Exits 3 if there is no such job.\n"
      S_COMMON_HELP },
    { "list", s_cmd_list, "[filter] [--sort KEY] [--desc] [--limit N] [--offset N] [--all]",
      "list jobs, filtered, sorted and paged",
      "List the jobs that match every criterion given, oldest first.\n\n"
      S_FILTER_HELP
      "      --sort KEY             created (default), updated, priority or status\n"
      "      --asc, --desc          order (default ascending)\n"
      "  -n, --limit N              jobs per page (default 100, at most 10000)\n"
      "      --offset N             jobs to skip first\n"
      "      --all                  every page\n"
      S_TIME_HELP
      "With --json: {\"total\", \"offset\", \"count\", \"jobs\": [job...]}.\n"
      S_COMMON_HELP },
    { "delete", s_cmd_delete, "ID... | filter [--dry-run]", "delete jobs",
      S_APPLY_HELP ("delete") },
    { "start", s_cmd_start, "ID... | filter [--dry-run]", "queue created or paused jobs",
      S_APPLY_HELP ("start") },
    { "pause", s_cmd_pause, "ID... | filter [--dry-run]", "pause jobs",
      S_APPLY_HELP ("pause") },
    { "resume", s_cmd_resume, "ID... | filter [--dry-run]", "resume paused jobs",
      S_APPLY_HELP ("resume") },
    { "cancel", s_cmd_cancel, "ID... | filter [--dry-run]", "cancel jobs",
      S_APPLY_HELP ("cancel") },
    { "status", s_cmd_status, "ID [--json]", "a job's status and progress",
      "Print a job's status, progress and progress message.\n"
      S_COMMON_HELP },
    { "result", s_cmd_result, "ID [--json]", "a finished job's outputs or error",
      "Print a completed job's outputs as JSON. A failed job's error goes to stderr\n"
      "and the exit code is 6; a job not finished yet exits 4.\n"
      S_COMMON_HELP },
    { "wait", s_cmd_wait, "ID [--timeout DURATION] [--json]", "wait until a job is finished",
      "Wait until the job is completed, failed or cancelled, then print how it\n"
      "ended (with --json: the job, with its status and outputs). Exits 0 if it\n"
      "completed, 6 if it failed or was cancelled, 7 if it is still not finished\n"
      "after --timeout (--json then prints the job as it is).\n\n"
      "      --timeout DURATION     wait at most this long: seconds, or 500ms, 5m...\n"
      "                             (default: as long as it takes)\n"
      S_COMMON_HELP },
    { "watch", s_cmd_watch, "ID [--timeout DURATION] [--json]", "follow a job's progress",
      "Follow a job until it is finished: a progress bar on a terminal, else one\n"
      "line per event (with --json one JSON object per line). Exit codes as wait's.\n\n"
      "      --timeout DURATION     watch at most this long\n"
      "      --events ENDPOINT      the broker's events (default $ZJOB_EVENTS, else\n"
      "                             " S_EVENTS_DEFAULT ")\n"
      S_COMMON_HELP },
    { "cleanup", s_cmd_cleanup, "[--older-than DURATION]", "delete old finished jobs",
      "Delete the completed, failed and cancelled jobs that finished more than\n"
      "DURATION ago (default: the broker's retention, 7 days unless configured).\n\n"
      "      --older-than DURATION  1h, 7d, 0 for every finished job\n"
      S_COMMON_HELP },
    { "stats", s_cmd_stats, "[--json]", "the broker's counts, workers and rates",
      "Show the jobs by status and workflow, the queue, the workers' slots, the\n"
      "rates of the last minute and the store's figures.\n"
      S_COMMON_HELP },
    { "workers", s_cmd_workers, "[--json]", "the connected workers",
      "List the connected workers: their workflows, slots and jobs.\n"
      S_COMMON_HELP },
    { "help", s_cmd_help, "[COMMAND]", "this text, or a command's",
      "Without COMMAND, the commands, options and exit codes; with it, that\n"
      "command's options.\n" },
};
#define S_COMMAND_COUNT (sizeof s_commands / sizeof s_commands [0])

static const s_command_t *
s_command_find (const char *name)
{
    for (size_t index = 0; name && index < S_COMMAND_COUNT; index++)
        if (streq (s_commands [index].name, name))
            return &s_commands [index];
    return NULL;
}

static void
s_print_help (FILE *out)
{
    fprintf (out,
        "usage: zjob [--broker ENDPOINT] [--json] COMMAND [ARGS] [OPTIONS]\n\n"
        "The command line of the zjob broker: submit jobs, follow them, manage them.\n\n"
        "commands:\n");
    for (size_t index = 0; index < S_COMMAND_COUNT; index++)
        fprintf (out, "  %-9s %s\n", s_commands [index].name, s_commands [index].summary);
    fprintf (out,
        "\n'zjob help COMMAND' or 'zjob COMMAND --help' shows a command's options.\n\n"
        "options, before or after the command:\n"
        "  --broker ENDPOINT        the broker's client endpoint\n"
        "                           (default $ZJOB_BROKER, else " S_BROKER_DEFAULT ")\n"
        "  --events ENDPOINT        its events endpoint, for watch\n"
        "                           (default $ZJOB_EVENTS, else " S_EVENTS_DEFAULT ")\n"
        "  --connect-timeout D      how long to wait for the broker, and for each\n"
        "                           answer (default 3s; before the command also\n"
        "                           --timeout)\n"
        "  --json                   print JSON for programs\n\n"
        "Durations are seconds (30, 1.5) or have a unit: 500ms, 30s, 5m, 2h, 7d.\n\n");
    fputs (S_EXIT_HELP, out);
    fputs ("\n", out);
    fputs (S_STATUS_HELP, out);
}

static int
s_cmd_help (s_cli_t *cli, int argc, char *argv [])
{
    if (argc > 2)
        return s_usage_error (cli, "one command at a time");
    if (argc == 2 && !streq (argv [1], "--help") && !streq (argv [1], "-h")) {
        const s_command_t *command = s_command_find (argv [1]);
        if (!command)
            return s_usage_error (cli, "no command '%s'", argv [1]);
        s_print_command_help (command, stdout);
    }
    else
        s_print_help (stdout);
    return ZJOB_EXIT_OK;
}

int
main (int argc, char *argv [])
{
    s_cli_t cli = { .timeout_ms = S_CONNECT_TIMEOUT };
    cli.broker = getenv ("ZJOB_BROKER");
    if (!cli.broker || !*cli.broker)
        cli.broker = S_BROKER_DEFAULT;
    cli.events = getenv ("ZJOB_EVENTS");
    if (!cli.events || !*cli.events)
        cli.events = S_EVENTS_DEFAULT;
    cli.tty = isatty (STDOUT_FILENO);

    //  Options before the command; '+' stops at the command's name
    static const struct option options [] = {
        { "timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
        S_COMMON_OPTIONS
    };
    optind = 0;
    opterr = 0;
    int opt;
    while ((opt = s_getopt (&cli, argc, argv, "+", options)) != -1) {
        if (opt == OPT_HELP_REQUESTED) {
            s_print_help (stdout);
            return ZJOB_EXIT_OK;
        }
        return ZJOB_EXIT_USAGE;
    }
    if (optind >= argc) {
        fprintf (stderr, "usage: zjob [OPTIONS] COMMAND [ARGS]; 'zjob help' lists the "
                         "commands\n");
        return ZJOB_EXIT_USAGE;
    }
    const s_command_t *command = s_command_find (argv [optind]);
    if (!command)
        return s_usage_error (&cli, "unknown command '%s'", argv [optind]);

    //  CZMQ's signal handler turns Ctrl-C into zsys_interrupted, which
    //  wait and watch check; its log goes to stderr, never into output
    zsys_init ();
    zsys_set_logstream (stderr);
    cli.command = command->name;
    int rc = command->run (&cli, argc - optind, argv + optind);
    zjob_client_destroy (&cli.client);
    return rc;
}
