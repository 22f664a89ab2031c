/*
 * The config file: ini-style "key = value" lines parsed by inih, checked
 * against one table of keys that also supplies every default, range and unit.
 * A file is applied whole or not at all: any error leaves the caller with
 * nothing but a cause naming the file, the line and the reason.
 */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "name.h"
#include "room.h"
#include "oper.h"
#include "text.h"
#include "xmalloc.h"

enum config_type {
	CONFIG_COUNT,		/* plain number */
	CONFIG_BYTES,		/* number with optional k/m/g suffix */
	CONFIG_SECONDS,		/* number with optional s/m/h suffix */
	CONFIG_STRING,
	CONFIG_ROOM,
	CONFIG_LIST,		/* repeatable string */
	CONFIG_LISTEN,		/* repeatable ADDR:PORT */
	CONFIG_OPER,		/* repeatable NAME HASH */
	CONFIG_LOG_LEVEL,
	CONFIG_MODE,		/* octal permission bits */
	CONFIG_BOOL,		/* yes or no */
	CONFIG_SLOW,		/* disconnect or skip: enum config_slow */
};

struct config_key {
	const char	*name;
	enum config_type type;
	size_t		 offset;
	size_t		 count_offset;	/* CONFIG_LIST: where the count lives */
	size_t		 min, max;
	const char	*fallback;	/* default, in config-file syntax */
	int		 needs_restart;
};

#define FIELD(f)	offsetof(struct config, f)
/* In the order of enum config_slow. */
static const char *const config_slow_words[] = { "disconnect", "skip", NULL };

#define KiB		((size_t)1024)
#define MiB		(KiB * 1024)
static const struct config_key config_keys[] = {
	{ "listen", CONFIG_LISTEN, FIELD(listen), FIELD(nlisten), 0, 0, NULL, 1 },
	{ "listen-tls", CONFIG_LISTEN, FIELD(listen_tls), FIELD(nlisten_tls),
	  0, 0, NULL, 1 },
	{ "listen-irc", CONFIG_LISTEN, FIELD(listen_irc), FIELD(nlisten_irc),
	  0, 0, NULL, 1 },
	{ "listen-irc-tls", CONFIG_LISTEN, FIELD(listen_irc_tls),
	  FIELD(nlisten_irc_tls), 0, 0, NULL, 1 },
	{ "listen-metrics", CONFIG_LISTEN, FIELD(listen_metrics),
	  FIELD(nlisten_metrics), 0, 0, NULL, 1 },
	{ "server-name", CONFIG_STRING, FIELD(server_name), 0, 0, 0, NULL, 1 },
	{ "irc-registration-timeout", CONFIG_SECONDS,
	  FIELD(irc_registration_timeout), 0, 1, 3600, "30", 0 },
	{ "irc-ping-interval", CONFIG_SECONDS, FIELD(irc_ping_interval), 0, 1,
	  86400, "120", 0 },
	{ "irc-ping-timeout", CONFIG_SECONDS, FIELD(irc_ping_timeout), 0, 1,
	  3600, "60", 0 },
	{ "irc-sts-duration", CONFIG_SECONDS, FIELD(irc_sts_duration), 0, 0,
	  366 * 86400, "0", 0 },
	{ "irc-monitor-max", CONFIG_COUNT, FIELD(irc_monitor_max), 0, 1, 1000,
	  "100", 0 },
	{ "irc-chathistory-max", CONFIG_COUNT, FIELD(irc_chathistory_max), 0, 1,
	  1000, "100", 0 },
	{ "tls-cert", CONFIG_STRING, FIELD(tls_cert), 0, 0, 0, NULL, 0 },
	{ "tls-key", CONFIG_STRING, FIELD(tls_key), 0, 0, 0, NULL, 0 },
	{ "tls-ciphers", CONFIG_STRING, FIELD(tls_ciphers), 0, 0, 0, NULL, 0 },
	{ "tls-min-version", CONFIG_STRING, FIELD(tls_min_version), 0, 0, 0,
	  "1.2", 0 },
	{ "tls-handshake-timeout", CONFIG_SECONDS, FIELD(tls_handshake_timeout),
	  0, 1, 300, "10", 0 },
	{ "user", CONFIG_STRING, FIELD(user), 0, 0, 0, "nobody", 1 },
	{ "control", CONFIG_STRING, FIELD(control_path), 0, 0, 0, NULL, 1 },
	{ "control-mode", CONFIG_MODE, FIELD(control_mode), 0, 0, 0777,
	  "0660", 1 },
	{ "control-group", CONFIG_STRING, FIELD(control_group), 0, 0, 0,
	  NULL, 1 },
	{ "control-readonly", CONFIG_STRING, FIELD(control_readonly), 0, 0, 0,
	  NULL, 1 },
	{ "control-readonly-rate", CONFIG_COUNT, FIELD(control_readonly_rate),
	  0, 1, 10000000, "5000", 0 },
	{ "default-room", CONFIG_ROOM, FIELD(default_room), 0, 0, 0,
	  "#lobby", 0 },
	{ "motd", CONFIG_LIST, FIELD(motd), FIELD(nmotd), 0, 0, NULL, 0 },
	{ "oper", CONFIG_OPER, FIELD(opers), FIELD(nopers), 0, 0, NULL, 0 },
	{ "scrollback", CONFIG_COUNT, FIELD(scrollback), 0, 0, 10000, "20", 0 },
	{ "max-line", CONFIG_BYTES, FIELD(max_line), 0, 64, 64 * KiB,
	  "4096", 0 },
	{ "sendq-hard", CONFIG_BYTES, FIELD(sendq_hard), 0, 4 * KiB,
	  1024 * MiB, "256k", 0 },
	{ "sendq-soft", CONFIG_BYTES, FIELD(sendq_soft), 0, 1 * KiB,
	  1024 * MiB, "64k", 0 },
	{ "sendq-soft-seconds", CONFIG_SECONDS, FIELD(sendq_soft_seconds), 0,
	  1, 3600, "10", 0 },
	{ "slow-consumer", CONFIG_SLOW, FIELD(slow_consumer), 0, 0, 0,
	  "disconnect", 0 },
	{ "socket-send-buffer", CONFIG_BYTES, FIELD(socket_send_buffer), 0,
	  4 * KiB, 16 * MiB, "64k", 0 },
	{ "socket-receive-buffer", CONFIG_BYTES, FIELD(socket_receive_buffer),
	  0, 4 * KiB, 16 * MiB, "64k", 0 },
	{ "flood-rate", CONFIG_COUNT, FIELD(flood_rate), 0, 1, 1000000,
	  "10", 0 },
	{ "flood-burst", CONFIG_COUNT, FIELD(flood_burst), 0, 1, 1000000,
	  "20", 0 },
	{ "flood-line-bytes", CONFIG_BYTES, FIELD(flood_line_bytes), 0, 64,
	  1024 * MiB, "1k", 0 },
	{ "flood-fanout", CONFIG_COUNT, FIELD(flood_fanout), 0, 1, 1000000,
	  "500", 0 },
	{ "flood-rate-per-ip", CONFIG_COUNT, FIELD(flood_rate_per_ip), 0, 0,
	  1000000, "50", 0 },
	{ "flood-burst-per-ip", CONFIG_COUNT, FIELD(flood_burst_per_ip), 0, 1,
	  1000000, "100", 0 },
	{ "connect-rate-per-ip", CONFIG_COUNT, FIELD(connect_rate_per_ip), 0,
	  0, 1000000, "10", 0 },
	{ "connect-burst-per-ip", CONFIG_COUNT, FIELD(connect_burst_per_ip), 0,
	  1, 1000000, "100", 0 },
	{ "ipv6-prefix", CONFIG_COUNT, FIELD(ipv6_prefix), 0, 16, 128, "64",
	  1 },
	{ "max-clients", CONFIG_COUNT, FIELD(max_clients), 0, 1, 1000000,
	  "10000", 0 },
	{ "max-per-ip", CONFIG_COUNT, FIELD(max_per_ip), 0, 0, 1000000,
	  "100", 0 },
	{ "max-rooms", CONFIG_COUNT, FIELD(max_rooms), 0, 1, 1000000,
	  "10000", 0 },
	{ "max-memory", CONFIG_BYTES, FIELD(max_memory), 0, 16 * MiB,
	  (size_t)1024 * 1024 * MiB, "512m", 0 },
	{ "max-memory-per-ip", CONFIG_BYTES, FIELD(max_memory_per_ip), 0, 0,
	  (size_t)1024 * 1024 * MiB, "32m", 0 },
	{ "idle-timeout", CONFIG_SECONDS, FIELD(idle_timeout), 0, 0,
	  7 * 86400, "0", 0 },
	{ "max-rooms-per-client", CONFIG_COUNT, FIELD(max_rooms_per_client),
	  0, 1, 1000, "20", 0 },
	{ "max-bans-per-room", CONFIG_COUNT, FIELD(max_bans_per_room), 0, 0,
	  1000, "50", 0 },
	{ "max-invites-per-room", CONFIG_COUNT, FIELD(max_invites_per_room), 0,
	  1, 1000, "16", 0 },
	{ "announce-members-max", CONFIG_COUNT, FIELD(announce_members_max),
	  0, 0, 1000000, "0", 0 },
	{ "shutdown-grace", CONFIG_SECONDS, FIELD(shutdown_grace), 0, 0,
	  3600, "5", 0 },
	{ "log-level", CONFIG_LOG_LEVEL, FIELD(log_level), 0, 0, 0, "info", 0 },
	/* The file is opened once, at start: a new one needs a restart. */
	{ "database", CONFIG_STRING, FIELD(database), 0, 0, 0, NULL, 1 },
	{ "history-max-age", CONFIG_SECONDS, FIELD(history_max_age), 0, 0,
	  (size_t)100 * 365 * 86400, "0", 0 },
	{ "history-max-per-room", CONFIG_COUNT, FIELD(history_max_per_room), 0,
	  0, 1000000000, "0", 0 },
	{ "history-private", CONFIG_BOOL, FIELD(history_private), 0, 0, 1, "no",
	  0 },
	{ "history-commit-interval", CONFIG_COUNT,
	  FIELD(history_commit_interval), 0, 1, 10000, "100", 0 },
	{ "history-queue", CONFIG_COUNT, FIELD(history_queue), 0, 1, 10000000,
	  "10000", 0 },
	{ "history-queue-memory", CONFIG_BYTES, FIELD(history_queue_memory), 0,
	  64 * KiB, 1024 * MiB, "16m", 0 },
};
#define NKEYS	(sizeof config_keys / sizeof config_keys[0])

#define DEFAULT_LISTEN	"127.0.0.1:7000"
#define MOTD_MAX	200	/* inih's lines are shorter anyway */

struct config_parse {
	struct config	*config;
	FILE		*file;
	int		 line;		/* lines read so far */
	char		*cause;		/* first error's reason... */
	int		 cause_line;	/* ...and its line */
	unsigned char	 seen[NKEYS];	/* lists from the file replace defaults */
};

static void *
config_field(struct config *c, size_t offset)
{
	return (char *)c + offset;
}

/* Parse a number with an optional unit suffix from units (factor table). */
static int
config_number(const char *s, const char *suffixes, const size_t *factors,
    size_t *out)
{
	char			*end;
	unsigned long long	 n;
	const char		*unit;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		if (end[1] != '\0' || (unit = strchr(suffixes, *end)) == NULL)
			return -1;
		if (n > SIZE_MAX / factors[unit - suffixes])
			return -1;
		n *= factors[unit - suffixes];
	}
	if (n > SIZE_MAX)
		return -1;
	*out = (size_t)n;
	return 0;
}

static void
config_list_add(char ***list, size_t *n, const char *value)
{
	*list = xreallocarray(*list, *n + 1, sizeof **list);
	(*list)[(*n)++] = xstrdup(value);
}

static void
config_list_free(char **list, size_t n)
{
	while (n > 0)
		free(list[--n]);
	free(list);
}

/* Set one key; on error return a reason (static or allocated in *cause). */
static int
config_set(struct config_parse *p, const struct config_key *k,
    const char *value)
{
	static const size_t	 byte_factors[] = { KiB, KiB, MiB, MiB,
				    1024 * MiB, 1024 * MiB };
	static const size_t	 second_factors[] = { 1, 60, 3600 };
	struct config		*c = p->config;
	void			*field = config_field(c, k->offset);
	size_t			 n = 0, i = (size_t)(k - config_keys);
	char			 buf[TEXT_SANITIZE_MAX(MOTD_MAX) + 1];
	struct sockaddr_storage	 ss;
	int			 sslen;
	int			 bad = 0;

	switch (k->type) {
	case CONFIG_COUNT:
		bad = config_number(value, "", NULL, &n);
		break;
	case CONFIG_BYTES:
		bad = config_number(value, "kKmMgG", byte_factors, &n);
		break;
	case CONFIG_SECONDS:
		bad = config_number(value, "smh", second_factors, &n);
		break;
	case CONFIG_MODE:
		bad = *value == '\0' || strlen(value) > 5 ||
		    value[strspn(value, "01234567")] != '\0';
		n = strtoul(value, NULL, 8);
		break;
	case CONFIG_BOOL:
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0) {
			xasprintf(&p->cause, "%s: \"%s\" is not yes or no",
			    k->name, value);
			return -1;
		}
		n = strcmp(value, "yes") == 0;
		break;
	case CONFIG_SLOW:
		for (n = 0; config_slow_words[n] != NULL; n++)
			if (strcmp(value, config_slow_words[n]) == 0)
				break;
		if (config_slow_words[n] == NULL) {
			xasprintf(&p->cause, "%s: \"%s\" is not disconnect or "
			    "skip", k->name, value);
			return -1;
		}
		*(size_t *)field = n;
		return 0;
	case CONFIG_LOG_LEVEL:
		if (log_level_parse(value, field) == -1) {
			xasprintf(&p->cause, "%s: unknown level \"%s\" (use "
			    "error, warning, notice, info or debug)", k->name,
			    value);
			return -1;
		}
		return 0;
	case CONFIG_ROOM:	/* "none": NULL */
		if (strcmp(value, "none") == 0) {
			free(*(char **)field);
			*(char **)field = NULL;
			return 0;
		}
		if (!name_room_valid(value)) {
			xasprintf(&p->cause, "%s: invalid room name \"%s\"",
			    k->name, value);
			return -1;
		}
		/* FALLTHROUGH */
	case CONFIG_STRING:
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case CONFIG_OPER:
		if (!oper_line_valid(value)) {
			xasprintf(&p->cause, "%s: \"%s\" is not NAME HASH, with "
			    "HASH from chatd --hash-password (never a password)",
			    k->name, value);
			return -1;
		}
		/* FALLTHROUGH */
	case CONFIG_LISTEN:
		if (k->type == CONFIG_LISTEN &&
		    addr_parse(value, &ss, &sslen) == -1) {
			xasprintf(&p->cause, "%s: \"%s\" is not ADDR:PORT (e.g. "
			    "127.0.0.1:7000 or [::1]:7000)", k->name, value);
			return -1;
		}
		/* FALLTHROUGH */
	case CONFIG_LIST:
		if (!p->seen[i]) {	/* the file replaces the default list */
			config_list_free(*(char ***)field,
			    *(size_t *)config_field(c, k->count_offset));
			*(char ***)field = NULL;
			*(size_t *)config_field(c, k->count_offset) = 0;
			p->seen[i] = 1;
		}
		if (strlen(value) > MOTD_MAX) {
			xasprintf(&p->cause, "%s: longer than %d bytes",
			    k->name, MOTD_MAX);
			return -1;
		}
		buf[text_sanitize(value, strlen(value), buf)] = '\0';
		config_list_add(config_field(c, k->offset),
		    config_field(c, k->count_offset), buf);
		return 0;
	}
	if (bad) {
		xasprintf(&p->cause, "%s: \"%s\" is not a %s", k->name, value,
		    k->type == CONFIG_BYTES ? "size (bytes, or with k, m, g)" :
		    k->type == CONFIG_SECONDS ? "duration (seconds, or with s, "
		    "m, h)" : k->type == CONFIG_MODE ? "mode (octal, e.g. 0660)" :
		    "number");
		return -1;
	}
	if (n < k->min || n > k->max) {
		xasprintf(&p->cause, "%s: %zu is out of range (%zu to %zu)",
		    k->name, n, k->min, k->max);
		return -1;
	}
	*(size_t *)field = n;
	return 0;
}

static const struct config_key *
config_key_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++) {
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	}
	return NULL;
}

/* inih callback: returns 0 to report an error on the current line. */
static int
config_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct config_parse	*p = arg;
	const struct config_key	*k;

	if (p->cause != NULL)
		return 1;	/* report the first error only */
	if (*section != '\0') {
		xasprintf(&p->cause, "sections are not used (found [%s])",
		    section);
		p->cause_line = p->line;
		return 0;
	}
	if ((k = config_key_find(name)) == NULL) {
		xasprintf(&p->cause, "unknown key \"%s\"", name);
		p->cause_line = p->line;
		return 0;
	}
	if (config_set(p, k, value) == 0)
		return 1;
	p->cause_line = p->line;
	return 0;
}

/*
 * inih's line reader: counts lines, so errors found by the handler carry
 * their own line, and refuses a line longer than inih's buffer instead of
 * letting inih read its tail as a line of its own.
 */
static char *
config_read_line(char *buf, int size, void *arg)
{
	struct config_parse	*p = arg;
	int			 ch;

	if (fgets(buf, size, p->file) == NULL)
		return NULL;
	p->line++;
	if (strchr(buf, '\n') == NULL && !feof(p->file)) {
		while ((ch = fgetc(p->file)) != EOF && ch != '\n')
			;
		if (p->cause == NULL) {
			xasprintf(&p->cause, "line longer than %d bytes",
			    size - 2);
			p->cause_line = p->line;
		}
		buf[0] = '\0';
	}
	return buf;
}

static struct config *
config_defaults(void)
{
	struct config_parse	 p = { .config = xcalloc(1, sizeof *p.config) };
	size_t			 i;

	for (i = 0; i < NKEYS; i++) {
		if (config_keys[i].fallback != NULL &&
		    config_set(&p, &config_keys[i], config_keys[i].fallback))
			fatalx("built-in default: %s", p.cause);
	}
	config_list_add(&p.config->listen, &p.config->nlisten, DEFAULT_LISTEN);
	return p.config;
}

static int
config_check_listen(const char *key, char **specs, size_t n, char **cause)
{
	struct sockaddr_storage	ss;
	int			sslen;
	size_t			i;

	for (i = 0; i < n; i++) {
		if (addr_parse(specs[i], &ss, &sslen) == -1) {
			xasprintf(cause, "%s: \"%s\" is not ADDR:PORT (e.g. "
			    "127.0.0.1:7000 or [::1]:7000)", key, specs[i]);
			return -1;
		}
	}
	return 0;
}

/* A name IRC clients accept as a server's: letters, digits, '.', '-'. */
static int
config_server_name_valid(const char *name)
{
	size_t	len = strlen(name);

	return len > 0 && len <= 63 && strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == len &&
	    name[0] != '.' && name[0] != '-';
}

/* server-name defaults to the host name, or "chatd" if IRC cannot use it. */
static int
config_check_server_name(struct config *c, char **cause)
{
	char	host[256];

	if (c->server_name != NULL) {
		if (config_server_name_valid(c->server_name))
			return 0;
		xasprintf(cause, "server-name: \"%s\" is not a host name "
		    "(letters, digits, '.' and '-', at most 63)",
		    c->server_name);
		return -1;
	}
	if (gethostname(host, sizeof host) == -1 ||
	    (host[sizeof host - 1] = '\0', !config_server_name_valid(host)))
		snprintf(host, sizeof host, "chatd");
	c->server_name = xstrdup(host);
	return 0;
}

static int
config_check(struct config *c, char **cause)
{
	if (c->sendq_soft > c->sendq_hard) {
		xasprintf(cause, "sendq-soft (%zu) is above sendq-hard (%zu)",
		    c->sendq_soft, c->sendq_hard);
		return -1;
	}
	/* The longest message must fit in a send queue, or nobody gets it. */
	if (c->sendq_hard < TEXT_SANITIZE_MAX(c->max_line) + 256) {
		xasprintf(cause, "sendq-hard (%zu) is below what one max-line "
		    "message may need after sanitizing (%zu)", c->sendq_hard,
		    TEXT_SANITIZE_MAX(c->max_line) + 256);
		return -1;
	}
	if (c->nlisten == 0) {
		xasprintf(cause, "no listen address");
		return -1;
	}
	/* The command line's listeners are checked here too. */
	if (config_check_listen("listen", c->listen, c->nlisten, cause) ||
	    config_check_listen("listen-tls", c->listen_tls, c->nlisten_tls,
	    cause) || config_check_listen("listen-irc", c->listen_irc,
	    c->nlisten_irc, cause) || config_check_listen("listen-irc-tls",
	    c->listen_irc_tls, c->nlisten_irc_tls, cause) ||
	    config_check_listen("listen-metrics", c->listen_metrics,
	    c->nlisten_metrics, cause))
		return -1;
	if (config_check_server_name(c, cause) == -1)
		return -1;
	if (strcmp(c->tls_min_version, "1.2") != 0 &&
	    strcmp(c->tls_min_version, "1.3") != 0) {
		xasprintf(cause, "tls-min-version: \"%s\" is not 1.2 or 1.3",
		    c->tls_min_version);
		return -1;
	}
	if (c->database != NULL && *c->database == '\0') {
		xasprintf(cause, "database: empty (a file, or none)");
		return -1;
	}
	if ((c->nlisten_tls > 0 || c->nlisten_irc_tls > 0) &&
	    (c->tls_cert == NULL || c->tls_key == NULL)) {
		xasprintf(cause, "%s needs tls-cert and tls-key",
		    c->nlisten_tls > 0 ? "listen-tls" : "listen-irc-tls");
		return -1;
	}
	return 0;
}

static void
config_list_replace(char ***list, size_t *n, char **with, size_t nwith)
{
	size_t	i;

	config_list_free(*list, *n);
	*list = NULL;
	*n = 0;
	for (i = 0; i < nwith; i++)
		config_list_add(list, n, with[i]);
}

static void
config_string_replace(char **s, const char *with)
{
	if (with != NULL) {
		free(*s);
		*s = xstrdup(with);
	}
}

static void
config_apply_overrides(struct config *c, const struct config_overrides *o)
{
	if (o == NULL)
		return;
	if (o->nlisten > 0)
		config_list_replace(&c->listen, &c->nlisten, o->listen,
		    o->nlisten);
	if (o->nlisten_tls > 0)
		config_list_replace(&c->listen_tls, &c->nlisten_tls,
		    o->listen_tls, o->nlisten_tls);
	if (o->nlisten_irc > 0)
		config_list_replace(&c->listen_irc, &c->nlisten_irc,
		    o->listen_irc, o->nlisten_irc);
	if (o->nlisten_irc_tls > 0)
		config_list_replace(&c->listen_irc_tls, &c->nlisten_irc_tls,
		    o->listen_irc_tls, o->nlisten_irc_tls);
	if (o->nlisten_metrics > 0)
		config_list_replace(&c->listen_metrics, &c->nlisten_metrics,
		    o->listen_metrics, o->nlisten_metrics);
	config_string_replace(&c->tls_cert, o->tls_cert);
	config_string_replace(&c->tls_key, o->tls_key);
	config_string_replace(&c->control_path, o->control_path);
	config_string_replace(&c->database, o->database);
	if (o->log_level != NULL)
		log_level_parse(o->log_level, &c->log_level);
}

/*
 * Load path (NULL: built-in defaults only) and the overrides.  On error
 * returns NULL and "FILE:LINE: reason" in *cause.
 */
struct config *
config_load(const char *path, const struct config_overrides *o, char **cause)
{
	struct config_parse	 p = { .config = config_defaults() };
	char			*why;
	int			 line;

	if (path != NULL) {
		if ((p.file = fopen(path, "r")) == NULL) {
			xasprintf(cause, "%s: %s", path, strerror(errno));
			goto fail;
		}
		/* inih's result is the first line it found wrong, or 0. */
		line = ini_parse_stream(config_read_line, &p, config_handler,
		    &p);
		fclose(p.file);
		if (p.cause != NULL && (line == 0 || p.cause_line <= line))
			xasprintf(cause, "%s:%d: %s", path, p.cause_line,
			    p.cause);
		else if (line != 0)
			xasprintf(cause, "%s:%d: syntax error (expected \"key "
			    "= value\")", path, line);
		if (line != 0 || p.cause != NULL)
			goto fail;
	}
	config_apply_overrides(p.config, o);
	if (config_check(p.config, &why) == -1) {
		xasprintf(cause, "%s: %s", path != NULL ? path : "config", why);
		free(why);
		goto fail;
	}
	return p.config;

fail:
	free(p.cause);
	config_free(p.config);
	return NULL;
}

void
config_free(struct config *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < NKEYS; i++) {
		const struct config_key	*k = &config_keys[i];
		void			*field = config_field(c, k->offset);

		if (k->type == CONFIG_LIST || k->type == CONFIG_LISTEN ||
		    k->type == CONFIG_OPER)
			config_list_free(*(char ***)field,
			    *(size_t *)config_field(c, k->count_offset));
		else if (k->type == CONFIG_STRING || k->type == CONFIG_ROOM)
			free(*(char **)field);
	}
	free(c);
}

/* The database file, or NULL to keep history in memory only. */
const char *
config_database(const struct config *c)
{
	if (c->database == NULL || strcmp(c->database, "none") == 0)
		return NULL;
	return c->database;
}

static int
config_key_differs(const struct config_key *k, const struct config *a,
    const struct config *b)
{
	const void	*fa = (const char *)a + k->offset;
	const void	*fb = (const char *)b + k->offset;
	char * const	*la, * const *lb;
	size_t		 na, i;

	switch (k->type) {
	case CONFIG_LOG_LEVEL:
		return *(const enum log_level *)fa != *(const enum log_level *)fb;
	case CONFIG_STRING:
	case CONFIG_ROOM:
		la = fa;
		lb = fb;
		if (*la == NULL || *lb == NULL)
			return *la != *lb;
		return strcmp(*la, *lb) != 0;
	case CONFIG_LIST:
	case CONFIG_LISTEN:
	case CONFIG_OPER:
		na = *(const size_t *)((const char *)a + k->count_offset);
		if (na != *(const size_t *)((const char *)b + k->count_offset))
			return 1;
		la = *(char * const * const *)fa;
		lb = *(char * const * const *)fb;
		for (i = 0; i < na; i++) {
			if (strcmp(la[i], lb[i]) != 0)
				return 1;
		}
		return 0;
	default:
		return *(const size_t *)fa != *(const size_t *)fb;
	}
}

/* Call cb for every key whose value differs; return how many differ. */
size_t
config_diff(const struct config *old, const struct config *new,
    void (*cb)(const char *, int, void *), void *arg)
{
	size_t	i, n = 0;

	for (i = 0; i < NKEYS; i++) {
		if (config_key_differs(&config_keys[i], old, new)) {
			cb(config_keys[i].name, config_keys[i].needs_restart,
			    arg);
			n++;
		}
	}
	return n;
}
