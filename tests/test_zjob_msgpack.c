/*  =========================================================================
    test_zjob_msgpack - the scan that guards every msgpack-c unpack
    ========================================================================= */

#include <criterion/criterion.h>
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
