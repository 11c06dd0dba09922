/* SPDX-License-Identifier: MIT */
/*
 * Description: a group survives fork() the way the kernel backend's shared
 * mappings make it: data the kernel writes into a buffer after the fork is
 * seen by the child, a bid the child gives back reaches the kernel, and the
 * parent's own recycle after that goes behind it rather than over it.
 *
 * With IO_URING_KMBUF_CHECK_OWNER the record of held bids is shared too:
 * the child can give back a buffer the parent received after the fork,
 * the parent can give back one the child received, and a second give-back
 * of the same bid, from either process, fails with -EALREADY.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "helpers.h"

#define NR_BUFS		4
#define BGID		6
#define LEN		256

static int data_fds[2];
static bool owner;

/* What the parent tells the child, one step at a time */
struct msg {
	unsigned int bid;
	struct io_uring_cqe cqe;
};

/* Submit a read of LEN bytes of stream 'seed'; the CQE goes to 'cqe' */
static void read_cqe(struct io_uring *ring, struct io_uring_kmbuf *kb,
		     unsigned int seed, struct io_uring_cqe *cqe)
{
	struct io_uring_sqe *sqe;
	char data[LEN];

	t_fill(data, sizeof(data), seed, 0);
	t_write_all(data_fds[1], data, sizeof(data));
	sqe = t_get_sqe(ring);
	io_uring_prep_read(sqe, data_fds[0], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	t_submit(ring, 1);
	t_wait_cqe(ring, cqe);
	T_EXPECT(cqe->res, LEN);
}

/* Take the buffer of a CQE of stream 'seed' and check it; returns the bid */
static unsigned int claim(struct io_uring_kmbuf *kb,
			  const struct io_uring_cqe *cqe, unsigned int seed)
{
	unsigned int bid = ~0U;
	void *buf;

	buf = io_uring_kmbuf_cqe_buf(kb, cqe, &bid);
	T_ASSERT(buf != NULL);
	T_ASSERT(bid < NR_BUFS);
	t_check_data(buf, LEN, seed, 0);
	return bid;
}

static unsigned int read_one(struct io_uring *ring, struct io_uring_kmbuf *kb,
			     unsigned int seed)
{
	struct io_uring_cqe cqe;

	read_cqe(ring, kb, seed, &cqe);
	return claim(kb, &cqe, seed);
}

/* With ownership checks, exactly the bids 'want' are held */
static void expect_held(struct io_uring_kmbuf *kb, const unsigned int *want,
			unsigned int nr)
{
	unsigned int got[NR_BUFS], i;

	if (!owner)
		return;
	T_EXPECT(io_uring_kmbuf_held(kb, got, NR_BUFS), nr);
	for (i = 0; i < nr; i++)
		T_EXPECT(got[i], want[i]);
}

static void get_msg(int fd, struct msg *m)
{
	if (read(fd, m, sizeof(*m)) != (ssize_t) sizeof(*m))
		t_fail("reading a message: %s", strerror(errno));
}

static void put_msg(int fd, const struct msg *m)
{
	t_write_all(fd, m, sizeof(*m));
}

static void child(struct io_uring_kmbuf *kb, unsigned int first,
		  int to_child, int to_parent)
{
	unsigned int held[2];
	struct msg m;

	/* 1: the parent read into this bid after the fork */
	get_msg(to_child, &m);
	T_ASSERT(m.bid < NR_BUFS);
	t_check_data(io_uring_kmbuf_addr(kb, m.bid), LEN, 3, 0);
	held[0] = first;
	held[1] = m.bid;
	expect_held(kb, held, 2);
	/* give it back from here; the group stays the parent's to free */
	T_EXPECT(io_uring_kmbuf_recycle(kb, m.bid), 0);
	if (owner) {
		T_EXPECT(io_uring_kmbuf_recycle(kb, m.bid), -EALREADY);
		expect_held(kb, &first, 1);
	}
	put_msg(to_parent, &m);

	/* 2: a CQE the parent reaped but did not decode: ours to take */
	get_msg(to_child, &m);
	m.bid = claim(kb, &m.cqe, 4);
	put_msg(to_parent, &m);

	/* 3: the parent gave that buffer back: it is not ours any more */
	get_msg(to_child, &m);
	if (owner)
		T_EXPECT(io_uring_kmbuf_recycle(kb, m.bid), -EALREADY);
	put_msg(to_parent, &m);
	_exit(T_EXIT_PASS);
}

static void run(struct io_uring *ring, unsigned int flags)
{
	int to_child[2], to_parent[2], status, ret;
	unsigned int first, second, third, bid, want[2];
	struct io_uring_kmbuf *kb;
	struct msg m;
	pid_t pid;

	owner = flags & IO_URING_KMBUF_CHECK_OWNER;
	if (pipe(to_child) || pipe(to_parent))
		t_fail("pipe: %s", strerror(errno));
	flags |= TEST_BACKEND == T_BACKEND_KERNEL ?
		 IO_URING_KMBUF_NO_EMULATION : IO_URING_KMBUF_FORCE_EMULATION;
	kb = io_uring_kmbuf_setup(ring, NR_BUFS, (unsigned int) t_page_size(),
				  BGID, flags, &ret);
	if (!kb && ret == -EOPNOTSUPP && TEST_BACKEND == T_BACKEND_KERNEL)
		t_skip("kernel backend: %s", t_kernel_missing());
	T_ASSERT(kb != NULL);
	T_EXPECT(io_uring_kmbuf_backend(kb), TEST_BACKEND);

	/* one buffer out before the fork, the others after */
	first = read_one(ring, kb, 2);
	pid = t_fork();
	if (!pid) {
		close(to_parent[0]);
		close(to_child[1]);
		child(kb, first, to_child[0], to_parent[1]);
	}
	close(to_parent[1]);
	close(to_child[0]);

	/* 1: the child gives back what the parent received */
	second = read_one(ring, kb, 3);
	T_ASSERT(second != first);
	memset(&m, 0, sizeof(m));
	m.bid = second;
	put_msg(to_child[1], &m);
	get_msg(to_parent[0], &m);
	expect_held(kb, &first, 1);
	/* given back by the child already: a duplicate is refused */
	if (owner)
		T_EXPECT(io_uring_kmbuf_recycle(kb, second), -EALREADY);

	/* 2: the child takes a buffer, the parent gives it back */
	read_cqe(ring, kb, 4, &m.cqe);
	put_msg(to_child[1], &m);
	get_msg(to_parent[0], &m);
	third = m.bid;
	T_EXPECT(io_uring_kmbuf_cqe_bid(&m.cqe), third);
	want[0] = first < third ? first : third;
	want[1] = first < third ? third : first;
	expect_held(kb, want, 2);
	T_EXPECT(io_uring_kmbuf_recycle(kb, third), 0);
	if (owner)
		T_EXPECT(io_uring_kmbuf_recycle(kb, third), -EALREADY);

	/* 3: the child cannot give it back a second time */
	put_msg(to_child[1], &m);
	get_msg(to_parent[0], &m);
	status = t_wait(pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != T_EXIT_PASS)
		t_fail("child failed: status %#x", status);

	/*
	 * The ring got 'second' from the child, then 'third' and 'first'
	 * from the parent, each once, behind the buffer never taken.
	 */
	T_EXPECT(io_uring_kmbuf_recycle(kb, first), 0);
	expect_held(kb, NULL, 0);
	bid = read_one(ring, kb, 5);
	T_ASSERT(bid != first && bid != second && bid != third);
	T_EXPECT(read_one(ring, kb, 6), second);
	T_EXPECT(read_one(ring, kb, 7), third);
	T_EXPECT(read_one(ring, kb, 8), first);
	T_EXPECT(io_uring_kmbuf_recycle_batch(kb, (unsigned int[]){ first,
					      second, third, bid }, 4), 4);
	if (io_uring_kmbuf_available(kb) != -EOPNOTSUPP)
		T_EXPECT(io_uring_kmbuf_available(kb), NR_BUFS);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	close(to_child[1]);
	close(to_parent[0]);
}

int main(void)
{
	struct io_uring ring;

	t_init();
	t_ring_init(&ring, 8);
	if (pipe(data_fds))
		t_fail("pipe: %s", strerror(errno));
	run(&ring, 0);
	run(&ring, IO_URING_KMBUF_CHECK_OWNER);
	close(data_fds[0]);
	close(data_fds[1]);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
