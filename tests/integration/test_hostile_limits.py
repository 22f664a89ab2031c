"""Limits at their edge under concurrency: max-clients and max-per-ip when
many connect at once, and the flood bucket at exactly its burst.

test_limits_conn.py and test_limits.py check the same limits one client at
a time; here the edge must hold when connections and lines race.
"""

import re
import selectors
import socket
import time

import pytest

from conftest import ClientError, scaled
from hostile import FAST, RssGuard, Witness, assert_serving


def _storm(port, n, source=None, timeout=10):
    """Connect n sockets at once; return the first line each got."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if source:
            s.bind((source, 0))
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
        sel.register(s, selectors.EVENT_READ)
    first = {}
    bufs = {s: b"" for s in socks}
    deadline = time.monotonic() + scaled(timeout)
    while len(first) < n and time.monotonic() < deadline:
        for key, _ in sel.select(0.5):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            bufs[s] += data
            if b"\r\n" in bufs[s] or not data:
                first[s] = bufs[s].split(b"\r\n", 1)[0].decode()
                sel.unregister(s)
    sel.close()
    assert len(first) == n, "%d connections got no line" % (n - len(first))
    return socks, [first[s] for s in socks]


@pytest.mark.parametrize("limit", [1, 20])
def test_max_clients_edge_under_a_storm(chatd, limit):
    d = chatd(config=dict(FAST, **{"max-clients": limit, "max-per-ip": 0}))
    rss = RssGuard(d)
    socks, first = _storm(d.port, limit + 30)
    hello = [l for l in first if l.startswith("HELLO ")]
    full = [l for l in first if l.startswith("BYE server-full")]
    assert len(hello) == limit and len(full) == 30, first
    # the refused are closed; the accepted still work
    for s, line in zip(socks, first):
        if line.startswith("HELLO "):
            s.setblocking(True)
            s.settimeout(scaled(5))
            s.sendall(b"/who\n")
            data = b""
            while b"WHO " not in data:
                data += s.recv(4096)
    for s in socks:
        s.close()
    # once they are gone, exactly `limit` get in again
    deadline = time.monotonic() + scaled(5)
    while True:
        socks, first = _storm(d.port, limit + 5)
        n = sum(l.startswith("HELLO ") for l in first)
        for s in socks:
            s.close()
        if n == limit:
            break
        assert time.monotonic() < deadline, first
        time.sleep(0.2)
    rss.check()
    if limit >= 2:
        # the daemon sees those last closes a moment later
        deadline = time.monotonic() + scaled(10)
        while True:
            try:
                assert_serving(d)
                break
            except ClientError as e:
                if "server-full" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def test_max_per_ip_edge_under_a_storm(chatd):
    d = chatd(config=dict(FAST, **{"max-per-ip": 10}))
    w = Witness(d).start()          # two of the ten
    rss = RssGuard(d)
    socks, first = _storm(d.port, 30)
    hello = [l for l in first if l.startswith("HELLO ")]
    refused = [l for l in first if l.startswith("BYE too-many-from-address")]
    assert len(hello) == 8 and len(refused) == 22, first
    try:
        others, first2 = _storm(d.port, 12, source="127.0.0.2")
    except OSError as e:
        pytest.skip("cannot bind 127.0.0.2: %s" % e)
    assert sum(l.startswith("HELLO ") for l in first2) == 10, first2
    for s in socks + others:
        s.close()
    n, worst = w.stop()
    assert worst < scaled(1.0), worst
    rss.check()
    assert_serving(d)


RATE, BURST = 20, 10


def test_flood_bucket_at_its_edge(chatd):
    """Exactly flood-burst lines go through at once; the next ones are
    paced at flood-rate; none is dropped; a bystander does not wait."""
    d = chatd(config={"flood-rate": RATE, "flood-burst": BURST})
    f = d.client(name="flooder")
    bystander = d.client(name="bystander")
    f.sync()
    bystander.sync()
    time.sleep(1.0)                 # the bucket is full again
    prefix = "MSG #lobby %s " % f.nick
    t0 = time.monotonic()
    f.send_raw("".join("burst %02d\n" % i for i in range(BURST)).encode())
    for i in range(BURST):
        assert f.expect(prefix) == prefix + "burst %02d" % i
    burst_time = time.monotonic() - t0
    assert burst_time < scaled(0.5), "a burst of flood-burst lines took %.2fs" % burst_time
    # now the bucket is empty: 40 more lines take 40 / flood-rate seconds
    n = 40
    t1 = time.monotonic()
    f.send_raw("".join("paced %02d\n" % i for i in range(n)).encode())
    arrivals = []
    waits = []
    for i in range(n):
        if i % 8 == 0:
            ts = time.monotonic()
            bystander.send("bystander %d" % i)
            bystander.expect("MSG #lobby %s bystander %d" % (bystander.nick, i))
            waits.append(time.monotonic() - ts)
        assert f.expect(prefix, timeout=5) == prefix + "paced %02d" % i
        arrivals.append(time.monotonic() - t1)
    total = arrivals[-1]
    assert n / RATE * 0.8 <= total <= n / RATE + scaled(1.0), \
        "%d lines at %d/s took %.2fs" % (n, RATE, total)
    # paced, not bunched: no second holds more than rate + 1 lines
    for s in range(int(total) + 1):
        assert sum(s <= a < s + 1 for a in arrivals) <= RATE + 1, arrivals
    assert max(waits) < scaled(0.5), "the bystander waited %.2fs" % max(waits)
    # the bystander got every flood line, in order
    bystander.sync()
    got = [l for l in bystander.history if l.startswith(prefix)]
    assert [l[len(prefix):] for l in got] == \
        ["burst %02d" % i for i in range(BURST)] + ["paced %02d" % i for i in range(n)]


def test_flood_bucket_edge_with_acks(chatd):
    """With acknowledgements, exactly the tokens in the bucket are handled
    at once; the line after them waits for the next token (it is read
    later, not refused), and is handled and ACKed then."""
    d = chatd(config={"flood-rate": 2, "flood-burst": 4})
    a = d.client()
    b = d.client()
    b.sync()
    a.send("/ack on")
    a.expect("ACK ")
    time.sleep(2.2)                  # refill: the bucket is full again
    first = a.sent_lines + 1
    t0 = time.monotonic()
    a.send_raw("".join("edge %d\n" % i for i in range(6)).encode())
    at = []
    while len(at) < 6:
        line = a.line(timeout=5)
        assert not line.startswith("NACK"), line
        m = re.match(r"^ACK (\d+)$", line)
        if m:
            assert int(m.group(1)) == first + len(at)
            at.append(time.monotonic() - t0)
    assert at[4] >= 0.5 - 0.05 and at[5] >= 1.0 - 0.05, at
    assert at[3] < at[4], at
    got = [l for l in b.sync() if l.startswith("MSG #lobby %s " % a.nick)]
    assert [l.split(" ", 3)[3] for l in got] == ["edge %d" % i for i in range(6)]
