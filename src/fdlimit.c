/*
 * The descriptor budget.  Every client holds one descriptor, so max-clients
 * must fit RLIMIT_NOFILE beside what chatd holds anyway: once every listener
 * and control socket is open, chatd counts its open descriptors and adds the
 * control clients it may serve and a few spares.  The soft limit is raised
 * toward the hard one as far as max-clients needs; where even the hard limit
 * is too low, chatd runs with the max-clients that fits and says so, rather
 * than find out from accept failing with EMFILE.  A reload, which may change
 * max-clients, repeats the arithmetic with the count taken at the start.
 */
#include <sys/resource.h>

#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "config.h"
#include "fdlimit.h"
#include "log.h"
#include "xmalloc.h"

/*
 * Descriptors open only for a moment: the config file or a TLS file being
 * read on reload, systemd's notification socket, a client accepted only to
 * be refused with BYE server-full; and one for a library that opens one.
 */
#define FDLIMIT_SPARE	4

static size_t	fdlimit_reserve;	/* descriptors besides clients */
static int	fdlimit_known;

/* How many descriptors are open now, or -1. */
static long
fdlimit_count_open(void)
{
	DIR		*dir;
	struct dirent	*de;
	long		 n = 0;

	if ((dir = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
		n += de->d_name[0] != '.';
	closedir(dir);
	return n - 1;		/* the directory's own */
}

void
fdlimit_init(size_t control_clients)
{
	long	n = fdlimit_count_open();

	if (n == -1) {
		log_warn("cannot count open descriptors in /proc/self/fd; "
		    "max-clients is not checked against the open file limit");
		return;
	}
	fdlimit_reserve = (size_t)n + control_clients + FDLIMIT_SPARE;
	fdlimit_known = 1;
	log_debug("descriptors besides clients: %ld open, %zu for control "
	    "clients, %d spare", n, control_clients, FDLIMIT_SPARE);
}

int
fdlimit_fit(struct config *c, char **cause)
{
	struct rlimit	rl;
	rlim_t		need, was;
	size_t		fit;

	if (!fdlimit_known)
		return 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		xasprintf(cause, "getrlimit(RLIMIT_NOFILE): %s",
		    strerror(errno));
		return -1;
	}
	need = (rlim_t)fdlimit_reserve + c->max_clients;
	if (rl.rlim_cur == RLIM_INFINITY || need <= rl.rlim_cur)
		return 0;
	was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || need < rl.rlim_max ?
	    need : rl.rlim_max;
	if (rl.rlim_cur > was) {
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			log_warn("raising the open file limit to %llu",
			    (unsigned long long)rl.rlim_cur);
			rl.rlim_cur = was;
		} else
			log_info("open file limit raised from %llu to %llu for "
			    "max-clients %zu", (unsigned long long)was,
			    (unsigned long long)rl.rlim_cur, c->max_clients);
	}
	if (need <= rl.rlim_cur)
		return 0;
	if (rl.rlim_cur <= fdlimit_reserve) {
		xasprintf(cause, "the open file limit (%llu, hard limit %llu) "
		    "leaves no descriptor for clients: chatd needs %zu besides "
		    "them", (unsigned long long)rl.rlim_cur,
		    (unsigned long long)rl.rlim_max, fdlimit_reserve);
		return -1;
	}
	fit = (size_t)(rl.rlim_cur - fdlimit_reserve);
	log_warnx("max-clients %zu does not fit the open file limit (%llu, "
	    "hard limit %llu; %zu descriptors needed besides clients): "
	    "running with max-clients %zu", c->max_clients,
	    (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
	    fdlimit_reserve, fit);
	c->max_clients = fit;
	return 0;
}
