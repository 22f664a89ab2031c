"""Faults during fan-out: members that reset or leave while a room's
messages are being delivered, and nick races.

After each: the daemon is alive and serving, the members that stayed got
every message in order, and the daemon's RSS is back near where it started.
"""

import socket
import threading
import time

from conftest import Reader, scaled
from hostile import FAST, RssGuard, Witness, assert_serving

ROOM = "#fan"


def _join(c, room=ROOM):
    c.send("/join " + room)
    c.expect("ROOM " + room)


def _publish_burst(p, first, n):
    p.send_raw("".join("%d fan-out message %s\n" % (first + i, "x" * 40)
                       for i in range(n)).encode())


def _drain_until_echo(p, seq, timeout=20):
    """Read the publisher's lines up to its echo of seq; return the QUITs."""
    _, skipped = p.expect_with_skipped("MSG %s %s %d " % (ROOM, p.nick, seq),
                                       timeout=timeout)
    return {l.split()[1] for l in skipped if l.startswith("QUIT ")}


def _setup(d, nmembers=3):
    p = d.client(name="publisher")
    _join(p)
    members = []
    for i in range(nmembers):
        c = d.client(name="member%d" % i)
        _join(c)
        c.sync()
        members.append(Reader(c, p.nick, room=ROOM))
    p.sync()
    for m in members:
        m.start()
    return p, members


def _finish(p, members, total):
    p.send("END")
    for m in members:
        m.join(scaled(60))
        assert m.error is None, (m.c.name, m.error)
        assert m.seqs == list(range(total)), (
            "%s lost or reordered messages: %d of %d" % (m.c.name, len(m.seqs), total))


def test_reset_mid_fanout(chatd):
    """Members that reset (RST) while a burst is fanned out to them; some
    have output queued in the daemon when they do."""
    d = chatd(config=FAST)
    p, members = _setup(d)
    w = Witness(d).start()
    rss = RssGuard(d)
    seq = 0
    quitters = []
    seen = set()
    for rnd in range(20):
        resetters = []
        for i in range(5):
            c = d.client(name="rst%d-%d" % (rnd, i), rcvbuf=4096 if i % 2 else None)
            _join(c)
            resetters.append(c)
        _publish_burst(p, seq, 50)
        seq += 50
        if rnd % 2:
            time.sleep(0.005)      # some of it already written to them
        for c in resetters:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                              b"\x01\x00\x00\x00\x00\x00\x00\x00")
            c.close()
            quitters.append(c.nick)
        seen |= _drain_until_echo(p, seq - 1)
        rss.sample()
    # every reset was noticed before the members are asked to stop
    while not seen >= set(quitters):
        line = p.expect("QUIT ", timeout=10)
        seen.add(line.split()[1])
    _finish(p, members, seq)
    for m in members:
        quits = {l.split()[1] for l in m.others if l.startswith("QUIT ")}
        assert quits >= set(quitters), set(quitters) - quits
    n, worst = w.stop()
    assert worst < scaled(1.0), worst
    p.close()
    for m in members:
        m.c.close()
    rss.check()
    assert_serving(d)


def _leaver_stream(c, publisher_nick, timeout=20):
    """Sequence numbers a leaver got in ROOM, split at its own PART/BYE/
    rejoin: a list of runs."""
    prefix = "MSG %s %s " % (ROOM, publisher_nick)
    runs = [[]]
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        raw = c.try_raw_line(timeout=0.5)
        if raw is None:
            if c.eof:
                break
            if c.inq() == 0:
                break
            continue
        line = raw.decode()
        if line.startswith(prefix):
            runs[-1].append(int(line[len(prefix):].split()[0]))
        elif line.startswith(("PART %s %s" % (ROOM, c.nick), "BYE ")):
            runs.append([])
        elif line.startswith("JOIN %s %s" % (ROOM, c.nick)):
            runs.append([])
    return runs


def test_member_leaves_while_its_room_is_fanned_out(chatd):
    """Members /part, /quit, close or part-and-rejoin at the moment a burst
    to their room is being delivered: each gets a gap-free run of messages
    up to its leaving (and from its rejoining), nothing after it, and the
    members that stay get everything."""
    d = chatd(config=FAST)
    p, members = _setup(d)
    rss = RssGuard(d)
    seq = 0
    ways = [b"/part " + ROOM.encode() + b"\n", b"/quit bye\n", None,
            b"/part " + ROOM.encode() + b"\n/join " + ROOM.encode() + b"\n"]
    for rnd in range(12):
        leavers = []
        for i, way in enumerate(ways):
            c = d.client(name="leaver%d-%d" % (rnd, i))
            _join(c)
            c.sync()
            leavers.append((c, way))
        start = seq
        _publish_burst(p, seq, 100)
        seq += 100
        for c, way in leavers:          # as the burst is being handled
            if way is None:
                c.sock.shutdown(socket.SHUT_WR)
            else:
                c.send_raw(way)
        _drain_until_echo(p, seq - 1)
        time.sleep(0.05)
        # a second burst: only those who rejoined get it, all of it
        _publish_burst(p, seq, 50)
        seq += 50
        _drain_until_echo(p, seq - 1)
        for c, way in leavers:
            if way and way.startswith(b"/part") and b"/join" not in way:
                c.send("/zz-end-marker")
            runs = _leaver_stream(c, p.nick, timeout=5)
            got = [n for run in runs for n in run]
            assert got == sorted(got), (way, runs)
            for run in runs:
                assert run == list(range(run[0], run[0] + len(run))) if run else True, \
                    (way, runs)
            if runs[0]:
                assert runs[0][0] == start, (way, runs)
            if way and b"/join" in way:
                # rejoined: from its rejoining to the end
                assert runs[-1] and runs[-1][-1] == seq - 1, (way, runs)
                assert runs[-1][0] <= seq - 50, (way, runs)
            else:
                assert len([r for r in runs[1:] if r]) == 0, (
                    "messages after leaving", way, runs)
            c.close()
        rss.sample()
    _finish(p, members, seq)
    p.close()
    for m in members:
        m.c.close()
    rss.check()
    assert_serving(d)


def _race(d, names, rounds_tag):
    """Contenders each send /nick with their spelling at the same moment;
    returns [(client, line)] with each one's answer."""
    cs = [d.client(name="racer%s-%d" % (rounds_tag, i)) for i in range(len(names))]
    for c in cs:
        c.sync()
    barrier = threading.Barrier(len(cs))

    def go(c, name):
        barrier.wait()
        c.send("/nick " + name)

    ts = [threading.Thread(target=go, args=(c, n)) for c, n in zip(cs, names)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out = []
    for c, name in zip(cs, names):
        line = c.expect(("ERR ", "NICK %s " % c.nick))
        out.append((c, name, line))
    return cs, out


def test_nick_races(chatd):
    """Several clients take the same nick at once, in case variants:
    exactly one wins, the others get nick-taken, and the registry agrees."""
    d = chatd(config=FAST)
    w = Witness(d).start()
    rss = RssGuard(d)
    variants = ["Racer", "racer", "RACER", "rAcEr", "raCER"]
    for rnd in range(30):
        names = [v.replace("r", "r", 1) + str(rnd) for v in variants[:2 + rnd % 4]]
        cs, out = _race(d, names, rnd)
        winners = [(c, n) for c, n, l in out if l.startswith("NICK ")]
        losers = [l for c, n, l in out if l.startswith("ERR ")]
        assert len(winners) == 1, out
        assert all(l.startswith("ERR nick-taken") for l in losers), out
        winner, name = winners[0]
        # the registry agrees: a private message to any spelling reaches it
        asker = cs[0] if cs[0] is not winner else cs[1]
        asker.send("/msg %s ping %d" % (names[-1].upper(), rnd))
        winner.expect("PRIV %s %s ping %d" % (asker.nick, name, rnd))
        for c in cs:
            c.close()
    # a nick freed by a quit and taken at the same moment
    for rnd in range(20):
        holder = d.client(name="holder")
        holder.send("/nick Holder%d" % rnd)
        holder.expect("NICK ")
        taker = d.client(name="taker")
        taker.sync()
        holder.send_raw(b"/quit\n")
        taker.send("/nick hOLDER%d" % rnd)
        line = taker.expect(("NICK ", "ERR "))
        if line.startswith("ERR "):
            assert line.startswith("ERR nick-taken"), line
            holder.wait_eof()
            time.sleep(0.05)
            taker.send("/nick hOLDER%d" % rnd)
            line = taker.expect(("NICK ", "ERR "))
        assert line == "NICK %s hOLDER%d" % (taker.nick, rnd), line
        holder.close()
        taker.close()
    n, worst = w.stop()
    assert worst < scaled(1.0), worst
    rss.check()
    assert_serving(d)
