"""IPv6 listeners."""

import pytest

from conftest import ipv6_loopback_available

pytestmark = pytest.mark.skipif(not ipv6_loopback_available(), reason="::1 is not available")


def test_listen_ipv6_loopback(chatd):
    d = chatd(listen=("[::1]:0",))
    assert d.listeners[0][0] == "::1"
    assert d.port and d.port != 0
    assert any("listening on [::1]:%d" % d.port in l for l in d.log), d.log
    a = d.client(host="::1")
    b = d.client(host="::1")
    assert a.hello.startswith("HELLO ")
    a.send("over v6")
    assert b.expect("MSG ") == "MSG #lobby %s over v6" % a.nick


def test_listen_ipv4_and_ipv6_together(chatd):
    d = chatd(listen=("127.0.0.1:0", "[::1]:0"))
    by_addr = dict(d.listeners)
    assert set(by_addr) == {"127.0.0.1", "::1"}, d.listeners
    a = d.client(host="127.0.0.1", port=by_addr["127.0.0.1"])
    b = d.client(host="::1", port=by_addr["::1"])
    a.send("v4 to v6")
    assert b.expect("MSG ") == "MSG #lobby %s v4 to v6" % a.nick
    b.send("v6 to v4")
    assert a.expect("MSG #lobby %s " % b.nick) == "MSG #lobby %s v6 to v4" % b.nick
