"""IRCv3 capabilities (chatd-irc(7) CAPABILITIES) and AWAY, over raw
sockets: negotiation, and what each capability changes on the wire, with
line clients in the same rooms."""
import re
import time

from test_irc import SERVER, Irc, start
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
