/* SPDX-License-Identifier: MIT */
/*
 * kmbuf-echo: a TCP echo server that receives into a kernel-managed buffer
 * ring with one multishot receive per connection and sends each buffer back
 * from where it landed, recycling it once the send is done; and a client
 * that streams checksummed data through it.
 *
 *   kmbuf-echo server [-p port] [-c conns] [-b buf_kib] [-n nr_bufs]
 *   kmbuf-echo client [-p port] [-s bytes]
 *   kmbuf-echo selftest [-k clients] [-s bytes] [-b buf_kib] [-n nr_bufs]
 *
 * The server listens on 127.0.0.1 only. A multishot receive posts one CQE
 * per buffer it fills, with IORING_CQE_F_MORE while it stays armed. When
 * the group runs dry it ends with -ENOBUFS and no F_MORE: the data it could
 * not take stays in the socket, and the server arms it again as soon as a
 * send gives a buffer back (each such end is counted as a stall). A
 * receive can also end with res 0 (end of stream) and still carry a
 * buffer; that buffer is given back too. selftest runs the server and
 * 'clients' concurrent clients in one process on an ephemeral port.
 * LIBURING_KMBUF_BACKEND=kernel|emulated picks the backend.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <liburing/kmbuf.h>

#define BGID		0
#define MAX_CONNS	64

enum { OP_ACCEPT = 1, OP_RECV, OP_SEND };

#define UD(op, conn, bid)	(((__u64) (op) << 48) | ((__u64) (conn) << 16) | (bid))
#define UD_OP(ud)		((unsigned int) ((ud) >> 48))
#define UD_CONN(ud)		((unsigned int) ((ud) >> 16) & 0xffffffffU)
#define UD_BID(ud)		((unsigned int) ((ud) & 0xffff))

struct conn {
	int fd;			/* -1: slot free */
	bool eof;
	bool starved;		/* receive ended on ENOBUFS, to be re-armed */
	bool recv_armed;	/* the multishot receive is still armed */
	bool sending;
	/*
	 * Buffers received and not yet sent back, in order; a connection can
	 * hold at most every buffer of the group, so q_cap = nr_bufs.
	 */
	unsigned int *queue;
	unsigned int *q_bytes;
	unsigned int q_head, q_len, q_cap;
	unsigned int sent;	/* of the buffer at the head */
};

struct server {
	struct io_uring ring;
	struct io_uring_kmbuf *kb;
	int lfd;
	unsigned int conns_left;	/* 0: serve forever */
	unsigned int nr_bufs;
	unsigned int open_conns;
	struct conn conns[MAX_CONNS];
	unsigned long long bytes, stalls;
};

struct options {
	unsigned short port;
	unsigned int conns, buf_kib, nr_bufs, clients;
	unsigned long long size;
};

static void die(const char *what, int err)
{
	fprintf(stderr, "kmbuf-echo: %s: %s\n", what, strerror(err));
	exit(1);
}

static struct io_uring_sqe *get_sqe(struct server *s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);

	if (!sqe) {
		io_uring_submit(&s->ring);
		sqe = io_uring_get_sqe(&s->ring);
		if (!sqe)
			die("io_uring_get_sqe", EBUSY);
	}
	return sqe;
}

static void arm_accept(struct server *s)
{
	struct io_uring_sqe *sqe = get_sqe(s);

	io_uring_prep_accept(sqe, s->lfd, NULL, NULL, 0);
	io_uring_sqe_set_data64(sqe, UD(OP_ACCEPT, 0, 0));
}

/* One multishot receive per connection: a CQE for every buffer filled */
static void arm_recv(struct server *s, unsigned int c)
{
	struct io_uring_sqe *sqe = get_sqe(s);

	io_uring_kmbuf_prep_recv_multishot(sqe, s->kb, s->conns[c].fd, 0);
	io_uring_sqe_set_data64(sqe, UD(OP_RECV, c, 0));
	s->conns[c].recv_armed = true;
	s->conns[c].starved = false;
}

/* Send the rest of the buffer at the head of the connection's queue */
static void arm_send(struct server *s, unsigned int c)
{
	struct conn *cn = &s->conns[c];
	unsigned int bid = cn->queue[cn->q_head];
	struct io_uring_sqe *sqe = get_sqe(s);
	char *buf = io_uring_kmbuf_addr(s->kb, bid);

	io_uring_prep_send(sqe, cn->fd, buf + cn->sent,
			   cn->q_bytes[cn->q_head] - cn->sent, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, UD(OP_SEND, c, bid));
	cn->sending = true;
}

static void close_if_done(struct server *s, unsigned int c)
{
	struct conn *cn = &s->conns[c];

	if (!cn->eof || cn->q_len || cn->sending || cn->recv_armed)
		return;
	close(cn->fd);
	cn->fd = -1;
	free(cn->queue);
	free(cn->q_bytes);
	cn->queue = cn->q_bytes = NULL;
	s->open_conns--;
}

static void on_accept(struct server *s, int res)
{
	unsigned int c;

	if (res < 0)
		die("accept", -res);
	for (c = 0; c < MAX_CONNS; c++)
		if (s->conns[c].fd < 0)
			break;
	if (c == MAX_CONNS) {
		fprintf(stderr, "kmbuf-echo: too many connections\n");
		close(res);
	} else {
		struct conn *cn = &s->conns[c];

		memset(cn, 0, sizeof(*cn));
		cn->q_cap = s->nr_bufs;
		cn->queue = calloc(cn->q_cap, sizeof(*cn->queue));
		cn->q_bytes = calloc(cn->q_cap, sizeof(*cn->q_bytes));
		if (!cn->queue || !cn->q_bytes)
			die("calloc", ENOMEM);
		cn->fd = res;
		s->open_conns++;
		arm_recv(s, c);
	}
	if (s->conns_left && --s->conns_left == 0) {
		close(s->lfd);
		s->lfd = -1;
	} else {
		arm_accept(s);
	}
}

static void on_recv(struct server *s, unsigned int c,
		    const struct io_uring_cqe *cqe)
{
	struct conn *cn = &s->conns[c];
	unsigned int bid;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		cn->recv_armed = false;
	if (io_uring_kmbuf_cqe_buf(s->kb, cqe, &bid)) {
		if (cqe->res > 0) {
			unsigned int tail = (cn->q_head + cn->q_len) %
					    cn->q_cap;

			cn->queue[tail] = bid;
			cn->q_bytes[tail] = (unsigned int) cqe->res;
			cn->q_len++;
			s->bytes += (unsigned int) cqe->res;
			if (!cn->sending)
				arm_send(s, c);
		} else {
			/* end of stream can come with a buffer: give it back */
			io_uring_kmbuf_recycle(s->kb, bid);
		}
	}
	if (cn->recv_armed)
		return;

	/* the multishot receive has ended: find out why */
	if (cqe->res == -ENOBUFS) {
		/*
		 * Every buffer is queued for sending. The unread data waits
		 * in the socket; on_send() arms the receive again once a
		 * buffer is back.
		 */
		s->stalls++;
		cn->starved = true;
	} else if (cqe->res > 0) {
		/* ended with data (the kernel may stop any time): re-arm */
		arm_recv(s, c);
	} else {
		if (cqe->res < 0 && cqe->res != -ECONNRESET)
			fprintf(stderr, "kmbuf-echo: recv: %s\n",
				strerror(-cqe->res));
		cn->eof = true;
		close_if_done(s, c);
	}
}

static void on_send(struct server *s, unsigned int c,
		    const struct io_uring_cqe *cqe)
{
	struct conn *cn = &s->conns[c];
	unsigned int i;

	cn->sending = false;
	if (cqe->res < 0) {
		fprintf(stderr, "kmbuf-echo: send: %s\n", strerror(-cqe->res));
		/* drop what is queued; the peer is gone */
		while (cn->q_len) {
			io_uring_kmbuf_recycle(s->kb, cn->queue[cn->q_head]);
			cn->q_head = (cn->q_head + 1) % cn->q_cap;
			cn->q_len--;
		}
		cn->eof = true;
	} else {
		cn->sent += (unsigned int) cqe->res;
		if (cn->sent < cn->q_bytes[cn->q_head]) {
			arm_send(s, c);
			return;
		}
		io_uring_kmbuf_recycle(s->kb, UD_BID(cqe->user_data));
		cn->sent = 0;
		cn->q_head = (cn->q_head + 1) % cn->q_cap;
		cn->q_len--;
		if (cn->q_len)
			arm_send(s, c);
	}
	/* a buffer came back: arm the receives that ran dry again */
	for (i = 0; i < MAX_CONNS; i++)
		if (s->conns[i].fd >= 0 && s->conns[i].starved &&
		    !s->conns[i].eof && !s->conns[i].recv_armed)
			arm_recv(s, i);
	close_if_done(s, c);
}

static int listen_on(unsigned short port, unsigned short *bound)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int fd, one = 1;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket", errno);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
		die("bind", errno);
	if (listen(fd, 16) < 0)
		die("listen", errno);
	if (getsockname(fd, (struct sockaddr *) &addr, &len) < 0)
		die("getsockname", errno);
	*bound = ntohs(addr.sin_port);
	return fd;
}

static int server_init(struct server *s, const struct options *o)
{
	unsigned int c;
	int ret;

	memset(s, 0, sizeof(*s));
	for (c = 0; c < MAX_CONNS; c++)
		s->conns[c].fd = -1;
	ret = io_uring_queue_init(64, &s->ring, 0);
	if (ret < 0)
		die("io_uring_queue_init", -ret);
	s->kb = io_uring_kmbuf_setup(&s->ring, o->nr_bufs, o->buf_kib * 1024,
				     BGID, 0, &ret);
	if (!s->kb)
		die("io_uring_kmbuf_setup", -ret);
	s->conns_left = o->conns;
	s->nr_bufs = o->nr_bufs;
	return 0;
}

static void *server_run(void *arg)
{
	struct server *s = arg;

	arm_accept(s);
	while (s->lfd >= 0 || s->open_conns) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;
		int ret;

		ret = io_uring_submit_and_wait(&s->ring, 1);
		if (ret < 0 && ret != -EINTR)
			die("io_uring_submit_and_wait", -ret);
		io_uring_for_each_cqe(&s->ring, head, cqe) {
			switch (UD_OP(cqe->user_data)) {
			case OP_ACCEPT:
				on_accept(s, cqe->res);
				break;
			case OP_RECV:
				on_recv(s, UD_CONN(cqe->user_data), cqe);
				break;
			case OP_SEND:
				on_send(s, UD_CONN(cqe->user_data), cqe);
				break;
			}
			n++;
		}
		io_uring_cq_advance(&s->ring, n);
	}
	return NULL;
}

static void server_exit(struct server *s)
{
	io_uring_kmbuf_free(s->kb);
	io_uring_queue_exit(&s->ring);
}

/* Client: a sender thread streams the data, the caller reads it back */

struct stream {
	int fd;
	unsigned long long size;
	uint64_t sum;
};

static unsigned char stream_byte(unsigned long long pos)
{
	return (unsigned char) ((pos * 2654435761ULL) >> 13);
}

/* FNV-1a, 64 bit */
static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t len)
{
	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

static void *sender(void *arg)
{
	struct stream *st = arg;
	unsigned long long pos = 0;
	unsigned char buf[65536];

	st->sum = 0xcbf29ce484222325ULL;
	while (pos < st->size) {
		size_t n = st->size - pos < sizeof(buf) ?
			   (size_t) (st->size - pos) : sizeof(buf);
		size_t i;
		ssize_t ret;

		for (i = 0; i < n; i++)
			buf[i] = stream_byte(pos + i);
		st->sum = fnv1a(st->sum, buf, n);
		for (i = 0; i < n; i += (size_t) ret) {
			ret = send(st->fd, buf + i, n - i, MSG_NOSIGNAL);
			if (ret < 0)
				die("client send", errno);
		}
		pos += n;
	}
	shutdown(st->fd, SHUT_WR);
	return NULL;
}

static int client(unsigned short port, unsigned long long size)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct stream st = { .size = size };
	unsigned long long pos = 0;
	uint64_t sum = 0xcbf29ce484222325ULL;
	unsigned char buf[65536];
	struct timespec t0, t1;
	pthread_t thread;
	double secs;
	int ret;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons(port);
	st.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (st.fd < 0)
		die("socket", errno);
	if (connect(st.fd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
		die("connect", errno);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = pthread_create(&thread, NULL, sender, &st);
	if (ret)
		die("pthread_create", ret);
	for (;;) {
		ssize_t n = recv(st.fd, buf, sizeof(buf), 0);
		ssize_t i;

		if (n < 0)
			die("client recv", errno);
		if (!n)
			break;
		for (i = 0; i < n; i++) {
			if (buf[i] != stream_byte(pos + (size_t) i)) {
				fprintf(stderr, "kmbuf-echo: byte %llu came "
					"back as %#x, sent %#x\n",
					pos + (unsigned long long) i, buf[i],
					stream_byte(pos + (size_t) i));
				return 1;
			}
		}
		sum = fnv1a(sum, buf, (size_t) n);
		pos += (unsigned long long) n;
	}
	pthread_join(thread, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(st.fd);
	secs = (double) (t1.tv_sec - t0.tv_sec) +
	       (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (pos != size || sum != st.sum) {
		fprintf(stderr, "kmbuf-echo: sent %llu bytes (fnv1a %016llx), "
			"got %llu back (fnv1a %016llx)\n", size,
			(unsigned long long) st.sum, pos,
			(unsigned long long) sum);
		return 1;
	}
	printf("client: %llu bytes echoed intact (fnv1a %016llx), "
	       "%.1f MB/s\n", pos, (unsigned long long) sum,
	       secs > 0 ? (double) pos / secs / 1e6 : 0.0);
	return 0;
}

struct client_run {
	pthread_t thread;
	unsigned short port;
	unsigned long long size;
	int ret;
};

static void *client_thread(void *arg)
{
	struct client_run *cr = arg;

	cr->ret = client(cr->port, cr->size);
	return NULL;
}

/* selftest: 'nr' clients at once, each streaming 'size' bytes */
static int run_clients(unsigned short port, unsigned long long size,
		       unsigned int nr)
{
	struct client_run *cr = calloc(nr, sizeof(*cr));
	unsigned int i;
	int ret = 0;

	if (!cr)
		die("calloc", ENOMEM);
	for (i = 0; i < nr; i++) {
		cr[i].port = port;
		cr[i].size = size;
		ret = pthread_create(&cr[i].thread, NULL, client_thread,
				     &cr[i]);
		if (ret)
			die("pthread_create", ret);
	}
	for (i = 0; i < nr; i++) {
		pthread_join(cr[i].thread, NULL);
		if (cr[i].ret)
			ret = cr[i].ret;
	}
	free(cr);
	return ret;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s server [-p port] [-c conns] [-b buf_kib] "
		"[-n nr_bufs]\n       %s client [-p port] [-s bytes]\n"
		"       %s selftest [-k clients] [-s bytes] [-b buf_kib] "
		"[-n nr_bufs]\n", prog, prog, prog);
	exit(2);
}

static unsigned long long number(const char *arg, unsigned long long max)
{
	char *end;
	unsigned long long v = strtoull(arg, &end, 0);

	if (*end || v > max) {
		fprintf(stderr, "kmbuf-echo: bad number '%s'\n", arg);
		exit(2);
	}
	return v;
}

int main(int argc, char *argv[])
{
	struct options o = { .port = 7007, .buf_kib = 16, .nr_bufs = 16,
			     .size = 64ULL << 20, .clients = 1 };
	const char *mode;
	struct server *s;
	pthread_t thread;
	int opt, ret;

	if (argc < 2)
		usage(argv[0]);
	mode = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "p:c:b:n:s:k:")) != -1) {
		switch (opt) {
		case 'p':
			o.port = (unsigned short) number(optarg, 65535);
			break;
		case 'c':
			o.conns = (unsigned int) number(optarg, 1U << 30);
			break;
		case 'b':
			o.buf_kib = (unsigned int) number(optarg, 1U << 20);
			break;
		case 'n':
			o.nr_bufs = (unsigned int) number(optarg, 32768);
			break;
		case 's':
			o.size = number(optarg, ~0ULL);
			break;
		case 'k':
			o.clients = (unsigned int) number(optarg, 16);
			if (!o.clients)
				usage(argv[0]);
			break;
		default:
			usage(argv[0]);
		}
	}

	if (!strcmp(mode, "client"))
		return client(o.port, o.size);
	if (strcmp(mode, "server") && strcmp(mode, "selftest"))
		usage(argv[0]);

	s = malloc(sizeof(*s));
	if (!s)
		die("malloc", ENOMEM);
	if (!strcmp(mode, "selftest")) {
		o.port = 0;
		o.conns = o.clients;
	}
	server_init(s, &o);
	s->lfd = listen_on(o.port, &o.port);
	fprintf(stderr, "kmbuf-echo: %s backend, %u buffers of %u KiB, "
		"listening on 127.0.0.1:%u\n",
		io_uring_kmbuf_backend_name(io_uring_kmbuf_backend(s->kb)),
		o.nr_bufs, o.buf_kib, o.port);

	if (!strcmp(mode, "server")) {
		server_run(s);
		ret = 0;
	} else {
		ret = pthread_create(&thread, NULL, server_run, s);
		if (ret)
			die("pthread_create", ret);
		ret = run_clients(o.port, o.size, o.clients);
		pthread_join(thread, NULL);
	}
	printf("server: %llu bytes echoed, %llu ENOBUFS stalls\n", s->bytes,
	       s->stalls);
	server_exit(s);
	free(s);
	return ret;
}
