"""Scrollback replay is bounded by the send queue: asking for history (on
join or with /history) never costs a client its connection, whatever
scrollback, max-line and the send-queue limits are."""

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
