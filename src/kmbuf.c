/* SPDX-License-Identifier: MIT */
/*
 * Kernel-managed buffer rings on top of liburing: the thin wrappers around
 * the kmbuf register/mmap ABI, and the handle API with its kernel and
 * emulated backends.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "liburing/kmbuf.h"

/* an enumerator in the headers that have it (Linux 6.3, liburing 2.4) */
#if !HAVE_DECL_IORING_REGISTER_USE_REGISTERED_RING
#define IORING_REGISTER_USE_REGISTERED_RING	(1U << 31)
#endif

#ifndef __NR_io_uring_register
#define __NR_io_uring_register		427
#endif

#define KMBUF_HUGE_PAGE_SIZE		(2UL * 1024 * 1024)

/* IORING_REGISTER_PBUF_STATUS (Linux 6.8), an enumerator where it exists */
#define KMBUF_REGISTER_PBUF_STATUS	26

struct kmbuf_buf_status {
	__u32	buf_group;
	__u32	head;
	__u32	resv[8];
};

#define KMBUF_LONG_BITS			(8 * sizeof(unsigned long))

/* IOU_PBUF_RING_INC, which kmbuf.h supplies only when headers lack it */
#define KMBUF_PBUF_RING_INC		2

/* kb->flags, library-internal */
#define KB_INCREMENTAL			(1U << 0)

/*
 * What a handle tracks when an inline helper cannot do its job alone. It
 * lives in a shared anonymous mapping of its own, as the ring and the
 * buffers do, so that after fork() parent and child keep one record: a
 * bid either process receives is held for both, and a bid either gives
 * back is no longer held for the other.
 */
struct kmbuf_track {
	/* bytes mapped for this structure and its arrays */
	size_t map_len;
	/* IO_URING_KMBUF_CHECK_OWNER: bids the application holds */
	unsigned long *held;
	/* IO_URING_KMBUF_CHECK_OWNER: scratch, bids met in one cq_advance */
	unsigned long *batch;
	/* IO_URING_KMBUF_INCREMENTAL: bytes of each bid filled so far */
	__u32 *consumed;
};

_Static_assert(sizeof(struct io_uring_kmbuf_reg) == 40,
	       "io_uring_kmbuf_reg must be 40 bytes");
_Static_assert(offsetof(struct io_uring_kmbuf_reg, ring_addr) == 0 &&
	       offsetof(struct io_uring_kmbuf_reg, buf_size) == 0,
	       "the buf_size union must start the struct");
_Static_assert(offsetof(struct io_uring_kmbuf_reg, ring_entries) == 8 &&
	       offsetof(struct io_uring_kmbuf_reg, bgid) == 12 &&
	       offsetof(struct io_uring_kmbuf_reg, flags) == 14 &&
	       offsetof(struct io_uring_kmbuf_reg, resv) == 16,
	       "io_uring_kmbuf_reg layout differs from io_uring_buf_reg");
_Static_assert(sizeof(struct io_uring_kmbuf_reg) ==
	       sizeof(struct io_uring_buf_reg),
	       "io_uring_kmbuf_reg and io_uring_buf_reg differ in size");

/* Threads may race to fill it in; they store the same value, atomically */
static size_t kmbuf_page_size(void)
{
	static size_t page_size;
	size_t size = __atomic_load_n(&page_size, __ATOMIC_RELAXED);

	if (!size) {
		int saved_errno = errno;
		long ret = sysconf(_SC_PAGESIZE);

		errno = saved_errno;
		size = ret > 0 ? (size_t) ret : 4096;
		__atomic_store_n(&page_size, size, __ATOMIC_RELAXED);
	}
	return size;
}

/*
 * The io_uring_register() syscall, returning -errno and leaving the
 * caller's errno alone. Uses the registered ring fd when the real one has
 * been closed.
 *
 * Only liburing's public fields say which: every liburing release keeps the
 * real fd in ring_fd (-1 once io_uring_close_ring_fd() closed it, or for a
 * ring set up with only a registered fd) and the fd that io_uring_enter()
 * takes in enter_ring_fd, which is the registered index once the ring fd
 * is registered and ring_fd again (so -1) after it is unregistered. How
 * liburing marks a registered ring in its private int_flags has changed
 * between releases, so that is never looked at.
 */
static int kmbuf_register(struct io_uring *ring, unsigned int opcode,
			  void *arg, unsigned int nr_args)
{
	int saved_errno = errno;
	int fd = ring->ring_fd;
	long ret;

	if (fd < 0) {
		if (ring->enter_ring_fd < 0)
			return -EBADF;
		fd = ring->enter_ring_fd;
		opcode |= IORING_REGISTER_USE_REGISTERED_RING;
	}
	ret = syscall(__NR_io_uring_register, fd, opcode, arg, nr_args);
	if (ret < 0)
		ret = -errno;
	errno = saved_errno;
	return (int) ret;
}

static void *kmbuf_mmap(void *addr, size_t len, int prot, int flags, int fd,
			__u64 off, int *err)
{
	int saved_errno = errno;
	void *ptr;

	ptr = mmap(addr, len, prot, flags, fd, (off_t) off);
	if (ptr == MAP_FAILED) {
		*err = -errno;
		ptr = NULL;
	} else if (!ptr) {
		/*
		 * Nothing here asks for address 0, and NULL is what callers
		 * take for failure: a "success" there is a broken mmap (a
		 * filter faking it, say). Drop whatever it is and fail.
		 */
		munmap(ptr, len);
		*err = -ENOMEM;
	} else {
		*err = 0;
	}
	errno = saved_errno;
	return ptr;
}

int io_uring_munmap_kmbuf(void *addr, size_t len)
{
	int saved_errno = errno;
	int ret = 0;

	if (!addr || !len)
		return -EINVAL;
	if (munmap(addr, len) < 0)
		ret = -errno;
	errno = saved_errno;
	return ret;
}

/* calloc() that leaves errno alone when it fails */
static void *kmbuf_zalloc(size_t len)
{
	int saved_errno = errno;
	void *ptr = calloc(1, len);

	errno = saved_errno;
	return ptr;
}

static bool kmbuf_bgid_mappable(int bgid)
{
	return bgid >= 0 && bgid <= IO_URING_KMBUF_MAX_BGID;
}

static bool kmbuf_entries_valid(unsigned int nentries)
{
	return nentries && !(nentries & (nentries - 1)) &&
	       nentries <= IO_URING_KMBUF_MAX_ENTRIES;
}

static size_t kmbuf_ring_bytes(unsigned int nentries)
{
	size_t page = kmbuf_page_size();
	size_t len = (size_t) nentries * sizeof(struct io_uring_buf);

	return (len + page - 1) & ~(page - 1);
}

/*
 * The ABI's rules for a group, checked before the kernel sees it, so that
 * a kernel EINVAL afterwards means "no kmbuf support" rather than "bad
 * argument".
 */
static int kmbuf_check_args(unsigned int nentries, unsigned int buf_size,
			    int bgid, size_t *area_size)
{
	if (!kmbuf_entries_valid(nentries))
		return -EINVAL;
	if (!buf_size || buf_size % kmbuf_page_size())
		return -EINVAL;
	if (!kmbuf_bgid_mappable(bgid))
		return -EINVAL;
	if (__builtin_mul_overflow((size_t) nentries, (size_t) buf_size,
				   area_size))
		return -EINVAL;
	return 0;
}

/*
 * What the private probe found, cached for the process. Opcodes 38 and 39
 * are not reserved upstream, so they reach a caller's ring only once a ring
 * of the library's own has shown that they mean kmbuf registration.
 */
enum {
	KMBUF_PROBE_UNKNOWN	= 0,
	/* anything but the kmbuf ABI behind opcode 38 */
	KMBUF_PROBE_NONE,
	/* registration and the buffer mapping, no ring to recycle through */
	KMBUF_PROBE_ABI,
	/* all the handle API needs: the ring maps and holds every bid */
	KMBUF_PROBE_FULL,
};

static int kmbuf_probe_level(void);

int io_uring_register_kmbuf_ring(struct io_uring *ring,
				 struct io_uring_kmbuf_reg *reg,
				 unsigned int flags)
{
	if (!ring || flags)
		return -EINVAL;
	/* a group whose buffers could never be mapped is refused here */
	if (reg && !kmbuf_bgid_mappable(reg->bgid))
		return -EINVAL;
	if (kmbuf_probe_level() < KMBUF_PROBE_ABI)
		return -EOPNOTSUPP;
	return kmbuf_register(ring, IORING_REGISTER_KMBUF_RING, reg, 1);
}

int io_uring_unregister_kmbuf_ring(struct io_uring *ring, int bgid)
{
	struct io_uring_kmbuf_reg reg = { };

	if (!ring || bgid < 0 || bgid > UINT16_MAX)
		return -EINVAL;
	if (kmbuf_probe_level() < KMBUF_PROBE_ABI)
		return -EOPNOTSUPP;
	reg.bgid = (__u16) bgid;
	return kmbuf_register(ring, IORING_UNREGISTER_KMBUF_RING, &reg, 1);
}

static void *kmbuf_mmap_ring_fd(struct io_uring *ring, size_t len, int prot,
				__u64 off, int *err)
{
	if (ring->ring_fd < 0) {
		/* the fd was closed after io_uring_register_ring_fd() */
		*err = -EBADF;
		return NULL;
	}
	return kmbuf_mmap(NULL, len, prot, MAP_SHARED, ring->ring_fd, off,
			  err);
}

void *io_uring_mmap_kmbuf_bufs(struct io_uring *ring, int bgid, size_t len,
			       int prot, int *err)
{
	__u64 off;

	if (!ring || !len || !kmbuf_bgid_mappable(bgid) ||
	    !(prot & PROT_READ) || (prot & ~(PROT_READ | PROT_WRITE))) {
		*err = -EINVAL;
		return NULL;
	}
	off = IORING_OFF_KMBUF_RING | ((__u64) bgid << IORING_OFF_KMBUF_SHIFT);
	return kmbuf_mmap_ring_fd(ring, len, prot, off, err);
}

struct io_uring_buf_ring *io_uring_mmap_kmbuf_ring(struct io_uring *ring,
						   int bgid,
						   unsigned int nentries,
						   int *err)
{
	__u64 off;

	if (!ring || !kmbuf_bgid_mappable(bgid) ||
	    !kmbuf_entries_valid(nentries)) {
		*err = -EINVAL;
		return NULL;
	}
	off = IORING_OFF_PBUF_RING | ((__u64) bgid << IORING_OFF_PBUF_SHIFT);
	return kmbuf_mmap_ring_fd(ring, kmbuf_ring_bytes(nentries),
				  PROT_READ | PROT_WRITE, off, err);
}

/* Register a kmbuf group and map its buffers; undo both on failure */
static void *kmbuf_kernel_register_map(struct io_uring *ring,
				       unsigned int buf_size,
				       unsigned int nentries, int bgid,
				       unsigned int reg_flags,
				       size_t area_size, int *err)
{
	struct io_uring_kmbuf_reg reg = { };
	void *bufs;
	int ret;

	reg.buf_size = buf_size;
	reg.ring_entries = nentries;
	reg.bgid = (__u16) bgid;
	reg.flags = (__u16) reg_flags;
	ret = io_uring_register_kmbuf_ring(ring, &reg, 0);
	if (ret < 0) {
		*err = ret;
		return NULL;
	}
	bufs = io_uring_mmap_kmbuf_bufs(ring, bgid, area_size,
					PROT_READ | PROT_WRITE, err);
	if (!bufs) {
		/*
		 * If the group cannot be unregistered (EBUSY: a request of
		 * another thread already took a buffer), that is what the
		 * caller must hear, not the mapping's error: the group stays.
		 */
		ret = io_uring_unregister_kmbuf_ring(ring, bgid);
		if (ret < 0)
			*err = ret;
	}
	return bufs;
}

void *io_uring_setup_buf_ring_kernel_managed(struct io_uring *ring,
					     unsigned int buf_size,
					     unsigned int nentries, int bgid,
					     unsigned int flags, int *err)
{
	size_t area_size;
	int ret;

	if (!ring || flags) {
		*err = -EINVAL;
		return NULL;
	}
	ret = kmbuf_check_args(nentries, buf_size, bgid, &area_size);
	if (ret) {
		*err = ret;
		return NULL;
	}
	return kmbuf_kernel_register_map(ring, buf_size, nentries, bgid, 0,
					 area_size, err);
}

/*
 * Whether [addr, addr + len) is exactly one mapping that
 * io_uring_mmap_kmbuf_bufs() made for 'bgid': a line of /proc/self/maps
 * with that start and end, shared, at the group's kmbuf offset, of an
 * io_uring file. 1 if so, 0 if not, -1 if the maps cannot be read.
 */
static int kmbuf_is_bufs_mapping(void *addr, size_t len, int bgid)
{
	const unsigned long long off = IORING_OFF_KMBUF_RING |
				       ((__u64) bgid << IORING_OFF_KMBUF_SHIFT);
	const unsigned long start = (unsigned long) (uintptr_t) addr;
	unsigned long lo, hi;
	unsigned long long pgoff;
	char line[512], perms[8], path[64];
	bool line_start = true;
	int saved_errno = errno;
	int found = 0;
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	if (!f) {
		errno = saved_errno;
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		bool whole = strchr(line, '\n') != NULL;
		int n;

		/* only the start of a line names a mapping */
		if (!line_start) {
			line_start = whole;
			continue;
		}
		line_start = whole;
		path[0] = '\0';
		n = sscanf(line, "%lx-%lx %7s %llx %*s %*s %63s", &lo, &hi,
			   perms, &pgoff, path);
		if (n < 4 || lo != start)
			continue;
		found = hi - lo == len && perms[3] == 's' && pgoff == off &&
			!strcmp(path, "anon_inode:[io_uring]");
		break;
	}
	fclose(f);
	errno = saved_errno;
	return found;
}

int io_uring_free_buf_ring_kernel_managed(struct io_uring *ring, void *bufs,
					  unsigned int buf_size,
					  unsigned int nentries, int bgid)
{
	size_t area_size;
	int ret, saved_errno;

	if (!ring || !bufs)
		return -EINVAL;
	ret = kmbuf_check_args(nentries, buf_size, bgid, &area_size);
	if (ret)
		return ret;
	/*
	 * Without kmbuf registration the setup function cannot have mapped
	 * anything: whatever 'bufs' is, it is not ours to unmap.
	 */
	if (kmbuf_probe_level() < KMBUF_PROBE_ABI)
		return -EOPNOTSUPP;
	/*
	 * Unmap only what the setup function mapped: one mapping of exactly
	 * the area, at this group's offset. Where /proc is not mounted, at
	 * least the whole area must be mapped (msync(MS_ASYNC) does no I/O
	 * here and fails on an unaligned pointer or a hole).
	 */
	ret = kmbuf_is_bufs_mapping(bufs, area_size, bgid);
	if (ret < 0) {
		saved_errno = errno;
		ret = !msync(bufs, area_size, MS_ASYNC);
		errno = saved_errno;
	}
	if (!ret)
		return -EINVAL;
	/*
	 * Unregister first, and unmap only if that worked: a kernel that
	 * refuses (EBUSY while a request holds a buffer; ENOENT or EINVAL
	 * for a group that is not this kmbuf ring) leaves everything as it
	 * was.
	 */
	ret = io_uring_unregister_kmbuf_ring(ring, bgid);
	if (ret < 0)
		return ret;
	return io_uring_munmap_kmbuf(bufs, area_size);
}

/*
 * A ring the kernel filled must hold every bid once, in order, and a tail
 * that publishes all of them. Anything else is not our ABI.
 */
static bool kmbuf_ring_is_fresh(const struct io_uring_buf_ring *br,
				unsigned int nentries)
{
	unsigned int i;

	if (br->tail != (__u16) nentries)
		return false;
	for (i = 0; i < nentries; i++)
		if (br->bufs[i].bid != i)
			return false;
	return true;
}

static int kmbuf_setup_kernel(struct io_uring_kmbuf *kb)
{
	int ret;

	if (kmbuf_probe_level() < KMBUF_PROBE_FULL)
		return -EOPNOTSUPP;
	/*
	 * A kernel that does not take incremental consumption for kmbuf
	 * rings refuses the flag with EINVAL, which reads as "no kernel
	 * backend for this group".
	 */
	kb->base = kmbuf_kernel_register_map(kb->ring, kb->buf_size,
					     kb->nentries, kb->bgid,
					     (kb->flags & KB_INCREMENTAL) ?
					     KMBUF_PBUF_RING_INC : 0,
					     kb->area_size, &ret);
	if (!kb->base)
		return ret;
	kb->br = io_uring_mmap_kmbuf_ring(kb->ring, kb->bgid, kb->nentries,
					  &ret);
	if (kb->br && !kmbuf_ring_is_fresh(kb->br, kb->nentries)) {
		io_uring_munmap_kmbuf(kb->br, kb->ring_size);
		kb->br = NULL;
	}
	if (!kb->br) {
		/*
		 * Buffers the application cannot give back are of no use to
		 * the handle API: treat the kernel as lacking kmbuf support.
		 */
		io_uring_munmap_kmbuf(kb->base, kb->area_size);
		kb->base = NULL;
		/*
		 * A group that cannot be unregistered stays: report why,
		 * rather than emulate on a bgid that is taken.
		 */
		ret = io_uring_unregister_kmbuf_ring(kb->ring, kb->bgid);
		return ret < 0 ? ret : -EOPNOTSUPP;
	}
	kb->backend = IO_URING_KMBUF_BACKEND_KERNEL;
	return 0;
}

/*
 * The emulated area and ring are shared mappings, as the kernel backend's
 * are: after fork() parent and child see the same buffers, and a bid either
 * of them gives back reaches the kernel's copy of the ring.
 */
static void *kmbuf_alloc_area(struct io_uring_kmbuf *kb, bool huge, int *err)
{
	const int flags = MAP_SHARED | MAP_ANONYMOUS;
	const int prot = PROT_READ | PROT_WRITE;
	void *ptr;

	if (huge) {
		size_t len = (kb->area_size + KMBUF_HUGE_PAGE_SIZE - 1) &
			     ~(KMBUF_HUGE_PAGE_SIZE - 1);

		ptr = kmbuf_mmap(NULL, len, prot, flags | MAP_HUGETLB, -1, 0,
				 err);
		if (ptr) {
			kb->area_size = len;
			return ptr;
		}
	}
	ptr = kmbuf_mmap(NULL, kb->area_size, prot, flags, -1, 0, err);
	if (ptr && huge) {
		/* no hugetlb pages reserved: ask for transparent ones */
		int saved_errno = errno;

		madvise(ptr, kb->area_size, MADV_HUGEPAGE);
		errno = saved_errno;
	}
	return ptr;
}

static int kmbuf_setup_emulated(struct io_uring_kmbuf *kb, bool huge)
{
	struct io_uring_kmbuf_reg reg = { };
	unsigned int i;
	int ret;

	kb->base = kmbuf_alloc_area(kb, huge, &ret);
	if (!kb->base)
		return ret;
	kb->br = kmbuf_mmap(NULL, kb->ring_size, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0, &ret);
	if (!kb->br)
		goto err_area;
	io_uring_buf_ring_init(kb->br);
	reg.ring_addr = (__u64) (uintptr_t) kb->br;
	reg.ring_entries = kb->nentries;
	reg.bgid = kb->bgid;
	if (kb->flags & KB_INCREMENTAL)
		reg.flags = KMBUF_PBUF_RING_INC;
	ret = kmbuf_register(kb->ring, IORING_REGISTER_PBUF_RING, &reg, 1);
	/* IOU_PBUF_RING_INC arrived in Linux 6.12; older kernels say EINVAL */
	if (ret == -EINVAL && (kb->flags & KB_INCREMENTAL))
		ret = -EOPNOTSUPP;
	if (ret < 0)
		goto err_ring;
	for (i = 0; i < kb->nentries; i++)
		__io_uring_kmbuf_put(kb, i, (int) i);
	io_uring_kmbuf_advance(kb, kb->nentries);
	kb->backend = IO_URING_KMBUF_BACKEND_EMULATED;
	return 0;
err_ring:
	io_uring_munmap_kmbuf(kb->br, kb->ring_size);
	kb->br = NULL;
err_area:
	io_uring_munmap_kmbuf(kb->base, kb->area_size);
	kb->base = NULL;
	return ret;
}

/* Apply LIBURING_KMBUF_BACKEND to the backend choice in 'flags' */
static int kmbuf_env_flags(unsigned int *flags)
{
	const unsigned int choice = IO_URING_KMBUF_NO_EMULATION |
				    IO_URING_KMBUF_FORCE_EMULATION;
	const char *env = getenv(IO_URING_KMBUF_ENV);

	if (!env || !*env)
		return 0;
	if (!strcmp(env, "kernel"))
		*flags = (*flags & ~choice) | IO_URING_KMBUF_NO_EMULATION;
	else if (!strcmp(env, "emulated"))
		*flags = (*flags & ~choice) | IO_URING_KMBUF_FORCE_EMULATION;
	else if (strcmp(env, "auto"))
		return -EINVAL;
	return 0;
}

/*
 * One shared mapping for the tracking state and the arrays it points to.
 * The pointers stay valid in a child, which maps it at the same address.
 */
static struct kmbuf_track *kmbuf_track_alloc(unsigned int nentries,
					     unsigned int flags, int *err)
{
	size_t words = (nentries + KMBUF_LONG_BITS - 1) / KMBUF_LONG_BITS;
	size_t page = kmbuf_page_size();
	size_t len = sizeof(struct kmbuf_track);
	struct kmbuf_track *t;
	char *p;

	if (flags & IO_URING_KMBUF_CHECK_OWNER)
		len += 2 * words * sizeof(unsigned long);
	if (flags & IO_URING_KMBUF_INCREMENTAL)
		len += nentries * sizeof(__u32);
	len = (len + page - 1) & ~(page - 1);
	/* zero-filled, like the calloc() it replaces */
	t = kmbuf_mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0, err);
	if (!t)
		return NULL;
	t->map_len = len;
	p = (char *) (t + 1);
	if (flags & IO_URING_KMBUF_CHECK_OWNER) {
		t->held = (unsigned long *) p;
		t->batch = t->held + words;
		p = (char *) (t->batch + words);
	}
	if (flags & IO_URING_KMBUF_INCREMENTAL)
		t->consumed = (__u32 *) p;
	return t;
}

static void kmbuf_track_free(void *track)
{
	struct kmbuf_track *t = track;

	if (t)
		io_uring_munmap_kmbuf(t, t->map_len);
}

static struct io_uring_kmbuf *kmbuf_setup(struct io_uring *ring,
					  unsigned int nentries,
					  unsigned int buf_size, int bgid,
					  unsigned int flags, int *err)
{
	struct io_uring_kmbuf *kb;
	size_t area_size;
	int ret;

	ret = kmbuf_check_args(nentries, buf_size, bgid, &area_size);
	if (ret) {
		*err = ret;
		return NULL;
	}
	kb = kmbuf_zalloc(sizeof(*kb));
	if (!kb) {
		*err = -ENOMEM;
		return NULL;
	}
	kb->ring = ring;
	kb->nentries = nentries;
	kb->mask = nentries - 1;
	kb->buf_size = buf_size;
	kb->bgid = (unsigned short) bgid;
	kb->area_size = area_size;
	kb->ring_size = kmbuf_ring_bytes(nentries);
	if (flags & (IO_URING_KMBUF_CHECK_OWNER | IO_URING_KMBUF_INCREMENTAL)) {
		kb->track = kmbuf_track_alloc(nentries, flags, &ret);
		if (!kb->track) {
			free(kb);
			*err = ret;
			return NULL;
		}
	}
	if (flags & IO_URING_KMBUF_INCREMENTAL)
		kb->flags |= KB_INCREMENTAL;

	ret = -EOPNOTSUPP;
	if (!(flags & IO_URING_KMBUF_FORCE_EMULATION)) {
		ret = kmbuf_setup_kernel(kb);
		/*
		 * The probe has shown a kmbuf kernel and the arguments passed
		 * our own checks, so EINVAL here is a group the kernel
		 * refuses (too large for it): only that and EOPNOTSUPP fall
		 * back; EEXIST, ENOMEM and the like are the caller's.
		 */
		if (ret == -EINVAL)
			ret = -EOPNOTSUPP;
	}
	if (ret == -EOPNOTSUPP && !(flags & IO_URING_KMBUF_NO_EMULATION))
		ret = kmbuf_setup_emulated(kb,
					   flags & IO_URING_KMBUF_HUGE_PAGES);
	if (ret) {
		kmbuf_track_free(kb->track);
		free(kb);
		*err = ret;
		return NULL;
	}
	/* with tracking, every bid takes the library's path */
	kb->fast_bids = kb->track ? 0 : nentries;
	/*
	 * Incremental groups refuse requests whose CQEs couldn't say where
	 * their data is (io_uring_kmbuf_prep_select(3)). On the emulated
	 * backend, a request that commits its buffer at selection (io-wq,
	 * files that can't be polled) makes a stock kernel consume the
	 * length asked for, not what it read, and its CQE doesn't say which
	 * happened; asking for the whole rest of the buffer retires it at
	 * selection instead, which the kernel series always does.
	 */
	if (kb->flags & KB_INCREMENTAL)
		kb->min_sel_len =
			kb->backend == IO_URING_KMBUF_BACKEND_EMULATED ?
			buf_size : 1;
	*err = 0;
	return kb;
}

struct io_uring_kmbuf *io_uring_kmbuf_setup(struct io_uring *ring,
					    unsigned int nentries,
					    unsigned int buf_size, int bgid,
					    unsigned int flags, int *err)
{
	const unsigned int valid = IO_URING_KMBUF_NO_EMULATION |
				   IO_URING_KMBUF_FORCE_EMULATION |
				   IO_URING_KMBUF_HUGE_PAGES |
				   IO_URING_KMBUF_CHECK_OWNER |
				   IO_URING_KMBUF_INCREMENTAL;
	int ret;

	/*
	 * The program's own flags are checked before the environment can
	 * replace its backend choice, so that a conflict is refused in every
	 * environment, not only where LIBURING_KMBUF_BACKEND is unset.
	 */
	if (!ring || (flags & ~valid) ||
	    (flags & IO_URING_KMBUF_NO_EMULATION &&
	     flags & IO_URING_KMBUF_FORCE_EMULATION)) {
		*err = -EINVAL;
		return NULL;
	}
	ret = kmbuf_env_flags(&flags);
	if (ret) {
		*err = ret;
		return NULL;
	}
	return kmbuf_setup(ring, nentries, buf_size, bgid, flags, err);
}

/*
 * Whether any buffer of an emulated group may be out of the ring, held by
 * the application or by a request in flight. Counting entries is not
 * enough: a bid given back twice (or never received) fills the place of
 * one a request still holds. So look at the entries between the kernel's
 * head and the tail: no buffer is out only if every bid is there. When
 * the kernel cannot tell its head (before 6.8), or anything else is in
 * doubt, assume one is out.
 */
static bool kmbuf_buffers_out(const struct io_uring_kmbuf *kb)
{
	struct kmbuf_buf_status st = { };
	unsigned long *seen;
	unsigned int i, nr, missing;
	__u16 head, tail;

	st.buf_group = kb->bgid;
	if (kmbuf_register(kb->ring, KMBUF_REGISTER_PBUF_STATUS, &st, 1))
		return true;
	head = (__u16) st.head;
	tail = io_uring_smp_load_acquire(&kb->br->tail);
	nr = (__u16) (tail - head);
	if (nr != kb->nentries)
		return true;
	seen = kmbuf_zalloc((kb->nentries + KMBUF_LONG_BITS - 1) /
			    KMBUF_LONG_BITS * sizeof(unsigned long));
	if (!seen)
		return true;
	missing = kb->nentries;
	for (i = 0; i < nr; i++) {
		unsigned int bid = kb->br->bufs[(head + i) & kb->mask].bid;
		unsigned long bit = 1UL << (bid % KMBUF_LONG_BITS);

		if (bid >= kb->nentries || (seen[bid / KMBUF_LONG_BITS] & bit))
			break;
		seen[bid / KMBUF_LONG_BITS] |= bit;
		missing--;
	}
	free(seen);
	return missing != 0;
}

/*
 * Point every ring entry of an emulated group at the top page of the
 * address space, which no process can map: a request that selects a
 * buffer from now on writes nowhere and fails with EFAULT. The kernel reads
 * an entry's address when it selects it, so only buffers taken before this
 * can still be written, and the head counts those.
 */
static void kmbuf_poison_ring(struct io_uring_kmbuf *kb)
{
	const __u64 poison = ~(__u64) 0 - (kmbuf_page_size() - 1);
	unsigned int i;

	for (i = 0; i < kb->nentries; i++)
		__atomic_store_n(&kb->br->bufs[i].addr, poison,
				 __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/*
 * Release an emulated buffer area. If a buffer may still be out, a request
 * may still write into it after the group is gone: then the range is
 * replaced by an inaccessible reservation that holds no memory, so the
 * write fails with EFAULT and nothing else can be mapped there. It stays
 * reserved for the life of the process. If even that fails, the area is
 * kept as it is, which is safe too.
 */
static int kmbuf_release_area(struct io_uring_kmbuf *kb, bool buffers_out)
{
	int saved_errno = errno;
	void *ptr;

	if (!buffers_out)
		return io_uring_munmap_kmbuf(kb->base, kb->area_size);
	ptr = mmap(kb->base, kb->area_size, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		   -1, 0);
	(void) ptr;
	errno = saved_errno;
	return 0;
}

int io_uring_kmbuf_free(struct io_uring_kmbuf *kb)
{
	struct io_uring_kmbuf_reg reg = { };
	bool buffers_out = false;
	int ret, ret2;

	if (!kb)
		return -EINVAL;
	reg.bgid = kb->bgid;
	if (kb->backend == IO_URING_KMBUF_BACKEND_KERNEL) {
		/*
		 * The kernel's pages outlive our mapping while a request
		 * holds one. A kernel that refuses to unregister then
		 * (EBUSY) leaves the group and the handle as they were.
		 */
		ret = io_uring_unregister_kmbuf_ring(kb->ring, kb->bgid);
		if (ret == -EBUSY)
			return ret;
	} else {
		kmbuf_poison_ring(kb);
		buffers_out = kmbuf_buffers_out(kb);
		ret = kmbuf_register(kb->ring, IORING_UNREGISTER_PBUF_RING,
				     &reg, 1);
	}
	ret2 = io_uring_munmap_kmbuf(kb->br, kb->ring_size);
	if (!ret)
		ret = ret2;
	ret2 = kmbuf_release_area(kb, buffers_out);
	if (!ret)
		ret = ret2;
	kmbuf_track_free(kb->track);
	free(kb);
	return ret;
}

/*
 * A shortage that may pass (memory, RLIMIT_MEMLOCK, file descriptors, a
 * signal): the probe's answer then says nothing about the kernel, and is
 * not kept.
 */
static bool kmbuf_errno_transient(int err)
{
	return err == -ENOMEM || err == -EAGAIN || err == -EMFILE ||
	       err == -ENFILE || err == -EINTR;
}

/*
 * A pipe whose write end only the private ring holds, as a registered
 * file: the read end sees end of file once the kernel has torn the ring
 * down, which it does asynchronously after the ring fd is closed. Returns
 * the read end, or -1 (then nobody waits).
 */
static int kmbuf_probe_watch(struct io_uring *ring)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	if (io_uring_register_files(ring, &fds[1], 1)) {
		close(fds[0]);
		fds[0] = -1;
	}
	close(fds[1]);
	return fds[0];
}

/*
 * Wait, a second at most, until the private ring is gone. On kernels that
 * charge ring memory to RLIMIT_MEMLOCK the charge goes with the ring, and
 * a ring still being torn down would take its share of the caller's limit
 * from the caller's own first registration.
 */
static void kmbuf_probe_wait(int watch)
{
	struct pollfd pfd = { .fd = watch, .events = POLLIN };
	int i;

	if (watch < 0)
		return;
	for (i = 0; i < 100; i++) {
		int ret = poll(&pfd, 1, 10);

		if (ret > 0 || (ret < 0 && errno != EINTR))
			break;
	}
	close(watch);
}

/*
 * The probe proper, on a ring of its own that nothing else uses: register a
 * group of two one-page buffers with opcode 38, map exactly the two pages
 * at the kmbuf offset (one page more must be refused), map the ring and
 * find both bids in order, and unregister with opcode 39 (a second time
 * must find nothing). Whatever a kernel that gives these opcodes another
 * meaning does to the private ring dies with it.
 */
static int kmbuf_probe_ring(struct io_uring *ring)
{
	const unsigned int nr = 2;
	unsigned int page = (unsigned int) kmbuf_page_size();
	struct io_uring_kmbuf_reg reg = { };
	struct io_uring_buf_ring *br = NULL;
	int level = KMBUF_PROBE_NONE;
	void *bufs = NULL, *extra;
	int ret;

	reg.buf_size = page;
	reg.ring_entries = nr;
	reg.bgid = 0;
	ret = kmbuf_register(ring, IORING_REGISTER_KMBUF_RING, &reg, 1);
	if (ret)
		return kmbuf_errno_transient(ret) ? KMBUF_PROBE_UNKNOWN :
						    KMBUF_PROBE_NONE;
	bufs = kmbuf_mmap_ring_fd(ring, (size_t) nr * page,
				  PROT_READ | PROT_WRITE,
				  IORING_OFF_KMBUF_RING, &ret);
	if (!bufs)
		goto out;
	extra = kmbuf_mmap_ring_fd(ring, (size_t) (nr + 1) * page,
				   PROT_READ | PROT_WRITE,
				   IORING_OFF_KMBUF_RING, &ret);
	if (extra) {
		io_uring_munmap_kmbuf(extra, (size_t) (nr + 1) * page);
		goto out;
	}
	level = KMBUF_PROBE_ABI;
	br = kmbuf_mmap_ring_fd(ring, kmbuf_ring_bytes(nr),
				PROT_READ | PROT_WRITE, IORING_OFF_PBUF_RING,
				&ret);
	if (br && kmbuf_ring_is_fresh(br, nr))
		level = KMBUF_PROBE_FULL;
out:
	if (br)
		io_uring_munmap_kmbuf(br, kmbuf_ring_bytes(nr));
	if (bufs)
		io_uring_munmap_kmbuf(bufs, (size_t) nr * page);
	reg.buf_size = 0;
	reg.ring_entries = 0;
	if (kmbuf_register(ring, IORING_UNREGISTER_KMBUF_RING, &reg, 1) != 0 ||
	    kmbuf_register(ring, IORING_UNREGISTER_KMBUF_RING, &reg, 1) !=
	    -ENOENT)
		level = KMBUF_PROBE_NONE;
	return level;
}

/*
 * The cached answer, or a fresh probe. Threads that race here may each
 * run the probe; they find the same thing, and the answer is stored once
 * complete. A private ring that cannot even be created, or a registration
 * refused for a passing shortage (ENOMEM, EAGAIN, EMFILE, ENFILE, EINTR),
 * leaves nothing cached and counts as no kmbuf for now. The probe returns
 * only once the kernel has torn its ring down.
 */
static int kmbuf_probe_level(void)
{
	static int cached = KMBUF_PROBE_UNKNOWN;
	struct io_uring ring;
	int saved_errno;
	int level, watch;

	level = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
	if (level != KMBUF_PROBE_UNKNOWN)
		return level;
	/* liburing's setup and teardown may leave errno changed */
	saved_errno = errno;
	if (io_uring_queue_init(1, &ring, 0) < 0) {
		errno = saved_errno;
		return KMBUF_PROBE_NONE;
	}
	watch = kmbuf_probe_watch(&ring);
	level = kmbuf_probe_ring(&ring);
	io_uring_queue_exit(&ring);
	kmbuf_probe_wait(watch);
	errno = saved_errno;
	/* a passing shortage answers nothing: probe again next time */
	if (level == KMBUF_PROBE_UNKNOWN)
		return KMBUF_PROBE_NONE;
	__atomic_store_n(&cached, level, __ATOMIC_RELEASE);
	return level;
}

int io_uring_kmbuf_probe(void)
{
	return kmbuf_probe_level() == KMBUF_PROBE_FULL ? 0 : -EOPNOTSUPP;
}

const char *io_uring_kmbuf_backend_name(int backend)
{
	switch (backend) {
	case IO_URING_KMBUF_BACKEND_KERNEL:
		return "kernel";
	case IO_URING_KMBUF_BACKEND_EMULATED:
		return "emulated";
	case IO_URING_KMBUF_BACKEND_NONE:
		return "none";
	default:
		return "unknown";
	}
}

int io_uring_kmbuf_available(const struct io_uring_kmbuf *kb)
{
	struct kmbuf_buf_status st = { };
	int ret;

	if (!kb)
		return -EINVAL;
	st.buf_group = kb->bgid;
	ret = kmbuf_register(kb->ring, KMBUF_REGISTER_PBUF_STATUS, &st, 1);
	/*
	 * The handle's group is a ring, so EINVAL is a kernel without the
	 * opcode (before 6.8). The library cannot tell how many buffers
	 * requests have taken without the kernel's head: no guess.
	 */
	if (ret == -EINVAL)
		return -EOPNOTSUPP;
	if (ret < 0)
		return ret;
	return (__u16) (io_uring_smp_load_acquire(&kb->br->tail) - st.head);
}

/*
 * The bitmaps are shared with forked children: every access is atomic, so
 * that a word never loses another process's update to a neighbouring bit.
 */
static bool kmbuf_test_bit(const unsigned long *map, unsigned int bit)
{
	return __atomic_load_n(&map[bit / KMBUF_LONG_BITS], __ATOMIC_ACQUIRE) &
	       (1UL << (bit % KMBUF_LONG_BITS));
}

static void kmbuf_set_bit(unsigned long *map, unsigned int bit)
{
	__atomic_fetch_or(&map[bit / KMBUF_LONG_BITS],
			  1UL << (bit % KMBUF_LONG_BITS), __ATOMIC_ACQ_REL);
}

static void kmbuf_clear_bit(unsigned long *map, unsigned int bit)
{
	__atomic_fetch_and(&map[bit / KMBUF_LONG_BITS],
			   ~(1UL << (bit % KMBUF_LONG_BITS)), __ATOMIC_ACQ_REL);
}

/* Clear 'bit'; whether it was set */
static bool kmbuf_test_and_clear_bit(unsigned long *map, unsigned int bit)
{
	unsigned long mask = 1UL << (bit % KMBUF_LONG_BITS);

	return __atomic_fetch_and(&map[bit / KMBUF_LONG_BITS], ~mask,
				  __ATOMIC_ACQ_REL) & mask;
}

static struct kmbuf_track *kmbuf_track(const struct io_uring_kmbuf *kb)
{
	return kb->track;
}

/* With incremental consumption, does this CQE leave its buffer in the ring? */
static bool kmbuf_cqe_keeps_buf(const struct kmbuf_track *t,
				const struct io_uring_cqe *cqe)
{
	return t && t->consumed && (cqe->flags & IORING_CQE_F_BUF_MORE);
}

/* 'bid' goes back into the ring: the next request fills it from 0 */
static void kmbuf_track_give_back(struct kmbuf_track *t, unsigned int bid)
{
	if (!t)
		return;
	if (t->held)
		kmbuf_clear_bit(t->held, bid);
	if (t->consumed)
		t->consumed[bid] = 0;
}

int io_uring_kmbuf_held(const struct io_uring_kmbuf *kb, unsigned int *bids,
			unsigned int nr)
{
	const struct kmbuf_track *t;
	unsigned int bid, count = 0;

	if (!kb || (nr && !bids))
		return -EINVAL;
	t = kmbuf_track(kb);
	if (!t || !t->held)
		return -EINVAL;
	for (bid = 0; bid < kb->nentries; bid++) {
		if (!kmbuf_test_bit(t->held, bid))
			continue;
		if (count < nr)
			bids[count] = bid;
		count++;
	}
	return (int) count;
}

/*
 * Takes &cqe->flags rather than the CQE: the inline caller has just loaded
 * that word, and passing its address leaves the caller's fast path as it
 * was (make bench-hotpath).
 */
void *__io_uring_kmbuf_claim(const struct io_uring_kmbuf *kb,
			     const __u32 *flags)
{
	const struct io_uring_cqe *cqe = (const struct io_uring_cqe *)
		((const char *) flags - offsetof(struct io_uring_cqe, flags));
	__u32 cqe_flags = cqe->flags;
	__s32 cqe_res = cqe->res;

	struct kmbuf_track *t = kmbuf_track(kb);
	unsigned int bid = cqe_flags >> IORING_CQE_BUFFER_SHIFT;
	size_t off = 0;

	if (!(cqe_flags & IORING_CQE_F_BUFFER) || bid >= kb->nentries)
		return NULL;
	if (t && t->consumed) {
		/*
		 * This CQE's data starts where the previous ones of this
		 * buffer ended. While the kernel keeps filling the buffer
		 * it is not the application's to give back.
		 */
		off = t->consumed[bid];
		/*
		 * Data can't start at or past the end of the buffer, and a
		 * CQE that leaves the buffer in the ring leaves room in it:
		 * otherwise this CQE was decoded before or the counting is
		 * off, and no address in the buffer would be right.
		 */
		if (off >= kb->buf_size)
			return NULL;
		if (cqe_flags & IORING_CQE_F_BUF_MORE) {
			if (cqe_res > 0 &&
			    (__u32) cqe_res >= kb->buf_size - off)
				return NULL;
			if (cqe_res > 0)
				t->consumed[bid] += (__u32) cqe_res;
			return (char *) kb->base +
			       (size_t) bid * kb->buf_size + off;
		}
	}
	/* the buffer is the application's now, until it gives it back */
	if (t && t->held)
		kmbuf_set_bit(t->held, bid);
	return (char *) kb->base + (size_t) bid * kb->buf_size + off;
}

int __io_uring_kmbuf_add(struct io_uring_kmbuf *kb, unsigned int bid,
			 int offset)
{
	struct kmbuf_track *t = kmbuf_track(kb);

	if (bid >= kb->nentries)
		return -EINVAL;
	/* one step, so that only one give-back of a bid can win */
	if (t && t->held && !kmbuf_test_and_clear_bit(t->held, bid))
		return -EALREADY;
	kmbuf_track_give_back(t, bid);
	__io_uring_kmbuf_put(kb, bid, offset);
	return 0;
}

int __io_uring_kmbuf_recycle_batch(struct io_uring_kmbuf *kb,
				   const unsigned int *bids, unsigned int nr)
{
	struct kmbuf_track *t = kmbuf_track(kb);
	unsigned int i, j;

	if (nr > kb->nentries)
		return -EINVAL;
	for (i = 0; i < nr; i++)
		if (bids[i] >= kb->nentries)
			return -EINVAL;
	if (t && t->held) {
		/* a bid not held, or twice in the batch: undo, refuse all */
		for (i = 0; i < nr; i++) {
			if (!kmbuf_test_and_clear_bit(t->held, bids[i])) {
				for (j = 0; j < i; j++)
					kmbuf_set_bit(t->held, bids[j]);
				return -EALREADY;
			}
		}
	}
	for (i = 0; i < nr; i++) {
		kmbuf_track_give_back(t, bids[i]);
		__io_uring_kmbuf_put(kb, bids[i], (int) i);
	}
	io_uring_kmbuf_advance(kb, nr);
	return (int) nr;
}

int __io_uring_kmbuf_cqe_seen(struct io_uring_kmbuf *kb,
			      struct io_uring_cqe *cqe)
{
	struct kmbuf_track *t = kmbuf_track(kb);
	unsigned int bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

	/* a bid out of range is refused, whether or not it stays */
	if ((cqe->flags & IORING_CQE_F_BUFFER) && bid >= kb->nentries)
		return -EINVAL;
	if ((cqe->flags & IORING_CQE_F_BUFFER) &&
	    !kmbuf_cqe_keeps_buf(t, cqe)) {
		/* received and given back in one step */
		kmbuf_track_give_back(t, bid);
		__io_uring_kmbuf_put(kb, bid, 0);
		io_uring_kmbuf_advance(kb, 1);
	}
	io_uring_cqe_seen(kb->ring, cqe);
	return 0;
}

static struct io_uring_cqe *kmbuf_cqe_at(struct io_uring *ring,
					 unsigned int head)
{
	unsigned int shift = (ring->flags & IORING_SETUP_CQE32) ? 1 : 0;

	return &ring->cq.cqes[(head & ring->cq.ring_mask) << shift];
}

/* Does cq_advance give this CQE's buffer back? */
static bool kmbuf_cqe_returns_buf(const struct kmbuf_track *t,
				  const struct io_uring_cqe *cqe)
{
	return (cqe->flags & IORING_CQE_F_BUFFER) &&
	       !kmbuf_cqe_keeps_buf(t, cqe);
}

int io_uring_kmbuf_cq_advance(struct io_uring_kmbuf *kb, unsigned int nr)
{
	struct kmbuf_track *t;
	struct io_uring *ring;
	unsigned int head, i, j, bid, queued = 0;
	int ret = 0;

	if (!kb)
		return -EINVAL;
	ring = kb->ring;
	t = kmbuf_track(kb);
	if (nr > io_uring_cq_ready(ring))
		return -EINVAL;
	head = *ring->cq.khead;
	for (i = 0; i < nr; i++) {
		const struct io_uring_cqe *cqe = kmbuf_cqe_at(ring, head + i);

		bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		/* out of range: refused even if the buffer would stay */
		if ((cqe->flags & IORING_CQE_F_BUFFER) && bid >= kb->nentries) {
			ret = -EINVAL;
			break;
		}
		if (!kmbuf_cqe_returns_buf(t, cqe))
			continue;
		if (t && t->held) {
			/*
			 * A buffer leaves the ring once per trip: the same
			 * bid twice means one CQE's buffer was given back
			 * already by other means.
			 */
			if (kmbuf_test_bit(t->batch, bid)) {
				ret = -EALREADY;
				break;
			}
			kmbuf_set_bit(t->batch, bid);
		}
		/* written past the tail, published only at the end */
		__io_uring_kmbuf_put(kb, bid, (int) queued++);
	}
	for (j = 0; j < i; j++) {
		const struct io_uring_cqe *cqe = kmbuf_cqe_at(ring, head + j);

		if (!kmbuf_cqe_returns_buf(t, cqe))
			continue;
		bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		if (t && t->held)
			kmbuf_clear_bit(t->batch, bid);
		if (!ret)
			kmbuf_track_give_back(t, bid);
	}
	if (ret)
		return ret;
	/* one tail update for the buffers, one head update for the CQEs */
	io_uring_kmbuf_advance(kb, queued);
	io_uring_cq_advance(ring, nr);
	return (int) queued;
}

int io_uring_kmbuf_major_version(void)
{
	return IO_URING_KMBUF_VERSION_MAJOR;
}

int io_uring_kmbuf_minor_version(void)
{
	return IO_URING_KMBUF_VERSION_MINOR;
}

int io_uring_kmbuf_check_version(int major, int minor)
{
	return IO_URING_KMBUF_CHECK_VERSION(major, minor);
}
