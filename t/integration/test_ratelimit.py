"""ratelimit.so (modules/ratelimit) against real clients: the send limit
per authenticated account over a sliding window (with a 10 s window and a
limit of 5 instead of 100/hour, to stay fast: the logic is the same), its
operator overrides through `postino ratelimit`, login-failure throttling
through smtplib over TLS (per client address, and per account without
locking the owner out; both across a restart), and the module built out of
tree from the installed headers. Each test runs its own postinod with smtp.so and
ratelimit.so; remote recipients stay parked in the queue (the relayhost is
a closed port), as in test_smtp.py."""
import base64
import imaplib
import math
import os
import poplib
import re
import shutil
import socket
import smtplib
import subprocess
import time
import unittest

import harness
from harness import (EX_USAGE, IO_TIMEOUT, MODULES_DIR, SOURCE_ROOT,
                     module_rows, normalize_row,
                     tls_client_context)

HOST = "mail.example.test"
HELO = "client.example.test"
ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORDS = {ALICE: "Alice-Secret-4711", BOB: "Bob-Secret-0815"}
RL_C = ("ratelimit.c", "rl_window.c", "rl_login.c",
        "rl_throttle.c")
RL_SOURCES = [os.path.join(SOURCE_ROOT, "modules", "ratelimit", name)
              for name in RL_C + ("rl_window.h", "rl_login.h",
                                  "rl_throttle.h")]
TEMPFAIL = "454 4.7.0 Temporary authentication failure"
AUTH_OK = "235 2.7.0 Authentication successful"
LIMIT_EN_RE = re.compile(r"^450 4\.7\.1 Sending limit of (\d+) messages per "
                         r"hour exceeded; try again after (\d\d:\d\d)$")
LIMIT_IT_RE = re.compile(r"^450 4\.7\.1 Limite di (\d+) invii/ora superato; "
                         r"riprovare dopo le (\d\d:\d\d)$")


def remote(i):
    return f"r{i}@remote.test"


def hhmm_candidates(start, end):
    """The "try again after" minutes possible for a moment in
    [start, end] (unix seconds), rounded up to the minute, local time."""
    out = set()
    t = math.floor(start)
    while t <= math.ceil(end):
        up = t if t % 60 == 0 else t + 60 - t % 60
        out.add(time.strftime("%H:%M", time.localtime(up)))
        t += 1
    return out


class RateLimitCase(harness.CertTestCase):

    cert_host = HOST
    modules = tuple(os.path.join(MODULES_DIR, so)
                    for so in ("smtp.so", "ratelimit.so"))

    def setUp(self):
        super().setUp()
        self.d = None

    def configure(self, settings=None, modules_dir=MODULES_DIR, init=True,
                  pop3=False, imap=False):
        env = self.env
        parking = (f"\n[queue]\nrelayhost = 127.0.0.1:{harness.free_port()}\n"
                   "poll_interval = 1h\nretry_min = 1h\nretry_max = 1h\n")
        env.write_config(modules_dir=modules_dir,
                         extra=harness.tls_section(*self.cert) + parking)
        text, self.where = harness.listener_sections([
            {"name": "submission", "protocol": "submission",
             "tls": "starttls"}])
        env.write_module("smtp", {"max_message_size": "1M"}, extra=text)
        if pop3:
            text, where = harness.listener_sections([
                {"name": "pop3s", "protocol": "pop3", "tls": "implicit"}])
            self.where.update(where)
            env.write_module("pop3", extra=text)
        if imap:
            text, where = harness.listener_sections([
                {"name": "imaps", "protocol": "imap", "tls": "implicit"}])
            self.where.update(where)
            env.write_module("imap", extra=text)
        rl = {"limit": "5", "window": "10s"}
        rl.update(settings or {})
        env.write_module("ratelimit", {k: v for k, v in rl.items()
                                       if v is not None})
        if not init:
            return
        env.init()
        env.cli_ok("domain", "add", "example.test")
        for user, password in PASSWORDS.items():
            env.add_user(user, password)

    def start(self):
        self.d = self.env.start()
        names = ",".join(sorted(["ratelimit", "smtp"] +
                                [p for p in ("imap", "pop3")
                                 if p + "s" in self.where]))
        self.d.wait_for(f"names={names}")
        return self.d

    def serve(self, settings=None, pop3=False, imap=False):
        self.configure(settings, pop3=pop3, imap=imap)
        return self.start()

    def stop(self):
        self.d.stop()
        everything = self.env.all_output()
        for password in PASSWORDS.values():
            self.assertNotIn(password, everything, "a password was logged")

    # -- clients

    def connect(self, source=None):
        s = smtplib.SMTP(*self.where["submission"], local_hostname=HELO,
                         timeout=IO_TIMEOUT,
                         source_address=(source, 0) if source else None)
        self.addCleanup(s.close)
        s.starttls(context=tls_client_context())
        s.ehlo()
        return s

    def login(self, user=ALICE, source=None):
        s = self.connect(source)
        s.login(user, PASSWORDS[user])
        return s

    def rcpt(self, s, address):
        code, text = s.rcpt(address)
        return f"{code} {text.decode()}"

    def send(self, s, rcpts, sender=ALICE):
        """One transaction all of whose recipients must be accepted."""
        code, text = s.mail(sender)
        self.assertEqual(code, 250, text)
        for r in rcpts:
            got = self.rcpt(s, r)
            self.assertTrue(got.startswith("250 2.1.5"), f"<{r}>: {got}")
        code, text = s.data(b"Subject: rl\r\n\r\nHello.\r\n")
        self.assertEqual(code, 250, text)

    def deferred(self, s, regex=LIMIT_EN_RE, limit=5, window=10):
        """MAIL and one RCPT that must be deferred with the limit text,
        with a plausible time; then RSET."""
        code, text = s.mail(ALICE)
        self.assertEqual(code, 250, text)
        before = time.time()
        got = self.rcpt(s, remote(99))
        after = time.time()
        m = regex.match(got)
        self.assertIsNotNone(m, got)
        self.assertEqual(int(m.group(1)), limit, got)
        self.assertIn(m.group(2),
                      hhmm_candidates(before - window, after + window + 2),
                      got)
        s.rset()
        return got

    def show(self, address=ALICE):
        out = self.env.cli_ok("ratelimit", "show", address).out
        return dict(line.split(": ", 1) for line in out.splitlines())


class SendLimit(RateLimitCase):

    def test_limit_rset_restart_and_slide(self):
        self.serve()
        s = self.login()
        # An aborted transaction uses no quota.
        s.mail(ALICE)
        for i in range(4):
            self.assertTrue(self.rcpt(s, remote(i)).startswith("250 "))
        s.rset()
        # Five recipients accepted, the sixth deferred with the exact
        # text, in the same transaction; the message is accepted.
        code, text = s.mail(ALICE)
        self.assertEqual(code, 250, text)
        for i in range(5):
            got = self.rcpt(s, remote(i))
            self.assertTrue(got.startswith("250 2.1.5"), got)
        t0 = time.time()
        got = self.rcpt(s, remote(5))
        m = LIMIT_EN_RE.match(got)
        self.assertIsNotNone(m, got)
        self.assertEqual(m.group(1), "5")
        # The 5 events leave 10 s (+ the 1 s bucket) after they were
        # counted, i.e. after the DATA below.
        self.assertIn(m.group(2), hhmm_candidates(t0 + 10, t0 + 13), got)
        code, text = s.data(b"Subject: five\r\n\r\nHello.\r\n")
        self.assertEqual(code, 250, text)
        self.d.wait_for("send limit hit: account=alice@example.test "
                        "ip=127.0.0.1 used=0 pending=5 limit=5")
        self.deferred(s)
        self.d.wait_for("send limit hit: account=alice@example.test "
                        "ip=127.0.0.1 used=5 pending=0 limit=5")
        s.quit()
        # Counts survive a restart (once committed to the state).
        self.env.poll(lambda: self.show().get("used") == "5",
                      "used: 5 in `show`")
        info = self.show()
        self.assertEqual(info["limit"], "5 (config)")
        self.assertEqual(info["remaining"], "0")
        self.assertRegex(info["oldest leaves"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.stop()
        self.start()
        s = self.login()
        self.deferred(s)
        s.quit()
        # After the window slides, sending works again (a new session per
        # try: SMTP closes a session after 10 errors).
        deadline = time.monotonic() + 20
        while True:
            s = self.login()
            s.mail(ALICE)
            got = self.rcpt(s, remote(7))
            if got.startswith("250 "):
                break
            self.assertRegex(got, LIMIT_EN_RE)
            s.quit()
            self.assertLess(time.monotonic(), deadline,
                            "the window did not slide within 20 s")
            time.sleep(0.5)
        code, text = s.data(b"Subject: again\r\n\r\nHello.\r\n")
        self.assertEqual(code, 250, text)
        s.quit()
        self.stop()

    def test_client_retry_splits_a_big_message(self):
        """One message to more recipients than the limit allows: the
        first ones are accepted and queued, the rest deferred; the
        client's retry after the window slides delivers them, once."""
        self.serve()
        rcpts = [remote(i) for i in range(8)]
        s = self.login()
        refused = s.sendmail(ALICE, rcpts, b"Subject: big\r\n\r\nHi.\r\n")
        self.assertEqual(sorted(refused), rcpts[5:])
        for code, text in refused.values():
            self.assertEqual(code, 450)
            self.assertRegex("450 " + text.decode(), LIMIT_EN_RE)
        self.assertEqual([q[1] for q in self.env.queued()], [rcpts[:5]])
        s.quit()
        # The client retries the deferred ones until the window slid.
        deadline = time.monotonic() + 30
        while True:
            s = self.login()
            try:
                refused = s.sendmail(ALICE, rcpts[5:],
                                     b"Subject: big\r\n\r\nHi.\r\n")
            except smtplib.SMTPRecipientsRefused as e:
                refused = e.recipients   # all still deferred
            s.quit()
            for code, _ in refused.values():
                self.assertEqual(code, 450, refused)
            if not refused:
                break
            self.assertLess(time.monotonic(), deadline, refused)
            time.sleep(0.5)
        queued = [r for q in self.env.queued() for r in q[1]]
        self.assertEqual(sorted(queued), sorted(rcpts))
        self.stop()

    def test_swaks_sees_the_limit(self):
        swaks = shutil.which("swaks")
        self.assertIsNotNone(swaks, "swaks is not installed (make test "
                             "installs it)")
        self.serve()
        address, port = self.where["submission"]
        proc = subprocess.run(
            [swaks, "--server", address, "--port", str(port), "--helo", HELO,
             "--tls", "--auth", "PLAIN", "--auth-user", ALICE,
             "--auth-password", PASSWORDS[ALICE], "--from", ALICE,
             "--to", ",".join(remote(i) for i in range(6)),
             "--timeout", "20"],
            capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        out = proc.stdout.decode(errors="replace")
        # Inside TLS swaks marks replies "<~ " ("<~*" for failures).
        accepted = [l for l in out.splitlines() if l.startswith("<~  250 2.1.5")]
        self.assertEqual(len(accepted), 5, out)
        deferred = [l[4:] for l in out.splitlines() if l.startswith("<~* 450")]
        self.assertEqual(len(deferred), 1, out)
        self.assertRegex(deferred[0], LIMIT_EN_RE)
        self.assertEqual(len(self.env.queued()), 1, out)
        self.stop()

    def test_messages_mode_and_other_accounts(self):
        self.serve({"count": "messages", "limit": "2", "window": "1h"})
        s = self.login()
        self.send(s, [remote(i) for i in range(10)])
        self.send(s, [remote(i) for i in range(10)])
        self.deferred(s, limit=2, window=3660)
        s.quit()
        # Bob has his own count.
        s = self.login(BOB)
        self.send(s, [ALICE], sender=BOB)
        s.quit()
        self.assertEqual(self.env.cli_ok("ratelimit", "show", BOB).out
                         .splitlines()[4:6], ["used: 1", "remaining: 1"])
        self.stop()

    def test_overrides_show_reset(self):
        self.serve({"window": "1h"})
        env = self.env
        s = self.login()
        self.send(s, [remote(i) for i in range(5)])
        self.deferred(s, window=3660)
        # unlimited for the account: 50 go through at once.
        self.assertEqual(env.cli_ok("ratelimit", "set", ALICE,
                                    "unlimited").out,
                         f"{ALICE}: limit unlimited\n")
        self.send(s, [remote(i) for i in range(50)])
        info = self.show()
        self.assertEqual(info["limit"], "unlimited (account override)")
        self.assertEqual(info["remaining"], "unlimited")
        env.poll(lambda: self.show()["used"] == "55", "used: 55")
        # Account override beats domain override beats config.
        env.cli_ok("ratelimit", "set", "example.test", "100")
        self.assertEqual(self.show()["limit"], "unlimited (account override)")
        env.cli_ok("ratelimit", "set", ALICE, "default")
        self.assertEqual(self.show()["limit"], "100 (domain override)")
        self.assertEqual(self.show(BOB)["limit"], "100 (domain override)")
        env.cli_ok("ratelimit", "set", "example.test", "default")
        self.assertEqual(self.show()["limit"], "5 (config)")
        self.deferred(s, window=3660)
        # reset: the daemon forgets the count at once.
        self.assertEqual(env.cli_ok("ratelimit", "reset", ALICE).out,
                         f"{ALICE}: count reset\n")
        info = self.show()
        self.assertEqual((info["used"], info["remaining"],
                          info["oldest leaves"]), ("0", "5", "-"))
        self.send(s, [remote(i) for i in range(5)])
        self.deferred(s, window=3660)
        s.quit()
        env.cli_fails(EX_USAGE, "usage", "ratelimit", "show", "nobody")
        env.cli_fails(harness.EX_DATAERR, "bad limit", "ratelimit", "set",
                      ALICE, "lots")
        self.stop()

    def test_italian(self):
        self.serve({"lang": "it"})
        s = self.login()
        self.send(s, [remote(i) for i in range(5)])
        self.deferred(s, regex=LIMIT_IT_RE)
        s.quit()
        self.stop()

    def test_bad_config_refused(self):
        # Module init checks the values: the CLI (which loads the modules)
        # and a daemon start refuse them.
        for settings, why in (({"count": "words"},
                               "count must be recipients or messages"),
                              ({"lang": "fr"}, "lang must be en or it"),
                              ({"throttle_exempt": "10.0.0.0/33"},
                               "bad network '10.0.0.0/33'")):
            self.configure(settings, init=False)
            r = self.env.cli("module", "list")
            self.assertEqual(r.code, harness.EX_CONFIG, repr(r))
            self.assertIn(why, r.err)
            self.assertIn("ratelimit 1.0.0 1.1 failed: init failed: Invalid "
                          "argument", [normalize_row(line)
                                       for line in r.out.splitlines()], r.out)


class LoginThrottle(RateLimitCase):

    SETTINGS = {"ip_failures": "3", "ip_window": "30s",
                "throttle_delay": "1s"}

    def fail_login(self, s, user=ALICE):
        """One AUTH PLAIN with a wrong password (smtplib's login() would
        try a second mechanism): its reply code."""
        code, _ = s.docmd("AUTH", "PLAIN " + _plain(user, "wrong password"))
        return code

    def test_throttled_by_ip_not_other_ips(self):
        self.serve(self.SETTINGS)
        s = self.connect()
        for _ in range(3):
            self.assertEqual(self.fail_login(s), 535)
        # Over the limit: refused even with the right password, after
        # the delay, for a known and an unknown account alike.
        for user in (ALICE, "nobody@example.test"):
            start = time.monotonic()
            code, text = s.docmd("AUTH", "PLAIN " + _plain(
                user, PASSWORDS.get(user, "x")))
            self.assertEqual(f"{code} {text.decode()}", TEMPFAIL)
            self.assertGreaterEqual(time.monotonic() - start, 0.9)
        s.quit()
        self.d.wait_for("login throttled: protocol=submission ip=127.0.0.1 "
                        "account=alice@example.test ip_failures=3/3")
        # Another source address logs in with the right password.
        s = self.login(source="127.0.0.2")
        self.send(s, [BOB])
        s.quit()
        self.stop()

    def test_stop_while_a_login_is_delayed(self):
        self.serve(dict(self.SETTINGS, throttle_delay="3s"))
        s = self.connect()
        for _ in range(3):
            self.assertEqual(self.fail_login(s), 535)
        s.putcmd("AUTH", "PLAIN " + _plain(ALICE, PASSWORDS[ALICE]))
        self.d.wait_for("login throttled: protocol=submission ip=127.0.0.1")
        # A clean exit: the delayed call is answered (after at most
        # throttle_delay, which is capped at 10 s for this reason).
        self.stop()

    def test_pop3_alike(self):
        """The auth hooks run for every protocol: POP3 failures count and
        POP3 gets its own temporary error."""
        self.serve(dict(self.SETTINGS, throttle_delay="0"), pop3=True)

        def pop():
            where = self.where["pop3s"]
            p = poplib.POP3_SSL(where[0], where[1], timeout=IO_TIMEOUT,
                                context=tls_client_context())
            self.addCleanup(p.close)
            return p
        p = pop()
        for _ in range(3):
            p.user(ALICE)
            with self.assertRaises(poplib.error_proto) as cm:
                p.pass_("wrong password")
            self.assertTrue(cm.exception.args[0].startswith(b"-ERR [AUTH]"),
                            cm.exception)
        p.user(ALICE)
        with self.assertRaises(poplib.error_proto) as cm:
            p.pass_(PASSWORDS[ALICE])
        self.assertTrue(cm.exception.args[0].startswith(b"-ERR [SYS/TEMP]"),
                        cm.exception)
        # The same IP over SMTP is throttled too.
        s = self.connect()
        code, text = s.docmd("AUTH", "PLAIN " + _plain(ALICE,
                                                        PASSWORDS[ALICE]))
        self.assertEqual(f"{code} {text.decode()}", TEMPFAIL)
        s.quit()
        p.quit()
        self.stop()

    def test_imap_alike(self):
        """imaplib brute force from one address is throttled with IMAP's
        temporary error; a client on another address logs in."""
        self.serve(dict(self.SETTINGS, throttle_delay="0"), imap=True)
        where = self.where["imaps"]

        class SourcedIMAP(imaplib.IMAP4_SSL):
            def __init__(self, source):
                self.source = source
                super().__init__(where[0], where[1],
                                 ssl_context=tls_client_context(),
                                 timeout=IO_TIMEOUT)

            def _create_socket(self, timeout):
                sock = socket.create_connection(
                    (self.host, self.port), timeout,
                    source_address=(self.source, 0))
                return self.ssl_context.wrap_socket(
                    sock, server_hostname=self.host)

        def close(client):
            try:
                client.shutdown()
            except OSError:
                pass
        m = SourcedIMAP("127.0.0.1")
        self.addCleanup(close, m)
        for _ in range(3):
            with self.assertRaisesRegex(imaplib.IMAP4.error,
                                        "AUTHENTICATIONFAILED"):
                m.login(ALICE, "wrong password")
        with self.assertRaisesRegex(imaplib.IMAP4.error, r"\[UNAVAILABLE\]"):
            m.login(ALICE, PASSWORDS[ALICE])
        self.d.wait_for("login throttled: protocol=imap ip=127.0.0.1 "
                        "account=alice@example.test ip_failures=3/3")
        other = SourcedIMAP("127.0.0.2")
        self.addCleanup(close, other)
        self.assertEqual(other.login(ALICE, PASSWORDS[ALICE])[0], "OK")
        self.assertEqual(other.select("INBOX")[0], "OK")
        other.logout()
        self.stop()

    def fail_from(self, source, count, user=ALICE):
        """count wrong passwords for user from source (a new session
        every 5: SMTP closes one after 10 errors)."""
        for i in range(count):
            if i % 5 == 0:
                if i > 0:
                    s.quit()
                s = self.connect(source)
            self.assertEqual(self.fail_login(s, user), 535)
        s.quit()

    def auth(self, source, user=ALICE):
        """AUTH PLAIN with the right password from source: the reply."""
        s = self.connect(source)
        code, text = s.docmd("AUTH", "PLAIN " + _plain(user,
                                                        PASSWORDS[user]))
        s.quit()
        return f"{code} {text.decode()}"

    def login_state(self, key):
        rows = self.env.query("SELECT value FROM module_state WHERE"
                              " module = 'ratelimit' AND key = ?", (key,))
        return bytes(rows[0][0]).decode() if rows else ""

    def test_account_attack_throttles_the_attacker_not_the_owner(self):
        """20 failures for alice from 127.0.0.2 (its own limit off): that
        address is refused for alice even with the right password, before
        and after a restart; an address that never failed logs in (slowed
        while the account is under attack), one that logged in before the
        attack logs in unslowed; another account is not affected."""
        self.serve(dict(self.SETTINGS, ip_failures="0",
                        account_failures="20"))
        self.assertEqual(self.auth("127.0.0.3"), AUTH_OK)
        self.fail_from("127.0.0.2", 20)
        mark = self.d.mark()
        self.assertEqual(self.auth("127.0.0.2"), TEMPFAIL)
        # Never failed: not refused, only slowed.
        self.assertEqual(self.auth("127.0.0.1"), AUTH_OK)
        self.d.wait_for("login throttled: protocol=submission ip=127.0.0.2 "
                        "account=alice@example.test ip_failures=0/0 "
                        "account_failures=20/20 by=account", since=mark)
        self.d.wait_for("login slowed: protocol=submission ip=127.0.0.1 "
                        "account=alice@example.test "
                        "account_failures=20/20", since=mark)
        # Logged in before the attack: passes as usual.
        self.assertEqual(self.auth("127.0.0.3"), AUTH_OK)
        self.assertNotRegex(self.d.log()[mark:],
                            r"login \w+: protocol=submission ip=127\.0\.0\.3 ")
        # Only alice is under attack.
        self.assertEqual(self.auth("127.0.0.2", BOB), AUTH_OK)
        # A fresh address of the attacker gets one guess, no more.
        self.fail_from("127.0.0.4", 1)
        self.assertEqual(self.auth("127.0.0.4"), TEMPFAIL)
        # All of it is in the module's state, and survives a restart.
        self.env.poll(lambda: "a:127.0.0.4=" in self.login_state(
            "login:account:alice@example.test"), "alice's failure record")
        self.env.poll(lambda: "a:127.0.0.3=" in self.login_state(
            "login:known:alice@example.test"), "alice's known addresses")
        self.stop()
        self.start()
        mark = self.d.mark()
        self.assertEqual(self.auth("127.0.0.2"), TEMPFAIL)
        self.d.wait_for("login throttled: protocol=submission ip=127.0.0.2 "
                        "account=alice@example.test ip_failures=0/0 "
                        "account_failures=20/20 by=account", since=mark)
        self.assertEqual(self.auth("127.0.0.3"), AUTH_OK)
        self.assertNotRegex(self.d.log()[mark:],
                            r"login \w+: protocol=submission ip=127\.0\.0\.3 ")
        self.assertEqual(self.auth("127.0.0.5"), AUTH_OK)
        self.d.wait_for("login slowed: protocol=submission ip=127.0.0.5",
                        since=mark)
        self.stop()

    def test_address_throttle_survives_restart(self):
        self.serve(self.SETTINGS)
        self.fail_from("127.0.0.2", 3, user=BOB)
        self.assertEqual(self.auth("127.0.0.2"), TEMPFAIL)
        self.env.poll(lambda: self.login_state("login:ip:127.0.0.2"),
                      "127.0.0.2's failure record")
        self.stop()
        self.start()
        mark = self.d.mark()
        self.assertEqual(self.auth("127.0.0.2"), TEMPFAIL)
        self.d.wait_for("login throttled: protocol=submission ip=127.0.0.2 "
                        "account=alice@example.test ip_failures=3/3 "
                        "account_failures=0/20 by=address", since=mark)
        self.assertEqual(self.auth("127.0.0.1"), AUTH_OK)
        self.stop()

    def test_exempt_network(self):
        self.serve(dict(self.SETTINGS,
                        throttle_exempt="10.9.0.0/16, 127.0.0.0/8, ::1"))
        s = self.connect()
        for _ in range(5):
            self.assertEqual(self.fail_login(s), 535)
        code, text = s.docmd("AUTH", "PLAIN " + _plain(ALICE,
                                                        PASSWORDS[ALICE]))
        self.assertEqual(code, 235, text)
        s.quit()
        self.stop()


def _plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


class OutOfTree(harness.TestCase):
    """modules/ratelimit/*.c compiled with only `pkg-config --cflags
    postino-plugin` from a `meson install --destdir`, then loaded."""

    def test_build_from_installed_headers(self):
        import test_abi
        inst = test_abi.Installed.get(self)
        self.addCleanup(test_abi.Installed.cleanup)
        cflags = inst.pkg_config(self, "--cflags")
        src = os.path.join(self.env.root, "src")
        mods = os.path.join(self.env.root, "mods")
        os.makedirs(src)
        os.makedirs(mods)
        for path in RL_SOURCES:
            shutil.copy(path, src)
        argv = (["cc", "-shared", "-fPIC", "-fvisibility=hidden", "-Wall",
                 "-Wextra", "-Werror"] + cflags +
                list(RL_C) + ["-o",
                 os.path.join(mods, "ratelimit.so")])
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                           cwd=src, env=inst.pkg_env())
        self.assertEqual(p.returncode, 0, f"{argv}:\n{p.stdout}{p.stderr}")
        self.env.write_config(modules_dir=mods)
        self.env.write_module("ratelimit", {"limit": "7"})
        r = self.env.cli_ok("module", "list")
        rows = module_rows(r.out)
        self.assertIn("ratelimit 1.0.0 1.1 ready", rows, r.out)
        self.env.init()
        r = self.env.cli_ok("ratelimit", "show", ALICE)
        self.assertIn("limit: 7 (config)\n", r.out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
