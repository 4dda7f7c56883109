/*  =========================================================================
    zjob_msgpack - checking msgpack bytes before msgpack-c unpacks them,
    and a faster writer for msgpack-c's packer

    One pass over the bytes, no allocation: a stack of "items left" per
    open container. A value's first byte says what it is (the msgpack spec's
    format table); a length or count field follows for str, bin, ext and the
    larger containers. A container's count is checked against the bytes
    left before it is believed, which is the whole point. See the header
    for why.
    ========================================================================= */

#include "zjob_msgpack.h"

//  Big-endian unsigned of width bytes at p
static uint64_t
s_read_be (const uint8_t *p, int width)
{
    uint64_t value = 0;
    for (int i = 0; i < width; i++)
        value = (value << 8) | p [i];
    return value;
}

zjob_scan_t
zjob_msgpack_scan (const uint8_t *data, size_t size, int max_depth,
                   uint64_t max_objects, size_t *end_p)
{
    uint64_t pending [ZJOB_MSGPACK_DEPTH_MAX];  //  Items left per open container
    if (max_depth > ZJOB_MSGPACK_DEPTH_MAX)
        max_depth = ZJOB_MSGPACK_DEPTH_MAX;
    int depth = 0;
    size_t pos = 0;
    uint64_t objects = 0;
    do {
        if (pos >= size)
            return ZJOB_SCAN_TRUNCATED;
        uint8_t byte = data [pos++];
        int width = 0;                  //  Bytes of the length or count field
        uint64_t skip = 0;              //  Payload bytes after that field
        uint64_t items = 0;             //  Items of a container
        bool container = false;
        bool is_map = false;
        if (byte <= 0x7f || byte >= 0xe0 || byte == 0xc0 || byte == 0xc2 || byte == 0xc3)
            ;                           //  fixint, nil, bool: the byte alone
        else
        if (byte <= 0x8f) {
            container = is_map = true;
            items = byte & 0x0f;
        }
        else
        if (byte <= 0x9f) {
            container = true;
            items = byte & 0x0f;
        }
        else
        if (byte <= 0xbf)
            skip = byte & 0x1f;         //  fixstr
        else
        switch (byte) {
            case 0xc4: case 0xd9: width = 1; break;     //  bin8, str8
            case 0xc5: case 0xda: width = 2; break;     //  bin16, str16
            case 0xc6: case 0xdb: width = 4; break;     //  bin32, str32
            case 0xc7: width = 1; skip = 1; break;      //  ext8, + type byte
            case 0xc8: width = 2; skip = 1; break;      //  ext16
            case 0xc9: width = 4; skip = 1; break;      //  ext32
            case 0xca: skip = 4; break;                 //  float32
            case 0xcb: skip = 8; break;                 //  float64
            case 0xcc: case 0xd0: skip = 1; break;      //  (u)int8
            case 0xcd: case 0xd1: skip = 2; break;      //  (u)int16
            case 0xce: case 0xd2: skip = 4; break;      //  (u)int32
            case 0xcf: case 0xd3: skip = 8; break;      //  (u)int64
            case 0xd4: skip = 2; break;                 //  fixext1, + type byte
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: width = 2; container = true; break;
            case 0xdd: width = 4; container = true; break;
            case 0xde: width = 2; container = is_map = true; break;
            case 0xdf: width = 4; container = is_map = true; break;
            default: return ZJOB_SCAN_INVALID;          //  0xc1
        }
        if (width) {
            if ((size_t) width > size - pos)
                return ZJOB_SCAN_TRUNCATED;
            uint64_t length = s_read_be (data + pos, width);
            pos += width;
            if (container)
                items = length;
            else
                skip += length;
        }
        if (++objects > max_objects)
            return ZJOB_SCAN_TOO_MANY;
        if (container) {
            //  msgpack-c refuses any container header past its depth, even
            //  an empty one
            if (depth >= max_depth)
                return ZJOB_SCAN_TOO_DEEP;
            if (is_map)
                items *= 2;
            if (items > 0) {
                if (items > size - pos)
                    return ZJOB_SCAN_TRUNCATED;
                if (items > max_objects - objects)
                    return ZJOB_SCAN_TOO_MANY;
                pending [depth++] = items;
                continue;
            }
        }
        else {
            if (skip > size - pos)
                return ZJOB_SCAN_TRUNCATED;
            pos += (size_t) skip;
        }
        //  A value is complete; close the containers it completes
        while (depth > 0 && --pending [depth - 1] == 0)
            depth--;
    } while (depth > 0);
    *end_p = pos;
    return ZJOB_SCAN_OK;
}

bool
zjob_msgpack_is_map (const uint8_t *data, size_t size)
{
    if (!data || size == 0)
        return false;
    uint8_t byte = data [0];
    if (!((byte >= 0x80 && byte <= 0x8f) || byte == 0xde || byte == 0xdf))
        return false;
    size_t end = 0;
    return zjob_msgpack_scan (data, size, ZJOB_MSGPACK_DEPTH_MAX, UINT64_MAX, &end)
           == ZJOB_SCAN_OK && end == size;
}

int
zjob_msgpack_write (void *data, const char *buf, size_t len)
{
    msgpack_sbuffer *sbuf = (msgpack_sbuffer *) data;
    if (sbuf->alloc - sbuf->size < len || !buf)
        return msgpack_sbuffer_write (data, buf, len);
    char *to = sbuf->data + sbuf->size;
    sbuf->size += len;
    if (len > 16)
        memcpy (to, buf, len);
    else
        for (size_t index = 0; index < len; index++)
            to [index] = buf [index];
    return 0;
}
