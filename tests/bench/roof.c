/*
 * roof: the bare fan-out server chatd is measured against.  One thread,
 * epoll.  A client's first line names its room (a number) and is answered
 * "OK"; after that, every complete line it sends is written, as read, to
 * every member of its room (the sender included), in one write() per member
 * per read.  Nothing else: no parsing, limits, buffering or backpressure
 * (member sockets are blocking, so a slow reader slows everyone).
 *
 * Usage: roof ADDR PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXFD	65536
#define ROOMS	65536

struct member { int room; size_t carry_len; char *carry; };
static struct member	 fds[MAXFD];
static int		*room[ROOMS];
static size_t		 nroom[ROOMS], caproom[ROOMS];
static char		 buf[1 << 17];

static void
leave(int fd)
{
	int	r = fds[fd].room;
	size_t	i;

	for (i = 0; r >= 0 && i < nroom[r]; i++)
		if (room[r][i] == fd) {
			room[r][i] = room[r][--nroom[r]];
			break;
		}
	free(fds[fd].carry);
	memset(&fds[fd], 0, sizeof fds[fd]);
	close(fd);
}

/* Write all of p to fd (blocking socket); a failed write drops the member. */
static void
put(int fd, const char *p, size_t n)
{
	ssize_t	w;

	while (n > 0 && (w = write(fd, p, n)) > 0) {
		p += w;
		n -= (size_t)w;
	}
}

static void
input(int fd)
{
	struct member	*m = &fds[fd];
	char		*p, *end, *nl;
	ssize_t		 n;
	size_t		 i, len;

	if (m->carry_len > 0)
		memcpy(buf, m->carry, m->carry_len);
	n = read(fd, buf + m->carry_len, sizeof buf - m->carry_len);
	if (n <= 0) {
		leave(fd);
		return;
	}
	p = buf;
	end = buf + m->carry_len + n;
	if (m->room < 0) {			/* first line: the room */
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			goto keep;
		m->room = atoi(p) % ROOMS;
		if (nroom[m->room] == caproom[m->room]) {
			caproom[m->room] = caproom[m->room] * 2 + 16;
			room[m->room] = realloc(room[m->room],
			    caproom[m->room] * sizeof(int));
		}
		room[m->room][nroom[m->room]++] = fd;
		put(fd, "OK\n", 3);
		p = nl + 1;
	}
	for (nl = end; nl > p && nl[-1] != '\n'; nl--)
		;
	len = (size_t)(nl - p);
	for (i = 0; len > 0 && i < nroom[m->room]; i++)
		put(room[m->room][i], p, len);
	p = nl;
keep:
	m->carry_len = (size_t)(end - p);
	if (m->carry_len > 0) {
		m->carry = realloc(m->carry, m->carry_len);
		memcpy(m->carry, p, m->carry_len);
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	struct epoll_event	ev, evs[256];
	int			lfd, ep, fd, i, n, one = 1;

	if (argc != 3 || inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "usage: roof ADDR PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	sin.sin_port = htons((uint16_t)atoi(argv[2]));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(lfd, 4096) == -1) {
		perror("roof: bind/listen");
		return 1;
	}
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd != lfd) {
				input(evs[i].data.fd);
				continue;
			}
			while ((fd = accept(lfd, NULL, NULL)) >= 0) {
				if (fd >= MAXFD) {
					close(fd);
					continue;
				}
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				    sizeof one);
				fds[fd].room = -1;
				ev.data.fd = fd;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			}
		}
	}
}
