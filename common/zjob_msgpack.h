/*  =========================================================================
    zjob_msgpack - checking msgpack bytes before msgpack-c unpacks them,
    and zjob_packbuf, a buffered encoder for records of many small values

    msgpack-c sizes a container's object array from the count in its header
    before it reads the items, so a five-byte "array of 4 billion" from the
    network or a damaged file asks for ~100 GB. Every decoder in zjob (the
    job codec, the wire codec) therefore scans the bytes first, without
    allocating: each header must fit in what remains (an item takes a byte
    at least), nesting stops at a depth no deeper than msgpack-c's own limit
    (MSGPACK_EMBED_STACK_SIZE), and the number of values can be capped.
    Bytes that pass unpack into at most a small multiple of their size.
    ========================================================================= */

#ifndef ZJOB_MSGPACK_H_INCLUDED
#define ZJOB_MSGPACK_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <msgpack.h>
#include <msgpack/unpack_define.h>  //  MSGPACK_EMBED_STACK_SIZE

#ifdef __cplusplus
extern "C" {
#endif

//  The deepest nesting msgpack-c accepts: containers open at once
#define ZJOB_MSGPACK_DEPTH_MAX MSGPACK_EMBED_STACK_SIZE

typedef enum {
    ZJOB_SCAN_OK = 0,
    ZJOB_SCAN_TRUNCATED,  //  The bytes end inside a value
    ZJOB_SCAN_INVALID,    //  0xc1, a byte msgpack never uses
    ZJOB_SCAN_TOO_DEEP,   //  Containers nested past max_depth
    ZJOB_SCAN_TOO_MANY    //  More values than max_objects
} zjob_scan_t;

//  Scan the one msgpack value at the start of size bytes at data, with at
//  most max_depth containers open at once (clipped to
//  ZJOB_MSGPACK_DEPTH_MAX) and at most max_objects values in all. On
//  ZJOB_SCAN_OK, *end_p is the value's length: bytes after it are not read.
zjob_scan_t
zjob_msgpack_scan (const uint8_t *data, size_t size, int max_depth,
                   uint64_t max_objects, size_t *end_p);

//  True if size bytes at data are exactly one msgpack map (empty is not).
bool
zjob_msgpack_is_map (const uint8_t *data, size_t size);

//  Whether a map's string keys are all distinct. Returns 0 if they are,
//  1 if one repeats an earlier one (*index_p, if not NULL, gets the index
//  of the repeat in map->via.map.ptr), -1 if out of memory. Keys that are
//  not strings are ignored (decoders refuse them before). Pairwise up to
//  ZJOB_MSGPACK_PAIRWISE_MAX keys, sorted beyond: a big map costs n log n.
#define ZJOB_MSGPACK_PAIRWISE_MAX 24
int
zjob_msgpack_map_repeated (const msgpack_object *map, uint32_t *index_p);

//  What zjob_msgpack_merge_maps says
typedef enum {
    ZJOB_MERGE_OK = 0,
    ZJOB_MERGE_BAD_BASE,   //  base is not exactly one msgpack map
    ZJOB_MERGE_BAD_OVER,   //  over is not
    ZJOB_MERGE_TOO_LARGE,  //  The merged map would pass max_size bytes
    ZJOB_MERGE_NO_MEMORY
} zjob_merge_t;

//  Merge two msgpack maps shallowly, as a template's defaults and a
//  submit's own values are: the result holds each top-level pair of base
//  whose key over does not have, in base's order, then every pair of over,
//  in its order, so over's values win; values are copied verbatim, never
//  decoded. Keys are equal when both are strings with the same bytes
//  (whatever the str format that encodes them), or otherwise encoded
//  alike. Size 0 is the empty map on both sides (as a job's inputs are).
//  On ZJOB_MERGE_OK *out_p gets a malloc'd map the caller frees, of
//  *out_size_p bytes, at most max_size; or NULL and 0 when the result is
//  empty. Each input is scanned once (zjob_msgpack_scan); a repeated key
//  inside one input stays repeated. O((n + m) log m) for n and m pairs.
zjob_merge_t
zjob_msgpack_merge_maps (const uint8_t *base, size_t base_size, const uint8_t *over,
                         size_t over_size, size_t max_size, uint8_t **out_p,
                         size_t *out_size_p);

//  The big-endian unsigned number of width bytes at p (a msgpack length,
//  count or integer body); the caller has checked that they are there.
static inline uint64_t
zjob_msgpack_read_be (const uint8_t *p, int width)
{
    uint64_t value = 0;
    for (int i = 0; i < width; i++)
        value = (value << 8) | p [i];
    return value;
}

//  A buffer in front of a msgpack_packer, for records of many small
//  values (a job is some 45): each value is encoded straight into bytes,
//  in msgpack-c's own choice of formats (the smallest that holds it), and
//  the buffer reaches the packer's callback in one write when it fills or
//  is flushed. A str or bin body of ZJOB_PACKBUF_DIRECT bytes or more goes
//  to the callback directly, not through the buffer. A failed write is
//  remembered; zjob_packbuf_flush returns it.
#define ZJOB_PACKBUF_SIZE 512
#define ZJOB_PACKBUF_DIRECT 128

typedef struct {
    msgpack_packer *pk;  //  Where the bytes go
    size_t used;         //  Bytes waiting in bytes
    int rc;              //  Nonzero once a write failed
    char bytes [ZJOB_PACKBUF_SIZE];
} zjob_packbuf_t;

void
zjob_packbuf_init (zjob_packbuf_t *self, msgpack_packer *pk);
void
zjob_packbuf_map (zjob_packbuf_t *self, uint32_t count);
void
zjob_packbuf_array (zjob_packbuf_t *self, uint32_t count);
void
zjob_packbuf_str (zjob_packbuf_t *self, const char *text, size_t len);
void
zjob_packbuf_bin (zjob_packbuf_t *self, const void *data, size_t len);
void
zjob_packbuf_uint (zjob_packbuf_t *self, uint64_t value);
void
zjob_packbuf_int (zjob_packbuf_t *self, int64_t value);
void
zjob_packbuf_float (zjob_packbuf_t *self, float value);
void
zjob_packbuf_bool (zjob_packbuf_t *self, bool value);
//  Bytes that are already msgpack (a constant key, say)
void
zjob_packbuf_raw (zjob_packbuf_t *self, const void *data, size_t len);
//  Write what is buffered; 0, or -1 if any write failed
int
zjob_packbuf_flush (zjob_packbuf_t *self);

#ifdef __cplusplus
}
#endif

#endif
