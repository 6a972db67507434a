"""Sieve at delivery (sieve.so) and ManageSieve (managesieve.so) against a
real postinod, as operators' customers meet them: scripts uploaded with
sieve-connect (Debian's client) or a raw ManageSieve session, mail sent
with smtplib, results read over IMAP, from the database, and from an SMTP
sink that is the queue's relayhost (so "remote" mail is really sent).

Each test runs its own postinod on 127.0.0.1 with smtp.so (mx,
submission), sieve.so, managesieve.so (STARTTLS), optionally imap.so and
ratelimit.so, [srs] with the domain example.test, and the accounts
alice@ and bob@example.test. Every wait is bounded; "nothing happened" is
only concluded from a log line saying what was decided."""
import base64
import imaplib
import os
import re
import shutil
import smtplib
import subprocess
import time
import unittest

import harness
from harness import (EX_DATAERR, EX_NOINPUT, EX_NOUSER, EX_USAGE, IO_TIMEOUT,
                     MODULES_DIR, LineClient, base_env, tls_client_context)
from test_queue import Sink

SIEVE_CONNECT = shutil.which("sieve-connect")
SOS = [os.path.join(MODULES_DIR, f"{m}.so")
       for m in ("smtp", "sieve", "managesieve", "imap", "ratelimit")]

HOST = "mail.example.test"
ALICE = "alice@example.test"
BOB = "bob@example.test"
FAR = "someone@far.test"
CAROL = "carol@remote.test"
PASSWORDS = {ALICE: "Vacation-Horse-4711", BOB: "Forward-Horse-0815"}
SRS_SECRET = "an-srs-secret-for-the-tests"
TOOL_TIMEOUT = 60.0

VACATION = ('require ["vacation"];\r\n'
            'vacation :days 7 :subject "Away" "I am away until Monday.";\r\n')


def message(subject, sender=FAR, to=ALICE, headers="", body="Hello.\r\n",
            msgid=None):
    msgid = msgid or f"<{re.sub(r'[^a-z0-9]', '', subject.lower())}@t>"
    return (f"From: {sender or 'MAILER-DAEMON@far.test'}\r\nTo: {to}\r\n"
            f"Subject: {subject}\r\nMessage-ID: {msgid}\r\n"
            f"Date: Mon, 02 Jan 2006 15:04:05 +0100\r\n{headers}\r\n"
            f"{body}").encode()


def plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


class ManageSieveClient(LineClient):
    """A raw ManageSieve client: responses as (last line, lines before),
    literals {n} read and put in place."""

    def response(self, timeout=None):
        lines = []
        while True:
            line = self.readline(timeout)
            m = re.search(r"\{(\d+)\+?\}$", line)
            if m:
                n = int(m.group(1))
                deadline = time.monotonic() + (timeout or self.timeout)
                while len(self.buf) < n:
                    if not self._fill(deadline, "a literal"):
                        self.tc.fail("EOF inside a literal")
                literal, self.buf = self.buf[:n], self.buf[n:]
                line = line[:m.start()] + literal.decode() + \
                    self.readline(timeout)
            if re.match(r"^(OK|NO|BYE)( |$)", line):
                return line, lines
            lines.append(line)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.response()

    def expect(self, text, want):
        last, lines = self.cmd(text)
        self.tc.assertTrue(last.startswith(want), f"{text}: {last!r}")
        return lines

    def starttls(self):
        last, _ = self.cmd("STARTTLS")
        self.tc.assertTrue(last.startswith("OK"), last)
        self.wrap(server_hostname=HOST)
        return self.response()    # the capabilities again

    def login(self, user=ALICE, password=None):
        last, _ = self.cmd(f'AUTHENTICATE "PLAIN" '
                           f'"{plain(user, password or PASSWORDS[user])}"')
        return last


class SieveTestCase(harness.CertTestCase):

    cert_host = HOST
    modules = SOS

    def setUp(self):
        super().setUp()
        self.where = {}
        self.d = None
        self.sink = None

    def configure(self, sieve=None, ratelimit=None, imap=False, srs=True):
        env = self.env
        self.sink = Sink(self)
        extra = harness.tls_section(*self.cert)
        extra += (f"\n[queue]\nrelayhost = 127.0.0.1:{self.sink.port}\n"
                  "poll_interval = 1s\nretry_min = 1s\nretry_max = 2s\n")
        if srs:
            extra += (f"\n[srs]\nsecret = {SRS_SECRET}\n"
                      "domain = example.test\n")
        env.write_config(modules_dir=MODULES_DIR, extra=extra)
        modules = [
            ("smtp", [{"name": "mx", "protocol": "smtp", "tls": "starttls"},
                      {"name": "submission", "protocol": "submission",
                       "tls": "starttls"}], None),
            ("sieve", [], sieve),
            ("managesieve", [{"name": "managesieve",
                              "protocol": "managesieve",
                              "tls": "starttls"}], None),
        ]
        if imap:
            modules.append(("imap", [{"name": "imaps", "protocol": "imap",
                                      "tls": "implicit"}], None))
        if ratelimit is not None:
            modules.append(("ratelimit", [], ratelimit))
        for name, listeners, settings in modules:
            text, where = harness.listener_sections(listeners)
            self.where.update(where)
            env.write_module(name, settings, extra=text)
        env.init()
        env.cli_ok("domain", "add", "example.test")
        for user in (ALICE, BOB):
            env.add_user(user, PASSWORDS[user])

    def start(self):
        self.d = self.env.start()
        return self.d

    def serve(self, **kw):
        self.configure(**kw)
        return self.start()

    def stop(self):
        self.d.stop()
        everything = self.env.all_output()
        for password in PASSWORDS.values():
            self.assertNotIn(password, everything, "a password was logged")

    # -- clients

    def managesieve(self, tls=True, login=ALICE):
        c = ManageSieveClient(self, self.where["managesieve"])
        last, caps = c.response()
        self.assertEqual(last, 'OK "Postino ManageSieve ready"')
        if tls:
            c.starttls()
        if login:
            self.assertEqual(c.login(login), 'OK "Logged in"')
        return c

    def sieve_connect(self, *args, user=ALICE, password=None):
        if SIEVE_CONNECT is None:
            self.fail("sieve-connect is not installed (Debian package "
                      "sieve-connect, in the Makefile's DEPS)")
        where = self.where["managesieve"]
        argv = [SIEVE_CONNECT, "--server", where[0], "--port", str(where[1]),
                "--user", user, "--passwordfd", "0", "--notlsverify",
                "--noclearauth"] + list(args)
        proc = subprocess.run(argv, input=(password or PASSWORDS[user]) +
                              "\n", capture_output=True, text=True,
                              timeout=TOOL_TIMEOUT, env=base_env(),
                              cwd=self.env.root)
        self.env.outputs += [proc.stdout, proc.stderr]
        return proc

    def put_script(self, text, name="rules", user=ALICE, activate=True):
        """Uploads (and activates) a script over ManageSieve."""
        path = self.env.write(f"{name}.sieve", text)
        p = self.sieve_connect("--upload", "--localsieve", path,
                               "--remotesieve", name, user=user)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        if activate:
            p = self.sieve_connect("--activate", "--remotesieve", name,
                                   user=user)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def send(self, sender, rcpts, data, listener="mx", login=None):
        where = self.where[listener]
        s = smtplib.SMTP(where[0], where[1], local_hostname="client.test",
                         timeout=IO_TIMEOUT)
        self.addCleanup(s.close)
        if login:
            s.starttls(context=tls_client_context())
            s.login(login, PASSWORDS[login])
        refused = s.sendmail(sender, rcpts, data)
        self.assertEqual(refused, {})
        s.quit()

    def inbox(self, account, mailbox="INBOX"):
        return self.env.mailbox_messages(account, mailbox)

    def sink_messages(self, n):
        """Waits until the sink holds n messages; returns them."""
        return self.env.poll(lambda: len(self.sink.messages) >= n and
                             list(self.sink.messages),
                             f"{n} message(s) at the sink")

    def srs_address(self, line):
        m = re.search(r"(SRS0=[^@\s>]+@example\.test)", line)
        self.assertIsNotNone(m, line)
        return m.group(1)


class ManageSieveProtocol(SieveTestCase):
    """RFC 5804 over a raw connection: what every client relies on."""

    def test_capabilities_and_starttls(self):
        self.serve()
        c = ManageSieveClient(self, self.where["managesieve"])
        last, caps = c.response()
        self.assertEqual(last, 'OK "Postino ManageSieve ready"')
        self.assertIn('"IMPLEMENTATION" "Postino"', caps)
        # No plaintext authentication: no mechanism before TLS.
        self.assertIn('"SASL" ""', caps)
        self.assertIn('"STARTTLS"', caps)
        self.assertIn('"VERSION" "1.0"', caps)
        self.assertIn('"MAXREDIRECTS" "4"', caps)
        self.assertIn('"UNAUTHENTICATE"', caps)
        sieve = [l for l in caps if l.startswith('"SIEVE"')]
        self.assertEqual(len(sieve), 1, caps)
        for ext in ("fileinto", "vacation", "copy", "imap4flags",
                    "subaddress", "mailbox", "variables", "include", "date",
                    "reject", "envelope", "body", "relational"):
            self.assertRegex(sieve[0], rf'[" ]{re.escape(ext)}[ "]')
        self.assertEqual(c.cmd('AUTHENTICATE "PLAIN" "'
                               f'{plain(ALICE, PASSWORDS[ALICE])}"')[0],
                         'NO (ENCRYPT-NEEDED) "Authentication only inside '
                         'TLS (STARTTLS)"')
        self.assertEqual(c.cmd("LISTSCRIPTS")[0],
                         'NO "Authenticate first"')
        # STARTTLS: the capabilities again, now with SASL and without
        # STARTTLS (RFC 5804 2.2).
        last, caps = c.starttls()
        self.assertEqual(last, 'OK "Postino ManageSieve ready"')
        self.assertIn('"SASL" "PLAIN LOGIN"', caps)
        self.assertNotIn('"STARTTLS"', caps)
        self.assertEqual(c.cmd("STARTTLS")[0], 'NO "TLS is already active"')
        self.assertEqual(c.login(), 'OK "Logged in"')
        last, caps = c.cmd("CAPABILITY")
        self.assertEqual(last, 'OK "Capability completed"')
        self.assertIn(f'"OWNER" "{ALICE}"', caps)
        self.assertIn('"SASL" ""', caps)
        self.assertEqual(c.cmd("LOGOUT")[0], 'OK "Logout completed"')
        self.assertEqual(c.expect_eof(), b"")
        self.stop()

    def test_authenticate_with_a_challenge_and_a_literal(self):
        self.serve()
        c = self.managesieve(login=None)
        # No initial response: an empty challenge, the response a
        # literal.
        c.send('AUTHENTICATE "PLAIN"\r\n')
        self.assertEqual(c.readline(), '""')
        response = plain(ALICE, PASSWORDS[ALICE])
        c.send(f"{{{len(response)}+}}\r\n{response}\r\n")
        self.assertEqual(c.response()[0], 'OK "Logged in"')
        self.assertEqual(c.cmd("AUTHENTICATE \"PLAIN\"")[0],
                         'NO "Already authenticated"')
        # UNAUTHENTICATE: back to before the login, on the same TLS.
        self.assertEqual(c.cmd("UNAUTHENTICATE")[0], 'OK "Unauthenticated"')
        self.assertEqual(c.cmd("LISTSCRIPTS")[0], 'NO "Authenticate first"')
        # "*" cancels; a wrong password fails.
        c.send('AUTHENTICATE "PLAIN"\r\n')
        self.assertEqual(c.readline(), '""')
        self.assertEqual(c.cmd('"*"')[0], 'NO "Authentication cancelled"')
        self.assertEqual(c.login(BOB, "wrong"),
                         'NO "Authentication failed"')
        self.assertEqual(c.cmd('AUTHENTICATE "CRAM-MD5"')[0],
                         'NO "Unsupported SASL mechanism"')
        self.assertEqual(c.login(BOB), 'OK "Logged in"')
        last, caps = c.cmd("CAPABILITY")
        self.assertIn(f'"OWNER" "{BOB}"', caps)
        self.stop()

    def test_script_commands_and_response_codes(self):
        self.serve()
        c = self.managesieve()
        self.assertEqual(c.cmd("LISTSCRIPTS"), ('OK "Listscripts completed"',
                                                []))
        script = "keep;\r\n"
        c.expect(f'PUTSCRIPT "one" {{{len(script)}+}}\r\n{script}', "OK")
        # A synchronizing literal works the same (no continuation).
        c.expect(f'PUTSCRIPT "two" {{{len(script)}}}\r\n{script}', "OK")
        self.assertEqual(c.cmd('GETSCRIPT "nope"')[0],
                         'NO (NONEXISTENT) "There is no script by that '
                         'name"')
        c.expect('SETACTIVE "two"', "OK")
        self.assertEqual(c.cmd("LISTSCRIPTS")[1], ['"one"', '"two" ACTIVE'])
        last, lines = c.cmd('GETSCRIPT "two"')
        self.assertEqual(last, 'OK "Getscript completed"')
        self.assertEqual(lines, ["keep;\r\n"])   # the literal, in place
        self.assertEqual(c.cmd('DELETESCRIPT "two"')[0],
                         'NO (ACTIVE) "The active script cannot be deleted"')
        self.assertEqual(c.cmd('RENAMESCRIPT "one" "two"')[0],
                         'NO (ALREADYEXISTS) "A script by that name exists"')
        c.expect('RENAMESCRIPT "two" "vacation"', "OK")
        self.assertEqual(c.cmd("LISTSCRIPTS")[1],
                         ['"one"', '"vacation" ACTIVE'])
        self.assertEqual(c.cmd('RENAMESCRIPT "nope" "x"')[0][:16],
                         "NO (NONEXISTENT)")
        c.expect('SETACTIVE ""', "OK")
        c.expect('DELETESCRIPT "vacation"', "OK")
        self.assertEqual(c.cmd("LISTSCRIPTS")[1], ['"one"'])
        # A script that does not compile: refused with line and column,
        # at upload; CHECKSCRIPT says the same without storing.
        bad = 'require "fileinto";\r\nif true {\r\n  fileinot "x";\r\n}\r\n'
        want = ("NO \"line 3, column 3: unknown command 'fileinot'\"")
        self.assertEqual(c.cmd(f'PUTSCRIPT "bad" {{{len(bad)}+}}\r\n{bad}')
                         [0], want)
        self.assertEqual(c.cmd(f"CHECKSCRIPT {{{len(bad)}+}}\r\n{bad}")[0],
                         want)
        c.expect(f"CHECKSCRIPT {{{len(script)}+}}\r\n{script}", "OK")
        self.assertEqual(c.cmd("LISTSCRIPTS")[1], ['"one"'])
        self.assertEqual(c.cmd('NOOP "t\\"1"')[0],
                         'OK (TAG "t\\"1") "Done"')
        self.assertEqual(c.cmd('HAVESPACE "new" 1000')[0],
                         'OK "Putscript would succeed"')
        self.assertEqual(c.cmd("FROBNICATE")[0], 'NO "Unknown command"')
        self.stop()

    def test_per_account_limits(self):
        self.serve(sieve={"max_scripts": "2", "max_script_size": "1k"})
        c = self.managesieve()
        self.assertEqual(c.cmd('HAVESPACE "a" 1025')[0],
                         'NO (QUOTA/MAXSIZE) "Script too large (at most '
                         '1024 octets)"')
        big = "#" * 1100 + "\r\nkeep;\r\n"
        # The literal is read (and dropped): the session goes on.
        self.assertEqual(c.cmd(f'PUTSCRIPT "a" {{{len(big)}+}}\r\n{big}')
                         [0][:20], "NO (QUOTA/MAXSIZE) \"")
        for name in ("a", "b"):
            c.expect(f'PUTSCRIPT "{name}" {{7+}}\r\nkeep;\r\n', "OK")
        self.assertEqual(c.cmd('HAVESPACE "c" 10')[0],
                         'NO (QUOTA/MAXSCRIPTS) "Too many scripts"')
        self.assertEqual(c.cmd('PUTSCRIPT "c" {7+}\r\nkeep;\r\n')[0],
                         'NO (QUOTA/MAXSCRIPTS) "Too many scripts"')
        # Replacing one is no new script.
        c.expect('PUTSCRIPT "b" {10+}\r\ndiscard;\r\n', "OK")
        self.assertEqual(c.cmd('HAVESPACE "b" 10')[0],
                         'OK "Putscript would succeed"')
        self.stop()

    def test_logins_throttled_as_in_the_other_protocols(self):
        self.serve(ratelimit={"ip_failures": "2", "throttle_delay": "1s"})
        c = self.managesieve(login=None)
        for _ in range(2):
            self.assertEqual(c.login(ALICE, "wrong"),
                             'NO "Authentication failed"')
        # Over the limit: refused even with the right password.
        self.assertEqual(c.login(), 'NO (TRYLATER) "Try again later"')
        self.d.wait_for("login throttled: protocol=managesieve "
                        "ip=127.0.0.1 account=alice@example.test")
        self.stop()


class SieveConnect(SieveTestCase):
    """Debian's sieve-connect over STARTTLS."""

    def test_upload_list_activate_download_delete(self):
        self.serve()
        self.put_script(VACATION, "vacation", activate=False)
        self.put_script("keep;\r\n", "plain")
        p = self.sieve_connect("--list")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines(),
                         ['"plain" ACTIVE', '"vacation"'])
        p = self.sieve_connect("--activate", "--remotesieve", "vacation")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = self.env.path("back.sieve")
        p = self.sieve_connect("--download", "--remotesieve", "vacation",
                               "--localsieve", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            self.assertEqual(f.read(), VACATION.replace("\r\n", "\n"))
        p = self.sieve_connect("--delete", "--remotesieve", "plain")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.sieve_connect("--list")
        self.assertEqual(p.stdout.splitlines(), ['"vacation" ACTIVE'])
        # The admin CLI sees the same scripts.
        self.assertEqual(self.env.cli_ok("sieve", "list", ALICE).out,
                         "vacation\tactive\n")
        self.stop()

    def test_syntax_error_refused_at_upload_with_its_line(self):
        self.serve()
        path = self.env.write("bad.sieve",
                              'require ["fileinto"];\n\nfileinto :copy '
                              '"x";\n')
        p = self.sieve_connect("--upload", "--localsieve", path,
                               "--remotesieve", "bad")
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("line 3, column 10: ", p.stdout + p.stderr)
        self.assertIn("copy", p.stdout + p.stderr)
        self.assertEqual(self.sieve_connect("--list").stdout, "")
        self.stop()


class Vacation(SieveTestCase):
    """RFC 5230 and 3834 as a customer's autoresponder."""

    def test_one_reply_per_sender_per_period_across_restarts(self):
        self.serve()
        self.put_script(VACATION)
        self.send(FAR, [ALICE], message("First"))
        reply = self.sink_messages(1)[0]
        self.assertEqual(reply["mail"], "")          # the null sender
        self.assertEqual(reply["rcpts"], [FAR])
        data = reply["data"].decode()
        self.assertIn("Subject: Away\r\n", data)
        self.assertIn("Auto-Submitted: auto-replied\r\n", data)
        self.assertIn("In-Reply-To: <first@t>\r\n", data)
        self.assertIn("References: <first@t>\r\n", data)
        self.assertIn(f"To: <{FAR}>\r\n", data)
        self.assertIn(f"From: {ALICE}\r\n", data)
        self.assertIn("I am away until Monday.", data)
        # The message itself is kept.
        self.assertEqual(len(self.inbox(ALICE)), 1)
        # The second one within :days gets none, also after a restart
        # (the record is in the store).
        mark = self.d.mark()
        self.send(FAR, [ALICE], message("Second"))
        self.d.wait_for(f"{ALICE}: vacation reply to <{FAR}> already sent "
                        "in this period", since=mark)
        self.d.stop()
        self.start()
        mark = self.d.mark()
        self.send(FAR, [ALICE], message("Third"))
        self.d.wait_for(f"{ALICE}: vacation reply to <{FAR}> already sent "
                        "in this period", since=mark)
        self.assertEqual(len(self.inbox(ALICE)), 3)
        # Another sender, here a local one: a reply into its INBOX.
        self.send(BOB, [ALICE], message("From Bob", sender=BOB))
        got = self.env.poll(lambda: self.inbox(BOB), "the reply to bob")
        self.assertIn(b"Return-Path: <>\r\n", got[0])
        self.assertIn(b"Auto-Submitted: auto-replied\r\n", got[0])
        self.assertEqual(len(self.sink.messages), 1)
        self.stop()

    def test_no_reply_to_lists_bounces_or_mail_not_to_the_user(self):
        self.serve()
        self.put_script(VACATION)
        cases = [
            (FAR, message("List", headers="List-Id: <l.far.test>\r\n"),
             "mailing list"),
            ("", message("Bounce", sender=""), "null sender"),
            ("owner-list@far.test", message("Owner",
                                             sender="owner-list@far.test"),
             "system sender"),
            (FAR, message("Auto", headers="Auto-Submitted: auto-replied\r\n"),
             "auto-submitted"),
            (FAR, message("Bcc", to="others@far.test"),
             "not addressed to the user"),
        ]
        for sender, data, why in cases:
            with self.subTest(why=why):
                mark = self.d.mark()
                self.send(sender, [ALICE], data)
                self.d.wait_for(f"{ALICE}: no vacation reply to <{sender}>:"
                                f" {why}", since=mark)
        self.assertEqual(len(self.inbox(ALICE)), len(cases))
        self.assertEqual(self.env.queued(), [])
        self.assertEqual(self.sink.messages, [])
        self.stop()

    def test_replies_never_count_against_the_send_limit(self):
        """alice may send one message an hour; her autoresponder answers
        bob first, and she can still send her one."""
        self.serve(ratelimit={"limit": "1"})
        self.put_script(VACATION)
        self.send(BOB, [ALICE], message("Hi", sender=BOB), "submission",
                  login=BOB)
        self.env.poll(lambda: self.inbox(BOB), "the reply to bob")
        self.send(ALICE, [BOB], message("Mine", sender=ALICE), "submission",
                  login=ALICE)
        self.assertEqual(len(self.inbox(BOB)), 2)
        self.stop()


class Forwarding(SieveTestCase):
    """redirect and remote aliases: SRS, bounces back, loops."""

    def test_redirect_gets_an_srs_sender_and_its_bounce_comes_back(self):
        self.serve()
        self.put_script(f'redirect "{CAROL}";\r\n')
        self.send(FAR, [ALICE], message("Forward me"))
        fwd = self.sink_messages(1)[0]
        self.assertEqual(fwd["rcpts"], [CAROL])
        self.assertRegex(fwd["mail"],
                         r"^SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=far\.test="
                         r"someone@example\.test$")
        self.assertTrue(fwd["data"].startswith(
            b"Delivered-To: alice@example.test\r\nReceived: "), fwd["data"])
        self.assertEqual(self.inbox(ALICE), [])
        # The remote bounces to the SRS address: it reaches the sender.
        srs = fwd["mail"]
        bounce = message("Undeliverable", sender="MAILER-DAEMON@remote.test",
                         to=srs)
        self.send("", [srs], bounce)
        back = self.sink_messages(2)[1]
        self.assertEqual(back["mail"], "")
        self.assertEqual(back["rcpts"], [FAR])
        self.assertIn(b"Subject: Undeliverable", back["data"])
        self.stop()

    def test_redirects_per_hour_are_bounded(self):
        self.serve(sieve={"redirects_per_hour": "1"})
        self.put_script(f'redirect "{CAROL}";\r\n')
        self.send(FAR, [ALICE], message("One"))
        self.assertEqual(self.sink_messages(1)[0]["rcpts"], [CAROL])
        mark = self.d.mark()
        self.send(FAR, [ALICE], message("Two"))
        self.d.wait_for(f"{ALICE}: more than 1 redirects in an hour: the "
                        "message is kept instead", since=mark)
        self.assertEqual(len(self.inbox(ALICE)), 1)
        self.assertIn(b"Subject: Two", self.inbox(ALICE)[0])
        self.assertEqual(self.env.queued(), [])
        # The counter goes with its hour.
        (expires,), = self.env.query("SELECT expires_at FROM module_state "
                                     "WHERE key LIKE 'redir:%'")
        self.assertGreater(expires, time.time())
        self.assertLessEqual(expires, time.time() + 2 * 3600)
        self.stop()

    def test_our_own_bounce_of_a_forward_goes_to_the_sender(self):
        """The destination refuses the forwarded copy: the queue's bounce
        goes to the sender the SRS address stands for, not to the SRS
        address."""
        self.serve()
        self.sink.mode = "reject"
        self.put_script(f'redirect "{CAROL}";\r\n')
        self.send(FAR, [ALICE], message("Refused there"))
        self.d.wait_for(f"bouncing 1 recipient(s) to <{FAR}>")
        self.stop()

    def test_forged_or_expired_srs_addresses_are_refused(self):
        self.serve()
        where = self.where["mx"]
        s = smtplib.SMTP(where[0], where[1], timeout=IO_TIMEOUT)
        self.addCleanup(s.close)
        s.ehlo()
        self.assertEqual(s.mail("")[0], 250)
        code, text = s.rcpt("SRS0=AAAA=AB=far.test=someone@example.test")
        self.assertEqual(code, 550, text)
        s.quit()
        self.d.wait_for("SRS address SRS0=AAAA=AB=far.test=someone@"
                        "example.test refused: its hash does not verify")
        self.stop()

    def test_alias_to_a_remote_address_gets_an_srs_sender(self):
        self.configure()
        self.env.cli_ok("alias", "add", "team@example.test", CAROL)
        self.start()
        self.send(FAR, ["team@example.test"], message("For the team",
                                                       to="team@example.test"))
        fwd = self.sink_messages(1)[0]
        self.assertTrue(fwd["mail"].startswith("SRS0="), fwd["mail"])
        self.assertTrue(fwd["data"].startswith(
            b"Delivered-To: team@example.test\r\n"), fwd["data"])
        # A local sender needs no rewriting: SPF of example.test passes.
        self.send(BOB, ["team@example.test"], message("Local", sender=BOB,
                                                       to="team@example.test"),
                  "submission", login=BOB)
        self.assertEqual(self.sink_messages(2)[1]["mail"], BOB)
        self.stop()

    def test_without_srs_forwarding_keeps_the_sender(self):
        self.configure(srs=False)
        self.env.cli_ok("alias", "add", "team@example.test", CAROL)
        code, out, err = self.env.postinod("-t")
        self.assertEqual(code, 0, out + err)
        self.assertIn("warning: no [srs] section", err)
        self.start()
        self.send(FAR, ["team@example.test"], message("Kept",
                                                       to="team@example.test"))
        self.assertEqual(self.sink_messages(1)[0]["mail"], FAR)
        self.stop()

    def test_an_srs_domain_not_hosted_is_warned_about(self):
        self.configure()
        with open(self.env.conf) as f:
            text = f.read()
        with open(self.env.conf, "w") as f:
            f.write(text.replace("domain = example.test",
                                 "domain = fwd.example.test"))
        self.start()
        self.d.wait_for("warning core: [srs] domain fwd.example.test is "
                        "not hosted here: bounces to its SRS addresses will "
                        "be refused (postino domain add fwd.example.test)")
        self.stop()

    def test_a_forwarding_loop_ends_in_one_bounce(self):
        self.serve()
        self.put_script(f'redirect "{BOB}";\r\n', user=ALICE)
        self.put_script(f'redirect "{ALICE}";\r\n', user=BOB)
        mark = self.d.mark()
        self.send(FAR, [ALICE], message("Round and round"))
        bounce = self.sink_messages(1)[0]
        self.assertEqual((bounce["mail"], bounce["rcpts"]), ("", [FAR]))
        self.assertIn(b"mail forwarding loop for alice@example.test",
                      bounce["data"])
        self.assertIn(b"Status: 5.4.6", bounce["data"])
        self.d.wait_for("mail forwarding loop for alice@example.test: "
                        f"bounced to <{FAR}>", since=mark)
        self.assertEqual(self.inbox(ALICE) + self.inbox(BOB), [])
        # A copy alice forwarded that comes back from elsewhere bounces
        # too (its Delivered-To names her), once.
        self.put_script("keep;\r\n", user=BOB)
        self.send(FAR, [ALICE], message(
            "Back again", headers="Delivered-To: alice@example.test\r\n"))
        second = self.sink_messages(2)[1]
        self.assertEqual(second["rcpts"], [FAR])
        self.assertIn(b"Status: 5.4.6", second["data"])
        self.assertEqual(self.inbox(ALICE) + self.inbox(BOB), [])
        self.assertEqual(len(self.sink.messages), 2)
        self.stop()


class Filing(SieveTestCase):
    """fileinto, subaddresses, flags, and failing scripts."""

    def imaps(self, user=ALICE):
        where = self.where["imaps"]
        m = imaplib.IMAP4_SSL(where[0], where[1],
                              ssl_context=tls_client_context(),
                              timeout=IO_TIMEOUT)
        self.addCleanup(self._close, m)
        self.assertEqual(m.login(user, PASSWORDS[user])[0], "OK")
        return m

    @staticmethod
    def _close(m):
        try:
            m.shutdown()
        except OSError:
            pass

    def test_fileinto_create_seen_over_imap(self):
        self.serve(imap=True)
        self.put_script('require ["fileinto", "mailbox", "imap4flags"];\r\n'
                        'if header :contains "subject" "report" {\r\n'
                        '  fileinto :create :flags "\\\\Flagged" '
                        '"Projects/Reports";\r\n}\r\n')
        self.send(FAR, [ALICE], message("Weekly report"))
        self.send(FAR, [ALICE], message("Something else"))
        m = self.imaps()
        typ, lines = m.list()
        self.assertEqual(typ, "OK")
        self.assertIn(b'(\\HasNoChildren) "/" Projects/Reports', lines)
        self.assertIn(b'(\\HasChildren) "/" Projects', lines)
        # Made for mail: subscribed, so clients show it.
        typ, lines = m.lsub()
        self.assertTrue(any(b"Projects/Reports" in l for l in lines), lines)
        typ, data = m.select('"Projects/Reports"')
        self.assertEqual((typ, data), ("OK", [b"1"]))
        typ, data = m.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertIn(b"\\Flagged", data[0][0])
        self.assertIn(b"Weekly report", data[0][1])
        typ, data = m.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"1"]))
        m.logout()
        self.stop()

    def test_subaddress_detail_files_the_message(self):
        self.serve()
        self.put_script('require ["fileinto", "mailbox", "envelope", '
                        '"subaddress"];\r\n'
                        'if envelope :detail "to" "lists" {\r\n'
                        '  fileinto :create "Lists";\r\n}\r\n')
        self.send(FAR, ["alice+lists@example.test"],
                  message("A list", to="alice+lists@example.test"))
        self.send(FAR, ["alice+other@example.test"],
                  message("Other", to="alice+other@example.test"))
        self.assertEqual(len(self.inbox(ALICE, "Lists")), 1)
        self.assertEqual(len(self.inbox(ALICE)), 1)
        self.stop()

    def test_includes_personal_and_global(self):
        """include reads other scripts at delivery: personal ones by name,
        global ones from the :global account, nested; :optional ones may
        be missing."""
        self.configure()
        env = self.env
        env.cli_ok("sieve", "put", ":global", "spam",
                   "-", input='require ["fileinto", "mailbox"];\n'
                   'if header :contains "subject" "viagra" '
                   '{ fileinto :create "Junk2"; stop; }\n')
        env.cli_ok("sieve", "put", ALICE, "lists", "-", input=(
            'require ["fileinto", "mailbox", "include"];\n'
            'include :global "spam";\n'
            'if exists "list-id" { fileinto :create "Lists"; }\n'))
        env.cli_ok("sieve", "put", ALICE, "main", "-", input=(
            'require ["include"];\n'
            'include :personal "lists";\n'
            'include :optional "not-there";\n'))
        env.cli_ok("sieve", "activate", ALICE, "main")
        self.start()
        self.send(FAR, [ALICE], message("Buy viagra"))
        self.send(FAR, [ALICE], message("Digest",
                                        headers="List-Id: <l.far.test>\r\n"))
        self.send(FAR, [ALICE], message("Plain"))
        self.assertEqual(len(self.inbox(ALICE, "Junk2")), 1)
        self.assertEqual(len(self.inbox(ALICE, "Lists")), 1)
        self.assertEqual(len(self.inbox(ALICE)), 1)
        self.stop()

    def test_large_scripts_span_several_values(self):
        """A script larger than one state value (64 KiB), compiled into a
        program many times that: stored in chunks, read back whole, run."""
        self.configure(sieve={"max_script_size": "200k"})
        rule = 'if header :is "x-rule" "%05d" { fileinto "Never"; }\n'
        text = 'require ["fileinto", "mailbox"];\n' + "".join(
            rule % i for i in range(2000)) + 'fileinto :create "Ran";\n'
        self.assertGreater(len(text), 100000)
        self.env.cli_ok("sieve", "put", ALICE, "big", "-", input=text)
        self.env.cli_ok("sieve", "activate", ALICE, "big")
        chunks = self.env.query("SELECT count(*) FROM module_state WHERE "
                                "module = 'sieve' AND (key LIKE 'src:%' OR "
                                "key LIKE 'bin:%')")[0][0]
        self.assertGreater(chunks, 4)
        self.assertEqual(self.env.cli_ok("sieve", "get", ALICE, "big").out,
                         text)
        self.start()
        self.send(FAR, [ALICE], message("Big script"))
        self.assertEqual(len(self.inbox(ALICE, "Ran")), 1)
        self.stop()

    def test_a_program_that_will_not_load_is_compiled_again(self):
        """Scripts are kept compiled; a stored program the engine cannot
        read (another version's, or damaged) is made again from the text
        at the next delivery, and stored again."""
        self.configure()
        self.env.cli_ok("sieve", "put", ALICE, "rules", "-", input=(
            'require ["fileinto", "mailbox"];\n'
            'fileinto :create "Filed";\n'))
        self.env.cli_ok("sieve", "activate", ALICE, "rules")
        good = self.env.query("SELECT value FROM module_state WHERE "
                              "module = 'sieve' AND key LIKE 'bin:%'")
        self.assertEqual(len(good), 1)
        with self.env.db() as db:
            db.execute("UPDATE module_state SET value = ? WHERE module = "
                       "'sieve' AND key LIKE 'bin:%'",
                       (b"\0\0\0\x08damaged!",))
        self.start()
        self.send(FAR, [ALICE], message("Filed anyway"))
        self.assertEqual(len(self.inbox(ALICE, "Filed")), 1)
        self.env.poll(lambda: self.env.query(
            "SELECT value FROM module_state WHERE module = 'sieve' AND key"
            " LIKE 'bin:%'") == good, "the program stored again")
        self.stop()

    def test_a_folder_copy_is_held_to_the_quota(self):
        """fileinto stores into the account like a keep: over its quota
        the copy is refused, the sender bounced (and nothing stored)."""
        self.configure()
        self.env.cli_ok("quota", "set", ALICE, "1k")
        self.env.cli_ok("sieve", "put", ALICE, "rules", "-", input=(
            'require ["fileinto", "mailbox"];\n'
            'fileinto :create "Filed";\n'))
        self.env.cli_ok("sieve", "activate", ALICE, "rules")
        self.start()
        where = self.where["mx"]
        s = smtplib.SMTP(where[0], where[1], timeout=IO_TIMEOUT)
        self.addCleanup(s.close)
        # No SIZE= in MAIL: the recipient is taken, the data is not.
        s.ehlo()
        self.assertEqual(s.mail(FAR)[0], 250)
        self.assertEqual(s.rcpt(ALICE)[0], 250)
        code, text = s.data(message("Too big", body="x" * 2000))
        self.assertEqual(code, 552, text)
        self.d.wait_for(f"message from <{FAR}> refused: every recipient is "
                        "over quota")
        self.assertEqual(self.inbox(ALICE, "Filed"), [])
        self.stop()

    def test_a_failing_script_keeps_the_mail_in_inbox(self):
        self.serve()
        # Compiles; fails when it runs (the included script is missing).
        self.put_script('require ["include", "fileinto"];\r\n'
                        'fileinto "Elsewhere";\r\n'
                        'include :personal "missing";\r\n')
        mark = self.d.mark()
        self.send(FAR, [ALICE], message("Still here"))
        line = self.d.wait_for("script 'rules' failed, the message is kept "
                               "in INBOX", since=mark)
        self.assertIn("line 3: include: personal script 'missing' not found",
                      line)
        self.assertEqual(len(self.inbox(ALICE)), 1)
        self.assertEqual(self.d.log()[mark:].count("script 'rules' failed"),
                         1)
        self.stop()


class Cli(SieveTestCase):
    """postino sieve ... for operators."""

    def test_commands(self):
        self.configure()
        env = self.env
        good = env.write("good.sieve", VACATION)
        bad = env.write("bad.sieve", "if true {\n  stop;\n")
        r = env.cli_ok("sieve", "check", good)
        self.assertEqual(r.out, f"{good}: ok\n")
        env.cli_fails(EX_DATAERR, "bad.sieve: line 1, column 9: block not "
                      "closed", "sieve", "check", bad)
        env.cli_ok("sieve", "put", ALICE, "away", good)
        env.cli_fails(EX_DATAERR, "line 1, column 9", "sieve", "put", ALICE,
                      "bad", bad)
        env.cli_fails(EX_NOUSER, "no such account: nobody@example.test",
                      "sieve", "put", "nobody@example.test", "x", good)
        env.cli_ok("sieve", "put", ALICE, "stdin", "-", input="keep;\n")
        self.assertEqual(env.cli_ok("sieve", "list", ALICE).out,
                         "away\nstdin\n")
        env.cli_ok("sieve", "activate", ALICE, "away")
        self.assertEqual(env.cli_ok("sieve", "list", ALICE).out,
                         "away\tactive\nstdin\n")
        # (the CLI's output is read as text: its CRLFs come back as LFs)
        self.assertEqual(env.cli_ok("sieve", "get", ALICE, "away").out,
                         VACATION.replace("\r\n", "\n"))
        env.cli_fails(EX_NOINPUT, "no such script", "sieve", "get", ALICE,
                      "nope")
        env.cli_fails(EX_DATAERR, "it is the active script", "sieve",
                      "delete", ALICE, "away")
        env.cli_ok("sieve", "deactivate", ALICE)
        env.cli_ok("sieve", "delete", ALICE, "away")
        self.assertEqual(env.cli_ok("sieve", "list", ALICE).out, "stdin\n")
        env.cli_fails(EX_USAGE, "usage: postino sieve put ACCOUNT NAME FILE",
                      "sieve", "put", ALICE)
        # What the CLI stored, the daemon runs.
        env.cli_ok("sieve", "put", BOB, "away", good)
        env.cli_ok("sieve", "activate", BOB, "away")
        self.start()
        self.send(FAR, [BOB], message("Hello Bob", to=BOB))
        self.assertEqual(self.sink_messages(1)[0]["rcpts"], [FAR])
        self.stop()


if __name__ == "__main__":
    unittest.main()
