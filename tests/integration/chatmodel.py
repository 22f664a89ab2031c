"""What chatd should do, as a small in-memory model, for the model-based
stress test (test_model.py).

The model holds what chatd-protocol(7) and chatctl(1) promise: sessions
with their nicks, rooms (members, current room, topic, scrollback), bans,
mutes and acknowledgements.  Fed the same client lines and admin requests
as the real daemon, it says which lines each client must receive, in
order, what each admin request must answer, and what the daemon's own
counters must read.  It knows no sockets; the driver sends the input and
compares.

Kinds of session: "chat" (a client whose every line is checked), "stalled"
(one that never reads: only the bytes sent to it are counted, so that the
driver knows when it may be cut as a slow consumer), "flood" (checked, but
while it floods its lines are only counted) and "operator" (@operator,
which hears and is heard by nobody here).
"""

import ipaddress
import re

OPERATOR = "@operator"
NICK_MAX = 30
ROOM_NAME_MAX = 51          # '#' and up to 50 bytes of UTF-8
TOPIC_MAX = 300
REASON_MAX = 300            # quit, kick, ban and close reasons
WHO_PER_LINE = 50
PAGE_LINES = 8              # WHO or ROOM lines in one page of an answer
REPLACEMENT = "\ufffd"

# Chat commands as proto.c's table has them: min and max words, what may
# follow the words (none, optional, required text), and whether a current
# room is needed.
NONE, OPTIONAL, REQUIRED = 0, 1, 2
COMMANDS = {
    "nick": (1, 1, NONE, False),
    "join": (1, 2, NONE, False),
    "part": (0, 1, NONE, False),
    "msg": (1, 1, REQUIRED, False),
    "me": (0, 0, REQUIRED, True),
    "topic": (0, 0, OPTIONAL, True),
    "who": (0, 1, NONE, False),
    "rooms": (0, 0, NONE, False),
    "history": (0, 1, NONE, True),
    "ack": (1, 1, NONE, False),
    "slow": (1, 1, NONE, False),
    "quit": (0, 0, OPTIONAL, False),
    "help": (0, 1, NONE, False),
    # Moderation (test_moderation.py): in /help, never sent by test_model.
    "mode": (0, 1, OPTIONAL, False),
    "kick": (1, 1, OPTIONAL, True),
    "invite": (1, 2, NONE, False),
}

# Admin verbs (ctl-proto.c): min and max words, and what may follow.
VERBS = {
    "status": (0, 0, NONE), "stats": (0, 0, NONE), "clients": (0, 1, NONE),
    "rooms": (0, 0, NONE), "kick": (1, 1, OPTIONAL), "ban": (1, 3, OPTIONAL),
    "mute": (1, 2, NONE), "unmute": (1, 1, NONE), "mutes": (0, 0, NONE),
    "say": (1, 1, REQUIRED),
    "announce": (0, 0, REQUIRED), "msg": (1, 1, REQUIRED),
    "topic": (1, 1, REQUIRED), "close": (1, 1, OPTIONAL),
    "version": (0, 0, NONE),
}

# The daemon's counters (chatctl stats) that the model predicts exactly.
COUNTERS = ("accepted", "refused_banned", "closed", "closed_kicked",
            "closed_banned", "closed_slow_consumer", "lines_in", "messages",
            "errors_sent")
# ...of which these move while a flood is being read.
FLOOD_COUNTERS = ("lines_in", "messages")


# ---- text ---------------------------------------------------------------

def _telnet_length(data, i):
    """Bytes of the telnet command at data[i] == IAC (text.c)."""
    left = len(data) - i
    if left < 2:
        return left
    if 0xFB <= data[i + 1] <= 0xFE:             # WILL, WONT, DO, DONT
        return min(left, 3)
    if data[i + 1] != 0xFA:                     # not SB
        return 2
    for j in range(2, left - 1):
        if data[i + j] == 0xFF and data[i + j + 1] == 0xF0:
            return j + 2
    return left


def _utf8_length(data, i):
    """(length, code point) of the well-formed UTF-8 sequence at data[i]
    (a byte >= 0x80), or (0, 0)."""
    b, lo, hi = data[i], 0x80, 0xBF
    if 0xC2 <= b <= 0xDF:
        n = 2
    elif 0xE0 <= b <= 0xEF:
        n = 3
        lo = 0xA0 if b == 0xE0 else lo
        hi = 0x9F if b == 0xED else hi
    elif 0xF0 <= b <= 0xF4:
        n = 4
        lo = 0x90 if b == 0xF0 else lo
        hi = 0x8F if b == 0xF4 else hi
    else:
        return 0, 0
    if len(data) - i < n or not lo <= data[i + 1] <= hi:
        return 0, 0
    cp = b & (0xFF >> (n + 1))
    for k in range(1, n):
        if data[i + k] & 0xC0 != 0x80:
            return 0, 0
        cp = (cp << 6) | (data[i + k] & 0x3F)
    return n, cp


def _spoofs(cp):
    """Bidirectional embeddings, overrides and isolates, line and paragraph
    separators: replaced like controls (U+200E, U+200F, U+061C stay)."""
    return 0x2028 <= cp <= 0x202E or 0x2066 <= cp <= 0x2069


def sanitize(data):
    """bytes -> str as chatd-protocol(7) SANITIZING says: telnet commands
    removed, TAB a space, each invalid byte, each control character and
    each bidirectional control or separator U+FFFD."""
    out, i = [], 0
    while i < len(data):
        b = data[i]
        if b == 0xFF:
            i += _telnet_length(data, i)
        elif b == 0x09:
            out.append(" ")
            i += 1
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
            i += 1
        else:
            n, cp = _utf8_length(data, i) if b >= 0x80 else (0, 0)
            if n == 0 or cp <= 0x9F or _spoofs(cp):
                out.append(REPLACEMENT)
                i += n or 1
            else:
                out.append(data[i:i + n].decode("utf-8"))
                i += n
    return "".join(out)


def nbytes(s):
    return len(s.encode("utf-8"))


def truncate(s, limit):
    """The longest prefix of s in at most limit bytes, whole characters."""
    b = s.encode("utf-8")
    if len(b) <= limit:
        return s
    while limit > 0 and b[limit] & 0xC0 == 0x80:
        limit -= 1
    return b[:limit].decode("utf-8")


def fold(s):
    """CASEMAPPING=ascii: ASCII letters fold, nothing else."""
    return s.encode("utf-8").lower().decode("utf-8")


def nick_valid(nick):
    return re.fullmatch(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}",
                        nick) is not None


# Code points above ASCII that no room name holds (chatd-protocol(7)).
ROOM_EXCLUDED = ((0x80, 0xbf), (0xd7, 0xd7), (0xf7, 0xf7), (0x300, 0x36f),
                 (0x600, 0x605), (0x61c, 0x61c), (0x6dd, 0x6dd),
                 (0x70f, 0x70f), (0x890, 0x891), (0x8e2, 0x8e2),
                 (0x115f, 0x1160), (0x1680, 0x1680), (0x17b4, 0x17b5),
                 (0x180b, 0x180f), (0x2000, 0x2bff), (0x2e00, 0x303f),
                 (0x3164, 0x3164), (0x3200, 0x33ff), (0xd800, 0xf8ff),
                 (0xfdd0, 0xfdef), (0xfe00, 0xfe6f), (0xfeff, 0xfeff),
                 (0xff00, 0xff65), (0xffa0, 0xffa0), (0xffe0, 0xffff),
                 (0x110bd, 0x110bd), (0x110cd, 0x110cd), (0x13430, 0x1345f),
                 (0x1bca0, 0x1bca3), (0x1d000, 0x1d7ff), (0x1f000, 0x1fbff),
                 (0xe0000, 0x10ffff))


def room_char_valid(ch):
    cp = ord(ch)
    if cp < 0x80:
        return ch.isascii() and (ch.isalnum() or ch in "_.-+")
    if cp & 0xfffe == 0xfffe:
        return False
    return not any(lo <= cp <= hi for lo, hi in ROOM_EXCLUDED)


def room_valid(name):
    return (name.startswith("#") and 2 <= nbytes(name) <= ROOM_NAME_MAX
            and all(room_char_valid(ch) for ch in name[1:]))


def room_arg(word):
    """A room named in a command: '#' added if missing, unless the name is
    too long to be valid either way (proto.c)."""
    if nbytes(word) + (word[0] != "#") > ROOM_NAME_MAX:
        return word
    return word if word.startswith("#") else "#" + word


def next_word(s):
    """(word, what follows it) as cmdline.c cuts a word; (None, s) if
    there is none."""
    t = s.lstrip(" ")
    if not t:
        return None, s
    i = t.find(" ")
    return (t, "") if i < 0 else (t[:i], t[i + 1:])


def duration(word):
    """ctl_duration_parse: seconds, or None if word is not a duration."""
    m = re.fullmatch(r"([0-9]+)([smhd]?)", word)
    if m is None:
        return None
    n = int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    return n if n <= 10 * 366 * 86400 else None


# ---- expected lines -----------------------------------------------------

class Pattern:
    """A line known only in part (a time stamp, an error's wording)."""

    def __init__(self, regex, size):
        self.rx = re.compile(regex)
        self.size = size            # at most this many bytes, CRLF included

    def match(self, line):
        return self.rx.fullmatch(line) is not None

    def __repr__(self):
        return "/%s/" % self.rx.pattern


def matches(expected, line):
    return expected == line if isinstance(expected, str) else expected.match(line)


def size_of(expected):
    if isinstance(expected, str):
        return nbytes(expected) + 2
    return expected.size


def hist(line):
    """A scrollback line: "HIST " + a 20-byte time stamp + " " + line."""
    return Pattern(r"HIST \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ " + re.escape(line),
                   nbytes(line) + 28)


def equals(expected):
    """A check that a result is exactly expected."""
    def check(result):
        assert result == expected, "result %r, model %r" % (result, expected)
    return check


# ---- state --------------------------------------------------------------

class Session:
    def __init__(self, cid, kind, addr, port, tls):
        self.cid = cid              # accept order: the daemon's connection order
        self.kind = kind
        self.addr = addr
        self.port = port
        self.tls = tls
        self.nick = None
        self.rooms = []             # joined rooms, the current one last
        self.ack = False
        self.lines = 0              # lines sent: ACK numbers
        self.muted = False
        self.out = []               # lines it must receive, not yet checked
        self.inflow = 0             # bytes sent to it in all
        self.dead = False           # closing: gets nothing more but its BYE
        self.gone = None            # why it went, once it has

    @property
    def current(self):
        return self.rooms[-1] if self.rooms else None

    def __repr__(self):
        return "%s#%d(%s)" % (self.kind, self.cid, self.nick)


class Pending:
    """A TLS connection that has not finished its handshake."""

    def __init__(self, cid, addr, port):
        self.cid = cid
        self.addr = addr
        self.port = port


class Room:
    def __init__(self, name, persistent=False):
        self.name = name            # as its creator spelled it
        self.members = {}           # folded nick -> Session
        self.topic = None
        self.topic_by = None
        self.scroll = []            # MSG and ACTION lines kept, oldest first
        self.messages = 0
        self.persistent = persistent
        self.ops = set()            # Sessions: the creator, while it stays

    def sorted_members(self):
        return sorted(self.members.values(), key=lambda s: fold(s.nick))


class Ban:
    def __init__(self, target, net, reason):
        self.target = target        # canonical
        self.net = net              # ipaddress network, or None for a nick
        self.reason = reason

    def covers(self, addr, nick):
        if self.net is None:
            return nick is not None and fold(nick) == fold(self.target)
        return addr is not None and ipaddress.ip_address(addr) in self.net


def parse_ban(target):
    """A ban's canonical target and network (None for a nick), or None if
    target is neither a nick, an address nor a CIDR block."""
    if nick_valid(target):
        return target, None
    host, slash, bits = target.partition("/")
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return None
    if slash and not re.fullmatch(r"[0-9]+", bits):
        return None
    prefix = int(bits) if slash else addr.max_prefixlen
    if prefix > addr.max_prefixlen:
        return None
    net = ipaddress.ip_network("%s/%d" % (addr, prefix), strict=False)
    canonical = str(net.network_address)
    if prefix < addr.max_prefixlen:
        canonical += "/%d" % prefix
    return canonical, net


class Reply:
    """What an admin request must answer: ok and a check of its result,
    or the error code."""

    def __init__(self, code=None, check=None):
        self.code = code
        self.check = check or (lambda result: None)

    @property
    def ok(self):
        return self.code is None


class Model:
    def __init__(self, config):
        self.default_room = config.get("default-room", "#lobby")
        self.scrollback = int(config["scrollback"])
        self.max_line = int(config["max-line"])
        self.max_rooms = int(config["max-rooms"])
        self.max_per_client = int(config["max-rooms-per-client"])
        self.sendq_soft = int(config["sendq-soft"])
        self.rooms = {fold(self.default_room): Room(self.default_room, True)}
        self.sessions = {}          # folded nick -> Session
        self.conns = {}             # cid -> Session or Pending, accept order
        self.bans = []
        self.next_cid = 1
        self.next_guest = 1
        self.muted_nicks = {}       # mutes are held against nicks (mute.c):
                                    # folded nick -> nick as muted
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.operator = Session(0, "operator", None, None, False)
        self.operator.nick = OPERATOR
        self.sessions[fold(OPERATOR)] = self.operator
        self.step_bytes = {}        # Session -> bytes queued this step
        self.flooding = {}          # flooder -> its room, while unread
        self._failed = False
        self._paged = False

    # ---- output ----------------------------------------------------
    def deliver(self, s, line):
        if s.kind == "operator" or s.dead:
            return
        size = size_of(line)
        s.inflow += size
        self.step_bytes[s] = self.step_bytes.get(s, 0) + size
        if s.kind != "stalled" and s not in self.flooding:
            s.out.append(line)

    def fail(self, s, code):
        self._failed = True
        self.counters["errors_sent"] += 1
        if s.ack:
            self.deliver(s, Pattern(r"NACK %d %s .*" % (s.lines, re.escape(code)), 600))
        else:
            self.deliver(s, Pattern(r"ERR %s .*" % re.escape(code), 600))

    def new_step(self):
        self.step_bytes = {}

    # ---- lookups -----------------------------------------------------
    def find(self, word):
        """The session called word (session_find), @operator included."""
        if nbytes(word) > NICK_MAX:
            return None
        return self.sessions.get(fold(word))

    def room(self, name):
        return self.rooms.get(fold(name))

    def admin_room(self, name):
        if name.startswith("#"):
            return self.room(name)
        if nbytes(name) >= ROOM_NAME_MAX:
            return None
        return self.room("#" + name)

    def ban_for(self, addr, nick):
        for b in self.bans:
            if b.covers(addr, nick):
                return b
        return None

    def clients(self):
        return [s for s in self.conns.values() if isinstance(s, Session)]

    def pendings(self):
        return [p for p in self.conns.values() if isinstance(p, Pending)]

    # ---- connections ---------------------------------------------------
    def accept(self, addr):
        """A connection from addr: its cid, or the BYE that refuses it."""
        b = self.ban_for(addr, None)
        if b is not None:
            self.counters["refused_banned"] += 1
            return None, "BYE banned %s" % b.reason
        cid = self.next_cid
        self.next_cid += 1
        self.counters["accepted"] += 1
        return cid, None

    def pending(self, cid, addr, port):
        p = Pending(cid, addr, port)
        self.conns[cid] = p
        return p

    def pending_closed(self, p):
        del self.conns[p.cid]
        self.counters["closed"] += 1

    def handshaken(self, p, kind):
        """p finished its TLS handshake: a session, in its place."""
        del self.conns[p.cid]
        return self.welcome(p.cid, kind, p.addr, p.port, True)

    def welcome(self, cid, kind, addr, port, tls):
        """A plain connection accepted, or a TLS one done with its
        handshake: HELLO, then the default room."""
        s = Session(cid, kind, addr, port, tls)
        # The first guestN that is free: not taken, and not banned (a
        # banned nick cannot be taken, chatctl(1)).
        while self.find("guest%d" % self.next_guest) is not None or \
                self.ban_for(None, "guest%d" % self.next_guest) is not None:
            self.next_guest += 1
        s.nick = "guest%d" % self.next_guest
        self.next_guest += 1
        self.sessions[fold(s.nick)] = s
        self.conns[cid] = s
        self.deliver(s, Pattern(r"HELLO %s %s .*" % (s.nick, re.escape(self.default_room)), 120))
        self.join(s, self.default_room)
        return s

    def disconnect(self, s, reason, bye=None):
        """s leaves the server: QUIT to each neighbour once, then its BYE."""
        self.counters["closed"] += 1
        s.dead = True
        neighbours = {}
        for r in s.rooms:
            neighbours.update(r.members)
        neighbours.pop(fold(s.nick), None)
        for n in neighbours.values():
            self.deliver(n, "QUIT %s %s" % (s.nick, reason) if reason else "QUIT %s" % s.nick)
        while s.rooms:
            self.leave(s, s.rooms[-1])
        if bye is not None:
            s.dead = False
            self.deliver(s, "BYE %s %s" % bye)
            s.dead = True
        del self.sessions[fold(s.nick)]
        del self.conns[s.cid]
        s.gone = reason

    def slow_consumer(self, s):
        self.counters["closed_slow_consumer"] += 1
        self.disconnect(s, "slow consumer")

    # ---- rooms -----------------------------------------------------------
    def leave(self, s, r):
        del r.members[fold(s.nick)]
        r.ops.discard(s)
        s.rooms.remove(r)
        if not r.members and not r.persistent:
            del self.rooms[fold(r.name)]

    def fanout(self, r, line):
        for m in list(r.members.values()):
            self.deliver(m, line)

    def room_line(self, r):
        return "ROOM %s %d%s" % (r.name, len(r.members),
                                 " " + r.topic if r.topic is not None else "")

    def replay(self, s, r, n):
        """The last n scrollback lines that fit below sendq-soft; returns
        how many."""
        lines = r.scroll[-n:] if n > 0 else []
        budget = max(0, self.sendq_soft - self.step_bytes.get(s, 0))
        keep = 0
        for line in reversed(lines):
            size = size_of(hist(line))
            if size > budget:
                break
            budget -= size
            keep += 1
        for line in lines[len(lines) - keep:]:
            self.deliver(s, hist(line))
        return keep

    def join(self, s, name):
        if not room_valid(name):
            return self.fail(s, "room-invalid")
        r = self.room(name)
        if r is not None and fold(s.nick) in r.members:
            s.rooms.remove(r)
            s.rooms.append(r)
            self.deliver(s, self.room_line(r))
            return None
        if len(s.rooms) >= self.max_per_client:
            return self.fail(s, "too-many-rooms")
        if r is None:
            if len(self.rooms) - 1 >= self.max_rooms:     # the kept one aside
                return self.fail(s, "rooms-full")
            r = self.rooms[fold(name)] = Room(name)
            r.ops.add(s)
        r.members[fold(s.nick)] = s
        s.rooms.append(r)
        self.fanout(r, "JOIN %s %s" % (r.name, s.nick))
        self.deliver(s, self.room_line(r))
        self.replay(s, r, self.scrollback)
        return None

    def part(self, s, r, reason=None):
        self.fanout(r, "PART %s %s%s" % (r.name, s.nick, " " + reason if reason else ""))
        self.leave(s, r)

    def say(self, r, nick, kind, text):
        line = "%s %s %s %s" % (kind, r.name, nick, text)
        r.messages += 1
        if self.scrollback > 0:
            r.scroll = (r.scroll + [line])[-self.scrollback:]
        self.fanout(r, line)

    def set_topic(self, r, nick, text):
        r.topic, r.topic_by = text, nick
        self.fanout(r, "TOPIC %s %s %s" % (r.name, nick, text))

    def who_lines(self, r):
        nicks = [m.nick for m in r.sorted_members()]
        lines = []
        for i in range(0, max(1, len(nicks)), WHO_PER_LINE):
            lines.append("WHO %s %d%s" % (r.name, len(nicks), "".join(
                " " + n for n in nicks[i:i + WHO_PER_LINE])))
        # ROLES lines: each page looks at PAGE_LINES * WHO_PER_LINE members.
        members = r.sorted_members()
        window = PAGE_LINES * WHO_PER_LINE
        for w in range(0, len(members), window):
            roles = ["@" + m.nick for m in members[w:w + window] if m in r.ops]
            for i in range(0, len(roles), WHO_PER_LINE):
                lines.append("ROLES %s %s" % (r.name, " ".join(roles[i:i + WHO_PER_LINE])))
        return lines

    # ---- client lines ----------------------------------------------------
    def line(self, s, raw):
        """One line from s (bytes, without its LF)."""
        if s.dead:                  # after /quit: not read
            return
        self.counters["lines_in"] += 1
        s.lines += 1
        self._failed = self._paged = False
        content = raw[:-1] if raw.endswith(b"\r") else raw
        if len(content) > self.max_line:
            self.fail(s, "line-too-long")
        else:
            text = sanitize(content)
            if text.strip(" ") == "":
                pass
            elif text[0] == "/" and text[1:2] != "/":
                self.command(s, text[1:])
            else:
                self.talk(s, "MSG", text[1:] if text[0] == "/" else text)
        if s.ack and not self._failed and not self._paged:
            self.deliver(s, "ACK %d" % s.lines)

    def sync_line(self, s):
        """The driver's round trip (an unknown command), answered to it."""
        self.counters["lines_in"] += 1
        self.counters["errors_sent"] += 1
        s.lines += 1
        s.inflow += 100

    def flood_lines(self, s, lines):
        """A flooder's burst: its lines are counted by the driver, not
        checked one by one; until flood_read, its room's message count and
        the FLOOD_COUNTERS are moving."""
        self.flooding[s] = s.current
        for raw in lines:
            self.line(s, raw)

    def flood_read(self, s, unsaid=0):
        """The flood of s has been read; unsaid: its lines the daemon did
        not take (it was closed in mid-flood)."""
        del self.flooding[s]
        self.counters["lines_in"] -= unsaid
        self.counters["messages"] -= unsaid

    def command(self, s, body):
        name, rest = next_word(body)
        spec = COMMANDS.get(fold(name)) if name is not None else None
        if spec is None:
            return self.fail(s, "unknown-command")
        lo, hi, mode, needs_room = spec
        words = []
        while len(words) < hi:
            w, rest = next_word(rest)
            if w is None:
                break
            words.append(w)
        rest = rest.lstrip(" ")
        if len(words) < lo or (mode == NONE and rest) or (mode == REQUIRED and not rest):
            return self.fail(s, "bad-usage")
        if needs_room and s.current is None:
            return self.fail(s, "not-in-room")
        getattr(self, "cmd_" + fold(name))(s, words, rest)

    def may_speak(self, s):
        if s.muted:
            self.fail(s, "muted")
        return not s.muted

    def talk(self, s, kind, text):
        if not self.may_speak(s):
            return
        if s.current is None:
            return self.fail(s, "not-in-room")
        self.counters["messages"] += 1
        self.say(s.current, s.nick, kind, text)

    def cmd_nick(self, s, words, rest):
        new = words[0]
        if new == s.nick:
            return self.deliver(s, "INFO you are already %s" % s.nick)
        if self.ban_for(None, new) is not None:
            return self.fail(s, "nick-banned")
        if not nick_valid(new):
            return self.fail(s, "nick-invalid")
        other = self.find(new)
        if other is not None and other is not s:
            return self.fail(s, "nick-taken")
        old = s.nick
        del self.sessions[fold(old)]
        for r in s.rooms:
            del r.members[fold(old)]
            r.members[fold(new)] = s
        s.nick = new
        self.sessions[fold(new)] = s
        if s.muted:             # a muted client takes its mute along
            self.muted_nicks.setdefault(fold(new), new)
        elif fold(new) in self.muted_nicks:     # whoever takes it is muted
            s.muted = True
        seen = {fold(new): s}
        for r in s.rooms:
            seen.update(r.members)
        for n in seen.values():
            self.deliver(n, "NICK %s %s" % (old, new))

    def cmd_join(self, s, words, rest):
        self.join(s, room_arg(words[0]))

    def room_named(self, s, words):
        """The room a command names, or the current one; None if failed."""
        if not words:
            if s.current is None:
                self.fail(s, "not-in-room")
            return s.current
        r = self.room(room_arg(words[0]))
        if r is None:
            self.fail(s, "no-such-room")
        return r

    def cmd_part(self, s, words, rest):
        r = self.room_named(s, words)
        if r is None:
            return
        if fold(s.nick) not in r.members:
            return self.fail(s, "not-in-room")
        self.part(s, r)

    def cmd_msg(self, s, words, rest):
        if not self.may_speak(s):
            return
        to = self.find(words[0])
        if to is None:
            return self.fail(s, "no-such-nick")
        self.counters["messages"] += 1
        line = "PRIV %s %s %s" % (s.nick, to.nick, rest)
        self.deliver(to, line)
        if to is not s:
            self.deliver(s, line)

    def cmd_me(self, s, words, rest):
        self.talk(s, "ACTION", rest)

    def cmd_topic(self, s, words, rest):
        r = s.current
        if rest:
            if not self.may_speak(s):
                return
            if nbytes(rest) > TOPIC_MAX:
                return self.fail(s, "topic-too-long")
            self.set_topic(r, s.nick, rest)
        elif r.topic is not None:
            self.deliver(s, "TOPIC %s %s %s" % (r.name, r.topic_by, r.topic))
        else:
            self.deliver(s, "INFO %s has no topic" % r.name)

    def paged(self, s, lines):
        for line in lines:
            self.deliver(s, line)
        if s.ack:
            self.deliver(s, "ACK %d" % s.lines)
        self._paged = True

    def cmd_who(self, s, words, rest):
        r = self.room_named(s, words)
        if r is not None:
            self.paged(s, self.who_lines(r))

    def cmd_rooms(self, s, words, rest):
        rooms = sorted(self.rooms.values(), key=lambda r: fold(r.name))
        self.paged(s, ["ROOMS %d" % len(rooms)] + [self.room_line(r) for r in rooms])

    def cmd_history(self, s, words, rest):
        n = self.scrollback
        if words:
            if not re.fullmatch(r"[0-9]+", words[0]):
                return self.fail(s, "bad-usage")
            n = int(words[0])
        r = s.current
        if self.replay(s, r, min(n, len(r.scroll))) == 0:
            self.deliver(s, "INFO %s: no messages to show" % r.name)

    def cmd_ack(self, s, words, rest):
        if fold(words[0]) == "on":
            s.ack = True
        elif fold(words[0]) == "off":
            s.ack = False
            self.deliver(s, "INFO acks off")
        else:
            self.fail(s, "bad-usage")

    def cmd_slow(self, s, words, rest):
        # Skip mode only acts on a reader that falls behind, which the
        # model's clients never do: the answer is all there is to see.
        if fold(words[0]) not in ("skip", "disconnect"):
            return self.fail(s, "bad-usage")
        if not s.ack:
            self.deliver(s, "INFO slow " + fold(words[0]))

    def cmd_quit(self, s, words, rest):
        reason = truncate(rest or "quit", REASON_MAX)
        self.disconnect(s, reason, ("quit", reason))

    def cmd_help(self, s, words, rest):
        if not words:
            for _ in range(1 + len(COMMANDS)):
                self.deliver(s, Pattern(r"HELP .*", 160))
            return
        name = words[0][1:] if words[0].startswith("/") else words[0]
        if fold(name) not in COMMANDS:
            return self.fail(s, "unknown-command")
        self.deliver(s, Pattern(r"HELP /%s.*: .*" % fold(name), 160))

    # ---- admin requests --------------------------------------------------
    def admin(self, verb, args):
        """The answer to {"command": verb, "args": args}, as a Reply."""
        spec = VERBS.get(verb)
        if not all(isinstance(a, str) for a in args):
            return Reply("bad-request")
        if spec is None:
            return Reply("unknown-command")
        lo, hi, mode = spec
        words, rest = list(args[:hi]), " ".join(args[hi:])
        if len(words) < lo or (mode == NONE and rest) or (mode == REQUIRED and not rest):
            return Reply("bad-usage")
        return getattr(self, "admin_" + verb)(words, rest)

    def admin_status(self, words, rest):
        def check(result):
            assert result["rooms"] == len(self.rooms), (result["rooms"], len(self.rooms))
            assert result["bans"] == len(self.bans), (result["bans"], len(self.bans))
            assert result["state"] == "running", result
        return Reply(check=check)

    def admin_stats(self, words, rest):
        return Reply(check=lambda result: None)     # the driver compares

    def admin_version(self, words, rest):
        def check(result):
            assert result["protocol"] == 1 and result["chatd"], result
        return Reply(check=check)

    def admin_clients(self, words, rest):
        if words:
            r = self.admin_room(words[0])
            if r is None:
                return Reply("no-such-room")
            # in the order they connected (chatctl(1))
            nicks = [m.nick for m in sorted(r.members.values(), key=lambda m: m.cid)]

            def check(result):
                got = [c["nick"] for c in result["clients"]]
                assert got == nicks, "clients %s: %r, model %r" % (r.name, got, nicks)
            return Reply(check=check)
        return Reply(check=self.check_clients)

    def check_clients(self, result):
        """The open connections listed are the model's sessions, with their
        nicks, rooms (in join order, current last) and mutes; the ones in
        their TLS handshake are the model's pending ones."""
        rows = result["clients"]
        got = {(c["address"], c["port"]): c for c in rows if c["state"] == "open"}
        want = {(s.addr, s.port): s for s in self.clients()}
        assert set(got) == set(want), "open connections %s, model %s" % (
            sorted(got), sorted(want))
        for key, s in want.items():
            c = got[key]
            view = (c["nick"], c["rooms"], c["muted"], c["tls"])
            model = (s.nick, [r.name for r in s.rooms], s.muted, s.tls)
            assert view == model, "client %s:%d is %r, model %r" % (key + (view, model))
        shaking = {(c["address"], c["port"]) for c in rows if c["state"] == "handshake"}
        assert shaking == {(p.addr, p.port) for p in self.pendings()}, (
            "TLS handshakes %s, model %s" % (sorted(shaking),
                                             sorted((p.addr, p.port) for p in self.pendings())))
        order = [(c["address"], c["port"]) for c in rows if c["state"] != "closing"]
        model = [(c.addr, c.port) for c in sorted(self.conns.values(), key=lambda c: c.cid)]
        assert order == model, "clients in the order %s, model (as they connected) %s" % (
            order, model)

    def admin_rooms(self, words, rest):
        return Reply(check=self.check_rooms)

    def check_rooms(self, result):
        skip_messages = [fold(r.name) for r in self.flooding.values()]
        got = [(r["name"], r["members"], r["topic"],
                None if fold(r["name"]) in skip_messages else r["messages"])
               for r in result["rooms"]]
        want = [(r.name, len(r.members), r.topic,
                 None if fold(r.name) in skip_messages else r.messages)
                for r in sorted(self.rooms.values(), key=lambda r: fold(r.name))]
        assert got == want, "rooms %r, model %r" % (got, want)

    def admin_user(self, nick):
        s = self.find(nick)
        return None if s is None or s.kind == "operator" else s

    def admin_reason(self, text, fallback):
        clean = sanitize(text.encode("utf-8"))
        if clean.strip(" ") == "":
            return fallback
        return truncate(clean, REASON_MAX)

    def admin_text(self, text):
        """(clean text, None) or (None, the error code)."""
        clean = sanitize(text.encode("utf-8"))
        if clean.strip(" ") == "":
            return None, "bad-usage"
        if nbytes(clean) > self.max_line:
            return None, "invalid-argument"
        return clean, None

    def admin_kick(self, words, rest):
        s = self.admin_user(words[0])
        if s is None:
            return Reply("no-such-nick")
        reason = self.admin_reason(rest, "kicked by an operator")
        check = equals({"kicked": s.nick, "reason": reason})
        self.counters["closed_kicked"] += 1
        self.disconnect(s, reason, ("kicked", reason))
        return Reply(check=check)

    def admin_ban(self, words, rest):
        sub = words[0]
        if sub == "add" and len(words) >= 2:
            return self.ban_add(words, rest)
        if sub == "del" and len(words) == 2 and not rest:
            parsed = parse_ban(words[1])
            for b in self.bans:
                if parsed is not None and fold(b.target) == fold(parsed[0]):
                    self.bans.remove(b)
                    return Reply(check=equals({"unbanned": words[1]}))
            return Reply("no-such-ban")
        if sub == "list" and len(words) == 1 and not rest:
            targets = [b.target for b in self.bans]

            def check(result):
                got = [b["target"] for b in result["bans"]]
                assert got == targets, "bans %r, model %r" % (got, targets)
            return Reply(check=check)
        return Reply("bad-usage")

    def ban_add(self, words, rest):
        timed = len(words) == 3 and duration(words[2]) is not None
        if len(words) == 3 and not timed:
            text = words[2] + (" " + rest if rest else "")
        else:
            text = rest
        reason = self.admin_reason(text, "you are banned from this server")
        parsed = parse_ban(words[1])
        if parsed is None:
            return Reply("invalid-argument")
        ban = next((b for b in self.bans if fold(b.target) == fold(parsed[0])), None)
        if ban is None:
            ban = Ban(parsed[0], parsed[1], reason)
            self.bans.append(ban)
        ban.reason = reason
        # Every connection it covers is closed, in the daemon's order;
        # those closed together hear nothing of each other.
        covered = [c for c in sorted(self.conns.values(), key=lambda c: c.cid)
                   if ban.covers(c.addr, c.nick if isinstance(c, Session) else None)]
        for c in covered:
            if isinstance(c, Session):
                c.dead = True
        for c in covered:
            self.counters["closed_banned"] += 1
            if isinstance(c, Session):
                self.disconnect(c, truncate(reason, REASON_MAX), ("banned", reason))
            else:
                self.pending_closed(c)
        target, n = ban.target, len(covered)

        def check(result):
            assert (result["banned"], result["reason"], result["disconnected"]) == \
                (target, reason, n), (result, target, reason, n)
        return Reply(check=check)

    def admin_mute(self, words, rest):
        s = self.admin_user(words[0])
        if s is None and not nick_valid(words[0]):
            return Reply("invalid-argument")
        if len(words) == 2 and not duration(words[1]):
            return Reply("invalid-argument")
        nick = words[0] if s is None else s.nick
        self.muted_nicks[fold(nick)] = nick
        if s is not None:
            s.muted = True
            self.deliver(s, "NOTICE %s an operator has muted you: you cannot speak for now"
                         % OPERATOR)

        def check(result):
            assert (result["muted"], result["connected"]) == (nick, s is not None), result
        return Reply(check=check)

    def admin_unmute(self, words, rest):
        s = self.admin_user(words[0])
        if s is None:
            held = self.muted_nicks.pop(fold(words[0]), None)
            if held is None:
                return Reply("no-such-nick")
            return Reply(check=equals({"unmuted": held}))
        if s.muted:
            self.deliver(s, "NOTICE %s an operator has unmuted you: you may speak again"
                         % OPERATOR)
        s.muted = False
        self.muted_nicks.pop(fold(s.nick), None)
        return Reply(check=equals({"unmuted": s.nick}))

    def admin_mutes(self, words, rest):
        held = sorted(self.muted_nicks)
        return Reply(check=lambda result: equals(held)(
            sorted(fold(m["nick"]) for m in result["mutes"])))

    def admin_say(self, words, rest):
        r = self.admin_room(words[0])
        if r is None:
            return Reply("no-such-room")
        text, code = self.admin_text(rest)
        if code:
            return Reply(code)
        self.counters["messages"] += 1
        self.say(r, OPERATOR, "MSG", text)
        return Reply(check=equals({"said_in": r.name}))

    def admin_announce(self, words, rest):
        text, code = self.admin_text(rest)
        if code:
            return Reply(code)
        listeners = [s for s in self.sessions.values() if s.kind != "operator"]
        for s in listeners:
            self.deliver(s, "NOTICE %s %s" % (OPERATOR, text))
        return Reply(check=equals({"announced_to": len(listeners)}))

    def admin_msg(self, words, rest):
        to = self.admin_user(words[0])
        if to is None:
            return Reply("no-such-nick")
        text, code = self.admin_text(rest)
        if code:
            return Reply(code)
        self.counters["messages"] += 1
        self.deliver(to, "PRIV %s %s %s" % (OPERATOR, to.nick, text))
        return Reply(check=equals({"sent_to": to.nick}))

    def admin_topic(self, words, rest):
        r = self.admin_room(words[0])
        if r is None:
            return Reply("no-such-room")
        text, code = self.admin_text(rest)
        if code:
            return Reply(code)
        if nbytes(text) > TOPIC_MAX:
            return Reply("invalid-argument")
        self.set_topic(r, OPERATOR, text)
        return Reply(check=equals({"room": r.name, "topic": text}))

    def admin_close(self, words, rest):
        r = self.admin_room(words[0])
        if r is None:
            return Reply("no-such-room")
        reason = self.admin_reason(rest, "closed by an operator")
        check = equals({"closed": r.name, "members": len(r.members)})
        for m in reversed(r.sorted_members()):
            self.part(m, r, reason)
        return Reply(check=check)
