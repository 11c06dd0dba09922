/* SPDX-License-Identifier: MIT */
/*
 * Description: fork() with kmbuf mappings (kernel only). A kmbuf region
 * and its ring are compound pages mapped with vm_insert_pages(), which
 * fork() copies in batches. For 4 x 4 KiB buffers (the smallest region
 * that went wrong), 16 x 16 KiB buffers, and a 1024-entry kmbuf ring, each
 * mapped MAP_SHARED | MAP_POPULATE: the child must map the parent's pages
 * and see its data, and the parent the child's, when the child exits
 * first, when the parent exits first, and when the parent unregisters the
 * group, unmaps and closes its ring before the child goes on.
 * (Linux 6.12 UML copied such batches to the wrong pages: "Bad page map"
 * and "Bad page state" in the kernel log, which runtests.sh catches.)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "helpers.h"
#include "fork-common.h"

struct kmbuf_case {
	const char *name;
	unsigned int nentries;
	unsigned int buf_size;	/* in pages */
	int bgid;
	int map_ring;		/* map the ring instead of the buffers */
};

static const struct kmbuf_case cases[] = {
	{ "kmbuf buffers, 4 x 4 KiB", 4, 1, 1, 0 },
	{ "kmbuf buffers, 16 x 16 KiB", 16, 4, 2, 0 },
	{ "kmbuf ring, 1024 entries", 1024, 1, 3, 1 },
};

static void kmbuf_release(struct t_fork_case *c)
{
	const struct kmbuf_case *kc = c->priv;

	T_EXPECT(io_uring_unregister_kmbuf_ring(&c->ring, kc->bgid), 0);
	T_EXPECT(munmap(c->area[0].addr, c->area[0].len), 0);
	io_uring_queue_exit(&c->ring);
}

static void kmbuf_setup(struct t_fork_case *c, const void *arg)
{
	const struct kmbuf_case *kc = arg;
	struct io_uring_kmbuf_reg reg = { };
	size_t page = t_page_size(), len;
	struct io_uring_buf_ring *br;
	__u64 off;
	void *p;
	unsigned int i;

	c->name = kc->name;
	c->priv = (void *) kc;
	t_ring_init(&c->ring, 4);
	reg.buf_size = (__u32) (kc->buf_size * page);
	reg.ring_entries = kc->nentries;
	reg.bgid = (__u16) kc->bgid;
	T_EXPECT(io_uring_register_kmbuf_ring(&c->ring, &reg, 0), 0);
	if (kc->map_ring) {
		off = IORING_OFF_PBUF_RING |
		      ((__u64) kc->bgid << IORING_OFF_PBUF_SHIFT);
		len = kc->nentries * sizeof(struct io_uring_buf);
	} else {
		off = IORING_OFF_KMBUF_RING |
		      ((__u64) kc->bgid << IORING_OFF_KMBUF_SHIFT);
		len = (size_t) kc->nentries * kc->buf_size * page;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		 c->ring.ring_fd, (off_t) off);
	if (p == MAP_FAILED)
		t_fail("%s: mmap: %s", kc->name, strerror(errno));
	if (kc->map_ring) {
		/* what the kernel put there, before the test overwrites it */
		br = p;
		T_EXPECT(br->tail, kc->nentries);
		for (i = 0; i < kc->nentries; i++)
			T_EXPECT(br->bufs[i].bid, i);
	} else {
		for (i = 0; i < len; i++)
			if (((unsigned char *) p)[i])
				t_fail("%s: byte %u of a new region is %#x",
				       kc->name, i, ((unsigned char *) p)[i]);
	}
	c->nr_areas = 1;
	c->area[0].addr = p;
	c->area[0].len = len;
	c->release = kmbuf_release;
}

int main(void)
{
	unsigned int i;

	t_init();
	t_require_kmbuf_kernel();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		t_fork_run(kmbuf_setup, &cases[i]);
	return T_EXIT_PASS;
}
