"""Basic chatting: greeting, rooms, nicks, topics, history, quit, help."""

import datetime
import re

import pytest

# Lift flood control out of the way for tests that send many commands.
FAST = {"flood-rate": 1000, "flood-burst": 1000, "flood-rate-per-ip": 0,
        "connect-rate-per-ip": 0}

HELLO_RE = re.compile(r"^HELLO (guest\d+) (#lobby) (.+)$")
HIST_RE = re.compile(r"^HIST (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (.*)$")


def room_fields(line):
    """'ROOM #r N topic...' -> (room, members, topic)."""
    parts = line.split(" ", 3)
    assert parts[0] == "ROOM" and len(parts) >= 3, line
    return parts[1], parts[2], (parts[3] if len(parts) > 3 else "")


# ---------------------------------------------------------------- greeting

def test_greeting(chatd):
    d = chatd()
    a = d.client()
    m = HELLO_RE.match(a.hello)
    assert m, "bad greeting %r" % a.hello
    assert "/help" in m.group(3), a.hello
    assert a.nick == "guest1"
    b = d.client()
    assert HELLO_RE.match(b.hello), b.hello
    assert b.nick == "guest2"


def test_default_room_from_config(chatd):
    d = chatd(config={"default-room": "#main"})
    a = d.client()
    assert a.room == "#main", a.hello
    a.send("hi")
    assert a.expect("MSG ") == "MSG #main %s hi" % a.nick



def test_default_room_none(chatd):
    """default-room = none: clients start in no room, and no room is kept."""
    d = chatd(config={"default-room": "none"})
    a = d.client()
    assert a.room == "*", a.hello
    assert "in no room" in a.hello
    a.send("anyone?")
    assert a.expect("ERR ").startswith("ERR not-in-room ")
    a.send("/rooms")
    assert a.expect(("ROOMS", "INFO", "OK", "ERR")).split()[0] != "ERR"
    a.send("/join #first")
    assert a.expect("ROOM ").startswith("ROOM #first ")
    a.send("/part")
    a.send("/join #first")                       # gone while empty: made anew
    assert a.expect("ROOM ").startswith("ROOM #first 1")


# ---------------------------------------------------------------- chatting

def test_two_clients_chat(chatd):
    d = chatd()
    a, b = d.client(), d.client()
    a.send("hello there")
    assert a.expect("MSG ") == "MSG #lobby %s hello there" % a.nick
    assert b.expect("MSG ") == "MSG #lobby %s hello there" % a.nick
    b.send("hi back,  with two spaces")
    assert b.expect("MSG ") == "MSG #lobby %s hi back,  with two spaces" % b.nick
    assert a.expect("MSG ") == "MSG #lobby %s hi back,  with two spaces" % b.nick


def test_crlf_and_lf_both_accepted(chatd):
    d = chatd()
    a = d.client()
    a.send_raw(b"with crlf\r\n")
    assert a.expect("MSG ") == "MSG #lobby %s with crlf" % a.nick
    a.send_raw(b"with lf\n")
    assert a.expect("MSG ") == "MSG #lobby %s with lf" % a.nick


def test_empty_and_blank_lines_ignored(chatd):
    d = chatd()
    a, b = d.client(), d.client()
    a.sync()
    b.sync()
    a.send("")
    a.send_raw(b"\r\n")
    a.send("   ")
    a.send("\t \t")
    assert a.sync() == []
    assert b.sync() == []
    a.send("after blanks")
    assert b.expect("MSG ") == "MSG #lobby %s after blanks" % a.nick


def test_double_slash_sends_slash_text(chatd):
    d = chatd()
    a, b = d.client(), d.client()
    a.send("//help is not a command here")
    assert a.expect("MSG ") == "MSG #lobby %s /help is not a command here" % a.nick
    assert b.expect("MSG ") == "MSG #lobby %s /help is not a command here" % a.nick


def test_me_action(chatd):
    d = chatd()
    a, b = d.client(), d.client()
    a.send("/me waves hello")
    assert a.expect("ACTION ") == "ACTION #lobby %s waves hello" % a.nick
    assert b.expect("ACTION ") == "ACTION #lobby %s waves hello" % a.nick


# ---------------------------------------------------------------- nicks

def test_nick_change_broadcast(chatd):
    d = chatd()
    a, b = d.client(), d.client()
    old = a.nick
    a.send("/nick Alice")
    assert a.expect("NICK ") == "NICK %s Alice" % old
    assert b.expect("NICK ") == "NICK %s Alice" % old
    a.send("hi from alice")
    assert b.expect("MSG ") == "MSG #lobby Alice hi from alice"


def test_nick_taken_case_insensitive(chatd):
    d = chatd()
    a, b, c = d.client(), d.client(), d.client()
    a.send("/nick Alice")
    a.expect("NICK ")
    b_outcome = ("ERR ", "NICK %s " % b.nick)
    for attempt in ("alice", "ALICE", "Alice"):
        b.send("/nick " + attempt)
        line = b.expect(b_outcome)
        assert line.startswith("ERR nick-taken"), (attempt, line)
    # someone else's guest nick, in another case
    b.send("/nick " + c.nick.upper())
    assert b.expect(b_outcome).startswith("ERR nick-taken")
    # b still has its nick
    b.send("unchanged")
    assert b.expect("MSG ") == "MSG #lobby %s unchanged" % b.nick
    # the name is free again once Alice renames
    a.send("/nick Alicia")
    a.expect("NICK ")
    b.send("/nick alice")
    assert b.expect(b_outcome) == "NICK %s alice" % b.nick


@pytest.mark.parametrize("name", ["1abc", "a" * 31, "bad!nick", "#chan", "-dash",
                                  "caf\u00e9", "x.y", "9[", "-[", "a~b"])
def test_nick_invalid(chatd, name):
    d = chatd()
    a = d.client()
    a.sync()                     # drain what connecting produced
    a.send("/nick " + name)
    line = a.expect(("ERR ", "NICK "))
    assert line.startswith("ERR nick-invalid"), (name, line)


@pytest.mark.parametrize("name", ["_x", "a" * 30, "A-b_9", "Z", "[away]", "a\\b|c",
                                  "`^{}", "x[9]-"])
def test_nick_valid_edge_cases(chatd, name):
    d = chatd()
    a = d.client()
    a.sync()                     # drain what connecting produced
    a.send("/nick " + name)
    assert a.expect(("ERR ", "NICK ")) == "NICK %s %s" % (a.nick, name)


def test_nick_change_sent_once_to_shared_members(chatd):
    d = chatd(config=FAST)
    a, b, c = d.client(), d.client(), d.client()
    for x in (a, b):
        x.send("/join #dev")
        x.expect("ROOM #dev")
    # c shares no room with a
    c.send("/join #other")
    c.expect("ROOM #other")
    c.send("/part #lobby")
    c.expect("PART #lobby")
    c.sync()
    old = a.nick
    a.send("/nick Renamed")
    assert a.expect("NICK ") == "NICK %s Renamed" % old
    lines = a.sync()
    assert [l for l in lines if l.startswith("NICK ")] == [], lines
    lines = b.sync()
    assert [l for l in lines if l.startswith("NICK ")] == ["NICK %s Renamed" % old], lines
    lines = c.sync()
    assert [l for l in lines if l.startswith("NICK ")] == [], lines


# ---------------------------------------------------------------- rooms

def test_join_creates_room(chatd):
    d = chatd()
    a, b = d.client(), d.client()
    a.send("/join #dev")
    assert a.expect("JOIN #dev ") == "JOIN #dev %s" % a.nick
    room, members, topic = room_fields(a.expect("ROOM "))
    assert (room, members, topic) == ("#dev", "1", "")
    # current room switched to #dev
    a.send("in dev")
    assert a.expect("MSG ") == "MSG #dev %s in dev" % a.nick
    # a is still in #lobby and receives it
    b.send("in lobby")
    line, skipped = b.expect_with_skipped("MSG #lobby %s in lobby" % b.nick)
    assert not any("#dev" in l for l in skipped), skipped
    assert a.expect("MSG ") == "MSG #lobby %s in lobby" % b.nick
    # b joins: both see JOIN, b gets ROOM with 2 members
    b.send("/join dev")          # without '#'
    assert b.expect("JOIN #dev ") == "JOIN #dev %s" % b.nick
    assert room_fields(b.expect("ROOM "))[:2] == ("#dev", "2")
    assert a.expect("JOIN #dev ") == "JOIN #dev %s" % b.nick
    b.send("now in dev too")
    assert a.expect("MSG ") == "MSG #dev %s now in dev too" % b.nick


def test_room_names_case_insensitive_displayed_as_created(chatd):
    d = chatd()
    a, b = d.client(), d.client()
    a.send("/join #DevOps")
    assert a.expect("JOIN #DevOps ") == "JOIN #DevOps %s" % a.nick
    b.send("/join #devops")
    assert b.expect("JOIN #DevOps ") == "JOIN #DevOps %s" % b.nick
    assert room_fields(b.expect("ROOM "))[:2] == ("#DevOps", "2")
    assert a.expect("JOIN #DevOps ") == "JOIN #DevOps %s" % b.nick


def test_rejoin_makes_current_without_broadcast(chatd):
    d = chatd(config=FAST)
    a, b = d.client(), d.client()
    b.sync()
    a.send("/join #dev")
    a.expect("ROOM #dev")
    a.send("/join #LOBBY")       # already a member: becomes current, no JOIN
    a.sync()
    a.send("back in lobby")
    assert a.expect("MSG ") == "MSG #lobby %s back in lobby" % a.nick
    line, skipped = b.expect_with_skipped("MSG ")
    assert line == "MSG #lobby %s back in lobby" % a.nick
    assert not any(l.startswith("JOIN #lobby") for l in skipped), skipped
    # and again to #dev
    a.send("/join #dev")
    a.sync()
    a.send("back in dev")
    assert a.expect("MSG ") == "MSG #dev %s back in dev" % a.nick


@pytest.mark.parametrize("room", ["#bad$name", "#" + "a" * 51, "#", "#a,b",
                                  "#" + "\u00e9" * 25 + "a",   # 51 bytes
                                  "#cafe\u0301",               # combining accent
                                  "#\U0001f642", "#a\u00a0b", "#\uff03", "#\u00bfque"])
def test_join_invalid_room(chatd, room):
    d = chatd()
    a = d.client()
    a.sync()                     # drain what connecting produced
    a.send("/join " + room)
    line = a.expect(("ERR ", "JOIN "))
    assert line.startswith("ERR room-invalid"), (room, line)


def test_join_room_name_limits(chatd):
    d = chatd()
    a = d.client()
    a.sync()                     # drain what connecting produced
    for name in ("#" + "a" * 48 + ".-",       # 50 bytes after '#'
                 "#" + "\u00e9" * 25,          # 50 bytes, 25 characters
                 "#c++", "#caf\u00e9", "#\u65e5\u672c\u8a9e", "#\u0440\u0443"):
        a.send("/join " + name)
        assert a.expect(("ERR ", "JOIN ")) == "JOIN %s %s" % (name, a.nick)


def test_names_fold_ascii_case_only(chatd):
    """CASEMAPPING=ascii: #Caf\u00e9 is #caf\u00e9, #CAF\u00c9 is another room; [x]
    and {x} are two nicks."""
    d = chatd()
    a, b = d.client(), d.client()
    a.sync()
    b.sync()
    a.send("/join #Caf\u00e9")
    assert a.expect("JOIN ") == "JOIN #Caf\u00e9 %s" % a.nick
    b.send("/join #caf\u00e9")
    assert b.expect("JOIN ") == "JOIN #Caf\u00e9 %s" % b.nick   # as created
    b.send("/join #CAF\u00c9")
    assert b.expect("JOIN ") == "JOIN #CAF\u00c9 %s" % b.nick
    a.send("/nick [x]")
    assert a.expect("NICK ").endswith(" [x]")
    b_nick = b.nick
    b.send("/nick {x}")
    assert b.expect(("ERR ", "NICK " + b_nick)).endswith(" {x}")
    b.send("/nick [X]")
    assert b.expect(("ERR ", "NICK ")).startswith("ERR nick-taken")


def test_too_many_rooms(chatd):
    d = chatd(config=dict(FAST, **{"max-rooms-per-client": 3}))
    a = d.client()
    a.sync()                     # drain what connecting produced
    joined = 0
    err = None
    for i in range(1, 6):
        a.send("/join #r%d" % i)
        line = a.expect(("ERR ", "JOIN "))
        if line.startswith("ERR "):
            err = line
            break
        joined += 1
    assert err is not None and err.startswith("ERR too-many-rooms"), (joined, err)
    # 3 rooms in all, counting #lobby (2 joins) or not counting it (3 joins)
    assert joined in (2, 3), joined
    a.send("/part #r1")
    a.expect("PART #r1")
    a.send("/join #again")
    assert a.expect(("ERR ", "JOIN ")) == "JOIN #again %s" % a.nick


def test_part(chatd):
    d = chatd(config=FAST)
    a, b = d.client(), d.client()
    for x in (a, b):
        x.send("/join #dev")
        x.expect("ROOM #dev")
    a.send("/part")
    assert a.expect("PART ").startswith("PART #dev %s" % a.nick)
    assert b.expect("PART ").startswith("PART #dev %s" % a.nick)
    # a's current room falls back to #lobby
    a.send("after part")
    assert a.expect("MSG ") == "MSG #lobby %s after part" % a.nick
    # a no longer gets #dev messages
    b.send("only dev")
    b.expect("MSG #dev %s only dev" % b.nick)
    b.send("/join #lobby")
    b.sync()
    b.send("in lobby")
    line, skipped = a.expect_with_skipped("MSG #lobby %s in lobby" % b.nick)
    assert not any(l.startswith("MSG #dev") for l in skipped), skipped


def test_part_current_falls_back_to_most_recently_joined(chatd):
    d = chatd(config=FAST)
    a = d.client()
    a.send("/join #first")
    a.expect("ROOM #first")
    a.send("/join #second")
    a.expect("ROOM #second")
    a.send("/part")
    assert a.expect("PART ").startswith("PART #second %s" % a.nick)
    a.send("x")
    assert a.expect("MSG ") == "MSG #first %s x" % a.nick
    a.send("/part #first")
    a.expect("PART #first")
    a.send("y")
    assert a.expect("MSG ") == "MSG #lobby %s y" % a.nick
    a.send("/part #lobby")
    a.expect("PART #lobby")
    # no room left: text, /me, /topic, /history fail with not-in-room
    for cmd in ("z", "/me dances", "/topic", "/topic new topic", "/history"):
        a.send(cmd)
        line = a.expect(("ERR ", "MSG ", "ACTION ", "TOPIC ", "INFO ", "HIST "))
        assert line.startswith("ERR not-in-room"), (cmd, line)
    # joining again works
    a.send("/join #lobby")
    assert a.expect("JOIN ") == "JOIN #lobby %s" % a.nick


def test_part_non_current_room_keeps_current(chatd):
    d = chatd(config=FAST)
    a = d.client()
    a.send("/join #dev")
    a.expect("ROOM #dev")
    a.send("/join #ops")
    a.expect("ROOM #ops")
    a.send("/part #dev")
    assert a.expect("PART ").startswith("PART #dev %s" % a.nick)
    a.send("still ops")
    assert a.expect("MSG ") == "MSG #ops %s still ops" % a.nick


def test_part_errors(chatd):
    d = chatd()
    a, b = d.client(), d.client()
    a.send("/part #nosuch")
    assert a.expect("ERR ").startswith("ERR no-such-room")
    b.send("/join #dev")
    b.expect("ROOM #dev")
    a.send("/part #dev")
    assert a.expect("ERR ").startswith("ERR not-in-room")


# ---------------------------------------------------------------- who / rooms

def test_who(chatd):
    d = chatd(config=FAST)
    a, b = d.client(), d.client()
    a.send("/who")
    parts = a.expect("WHO ").split(" ")
    assert parts[1:3] == ["#lobby", "2"], parts
    assert sorted(parts[3:]) == sorted([a.nick, b.nick])
    b.send("/join #dev")
    b.expect("ROOM #dev")
    a.send("/who #dev")          # a is not a member; still listed
    parts = a.expect("WHO ").split(" ")
    assert parts[1:] == ["#dev", "1", b.nick], parts
    a.send("/who #nosuch")
    assert a.expect(("ERR ", "WHO ")).startswith("ERR no-such-room")


def test_who_long_list_is_split(chatd):
    d = chatd(config=FAST)
    clients = [d.client() for _ in range(57)]
    nicks = {c.nick for c in clients}
    a = clients[0]
    a.sync()
    a.send("/who")
    seen = []
    lines = []
    while len(seen) < len(nicks):
        parts = a.expect("WHO ").split(" ")
        lines.append(parts)
        assert parts[1:3] == ["#lobby", str(len(nicks))], parts[:3]
        assert 1 <= len(parts) - 3 <= 50, "WHO line with %d nicks" % (len(parts) - 3)
        seen += parts[3:]
    assert len(lines) >= 2
    assert sorted(seen) == sorted(nicks)
    assert a.sync() == []


def test_rooms(chatd):
    d = chatd(config=FAST)
    a, b = d.client(), d.client()
    for r in ("#dev", "#ops"):
        a.send("/join " + r)
        a.expect("ROOM " + r)
    a.send("/topic Ops talk")
    a.expect("TOPIC ")
    b.send("/join #dev")
    b.expect("ROOM #dev")
    a.sync()
    a.send("/rooms")
    assert a.expect("ROOMS ") == "ROOMS 3"
    rooms = {}
    for _ in range(3):
        room, members, topic = room_fields(a.line())
        rooms[room] = (members, topic)
    assert rooms == {"#lobby": ("2", ""), "#dev": ("2", ""), "#ops": ("1", "Ops talk")}
    assert a.sync() == []


# ---------------------------------------------------------------- topic

def test_topic_set_and_query(chatd):
    d = chatd(config=FAST)
    a, b = d.client(), d.client()
    a.send("/topic")
    line = a.expect(("INFO ", "TOPIC ", "ERR "))
    assert line.startswith("INFO ") and "no topic" in line, line
    a.send("/topic Release on Friday")
    assert a.expect("TOPIC ") == "TOPIC #lobby %s Release on Friday" % a.nick
    assert b.expect("TOPIC ") == "TOPIC #lobby %s Release on Friday" % a.nick
    b.send("/topic")
    assert b.expect(("INFO ", "TOPIC ")) == "TOPIC #lobby %s Release on Friday" % a.nick
    # a newcomer to the room sees the topic in ROOM
    a.send("/join #t")
    a.expect("ROOM #t")
    a.send("/topic  Topic of t")
    topic_line = a.expect("TOPIC ")
    assert topic_line.startswith("TOPIC #t %s " % a.nick) and topic_line.endswith("Topic of t")
    b.send("/join #t")
    room, members, topic = room_fields(b.expect("ROOM "))
    assert (room, members) == ("#t", "2") and topic.endswith("Topic of t"), (room, members, topic)


def test_topic_length_limit(chatd):
    d = chatd()
    a = d.client()
    a.send("/topic " + "x" * 301)
    assert a.expect(("ERR ", "TOPIC ")).startswith("ERR topic-too-long")
    a.send("/topic " + "\u00e9" * 151)          # 302 bytes
    assert a.expect(("ERR ", "TOPIC ")).startswith("ERR topic-too-long")
    a.send("/topic " + "\u00e9" * 150)          # 300 bytes
    assert a.expect(("ERR ", "TOPIC ")) == "TOPIC #lobby %s %s" % (a.nick, "\u00e9" * 150)
    a.send("/topic " + "y" * 300)
    assert a.expect(("ERR ", "TOPIC ")) == "TOPIC #lobby %s %s" % (a.nick, "y" * 300)


# ---------------------------------------------------------------- history

def _hist(lines):
    out = []
    for l in lines:
        if l.startswith("HIST "):
            m = HIST_RE.match(l)
            assert m, "malformed HIST line %r" % l
            ts = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ")
            now = datetime.datetime.utcnow()
            assert abs((now - ts).total_seconds()) < 300, "HIST time %s far from now %s" % (ts, now)
            out.append(m.group(2))
    return out


def test_scrollback_on_join_default_depth(chatd):
    d = chatd()
    a = d.client()
    a.send("/join #hist")
    a.expect("ROOM #hist")
    for i in range(1, 26):
        a.send("message %02d" % i)
    a.expect("MSG #hist %s message 25" % a.nick, timeout=15)
    b = d.client()
    b.send("/join #hist")
    b.expect("JOIN #hist %s" % b.nick)
    hist = _hist(b.sync())
    assert hist == ["MSG #hist %s message %02d" % (a.nick, i) for i in range(6, 26)]


def test_history_command(chatd):
    d = chatd(config=FAST)
    a = d.client()
    a.send("/join #h")
    a.expect("ROOM #h")
    for i in range(1, 26):
        a.send("m%02d" % i)
    a.send("/me stretches")
    a.expect("ACTION #h", timeout=10)
    a.sync()
    expected = ["MSG #h %s m%02d" % (a.nick, i) for i in range(1, 26)]
    expected.append("ACTION #h %s stretches" % a.nick)
    a.send("/history 5")
    assert _hist(a.sync()) == expected[-5:]
    a.send("/history")
    assert _hist(a.sync()) == expected[-20:]
    a.send("/history 100")
    assert _hist(a.sync()) == expected[-20:]
    a.send("/HISTORY 1")
    assert _hist(a.sync()) == expected[-1:]


def test_scrollback_depth_from_config(chatd):
    d = chatd(config=dict(FAST, scrollback=5))
    a = d.client()
    for i in range(1, 9):
        a.send("s%d" % i)
    a.expect("MSG #lobby %s s8" % a.nick)
    a.send("/history 10")
    assert _hist(a.sync()) == ["MSG #lobby %s s%d" % (a.nick, i) for i in range(4, 9)]
    b = d.client()
    b.send("/join #side")
    b.expect("ROOM #side")
    b.send("/part #lobby")
    b.expect("PART #lobby")
    b.send("/join #lobby")
    b.expect("JOIN #lobby %s" % b.nick)
    assert _hist(b.sync()) == ["MSG #lobby %s s%d" % (a.nick, i) for i in range(4, 9)]


# ---------------------------------------------------------------- quit

def test_quit_with_reason(chatd):
    d = chatd()
    a, b = d.client(), d.client()
    a.send("/quit see you later")
    lines = a.wait_eof(timeout=5)
    assert lines and lines[-1].startswith("BYE quit"), lines
    line = b.expect("QUIT ")
    assert line.startswith("QUIT %s" % a.nick) and "see you later" in line, line


def test_quit_without_reason_and_plain_disconnect(chatd):
    d = chatd()
    a, b, c = d.client(), d.client(), d.client()
    a.send("/quit")
    lines = a.wait_eof(timeout=5)
    assert lines and lines[-1].startswith("BYE quit"), lines
    assert c.expect("QUIT ").startswith("QUIT %s" % a.nick)
    b.close()                    # no /quit: the others still learn about it
    line = c.expect("QUIT ")
    assert line == "QUIT %s" % b.nick or line.startswith("QUIT %s " % b.nick), line


def test_quit_sent_once_and_only_to_shared_members(chatd):
    d = chatd(config=FAST)
    a, b, c = d.client(), d.client(), d.client()
    for x in (a, b):
        x.send("/join #dev")
        x.expect("ROOM #dev")
    c.send("/join #other")
    c.expect("ROOM #other")
    c.send("/part #lobby")
    c.expect("PART #lobby")
    c.sync()
    a.send("/quit bye")
    a.wait_eof()
    lines = b.sync()
    assert len([l for l in lines if l.startswith("QUIT %s" % a.nick)]) == 1, lines
    lines = c.sync()
    assert not any(l.startswith("QUIT ") for l in lines), lines


# ---------------------------------------------------------------- help & errors

def test_help(chatd):
    d = chatd()
    a = d.client()
    a.sync()
    a.send("/help")
    lines = a.sync()
    assert lines, "no output for /help"
    assert all(l.startswith("HELP ") or l == "HELP" for l in lines), lines
    assert any("join" in l for l in lines), lines
    a.send("/help join")
    lines = a.sync()
    assert lines and all(l.startswith("HELP") for l in lines), lines
    assert any("/join" in l for l in lines), lines
    a.send("/HELP")
    assert a.sync(), "/HELP gave no output"


def test_unknown_command_keeps_connection(chatd):
    d = chatd()
    a, b = d.client(), d.client()
    a.send("/frobnicate now")
    line = a.expect(("ERR ", "MSG "))
    assert line.startswith("ERR unknown-command"), line
    a.send("still here")
    assert b.expect("MSG ") == "MSG #lobby %s still here" % a.nick


def test_command_names_case_insensitive(chatd):
    d = chatd(config=FAST)
    a, b = d.client(), d.client()
    a.send("/NICK Bob")
    assert a.expect("NICK ") == "NICK %s Bob" % a.nick
    a.send("/Join #x")
    assert a.expect("JOIN #x ") == "JOIN #x Bob"
    a.send("/wHo")
    assert a.expect("WHO ") == "WHO #x 1 Bob"
    a.send("/ME smiles")
    assert a.expect("ACTION ") == "ACTION #x Bob smiles"
    a.send("/MSG %s psst" % b.nick)
    assert b.expect("PRIV ") == "PRIV Bob %s psst" % b.nick
    a.send("/PART")
    assert a.expect("PART ").startswith("PART #x Bob")


@pytest.mark.parametrize("cmd", ["/nick", "/join", "/msg", "/msg somebody", "/ack maybe"])
def test_bad_usage(chatd, cmd):
    d = chatd()
    a = d.client()
    a.sync()                     # drain what connecting produced
    a.send(cmd)
    line = a.expect(("ERR ", "INFO ", "ACK ", "NICK ", "JOIN ", "PRIV "))
    assert line.startswith("ERR bad-usage") or (
        cmd == "/msg somebody" and line.startswith("ERR no-such-nick")), (cmd, line)


def test_msg_to_existing_nick_without_text_is_bad_usage(chatd):
    d = chatd()
    a, b = d.client(), d.client()
    a.send("/msg " + b.nick)
    assert a.expect(("ERR ", "PRIV ")).startswith("ERR bad-usage")


def test_line_then_quit_in_one_packet_keeps_the_echo(chatd):
    """A message and /quit arriving together: the sender still gets its echo
    (the acknowledgement of its last line) before BYE, and others get it."""
    d = chatd()
    alice, bob = d.client(), d.client()
    alice.expect("JOIN #lobby " + bob.nick)
    bob.send_raw(b"last words\n/quit\n")
    bob.expect("MSG #lobby %s last words" % bob.nick)
    bob.expect("BYE quit")
    alice.expect("MSG #lobby %s last words" % bob.nick)
    alice.expect("QUIT " + bob.nick)
