/*  =========================================================================
    zjob_cron - cron expressions and their next fire time (see zjob_cron.h)
    ========================================================================= */

#include "zjob_cron.h"
#include <ctype.h>
#include <string.h>
#include <unicode/ucal.h>
#include <unicode/ustring.h>

#define S_YEAR_LAST 9999         //  No fire time is looked for after this year
#define S_SEARCH_YEARS 401       //  Gregorian calendar repeats every 400 years
#define S_REPEATED_STEPS 100000  //  Wall times skipped in a fall-back overlap
//  The last ms of year 9999, UTC
#define S_MS_LAST 253402300799999LL

typedef struct {
    const char *name;          //  For error messages
    int min, max;              //  Values a number may take
    int star_max;              //  The last value of '*' (6 for day-of-week)
    const char *const *names;  //  Three-letter names, names[0] = value min; or NULL
    int name_count;
} s_field_t;

static const char *const s_month_names [] = { "jan", "feb", "mar", "apr", "may", "jun",
                                              "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const s_day_names [] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static const s_field_t s_fields [] = {
    { "second", 0, 59, 59, NULL, 0 },
    { "minute", 0, 59, 59, NULL, 0 },
    { "hour", 0, 23, 23, NULL, 0 },
    { "day-of-month", 1, 31, 31, NULL, 0 },
    { "month", 1, 12, 12, s_month_names, 12 },
    { "day-of-week", 0, 7, 6, s_day_names, 7 },
};

typedef struct {
    int y, mo, d, h, mi, s;  //  A wall-clock time; month and day from 1
} s_wall_t;


//  --------------------------------------------------------------------------
//  Parsing

//  One value of field f: a number or a name. Returns 0 or -1 with err.
static int
s_parse_value (const s_field_t *f, const char *text, size_t len, int *value,
               zjob_error_t *err)
{
    if (len == 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: %s: a value is missing", f->name);
    if (isdigit ((unsigned char) text [0])) {
        int v = 0;
        for (size_t i = 0; i < len; i++) {
            if (!isdigit ((unsigned char) text [i]))
                return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: %s: '%.*s' is not a number",
                                       f->name, (int) len, text);
            if (v < 1000)
                v = v * 10 + (text [i] - '0');
        }
        if (v < f->min || v > f->max)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: %s: %.*s is out of range %d-%d",
                                   f->name, (int) len, text, f->min, f->max);
        *value = v;
        return 0;
    }
    if (f->names && len == 3) {
        for (int i = 0; i < f->name_count; i++)
            if (strncasecmp (text, f->names [i], 3) == 0) {
                *value = f->min + i;
                return 0;
            }
    }
    return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: %s: '%.*s' is not a %s", f->name,
                           (int) len, text, f->names ? "number or a name" : "number");
}

//  One item of a list: *, N, A-B, each with an optional /STEP; sets its
//  bits. *star is set if the item starts with '*'.
static int
s_parse_item (const s_field_t *f, const char *text, size_t len, uint64_t *bits,
              zjob_error_t *err)
{
    if (len == 0)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: %s: empty item in a list", f->name);
    const char *slash = memchr (text, '/', len);
    size_t range_len = slash ? (size_t) (slash - text) : len;
    int low, high, step = 1;
    if (range_len == 1 && text [0] == '*') {
        low = f->min;
        high = f->star_max;
    }
    else {
        const char *dash = memchr (text, '-', range_len);
        size_t first_len = dash ? (size_t) (dash - text) : range_len;
        if (s_parse_value (f, text, first_len, &low, err))
            return -1;
        high = low;
        if (dash) {
            if (s_parse_value (f, dash + 1, range_len - first_len - 1, &high, err))
                return -1;
            if (high < low)
                return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                       "cron: %s: range '%.*s' goes backwards", f->name,
                                       (int) range_len, text);
        }
        else if (slash)
            high = f->star_max > low ? f->star_max : f->max;  //  N/STEP: N to the end
    }
    if (slash) {
        const char *p = slash + 1;
        size_t step_len = len - range_len - 1;
        if (step_len == 0)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: %s: a step is missing after '/'",
                                   f->name);
        step = 0;
        for (size_t i = 0; i < step_len; i++) {
            if (!isdigit ((unsigned char) p [i]))
                return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: %s: step '%.*s' is not a number",
                                       f->name, (int) step_len, p);
            if (step < 1000)
                step = step * 10 + (p [i] - '0');
        }
        if (step < 1 || step > f->star_max)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: %s: step %.*s is out of range 1-%d",
                                   f->name, (int) step_len, p, f->star_max);
    }
    for (int v = low; v <= high; v += step)
        *bits |= 1ULL << (f->max == 7 && v == 7 ? 0 : v);  //  7 is Sunday
    return 0;
}

//  One field: a comma list of items. Returns 0 or -1 with err.
static int
s_parse_field (const s_field_t *f, const char *text, size_t len, uint64_t *bits, bool *star,
               zjob_error_t *err)
{
    *bits = 0;
    *star = text [0] == '*';
    const char *end = text + len;
    while (true) {
        const char *comma = memchr (text, ',', (size_t) (end - text));
        const char *item_end = comma ? comma : end;
        if (s_parse_item (f, text, (size_t) (item_end - text), bits, err))
            return -1;
        if (!comma)
            break;
        text = comma + 1;
    }
    return 0;
}

//  @every DURATION: a sequence of NUMBER UNIT (d, h, m, s)
static int
s_parse_every (zjob_cron_t *cron, const char *text, zjob_error_t *err)
{
    while (*text == ' ' || *text == '\t')
        text++;
    if (!*text)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: @every: a duration is missing (e.g. @every 5m)");
    int64_t total = 0;
    const char *p = text;
    while (*p && *p != ' ' && *p != '\t') {
        if (!isdigit ((unsigned char) *p))
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "cron: @every: '%s' is not a duration (e.g. 5s, 1m30s, 2h)", text);
        int64_t n = 0;
        for (; isdigit ((unsigned char) *p); p++)
            if (n < ZJOB_CRON_EVERY_MAX_MS)
                n = n * 10 + (*p - '0');
        int64_t unit = *p == 'd' ? 86400000 : *p == 'h' ? 3600000
            : *p == 'm'                                 ? 60000
            : *p == 's'                                 ? 1000
                                                        : 0;
        if (unit == 0 || (*p == 'm' && p [1] == 's'))
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "cron: @every: '%s': each number needs a unit: d, h, m or s", text);
        p++;
        if (n > ZJOB_CRON_EVERY_MAX_MS / unit)
            n = ZJOB_CRON_EVERY_MAX_MS / unit + 1;
        total += n * unit;
        if (total > ZJOB_CRON_EVERY_MAX_MS)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: @every: '%s' is over 366d", text);
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: @every: unexpected '%s' after the duration", p);
    if (total < 1000)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: @every: '%s' is under 1s", text);
    cron->every_ms = total;
    return 0;
}

static int
s_days_in_month (int y, int m)
{
    static const int days [13] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days [m];
}

//  A day-of-month filter that no selected month can hold ("30 2") never
//  fires; every other expression fires within a 400-year cycle.
static bool
s_can_fire (const zjob_cron_t *cron)
{
    if (!cron->mday_star && !cron->wday_star)
        return true;  //  Either matches: some weekday always does
    for (int m = 1; m <= 12; m++)
        if (cron->months & (1u << m))
            for (int d = 1; d <= s_days_in_month (2000, m); d++)
                if (cron->mdays & (1u << d))
                    return true;
    return false;
}

static int
s_parse_macro (zjob_cron_t *cron, const char *expr, zjob_error_t *err)
{
    static const struct {
        const char *name;
        const char *fields;
    } macros [] = {
        { "@yearly", "0 0 1 1 *" },
        { "@annually", "0 0 1 1 *" },
        { "@monthly", "0 0 1 * *" },
        { "@weekly", "0 0 * * 0" },
        { "@daily", "0 0 * * *" },
        { "@midnight", "0 0 * * *" },
        { "@hourly", "0 * * * *" },
    };
    size_t len = strcspn (expr, " \t");
    if (len == 6 && strncasecmp (expr, "@every", 6) == 0)
        return s_parse_every (cron, expr + 6, err);
    for (size_t i = 0; i < sizeof (macros) / sizeof (macros [0]); i++)
        if (strlen (macros [i].name) == len && strncasecmp (expr, macros [i].name, len) == 0) {
            const char *rest = expr + len;
            while (*rest == ' ' || *rest == '\t')
                rest++;
            if (*rest)
                return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: %s takes no fields", macros [i].name);
            return zjob_cron_parse (cron, macros [i].fields, err);
        }
    return zjob_error_set (err, ZJOB_BAD_REQUEST,
                           "cron: unknown macro '%.*s' (@yearly, @annually, @monthly, @weekly, "
                           "@daily, @midnight, @hourly, @every DURATION)",
                           (int) (len > 32 ? 32 : len), expr);
}

int
zjob_cron_parse (zjob_cron_t *cron, const char *expr, zjob_error_t *err)
{
    memset (cron, 0, sizeof (*cron));
    if (!expr)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: an expression is required");
    if (strlen (expr) > ZJOB_CRON_EXPR_MAX)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: the expression is over %d bytes",
                               ZJOB_CRON_EXPR_MAX);
    while (*expr == ' ' || *expr == '\t')
        expr++;
    if (*expr == '@')
        return s_parse_macro (cron, expr, err);
    const char *start [7];
    size_t len [7];
    int count = 0;
    for (const char *p = expr; *p;) {
        size_t n = strcspn (p, " \t");
        if (count < 7) {
            start [count] = p;
            len [count] = n;
        }
        count++;
        p += n;
        while (*p == ' ' || *p == '\t')
            p++;
    }
    if (count != 5 && count != 6)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "cron: expected 5 fields (minute hour day-of-month month day-of-week) "
                               "or 6 (second first), got %d",
                               count);
    int first = count == 5 ? 1 : 0;            //  The table's index of the text's first field
    uint64_t bits [6] = { 1, 0, 0, 0, 0, 0 };  //  5 fields: second 0
    bool star [6] = { false };
    for (int i = 0; i < count; i++)
        if (s_parse_field (&s_fields [first + i], start [i], len [i], &bits [first + i],
                           &star [first + i], err))
            return -1;
    cron->seconds = bits [0];
    cron->minutes = bits [1];
    cron->hours = (uint32_t) bits [2];
    cron->mdays = (uint32_t) bits [3];
    cron->months = (uint16_t) bits [4];
    cron->wdays = (uint8_t) bits [5];
    cron->mday_star = star [3];
    cron->wday_star = star [5];
    if (!s_can_fire (cron))
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "cron: day-of-month: no selected month has such a day, so it never fires");
    return 0;
}


//  --------------------------------------------------------------------------
//  The civil calendar (proleptic Gregorian; H. Hinnant's algorithms)

static int64_t
s_days_from_civil (int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
s_civil_from_days (int64_t z, s_wall_t *w)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    w->d = (int) (doy - (153 * mp + 2) / 5 + 1);
    w->mo = (int) (mp < 10 ? mp + 3 : mp - 9);
    w->y = (int) (yoe + era * 400 + (w->mo <= 2));
}

static int
s_weekday (int y, int m, int d)
{
    int64_t days = s_days_from_civil (y, m, d);
    return (int) (((days % 7) + 11) % 7);  //  1970-01-01 was a Thursday (4)
}

static bool
s_day_matches (const zjob_cron_t *cron, int y, int m, int d)
{
    bool mday = (cron->mdays >> d) & 1;
    bool wday = (cron->wdays >> s_weekday (y, m, d)) & 1;
    if (cron->mday_star || cron->wday_star)
        return mday && wday;
    return mday || wday;  //  Vixie: both restricted, either is enough
}

bool
zjob_cron_matches (const zjob_cron_t *cron, int year, int month, int day, int hour, int minute,
                   int second)
{
    if (cron->every_ms)
        return false;
    return ((cron->months >> month) & 1) && s_day_matches (cron, year, month, day)
        && ((cron->hours >> hour) & 1) && ((cron->minutes >> minute) & 1)
        && ((cron->seconds >> second) & 1);
}

//  The lowest set bit of bits at from or above, or -1
static int
s_next_bit (uint64_t bits, int from)
{
    if (from > 63)
        return -1;
    uint64_t rest = bits >> from;
    return rest ? from + __builtin_ctzll (rest) : -1;
}

static void
s_next_day (s_wall_t *w)
{
    w->h = w->mi = w->s = 0;
    if (++w->d > s_days_in_month (w->y, w->mo)) {
        w->d = 1;
        if (++w->mo > 12) {
            w->mo = 1;
            w->y++;
        }
    }
}

//  Moves w to the first wall time at or after it that matches, jumping
//  field by field. False if there is none before year limit.
static bool
s_wall_next (const zjob_cron_t *cron, s_wall_t *w, int limit)
{
    while (w->y <= limit) {
        int next;
        if (!((cron->months >> w->mo) & 1)) {
            next = s_next_bit (cron->months, w->mo);
            if (next < 0) {
                w->y++;
                next = s_next_bit (cron->months, 1);
            }
            w->mo = next;
            w->d = 1;
            w->h = w->mi = w->s = 0;
            continue;
        }
        if (!s_day_matches (cron, w->y, w->mo, w->d)) {
            s_next_day (w);
            continue;
        }
        if ((next = s_next_bit (cron->hours, w->h)) < 0) {
            s_next_day (w);
            continue;
        }
        if (next != w->h) {
            w->h = next;
            w->mi = w->s = 0;
        }
        if ((next = s_next_bit (cron->minutes, w->mi)) < 0) {
            w->mi = w->s = 0;
            if (++w->h > 23)
                s_next_day (w);
            continue;
        }
        if (next != w->mi) {
            w->mi = next;
            w->s = 0;
        }
        if ((next = s_next_bit (cron->seconds, w->s)) < 0) {
            w->s = 0;
            if (++w->mi > 59) {
                w->mi = 0;
                if (++w->h > 23)
                    s_next_day (w);
            }
            continue;
        }
        w->s = next;
        return true;
    }
    return false;
}

static void
s_wall_add_second (s_wall_t *w)
{
    if (++w->s > 59) {
        w->s = 0;
        if (++w->mi > 59) {
            w->mi = 0;
            if (++w->h > 23)
                s_next_day (w);
        }
    }
}


//  --------------------------------------------------------------------------
//  Time zones (ICU)

static bool
s_is_utc (const char *tz)
{
    return !tz || !*tz || strcmp (tz, "UTC") == 0 || strcmp (tz, "Etc/UTC") == 0;
}

//  Opens a calendar on zone tz, or NULL with err
static UCalendar *
s_calendar_open (const char *tz, zjob_error_t *err)
{
    size_t len = strlen (tz);
    if (len > ZJOB_CRON_TZ_MAX) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "timezone: over %d bytes", ZJOB_CRON_TZ_MAX);
        return NULL;
    }
    for (size_t i = 0; i < len; i++)
        if (!isalnum ((unsigned char) tz [i]) && !strchr ("/_+-", tz [i])) {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "timezone: '%s' is not a zone id (e.g. Europe/Berlin)", tz);
            return NULL;
        }
    UChar id [ZJOB_CRON_TZ_MAX + 1];
    u_uastrncpy (id, tz, (int32_t) len);
    UChar canonical [128];
    UBool system = false;
    UErrorCode status = U_ZERO_ERROR;
    ucal_getCanonicalTimeZoneID (id, (int32_t) len, canonical, 128, &system, &status);
    if (U_FAILURE (status) || !system) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "timezone: unknown zone '%s' (e.g. Europe/Berlin, UTC)", tz);
        return NULL;
    }
    status = U_ZERO_ERROR;
    UCalendar *cal = ucal_open (id, (int32_t) len, "en_US_POSIX", UCAL_GREGORIAN, &status);
    if (U_FAILURE (status)) {
        if (cal)
            ucal_close (cal);
        zjob_error_set (err, ZJOB_INTERNAL, "timezone: ICU cannot open '%s': %s", tz,
                        u_errorName (status));
        return NULL;
    }
    //  A repeated wall time is its first instant; a skipped one, the
    //  first instant after the gap
    ucal_setAttribute (cal, UCAL_REPEATED_WALL_TIME, UCAL_WALLTIME_FIRST);
    ucal_setAttribute (cal, UCAL_SKIPPED_WALL_TIME, UCAL_WALLTIME_NEXT_VALID);
    return cal;
}

int
zjob_cron_zone_check (const char *tz, zjob_error_t *err)
{
    if (s_is_utc (tz))
        return 0;
    UCalendar *cal = s_calendar_open (tz, err);
    if (!cal)
        return -1;
    ucal_close (cal);
    return 0;
}

static int
s_local_wall (UCalendar *cal, int64_t ms, s_wall_t *w)
{
    UErrorCode status = U_ZERO_ERROR;
    ucal_setMillis (cal, (UDate) ms, &status);
    w->y = ucal_get (cal, UCAL_EXTENDED_YEAR, &status);
    w->mo = ucal_get (cal, UCAL_MONTH, &status) + 1;
    w->d = ucal_get (cal, UCAL_DATE, &status);
    w->h = ucal_get (cal, UCAL_HOUR_OF_DAY, &status);
    w->mi = ucal_get (cal, UCAL_MINUTE, &status);
    w->s = ucal_get (cal, UCAL_SECOND, &status);
    return U_FAILURE (status) ? -1 : 0;
}

static int64_t
s_wall_instant (UCalendar *cal, const s_wall_t *w)
{
    UErrorCode status = U_ZERO_ERROR;
    ucal_clear (cal);
    ucal_setDateTime (cal, w->y, w->mo - 1, w->d, w->h, w->mi, w->s, &status);
    ucal_set (cal, UCAL_MILLISECOND, 0);
    UDate ms = ucal_getMillis (cal, &status);
    return U_FAILURE (status) ? -1 : (int64_t) ms;
}

static int64_t
s_next_in_zone (const zjob_cron_t *cron, const char *tz, int64_t after_ms, int64_t start,
                zjob_error_t *err)
{
    UCalendar *cal = s_calendar_open (tz, err);
    if (!cal)
        return -1;
    s_wall_t w;
    int64_t result = -1;
    if (s_local_wall (cal, start, &w) == 0) {
        int limit = w.y + S_SEARCH_YEARS;
        for (int step = 0; step < S_REPEATED_STEPS; step++) {
            if (!s_wall_next (cron, &w, limit < S_YEAR_LAST ? limit : S_YEAR_LAST))
                break;
            int64_t t = s_wall_instant (cal, &w);
            if (t < 0)
                break;
            if (t > after_ms) {
                result = t;
                break;
            }
            //  A wall time repeated by a fall-back whose first instant has
            //  passed: it has had its run
            s_wall_add_second (&w);
        }
    }
    ucal_close (cal);
    if (result < 0)
        zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: no fire time before year %d", S_YEAR_LAST);
    return result;
}

int64_t
zjob_cron_next (const zjob_cron_t *cron, const char *tz, int64_t after_ms, zjob_error_t *err)
{
    if (after_ms < 0 || after_ms >= S_MS_LAST)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: instant %lld is out of range",
                               (long long) after_ms);
    if (cron->every_ms > 0) {
        if (!s_is_utc (tz) && zjob_cron_zone_check (tz, err))
            return -1;
        return (after_ms / cron->every_ms + 1) * cron->every_ms;
    }
    int64_t start = (after_ms / 1000 + 1) * 1000;  //  The next whole second
    if (!s_is_utc (tz))
        return s_next_in_zone (cron, tz, after_ms, start, err);
    int64_t day = start / 86400000;
    int64_t in_day = (start % 86400000) / 1000;
    s_wall_t w;
    s_civil_from_days (day, &w);
    w.h = (int) (in_day / 3600);
    w.mi = (int) (in_day / 60 % 60);
    w.s = (int) (in_day % 60);
    int limit = w.y + S_SEARCH_YEARS;
    if (!s_wall_next (cron, &w, limit < S_YEAR_LAST ? limit : S_YEAR_LAST))
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: no fire time before year %d",
                               S_YEAR_LAST);
    return (s_days_from_civil (w.y, w.mo, w.d) * 86400 + w.h * 3600 + w.mi * 60 + w.s) * 1000;
}
