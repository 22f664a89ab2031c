/*
 * chatctl: the operator's tool.  It parses a verb and its arguments against
 * the admin protocol's verb table (a unique prefix will do), sends one
 * request over chatd's control socket, and prints the answer lines as they
 * come, as text or as JSON.  Exit status: 0 success, 1 chatd refused or
 * failed the request, 2 bad usage, 3 chatd cannot be reached or did not
 * answer in time.
 *
 * The timeout bounds every wait on chatd (connecting, sending, each read
 * until the final line) with SO_SNDTIMEO and SO_RCVTIMEO, so an answer
 * that keeps coming is never cut; once tail or drain report that they
 * follow, reads wait as long as chatd keeps the connection.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "chatctl.h"
#include "version.h"

#define EXIT_USAGE		2
#define EXIT_UNREACHABLE	3
#define TIMEOUT_DEFAULT		30	/* seconds */
#define TIMEOUT_MAX		86400

static time_t	timeout = TIMEOUT_DEFAULT;	/* 0: wait forever */

static _Noreturn void
usage(int status)
{
	FILE			*f = status ? stderr : stdout;
	const struct cmd_spec	*v;

	fprintf(f, "usage: chatctl [-hj] [-s PATH] [-t SECONDS] VERB [ARG...]\n"
	    "  -j, --json             print JSON (one object per line)\n"
	    "  -s, --socket PATH      control socket (default %s)\n"
	    "  -t, --timeout SECONDS  give up when chatd is silent this long "
	    "(default %d; 0: never)\n"
	    "  -h, --help             print this help\n"
	    "Verbs (a unique prefix will do):\n", CHATD_CONTROL_PATH,
	    TIMEOUT_DEFAULT);
	for (v = ctl_verbs; v->name != NULL; v++)
		fprintf(f, "  %-46s %s\n", v->usage, v->help);
	fprintf(f, "See chatctl(1).\n");
	exit(status);
}

/* The words after the options, as one line for cmd_parse. */
static char *
join_args(int argc, char **argv)
{
	size_t	 len = 1;
	char	*line, *p;
	int	 i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if ((p = line = malloc(len)) == NULL)
		err(1, "malloc");
	for (i = 0; i < argc; i++)
		p += sprintf(p, "%s%s", i > 0 ? " " : "", argv[i]);
	return line;
}

static void
ambiguous(const char *word)
{
	const struct cmd_spec	*v;
	size_t			 len = strlen(word);
	const char		*sep = "";

	fprintf(stderr, "chatctl: \"%s\" is ambiguous: it could be ", word);
	for (v = ctl_verbs; v->name != NULL; v++) {
		if (strncasecmp(v->name, word, len) == 0) {
			fprintf(stderr, "%s%s", sep, v->name);
			sep = ", ";
		}
	}
	fprintf(stderr, "\n");
}

/*
 * Parse line, the verb (typed as word) and its arguments; -1, said why,
 * if they are not a request.
 */
static int
parse_verb(char *line, const char *word, struct cmd_args *args)
{
	const struct cmd_spec	*spec;

	switch (cmd_parse(ctl_verbs, line, 1, &spec, args)) {
	case CMD_OK:
		return (int)(spec - ctl_verbs);
	case CMD_AMBIGUOUS:
		ambiguous(word);
		break;
	case CMD_USAGE:
		warnx("usage: chatctl %s", spec->usage);
		break;
	case CMD_UNKNOWN:
		warnx("unknown verb \"%s\" (chatctl -h lists them)", word);
		break;
	}
	return -1;
}

/* Bound reads (SO_RCVTIMEO) or connect and writes (SO_SNDTIMEO). */
static void
set_timeout(int fd, int option, time_t seconds)
{
	struct timeval	tv = { seconds, 0 };

	if (setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv) == -1)
		err(EXIT_UNREACHABLE, "setsockopt");
}

static _Noreturn void
timed_out(const char *what)
{
	errx(EXIT_UNREACHABLE, "chatd did not %s within %lld s (-t)", what,
	    (long long)timeout);
}

static int
connect_control(const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	if (strlen(path) >= sizeof sun.sun_path)
		errx(EXIT_USAGE, "%s: socket path too long", path);
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(EXIT_UNREACHABLE, "socket");
	/* A full backlog makes a Unix connect wait, up to SO_SNDTIMEO. */
	set_timeout(fd, SO_SNDTIMEO, timeout);
	set_timeout(fd, SO_RCVTIMEO, timeout);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
		return fd;
	if (errno == EAGAIN)
		timed_out("accept the connection");
	if (errno == ENOENT || errno == ECONNREFUSED)
		errx(EXIT_UNREACHABLE, "chatd is not running: nothing answers "
		    "on %s", path);
	if (errno == EACCES || errno == EPERM)
		errx(1, "permission denied: %s (use root, chatd's user or a "
		    "member of its control-group)", path);
	err(EXIT_UNREACHABLE, "%s", path);
}

/* Send the whole request; a refusal may already be on its way back. */
static void
send_request(int fd, const char *request)
{
	size_t	left = strlen(request);
	ssize_t	n;

	while (left > 0) {
		n = send(fd, request, left, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			timed_out("take the request");
		if (n == -1)
			return;		/* read what chatd said, if anything */
		request += n;
		left -= (size_t)n;
	}
}

/* Print the answer lines; return the exit status. */
static int
read_answer(int fd, enum ctl_verb verb, const struct chatctl_output *out)
{
	FILE	*f = fdopen(fd, "r");
	char	*text = NULL;
	size_t	 cap = 0;
	json_t	*line, *payload;
	int	 status = -1;

	if (f == NULL)
		err(1, "fdopen");
	while (status == -1 && getline(&text, &cap, f) != -1) {
		switch (ctl_line_parse(text, &line, &payload)) {
		case CTL_LINE_EVENT:
			out->event(payload);
			break;
		case CTL_LINE_PROGRESS:
			/* It follows now: silence is normal from here on. */
			set_timeout(fd, SO_RCVTIMEO, 0);
			out->progress(verb, payload);
			break;
		case CTL_LINE_OK:
			out->result(verb, payload);
			status = 0;
			break;
		case CTL_LINE_ERROR:
			warnx("%s: %s", ctl_verbs[verb].name, json_string_value(
			    json_object_get(payload, "message")));
			status = 1;
			break;
		case CTL_LINE_INVALID:
			warnx("chatd answered something that is not an admin "
			    "protocol line");
			status = 1;
			break;
		}
		json_decref(line);
	}
	if (status == -1 && ferror(f) && errno == EAGAIN)
		timed_out("answer");
	if (status == -1) {
		warnx("chatd closed the connection without an answer");
		status = 1;
	}
	free(text);
	fclose(f);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct chatctl_output	*out = &chatctl_text;
	const char			*path = CHATD_CONTROL_PATH;
	struct cmd_args			 args;
	enum ctl_verb			 verb;
	char				*line, *request;
	int				 ch, fd, parsed;

	/* "+": options end at the verb, so text may start with '-'. */
	while ((ch = getopt_long(argc, argv, "+hjs:t:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'j':
			out = &chatctl_json;
			break;
		case 's':
			path = optarg;
			break;
		case 't':
			if (ctl_duration_parse(optarg, &timeout) == -1 ||
			    timeout > TIMEOUT_MAX)
				errx(EXIT_USAGE, "-t %s: not a number of "
				    "seconds from 0 to %d (e.g. 30, 90s, 5m)",
				    optarg, TIMEOUT_MAX);
			break;
		case 'h':
			usage(0);
		default:
			usage(EXIT_USAGE);
		}
	}
	if (optind == argc)
		usage(EXIT_USAGE);
	line = join_args(argc - optind, argv + optind);
	if ((parsed = parse_verb(line, argv[optind], &args)) == -1) {
		free(line);
		return EXIT_USAGE;
	}
	verb = (enum ctl_verb)parsed;
	request = ctl_request_encode(verb, &args);
	free(line);
	if (request == NULL)
		errx(EXIT_USAGE, "arguments must be valid UTF-8");
	setvbuf(stdout, NULL, _IOLBF, 0);	/* streams show as they come */
	fd = connect_control(path);
	send_request(fd, request);
	free(request);
	return read_answer(fd, verb, out);
}
