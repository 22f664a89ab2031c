"""Started as root, chatd binds, then gives root up for the configured user."""
import os
import pwd

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def ids(pid):
    with open("/proc/%d/status" % pid) as f:
        fields = dict(line.split(":", 1) for line in f)
    uids = [int(x) for x in fields["Uid"].split()]
    gids = [int(x) for x in fields["Gid"].split()]
    groups = [int(x) for x in fields["Groups"].split()]
    return uids, gids, groups


def test_drops_to_configured_user(chatd):
    nobody = pwd.getpwnam("nobody")
    d = chatd(config={"user": "nobody"})
    d.wait_log(r"running as user nobody")
    uids, gids, groups = ids(d.pid)
    assert uids == [nobody.pw_uid] * 4          # real, effective, saved, fs
    assert gids == [nobody.pw_gid] * 4
    assert groups == [nobody.pw_gid]
    a, b = d.client(), d.client()
    a.send("still serving")
    b.expect("MSG #lobby %s still serving" % a.nick)


def test_unknown_user_is_refused(chatd):
    d = chatd(config={"user": "no-such-user-chatd"}, wait=False)
    assert d.wait_exit(10) == 1
    assert "user no-such-user-chatd: no such user" in d.log_text()


def test_root_without_user_warns(chatd):
    d = chatd()
    d.wait_log(r'running as root: set "user"')
