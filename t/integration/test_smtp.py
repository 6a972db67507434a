"""SMTP (modules/smtp, smtp.so) as real clients meet it: Python's smtplib,
swaks and curl, plus a raw socket client for what well-behaved clients
never send (smuggling, injection, floods). Each test runs its own postinod
with three listeners on 127.0.0.1 (free ports):

  mx            protocol smtp,       tls starttls   (port 25 style)
  submission    protocol submission, tls starttls   (port 587 style)
  submissions   protocol submission, tls implicit   (port 465 style)

and the domain example.test with the accounts alice@ and bob@, the alias
info@ -> alice@ and the alias team@ -> bob@ + carol@remote.test. Delivered
mail is read from the SQLite database (there is no IMAP yet); remote
recipients are only checked to be queued durably (outbound delivery is
test_queue.py's; here the relayhost is a closed port). Every wait is
bounded; every process started is gone when a test ends, whichever way it
ends.
"""
import base64
import contextlib
import email.utils
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import threading
import time
import unittest

import harness
from harness import (IO_TIMEOUT, MODULES_DIR, VERSION, LineClient,
                     base_env, tls_client_context)

SMTP_SO = os.path.join(MODULES_DIR, "smtp.so")
SAMPLE_SO = os.path.join(harness.SAMPLE_DIR, "sample.so")
SWAKS = shutil.which("swaks")
CURL = shutil.which("curl")

HOST = "mail.example.test"
HELO = "client.example.test"
ALICE = "alice@example.test"
BOB = "bob@example.test"
DAVE = "dave@example.test"
INFO = "info@example.test"
TEAM = "team@example.test"
CAROL = "carol@remote.test"
PASSWORDS = {
    ALICE: "Alice-Secret-4711",
    BOB: "Bob-Secret-0815",
    DAVE: "Dave-Secret-2024",
}
MAX_SIZE = 1048576          # [smtp] max_message_size = 1M
TOOL_TIMEOUT = 60.0         # one swaks or curl run

# Replies fixed by the module's specification.
GREETING = f"220 {HOST} ESMTP Postino"
AUTH_OK = "235 2.7.0 Authentication successful"
AUTH_BAD = "535 5.7.8 Error: authentication failed: authentication failure"
AUTH_NEEDS_TLS = ("538 5.7.11 Encryption required for requested "
                  "authentication mechanism")
AUTH_REQUIRED = "530 5.7.0 Authentication required"
TLS_ACTIVE = "503 5.5.1 Error: TLS already active"
BYE = "221 2.0.0 Bye"
SIZE_DECLARED = "552 5.3.4 Message size exceeds fixed maximum message size"
SIZE_STREAMED = "552 5.3.4 Error: message too big"
NUL_IN_DATA = "554 5.6.0 Error: message contains NUL characters"
BARE_LF = ("550 5.5.2 Error: bare <LF> or <CR> received; lines must end "
           "with CRLF")
LINE_TOO_LONG = "500 5.5.2 Line too long"
UNKNOWN_COMMAND = "500 5.5.2 Error: command not recognized"
TOO_MANY_ERRORS = "421 4.7.0 Too many errors"
NO_POSTMASTER = ("550 5.1.1 <postmaster>: Recipient address rejected: no "
                 "postmaster address configured ([smtp] postmaster)")
CLIENT_DATE = "Mon, 02 Jan 2006 15:04:05 +0100"
QUEUED_RE = re.compile(r"^250 2\.0\.0 Ok: queued as \S+$")
TOO_MANY_RCPTS_RE = re.compile(r"^452 4\.5\.3 ")


def relaying_denied(address):
    return f"550 5.7.1 <{address}>: Relaying denied"


def user_unknown(address):
    return (f"550 5.1.1 <{address}>: Recipient address rejected: User "
            f"unknown in local recipient table")


def not_owned(address, account=ALICE):
    return (f"553 5.7.1 <{address}>: Sender address rejected: not owned "
            f"by user {account}")


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def plain_response(user, password, authzid=""):
    return b64(f"{authzid}\0{user}\0{password}")


def dot_stuff(data):
    """DATA's transparency (RFC 5321 4.5.2) plus the end marker; data ends
    with CRLF."""
    assert data.endswith(b"\r\n")
    return re.sub(rb"(?m)^\.", b"..", data) + b".\r\n"


def message(subject, body=b"Hello.\r\n", sender=ALICE, to=BOB):
    """A message as a mail client writes it: with Date and Message-ID, so
    submission adds nothing to it (SubmissionFields adds them)."""
    return (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Date: {CLIENT_DATE}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@test>\r\n"
            f"\r\n").encode() + body


# A body that needs dot-stuffing both ways.
DOTTY = message("dots and bytes", (
    b"first line\r\n"
    b".\r\n"
    b"..\r\n"
    b".leading dot\r\n"
    b"..two leading dots\r\n"
    b" . \r\n"
    b"...\r\n"
    b"last line\r\n"))


class SmtpClient(LineClient):
    """A raw SMTP client: replies as lists of lines, bounded waits."""

    REPLY_LINE_RE = re.compile(r"^\d{3}([ -]|$)")

    def reply(self, timeout=None):
        """One whole (possibly multi-line) reply: its lines."""
        lines = []
        while True:
            line = self.readline(timeout)
            if not self.REPLY_LINE_RE.match(line):
                self.tc.fail(f"not an SMTP reply line: {line!r} "
                             f"(after {lines!r})")
            lines.append(line)
            if len(line) == 3 or line[3] == " ":
                return lines

    def reply_or_eof(self, timeout=None):
        """The next reply's last line, or None when the server closed (or
        reset) the connection first."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n" not in self.buf:
            try:
                if not self._fill(deadline, "a reply"):
                    return None
            except OSError:
                return None
        return self.reply()[-1]

    def cmd(self, line):
        """Sends a command; returns its reply (one line expected)."""
        self.send(line + "\r\n")
        lines = self.reply()
        self.tc.assertEqual(len(lines), 1, f"reply to {line!r}: {lines!r}")
        return lines[0]

    def expect(self, line, reply):
        self.tc.assertEqual(self.cmd(line), reply, f"reply to {line!r}")

    def expect_prefix(self, line, prefix):
        got = self.cmd(line)
        self.tc.assertTrue(got.startswith(prefix),
                           f"reply to {line!r}: {got!r}, expected {prefix}…")
        return got

    def greeting(self):
        self.tc.assertEqual(self.reply(), [GREETING])

    def ehlo(self, name=HELO):
        """EHLO; asserts 250 and returns the extension keywords (the lines
        after the first, upper-cased)."""
        self.send(f"EHLO {name}\r\n")
        lines = self.reply()
        for i, line in enumerate(lines):
            self.tc.assertTrue(
                line.startswith("250-" if i < len(lines) - 1 else "250 "),
                f"EHLO reply: {lines!r}")
        self.tc.assertEqual(lines[0][4:].split()[0], HOST,
                            f"EHLO reply: {lines!r}")
        return [line[4:].upper() for line in lines[1:]]

    def starttls(self):
        """STARTTLS with its go-ahead, then the handshake."""
        self.send("STARTTLS\r\n")
        go = self.readline()
        self.tc.assertTrue(go.startswith("220 "), f"STARTTLS reply: {go!r}")
        self.tc.assertEqual(self.buf, b"",
                            "the server sent more in clear text after the "
                            "STARTTLS go-ahead")
        self.wrap(server_hostname=HOST)

    def auth_plain(self, user, password, authzid=""):
        return self.cmd("AUTH PLAIN " +
                        plain_response(user, password, authzid))

    def login(self, user=ALICE, password=None):
        self.tc.assertEqual(
            self.auth_plain(user, password or PASSWORDS[user]), AUTH_OK)

    def transaction(self, mail_from, rcpts, data, mail_params=""):
        """MAIL, RCPT…, DATA, the data: asserts each step succeeds and
        returns the final reply."""
        got = self.cmd(f"MAIL FROM:<{mail_from}>{mail_params}")
        self.tc.assertTrue(got.startswith("250 2.1.0"), f"MAIL: {got!r}")
        for rcpt in rcpts:
            got = self.cmd(f"RCPT TO:<{rcpt}>")
            self.tc.assertTrue(got.startswith("250 2.1.5"),
                               f"RCPT TO:<{rcpt}>: {got!r}")
        self.expect_prefix("DATA", "354 ")
        self.send(dot_stuff(data))
        final = self.reply()
        self.tc.assertEqual(len(final), 1, final)
        self.tc.assertRegex(final[0], QUEUED_RE)
        return final[0]

    def quit(self):
        self.expect("QUIT", BYE)
        self.tc.assertEqual(self.expect_eof(), b"")
        self.close()


class SMTPTestCase(harness.CertTestCase):
    """A certificate for the class; a server per test."""

    SETTINGS = {"max_message_size": "1M"}

    cert_host = HOST
    modules = (SMTP_SO,)

    def setUp(self):
        super().setUp()
        self.d = None
        self.where = None

    # -- the server

    def configure(self, settings=None, users=(ALICE, BOB)):
        env = self.env
        # Outbound delivery is not under test here: the queue's relayhost
        # is a port nobody listens on, so remote recipients stay queued
        # (pending, retried in an hour) where the tests look for them.
        parking = (f"\n[queue]\nrelayhost = 127.0.0.1:{harness.free_port()}\n"
                   "poll_interval = 1h\nretry_min = 1h\nretry_max = 1h\n")
        env.write_config(modules_dir=self.modules_dir(),
                         extra=harness.tls_section(*self.cert) + parking)
        text, self.where = harness.listener_sections([
            {"name": "mx", "protocol": "smtp", "tls": "starttls"},
            {"name": "submission", "protocol": "submission",
             "tls": "starttls"},
            {"name": "submissions", "protocol": "submission",
             "tls": "implicit"},
        ])
        env.write_module("smtp", dict(self.SETTINGS, **(settings or {})),
                         extra=text)
        env.init()
        env.cli_ok("domain", "add", "example.test")
        for user in users:
            env.add_user(user, PASSWORDS[user])
        env.cli_ok("alias", "add", INFO, ALICE)
        env.cli_ok("alias", "add", TEAM, BOB)
        env.cli_ok("alias", "add", TEAM, CAROL)

    def modules_dir(self):
        return MODULES_DIR

    # The ready line's "modules=N names=..." part.
    READY_MODULES = re.escape("modules=1 names=smtp")

    def start(self):
        self.d = self.env.start()
        self.d.wait_for(re.escape(f"info core: postinod ready version="
                                  f"{VERSION} ") + self.READY_MODULES +
                        " listeners=3$", regex=True)
        return self.d

    def serve(self, settings=None, users=(ALICE, BOB)):
        self.configure(settings, users)
        return self.start()

    def stop(self):
        """SIGTERM and the clean-exit checks; then no password in any
        output or log."""
        self.d.stop()
        everything = self.env.all_output()
        for password in PASSWORDS.values():
            self.assertNotIn(password, everything, "a password was logged")
            for user in PASSWORDS:
                self.assertNotIn(plain_response(user, password), everything,
                                 "an AUTH PLAIN response was logged")

    # -- clients

    def client(self, name, tls=False, auth=None, ehlo=True):
        """A raw client on listener name, greeted; with ehlo, EHLO done;
        with tls on a STARTTLS listener, STARTTLS and EHLO again; with
        auth (an account), AUTH PLAIN done."""
        implicit = name == "submissions"
        c = SmtpClient(self, self.where[name], implicit_tls=implicit,
                       server_hostname=HOST)
        c.greeting()
        if ehlo:
            c.ehlo()
        if tls and not implicit:
            if not ehlo:
                c.ehlo()
            c.starttls()
            c.ehlo()
        if auth:
            c.login(auth)
        return c

    def smtplib_client(self, name, **kw):
        where = self.where[name]
        cls = smtplib.SMTP_SSL if name == "submissions" else smtplib.SMTP
        if name == "submissions":
            kw["context"] = tls_client_context()
        s = cls(where[0], where[1], local_hostname=HELO, timeout=IO_TIMEOUT,
                **kw)
        self.addCleanup(s.close)
        return s

    # -- what was stored

    def assert_delivered(self, stored, sent, sender=ALICE, protocol=None):
        """stored is sent with exactly a Return-Path line and one Received
        header field in front of it (Return-Path first); protocol: the
        Received header's "with" (RFC 3848), when given."""
        self.assertTrue(stored.endswith(sent),
                        f"stored message does not end with the sent bytes:"
                        f"\nstored: {stored[:2000]!r}\nsent:   {sent!r}")
        prefix = stored[:len(stored) - len(sent)]
        self.assertTrue(prefix.endswith(b"\r\n"), prefix)
        fields = re.split(rb"\r\n(?![ \t])", prefix[:-2])
        names = [f.split(b":", 1)[0] for f in fields]
        self.assertEqual(names, [b"Return-Path", b"Received"],
                         f"added header fields: {prefix!r}")
        self.assertEqual(fields[0], f"Return-Path: <{sender}>".encode())
        received = fields[1]
        self.assertNotIn(b"\n", received.replace(b"\r\n", b""),
                         f"bare LF in the Received header: {received!r}")
        self.assertIn(f"by {HOST}".encode(), received, received)
        self.assertIn(b"127.0.0.1", received, received)
        if protocol is not None:
            self.assertRegex(received.decode(errors="replace"),
                             rf"\swith {protocol}\s", received)

    def assert_running(self):
        """postinod is still there (say, not killed by a SIGPIPE)."""
        if not self.d.running():
            self.fail(f"postinod died: exit {self.d.proc.returncode} "
                      f"(-13 is SIGPIPE); log:\n{self.d.log()[-3000:]}")
        return True

    def inbox(self, address):
        return self.env.mailbox_messages(address)

    def assert_nothing_stored(self):
        self.assertEqual(self.env.query("SELECT count(*) FROM messages"),
                         [(0,)], "messages stored")
        self.assertEqual(self.env.query("SELECT count(*) FROM queue"),
                         [(0,)], "messages queued")


# ---- the session: greeting, EHLO, STARTTLS, simple commands --------------------

class Session(SMTPTestCase):

    def test_mx_session_before_and_after_starttls(self):
        self.serve()
        c = self.client("mx", ehlo=False)
        ext = c.ehlo()
        for keyword in ("PIPELINING", "SIZE 1048576", "8BITMIME",
                        "SMTPUTF8", "ENHANCEDSTATUSCODES", "STARTTLS"):
            self.assertIn(keyword, ext, f"EHLO before TLS: {ext!r}")
        self.assertFalse([e for e in ext if e.startswith("AUTH")],
                         f"AUTH offered without TLS: {ext!r}")
        c.expect_prefix("NOOP", "250 ")
        c.expect_prefix("VRFY bob@example.test", "252 ")
        c.expect_prefix("FROBNICATE", "500 ")
        c.starttls()
        ext = c.ehlo()
        for keyword in ("PIPELINING", "SIZE 1048576", "8BITMIME",
                        "SMTPUTF8", "ENHANCEDSTATUSCODES", "AUTH PLAIN LOGIN"):
            self.assertIn(keyword, ext, f"EHLO inside TLS: {ext!r}")
        self.assertNotIn("STARTTLS", ext, f"EHLO inside TLS: {ext!r}")
        c.expect("STARTTLS", TLS_ACTIVE)
        c.expect_prefix("NOOP", "250 ")
        c.quit()
        self.stop()

    def test_submissions_is_tls_from_the_first_byte(self):
        self.serve()
        c = self.client("submissions", ehlo=False)
        self.assertTrue(c.tls)
        ext = c.ehlo()
        self.assertIn("AUTH PLAIN LOGIN", ext, ext)
        self.assertNotIn("STARTTLS", ext, ext)
        self.assertIn("SIZE 1048576", ext, ext)
        c.expect("STARTTLS", TLS_ACTIVE)
        c.quit()
        self.stop()

    def test_auth_before_tls_is_refused(self):
        self.serve()
        for name in ("submission", "mx"):
            c = self.client(name)
            c.expect("AUTH PLAIN " + plain_response(ALICE, PASSWORDS[ALICE]),
                     AUTH_NEEDS_TLS)
            c.expect("AUTH PLAIN", AUTH_NEEDS_TLS)
            c.expect("AUTH LOGIN", AUTH_NEEDS_TLS)
            # Still not authenticated: submission wants AUTH for MAIL.
            if name == "submission":
                c.expect(f"MAIL FROM:<{ALICE}>", AUTH_REQUIRED)
            c.quit()
        self.stop()

    def test_auth_state_machine(self):
        self.serve()
        c = self.client("submission", tls=True)
        c.expect("AUTH PLAIN " + plain_response(ALICE, "wrong"), AUTH_BAD)
        c.expect("AUTH PLAIN " + plain_response("nobody@example.test",
                                                "wrong"), AUTH_BAD)
        # alice's password may not open bob's session (authzid).
        got = c.cmd("AUTH PLAIN " + plain_response(ALICE, PASSWORDS[ALICE],
                                                   authzid=BOB))
        self.assertNotEqual(got[:1], "2", got)
        # A cancelled exchange (RFC 4954: "*" -> 501).
        c.expect_prefix("AUTH LOGIN", "334 ")
        c.expect_prefix("*", "501 ")
        # PLAIN without an initial response: the response on its own line.
        c.expect_prefix("AUTH PLAIN", "334 ")
        c.expect(plain_response(ALICE, PASSWORDS[ALICE]), AUTH_OK)
        # Only one successful AUTH per session.
        c.expect_prefix("AUTH PLAIN " +
                        plain_response(BOB, PASSWORDS[BOB]), "503 ")
        c.quit()
        self.stop()


# ---- Python's smtplib ------------------------------------------------------------

class Smtplib(SMTPTestCase):

    def send_via(self, s, rcpts, data, sender=ALICE):
        """MAIL/RCPT/DATA through smtplib; asserts each reply."""
        code, text = s.mail(sender)
        self.assertEqual((code, text[:5]), (250, b"2.1.0"), text)
        for rcpt in rcpts:
            code, text = s.rcpt(rcpt)
            self.assertEqual((code, text[:5]), (250, b"2.1.5"), text)
        code, text = s.data(data)
        self.assertEqual(code, 250, text)
        self.assertRegex(text.decode(), r"^2\.0\.0 Ok: queued as \S+$")

    def test_starttls_auth_plain_and_dot_stuffing(self):
        self.serve()
        s = self.smtplib_client("submission")
        s.ehlo()
        self.assertFalse(s.has_extn("auth"))
        s.starttls(context=tls_client_context())
        s.ehlo()
        self.assertEqual(s.esmtp_features.get("auth", "").split(),
                         ["PLAIN", "LOGIN"])
        s.user, s.password = ALICE, PASSWORDS[ALICE]
        code, text = s.auth("PLAIN", s.auth_plain)   # with initial response
        self.assertEqual((code, text.decode()), (235, AUTH_OK[4:]))
        self.send_via(s, [BOB], DOTTY)
        self.assertEqual(s.quit()[0], 221)
        stored = self.inbox(BOB)
        self.assertEqual(len(stored), 1)
        self.assert_delivered(stored[0], DOTTY, protocol="ESMTPSA")
        self.assertEqual(self.inbox(ALICE), [])
        self.assertEqual(self.env.queued(), [])
        self.stop()

    def test_auth_plain_without_initial_response(self):
        self.serve()
        s = self.smtplib_client("submission")
        s.starttls(context=tls_client_context())
        s.ehlo()
        s.user, s.password = ALICE, PASSWORDS[ALICE]
        code, text = s.auth("PLAIN", s.auth_plain, initial_response_ok=False)
        self.assertEqual((code, text.decode()), (235, AUTH_OK[4:]))
        self.send_via(s, [BOB], message("plain two steps"))
        s.quit()
        self.assertEqual(len(self.inbox(BOB)), 1)
        self.stop()

    def test_auth_login_both_ways(self):
        self.serve()
        for initial in (False, True):
            s = self.smtplib_client("submission")
            s.starttls(context=tls_client_context())
            s.ehlo()
            s.user, s.password = ALICE, PASSWORDS[ALICE]
            code, text = s.auth("LOGIN", s.auth_login,
                                initial_response_ok=initial)
            self.assertEqual((code, text.decode()), (235, AUTH_OK[4:]),
                             f"initial_response_ok={initial}")
            self.send_via(s, [BOB], message(f"login {initial}"))
            s.quit()
        # smtp.login() picks a mechanism itself.
        s = self.smtplib_client("submission")
        s.starttls(context=tls_client_context())
        s.ehlo()
        with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
            s.login(ALICE, "not the password", initial_response_ok=False)
        self.assertEqual((cm.exception.smtp_code,
                          cm.exception.smtp_error.decode()),
                         (535, AUTH_BAD[4:]))
        s.login(ALICE, PASSWORDS[ALICE], initial_response_ok=False)
        s.sendmail(ALICE, [BOB], message("login picked"))
        s.quit()
        self.assertEqual(len(self.inbox(BOB)), 3)
        self.stop()

    def test_smtp_ssl_on_submissions(self):
        self.serve()
        s = self.smtplib_client("submissions")
        s.ehlo()
        self.assertNotIn("starttls", s.esmtp_features)
        s.login(ALICE, PASSWORDS[ALICE])
        data = message("over implicit TLS", b"Sent over port 465 style.\r\n",
                       to=BOB)
        self.send_via(s, [BOB], data)
        s.quit()
        stored = self.inbox(BOB)
        self.assertEqual(len(stored), 1)
        self.assert_delivered(stored[0], data)
        self.stop()

    def test_mx_starttls_unauthenticated(self):
        self.serve()
        s = self.smtplib_client("mx")
        s.starttls(context=tls_client_context())
        s.ehlo()
        sender = "someone@remote.test"
        data = message("inbound", sender=sender)
        self.send_via(s, [BOB], data, sender=sender)
        code, text = s.mail(sender)
        self.assertEqual(code, 250, text)
        code, text = s.rcpt("x@remote.test")
        self.assertEqual(f"{code} {text.decode()}",
                         relaying_denied("x@remote.test"))
        s.rset()
        s.quit()
        stored = self.inbox(BOB)
        self.assertEqual(len(stored), 1)
        self.assert_delivered(stored[0], data, sender=sender,
                              protocol="ESMTPS")
        self.assertEqual(self.env.queued(), [])
        self.stop()

    def test_auth_on_mx_inside_tls(self):
        self.serve()
        s = self.smtplib_client("mx")
        s.starttls(context=tls_client_context())
        s.ehlo()
        self.assertEqual(s.login(ALICE, PASSWORDS[ALICE])[0], 235)
        data = message("relayed from mx", to=CAROL)
        self.send_via(s, [CAROL], data)
        s.quit()
        queued = self.env.queued()
        self.assertEqual([(q[0], q[1]) for q in queued], [(ALICE, [CAROL])])
        self.assertTrue(queued[0][2].endswith(data), queued[0][2])
        self.stop()

    def test_8bit_and_smtputf8(self):
        self.serve()
        s = self.smtplib_client("submission")
        s.starttls(context=tls_client_context())
        s.ehlo()
        s.login(ALICE, PASSWORDS[ALICE])
        data = message("unicode", "Grüße, ключ, 日本語 ✓\r\n".encode())
        code, text = s.mail(ALICE, ["BODY=8BITMIME", "SMTPUTF8"])
        self.assertEqual(code, 250, text)
        self.assertEqual(s.rcpt(BOB)[0], 250)
        code, text = s.rcpt("jösé@example.test")
        self.assertEqual(f"{code} {text.decode()}",
                         user_unknown("jösé@example.test"))
        self.assertEqual(s.data(data)[0], 250)
        s.quit()
        stored = self.inbox(BOB)
        self.assertEqual(len(stored), 1)
        self.assert_delivered(stored[0], data)
        self.stop()


# ---- swaks and curl ----------------------------------------------------------------

def run_tool(argv, timeout=TOOL_TIMEOUT):
    proc = subprocess.run(argv, capture_output=True, timeout=timeout,
                          env=base_env(), stdin=subprocess.DEVNULL)
    return (proc.returncode, proc.stdout.decode(errors="replace"),
            proc.stderr.decode(errors="replace"))


class Swaks(SMTPTestCase):

    def setUp(self):
        super().setUp()
        if SWAKS is None:
            self.fail("swaks is not installed (make test installs it)")

    def swaks(self, name, *args):
        address, port = self.where[name]
        argv = [SWAKS, "--server", address, "--port", str(port),
                "--helo", HELO, "--timeout", "20"] + list(args)
        code, out, err = run_tool(argv)
        return code, out + err

    def test_swaks_starttls_auth_plain(self):
        self.serve()
        code, out = self.swaks(
            "submission", "--tls", "--auth", "PLAIN",
            "--auth-user", ALICE, "--auth-password", PASSWORDS[ALICE],
            "--from", ALICE, "--to", BOB,
            "--header", "Subject: swaks test", "--body", "hello from swaks")
        self.assertEqual(code, 0, out)
        lines = out.splitlines()
        self.assertIn(f"<-  {GREETING}", lines, out)
        self.assertIn(" -> STARTTLS", lines, out)
        self.assertIn(" ~> AUTH PLAIN " +
                      plain_response(ALICE, PASSWORDS[ALICE]), lines, out)
        self.assertIn(f"<~  {AUTH_OK}", lines, out)
        self.assertTrue([l for l in lines
                         if re.match(r"^<~  250 2\.0\.0 Ok: queued as \S+$",
                                     l)], out)
        self.assertIn(f"<~  {BYE}", lines, out)
        stored = self.inbox(BOB)
        self.assertEqual(len(stored), 1)
        self.assertIn(b"\r\nSubject: swaks test\r\n", stored[0])
        self.assertIn(b"\r\n\r\nhello from swaks\r\n", stored[0])
        self.assertTrue(stored[0].startswith(
            f"Return-Path: <{ALICE}>\r\nReceived: ".encode()), stored[0])
        self.stop()

    def test_swaks_pipeline_several_recipients(self):
        self.serve()
        code, out = self.swaks(
            "submission", "--tls", "--pipeline", "--auth", "PLAIN",
            "--auth-user", ALICE, "--auth-password", PASSWORDS[ALICE],
            "--from", ALICE, "--to", f"{BOB},{INFO},{CAROL}",
            "--header", "Subject: pipelined", "--body", "three at once")
        self.assertEqual(code, 0, out)
        lines = out.splitlines()
        self.assertIn("<~  250-PIPELINING", lines, out)
        for rcpt in (BOB, INFO, CAROL):
            self.assertIn(f" ~> RCPT TO:<{rcpt}>", lines, out)
        self.assertEqual(len([l for l in lines
                              if l.startswith("<~  250 2.1.5")]), 3, out)
        self.assertTrue([l for l in lines
                         if re.match(r"^<~  250 2\.0\.0 Ok: queued as", l)],
                        out)
        self.assertEqual(len(self.inbox(BOB)), 1)
        self.assertEqual(len(self.inbox(ALICE)), 1)    # via info@
        queued = self.env.queued()
        self.assertEqual([(q[0], q[1]) for q in queued], [(ALICE, [CAROL])])
        self.assertIn(b"three at once", queued[0][2])
        self.stop()

    def test_swaks_unauthenticated_relay_fails(self):
        self.serve()
        code, out = self.swaks("mx", "--tls", "--from", "x@remote.test",
                               "--to", "y@remote.test")
        self.assertNotEqual(code, 0, out)
        self.assertIn(f"<~* {relaying_denied('y@remote.test')}",
                      out.splitlines(), out)
        self.assert_nothing_stored()
        self.stop()


class Curl(SMTPTestCase):

    def setUp(self):
        super().setUp()
        if CURL is None:
            self.fail("curl is not installed (make test installs it)")

    def curl(self, url, *args, data=DOTTY):
        path = self.env.write("mail.eml", "")
        with open(path, "wb") as f:
            f.write(data)
        argv = [CURL, "-sS", "--insecure", "--max-time", "30", url,
                "--upload-file", path] + list(args)
        return run_tool(argv)

    def test_curl_starttls_submission(self):
        self.serve()
        port = self.where["submission"][1]
        code, out, err = self.curl(
            f"smtp://127.0.0.1:{port}/{HELO}", "--ssl-reqd",
            "--user", f"{ALICE}:{PASSWORDS[ALICE]}",
            "--mail-from", ALICE, "--mail-rcpt", BOB)
        self.assertEqual(code, 0, out + err)
        stored = self.inbox(BOB)
        self.assertEqual(len(stored), 1)
        self.assert_delivered(stored[0], DOTTY)
        self.stop()

    def test_curl_auth_login(self):
        self.serve()
        port = self.where["submission"][1]
        code, out, err = self.curl(
            f"smtp://127.0.0.1:{port}/{HELO}", "--ssl-reqd",
            "--login-options", "AUTH=LOGIN",
            "--user", f"{ALICE}:{PASSWORDS[ALICE]}",
            "--mail-from", ALICE, "--mail-rcpt", BOB)
        self.assertEqual(code, 0, out + err)
        self.assertEqual(len(self.inbox(BOB)), 1)
        self.stop()

    def test_curl_smtps(self):
        self.serve()
        port = self.where["submissions"][1]
        code, out, err = self.curl(
            f"smtps://127.0.0.1:{port}/{HELO}",
            "--user", f"{ALICE}:{PASSWORDS[ALICE]}",
            "--mail-from", ALICE, "--mail-rcpt", BOB, "--mail-rcpt", CAROL)
        self.assertEqual(code, 0, out + err)
        stored = self.inbox(BOB)
        self.assertEqual(len(stored), 1)
        self.assert_delivered(stored[0], DOTTY)
        self.assertEqual([(q[0], q[1]) for q in self.env.queued()],
                         [(ALICE, [CAROL])])
        self.stop()

    def test_curl_mx_without_auth(self):
        self.serve()
        port = self.where["mx"][1]
        code, out, err = self.curl(
            f"smtp://127.0.0.1:{port}/{HELO}", "--ssl-reqd",
            "--mail-from", "someone@remote.test", "--mail-rcpt", INFO)
        self.assertEqual(code, 0, out + err)
        stored = self.inbox(ALICE)
        self.assertEqual(len(stored), 1)
        self.assert_delivered(stored[0], DOTTY, sender="someone@remote.test")
        # And relaying through it is refused (curl: 55, failed RCPT).
        code, out, err = self.curl(
            f"smtp://127.0.0.1:{port}/{HELO}", "--ssl-reqd",
            "--mail-from", "someone@remote.test", "--mail-rcpt",
            "x@remote.test")
        self.assertNotEqual(code, 0, out + err)
        self.assertEqual(self.env.queued(), [])
        self.stop()


# ---- aliases and single-instance storage ------------------------------------------

class Aliases(SMTPTestCase):

    def test_alias_to_a_local_account(self):
        self.serve()
        c = self.client("mx", tls=True)
        data = message("for info", sender="someone@remote.test", to=INFO)
        c.transaction("someone@remote.test", [INFO], data)
        c.quit()
        stored = self.inbox(ALICE)
        self.assertEqual(len(stored), 1)
        self.assert_delivered(stored[0], data, sender="someone@remote.test")
        self.assertEqual(self.inbox(BOB), [])
        self.assertEqual(self.env.queued(), [])
        self.stop()

    def test_alias_to_local_and_remote(self):
        self.serve()
        c = self.client("mx")
        data = message("for the team", sender="someone@remote.test", to=TEAM)
        c.transaction("someone@remote.test", [TEAM], data)
        c.quit()
        stored = self.inbox(BOB)
        self.assertEqual(len(stored), 1)
        self.assert_delivered(stored[0], data, sender="someone@remote.test",
                              protocol="ESMTP")
        self.assertEqual(self.inbox(ALICE), [])
        queued = self.env.queued()
        self.assertEqual([(q[0], q[1]) for q in queued],
                         [("someone@remote.test", [CAROL])])
        self.assertTrue(queued[0][2].endswith(data), queued[0][2])
        # Return-Path is for the final delivery (RFC 5321 4.4), not for
        # the copy that goes on to another server.
        self.assertFalse(queued[0][2].startswith(b"Return-Path:"),
                         queued[0][2][:200])
        # A forwarded copy names the alias it passed (loop detection, as
        # Postfix does), above our Received.
        self.assertRegex(queued[0][2][:200],
                         rb"^Delivered-To: " + TEAM.encode() +
                         rb"\r\nReceived: ")
        self.stop()

    def test_three_local_recipients_stored_once(self):
        self.serve(users=(ALICE, BOB, DAVE))
        c = self.client("submission", tls=True, auth=ALICE)
        data = message("to three", b"x" * 70 + b"\r\n")
        c.transaction(ALICE, [ALICE, BOB, DAVE], data)
        c.quit()
        for who in (ALICE, BOB, DAVE):
            stored = self.inbox(who)
            self.assertEqual(len(stored), 1, who)
            self.assert_delivered(stored[0], data)
        rows = self.env.query("SELECT id, refcount FROM blobs")
        self.assertEqual(len(rows), 1, f"blobs: {rows!r}")
        blob_id, refcount = rows[0]
        self.assertEqual(refcount, 3)
        self.assertEqual(
            self.env.query("SELECT blob FROM messages ORDER BY id"),
            [(blob_id,)] * 3)
        self.stop()


# ---- no open relay -------------------------------------------------------------------

class Relay(SMTPTestCase):

    def test_unauthenticated_matrix(self):
        self.serve()
        remote = "x@remote.test"
        for name in ("mx", "submission", "submissions"):
            for tls in ((False, True) if name != "submissions" else (True,)):
                for rcpt in (BOB, remote):
                    for sender in ("someone@remote.test", ALICE):
                        what = (f"listener={name} tls={tls} rcpt={rcpt} "
                                f"sender={sender}")
                        c = self.client(name, tls=tls)
                        mail = c.cmd(f"MAIL FROM:<{sender}>")
                        got = c.cmd(f"RCPT TO:<{rcpt}>")
                        if name != "mx":
                            self.assertEqual(mail, AUTH_REQUIRED, what)
                            self.assertTrue(got.startswith("503 "),
                                            f"{what}: {got!r}")
                        elif rcpt == BOB:
                            self.assertTrue(mail.startswith("250 2.1.0"),
                                            f"{what}: {mail!r}")
                            self.assertTrue(got.startswith("250 2.1.5"),
                                            f"{what}: {got!r}")
                        else:
                            self.assertTrue(mail.startswith("250 2.1.0"),
                                            f"{what}: {mail!r}")
                            self.assertEqual(got, relaying_denied(remote),
                                             what)
                        # DATA never opens for a refused recipient.
                        if not got.startswith("250"):
                            data = c.cmd("DATA")
                            self.assertTrue(data.startswith("5"),
                                            f"{what}: DATA -> {data!r}")
                        c.quit()
        self.assert_nothing_stored()
        self.stop()

    def test_tricky_recipients_on_mx(self):
        """Address forms that old relays got wrong: none is accepted."""
        self.serve()
        tricky = ["<x%remote.test@example.test>",
                  "<x@remote.test@example.test>",
                  "<@example.test:x@remote.test>",
                  "<\"x@remote.test\"@example.test>",
                  "<x!remote.test@example.test>",
                  "<remote.test!x@example.test>",
                  "<x@remote.test.>",
                  "<x@[127.0.0.1]>",
                  "<x@example.test.remote.test>",
                  "<postmaster@remote.test>",
                  "x@remote.test"]
        # A few per session: a server may close after some errors.
        for i in range(0, len(tricky), 4):
            c = self.client("mx")
            c.expect_prefix("MAIL FROM:<someone@remote.test>", "250 ")
            for rcpt in tricky[i:i + 4]:
                got = c.cmd(f"RCPT TO:{rcpt}")
                self.assertFalse(got.startswith("2"),
                                 f"RCPT TO:{rcpt} -> {got!r}")
            c.quit()
        c = self.client("mx")
        c.expect_prefix("MAIL FROM:<someone@remote.test>", "250 ")
        c.expect("RCPT TO:<nobody@example.test>",
                 user_unknown("nobody@example.test"))
        # Domain names are case-insensitive.
        c.expect_prefix("RCPT TO:<bob@EXAMPLE.TEST>", "250 2.1.5")
        c.expect_prefix("RSET", "250 ")
        c.quit()
        self.assert_nothing_stored()
        self.stop()

    def test_authenticated_sender_must_own_mail_from(self):
        self.serve()
        for name in ("submission", "submissions", "mx"):
            c = self.client(name, tls=True, auth=ALICE)
            c.expect(f"MAIL FROM:<{BOB}>", not_owned(BOB))
            got = c.cmd("MAIL FROM:<>")
            self.assertTrue(got.startswith("553 5.7.1 "), got)
            self.assertIn(f"not owned by user {ALICE}", got)
            c.expect("MAIL FROM:<someone@remote.test>",
                     not_owned("someone@remote.test"))
            # Nothing was opened: RCPT needs a MAIL first.
            c.expect_prefix(f"RCPT TO:<{BOB}>", "503 ")
            # Her own address (and an alias of hers) works, remote too.
            for sender in (ALICE, INFO):
                got = c.cmd(f"MAIL FROM:<{sender}>")
                self.assertTrue(got.startswith("250 2.1.0"),
                                f"{name} MAIL FROM:<{sender}>: {got!r}")
                got = c.cmd("RCPT TO:<x@remote.test>")
                self.assertTrue(got.startswith("250 2.1.5"), got)
                c.expect_prefix("RSET", "250 ")
            c.quit()
        self.assert_nothing_stored()
        self.stop()


# ---- hostile input ---------------------------------------------------------------------

class BadInput(SMTPTestCase):

    def test_ten_megabyte_line(self):
        self.serve()
        a = self.client("mx")
        b = self.client("mx")
        errors = []

        def flood():
            try:
                chunk = b"A" * 65536
                a.send(b"MAIL FROM:<")
                for _ in range(10 * 1024 * 1024 // len(chunk)):
                    a.send(chunk)
                a.send(b">\r\n")
            except Exception as e:   # reported below
                errors.append(e)

        t = threading.Thread(target=flood, daemon=True)
        t.start()
        # Served meanwhile, and promptly.
        while t.is_alive():
            start = time.monotonic()
            b.expect_prefix("NOOP", "250 ")
            self.assertLess(time.monotonic() - start, 5.0)
            time.sleep(0.05)
        t.join(IO_TIMEOUT)
        self.assertEqual(errors, [])
        self.assertEqual(a.reply(), [LINE_TOO_LONG])
        # One error for the one line; the session goes on.
        a.expect_prefix("NOOP", "250 ")
        a.transaction("someone@remote.test", [BOB], message("after"))
        a.quit()
        b.quit()
        self.assertEqual(len(self.inbox(BOB)), 1)
        self.stop()

    def smuggle(self, c, end_lookalike):
        c.expect_prefix("MAIL FROM:<someone@remote.test>", "250 ")
        c.expect_prefix(f"RCPT TO:<{BOB}>", "250 ")
        c.expect_prefix("DATA", "354 ")
        c.send(b"Subject: innocent\r\n\r\nhello\r\n" + end_lookalike +
               b"MAIL FROM:<evil@x>\r\n"
               b"RCPT TO:<" + ALICE.encode() + b">\r\n"
               b"DATA\r\n"
               b"Subject: smuggled\r\n\r\nevil\r\n"
               b".\r\n")
        # A command with a reply nothing else gives (252), to see every
        # reply that came before it.
        c.send(b"VRFY bob\r\n")
        replies = []
        while True:
            line = c.reply()[-1]
            if line.startswith("252 "):
                break
            replies.append(line)
            self.assertLess(len(replies), 10, replies)
        return replies

    def test_bare_lf_smuggling(self):
        self.serve()
        for lookalike in (b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n"):
            for tls in (False, True):
                c = self.client("mx", tls=tls)
                replies = self.smuggle(c, lookalike)
                self.assertEqual(replies, [BARE_LF],
                                 f"end lookalike {lookalike!r} tls={tls}")
                c.expect_prefix("NOOP", "250 ")
                c.quit()
        self.assert_nothing_stored()
        # The session is usable after the refusal.
        c = self.client("mx")
        self.assertEqual(self.smuggle(c, b"\n.\n"), [BARE_LF])
        c.transaction("someone@remote.test", [BOB], message("clean"))
        c.quit()
        self.assertEqual(len(self.inbox(BOB)), 1)
        self.assertEqual(self.inbox(ALICE), [])
        self.assertEqual(self.env.query("SELECT count(*) FROM messages"),
                         [(1,)])
        self.stop()

    def test_oversize_declared(self):
        self.serve()
        c = self.client("submission", tls=True, auth=ALICE)
        c.expect(f"MAIL FROM:<{ALICE}> SIZE={MAX_SIZE + 1}", SIZE_DECLARED)
        c.expect(f"MAIL FROM:<{ALICE}> SIZE=2000000", SIZE_DECLARED)
        c.expect_prefix(f"RCPT TO:<{BOB}>", "503 ")
        got = c.cmd(f"MAIL FROM:<{ALICE}> SIZE=1000")
        self.assertTrue(got.startswith("250 2.1.0"), got)
        c.expect_prefix("RSET", "250 ")
        c.quit()
        self.assert_nothing_stored()
        self.stop()

    def test_oversize_streamed(self):
        self.serve()
        c = self.client("submission", tls=True, auth=ALICE)
        c.expect_prefix(f"MAIL FROM:<{ALICE}>", "250 ")
        c.expect_prefix(f"RCPT TO:<{BOB}>", "250 ")
        c.expect_prefix("DATA", "354 ")
        line = b"y" * 998 + b"\r\n"
        body = message("too big", line * (2 * MAX_SIZE // len(line)))
        errors = []

        def feed():
            try:
                c.send(dot_stuff(body))
            except Exception as e:
                errors.append(e)

        t = threading.Thread(target=feed, daemon=True)
        t.start()
        self.assertEqual(c.reply(timeout=60), [SIZE_STREAMED])
        t.join(60)
        self.assertEqual(errors, [])
        c.expect_prefix("NOOP", "250 ")
        self.assert_nothing_stored()
        # Just under the limit (with room for the added headers) passes
        # whole, on the same connection.
        fits = message("fits", line * (1000000 // len(line)))
        c.transaction(ALICE, [BOB], fits)
        c.quit()
        stored = self.inbox(BOB)
        self.assertEqual(len(stored), 1)
        self.assert_delivered(stored[0], fits)
        self.stop()

    def test_pipelined_recipients_beyond_the_limit(self):
        self.serve({"max_recipients": 50})
        c = self.client("submission", tls=True, auth=ALICE)
        rcpts = [f"r{i:03d}@remote.test" for i in range(200)]
        c.send(f"MAIL FROM:<{ALICE}>\r\n" +
               "".join(f"RCPT TO:<{r}>\r\n" for r in rcpts) + "DATA\r\n")
        self.assertTrue(c.reply()[-1].startswith("250 2.1.0"))
        replies = [c.reply()[-1] for _ in rcpts]
        accepted = 50
        for i, got in enumerate(replies):
            if i < accepted:
                self.assertEqual(got, "250 2.1.5 Ok", f"RCPT #{i}")
            else:
                self.assertRegex(got, TOO_MANY_RCPTS_RE, f"RCPT #{i}")
        self.assertTrue(c.reply()[-1].startswith("354 "))
        data = message("many", to="undisclosed-recipients:;")
        c.send(dot_stuff(data))
        self.assertRegex(c.reply()[-1], QUEUED_RE)
        c.quit()
        queued = self.env.queued()
        self.assertEqual(len(queued), 1)
        self.assertEqual(queued[0][0], ALICE)
        # Answered in order: the first `accepted` recipients are queued.
        self.assertEqual(queued[0][1], rcpts[:accepted])
        self.stop()

    def test_password_guessing_does_not_stall_others(self):
        self.serve()
        # Correctness only, never a stopwatch (shared CI machines): every
        # guess gets its 535, and another client is answered meanwhile.
        total, workers = 200, 8
        lock = threading.Lock()
        state = {"answered": 0, "reconnects": 0}
        errors = []

        def guess(worker):
            c = None
            n = worker
            try:
                while True:
                    with lock:
                        if state["answered"] >= total:
                            return
                    if c is None:
                        c = self.client("submissions")
                    try:
                        c.send("AUTH PLAIN " + plain_response(
                            ALICE, f"Wrong-guess-{n}") + "\r\n")
                        got = c.reply_or_eof()
                    except OSError:
                        got = None
                    if got is None or got.startswith("421 "):
                        c.close()
                        c = None
                        with lock:
                            state["reconnects"] += 1
                        continue
                    if got != AUTH_BAD:
                        errors.append(f"guess {n}: {got!r}")
                        return
                    n += workers
                    with lock:
                        state["answered"] += 1
            except BaseException as e:   # reported by the main thread
                errors.append(f"worker {worker}: {e!r}")

        threads = [threading.Thread(target=guess, args=(w,), daemon=True)
                   for w in range(workers)]
        for t in threads:
            t.start()
        # Another client: a fresh connection now and then (a server may
        # well limit NOOPs per session); each answer within the usual
        # bounded wait while the guesses run.
        watcher = None
        probes = 0
        while any(t.is_alive() for t in threads):
            if probes % 20 == 0:
                if watcher is not None:
                    watcher.quit()
                watcher = self.client("mx")
            watcher.expect_prefix("NOOP", "250 ")
            probes += 1
            time.sleep(0.1)
        for t in threads:
            t.join(IO_TIMEOUT)
        self.assertEqual(errors, [])
        self.assertGreaterEqual(state["answered"], total,
                                f"only {state['answered']} of {total} "
                                f"guesses answered "
                                f"({state['reconnects']} reconnects)")
        self.assertGreater(probes, 0, "no probe ran during the guesses")
        # No lockout without a policy module: the right password works.
        c = self.client("submissions", auth=ALICE)
        c.quit()
        if watcher is not None:
            watcher.quit()
        self.stop()
        self.assertNotIn("Wrong-guess-", self.env.all_output())

    def starttls_injection(self, name):
        c = self.client(name)
        c.send(b"STARTTLS\r\nMAIL FROM:<a@b>\r\n")
        go = c.readline()
        self.assertTrue(go.startswith("220 "), go)
        self.assertEqual(c.buf, b"", "more than the go-ahead in clear")
        c.wrap(server_hostname=HOST)
        # Nothing was waiting for us: the injected MAIL got no reply...
        self.assertTrue(c.quiet(0.5), f"unexpected: {c.buf!r}")
        c.ehlo()
        # ... and opened no transaction (a second MAIL would be nested).
        if name == "mx":
            got = c.cmd("MAIL FROM:<someone@remote.test>")
            self.assertTrue(got.startswith("250 2.1.0"), got)
            c.expect_prefix("RSET", "250 ")
        else:
            c.expect("MAIL FROM:<a@b>", AUTH_REQUIRED)
            c.login(ALICE)
            got = c.cmd(f"MAIL FROM:<{ALICE}>")
            self.assertTrue(got.startswith("250 2.1.0"), got)
        c.quit()

    def test_starttls_injection(self):
        self.serve()
        self.starttls_injection("mx")
        self.starttls_injection("submission")
        self.assert_nothing_stored()
        self.stop()

    def test_starttls_forgets_the_session(self):
        """RFC 3207 4.2: after the handshake the server knows nothing the
        client said before it."""
        self.serve()
        c = self.client("mx")
        c.expect_prefix("MAIL FROM:<someone@remote.test>", "250 2.1.0")
        c.starttls()
        # EHLO is needed again, and the MAIL before STARTTLS is gone.
        c.expect_prefix(f"RCPT TO:<{BOB}>", "503 5.5.1")
        c.expect_prefix("MAIL FROM:<someone@remote.test>", "503 5.5.1")
        c.ehlo()
        c.expect_prefix(f"RCPT TO:<{BOB}>", "503 5.5.1")
        c.transaction("someone@remote.test", [BOB], message("after reset"))
        c.quit()
        self.assertEqual(len(self.inbox(BOB)), 1)
        self.stop()

    def test_unknown_local_user(self):
        self.serve()
        c = self.client("mx", tls=True)
        c.expect_prefix("MAIL FROM:<someone@remote.test>", "250 ")
        c.expect("RCPT TO:<nobody@example.test>",
                 user_unknown("nobody@example.test"))
        c.expect_prefix("DATA", "5")
        c.quit()
        self.assert_nothing_stored()
        self.stop()


# ---- pipelining, chunk boundaries, concurrency -----------------------------------------

class Streams(SMTPTestCase):

    def test_next_transaction_in_the_same_write_as_the_data(self):
        """RFC 2920: the end of one message and the next transaction's
        commands may arrive in one write (the rest of the chunk after
        CRLF.CRLF is command input, kept while the delivery runs)."""
        self.serve()
        c = self.client("mx")
        first = message("first", sender="someone@remote.test")
        second = message("second", sender="someone@remote.test")
        c.send(f"MAIL FROM:<someone@remote.test>\r\nRCPT TO:<{BOB}>\r\n"
               "DATA\r\n")
        self.assertEqual([c.reply()[-1][:9] for _ in range(2)],
                         ["250 2.1.0", "250 2.1.5"])
        self.assertTrue(c.reply()[-1].startswith("354 "))
        c.send(dot_stuff(first) +
               f"MAIL FROM:<someone@remote.test>\r\nRCPT TO:<{INFO}>\r\n"
               "DATA\r\n".encode())
        ids = [c.reply()[-1]]
        self.assertRegex(ids[0], QUEUED_RE)
        self.assertEqual([c.reply()[-1][:9] for _ in range(2)],
                         ["250 2.1.0", "250 2.1.5"])
        self.assertTrue(c.reply()[-1].startswith("354 "))
        c.send(dot_stuff(second) + b"NOOP\r\nQUIT\r\n")
        ids.append(c.reply()[-1])
        self.assertRegex(ids[1], QUEUED_RE)
        self.assertNotEqual(ids[0], ids[1], "queue ids must differ")
        self.assertTrue(c.reply()[-1].startswith("250 "))
        self.assertEqual(c.reply(), [BYE])
        self.assertEqual(c.expect_eof(), b"")
        self.assert_delivered(self.inbox(BOB)[0], first,
                              sender="someone@remote.test")
        self.assert_delivered(self.inbox(ALICE)[0], second,
                              sender="someone@remote.test")
        self.stop()

    def test_data_one_byte_per_write(self):
        """Every split of CRLF, of a stuffed dot and of CRLF.CRLF."""
        self.serve()
        c = self.client("submissions", auth=ALICE)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.expect_prefix(f"MAIL FROM:<{ALICE}>", "250 ")
        c.expect_prefix(f"RCPT TO:<{BOB}>", "250 ")
        c.expect_prefix("DATA", "354 ")
        for byte in dot_stuff(DOTTY):
            c.send(bytes([byte]))
        self.assertRegex(c.reply()[-1], QUEUED_RE)
        c.quit()
        stored = self.inbox(BOB)
        self.assertEqual(len(stored), 1)
        self.assert_delivered(stored[0], DOTTY, protocol="ESMTPSA")
        self.stop()

    def test_helo_and_empty_message(self):
        self.serve()
        c = self.client("mx", ehlo=False)
        self.assertEqual(c.cmd(f"HELO {HELO}")[:4], "250 ")
        c.expect_prefix("MAIL FROM:<>", "250 2.1.0")     # a bounce
        c.expect_prefix(f"RCPT TO:<{BOB}>", "250 2.1.5")
        c.expect_prefix("DATA", "354 ")
        c.send(b".\r\n")
        self.assertRegex(c.reply()[-1], QUEUED_RE)
        c.quit()
        stored = self.inbox(BOB)
        self.assertEqual(len(stored), 1)
        self.assert_delivered(stored[0], b"", sender="", protocol="SMTP")
        self.stop()

    def test_client_gone_before_the_reply(self):
        """The end of the data, QUIT and a close without reading: the
        message is delivered all the same, and the server stays sound."""
        self.serve()
        try:
            for i in range(10):
                c = self.client("mx")
                c.expect_prefix("MAIL FROM:<someone@remote.test>", "250 ")
                c.expect_prefix(f"RCPT TO:<{BOB}>", "250 ")
                c.expect_prefix("DATA", "354 ")
                c.send(dot_stuff(message(f"gone {i}")) + b"QUIT\r\n")
                c.close()
        except (AssertionError, OSError):
            # Say so when the server died under us.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.d.proc.wait(timeout=2)
            self.assert_running()
            raise
        self.env.poll(lambda: self.assert_running() and
                      len(self.inbox(BOB)) == 10,
                      "ten messages from clients that left")
        c = self.client("mx")
        c.transaction("someone@remote.test", [BOB], message("still here"))
        c.quit()
        self.stop()

    def test_client_gone_mid_data_and_mid_auth(self):
        """Hang-ups while a message is half received or a password check
        is in flight: nothing stored, nothing leaked (stop() checks the
        sanitizers), the server goes on."""
        self.serve()
        for i in range(5):
            c = self.client("submissions", auth=ALICE)
            c.expect_prefix(f"MAIL FROM:<{ALICE}>", "250 ")
            c.expect_prefix(f"RCPT TO:<{BOB}>", "250 ")
            c.expect_prefix(f"RCPT TO:<{CAROL}>", "250 ")
            c.expect_prefix("DATA", "354 ")
            c.send(message(f"half {i}", b"z" * 300000 + b"\r\n"))
            c.close()
            c = self.client("submissions")
            c.send("AUTH PLAIN " +
                   plain_response(ALICE, PASSWORDS[ALICE]) + "\r\n")
            c.close()
        c = self.client("submissions", auth=ALICE)
        c.transaction(ALICE, [BOB], message("after hang-ups"))
        c.quit()
        self.assertEqual(len(self.inbox(BOB)), 1)
        self.assertEqual(self.env.queued(), [])
        self.stop()

    def test_parallel_deliveries(self):
        """Many sessions at once (group commit on the store's side): every
        acknowledged message is stored once, with distinct UIDs."""
        self.serve()
        clients, per_client = 12, 5
        errors = []
        acked = []
        lock = threading.Lock()

        def run(n):
            try:
                c = self.client("submissions" if n % 2 else "mx",
                                auth=ALICE if n % 2 else None)
                for k in range(per_client):
                    sender = ALICE if n % 2 else "someone@remote.test"
                    c.transaction(sender, [BOB], message(f"p {n} {k}"))
                    with lock:
                        acked.append((n, k))
                c.quit()
            except BaseException as e:    # reported below
                errors.append(f"client {n}: {e!r}")

        threads = [threading.Thread(target=run, args=(n,), daemon=True)
                   for n in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertFalse(any(t.is_alive() for t in threads), "stuck")
        self.assertEqual(errors, [])
        self.assertEqual(len(acked), clients * per_client)
        uids = self.env.query(
            "SELECT m.uid FROM messages m JOIN mailboxes x"
            " ON x.id = m.mailbox JOIN accounts a ON a.id = x.account"
            " WHERE a.address = ? AND x.name = 'INBOX' ORDER BY m.uid",
            (BOB,))
        self.assertEqual([u for (u,) in uids],
                         list(range(1, clients * per_client + 1)))
        subjects = sorted(re.search(rb"Subject: (p \d+ \d+)", m).group(1)
                          for m in self.inbox(BOB))
        self.assertEqual(subjects, sorted(f"p {n} {k}".encode()
                                          for n in range(clients)
                                          for k in range(per_client)))
        self.stop()


# ---- durability ---------------------------------------------------------------------

class Durability(SMTPTestCase):

    def test_acknowledged_mail_survives_sigkill(self):
        self.serve()
        c = self.client("submission", tls=True, auth=ALICE)
        local = message("durable local")
        remote = message("durable remote", to=CAROL)
        c.transaction(ALICE, [BOB], local)
        c.transaction(ALICE, [CAROL], remote)
        # No QUIT, no pause: the 250 alone promised it is on disk.
        self.d.proc.send_signal(signal.SIGKILL)
        self.d.proc.wait(timeout=IO_TIMEOUT)
        c.close()
        self.start()
        stored = self.inbox(BOB)
        self.assertEqual(len(stored), 1)
        self.assert_delivered(stored[0], local)
        queued = self.env.queued()
        self.assertEqual([(q[0], q[1]) for q in queued], [(ALICE, [CAROL])])
        self.assertTrue(queued[0][2].endswith(remote))
        # And the restarted server goes on.
        c = self.client("submissions", auth=ALICE)
        c.transaction(ALICE, [BOB], message("after restart"))
        c.quit()
        self.assertEqual(len(self.inbox(BOB)), 2)
        self.stop()


# ---- policies: smtp.so with the sample module (t/abi/sample.c) -------------------------

def sample_deferred(address):
    return f"450 4.7.1 <{address}>: sample says try later"


class Policy(SMTPTestCase):
    """smtp.so and sample.so together: the sample module acts as a policy
    on SMTP hooks (an X-Sample header from DATA_END through
    msg_add_header, a 450 for one recipient decided at once or on a
    worker), as SPF-like modules do."""

    READY_MODULES = "modules=2 names=(sample,smtp|smtp,sample)"

    def modules_dir(self):
        """A private modules_dir holding both modules."""
        path = self.env.path("modules")
        os.makedirs(path, exist_ok=True)
        for so in (SMTP_SO, SAMPLE_SO):
            self.assertTrue(os.path.exists(so), f"{so} not built")
            shutil.copy(so, path)
        return path

    def serve_with(self, sample=None, settings=None):
        self.configure(settings)
        self.env.write_module("sample", sample)
        return self.start()

    def mx_session(self):
        s = self.smtplib_client("mx")
        code, text = s.ehlo()
        self.assertEqual(code, 250, text)
        return s

    def reply_of(self, code, text):
        return f"{code} {text.decode(errors='replace')}"

    def test_data_end_hook_adds_a_header(self):
        self.serve_with({"add_header": "checked"})
        s = self.mx_session()
        sender = "someone@remote.test"
        sent = message("policy header", sender=sender)
        self.assertEqual(s.mail(sender)[0], 250)
        self.assertEqual(s.rcpt(BOB)[0], 250)
        code, text = s.data(sent)
        self.assertEqual(code, 250, text)
        s.quit()
        stored = self.inbox(BOB)
        self.assertEqual(len(stored), 1)
        prefix = (f"Return-Path: <{sender}>\r\nX-Sample: checked\r\n"
                  f"Received: ").encode()
        self.assertTrue(stored[0].startswith(prefix), stored[0][:500])
        self.assertTrue(stored[0].endswith(sent), stored[0][-500:])
        self.assertEqual(stored[0].count(b"X-Sample:"), 1, stored[0])
        self.stop()

    def deferred_recipient(self, sample):
        self.serve_with(dict(sample, defer_rcpt=BOB))
        s = self.mx_session()
        sender = "someone@remote.test"
        sent = message("one of two", sender=sender)
        self.assertEqual(s.mail(sender)[0], 250)
        self.assertEqual(self.reply_of(*s.rcpt(BOB)), sample_deferred(BOB))
        code, text = s.rcpt(ALICE)
        self.assertEqual((code, text[:5]), (250, b"2.1.5"), text)
        # The policy compares case-insensitively.
        self.assertEqual(self.reply_of(*s.rcpt("Bob@Example.TEST")),
                         sample_deferred("Bob@example.test"))
        code, text = s.data(sent)
        self.assertEqual(code, 250, text)
        self.assertRegex(text.decode(), r"^2\.0\.0 Ok: queued as \S+$")
        s.quit()
        stored = self.inbox(ALICE)
        self.assertEqual(len(stored), 1)
        self.assert_delivered(stored[0], sent, sender=sender)
        self.assertEqual(self.inbox(BOB), [])
        self.assertEqual(self.env.queued(), [])
        self.stop()

    def test_rcpt_hook_defers_one_recipient(self):
        self.deferred_recipient({})

    def test_rcpt_hook_defers_one_recipient_async(self):
        self.deferred_recipient({"pending_rcpt": "yes"})

    def test_postmaster_configured_local(self):
        self.serve_with(settings={"postmaster": ALICE})
        s = self.mx_session()
        sender = "someone@remote.test"
        sent = message("to the postmaster", sender=sender, to="postmaster")
        self.assertEqual(s.mail(sender)[0], 250)
        code, text = s.rcpt("postmaster")   # RCPT TO:<postmaster>
        self.assertEqual((code, text[:5]), (250, b"2.1.5"), text)
        code, text = s.data(sent)
        self.assertEqual(code, 250, text)
        s.quit()
        stored = self.inbox(ALICE)
        self.assertEqual(len(stored), 1)
        self.assert_delivered(stored[0], sent, sender=sender)
        # Any case, and not a relay even without TLS or AUTH.
        c = self.client("mx")
        c.expect_prefix(f"MAIL FROM:<{sender}>", "250 2.1.0")
        c.expect_prefix("RCPT TO:<PostMaster>", "250 2.1.5")
        c.expect_prefix("RSET", "250 ")
        c.quit()
        self.stop()

    def test_postmaster_configured_remote(self):
        remote = "pm@remote.test"
        self.serve_with(settings={"postmaster": remote})
        c = self.client("mx")
        sent = message("remote postmaster", sender="someone@remote.test",
                       to="postmaster")
        c.expect_prefix(f"RCPT TO:<{remote}>", "503 ")
        c.transaction("someone@remote.test", ["postmaster"], sent)
        # The configured address itself is still relaying.
        c.expect_prefix("MAIL FROM:<someone@remote.test>", "250 ")
        c.expect(f"RCPT TO:<{remote}>", relaying_denied(remote))
        c.quit()
        queued = self.env.queued()
        self.assertEqual([(q[0], q[1]) for q in queued],
                         [("someone@remote.test", [remote])])
        self.assertTrue(queued[0][2].endswith(sent))
        self.assertEqual(self.env.query("SELECT count(*) FROM messages"),
                         [(0,)])
        self.stop()

    def test_postmaster_unconfigured(self):
        # The host name, mail.example.test, is not a hosted domain.
        self.serve_with()
        s = self.mx_session()
        self.assertEqual(s.mail("someone@remote.test")[0], 250)
        self.assertEqual(self.reply_of(*s.rcpt("postmaster")),
                         NO_POSTMASTER)
        s.rset()
        s.quit()
        self.assert_nothing_stored()
        self.stop()

    def test_error_limit_survives_starttls(self):
        self.serve_with()
        c = self.client("mx")
        for _ in range(5):
            c.expect("FROBNICATE", UNKNOWN_COMMAND)
        c.starttls()
        c.ehlo()
        for _ in range(4):
            c.expect("FROBNICATE", UNKNOWN_COMMAND)
        c.expect_prefix("NOOP", "250 ")
        # The tenth error of the connection, not the fifth of the TLS
        # session, ends it.
        c.send("FROBNICATE\r\n")
        self.assertEqual(c.reply(), [UNKNOWN_COMMAND])
        self.assertEqual(c.reply(timeout=10), [TOO_MANY_ERRORS])
        self.assertEqual(c.expect_eof(), b"")
        self.assert_running()
        self.stop()


class Fixes(SMTPTestCase):
    """Corners found by the tests above: empty AUTH responses and the size
    limit on what is stored."""

    def test_empty_auth_plain_response_is_bad_credentials(self):
        self.serve()
        c = self.client("submission", tls=True)
        c.expect("AUTH PLAIN =", AUTH_BAD)      # RFC 4954: "=" is empty
        c.expect_prefix("AUTH PLAIN", "334 ")
        c.expect("=", AUTH_BAD)
        c.expect_prefix("AUTH PLAIN", "334 ")
        c.expect("", AUTH_BAD)
        c.expect_prefix("AUTH PLAIN", "334 ")
        c.expect("==", "501 5.5.2 Error: cannot decode response")
        c.login(ALICE)
        c.quit()
        self.stop()

    def test_size_limit_is_the_clients_message(self):
        """The limit EHLO advertises is on the client's message: exactly
        the limit is accepted (our Received header does not count against
        it), one byte more is refused."""
        limit = 4096
        self.serve({"max_message_size": str(limit)})
        c = self.client("mx")
        head = message("exactly the limit", body=b"")
        line = b"z" * 62 + b"\r\n"
        body = line * ((limit - len(head)) // len(line))
        body += b"z" * (limit - len(head) - len(body) - 2) + b"\r\n"
        exact = head + body
        self.assertEqual(len(exact), limit)
        c.transaction("someone@remote.test", [BOB], exact)
        self.assertEqual(len(self.inbox(BOB)), 1)
        over = exact[:-2] + b"z\r\n"
        self.assertEqual(len(over), limit + 1)
        c.expect_prefix("MAIL FROM:<someone@remote.test>", "250 ")
        c.expect_prefix(f"RCPT TO:<{BOB}>", "250 ")
        c.expect_prefix("DATA", "354 ")
        c.send(dot_stuff(over))
        self.assertEqual(c.reply(), [SIZE_STREAMED])
        c.quit()
        self.assertEqual(len(self.inbox(BOB)), 1)
        self.stop()


class NulInData(SMTPTestCase):
    """RFC 5321 2.3.8 (and RFC 6152 for 8BITMIME): NUL is never message
    content. A message holding one is refused after its end with 554
    5.6.0 and neither stored nor queued; what the client pipelined after
    the end is read as commands, and the session goes on."""

    BODIES = (
        # The case: "<NUL>." is no end, yet a next hop that drops
        # NUL would read one there (and the rest as a second message).
        b"Subject: nul\r\n\r\nline1\r\n\x00.\r\n"
        b"MAIL FROM:<evil@x>\r\nRCPT TO:<" + ALICE.encode() +
        b">\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n",
        b"Subject: nul\r\n\r\nab\x00cd\r\n",
        b"Subject: in the header\x00\r\n\r\nx\r\n",
        # Past the in-memory spool (256 KiB): refused from the spool file.
        b"Subject: big\r\n\r\n" + (b"y" * 78 + b"\r\n") * 4000 +
        b"late \x00 NUL\r\n",
    )

    def refused(self, c, sender, rcpts, body):
        """One transaction with body, and MAIL pipelined after its end:
        the replies to both; then RSET."""
        c.expect_prefix(f"MAIL FROM:<{sender}>", "250 2.1.0")
        for rcpt in rcpts:
            c.expect_prefix(f"RCPT TO:<{rcpt}>", "250 2.1.5")
        c.expect_prefix("DATA", "354 ")
        c.send(dot_stuff(body) + f"MAIL FROM:<{sender}>\r\n".encode())
        replies = [c.reply()[-1], c.reply()[-1]]
        c.expect("RSET", "250 2.0.0 Ok")
        return replies

    def test_nul_refused_on_mx_and_submission(self):
        self.serve()
        mx = self.client("mx")
        sub = self.client("submission", tls=True, auth=ALICE)
        for c, sender, rcpts in ((mx, "someone@remote.test", [BOB]),
                                 (sub, ALICE, [BOB, CAROL])):
            for body in self.BODIES:
                self.assertEqual(self.refused(c, sender, rcpts, body),
                                 [NUL_IN_DATA, "250 2.1.0 Ok"],
                                 f"{sender}: {body[:40]!r}")
        self.assert_nothing_stored()
        # The same sessions deliver a clean message.
        mx.transaction("someone@remote.test", [BOB],
                       message("clean", sender="someone@remote.test"))
        sub.transaction(ALICE, [BOB, CAROL], message("clean too"))
        mx.quit()
        sub.quit()
        self.assertEqual(len(self.inbox(BOB)), 2)
        self.assertEqual(self.inbox(ALICE), [])
        self.assertEqual([q[1] for q in self.env.queued()], [[CAROL]])
        self.stop()


class SubmissionFields(SMTPTestCase):
    """RFC 6409 8.2, 8.3: a message submitted by an authenticated client
    without Date: or Message-ID: gets them, at the end of its header
    block (a Python smtplib message had neither, and neomutt could not
    thread replies to it). One the client dated and identified is stored
    as sent; mail arriving on the MX is never altered (RFC 5321 6.4)."""

    BARE = (b"From: <alice@example.test>\r\nTo: <bob@example.test>\r\n"
            b"Subject: no date, no id\r\n\r\nHello.\r\n")

    def fields(self, stored):
        """The stored message's header fields as (name, value) pairs, and
        its body."""
        head, body = stored.split(b"\r\n\r\n", 1)
        fields = re.split(rb"\r\n(?![ \t])", head)
        return [tuple(f.decode().split(": ", 1)) for f in fields], body

    def test_smtplib_message_gets_date_and_message_id(self):
        self.serve()
        s = self.smtplib_client("submissions")
        s.login(ALICE, PASSWORDS[ALICE])
        before = int(time.time())
        self.assertEqual(s.sendmail(ALICE, [BOB, CAROL], self.BARE), {})
        self.assertEqual(s.sendmail(ALICE, [BOB], self.BARE), {})
        after = int(time.time()) + 1
        s.quit()
        stored = self.inbox(BOB)
        self.assertEqual(len(stored), 2)
        queued = self.env.queued()
        self.assertEqual([q[1] for q in queued], [[CAROL]])
        ids = []
        for msg in stored + [queued[0][2]]:
            fields, body = self.fields(msg)
            names = [f[0] for f in fields]
            self.assertEqual(names[-5:], ["From", "To", "Subject", "Date",
                                          "Message-ID"], msg)
            self.assertEqual(names.count("Date"), 1, msg)
            self.assertEqual(names.count("Message-ID"), 1, msg)
            self.assertEqual(body, b"Hello.\r\n")
            date = email.utils.parsedate_to_datetime(dict(fields)["Date"])
            self.assertIsNotNone(date.tzinfo, fields)
            self.assertTrue(before <= date.timestamp() <= after,
                            f"{fields} outside [{before}, {after}]")
            self.assertRegex(dict(fields)["Date"],
                             r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
                             r"[A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d "
                             r"[+-]\d{4}$")
            mid = dict(fields)["Message-ID"]
            self.assertRegex(mid, rf"^<[0-9a-f]{{32}}@{re.escape(HOST)}>$")
            ids.append(mid)
        # One message, one id: the local and the queued copy share it.
        self.assertEqual(ids[0], ids[2])
        self.assertNotEqual(ids[0], ids[1])
        self.stop()

    def test_what_the_client_set_is_kept(self):
        self.serve()
        c = self.client("submission", tls=True, auth=ALICE)
        # Any case; blanks before the colon (RFC 5322 4.5).
        both = (b"date: Tue, 03 Jan 2006 10:00:00 +0000\r\n"
                b"MESSAGE-ID : <mine@client.test>\r\n"
                b"Subject: both\r\n\r\nDate: body text\r\n")
        c.transaction(ALICE, [BOB], both)
        only_date = (f"Date: {CLIENT_DATE}\r\nSubject: date only\r\n"
                     f"\r\nMessage-ID: <in-the-body@x>\r\n").encode()
        c.transaction(ALICE, [BOB], only_date)
        c.quit()
        stored = self.inbox(BOB)
        self.assert_delivered(stored[0], both)
        fields, body = self.fields(stored[1])
        self.assertEqual([f[0] for f in fields],
                         ["Return-Path", "Received", "Date", "Subject",
                          "Message-ID"])
        self.assertEqual(body, b"Message-ID: <in-the-body@x>\r\n")
        self.stop()

    def test_mx_stores_mail_as_received(self):
        self.serve()
        c = self.client("mx")
        bare = self.BARE.replace(b"alice@", b"someone@remote.")
        c.transaction("someone@remote.test", [BOB], bare)
        c.quit()
        self.assert_delivered(self.inbox(BOB)[0], bare,
                              sender="someone@remote.test")
        self.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
