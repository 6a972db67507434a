"""Quotas (RFC 9208 for IMAP; doc/operator-guide.md "Quotas"): limits set
with `postino quota set`, enforced where mail arrives (SMTP 552 5.2.2 at
RCPT and at the end of DATA, a bounce for the recipients refused when
others took the message), at IMAP APPEND/COPY (NO [OVERQUOTA]), shown by
GETQUOTAROOT/GETQUOTA (imaplib, curl), POP3 and `postino user show`, and
the warning mails at the [quota] warn thresholds, once per crossing.

Each test runs its own postinod with smtp.so (MX and submission), imap.so
and pop3.so on 127.0.0.1. Usage is checked against a scan of the stored
messages; nothing is timed."""
import imaplib
import os
import poplib
import re
import shutil
import smtplib
import subprocess
import unittest

import harness
from harness import (EX_DATAERR, EX_NOUSER, EX_USAGE, IO_TIMEOUT, MODULES_DIR,
                     LineClient, tls_client_context)

HOST = "mail.example.test"
ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@example.test"
PASSWORDS = {ALICE: "Alice-Secret-4711", BOB: "Bob-Secret-0815",
             CAROL: "Carol-Secret-2222"}
SOS = [os.path.join(MODULES_DIR, n + ".so") for n in ("smtp", "pop3", "imap")]
TEMPLATES = os.path.join(harness.SOURCE_ROOT, "etc", "templates", "quota")


def message(subject, size=0, sender=ALICE, to=BOB):
    """A message of about size bytes (a padded body)."""
    head = (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@test>\r\n"
            "Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n\r\n").encode()
    body = b"Hello.\r\n"
    while len(head) + len(body) < size:
        body += b"x" * 70 + b"\r\n"
    return head + body


class QuotaTest(harness.CertTestCase):

    cert_host = HOST
    modules = SOS

    def setUp(self):
        super().setUp()
        self.where = {}

    def serve(self, warn=None):
        env = self.env
        # Remote mail parks: the relayhost is a port nobody listens on.
        extra = (f"\n[queue]\nrelayhost = 127.0.0.1:{harness.free_port()}\n"
                 "retry_min = 1h\nretry_max = 1h\n")
        if warn:
            extra += f"\n[quota]\nwarn = {warn}\ntemplates = {TEMPLATES}\n"
        env.write_config(modules_dir=MODULES_DIR,
                         extra=harness.tls_section(*self.cert) + extra)
        for mod, listeners in (
                ("smtp", [{"name": "mx", "protocol": "smtp",
                           "tls": "starttls"},
                          {"name": "submission", "protocol": "submission",
                           "tls": "starttls"}]),
                ("pop3", [{"name": "pop3s", "protocol": "pop3",
                           "tls": "implicit"}]),
                ("imap", [{"name": "imaps", "protocol": "imap",
                           "tls": "implicit"}])):
            text, where = harness.listener_sections(listeners)
            self.where.update(where)
            env.write_module(mod, None, extra=text)
        env.init()
        env.cli_ok("domain", "add", "example.test")
        for user in (ALICE, BOB, CAROL):
            env.add_user(user, PASSWORDS[user])
        self.d = env.start()

    # ---- clients ---------------------------------------------------------

    def mx(self):
        where = self.where["mx"]
        s = smtplib.SMTP(where[0], where[1], timeout=IO_TIMEOUT)
        self.addCleanup(s.close)
        s.ehlo("client.test")
        return s

    def submit(self, sender, rcpts, data):
        """Authenticated submission without SIZE= (so the end of DATA
        decides); the final reply's code."""
        where = self.where["submission"]
        s = smtplib.SMTP(where[0], where[1], timeout=IO_TIMEOUT)
        self.addCleanup(s.close)
        s.starttls(context=tls_client_context())
        s.login(sender, PASSWORDS[sender])
        self.assertEqual(s.mail(sender)[0], 250)
        for rcpt in rcpts:
            self.assertEqual(s.rcpt(rcpt)[0], 250)
        code = s.data(data)[0]
        s.quit()
        return code

    def deliver(self, data, to=BOB):
        s = self.mx()
        self.assertEqual(s.sendmail("zed@remote.test", [to], data), {})
        s.quit()

    def imaps(self, user=BOB):
        where = self.where["imaps"]
        m = imaplib.IMAP4_SSL(where[0], where[1],
                              ssl_context=tls_client_context(),
                              timeout=IO_TIMEOUT)
        self.addCleanup(self._logout, m)
        self.assertEqual(m.login(user, PASSWORDS[user])[0], "OK")
        return m

    @staticmethod
    def _logout(m):
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    def raw_imap(self, user=BOB):
        c = LineClient(self, self.where["imaps"], implicit_tls=True,
                       server_hostname=HOST)
        self.assertTrue(c.readline().startswith("* OK"))
        c.send(f"a LOGIN {user} {PASSWORDS[user]}\r\n")
        self.assertTrue(self.until(c, "a").startswith("a OK"))
        return c

    @staticmethod
    def until(c, tag, seen=None):
        while True:
            line = c.readline()
            if line.startswith(tag + " "):
                return line
            if seen is not None:
                seen.append(line)

    # ---- the store -------------------------------------------------------

    def usage(self, address=BOB):
        """(messages, octets) by a scan of the account's messages."""
        return tuple(self.env.query(
            "SELECT count(*), coalesce(sum(m.size), 0) FROM messages m"
            " JOIN mailboxes x ON x.id = m.mailbox JOIN accounts a"
            " ON a.id = x.account WHERE a.address = ?", (address,))[0])

    def subjects(self, address=BOB, mailbox="INBOX"):
        out = []
        for data in self.env.mailbox_messages(address, mailbox):
            m = re.search(rb"^Subject: (.*?)\r$", data, re.M)
            out.append(m.group(1).decode() if m else "")
        return out

    def getquotaroot(self, m, mailbox="INBOX"):
        typ, data = m.getquotaroot(mailbox)
        self.assertEqual(typ, "OK", data)
        return data

    # ---- IMAP: GETQUOTAROOT, GETQUOTA, SETQUOTA ---------------------------

    def test_getquotaroot_exact_after_deliveries_and_expunges(self):
        self.serve()
        self.env.cli_ok("quota", "set", BOB, "100k", "50")
        for i in range(3):
            self.deliver(message(f"m{i}", 3000 + 500 * i))
        m = self.imaps()
        typ, caps = m.capability()
        for cap in ("QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"):
            self.assertIn(cap, caps[0].decode().split(), caps)

        roots, quotas = self.getquotaroot(m)
        self.assertEqual(roots, [b'INBOX ""'])
        count, octets = self.usage()
        self.assertEqual(count, 3)
        self.assertEqual(quotas, [f'"" (STORAGE {(octets + 1023) // 1024}'
                                  f' 100 MESSAGE 3 50)'.encode()])
        typ, data = m.getquota('""')
        self.assertEqual((typ, data), ("OK", quotas))
        # Any mailbox of the account has the same root.
        roots, quotas2 = self.getquotaroot(m, "Sent")
        self.assertEqual((roots, quotas2), ([b'Sent ""'], quotas))

        m.select("INBOX")
        m.store("1:2", "+FLAGS", "\\Deleted")
        m.expunge()
        count, octets = self.usage()
        self.assertEqual(count, 1)
        roots, quotas = self.getquotaroot(m)
        self.assertEqual(quotas, [f'"" (STORAGE {(octets + 1023) // 1024}'
                                  f' 100 MESSAGE 1 50)'.encode()])

        # Limits are the administrator's; a missing mailbox has no root.
        typ, data = m._simple_command("SETQUOTA", '""', "(STORAGE 1000000)")
        self.assertEqual(typ, "NO")
        self.assertTrue(data[-1].startswith(b"[NOPERM]"), data)
        typ, data = m.getquotaroot("Nonexistent")
        self.assertEqual(typ, "NO")
        self.assertTrue(data[0][0].startswith(b"[NONEXISTENT]"), data)

        # Without any limit there is no quota root to show.
        self.env.cli_ok("quota", "set", BOB, "none", "none")
        typ, data = m.getquotaroot("INBOX")
        self.assertEqual(typ, "OK")
        self.assertEqual(data, [[b"INBOX"], [None]])
        typ, data = m.getquota('""')
        self.assertEqual(typ, "NO")

    def test_curl_getquotaroot(self):
        """curl's IMAP (a client of another kind) sends a custom command
        and prints the untagged replies."""
        self.serve()
        self.env.cli_ok("quota", "set", "example.test", "2M", "none")
        self.deliver(message("for curl", 5000))
        curl = shutil.which("curl")
        self.assertIsNotNone(curl, "curl is installed by make test")
        where = self.where["imaps"]
        out = subprocess.run(
            [curl, "-s", "-k", "--user", f"{BOB}:{PASSWORDS[BOB]}",
             f"imaps://{where[0]}:{where[1]}/", "-X", "GETQUOTAROOT INBOX"],
            capture_output=True, timeout=60, env=harness.base_env())
        self.assertEqual(out.returncode, 0, out.stderr)
        count, octets = self.usage()
        lines = out.stdout.decode().splitlines()
        self.assertIn('* QUOTAROOT INBOX ""', lines, out.stdout)
        self.assertIn(f'* QUOTA "" (STORAGE {(octets + 1023) // 1024} 2048)',
                      lines, out.stdout)

    # ---- SMTP ------------------------------------------------------------

    def test_smtp_full_mailbox_refused_at_rcpt_and_data(self):
        self.serve()
        self.deliver(message("first", 4000))
        count, octets = self.usage()
        # Room for about 2000 more octets.
        self.env.cli_ok("quota", "set", BOB, str(octets + 2000))

        # Too big for the room left: accepted at RCPT (no SIZE), refused
        # whole at the end of DATA; nothing stored.
        s = self.mx()
        s.mail("zed@remote.test")
        self.assertEqual(s.rcpt(BOB)[0], 250)
        code, text = s.data(message("too big", 4000))
        self.assertEqual((code, text), (552, b"5.2.2 Mailbox full"))
        # SIZE= says so before the data.
        s.mail("zed@remote.test", ["SIZE=4000"])
        self.assertEqual(s.rcpt(BOB),
                         (552, f"5.2.2 <{BOB}>: Mailbox full".encode()))
        s.rset()
        # A small one still fits.
        s.mail("zed@remote.test", ["SIZE=500"])
        self.assertEqual(s.rcpt(BOB)[0], 250)
        self.assertEqual(s.data(message("small", 500))[0], 250)
        s.quit()
        self.assertEqual(self.usage()[0], 2)
        self.assertEqual(self.subjects(), ["first", "small"])

        # Over the limit (the administrator lowered it): refused at RCPT,
        # and the session goes on for the other recipients.
        self.env.cli_ok("quota", "set", BOB, "1k")
        s = self.mx()
        s.mail("zed@remote.test")
        self.assertEqual(s.rcpt(BOB),
                         (552, f"5.2.2 <{BOB}>: Mailbox full".encode()))
        self.assertEqual(s.rcpt(CAROL)[0], 250)
        self.assertEqual(s.data(message("to carol", 500, to=CAROL))[0], 250)
        s.quit()
        self.assertEqual(self.subjects(CAROL), ["to carol"])
        self.assertEqual(self.usage()[0], 2)

        # swaks sees the same.
        swaks = shutil.which("swaks")
        self.assertIsNotNone(swaks, "swaks is installed by make test")
        where = self.where["mx"]
        out = subprocess.run(
            [swaks, "--server", where[0], "--port", str(where[1]),
             "--helo", "client.test", "--timeout", "20",
             "--from", "zed@remote.test", "--to", BOB],
            capture_output=True, text=True, timeout=60,
            env=harness.base_env())
        self.assertNotEqual(out.returncode, 0, out.stdout)
        self.assertIn(f"<** 552 5.2.2 <{BOB}>: Mailbox full",
                      out.stdout.splitlines(), out.stdout)
        # A message count limit refuses the same way.
        self.env.cli_ok("quota", "set", CAROL, "none", "1")
        s = self.mx()
        s.mail("zed@remote.test")
        self.assertEqual(s.rcpt(CAROL)[0], 552)
        s.quit()

    def test_partial_recipients_bounce_to_the_sender(self):
        """Bob has room for the small message but not for this one: the
        others get it (250), Bob does not, and Alice, over her own quota,
        still gets the bounce: the server's own mail is never refused."""
        self.serve()
        self.deliver(message("filler", 3000), to=ALICE)
        self.env.cli_ok("quota", "set", ALICE, "1k")
        self.env.cli_ok("quota", "set", BOB, "3000")
        before = self.usage(BOB)
        self.assertEqual(self.submit(ALICE, [BOB, CAROL],
                                     message("to both", 5000, to=BOB)), 250)
        self.assertEqual(self.subjects(CAROL), ["to both"])
        self.assertEqual(self.usage(BOB), before)
        self.env.poll(lambda: len(self.subjects(ALICE)) == 2,
                      "the bounce in Alice's INBOX")
        bounce = self.env.mailbox_messages(ALICE)[1]
        self.assertIn(b"Subject: Undelivered Mail Returned to Sender", bounce)
        self.assertIn(f"Final-Recipient: rfc822; {BOB}".encode(), bounce)
        self.assertIn(b"Status: 5.2.2", bounce)
        self.assertIn(b"552 5.2.2 Mailbox full", bounce)
        self.assertNotIn(CAROL.encode() + b"\r\nAction", bounce)
        self.assertIn(b"Subject: to both", bounce)  # the original's headers
        self.assertEqual(self.env.queued(), [])
        self.d.wait_for(f"<{BOB}> is over quota: the message from <{ALICE}> "
                        "is bounced")

        # A bounce (null sender) to a full mailbox is not bounced again.
        s = self.mx()
        s.mail("<>")
        self.assertEqual(s.rcpt(BOB)[0], 250)
        self.assertEqual(s.rcpt(CAROL)[0], 250)
        self.assertEqual(s.data(message("a bounce", 5000))[0], 250)
        s.quit()
        self.d.wait_for(f"<{BOB}> is over quota: the message from <> is "
                        "dropped (a bounce is not bounced)")
        self.assertEqual(self.usage(BOB), before)
        self.assertEqual(self.env.queued(), [])

    # ---- IMAP: APPEND, COPY, MOVE ----------------------------------------

    def test_append_over_quota(self):
        self.serve()
        self.env.cli_ok("quota", "set", BOB, "10k")
        m = self.imaps()
        self.assertEqual(m.append("INBOX", None, None,
                                  message("fits", 6000))[0], "OK")
        typ, data = m.append("INBOX", None, None, message("too big", 6000))
        self.assertEqual(typ, "NO")
        self.assertTrue(data[0].startswith(b"[OVERQUOTA]"), data)
        self.assertEqual(self.subjects(), ["fits"])

        # A synchronising literal is refused before the client sends it;
        # a LITERAL+ one is read and refused after.
        c = self.raw_imap()
        c.send("b APPEND INBOX {6000}\r\n")
        self.assertEqual(c.readline(), "b NO [OVERQUOTA] Quota exceeded")
        data = message("plus", 6000)
        c.send(f"c APPEND INBOX {{{len(data)}+}}\r\n".encode() + data
               + b"\r\n")
        self.assertEqual(self.until(c, "c"), "c NO [OVERQUOTA] Quota exceeded")
        c.send("d NOOP\r\n")
        self.assertTrue(self.until(c, "d").startswith("d OK"))
        self.assertEqual(self.subjects(), ["fits"])
        # A message limit counts too.
        self.env.cli_ok("quota", "set", BOB, "none", "1")
        typ, data = m.append("Drafts", None, None, message("tiny", 100))
        self.assertEqual(typ, "NO")
        self.assertEqual(self.usage(), (1, self.usage()[1]))

    def test_copy_over_quota_move_and_expunge_still_work(self):
        self.serve()
        for i in range(3):
            self.deliver(message(f"m{i}", 3000))
        count, octets = self.usage()
        # Room for one more copy, not three.
        self.env.cli_ok("quota", "set", BOB, str(octets + octets // 3 + 100))
        m = self.imaps()
        m.select("INBOX")
        typ, data = m.copy("1:3", "Trash")
        self.assertEqual(typ, "NO")
        self.assertTrue(data[0].startswith(b"[OVERQUOTA]"), data)
        self.assertEqual(self.subjects(mailbox="Trash"), [])
        self.assertEqual(m.copy("1", "Trash")[0], "OK")
        self.assertEqual(self.subjects(mailbox="Trash"), ["m0"])

        # Over quota (the limit lowered): MOVE changes nothing in usage
        # and works; COPY does not; EXPUNGE frees space.
        self.env.cli_ok("quota", "set", BOB, "1k")
        typ, data = m._simple_command("MOVE", "2", "Trash")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(self.subjects(mailbox="Trash"), ["m0", "m1"])
        self.assertEqual(m.copy("1", "Drafts")[0], "NO")
        self.assertEqual(self.usage(), (4, octets + octets // 3))
        m.select("Trash")
        m.store("1:*", "+FLAGS", "\\Deleted")
        self.assertEqual(m.expunge()[0], "OK")
        self.assertEqual(self.usage()[0], 2)

    # ---- POP3 and the CLI ------------------------------------------------

    def test_pop3_stat_equals_quota_usage_and_user_show(self):
        self.serve()
        self.env.cli_ok("quota", "set", "example.test", "1M", "100")
        for i in range(4):
            self.deliver(message(f"m{i}", 1000 * (i + 1)))
        where = self.where["pop3s"]
        p = poplib.POP3_SSL(where[0], where[1], context=tls_client_context(),
                            timeout=IO_TIMEOUT)
        self.addCleanup(p.close)
        p.user(BOB)
        p.pass_(PASSWORDS[BOB])
        count, octets = p.stat()
        p.quit()
        self.assertEqual((count, octets), self.usage())
        show = self.env.cli_ok("user", "show", BOB).out
        self.assertIn(f"storage: {octets} of 1048576 bytes (", show)
        self.assertIn(", domain default)", show)
        self.assertIn("messages: 4 of 100 (4%, domain default)", show)
        self.assertIn("quota warning: none sent", show)
        q = self.env.cli_ok("quota", "show", BOB).out
        self.assertTrue(q.startswith(f"address: {BOB}\nstorage: {octets} "),
                        q)

    def test_cli_set_show_and_errors(self):
        env = self.env
        env.setup()
        env.add_user(BOB, PASSWORDS[BOB])
        env.cli_ok("quota", "set", "example.test", "500M", "1000")
        self.assertEqual(env.cli_ok("quota", "show", "example.test").out,
                         "domain: example.test\n"
                         "default storage: 524288000 bytes (500 MiB)\n"
                         "default messages: 1000\n")
        self.assertEqual(env.cli_ok("quota", "show", BOB).out,
                         f"address: {BOB}\n"
                         "storage: 0 of 524288000 bytes (0 bytes of 500 MiB,"
                         " 0%, domain default)\n"
                         "messages: 0 of 1000 (0%, domain default)\n"
                         "quota warning: none sent\n")
        # The account's own: STORAGE set, MESSAGES left as it was.
        env.cli_ok("quota", "set", BOB, "2G")
        env.cli_ok("quota", "set", BOB.upper(), "2G", "none")
        self.assertEqual(env.cli_ok("quota", "show", BOB).out,
                         f"address: {BOB}\n"
                         "storage: 0 of 2147483648 bytes (0 bytes of 2 GiB,"
                         " 0%)\n"
                         "messages: 0, no limit\n"
                         "quota warning: none sent\n")
        self.assertEqual(env.query(
            "SELECT quota_storage, quota_messages FROM accounts"
            " WHERE address = ?", (BOB,)), [(2147483648, 0)])
        env.cli_ok("quota", "set", BOB, "default", "default")
        self.assertEqual(env.query(
            "SELECT quota_storage, quota_messages FROM accounts"
            " WHERE address = ?", (BOB,)), [(None, None)])
        env.cli_ok("quota", "set", "example.test", "none", "none")
        self.assertIn("storage: 0 bytes (0 bytes), no limit, domain default",
                      env.cli_ok("quota", "show", BOB).out)

        env.cli_fails(EX_DATAERR, "bad storage limit '2X'",
                      "quota", "set", BOB, "2X")
        env.cli_fails(EX_DATAERR, "bad storage limit '0'",
                      "quota", "set", BOB, "0")
        env.cli_fails(EX_DATAERR, "bad message limit '1.5'",
                      "quota", "set", BOB, "1M", "1.5")
        env.cli_fails(EX_NOUSER, "unknown user nobody@example.test",
                      "quota", "set", "nobody@example.test", "1M")
        env.cli_fails(EX_NOUSER, "unknown domain other.test",
                      "quota", "set", "other.test", "1M")
        env.cli_fails(EX_NOUSER, "unknown user nobody@example.test",
                      "quota", "show", "nobody@example.test")
        env.cli_fails(EX_USAGE, "usage: postino quota", "quota", "set", BOB)
        env.cli_fails(EX_USAGE, "usage: postino quota", "quota")

    # ---- warnings --------------------------------------------------------

    def test_warnings_once_per_crossing(self):
        """A warning when usage reaches 80 % and one at 95 %, each once;
        80 % again only after usage fell below it. Checked against a model
        of the rule on the stored sizes, delivery by delivery."""
        self.serve(warn="80 95")
        self.deliver(message("probe", 5000))
        size = self.usage()[1]
        limit = 20 * size
        self.env.cli_ok("quota", "set", BOB, str(limit))
        warned = 0     # the threshold the model last warned of
        expected = []  # the warnings the model expects, in order

        def level(octets):
            return max([t for t in (80, 95) if octets * 100 >= t * limit],
                       default=0)

        def deliver_one(i):
            nonlocal warned
            before = self.usage()[1]
            self.deliver(message(f"m{i}", 5000))
            added = [len(d) for d in self.env.mailbox_messages(BOB)
                     if f"\r\nSubject: m{i}\r\n".encode() in d]
            self.assertEqual(len(added), 1)
            added = added[0]
            armed = min(level(before), warned)
            reached = level(before + added)
            if reached > armed:
                expected.append(reached)
                warned = reached
            else:
                warned = armed
            got = [s for s in self.subjects() if "% full" in s]
            self.assertEqual(got, [f"Your mailbox is {t}% full"
                                   for t in expected], f"after m{i}")

        i = 0
        while self.usage()[1] + size <= limit:
            i += 1
            deliver_one(i)
        self.assertEqual(expected, [80, 95])
        # Full now: the next one is refused, and no new warning comes.
        s = self.mx()
        s.mail("zed@remote.test")
        s.rcpt(BOB)
        self.assertEqual(s.data(message("refused", 5000))[0], 552)
        s.quit()
        self.assertEqual(self.env.cli_ok("quota", "show", BOB).out
                         .splitlines()[-1], "quota warning: 95% sent")

        # Below 80 % again (most messages expunged), then up: 80 % again.
        m = self.imaps()
        m.select("INBOX")
        m.store(f"1:{i - 6}", "+FLAGS", "\\Deleted")
        m.expunge()
        self.assertLess(self.usage()[1] * 100, 80 * limit)
        while level(self.usage()[1]) < 80:
            i += 1
            deliver_one(i)
        self.assertEqual(expected, [80, 95, 80])

        # The warning itself, in the account's language.
        warning = [d for d in self.env.mailbox_messages(BOB)
                   if b"% full" in d][-1]
        self.assertIn(b"From: Postmaster <postmaster@mail.example.test>",
                      warning)
        self.assertIn(f"To: <{BOB}>".encode(), warning)
        self.assertIn(b"Auto-Submitted: auto-generated", warning)
        self.assertIn(f"your mailbox {BOB} is".encode(), warning)
        self.assertIn(b"Content-Type: text/plain; charset=utf-8", warning)
        self.assertNotIn(b"{{", warning)

    def test_warning_in_italian(self):
        self.serve(warn="50")
        self.env.cli_ok("user", "set", CAROL, "--lang", "it")
        self.env.cli_ok("quota", "set", CAROL, "10k")
        self.deliver(message("grande", 6000, to=CAROL), to=CAROL)
        subjects = self.subjects(CAROL)
        self.assertEqual(subjects, ["grande",
                                    "La tua casella di posta e' piena al 50%"])
        warning = self.env.mailbox_messages(CAROL)[1]
        self.assertIn("la casella di posta carol@example.test è piena al "
                      .encode(), warning)
        self.assertIn(b" dei 10 KiB", warning)


if __name__ == "__main__":
    unittest.main()
