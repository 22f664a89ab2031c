"""Signals: SIGTERM/SIGINT shutdown, SIGHUP reload."""

import re
import signal
import socket
import time

import pytest

from conftest import daemon_queue, scaled


def assert_refused(port, host="127.0.0.1"):
    try:
        s = socket.create_connection((host, port), timeout=scaled(2))
    except (ConnectionRefusedError, ConnectionResetError):
        return
    except socket.timeout:
        pytest.fail("connection attempt to a stopping daemon timed out instead of being refused")
    # Accepted at the TCP level: the daemon must at least not greet us.
    s.settimeout(scaled(2))
    try:
        data = s.recv(4096)
    except (ConnectionResetError, socket.timeout):
        data = b""
    finally:
        s.close()
    pytest.fail("new connection accepted during/after shutdown (got %r)" % data)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_shutdown_says_bye_and_exits_zero(chatd, sig):
    grace = 2
    d = chatd(config={"shutdown-grace": grace})
    clients = [d.client() for _ in range(3)]
    clients[1].send("/join #elsewhere")
    clients[1].expect("ROOM #elsewhere")
    clients[2].send("/part")
    clients[2].expect("PART ")
    for c in clients:
        c.sync()
    t0 = time.monotonic()
    d.signal(sig)
    for c in clients:
        lines = c.wait_eof(timeout=grace + 3)
        assert lines, "no BYE before EOF"
        assert lines[-1].startswith("BYE shutdown"), lines
    assert_refused(d.port)
    rc = d.wait_exit(grace + 5)
    assert rc is not None, "daemon still running %ds after the signal" % (grace + 5)
    assert rc == 0, "exit status %s" % rc
    assert time.monotonic() - t0 < grace + scaled(3)
    assert_refused(d.port)


def test_shutdown_grace_bounds_exit_with_stalled_client(chatd):
    """A client that does not read cannot hold the daemon past the grace."""
    grace = 2
    d = chatd(config={"shutdown-grace": grace, "sendq-hard": 4194304, "sendq-soft": 4194304,
                      "sendq-soft-seconds": 600, "flood-rate": 100000, "flood-burst": 100000})
    s = d.client(rcvbuf=4096)
    p = d.client()
    for c in (s, p):
        c.send("/join #grace")
        c.expect("ROOM #grace")
    s.sync()
    p.sync()
    base_rx = s.rx_total
    p.send("/ack on")
    p.expect("ACK ")
    expected = 0
    seq = 0
    t0 = time.monotonic()
    # fill the kernel buffers and leave >= 100 KB inside the daemon
    while True:
        assert time.monotonic() - t0 < scaled(60), "could not fill the stalled client's queue"
        q = daemon_queue(d, s, expected, base_rx)
        assert q is not None, "stalled client was disconnected early"
        if q > 100000:
            break
        for _ in range(20):
            text = "%06d %s" % (seq, "g" * 2000)
            seq += 1
            expected += len(("MSG #grace %s %s\r\n" % (p.nick, text)).encode())
            p.send(text)
        for _ in range(20):
            p.expect(("ACK ", "NACK "), timeout=10)
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    p_lines = p.wait_eof(timeout=grace + 3)
    assert p_lines and p_lines[-1].startswith("BYE shutdown"), p_lines[-5:]
    assert_refused(d.port)
    rc = d.wait_exit(grace + 5)
    elapsed = time.monotonic() - t0
    assert rc is not None, "daemon did not exit within grace (%ds) + 5 s" % grace
    assert rc == 0
    assert elapsed < grace + scaled(3), "exit took %.1fs with shutdown-grace %d" % (elapsed, grace)


def test_sighup_applies_new_config_without_disconnecting(chatd):
    d = chatd(config={"max-line": 512})
    a, b = d.client(), d.client()
    a.send("x" * 600)
    assert a.expect(("ERR ", "MSG ")).startswith("ERR line-too-long")
    d.reload({"max-line": 1024})
    deadline = time.monotonic() + scaled(5)
    while True:
        a.send("z" * 600)
        line = a.expect(("ERR ", "MSG "))
        if line.startswith("MSG "):
            break
        assert line.startswith("ERR line-too-long"), line
        assert time.monotonic() < deadline, "new max-line not applied 5 s after SIGHUP"
        time.sleep(0.2)
    assert line == "MSG #lobby %s %s" % (a.nick, "z" * 600)
    assert b.expect("MSG ") == "MSG #lobby %s %s" % (a.nick, "z" * 600)
    a.send("x" * 1025)
    assert a.expect(("ERR ", "MSG ")).startswith("ERR line-too-long")
    assert d.alive()


def test_sighup_changes_scrollback(chatd):
    fast = {"flood-burst": 100, "flood-rate": 100}
    d = chatd(config=dict(fast, scrollback=20))
    a = d.client()
    d.reload(dict(fast, scrollback=3))
    deadline = time.monotonic() + scaled(5)
    k = 0
    while True:
        # a room created after the reload keeps 3 messages
        k += 1
        room = "#new%d" % k
        a.send("/join " + room)
        a.expect("ROOM " + room)
        for i in range(10):
            a.send("m%d" % i)
        a.expect("MSG %s %s m9" % (room, a.nick))
        a.send("/history 10")
        hist = [l for l in a.sync() if l.startswith("HIST ")]
        if len(hist) <= 3:
            break
        assert time.monotonic() < deadline, "scrollback not reduced after SIGHUP: %d" % len(hist)
        a.send("/part")
        a.expect("PART " + room)
        time.sleep(0.2)
    assert [h.split(" ", 2)[2] for h in hist] == ["MSG %s %s m%d" % (room, a.nick, i)
                                                  for i in range(7, 10)]


def test_sighup_with_invalid_config_keeps_old(chatd):
    d = chatd(config={"max-line": 512})
    a = d.client()
    mark = d.log_mark()
    d.reload(["max-line = 1024", "scrollback = 5", "flood-rate = banana"])
    d.wait_log(re.escape(d.config_path) + r":3(\D|$)", timeout=5, start=mark)
    time.sleep(0.3)
    assert d.alive()
    # behaviour unchanged: nothing of the bad file was applied
    a.send("x" * 600)
    assert a.expect(("ERR ", "MSG ")).startswith("ERR line-too-long")
    a.send("y" * 500)
    assert a.expect(("ERR ", "MSG ")) == "MSG #lobby %s %s" % (a.nick, "y" * 500)
    # a later good reload still works
    d.reload({"max-line": 1024})
    deadline = time.monotonic() + scaled(5)
    while True:
        a.send("w" * 600)
        line = a.expect(("ERR ", "MSG "))
        if line.startswith("MSG "):
            break
        assert time.monotonic() < deadline, "good config after a bad one not applied"
        time.sleep(0.2)


def test_sighup_without_config_file_is_harmless(chatd):
    d = chatd()
    a = d.client()
    d.signal(signal.SIGHUP)
    time.sleep(0.5)
    assert d.alive()
    a.send("still here")
    assert a.expect("MSG ") == "MSG #lobby %s still here" % a.nick
