/* crc32c.h — CRC-32C (Castagnoli), used by Kafka record batches and Gregor's own files. */
#ifndef GREGOR_COMMON_CRC32C_H
#define GREGOR_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c_update(uint32_t crc, const void *p, size_t n);
static inline uint32_t crc32c(const void *p, size_t n) { return crc32c_update(0, p, n); }

#endif
