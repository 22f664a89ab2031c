#!/usr/bin/python3
"""storm.py BUILDDIR: a connect storm of N clients into one room and a
mass disconnect, with announce-members-max off (every join and quit told
to every member, as before issue 13) and on (100), for growing N; prints
a markdown table of the daemon's CPU seconds per phase and how they grow
with N.  O(N) work doubles when N doubles, O(N^2) quadruples.  It
measures and prints; it never fails on a figure.  Traffic stays on
127.0.0.0/8, each run is bounded (storm's alarm), and every chatd it
starts is stopped by PID.

Environment: STORM_CLIENTS ("1000 2500 5000 10000"), STORM_REPS (1),
STORM_ANNOUNCE (100: announce-members-max in the "on" runs)."""
import os
import platform
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
CHATD = os.path.join(BUILD, "src", "chatd")
STORM = os.path.join(BUILD, "tests", "bench", "storm")
SIZES = [int(n) for n in os.environ.get("STORM_CLIENTS", "1000 2500 5000 10000").split()]
REPS = int(os.environ.get("STORM_REPS", "1"))
ANNOUNCE = int(os.environ.get("STORM_ANNOUNCE", "100"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(n, announce, work):
    port = free_port()
    conf = os.path.join(work, "chatd.conf")
    with open(conf, "w") as f:
        f.write("listen = 127.0.0.1:%d\n" % port)
        for k, v in (("max-clients", n + 100), ("max-per-ip", 0),
                     ("connect-rate-per-ip", 0), ("flood-rate-per-ip", 0),
                     ("max-memory", "8g"), ("max-memory-per-ip", 0),
                     ("sendq-hard", "16m"), ("sendq-soft", "8m"),
                     ("announce-members-max", announce), ("log-level", "warning")):
            f.write("%s = %s\n" % (k, v))
    log = open(os.path.join(work, "chatd-%d-%d.log" % (n, announce)), "w")
    d = subprocess.Popen([CHATD, "--config", conf], stderr=log)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        time.sleep(0.3)     # the probe's quit is done
        run = subprocess.run([STORM, "--port", str(port), "--pid", str(d.pid),
                              "--clients", str(n), "--label", "a%d" % announce],
                             capture_output=True, text=True, timeout=700)
        out = run.stdout
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=30)
        log.close()
    m = re.search(r"^RESULT (.*)$", out, re.M)
    if not m:
        raise SystemExit("storm printed no RESULT: %r %r" % (out, run.stderr))
    return dict(kv.split("=", 1) for kv in m.group(1).split())


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ver = subprocess.run([CHATD, "--version"], capture_output=True,
                         text=True).stdout.strip()
    return "%s, %d x %s, Linux %s, %s" % (platform.node(), os.cpu_count(), cpu,
                                          platform.release(), ver)


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = max(SIZES) + 200
    if hard < need:
        raise SystemExit("storm.py: the open file limit (%d) is below %d" % (hard, need))
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results = {}
    with tempfile.TemporaryDirectory(prefix="chatd-storm-") as work:
        for _ in range(REPS):
            for n in SIZES:
                for a in (0, ANNOUNCE):
                    r = run(n, a, work)
                    results.setdefault((n, a), []).append(r)
                    print("# n=%d announce-members-max=%d: %s" % (n, a, r), flush=True)
    med = lambda rs, k: sorted(float(r[k]) for r in rs)[len(rs) // 2]
    print()
    print("**%s**" % machine())
    print()
    print("| clients | phase | daemon CPU s, off | daemon CPU s, on (%d) | on/off "
          "| growth off | growth on | bytes read, off | bytes read, on | cut, off | cut, on |"
          % ANNOUNCE)
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    prev = None
    for n in SIZES:
        off, on = results[(n, 0)], results[(n, ANNOUNCE)]
        for phase in ("join", "quit"):
            k = phase + "_cpu_s"
            grow = ""
            if prev is not None:
                p_off, p_on = results[(prev, 0)], results[(prev, ANNOUNCE)]
                g = lambda now, before: ("%.1fx" % (med(now, k) / med(before, k))
                                         if med(before, k) > 0 else "-")
                grow = (g(off, p_off), g(on, p_on))
            print("| %d | %s | %.2f | %.2f | %s | %s | %s | %s | %s | %s | %s |" % (
                n, "connect storm" if phase == "join" else "mass disconnect",
                med(off, k), med(on, k),
                "%.2fx" % (med(on, k) / med(off, k)) if med(off, k) > 0 else "-",
                grow[0] if grow else "", grow[1] if grow else "",
                "%.1f MB" % (med(off, "bytes") / 1e6) if phase == "join" else "",
                "%.1f MB" % (med(on, "bytes") / 1e6) if phase == "join" else "",
                off[0]["cut"] if phase == "join" else "",
                on[0]["cut"] if phase == "join" else ""))
        prev = n
    print()
    print("growth: this row's CPU over the previous size's (N x %s): O(N) work "
          "grows as N does, O(N^2) as its square." % "/".join(
              "%.1f" % (b / a) for a, b in zip(SIZES, SIZES[1:])))


if __name__ == "__main__":
    main()
