"""Big admin answers: `clients` and `rooms` are produced a piece at a time as
the peer reads them, so the daemon holds a bounded part of the answer
however many clients there are, and clients and rooms may come and go in
between; the answer stays one JSON line.  chatctl prints a table of them in
memory that does not grow with rows x columns.

The regressions: chatd 0.1 built the whole answer as one jansson tree and
queued it whole; chatctl allocated rows x columns x 1 KiB for the table
(0.9 GB at 100,000 clients).
"""

import fcntl
import json
import resource
import socket
import struct
import subprocess

from conftest import daemon_env, recv_to_eof, scaled, wait_until
from hostile import FAST, assert_serving, control_request, crowd, wait_clients
from test_chatctl import chatctl_exe

SIOCINQ = 0x541B
# thousands of clients from one address, at once
CROWD = dict(FAST, **{"max-per-ip": 0, "max-clients": 20000, "max-rooms": 20000})


def made_before_a_stall(row_bytes):
    """Rows the daemon can have made for a reader that reads nothing: one
    piece (64 KiB) and what its socket holds (sndbuf, and an skb more)."""
    with open("/proc/sys/net/core/wmem_default") as f:
        sndbuf = int(f.read())
    return (65536 + 2 * sndbuf) // row_bytes


def inq(s):
    return struct.unpack("i", fcntl.ioctl(s.fileno(), SIOCINQ, b"\0\0\0\0"))[0]


def ask(path, command):
    """A request whose answer is not read yet."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(scaled(30))
    s.connect(path)
    s.sendall((json.dumps({"version": 1, "command": command}) + "\n").encode())
    assert wait_until(lambda: inq(s) > 0, 10), "no answer begun"
    return s


def read_answer(s):
    data = recv_to_eof(s, 30)
    s.close()
    assert data.endswith(b"\n") and data.count(b"\n") == 1, data[-200:]
    return json.loads(data)


def test_clients_answer_is_made_as_it_is_read(chatd, tmp_path):
    admin = str(tmp_path / "ctl.sock")
    d = chatd("--control", admin, config=CROWD)
    keep = max(2500, 2 * made_before_a_stall(150))
    n = keep + 1500
    socks = crowd(d.port, n)
    ids = [c["id"] for c in control_request(admin, "clients")["result"]["clients"]]
    assert len(ids) == n and ids == sorted(ids)
    # The reader stalls after the first bytes: what the daemon has made so
    # far fits its piece and the socket buffer, far fewer rows than keep.
    reader = ask(admin, "clients")
    for s in socks[keep:]:
        s.close()
    wait_clients(admin, keep)
    answer = read_answer(reader)
    assert answer["ok"] is True
    got = [c["id"] for c in answer["result"]["clients"]]
    # every client that stayed, once, in order; none of those that left
    # before their piece was made
    assert got == ids[:keep], (len(got), got[-3:], ids[keep - 3:keep])
    assert all(c["state"] == "open" and c["rooms"] == [] for c in answer["result"]["clients"])

    assert_serving(d)


def asan_build(exe):
    with open(exe, "rb") as f:
        return b"__asan_init" in f.read()


def test_chatctl_table_memory(chatd, tmp_path):
    """chatctl prints 4,000 rows within 32 MiB of data: chatd 0.1's took 11
    KiB a row (11 columns of 1 KiB) for the table alone, 44 MiB here."""
    admin = str(tmp_path / "ctl.sock")
    d = chatd("--control", admin, config=CROWD)
    n = 4000
    socks = crowd(d.port, n)
    exe = chatctl_exe()
    limit = None if asan_build(exe) else 32 << 20    # ASan maps its shadow

    def cap():
        if limit:
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    r = subprocess.run([exe, "-s", admin, "clients"], capture_output=True, timeout=scaled(60),
                       env=daemon_env(), preexec_fn=cap)
    assert r.returncode == 0, r.stderr
    table = r.stdout.decode().splitlines()
    assert len(table) == n + 1 and table[0].split()[:2] == ["ID", "NICK"], table[:3]
    widths = {len(l) for l in table[1:]}
    assert len(widths) == 1, widths         # aligned: the widths were measured
    assert len(socks) == n


def test_rooms_answer_is_made_as_it_is_read(chatd, tmp_path):
    admin = str(tmp_path / "ctl.sock")
    d = chatd("--control", admin, config=CROWD)
    keep = max(3000, 2 * made_before_a_stall(110))
    n = keep + 2000
    socks = crowd(d.port, n, room_of=lambda i: "#r%05d" % i)
    names = [r["name"] for r in control_request(admin, "rooms")["result"]["rooms"]]
    assert names == ["#lobby"] + ["#r%05d" % i for i in range(n)]
    reader = ask(admin, "rooms")
    for s in socks[keep:]:
        s.close()       # their rooms go with them
    wait_clients(admin, keep)
    assert wait_until(lambda: control_request(admin, "status")["result"]["rooms"] == keep + 1,
                      10)
    answer = read_answer(reader)
    got = [r["name"] for r in answer["result"]["rooms"]]
    assert got == names[:keep + 1], (len(got), got[-3:])
    assert_serving(d)


def test_a_reader_that_takes_nothing_is_cut(chatd, tmp_path):
    """An answer waiting for a reader that takes nothing of it for 10 s is
    dropped, and the chat goes on."""
    admin = str(tmp_path / "ctl.sock")
    d = chatd("--control", admin, config=CROWD)
    # twice what the daemon's piece and the socket hold
    socks = crowd(d.port, 2 * made_before_a_stall(180))
    mark = d.log_mark()
    reader = ask(admin, "clients")
    d.wait_log(r"control: client \d+ \(uid 0\) stopped reading: closed", start=mark,
               timeout=30)
    reader.close()
    assert_serving(d)
    assert len(control_request(admin, "clients")["result"]["clients"]) == len(socks)
