"""The metrics listener (issue 13, chatd(8) METRICS): Prometheus scrapes
over a real socket after real traffic.  The figures move as the traffic
says, other paths and methods are refused, Accept chooses OpenMetrics,
promtool accepts the text format, a strict OpenMetrics parser the other,
and a scraper holding connections open meets the cap.

Every wait here is for something the daemon must do (a reply, a close);
no test sleeps to let it happen or bounds how long it takes."""
import http.client
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import (Client, chatd_exe, free_port, recv_to_eof, scaled,
                      share_with_daemon, wait_until)
from hostile import control_request

SERVING_RE = r"serving metrics on ([0-9.]+):(\d+)"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT = "text/plain; version=0.0.4; charset=utf-8"
# What Prometheus 2.x sends when it may take OpenMetrics.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,"
                     "application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")
CAP = 16        # METRICS_HTTP_CONNS in src/metrics-http.c


def metrics_port(d):
    return int(re.search(SERVING_RE, d.wait_log(SERVING_RE)).group(2))


def request(port, method="GET", path="/metrics", headers=None):
    """(status, headers dict with lower-case names, body) of one request."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=scaled(10))
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def parse(text):
    """{(name, labels): value} of every sample line."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = SAMPLE_RE.match(line)
        assert m, "not a sample line: %r" % line
        samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return samples


def scrape(port, accept=None):
    status, headers, body = request(port, headers={"Accept": accept} if accept else None)
    assert status == 200, (status, body)
    return headers, body.decode("utf-8")


def figures(port):
    return parse(scrape(port)[1])


@pytest.fixture
def daemon(chatd):
    d = chatd("--listen-metrics", "127.0.0.1:0")
    d.metrics = metrics_port(d)
    return d


def test_figures_follow_the_traffic(daemon):
    before = figures(daemon.metrics)
    alice = daemon.client()
    bob = daemon.client()
    sent = b""
    for i in range(3):
        line = b"hello %d\r\n" % i
        alice.send_raw(line)
        sent += line
        bob.expect("MSG #lobby ")
        alice.expect("MSG #lobby ")
    alice.send_raw(b"/nosuch\r\n")
    sent += b"/nosuch\r\n"
    alice.expect("ERR unknown-command")
    after = figures(daemon.metrics)

    def moved(name, labels=""):
        return after[(name, labels)] - before.get((name, labels), 0)

    line = '{protocol="line"}'
    assert moved("chatd_connections_accepted_total", line) == 2
    assert after[("chatd_clients", line)] == 2
    assert after[("chatd_clients", '{protocol="irc"}')] == 0
    assert moved("chatd_lines_received_total") == 4
    assert moved("chatd_received_bytes_total") == len(sent)
    assert moved("chatd_messages_total") == 3
    # each message to both members, and the joins
    assert moved("chatd_deliveries_total") >= 6
    assert moved("chatd_sent_bytes_total") > 0
    assert moved("chatd_errors_sent_total", '{protocol="line",code="unknown-command"}') == 1
    assert after[("chatd_rooms", "")] >= 1
    assert after[("chatd_sessions", "")] >= 2
    assert after[("chatd_resident_memory_bytes", "")] > 0
    # three messages to two recipients each (and the joins, to one or two)
    assert moved("chatd_fanout_recipients_count") >= 3
    assert moved("chatd_fanout_recipients_bucket", '{le="2"}') >= 3
    assert moved("chatd_fanout_recipients_sum") >= 6
    # every line's output went out: alice's echoes and errors, bob's copies
    assert moved("chatd_delivery_seconds_count") >= 7
    assert moved("chatd_sendq_flush_bytes_count") >= 7
    for h in ("chatd_delivery_seconds", "chatd_fanout_recipients",
              "chatd_sendq_flush_bytes"):
        assert after[(h + "_bucket", '{le="+Inf"}')] == after[(h + "_count", "")]
    assert moved("chatd_metrics_scrapes_total") == 1

    bob.close()
    assert wait_until(lambda: figures(daemon.metrics)[("chatd_clients", line)] == 1, 10)
    assert moved("chatd_connections_closed_total") == 0     # before bob left
    assert figures(daemon.metrics)[("chatd_connections_closed_total", "")] == \
        before.get(("chatd_connections_closed_total", ""), 0) + 1


def test_status_lists_the_metrics_listener(chatd, tmp_path):
    ctl = str(tmp_path / "ctl.sock")
    d = chatd("--control", ctl, "--listen-metrics", "127.0.0.1:0")
    metrics = metrics_port(d)
    r = control_request(ctl, "status")
    assert "127.0.0.1:%d (metrics)" % metrics in r["result"]["listeners"]


def test_irc_clients_are_counted_as_irc(chatd):
    d = chatd("--listen-irc", "127.0.0.1:0", "--listen-metrics", "127.0.0.1:0")
    port = int(re.search(r":(\d+) \(irc\)",
                         d.wait_log(r"listening on \S+ \(irc\)")).group(1))
    metrics = metrics_port(d)
    c = d.client(port=port, read_hello=False)
    c.send_raw(b"NICK m\r\nUSER m 0 * :m\r\n")
    c.expect_re(r":\S+ 001 m ")
    c.send_raw(b"NOSUCHCOMMAND\r\n")
    c.expect_re(r":\S+ 421 m ")
    f = figures(metrics)
    assert f[("chatd_connections_accepted_total", '{protocol="irc"}')] == 1
    assert f[("chatd_connections_accepted_total", '{protocol="line"}')] == 0
    assert f[("chatd_clients", '{protocol="irc"}')] == 1
    assert f[("chatd_errors_sent_total", '{protocol="irc",code="421"}')] == 1


def test_only_get_and_head_of_metrics(daemon):
    for path in ("/", "/metrics/", "/metricsx", "/favicon.ico"):
        assert request(daemon.metrics, path=path)[0] == 404, path
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
        status, headers, _ = request(daemon.metrics, method=method)
        assert status == 405, method
        assert headers.get("allow") == "GET, HEAD"
    status, headers, body = request(daemon.metrics, method="HEAD")
    assert status == 200 and body == b""
    assert headers["content-type"] == TEXT
    # a query string is not another path
    assert request(daemon.metrics, path="/metrics?x=1")[0] == 200
    f = figures(daemon.metrics)
    assert f[("chatd_metrics_refused_total", '{reason="not_found"}')] == 4
    assert f[("chatd_metrics_refused_total", '{reason="method_not_allowed"}')] == 5
    assert f[("chatd_metrics_scrapes_total", "")] == 3


def test_accept_chooses_the_format(daemon):
    headers, text = scrape(daemon.metrics)
    assert headers["content-type"] == TEXT
    assert "# EOF" not in text
    assert "# TYPE chatd_lines_received_total counter\n" in text
    for accept in (PROMETHEUS_ACCEPT, "application/openmetrics-text"):
        headers, om = scrape(daemon.metrics, accept)
        assert headers["content-type"] == OPENMETRICS, accept
        assert om.endswith("\n# EOF\n") and om.count("# EOF") == 1
        assert "# TYPE chatd_lines_received counter\n" in om
        assert "\nchatd_lines_received_total " in om
    for accept in ("text/plain", "*/*", "application/json",
                   "application/openmetrics-text;version=0.0.1",
                   "text/plain;q=1,application/openmetrics-text;q=0.5"):
        assert scrape(daemon.metrics, accept)[0]["content-type"] == TEXT, accept


def promtool(text):
    exe = shutil.which("promtool")
    assert exe, "promtool not found (Debian package prometheus)"
    p = subprocess.run([exe, "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=scaled(30))
    return p.returncode, (p.stdout + p.stderr).decode()


def test_promtool_and_openmetrics_parser_accept_both(daemon):
    c = daemon.client()
    c.send_raw(b"/nosuch\r\n")
    c.expect("ERR ")
    rc, out = promtool(scrape(daemon.metrics)[1])
    assert rc == 0 and out.strip() == "", out
    om = scrape(daemon.metrics, PROMETHEUS_ACCEPT)[1]
    # promtool 2.42 parses only the 0.0.4 format: there an OpenMetrics
    # counter's samples (NAME_total) are apart from their family's HELP
    # (NAME), and it says so; anything else it says is a real fault.
    rc, out = promtool(om)
    counters = set(re.findall(r"^# TYPE (\S+) counter$", om, re.M))
    for complaint in out.splitlines():
        m = re.match(r"^(\S+)_total no help text$", complaint)
        assert m and m.group(1) in counters, out
    assert rc in (0, 3), out
    parser = pytest.importorskip("prometheus_client.openmetrics.parser")
    families = {f.name: f.type for f in parser.text_string_to_metric_families(om)}
    assert families["chatd_lines_received"] == "counter"
    assert families["chatd_delivery_seconds"] == "histogram"
    assert families["chatd_clients"] == "gauge"


def test_connections_over_the_cap_are_refused(daemon):
    held = [socket.create_connection(("127.0.0.1", daemon.metrics),
                                     timeout=scaled(10)) for _ in range(CAP)]
    try:
        # accepted in order: the one past the cap is shut down unanswered
        extra = socket.create_connection(("127.0.0.1", daemon.metrics),
                                         timeout=scaled(10))
        extra.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert recv_to_eof(extra) == b""
        extra.close()
    finally:
        for s in held:
            s.close()

    refused = [1]       # the extra one

    def served():
        try:
            return figures(daemon.metrics)
        except (ConnectionError, http.client.HTTPException):
            refused[0] += 1     # the held ones are not all gone yet
            return None
    f = wait_until(served, 10)
    assert f, "no scrape served once the held connections closed"
    assert f[("chatd_metrics_refused_total", '{reason="busy"}')] == refused[0]


@pytest.mark.skipif(shutil.which("systemd-socket-activate") is None,
                    reason="systemd-socket-activate not installed")
def test_socket_named_metrics_from_systemd(tmp_path):
    """A socket passed with FileDescriptorName=metrics serves metrics."""
    share_with_daemon(tmp_path)
    chat, metrics = free_port(), free_port()
    log = open(tmp_path / "stderr.log", "w+")
    proc = subprocess.Popen([shutil.which("systemd-socket-activate"),
                             "-l", "127.0.0.1:%d" % chat,
                             "-l", "127.0.0.1:%d" % metrics,
                             "--fdname=chat:metrics", chatd_exe()],
                            stderr=log, stdin=subprocess.DEVNULL)
    try:
        # systemd-socket-activate starts chatd on the first connection
        c = wait_until(lambda: _connect(chat), 10)
        assert c, "chatd did not start"
        c.close()
        headers, text = scrape(metrics)
        assert headers["content-type"] == TEXT
        assert "chatd_connections_accepted_total{protocol=\"line\"} 1\n" in text
        log.seek(0)
        assert "serving metrics on 127.0.0.1:%d (from systemd)" % metrics in log.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(scaled(10))
        log.seek(0)
        text = log.read()
        log.close()
        assert "Sanitizer" not in text and "runtime error" not in text, text


def _connect(port):
    try:
        return Client(port)
    except OSError:
        return None
