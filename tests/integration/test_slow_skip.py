"""Skip mode for readers that fall behind (issue 13, slow-consumer = skip,
/slow, IRC user mode +l): a reader that stops reading during a burst loses
its oldest queued room messages, not its connection, is told of each gap by
one SKIP line (a NOTICE on IRC), and fills it from /history; sendq-hard
still cuts, and the default still disconnects.

Determinism: the reader stalls until the whole burst is queued to it (the
publisher's last ACK), and at least PAUSE seconds; the kernel holds only a
few KiB for it (small SO_RCVBUF and socket-send-buffer), so a burst of a
hundred KiB must overflow its 16 KiB sendq-soft whatever the machine's
speed.  How many messages go is not asserted, only what the reader is told
about them and that nothing else is lost.
"""

import re
import time

from conftest import scaled, wait_until, write_config
from hostile import control_request, stats
from test_cli import run
from test_irc import SERVER, Irc
from test_metrics import figures, metrics_port

CFG = {
    "sendq-soft": 16384,
    "sendq-hard": 1048576,
    "sendq-soft-seconds": 3600,     # only skipping or sendq-hard act
    "socket-send-buffer": 4096,
    "flood-rate": 100000,
    "flood-burst": 100000,
    "flood-rate-per-ip": 0,
    "scrollback": 10000,
    "server-name": SERVER,
}
BURST = 1000
PAUSE = 5.0
SMALL_RCVBUF = 4096
MSG_RE = re.compile(r"MSG #lobby (\S+) (m\d{4}|own-\d) ")
SKIP_RE = re.compile(r"SKIP #lobby (\d+) (\d+) (\d+)$")
HISTID_RE = re.compile(r"HISTID (\d+) \S+ MSG #lobby (\S+) (\S+)")


def text(i):
    return "m%04d " % i + "x" * 100


def burst(p, lines):
    """p says lines in its room; returns once every one was taken."""
    p.send_raw("".join(t + "\n" for t in lines).encode())
    p.expect("ACK %d" % p.sent_lines, timeout=60)


def start(chatd, tmp_path, config=None, metrics=False):
    ctl = str(tmp_path / "ctl.sock")
    args = ["--control", ctl, "--listen-irc", "127.0.0.1:0"]
    if metrics:
        args += ["--listen-metrics", "127.0.0.1:0"]
    d = chatd(*args, config=dict(CFG, **(config or {})))
    d.ctl = ctl
    if metrics:
        d.metrics = metrics_port(d)
    return d


def publisher(d):
    p = d.client(name="publisher")
    p.send("/ack on")
    p.expect("ACK %d" % p.sent_lines)
    return p


def history_fill(r, first, last):
    """The messages of #lobby with ids first..last, oldest first, paged
    with /history N before ID as a client would: [(id, nick, text)]."""
    got = []
    before = last + 1
    while True:
        r.send("/history 1000 before %d" % before)
        lines = r.expect_with_skipped("HISTEND #lobby ", timeout=30)
        page = [HISTID_RE.match(s) for s in lines[1] if s.startswith("HISTID")]
        assert all(page), lines
        count = int(lines[0].split()[2])
        assert count == len(page)
        r.expect("ACK %d" % r.sent_lines)
        rows = [(int(m.group(1)), m.group(2), m.group(3)) for m in page]
        got = [row for row in rows if row[0] >= first] + got
        if count == 0 or rows[0][0] <= first:
            return got
        before = rows[0][0]


def test_skipping_reader_keeps_order_and_fills_the_gap(chatd, tmp_path):
    d = start(chatd, tmp_path, metrics=True)
    base = stats(d.ctl)
    r = d.client(name="reader", rcvbuf=SMALL_RCVBUF)
    friend = d.client(name="friend")
    p = publisher(d)
    r.send("/ack on")
    r.expect("ACK %d" % r.sent_lines)
    r.send("/slow skip")
    r.expect("ACK %d" % r.sent_lines)
    friend.send("/ack on")
    friend.expect("ACK %d" % friend.sent_lines)
    rows = control_request(d.ctl, "clients")["result"]["clients"]
    assert {c["nick"]: c["slow_consumer"] for c in rows}[r.nick] == "skip"
    assert {c["nick"]: c["slow_consumer"] for c in rows}[p.nick] == "disconnect"
    r.sync()

    # From here r reads nothing until the burst is all queued to it.
    stalled = time.monotonic()
    burst(p, [text(i) for i in range(BURST // 2)])
    r.send("own-1 said during the gap")
    own_line = r.sent_lines
    friend.send("/msg %s priv-1 during the gap" % r.nick)
    friend.expect("ACK %d" % friend.sent_lines)
    burst(p, [text(i) for i in range(BURST // 2, BURST)])
    friend.send("/msg %s priv-2 after the burst" % r.nick)
    friend.expect("ACK %d" % friend.sent_lines)
    time.sleep(max(0.0, stalled + PAUSE - time.monotonic()))

    seen = r.sync(timeout=60)
    assert not r.eof
    assert not any(s.startswith("BYE") for s in seen), seen
    # The room as r saw it: messages and SKIP lines, in order.
    room, skips = [], []
    for s in seen:
        m, k = MSG_RE.match(s), SKIP_RE.match(s)
        if m:
            room.append(("msg", m.group(1), m.group(2)))
        elif k:
            span = tuple(int(x) for x in k.groups())
            room.append(("skip",) + span)
            skips.append(span)
    assert skips, "the burst overflowed nothing: %d lines" % len(seen)
    # what it was never to lose
    assert "PRIV %s %s priv-1 during the gap" % (friend.nick, r.nick) in seen
    assert "PRIV %s %s priv-2 after the burst" % (friend.nick, r.nick) in seen
    assert "ACK %d" % own_line in seen
    assert [x for x in room if x[0] == "msg" and x[1] == r.nick] == \
        [("msg", r.nick, "own-1")]
    # one SKIP line per gap: a room line between any two
    for a, b in zip(room, room[1:]):
        assert not (a[0] == "skip" and b[0] == "skip"), room
    # each gap filled from history, exactly: then nothing is missing
    filled = []
    for x in room:
        if x[0] == "msg":
            filled.append(x[2])
            continue
        first, last, count = x[1:]
        rows = history_fill(r, first, last)
        assert len(rows) == count
        assert rows[0][0] == first and rows[-1][0] == last
        assert all(nick == p.nick for _, nick, _ in rows)
        filled += [t for _, _, t in rows]
    assert [t for t in filled if t.startswith("m")] == \
        ["m%04d" % i for i in range(BURST)]

    lost = sum(span[2] for span in skips)
    after = stats(d.ctl)
    assert after["skipped_messages"] - base["skipped_messages"] == lost
    assert after["skip_gaps"] - base["skip_gaps"] == len(skips)
    assert after["closed_slow_consumer"] == base["closed_slow_consumer"]
    samples = figures(d.metrics)
    assert samples[("chatd_skipped_messages_total", "")] == after["skipped_messages"]
    assert samples[("chatd_skip_gaps_total", "")] == after["skip_gaps"]


def test_sendq_hard_still_cuts_a_skipping_client(chatd, tmp_path):
    # Private messages are never skipped: only sendq-hard is left to act.
    d = start(chatd, tmp_path, config={"sendq-hard": 65536, "max-line": 512,
                                       "slow-consumer": "skip"})
    base = stats(d.ctl)
    r = d.client(name="reader", rcvbuf=SMALL_RCVBUF)
    p = publisher(d)
    r.sync()
    lines = ["/msg %s private %04d %s" % (r.nick, i, "y" * 100) for i in range(2000)]
    p.send_raw("".join(t + "\n" for t in lines).encode())
    assert wait_until(lambda: stats(d.ctl)["closed_slow_consumer"] ==
                      base["closed_slow_consumer"] + 1, scaled(30))
    d.wait_log(r"slow consumer: \d+ bytes not taken, above sendq-hard")
    assert stats(d.ctl)["skipped_messages"] == base["skipped_messages"]
    r.wait_eof(timeout=30)


def stall_and_burst(d):
    """A reader stalls through a burst; returns it, unread."""
    r = d.client(name="reader", rcvbuf=SMALL_RCVBUF)
    p = publisher(d)
    r.sync()
    return r, p


def test_default_still_disconnects(chatd, tmp_path):
    d = start(chatd, tmp_path, config={"sendq-soft-seconds": 1})
    base = stats(d.ctl)
    r, p = stall_and_burst(d)
    burst(p, [text(i) for i in range(BURST)])
    assert wait_until(lambda: stats(d.ctl)["closed_slow_consumer"] ==
                      base["closed_slow_consumer"] + 1, scaled(30))
    assert stats(d.ctl)["skipped_messages"] == base["skipped_messages"]
    r.wait_eof(timeout=30)


def test_slow_switches_both_ways(chatd, tmp_path):
    d = start(chatd, tmp_path, config={"sendq-soft-seconds": 1,
                                       "slow-consumer": "skip"})
    base = stats(d.ctl)
    r = d.client(name="reader", rcvbuf=SMALL_RCVBUF)
    r.send("/slow disconnect")
    assert r.expect("INFO slow") == "INFO slow disconnect"
    r.send("/slow skip")
    assert r.expect("INFO slow") == "INFO slow skip"
    r.send("/slow maybe")
    assert r.expect("ERR").startswith("ERR bad-usage ")
    r.send("/ack on")
    r.expect("ACK %d" % r.sent_lines)
    r.send("/slow disconnect")
    r.expect("ACK %d" % r.sent_lines)
    rows = control_request(d.ctl, "clients")["result"]["clients"]
    assert [c["slow_consumer"] for c in rows] == ["disconnect"]
    p = publisher(d)
    r.sync()
    # its own choice wins over slow-consumer = skip: it is cut
    burst(p, [text(i) for i in range(BURST)])
    assert wait_until(lambda: stats(d.ctl)["closed_slow_consumer"] ==
                      base["closed_slow_consumer"] + 1, scaled(30))
    assert stats(d.ctl)["skipped_messages"] == base["skipped_messages"]


def test_reload_turns_skipping_on_for_clients_that_did_not_choose(chatd, tmp_path):
    d = start(chatd, tmp_path)
    r = d.client(name="reader", rcvbuf=SMALL_RCVBUF)
    rows = control_request(d.ctl, "clients")["result"]["clients"]
    assert rows[0]["slow_consumer"] == "disconnect"
    mark = d.log_mark()
    d.reload(dict(CFG, **{"slow-consumer": "skip"}))
    d.wait_log(r"reload: slow-consumer changed", start=mark)
    rows = control_request(d.ctl, "clients")["result"]["clients"]
    assert rows[0]["slow_consumer"] == "skip"
    p = publisher(d)
    r.sync()
    burst(p, [text(i) for i in range(BURST)])
    seen = r.sync(timeout=60)
    assert any(SKIP_RE.match(s) for s in seen)
    assert not r.eof


def test_bad_slow_consumer_is_refused(tmp_path):
    bad = write_config(str(tmp_path / "bad.conf"), ["slow-consumer = maybe"])
    r = run(["-t", "-c", bad])
    assert r.returncode == 1
    assert 'slow-consumer: "maybe" is not disconnect or skip' in r.stderr.decode()


def test_irc_client_in_skip_mode_gets_a_notice(chatd, tmp_path):
    d = start(chatd, tmp_path)
    irc = Irc(d, "ircreader", rcvbuf=SMALL_RCVBUF)
    irc.send("MODE ircreader +l")
    irc.expect(":ircreader MODE ircreader :+l")
    irc.send("MODE ircreader")
    assert irc.numeric("221") == ":%s 221 ircreader +l" % SERVER
    rows = control_request(d.ctl, "clients")["result"]["clients"]
    assert {c["nick"]: c["slow_consumer"] for c in rows}["ircreader"] == "skip"
    p = publisher(d)
    irc.sync()
    burst(p, [text(i) for i in range(BURST)])
    seen = irc.sync(timeout=60)
    notices = [s for s in seen if s.startswith(":%s NOTICE ircreader :Skipped " % SERVER)]
    assert notices, seen[-5:]
    assert re.match(r":%s NOTICE ircreader :Skipped \d+ messages in #lobby \(you read "
                    r"too slowly\): msgid=\w+-\d+ to msgid=\w+-\d+$" % SERVER, notices[0])
    said = [int(m.group(1)) for m in
            (re.search(r"PRIVMSG #lobby :m(\d{4}) ", s) for s in seen) if m]
    assert said == sorted(said) and said[-1] == BURST - 1
    irc.send("MODE ircreader -l")
    irc.expect(":ircreader MODE ircreader :-l")
