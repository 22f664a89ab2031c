/*
 * The admin protocol spoken on the control socket, shared by chatd and
 * chatctl: its version, limits, verbs and line formats (chatctl(1)).
 */
#ifndef CHATD_CTL_PROTO_H
#define CHATD_CTL_PROTO_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "cmdline.h"

#define CTL_PROTO_VERSION	1
#define CTL_REQUEST_MAX		(64 * 1024)	/* bytes in a request line */
#define CTL_ARGS_MAX		64		/* strings in "args" */

/* cmd_spec flag: allowed on the read-only socket. */
#define CTL_READONLY		0x1

/* The verbs, in the order of ctl_verbs[]. */
enum ctl_verb {
	CTL_STATUS,
	CTL_STATS,
	CTL_CLIENTS,
	CTL_ROOMS,
	CTL_KICK,
	CTL_BAN,
	CTL_MUTE,
	CTL_UNMUTE,
	CTL_MUTES,
	CTL_SAY,
	CTL_ANNOUNCE,
	CTL_MSG,
	CTL_TOPIC,
	CTL_CLOSE,
	CTL_TAIL,
	CTL_RELOAD,
	CTL_DRAIN,
	CTL_SHUTDOWN,
	CTL_LOG_LEVEL,
	CTL_DB,
	CTL_HISTORY,
	CTL_BACKUP,
	CTL_PURGE,
	CTL_VERSION,
	CTL_NVERBS
};

/* Names, argument counts and help of every verb; the run field is unused. */
extern const struct cmd_spec ctl_verbs[CTL_NVERBS + 1];

/* Stable error codes of the final line. */
#define CTL_E_BAD_REQUEST	"bad-request"
#define CTL_E_BAD_VERSION	"bad-version"
#define CTL_E_TOO_LONG		"request-too-long"
#define CTL_E_TIMEOUT		"timeout"
#define CTL_E_BUSY		"busy"
#define CTL_E_DENIED		"permission-denied"
#define CTL_E_READ_ONLY		"read-only"
#define CTL_E_UNKNOWN		"unknown-command"
#define CTL_E_USAGE		"bad-usage"
#define CTL_E_NO_SUCH_NICK	"no-such-nick"
#define CTL_E_NO_SUCH_ROOM	"no-such-room"
#define CTL_E_NO_SUCH_BAN	"no-such-ban"
#define CTL_E_INVALID		"invalid-argument"
#define CTL_E_RELOAD		"reload-failed"
#define CTL_E_SHUTDOWN		"shutting-down"
#define CTL_E_RATE_LIMITED	"rate-limited"

/* What one response line is. */
enum ctl_line {
	CTL_LINE_EVENT,		/* {"event": {...}}: a tail event */
	CTL_LINE_PROGRESS,	/* {"progress": {...}}: drain or tail status */
	CTL_LINE_OK,		/* {"ok": true, "result": {...}}: the last */
	CTL_LINE_ERROR,		/* {"ok": false, "code": C, "message": M} */
	CTL_LINE_INVALID,	/* not a response line */
};

/* A decoded request; args point into buf. */
struct ctl_request {
	enum ctl_verb		 verb;
	struct cmd_args		 args;
	char			*buf;
};

/* Why a request was refused: a code above and a sentence. */
struct ctl_error {
	const char	*code;
	char		 message[256];
};

char		*ctl_request_encode(enum ctl_verb, const struct cmd_args *);
int		 ctl_request_decode(const char *, size_t, struct ctl_request *,
		    struct ctl_error *);
void		 ctl_request_free(struct ctl_request *);
char		*ctl_line(json_t *);
json_t		*ctl_ok(json_t *result);
json_t		*ctl_error(const char *code, const char *message);
enum ctl_line	 ctl_line_parse(const char *, json_t **line, json_t **payload);
int		 ctl_duration_parse(const char *, time_t *);

#endif
