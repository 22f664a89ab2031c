"""chatctl and the control socket: every verb against a running chatd,
permissions, and hostile control input that must not disturb the chat.

Needs CHATCTL (absolute path of the chatctl binary) besides CHATD.
"""

import grp
import json
import os
import pwd
import re
import select
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import Client, chatd_exe, daemon_env, scaled, wait_until, write_config
from hostile import FAST, control_lines

RUN_TIMEOUT = scaled(20)


def chatctl_exe():
    path = os.environ.get("CHATCTL")
    if not path:
        pytest.skip("CHATCTL is not set: set it to the absolute path of chatctl")
    assert os.path.isabs(path) and os.access(path, os.X_OK), path
    return path


class Stream:
    """Lines of a running chatctl (tail, drain), read with a timeout."""

    def __init__(self, proc):
        self.proc = proc
        self.buf = b""

    def line(self, timeout=10.0):
        deadline = time.monotonic() + scaled(timeout)
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no line from chatctl within %.1fs (have %r)"
                                     % (scaled(timeout), self.buf))
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                data = os.read(self.proc.stdout.fileno(), 65536)
                if not data:
                    raise AssertionError("chatctl ended; stderr: %r"
                                         % self.proc.stderr.read())
                self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def expect(self, pattern, timeout=10.0):
        rx = re.compile(pattern)
        seen = []
        deadline = time.monotonic() + scaled(timeout)
        while True:
            s = self.line(timeout)
            if rx.search(s):
                return s
            seen.append(s)
            if time.monotonic() > deadline:
                raise AssertionError("no chatctl line matching %r; saw %r" % (pattern, seen))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(scaled(10))


class Ctl:
    """chatctl bound to one control socket."""

    def __init__(self, sock):
        self.exe = chatctl_exe()
        self.sock = sock
        self.streams = []

    def argv(self, args, json_out=False, sock=None):
        return ([self.exe, "-s", sock or self.sock] + (["--json"] if json_out else [])
                + list(args))

    def run(self, *args, rc=0, json_out=False, sock=None, prefix=()):
        r = subprocess.run(list(prefix) + self.argv(args, json_out, sock),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=RUN_TIMEOUT, env=daemon_env())
        r.out = r.stdout.decode()
        r.err = r.stderr.decode()
        assert "Sanitizer" not in r.err and "runtime error" not in r.err, r.err
        if rc is not None:
            assert r.returncode == rc, ("chatctl %s: exit %d, expected %d\nstdout: %s\n"
                                        "stderr: %s" % (" ".join(args), r.returncode, rc,
                                                        r.out, r.err))
        if rc not in (None, 0):
            assert len(r.err.strip().splitlines()) == 1, r.err
        return r

    def json(self, *args):
        return json.loads(self.run(*args, json_out=True).out)

    def stream(self, *args, json_out=False):
        proc = subprocess.Popen(self.argv(args, json_out), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=daemon_env())
        s = Stream(proc)
        self.streams.append(s)
        return s


@pytest.fixture
def ctl_dir():
    """A short directory under /tmp, 1777 like /tmp itself, so that other
    uids can reach in and chatd, once it gave root up, can remove its
    sockets at exit."""
    d = tempfile.mkdtemp(prefix="chatctl-", dir="/tmp")
    os.chmod(d, 0o1777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def admin(chatd, ctl_dir):
    """admin(config=None, **kw) -> (daemon, Ctl) with --control in ctl_dir."""
    ctls = []

    def start(config=None, name="control.sock", **kw):
        sock = os.path.join(ctl_dir, name)
        d = chatd("--control", sock, config=config, **kw)
        c = Ctl(sock)
        ctls.append(c)
        return d, c

    yield start
    for c in ctls:
        for s in c.streams:
            s.stop()


# ---------------------------------------------------------------- looking

def test_status_version_stats(admin):
    d, ctl = admin()
    a = d.client()
    a.send("hello")
    a.expect("MSG ")
    st = ctl.json("status")
    assert st["pid"] == d.pid
    assert st["state"] == "running"
    assert st["clients"] == 1 and st["rooms"] == 1
    assert "127.0.0.1:%d" % d.port in st["listeners"]
    assert st["control"] == ctl.sock and st["control_readonly"] is None
    assert st["rss_bytes"] > 0 and st["uptime_seconds"] >= 0
    text = ctl.run("status").out
    assert re.search(r"^pid +%d$" % d.pid, text, re.M), text
    assert re.search(r"^listeners +127\.0\.0\.1:%d$" % d.port, text, re.M), text

    v = ctl.json("version")
    assert v["protocol"] == 1
    assert v["chatd"] == st["version"]
    assert "chatd" in ctl.run("version").out

    s = ctl.json("stats")
    assert s["accepted"] == 1 and s["lines_in"] >= 1 and s["messages"] >= 1
    assert s["clients"] == 1 and s["delivered"] >= 1 and s["control_requests"] >= 3
    assert re.search(r"^lines in +\d+$", ctl.run("stats").out, re.M)


def test_clients_and_rooms(admin):
    d, ctl = admin(config=FAST)
    a, b = d.client(), d.client()
    a.send("/nick alice")
    a.expect("NICK ")
    a.send("/join #rust")
    a.expect("ROOM #rust")
    a.send("/topic all about crabs")
    a.expect("TOPIC ")
    b.sync()
    clients = ctl.json("clients")["clients"]
    by_nick = {c["nick"]: c for c in clients}
    assert set(by_nick) == {"alice", b.nick}
    assert by_nick["alice"]["rooms"] == ["#lobby", "#rust"]
    assert by_nick["alice"]["address"] == "127.0.0.1"
    assert by_nick["alice"]["port"] == a.local_port
    assert by_nick["alice"]["muted"] is False
    assert by_nick[b.nick]["idle_seconds"] >= 0 and by_nick[b.nick]["sendq_bytes"] == 0
    only = ctl.json("clients", "#rust")["clients"]
    assert [c["nick"] for c in only] == ["alice"]
    assert [c["nick"] for c in ctl.json("clients", "rust")["clients"]] == ["alice"]
    table = ctl.run("clients").out.splitlines()
    assert table[0].split()[:3] == ["ID", "NICK", "ADDRESS"], table
    assert any(l.split()[1] == "alice" for l in table[1:]), table
    r = ctl.run("clients", "#nowhere", rc=1)
    assert "no room #nowhere" in r.err

    rooms = {r["name"]: r for r in ctl.json("rooms")["rooms"]}
    assert rooms["#rust"]["members"] == 1
    assert rooms["#rust"]["topic"] == "all about crabs"
    assert rooms["#lobby"]["members"] == 2 and rooms["#lobby"]["topic"] is None
    text = ctl.run("rooms").out
    assert re.search(r"^#rust +1 .*all about crabs$", text, re.M), text


# ---------------------------------------------------------------- acting on clients

def test_kick_is_seen_by_the_kicked_client(admin):
    d, ctl = admin()
    a, b = d.client(), d.client()
    a.send("/nick alice")
    a.expect("NICK ")
    b.sync()
    r = ctl.run("kick", "alice", "stop", "spamming")
    assert re.search(r"^kicked +alice$", r.out, re.M), r.out
    lines = a.wait_eof()
    assert lines[-1] == "BYE kicked stop spamming", lines
    assert b.expect("QUIT ") == "QUIT alice stop spamming"
    assert ctl.json("stats")["closed_kicked"] == 1
    r = ctl.run("kick", "alice", rc=1)
    assert "no one is called alice" in r.err
    c = d.client()
    ctl.run("kick", c.nick)
    assert c.wait_eof()[-1] == "BYE kicked kicked by an operator"


def test_ban_refuses_reconnect(admin):
    d, ctl = admin()
    a = d.client(source="127.0.0.2")
    other = d.client(source="127.0.0.3")
    res = ctl.json("ban", "add", "127.0.0.2", "go", "away")
    assert res == {"banned": "127.0.0.2", "expires": None, "reason": "go away",
                   "disconnected": 1}
    assert a.wait_eof()[-1] == "BYE banned go away"
    # the banned address is refused at accept, with the reason
    again = d.connect_raw(source="127.0.0.2")
    assert again.wait_eof() == ["BYE banned go away"]
    assert d.client(source="127.0.0.4").nick   # others still welcome
    other.sync()
    bans = ctl.json("ban", "list")["bans"]
    assert [b["target"] for b in bans] == ["127.0.0.2"]
    assert ctl.json("stats")["refused_banned"] == 1
    ctl.run("ban", "del", "127.0.0.2")
    assert d.client(source="127.0.0.2").nick
    r = ctl.run("ban", "del", "127.0.0.2", rc=1)
    assert "not banned" in r.err


def test_ban_cidr_duration_and_nick(admin):
    d, ctl = admin()
    res = ctl.json("ban", "add", "127.0.5.6/16", "1h")
    assert res["banned"] == "127.0.0.0/16" and res["expires"] is not None
    assert res["reason"] == "you are banned from this server"
    assert d.connect_raw(source="127.0.9.9").wait_eof()[0].startswith("BYE banned")
    assert d.client(source="127.1.0.1").nick
    ctl.run("ban", "del", "127.0.0.0/16")
    ctl.run("ban", "add", "2001:DB8::1/32", "30m", "v6", "too")
    assert ctl.json("ban", "list")["bans"][0]["target"] == "2001:db8::/32"
    assert ctl.json("ban", "list")["bans"][0]["reason"] == "v6 too"
    # a nick: the holder is disconnected, and nobody may take it
    m = d.client()
    m.send("/nick Mallory")
    m.expect("NICK ")
    assert ctl.json("ban", "add", "mallory")["disconnected"] == 1
    assert m.wait_eof()[-1].startswith("BYE banned")
    x = d.client()
    x.send("/nick MALLORY")
    assert x.expect("ERR ").startswith("ERR nick-banned")
    table = ctl.run("ban", "list").out.splitlines()
    assert table[0].split() == ["TARGET", "ADDED", "EXPIRES", "REASON"], table
    for bad in (["ban", "add", "300.1.2.3"], ["ban", "add", "10.0.0.0/33"],
                ["ban", "frob", "x"], ["ban", "list", "extra"]):
        ctl.run(*bad, rc=1)


def test_mute_and_unmute(admin):
    d, ctl = admin()
    a, b = d.client(), d.client()
    ctl.run("mute", a.nick)
    assert a.expect("NOTICE ").startswith("NOTICE @operator an operator has muted you")
    assert ctl.json("clients")["clients"][0]["muted"] is True
    a.send("can you hear me")
    assert a.expect("ERR ").startswith("ERR muted ")
    a.send("/msg %s psst" % b.nick)
    assert a.expect("ERR ").startswith("ERR muted ")
    a.send("/topic new")
    assert a.expect("ERR ").startswith("ERR muted ")
    b.sync()
    assert not [l for l in b.history if "can you hear" in l or "psst" in l]
    ctl.run("unmute", a.nick)
    assert a.expect("NOTICE ").endswith("you may speak again")
    a.send("back")
    assert b.expect("MSG ") == "MSG #lobby %s back" % a.nick
    # a timed mute lifts itself
    ctl.run("mute", a.nick, "1s")
    a.expect("NOTICE ")
    time.sleep(1.2)
    a.send("free again")
    assert b.expect("MSG ") == "MSG #lobby %s free again" % a.nick
    ctl.run("mute", a.nick, "soon", rc=1)
    ctl.run("unmute", "nobody", rc=1)


def test_a_nick_no_one_has_can_be_muted_and_unmuted(admin):
    d, ctl = admin()
    a = d.client()
    r = ctl.json("mute", "Absent", "1h")
    assert (r["muted"], r["connected"]) == ("Absent", False)
    assert ctl.json("mute", a.nick)["connected"] is True
    a.expect("NOTICE ")
    mutes = {m["nick"]: m for m in ctl.json("mutes")["mutes"]}
    assert set(mutes) == {"Absent", a.nick}
    assert mutes["Absent"]["connected"] is False and mutes["Absent"]["expires"]
    assert mutes[a.nick]["connected"] is True and mutes[a.nick]["expires"] is None
    table = ctl.run("mutes").out.splitlines()
    assert table[0].split() == ["NICK", "ADDED", "EXPIRES", "CONNECTED"], table
    # Whoever takes the nick is muted, and takes the mute along.
    b = d.client()
    b.send("/nick absent")
    b.expect("NICK ")
    b.send("hello")
    assert b.expect("ERR ").startswith("ERR muted ")
    b.send("/nick elsewhere")
    b.expect("NICK ")
    b.send("hello again")
    assert b.expect("ERR ").startswith("ERR muted ")
    mutes = {m["nick"]: m for m in ctl.json("mutes")["mutes"]}
    assert set(mutes) == {"Absent", "elsewhere", a.nick}
    assert mutes["elsewhere"]["connected"] is True
    assert mutes["elsewhere"]["expires"] == mutes["Absent"]["expires"]
    assert ctl.json("unmute", "elsewhere") == {"unmuted": "elsewhere"}
    b.expect("NOTICE ")
    b.send("free")
    b.expect("MSG #lobby elsewhere free")
    # An offline unmute lifts the mute held for the nick.
    assert ctl.json("unmute", "ABSENT") == {"unmuted": "Absent"}
    ctl.run("unmute", "absent", rc=1)           # nothing held any more
    c = d.client()
    c.send("/nick absent")
    c.expect("NICK ")
    c.send("free too")
    c.expect("MSG #lobby absent free too")
    ctl.run("mute", "not-a-nick!", rc=1)
    ctl.run("mute", "x" * 31, rc=1)
    assert [m["nick"] for m in ctl.json("mutes")["mutes"]] == [a.nick]


# ---------------------------------------------------------------- the operator speaks

def test_say_reaches_a_client(admin):
    d, ctl = admin()
    a = d.client()
    r = ctl.json("say", "lobby", "hello  from the operator")
    assert r == {"said_in": "#lobby"}
    assert a.expect("MSG ") == "MSG #lobby @operator hello  from the operator"
    # in scrollback too, like any message
    b = d.client()
    assert b.expect("HIST ").endswith("MSG #lobby @operator hello  from the operator")
    r = ctl.run("say", "#nowhere", "hi", rc=1)
    assert "no room #nowhere" in r.err
    ctl.run("say", "#lobby", rc=2)       # no text: usage
    # the operator's text is sanitized like a client's
    ctl.run("say", "#lobby", "red \x1b[31m bell \x07")
    line = a.expect("MSG ")
    assert "\x1b" not in line and "\x07" not in line and "\ufffd[31m" in line


def test_announce_reaches_everyone(admin):
    d, ctl = admin()
    a, b = d.client(), d.client()
    b.send("/part")
    b.expect("PART ")
    assert ctl.json("announce", "maintenance at noon") == {"announced_to": 2}
    for c in (a, b):
        assert c.expect("NOTICE ") == "NOTICE @operator maintenance at noon"


def test_msg_and_a_reply_to_the_operator(admin):
    d, ctl = admin()
    a = d.client()
    tail = ctl.stream("tail")
    tail.expect("^tailing every room")
    ctl.run("msg", a.nick, "are you there?")
    assert a.expect("PRIV ") == "PRIV @operator %s are you there?" % a.nick
    tail.expect(r"\[@operator -> %s\] are you there\?" % a.nick)
    a.send("/msg @operator yes I am")
    assert a.expect("PRIV ") == "PRIV %s @operator yes I am" % a.nick
    tail.expect(r"\[%s -> @operator\] yes I am" % a.nick)
    ctl.run("msg", "nobody", "hi", rc=1)
    ctl.run("kick", "@operator", rc=1)


def test_topic_and_close(admin):
    d, ctl = admin()
    a, b = d.client(), d.client()
    for c in (a, b):
        c.send("/join #ops")
        c.expect("ROOM #ops")
    b.sync()
    res = ctl.json("topic", "#ops", "release day")
    assert res == {"room": "#ops", "topic": "release day"}
    assert a.expect("TOPIC ") == "TOPIC #ops @operator release day"
    ctl.run("topic", "#ops", "x" * 301, rc=1)
    res = ctl.json("close", "ops", "moving", "on")
    assert res == {"closed": "#ops", "members": 2}
    for c in (a, b):
        assert c.expect("PART #ops " + c.nick) == "PART #ops %s moving on" % c.nick
    assert "#ops" not in [r["name"] for r in ctl.json("rooms")["rooms"]]
    a.send("still in the lobby")
    assert b.expect("MSG ") == "MSG #lobby %s still in the lobby" % a.nick
    ctl.run("close", "#ops", rc=1)


# ---------------------------------------------------------------- tail

def test_tail_prints_a_line_typed_by_a_client(admin):
    d, ctl = admin()
    tail = ctl.stream("tail")
    assert tail.line() == "tailing every room; interrupt to stop"
    a = d.client()
    tail.expect(r"#lobby --> %s joined$" % a.nick)
    a.send("hello from nc")
    tail.expect(r"^\d\d:\d\d:\d\d #lobby <%s> hello from nc$" % a.nick)
    a.send("/me waves")
    tail.expect(r"#lobby \* %s waves$" % a.nick)
    a.send("/nick alice")
    tail.expect(r"--- %s is now alice$" % a.nick)
    a.send("/quit lunch")
    tail.expect(r"<-- alice quit \(lunch\)$")


def test_tail_filters_rooms_and_speaks_json(admin):
    d, ctl = admin()
    a = d.client()
    a.send("/join #rust")
    a.expect("ROOM #rust")
    tail = ctl.stream("tail", "rust", json_out=True)
    assert json.loads(tail.line()) == {"tailing": ["#rust"]}
    a.send("/join #lobby")      # back to the lobby: not followed
    a.sync()
    a.send("in the lobby")
    a.send("/join #rust")
    a.send("in rust")
    ev = json.loads(tail.line())
    assert ev["kind"] == "say" and ev["room"] == "#rust" and ev["text"] == "in rust", ev
    assert ev["from"] == a.nick and re.match(r"\d{4}-\d\d-\d\dT", ev["time"])
    a.send("/nick crab")        # a nick change reaches #rust's followers
    ev = json.loads(tail.line())
    assert (ev["kind"], ev["from"], ev["to"]) == ("nick", a.nick, "crab")
    ctl.run("tail", "#nowhere", rc=1)


# ---------------------------------------------------------------- the daemon

def test_reload_reports_changes_and_a_bad_config(admin):
    d, ctl = admin(config={"motd": "first", "scrollback": 20})
    assert d.client().expect("MOTD ") == "MOTD first"
    second = {"motd": "second", "scrollback": 5, "control-mode": "0600"}
    write_config(d.config_path, second)
    res = ctl.json("reload")
    assert res["file"] == d.config_path
    assert sorted(res["applied"]) == ["motd", "scrollback"]
    assert res["needs_restart"] == ["control-mode"]
    assert d.client().expect("MOTD ") == "MOTD second"
    write_config(d.config_path, ["motd = third", "bogus-key = 1"])
    r = ctl.run("reload", rc=1)
    assert "%s:2: unknown key \"bogus-key\"" % d.config_path in r.err, r.err
    assert "running configuration is kept" in r.err
    assert d.client().expect("MOTD ") == "MOTD second"    # unchanged
    write_config(d.config_path, second)
    assert re.search(r"^applied +none$", ctl.run("reload").out, re.M)


def test_reload_without_a_config_file(admin):
    d, ctl = admin()
    assert ctl.json("reload") == {"file": None, "applied": [], "needs_restart": []}


def test_drain_ends_the_daemon_when_the_last_client_leaves(admin):
    d, ctl = admin()
    a, b = d.client(), d.client()
    drain = ctl.stream("drain", "30")
    assert re.match(r"draining: 2 clients left, (29|30) s to go$", drain.line())
    for c in (a, b):
        assert c.expect("NOTICE ").startswith("NOTICE @operator the server is going down")
    assert ctl.json("status")["state"] == "draining"
    with pytest.raises(OSError):
        Client(d.port, timeout=2)
    a.send("/quit done")
    drain.expect("^draining: 1 clients left")
    b.close()
    assert drain.line() == "clients left  0"
    assert drain.line() == "ended         every client has left"
    assert drain.proc.wait(scaled(10)) == 0
    assert d.wait_exit(10) == 0


def test_shutdown_says_goodbye(admin):
    d, ctl = admin()
    a = d.client()
    res = ctl.json("shutdown", "2")
    assert res == {"clients": 1, "grace_seconds": 2}
    assert a.wait_eof()[-1].startswith("BYE shutdown")
    assert d.wait_exit(10) == 0
    assert not os.path.exists(ctl.sock)      # removed at exit
    r = ctl.run("status", rc=3)
    assert "not running" in r.err


def test_log_level(admin):
    d, ctl = admin()
    assert ctl.json("log-level") == {"level": "info"}
    assert ctl.json("log-level", "debug") == {"level": "debug", "previous": "info"}
    mark = d.log_mark()
    d.client()
    d.wait_log(r"debug: client \d+ connected", start=mark)
    ctl.run("log-level", "chatty", rc=1)


# ---------------------------------------------------------------- chatctl itself

def test_prefixes_usage_and_exit_status(admin, ctl_dir):
    d, ctl = admin()
    assert ctl.json("ver")["protocol"] == 1          # unique prefix
    assert "pid" in ctl.json("statu")
    r = ctl.run("st", rc=2)
    assert "ambiguous" in r.err and "status, stats" in r.err
    assert "usage: chatctl kick NICK [REASON]" in ctl.run("kick", rc=2).err
    assert "unknown verb" in ctl.run("frobnicate", rc=2).err
    assert ctl.run("status", "extra", rc=2).err
    r = ctl.run("status", rc=3, sock=os.path.join(ctl_dir, "absent.sock"))
    assert "not running" in r.err
    h = subprocess.run([ctl.exe, "-h"], capture_output=True, timeout=scaled(10), env=daemon_env())
    assert h.returncode == 0 and b"tail [ROOM...]" in h.stdout


class SilentServer:
    """A Unix socket that accepts (or, with accept=False, leaves the
    connection in its backlog) and never answers; or, with trickle=S,
    answers a byte every S seconds."""

    ANSWER = b'{"ok":true,"result":{"version":"trickled"}}\n'

    def __init__(self, path, accept=True, trickle=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(0 if not accept else 8)
        self.held = []
        self.accept = accept
        self.trickle = trickle
        self.stop = False
        if accept:
            self.thread = threading.Thread(target=self._serve, daemon=True)
            self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.1)
        while not self.stop:
            try:
                conn = self.sock.accept()[0]
            except socket.timeout:
                continue
            self.held.append(conn)
            for i in range(len(self.ANSWER)) if self.trickle else ():
                if self.stop:
                    break
                conn.sendall(self.ANSWER[i:i + 1])
                time.sleep(self.trickle)    # the pace of the test server

    def close(self):
        self.stop = True
        if self.accept:
            self.thread.join(scaled(5))
        for s in self.held:
            s.close()
        self.sock.close()


def test_chatctl_times_out(ctl_dir):
    """A socket that accepts and never answers, and one whose backlog is
    full: chatctl gives up after -t seconds, exit status 3."""
    ctl = Ctl(os.path.join(ctl_dir, "silent.sock"))
    server = SilentServer(ctl.sock)
    try:
        t0 = time.monotonic()
        r = ctl.run("-t", "1", "status", rc=3)
        assert "chatd did not answer within 1 s" in r.err, r.err
        assert time.monotonic() - t0 < RUN_TIMEOUT
        r = ctl.run("--timeout=1", "tail", rc=3)   # before it follows, too
        assert "did not answer within 1 s" in r.err, r.err
    finally:
        server.close()
    ctl = Ctl(os.path.join(ctl_dir, "full.sock"))
    server = SilentServer(ctl.sock, accept=False)
    filler = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        filler.connect(ctl.sock)           # the one place in the backlog
        r = ctl.run("-t", "1", "status", rc=3)
        assert "chatd did not accept the connection within 1 s" in r.err, r.err
    finally:
        filler.close()
        server.close()
    # an answer that keeps coming is not cut, however long it takes
    ctl = Ctl(os.path.join(ctl_dir, "slow.sock"))
    server = SilentServer(ctl.sock, trickle=0.05)
    try:
        t0 = time.monotonic()
        r = ctl.run("-t", "1", "status")
        assert r.out.strip() == "version  trickled", r.out
        assert time.monotonic() - t0 > 1
    finally:
        server.close()
    for bad in ("x", "-1", "1y", "86401"):
        r = ctl.run("-t", bad, "status", rc=2)
        assert "not a number of seconds" in r.err, r.err


def test_tail_and_drain_outlive_the_timeout(admin):
    """Once tail or drain follow, silence is not a timeout."""
    d, ctl = admin()
    a, b = d.client(), d.client()
    assert ctl.json("-t", "0", "version")["protocol"] == 1   # 0: no timeout
    tail = ctl.stream("-t", "1", "tail")
    assert tail.line() == "tailing every room; interrupt to stop"
    # three times the timeout without a word from chatd
    assert not wait_until(lambda: tail.proc.poll() is not None, 3)
    a.send("after a quiet while")
    tail.expect(r"<%s> after a quiet while$" % a.nick)
    drain = ctl.stream("-t", "1", "drain", "60")
    assert re.match(r"draining: 2 clients left", drain.line())
    assert not wait_until(lambda: drain.proc.poll() is not None, 3)
    a.close()
    b.close()
    drain.expect(r"^ended +every client has left$")
    assert drain.proc.wait(scaled(10)) == 0
    assert d.wait_exit(10) == 0


def test_socket_is_created_carefully(admin, chatd, ctl_dir):
    d, ctl = admin()
    st = os.stat(ctl.sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    # a second daemon on the same path refuses to start
    second = chatd("--control", ctl.sock, wait=False)
    assert second.wait_exit(10) not in (None, 0)
    assert "another chatd is answering" in second.log_text()
    assert ctl.json("status")["pid"] == d.pid
    # a stale socket is replaced; a file that is not a socket is not
    stale = os.path.join(ctl_dir, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()
    d2 = chatd("--control", stale)
    assert Ctl(stale).json("status")["pid"] == d2.pid
    plain = os.path.join(ctl_dir, "plain")
    open(plain, "w").close()
    third = chatd("--control", plain, wait=False)
    assert third.wait_exit(10) not in (None, 0)
    assert "not a socket" in third.log_text()
    assert os.path.isfile(plain)


def test_control_socket_from_systemd(ctl_dir):
    """Socket activation: a socket named "control" becomes the admin socket,
    and it is left for systemd to remove."""
    activate = shutil.which("systemd-socket-activate")
    if not activate:
        pytest.skip("needs systemd-socket-activate")
    sock = os.path.join(ctl_dir, "activated.sock")
    argv = [activate, "-l", sock, "--fdname=control", chatd_exe(),
            "--listen", "127.0.0.1:0"]
    proc = subprocess.Popen(argv,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=daemon_env())
    try:
        ctl = Ctl(sock)
        assert wait_until(lambda: os.path.exists(sock), 5)
        st = ctl.json("status")         # the first connection starts chatd
        assert st["control"] == sock
        ctl.json("shutdown")
        assert proc.wait(scaled(10)) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(scaled(5))
    err = proc.stderr.read().decode()
    assert "control socket on %s (from systemd)" % sock in err, err
    assert os.path.exists(sock)         # systemd's, not chatd's, to remove


# Started as root, chatd runs as nobody (65534) unless told otherwise, so an
# outsider is another uid, with no entry in /etc/passwd.
NOBODY = 65534
OUTSIDER = 65533


def as_uid(uid, gid):
    if os.geteuid() != 0:
        pytest.skip("needs root to run chatctl as another uid")
    if not shutil.which("setpriv"):
        pytest.skip("needs setpriv")
    return ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid, "--clear-groups"]


def test_permission_denied_for_an_unprivileged_uid(admin):
    outsider = as_uid(OUTSIDER, OUTSIDER)
    d, ctl = admin(config={"control-mode": "0666"})
    r = ctl.run("kick", "someone", rc=1, prefix=outsider)
    assert "permission denied" in r.err
    d.wait_log(r"control: refused uid %d" % OUTSIDER)
    assert ctl.json("stats")["control_refused"] == 1


def test_permission_by_socket_mode_group_and_readonly_socket(admin, ctl_dir):
    member = as_uid(OUTSIDER, NOBODY)
    group = grp.getgrgid(NOBODY).gr_name
    ro = os.path.join(ctl_dir, "ro.sock")
    d, ctl = admin(config={"control-group": group, "control-readonly": ro})
    st = os.stat(ctl.sock)
    assert st.st_gid == NOBODY and stat.S_IMODE(st.st_mode) == 0o660
    assert stat.S_IMODE(os.stat(ro).st_mode) == 0o666
    # a member of control-group may act
    a = d.client()
    ctl.run("say", "#lobby", "from the group", prefix=member)
    assert a.expect("MSG ").endswith("from the group")
    # the read-only socket lets anyone look, and nothing more
    assert ctl.json("status")["control_readonly"] == ro
    nogroup = as_uid(OUTSIDER, OUTSIDER)
    assert ctl.run("rooms", sock=ro, prefix=nogroup).out.startswith("NAME")
    r = ctl.run("kick", a.nick, rc=1, sock=ro)
    assert "read-only" in r.err
    # not in the group: the socket's mode keeps it out
    r = ctl.run("status", rc=1, prefix=nogroup)
    assert "permission denied" in r.err


def test_the_user_chatd_runs_as_may_act(admin):
    """Started as root with "user", chatd gives the socket to that user,
    and that user may act through it: a user of its own (Debian's irc
    here), not the shared nobody (test_privilege.py)."""
    irc = pwd.getpwnam("irc")
    d, ctl = admin(config={"user": "irc"})
    assert os.stat(ctl.sock).st_uid == irc.pw_uid
    a = d.client()
    ctl.run("say", "#lobby", "from chatd's own user",
            prefix=as_uid(irc.pw_uid, irc.pw_gid))
    assert a.expect("MSG ").endswith("from chatd's own user")


# ---------------------------------------------------------------- hostile input

def chat_works(d, a, b, text):
    a.send(text)
    assert b.expect("MSG ") == "MSG #lobby %s %s" % (a.nick, text)


def test_garbage_and_bad_requests(admin):
    d, ctl = admin()
    a, b = d.client(), d.client()
    cases = [
        (b"hello\n", "bad-request"),
        (b"\x00\xff\xfe{{{\n", "bad-request"),
        (b"[1,2,3]\n", "bad-request"),
        (b'{"version":2,"command":"status"}\n', "bad-version"),
        (b'{"version":1,"command":"frob"}\n', "unknown-command"),
        (b'{"version":1,"command":"kick"}\n', "bad-usage"),
        (b'{"version":1,"command":"status","args":[1]}\n', "bad-request"),
        (b'{"version":1,"command":"status","args":["x"]}\n', "bad-usage"),
    ]
    for payload, code in cases:
        lines = control_lines(ctl.sock, payload)
        assert len(lines) == 1 and lines[0]["ok"] is False, (payload, lines)
        assert lines[0]["code"] == code, (payload, lines)
        chat_works(d, a, b, "still here")
    # the documented request, by hand; args after the words join as text
    lines = control_lines(ctl.sock, b'{"version":1,"command":"say","args":'
                        b'["#lobby","two","words"]}\r\n')
    assert lines == [{"ok": True, "result": {"said_in": "#lobby"}}]
    assert a.expect("MSG #lobby @operator") == "MSG #lobby @operator two words"


def test_huge_line_and_half_a_request(admin):
    d, ctl = admin()
    a, b = d.client(), d.client()
    lines = control_lines(ctl.sock, b"{" + b"x" * (200 * 1024))
    assert [l["code"] for l in lines] == ["request-too-long"]
    chat_works(d, a, b, "after the huge line")
    half = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    half.connect(ctl.sock)
    half.sendall(b'{"version": 1, "comm')
    chat_works(d, a, b, "during half a request")
    assert ctl.json("status")["clients"] == 2
    half.settimeout(scaled(20))
    answer = half.recv(4096)      # the daemon gives up on it in 10 s
    assert json.loads(answer)["code"] == "timeout"
    assert half.recv(4096) == b""
    half.close()
    chat_works(d, a, b, "after half a request")


def test_hundreds_of_connections(admin):
    d, ctl = admin()
    a, b = d.client(), d.client()
    conns = []
    for _ in range(300):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(ctl.sock)     # blocking: waits while the backlog is full
        conns.append(s)
    chat_works(d, a, b, "while the control socket is flooded")
    # the refusals come 32 per 100 ms, the socket pausing in between
    refused = wait_until(lambda: len(select.select(conns, [], [], 0)[0]) >= 300 - 64, 10)
    assert refused, "only %d refusals" % len(select.select(conns, [], [], 0)[0])
    readable, _, _ = select.select(conns, [], [], 0)
    codes = [json.loads(s.recv(4096))["code"] for s in readable]
    assert codes.count("busy") >= 300 - 64, codes
    r = ctl.run("status", rc=1)
    assert "too many control connections" in r.err
    for s in conns:
        s.close()
    assert wait_until(lambda: ctl.run("status", rc=None).returncode == 0, 5)
    chat_works(d, a, b, "after the flood")


def test_tail_client_that_stops_reading_is_cut(admin):
    d, ctl = admin(config=FAST)
    a, b = d.client(), d.client()
    t = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    t.connect(ctl.sock)
    t.sendall(b'{"version":1,"command":"tail"}\n')
    mark = d.log_mark()
    text = "z" * 1000
    for batch in range(40):
        for i in range(50):
            a.send("%d %s" % (batch * 50 + i, text))
        for i in range(50):
            expected = "MSG #lobby %s %d %s" % (a.nick, batch * 50 + i, text)
            assert a.expect("MSG ") == expected
            assert b.expect("MSG ") == expected
        if re.search(r"not reading its tail stream|stopped reading",
                     "\n".join(d.log[mark:])):
            break
    d.wait_log(r"control: client \d+ .*(not reading its tail stream|stopped reading)",
               start=mark, timeout=15)
    t.close()
    chat_works(d, a, b, "after the stalled tail")
    assert ctl.json("status")["clients"] == 2
