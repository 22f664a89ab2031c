/* Giving up root once every socket is open. */
#ifndef CHATD_PRIVILEGE_H
#define CHATD_PRIVILEGE_H

int	privilege_drop(const char *user, char **cause);

#endif
