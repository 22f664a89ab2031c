#!/usr/bin/python3
"""What read-only `clients` costs chatd, and what one answer holds.

    /usr/bin/python3 tests/bench/control-cost.py --chatd build/src/chatd

Starts chatd with an admin and a read-only control socket, connects
--clients plain clients (each alone, out of every room), then measures:

1. daemon CPU per read-only `clients` request, and wall time, over
   --requests sequential requests (the bucket is made large enough not to
   refuse them, where chatd has control-readonly-rate);
2. the daemon's CPU share while --loops processes loop on read-only
   `clients` for --seconds (with the default control-readonly-rate where
   there is one: this is what a local user can take);
3. on a fresh daemon with --memory-clients clients, the RSS and its peak
   (VmHWM) before and while one `clients` answer waits for a reader that
   does not read, and after it has read it.

It prints figures; it never fails on one.  Works against chatd 0.1 too.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from conftest import daemon_env, format_config, wait_until  # noqa: E402
from hostile import crowd, wait_clients  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def request(path, command):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(path)
    s.sendall((json.dumps({"version": 1, "command": command}) + "\n").encode())
    data = b""
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data)


class Chatd:
    def __init__(self, exe, workdir, config):
        self.dir = tempfile.mkdtemp(prefix="ctlcost-", dir=workdir)
        os.chmod(self.dir, 0o755)       # for the loops' other uids
        self.admin = os.path.join(self.dir, "admin.sock")
        self.ro = os.path.join(self.dir, "ro.sock")
        conf = dict(config, control=self.admin, **{"control-readonly": self.ro,
                                                     "max-per-ip": 0})
        self.conf = os.path.join(self.dir, "chatd.conf")
        with open(self.conf, "w") as f:
            f.write(format_config(conf))
        self.log = open(os.path.join(self.dir, "stderr"), "w+")
        self.proc = subprocess.Popen([exe, "-l", "127.0.0.1:0", "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.log, env=daemon_env())
        assert wait_until(self._port, 10), "chatd did not start"

    def _port(self):
        self.log.seek(0)
        for line in self.log:
            if "listening on 127.0.0.1:" in line:
                self.port = int(line.rsplit(":", 1)[1])
                return True
        assert self.proc.poll() is None, "chatd exited:\n" + open(self.log.name).read()
        return False

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def knows(exe, workdir, key, value):
    """Whether this chatd has the config key (older ones refuse it)."""
    conf = os.path.join(workdir, "probe.conf")
    with open(conf, "w") as f:
        f.write("%s = %s\n" % (key, value))
    return subprocess.run([exe, "-t", "-c", conf], capture_output=True).returncode == 0


LOOP = r"""
import json, socket, sys, time
path, seconds = sys.argv[1], float(sys.argv[2])
ok = refused = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    try:
        s.sendall(b'{"version":1,"command":"clients"}\n')
    except OSError:
        pass
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(1 << 20)
        if not d:
            break
        buf += d
    s.close()
    if json.loads(buf)["ok"]:
        ok += 1
    else:
        refused += 1
print(ok, refused)
"""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--chatd", required=True)
    p.add_argument("--clients", type=int, default=2000)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--loops", type=int, default=4)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--memory-clients", type=int, default=5000)
    a = p.parse_args()
    exe = os.path.abspath(a.chatd)
    work = tempfile.mkdtemp(prefix="ctlcost-")
    os.chmod(work, 0o755)
    rate_key = knows(exe, work, "control-readonly-rate", 1000)
    # thousands of clients from one address, at once
    crowd_conf = {"max-clients": 20000}
    for key in ("connect-rate-per-ip", "flood-rate-per-ip"):
        if knows(exe, work, key, 0):
            crowd_conf[key] = 0
    print("chatd %s (control-readonly-rate: %s)" % (exe, "yes" if rate_key else "no"))

    # 1. cost per request, unthrottled
    d = Chatd(exe, work, dict(crowd_conf, **({"control-readonly-rate": 10000000}
                                            if rate_key else {})))
    socks = crowd(d.port, a.clients)
    wait_clients(d.admin, a.clients)
    rows = len(request(d.ro, "clients")["result"]["clients"])
    cpu0, t0 = cpu_seconds(d.proc.pid), time.monotonic()
    for _ in range(a.requests):
        request(d.ro, "clients")
    cpu, wall = cpu_seconds(d.proc.pid) - cpu0, time.monotonic() - t0
    print("1. read-only clients at %d clients (%d rows): %.2f ms daemon CPU, "
          "%.2f ms wall per request (%d requests)"
          % (a.clients, rows, 1000 * cpu / a.requests, 1000 * wall / a.requests,
             a.requests))
    d.stop()
    for s in socks:
        s.close()

    # 2. loops, with the default budget
    d = Chatd(exe, work, crowd_conf)
    socks = crowd(d.port, a.clients)
    wait_clients(d.admin, a.clients)
    cpu0, t0 = cpu_seconds(d.proc.pid), time.monotonic()
    loops = [subprocess.Popen(["setpriv", "--reuid=%d" % (65534 - i), "--regid=65534",
                               "--clear-groups", sys.executable, "-c", LOOP, d.ro,
                               str(a.seconds)], stdout=subprocess.PIPE, env=daemon_env())
             if os.geteuid() == 0 else
             subprocess.Popen([sys.executable, "-c", LOOP, d.ro, str(a.seconds)],
                              stdout=subprocess.PIPE, env=daemon_env())
             for i in range(a.loops)]
    counts = [tuple(map(int, l.communicate()[0].split())) for l in loops]
    cpu, wall = cpu_seconds(d.proc.pid) - cpu0, time.monotonic() - t0
    print("2. %d loops of read-only clients at %d clients for %.1f s (%s): daemon CPU "
          "%.0f%% of a core; answers %d, refused %d"
          % (a.loops, a.clients, wall, "one uid each" if os.geteuid() == 0 else "one uid",
             100 * cpu / wall, sum(c[0] for c in counts), sum(c[1] for c in counts)))
    d.stop()
    for s in socks:
        s.close()

    # 3. memory for one answer
    d = Chatd(exe, work, dict(crowd_conf, **({"control-readonly-rate": 10000000}
                                            if rate_key else {})))
    socks = crowd(d.port, a.memory_clients)
    wait_clients(d.admin, a.memory_clients)
    time.sleep(1)
    before = status_kib(d.proc.pid, "VmRSS"), status_kib(d.proc.pid, "VmHWM")
    r = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    r.connect(d.admin)
    r.sendall(b'{"version":1,"command":"clients"}\n')
    time.sleep(2)
    stalled = status_kib(d.proc.pid, "VmRSS"), status_kib(d.proc.pid, "VmHWM")
    size = 0
    while True:
        chunk = r.recv(1 << 20)
        if not chunk:
            break
        size += len(chunk)
    r.close()
    after = status_kib(d.proc.pid, "VmRSS"), status_kib(d.proc.pid, "VmHWM")
    print("3. one clients answer at %d clients (%.0f KiB), reader stalled: RSS %d -> %d "
          "KiB (+%d), peak %d -> %d KiB (+%d); after reading: RSS %d KiB, peak %d KiB"
          % (a.memory_clients, size / 1024, before[0], stalled[0], stalled[0] - before[0],
             before[1], stalled[1], stalled[1] - before[1], after[0], after[1]))
    d.stop()
    for s in socks:
        s.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
