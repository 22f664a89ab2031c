"""Shared fixtures and helpers for the chatd integration tests.

The tests start the real daemon named by the environment variable CHATD
(absolute path) on 127.0.0.1 port 0, parse the port from its log, and talk
to it over real TCP sockets.  Everything is bounded in time: every read has a
timeout, and an alarm per test turns a hang into a failure.

Wall-clock numbers in the tests are for an ordinary machine.  On a slower
one (sanitizers, a loaded CI host) set CHATD_TEST_SLOWDOWN to how many times
slower it is (.ci/run sets 3 for the ASan suite): scaled() multiplies by it.
The helpers here and in hostile.py that wait for something expected
(expect, line, sync, wait_eof, wait_until, wait_log, wait_exit, ...) scale
the timeout they are given; those that only watch for a while (try_line,
no_line, lines_for, is_closed_by_peer) do not.  A test scales its own
deadlines and time bounds with scaled().

Run: CHATD=/path/to/chatd /usr/bin/python3 -m pytest -q tests/integration
"""

import fcntl
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import termios
import threading
import time

import pytest



def _slowdown():
    raw = os.environ.get("CHATD_TEST_SLOWDOWN", "1")
    try:
        factor = float(raw)
    except ValueError:
        factor = 0.0
    if not 1.0 <= factor <= 100.0:
        raise ValueError("CHATD_TEST_SLOWDOWN must be a number from 1 to 100 "
                         "(how many times slower this machine is), got %r" % raw)
    return factor


SLOWDOWN = _slowdown()


def scaled(seconds):
    """A wall-clock time (a deadline, a latency bound) measured on an
    ordinary machine, for this one: seconds * CHATD_TEST_SLOWDOWN."""
    return seconds * SLOWDOWN


# A test that takes longer than this is failed (backstop: every socket
# operation below has its own, much shorter timeout).
TEST_ALARM_SECONDS = scaled(int(os.environ.get("CHATD_TEST_ALARM", "150")))

READY_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0

SANITIZER_PATTERNS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                      "ERROR: ThreadSanitizer", "WARNING: ThreadSanitizer",
                      "ERROR: MemorySanitizer")

LISTEN_RE = re.compile(r"listening on (\[[0-9A-Fa-f:.]+\]|[0-9.]+):(\d+)\s*$")
# Logged once start-up is over: after the listeners, the open file limit and
# giving root up, which a test must not race (a prlimit on the daemon, its uid).
STARTED_RE = re.compile(r"notice: chatd \S+ started ")

# Environment variables that would change how the daemon behaves or logs
# (journald prefixes, systemd notification and socket activation).
_SCRUB_ENV = ("JOURNAL_STREAM", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID",
              "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID")


def _chatd_path():
    path = os.environ.get("CHATD")
    if not path:
        pytest.skip("CHATD is not set: set CHATD to the absolute path of the "
                    "chatd binary (e.g. CHATD=$PWD/build/src/chatd)")
    if not os.path.isabs(path):
        pytest.fail("CHATD must be an absolute path, got %r" % path)
    if not os.access(path, os.X_OK):
        pytest.fail("CHATD=%r is not an executable file" % path)
    return path


def chatd_exe():
    """Path of the chatd binary (skips the test when CHATD is unset)."""
    return _chatd_path()


def daemon_env(extra=None):
    env = dict(os.environ)
    for k in _SCRUB_ENV:
        env.pop(k, None)
    if "UBSAN_OPTIONS" not in env:
        env["UBSAN_OPTIONS"] = "print_stacktrace=1"
    if extra:
        env.update(extra)
    return env


def format_config(config):
    """dict -> ini text (`key = value` per line); a list of str is taken as
    raw lines; a str is taken as the whole file."""
    if isinstance(config, str):
        return config
    if isinstance(config, (list, tuple)):
        return "".join(line + "\n" for line in config)
    return "".join("%s = %s\n" % (k, v) for k, v in config.items())


def share_with_daemon(path):
    """Let chatd reach path after it gave root up.

    Started as root, chatd runs as user nobody unless the config names
    another user (chatd.conf(5) `user`), and reads its config file and TLS
    files again on reload as that user.  pytest's temporary directories are
    private (0700); add the search bit (no listing, no writing) to path and
    to each directory above it, up to the system's temporary directory, as
    a real deployment's /etc would allow.  Nothing outside it is touched."""
    if os.geteuid() != 0:
        return
    top = os.path.realpath(tempfile.gettempdir())
    d = os.path.realpath(str(path))
    while d != top and d.startswith(top + os.sep):
        os.chmod(d, (os.stat(d).st_mode & 0o7777) | 0o011)
        d = os.path.dirname(d)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """As root, a base temporary directory of this session's own.

    share_with_daemon() opens pytest's directories to nobody, but every
    pytest session that starts makes /tmp/pytest-of-root private (0700)
    again, and meson runs one session per test file, in parallel: a daemon
    of another session then found its config unreadable on reload
    ("reload failed ... Permission denied").  No other session touches a
    directory of this session's own."""
    if os.geteuid() != 0 or config.option.basetemp is not None:
        return
    base = tempfile.mkdtemp(prefix="chatd-tests-")
    config.option.basetemp = base
    config.add_cleanup(lambda: shutil.rmtree(base, ignore_errors=True))


def write_config(path, config):
    with open(path, "w", encoding="utf-8") as f:
        f.write(format_config(config))
    return path


def rss_kib(pid):
    """Resident set size of process PID in KiB (VmRSS from /proc)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/%d/status" % pid)


def rss_mib(pid):
    return rss_kib(pid) / 1024.0


def tcp_queues(local_port, remote_port, ipv6=False, remote_ip=None):
    """(tx_queue, rx_queue, state) of the TCP socket whose local port is
    local_port and remote port is remote_port (and remote address
    remote_ip, an IPv4 address, when clients use several: their ports may
    repeat), from /proc/net/tcp; None when there is no such socket.
    tx_queue is data written by the owner that the peer has not
    acknowledged (the kernel send queue).  The table is the machine's: an
    older socket of the same ports (TIME_WAIT, from this run or another on
    the machine) may be listed too, so a live one is preferred."""
    path = "/proc/net/tcp6" if ipv6 else "/proc/net/tcp"
    rip = None
    found = None
    if remote_ip is not None:       # as /proc shows it: host byte order
        rip = "%08X" % struct.unpack("<I", socket.inet_aton(remote_ip))[0]
    with open(path) as f:
        next(f)
        for line in f:
            fields = line.split()
            lport = int(fields[1].rsplit(":", 1)[1], 16)
            raddr, rport = fields[2].rsplit(":", 1)
            if lport == local_port and int(rport, 16) == remote_port and \
                    (rip is None or raddr == rip):
                tx, rx = fields[4].split(":")
                found = int(tx, 16), int(rx, 16), int(fields[3], 16)
                if found[2] == TCP_ESTABLISHED:
                    return found
    return found


TCP_ESTABLISHED = 1


def daemon_queue(d, c, expected, base_rx):
    """Bytes queued inside daemon d (user space) for client c, given that
    the daemon had `expected` bytes to send c since c had received base_rx
    bytes in total; None once the daemon's socket is no longer established.

        queue = expected - (read by c since) - (in c's receive queue)
                - (daemon socket's kernel send queue)
    """
    q = tcp_queues(d.port, c.local_port)
    if q is None or q[2] != TCP_ESTABLISHED:
        return None
    delivered = (c.rx_total - base_rx) + c.inq()
    return expected - delivered - q[0]


class ClientError(AssertionError):
    pass


class Client:
    """A line-protocol client over a real TCP socket.

    Server lines must end in CRLF; `line()` returns them decoded (strict
    UTF-8) without the CRLF.  `sent_lines` counts the LF bytes sent, i.e. the
    line numbers the daemon uses for ACK/NACK.
    """

    def __init__(self, port, host="127.0.0.1", *, read_hello=True, rcvbuf=None,
                 source=None, timeout=5.0, name=None, sock=None):
        """sock: an already connected socket (e.g. TLS) to use instead."""
        self.port = port
        self.host = host
        self.name = name
        if sock is not None:
            self.sock = sock
            self.sock.settimeout(scaled(timeout))
        else:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.sock = socket.socket(family, socket.SOCK_STREAM)
            if rcvbuf is not None:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            if source is not None:
                self.sock.bind((source, 0))
            self.sock.settimeout(scaled(timeout))
            try:
                self.sock.connect((host, port))
            except BaseException:
                self.sock.close()
                raise
        self.buf = bytearray()
        self.eof = False
        self.reset = False
        self.closed = False
        self.rx_total = 0          # bytes received from the server
        self.sent_lines = 0        # LF bytes sent = ACK numbering
        self.history = []          # every line returned/consumed, decoded
        self.hello = None
        self.nick = None
        self.room = None
        if read_hello:
            self.read_hello()

    # ---- connection -------------------------------------------------
    @classmethod
    def connect(cls, port, host="127.0.0.1", **kw):
        """Connect and read the HELLO line (sets .nick and .room)."""
        return cls(port, host, **kw)

    def read_hello(self, timeout=5.0):
        hello = self.line(timeout)
        if not hello.startswith("HELLO "):
            raise ClientError("expected HELLO as first line, got %r" % hello)
        parts = hello.split(" ", 3)
        if len(parts) < 3:
            raise ClientError("malformed HELLO line %r" % hello)
        self.hello = hello
        self.nick = parts[1]
        self.room = parts[2]
        return hello

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<Client %s nick=%s>" % (self.name or "", self.nick)

    # ---- sending ----------------------------------------------------
    def send_raw(self, data, timeout=30.0):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.settimeout(scaled(timeout))
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise ClientError("send of %d bytes timed out after %ss (daemon not reading?)"
                              % (len(data), scaled(timeout)))
        self.sent_lines += data.count(b"\n")

    def send(self, line, timeout=30.0):
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send_raw(line + b"\n", timeout)
        return self.sent_lines

    def inq(self):
        """Bytes waiting unread in this socket's kernel receive queue."""
        buf = fcntl.ioctl(self.sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
        return struct.unpack("i", buf)[0]

    # ---- receiving --------------------------------------------------
    def _fill(self, deadline):
        """Receive more data; False on timeout. Sets eof on EOF/reset."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(262144)
        except socket.timeout:
            return False
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            self.eof = True
            self.reset = True
            return True
        if not data:
            self.eof = True
            return True
        self.buf += data
        self.rx_total += len(data)
        return True

    def _take_line(self):
        i = self.buf.find(b"\n")
        if i < 0:
            return None
        raw = bytes(self.buf[:i + 1])
        del self.buf[:i + 1]
        if not raw.endswith(b"\r\n"):
            raise ClientError("server line does not end in CRLF: %r" % raw)
        return raw[:-2]

    def try_raw_line(self, timeout=5.0):
        """Next server line as bytes (without CRLF), or None on timeout/EOF."""
        deadline = time.monotonic() + timeout
        while True:
            raw = self._take_line()
            if raw is not None:
                return raw
            if self.eof:
                return None
            if not self._fill(deadline):
                return None

    def raw_line(self, timeout=5.0):
        timeout = scaled(timeout)
        raw = self.try_raw_line(timeout)
        if raw is None:
            if self.eof:
                raise ClientError("%r: connection closed by server while waiting for a line "
                                  "(unterminated data: %r; last lines: %r)"
                                  % (self, bytes(self.buf[:200]), self.history[-10:]))
            raise ClientError("%r: no line from server within %.1fs (last lines: %r)"
                              % (self, timeout, self.history[-10:]))
        return raw

    @staticmethod
    def _decode(raw):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ClientError("server line is not valid UTF-8 (%s): %r" % (e, raw))

    def try_line(self, timeout=5.0):
        raw = self.try_raw_line(timeout)
        if raw is None:
            return None
        s = self._decode(raw)
        self.history.append(s)
        return s

    def line(self, timeout=5.0):
        s = self._decode(self.raw_line(timeout))
        self.history.append(s)
        return s

    def expect(self, prefix, timeout=5.0):
        """Read lines until one starts with prefix (str or tuple of str);
        return it.  Fails listing the lines seen on timeout or EOF."""
        return self.expect_with_skipped(prefix, timeout)[0]

    def _read_until(self, match, what, timeout):
        """Read lines until match(line) is true; return (its result, [lines
        skipped before it]).  Fails listing the lines seen on timeout/EOF."""
        timeout = scaled(timeout)
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            raw = self.try_raw_line(max(0.0, deadline - time.monotonic()))
            if raw is None:
                why = "connection closed" if self.eof else "timeout after %.1fs" % timeout
                raise ClientError("%r: expected a line %s: %s; lines seen: %r"
                                  % (self, what, why, seen))
            s = self._decode(raw)
            self.history.append(s)
            result = match(s)
            if result:
                return result, seen
            seen.append(s)

    def expect_with_skipped(self, prefix, timeout=5.0):
        """Like expect() but returns (line, [lines skipped before it])."""
        return self._read_until(lambda s: s if s.startswith(prefix) else None,
                                "starting with %r" % (prefix,), timeout)

    def expect_re(self, pattern, timeout=5.0):
        """Read lines until one matches regex pattern (re.match); return the
        match object."""
        rx = re.compile(pattern)
        return self._read_until(rx.match, "matching %r" % pattern, timeout)[0]

    def no_line(self, timeout=0.3):
        """Assert that no data at all arrives within timeout."""
        if self.buf:
            raise ClientError("%r: expected no line, but have buffered %r"
                              % (self, bytes(self.buf[:300])))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.eof:
            if self._fill(deadline) and self.buf:
                # give the rest of the line a moment to arrive, for the message
                self._fill(time.monotonic() + 0.1)
                raise ClientError("%r: expected no line, got %r" % (self, bytes(self.buf[:300])))
        if self.eof:
            raise ClientError("%r: expected no line, but the connection was closed" % self)

    def lines_for(self, seconds):
        """All complete lines received within `seconds` (never fails)."""
        out = []
        deadline = time.monotonic() + seconds
        while True:
            s = self.try_line(max(0.0, deadline - time.monotonic()))
            if s is None:
                return out
            out.append(s)

    def sync(self, timeout=5.0):
        """Round trip: send an unknown command and read up to its error
        (ERR unknown-command, or NACK n unknown-command with acks on).
        Returns the lines that arrived before it.  Note: uses one line
        number."""
        self.send("/zz-sync-unknown-command")
        rx = re.compile(r"(ERR unknown-command\b|NACK %d unknown-command\b)"
                        % self.sent_lines)
        return self._read_until(rx.match, "answering the sync (an unknown "
                                "command)", timeout)[1]

    def wait_eof(self, timeout=5.0):
        """Read until the server closes the connection (EOF or reset);
        return the complete lines received before that."""
        timeout = scaled(timeout)
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            raw = self._take_line()
            if raw is not None:
                s = raw.decode("utf-8", "replace")
                self.history.append(s)
                lines.append(s)
                continue
            if self.eof:
                return lines
            if not self._fill(deadline):
                raise ClientError("%r: connection not closed within %.1fs; lines: %r; buffered %r"
                                  % (self, timeout, lines[-20:], bytes(self.buf[:200])))

    def is_closed_by_peer(self, timeout=0.2):
        """Drain what is readable for up to timeout; True if EOF/reset seen."""
        deadline = time.monotonic() + timeout
        while not self.eof and self._fill(deadline):
            while True:
                raw = self._take_line()
                if raw is None:
                    break
                self.history.append(raw.decode("utf-8", "replace"))
        while True:
            raw = self._take_line()
            if raw is None:
                break
            self.history.append(raw.decode("utf-8", "replace"))
        return self.eof


class Daemon:
    """One running chatd process."""

    _counter = 0

    def __init__(self, exe, tmp_path, args=(), config=None, listen=("127.0.0.1:0",),
                 env=None, log_level=None, n_listen=None):
        Daemon._counter += 1
        self.idx = Daemon._counter
        self.exe = exe
        self.tmp_path = tmp_path
        self.config_path = None
        if config is not None:
            self.config_path = str(tmp_path / ("chatd-%d.conf" % self.idx))
            write_config(self.config_path, config)
        # CHATD_WRAPPER runs the daemon under a tool, e.g. valgrind (see
        # tests/valgrind.sh); the tool must exec chatd in the same process.
        argv = shlex.split(os.environ.get("CHATD_WRAPPER", "")) + [exe]
        for l in listen:
            argv += ["--listen", l]
        if self.config_path:
            argv += ["--config", self.config_path]
        if log_level:
            argv += ["--log-level", log_level]
        argv += list(args)
        self.argv = argv
        self.n_listen = n_listen if n_listen is not None else max(1, len(listen))
        self.env = daemon_env(env)
        self.log = []                 # stderr lines (str, no newline)
        self._cond = threading.Condition()
        self.listeners = []           # [(addr, port)] in log order
        self.port = None
        self.proc = None
        self.clients = []
        self.sent_term = False
        self.killed = False
        self.returncode = None
        self._reader = None
        self._logfile = open(str(tmp_path / ("chatd-%d.stderr" % self.idx)), "w")

    # ---- process ----------------------------------------------------
    def start(self, wait=True):
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=self.env,
                                     cwd=str(self.tmp_path))
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if wait:
            self.wait_ready()
        return self

    def _read_stderr(self):
        f = self.proc.stderr
        for raw in iter(f.readline, b""):
            s = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._cond:
                self.log.append(s)
                self._cond.notify_all()
            try:
                self._logfile.write(s + "\n")
                self._logfile.flush()
            except ValueError:
                pass
        with self._cond:
            self._cond.notify_all()

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def wait_ready(self, timeout=READY_TIMEOUT):
        timeout = scaled(timeout)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = []
                for s in self.log:
                    m = LISTEN_RE.search(s)
                    if m:
                        addr = m.group(1).strip("[]")
                        found.append((addr, int(m.group(2))))
                if len(found) >= self.n_listen and any(STARTED_RE.search(s) for s in self.log):
                    self.listeners = found
                    self.port = found[0][1]
                    return self
                if self.proc.poll() is not None and (self._reader is None or not self._reader.is_alive()):
                    pytest.fail("chatd exited with status %s before listening; argv %r; stderr:\n%s"
                                % (self.proc.returncode, self.argv, "\n".join(self.log[-50:])))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail("chatd did not log 'listening on ADDR:PORT' for %d listener(s) "
                                "and 'started' within %.0fs; argv %r; stderr so far:\n%s"
                                % (self.n_listen, timeout, self.argv, "\n".join(self.log[-50:])))
                self._cond.wait(min(remaining, 0.1))

    def log_text(self):
        with self._cond:
            return "\n".join(self.log)

    def wait_log(self, pattern, timeout=5.0, start=0):
        """Wait until a stderr line (index >= start) matches regex pattern
        (re.search, case-insensitive); return the line."""
        rx = re.compile(pattern, re.I)
        timeout = scaled(timeout)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for s in self.log[start:]:
                    if rx.search(s):
                        return s
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail("no chatd log line matching %r within %.1fs; log:\n%s"
                                % (pattern, timeout, "\n".join(self.log[-40:])))
                self._cond.wait(min(remaining, 0.1))

    def log_mark(self):
        with self._cond:
            return len(self.log)

    def signal(self, sig):
        if sig in (signal.SIGTERM, signal.SIGINT):
            self.sent_term = True
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            self.returncode = self.proc.wait(scaled(timeout))
        except subprocess.TimeoutExpired:
            return None
        if self._reader:
            self._reader.join(5)
        return self.returncode

    def rss_kib(self):
        return rss_kib(self.proc.pid)

    def reload(self, config):
        """Rewrite the config file and send SIGHUP."""
        assert self.config_path, "daemon was started without --config"
        write_config(self.config_path, config)
        self.proc.send_signal(signal.SIGHUP)

    # ---- clients ----------------------------------------------------
    def client(self, **kw):
        host = kw.pop("host", None)
        port = kw.pop("port", None)
        if host is None:
            host = self.listeners[0][0] if self.listeners else "127.0.0.1"
        if port is None:
            port = self.port
        c = Client(port, host, **kw)
        self.clients.append(c)
        return c

    def connect_raw(self, **kw):
        """A client that does not read the HELLO line."""
        kw["read_hello"] = False
        return self.client(**kw)

    # ---- teardown ---------------------------------------------------
    def stop_and_check(self):
        """Close clients, stop the daemon (SIGTERM, then SIGKILL after
        10 s) and return a list of problems found."""
        problems = []
        for c in self.clients:
            c.close()
        if self.proc is None:
            return problems
        if self.proc.poll() is None:
            self.sent_term = True
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(scaled(STOP_TIMEOUT))
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait(10)
                problems.append("chatd did not exit within %.0fs of SIGTERM (SIGKILLed)"
                                % scaled(STOP_TIMEOUT))
        if self._reader:
            self._reader.join(5)
        rc = self.proc.returncode
        self.returncode = rc
        if rc < 0 and not self.killed:
            try:
                signame = signal.Signals(-rc).name
            except ValueError:
                signame = "?"
            problems.append("chatd died from signal %d (%s)" % (-rc, signame))
        elif rc > 0 and self.sent_term:
            problems.append("chatd exited with status %d after SIGTERM (expected 0)" % rc)
        text = self.log_text()
        for pat in SANITIZER_PATTERNS:
            if pat in text:
                problems.append("sanitizer report in chatd stderr: %r" % pat)
        try:
            self._logfile.close()
        except OSError:
            pass
        if problems:
            problems.append("argv: %r" % (self.argv,))
            problems.append("chatd stderr (last 80 lines):\n" + "\n".join(self.log[-80:]))
        return problems


@pytest.fixture
def chatd(tmp_path):
    """Factory: chatd(*extra_args, config=None|dict|list|str,
    listen=("127.0.0.1:0",), env=None, wait=True, log_level=None,
    n_listen=None) -> Daemon.

    The daemon is started with `--listen ADDR` for each listen entry (and
    `--config FILE` when config is given) and is ready (its port parsed from
    the log) when this returns.  It is stopped at teardown; the test fails
    if the daemon died from a signal or printed a sanitizer report.
    """
    exe = _chatd_path()
    daemons = []
    share_with_daemon(tmp_path)

    def start(*args, config=None, listen=("127.0.0.1:0",), env=None, wait=True,
              log_level=None, n_listen=None):
        d = Daemon(exe, tmp_path, args, config, listen, env, log_level, n_listen)
        daemons.append(d)
        d.start(wait=wait)
        return d

    yield start

    problems = []
    for d in daemons:
        problems += d.stop_and_check()
    for d in daemons:
        # Shown by pytest only when the test failed.
        print("---- chatd #%d stderr (%s) ----" % (d.idx, " ".join(d.argv)))
        print("\n".join(d.log[-200:]))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(autouse=True)
def _test_alarm():
    """Fail (instead of hang) a test that runs longer than TEST_ALARM_SECONDS."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise ClientError("test exceeded %.0fs (alarm)" % TEST_ALARM_SECONDS)

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TEST_ALARM_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def ipv6_loopback_available():
    if not socket.has_ipv6:
        return False
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def recv_to_eof(sock, timeout=10.0):
    """Every byte sock receives until the peer closes it (EOF, or a reset,
    which ends it with what came before); fails after scaled(timeout)."""
    sock.settimeout(scaled(timeout))
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        except socket.timeout:
            raise ClientError("peer did not close within %.1fs; received %d bytes, "
                              "ending %r" % (scaled(timeout), len(data), data[-200:]))
        if not chunk:
            return data
        data += chunk


class Reader(threading.Thread):
    """Reads everything a client receives until the publisher's `end`
    message in room: keeps the sequence numbers (first word) of the
    publisher's messages in .seqs, the other lines in .others; .done once
    `end` arrived, .error says what went wrong otherwise."""

    def __init__(self, client, publisher_nick, room="#lobby", end="END", seconds=150):
        super().__init__(daemon=True)
        self.c = client
        self.prefix = "MSG %s %s " % (room, publisher_nick)
        self.end = end
        self.seconds = seconds
        self.seqs = []
        self.others = []
        self.done = False
        self.error = None

    def run(self):
        deadline = time.monotonic() + scaled(self.seconds)
        try:
            while time.monotonic() < deadline:
                raw = self.c.try_raw_line(timeout=1.0)
                if raw is None:
                    if self.c.eof:
                        self.error = "connection closed (others: %r)" % self.others[-5:]
                        return
                    continue
                line = raw.decode("utf-8")
                if line.startswith(self.prefix):
                    text = line[len(self.prefix):]
                    if text == self.end:
                        self.done = True
                        return
                    self.seqs.append(int(text.split()[0]))
                else:
                    self.others.append(line)
            self.error = "timed out after %ss with %d messages" % (self.seconds, len(self.seqs))
        except Exception as e:  # reported by the test
            self.error = repr(e)


def wait_until(pred, timeout, interval=0.05):
    """Poll pred until it returns a true value (returned) or scaled(timeout)
    has passed (its last value is returned)."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# Code points the sanitizer replaces although they are not controls: the line
# and paragraph separators, and the bidirectional embeddings, overrides and
# isolates (chatd-protocol(7), SANITIZING).
SPOOFING = frozenset(range(0x2028, 0x202F)) | frozenset(range(0x2066, 0x206A))


def assert_terminal_safe(raw):
    """raw: bytes of one server line without CRLF.  No C0 control, no DEL,
    no C1 control, no bidirectional control or line separator, valid
    UTF-8."""
    for b in raw:
        assert b >= 0x20 and b != 0x7F, "control byte 0x%02x in relayed line %r" % (b, raw)
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AssertionError("relayed line is not valid UTF-8 (%s): %r" % (e, raw))
    for ch in s:
        assert not (0x80 <= ord(ch) <= 0x9F), "C1 control U+%04X in relayed line %r" % (ord(ch), raw)
        assert ord(ch) not in SPOOFING, "U+%04X in relayed line %r" % (ord(ch), raw)
    return s
