/* The line protocol (chatd-protocol(7)): what a client line does. */
#ifndef CHATD_LINE_H
#define CHATD_LINE_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct conn;
struct msg;
struct msg_wire;

extern const struct protocol line_protocol;

void		 line_configure(const struct config *);
int		 line_acks(const struct conn *);

/* line-format.c: rendering events as lines. */
void		 line_format_msg(struct msg *);
struct msg_wire	*line_format_run(struct msg **, size_t, uint64_t serial);
size_t		 line_history_size(const struct msg *);
void		 line_send_history(struct conn *, const struct msg *);
void		 line_send_history_id(struct conn *, const struct msg *);
size_t		 line_history_id_size(const struct msg *);

/* "HIST 2026-11-27T14:03:12Z ": what a HIST line adds to the event's. */
#define LINE_HIST_PREFIX	26
/* "HISTID " 20 digits " 2026-11-27T14:03:12.345Z ", at most. */
#define LINE_HISTID_PREFIX	(7 + 20 + 1 + 25)

#endif
