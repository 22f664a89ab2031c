"""Real IRC clients on chatd: irssi and WeeChat, each driven in a private
tmux server, join #lobby, talk with a line client both ways, act, change
nick, set the topic and leave; the test reads what the client's screen
shows and what the line client receives.  Both clients pace what they send
(their own flood protection), hence the long timeouts."""
import os
import shutil
import subprocess
import time

import pytest

from conftest import scaled
from test_irc import irc_port, start

IRSSI = shutil.which("irssi")
WEECHAT = shutil.which("weechat")
TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="needs tmux")


class Screen:
    """One program in its own tmux server (-L), 120x40."""

    def __init__(self, tmp_path, name, argv):
        self.sock = "chatd-%s-%d" % (name, os.getpid())
        self.tmux = [TMUX, "-L", self.sock, "-f", "/dev/null"]
        subprocess.run(self.tmux + ["new-session", "-d", "-x", "120", "-y", "40",
                                    " ".join(argv)], check=True,
                       env=dict(os.environ, TERM="screen", HOME=str(tmp_path)))

    def text(self):
        r = subprocess.run(self.tmux + ["capture-pane", "-p", "-S", "-200"],
                           capture_output=True, text=True)
        return r.stdout

    def wait_for(self, needle, timeout=20.0):
        deadline = time.monotonic() + scaled(timeout)
        while True:
            text = self.text()
            if needle in text:
                return text
            if time.monotonic() > deadline:
                pytest.fail("%r never showed on the screen:\n%s" % (needle, text))
            time.sleep(0.1)

    def type(self, line):
        subprocess.run(self.tmux + ["send-keys", "-l", line], check=True)
        subprocess.run(self.tmux + ["send-keys", "Enter"], check=True)

    def close(self):
        subprocess.run(self.tmux + ["kill-server"], capture_output=True)


@pytest.fixture
def screens():
    made = []
    yield made
    for s in made:
        s.close()


@pytest.mark.skipif(IRSSI is None, reason="needs irssi")
def test_irssi_talks_with_a_line_client(chatd, tmp_path, screens):
    d = start(chatd)
    home = tmp_path / "irssi"
    home.mkdir()
    irssi = Screen(tmp_path, "irssi", [IRSSI, "--home=%s" % home, "-n", "irssiuser",
                                       "-c", "127.0.0.1", "-p", str(irc_port(d))])
    screens.append(irssi)
    irssi.wait_for("Welcome to the chatd IRC network, irssiuser")
    irssi.type("/window goto #lobby")
    irssi.wait_for("irssiuser [irssiuser@irc.test] has joined #lobby")

    line = d.client()
    line.sync()
    irssi.wait_for("%s [%s@irc.test] has joined #lobby" % (line.nick, line.nick))
    line.send("hello irssi")
    irssi.wait_for("< %s> hello irssi" % line.nick)
    line.send("/me waves")
    irssi.wait_for("* %s waves" % line.nick)

    irssi.type("hi from irssi")
    line.expect("MSG #lobby irssiuser hi from irssi", timeout=20)
    irssi.type("/me nods")
    line.expect("ACTION #lobby irssiuser nods", timeout=20)
    irssi.type("/topic a topic from irssi")
    line.expect("TOPIC #lobby irssiuser a topic from irssi", timeout=20)
    irssi.type("/nick irssi2")
    line.expect("NICK irssiuser irssi2", timeout=20)
    irssi.wait_for("You're now known as irssi2")
    line.send("/nick linefolk")
    irssi.wait_for("%s is now known as linefolk" % line.nick)
    line.send("/msg irssi2 a private word")
    irssi.type("/window goto linefolk")
    irssi.wait_for("a private word")
    irssi.type("/part #lobby see you")
    line.expect("PART #lobby irssi2 see you", timeout=20)


@pytest.mark.skipif(WEECHAT is None, reason="needs weechat (weechat-curses)")
def test_weechat_talks_with_a_line_client(chatd, tmp_path, screens):
    d = start(chatd)
    home = tmp_path / "weechat"
    home.mkdir()
    setup = ";".join(["/set irc.server_default.nicks weeuser",
                      "/set irc.server_default.realname Wee_User",
                      "/server add chatd 127.0.0.1/%d" % irc_port(d),
                      "/connect chatd"])
    wee = Screen(tmp_path, "weechat", [WEECHAT, "--dir", str(home), "-r",
                                       "'%s'" % setup])
    screens.append(wee)
    # WeeChat asks for extended-join: JOIN shows the real name, and a
    # line client's is its nick.
    wee.wait_for("weeuser (Wee_User) (weeuser@irc.test) has joined #lobby")

    line = d.client()
    line.sync()
    wee.wait_for("%s (%s) (%s@irc.test) has joined #lobby" % ((line.nick,) * 3))
    line.send("hello weechat")
    wee.wait_for("hello weechat")
    line.send("/me waves")
    wee.wait_for("%s waves" % line.nick)

    wee.type("hi from weechat")
    line.expect("MSG #lobby weeuser hi from weechat", timeout=20)
    wee.type("/me nods")
    line.expect("ACTION #lobby weeuser nods", timeout=20)
    wee.type("/topic a topic from weechat")
    line.expect("TOPIC #lobby weeuser a topic from weechat", timeout=20)
    wee.type("/nick wee2")
    line.expect("NICK weeuser wee2", timeout=20)
    line.send("/nick linefolk")
    wee.wait_for("%s is now known as linefolk" % line.nick)
    wee.type("/part #lobby see you")
    line.expect("PART #lobby wee2 see you", timeout=20)
