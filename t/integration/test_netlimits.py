"""Connection limits against a hostile Internet (issue 17, part 4): one
address opening thousands of idle connections must not stop anyone else
from logging in; the process's limit follows its open files limit; the
last free slots go to addresses that hold few; a client that never logs
in is closed after the short preauth_timeout while a logged-in idle
session stays; the shipped modules.d carries limits.

Each test runs its own postinod with imap.so on 127.0.0.1. The flooding
clients are 127.0.0.1 and 127.0.0.3, the one that must still get in is
127.0.0.2 (every 127/8 address is loopback on Linux).
"""
import configparser
import glob
import imaplib
import os
import re
import resource
import selectors
import shutil
import socket
import time

import harness
from harness import (IO_TIMEOUT, MODULES_DIR, SOURCE_ROOT, make_cert,
                     tls_client_context)

IMAP_SO = os.path.join(MODULES_DIR, "imap.so")
HOST = "mail.example.test"
BOB = "bob@example.test"
PASSWORD = "Bob-Secret-0815"
WAVE = 400          # connects at once, below the listen backlog (511)


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        new = min(want, hard) if hard != resource.RLIM_INFINITY else want
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class IMAP4_SSL_From(imaplib.IMAP4_SSL):
    """imaplib over implicit TLS from a chosen local address."""

    def __init__(self, source, *args, **kw):
        self.source = source
        super().__init__(*args, **kw)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.source, 0))
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class Flood:
    """Idle connections from one source address: each either stays open
    (admitted: the server waits for its ClientHello) or is closed by the
    server at once (refused)."""

    def __init__(self, tc, source, where, count):
        self.tc = tc
        self.socks = []
        self.closed = set()
        tc.addCleanup(self.close)
        while len(self.socks) < count:
            self.socks += self.connect(source, where,
                                       min(WAVE, count - len(self.socks)))

    def connect(self, source, where, n):
        socks = []
        sel = selectors.DefaultSelector()
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((source, 0))
            s.setblocking(False)
            s.connect_ex(where)
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE)
        pending = n
        deadline = time.monotonic() + 60
        while pending > 0:
            self.tc.assertLess(time.monotonic(), deadline,
                               f"{pending} connects still pending")
            for key, _ in sel.select(timeout=1):
                err = key.fileobj.getsockopt(socket.SOL_SOCKET,
                                             socket.SO_ERROR)
                self.tc.assertEqual(err, 0, os.strerror(err))
                sel.unregister(key.fileobj)
                pending -= 1
        sel.close()
        return socks

    def count_closed(self):
        """How many the server has closed so far (EOF or reset)."""
        for s in self.socks:
            if s in self.closed:
                continue
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                data = b""
            self.tc.assertEqual(data, b"", "the server spoke first on "
                                "implicit TLS")
            self.closed.add(s)
        return len(self.closed)

    def wait_open(self, expected):
        """Waits until all but expected are closed by the server."""
        refused = len(self.socks) - expected
        deadline = time.monotonic() + 60
        while self.count_closed() < refused:
            self.tc.assertLess(time.monotonic(), deadline,
                               f"{refused} of {len(self.socks)} connections "
                               f"should be refused; {len(self.closed)} are")
            time.sleep(0.2)
        self.tc.assertEqual(self.count_closed(), refused)

    def close(self):
        for s in self.socks:
            s.close()


class NetLimitsTest(harness.CertTestCase):

    cert_host = HOST
    modules = (IMAP_SO,)

    def setUp(self):
        super().setUp()
        raise_nofile(4000)

    def serve(self, listeners, server=None, nofile=None):
        """postinod with imap.so and these listeners; an idle client's
        TLS handshake may take long, so the flood stays until refused."""
        env = self.env
        tls = harness.tls_section(*self.cert) + "handshake_timeout = 10m\n"
        env.write_config(modules_dir=MODULES_DIR,
                         server=dict({"log_level": "info"}, **(server or {})),
                         extra=tls)
        text, self.where = harness.listener_sections(listeners)
        env.write_module("imap", extra=text)
        env.init()
        env.cli_ok("domain", "add", "example.test")
        env.add_user(BOB, PASSWORD)
        self.d = env.start(nofile=nofile)
        return self.d

    def login_from(self, source, listener="imaps"):
        """A whole IMAPS session from source: login, select, logout."""
        m = IMAP4_SSL_From(source, *self.where[listener],
                           ssl_context=tls_client_context(),
                           timeout=IO_TIMEOUT)
        try:
            self.assertEqual(m.login(BOB, PASSWORD)[0], "OK")
            self.assertEqual(m.select("INBOX")[0], "OK")
            self.assertEqual(m.noop()[0], "OK")
        finally:
            self.assertEqual(m.logout()[0], "BYE")

    def all_disconnected(self):
        log = self.d.log()
        return log.count(" connect listener=") == \
            log.count(" disconnect reason=")

    def refusals(self, source):
        return re.findall(r"warning net (?:w=\d+ )?sid=\w+: refused client=" +
                          re.escape(source) + r" listener=(\S+): (.*)",
                          self.d.log())

    def test_flood_from_one_address(self):
        """2000 idle connections from 127.0.0.1 against a server of 200
        with 100 per address: 100 are held, the rest refused with one log
        line each naming the limit, and 127.0.0.2 logs in meanwhile."""
        self.serve([{"name": "imaps", "protocol": "imap", "tls": "implicit",
                     "max_connections_per_ip": 100}],
                   server={"max_connections": 200})
        self.d.wait_for("info core: connection limit 200 ([server] "
                        "max_connections; open files limit ")
        flood = Flood(self, "127.0.0.1", self.where["imaps"], 2000)
        flood.wait_open(100)
        self.login_from("127.0.0.2")
        self.login_from("127.0.0.2")
        self.assertEqual(flood.count_closed(), 1900)
        refused = self.refusals("127.0.0.1")
        self.assertEqual(len(refused), 1900)
        self.assertEqual(set(refused), {("imaps", "127.0.0.1 holds "
                                         "max_connections_per_ip 100")})
        self.assertEqual(self.refusals("127.0.0.2"), [])
        flood.close()
        self.d.stop()

    def test_fair_share_of_the_last_slots(self):
        """No per-address limit, a server of 200: 127.0.0.1 gets half,
        127.0.0.3 half of what is left, and 127.0.0.2, holding none,
        still gets in. Without the fair share the first address alone
        would fill the server."""
        self.serve([{"name": "imaps", "protocol": "imap",
                     "tls": "implicit"}], server={"max_connections": 200})
        first = Flood(self, "127.0.0.1", self.where["imaps"], 1000)
        first.wait_open(100)
        second = Flood(self, "127.0.0.3", self.where["imaps"], 500)
        second.wait_open(50)
        self.login_from("127.0.0.2")
        self.assertEqual(set(self.refusals("127.0.0.1")), {(
            "imaps", "127.0.0.1 holds 100 connections and only 100 of the "
            "server's 200 are free")})
        self.assertEqual(set(self.refusals("127.0.0.3")), {(
            "imaps", "127.0.0.3 holds 50 connections and only 50 of the "
            "server's 200 are free")})
        # A slot given back goes to whoever asks next, within the rule.
        first.close()
        second.close()
        self.env.poll(self.all_disconnected, "the floods' connections "
                      "closed")
        self.login_from("127.0.0.1")
        self.d.stop()

    def test_limit_follows_the_open_files_limit(self):
        """Nothing configured: a process started with 300 open files
        keeps 100 for itself and admits 200 connections, of which one
        address gets at most half."""
        self.serve([{"name": "imaps", "protocol": "imap",
                     "tls": "implicit"}], nofile=300)
        self.d.wait_for("info core: connection limit 200 (from the open "
                        "files limit; open files limit 300, 100 kept for "
                        "the store, logs and queue)")
        flood = Flood(self, "127.0.0.1", self.where["imaps"], 1000)
        flood.wait_open(100)
        self.login_from("127.0.0.2")
        flood.close()
        self.d.stop()

    def test_configured_limit_above_the_open_files_limit(self):
        self.serve([{"name": "imaps", "protocol": "imap",
                     "tls": "implicit"}], server={"max_connections": 5000},
                   nofile=1024)
        self.d.wait_for("warning core: [server] max_connections 5000 is "
                        "more than the open files limit 1024 allows with "
                        "102 kept for the store, logs and queue; using 922")
        self.d.wait_for("info core: connection limit 922 (from the open "
                        "files limit;")
        self.login_from("127.0.0.2")
        self.d.stop()

    def test_preauth_timeout(self):
        """Before login (in clear before STARTTLS, or inside TLS) a silent
        client is closed after preauth_timeout; a logged-in session idle
        for longer than that stays (its idle timeout is IMAP's 30 min)."""
        self.serve([{"name": "imap", "protocol": "imap", "tls": "starttls",
                     "preauth_timeout": "2s"},
                    {"name": "imaps", "protocol": "imap", "tls": "implicit",
                     "preauth_timeout": "2s"}])
        logged = imaplib.IMAP4_SSL(*self.where["imaps"],
                                   ssl_context=tls_client_context(),
                                   timeout=IO_TIMEOUT)
        self.addCleanup(logged.sock.close)
        self.assertEqual(logged.login(BOB, PASSWORD)[0], "OK")
        # From here on the logged-in session says nothing.
        clear = harness.LineClient(self, self.where["imap"])
        inside = harness.LineClient(self, self.where["imaps"],
                                    implicit_tls=True)
        for c in (clear, inside):
            self.assertTrue(c.readline().startswith("* OK"))
        for c in (clear, inside):
            self.assertEqual(c.expect_eof(),
                             b"* BYE Autologout; idle for too long\r\n")
        self.env.poll(lambda: self.d.log().count(
            'disconnect reason="idle timeout before login"') == 2,
            "both disconnects logged")
        self.assertEqual(self.d.log().count(
            "idle timeout after 2 s before login (preauth_timeout)"), 2)
        # Idle since before the two connected: longer than they lived.
        self.assertEqual(logged.noop()[0], "OK")
        self.assertEqual(logged.logout()[0], "BYE")
        self.d.stop()

    def test_imap_command_timeout_reply(self):
        """A command line begun and not finished is cut off with a reply
        that says so, not with 'idle for too long'."""
        self.serve([{"name": "imap", "protocol": "imap", "tls": "starttls",
                     "command_timeout": "1s"}])
        c = harness.LineClient(self, self.where["imap"])
        self.assertTrue(c.readline().startswith("* OK"))
        c.send("a1 NOO")
        self.assertEqual(c.expect_eof(),
                         b"* BYE Command line not completed in time\r\n")
        self.d.wait_for("no complete line within 1 s")
        self.d.stop()


class ShippedConfigTest(harness.TestCase):
    """etc/modules.d (production) and etc/modules.dev.d (make run) carry
    per-address limits and a pre-login timeout on every listener, and the
    production files pass postinod -t."""

    def listeners(self, directory):
        found = {}
        for path in sorted(glob.glob(os.path.join(directory, "*.conf"))):
            parser = configparser.ConfigParser(
                interpolation=None, inline_comment_prefixes=(" ;",))
            parser.read(path)
            for section in parser.sections():
                if section.startswith("listener "):
                    found[section.split()[1]] = dict(parser[section])
        return found

    def test_every_listener_has_limits(self):
        for directory in ("modules.d", "modules.dev.d"):
            listeners = self.listeners(os.path.join(SOURCE_ROOT, "etc",
                                                    directory))
            self.assertEqual(sorted(listeners), sorted([
                "imap", "imaps", "pop3", "pop3s", "mx", "submission",
                "submissions", "managesieve", "https", "http"]), directory)
            for name, keys in listeners.items():
                with self.subTest(directory=directory, listener=name):
                    self.assertGreater(int(keys["max_connections_per_ip"]),
                                       0)
                    self.assertIn("preauth_timeout", keys)
            # An office behind one NAT address: several mail programs
            # with several connections each.
            self.assertGreaterEqual(
                int(listeners["imaps"]["max_connections_per_ip"]), 50)

    def test_shipped_config_checks(self):
        cert, key = make_cert(self.env.root, "mail", HOST, [HOST])
        self.env.write_config(modules_dir=MODULES_DIR, server={
            "modules_conf_dir": os.path.join(SOURCE_ROOT, "etc",
                                             "modules.d")},
            extra=harness.tls_section(cert, key))
        code, out, err = self.env.postinod("-t")
        self.assertEqual(code, 0, f"{out}{err}")
        self.assertIn("is valid (9 modules)", out)


if __name__ == "__main__":
    import unittest
    unittest.main()
