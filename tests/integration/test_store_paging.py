"""Paging history by message id in the line protocol (/history N latest,
/history N before ID: HISTID lines, then HISTEND): through 10,000 messages
from the database with no gap and no duplicate, the pages read off the
loop; and the same form served from scrollback without a database."""

import re
import time

from conftest import scaled
from test_store import FAST, state

HISTID = re.compile(r"HISTID (\d+) (\S+) MSG #lobby (\S+) (.*)$")


def page(client, n, before=None):
    """One page, oldest first: [(id, text)]."""
    client.send("/history %d %s" % (n, "latest" if before is None else "before %d" % before))
    got = []
    while True:
        line = client.line(timeout=30)
        if line.startswith("HISTEND "):
            assert int(line.split()[2]) == len(got), line
            return got
        m = HISTID.match(line)
        if m:
            got.append((int(m.group(1)), m.group(4)))


def say_many(client, lines):
    """Send lines with acknowledgements on and wait for all their ACKs,
    reading the raw socket (the echoes are not looked at)."""
    client.send("/ack on")
    client.expect("ACK")
    client.send_raw("".join("%s\n" % t for t in lines).encode())
    deadline = time.monotonic() + scaled(60)
    acks, tail = 0, b""
    while acks < len(lines):
        assert time.monotonic() < deadline, "%d of %d acknowledged" % (acks, len(lines))
        data = client.sock.recv(1 << 20)
        assert data, "connection closed"
        data = tail + data
        acks += data.count(b"\r\nACK ") + data.startswith(b"ACK ")
        tail = data[-8:]
        # a line split across reads: count it once, in the next round
        acks -= tail.count(b"\r\nACK ")


def all_pages(client, n):
    seen, before = [], None
    while True:
        got = page(client, n, before)
        if not got:
            return seen
        assert [i for i, _ in got] == sorted(i for i, _ in got)
        seen = got + seen
        before = got[0][0]


def test_paging_ten_thousand_messages(chatd, tmp_path):
    config = dict(FAST, **{"history-queue": 20000, "sendq-hard": "4m",
                           "sendq-soft": "1m"})
    d = chatd("--database", state(tmp_path), config=config)
    alice = d.client()
    say_many(alice, ["m %d" % i for i in range(10000)])
    bob = d.client()
    seen = all_pages(bob, 1000)
    texts = [t for _, t in seen]
    assert len(texts) == 10000 and texts == ["m %d" % i for i in range(10000)], \
        "%d seen, first wrong: %r" % (len(texts), next(
            (t for i, t in enumerate(texts) if t != "m %d" % i), None))
    ids = [i for i, _ in seen]
    assert len(set(ids)) == 10000 and ids == sorted(ids)
    # A page is cut to what fits below sendq-soft, and the next goes on
    # below it: still nothing skipped.
    assert page(bob, 3, ids[5]) == seen[2:5]
    bob.send("/history 1001 latest")
    assert "bad-usage" in bob.expect("ERR ")
    bob.send("/history 5 before x")
    assert "bad-usage" in bob.expect("ERR ")


def test_a_page_answers_before_the_next_line(chatd, tmp_path):
    """A page read from the database holds the client's next lines: its
    HISTEND and ACK come before the next line's answer, and it is the
    history as the request found it (not the line said after it)."""
    d = chatd("--database", state(tmp_path), config=FAST)
    c = d.client()
    c.send("/ack on")
    c.expect("ACK 1")
    c.send_raw(b"first\n/history 3 latest\nsecond\n/history 3 latest\n")
    got = [c.line() for _ in range(11)]
    assert [re.sub(r"^(HISTID) \d+ \S+ ", r"\1 ", l) for l in got] == [
        "MSG #lobby %s first" % c.nick, "ACK 2",
        "HISTID MSG #lobby %s first" % c.nick, "HISTEND #lobby 1", "ACK 3",
        "MSG #lobby %s second" % c.nick, "ACK 4",
        "HISTID MSG #lobby %s first" % c.nick,
        "HISTID MSG #lobby %s second" % c.nick, "HISTEND #lobby 2", "ACK 5"], got
    c.close()
    c = d.client()            # a client that leaves while its page is read
    c.send("/history 3 latest")
    c.close()
    assert_serving_after(d)


def assert_serving_after(d):
    c = d.client()
    c.send("/history 1 latest")
    assert c.expect("HISTEND ").startswith("HISTEND #lobby")


def test_paging_from_scrollback_without_a_database(chatd):
    d = chatd(config=dict(FAST, scrollback=50))
    alice = d.client()
    for i in range(60):
        alice.send("s %d" % i)
    alice.send("/ack on")
    alice.expect_with_skipped("ACK")
    seen = all_pages(alice, 7)
    assert [t for _, t in seen] == ["s %d" % i for i in range(10, 60)]
    # The old form is unchanged: HIST lines, no ids.
    alice.send("/history 2")
    assert alice.expect("HIST ").endswith("MSG #lobby %s s 58" % alice.nick)
