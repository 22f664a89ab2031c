/*
 * Inside the control socket: what control.c offers the command handlers
 * (answers, streams) and the handlers, one family per file.
 */
#ifndef CHATD_CONTROL_CMD_H
#define CHATD_CONTROL_CMD_H

#include <sys/types.h>

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cmdline.h"
#include "ctl-proto.h"

#define CONTROL_OPERATOR	"@operator"	/* the operator's name in chat */

struct config;
struct control_client;
struct event_base;
struct evconnlistener;
struct ucred;
struct room;
struct session;

typedef void	 control_cmd_fn(struct control_client *, struct cmd_args *);
typedef void	 control_follower_fn(struct control_client *, void *data,
		    void *arg);
typedef int	 control_rows_fn(struct control_client *, void *cursor);

/* control.c: every handler answers exactly once, or follows. */
void		 control_reply(struct control_client *, json_t *result);
void		 control_fail(struct control_client *, const char *code,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void		 control_reply_rows(struct control_client *, const char *key,
		    control_rows_fn *, void *cursor, void (*free_cursor)(void *));
int		 control_row(struct control_client *, json_t *row);
void		 control_follow(struct control_client *, void *data,
		    void (*free_data)(void *));
uint64_t	 control_defer(struct control_client *);
struct control_client *control_lookup(uint64_t id);
void		 control_foreach_follower(enum ctl_verb, control_follower_fn *,
		    void *);
void		 control_stream(struct control_client *, json_t *);
void		 control_stream_line(struct control_client *, const char *,
		    size_t);
const struct config *control_config(void);
uint64_t	 control_now_ms(void);
time_t		 control_started(void);
json_t		*control_string(const char *);
json_t		*control_time(time_t);

/* control-socket.c: the sockets, made and removed by descriptors. */
struct control_file {
	int			 dirfd;		/* its directory; -1: not ours */
	char			*name;		/* its name in there */
	dev_t			 dev;		/* what it is, to remove ours only */
	ino_t			 ino;
};
struct control_socket {
	struct evconnlistener	*lev;
	char			*path;
	struct control_file	 file;
	int			 readonly;
	size_t			 nclients;	/* control.c's count */
	size_t			 refusals;	/* in the window since... */
	uint64_t		 window_ms;
};
void		 control_socket_init(struct event_base *);
int		 control_socket_adopt(int fd, char **cause);
int		 control_socket_open(const struct config *, char **cause);
int		 control_socket_allowed(int fd, const struct ucred *);
json_t		*control_socket_path(int readonly);
int		 control_socket_refused(struct control_socket *);
void		 control_socket_free(void);
void		 control_accept(struct control_socket *, int fd);	/* control.c */

/* control-limit.c: what the read-only socket's users may cost. */
int		 control_limit_admit(uid_t, time_t *retry);
void		 control_limit_charge(uid_t, size_t rows);

/* control-info.c: what is going on. */
control_cmd_fn	 control_info_status, control_info_stats, control_info_clients,
		 control_info_rooms, control_info_version;

/* control-admin.c: acting on clients and rooms. */
control_cmd_fn	 control_admin_kick, control_admin_ban, control_admin_mute,
		 control_admin_unmute, control_admin_mutes, control_admin_say,
		 control_admin_announce, control_admin_msg, control_admin_topic,
		 control_admin_close;
struct room	*control_admin_room(struct control_client *, const char *);
struct room	*control_admin_find_room(const char *);
size_t		 control_admin_broadcast(const char *text);

/* control-store.c: the history database. */
control_cmd_fn	 control_store_db, control_store_history, control_store_backup,
		 control_store_purge;
json_t		*control_store_status(void);

/* control-tail.c: the operator's voice and ears. */
void		 control_tail_init(void);
void		 control_tail_free(void);
struct session	*control_tail_operator(void);
control_cmd_fn	 control_tail_follow;

/* control-daemon.c: the daemon itself. */
void		 control_daemon_init(struct event_base *);
const char	*control_daemon_state(void);
void		 control_daemon_free(void);
control_cmd_fn	 control_daemon_reload, control_daemon_drain,
		 control_daemon_shutdown, control_daemon_log_level;

#endif
