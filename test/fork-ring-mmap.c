/* SPDX-License-Identifier: MIT */
/*
 * Description: fork() with large io_uring mappings that io_uring itself
 * provides, on any kernel: a 4096-entry SQ/CQ ring (the SQE array and the
 * CQE array) and a 4096-entry provided-buffer ring that the kernel
 * allocates (IOU_PBUF_RING_MMAP). These are multi-page compound pages
 * mapped with vm_insert_pages(); fork() copies their page table entries
 * in batches. The child must map the parent's pages, see the parent's
 * data and the parent the child's, in each of: child exits first, parent
 * exits first, parent unregisters and unmaps before the child goes on.
 * (Linux 6.12 UML copied such batches to the wrong pages: "Bad page map"
 * and "Bad page state" in the kernel log, which runtests.sh catches.)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "helpers.h"
#include "fork-common.h"

#define ENTRIES		4096
#define PBUF_BGID	7
#define T_REGISTER_PBUF_RING	22

/* io_uring_buf_reg as of Linux 6.4; liburing 2.3 calls 'flags' 'pad' */
struct t_pbuf_reg {
	__u64	ring_addr;
	__u32	ring_entries;
	__u16	bgid;
	__u16	flags;
	__u64	resv[3];
};

static void ring_init(struct io_uring *ring, unsigned int entries)
{
	int ret = io_uring_queue_init(entries, ring, 0);

	if (ret == -ENOSYS || ret == -EPERM)
		t_skip("io_uring is not available here (%s)", strerror(-ret));
	/* before 5.12 rings were charged to RLIMIT_MEMLOCK */
	if (ret == -ENOMEM)
		t_skip("no memory for a %u-entry ring (RLIMIT_MEMLOCK?)",
		       entries);
	if (ret)
		t_fail("io_uring_queue_init(%u): %s", entries, strerror(-ret));
}

static void sq_release(struct t_fork_case *c)
{
	io_uring_queue_exit(&c->ring);
}

/* The SQE and CQE arrays: the kernel reads neither until we submit */
static void sq_setup(struct t_fork_case *c, const void *arg)
{
	(void) arg;
	c->name = "4096-entry SQ/CQ ring";
	ring_init(&c->ring, ENTRIES);
	T_EXPECT(*c->ring.sq.kring_entries, ENTRIES);
	c->nr_areas = 2;
	c->area[0].addr = (unsigned char *) c->ring.sq.sqes;
	c->area[0].len = *c->ring.sq.kring_entries *
			 sizeof(struct io_uring_sqe);
	c->area[1].addr = (unsigned char *) c->ring.cq.cqes;
	c->area[1].len = *c->ring.cq.kring_entries *
			 sizeof(struct io_uring_cqe);
	c->release = sq_release;
}

static size_t pbuf_bytes(void)
{
	return ENTRIES * sizeof(struct io_uring_buf);
}

static void pbuf_release(struct t_fork_case *c)
{
	T_EXPECT(io_uring_unregister_buf_ring(&c->ring, PBUF_BGID), 0);
	T_EXPECT(munmap(c->area[0].addr, c->area[0].len), 0);
	io_uring_queue_exit(&c->ring);
}

/* Register a kernel-allocated pbuf ring; 0, or -errno of the register */
static int pbuf_register(struct io_uring *ring)
{
	struct t_pbuf_reg reg = { };

	reg.ring_entries = ENTRIES;
	reg.bgid = PBUF_BGID;
	reg.flags = IOU_PBUF_RING_MMAP;
	if (syscall(__NR_io_uring_register, ring->ring_fd,
		    T_REGISTER_PBUF_RING, &reg, 1))
		return -errno;
	return 0;
}

/* Nothing reads the ring before a request selects a buffer */
static void pbuf_setup(struct t_fork_case *c, const void *arg)
{
	off_t off = (off_t) (IORING_OFF_PBUF_RING |
			     ((__u64) PBUF_BGID << IORING_OFF_PBUF_SHIFT));
	void *p;
	int ret;

	(void) arg;
	c->name = "4096-entry pbuf ring, IOU_PBUF_RING_MMAP";
	ring_init(&c->ring, 4);
	ret = pbuf_register(&c->ring);
	if (ret)
		t_fail("registering the pbuf ring: %s", strerror(-ret));
	p = mmap(NULL, pbuf_bytes(), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_POPULATE, c->ring.ring_fd, off);
	if (p == MAP_FAILED)
		t_fail("mmap of the pbuf ring: %s", strerror(errno));
	c->nr_areas = 1;
	c->area[0].addr = p;
	c->area[0].len = pbuf_bytes();
	c->release = pbuf_release;
}

/* Kernels before 6.4 refuse rings they are to allocate themselves */
static int pbuf_mmap_supported(void)
{
	struct io_uring ring;
	int ret;

	ring_init(&ring, 4);
	ret = pbuf_register(&ring);
	if (!ret)
		T_EXPECT(io_uring_unregister_buf_ring(&ring, PBUF_BGID), 0);
	io_uring_queue_exit(&ring);
	if (ret && ret != -EINVAL && ret != -EFAULT)
		t_fail("registering a pbuf ring: %s", strerror(-ret));
	return !ret;
}

int main(void)
{
	t_init();
	t_fork_run(sq_setup, NULL);
	if (pbuf_mmap_supported())
		t_fork_run(pbuf_setup, NULL);
	else
		printf("pbuf ring: IOU_PBUF_RING_MMAP not supported by this "
		       "kernel, not tested\n");
	return T_EXIT_PASS;
}
