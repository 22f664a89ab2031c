/* The line protocol (chatd-protocol(7)): what a client line does. */
#ifndef CHATD_PROTO_H
#define CHATD_PROTO_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct conn;
struct msg;
struct msg_wire;

void		 proto_configure(const struct config *);
void		 proto_connected(struct conn *);
void		 proto_line(struct conn *, char *, size_t);
void		 proto_line_too_long(struct conn *, size_t max);
void		 proto_disconnected(struct conn *, const char *reason);
const char	*proto_client_name(const struct conn *);

/* proto-format.c: rendering events as lines. */
void		 proto_format_msg(struct msg *);
struct msg_wire	*proto_format_run(struct msg **, size_t, uint64_t serial);
size_t		 proto_history_size(const struct msg *);
void		 proto_send_history(struct conn *, const struct msg *);

/* "HIST 2026-11-27T14:03:12Z ": what a HIST line adds to the event's. */
#define PROTO_HIST_PREFIX	26

#endif
