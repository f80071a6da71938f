/*
 * hooks/s3/ferry_s3_crc32c.c - CRC-32C (Castagnoli), the checksum S3 carries in
 * x-amz-checksum-crc32c.  On x86-64 CPUs with SSE4.2 (checked at run time
 * with cpuid) the crc32 instruction does 8 bytes per step; elsewhere a
 * slicing-by-8 table fallback (tables built once, thread-safe).
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "hooks/s3/s3_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <nmmintrin.h>
#define S3_CRC_HW 1
#endif

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_build(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

uint32_t ferry_s3_crc32c_sw(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&table_once, table_build);
    const unsigned char *p = data;
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                      (uint32_t)p[3] << 24;
        lo ^= crc;
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][p[4]] ^ table[2][p[5]] ^ table[1][p[6]] ^
              table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#ifdef S3_CRC_HW
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t c = ~crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}
#endif

int ferry_s3_crc32c_hw_available(void)
{
#ifdef S3_CRC_HW
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d))
        return (c & bit_SSE4_2) != 0;
#endif
    return 0;
}

uint32_t ferry_s3_crc32c_hw(uint32_t crc, const void *data, size_t n)
{
#ifdef S3_CRC_HW
    if (ferry_s3_crc32c_hw_available())
        return crc_hw(crc, data, n);
#endif
    return ferry_s3_crc32c_sw(crc, data, n);
}

static int hw_ok;
static pthread_once_t hw_once = PTHREAD_ONCE_INIT;
static void hw_detect(void)
{
    hw_ok = ferry_s3_crc32c_hw_available();
}

uint32_t ferry_s3_crc32c(uint32_t crc, const void *data, size_t n)
{
#ifdef S3_CRC_HW
    pthread_once(&hw_once, hw_detect);
    if (hw_ok)
        return crc_hw(crc, data, n);
#endif
    return ferry_s3_crc32c_sw(crc, data, n);
}

void ferry_s3_crc32c_b64(uint32_t crc, char out[9])
{
    unsigned char be[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16),
                           (unsigned char)(crc >> 8), (unsigned char)crc};
    ferry_base64_encode(be, 4, out, 9);
}
