/* SPDX-License-Identifier: MIT */
/*
 * Description: io_uring_kmbuf_probe() tells the truth and agrees with what
 * setup does: auto picks the kernel backend exactly when the probe says so,
 * a refused kernel setup leaves nothing registered, and the environment
 * variable does not sway the probe. The first answer is worked out by
 * threads racing into it, each with a group of its own, and none of that
 * touches errno.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define BGID	4
#define NR_THREADS	4

struct racer {
	pthread_t thread;
	int probe;
	int backend;
	int err;
};

/* Probe and set up an automatic group at once with the other racers */
static void *race(void *arg)
{
	struct racer *r = arg;
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	int ret;

	r->err = io_uring_queue_init(2, &ring, 0);
	if (r->err)
		return NULL;
	errno = 4321;
	r->probe = io_uring_kmbuf_probe();
	kb = io_uring_kmbuf_setup(&ring, 2, (unsigned int) t_page_size(), 1,
				  0, &ret);
	if (errno != 4321)
		r->err = -1000;
	else if (!kb)
		r->err = ret;
	else
		r->backend = io_uring_kmbuf_backend(kb);
	if (kb)
		io_uring_kmbuf_free(kb);
	io_uring_queue_exit(&ring);
	return NULL;
}

static void test_race(void)
{
	struct racer racers[NR_THREADS] = { };
	int i;

	for (i = 0; i < NR_THREADS; i++)
		if (pthread_create(&racers[i].thread, NULL, race, &racers[i]))
			t_fail("pthread_create failed");
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(racers[i].thread, NULL);
	for (i = 0; i < NR_THREADS; i++) {
		if (racers[i].err == -1000)
			t_fail("thread %d: probe or setup changed errno", i);
		if (racers[i].err)
			t_fail("thread %d: %s", i, strerror(-racers[i].err));
		T_EXPECT(racers[i].probe, racers[0].probe);
		T_EXPECT(racers[i].backend, racers[0].probe ?
			 IO_URING_KMBUF_BACKEND_EMULATED :
			 IO_URING_KMBUF_BACKEND_KERNEL);
	}
}

int main(void)
{
	unsigned int page = (unsigned int) t_page_size();
	struct io_uring_kmbuf *kb;
	struct io_uring ring;
	int probe, ret;

	t_init();
	t_ring_init(&ring, 4);
	/* before anything else has probed */
	test_race();
	probe = io_uring_kmbuf_probe();
	if (probe != 0 && probe != -EOPNOTSUPP)
		t_fail("probe: %d (%s)", probe, strerror(-probe));
	printf("probe: kernel backend %savailable\n", probe ? "not " : "");

	setenv(IO_URING_KMBUF_ENV, "emulated", 1);
	T_EXPECT(io_uring_kmbuf_probe(), probe);
	setenv(IO_URING_KMBUF_ENV, "kernel", 1);
	T_EXPECT(io_uring_kmbuf_probe(), probe);
	unsetenv(IO_URING_KMBUF_ENV);

	/* auto: kernel when the probe succeeded, emulated otherwise */
	kb = io_uring_kmbuf_setup(&ring, 8, page, BGID, 0, &ret);
	T_ASSERT(kb != NULL);
	T_EXPECT(io_uring_kmbuf_backend(kb), probe ?
		 IO_URING_KMBUF_BACKEND_EMULATED :
		 IO_URING_KMBUF_BACKEND_KERNEL);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);

	/* no emulation allowed */
	kb = io_uring_kmbuf_setup(&ring, 8, page, BGID,
				  IO_URING_KMBUF_NO_EMULATION, &ret);
	if (probe) {
		T_ASSERT(kb == NULL);
		T_EXPECT(ret, -EOPNOTSUPP);
		/* nothing half-registered: the kmbuf bgid is still free */
		T_EXPECT(io_uring_unregister_kmbuf_ring(&ring, BGID) < 0, 1);
		kb = t_kb_setup(&ring, T_BACKEND_EMULATED, 8, page, BGID);
	} else {
		T_ASSERT(kb != NULL);
		T_EXPECT(io_uring_kmbuf_backend(kb),
			 IO_URING_KMBUF_BACKEND_KERNEL);
	}
	T_EXPECT(io_uring_kmbuf_free(kb), 0);

	/* the probe used a private ring: this one's bgid 0 is untouched */
	kb = t_kb_setup(&ring, T_BACKEND_ANY, 8, page, 0);
	T_EXPECT(io_uring_kmbuf_probe(), probe);
	T_EXPECT(io_uring_kmbuf_free(kb), 0);

	io_uring_queue_exit(&ring);
	return T_EXIT_PASS;
}
