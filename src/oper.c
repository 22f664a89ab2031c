/*
 * IRC operators.  Each "oper = NAME HASH" line of the config names one;
 * HASH is libsodium's crypto_pwhash_str (Argon2id) of the password, made
 * by chatd --hash-password, so no password is ever in the file.
 *
 * Checking a password is meant to be slow (tens of milliseconds and tens
 * of MiB, which the hash itself states), and it runs on the event loop:
 * so that OPER cannot become a way to stall the server, the whole server
 * checks at most OPER_CHECKS_PER_SECOND passwords; an attempt over that is
 * refused without a check and may be made again a moment later.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "name.h"
#include "oper.h"

#define OPER_CHECKS_PER_SECOND	2
#define OPER_PASSWORD_MAX	256	/* bytes read by --hash-password */

static const struct config	*oper_config;
static struct timespec		 oper_window;	/* the current second */
static unsigned			 oper_checks;	/* made in it */

void
oper_configure(const struct config *config)
{
	oper_config = config;
}

/* "NAME HASH": a nick-like name and an Argon2 hash of libsodium's form. */
int
oper_line_valid(const char *line)
{
	const char	*space = strchr(line, ' ');
	char		 name[NAME_NICK_MAX + 1];
	size_t		 n;

	if (space == NULL || (n = (size_t)(space - line)) > NAME_NICK_MAX)
		return 0;
	memcpy(name, line, n);
	name[n] = '\0';
	return name_nick_valid(name) && strlen(space + 1) <
	    crypto_pwhash_STRBYTES && (strncmp(space + 1, "$argon2id$", 10) ==
	    0 || strncmp(space + 1, "$argon2i$", 9) == 0) &&
	    strchr(space + 1, ' ') == NULL;
}

/* Whether another check fits in this second's allowance. */
static int
oper_may_check(void)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != oper_window.tv_sec) {
		oper_window = now;
		oper_checks = 0;
	}
	return oper_checks++ < OPER_CHECKS_PER_SECOND;
}

enum oper_result
oper_check(const char *name, const char *password)
{
	const char	*line;
	size_t		 i, n = strlen(name);
	int		 ok = 0;

	if (!oper_may_check())
		return OPER_BUSY;
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	for (i = 0; i < oper_config->nopers; i++) {
		line = oper_config->opers[i];
		if (strncmp(line, name, n) == 0 && line[n] == ' ')
			break;
	}
	if (oper_config->nopers == 0)
		return OPER_DENIED;
	/* An unknown name costs a check too: timing tells no names. */
	line = oper_config->opers[i < oper_config->nopers ? i : 0];
	ok = crypto_pwhash_str_verify(strchr(line, ' ') + 1, password,
	    strlen(password)) == 0;
	return ok && i < oper_config->nopers ? OPER_OK : OPER_DENIED;
}

/* chatd --hash-password: one line of in, its hash on out; 0 if done. */
int
oper_hash_password(FILE *in, FILE *out)
{
	char	password[OPER_PASSWORD_MAX + 2], hash[crypto_pwhash_STRBYTES];
	size_t	n;

	if (sodium_init() < 0 || fgets(password, sizeof password, in) == NULL)
		return -1;
	n = strcspn(password, "\r\n");
	if (n == 0 || n > OPER_PASSWORD_MAX) {
		sodium_memzero(password, sizeof password);
		return -1;
	}
	password[n] = '\0';
	if (crypto_pwhash_str(hash, password, n,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		sodium_memzero(password, sizeof password);
		return -1;
	}
	sodium_memzero(password, sizeof password);
	fprintf(out, "%s\n", hash);
	return 0;
}
