"""Crash safety: postinod killed with SIGKILL under load loses no
acknowledged mail and leaves a sound database (issue 10, part 3).

SMTP: ten smtplib senders deliver continuously to a local mailbox over the
MX listener; each records the unique marker (Message-ID) of every message
whose 250 it received. postinod is SIGKILLed at a random point after a few
hundred deliveries (the seed is printed, POSTINO_CRASH_SEED replays it),
then restarted on the same state directory, three times over. After each
kill: PRAGMA integrity_check is ok, every acknowledged message is stored
exactly once (in-flight ones at most once), blob reference counts match
their references, UIDs ascend and uidnext is past the largest. At the end
POP3S must hand out every acknowledged message exactly once, and a new
delivery gets a UID above all earlier ones.

POP3: DELE applies only after the durable commit that precedes QUIT's +OK:
killed right after that +OK, the messages are gone; killed after DELE but
before QUIT, nothing is gone and the maildrop is not left locked.

IMAP APPEND: eight imaplib sessions over IMAPS append continuously, half
to INBOX and half to Sent, each recording the APPENDUID (UIDVALIDITY, UID)
of every APPEND whose tagged OK arrived; postinod is SIGKILLed at a random
point and restarted, three times over. After each kill the database is
checked as above and every acknowledged message must still sit, exactly
once, at the UID its APPENDUID named under the same UIDVALIDITY. After each
restart an IMAP client must see the same UID -> message map (UID FETCH),
find sampled messages by UID SEARCH HEADER Message-ID, and STATUS UIDNEXT
past every UID; a new APPEND lands above all earlier UIDs. curl, a second
kind of client (password in a netrc file, not argv), lists the same UIDs.
"""
import imaplib
import os
import poplib
import random
import re
import shutil
import signal
import smtplib
import socket
import sqlite3
import subprocess
import threading
import time
from contextlib import closing

import harness
from harness import (IO_TIMEOUT, MODULES_DIR, VERSION, tls_client_context)

SMTP_SO = os.path.join(MODULES_DIR, "smtp.so")
POP3_SO = os.path.join(MODULES_DIR, "pop3.so")
IMAP_SO = os.path.join(MODULES_DIR, "imap.so")
HOST = "mail.example.test"
BOB = "bob@example.test"
PASSWORD = "Bob-Secret-0815"
SENDERS = 10
ROUNDS = 3
KILL_AFTER = (150, 400)     # acknowledged deliveries before a kill
MARKER_RE = re.compile(rb"Message-ID: <(crash-[0-9]+-[0-9]+-[0-9]+)@test>")
APPENDERS = 8
APPEND_BOXES = ("INBOX", "Sent")
APPEND_KILL_AFTER = (60, 180)    # acknowledged APPENDs before a kill
APPENDUID_RE = re.compile(rb"^\[APPENDUID ([0-9]+) ([0-9]+)\] ")
FETCH_UID_RE = re.compile(rb"^[0-9]+ \(UID ([0-9]+) ")


def message(marker):
    return (f"From: <sender@example.org>\r\nTo: <{BOB}>\r\n"
            f"Subject: {marker}\r\nMessage-ID: <{marker}@test>\r\n\r\n"
            f"body of {marker}\r\n.leading dot\r\n").encode()


class Sender(threading.Thread):
    """Delivers messages on one SMTP connection until told to stop or the
    server goes away. acked: markers whose 250 arrived; tried: markers
    whose DATA was sent (so they may be stored even without a 250)."""

    def __init__(self, where, round_no, index, counter):
        super().__init__(daemon=True)
        self.where = where
        self.round_no = round_no
        self.index = index
        self.counter = counter
        self.acked = []
        self.tried = []
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            s = smtplib.SMTP(self.where[0], self.where[1],
                             local_hostname="client.example.org",
                             timeout=IO_TIMEOUT)
        except OSError as e:
            self.error = e
            return
        try:
            n = 0
            while not self.stop.is_set():
                marker = f"crash-{self.round_no}-{self.index}-{n}"
                n += 1
                self.tried.append(marker)
                refused = s.sendmail("sender@example.org", [BOB],
                                     message(marker))
                if refused:
                    self.error = AssertionError(f"refused: {refused}")
                    return
                self.acked.append(marker)
                self.counter.add()
        except (smtplib.SMTPException, OSError):
            pass    # the kill: what was acknowledged is recorded
        finally:
            try:
                s.close()
            except OSError:
                pass


class Appender(threading.Thread):
    """APPENDs messages to one mailbox on one IMAPS session until told to
    stop or the server goes away. acked: (marker, uidvalidity, uid) of each
    APPEND whose tagged OK arrived; tried: every marker sent, stored or
    not. ready is set once logged in."""

    def __init__(self, where, mailbox, round_no, index, counter):
        super().__init__(daemon=True)
        self.where = where
        self.mailbox = mailbox
        self.round_no = round_no
        self.index = index
        self.counter = counter
        self.acked = []
        self.tried = []
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            m = imaplib.IMAP4_SSL(self.where[0], self.where[1],
                                  ssl_context=tls_client_context(),
                                  timeout=IO_TIMEOUT)
            # imaplib sends the literal and its closing CRLF apart; with
            # Nagle the CRLF waits for the server's delayed ACK.
            m.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            m.login(BOB, PASSWORD)
        except (imaplib.IMAP4.error, OSError) as e:
            self.error = e
            return
        self.ready.set()
        try:
            n = 0
            while not self.stop.is_set():
                marker = f"crash-{self.round_no}-{self.index}-{n}"
                n += 1
                self.tried.append(marker)
                typ, data = m.append(self.mailbox, None, None,
                                     message(marker))
                got = APPENDUID_RE.match(data[0]) if typ == "OK" else None
                if got is None:
                    self.error = AssertionError(f"APPEND: {typ} {data}")
                    return
                self.acked.append((marker, int(got.group(1)),
                                   int(got.group(2))))
                self.counter.add()
        except (imaplib.IMAP4.abort, OSError):
            pass    # the kill: what was acknowledged is recorded
        except imaplib.IMAP4.error as e:
            self.error = e
        finally:
            try:
                m.shutdown()
            except OSError:
                pass


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.value = 0

    def add(self):
        with self.lock:
            self.value += 1


class CrashTest(harness.CertTestCase):

    cert_host = HOST
    modules = (SMTP_SO, POP3_SO, IMAP_SO)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        seed = os.environ.get("POSTINO_CRASH_SEED")
        cls.seed = int(seed) if seed else random.randrange(1 << 30)
        print(f"test_crash: POSTINO_CRASH_SEED={cls.seed}", flush=True)

    def setUp(self):
        super().setUp()
        self.rng = random.Random(self.seed)
        env = self.env
        parking = (f"\n[queue]\nrelayhost = 127.0.0.1:{harness.free_port()}\n"
                   "poll_interval = 1h\nretry_min = 1h\nretry_max = 1h\n")
        env.write_config(modules_dir=MODULES_DIR,
                         extra=harness.tls_section(*self.cert) + parking)
        text, self.where = harness.listener_sections([
            {"name": "mx", "protocol": "smtp", "tls": "starttls"}])
        env.write_module("smtp", extra=text)
        text, where = harness.listener_sections([
            {"name": "pop3s", "protocol": "pop3", "tls": "implicit"}])
        self.where.update(where)
        env.write_module("pop3", extra=text)
        text, where = harness.listener_sections([
            {"name": "imaps", "protocol": "imap", "tls": "implicit"}])
        self.where.update(where)
        env.write_module("imap", extra=text)
        env.init()
        env.cli_ok("domain", "add", "example.test")
        env.add_user(BOB, PASSWORD)
        self.d = None

    # -- the server

    def start(self):
        self.d = self.env.start()
        return self.d

    def sigkill(self):
        self.d.proc.send_signal(signal.SIGKILL)
        self.d.proc.wait(timeout=harness.STOP_TIMEOUT)
        self.assertEqual(self.d.proc.returncode, -signal.SIGKILL)
        self.assertIsNone(harness.sanitizer_report(self.d.log()),
                          self.d.log())

    # -- the database, read only, while the server is down or running

    def ro(self):
        return closing(sqlite3.connect(
            f"file:{self.env.db_path}?mode=ro", uri=True, timeout=30))

    def check_database(self):
        """integrity_check, refcounts, UID order; returns ({marker: count},
        uidnext) of BOB's INBOX."""
        self.check_store()
        _, uidnext, rows = self.mailbox_state("INBOX")
        counts = {}
        for _, marker in rows:
            counts[marker] = counts.get(marker, 0) + 1
        return counts, uidnext

    def check_store(self):
        """integrity_check, foreign keys, blob reference counts, the
        counts STATUS reads from each mailbox's row."""
        with self.ro() as db:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(),
                             [("ok",)])
            self.assertEqual(db.execute("PRAGMA foreign_key_check")
                             .fetchall(), [])
            bad = db.execute(
                "SELECT b.id, b.refcount,"
                " (SELECT COUNT(*) FROM messages m WHERE m.blob = b.id) +"
                " (SELECT COUNT(*) FROM queue q WHERE q.blob = b.id) AS refs"
                " FROM blobs b WHERE b.refcount != refs").fetchall()
            self.assertEqual(bad, [], "blob refcounts off after the kill")
            bad = db.execute(
                "SELECT b.id, b.message_count, b.unseen_count FROM"
                " mailboxes b WHERE b.message_count !="
                " (SELECT COUNT(*) FROM messages m WHERE m.mailbox = b.id)"
                " OR b.unseen_count != (SELECT COUNT(*) FROM messages m"
                " WHERE m.mailbox = b.id AND (m.flags & 1) = 0)").fetchall()
            self.assertEqual(bad, [], "mailbox counts off after the kill")

    def mailbox_state(self, mailbox):
        """(uidvalidity, uidnext, [(uid, marker)] in insertion order) of
        one of BOB's mailboxes; UIDs must ascend and stay below uidnext."""
        with self.ro() as db:
            (box, uidvalidity, uidnext), = db.execute(
                "SELECT x.id, x.uidvalidity, x.uidnext FROM mailboxes x"
                " JOIN accounts a ON a.id = x.account"
                " WHERE a.address = ? AND x.name = ?", (BOB, mailbox))
            rows = db.execute(
                "SELECT m.uid, b.data FROM messages m"
                " JOIN blobs b ON b.id = m.blob WHERE m.mailbox = ?"
                " ORDER BY m.id", (box,)).fetchall()
        uids = [uid for uid, _ in rows]
        self.assertEqual(uids, sorted(set(uids)), "UIDs not ascending")
        if uids:
            self.assertGreater(uidnext, uids[-1])
        result = []
        for uid, data in rows:
            m = MARKER_RE.search(data)
            self.assertIsNotNone(m, data[:300])
            result.append((uid, m.group(1).decode()))
        return uidvalidity, uidnext, result

    def assert_delivered(self, counts, acked, tried):
        missing = [m for m in acked if counts.get(m, 0) != 1]
        self.assertEqual(missing, [], "acknowledged messages not stored "
                         "exactly once: " + repr(
                             [(m, counts.get(m, 0)) for m in missing[:10]]))
        extra = [m for m, n in counts.items() if n != 1 or m not in tried]
        self.assertEqual(extra, [], "messages stored twice or never sent")

    # -- load

    def load_and_kill(self, round_no):
        counter = Counter()
        senders = [Sender(self.where["mx"], round_no, i, counter)
                   for i in range(SENDERS)]
        target = self.rng.randint(*KILL_AFTER)
        for s in senders:
            s.start()
        deadline = time.monotonic() + 60
        while counter.value < target:
            alive = [s for s in senders if s.is_alive()]
            if not alive or time.monotonic() > deadline:
                errors = [s.error for s in senders if s.error]
                self.fail(f"only {counter.value} deliveries of {target}; "
                          f"errors: {errors}; log:\n{self.d.log()[-2000:]}")
            time.sleep(0.005)
        self.sigkill()
        for s in senders:
            s.join(timeout=IO_TIMEOUT + 5)
            self.assertFalse(s.is_alive(), "a sender hangs after the kill")
        errors = [s.error for s in senders if s.error]
        self.assertEqual(errors, [])
        acked = [m for s in senders for m in s.acked]
        tried = [m for s in senders for m in s.tried]
        self.assertGreaterEqual(len(acked), target)
        return acked, tried

    def pop3_markers(self):
        p = poplib.POP3_SSL(*self.where["pop3s"], timeout=IO_TIMEOUT,
                            context=tls_client_context())
        self.addCleanup(p.close)
        p.user(BOB)
        p.pass_(PASSWORD)
        count, _ = p.stat()
        markers = []
        for i in range(1, count + 1):
            _, lines, _ = p.retr(i)
            m = MARKER_RE.search(b"\r\n".join(lines))
            self.assertIsNotNone(m)
            markers.append(m.group(1).decode())
        p.quit()
        return markers

    # -- tests

    def test_smtp_sigkill_loses_no_acknowledged_message(self):
        acked, tried = [], []
        self.start()
        for round_no in range(ROUNDS):
            a, t = self.load_and_kill(round_no)
            acked += a
            tried += t
            counts, _ = self.check_database()
            self.assert_delivered(counts, acked, tried)
            self.start()
        # Every acknowledged message, exactly once, as a client sees it.
        seen = self.pop3_markers()
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(sorted(set(acked) - set(seen)), [])
        # UIDs stay valid: the next delivery goes above every earlier one.
        counts, uidnext = self.check_database()
        with smtplib.SMTP(*self.where["mx"], timeout=IO_TIMEOUT) as s:
            self.assertEqual(s.sendmail("sender@example.org", [BOB],
                                        message("crash-9-0-0")), {})
        with self.ro() as db:
            uids = [uid for uid, data in db.execute(
                "SELECT m.uid, b.data FROM messages m"
                " JOIN blobs b ON b.id = m.blob") if b"<crash-9-0-0@" in data]
        self.assertEqual(len(uids), 1)
        self.assertGreaterEqual(uids[0], uidnext)
        self.d.stop()
        print(f"test_crash: {len(acked)} acknowledged in {ROUNDS} kills",
              flush=True)

    # -- IMAP APPEND

    def append_and_kill(self, round_no):
        """Runs the appenders, SIGKILLs postinod after a random number of
        acknowledged APPENDs. Returns ([(mailbox, marker, uidvalidity,
        uid)] acknowledged, {(mailbox, marker)} tried)."""
        counter = Counter()
        appenders = [Appender(self.where["imaps"],
                              APPEND_BOXES[i % len(APPEND_BOXES)],
                              round_no, i, counter)
                     for i in range(APPENDERS)]
        target = self.rng.randint(*APPEND_KILL_AFTER)
        for a in appenders:
            a.start()
        deadline = time.monotonic() + 60

        def wait(done, what):
            while not done():
                if (any(a.error for a in appenders) or
                        not any(a.is_alive() for a in appenders) or
                        time.monotonic() > deadline):
                    errors = [a.error for a in appenders if a.error]
                    self.fail(f"{what}; errors: {errors}; log:\n"
                              f"{self.d.log()[-2000:]}")
                time.sleep(0.005)

        # Every session logs in before the count starts, so the kill meets
        # APPENDs in flight, not handshakes.
        wait(lambda: all(a.ready.is_set() for a in appenders),
             "not every appender logged in")
        wait(lambda: counter.value >= target,
             f"only {counter.value} APPENDs of {target}")
        self.sigkill()
        for a in appenders:
            a.join(timeout=IO_TIMEOUT + 5)
            self.assertFalse(a.is_alive(), "an appender hangs after the kill")
        self.assertEqual([a.error for a in appenders if a.error], [])
        acked = [(a.mailbox,) + x for a in appenders for x in a.acked]
        tried = {(a.mailbox, m) for a in appenders for m in a.tried}
        self.assertGreaterEqual(len(acked), target)
        return acked, tried

    def check_appended(self, acked, tried, validity):
        """With postinod down: every acknowledged APPEND is stored once, at
        the UID its APPENDUID named, under an unchanged UIDVALIDITY. Returns
        {mailbox: [(uid, marker)]}."""
        self.check_store()
        stored = {}
        for box in APPEND_BOXES:
            v, _, rows = self.mailbox_state(box)
            self.assertEqual(v, validity[box], f"{box}: UIDVALIDITY changed")
            mine = [a for a in acked if a[0] == box]
            counts = {}
            for _, marker in rows:
                counts[marker] = counts.get(marker, 0) + 1
            self.assert_delivered(counts, [a[1] for a in mine],
                                  {m for b, m in tried if b == box})
            by_uid = dict(rows)
            wrong = [a for a in mine
                     if a[2] != v or by_uid.get(a[3]) != a[1]]
            self.assertEqual(wrong, [], f"{box}: an APPENDUID no longer "
                             "names its message")
            stored[box] = rows
        return stored

    def imaps(self):
        m = imaplib.IMAP4_SSL(*self.where["imaps"],
                              ssl_context=tls_client_context(),
                              timeout=IO_TIMEOUT)
        self.addCleanup(self._close, m)
        self.assertEqual(m.login(BOB, PASSWORD)[0], "OK")
        return m

    @staticmethod
    def _close(m):
        try:
            m.shutdown()
        except OSError:
            pass    # already logged out

    def imap_view(self, m, box):
        """(UIDVALIDITY, UIDNEXT, [(uid, marker)]) as an IMAP client sees
        a mailbox: STATUS, then UID FETCH of every Message-ID."""
        typ, data = m.status(box, "(UIDNEXT UIDVALIDITY)")
        self.assertEqual(typ, "OK")
        got = re.fullmatch(rf"{box} \(UIDNEXT ([0-9]+) UIDVALIDITY "
                           r"([0-9]+)\)".encode(), data[0])
        self.assertIsNotNone(got, data)
        self.assertEqual(m.select(box, readonly=True)[0], "OK")
        typ, data = m.uid("FETCH", "1:*",
                          "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        self.assertEqual(typ, "OK")
        view = []
        for item in data:
            if not isinstance(item, tuple):
                continue    # the closing ")" or None for an empty mailbox
            uid = FETCH_UID_RE.match(item[0])
            marker = MARKER_RE.search(item[1])
            self.assertIsNotNone(uid, item)
            self.assertIsNotNone(marker, item)
            view.append((int(uid.group(1)), marker.group(1).decode()))
        return int(got.group(2)), int(got.group(1)), view

    def check_imap(self, acked, stored, validity):
        """With postinod restarted: an IMAP client sees what is stored."""
        m = self.imaps()
        for box in APPEND_BOXES:
            v, uidnext, view = self.imap_view(m, box)
            self.assertEqual(v, validity[box])
            self.assertEqual(view, stored[box])
            if view:
                self.assertGreater(uidnext, view[-1][0])
            mine = [a for a in acked if a[0] == box]
            for _, marker, _, uid in self.rng.sample(mine, min(3, len(mine))):
                typ, data = m.uid("SEARCH", "HEADER", "Message-ID",
                                  f'"<{marker}@test>"')
                self.assertEqual((typ, data), ("OK", [str(uid).encode()]))
        m.logout()

    def curl(self, path, command=None):
        """A second kind of client: curl over IMAPS, the password in a
        netrc file. Returns its output: the untagged replies to command,
        or the message a ;UID= path names."""
        curl = shutil.which("curl")
        self.assertIsNotNone(curl, "curl not installed (Makefile DEPS)")
        netrc = self.env.path("netrc")
        if not os.path.exists(netrc):
            fd = os.open(netrc, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"machine 127.0.0.1 login {BOB} "
                        f"password {PASSWORD}\n")
        host, port = self.where["imaps"]
        out = subprocess.run(
            [curl, "-sS", "--ssl-reqd", "-k", "--netrc-file", netrc,
             "--max-time", str(int(IO_TIMEOUT))] +
            (["-X", command] if command else []) +
            [f"imaps://{host}:{port}/{path}"],
            capture_output=True, timeout=IO_TIMEOUT + 10,
            env=harness.base_env())
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def test_imap_append_sigkill_keeps_acknowledged_uids(self):
        self.start()
        validity = {box: self.mailbox_state(box)[0] for box in APPEND_BOXES}
        acked, tried = [], set()
        for round_no in range(ROUNDS):
            a, t = self.append_and_kill(20 + round_no)
            acked += a
            tried |= t
            stored = self.check_appended(acked, tried, validity)
            self.start()
            self.check_imap(acked, stored, validity)
        # UIDs stay valid: a new APPEND goes above every earlier UID.
        m = self.imaps()
        for i, box in enumerate(APPEND_BOXES):
            _, uidnext, rows = self.mailbox_state(box)
            marker = f"crash-29-0-{i}"
            typ, data = m.append(box, None, None, message(marker))
            got = APPENDUID_RE.match(data[0]) if typ == "OK" else None
            self.assertIsNotNone(got, (typ, data))
            self.assertEqual(int(got.group(1)), validity[box])
            uid = int(got.group(2))
            self.assertGreaterEqual(uid, uidnext)
            self.assertGreater(uid, max(u for u, _ in rows))
            self.assertEqual(self.mailbox_state(box)[2][-1], (uid, marker))
            # curl sees the same UIDs and finds the new message by its UID.
            out = self.curl(box, "UID SEARCH ALL")
            got = re.fullmatch(rb"\* SEARCH((?: [0-9]+)*)\r\n", out)
            self.assertIsNotNone(got, out)
            self.assertEqual([int(u) for u in got.group(1).split()],
                             [u for u, _ in rows] + [uid])
            self.assertEqual(self.curl(f"{box};UID={uid}"), message(marker))
        m.logout()
        self.d.stop()
        self.assertNotIn(PASSWORD, self.env.all_output())
        print(f"test_crash: {len(acked)} APPENDs acknowledged in {ROUNDS} "
              "kills", flush=True)

    def deliver(self, n):
        with smtplib.SMTP(*self.where["mx"], timeout=IO_TIMEOUT) as s:
            for i in range(n):
                self.assertEqual(s.sendmail("sender@example.org", [BOB],
                                            message(f"crash-7-0-{i}")), {})

    def pop3_dele(self, numbers):
        p = poplib.POP3_SSL(*self.where["pop3s"], timeout=IO_TIMEOUT,
                            context=tls_client_context())
        self.addCleanup(p.close)
        p.user(BOB)
        p.pass_(PASSWORD)
        self.assertEqual(p.stat()[0], 5)
        for n in numbers:
            self.assertTrue(p.dele(n).startswith(b"+OK"))
        return p

    def inbox(self):
        counts, _ = self.check_database()
        return sorted(counts)

    def test_pop3_kill_after_quit_ok_keeps_the_deletions(self):
        self.start()
        self.deliver(5)
        before = self.inbox()
        p = self.pop3_dele([1, 3, 4])
        self.assertEqual(p.quit(),
                         b"+OK Postino POP3 signing off (3 messages deleted)")
        self.sigkill()
        after = self.inbox()
        self.assertEqual(after, [before[1], before[4]])
        self.start()
        self.assertEqual(sorted(self.pop3_markers()), after)
        self.d.stop()

    def test_pop3_kill_before_quit_deletes_nothing(self):
        self.start()
        self.deliver(5)
        before = self.inbox()
        p = self.pop3_dele([1, 2, 5])
        # The DELEs were answered; NOOP proves the session is idle.
        self.assertEqual(p.noop(), b"+OK")
        self.sigkill()
        self.assertEqual(self.inbox(), before)
        self.start()
        # Not left locked ([IN-USE]) and nothing gone.
        self.assertEqual(sorted(self.pop3_markers()), before)
        self.d.stop()


if __name__ == "__main__":
    import unittest
    unittest.main()
