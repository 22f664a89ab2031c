"""IRC operators (chatd-irc(7) OPER, KILL; chatd.conf(5) oper): a hashed
password from chatd --hash-password, OPER's answers and its pacing, and an
operator's powers over every room and client."""
import re
import subprocess
import time

from conftest import chatd_exe, daemon_env, scaled, write_config
from test_irc import SERVER, Irc, start
from test_moderation import join, named

PASSWORD = "correct horse battery staple"


def hash_password(password):
    r = subprocess.run([chatd_exe(), "--hash-password"], input=(password + "\n").encode(),
                       capture_output=True, timeout=scaled(30), env=daemon_env())
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().strip()


def become_operator(c, name="boss", password=PASSWORD):
    """OPER until it is checked: 491 means the server's checks for this
    second are spent, and to try again a moment later."""
    deadline = time.monotonic() + scaled(10)
    while True:
        c.send("OPER %s :%s" % (name, password))
        got = c.expect(":%s " % SERVER)
        if got.split()[1] != "491":
            return got
        assert time.monotonic() < deadline, "OPER never checked"
        time.sleep(0.2)


def test_hash_password_and_config_check(tmp_path):
    h = hash_password(PASSWORD)
    assert re.fullmatch(r"\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$\S+\$\S+", h), h
    assert hash_password(PASSWORD) != h                 # salted
    r = subprocess.run([chatd_exe(), "--hash-password"], input=b"\n", capture_output=True,
                       timeout=scaled(30), env=daemon_env())
    assert r.returncode == 1 and b"1 to 256 bytes" in r.stderr
    good = write_config(tmp_path / "good.conf", ["oper = admin " + h])
    r = subprocess.run([chatd_exe(), "-t", "-c", str(good)], capture_output=True,
                       timeout=scaled(30), env=daemon_env())
    assert r.returncode == 0, r.stderr
    for line in ("oper = admin " + PASSWORD, "oper = admin", "oper = 9bad " + h,
                 "oper = " + h):
        bad = write_config(tmp_path / "bad.conf", [line])
        r = subprocess.run([chatd_exe(), "-t", "-c", str(bad)], capture_output=True,
                           timeout=scaled(30), env=daemon_env())
        assert r.returncode == 1, line
        err = r.stderr.decode()
        assert "oper:" in err and "chatd --hash-password" in err, err
        assert PASSWORD not in err or line.endswith(PASSWORD)


def test_oper_gives_every_room_and_kill(chatd):
    d = start(chatd, config=["server-name = " + SERVER, "oper = boss " + hash_password(PASSWORD)])
    owner = named(d, "owner")
    join(owner, "#owned")
    owner.send("/mode +t")
    owner.expect("MODE #owned owner +t")
    i = Irc(d, "irc")
    i.send("KILL owner :go")
    assert i.line() == ":%s 481 irc :Permission Denied- You're not an IRC operator" % SERVER
    assert become_operator(i, password="wrong") == ":%s 464 irc :Password incorrect" % SERVER
    assert become_operator(i, name="nobody") == ":%s 464 irc :Password incorrect" % SERVER
    assert become_operator(i) == ":%s 381 irc :You are now an IRC operator" % SERVER
    assert i.line() == ":irc MODE irc :+o"
    d.wait_log(r"irc: irc \(127\.0\.0\.1\) is now operator boss")
    assert PASSWORD not in d.log_text()

    # Channel powers everywhere, without being an operator of the room.
    i.send("MODE #owned +m")
    assert owner.expect("MODE ") == "MODE #owned irc +m"
    i.send("TOPIC #owned :from outside")
    assert i.line() == ":%s 442 irc #owned :You're not on that channel" % SERVER
    i.send("JOIN #owned")
    i.numeric("366")
    i.send("TOPIC #owned :the operator's")
    assert owner.expect("TOPIC ") == "TOPIC #owned irc the operator's"
    i.send("KICK #owned owner :out")
    assert owner.expect("KICK ") == "KICK #owned irc owner out"
    i.send("WHOIS irc")
    assert i.expect(":%s 313 " % SERVER) == ":%s 313 irc irc :is an IRC operator" % SERVER

    victim = named(d, "victim")
    i.send("KILL nobody")
    assert i.expect(":%s 401" % SERVER) == ":%s 401 irc nobody :No such nick/channel" % SERVER
    i.send("KILL victim :spam")
    assert victim.expect("BYE ") == "BYE kicked Killed by irc (spam)"
    d.wait_log(r"irc: operator irc killed victim")


def test_oper_checks_are_paced_for_the_whole_server(chatd):
    """At most two password checks a second, server-wide: a burst of wrong
    OPERs gets 464 or 491 each, never more 464 than the seconds allow, and
    the loop keeps serving others meanwhile."""
    d = start(chatd, config=["server-name = " + SERVER, "oper = boss " + hash_password(PASSWORD)])
    a, b = Irc(d, "a"), Irc(d, "b")
    witness = named(d, "witness")
    began = time.monotonic()
    a.send_raw(b"".join(b"OPER boss wrong%d\r\n" % n for n in range(10)))
    b.send_raw(b"".join(b"OPER boss wrong%d\r\n" % n for n in range(10)))
    witness.send("still here")
    assert witness.expect("MSG ") == "MSG #lobby witness still here"
    answers = []
    for c in (a, b):
        for _ in range(10):
            answers.append(c.expect(":%s 4" % SERVER).split()[1])
    elapsed = time.monotonic() - began
    assert set(answers) <= {"464", "491"}
    assert answers.count("491") > 0 or elapsed > 5
    assert answers.count("464") <= 2 * (int(elapsed) + 2)
    assert become_operator(a).split()[1] == "381"
