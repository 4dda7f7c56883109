/*  =========================================================================
    zjob_util - clocks, job ids and checksums shared by every layer

    Job ids are 20 characters of Crockford base32 encoding 100 bits: 48 bits
    of wall-clock milliseconds followed by 52 bits that start random in each
    process and increase by one per id. Two properties follow: ids sort as
    strings in creation order (so "newest first" needs no second key), and
    ids from one process are strictly increasing even when the wall clock
    steps back, because a new id never goes below the last one issued.

    The journal checksum is CRC-32C (Castagnoli, as in iSCSI and ext4),
    here rather than from ISA-L (Debian's libisal-dev) on measurement: the
    two are level on journal-sized records (a few hundred bytes) and this
    one is faster on small ones (bench/bench_crc.c, README "Dependencies").
    The SSE4.2 crc32 instruction where the CPU has it, a slicing-by-8
    table otherwise.

    This header is internal to the tree. What libzjob's users need of it
    (the id length, checking an id, the wall clock) is declared in
    zjob_id.h, which it includes and libzjob installs.
    ========================================================================= */

#ifndef ZJOB_UTIL_H_INCLUDED
#define ZJOB_UTIL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <czmq.h>
#include "zjob_id.h"  //  ZJOB_ID_LEN, clock, id checks
#include "zjob_error.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Monotonic time in milliseconds; for intervals and deadlines only.
int64_t
zjob_mono_ms (void);

//  Write a new job id into id (ZJOB_ID_LEN + 1 bytes, NUL-terminated).
//  The issuer's state is per thread: ids from one thread strictly increase,
//  and each thread (as each process) starts its counter at a random value.
void
zjob_id_new (char *id);

//  CRC-32C of size bytes at data, continuing from crc (0 to start).
uint32_t
zjob_crc32c (uint32_t crc, const void *data, size_t size);

//  The same CRC by the portable table only, whatever the CPU; exposed so
//  the tests can check that both paths agree.
uint32_t
zjob_crc32c_portable (uint32_t crc, const void *data, size_t size);

//  A zhashx keyed by strings, with a sound hash function. CZMQ's default
//  (Bernstein's, with xor) gives exact collisions for strings as alike as
//  job ids (182 pairs among 1,024 ids that differ in their last two
//  characters, such as ...V17400 and ...V1743S), and zhashx answers a
//  chain longer than its limit by growing its table on every lookup, past
//  the end of its table of sizes, until malloc fails. This hash is a
//  word-at-a-time multiply-xor hash with a per-process random seed and a
//  64-bit finalizer (see the tests for the ids CZMQ's default confuses).
//  Use it for every string-keyed zhashx.
zhashx_t *
zjob_hashx_new (void);

//  The hash zjob_hashx_new installs, for a NUL-terminated string key.
size_t
zjob_hash_string (const void *key);

//  Open addressing with linear probing, removal by backward shift: after
//  a removal leaves slot hole empty, the entry at index (further along the
//  run) whose hash puts its home slot at home must stay where it is if
//  home lies cyclically in (hole, index]; else it moves into the hole.
static inline bool
zjob_probe_stays (size_t hole, size_t index, size_t home)
{
    return hole <= index ? (home > hole && home <= index)
                         : (home > hole || home <= index);
}

//  Parse a duration such as "50ms", "2s", "5m", "7d" or "250" (msecs).
//  Returns msecs, or -1 if the text is not a duration.
int64_t
zjob_duration_parse (const char *text);

//  CZMQ's process-wide set-up (zsys_init), done exactly once however many
//  threads ask at the same moment. zsys_init is not thread-safe: threads
//  that create their first sockets together abort inside CZMQ. libzjob
//  calls this before it creates any socket, so that threads may create
//  clients and workers at once. Returns 0, or -1 if CZMQ could not start.
int
zjob_czmq_init (void);

//  An endpoint without a transport ("127.0.0.1:5571") is a common slip
//  that libzmq reports only as "Invalid argument". Returns 0 if endpoint
//  names one, else -1 with err filled (ZJOB_BAD_REQUEST): "no endpoint
//  given" for NULL or "", else the endpoint and an example.
int
zjob_endpoint_check (const char *endpoint, zjob_error_t *err);

//  An array of item_size-byte items that grows by doubling: returns data
//  grown to hold at least needed items (from first items, then twice as
//  many each time), with *capacity set to its new size; or data itself
//  when it holds enough already; or NULL when memory ran out (data and
//  *capacity are then unchanged and still valid).
void *
zjob_grow (void *data, size_t *capacity, size_t needed, size_t item_size, size_t first);

#define ZJOB_ISO_SECONDS_MAX 32  //  bytes of zjob_iso_seconds's text, with the NUL

//  ms (wall clock ms since the epoch) as ISO 8601 UTC to the second,
//  "2026-12-06T01:02:03Z", into text (ZJOB_ISO_SECONDS_MAX bytes). Returns text.
char *
zjob_iso_seconds (int64_t ms, char *text, size_t size);

#ifdef __cplusplus
}
#endif

#endif
