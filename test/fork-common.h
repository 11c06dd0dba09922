/* SPDX-License-Identifier: MIT */
/*
 * fork() with io_uring mappings: the scenarios shared by fork-ring-mmap.t
 * and fork-kmbuf-kernel.t.
 *
 * A case is a set of areas an io_uring mapping provides (a kmbuf region,
 * a buffer ring, the SQE array...) that userspace may fill with anything.
 * Every scenario fills them with one data stream before fork() and has
 * the child check it byte by byte, write another stream and check that.
 * Where the page frames are visible (/proc/self/pagemap as root), the
 * child also checks that it maps exactly the frames the parent mapped.
 * Shared mappings: when the child is done, the parent checks that it sees
 * what the child wrote.
 */
#ifndef KMBUF_TEST_FORK_COMMON_H
#define KMBUF_TEST_FORK_COMMON_H

#include <stddef.h>
#include <liburing.h>

#define T_FORK_MAX_AREAS	2

struct t_fork_case {
	const char *name;
	struct io_uring ring;
	unsigned int nr_areas;
	struct {
		unsigned char *addr;
		size_t len;
	} area[T_FORK_MAX_AREAS];
	/*
	 * Drop everything this process holds: unregister what was
	 * registered, unmap, io_uring_queue_exit(). Called once in the
	 * process that set the case up (never in a child).
	 */
	void (*release)(struct t_fork_case *c);
	void *priv;
};

/* Sets up a case in the calling process, or skips */
typedef void (*t_fork_setup_fn)(struct t_fork_case *c, const void *arg);

/*
 * Runs the three scenarios, each on a fresh case from 'setup':
 *  - the child checks and writes the areas, then exits first;
 *  - the parent exits first, the child goes on using the areas;
 *  - the parent releases everything (unregisters, unmaps, exits its
 *    ring), then the child goes on using its mapping.
 * Fails (exits 1) on the first problem, naming the case and scenario.
 */
void t_fork_run(t_fork_setup_fn setup, const void *arg);

#endif
