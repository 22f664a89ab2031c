"""Terminal safety: what one client sends can never put a control character,
an escape sequence, a bidirectional control or invalid UTF-8 on another
client's terminal."""

import json
import time

import pytest

from conftest import assert_terminal_safe, scaled
from test_chatctl import Ctl

R = "\ufffd"

# (id, bytes sent as message text, text the other client must receive)
EXACT_CASES = [
    ("ansi-sgr", b"\x1b[31mred\x1b[0m", R + "[31mred" + R + "[0m"),
    ("osc-title", b"\x1b]0;title\x07", R + "]0;title" + R),
    ("nul", b"a\x00b", "a" + R + "b"),
    ("bel", b"ding\x07dong", "ding" + R + "dong"),
    ("backspace", b"abc\x08\x08\x08xyz", "abc" + R * 3 + "xyz"),
    ("del", b"a\x7fb", "a" + R + "b"),
    ("lone-cr", b"over\rwrite", "over" + R + "write"),
    ("tab", b"a\tb", "a b"),
    ("invalid-fe-fd", b"a\xfe\xfdb", "a" + R * 2 + "b"),
    ("overlong-c0-af", b"a\xc0\xafb", "a" + R * 2 + "b"),
    ("stray-continuation", b"a\x80b", "a" + R + "b"),
    ("surrogate", b"a\xed\xa0\x80b", "a" + R * 3 + "b"),
    ("above-10ffff", b"a\xf4\x90\x80\x80b", "a" + R * 4 + "b"),
    ("c1-nel", b"a\xc2\x85b", "a" + R + "b"),
    ("c1-csi", b"a\xc2\x9b31mb", "a" + R + "31mb"),
    ("iac-will-echo", b"a\xff\xfb\x01b", "ab"),
    ("iac-do", b"a\xff\xfd\x03b", "ab"),
    ("iac-wont-dont", b"a\xff\xfc\x01\xff\xfe\x01b", "ab"),
    ("iac-nop", b"a\xff\xf1b", "ab"),
    ("iac-subnegotiation", b"a\xff\xfa\x18\x01\xff\xf0b", "ab"),
    ("multibyte", "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c \U0001F600".encode(),
     "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c \U0001F600"),
    ("replacement-char-itself", "ok \ufffd ok".encode(), "ok \ufffd ok"),
    # bidirectional controls and separators (chatd-protocol(7), SANITIZING)
    ("bidi-override", "see \u202egnp.exe".encode(), "see " + R + "gnp.exe"),
    ("bidi-embeddings", "\u202aa\u202bb\u202cc\u202dd".encode(),
     R + "a" + R + "b" + R + "c" + R + "d"),
    ("bidi-isolates", "\u2066x\u2067y\u2068z\u2069".encode(),
     R + "x" + R + "y" + R + "z" + R),
    ("line-separators", "one\u2028two\u2029three".encode(),
     "one" + R + "two" + R + "three"),
    ("rtl-marks-kept", "\u05e9\u05dc\u05d5\u05dd\u200f! \u200eA\u061c".encode(),
     "\u05e9\u05dc\u05d5\u05dd\u200f! \u200eA\u061c"),
]

# Sequences whose exact outcome the spec leaves open (IAC 0xFF followed by
# DONT 0xFE swallows an option byte, etc.); only terminal safety is checked.
SAFETY_CASES = [
    b"x\xff\xfey",
    b"x\xff\xfe",
    b"\xff\xfe\xff\xfe\xff",
    b"x\xff\xff\xfb",
    b"x\xe6\x97",                      # truncated 3-byte sequence
    b"x\xf0\x9f\x98",                  # truncated 4-byte sequence
    b"\x1b[2J\x1b[H\x1bc\x1b(0",        # clear screen, home, reset, charset
    b"\x1bP1;2|junk\x1b\\",            # DCS
    b"\x9b31m\x9d0;t\x07",             # raw C1 bytes (invalid UTF-8 anyway)
    bytes(range(0, 32)) + b"\x7f",
    bytes(range(0x80, 0x100)),
]


class Pair:
    def __init__(self, d):
        self.a = d.client(name="sender")
        self.b = d.client(name="receiver")
        self.raw_b = []
        self.a.sync()
        self.b.sync()

    def recv_from_a(self, kind="MSG #lobby"):
        """Next raw line at b that carries something sent by a."""
        prefix = ("%s %s " % (kind, self.a.nick)).encode()
        deadline = time.monotonic() + scaled(5)
        while True:
            raw = self.b.try_raw_line(max(0.0, deadline - time.monotonic()))
            assert raw is not None, "receiver got no %r line (lines: %r)" % (prefix, self.raw_b)
            self.raw_b.append(raw)
            if raw.startswith(prefix):
                return raw[len(prefix):]

    def check_all_safe(self):
        for raw in self.raw_b:
            assert_terminal_safe(raw)


@pytest.mark.parametrize("sent,expected", [(c[1], c[2]) for c in EXACT_CASES],
                         ids=[c[0] for c in EXACT_CASES])
def test_sanitized_exactly(chatd, sent, expected):
    d = chatd()
    p = Pair(d)
    p.a.send_raw(sent + b"\n")
    text = p.recv_from_a()
    assert_terminal_safe(b"MSG " + text)
    assert text.decode("utf-8") == expected
    # the sender's echo is the same sanitized text
    echo = p.a.expect("MSG ")
    assert echo == "MSG #lobby %s %s" % (p.a.nick, expected)
    p.check_all_safe()


@pytest.mark.parametrize("sent", SAFETY_CASES, ids=[repr(s)[:30] for s in SAFETY_CASES])
def test_hostile_bytes_never_reach_terminal(chatd, sent):
    d = chatd()
    p = Pair(d)
    p.a.send_raw(b"pre " + sent + b"\n")
    p.a.send_raw(sent + b" post\n")
    p.a.send_raw(sent + b"\n")
    # an extra line end, in case a telnet sequence swallowed the last LF
    p.a.send_raw(b"\n")
    p.a.send("marker")
    # everything before the marker at b must be safe
    while True:
        text = p.recv_from_a()
        if text == b"marker":
            break
    # the lines from a are 'MSG #lobby nick TEXT'; the whole line is checked
    p.check_all_safe()
    assert len(p.raw_b) >= 2
    a_lines = p.a.sync()
    assert a_lines, "sender got no echo"


def test_crlf_and_lf_framing_in_one_write(chatd):
    d = chatd()
    p = Pair(d)
    p.a.send_raw(b"one\ntwo\r\nthree\n")
    assert p.recv_from_a() == b"one"
    assert p.recv_from_a() == b"two"
    assert p.recv_from_a() == b"three"


def test_lone_cr_is_not_a_line_end(chatd):
    d = chatd()
    p = Pair(d)
    p.a.send_raw(b"first\rsecond\n")
    assert p.recv_from_a().decode() == "first" + R + "second"
    p.a.send_raw(b"third\r\n")
    assert p.recv_from_a() == b"third"


def test_line_split_across_writes(chatd):
    d = chatd()
    p = Pair(d)
    p.a.send_raw(b"hel")
    time.sleep(0.2)
    p.a.send_raw(b"lo wo")
    time.sleep(0.2)
    p.a.send_raw(b"rld\r")
    time.sleep(0.2)
    p.a.send_raw(b"\n")
    assert p.recv_from_a() == b"hello world"


def test_multibyte_char_split_across_writes(chatd):
    d = chatd()
    p = Pair(d)
    p.a.send_raw(b"x\xe6\x97")
    time.sleep(0.2)
    p.a.send_raw(b"\xa5y \xf0\x9f")
    time.sleep(0.2)
    p.a.send_raw(b"\x98\x80\n")
    assert p.recv_from_a().decode("utf-8") == "x\u65e5y \U0001F600"


def test_sanitizing_applies_to_me_topic_and_private(chatd):
    d = chatd()
    p = Pair(d)
    a, b = p.a, p.b
    a.send_raw(b"/me does \x1b[5mblink\x07\n")
    assert p.recv_from_a("ACTION #lobby").decode() == "does " + R + "[5mblink" + R
    a.send_raw(b"/topic \x1b]0;pwned\x07 topic\n")
    assert p.recv_from_a("TOPIC #lobby").decode() == R + "]0;pwned" + R + " topic"
    a.send_raw(b"/msg " + b.nick.encode() + b" nul\x00here\n")
    assert p.recv_from_a("PRIV").decode() == b.nick + " nul" + R + "here"
    p.check_all_safe()


def test_control_chars_in_nick_rejected(chatd):
    d = chatd()
    a = d.client()
    a.sync()
    a.send_raw(b"/nick ab\x1bc\n")
    line = a.expect(("ERR ", "NICK "))
    assert line.startswith("ERR nick-invalid"), line
    a.send_raw(b"/nick ab\x00\n")
    line = a.expect(("ERR ", "NICK "))
    assert line.startswith("ERR nick-invalid"), line


def test_sanitizing_happens_before_parsing(chatd):
    d = chatd()
    a = d.client()
    a.sync()
    # telnet negotiation inside a command name is removed first
    a.send_raw(b"/jo\xff\xfb\x01in #telnet\n")
    assert a.expect(("JOIN ", "ERR ")) == "JOIN #telnet %s" % a.nick
    # TAB becomes a space, so it separates arguments
    a.send_raw(b"/join\t#tabbed\n")
    assert a.expect(("JOIN ", "ERR ")) == "JOIN #tabbed %s" % a.nick


def test_iac_only_line_is_empty(chatd):
    d = chatd()
    a = d.client()
    a.sync()
    a.send_raw(b"\xff\xfb\x01\xff\xfd\x03\r\n")     # what telnet sends on connect
    a.send_raw(b"\xff\xfb\x18 \t \n")
    assert a.sync() == []


def test_bidi_override_reaches_others_and_tail_as_replacement(chatd, tmp_path):
    """U+202E (RIGHT-TO-LEFT OVERRIDE) in a relayed line reaches the other
    members, and chatctl tail, as U+FFFD."""
    sock = str(tmp_path / "ctl.sock")
    d = chatd("--control", sock)
    ctl = Ctl(sock)
    tail = ctl.stream("tail", json_out=True)
    try:
        assert json.loads(tail.line()) == {"tailing": []}      # every room
        p = Pair(d)
        p.a.send("invoice \u202efdp.exe")
        text = p.recv_from_a().decode("utf-8")
        assert text == "invoice " + R + "fdp.exe"
        while True:
            ev = json.loads(tail.line())
            if ev.get("kind") == "say":
                break
        assert ev["text"] == "invoice " + R + "fdp.exe", ev
        p.check_all_safe()
    finally:
        tail.stop()
