/*  =========================================================================
    test_zjob_msgpack - the scan that guards every msgpack-c unpack, and
    the packer's sbuffer writer
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
    memset (nested, 0x91, sizeof nested);       //  [[[[...
    nested [sizeof nested - 1] = 0x90;          //  ...[]]]]]: 40 containers
    size_t end;
    cr_assert_eq (s_scan (nested, sizeof nested, 64, 1000, &end), ZJOB_SCAN_TOO_DEEP,
                  "the depth is clipped to msgpack-c's limit");
    cr_assert_eq (s_scan (nested + 40 - 4, 4, 4, 1000, &end), ZJOB_SCAN_OK);
    cr_assert_eq (s_scan (nested + 40 - 5, 5, 4, 1000, &end), ZJOB_SCAN_TOO_DEEP);
    cr_assert_eq (s_scan (nested + 40 - ZJOB_MSGPACK_DEPTH_MAX,
                          ZJOB_MSGPACK_DEPTH_MAX, 64, 1000, &end), ZJOB_SCAN_OK,
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

//  Pack the same values through a writer into a fresh sbuffer of initial
//  room bytes (0: none), returning the sbuffer
static msgpack_sbuffer
s_pack_with (msgpack_packer_write write, size_t room)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    if (room) {
        sbuf.data = (char *) malloc (room);
        sbuf.alloc = room;
    }
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, write);
    char big [3000];
    for (size_t i = 0; i < sizeof big; i++)
        big [i] = (char) (i * 7);
    msgpack_pack_map (&pk, 40);
    for (int i = 0; i < 40; i++) {
        char key [16];
        int len = snprintf (key, sizeof key, "k%d", i);
        msgpack_pack_str_with_body (&pk, key, (size_t) len);
        switch (i % 5) {
            case 0: msgpack_pack_uint64 (&pk, (uint64_t) i << (i % 60)); break;
            case 1: msgpack_pack_int64 (&pk, -(int64_t) i * 100000); break;
            case 2: msgpack_pack_bin_with_body (&pk, big, (size_t) i * 71); break;
            case 3: msgpack_pack_str_with_body (&pk, big, (size_t) i % 17); break;
            default: msgpack_pack_double (&pk, i / 3.0); break;
        }
    }
    msgpack_pack_str_with_body (&pk, "", 0);
    return sbuf;
}

Test (msgpack, write_packs_what_sbuffer_write_packs)
{
    msgpack_sbuffer expected = s_pack_with (msgpack_sbuffer_write, 0);
    //  No room, a little (it must grow many times), and plenty
    size_t rooms [] = { 0, 1, 9, 100000 };
    for (size_t r = 0; r < sizeof rooms / sizeof rooms [0]; r++) {
        msgpack_sbuffer got = s_pack_with (zjob_msgpack_write, rooms [r]);
        cr_assert_eq (got.size, expected.size, "room %zu", rooms [r]);
        cr_assert_eq (memcmp (got.data, expected.data, got.size), 0, "room %zu", rooms [r]);
        cr_assert_leq (got.size, got.alloc);
        msgpack_sbuffer_destroy (&got);
    }
    msgpack_sbuffer_destroy (&expected);
}
