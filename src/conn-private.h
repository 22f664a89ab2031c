/*
 * Inside the connection layer: what conn.c (lifecycle and close path),
 * conn-input.c (framing and pacing) and conn-output.c (queueing, flushing,
 * the send-queue judgment, paged answers) share.  No other module includes
 * it.
 */
#ifndef CHATD_CONN_PRIVATE_H
#define CHATD_CONN_PRIVATE_H

#include "conn.h"

/*
 * What a connection holds besides its buffers, charged to its host while
 * it lives (chatd(8) MEMORY): the connection, its bufferevent and its
 * session (1.5 KiB measured, tests/bench/RESULTS.md); and OpenSSL's state
 * for a TLS client, largest during the handshake (tests/bench/tls-cost.py:
 * 45 KiB of RSS per client in its handshake, 18 KiB once established).
 */
#define CONN_COST		2048
#define CONN_TLS_HANDSHAKE_COST	(44 * 1024)
#define CONN_TLS_COST		(17 * 1024)

/* Bytes read in one read callback at most (conn-input.c). */
#define CONN_READ_CHUNK		16384

struct conn_pager {
	conn_pager_fn	 *fn;
	void		 *arg;
	void		(*free_arg)(void *);
};

extern const struct config	*conn_config;
extern struct event_base	*conn_base;
/*
 * When the first line since the last flush was read (bucket_now_us), 0
 * if none: what output queued until the flush is timed from, for the
 * metrics' delivery histogram.
 */
extern uint64_t			 conn_cause_us;

/* conn.c */
void		 conn_schedule(struct conn *);
void		 conn_wake_tick(void);
void		 conn_reading(struct conn *);
void		 conn_finish(struct conn *);

/* conn-input.c */
void		 conn_read_cb(struct bufferevent *, void *);
void		 conn_process_input(struct conn *);
void		 conn_defer(struct conn *);
void		 conn_undefer(struct conn *);
int		 conn_unpause(struct conn *, uint64_t now_us);
uint64_t	 conn_pause_wait_us(const struct conn *);
void		 conn_charge(struct conn *, uint64_t cost);
uint64_t	 conn_output_cost(size_t bytes);
void		 conn_input_init(struct event_base *);
void		 conn_input_configure(const struct config *);
void		 conn_input_free(void);
void		 conn_welcome(struct conn *);
void		 conn_farewell(struct conn *);
void		 conn_iteration_end(void);
void		 conn_iteration_count(struct conn *, size_t);
void		 conn_gate_note(struct conn *);
void		 conn_gate_release(struct conn *, int gone);

/* conn-output.c */
void		 conn_write_cb(struct bufferevent *, void *);
void		 conn_flush(struct conn *);
void		 conn_judge(struct conn *);
void		 conn_account(struct conn *);
void		 conn_release(void);
void		 conn_tick_flush(void);
void		 conn_pager_run(struct conn *);
void		 conn_pager_end(struct conn *);
void		 conn_divert_close(struct conn *);
int		 conn_has_dirty(void);
void		 conn_forget_dirty(struct conn *);

/* conn-skip.c */
void		 conn_skip_record(struct conn *, size_t, struct msg *,
		    int partial);
void		 conn_skip_judge(struct conn *);
void		 conn_skip_end(struct conn *);
size_t		 conn_skip_held(const struct conn *);

#endif
