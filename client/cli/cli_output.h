/*  =========================================================================
    cli_output - how the zjob CLI shows things: text for people, JSON for
    programs

    For people: durations as "1.2s" or "3m 12s", times as ISO-8601 with
    "(3m ago)", jobs one field a line or as an aligned table, and watch's
    progress bar fitted to the terminal. For programs (--json): one JSON
    document on stdout, built with jansson, never by hand. The formatters
    write into the caller's buffer and return it, so they are unit-tested
    directly (tests/test_zjob_cli_parse.c).
    ========================================================================= */

#ifndef ZJOB_CLI_OUTPUT_H_INCLUDED
#define ZJOB_CLI_OUTPUT_H_INCLUDED

#include "cli_core.h"

#define ZJOB_CLI_BAR_MAX 30        //  characters of watch's bar, at most
#define ZJOB_CLI_BAR_MIN 5         //  characters of watch's bar, below which none
#define ZJOB_CLI_WIDTH_DEFAULT 80  //  columns when the terminal does not say

//  "850ms", "1.2s", "3m 12s", "2h 5m", "3d 4h" into buf. Returns buf.
const char *
zjob_cli_format_duration (int64_t ms, char *buf, size_t size);

//  How far ms UTC is from now_ms: "3s ago", "2h ago", "in 5m"; "-" for
//  0 (never). Returns buf (or the constant "-").
const char *
zjob_cli_format_ago (int64_t ms, int64_t now_ms, char *buf, size_t size);

//  "2024-01-31T12:34:56.789Z (3m ago)" for ms UTC; "-" for 0. Returns buf.
const char *
zjob_cli_format_when (int64_t ms, char *buf, size_t size);

//  The columns of the terminal on fd: TIOCGWINSZ, else $COLUMNS, else
//  ZJOB_CLI_WIDTH_DEFAULT.
int
zjob_cli_terminal_width (int fd);

//  watch's progress line for a terminal of width columns, at most width - 1
//  characters so that it never wraps: "ID  STATUS [####....]  50%  MESSAGE".
//  The id goes first when the width is short, then the bar shrinks, and
//  the message gets what is left (cut at a character, control characters
//  shown as spaces). Returns the length written into buf (size bytes).
size_t
zjob_cli_progress_line (char *buf, size_t size, int width, const char *id,
                        const char *status, int percent, const char *message);

//  Print value as JSON and a newline: compact (one line) or indented.
void
zjob_cli_print_json (const json_t *value, bool compact);

//  A copy of value with the keys of every object in sorted order, so that
//  output is stable (the caller decrefs it).
json_t *
zjob_cli_json_sorted (json_t *value);

//  The job for people, one field a line: with the attempts, the attempt
//  whose result ended it, its retry policy and timeouts, and its failed
//  attempts one a line (zjob_cli_print_policy, zjob_cli_print_errors)
void
zjob_cli_print_job (const zjob_job_t *job);

//  Parts of zjob_cli_print_job: the retry policy and timeouts (the lines
//  "backoff", "not retried", "timeouts", each when set), and the attempt
//  errors, one line each: number, time, worker, kind: message
void
zjob_cli_print_policy (const zjob_job_t *job);
void
zjob_cli_print_errors (const zjob_job_t *job);

//  A data field (inputs, outputs, metadata) as "LABEL  {json}"
void
zjob_cli_print_data (const char *label, const zjob_bytes_t *bytes);

//  Jobs as an aligned table, one a line
void
zjob_cli_print_jobs_table (zjob_job_t **jobs, size_t count);

//  A table of text cells printed with aligned columns
typedef struct _zjob_cli_table_t zjob_cli_table_t;

//  A table of columns (at most 16) with its header row. NULL out of memory.
zjob_cli_table_t *
zjob_cli_table_new (size_t columns, const char *const *header);

//  Add a row of the table's number of cells (NULL or "" cells print "-")
void
zjob_cli_table_add (zjob_cli_table_t *self, const char *const *cells);

//  Print the table to stdout, each line after indent
void
zjob_cli_table_print (zjob_cli_table_t *self, const char *indent);

void
zjob_cli_table_destroy (zjob_cli_table_t **self_p);

#endif
