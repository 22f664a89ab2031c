/*
 * libFuzzer harness: the config file parser (config.c over inih), which
 * reads whatever an operator, a package or a careless edit puts there.
 *
 * Input: the file's bytes, written to a memory file and loaded with
 * config_load through its /proc/self/fd path, with and without command line
 * overrides.  A rejected file must come with a cause naming the file; an
 * accepted one must satisfy config_check's rules and every key's range, and
 * diffing it against the defaults and freeing it must work.  Leaks are
 * LeakSanitizer's to find.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "room.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int		 fd = -1;
static char		 path[64];
static struct config	*defaults;

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_config: invariant broken: %s\n", what);
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	*cause = NULL;

	log_init("fuzz_config");
	log_set_level(LOG_LEVEL_ERROR);
	if ((fd = memfd_create("chatd.conf", 0)) == -1)
		abort();
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if ((defaults = config_load(NULL, NULL, &cause)) == NULL)
		abort();
	return 0;
}

static void
count_change(const char *key, int needs_restart, void *arg)
{
	if (key == NULL || *key == '\0')
		fail("a diff names no key");
	++*(size_t *)arg;
}

static void
check_config(const struct config *c)
{
	size_t	i, n = 0;

	if (c->sendq_soft > c->sendq_hard)
		fail("sendq-soft above sendq-hard accepted");
	if (c->max_line < 64 || c->max_line > 64 * 1024)
		fail("max-line out of range accepted");
	if (c->flood_rate < 1 || c->flood_burst < 1 || c->max_clients < 1)
		fail("a zero rate, burst or client limit accepted");
	if (c->nlisten == 0 || c->listen == NULL)
		fail("no listen address");
	for (i = 0; i < c->nlisten; i++) {
		if (c->listen[i] == NULL)
			fail("NULL listen address");
	}
	for (i = 0; i < c->nmotd; i++) {
		if (c->motd[i] == NULL)
			fail("NULL motd line");
	}
	/* NULL is "default-room = none": clients start in no room. */
	if (c->default_room != NULL && !name_room_valid(c->default_room))
		fail("invalid default room accepted");
	if (c->control_mode > 0777)
		fail("control-mode out of range accepted");
	if (config_diff(defaults, c, count_change, &n) != n)
		fail("config_diff miscounts");
}

static void
load(const struct config_overrides *o)
{
	struct config	*c;
	char		*cause = NULL;

	if ((c = config_load(path, o, &cause)) == NULL) {
		if (cause == NULL || strncmp(cause, path, strlen(path)) != 0)
			fail("a rejected file without a cause naming it");
		free(cause);
		return;
	}
	if (cause != NULL)
		fail("an accepted file with a cause");
	check_config(c);
	config_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char			*listen[] = { "127.0.0.1:0" };
	static const struct config_overrides o = {
		.listen = listen,
		.nlisten = 1,
		.control_path = "/tmp/fuzz.sock",
		.log_level = "debug",
	};

	if (ftruncate(fd, 0) == -1 || pwrite(fd, data, size, 0) !=
	    (ssize_t)size)
		abort();
	load(NULL);
	load(&o);
	return 0;
}
