#!/usr/bin/env python3
"""Postino with one and with two workers against Dovecot in its
high-performance login mode and in its default one (issue 20), on the same
machine, certificates, accounts, password hash and load, in alternation
(postino w=1, postino w=2, dovecot hp, dovecot default, then again) for
every figure. Prints each round, the medians with min-max, the ratios and
the server CPU each figure cost per handshake, login or message;
--doc FILE rewrites the workers block of doc/performance.md. Run by hand
through `t/bench/run --workers` (never in CI): it needs root, Postfix and
Dovecot.

    t/bench/workers.py BUILD_DIR [--quick] [--rounds 3] [--only tls,logins,...]
"""
import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import DOMAIN, Postino, make_cert
from compare import (cmd_out, loadgen_procs, populate, raise_nofile,
                     smtp_source, wait_count, write_doc)
from peer import Peer

FIGURES = ("tls", "logins", "mixed", "smtp")
FULL = dict(tls_seconds=10, login_seconds=15, login_msgs=20, mixed_msgs=5000,
            mixed_clients=50, mixed_seconds=20, smtp_msgs=3000,
            smtp_sessions=20)
QUICK = dict(tls_seconds=3, login_seconds=4, login_msgs=20, mixed_msgs=500,
             mixed_clients=10, mixed_seconds=4, smtp_msgs=300,
             smtp_sessions=10)
LOGIN_USERS = [f"login{i}" for i in range(10)]


class Measured:
    """A figure's result: the rate and the server CPU per unit of work."""

    def __init__(self, rate, cpu_per=None):
        self.rate, self.cpu_per = rate, cpu_per

    def __repr__(self):
        cpu = f", {self.cpu_per * 1000:.3f} ms CPU each" if self.cpu_per else ""
        return f"{self.rate:,.1f}{cpu}"


def cpu(server, postfix=False):
    if isinstance(server, Peer):
        return server.cpu_seconds(postfix=postfix)
    return server.cpu_seconds()


def fig_tls(server, cfg):
    """TLS 1.3 full handshakes to the IMAPS port (each reads the greeting
    and closes), 2 client processes x 4 concurrent."""
    before = cpu(server)
    res = loadgen_procs([["handshakes", str(server.imaps_port), "--seconds",
                          str(cfg["tls_seconds"]), "--concurrency", "4"]
                         for _ in (1, 2)])
    done = sum(r["handshakes"] for r in res)
    used = cpu(server) - before
    return Measured(done / max(r["seconds"] for r in res), used / done)


def fig_logins(server, cfg, clients):
    """The login-heavy mix (loadgen imap-logins) with clients in 2
    processes: sessions/s, and the CPU per session."""
    half = clients // 2
    users = ",".join(f"{u}@{DOMAIN}" for u in LOGIN_USERS)
    before = cpu(server)
    res = loadgen_procs([["imap-logins", str(server.imaps_port), users,
                          "--clients", str(half), "--seconds",
                          str(cfg["login_seconds"])] for _ in (1, 2)])
    done = sum(r["sessions"] for r in res)
    used = cpu(server) - before
    return Measured(done / max(r["seconds"] for r in res), used / done)


def fig_mixed(server, cfg):
    """IMAP mixed ops without logins (compare.py's mix): ops/s."""
    half = cfg["mixed_clients"] // 2
    before = cpu(server)
    res = loadgen_procs([["imap-mixed", str(server.imaps_port), f"mixed@{DOMAIN}",
                          "--clients", str(half), "--seconds",
                          str(cfg["mixed_seconds"]), "--seed", str(i)]
                         for i in (1, 2)])
    ops = sum(r["ops"] for r in res)
    used = cpu(server) - before
    return Measured(ops / max(r["seconds"] for r in res), used / ops)


def fig_smtp(server, cfg, rnd):
    """SMTP accept -> visible (smtp-source, then POP3 STAT polls):
    messages/s, and the server CPU per message (Postfix's too)."""
    user = f"smtp{rnd}"
    n = cfg["smtp_msgs"]
    before = cpu(server, postfix=True)
    t = time.monotonic()
    smtp_source(server.mx_port, n, cfg["smtp_sessions"], user)
    wait_count(server, user, n)
    rate = n / (time.monotonic() - t)
    return Measured(rate, (cpu(server, postfix=True) - before) / n)


ROWS = [
    # key, figure, unit
    ("tls_ecdsa", "TLS 1.3 handshakes, ECDSA P-256", "conn/s"),
    ("tls_rsa", "TLS 1.3 handshakes, RSA-2048", "conn/s"),
    ("logins_10", "IMAP login-heavy mix, 10 clients", "sessions/s"),
    ("logins_50", "IMAP login-heavy mix, 50 clients", "sessions/s"),
    ("mixed", "IMAP mixed ops without logins, 50 clients", "ops/s"),
    ("smtp", "SMTP accept -> visible", "msgs/s"),
]
CPU_UNIT = {"tls_ecdsa": "handshake", "tls_rsa": "handshake",
            "logins_10": "session", "logins_50": "session", "mixed": "op",
            "smtp": "message"}
SIDES = ("w1", "w2", "hp", "default")


def stats(v):
    return statistics.median(v), min(v), max(v)


def fmt(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def table(results):
    out = ["| figure | unit | postino w=1 | postino w=2 | dovecot hp | "
           "dovecot default | w2/hp | w2/default | w2/w1 | w1/hp |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    cpu_out = ["| figure | CPU per | postino w=1 | postino w=2 | dovecot hp | "
               "dovecot default |", "|---|---|---|---|---|---|"]
    for key, name, unit in ROWS:
        if key not in results:
            continue
        r = results[key]
        med = {s: stats([m.rate for m in r[s]]) for s in SIDES}
        cells = [f"{fmt(m[0])} ({fmt(m[1])}–{fmt(m[2])})"
                 for m in (med[s] for s in SIDES)]
        ratio = lambda a, b: f"{med[a][0] / med[b][0]:.2f}"
        out.append(f"| {name} | {unit} | " + " | ".join(cells) +
                   f" | {ratio('w2', 'hp')} | {ratio('w2', 'default')} | "
                   f"{ratio('w2', 'w1')} | {ratio('w1', 'hp')} |")
        cpus = [statistics.median(m.cpu_per for m in r[s]) * 1000
                for s in SIDES]
        cpu_out.append(f"| {name} | {CPU_UNIT[key]} | " +
                       " | ".join(f"{c:.3f} ms" for c in cpus) + " |")
    return "\n".join(out + [""] + cpu_out)


def header(build, a, commit, load):
    cpu_name = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_name = line.split(":", 1)[1].strip()
                break
    return (f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
            f"- machine: {cpu_name}, {os.cpu_count()} cores, Linux "
            f"{platform.release()}; load average before the run {load}\n"
            f"- postino: {cmd_out([f'{build}/core/daemon/postinod', '--version'])}"
            f" (commit {commit}, buildtype release)\n"
            f"- peer: Dovecot {cmd_out(['dovecot', '--version'])} behind Postfix "
            f"{cmd_out(['postconf', '-d', '-h', 'mail_version'])}; hp = "
            f"imap-login/pop3-login service_count = 0, process_min_avail = "
            f"{os.cpu_count()}; default = service_count = 1 (a login process "
            f"per connection); both with auth_cache_size = 10M\n"
            f"- mode: {'quick' if a.quick else 'full'}, {a.rounds} rounds, "
            f"servers alternated (w=1, w=2, hp, default) within each round\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default=",".join(FIGURES))
    ap.add_argument("--doc")
    ap.add_argument("--workdir")
    a = ap.parse_args()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(1))
    build = os.path.abspath(a.build)
    commit = cmd_out(["git", "-C", os.path.dirname(os.path.abspath(__file__)),
                      "describe", "--always", "--dirty"])
    load = open("/proc/loadavg").read().split()[0]
    cfg = dict(QUICK if a.quick else FULL)
    only = set(a.only.split(","))
    raise_nofile(20000)
    root = a.workdir or tempfile.mkdtemp(prefix="postino-workers-")
    os.chmod(root, 0o755)
    servers = {}
    results = {}
    try:
        ecdsa = make_cert(root, "ecdsa")
        rsa = make_cert(root, "rsa")
        users = ([f"smtp{r}" for r in range(a.rounds)] + ["mixed"] +
                 LOGIN_USERS)
        for w in (1, 2):
            p = Postino(build, os.path.join(root, f"postino-w{w}"), *ecdsa,
                        workers=w)
            p.add_users(users)
            servers[f"w{w}"] = p
        pw_hash = servers["w1"].password_hash()
        for mode in ("hp", "default"):
            d = os.path.join(root, f"peer-{mode}")
            os.makedirs(d)
            servers[mode] = Peer(d, *ecdsa, users, pw_hash, mode=mode,
                                 auth_cache=True)
        for s in servers.values():
            s.start()
        print("populating mailboxes", flush=True)
        for s in servers.values():
            for u in LOGIN_USERS:
                populate(s, u, cfg["login_msgs"])
            if "mixed" in only:
                populate(s, "mixed", cfg["mixed_msgs"])
        plan = []
        if "tls" in only:
            plan += [("tls_ecdsa", fig_tls, ecdsa), ("tls_rsa", fig_tls, rsa)]
        if "logins" in only:
            plan += [("logins_10", lambda s, c: fig_logins(s, c, 10), None),
                     ("logins_50", lambda s, c: fig_logins(s, c, 50), None)]
        if "mixed" in only:
            plan.append(("mixed", fig_mixed, None))
        for key, fn, cert in plan:
            if cert is not None:
                for s in servers.values():
                    s.set_cert(*cert)
            results[key] = {side: [] for side in SIDES}
            for rnd in range(a.rounds):
                for side in SIDES:
                    m = fn(servers[side], cfg)
                    results[key][side].append(m)
                    print(f"{key} round {rnd + 1} {servers[side].name}: {m}",
                          flush=True)
            if cert is not None:
                for s in servers.values():
                    s.set_cert(*ecdsa)
        if "smtp" in only:
            results["smtp"] = {side: [] for side in SIDES}
            for rnd in range(a.rounds):
                for side in SIDES:
                    m = fig_smtp(servers[side], cfg, rnd)
                    results["smtp"][side].append(m)
                    print(f"smtp round {rnd + 1} {servers[side].name}: {m}",
                          flush=True)
    finally:
        for s in servers.values():
            s.stop()
    if not a.workdir:
        shutil.rmtree(root, ignore_errors=True)
    text = header(build, a, commit, load) + "\n" + table(results)
    print()
    print(text)
    print(json.dumps({k: {s: [(m.rate, m.cpu_per) for m in v[s]] for s in v}
                      for k, v in results.items()}))
    if a.doc:
        write_doc(a.doc, text, "workers")


if __name__ == "__main__":
    main()
