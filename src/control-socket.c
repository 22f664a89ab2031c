/*
 * The control sockets: the admin one and the read-only one, made (or taken
 * from systemd), served, paused when descriptors run out, and removed;
 * and who may use the admin one.
 *
 * A socket's file: its directory may be writable by another
 * user (a sticky /tmp, a directory chatd's user owns), who can swap any
 * name in it at any moment, so after one look chatd never acts on the path
 * again: it holds the directory open and works relative to it, binds in a
 * private directory it makes there (mode 0700: nobody else can put or swap
 * anything inside), takes the mode from the umask at bind (no chmod), sets
 * the owner with fchownat(AT_SYMLINK_NOFOLLOW), and renames the finished
 * socket into place.  At exit it removes the name only if it still is that
 * socket.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "control-cmd.h"
#include "log.h"
#include "tick.h"
#include "xmalloc.h"

#define SOCKET_BACKLOG		128
#define SOCKET_PRIVATE_TRIES	100	/* random names before giving up */
#define SOCKET_PAUSE_MS		100	/* accept paused (EMFILE, refusals) */
#define SOCKET_REFUSALS		32	/* in a window, then a pause */
#define SOCKET_WINDOW_MS	100
#define SOCKET_PEER_GROUPS	256

static struct control_socket	 socket_all[2];	/* admin, read-only */
static size_t			 socket_count;
static struct event_base	*socket_base;
static struct backoff		 socket_backoff;
static gid_t			 socket_gid = (gid_t)-1;	/* control-group */
static int			 socket_has_group;
static uid_t			 socket_owner = (uid_t)-1;	/* "user" */
static uid_t			 socket_shared_uid = (uid_t)-1;	/* nobody */

static int	socket_at(int, const char *, int, int);
static void	socket_forget(struct control_file *);
static int	socket_clear(int, const char *, const char *, char **);
static int	socket_private(int, char *, size_t);
static int	socket_make(struct control_file *, mode_t, uid_t, gid_t,
		    const char **);
static void	socket_resume(void);

void
control_socket_init(struct event_base *base)
{
	socket_base = base;
	backoff_init(&socket_backoff, base, socket_resume);
}

/*
 * Bind (or connect) fd to name in the directory dirfd.  Neither call has
 * an *at form, so the name is made relative to dirfd by making dirfd the
 * working directory for the call: no other path is resolved.
 */
static int
socket_at(int dirfd, const char *name, int fd, int bind_it)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			cwd, rc, error;

	if (strlen(name) >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, name);
	if ((cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (fchdir(dirfd) == -1) {
		error = errno;
		close(cwd);
		errno = error;
		return -1;
	}
	if (bind_it)
		rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	else
		rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	error = errno;
	if (fchdir(cwd) == -1)
		fatal("control: cannot return to the working directory");
	close(cwd);
	errno = error;
	return rc;
}

/*
 * Make way for a socket called name in dirfd: an error if a daemon answers
 * there or something other than a socket (a symlink included) is in the
 * way.  A stale socket stays until the rename replaces it.
 */
static int
socket_clear(int dirfd, const char *name, const char *path, char **cause)
{
	struct stat	st, again;
	int		fd, rc, error;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		xasprintf(cause, "control socket %s: exists and is not a "
		    "socket", path);
		return -1;
	}
	/* Non-blocking: a live daemon with a full backlog says EAGAIN. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	rc = socket_at(dirfd, name, fd, 0);
	error = rc == 0 ? 0 : errno;
	close(fd);
	if (rc == 0 || error == EAGAIN) {
		xasprintf(cause, "control socket %s: another chatd is "
		    "answering on it", path);
		return -1;
	}
	/*
	 * connect() follows a symlink swapped in after the look above; the
	 * answer only counts if the name is still the socket looked at.
	 */
	if (error != ECONNREFUSED ||
	    fstatat(dirfd, name, &again, AT_SYMLINK_NOFOLLOW) == -1 ||
	    again.st_dev != st.st_dev || again.st_ino != st.st_ino) {
		xasprintf(cause, "control socket %s: cannot tell whether "
		    "another chatd answers on it: %s", path, error !=
		    ECONNREFUSED ? strerror(error) : "it changed meanwhile");
		return -1;
	}
	log_info("control: replacing the stale socket %s", path);
	return 0;
}

/* A new directory in dirfd that only we can enter; its name into name. */
static int
socket_private(int dirfd, char *name, size_t len)
{
	static const char	 letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	struct stat		 st;
	size_t			 i, tries;
	int			 fd, error;

	for (tries = 0; tries < SOCKET_PRIVATE_TRIES; tries++) {
		i = (size_t)snprintf(name, len, ".chatd-");
		for (; i + 1 < len; i++)
			name[i] = letters[arc4random_uniform(sizeof letters -
			    1)];
		name[i] = '\0';
		if (mkdirat(dirfd, name, 0700) == 0)
			break;
		if (errno != EEXIST)
			return -1;
	}
	if (tries == SOCKET_PRIVATE_TRIES) {
		errno = EEXIST;
		return -1;
	}
	/* What the name holds by now must be ours and private. */
	fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd != -1 && fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
	    (st.st_mode & 077) == 0)
		return fd;
	error = fd == -1 ? errno : EPERM;
	if (fd != -1)
		close(fd);
	unlinkat(dirfd, name, AT_REMOVEDIR);	/* never follows */
	errno = error;
	return -1;
}

/*
 * Make the socket in a private directory next to f's name, then rename it
 * to that name.  On error *step says what failed, and nothing is left.
 */
static int
socket_make(struct control_file *f, mode_t mode, uid_t owner, gid_t group,
    const char **step)
{
	struct stat	st;
	char		priv[16];
	mode_t		old = umask(077);
	int		fd = -1, privfd, bound = 0, error;

	*step = "cannot make a private directory next to it";
	if ((privfd = socket_private(f->dirfd, priv, sizeof priv)) == -1)
		goto fail_umask;
	*step = "socket";
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		goto fail;
	*step = "bind";
	umask(~mode & 0777);	/* a socket is made 0777 less the umask */
	bound = socket_at(privfd, f->name, fd, 1) == 0;
	umask(077);
	if (!bound)
		goto fail;
	*step = "listen";
	if (listen(fd, SOCKET_BACKLOG) == -1)
		goto fail;
	*step = "cannot give it to its owner";
	if ((owner != (uid_t)-1 || group != (gid_t)-1) &&
	    fchownat(privfd, f->name, owner, group, AT_SYMLINK_NOFOLLOW) == -1)
		goto fail;
	*step = "cannot put it in place";
	if (fstatat(privfd, f->name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    renameat(privfd, f->name, f->dirfd, f->name) == -1)
		goto fail;
	umask(old);
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	close(privfd);
	if (unlinkat(f->dirfd, priv, AT_REMOVEDIR) == -1)
		log_warn("control: cannot remove the directory %s next to %s",
		    priv, f->name);
	return fd;

fail:
	error = errno;
	if (bound)
		unlinkat(privfd, f->name, 0);
	close(privfd);
	unlinkat(f->dirfd, priv, AT_REMOVEDIR);	/* never follows */
	if (fd != -1)
		close(fd);
	errno = error;
fail_umask:
	umask(old);
	return -1;
}

/*
 * Create, listen on and publish the socket at path with the given mode,
 * owner and group ((uid_t)-1, (gid_t)-1: leave as made).  Returns the
 * listening descriptor, and in f what removing it at exit needs.
 */
static int
socket_bind(struct control_file *f, const char *path, mode_t mode,
    uid_t owner, gid_t group, char **cause)
{
	struct sockaddr_un	 sun;
	const char		*slash = strrchr(path, '/'), *step = NULL;
	char			*dir;
	int			 fd;

	*cause = NULL;
	if (strlen(path) >= sizeof sun.sun_path) {
		xasprintf(cause, "control socket %s: path too long (at most "
		    "%zu bytes)", path, sizeof sun.sun_path - 1);
		return -1;
	}
	f->name = xstrdup(slash != NULL ? slash + 1 : path);
	if (*f->name == '\0' || strcmp(f->name, ".") == 0 ||
	    strcmp(f->name, "..") == 0) {
		xasprintf(cause, "control socket %s: not a file name", path);
		f->dirfd = -1;
		goto fail;
	}
	dir = slash == NULL ? xstrdup(".") : slash == path ? xstrdup("/") :
	    xstrndup(path, (size_t)(slash - path));
	f->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (f->dirfd != -1 &&
	    socket_clear(f->dirfd, f->name, path, cause) == 0 &&
	    (fd = socket_make(f, mode, owner, group, &step)) != -1)
		return fd;
	if (*cause == NULL && step != NULL)
		xasprintf(cause, "control socket %s: %s: %s", path, step,
		    strerror(errno));
	else if (*cause == NULL)
		xasprintf(cause, "control socket %s: %s", path,
		    strerror(errno));
fail:
	socket_forget(f);
	return -1;
}

/* Remove the socket if its name still is the socket we made. */
static void
socket_remove(struct control_file *f)
{
	struct stat	st;

	if (f->dirfd != -1 &&
	    fstatat(f->dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == f->dev && st.st_ino == f->ino &&
	    unlinkat(f->dirfd, f->name, 0) == -1)
		log_debug("control: cannot remove %s at exit: %s", f->name,
		    strerror(errno));
	socket_forget(f);
}

/* Forget the file without removing it. */
static void
socket_forget(struct control_file *f)
{
	if (f->dirfd != -1)
		close(f->dirfd);
	f->dirfd = -1;
	free(f->name);
	f->name = NULL;
}

static void
socket_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	control_accept(arg, fd);
}

static void
socket_resume(void)
{
	size_t	i;

	for (i = 0; i < socket_count; i++)
		evconnlistener_enable(socket_all[i].lev);
}

/* Stop accepting on sock for a while; the backlog holds who comes. */
static void
socket_pause(struct control_socket *sock)
{
	evconnlistener_disable(sock->lev);
	backoff_start(&socket_backoff, SOCKET_PAUSE_MS);
}

/* Out of descriptors: pause accepting instead of spinning. */
static void
socket_error_cb(struct evconnlistener *lev, void *arg)
{
	int	error = EVUTIL_SOCKET_ERROR();
	size_t	i;

	log_warnx("control: accept: %s", evutil_socket_error_to_string(error));
	if (!backoff_scarce(error))
		return;
	for (i = 0; i < socket_count; i++)
		socket_pause(&socket_all[i]);
}

/*
 * A refusal is cheap, but each costs a wakeup, an accept and a close, and
 * a loop that reconnects at once makes thousands a second: after
 * SOCKET_REFUSALS in SOCKET_WINDOW_MS the socket stops accepting for
 * SOCKET_PAUSE_MS, and such loops wait in the kernel's backlog instead.
 * Returns 1 for the first refusal of a window: the one worth a log line.
 */
int
control_socket_refused(struct control_socket *sock)
{
	uint64_t	now = control_now_ms();

	if (now - sock->window_ms >= SOCKET_WINDOW_MS) {
		sock->window_ms = now;
		sock->refusals = 0;
	}
	if (++sock->refusals >= SOCKET_REFUSALS)
		socket_pause(sock);
	return sock->refusals == 1;
}

/* Serve the listening socket fd, known as path; on error it is closed. */
static int
socket_listen(struct control_socket *sock, int fd, const char *path)
{
	sock->lev = evconnlistener_new(socket_base, socket_accept_cb, sock,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (sock->lev == NULL) {
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(sock->lev, socket_error_cb);
	sock->path = xstrdup(path);
	socket_count++;
	return 0;
}

static int
socket_open(struct control_socket *sock, const char *path, mode_t mode,
    char **cause)
{
	int	fd;

	fd = socket_bind(&sock->file, path, mode, socket_owner, socket_gid,
	    cause);
	if (fd == -1)
		return -1;
	if (socket_listen(sock, fd, path) == -1) {
		xasprintf(cause, "control socket %s: cannot listen", path);
		socket_remove(&sock->file);
		return -1;
	}
	log_info("control socket on %s (mode %04o)", path, (unsigned)mode);
	return 0;
}

/*
 * Serve the admin socket systemd made and passed (socket activation); it
 * is systemd's to remove.  Call before control_socket_open.
 */
int
control_socket_adopt(int fd, char **cause)
{
	struct sockaddr_un	sun;
	socklen_t		len = sizeof sun;

	memset(&sun, 0, sizeof sun);
	socket_all[0].file.dirfd = -1;
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sun, &len) == -1 ||
	    socket_listen(&socket_all[0], fd, sun.sun_path) == -1) {
		xasprintf(cause, "control socket from systemd (fd %d): %s", fd,
		    strerror(errno));
		return -1;
	}
	log_info("control socket on %s (from systemd)", sun.sun_path);
	return 0;
}

/* Who the sockets belong to: control-group, and "user" when root. */
static int
socket_owners(const struct config *config, char **cause)
{
	struct group	*gr;
	struct passwd	*pw;

	if (config->control_group != NULL) {
		if ((gr = getgrnam(config->control_group)) == NULL) {
			xasprintf(cause, "control-group: no group \"%s\"",
			    config->control_group);
			return -1;
		}
		socket_gid = gr->gr_gid;
		socket_has_group = 1;
	}
	if (geteuid() == 0 && config->user != NULL) {
		if ((pw = getpwnam(config->user)) == NULL) {
			xasprintf(cause, "user %s: no such user",
			    config->user);
			return -1;
		}
		socket_owner = pw->pw_uid;
	}
	if ((pw = getpwnam("nobody")) != NULL)
		socket_shared_uid = pw->pw_uid;
	return 0;
}

/*
 * Open the sockets the config asks for: none without "control" (or one
 * from systemd).  Started as root to become "user", chatd gives the
 * sockets to that user.  Returns how many sockets there are, or -1.
 */
int
control_socket_open(const struct config *config, char **cause)
{
	int	adopted = socket_count > 0;

	if (!adopted && config->control_path == NULL) {
		if (config->control_readonly != NULL)
			log_warnx("control-readonly is set but control is "
			    "not: no control socket");
		return 0;
	}
	if (adopted && config->control_path != NULL)
		log_info("control: using the socket from systemd, not %s",
		    config->control_path);
	if (socket_owners(config, cause) == -1 || (!adopted &&
	    socket_open(&socket_all[0], config->control_path,
	    (mode_t)config->control_mode, cause) == -1))
		return -1;
	socket_all[1].readonly = 1;
	if (config->control_readonly != NULL &&
	    socket_open(&socket_all[1], config->control_readonly, 0666,
	    cause) == -1)
		return -1;
	return (int)socket_count;
}

/*
 * Root, chatd's own user, and members of control-group may act.  Not when
 * chatd's user is nobody (the default): other daemons' processes may run
 * as nobody too, and must not drive chatd.
 */
int
control_socket_allowed(evutil_socket_t fd, const struct ucred *cred)
{
	gid_t		groups[SOCKET_PEER_GROUPS];
	socklen_t	len = sizeof groups;
	size_t		i;

	if (cred->uid == 0 ||
	    (cred->uid == geteuid() && cred->uid != socket_shared_uid))
		return 1;
	if (!socket_has_group)
		return 0;
	if (cred->gid == socket_gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1)
		return 0;
	for (i = 0; i < len / sizeof *groups; i++) {
		if (groups[i] == socket_gid)
			return 1;
	}
	return 0;
}

/* The path of the admin or the read-only socket; null if there is none. */
json_t *
control_socket_path(int readonly)
{
	size_t	i;

	for (i = 0; i < socket_count; i++) {
		if (socket_all[i].readonly == readonly)
			return control_string(socket_all[i].path);
	}
	return json_null();
}

/* At exit: stop serving, and remove the sockets if they are still ours. */
void
control_socket_free(void)
{
	size_t	i;

	for (i = 0; i < socket_count; i++) {
		evconnlistener_free(socket_all[i].lev);
		socket_remove(&socket_all[i].file);
		free(socket_all[i].path);
	}
	socket_count = 0;
	backoff_free(&socket_backoff);
}
