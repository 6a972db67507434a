"""Several workers (loop threads) in one postinod, and what crosses them:
mailbox changes, the POP3 lock, connection limits, certificates on
SIGHUP, the send limit and login throttling. Every server here runs
[server] workers = 2 whatever POSTINO_TEST_WORKERS says.

Worker 0 accepts and hands each connection to the worker serving the
fewest (in turn among equals), and the worker that takes it logs its
"connect" line with w=N: each test reads from the log where each of its
connections landed and asserts it has one on each worker before it
checks anything. Every wait is bounded; nothing is timed. IDLE's own
poll for changes made by other processes comes every 30 s, longer than
any wait here, so a change seen in IDLE was told across workers.
"""
import base64
import os
import poplib
import re
import shutil
import smtplib
import socket
import ssl
import unittest

import harness
from harness import (IO_TIMEOUT, MODULES_DIR, LineClient, make_cert,
                     tls_client_context)

harness.TEST_WORKERS = "2"

HOST = "mail.example.test"
HELO = "client.example.test"
ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORDS = {ALICE: "Alice-Secret-4711", BOB: "Bob-Secret-0815"}
SOS = [os.path.join(MODULES_DIR, n + ".so")
       for n in ("smtp", "pop3", "imap", "ratelimit")]
# Shorter than IDLE's 30 s poll.
NEWS_TIMEOUT = 20.0
IN_USE = "-ERR [IN-USE] Maildrop already locked"
TEMPFAIL = "454 4.7.0 Temporary authentication failure"
LIMIT_RE = re.compile(r"^450 4\.7\.1 Sending limit of 5 messages per hour "
                      r"exceeded; try again after \d\d:\d\d$")


def message(subject):
    return (f"From: <{ALICE}>\r\nTo: <{BOB}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@test>\r\n\r\nHello.\r\n").encode()


def remote(i):
    return f"r{i}@remote.test"


def local_port(sock):
    return sock.getsockname()[1]


def auth_plain(user, password):
    """AUTH PLAIN's argument (smtplib's login() would try a second
    mechanism after a failure)."""
    return "PLAIN " + base64.b64encode(
        f"\0{user}\0{password}".encode()).decode()


class ImapClient(LineClient):
    """A raw IMAP client: tagged commands, untagged lines collected."""

    n = 0

    def command(self, text):
        ImapClient.n += 1
        tag = f"t{ImapClient.n}"
        self.send(f"{tag} {text}\r\n")
        untagged = []
        while True:
            line = self.readline()
            if line.startswith(tag + " "):
                return untagged, line[len(tag) + 1:]
            untagged.append(line)

    def ok(self, text):
        untagged, tagged = self.command(text)
        self.tc.assertTrue(tagged.startswith("OK"), f"{text}: {tagged}")
        return untagged


class WorkersCase(harness.CertTestCase):

    cert_host = HOST
    modules = SOS

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cert2 = make_cert(cls.certdir, "mail2", "renewed." + HOST,
                              ["renewed." + HOST])

    def setUp(self):
        super().setUp()
        self.where = {}
        self.d = None

    def config(self, cert=None, imaps=None, ratelimit=None):
        env = self.env
        parking = (f"\n[queue]\nrelayhost = 127.0.0.1:{harness.free_port()}\n"
                   "poll_interval = 1h\nretry_min = 1h\nretry_max = 1h\n")
        env.write_config(modules_dir=MODULES_DIR,
                         extra=harness.tls_section(*(cert or self.cert))
                         + parking)
        imaps_spec = {"name": "imaps", "protocol": "imap", "tls": "implicit"}
        imaps_spec.update(imaps or {})
        ports = dict(self.where)  # a rewrite for a reload keeps them
        for mod, listeners, settings in (
                ("smtp", [{"name": "submission", "protocol": "submission",
                           "tls": "starttls"}], None),
                ("pop3", [{"name": "pop3s", "protocol": "pop3",
                           "tls": "implicit"}], None),
                ("imap", [imaps_spec], None),
                ("ratelimit", [], ratelimit)):
            if ports:
                listeners = [dict(l, port=ports[l["name"]][1])
                             for l in listeners]
            text, where = harness.listener_sections(listeners)
            self.where.update(where)
            env.write_module(mod, settings, extra=text)

    def serve(self, **kw):
        self.config(**kw)
        env = self.env
        env.init()
        env.cli_ok("domain", "add", "example.test")
        for user in (ALICE, BOB):
            env.add_user(user, PASSWORDS[user])
        self.d = env.start()
        return self.d

    def stop(self):
        self.d.stop()
        everything = self.env.all_output()
        for password in PASSWORDS.values():
            self.assertNotIn(password, everything, "a password was logged")

    def worker_of(self, port):
        """The worker whose connect line names client port port."""
        line = self.d.wait_for(
            rf"info net w=(\d+) sid=\w+: connect listener=\S+ "
            rf"client=127\.0\.0\.1:{port}$", regex=True)
        return int(re.search(r" w=(\d+) ", line).group(1))

    def assert_spread(self, *ports):
        """The connections of ports landed on both workers."""
        workers = {self.worker_of(p) for p in ports}
        self.assertEqual(workers, {0, 1}, f"ports {ports}: {workers}")

    # -- clients

    def imap(self, user=BOB):
        c = ImapClient(self, self.where["imaps"], implicit_tls=True,
                       server_hostname=HOST)
        greeting = c.readline()
        self.assertTrue(greeting.startswith("* OK"), greeting)
        c.ok(f"LOGIN {user} {PASSWORDS[user]}")
        return c

    def submission(self, user=ALICE):
        s = smtplib.SMTP(*self.where["submission"], local_hostname=HELO,
                         timeout=IO_TIMEOUT)
        self.addCleanup(s.close)
        s.starttls(context=tls_client_context())
        s.ehlo()
        s.login(user, PASSWORDS[user])
        return s

    def pop3(self):
        p = poplib.POP3_SSL(*self.where["pop3s"], context=tls_client_context(),
                            timeout=IO_TIMEOUT)
        self.addCleanup(p.close)
        return p

    def news(self, c, want):
        """Untagged lines from an idling client until one matching want
        (a regex); returns them all."""
        lines = []
        while True:
            line = c.readline(timeout=NEWS_TIMEOUT)
            lines.append(line)
            if re.match(want, line):
                return lines


class Mailboxes(WorkersCase):

    def test_idle_sees_deliveries_and_expunges_of_the_other_worker(self):
        self.serve()
        c = self.imap()
        c.ok("SELECT INBOX")
        c.send("idle IDLE\r\n")
        self.assertEqual(c.readline(), "+ idling")
        s = self.submission()
        self.assert_spread(local_port(c.sock), local_port(s.sock))
        # Each delivery, committed on the other worker, shows once.
        s.sendmail(ALICE, [BOB], message("one"))
        lines = self.news(c, r"^\* 1 EXISTS$")
        s.sendmail(ALICE, [BOB], message("two"))
        lines += self.news(c, r"^\* 2 EXISTS$")
        s.quit()
        c.send("DONE\r\n")
        while True:
            line = c.readline()
            if line.startswith("idle "):
                break
            lines.append(line)
        self.assertEqual(line, "idle OK Idle completed")
        self.assertEqual([l for l in lines if l.endswith("EXISTS")],
                         ["* 1 EXISTS", "* 2 EXISTS"], lines)
        untagged = c.ok("NOOP")
        self.assertFalse([l for l in untagged if "EXISTS" in l], untagged)
        # An expunge made on the other worker, told once.
        c.send("idle2 IDLE\r\n")
        self.assertEqual(c.readline(), "+ idling")
        e = self.imap()
        self.assert_spread(local_port(c.sock), local_port(e.sock))
        e.ok("SELECT INBOX")
        e.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        e.ok("EXPUNGE")
        lines = self.news(c, r"^\* 1 EXPUNGE$")
        c.send("DONE\r\n")
        while True:
            line = c.readline()
            if line.startswith("idle2 "):
                break
            lines.append(line)
        self.assertEqual([l for l in lines if "EXPUNGE" in l],
                         ["* 1 EXPUNGE"], lines)
        untagged = c.ok("NOOP")
        self.assertFalse([l for l in untagged if "EXPUNGE" in l or
                          "EXISTS" in l], untagged)
        e.ok("LOGOUT")
        c.ok("LOGOUT")
        self.stop()

    def test_recent_goes_to_one_session_of_the_node(self):
        """Two read-write sessions of one mailbox on two workers: a new
        message is \\Recent in exactly one of them (RFC 3501 2.3.2)."""
        self.serve()
        a, b = self.imap(), self.imap()
        self.assert_spread(local_port(a.sock), local_port(b.sock))
        for c in (a, b):
            c.ok("SELECT INBOX")
            c.send("idle IDLE\r\n")
            self.assertEqual(c.readline(), "+ idling")
        s = self.submission()
        s.sendmail(ALICE, [BOB], message("recent"))
        s.quit()
        recent = 0
        for c in (a, b):
            lines = self.news(c, r"^\* 1 EXISTS$")
            c.send("DONE\r\n")
            while True:
                line = c.readline()
                if line.startswith("idle "):
                    break
                lines.append(line)
            untagged = c.ok("FETCH 1 (FLAGS)")
            recent += len([l for l in untagged if "\\Recent" in l])
        self.assertEqual(recent, 1)
        for c in (a, b):
            c.ok("LOGOUT")
        self.stop()

    def test_pop3_lock_holds_across_workers(self):
        self.serve()
        first = self.pop3()
        first.user(BOB)
        first.pass_(PASSWORDS[BOB])
        second = self.pop3()
        self.assert_spread(local_port(first.sock), local_port(second.sock))
        second.user(BOB)
        with self.assertRaises(poplib.error_proto) as caught:
            second.pass_(PASSWORDS[BOB])
        self.assertEqual(caught.exception.args[0].decode(), IN_USE)
        first.quit()
        # Released: the next session, on either worker, gets it.
        third = self.pop3()
        third.user(BOB)
        self.assertTrue(third.pass_(PASSWORDS[BOB]).startswith(b"+OK"))
        third.quit()
        self.stop()


class Limits(WorkersCase):

    def connect_imaps(self):
        """An implicit-TLS connection; its greeting, or None when the
        server closed it."""
        raw = socket.create_connection(self.where["imaps"],
                                       timeout=IO_TIMEOUT)
        self.addCleanup(raw.close)
        port = local_port(raw)
        try:
            sock = tls_client_context().wrap_socket(raw,
                                                    server_hostname=HOST)
            self.addCleanup(sock.close)
            data = sock.recv(1024)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            data = b""
        return port, data.decode(errors="replace") or None

    def test_per_ip_limit_is_the_nodes(self):
        self.serve(imaps={"max_connections_per_ip": 2})
        a, greeting_a = self.connect_imaps()
        b, greeting_b = self.connect_imaps()
        self.assertTrue(greeting_a.startswith("* OK"), greeting_a)
        self.assertTrue(greeting_b.startswith("* OK"), greeting_b)
        self.assert_spread(a, b)
        # Worker 0 and worker 1 hold one each: the third is refused on
        # whichever it lands.
        since = self.d.mark()
        c, greeting_c = self.connect_imaps()
        self.assertIsNone(greeting_c)
        self.d.wait_for(f"client=127.0.0.1:{c}", since=since)
        self.d.wait_for("refused client=127.0.0.1 listener=imaps: "
                        "127.0.0.1 holds max_connections_per_ip 2",
                        since=since)
        self.stop()

    def test_sighup_certificate_reaches_every_worker(self):
        self.serve()
        with open(self.cert2[0]) as f:
            renewed = ssl.PEM_cert_to_DER_cert(f.read())
        self.config(cert=self.cert2)
        self.d.reload()
        # Two connections at once land on both workers; both are served
        # the new certificate.
        first = LineClient(self, self.where["imaps"], implicit_tls=True)
        second = LineClient(self, self.where["imaps"], implicit_tls=True)
        self.assert_spread(local_port(first.sock), local_port(second.sock))
        for client in (first, second):
            self.assertEqual(client.sock.getpeercert(binary_form=True),
                             renewed)
            self.assertTrue(client.readline().startswith("* OK"))
        self.stop()


class Policies(WorkersCase):

    def test_send_limit_counts_every_worker(self):
        self.serve(ratelimit={"limit": "5", "window": "1h"})
        a = self.submission()
        b = self.submission()
        self.assert_spread(local_port(a.sock), local_port(b.sock))
        self.assertEqual(a.sendmail(ALICE, [remote(i) for i in range(3)],
                                    message("a")), {})
        self.assertEqual(b.sendmail(ALICE, [remote(i) for i in range(2)],
                                    message("b")), {})
        # 3 + 2: the sixth is refused on both workers.
        for s in (a, b):
            code, _ = s.mail(ALICE)
            self.assertEqual(code, 250)
            code, text = s.rcpt(remote(99))
            self.assertRegex(f"{code} {text.decode()}", LIMIT_RE)
            s.rset()
        a.quit()
        b.quit()
        self.stop()

    def test_login_failures_add_up_across_workers(self):
        self.serve(ratelimit={"ip_failures": "3", "ip_window": "1h",
                              "throttle_delay": "0"})
        ports = []
        # One failure per connection, each connection kept open so the
        # next lands on the other worker.
        for _ in range(3):
            s = self.plain_submission()
            ports.append(local_port(s.sock))
            code, _ = s.docmd("AUTH", auth_plain(ALICE, "wrong password"))
            self.assertEqual(code, 535)
        self.assert_spread(*ports)
        # The right password, on either worker: the address is throttled.
        for _ in range(2):
            s = self.plain_submission()
            ports.append(local_port(s.sock))
            code, text = s.docmd("AUTH", auth_plain(ALICE, PASSWORDS[ALICE]))
            self.assertEqual(f"{code} {text.decode()}", TEMPFAIL)
        self.assert_spread(*ports[3:])
        self.stop()

    def plain_submission(self):
        s = smtplib.SMTP(*self.where["submission"], local_hostname=HELO,
                         timeout=IO_TIMEOUT)
        self.addCleanup(s.close)
        s.starttls(context=tls_client_context())
        s.ehlo()
        return s


class Instances(harness.TestCase):
    """Each worker runs its own instance of every module (init and fini
    once per worker); a POSTINO_TIMER_NODE timer runs on worker 0 only."""

    def test_one_instance_per_worker_node_timer_once(self):
        env = self.env
        env.setup(settings={"tick_ms": "50"})
        d = env.start()
        env.poll(lambda: env.sample_ticks() >= 3, "three ticks")
        log = d.stop()
        finis = re.findall(r"info sample( w=\d+)?: fini ticks=(\d+)$", log,
                           re.M)
        self.assertEqual(len(finis), 2, log)
        ticks = {w.strip(): int(n) for w, n in finis}
        # Worker 0's instance ticked; worker 1's has the timer too, which
        # never fires.
        self.assertGreaterEqual(ticks[""], 3, log)
        self.assertEqual(ticks["w=1"], 0, log)
        self.assertEqual(len(re.findall(r"first tick", log)), 1, log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
