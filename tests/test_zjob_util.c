/*  =========================================================================
    test_zjob_util - clocks, job ids, CRC-32C, durations and error records

    The id tests need a wall clock that steps back. This file defines
    clock_gettime, which the static zjob library then calls instead of the C
    library's: it adds s_clock_shift_ms to CLOCK_REALTIME and otherwise
    forwards to the real function. Every test runs in its own process, so
    a shift never leaks into another test.
    ========================================================================= */

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "zjob_util.h"
#include "zjob_error.h"

static int64_t s_clock_shift_ms;  //  Added to CLOCK_REALTIME

int
clock_gettime (clockid_t clock, struct timespec *ts)
{
    static int (*real) (clockid_t, struct timespec *);
    if (!real)
        *(void **) &real = dlsym (RTLD_NEXT, "clock_gettime");
    int rc = real (clock, ts);
    if (rc == 0 && clock == CLOCK_REALTIME && s_clock_shift_ms) {
        int64_t ns = (int64_t) ts->tv_sec * 1000000000 + ts->tv_nsec
            + s_clock_shift_ms * 1000000;
        ts->tv_sec = ns / 1000000000;
        ts->tv_nsec = ns % 1000000000;
    }
    return rc;
}

//  Deterministic random bytes for reproducible tests
static uint64_t
s_rand (uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}


//  --------------------------------------------------------------------------
//  Error records

Test (error, set_fills_code_and_message)
{
    zjob_error_t err;
    zjob_error_clear (&err);
    cr_assert_eq (err.code, ZJOB_OK);
    cr_assert_str_empty (err.text);
    int rc = zjob_error_set (&err, ZJOB_NOT_FOUND, "job %s: %d", "ABC", 42);
    cr_assert_eq (rc, -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_str_eq (err.text, "job ABC: 42");
    zjob_error_clear (&err);
    cr_assert_eq (err.code, ZJOB_OK);
    cr_assert_str_empty (err.text);
}

Test (error, null_record_is_allowed)
{
    cr_assert_eq (zjob_error_set (NULL, ZJOB_INTERNAL, "x %d", 1), -1);
    zjob_error_clear (NULL);
}

Test (error, message_is_one_line_and_bounded)
{
    zjob_error_t err;
    char long_text [1000];
    memset (long_text, 'x', sizeof (long_text) - 1);
    long_text [sizeof (long_text) - 1] = 0;
    zjob_error_set (&err, ZJOB_BAD_REQUEST, "%s", long_text);
    cr_assert_eq (strlen (err.text), ZJOB_ERROR_TEXT_MAX - 1);
    zjob_error_set (&err, ZJOB_BAD_REQUEST, "first\nsecond\r\tthird");
    cr_assert_str_eq (err.text, "first second  third");
}

Test (error, names)
{
    cr_assert_str_eq (zjob_error_name (ZJOB_OK), "ok");
    cr_assert_str_eq (zjob_error_name (ZJOB_ACCEPTED), "accepted");
    cr_assert_str_eq (zjob_error_name (ZJOB_BAD_REQUEST), "bad request");
    cr_assert_str_eq (zjob_error_name (ZJOB_UNAUTHORIZED), "unauthorized");
    cr_assert_str_eq (zjob_error_name (ZJOB_NOT_FOUND), "not found");
    cr_assert_str_eq (zjob_error_name (ZJOB_CONFLICT), "conflict");
    cr_assert_str_eq (zjob_error_name (ZJOB_TOO_LARGE), "too large");
    cr_assert_str_eq (zjob_error_name (ZJOB_TOO_MANY), "too many");
    cr_assert_str_eq (zjob_error_name (ZJOB_INTERNAL), "internal error");
    cr_assert_str_eq (zjob_error_name (ZJOB_UNAVAILABLE), "unavailable");
    cr_assert_str_eq (zjob_error_name (ZJOB_VERSION_MISMATCH), "version mismatch");
    cr_assert_str_eq (zjob_error_name (999), "unknown");
    cr_assert_str_eq (zjob_error_name (-1), "unknown");
}


//  --------------------------------------------------------------------------
//  Clocks

//  The bounds come from clock_gettime (unshifted here), not time (2):
//  glibc's time reads the coarse clock, up to a tick behind, so just after
//  a second begins it can still say the last one (measured here: 110,384
//  of 20,000,000 calls; this test failed about one run in some hundreds).
//  Below, time (2) is the unshifted clock that a shifted one is checked
//  against, with an hour's margin.
static int64_t
s_realtime_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test (clock, wall_clock_is_unix_msecs)
{
    int64_t before = s_realtime_ms ();
    int64_t now = zjob_clock_ms ();
    int64_t after = s_realtime_ms ();
    cr_assert_geq (now, before);
    cr_assert_leq (now, after);
}

Test (clock, monotonic_never_goes_back)
{
    int64_t last = zjob_mono_ms ();
    cr_assert_geq (last, 0);
    for (int i = 0; i < 10000; i++) {
        int64_t now = zjob_mono_ms ();
        cr_assert_geq (now, last);
        last = now;
    }
    //  The monotonic clock ignores wall-clock steps
    int64_t mono = zjob_mono_ms ();
    s_clock_shift_ms = -3600 * 1000;
    cr_assert_geq (zjob_mono_ms (), mono);
    cr_assert_lt (zjob_clock_ms (), (int64_t) time (NULL) * 1000 - 3500 * 1000);
}


//  --------------------------------------------------------------------------
//  Job ids

#define ID_COUNT 100000

Test (id, valid_unique_and_increasing)
{
    char (*ids) [ZJOB_ID_LEN + 1] = malloc ((size_t) ID_COUNT * (ZJOB_ID_LEN + 1));
    cr_assert_not_null (ids);
    int64_t before = zjob_clock_ms ();
    for (int i = 0; i < ID_COUNT; i++)
        zjob_id_new (ids [i]);
    int64_t after = zjob_clock_ms ();
    for (int i = 0; i < ID_COUNT; i++) {
        cr_assert_eq (strlen (ids [i]), ZJOB_ID_LEN);
        cr_assert (zjob_id_valid (ids [i]), "id %s is not valid", ids [i]);
        int64_t ms = zjob_id_time_ms (ids [i]);
        cr_assert (ms >= before && ms <= after, "id %s has time %lld outside [%lld, %lld]",
                   ids [i], (long long) ms, (long long) before, (long long) after);
        //  Strictly increasing as strings implies unique
        if (i > 0)
            cr_assert_lt (strcmp (ids [i - 1], ids [i]), 0, "%s !< %s", ids [i - 1], ids [i]);
    }
    free (ids);
}

Test (id, increasing_when_the_clock_steps_back)
{
    char first [ZJOB_ID_LEN + 1], later [ZJOB_ID_LEN + 1];
    zjob_id_new (first);
    int64_t first_ms = zjob_id_time_ms (first);
    s_clock_shift_ms = -10 * 60 * 1000;  //  Ten minutes back
    char last [ZJOB_ID_LEN + 1];
    strcpy (last, first);
    for (int i = 0; i < 1000; i++) {
        zjob_id_new (later);
        cr_assert_lt (strcmp (last, later), 0, "%s !< %s", last, later);
        //  The id keeps the last time used, not the stepped-back clock
        cr_assert_geq (zjob_id_time_ms (later), first_ms);
        strcpy (last, later);
    }
    //  And follows the clock again once it has passed the last time used
    s_clock_shift_ms = 10 * 60 * 1000;
    zjob_id_new (later);
    cr_assert_lt (strcmp (last, later), 0);
    cr_assert_geq (zjob_id_time_ms (later), first_ms + 9 * 60 * 1000);
}

Test (id, counter_starts_random_per_process)
{
    //  Two processes started in the same msec must not issue the same ids
    int fds [2];
    cr_assert_eq (pipe (fds), 0);
    char parent_id [ZJOB_ID_LEN + 1], child_id [ZJOB_ID_LEN + 1] = "";
    pid_t pid = fork ();
    cr_assert_geq (pid, 0);
    if (pid == 0) {
        char id [ZJOB_ID_LEN + 1];
        zjob_id_new (id);
        ssize_t n = write (fds [1], id, ZJOB_ID_LEN);
        _exit (n == ZJOB_ID_LEN ? 0 : 1);
    }
    zjob_id_new (parent_id);
    cr_assert_eq (read (fds [0], child_id, ZJOB_ID_LEN), ZJOB_ID_LEN);
    int status;
    waitpid (pid, &status, 0);
    cr_assert_str_neq (parent_id, child_id);
    //  The 52 counter bits (last 10 characters and part of the 11th) differ
    cr_assert_neq (memcmp (parent_id + 11, child_id + 11, 9), 0,
                   "parent %s, child %s", parent_id, child_id);
    close (fds [0]);
    close (fds [1]);
}

Test (id, forked_child_does_not_repeat_parent_ids)
{
    //  The parent has issued ids; its child starts from the same memory
    char id [ZJOB_ID_LEN + 1];
    zjob_id_new (id);
    int fds [2];
    cr_assert_eq (pipe (fds), 0);
    pid_t pid = fork ();
    cr_assert_geq (pid, 0);
    if (pid == 0) {
        char child [ZJOB_ID_LEN + 1];
        zjob_id_new (child);
        ssize_t n = write (fds [1], child, ZJOB_ID_LEN);
        _exit (n == ZJOB_ID_LEN ? 0 : 1);
    }
    char parent [ZJOB_ID_LEN + 1], child [ZJOB_ID_LEN + 1] = "";
    zjob_id_new (parent);
    cr_assert_eq (read (fds [0], child, ZJOB_ID_LEN), ZJOB_ID_LEN);
    waitpid (pid, NULL, 0);
    cr_assert_neq (memcmp (parent + 11, child + 11, 9), 0,
                   "parent %s, child %s", parent, child);
    close (fds [0]);
    close (fds [1]);
}

Test (id, validity)
{
    cr_assert (zjob_id_valid ("0123456789ABCDEFGHJK"));
    cr_assert (zjob_id_valid ("MNPQRSTVWXYZ00000000"));
    cr_assert (zjob_id_valid ("ZZZZZZZZZZZZZZZZZZZZ"));
    cr_assert_not (zjob_id_valid (NULL));
    cr_assert_not (zjob_id_valid (""));
    cr_assert_not (zjob_id_valid ("0123456789ABCDEFGHJ"));    //  19
    cr_assert_not (zjob_id_valid ("0123456789ABCDEFGHJKM"));  //  21
    cr_assert_not (zjob_id_valid ("0123456789abcdefghjk"));   //  Lower case
    cr_assert_not (zjob_id_valid ("0123456789ABCDEFGHJI"));   //  Not Crockford
    cr_assert_not (zjob_id_valid ("0123456789ABCDEFGHJL"));
    cr_assert_not (zjob_id_valid ("0123456789ABCDEFGHJO"));
    cr_assert_not (zjob_id_valid ("0123456789ABCDEFGHJU"));
    cr_assert_not (zjob_id_valid ("0123456789ABCDEFGH-K"));
    cr_assert_not (zjob_id_valid ("0123456789ABCDEFGH K"));
    //  Every byte: valid in an id exactly when it is one of the 32 digits
    const char *digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    for (int byte = 1; byte < 256; byte++) {
        char id [ZJOB_ID_LEN + 1];
        memset (id, '0', ZJOB_ID_LEN);
        id [ZJOB_ID_LEN] = 0;
        id [7] = (char) byte;
        cr_assert_eq (zjob_id_valid (id), strchr (digits, byte) != NULL, "byte %d", byte);
    }
}

Test (id, time_is_the_first_48_bits)
{
    cr_assert_eq (zjob_id_time_ms ("00000000000000000000"), 0);
    //  ZZZZZZZZZ = 45 one bits, then 'W' = 11100: the 3 more high bits
    cr_assert_eq (zjob_id_time_ms ("ZZZZZZZZZW0000000000"), (INT64_C (1) << 48) - 1);
    //  The 10th character's low two bits belong to the counter
    cr_assert_eq (zjob_id_time_ms ("0000000007ZZZZZZZZZZ"), 1);
    cr_assert_eq (zjob_id_time_ms ("0000000003ZZZZZZZZZZ"), 0);
    cr_assert_eq (zjob_id_time_ms ("not an id"), -1);
    cr_assert_eq (zjob_id_time_ms (NULL), -1);
    char id [ZJOB_ID_LEN + 1];
    int64_t before = zjob_clock_ms ();
    zjob_id_new (id);
    int64_t ms = zjob_id_time_ms (id);
    cr_assert (ms >= before && ms <= zjob_clock_ms ());
}


//  --------------------------------------------------------------------------
//  CRC-32C

Test (crc32c, standard_check_values)
{
    cr_assert_eq (zjob_crc32c (0, "123456789", 9), 0xE3069283u);
    cr_assert_eq (zjob_crc32c_portable (0, "123456789", 9), 0xE3069283u);
    cr_assert_eq (zjob_crc32c (0, "", 0), 0);
    cr_assert_eq (zjob_crc32c (0, NULL, 0), 0);
    //  RFC 3720 (iSCSI) B.4 vectors
    uint8_t buffer [32];
    memset (buffer, 0, 32);
    cr_assert_eq (zjob_crc32c (0, buffer, 32), 0x8A9136AAu);
    memset (buffer, 0xFF, 32);
    cr_assert_eq (zjob_crc32c (0, buffer, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buffer [i] = (uint8_t) i;
    cr_assert_eq (zjob_crc32c (0, buffer, 32), 0x46DD794Eu);
    cr_assert_eq (zjob_crc32c_portable (0, buffer, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buffer [i] = (uint8_t) (31 - i);
    cr_assert_eq (zjob_crc32c (0, buffer, 32), 0x113FDB5Cu);
}

Test (crc32c, continues_across_buffers)
{
    const char *text = "The quick brown fox jumps over the lazy dog";
    size_t size = strlen (text);
    uint32_t whole = zjob_crc32c (0, text, size);
    for (size_t split = 0; split <= size; split++) {
        uint32_t crc = zjob_crc32c (0, text, split);
        cr_assert_eq (zjob_crc32c (crc, text + split, size - split), whole);
        crc = zjob_crc32c_portable (0, text, split);
        cr_assert_eq (zjob_crc32c_portable (crc, text + split, size - split), whole);
    }
}

Test (crc32c, hardware_and_table_agree)
{
    cr_log_info ("SSE4.2 crc32 instruction: %s",
                 __builtin_cpu_supports ("sse4.2") ? "used" : "not available");
    uint64_t state = 0x9E3779B97F4A7C15u;
    uint8_t buffer [256 + 8 + 8];
    for (size_t i = 0; i < sizeof (buffer); i++)
        buffer [i] = (uint8_t) s_rand (&state);
    for (size_t start = 0; start < 8; start++)
        for (size_t size = 0; size <= 256; size++) {
            uint32_t seed = (uint32_t) s_rand (&state);
            cr_assert_eq (zjob_crc32c (seed, buffer + start, size),
                          zjob_crc32c_portable (seed, buffer + start, size),
                          "start %zu size %zu", start, size);
        }
    //  A large buffer, where the 8-byte steps dominate
    size_t big = 1 << 20;
    uint8_t *data = malloc (big + 3);
    cr_assert_not_null (data);
    for (size_t i = 0; i < big + 3; i++)
        data [i] = (uint8_t) s_rand (&state);
    cr_assert_eq (zjob_crc32c (0, data + 3, big), zjob_crc32c_portable (0, data + 3, big));
    free (data);
}


//  --------------------------------------------------------------------------
//  Durations

Test (duration, units)
{
    cr_assert_eq (zjob_duration_parse ("0"), 0);
    cr_assert_eq (zjob_duration_parse ("250"), 250);
    cr_assert_eq (zjob_duration_parse ("50ms"), 50);
    cr_assert_eq (zjob_duration_parse ("2s"), 2000);
    cr_assert_eq (zjob_duration_parse ("5m"), 300000);
    cr_assert_eq (zjob_duration_parse ("1h"), 3600000);
    cr_assert_eq (zjob_duration_parse ("7d"), 7LL * 24 * 3600 * 1000);
    cr_assert_eq (zjob_duration_parse ("0s"), 0);
    cr_assert_eq (zjob_duration_parse ("007s"), 7000);
    cr_assert_eq (zjob_duration_parse ("9223372036854775807"), INT64_MAX);
    cr_assert_eq (zjob_duration_parse ("9223372036854775807ms"), INT64_MAX);
}

Test (duration, rejects_garbage_negatives_and_overflow)
{
    const char *bad [] = {
        "", "ms", "s", "-1", "-5s", "+5s", " 5s", "5s ", "5 s", "5x", "5sec", "5S", "5M",
        "1.5s", "5ss", "5mss", "0x10", "1e3", "abc", "5s5", "9223372036854775808",
        "9223372036854775807s", "106751991167301d", "99999999999999999999999",
        "153722867280912931m"
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++)
        cr_assert_eq (zjob_duration_parse (bad [i]), -1, "\"%s\" was accepted", bad [i]);
    cr_assert_eq (zjob_duration_parse (NULL), -1);
    //  The largest values that still fit
    cr_assert_eq (zjob_duration_parse ("106751991167d"), 106751991167LL * 86400000);
    cr_assert_eq (zjob_duration_parse ("9223372036854775s"), 9223372036854775LL * 1000);
}

//  --------------------------------------------------------------------------
//  String hashing

//  CZMQ's default zhashx hash, as a reference
static size_t
s_bernstein (const char *key)
{
    size_t hash = 0;
    while (*key)
        hash = 33 * hash ^ (unsigned char) *key++;
    return hash;
}

Test (util, hash_separates_ids_that_bernstein_confuses)
{
    //  Ids that differ in their last two characters, as consecutive ids do
    static const char alphabet [] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    static char ids [1024][ZJOB_ID_LEN + 1];
    for (int index = 0; index < 1024; index++) {
        snprintf (ids [index], sizeof ids [index], "06H262G2E4DH84V174%c%c",
                  alphabet [index / 32], alphabet [index % 32]);
        cr_assert (zjob_id_valid (ids [index]));
    }
    size_t confused = 0;
    for (int a = 0; a < 1024; a++)
        for (int b = a + 1; b < 1024; b++)
            if (s_bernstein (ids [a]) == s_bernstein (ids [b])) {
                confused++;
                cr_assert_neq (zjob_hash_string (ids [a]), zjob_hash_string (ids [b]),
                               "%s and %s", ids [a], ids [b]);
            }
    cr_assert_gt (confused, 100, "the reference hash confuses many of these ids");

    //  A table of all of them, held while many lookups run, as the job
    //  manager's held set is: every lookup finds its key, and the table
    //  stays whole (with the default hash zhashx grows on each lookup
    //  along a chain of exact collisions until malloc fails)
    zhashx_t *table = zjob_hashx_new ();
    cr_assert_not_null (table);
    for (int round = 0; round < 3; round++)
        for (int index = 0; index < 1024; index++) {
            if (round == 0)
                cr_assert_eq (zhashx_insert (table, ids [index], ids [index]), 0);
            cr_assert_eq (zhashx_lookup (table, ids [index]), ids [index]);
        }
    cr_assert_eq (zhashx_size (table), 1024);
    for (int index = 0; index < 1024; index += 2)
        zhashx_delete (table, ids [index]);
    cr_assert_eq (zhashx_size (table), 512);
    zhashx_destroy (&table);
}

static int
s_compare_hashes (const void *a, const void *b)
{
    size_t x = *(const size_t *) a, y = *(const size_t *) b;
    return x < y ? -1 : x > y;
}

//  Short keys (names, keys) end in the hash's tail, read in overlapping
//  loads: every string of 0 to 3 letters and every one-letter change of a
//  12-byte key hash apart
Test (util, hash_separates_short_and_nearby_keys)
{
    enum { SHORT = 1 + 26 + 26 * 26 + 26 * 26 * 26,
           NEAR = 12 * 26 };
    size_t *hashes = (size_t *) calloc (SHORT + NEAR, sizeof (size_t));
    cr_assert_not_null (hashes);
    size_t count = 0;
    char key [16];
    for (int length = 0; length <= 3; length++) {
        int total = 1;
        for (int i = 0; i < length; i++)
            total *= 26;
        for (int n = 0; n < total; n++) {
            int rest = n;
            for (int i = 0; i < length; i++, rest /= 26)
                key [i] = (char) ('a' + rest % 26);
            key [length] = 0;
            hashes [count++] = zjob_hash_string (key);
        }
    }
    for (int at = 0; at < 12; at++)
        for (int letter = 0; letter < 26; letter++) {
            memcpy (key, "key-00000000", 13);
            key [at] = (char) ('A' + letter);  //  Never the original byte
            hashes [count++] = zjob_hash_string (key);
        }
    cr_assert_eq (count, SHORT + NEAR);
    qsort (hashes, count, sizeof (size_t), s_compare_hashes);
    for (size_t index = 1; index < count; index++)
        cr_assert_neq (hashes [index], hashes [index - 1], "two keys share a hash");
    free (hashes);
}


//  zjob_grow: doubling from first, unchanged when big enough, and the old
//  array kept when the size would overflow
Test (util, grow_doubles_and_keeps_on_failure)
{
    size_t capacity = 0;
    int *items = (int *) zjob_grow (NULL, &capacity, 3, sizeof (int), 4);
    cr_assert_not_null (items);
    cr_assert_eq (capacity, 4);
    for (int index = 0; index < 4; index++)
        items [index] = index;
    cr_assert_eq (zjob_grow (items, &capacity, 4, sizeof (int), 4), items, "enough already");
    items = (int *) zjob_grow (items, &capacity, 9, sizeof (int), 4);
    cr_assert_eq (capacity, 16);
    cr_assert_eq (items [3], 3, "contents kept");
    cr_assert_null (zjob_grow (items, &capacity, SIZE_MAX / 2, sizeof (int), 4));
    cr_assert_eq (capacity, 16, "capacity unchanged on failure");
    free (items);
}
