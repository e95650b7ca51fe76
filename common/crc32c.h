/* crc32c.h — CRC-32C (Castagnoli), used by Kafka record batches and Gregor's own files, and
 * CRC-32 (IEEE 802.3, zlib's crc32), used by Kafka's legacy messages (magic 0 and 1). */
#ifndef GREGOR_COMMON_CRC32C_H
#define GREGOR_COMMON_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CRC-32C: the SSE4.2 crc32 instruction when the CPU has it (checked at run time), else
 * slicing-by-8 tables. */
uint32_t crc32c_update(uint32_t crc, const void *p, size_t n);
static inline uint32_t crc32c(const void *p, size_t n) { return crc32c_update(0, p, n); }

/* The table version, whatever the CPU (for tests), and whether crc32c_update uses hardware. */
uint32_t crc32c_update_sw(uint32_t crc, const void *p, size_t n);
bool crc32c_hw(void);

/* CRC-32/IEEE, the same values as zlib's crc32(crc, p, n): PCLMULQDQ folding for long
 * inputs when the CPU has it, else (and for short tails) slicing-by-8 tables. */
uint32_t crc32_ieee_update(uint32_t crc, const void *p, size_t n);
static inline uint32_t crc32_ieee(const void *p, size_t n) { return crc32_ieee_update(0, p, n); }
uint32_t crc32_ieee_update_sw(uint32_t crc, const void *p, size_t n);

#endif
