/* The IRC front-end (chatd-irc(7)): IRC clients in chatd's rooms. */
#ifndef CHATD_IRC_H
#define CHATD_IRC_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

struct config;
struct conn;
struct irc_message;
struct evbuffer;
struct msg;
struct session;
struct store_query;

extern const struct protocol irc_protocol;

/* The IRC client's state in conn->proto_flags (5 bits). */
#define IRC_NICK_GIVEN	0x1
#define IRC_USER_GIVEN	0x2
#define IRC_CAP_HELD	0x4	/* CAP LS/REQ: registration waits for END */
#define IRC_WELCOMED	0x8	/* registered: 001 sent */
#define IRC_PINGED	0x10	/* silent: sent PING, waiting for a line */

/* IRCv3 capabilities a client has asked for (irc-cap.c). */
#define IRC_CAP_AWAY_NOTIFY	0x01
#define IRC_CAP_ECHO_MESSAGE	0x02
#define IRC_CAP_INVITE_NOTIFY	0x04
#define IRC_CAP_MESSAGE_TAGS	0x08
#define IRC_CAP_MULTI_PREFIX	0x10
#define IRC_CAP_SERVER_TIME	0x20
#define IRC_CAP_USERHOST_NAMES	0x40
#define IRC_CAP_NOTIFY		0x80	/* cap-notify, implied by LS 302 */
#define IRC_CAP_BATCH		0x100
#define IRC_CAP_CHATHISTORY	0x200	/* draft/chathistory */
#define IRC_CAP_SETNAME		0x400
#define IRC_CAP_CHGHOST		0x800	/* hosts never change: nothing to send */
#define IRC_CAP_LABELED_RESPONSE 0x1000	/* only with batch (irc-label.c) */
#define IRC_CAP_EXTENDED_JOIN	0x2000

/* An IRC client's own state (conn->proto_state). */
struct irc_watch;
struct irc_client {
	unsigned		  caps;
	uint32_t		  label_batch;	/* open labeled batch; 0: none */
	struct irc_watch	**watching;	/* MONITOR's entries */
	size_t			  nwatching;
};

#define AWAY_MAX	200	/* AWAYLEN, bytes */
#define REALNAME_MAX	64	/* NAMELEN, bytes */

/* The longest line without tags, CRLF excluded (irc-parse.h's, less 2). */
#define IRC_TEXT_MAX	510

/* The C0 controls IRC gives meaning to: CTCP and formatting codes. */
#define IRC_KEEP_CONTROLS	(1u << 0x01 | 1u << 0x02 | 1u << 0x03 | \
	1u << 0x0f | 1u << 0x11 | 1u << 0x16 | 1u << 0x1d | 1u << 0x1e | \
	1u << 0x1f)

void		 irc_configure(const struct config *);
void		 irc_plain(char *);
const char	*irc_server_name(void);
const char	*irc_nick(const struct conn *);
void		 irc_reply(struct conn *, const char *numeric, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));
void		 irc_need_more_params(struct conn *, const char *command);

/* irc-chan.c: rooms and messages. */
void		 irc_join_one(struct conn *, const char *name);
void		 irc_cmd_join(struct conn *, struct irc_message *);
void		 irc_cmd_part(struct conn *, struct irc_message *);
void		 irc_cmd_privmsg(struct conn *, struct irc_message *);
void		 irc_cmd_notice(struct conn *, struct irc_message *);
void		 irc_cmd_topic(struct conn *, struct irc_message *);
void		 irc_cmd_names(struct conn *, struct irc_message *);
void		 irc_cmd_who(struct conn *, struct irc_message *);
void		 irc_cmd_list(struct conn *, struct irc_message *);
struct room	*irc_member_room(struct conn *, const char *name);

/* irc-mode.c: room moderation. */
void		 irc_cmd_mode(struct conn *, struct irc_message *);
void		 irc_cmd_kick(struct conn *, struct irc_message *);
void		 irc_cmd_invite(struct conn *, struct irc_message *);
const char	*irc_status_prefix(const struct conn *, unsigned status);

/* irc-cap.c: capabilities and presence. */
unsigned	 irc_caps(const struct conn *);
size_t		 irc_sts_duration(void);
size_t		 irc_monitor_max(void);
void		 irc_cmd_cap(struct conn *, struct irc_message *);
void		 irc_cmd_away(struct conn *, struct irc_message *);
void		 irc_cmd_setname(struct conn *, struct irc_message *);
void		 irc_set_realname(struct session *, const char *);
const char	*irc_realname(const struct session *);
void		 irc_try_welcome(struct conn *);

/* irc-history.c: CHATHISTORY. */
void		 irc_history_configure(const struct config *);
void		 irc_cmd_chathistory(struct conn *, struct irc_message *);
void		 irc_history_send(struct conn *, const char *target,
		    struct msg **, size_t lo, size_t hi, int drop_old);

/* irc-history-db.c: CHATHISTORY pages from the database. */
int		 irc_history_db(struct conn *, const char *room,
		    const struct store_query *, char **cause);

/* irc-label.c: labeled-response. */
void		 irc_label_begin(struct conn *, const struct irc_message *);
void		 irc_label_end(struct conn *);
void		 irc_label_page_begin(struct conn *);
void		 irc_label_page_end(struct conn *, int more);

/* irc-monitor.c: MONITOR. */
void		 irc_monitor_init(void);
void		 irc_monitor_clear(struct conn *);
size_t		 irc_monitor_held(const struct irc_client *);
void		 irc_cmd_monitor(struct conn *, struct irc_message *);

/* irc-oper.c: server operators. */
void		 irc_cmd_oper(struct conn *, struct irc_message *);
void		 irc_cmd_kill(struct conn *, struct irc_message *);
const char	*irc_why_not(enum chat_result);

/* irc-format.c: rendering events as IRC lines. */
void		 irc_deliver(struct session *, struct msg *);
size_t		 irc_time_tag(const struct msg *, char *, size_t);
size_t		 irc_msg_tags(const struct msg *, int with_msgid,
		    const char *batch, char *, size_t);
void		 irc_add_tagged(struct evbuffer *, const struct msg *,
		    const char *tags);
const char	*irc_msgid_epoch(void);
void		 irc_deliver_run(struct session *, struct msg **, size_t,
		    uint64_t serial);
size_t		 irc_source(const char *nick, char *buf, size_t size);

#endif
