/* Ring layout constants (docs/format/ring.md), shared by ring.pyx and recv.pyx. */
#ifndef AT_RING_H
#define AT_RING_H

#include "at_atomic.h"

#define AT_RING_HEADER_SIZE 256
#define AT_RING_WRAP 0xFFFFFFFFu

/* u64 word indexes into the header (byte offset / 8) */
#define AT_H_CAPACITY 2
#define AT_H_MAX_RECORD 3
#define AT_H_HEAD 8
#define AT_H_PUSHED 16
#define AT_H_DROPPED_FULL 17
#define AT_H_DROPPED_OVERSIZE 18
#define AT_H_BYTES_PUSHED 19
#define AT_H_PRODUCER_LOCK 20
#define AT_H_TAIL 24
#define AT_H_POPPED 25
#define AT_H_BYTES_POPPED 26

#endif
