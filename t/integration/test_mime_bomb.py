"""A MIME part bomb on port 25 (issue 17, item 3): no authentication,
"Content-Type: multipart/mixed; boundary=w" and then "--w\\r\\n\\r\\nx\\r\\n"
two million times, 20 MB. GMime used to build the whole tree first: 2.7 GB
at its peak, 27 s on the store writer, and every other delivery's 250
waited for it.

Now the message is delivered byte for byte; its MIME summary (made on a
worker before the store job is queued) holds MIME_MAX_PARTS parts, the
rest being one application/octet-stream part that IMAP serves; the
server's peak memory grows by less than MAX_GROWTH; and a one-line message
sent by another client once the bomb is in is acknowledged while the
bomb's delivery is still under way, not after it. IMAP serves the
capped message: BODY[], BODYSTRUCTURE, and thousands of its sections in
one FETCH.

The server runs smtp.so (an MX listener, plain with STARTTLS) and imap.so
(implicit TLS) on 127.0.0.1. Nothing is timed: each wait is bounded, and
"still under way" is what the bomb's connection has not yet received when
the other's 250 is in.
"""
import imaplib
import os
import re
import select
import shutil
import socket

import harness
from harness import IO_TIMEOUT, MODULES_DIR, tls_client_context

SOS = [os.path.join(MODULES_DIR, n + ".so") for n in ("smtp", "imap")]
HOST = "mail.example.test"
BOB = "bob@example.test"
PASSWORD = "Bob-Secret-0815"
PARTS = 2000000
MAX_PARTS = 5000                 # core/mime/mime.h MIME_MAX_PARTS
BOMB = (b"From: <bomber@example.org>\r\nTo: <" + BOB.encode() + b">\r\n"
        b"Subject: part bomb\r\nMessage-ID: <bomb@example.org>\r\n"
        b"Content-Type: multipart/mixed; boundary=\"w\"\r\n\r\n"
        + b"--w\r\n\r\nx\r\n" * PARTS + b"--w--\r\n")
SMALL = (b"From: <other@example.org>\r\nTo: <" + BOB.encode() + b">\r\n"
         b"Subject: one line\r\n\r\nHello.\r\n")
# Peak memory may grow by the message a few times over (the spool read
# back for the summary and again for the store, SQLite's record of the
# blob) plus a fixed margin; ASan runs with a small quarantine so that
# RSS measures live memory. The old parse took 2.7 GB here.
MAX_GROWTH = 10 * len(BOMB) + 64 * 1024 * 1024
# ThreadSanitizer (make tsan) keeps shadow memory, four bytes for every
# byte of the program's (its documented cost is 5-10 times the memory):
# the same bound over what the program itself holds is five times it.
if "thread" in harness.SANITIZE:
    MAX_GROWTH *= 5
SLOW_TIMEOUT = 600.0             # the bomb's 250 under ASan on a busy box


class SmtpRaw:
    """An SMTP client on a plain socket: the test chooses when each byte
    goes, and can look whether a reply has come without waiting."""

    def __init__(self, tc, where):
        self.tc = tc
        self.sock = socket.create_connection(where, timeout=IO_TIMEOUT)
        tc.addCleanup(self.sock.close)
        self.buf = b""

    def reply(self, timeout=IO_TIMEOUT):
        """The next complete reply (its last line "NNN text")."""
        self.sock.settimeout(timeout)
        while True:
            m = re.search(rb"(?m)^(\d{3}) [^\r\n]*\r\n", self.buf)
            if m:
                text = self.buf[:m.end()]
                self.buf = self.buf[m.end():]
                return int(m.group(1)), text
            data = self.sock.recv(65536)
            self.tc.assertNotEqual(data, b"", f"EOF after {self.buf!r}")
            self.buf += data

    def command(self, line, code):
        self.sock.sendall(line + b"\r\n")
        got, text = self.reply()
        self.tc.assertEqual(got, code, text)

    def start_data(self, sender):
        got, text = self.reply()
        self.tc.assertEqual(got, 220, text)
        self.command(b"EHLO client.example.org", 250)
        self.command(b"MAIL FROM:<" + sender + b">", 250)
        self.command(b"RCPT TO:<" + BOB.encode() + b">", 250)
        self.command(b"DATA", 354)

    def pending(self):
        """Whether nothing has come from the server (no wait)."""
        ready, _, _ = select.select([self.sock], [], [], 0)
        return not ready and not self.buf


class MimeBombTest(harness.CertTestCase):

    cert_host = HOST
    modules = SOS

    def setUp(self):
        super().setUp()
        env = self.env
        env.write_config(modules_dir=MODULES_DIR,
                         extra=harness.tls_section(*self.cert))
        self.where = {}
        for mod, listener in (("smtp", {"name": "mx", "protocol": "smtp",
                                        "tls": "starttls"}),
                              ("imap", {"name": "imaps", "protocol": "imap",
                                        "tls": "implicit"})):
            text, where = harness.listener_sections([listener])
            self.where.update(where)
            env.write_module(mod, extra=text)
        env.init()
        env.cli_ok("domain", "add", "example.test")
        env.add_user(BOB, PASSWORD)
        # As in test_overload: ASan's default quarantine (256 MB of freed
        # memory kept) would make RSS count every byte ever allocated.
        asan = os.environ.get("ASAN_OPTIONS")
        os.environ["ASAN_OPTIONS"] = ((asan + ":") if asan else "") + \
            "quarantine_size_mb=4"
        try:
            self.d = env.start()
        finally:
            if asan is None:
                os.environ.pop("ASAN_OPTIONS")
            else:
                os.environ["ASAN_OPTIONS"] = asan

    def hwm(self):
        """The server's peak resident memory so far, in bytes."""
        return int(self.d.proc_status("VmHWM")[0]) * 1024

    def bytes_read(self):
        """What the server has read with read(2) and friends so far."""
        with open(f"/proc/{self.d.pid}/io") as f:
            return int(re.search(r"(?m)^rchar: (\d+)$", f.read()).group(1))

    def deliver(self, sender, data):
        c = SmtpRaw(self, self.where["mx"])
        c.start_data(sender)
        c.sock.sendall(data + b".\r\n")  # data ends with CRLF
        got, text = c.reply()
        self.assertEqual(got, 250, text)
        c.command(b"QUIT", 221)

    def imaps(self):
        where = self.where["imaps"]
        m = imaplib.IMAP4_SSL(where[0], where[1],
                              ssl_context=tls_client_context(),
                              timeout=IO_TIMEOUT)
        self.addCleanup(self._logout, m)
        self.assertEqual(m.login(BOB, PASSWORD)[0], "OK")
        self.assertEqual(m.select("INBOX", readonly=True)[0], "OK")
        return m

    @staticmethod
    def _logout(m):
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    def test_part_bomb(self):
        # Warm-up: what a first delivery allocates for good is not growth.
        self.deliver(b"warm@example.org", SMALL)
        hwm0 = self.hwm()

        # The other client is at DATA first, so that after the bomb only
        # its message and the final dot remain to send.
        other = SmtpRaw(self, self.where["mx"])
        other.start_data(b"other@example.org")
        bomb = SmtpRaw(self, self.where["mx"])
        bomb.start_data(b"bomber@example.org")
        read0 = self.bytes_read()
        bomb.sock.settimeout(SLOW_TIMEOUT)
        bomb.sock.sendall(BOMB + b".\r\n")
        # Once the server has read all of it, the bomb's end of data has
        # been seen and its delivery begun.
        self.env.poll(lambda: self.bytes_read() >= read0 + len(BOMB) + 3,
                      "the server read the whole bomb", timeout=SLOW_TIMEOUT,
                      interval=0.01)
        other.sock.sendall(SMALL + b".\r\n")
        got, text = other.reply(timeout=SLOW_TIMEOUT)
        self.assertEqual(got, 250, text)
        self.assertTrue(bomb.pending(),
                        "the bomb was acknowledged before the other message: "
                        "its delivery held the other's commit")
        got, text = bomb.reply(timeout=SLOW_TIMEOUT)
        self.assertEqual(got, 250, text)
        grown = self.hwm() - hwm0
        print(f"test_mime_bomb: {len(BOMB)} bytes, {PARTS} parts: peak "
              f"memory grew by {grown} bytes", flush=True)
        self.assertLess(grown, MAX_GROWTH)

        # IMAP: the bomb byte for byte after the server's own header
        # lines, its structure capped with the rest in one opaque part.
        m = self.imaps()
        typ, data = m.uid("SEARCH", None, "HEADER", "Message-ID",
                          "bomb@example.org")
        self.assertEqual(typ, "OK")
        uid = data[0].decode()
        self.assertRegex(uid, r"^\d+$")
        typ, data = m.uid("FETCH", uid, "(BODY.PEEK[])")
        self.assertEqual(typ, "OK", data)
        stored = data[0][1]
        self.assertTrue(stored.endswith(BOMB), "not the bomb's bytes")
        head = stored[:len(stored) - len(BOMB)]
        self.assertRegex(head, rb"^Return-Path: <bomber@example\.org>\r\n"
                               rb"Received: [^\r\n]*(\r\n[ \t][^\r\n]*)*"
                               rb"\r\n$")
        typ, data = m.uid("FETCH", uid, "(BODYSTRUCTURE)")
        self.assertEqual(typ, "OK")
        bs = b"".join(d if isinstance(d, bytes) else b"".join(d)
                      for d in data)
        self.assertEqual(bs.count(b'("text" "plain" ("charset" "us-ascii")'),
                         MAX_PARTS - 2)
        rest_len = (PARTS - (MAX_PARTS - 2)) * 10 - len(b"--w\r\n") - 2
        self.assertEqual(bs.count(b'("application" "octet-stream" NIL NIL '
                                  b'NIL "7bit" ' + str(rest_len).encode()
                                  + b' NIL NIL NIL NIL)'), 1)
        rest = MAX_PARTS - 1
        typ, data = m.uid("FETCH", uid, f"(BODY.PEEK[{rest}])")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1], BOMB[-rest_len - len(b"\r\n--w--\r\n"):
                                          -len(b"\r\n--w--\r\n")])
        # Thousands of sections of the message in one FETCH: each the
        # bytes of its part (the table is parsed once for all of them).
        first = rest - 4000
        typ, data = m.uid("FETCH", uid, "(" + " ".join(
            f"BODY.PEEK[{k}]" for k in range(first, rest + 1)) + ")")
        self.assertEqual(typ, "OK")
        got = {}
        for d in data:  # (b'... BODY[k] {n}', literal) per section
            if isinstance(d, tuple):
                k = re.search(rb"BODY\[(\d+)\] \{\d+\}$", d[0]).group(1)
                got[int(k)] = d[1]
        self.assertEqual(sorted(got), list(range(first, rest + 1)))
        for k in range(first, rest):
            self.assertEqual(got[k], b"x", k)
        self.assertEqual(len(got[rest]), rest_len)
        # The other message went in too.
        typ, data = m.uid("SEARCH", None, "SUBJECT", "\"one line\"")
        self.assertEqual((typ, len(data[0].split())), ("OK", 2))
        self._logout(m)
        self.d.stop()


if __name__ == "__main__":
    import unittest
    unittest.main()
