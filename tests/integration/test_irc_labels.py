"""IRCv3 labeled-response and extended-join (chatd-irc(7) CAPABILITIES),
over raw sockets, with line clients in the same rooms."""
import re

from test_irc import SERVER, Irc, start
from test_irc_caps import TIME_RE, with_caps
from test_moderation import join, named

BATCH_START = re.compile(r"@label=(\S+) :%s BATCH \+(\S+) labeled-response$" % SERVER)


def labeled_batch(c, label):
    """The lines of the labeled-response batch that answers label, each
    without its batch tag, checked to be in the batch."""
    m = BATCH_START.match(c.line())
    assert m and m.group(1) == label, m
    ref = m.group(2)
    lines = []
    while True:
        line = c.line()
        if line == ":%s BATCH -%s" % (SERVER, ref):
            return lines
        tags, rest = line.split(" ", 1)
        assert "batch=" + ref in tags[1:].split(";"), line
        tags = ";".join(t for t in tags[1:].split(";") if t != "batch=" + ref)
        lines.append(("@" + tags + " " if tags else "") + rest)


def test_labels_one_line_none_and_many(chatd):
    d = start(chatd)
    c = with_caps(d, "lab", "batch labeled-response")
    c.send("@label=p1 PING :x")
    assert c.line() == "@label=p1 :%s PONG %s :x" % (SERVER, SERVER)
    c.send("@label=u1 FROB")
    assert c.line() == "@label=u1 :%s 421 lab FROB :Unknown command" % SERVER
    c.send("@label=m1 PRIVMSG #lobby :hi")       # no echo-message: no answer
    assert c.line() == "@label=m1 :%s ACK" % SERVER
    c.send("@label=j1 JOIN #lab")                # JOIN, then paged NAMES
    lines = labeled_batch(c, "j1")
    assert lines[0] == ":lab!lab@%s JOIN #lab" % SERVER
    assert lines[-2:] == [":%s 353 lab = #lab :@lab" % SERVER,
                          ":%s 366 lab #lab :End of /NAMES list" % SERVER]
    c.send("@label=w1 WHO #lobby")               # paged on its own
    lines = labeled_batch(c, "w1")
    assert lines[0].startswith(":%s 352 lab #lobby lab " % SERVER)
    assert lines[-1] == ":%s 315 lab #lobby :End of /WHO list" % SERVER
    c.send("PING :after")                        # unlabeled: as before
    assert c.line() == ":%s PONG %s :after" % (SERVER, SERVER)


def test_echo_is_the_labeled_answer(chatd):
    d = start(chatd)
    c = with_caps(d, "echo", "batch labeled-response echo-message message-tags")
    other = Irc(d, "other")
    line = named(d, "liner")
    c.expect_re(r"@\S+ :\S+ NICK liner$")
    other.expect_re(r":\S+ NICK liner$")
    c.send("@label=e1 PRIVMSG #lobby :hello")
    got = c.line()
    assert re.fullmatch(r"@label=e1;" + TIME_RE[1:] + r";msgid=\S+ :echo!echo@%s "
                        r"PRIVMSG #lobby :hello" % SERVER, got), got
    assert other.line() == ":echo!echo@%s PRIVMSG #lobby :hello" % SERVER
    assert line.expect("MSG #lobby echo hello")
    line.send("after you")                       # not part of any answer
    got = c.line()
    assert got.startswith("@time=") and got.endswith("PRIVMSG #lobby :after you"), got


def test_nested_chathistory_batch(chatd):
    d = start(chatd)
    line = named(d, "liner")
    for i in range(3):
        line.send("old %d" % i)
    c = with_caps(d, "hist", "batch labeled-response draft/chathistory message-tags")
    c.send("@label=h1 CHATHISTORY LATEST #lobby * 10")
    m = BATCH_START.match(c.line())
    assert m and m.group(1) == "h1"
    outer = m.group(2)
    inner = c.line()
    assert re.fullmatch(r"@batch=%s :%s BATCH \+(\S+) chathistory #lobby" % (outer, SERVER),
                        inner), inner
    ref = inner.split()[3][1:]
    for i in range(3):
        got = c.line()                           # the inner batch's own tag only
        assert got.startswith("@batch=%s;" % ref) and got.endswith(":old %d" % i), got
    assert c.line() == "@batch=%s :%s BATCH -%s" % (outer, SERVER, ref)
    assert c.line() == ":%s BATCH -%s" % (SERVER, outer)


def test_labels_need_batch_and_fit(chatd):
    d = start(chatd)
    c = with_caps(d, "nobatch", "labeled-response")
    c.send("@label=n1 PING :x")                  # without batch: no labels
    assert c.line() == ":%s PONG %s :x" % (SERVER, SERVER)
    b = with_caps(d, "long", "batch labeled-response")
    b.send("@label=%s PING :y" % ("x" * 65))     # over 64 bytes: ignored
    assert b.line() == ":%s PONG %s :y" % (SERVER, SERVER)
    b.send("@label=%s PING :z" % ("x" * 64))
    assert b.line() == "@label=%s :%s PONG %s :z" % ("x" * 64, SERVER, SERVER)
    b.send("@+draft/x=1;label=l\\:2 PING :w")   # among others, as escaped
    assert b.line() == "@label=l\\:2 :%s PONG %s :w" % (SERVER, SERVER)


def test_labeled_quit_still_says_goodbye(chatd):
    d = start(chatd)
    c = with_caps(d, "bye", "batch labeled-response")
    c.send("@label=q1 QUIT :done")
    got = c.line()
    assert got.startswith("ERROR :"), got
    c.wait_eof()


def test_extended_join(chatd):
    d = start(chatd)
    ext = with_caps(d, "ext", "extended-join")
    tagged = with_caps(d, "tagext", "extended-join message-tags")
    plain = Irc(d, "plain")
    for c in (ext, tagged, plain):
        c.send("JOIN #x")
    assert ext.expect(":ext!ext@%s JOIN #x * :Real ext" % SERVER)
    assert ext.expect(":tagext!tagext@%s JOIN #x * :Real tagext" % SERVER)
    assert ext.expect(":plain!plain@%s JOIN #x * :Real plain" % SERVER)
    got = tagged.expect_re(r"@\S+ :plain!plain@\S+ JOIN #x \* :Real plain$").group(0)
    assert re.match(TIME_RE + ";msgid=", got), got
    assert plain.expect(":plain!plain@%s JOIN #x" % SERVER)
    # A line client has no real name: its nick stands for it.  One write:
    # the JOIN and the line are delivered as one fan-out run.
    line = named(d, "liner")
    for c in (ext, tagged, plain):
        c.sync()
    line.send_raw(b"/join #x\nhi x\n")
    assert ext.line() == ":liner!liner@%s JOIN #x * :liner" % SERVER
    assert ext.line() == ":liner!liner@%s PRIVMSG #x :hi x" % SERVER
    assert re.fullmatch(r"@\S+ :liner!liner@\S+ JOIN #x \* :liner", tagged.line())
    assert tagged.line().endswith(" :liner!liner@%s PRIVMSG #x :hi x" % SERVER)
    assert plain.line() == ":liner!liner@%s JOIN #x" % SERVER
    assert plain.line() == ":liner!liner@%s PRIVMSG #x :hi x" % SERVER
    # The line protocol never shows a real name.
    watcher = named(d, "watcher")
    join(watcher, "#x")
    watcher.sync()
    plain.send("PART #x")
    plain.send("JOIN #x")
    assert watcher.expect("JOIN #x plain") == "JOIN #x plain"
