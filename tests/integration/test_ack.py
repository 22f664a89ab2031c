"""Per-line acknowledgements (/ack on|off): ACK n / NACK n code text."""

import re

OUTCOME = ("ACK ", "NACK ", "ERR ", "INFO ")


def read_until_outcome(c, timeout=5):
    """Lines up to and including the next ACK/NACK/ERR/INFO line."""
    lines = []
    while True:
        line = c.line(timeout)
        lines.append(line)
        if line.startswith(OUTCOME):
            return lines


def test_numbering_counts_lines_sent_before_ack_on(chatd):
    d = chatd(config={"max-line": 512})
    a = d.client()
    a.send("hello")                      # 1
    a.send("")                           # 2 empty
    a.send("x" * 600)                    # 3 over-long
    a.send("/frobnicate")                # 4 unknown command
    a.send_raw(b"with crlf\r\n")         # 5
    a.send_raw(b"   \n")                 # 6 blank
    assert a.expect("MSG ") == "MSG #lobby %s hello" % a.nick
    assert a.expect(("ERR ", "MSG ")).startswith("ERR line-too-long")
    assert a.expect(("ERR ", "MSG ")).startswith("ERR unknown-command")
    assert a.expect(("ERR ", "MSG ")) == "MSG #lobby %s with crlf" % a.nick
    n = a.send("/ack on")                # 7
    assert n == 7
    assert a.expect(OUTCOME) == "ACK 7"
    a.no_line()


def test_good_lines_get_output_then_ack(chatd):
    d = chatd()
    a = d.client()
    a.sync()                             # 1
    assert a.send("/ack on") == 2
    assert a.line() == "ACK 2"
    n = a.send("hi there")
    assert a.line() == "MSG #lobby %s hi there" % a.nick
    assert a.line() == "ACK %d" % n
    n = a.send("/who")
    assert read_until_outcome(a) == ["WHO #lobby 1 %s" % a.nick, "ACK %d" % n]
    n = a.send("/join #acked")
    lines = read_until_outcome(a)
    assert lines[0] == "JOIN #acked %s" % a.nick, lines
    assert any(l.startswith("ROOM #acked ") for l in lines), lines
    assert lines[-1] == "ACK %d" % n, lines
    n = a.send("/me nods")
    assert read_until_outcome(a) == ["ACTION #acked %s nods" % a.nick, "ACK %d" % n]
    n = a.send("")                       # empty lines are ACK'd too
    assert a.line() == "ACK %d" % n
    n = a.send("  ")
    assert a.line() == "ACK %d" % n
    n = a.send("/ack on")                # already on
    assert a.line() == "ACK %d" % n
    a.no_line()


def test_errors_become_nacks(chatd):
    d = chatd()
    a = d.client()
    a.sync()
    a.send("/ack on")
    assert a.expect(OUTCOME) == "ACK %d" % a.sent_lines
    cases = [
        ("/frobnicate", "unknown-command"),
        ("/nick 1bad", "nick-invalid"),
        ("/msg nobody hello", "no-such-nick"),
        ("/part #nosuch", "no-such-room"),
        ("/join #bad$room", "room-invalid"),
        ("/join", "bad-usage"),
    ]
    for cmd, code in cases:
        n = a.send(cmd)
        line = a.line()
        assert re.match(r"^NACK %d %s\b" % (n, re.escape(code)), line), (cmd, line)
        a.no_line(0.2)                   # and no ERR besides the NACK


def test_ack_off_restores_err(chatd):
    d = chatd()
    a = d.client()
    a.sync()                             # 1
    assert a.send("/ack on") == 2
    assert a.expect(OUTCOME) == "ACK 2"
    assert a.send("/frob") == 3
    assert a.line().startswith("NACK 3 unknown-command")
    assert a.send("/ack off") == 4
    line = a.line()
    assert line.startswith("INFO ") and "off" in line, line
    a.no_line(0.2)
    assert a.send("/frob") == 5
    assert a.line().startswith("ERR unknown-command")
    a.send("plain")                      # 6: no ACK with acks off
    assert a.line() == "MSG #lobby %s plain" % a.nick
    a.no_line(0.2)
    assert a.send("/ack on") == 7        # numbering kept counting
    assert a.line() == "ACK 7"


def test_overlong_line_gets_nack(chatd):
    d = chatd(config={"max-line": 512})
    a = d.client()
    a.sync()
    a.send("/ack on")
    assert a.expect(OUTCOME) == "ACK %d" % a.sent_lines
    n = a.send("y" * 513)
    line = a.line()
    assert line.startswith("NACK %d line-too-long" % n), line
    a.no_line(0.2)
    n = a.send("fine")
    assert a.line() == "MSG #lobby %s fine" % a.nick
    assert a.line() == "ACK %d" % n


def test_several_lines_in_one_write(chatd):
    d = chatd()
    a = d.client()
    a.sync()
    a.send("/ack on")
    assert a.expect(OUTCOME) == "ACK %d" % a.sent_lines
    base = a.sent_lines
    a.send_raw(b"one\ntwo\r\n\n/frob\nthree\n")
    assert a.line() == "MSG #lobby %s one" % a.nick
    assert a.line() == "ACK %d" % (base + 1)
    assert a.line() == "MSG #lobby %s two" % a.nick
    assert a.line() == "ACK %d" % (base + 2)
    assert a.line() == "ACK %d" % (base + 3)
    assert a.line().startswith("NACK %d unknown-command" % (base + 4))
    assert a.line() == "MSG #lobby %s three" % a.nick
    assert a.line() == "ACK %d" % (base + 5)
    a.no_line()


def test_acks_are_per_client(chatd):
    d = chatd()
    a, b = d.client(), d.client()
    a.sync()
    b.sync()
    a.send("/ack on")
    assert a.expect(OUTCOME) == "ACK %d" % a.sent_lines
    b.send("from b")
    assert b.line() == "MSG #lobby %s from b" % b.nick
    b.no_line(0.2)                       # b has acks off: no ACK
    assert a.line() == "MSG #lobby %s from b" % b.nick
    a.no_line(0.2)                       # a gets no ACK for b's line
