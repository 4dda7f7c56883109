/*  =========================================================================
    zjob_cron - cron expressions and their next fire time in a time zone

    Debian packages no C cron library, so this is a small parser of our
    own: the Vixie cron syntax that users know from crontab(5), plus a
    leading seconds field. An expression is 5 fields (minute hour
    day-of-month month day-of-week) or 6 (second first); each field is a
    comma list of `*`, `N`, `A-B`, each optionally `/STEP` (`N/STEP` is
    `N-max/STEP`); months and days may be named (jan..dec, sun..sat, any
    case); day-of-week 7 is Sunday. As in Vixie cron, when both
    day-of-month and day-of-week are restricted (neither starts with `*`)
    a day matches if either does; otherwise both must. Macros: @yearly
    (@annually), @monthly, @weekly, @daily (@midnight), @hourly, and
    `@every DURATION` ("5s", "1m30s", "2h"; at least 1s, at most 366d),
    whose slots are the multiples of the duration since the epoch, so that
    a slot is a fact of the clock and not of when the broker last looked.

    A parsed expression is a set of bitmaps. The next fire time is found
    on the local wall clock, field by field: the next matching month, then
    day, hour, minute and second, each jump skipping what cannot match, so
    "0 0 29 2 *" costs a few dozen steps, never a scan of minutes. The
    wall time found is turned into an instant by ICU (ucal_*, libicu-dev:
    Debian's well-kept time-zone library, with the tz database it
    carries), which is the only part that knows the zone's rules. DST:
    a wall time that does not exist (the spring-forward gap) fires once,
    at the first instant after the gap; a wall time that occurs twice
    (fall back) fires once, at its first occurrence. In UTC no ICU call
    is made.
    ========================================================================= */

#ifndef ZJOB_CRON_H_INCLUDED
#define ZJOB_CRON_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zjob_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_CRON_EXPR_MAX 256                         //  bytes of an expression, NUL excluded
#define ZJOB_CRON_TZ_MAX 64                            //  bytes of a zone id, NUL excluded
#define ZJOB_CRON_EVERY_MAX_MS (366LL * 86400 * 1000)  //  @every at most

typedef struct {
    uint64_t seconds;  //  Bit s for second s (0..59); bit 0 only for 5 fields
    uint64_t minutes;  //  Bit m, 0..59
    uint32_t hours;    //  Bit h, 0..23
    uint32_t mdays;    //  Bit d, 1..31
    uint16_t months;   //  Bit m, 1..12
    uint8_t wdays;     //  Bit d, 0..6 (0 Sunday)
    bool mday_star;    //  Day-of-month field starts with '*' (Vixie rule)
    bool wday_star;    //  Day-of-week field starts with '*'
    int64_t every_ms;  //  > 0 for @every: the fields above are unused
} zjob_cron_t;

//  Parse expr into cron. Returns 0, or -1 with err (ZJOB_BAD_REQUEST)
//  naming the field and the problem ("cron: day-of-month: 32 is out of
//  range 1-31"). An expression that can never fire ("0 0 30 2 *") is
//  refused too.
int
zjob_cron_parse (zjob_cron_t *cron, const char *expr, zjob_error_t *err);

//  0 if tz is a zone ICU knows (an IANA id such as "Europe/Berlin", or
//  "UTC"); else -1 with err (ZJOB_BAD_REQUEST). NULL or "" is UTC.
int
zjob_cron_zone_check (const char *tz, zjob_error_t *err);

//  The first fire time of cron strictly after after_ms (ms UTC, >= 0),
//  in zone tz (NULL or "" for UTC), as ms UTC on a whole second. Returns
//  -1 with err if tz is unknown, or if there is none before year 9999.
int64_t
zjob_cron_next (const zjob_cron_t *cron, const char *tz, int64_t after_ms,
                zjob_error_t *err);

//  True if the wall-clock time (year, month 1..12, day 1..31, hour,
//  minute, second) matches cron's fields (not for @every). For tests and
//  tools: the brute-force reference the tests compare next() with.
bool
zjob_cron_matches (const zjob_cron_t *cron, int year, int month, int day,
                   int hour, int minute, int second);

#ifdef __cplusplus
}
#endif

#endif
