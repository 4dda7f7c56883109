/*  =========================================================================
    zjob_log - the programs' log lines: levels, ISO 8601 times, text or JSON

    Every log line of zjobd, zjob-worker and the libraries they run goes
    through zjob_log, one line per call, written with one fputs so lines
    from several threads never interleave:

        text    2026-12-06T03:47:38.123+00:00 info zjobd[4242]: message
        json    {"time":"2026-12-06T03:47:38.123+00:00","level":"info",
                 "program":"zjobd","pid":4242,"msg":"message"}

    The time is the local time with its offset from UTC (ISO 8601, to the
    millisecond). JSON lines are built by jansson (escaping, UTF-8), one
    object per line, for log shippers (--log-format json). The level
    filter is the caller's: each module keeps its own configured level
    and tests it before it formats anything (ZJOB_LOG_IF), so a debug
    line costs a comparison when debug is off. Process-wide settings
    (stream, format, program name) are set once at start, before any
    thread logs.
    ========================================================================= */

#ifndef ZJOB_LOG_H_INCLUDED
#define ZJOB_LOG_H_INCLUDED

#include <stdio.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Log levels, in increasing verbosity
typedef enum {
    ZJOB_LOG_ERROR = 0,
    ZJOB_LOG_WARNING,
    ZJOB_LOG_INFO,
    ZJOB_LOG_DEBUG
} zjob_log_level_t;

typedef enum {
    ZJOB_LOG_TEXT = 0,
    ZJOB_LOG_JSON
} zjob_log_format_t;

//  Log at level when log_level (the configured zjob_log_level_t) is at
//  least level; the arguments are not evaluated otherwise
#define ZJOB_LOG_IF(log_level, level, ...)   \
    do {                                     \
        if ((log_level) >= (level))          \
            zjob_log ((level), __VA_ARGS__); \
    } while (0)

//  Write one line at level (its name is written; nothing is filtered)
void
zjob_log (int level, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

//  The same, with a va_list
void
zjob_log_v (int level, const char *format, va_list args) __attribute__ ((format (printf, 2, 0)));

#define zjob_log_error(...) zjob_log (ZJOB_LOG_ERROR, __VA_ARGS__)
#define zjob_log_warning(...) zjob_log (ZJOB_LOG_WARNING, __VA_ARGS__)
#define zjob_log_info(...) zjob_log (ZJOB_LOG_INFO, __VA_ARGS__)
#define zjob_log_debug(...) zjob_log (ZJOB_LOG_DEBUG, __VA_ARGS__)

//  Where lines go: stream (borrowed; NULL: stderr, the default)
void
zjob_log_set_stream (FILE *stream);

//  Text (the default) or JSON lines
void
zjob_log_set_format (zjob_log_format_t format);

//  Parse "text" or "json" into *format; false if it is neither
bool
zjob_log_parse_format (const char *name, zjob_log_format_t *format);

//  The program's name on each line ("zjobd", "zjob-worker"); default "zjob"
void
zjob_log_set_program (const char *program);

//  The level of "error", "warning", "info" or "debug"; -1 for any other
//  name or NULL
int
zjob_log_level_parse (const char *name);

//  The level's name: "error", "warning", "info", "debug"; "unknown"
const char *
zjob_log_level_name (int level);

//  Write now's local time, ISO 8601 with milliseconds and the offset from
//  UTC ("2026-12-06T03:47:38.123+00:00"), into buffer (at least
//  ZJOB_LOG_TIME_MAX bytes)
#define ZJOB_LOG_TIME_MAX 40
void
zjob_log_time (char *buffer, size_t size);

#ifdef __cplusplus
}
#endif

#endif
