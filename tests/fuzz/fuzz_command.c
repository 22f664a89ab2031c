/*
 * libFuzzer harness: the line protocol's real entry points, line_protocol
 * (line.c, its command table and cmd_parse, line-format.c), over the real
 * rooms, sessions and bans, with conn.c replaced by stubs that record what
 * each client would be sent.
 *
 * Input: LF-separated lines; the first byte of each picks the client (one
 * of four; a client that quit connects again) and may mute it, the rest is
 * what it sends.  Each line is sanitized as conn.c does, then handed to
 * line_protocol.line; closes are deferred to after the line, as in conn.c.
 *
 * Checked for every line: everything the daemon would write is CRLF-ended
 * lines of valid UTF-8 without control characters; with acknowledgements on,
 * the sender gets exactly one ACK or NACK, numbered; without, a non-blank
 * line gets at least one line back.  After every input all clients leave,
 * and no session or room may be left behind (leaks are LeakSanitizer's).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ban.h"
#include "check-text.h"
#include "config.h"
#include "conn.h"
#include "host.h"
#include "msg.h"
#include "line.h"
#include "protocol.h"
#include "room.h"
#include "session.h"
#include "text.h"
#include "xmalloc.h"

#define NCLIENTS	4
#define LINE_MAX_BYTES	4096		/* the default max-line */

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fake {
	struct conn	 conn;
	int		 connected;
	char		*reason;	/* conn_close's, until teardown */
	size_t		 out_lines;	/* lines sent during the current line */
	size_t		 queued;	/* bytes sent during it: the "sendq" */
	size_t		 acks;		/* ACK/NACK lines during it */
	uint64_t	 ack_number;	/* the last one's n */
	conn_pager_fn	*pager;		/* conn_page's, run after the line */
	void		*pager_arg;
	void		(*pager_free)(void *);
};

static struct fake	 fakes[NCLIENTS];
static void		(*held)(void);	/* conn_hold's */
static struct config	*config;
static char		 clean[TEXT_SANITIZE_MAX(LINE_MAX_BYTES) + 1];

static void
fail(const char *what, const char *data, size_t len)
{
	fprintf(stderr, "fuzz_command: invariant broken: %s: \"%.*s\"\n", what,
	    (int)(len > 300 ? 300 : len), data);
	abort();
}

static struct fake *
fake_of(struct conn *c)
{
	return (struct fake *)((char *)c - offsetof(struct fake, conn));
}


/* Check and count the lines of one write to f. */
static void
record(struct fake *f, const char *data, size_t len)
{
	const char	*p = data, *end = data + len, *eol;
	unsigned long long n;

	f->queued += len;

	if (len < 2 || data[len - 2] != '\r' || data[len - 1] != '\n')
		fail("output does not end in CRLF", data, len);
	while (p < end) {
		eol = memchr(p, '\r', (size_t)(end - p));
		if (eol == NULL || eol + 1 >= end || eol[1] != '\n')
			fail("bare CR in output", data, len);
		if (!check_text_safe((const unsigned char *)p, (size_t)(eol - p), NULL))
			fail("output line is not terminal-safe UTF-8", p,
			    (size_t)(eol - p));
		f->out_lines++;
		if (sscanf(p, "ACK %llu", &n) == 1 ||
		    sscanf(p, "NACK %llu", &n) == 1) {
			f->acks++;
			f->ack_number = n;
		}
		p = eol + 2;
	}
}

/* conn.c stubs: what line.c calls, with conn.c's ordering rules. */

/* Held output (a fan-out run) goes out before anything else is queued. */
static void
release(void)
{
	void	(*fn)(void) = held;

	if (fn != NULL) {
		held = NULL;
		fn();
	}
}

void
conn_hold(void (*fn)(void))
{
	held = fn;
}

void
conn_send(struct conn *c, const void *data, size_t len)
{
	release();
	if (!c->dead)
		record(fake_of(c), data, len);
}

void
conn_printf(struct conn *c, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	release();
	if (c->dead)
		return;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	record(fake_of(c), s, (size_t)n);
	free(s);
}

void
conn_send_wire(struct conn *c, struct msg_wire *w)
{
	release();
	if (!c->dead)
		record(fake_of(c), w->data, w->len);
}

void
conn_send_msg(struct conn *c, struct msg_wire *w, struct msg *m)
{
	conn_send_wire(c, w);
}

/* Flood accounting is conn-input.c's: nothing to charge here. */
void
conn_line_uncharged(struct conn *c, size_t bytes)
{
}

/* Skip mode only acts on a reader that falls behind: no fake does. */
void
conn_set_slow(struct conn *c, enum conn_slow slow)
{
	c->slow = slow;
}

int
conn_skips(const struct conn *c)
{
	return c->slow == CONN_SLOW_SKIP;
}

/* A paged answer: conn.c starts it at the tick, after the line. */
void
conn_page(struct conn *c, conn_pager_fn *fn, void *arg,
    void (*free_arg)(void *))
{
	struct fake	*f = fake_of(c);

	if (f->pager != NULL)
		fail("a second answer paged at once", "", 0);
	f->pager = fn;
	f->pager_arg = arg;
	f->pager_free = free_arg;
}

/* Only a database read waits, and the fuzzer runs without one. */
void
conn_page_wake(struct conn *c)
{
	(void)c;
	fail("a pager woke with no database", "", 0);
}

int
conn_paging(const struct conn *c)
{
	return fake_of((struct conn *)c)->pager != NULL;
}

/* The tick and the client's reads: page the answer to its end. */
static void
page_out(struct fake *f)
{
	int	more;

	while (f->pager != NULL) {
		more = f->conn.dead ? 0 : f->pager(&f->conn, f->pager_arg);
		if (more == CONN_PAGE_WAIT)
			fail("a pager waits with no database", "", 0);
		if (!more) {
			f->pager_free(f->pager_arg);
			f->pager = NULL;
		}
		release();
	}
}

void
conn_describe(const struct conn *c, struct conn_info *info)
{
	memset(info, 0, sizeof *info);
	info->session = c->session;
}

void
conn_session_describe(void *client, struct conn_info *info)
{
	conn_describe(client, info);
}

void
conn_session_close(void *client, const char *code, const char *reason)
{
	conn_close(client, code, reason);
}

size_t
conn_sendq(const struct conn *c)
{
	return fake_of((struct conn *)c)->queued;
}

void
conn_close(struct conn *c, const char *code, const char *reason)
{
	struct fake	*f = fake_of(c);

	if (c->dead)
		return;
	c->dead = 1;
	f->reason = xstrdup(reason);
}

/* As chatd.c: fan-out runs are held until the line is done. */
static void
hold_runs(void)
{
	conn_hold(room_flush);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const struct ban	*ban;
	char			*cause = NULL;

	log_init("fuzz_command");
	log_set_level(LOG_LEVEL_ERROR);
	if ((config = config_load(NULL, NULL, &cause)) == NULL)
		abort();
	config->scrollback = 5;
	config->max_rooms_per_client = 4;
	host_configure(config);
	room_batch(hold_runs);
	if (ban_add("banned", 0, "fuzzing", &ban, &cause) == -1)
		abort();
	return 0;
}

static void
client_connect(struct fake *f)
{
	memset(&f->conn, 0, sizeof f->conn);
	f->conn.proto = &line_protocol;
	f->connected = 1;
	f->out_lines = 0;
	line_protocol.connected(&f->conn);
	release();
	if (f->out_lines == 0)
		fail("no greeting", "", 0);
}

/* The deferred teardown of conn.c: after the line, never during it. */
static void
client_teardown(struct fake *f)
{
	line_protocol.disconnected(&f->conn, f->reason != NULL ? f->reason :
	    "connection closed");
	release();
	if (f->conn.session != NULL)
		fail("session kept after disconnect", "", 0);
	free(f->reason);
	f->reason = NULL;
	f->connected = 0;
}

static void
client_line(struct fake *f, const char *line, size_t len)
{
	struct conn	*c = &f->conn;
	size_t		 n, i;

	for (i = 0; i < NCLIENTS; i++)
		fakes[i].out_lines = fakes[i].acks = fakes[i].queued = 0;
	n = line_protocol.sanitize(line, len, clean);
	c->lines++;
	line_protocol.line(c, clean, n);
	release();	/* conn.c's tick */
	page_out(f);
	if (c->dead)
		return;
	if (line_acks(c)) {
		if (f->acks != 1 || f->ack_number != c->lines)
			fail("with acks on, a line did not get exactly one "
			    "ACK/NACK with its number", clean, n);
	} else if (f->acks != 0)
		fail("ACK/NACK with acks off", clean, n);
	else if (f->out_lines == 0 && !text_is_blank(clean, n))
		fail("a line got no outcome", clean, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p = (const char *)data, *end = p + size, *eol;
	struct fake	*f;
	size_t		 i, len;
	uint8_t		 sel;

	/* As chatd.c's apply_config: the default room is kept. */
	room_configure(config->scrollback, config->max_rooms_per_client,
	    config->max_rooms);
	room_keep(config->default_room);
	line_configure(config);
	for (i = 0; i < NCLIENTS; i++)
		client_connect(&fakes[i]);
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		len = (size_t)((eol != NULL ? eol : end) - p);
		if (len > 0) {
			sel = (uint8_t)p[0];
			f = &fakes[sel % NCLIENTS];
			if (!f->connected)
				client_connect(f);
			if (sel & 0x40)
				f->conn.session->muted = !f->conn.session->muted;
			if (len - 1 <= LINE_MAX_BYTES)
				client_line(f, p + 1, len - 1);
			for (i = 0; i < NCLIENTS; i++) {
				if (fakes[i].connected && fakes[i].conn.dead)
					client_teardown(&fakes[i]);
			}
		}
		p += len + 1;
	}
	for (i = 0; i < NCLIENTS; i++) {
		if (fakes[i].connected) {
			conn_close(&fakes[i].conn, NULL, "end of input");
			client_teardown(&fakes[i]);
		}
	}
	if (session_count() != 0)
		fail("sessions left after everyone quit", "", 0);
	if (room_count() != 1)
		fail("rooms left after everyone quit (only the default room "
		    "is kept)", "", 0);
	room_free_all();
	return 0;
}
