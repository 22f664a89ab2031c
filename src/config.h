/* The daemon's configuration: defaults, the config file, validation, diffs. */
#ifndef CHATD_CONFIG_H
#define CHATD_CONFIG_H

#include <stddef.h>

#include "log.h"

/* What gives way when a client reads too slowly (slow-consumer). */
enum config_slow {
	CONFIG_SLOW_DISCONNECT,		/* the connection */
	CONFIG_SLOW_SKIP,		/* its oldest room messages */
};

struct config {
	char		**listen;		/* "ADDR:PORT" strings */
	size_t		  nlisten;
	char		**listen_tls;		/* the same, for TLS */
	size_t		  nlisten_tls;
	char		**listen_irc;		/* the same, for IRC */
	size_t		  nlisten_irc;
	char		**listen_irc_tls;	/* and IRC over TLS */
	size_t		  nlisten_irc_tls;
	char		**listen_metrics;	/* the same, for Prometheus */
	size_t		  nlisten_metrics;
	char		 *server_name;		/* IRC's; default: host name */
	size_t		  irc_registration_timeout;	/* seconds */
	size_t		  irc_ping_interval;	/* seconds of silence */
	size_t		  irc_ping_timeout;	/* ...then this for a reply */
	size_t		  irc_sts_duration;	/* seconds; 0: no STS */
	size_t		  irc_monitor_max;	/* nicks per client */
	size_t		  irc_chathistory_max;	/* messages per answer */
	char		 *tls_cert;		/* PEM chain */
	char		 *tls_key;		/* PEM key */
	char		 *tls_ciphers;		/* TLS 1.2; NULL: OpenSSL's */
	char		 *tls_min_version;	/* "1.2" or "1.3" */
	size_t		  tls_handshake_timeout;	/* seconds */
	char		 *control_path;
	size_t		  control_mode;		/* permission bits */
	char		 *control_group;	/* may use it too; NULL: none */
	char		 *control_readonly;	/* read-only socket; NULL: none */
	size_t		  control_readonly_rate;	/* rows a second a uid */
	char		 *default_room;
	char		**motd;			/* lines */
	size_t		  nmotd;
	char		**opers;		/* "NAME HASH" (oper.c) */
	size_t		  nopers;
	size_t		  scrollback;		/* messages kept per room */
	size_t		  max_line;		/* bytes, terminator excluded */
	size_t		  sendq_hard;		/* bytes: disconnect at once */
	size_t		  sendq_soft;		/* bytes: disconnect if held... */
	size_t		  sendq_soft_seconds;	/* ...this long */
	size_t		  slow_consumer;	/* enum config_slow */
	size_t		  socket_send_buffer;	/* SO_SNDBUF, bytes */
	size_t		  socket_receive_buffer;	/* SO_RCVBUF, bytes */
	size_t		  flood_rate;		/* lines per second */
	size_t		  flood_burst;		/* lines */
	size_t		  flood_line_bytes;	/* bytes a line's token pays */
	size_t		  flood_fanout;		/* recipients a token pays */
	size_t		  flood_rate_per_ip;	/* lines/s of a host; 0: off */
	size_t		  flood_burst_per_ip;
	size_t		  connect_rate_per_ip;	/* connections/s; 0: off */
	size_t		  connect_burst_per_ip;
	size_t		  ipv6_prefix;		/* bits that make a host */
	size_t		  max_clients;
	size_t		  max_per_ip;		/* 0: no limit */
	size_t		  max_rooms;
	size_t		  max_memory;		/* bytes held for clients */
	size_t		  max_memory_per_ip;	/* a host's share; 0: none */
	size_t		  idle_timeout;		/* seconds, 0: off */
	size_t		  max_rooms_per_client;
	size_t		  max_bans_per_room;
	size_t		  max_invites_per_room;
	size_t		  announce_members_max;	/* 0: off */
	size_t		  shutdown_grace;	/* seconds */
	char		 *database;		/* NULL or "none": in memory */
	size_t		  history_max_age;	/* seconds; 0: forever */
	size_t		  history_max_per_room;	/* messages; 0: no limit */
	size_t		  history_private;	/* yes (1) or no (0) */
	size_t		  history_commit_interval;	/* milliseconds */
	size_t		  history_queue;	/* rows waiting for the disk */
	size_t		  history_queue_memory;	/* bytes they may hold */
	enum log_level	  log_level;
	char		 *user;			/* drop to it if root */
};

/* What the command line sets; it wins over the file, also on reload. */
struct config_overrides {
	char		**listen;
	size_t		  nlisten;
	char		**listen_tls;
	size_t		  nlisten_tls;
	char		**listen_irc;
	size_t		  nlisten_irc;
	char		**listen_irc_tls;
	size_t		  nlisten_irc_tls;
	char		**listen_metrics;
	size_t		  nlisten_metrics;
	const char	 *tls_cert;
	const char	 *tls_key;
	const char	 *control_path;
	const char	 *log_level;
	const char	 *database;
};

struct config	*config_load(const char *path, const struct config_overrides *,
		    char **cause);
void		 config_free(struct config *);
const char	*config_database(const struct config *);
size_t		 config_diff(const struct config *, const struct config *,
		    void (*)(const char *key, int needs_restart, void *), void *);

#endif
