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
import socket
import ssl
import statistics
import subprocess
import tempfile
import threading
import time

from benchlib import free_port, make_cert, wait_port

PASSWORD = "Bench-password-42"






def one_run(build, senders, messages):
    with tempfile.TemporaryDirectory(prefix="postino-bench-") as d:
        cert, key = make_cert(d)
        port = free_port()
        conf = os.path.join(d, "postino.conf")
        os.mkdir(os.path.join(d, "modules.d"))
        with open(conf, "w") as f:
            f.write(f"[server]\nstate_dir = {d}/var\nmodules_dir = {build}/modules\n"
                    f"log_level = warning\n[tls]\ncert = {cert}\nkey = {key}\n"
                    f"[queue]\nrelayhost = 127.0.0.1:{free_port()}\n")
        with open(os.path.join(d, "modules.d", "smtp.conf"), "w") as f:
            f.write("[module]\nload = smtp\n[listener submission]\n"
                    f"address = 127.0.0.1\nport = {port}\nprotocol = submission\n"
                    "tls = starttls\n")
        cli = [f"{build}/core/cli/postino", "-c", conf]
        subprocess.run([f"{build}/core/daemon/postinod", "-c", conf, "--init"],
                       check=True, capture_output=True)
        subprocess.run(cli + ["domain", "add", "example.test"], check=True)
        for u in ("alice", "bob"):
            subprocess.run(cli + ["user", "add", f"{u}@example.test",
                                  "--password-stdin"], input=PASSWORD.encode(),
                           check=True)
        proc = subprocess.Popen([f"{build}/core/daemon/postinod", "-c", conf],
                                stderr=subprocess.DEVNULL)
        try:
            wait_port(port)
            body = ("Subject: bench\r\n\r\n" + ("x" * 76 + "\r\n") * 52).encode()
            assert 4000 < len(body) < 4200
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            per = messages // senders
            sessions = []
            for _ in range(senders):
                s = smtplib.SMTP("127.0.0.1", port, timeout=60)
                s.starttls(context=ctx)
                s.login("alice@example.test", PASSWORD)
                sessions.append(s)
            errors = []

            def send(s):
                try:
                    for _ in range(per):
                        s.sendmail("alice@example.test", ["bob@example.test"], body)
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
            proc.terminate()
            proc.wait(timeout=30)


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
