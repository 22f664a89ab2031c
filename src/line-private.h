/* What the line protocol's files share: failing a line, naming a room. */
#ifndef CHATD_LINE_PRIVATE_H
#define CHATD_LINE_PRIVATE_H

#include "session.h"

#define NEEDS_ROOM	0x1	/* cmd_spec flag: fails without a current room */
#define WHO_PER_LINE	50	/* nicks on one WHO or ROLES line */

struct cmd_args;
struct config;
struct conn;
struct room;

extern const struct config	*line_config;

void		 line_fail(struct conn *, const char *code, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));
void		 line_fail_result(struct conn *, enum chat_result,
		    const char *about);
const char	*line_room_name(const char *, char *buf);
struct room	*line_room_arg(struct conn *, const char *word);
size_t		 line_replay(struct conn *, const struct room *, size_t n);

/* line-history.c: /history, and pages of it by message id. */
void		 line_cmd_history(void *, struct cmd_args *);

/* line-mod.c: room moderation. */
void		 line_cmd_mode(void *, struct cmd_args *);
void		 line_cmd_kick(void *, struct cmd_args *);
void		 line_cmd_invite(void *, struct cmd_args *);

#endif
