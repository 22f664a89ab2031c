/*
 * chatd never needs root after binding: started as root (by hand, not under
 * systemd, which runs it as a dynamic user), it switches to "user" (nobody
 * unless the config names another), that user's group and the supplementary
 * groups /etc/group gives it, for good (real, effective and saved ids), and
 * checks that root cannot be regained.  Only a config that names root
 * itself keeps root.  What chatd still opens after the switch (the config
 * file and the TLS files on reload, the control socket's directory at exit)
 * is checked at once, so that a reload that cannot work is announced at the
 * start, not discovered later.
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "privilege.h"
#include "tls.h"
#include "xmalloc.h"

static struct passwd *
privilege_lookup(const char *user, char **cause)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		xasprintf(cause, "user %s: %s (started as root, chatd runs as "
		    "\"user\", nobody by default: name an existing user, or "
		    "root to keep root)", user, errno != 0 ? strerror(errno) :
		    "no such user");
	return pw;
}

int
privilege_check(const struct config *c, char **cause)
{
	if (geteuid() != 0)
		return 0;
	return privilege_lookup(c->user, cause) == NULL ? -1 : 0;
}

/* Warn if the user chatd now runs as cannot read path (for a reload). */
static void
privilege_check_readable(const char *what, const char *path,
    const char *user)
{
	if (path != NULL && access(path, R_OK) == -1)
		log_warnx("%s %s: %s for user %s: a reload will fail until "
		    "it can read it", what, path, strerror(errno), user);
}

/* Say so if chatd cannot remove its control socket at exit. */
static void
privilege_check_removable(const char *path, const char *user)
{
	char	*copy;

	if (path == NULL)
		return;
	copy = xstrdup(path);
	if (access(dirname(copy), W_OK | X_OK) == -1)
		log_notice("control socket %s: user %s cannot remove it at "
		    "exit (%s); the next start replaces it", path, user,
		    strerror(errno));
	free(copy);
}

int
privilege_drop(const struct config *c, const char *config_path,
    char **cause)
{
	struct passwd	*pw;
	uid_t		 uid;
	gid_t		 gid;

	if (geteuid() != 0)
		return 0;
	if ((pw = privilege_lookup(c->user, cause)) == NULL)
		return -1;
	if (pw->pw_uid == 0) {
		log_warnx("running as root, as the config asks (user = %s)",
		    c->user);
		return 0;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (initgroups(c->user, gid) == -1 ||
	    setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		xasprintf(cause, "dropping to user %s: %s", c->user,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) != -1)
		fatalx("dropped to user %s but could regain root", c->user);
	log_notice("running as user %s (uid %lu, gid %lu)", c->user,
	    (unsigned long)uid, (unsigned long)gid);
	privilege_check_readable("config file", config_path, c->user);
	if (tls_configured(c)) {
		privilege_check_readable("tls-cert", c->tls_cert, c->user);
		privilege_check_readable("tls-key", c->tls_key, c->user);
	}
	privilege_check_removable(c->control_path, c->user);
	privilege_check_removable(c->control_readonly, c->user);
	return 0;
}
