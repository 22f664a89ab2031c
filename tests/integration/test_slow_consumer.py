"""Slow consumers: send-queue limits protect the daemon and the other clients.

The kernel buffers a lot on loopback (a few MB for a socket whose peer does
not read), so the tests either push until the daemon gives up, or measure the
daemon's own (user-space) queue for the stalled client precisely:

    daemon queue = bytes the daemon must send to S
                   - bytes S read - bytes in S's receive queue (FIONREAD)
                   - the daemon socket's kernel send queue (/proc/net/tcp)
"""

import time

from conftest import TCP_ESTABLISHED, Reader, daemon_queue, scaled, tcp_queues
from hostile import rss_meaningful

CFG = {
    "sendq-hard": 65536,
    "sendq-soft": 16384,
    # the scenarios' clock: a slower machine gets a longer grace, or a
    # test that is merely slow to react would see the limit act
    "sendq-soft-seconds": round(scaled(2)),
    "flood-rate": 100000,
    "flood-burst": 100000,
    "flood-rate-per-ip": 0,
}
RSS_LIMIT_MIB = 64
SMALL_RCVBUF = 4096


def server_side(d, c):
    """(tx_queue, rx_queue, state) of the daemon's socket for client c."""
    return tcp_queues(d.port, c.local_port)


def text_for(i, size=200):
    head = "%06d " % i
    return head + "x" * (size - len(head))


def test_stalled_member_disconnected_readers_get_everything(chatd):
    d = chatd(config=CFG)
    r1 = d.client(name="reader1")
    r2 = d.client(name="reader2")
    s = d.client(name="stalled", rcvbuf=SMALL_RCVBUF)
    p = d.client(name="publisher")
    for c in (r1, r2, s, p):
        c.sync()
    # from here on s never reads
    base_rss = d.rss_kib()
    max_rss = base_rss
    readers = [Reader(r1, p.nick), Reader(r2, p.nick)]
    for r in readers:
        r.start()

    p.send("/ack on")
    assert p.expect(("ACK ", "NACK ")) == "ACK %d" % p.sent_lines
    first_line_no = p.sent_lines + 1

    min_lines, max_lines, window, max_lead = 5000, 40000, 64, 2000
    seq = 0
    acked = 0
    s_gone = False
    s_gone_at_seq = None
    t0 = time.monotonic()
    echo_prefix = "MSG #lobby %s " % p.nick
    while True:
        assert time.monotonic() - t0 < scaled(100), "publishing took too long (%d sent, %d acked)" % (seq, acked)
        want_more = seq < max_lines and not (s_gone and seq >= min_lines)
        if not want_more and acked == seq:
            break
        lead = seq - min(len(r.seqs) for r in readers)
        while want_more and seq - acked < window and lead < max_lead and seq < max_lines:
            p.send(text_for(seq))
            seq += 1
            lead += 1
        if seq == acked:
            # waiting for the readers to catch up
            assert all(r.is_alive() for r in readers), [r.error for r in readers]
            time.sleep(0.01)
            continue
        line = p.line(timeout=10)
        if line.startswith("ACK "):
            assert line == "ACK %d" % (first_line_no + acked), line
            acked += 1
            if acked % 500 == 0:
                max_rss = max(max_rss, d.rss_kib())
                if not s_gone:
                    q = server_side(d, s)
                    if q is None or q[2] != TCP_ESTABLISHED:
                        s_gone, s_gone_at_seq = True, seq
        elif line.startswith("NACK "):
            raise AssertionError("publisher got %r" % line)
        elif line.startswith("QUIT %s" % s.nick):
            s_gone, s_gone_at_seq = True, seq
        elif line.startswith(echo_prefix):
            pass
    max_rss = max(max_rss, d.rss_kib())
    print("published %d lines in %.1fs; stalled client gone at about line %s; max RSS %.1f MiB"
          % (seq, time.monotonic() - t0, s_gone_at_seq, max_rss / 1024.0))
    assert s_gone, ("the stalled client was not disconnected after %d messages of 200 bytes "
                    "(sendq-hard 64 KiB); daemon queue estimate unavailable" % seq)

    p.send("END")
    p.expect("MSG #lobby %s END" % p.nick)
    for r in readers:
        r.join(scaled(60))
    for r in readers:
        assert r.done and r.error is None, (r.error, len(r.seqs))
        assert r.seqs == list(range(seq)), \
            "reader %s lost or reordered messages: got %d of %d" % (r.c.name, len(r.seqs), seq)
        assert any(o.startswith("QUIT %s" % s.nick) for o in r.others), r.others[-10:]

    assert max_rss / 1024.0 < RSS_LIMIT_MIB or not rss_meaningful(d.pid), \
        "daemon RSS reached %.1f MiB (base %.1f MiB)" % (max_rss / 1024.0, base_rss / 1024.0)

    # The stalled client now reads: what it got is a gap-free prefix, then EOF.
    lines = s.wait_eof(timeout=60)
    got = [int(l[len(echo_prefix):][:6]) for l in lines if l.startswith(echo_prefix)]
    assert got == list(range(len(got))), "stalled client's messages have gaps"
    assert len(got) < seq
    tail = [l for l in lines if not l.startswith(echo_prefix)]
    bye = [l for l in tail if l.startswith("BYE ")]
    assert all(b.startswith("BYE slow-consumer") for b in bye), bye
    d.wait_log(r"slow", timeout=5)


def _setup_soft(d):
    s = d.client(name="stalled", rcvbuf=SMALL_RCVBUF)
    p = d.client(name="publisher")
    for c in (s, p):
        c.send("/join #soft")
        c.expect("ROOM #soft")
    s.sync()
    p.sync()
    assert not s.buf
    p.send("/ack on")
    assert p.expect(("ACK ", "NACK ")) == "ACK %d" % p.sent_lines
    return s, p


class SoftPusher:
    """Publishes 2000-byte messages into #soft and tracks the daemon's queue
    for the stalled client s."""

    def __init__(self, d, s, p):
        self.d, self.s, self.p = d, s, p
        self.base_rx = s.rx_total
        self.expected = 0
        self.seq = 0

    def publish(self, n):
        for _ in range(n):
            text = text_for(self.seq, 2000)
            self.seq += 1
            self.expected += len(("MSG #soft %s %s\r\n" % (self.p.nick, text)).encode())
            self.p.send(text)
        for _ in range(n):
            self.p.expect(("ACK ", "NACK "), timeout=10)

    def queue(self):
        return daemon_queue(self.d, self.s, self.expected, self.base_rx)

    def push_above(self, target, limit, deadline=60):
        """Publish until the daemon queue is above target (and below
        limit); returns the time the queue was first seen above 16 KiB."""
        t_soft = None
        t0 = time.monotonic()
        while True:
            assert time.monotonic() - t0 < scaled(deadline), "could not fill the queue"
            q = self.queue()
            assert q is not None, "stalled client disconnected while filling (queue %s)" % q
            assert q < limit, "queue %d went over %d" % (q, limit)
            if q > CFG["sendq-soft"] and t_soft is None:
                t_soft = time.monotonic()
            if q > target:
                return t_soft
            self.publish(20 if q < 4096 else 1)
            time.sleep(0.02)


def test_soft_limit_exceeded_for_long_disconnects(chatd):
    d = chatd(config=CFG)
    s, p = _setup_soft(d)
    pusher = SoftPusher(d, s, p)
    # above soft (16 KiB), well below hard (64 KiB), and staying there
    t_soft = None
    while True:
        t = pusher.push_above(24000, 50000)
        t_soft = t_soft or t
        time.sleep(0.3)
        q = pusher.queue()
        if q is not None and q > 20000:
            break
    t_disc = None
    deadline = time.monotonic() + scaled(10)
    while time.monotonic() < deadline:
        q = server_side(d, s)
        if q is None or q[2] != TCP_ESTABLISHED:
            t_disc = time.monotonic()
            break
        line = p.try_line(timeout=0.1)
        if line is not None and line.startswith("QUIT %s" % s.nick):
            t_disc = time.monotonic()
            break
    assert t_disc is not None, "client above sendq-soft for %.0f s was not disconnected " \
        "(sendq-soft-seconds = %d)" % (scaled(10), CFG["sendq-soft-seconds"])
    held = t_disc - t_soft
    assert held >= CFG["sendq-soft-seconds"] / 2, "disconnected %.2fs after passing " \
        "sendq-soft: soft limit acted like a hard one" % held
    assert held <= CFG["sendq-soft-seconds"] + scaled(5), held
    lines = s.wait_eof(timeout=60)
    prefix = "MSG #soft %s " % p.nick
    got = [int(l[len(prefix):][:6]) for l in lines if l.startswith(prefix)]
    assert got == list(range(len(got)))
    d.wait_log(r"slow", timeout=5)


def test_brief_excursion_above_soft_limit_is_tolerated(chatd):
    d = chatd(config=CFG)
    s, p = _setup_soft(d)
    pusher = SoftPusher(d, s, p)
    t_soft = pusher.push_above(CFG["sendq-soft"] + 1000, 50000)
    # start reading at once: the daemon's queue falls below the soft limit
    # as soon as a few KB leave the kernel buffers, long before the grace
    started = time.monotonic() - t_soft
    assert started < CFG["sendq-soft-seconds"] / 2, \
        "test too slow: started reading %.2fs after passing soft" % started
    deadline = time.monotonic() + scaled(20)
    while s.rx_total - pusher.base_rx < pusher.expected:
        assert time.monotonic() < deadline, "could not drain"
        s.try_raw_line(timeout=0.5)
        while s.try_raw_line(timeout=0) is not None:
            pass
        assert not s.eof, "client was disconnected after %.2fs above sendq-soft (limit %d s)" \
            % (time.monotonic() - t_soft, CFG["sendq-soft-seconds"])
    time.sleep(CFG["sendq-soft-seconds"] + 1.5)
    assert s.sync(timeout=5) == [], "client was disturbed"
    q = server_side(d, s)
    assert q is not None and q[2] == TCP_ESTABLISHED


def test_sendq_limits_do_not_affect_fast_readers(chatd):
    """A reader that keeps up is never disconnected, even when lots of data
    goes through it (much more than sendq-hard)."""
    d = chatd(config=CFG)
    r = d.client(name="reader")
    p = d.client(name="publisher")
    r.sync()
    p.sync()
    reader = Reader(r, p.nick)
    reader.start()
    p.send("/ack on")
    p.expect("ACK ")
    n = 3000
    window = 64
    # "Keeps up": never more than 32 KB behind (the kernel buffers are
    # bounded, socket-send-buffer; the rest would be in its send queue)
    max_lead = 32
    acked = 0
    sent = 0
    t0 = time.monotonic()
    while acked < n:
        assert time.monotonic() - t0 < scaled(60)
        while sent < n and sent - acked < window and \
                sent - len(reader.seqs) < max_lead:
            p.send(text_for(sent, 1000))
            sent += 1
        if sent == acked:
            time.sleep(0.005)       # the reader is behind: let it read
            continue
        line = p.line(timeout=10)
        if line.startswith("ACK "):
            acked += 1
        assert not line.startswith(("NACK ", "BYE ")), line
    p.send("END")
    reader.join(scaled(60))
    assert reader.done and reader.error is None, reader.error
    assert reader.seqs == list(range(n))
