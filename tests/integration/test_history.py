"""Scrollback replay is bounded by the send queue: asking for history (on
join or with /history) never costs a client its connection, whatever
scrollback, max-line and the send-queue limits are."""

import time

CONFIG = {
    "scrollback": 100,
    "max-line": 1024,
    "sendq-hard": 8192,
    "sendq-soft": 4096,
    "flood-rate": 100000,
    "flood-burst": 100000,
}


def hist_lines_until(client, marker):
    """Collect HIST lines until a line starting with marker."""
    _, seen = client.expect_with_skipped(marker)
    return [line for line in seen if line.startswith("HIST ")]


def test_replay_fits_in_sendq_soft(chatd):
    d = chatd(config=CONFIG)
    alice = d.client()
    alice.send("/ack on")
    alice.expect("ACK")
    for i in range(100):
        alice.send("%03d %s" % (i, "x" * 900))
        alice.expect("ACK")
    bob = d.client()
    bob.send("/ack on")
    hist = hist_lines_until(bob, "ACK")
    # The newest messages that fit below sendq-soft, oldest first, in order.
    assert 1 <= len(hist) <= 4, hist
    numbers = [int(line.split()[5]) for line in hist]
    assert numbers == list(range(100 - len(hist), 100))
    bob.send("/history 100")
    again = hist_lines_until(bob, "ACK")
    assert [int(line.split()[5]) for line in again] == numbers
    bob.send("still here")
    alice.expect("MSG #lobby %s still here" % bob.nick)
    assert "slow consumer" not in d.log_text()


def fill_scrollback(d, n, size):
    """n lines of size bytes said in #lobby, each acknowledged."""
    alice = d.client(name="filler")
    alice.send("/ack on")
    alice.expect("ACK")
    for i in range(n):
        alice.send("%03d %s" % (i, "x" * (size - 4)))
        alice.expect("ACK")
    return alice


def test_a_join_is_not_charged_for_its_scrollback(chatd):
    """Whoever joins a room with a full scrollback of long lines may speak
    at once: the replay (80 KB here, 80 tokens of flood-line-bytes) is not
    charged to the joiner or its address.  At flood-rate 1 a charged
    replay would keep each joiner silent for a minute."""
    config = {"scrollback": 20, "max-line": 4096, "sendq-soft": 131072,
              "sendq-hard": 262144}
    d = chatd(config=dict(config, **{"flood-rate": 1000}))
    alice = fill_scrollback(d, 20, 4000)
    mark = d.log_mark()
    d.reload(dict(config, **{"flood-rate": 1, "flood-burst": 20,
                             "flood-rate-per-ip": 1, "flood-burst-per-ip": 20}))
    d.wait_log(r"reload: flood-rate changed", start=mark)
    for i in range(3):
        bob = d.client(name="joiner%d" % i, source="127.44.0.1")
        bob.send("/ack on")
        assert len(hist_lines_until(bob, "ACK")) == 20
        bob.send("/join #elsewhere")
        assert len(hist_lines_until(bob, "ROOM #elsewhere")) == 0
        bob.send("/join #lobby")       # back: already a member, no replay
        bob.expect("ACK")
        bob.send("hello from joiner%d" % i)
        alice.expect("MSG #lobby %s hello from joiner%d" % (bob.nick, i))


def test_history_on_request_is_charged(chatd):
    """/history is an answer the client asked for: its bytes are charged
    like any answer (flood-line-bytes), so the next line waits for the
    bucket to refill."""
    d = chatd(config={"scrollback": 20, "max-line": 4096, "sendq-soft": 131072,
                      "sendq-hard": 262144, "flood-rate": 20, "flood-burst": 20})
    fill_scrollback(d, 20, 4000)
    bob = d.client(name="asker", source="127.45.0.1")
    bob.send("/ack on")
    hist_lines_until(bob, "ACK")
    bob.send("/history 20")
    assert len(hist_lines_until(bob, "ACK")) == 20
    t0 = time.monotonic()
    bob.send("/ack on")
    bob.expect("ACK")
    # 80 tokens taken from a bucket of at most 20, refilled at 20 a second
    assert time.monotonic() - t0 >= 2.0
