#!/usr/bin/python3
"""attack.py: one address attacks chatd's lobby while loadgen's bystanders
chat there (the attack scenario of tests/bench/run.sh; issue 10).

From one source address it cycles through the bursts of issue 10, each for
--phase seconds; every 250 ms each connection of the phase that has sent
its last burst whole sends the next one, in one write:

  utf8   8 connections, 5 max-length lines of byte 0x80 (which the
         sanitizer triples: U+FFFD)
  ascii  30 connections, 5 max-length ASCII lines
  flood  50 connections, 20 lines (the default flood burst) of 930 bytes
  msg    50 connections, 20 max-length /msg lines at one bystander
  nick   50 connections, 20 nick changes each, seen by the whole room
  churn  a connect/close storm: 50 connections at a time, each reset as
         soon as the server said anything (HELLO, JOIN; or a refusal)

Its connections read and discard all they get, and one the server closes
is opened again after 100 ms. Every 100 ms it samples the daemon: VmRSS
and, with --control, `stats` on the control socket (held_bytes, counters).
It prints one line, "ATTACK a_key=value ...".  Bounded: it stops after
--duration seconds and an alarm ends it whatever the server does; its
traffic stays on 127.0.0.0/8.  --idle samples without attacking (the
baseline run).
"""
import argparse
import collections
import errno
import json
import re
import selectors
import signal
import socket
import struct
import sys
import time

IP_BIND_ADDRESS_NO_PORT = 24
MAX_LINE = 4096			# chatd's default max-line
BURST_EVERY = 0.25
REOPEN_AFTER = 0.1
SAMPLE_EVERY = 0.1
STORM = 50			# connections of the storm at a time
BYE = re.compile(rb'(?:^|\n)BYE (\S+)')

# phase: (connections, lines of one burst)
PHASES = {
    'utf8': (8, lambda k, n: [b'\x80' * MAX_LINE] * 5),
    'ascii': (30, lambda k, n: [b'A' * MAX_LINE] * 5),
    'flood': (50, lambda k, n: [b'C' * 930] * 20),
    'msg': (50, None),
    'nick': (50, lambda k, n: [b'/nick z%dn%d' % (k, n + i)
                               for i in range(20)]),
    'churn': (0, None),
}


class Conn:
    def __init__(self, slot, storm):
        self.slot, self.storm = slot, storm
        self.sock = None
        self.out = bytearray()
        self.connected = False
        self.closed_at = None
        self.nicks = 0


class Attack:
    def __init__(self, opts):
        self.o = opts
        self.sel = selectors.DefaultSelector()
        self.byes = collections.Counter()
        self.sent_bytes = 0
        self.opened = self.connects = self.closed_by_server = 0
        self.storm_connects = self.storm_refused = self.connect_errors = 0
        self.samples = []
        self.rss_max = -1
        self.msg_line = (b'/msg %s ' % opts.victim.encode())
        self.msg_line += b'B' * (MAX_LINE - len(self.msg_line))

    # Connections -------------------------------------------------------

    def open(self, c):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Reset on close: no TIME_WAIT pile-up from the storm.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack('ii', 1, 0))
        s.bind((self.o.source, 0))
        err = s.connect_ex((self.o.addr, self.o.port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            self.connect_errors += 1
            c.closed_at = time.monotonic()
            return
        c.sock, c.connected, c.out = s, False, bytearray()
        c.closed_at = None
        self.opened += 1
        self.sel.register(s, selectors.EVENT_WRITE, c)

    def close(self, c, by_server):
        if c.sock is None:
            return
        self.sel.unregister(c.sock)
        c.sock.close()
        c.sock = None
        c.closed_at = time.monotonic()
        if by_server and not c.storm:
            self.closed_by_server += 1

    def want(self, c):
        ev = selectors.EVENT_READ
        if c.out or not c.connected:
            ev |= selectors.EVENT_WRITE
        self.sel.modify(c.sock, ev, c)

    def flush(self, c):
        try:
            n = c.sock.send(c.out)
        except BlockingIOError:
            n = 0
        except OSError:
            self.close(c, True)
            return
        self.sent_bytes += n
        del c.out[:n]
        self.want(c)

    def ready(self, c, mask):
        if not c.connected:
            if c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self.connect_errors += 1
                self.close(c, False)
                return
            c.connected = True
            self.connects += 1
            self.storm_connects += c.storm
            self.want(c)
            return
        if mask & selectors.EVENT_READ:
            try:
                data = c.sock.recv(262144)
            except BlockingIOError:
                return
            except OSError:
                data = b''
            for m in BYE.finditer(data):
                self.byes[m.group(1).decode('ascii', 'replace')] += 1
                if c.storm and m.group(1).startswith(b'too-many'):
                    self.storm_refused += 1
            if not data or c.storm:	# the storm: close once answered
                self.close(c, not data)
                return
        if mask & selectors.EVENT_WRITE and c.out:
            self.flush(c)

    def burst(self, c, phase):
        n, make = PHASES[phase]
        if c.slot >= n or c.sock is None or not c.connected or c.out:
            return
        if phase == 'msg':
            lines = [self.msg_line] * 20
        else:
            lines = make(c.slot, c.nicks)
            c.nicks += len(lines)
        c.out += b''.join(line + b'\r\n' for line in lines)
        self.flush(c)

    # Samples -----------------------------------------------------------

    def sample(self):
        if self.o.pid:
            try:
                with open(f'/proc/{self.o.pid}/status') as f:
                    for line in f:
                        if line.startswith('VmRSS:'):
                            self.rss_max = max(self.rss_max,
                                               int(line.split()[1]))
            except OSError:
                pass
        if not self.o.control:
            return
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(1.0)
        try:
            s.connect(self.o.control)
            s.sendall(b'{"version": 1, "command": "stats", "args": []}\n')
            buf = b''
            while True:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
            self.samples.append(json.loads(buf)['result'])
        except (OSError, ValueError, KeyError):
            pass
        finally:
            s.close()

    # The run -----------------------------------------------------------

    def run(self):
        o = self.o
        conns = [Conn(k, False) for k in range(0 if o.idle else o.conns)]
        storms = [Conn(k, True) for k in range(STORM)]
        t0 = time.monotonic()
        end = t0 + o.duration
        next_burst = next_sample = t0
        self.sample()
        for c in conns:
            self.open(c)
        while True:
            now = time.monotonic()
            if now >= end:
                break
            phase = o.phases[int((now - t0) / o.phase) % len(o.phases)]
            for c in conns:
                if c.sock is None and now - c.closed_at >= REOPEN_AFTER:
                    self.open(c)
            if not o.idle and phase == 'churn':
                for c in storms:
                    if c.sock is None:
                        self.open(c)
            if not o.idle and now >= next_burst:
                next_burst += BURST_EVERY
                for c in conns:
                    if c.sock is not None:
                        self.burst(c, phase)
            if now >= next_sample:
                next_sample += SAMPLE_EVERY
                self.sample()
            for key, mask in self.sel.select(0.01):
                self.ready(key.data, mask)
        for c in conns + storms:
            self.close(c, False)
        self.sample()

    def report(self):
        held = [s.get('held_bytes', -1) for s in self.samples]
        first = self.samples[0] if self.samples else {}
        last = self.samples[-1] if self.samples else {}

        def delta(key):
            if key not in last or key not in first:
                return -1
            return last[key] - first[key]
        kv = {
            'held_max': max(held) if held else -1,
            'held_start': held[0] if held else -1,
            'heap_max': max((s.get('heap_in_use_bytes', -1)
                             for s in self.samples), default=-1),
            'rss_max_kb': self.rss_max,
            'samples': len(self.samples),
            'slow_cut': delta('closed_slow_consumer'),
            'flood_pauses': delta('flood_pauses'),
            'refused_connect_rate': delta('refused_connect_rate'),
            'refused_per_ip': delta('refused_per_ip'),
            'refused_memory': delta('refused_memory'),
            'scrollback_refused': delta('scrollback_refused'),
            'lines_in': delta('lines_in'),
            'opened': self.opened,
            'connects': self.connects,
            'closed_by_server': self.closed_by_server,
            'storm_connects': self.storm_connects,
            'storm_refused': self.storm_refused,
            'connect_errors': self.connect_errors,
            'sent_mb': f'{self.sent_bytes / 1e6:.1f}',
            'byes': ','.join(f'{k}:{v}' for k, v in
                             sorted(self.byes.items())) or 'none',
        }
        print('ATTACK ' + ' '.join(f'a_{k}={v}' for k, v in kv.items()),
              flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--addr', default='127.0.0.1')
    p.add_argument('--source', default='127.0.0.99')
    p.add_argument('--duration', type=float, default=12)
    p.add_argument('--phase', type=float, default=2,
                   help='seconds per kind of burst')
    p.add_argument('--phases', default=','.join(PHASES),
                   help='kinds of burst, in order (default: all)')
    p.add_argument('--conns', type=int, default=50)
    p.add_argument('--victim', default='b199', help='nick for /msg')
    p.add_argument('--control', help='chatd control socket for stats')
    p.add_argument('--pid', type=int, help='daemon pid for VmRSS')
    p.add_argument('--idle', action='store_true',
                   help='sample only, attack nobody')
    o = p.parse_args()
    o.phases = o.phases.split(',')
    if (any(ph not in PHASES for ph in o.phases) or o.duration <= 0 or
            o.phase <= 0 or not 0 < o.conns <= 50 or
            not o.source.startswith('127.') or
            not o.addr.startswith('127.')):
        p.error('bad phases, durations, connection count or address '
                '(127.0.0.0/8 only)')
    signal.alarm(int(o.duration) + 20)
    a = Attack(o)
    a.run()
    a.report()


if __name__ == '__main__':
    sys.exit(main())
