/*
 * test_s3_crc32c.c - CRC-32C of the S3 per-part checksum: the hardware
 * (SSE4.2) path and the table fallback against known vectors (RFC 3720
 * B.4, the "123456789" check value), against each other on every length and
 * alignment, chained updates, and the base64 form of x-amz-checksum-crc32c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hooks/s3/s3_internal.h"

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static void vectors(crc_fn f)
{
    CHECK(f(0, "123456789", 9) == 0xE3069283u);
    CHECK(f(0, "", 0) == 0);
    unsigned char buf[32];
    memset(buf, 0, sizeof buf);
    CHECK(f(0, buf, 32) == 0x8A9136AAu);           /* RFC 3720 B.4: 32 bytes of 0 */
    memset(buf, 0xff, sizeof buf);
    CHECK(f(0, buf, 32) == 0x62A8AB43u);           /* 32 bytes of 0xff */
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)i;
    CHECK(f(0, buf, 32) == 0x46DD794Eu);           /* 0x00..0x1f */
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)(31 - i);
    CHECK(f(0, buf, 32) == 0x113FDB5Cu);           /* 0x1f..0x00 */
}

static void test_software(void)
{
    vectors(ferry_s3_crc32c_sw);
}

static void test_hardware(void)
{
    if (!ferry_s3_crc32c_hw_available())
        fprintf(stderr, "  (no SSE4.2 on this CPU: ferry_s3_crc32c_hw runs the table fallback)\n");
    vectors(ferry_s3_crc32c_hw);
    vectors(ferry_s3_crc32c);
}

static void test_paths_agree(void)
{
    size_t n = 4096 + 17;
    unsigned char *buf = malloc(n);
    CHECK(buf != NULL);
    if (!buf)
        return;
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    int bad = 0;
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; len + off <= n; len += len < 64 ? 1 : 97)
            bad += ferry_s3_crc32c_sw(0, buf + off, len) != ferry_s3_crc32c_hw(0, buf + off, len);
    CHECK(bad == 0);
    /* chaining: crc(a + b) == crc(crc(a), b) */
    uint32_t whole = ferry_s3_crc32c(0, buf, n);
    uint32_t part = ferry_s3_crc32c(0, buf, 1000);
    CHECK(ferry_s3_crc32c(part, buf + 1000, n - 1000) == whole);
    CHECK(ferry_s3_crc32c_sw(ferry_s3_crc32c_sw(0, buf, 3), buf + 3, n - 3) == whole);
    free(buf);
}

static void test_base64(void)
{
    char b64[9];
    ferry_s3_crc32c_b64(0xE3069283u, b64);
    CHECK_STREQ(b64, "4waSgw==");
    ferry_s3_crc32c_b64(0, b64);
    CHECK_STREQ(b64, "AAAAAA==");
}

int main(void)
{
    RUN(test_software);
    RUN(test_hardware);
    RUN(test_paths_agree);
    RUN(test_base64);
    return check_summary();
}
