#!/usr/bin/env python3
"""Memory per idle TLS connection: starts postinod with the test echo
protocol on 127.0.0.1, opens N TLS connections that each complete the
handshake and one command, then measures the server's RSS growth / N.
Prints each run and the median. Run by hand (never in CI):

    t/bench/idle_tls_rss.py [BUILD_DIR] [--connections N] [--runs R]
"""
import argparse
import os
import resource
import socket
import statistics
import subprocess
import tempfile
import time

from benchlib import client_tls, free_port, make_cert, rss_kib, wait_port


def one_run(build, n):
    with tempfile.TemporaryDirectory(prefix="postino-bench-") as d:
        cert, key = make_cert(d)
        port = free_port()
        os.mkdir(os.path.join(d, "modules.d"))
        with open(os.path.join(d, "postino.conf"), "w") as f:
            f.write(f"[server]\nstate_dir = {d}/var\nmodules_dir = "
                    f"{build}/t/modules\nlog_level = warning\n"
                    f"[tls]\ncert = {cert}\nkey = {key}\n")
        with open(os.path.join(d, "modules.d", "echo.conf"), "w") as f:
            f.write("[module]\nload = echo\n[listener bench]\n"
                    f"address = 127.0.0.1\nport = {port}\nprotocol = echo\n"
                    "tls = implicit\n")
        proc = subprocess.Popen([f"{build}/core/daemon/postinod", "-c",
                                 os.path.join(d, "postino.conf")],
                                stderr=subprocess.DEVNULL)
        try:
            wait_port(port)
            ctx = client_tls()
            warm = []
            for _ in range(20):  # allocator and GnuTLS warm-up
                s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
                s.recv(100)
                warm.append(s)
            time.sleep(0.3)
            before = rss_kib(proc.pid)
            conns = []
            for _ in range(n):
                s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
                s.recv(100)            # greeting
                s.sendall(b"ECHO x\r\n")
                s.recv(100)
                conns.append(s)
            time.sleep(0.5)
            after = rss_kib(proc.pid)
            for s in conns + warm:
                s.close()
            return (after - before) / n
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default=os.path.join(here, "../../build"))
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.connections * 2 + 200
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
    runs = [one_run(os.path.abspath(a.build), a.connections) for _ in range(a.runs)]
    for i, r in enumerate(runs, 1):
        print(f"run {i}: {r:.1f} KiB per idle TLS connection")
    print(f"median of {a.runs}: {statistics.median(runs):.1f} KiB per idle TLS "
          f"connection ({a.connections} connections, server RSS growth / N)")


if __name__ == "__main__":
    main()
