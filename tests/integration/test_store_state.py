"""Durable state beyond messages (chatd(8) "Database"): the server's mutes
and the operators a room remembers come back after a restart, those lifted
or expired do not, and a remembered operator needs its nick and its
address.

Needs CHATCTL besides CHATD."""

import time

from conftest import wait_until
from test_store import rows, state
from test_store_ctl import start
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
