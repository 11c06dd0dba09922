/* SPDX-License-Identifier: MIT */
/*
 * fork() with io_uring mappings: scenarios shared by fork-ring-mmap.t and
 * fork-kmbuf-kernel.t (see fork-common.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "helpers.h"
#include "fork-common.h"

/* /proc/PID/pagemap: bit 63 page present, bits 0-54 the page frame */
#define PM_PRESENT	(1ULL << 63)
#define PM_PFN_MASK	((1ULL << 55) - 1)

static const char *scenario = "";

static void wait_ok(pid_t pid, const char *who)
{
	int status = t_wait(pid);

	if (WIFSIGNALED(status))
		t_fail("%s: the %s was killed by signal %d", scenario, who,
		       WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		t_fail("%s: the %s exited with status %d", scenario, who,
		       WEXITSTATUS(status));
}

static size_t nr_pages(const struct t_fork_case *c)
{
	size_t page = t_page_size(), n = 0;
	unsigned int i;

	for (i = 0; i < c->nr_areas; i++)
		n += (c->area[i].len + page - 1) / page;
	return n;
}

/* The frame of every page of the areas, 0 where pagemap does not tell */
static unsigned long long *read_frames(const struct t_fork_case *c)
{
	size_t page = t_page_size(), n = 0, off;
	unsigned long long *frames;
	unsigned int i;
	uint64_t ent;
	int fd;

	frames = calloc(nr_pages(c), sizeof(*frames));
	if (!frames)
		t_fail("calloc: out of memory");
	/* the frames are shown to CAP_SYS_ADMIN only: 0 for others */
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return frames;
	for (i = 0; i < c->nr_areas; i++) {
		for (off = 0; off < c->area[i].len; off += page, n++) {
			uintptr_t va = (uintptr_t) (c->area[i].addr + off);

			if (pread(fd, &ent, sizeof(ent),
				  (off_t) (va / page * sizeof(ent))) !=
			    (ssize_t) sizeof(ent))
				continue;
			if (ent & PM_PRESENT)
				frames[n] = ent & PM_PFN_MASK;
		}
	}
	close(fd);
	return frames;
}

/* Fail unless this process maps the frames 'want' recorded */
static void check_frames(const struct t_fork_case *c,
			 const unsigned long long *want)
{
	unsigned long long *got = read_frames(c);
	size_t page = t_page_size(), n = 0, off;
	unsigned int i;

	for (i = 0; i < c->nr_areas; i++) {
		for (off = 0; off < c->area[i].len; off += page, n++) {
			if (!want[n] || got[n] == want[n])
				continue;
			t_fail("%s: %s: page %zu of area %u maps frame %#llx "
			       "in the child, %#llx in the parent", c->name,
			       scenario, off / page, i, got[n], want[n]);
		}
	}
	free(got);
}

static void fill(struct t_fork_case *c, unsigned int seed)
{
	unsigned int i;

	for (i = 0; i < c->nr_areas; i++)
		t_fill(c->area[i].addr, c->area[i].len, seed + i, 0);
}

static void check(const struct t_fork_case *c, unsigned int seed)
{
	unsigned int i;

	for (i = 0; i < c->nr_areas; i++)
		t_check_data(c->area[i].addr, c->area[i].len, seed + i, 0);
}

/*
 * What every child does with its copy of the mapping: same frames as the
 * parent, the parent's data, then data of its own.
 */
static void child_use(struct t_fork_case *c, const unsigned long long *frames,
		      unsigned int seed_in, unsigned int seed_out)
{
	check_frames(c, frames);
	check(c, seed_in);
	fill(c, seed_out);
	check(c, seed_out);
}

static void announce(const struct t_fork_case *c)
{
	printf("%s: %s\n", c->name, scenario);
}

static void read_gate(int fd, int want_eof)
{
	char ch;
	ssize_t ret;

	do {
		ret = read(fd, &ch, 1);
	} while (ret < 0 && errno == EINTR);
	if (want_eof && ret != 0)
		t_fail("%s: gate: got %zd, want EOF", scenario, ret);
	if (!want_eof && ret != 1)
		t_fail("%s: gate: got %zd, want one byte", scenario, ret);
	close(fd);
}

/* The child checks, writes and exits; the parent sees what it wrote */
static void child_exits_first(t_fork_setup_fn setup, const void *arg)
{
	struct t_fork_case c = { 0 };
	unsigned long long *frames;
	pid_t pid;

	setup(&c, arg);
	scenario = "child exits first";
	announce(&c);
	frames = read_frames(&c);
	fill(&c, 1);
	pid = t_fork();
	if (!pid) {
		child_use(&c, frames, 1, 11);
		free(frames);
		_exit(T_EXIT_PASS);
	}
	wait_ok(pid, "child");
	check(&c, 11);
	c.release(&c);
	free(frames);
}

/*
 * A process sets a case up, forks and exits without releasing anything;
 * its child waits until it is gone, then uses the mapping and exits. This
 * process is a subreaper, so it reaps both and sees both statuses.
 */
static void parent_exits_first(t_fork_setup_fn setup, const void *arg)
{
	int pids[2], gate[2];
	pid_t parent, child = 0;
	ssize_t ret;

	scenario = "parent exits first";
	if (pipe(pids))
		t_fail("pipe: %s", strerror(errno));
	parent = t_fork();
	if (!parent) {
		struct t_fork_case c = { 0 };
		unsigned long long *frames;

		close(pids[0]);
		setup(&c, arg);
		announce(&c);
		frames = read_frames(&c);
		fill(&c, 2);
		if (pipe(gate))
			t_fail("pipe: %s", strerror(errno));
		child = t_fork();
		if (!child) {
			close(pids[1]);
			close(gate[1]);
			/* EOF: the parent has exited */
			read_gate(gate[0], 1);
			child_use(&c, frames, 2, 12);
			free(frames);
			_exit(T_EXIT_PASS);
		}
		close(gate[0]);
		if (write(pids[1], &child, sizeof(child)) != sizeof(child))
			t_fail("write: %s", strerror(errno));
		free(frames);
		/* exit releases the mapping, the ring and the gate */
		_exit(T_EXIT_PASS);
	}
	close(pids[1]);
	do {
		ret = read(pids[0], &child, sizeof(child));
	} while (ret < 0 && errno == EINTR);
	close(pids[0]);
	wait_ok(parent, "parent");
	if (ret != (ssize_t) sizeof(child))
		t_fail("%s: the parent did not report its child", scenario);
	/* reparented to this process (a subreaper) when the parent exited */
	wait_ok(child, "child");
}

/*
 * The parent unregisters, unmaps and closes its ring, then lets the child
 * use its own mapping.
 */
static void child_after_release(t_fork_setup_fn setup, const void *arg)
{
	struct t_fork_case c = { 0 };
	unsigned long long *frames;
	int gate[2];
	pid_t pid;

	setup(&c, arg);
	scenario = "child uses the mapping after the parent released it";
	announce(&c);
	frames = read_frames(&c);
	fill(&c, 3);
	if (pipe(gate))
		t_fail("pipe: %s", strerror(errno));
	pid = t_fork();
	if (!pid) {
		close(gate[1]);
		read_gate(gate[0], 0);
		child_use(&c, frames, 3, 13);
		free(frames);
		_exit(T_EXIT_PASS);
	}
	close(gate[0]);
	c.release(&c);
	if (write(gate[1], "r", 1) != 1)
		t_fail("write: %s", strerror(errno));
	close(gate[1]);
	wait_ok(pid, "child");
	free(frames);
}

void t_fork_run(t_fork_setup_fn setup, const void *arg)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		t_fail("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	child_exits_first(setup, arg);
	parent_exits_first(setup, arg);
	child_after_release(setup, arg);
}
