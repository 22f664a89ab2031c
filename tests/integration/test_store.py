"""Durable history (database = PATH): what the rooms said, their topics and
the message ids survive a restart, scrollback on join comes back; kill -9
under load leaves a whole database that lost only its tail; a file that is
not chatd's, of a newer schema, or held by another chatd is refused at
start and by chatd -t, naming the file."""

import os
import pwd
import sqlite3
import subprocess

from conftest import chatd_exe, scaled, wait_until

FAST = {"flood-rate": 100000, "flood-burst": 100000, "flood-rate-per-ip": 0}


def for_daemon(path):
    """Started as root, chatd runs as nobody: its state directory and the
    files a test makes for it are nobody's, as a packaged install's
    StateDirectory is the service user's."""
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    return path


def state(tmp_path, name="chat.db"):
    d = tmp_path / "state"
    if not d.exists():
        d.mkdir()
        for_daemon(str(d))
    return str(d / name)


def hist_until(client, marker):
    _, seen = client.expect_with_skipped(marker)
    return [line for line in seen if line.startswith("HIST ")]


def rows(path, sql):
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def run_chatd(*args):
    return subprocess.run([chatd_exe(), "--listen", "127.0.0.1:0"] + list(args),
                          stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=scaled(20))


def test_restart_restores_rooms_topics_and_ids(chatd, tmp_path):
    db = state(tmp_path)
    d = chatd("--database", db, config=FAST)
    alice = d.client()
    alice.send("/ack on")
    alice.expect("ACK")
    for i in range(5):
        alice.send("lobby line %d" % i)
        alice.expect("ACK")
    alice.send("/me waves")
    alice.expect("ACK")
    alice.send("/topic the kept topic")
    alice.expect("ACK")
    alice.send("/join #dev")
    alice.expect("ACK")
    alice.send("dev line")
    alice.expect("ACK")
    assert d.stop_and_check() == []
    assert os.stat(db).st_mode & 0o777 == 0o600
    before = rows(db, "SELECT max(id) FROM messages")[0][0]

    d2 = chatd("--database", db, config=FAST)
    assert "2 rooms, 0 bans and 0 mutes restored" in d2.log_text()
    bob = d2.client()
    bob.send("/ack on")
    hist = hist_until(bob, "ACK")
    said = [h.split(" ", 2)[2] for h in hist]
    assert said == ["MSG #lobby %s lobby line %d" % (alice.nick, i)
                    for i in range(5)] + ["ACTION #lobby %s waves" % alice.nick]
    bob.send("/topic")
    bob.expect("TOPIC #lobby %s the kept topic" % alice.nick)
    bob.expect("ACK")
    bob.send("/join #dev")
    hist = hist_until(bob, "ACK")
    assert [h.split(" ", 2)[2] for h in hist] == ["MSG #dev %s dev line" % alice.nick]
    bob.send("after the restart")
    bob.expect("ACK")
    assert d2.stop_and_check() == []
    ids = rows(db, "SELECT id, body FROM messages ORDER BY id")
    assert ids[-1][1] == "after the restart"
    assert ids[-1][0] > before
    assert len(set(i for i, _ in ids)) == len(ids)


def test_kill_9_under_load_keeps_a_whole_prefix(chatd, tmp_path):
    db = state(tmp_path)
    d = chatd("--database", db, config=dict(FAST, **{"history-commit-interval": 20}))
    alice = d.client()
    alice.send("/ack on")
    alice.expect("ACK")
    for i in range(2000):
        alice.send("n %d" % i)
    # Some of it is on disk before the crash, then the crash.
    wait_until(lambda: os.path.exists(db + "-wal") and
               rows(db, "SELECT count(*) FROM messages")[0][0] > 0, 20)
    d.killed = True
    d.proc.kill()
    d.wait_exit(10)
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    kept = [int(b.split()[1]) for (b,) in rows(db, "SELECT body FROM messages ORDER BY id")]
    # What was committed is what was said first, in order, without a gap.
    assert kept == list(range(len(kept)))
    d2 = chatd("--database", db, config=FAST)
    bob = d2.client()
    bob.send("/ack on")
    bob.expect_with_skipped("ACK")
    bob.send("alive")
    bob.expect("ACK")


def test_refused_files(chatd, tmp_path):
    foreign = state(tmp_path, "foreign.db")
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    junk = state(tmp_path, "junk.db")
    with open(junk, "wb") as f:
        f.write(b"not a database, just bytes " * 100)
    newer = state(tmp_path, "newer.db")
    db = sqlite3.connect(newer)
    db.execute("PRAGMA application_id = 1667785076")
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    for path in (foreign, junk, newer):
        for_daemon(path)
    for path, why in ((foreign, "not a chatd database"), (junk, "not a database"),
                      (newer, "newer than this chatd knows")):
        for args in (("--database", path), ("-t", "--database", path)):
            r = run_chatd(*args)
            err = r.stderr.decode(errors="replace")
            assert r.returncode == 1, (args, err)
            assert path in err and why in err, err

    # A file a running chatd holds: a second one is refused; -t only looks.
    held = state(tmp_path, "held.db")
    chatd("--database", held)
    r = run_chatd("--database", held)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 1 and "in use by another chatd" in err and held in err, err
    r = run_chatd("-t", "--database", held)
    assert r.returncode == 0, r.stderr


def test_no_database_by_default(chatd, tmp_path):
    d = chatd()
    c = d.client()
    c.send("hello")
    c.expect("MSG ")
    assert [p for p in os.listdir(str(tmp_path)) if ".db" in p] == []


def count(db, room="#lobby"):
    return rows(db, "SELECT count(*), min(body) FROM messages WHERE room = '%s'"
                % room)[0]


def test_retention_per_room_at_its_edges(chatd, tmp_path):
    db = state(tmp_path)
    config = dict(FAST, **{"history-max-per-room": 10})
    d = chatd("--database", db, config=config)
    alice = d.client()
    alice.send("/ack on")
    alice.expect("ACK")
    for i in range(10):
        alice.send("m %02d" % i)
        alice.expect("ACK")
    # At the limit: all kept.
    assert wait_until(lambda: count(db) == (10, "m 00"), 10)
    alice.send("m 10")
    alice.expect("ACK")
    # One more: the oldest goes, the newest ten stay.
    assert wait_until(lambda: count(db) == (10, "m 01"), 10)
    # Lowered on reload: the idle step trims rooms nobody speaks in.
    alice.send("/join #quiet")
    alice.expect("ACK")
    for i in range(8):
        alice.send("q %d" % i)
        alice.expect("ACK")
    assert wait_until(lambda: count(db, "#quiet")[0] == 8, 10)
    mark = d.log_mark()
    d.reload(dict(config, **{"history-max-per-room": 3}))
    d.wait_log("reload: history-max-per-room changed", start=mark)
    assert wait_until(lambda: count(db, "#quiet") == (3, "q 5") and
                      count(db) == (3, "m 08"), 20)


def test_retention_by_age_keeps_the_new(chatd, tmp_path):
    db = state(tmp_path)
    d = chatd("--database", db, config=dict(FAST, **{"history-max-age": "1h"}))
    alice = d.client()
    alice.send("/ack on")
    alice.expect("ACK")
    alice.send("fresh")
    alice.expect("ACK")
    # Old rows, as a chatd of long ago wrote them: the writer's steps
    # delete them, never the fresh one.
    old = sqlite3.connect(db, timeout=scaled(10))
    old.executemany("INSERT INTO messages VALUES (?, '#lobby', ?, 'say', 'x', '', 'old')",
                    [(10 ** 9 + i, 1000 * i) for i in range(600)])
    old.commit()
    old.close()
    assert wait_until(lambda: rows(db, "SELECT body FROM messages") == [("fresh",)], 30)


def test_database_change_on_reload_needs_a_restart(chatd, tmp_path):
    db, other = state(tmp_path), state(tmp_path, "other.db")
    d = chatd(config=dict(FAST, database=db))
    mark = d.log_mark()
    d.reload(dict(FAST, database=other))
    d.wait_log("reload: database changed; it takes effect after a restart",
               start=mark)
    c = d.client()
    c.send("/ack on")
    c.expect("ACK")
    c.send("still the first file")
    c.expect("ACK")
    assert wait_until(lambda: rows(db, "SELECT body FROM messages") ==
                      [("still the first file",)], 10)
    assert not os.path.exists(other)


def nice_of(pid, tid):
    """A thread's nice value (field 19 of /proc/PID/task/TID/stat)."""
    with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


def test_the_writer_thread_yields_to_the_loop(chatd, tmp_path):
    d = chatd("--database", state(tmp_path), config=FAST)
    tasks = os.listdir("/proc/%d/task" % d.pid)
    assert len(tasks) == 2, tasks       # the loop and the writer
    loop = nice_of(d.pid, d.pid)
    writer = [t for t in tasks if int(t) != d.pid][0]

    # The thread lowers its own priority as it starts, which may be just
    # after the daemon is ready.
    def writer_nice():
        return nice_of(d.pid, writer) == min(19, loop + 10)
    assert wait_until(writer_nice, 10), (loop, nice_of(d.pid, writer))
    assert nice_of(d.pid, d.pid) == loop
    assert d.stop_and_check() == []
