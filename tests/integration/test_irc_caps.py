"""IRCv3 capabilities (chatd-irc(7) CAPABILITIES) and AWAY, over raw
sockets: negotiation, and what each capability changes on the wire, with
line clients in the same rooms."""
import re
import time

from test_irc import SERVER, Irc, start
from test_chatctl import Ctl, admin, ctl_dir  # noqa: F401 (fixtures)
from test_moderation import named

TIME_RE = r"@time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def with_caps(d, nick, caps):
    """An IRC client registered with caps (a space list) acknowledged."""
    c = Irc(d)
    c.send("CAP LS 302")
    c.expect(":%s CAP * LS :" % SERVER)
    c.send("CAP REQ :" + caps)
    assert c.line() == ":%s CAP * ACK :%s" % (SERVER, caps)
    c.register_after_cap(nick)
    return c


def register_after_cap(self, nick):
    self.send("NICK " + nick)
    self.send("USER %s 0 * :Real %s" % (nick, nick))
    self.send("CAP END")
    self.expect(":%s 366 %s #lobby " % (SERVER, nick))
    self.nick = nick


Irc.register_after_cap = register_after_cap


def test_negotiation(chatd):
    d = start(chatd)
    c = Irc(d)
    c.send("CAP LS")
    assert "server-time" in c.line().split(":")[-1].split()
    c.send("CAP REQ :server-time bogus-cap")      # all or nothing
    assert c.line() == ":%s CAP * NAK :server-time bogus-cap" % SERVER
    c.send("CAP LIST")
    assert c.line() == ":%s CAP * LIST :" % SERVER
    c.send("CAP REQ :server-time multi-prefix")
    assert c.line() == ":%s CAP * ACK :server-time multi-prefix" % SERVER
    c.send("CAP REQ :-multi-prefix")
    assert c.line() == ":%s CAP * ACK :-multi-prefix" % SERVER
    c.send("CAP LIST")
    assert c.line() == ":%s CAP * LIST :server-time" % SERVER
    c.send("NICK negot")
    c.send("USER negot 0 * :N")
    c.no_line()                                 # held until CAP END
    c.send("CAP END")
    c.expect(":%s 001 negot " % SERVER)
    c.expect(":%s 366 negot #lobby " % SERVER)
    c.send("CAP REQ :echo-message")             # after registration too
    assert c.line() == ":%s CAP negot ACK :echo-message" % SERVER


def test_server_time_message_tags_and_echo(chatd):
    d = start(chatd)
    plain = Irc(d, "plain")
    timed = with_caps(d, "timed", "server-time")
    tagged = with_caps(d, "tagged", "message-tags server-time echo-message")
    line = named(d, "liner")
    for c in (plain, timed, tagged):
        c.expect_re(r"(@\S+ )?:\S+ NICK liner$")
    before = time.time()
    line.send("hello all")
    assert plain.line() == ":liner!liner@%s PRIVMSG #lobby :hello all" % SERVER
    got = timed.line()
    assert re.fullmatch(TIME_RE + r" :liner!liner@\S+ PRIVMSG #lobby :hello all", got), got
    stamp = time.mktime(time.strptime(got[6:25], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert before - 2 <= stamp <= time.time() + 1
    got = tagged.line()
    m = re.fullmatch(TIME_RE + r";msgid=([0-9a-f]+-\d+) :liner!\S+ PRIVMSG #lobby :hello all", got)
    assert m, got
    first = m.group(1)
    line.send("again")
    m = re.fullmatch(TIME_RE + r";msgid=(\S+) :\S+ PRIVMSG #lobby :again", tagged.line())
    assert m and m.group(1) != first
    assert plain.line().endswith(" PRIVMSG #lobby :again")
    assert timed.line().endswith(" PRIVMSG #lobby :again")

    # echo-message: the sender gets its own line back, tagged; others do not.
    tagged.send("@+draft/reply=x PRIVMSG #lobby :echoed")   # client tags: read, not relayed
    assert re.fullmatch(TIME_RE + r";msgid=\S+ :tagged!tagged@\S+ PRIVMSG #lobby :echoed",
                        tagged.line())
    assert plain.line() == ":tagged!tagged@%s PRIVMSG #lobby :echoed" % SERVER
    assert line.expect("MSG #lobby tagged") == "MSG #lobby tagged echoed"
    plain.send("PRIVMSG #lobby :not echoed")
    assert plain.sync() == []
    assert tagged.line().endswith(":plain!plain@%s PRIVMSG #lobby :not echoed" % SERVER)
    tagged.send("PRIVMSG plain :private, echoed")
    assert tagged.line().endswith(":tagged!tagged@%s PRIVMSG plain :private, echoed" % SERVER)
    tagged.send("TAGMSG #lobby")                # nothing to relay, no error
    assert tagged.sync() == []


def test_names_capabilities(chatd):
    d = start(chatd)
    op = named(d, "op")
    op.send("/join #n")
    op.expect("ROOM #n")
    op.send("/mode #n +v op")
    op.expect("MODE #n op +v op")
    both = with_caps(d, "both", "multi-prefix userhost-in-names")
    both.send("JOIN #n")
    assert both.expect(":%s 353 " % SERVER) == \
        ":%s 353 both = #n :both!both@%s @+op!op@%s" % (SERVER, SERVER, SERVER)
    plain = Irc(d, "plain")
    plain.send("JOIN #n")
    assert plain.expect(":%s 353 " % SERVER).endswith(" #n :both @op plain")
    both.send("WHO #n")
    flags = [both.numeric("352").split()[8] for _ in range(2)]
    assert flags == ["H", "H@+"]


def test_away_and_away_notify(chatd):
    d = start(chatd)
    watcher = with_caps(d, "watcher", "away-notify")
    other = Irc(d, "other")
    goer = Irc(d, "goer")
    watcher.expect(":goer!goer@%s JOIN #lobby" % SERVER)
    other.expect(":goer!goer@%s JOIN #lobby" % SERVER)
    goer.send("AWAY")
    assert goer.line() == ":%s 305 goer :You are no longer marked as being away" % SERVER
    goer.send("AWAY :at lunch " + "x" * 300)
    assert goer.line() == ":%s 306 goer :You have been marked as being away" % SERVER
    got = watcher.line()
    assert got.startswith(":goer!goer@%s AWAY :at lunch x" % SERVER)
    assert len(got.split(" :", 1)[1].encode()) == 200    # AWAYLEN
    assert other.sync() == []                            # no away-notify
    other.send("PRIVMSG goer :are you there?")
    assert other.line().startswith(":%s 301 other goer :at lunch" % SERVER)
    other.send("WHOIS goer")
    assert other.expect(":%s 301 " % SERVER).startswith(":%s 301 other goer :at lunch" % SERVER)
    other.send("WHO goer")
    assert other.numeric("352").split()[8] == "G"
    goer.send("AWAY")
    assert goer.expect(":%s 305 " % SERVER)
    assert watcher.line() == ":goer!goer@%s AWAY" % SERVER


def test_invite_notify(chatd):
    d = start(chatd)
    op = named(d, "op")
    op.send("/join #inv")
    op.expect("ROOM #inv")
    helper = with_caps(d, "helper", "invite-notify")
    helper.send("JOIN #inv")
    helper.numeric("366")
    op.send("/mode #inv +o helper")
    helper.expect(":op!op@%s MODE #inv +o helper" % SERVER)
    guest = Irc(d, "guest")
    op.sync()
    op.send("/invite guest")
    assert op.expect("INFO ") == "INFO guest is invited to #inv"
    assert guest.line() == ":op!op@%s INVITE guest #inv" % SERVER
    assert helper.expect(":op!op@%s INVITE " % SERVER) == \
        ":op!op@%s INVITE guest #inv" % SERVER                    # invite-notify
    helper.send("INVITE other #inv")
    helper.numeric("401")
    named(d, "other")
    helper.send("INVITE other #inv")
    assert helper.numeric("341")
    assert op.expect("INVITE ") == "INVITE #inv helper other"        # operators see it


def history_batch(c, times=False):
    """The lines of one CHATHISTORY batch: (reference, [(msgid, text)]),
    or with times [(msgid, text, time)]."""
    start = c.expect_re(r":\S+ BATCH \+(\S+) chathistory (\S+)$")
    ref, got = start.group(1), []
    while True:
        line = c.line()
        if line == ":%s BATCH -%s" % (SERVER, ref):
            return start.group(2), got
        m = re.fullmatch(r"@batch=%s;time=(%s);msgid=(\S+) :\S+ PRIVMSG (\S+) :(.*)"
                         % (ref, TIME_RE[6:]), line)
        assert m, line
        got.append((m.group(2), m.group(4), m.group(1)) if times else
                   (m.group(2), m.group(4)))


def test_chathistory_from_scrollback(chatd):
    d = start(chatd, config=["server-name = " + SERVER, "scrollback = 30"])
    line = named(d, "talker")
    line.send("/join #h")
    line.expect("ROOM #h")
    for n in range(40):
        line.send("message %d" % n)
        line.expect("MSG #h talker message %d" % n)
    c = with_caps(d, "hist", "batch server-time message-tags draft/chathistory")
    c.send("JOIN #h")
    c.numeric("366")
    c.send("CHATHISTORY LATEST #h * 5")
    target, got = history_batch(c)
    assert target == "#h"
    assert [t for _, t in got] == ["message %d" % n for n in range(35, 40)]
    ids = {t: i for i, t in got}
    c.send("CHATHISTORY BEFORE #h msgid=%s 3" % ids["message 35"])
    assert [t for _, t in history_batch(c)[1]] == ["message 32", "message 33", "message 34"]
    c.send("CHATHISTORY AFTER #h msgid=%s 2" % ids["message 36"])
    assert [t for _, t in history_batch(c)[1]] == ["message 37", "message 38"]
    c.send("CHATHISTORY BETWEEN #h msgid=%s msgid=%s 10" % (ids["message 39"], ids["message 35"]))
    assert [t for _, t in history_batch(c)[1]] == ["message 36", "message 37", "message 38"]
    c.send("CHATHISTORY AROUND #h msgid=%s 4" % ids["message 37"])
    assert [t for _, t in history_batch(c)[1]] == ["message 35", "message 36", "message 37",
                                                  "message 38"]
    c.send("CHATHISTORY LATEST #h * 1000")      # at most scrollback, CHATHISTORY=100
    got = history_batch(c)[1]
    assert [t for _, t in got] == ["message %d" % n for n in range(10, 40)]
    assert len(set(i for i, _ in got)) == 30
    # Walking back page by page gives every kept message once, in order.
    seen, ref = [], "*"
    c.send("CHATHISTORY LATEST #h * 7")
    page = history_batch(c)[1]
    while page:
        seen = [t for _, t in page] + seen
        c.send("CHATHISTORY BEFORE #h msgid=%s 7" % page[0][0])
        page = history_batch(c)[1]
    assert seen == ["message %d" % n for n in range(10, 40)]
    c.send("CHATHISTORY BEFORE #h timestamp=2000-01-01T00:00:00.000Z 5")
    assert history_batch(c)[1] == []
    c.send("CHATHISTORY AFTER #h timestamp=2000-01-01T00:00:00Z 2")
    assert [t for _, t in history_batch(c)[1]] == ["message 10", "message 11"]
    c.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00Z timestamp=2100-01-01T00:00:00Z 10")
    assert re.fullmatch(r":\S+ BATCH \+(\S+) draft/chathistory-targets", c.line())
    assert re.fullmatch(r"@batch=\S+ :%s CHATHISTORY TARGETS #h timestamp=" % SERVER +
                        TIME_RE[6:], c.line())
    assert re.fullmatch(r":\S+ BATCH -\S+", c.line())
    for bad, code in [("CHATHISTORY LATEST #nowhere * 5", "INVALID_TARGET"),
                      ("CHATHISTORY BEFORE #h * 5", "INVALID_PARAMS"),
                      ("CHATHISTORY BEFORE #h when=5 5", "INVALID_PARAMS"),
                      ("CHATHISTORY AFTER #h timestamp=yesterday 5", "INVALID_PARAMS"),
                      ("CHATHISTORY LATEST #h * many", "INVALID_PARAMS"),
                      ("CHATHISTORY SIDEWAYS #h * 5", "INVALID_PARAMS")]:
        c.send(bad)
        assert c.line().startswith(":%s FAIL CHATHISTORY %s " % (SERVER, code)), bad
    c.send("CHATHISTORY BEFORE #h msgid=0-1 5")    # another run's id: nothing
    assert history_batch(c) == ("#h", [])
    c.send("CHATHISTORY LATEST talker * 5")     # private history is not kept
    assert history_batch(c) == ("talker", [])
    plain = Irc(d, "plain")                    # no batch, no tags: bare lines
    plain.send("JOIN #h")
    plain.numeric("366")
    plain.send("CHATHISTORY LATEST #h * 2")
    assert plain.line() == ":talker!talker@%s PRIVMSG #h :message 38" % SERVER
    assert plain.line() == ":talker!talker@%s PRIVMSG #h :message 39" % SERVER


def test_chathistory_fits_below_sendq_soft(chatd):
    """An answer is cut to what fits below sendq-soft, the oldest first:
    asking for history never costs a client its connection."""
    d = start(chatd, config=["server-name = " + SERVER, "scrollback = 30",
                             "sendq-soft = 16k", "max-line = 4096",
                             "flood-rate = 100000", "flood-burst = 100000"])
    line = named(d, "talker")
    line.send("/join #big")
    line.expect("ROOM #big")
    for n in range(30):
        line.send(("%02d " % n) + "w" * 3900)
        line.expect("MSG #big talker %02d " % n)
    c = with_caps(d, "hist", "batch server-time message-tags")
    c.send("JOIN #big")
    c.numeric("366")
    c.send("CHATHISTORY LATEST #big * 100")
    got = history_batch(c)[1]
    firsts = [t[:3] for _, t in got if re.match(r"\d\d w", t)]
    assert 0 < len(firsts) < 10
    assert firsts[-1] == "29 "                 # the newest kept, the oldest cut
    assert sum(len(t) for _, t in got) < 16384
    assert len(set(i for i, _ in got)) == len(firsts)   # a long message: one msgid
    c.send("PING :still")
    c.expect(":%s PONG %s :still" % (SERVER, SERVER))


def test_whox(chatd):
    d = start(chatd)
    op = named(d, "op")
    op.send("/join #w")
    op.expect("ROOM #w")
    c = Irc(d, "asker")
    c.send("JOIN #w")
    c.numeric("366")
    c.send("AWAY :gone")
    c.numeric("306")
    c.send("WHO #w %tcnfr,42")
    assert c.line() == ":%s 354 asker 42 #w asker G :Real asker" % SERVER
    assert c.line() == ":%s 354 asker 42 #w op H@ :op" % SERVER
    assert c.line() == ":%s 315 asker #w :End of /WHO list" % SERVER
    c.send("WHO op %nuhs")                     # fields in WHOX's order
    assert c.line() == ":%s 354 asker op %s %s op" % (SERVER, SERVER, SERVER)
    c.numeric("315")
    c.send("WHO #w %ia,toolong")               # a bad token is left out
    assert c.line() == ":%s 354 asker 255.255.255.255 0" % SERVER


def test_monitor(chatd):
    d = start(chatd)
    w = Irc(d, "watcher")
    w.send("MONITOR + alice,bob,9bad")
    assert w.line() == ":%s 731 watcher :alice" % SERVER
    assert w.line() == ":%s 731 watcher :bob" % SERVER
    a = named(d, "alice")                      # a line client counts too
    assert w.expect(":%s 730 " % SERVER) == ":%s 730 watcher :alice!alice@%s" % (SERVER, SERVER)
    a.send("/nick alicia")
    assert w.expect(":%s 731 " % SERVER) == ":%s 731 watcher :alice" % SERVER
    a.send("/nick ALICE")
    assert w.expect(":%s 730 " % SERVER) == ":%s 730 watcher :ALICE!ALICE@%s" % (SERVER, SERVER)
    w.send("MONITOR L")
    assert w.expect(":%s 732 " % SERVER) == ":%s 732 watcher :alice" % SERVER
    assert w.line() == ":%s 732 watcher :bob" % SERVER
    assert w.line() == ":%s 733 watcher :End of MONITOR list" % SERVER
    w.send("MONITOR S")
    assert w.line() == ":%s 730 watcher :ALICE!ALICE@%s" % (SERVER, SERVER)
    assert w.line() == ":%s 731 watcher :bob" % SERVER
    a.send("/quit")
    assert w.expect(":%s 731 watcher :A" % SERVER) == ":%s 731 watcher :ALICE" % SERVER
    w.send("MONITOR - alice")
    w.send("MONITOR L")
    assert w.expect(":%s 732 " % SERVER) == ":%s 732 watcher :bob" % SERVER
    w.numeric("733")
    w.send("MONITOR C")
    w.send("MONITOR + " + ",".join("n%d" % i for i in range(101)))
    lines = [w.line() for _ in range(101)]
    assert lines[-1] == ":%s 734 watcher 100 n100 :Monitor list is full." % SERVER
    assert all(" 731 " in l for l in lines[:-1])
    w.close()                                  # leaves its entries
    b = named(d, "bob")
    assert b.sync() == []


def test_sts_policy(chatd, tmp_path):
    """STS (irc-sts-duration): the plain listener names the TLS port, the
    TLS one the policy's duration; only to CAP LS 302."""
    import ssl
    import socket as sock
    from conftest import Client, scaled
    from test_tls import make_cert
    cert, key = make_cert(str(tmp_path), "sts")
    d = start(chatd, "--listen-irc-tls", "127.0.0.1:0",
              config=["server-name = " + SERVER, "tls-cert = " + cert, "tls-key = " + key,
                      "irc-sts-duration = 720h"])
    tls_port = int(re.search(r":(\d+) \(irc, TLS\)",
                             d.wait_log(r"listening on \S+ \(irc, TLS\)")).group(1))
    plain = Irc(d)
    plain.send("CAP LS 302")
    assert plain.line().endswith(" sts=port=%d" % tls_port)
    old = Irc(d)                               # no 302: no values, no sts
    old.send("CAP LS")
    assert "sts" not in old.line()
    plain.send("CAP REQ :sts")                 # never requested: NAK
    assert plain.line() == ":%s CAP * NAK :sts" % SERVER
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = sock.create_connection(("127.0.0.1", tls_port), timeout=scaled(5))
    t = Client(tls_port, sock=ctx.wrap_socket(raw), read_hello=False)
    t.send_raw(b"CAP LS 302\r\n")
    assert t.line().endswith(" sts=duration=2592000")
    t.close()


def test_monitor_and_away_are_counted(admin):
    """What MONITOR and AWAY make the daemon hold is charged (held_bytes),
    and given back when the client goes."""
    from conftest import wait_until
    d, ctl = admin(config={"server-name": SERVER, "listen-irc": "127.0.0.1:0"})
    c = Irc(d, "counted")
    c.sync()
    before = ctl.json("stats")["held_bytes"]
    c.send("MONITOR + " + ",".join("n%d" % i for i in range(100)))
    for _ in range(100):
        c.numeric("731")
    c.send("AWAY :" + "a" * 200)
    c.numeric("306")
    c.sync()
    held = ctl.json("stats")["held_bytes"]
    assert held - before >= 100 * 40 + 200, (before, held)
    c.close()
    assert wait_until(lambda: ctl.json("stats")["held_bytes"] < before - 100, 10)


def test_realname_and_setname(chatd):
    d = start(chatd)
    named_c = Irc(d)
    named_c.send("NICK real")
    named_c.send("USER real 0 * :Real Person " + "r" * 100)
    named_c.expect(":%s 366 real #lobby " % SERVER)
    watcher = with_caps(d, "watcher", "setname chghost")
    other = Irc(d, "other")
    other.send("WHOIS real")
    got = other.numeric("311")
    assert got.startswith(":%s 311 other real real %s * :Real Person r" % (SERVER, SERVER))
    assert len(got.split(" :", 1)[1].encode()) == 64              # NAMELEN
    other.send("WHO real %nr")
    assert other.numeric("354") == ":%s 354 other real :%s" % (SERVER, got.split(" :", 1)[1])
    named_c.sync()
    watcher.sync()
    other.sync()
    named_c.send("SETNAME :New Name")           # no setname cap: not told
    watcher_line = watcher.expect(":real!")
    assert watcher_line == ":real!real@%s SETNAME :New Name" % SERVER
    assert other.sync() == []
    assert named_c.sync() == []
    watcher.send("SETNAME :Me Too")
    assert watcher.line() == ":watcher!watcher@%s SETNAME :Me Too" % SERVER
    watcher.send("SETNAME :")
    assert watcher.line() == ":%s FAIL SETNAME INVALID_REALNAME :A real name is 1 to 64 bytes" % SERVER
    other.send("WHOIS watcher")
    assert other.numeric("311").endswith(" * :Me Too")


def test_monitor_and_chathistory_limits_at_their_edge(chatd):
    d = start(chatd, config=["server-name = " + SERVER, "irc-monitor-max = 2",
                             "irc-chathistory-max = 3",
                             "scrollback = 10"])
    c = with_caps(d, "edge", "batch message-tags")
    isupport = " ".join(l for l in c.history if l.split()[1] == "005")
    assert "MONITOR=2 " in isupport and "CHATHISTORY=3 " in isupport
    c.send("MONITOR + a1,a2,a3")
    assert c.expect(":%s 734 " % SERVER) == ":%s 734 edge 2 a3 :Monitor list is full." % SERVER
    line = named(d, "talker")
    for i in range(5):
        line.send("said %d" % i)
    line.sync()
    c.sync()
    c.send("CHATHISTORY LATEST #lobby * 10")
    assert [t for _, t in history_batch(c)[1]] == ["said 2", "said 3", "said 4"]
