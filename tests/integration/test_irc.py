"""The IRC front-end (chatd-irc(7)) over real sockets: registration, the
numerics every client relies on, errors, and an IRC client and a line
client in one room, both ways."""
import re

import pytest

from conftest import Client
from test_chatctl import Ctl, admin, ctl_dir  # noqa: F401 (fixtures)

SERVER = "irc.test"
CONFIG = {"server-name": SERVER}


def irc_port(d):
    line = d.wait_log(r"listening on 127\.0\.0\.1:\d+ \(irc\)")
    return int(re.search(r":(\d+) \(irc\)", line).group(1))


def start(chatd, *args, **kw):
    kw.setdefault("config", CONFIG)
    return chatd("--listen-irc", "127.0.0.1:0", *args, **kw)


class Irc(Client):
    """An IRC client: CRLF lines, no HELLO."""

    def __init__(self, d, nick=None, **kw):
        super().__init__(irc_port(d), read_hello=False, **kw)
        d.clients.append(self)
        if nick is not None:
            self.register(nick)

    def send(self, line, timeout=30.0):
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send_raw(line + b"\r\n", timeout)

    def register(self, nick):
        self.send("NICK " + nick)
        self.send("USER %s 0 * :Real %s" % (nick, nick))
        self.expect(":%s 001 %s " % (SERVER, nick))
        self.expect(":%s 366 %s #lobby " % (SERVER, nick))
        self.nick = nick

    def numeric(self, code):
        return self.expect(":%s %s " % (SERVER, code))

    def sync(self, timeout=5.0):
        """PING round trip; returns the lines before the PONG."""
        self.send("PING :sync")
        return self.expect_with_skipped(":%s PONG %s :sync" % (SERVER, SERVER),
                                        timeout)[1]


def test_registration_sends_the_welcome_numerics(chatd):
    d = start(chatd)
    c = Irc(d)
    c.send("CAP LS 302")
    assert c.line() == (":%s CAP * LS :away-notify batch cap-notify chghost draft/chathistory "
                        "echo-message extended-join invite-notify labeled-response message-tags "
                        "multi-prefix server-time "
                        "setname userhost-in-names" % SERVER)
    c.send("NICK alice")
    c.send("USER alice 0 * :Alice")
    c.no_line()                      # CAP negotiation holds registration
    c.send("CAP END")
    lines = c.expect_with_skipped(":%s 366 alice #lobby " % SERVER)[1]
    codes = [l.split()[1] for l in lines]
    assert codes[:5] == ["001", "002", "003", "004", "005"]
    assert "251" in codes and "422" in codes
    isupport = " ".join(l for l in lines if l.split()[1] == "005")
    for token in ("CASEMAPPING=ascii", "CHANTYPES=#", "NICKLEN=30", "CHANNELLEN=51",
                  "TOPICLEN=300", "PREFIX=(ov)@+", "CHANMODES=b,k,l,imnt"):
        assert token in isupport
    assert ":alice!alice@%s JOIN #lobby" % SERVER in lines
    names = next(l for l in lines if l.split()[1] == "353")
    assert names == ":%s 353 alice = #lobby :alice" % SERVER


def test_motd_lines_and_pre_registration_errors(chatd):
    d = start(chatd, config=["server-name = " + SERVER, "motd = first line",
                             "motd = second"])
    c = Irc(d)
    c.send("JOIN #x")
    assert c.line() == ":%s 451 * :You have not registered" % SERVER
    c.send("USER a 0")
    assert c.line() == ":%s 461 * USER :Not enough parameters" % SERVER
    c.send("PING :tok")
    assert c.line() == ":%s PONG %s :tok" % (SERVER, SERVER)
    c.register("bob")
    c.send("MOTD")
    assert c.numeric("375")
    assert c.line() == ":%s 372 bob :- first line" % SERVER
    assert c.line() == ":%s 372 bob :- second" % SERVER
    assert c.numeric("376")
    c.send("USER bob 0 * :again")
    assert c.line() == ":%s 462 bob :You may not reregister" % SERVER


def test_irc_and_line_clients_talk_both_ways(chatd):
    d = start(chatd)
    i = Irc(d, "alice")
    line = d.client()
    i.expect(":%s!%s@%s JOIN #lobby" % (line.nick, line.nick, SERVER))
    line.sync()

    i.send("PRIVMSG #lobby :hello from irc")
    assert line.expect("MSG #lobby alice") == "MSG #lobby alice hello from irc"
    i.send("PRIVMSG #lobby :\x01ACTION waves\x01")
    assert line.expect("ACTION ") == "ACTION #lobby alice waves"
    assert i.sync() == []            # no echo without echo-message

    line.send("hi from line")
    assert i.line() == ":%s!%s@%s PRIVMSG #lobby :hi from line" % (
        line.nick, line.nick, SERVER)
    line.send("/me dances")
    assert i.line() == ":%s!%s@%s PRIVMSG #lobby :\x01ACTION dances\x01" % (
        line.nick, line.nick, SERVER)
    line.send("/nick carol")
    assert i.line() == ":%s!%s@%s NICK carol" % (line.nick, line.nick, SERVER)
    line.send("/msg alice psst")
    assert i.line() == ":carol!carol@%s PRIVMSG alice :psst" % SERVER
    i.send("PRIVMSG carol :back")
    assert line.expect("PRIV alice") == "PRIV alice carol back"
    i.send("NOTICE carol :a notice")
    assert line.expect("PRIV alice") == "PRIV alice carol a notice"
    line.send("/topic new topic")
    assert i.line() == ":carol!carol@%s TOPIC #lobby :new topic" % SERVER
    i.send("TOPIC #lobby :from irc")
    assert i.line() == ":alice!alice@%s TOPIC #lobby :from irc" % SERVER
    assert line.expect("TOPIC #lobby alice") == "TOPIC #lobby alice from irc"
    i.send("NICK alicia")
    assert i.line() == ":alice!alice@%s NICK alicia" % SERVER
    assert line.expect("NICK alice") == "NICK alice alicia"
    line.send("/quit bye")
    assert i.line() == ":carol!carol@%s QUIT :bye" % SERVER
    i.send("QUIT :done")
    assert i.line() == "ERROR :Closing Link: 127.0.0.1 (done)"
    i.wait_eof()


def test_two_irc_clients_in_a_channel(chatd):
    d = start(chatd)
    a, b = Irc(d, "a1"), Irc(d, "b1")
    a.expect(":b1!b1@%s JOIN #lobby" % SERVER)
    a.send("JOIN #x,#y")
    assert a.line() == ":a1!a1@%s JOIN #x" % SERVER
    assert a.line() == ":a1!a1@%s JOIN #y" % SERVER
    assert a.line() == ":%s 353 a1 = #x :@a1" % SERVER
    assert a.line() == ":%s 366 a1 #x :End of /NAMES list" % SERVER
    assert a.numeric("353").endswith("#y :@a1")
    a.numeric("366")
    b.send("JOIN #x")
    assert a.line() == ":b1!b1@%s JOIN #x" % SERVER
    assert b.line() == ":b1!b1@%s JOIN #x" % SERVER
    assert b.line() == ":%s 353 b1 = #x :@a1 b1" % SERVER
    b.numeric("366")
    a.send("PRIVMSG #x,b1 :both")
    assert b.line() == ":a1!a1@%s PRIVMSG #x :both" % SERVER
    assert b.line() == ":a1!a1@%s PRIVMSG b1 :both" % SERVER
    b.send("PART #x :leaving")
    assert a.line() == ":b1!b1@%s PART #x :leaving" % SERVER
    assert b.line() == ":b1!b1@%s PART #x :leaving" % SERVER
    a.send("JOIN 0")
    assert a.line() == ":a1!a1@%s PART #y" % SERVER
    assert a.line() == ":a1!a1@%s PART #x" % SERVER
    assert a.line() == ":a1!a1@%s PART #lobby" % SERVER
    assert b.line() == ":a1!a1@%s PART #lobby" % SERVER


def test_text_is_the_second_parameter(chatd):
    """PRIVMSG #room hello world (no colon) says "hello", as RFC 2812 reads
    it: the text is the second parameter, whatever follows."""
    d = start(chatd)
    c = Irc(d, "speaker")
    line = d.client()
    c.expect(":%s!%s@%s JOIN #lobby" % (line.nick, line.nick, SERVER))
    line.sync()
    c.send("PRIVMSG #lobby hello world")
    assert line.expect("MSG ") == "MSG #lobby speaker hello"
    c.send("PRIVMSG #lobby :\x01ACTION waves\x01 extra")
    assert line.expect("ACTION ") == "ACTION #lobby speaker waves"


def test_irc_names_at_their_edges(chatd):
    """The name rule of chatd-protocol(7), which NICKLEN and CHANNELLEN
    announce: 30-byte nicks with IRC's specials, 50-byte UTF-8 rooms."""
    d = start(chatd)
    c = Irc(d, "[bot]")
    line = d.client()
    c.expect(":%s!%s@%s JOIN #lobby" % (line.nick, line.nick, SERVER))
    line.sync()
    nick = "a\\b|" + "n" * 26
    c.send("NICK " + nick)
    assert c.line() == ":[bot]![bot]@%s NICK %s" % (SERVER, nick)
    assert line.expect("NICK ") == "NICK [bot] " + nick
    c.send("NICK " + "n" * 31)
    assert c.line() == ":%s 432 %s %s :Erroneous nickname" % (SERVER, nick, "n" * 31)
    room = "#caf\u00e9+" + "\u00e9" * 21 + "xx"       # 50 bytes after '#'
    c.send("JOIN " + room)
    assert c.line() == ":%s!%s@%s JOIN %s" % (nick, nick, SERVER, room)
    c.numeric("366")
    line.send("/join " + room.upper())                   # only ASCII folds
    assert line.expect("JOIN ").startswith("JOIN %s " % room.upper())
    line.send("/join #CAF\u00e9+" + "\u00e9" * 21 + "XX")
    assert line.expect("JOIN ").startswith("JOIN %s " % room)
    assert c.line() == ":%s!%s@%s JOIN %s" % (line.nick, line.nick, SERVER, room)
    c.send("JOIN %sy" % room)
    assert c.line() == ":%s 479 %s %sy :Illegal channel name" % (SERVER, nick, room)


def test_errors_get_their_numerics(chatd):
    d = start(chatd)
    c = Irc(d, "err")
    other = Irc(d, "taken")
    c.sync()
    cases = [
        ("FOO bar", "421 err FOO :Unknown command"),
        ("PRIVMSG", "411 err :No recipient given (PRIVMSG)"),
        ("PRIVMSG #lobby", "412 err :No text to send"),
        ("PRIVMSG nobody :x", "401 err nobody :No such nick/channel"),
        ("PRIVMSG #nowhere :x", "404 err #nowhere :Cannot send to channel"),
        ("PART #nowhere", "403 err #nowhere :No such channel"),
        ("NICK", "431 err :No nickname given"),
        ("NICK 9lives", "432 err 9lives :Erroneous nickname"),
        ("NICK taken", "433 err taken :Nickname is already in use"),
        ("JOIN bad", "479 err bad :Illegal channel name"),
        ("TOPIC", "461 err TOPIC :Not enough parameters"),
        ("PING", "409 err :No origin specified"),
        ("CAP BOGUS", "410 err BOGUS :Invalid CAP command"),
        ("MODE #lobby +m", "482 err #lobby :You're not channel operator"),
        ("MODE taken", "502 err :Can't change mode for other users"),
        ("MODE err +x", "501 err :Unknown MODE flag"),
        ("PRIVMSG a,b,c,d,e :x", "401 err a :No such nick/channel"),
        ("@tags-only-no-command", None),
    ]
    for line, want in cases:
        c.send(line)
        if want is None:
            assert c.sync() == [], line
            continue
        assert c.line() == ":%s %s" % (SERVER, want), line
        if line.startswith("PRIVMSG a,"):
            for nick in "bcd":
                assert c.line() == ":%s 401 err %s :No such nick/channel" % (SERVER, nick)
            assert c.line() == ":%s 407 err e :Too many targets (TARGMAX 4)" % SERVER
    other.send("JOIN #private")
    other.numeric("366")
    c.send("TOPIC #private :x")
    assert c.line() == ":%s 442 err #private :You're not on that channel" % SERVER
    c.send("NOTICE nobody :x")      # NOTICE never gets an automatic reply
    assert c.sync() == []
    c.send("x" * 600)
    assert c.line() == ":%s 417 err :Input line was too long" % SERVER
    c.send("")                       # an empty line is ignored
    assert c.sync() == []


def test_queries(chatd):
    d = start(chatd)
    a, b = Irc(d, "qa"), Irc(d, "qb")
    a.sync()
    a.send("WHO #lobby")
    assert a.line() == ":%s 352 qa #lobby qa %s %s qa H :0 Real qa" % (SERVER, SERVER, SERVER)
    assert a.line() == ":%s 352 qa #lobby qb %s %s qb H :0 Real qb" % (SERVER, SERVER, SERVER)
    assert a.line() == ":%s 315 qa #lobby :End of /WHO list" % SERVER
    a.send("NAMES #lobby")
    assert a.line() == ":%s 353 qa = #lobby :qa qb" % SERVER
    a.numeric("366")
    a.send("LIST")
    assert a.numeric("321")
    assert a.line() == ":%s 322 qa #lobby 2 :" % SERVER
    assert a.numeric("323")
    b.send("JOIN #c++,#cafe,#Cobol")
    for _ in range(3):
        b.numeric("366")
    a.send("LIST #C*,nothing")               # masks, ASCII case folded
    assert a.numeric("321")
    assert [a.line() for _ in range(3)] == [":%s 322 qa %s 1 :" % (SERVER, r)
                                            for r in ("#c++", "#cafe", "#Cobol")]
    assert a.numeric("323")
    a.send("LIST #?afe")
    a.numeric("321")
    assert a.line() == ":%s 322 qa #cafe 1 :" % SERVER
    a.numeric("323")
    a.send("ISON qb nobody qa")
    assert a.line() == ":%s 303 qa :qb qa" % SERVER
    a.send("USERHOST qb")
    assert a.line() == ":%s 302 qa :qb=+qb@%s" % (SERVER, SERVER)
    a.send("WHOIS qb")
    assert a.line() == ":%s 311 qa qb qb %s * :Real qb" % (SERVER, SERVER)
    assert a.numeric("312")
    assert a.line() == ":%s 319 qa qb :#lobby #c++ #cafe #Cobol" % SERVER
    assert a.numeric("317")
    assert a.numeric("318")
    a.send("MODE #lobby")
    assert a.line() == ":%s 324 qa #lobby +n" % SERVER
    assert re.fullmatch(r":%s 329 qa #lobby \d+" % re.escape(SERVER), a.line())
    a.send("MODE #lobby b")
    assert a.line() == ":%s 368 qa #lobby :End of channel ban list" % SERVER
    a.send("MODE qa")
    assert a.line() == ":%s 221 qa +" % SERVER


def test_long_line_text_is_split_to_fit_512_bytes(chatd):
    d = start(chatd)
    i = Irc(d, "reader")
    line = d.client()
    i.expect(":%s!" % line.nick)
    text = ("word " * 700).strip() + " é" * 100      # ~3.7 KB, some UTF-8
    line.send(text)
    got = []
    prefix = ":%s!%s@%s PRIVMSG #lobby :" % (line.nick, line.nick, SERVER)
    while "".join(got) != text:
        raw = i.raw_line()
        assert len(raw) + 2 <= 512
        s = raw.decode("utf-8")
        assert s.startswith(prefix), s
        got.append(s[len(prefix):])
        assert len(got) < 20
    assert len(got) >= 8


def test_formatting_codes_and_other_ctcp_are_not_relayed(chatd):
    d = start(chatd)
    i = Irc(d, "styler")
    line = d.client()
    i.expect(":%s!" % line.nick)
    line.sync()
    i.send("PRIVMSG #lobby :\x02bold\x02 \x0304,12red\x03 \x1funder\x0f")
    assert line.expect("MSG ") == "MSG #lobby styler bold red under"
    i.send("PRIVMSG #lobby :\x01VERSION\x01")
    i.send("TOPIC #lobby :\x02t\x02")
    assert line.expect("TOPIC ") == "TOPIC #lobby styler t"
    line.send("\x01ACTION fake\x01")           # the line protocol strips it
    assert "\x01ACTION" not in i.expect(":%s!" % line.nick)


def test_chatctl_sees_and_steers_irc_clients(admin):
    d, ctl = admin(config=dict(CONFIG, **{"listen-irc": "127.0.0.1:0"}))
    i = Irc(d, "ircer")
    i.sync()
    status = ctl.json("status")
    assert any(l.endswith("(irc)") for l in status["listeners"])
    rows = ctl.json("clients")["clients"]
    row = next(r for r in rows if r["nick"] == "ircer")
    assert row["protocol"] == "irc"
    ctl.run("say", "#lobby", "hello irc")
    assert i.line() == ":%s PRIVMSG #lobby :hello irc" % SERVER
    ctl.run("kick", "ircer", "go away")
    lines = i.wait_eof()
    assert lines[-1].startswith("ERROR :Closing Link: 127.0.0.1 (")
    assert "go away" in lines[-1]


def test_line_and_tag_limits_at_their_edges(chatd):
    d = start(chatd)
    c = Irc(d, "edge")
    line = d.client()
    c.expect(":%s!" % line.nick)
    line.sync()
    head = "PRIVMSG #lobby :"
    c.send(head + "a" * (510 - len(head)))               # 510 bytes: taken
    assert line.expect("MSG #lobby edge") == "MSG #lobby edge " + "a" * (510 - len(head))
    c.send(head + "b" * (511 - len(head)))               # 511: refused
    assert c.line() == ":%s 417 edge :Input line was too long" % SERVER
    tags = "@" + "t" * (8191 - 2) + " "                  # 8191 with '@' and ' '
    c.send(tags + head + "tagged")
    assert line.expect("MSG #lobby edge") == "MSG #lobby edge tagged"
    c.send("@" + "t" * 8190 + " " + head + "too many tags")
    assert c.line() == ":%s 417 edge :Input line was too long" % SERVER
    c.send("@" + "t" * 9000 + " " + head + "beyond the framer")
    assert c.line() == ":%s 417 edge :Input line was too long" % SERVER
    assert c.sync() == []
    assert line.sync() == []


def test_default_room_none_joins_nothing(chatd):
    d = start(chatd, config={"server-name": SERVER, "default-room": "none"})
    c = Irc(d)
    c.send("NICK lone")
    c.send("USER lone 0 * :L")
    c.expect(":%s 422 lone " % SERVER)
    assert not [l for l in c.sync() if " JOIN " in l]
    c.send("JOIN #own")
    assert c.expect(":lone!lone@%s JOIN" % SERVER) == ":lone!lone@%s JOIN #own" % SERVER
