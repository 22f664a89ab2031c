"""Durable state beyond messages (chatd(8) STORAGE): the server's mutes
and the operators a room remembers come back after a restart, those lifted
or expired do not, and a remembered operator needs its nick and its
address; the rooms spoken in come back first within max-rooms; and
history degraded by a database file made read-only (immutable)
while chatd runs, chat going on, then resuming by itself.

Needs CHATCTL besides CHATD."""

import subprocess
import time

import pytest

from conftest import scaled, wait_until
from test_store import FAST, hist_until, rows, state
from test_store_ctl import said, start
from test_chatctl import ctl_dir  # noqa: F401 (a fixture)


def named(d, nick, **kw):
    """A line client called nick, acknowledgements on, nothing left to read."""
    c = d.client(**kw)
    c.send("/ack on")
    c.expect("ACK")
    c.send("/nick " + nick)
    c.expect("NICK %s %s" % (c.nick, nick))
    c.expect("ACK")
    c.nick = nick
    return c


def join(c, room):
    c.send("/join " + room)
    line = c.expect(("ACK ", "NACK "))
    assert line.startswith("ACK "), line


def roles(c, room):
    c.send("/who " + room)
    return c.expect("ROLES ")


def speaks(c, text):
    """Whether c may say text: ACK, or NACK muted."""
    c.send(text)
    line = c.expect(("ACK ", "NACK "))
    assert line.startswith("ACK ") or " muted " in line, line
    return line.startswith("ACK ")


def test_restart_restores_mutes_and_operators(chatd, ctl_dir, tmp_path):
    db = state(tmp_path)
    d, ctl = start(chatd, ctl_dir, tmp_path, "--database", db)
    alice, bob, carol = (named(d, n) for n in ("alice", "bob", "carol"))
    for c in (alice, bob, carol):
        join(c, "#ops")
    alice.send("/mode #ops +oo bob carol")
    alice.expect("MODE #ops alice +oo bob carol")
    alice.send("/mode #ops -o carol")       # carol is forgotten
    alice.expect("MODE #ops alice -o carol")
    loud, brief = named(d, "loud"), named(d, "brief")
    ctl.run("mute", "loud", "1h")
    ctl.run("mute", "brief", "1s")
    ctl.run("mute", "carol")
    ctl.run("unmute", "carol")
    muted_at = time.time()
    assert not speaks(loud, "before")
    assert wait_until(lambda: ctl.json("db")["queued"] == 0, 10)
    assert d.stop_and_check() == []
    assert sorted(rows(db, "SELECT nick FROM mutes")) == [("brief",), ("loud",)]
    # brief's mute is over before chatd starts again, whatever the load.
    time.sleep(max(0.0, muted_at + 1.5 - time.time()))

    d2, ctl2 = start(chatd, ctl_dir, tmp_path, "--database", db)
    assert d2.wait_log("1 mutes restored", timeout=10)
    loud2, brief2 = named(d2, "loud"), named(d2, "brief")
    assert not speaks(loud2, "after")
    assert speaks(brief2, "free")
    assert rows(db, "SELECT nick FROM mutes") == [("loud",)]
    muted = {c["nick"]: c["muted"] for c in ctl2.json("clients")["clients"]}
    assert muted["loud"] is True and muted["brief"] is False
    # alice comes back from her address: operator.  bob's nick from
    # another address is not enough; carol was made no operator.
    alice2 = named(d2, "alice")
    bob2 = named(d2, "bob", source="127.0.0.2")
    carol2 = named(d2, "carol")
    for c in (alice2, bob2, carol2):
        join(c, "#ops")
    assert roles(carol2, "#ops") == "ROLES #ops @alice"
    alice2.send("/mode #ops +t")
    alice2.expect("MODE #ops alice +t")
    bob2.send("/mode #ops -t")
    assert "not-operator" in bob2.expect("NACK ")


def chattr(flag, *files):
    return subprocess.run(["chattr", flag] + list(files), capture_output=True,
                          timeout=scaled(10)).returncode == 0


def test_read_only_file_degrades_then_resumes(chatd, ctl_dir, tmp_path):
    """chmod does not stop a process writing through descriptors it has
    open; an immutable file (chattr +i, as a file system remounted
    read-only) does: each write fails (EPERM), the commit is rolled back."""
    db = state(tmp_path)
    d, ctl = start(chatd, ctl_dir, tmp_path, "--database", db)
    alice = d.client()
    said(alice, 5, "before")
    assert wait_until(lambda: ctl.json("db")["rows"] == 5, 10)
    files = [db, db + "-wal"]
    if not chattr("+i", *files):
        pytest.skip("chattr +i: not root, or the file system has no "
                    "immutable files")
    try:
        said(alice, 5, "during")
        assert wait_until(lambda: ctl.json("db")["degraded"], 20)
        status = ctl.json("status")["history"]
        assert status.startswith("degraded: "), status
        assert d.wait_log("history degraded: " + db, timeout=10)
        bob = d.client()
        said(alice, 3, "still")
        bob.expect("MSG #lobby %s still 2" % alice.nick)
        assert ctl.json("db")["queued"] >= 1
    finally:
        assert chattr("-i", *files)
    assert wait_until(lambda: not ctl.json("db")["degraded"], 20)
    assert d.wait_log("history writes resumed", timeout=10)
    assert wait_until(lambda: ctl.json("db")["queued"] == 0, 10)
    assert ctl.json("status")["history"] == "ok"
    said(alice, 2, "after")
    assert wait_until(lambda: ctl.json("db")["rows"] == 15, 10)
    bodies = [b for (b,) in rows(db, "SELECT body FROM messages ORDER BY id")]
    assert bodies == (["before %d" % i for i in range(5)]
                      + ["during %d" % i for i in range(5)]
                      + ["still %d" % i for i in range(3)]
                      + ["after %d" % i for i in range(2)])


def test_spoken_rooms_come_back_first_within_max_rooms(chatd, ctl_dir, tmp_path):
    """Every room made is kept (its creator is its remembered operator);
    when more are kept than max-rooms, the ones spoken in come back, with
    their lines, before those nobody spoke in."""
    db = state(tmp_path)
    d, ctl = start(chatd, ctl_dir, tmp_path, "--database", db)
    alice = named(d, "alice")
    for n in range(6):                  # made first: first in the file
        join(alice, "#idle%d" % n)
    join(alice, "#spoken")
    assert speaks(alice, "still here")
    assert wait_until(lambda: ctl.json("db")["queued"] == 0, 10)
    assert d.stop_and_check() == []
    assert len(rows(db, "SELECT name FROM rooms")) == 7

    config = dict(FAST, **{"max-rooms": 3})
    d2, _ = start(chatd, ctl_dir, tmp_path, "--database", db, config=config)
    bob = named(d2, "bob")
    bob.send("/join #spoken")
    hist = hist_until(bob, "ACK ")
    assert [h.split(" ", 2)[2] for h in hist] == ["MSG #spoken alice still here"]
