"""http.so against a real postinod: the HTTP layer under hostile input,
autoconfiguration checked against the listeners, the password API as
Roundcube's httpapi driver calls it, the panel's security (CSRF, cookies,
headers), and the whole panel driven in headless Chromium (selenium).

Each test runs its own postinod on 127.0.0.1 with smtp.so (mx,
submission with STARTTLS and implicit TLS), imap.so, pop3.so, sieve.so,
managesieve.so, pwpolicy.so, ratelimit.so and http.so (https with TLS,
http in clear), and the queue's relayhost pointing at an SMTP sink, so
"remote" mail (vacation replies, forwards) is really sent. Every wait is
bounded."""
import base64
import http.client
import imaplib
import os
import plistlib
import poplib
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

import harness
from harness import (EX_CONFIG, IO_TIMEOUT, MODULES_DIR, base_env,
                     tls_client_context)
from test_queue import Sink

HOST = "mail.example.test"
ALICE = "alice@example.test"
BOB = "bob@example.test"
FAR = "someone@far.test"
CAROL = "carol@remote.test"
PASSWORDS = {ALICE: "Vacation-Horse-4711", BOB: "Forward-Horse-0815"}
NEW_PASSWORD = "Lantern-Ocean-Basil-93"
RESET_PASSWORD = "Granite-Meadow-Falcon-28"
API_PASSWORD = "Copper-Willow-Harbor-64"
TEMPLATES = os.path.join(harness.SOURCE_ROOT, "etc", "templates")
SOS = [os.path.join(MODULES_DIR, f"{m}.so")
       for m in ("smtp", "imap", "pop3", "sieve", "managesieve", "pwpolicy",
                 "ratelimit", "http")]


def message(subject, sender=FAR, to=ALICE, body="Hello.\r\n"):
    msgid = re.sub(r"[^a-z0-9]", "", subject.lower())
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{msgid}@far.test>\r\n"
            f"Date: Mon, 02 Jan 2006 15:04:05 +0100\r\n\r\n{body}").encode()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers   # [(name, value)], names lower case
        self.body = body

    def header(self, name):
        for n, v in self.headers:
            if n == name.lower():
                return v
        return None

    def all(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


class Browser:
    """A minimal cookie-keeping HTTPS client (http.client) for the
    protocol-level tests: one request per connection unless told."""

    def __init__(self, tc, port, tls=True, host=HOST):
        self.tc = tc
        self.port = port
        self.tls = tls
        self.host = host
        self.cookies = {}

    def request(self, method, path, form=None, body=None, headers=None,
                content_type=None):
        if self.tls:
            conn = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=IO_TIMEOUT,
                context=tls_client_context())
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                              timeout=IO_TIMEOUT)
        h = {"Host": self.host, "Accept-Language": "en"}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}"
                                    for k, v in self.cookies.items())
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True).encode()
            content_type = "application/x-www-form-urlencoded"
        if content_type:
            h["Content-Type"] = content_type
        h.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            headers = [(k.lower(), v) for k, v in r.getheaders()]
        finally:
            conn.close()
        for name, value in headers:
            if name == "set-cookie":
                k, _, v = value.split(";")[0].partition("=")
                if "Max-Age=0" in value:
                    self.cookies.pop(k, None)
                else:
                    self.cookies[k] = v
        return Response(r.status, headers, data)

    def csrf(self, path):
        r = self.request("GET", path)
        m = re.search(r'name="csrf" value="([0-9a-f]+)"', r.text)
        self.tc.assertIsNotNone(m, r.text)
        return m.group(1)

    def login(self, user=ALICE, password=None):
        token = self.csrf("/login")
        r = self.request("POST", "/login", form={
            "csrf": token, "user": user,
            "password": password or PASSWORDS[user]})
        return r


class HttpTestCase(harness.CertTestCase):

    cert_host = HOST
    modules = SOS

    def setUp(self):
        super().setUp()
        self.where = {}
        self.d = None

    def serve(self, http=None, https_listener=None):
        env = self.env
        self.sink = Sink(self)
        extra = harness.tls_section(*self.cert)
        extra += (f"\n[queue]\nrelayhost = 127.0.0.1:{self.sink.port}\n"
                  "poll_interval = 1s\nretry_min = 1s\nretry_max = 2s\n")
        env.write_config(modules_dir=MODULES_DIR, extra=extra)
        https = {"name": "https", "protocol": "http", "tls": "implicit"}
        https.update(https_listener or {})
        settings = {"templates": os.path.join(TEMPLATES, "http"),
                    "lang": "en"}
        settings.update(http or {})
        modules = [
            ("smtp", [{"name": "mx", "protocol": "smtp", "tls": "starttls"},
                      {"name": "submission", "protocol": "submission",
                       "tls": "starttls"},
                      {"name": "submissions", "protocol": "submission",
                       "tls": "implicit"}], None),
            ("imap", [{"name": "imaps", "protocol": "imap",
                       "tls": "implicit"},
                      {"name": "imap", "protocol": "imap",
                       "tls": "starttls"}], None),
            ("pop3", [{"name": "pop3s", "protocol": "pop3",
                       "tls": "implicit"}], None),
            ("sieve", [], None),
            ("managesieve", [{"name": "managesieve",
                              "protocol": "managesieve",
                              "tls": "starttls"}], None),
            ("pwpolicy", [], {"templates": os.path.join(TEMPLATES,
                                                        "pwpolicy"),
                              "lang": "en"}),
            ("ratelimit", [], None),
            ("http", [https, {"name": "http", "protocol": "http",
                              "tls": "none"}], settings),
        ]
        for name, listeners, mod_settings in modules:
            text, where = harness.listener_sections(listeners)
            self.where.update(where)
            env.write_module(name, mod_settings, extra=text)
        env.init()
        env.cli_ok("domain", "add", "example.test")
        for user in (ALICE, BOB):
            env.add_user(user, PASSWORDS[user])
        self.d = env.start()
        return self.d

    def stop(self):
        self.d.stop()
        everything = self.env.all_output()
        for password in list(PASSWORDS.values()) + [
                NEW_PASSWORD, RESET_PASSWORD, API_PASSWORD]:
            self.assertNotIn(password, everything, "a password was logged")

    def https(self):
        return Browser(self, self.where["https"][1])

    def plain(self, host=HOST):
        return Browser(self, self.where["http"][1], tls=False, host=host)

    def raw(self, tls=True):
        where = self.where["https" if tls else "http"]
        s = socket.create_connection(where, timeout=IO_TIMEOUT)
        if tls:
            s = tls_client_context().wrap_socket(s, server_hostname=HOST)
        self.addCleanup(s.close)
        return s

    def read_all(self, s):
        """Everything until the server closes (bounded by IO_TIMEOUT)."""
        data = b""
        deadline = time.monotonic() + IO_TIMEOUT
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (ssl.SSLError, ConnectionResetError):
                break
            if not chunk:
                break
            data += chunk
        return data

    def imap_login(self, user, password):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.where["imaps"][1],
                              ssl_context=tls_client_context(),
                              timeout=IO_TIMEOUT)
        self.addCleanup(self.imap_close, m)
        try:
            m.login(user, password)
            return m
        except imaplib.IMAP4.error:
            return None

    @staticmethod
    def imap_close(m):
        try:
            m.shutdown()
        except OSError:
            pass

    def pop3_login(self, user, password):
        p = poplib.POP3_SSL("127.0.0.1", self.where["pop3s"][1],
                            context=tls_client_context(),
                            timeout=IO_TIMEOUT)
        try:
            p.user(user)
            p.pass_(password)
            count = p.stat()[0]
            p.quit()
            return count
        except poplib.error_proto:
            p.close()
            return None

    def send(self, sender, rcpts, data):
        where = self.where["mx"]
        s = smtplib.SMTP(where[0], where[1], local_hostname="client.test",
                         timeout=IO_TIMEOUT)
        self.addCleanup(s.close)
        self.assertEqual(s.sendmail(sender, rcpts, data), {})
        s.quit()

    def inbox(self, account):
        return self.env.mailbox_messages(account)

    def wait_mail(self, account, needle, n=1):
        """Waits for n messages containing needle in account's INBOX."""
        def found():
            hits = [m for m in self.inbox(account) if needle in m]
            return hits if len(hits) >= n else None
        return self.env.poll(found, f"{needle!r} in {account}'s INBOX")


class HttpProtocol(HttpTestCase):
    """The HTTP layer: limits, keep-alive, pipelining, slow clients."""

    def test_keep_alive_and_pipelining(self):
        self.serve()
        s = self.raw()
        s.sendall(b"GET /login HTTP/1.1\r\nHost: " + HOST.encode() +
                  b"\r\n\r\nGET /panel.css HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /recover HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        data = self.read_all(s)
        statuses = re.findall(rb"^HTTP/1\.1 (\d{3}) ", data, re.M)
        self.assertEqual(statuses, [b"200", b"200", b"200"], data[:2000])
        # In order: the login page, the stylesheet, the recovery page.
        self.assertLess(data.index(b'action="/login"'),
                        data.index(b"box-sizing"))
        self.assertLess(data.index(b"box-sizing"),
                        data.index(b'action="/recover"'))
        self.stop()

    def test_overlong_request_line_and_headers(self):
        self.serve()
        s = self.raw()
        s.sendall(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertRegex(self.read_all(s), rb"^HTTP/1\.1 414 ")
        s = self.raw()
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 +
                  b"\r\n\r\n")
        self.assertRegex(self.read_all(s), rb"^HTTP/1\.1 431 ")
        s = self.raw()
        s.sendall(b"GET / HTTP/1.1\r\n" +
                  b"".join(b"X-H%d: v\r\n" % i for i in range(100)) +
                  b"\r\n")
        self.assertRegex(self.read_all(s), rb"^HTTP/1\.1 431 ")
        # A header block that never ends is refused at the limit, not
        # kept: the server answers before the client has finished.
        s = self.raw()
        s.sendall(b"GET / HTTP/1.1\r\n")
        for i in range(40):
            s.sendall(b"X-Slow-%d: " % i + b"c" * 1000 + b"\r\n")
            if i > 20:
                break
        self.assertRegex(self.read_all(s), rb"^HTTP/1\.1 431 ")
        s = self.raw()
        s.sendall(b"NOT-HTTP\r\n\r\n")
        self.assertRegex(self.read_all(s), rb"^HTTP/1\.1 400 ")
        self.d.wait_for("bad request (414)")
        self.stop()

    def test_body_larger_than_allowed(self):
        self.serve(http={"max_body": "2k"})
        s = self.raw()
        # Refused from the declared length, before the body is sent.
        s.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  b"application/x-www-form-urlencoded\r\n"
                  b"Content-Length: 100000\r\n\r\n")
        self.assertRegex(self.read_all(s), rb"^HTTP/1\.1 413 ")
        s = self.raw()
        s.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  b"application/x-www-form-urlencoded\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n" +
                  (b"400\r\n" + b"a" * 0x400 + b"\r\n") * 3 + b"0\r\n\r\n")
        self.assertRegex(self.read_all(s), rb"^HTTP/1\.1 413 ")
        self.stop()

    def test_slow_loris_gets_408_while_others_are_served(self):
        self.serve(http={"request_timeout": "2s"})
        slow = self.raw()
        slow.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n")
        done = threading.Event()
        answer = []

        def trickle():
            # One header byte at a time, never finishing the request.
            for _ in range(40):
                if done.is_set():
                    return
                try:
                    slow.sendall(b"X")
                except OSError:
                    return
                time.sleep(0.25)

        t = threading.Thread(target=trickle)
        t.start()
        # Meanwhile another client is served.
        r = self.https().request("GET", "/login")
        self.assertEqual(r.status, 200)
        answer.append(self.read_all(slow))
        done.set()
        t.join()
        self.assertRegex(answer[0], rb"^HTTP/1\.1 408 ")
        self.d.wait_for("request not received within 2 s")
        self.stop()

    def test_plain_http_redirects_and_refuses(self):
        self.serve()
        p = self.plain()
        r = p.request("GET", "/login?x=1")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("location"),
                         f"https://{HOST}:{self.where['https'][1]}"
                         "/login?x=1")
        # Nothing that authenticates is served in clear.
        r = p.request("POST", "/login", form={"user": ALICE,
                                               "password": "x"})
        self.assertEqual(r.status, 403)
        r = p.request("POST", "/api/password", form={
            "user": ALICE, "curpass": PASSWORDS[ALICE], "newpass": "x"})
        self.assertEqual(r.status, 403)
        self.assertIsNone(r.header("set-cookie"))
        self.stop()


class TlsNoneConfig(HttpTestCase):
    """tls = none only for protocols that declare they never
    authenticate."""

    def test_postinod_t_refuses_tls_none_for_imap(self):
        env = self.env
        env.write_config(modules_dir=MODULES_DIR,
                         extra=harness.tls_section(*self.cert))
        text, _ = harness.listener_sections([
            {"name": "imapclear", "protocol": "imap", "tls": "none"}])
        env.write_module("imap", None, extra=text)
        code, out, err = env.postinod("-t")
        self.assertEqual(code, EX_CONFIG, out + err)
        self.assertIn("listener imapclear: tls = none is only for "
                      "protocols that never authenticate", err)
        # http declares it: the same for http is valid.
        env.remove_module("imap")
        for name in ("sieve", "pwpolicy"):
            env.write_module(name, None)
        text, _ = harness.listener_sections([
            {"name": "plain", "protocol": "http", "tls": "none"}])
        env.write_module("http", {"templates": os.path.join(TEMPLATES,
                                                            "http")},
                         extra=text)
        code, out, err = env.postinod("-t")
        self.assertEqual(code, 0, out + err)


class Autoconfig(HttpTestCase):
    """Every document names the servers and ports of the listeners."""

    def expected(self):
        w = self.where
        return {("imap", w["imaps"][1], "SSL"),
                ("imap", w["imap"][1], "STARTTLS"),
                ("pop3", w["pop3s"][1], "SSL"),
                ("smtp", w["submissions"][1], "SSL"),
                ("smtp", w["submission"][1], "STARTTLS")}

    def check_thunderbird(self, r):
        self.assertEqual(r.status, 200, r.text)
        self.assertTrue(r.header("content-type").startswith(
            "application/xml"))
        root = ET.fromstring(r.body)    # well-formed, or this raises
        self.assertEqual(root.tag, "clientConfig")
        self.assertEqual(root.get("version"), "1.1")
        provider = root.find("emailProvider")
        self.assertEqual(provider.get("id"), "example.test")
        self.assertEqual(provider.findtext("domain"), "example.test")
        got = set()
        for kind in ("incomingServer", "outgoingServer"):
            for s in provider.findall(kind):
                self.assertEqual(s.findtext("hostname"), HOST)
                self.assertEqual(s.findtext("username"), "%EMAILADDRESS%")
                self.assertEqual(s.findtext("authentication"),
                                 "password-cleartext")
                got.add((s.get("type"), int(s.findtext("port")),
                         s.findtext("socketType")))
        self.assertEqual(got, self.expected())
        # Implicit TLS first (RFC 8314).
        first = provider.find("incomingServer")
        self.assertEqual((first.get("type"), first.findtext("socketType")),
                         ("imap", "SSL"))

    def test_thunderbird_autodiscover_apple_and_dns(self):
        self.serve()
        # As Thunderbird fetches it: http://autoconfig.DOMAIN/..., and
        # the well-known path, and over HTTPS with the address.
        r = self.plain(host="autoconfig.example.test").request(
            "GET", "/mail/config-v1.1.xml?emailaddress=" +
            urllib.parse.quote(ALICE))
        self.check_thunderbird(r)
        r = self.plain(host="autoconfig.example.test").request(
            "GET", "/.well-known/autoconfig/mail/config-v1.1.xml")
        self.check_thunderbird(r)
        r = self.https().request(
            "GET", "/mail/config-v1.1.xml?emailaddress=x%40example.test")
        self.check_thunderbird(r)
        r = self.https().request(
            "GET", "/mail/config-v1.1.xml?emailaddress=x%40other.test")
        self.assertEqual(r.status, 404)

        # Outlook: POST with the request schema.
        req = ('<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover '
               'xmlns="http://schemas.microsoft.com/exchange/autodiscover/'
               'outlook/requestschema/2006"><Request><EMailAddress>'
               f'{ALICE}</EMailAddress><AcceptableResponseSchema>http://'
               'schemas.microsoft.com/exchange/autodiscover/outlook/'
               'responseschema/2006a</AcceptableResponseSchema></Request>'
               '</Autodiscover>').encode()
        for b in (self.https(), self.plain(host="autodiscover.example.test")):
            r = b.request("POST", "/Autodiscover/Autodiscover.xml",
                          body=req, content_type="text/xml")
            self.assertEqual(r.status, 200, r.text)
            ns = {"a": "http://schemas.microsoft.com/exchange/autodiscover/"
                       "outlook/responseschema/2006a"}
            root = ET.fromstring(r.body)
            protocols = root.findall(".//a:Account/a:Protocol", ns)
            got = set()
            for p in protocols:
                self.assertEqual(p.findtext("a:Server", namespaces=ns), HOST)
                self.assertEqual(p.findtext("a:LoginName", namespaces=ns),
                                 ALICE)
                enc = p.findtext("a:Encryption", namespaces=ns)
                got.add((p.findtext("a:Type", namespaces=ns).lower(),
                         int(p.findtext("a:Port", namespaces=ns)),
                         "SSL" if enc == "SSL" else "STARTTLS"))
            self.assertEqual(got, self.expected())
        r = self.https().request("POST", "/autodiscover/autodiscover.xml",
                                 body=b"<nothing/>", content_type="text/xml")
        self.assertEqual(r.status, 400)

        # Apple: a profile for the signed-in account only.
        b = self.https()
        self.assertEqual(b.request("GET", "/postino.mobileconfig").status,
                         303)
        self.assertEqual(b.login().status, 303)
        r = b.request("GET", "/postino.mobileconfig")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-type"),
                         "application/x-apple-aspen-config")
        profile = plistlib.loads(r.body)
        self.assertEqual(profile["PayloadType"], "Configuration")
        mail = profile["PayloadContent"][0]
        self.assertEqual(mail["PayloadType"], "com.apple.mail.managed")
        self.assertEqual(mail["EmailAddress"], ALICE)
        self.assertEqual(mail["EmailAccountType"], "EmailTypeIMAP")
        self.assertEqual(mail["IncomingMailServerHostName"], HOST)
        self.assertEqual(mail["IncomingMailServerPortNumber"],
                         self.where["imaps"][1])
        self.assertEqual(mail["OutgoingMailServerPortNumber"],
                         self.where["submissions"][1])
        self.assertTrue(mail["IncomingMailServerUseSSL"])

        # The records an operator publishes, from the same listeners.
        r = self.env.cli_ok("domain", "dns", "example.test")
        w = self.where
        for line in (
                "example.test. IN MX 10 mail.example.test.",
                f"_imaps._tcp.example.test. IN SRV 0 1 {w['imaps'][1]} "
                "mail.example.test.",
                f"_imap._tcp.example.test. IN SRV 10 1 {w['imap'][1]} "
                "mail.example.test.",
                f"_pop3s._tcp.example.test. IN SRV 0 1 {w['pop3s'][1]} "
                "mail.example.test.",
                f"_submissions._tcp.example.test. IN SRV 0 1 "
                f"{w['submissions'][1]} mail.example.test.",
                f"_submission._tcp.example.test. IN SRV 10 1 "
                f"{w['submission'][1]} mail.example.test.",
                "_pop3._tcp.example.test. IN SRV 0 0 0 .",
                "autoconfig.example.test. IN CNAME mail.example.test.",
                "autodiscover.example.test. IN CNAME mail.example.test.",
                'example.test. IN TXT "v=spf1 mx -all"'):
            self.assertIn(line, r.out.splitlines(), r.out)
        self.env.cli_fails(harness.EX_NOUSER, "unknown domain",
                           "domain", "dns", "other.test")
        self.stop()


class PasswordApi(HttpTestCase):
    """POST /api/password exactly as Roundcube's password plugin sends it
    with password_driver = 'httpapi' (form_params user, curpass, newpass;
    success is any 2xx, with password_httpapi_expect = '/^ok$/i')."""

    def roundcube(self, user, cur, new):
        return self.https().request(
            "POST", "/api/password", form={"user": user, "curpass": cur,
                                           "newpass": new},
            headers={"User-Agent": "GuzzleHttp/7"})

    def test_roundcube_httpapi_driver(self):
        self.serve()
        r = self.roundcube(ALICE, "wrong-password", API_PASSWORD)
        self.assertEqual(r.status, 401, r.text)
        r = self.roundcube(ALICE, PASSWORDS[ALICE], "short")
        self.assertEqual(r.status, 422, r.text)
        self.assertIn("at least 10 characters", r.text)
        r = self.roundcube(ALICE, PASSWORDS[ALICE], "alice-example-2024x")
        self.assertEqual(r.status, 422, r.text)
        self.assertIn("must not contain the mailbox name", r.text)
        r = self.roundcube(ALICE, PASSWORDS[ALICE], API_PASSWORD)
        self.assertEqual(r.status, 200, r.text)
        self.assertRegex(r.text.strip(), r"(?i)^ok$")
        self.assertIsNone(self.imap_login(ALICE, PASSWORDS[ALICE]))
        self.assertIsNotNone(self.imap_login(ALICE, API_PASSWORD))
        self.d.wait_for(f"password of {ALICE} changed (api)")
        # Announced to the mailbox.
        self.wait_mail(ALICE, b"Subject: Your mailbox password was changed")
        self.stop()


class PanelSecurity(HttpTestCase):
    """CSRF, cookies, headers, sessions."""

    def test_csrf_cookies_and_headers(self):
        self.serve()
        b = self.https()
        r = b.request("GET", "/login")
        self.assertEqual(r.status, 200)
        csp = r.header("content-security-policy")
        self.assertIn("default-src 'self'", csp)
        self.assertIn("form-action 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertEqual(r.header("x-content-type-options"), "nosniff")
        self.assertEqual(r.header("referrer-policy"), "no-referrer")
        self.assertNotIn(b"<script", r.body)
        # A form without its token is refused, and nobody is logged in.
        r = b.request("POST", "/login", form={
            "user": ALICE, "password": PASSWORDS[ALICE]})
        self.assertEqual(r.status, 403, r.text)
        self.assertNotIn("__Host-postino", b.cookies)
        r = b.request("POST", "/login", form={
            "csrf": "0" * 64, "user": ALICE,
            "password": PASSWORDS[ALICE]})
        self.assertEqual(r.status, 403)
        # With it: a session cookie with every flag.
        r = b.login()
        self.assertEqual(r.status, 303)
        cookie = [c for c in r.all("set-cookie")
                  if c.startswith("__Host-postino=")][0]
        for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(flag, cookie.split("; "))
        self.assertNotIn("Domain=", cookie)
        # Logged-in forms need the session's token, not the visitor's.
        r = b.request("POST", "/reminder", form={"every": "90"})
        self.assertEqual(r.status, 403)
        token = b.csrf("/password")
        r = b.request("POST", "/reminder", form={"every": "90",
                                                  "csrf": token})
        self.assertEqual(r.status, 303)
        self.assertEqual(self.env.cli_ok("pwpolicy", "campaign", "status",
                                         ALICE).out.count("every 90d"), 1)
        # The state holds no usable session id.
        sid = b.cookies["__Host-postino"]
        self.assertNotIn(sid.encode(), self.env.db_bytes())
        # Logout ends the session on the server.
        stolen = dict(b.cookies)
        r = b.request("POST", "/logout", form={"csrf": token})
        self.assertEqual(r.status, 303)
        thief = self.https()
        thief.cookies = stolen
        self.assertEqual(thief.request("GET", "/").status, 303)
        # A wrong password is refused and logged; the page answers 401.
        r = self.https().login(password="not-the-password")
        self.assertEqual(r.status, 401)
        self.assertIn("Wrong mailbox or password", r.text)
        self.d.wait_for(f"http login account={ALICE} client=127.0.0.1 "
                        "result=failed")
        self.stop()

    def test_italian_by_account_then_browser(self):
        self.serve()
        b = self.https()
        r = b.request("GET", "/login", headers={"Accept-Language":
                                                "it-IT,it;q=0.9,en;q=0.5"})
        self.assertIn("Accesso", r.text)
        r = b.request("GET", "/login", headers={"Accept-Language":
                                                "de, en;q=0.7"})
        self.assertIn("Sign in", r.text)
        self.env.cli_ok("user", "set", ALICE, "--lang", "it")
        b.login()
        r = b.request("GET", "/")
        self.assertIn("La sua casella", r.text)
        self.stop()


# ---- the panel in a browser ------------------------------------------------

def load_selenium():
    """Debian's python3-selenium, also when the tests run under another
    Python than Debian's (its package directory added)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        sys.path.append("/usr/lib/python3/dist-packages")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    return webdriver, Service, By


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


class PanelInChromium(HttpTestCase):
    """The customer's flows in headless Chromium, one browser session:
    screenshots of each page go to the test's directory (or to
    $POSTINO_SCREENSHOTS when set, to look at them)."""

    def start_browser(self):
        webdriver, Service, By = load_selenium()
        self.By = By
        opts = webdriver.ChromeOptions()
        for arg in ("--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-quic", "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--ignore-certificate-errors",
                    f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
                    "--window-size=390,900", "--lang=en-US"):
            opts.add_argument(arg)
        opts.add_argument("--user-data-dir=" + self.env.path("chromium"))
        opts.binary_location = CHROMIUM
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER),
                                  options=opts)
        self.addCleanup(driver.quit)
        driver.set_page_load_timeout(60)
        self.browser = driver
        self.shots = os.environ.get("POSTINO_SCREENSHOTS") or \
            self.env.path("screenshots")
        os.makedirs(self.shots, exist_ok=True)
        self.shot_no = 0
        return driver

    def url(self, path):
        return f"https://{HOST}:{self.where['https'][1]}{path}"

    def shot(self, name, wide=False):
        self.shot_no += 1
        d = self.browser
        if wide:
            d.set_window_size(1280, 900)
        height = d.execute_script("return document.body.scrollHeight")
        d.set_window_size(1280 if wide else 390, min(max(height, 600), 4000))
        d.save_screenshot(os.path.join(
            self.shots, f"{self.shot_no:02d}-{name}.png"))
        d.set_window_size(390, 900)

    def fill(self, field_id, value):
        e = self.browser.find_element(self.By.ID, field_id)
        e.clear()
        e.send_keys(value)

    def submit(self, form_action, css=None):
        """Presses a form's button and waits for the page it leads to."""
        old = self.browser.find_element(self.By.TAG_NAME, "html")
        self.browser.find_element(
            self.By.CSS_SELECTOR,
            css or f'main form[action="{form_action}"] '
                   'button[type=submit]').click()
        self.wait_new_page(old)

    def wait_new_page(self, old):
        """Until the page old belongs to is replaced and the new one is
        loaded. (Chromium may report a node of the page being left as
        stale, or as "not belonging to the document".)"""
        from selenium.common.exceptions import (
            StaleElementReferenceException, WebDriverException)
        from selenium.webdriver.support.ui import WebDriverWait

        def replaced(driver):
            try:
                old.is_enabled()
                return False
            except StaleElementReferenceException:
                return True
            except WebDriverException as e:
                if "does not belong to the document" in str(e):
                    return True
                raise
        WebDriverWait(self.browser, IO_TIMEOUT).until(replaced)
        WebDriverWait(self.browser, IO_TIMEOUT).until(
            lambda d: d.execute_script("return document.readyState") ==
            "complete")

    def note(self):
        notes = self.browser.find_elements(self.By.CSS_SELECTOR, "p.note")
        return " ".join(n.text for n in notes)

    def link_in(self, data, path):
        m = re.search(rb"https://\S+" + re.escape(path.encode()) +
                      rb"\?\S+", data)
        self.assertIsNotNone(m, data)
        return m.group(0).decode()

    def imap_fetch(self, user, password, needle):
        """The newest message of user's INBOX holding needle, read over
        IMAP (what the user's mail program shows)."""
        def fetch():
            m = self.imap_login(user, password)
            self.assertIsNotNone(m)
            m.select("INBOX")
            typ, data = m.search(None, "ALL")
            for num in reversed(data[0].split()):
                typ, msg = m.fetch(num, "(RFC822)")
                if needle in msg[0][1]:
                    m.logout()
                    return msg[0][1]
            m.logout()
            return None
        return self.env.poll(fetch, f"{needle!r} over IMAP for {user}",
                             interval=0.3)

    def test_panel_flows(self):
        self.serve()
        d = self.start_browser()
        By = self.By
        # Log in: a wrong password first.
        d.get(self.url("/login"))
        self.shot("login")
        self.assertEqual(d.title, "Sign in · Mail")
        self.fill("user", ALICE)
        self.fill("password", "not-the-password")
        self.submit("/login")
        self.assertIn("Wrong mailbox or password", self.note())
        self.shot("login-wrong-password")
        self.fill("password", PASSWORDS[ALICE])
        self.submit("/login")
        self.assertEqual(d.current_url, self.url("/"))
        cookies = {c["name"]: c for c in d.get_cookies()}
        session = cookies["__Host-postino"]
        self.assertTrue(session["secure"])
        self.assertTrue(session["httpOnly"])
        self.assertEqual(session["sameSite"], "Strict")
        self.assertEqual(session["path"], "/")
        rows = d.find_elements(By.CSS_SELECTOR, "#client-settings tbody tr")
        self.assertIn(f"IMAP {HOST} {self.where['imaps'][1]} SSL/TLS",
                      [r.text for r in rows])
        self.shot("home")
        self.shot("home-desktop", wide=True)

        # Password: a weak one refused with pwpolicy's reason, a strong
        # one accepted; the old one then fails over IMAP.
        d.get(self.url("/password"))
        self.fill("current", PASSWORDS[ALICE])
        self.fill("new", "password")
        self.fill("new2", "password")
        self.submit("/password")
        self.assertIn("at least 10 characters", self.note())
        self.shot("password-weak")
        self.fill("current", PASSWORDS[ALICE])
        self.fill("new", NEW_PASSWORD)
        self.fill("new2", NEW_PASSWORD)
        self.submit("/password")
        self.assertIn("Your password was changed", self.note())
        self.shot("password-changed")
        self.assertIsNone(self.imap_login(ALICE, PASSWORDS[ALICE]))
        self.assertIsNotNone(self.imap_login(ALICE, NEW_PASSWORD))
        self.imap_fetch(ALICE, NEW_PASSWORD,
                        b"Subject: Your mailbox password was changed")

        # Reminder and secondary address, confirmed by its link (read
        # over IMAP from bob's mailbox).
        Select = __import__("selenium.webdriver.support.select",
                            fromlist=["Select"]).Select
        Select(d.find_element(By.ID, "every")).select_by_value("90")
        self.submit("/reminder")
        self.assertIn("reminder setting was saved", self.note())
        self.fill("secondary", BOB)
        self.submit("/secondary")
        self.assertIn("confirmation link was sent", self.note())
        self.assertEqual(d.find_element(By.ID, "secondary-pending").text,
                         BOB)
        self.assertEqual(d.find_element(By.ID, "secondary-current").text,
                         "none")
        self.shot("password-secondary-pending")
        mail = self.imap_fetch(BOB, PASSWORDS[BOB], b"/confirm?t=")
        d.get(self.link_in(mail, "/confirm"))
        self.shot("confirm")
        self.submit("/confirm")
        self.assertIn("secondary address is confirmed", self.note())
        self.assertIn(f"secondary: {BOB}",
                      self.env.cli_ok("user", "show", ALICE).out)

        # Automatic reply and forwarding, stored as a Sieve script.
        d.get(self.url("/autoreply"))
        d.find_element(By.ID, "vacation").click()
        self.fill("subject", "Out of office")
        self.fill("text", "I am away until Monday.\nBack soon.")
        self.fill("forward", CAROL)
        self.submit("/autoreply")
        self.assertIn("Saved", self.note())
        self.shot("autoreply-saved")
        # Visible over ManageSieve as the active script "panel".
        import test_sieve
        ms = test_sieve.ManageSieveClient(self, self.where["managesieve"])
        ms.response()
        ms.starttls()
        self.assertEqual(ms.login(ALICE, NEW_PASSWORD), 'OK "Logged in"')
        last, lines = ms.cmd("LISTSCRIPTS")
        self.assertIn('"panel" ACTIVE', lines)
        last, lines = ms.cmd('GETSCRIPT "panel"')
        script = "\n".join(lines)
        self.assertIn('vacation :days 1 :subject "Out of office"', script)
        self.assertIn(f'redirect :copy "{CAROL}";', script)
        # A message sent by SMTP is answered and forwarded (the sink),
        # and kept.
        self.send(FAR, [ALICE], message("Meeting on Friday"))
        msgs = self.env.poll(lambda: len(self.sink.messages) >= 2 and
                             list(self.sink.messages),
                             "the reply and the forward at the sink")
        by_rcpt = {m["rcpts"][0]: m for m in msgs}
        self.assertIn(b"Subject: Out of office", by_rcpt[FAR]["data"])
        self.assertIn(b"I am away until Monday.", by_rcpt[FAR]["data"])
        self.assertIn(b"Subject: Meeting on Friday", by_rcpt[CAROL]["data"])
        self.wait_mail(ALICE, b"Subject: Meeting on Friday")

        # A hand-written script is never replaced without asking.
        ms.expect('PUTSCRIPT "mine" {23+}\r\nkeep;\r\n# hand-written\r\n',
                  "OK")
        ms.expect('SETACTIVE "mine"', "OK")
        d.get(self.url("/autoreply"))
        self.assertIn("A filter you wrote yourself is active", self.note())
        self.submit("/autoreply")
        self.assertIn("mine", d.find_element(By.ID, "handwritten").text)
        self.shot("autoreply-confirm")
        last, lines = ms.cmd("LISTSCRIPTS")
        self.assertIn('"mine" ACTIVE', lines)
        self.submit("/autoreply")
        self.assertIn("Saved", self.note())
        last, lines = ms.cmd("LISTSCRIPTS")
        self.assertIn('"panel" ACTIVE', lines)
        self.assertIn('"mine"', lines)

        # Log out; recovery end to end: the link goes to the confirmed
        # secondary address, is followed, and the new password works
        # over POP3S.
        d.get(self.url("/"))
        self.submit(None, css='form[action="/logout"] button')
        self.assertEqual(d.current_url, self.url("/login"))
        old = d.find_element(By.TAG_NAME, "html")
        d.find_element(By.LINK_TEXT, "Forgot your password?").click()
        self.wait_new_page(old)
        self.shot("recover")
        self.fill("user", "nobody@example.test")
        self.submit("/recover")
        unknown = self.note()
        d.get(self.url("/recover"))
        self.fill("user", ALICE)
        self.submit("/recover")
        # The same answer whether or not the mailbox exists.
        self.assertEqual(self.note(), unknown)
        self.shot("recover-sent")
        mail = self.imap_fetch(BOB, PASSWORDS[BOB], b"/reset?u=")
        link = self.link_in(mail, "/reset")
        d.get(link)
        self.fill("new", "weak")
        self.fill("new2", "weak")
        self.submit("/reset")
        self.assertIn("at least 10 characters", self.note())
        self.fill("new", RESET_PASSWORD)
        self.fill("new2", RESET_PASSWORD)
        self.shot("reset")
        self.submit("/reset")
        self.assertIn("You can sign in with it now", self.note())
        self.shot("reset-done")
        self.assertIsNotNone(self.pop3_login(ALICE, RESET_PASSWORD))
        self.assertIsNone(self.pop3_login(ALICE, NEW_PASSWORD))
        # The link works once.
        d.get(link)
        self.assertIn("already used or it expired", self.note())
        self.d.wait_for(f"password of {ALICE} changed (reset link)")

        # Without its CSRF token a form is refused.
        d.get(self.url("/login"))
        d.execute_script("document.querySelector('input[name=csrf]')"
                         ".value = 'forged'")
        self.fill("user", ALICE)
        self.fill("password", RESET_PASSWORD)
        self.submit("/login")
        self.assertIn("did not come from this site", self.note())
        self.assertNotIn("__Host-postino",
                         [c["name"] for c in d.get_cookies()])
        ms.close()
        self.stop()


if __name__ == "__main__":
    unittest.main()
