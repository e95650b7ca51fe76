/* varint.h — Kafka's variable-length integers.
 *
 * Unsigned varints (LEB128, 7 bits per byte, low group first) are used by flexible
 * protocol versions for compact lengths and tagged fields; signed varints are
 * zigzag-encoded unsigned varints, used inside record batches (magic 2).
 * Readers are bounds-checked and reject over-long encodings: more than 5 bytes for a
 * 32-bit value, more than 10 for a 64-bit one (rd->err is set). */
#ifndef GREGOR_COMMON_VARINT_H
#define GREGOR_COMMON_VARINT_H

#include <stdint.h>

#include "common/buf.h"

void varint_put_u32(buf_t *b, uint32_t v);
void varint_put_u64(buf_t *b, uint64_t v);
void varint_put_s32(buf_t *b, int32_t v);   /* zigzag */
void varint_put_s64(buf_t *b, int64_t v);   /* zigzag */
uint32_t varint_get_u32(rd_t *r);
uint64_t varint_get_u64(rd_t *r);
int32_t varint_get_s32(rd_t *r);
int64_t varint_get_s64(rd_t *r);
/* Bytes the encoding of v takes. */
int varint_size_u64(uint64_t v);
int varint_size_s64(int64_t v);

#endif
