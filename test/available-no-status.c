/* SPDX-License-Identifier: MIT */
/*
 * Description: io_uring_kmbuf_available() on a kernel without
 * IORING_REGISTER_PBUF_STATUS (before 6.8), faked with a seccomp filter
 * that fails opcode 26 with EINVAL as such a kernel does: -EOPNOTSUPP on
 * both backends, not a made-up count; any other errno is passed on.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "helpers.h"
#include "seccomp.h"

#define PBUF_STATUS	26

#ifdef T_AUDIT_ARCH
/* io_uring_register(..., 26, ...) fails with 'err'; all else is allowed */
static void install_filter(unsigned int err)
{
	struct sock_filter insns[] = {
		T_SECCOMP_PROLOGUE,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register,
			 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, T_ARG_LO(1)),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x7fffffffU),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PBUF_STATUS, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	t_seccomp_install(insns, sizeof(insns) / sizeof(insns[0]));
}

/* In a child: set up a group, break opcode 26, ask for the count */
static int child(int backend, unsigned int err)
{
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	int ret;

	t_ring_init(&ring, 4);
	kb = t_kb_setup(&ring, backend, 4, (unsigned int) t_page_size(), 1);
	ret = io_uring_kmbuf_available(kb);
	if (ret == -EOPNOTSUPP)
		t_skip("this kernel has no IORING_REGISTER_PBUF_STATUS");
	T_EXPECT(ret, 4);
	install_filter(err);
	ret = io_uring_kmbuf_available(kb);
	T_EXPECT(ret, err == EINVAL ? -EOPNOTSUPP : -(int) err);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);
	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}

/* Returns the child's exit status */
static int run(int backend, unsigned int err)
{
	int status;
	pid_t pid;

	pid = t_fork();
	if (!pid)
		_exit(child(backend, err));
	status = t_wait(pid);
	if (!WIFEXITED(status))
		t_fail("%s backend, errno %u: child died (status %#x)",
		       t_backend_name(backend), err, status);
	return WEXITSTATUS(status);
}

int main(void)
{
	int ret;

	t_init();
	ret = run(T_BACKEND_EMULATED, EINVAL);
	if (ret == T_EXIT_SKIP)
		t_skip("emulated backend: no IORING_REGISTER_PBUF_STATUS or "
		       "no seccomp here");
	T_EXPECT(ret, T_EXIT_PASS);
	T_EXPECT(run(T_BACKEND_EMULATED, ENOMEM), T_EXIT_PASS);
	printf("emulated: -EOPNOTSUPP without the opcode, ENOMEM passed on\n");
	if (t_kernel_missing()) {
		printf("kernel backend: not available here, not checked\n");
		return T_EXIT_PASS;
	}
	T_EXPECT(run(T_BACKEND_KERNEL, EINVAL), T_EXIT_PASS);
	T_EXPECT(run(T_BACKEND_KERNEL, ENOMEM), T_EXIT_PASS);
	printf("kernel: -EOPNOTSUPP without the opcode, ENOMEM passed on\n");
	return T_EXIT_PASS;
}
#else
int main(void)
{
	t_skip("no seccomp filter for this architecture in the test");
}
#endif
