/* Unit tests: common/crc32c.h — CRC-32C (hardware and tables) and CRC-32/IEEE (PCLMULQDQ
 * folding and tables) agree with each other and with zlib's crc32 on every length and
 * alignment that matters (the folding path starts at 64 bytes). */
#include <check.h>
#include <stdlib.h>
#include <zlib.h>

#include "common/crc32c.h"

static unsigned char data[5000];

static void fill(void)
{
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof data; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (unsigned char)(x >> 16);
    }
}

START_TEST(known_values)
{
    ck_assert_uint_eq(crc32c("123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(crc32c_update_sw(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(crc32_ieee("123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(crc32_ieee_update_sw(0, "123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(crc32_ieee("", 0), 0);
    ck_assert_uint_eq(crc32c("", 0), 0);
}
END_TEST

START_TEST(every_length_and_alignment)
{
    fill();
    for (size_t n = 0; n < 1200; n++)
        for (size_t off = 0; off < 9; off++) {
            uint32_t z = (uint32_t)crc32(0, data + off, (uInt)n);
            ck_assert_uint_eq(crc32_ieee(data + off, n), z);
            ck_assert_uint_eq(crc32_ieee_update_sw(0, data + off, n), z);
            ck_assert_uint_eq(crc32c(data + off, n), crc32c_update_sw(0, data + off, n));
        }
    uint32_t z = (uint32_t)crc32(0, data, sizeof data);
    ck_assert_uint_eq(crc32_ieee(data, sizeof data), z);
}
END_TEST

/* the three-stream CRC-32C paths (3 x 256 and 3 x 8192 bytes at a time) and their seams */
START_TEST(long_inputs)
{
    size_t cap = 100000;
    unsigned char *big = malloc(cap);
    uint32_t x = 99;
    for (size_t i = 0; i < cap; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (unsigned char)(x >> 16);
    }
    static const size_t lens[] = {767, 768, 769, 1535, 1536, 24575, 24576, 24577, 49152 + 769, 99990};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        for (size_t off = 0; off < 3; off++) {
            ck_assert_uint_eq(crc32c(big + off, lens[i]), crc32c_update_sw(0, big + off, lens[i]));
            ck_assert_uint_eq(crc32_ieee(big + off, lens[i]), (uint32_t)crc32(0, big + off, (uInt)lens[i]));
        }
    free(big);
}
END_TEST

START_TEST(chained_updates)
{
    fill();
    for (size_t cut = 0; cut < 300; cut += 7) {
        ck_assert_uint_eq(crc32_ieee_update(crc32_ieee(data, cut), data + cut, 900 - cut),
                          (uint32_t)crc32(0, data, 900));
        ck_assert_uint_eq(crc32c_update(crc32c(data, cut), data + cut, 900 - cut), crc32c_update_sw(0, data, 900));
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crc32");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, known_values);
    tcase_add_test(tc, every_length_and_alignment);
    tcase_add_test(tc, chained_updates);
    tcase_add_test(tc, long_inputs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
