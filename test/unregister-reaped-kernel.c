/* SPDX-License-Identifier: MIT */
/*
 * Description: unregister succeeds once every CQE naming a buffer of the
 * group has been posted (KMBUF-ABI.md section 3.3: "the application
 * cancels or reaps first"). Reaping must be enough; nothing else the
 * application can't see may keep the group busy.
 *
 *  - io-wq: a read that took a buffer completes in an io-wq worker, which
 *    posts its CQE at once, while the task that submitted it waits for a
 *    vfork child (a killable sleep) and so can't run the task_work that
 *    frees the request. The read is linked behind an IOSQE_ASYNC openat
 *    of a FIFO, so it runs only once the submitter sleeps and the parent
 *    opens the FIFO. Once its CQE is reaped, unregister must succeed (not
 *    EBUSY until the submitter runs again).
 *  - multishot recv on TCP (and AF_UNIX): after a CQE with
 *    IORING_CQE_F_MORE the request waits in poll without a buffer; once
 *    that CQE is reaped, unregister must succeed, and the next data ends
 *    the request with ENOBUFS and no buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "helpers.h"

#define BGID		5
#define NR_BUFS		4
#define SEED		23

/* The state letter of /proc/<pid>/stat */
static char proc_state(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

static void blocked_submitter(void)
{
	const size_t len = t_page_size();
	char dir[] = "/tmp/kmbuf-reaped.XXXXXX", fifo[64], c;
	int file, wfd, status, ret, i, ready[2], go[2];
	struct io_uring_cqe cqe[2];
	struct io_uring_kmbuf *kb;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	pid_t pid;

	t_ring_init(&ring, 8);
	kb = t_kb_setup(&ring, T_BACKEND_KERNEL, NR_BUFS, len, BGID);
	if (!mkdtemp(dir))
		t_fail("mkdtemp: %s", strerror(errno));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	if (mkfifo(fifo, 0600))
		t_fail("mkfifo: %s", strerror(errno));
	file = t_create_file(len, SEED);
	if (pipe(ready) || pipe(go))
		t_fail("pipe: %s", strerror(errno));

	pid = t_fork();
	if (!pid) {
		/* the io-wq worker blocks in the FIFO's open until the parent */
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_openat(sqe, AT_FDCWD, fifo, O_RDONLY, 0);
		sqe->flags |= IOSQE_ASYNC | IOSQE_IO_LINK;
		sqe->user_data = 1;
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, file, NULL, len, 0);
		io_uring_kmbuf_prep_select(sqe, kb);
		sqe->user_data = 2;
		if (io_uring_submit(&ring) != 2)
			_exit(1);
		/*
		 * Waiting for a vfork child is a killable sleep, which the
		 * task_work notification does not interrupt: this task can't
		 * free its requests until the grandchild exits.
		 */
		if (!vfork()) {
			if (write(ready[1], "r", 1) != 1 ||
			    read(go[0], &c, 1) != 1)
				_exit(1);
			_exit(0);
		}
		_exit(0);
	}

	if (read(ready[0], &c, 1) != 1)
		t_fail("the submitter did not get to vfork");
	for (i = 0; i < 5000 && proc_state(pid) != 'D'; i++)
		usleep(1000);
	if (proc_state(pid) != 'D')
		t_fail("the submitter is not waiting for its vfork child (%c)",
		       proc_state(pid));
	/* now the openat completes and the linked read runs in io-wq */
	wfd = open(fifo, O_WRONLY);
	if (wfd < 0)
		t_fail("open %s: %s", fifo, strerror(errno));
	for (i = 0; i < 2; i++)
		t_wait_cqe(&ring, &cqe[i]);
	if (cqe[0].user_data != 1) {
		struct io_uring_cqe tmp = cqe[0];

		cqe[0] = cqe[1];
		cqe[1] = tmp;
	}
	T_EXPECT(cqe[0].user_data, 1);
	T_ASSERT(cqe[0].res >= 0);
	T_EXPECT(cqe[1].user_data, 2);
	T_EXPECT(cqe[1].res, len);
	T_EXPECT(cqe[1].flags & IORING_CQE_F_BUFFER, IORING_CQE_F_BUFFER);
	T_EXPECT(cqe[1].flags >> IORING_CQE_BUFFER_SHIFT, 0);
	t_check_data(kb->base, len, SEED, 0);

	/* every CQE is reaped; the submitter still can't run task_work */
	T_EXPECT(proc_state(pid), 'D');
	ret = io_uring_kmbuf_free(kb);
	if (write(go[1], "g", 1) != 1)
		t_fail("write: %s", strerror(errno));
	status = t_wait(pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		t_fail("the submitter failed (status %#x)", status);
	if (ret) {
		int again = io_uring_unregister_kmbuf_ring(&ring, BGID);

		t_fail("io-wq read, CQE reaped, submitter blocked: unregister "
		       "-> %s; after the submitter ran: %s", strerror(-ret),
		       again ? strerror(-again) : "0");
	}
	printf("io-wq read, CQE reaped, submitter blocked: unregister 0\n");
	T_EXPECT(io_uring_unregister_kmbuf_ring(&ring, BGID), -ENOENT);
	close(wfd);
	close(file);
	for (i = 0; i < 2; i++) {
		close(ready[i]);
		close(go[i]);
	}
	unlink(fifo);
	rmdir(dir);
	io_uring_queue_exit(&ring);
}

static void idle_multishot(bool tcp)
{
	const char *name = tcp ? "TCP" : "AF_UNIX stream";
	struct io_uring_kmbuf *kb;
	struct io_uring_cqe cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	int sv[2], ret;

	t_ring_init(&ring, 8);
	kb = t_kb_setup(&ring, T_BACKEND_KERNEL, NR_BUFS, t_page_size(), BGID);
	if (tcp)
		t_tcp_pair(sv);
	else if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		t_fail("socketpair: %s", strerror(errno));

	sqe = t_get_sqe(&ring);
	io_uring_prep_recv_multishot(sqe, sv[1], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	sqe->user_data = 7;
	t_submit(&ring, 1);
	t_write_all(sv[0], "hello", 5);
	t_wait_cqe(&ring, &cqe);
	T_EXPECT(cqe.user_data, 7);
	T_EXPECT(cqe.res, 5);
	T_EXPECT(cqe.flags & (IORING_CQE_F_BUFFER | IORING_CQE_F_MORE),
		 IORING_CQE_F_BUFFER | IORING_CQE_F_MORE);
	T_EXPECT(cqe.flags >> IORING_CQE_BUFFER_SHIFT, 0);
	T_ASSERT(!memcmp(kb->base, "hello", 5));
	/* let the request go back to poll, holding no buffer */
	usleep(20000);

	ret = io_uring_kmbuf_free(kb);
	if (ret)
		t_fail("%s multishot recv idle, CQE reaped: unregister -> %s",
		       name, strerror(-ret));
	printf("%s multishot recv idle, CQE reaped: unregister 0\n", name);

	/* the group is gone: the next data ends the request, no bid */
	t_write_all(sv[0], "again", 5);
	t_wait_cqe(&ring, &cqe);
	T_EXPECT(cqe.user_data, 7);
	T_EXPECT(cqe.res, -ENOBUFS);
	T_EXPECT(cqe.flags & (IORING_CQE_F_BUFFER | IORING_CQE_F_MORE), 0);
	close(sv[0]);
	close(sv[1]);
	io_uring_queue_exit(&ring);
}

int main(int argc, char *argv[])
{
	/* an argument runs one case: iowq, tcp or unix */
	const char *only = argc > 1 ? argv[1] : NULL;

	t_init();
	t_require_kmbuf_kernel();
	if (!only || !strcmp(only, "iowq"))
		blocked_submitter();
	if (!only || !strcmp(only, "tcp"))
		idle_multishot(true);
	if (!only || !strcmp(only, "unix"))
		idle_multishot(false);
	return T_EXIT_PASS;
}
