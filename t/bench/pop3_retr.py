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
import socket
import ssl
import statistics
import subprocess
import tempfile
import time

from benchlib import free_port, make_cert, wait_port

PASSWORD = "Bench-password-42"








def one_run(build, n):
    with tempfile.TemporaryDirectory(prefix="postino-bench-") as d:
        cert, key = make_cert(d)
        smtp_port, pop_port = free_port(), free_port()
        conf = os.path.join(d, "postino.conf")
        os.mkdir(os.path.join(d, "modules.d"))
        with open(conf, "w") as f:
            f.write(f"[server]\nstate_dir = {d}/var\nmodules_dir = {build}/modules\n"
                    f"log_level = warning\n[tls]\ncert = {cert}\nkey = {key}\n"
                    f"[queue]\nrelayhost = 127.0.0.1:{free_port()}\n")
        with open(os.path.join(d, "modules.d", "smtp.conf"), "w") as f:
            f.write("[module]\nload = smtp\n[listener submission]\n"
                    f"address = 127.0.0.1\nport = {smtp_port}\n"
                    "protocol = submission\ntls = starttls\n")
        with open(os.path.join(d, "modules.d", "pop3.conf"), "w") as f:
            f.write("[module]\nload = pop3\n[listener pop3s]\n"
                    f"address = 127.0.0.1\nport = {pop_port}\n"
                    "protocol = pop3\ntls = implicit\n")
        cli = [f"{build}/core/cli/postino", "-c", conf]
        subprocess.run([f"{build}/core/daemon/postinod", "-c", conf, "--init"],
                       check=True, capture_output=True)
        subprocess.run(cli + ["domain", "add", "example.test"], check=True)
        subprocess.run(cli + ["user", "add", "alice@example.test",
                              "--password-stdin"], input=PASSWORD.encode(),
                       check=True)
        proc = subprocess.Popen([f"{build}/core/daemon/postinod", "-c", conf],
                                stderr=subprocess.DEVNULL)
        try:
            wait_port(smtp_port)
            wait_port(pop_port)
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            body = ("Subject: bench\r\n\r\n" + ("x" * 76 + "\r\n") * 52).encode()
            s = smtplib.SMTP("127.0.0.1", smtp_port, timeout=60)
            s.starttls(context=ctx)
            s.login("alice@example.test", PASSWORD)
            for _ in range(n):
                s.sendmail("alice@example.test", ["alice@example.test"], body)
            s.quit()
            p = poplib.POP3_SSL("127.0.0.1", pop_port, context=ctx, timeout=60)
            p.user("alice@example.test")
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
            proc.terminate()
            proc.wait(timeout=30)


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
