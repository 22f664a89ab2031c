/*
 * libFuzzer harness: the admin protocol (ctl-proto.c) that chatd decodes
 * from anyone allowed on its control socket, and that chatctl decodes from
 * chatd.
 *
 * Input, when the first byte is even: one request line, framed as control.c
 * frames it (frame_next, at most CTL_REQUEST_MAX bytes).  When it is odd:
 * a well-formed request built from the bytes (version, verb, NUL-separated
 * args), so the argument checks are reached without guessing JSON; the
 * decoded words and text must then be exactly the args sent, the text
 * being the args after the words joined by spaces.
 *
 * Either way the line goes through ctl_request_decode; a
 * request that is accepted must fit its verb's table entry, and encoding it
 * again with ctl_request_encode (what chatctl sends) and decoding that must
 * give the same request back.  A refusal must carry a known code.  The same
 * bytes are also read as a response line (ctl_line_parse), as a duration
 * (ctl_duration_parse), and used as an error message, whose rendering must
 * stay one line.
 */
#include <event2/buffer.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-proto.h"
#include "frame.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	line[FRAME_BUFFER_MAX(CTL_REQUEST_MAX)];

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_admin: invariant broken: %s\n", what);
	abort();
}

static int
code_known(const char *code)
{
	static const char *const codes[] = {
		CTL_E_BAD_REQUEST, CTL_E_BAD_VERSION, CTL_E_TOO_LONG,
		CTL_E_TIMEOUT, CTL_E_BUSY, CTL_E_DENIED, CTL_E_READ_ONLY,
		CTL_E_UNKNOWN, CTL_E_USAGE, CTL_E_NO_SUCH_NICK,
		CTL_E_NO_SUCH_ROOM, CTL_E_NO_SUCH_BAN, CTL_E_INVALID,
		CTL_E_RELOAD, CTL_E_SHUTDOWN,
	};
	size_t	i;

	for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		if (code != NULL && strcmp(code, codes[i]) == 0)
			return 1;
	}
	return 0;
}

/* A decoded request must be one its verb's table entry allows. */
static void
check_request(const struct ctl_request *req)
{
	const struct cmd_spec	*spec;
	size_t			 i;

	if ((unsigned)req->verb >= CTL_NVERBS)
		fail("verb out of range");
	spec = &ctl_verbs[req->verb];
	if (req->args.nwords < spec->min_words ||
	    req->args.nwords > spec->max_words ||
	    req->args.nwords > CMD_WORDS_MAX)
		fail("word count outside the verb's range");
	if (req->args.rest == NULL)
		fail("rest is NULL");
	if (spec->rest == CMD_REST_NONE && *req->args.rest != '\0')
		fail("text after the words of a verb that takes none");
	if (spec->rest == CMD_REST_REQUIRED && *req->args.rest == '\0')
		fail("no text for a verb that needs it");
	for (i = 0; i < req->args.nwords; i++) {
		if (req->args.word[i] == NULL)
			fail("NULL word");
	}
}

static void
check_roundtrip(const struct ctl_request *req)
{
	struct ctl_request	 again;
	struct ctl_error	 e;
	char			*encoded;
	size_t			 i;

	if ((encoded = ctl_request_encode(req->verb, &req->args)) == NULL)
		return;		/* jansson refuses: not UTF-8 */
	if (strchr(encoded, '\n') != encoded + strlen(encoded) - 1)
		fail("an encoded request is not one line");
	if (ctl_request_decode(encoded, strlen(encoded) - 1, &again, &e) == -1)
		fail("chatd refuses what chatctl encodes from a valid request");
	if (again.verb != req->verb || again.args.nwords != req->args.nwords ||
	    strcmp(again.args.rest, req->args.rest) != 0)
		fail("request changed on a round trip");
	for (i = 0; i < req->args.nwords; i++) {
		if (strcmp(again.args.word[i], req->args.word[i]) != 0)
			fail("a word changed on a round trip");
	}
	ctl_request_free(&again);
	free(encoded);
}

static void
check_decode(const char *text, size_t len)
{
	struct ctl_request	req;
	struct ctl_error	e;

	memset(&e, 0, sizeof e);
	if (ctl_request_decode(text, len, &req, &e) == -1) {
		if (!code_known(e.code))
			fail("refusal with an unknown code");
		if (memchr(e.message, '\0', sizeof e.message) == NULL)
			fail("unterminated refusal message");
		if (req.buf != NULL)
			fail("refused request keeps its buffer");
		return;
	}
	check_request(&req);
	check_roundtrip(&req);
	ctl_request_free(&req);
}

/* The other readers of untrusted lines. */
static void
check_others(const char *text)
{
	json_t	*j, *payload;
	char	*s;
	time_t	 t;

	if (ctl_line_parse(text, &j, &payload) != CTL_LINE_INVALID &&
	    payload == NULL && json_object_get(j, "ok") == NULL)
		fail("a response line classified without a payload");
	json_decref(j);
	if (ctl_duration_parse(text, &t) == 0 && t < 0)
		fail("negative duration");
	/* A reason made of client or admin text stays one line. */
	if ((s = ctl_line(ctl_error(CTL_E_INVALID, text))) == NULL)
		fail("an error line could not be rendered");
	if (strchr(s, '\n') != s + strlen(s) - 1)
		fail("an error line spans several lines");
	free(s);
}

/* Words, then the rest joined with spaces: what decode must make of list. */
static void
check_args(const struct ctl_request *req, json_t *list)
{
	const struct cmd_spec	*spec = &ctl_verbs[req->verb];
	size_t			 i, n = json_array_size(list), off = 0, len;
	const char		*s;

	for (i = 0; i < n; i++) {
		s = json_string_value(json_array_get(list, i));
		len = json_string_length(json_array_get(list, i));
		if (i < spec->max_words) {
			if (strlen(req->args.word[i]) != len ||
			    memcmp(req->args.word[i], s, len) != 0)
				fail("a word is not the arg sent");
			continue;
		}
		if (i > spec->max_words && req->args.rest[off++] != ' ')
			fail("text args not joined by a space");
		if (strncmp(req->args.rest + off, s, len) != 0)
			fail("text is not the args sent");
		off += len;
	}
	if (req->args.rest[off] != '\0')
		fail("text longer than the args sent");
}

/* A request built from the bytes: version, verb, NUL-separated args. */
static void
structured(const uint8_t *data, size_t size)
{
	json_t			*req, *list = json_array();
	const char		*p = (const char *)data + 2, *end, *nul;
	char			*text, name[16];
	struct ctl_request	 decoded;
	struct ctl_error	 e;
	size_t			 verb;

	verb = data[1] % (CTL_NVERBS + 1);
	if (verb < CTL_NVERBS)
		snprintf(name, sizeof name, "%s", ctl_verbs[verb].name);
	else
		snprintf(name, sizeof name, "%.*s", (int)(size > 10 ? 8 : 0),
		    (const char *)data + 2);
	end = (const char *)data + size;
	while (p < end && json_array_size(list) < CTL_ARGS_MAX + 2) {
		nul = memchr(p, '\0', (size_t)(end - p));
		if (nul == NULL)
			nul = end;
		/* Not UTF-8: a number in its place, which must be refused. */
		if (json_array_append_new(list, json_stringn(p,
		    (size_t)(nul - p))) == -1)
			json_array_append_new(list, json_integer(nul - p));
		p = nul + 1;
	}
	req = json_pack("{s:i, s:s, s:O}", "version", data[0] % 5 == 1 ?
	    CTL_PROTO_VERSION : data[0] % 5, "command", name, "args", list);
	if (req == NULL)	/* name not UTF-8 */
		goto out;
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL)
		goto out;
	check_decode(text, strlen(text));
	if (ctl_request_decode(text, strlen(text), &decoded, &e) == 0) {
		check_args(&decoded, list);
		ctl_request_free(&decoded);
	}
	free(text);
out:
	json_decref(list);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer		*in;
	struct framer		 f;
	enum frame_result	 r;
	size_t			 len;

	if (size >= 2 && (data[0] & 1)) {
		structured(data, size);
		return 0;
	}
	in = evbuffer_new();
	memset(&f, 0, sizeof f);
	evbuffer_add(in, data, size);
	/* control.c reads one request line per connection. */
	r = frame_next(&f, in, CTL_REQUEST_MAX, line, &len);
	if (r == FRAME_NEED_MORE) {	/* what a client half-closing sends */
		len = size < CTL_REQUEST_MAX ? size : CTL_REQUEST_MAX;
		memcpy(line, data, len);
		r = FRAME_LINE;
	}
	if (r == FRAME_LINE) {
		check_decode(line, len);
		line[len] = '\0';
		check_others(line);
	}
	evbuffer_free(in);
	return 0;
}
