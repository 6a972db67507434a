#!/usr/bin/env python3
"""POP3 RETR speed: N messages of 4 KiB delivered through SMTP, then one
POP3 session (TLS) RETRs them all; prints the time per run and the median.
Run by hand (never in CI):

    t/bench/pop3_retr.py [BUILD_DIR] [--messages 1000] [--runs 3]
"""
import argparse
import os
import poplib
import smtplib
import statistics
import tempfile
import time

from benchlib import DOMAIN, PASSWORD, Postino, body_4k, client_tls, make_cert


def one_run(build, n):
    with tempfile.TemporaryDirectory(prefix="postino-bench-") as d:
        cert, key = make_cert(d)
        srv = Postino(build, os.path.join(d, "postino"), cert, key)
        srv.add_users(["alice"])
        srv.start()
        try:
            ctx = client_tls()
            body = body_4k()
            s = smtplib.SMTP("127.0.0.1", srv.submission_port, timeout=60)
            s.starttls(context=ctx)
            s.login(f"alice@{DOMAIN}", PASSWORD)
            for _ in range(n):
                s.sendmail(f"alice@{DOMAIN}", [f"alice@{DOMAIN}"], body)
            s.quit()
            p = poplib.POP3_SSL("127.0.0.1", srv.pop3s_port, context=ctx, timeout=60)
            p.user(f"alice@{DOMAIN}")
            p.pass_(PASSWORD)
            count, _ = p.stat()
            assert count == n, count
            start = time.monotonic()
            total = 0
            for i in range(1, n + 1):
                _, lines, octets = p.retr(i)
                total += octets
            elapsed = time.monotonic() - start
            p.quit()
            assert total > n * 4000
            return elapsed
        finally:
            srv.stop()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default=os.path.join(here, "../../build"))
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    runs = [one_run(os.path.abspath(a.build), a.messages) for _ in range(a.runs)]
    for i, r in enumerate(runs, 1):
        print(f"run {i}: {r * 1000:.0f} ms")
    print(f"median of {a.runs}: {statistics.median(runs) * 1000:.0f} ms to RETR "
          f"{a.messages} messages of 4 KiB in one POP3 session over TLS")


if __name__ == "__main__":
    main()
