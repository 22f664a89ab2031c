"""TLS listeners: a TLS client and a plain client in the same room, hostile
input on the TLS port, the handshake timeout, and certificate rotation by
reload.  Certificates are self-signed and made at test time."""
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import Client, free_port, scaled

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="needs openssl(1)")


def make_cert(directory, cn):
    """A self-signed P-256 certificate and key; returns (cert, key) paths."""
    cert, key = os.path.join(directory, cn + ".crt"), os.path.join(directory, cn + ".key")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + cn,
                    "-days", "2", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    # Readable by the group of the user chatd runs as once it gave root up
    # (nobody unless the config says otherwise), as a deployment would do
    # it: a reload reads the key as that user.
    if os.geteuid() == 0:
        os.chown(key, -1, pwd.getpwnam("nobody").pw_gid)
        os.chmod(key, 0o640)
    return cert, key


def install(src, dst):
    """Replace dst with src in one rename, as a certificate renewal does."""
    tmp = dst + ".new"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


class TLSClient(Client):
    """The conftest Client, over TLS (certificate not verified: self-signed)."""

    def __init__(self, port, **kw):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", port), timeout=scaled(5))
        self._tls = ctx.wrap_socket(raw)
        self.peer_cert = self._tls.getpeercert(binary_form=True)
        super().__init__(port, sock=self._tls, **kw)


def fingerprint(der):
    return hashlib.sha256(der).hexdigest()


def server_cert(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=scaled(5)) as raw:
        with ctx.wrap_socket(raw) as s:
            return s.getpeercert(binary_form=True)


@pytest.fixture
def tls_daemon(chatd, tmp_path):
    def start(extra=None):
        cert, key = make_cert(str(tmp_path), "chatd-one")
        config = {"listen-tls": "127.0.0.1:0", "tls-cert": cert, "tls-key": key,
                  "tls-handshake-timeout": 1}
        config.update(extra or {})
        d = chatd("--control", str(tmp_path / "ctl.sock"), config=config,
                  log_level="debug")
        line = d.wait_log(r"listening on 127\.0\.0\.1:\d+ \(TLS\)")
        d.tls_port = int(re.search(r":(\d+) \(TLS\)", line).group(1))
        d.cert, d.key = cert, key
        return d
    return start


def test_tls_and_plain_clients_chat(tls_daemon):
    d = tls_daemon()
    plain = d.client()
    secure = TLSClient(d.tls_port)
    plain.expect("JOIN #lobby " + secure.nick)
    secure.send("hello from TLS")
    plain.expect("MSG #lobby %s hello from TLS" % secure.nick)
    plain.send("hello from plain TCP")
    secure.expect("MSG #lobby %s hello from plain TCP" % plain.nick)
    secure.send("/quit bye")
    secure.expect("BYE quit")


def test_same_limits_apply_over_tls(tls_daemon):
    d = tls_daemon({"max-line": 100})
    secure = TLSClient(d.tls_port)
    secure.send("x" * 101)
    secure.expect("ERR line-too-long")
    secure.send("\x1b[31mred")
    line = secure.expect("MSG #lobby")
    assert "\x1b" not in line and "\ufffd[31mred" in line


def test_plain_text_on_tls_port_is_refused(tls_daemon):
    d = tls_daemon()
    s = socket.create_connection(("127.0.0.1", d.tls_port), timeout=scaled(5))
    s.sendall(b"hello, this is not TLS\r\n")
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    s.close()
    assert b"HELLO" not in data
    d.wait_log(r"TLS: .*wrong version number|TLS: .*packet length")
    # the daemon is unharmed: both kinds of clients still chat
    plain, secure = d.client(), TLSClient(d.tls_port)
    secure.send("still fine")
    plain.expect("MSG #lobby %s still fine" % secure.nick)


@pytest.mark.parametrize("first_bytes", [b"", b"\x16\x03\x01\x00\xc8\x01\x00\x00"],
                         ids=["silent", "half-hello"])
def test_stalled_handshake_times_out(tls_daemon, first_bytes):
    d = tls_daemon()
    start = time.monotonic()
    s = socket.create_connection(("127.0.0.1", d.tls_port), timeout=scaled(5))
    if first_bytes:
        s.sendall(first_bytes)
    try:
        assert s.recv(4096) == b""      # the daemon closed: EOF...
    except ConnectionResetError:
        pass                            # ...or RST, with bytes unread
    elapsed = time.monotonic() - start
    s.close()
    assert 0.8 <= elapsed < scaled(4), elapsed
    d.wait_log(r"TLS handshake timed out")
    # a silent TLS connection never became a chatter
    assert d.client().expect("ROOM #lobby 1")


def test_certificate_rotation_by_reload(tls_daemon, tmp_path):
    d = tls_daemon()
    old = server_cert(d.tls_port)
    kept = TLSClient(d.tls_port)
    watcher = d.client()
    new_cert, new_key = make_cert(str(tmp_path), "chatd-two")
    install(new_key, d.key)
    install(new_cert, d.cert)
    mark = d.log_mark()
    d.signal(signal.SIGHUP)
    d.wait_log(r"TLS certificate /CN=chatd-two", start=mark)
    new = server_cert(d.tls_port)
    assert fingerprint(new) != fingerprint(old)
    with open(new_cert) as f:
        assert ssl.PEM_cert_to_DER_cert(f.read()) == new
    assert kept.peer_cert == old
    # the client connected before the reload keeps its session and chats
    kept.send("after rotation")
    watcher.expect("MSG #lobby %s after rotation" % kept.nick)
    # chatctl status names the certificate new clients get
    chatctl = os.environ.get("CHATCTL")
    if chatctl:
        out = subprocess.run([chatctl, "-s", str(tmp_path / "ctl.sock"), "--json",
                              "status"], capture_output=True, text=True, check=True)
        status = json.loads(out.stdout)
        assert status["tls_subject"] == "/CN=chatd-two"
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", status["tls_expires"])
        assert any(l.endswith("(TLS)") for l in status["listeners"])


def test_bad_certificate_on_reload_keeps_the_old(tls_daemon):
    d = tls_daemon()
    before = server_cert(d.tls_port)
    kept = TLSClient(d.tls_port)
    with open(d.cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    mark = d.log_mark()
    d.signal(signal.SIGHUP)
    d.wait_log(r"reload failed, keeping the running configuration: .*tls-cert",
               start=mark)
    assert fingerprint(server_cert(d.tls_port)) == fingerprint(before)
    kept.send("/who")
    kept.expect("WHO #lobby")


def test_check_config_rejects_bad_certificate(tmp_path):
    conf = tmp_path / "chatd.conf"
    conf.write_text("listen-tls = 127.0.0.1:0\ntls-cert = %s\ntls-key = %s\n"
                    % (tmp_path / "missing.crt", tmp_path / "missing.key"))
    r = subprocess.run([os.environ["CHATD"], "-t", "-c", str(conf)],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "tls-cert" in r.stderr


@pytest.mark.skipif(shutil.which("systemd-socket-activate") is None,
                    reason="needs systemd-socket-activate")
@pytest.mark.parametrize("with_cert", [True, False], ids=["cert", "no-cert"])
def test_tls_socket_from_systemd(tmp_path, with_cert):
    """A socket named "tls" is a TLS listener; without a certificate in the
    config chatd refuses to start instead of serving it bare."""
    port = free_port()
    conf = tmp_path / "chatd.conf"
    if with_cert:
        cert, key = make_cert(str(tmp_path), "chatd-activated")
        conf.write_text("tls-cert = %s\ntls-key = %s\n" % (cert, key))
    else:
        conf.write_text("scrollback = 5\n")
    log = open(tmp_path / "stderr.log", "w+")
    proc = subprocess.Popen(["systemd-socket-activate", "-l", "127.0.0.1:%d" % port,
                             "--fdname=tls", os.environ["CHATD"], "-c", str(conf)],
                            stderr=log, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + scaled(10)
        while True:     # chatd starts on the first connection
            try:
                raw = socket.create_connection(("127.0.0.1", port), timeout=scaled(5))
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        if with_cert:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            c = Client(port, sock=ctx.wrap_socket(raw))
            c.send("hello from an activated TLS socket")
            c.expect("MSG #lobby %s hello from an activated TLS socket" % c.nick)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(scaled(10)) == 0
        else:
            raw.close()
            assert proc.wait(scaled(10)) == 1
            log.seek(0)
            assert "socket named tls, but the config has no tls-cert" in log.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
