"""What local users can hold or cost through the control sockets.

The regressions (chatd 0.1): two unprivileged users held all 64 control
connections by trickling a byte every few seconds (the request deadline
restarted on every byte), so root's `chatctl status` was refused; and loops
of read-only `clients` could hold a core.  Now a request is due 10 seconds
after connecting, each socket has its own pool with a share per user, the
admin socket keeps places for root, and read-only answers are paid for from
a per-user budget of rows.

Needs root: the hostile users are other uids (setpriv).
"""

import grp
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import daemon_env, scaled, write_config
from hostile import FAST, assert_serving, control_request
from test_chatctl import NOBODY, Ctl, as_uid, ctl_dir  # noqa: F401 (fixture)

CONTROL_TIMEOUT = 10      # seconds from connecting to the request line
PER_UID = 8               # connections per user and socket
POOL = 64                 # connections per socket
ROOT_RESERVE = 16         # of the admin socket's, for root only

# Runs as some uid: open N connections to PATH, and send one byte of a
# request every INTERVAL seconds on each, never the end of the line.
# Prints {"open": n, "refused": {code: n}} once the refusals are in, then
# {"cut": [[code, seconds after connecting], ...]} when every connection has
# been answered or after LIMIT seconds.
HOLDER = r"""
import json, select, socket, sys, time
path, n, interval, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
expect_open = int(sys.argv[5])
req = b'{"version":1,"command":"status"}'      # no newline: never complete
conns = {}
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    conns[s] = [time.monotonic(), 0, b""]
answers = []
start = time.monotonic()
last = 0
reported = False
while conns and time.monotonic() - start < limit:
    if time.monotonic() - last >= interval:
        last = time.monotonic()
        for s, st in list(conns.items()):
            if st[1] < len(req) - 1:
                try:
                    s.send(req[st[1]:st[1] + 1])
                    st[1] += 1
                except OSError:
                    pass
    r, _, _ = select.select(list(conns), [], [], 0.1)
    for s in r:
        data = s.recv(65536)
        conns[s][2] += data
        t0, _, buf = conns[s]
        if data and not buf.endswith(b"\n"):
            continue
        code = json.loads(buf)["code"] if buf else "eof"
        answers.append([code, time.monotonic() - t0])
        s.close()
        del conns[s]
    if not reported and (len(conns) <= expect_open and time.monotonic() - start > 0.3
                         or time.monotonic() - start > 5):
        refused = {}
        for code, _ in answers:
            refused[code] = refused.get(code, 0) + 1
        print(json.dumps({"open": len(conns), "refused": refused}), flush=True)
        answers.clear()
        reported = True
if not reported:
    print(json.dumps({"open": 0, "refused": {c: sum(1 for a in answers if a[0] == c)
                                            for c, _ in answers}}), flush=True)
    answers.clear()
print(json.dumps({"cut": answers, "left": len(conns)}), flush=True)
"""

# Runs as some uid: ask PATH for `clients` over and over for SECONDS;
# print {"rows": n, "answers": n, "refused": {code: n}, "message": m}.
LOOPER = r"""
import json, socket, sys, time
path, seconds = sys.argv[1], float(sys.argv[2])
out = {"rows": 0, "answers": 0, "refused": {}, "message": None}
end = time.monotonic() + seconds
while time.monotonic() < end:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    try:
        s.sendall(b'{"version":1,"command":"clients"}\n')
    except OSError:
        pass
    buf = b""
    while not buf.endswith(b"\n"):
        try:
            data = s.recv(65536)
        except OSError:
            break
        if not data:
            break
        buf += data
    s.close()
    r = json.loads(buf)
    if r["ok"]:
        out["answers"] += 1
        out["rows"] += len(r["result"]["clients"])
    else:
        out["refused"][r["code"]] = out["refused"].get(r["code"], 0) + 1
        out["message"] = r["message"]
print(json.dumps(out), flush=True)
"""


class Holder:
    def __init__(self, uid, path, n, expect_open, interval=1.0, limit=40.0):
        self.proc = subprocess.Popen(
            as_uid(uid, NOBODY) + [sys.executable, "-c", HOLDER, path, str(n), str(interval),
                           str(limit), str(expect_open)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=daemon_env())

    def report(self, timeout=30):
        # the holders print one line per phase; the test alarm bounds a hang
        line = self.proc.stdout.readline()
        assert line, "holder ended without a report"
        return json.loads(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(scaled(10))


@pytest.fixture
def holders():
    made = []
    yield lambda *a, **kw: made.append(Holder(*a, **kw)) or made[-1]
    for h in made:
        h.stop()


def test_trickled_requests_are_cut_at_their_deadline(chatd, ctl_dir, holders):
    """Two users trickle requests on the read-only socket: each holds at
    most its share, root is served on both sockets meanwhile, and every
    trickled connection is cut 10 s after it connected."""
    as_uid(65533, 65533)
    admin = os.path.join(ctl_dir, "control.sock")
    ro = os.path.join(ctl_dir, "ro.sock")
    d = chatd("--control", admin, config={"control-readonly": ro})
    a, b = d.client(), d.client()
    hs = [holders(uid, ro, PER_UID + 4, PER_UID) for uid in (65533, 65532)]
    for h in hs:
        assert h.report() == {"open": PER_UID, "refused": {"busy": 4}}
    ctl = Ctl(admin)
    assert ctl.json("status")["pid"] == d.pid
    assert Ctl(ro).json("status")["pid"] == d.pid
    # a third user still has its place on the read-only socket
    r = Ctl(ro).run("status", prefix=as_uid(65531, 65531), json_out=True)
    assert json.loads(r.out)["pid"] == d.pid
    a.send("while the tricklers hold on")
    assert b.expect("MSG ").endswith("while the tricklers hold on")
    for h in hs:
        cut = h.report()
        assert cut["left"] == 0, cut
        assert [c for c, _ in cut["cut"]] == ["timeout"] * PER_UID, cut
        # never before the deadline, however the bytes trickled
        assert min(t for _, t in cut["cut"]) >= CONTROL_TIMEOUT - 0.5, cut
    assert_serving(d)
    assert ctl.json("status")["pid"] == d.pid


def test_admin_socket_keeps_places_for_root(chatd, ctl_dir, holders):
    """Members of control-group fill the admin socket: each gets its share,
    together they get all but root's reserve, and root is still served."""
    as_uid(65533, NOBODY)
    admin = os.path.join(ctl_dir, "control.sock")
    d = chatd("--control", admin,
              config={"control-group": grp.getgrgid(NOBODY).gr_name})
    users = list(range(65526, 65534))          # 8 users, 12 connections each
    others = POOL - ROOT_RESERVE
    hs = []
    for uid in users:
        expect = min(PER_UID, max(0, others - PER_UID * len(hs)))
        h = holders(uid, admin, PER_UID + 4, expect, limit=60)
        rep = h.report()
        assert rep["open"] == expect, (uid, rep)
        assert rep["refused"] == {"busy": PER_UID + 4 - expect}, (uid, rep)
        hs.append(h)
    ctl = Ctl(admin)
    st = ctl.json("status")
    assert st["pid"] == d.pid
    # a member of the group without a place is told why
    r = ctl.run("status", rc=1, prefix=as_uid(65525, NOBODY))
    assert "too many control connections" in r.err
    # and looping on it costs a refusal each only up to 32 in 100 ms
    seconds = 2.0
    loop = subprocess.Popen(as_uid(65525, NOBODY) + [sys.executable, "-c", LOOPER, admin,
                                             str(seconds)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            env=daemon_env())
    t0 = time.monotonic()
    assert ctl.json("status")["pid"] == d.pid      # root, meanwhile
    out = json.loads(loop.communicate(timeout=scaled(60))[0])
    elapsed = time.monotonic() - t0
    assert out["answers"] == 0 and set(out["refused"]) == {"busy"}, out
    assert 0 < out["refused"]["busy"] <= 32 * 10 * (elapsed + 1), (out, elapsed)
    assert_serving(d)


def test_read_only_loops_are_paced(chatd, ctl_dir):
    """Four loops of read-only `clients` from two users get about
    control-readonly-rate rows a second each user, and are refused with
    rate-limited otherwise; the admin socket and the chat are untouched."""
    as_uid(65533, 65533)
    rate = 200
    admin = os.path.join(ctl_dir, "control.sock")
    ro = os.path.join(ctl_dir, "ro.sock")
    d = chatd("--control", admin, config=dict(FAST, **{"control-readonly": ro,
                                                       "control-readonly-rate": rate,
                                                       "max-per-ip": 0}))
    clients = [d.client() for _ in range(40)]
    seconds = 3.0
    loops = [subprocess.Popen(as_uid(uid, uid) + [sys.executable, "-c", LOOPER, ro,
                                                   str(seconds)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              env=daemon_env())
             for uid in (65533, 65533, 65532, 65532)]
    t0 = time.monotonic()
    # root on the admin socket pays nothing, and is answered meanwhile
    assert len(control_request(admin, "clients")["result"]["clients"]) == 40
    outs = [json.loads(p.communicate(timeout=scaled(60))[0]) for p in loops]
    elapsed = time.monotonic() - t0
    for uid, (x, y) in ((65533, outs[:2]), (65532, outs[2:])):
        rows = x["rows"] + y["rows"]
        # the bucket (rate rows), refill (rate a second), and the answers
        # under way when it ran dry (one per loop)
        allowed = rate + rate * elapsed + 2 * 40
        assert 0 < rows <= allowed, (uid, rows, allowed, x, y)
        refused = x["refused"].get("rate-limited", 0) + y["refused"].get("rate-limited", 0)
        assert refused > 0, (uid, x, y)
        assert set(x["refused"]) | set(y["refused"]) == {"rate-limited"}, (x, y)
    assert "try again in" in outs[0]["message"], outs[0]
    # refusing costs a wakeup each: past 32 in 100 ms the socket pauses
    refusals = sum(sum(o["refused"].values()) for o in outs)
    assert refusals <= 32 * 10 * (elapsed + 1), (refusals, elapsed)
    clients[0].send("after the loops")
    assert clients[1].expect("MSG ").endswith("after the loops")
    assert_serving(d)


def test_chatctl_says_why_it_is_paced(chatd, ctl_dir):
    """A user deep in debt: chatctl exits 1 with the retry time, and
    another user does not pay for it."""
    user = as_uid(65533, 65533)
    admin = os.path.join(ctl_dir, "control.sock")
    ro = os.path.join(ctl_dir, "ro.sock")
    d = chatd("--control", admin, config=dict(FAST, **{"control-readonly": ro,
                                                       "control-readonly-rate": 200,
                                                       "max-per-ip": 0}))
    for _ in range(100):
        d.client()
    # eight requests at once while the bucket is full: all are admitted (20
    # rows' worth each), and their 800 rows leave the user about 4 s of
    # debt at 200 rows a second
    batch = subprocess.run(user + [sys.executable, "-c", r"""
import json, socket, sys
socks = []
for _ in range(8):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    socks.append(s)
for s in socks:
    s.sendall(b'{"version":1,"command":"clients"}\n')
codes = []
for s in socks:
    buf = b""
    while not buf.endswith(b"\n"):
        data = s.recv(65536)
        if not data:
            break
        buf += data
    r = json.loads(buf)
    codes.append(len(r["result"]["clients"]) if r["ok"] else r["code"])
print(json.dumps(codes))
""", ro], capture_output=True, timeout=scaled(30), env=daemon_env())
    assert json.loads(batch.stdout) == [100] * 8, batch
    r = Ctl(ro).run("clients", rc=1, prefix=user)
    assert "has asked the read-only socket for too much; try again in" in r.err, r.err
    d.wait_log(r"control: uid 65533 is over its read-only budget \(200 rows a second\)")
    r = Ctl(ro).run("clients", prefix=as_uid(65532, 65532), json_out=True)
    assert len(json.loads(r.out)["clients"]) == 100
    # the admin socket has no budget: 30 answers of 100 rows at once
    for _ in range(30):
        assert len(control_request(admin, "clients")["result"]["clients"]) == 100
    # the rate applies on reload: the debt is repaid at once at 10 million
    write_config(d.config_path, dict(FAST, **{"control-readonly": ro,
                                              "control-readonly-rate": 10000000,
                                              "max-per-ip": 0}))
    assert Ctl(admin).json("reload")["applied"] == ["control-readonly-rate"]
    r = Ctl(ro).run("clients", prefix=user, json_out=True)
    assert len(json.loads(r.out)["clients"]) == 100
