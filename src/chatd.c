/*
 * chatd: options, config, listeners, signals, the event loop, and the order
 * of shutdown (stop accepting, say goodbye, flush within a grace period).
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ban.h"
#include "chatd.h"
#include "config.h"
#include "conn.h"
#include "control.h"
#include "fdlimit.h"
#include "history.h"
#include "host.h"
#include "irc.h"
#include "line.h"
#include "listen.h"
#include "log.h"
#include "metrics-http.h"
#include "mute.h"
#include "privilege.h"
#include "oper.h"
#include "room.h"
#include "service.h"
#include "store.h"
#include "tls.h"
#include "version.h"
#include "xmalloc.h"

/* Long options without a short form. */
enum {
	OPTION_LISTEN_TLS = 256,
	OPTION_LISTEN_IRC,
	OPTION_LISTEN_IRC_TLS,
	OPTION_LISTEN_METRICS,
	OPTION_TLS_CERT,
	OPTION_TLS_KEY,
	OPTION_HASH_PASSWORD,
	OPTION_DATABASE,
};

static struct event_base	*base;
static struct config		*config;
static const char		*config_path;
static struct config_overrides	 overrides;
static int			 shutting_down;

static _Noreturn void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: chatd [-htV] [-c FILE] [-l ADDR:PORT]... [-C PATH] "
	    "[-L LEVEL]\n"
	    "             [--listen-tls ADDR:PORT]... [--tls-cert FILE] "
	    "[--tls-key FILE]\n"
	    "             [--listen-irc ADDR:PORT]... "
	    "[--listen-irc-tls ADDR:PORT]...\n"
	    "             [--listen-metrics ADDR:PORT]...\n"
	    "             [--database PATH]\n"
	    "  -c, --config FILE       read the config file FILE\n"
	    "  -l, --listen ADDR:PORT  listen here (repeatable; [::1]:7000 "
	    "for IPv6)\n"
	    "      --listen-tls ADDR:PORT  listen for TLS clients here "
	    "(repeatable)\n"
	    "      --listen-irc ADDR:PORT  listen for IRC clients here "
	    "(repeatable)\n"
	    "      --listen-irc-tls ADDR:PORT  the same, over TLS\n"
	    "      --listen-metrics ADDR:PORT  serve Prometheus metrics here "
	    "(repeatable)\n"
	    "      --tls-cert FILE     TLS certificate chain (PEM)\n"
	    "      --tls-key FILE      TLS private key (PEM)\n"
	    "      --database PATH     keep history in this SQLite file "
	    "(none: in memory)\n"
	    "  -C, --control PATH      control socket path\n"
	    "  -L, --log-level LEVEL   error, warning, notice, info or debug\n"
	    "  -t, --test-config       check the config and exit\n"
	    "      --hash-password     read a password, print the hash for "
	    "an oper line\n"
	    "  -V, --version           print the version and exit\n"
	    "  -h, --help              print this help and exit\n"
	    "See chatd(8), chatd.conf(5), chatd-protocol(7) and chatd-irc(7)."
	    "\n");
	exit(status);
}

/* One more of a repeatable command-line option. */
static void
override_add(char ***list, size_t *n, char *arg)
{
	*list = xreallocarray(*list, *n + 1, sizeof **list);
	(*list)[(*n)++] = arg;
}

static void
overrides_free(void)
{
	free(overrides.listen);
	free(overrides.listen_tls);
	free(overrides.listen_irc);
	free(overrides.listen_irc_tls);
	free(overrides.listen_metrics);
}

/* Hand the config to every module that reads it. */
static void
apply_config(struct config *c)
{
	log_set_level(c->log_level);
	host_configure(c);
	/* The protocols first: conn_configure asks them for their timers. */
	line_configure(c);
	irc_configure(c);
	conn_configure(c);
	listen_configure(c);
	metrics_http_configure(c);
	room_configure(c->scrollback, c->max_rooms_per_client, c->max_rooms);
	room_mode_configure(c->max_bans_per_room, c->max_invites_per_room);
	room_announce_configure(c->announce_members_max);
	oper_configure(c);
	history_configure(c);
	room_keep(c->default_room);
	control_configure(c);
}

/*
 * Fan-out runs (room.c) are held until the loop iteration's input is read;
 * conn_hold makes room_flush run before any connection writes.
 */
static void
hold_runs(void)
{
	conn_hold(room_flush);
}

static void
reload_report(const char *key, int needs_restart, void *arg)
{
	struct reload_outcome	*o = arg;

	o->changes = xreallocarray(o->changes, o->nchanges + 1,
	    sizeof *o->changes);
	o->changes[o->nchanges].key = key;
	o->changes[o->nchanges++].needs_restart = needs_restart;
	if (needs_restart)
		log_warnx("reload: %s changed; it takes effect after a restart",
		    key);
	else
		log_info("reload: %s changed", key);
}

/*
 * The TLS context a config asks for (NULL when it has no TLS listener), so
 * that a bad certificate fails the start, "chatd -t" and a reload alike.
 */
static int
tls_load(const struct config *c, struct tls_context **tls, char **cause)
{
	*tls = NULL;
	if (!tls_configured(c))
		return 0;
	if ((*tls = tls_context_load(c, cause)) == NULL)
		return -1;
	log_info("TLS certificate %s, expires %s", (*tls)->subject,
	    (*tls)->expires);
	return 0;
}

/* Does the certificate differ from the one new TLS clients get now? */
static int
tls_changed(const struct tls_context *tls)
{
	const struct tls_context	*now = listen_get_tls();

	if (tls == NULL)	/* nothing new: the running context stays */
		return 0;
	if (now == NULL)
		return 1;
	return X509_cmp(SSL_CTX_get0_certificate(tls->ctx),
	    SSL_CTX_get0_certificate(now->ctx)) != 0;
}

/* Re-read the config file: apply it whole, or keep the running one. */
void
chatd_reload(struct reload_outcome *o)
{
	struct config		*next;
	struct tls_context	*tls;

	memset(o, 0, sizeof *o);
	o->file = config_path;
	if (config_path == NULL) {
		log_info("reload: no config file; nothing to do");
		return;
	}
	service_reloading();
	if ((next = config_load(config_path, &overrides, &o->error)) == NULL ||
	    fdlimit_fit(next, &o->error) == -1 ||
	    tls_load(next, &tls, &o->error) == -1) {
		log_error("reload failed, keeping the running configuration: "
		    "%s", o->error);
		config_free(next);
		service_ready();
		return;
	}
	if (config_diff(config, next, reload_report, o) == 0 &&
	    !tls_changed(tls))
		log_info("reload: %s: no changes", config_path);
	if (tls_changed(tls))
		reload_report("tls certificate", 0, o);
	apply_config(next);
	config_free(config);
	config = next;
	if (tls != NULL)
		listen_set_tls(tls);
	service_ready();
}

void
chatd_reload_free(struct reload_outcome *o)
{
	free(o->changes);
	free(o->error);
}

static void
all_clients_gone(void)
{
	event_base_loopexit(base, NULL);
}

static void
grace_expired_cb(evutil_socket_t fd, short what, void *arg)
{
	log_notice("shutdown grace expired with %zu clients left",
	    conn_count());
	event_base_loopexit(base, NULL);
}

/* Stop accepting, say goodbye, and exit once flushed or after seconds. */
void
chatd_shutdown(size_t seconds)
{
	struct timeval	grace = { (time_t)seconds, 0 };

	if (shutting_down++) {
		log_notice("second signal: exiting now");
		event_base_loopexit(base, NULL);
		return;
	}
	log_notice("shutting down: %zu clients, grace %zu s", conn_count(),
	    seconds);
	service_stopping();
	listen_stop();
	event_base_once(base, -1, EV_TIMEOUT, grace_expired_cb, NULL, &grace);
	conn_shutdown_all(all_clients_gone);
}

static void
status_line(char *buf, size_t len)
{
	snprintf(buf, len, "%zu clients, %zu rooms", conn_count(),
	    room_count());
}

/*
 * Listen where systemd says, if it passed sockets (socket activation),
 * otherwise where the config says.  The control socket is ready before a
 * listener the config names is announced.  Metrics are served on a socket
 * named "metrics" if systemd passed one, otherwise on listen-metrics.
 */
static void
open_listeners(void)
{
	static const struct {
		size_t				 offset, count;
		int				 tls;
		const struct protocol		*proto;
	} kinds[] = {
		{ offsetof(struct config, listen),
		  offsetof(struct config, nlisten), 0, &line_protocol },
		{ offsetof(struct config, listen_tls),
		  offsetof(struct config, nlisten_tls), 1, &line_protocol },
		{ offsetof(struct config, listen_irc),
		  offsetof(struct config, nlisten_irc), 0, &irc_protocol },
		{ offsetof(struct config, listen_irc_tls),
		  offsetof(struct config, nlisten_irc_tls), 1, &irc_protocol },
	};
	struct service_socket	*sockets;
	size_t			 i, k, n, adopted = 0, metrics = 0;
	char			*cause, **specs;
	const char		*name;
	int			 rc, tls;

	n = service_sockets(&sockets);
	for (i = 0; i < n; i++) {
		name = sockets[i].name;
		tls = strcmp(name, "tls") == 0 || strcmp(name, "irc-tls") == 0;
		if (strcmp(name, "control") == 0)
			rc = control_adopt(sockets[i].fd, &cause);
		else if (strcmp(name, "metrics") == 0) {
			rc = metrics_http_adopt(sockets[i].fd, &cause);
			metrics++;
		} else if (tls && listen_get_tls() == NULL)
			fatalx("systemd passed a socket named %s, but the "
			    "config has no tls-cert and tls-key", name);
		else {
			rc = listen_adopt(sockets[i].fd, name, tls,
			    strncmp(name, "irc", 3) == 0 ? &irc_protocol :
			    &line_protocol, &cause);
			adopted++;
		}
		if (rc == -1)
			fatalx("%s", cause);
	}
	service_sockets_free(sockets, n);
	if (control_open(config, &cause) == -1)
		fatalx("%s", cause);
	for (i = 0; metrics == 0 && i < config->nlisten_metrics; i++) {
		if (metrics_http_open(config->listen_metrics[i], &cause) == -1)
			fatalx("%s", cause);
	}
	if (adopted > 0) {
		log_info("using %zu sockets from systemd; the listen setting "
		    "is not used", adopted);
		return;
	}
	for (k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		specs = *(char ***)((char *)config + kinds[k].offset);
		n = *(size_t *)((char *)config + kinds[k].count);
		for (i = 0; i < n; i++) {
			if (listen_open(specs[i], kinds[k].tls, kinds[k].proto,
			    &cause) == -1)
				fatalx("%s", cause);
		}
	}
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct reload_outcome	outcome;

	if (sig == SIGHUP) {
		chatd_reload(&outcome);
		chatd_reload_free(&outcome);
	} else
		chatd_shutdown(config->shutdown_grace);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "control", required_argument, NULL, 'C' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "listen-tls", required_argument, NULL, OPTION_LISTEN_TLS },
		{ "listen-irc", required_argument, NULL, OPTION_LISTEN_IRC },
		{ "listen-irc-tls", required_argument, NULL,
		  OPTION_LISTEN_IRC_TLS },
		{ "listen-metrics", required_argument, NULL,
		  OPTION_LISTEN_METRICS },
		{ "tls-cert", required_argument, NULL, OPTION_TLS_CERT },
		{ "tls-key", required_argument, NULL, OPTION_TLS_KEY },
		{ "database", required_argument, NULL, OPTION_DATABASE },
		{ "test-config", no_argument, NULL, 't' },
		{ "hash-password", no_argument, NULL, OPTION_HASH_PASSWORD },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const int	 signals[] = { SIGTERM, SIGINT, SIGHUP };
	struct event		*sigev[3];
	enum log_level		 level;
	struct tls_context	*tls;
	char			*cause;
	int			 ch, test_only = 0;
	size_t			 i;

	log_init("chatd");
	while ((ch = getopt_long(argc, argv, "c:l:C:L:tVh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'l':
			override_add(&overrides.listen, &overrides.nlisten,
			    optarg);
			break;
		case 'C':
			overrides.control_path = optarg;
			break;
		case OPTION_LISTEN_TLS:
			override_add(&overrides.listen_tls,
			    &overrides.nlisten_tls, optarg);
			break;
		case OPTION_LISTEN_IRC:
			override_add(&overrides.listen_irc,
			    &overrides.nlisten_irc, optarg);
			break;
		case OPTION_LISTEN_IRC_TLS:
			override_add(&overrides.listen_irc_tls,
			    &overrides.nlisten_irc_tls, optarg);
			break;
		case OPTION_LISTEN_METRICS:
			override_add(&overrides.listen_metrics,
			    &overrides.nlisten_metrics, optarg);
			break;
		case OPTION_TLS_CERT:
			overrides.tls_cert = optarg;
			break;
		case OPTION_TLS_KEY:
			overrides.tls_key = optarg;
			break;
		case OPTION_DATABASE:
			overrides.database = optarg;
			break;
		case 'L':
			if (log_level_parse(optarg, &level) == -1)
				fatalx("unknown log level \"%s\" (use error, "
				    "warning, notice, info or debug)", optarg);
			overrides.log_level = optarg;
			break;
		case 't':
			test_only = 1;
			break;
		case OPTION_HASH_PASSWORD:
			if (oper_hash_password(stdin, stdout) == -1)
				fatalx("--hash-password: give a password of 1 "
				    "to 256 bytes on one line of input");
			return 0;
		case 'V':
			printf("chatd %s\n", CHATD_VERSION);
			return 0;
		case 'h':
			usage(0);
		default:
			usage(1);
		}
	}
	if (optind != argc)
		usage(1);

	if ((config = config_load(config_path, &overrides, &cause)) == NULL ||
	    privilege_check(config, &cause) == -1 ||
	    tls_load(config, &tls, &cause) == -1 ||
	    (test_only && config_database(config) != NULL &&
	    store_check(config_database(config), &cause) == -1)) {
		fprintf(stderr, "chatd: %s\n", cause);
		free(cause);
		config_free(config);
		overrides_free();
		return 1;
	}
	if (test_only) {
		printf("chatd: %s: configuration ok\n",
		    config_path != NULL ? config_path : "built-in defaults");
		tls_context_free(tls);
		config_free(config);
		overrides_free();
		return 0;
	}

	/* libevent writes without MSG_NOSIGNAL: a closed peer must not kill. */
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit degrades history (EFBIG), it must not kill chat. */
	signal(SIGXFSZ, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		fatalx("cannot create the event base");
	host_init(base);
	conn_init(base);
	room_batch(hold_runs);
	listen_init(base);
	listen_set_tls(tls);
	control_init(base);
	metrics_http_init(base);
	apply_config(config);
	/* Before any listener is announced: a SIGTERM then is a shutdown. */
	for (i = 0; i < 3; i++) {
		sigev[i] = evsignal_new(base, signals[i], signal_cb, NULL);
		evsignal_add(sigev[i], NULL);
	}
	open_listeners();
	/*
	 * Every socket is open: count them, and cut max-clients to the open
	 * file limit before the loop accepts anyone.  Then root is not needed
	 * any more.
	 */
	fdlimit_init(control_max_clients() + metrics_http_max_clients());
	if (fdlimit_fit(config, &cause) == -1)
		fatalx("%s", cause);
	if (privilege_drop(config, config_path, &cause) == -1)
		fatalx("%s", cause);
	/*
	 * As the user chatd runs as, so that the files are its own; the rooms
	 * are restored before anyone can join them.
	 */
	if (history_open(config, &cause) == -1)
		fatalx("%s", cause);
	history_start(base);
	service_init(base, status_line);
	log_notice("chatd %s started (%s, libevent %s)", CHATD_VERSION,
	    event_base_get_method(base), event_get_version());
	service_ready();

	event_base_dispatch(base);

	listen_free();
	metrics_http_free();
	service_free();
	control_free();		/* first: it watches the rooms */
	conn_free_all();
	history_stop();		/* what the rooms said is committed */
	room_free_all();
	host_free_all();
	ban_free_all();
	mute_free_all();
	for (i = 0; i < 3; i++)
		event_free(sigev[i]);
	event_base_free(base);
	config_free(config);
	overrides_free();
	log_notice("exiting");
	return 0;
}
