"""Input limits: maximum line length and flood control."""

import re
import time

CFG512 = {"max-line": 512}
NACK_RATE_RE = re.compile(r"^NACK (\d+) rate-limited retry in (\d+) ms")


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
    assert growth_mib < 8, "daemon RSS grew by %.1f MiB while a 10 MB line arrived " \
        "(base %.1f MiB, peak %.1f MiB)" % (growth_mib, base / 1024.0, peak / 1024.0)
    assert time.monotonic() - t0 < 60


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
    while len(got) < 30 and time.monotonic() < t0 + 25:
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
    assert elapsed < 15.0, "30 lines at 5/s with burst 5 took %.2fs" % elapsed
    assert len(latencies) >= 5
    assert max(latencies) < 0.5, "another client waited %.2fs for its echo during a flood" \
        % max(latencies)
    # the flooder itself got all its echoes, in order, and still works
    echoes = [l[len(prefix):] for l in flooder.lines_for(0.5) if l.startswith(prefix)]
    assert echoes == ["flood %02d" % i for i in range(30)], echoes


def test_rate_limited_nack_with_acks(chatd):
    d = chatd(config={"flood-rate": 1, "flood-burst": 3})
    a, b = d.client(), d.client()
    b.sync()
    n_on = a.send("/ack on")
    assert a.expect(("ACK ", "NACK ")) == "ACK %d" % n_on
    first = a.sent_lines + 1
    a.send_raw("".join("burst %d\n" % i for i in range(8)).encode())
    last = a.sent_lines
    outcome = {}
    retry_ms = []
    msgs = []
    t0 = time.monotonic()
    while len(outcome) < last - first + 1:
        assert time.monotonic() - t0 < 3, \
            "with acks on, lines over the rate must be NACKed at once; outcomes %r" % outcome
        line = a.line(timeout=3)
        if line.startswith("MSG "):
            msgs.append(line)
            continue
        m = NACK_RATE_RE.match(line)
        if m:
            n = int(m.group(1))
            retry_ms.append(int(m.group(2)))
            assert n not in outcome, line
            outcome[n] = "NACK"
            continue
        m = re.match(r"^ACK (\d+)$", line)
        assert m, "unexpected line %r" % line
        n = int(m.group(1))
        assert n not in outcome
        outcome[n] = "ACK"
        # the MSG echo of an accepted line comes before its ACK
        assert msgs and msgs[-1] == "MSG #lobby %s burst %d" % (a.nick, n - first), (msgs, line)
    assert sorted(outcome) == list(range(first, last + 1))
    acked = [n for n in sorted(outcome) if outcome[n] == "ACK"]
    nacked = [n for n in sorted(outcome) if outcome[n] == "NACK"]
    assert len(acked) >= 1 and len(nacked) >= 4, outcome
    assert all(0 < r <= 1100 for r in retry_ms), retry_ms
    # exactly the accepted lines reached the room
    a.send("/zz-after")          # unknown command: NACK, marks the end
    a.expect("NACK")
    expected = ["burst %d" % (n - first) for n in acked]
    got = []
    while True:
        line = b.line(timeout=5)
        if line.startswith("MSG #lobby %s " % a.nick):
            got.append(line.split(" ", 3)[3])
            if len(got) == len(expected):
                break
    assert got == expected
    # after waiting for the advertised time, a line is accepted again
    time.sleep(max(retry_ms) / 1000.0 + 1.2)
    n = a.send("later")
    line = a.expect(("ACK ", "NACK "))
    assert line == "ACK %d" % n, line
