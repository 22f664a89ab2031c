"""IRC CHATHISTORY served from the database (chatd-irc(7) CHATHISTORY):
with a database, every subcommand but TARGETS reaches past scrollback to
the first message the file keeps, across a restart, with msgid and
server-time from the stored rows; an earlier run's msgid is as good as
this run's; a timestamp= reference splits history at that time; a
labeled request gets its page inside its labeled batch."""

import re
import time

from test_irc import SERVER, start
from test_irc_caps import history_batch, with_caps
from test_moderation import named
from test_store import state

CONFIG = ["server-name = " + SERVER, "scrollback = 10", "flood-rate = 100000",
          "flood-burst = 100000", "flood-rate-per-ip = 0"]


def say(line, room, texts):
    for t in texts:
        line.send(t)
        line.expect("MSG %s talker %s" % (room, t))


def walk_back(c, room, limit):
    """Every message CHATHISTORY gives, page by page from the latest."""
    seen, ids = [], []
    c.send("CHATHISTORY LATEST %s * %d" % (room, limit))
    page = history_batch(c)[1]
    while page:
        seen = [t for _, t in page] + seen
        ids = [i for i, _ in page] + ids
        c.send("CHATHISTORY BEFORE %s msgid=%s %d" % (room, page[0][0], limit))
        page = history_batch(c)[1]
    return seen, ids


def talk_then_listen(chatd, db, lines):
    """A chatd on db where a line client says lines in #h, and an IRC
    client with draft/chathistory that has joined #h after them."""
    d = start(chatd, "--database", db, config=CONFIG)
    talker = named(d, "talker")
    talker.send("/join #h")
    talker.expect("ROOM #h")
    say(talker, "#h", lines)
    c = with_caps(d, "hist", "batch server-time message-tags draft/chathistory")
    c.send("JOIN #h")
    c.numeric("366")
    return d, c


def test_chathistory_pages_back_through_the_database(chatd, tmp_path):
    db = state(tmp_path)
    d, c = talk_then_listen(chatd, db, ["before %d" % n for n in range(30)])
    c.send("CHATHISTORY LATEST #h * 1")
    (old_id, _), = history_batch(c)[1]
    assert d.stop_and_check() == []

    d, c = talk_then_listen(chatd, db, ["after %d" % n for n in range(5)])
    seen, ids = walk_back(c, "#h", 7)
    # Three times scrollback, and what the first run said, in order, once.
    assert seen == ["before %d" % n for n in range(30)] + ["after %d" % n for n in range(5)]
    assert len(set(ids)) == len(ids)
    nums = [int(i.rsplit("-", 1)[1]) for i in ids]
    assert nums == sorted(nums)
    # The first run's msgid names the same message in this one.
    c.send("CHATHISTORY BEFORE #h msgid=%s 2" % old_id)
    assert [t for _, t in history_batch(c)[1]] == ["before 27", "before 28"]
    # A labeled request: its page inside the labeled batch.
    both = with_caps(d, "lab", "batch labeled-response draft/chathistory message-tags")
    both.send("JOIN #h")
    both.numeric("366")
    both.send("@label=p1 CHATHISTORY BEFORE #h msgid=%s 3" % old_id)
    both.send("PING :next")     # waits for the page, read off the loop
    m = re.fullmatch(r"@label=p1 :%s BATCH \+(\S+) labeled-response" % SERVER, both.line())
    assert m, "no labeled batch"
    outer = m.group(1)
    inner = both.line()
    assert re.fullmatch(r"@batch=%s :%s BATCH \+(\S+) chathistory #h" % (outer, SERVER),
                        inner), inner
    ref = inner.split()[3][1:]
    for n in (26, 27, 28):
        got = both.line()
        assert got.startswith("@batch=%s;" % ref) and got.endswith(":before %d" % n), got
    assert both.line() == "@batch=%s :%s BATCH -%s" % (outer, SERVER, ref)
    assert both.line() == ":%s BATCH -%s" % (SERVER, outer)
    assert both.line() == ":%s PONG %s :next" % (SERVER, SERVER)


def test_every_subcommand_reads_past_scrollback(chatd, tmp_path):
    db = state(tmp_path)
    d = start(chatd, "--database", db, config=CONFIG)
    talker = named(d, "talker")
    talker.send("/join #h")
    talker.expect("ROOM #h")
    say(talker, "#h", ["before %d" % n for n in range(15)])
    time.sleep(0.05)        # a clear time between before 14 and before 15
    say(talker, "#h", ["before %d" % n for n in range(15, 30)])
    assert d.stop_and_check() == []

    # Scrollback (10) holds before 25 to 29 and after 0 to 4 only.
    d, c = talk_then_listen(chatd, db, ["after %d" % n for n in range(5)])
    c.send("CHATHISTORY LATEST #h * 100")
    page = history_batch(c, times=True)[1]
    assert [t for _, t, _ in page] == (["before %d" % n for n in range(30)] +
                                       ["after %d" % n for n in range(5)])
    msgid = {t: i for i, t, _ in page}
    at = {t: w for _, t, w in page}

    def texts(command):
        c.send(command)
        return [t for _, t in history_batch(c)[1]]

    assert texts("CHATHISTORY AFTER #h msgid=%s 3" % msgid["before 3"]) == \
        ["before 4", "before 5", "before 6"]
    assert texts("CHATHISTORY AROUND #h msgid=%s 4" % msgid["before 10"]) == \
        ["before 8", "before 9", "before 10", "before 11"]
    assert texts("CHATHISTORY BETWEEN #h msgid=%s msgid=%s 10" %
                 (msgid["before 2"], msgid["before 6"])) == \
        ["before 3", "before 4", "before 5"]
    # Run backwards, BETWEEN keeps the messages nearest its first end.
    assert texts("CHATHISTORY BETWEEN #h msgid=%s msgid=%s 2" %
                 (msgid["before 6"], msgid["before 2"])) == ["before 4", "before 5"]
    assert texts("CHATHISTORY LATEST #h msgid=%s 100" % msgid["before 27"]) == \
        ["before 28", "before 29"] + ["after %d" % n for n in range(5)]
    assert texts("CHATHISTORY AFTER #h timestamp=2000-01-01T00:00:00Z 2") == \
        ["before 0", "before 1"]
    assert texts("CHATHISTORY BEFORE #h timestamp=%s 3" % at["before 15"]) == \
        ["before 12", "before 13", "before 14"]
    assert texts("CHATHISTORY AFTER #h timestamp=%s 2" % at["before 14"]) == \
        ["before 15", "before 16"]
    assert texts("CHATHISTORY BETWEEN #h timestamp=%s msgid=%s 100" %
                 (at["before 14"], msgid["before 18"])) == \
        ["before 15", "before 16", "before 17"]
    assert texts("CHATHISTORY AFTER #h timestamp=2100-01-01T00:00:00Z 5") == []
    assert d.stop_and_check() == []
