/* SPDX-License-Identifier: MIT */
/*
 * Description: IORING_UNREGISTER_KMBUF_RING reads the bgid, and every
 * other field it could later give a meaning to (the buf_size/ring_addr
 * union, flags, and the reserved bytes after them) must be zero
 * (KMBUF-ABI.md section 2). Any one byte of those set fails the call with
 * EINVAL and unregisters nothing: the group is still registered (its bgid
 * still gives EEXIST), still serves reads, and a correct unregister
 * afterwards succeeds once, then gives ENOENT.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "helpers.h"

#define BGID		7
#define NR_BUFS		4

/* The raw opcode, so that the library cannot clear any field */
static int raw_unregister(struct io_uring *ring,
			  const struct io_uring_kmbuf_reg *reg)
{
	if (syscall(__NR_io_uring_register, ring->ring_fd,
		    IORING_UNREGISTER_KMBUF_RING, reg, 1))
		return -errno;
	return 0;
}

static int reg_group(struct io_uring *ring, int bgid)
{
	struct io_uring_kmbuf_reg r = { };

	r.buf_size = (__u32) t_page_size();
	r.ring_entries = NR_BUFS;
	r.bgid = (__u16) bgid;
	return io_uring_register_kmbuf_ring(ring, &r, 0);
}

/* The group still hands out buffers: a read of 'fd' takes one */
static void check_serves(struct io_uring *ring, struct io_uring_kmbuf *kb,
			 int fd, unsigned int *reads)
{
	struct io_uring_sqe *sqe = t_get_sqe(ring);
	struct io_uring_cqe cqe;
	unsigned int bid = ~0U;
	void *buf;

	io_uring_prep_read(sqe, fd, NULL, 64, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	if (cqe.res < 0)
		t_fail("read after a refused unregister: %s",
		       strerror(-cqe.res));
	T_EXPECT(cqe.res, 64);
	buf = io_uring_kmbuf_cqe_buf(kb, &cqe, &bid);
	T_ASSERT(buf != NULL);
	t_check_data(buf, 64, 13, 0);
	T_EXPECT(io_uring_kmbuf_recycle(kb, bid), 0);
	(*reads)++;
}

int main(void)
{
	struct io_uring_kmbuf_reg reg;
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	unsigned int reads = 0, cases = 0;
	size_t off;
	int fd, ret;

	t_init();
	t_require_kmbuf_kernel();
	T_EXPECT(sizeof(reg), 40);
	t_ring_init(&ring, 4);
	kb = t_kb_setup(&ring, T_BACKEND_KERNEL, NR_BUFS, t_page_size(), BGID);
	fd = t_create_file(4096, 13);

	/*
	 * Bytes 0..7: the union; 8..11: ring_entries (not checked here:
	 * the ABI names only the union, flags and resv); 12..13: bgid;
	 * 14..15: flags; 16..39: resv (min_left in some trees' headers).
	 */
	for (off = 0; off < sizeof(reg); off++) {
		if (off >= offsetof(struct io_uring_kmbuf_reg, ring_entries) &&
		    off < offsetof(struct io_uring_kmbuf_reg, flags))
			continue;
		memset(&reg, 0, sizeof(reg));
		reg.bgid = BGID;
		((unsigned char *) &reg)[off] = off & 1 ? 0x80 : 0x01;
		ret = raw_unregister(&ring, &reg);
		if (ret != -EINVAL)
			t_fail("unregister with byte %zu of the argument set: "
			       "got %d (%s), want -EINVAL", off, ret,
			       ret ? strerror(-ret) : "success: the group was "
			       "unregistered");
		/* nothing was unregistered */
		T_EXPECT(reg_group(&ring, BGID), -EEXIST);
		check_serves(&ring, kb, fd, &reads);
		cases++;
	}
	printf("%u malformed unregister arguments refused, the group kept "
	       "serving %u reads\n", cases, reads);

	/* whole fields at once, as an application would get them wrong */
	memset(&reg, 0, sizeof(reg));
	reg.bgid = BGID;
	reg.buf_size = (__u32) t_page_size();
	T_EXPECT(raw_unregister(&ring, &reg), -EINVAL);
	memset(&reg, 0, sizeof(reg));
	reg.bgid = BGID;
	reg.flags = 1;
	T_EXPECT(raw_unregister(&ring, &reg), -EINVAL);
	memset(&reg, 0, sizeof(reg));
	reg.bgid = BGID;
	reg.resv[2] = ~0ULL;
	T_EXPECT(raw_unregister(&ring, &reg), -EINVAL);
	T_EXPECT(reg_group(&ring, BGID), -EEXIST);

	/* a clean argument unregisters, once */
	memset(&reg, 0, sizeof(reg));
	reg.bgid = BGID;
	T_EXPECT(raw_unregister(&ring, &reg), 0);
	T_EXPECT(raw_unregister(&ring, &reg), -ENOENT);
	T_EXPECT(io_uring_kmbuf_free(kb), -ENOENT);

	close(fd);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
