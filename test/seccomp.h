/* SPDX-License-Identifier: MIT */
/*
 * Seccomp filters for tests that make the kernel answer as another kernel
 * would (an opcode with another meaning, a failing mmap, a missing
 * register opcode). A filter cannot be removed, so tests install it in a
 * child. T_AUDIT_ARCH is left undefined where the tests know no filter.
 */
#ifndef T_SECCOMP_H
#define T_SECCOMP_H

#include <stddef.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#if defined(__x86_64__) && !defined(__ILP32__)
#define T_AUDIT_ARCH	AUDIT_ARCH_X86_64
#define T_MMAP_ARGS_IN_REGS	1
#elif defined(__i386__)
#define T_AUDIT_ARCH	AUDIT_ARCH_I386
#elif defined(__aarch64__) && !defined(__AARCH64EB__)
#define T_AUDIT_ARCH	AUDIT_ARCH_AARCH64
#define T_MMAP_ARGS_IN_REGS	1
#elif defined(__riscv) && __riscv_xlen == 64
#define T_AUDIT_ARCH	AUDIT_ARCH_RISCV64
#define T_MMAP_ARGS_IN_REGS	1
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define T_AUDIT_ARCH	AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define T_AUDIT_ARCH	AUDIT_ARCH_S390X
#endif

/*
 * T_MMAP_ARGS_IN_REGS: __NR_mmap takes its six arguments in registers
 * (64-bit, not the old struct-pointer mmap), so a filter can read them.
 */

/* Offset of the low 32 bits of syscall argument n */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define T_ARG_LO(n)	(offsetof(struct seccomp_data, args[n]))
#else
#define T_ARG_LO(n)	(offsetof(struct seccomp_data, args[n]) + 4)
#endif

/* io_uring_register opcode without IORING_REGISTER_USE_REGISTERED_RING */
#define T_OPCODE_MASK	0x7fffffffU

/*
 * First instructions of every filter: syscalls of another ABI pass, then
 * the accumulator holds the syscall number.
 */
#define T_SECCOMP_PROLOGUE						\
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS,				\
		 offsetof(struct seccomp_data, arch)),			\
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, T_AUDIT_ARCH, 1, 0),	\
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),			\
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS,				\
		 offsetof(struct seccomp_data, nr))

/*
 * Install a filter for this process and its children; skips the test
 * where the kernel has no seccomp filters, fails on any other error.
 */
void t_seccomp_install(struct sock_filter *insns, unsigned short len);

#endif
