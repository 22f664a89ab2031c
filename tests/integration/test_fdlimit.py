"""max-clients against the open file limit (RLIMIT_NOFILE), with chatd
started under prlimit(1): the soft limit is raised toward the hard one as
far as max-clients needs, and where the hard limit is too low chatd runs
with the max-clients that fits and says so, at the start and on reload."""
import os
import re
import resource
import shutil

import pytest

from conftest import wait_until

pytestmark = [
    pytest.mark.skipif(shutil.which("prlimit") is None,
                       reason="needs prlimit(1) (util-linux)"),
    # valgrind keeps descriptors of its own and shows chatd a lower limit
    pytest.mark.skipif(bool(os.environ.get("CHATD_WRAPPER")),
                       reason="the arithmetic is off under CHATD_WRAPPER"),
]

RAISED_RE = r"open file limit raised from (\d+) to (\d+) for max-clients (\d+)"
CUT_RE = (r"warning: max-clients (\d+) does not fit the open file limit \((\d+), "
          r"hard limit (\d+); (\d+) descriptors needed besides clients\): "
          r"running with max-clients (\d+)")


@pytest.fixture
def limited(chatd, monkeypatch):
    """limited(SOFT, HARD, *args, **kw): chatd under prlimit --nofile."""
    def start(soft, hard, *args, **kw):
        monkeypatch.setenv("CHATD_WRAPPER", "prlimit --nofile=%d:%d" % (soft, hard))
        return chatd(*args, **kw)
    return start


def nofile(pid):
    """(soft, hard) open file limit of process pid, from /proc."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no open file limit in /proc/%d/limits" % pid)


def test_soft_limit_raised_as_far_as_max_clients_needs(limited):
    d = limited(64, 4096, config={"max-clients": 500})
    m = re.search(RAISED_RE, d.wait_log(RAISED_RE))
    was, now, clients = map(int, m.groups())
    assert (was, clients) == (64, 500)
    assert 500 < now < 600                  # what it needs, not the hard limit
    assert nofile(d.pid) == (now, 4096)
    assert "does not fit" not in d.log_text()


def test_limit_that_fits_is_left_alone(limited):
    d = limited(2048, 4096, config={"max-clients": 100})
    d.client().sync()
    assert nofile(d.pid) == (2048, 4096)
    assert "open file limit" not in d.log_text()


def test_hard_limit_too_low_cuts_max_clients(limited):
    d = limited(60, 60, config={"max-clients": 1000, "max-per-ip": 0})
    m = re.search(CUT_RE, d.wait_log(CUT_RE))
    configured, soft, hard, reserve, effective = map(int, m.groups())
    assert (configured, soft, hard) == (1000, 60, 60)
    assert effective == 60 - reserve and 0 < effective < 60
    # what it holds besides clients (no control socket here), and 4 spare
    assert reserve == len(os.listdir("/proc/%d/fd" % d.pid)) + 4
    # exactly that many get in; the next one is refused, not left waiting
    clients = [d.client() for _ in range(effective)]
    refused = d.connect_raw()
    assert refused.line().startswith("BYE server-full")
    clients[0].send("still chatting")
    clients[1].expect("MSG #lobby %s still chatting" % clients[0].nick)


def test_control_clients_are_counted(limited, tmp_path):
    """With a control socket, chatd keeps 64 descriptors for control
    clients, besides the socket itself and its directory (held open so the
    socket is only ever touched relative to it, control-socket.c)."""
    plain = limited(200, 200, config={"max-clients": 1000})
    with_control = limited(200, 200, "--control", str(tmp_path / "ctl.sock"),
                           config={"max-clients": 1000})
    need = [int(re.search(CUT_RE, d.wait_log(CUT_RE)).group(4))
            for d in (plain, with_control)]
    assert need[1] - need[0] == 64 + 2


def test_reload_raises_or_cuts_again(limited):
    d = limited(100, 400, config={"max-clients": 50})
    d.client().sync()
    assert nofile(d.pid) == (100, 400)
    # a larger max-clients that fits the hard limit raises the soft one
    mark = d.log_mark()
    d.reload({"max-clients": 300})
    d.wait_log(r"reload: max-clients changed", start=mark)
    m = re.search(RAISED_RE, d.wait_log(RAISED_RE, start=mark))
    assert int(m.group(1)) == 100 and int(m.group(3)) == 300
    assert wait_until(lambda: nofile(d.pid)[0] == int(m.group(2)), 5)
    # one that does not is cut, with a warning, and applied as cut
    mark = d.log_mark()
    d.reload({"max-clients": 5000})
    m = re.search(CUT_RE, d.wait_log(CUT_RE, start=mark))
    assert int(m.group(1)) == 5000 and int(m.group(3)) == 400
    assert int(m.group(5)) == 400 - int(m.group(4))
    d.wait_log(r"reload: max-clients changed", start=mark)
    assert nofile(d.pid) == (400, 400)


def test_limit_lowered_below_the_need_rejects_the_reload(chatd):
    """user = root: lowering the limit of a running process of another uid
    would need CAP_SYS_RESOURCE."""
    d = chatd(config={"max-clients": 50, "user": "root"})
    reserve = len(os.listdir("/proc/%d/fd" % d.pid)) + 4
    d.client().sync()
    resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (reserve, reserve))
    mark = d.log_mark()
    d.reload({"max-clients": 60, "user": "root", "motd": "not applied"})
    d.wait_log(r"error: reload failed, keeping the running configuration: the open file "
               r"limit \(%d, hard limit %d\) leaves no descriptor for clients: chatd needs "
               r"%d besides them" % (reserve, reserve, reserve), start=mark)
    a = d.client()
    assert "not applied" not in " ".join(a.sync())
    a.send("still here")
    a.expect("MSG #lobby %s still here" % a.nick)


def test_no_descriptor_left_for_clients_is_an_error(limited):
    d = limited(10, 10, wait=False)
    assert d.wait_exit(10) == 1
    assert re.search(r"the open file limit \(10, hard limit 10\) leaves no descriptor "
                     r"for clients: chatd needs \d+ besides them", d.log_text())
