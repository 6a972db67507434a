"""Overload (issue 10, part 4): thousands of connections opened at once and
abandoned, the process out of file descriptors, slow-loris clients, and
clients that never read their replies. Meanwhile a well-behaved client
must complete a whole SMTP transaction and a POP3 session (correct replies
and stored bytes; no time limits). Afterwards the server's descriptor
count is back to its baseline, memory grew by a bounded amount per
connection, and SIGTERM ends it with exit 0 and no sanitizer report.

Slow loris: a client slower than the listener's command_timeout (the time
one command line may take once its first byte is in) is cut off with the
protocol's timeout reply and one log line, in clear and inside TLS; one
within it is served; complete commands with long pauses between them, and
a message body streamed for longer than command_timeout, are not cut off.

Each test runs its own postinod with smtp.so (an MX listener, plain with
STARTTLS) and pop3.so (implicit TLS) on 127.0.0.1, each also on a second
listener with a short command_timeout.
"""
import os
import poplib
import re
import resource
import selectors
import shutil
import select
import smtplib
import socket
import ssl
import time

import harness
from harness import (IO_TIMEOUT, MODULES_DIR, tls_client_context)

SMTP_SO = os.path.join(MODULES_DIR, "smtp.so")
POP3_SO = os.path.join(MODULES_DIR, "pop3.so")
HOST = "mail.example.test"
BOB = "bob@example.test"
PASSWORD = "Bob-Secret-0815"
ALICE = "alice@example.test"   # the mailbox of the client that never reads
ALICE_PASSWORD = "Alice-Secret-4711"
ABANDONED = 3000
WAVE = 400
# Memory per open, idle connection measured on a release build is ~13 KiB;
# ASan's redzones and quarantine add to it. A bound, not a benchmark.
MAX_BYTES_PER_CONN = 64 * 1024
SLOW_CLIENTS = 40
LORIS_CLIENTS = 10
NOOPS = 3000000      # 18 MB of commands, 42 MB of replies never read
SLOW_SECONDS = 4     # well within the default command_timeout (60s)
COMMAND_TIMEOUT = 2  # seconds, on the *-short listeners
# Lines a slow loris sends a byte a second: long enough that it could not
# finish them before the deadline on the most loaded machine.
LORIS_LINE = b"EHLO a-rather-slow-client.example.org\r\n"


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        new = min(want, hard) if hard != resource.RLIM_INFINITY else want
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def message(marker, body=b"Hello.\r\n"):
    return (f"From: <sender@example.org>\r\nTo: <{BOB}>\r\n"
            f"Subject: {marker}\r\nMessage-ID: <{marker}@test>\r\n"
            f"\r\n").encode() + body


class BioTLS:
    """TLS on a connected socket through memory BIOs: the test makes the
    records and sends their bytes at the pace it chooses."""

    def __init__(self, tc, sock):
        self.tc = tc
        self.sock = sock
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = tls_client_context().wrap_bio(
            self.incoming, self.outgoing, server_hostname=HOST)
        self.plain = bytearray()
        self.open = True

    def pump(self, when, until_line=False, once=False):
        """Sends what TLS queued, then takes what arrives until then (or
        until a line is in, one read is done, or EOF)."""
        if self.outgoing.pending:
            self.sock.sendall(self.outgoing.read())
        while self.open and time.monotonic() < when:
            if until_line and b"\r\n" in self.plain:
                return
            ready, _, _ = select.select([self.sock], [], [],
                                        when - time.monotonic())
            if not ready:
                return
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if data:
                self.incoming.write(data)
            else:
                self.incoming.write_eof()
                self.open = False
            while True:
                try:
                    chunk = self.tls.read(65536)
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    break
                if not chunk:
                    break
                self.plain.extend(chunk)
            if once:
                return

    def handshake(self):
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.tc.assertTrue(self.open, "EOF during the handshake")
                self.pump(time.monotonic() + IO_TIMEOUT, once=True)
        self.pump(time.monotonic())  # our last flight

    def records(self, data):
        """The TLS records carrying data, not yet sent."""
        self.tls.write(data)
        return self.outgoing.read()

    def readline(self):
        self.pump(time.monotonic() + IO_TIMEOUT, until_line=True)
        line, sep, rest = bytes(self.plain).partition(b"\r\n")
        self.tc.assertTrue(sep, f"no line; got {bytes(self.plain)!r}")
        self.plain = bytearray(rest)
        return line.decode()


class OverloadTest(harness.CertTestCase):

    cert_host = HOST
    modules = (SMTP_SO, POP3_SO)

    def setUp(self):
        super().setUp()
        raise_nofile(ABANDONED + 500)
        env = self.env
        parking = (f"\n[queue]\nrelayhost = 127.0.0.1:{harness.free_port()}\n"
                   "poll_interval = 1h\nretry_min = 1h\nretry_max = 1h\n")
        env.write_config(modules_dir=MODULES_DIR, server={"log_level": "info"},
                         extra=harness.tls_section(*self.cert) + parking)
        text, self.where = harness.listener_sections([
            {"name": "mx", "protocol": "smtp", "tls": "starttls",
             "max_connections": ABANDONED + 100},
            {"name": "mx-short", "protocol": "smtp", "tls": "starttls",
             "command_timeout": f"{COMMAND_TIMEOUT}s"}])
        env.write_module("smtp", extra=text)
        text, where = harness.listener_sections([
            {"name": "pop3s", "protocol": "pop3", "tls": "implicit"},
            {"name": "pop3s-short", "protocol": "pop3", "tls": "implicit",
             "command_timeout": f"{COMMAND_TIMEOUT}s"}])
        self.where.update(where)
        env.write_module("pop3", extra=text)
        env.init()
        env.cli_ok("domain", "add", "example.test")
        env.add_user(BOB, PASSWORD)
        env.add_user(ALICE, ALICE_PASSWORD)
        # In the ASan build freed memory waits in a quarantine (256 MB by
        # default) before reuse, so RSS would count every byte ever
        # allocated; a small one makes RSS measure live memory.
        asan = os.environ.get("ASAN_OPTIONS")
        os.environ["ASAN_OPTIONS"] = ((asan + ":") if asan else "") + \
            "quarantine_size_mb=4"
        # Started as service managers commonly start daemons: a soft limit
        # of 1024 open files (postinod raises it to the hard limit; the
        # 3000 connections below need that).
        ours = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, ours[1]))
        try:
            self.d = env.start()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, ours)
            if asan is None:
                os.environ.pop("ASAN_OPTIONS")
            else:
                os.environ["ASAN_OPTIONS"] = asan
        self.sent = 0

    # -- measuring the server

    def fds(self):
        return len(os.listdir(f"/proc/{self.d.pid}/fd"))

    def rss(self):
        return int(self.d.proc_status("VmRSS")[0]) * 1024

    def assert_running(self):
        if not self.d.running():
            self.fail(f"postinod died: exit {self.d.proc.returncode}; "
                      f"log:\n{self.d.log()[-3000:]}")

    def settle_fds(self, baseline):
        """Waits until the server holds no more descriptors than before."""
        self.env.poll(lambda: self.fds() <= baseline,
                      f"descriptors back to {baseline} (now {self.fds()})",
                      timeout=60)

    # -- the well-behaved client

    def good_client(self, listener="mx"):
        """One SMTP transaction and one POP3 session, checked end to end:
        the message just sent is the last one POP3 hands out."""
        self.sent += 1
        marker = f"good-{self.sent}"
        with smtplib.SMTP(*self.where[listener],
                          local_hostname="c.example.org",
                          timeout=IO_TIMEOUT) as s:
            code, _ = s.ehlo()
            self.assertEqual(code, 250)
            self.assertEqual(s.sendmail("sender@example.org", [BOB],
                                        message(marker)), {})
            self.assertEqual(s.noop()[0], 250)
        p = poplib.POP3_SSL(*self.where["pop3s"], timeout=IO_TIMEOUT,
                            context=tls_client_context())
        try:
            p.user(BOB)
            p.pass_(PASSWORD)
            count, _ = p.stat()
            self.assertEqual(count, self.sent)
            _, lines, _ = p.retr(count)
            data = b"\r\n".join(lines) + b"\r\n"
            self.assertTrue(data.endswith(message(marker)), data)
            self.assertTrue(p.quit().startswith(b"+OK"))
        finally:
            p.close()

    def all_disconnected(self):
        log = self.d.log()
        return (len(re.findall(r" connect listener=", log)) ==
                len(re.findall(r" disconnect reason=", log)))

    def warm_up(self):
        """Baseline after the first sessions allocated what stays, once
        the server has closed their connections."""
        self.good_client()
        self.env.poll(self.all_disconnected, "the warm-up sessions closed")
        return self.fds(), self.rss()

    # -- tests

    def open_many(self, n, listener="mx"):
        """n non-blocking connects at once; returns the sockets once every
        one is established."""
        socks = []
        sel = selectors.DefaultSelector()
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(self.where[listener])
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE)
        pending = len(socks)
        deadline = time.monotonic() + 60
        while pending > 0:
            self.assertLess(time.monotonic(), deadline,
                            f"{pending} connects still pending")
            for key, _ in sel.select(timeout=1):
                err = key.fileobj.getsockopt(socket.SOL_SOCKET,
                                             socket.SO_ERROR)
                self.assertEqual(err, 0, os.strerror(err))
                sel.unregister(key.fileobj)
                pending -= 1
        sel.close()
        return socks

    def test_abandoned_connections(self):
        soft, hard = resource.prlimit(self.d.pid, resource.RLIMIT_NOFILE)
        self.assertEqual(soft, hard, "postinod kept a soft fd limit")
        self.d.wait_for(f"info core: open files limit {hard}")
        fds0, rss0 = self.warm_up()
        # In waves of WAVE opened at once, each below the listen backlog
        # (511): past it the kernel drops handshakes the client already
        # thinks complete, and they reach the server only after SYN-ACK
        # retries, or never. All of them stay open together.
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        while len(socks) < ABANDONED:
            socks += self.open_many(min(WAVE, ABANDONED - len(socks)))
            self.env.poll(lambda: self.fds() >= fds0 + len(socks),
                          f"{len(socks)} connections accepted (server "
                          f"holds {self.fds() - fds0})", timeout=60)
        self.good_client()
        grown = self.rss() - rss0
        self.assertLess(grown / ABANDONED, MAX_BYTES_PER_CONN,
                        f"{grown} bytes for {ABANDONED} connections")
        # Abandon: half vanish with a reset, half with a plain close.
        for i, s in enumerate(socks):
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        self.settle_fds(fds0)
        self.assert_running()
        self.good_client()
        self.env.poll(self.all_disconnected, "every session closed")
        print(f"test_overload: {ABANDONED} connections: "
              f"{grown // ABANDONED} bytes RSS each", flush=True)
        self.d.stop()

    def test_out_of_descriptors(self):
        """The process runs out of descriptors while clients keep coming:
        it neither dies nor stops serving once they are gone."""
        fds0, _ = self.warm_up()
        limit = fds0 + 40
        old = resource.prlimit(self.d.pid, resource.RLIMIT_NOFILE)
        resource.prlimit(self.d.pid, resource.RLIMIT_NOFILE,
                         (limit, old[1]))
        socks = self.open_many(200)
        self.addCleanup(lambda: [s.close() for s in socks])
        # The server holds what it can and turns the rest away.
        self.env.poll(lambda: self.fds() >= limit - 1,
                      "descriptors exhausted", timeout=60)
        time.sleep(1)
        self.assert_running()
        for s in socks:
            s.close()
        self.settle_fds(fds0)
        resource.prlimit(self.d.pid, resource.RLIMIT_NOFILE, old)
        self.good_client()
        log = self.d.log()
        errors = len(re.findall(r"accept error", log))
        cpu = sum(int(x) for x in open(f"/proc/{self.d.pid}/stat").read()
                  .rsplit(")", 1)[1].split()[11:13])
        print(f"test_overload: out of descriptors: {errors} accept errors "
              f"logged, {cpu} ticks of CPU", flush=True)
        self.d.stop()

    def test_slow_loris(self):
        """Slow, but each line within the default command_timeout (60s,
        this listener sets none): every slow client is served."""
        fds0, _ = self.warm_up()
        socks = self.open_many(SLOW_CLIENTS)
        self.addCleanup(lambda: [s.close() for s in socks])
        line = b"EHLO slow.example.org\r\n"
        start = time.monotonic()
        sent = 0
        # One byte a second from each, the good client served meanwhile.
        while time.monotonic() - start < SLOW_SECONDS:
            for s in socks:
                s.send(line[sent:sent + 1])
            sent += 1
            self.good_client()
            time.sleep(max(0.0, start + sent - time.monotonic()))
        for s in socks:
            s.setblocking(True)
            s.settimeout(IO_TIMEOUT)
            s.sendall(line[sent:])
        # Each slow client is still served: its greeting, then its EHLO.
        for s in socks:
            data = b""
            while not re.search(rb"(?m)^250 [^\r\n]*\r\n", data):
                chunk = s.recv(4096)
                self.assertNotEqual(chunk, b"", f"EOF after {data!r}")
                data += chunk
            self.assertTrue(data.startswith(b"220 "), data)
            s.close()
        self.settle_fds(fds0)
        self.d.stop()

    # -- the command deadline (listeners *-short: command_timeout 2s)

    def assert_cut_off(self, listener, ports):
        """The log names each client once as cut off by the deadline, and
        each session ended for that reason."""
        # The disconnect line is written once the close completes, which
        # may be just after the client saw its EOF.
        self.env.poll(lambda: len(re.findall(
            r'disconnect reason="command timeout"', self.d.log()))
            >= len(ports), "the command-timeout disconnects logged")
        log = self.d.log()
        cut = re.findall(r"warning net (?:w=\d+ )?sid=(\w+): command timeout "
                         r"client=127\.0\.0\.1:(\d+) listener=" +
                         re.escape(listener) +
                         f": no complete line within {COMMAND_TIMEOUT} s",
                         log)
        self.assertEqual(sorted(int(port) for _, port in cut), sorted(ports),
                         log[-3000:])
        for sid, _ in cut:
            self.assertIn(f"sid={sid}: disconnect reason=\"command "
                          f"timeout\"", log)

    def test_command_timeout_cuts_off_slow_loris(self):
        """A byte a second: each client is cut off with 421 before its
        line is complete; a well-behaved client on the same listener is
        served all the while."""
        fds0, _ = self.warm_up()
        socks = self.open_many(LORIS_CLIENTS, "mx-short")
        self.addCleanup(lambda: [s.close() for s in socks])
        ports = [s.getsockname()[1] for s in socks]
        got = {s: b"" for s in socks}
        connected = set(socks)

        def read_until(when):
            """Takes what the server sends until then; EOF ends a client."""
            while connected:
                left = when - time.monotonic()
                if left <= 0:
                    return
                ready, _, _ = select.select(list(connected), [], [], left)
                for s in ready:
                    try:
                        data = s.recv(4096)
                    except ConnectionResetError:
                        data = b""
                    if data:
                        got[s] += data
                    else:
                        connected.discard(s)

        start = time.monotonic()
        sent = 0
        while connected and sent < len(LORIS_LINE):
            for s in connected:
                try:
                    s.send(LORIS_LINE[sent:sent + 1])
                except OSError:
                    pass  # closed meanwhile: its EOF is read below
            sent += 1
            self.good_client("mx-short")
            read_until(start + sent)
        # Had the deadline not cut them off, each now has its EHLO reply
        # and stays connected: this wait would then fail.
        read_until(time.monotonic() + IO_TIMEOUT)
        self.assertEqual(len(connected), 0, f"slow clients still "
                         f"connected after {sent} bytes")
        for s in socks:
            self.assertRegex(got[s], rb"\A220 [^\r\n]*\r\n421 4\.4\.2 "
                             rb"[^\r\n]* command line not completed in "
                             rb"time\r\n\Z")
        self.assertLess(sent, len(LORIS_LINE))
        self.assert_cut_off("mx-short", ports)
        self.settle_fds(fds0)
        self.good_client("mx-short")
        self.d.stop()

    def smtp_reply(self, c, code):
        """Reads one (multi-line) reply from c (its readline) and checks
        its code."""
        while True:
            line = c.readline()
            self.assertTrue(line.startswith(str(code)), line)
            if line[3:4] == " ":
                return line

    def test_command_timeout_spares_complete_commands(self):
        """Whole command lines with pauses longer than command_timeout
        between them (the idle timeout's business, 5m here)."""
        pause = COMMAND_TIMEOUT + 1.5
        c = harness.LineClient(self, self.where["mx-short"])
        self.smtp_reply(c, 220)
        for line, code in (("EHLO patient.example.org", 250),
                           ("MAIL FROM:<sender@example.org>", 250),
                           (f"RCPT TO:<{ALICE}>", 250),
                           ("DATA", 354)):
            time.sleep(pause)
            c.send(line + "\r\n")
            self.smtp_reply(c, code)
        body = message("patient")
        c.send(body + b".\r\n")
        self.smtp_reply(c, 250)
        time.sleep(pause)
        c.send("QUIT\r\n")
        self.smtp_reply(c, 221)
        self.assertTrue(self.env.mailbox_messages(ALICE)[-1].endswith(body))
        self.assertNotIn("command timeout", self.d.log())
        self.d.stop()

    def slow_message(self, tls):
        """A message body is not a command line: one body line (in TLS:
        one record) arriving over longer than command_timeout, then a
        1 MiB body streamed in pieces cut mid-line, all accepted."""
        c = harness.LineClient(self, self.where["mx-short"])
        self.smtp_reply(c, 220)
        reader = c  # what replies are read from: c, or TLS on c
        wire = bytes  # the bytes that carry a piece of the session
        if tls:
            c.send("EHLO streaming.example.org\r\n")
            self.smtp_reply(c, 250)
            c.send("STARTTLS\r\n")
            self.smtp_reply(c, 220)
            t = BioTLS(self, c.sock)
            t.handshake()
            reader, wire = t, t.records
        send = lambda data: c.sock.sendall(wire(data))
        for line, code in (("EHLO streaming.example.org", 250),
                           ("MAIL FROM:<sender@example.org>", 250),
                           (f"RCPT TO:<{ALICE}>", 250),
                           ("DATA", 354)):
            send(line.encode() + b"\r\n")
            self.smtp_reply(reader, code)
        long_line = b"x" * 900 + b"\r\n"
        bulk = b"".join(b"streamed line %06d of a large message\r\n" % i
                        for i in range(26000))
        body = message("streamed", long_line + bulk)
        head = len(body) - len(bulk) - len(long_line)
        send(body[:head])
        slow = wire(long_line)
        slow_until = time.monotonic() + 2 * COMMAND_TIMEOUT
        for i in range(0, len(slow), 100):
            c.sock.sendall(slow[i:i + 100])
            time.sleep(0.5)
        self.assertGreater(time.monotonic(), slow_until)
        for i in range(0, len(bulk), 65531):
            send(bulk[i:i + 65531])
            time.sleep(0.2)
        send(b".\r\n")
        self.smtp_reply(reader, 250)
        send(b"QUIT\r\n")
        self.smtp_reply(reader, 221)
        self.assertTrue(self.env.mailbox_messages(ALICE)[-1].endswith(body))
        self.assertNotIn("command timeout", self.d.log())
        self.d.stop()

    def test_command_timeout_spares_a_slow_message(self):
        self.slow_message(tls=False)

    def test_command_timeout_spares_a_slow_message_in_tls(self):
        self.slow_message(tls=True)

    def test_command_timeout_inside_tls(self):
        """A slow loris inside TLS trickles a record, not a line: the
        server sees no plaintext until the record is complete, and must
        cut it off all the same, with POP3's timeout reply."""
        raw = socket.create_connection(self.where["pop3s-short"],
                                       timeout=IO_TIMEOUT)
        self.addCleanup(raw.close)
        port = raw.getsockname()[1]
        t = BioTLS(self, raw)
        t.handshake()
        self.assertTrue(t.readline().startswith("+OK "))
        record = t.records(b"CAPA\r\n")
        start = time.monotonic()
        sent = 0
        while t.open and sent < len(record):
            try:
                raw.send(record[sent:sent + 1])
            except OSError:
                pass  # closed meanwhile: its EOF is read below
            sent += 1
            t.pump(start + sent)
        # Had the deadline not cut it off, CAPA is answered and the
        # connection stays: this wait would then fail.
        t.pump(time.monotonic() + IO_TIMEOUT)
        self.assertFalse(t.open, f"still connected after {sent} of "
                         f"{len(record)} bytes of one record")
        self.assertLess(sent, len(record))
        self.assertEqual(bytes(t.plain), b"-ERR [SYS/TEMP] command line not "
                         b"completed in time\r\n")
        self.assert_cut_off("pop3s-short", [port])
        self.d.stop()

    def never_reads(self, where, line, count, tls=False):
        """A client that sends count lines and never reads: returns the
        socket (still open) once the server stops taking its input."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        # Small kernel buffers on our side: the server's own queue limit,
        # not the kernel's, must be what stops it.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(IO_TIMEOUT)
        s.connect(where)
        if tls:
            s = tls_client_context().wrap_socket(s, server_hostname=HOST)
            s.recv(4096)  # the greeting, to finish the handshake
        data = line * count
        s.setblocking(False)
        off = 0
        stalled = 0
        while off < len(data) and stalled < 20:
            try:
                off += s.send(data[off:off + 65536])
                stalled = 0
            except (BlockingIOError, ssl_want()):
                stalled += 1
                time.sleep(0.05)
        return s, off

    def test_client_that_never_reads(self):
        # Alice's mailbox: one 512 KiB message, to RETR over and over.
        body = b"".join(b"line %06d of a big message\r\n" % i
                        for i in range(18000))
        with smtplib.SMTP(*self.where["mx"], timeout=IO_TIMEOUT) as s:
            self.assertEqual(s.sendmail("sender@example.org", [ALICE],
                                        message("big", body)), {})
        fds0, rss0 = self.warm_up()
        # SMTP: NOOPs whose replies are never read.
        smtp_sock, smtp_sent = self.never_reads(self.where["mx"],
                                                b"NOOP\r\n", NOOPS)
        # POP3: 200 RETRs of the big message (100 MiB of replies).
        p = socket.create_connection(self.where["pop3s"], timeout=IO_TIMEOUT)
        self.addCleanup(p.close)
        p = tls_client_context().wrap_socket(p, server_hostname=HOST)
        p.recv(4096)
        p.sendall(f"USER {ALICE}\r\nPASS {ALICE_PASSWORD}\r\n".encode())
        p.sendall(b"RETR 1\r\n" * 200)
        time.sleep(1)
        self.assert_running()
        self.good_client()
        grown = self.rss() - rss0
        self.assertLess(grown, 16 * 1024 * 1024,
                        f"RSS grew by {grown} bytes for two clients "
                        f"that never read")
        self.assertLess(smtp_sent, NOOPS * 6, "the server read every "
                        "NOOP although no reply was taken")
        print(f"test_overload: never-reading clients: {smtp_sent} bytes "
              f"of NOOPs taken, RSS +{grown} bytes", flush=True)
        smtp_sock.close()
        p.close()
        self.settle_fds(fds0)
        self.good_client()
        self.d.stop()


def ssl_want():
    import ssl
    return ssl.SSLWantWriteError


if __name__ == "__main__":
    import unittest
    unittest.main()
