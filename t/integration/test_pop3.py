"""POP3 (modules/pop3, pop3.so) as real clients meet it: Python's poplib,
curl and (when installed) fetchmail, plus a raw socket client for what
well-behaved clients never send. Each test runs its own postinod loading
both smtp.so and pop3.so, with three listeners on 127.0.0.1 (free ports):

  submission    protocol submission, tls starttls   (mail arrives here)
  pop3          protocol pop3,       tls starttls   (port 110 style)
  pop3s         protocol pop3,       tls implicit   (port 995 style)

Messages are delivered through real SMTP (smtplib, STARTTLS + AUTH PLAIN)
and compared byte for byte with what POP3 hands out and with the database.
The outbound queue is parked (relayhost on a closed port). Every wait is
bounded; every process started is gone when a test ends.
"""
import base64
import os
import poplib
import re
import shutil
import smtplib
import socket
import stat
import subprocess
import sys
import time
import unittest

import harness
from harness import (IO_TIMEOUT, MODULES_DIR, VERSION, LineClient,
                     base_env, tls_client_context)

SMTP_SO = os.path.join(MODULES_DIR, "smtp.so")
POP3_SO = os.path.join(MODULES_DIR, "pop3.so")
CURL = shutil.which("curl")
FETCHMAIL = shutil.which("fetchmail")

HOST = "mail.example.test"
HELO = "client.example.test"
ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORDS = {
    ALICE: "Alice-Secret-4711",
    BOB: "Bob-Secret-0815",
}
TOOL_TIMEOUT = 60.0
BULK_COUNT = 1000          # messages for the big-maildrop test
BULK_BUDGET = 30.0         # seconds of SMTP delivery before settling for fewer
BULK_MINIMUM = 100

# Responses fixed by the module's specification.
GREETING = "+OK Postino POP3 ready"
NEEDS_STLS = "-ERR [AUTH] Plaintext authentication disallowed; use STLS first"
AUTH_FAILED = "-ERR [AUTH] Authentication failed"
IN_USE = "-ERR [IN-USE] Maildrop already locked"
NO_SUCH = "-ERR no such message"
BAD_COUNT = "-ERR invalid line count"
LINE_TOO_LONG = "-ERR line too long"


def logged_in(count, octets):
    return f"+OK maildrop has {count} messages ({octets} octets)"


def signing_off(deleted):
    return f"+OK Postino POP3 signing off ({deleted} messages deleted)"


def already_deleted(n):
    return f"-ERR message {n} already deleted"


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def plain_response(user, password, authzid=""):
    return b64(f"{authzid}\0{user}\0{password}")


def message(subject, body=b"Hello.\r\n", sender=ALICE, to=BOB):
    """Dated and identified, as clients send it: submission adds nothing,
    so what POP3 serves is byte for byte what was sent."""
    return (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Date: Mon, 02 Jan 2006 15:04:05 +0100\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@test>\r\n"
            f"\r\n").encode() + body


# A body that needs byte-stuffing both ways (SMTP DATA and POP3 RETR).
DOTTY = message("dots and bytes", (
    b"first line\r\n"
    b".\r\n"
    b"..\r\n"
    b".leading dot\r\n"
    b"..two leading dots\r\n"
    b" . \r\n"
    b"...\r\n"
    b"last line\r\n"))

LONG_BODY = message("three body lines", b"one\r\ntwo\r\nthree\r\n")


def pop_stuff(data):
    """A multi-line POP3 response body as it must be on the wire: lines
    starting with "." get another, then the terminating ".CRLF"."""
    assert data.endswith(b"\r\n")
    return re.sub(rb"(?m)^\.", b"..", data) + b".\r\n"


def split_message(data):
    """(header block including the empty line, body lines list)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    return head + sep, body.split(b"\r\n")[:-1] if body else []


def top_of(data, n):
    """What TOP msg n must return (unstuffed): the header, the blank line
    and the first n body lines."""
    head, lines = split_message(data)
    return head + b"".join(line + b"\r\n" for line in lines[:n])


def run_tool(argv, timeout=TOOL_TIMEOUT):
    proc = subprocess.run(argv, capture_output=True, timeout=timeout,
                          env=base_env(), stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr.decode(errors="replace")


class Pop3Client(LineClient):
    """A raw POP3 client with bounded waits; bodies as bytes."""

    def bline(self, timeout=None):
        """The next line as bytes, without its CRLF."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n" not in self.buf:
            if not self._fill(deadline, "a line"):
                self.tc.fail(f"EOF while waiting for a line; received "
                             f"{self.buf[-300:]!r}")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def raw_multi(self, timeout=None):
        """The bytes of a multi-line body up to and including ".CRLF",
        exactly as sent (still stuffed)."""
        out = b""
        while True:
            line = self.bline(timeout)
            out += line + b"\r\n"
            if line == b".":
                return out

    def multi(self, timeout=None):
        """A multi-line body unstuffed, without the terminator."""
        raw = self.raw_multi(timeout)[:-3]
        return re.sub(rb"(?m)^\.", b"", raw)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.readline()

    def expect(self, line, reply):
        self.tc.assertEqual(self.cmd(line), reply, f"reply to {line!r}")

    def expect_ok(self, line):
        got = self.cmd(line)
        self.tc.assertTrue(got.startswith("+OK"), f"reply to {line!r}: "
                           f"{got!r}")
        return got

    def greeting(self):
        self.tc.assertEqual(self.readline(), GREETING)

    def stls(self):
        got = self.cmd("STLS")
        self.tc.assertTrue(got.startswith("+OK"), f"STLS: {got!r}")
        self.tc.assertEqual(self.buf, b"", "clear text after STLS +OK")
        self.wrap(server_hostname=HOST)

    def login(self, user, password, count=None, octets=None):
        self.expect_ok(f"USER {user}")
        got = self.cmd(f"PASS {password}")
        if count is None:
            self.tc.assertTrue(got.startswith("+OK maildrop has "), got)
        else:
            self.tc.assertEqual(got, logged_in(count, octets))
        return got

    def capa(self):
        self.expect_ok("CAPA")
        return [line.decode() for line in self.multi().split(b"\r\n")
                if line]


class POP3TestCase(harness.CertTestCase):
    """A certificate for the class; a server per test."""

    cert_host = HOST
    modules = (SMTP_SO, POP3_SO)

    def setUp(self):
        super().setUp()
        self.d = None
        self.where = {}

    # -- the server

    def configure(self):
        env = self.env
        parking = (f"\n[queue]\nrelayhost = 127.0.0.1:{harness.free_port()}\n"
                   "poll_interval = 1h\nretry_min = 1h\nretry_max = 1h\n")
        env.write_config(modules_dir=MODULES_DIR,
                         extra=harness.tls_section(*self.cert) + parking)
        text, where = harness.listener_sections([
            {"name": "submission", "protocol": "submission",
             "tls": "starttls"}])
        self.where.update(where)
        env.write_module("smtp", {"max_message_size": "10M"}, extra=text)
        text, where = harness.listener_sections([
            {"name": "pop3", "protocol": "pop3", "tls": "starttls"},
            {"name": "pop3s", "protocol": "pop3", "tls": "implicit"}])
        self.where.update(where)
        env.write_module("pop3", extra=text)
        env.init()
        env.cli_ok("domain", "add", "example.test")
        for user in (ALICE, BOB):
            env.add_user(user, PASSWORDS[user])

    def start(self):
        self.d = self.env.start()
        self.d.wait_for(rf"info core: postinod ready version={re.escape(VERSION)}"
                        r" modules=2 names=\S*pop3\S* listeners=3$",
                        regex=True)
        return self.d

    def serve(self):
        self.configure()
        return self.start()

    def stop(self):
        """SIGTERM and the clean-exit checks; no password in any output."""
        self.d.stop()
        everything = self.env.all_output()
        for user, password in PASSWORDS.items():
            self.assertNotIn(password, everything, "a password was logged")
            self.assertNotIn(plain_response(user, password), everything,
                             "an AUTH PLAIN response was logged")

    def assert_running(self):
        if not self.d.running():
            self.fail(f"postinod died: exit {self.d.proc.returncode}; "
                      f"log:\n{self.d.log()[-3000:]}")

    # -- delivery through SMTP and the database

    def deliver(self, datas, to=BOB, budget=None):
        """Sends each message through submission (STARTTLS, AUTH PLAIN);
        returns how many were sent (fewer only when budget ran out)."""
        where = self.where["submission"]
        s = smtplib.SMTP(where[0], where[1], local_hostname=HELO,
                         timeout=IO_TIMEOUT)
        self.addCleanup(s.close)
        s.starttls(context=tls_client_context())
        s.ehlo()
        s.login(ALICE, PASSWORDS[ALICE])
        start = time.monotonic()
        sent = 0
        for data in datas:
            if budget is not None and time.monotonic() - start > budget:
                break
            refused = s.sendmail(ALICE, [to], data)
            self.assertEqual(refused, {})
            sent += 1
        s.quit()
        return sent

    def stored(self, address=BOB):
        return self.env.mailbox_messages(address)

    def db_uidls(self, address=BOB):
        rows = self.env.query(
            "SELECT x.uidvalidity, m.uid FROM messages m"
            " JOIN mailboxes x ON x.id = m.mailbox"
            " JOIN accounts a ON a.id = x.account"
            " WHERE a.address = ? AND x.name = 'INBOX' ORDER BY m.uid",
            (address,))
        return [f"{v}.{u}" for v, u in rows]

    def deliver_three(self):
        datas = [message("first"), DOTTY, LONG_BODY]
        self.deliver(datas)
        stored = self.stored()
        self.assertEqual(len(stored), 3)
        for s, d in zip(stored, datas):
            self.assertTrue(s.endswith(d), s)
            self.assertTrue(s.startswith(b"Return-Path: <" + ALICE.encode()
                                         + b">\r\nReceived: "), s)
        return stored

    # -- clients

    def raw(self, name="pop3s", tls=True, login=None):
        """A raw client, greeted; on pop3 with tls, after STLS; with login
        (an account), USER/PASS done."""
        implicit = name == "pop3s"
        c = Pop3Client(self, self.where[name], implicit_tls=implicit,
                       server_hostname=HOST)
        c.greeting()
        if tls and not implicit:
            c.stls()
        if login:
            c.login(login, PASSWORDS[login])
        return c

    def pop_ssl(self, login=BOB):
        where = self.where["pop3s"]
        p = poplib.POP3_SSL(where[0], where[1], timeout=IO_TIMEOUT,
                            context=tls_client_context())
        self.addCleanup(p.close)
        self.assertEqual(p.getwelcome(), GREETING.encode())
        if login:
            p.user(login)
            p.pass_(PASSWORDS[login])
        return p

    def pop_stls(self, login=BOB):
        where = self.where["pop3"]
        p = poplib.POP3(where[0], where[1], timeout=IO_TIMEOUT)
        self.addCleanup(p.close)
        self.assertEqual(p.getwelcome(), GREETING.encode())
        p.stls(context=tls_client_context())
        if login:
            p.user(login)
            p.pass_(PASSWORDS[login])
        return p

    def login_when_unlocked(self, user=BOB):
        """Logs in on pop3s, retrying while the maildrop is still locked
        (the server may take a moment to notice a dropped connection)."""
        deadline = time.monotonic() + harness.WAIT_TIMEOUT
        while True:
            c = self.raw("pop3s")
            c.expect_ok(f"USER {user}")
            got = c.cmd(f"PASS {PASSWORDS[user]}")
            if got.startswith("+OK maildrop has "):
                return c, got
            self.assertEqual(got, IN_USE)
            c.close()
            if time.monotonic() > deadline:
                self.fail("the maildrop stayed locked after the session "
                          "holding it was dropped")
            time.sleep(0.1)


# ---- sessions, TLS and login ------------------------------------------------

class Session(POP3TestCase):

    def test_capa_before_and_after_stls(self):
        self.serve()
        c = self.raw("pop3", tls=False)
        caps = c.capa()
        for cap in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE",
                    "PIPELINING", "IMPLEMENTATION Postino", "STLS"):
            self.assertIn(cap, caps, f"CAPA before TLS: {caps!r}")
        self.assertFalse([x for x in caps if x.split()[0] in ("USER", "SASL")],
                         f"login offered before TLS: {caps!r}")
        c.stls()
        caps = c.capa()
        for cap in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE",
                    "PIPELINING", "IMPLEMENTATION Postino", "USER",
                    "SASL PLAIN LOGIN"):
            self.assertIn(cap, caps, f"CAPA inside TLS: {caps!r}")
        self.assertNotIn("STLS", caps, f"CAPA inside TLS: {caps!r}")
        got = c.cmd("STLS")
        self.assertTrue(got.startswith("-ERR"), f"second STLS: {got!r}")
        c.login(BOB, PASSWORDS[BOB], 0, 0)
        c.expect("QUIT", signing_off(0))
        self.assertEqual(c.expect_eof(), b"")
        # pop3s: TLS from the first byte, so no STLS
        c = self.raw("pop3s")
        caps = c.capa()
        self.assertIn("USER", caps, caps)
        self.assertIn("SASL PLAIN LOGIN", caps, caps)
        self.assertNotIn("STLS", caps, caps)
        c.expect_ok("QUIT")     # AUTHORIZATION state: nothing to delete
        self.stop()

    def test_poplib_capa_and_stls(self):
        self.serve()
        where = self.where["pop3"]
        p = poplib.POP3(where[0], where[1], timeout=IO_TIMEOUT)
        self.addCleanup(p.close)
        caps = p.capa()
        self.assertIn("STLS", caps)
        self.assertNotIn("USER", caps)
        self.assertEqual(caps.get("IMPLEMENTATION"), ["Postino"])
        p.stls(context=tls_client_context())
        caps = p.capa()
        self.assertNotIn("STLS", caps)
        self.assertEqual(caps.get("SASL"), ["PLAIN", "LOGIN"])
        p.user(BOB)
        self.assertEqual(p.pass_(PASSWORDS[BOB]), logged_in(0, 0).encode())
        self.assertEqual(p.stat(), (0, 0))
        self.assertEqual(p.quit(), signing_off(0).encode())
        self.stop()

    def test_plaintext_login_refused_before_stls(self):
        self.serve()
        c = self.raw("pop3", tls=False)
        c.expect(f"USER {BOB}", NEEDS_STLS)
        c.expect(f"PASS {PASSWORDS[BOB]}", NEEDS_STLS)
        c.expect("AUTH PLAIN " + plain_response(BOB, PASSWORDS[BOB]),
                 NEEDS_STLS)
        c.expect("AUTH PLAIN", NEEDS_STLS)
        # transaction commands are refused, not served, before a login
        for command in ("STAT", "LIST", "RETR 1", "DELE 1", "UIDL"):
            got = c.cmd(command)
            self.assertTrue(got.startswith("-ERR"), f"{command}: {got!r}")
        c.stls()
        c.login(BOB, PASSWORDS[BOB], 0, 0)
        c.expect("QUIT", signing_off(0))
        self.stop()

    def test_auth_plain_inside_tls(self):
        self.serve()
        self.deliver([message("for auth")])
        size = len(self.stored()[0])
        c = self.raw("pop3")
        c.expect("AUTH PLAIN " + plain_response(BOB, PASSWORDS[BOB]),
                 logged_in(1, size))
        c.expect("QUIT", signing_off(0))
        c = self.raw("pop3s")
        got = c.cmd("AUTH PLAIN")
        self.assertTrue(got.startswith("+"), got)
        c.expect(plain_response(BOB, PASSWORDS[BOB]), logged_in(1, size))
        c.expect("QUIT", signing_off(0))
        self.stop()

    def test_auth_login(self):
        """LOGIN, from the host's SASL service, as Outlook sends it."""
        import base64
        b64 = lambda s: base64.b64encode(s.encode()).decode()
        self.serve()
        c = self.raw("pop3s")
        self.assertEqual(c.cmd("AUTH LOGIN"), "+ VXNlcm5hbWU6")
        self.assertEqual(c.cmd(b64(BOB)), "+ UGFzc3dvcmQ6")
        c.expect(b64(PASSWORDS[BOB]), logged_in(0, 0))
        c.expect("QUIT", signing_off(0))
        c = self.raw("pop3s")
        self.assertEqual(c.cmd("AUTH LOGIN"), "+ VXNlcm5hbWU6")
        c.expect("*", "-ERR Authentication cancelled")
        self.stop()

    def test_wrong_passwords(self):
        self.serve()
        c = self.raw("pop3s")
        c.expect_ok(f"USER {BOB}")
        c.expect("PASS not-the-password", AUTH_FAILED)
        c = self.raw("pop3")
        c.expect_ok("USER nobody@example.test")
        c.expect(f"PASS {PASSWORDS[BOB]}", AUTH_FAILED)
        c = self.raw("pop3s")
        c.expect("AUTH PLAIN " + plain_response(BOB, PASSWORDS[ALICE]),
                 AUTH_FAILED)
        # another user's password, and a wrong authzid
        c = self.raw("pop3s")
        c.expect_ok(f"USER {BOB}")
        c.expect(f"PASS {PASSWORDS[ALICE]}", AUTH_FAILED)
        where = self.where["pop3s"]
        p = poplib.POP3_SSL(where[0], where[1], timeout=IO_TIMEOUT,
                            context=tls_client_context())
        self.addCleanup(p.close)
        p.user(BOB)
        with self.assertRaises(poplib.error_proto) as cm:
            p.pass_("wrong")
        self.assertEqual(cm.exception.args[0], AUTH_FAILED.encode())
        # the right password still works afterwards
        p = self.pop_ssl()
        self.assertEqual(p.stat(), (0, 0))
        p.quit()
        self.stop()


# ---- reading: STAT, LIST, UIDL, TOP, RETR ------------------------------------

class Reading(POP3TestCase):

    def check_maildrop(self, p, stored):
        total = sum(len(s) for s in stored)
        self.assertEqual(p.stat(), (len(stored), total))
        resp, lines, _ = p.list()
        self.assertTrue(resp.startswith(b"+OK"), resp)
        self.assertEqual(lines, [f"{i} {len(s)}".encode()
                                 for i, s in enumerate(stored, 1)])
        for i, s in enumerate(stored, 1):
            self.assertEqual(p.list(i), f"+OK {i} {len(s)}".encode())
        resp, lines, _ = p.uidl()
        uidls = self.db_uidls()
        self.assertEqual(lines, [f"{i} {u}".encode()
                                 for i, u in enumerate(uidls, 1)])
        for i, u in enumerate(uidls, 1):
            self.assertEqual(p.uidl(i), f"+OK {i} {u}".encode())
        for i, s in enumerate(stored, 1):
            resp, lines, octets = p.retr(i)
            self.assertEqual(resp, f"+OK {len(s)} octets".encode())
            self.assertEqual(b"\r\n".join(lines) + b"\r\n", s,
                             f"RETR {i}")
            for n in (0, 1, 2, 1000):
                resp, lines, _ = p.top(i, n)
                self.assertTrue(resp.startswith(b"+OK"), resp)
                self.assertEqual(b"\r\n".join(lines) + b"\r\n", top_of(s, n),
                                 f"TOP {i} {n}")

    def test_pop3s_poplib_byte_exact(self):
        self.serve()
        stored = self.deliver_three()
        total = sum(len(s) for s in stored)
        p = self.pop_ssl(login=None)
        p.user(BOB)
        self.assertEqual(p.pass_(PASSWORDS[BOB]),
                         logged_in(3, total).encode())
        self.check_maildrop(p, stored)
        self.assertEqual(p.noop(), p.noop())
        self.assertEqual(p.quit(), signing_off(0).encode())
        self.assertEqual(self.stored(), stored)
        self.stop()

    def test_pop3_stls_poplib_byte_exact(self):
        self.serve()
        stored = self.deliver_three()
        p = self.pop_stls()
        self.check_maildrop(p, stored)
        self.assertEqual(p.quit(), signing_off(0).encode())
        self.stop()

    def test_stuffing_on_the_wire(self):
        self.serve()
        stored = self.deliver_three()
        c = self.raw("pop3s", login=BOB)
        c.expect("RETR 2", f"+OK {len(stored[1])} octets")
        self.assertEqual(c.raw_multi(), pop_stuff(stored[1]))
        c.expect_ok("TOP 2 3")
        self.assertEqual(c.raw_multi(), pop_stuff(top_of(stored[1], 3)))
        c.expect_ok("TOP 2 0")
        self.assertEqual(c.raw_multi(), pop_stuff(top_of(stored[1], 0)))
        c.expect("QUIT", signing_off(0))
        self.stop()

    def test_top_bad_counts(self):
        self.serve()
        stored = self.deliver_three()
        c = self.raw("pop3s", login=BOB)
        for bad in ("TOP 3 -1", "TOP 3 abc", "TOP 3", "TOP 3 1x",
                    "TOP 3 " + "9" * 40):
            got = c.cmd(bad)
            if bad.endswith("9" * 40) and got.startswith("+OK"):
                # a huge count may also mean "the whole message"
                self.assertEqual(c.multi(), stored[2])
                continue
            if bad == "TOP 3":    # no count at all: any refusal
                self.assertTrue(got.startswith("-ERR"), f"{bad}: {got!r}")
            else:
                self.assertEqual(got, BAD_COUNT, bad)
        c.expect("TOP 4 0", NO_SUCH)
        c.expect_ok("TOP 3 2")
        self.assertEqual(c.multi(), top_of(stored[2], 2))
        c.expect("QUIT", signing_off(0))
        self.stop()

    def test_uidl_stable_across_sessions_and_restart(self):
        self.serve()
        self.deliver_three()
        expected = [f"{i} {u}".encode()
                    for i, u in enumerate(self.db_uidls(), 1)]
        for u in self.db_uidls():
            self.assertRegex(u, r"^[1-9]\d*\.[1-9]\d*$")
        p = self.pop_ssl()
        first = p.uidl()[1]
        p.quit()
        p = self.pop_stls()
        second = p.uidl()[1]
        p.quit()
        self.assertEqual(first, expected)
        self.assertEqual(second, expected)
        self.stop()
        self.start()
        p = self.pop_ssl()
        self.assertEqual(p.uidl()[1], expected)
        p.quit()
        # a new message gets a new id; the old ones stay
        self.deliver([message("fourth")])
        p = self.pop_ssl()
        third = p.uidl()[1]
        p.quit()
        self.assertEqual(third[:3], expected)
        self.assertEqual(len(third), 4)
        self.assertNotIn(third[3].split()[1], [e.split()[1] for e in expected])
        self.stop()


# ---- deleting -----------------------------------------------------------------

class Deleting(POP3TestCase):

    def test_dele_then_quit_removes(self):
        self.serve()
        stored = self.deliver_three()
        uidls = self.db_uidls()
        p = self.pop_ssl()
        self.assertTrue(p.dele(2).startswith(b"+OK"))
        self.assertEqual(p.stat(), (2, len(stored[0]) + len(stored[2])))
        self.assertEqual(p.list()[1], [f"1 {len(stored[0])}".encode(),
                                       f"3 {len(stored[2])}".encode()])
        # nothing is gone before QUIT
        self.assertEqual(self.stored(), stored)
        self.assertEqual(p.quit(), signing_off(1).encode())
        self.assertEqual(self.stored(), [stored[0], stored[2]])
        self.assertEqual(self.db_uidls(), [uidls[0], uidls[2]])
        p = self.pop_stls()
        self.assertEqual(p.stat(), (2, len(stored[0]) + len(stored[2])))
        self.assertEqual(p.uidl()[1], [f"1 {uidls[0]}".encode(),
                                       f"2 {uidls[2]}".encode()])
        resp, lines, _ = p.retr(2)
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", stored[2])
        for i in (1, 2):
            p.dele(i)
        self.assertEqual(p.quit(), signing_off(2).encode())
        self.assertEqual(self.stored(), [])
        p = self.pop_ssl()
        self.assertEqual(p.stat(), (0, 0))
        p.quit()
        self.stop()

    def test_dropped_connection_deletes_nothing(self):
        self.serve()
        stored = self.deliver_three()
        # raw client: DELE everything, then close the socket (no QUIT)
        c = self.raw("pop3s", login=BOB)
        for i in (1, 2, 3):
            c.expect_ok(f"DELE {i}")
        c.expect("STAT", "+OK 0 0")
        c.close()
        c, got = self.login_when_unlocked()
        self.assertEqual(got, logged_in(3, sum(map(len, stored))))
        c.expect_ok("DELE 1")
        c.sock.shutdown(socket.SHUT_RDWR)   # a reset-like end mid-session
        c.close()
        c, got = self.login_when_unlocked()
        self.assertEqual(got, logged_in(3, sum(map(len, stored))))
        c.expect("QUIT", signing_off(0))
        self.assertEqual(self.stored(), stored)
        self.assert_running()
        # the same via STLS, ended by a postinod restart
        p = self.pop_stls()
        p.dele(3)
        self.stop()
        try:
            p.close()
        except OSError:
            pass
        self.start()
        self.assertEqual(self.stored(), stored)
        p = self.pop_ssl()
        self.assertEqual(p.stat()[0], 3)
        p.quit()
        self.stop()

    def test_rset_undoes_dele(self):
        self.serve()
        stored = self.deliver_three()
        total = sum(map(len, stored))
        c = self.raw("pop3s", login=BOB)
        c.expect_ok("DELE 1")
        c.expect_ok("DELE 3")
        c.expect("STAT", f"+OK 1 {len(stored[1])}")
        c.expect_ok("RSET")
        c.expect("STAT", f"+OK 3 {total}")
        c.expect("RETR 1", f"+OK {len(stored[0])} octets")
        self.assertEqual(c.multi(), stored[0])
        c.expect("QUIT", signing_off(0))
        self.assertEqual(self.stored(), stored)
        self.stop()

    def test_dele_twice_and_deleted_or_unknown_messages(self):
        self.serve()
        self.deliver_three()
        c = self.raw("pop3s", login=BOB)
        c.expect_ok("DELE 1")
        c.expect("DELE 1", already_deleted(1))
        for command in ("RETR 1", "TOP 1 0", "LIST 1", "UIDL 1",
                        "RETR 4", "DELE 4", "LIST 4", "UIDL 4", "TOP 4 1",
                        "RETR 99999999"):
            c.expect(command, NO_SUCH)
        for command in ("RETR 0", "RETR -1", "RETR x", "DELE 0",
                        "RETR " + "9" * 40):
            got = c.cmd(command)
            self.assertTrue(got.startswith("-ERR"), f"{command}: {got!r}")
        c.expect("QUIT", signing_off(1))
        self.assertEqual(len(self.stored()), 2)
        self.stop()


# ---- the maildrop lock -------------------------------------------------------

class Locking(POP3TestCase):

    def test_second_session_in_use(self):
        self.serve()
        stored = self.deliver_three()
        total = sum(map(len, stored))
        holder = self.pop_ssl()
        self.assertEqual(holder.stat(), (3, total))
        # USER/PASS on pop3s, AUTH PLAIN on pop3 after STLS
        c = self.raw("pop3s")
        c.expect_ok(f"USER {BOB}")
        c.expect(f"PASS {PASSWORDS[BOB]}", IN_USE)
        c = self.raw("pop3")
        c.expect("AUTH PLAIN " + plain_response(BOB, PASSWORDS[BOB]), IN_USE)
        p = self.pop_stls(login=None)
        p.user(BOB)
        with self.assertRaises(poplib.error_proto) as cm:
            p.pass_(PASSWORDS[BOB])
        self.assertEqual(cm.exception.args[0], IN_USE.encode())
        # another maildrop is not affected
        other = self.pop_ssl(login=ALICE)
        self.assertEqual(other.stat(), (0, 0))
        other.quit()
        # the holder is unaffected by the refused attempts
        self.assertEqual(holder.stat(), (3, total))
        self.assertEqual(holder.quit(), signing_off(0).encode())
        # released after QUIT
        p = self.pop_ssl()
        self.assertEqual(p.stat(), (3, total))
        # released after a dropped connection (closed without QUIT)
        p.close()
        c, got = self.login_when_unlocked()
        self.assertEqual(got, logged_in(3, total))
        c.expect("QUIT", signing_off(0))
        self.stop()

    def test_wrong_password_does_not_take_or_break_the_lock(self):
        self.serve()
        holder = self.pop_ssl()
        c = self.raw("pop3s")
        c.expect_ok(f"USER {BOB}")
        got = c.cmd("PASS wrong")
        self.assertIn(got, (AUTH_FAILED, IN_USE))
        holder.quit()
        c = self.raw("pop3s")
        c.expect_ok(f"USER {BOB}")
        c.expect("PASS wrong", AUTH_FAILED)
        c.close()
        p = self.pop_ssl()
        p.quit()
        self.stop()


# ---- bad input and pipelining ---------------------------------------------------

class Robustness(POP3TestCase):

    def test_long_line_while_another_client_is_served(self):
        self.serve()
        stored = self.deliver_three()
        other = self.pop_ssl()
        c = self.raw("pop3s")
        # half the line, then the other client is served meanwhile
        c.send("USER " + "x" * 5000)
        self.assertEqual(other.stat(), (3, sum(map(len, stored))))
        c.send("y" * 5240 + "\r\n")
        self.assertEqual(c.readline(), LINE_TOO_LONG)
        # the server may keep or drop the connection; it must not crash
        self.assertEqual(other.list()[1][0], f"1 {len(stored[0])}".encode())
        resp, lines, _ = other.retr(2)
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", stored[1])
        self.assertEqual(other.quit(), signing_off(0).encode())
        # an endless line without CRLF does not grow without bounds either
        d = self.raw("pop3", tls=False)
        try:
            for _ in range(64):
                d.send("N" * 16384)
        except OSError:
            pass
        self.assert_running()
        p = self.pop_ssl()
        p.quit()
        self.stop()

    def test_pipelining(self):
        self.serve()
        stored = self.deliver_three()
        total = sum(map(len, stored))
        uidls = self.db_uidls()
        c = self.raw("pop3s")
        c.send(f"CAPA\r\nUSER {BOB}\r\nPASS {PASSWORDS[BOB]}\r\nSTAT\r\n"
               f"LIST\r\nUIDL 2\r\nRETR 2\r\nTOP 3 1\r\nDELE 1\r\n"
               f"DELE 1\r\nNOOP\r\nRETR 1\r\nQUIT\r\n")
        self.assertTrue(c.readline().startswith("+OK"))        # CAPA
        self.assertIn(b"PIPELINING", c.multi())
        self.assertTrue(c.readline().startswith("+OK"))        # USER
        self.assertEqual(c.readline(), logged_in(3, total))    # PASS
        self.assertEqual(c.readline(), f"+OK 3 {total}")       # STAT
        self.assertTrue(c.readline().startswith("+OK"))        # LIST
        self.assertEqual(c.multi(), b"".join(
            f"{i} {len(s)}\r\n".encode() for i, s in enumerate(stored, 1)))
        self.assertEqual(c.readline(), f"+OK 2 {uidls[1]}")    # UIDL 2
        self.assertEqual(c.readline(), f"+OK {len(stored[1])} octets")
        self.assertEqual(c.raw_multi(), pop_stuff(stored[1]))  # RETR 2
        self.assertTrue(c.readline().startswith("+OK"))        # TOP 3 1
        self.assertEqual(c.multi(), top_of(stored[2], 1))
        self.assertTrue(c.readline().startswith("+OK"))        # DELE 1
        self.assertEqual(c.readline(), already_deleted(1))     # DELE 1
        self.assertTrue(c.readline().startswith("+OK"))        # NOOP
        self.assertEqual(c.readline(), NO_SUCH)                # RETR 1
        self.assertEqual(c.readline(), signing_off(1))         # QUIT
        self.assertEqual(c.expect_eof(), b"")
        self.assertEqual(self.stored(), stored[1:])
        self.stop()


# ---- curl and fetchmail ----------------------------------------------------------

class Curl(POP3TestCase):

    def curl(self, path="", *args):
        port = self.where["pop3s"][1]
        argv = [CURL, "--silent", "--show-error", "--insecure",
                "--max-time", "30", "-u", f"{BOB}:{PASSWORDS[BOB]}",
                f"pop3s://127.0.0.1:{port}/{path}"] + list(args)
        code, out, err = run_tool(argv)
        self.assertEqual(code, 0, f"{' '.join(argv)}: {err}")
        return out

    def test_curl_list_retr_dele(self):
        self.serve()
        stored = self.deliver_three()
        self.assertEqual(self.curl(), b"".join(
            f"{i} {len(s)}\r\n".encode() for i, s in enumerate(stored, 1)))
        for i, s in enumerate(stored, 1):
            self.assertEqual(self.curl(str(i)), s, f"curl RETR {i}")
        self.curl("", "-X", "DELE 1", "-I")
        self.assertEqual(self.stored(), stored[1:])
        self.assertEqual(self.curl(), b"".join(
            f"{i} {len(s)}\r\n".encode() for i, s in enumerate(stored[1:], 1)))
        # STLS on the plain port, demanded by --ssl-reqd
        port = self.where["pop3"][1]
        code, out, err = run_tool(
            [CURL, "--silent", "--show-error", "--insecure", "--ssl-reqd",
             "--max-time", "30", "-u", f"{BOB}:{PASSWORDS[BOB]}",
             f"pop3://127.0.0.1:{port}/1"])
        self.assertEqual((code, out), (0, stored[1]), err)
        self.stop()


class Fetchmail(POP3TestCase):

    def fetch(self, keep, fetchall=False):
        outdir = self.env.path("fetched")
        os.makedirs(outdir, exist_ok=True)
        rc = self.env.path("fetchmailrc")
        port = self.where["pop3s"][1]
        mda = f"/bin/sh -c 'cat > {outdir}/$$.$(date +%s%N)'"
        with open(rc, "w") as f:
            f.write(f'poll 127.0.0.1 protocol pop3 port {port} uidl\n'
                    f'  user "{BOB}" password "{PASSWORDS[BOB]}"\n'
                    f'  ssl no sslcertck {"keep" if keep else "nokeep"}'
                    f'{" fetchall" if fetchall else ""} mda "{mda}"\n')
        os.chmod(rc, stat.S_IRUSR | stat.S_IWUSR)
        env = base_env()
        env["HOME"] = self.env.root
        env["FETCHMAILHOME"] = self.env.root
        proc = subprocess.run(
            [FETCHMAIL, "-f", rc, "--nodetach", "--nosyslog",
             "-i", self.env.path("fetchids")], capture_output=True,
            timeout=TOOL_TIMEOUT, env=env, stdin=subprocess.DEVNULL)
        self.assertIn(proc.returncode, (0, 1),   # 1: no new mail
                      proc.stderr.decode(errors="replace"))
        return sorted(os.listdir(outdir))

    def test_fetchmail_keep_then_nokeep(self):
        self.serve()
        self.deliver_three()
        self.assertEqual(len(self.fetch(keep=True)), 3)
        self.assertEqual(len(self.fetch(keep=True)), 3)   # nothing new
        self.assertEqual(len(self.stored()), 3)
        old = self.stored()
        self.deliver([message("new one")])
        self.assertEqual(len(self.fetch(keep=False)), 4)  # only the new
        self.assertEqual(self.stored(), old)    # only the fetched one gone
        self.assertEqual(len(self.fetch(keep=False, fetchall=True)), 7)
        self.assertEqual(self.stored(), [])
        self.stop()


# ---- a big maildrop ----------------------------------------------------------------

class Bulk(POP3TestCase):

    def test_retr_many_messages_in_one_session(self):
        self.serve()
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW\r\n"
        datas = (message(f"bulk {i}", f".bulk {i}\r\n".encode() + line * 64)
                 for i in range(BULK_COUNT))
        sent = self.deliver(datas, budget=BULK_BUDGET)
        self.assertGreaterEqual(sent, BULK_MINIMUM,
                                "SMTP delivery far too slow")
        stored = self.stored()
        self.assertEqual(len(stored), sent)
        p = self.pop_ssl()
        self.assertEqual(p.stat(), (sent, sum(map(len, stored))))
        self.assertEqual(len(p.uidl()[1]), sent)
        start = time.monotonic()
        for i, s in enumerate(stored, 1):
            resp, lines, _ = p.retr(i)
            self.assertEqual(resp, f"+OK {len(s)} octets".encode())
            if b"\r\n".join(lines) + b"\r\n" != s:
                self.fail(f"RETR {i} differs from the stored message")
        elapsed = time.monotonic() - start
        self.assertEqual(p.quit(), signing_off(0).encode())
        print(f"\nRETR of {sent} messages (~4 KiB) in one session: "
              f"{elapsed:.2f}s", file=sys.stderr)
        self.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
