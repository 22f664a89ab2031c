/*
 * storm: a connect storm into one room and a mass disconnect, for chatd's
 * line protocol (issue 13, "big rooms that stay cheap").  N clients connect
 * from 127.77.x.y, at most --pending (200) at a time not yet in the room,
 * and land in the default room; every client reads all it is sent.  The join phase ends when all N
 * have their ROOM line and nothing more has come for --quiet seconds; the
 * quit phase closes all N at once and ends when the daemon's CPU time has
 * not moved for --quiet seconds.  The daemon's CPU (utime + stime from
 * /proc/PID/stat) is read at the start and end of each phase.  It prints
 * one "RESULT key=value ..." line and never asserts; an alarm bounds it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PER_SOURCE	100	/* connections per source address */

struct client {
	int		 fd;
	int		 joined;	/* has its ROOM line */
	char		 tail[5];	/* the last bytes read, for "\nROOM" */
};

static struct client	*clients;
static uint32_t		 nclients = 1000, pending_max = 200;
static uint32_t		 opened, connected, joined, cut;
static uint64_t		 bytes_read;
static double		 quiet_s = 0.5;
static long		 daemon_pid;
static int		 epfd;
static struct sockaddr_in server;

/* The alarm: say how far it got (stdio is not used meanwhile). */
static void
timed_out(int sig)
{
	char	buf[160];
	int	n;

	(void)sig;
	n = snprintf(buf, sizeof buf, "storm: timed out: opened %u, connected "
	    "%u, joined %u, cut %u\n", opened, connected, joined, cut);
	write(STDERR_FILENO, buf, (size_t)n);
	_exit(1);
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The daemon's CPU seconds so far (utime + stime). */
static double
daemon_cpu_s(void)
{
	char		 path[64], buf[1024], *p;
	unsigned long	 ut, st;
	FILE		*f;

	snprintf(path, sizeof path, "/proc/%ld/stat", daemon_pid);
	if ((f = fopen(path, "r")) == NULL || fgets(buf, sizeof buf, f) == NULL) {
		fprintf(stderr, "storm: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fclose(f);
	/* after "(comm)": state is field 3, utime 14, stime 15 */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2) {
		fprintf(stderr, "storm: cannot read %s\n", path);
		exit(1);
	}
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void
open_one(void)
{
	struct client		*c = &clients[opened];
	struct sockaddr_in	 src = { .sin_family = AF_INET };
	struct epoll_event	 ev = { .events = EPOLLIN | EPOLLOUT };
	uint32_t		 s = opened / PER_SOURCE;

	src.sin_addr.s_addr = htonl(0x7f4d0000u | ((s / 250) << 8) |
	    (s % 250 + 1));	/* 127.77.X.Y */
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(c->fd, (struct sockaddr *)&src, sizeof src) == -1) {
		fprintf(stderr, "storm: socket %u: %s\n", opened,
		    strerror(errno));
		exit(1);
	}
	if (connect(c->fd, (struct sockaddr *)&server, sizeof server) == -1 &&
	    errno != EINPROGRESS) {
		fprintf(stderr, "storm: connect %u: %s\n", opened,
		    strerror(errno));
		exit(1);
	}
	ev.data.u32 = opened++;
	epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Read all c has; note its ROOM line.  0 if the server closed it. */
static int
drain(struct client *c)
{
	static char	 buf[1 << 16];
	char		 scan[sizeof c->tail + sizeof buf];
	ssize_t		 n;
	size_t		 keep;

	while ((n = read(c->fd, buf, sizeof buf)) > 0) {
		bytes_read += (uint64_t)n;
		if (c->joined)
			continue;
		keep = strlen(c->tail);
		memcpy(scan, c->tail, keep);
		memcpy(scan + keep, buf, (size_t)n);
		scan[keep + (size_t)n] = '\0';
		if (memmem(scan, keep + (size_t)n, "\nROOM", 5) != NULL) {
			c->joined = 1;
			joined++;
			continue;
		}
		keep = (size_t)n < 4 ? (size_t)n : 4;
		memcpy(c->tail, buf + n - (ssize_t)keep, keep);
		c->tail[keep] = '\0';
	}
	return n != 0 && (n != -1 || errno == EAGAIN);
}

/* Serve events for at most wait_ms; 1 if any bytes came. */
static int
poll_once(int wait_ms)
{
	struct epoll_event	 evs[256], mod;
	struct client		*c;
	uint64_t		 before = bytes_read;
	int			 i, n;

	n = epoll_wait(epfd, evs, 256, wait_ms);
	for (i = 0; i < n; i++) {
		c = &clients[evs[i].data.u32];
		if (c->fd == -1)
			continue;
		if (evs[i].events & EPOLLOUT) {	/* connected */
			mod.events = EPOLLIN;
			mod.data.u32 = evs[i].data.u32;
			epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &mod);
			connected++;
		}
		if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
		    !drain(c)) {
			close(c->fd);
			c->fd = -1;
			cut++;
		}
	}
	return bytes_read != before;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "pid", required_argument, NULL, 'D' },
		{ "clients", required_argument, NULL, 'n' },
		{ "pending", required_argument, NULL, 'N' },
		{ "quiet", required_argument, NULL, 'q' },
		{ "label", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*label = "";
	double		 t0, t1, t2, t3, cpu0, cpu1, cpu2, cpu3, last, c;
	uint32_t	 i;
	unsigned	 timeout = 600;
	int		 ch;

	server.sin_family = AF_INET;
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p': server.sin_port = htons((uint16_t)atoi(optarg)); break;
		case 'D': daemon_pid = atol(optarg); break;
		case 'n': nclients = (uint32_t)atol(optarg); break;
		case 'N': pending_max = (uint32_t)atol(optarg); break;
		case 'q': quiet_s = atof(optarg); break;
		case 'l': label = optarg; break;
		case 't': timeout = (unsigned)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: storm --port P --pid PID "
			    "[--clients N] [--pending N] [--quiet S] "
			    "[--label L] [--timeout S]\n");
			return 2;
		}
	}
	if (daemon_pid == 0 || server.sin_port == 0) {
		fprintf(stderr, "storm: --port and --pid are needed\n");
		return 2;
	}
	signal(SIGALRM, timed_out);
	alarm(timeout);
	clients = calloc(nclients, sizeof *clients);
	epfd = epoll_create1(0);

	t0 = now_s();
	cpu0 = daemon_cpu_s();
	last = t0;
	while (joined + cut < nclients || now_s() - last < quiet_s) {
		/*
		 * Pending until it has joined: a connection the kernel
		 * completed but the accept queue (chatd's backlog, 511)
		 * dropped would wait for ever, unseen by the daemon.
		 */
		while (opened < nclients && opened - joined - cut < pending_max)
			open_one();
		if (poll_once(20))
			last = now_s();
	}
	t1 = last;
	cpu1 = daemon_cpu_s();

	t2 = now_s();
	cpu2 = daemon_cpu_s();
	for (i = 0; i < nclients; i++)
		if (clients[i].fd != -1)
			close(clients[i].fd);
	for (c = cpu2, last = t2; now_s() - last < quiet_s; ) {
		usleep(50000);
		if (daemon_cpu_s() != c) {
			c = daemon_cpu_s();
			last = now_s();
		}
	}
	t3 = last;
	cpu3 = c;
	printf("RESULT label=%s clients=%u joined=%u cut=%u bytes=%llu "
	    "join_wall_s=%.3f join_cpu_s=%.3f quit_wall_s=%.3f "
	    "quit_cpu_s=%.3f\n", label, nclients, joined, cut,
	    (unsigned long long)bytes_read, t1 - t0, cpu1 - cpu0, t3 - t2,
	    cpu3 - cpu2);
	return 0;
}
