/*  =========================================================================
    zjob_util - clocks, job ids, checksums and times shared by every layer

    Ids. An id is 100 bits written as 20 Crockford base32 characters, most
    significant first: 48 bits of wall-clock msecs, then a 52-bit counter.
    The counter starts at a random value (getrandom) in each process, so
    two brokers, or a broker and its restarted self, do not issue the same
    ids, and it steps by one per id, so ids from one issuer are strictly
    increasing. When the clock steps back, the issuer keeps writing the last
    msecs it used; if the counter wraps within one msec, the msecs move one
    forward. The state is per thread (each thread issues its own
    sequence, as the header says) and is reseeded in a forked child,
    which would otherwise repeat its parent's ids.

    CRC-32C. The reflected Castagnoli polynomial 0x82F63B78 with the usual
    pre- and post-inversion, so zjob_crc32c (0, "123456789", 9) is the
    standard check value 0xE3069283 and a CRC can be continued across
    buffers. On x86-64 CPUs with SSE4.2 the crc32 instruction does 8 bytes
    per step; elsewhere a slicing-by-8 table does the same in software. The
    choice is made once, at the first call.
    ========================================================================= */

#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/random.h>
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif
#include "zjob_util.h"

#define ID_MS_BITS 48
#define ID_COUNT_BITS 52
#define ID_MS_MASK ((UINT64_C (1) << ID_MS_BITS) - 1)
#define ID_COUNT_MASK ((UINT64_C (1) << ID_COUNT_BITS) - 1)

static const char s_crockford [] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";


//  --------------------------------------------------------------------------
//  Clocks

int64_t
zjob_clock_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
zjob_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


//  --------------------------------------------------------------------------
//  Job ids

static _Thread_local struct {
    bool seeded;       //  counter holds a random start
    uint64_t last_ms;  //  msecs written in the last id
    uint64_t counter;  //  52-bit counter of the last id
} s_ids;

static pthread_once_t s_ids_once = PTHREAD_ONCE_INIT;

//  In a forked child the forking thread's state is a copy of the parent's
static void
s_ids_atfork_child (void)
{
    s_ids.seeded = false;
}

static void
s_ids_init_once (void)
{
    pthread_atfork (NULL, NULL, s_ids_atfork_child);
}

static uint64_t
s_random_u64 (void)
{
    uint64_t value;
    if (getrandom (&value, sizeof (value), GRND_NONBLOCK) == (ssize_t) sizeof (value))
        return value;
    //  No entropy yet (early boot): mix what differs between processes
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    value = (uint64_t) ts.tv_nsec * UINT64_C (0x9E3779B97F4A7C15)
        ^ (uint64_t) getpid () << 32
        ^ (uint64_t) (uintptr_t) &s_ids;
    value ^= value >> 29;
    return value * UINT64_C (0xBF58476D1CE4E5B9);
}

void
zjob_id_new (char *id)
{
    if (!s_ids.seeded) {
        pthread_once (&s_ids_once, s_ids_init_once);
        s_ids.counter = s_random_u64 () & ID_COUNT_MASK;
        s_ids.last_ms = 0;
        s_ids.seeded = true;
    }
    uint64_t now = (uint64_t) zjob_clock_ms () & ID_MS_MASK;
    uint64_t ms = now > s_ids.last_ms ? now : s_ids.last_ms;
    uint64_t counter = (s_ids.counter + 1) & ID_COUNT_MASK;
    if (counter == 0 && ms == s_ids.last_ms)
        ms++;  //  Wrapped within one msec
    s_ids.last_ms = ms;
    s_ids.counter = counter;

    //  Character i holds bits [95 - 5i, 100 - 5i) of ms:counter
    for (int i = 0; i < ZJOB_ID_LEN; i++) {
        int low = 95 - 5 * i;
        uint64_t bits = low >= ID_COUNT_BITS
            ? ms >> (low - ID_COUNT_BITS)
            : (ms << (ID_COUNT_BITS - low)) | (counter >> low);
        id [i] = s_crockford [bits & 31];
    }
    id [ZJOB_ID_LEN] = 0;
}

//  Value of each canonical (upper-case) Crockford digit, -1 for any other
//  byte: a table, since every id from the network is checked with it
static const int8_t s_crockford_values [256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16, ['G'] = 17, ['H'] = 18, ['J'] = 19, ['K'] = 20, ['M'] = 21, ['N'] = 22, ['P'] = 23, ['Q'] = 24, ['R'] = 25, ['S'] = 26, ['T'] = 27, ['V'] = 28, ['W'] = 29, ['X'] = 30, ['Y'] = 31, ['Z'] = 32
};  //  Value + 1: 0 marks a non-digit

static inline int
s_crockford_value (char c)
{
    return s_crockford_values [(unsigned char) c] - 1;
}

bool
zjob_id_valid (const char *id)
{
    if (!id)
        return false;
    for (int i = 0; i < ZJOB_ID_LEN; i++)
        if (s_crockford_value (id [i]) < 0)
            return false;  //  Also stops at a NUL
    return id [ZJOB_ID_LEN] == 0;
}

int64_t
zjob_id_time_ms (const char *id)
{
    if (!zjob_id_valid (id))
        return -1;
    //  The 48 msecs bits are the first 9 characters and 3 bits of the 10th
    uint64_t ms = 0;
    for (int i = 0; i < 9; i++)
        ms = (ms << 5) | (uint64_t) s_crockford_value (id [i]);
    ms = (ms << 3) | ((uint64_t) s_crockford_value (id [9]) >> 2);
    return (int64_t) ms;
}


//  --------------------------------------------------------------------------
//  CRC-32C

#define CRC32C_POLY 0x82F63B78u  //  Castagnoli, reflected

static uint32_t s_crc_table [8][256];  //  Slicing-by-8 tables
static bool s_crc_hardware;            //  Use the SSE4.2 instruction
static pthread_once_t s_crc_once = PTHREAD_ONCE_INIT;

static void
s_crc_init_once (void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (CRC32C_POLY & (0u - (crc & 1)));
        s_crc_table [0][n] = crc;
    }
    for (int t = 1; t < 8; t++)
        for (int n = 0; n < 256; n++) {
            uint32_t prev = s_crc_table [t - 1][n];
            s_crc_table [t][n] = (prev >> 8) ^ s_crc_table [0][prev & 0xFF];
        }
#if defined(__x86_64__)
    __builtin_cpu_init ();
    s_crc_hardware = __builtin_cpu_supports ("sse4.2");
#endif
}

//  Raw CRC (no inversion) by table, 8 bytes per step
static uint32_t
s_crc32c_table (uint32_t crc, const uint8_t *p, size_t size)
{
    while (size >= 8) {
        uint32_t lo = crc ^ ((uint32_t) p [0] | (uint32_t) p [1] << 8 | (uint32_t) p [2] << 16 | (uint32_t) p [3] << 24);
        crc = s_crc_table [7][lo & 0xFF] ^ s_crc_table [6][(lo >> 8) & 0xFF]
            ^ s_crc_table [5][(lo >> 16) & 0xFF] ^ s_crc_table [4][lo >> 24]
            ^ s_crc_table [3][p [4]] ^ s_crc_table [2][p [5]]
            ^ s_crc_table [1][p [6]] ^ s_crc_table [0][p [7]];
        p += 8;
        size -= 8;
    }
    while (size--)
        crc = (crc >> 8) ^ s_crc_table [0][(crc ^ *p++) & 0xFF];
    return crc;
}

#if defined(__x86_64__)
//  Raw CRC (no inversion) by the SSE4.2 crc32 instruction
__attribute__ ((target ("sse4.2"))) static uint32_t
s_crc32c_sse42 (uint32_t crc, const uint8_t *p, size_t size)
{
    while (size > 0 && ((uintptr_t) p & 7)) {
        crc = _mm_crc32_u8 (crc, *p++);
        size--;
    }
    uint64_t crc64 = crc;
    while (size >= 8) {
        uint64_t word;
        memcpy (&word, p, 8);
        crc64 = _mm_crc32_u64 (crc64, word);
        p += 8;
        size -= 8;
    }
    crc = (uint32_t) crc64;
    while (size--)
        crc = _mm_crc32_u8 (crc, *p++);
    return crc;
}
#endif

uint32_t
zjob_crc32c (uint32_t crc, const void *data, size_t size)
{
    pthread_once (&s_crc_once, s_crc_init_once);
#if defined(__x86_64__)
    if (s_crc_hardware)
        return ~s_crc32c_sse42 (~crc, (const uint8_t *) data, size);
#endif
    return ~s_crc32c_table (~crc, (const uint8_t *) data, size);
}

uint32_t
zjob_crc32c_portable (uint32_t crc, const void *data, size_t size)
{
    pthread_once (&s_crc_once, s_crc_init_once);
    return ~s_crc32c_table (~crc, (const uint8_t *) data, size);
}


//  --------------------------------------------------------------------------
//  Durations

int64_t
zjob_duration_parse (const char *text)
{
    if (!text || *text < '0' || *text > '9')
        return -1;  //  Also refuses "", "-5", "+5", " 5"
    int64_t value = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9'; p++) {
        int digit = *p - '0';
        if (value > (INT64_MAX - digit) / 10)
            return -1;
        value = value * 10 + digit;
    }
    int64_t unit;
    if (*p == 0 || strcmp (p, "ms") == 0)
        unit = 1;
    else if (strcmp (p, "s") == 0)
        unit = 1000;
    else if (strcmp (p, "m") == 0)
        unit = 60 * 1000;
    else if (strcmp (p, "h") == 0)
        unit = 3600 * 1000;
    else if (strcmp (p, "d") == 0)
        unit = 24 * 3600 * 1000;
    else
        return -1;
    if (value > INT64_MAX / unit)
        return -1;
    return value * unit;
}


//  --------------------------------------------------------------------------
//  String hashing for zhashx

static uint64_t s_hash_seed;  //  Random per process, 0 until set
static pthread_once_t s_hash_once = PTHREAD_ONCE_INIT;

static void
s_hash_seed_init (void)
{
    s_hash_seed = s_random_u64 ();
}

//  Eight bytes at a time: each word is mixed in by xor, an odd multiply
//  and a shift-xor (each step a bijection of the state, so two keys that
//  differ in one word part there for good), then the finalizer. Byte-wise
//  FNV-1a cost 135 instructions per 20-character job id, and the broker
//  hashes some 25 strings per job: this costs about 75, strlen included
//  (callgrind).
size_t
zjob_hash_string (const void *key)
{
    //  The seed is fixed before the first hash: a table keeps its hashes
    pthread_once (&s_hash_once, s_hash_seed_init);
    const unsigned char *bytes = (const unsigned char *) key;
    size_t left = strlen ((const char *) key);
    uint64_t hash = s_hash_seed ^ (left * 0x9E3779B97F4A7C15ULL);
    uint64_t word;
    while (left >= sizeof (word)) {
        memcpy (&word, bytes, sizeof (word));
        hash = (hash ^ word) * 0xbf58476d1ce4e5b9ULL;
        hash ^= hash >> 31;
        bytes += sizeof (word);
        left -= sizeof (word);
    }
    //  The last 0 to 7 bytes in two loads that may overlap (the length,
    //  mixed in above, tells them apart): no byte loop
    if (left >= 4) {
        uint32_t head, tail;
        memcpy (&head, bytes, 4);
        memcpy (&tail, bytes + left - 4, 4);
        word = (uint64_t) head | (uint64_t) tail << 32;
    }
    else
        word = left ? (uint64_t) bytes [0] | (uint64_t) bytes [left / 2] << 8
                | (uint64_t) bytes [left - 1] << 16
                    : 0;
    hash = (hash ^ word) * 0xbf58476d1ce4e5b9ULL;
    //  Finalizer: spread every input bit over every output bit
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdULL;
    hash ^= hash >> 33;
    hash *= 0xc4ceb9fe1a85ec53ULL;
    hash ^= hash >> 33;
    return (size_t) hash;
}

zhashx_t *
zjob_hashx_new (void)
{
    pthread_once (&s_hash_once, s_hash_seed_init);
    zhashx_t *hash = zhashx_new ();
    if (hash)
        zhashx_set_key_hasher (hash, zjob_hash_string);
    return hash;
}


//  --------------------------------------------------------------------------
//  CZMQ's set-up, once (zsys_init, then CZMQ's own zsys_set_* calls inside
//  it, all before any socket: see zjob_util.h)

static pthread_once_t s_czmq_once = PTHREAD_ONCE_INIT;
static void *s_czmq_context;  //  zsys_init's answer, NULL if it failed

static void
s_czmq_init_once (void)
{
    s_czmq_context = zsys_init ();
}

int
zjob_czmq_init (void)
{
    pthread_once (&s_czmq_once, s_czmq_init_once);
    return s_czmq_context ? 0 : -1;
}


//  --------------------------------------------------------------------------
//  Endpoints

int
zjob_endpoint_check (const char *endpoint, zjob_error_t *err)
{
    if (!endpoint || !*endpoint)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "no endpoint given");
    if (strstr (endpoint, "://"))
        return 0;
    return zjob_error_set (err, ZJOB_BAD_REQUEST, "bad endpoint \"%s\": an endpoint must "
                                                  "include a transport, e.g. tcp://%s",
                           endpoint ? endpoint : "",
                           endpoint ? endpoint : "HOST:PORT");
}


//  --------------------------------------------------------------------------
//  Growing arrays

void *
zjob_grow (void *data, size_t *capacity, size_t needed, size_t item_size, size_t first)
{
    if (needed <= *capacity)
        return data;
    size_t max = *capacity ? *capacity : (first ? first : 1);
    while (max < needed) {
        if (max > SIZE_MAX / 2 / item_size)
            return NULL;
        max *= 2;
    }
    void *grown = realloc (data, max * item_size);
    if (grown)
        *capacity = max;
    return grown;
}


//  --------------------------------------------------------------------------
//  Times for people

char *
zjob_iso_seconds (int64_t ms, char *text, size_t size)
{
    assert (text && size);
    time_t when = (time_t) (ms / 1000);
    struct tm tm;
    if (!gmtime_r (&when, &tm) || strftime (text, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf (text, size, "%" PRId64 " ms", ms);
    return text;
}
