/* SPDX-License-Identifier: MIT */
/*
 * no-io-uring: run a command where io_uring is blocked, the way container
 * runtimes (Docker's and podman's default seccomp profiles, gVisor) and
 * kernel.io_uring_disabled=2 block it. A seccomp filter makes
 * io_uring_setup, io_uring_enter and io_uring_register fail with EPERM
 * (or ENOSYS), then the command is executed; children inherit the filter.
 *
 * usage: no-io-uring [-e EPERM|ENOSYS] command [argument...]
 *
 * CI runs "no-io-uring make runtests" (and -e ENOSYS): every test must
 * pass or skip with its reason, none may fail.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define NIU_ARCH	AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define NIU_ARCH	AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define NIU_ARCH	AUDIT_ARCH_AARCH64
#elif defined(__arm__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NIU_ARCH	AUDIT_ARCH_ARM
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NIU_ARCH	AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define NIU_ARCH	AUDIT_ARCH_S390X
#elif defined(__riscv) && __riscv_xlen == 64
#define NIU_ARCH	AUDIT_ARCH_RISCV64
#endif

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup	425
#define __NR_io_uring_enter	426
#define __NR_io_uring_register	427
#endif

/* x32 system calls on x86_64 carry this bit in their number */
#define NIU_X32_BIT	0x40000000U

static void usage(void)
{
	fprintf(stderr, "usage: no-io-uring [-e EPERM|ENOSYS] command "
		"[argument...]\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	unsigned int err = EPERM;
	int i = 1;

	if (i + 1 < argc && !strcmp(argv[i], "-e")) {
		if (!strcmp(argv[i + 1], "EPERM"))
			err = EPERM;
		else if (!strcmp(argv[i + 1], "ENOSYS"))
			err = ENOSYS;
		else
			usage();
		i += 2;
	}
	if (i >= argc || argv[i][0] == '-')
		usage();

#ifdef NIU_ARCH
	{
		/*
		 * Deny the three io_uring system calls by number; a system
		 * call of another architecture (e.g. i386 on x86_64, whose
		 * numbers differ) is killed rather than allowed unchecked.
		 */
		struct sock_filter filter[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, arch)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NIU_ARCH, 1, 0),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, nr)),
#ifdef __x86_64__
			/* x32 numbers: the same calls with the x32 bit */
			BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~NIU_X32_BIT),
#endif
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				 __NR_io_uring_setup, 3, 0),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				 __NR_io_uring_enter, 2, 0),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				 __NR_io_uring_register, 1, 0),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
			BPF_STMT(BPF_RET | BPF_K,
				 SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
		};
		struct sock_fprog prog = {
			.len = sizeof(filter) / sizeof(filter[0]),
			.filter = filter,
		};

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
			perror("no-io-uring: PR_SET_NO_NEW_PRIVS");
			return 1;
		}
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
			perror("no-io-uring: PR_SET_SECCOMP");
			return 1;
		}
	}
#else
	fprintf(stderr, "no-io-uring: no seccomp filter for this "
		"architecture\n");
	return 77;
#endif
	execvp(argv[i], &argv[i]);
	fprintf(stderr, "no-io-uring: %s: %s\n", argv[i], strerror(errno));
	return 127;
}
