/* max-clients against the open file limit (RLIMIT_NOFILE). */
#ifndef CHATD_FDLIMIT_H
#define CHATD_FDLIMIT_H

#include <stddef.h>

struct config;

void	fdlimit_init(size_t control_clients);
int	fdlimit_fit(struct config *, char **cause);

#endif
