"""Connection limits: max-clients, max-per-ip, idle-timeout."""

import socket
import time

import pytest

from conftest import ClientError, scaled


def test_max_clients(chatd):
    d = chatd(config={"max-clients": 3})
    clients = [d.client() for _ in range(3)]
    extra = d.connect_raw()
    lines = extra.wait_eof(timeout=5)
    assert lines and lines[0].startswith("BYE server-full"), lines
    assert len(lines) == 1, lines
    # the three are unaffected
    for c in clients:
        assert c.sync() is not None
    # after one leaves, a new client is accepted
    clients[0].send("/quit")
    clients[0].wait_eof()
    clients[1].expect("QUIT %s" % clients[0].nick)
    # the quitter keeps its socket open: chatd waits shutdown-grace (5 s)
    # for its EOF before it lets the slot go
    deadline = time.monotonic() + 5 + scaled(5)
    while True:
        c = d.connect_raw()
        first = c.line(timeout=5)
        if first.startswith("HELLO "):
            break
        assert first.startswith("BYE server-full"), first
        c.close()
        assert time.monotonic() < deadline, "slot not freed after a client quit"
        time.sleep(0.1)
    c.sync()


def test_max_per_ip(chatd):
    d = chatd(config={"max-per-ip": 2})
    a, b = d.client(), d.client()
    extra = d.connect_raw()
    lines = extra.wait_eof(timeout=5)
    assert lines and lines[0].startswith("BYE too-many-from-address"), lines
    # another source address is counted separately
    try:
        other = d.client(source="127.0.0.2")
    except OSError as e:
        pytest.skip("cannot bind 127.0.0.2: %s" % e)
    assert other.hello.startswith("HELLO ")
    b.close()
    a.expect("QUIT %s" % b.nick)
    deadline = time.monotonic() + scaled(5)
    while True:
        c = d.connect_raw()
        first = c.line(timeout=5)
        if first.startswith("HELLO "):
            break
        assert first.startswith("BYE too-many-from-address"), first
        c.close()
        assert time.monotonic() < deadline, "per-address slot not freed"
        time.sleep(0.1)


def test_server_full_count_is_not_leaked_by_refusals(chatd):
    d = chatd(config={"max-clients": 2})
    a = d.client()
    for _ in range(5):
        d.client().close()          # connect and vanish
        time.sleep(0.05)
    b = None
    deadline = time.monotonic() + scaled(5)
    while b is None:
        c = d.connect_raw()
        first = c.line(timeout=5)
        if first.startswith("HELLO "):
            b = c
            break
        c.close()
        assert time.monotonic() < deadline, "slots leaked: %r" % first
        time.sleep(0.1)
    extra = d.connect_raw()
    assert extra.wait_eof(timeout=5)[0].startswith("BYE server-full")
    a.sync()


def test_idle_timeout(chatd):
    d = chatd(config={"idle-timeout": 1})
    idle = d.client(name="idle")
    active = d.client(name="active")
    active.send("/join #active")
    active.expect("ROOM #active")
    t0 = time.monotonic()
    idle_closed_at = None
    idle_lines = []
    while time.monotonic() - t0 < scaled(4.0):
        active.send("still here")
        active.expect("MSG #active %s still here" % active.nick, timeout=2)
        if idle_closed_at is None and idle.is_closed_by_peer(timeout=0.5):
            idle_closed_at = time.monotonic()
        elif idle_closed_at is not None:
            time.sleep(0.5)
    assert idle_closed_at is not None, "idle client not disconnected within 4 s (idle-timeout 1)"
    assert idle_closed_at - t0 <= scaled(3.5)
    assert any(l.startswith("BYE idle-timeout") for l in idle.history), idle.history
    assert idle.history[-1].startswith("BYE idle-timeout"), idle.history
    # the active client is still there
    active.sync()


def test_idle_timeout_off_by_default(chatd):
    d = chatd()
    a = d.client()
    time.sleep(2.5)
    a.sync()
