/* IRC operators: the oper lines of the config, and checking a password. */
#ifndef CHATD_OPER_H
#define CHATD_OPER_H

#include <stdio.h>

struct config;

enum oper_result {
	OPER_OK,
	OPER_DENIED,	/* no such name, or not its password */
	OPER_BUSY,	/* the server checks no more now: try again */
};

void		 oper_configure(const struct config *);
int		 oper_line_valid(const char *line);
enum oper_result oper_check(const char *name, const char *password);
int		 oper_hash_password(FILE *in, FILE *out);

#endif
