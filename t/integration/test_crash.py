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

IMAP APPEND under SIGKILL: to be added with imap.so (same pattern: record
the tags whose OK arrived, kill, restart, check each is stored once).
"""
import os
import poplib
import random
import re
import shutil
import signal
import smtplib
import sqlite3
import tempfile
import threading
import time
from contextlib import closing

import harness
from harness import (IO_TIMEOUT, MODULES_DIR, VERSION, make_cert,
                     tls_client_context)

SMTP_SO = os.path.join(MODULES_DIR, "smtp.so")
POP3_SO = os.path.join(MODULES_DIR, "pop3.so")
HOST = "mail.example.test"
BOB = "bob@example.test"
PASSWORD = "Bob-Secret-0815"
SENDERS = 10
ROUNDS = 3
KILL_AFTER = (150, 400)     # acknowledged deliveries before a kill
MARKER_RE = re.compile(rb"Message-ID: <(crash-[0-9]+-[0-9]+-[0-9]+)@test>")


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


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.value = 0

    def add(self):
        with self.lock:
            self.value += 1


class CrashTest(harness.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certdir = tempfile.mkdtemp(prefix="postino-crash-certs-")
        cls.cert = make_cert(cls.certdir, "mail", HOST, [HOST])
        seed = os.environ.get("POSTINO_CRASH_SEED")
        cls.seed = int(seed) if seed else random.randrange(1 << 30)
        print(f"test_crash: POSTINO_CRASH_SEED={cls.seed}", flush=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certdir, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        for so in (SMTP_SO, POP3_SO):
            if not os.path.exists(so):
                self.fail(f"{so} not built")
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
        """integrity_check, refcounts, UID order; returns {marker: count}
        of BOB's INBOX."""
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
            (box, uidnext), = db.execute(
                "SELECT x.id, x.uidnext FROM mailboxes x"
                " JOIN accounts a ON a.id = x.account"
                " WHERE a.address = ? AND x.name = 'INBOX'", (BOB,))
            rows = db.execute(
                "SELECT m.uid, b.data FROM messages m"
                " JOIN blobs b ON b.id = m.blob WHERE m.mailbox = ?"
                " ORDER BY m.id", (box,)).fetchall()
        uids = [uid for uid, _ in rows]
        self.assertEqual(uids, sorted(set(uids)), "UIDs not ascending")
        if uids:
            self.assertGreater(uidnext, uids[-1])
        counts = {}
        for _, data in rows:
            m = MARKER_RE.search(data)
            self.assertIsNotNone(m, data[:300])
            marker = m.group(1).decode()
            counts[marker] = counts.get(marker, 0) + 1
        return counts, uidnext

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
