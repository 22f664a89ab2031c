"""Started as root, chatd opens its sockets, then gives root up: for the
configured user, or for nobody when the config names none.  Only
`user = root` keeps root.  What it still does as that user (reload the
config and the TLS files, serve and remove its control socket) works, or is
announced at the start when it cannot."""
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess

import pytest

from conftest import Client, chatd_exe, daemon_env, scaled, write_config

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

NOBODY = pwd.getpwnam("nobody")


def ids(pid):
    with open("/proc/%d/status" % pid) as f:
        fields = dict(line.split(":", 1) for line in f)
    uids = [int(x) for x in fields["Uid"].split()]
    gids = [int(x) for x in fields["Gid"].split()]
    groups = [int(x) for x in fields["Groups"].split()]
    return uids, gids, groups


def assert_runs_as_nobody(d):
    uids, gids, groups = ids(d.pid)
    assert uids == [NOBODY.pw_uid] * 4          # real, effective, saved, fs
    assert gids == [NOBODY.pw_gid] * 4
    assert groups == [NOBODY.pw_gid]            # /etc/group gives it no other


def chat_works(d, text):
    a, b = d.client(), d.client()
    a.send(text)
    b.expect("MSG #lobby %s %s" % (a.nick, text))


def test_drops_to_configured_user(chatd):
    d = chatd(config={"user": "nobody"})
    d.wait_log(r"notice: running as user nobody \(uid %d, gid %d\)"
               % (NOBODY.pw_uid, NOBODY.pw_gid))
    assert_runs_as_nobody(d)
    chat_works(d, "still serving")


def test_root_without_user_runs_as_nobody(chatd):
    """The README's quick start as root: no config at all."""
    d = chatd()
    d.wait_log(r"notice: running as user nobody \(uid %d, gid %d\)"
               % (NOBODY.pw_uid, NOBODY.pw_gid))
    assert_runs_as_nobody(d)
    assert "running as root" not in d.log_text()
    chat_works(d, "as nobody")


def test_readme_quick_start_on_port_7000(tmp_path):
    """./build/src/chatd with no option and no config, started by root:
    listens on 127.0.0.1:7000 and chats, as nobody."""
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", 7000))
    except OSError:
        pytest.skip("127.0.0.1:7000 is in use")
    finally:
        probe.close()
    proc = subprocess.Popen([chatd_exe()], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=daemon_env(), cwd=str(tmp_path))
    try:
        seen = []
        for raw in iter(proc.stderr.readline, b""):
            seen.append(raw.decode())
            if " started " in seen[-1]:
                break
        assert any("listening on 127.0.0.1:7000" in s for s in seen), seen
        assert any("running as user nobody" in s for s in seen), seen
        assert ids(proc.pid)[0] == [NOBODY.pw_uid] * 4
        a, b = Client(7000), Client(7000)
        a.send("hello from the quick start")
        b.expect("MSG #lobby %s hello from the quick start" % a.nick)
        a.close()
        b.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(scaled(15)) == 0
        proc.stderr.close()


def test_sighup_reload_after_the_drop(chatd):
    d = chatd(config={"motd": "before"})
    d.wait_log(r"running as user nobody")
    assert "a reload will fail" not in d.log_text()
    mark = d.log_mark()
    d.reload({"motd": "after"})         # SIGHUP
    d.wait_log(r"reload: motd changed", start=mark)
    c = d.client()
    assert c.expect("MOTD ") == "MOTD after"
    assert ids(d.pid)[0] == [NOBODY.pw_uid] * 4


def test_unreadable_config_is_announced_and_reload_fails_clearly(chatd, tmp_path):
    conf = write_config(str(tmp_path / "root-only.conf"), {"motd": "kept"})
    os.chmod(conf, 0o600)
    d = chatd("--config", conf)
    d.wait_log(r"warning: config file %s: Permission denied for user nobody: "
               r"a reload will fail until it can read it" % re.escape(conf))
    mark = d.log_mark()
    d.signal(signal.SIGHUP)
    d.wait_log(r"error: reload failed, keeping the running configuration: %s: "
               r"Permission denied" % re.escape(conf), start=mark)
    assert d.client().expect("MOTD ") == "MOTD kept"
    # made readable, the next reload works
    write_config(conf, {"motd": "now readable"})
    os.chmod(conf, 0o644)
    mark = d.log_mark()
    d.signal(signal.SIGHUP)
    d.wait_log(r"reload: motd changed", start=mark)
    assert d.client().expect("MOTD ") == "MOTD now readable"


def test_user_root_keeps_root_and_warns(chatd):
    d = chatd(config={"user": "root"})
    d.wait_log(r"warning: running as root, as the config asks \(user = root\)")
    uids, gids, _ = ids(d.pid)
    assert uids == [0] * 4 and gids == [0] * 4
    assert "running as user" not in d.log_text()
    chat_works(d, "as root")


def test_unknown_user_is_refused_before_listening(chatd):
    d = chatd(config={"user": "no-such-user-chatd"}, wait=False)
    assert d.wait_exit(10) == 1
    log = d.log_text()
    assert "user no-such-user-chatd: no such user" in log
    assert "listening on" not in log


def test_unknown_user_fails_the_config_check(tmp_path):
    conf = write_config(str(tmp_path / "bad-user.conf"), {"user": "no-such-user-chatd"})
    r = subprocess.run([chatd_exe(), "-t", "-c", conf], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=scaled(10), env=daemon_env())
    assert r.returncode == 1
    assert b"chatd: user no-such-user-chatd: no such user" in r.stderr


def test_control_socket_belongs_to_nobody_and_root_may_use_it(chatd, tmp_path):
    """Owned by the user chatd runs as; root connects whatever the mode.
    Its directory (root's, not writable by nobody) is named in a notice:
    the socket stays after exit and the next start replaces it."""
    sock = str(tmp_path / "ctl.sock")
    d = chatd("--control", sock, config={"control-mode": "0600"})
    d.wait_log(r"notice: control socket %s: user nobody cannot remove it at exit"
               % re.escape(sock))
    st = os.stat(sock)
    assert st.st_uid == NOBODY.pw_uid and stat.S_IMODE(st.st_mode) == 0o600
    chatctl = os.environ.get("CHATCTL")
    if not chatctl:
        pytest.skip("CHATCTL is not set")
    r = subprocess.run([chatctl, "-s", sock, "status"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=scaled(20), env=daemon_env())
    assert r.returncode == 0, r.stderr
    # the next start replaces the socket left behind
    d.signal(signal.SIGTERM)
    assert d.wait_exit(15) == 0
    assert os.path.exists(sock)
    again = chatd("--control", sock)
    again.wait_log(r"replacing the stale socket %s" % re.escape(sock))


def _status_as(uid, gid, sock):
    """The control answer to `status` for a process running as uid."""
    code = ("import json, socket, sys\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            "s.settimeout(10)\n"
            "s.connect(sys.argv[1])\n"
            "try:\n"
            "    s.sendall(b'{\"version\": 1, \"command\": \"status\"}\\n')\n"
            "except BrokenPipeError:\n"
            "    pass  # refused before it read the request: the answer is there\n"
            "print(s.makefile().readline())\n")
    r = subprocess.run(["setpriv", "--reuid", str(uid), "--regid", str(gid),
                        "--clear-groups", "/usr/bin/python3", "-c", code, sock],
                       capture_output=True, text=True, timeout=scaled(20))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_nobody_is_not_trusted_as_chatds_own_user(chatd, tmp_path):
    """Running as the shared nobody, chatd does not let other nobody
    processes drive it; root still may (chatd.conf(5) user)."""
    sock = str(tmp_path / "ctl.sock")
    d = chatd("--control", sock, config={"control-mode": "0666"})
    assert_runs_as_nobody(d)
    r = _status_as(NOBODY.pw_uid, NOBODY.pw_gid, sock)
    assert r == {"ok": False, "code": "permission-denied",
                 "message": r["message"]}, r
    assert _status_as(0, 0, sock)["ok"]


def test_root_only_tls_key_is_announced_and_reload_keeps_the_certificate(chatd, tmp_path):
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("needs openssl(1)")
    cert, key = str(tmp_path / "c.crt"), str(tmp_path / "c.key")
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=root-only",
                    "-days", "2", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    d = chatd(config={"listen-tls": "127.0.0.1:0", "tls-cert": cert, "tls-key": key})
    line = d.wait_log(r"listening on 127\.0\.0\.1:\d+ \(TLS\)")
    tls_port = int(re.search(r":(\d+) \(TLS\)", line).group(1))
    d.wait_log(r"warning: tls-key %s: Permission denied for user nobody: a reload "
               r"will fail until it can read it" % re.escape(key))
    mark = d.log_mark()
    d.signal(signal.SIGHUP)
    d.wait_log(r"reload failed, keeping the running configuration: tls-key %s"
               % re.escape(key), start=mark)
    # the certificate loaded at the start, as root, still serves
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", tls_port), timeout=scaled(5)) as raw:
        with ctx.wrap_socket(raw) as s:
            c = Client(tls_port, sock=s)
            c.send("over TLS as nobody")
            c.expect("MSG #lobby %s over TLS as nobody" % c.nick)
