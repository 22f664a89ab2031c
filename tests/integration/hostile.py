"""Helpers for the hostile and faulty client tests (test_hostile_*.py).

Every hostile test checks the same three things afterwards:
- the daemon is alive and serving (a fresh client can connect and chat),
- bystanders got every message in order while it happened (Witness),
- the daemon's RSS is back near where it started (RssGuard), where RSS
  means something: not under valgrind, not under ASan.
"""

import contextlib
import json
import os
import select
import selectors
import signal
import socket
import threading
import time

from conftest import recv_to_eof, rss_kib, scaled, wait_until

UNDER_WRAPPER = bool(os.environ.get("CHATD_WRAPPER"))

# Fast enough that the flood bucket never paces the test's own clients.
FAST = {"flood-rate": 100000, "flood-burst": 100000, "flood-rate-per-ip": 0,
        "connect-rate-per-ip": 0}


def under_asan(pid):
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "libasan" in f.read()
    except OSError:
        return False


def rss_meaningful(pid):
    """Whether the RSS of process pid is its own: not under a wrapper
    (valgrind: it is the tool's), nor under ASan, which holds freed memory
    in its quarantine and per-size-class caches, returns it when it likes
    and has no malloc_trim (there LeakSanitizer checks for leaks, and the
    daemon's own counters, live(), for what it holds)."""
    return not UNDER_WRAPPER and not under_asan(pid)


class RssGuard:
    """RSS of the daemon at the start; check() waits (a little) for it to
    come back within slack of that, where that means something
    (rss_meaningful); elsewhere check() only prints.

    glibc keeps freed heap pages: after a burst of 200 clients that never
    read, chatd had 116 KB in use but 19 MB of heap.  conn.c gives free
    heap back (malloc_trim) once output has been quiet for a 5 s period, so
    check() waits up to 12 s by default."""

    def __init__(self, d, slack_mib=4):
        self.d = d
        self.start = rss_kib(d.pid)
        self.peak = self.start
        self.meaningful = rss_meaningful(d.pid)
        self.slack_kib = slack_mib * 1024

    def sample(self):
        self.peak = max(self.peak, rss_kib(self.d.pid))
        return self.peak

    def check(self, timeout=12.0):
        if not self.meaningful:
            print("RSS: start %.1f MiB, peak %.1f MiB, now %.1f MiB (not checked)"
                  % (self.start / 1024.0, self.peak / 1024.0,
                     rss_kib(self.d.pid) / 1024.0))
            return
        limit = self.start + self.slack_kib
        end = wait_until(lambda: rss_kib(self.d.pid) <= limit, timeout, 0.2)
        now = rss_kib(self.d.pid)
        print("RSS: start %.1f MiB, peak %.1f MiB, end %.1f MiB"
              % (self.start / 1024.0, self.peak / 1024.0, now / 1024.0))
        assert end, ("daemon RSS did not come back: started at %.1f MiB, peak %.1f MiB, "
                     "now %.1f MiB (slack %.0f MiB)"
                     % (self.start / 1024.0, self.peak / 1024.0, now / 1024.0,
                        self.slack_kib / 1024.0))


class Witness:
    """A publisher and a reader in their own room, chatting in a thread while
    the test does something hostile.  stop() checks that the reader got every
    message, in order, and returns (count, worst latency in seconds)."""

    def __init__(self, d, room="#witness", interval=0.02, text_size=60,
                 keepalive=None):
        self.d = d
        self.room = room
        self.interval = interval
        self.text_size = text_size
        self.keepalive = keepalive      # seconds between reader's blank lines
        self.pub = d.client(name="witness-pub")
        self.rd = d.client(name="witness-reader")
        for c in (self.pub, self.rd):
            c.send("/join " + room)
            c.expect("ROOM " + room)
            # out of the default room: what happens there is not theirs
            c.send("/part " + c.room)
            c.expect("PART " + c.room)
        self.pub.sync()
        self.rd.sync()
        self.sent_at = []
        self.got = []
        self.latencies = []
        self.error = None
        self._stop = threading.Event()
        self._pub_thread = threading.Thread(target=self._publish, daemon=True)
        self._rd_thread = threading.Thread(target=self._read, daemon=True)

    def start(self):
        self._rd_thread.start()
        self._pub_thread.start()
        return self

    def _text(self, i):
        head = "w%06d " % i
        return head + "." * max(0, self.text_size - len(head))

    def _drain_echoes(self):
        # The publisher's own echoes must be read, or it becomes a slow
        # consumer itself.
        s = self.pub.sock
        poll = select.poll()        # select() stops at descriptor 1023
        poll.register(s, select.POLLIN)
        while poll.poll(0):
            if not s.recv(262144):
                raise ConnectionError("publisher disconnected")

    def _publish(self):
        i = 0
        try:
            while not self._stop.is_set():
                self.sent_at.append(time.monotonic())
                self.pub.send(self._text(i))
                i += 1
                self._drain_echoes()
                self._stop.wait(self.interval)
            self.pub.send("END")
        except Exception as e:          # reported by stop()
            self.error = "publisher: %r" % e

    def _read(self):
        prefix = "MSG %s %s " % (self.room, self.pub.nick)
        deadline = time.monotonic() + scaled(600)
        poke = time.monotonic()
        try:
            while time.monotonic() < deadline:
                if self.keepalive and time.monotonic() - poke > self.keepalive:
                    self.rd.send("")        # a blank line: not idle
                    poke = time.monotonic()
                line = self.rd.try_line(timeout=0.2 if self.keepalive else 1.0)
                if line is None:
                    if self.rd.eof:
                        self.error = "reader disconnected: %r" % self.rd.history[-5:]
                        return
                    continue
                if not line.startswith(prefix):
                    continue
                text = line[len(prefix):]
                if text == "END":
                    return
                n = int(text[1:7])
                self.got.append(n)
                if n < len(self.sent_at):
                    self.latencies.append(time.monotonic() - self.sent_at[n])
        except Exception as e:
            self.error = "reader: %r" % e

    def stop(self, timeout=60):
        self._stop.set()
        self._pub_thread.join(scaled(timeout))
        self._rd_thread.join(scaled(timeout))
        assert not self._rd_thread.is_alive(), \
            self.error or "witness reader did not see END"
        assert self.error is None, self.error
        self.pub.close()
        self.rd.close()
        n = len(self.sent_at)
        assert self.got == list(range(n)), (
            "bystander lost or reordered messages: got %d of %d, first gap at %s"
            % (len(self.got), n,
               next((i for i, v in enumerate(self.got) if v != i), len(self.got))))
        if UNDER_WRAPPER:       # valgrind: order is checked, speed is not
            return n, 0.0
        return n, max(self.latencies) if self.latencies else 0.0


def assert_serving(d, room=None):
    """A new client gets in and its message reaches another new client, in
    a new room (or in room, when no room may be made)."""
    a = d.client(name="after-a")
    b = d.client(name="after-b")
    room = room or "#after%d" % a.local_port
    for c in (a, b):
        c.send("/join " + room)
        c.expect("ROOM " + room)
    a.send("still serving")
    b.expect("MSG %s %s still serving" % (room, a.nick))
    a.close()
    b.close()


def control_lines(path, payload, timeout=10.0):
    """Send payload (bytes) on the control socket at path; return the JSON
    lines of the answer, read until the daemon closes.  A daemon that
    refuses a request may close before it read all of it: the answer it
    wrote is still returned."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(scaled(timeout))
    try:
        s.connect(path)
        try:
            s.sendall(payload)
        except OSError:
            pass
        data = recv_to_eof(s, timeout)
    finally:
        s.close()
    return [json.loads(l) for l in data.decode().splitlines() if l.strip()]


def control_request(path, command, *args, timeout=10.0):
    """One admin request on the control socket; returns the final JSON."""
    lines = control_lines(path, (json.dumps({"version": 1, "command": command,
                                             "args": list(args)}) + "\n").encode(),
                          timeout)
    assert lines, "no answer on the control socket"
    return lines[-1]


def stats(path):
    r = control_request(path, "stats")
    assert r.get("ok"), r
    return r["result"]


def wait_clients(path, n, timeout=10.0):
    """Wait until the daemon counts exactly n connections; return stats."""
    last = {}

    def settled():
        last.update(stats(path))
        return last["clients"] == n

    assert wait_until(settled, timeout, 0.1), \
        "daemon still counts %s connections, expected %d" % (last.get("clients"), n)
    return last


# Connections the daemon has taken off its listen queue, whatever became of
# them: served (accepted) or refused.
HANDLED = ("accepted", "refused_full", "refused_per_ip", "refused_banned")


# What chatd counts alive now (stats): back at its baseline after a hostile
# test, where RSS cannot say (the allocator keeps freed memory, ASan
# quarantines it).
LIVE = ("clients", "sessions", "rooms", "messages_live", "held_bytes")


def live(path):
    """chatd's live counters (LIVE), from the control socket at path."""
    st = stats(path)
    return {k: st[k] for k in LIVE}


def wait_live(path, want, timeout=10.0):
    """Wait until chatd's live counters equal want (a dict of some of
    them); return all of them."""
    last = {}

    def settled():
        last.update(live(path))
        return all(last[k] == v for k, v in want.items())

    assert wait_until(settled, timeout, 0.1), \
        "chatd's live counters are %r, expected %r" % (last, want)
    return last


def churn(port, control, total, batch=200, payload=None, linger0=False,
          read_first=False, graceful=False, host="127.0.0.1", timeout=30.0):
    """Open and close `total` connections, `batch` at a time, with
    non-blocking sockets, and after each batch wait until the daemon has
    taken every one of them and counts no more connections than before
    (stats on the control socket `control`): at most one batch is ever in
    flight, however slow the daemon.  payload: bytes sent once connected
    (None: send nothing).  linger0: close with RST.  read_first: wait for
    the first bytes (the greeting) before closing.  graceful: after the
    payload, shut down writing and read until the daemon closes, so every
    line sent is handled (a close with unread data is an RST, which may
    discard the daemon's unread input).  timeout: for each batch to
    connect, and again for the daemon to catch up.  Returns how many
    connected."""
    before = stats(control)
    handled0 = sum(before[k] for k in HANDLED)
    connected = 0
    sel = selectors.DefaultSelector()
    done = 0
    while done < total:
        deadline = time.monotonic() + scaled(timeout)
        n = min(batch, total - done)
        socks = []
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            if linger0:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             b"\x01\x00\x00\x00\x00\x00\x00\x00")
            err = s.connect_ex((host, port))
            assert err in (0, 115), os.strerror(err)       # EINPROGRESS
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE, "connect")
        pending = set(socks)
        while pending:
            left = deadline - time.monotonic()
            assert left > 0, "churn: %d connections still pending" % len(pending)
            for key, ev in sel.select(min(left, 1.0)):
                s = key.fileobj
                if key.data == "connect":
                    sel.unregister(s)
                    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                        connected += 1
                        if payload:
                            try:
                                s.send(payload)
                            except OSError:
                                pass
                        if graceful:
                            s.shutdown(socket.SHUT_WR)
                            sel.register(s, selectors.EVENT_READ, "eof")
                            continue
                        if read_first:
                            sel.register(s, selectors.EVENT_READ, "read")
                            continue
                    pending.discard(s)
                else:
                    try:
                        data = s.recv(262144)
                    except OSError:
                        data = b""
                    if key.data == "eof" and data:
                        continue            # until the daemon closes
                    sel.unregister(s)
                    pending.discard(s)
        for s in socks:
            s.close()
        done += n
        last = {}

        def caught_up():
            last.update(stats(control))
            return (sum(last[k] for k in HANDLED) - handled0 >= connected
                    and last["clients"] <= before["clients"])

        assert wait_until(caught_up, timeout, 0.02), (
            "churn: the daemon took %d of %d connections and counts %d (%d before)"
            % (sum(last[k] for k in HANDLED) - handled0, connected,
               last["clients"], before["clients"]))
    sel.close()
    return connected


def crowd(port, n, room_of=None, batch=200, host="127.0.0.1", timeout=60.0):
    """Connect n clients that leave the default room at once (or move to
    room_of(i)), so that later arrivals cost no fan-out to them; returns
    their sockets, in connection order.  They are never read again: nothing
    is sent to a client alone in its room, or in none."""
    socks = []
    deadline = time.monotonic() + scaled(timeout)
    sel = selectors.DefaultSelector()
    for first in range(0, n, batch):
        todo = {}
        for i in range(first, min(n, first + batch)):
            s = socket.create_connection((host, port), timeout=scaled(10))
            cmd = b"/part\n" if room_of is None else \
                ("/join %s\n/part #lobby\n" % room_of(i)).encode()
            s.sendall(cmd)
            socks.append(s)
            todo[s] = b""
            sel.register(s, selectors.EVENT_READ)
        while todo:
            assert time.monotonic() < deadline, "crowd: %d of %d" % (len(socks), n)
            for key, _ in sel.select(1.0):
                s = key.fileobj
                data = s.recv(65536)
                assert data, "crowd: a client was closed: %r" % todo[s][-200:]
                todo[s] += data
                if b"PART #lobby" in todo[s]:
                    del todo[s]
                    sel.unregister(s)
    sel.close()
    return socks
def source_addresses(second_octet, n):
    """n loopback source addresses 127.SECOND.0.1, .0.2, ...: on Linux any
    of 127.0.0.0/8 reaches a daemon on 127.0.0.1, and each is a host of its
    own to chatd (its own max-per-ip, connect and flood buckets, share)."""
    return ["127.%d.%d.%d" % (second_octet, 1 + i // 250, 1 + i % 250)
            for i in range(n)]


def send_nonblocking(sock, data, timeout):
    """Send all of data on a non-blocking socket within timeout seconds;
    returns how many bytes went (fewer when the peer stopped reading)."""
    view = memoryview(data)
    sent = 0
    poll = select.poll()            # select() stops at descriptor 1023
    poll.register(sock, select.POLLOUT)
    deadline = time.monotonic() + timeout
    while sent < len(view):
        left = deadline - time.monotonic()
        if left <= 0 or not poll.poll(left * 1000):
            break
        try:
            sent += sock.send(view[sent:])
        except BlockingIOError:
            continue
        except OSError:
            break
    return sent


class Members:
    """n clients that stay in the daemon's default room and read (crowd's
    never read), connected from `sources` (at most per_source from each,
    within max-per-ip and the connect burst) and read as fast as the
    kernel gives by one selector thread (a thread per socket would not
    scale to thousands).

    keep(raw_line) says what to record of each line the daemon sends
    (None: nothing) in .kept[i]; .nicks[i] is member i's nick from its
    HELLO, .eof[i] whether the daemon closed it, .rx[i] bytes received."""

    def __init__(self, d, n, sources, per_source=100, keep=None, rcvbuf=None,
                 timeout=30.0, name="member"):
        assert len(sources) * per_source >= n, "not enough source addresses"
        self.d = d
        self.name = name
        self.keep = keep
        self.socks = []
        self.nicks = [None] * n
        self.kept = [[] for _ in range(n)]
        self.lines = [0] * n
        self.rx = [0] * n
        self.eof = [False] * n
        self._bufs = [bytearray() for _ in range(n)]
        self._stop = threading.Event()
        self._sel = selectors.DefaultSelector()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error = None
        d.clients.append(self)          # closed with the daemon's clients
        self._thread.start()
        # A batch at a time: more than the listen backlog (511) at once
        # overflows it, and the kernel retries the rest for many seconds.
        for first in range(0, n, 250):
            for i in range(first, min(n, first + 250)):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                if rcvbuf is not None:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
                s.bind((sources[i // per_source], 0))
                s.setblocking(False)
                err = s.connect_ex(("127.0.0.1", d.port))
                assert err in (0, 115), os.strerror(err)    # EINPROGRESS
                self.socks.append(s)
                self._sel.register(s, selectors.EVENT_READ, i)
            assert wait_until(lambda: all(self.nicks[:len(self.socks)]) or self.error,
                              timeout, 0.02), \
                "%s: %d of %d got no HELLO within %.0fs" % (
                    name, self.nicks.count(None), len(self.socks), timeout)
            assert self.error is None, self.error
            assert not any(self.eof), "%s: %d closed at connect" % (name, sum(self.eof))

    def __len__(self):
        return len(self.socks)

    def _lines(self, i, data):
        buf = self._bufs[i]
        buf += data
        end = buf.rfind(b"\n")
        if end < 0:
            return
        chunk = bytes(buf[:end + 1])
        del buf[:end + 1]
        lines = chunk.split(b"\r\n")
        lines.pop()                     # after the last CRLF
        self.lines[i] += len(lines)
        if self.nicks[i] is None:
            hello = lines[0].split(b" ", 3)
            assert hello[0] == b"HELLO", "%s %d: first line %r" % (self.name, i, lines[0])
            self.nicks[i] = hello[1].decode()
        keep = self.keep
        if keep is not None:
            kept = self.kept[i]
            for line in lines:
                v = keep(line)
                if v is not None:
                    kept.append(v)

    def _run(self):
        chunk = bytearray(262144)
        view = memoryview(chunk)
        try:
            while not self._stop.is_set():
                for key, _ in self._sel.select(0.2):
                    i = key.data
                    try:
                        n = key.fileobj.recv_into(chunk)
                    except BlockingIOError:
                        continue
                    except OSError:
                        n = 0
                    if n == 0:
                        self.eof[i] = True
                        self._sel.unregister(key.fileobj)
                        continue
                    self.rx[i] += n
                    self._lines(i, view[:n])
        except Exception as e:      # reported by the test
            self.error = "%s reader: %r" % (self.name, e)

    def send(self, i, data, timeout=10.0):
        """Send data on member i (the reader thread keeps reading it)."""
        return send_nonblocking(self.socks[i], data, timeout)

    def count(self, pred=None):
        """How many members have pred(kept list) true (all, without pred)."""
        return sum(1 for k in self.kept if pred is None or pred(k))

    def wait_kept(self, n, timeout):
        """Wait until every member kept n items, or one was closed or the
        reader failed; True if every member has n."""
        wait_until(lambda: self.error or any(self.eof) or
                   all(len(k) >= n for k in self.kept), timeout, 0.05)
        return all(len(k) >= n for k in self.kept)

    def closed(self):
        return [i for i, e in enumerate(self.eof) if e]

    def close(self):
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(scaled(5))
        self._sel.close()
        for s in self.socks:
            s.close()


class Watch:
    """Samples the daemon's stats (control socket) and RSS in a thread
    while something happens; .peak(key) is the highest value seen,
    .rss_peak_kib the highest RSS.  A stats key the daemon does not have
    is simply never seen (peak() says None).  Samples are 20 ms apart: a
    peak shorter than that may be missed (RSS keeps it)."""

    def __init__(self, d, ctl, interval=0.02):
        self.d = d
        self.ctl = ctl
        self.interval = interval
        self.first = stats(ctl)
        self.peaks = dict(self.first)
        self.rss_start_kib = rss_kib(d.pid)
        self.rss_peak_kib = self.rss_start_kib
        self.samples = 0
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def sample(self):
        now = stats(self.ctl)
        for k, v in now.items():
            if isinstance(v, int) and v > self.peaks.get(k, v - 1):
                self.peaks[k] = v
        self.rss_peak_kib = max(self.rss_peak_kib, rss_kib(self.d.pid))
        self.samples += 1
        return now

    def _run(self):
        try:
            while not self._stop.wait(self.interval):
                self.sample()
        except Exception as e:      # reported by stop()
            self.error = "stats sampler: %r" % e

    def peak(self, key):
        return self.peaks.get(key)

    def stop(self):
        self._stop.set()
        self._thread.join(scaled(15))
        last = self.sample()
        assert self.error is None, self.error
        return last


@contextlib.contextmanager
def daemon_stopped(d):
    """The daemon stopped (SIGSTOP) while the block runs: whatever is sent
    meanwhile is read in one loop iteration, as on a busy machine."""
    d.proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        d.proc.send_signal(signal.SIGCONT)


def keep_lines(prefix, who, tag=None):
    """keep() for Members: (word `who`, the first 16 bytes of word `tag`,
    the line's length, when it came) of each line that starts with prefix.
    In "MSG #room NICK TEXT" the speaker is word 2 and the text's first
    word 3; in "PRIV FROM TO TEXT" they are words 1 and 3."""
    def keep(line):
        if not line.startswith(prefix):
            return None
        parts = line.split(b" ", max(who, tag or 0) + 1)
        return (parts[who], parts[tag][:16] if tag is not None else b"",
                len(line), time.monotonic())
    return keep


def assert_held(watch, bound):
    """held_bytes (chatd's own accounting) never rose above bound bytes nor
    above max-memory; RSS, where it means something (not under valgrind or
    ASan), grew by no more than bound plus 32 MiB of allocator slack."""
    held = watch.peak("held_bytes")
    print("held_bytes: before %s, peak %s (bound %d); RSS %.1f -> peak %.1f MiB"
          % (watch.first.get("held_bytes"), held, bound,
             watch.rss_start_kib / 1024.0, watch.rss_peak_kib / 1024.0))
    if rss_meaningful(watch.d.pid):
        grew = (watch.rss_peak_kib - watch.rss_start_kib) * 1024
        assert grew <= bound + 32 * 1024 * 1024, "RSS grew by %d bytes" % grew
    assert held is not None, "chatd does not say what it holds (held_bytes)"
    assert held <= bound, "held_bytes peaked at %d, above %d" % (held, bound)
    assert held <= watch.first["max_memory_bytes"]
