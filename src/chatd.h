/* What the daemon's main module offers the control socket. */
#ifndef CHATD_CHATD_H
#define CHATD_CHATD_H

#include <stddef.h>

struct reload_change {
	const char	*key;
	int		 needs_restart;
};

/* What re-reading the config file did. */
struct reload_outcome {
	const char		*file;		/* NULL: there is no file */
	char			*error;		/* FILE:LINE: reason; NULL: ok */
	struct reload_change	*changes;
	size_t			 nchanges;
};

void	chatd_reload(struct reload_outcome *);
void	chatd_reload_free(struct reload_outcome *);
void	chatd_shutdown(size_t grace);

#endif
