/*
 * loadgen: the fan-out load generator for chatd and its peers.  One thread,
 * epoll, big reads, batched writes.  It drives N clients in R rooms (client
 * i is member i / R of room i % R; members 0..P-1 of each room publish),
 * speaking chatd's line protocol, IRC (chatd's IRC listener, inspircd,
 * ngircd), Redis pub/sub (RESP3: one connection both subscribes and
 * publishes), NATS, or the roof's bare protocol.  Publishers
 * keep a window of messages in flight (a message leaves the window once
 * every member of its room has it) or send at a fixed rate.  Each 100-byte
 * payload carries the publisher, a sequence number and a send timestamp:
 *
 *	@PPPPPPPP SSSSSSSS TTTTTTTTTTTTTTTT xxxx...	(hex, then padding)
 *
 * so every receiver checks loss, duplicates and order per publisher, and
 * latency is measured end to end.  An IRC client registers (NICK, USER),
 * JOINs its room once welcomed, answers the server's PINGs at any time, and
 * is not sent its own messages (no echo-message): a message is expected by
 * every member but its publisher.  chatd's line protocol and the others
 * echo a publisher's own messages, so there every member expects it.  The daemon's CPU (utime + stime from
 * /proc/PID/stat) is read at the start and end of the measured window.
 * It measures and prints one "RESULT key=value ..." line; it never asserts.
 * With --lobby the clients stay in chatd's default room and take the nicks
 * b0, b1, ...: the bystanders of the attack scenario (attack.py, started by
 * --at-start), who count how many of them the server cut.
 * Every run is bounded: an alarm ends it however the server behaves.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif

#define RBUF_SIZE	(256 * 1024)
#define HIST_BUCKETS	4096
#define PAYLOAD_HDR	36	/* "@" 8 " " 8 " " 16 " " */

enum proto { P_CHATD, P_REDIS, P_ROOF, P_NATS, P_IRC };
enum state { S_NEW, S_CONNECTING, S_JOINING, S_READY, S_DEAD };

struct rx {				/* one receiver, one publisher */
	uint32_t	last, count;
};

struct client {
	int		 fd;
	uint32_t	 room, idx;	/* idx: position among room members */
	uint8_t		 state, dirty, topup;
	uint8_t		 stalled;	/* 1: not reading, 2: reading again */
	char		*in;		/* partial item carried over */
	size_t		 in_len;
	char		*out;
	size_t		 out_len, out_cap;
	struct rx	*rx;		/* [npub]: per publisher of the room */
	uint32_t	 next_seq;	/* publisher: last sequence sent */
	uint32_t	 base;		/* first sequence not yet everywhere */
	uint32_t	 seen_max;	/* publisher: highest sequence received */
	uint32_t	*ring;		/* receipts per sequence in flight */
};

/* Options. */
static enum proto	 proto = P_CHATD;
static const char	*addr = "127.0.0.1";
static int		 port;
static long		 daemon_pid;
static uint32_t		 nclients = 100, nrooms = 1, npub = 1;
static uint32_t		 window;		/* in flight per publisher */
static double		 rate;			/* msgs/s per publisher */
static double		 duration = 5, warmup = 1, settle = 1, drain = 5;
static int		 idle_mode, nstall;
static unsigned		 src_base = 2, per_src = 1000, nsources;
static int		 lobby;			/* chatd's default room */
static size_t		 msg_size = 100;
static const char	*label = "run";
static unsigned		 hard_timeout = 180;
static uint32_t		 max_pending = 256;	/* connects + handshakes */
static const char	*at_start;		/* sh -c, when measuring starts */

static struct client	*cl;
static int		 ep;
static char		*rbuf;
static uint32_t		 next_connect, pending, nready, ndead;
static uint32_t		*dirty_list, ndirty;
static uint32_t		*topup_list, ntopup;
static uint32_t		*room_expected;	/* receivers per room */
static int		 publishing, measuring;
static uint64_t		 t_start, t_end, last_rx;
static uint64_t		 deliveries, win_deliveries, dups, ooo, bad;
static uint64_t		 errs_seen, byes_seen, sent_total, lag_max;
static uint64_t		 pings_seen;	/* IRC: the server's PINGs answered */
static uint64_t		 hist[HIST_BUCKETS], hist_n;
static uint64_t		 rate_k, rate_t0;
static double		 rate_interval;
static uint64_t		 stall_last_ts, stall_msgs;
static uint32_t		 stall_eofs, ncut, ncut_pubs;
static uint64_t		 first_cut;
static uint32_t		 mask;

static _Noreturn void die(const char *, ...)
    __attribute__((format(printf, 1, 2)));

static _Noreturn void
die(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "loadgen: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void
on_alarm(int sig)
{
	static const char msg[] = "loadgen: hard timeout\n";

	(void)sig;
	if (write(2, msg, sizeof msg - 1) < 0)
		_exit(3);
	_exit(3);
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		die("out of memory");
	return p;
}

/* utime + stime of the daemon, in seconds. */
static double
daemon_cpu(void)
{
	char	 path[64], buf[2048], *p;
	FILE	*f;
	size_t	 n;
	unsigned long long ut, st;

	if (daemon_pid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%ld/stat", daemon_pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A "Vm...:" figure of the daemon, in KiB. */
static long
daemon_vm(const char *key)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb = -1;
	size_t	 klen = strlen(key);

	if (daemon_pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%ld/status", daemon_pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
			kb = atol(line + klen + 1);
	fclose(f);
	return kb;
}

/* Log-linear histogram of nanoseconds: 64 steps per power of two. */
static unsigned
hist_bucket(uint64_t v)
{
	int	e;

	if (v < 64)
		return (unsigned)v;
	e = 63 - __builtin_clzll(v);
	return (unsigned)((e - 5) * 64 + (int)((v >> (e - 6)) & 63));
}

static uint64_t
hist_value(unsigned b)
{
	unsigned	e;

	if (b < 64)
		return b;
	e = b / 64 + 5;
	return (uint64_t)(64 + b % 64) << (e - 6);
}

static double
hist_pct(double q)
{
	uint64_t	want = (uint64_t)(q * (double)hist_n), seen = 0;
	unsigned	b;

	if (hist_n == 0)
		return -1;
	for (b = 0; b < HIST_BUCKETS; b++) {
		seen += hist[b];
		if (seen > want)
			return (double)hist_value(b) / 1000.0;
	}
	return -1;
}

static void
queue(struct client *c, const void *data, size_t len)
{
	if (c->out_len + len > c->out_cap) {
		c->out_cap = (c->out_len + len) * 2;
		c->out = xrealloc(c->out, c->out_cap);
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	if (!c->dirty) {
		c->dirty = 1;
		dirty_list[ndirty++] = (uint32_t)(c - cl);
	}
}

static void
queuef(struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
queuef(struct client *c, const char *fmt, ...)
{
	char	buf[512];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	queue(c, buf, (size_t)n);
}

static void
client_dead(struct client *c, const char *why)
{
	if (c->state == S_DEAD)
		return;
	if (c->stalled && c->state == S_READY)
		stall_eofs++;
	if (c->state == S_CONNECTING || c->state == S_JOINING)
		pending--;
	if (c->state == S_READY) {
		nready--;
		if (!c->stalled) {	/* the server cut a client */
			if (ncut++ == 0)
				first_cut = now_ns();
			ncut_pubs += c->idx < npub;
		}
	}
	if (!c->stalled && ndead < 5)
		fprintf(stderr, "loadgen: client %u (room %u): %s\n",
		    (unsigned)(c - cl), c->room, why);
	c->state = S_DEAD;
	ndead++;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
}

/* Queue one published message: sequence, timestamp, padding. */
static void
publish(struct client *c, uint64_t now)
{
	char	payload[1024], frame[1200];
	int	n;

	c->next_seq++;
	sent_total++;
	n = snprintf(payload, sizeof payload, "@%08x %08x %016llx ",
	    (unsigned)(c - cl), c->next_seq, (unsigned long long)now);
	memset(payload + n, 'x', msg_size - (size_t)n);
	n = (int)msg_size;
	switch (proto) {
	case P_CHATD:
		n = snprintf(frame, sizeof frame, "%.*s\r\n", n, payload);
		break;
	case P_ROOF:
		n = snprintf(frame, sizeof frame, "MSG #r%u x %.*s\r\n",
		    c->room, n, payload);
		break;
	case P_IRC:
		n = snprintf(frame, sizeof frame, "PRIVMSG #r%u :%.*s\r\n",
		    c->room, n, payload);
		break;
	case P_NATS:
		n = snprintf(frame, sizeof frame, "PUB r%u %d\r\n%.*s\r\n",
		    c->room, n, n, payload);
		break;
	case P_REDIS: {
		char	room[16];
		int	rl = snprintf(room, sizeof room, "r%u", c->room);

		n = snprintf(frame, sizeof frame, "*3\r\n$7\r\nPUBLISH\r\n"
		    "$%d\r\n%s\r\n$%d\r\n%.*s\r\n", rl, room, n, n, payload);
		break;
	}
	}
	queue(c, frame, (size_t)n);
}

/* Window mode: send until the window is full again. */
static void
topup(struct client *c, uint64_t now)
{
	while (publishing && c->state == S_READY &&
	    c->next_seq + 1 - c->base < window)
		publish(c, now);
}

static void
mark_topup(struct client *c)
{
	if (!c->topup) {
		c->topup = 1;
		topup_list[ntopup++] = (uint32_t)(c - cl);
	}
}

/*
 * How many receivers a message of publisher pc has: every member that
 * reads, less the publisher itself where the protocol does not echo.
 */
static uint32_t
expected(const struct client *pc)
{
	return room_expected[pc->room] - (proto == P_IRC && !pc->stalled);
}

static uint32_t
hex32(const char *s)
{
	uint32_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = v << 4 | (uint32_t)(s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
	return v;
}

static uint64_t
hex64(const char *s)
{
	return (uint64_t)hex32(s) << 32 | hex32(s + 8);
}

static void
payload(struct client *c, const char *s, size_t len, uint64_t now)
{
	uint32_t	 pub, seq;
	uint64_t	 ts;
	struct client	*pc;
	struct rx	*r;

	if (len < PAYLOAD_HDR) {
		bad++;
		return;
	}
	pub = hex32(s + 1);
	seq = hex32(s + 10);
	ts = hex64(s + 19);
	/* IRC: one's own message back is an echo nobody asked for. */
	if (pub >= nclients || (pc = &cl[pub])->room != c->room ||
	    pc->idx >= npub || (proto == P_IRC && pc == c)) {
		bad++;
		return;
	}
	if (c->stalled) {	/* what reached the stalled reader before the cut */
		stall_msgs++;
		if (ts > stall_last_ts)
			stall_last_ts = ts;
		return;
	}
	r = &c->rx[pc->idx];
	if (seq > pc->seen_max)
		pc->seen_max = seq;
	if (seq > r->last) {
		r->last = seq;
		r->count++;
	} else if (seq == r->last) {
		dups++;
	} else {
		ooo++;
		r->count++;
	}
	deliveries++;
	if (measuring)
		win_deliveries++;
	if (ts >= t_start && (t_end == 0 || ts < t_end) && now > ts) {
		hist[hist_bucket(now - ts)]++;
		hist_n++;
	}
	if (window > 0 && seq >= pc->base && seq <= pc->next_seq) {
		pc->ring[seq & mask]++;
		while (pc->base <= pc->next_seq &&
		    pc->ring[pc->base & mask] >= expected(pc)) {
			pc->ring[pc->base & mask] = 0;
			pc->base++;
			mark_topup(pc);
		}
	}
}

static void
ready(struct client *c)
{
	c->state = S_READY;
	pending--;
	nready++;
	if (c->stalled)		/* stop reading until the end of the run */
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
}

/*
 * One IRC line: [":prefix "] command [params] [" :" trailing].  A PRIVMSG
 * carries a payload; PING gets its PONG; registration is 001 (then JOIN),
 * the join is done at 366 (end of NAMES) for the client's room.
 */
static void
irc_item(struct client *c, const char *s, size_t len, uint64_t now)
{
	const char	*p = s, *e = s + len, *sp, *cmd, *t;
	size_t		 clen;
	char		 want[24];
	int		 n;

	if (p < e && *p == ':') {
		if ((sp = memchr(p, ' ', (size_t)(e - p))) == NULL)
			return;
		p = sp + 1;
	}
	cmd = p;
	sp = memchr(p, ' ', (size_t)(e - p));
	clen = sp != NULL ? (size_t)(sp - p) : (size_t)(e - p);
	p = sp != NULL ? sp + 1 : e;
	if (clen == 7 && memcmp(cmd, "PRIVMSG", 7) == 0) {
		if ((t = memmem(p, (size_t)(e - p), " :", 2)) != NULL &&
		    t + 2 < e && t[2] == '@')
			payload(c, t + 2, (size_t)(e - t - 2), now);
		else
			bad++;
		return;
	}
	if (clen == 4 && memcmp(cmd, "PING", 4) == 0) {
		queue(c, "PONG ", 5);
		queue(c, p, (size_t)(e - p));
		queue(c, "\r\n", 2);
		pings_seen++;
		return;
	}
	/* Errors, but not 422 (no MOTD), which is how some servers say hi. */
	if ((clen == 5 && memcmp(cmd, "ERROR", 5) == 0) || (clen == 3 &&
	    (cmd[0] == '4' || cmd[0] == '5') && memcmp(cmd, "422", 3) != 0)) {
		if (errs_seen++ < 5)
			fprintf(stderr, "loadgen: client %u got: %.*s\n",
			    (unsigned)(c - cl), (int)len, s);
		return;
	}
	if (c->state != S_JOINING || clen != 3)
		return;
	if (memcmp(cmd, "001", 3) == 0) {
		queuef(c, "JOIN #r%u\r\n", c->room);
		return;
	}
	n = snprintf(want, sizeof want, " #r%u ", c->room);
	if (memcmp(cmd, "366", 3) == 0 &&
	    memmem(p, (size_t)(e - p), want, (size_t)n) != NULL)
		ready(c);
}

/* One line, or one RESP bulk string, from the server. */
static void
item(struct client *c, const char *s, size_t len, uint64_t now)
{
	char		want[48];
	const char	*at;
	int		n;

	if (proto == P_IRC) {
		irc_item(c, s, len, now);
		return;
	}
	if (len > 0 && s[0] == '@') {
		payload(c, s, len, now);
		return;
	}
	if (len > 4 && memcmp(s, "MSG ", 4) == 0 &&
	    (at = memchr(s, '@', len)) != NULL) {
		payload(c, at, len - (size_t)(at - s), now);
		return;
	}
	if (proto == P_NATS && len == 4 && memcmp(s, "PING", 4) == 0)
		queue(c, "PONG\r\n", 6);
	if ((len > 4 && memcmp(s, "ERR ", 4) == 0) ||
	    (len > 5 && memcmp(s, "NACK ", 5) == 0) ||
	    (len > 4 && memcmp(s, "-ERR", 4) == 0)) {
		if (errs_seen++ < 5)
			fprintf(stderr, "loadgen: client %u got: %.*s\n",
			    (unsigned)(c - cl), (int)len, s);
	}
	if (len > 4 && memcmp(s, "BYE ", 4) == 0 && byes_seen++ < 5)
		fprintf(stderr, "loadgen: client %u got: %.*s\n",
		    (unsigned)(c - cl), (int)len, s);
	if (c->state != S_JOINING)
		return;
	switch (proto) {
	case P_CHATD:
		if (lobby) {	/* "NICK guestN bI": its own nick change */
			n = snprintf(want, sizeof want, " b%u",
			    (unsigned)(c - cl));
			if (len > 5 + (size_t)n && memcmp(s, "NICK ", 5) == 0 &&
			    memcmp(s + len - (size_t)n, want, (size_t)n) == 0 &&
			    memchr(s + 5, ' ', len - 5 - (size_t)n) == NULL)
				ready(c);
			break;
		}
		n = snprintf(want, sizeof want, "ROOM #r%u ", c->room);
		if (len > (size_t)n && memcmp(s, want, (size_t)n) == 0)
			ready(c);
		break;
	case P_ROOF:
		if (len == 2 && memcmp(s, "OK", 2) == 0)
			ready(c);
		break;
	case P_REDIS:
		if (len == 9 && memcmp(s, "subscribe", 9) == 0)
			ready(c);
		break;
	case P_NATS:
		if (len == 4 && memcmp(s, "PONG", 4) == 0)
			ready(c);
		break;
	case P_IRC:
		break;
	}
}

/* Split buf into items; return how much was consumed. */
static size_t
parse(struct client *c, char *buf, size_t len, uint64_t now)
{
	char	*p = buf, *end = buf + len, *nl;
	size_t	 ilen;
	long	 blen;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if (proto == P_REDIS && *p == '$') {
			blen = atol(p + 1);
			if (blen >= 0) {
				if (end - (nl + 1) < blen + 2)
					break;
				item(c, nl + 1, (size_t)blen, now);
				p = nl + 1 + blen + 2;
				continue;
			}
		}
		ilen = (size_t)(nl - p);
		if (ilen > 0 && p[ilen - 1] == '\r')
			ilen--;
		item(c, p, ilen, now);
		p = nl + 1;
	}
	return (size_t)(p - buf);
}

static void
readable(struct client *c)
{
	size_t	off = c->in_len, used;
	ssize_t	n;
	uint64_t now;

	if (off > 0)
		memcpy(rbuf, c->in, off);
	n = read(c->fd, rbuf + off, RBUF_SIZE - off);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		client_dead(c, n == 0 ? "closed by the server" :
		    strerror(errno));
		return;
	}
	if (n < 0)
		return;
	now = now_ns();
	last_rx = now;
	used = parse(c, rbuf, off + (size_t)n, now);
	c->in_len = off + (size_t)n - used;
	if (c->in_len > 0) {
		c->in = xrealloc(c->in, c->in_len);
		memcpy(c->in, rbuf + used, c->in_len);
	}
}

static void
handshake(struct client *c)
{
	char	room[16];
	int	rl = snprintf(room, sizeof room, "r%u", c->room);

	switch (proto) {
	case P_CHATD:
		if (lobby)
			queuef(c, "/nick b%u\r\n", (unsigned)(c - cl));
		else
			queuef(c, "/part #lobby\r\n/join #%s\r\n", room);
		break;
	case P_ROOF:
		queuef(c, "%u\n", c->room);
		break;
	case P_REDIS:
		queuef(c, "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"
		    "*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n", rl, room);
		break;
	case P_NATS:
		queuef(c, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n"
		    "SUB %s 1\r\nPING\r\n", room);
		break;
	case P_IRC:	/* JOIN once welcomed (irc_item) */
		queuef(c, "NICK u%u\r\nUSER u%u 0 * :loadgen\r\n",
		    (unsigned)(c - cl), (unsigned)(c - cl));
		break;
	}
}

static void
connected(struct client *c)
{
	struct epoll_event	ev = { .events = EPOLLIN };
	int			err = 0;
	socklen_t		elen = sizeof err;

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen);
	if (err != 0) {
		client_dead(c, strerror(err));
		return;
	}
	ev.data.u32 = (uint32_t)(c - cl);
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->state = S_JOINING;
	handshake(c);
}

/*
 * The last byte of client i's source address: blocks of per_src clients,
 * or with --sources K dealt round-robin over K addresses, so that the
 * publishers (the first members of each room) each have their own.
 */
static unsigned
client_source(uint32_t i)
{
	return src_base + (nsources > 0 ? i % nsources : i / per_src);
}

static void
start_connect(struct client *c)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET }, src = sin;
	struct epoll_event	ev = { .events = EPOLLOUT };
	struct linger		lin = { 1, 0 };	/* no TIME_WAIT pile-up */
	int			one = 1, small = 4096;
	uint32_t		i = (uint32_t)(c - cl);

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd == -1)
		die("socket: %s", strerror(errno));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lin, sizeof lin);
	setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof one);
	if (c->stalled)		/* a small window: the server's queue fills */
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	src.sin_addr.s_addr = htonl(0x7f000000u + client_source(i));
	if (bind(c->fd, (struct sockaddr *)&src, sizeof src) == -1)
		die("bind 127.0.0.%u: %s", client_source(i), strerror(errno));
	inet_pton(AF_INET, addr, &sin.sin_addr);
	sin.sin_port = htons((uint16_t)port);
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof sin) == -1 &&
	    errno != EINPROGRESS)
		die("connect: %s", strerror(errno));
	c->state = S_CONNECTING;
	pending++;
	ev.data.u32 = i;
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void
flush_dirty(void)
{
	uint32_t	 i, keep = 0;
	struct client	*c;
	ssize_t		 n;

	for (i = 0; i < ndirty; i++) {
		c = &cl[dirty_list[i]];
		if (c->state == S_DEAD || c->state == S_CONNECTING) {
			if (c->state == S_CONNECTING)
				dirty_list[keep++] = dirty_list[i];
			else
				c->dirty = 0;
			continue;
		}
		n = write(c->fd, c->out, c->out_len);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			c->dirty = 0;
			client_dead(c, strerror(errno));
			continue;
		}
		if (n > 0) {
			memmove(c->out, c->out + n, c->out_len - (size_t)n);
			c->out_len -= (size_t)n;
		}
		if (c->out_len > 0)
			dirty_list[keep++] = dirty_list[i];
		else
			c->dirty = 0;
	}
	ndirty = keep;
}

/* Rate mode: every publisher in turn, evenly spaced. */
static void
publish_due(uint64_t now)
{
	uint32_t	 npubs = nrooms * npub;
	uint64_t	 due;
	struct client	*c;

	for (;;) {
		due = rate_t0 + (uint64_t)((double)rate_k * rate_interval);
		if (due > now)
			break;
		if (now - due > lag_max)
			lag_max = now - due;
		c = &cl[rate_k % npubs];
		rate_k++;
		if (c->state == S_READY)
			publish(c, now);
	}
}

/* One loop iteration. */
static void
pump(int timeout_ms)
{
	struct epoll_event	evs[1024];
	struct client		*c;
	uint64_t		now;
	uint32_t		i;
	int			n, k;

	while (next_connect < nclients && pending < max_pending)
		start_connect(&cl[next_connect++]);
	n = epoll_wait(ep, evs, 1024, timeout_ms);
	for (k = 0; k < n; k++) {
		c = &cl[evs[k].data.u32];
		if (c->state == S_CONNECTING)
			connected(c);
		else if (c->state != S_DEAD)
			readable(c);
	}
	now = now_ns();
	if (publishing && rate > 0)
		publish_due(now);
	for (i = 0; i < ntopup; i++) {
		cl[topup_list[i]].topup = 0;
		topup(&cl[topup_list[i]], now);
	}
	ntopup = 0;
	flush_dirty();
}

/* Pump for ms milliseconds. */
static void
pump_for(double ms)
{
	uint64_t	end = now_ns() + (uint64_t)(ms * 1e6);

	while (now_ns() < end)
		pump(1);
}

static int
all_delivered(void)
{
	uint32_t	i;

	for (i = 0; i < nclients; i++)
		if (cl[i].idx < npub && cl[i].state == S_READY &&
		    cl[i].base <= cl[i].next_seq)
			return 0;
	return 1;
}

static const char *
proto_name(void)
{
	static const char *names[] = { "chatd", "redis", "roof", "nats",
	    "irc" };

	return names[proto];
}

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen --proto chatd|irc|redis|roof|nats --port P "
	    "[--addr A] [--pid PID]\n"
	    "  [--clients N] [--rooms R] [--publishers P (per room)]\n"
	    "  [--window W | --rate MSGS_PER_S | --idle] [--stall K]\n"
	    "  [--duration S] [--warmup S] [--settle S (idle: wait before RSS)]\n"
	    "  [--drain S (wait for what is in flight: 5)]\n"
	    "  [--pending N (connects and handshakes at once: 256)]\n"
	    "  [--size BYTES] [--src-base X]\n"
	    "  [--per-src N | --sources K] [--lobby] [--label NAME] [--timeout S]\n"
	    "  [--at-start CMD (run by sh when measuring starts, e.g. perf)]\n");
	exit(2);
}

static void
options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "proto", required_argument, NULL, 'P' },
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "pid", required_argument, NULL, 'D' },
		{ "clients", required_argument, NULL, 'n' },
		{ "rooms", required_argument, NULL, 'r' },
		{ "publishers", required_argument, NULL, 'u' },
		{ "window", required_argument, NULL, 'w' },
		{ "rate", required_argument, NULL, 'R' },
		{ "idle", no_argument, NULL, 'i' },
		{ "stall", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "settle", required_argument, NULL, 'S' },
		{ "drain", required_argument, NULL, 'T' },
		{ "size", required_argument, NULL, 'z' },
		{ "src-base", required_argument, NULL, 'b' },
		{ "per-src", required_argument, NULL, 'e' },
		{ "sources", required_argument, NULL, 'k' },
		{ "lobby", no_argument, NULL, 'L' },
		{ "label", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 't' },
		{ "at-start", required_argument, NULL, 'x' },
		{ "pending", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	int	ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'P':
			if (strcmp(optarg, "chatd") == 0)
				proto = P_CHATD;
			else if (strcmp(optarg, "redis") == 0)
				proto = P_REDIS;
			else if (strcmp(optarg, "roof") == 0)
				proto = P_ROOF;
			else if (strcmp(optarg, "nats") == 0)
				proto = P_NATS;
			else if (strcmp(optarg, "irc") == 0)
				proto = P_IRC;
			else
				usage();
			break;
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'D': daemon_pid = atol(optarg); break;
		case 'n': nclients = (uint32_t)atol(optarg); break;
		case 'r': nrooms = (uint32_t)atol(optarg); break;
		case 'u': npub = (uint32_t)atol(optarg); break;
		case 'w': window = (uint32_t)atol(optarg); break;
		case 'R': rate = atof(optarg); break;
		case 'i': idle_mode = 1; break;
		case 's': nstall = atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'W': warmup = atof(optarg); break;
		case 'S': settle = atof(optarg); break;
		case 'T': drain = atof(optarg); break;
		case 'z': msg_size = (size_t)atol(optarg); break;
		case 'b': src_base = (unsigned)atoi(optarg); break;
		case 'e': per_src = (unsigned)atoi(optarg); break;
		case 'k': nsources = (unsigned)atoi(optarg); break;
		case 'L': lobby = 1; break;
		case 'l': label = optarg; break;
		case 't': hard_timeout = (unsigned)atoi(optarg); break;
		case 'x': at_start = optarg; break;
		case 'N': max_pending = (uint32_t)atol(optarg); break;
		default: usage();
		}
	}
	if (port <= 0 || nrooms == 0 || nclients < nrooms ||
	    nclients % nrooms != 0 || npub > nclients / nrooms ||
	    msg_size < PAYLOAD_HDR || msg_size > 1000 || per_src == 0 ||
	    max_pending == 0 ||
	    drain < 0 || drain > 120 ||
	    (nsources > 0 ? src_base + nsources - 1 > 254 || nsources > nclients :
	    src_base + (nclients - 1) / per_src > 254) ||
	    (lobby && (proto != P_CHATD || nrooms != 1)) ||
	    (!idle_mode && (window > 0) == (rate > 0)) ||
	    (nstall > 0 && (window > 0 || npub + 1 > nclients / nrooms ||
	    (uint32_t)nstall > nrooms)))
		usage();
}

int
main(int argc, char **argv)
{
	struct rlimit	 rl;
	struct rusage	 ru;
	uint32_t	 i, j, members, pubc, lost_recv = 0;
	uint64_t	 lost = 0, t_pub, deadline, t_drained;
	double		 cpu0, cpu1, lg_cpu, secs;
	long		 rss0;
	pid_t		 hook = -1;

	options(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(hard_timeout);

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if ((rlim_t)nclients + 16 > rl.rlim_cur)
		die("%u clients need more than the %llu files allowed",
		    nclients, (unsigned long long)rl.rlim_cur);

	members = nclients / nrooms;
	mask = 1;
	while (mask < window)
		mask <<= 1;
	mask--;
	cl = calloc(nclients, sizeof *cl);
	dirty_list = calloc(nclients, sizeof *dirty_list);
	topup_list = calloc(nclients, sizeof *topup_list);
	room_expected = calloc(nrooms, sizeof *room_expected);
	rbuf = malloc(RBUF_SIZE);
	if (cl == NULL || dirty_list == NULL || topup_list == NULL ||
	    room_expected == NULL || rbuf == NULL)
		die("out of memory");
	for (i = 0; i < nclients; i++) {
		cl[i].room = i % nrooms;
		cl[i].idx = i / nrooms;
		cl[i].fd = -1;
		cl[i].base = 1;
		if (!idle_mode && npub > 0)
			cl[i].rx = calloc(npub, sizeof *cl[i].rx);
		if (window > 0 && cl[i].idx < npub)
			cl[i].ring = calloc(mask + 1, sizeof *cl[i].ring);
		/* The last member of the first nstall rooms stops reading. */
		if (cl[i].room < (uint32_t)nstall && cl[i].idx == members - 1)
			cl[i].stalled = 1;
		else
			room_expected[cl[i].room]++;
	}
	if ((ep = epoll_create1(0)) == -1)
		die("epoll_create1: %s", strerror(errno));

	/* Connect everyone and join the rooms. */
	rss0 = daemon_vm("VmRSS");
	deadline = now_ns() + 120 * 1000000000ull;
	while (nready + ndead < nclients && now_ns() < deadline)
		pump(10);
	if (nready < nclients)
		die("only %u of %u clients joined (%u failed)", nready,
		    nclients, ndead);
	/* Let the join announcements settle. */
	deadline = now_ns() + 10 * 1000000000ull;
	while (now_ns() - last_rx < 300 * 1000000ull && now_ns() < deadline)
		pump(10);

	if (idle_mode) {
		long	rss;

		pump_for(settle * 1000);
		rss = daemon_vm("VmRSS");
		printf("RESULT label=%s proto=%s mode=idle clients=%u rooms=%u "
		    "rss_kb=%ld hwm_kb=%ld rss0_kb=%ld rss_per_client_b=%.0f "
		    "failed=%u\n", label, proto_name(), nclients, nrooms, rss,
		    daemon_vm("VmHWM"), rss0,
		    (double)(rss - rss0) * 1024.0 / nclients, ndead);
		fflush(stdout);
		if (at_start != NULL)	/* e.g. a heap dump while all are here */
			return system(at_start) == 0 ? 0 : 1;
		return 0;
	}

	/* Publish: warm up, then measure. */
	publishing = 1;
	t_pub = now_ns();
	rate_t0 = t_pub;
	pubc = nrooms * npub;
	if (rate > 0)
		rate_interval = 1e9 / (rate * (double)pubc);
	for (i = 0; i < nclients; i++)
		if (window > 0 && cl[i].idx < npub)
			mark_topup(&cl[i]);
	pump_for(warmup * 1000);
	if (at_start != NULL && (hook = fork()) == 0) {
		execl("/bin/sh", "sh", "-c", at_start, (char *)NULL);
		_exit(127);
	}
	cpu0 = daemon_cpu();
	t_start = now_ns();
	measuring = 1;
	lag_max = 0;
	pump_for(duration * 1000);
	t_end = now_ns();
	measuring = 0;
	cpu1 = daemon_cpu();
	publishing = 0;

	/* Drain: everything sent must arrive (or the run says it did not). */
	deadline = now_ns() + (uint64_t)(drain * 1e9);
	while (now_ns() < deadline) {
		pump(1);
		if (window > 0 ? all_delivered() :
		    now_ns() - last_rx > 500 * 1000000ull)
			break;
	}
	t_drained = now_ns();
	/*
	 * The stalled readers read again: a cut one finds its stream ends in
	 * EOF, and the last message in it says when the server stopped
	 * queueing for it.
	 */
	for (i = 0; i < nclients; i++) {
		struct epoll_event ev = { .events = EPOLLIN };

		if (!cl[i].stalled || cl[i].state != S_READY)
			continue;
		cl[i].stalled = 2;
		ev.data.u32 = i;
		epoll_ctl(ep, EPOLL_CTL_ADD, cl[i].fd, &ev);
	}
	deadline = now_ns() + 3 * 1000000000ull;
	while (nstall > 0 && stall_eofs < (uint32_t)nstall &&
	    now_ns() < deadline)
		pump(1);
	for (i = 0; i < nclients; i++) {
		struct client	*c = &cl[i];
		uint64_t	 l = 0;

		if (c->stalled || c->state == S_DEAD)	/* counted as cut */
			continue;
		for (j = 0; j < npub; j++) {
			struct client	*pc = &cl[j * nrooms + c->room];
			/* a cut publisher: what the server took of it */
			uint32_t	 sent = pc->state == S_DEAD ?
			    pc->seen_max : pc->next_seq;

			if (pc == c && proto == P_IRC)	/* no echo */
				continue;
			if (sent > c->rx[j].count)
				l += sent - c->rx[j].count;
		}
		lost += l;
		lost_recv += l > 0;
	}
	if (hook > 0)
		waitpid(hook, NULL, 0);
	getrusage(RUSAGE_SELF, &ru);
	lg_cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	secs = (double)(t_end - t_start) / 1e9;
	printf("RESULT label=%s proto=%s mode=%s clients=%u rooms=%u pubs=%u "
	    "window=%u rate=%g secs=%.2f sent=%llu deliveries=%llu dps=%.0f "
	    "cpu=%.2f dpcs=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f "
	    "max_us=%.1f rss_kb=%ld hwm_kb=%ld lost=%llu lost_receivers=%u "
	    "dup=%llu ooo=%llu bad=%llu dead=%u cut=%u cut_pubs=%u "
	    "first_cut_ms=%.0f drain_s=%.2f stall_cut_s=%.2f "
	    "stall_msgs=%llu lag_max_us=%.0f lg_cpu=%.2f pings=%llu\n",
	    label, proto_name(), window > 0 ? "window" : "rate",
	    nclients, nrooms, npub, window, rate, secs,
	    (unsigned long long)sent_total,
	    (unsigned long long)win_deliveries, (double)win_deliveries / secs,
	    cpu1 - cpu0, cpu1 > cpu0 ? (double)win_deliveries / (cpu1 - cpu0)
	    : 0.0, hist_pct(0.5), hist_pct(0.99), hist_pct(0.999),
	    hist_pct(1.0 - 1e-12), daemon_vm("VmRSS"), daemon_vm("VmHWM"),
	    (unsigned long long)lost, lost_recv, (unsigned long long)dups,
	    (unsigned long long)ooo, (unsigned long long)bad,
	    ndead - stall_eofs, ncut, ncut_pubs, ncut > 0 ?
	    ((double)first_cut - (double)t_start) / 1e6 : -1.0,
	    (double)(t_drained - t_end) / 1e9,
	    stall_eofs > 0 && stall_last_ts > t_pub ?
	    (double)(stall_last_ts - t_pub) / 1e9 : -1.0,
	    (unsigned long long)stall_msgs,
	    (double)lag_max / 1000.0, lg_cpu, (unsigned long long)pings_seen);
	return 0;
}
