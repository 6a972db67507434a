#!/usr/bin/env python3
"""SMTP accept throughput: S parallel senders, each on its own submission
session (STARTTLS + AUTH), send 4 KiB messages to a local mailbox; every
250 comes only after the durable commit. Prints messages/second per run and
the median. Run by hand (never in CI):

    t/bench/smtp_throughput.py [BUILD_DIR] [--senders 10] [--messages 2000] [--runs 3]
"""
import argparse
import os
import smtplib
import statistics
import tempfile
import threading
import time

from benchlib import DOMAIN, PASSWORD, Postino, body_4k, client_tls, make_cert


def one_run(build, senders, messages):
    with tempfile.TemporaryDirectory(prefix="postino-bench-") as d:
        cert, key = make_cert(d)
        srv = Postino(build, os.path.join(d, "postino"), cert, key)
        srv.add_users(["alice", "bob"])
        srv.start()
        try:
            body = body_4k()
            ctx = client_tls()
            per = messages // senders
            sessions = []
            for _ in range(senders):
                s = smtplib.SMTP("127.0.0.1", srv.submission_port, timeout=60)
                s.starttls(context=ctx)
                s.login(f"alice@{DOMAIN}", PASSWORD)
                sessions.append(s)
            errors = []

            def send(s):
                try:
                    for _ in range(per):
                        s.sendmail(f"alice@{DOMAIN}", [f"bob@{DOMAIN}"], body)
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(e)

            threads = [threading.Thread(target=send, args=(s,)) for s in sessions]
            start = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - start
            for s in sessions:
                s.quit()
            if errors:
                raise errors[0]
            return per * senders / elapsed
        finally:
            srv.stop()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default=os.path.join(here, "../../build"))
    ap.add_argument("--senders", type=int, default=10)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    runs = [one_run(os.path.abspath(a.build), a.senders, a.messages)
            for _ in range(a.runs)]
    for i, r in enumerate(runs, 1):
        print(f"run {i}: {r:.0f} messages/s")
    print(f"median of {a.runs}: {statistics.median(runs):.0f} messages/s "
          f"({a.senders} senders, 4 KiB, local delivery, 250 after durable commit)")


if __name__ == "__main__":
    main()
