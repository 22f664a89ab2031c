"""Hostile input at the edges the other tests leave out: a line one byte
over max-line that is not yet terminated, CR/LF mixes cut at every byte,
and escapes, overlong forms and raw C1 bytes in every field that is relayed
(quit reasons, topics shown on join, scrollback, private messages).

test_sanitize.py and test_limits.py cover the common cases (exact max-line,
10 MB without newline, ANSI/OSC/DCS/BEL/backspace/NUL/telnet in messages).
"""

import time

import pytest

from conftest import assert_terminal_safe, scaled
from hostile import FAST, RssGuard, Witness, assert_serving

R = "\ufffd"
MAX = 64


def _pair(d):
    a = d.client(name="sender")
    b = d.client(name="receiver")
    a.sync()
    b.sync()
    return a, b


def test_max_line_plus_one_unterminated_edge(chatd):
    """max-line + 1 bytes without LF may still be max-line + CR: the daemon
    waits.  max-line + 2 cannot be: refused at once, skipped to its LF."""
    d = chatd(config=dict(FAST, **{"max-line": MAX}))
    a, b = _pair(d)
    rss = RssGuard(d)
    # exactly max + CR, the LF later: accepted
    a.send_raw(b"x" * MAX + b"\r")
    a.no_line(0.3)
    a.send_raw(b"\n")
    assert a.expect(("MSG ", "ERR ")) == "MSG #lobby %s %s" % (a.nick, "x" * MAX)
    # max + 1 bytes that are not CR, then LF: refused when the LF comes
    a.send_raw(b"y" * (MAX + 1))
    a.no_line(0.3)
    a.send_raw(b"\n")
    assert a.expect(("MSG ", "ERR ")).startswith("ERR line-too-long")
    # max + 2 without LF: refused at once, the rest up to LF is skipped
    a.send_raw(b"z" * (MAX + 2))
    assert a.expect(("MSG ", "ERR "), timeout=2).startswith("ERR line-too-long")
    a.send_raw(b"z" * 1000)
    a.send_raw(b"zzz\nafter\n")
    assert a.expect(("MSG ", "ERR ")) == "MSG #lobby %s after" % a.nick
    # max + CR + LF where the CR ends a read and the LF starts the next
    a.send_raw("é".encode() * (MAX // 2) + b"\r")
    time.sleep(0.1)
    a.send_raw(b"\n")
    assert a.expect(("MSG ", "ERR ")) == "MSG #lobby %s %s" % (a.nick, "é" * (MAX // 2))
    lines = b.sync()
    relayed = [l for l in lines if l.startswith("MSG ")]
    assert [l.split(" ", 3)[3] for l in relayed] == ["x" * MAX, "after", "é" * (MAX // 2)]
    rss.check()
    assert_serving(d)


# The stream, and the messages it must give, whatever the cuts.
MIXED = b"a\r\nb\n\r\nc\r\r\nd\n\re\n\n\r\n\rf\r\n"
MIXED_EXPECT = ["a", "b", "c" + R, "d", R + "e", R + "f"]


def test_cr_lf_mixes_cut_at_every_byte(chatd):
    d = chatd(config=FAST)
    a, b = _pair(d)
    w = Witness(d).start()
    rss = RssGuard(d)
    prefix = "MSG #lobby %s " % a.nick
    for cut in range(1, len(MIXED)):
        a.send_raw(MIXED[:cut])
        time.sleep(0.02)
        a.send_raw(MIXED[cut:])
        a.send("end %d" % cut)
        got = []
        while True:
            line = b.expect(prefix)[len(prefix):]
            if line == "end %d" % cut:
                break
            got.append(line)
        assert got == MIXED_EXPECT, (cut, got)
    # and one byte at a time
    for i in range(len(MIXED)):
        a.send_raw(MIXED[i:i + 1])
        time.sleep(0.005)
    a.send("end bytes")
    got = []
    while True:
        line = b.expect(prefix)[len(prefix):]
        if line == "end bytes":
            break
        got.append(line)
    assert got == MIXED_EXPECT, got
    n, worst = w.stop()
    assert worst < scaled(1.0)
    rss.check()
    assert_serving(d)


# Not in test_sanitize.py: overlong forms of NUL, "/" and ESC, raw C1
# controls (DCS, ST, OSC, CSI as single bytes), 8-bit controls encoded as
# UTF-8, DCS and OSC with ST terminators, and telnet's escaped 0xFF.
HOSTILE = [
    ("overlong-nul-2", b"a\xc0\x80b"),
    ("overlong-nul-3", b"a\xe0\x80\x80b"),
    ("overlong-nul-4", b"a\xf0\x80\x80\x80b"),
    ("overlong-esc-2", b"a\xc0\x9b[31mb"),
    ("overlong-slash-3", b"a\xe0\x80\xafb"),
    ("raw-c1-dcs-st", b"a\x90q\x9cb"),
    ("raw-c1-osc-csi", b"a\x9d0;t\x07\x9b2Jb"),
    ("utf8-c1-dcs-st", b"a\xc2\x90q\xc2\x9cb"),
    ("dcs-esc-st", b"a\x1bP+q544e\x1b\\b"),
    ("osc-esc-st", b"a\x1b]52;c;Zm9v\x1b\\b"),
    ("osc-8-link", b"a\x1b]8;;http://x\x07link\x1b]8;;\x07b"),
    ("bracketed-paste", b"a\x1b[200~evil\x1b[201~b"),
    ("telnet-iac-iac", b"a\xff\xffb"),
    ("telnet-sb-unterminated", b"a\xff\xfa\x18\x01b"),
    ("bel-bs-del", b"a\x07\x08\x7fb"),
    ("bidi-and-zero-width", "a\u202egnp.exe\u200bb".encode()),
]


@pytest.mark.parametrize("bad", [h[1] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_bytes_in_every_relayed_field(chatd, bad):
    """The bytes in a message, an action, a private message, a topic (seen
    live and on join), scrollback and a quit reason: whatever reaches the
    other client is valid UTF-8 without control characters."""
    d = chatd(config=FAST)
    a, b = _pair(d)
    a.send("/join #f")
    b.send("/join #g")
    a.expect("ROOM #f")
    b.expect("ROOM #g")
    a.send_raw(b"say " + bad + b"\n")
    a.send_raw(b"/me " + bad + b"\n")
    a.send_raw(b"/topic " + bad + b"\n")
    a.send_raw(b"/msg " + b.nick.encode() + b" " + bad + b"\n")
    a.expect("PRIV ")
    b.send("/join #f")                 # ROOM with the topic, then HIST
    b.expect("ROOM #f")
    b.send("/history")
    a.send_raw(b"/quit " + bad + b"\n")
    b.expect("QUIT %s" % a.nick)
    raws = [l.encode() for l in b.history]
    for raw in raws:
        assert_terminal_safe(raw)
    for kind in ("PRIV ", "ROOM #f", "HIST ", "QUIT "):
        assert any(l.startswith(kind) for l in b.history), (kind, b.history)
    # the quitter's own goodbye is safe too
    for line in a.wait_eof():
        assert_terminal_safe(line.encode())
    assert_serving(d)


# Found by tests/fuzz/fuzz_command: error replies quoted client text cut to
# a byte count, which could split a character (invalid UTF-8 on the wire),
# and two commands answered nothing at all.

def test_error_replies_never_split_a_character(chatd):
    d = chatd(config=FAST)
    a = d.client()
    a.sync()
    for line in ("/a" + "é" * 40,                    # unknown command, 32 bytes
                 "/help a" + "é" * 40,
                 "/join #" + "é" * 40,                # too long to be a room
                 "/who a" + "é" * 40,
                 "/part #a" + "é" * 40,
                 "/msg a" + "é" * 400 + " hi"):       # cut at 511 bytes
        a.send(line)
        err = a.expect("ERR ")                         # decodes strictly
        assert_terminal_safe(err.encode())
    a.send("/join #" + "a" * 51)
    assert a.expect(("ERR ", "JOIN ")).startswith("ERR room-invalid")
    assert_serving(d)


def test_every_line_has_an_outcome(chatd):
    d = chatd(config=FAST)
    a = d.client()
    a.send("/join #empty")
    a.expect("ROOM #empty")
    a.sync()
    a.send("/history")
    assert a.expect(("INFO ", "HIST ", "ERR ")) == "INFO #empty: no messages to show"
    a.send("/history 0")
    assert a.expect(("INFO ", "HIST ", "ERR ")) == "INFO #empty: no messages to show"
    a.send("/nick Same")
    a.expect("NICK ")
    a.send("/nick Same")
    assert a.expect(("INFO ", "NICK ", "ERR ")) == "INFO you are already Same"
    a.send("/nick same")                # a change of case is a change
    assert a.expect(("INFO ", "NICK ", "ERR ")) == "NICK Same same"
