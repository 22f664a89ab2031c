"""Hostile IRC clients (chatd-irc(7)), over real sockets: connections that
never register or send junk first, CAP loops, NICK storms, CTCP floods,
lines at the 512-byte and 8191-byte tag limits and past them, 15 and more
parameters, bare CR, NUL and invalid UTF-8, and the registration and ping
timeouts at their edges.

As in the other hostile tests, bystanders (Witness) get every message in
order while it happens, the daemon's RSS comes back (RssGuard), and a
fresh client is served afterwards (assert_serving).  Timing edges are
judged against the daemon's own counters (chatctl stats) and with margins
that a busy machine only widens: a deadline is checked to be never early,
and late by at most a scaled() bound."""

import re
import socket
import threading
import time

from conftest import assert_terminal_safe, scaled, wait_until
from hostile import (FAST, RssGuard, Witness, assert_serving, source_addresses,
                     stats, wait_clients)
from test_irc import SERVER, Irc, irc_port

R = "\ufffd"
COARSE_TICK = 0.02     # seconds: libevent's coarse clock, with room to spare


def _ctl(tmp_path):
    return str(tmp_path / "control.sock")


def start(chatd, tmp_path, **config):
    """chatd with an IRC listener, a control socket, and config over the
    IRC defaults of these tests (FAST buckets unless config says)."""
    cfg = dict(FAST, **{"server-name": SERVER})
    cfg.update(config)
    return chatd("--listen-irc", "127.0.0.1:0", "--control", _ctl(tmp_path),
                 config=cfg)


def raw_irc(d, source=None):
    """A connected, unregistered IRC socket (not read by anyone)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if source is not None:
        s.bind((source, 0))
    s.settimeout(scaled(10))
    s.connect(("127.0.0.1", irc_port(d)))
    return s


def pump(c, payload, until, timeout=30.0):
    """Send payload on client c from a thread while reading c's lines
    here, so neither side's buffers fill; return the lines read until
    until(lines) is true."""
    err = []

    def sender():
        try:
            c.sock.sendall(payload)
        except OSError as e:
            err.append(e)
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    lines = []
    deadline = time.monotonic() + scaled(timeout)
    while not until(lines):
        left = deadline - time.monotonic()
        assert left > 0, "pump: gave up after %d lines, last %r" % (
            len(lines), lines[-3:])
        raw = c.try_raw_line(min(left, 1.0))
        if raw is None:
            assert not c.eof, "pump: closed after %r" % lines[-5:]
            continue
        lines.append(raw.decode("utf-8", "replace"))
    t.join(scaled(timeout))
    assert not err, err
    return lines


def irc_line_reader(prefix):
    """until() for pump: the count of lines starting with prefix."""
    def count(lines):
        return sum(1 for l in lines if l.startswith(prefix))
    return count


# ---- registration ------------------------------------------------------

def test_unregistered_flood_costs_little_and_nobody_waits(chatd, tmp_path):
    """600 connections from 6 addresses that never register, half of them
    sending junk (commands before registration, unknown commands, binary)
    first: each is answered (451, 421) and none is let in; the daemon holds
    little for them and bystanders chat on; when they go, everything they
    held is gone."""
    n_conn, per = 600, 100
    d = start(chatd, tmp_path, **{"max-per-ip": per,
                                  "irc-registration-timeout": 600})
    ctl = _ctl(tmp_path)
    w = Witness(d).start()
    rss = RssGuard(d)
    base = stats(ctl)
    junk = (b"JOIN #lobby\r\nPRIVMSG #lobby :hi\r\nWHO #lobby\r\n"
            b"FROB x y z\r\n\x00\x01\xff\xfe garbage\r\nLIST\r\n")
    socks = []
    sources = source_addresses(41, n_conn // per)
    t0 = time.monotonic()
    for i in range(n_conn):
        s = raw_irc(d, sources[i // per])
        if i % 2:
            s.sendall(junk)
        socks.append(s)
    wait_clients(ctl, base["clients"] + n_conn, timeout=30)
    # every junk line is answered: 451 for commands that need
    # registration, 421 for the rest, and nothing of the chat
    want = (n_conn // 2) * 6
    assert wait_until(lambda: stats(ctl)["errors_sent"] - base["errors_sent"]
                      >= want, 20), "junk not all answered"
    reply = b""
    socks[1].settimeout(scaled(5))
    while reply.count(b"\r\n") < 6:
        reply += socks[1].recv(4096)
    lines = reply.decode("utf-8", "replace").split("\r\n")[:6]
    assert [l.split()[1] for l in lines] == ["451", "451", "451", "421",
                                              "421", "451"], lines
    assert "PRIVMSG" not in reply.decode("utf-8", "replace")
    # the bystanders chat on while all of them are held
    held = len(w.got)
    assert wait_until(lambda: len(w.got) >= held + 50 or w.error, 30), w.error
    peak = rss.sample()
    st = stats(ctl)
    flood_s = time.monotonic() - t0
    for s in socks:
        s.close()
    wait_clients(ctl, base["clients"], timeout=30)
    n, worst = w.stop()
    print("unregistered flood: %d connections held %.1fs, RSS peak %.1f MiB "
          "(start %.1f), held_bytes %d; witness %d messages, worst latency %.3fs"
          % (n_conn, flood_s, peak / 1024.0, rss.start / 1024.0,
             st["held_bytes"], n, worst))
    assert worst < scaled(2.0), "bystander waited %.2fs" % worst
    # nobody registered: the registration timeout was never needed
    assert stats(ctl)["closed_registration"] == base["closed_registration"]
    rss.check()
    assert_serving(d)


def test_registration_timeout_at_its_edge(chatd, tmp_path):
    """irc-registration-timeout = 2: a silent client, one busy with CAP LS
    in a loop, one that gave NICK only and one that sends a line a byte at
    a time are each closed with 'Registration timed out', never before 2
    seconds after they connected and at most a second (plus the machine's
    slowness) after; one that registered at once stays."""
    d = start(chatd, tmp_path, **{"irc-registration-timeout": 2,
                                  "irc-ping-interval": 600})
    ctl = _ctl(tmp_path)
    base = stats(ctl)
    kept = Irc(d, "keeper")
    connected = time.monotonic()        # before connect: accept comes later
    silent, capper, nick_only, dribbler = (Irc(d) for _ in range(4))
    nick_only.send("NICK halfway")
    stop = threading.Event()

    def busy():
        i = 0
        while not stop.is_set():
            try:
                capper.send("CAP LS 302")
                dribbler.send_raw(b"PRIVMSG"[i % 7:i % 7 + 1])
            except OSError:
                return
            i += 1
            stop.wait(0.05)
    t = threading.Thread(target=busy, daemon=True)
    t.start()
    closed_at = {}
    for name, c in (("silent", silent), ("capper", capper),
                    ("nick_only", nick_only), ("dribbler", dribbler)):
        lines = c.wait_eof(timeout=10)
        closed_at[name] = time.monotonic() - connected
        assert lines[-1] == "ERROR :Closing Link: 127.0.0.1 (Registration timed out)", \
            (name, lines[-3:])
        assert not any(" 001 " in l for l in lines), name
    stop.set()
    t.join(5)
    print("closed after %s" % {k: round(v, 2) for k, v in closed_at.items()})
    for name, at in closed_at.items():
        assert at >= 2.0, "%s closed early, %.2fs after connecting" % (name, at)
        assert at <= 3.0 + scaled(2.0), "%s closed late, at %.2fs" % (name, at)
    st = stats(ctl)
    assert st["closed_registration"] - base["closed_registration"] == 4
    # registered in time: never cut
    assert kept.sync() == []
    kept.send("PRIVMSG #lobby :still here")
    assert kept.sync() == []
    assert_serving(d)


def test_cap_loops(chatd, tmp_path):
    """CAP LS, REQ, LIST and END repeated 2,000 times each, before and
    after registration: every one is answered, registration happens once,
    and a bystander in the same room sees the newcomer join exactly once."""
    d = start(chatd, tmp_path)
    w = Witness(d).start()
    rss = RssGuard(d)
    watcher = Irc(d, "watcher")
    c = Irc(d)
    rounds = 2000
    loop = b"CAP LS 302\r\nCAP REQ :sasl multi-prefix\r\nCAP LIST\r\nCAP END\r\n"
    payload = b"NICK capper\r\n" + loop * rounds + b"USER capper 0 * :c\r\n" + \
        loop * rounds + b"PING :done\r\n"
    lines = pump(c, payload, lambda ls: ls and ls[-1].endswith("PONG %s :done" % SERVER),
                 timeout=60)
    ls = sum(1 for l in lines if re.match(r":%s CAP (\*|capper) LS :away-notify " % SERVER, l))
    nak = sum(1 for l in lines if " CAP " in l and " NAK :sasl multi-prefix" in l)
    lst = sum(1 for l in lines if re.match(r":%s CAP (\*|capper) LIST :cap-notify$" % SERVER, l))
    assert (ls, nak, lst) == (2 * rounds, 2 * rounds, 2 * rounds)
    assert sum(1 for l in lines if " 001 capper " in l) == 1
    assert [l for l in watcher.sync() if " JOIN " in l] == \
        [":capper!capper@%s JOIN #lobby" % SERVER]
    n, worst = w.stop()
    print("CAP loop: %d lines answered; witness %d, worst %.3fs" % (len(lines), n, worst))
    assert worst < scaled(2.0)
    rss.check()
    assert_serving(d)


# ---- nicks ---------------------------------------------------------------

def test_nick_storm_one_client(chatd, tmp_path):
    """One client renames itself 1,500 times in a tight loop: an IRC and a
    line bystander in its room see every change, in order, as an unbroken
    chain from the first nick to the last."""
    d = start(chatd, tmp_path)
    w = Witness(d).start()
    rss = RssGuard(d)
    irc_by = Irc(d, "ircby")
    line_by = d.client(name="lineby")
    storm = Irc(d, "storm")
    irc_by.expect(":storm!storm@%s JOIN #lobby" % SERVER)
    line_by.expect("JOIN #lobby storm")
    n = 1500
    nicks = ["storm"] + ["s%d_%d" % (i % 7, i) for i in range(n)]
    payload = b"".join(b"NICK %s\r\n" % x.encode() for x in nicks[1:])
    own = pump(storm, payload + b"PING :end\r\n",
               lambda ls: ls and ls[-1].endswith(":end"))
    assert len([l for l in own if " NICK " in l]) == n
    seen = []
    while len(seen) < n:
        seen.append(irc_by.expect(":", timeout=30))
    chain = [re.match(r":([^!]+)!\S+ NICK (\S+)$", l).groups() for l in seen]
    assert chain == list(zip(nicks, nicks[1:]))
    line_seen = []
    while len(line_seen) < n:
        line_seen.append(line_by.expect("NICK ", timeout=30))
    assert line_seen == ["NICK %s %s" % p for p in zip(nicks, nicks[1:])]
    count, worst = w.stop()
    print("NICK storm: %d changes; witness %d, worst %.3fs" % (n, count, worst))
    assert worst < scaled(2.0)
    rss.check()
    assert_serving(d)


def test_nick_race_for_one_nick(chatd, tmp_path):
    """Twenty clients (registered or not) all claim one nick, 100 times
    each, in parallel: exactly one ever gets it, the others get 433 every
    time, and the nick registry agrees (WHOIS, ISON)."""
    d = start(chatd, tmp_path)
    racers = [Irc(d, "racer%d" % i) if i % 2 else Irc(d) for i in range(20)]
    # the unregistered ones are told nothing when they get it (no 001 yet)
    for i, r in enumerate(racers):
        if not i % 2:
            r.send("NICK pre%d" % i)
    payload = b"NICK Prize\r\n" * 100 + b"PING :end\r\n"
    results = [None] * len(racers)
    go = threading.Barrier(len(racers))

    def run(i):
        go.wait()
        results[i] = pump(racers[i], payload,
                          lambda ls: ls and ls[-1].endswith(":end"))
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(racers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(scaled(60))
    assert all(r is not None for r in results)
    winners = []
    for i, lines in enumerate(results):
        me = "racer%d" % i if i % 2 else "pre%d" % i      # not neighbours
        got = [l for l in lines if re.match(r":%s!\S+ NICK :?Prize$" % me, l)]
        taken = [l for l in lines if " 433 " in l]
        if len(taken) == 0:
            winners.append(i)
            assert len(got) == (1 if i % 2 else 0), (i, got[:2])
        else:
            assert len(taken) == 100 and not got, (i, len(taken), got[:2])
    assert len(winners) == 1, winners
    judge = Irc(d, "judge")
    judge.send("ISON PRIZE")
    assert judge.numeric("303").endswith(":Prize")
    judge.send("WHOIS prize")
    assert judge.numeric("311").startswith(":%s 311 judge Prize " % SERVER)
    assert_serving(d)


# ---- CTCP ------------------------------------------------------------------

def test_ctcp_floods(chatd, tmp_path):
    """300 CTCP requests to a room and 300 to each of two nicks (IRC and line
    targets) with chatd's own flood bucket: none is relayed and nobody is
    disconnected; the sender is paced, not cut; 200 CTCP ACTIONs are all
    relayed, in order, as actions."""
    d = start(chatd, tmp_path, **{"flood-rate": 200, "flood-burst": 50,
                                  "flood-rate-per-ip": 0})
    ctl = _ctl(tmp_path)
    base = stats(ctl)
    w = Witness(d, interval=0.05).start()
    rss = RssGuard(d)
    target = Irc(d, "target")
    line_target = d.client(name="linetarget")
    line_target.send("/nick lt")
    line_target.expect("NICK ")
    flooder = Irc(d, "flooder")
    target.expect(":flooder!")
    requests = [b"\x01VERSION\x01", b"\x01PING 1234567890\x01", b"\x01TIME\x01",
                b"\x01CLIENTINFO\x01", b"\x01DCC SEND x 1 2 3\x01"]
    payload = b"".join(b"PRIVMSG %s :%s\r\n" % (to, requests[i % 5])
                       for i in range(300) for to in (b"#lobby", b"target", b"lt"))
    actions = b"".join(b"PRIVMSG #lobby :\x01ACTION a%d\x01\r\n" % i for i in range(200))
    pump(flooder, payload + actions + b"PING :end\r\n",
         lambda ls: ls and ls[-1].endswith(":end"), timeout=60)
    got = [l for l in target.sync() if " PRIVMSG " in l]
    assert got == [":flooder!flooder@%s PRIVMSG #lobby :\x01ACTION a%d\x01"
                   % (SERVER, i) for i in range(200)]
    line_got = [l for l in line_target.sync() if "flooder" in l
                and not l.startswith("JOIN ")]
    assert line_got == ["ACTION #lobby flooder a%d" % i for i in range(200)]
    assert stats(ctl)["flood_pauses"] > base["flood_pauses"], "never paced"
    n, worst = w.stop()
    print("CTCP flood: witness %d, worst %.3fs" % (n, worst))
    assert worst < scaled(2.0)
    rss.check()
    assert_serving(d)


# ---- flood cost ----------------------------------------------------------

def test_listings_are_paced_sooner_than_chat(chatd, tmp_path):
    """A full bucket of 10 (flood-rate 10) lets 9 PRIVMSGs through with no
    pause (a 10th would empty it, and chatd pauses as soon as it is empty);
    9 WHOs (5 tokens each) get 2 at once and then one per half second, none
    refused and the client never disconnected."""
    d = start(chatd, tmp_path, **{"flood-rate": 10, "flood-burst": 10,
                                  "flood-rate-per-ip": 0})
    ctl = _ctl(tmp_path)
    hearer = Irc(d, "hearer")
    c = Irc(d, "asker")
    hearer.expect(":asker!")
    c.sync()
    hearer.sync()
    time.sleep(1.5)                     # refill: more time only fills it
    before = stats(ctl)["flood_pauses"]
    c.send_raw(b"".join(b"PRIVMSG #lobby :m%d\r\n" % i for i in range(9)))
    for i in range(9):
        assert hearer.expect(":asker!").endswith(":m%d" % i)
    assert stats(ctl)["flood_pauses"] == before, "9 chat lines were paced"
    time.sleep(1.5)
    before = stats(ctl)["flood_pauses"]
    t0 = time.monotonic()
    c.send_raw(b"WHO #lobby\r\n" * 9)
    for i in range(9):
        c.expect(":%s 315 asker #lobby " % SERVER, timeout=20)
    took = time.monotonic() - t0
    print("9 WHO took %.2fs" % took)
    assert stats(ctl)["flood_pauses"] > before, "9 WHOs were not paced"
    # 7 after the burst: 0.1 s for the first, 0.5 s each for the others
    assert took >= 3.0, "WHO paced too little: %.2fs" % took
    assert not c.is_closed_by_peer(0.1)
    c.send("NAMES #lobby")
    c.numeric("366")


def test_who_flood_is_paced_never_cut(chatd, tmp_path):
    """300 WHO, NAMES and LIST in one write with the default bucket: all
    answered in order, the client paced and never disconnected (no Excess
    Flood), a bystander chatting meanwhile."""
    d = start(chatd, tmp_path, **{"flood-rate": 200, "flood-burst": 20,
                                  "flood-rate-per-ip": 0})
    ctl = _ctl(tmp_path)
    base = stats(ctl)
    w = Witness(d, interval=0.05).start()
    c = Irc(d, "whoer")
    cmds = [b"WHO #lobby", b"NAMES #lobby", b"LIST"] * 100
    ends = {b"WHO #lobby": " 315 ", b"NAMES #lobby": " 366 ", b"LIST": " 323 "}
    lines = pump(c, b"".join(x + b"\r\n" for x in cmds) + b"PING :end\r\n",
                 lambda ls: ls and ls[-1].endswith(":end"), timeout=60)
    got = [l for l in lines if any(e in l for e in ends.values())]
    assert [next(k for k, e in ends.items() if e in l) for l in got] == cmds
    assert not any(l.startswith("ERROR") for l in lines)
    assert stats(ctl)["flood_pauses"] > base["flood_pauses"]
    n, worst = w.stop()
    assert worst < scaled(2.0)


# ---- line limits -----------------------------------------------------------

def _privmsg_of_length(n, fill=b"x"):
    head = b"PRIVMSG #lobby :"
    return head + fill * (n - len(head))


def _tags_of_length(n):
    """'@a=vvv... ': n bytes with the '@' and the space."""
    return b"@a=" + b"v" * (n - 4) + b" "


def relayed_text(c, nick, n):
    """The text of nick's PRIVMSG to #lobby as c gets it: n characters,
    in as many IRC lines as it takes (each a message of its own)."""
    prefix = ":%s!%s@%s PRIVMSG #lobby :" % (nick, nick, SERVER)
    text = ""
    while len(text) < n:
        line = c.line()
        assert line.startswith(prefix), line
        assert len(line.encode()) <= 510
        text += line[len(prefix):]
    return text


def test_512_and_8191_at_their_edges(chatd, tmp_path):
    """510 bytes before CRLF pass and 511 get 417; 8191 bytes of tags
    (the '@' and the space included) pass, 8192 get 417, as do 8191 of tags
    before 511 bytes; 100,000 bytes get one 417 and the next line works.
    A line that is refused is not relayed in part."""
    d = start(chatd, tmp_path)
    a, b = Irc(d, "edger"), Irc(d, "reader")
    a.expect(":reader!")
    rss = RssGuard(d)
    ok = _privmsg_of_length(510)
    a.send_raw(ok + b"\r\n")
    assert relayed_text(b, "edger", 494) == "x" * 494
    a.send_raw(_privmsg_of_length(511, b"y") + b"\r\n")
    assert a.line() == ":%s 417 edger :Input line was too long" % SERVER
    a.send_raw(_privmsg_of_length(510, b"z") + b"\n")     # LF alone: the same
    assert relayed_text(b, "edger", 494) == "z" * 494
    a.send_raw(_tags_of_length(8191) + ok + b"\r\n")
    assert relayed_text(b, "edger", 494) == "x" * 494
    a.send_raw(_tags_of_length(8192) + ok + b"\r\n")
    assert a.line() == ":%s 417 edger :Input line was too long" % SERVER
    a.send_raw(_tags_of_length(8191) + _privmsg_of_length(511) + b"\r\n")
    assert a.line() == ":%s 417 edger :Input line was too long" % SERVER
    a.send_raw(b"PRIVMSG #lobby :" + b"w" * 100000 + b"\r\nPRIVMSG #lobby :after\r\n")
    assert a.line() == ":%s 417 edger :Input line was too long" % SERVER
    assert b.line().endswith("PRIVMSG #lobby :after")
    assert a.sync() == []
    assert b.sync() == []
    rss.check()


def test_limits_are_judged_on_the_wire_not_after_sanitizing(chatd, tmp_path):
    """A 510-byte line, or 8191 bytes of tags, whose bytes sanitizing makes
    longer (invalid UTF-8 and NUL become the 3-byte U+FFFD) is within IRC's
    limits: it is relayed, not refused with 417.  And one whose telnet
    sequences sanitizing removes is still too long."""
    d = start(chatd, tmp_path)
    a, b = Irc(d, "wire"), Irc(d, "reader")
    a.expect(":reader!")
    text = b"\xc0\x00" * ((510 - 16) // 2)     # (\xff would be telnet's)
    a.send_raw(b"PRIVMSG #lobby :" + text + b"\r\n")
    assert a.sync() == []
    # 494 U+FFFD, 1,482 bytes: several IRC lines, each a whole message
    relayed = b.sync()
    prefix = ":wire!wire@%s PRIVMSG #lobby :" % SERVER
    assert relayed and all(l.startswith(prefix) for l in relayed), relayed[:1]
    assert "".join(l[len(prefix):] for l in relayed) == R * 494
    for l in relayed:
        assert_terminal_safe(l.encode())
    a.send_raw(b"@a=" + b"\xc0" * 8187 + b" PRIVMSG #lobby :tagged\r\n")
    assert a.sync() == []
    assert b.line().endswith("PRIVMSG #lobby :tagged")
    # 511 bytes on the wire, 3 of them a telnet command sanitizing drops
    a.send_raw(b"PRIVMSG #lobby :" + b"\xff\xfb\x01" + b"t" * (511 - 19) + b"\r\n")
    assert a.line() == ":%s 417 wire :Input line was too long" % SERVER
    assert b.sync() == []


def test_params_cr_nul_and_bad_utf8(chatd, tmp_path):
    """15 and more parameters (the 15th takes the rest), bare CR (never a
    line break: no command is smuggled after it), NUL and invalid UTF-8 in
    commands, nicks, channels and text: the right numerics, and text that
    reaches others, IRC and line clients, is valid UTF-8 without
    controls."""
    d = start(chatd, tmp_path)
    ctl = _ctl(tmp_path)
    a, b = Irc(d, "weird"), Irc(d, "reader")
    line = d.client(name="linereader")
    a.expect(":reader!")
    a.expect(":%s!" % line.nick)
    line.sync()
    many = " ".join("p%d" % i for i in range(1, 31))
    u = Irc(d)
    u.send("USER " + many)                # 30 params: registers all the same
    u.send("NICK manyparams")
    u.expect(":%s 001 manyparams " % SERVER)
    a.send("JOIN " + many)                # 15th param takes the rest: ignored
    a.send("PRIVMSG #lobby " + many)      # the text is the second: p1
    got = b.expect(":weird!")
    assert got == ":weird!weird@%s PRIVMSG #lobby :p1" % SERVER
    assert line.expect("MSG #lobby weird") == "MSG #lobby weird p1"
    # bare CR: part of the text, made visible; the QUIT after it is text
    a.send_raw(b"PRIVMSG #lobby :one\rQUIT :smuggled\r\n")
    assert b.expect(":weird!") == ":weird!weird@%s PRIVMSG #lobby :one%sQUIT :smuggled" % (
        SERVER, R)
    assert line.expect("MSG #lobby weird") == "MSG #lobby weird one%sQUIT :smuggled" % R
    a.send_raw(b"PRIVMSG #lobby :cr at the end\r\r\n")
    assert b.expect(":weird!").endswith(":cr at the end" + R)
    # NUL: never a terminator; in text U+FFFD, in a nick 432
    a.send_raw(b"PRIVMSG #lobby :nul\x00here\r\n")
    assert b.expect(":weird!").endswith(":nul%shere" % R)
    a.send_raw(b"NICK we\x00ird2\r\n")
    assert a.numeric("432")
    a.send_raw(b"PRIV\x00MSG #lobby :x\r\n")
    assert a.numeric("421")
    # invalid UTF-8: text replaced, names refused
    a.send_raw(b"PRIVMSG #lobby :caf\xe9 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80\r\n")
    assert b.expect(":weird!").endswith(":caf%s %s%s %s%s%s %s%s%s%s" % ((R,) * 10))
    a.send_raw(b"JOIN #caf\xe9\r\n")
    assert a.numeric("479")
    a.send_raw(b"NICK caf\xe9\r\n")
    assert a.numeric("432")
    a.send_raw(b"TOPIC #lobby :\x1b[31mred\x1b]0;title\x07\r\n")
    assert b.expect(":weird!").endswith("TOPIC #lobby :%s[31mred%s]0;title%s" % (R, R, R))
    # nothing of it broke a line or a terminal, and nobody left
    for c in (b, line):
        c.sync()
        for l in c.history:
            assert_terminal_safe(l.encode())
    assert not a.is_closed_by_peer(0.1)
    assert stats(ctl)["clients"] == 4


# ---- pings ---------------------------------------------------------------

def test_ping_timeout_at_its_edge(chatd, tmp_path):
    """irc-ping-interval = 1, irc-ping-timeout = 3: a silent client is sent
    PING no sooner than a second after its last line, and closed with
    'Ping timeout: 4 seconds' no sooner than 4 seconds after it; clients
    that answer (PONG, or any line) are kept through round after round.
    idle-timeout, 1 second here, closes line clients only."""
    d = start(chatd, tmp_path, **{"irc-ping-interval": 1, "irc-ping-timeout": 3,
                                  "idle-timeout": 1,
                                  "irc-registration-timeout": 600})
    ctl = _ctl(tmp_path)
    base = stats(ctl)
    ping = "PING :%s" % SERVER
    answerers = {"ponger": "PONG :%s" % SERVER, "talker": "TIME"}
    rounds = {}
    errors = []
    stop = threading.Event()

    def answer(c, reply):
        try:
            while not stop.is_set():
                line = c.try_line(0.2)
                if line == ping:
                    c.send(reply)
                    rounds[c.nick] = rounds.get(c.nick, 0) + 1
                assert not c.eof, "%s closed: %r" % (c.nick, c.history[-3:])
        except Exception as e:          # reported below
            errors.append(e)
    threads = []
    for nick, reply in answerers.items():
        c = Irc(d, nick)
        c.sync()
        threads.append(threading.Thread(target=answer, args=(c, reply), daemon=True))
        threads[-1].start()
    mute = Irc(d, "mute")
    last_sent = time.monotonic()        # the daemon read it after this
    mute.sync()
    idle = d.client(name="idle")
    assert idle.wait_eof(timeout=10)[-1].startswith("BYE idle-timeout")
    mute.expect(ping, timeout=10)
    # libevent times with CLOCK_MONOTONIC_COARSE (a few ms a tick): "never
    # early" holds to that tick, not to the microsecond.
    assert time.monotonic() - last_sent >= 1.0 - COARSE_TICK
    lines = mute.wait_eof(timeout=10)
    assert lines[-1] == "ERROR :Closing Link: 127.0.0.1 (Ping timeout: 4 seconds)"
    assert time.monotonic() - last_sent >= 4.0 - COARSE_TICK
    mute.close()
    idle.close()
    assert wait_until(lambda: errors or min(rounds.get(n, 0) for n in answerers) >= 4,
                      20), rounds
    stop.set()
    for t in threads:
        t.join(scaled(5))
    assert not errors, errors
    st = stats(ctl)
    assert st["closed_ping"] - base["closed_ping"] == 1
    assert st["closed_idle"] - base["closed_idle"] == 1        # the line client
    assert st["pings_sent"] - base["pings_sent"] >= 9
    wait_clients(ctl, 2)


def test_irc_timers_apply_on_reload(chatd, tmp_path):
    """A reload that shortens irc-registration-timeout cuts a client still
    registering (counted from its connection), and one that shortens
    irc-ping-interval pings a silent registered client (counted from the
    reload)."""
    d = start(chatd, tmp_path, **{"irc-registration-timeout": 600,
                                  "irc-ping-interval": 600})
    ctl = _ctl(tmp_path)
    base = stats(ctl)
    waiting = Irc(d)
    waiting.send("CAP LS 302")
    waiting.expect(":%s CAP * LS" % SERVER)
    quiet = Irc(d, "quiet")
    quiet.sync()
    mark = d.log_mark()
    d.reload(dict(FAST, **{"server-name": SERVER, "irc-registration-timeout": 1,
                           "irc-ping-interval": 1}))
    d.wait_log(r"reload: irc-ping-interval changed", start=mark)
    assert waiting.wait_eof(timeout=10)[-1] == \
        "ERROR :Closing Link: 127.0.0.1 (Registration timed out)"
    quiet.expect("PING :%s" % SERVER, timeout=10)
    quiet.send("PONG :%s" % SERVER)
    assert not quiet.is_closed_by_peer(0.1)
    st = stats(ctl)
    assert st["closed_registration"] - base["closed_registration"] == 1
    assert st["pings_sent"] - base["pings_sent"] >= 1
