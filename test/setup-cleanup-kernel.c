/* SPDX-License-Identifier: MIT */
/*
 * Description: a kernel-backend setup that fails after registering the
 * group undoes the registration, and if that undo fails it says so. A
 * seccomp filter makes the mapping of the group's buffers (bgid 3) or of
 * its ring (bgid 4) fail with ENOMEM, and makes every unregister on the
 * application's ring fail with EBUSY, as when a request of another thread
 * has already taken a buffer of the new group. Setup must then fail with
 * -EBUSY, also in automatic mode (no emulation on a bgid that is still
 * taken), instead of reporting the mapping's error or falling back while
 * the group stays registered behind the caller's back.
 *
 * Needs the project's kernel series; the filter is made in a child.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "helpers.h"
#include "seccomp.h"

#define BGID_BUFS	3
#define BGID_RING	4

#if defined(T_MMAP_ARGS_IN_REGS) && defined(__NR_mmap)

static void install_filter(int app_fd)
{
	const unsigned int off_bufs = (unsigned int) IORING_OFF_KMBUF_RING |
				      (BGID_BUFS << IORING_OFF_KMBUF_SHIFT);
	const unsigned int off_ring = (unsigned int) IORING_OFF_PBUF_RING |
				      (BGID_RING << IORING_OFF_PBUF_SHIFT);
	struct sock_filter insns[] = {
		T_SECCOMP_PROLOGUE,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 4),
		/* mmap: the two offsets fail */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, T_ARG_LO(5)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, off_bufs, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, off_ring, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOMEM),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register,
			 0, 5),
		/* io_uring_register(app_fd, 39): EBUSY */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, T_ARG_LO(0)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int) app_fd, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, T_ARG_LO(1)),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, T_OPCODE_MASK),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			 IORING_UNREGISTER_KMBUF_RING, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EBUSY),
	};

	t_seccomp_install(insns, sizeof(insns) / sizeof(insns[0]));
}

/* The group is still registered: registering it again finds it */
static void expect_registered(struct io_uring *ring, int bgid)
{
	struct io_uring_kmbuf_reg reg = { };

	reg.buf_size = (unsigned int) t_page_size();
	reg.ring_entries = 2;
	reg.bgid = (__u16) bgid;
	T_EXPECT(io_uring_register_kmbuf_ring(ring, &reg, 0), -EEXIST);
}

static void run_case(void)
{
	unsigned int page = (unsigned int) t_page_size();
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	int ret;

	t_init();
	t_require_kmbuf_kernel();
	t_ring_init(&ring, 4);
	install_filter(ring.ring_fd);

	/* the ring cannot be mapped, nor the group unregistered */
	kb = io_uring_kmbuf_setup(&ring, 2, page, BGID_RING,
				  IO_URING_KMBUF_NO_EMULATION, &ret);
	T_ASSERT(kb == NULL);
	T_EXPECT(ret, -EBUSY);
	expect_registered(&ring, BGID_RING);

	/* the buffers cannot be mapped, nor the group unregistered */
	kb = io_uring_kmbuf_setup(&ring, 2, page, BGID_BUFS, 0, &ret);
	T_ASSERT(kb == NULL);
	T_EXPECT(ret, -EBUSY);
	expect_registered(&ring, BGID_BUFS);
	exit(T_EXIT_PASS);
}

int main(void)
{
	pid_t pid;

	pid = t_fork();
	if (!pid)
		run_case();
	return t_wait_exit(pid);
}
#else
int main(void)
{
	t_skip("no seccomp filter for mmap known for this architecture");
}
#endif
