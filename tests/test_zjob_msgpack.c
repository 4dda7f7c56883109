/*  =========================================================================
    test_zjob_msgpack - the scan that guards every msgpack-c unpack, and
    the buffered encoder
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_msgpack.h"

static zjob_scan_t
s_scan (const uint8_t *data, size_t size, int depth, uint64_t objects, size_t *end)
{
    *end = 12345;
    return zjob_msgpack_scan (data, size, depth, objects, end);
}

Test (msgpack, scans_one_value_and_stops_after_it)
{
    //  {"a": [1, "xy"]} then a trailing byte
    const uint8_t data [] = { 0x81, 0xa1, 'a', 0x92, 0x01, 0xa2, 'x', 'y', 0xc0 };
    size_t end;
    cr_assert_eq (s_scan (data, sizeof data, 32, 100, &end), ZJOB_SCAN_OK);
    cr_assert_eq (end, sizeof data - 1, "the value is 8 bytes, got %zu", end);
    cr_assert_eq (s_scan (data, 1 + 1 + 1, 32, 100, &end), ZJOB_SCAN_TRUNCATED);
    cr_assert_eq (end, 12345, "end is untouched on failure");
}

Test (msgpack, every_truncation_is_truncated)
{
    const uint8_t data [] = {
        0x82, 0xa3, 'b', 'i', 'n', 0xc4, 0x02, 0xff, 0xfe,
        0xa1, 'n', 0xcb, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f
    };
    size_t end;
    cr_assert_eq (s_scan (data, sizeof data, 32, 100, &end), ZJOB_SCAN_OK);
    cr_assert_eq (end, sizeof data);
    for (size_t size = 0; size < sizeof data; size++)
        cr_assert_eq (s_scan (data, size, 32, 100, &end), ZJOB_SCAN_TRUNCATED,
                      "a cut at %zu bytes", size);
}

Test (msgpack, huge_counts_are_refused_before_any_allocation)
{
    //  array32 of 4 billion items, map32 of 4 billion pairs, bin32 of 4 GB
    const uint8_t array [] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 };
    const uint8_t map [] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01 };
    const uint8_t bin [] = { 0xc6, 0xff, 0xff, 0xff, 0xff, 0x01 };
    size_t end;
    cr_assert_eq (s_scan (array, sizeof array, 32, UINT64_MAX, &end), ZJOB_SCAN_TRUNCATED);
    cr_assert_eq (s_scan (map, sizeof map, 32, UINT64_MAX, &end), ZJOB_SCAN_TRUNCATED);
    cr_assert_eq (s_scan (bin, sizeof bin, 32, UINT64_MAX, &end), ZJOB_SCAN_TRUNCATED);
}

Test (msgpack, unused_byte_is_invalid)
{
    const uint8_t data [] = { 0x91, 0xc1 };
    size_t end;
    cr_assert_eq (s_scan (data, sizeof data, 32, 100, &end), ZJOB_SCAN_INVALID);
}

Test (msgpack, depth_and_object_limits)
{
    uint8_t nested [40];
    memset (nested, 0x91, sizeof nested);  //  [[[[...
    nested [sizeof nested - 1] = 0x90;     //  ...[]]]]]: 40 containers
    size_t end;
    cr_assert_eq (s_scan (nested, sizeof nested, 64, 1000, &end), ZJOB_SCAN_TOO_DEEP,
                  "the depth is clipped to msgpack-c's limit");
    cr_assert_eq (s_scan (nested + 40 - 4, 4, 4, 1000, &end), ZJOB_SCAN_OK);
    cr_assert_eq (s_scan (nested + 40 - 5, 5, 4, 1000, &end), ZJOB_SCAN_TOO_DEEP);
    cr_assert_eq (s_scan (nested + 40 - ZJOB_MSGPACK_DEPTH_MAX,
                          ZJOB_MSGPACK_DEPTH_MAX, 64, 1000, &end),
                  ZJOB_SCAN_OK,
                  "msgpack-c's own depth is accepted");

    const uint8_t three [] = { 0x93, 0x01, 0x02, 0x03 };
    cr_assert_eq (s_scan (three, sizeof three, 32, 4, &end), ZJOB_SCAN_OK);
    cr_assert_eq (s_scan (three, sizeof three, 32, 3, &end), ZJOB_SCAN_TOO_MANY);
}

Test (msgpack, is_map)
{
    const uint8_t empty_map [] = { 0x80 };
    const uint8_t map [] = { 0x81, 0xa1, 'k', 0x01 };
    const uint8_t array [] = { 0x91, 0x01 };
    const uint8_t trailing [] = { 0x80, 0x00 };
    cr_assert (zjob_msgpack_is_map (empty_map, sizeof empty_map));
    cr_assert (zjob_msgpack_is_map (map, sizeof map));
    cr_assert_not (zjob_msgpack_is_map (array, sizeof array));
    cr_assert_not (zjob_msgpack_is_map (trailing, sizeof trailing));
    cr_assert_not (zjob_msgpack_is_map (map, sizeof map - 1));
    cr_assert_not (zjob_msgpack_is_map (NULL, 0));
}

//  The same values through msgpack-c's packer and through a zjob_packbuf
//  in front of a packer: the bytes must be the same, at every boundary
//  between formats. A small buffer size is not needed: a 512-byte buffer
//  fills many times over here.
Test (msgpack, packbuf_writes_what_msgpack_c_writes)
{
    static const uint64_t uints [] = {
        0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffffull, 0x100000000ull,
        UINT64_MAX
    };
    static const int64_t ints [] = {
        0, 5, -1, -32, -33, -0x80, -0x81, -0x8000, -0x8001, -0x80000000ll,
        -0x80000001ll, INT64_MIN, INT64_MAX, 0x7f, 0x80, 0x10000
    };
    static const size_t lens [] = { 0, 1, 31, 32, 127, 128, 255, 256, 0xffff, 0x10000 };
    static const uint32_t counts [] = { 0, 15, 16, 0xffff, 0x10000 };
    static const float floats [] = { 0.0f, 0.5f, 1.0f, -2.25f, 1e30f };
    char *text = (char *) malloc (0x10000);
    cr_assert_not_null (text);
    for (size_t i = 0; i < 0x10000; i++)
        text [i] = (char) ('a' + i % 26);

    msgpack_sbuffer expected, got;
    msgpack_sbuffer_init (&expected);
    msgpack_sbuffer_init (&got);
    msgpack_packer pk, inner;
    msgpack_packer_init (&pk, &expected, msgpack_sbuffer_write);
    msgpack_packer_init (&inner, &got, msgpack_sbuffer_write);
    zjob_packbuf_t pb;
    zjob_packbuf_init (&pb, &inner);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof uints / sizeof uints [0]; i++) {
            msgpack_pack_uint64 (&pk, uints [i]);
            zjob_packbuf_uint (&pb, uints [i]);
        }
        for (size_t i = 0; i < sizeof ints / sizeof ints [0]; i++) {
            msgpack_pack_int64 (&pk, ints [i]);
            zjob_packbuf_int (&pb, ints [i]);
        }
        for (size_t i = 0; i < sizeof lens / sizeof lens [0]; i++) {
            msgpack_pack_str_with_body (&pk, text, lens [i]);
            zjob_packbuf_str (&pb, text, lens [i]);
            msgpack_pack_bin_with_body (&pk, text, lens [i]);
            zjob_packbuf_bin (&pb, text, lens [i]);
        }
        for (size_t i = 0; i < sizeof counts / sizeof counts [0]; i++) {
            msgpack_pack_map (&pk, counts [i]);
            zjob_packbuf_map (&pb, counts [i]);
            msgpack_pack_array (&pk, counts [i]);
            zjob_packbuf_array (&pb, counts [i]);
        }
        for (size_t i = 0; i < sizeof floats / sizeof floats [0]; i++) {
            msgpack_pack_float (&pk, floats [i]);
            zjob_packbuf_float (&pb, floats [i]);
        }
        msgpack_pack_true (&pk);
        zjob_packbuf_bool (&pb, true);
        msgpack_pack_false (&pk);
        zjob_packbuf_bool (&pb, false);
        msgpack_pack_str_with_body (&pk, "key", 3);
        zjob_packbuf_raw (&pb, "\xa3key", 4);
    }
    cr_assert_eq (zjob_packbuf_flush (&pb), 0);
    cr_assert_eq (got.size, expected.size);
    for (size_t i = 0; i < got.size; i++)
        cr_assert_eq ((uint8_t) got.data [i], (uint8_t) expected.data [i], "byte %zu", i);
    msgpack_sbuffer_destroy (&expected);
    msgpack_sbuffer_destroy (&got);
    free (text);
}

//  A failed write is kept and reported by flush
static int
s_refuse (void *data, const char *buf, size_t len)
{
    (void) buf;
    (void) len;
    (*(int *) data)++;
    return -1;
}

Test (msgpack, packbuf_reports_a_failed_write)
{
    int calls = 0;
    msgpack_packer pk;
    msgpack_packer_init (&pk, &calls, s_refuse);
    zjob_packbuf_t pb;
    zjob_packbuf_init (&pb, &pk);
    zjob_packbuf_uint (&pb, 7);
    cr_assert_eq (calls, 0, "nothing is written before a flush or a full buffer");
    cr_assert_eq (zjob_packbuf_flush (&pb), -1);
    cr_assert_eq (calls, 1);
    zjob_packbuf_uint (&pb, 8);
    cr_assert_eq (zjob_packbuf_flush (&pb), -1, "the failure is remembered");
}

//  Unpack a map of count string keys, key i being names[i]
static msgpack_object
s_map_of (msgpack_zone *zone, msgpack_sbuffer *buffer, const char *const *names, size_t count)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, (uint32_t) count);
    for (size_t i = 0; i < count; i++) {
        msgpack_pack_str_with_body (&pk, names [i], strlen (names [i]));
        msgpack_pack_nil (&pk);
    }
    msgpack_object object;
    size_t offset = 0;
    cr_assert_eq (msgpack_unpack (buffer->data, buffer->size, &offset, zone, &object),
                  MSGPACK_UNPACK_SUCCESS);
    return object;
}

Test (msgpack, map_repeated_finds_a_key_given_twice)
{
    msgpack_zone zone;
    msgpack_zone_init (&zone, 4096);
    //  Small maps (pairwise) and large ones (sorted), with and without a repeat
    for (size_t count = 0; count <= 3 * ZJOB_MSGPACK_PAIRWISE_MAX; count += 7) {
        char storage [80][8];
        const char *names [80];
        for (size_t i = 0; i < count; i++) {
            snprintf (storage [i], sizeof storage [i], "k%zu", i);
            names [i] = storage [i];
        }
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init (&buffer);
        msgpack_object map = s_map_of (&zone, &buffer, names, count);
        uint32_t index = 999;
        cr_assert_eq (zjob_msgpack_map_repeated (&map, &index), 0, "%zu distinct keys", count);
        msgpack_sbuffer_destroy (&buffer);
        if (count < 2)
            continue;
        //  The last key repeats one in the middle, of the same length
        names [count - 1] = names [count / 2];
        msgpack_sbuffer_init (&buffer);
        map = s_map_of (&zone, &buffer, names, count);
        cr_assert_eq (zjob_msgpack_map_repeated (&map, &index), 1, "%zu keys", count);
        cr_assert_eq (index, count - 1);
        msgpack_sbuffer_destroy (&buffer);
    }
    //  Same length, different bytes; a prefix is not a repeat; "" twice is
    const char *distinct [] = { "ab", "ba", "a", "abc", "" };
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_object map = s_map_of (&zone, &buffer, distinct, 5);
    cr_assert_eq (zjob_msgpack_map_repeated (&map, NULL), 0);
    msgpack_sbuffer_destroy (&buffer);
    const char *empty_twice [] = { "", "x", "" };
    msgpack_sbuffer_init (&buffer);
    map = s_map_of (&zone, &buffer, empty_twice, 3);
    cr_assert_eq (zjob_msgpack_map_repeated (&map, NULL), 1);
    msgpack_sbuffer_destroy (&buffer);
    //  Not a map: nothing repeats
    msgpack_object nil = { .type = MSGPACK_OBJECT_NIL };
    cr_assert_eq (zjob_msgpack_map_repeated (&nil, NULL), 0);
    msgpack_zone_destroy (&zone);
}


//  --------------------------------------------------------------------------
//  Merging maps shallowly

//  Merge, expecting rc; the result (or NULL) goes to *out_p
static zjob_merge_t
s_merge (const void *base, size_t base_size, const void *over, size_t over_size, size_t max,
         uint8_t **out_p, size_t *size_p)
{
    return zjob_msgpack_merge_maps ((const uint8_t *) base, base_size, (const uint8_t *) over,
                                    over_size, max, out_p, size_p);
}

//  Assert that data is exactly expected
static void
s_assert_bytes (const uint8_t *data, size_t size, const void *expected, size_t expected_size)
{
    cr_assert_eq (size, expected_size, "%zu bytes, expected %zu", size, expected_size);
    cr_assert (memcmp (data, expected, size) == 0, "bytes differ");
}

Test (msgpack, merge_over_wins_and_keeps_order)
{
    //  base {"a": 1, "b": [1, 2], "c": {"x": 1}}, over {"b": "new", "d": nil}
    const uint8_t base [] = { 0x83, 0xa1, 'a', 0x01, 0xa1, 'b', 0x92, 0x01, 0x02,
                              0xa1, 'c', 0x81, 0xa1, 'x', 0x01 };
    const uint8_t over [] = { 0x82, 0xa1, 'b', 0xa3, 'n', 'e', 'w', 0xa1, 'd', 0xc0 };
    //  {"a": 1, "c": {"x": 1}, "b": "new", "d": nil}
    const uint8_t expected [] = { 0x84, 0xa1, 'a', 0x01, 0xa1, 'c', 0x81, 0xa1, 'x', 0x01,
                                  0xa1, 'b', 0xa3, 'n', 'e', 'w', 0xa1, 'd', 0xc0 };
    uint8_t *out;
    size_t size;
    cr_assert_eq (s_merge (base, sizeof base, over, sizeof over, 1024, &out, &size), ZJOB_MERGE_OK);
    s_assert_bytes (out, size, expected, sizeof expected);
    free (out);

    //  Shallow: a nested map of over replaces base's whole, it is not merged
    const uint8_t nested [] = { 0x81, 0xa1, 'c', 0x81, 0xa1, 'y', 0x02 };
    const uint8_t expected_nested [] = { 0x83, 0xa1, 'a', 0x01, 0xa1, 'b', 0x92, 0x01, 0x02,
                                         0xa1, 'c', 0x81, 0xa1, 'y', 0x02 };
    cr_assert_eq (s_merge (base, sizeof base, nested, sizeof nested, 1024, &out, &size),
                  ZJOB_MERGE_OK);
    s_assert_bytes (out, size, expected_nested, sizeof expected_nested);
    free (out);
}

Test (msgpack, merge_with_empty_sides)
{
    const uint8_t map [] = { 0x81, 0xa1, 'k', 0x07 };
    const uint8_t empty [] = { 0x80 };
    uint8_t *out;
    size_t size;
    //  Size 0 and {} are the empty map, on either side
    cr_assert_eq (s_merge (NULL, 0, map, sizeof map, 64, &out, &size), ZJOB_MERGE_OK);
    s_assert_bytes (out, size, map, sizeof map);
    free (out);
    cr_assert_eq (s_merge (map, sizeof map, empty, 1, 64, &out, &size), ZJOB_MERGE_OK);
    s_assert_bytes (out, size, map, sizeof map);
    free (out);
    cr_assert_eq (s_merge (empty, 1, NULL, 0, 64, &out, &size), ZJOB_MERGE_OK);
    cr_assert_null (out);
    cr_assert_eq (size, 0);
    cr_assert_eq (s_merge (NULL, 0, NULL, 0, 64, &out, &size), ZJOB_MERGE_OK);
    cr_assert_null (out);
}

Test (msgpack, merge_compares_string_keys_by_their_bytes)
{
    //  "k" as a fixstr and as a str8 is one key; the int key 1 and "1"
    //  are two
    const uint8_t base [] = { 0x82, 0xd9, 0x01, 'k', 0x01, 0x01, 0x02 };
    const uint8_t over [] = { 0x82, 0xa1, 'k', 0x03, 0xa1, '1', 0x04 };
    const uint8_t expected [] = { 0x83, 0x01, 0x02, 0xa1, 'k', 0x03, 0xa1, '1', 0x04 };
    uint8_t *out;
    size_t size;
    cr_assert_eq (s_merge (base, sizeof base, over, sizeof over, 64, &out, &size), ZJOB_MERGE_OK);
    s_assert_bytes (out, size, expected, sizeof expected);
    free (out);
}

Test (msgpack, merge_refuses_what_is_not_one_map)
{
    const uint8_t map [] = { 0x81, 0xa1, 'k', 0x07 };
    const uint8_t array [] = { 0x91, 0x01 };
    const uint8_t truncated [] = { 0x82, 0xa1, 'k', 0x07 };
    const uint8_t trailing [] = { 0x81, 0xa1, 'k', 0x07, 0x00 };
    const uint8_t invalid [] = { 0x81, 0xa1, 'k', 0xc1 };
    const uint8_t huge_count [] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0x01 };
    struct {
        const uint8_t *data;
        size_t size;
    } bad [] = {
        { array, sizeof array }, { truncated, sizeof truncated }, { trailing, sizeof trailing }, { invalid, sizeof invalid }, { huge_count, sizeof huge_count }, { NULL, 5 }
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        uint8_t *out = (uint8_t *) "x";
        size_t size = 99;
        cr_assert_eq (s_merge (bad [index].data, bad [index].size, map, sizeof map, 64, &out, &size),
                      ZJOB_MERGE_BAD_BASE, "case %zu", index);
        cr_assert_null (out);
        cr_assert_eq (size, 0);
        cr_assert_eq (s_merge (map, sizeof map, bad [index].data, bad [index].size, 64, &out, &size),
                      ZJOB_MERGE_BAD_OVER, "case %zu", index);
        cr_assert_null (out);
    }
}

Test (msgpack, merge_is_bounded_by_max_size)
{
    const uint8_t base [] = { 0x81, 0xa1, 'a', 0x01 };
    const uint8_t over [] = { 0x81, 0xa1, 'b', 0x02 };
    uint8_t *out;
    size_t size;
    //  {"a": 1, "b": 2} is 7 bytes
    cr_assert_eq (s_merge (base, sizeof base, over, sizeof over, 6, &out, &size),
                  ZJOB_MERGE_TOO_LARGE);
    cr_assert_null (out);
    cr_assert_eq (s_merge (base, sizeof base, over, sizeof over, 7, &out, &size), ZJOB_MERGE_OK);
    cr_assert_eq (size, 7);
    free (out);
}

Test (msgpack, merge_of_many_keys_is_one_valid_map)
{
    //  300 keys in base, 200 in over of which 100 shadow base's: 400 pairs,
    //  a map16 header, every value from the right side
    msgpack_sbuffer base, over;
    msgpack_sbuffer_init (&base);
    msgpack_sbuffer_init (&over);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &base, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 300);
    for (int index = 0; index < 300; index++) {
        char key [16];
        int length = snprintf (key, sizeof key, "k%d", index);
        msgpack_pack_str_with_body (&packer, key, (size_t) length);
        msgpack_pack_int (&packer, index);
    }
    msgpack_packer_init (&packer, &over, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 200);
    for (int index = 200; index < 400; index++) {
        char key [16];
        int length = snprintf (key, sizeof key, "k%d", index);
        msgpack_pack_str_with_body (&packer, key, (size_t) length);
        msgpack_pack_int (&packer, -index);
    }
    uint8_t *out;
    size_t size;
    cr_assert_eq (s_merge (base.data, base.size, over.data, over.size, 1 << 20, &out, &size),
                  ZJOB_MERGE_OK);
    cr_assert (zjob_msgpack_is_map (out, size));
    msgpack_zone zone;
    msgpack_zone_init (&zone, 4096);
    msgpack_object map;
    size_t offset = 0;
    cr_assert_eq (msgpack_unpack ((const char *) out, size, &offset, &zone, &map),
                  MSGPACK_UNPACK_SUCCESS);
    cr_assert_eq (map.via.map.size, 400);
    cr_assert_eq (zjob_msgpack_map_repeated (&map, NULL), 0);
    for (uint32_t index = 0; index < 400; index++) {
        const msgpack_object_kv *pair = &map.via.map.ptr [index];
        char key [16];
        snprintf (key, sizeof key, "%.*s", (int) pair->key.via.str.size, pair->key.via.str.ptr);
        int number = atoi (key + 1);
        int64_t value = pair->val.via.i64;
        if (pair->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            value = (int64_t) pair->val.via.u64;
        //  Base's first 200 keep their values; from 200 on over's win
        cr_assert_eq (value, number < 200 ? number : -number, "k%d", number);
        cr_assert_eq (number < 200, index < 200, "base's kept pairs come first");
    }
    msgpack_zone_destroy (&zone);
    free (out);
    msgpack_sbuffer_destroy (&base);
    msgpack_sbuffer_destroy (&over);
}
