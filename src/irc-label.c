/*
 * IRCv3 labeled-response.  A client that has both labeled-response and
 * batch, and puts a label tag on a command, gets the answer marked with
 * it: an ACK when there is none, the label on an answer of one line, or a
 * labeled-response batch around an answer of several.  The answer is what
 * the command queues to the client while it runs (conn_divert), and the
 * fan-out it causes, its own echo among it.  A paged answer (NAMES, WHO,
 * LIST) stays in its batch page after page, and the batch ends with it;
 * the client's input waits meanwhile, so one batch is open at a time.
 */
#include <event2/buffer.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "irc-parse.h"
#include "irc.h"
#include "log.h"

#define LABEL_MAX	64	/* bytes of a label: the specification's */

static struct {
	struct evbuffer	*answer;	/* what the command queued */
	struct conn	*c;		/* whose answer it is; NULL: none */
	char		 label[LABEL_MAX + 1];
} irc_label;

static uint32_t	irc_label_batches;	/* batch references made */

/* The label in raw tags, as the client escaped it; 0 if none or too long. */
static int
irc_label_find(const char *tags, char *label)
{
	const char	*end;
	size_t		 n;

	for (; tags != NULL; tags = end != NULL ? end + 1 : NULL) {
		end = strchr(tags, ';');
		n = end != NULL ? (size_t)(end - tags) : strlen(tags);
		if (n > 6 && strncmp(tags, "label=", 6) == 0) {
			if (n - 6 > LABEL_MAX)
				return 0;
			memcpy(label, tags + 6, n - 6);
			label[n - 6] = '\0';
			return 1;
		}
	}
	return 0;
}

/* Whether a line's tags hold a batch reference (a nested batch's line). */
static int
irc_line_batched(const char *line, size_t len)
{
	const char	*space;
	size_t		 i, n;

	if (len == 0 || line[0] != '@')
		return 0;
	space = memchr(line, ' ', len);
	n = space != NULL ? (size_t)(space - line) : len;
	for (i = 1; i + 6 <= n; i++)
		if ((i == 1 || line[i - 1] == ';') &&
		    strncmp(line + i, "batch=", 6) == 0)
			return 1;
	return 0;
}

/*
 * The diverted answer, each line with tag added to its own tags, or as it
 * was if it belongs to a batch of its own already (CHATHISTORY's); how
 * many lines there were.
 */
static size_t
irc_label_pass(struct conn *c, const char *tag)
{
	struct evbuffer	*answer = irc_label.answer;
	char		*line;
	size_t		 len, n = 0;

	while ((line = evbuffer_readln(answer, &len, EVBUFFER_EOL_CRLF)) !=
	    NULL) {
		if (irc_line_batched(line, len))
			conn_printf(c, "%s\r\n", line);
		else if (line[0] == '@')
			conn_printf(c, "@%s;%s\r\n", tag, line + 1);
		else
			conn_printf(c, "@%s %s\r\n", tag, line);
		free(line);
		n++;
	}
	return n;
}

/* Before a command: divert its answer if it carries a label. */
void
irc_label_begin(struct conn *c, const struct irc_message *m)
{
	const unsigned	both = IRC_CAP_LABELED_RESPONSE | IRC_CAP_BATCH;

	if (m->tags == NULL || (irc_caps(c) & both) != both ||
	    !irc_label_find(m->tags, irc_label.label))
		return;
	if (irc_label.answer == NULL &&
	    (irc_label.answer = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	irc_label.c = c;
	conn_divert(c, irc_label.answer);
}

/* How many lines the answer has: 0, 1, or 2 for several. */
static int
irc_answer_lines(void)
{
	struct evbuffer_ptr	eol;
	size_t			len = evbuffer_get_length(irc_label.answer);

	if (len == 0)
		return 0;
	eol = evbuffer_search(irc_label.answer, "\n", 1, NULL);
	return eol.pos != -1 && (size_t)eol.pos + 1 < len ? 2 : 1;
}

static void
irc_label_close(struct conn *c, struct irc_client *ic)
{
	conn_printf(c, ":%s BATCH -L%u\r\n", irc_server_name(),
	    (unsigned)ic->label_batch);
	ic->label_batch = 0;
}

/* After the command: its answer, labeled, or the start of its batch. */
void
irc_label_end(struct conn *c)
{
	struct irc_client	*ic = c->proto_state;
	char			 tag[LABEL_MAX + 8];
	int			 lines;

	if (irc_label.c != c)
		return;
	conn_undivert();
	irc_label.c = NULL;
	if (c->dead || ic == NULL) {
		evbuffer_drain(irc_label.answer,
		    evbuffer_get_length(irc_label.answer));
		return;
	}
	lines = conn_paging(c) ? 2 : irc_answer_lines();
	if (lines == 0) {
		conn_printf(c, "@label=%s :%s ACK\r\n", irc_label.label,
		    irc_server_name());
		return;
	}
	snprintf(tag, sizeof tag, "label=%s", irc_label.label);
	if (lines == 1) {
		irc_label_pass(c, tag);
		return;
	}
	if ((ic->label_batch = ++irc_label_batches) == 0)
		ic->label_batch = ++irc_label_batches;
	conn_printf(c, "@%s :%s BATCH +L%u labeled-response\r\n", tag,
	    irc_server_name(), (unsigned)ic->label_batch);
	snprintf(tag, sizeof tag, "batch=L%u", (unsigned)ic->label_batch);
	irc_label_pass(c, tag);
	if (!conn_paging(c))
		irc_label_close(c, ic);
}

/* Before a page of an answer: divert it if its batch is open. */
void
irc_label_page_begin(struct conn *c)
{
	const struct irc_client	*ic = c->proto_state;

	if (ic == NULL || ic->label_batch == 0)
		return;
	irc_label.c = c;
	conn_divert(c, irc_label.answer);
}

/* After it: the page in the batch, and the batch's end with the last. */
void
irc_label_page_end(struct conn *c, int more)
{
	struct irc_client	*ic = c->proto_state;
	char			 tag[32];

	if (irc_label.c != c)
		return;
	conn_undivert();
	irc_label.c = NULL;
	snprintf(tag, sizeof tag, "batch=L%u", (unsigned)ic->label_batch);
	irc_label_pass(c, tag);
	if (!more)
		irc_label_close(c, ic);
}
