/*
 * Admin commands on the daemon itself: reload, drain, shutdown, log-level.
 * A drain stops accepting, asks every client with a notice to finish and
 * leave, reports the falling count to its followers, and shuts the daemon
 * down once the last client has gone or the grace has run out.
 */
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "chatd.h"
#include "config.h"
#include "conn.h"
#include "control-cmd.h"
#include "listen.h"
#include "log.h"

#define DRAIN_GRACE_DEFAULT	300	/* seconds */
#define DRAIN_POLL_MS		250

static struct event	*drain_timer;
static int		 draining;
static time_t		 drain_deadline;
static size_t		 drain_reported;	/* clients in the last report */

static void	drain_tick(evutil_socket_t, short, void *);

void
control_daemon_init(struct event_base *base)
{
	drain_timer = event_new(base, -1, EV_PERSIST, drain_tick,
	    NULL);
}

void
control_daemon_free(void)
{
	if (drain_timer != NULL)
		event_free(drain_timer);
	drain_timer = NULL;
}

const char *
control_daemon_state(void)
{
	return draining ? "draining" : "running";
}

/* GRACE from word, or fallback without one; -1 if answered. */
static int
daemon_grace(struct control_client *c, struct cmd_args *args,
    time_t fallback, time_t *grace)
{
	*grace = fallback;
	if (args->nwords == 0 || ctl_duration_parse(args->word[0], grace) == 0)
		return 0;
	control_fail(c, CTL_E_INVALID, "%s is not a duration (e.g. 90, 90s, "
	    "15m, 2h)", args->word[0]);
	return -1;
}

void
control_daemon_reload(struct control_client *c, struct cmd_args *args)
{
	struct reload_outcome	 o;
	json_t			*applied, *restart;
	size_t			 i;

	chatd_reload(&o);
	if (o.error != NULL) {
		control_fail(c, CTL_E_RELOAD, "%s; the running configuration "
		    "is kept", o.error);
		chatd_reload_free(&o);
		return;
	}
	applied = json_array();
	restart = json_array();
	for (i = 0; i < o.nchanges; i++)
		json_array_append_new(o.changes[i].needs_restart ? restart :
		    applied, json_string(o.changes[i].key));
	control_reply(c, json_pack("{s:o, s:o, s:o}", "file",
	    o.file != NULL ? control_string(o.file) : json_null(), "applied",
	    applied, "needs_restart", restart));
	chatd_reload_free(&o);
}

static void
drain_progress(struct control_client *c, void *data, void *arg)
{
	control_stream(c, json_pack("{s:{s:I, s:I}}", "progress", "clients",
	    (json_int_t)conn_count(), "seconds_left", (json_int_t)
	    (drain_deadline - time(NULL))));
}

static void
drain_answer(struct control_client *c, void *data, void *arg)
{
	control_reply(c, json_pack("{s:I, s:s}", "clients_left",
	    (json_int_t)conn_count(), "ended", (const char *)arg));
}

/* Report a changed count; end the drain once empty or out of time. */
static void
drain_tick(evutil_socket_t fd, short what, void *arg)
{
	size_t		 n = conn_count();
	const char	*ended;

	if (n > 0 && time(NULL) < drain_deadline) {
		if (n != drain_reported)
			control_foreach_follower(CTL_DRAIN, drain_progress,
			    NULL);
		drain_reported = n;
		return;
	}
	ended = n == 0 ? "every client has left" : "the grace has run out";
	log_notice("drain: %s; shutting down", ended);
	evtimer_del(drain_timer);
	control_foreach_follower(CTL_DRAIN, drain_answer, (void *)ended);
	chatd_shutdown(control_config()->shutdown_grace);
}

/* drain [GRACE]: several requests follow the same drain. */
void
control_daemon_drain(struct control_client *c, struct cmd_args *args)
{
	struct timeval	 poll = { 0, DRAIN_POLL_MS * 1000 };
	time_t		 grace;
	char		 text[200];

	if (daemon_grace(c, args, DRAIN_GRACE_DEFAULT, &grace) == -1)
		return;
	control_follow(c, NULL, NULL);
	if (!draining) {
		draining = 1;
		drain_deadline = time(NULL) + grace;
		log_notice("drain: accepting no more clients; %zu connected; "
		    "shutting down when they have left, in %lld s at most",
		    conn_count(), (long long)grace);
		listen_stop();
		snprintf(text, sizeof text, "the server is going down: please "
		    "finish and leave; it stops in %lld seconds at the latest",
		    (long long)grace);
		control_admin_broadcast(text);
		evtimer_add(drain_timer, &poll);
	}
	drain_reported = SIZE_MAX;	/* everyone gets a report now */
	drain_tick(-1, 0, NULL);
}

/* shutdown [GRACE]: the answer first, then goodbyes and the exit. */
void
control_daemon_shutdown(struct control_client *c, struct cmd_args *args)
{
	time_t	grace;

	if (daemon_grace(c, args, (time_t)control_config()->shutdown_grace,
	    &grace) == -1)
		return;
	control_reply(c, json_pack("{s:I, s:I}", "clients",
	    (json_int_t)conn_count(), "grace_seconds", (json_int_t)grace));
	chatd_shutdown((size_t)grace);
}

/* log-level [LEVEL]: show it, or set it until the next reload. */
void
control_daemon_log_level(struct control_client *c, struct cmd_args *args)
{
	enum log_level	old = log_get_level(), level;

	if (args->nwords == 0) {
		control_reply(c, json_pack("{s:s}", "level",
		    log_level_name(old)));
		return;
	}
	if (log_level_parse(args->word[0], &level) == -1) {
		control_fail(c, CTL_E_INVALID, "unknown level \"%s\" (use "
		    "error, warning, notice, info or debug)", args->word[0]);
		return;
	}
	log_set_level(level);
	log_notice("control: log level %s (was %s)", log_level_name(level),
	    log_level_name(old));
	control_reply(c, json_pack("{s:s, s:s}", "level",
	    log_level_name(level), "previous", log_level_name(old)));
}
