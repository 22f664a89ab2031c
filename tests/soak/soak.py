#!/usr/bin/python3
"""Soak test: many connect/chat/disconnect cycles against one chatd, with
the daemon's RSS sampled throughout.  Not part of `meson test` (it takes
about a minute for 100,000 cycles); run it by hand or from CI:

    /usr/bin/python3 tests/soak/soak.py --chatd build/src/chatd
    /usr/bin/python3 tests/soak/soak.py --chatd build/src/chatd --cycles 20000

Each cycle connects, reads the greeting, joins one of a few rooms, says a
line, and disconnects (half the time cleanly, a quarter with /quit, a
quarter by closing at once).  A few observers stay connected in those rooms
and read everything.  At the end the daemon must be alive, count only the
observers, and its RSS must be back within --slack-mib of where it started.
Prints RSS at start, peak and end; exits 1 if anything is wrong.
"""

import argparse
import json
import os
import re
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOMS = ["#soak%d" % i for i in range(8)]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def control(path, command):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall((json.dumps({"version": 1, "command": command}) + "\n").encode())
    buf = b""
    while True:
        data = s.recv(65536)
        if not data:
            break
        buf += data
    s.close()
    return json.loads(buf.decode().splitlines()[-1])["result"]


class Observer(threading.Thread):
    """Stays in one room and reads everything until told to stop."""

    def __init__(self, port, room):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(("/join %s\n" % room).encode())
        self.bytes = 0
        self.stop = False

    def run(self):
        self.sock.settimeout(0.5)
        while not self.stop:
            try:
                data = self.sock.recv(262144)
            except socket.timeout:
                continue
            if not data:
                return
            self.bytes += len(data)


def cycles(port, total, batch, start_index):
    """total cycles, batch at a time; returns how many completed."""
    sel = selectors.DefaultSelector()
    done = 0
    i = start_index
    while done < total:
        n = min(batch, total - done)
        state = {}                      # socket -> [index, greeted, buffer]
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            state[s] = [i, False, b""]
            sel.register(s, selectors.EVENT_READ)
            i += 1
        deadline = time.monotonic() + 60
        while state:
            if time.monotonic() > deadline:
                raise RuntimeError("%d cycles stuck" % len(state))
            for key, _ in sel.select(1.0):
                s = key.fileobj
                k, greeted, buf = state[s]
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                close = not data
                if data and not greeted:
                    buf += data
                    state[s][2] = buf
                    if b"\n" not in buf:
                        continue
                    # greeted: chat, then leave in one of three ways
                    state[s][1] = True
                    how = k % 4
                    msg = ("/join %s\ncycle %d\n" % (ROOMS[k % len(ROOMS)], k)).encode()
                    if how == 1:
                        msg += b"/quit soaked\n"
                    try:
                        s.sendall(msg)
                        if how in (0, 2):
                            s.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    close = how == 3     # at once; else read until EOF
                if not close:
                    continue
                sel.unregister(s)
                s.close()
                del state[s]
                done += 1
    sel.close()
    return done


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chatd", default=os.environ.get("CHATD"),
                    help="path of the chatd binary (default: $CHATD)")
    ap.add_argument("--cycles", type=int, default=100000)
    ap.add_argument("--batch", type=int, default=100,
                    help="cycles in flight at once")
    ap.add_argument("--observers", type=int, default=8)
    ap.add_argument("--slack-mib", type=float, default=8.0,
                    help="how far above its start RSS may end")
    args = ap.parse_args()
    if not args.chatd:
        ap.error("--chatd or $CHATD is needed")

    tmp = tempfile.mkdtemp(prefix="chatd-soak-")
    ctl = os.path.join(tmp, "control.sock")
    conf = os.path.join(tmp, "chatd.conf")
    with open(conf, "w") as f:
        f.write("flood-rate = 100000\nflood-burst = 100000\nmax-per-ip = 0\n"
                "log-level = notice\n")
    env = dict(os.environ)
    for k in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "JOURNAL_STREAM"):
        env.pop(k, None)
    # Under ASan, its default 256 MB quarantine of freed memory would read
    # as growth (as in conftest.py); LeakSanitizer still checks at exit.
    asan = env.get("ASAN_OPTIONS", "")
    if "quarantine_size_mb" not in asan:
        env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "quarantine_size_mb=4"
    proc = subprocess.Popen([args.chatd, "-l", "127.0.0.1:0", "-c", conf,
                             "-C", ctl, "-L", "info"],
                            stderr=subprocess.PIPE, env=env)
    port = None
    deadline = time.monotonic() + 10
    while port is None and time.monotonic() < deadline:
        line = proc.stderr.readline().decode()
        m = re.search(r"listening on [0-9.]+:(\d+)", line)
        if m:
            port = int(m.group(1))
    if port is None:
        print("chatd did not start", file=sys.stderr)
        return 1
    # keep reading stderr so the daemon never blocks on it
    log = []
    threading.Thread(target=lambda: log.extend(iter(proc.stderr.readline, b"")),
                     daemon=True).start()

    observers = [Observer(port, ROOMS[i % len(ROOMS)]) for i in range(args.observers)]
    for o in observers:
        o.start()
    time.sleep(0.5)
    start = rss_kib(proc.pid)
    peak = start
    t0 = time.monotonic()
    print("chatd pid %d, port %d: %d cycles, %d at a time, %d observers"
          % (proc.pid, port, args.cycles, args.batch, args.observers))
    print("%9s %9s %9s" % ("cycles", "seconds", "RSS MiB"))
    print("%9d %9.1f %9.1f" % (0, 0.0, start / 1024.0))
    step = max(args.batch, args.cycles // 20)
    done = 0
    while done < args.cycles:
        n = min(step, args.cycles - done)
        done += cycles(port, n, args.batch, done)
        rss = rss_kib(proc.pid)
        peak = max(peak, rss)
        print("%9d %9.1f %9.1f" % (done, time.monotonic() - t0, rss / 1024.0))
        if proc.poll() is not None:
            print("chatd died: status %s" % proc.returncode)
            return 1
    elapsed = time.monotonic() - t0
    # let the last closes and a heap trim (every 5 s) happen
    settle = time.monotonic() + 15
    while time.monotonic() < settle:
        st = control(ctl, "stats")
        if st["clients"] == args.observers and rss_kib(proc.pid) <= start + args.slack_mib * 1024:
            break
        time.sleep(0.5)
    end = rss_kib(proc.pid)
    st = control(ctl, "stats")
    for o in observers:
        o.stop = True
    ok = True
    print("RSS start %.1f MiB, peak %.1f MiB, end %.1f MiB; %d cycles in %.1f s "
          "(%.0f/s); accepted %d, lines %d, messages %d, delivered %d"
          % (start / 1024.0, peak / 1024.0, end / 1024.0, done, elapsed,
             done / elapsed, st["accepted"], st["lines_in"], st["messages"],
             st["delivered"]))
    if st["clients"] != args.observers:
        print("FAIL: chatd counts %d clients, expected %d" % (st["clients"], args.observers))
        ok = False
    if st["accepted"] != args.cycles + args.observers:
        print("FAIL: accepted %d, expected %d" % (st["accepted"], args.cycles + args.observers))
        ok = False
    if end > start + args.slack_mib * 1024:
        print("FAIL: RSS ended %.1f MiB above its start" % ((end - start) / 1024.0))
        ok = False
    proc.terminate()
    try:
        rc = proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = "killed"
    if rc != 0:
        print("FAIL: chatd exited with %s" % rc)
        ok = False
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
