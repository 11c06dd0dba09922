/* SPDX-License-Identifier: MIT */
/*
 * Description: the version macros of <liburing/kmbuf.h>, the run-time
 * queries of the library and the package version agree, and both checks
 * answer "at least major.minor" for older, equal and newer versions.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "helpers.h"

int main(void)
{
	const int major = IO_URING_KMBUF_VERSION_MAJOR;
	const int minor = IO_URING_KMBUF_VERSION_MINOR;
	char want[32];

	/* the header is the package's: "MAJOR.MINOR." starts PACKAGE_VERSION */
	snprintf(want, sizeof(want), "%d.%d.", major, minor);
	if (strncmp(PACKAGE_VERSION, want, strlen(want)))
		t_fail("header says %d.%d, package is %s", major, minor,
		       PACKAGE_VERSION);

	T_EXPECT(io_uring_kmbuf_major_version(), major);
	T_EXPECT(io_uring_kmbuf_minor_version(), minor);

	T_EXPECT(io_uring_kmbuf_check_version(major, minor), 1);
	T_EXPECT(io_uring_kmbuf_check_version(major, 0), 1);
	T_EXPECT(io_uring_kmbuf_check_version(1, 0), 1);
	T_EXPECT(io_uring_kmbuf_check_version(0, 99), 1);
	T_EXPECT(io_uring_kmbuf_check_version(major, minor + 1), 0);
	T_EXPECT(io_uring_kmbuf_check_version(major + 1, 0), 0);

	T_EXPECT(IO_URING_KMBUF_CHECK_VERSION(major, minor), 1);
	T_EXPECT(IO_URING_KMBUF_CHECK_VERSION(major - 1, minor + 5), 1);
	T_EXPECT(IO_URING_KMBUF_CHECK_VERSION(major, minor + 1), 0);
	T_EXPECT(IO_URING_KMBUF_CHECK_VERSION(major + 1, 0), 0);
	printf("liburing-kmbuf %d.%d (package %s)\n", major, minor,
	       PACKAGE_VERSION);
	return T_EXIT_PASS;
}
