/* SPDX-License-Identifier: MIT */
/*
 * Description: opcodes 38 and 39 are not reserved upstream, so a kernel may
 * give them another meaning. The library may send them to an application's
 * ring only after a private ring has shown kmbuf semantics, and when that
 * probe fails in any way, automatic setup emulates and the probe says
 * -EOPNOTSUPP.
 *
 * Each case runs in its own child (the probe's answer is cached for the
 * process), which installs a seccomp filter that makes IORING_REGISTER 38
 * fail with EBADF or ENOMEM, or "succeed" without doing anything, and that
 * raises SIGSYS if 38 or 39 is ever sent with the application's ring fd.
 * A last case injects nothing and only traps, on kernels without kmbuf.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "helpers.h"
#include "seccomp.h"

#define BGID	5

enum fault {
	FAULT_EBADF,
	FAULT_ENOMEM,
	FAULT_FAKE_SUCCESS,
	FAULT_NONE,
};

static const char *const fault_names[] = {
	[FAULT_EBADF]		= "38 fails with EBADF",
	[FAULT_ENOMEM]		= "38 fails with ENOMEM",
	[FAULT_FAKE_SUCCESS]	= "38 returns 0 and does nothing",
	[FAULT_NONE]		= "nothing injected, kernel without kmbuf",
};

#ifdef T_AUDIT_ARCH
/*
 * io_uring_register(app_fd, 38 or 39, ...) raises SIGSYS; opcode 38 on any
 * other fd gets 'action_38'; everything else is allowed.
 */
static void install_filter(int app_fd, unsigned int action_38)
{
	struct sock_filter insns[] = {
		T_SECCOMP_PROLOGUE,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register,
			 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, T_ARG_LO(1)),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, T_OPCODE_MASK),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			 IORING_REGISTER_KMBUF_RING, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			 IORING_UNREGISTER_KMBUF_RING, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* 38 or 39: keep the opcode in X, look at the fd */
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, T_ARG_LO(0)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int) app_fd,
			 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_MISC | BPF_TXA, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			 IORING_REGISTER_KMBUF_RING, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action_38),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	t_seccomp_install(insns, sizeof(insns) / sizeof(insns[0]));
}

/* What opcode 38 gives on a ring that is not the application's */
static int raw_register_38(void)
{
	struct io_uring_kmbuf_reg reg = { };
	struct io_uring scratch;
	long ret;

	t_ring_init(&scratch, 1);
	reg.buf_size = (unsigned int) t_page_size();
	reg.ring_entries = 1;
	/* an unknown flag: a real kmbuf kernel refuses it, registers nothing */
	reg.flags = 0x8000;
	ret = syscall(__NR_io_uring_register, scratch.ring_fd,
		      IORING_REGISTER_KMBUF_RING, &reg, 1);
	io_uring_queue_exit(&scratch);
	return ret < 0 ? -errno : (int) ret;
}

static void read_through(struct io_uring *ring, struct io_uring_kmbuf *kb)
{
	struct io_uring_cqe cqe;
	struct io_uring_sqe *sqe;
	char data[300];
	unsigned int bid;
	int fds[2];
	void *buf;

	if (pipe(fds))
		t_fail("pipe: %s", strerror(errno));
	t_fill(data, sizeof(data), 21, 0);
	t_write_all(fds[1], data, sizeof(data));
	sqe = t_get_sqe(ring);
	io_uring_prep_read(sqe, fds[0], NULL, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	t_submit(ring, 1);
	t_wait_cqe(ring, &cqe);
	T_EXPECT(cqe.res, sizeof(data));
	buf = io_uring_kmbuf_cqe_buf(kb, &cqe, &bid);
	T_ASSERT(buf != NULL);
	t_check_data(buf, sizeof(data), 21, 0);
	T_EXPECT(io_uring_kmbuf_recycle(kb, bid), 0);
	close(fds[0]);
	close(fds[1]);
}

static void run_case(enum fault fault)
{
	static const unsigned int actions[] = {
		[FAULT_EBADF]		= SECCOMP_RET_ERRNO | EBADF,
		[FAULT_ENOMEM]		= SECCOMP_RET_ERRNO | ENOMEM,
		[FAULT_FAKE_SUCCESS]	= SECCOMP_RET_ERRNO | 0,
		[FAULT_NONE]		= SECCOMP_RET_ALLOW,
	};
	static const int injected[] = {
		[FAULT_EBADF]		= -EBADF,
		[FAULT_ENOMEM]		= -ENOMEM,
		[FAULT_FAKE_SUCCESS]	= 0,
	};
	unsigned int page = (unsigned int) t_page_size();
	struct io_uring_kmbuf_reg reg = { };
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	int ret;

	t_init();
	t_ring_init(&ring, 4);
	if (fault == FAULT_NONE) {
		/* the control case: a kernel without kmbuf as it is */
		if (!io_uring_kmbuf_probe())
			t_skip("the kernel has kmbuf rings: nothing to trap");
		install_filter(ring.ring_fd, SECCOMP_RET_ALLOW);
	} else {
		install_filter(ring.ring_fd, actions[fault]);
		/* the filter is in force: 38 on another ring gets the fault */
		T_EXPECT(raw_register_38(), injected[fault]);
	}

	T_EXPECT(io_uring_kmbuf_probe(), -EOPNOTSUPP);

	/* automatic setup emulates, and the group works */
	kb = io_uring_kmbuf_setup(&ring, 4, page, BGID, 0, &ret);
	if (!kb)
		t_fail("automatic setup: %s", strerror(-ret));
	T_EXPECT(io_uring_kmbuf_backend(kb), IO_URING_KMBUF_BACKEND_EMULATED);
	read_through(&ring, kb);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);

	/* no emulation: refused before the kernel sees 38 */
	kb = io_uring_kmbuf_setup(&ring, 4, page, BGID,
				  IO_URING_KMBUF_NO_EMULATION, &ret);
	T_ASSERT(kb == NULL);
	T_EXPECT(ret, -EOPNOTSUPP);

	/* the thin wrappers hold back 38 and 39 as well */
	reg.buf_size = page;
	reg.ring_entries = 4;
	reg.bgid = BGID;
	T_EXPECT(io_uring_register_kmbuf_ring(&ring, &reg, 0), -EOPNOTSUPP);
	T_EXPECT(io_uring_unregister_kmbuf_ring(&ring, BGID), -EOPNOTSUPP);
	T_ASSERT(io_uring_setup_buf_ring_kernel_managed(&ring, page, 4, BGID,
							0, &ret) == NULL);
	T_EXPECT(ret, -EOPNOTSUPP);

	/* still the same answer, from the cache */
	T_EXPECT(io_uring_kmbuf_probe(), -EOPNOTSUPP);
	io_uring_queue_exit(&ring);
	exit(T_EXIT_PASS);
}

/* Run one case in a child; returns its exit code, reporting a failure */
static int run_child(enum fault fault)
{
	int status;
	pid_t pid;

	pid = t_fork();
	if (!pid)
		run_case(fault);
	status = t_wait(pid);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
		fprintf(stderr, "FAIL: %s: opcode 38 or 39 reached the "
			"application's ring\n", fault_names[fault]);
		return T_EXIT_FAIL;
	}
	if (!WIFEXITED(status)) {
		fprintf(stderr, "FAIL: %s: child died with status %#x\n",
			fault_names[fault], status);
		return T_EXIT_FAIL;
	}
	status = WEXITSTATUS(status);
	if (status == T_EXIT_PASS)
		printf("%s: emulated\n", fault_names[fault]);
	else if (status != T_EXIT_SKIP)
		fprintf(stderr, "FAIL: %s: failed\n", fault_names[fault]);
	return status;
}

int main(void)
{
	int fault, ret, skipped = 0, failed = 0;

	/* the parent never probes: every child starts with no cached answer */
	for (fault = 0; fault <= FAULT_NONE; fault++) {
		ret = run_child((enum fault) fault);
		if (ret == T_EXIT_SKIP)
			skipped++;
		else if (ret != T_EXIT_PASS)
			failed++;
	}
	if (failed)
		return T_EXIT_FAIL;
	if (skipped == FAULT_NONE + 1)
		t_skip("no case could run");
	return T_EXIT_PASS;
}
#else
int main(void)
{
	t_skip("no seccomp audit arch known for this architecture");
}
#endif
