"""Private messages (/msg), and what the log keeps of anyone's words."""

import signal

from hostile import control_request


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


def test_message_contents_not_logged(chatd, tmp_path):
    """At the debug level too, no word a client or an operator writes
    reaches the log: messages, actions, private messages, topics, quit
    reasons, unknown commands and refused lines; the operator's say,
    announce, msg and topic, and kick, ban and close reasons.  (Nicks and
    room names are names, not secrets.)"""
    ctl = str(tmp_path / "control.sock")
    d = chatd("--control", ctl, config={"max-line": 512}, log_level="debug")
    secrets = []

    def secret(where):
        secrets.append("zq7%ssecret" % where)
        return secrets[-1]

    def admin(*args):
        r = control_request(ctl, *args)
        assert r.get("ok"), (args, r)

    a, b, quitter, kicked, banned = (d.client() for _ in range(5))
    b.sync()
    a.send(secret("msg"))
    b.expect("MSG #lobby %s " % a.nick)
    a.send("/me " + secret("action"))
    b.expect("ACTION #lobby %s " % a.nick)
    a.send("/msg %s %s" % (b.nick, secret("priv")))
    b.expect("PRIV %s " % a.nick)
    a.send("/topic " + secret("topic"))
    b.expect("TOPIC #lobby %s " % a.nick)
    a.send("/%s %s" % (secret("command"), secret("args")))
    a.expect("ERR unknown-command")
    a.send(secret("toolong") + "x" * 600)
    a.expect("ERR line-too-long")
    quitter.send("/quit " + secret("quit"))
    quitter.wait_eof()
    b.expect("QUIT %s" % quitter.nick)
    admin("say", "#lobby", secret("say"))
    b.expect("MSG #lobby @operator ")
    admin("announce", secret("announce"))
    b.expect("NOTICE ")
    admin("msg", b.nick, secret("opmsg"))
    b.expect("PRIV @operator ")
    admin("topic", "#lobby", secret("optopic"))
    b.expect("TOPIC #lobby @operator ")
    admin("kick", kicked.nick, secret("kick"))
    kicked.wait_eof()
    admin("ban", "add", banned.nick, secret("ban"))
    banned.wait_eof()
    admin("ban", "add", "192.0.2.1", "1h", secret("timedban"))
    b.send("/join #closing")
    b.expect("ROOM #closing")
    admin("close", "#closing", secret("close"))
    b.expect("PART #closing")
    b.sync()
    # the whole log, up to the daemon's last line
    d.signal(signal.SIGTERM)
    assert d.wait_exit(10) == 0
    log = d.log_text()
    assert "debug:" in log, log
    leaked = [s for s in secrets if s in log]
    assert not leaked, "client or operator words in the log (privacy): %r\n%s" % (leaked, log)