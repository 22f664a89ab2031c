"""Room moderation (chatd-protocol(7) "Moderation", chatd-irc(7) MODE, KICK,
INVITE) over real sockets: the same rules for line and IRC clients, and
each side sees what the other's operators do."""
import re

from test_chatctl import Ctl, admin, ctl_dir  # noqa: F401 (fixtures)
from test_irc import SERVER, Irc, start


def named(d, nick):
    """A line client called nick, in #lobby, with nothing left to read."""
    c = d.client()
    c.send("/nick " + nick)
    c.expect("NICK %s %s" % (c.nick, nick))
    c.nick = nick
    c.sync()
    return c


def join(c, room, key=None):
    c.send("/join %s%s" % (room, " " + key if key else ""))
    return c.expect(("ERR ", "ROOM "))


def src(nick):
    return "%s!%s@%s" % (nick, nick, SERVER)


def test_creator_is_operator_and_who_lists_roles(chatd):
    d = start(chatd)
    op, bob = named(d, "op"), named(d, "bob")
    assert join(op, "#mod").startswith("ROOM #mod 1")
    assert join(bob, "#mod").startswith("ROOM #mod 2")
    op.sync()
    bob.send("/who #mod")
    assert bob.line() == "WHO #mod 2 bob op"
    assert bob.line() == "ROLES #mod @op"
    bob.send("/who #lobby")                # the default room has no operator
    assert bob.line().startswith("WHO #lobby ")
    assert bob.sync() == []
    i = Irc(d, "irc")
    i.send("JOIN #mod")
    i.expect(":%s JOIN #mod" % src("irc"))
    assert i.numeric("353") == ":%s 353 irc = #mod :bob irc @op" % SERVER
    i.send("WHO #mod")
    assert i.numeric("352").split()[8] == "H"       # bob
    assert i.numeric("352").split()[8] == "H"       # irc
    assert i.numeric("352").split()[8] == "H@"      # op
    i.numeric("315")


def test_modes_from_one_protocol_bind_the_other(chatd):
    d = start(chatd)
    op, bob = named(d, "op"), named(d, "bob")
    join(op, "#mod")
    i = Irc(d, "irc")
    i.send("JOIN #mod")
    i.numeric("366")
    join(bob, "#mod")
    i.expect(":%s JOIN #mod" % src("bob"))
    op.sync()

    # +t +m, set from the line protocol; both sides hear one MODE.
    op.send("/mode #mod +tm")
    assert op.expect("MODE ") == "MODE #mod op +tm"
    assert i.line() == ":%s MODE #mod +tm" % src("op")
    assert bob.expect("MODE ") == "MODE #mod op +tm"
    bob.send("/topic mine now")
    assert bob.expect("ERR ") == "ERR not-operator you are not an operator of #mod"
    i.send("TOPIC #mod :mine now")
    assert i.line() == ":%s 482 irc #mod :You're not channel operator" % SERVER
    bob.send("hello?")
    assert bob.expect("ERR ").startswith("ERR moderated #mod is moderated")
    i.send("PRIVMSG #mod :hello?")
    assert i.line() == ":%s 404 irc #mod :Cannot send to channel (+m)" % SERVER
    op.send("/mode +v irc")                # the current room, by default
    assert op.expect("MODE ") == "MODE #mod op +v irc"
    assert i.line() == ":%s MODE #mod +v irc" % src("op")
    i.send("PRIVMSG #mod :voiced")
    assert op.expect("MSG ") == "MSG #mod irc voiced"
    assert bob.expect("MSG ") == "MSG #mod irc voiced"

    # An IRC operator made by a line operator sets modes for everyone.
    op.send("/mode #mod +o irc")
    assert i.line() == ":%s MODE #mod +o irc" % src("op")
    i.send("MODE #mod -m+l 10")
    assert i.line() == ":%s MODE #mod -m+l 10" % src("irc")
    op.expect("MODE #mod op +o irc")
    assert op.line() == "MODE #mod irc -m+l 10"
    bob.send("back to normal")
    assert i.line() == ":%s PRIVMSG #mod :back to normal" % src("bob")
    i.send("MODE #mod")
    assert i.line() == ":%s 324 irc #mod +ntl 10" % SERVER
    assert re.fullmatch(r":\S+ 329 irc #mod \d+", i.line())
    bob.send("/mode")
    assert bob.expect("MODES ") == "MODES #mod +ntl 10"
    bob.send("/mode +n")
    assert bob.expect("ERR ") == "ERR not-operator you are not an operator of #mod"
    op.send("/mode +n")                    # no change: still an outcome
    assert op.expect(("INFO ", "ERR ")) == "INFO the modes of #mod are so already"

    # A nick change keeps the standing.
    i.send("NICK irc2")
    i.line()
    op.send("/who")
    assert op.expect("ROLES ") == "ROLES #mod @irc2 @op"


def test_join_gates_key_limit_invite_and_bans(chatd):
    d = start(chatd)
    op, bob, eve = named(d, "op"), named(d, "bob"), named(d, "eve")
    join(op, "#gate")
    op.send("/mode #gate +k s3cret")
    assert op.expect("MODE ") == "MODE #gate op +k s3cret"
    assert join(bob, "#gate") == "ERR bad-key #gate needs its key: /join ROOM KEY"
    assert join(bob, "#gate", "wrong").startswith("ERR bad-key")
    assert join(bob, "#gate", "s3cret").startswith("ROOM #gate 2")
    i = Irc(d, "irc")
    i.send("JOIN #gate")
    assert i.line() == ":%s 475 irc #gate :Cannot join channel (+k)" % SERVER
    i.send("JOIN #gate,#other s3cret")
    assert i.line() == ":%s JOIN #gate" % src("irc")
    assert i.line() == ":%s JOIN #other" % src("irc")
    i.numeric("366")
    i.numeric("366")
    i.send("PART #gate")
    i.line()
    bob.send("/mode")                       # members see the key...
    assert bob.expect("MODES ") == "MODES #gate +nk s3cret"
    eve.send("/mode #gate")                 # ...others do not
    assert eve.expect("MODES ") == "MODES #gate +nk *"

    op.send("/mode #gate -k+l * 2")         # -k takes the key, or *
    assert op.expect("MODE ") == "MODE #gate op -k+l * 2"
    assert join(eve, "#gate") == "ERR room-full #gate has as many members as its operators allow"
    i.send("JOIN #gate")
    assert i.line() == ":%s 471 irc #gate :Cannot join channel (+l)" % SERVER

    op.send("/mode #gate -l+i")
    op.expect("MODE #gate op -l+i")
    assert join(eve, "#gate").startswith("ERR invite-only #gate is invite-only")
    bob.send("/invite eve #gate")           # only operators invite to +i
    assert bob.expect("ERR ") == "ERR not-operator you are not an operator of #gate"
    op.send("/invite eve")
    assert op.expect("INFO ") == "INFO eve is invited to #gate"
    assert eve.expect("INVITE ") == "INVITE #gate op eve"
    assert join(eve, "#gate").startswith("ROOM #gate 3")
    eve.send("/part #gate")
    eve.expect("PART #gate eve")
    assert join(eve, "#gate").startswith("ERR invite-only")   # used once
    i.send("INVITE irc #gate")
    assert i.line() == ":%s 442 irc #gate :You're not on that channel" % SERVER
    op.send("/invite irc #gate")
    assert i.line() == ":%s INVITE irc #gate" % src("op")
    i.send("JOIN #gate")
    assert i.line() == ":%s JOIN #gate" % src("irc")
    i.numeric("366")
    i.send("INVITE bob #gate")
    assert i.line() == ":%s 482 irc #gate :You're not channel operator" % SERVER
    op.send("/mode #gate +o irc")
    i.expect(":%s MODE #gate +o irc" % src("op"))
    i.send("INVITE eve #gate")
    assert i.line() == ":%s 341 irc eve #gate" % SERVER
    assert eve.expect("INVITE ") == "INVITE #gate irc eve"
    i.send("INVITE bob #gate")
    assert i.line() == ":%s 443 irc bob #gate :is already on channel" % SERVER

    # Bans: by nick, by address; a banned member may not speak.
    op.send("/mode #gate -i+b eve")
    assert op.expect("MODE #gate op -") == "MODE #gate op -i+b eve!*@*"
    assert join(eve, "#gate").startswith("ROOM #gate 4")     # irc invited eve
    eve.send("/part #gate")
    eve.expect("PART #gate eve")
    assert join(eve, "#gate") == "ERR banned-from-room you are banned from #gate"
    op.send("/mode #gate +b *!*@127.0.0.1")
    op.expect("MODE #gate op +b *!*@127.0.0.1")
    bob.send("can I talk?")
    assert bob.expect("ERR ") == "ERR banned-from-room you are banned from #gate"
    i.send("PRIVMSG #gate :and I?")        # an operator is not held by bans
    assert op.expect("MSG ") == "MSG #gate irc and I?"
    i.send("MODE #gate b")
    assert i.expect(":%s 367 " % SERVER).startswith(":%s 367 irc #gate eve!*@* op " % SERVER)
    assert i.line().startswith(":%s 367 irc #gate *!*@127.0.0.1 op " % SERVER)
    assert i.line() == ":%s 368 irc #gate :End of channel ban list" % SERVER
    op.send("/mode #gate")
    assert op.line() == "MODES #gate +n"
    assert re.fullmatch(r"BAN #gate eve!\*@\* op \d+", op.line())
    assert re.fullmatch(r"BAN #gate \*!\*@127\.0\.0\.1 op \d+", op.line())
    i.send("MODE #gate -b *!*@127.0.0.1")
    assert op.expect("MODE ") == "MODE #gate irc -b *!*@127.0.0.1"
    bob.send("now?")
    assert op.expect("MSG ") == "MSG #gate bob now?"


def test_kick_from_either_protocol(chatd):
    d = start(chatd)
    op, bob = named(d, "op"), named(d, "bob")
    join(op, "#k")
    join(bob, "#k")
    i = Irc(d, "irc")
    i.send("JOIN #k")
    i.numeric("366")
    op.sync()
    bob.sync()
    bob.send("/kick op")
    assert bob.expect("ERR ") == "ERR not-operator you are not an operator of #k"
    i.send("KICK #k bob :no")
    assert i.line() == ":%s 482 irc #k :You're not channel operator" % SERVER
    op.send("/kick irc enough")
    assert op.expect("KICK ") == "KICK #k op irc enough"
    assert bob.expect("KICK ") == "KICK #k op irc enough"
    assert i.line() == ":%s KICK #k irc :enough" % src("op")
    op.send("/kick irc")
    assert op.expect("ERR ") == "ERR not-member irc is not in that room"
    op.send("/kick nobody")
    assert op.expect("ERR ") == "ERR no-such-nick no one is called nobody"
    i.send("PRIVMSG #k :still here?")
    assert i.line() == ":%s 404 irc #k :Cannot send to channel (+n)" % SERVER
    i.send("JOIN #k")
    i.numeric("366")
    op.send("/mode +o irc")
    i.expect(":%s MODE #k +o irc" % src("op"))
    i.send("KICK #k bob,nobody")
    assert i.line() == ":%s KICK #k bob :irc" % src("irc")
    assert i.line() == ":%s 401 irc nobody :No such nick/channel" % SERVER
    assert bob.expect("KICK ") == "KICK #k irc bob irc"
    bob.send("/who #k")
    assert bob.line() == "WHO #k 2 irc op"
    assert bob.line() == "ROLES #k @irc @op"
    i.send("KICK #k bob")
    assert i.line() == ":%s 441 irc bob #k :They aren't on that channel" % SERVER


def test_bad_mode_requests_get_clear_errors(chatd):
    d = start(chatd, config=["server-name = " + SERVER, "max-bans-per-room = 2"])
    op = named(d, "op")
    join(op, "#e")
    i = Irc(d, "irc")
    i.send("JOIN #e")
    i.numeric("366")
    op.send("/mode +o irc")
    i.expect(":%s MODE #e +o irc" % src("op"))
    op.sync()
    for line, err in [
            ("/mode +x", "ERR bad-mode x is not a room mode"),
            ("/mode +k", "ERR bad-usage k needs an argument"),
            ("/mode +k has,comma", "ERR bad-usage has,comma is not a valid key"),
            ("/mode +k " + "k" * 24, "ERR bad-usage " + "k" * 24 + " is not a valid key"),
            ("/mode +l 0", "ERR bad-usage 0 is not a valid limit"),
            ("/mode +l many", "ERR bad-usage many is not a valid limit"),
            ("/mode +o nobody", "ERR no-such-nick no one is called nobody"),
            ("/mode +ooooo op op op op op", "ERR bad-usage at most 4 changes"),
            ("/mode #nowhere +t", "ERR no-such-room there is no room #nowhere")]:
        op.send(line)
        got = op.expect(("ERR ", "MODE "))
        assert got.startswith(err), (line, got)
    op.send("/mode +bbb a b c")                  # max-bans-per-room = 2
    assert op.line() == "ERR ban-list-full #e has as many bans as it may (max-bans-per-room)"
    assert op.line() == "MODE #e op +bb a!*@* b!*@*"
    op.send("/mode -bbbb a b c d")
    assert op.expect("MODE ") == "MODE #e op -bb a!*@* b!*@*"
    op.send("/mode +k " + "k" * 23)              # KEYLEN=23, at its edge
    assert op.expect("MODE ") == "MODE #e op +k " + "k" * 23
    op.send("/mode +l 1000000")
    assert op.expect("MODE ") == "MODE #e op +l 1000000"
    assert i.expect(":%s MODE #e +l" % src("op")) == ":%s MODE #e +l 1000000" % src("op")
    i.send("MODE #e +x")
    assert i.line() == ":%s 472 irc x :is unknown mode char to me" % SERVER
    i.send("MODE #e +b")                         # a list request
    assert i.line() == ":%s 368 irc #e :End of channel ban list" % SERVER
    i.send("MODE #e +bbb x y z")
    assert i.line() == ":%s 478 irc #e z!*@* :Channel ban list is full" % SERVER
    assert i.line() == ":%s MODE #e +bb x!*@* y!*@*" % src("irc")
    i.send("MODE #e +v nobody")
    assert i.line() == ":%s 401 irc nobody :No such nick/channel" % SERVER
    i.send("MODE #e +l")
    assert i.line() == ":%s 696 irc #e l * :You must specify a parameter for this mode" % SERVER
    i.send("MODE #nowhere +t")
    assert i.line() == ":%s 403 irc #nowhere :No such channel" % SERVER
    late = Irc(d)
    late.send("NICK late")
    late.send("USER late 0 * :Late")
    late.numeric("005")
    assert "MAXLIST=b:2" in late.numeric("005")


def test_administrator_is_operator_everywhere(admin):
    d, ctl = admin()
    op, bob = named(d, "op"), named(d, "bob")
    join(op, "#quiet")
    join(bob, "#quiet")
    op.send("/mode #quiet +mt")
    op.expect("MODE #quiet op +mt")
    ctl.run("say", "#quiet", "from the admin")
    assert bob.expect("MSG ") == "MSG #quiet @operator from the admin"
    ctl.run("topic", "#quiet", "set by the admin")
    assert bob.expect("TOPIC ") == "TOPIC #quiet @operator set by the admin"
