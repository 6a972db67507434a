"""The authentication cache (core/auth/auth_cache.h): a login repeated
with the same password is answered without a second yescrypt run (the
log line says "cached=yes"), and a password changed or an account
disabled by the CLI (another process, which tells the server nothing)
takes effect at the next login all the same. Failures answered from the
cache still count for login throttling. Over IMAP (imaplib, implicit
TLS) and SMTP submission, each test with its own postinod.
"""
import base64
import imaplib
import os
import re
import shutil
import smtplib
import unittest

import harness
from harness import IO_TIMEOUT, MODULES_DIR, tls_client_context

HOST = "mail.example.test"
BOB = "bob@example.test"
PASSWORD = "Bob-Secret-0815"
NEW_PASSWORD = "Bob-Renewed-4711"
SOS = [os.path.join(MODULES_DIR, n + ".so")
       for n in ("smtp", "imap", "ratelimit")]
TEMPFAIL = "454 4.7.0 Temporary authentication failure"


class AuthCache(harness.CertTestCase):

    cert_host = HOST
    modules = SOS

    def serve(self, server=None, ratelimit=None):
        env = self.env
        env.write_config(modules_dir=MODULES_DIR, server=server,
                         extra=harness.tls_section(*self.cert))
        self.where = {}
        for mod, listeners, settings in (
                ("smtp", [{"name": "submission", "protocol": "submission",
                           "tls": "starttls"}], None),
                ("imap", [{"name": "imaps", "protocol": "imap",
                           "tls": "implicit"}], None),
                ("ratelimit", [], ratelimit)):
            text, where = harness.listener_sections(listeners)
            self.where.update(where)
            env.write_module(mod, settings, extra=text)
        env.init()
        env.cli_ok("domain", "add", "example.test")
        env.add_user(BOB, PASSWORD)
        self.d = env.start()

    def stop(self):
        self.d.stop()
        everything = self.env.all_output()
        for password in (PASSWORD, NEW_PASSWORD):
            self.assertNotIn(password, everything, "a password was logged")

    def login(self, password):
        """An IMAP LOGIN: its result ("OK" or "NO") and the log line the
        server wrote for it."""
        since = self.d.mark()
        m = imaplib.IMAP4_SSL(*self.where["imaps"],
                              ssl_context=tls_client_context(),
                              timeout=IO_TIMEOUT)
        try:
            typ, _ = m.login(BOB, password)
        except imaplib.IMAP4.error:
            typ = "NO"
        finally:
            m.shutdown()
        line = self.d.wait_for(f"imap login account={BOB} client=127.0.0.1",
                               since=since)
        return typ, line

    def test_repeated_login_is_cached_until_the_password_changes(self):
        self.serve()
        typ, line = self.login(PASSWORD)
        self.assertEqual(typ, "OK")
        self.assertTrue(line.endswith("result=ok"), line)
        typ, line = self.login(PASSWORD)
        self.assertEqual(typ, "OK")
        self.assertTrue(line.endswith("result=ok cached=yes"), line)
        # A wrong password is kept too (negative entry).
        self.assertEqual(self.login("wrong")[0], "NO")
        typ, line = self.login("wrong")
        self.assertEqual(typ, "NO")
        self.assertTrue(line.endswith("result=failed cached=yes"), line)
        # The CLI sets another password: the old one no longer logs in,
        # the new one does (verified, then cached).
        self.env.cli_ok("user", "passwd", BOB, "--password-stdin",
                        input=NEW_PASSWORD + "\n")
        typ, line = self.login(PASSWORD)
        self.assertEqual(typ, "NO")
        self.assertTrue(line.endswith("result=failed"), line)
        self.assertEqual(self.login(NEW_PASSWORD)[0], "OK")
        typ, line = self.login(NEW_PASSWORD)
        self.assertEqual(typ, "OK")
        self.assertTrue(line.endswith("result=ok cached=yes"), line)
        # Disabled by the CLI: refused at once, cached password or not.
        self.env.cli_ok("user", "set", BOB, "--disabled", "yes")
        typ, line = self.login(NEW_PASSWORD)
        self.assertEqual(typ, "NO")
        self.assertIn("result=failed", line)
        self.env.cli_ok("user", "set", BOB, "--disabled", "no")
        self.assertEqual(self.login(NEW_PASSWORD)[0], "OK")
        self.stop()

    def test_cache_off(self):
        self.serve(server={"auth_cache_size": "0"})
        for _ in range(2):
            typ, line = self.login(PASSWORD)
            self.assertEqual(typ, "OK")
            self.assertTrue(line.endswith("result=ok"), line)
        self.stop()

    def test_cached_failures_still_throttle(self):
        self.serve(ratelimit={"ip_failures": "3", "ip_window": "1h",
                              "throttle_delay": "0"})
        s = smtplib.SMTP(*self.where["submission"], timeout=IO_TIMEOUT)
        self.addCleanup(s.close)
        s.starttls(context=tls_client_context())
        s.ehlo()
        plain = base64.b64encode(f"\0{BOB}\0wrong".encode()).decode()
        for _ in range(3):
            code, _ = s.docmd("AUTH", "PLAIN " + plain)
            self.assertEqual(code, 535)
        self.assertEqual(len(re.findall(r"result=failed cached=yes",
                                        self.d.log())), 2, self.d.log())
        right = base64.b64encode(f"\0{BOB}\0{PASSWORD}".encode()).decode()
        code, text = s.docmd("AUTH", "PLAIN " + right)
        self.assertEqual(f"{code} {text.decode()}", TEMPFAIL)
        s.close()
        self.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
