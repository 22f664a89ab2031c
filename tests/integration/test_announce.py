"""Big rooms that stay cheap (announce-members-max, chatd.conf(5)): who
joins a room that already has that many members is not announced.  Its
join, part, nick change and quit reach itself alone there until it speaks
or is given +o/+v; then the room gets its JOIN once, before what it said.
/who lists everyone; an IRC client's NAMES lists what it was told of."""
import re

from hostile import stats
from test_irc import SERVER, Irc, start
from test_moderation import join, named

BIG = {"server-name": SERVER, "announce-members-max": 3, "default-room": "none"}


def no_word_of(c, nick):
    """c's lines up to a sync: none is about nick."""
    seen = c.sync()
    assert not [l for l in seen if re.search(r"\b%s\b" % re.escape(nick), l)], seen


def member(d, nick):
    """A line client called nick, in #big, with nothing left to read."""
    c = named(d, nick)
    join(c, "#big")
    return c


def big_room(d):
    """#big with its three announced members: op (its creator), a, b."""
    op = member(d, "op")
    a, b = member(d, "a"), member(d, "b")
    for c in (op, a):
        c.sync()
    return op, a, b


def test_the_member_over_the_limit_is_not_announced(chatd):
    d = start(chatd, config=BIG)
    op, a, b = big_room(d)
    quiet = named(d, "hush")        # the fourth: nobody hears of it
    assert join(quiet, "#big").startswith("ROOM #big 4")
    for c in (op, a, b):
        no_word_of(c, "hush")
    # /who is complete, and counts it
    a.send("/who")
    who, _ = a.expect_with_skipped("WHO #big 4")
    assert "hush" in who
    quiet.send("/part")
    quiet.expect("PART #big hush")
    for c in (op, a, b):
        no_word_of(c, "hush")


def test_speaking_announces_once_then_parts_are_heard(chatd):
    d = start(chatd, config=BIG)
    op, a, b = big_room(d)
    quiet = member(d, "quiet")
    quiet.send("hello all")
    quiet.expect("MSG #big quiet hello all")
    for c in (op, a, b):
        assert c.line() == "JOIN #big quiet"
        assert c.line() == "MSG #big quiet hello all"
    quiet.send("again")
    for c in (op, a, b):
        assert c.line() == "MSG #big quiet again"       # no second JOIN
    quiet.send("/nick loud")
    for c in (op, a, b):
        assert c.line() == "NICK quiet loud"
    quiet.close()
    for c in (op, a, b):
        assert c.expect("QUIT loud")


def test_a_quiet_quit_and_the_exact_edge(chatd):
    """With 2 members the third is announced; with 3 the fourth is not,
    nor is its quit."""
    d = start(chatd, config=BIG)
    op, a = member(d, "op"), member(d, "a")
    b = member(d, "b")
    op.expect("JOIN #big b")         # the third was announced
    quiet = member(d, "quiet")
    quiet.close()
    no_word_of(op, "quiet")
    no_word_of(b, "quiet")


def test_a_standing_announces_before_the_mode(chatd):
    d = start(chatd, config=BIG)
    op, a, b = big_room(d)
    quiet = member(d, "quiet")
    op.send("/mode #big +v quiet")
    assert op.line() == "JOIN #big quiet"
    assert op.expect("MODE #big op") == "MODE #big op +v quiet"
    assert a.line() == "JOIN #big quiet"
    assert a.line() == "MODE #big op +v quiet"
    quiet.send("/part")
    a.expect("PART #big quiet")


def test_kicking_an_unannounced_member_is_between_the_two(chatd):
    d = start(chatd, config=BIG)
    op, a, b = big_room(d)
    quiet = member(d, "quiet")
    op.send("/kick quiet bye")
    assert op.expect("KICK #big") == "KICK #big op quiet bye"
    assert quiet.expect("KICK #big") == "KICK #big op quiet bye"
    no_word_of(a, "quiet")


def test_irc_names_show_what_was_announced(chatd):
    d = start(chatd, config=BIG)
    op, a, b = big_room(d)
    irc = Irc(d)
    irc.send("NICK ircy")
    irc.send("USER ircy 0 * :Ircy")
    irc.expect(":%s 001 ircy " % SERVER)
    irc.send("JOIN #big")
    lines = irc.expect_with_skipped(":%s 366 ircy #big " % SERVER)[1]
    names = " ".join(l.split(" :", 1)[1] for l in lines if " 353 " in l)
    assert sorted(names.split()) == ["@op", "a", "b", "ircy"]
    quiet = member(d, "quiet")
    irc.send("NAMES #big")
    lines = irc.expect_with_skipped(":%s 366 ircy #big " % SERVER)[1]
    names = " ".join(l.split(" :", 1)[1] for l in lines if " 353 " in l)
    assert "quiet" not in names.split()
    irc.send("WHO #big")          # complete
    lines = irc.expect_with_skipped(":%s 315 ircy #big " % SERVER)[1]
    assert any(" quiet " in l for l in lines if " 352 " in l)
    quiet.send("hi")
    assert irc.expect(":quiet!") == ":quiet!quiet@%s JOIN #big" % SERVER
    assert irc.line() == ":quiet!quiet@%s PRIVMSG #big :hi" % SERVER
    irc.send("NAMES #big")
    lines = irc.expect_with_skipped(":%s 366 ircy #big " % SERVER)[1]
    names = " ".join(l.split(" :", 1)[1] for l in lines if " 353 " in l)
    assert "quiet" in names.split()


def test_an_unannounced_join_is_one_delivery(chatd, tmp_path):
    """The join of a member over the limit costs one delivery, whatever
    the room's size, where an announced one costs one per member."""
    ctl = str(tmp_path / "ctl.sock")
    d = start(chatd, "--control", ctl, config=dict(BIG, **{"announce-members-max": 20}))
    members = [member(d, "m%02d" % i) for i in range(20)]
    for c in members:
        c.sync()
    before = deliveries(ctl)
    late = d.client()
    join(late, "#big")
    late.sync()
    assert deliveries(ctl) - before <= 2     # its own JOIN, and its ERR
    no_word_of(members[0], late.nick)


def deliveries(ctl):
    return stats(ctl)["delivered"]


def test_off_by_default_and_applied_on_reload(chatd):
    d = start(chatd, config=dict(BIG, **{"announce-members-max": 0}))
    op, a, b = big_room(d)
    fourth = member(d, "fourth")
    op.expect("JOIN #big fourth")
    mark = d.log_mark()
    d.reload(BIG)
    d.wait_log(r"reload: announce-members-max changed", start=mark)
    member(d, "fifth")
    no_word_of(op, "fifth")
    d.reload(dict(BIG, **{"announce-members-max": 0}))
    member(d, "sixth")
    op.expect("JOIN #big sixth")
    assert fourth
