/*  =========================================================================
    zjob_msgpack - checking msgpack bytes before msgpack-c unpacks them,
    and a faster writer for msgpack-c's packer

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
#include <msgpack/unpack_define.h>      //  MSGPACK_EMBED_STACK_SIZE

#ifdef __cplusplus
extern "C" {
#endif

//  The deepest nesting msgpack-c accepts: containers open at once
#define ZJOB_MSGPACK_DEPTH_MAX MSGPACK_EMBED_STACK_SIZE

typedef enum {
    ZJOB_SCAN_OK = 0,
    ZJOB_SCAN_TRUNCATED,                //  The bytes end inside a value
    ZJOB_SCAN_INVALID,                  //  0xc1, a byte msgpack never uses
    ZJOB_SCAN_TOO_DEEP,                 //  Containers nested past max_depth
    ZJOB_SCAN_TOO_MANY                  //  More values than max_objects
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

//  A msgpack_packer write callback into a msgpack_sbuffer: the same as
//  msgpack_sbuffer_write (which it calls to grow the buffer), with the
//  packer's many writes of a few bytes copied inline rather than through
//  memcpy. Packing a job is some 40 writes, most of 1 to 9 bytes.
int
    zjob_msgpack_write (void *data, const char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
