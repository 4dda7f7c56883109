/*  =========================================================================
    test_zjob_cron - the cron parser and the next fire time

    Every syntax rule and every error, the Vixie day rule, macros and
    @every; next() in UTC, across leap days (and 2100, which is not one),
    and across both DST changes of Europe/Berlin and America/New_York
    (the gap fires once at its end, a repeated time once, the first).
    Then a property test: for random expressions and instants, next()
    equals a brute-force scan of minutes in UTC (bounded to 40 days: past
    that the scan only checks that next() is past it too).
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "zjob_cron.h"
#include "zjob_retry.h"
#include "zjob_util.h"

//  ms UTC of a UTC wall time
static int64_t
s_utc (int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = { 0 };
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t) timegm (&tm) * 1000;
}

static zjob_cron_t
s_parse (const char *expr)
{
    zjob_cron_t cron;
    zjob_error_t err;
    cr_assert_eq (zjob_cron_parse (&cron, expr, &err), 0, "%s: %s", expr, err.text);
    return cron;
}

static void
s_refused (const char *expr, const char *needle)
{
    zjob_cron_t cron;
    zjob_error_t err;
    zjob_error_clear (&err);
    cr_assert_eq (zjob_cron_parse (&cron, expr, &err), -1, "'%s' should be refused", expr);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, needle), "'%s': '%s' lacks '%s'", expr, err.text, needle);
}

static int64_t
s_next (const char *expr, const char *tz, int64_t after)
{
    zjob_cron_t cron = s_parse (expr);
    zjob_error_t err;
    int64_t next = zjob_cron_next (&cron, tz, after, &err);
    cr_assert (next > 0, "%s in %s: %s", expr, tz ? tz : "UTC", err.text);
    return next;
}

Test (cron, fields_lists_ranges_steps)
{
    zjob_cron_t cron = s_parse ("*/15 1,2,5-7 1-30/2 * *");
    cr_assert_eq (cron.seconds, 1ULL);
    cr_assert_eq (cron.minutes, (1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45));
    cr_assert_eq (cron.hours, (1u << 1) | (1u << 2) | (1u << 5) | (1u << 6) | (1u << 7));
    for (int d = 1; d <= 31; d++)
        cr_assert_eq ((cron.mdays >> d) & 1, (unsigned) (d <= 30 && d % 2 == 1), "day %d", d);
    cr_assert_eq (cron.months, 0x1FFE);
    cr_assert_eq (cron.wdays, 0x7F);
    cr_assert_not (cron.mday_star);
    cr_assert (cron.wday_star);
    //  N/STEP runs to the end of the field
    cron = s_parse ("5/20 * * * *");
    cr_assert_eq (cron.minutes, (1ULL << 5) | (1ULL << 25) | (1ULL << 45));
    //  Six fields: seconds first
    cron = s_parse ("*/20 0 12 * * *");
    cr_assert_eq (cron.seconds, (1ULL << 0) | (1ULL << 20) | (1ULL << 40));
    cr_assert_eq (cron.minutes, 1ULL);
    cr_assert_eq (cron.hours, 1u << 12);
    //  Spaces and tabs anywhere between fields
    cron = s_parse ("  0\t 0  1 1  *  ");
    cr_assert_eq (cron.months, 1u << 1);
}

Test (cron, names_and_sunday_seven)
{
    zjob_cron_t cron = s_parse ("0 0 * JAN-mar,Dec mon-FRI");
    cr_assert_eq (cron.months, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 12));
    cr_assert_eq (cron.wdays, 0x3E);
    cron = s_parse ("0 0 * * 7");
    cr_assert_eq (cron.wdays, 1u);
    cron = s_parse ("0 0 * * 5-7");
    cr_assert_eq (cron.wdays, (1u << 5) | (1u << 6) | 1u);
    cron = s_parse ("0 0 * * sun,sat");
    cr_assert_eq (cron.wdays, (1u << 6) | 1u);
    cron = s_parse ("0 0 * * */2");
    cr_assert_eq (cron.wdays, 1u | (1u << 2) | (1u << 4) | (1u << 6));
}

Test (cron, macros)
{
    struct {
        const char *macro, *fields;
    } cases [] = {
        { "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" }, { "@hourly", "0 * * * *" }, { "@DAILY", "0 0 * * *" }
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        zjob_cron_t a = s_parse (cases [i].macro);
        zjob_cron_t b = s_parse (cases [i].fields);
        cr_assert_eq (memcmp (&a, &b, sizeof (a)), 0, "%s", cases [i].macro);
    }
    zjob_cron_t cron = s_parse ("@every 5s");
    cr_assert_eq (cron.every_ms, 5000);
    cron = s_parse ("@every 1m30s");
    cr_assert_eq (cron.every_ms, 90000);
    cron = s_parse ("@every 1d2h");
    cr_assert_eq (cron.every_ms, 26LL * 3600 * 1000);
}

Test (cron, errors_name_the_field_and_the_problem)
{
    s_refused (NULL, "required");
    s_refused ("", "expected 5 fields");
    s_refused ("* * * *", "got 4");
    s_refused ("* * * * * * *", "got 7");
    s_refused ("60 * * * *", "minute: 60 is out of range 0-59");
    s_refused ("* 24 * * *", "hour: 24 is out of range 0-23");
    s_refused ("* * 0 * *", "day-of-month: 0 is out of range 1-31");
    s_refused ("* * 32 * *", "day-of-month: 32 is out of range");
    s_refused ("* * * 13 *", "month: 13 is out of range 1-12");
    s_refused ("* * * * 8", "day-of-week: 8 is out of range 0-7");
    s_refused ("60 * * * * *", "second: 60 is out of range 0-59");
    s_refused ("* * * foo *", "month: 'foo' is not a number or a name");
    s_refused ("* * * * monday", "day-of-week: 'monday' is not a number or a name");
    s_refused ("x * * * *", "minute: 'x' is not a number");
    s_refused ("1x * * * *", "minute: '1x' is not a number");
    s_refused ("* * * jan *x", "day-of-week");
    s_refused ("5-1 * * * *", "minute: range '5-1' goes backwards");
    s_refused ("*/0 * * * *", "minute: step 0 is out of range 1-59");
    s_refused ("*/60 * * * *", "step 60 is out of range");
    s_refused ("*/ * * * *", "minute: a step is missing");
    s_refused ("*/x * * * *", "step 'x' is not a number");
    s_refused ("1,,2 * * * *", "minute: empty item");
    s_refused ("1, * * * *", "empty item");
    s_refused ("1- * * * *", "minute: a value is missing");
    s_refused ("-1 * * * *", "minute: a value is missing");
    s_refused ("99999999999 * * * *", "out of range");
    s_refused ("0 0 30 2 *", "never fires");
    s_refused ("0 0 31 4,6,9,11 *", "never fires");
    s_refused ("@often", "unknown macro '@often'");
    s_refused ("@daily 5", "@daily takes no fields");
    s_refused ("@every", "a duration is missing");
    s_refused ("@every 500ms", "needs a unit");
    s_refused ("@every 0s", "under 1s");
    s_refused ("@every 5", "needs a unit");
    s_refused ("@every 5x", "needs a unit");
    s_refused ("@every five", "not a duration");
    s_refused ("@every 400d", "over 366d");
    s_refused ("@every 99999999999999999999h", "over 366d");
    s_refused ("@every 5s 6s", "unexpected");
    char long_expr [ZJOB_CRON_EXPR_MAX + 10];
    memset (long_expr, '*', sizeof (long_expr) - 1);
    long_expr [sizeof (long_expr) - 1] = 0;
    s_refused (long_expr, "over");
    //  Leap day alone is fine (it fires every four years)
    s_parse ("0 0 29 2 *");
}

Test (cron, vixie_rule_either_day_field)
{
    //  2026-02-13 is a Friday; both restricted: the 13th OR a Friday
    zjob_cron_t cron = s_parse ("0 0 13 * fri");
    cr_assert (zjob_cron_matches (&cron, 2026, 2, 13, 0, 0, 0));  //  both
    cr_assert (zjob_cron_matches (&cron, 2026, 3, 13, 0, 0, 0));  //  a Friday, also the 13th
    cr_assert (zjob_cron_matches (&cron, 2026, 4, 13, 0, 0, 0));  //  a Monday, the 13th
    cr_assert (zjob_cron_matches (&cron, 2026, 4, 17, 0, 0, 0));  //  a Friday
    cr_assert_not (zjob_cron_matches (&cron, 2026, 4, 14, 0, 0, 0));
    //  One of them '*': both must match (the '*' one always does)
    cron = s_parse ("0 0 13 * *");
    cr_assert_not (zjob_cron_matches (&cron, 2026, 4, 17, 0, 0, 0));
    cron = s_parse ("0 0 * * fri");
    cr_assert_not (zjob_cron_matches (&cron, 2026, 4, 13, 0, 0, 0));
    cr_assert (zjob_cron_matches (&cron, 2026, 4, 17, 0, 0, 0));
    //  A field starting with '*' counts as unrestricted for the rule
    cron = s_parse ("0 0 */2 * fri");
    cr_assert (zjob_cron_matches (&cron, 2026, 4, 17, 0, 0, 0));      //  17th, Friday
    cr_assert_not (zjob_cron_matches (&cron, 2026, 4, 10, 0, 0, 0));  //  Friday, even day
    cr_assert_not (zjob_cron_matches (&cron, 2026, 4, 13, 0, 0, 0));  //  odd, Monday
    //  next() follows the rule: after Mon 13 April comes Fri 17 April
    int64_t next = s_next ("0 0 13 * fri", NULL, s_utc (2026, 4, 13, 0, 0, 0));
    cr_assert_eq (next, s_utc (2026, 4, 17, 0, 0, 0));
    next = s_next ("0 0 13 * fri", NULL, s_utc (2026, 5, 8, 0, 0, 0));
    cr_assert_eq (next, s_utc (2026, 5, 13, 0, 0, 0));  //  a Wednesday
}

Test (cron, next_in_utc)
{
    int64_t t = s_utc (2026, 12, 5, 22, 7, 30);
    cr_assert_eq (s_next ("*/5 * * * *", NULL, t), s_utc (2026, 12, 5, 22, 10, 0));
    cr_assert_eq (s_next ("*/5 * * * *", "UTC", s_utc (2026, 12, 5, 22, 10, 0)),
                  s_utc (2026, 12, 5, 22, 15, 0));
    cr_assert_eq (s_next ("0 9 * * mon", "", t), s_utc (2026, 12, 7, 9, 0, 0));
    cr_assert_eq (s_next ("@yearly", NULL, t), s_utc (2027, 1, 1, 0, 0, 0));
    cr_assert_eq (s_next ("@monthly", NULL, t), s_utc (2027, 1, 1, 0, 0, 0));
    cr_assert_eq (s_next ("@hourly", NULL, t), s_utc (2026, 12, 5, 23, 0, 0));
    cr_assert_eq (s_next ("59 23 31 12 *", NULL, t), s_utc (2026, 12, 31, 23, 59, 0));
    //  Strictly after, and on a whole second
    cr_assert_eq (s_next ("* * * * * *", NULL, 1000), 2000);
    cr_assert_eq (s_next ("* * * * * *", NULL, 1500), 2000);
    cr_assert_eq (s_next ("* * * * * *", NULL, 0), 1000);
    cr_assert_eq (s_next ("30 * * * * *", NULL, t), s_utc (2026, 12, 5, 22, 8, 30));
    //  Month ends: 31 skips the short months
    cr_assert_eq (s_next ("0 0 31 * *", NULL, s_utc (2026, 4, 1, 0, 0, 0)),
                  s_utc (2026, 5, 31, 0, 0, 0));
    //  @every: slots are multiples of the duration since the epoch
    cr_assert_eq (s_next ("@every 5s", NULL, 12345), 15000);
    cr_assert_eq (s_next ("@every 5s", NULL, 15000), 20000);
    cr_assert_eq (s_next ("@every 1h", "Europe/Berlin", t), s_utc (2026, 12, 5, 23, 0, 0));
    //  Out of range instants
    zjob_cron_t cron = s_parse ("* * * * *");
    zjob_error_t err;
    cr_assert_eq (zjob_cron_next (&cron, NULL, -1, &err), -1);
    cr_assert_eq (zjob_cron_next (&cron, NULL, s_utc (9999, 12, 31, 23, 59, 59), &err), -1);
}

Test (cron, leap_days_are_found_fast)
{
    cr_assert_eq (s_next ("0 0 29 2 *", NULL, s_utc (2025, 3, 1, 0, 0, 0)),
                  s_utc (2028, 2, 29, 0, 0, 0));
    //  2100 is not a leap year
    int64_t start = zjob_mono_ms ();
    cr_assert_eq (s_next ("0 0 29 2 *", NULL, s_utc (2096, 3, 1, 0, 0, 0)),
                  s_utc (2104, 2, 29, 0, 0, 0));
    cr_assert_eq (s_next ("0 0 29 2 *", "Europe/Berlin", s_utc (2096, 3, 1, 0, 0, 0)),
                  s_utc (2104, 2, 28, 23, 0, 0));
    //  A leap day that is a Monday, with '*'-led day-of-month (both must match)
    cr_assert_eq (s_next ("0 0 */28 2 sun", NULL, s_utc (2026, 1, 1, 0, 0, 0)),
                  s_utc (2026, 2, 1, 0, 0, 0));  //  1 Feb 2026 is a Sunday
    int64_t elapsed = zjob_mono_ms () - start;
    cr_assert (elapsed < 200, "%lld ms", (long long) elapsed);
    //  Not 29 Feb in a year without one
    cr_assert_eq (s_next ("0 0 29 * *", NULL, s_utc (2026, 2, 1, 0, 0, 0)),
                  s_utc (2026, 3, 29, 0, 0, 0));
}

Test (cron, zones_unknown_are_errors)
{
    zjob_error_t err;
    cr_assert_eq (zjob_cron_zone_check (NULL, &err), 0);
    cr_assert_eq (zjob_cron_zone_check ("UTC", &err), 0);
    cr_assert_eq (zjob_cron_zone_check ("Europe/Berlin", &err), 0);
    cr_assert_eq (zjob_cron_zone_check ("America/New_York", &err), 0);
    cr_assert_eq (zjob_cron_zone_check ("Mars/Olympus_Mons", &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "unknown zone 'Mars/Olympus_Mons'"), "%s", err.text);
    cr_assert_eq (zjob_cron_zone_check ("Europe/Berlin; rm", &err), -1);
    cr_assert (strstr (err.text, "not a zone id"), "%s", err.text);
    char long_zone [100];
    memset (long_zone, 'A', 99);
    long_zone [99] = 0;
    cr_assert_eq (zjob_cron_zone_check (long_zone, &err), -1);
    zjob_cron_t cron = s_parse ("* * * * *");
    cr_assert_eq (zjob_cron_next (&cron, "Nowhere/Land", 0, &err), -1);
    cr_assert (strstr (err.text, "unknown zone"), "%s", err.text);
    cron = s_parse ("@every 5s");
    cr_assert_eq (zjob_cron_next (&cron, "Nowhere/Land", 0, &err), -1);
}

Test (cron, berlin_spring_forward_fires_once_after_the_gap)
{
    //  29 March 2026: 02:00 CET (01:00Z) becomes 03:00 CEST
    const char *tz = "Europe/Berlin";
    int64_t t = s_next ("30 2 * * *", tz, s_utc (2026, 3, 28, 12, 0, 0));
    cr_assert_eq (t, s_utc (2026, 3, 29, 1, 0, 0));  //  03:00 CEST
    cr_assert_eq (s_next ("30 2 * * *", tz, t), s_utc (2026, 3, 30, 0, 30, 0));
    //  Four slots in the gap: one run
    t = s_next ("*/15 2 * * *", tz, s_utc (2026, 3, 28, 12, 0, 0));
    cr_assert_eq (t, s_utc (2026, 3, 29, 1, 0, 0));
    cr_assert_eq (s_next ("*/15 2 * * *", tz, t), s_utc (2026, 3, 30, 0, 0, 0));
    //  Hourly: 02:00 and 03:00 are one instant, fired once
    t = s_next ("0 * * * *", tz, s_utc (2026, 3, 29, 0, 30, 0));
    cr_assert_eq (t, s_utc (2026, 3, 29, 1, 0, 0));
    cr_assert_eq (s_next ("0 * * * *", tz, t), s_utc (2026, 3, 29, 2, 0, 0));
    //  Local times around the gap are exact
    cr_assert_eq (s_next ("0 1 * * *", tz, s_utc (2026, 3, 28, 12, 0, 0)),
                  s_utc (2026, 3, 29, 0, 0, 0));
    cr_assert_eq (s_next ("0 4 * * *", tz, s_utc (2026, 3, 29, 0, 0, 0)),
                  s_utc (2026, 3, 29, 2, 0, 0));
}

Test (cron, berlin_fall_back_fires_the_first_only)
{
    //  25 October 2026: 03:00 CEST (01:00Z) becomes 02:00 CET
    const char *tz = "Europe/Berlin";
    int64_t t = s_next ("30 2 * * *", tz, s_utc (2026, 10, 24, 12, 0, 0));
    cr_assert_eq (t, s_utc (2026, 10, 25, 0, 30, 0));  //  02:30 CEST, the first
    cr_assert_eq (s_next ("30 2 * * *", tz, t), s_utc (2026, 10, 26, 1, 30, 0));
    //  Started during the second 02:xx: the repeated 02:30 has had its run
    cr_assert_eq (s_next ("0,30 * * * *", tz, s_utc (2026, 10, 25, 1, 15, 0)),
                  s_utc (2026, 10, 25, 2, 0, 0));  //  03:00 CET
    //  Every minute through the change: no local minute twice
    zjob_cron_t cron = s_parse ("* * * * *");
    zjob_error_t err;
    int64_t at = s_utc (2026, 10, 24, 23, 50, 0);
    int runs = 0;
    while (at < s_utc (2026, 10, 25, 2, 10, 0)) {
        int64_t next = zjob_cron_next (&cron, tz, at, &err);
        cr_assert (next > at);
        at = next;
        runs++;
    }
    //  00:50Z..02:10Z is 140 minutes; the hour 01:00Z-02:00Z repeats 02:xx
    cr_assert_eq (runs, 140 - 60, "%d runs", runs);
}

Test (cron, new_york_both_ways)
{
    const char *tz = "America/New_York";
    //  8 March 2026: 02:00 EST (07:00Z) becomes 03:00 EDT
    int64_t t = s_next ("30 2 * * *", tz, s_utc (2026, 3, 7, 12, 0, 0));
    cr_assert_eq (t, s_utc (2026, 3, 8, 7, 0, 0));
    cr_assert_eq (s_next ("30 2 * * *", tz, t), s_utc (2026, 3, 9, 6, 30, 0));
    //  1 November 2026: 02:00 EDT (06:00Z) becomes 01:00 EST
    t = s_next ("30 1 * * *", tz, s_utc (2026, 10, 31, 12, 0, 0));
    cr_assert_eq (t, s_utc (2026, 11, 1, 5, 30, 0));  //  01:30 EDT
    cr_assert_eq (s_next ("30 1 * * *", tz, t), s_utc (2026, 11, 2, 6, 30, 0));
    //  Six fields, every second across the repeated hour: bounded work
    int64_t start = zjob_mono_ms ();
    cr_assert_eq (s_next ("* * * * * *", tz, s_utc (2026, 11, 1, 6, 30, 0)),
                  s_utc (2026, 11, 1, 7, 0, 0));  //  02:00 EST
    cr_assert (zjob_mono_ms () - start < 1000);
    //  Midnight in New York is 05:00Z in winter
    cr_assert_eq (s_next ("@daily", tz, s_utc (2026, 12, 5, 12, 0, 0)),
                  s_utc (2026, 12, 6, 5, 0, 0));
}

//  --------------------------------------------------------------------------
//  Property: next() agrees with a brute-force minute scan (UTC)

static uint64_t s_seed = 42;

static int
s_rand (int n)
{
    return (int) (zjob_retry_random (&s_seed) % (uint64_t) n);
}

//  A random field: '*', a value, a range, a step or a list of them
static void
s_random_field (char *out, size_t size, int min, int max, bool names)
{
    int kind = s_rand (6);
    int a = min + s_rand (max - min + 1);
    int b = min + s_rand (max - min + 1);
    if (a > b) {
        int swap = a;
        a = b;
        b = swap;
    }
    int step = 1 + s_rand (max > 7 ? 10 : 3);
    switch (kind) {
        case 0:
            snprintf (out, size, "*");
            break;
        case 1:
            snprintf (out, size, "%d", a);
            break;
        case 2:
            snprintf (out, size, "%d-%d", a, b);
            break;
        case 3:
            snprintf (out, size, "*/%d", step);
            break;
        case 4:
            snprintf (out, size, "%d-%d/%d,%d", a, b, step, min + s_rand (max - min + 1));
            break;
        default:
            snprintf (out, size, names ? "*" : "%d,%d", a, b);
            break;
    }
}

Test (cron, property_next_equals_a_minute_scan)
{
    int checked = 0;
    for (int round = 0; round < 150; round++) {
        char f [5][40], expr [220];
        s_random_field (f [0], 40, 0, 59, false);
        s_random_field (f [1], 40, 0, 23, false);
        s_random_field (f [2], 40, 1, 31, false);
        s_random_field (f [3], 40, 1, 12, true);
        s_random_field (f [4], 40, 0, 7, false);
        snprintf (expr, sizeof (expr), "%s %s %s %s %s", f [0], f [1], f [2], f [3], f [4]);
        zjob_cron_t cron;
        zjob_error_t err;
        if (zjob_cron_parse (&cron, expr, &err))
            continue;  //  Never fires (30 of February and the like)
        //  An instant between 2020 and 2040, on any second
        int64_t after = s_utc (2020, 1, 1, 0, 0, 0)
            + (int64_t) s_rand (20 * 365) * 86400000 + (int64_t) s_rand (86400) * 1000
            + s_rand (1000);
        int64_t next = zjob_cron_next (&cron, NULL, after, &err);
        cr_assert (next > after, "%s: %s", expr, err.text);
        int64_t minute = (after / 60000 + 1) * 60000;
        int64_t bound = minute + 40LL * 86400000;
        int64_t found = -1;
        for (int64_t at = minute; at < bound; at += 60000) {
            time_t secs = (time_t) (at / 1000);
            struct tm tm;
            gmtime_r (&secs, &tm);
            if (zjob_cron_matches (&cron, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                   tm.tm_hour, tm.tm_min, 0)) {
                found = at;
                break;
            }
        }
        if (found >= 0)
            cr_assert_eq (next, found, "%s after %lld: %lld, scan %lld", expr, (long long) after,
                          (long long) next, (long long) found);
        else
            cr_assert (next >= bound, "%s after %lld: %lld inside the scan", expr,
                       (long long) after, (long long) next);
        checked++;
    }
    cr_assert (checked > 100, "%d expressions checked", checked);
}
