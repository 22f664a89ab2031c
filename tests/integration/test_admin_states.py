"""Every admin verb that looks at or acts on clients, against clients in
every state a connection can be in: a TLS client still in its handshake, a
registered one, one closing (flushing its goodbye to a peer that does not
read), a half-closed one, a muted one, one in no room and one with a full
send queue.  The daemon must answer each request and keep serving; the
regression is chatd 0.1 dying of SIGSEGV on `clients` while a TLS client
had not finished its handshake (the read-only socket allows `clients`, so
any local user could kill it)."""
import json
import socket
import time

import pytest

from conftest import scaled
from hostile import assert_serving, control_request
from test_tls import OPENSSL, make_cert

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="needs openssl(1)")


def _request(path, command, *args):
    r = control_request(path, command, *args)
    assert "ok" in r, r
    return r


@pytest.fixture
def crowd(chatd, tmp_path):
    """A daemon with a TLS port and a client in each state."""
    cert, key = make_cert(str(tmp_path), "states")
    ctl = str(tmp_path / "ctl.sock")
    ro = str(tmp_path / "ro.sock")
    d = chatd("--control", ctl, config={
        "listen-tls": "127.0.0.1:0", "tls-cert": cert, "tls-key": key,
        "tls-handshake-timeout": 60, "control-readonly": ro,
        "sendq-soft": "8k", "sendq-soft-seconds": 60, "sendq-hard": "4m",
        "max-per-ip": 0, "flood-rate-per-ip": 0,
        "flood-rate": 100000, "flood-burst": 100000})
    line = d.wait_log(r"listening on 127\.0\.0\.1:\d+ \(TLS\)")
    tls_port = int(line.rsplit(":", 1)[1].split()[0])
    state = {"ctl": ctl, "ro": ro, "d": d, "socks": []}
    # TLS, before any handshake byte; and one mid-handshake (ClientHello
    # sent, never finished).
    state["socks"].append(socket.create_connection(("127.0.0.1", tls_port)))
    hello = socket.create_connection(("127.0.0.1", tls_port))
    # a record header announcing 512 bytes, and only the first few of them
    hello.sendall(bytes.fromhex("1603010200" "010001fc0303"))
    state["socks"].append(hello)
    reg = d.client(name="registered")
    reg.send("/nick registered")
    reg.expect("NICK")
    muted = d.client(name="muted")
    muted.send("/nick muteme")
    muted.expect("NICK")
    assert _request(ctl, "mute", "muteme")["ok"]
    roomless = d.client(name="roomless")
    roomless.send("/nick roomless")
    roomless.expect("NICK")
    roomless.send("/part")
    roomless.expect("PART")
    # Two that do not read: one keeps its connection with a full send
    # queue; the other half-closes it, so the daemon is left flushing a
    # goodbye it will not take (closing, for shutdown-grace).
    full = d.client(name="full", rcvbuf=4096)
    full.send("/nick fullq")
    full.expect("NICK")
    half = d.client(name="half", rcvbuf=4096)
    half.send("/nick halfclosed")
    half.expect("NICK")
    talker = d.client(name="talker")
    for i in range(2000):
        talker.send("filling the queues of the others, line %03d %s"
                    % (i, "x" * 200))
    talker.sync()
    half.sock.shutdown(socket.SHUT_WR)
    state.update(reg=reg, muted=muted, roomless=roomless, half=half,
                 full=full, talker=talker)
    yield state
    for s in state["socks"]:
        s.close()


LOOKS = [("status",), ("stats",), ("clients",), ("clients", "lobby"),
         ("rooms",), ("version",)]


@pytest.mark.parametrize("verb", LOOKS, ids=lambda v: " ".join(v))
def test_looking_verbs_answer_in_every_state(crowd, verb):
    for path in (crowd["ctl"], crowd["ro"]):
        r = _request(path, *verb)
        assert r["ok"], r
    assert crowd["d"].alive()


def test_clients_lists_pending_tls_clients_with_their_state(crowd):
    r = _request(crowd["ro"], "clients")
    states = [c["state"] for c in r["result"]["clients"]]
    assert states.count("handshake") == 2, r
    pending = [c for c in r["result"]["clients"] if c["state"] == "handshake"]
    assert all(c["nick"] is None and c["tls"] for c in pending)
    nicks = {c["nick"] for c in r["result"]["clients"]}
    assert {"registered", "muteme", "roomless", "fullq"} <= nicks
    assert "closing" in states, r


ACTS = [("kick", "registered", "bye"), ("kick", "halfclosed"),
        ("kick", "fullq"), ("kick", "roomless"), ("mute", "roomless"),
        ("unmute", "muteme"), ("msg", "fullq", "hello"),
        ("ban", "add", "127.0.0.1", "1m", "everyone goes"),
        ("ban", "add", "muteme"), ("ban", "add", "127.0.0.0/8"),
        ("announce", "attention"), ("say", "lobby", "hi all"),
        ("topic", "lobby", "a topic"), ("close", "lobby")]


@pytest.mark.parametrize("verb", ACTS, ids=lambda v: " ".join(v))
def test_acting_verbs_answer_in_every_state(crowd, verb):
    r = _request(crowd["ctl"], *verb)
    # the half-closed client is gone as a nick: it is only flushing
    assert r["ok"] or (verb[1] == "halfclosed" and
                       r["code"] == "no-such-nick"), r
    # then every looking verb again, with some clients now closing
    for look in LOOKS:
        assert _request(crowd["ro"], *look)["ok"]
    assert crowd["d"].alive()
    if verb[:2] == ("ban", "add"):
        _request(crowd["ctl"], "ban", "del", verb[2])
    assert_serving(crowd["d"])


def test_ban_closes_pending_tls_clients(crowd):
    r = _request(crowd["ctl"], "ban", "add", "127.0.0.1")
    assert r["ok"], r
    # the two TLS clients, and every chatting client
    assert r["result"]["disconnected"] >= 7, r
    for s in crowd["socks"]:
        # chatd holds them for shutdown-grace (5 s), flushing a goodbye
        # that a TLS client in its handshake cannot be sent
        s.settimeout(5 + scaled(5))
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
    _request(crowd["ctl"], "ban", "del", "127.0.0.1")
    assert_serving(crowd["d"])
