"""Input limits: maximum line length and flood control."""

import re
import time

from conftest import scaled
from hostile import rss_meaningful

CFG512 = {"max-line": 512}


# ---------------------------------------------------------------- max-line

def test_line_of_exactly_max_line_is_relayed(chatd):
    d = chatd(config=dict(CFG512, **{"flood-burst": 100}))
    a, b = d.client(), d.client()
    text = "x" * 512
    a.send(text)
    assert b.expect("MSG ") == "MSG #lobby %s %s" % (a.nick, text)
    # 512 bytes of two-byte characters
    text = "\u00e9" * 256
    a.send(text)
    assert b.expect("MSG ") == "MSG #lobby %s %s" % (a.nick, text)


def test_line_of_exactly_max_line_with_crlf_is_relayed(chatd):
    d = chatd(config=CFG512)
    a, b = d.client(), d.client()
    text = "y" * 512
    a.send_raw((text + "\r\n").encode())
    assert b.expect("MSG ") == "MSG #lobby %s %s" % (a.nick, text)


def test_line_over_max_line_is_refused(chatd):
    d = chatd(config=CFG512)
    a, b = d.client(), d.client()
    a.send("x" * 513)
    line = a.expect(("ERR ", "MSG "))
    assert line.startswith("ERR line-too-long"), line
    # the connection still works and the next line is fine
    a.send("next line")
    assert a.expect(("ERR ", "MSG ")) == "MSG #lobby %s next line" % a.nick
    line, skipped = b.expect_with_skipped("MSG #lobby %s next line" % a.nick)
    assert not any("xxxx" in l for l in skipped), skipped
    # an over-long command is refused as a line, not as a command
    a.send("/topic " + "z" * 600)
    assert a.expect(("ERR ", "TOPIC ")).startswith("ERR line-too-long")
    a.send("/topic short")
    assert a.expect(("ERR ", "TOPIC ")) == "TOPIC #lobby %s short" % a.nick


def test_default_max_line_is_4096(chatd):
    d = chatd()
    a = d.client()
    a.send("q" * 4096)
    assert a.expect(("ERR ", "MSG ")) == "MSG #lobby %s %s" % (a.nick, "q" * 4096)
    a.send("q" * 4097)
    assert a.expect(("ERR ", "MSG ")).startswith("ERR line-too-long")


def test_several_overlong_lines_in_one_write(chatd):
    d = chatd(config=CFG512)
    a = d.client()
    a.sync()
    a.send_raw(b"A" * 1000 + b"\nshort one\n" + b"B" * 2000 + b"\r\nshort two\n")
    lines = a.sync()
    got = [l for l in lines if l.startswith(("ERR", "MSG"))]
    assert len(got) == 4, lines
    assert got[0].startswith("ERR line-too-long"), lines
    assert got[1] == "MSG #lobby %s short one" % a.nick, lines
    assert got[2].startswith("ERR line-too-long"), lines
    assert got[3] == "MSG #lobby %s short two" % a.nick, lines


def test_ten_megabytes_without_newline(chatd):
    d = chatd(config=CFG512)
    a, b = d.client(), d.client()
    a.sync()
    b.sync()
    base = d.rss_kib()
    peak = base
    chunk = b"A" * (256 * 1024)
    t0 = time.monotonic()
    for i in range(40):                          # 10 MiB, no newline
        a.send_raw(chunk, timeout=30)
        if i % 2 == 1:
            peak = max(peak, d.rss_kib())
    time.sleep(0.2)
    peak = max(peak, d.rss_kib())
    a.send_raw(b"AAAA\n")
    a.send("after the flood")
    line, skipped = a.expect_with_skipped("MSG ", timeout=30)
    assert line == "MSG #lobby %s after the flood" % a.nick, (line, skipped)
    errs = [l for l in skipped if l.startswith("ERR")]
    assert len(errs) == 1 and errs[0].startswith("ERR line-too-long"), skipped
    line, skipped = b.expect_with_skipped("MSG #lobby %s after the flood" % a.nick)
    assert not any("AAAA" in l for l in skipped), [l[:80] for l in skipped]
    peak = max(peak, d.rss_kib())
    growth_mib = (peak - base) / 1024.0
    assert growth_mib < 8 or not rss_meaningful(d.pid), \
        "daemon RSS grew by %.1f MiB while a 10 MB line arrived (base %.1f MiB, " \
        "peak %.1f MiB)" % (growth_mib, base / 1024.0, peak / 1024.0)
    assert time.monotonic() - t0 < scaled(60)


# ---------------------------------------------------------------- flood control

def test_flood_is_slowed_not_dropped(chatd):
    d = chatd(config={"flood-rate": 5, "flood-burst": 5})
    flooder = d.client(name="flooder")
    reader = d.client(name="reader")
    chatter = d.client(name="chatter")
    for c in (flooder, reader, chatter):
        c.sync()
    payload = "".join("flood %02d\n" % i for i in range(30)).encode()
    prefix = "MSG #lobby %s " % flooder.nick
    got = []
    latencies = []
    t0 = time.monotonic()
    flooder.send_raw(payload)
    next_chat = t0 + 0.25
    k = 0
    t_last = None
    while len(got) < 30 and time.monotonic() < t0 + scaled(25):
        now = time.monotonic()
        if now >= next_chat and k < 16:
            text = "chat %d" % k
            ts = time.monotonic()
            chatter.send(text)
            chatter.expect("MSG #lobby %s %s" % (chatter.nick, text), timeout=5)
            latencies.append(time.monotonic() - ts)
            k += 1
            next_chat += 0.5
        line = reader.try_line(timeout=0.05)
        if line is not None and line.startswith(prefix):
            got.append(line[len(prefix):])
            t_last = time.monotonic()
    assert got == ["flood %02d" % i for i in range(30)], got
    elapsed = t_last - t0
    assert elapsed >= 3.0, "30 lines at 5/s with burst 5 relayed in %.2fs: not rate limited" % elapsed
    assert elapsed < scaled(15.0), "30 lines at 5/s with burst 5 took %.2fs" % elapsed
    assert len(latencies) >= 5
    assert max(latencies) < scaled(0.5), "another client waited %.2fs for its echo during a flood" \
        % max(latencies)
    # the flooder itself got all its echoes, in order, and still works
    echoes = [l[len(prefix):] for l in flooder.lines_for(scaled(0.5)) if l.startswith(prefix)]
    assert echoes == ["flood %02d" % i for i in range(30)], echoes


def test_acks_on_are_paced_not_nacked(chatd):
    """With acknowledgements on, a client over its rate is paced exactly
    like one without: reading stops, every line is handled in its turn and
    ACKed after its echo, none is refused (chatd-protocol(7) FLOW
    CONTROL).  v0.1 NACKed them instead, and so read without limit."""
    d = chatd(config={"flood-rate": 4, "flood-burst": 3})
    a, b = d.client(), d.client()
    b.sync()
    n_on = a.send("/ack on")
    assert a.expect(("ACK ", "NACK ")) == "ACK %d" % n_on
    time.sleep(1.0)                      # refill to the burst
    first = a.sent_lines + 1
    t0 = time.monotonic()
    a.send_raw("".join("burst %d\n" % i for i in range(8)).encode())
    acked_at = {}
    last_msg = None
    while len(acked_at) < 8:
        line = a.line(timeout=10)
        assert not line.startswith("NACK"), line
        if line.startswith("MSG "):
            last_msg = line
            continue
        m = re.match(r"^ACK (\d+)$", line)
        assert m, "unexpected line %r" % line
        n = int(m.group(1))
        assert n == first + len(acked_at), (n, acked_at)
        assert last_msg == "MSG #lobby %s burst %d" % (a.nick, n - first)
        acked_at[n] = time.monotonic() - t0
    # three went at once, the other five one a quarter second apart
    assert acked_at[first + 7] >= (8 - 3) / 4.0 - 0.1, acked_at
    got = [l for l in b.sync() if l.startswith("MSG #lobby %s " % a.nick)]
    assert [l.split(" ", 3)[3] for l in got] == ["burst %d" % i for i in range(8)]
