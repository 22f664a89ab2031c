/* Giving up root once every socket is open. */
#ifndef CHATD_PRIVILEGE_H
#define CHATD_PRIVILEGE_H

struct config;

int	privilege_check(const struct config *, char **cause);
int	privilege_drop(const struct config *, const char *config_path,
	    char **cause);

#endif
