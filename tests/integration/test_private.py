"""Private messages (/msg)."""

import time


def test_private_message_only_to_target(chatd):
    d = chatd()
    a, b, c = d.client(), d.client(), d.client()
    a.send("/msg %s the secret is 42" % b.nick)
    expected = "PRIV %s %s the secret is 42" % (a.nick, b.nick)
    assert b.expect("PRIV ") == expected
    assert a.expect("PRIV ") == expected          # echo to the sender
    # c (same room) must not see it: anything a sends later reaches c after it
    a.send("public now")
    line, skipped = c.expect_with_skipped("MSG #lobby %s public now" % a.nick)
    assert not any(l.startswith("PRIV") or "secret" in l for l in skipped), skipped


def test_private_message_target_case_insensitive(chatd):
    d = chatd()
    a, b = d.client(), d.client()
    b.send("/nick Bobby")
    b.expect("NICK ")
    a.send("/msg bOBBY hello")
    line = b.expect("PRIV ")
    assert line.startswith("PRIV %s " % a.nick) and line.endswith(" hello"), line
    assert line.split(" ")[2].lower() == "bobby", line


def test_private_message_across_rooms(chatd):
    d = chatd()
    a, b = d.client(), d.client()
    b.send("/join #elsewhere")
    b.expect("ROOM #elsewhere")
    b.send("/part #lobby")
    b.expect("PART #lobby")
    a.send("/msg %s you there?" % b.nick)
    assert b.expect("PRIV ") == "PRIV %s %s you there?" % (a.nick, b.nick)
    # a client in no room at all can still send and receive
    b.send("/part")
    b.expect("PART #elsewhere")
    b.send("/msg %s yes" % a.nick)
    assert a.expect("PRIV %s " % b.nick) == "PRIV %s %s yes" % (b.nick, a.nick)
    assert b.expect("PRIV ") == "PRIV %s %s yes" % (b.nick, a.nick)


def test_private_message_no_such_nick(chatd):
    d = chatd()
    a = d.client()
    a.send("/msg nobody hello?")
    assert a.expect(("ERR ", "PRIV ")).startswith("ERR no-such-nick")
    a.send("still works")
    assert a.expect("MSG ") == "MSG #lobby %s still works" % a.nick


def test_message_contents_not_logged(chatd):
    d = chatd()
    a, b = d.client(), d.client()
    token_priv = "zq7privtoken"
    token_pub = "zq7pubtoken"
    a.send("/msg %s %s" % (b.nick, token_priv))
    b.expect("PRIV ")
    a.send(token_pub)
    b.expect("MSG ")
    a.send("/quit")
    a.wait_eof()
    time.sleep(0.3)
    log = d.log_text()
    assert token_priv not in log and token_pub not in log, \
        "message contents appear in the log (privacy):\n" + log
