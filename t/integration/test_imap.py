"""IMAP (modules/imap, imap.so) as mail clients meet it: Python's imaplib
over implicit TLS and STARTTLS, and a raw client for what imaplib cannot
say (IDLE, literals, hostile input). Each test runs its own postinod with
smtp.so, pop3.so and imap.so and listeners on 127.0.0.1 (free ports):

  submission  protocol submission, tls starttls  (mail arrives here)
  pop3s       protocol pop3,       tls implicit
  imap        protocol imap,       tls starttls  (port 143 style)
  imaps       protocol imap,       tls implicit  (port 993 style)

Assertions are on protocol replies and on the database. Every wait is
bounded; nothing is timed.
"""
import imaplib
import os
import poplib
import random
import re
import shutil
import smtplib
import string
import subprocess
import threading
import time
import unittest
from contextlib import closing

import harness
from harness import (IO_TIMEOUT, MODULES_DIR, LineClient, tls_client_context)

HOST = "mail.example.test"
ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORDS = {ALICE: "Alice-Secret-4711", BOB: "Bob-Secret-0815"}
SOS = [os.path.join(MODULES_DIR, n + ".so") for n in ("smtp", "pop3", "imap")]


def message(subject, body=b"Hello.\r\n", sender=ALICE, to=BOB, extra=b""):
    return (f"From: Alice <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@test>\r\n").encode() \
        + extra + b"\r\n" + body


MULTIPART = (b"From: Alice <alice@example.test>\r\n"
             b"To: Bob <bob@example.test>\r\n"
             b"Subject: with attachment\r\n"
             b"MIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n"
             b"\r\n"
             b"preamble\r\n"
             b"--XYZ\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\n"
             b"\r\n"
             b"the text part\r\n"
             b"--XYZ\r\n"
             b"Content-Type: application/pdf; name=\"a.pdf\"\r\n"
             b"Content-Transfer-Encoding: base64\r\n"
             b"Content-Disposition: attachment; filename=\"a.pdf\"\r\n"
             b"\r\n"
             b"JVBERi0xLjQK\r\n"
             b"--XYZ--\r\n")


class ImapClient(LineClient):
    """A raw IMAP client: tagged commands, untagged lines collected."""

    n = 0

    def command(self, text, literal=None):
        """Sends "tag text"; returns (untagged lines, tagged line)."""
        ImapClient.n += 1
        tag = f"t{ImapClient.n}"
        self.send(f"{tag} {text}\r\n")
        return self.until(tag)

    def until(self, tag):
        untagged = []
        while True:
            line = self.readline()
            if line.startswith(tag + " "):
                return untagged, line[len(tag) + 1:]
            untagged.append(line)

    def ok(self, text):
        untagged, tagged = self.command(text)
        self.tc.assertTrue(tagged.startswith("OK"), f"{text}: {tagged}")
        return untagged, tagged


class ImapTestCase(harness.CertTestCase):

    cert_host = HOST
    modules = SOS

    def setUp(self):
        super().setUp()
        self.where = {}
        self.d = None

    def serve(self, imap_settings=None):
        env = self.env
        parking = (f"\n[queue]\nrelayhost = 127.0.0.1:{harness.free_port()}\n"
                   "poll_interval = 1h\nretry_min = 1h\nretry_max = 1h\n")
        env.write_config(modules_dir=MODULES_DIR,
                         extra=harness.tls_section(*self.cert) + parking)
        for mod, listeners, settings in (
                ("smtp", [{"name": "submission", "protocol": "submission",
                           "tls": "starttls"}], None),
                ("pop3", [{"name": "pop3s", "protocol": "pop3",
                           "tls": "implicit"}], None),
                ("imap", [{"name": "imap", "protocol": "imap",
                           "tls": "starttls"},
                          {"name": "imaps", "protocol": "imap",
                           "tls": "implicit"}], imap_settings)):
            text, where = harness.listener_sections(listeners)
            self.where.update(where)
            env.write_module(mod, settings, extra=text)
        env.init()
        env.cli_ok("domain", "add", "example.test")
        for user in (ALICE, BOB):
            env.add_user(user, PASSWORDS[user])
        self.start()

    def start(self):
        self.d = self.env.start()
        self.d.wait_for("postinod ready")
        return self.d

    def stop(self):
        self.d.stop()
        everything = self.env.all_output()
        for password in PASSWORDS.values():
            self.assertNotIn(password, everything, "a password was logged")

    def deliver(self, datas, to=BOB):
        where = self.where["submission"]
        s = smtplib.SMTP(where[0], where[1], timeout=IO_TIMEOUT)
        self.addCleanup(s.close)
        s.starttls(context=tls_client_context())
        s.login(ALICE, PASSWORDS[ALICE])
        for data in datas:
            self.assertEqual(s.sendmail(ALICE, [to], data), {})
        s.quit()

    def imaps(self, login=BOB):
        where = self.where["imaps"]
        m = imaplib.IMAP4_SSL(where[0], where[1],
                              ssl_context=tls_client_context(),
                              timeout=IO_TIMEOUT)
        self.addCleanup(self._logout, m)
        if login:
            typ, _ = m.login(login, PASSWORDS[login])
            self.assertEqual(typ, "OK")
        return m

    def curl_imaps(self, path):
        """The bytes curl (one of make test's packages) fetches from
        imaps://.../path as BOB: a client of another kind than imaplib."""
        curl = shutil.which("curl")
        self.assertIsNotNone(curl, "curl is installed by make test")
        where = self.where["imaps"]
        out = subprocess.run(
            [curl, "-s", "-k", "--user", f"{BOB}:{PASSWORDS[BOB]}",
             f"imaps://{where[0]}:{where[1]}/{path}"],
            capture_output=True, timeout=60, env=harness.base_env())
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    @staticmethod
    def _logout(m):
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    def raw(self, name="imaps", login=BOB):
        c = ImapClient(self, self.where[name],
                       implicit_tls=name == "imaps", server_hostname=HOST)
        greeting = c.readline()
        self.assertTrue(greeting.startswith("* OK [CAPABILITY IMAP4rev1"),
                        greeting)
        if name == "imap":
            _, tagged = c.command("STARTTLS")
            self.assertTrue(tagged.startswith("OK"), tagged)
            self.assertEqual(c.buf, b"")
            c.wrap(server_hostname=HOST)
        if login:
            c.ok(f"LOGIN {login} {PASSWORDS[login]}")
        return c

    def stored(self, address=BOB, mailbox="INBOX"):
        return self.env.mailbox_messages(address, mailbox)

    def uids(self, address=BOB, mailbox="INBOX"):
        return [r[0] for r in self.env.query(
            "SELECT m.uid FROM messages m JOIN mailboxes x ON x.id = m.mailbox"
            " JOIN accounts a ON a.id = x.account WHERE a.address = ?"
            " AND x.name = ? ORDER BY m.uid", (address, mailbox))]


def fetch_parts(data):
    """imaplib's fetch result as a list of (header, literal) and strings."""
    return [d for d in data if d is not None]


# ---- sessions and login ------------------------------------------------------

class Login(ImapTestCase):

    def test_starttls_required_before_login(self):
        self.serve()
        c = ImapClient(self, self.where["imap"])
        greeting = c.readline()
        self.assertIn("STARTTLS", greeting)
        self.assertIn("LOGINDISABLED", greeting)
        self.assertNotIn("AUTH=PLAIN", greeting)
        untagged, tagged = c.command(f"LOGIN {BOB} {PASSWORDS[BOB]}")
        self.assertTrue(tagged.startswith("NO [PRIVACYREQUIRED]"), tagged)
        _, tagged = c.command("AUTHENTICATE PLAIN")
        self.assertTrue(tagged.startswith("NO [PRIVACYREQUIRED]"), tagged)
        _, tagged = c.command("SELECT INBOX")
        self.assertEqual(tagged, "BAD Command not valid in this state")
        # Bytes pipelined after STARTTLS are discarded, not run inside TLS.
        ImapClient.n += 1
        c.send(f"t{ImapClient.n} STARTTLS\r\nx1 LOGIN {BOB} nope\r\n")
        self.assertEqual(c.readline(), f"t{ImapClient.n} OK Begin TLS "
                         "negotiation now")
        c.wrap(server_hostname=HOST)
        untagged, tagged = c.command("CAPABILITY")
        self.assertIn("AUTH=PLAIN", untagged[0])
        self.assertNotIn("LOGINDISABLED", untagged[0])
        self.assertNotIn("STARTTLS", untagged[0])
        self.assertTrue(c.quiet(), "the pipelined LOGIN was answered")
        c.ok(f"LOGIN {BOB} {PASSWORDS[BOB]}")
        self.stop()

    def test_imaplib_starttls_and_ssl(self):
        self.serve()
        where = self.where["imap"]
        m = imaplib.IMAP4(where[0], where[1], timeout=IO_TIMEOUT)
        self.addCleanup(self._logout, m)
        self.assertIn("LOGINDISABLED", m.capabilities)
        m.starttls(ssl_context=tls_client_context())
        self.assertIn("AUTH=PLAIN", m.capabilities)
        self.assertEqual(m.login(BOB, PASSWORDS[BOB])[0], "OK")
        self.assertEqual(m.logout()[0], "BYE")
        m = self.imaps(login=None)
        for cap in ("IMAP4REV1", "IDLE", "UIDPLUS", "MOVE", "SPECIAL-USE",
                    "NAMESPACE", "ID", "ENABLE", "LITERAL+", "CHILDREN",
                    "UNSELECT", "SASL-IR", "LIST-EXTENDED", "AUTH=PLAIN",
                    "AUTH=LOGIN"):
            self.assertIn(cap, m.capabilities)
        with self.assertRaises(imaplib.IMAP4.error):
            m.login(BOB, "wrong password")
        self.assertEqual(m.login(BOB, PASSWORDS[BOB])[0], "OK")
        self.stop()

    def test_authenticate_plain_with_and_without_initial_response(self):
        import base64
        self.serve()
        resp = base64.b64encode(f"\0{BOB}\0{PASSWORDS[BOB]}".encode()).decode()
        c = self.raw(login=None)
        c.ok(f"AUTHENTICATE PLAIN {resp}")
        c = self.raw(login=None)
        ImapClient.n += 1
        tag = f"t{ImapClient.n}"
        c.send(f"{tag} AUTHENTICATE PLAIN\r\n")
        self.assertEqual(c.readline(), "+ ")
        c.send(resp + "\r\n")
        _, tagged = c.until(tag)
        self.assertTrue(tagged.startswith("OK [CAPABILITY"), tagged)
        c = self.raw(login=None)
        ImapClient.n += 1
        tag = f"t{ImapClient.n}"
        c.send(f"{tag} AUTHENTICATE PLAIN\r\n")
        self.assertEqual(c.readline(), "+ ")
        c.send("*\r\n")
        _, tagged = c.until(tag)
        self.assertEqual(tagged, "BAD Authentication cancelled")
        bad = base64.b64encode(f"\0{BOB}\0nope".encode()).decode()
        _, tagged = c.command(f"AUTHENTICATE PLAIN {bad}")
        self.assertEqual(tagged, "NO [AUTHENTICATIONFAILED] Authentication "
                         "failed")
        self.stop()

    def test_authenticate_login(self):
        """LOGIN, run by the host's SASL service for every protocol: two
        challenges, then the verdict; pipelined commands wait for it."""
        import base64
        self.serve()
        b64 = lambda s: base64.b64encode(s.encode()).decode()
        c = self.raw(login=None)
        _, tagged = c.command("CAPABILITY")
        ImapClient.n += 1
        tag = f"t{ImapClient.n}"
        c.send(f"{tag} AUTHENTICATE LOGIN\r\n")
        self.assertEqual(c.readline(), "+ VXNlcm5hbWU6")  # Username:
        c.send(b64(BOB) + "\r\n")
        self.assertEqual(c.readline(), "+ UGFzc3dvcmQ6")  # Password:
        c.send(b64(PASSWORDS[BOB]) + "\r\nx1 NOOP\r\n")
        _, tagged = c.until(tag)
        self.assertTrue(tagged.startswith("OK [CAPABILITY"), tagged)
        _, tagged = c.until("x1")
        self.assertEqual(tagged, "OK Noop completed")
        # A user name that is not base64 ends the exchange.
        c = self.raw(login=None)
        ImapClient.n += 1
        tag = f"t{ImapClient.n}"
        c.send(f"{tag} AUTHENTICATE LOGIN\r\n")
        self.assertEqual(c.readline(), "+ VXNlcm5hbWU6")
        c.send("not base64!\r\n")
        _, tagged = c.until(tag)
        self.assertEqual(tagged, "BAD Invalid base64 in the response")
        _, tagged = c.command("AUTHENTICATE CRAM-MD5")
        self.assertEqual(tagged, "NO Unsupported authentication mechanism")
        self.stop()


# ---- mailboxes ---------------------------------------------------------------

class Mailboxes(ImapTestCase):

    def test_default_mailboxes_with_special_use(self):
        self.serve()
        m = self.imaps()
        typ, data = m.list()
        self.assertEqual(typ, "OK")
        self.assertEqual(sorted(data), sorted([
            b'(\\HasNoChildren) "/" INBOX',
            b'(\\HasNoChildren \\Drafts) "/" Drafts',
            b'(\\HasNoChildren \\Junk) "/" Junk',
            b'(\\HasNoChildren \\Sent) "/" Sent',
            b'(\\HasNoChildren \\Trash) "/" Trash']))
        typ, data = m._simple_command("LIST", "(SPECIAL-USE)", '""', "*",
                                      "RETURN", "(SUBSCRIBED)")
        self.assertEqual(typ, "OK")
        lst = m.untagged_responses.pop("LIST")
        self.assertEqual(len(lst), 4, lst)
        self.assertIn(b'(\\HasNoChildren \\Subscribed \\Sent) "/" Sent', lst)
        typ, data = m.list('""', '""')
        self.assertEqual(data, [b'(\\Noselect) "/" ""'])
        self.assertEqual(m.namespace(), ("OK", [b'(("" "/")) NIL NIL']))
        self.stop()

    def test_create_rename_delete_subscribe_status(self):
        self.serve()
        m = self.imaps()
        self.assertEqual(m.create("Work/2026")[0], "OK")
        self.assertEqual(m.create("Work")[0], "NO")   # made as a parent
        self.assertEqual(m.create("INBOX")[0], "NO")
        typ, data = m.list('""', "Work*")
        self.assertEqual(data, [b'(\\HasChildren) "/" Work',
                                b'(\\HasNoChildren) "/" Work/2026'])
        typ, data = m.list('""', "%")
        self.assertIn(b'(\\HasChildren) "/" Work', data)
        self.assertNotIn(b'(\\HasNoChildren) "/" Work/2026', data)
        self.assertEqual(m.delete("Work")[0], "NO")  # has children
        self.assertEqual(m.rename("Work", "Jobs")[0], "OK")
        typ, data = m.list('""', "Jobs/*")
        self.assertEqual(data, [b'(\\HasNoChildren) "/" Jobs/2026'])
        self.assertEqual(m.rename("Jobs", "Sent")[0], "NO")
        self.assertEqual(m.delete("Jobs/2026")[0], "OK")
        self.assertEqual(m.delete("Jobs")[0], "OK")
        self.assertEqual(m.delete("INBOX")[0], "NO")
        self.assertEqual(m.delete("Nope")[0], "NO")
        # Non-ASCII names travel as modified UTF-7 and are stored as UTF-8.
        self.assertEqual(m.create("&AMk-t&AOk-")[0], "OK")     # "Été"
        names = [r[0] for r in self.env.query(
            "SELECT name FROM mailboxes x JOIN accounts a"
            " ON a.id = x.account WHERE a.address = ?", (BOB,))]
        self.assertIn("Été", names)
        self.assertEqual(m.create("bad&name")[0], "NO")
        # CREATE-SPECIAL-USE
        typ, data = m._simple_command("CREATE", "Archive", "(USE (\\Archive))")
        self.assertEqual(typ, "OK")
        typ, data = m.list('""', "Archive")
        self.assertEqual(data, [b'(\\HasNoChildren \\Archive) "/" Archive'])
        typ, data = m._simple_command("CREATE", "X", "(USE (\\Bogus))")
        self.assertEqual(typ, "NO")
        # SUBSCRIBE / LSUB
        self.assertEqual(m.unsubscribe("Junk")[0], "OK")
        typ, data = m.lsub('""', "*")
        self.assertNotIn(b'() "/" Junk', data)
        self.assertIn(b'() "/" Sent', data)
        self.assertEqual(m.subscribe("Junk")[0], "OK")
        typ, data = m.lsub('""', "Junk")
        self.assertEqual(data, [b'() "/" Junk'])
        # STATUS
        self.deliver([message("one"), message("two")])
        typ, data = m.status("INBOX", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY)")
        self.assertEqual(typ, "OK")
        v = self.env.query("SELECT uidvalidity FROM mailboxes x JOIN accounts"
                           " a ON a.id = x.account WHERE a.address = ? AND"
                           " x.name = 'INBOX'", (BOB,))[0][0]
        self.assertEqual(data, [f"INBOX (MESSAGES 2 UNSEEN 2 UIDNEXT 3 "
                                f"UIDVALIDITY {v})".encode()])
        self.stop()

    def test_subscribe_on_create_setting(self):
        """[imap] subscribe_on_create = yes: CREATE subscribes the new
        mailbox (not the parents it makes); the default, no, is in the
        conformance scenarios (rfc3501/6.3.6-subscribe.scr)."""
        self.serve(imap_settings={"subscribe_on_create": "yes"})
        c = self.raw()
        c.ok("CREATE Work/2026")
        untagged, _ = c.ok('LSUB "" Work*')
        self.assertEqual(untagged, ['* LSUB () "/" Work/2026'])
        self.stop()

    def test_rename_inbox_moves_its_messages(self):
        self.serve()
        self.deliver([message("one"), message("two")])
        m = self.imaps()
        self.assertEqual(m.rename("INBOX", "Old")[0], "OK")
        self.assertEqual(m.select("INBOX"), ("OK", [b"0"]))
        self.assertEqual(m.select("Old"), ("OK", [b"2"]))
        self.assertEqual(self.uids(mailbox="Old"), [1, 2])
        self.assertEqual(self.uids(), [])
        self.stop()


# ---- messages ----------------------------------------------------------------

class Messages(ImapTestCase):

    def test_fetch_what_smtp_delivered(self):
        self.serve()
        self.deliver([message("first"), MULTIPART])
        stored = self.stored()
        m = self.imaps()
        self.assertEqual(m.select("INBOX"), ("OK", [b"2"]))
        typ, data = m.fetch("1:2", "(UID RFC822.SIZE BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        parts = [d for d in data if isinstance(d, tuple)]
        self.assertEqual([p[1] for p in parts], stored)
        for i, p in enumerate(parts):
            self.assertIn(f"UID {i + 1} RFC822.SIZE {len(stored[i])}".encode(),
                          p[0])
        typ, data = m.fetch("1", "(FLAGS)")
        self.assertNotIn(b"\\Seen", data[0], "BODY.PEEK set \\Seen")
        typ, data = m.fetch("2", "(ENVELOPE BODYSTRUCTURE)")
        # MULTIPART has no Date: submission added one (and a Message-ID).
        self.assertRegex(data[0], rb'ENVELOPE \("[A-Z][a-z]{2}, \d\d '
                         rb'[A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}" '
                         rb'"with attachment" \(\("Alice" NIL "alice" '
                         rb'"example.test"\)\)')
        self.assertIn(b'BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") '
                      b'NIL NIL "7bit" 13 1 NIL NIL NIL NIL)("application" '
                      b'"pdf" ("name" "a.pdf") NIL NIL "base64" 12 NIL '
                      b'("attachment" ("filename" "a.pdf")) NIL NIL) '
                      b'"mixed" ("boundary" "XYZ") NIL NIL NIL)', data[0])
        typ, data = m.fetch("2", "(BODY.PEEK[1] BODY.PEEK[2.MIME] "
                                 "BODY.PEEK[2]<0.4> BODY.PEEK[HEADER.FIELDS "
                                 "(Subject)])")
        lits = [d for d in data if isinstance(d, tuple)]
        # RFC 2046 5.1.1: the CRLF before a boundary belongs to it.
        self.assertEqual(lits[0][1], b"the text part")
        self.assertEqual(lits[1][1],
                         b"Content-Type: application/pdf; name=\"a.pdf\"\r\n"
                         b"Content-Transfer-Encoding: base64\r\n"
                         b"Content-Disposition: attachment; filename=\"a.pdf\""
                         b"\r\n\r\n")
        self.assertIn(b"BODY[2]<0> {4}", lits[2][0])
        self.assertEqual(lits[2][1], b"JVBE")
        self.assertEqual(lits[3][1], b"Subject: with attachment\r\n\r\n")
        # A non-PEEK fetch sets \Seen and says so.
        typ, data = m.fetch("1", "(BODY[TEXT])")
        self.assertIn(b"FLAGS (\\Seen \\Recent)", data[0][0])
        self.assertEqual(data[0][1], b"Hello.\r\n")
        self.assertEqual(self.env.query(
            "SELECT flags FROM messages m JOIN mailboxes x ON x.id = m.mailbox"
            " JOIN accounts a ON a.id = x.account WHERE a.address = ? AND"
            " x.name = 'INBOX' AND m.uid = 1", (BOB,))[0][0], 1)
        # UID FETCH of a range beyond the last UID still includes it.
        typ, data = m.uid("FETCH", "2:*", "(FLAGS)")
        self.assertEqual(len(data), 1)
        self.assertIn(b"UID 2", data[0])
        with self.assertRaisesRegex(imaplib.IMAP4.error, "BAD"):
            m.fetch("3", "(FLAGS)")
        self.stop()

    def test_fetch_crossing_tls_records(self):
        """One FETCH whose response mixes short lines with literals below,
        at and far above one TLS record (16 KiB of plaintext): every byte
        arrives, in order, through two different clients."""
        self.serve()
        rng = random.Random(14)

        def body(size):
            out = bytearray()
            while len(out) < size:
                out += ("".join(rng.choice(string.ascii_letters)
                                for _ in range(rng.randint(1, 76)))
                        + "\r\n").encode()
            out = out[:size - 2]
            if out.endswith(b"\r"):  # no bare CR: the store would fix it
                out[-1:] = b"x"
            return bytes(out) + b"\r\n"
        sizes = (5, 16384, 16383, 70000, 200001)
        msgs = [message(f"size {n}", body=body(n)) for n in sizes]
        m = self.imaps()
        for data in msgs:
            self.assertEqual(m.append("INBOX", None, None, data)[0], "OK")
        self.assertEqual(self.stored(), msgs)
        self.assertEqual(m.select("INBOX"), ("OK", [str(len(msgs)).encode()]))
        typ, data = m.fetch("1:*", "(UID FLAGS BODY.PEEK[] BODY.PEEK[HEADER."
                                   "FIELDS (Subject)] RFC822.SIZE)")
        self.assertEqual(typ, "OK")
        lits = [d for d in data if isinstance(d, tuple)]
        self.assertEqual([lit[1] for lit in lits[0::2]], msgs)
        self.assertEqual([lit[1] for lit in lits[1::2]],
                         [f"Subject: size {n}\r\n\r\n".encode() for n in sizes])
        for i, lit in enumerate(lits[0::2]):
            self.assertIn(f"UID {i + 1} ".encode(), lit[0])
            self.assertIn(f"RFC822.SIZE {len(msgs[i])} ".encode(), lit[0])
        self.assertEqual([d for d in data if isinstance(d, bytes)],
                         [b")"] * len(msgs))
        # A partial fetch straddling a record boundary of the big one.
        typ, data = m.fetch("5", "(BODY.PEEK[]<16000.40000>)")
        self.assertEqual(data[0][1], msgs[4][16000:56000])
        self.assertEqual(self.curl_imaps("INBOX;UID=5"), msgs[4])
        self.stop()

    def test_append_to_sent_is_seen_by_other_clients(self):
        """The mission's story: a phone saves sent mail through IMAP and
        every other client sees it in Sent."""
        self.serve()
        phone = self.imaps()
        sent = message("my sent mail", sender=BOB, to=ALICE)
        typ, data = phone.append("Sent", "(\\Seen)",
                                 imaplib.Time2Internaldate(1790000000), sent)
        self.assertEqual(typ, "OK")
        v = self.env.query("SELECT uidvalidity FROM mailboxes x JOIN accounts"
                           " a ON a.id = x.account WHERE a.address = ? AND"
                           " x.name = 'Sent'", (BOB,))[0][0]
        self.assertEqual(data, [f"[APPENDUID {v} 1] Append completed".encode()])
        self.assertEqual(self.stored(mailbox="Sent"), [sent])
        desktop = self.raw("imap")
        untagged, tagged = desktop.ok("SELECT Sent")
        self.assertIn("* 1 EXISTS", untagged)
        untagged, _ = desktop.ok("FETCH 1 (FLAGS INTERNALDATE BODY.PEEK[])")
        self.assertTrue(untagged[0].startswith(
            '* 1 FETCH (FLAGS (\\Seen \\Recent) INTERNALDATE "21-Sep-2026 '),
            untagged)
        # a third client of another kind
        self.assertEqual(self.curl_imaps("Sent;UID=1"), sent)
        # APPEND to a missing mailbox asks the client to create it.
        typ, data = phone.append("Nope", None, None, sent)
        self.assertEqual(typ, "NO")
        self.assertTrue(data[0].startswith(b"[TRYCREATE]"), data)
        self.stop()

    def test_append_literal_plus_and_limits(self):
        self.serve({"max_message_size": "1k"})
        c = self.raw()
        body = b"Subject: lp\r\n\r\nliteral plus\r\n"
        ImapClient.n += 1
        tag = f"t{ImapClient.n}"
        c.send(f"{tag} APPEND Drafts (\\Draft kw) {{{len(body)}+}}\r\n".encode()
               + body + b"\r\n")
        _, tagged = c.until(tag)
        self.assertTrue(tagged.startswith("OK [APPENDUID "), tagged)
        flags, keywords = self.env.query(
            "SELECT flags, keywords FROM messages m JOIN mailboxes x"
            " ON x.id = m.mailbox WHERE x.name = 'Drafts'")[0]
        self.assertEqual((flags, keywords), (16, "kw"))
        # Too large with a synchronising literal: refused before sending.
        _, tagged = c.command("APPEND Drafts {5000}")
        self.assertEqual(tagged, "NO [TOOBIG] Message too large")
        _, tagged = c.command("APPEND Drafts (\\Recent) {3}")
        self.assertTrue(tagged.startswith("BAD \\Recent"), tagged)
        c.ok("NOOP")
        # Too large non-synchronising: the server hangs up.
        c.send(b"x APPEND Drafts {5000+}\r\n")
        self.assertTrue(c.readline().startswith("* BYE [TOOBIG]"))
        self.assertEqual(c.expect_eof(), b"")
        self.stop()

    def test_store_copy_move_expunge(self):
        self.serve()
        self.deliver([message(f"m{i}") for i in range(1, 6)])
        m = self.imaps()
        m.select("INBOX")
        typ, data = m.store("1:2", "+FLAGS", "(\\Flagged $Important)")
        self.assertEqual(data, [b"1 (FLAGS (\\Flagged \\Recent $Important))",
                                b"2 (FLAGS (\\Flagged \\Recent $Important))"])
        typ, data = m.store("2", "-FLAGS.SILENT", "($Important)")
        self.assertEqual((typ, data), ("OK", [None]))
        typ, data = m.fetch("2", "(FLAGS)")
        self.assertEqual(data, [b"2 (FLAGS (\\Flagged \\Recent))"])
        with self.assertRaisesRegex(imaplib.IMAP4.error, "BAD"):
            m.store("1", "FLAGS", "(\\Bogus)")
        # COPY answers COPYUID
        typ, data = m.copy("1:2", "Trash")
        self.assertEqual(typ, "OK")
        trash_v = self.env.query("SELECT uidvalidity FROM mailboxes x JOIN"
                                 " accounts a ON a.id = x.account WHERE"
                                 " a.address = ? AND x.name = 'Trash'",
                                 (BOB,))[0][0]
        self.assertEqual(data, [f"[COPYUID {trash_v} 1:2 1:2] Copy "
                                "completed".encode()])
        self.assertEqual(m.copy("1", "Nope")[0], "NO")
        # MOVE: COPYUID, then the EXPUNGE of the source
        typ, data = m._simple_command("UID", "MOVE", "3", "Junk")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.untagged_responses.pop("EXPUNGE"), [b"3"])
        self.assertEqual(self.uids(), [1, 2, 4, 5])
        self.assertEqual(self.uids(mailbox="Junk"), [1])
        # EXPUNGE removes \Deleted ones, UID EXPUNGE only those named
        m.store("1,3", "+FLAGS.SILENT", "(\\Deleted)")   # UIDs 1 and 4
        typ, data = m._simple_command("UID", "EXPUNGE", "4")
        self.assertEqual(m.untagged_responses.pop("EXPUNGE"), [b"3"])
        self.assertEqual(self.uids(), [1, 2, 5])
        typ, data = m.expunge()
        self.assertEqual(data, [b"1"])
        self.assertEqual(self.uids(), [2, 5])
        # CLOSE expunges silently; UIDs are never reused
        m.store("1", "+FLAGS.SILENT", "(\\Deleted)")
        self.assertEqual(m.close()[0], "OK")
        self.assertEqual(self.uids(), [5])
        self.deliver([message("m6")])
        self.assertEqual(self.uids(), [5, 6])
        self.stop()

    def test_examine_is_read_only(self):
        self.serve()
        self.deliver([message("one")])
        c = self.raw()
        untagged, tagged = c.ok("EXAMINE INBOX")
        self.assertTrue(tagged.startswith("OK [READ-ONLY]"), tagged)
        untagged, _ = c.ok("FETCH 1 BODY[TEXT]")
        self.assertNotIn("\\Seen", untagged[0])
        _, tagged = c.command("STORE 1 +FLAGS (\\Seen)")
        self.assertTrue(tagged.startswith("NO [READ-ONLY]"), tagged)
        _, tagged = c.command("EXPUNGE")
        self.assertTrue(tagged.startswith("NO [READ-ONLY]"), tagged)
        self.assertEqual(self.env.query("SELECT flags FROM messages")[0][0], 0)
        self.stop()

    def test_search(self):
        self.serve()
        self.deliver([message("apples", b"red fruit\r\n"),
                      message("pears", b"green fruit\r\n"),
                      message("Apple pie", b"baked\r\n",
                              extra=b"X-Tag: dessert\r\n")])
        m = self.imaps()
        m.select("INBOX")
        m.store("2", "+FLAGS", "(\\Flagged)")
        cases = {
            "ALL": b"1 2 3",
            "SUBJECT apple": b"1 3",
            "BODY fruit": b"1 2",
            "TEXT dessert": b"3",
            "HEADER X-Tag dessert": b"3",
            "FLAGGED": b"2",
            "UNFLAGGED": b"1 3",
            "NOT FLAGGED SUBJECT pie": b"3",
            "OR SUBJECT pears BODY baked": b"2 3",
            "LARGER 100000": b"",
            "SMALLER 100000": b"1 2 3",
            "SENTON 23-Nov-2026": b"1 2 3",
            "SENTBEFORE 1-Jan-2020": b"",
            "SINCE 1-Jan-2020": b"1 2 3",
            "2:*": b"2 3",
            "UID 3": b"3",
            "CHARSET UTF-8 SUBJECT pears": b"2",
        }
        for query, want in cases.items():
            typ, data = m.search(None, *query.split(" "))
            self.assertEqual((typ, data), ("OK", [want]), query)
        typ, data = m.uid("SEARCH", "SUBJECT", "apple")
        self.assertEqual(data, [b"1 3"])
        typ, data = m.search("KOI8-R", "ALL")
        self.assertEqual(typ, "NO")
        self.assertTrue(data[0].startswith(b"[BADCHARSET (UTF-8 US-ASCII)]"))
        self.stop()


# ---- several sessions --------------------------------------------------------

class Concurrency(ImapTestCase):

    def test_changes_reach_other_sessions_at_allowed_moments(self):
        self.serve()
        self.deliver([message("one"), message("two"), message("three")])
        phone = self.raw()
        desktop = self.raw()
        phone.ok("SELECT INBOX")
        desktop.ok("SELECT INBOX")
        phone.ok("STORE 1 +FLAGS.SILENT (\\Seen)")
        phone.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        phone.ok("EXPUNGE")
        # FETCH may show the flag change but never the expunge.
        untagged, _ = desktop.ok("FETCH 3 (FLAGS)")
        self.assertFalse([u for u in untagged if "EXPUNGE" in u], untagged)
        self.assertIn("* 1 FETCH (FLAGS (\\Seen))", untagged)
        self.assertIn("* 3 FETCH (FLAGS ())", untagged)
        untagged, _ = desktop.ok("NOOP")
        self.assertEqual(untagged, ["* 2 EXPUNGE"])
        untagged, _ = desktop.ok("FETCH 2 (UID)")
        self.assertEqual(untagged, ["* 2 FETCH (UID 3)"])
        # New mail: EXISTS at the next command.
        self.deliver([message("four")])
        untagged, _ = desktop.ok("NOOP")
        self.assertIn("* 3 EXISTS", untagged)
        self.stop()

    def test_idle_sees_delivery_and_pop3_deletion(self):
        self.serve()
        self.deliver([message("one")])
        c = self.raw()
        c.ok("SELECT INBOX")
        ImapClient.n += 1
        tag = f"t{ImapClient.n}"
        c.send(f"{tag} IDLE\r\n")
        self.assertEqual(c.readline(), "+ idling")
        self.deliver([message("two")])
        self.assertEqual(c.readline(), "* 2 EXISTS")
        # "one" became \Recent here at SELECT, "two" now (RFC 3501 2.3.2)
        self.assertEqual(c.readline(), "* 2 RECENT")
        # POP3 deletes after QUIT: the IDLE session learns at once.
        where = self.where["pop3s"]
        p = poplib.POP3_SSL(where[0], where[1], timeout=IO_TIMEOUT,
                            context=tls_client_context())
        p.user(BOB)
        p.pass_(PASSWORDS[BOB])
        p.dele(1)
        p.quit()
        self.assertEqual(c.readline(), "* 1 EXPUNGE")
        c.send("DONE\r\n")
        _, tagged = c.until(tag)
        self.assertEqual(tagged, "OK Idle completed")
        self.stop()


# ---- bad input ---------------------------------------------------------------

class BadInput(ImapTestCase):

    def test_hostile_lines_and_literals(self):
        self.serve()
        c = self.raw()
        _, tagged = c.command("FROB")
        self.assertEqual(tagged, "BAD Unknown command")
        c.send("\r\n")
        self.assertTrue(c.readline().startswith("* BAD"))
        c.send("a\"b NOOP\r\n")
        self.assertTrue(c.readline().startswith("* BAD"))
        _, tagged = c.command('SELECT "unterminated')
        self.assertTrue(tagged.startswith("BAD"), tagged)
        _, tagged = c.command("FETCH 1 FLAGS")
        self.assertEqual(tagged, "BAD Command not valid in this state")
        # A line longer than the limit: refused, the session goes on.
        c.send("long NOOP " + "x" * 70000 + "\r\n")
        self.assertEqual(c.readline(), "long BAD [TOOBIG] Line too long")
        c.ok("NOOP")
        # A huge synchronising literal is refused before it is sent.
        _, tagged = c.command("LOGIN {99999999999}")
        self.assertTrue(tagged.startswith("NO [TOOBIG]"), tagged)
        c.ok("NOOP")
        # Deep nesting and invalid mUTF-7 are protocol errors.
        _, tagged = c.command("ID " + "(" * 100 + ")" * 100)
        self.assertTrue(tagged.startswith("BAD"), tagged)
        _, tagged = c.command("SELECT &Jjo")
        self.assertTrue(tagged.startswith("NO"), tagged)
        # Other clients are still served.
        m = self.imaps()
        self.assertEqual(m.select("INBOX")[0], "OK")
        self.stop()

    def test_wrong_passwords_in_a_loop(self):
        self.serve()
        c = self.raw(login=None)
        for _ in range(5):
            _, tagged = c.command(f"LOGIN {BOB} wrong")
            self.assertEqual(tagged, "NO [AUTHENTICATIONFAILED] "
                             "Authentication failed")
            _, tagged = c.command("LOGIN nobody@example.test wrong")
            self.assertEqual(tagged, "NO [AUTHENTICATIONFAILED] "
                             "Authentication failed")
        c.ok(f"LOGIN {BOB} {PASSWORDS[BOB]}")
        self.stop()


# ---- restarts -------------------------------------------------------------

class Durability(ImapTestCase):

    def test_uidvalidity_and_uids_survive_a_restart(self):
        self.serve()
        self.deliver([message("one"), message("two")])
        m = self.imaps()
        m.select("INBOX")
        v1 = m.untagged_responses["UIDVALIDITY"][0]
        n1 = m.untagged_responses["UIDNEXT"][0]
        m.store("1", "+FLAGS.SILENT", "(\\Deleted)")
        m.expunge()
        m.logout()
        self.d.stop()
        self.start()
        m = self.imaps()
        m.select("INBOX")
        self.assertEqual(m.untagged_responses["UIDVALIDITY"][0], v1)
        self.assertEqual(m.untagged_responses["UIDNEXT"][0], n1)
        typ, data = m.fetch("1", "(UID)")
        self.assertEqual(data, [b"1 (UID 2)"])
        self.stop()


class QresyncForgotten(ImapTestCase):
    """RFC 7162 3.2.5.2: once a mailbox's tombstones are pruned past a
    client's modseq (or were never kept: a mailbox from before schema v7),
    SELECT (QRESYNC ...) reports every UID it may know that is gone, a
    superset; the client's sequence match data narrows it down."""

    def select_qresync(self, c, params):
        c.ok("ENABLE QRESYNC")
        untagged, _ = c.ok(f"SELECT INBOX (QRESYNC ({params}))")
        return [line for line in untagged if "VANISHED" in line]

    def test_pruned_tombstones_give_a_superset(self):
        self.serve()
        self.deliver([message(f"m{i}") for i in range(1, 7)])
        # UID 1 goes before the client's last sync, UID 5 after it.
        a = self.raw()
        a.ok("SELECT INBOX")
        a.ok("UID STORE 1 +FLAGS.SILENT (\\Deleted)")
        a.ok("EXPUNGE")
        untagged, _ = a.ok("SELECT INBOX")
        uv = next(re.search(r"UIDVALIDITY (\d+)", x).group(1)
                  for x in untagged if "UIDVALIDITY" in x)
        h = next(re.search(r"HIGHESTMODSEQ (\d+)", x).group(1)
                 for x in untagged if "HIGHESTMODSEQ" in x)
        a.ok("UID STORE 5 +FLAGS.SILENT (\\Deleted)")
        a.ok("EXPUNGE")
        # With the tombstones: exactly what went since.
        self.assertEqual(self.select_qresync(self.raw(), f"{uv} {h} 1:6"),
                         ["* VANISHED (EARLIER) 5"])
        # Pruned as store_txn_vanished_prune does: the floor rises.
        with closing(self.env.db()) as db:
            db.execute("UPDATE mailboxes SET vanished_floor = highestmodseq"
                       " WHERE name = 'INBOX' AND account ="
                       " (SELECT id FROM accounts WHERE address = ?)",
                       (BOB,))
            db.execute("DELETE FROM expunged")
            db.commit()
        self.assertEqual(self.select_qresync(self.raw(), f"{uv} {h} 1:6"),
                         ["* VANISHED (EARLIER) 1,5"])
        # The client's message 2 is UID 3 and its 3 is UID 4, as now:
        # nothing at or below UID 4 went since.
        self.assertEqual(
            self.select_qresync(self.raw(), f"{uv} {h} 1:6 (2:3 3:4)"),
            ["* VANISHED (EARLIER) 5"])
        # A match that no longer holds narrows nothing.
        self.assertEqual(
            self.select_qresync(self.raw(), f"{uv} {h} 1:6 (4 5)"),
            ["* VANISHED (EARLIER) 1,5"])
        self.stop()


if __name__ == "__main__":
    unittest.main()
