"""spf.so (modules/spf) through SMTP: swaks and raw sockets from 127.0.0.x
client addresses against a postinod with smtp.so and spf.so, whose DNS
answers come from a zone file ([spf] dns_zone), never the network.
Covers pass/fail/softfail/neutral/temperror/permerror (both actions), the
exact 550 text, Received-SPF and Authentication-Results on stored mail,
the HELO identity for the null sender, authenticated submission and the
allow-lists being exempt, a per-check timeout, and the loop serving other
sessions while a check waits on slow DNS."""
import os
import select
import shutil
import socket
import subprocess
import unittest

import harness
from harness import IO_TIMEOUT, MODULES_DIR

HOST = "mail.example.test"
BOB = "bob@example.test"
PASSWORD = "Bob-Secret-0815"
FAIL_550 = ("550 5.7.23 <bob@example.test>: Recipient address rejected: "
            "Failed SPF check")

# Each lookup of a DELAY name waits: a check of slow.test takes 3 s, one of
# slower.test 8 s, against a timeout of 5 s.
ZONE = r"""# written by test_spf.py
pass.test TXT v=spf1 ip4:127.0.0.2 ip6:::1 -all
fail.test TXT v=spf1 ip4:192.0.2.1 -all
soft.test TXT v=spf1 ip4:192.0.2.1 ~all
neutral.test TXT v=spf1 ?all
bad.test TXT v=spf1 ip4:192.0.2.300 -all
loop.test TXT v=spf1 include:loop.test -all
tmp.test TIMEOUT
helo.test TXT v=spf1 a -all
helo.test A 127.0.0.2
friend.test TXT v=spf1 -all
example.test TXT v=spf1 -all
slow.test DELAY 3000
slow.test TXT v=spf1 ip4:127.0.0.2 -all
slower.test DELAY 8000
slower.test TXT v=spf1 ip4:127.0.0.2 -all
"""


class SpfCase(harness.CertTestCase):

    cert_host = HOST
    modules = tuple(os.path.join(MODULES_DIR, so)
                    for so in ("smtp.so", "spf.so"))

    def setUp(self):
        super().setUp()
        self.swaks = shutil.which("swaks")
        self.assertIsNotNone(self.swaks, "swaks is not installed (make "
                             "test installs it)")

    def serve(self, settings=None):
        env = self.env
        parking = (f"\n[queue]\nrelayhost = 127.0.0.1:{harness.free_port()}\n"
                   "poll_interval = 1h\nretry_min = 1h\nretry_max = 1h\n")
        env.write_config(modules_dir=MODULES_DIR,
                         extra=harness.tls_section(*self.cert) + parking)
        text, self.where = harness.listener_sections([
            {"name": "mx", "protocol": "smtp", "tls": "starttls"},
            {"name": "submission", "protocol": "submission",
             "tls": "starttls"}])
        env.write_module("smtp", extra=text)
        spf = {"dns_zone": env.write("zone.txt", ZONE),
               "allow_networks": "127.0.0.5/32",
               "allow_domains": "friend.test",
               "authentication_results": "yes",
               "timeout": "5s"}
        spf.update(settings or {})
        env.write_module("spf", spf)
        env.init()
        env.cli_ok("domain", "add", "example.test")
        env.add_user(BOB, PASSWORD)
        self.d = env.start()
        self.d.wait_for("names=smtp,spf")
        return self.d

    def swaks_run(self, sender, source="127.0.0.2", helo="client.test",
                  extra=(), where="mx"):
        """One swaks transaction; returns {command verb: reply line}."""
        address, port = self.where[where]
        proc = subprocess.run(
            [self.swaks, "--server", address, "--port", str(port),
             "--local-interface", source, "--helo", helo,
             "--from", sender, "--to", BOB, "--timeout", "20",
             "--body", "Hello.", *extra],
            capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        out = proc.stdout.decode(errors="replace")
        replies, last = {}, None
        for line in out.splitlines():
            if line[:3] in (" ->", " ~>"):
                last = line[4:].split(":")[0].split(" ")[0].upper()
            elif line[:3] in ("<- ", "<~ ", "<**", "<~*") and last:
                replies.setdefault(last, line[4:].strip())
        self.assertIn("RCPT", replies, out)
        return replies

    def stored(self):
        return [m.decode(errors="replace")
                for m in self.env.mailbox_messages(BOB)]

    def header(self, message, name):
        """A header's unfolded value."""
        head = message.split("\r\n\r\n", 1)[0].replace("\r\n ", " ")
        head = head.replace("\r\n\t", " ")
        for line in head.split("\r\n"):
            if line.lower().startswith(name.lower() + ":"):
                return line.split(":", 1)[1].strip()
        return None


class Results(SpfCase):

    def test_results_and_replies(self):
        self.serve()
        # pass: accepted, marked.
        r = self.swaks_run("alice@pass.test")
        self.assertTrue(r["RCPT"].startswith("250 "), r)
        msgs = self.stored()
        self.assertEqual(len(msgs), 1)
        self.assertEqual(
            self.header(msgs[0], "Received-SPF"),
            "pass (mail.example.test: domain of alice@pass.test designates "
            "127.0.0.2 as permitted sender) client-ip=127.0.0.2; "
            "envelope-from=\"alice@pass.test\"; helo=\"client.test\"; "
            "receiver=mail.example.test; identity=mailfrom;")
        self.assertEqual(self.header(msgs[0], "Authentication-Results"),
                         "mail.example.test; spf=pass "
                         "smtp.mailfrom=\"alice@pass.test\"")
        # fail: the FAQ's text, exactly.
        r = self.swaks_run("alice@fail.test")
        self.assertEqual(r["RCPT"], FAIL_550)
        self.d.wait_for("spf=fail identity=mailfrom domain=fail.test "
                        "ip=127.0.0.2")
        # softfail: accepted and marked (the default).
        r = self.swaks_run("carol@soft.test")
        self.assertTrue(r["RCPT"].startswith("250 "), r)
        # neutral: accepted.
        r = self.swaks_run("dave@neutral.test")
        self.assertTrue(r["RCPT"].startswith("250 "), r)
        msgs = self.stored()
        self.assertEqual(len(msgs), 3)
        self.assertTrue(self.header(msgs[1], "Received-SPF").startswith(
            "softfail (mail.example.test: domain of transitioning "
            "carol@soft.test does not designate 127.0.0.2"), msgs[1])
        self.assertTrue(self.header(msgs[2], "Received-SPF").startswith(
            "neutral "), msgs[2])
        # temperror: 451 4.4.3, nothing stored.
        r = self.swaks_run("erin@tmp.test")
        self.assertEqual(r["RCPT"], "451 4.4.3 <bob@example.test>: "
                         "Recipient address rejected: Temporary SPF error, "
                         "try again later")
        # permerror (a malformed record, an include loop): rejected by
        # default.
        for sender in ("frank@bad.test", "gina@loop.test"):
            r = self.swaks_run(sender)
            self.assertEqual(r["RCPT"], "550 5.7.24 <bob@example.test>: "
                             "Recipient address rejected: Invalid SPF "
                             "record of the sender domain", sender)
        self.assertEqual(len(self.stored()), 3)
        self.d.stop()

    def test_permerror_mark_and_softfail_defer(self):
        self.serve({"permerror_action": "mark", "softfail_action": "defer",
                    "fail_text": "Recipient address rejected: Failed SPF "
                                 "check, see https://help.example.test/spf",
                    "authentication_results": "no"})
        r = self.swaks_run("frank@bad.test")
        self.assertTrue(r["RCPT"].startswith("250 "), r)
        msgs = self.stored()
        self.assertEqual(len(msgs), 1)
        value = self.header(msgs[0], "Received-SPF")
        self.assertTrue(value.startswith(
            "permerror (mail.example.test: domain of frank@bad.test has an "
            "invalid SPF record)"), value)
        self.assertIn("problem=", value)
        self.assertIsNone(self.header(msgs[0], "Authentication-Results"))
        r = self.swaks_run("carol@soft.test")
        self.assertEqual(r["RCPT"], "451 4.7.24 <bob@example.test>: "
                         "Recipient address rejected: SPF softfail, try "
                         "again later")
        r = self.swaks_run("alice@fail.test")
        self.assertEqual(r["RCPT"], "550 5.7.23 <bob@example.test>: "
                         "Recipient address rejected: Failed SPF check, "
                         "see https://help.example.test/spf")
        self.d.stop()

    def test_null_sender_checks_helo(self):
        self.serve()
        r = self.swaks_run("<>", helo="helo.test")
        self.assertTrue(r["RCPT"].startswith("250 "), r)
        value = self.header(self.stored()[0], "Received-SPF")
        self.assertTrue(value.startswith(
            "pass (mail.example.test: domain of postmaster@helo.test "
            "designates 127.0.0.2"), value)
        self.assertTrue(value.endswith("identity=helo;"), value)
        r = self.swaks_run("<>", helo="helo.test", source="127.0.0.3")
        self.assertEqual(r["RCPT"], FAIL_550)
        self.d.stop()


class Exempt(SpfCase):

    def test_authenticated_and_allow_lists(self):
        self.serve()
        # example.test's record allows nobody: unauthenticated -> 550.
        r = self.swaks_run(BOB)
        self.assertEqual(r["RCPT"], FAIL_550)
        # Authenticated submission is never checked.
        r = self.swaks_run(BOB, where="submission", extra=(
            "--tls", "--auth", "PLAIN", "--auth-user", BOB,
            "--auth-password", PASSWORD))
        self.assertTrue(r["RCPT"].startswith("250 "), r)
        # A client in allow_networks (backup MX) is not checked.
        r = self.swaks_run("alice@fail.test", source="127.0.0.5")
        self.assertTrue(r["RCPT"].startswith("250 "), r)
        # Nor is a sender domain in allow_domains (a forwarder).
        r = self.swaks_run("fwd@friend.test")
        self.assertTrue(r["RCPT"].startswith("250 "), r)
        msgs = self.stored()
        self.assertEqual(len(msgs), 3)
        for m in msgs:
            self.assertIsNone(self.header(m, "Received-SPF"), m)
        self.d.stop()


class SlowDns(SpfCase):

    def open(self, source):
        s = socket.create_connection(self.where["mx"], timeout=IO_TIMEOUT,
                                     source_address=(source, 0))
        self.addCleanup(s.close)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220 "))
        return s, f

    def say(self, s, f, line):
        s.sendall(line.encode() + b"\r\n")
        while True:
            reply = f.readline().decode()
            if reply[3:4] != "-":
                return reply.rstrip("\r\n")

    def test_loop_serves_while_dns_is_slow(self):
        self.serve()
        a, fa = self.open("127.0.0.2")
        self.say(a, fa, "EHLO a.test")
        self.assertTrue(self.say(a, fa, "MAIL FROM:<x@slow.test>")
                        .startswith("250"))
        a.sendall(b"RCPT TO:<bob@example.test>\r\n")
        # While A's check sleeps in its DNS lookup, B is served fully. Had
        # the check blocked the loop, A's reply would have been written
        # before B was even greeted.
        b, fb = self.open("127.0.0.3")
        self.say(b, fb, "EHLO b.test")
        self.assertTrue(self.say(b, fb, "MAIL FROM:<y@pass.test>")
                        .startswith("250"))
        self.assertEqual(self.say(b, fb, "RCPT TO:<bob@example.test>"),
                         FAIL_550)
        self.assertTrue(self.say(b, fb, "QUIT").startswith("221"))
        ready, _, _ = select.select([a], [], [], 0)
        self.assertEqual(ready, [], "A answered before B was served")
        self.assertTrue(fa.readline().startswith(b"250 "))
        # A check past [spf] timeout answers temperror.
        self.assertTrue(self.say(a, fa, "RSET").startswith("250"))
        self.say(a, fa, "MAIL FROM:<x@slower.test>")
        self.assertEqual(self.say(a, fa, "RCPT TO:<bob@example.test>"),
                         "451 4.4.3 <bob@example.test>: Recipient address "
                         "rejected: Temporary SPF error, try again later")
        self.d.wait_for("problem=DNS timeout after 5000 ms")
        self.d.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
