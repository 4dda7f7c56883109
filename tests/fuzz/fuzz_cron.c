/*  =========================================================================
    fuzz_cron - libFuzzer harness: a schedule's cron line and time zone

    The bytes are a SCHEDULE add's cron expression, optionally followed by
    a NUL and a time zone id (as the schedule record stores both). A line
    that parses is asked for its next fire times from a fixed instant, a
    few steps on, in UTC and in the zone (and in a zone with DST when none
    is given); every time must be after the one before it, on a whole
    second, and match the expression on the wall clock in UTC.
    ========================================================================= */

#include "zjob_cron.h"
#include "fuzz_common.h"
#include <time.h>

#define S_STEPS 4  //  Next times asked for, one after another
//  2026-03-29T00:30:00Z, a few hours before Europe's spring-forward
#define S_START_MS 1774744200000LL

//  Walk S_STEPS fire times in tz; check the order and, in UTC, the match
static void
s_walk (const zjob_cron_t *cron, const char *tz)
{
    int64_t after = S_START_MS;
    for (int step = 0; step < S_STEPS; step++) {
        zjob_error_t err;
        int64_t next = zjob_cron_next (cron, tz, after, &err);
        if (next < 0)
            return;
        if (next <= after || next % 1000)
            abort ();  //  Not strictly later, or not on a whole second
        if (!tz && cron->every_ms == 0) {
            time_t secs = (time_t) (next / 1000);
            struct tm tm;
            gmtime_r (&secs, &tm);
            if (!zjob_cron_matches (cron, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                    tm.tm_hour, tm.tm_min, tm.tm_sec))
                abort ();  //  A fire time the expression does not match
        }
        after = next;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_quiet ();
    char *text = fuzz_text (data, size);
    //  The zone, if any, after the first NUL
    size_t expr_len = strlen (text);
    const char *tz = expr_len < size ? text + expr_len + 1 : NULL;
    zjob_cron_t cron;
    zjob_error_t err;
    if (zjob_cron_parse (&cron, text, &err) == 0) {
        s_walk (&cron, NULL);
        if (tz && zjob_cron_zone_check (tz, &err) == 0)
            s_walk (&cron, tz);
        else
            s_walk (&cron, "Europe/Berlin");
    }
    else if (tz)
        (void) zjob_cron_zone_check (tz, &err);
    free (text);
    return 0;
}
