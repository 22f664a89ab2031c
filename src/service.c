/*
 * systemd integration through libsystemd: sd_notify(3) for READY=1,
 * RELOADING=1 (with MONOTONIC_USEC, as systemd.service(5) asks),
 * STOPPING=1, a STATUS= line refreshed with live counts, and WATCHDOG=1
 * pings at half the interval systemd asks for; sd_listen_fds_with_names(3)
 * for sockets passed by socket activation.  Without NOTIFY_SOCKET (started
 * by hand) the notifications are no-ops and no timers run.
 */
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"
#include "service.h"
#include "xmalloc.h"

#define SERVICE_STATUS_SECONDS	5

static struct event	*service_status_timer;
static struct event	*service_watchdog_timer;
static void		(*service_status_fn)(char *, size_t);

static void
service_send_status(void)
{
	char	status[256];

	service_status_fn(status, sizeof status);
	sd_notifyf(0, "STATUS=%s", status);
}

static void
service_status_cb(evutil_socket_t fd, short what, void *arg)
{
	service_send_status();
}

static void
service_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

void
service_init(struct event_base *base, void (*status)(char *, size_t))
{
	struct timeval	tv = { SERVICE_STATUS_SECONDS, 0 };
	uint64_t	usec;

	service_status_fn = status;
	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	service_status_timer = event_new(base, -1, EV_PERSIST,
	    service_status_cb, NULL);
	event_add(service_status_timer, &tv);
	if (sd_watchdog_enabled(0, &usec) > 0) {
		usec /= 2;
		tv.tv_sec = (time_t)(usec / 1000000);
		tv.tv_usec = (suseconds_t)(usec % 1000000);
		service_watchdog_timer = event_new(base, -1, EV_PERSIST,
		    service_watchdog_cb, NULL);
		event_add(service_watchdog_timer, &tv);
		log_info("systemd watchdog: pinging every %llu ms",
		    (unsigned long long)(usec / 1000));
	}
}

void
service_ready(void)
{
	char	status[256];

	if (service_status_fn == NULL)
		return;
	service_status_fn(status, sizeof status);
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
service_reloading(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000 +
	    (unsigned long long)ts.tv_nsec / 1000);
}

void
service_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
}

/* The sockets systemd passed us, with their names; the count. */
size_t
service_sockets(struct service_socket **out)
{
	char	**names = NULL;
	int	  n, i;

	*out = NULL;
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		log_warnx("systemd sockets: %s", strerror(-n));
		return 0;
	}
	if (n > 0) {
		*out = xcalloc((size_t)n, sizeof **out);
		for (i = 0; i < n; i++) {
			(*out)[i].fd = SD_LISTEN_FDS_START + i;
			(*out)[i].name = names != NULL && names[i] != NULL ?
			    names[i] : xstrdup("unknown");
		}
	}
	free(names);
	return (size_t)n;
}

void
service_sockets_free(struct service_socket *s, size_t n)
{
	while (n > 0)
		free(s[--n].name);
	free(s);
}

void
service_free(void)
{
	if (service_status_timer != NULL)
		event_free(service_status_timer);
	if (service_watchdog_timer != NULL)
		event_free(service_watchdog_timer);
	service_status_timer = service_watchdog_timer = NULL;
}
