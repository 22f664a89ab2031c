#!/usr/bin/python3
"""table.py RAW MACHINE REPS ELAPSED SERVERS SETTLE BEFORE: the tables of
tests/bench/RESULTS.md from run.sh's raw lines (one "RESULT key=value ..."
line per run, with server= and rep=).

Each cell is the median of the rounds; each ratio the median of the ratios
within a round, where the servers ran back to back, so that drift between
rounds cancels out.  BEFORE names the older chatd (or "" without one): it
gets a column and the ratio after/before (chatd against it).  The IRC
servers (chatd-irc, inspircd, ngircd) get a table of their own (issue 11),
scenario 1 beside chatd's line protocol; rows of scenarios that did not
run are left out.
"""
import statistics
import sys

raw, machine, reps, elapsed, servers, settle, before = sys.argv[1:8]
IRC = ('chatd-irc', 'inspircd', 'ngircd')
irc_servers = [s for s in servers.split() if s in IRC]
servers = [s for s in servers.split() if s not in IRC]
runs = {}
for line in open(raw):
    kv = dict(w.split('=', 1) for w in line.split()[1:] if '=' in w)
    runs.setdefault((kv['label'], kv['server']), []).append(kv)
compare = before in servers


def vals(scen, server, key):
    v = [float(r[key]) for r in runs.get((scen, server), []) if key in r]
    return [x for x in v if x >= 0]


def med(scen, server, key):
    v = vals(scen, server, key)
    return statistics.median(v) if v else None


def fmt(v, kind):
    if v is None:
        return 'n/a'
    if kind == 'rate':
        return f'{v / 1e6:.2f} M' if v >= 1e6 else f'{v / 1e3:.0f} k'
    if kind == 'ms':
        return f'{v / 1000:.2f} ms'
    if kind == 'mib':
        return f'{v / 1048576:.2f} MiB'
    if kind == 'count':
        return f'{v:,.0f}'
    return f'{v / 1024:.2f} KiB'


def ratio(a, b, lower_better):
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    return b / a if lower_better else a / b


def pratio(scen_a, server_a, scen_b, server_b, key, lower_better):
    a = {r['rep']: float(r[key]) for r in runs.get((scen_a, server_a), [])
         if key in r}
    b = {r['rep']: float(r[key]) for r in runs.get((scen_b, server_b), [])
         if key in r}
    rs = [ratio(a[k], b[k], lower_better) for k in a if k in b]
    rs = [x for x in rs if x is not None]
    return statistics.median(rs) if rs else None


def rfmt(r):
    return 'n/a' if r is None else f'{r:.2f}x'


def yes(ok):
    return 'n/a' if ok is None else ('yes' if ok else 'no')


def table(head, rows):
    print('| ' + ' | '.join(head) + ' |')
    print('|' + '|'.join(['---'] * len(head)) + '|')
    for r in rows:
        print('| ' + ' | '.join(r) + ' |')


# The fan-out table (issue 7), with the older chatd beside this one.
# For lower-is-better metrics a ratio says how many times better chatd is.
head = (['scenario', 'metric'] + servers +
        (['after/before'] if compare else []) +
        ['chatd/redis', 'chatd/roof', 'target', 'met'])
rows = []
speed = []			# (scenario, after/before) per daemon-CPU-second


def row(scen, title, metric, key, kind, target, check, lower_better=False):
    if not any(runs.get((scen, s)) for s in servers):
        return
    v = {s: med(scen, s, key) for s in servers}
    rr, rf = (pratio(scen, 'chatd', scen, x, key, lower_better)
              for x in ('redis', 'roof'))
    ab = [pratio(scen, 'chatd', scen, before, key, lower_better)]
    if key == 'dpcs':
        speed.append((title.split(':')[0], ab[0]))
    rows.append([title, metric] + [fmt(v[s], kind) for s in servers] +
                [rfmt(x) for x in ab if compare] +
                [rfmt(rr), rfmt(rf), target,
                 check(v.get('chatd'), rr, rf)])


def s1_check(c, rr, rf):
    if rr is None or rf is None:
        return 'n/a'
    return (f'{yes(rr >= 1.1 and rf >= 0.9)} (redis {yes(rr >= 1.1)}, '
            f'roof {yes(rf >= 0.9)})')


row('s1', '1: 1 room x 1,000 members, 1 publisher, 64 in flight',
    'deliveries per daemon-CPU-s', 'dpcs', 'rate',
    '>= 1.1x redis, >= 0.9x roof', s1_check)
row('s1', '1: (same)', 'p99 latency', 'p99_us', 'ms', '',
    lambda *a: '', lower_better=True)
row('s2', '2: 1 room x 100 members, 10 publishers, 16 in flight each',
    'deliveries per daemon-CPU-s', 'dpcs', 'rate', '>= 2x redis',
    lambda c, rr, rf: yes(None if rr is None else rr >= 2))
row('s3', '3: 1,000 rooms x 10 members, 1 msg/s each',
    'deliveries per daemon-CPU-s', 'dpcs', 'rate', '>= 1.0x redis',
    lambda c, rr, rf: yes(None if rr is None else rr >= 1.0))
row('s3l', '3: (same) at 0.2 msg/s each', 'p99 latency', 'p99_us', 'ms',
    '<= 0.7 ms', lambda c, rr, rf: yes(None if c is None else c <= 700),
    lower_better=True)
row('s4', f'4: 19,000 idle clients in 1,900 rooms, after {settle} s',
    'daemon RSS per client', 'rss_per_client_b', 'bytes', '<= 1.5 KiB',
    lambda c, rr, rf: yes(None if c is None else c <= 1536),
    lower_better=True)

# Scenario 5: the others' p99 with and without a member that stops reading.
ran5 = any(runs.get(('s5', s)) for s in servers)
base = {s: med('s5b', s, 'p99_us') for s in servers}
stall = {s: med('s5', s, 'p99_us') for s in servers}
ab = [pratio('s5b', 'chatd', 's5b', before, 'p99_us', True)] * compare
rows.extend([] if not ran5 else [['5: 1 room x 20 members, 10 publishers x 500 msg/s',
             'p99 latency'] + [fmt(base[s], 'ms') for s in servers] +
            [rfmt(x) for x in ab] +
            [rfmt(pratio('s5b', 'chatd', 's5b', 'redis', 'p99_us', True)),
             'n/a', '', '']])
change = pratio('s5', 'chatd', 's5b', 'chatd', 'p99_us', False)
ab = [pratio('s5', 'chatd', 's5', before, 'p99_us', True)] * compare
rows.extend([] if not ran5 else [['5: (same), one member stops reading',
             'p99 latency of the others'] +
            [fmt(stall[s], 'ms') for s in servers] + [rfmt(x) for x in ab] +
            [rfmt(pratio('s5', 'chatd', 's5', 'redis', 'p99_us', True)),
             'n/a', 'no change', 'n/a' if change is None else
             f'{yes(change <= 1.25)} ({change:.2f}x the baseline)']])
cut = {}
for s in servers:
    c = [float(r['stall_cut_s']) for r in runs.get(('s5', s), [])]
    cut[s] = ('n/a' if not c else 'never' if max(c) < 0 else
              f'{statistics.median([x for x in c if x >= 0]):.1f} s' +
              ('' if min(c) >= 0 else ' (not every run)'))
chatd_cuts = [float(r['stall_cut_s']) for r in runs.get(('s5', 'chatd'), [])]
rows.extend([] if not ran5 else [['5: (same)', 'the stalled member is cut after'] +
            [cut[s] for s in servers] + [''] * compare +
            ['', '', 'cut at sendq-hard',
             yes(min(chatd_cuts) >= 0 if chatd_cuts else None)]])


def faults(s):
    rs = [r for (sc, sv), rl in runs.items() if sv == s
          and not sc.startswith('attack') for r in rl
          if r.get('mode') != 'idle']
    if not rs:
        return None
    return sum(int(r.get(k, 0)) for r in rs
               for k in ('lost', 'dup', 'ooo', 'bad', 'cut'))


f = {s: faults(s) for s in servers + irc_servers}
rows.append(['all', 'lost + duplicated + out-of-order deliveries, '
             'members cut'] +
            ['n/a' if f[s] is None else str(f[s]) for s in servers] +
            [''] * compare +
            ['', '', '0', yes(None if f.get('chatd') is None
                              else f['chatd'] == 0)])

loads = sorted(float(r['load']) for rl in runs.values() for r in rl
               if 'load' in r)
print(f'**{machine}**; each cell the median of {reps} rounds, each ratio '
      f'the median of the ratios within a round; {elapsed} s in all' +
      (f'; load average (1 min) at the start of a run {loads[0]:.2f} to '
       f'{loads[-1]:.2f}, median {statistics.median(loads):.2f}'
       if loads else '') + '.')
print()
table(head, rows)
if compare:
    print()
    print(f'Per daemon-CPU-second, chatd against {before} (asked: no '
          'scenario below 0.90x): ' + ', '.join(
              f'{s} {rfmt(r)}' + ('' if r is None or r >= 0.9 else
                                  ' (SLOWER)') for s, r in speed) + '.')

# Issue 11: the IRC front-end in a 1,000-member room, beside inspircd,
# ngircd and chatd's own line protocol, per daemon-CPU-second.
if irc_servers and any(runs.get(('s1', s)) for s in irc_servers):
    cols = (['chatd'] if 'chatd' in servers else []) + irc_servers
    peers = [p for p in ('inspircd', 'ngircd', 'chatd') if p in cols]
    rows = []

    def irow(title, metric, key, kind, target='', check=None,
             lower_better=False, scale=1.0):
        v = {s: med('s1', s, key) for s in cols}
        rs = {p: pratio('s1', 'chatd-irc', 's1', p, key, lower_better)
              for p in peers}
        rows.append([title, metric] +
                    [fmt(None if v[s] is None else v[s] * scale, kind)
                     for s in cols] +
                    [rfmt(rs[p]) for p in peers] +
                    [target, check(rs) if check else ''])

    def irc_check(rs):
        ri, rl = rs.get('inspircd'), rs.get('chatd')
        if ri is None or rl is None:
            return 'n/a'
        return (f'{yes(ri >= 2 and rl >= 0.9)} (inspircd {yes(ri >= 2)}, '
                f'line {yes(rl >= 0.9)})')

    irow('1: 1 room x 1,000 members, 1 publisher, 64 in flight',
         'deliveries per daemon-CPU-s', 'dpcs', 'rate',
         '>= 2x inspircd, >= 0.9x chatd (line)', irc_check)
    irow('1: (same)', 'deliveries per second', 'dps', 'rate')
    rows.append(['1: (same)', 'daemon CPU, % of one core'] +
                [(lambda v: 'n/a' if not v else
                  f'{statistics.median(v):.0f}')(
                    [100 * float(r['cpu']) / float(r['secs'])
                     for r in runs.get(('s1', s), [])]) for s in cols] +
                [''] * len(peers) + ['', ''])
    irow('1: (same)', 'p50 latency', 'p50_us', 'ms', lower_better=True)
    irow('1: (same)', 'p99 latency', 'p99_us', 'ms', lower_better=True)

    def s1_faults(s):
        rs = runs.get(('s1', s), [])
        return None if not rs else sum(int(r.get(k, 0)) for r in rs for k in
                                       ('lost', 'dup', 'ooo', 'bad', 'cut'))
    fl = {s: s1_faults(s) for s in cols}
    rows.append(['1: (same)', 'lost + duplicated + out-of-order '
                 'deliveries, members cut, all rounds'] +
                ['n/a' if fl[s] is None else str(fl[s]) for s in cols] +
                [''] * len(peers) + ['0', yes(None if fl.get('chatd-irc')
                                          is None else fl['chatd-irc'] == 0)])
    print()
    print('IRC front-end (issue 11): chatd-irc is this chatd with its '
          'clients on its IRC listener, chatd its line protocol; an IRC '
          'message reaches 999 members (no echo), a line one 1,000 (its '
          'echo). Ratios are chatd-irc against each, within a round; for '
          'latency, how many times lower chatd-irc\'s is.')
    print()
    table(['scenario', 'metric'] + cols +
          [f'chatd-irc/{"chatd (line)" if p == "chatd" else p}'
           for p in peers] + ['target', 'met'], rows)

# The attack scenario: bystanders in the lobby, one address attacking.
chatds = [s for s in servers if runs.get(('attack', s))]
if not chatds:
    sys.exit(0)
cols = [(s, sc) for s in chatds for sc in ('attackb', 'attack')]


def cell(s, sc, key, kind, scale=1.0, spread=False):
    v = vals(sc, s, key)
    if not v:
        return 'n/a'
    m = fmt(statistics.median(v) * scale, kind)
    if spread and min(v) != max(v):
        m += f' ({fmt(min(v) * scale, kind)}-{fmt(max(v) * scale, kind)})'
    return m


def arow(metric, key, kind, scale=1.0, spread=False, only=None):
    rows.append([metric] + [cell(s, sc, key, kind, scale, spread)
                            if only in (None, sc) else ''
                            for s, sc in cols])


def derived(metric, fn, kind):
    out = []
    for s, sc in cols:
        v = [fn(r) for r in runs.get((sc, s), [])]
        v = [x for x in v if x is not None]
        out.append(fmt(statistics.median(v), kind) if v else 'n/a')
    rows.append([metric] + out)


rows = []
arow('bystanders cut by the server (of 200), median (range)', 'cut', 'count',
     spread=True)
arow('first cut, after the attack driver started', 'first_cut_ms', 'ms',
     scale=1000)
arow('deliveries to bystanders in the measured window', 'deliveries',
     'count')
derived('lost + duplicated + out of order, bystanders not cut',
        lambda r: sum(int(r[k]) for k in ('lost', 'dup', 'ooo', 'bad')),
        'count')
arow('bystanders\' p50 latency', 'p50_us', 'ms')
arow('bystanders\' p99 latency', 'p99_us', 'ms', spread=True)
derived('daemon CPU, % of one core',
        lambda r: 100 * float(r['cpu']) / float(r['secs']), 'count')
arow('held_bytes peak (stats, every 100 ms)', 'a_held_max', 'mib')
arow('daemon RSS peak', 'a_rss_max_kb', 'mib', scale=1024)
arow('clients cut as slow consumers (stats)', 'a_slow_cut', 'count')
arow('flood pauses (stats)', 'a_flood_pauses', 'count')
arow('lines read, everyone (stats lines_in)', 'a_lines_in', 'count')
arow('attacker: connections completed', 'a_connects', 'count',
     only='attack')
arow('attacker: refused as too many connects', 'a_refused_connect_rate',
     'count', only='attack')
arow('attacker: its connections the server closed', 'a_closed_by_server',
     'count', only='attack')
print()
print('Attack scenario: 200 bystanders in #lobby from 127.0.0.2-11, 10 of '
      'them publishing 8 msg/s each; one address (127.0.0.99) attacking '
      'with the bursts of issue 10, or not (the baseline run just before). '
      'Medians of the rounds.')
print()
table(['metric'] + [f'{s}, {"attack" if sc == "attack" else "no attack"}'
                    for s, sc in cols], rows)
