/* SPDX-License-Identifier: MIT */
/*
 * Description: <liburing/kmbuf.h> after headers of a newer liburing (2.4+,
 * Linux 6.4+ uapi), which declare IOU_PBUF_RING_MMAP and
 * IORING_REGISTER_USE_REGISTERED_RING as enumerators and the pbuf mmap
 * offsets as macros: the fallbacks must step aside and keep the values.
 * Building this program is most of the test.
 */
#include <liburing.h>

#ifndef IORING_OFF_PBUF_RING
#define IORING_OFF_PBUF_RING		0x80000000ULL
#define IORING_OFF_PBUF_SHIFT		16
enum { IOU_PBUF_RING_MMAP = 1, IOU_PBUF_RING_INC = 2 };
enum { IORING_REGISTER_USE_REGISTERED_RING = 1U << 31 };
#endif

#include "liburing/kmbuf.h"
#include "helpers.h"

int main(void)
{
	T_EXPECT(IOU_PBUF_RING_MMAP, 1);
	T_EXPECT(IORING_OFF_PBUF_RING, 0x80000000ULL);
	T_EXPECT(IORING_OFF_PBUF_SHIFT, 16);
	T_EXPECT(IORING_OFF_KMBUF_RING, 0x88000000ULL);
	T_EXPECT(IORING_OFF_KMBUF_SHIFT, 16);
	T_EXPECT(IORING_REGISTER_KMBUF_RING, 38);
	T_EXPECT(IORING_UNREGISTER_KMBUF_RING, 39);
	T_EXPECT(sizeof(struct io_uring_kmbuf_reg), 40);
	return T_EXIT_PASS;
}
