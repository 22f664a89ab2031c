/*
 * chatd never needs root after binding: started as root (by hand, not under
 * systemd, which runs it as a dynamic user), it switches to the configured
 * user, its group and no supplementary groups, for good (real, effective
 * and saved ids), and checks that root cannot be regained.
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privilege.h"
#include "xmalloc.h"

int
privilege_drop(const char *user, char **cause)
{
	struct passwd	*pw;

	if (geteuid() != 0)
		return 0;
	if (user == NULL) {
		log_warnx("running as root: set \"user\" in the config so that "
		    "chatd gives root up after opening its sockets");
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		xasprintf(cause, "user %s: %s", user, errno != 0 ?
		    strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		xasprintf(cause, "user %s: is root", user);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		xasprintf(cause, "dropping to user %s: %s", user,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) != -1)
		fatalx("dropped to user %s but could regain root", user);
	log_info("running as user %s (uid %lu, gid %lu)", user,
	    (unsigned long)pw->pw_uid, (unsigned long)pw->pw_gid);
	return 0;
}
