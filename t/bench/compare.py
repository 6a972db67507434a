#!/usr/bin/env python3
"""Postino against Debian's Postfix + Dovecot (LMTP) on the same machine,
the same certificate, users, password hash and load, in alternation
(postino, peer, postino, peer, ...) for every figure. Prints each round,
medians, min-max and the postino/peer ratio; --doc FILE rewrites the
results block of doc/performance.md. Run by hand through t/bench/run
(never in CI): it needs root, Postfix, Dovecot and valgrind.

    t/bench/compare.py BUILD_DIR [--quick] [--rounds 3] [--only smtp,pop3,...]
"""
import argparse
import asyncio
import json
import os
import platform
import re
import resource
import shutil
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time

import loadgen
from benchlib import DOMAIN, Postino, body_4k, make_cert, pss_kib, rss_kib, wait_port
from peer import Peer

HERE = os.path.dirname(os.path.abspath(__file__))
FIGURES = ("smtp", "imap", "bigbox", "pop3", "idle", "tls", "cpu")

FULL = dict(smtp_msgs=10000, smtp_sessions=20, mixed_msgs=5000, mixed_clients=50,
            mixed_seconds=20, big_msgs=100000, pop_msgs=1000, idle=1000,
            imap_idle=10000, peer_idle=2000, tls_seconds=10)
QUICK = dict(smtp_msgs=1000, smtp_sessions=20, mixed_msgs=500, mixed_clients=10,
             mixed_seconds=4, big_msgs=5000, pop_msgs=200, idle=100,
             imap_idle=500, peer_idle=500, tls_seconds=3)


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(want, hard) if hard != resource.RLIM_INFINITY else want
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def run(coro):
    return asyncio.run(coro)


def smtp_source(target, n, sessions, rcpt):
    """Postfix's smtp-source: n messages of 4 KiB over `sessions` parallel
    sessions that stay connected (-d)."""
    subprocess.run(["smtp-source", "-d", "-s", str(sessions), "-m", str(n),
                    "-l", "4096", "-f", "bench@example.org", "-t",
                    f"{rcpt}@{DOMAIN}", f"127.0.0.1:{target}"], check=True)


def wait_count(server, user, n, timeout=1800):
    """Polls POP3 STAT (the same client for both servers) until the
    mailbox shows n messages."""
    deadline = time.monotonic() + timeout
    while True:
        got = run(loadgen.pop3_stat(server.pop3s_port, f"{user}@{DOMAIN}"))
        if got >= n:
            if got > n:
                raise RuntimeError(f"{server.name}: {user} has {got} > {n}")
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name}: {user} stuck at {got}/{n}")
        time.sleep(0.2)   # each poll is a login: yescrypt on the server


def populate(server, user, n):
    """Gives user n 4 KiB messages (set-up, not measured): through
    Postino's MX listener, as files in the peer's maildir."""
    if isinstance(server, Peer):
        server.fill_maildir(user, body_4k(), n)
    else:
        smtp_source(server.mx_port, n, 20, user)
    wait_count(server, user, n)


# -- figures: each returns one value for one server --------------------------

def fig_smtp(server, cfg, rnd):
    """Seconds from the first SMTP connection until every message of the
    run is fetchable by POP3 -> messages/s."""
    user = f"smtp{rnd}"
    n = cfg["smtp_msgs"]
    t = time.monotonic()
    smtp_source(server.mx_port, n, cfg["smtp_sessions"], user)
    wait_count(server, user, n)
    return n / (time.monotonic() - t)


def loadgen_procs(args_list):
    """Runs loadgen.py once per argument list in parallel processes."""
    procs = [subprocess.Popen([sys.executable, os.path.join(HERE, "loadgen.py")] + a,
                              stdout=subprocess.PIPE) for a in args_list]
    out = []
    for p in procs:
        data, _ = p.communicate()
        if p.returncode != 0:
            raise RuntimeError("loadgen failed")
        out.append(json.loads(data))
    return out


def fig_imap(server, cfg, rnd):
    """50 clients (2 processes) of mixed IMAP commands on one 5,000-message
    mailbox: ops/s and the p99 latency (ms)."""
    half = cfg["mixed_clients"] // 2
    res = loadgen_procs([["imap-mixed", str(server.imaps_port), f"mixed@{DOMAIN}",
                          "--clients", str(half), "--seconds", str(cfg["mixed_seconds"]),
                          "--seed", str(rnd * 10 + i)] for i in (1, 2)])
    lat = sorted(x for r in res for x in r["lat"])
    ops = sum(r["ops"] for r in res)
    secs = max(r["seconds"] for r in res)
    return ops / secs, lat[int(len(lat) * 0.99)] * 1000


def fig_bigbox(server, cfg, rnd):
    r = run(loadgen.imap_big_select(server.imaps_port, f"big@{DOMAIN}"))
    if r["fetched"] != cfg["big_msgs"]:
        raise RuntimeError(f"{server.name}: FETCH 1:* gave {r['fetched']}")
    return r["seconds"]


def fig_pop3(server, cfg, rnd):
    r = run(loadgen.pop3_retr_all(server.pop3s_port, f"pop@{DOMAIN}"))
    if r["messages"] != cfg["pop_msgs"] or r["bytes"] < 4000 * cfg["pop_msgs"]:
        raise RuntimeError(f"{server.name}: RETR gave {r}")
    return r["seconds"]


def idle_mode(postino):
    return "imap" if postino.has_imap else "pop3"


def memory_kib(server):
    """Postino: its one process's RSS. Peer: the PSS sum of every Dovecot
    process (one or two per connection share their code pages)."""
    if isinstance(server, Peer):
        return pss_kib(server.pids())
    return rss_kib(server.proc.pid)


def fig_idle(server, cfg, rnd, mode, users):
    if isinstance(server, Peer):
        # Two processes per TLS session (~1.8 MiB): 10,000 would take
        # more memory than a bench machine has; the cost per connection
        # is flat from 1,000 up.
        users = users[:cfg["peer_idle"]]
    else:
        # A fresh process: after a round, freed session memory stays
        # resident and the next round's sessions reuse it (growth ~0).
        server.stop()
        server.start()

    async def go():
        before = memory_kib(server)
        port = server.imaps_port if mode == "imap" else server.pop3s_port
        conns = await loadgen.open_idle(mode, port, users)
        await asyncio.sleep(1.0)
        after = memory_kib(server)
        for c in conns:
            c.w.close()
        await asyncio.sleep(0.5)
        return (after - before) / len(users)
    per = run(go())
    time.sleep(2)   # let the servers tear the sessions down
    return per


def fig_tls(server, cfg, rnd):
    res = loadgen_procs([["handshakes", str(server.pop3s_port), "--seconds",
                          str(cfg["tls_seconds"]), "--concurrency", "4"]
                         for _ in (1, 2)])
    return sum(r["handshakes"] for r in res) / max(r["seconds"] for r in res)


def callgrind_ir(build, d, cert, key, messages):
    """Total instructions postinod executes for start, one SMTP session
    with `messages` 4 KiB messages to a local mailbox, and stop."""
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    p = Postino(build, d, cert, key)
    p.add_users(["cg"])
    out = os.path.join(d, "callgrind.out")
    p.start(wrapper=["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"])
    try:
        s = smtplib.SMTP("127.0.0.1", p.mx_port, timeout=600)
        s.ehlo("bench.example.org")
        for _ in range(messages):
            s.sendmail("bench@example.org", [f"cg@{DOMAIN}"], body_4k())
        s.quit()
    finally:
        p.stop()
    with open(out) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("no callgrind totals")


def fig_cpu(build, root, cert, key):
    d = os.path.join(root, "callgrind")
    base = callgrind_ir(build, d, cert, key, 1)
    more = callgrind_ir(build, d, cert, key, 11)
    return (more - base) / 10


# -- report -------------------------------------------------------------------

def stats(v):
    return statistics.median(v), min(v), max(v)


def fmt(v, unit):
    if unit == "ms" or unit == "s":
        return f"{v:.3f}" if v < 10 else f"{v:.1f}"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


ROWS = [
    # key, figure, unit, higher is better, target ratio (postino/peer)
    ("smtp", "SMTP accept -> visible in mailbox", "msgs/s", True, 2.0),
    ("imap", "IMAP mixed ops", "ops/s", True, 1.5),
    ("imap_p99", "IMAP mixed ops, p99 latency", "ms", False, 1.0),
    ("bigbox", "big mailbox SELECT + FETCH 1:* (UID FLAGS)", "s", False, 1.0),
    ("pop3", "POP3 RETR all in one session", "s", False, 1.0),
    ("idle", "idle logged-in TLS connections", "KiB/conn", False, None),
    ("tls", "TLS 1.3 handshakes, 2 client processes", "conn/s", True, 1.0),
]


def table(results, loads, notes):
    out = ["| figure | load | unit | postino median (min–max) | "
           "postfix+dovecot median (min–max) | postino/peer | target | met |",
           "|---|---|---|---|---|---|---|---|"]
    for key, name, unit, higher, target in ROWS:
        if key not in results:
            continue
        r = results[key]
        peer = stats(r["peer"])
        peer_s = f"{fmt(peer[0], unit)} ({fmt(peer[1], unit)}–{fmt(peer[2], unit)})"
        if not r["postino"]:
            post_s, ratio_s, met = r.get("na", "n/a"), "–", "n/a"
        else:
            post = stats(r["postino"])
            post_s = f"{fmt(post[0], unit)} ({fmt(post[1], unit)}–{fmt(post[2], unit)})"
            ratio = post[0] / peer[0] if peer[0] else float("inf")
            ratio_s = f"{ratio:.2f}"
            if key == "idle":
                target_s = "≤ 40 KiB"
                met = "yes" if post[0] <= 40 else "NO"
            elif higher:
                met = "yes" if ratio >= target else "NO"
            else:
                met = "yes" if ratio <= target else "NO"
        if key == "idle":
            target_s = "≤ 40 KiB/conn"
        elif higher:
            target_s = f"≥ {target}× peer"
        else:
            target_s = "≤ peer" if target == 1.0 else f"≤ {target}× peer"
        out.append(f"| {name} | {loads[key]} | {unit} | {post_s} | {peer_s} | "
                   f"{ratio_s} | {target_s} | {met} |")
    if "cpu" in results:
        out.append(f"| CPU per message (callgrind Ir, accept + store one 4 KiB "
                   f"message over an open SMTP session) | 11 − 1 messages / 10 | "
                   f"instructions | {results['cpu']:,.0f} | – | – | report; must "
                   f"not grow | – |")
    return "\n".join(out + [""] + [f"- {n}" for n in notes])


def cmd_out(args):
    try:
        return subprocess.run(args, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def header(build, args, rounds, commit):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    post = cmd_out([f"{build}/core/daemon/postinod", "--version"])
    return (f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
            f"- machine: {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, "
            f"Linux {platform.release()} (shared with other builds: noisy)\n"
            f"- postino: {post} (commit {commit}, buildtype release)\n"
            f"- peer: Postfix {cmd_out(['postconf', '-d', '-h', 'mail_version'])}, "
            f"Dovecot {cmd_out(['dovecot', '--version'])}\n"
            f"- mode: {'quick' if args.quick else 'full'}, {rounds} rounds, "
            f"A/B alternation (postino, peer) within each round"
            + (f"; sizes changed: {', '.join(args.set)}" if args.set else "") + "\n")


def write_doc(path, text, block="results"):
    """Replaces the text between <!-- BLOCK:begin --> and <!-- BLOCK:end -->
    of path."""
    with open(path) as f:
        doc = f.read()
    begin, end = f"<!-- {block}:begin -->", f"<!-- {block}:end -->"
    i, j = doc.index(begin) + len(begin), doc.index(end)
    with open(path, "w") as f:
        f.write(doc[:i] + "\n" + text + "\n" + doc[j:])


# -- main ---------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default=",".join(FIGURES))
    ap.add_argument("--doc")
    ap.add_argument("--workdir", help="an empty directory to work in")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=N",
                    help="override one load size, e.g. smtp_msgs=2000")
    a = ap.parse_args()
    # SIGTERM/SIGHUP unwind like ^C, so the servers are always stopped.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(1))
    build = os.path.abspath(a.build)
    # The tree the binaries were built from: read now, since work may
    # be committed while a full run (an hour) goes on.
    commit = cmd_out(["git", "-C", HERE, "describe", "--always", "--dirty"])
    cfg = dict(QUICK if a.quick else FULL)
    for kv in a.set:
        k, v = kv.split("=", 1)
        if k not in cfg:
            ap.error(f"--set: no load size {k}")
        cfg[k] = int(v)
    only = set(a.only.split(","))
    raise_nofile(2 * max(cfg["idle"], cfg["imap_idle"]) + 4096)
    results, notes = {}, []
    root = a.workdir or tempfile.mkdtemp(prefix="postino-compare-")
    os.chmod(root, 0o755)   # the peer's daemons run as their own users
    postino = peer = None
    try:
        cert, key = make_cert(root)
        postino = Postino(build, os.path.join(root, "postino"), cert, key)
        imap_idle = postino.has_imap
        n_idle = cfg["imap_idle"] if imap_idle else cfg["idle"]
        idle_users = (["mixed"] * n_idle if imap_idle
                      else [f"idle{i:05d}" for i in range(n_idle)])
        users = ([f"smtp{r}" for r in range(a.rounds)] + ["pop", "big", "mixed"]
                 + (idle_users if "idle" in only and not imap_idle else []))
        print(f"creating {len(users)} accounts", flush=True)
        postino.add_users(users)
        peer_dir = os.path.join(root, "peer")
        os.makedirs(peer_dir)
        peer = Peer(peer_dir, cert, key, users, postino.password_hash())
        postino.start()
        peer.start()
        both = (postino, peer)
        imap_servers = both if postino.has_imap else (peer,)
        print("populating mailboxes", flush=True)
        for s in both:
            if "pop3" in only:
                populate(s, "pop", cfg["pop_msgs"])
        for s in imap_servers:
            if "imap" in only:
                populate(s, "mixed", cfg["mixed_msgs"])
            if "bigbox" in only:
                populate(s, "big", cfg["big_msgs"])
                fig_bigbox(s, cfg, 0)     # both start from built indexes
        loads = {
            "smtp": f"smtp-source, {cfg['smtp_sessions']} sessions, "
                    f"{cfg['smtp_msgs']:,} × 4 KiB, until all fetchable",
            "imap": f"{cfg['mixed_clients']} clients, {cfg['mixed_msgs']:,}-message "
                    f"mailbox, {cfg['mixed_seconds']} s",
            "bigbox": f"{cfg['big_msgs']:,} messages",
            "pop3": f"{cfg['pop_msgs']:,} × 4 KiB, one session, TLS",
            "idle": (f"{n_idle:,} IMAP IDLE over TLS (peer: "
                     f"{min(n_idle, cfg['peer_idle']):,})" if imap_idle else
                     f"{n_idle:,} POP3 over TLS, logged in (no imap.so yet)"),
            "tls": f"POP3S port, {cfg['tls_seconds']} s, 2 × 4 concurrent",
        }
        loads["imap_p99"] = loads["imap"]
        plan = [("smtp", fig_smtp, both), ("imap", fig_imap, imap_servers),
                ("bigbox", fig_bigbox, imap_servers), ("pop3", fig_pop3, both),
                ("idle", lambda s, c, r: fig_idle(s, c, r, idle_mode(postino),
                                                  [f"{u}@{DOMAIN}" for u in idle_users]),
                 both),
                ("tls", fig_tls, both)]
        for fig, fn, servers in plan:
            if fig not in only:
                continue
            results[fig] = {"postino": [], "peer": []}
            if fig == "imap":
                results["imap_p99"] = {"postino": [], "peer": []}
            if postino not in servers:
                results[fig]["na"] = "n/a (no imap.so)"
                if fig == "imap":
                    results["imap_p99"]["na"] = "n/a (no imap.so)"
            for rnd in range(a.rounds):
                for s in servers:
                    v = fn(s, cfg, rnd)
                    side = "postino" if s is postino else "peer"
                    if fig == "imap":
                        results[fig][side].append(v[0])
                        results["imap_p99"][side].append(v[1])
                    else:
                        results[fig][side].append(v)
                    print(f"{fig} round {rnd + 1} {s.name}: {v}", flush=True)
    finally:
        for s in (postino, peer):
            if s is not None:
                s.stop()
    if "cpu" in only:
        results["cpu"] = fig_cpu(build, root, cert, key)
        print(f"cpu: {results['cpu']:.0f} instructions per message", flush=True)
    if not a.workdir:
        shutil.rmtree(root, ignore_errors=True)
    if "idle" in results:
        notes.append("idle: postino = its process's RSS growth / connections; "
                     "peer = growth of the PSS sum over all Dovecot processes "
                     "(one login proxy + one pop3/imap process per connection).")
    text = header(build, a, a.rounds, commit) + "\n" + table(results, loads, notes)
    print()
    print(text)
    if a.doc:
        write_doc(a.doc, text)


if __name__ == "__main__":
    main()
