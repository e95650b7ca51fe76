/* clock.h — the only place that reads clocks. Pure cores take time as an argument. */
#ifndef GREGOR_COMMON_CLOCK_H
#define GREGOR_COMMON_CLOCK_H

#include <stdint.h>

int64_t clock_mono_ms(void);  /* monotonic, for timeouts and expiry */
int64_t clock_mono_us(void);
int64_t clock_wall_ms(void);  /* wall clock, for ctime/mtime and timestamps */

#endif
