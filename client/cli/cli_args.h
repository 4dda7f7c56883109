/*  =========================================================================
    cli_args - the values the zjob CLI reads from its arguments

    Each parser takes the text a user typed and returns the value, or a
    sentinel (-1, NULL) that the command turns into exit 2 with a message
    naming the option; none prints or exits, so they are unit-tested
    directly (tests/test_zjob_cli_parse.c). The readers of JSON arguments
    (--input, --metadata: inline, @FILE or - for stdin) and of --batch
    files (a JSON object a line) report their errors themselves, with the
    file and line, since only they know them.
    ========================================================================= */

#ifndef ZJOB_CLI_ARGS_H_INCLUDED
#define ZJOB_CLI_ARGS_H_INCLUDED

#include "cli_core.h"

#define ZJOB_CLI_TEXT_MAX ZJOB_MSG_MAX  //  bytes of JSON read for one argument

//  A duration: a number of seconds ("30", "1.5") or a number with a unit
//  (ms, s, m, h, d: "500ms", "5m"). Returns msecs, or -1.
int64_t
zjob_cli_parse_duration (const char *text);

//  A time: ISO-8601 in UTC ("2024-05-01", "2024-05-01T12:00",
//  "2024-05-01T12:00:00.250Z"), or a duration from now, forward when
//  sign is 1 and back ("2h" ago) when it is -1. Returns ms UTC, or -1.
int64_t
zjob_cli_parse_time (const char *text, int sign);

//  An unsigned decimal number within 0..max. Returns it, or -1.
int64_t
zjob_cli_parse_count (const char *text, int64_t max);

//  A priority name (low, medium, high, critical). Returns the
//  zjob_priority_t, or -1.
int
zjob_cli_parse_priority (const char *text);

//  A list of status names "queued,running" into a mask (bit 1 << status).
//  Two names that are not statuses narrow `queued`: "scheduled" (waiting
//  for its run_at) sets ZJOB_CLI_SCHEDULED, "ready" (due, waiting for a
//  worker) ZJOB_CLI_READY. Returns the mask, or -1 with the first unknown
//  name copied into bad (bad_size bytes, may be NULL).
#define ZJOB_CLI_SCHEDULED (INT64_C (1) << 32)
#define ZJOB_CLI_READY (INT64_C (1) << 33)
int64_t
zjob_cli_parse_statuses (const char *text, char *bad, size_t bad_size);

//  All of file, at most ZJOB_CLI_TEXT_MAX bytes, NUL-terminated (the
//  caller frees it); NULL if it cannot be read (errno) or is larger
//  (errno EFBIG).
char *
zjob_cli_slurp (FILE *file);

//  Open a file argument: "-" is stdin (once per command). Returns the
//  file, or NULL after saying why. what names the option in messages.
FILE *
zjob_cli_open_arg (zjob_cli_t *cli, const char *what, const char *path);

//  Convert a JSON object argument (inline text, @FILE, or - for stdin) to
//  msgpack (*data_p, the caller frees it). Returns 0, or an exit code
//  after saying what is wrong.
int
zjob_cli_json_arg (zjob_cli_t *cli, const char *what, const char *arg,
                   uint8_t **data_p, size_t *size_p);

//  Build one JSON object from count arguments, in order, and encode it to
//  msgpack (*data_p, the caller frees it; NULL and 0 for no arguments):
//  each is a JSON object (inline, @FILE, or - for stdin), whose keys are
//  added, or KEY=VALUE, which adds KEY with VALUE taken as JSON when it
//  is a JSON value (5, true, null, "x", [1, 2], {"a": 1}) and as a string
//  otherwise (x, 01234). A later key replaces an earlier one. One JSON
//  argument alone is encoded as zjob_cli_json_arg does. Returns 0, or an
//  exit code after saying what is wrong, naming what (--input...).
int
zjob_cli_object_args (zjob_cli_t *cli, const char *what, const char *const *args, size_t count,
                      uint8_t **data_p, size_t *size_p);

//  The defaults a --batch line's keys override (strings borrowed)
typedef struct {
    const char *workflow_id;
    int priority;  //  -1 if not given
    const char *user_id;
    const char *const *tags;
    size_t tag_count;
    int64_t max_attempts;  //  -1 if not given; 0 = no limit
    zjob_spec_t policy;    //  The retry policy and timeouts given (submit's
                           //  --backoff...), as zjob_spec_t fields: 0 = not given
} zjob_cli_defaults_t;

//  One line of a batch: its spec and what the spec points into
typedef struct {
    zjob_spec_t spec;
    json_t *value;          //  The line's object; holds the strings
    uint8_t *inputs;        //  Encoded inputs, or NULL
    uint8_t *metadata;      //  Encoded metadata, or NULL
    const char **tags;      //  Borrowed from value, or NULL
    const char **no_retry;  //  Borrowed from value, or NULL
    size_t line;            //  Line number in the file, from 1
} zjob_cli_line_t;

//  cli_policy.c: the retry policy and timeouts of submit

//  A timeout or a delay that may be none: "0" or "none" is
//  ZJOB_TIMEOUT_NONE, else a duration (zjob_cli_parse_duration) of 1 ms
//  to 2^32-2 ms. Returns it, or -1.
int64_t
zjob_cli_parse_timeout (const char *text);

//  A backoff factor: a number from 1 to 100. Returns it, or -1.
double
zjob_cli_parse_factor (const char *text);

//  Error kinds "a,b": 1 to ZJOB_NO_RETRY_MAX names (zjob_name_valid).
//  Returns a NULL-terminated array of them (one block: free it), *count_p
//  of them, or NULL if the list is bad or memory runs out.
char **
zjob_cli_parse_kinds (const char *text, size_t *count_p);

//  Take one of the job settings submit and template set share (-p,
//  --priority and --max-attempts into defaults; --backoff, --backoff-base,
//  --backoff-factor, --backoff-max, --jitter, --no-retry, --job-timeout,
//  --heartbeat-timeout into defaults->policy); *kinds_p keeps --no-retry's
//  list (free it). Returns 1 if opt was one, 0 if not, or an exit code
//  (> 1) after a message.
int
zjob_cli_policy_option (zjob_cli_t *cli, int opt, const char *arg,
                        zjob_cli_defaults_t *defaults, char ***kinds_p);

//  Copy max_attempts (0 given: ZJOB_ATTEMPTS_UNLIMITED) and the policy of
//  defaults into spec.
void
zjob_cli_defaults_apply (const zjob_cli_defaults_t *defaults, zjob_spec_t *spec);

//  A --batch line's policy key (max_attempts, backoff, backoff_base_ms,
//  backoff_factor, backoff_max_ms, jitter, no_retry, timeout_ms,
//  heartbeat_timeout_ms; a 0 where the wire says "none" is taken so)
//  into line->spec. Returns 1 if key was one, 0 if not, -1 with err
//  filled (naming the key).
int
zjob_cli_line_policy (zjob_cli_line_t *line, const char *key, json_t *value,
                      zjob_error_t *err);

//  Fill line->spec from the JSON object line->value over defaults, and
//  check it as the broker would. Returns 0, or -1 with err filled (naming
//  the key).
int
zjob_cli_line_spec (zjob_cli_line_t *line, const zjob_cli_defaults_t *defaults,
                    zjob_error_t *err);

//  Read a batch from file (named name in messages): one JSON object a
//  line, blank lines skipped. Returns the lines (*count_p of them; free
//  with zjob_cli_lines_free), or NULL with err filled, naming the line;
//  nothing is returned when any line is bad.
zjob_cli_line_t *
zjob_cli_batch_parse (FILE *file, const char *name, const zjob_cli_defaults_t *defaults,
                      size_t *count_p, zjob_error_t *err);

//  Free count lines of a batch
void
zjob_cli_lines_free (zjob_cli_line_t *lines, size_t count);

//  A growing array of borrowed strings (tags)
typedef struct {
    const char **items;
    size_t count;
} zjob_cli_strings_t;

//  Append item (borrowed). Returns 0, or -1 out of memory.
int
zjob_cli_strings_add (zjob_cli_strings_t *strings, const char *item);

#endif
