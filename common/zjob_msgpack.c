/*  =========================================================================
    zjob_msgpack - checking msgpack bytes before msgpack-c unpacks them,
    and zjob_packbuf, a buffered encoder for records of many small values

    One pass over the bytes, no allocation: a stack of "items left" per
    open container. A value's first byte says what it is (the msgpack spec's
    format table); a length or count field follows for str, bin, ext and the
    larger containers. A container's count is checked against the bytes
    left before it is believed, which is the whole point. See the header
    for why.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_msgpack.h"

//  What a header byte from 0xc0 to 0xdf says (the msgpack spec's format
//  table): the bytes of its length or count field, the payload bytes that
//  follow it besides that length (an ext's type byte, a number), and
//  whether it opens an array or a map
typedef enum {
    S_VALUE = 0,
    S_ARRAY,
    S_MAP,
    S_INVALID
} s_kind_t;
typedef struct {
    uint8_t width;
    uint8_t skip;
    uint8_t kind;  //  s_kind_t
} s_format_t;

static const s_format_t s_formats [32] = {
    [0x00] = { 0, 0, S_VALUE },    //  0xc0 nil
    [0x01] = { 0, 0, S_INVALID },  //  0xc1 (never used)
    [0x02] = { 0, 0, S_VALUE },    //  0xc2 false
    [0x03] = { 0, 0, S_VALUE },    //  0xc3 true
    [0x04] = { 1, 0, S_VALUE },    //  0xc4 bin8
    [0x05] = { 2, 0, S_VALUE },    //  0xc5 bin16
    [0x06] = { 4, 0, S_VALUE },    //  0xc6 bin32
    [0x07] = { 1, 1, S_VALUE },    //  0xc7 ext8
    [0x08] = { 2, 1, S_VALUE },    //  0xc8 ext16
    [0x09] = { 4, 1, S_VALUE },    //  0xc9 ext32
    [0x0a] = { 0, 4, S_VALUE },    //  0xca float32
    [0x0b] = { 0, 8, S_VALUE },    //  0xcb float64
    [0x0c] = { 0, 1, S_VALUE },    //  0xcc uint8
    [0x0d] = { 0, 2, S_VALUE },    //  0xcd uint16
    [0x0e] = { 0, 4, S_VALUE },    //  0xce uint32
    [0x0f] = { 0, 8, S_VALUE },    //  0xcf uint64
    [0x10] = { 0, 1, S_VALUE },    //  0xd0 int8
    [0x11] = { 0, 2, S_VALUE },    //  0xd1 int16
    [0x12] = { 0, 4, S_VALUE },    //  0xd2 int32
    [0x13] = { 0, 8, S_VALUE },    //  0xd3 int64
    [0x14] = { 0, 2, S_VALUE },    //  0xd4 fixext1
    [0x15] = { 0, 3, S_VALUE },    //  0xd5 fixext2
    [0x16] = { 0, 5, S_VALUE },    //  0xd6 fixext4
    [0x17] = { 0, 9, S_VALUE },    //  0xd7 fixext8
    [0x18] = { 0, 17, S_VALUE },   //  0xd8 fixext16
    [0x19] = { 1, 0, S_VALUE },    //  0xd9 str8
    [0x1a] = { 2, 0, S_VALUE },    //  0xda str16
    [0x1b] = { 4, 0, S_VALUE },    //  0xdb str32
    [0x1c] = { 2, 0, S_ARRAY },    //  0xdc array16
    [0x1d] = { 4, 0, S_ARRAY },    //  0xdd array32
    [0x1e] = { 2, 0, S_MAP },      //  0xde map16
    [0x1f] = { 4, 0, S_MAP },      //  0xdf map32
};

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
        int width = 0;       //  Bytes of the length or count field
        uint64_t skip = 0;   //  Payload bytes after that field
        uint64_t items = 0;  //  Items of a container
        bool container = false;
        bool is_map = false;
        if (byte <= 0x7f || byte >= 0xe0)
            ;  //  fixint: the byte alone
        else if (byte <= 0x8f) {
            container = is_map = true;
            items = byte & 0x0f;
        }
        else if (byte <= 0x9f) {
            container = true;
            items = byte & 0x0f;
        }
        else if (byte <= 0xbf)
            skip = byte & 0x1f;  //  fixstr
        else {
            const s_format_t *format = &s_formats [byte - 0xc0];
            if (format->kind == S_INVALID)
                return ZJOB_SCAN_INVALID;  //  0xc1
            width = format->width;
            skip = format->skip;
            container = format->kind != S_VALUE;
            is_map = format->kind == S_MAP;
        }
        if (width) {
            if ((size_t) width > size - pos)
                return ZJOB_SCAN_TRUNCATED;
            uint64_t length = zjob_msgpack_read_be (data + pos, width);
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
        == ZJOB_SCAN_OK
        && end == size;
}

//  --------------------------------------------------------------------------
//  Repeated keys: a few keys are compared pairwise (no allocation, and
//  the length check turns most pairs down at once); many are sorted by
//  length then bytes, so that a repeat ends up next to its twin.

static int
s_key_compare (const msgpack_object_str *a, const msgpack_object_str *b)
{
    if (a->size != b->size)
        return a->size < b->size ? -1 : 1;
    return a->size ? memcmp (a->ptr, b->ptr, a->size) : 0;
}

static int
s_kv_compare (const void *a, const void *b)
{
    const msgpack_object_kv *x = *(const msgpack_object_kv *const *) a;
    const msgpack_object_kv *y = *(const msgpack_object_kv *const *) b;
    int rc = s_key_compare (&x->key.via.str, &y->key.via.str);
    //  Equal keys keep their order, so the later one is the repeat
    return rc ? rc : (x > y) - (x < y);
}

int
zjob_msgpack_map_repeated (const msgpack_object *map, uint32_t *index_p)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return 0;
    uint32_t size = map->via.map.size;
    const msgpack_object_kv *kvs = map->via.map.ptr;
    if (size <= ZJOB_MSGPACK_PAIRWISE_MAX) {
        for (uint32_t i = 1; i < size; i++) {
            if (kvs [i].key.type != MSGPACK_OBJECT_STR)
                continue;
            for (uint32_t j = 0; j < i; j++)
                if (kvs [j].key.type == MSGPACK_OBJECT_STR
                    && s_key_compare (&kvs [i].key.via.str, &kvs [j].key.via.str) == 0) {
                    if (index_p)
                        *index_p = i;
                    return 1;
                }
        }
        return 0;
    }
    const msgpack_object_kv **sorted = (const msgpack_object_kv **) malloc (size * sizeof (*sorted));
    if (!sorted)
        return -1;
    uint32_t count = 0;
    for (uint32_t i = 0; i < size; i++)
        if (kvs [i].key.type == MSGPACK_OBJECT_STR)
            sorted [count++] = &kvs [i];
    qsort (sorted, count, sizeof (*sorted), s_kv_compare);
    int rc = 0;
    for (uint32_t i = 1; i < count && rc == 0; i++)
        if (s_key_compare (&sorted [i]->key.via.str, &sorted [i - 1]->key.via.str) == 0) {
            if (index_p)
                *index_p = (uint32_t) (sorted [i] - kvs);
            rc = 1;
        }
    free (sorted);
    return rc;
}


//  --------------------------------------------------------------------------
//  Merging two maps shallowly: every pair is found by scanning, as byte
//  spans (key, value); the keys of over are sorted once, so that each key
//  of base is looked up by binary search.

//  A pair of a map, as spans of its bytes
typedef struct {
    const uint8_t *key;    //  The key's identity: a str's body, or the raw key
    size_t key_size;       //  Its bytes
    bool key_str;          //  The key is a str
    const uint8_t *start;  //  The pair's encoding (key and value)
    size_t size;           //  Its bytes
} s_pair_t;

static int
s_pair_compare (const void *a, const void *b)
{
    const s_pair_t *x = (const s_pair_t *) a, *y = (const s_pair_t *) b;
    if (x->key_str != y->key_str)
        return x->key_str ? 1 : -1;
    if (x->key_size != y->key_size)
        return x->key_size < y->key_size ? -1 : 1;
    return x->key_size ? memcmp (x->key, y->key, x->key_size) : 0;
}

//  The map's count of pairs and where they start; -1 if data is not a map
//  header (size 0 is the empty map)
static int
s_map_header (const uint8_t *data, size_t size, uint64_t *count, size_t *first)
{
    if (size == 0) {
        *count = 0;
        *first = 0;
        return 0;
    }
    if (!data || !zjob_msgpack_is_map (data, size))
        return -1;
    if (data [0] <= 0x8f) {
        *count = data [0] & 0x0f;
        *first = 1;
    }
    else {
        int width = data [0] == 0xde ? 2 : 4;
        *count = zjob_msgpack_read_be (data + 1, width);
        *first = 1 + (size_t) width;
    }
    return 0;
}

//  Split a map (already checked) into count pairs, into pairs
static void
s_map_pairs (const uint8_t *data, size_t size, size_t at, uint64_t count, s_pair_t *pairs)
{
    for (uint64_t index = 0; index < count; index++) {
        size_t key_end = 0, value_end = 0;
        //  The map scanned whole: each part scans too
        zjob_msgpack_scan (data + at, size - at, ZJOB_MSGPACK_DEPTH_MAX, UINT64_MAX, &key_end);
        zjob_msgpack_scan (data + at + key_end, size - at - key_end, ZJOB_MSGPACK_DEPTH_MAX,
                           UINT64_MAX, &value_end);
        s_pair_t *pair = &pairs [index];
        uint8_t byte = data [at];
        pair->key_str = (byte >= 0xa0 && byte <= 0xbf) || (byte >= 0xd9 && byte <= 0xdb);
        //  The header of a str key: fixstr 1 byte, str8 2, str16 3, str32 5
        size_t head = byte == 0xd9 ? 2 : byte == 0xda ? 3
            : byte == 0xdb                            ? 5
                                                      : 1;
        pair->key = data + at + (pair->key_str ? head : 0);
        pair->key_size = pair->key_str ? key_end - head : key_end;
        pair->start = data + at;
        pair->size = key_end + value_end;
        at += pair->size;
    }
}

zjob_merge_t
zjob_msgpack_merge_maps (const uint8_t *base, size_t base_size, const uint8_t *over,
                         size_t over_size, size_t max_size, uint8_t **out_p,
                         size_t *out_size_p)
{
    *out_p = NULL;
    *out_size_p = 0;
    uint64_t base_count, over_count;
    size_t base_first, over_first;
    if (s_map_header (base, base_size, &base_count, &base_first))
        return ZJOB_MERGE_BAD_BASE;
    if (s_map_header (over, over_size, &over_count, &over_first))
        return ZJOB_MERGE_BAD_OVER;
    if (base_count + over_count == 0)
        return ZJOB_MERGE_OK;
    //  Each pair takes two bytes at least: the counts are bounded by the sizes
    s_pair_t *pairs = (s_pair_t *) malloc ((size_t) (base_count + over_count) * sizeof *pairs);
    if (!pairs)
        return ZJOB_MERGE_NO_MEMORY;
    s_pair_t *base_pairs = pairs, *over_pairs = pairs + base_count;
    s_map_pairs (base, base_size, base_first, base_count, base_pairs);
    s_map_pairs (over, over_size, over_first, over_count, over_pairs);
    //  Over's pairs go out in their own order: sort a copy of their keys
    s_pair_t *sorted = NULL;
    if (over_count && base_count) {
        sorted = (s_pair_t *) malloc ((size_t) over_count * sizeof *sorted);
        if (!sorted) {
            free (pairs);
            return ZJOB_MERGE_NO_MEMORY;
        }
        memcpy (sorted, over_pairs, (size_t) over_count * sizeof *sorted);
        qsort (sorted, (size_t) over_count, sizeof *sorted, s_pair_compare);
    }
    uint64_t count = over_count;
    size_t body = over_size - over_first;
    for (uint64_t index = 0; index < base_count; index++) {
        bool shadowed = sorted
            && bsearch (&base_pairs [index], sorted, (size_t) over_count, sizeof *sorted,
                        s_pair_compare);
        if (shadowed)
            base_pairs [index].start = NULL;  //  Left out
        else {
            count++;
            body += base_pairs [index].size;
        }
    }
    free (sorted);
    size_t head = count <= 15 ? 1 : count <= UINT16_MAX ? 3
                                                        : 5;
    zjob_merge_t rc = ZJOB_MERGE_OK;
    uint8_t *out = NULL;
    if (head + body > max_size)
        rc = ZJOB_MERGE_TOO_LARGE;
    else if (!(out = (uint8_t *) malloc (head + body)))
        rc = ZJOB_MERGE_NO_MEMORY;
    else {
        if (head == 1)
            out [0] = (uint8_t) (0x80 | count);
        else {
            out [0] = head == 3 ? 0xde : 0xdf;
            for (size_t byte = 1; byte < head; byte++)
                out [byte] = (uint8_t) (count >> (8 * (head - 1 - byte)));
        }
        size_t used = head;
        for (uint64_t index = 0; index < base_count; index++)
            if (base_pairs [index].start) {
                memcpy (out + used, base_pairs [index].start, base_pairs [index].size);
                used += base_pairs [index].size;
            }
        if (over_count)
            memcpy (out + used, over + over_first, over_size - over_first);
        *out_p = out;
        *out_size_p = head + body;
    }
    free (pairs);
    return rc;
}


//  --------------------------------------------------------------------------
//  zjob_packbuf: encoding into a buffer

void
zjob_packbuf_init (zjob_packbuf_t *self, msgpack_packer *pk)
{
    self->pk = pk;
    self->used = 0;
    self->rc = 0;
}

int
zjob_packbuf_flush (zjob_packbuf_t *self)
{
    if (self->used) {
        self->rc |= self->pk->callback (self->pk->data, self->bytes, self->used) != 0;
        self->used = 0;
    }
    return self->rc ? -1 : 0;
}

//  Room for len more bytes in the buffer (len <= ZJOB_PACKBUF_SIZE)
static inline char *
s_room (zjob_packbuf_t *self, size_t len)
{
    if (ZJOB_PACKBUF_SIZE - self->used < len)
        zjob_packbuf_flush (self);
    char *at = self->bytes + self->used;
    self->used += len;
    return at;
}

//  A type byte and a big-endian number of width bytes (1, 2, 4 or 8)
static inline void
s_put_typed (zjob_packbuf_t *self, uint8_t type, uint64_t value, int width)
{
    char *at = s_room (self, 1 + (size_t) width);
    at [0] = (char) type;
    for (int index = width; index > 0; index--, value >>= 8)
        at [index] = (char) (value & 0xff);
}

void
zjob_packbuf_raw (zjob_packbuf_t *self, const void *data, size_t len)
{
    if (len >= ZJOB_PACKBUF_DIRECT) {
        zjob_packbuf_flush (self);
        self->rc |= self->pk->callback (self->pk->data, (const char *) data, len) != 0;
    }
    else
        memcpy (s_room (self, len), data, len);
}

//  The header of a map or array: fix, 16 or 32 (fix_type holds up to 15)
static void
s_put_container (zjob_packbuf_t *self, uint8_t fix_type, uint8_t type16, uint32_t count)
{
    if (count < 16)
        *s_room (self, 1) = (char) (fix_type | count);
    else if (count < 0x10000)
        s_put_typed (self, type16, count, 2);
    else
        s_put_typed (self, (uint8_t) (type16 + 1), count, 4);
}

void
zjob_packbuf_map (zjob_packbuf_t *self, uint32_t count)
{
    s_put_container (self, 0x80, 0xde, count);
}

void
zjob_packbuf_array (zjob_packbuf_t *self, uint32_t count)
{
    s_put_container (self, 0x90, 0xdc, count);
}

//  A type byte from a run (for a value of 1, 2, 4 or 8 bytes: uint from
//  0xcc; bin from 0xc4, str from 0xd9, which stop at 4) and the value in
//  the fewest bytes that hold it
static void
s_put_sized (zjob_packbuf_t *self, uint8_t first, uint64_t value)
{
    if (value < 0x100)
        s_put_typed (self, first, value, 1);
    else if (value < 0x10000)
        s_put_typed (self, (uint8_t) (first + 1), value, 2);
    else if (value < 0x100000000ull)
        s_put_typed (self, (uint8_t) (first + 2), value, 4);
    else
        s_put_typed (self, (uint8_t) (first + 3), value, 8);
}

void
zjob_packbuf_str (zjob_packbuf_t *self, const char *text, size_t len)
{
    if (len < 32)
        *s_room (self, 1) = (char) (0xa0 | len);
    else
        s_put_sized (self, 0xd9, len);
    zjob_packbuf_raw (self, text, len);
}

void
zjob_packbuf_bin (zjob_packbuf_t *self, const void *data, size_t len)
{
    s_put_sized (self, 0xc4, len);
    zjob_packbuf_raw (self, data, len);
}

void
zjob_packbuf_uint (zjob_packbuf_t *self, uint64_t value)
{
    if (value < 0x80)
        *s_room (self, 1) = (char) value;
    else
        s_put_sized (self, 0xcc, value);
}

void
zjob_packbuf_int (zjob_packbuf_t *self, int64_t value)
{
    if (value >= 0)
        zjob_packbuf_uint (self, (uint64_t) value);
    else if (value >= -32)
        *s_room (self, 1) = (char) (uint8_t) value;
    else if (value >= -0x80)
        s_put_typed (self, 0xd0, (uint64_t) value, 1);
    else if (value >= -0x8000)
        s_put_typed (self, 0xd1, (uint64_t) value, 2);
    else if (value >= -0x80000000ll)
        s_put_typed (self, 0xd2, (uint64_t) value, 4);
    else
        s_put_typed (self, 0xd3, (uint64_t) value, 8);
}

void
zjob_packbuf_float (zjob_packbuf_t *self, float value)
{
    uint32_t bits;
    memcpy (&bits, &value, sizeof bits);
    s_put_typed (self, 0xca, bits, 4);
}

void
zjob_packbuf_bool (zjob_packbuf_t *self, bool value)
{
    *s_room (self, 1) = (char) (value ? 0xc3 : 0xc2);
}
