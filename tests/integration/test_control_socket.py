"""The control socket's file, made where another user can write: chatd
started as root must never act on whatever that user puts at the path.

The regression: chatd 0.1 bound its socket, then chmod()ed and chown()ed it
by path; a user owning the socket's directory swapped the fresh socket for a
symlink in between and turned a root-owned 0600 file into 0666, or gave it
to chatd's user.  Here a racer running as uid 65534 replaces the sockets
with symlinks to such a file, and the private directory chatd might work in
with a symlink to a directory of its own, as fast as it can, while chatd is
started over and over.
"""

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import chatd_exe, daemon_env, scaled, write_config
from test_chatctl import NOBODY, as_uid

STARTS = 1000          # daemon starts at most...
RACE_SECONDS = 45       # ...and for this long at most

# Runs as uid 65534: swap every socket in DIR for a symlink to TARGET, and
# every directory chatd makes in DIR for a symlink to EVIL (whose entries
# point at TARGET too), until STOP exists.
RACER = r"""
import os, stat, sys
d, target, evil, stop = sys.argv[1:5]
names = sys.argv[5:]
paths = [os.path.join(d, n) for n in names]
link = os.path.join(d, ".racer-link")
n = 0
while not os.path.exists(stop):
    n += 1
    for p in paths:
        try:
            if stat.S_ISSOCK(os.lstat(p).st_mode):
                try:
                    os.symlink(target, link)
                except FileExistsError:
                    pass
                os.rename(link, p)
        except OSError:
            pass
    if n % 8:
        continue
    try:
        entries = list(os.scandir(d))
    except OSError:
        continue
    for e in entries:
        try:
            if e.name.startswith(".racer") or not e.is_dir(follow_symlinks=False):
                continue
            os.rename(e.path, os.path.join(d, ".racer-stolen-%d" % n))
            os.symlink(evil, e.path)
        except OSError:
            pass
"""


@pytest.fixture
def arena():
    """A directory owned by uid 65534 (mode 0755), and a root-owned 0600
    file elsewhere for the racer to aim at."""
    nobody = as_uid(NOBODY, NOBODY)
    base = tempfile.mkdtemp(prefix="chatd-race-", dir="/tmp")
    os.chmod(base, 0o755)
    d = os.path.join(base, "d")
    os.mkdir(d, 0o755)
    os.chown(d, NOBODY, NOBODY)
    secret = os.path.join(base, "secret")
    with open(secret, "w") as f:
        f.write("root only\n")
    os.chmod(secret, 0o600)
    evil = os.path.join(base, "evil")
    os.mkdir(evil, 0o755)
    for name in ("control.sock", "ro.sock"):
        os.symlink(secret, os.path.join(evil, name))
    os.chown(evil, NOBODY, NOBODY)
    yield {"base": base, "dir": d, "secret": secret, "evil": evil, "nobody": nobody}
    shutil.rmtree(base, ignore_errors=True)


def secret_unchanged(path):
    st = os.stat(path)
    return (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o600, 0, 0)


def start_once(argv, env, cwd, timeout=10.0):
    """Start chatd, wait until both sockets are served or it has exited;
    return (proc, stderr text so far, served)."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, cwd=cwd)
    os.set_blocking(proc.stderr.fileno(), False)
    err = b""
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = proc.stderr.read()
        except BlockingIOError:
            chunk = None
        if chunk:
            err += chunk
        text = err.decode("utf-8", "replace")
        if text.count("control socket on ") >= 2 and "listening on" in text:
            return proc, text, True
        if proc.poll() is not None:
            # it has exited: what it wrote is all in the pipe now
            os.set_blocking(proc.stderr.fileno(), True)
            err += proc.stderr.read() or b""
            return proc, err.decode("utf-8", "replace"), False
        time.sleep(0.002)
    proc.kill()
    proc.wait(scaled(10))
    raise AssertionError("chatd neither served nor exited within %.0fs:\n%s"
                         % (timeout, err.decode("utf-8", "replace")))


def stop(proc):
    proc.terminate()
    rc = proc.wait(scaled(10))
    rest = proc.stderr.read() or b""
    proc.stderr.close()
    return rc, rest.decode("utf-8", "replace")


def status_through(path):
    """The daemon's pid, asked through path if a socket is there now."""
    try:
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            return None
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(scaled(5))
        s.connect(path)
        s.sendall(b'{"version":1,"command":"status"}\n')
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
    except OSError:
        return None
    return json.loads(data)["result"]["pid"]


def test_symlink_race_on_the_socket_path(arena, tmp_path):
    d = arena["dir"]
    admin = os.path.join(d, "control.sock")
    ro = os.path.join(d, "ro.sock")
    conf = str(tmp_path / "chatd.conf")
    # 0666 and "user": both the mode and the owner would be set on the path
    write_config(conf, {"control": admin, "control-mode": "0666",
                        "control-readonly": ro, "user": "nobody"})
    argv = [chatd_exe(), "--listen", "127.0.0.1:0", "--config", conf]
    env = daemon_env()
    stopfile = os.path.join(arena["base"], "stop")
    racer = subprocess.Popen(arena["nobody"] + [sys.executable, "-c", RACER, d,
                                                arena["secret"], arena["evil"], stopfile,
                                                "control.sock", "ro.sock"],
                             stdin=subprocess.DEVNULL, env=env)
    outcomes = {"served": 0, "verified": 0, "refused": 0}
    try:
        end = time.monotonic() + RACE_SECONDS
        for i in range(STARTS):
            if time.monotonic() > end:
                break
            # what the racer left at the paths from the last round
            for p in (admin, ro):
                if os.path.lexists(p) and not stat.S_ISSOCK(os.lstat(p).st_mode):
                    os.unlink(p)
            proc, text, served = start_once(argv, env, str(tmp_path))
            assert secret_unchanged(arena["secret"]), (
                "start %d: the racer changed %s: %r\n%s"
                % (i, arena["secret"], os.stat(arena["secret"]), text))
            if served:
                outcomes["served"] += 1
                if status_through(admin) == proc.pid:
                    outcomes["verified"] += 1
                rc, rest = stop(proc)
                assert rc == 0, "start %d: exit %d after SIGTERM\n%s%s" % (i, rc, text, rest)
            else:
                rc, rest = stop(proc) if proc.poll() is None else (proc.returncode, "")
                text += rest
                assert rc not in (0, None) and rc > 0, (rc, text)
                # a clear refusal that names the socket, never a crash
                assert "control socket" in text, text
                outcomes["refused"] += 1
            assert secret_unchanged(arena["secret"]), (i, text)
    finally:
        open(stopfile, "w").close()
        racer.wait(scaled(10))
    assert secret_unchanged(arena["secret"])
    print("outcomes", outcomes)
    assert outcomes["served"] > 0, outcomes
    # chatd's private directories never outlive a start, unless the racer
    # moved one away (and put a symlink of its own at the name)
    left = [n for n in os.listdir(d) if not n.startswith(".racer")
            and n not in ("control.sock", "ro.sock")
            and os.lstat(os.path.join(d, n)).st_uid != NOBODY]
    assert left == [], left


def test_socket_mode_without_chmod(chatd, tmp_path):
    """The mode comes from the umask at bind: exactly control-mode, and a
    symlink or file already at the path is refused, never followed."""
    d = tempfile.mkdtemp(prefix="chatd-mode-", dir="/tmp")
    try:
        sock = os.path.join(d, "c.sock")
        ro = os.path.join(d, "ro.sock")
        daemon = chatd("--control", sock, config={"control-mode": "0640",
                                                  "control-readonly": ro})
        assert stat.S_IMODE(os.lstat(sock).st_mode) == 0o640
        assert stat.S_IMODE(os.lstat(ro).st_mode) == 0o666
        assert [n for n in os.listdir(d) if n.startswith(".")] == []
        assert status_through(sock) == daemon.pid
        target = os.path.join(d, "target")
        with open(target, "w") as f:
            f.write("x")
        os.chmod(target, 0o600)
        link = os.path.join(d, "link.sock")
        os.symlink(target, link)
        second = chatd("--control", link, wait=False)
        assert second.wait_exit(10) not in (None, 0)
        assert "exists and is not a socket" in second.log_text()
        assert os.path.islink(link) and stat.S_IMODE(os.stat(target).st_mode) == 0o600
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_removal_at_exit_leaves_a_replaced_path(chatd, tmp_path):
    """At exit chatd removes its socket only if the path still is that
    socket: a symlink put in its place stays, and so does its target."""
    d = tempfile.mkdtemp(prefix="chatd-exit-", dir="/tmp")
    try:
        sock = os.path.join(d, "c.sock")
        daemon = chatd("--control", sock)
        target = os.path.join(d, "target")
        with open(target, "w") as f:
            f.write("x")
        os.rename(sock, os.path.join(d, "moved.sock"))
        os.symlink(target, sock)
        daemon.signal(15)
        assert daemon.wait_exit(10) == 0
        assert os.path.islink(sock) and os.path.isfile(target)
        assert os.path.exists(os.path.join(d, "moved.sock"))
    finally:
        shutil.rmtree(d, ignore_errors=True)
