"""chatctl on the history database: db, history, backup (while chat goes
on), purge, and status; and history degraded by a disk that refuses writes
(a file size limit on the daemon) while chat keeps working, then resuming
by itself.

Needs CHATCTL besides CHATD."""

import os
import sqlite3
import subprocess
import threading

from conftest import scaled, wait_until
from test_chatctl import Ctl, ctl_dir  # noqa: F401 (a fixture)
from test_store import FAST, hist_until, rows, state


def start(chatd, ctl_dir, tmp_path, *args, config=FAST):
    sock = os.path.join(ctl_dir, "control.sock")
    d = chatd("--control", sock, *args, config=config)
    return d, Ctl(sock)


def said(client, n, prefix="n"):
    client.send("/ack on")
    client.expect("ACK")
    for i in range(n):
        client.send("%s %d" % (prefix, i))
        client.expect("ACK")


def db_rows(ctl):
    return ctl.json("db")["rows"]


def test_db_history_backup_purge(chatd, ctl_dir, tmp_path):
    db = state(tmp_path)
    d, ctl = start(chatd, ctl_dir, tmp_path, "--database", db)
    alice = d.client()
    said(alice, 30)
    assert wait_until(lambda: db_rows(ctl) == 30, 10)
    info = ctl.json("db")
    assert info["path"] == db and info["degraded"] is False
    assert info["queued"] == 0 and info["dropped"] == 0 and info["size_bytes"] > 0
    assert ctl.json("status")["history"] == "ok"
    assert "rows" in ctl.run("db").out

    hist = ctl.json("history", "lobby", "5")["messages"]
    assert [m["text"] for m in hist] == ["n %d" % i for i in range(25, 30)]
    assert all(m["from"] == alice.nick and m["kind"] == "say" for m in hist)
    ids = [m["id"] for m in hist]
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert "n 29" in ctl.run("history", "#lobby", "2").out
    assert "1 to 1000" in ctl.run("history", "lobby", "0", rc=1).err

    # A backup while someone keeps talking: a consistent copy, a prefix.
    bob = d.client()
    bob.send("/ack on")
    bob.expect_with_skipped("ACK")
    stop = threading.Event()

    def chat():
        i = 0
        while not stop.is_set() and i < 3000:
            bob.send("b %d" % i)
            i += 1
    t = threading.Thread(target=chat)
    t.start()
    try:
        copy = os.path.join(os.path.dirname(db), "copy.db")
        assert "done" in ctl.run("backup", copy).out
    finally:
        stop.set()
        t.join(scaled(30))
    assert rows(copy, "PRAGMA integrity_check") == [("ok",)]
    assert os.stat(copy).st_mode & 0o777 == 0o600
    got = [b for (b,) in rows(copy, "SELECT body FROM messages ORDER BY id")]
    assert got[:30] == ["n %d" % i for i in range(30)]
    assert got[30:] == ["b %d" % i for i in range(len(got) - 30)]
    assert "File exists" in ctl.run("backup", copy, rc=1).err
    assert "absolute path" in ctl.run("backup", "copy.db", rc=1).err

    # purge: gone from the file and from scrollback.
    assert "done" in ctl.run("purge", "lobby").out
    assert rows(db, "SELECT count(*) FROM messages WHERE room = '#lobby'") == [(0,)]
    carol = d.client()
    carol.send("/ack on")
    assert hist_until(carol, "ACK") == []


def test_without_a_database(chatd, ctl_dir, tmp_path):
    d, ctl = start(chatd, ctl_dir, tmp_path)
    alice = d.client()
    said(alice, 3)
    assert ctl.json("status")["history"] == "none"
    assert ctl.json("db")["path"] is None
    hist = ctl.json("history", "lobby")["messages"]
    assert [m["text"] for m in hist] == ["n 0", "n 1", "n 2"]
    assert "no room" in ctl.run("history", "nowhere", rc=1).err
    assert "no database" in ctl.run("backup", "/tmp/never.db", rc=1).err


def prlimit_fsize(pid, soft):
    """Set the daemon's soft file size limit, as the daemon's own user: root
    may lack CAP_SYS_RESOURCE (containers), which another uid's needs."""
    with open("/proc/%d/status" % pid) as f:
        ids = dict(line.split(":", 1) for line in f if line[:4] in ("Uid:", "Gid:"))
    uid, gid = int(ids["Uid"].split()[0]), int(ids["Gid"].split()[0])
    as_daemon = []
    if (uid, gid) != (os.getuid(), os.getgid()):
        as_daemon = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid, "--clear-groups"]
    subprocess.run(as_daemon + ["prlimit", "--pid", str(pid), "--fsize=%s:unlimited" % soft],
                   check=True, timeout=scaled(10))


def test_disk_refusing_writes_degrades_then_resumes(chatd, ctl_dir, tmp_path):
    db = state(tmp_path)
    d, ctl = start(chatd, ctl_dir, tmp_path, "--database", db)
    alice = d.client()
    said(alice, 5, "before")
    assert wait_until(lambda: db_rows(ctl) == 5, 10)
    # No file of the daemon may grow past a few bytes: every commit fails.
    prlimit_fsize(d.proc.pid, 1)
    alice.send("x" * 3000)
    alice.expect("ACK")
    assert wait_until(lambda: ctl.json("db")["degraded"], 20)
    status = ctl.json("status")["history"]
    assert status.startswith("degraded: "), status
    assert d.wait_log("history degraded: " + db, timeout=10)
    # Chat goes on: everyone still gets everything.
    bob = d.client()
    said(alice, 5, "during")
    bob.expect("MSG #lobby %s during 4" % alice.nick)
    assert ctl.json("db")["queued"] >= 1
    prlimit_fsize(d.proc.pid, "unlimited")
    assert wait_until(lambda: not ctl.json("db")["degraded"], 20)
    assert d.wait_log("history writes resumed", timeout=10)
    assert wait_until(lambda: ctl.json("db")["queued"] == 0, 10)
    assert ctl.json("status")["history"] == "ok"
    bodies = [b for (b,) in rows(db, "SELECT body FROM messages ORDER BY id")]
    assert bodies == (["before %d" % i for i in range(5)] + ["x" * 3000]
                      + ["during %d" % i for i in range(5)])


def test_restart_restores_moderation_and_bans(chatd, ctl_dir, tmp_path):
    db = state(tmp_path)
    d, ctl = start(chatd, ctl_dir, tmp_path, "--database", db)
    alice = d.client()
    alice.send("/ack on")
    alice.expect("ACK")
    alice.send("/join #mod")
    alice.expect("ACK")
    alice.send("/mode #mod +tk sesame")
    alice.expect("ACK")
    alice.send("/mode #mod +b mallory")
    alice.expect("ACK")
    alice.send("/topic locked in")
    alice.expect("ACK")
    ctl.run("ban", "add", "192.0.2.9", "1h", "spam")
    ctl.run("ban", "add", "evil")
    ctl.run("ban", "add", "198.51.100.1")
    ctl.run("ban", "del", "198.51.100.1")
    before = {b["target"]: b for b in ctl.json("ban", "list")["bans"]}
    assert wait_until(lambda: ctl.json("db")["queued"] == 0, 10)
    assert d.stop_and_check() == []

    d2, ctl2 = start(chatd, ctl_dir, tmp_path, "--database", db)
    after = {b["target"]: b for b in ctl2.json("ban", "list")["bans"]}
    assert after == before and set(after) == {"192.0.2.9", "evil"}
    bob = d2.client()
    bob.send("/ack on")
    bob.expect_with_skipped("ACK")
    bob.send("/join #mod")
    assert "bad-key" in bob.expect("NACK ")
    bob.send("/join #mod sesame")
    bob.expect("ACK")
    bob.send("/mode #mod")
    modes = bob.expect("MODES #mod")
    assert modes.split()[2] == "+ntk" and modes.split()[3] == "sesame", modes
    bob.expect("BAN #mod mallory!*@* %s " % alice.nick)
    bob.send("/topic")
    bob.expect("TOPIC #mod %s locked in" % alice.nick)
    bob.expect("ACK")
    bob.send("/topic changed")
    # +t: bob is no operator of the restored room, though he is alice's
    # guest nick again, from her address: a guest nick is never remembered.
    bob.expect("NACK ")
