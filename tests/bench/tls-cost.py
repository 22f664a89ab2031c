#!/usr/bin/python3
"""What one TLS client costs chatd in RSS: N idle established TLS clients,
then N clients stuck in their handshake (ClientHello sent, nothing more),
each measured in a fresh daemon.  conn-private.h charges these figures to a
client's host.  It measures and prints; it asserts nothing.

    /usr/bin/python3 tests/bench/tls-cost.py build/src/chatd [N]
"""
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time


def start(exe, work):
    conf = os.path.join(work, "chatd.conf")
    with open(conf, "w") as f:
        f.write("max-per-ip = 0\nconnect-rate-per-ip = 0\n"
                "flood-rate-per-ip = 0\nmax-clients = 100000\n")
    p = subprocess.Popen([exe, "-c", conf, "-l", "127.0.0.1:0",
                          "--listen-tls", "127.0.0.1:0",
                          "--tls-cert", os.path.join(work, "c.pem"),
                          "--tls-key", os.path.join(work, "k.pem")],
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+) \(TLS\)",
                      p.stderr.readline())
        if m:
            return p, int(m.group(1))
    p.kill()
    sys.exit("chatd did not start")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def established(port):
    t = client_context().wrap_socket(socket.create_connection(("127.0.0.1", port)))
    t.recv(100)                     # HELLO: the handshake is done
    return t


def pending(port):
    s = socket.create_connection(("127.0.0.1", port))
    inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = client_context().wrap_bio(inb, outb)
    try:
        o.do_handshake()
    except ssl.SSLWantReadError:
        pass
    s.sendall(outb.read())          # the ClientHello, and nothing after
    return (s, o)


def measure(exe, work, make, n):
    p, port = start(exe, work)
    try:
        time.sleep(0.5)
        before = rss_kib(p.pid)
        held = [make(port) for _ in range(n)]
        time.sleep(1.5)
        after = rss_kib(p.pid)
        del held
        return (after - before) / n
    finally:
        p.terminate()
        p.wait(10)


def main():
    exe = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-subj", "/CN=bench", "-keyout", os.path.join(work, "k.pem"),
                        "-out", os.path.join(work, "c.pem")],
                       check=True, capture_output=True)
        idle = measure(exe, work, established, n)
        hand = measure(exe, work, pending, n)
    print("| TLS client, %d at once | chatd RSS per client |" % n)
    print("|---|---|")
    print("| established, idle | %.1f KiB |" % idle)
    print("| in its handshake (ClientHello sent) | %.1f KiB |" % hand)


if __name__ == "__main__":
    main()
