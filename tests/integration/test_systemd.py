"""systemd integration: socket activation through systemd-socket-activate,
sd_notify messages on a NOTIFY_SOCKET the test listens on, and journald
priority prefixes when stderr is the journal stream."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import Client, chatd_exe, free_port, scaled, share_with_daemon, write_config

ACTIVATE = shutil.which("systemd-socket-activate")
pytestmark = pytest.mark.skipif(ACTIVATE is None,
                                reason="systemd-socket-activate not installed")


class Notifications:
    """A NOTIFY_SOCKET: collects the datagrams sd_notify sends."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        # Anyone may notify, as on systemd's own socket: chatd started as
        # root sends READY after it gave root up.
        os.chmod(self.path, 0o777)
        self.seen = []

    def wait_for(self, key, timeout=10.0):
        deadline = time.monotonic() + scaled(timeout)
        while True:
            for msg in self.seen:
                if key in msg.split("\n"):
                    self.seen.remove(msg)
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail("no %s from chatd; got %r" % (key, self.seen))
            self.sock.settimeout(left)
            try:
                self.seen.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass

    def close(self):
        self.sock.close()


@pytest.fixture
def activated(tmp_path):
    """chatd started by systemd-socket-activate on a TCP socket it passes."""
    procs = []
    share_with_daemon(tmp_path)
    notify = Notifications(tmp_path / "notify.sock")

    def start(config=None):
        port = free_port()
        args = [ACTIVATE, "-l", "127.0.0.1:%d" % port, "--fdname=chat",
                "-E", "NOTIFY_SOCKET=" + notify.path, chatd_exe(), "-L", "debug"]
        if config is not None:
            path = tmp_path / "chatd.conf"
            write_config(path, config)
            args += ["-c", str(path)]
        log = open(tmp_path / "stderr.log", "w+")
        proc = subprocess.Popen(args, stderr=log, stdin=subprocess.DEVNULL)
        procs.append((proc, log))
        # systemd-socket-activate starts chatd on the first connection.
        deadline = time.monotonic() + scaled(10)
        while True:
            try:
                first = Client(port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        return proc, port, first, log

    yield start, notify
    for proc, log in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.seek(0)
        text = log.read()
        log.close()
        assert "Sanitizer" not in text and "runtime error" not in text, text
    notify.close()


def test_inherited_socket_chat_and_ready(activated):
    start, notify = activated
    proc, port, alice, log = start()
    ready = notify.wait_for("READY=1")
    assert re.search(r"^STATUS=\d+ clients, 1 rooms$", ready, re.M), ready
    bob = Client(port)
    alice.expect("JOIN #lobby " + bob.nick)
    bob.send("hello through an inherited socket")
    alice.expect("MSG #lobby %s hello through an inherited socket" % bob.nick)
    bob.expect("MSG #lobby %s hello through an inherited socket" % bob.nick)
    log.seek(0)
    text = log.read()
    assert "listening on 127.0.0.1:%d (from systemd)" % port in text
    assert "the listen setting is not used" in text
    proc.send_signal(signal.SIGTERM)
    notify.wait_for("STOPPING=1")
    alice.expect("BYE shutdown")
    assert proc.wait(scaled(10)) == 0


def test_reload_notifies_reloading_then_ready(activated):
    start, notify = activated
    proc, port, alice, log = start(config={"scrollback": 5})
    notify.wait_for("READY=1")
    proc.send_signal(signal.SIGHUP)
    reloading = notify.wait_for("RELOADING=1")
    assert any(f.startswith("MONOTONIC_USEC=") for f in reloading.split("\n"))
    notify.wait_for("READY=1")
    alice.send("/who")
    alice.expect("WHO #lobby 1")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(scaled(10)) == 0


def test_journal_stream_priorities(tmp_path):
    """With stderr the journal stream, lines carry <N> and no timestamp."""
    log = open(tmp_path / "stderr.log", "w+")
    st = os.fstat(log.fileno())
    env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    proc = subprocess.Popen([chatd_exe(), "-l", "127.0.0.1:0"], stderr=log,
                            env=env, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + scaled(10)
        while "listening on" not in open(log.name).read():
            assert time.monotonic() < deadline, open(log.name).read()
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(scaled(10)) == 0
    lines = open(log.name).read().splitlines()
    assert lines and all(line[:1] == "<" and line[2:3] == ">" for line in lines), lines
    assert any(line.startswith("<6>listening on 127.0.0.1:") for line in lines)
    assert any(line.startswith("<5>") for line in lines)


def test_inherited_socket_named_irc_speaks_irc(tmp_path):
    """A socket passed with FileDescriptorName=irc is an IRC listener."""
    share_with_daemon(tmp_path)
    port = free_port()
    log = open(tmp_path / "stderr.log", "w+")
    proc = subprocess.Popen([ACTIVATE, "-l", "127.0.0.1:%d" % port, "--fdname=irc",
                             chatd_exe(), "-L", "debug"],
                            stderr=log, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + scaled(10)
        while True:
            try:
                c = Client(port, read_hello=False)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        c.send_raw(b"NICK sd\r\nUSER sd 0 * :sd\r\n")
        assert re.match(r":\S+ 001 sd :Welcome", c.expect(":"))
        c.expect_re(r":\S+ 366 sd #lobby ")
        c.close()
        log.seek(0)
        assert "listening on 127.0.0.1:%d (irc) (from systemd)" % port in log.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(scaled(10))
        log.seek(0)
        text = log.read()
        log.close()
        assert "Sanitizer" not in text and "runtime error" not in text, text
