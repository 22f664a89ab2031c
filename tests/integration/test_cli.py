"""Command line: -t/--test-config, -V, -h, short options, log format."""

import os
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import LISTEN_RE, chatd_exe, daemon_env, scaled, write_config

ALL_DEFAULTS = [
    "# chatd.conf with every key at its default",
    "",
    "listen = 127.0.0.1:7000",
    "default-room = #lobby",
    "scrollback = 20",
    "max-line = 4096",
    "sendq-hard = 262144",
    "sendq-soft = 65536",
    "sendq-soft-seconds = 10",
    "flood-rate = 10",
    "flood-burst = 20",
    "max-clients = 10000",
    "max-per-ip = 100",
    "idle-timeout = 0",
    "max-rooms-per-client = 20",
    "shutdown-grace = 5",
    "slow-consumer = disconnect",
    "log-level = info",
]


def run(args, timeout=10):
    try:
        return subprocess.run([chatd_exe()] + list(args), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=scaled(timeout), env=daemon_env())
    except subprocess.TimeoutExpired:
        pytest.fail("chatd %s did not exit within %ss" % (" ".join(args), scaled(timeout)))


def check_no_sanitizer(r):
    text = (r.stderr + r.stdout).decode("utf-8", "replace")
    for pat in ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer"):
        assert pat not in text, text


@pytest.mark.parametrize("opts", [("-t", "-c"), ("--test-config", "--config")])
def test_test_config_good(tmp_path, opts):
    good = write_config(str(tmp_path / "good.conf"), ALL_DEFAULTS)
    r = run([opts[0], opts[1], good])
    check_no_sanitizer(r)
    assert r.returncode == 0, r.stderr.decode(errors="replace")


def test_test_config_small_good(tmp_path):
    good = write_config(str(tmp_path / "small.conf"),
                        ["max-line = 512", "scrollback=5", "flood-rate   =   3  "])
    r = run(["-t", "-c", good])
    check_no_sanitizer(r)
    assert r.returncode == 0, r.stderr.decode(errors="replace")


BAD_CONFIGS = [
    ("bad-value", ["scrollback = 20", "max-line = banana"], 2),
    ("no-equals", ["# comment", "", "this line has no equals sign"], 3),
    ("negative", ["flood-rate = 10", "flood-burst = 20", "max-line = -1"], 3),
    ("bad-room", ["default-room = lobby with spaces"], 1),
    ("bad-listen", ["scrollback = 5", "listen = not-an-address"], 2),
]


@pytest.mark.parametrize("lines,lineno", [(b[1], b[2]) for b in BAD_CONFIGS],
                         ids=[b[0] for b in BAD_CONFIGS])
def test_test_config_bad(tmp_path, lines, lineno):
    bad = write_config(str(tmp_path / "bad.conf"), lines)
    r = run(["-t", "-c", bad])
    check_no_sanitizer(r)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 1, (r.returncode, err)
    assert re.search(re.escape(bad) + ":%d:" % lineno, err), err


def test_test_config_missing_file(tmp_path):
    r = run(["-t", "-c", str(tmp_path / "does-not-exist.conf")])
    check_no_sanitizer(r)
    assert r.returncode == 1
    assert r.stderr.strip(), "no error message"


def test_bad_config_refuses_to_start(tmp_path):
    bad = write_config(str(tmp_path / "bad.conf"), ["max-line = banana"])
    r = run(["-c", bad, "--listen", "127.0.0.1:0"])
    check_no_sanitizer(r)
    assert r.returncode != 0
    assert (bad + ":1:") in r.stderr.decode(errors="replace")


@pytest.mark.parametrize("opt", ["-V", "--version", "-h", "--help"])
def test_version_and_help(opt):
    r = run([opt])
    check_no_sanitizer(r)
    assert r.returncode == 0
    assert (r.stdout + r.stderr).strip(), "no output for %s" % opt


def test_unknown_option_fails(tmp_path):
    r = run(["--no-such-option", "--listen", "127.0.0.1:0"])
    check_no_sanitizer(r)
    assert r.returncode != 0


def test_short_options(chatd, tmp_path):
    cfg = write_config(str(tmp_path / "short.conf"), {"default-room": "#short"})
    d = chatd("-l", "127.0.0.1:0", "-c", cfg, "-L", "debug", listen=())
    a = d.client()
    assert a.room == "#short"


def test_log_format_and_listen_line(chatd):
    d = chatd()
    lines = [l for l in d.log if LISTEN_RE.search(l)]
    assert len(lines) == 1, d.log
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) chatd\[(\d+)\]: info: "
                 r"listening on 127\.0\.0\.1:(\d+)$", lines[0])
    assert m, lines[0]
    assert int(m.group(2)) == d.pid
    assert int(m.group(3)) == d.port != 0


def test_listen_config_key_overridden_by_command_line(chatd):
    # listen in the file would be port 7000; --listen wins
    d = chatd(config={"listen": "127.0.0.1:1"})
    assert d.port not in (0, 1, 7000)
    d.client()


def test_journald_log_format(tmp_path):
    """Under journald (JOURNAL_STREAM names stderr) lines are `<N>text`."""
    rfd, wfd = os.pipe()
    st = os.fstat(wfd)
    env = daemon_env({"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)})
    proc = subprocess.Popen([chatd_exe(), "--listen", "127.0.0.1:0"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=wfd, env=env)
    os.close(wfd)
    lines = []

    def reader():
        with os.fdopen(rfd, "rb") as f:
            for raw in f:
                lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + scaled(10)
        while time.monotonic() < deadline and not any("listening on" in l for l in lines):
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        found = [l for l in lines if "listening on" in l]
        assert found, "no 'listening on' line; stderr: %r" % lines
        assert re.match(r"^<6>listening on 127\.0\.0\.1:\d+$", found[0]), found[0]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(scaled(10))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(scaled(5))
        t.join(scaled(5))
    assert proc.returncode == 0, (proc.returncode, lines)
    text = "\n".join(lines)
    for pat in ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer"):
        assert pat not in text, text
