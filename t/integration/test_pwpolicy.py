"""pwpolicy.so (modules/pwpolicy) end to end: strength rules through
`postino user add/passwd`, the forced-change campaign walked day by day
with `postino pwpolicy tick --at`, a user who changes on day 10, restarts,
the daemon's own pass catching up after 30 days, advisory reminders,
reset tokens to the secondary address, languages. Notices are real mail
in the INBOX, read back over POP3S with poplib and IMAPS with imaplib;
logins are checked over both (login_works, imap_login_works)."""
import email
import email.policy
import imaplib
import os
import poplib
import re
import shutil
import ssl
import time
import unittest

import harness
from harness import (EX_DATAERR, EX_NOUSER, IO_TIMEOUT, MODULES_DIR,
                     SOURCE_ROOT, tls_client_context)

HOST = "mail.example.test"
ALICE = "alice@example.test"
BACKUP = "alice.home@other.test"   # Alice's secondary address, hosted here
PASSWORD = "Quercia-Vialetto-83!"
PASSWORD2 = "Tramonto#Scogliera-29"
TEMPLATES = os.path.join(SOURCE_ROOT, "etc", "templates", "pwpolicy")
PWPOLICY_SO = os.path.join(MODULES_DIR, "pwpolicy.so")
POP3_SO = os.path.join(MODULES_DIR, "pop3.so")
DAY = 86400
EX_UNAVAILABLE = 69
EX_NOPERM = 77

SUBJECTS_EN = {
    "notice": "Mailbox password update required",
    "reminder": "Reminder: mailbox password update required",
    "last": "Last reminder: mailbox password update required",
    "forced": "Mailbox password changed",
    "advisory": "Reminder: consider changing your mailbox password",
    "reset": "Mailbox password reset code",
}
SUBJECT_IT_NOTICE = "Necessario aggiornamento password della casella di posta"


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.default)


def generated_password(msg):
    """The password the day-21 notice announces (its indented line)."""
    m = re.search(r"^    (\S+)\s*$", msg.get_content(), re.M)
    assert m, msg.get_content()
    return m.group(1)


class PwPolicyCase(harness.CertTestCase):

    cert_host = HOST
    modules = (PWPOLICY_SO, POP3_SO)

    def setUp(self):
        super().setUp()
        self.d = None
        # Campaigns start tomorrow (at whole seconds), so the daemon's own
        # pass, as of now, never finds anything due in the walked ones.
        self.t0 = int(time.time()) + DAY

    def configure(self, settings=None, secondary=True):
        env = self.env
        parking = (f"\n[queue]\nrelayhost = 127.0.0.1:{harness.free_port()}\n"
                   "poll_interval = 1h\nretry_min = 1h\nretry_max = 1h\n")
        env.write_config(modules_dir=MODULES_DIR,
                         extra=harness.tls_section(*self.cert) + parking)
        text, self.where = harness.listener_sections([
            {"name": "pop3s", "protocol": "pop3", "tls": "implicit"}])
        env.write_module("pop3", extra=text)
        text, where = harness.listener_sections([
            {"name": "imaps", "protocol": "imap", "tls": "implicit"}])
        self.where.update(where)
        env.write_module("imap", extra=text)
        pw = {"templates": TEMPLATES, "lang": "en"}
        pw.update(settings or {})
        env.write_module("pwpolicy", pw)
        env.init()
        env.cli_ok("domain", "add", "example.test")
        env.cli_ok("domain", "add", "other.test")
        env.add_user(ALICE, PASSWORD)
        env.add_user(BACKUP, PASSWORD2)
        if secondary:
            env.cli_ok("user", "set", ALICE, "--secondary", BACKUP)

    def start(self):
        self.d = self.env.start()
        return self.d

    def pw(self, *args, **kw):
        return self.env.cli_ok("pwpolicy", *args, **kw)

    def tick(self, day, expect):
        r = self.pw("tick", "--at", iso(self.t0 + day * DAY))
        self.assertIn(f": {expect} notices", r.out, f"day {day}: {r!r}")

    def inbox(self, address=ALICE):
        return [parse(m) for m in self.env.mailbox_messages(address)]

    def subjects(self, address=ALICE):
        return [m["Subject"] for m in self.inbox(address)]

    # The login check; an IMAP twin can be added beside it once imap.so
    # exists, and the tests below then call both.
    def login_works(self, user, password):
        """True when POP3S accepts user/password, False when it refuses."""
        where = self.where["pop3s"]
        p = poplib.POP3_SSL(where[0], where[1], timeout=IO_TIMEOUT,
                            context=tls_client_context())
        try:
            p.user(user)
            try:
                p.pass_(password)
            except poplib.error_proto:
                return False
            return True
        finally:
            try:
                p.quit()
            except (poplib.error_proto, OSError, ssl.SSLError):
                pass

    def imap_login_works(self, user, password):
        """True when IMAPS accepts user/password, False when it refuses."""
        where = self.where["imaps"]
        m = imaplib.IMAP4_SSL(where[0], where[1],
                              ssl_context=tls_client_context(),
                              timeout=IO_TIMEOUT)
        try:
            try:
                m.login(user, password)
            except imaplib.IMAP4.error:
                return False
            return True
        finally:
            try:
                m.logout()
            except (imaplib.IMAP4.error, OSError, ssl.SSLError):
                pass

    def imap_subjects(self, user, password):
        """The INBOX's Subjects as an IMAP client sees them."""
        where = self.where["imaps"]
        m = imaplib.IMAP4_SSL(where[0], where[1],
                              ssl_context=tls_client_context(),
                              timeout=IO_TIMEOUT)
        def close():
            try:
                m.shutdown()
            except OSError:
                pass
        self.addCleanup(close)
        m.login(user, password)
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK")
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK")
        out = [parse(d[1])["Subject"] for d in data if isinstance(d, tuple)]
        m.logout()
        return out

    def pop3_subjects(self, user, password):
        """Every INBOX message's Subject as any POP3 client sees it."""
        where = self.where["pop3s"]
        p = poplib.POP3_SSL(where[0], where[1], timeout=IO_TIMEOUT,
                            context=tls_client_context())
        p.user(user)
        p.pass_(password)
        count, _ = p.stat()
        out = []
        for i in range(1, count + 1):
            _, lines, _ = p.retr(i)
            out.append(parse(b"\r\n".join(lines) + b"\r\n")["Subject"])
        p.quit()
        return out

    def stop(self, secrets=()):
        """Stops postinod; no secret in any output or in the state."""
        if self.d is not None:
            self.d.stop()
        everything = self.env.all_output()
        state = self.env.query("SELECT key, value FROM module_state")
        for secret in secrets:
            self.assertNotIn(secret, everything, "a secret was logged")
            for key, value in state:
                self.assertNotIn(secret.encode(), bytes(value),
                                 f"a secret in state {key}")

    def assert_no_plaintext_in_db(self, *passwords):
        db = self.env.db_bytes()
        for password in passwords:
            self.assertNotIn(password.encode(), db)
        for (h,) in self.env.query("SELECT password_hash FROM accounts"):
            self.assertTrue(h.startswith("$y$"), h)
        for (h,) in self.env.query("SELECT hash FROM password_history"):
            self.assertTrue(h.startswith("$y$"), h)

    # ---- strength -----------------------------------------------------------

    def test_strength_rules_with_reasons(self):
        self.configure()
        env = self.env
        refused = {
            "Short-1a": "at least 10 characters",
            "xxAlice-Quercia-77": "must not contain the mailbox name",
            "Quercia-example-77": "must not contain the domain",
            "password1234": "too weak (score 44 of 100",
            "sunshine12345": "dictionary word",
            "aaaaaaaaaaaaaaa": "",
        }
        for password, reason in refused.items():
            r = env.cli_fails(EX_DATAERR, "password refused: ", "user",
                              "passwd", ALICE, "--password-stdin",
                              input=password + "\n")
            self.assertIn(reason, r.err)
        # The current password and the previous ones are refused: reused.
        env.cli_fails(EX_DATAERR, "was used recently", "user", "passwd",
                      ALICE, "--password-stdin", input=PASSWORD + "\n")
        env.cli_ok("user", "passwd", ALICE, "--password-stdin",
                   input="Girasole-Pianura-51\n")
        env.cli_fails(EX_DATAERR, "was used recently", "user", "passwd",
                      ALICE, "--password-stdin", input=PASSWORD + "\n")
        # user add goes through the same rules (an account not yet there).
        env.cli_fails(EX_DATAERR, "at least 10 characters", "user", "add",
                      "carol@example.test", "--password-stdin",
                      input="Corto-9\n")
        # In Italian for an Italian account.
        env.cli_ok("user", "set", ALICE, "--lang", "it")
        env.cli_fails(EX_DATAERR, "deve avere almeno 10 caratteri", "user",
                      "passwd", ALICE, "--password-stdin",
                      input="Corto-9\n")
        env.cli_fails(EX_DATAERR, "già stata usata", "user", "passwd",
                      ALICE, "--password-stdin", input=PASSWORD + "\n")
        self.assert_no_plaintext_in_db(PASSWORD, PASSWORD2,
                                       "Girasole-Pianura-51", *refused)
        self.stop(secrets=[PASSWORD, "Girasole-Pianura-51", *refused])

    # ---- the campaign -------------------------------------------------------

    def test_full_campaign_day_by_day(self):
        self.configure()
        self.start()
        r = self.pw("campaign", "start", ALICE, "--at", iso(self.t0))
        self.assertIn("campaign started for 1 accounts", r.out)
        self.assertIn("1 notices sent", r.out)
        self.assertEqual(self.subjects(), [SUBJECTS_EN["notice"]])
        notice = self.inbox()[0]
        self.assertEqual(notice["Auto-Submitted"], "auto-generated")
        self.assertEqual(notice["From"].addresses[0].addr_spec,
                         f"postmaster@{HOST}")
        self.assertIn("@" + HOST, notice["Message-ID"])
        self.assertIsNotNone(notice["Date"].datetime)
        self.assertIn("within 30 days", notice.get_content())
        expected = {7: "reminder", 14: "reminder", 21: "last"}
        for day in range(1, 23):
            self.tick(day, 1 if day in expected else 0)
        subjects = self.subjects()
        self.assertEqual(subjects, [SUBJECTS_EN[k] for k in
                                    ("notice", "reminder", "reminder",
                                     "last")])
        new = generated_password(self.inbox()[3])
        self.assertTrue(self.login_works(ALICE, PASSWORD))
        self.assertFalse(self.login_works(ALICE, new))
        r = self.pw("campaign", "status", ALICE)
        self.assertIn("done: last notice", r.out)
        self.tick(23, 1)
        self.assertEqual(self.subjects()[-1], SUBJECTS_EN["forced"])
        self.assertEqual(len(self.subjects()), 5)
        self.assertFalse(self.login_works(ALICE, PASSWORD))
        self.assertTrue(self.login_works(ALICE, new))
        # The same over IMAP, and the notices are there for any client.
        self.assertFalse(self.imap_login_works(ALICE, PASSWORD))
        self.assertTrue(self.imap_login_works(ALICE, new))
        self.assertEqual(self.imap_subjects(ALICE, new), self.subjects())
        self.assertIn("campaign: none", self.pw("campaign", "status",
                                                 ALICE).out)
        for day in (24, 30, 60):
            self.tick(day, 0)
        # Any IMAP/POP3 client reads the notices.
        self.assertEqual(self.pop3_subjects(ALICE, new),
                         [SUBJECTS_EN[k] for k in
                          ("notice", "reminder", "reminder", "last",
                           "forced")])
        # The generated password is only in that notice, never stored.
        self.assert_no_plaintext_in_db(PASSWORD)
        blobs = [bytes(b) for (b,) in self.env.query(
            "SELECT data FROM blobs")]
        self.assertEqual(sum(new.encode() in b for b in blobs), 1)
        self.stop(secrets=[PASSWORD, new])

    def test_change_on_day_10_ends_the_campaign(self):
        self.configure()
        self.pw("campaign", "start", ALICE, "--at", iso(self.t0))
        self.tick(7, 1)
        self.tick(10, 0)
        self.env.cli_ok("user", "passwd", ALICE, "--password-stdin",
                        input="Girasole-Pianura-51\n")
        self.assertIn("campaign: none", self.pw("campaign", "status",
                                                 ALICE).out)
        for day in (14, 21, 23, 30):
            self.tick(day, 0)
        self.assertEqual(self.subjects(), [SUBJECTS_EN["notice"],
                                           SUBJECTS_EN["reminder"]])
        self.start()
        self.assertTrue(self.login_works(ALICE, "Girasole-Pianura-51"))
        self.stop(secrets=["Girasole-Pianura-51"])

    def test_restart_between_steps_sends_each_step_once(self):
        self.configure()
        self.start()
        self.pw("campaign", "start", "--domain", "example.test", "--at",
                iso(self.t0))
        self.tick(0, 0)          # the same moment again: nothing twice
        self.d.stop()
        self.start()
        self.tick(7, 1)
        self.tick(7, 0)
        self.d.stop()
        self.start()
        self.tick(13, 0)
        self.tick(14, 1)
        self.assertEqual(len(self.subjects()), 3)
        self.assertEqual(self.subjects(BACKUP), [])  # other domain
        self.stop(secrets=[PASSWORD])

    def test_daemon_catches_up_after_30_days_down(self):
        """The campaign began 30 days ago and only its day-0 notice went
        out; the daemon's timer pass sends just the last notice (with the
        password) and then the forced change: no burst of reminders."""
        self.configure()
        start = int(time.time()) - 30 * DAY
        self.pw("campaign", "start", ALICE, "--at", iso(start))
        self.assertEqual(self.subjects(), [SUBJECTS_EN["notice"]])
        self.start()
        self.d.wait_for("campaign alice@example.test ended: password "
                        "replaced")
        self.assertEqual(self.subjects(), [SUBJECTS_EN[k] for k in
                                           ("notice", "last", "forced")])
        new = generated_password(self.inbox()[1])
        self.assertTrue(self.login_works(ALICE, new))
        self.assertFalse(self.login_works(ALICE, PASSWORD))
        self.stop(secrets=[PASSWORD, new])

    def test_no_reveal_sends_a_token_to_the_secondary(self):
        self.configure({"reveal_password": "no"})
        self.pw("campaign", "start", ALICE, "--at", iso(self.t0))
        self.tick(21, 1)
        last = self.inbox()[-1]
        self.assertEqual(last["Subject"], SUBJECTS_EN["last"])
        self.assertIn("reset code has been sent", last.get_content())
        self.assertEqual(self.subjects(BACKUP), [SUBJECTS_EN["reset"]])
        token = re.search(r"Reset code: (\S+)",
                          self.inbox(BACKUP)[0].get_content()).group(1)
        self.tick(23, 1)
        # After the forced change the token still lets Alice choose one.
        self.pw("reset", ALICE, "--token", token, "--password-stdin",
                "--at", iso(self.t0 + 24 * DAY),
                input="Girasole-Pianura-51\n")
        self.start()
        self.assertTrue(self.login_works(ALICE, "Girasole-Pianura-51"))
        self.stop(secrets=[PASSWORD, token, "Girasole-Pianura-51"])

    def test_max_age_starts_a_campaign(self):
        self.configure({"max_age": "365d"})
        self.tick(300, 0)
        self.tick(366, 2)  # Alice and her secondary mailbox
        self.tick(367, 0)
        self.assertEqual(self.subjects(), [SUBJECTS_EN["notice"]])
        self.assertIn("campaign: started", self.pw("campaign", "status",
                                                    ALICE).out)

    # ---- reminders, languages -----------------------------------------------

    def test_advisory_reminder(self):
        self.configure()
        self.pw("reminder", ALICE, "--every", "90d")
        self.tick(88, 0)
        self.tick(90, 1)
        self.tick(91, 0)
        self.tick(180, 1)
        self.assertEqual(self.subjects(), [SUBJECTS_EN["advisory"]] * 2)
        self.pw("reminder", ALICE, "--every", "off")
        self.tick(400, 0)
        # Advisory only: the password still works.
        self.start()
        self.assertTrue(self.login_works(ALICE, PASSWORD))
        self.stop(secrets=[PASSWORD])

    def test_language_per_domain_and_account(self):
        self.configure()
        self.pw("lang", "example.test", "it")
        self.pw("campaign", "start", ALICE, "--at", iso(self.t0))
        self.assertEqual(self.subjects(), [SUBJECT_IT_NOTICE])
        self.assertIn("entro 30 giorni", self.inbox()[0].get_content())
        self.env.cli_ok("user", "set", ALICE, "--lang", "en")
        self.tick(7, 1)
        self.assertEqual(self.subjects()[-1], SUBJECTS_EN["reminder"])

    # ---- reset tokens -------------------------------------------------------

    def test_reset_token(self):
        self.configure(secondary=False)
        env = self.env
        r = env.cli_fails(EX_UNAVAILABLE, "has no secondary address",
                          "pwpolicy", "reset-request", ALICE)
        self.assertIn("manual", r.err)
        env.cli_fails(EX_NOPERM, "no valid reset token", "pwpolicy", "reset",
                      ALICE, "--token", "x" * 24, "--password-stdin",
                      input="Girasole-Pianura-51\n")
        env.cli_ok("user", "set", ALICE, "--secondary", BACKUP)
        self.pw("reset-request", ALICE)
        self.assertEqual(self.subjects(BACKUP), [SUBJECTS_EN["reset"]])
        self.assertEqual(self.subjects(ALICE), [])
        token = re.search(r"Reset code: (\S+)",
                          self.inbox(BACKUP)[0].get_content()).group(1)
        now = int(time.time())
        env.cli_fails(EX_NOPERM, "wrong reset token", "pwpolicy", "reset",
                      ALICE, "--token", token[::-1], "--password-stdin",
                      input="Girasole-Pianura-51\n")
        env.cli_fails(EX_NOPERM, "no valid reset token", "pwpolicy", "reset",
                      ALICE, "--token", token, "--password-stdin", "--at",
                      iso(now + 2 * 3600), input="Girasole-Pianura-51\n")
        env.cli_fails(EX_DATAERR, "dictionary word", "pwpolicy", "reset",
                      ALICE, "--token", token, "--password-stdin",
                      input="sunshine12345\n")
        env.cli_fails(EX_DATAERR, "was used recently", "pwpolicy", "reset",
                      ALICE, "--token", token, "--password-stdin",
                      input=PASSWORD + "\n")
        self.pw("reset", ALICE, "--token", token, "--password-stdin",
                input="Girasole-Pianura-51\n")
        env.cli_fails(EX_NOPERM, "no valid reset token", "pwpolicy", "reset",
                      ALICE, "--token", token, "--password-stdin",
                      input="Tramonto-Collina-77\n")
        env.cli_fails(EX_NOUSER, "unknown user", "pwpolicy", "reset-request",
                      "nobody@example.test")
        self.start()
        self.assertTrue(self.login_works(ALICE, "Girasole-Pianura-51"))
        self.assertFalse(self.login_works(ALICE, PASSWORD))
        self.assert_no_plaintext_in_db(PASSWORD, "Girasole-Pianura-51")
        self.stop(secrets=[PASSWORD, "Girasole-Pianura-51", token])


if __name__ == "__main__":
    unittest.main(verbosity=2)
