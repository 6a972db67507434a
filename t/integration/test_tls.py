"""The network layer as clients meet it: listeners from [listener NAME],
implicit TLS and STARTTLS (GnuTLS) with SNI certificates, session
resumption, protocol versions, bounded lines and literals, pipelining,
back-pressure, connection limits, idle and handshake timeouts, certificate
reload on SIGHUP and refused starts.

The protocol spoken is the test-only echo module (t/modules/echo.c); the
clients are independent implementations: Python's ssl (OpenSSL),
`openssl s_client` and GnuTLS's `gnutls-cli`. Everything listens on
loopback addresses only, on ports found free by binding port 0.
"""
import contextlib
import fcntl
import hashlib
import os
import pwd
import random
import re
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import termios
import time
import unittest
import warnings

import harness
from harness import BUILD_ROOT, EX_CONFIG, VERSION, base_env, free_port

ECHO_DIR = os.path.join(BUILD_ROOT, "t", "modules")
ECHO_SO = os.path.join(ECHO_DIR, "echo.so")
OPENSSL = shutil.which("openssl")
GNUTLS_CLI = shutil.which("gnutls-cli")
CERTTOOL = shutil.which("certtool")

IO_TIMEOUT = 20.0     # one awaited reply, EOF or handshake
TOOL_TIMEOUT = 60.0   # one external client run

TLS12_ONLY = "NORMAL:-VERS-ALL:+VERS-TLS1.2"
WITH_OLD_TLS = ("NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:+VERS-TLS1.1:"
                "+VERS-TLS1.0")

# INFO's reply over TLS: "+OK tls=1 version=V cipher=C sni=S client=IP
# account=A"; the cipher is GnuTLS's name for an AEAD or CBC cipher.
INFO_RE = re.compile(
    r"^\+OK tls=(?P<tls>[01]) version=(?P<version>\S+) "
    r"cipher=(?P<cipher>\S+) sni=(?P<sni>\S+) client=(?P<client>\S+) "
    r"account=(?P<account>\S+)$")
CIPHER_RE = re.compile(r"^(AES|CHACHA20|CAMELLIA|3DES|ARCFOUR)[A-Z0-9-]*$")


def fnv1a(data, h=0x811c9dc5):
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xffffffff
    return h


def big_pattern(n):
    """The bytes BIG n sends before its CRLF "+OK end" line."""
    alphabet = bytes(range(ord("a"), ord("a") + 26))
    return (alphabet * (n // 26 + 1))[:n]


def unread_bytes(sock):
    """Bytes waiting in the kernel's receive queue of sock."""
    buf = fcntl.ioctl(sock.fileno(), termios.FIONREAD, struct.pack("i", 0))
    return struct.unpack("i", buf)[0]


def have_ipv6_loopback():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def client_context(min_version=None, max_version=None, ciphers=None):
    """A TLS client context that does not verify (self-signed certs)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


def run_tool(argv, input_bytes=None, timeout=TOOL_TIMEOUT):
    proc = subprocess.run(argv, input=input_bytes, capture_output=True,
                          timeout=timeout, env=base_env())
    return proc.returncode, proc.stdout, proc.stderr


def cert_names(pem_or_der):
    """(subject CN, [SAN DNS names]) of a certificate, decoded by openssl
    x509 (or certtool where openssl is missing)."""
    der = not pem_or_der.lstrip().startswith(b"-----BEGIN")
    if OPENSSL:
        code, out, err = run_tool(
            [OPENSSL, "x509", "-inform", "DER" if der else "PEM", "-noout",
             "-subject", "-ext", "subjectAltName"], pem_or_der)
        if code != 0:
            raise AssertionError(f"openssl x509 failed: {err!r}")
        text = out.decode(errors="replace")
        m = re.search(r"^subject=.*?CN\s*=\s*([^,/\n]+)", text, re.M)
    else:
        argv = [CERTTOOL, "-i"] + (["--inder"] if der else [])
        code, out, err = run_tool(argv, pem_or_der)
        if code != 0:
            raise AssertionError(f"certtool -i failed: {err!r}")
        text = out.decode(errors="replace")
        m = re.search(r"Subject: .*?CN=([^,\n]+)", text)
    cn = m.group(1).strip() if m else None
    sans = re.findall(r"DNS(?:name)?:\s*([^,\s]+)", text)
    return cn, sans


PEM_RE = re.compile(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
                    re.S)


def first_pem(output):
    m = PEM_RE.search(output)
    if m is None:
        raise AssertionError(f"no certificate in client output:\n"
                             f"{output.decode(errors='replace')}")
    return m.group(0) + b"\n"


def client_hello(legacy_version, supported_versions=None):
    """One TLS record holding a ClientHello that offers legacy_version
    (0x0301: TLS 1.0) and, if given, a supported_versions extension with
    those versions, with cipher suites every TLS version knows."""
    body = struct.pack(">H", legacy_version) + os.urandom(32) + b"\x00"
    suites = (0xc02f, 0xc013, 0xc014, 0x002f, 0x0035)
    body += struct.pack(">H", 2 * len(suites))
    body += b"".join(struct.pack(">H", s) for s in suites)
    body += b"\x01\x00"   # compression: null only
    # supported_groups: secp256r1; ec_point_formats: uncompressed.
    exts = struct.pack(">HHHH", 10, 4, 2, 23) + struct.pack(">HHBB", 11, 2, 1, 0)
    if supported_versions:
        listed = b"".join(struct.pack(">H", v) for v in supported_versions)
        exts += struct.pack(">HHB", 43, len(listed) + 1, len(listed)) + listed
    body += struct.pack(">H", len(exts)) + exts
    handshake = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(handshake)) + handshake


# ---- certificates -----------------------------------------------------------

def make_cert(directory, name, cn, dns, days=30):
    """A self-signed server certificate (no CA) and its RSA key, with
    certtool: (cert path, key path)."""
    key = os.path.join(directory, name + ".key")
    cert = os.path.join(directory, name + ".pem")
    tmpl = os.path.join(directory, name + ".tmpl")
    with open(tmpl, "w") as f:
        f.write(f'cn = "{cn}"\n')
        for d in dns:
            f.write(f'dns_name = "{d}"\n')
        f.write(f"expiration_days = {days}\n"
                "tls_www_server\nsigning_key\nencryption_key\n")
    for argv in ([CERTTOOL, "--generate-privkey", "--key-type", "rsa",
                  "--bits", "2048", "--outfile", key],
                 [CERTTOOL, "--generate-self-signed", "--load-privkey", key,
                  "--template", tmpl, "--outfile", cert]):
        code, out, err = run_tool(argv)
        if code != 0:
            raise AssertionError(f"{' '.join(argv)} failed:\n"
                                 f"{out.decode()}{err.decode()}")
    return cert, key


# ---- a line client over a plain or TLS socket --------------------------------

class Client:
    """One connection speaking the echo protocol; every wait is bounded."""

    def __init__(self, tc, sock):
        self.tc = tc
        self.sock = sock
        self.buf = b""
        tc.addCleanup(self.close)

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()

    @property
    def tls(self):
        return isinstance(self.sock, ssl.SSLSocket)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.settimeout(IO_TIMEOUT)
        self.sock.sendall(data)

    def _fill(self, deadline, what):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.tc.fail(f"timed out after {IO_TIMEOUT:.0f}s waiting for "
                         f"{what}; received so far: {self.buf[:300]!r}")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            self.tc.fail(f"timed out waiting for {what}; received so far: "
                         f"{self.buf[:300]!r}")
        except (ssl.SSLEOFError, ConnectionResetError):
            data = b""
        if not data:
            raise EOFError(f"EOF while waiting for {what}; received "
                           f"{self.buf[:300]!r}")
        self.buf += data

    def readline(self, timeout=IO_TIMEOUT):
        """The next CRLF-terminated line, as str without the CRLF."""
        deadline = time.monotonic() + timeout
        while b"\r\n" not in self.buf:
            try:
                self._fill(deadline, "a line")
            except EOFError as e:
                self.tc.fail(str(e))
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line.decode("utf-8", errors="replace")

    def read_exact(self, n, timeout=IO_TIMEOUT, chunk=65536):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            try:
                self._fill(deadline, f"{n} bytes")
            except EOFError as e:
                self.tc.fail(str(e))
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.readline()

    def expect(self, line, reply):
        self.tc.assertEqual(self.cmd(line), reply, f"reply to {line!r}")

    def expect_eof(self, timeout=IO_TIMEOUT):
        """Waits for the server to close; returns what came before."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._fill(deadline, "EOF")
            except EOFError:
                data, self.buf = self.buf, b""
                return data

    def info(self):
        line = self.cmd("INFO")
        m = INFO_RE.match(line)
        self.tc.assertIsNotNone(m, f"INFO reply: {line!r}")
        return m.groupdict()

    def starttls(self, ctx=None, server_hostname=None, session=None):
        """STARTTLS on a plain connection: the go-ahead, the handshake,
        and the reply the protocol sends once encrypted."""
        self.tc.assertFalse(self.tls)
        self.send("STARTTLS\r\n")
        self.read_go_ahead()
        self.wrap(ctx, server_hostname, session)
        self.tc.assertEqual(self.readline(), "+OK tls ready")

    def read_go_ahead(self):
        self.tc.assertEqual(self.readline(), "+OK begin TLS")
        # The server speaks no more in clear: the next bytes are ours (the
        # ClientHello), so nothing may be left over here.
        self.tc.assertEqual(self.buf, b"",
                            "the server sent clear text after the "
                            "STARTTLS go-ahead")

    def wrap(self, ctx=None, server_hostname=None, session=None):
        ctx = ctx or client_context()
        self.sock.settimeout(IO_TIMEOUT)
        self.sock = ctx.wrap_socket(self.sock,
                                    server_hostname=server_hostname,
                                    session=session)

    def quit(self):
        self.expect("QUIT", "+OK bye")
        self.tc.assertEqual(self.expect_eof(), b"")
        self.close()


class Interactive:
    """An external client (openssl s_client, gnutls-cli) with stdin kept
    open until we are done, stdout and stderr merged."""

    def __init__(self, tc, argv):
        self.tc = tc
        self.argv = argv
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=base_env())
        self.out = b""
        tc.addCleanup(self.kill)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=TOOL_TIMEOUT)
        for f in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(Exception):
                f.close()

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def _read(self, deadline):
        fd = self.proc.stdout.fileno()
        r, _, _ = select.select([fd], [], [],
                                max(0.0, deadline - time.monotonic()))
        if not r:
            return None
        data = os.read(fd, 65536)
        self.out += data
        return data

    def wait_for(self, needle, timeout=TOOL_TIMEOUT):
        """Reads until needle (bytes, or a compiled bytes regex) is in the
        output; fails on timeout or exit without it."""
        deadline = time.monotonic() + timeout
        while True:
            found = (needle.search(self.out) if hasattr(needle, "search")
                     else needle in self.out)
            if found:
                return found
            if time.monotonic() > deadline:
                self.tc.fail(f"{self.argv[0]} did not print {needle!r} "
                             f"within {timeout:.0f}s; output:\n"
                             f"{self.text()}")
            data = self._read(deadline)
            if data == b"":
                self.proc.wait(timeout=TOOL_TIMEOUT)
                self.tc.fail(f"{self.argv[0]} exited "
                             f"({self.proc.returncode}) before printing "
                             f"{needle!r}; output:\n{self.text()}")

    def finish(self, timeout=TOOL_TIMEOUT):
        """Waits for the client to exit on its own (the server closed)."""
        deadline = time.monotonic() + timeout
        while True:
            data = self._read(deadline)
            if data == b"":
                break
            if data is None and time.monotonic() > deadline:
                self.tc.fail(f"{self.argv[0]} did not exit within "
                             f"{timeout:.0f}s; output:\n{self.text()}")
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        return self.proc.wait(timeout=TOOL_TIMEOUT)

    def text(self):
        return self.out.decode(errors="replace")


# ---- the test base -------------------------------------------------------------

class TLSTestCase(harness.TestCase):
    """Certificates for the whole class; a server per test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if CERTTOOL is None:
            raise AssertionError("certtool (gnutls-bin) is not installed")
        cls.certdir = tempfile.mkdtemp(prefix="postino-certs-")
        cls.certs = {
            "default": make_cert(cls.certdir, "default", "localhost",
                                 ["localhost"]),
            "mail": make_cert(cls.certdir, "mail", "mail.example.test",
                              ["mail.example.test"]),
            "wild": make_cert(cls.certdir, "wild", "*.other.test",
                              ["*.other.test"]),
        }

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certdir, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        if not os.path.exists(ECHO_SO):
            self.fail(f"{ECHO_SO} not built")

    # -- configuration

    def tls_config(self, tls=None, default=None, sni=True):
        cert, key = default or self.certs["default"]
        lines = ["[tls]", f"cert = {cert}", f"key = {key}"]
        lines += [f"{k} = {v}" for k, v in (tls or {}).items()]
        if sni:
            for section, which in (("mail.example.test", "mail"),
                                   ("other.test", "wild")):
                c, k = self.certs[which]
                lines += ["", f'[tls "{section}"]', f"cert = {c}",
                          f"key = {k}"]
        return "\n" + "\n".join(lines) + "\n"

    def configure(self, listeners, tls=None, echo=None, env=None,
                  default_cert=None, sni=True, server=None,
                  modules_dir=ECHO_DIR):
        """Writes postino.conf and modules.d/echo.conf. listeners: a list
        of dicts with name and tls, optionally address, port and limits.
        server: [server] keys to add or override. Returns {name: (address,
        port)}."""
        env = env or self.env
        env.write_config(modules_dir=modules_dir, server=server,
                         extra=self.tls_config(tls, default_cert, sni))
        extra = ""
        where = {}
        for spec in listeners:
            spec = dict(spec)
            name = spec.pop("name")
            address = spec.pop("address", "127.0.0.1")
            port = spec.pop("port", None) or free_port(address)
            keys = {"address": address, "port": port,
                    "protocol": spec.pop("protocol", "echo")}
            keys.update(spec)
            extra += f"\n[listener {name}]\n"
            extra += "".join(f"{k} = {v}\n" for k, v in keys.items())
            where[name] = (address, port)
        env.write_module("echo", echo, extra=extra)
        return where

    def serve(self, listeners=({"name": "echo-tls", "tls": "implicit"},),
              tls=None, echo=None, env=None, default_cert=None, asan=None,
              server=None, modules_dir=ECHO_DIR):
        """Configures and starts postinod; returns (daemon, where)."""
        env = env or self.env
        where = self.configure(listeners, tls=tls, echo=echo, env=env,
                               default_cert=default_cert, server=server,
                               modules_dir=modules_dir)
        saved = os.environ.get("ASAN_OPTIONS")
        if asan:
            os.environ["ASAN_OPTIONS"] = ((saved + ":") if saved else "") + asan
        try:
            d = env.start()
        finally:
            if asan:
                if saved is None:
                    os.environ.pop("ASAN_OPTIONS", None)
                else:
                    os.environ["ASAN_OPTIONS"] = saved
        self.addCleanup(self.check_host_contract, d)
        d.wait_for(f"info core: postinod ready version={VERSION} modules=1 "
                   f"names=echo listeners={len(listeners)}")
        return d, where

    def check_host_contract(self, d):
        """The echo module logs what the host does against plugin.h."""
        bad = [l for l in d.log().splitlines() if "echo: host contract" in l]
        if bad:
            self.fail("the host broke plugin.h's contract:\n" +
                      "\n".join(bad[:5]))

    # -- clients

    def plain(self, where, source=None):
        address, port = where
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if source is not None:
                sock.bind((source, 0))
            sock.settimeout(IO_TIMEOUT)
            sock.connect((address, port))
        except BaseException:
            sock.close()
            raise
        return Client(self, sock)

    def tls_client(self, where, server_hostname=None, ctx=None, session=None,
                   greeting=True):
        c = self.plain(where)
        c.wrap(ctx, server_hostname, session)
        if greeting:
            self.assertEqual(c.readline(), "+OK echo ready")
        return c

    def starttls_client(self, where, server_hostname=None, source=None):
        c = self.plain(where, source=source)
        self.assertEqual(c.readline(), "+OK echo ready")
        c.starttls(server_hostname=server_hostname)
        return c

    def peer_names(self, client):
        return cert_names(client.sock.getpeercert(binary_form=True))

    def rss_kb(self, d):
        value, unit = d.proc_status("VmRSS")
        self.assertEqual(unit, "kB")
        return int(value)


# ---- implicit TLS with three different clients ---------------------------------

class ImplicitTLS(TLSTestCase):

    def test_python_client(self):
        d, where = self.serve()
        c = self.tls_client(where["echo-tls"], server_hostname="localhost")
        self.assertEqual(c.sock.version(), "TLSv1.3")
        c.expect("ECHO hello world", "+OK hello world")
        c.expect("echo MiXeD case verb", "+OK MiXeD case verb")
        info = c.info()
        self.assertEqual((info["tls"], info["version"], info["sni"],
                          info["client"], info["account"]),
                         ("1", "TLS1.3", "localhost", "127.0.0.1", "-"))
        self.assertRegex(info["cipher"], CIPHER_RE)
        c.expect("LOGIN alice@example.test", "+OK")
        self.assertEqual(c.info()["account"], "alice@example.test")
        c.expect("STARTTLS", "-ERR already in TLS")
        c.expect("FROB", "-ERR unknown command")
        c.expect("ECHO still here", "+OK still here")
        c.quit()
        d.stop()

    def test_openssl_s_client(self):
        d, where = self.serve()
        port = where["echo-tls"][1]
        cli = Interactive(self, [
            OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}",
            "-servername", "mail.example.test", "-crlf", "-ign_eof"])
        cli.wait_for(b"+OK echo ready\r\n")
        cli.send("ECHO via openssl\n")
        cli.wait_for(b"+OK via openssl\r\n")
        cli.send("INFO\n")
        cli.wait_for(re.compile(
            rb"\+OK tls=1 version=TLS1\.3 cipher=\S+ sni=mail\.example\.test "
            rb"client=127\.0\.0\.1 account=-\r\n"))
        cli.send("QUIT\n")
        cli.wait_for(b"+OK bye\r\n")
        cli.finish()
        out = cli.out
        self.assertIn(b"TLSv1.3", out, cli.text())
        self.assertEqual(cert_names(first_pem(out)),
                         ("mail.example.test", ["mail.example.test"]))
        self.assertRegex(cli.text(), r"(?m)^subject=.*CN ?= ?mail\.example\.test")
        d.stop()

    def test_gnutls_cli(self):
        d, where = self.serve()
        port = where["echo-tls"][1]
        cli = Interactive(self, [
            GNUTLS_CLI, "--insecure", "--crlf", "--print-cert",
            "-p", str(port), "--sni-hostname", "www.other.test", "127.0.0.1"])
        cli.wait_for(b"+OK echo ready\r\n")
        cli.send("ECHO via gnutls\n")
        cli.wait_for(b"+OK via gnutls\r\n")
        cli.send("INFO\n")
        cli.wait_for(re.compile(
            rb"\+OK tls=1 version=TLS1\.3 cipher=\S+ sni=www\.other\.test "
            rb"client=127\.0\.0\.1 account=-\r\n"))
        cli.send("QUIT\n")
        cli.wait_for(b"+OK bye\r\n")
        cli.finish()
        self.assertIn(b"TLS1.3", cli.out, cli.text())
        self.assertEqual(cert_names(first_pem(cli.out)),
                         ("*.other.test", ["*.other.test"]))
        d.stop()

    def test_gnutls_cli_verifies_with_the_certificate_as_ca(self):
        """The served default certificate verifies against itself."""
        d, where = self.serve()
        port = where["echo-tls"][1]
        cli = Interactive(self, [
            GNUTLS_CLI, "--x509cafile", self.certs["default"][0], "--crlf",
            "-p", str(port), "localhost"])
        cli.wait_for(b"+OK echo ready\r\n")
        cli.send("QUIT\n")
        cli.wait_for(b"+OK bye\r\n")
        cli.finish()
        self.assertNotIn(b"certificate is NOT trusted", cli.out, cli.text())
        d.stop()


# ---- SNI ---------------------------------------------------------------------

class SNI(TLSTestCase):

    CASES = (
        ("mail.example.test", "mail.example.test", ["mail.example.test"]),
        ("MAIL.Example.TEST", "mail.example.test", ["mail.example.test"]),
        ("imap.other.test", "*.other.test", ["*.other.test"]),
        ("smtp.other.test", "*.other.test", ["*.other.test"]),
        ("localhost", "localhost", ["localhost"]),
        ("unknown.example.net", "localhost", ["localhost"]),
        ("other.test", "localhost", ["localhost"]),  # * is one label
        (None, "localhost", ["localhost"]),
    )

    def test_python_sni_picks_the_certificate(self):
        d, where = self.serve()
        for name, cn, sans in self.CASES:
            with self.subTest(sni=name):
                c = self.tls_client(where["echo-tls"], server_hostname=name)
                self.assertEqual(self.peer_names(c), (cn, sans))
                info = c.info()
                if name is None:
                    self.assertEqual(info["sni"], "-")
                elif name == name.lower():
                    self.assertEqual(info["sni"], name)
                c.quit()
        d.stop()

    def test_openssl_sni_picks_the_certificate(self):
        d, where = self.serve()
        port = where["echo-tls"][1]
        for name, cn, sans in self.CASES:
            if name is None:
                continue
            with self.subTest(sni=name):
                code, out, err = run_tool(
                    [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}",
                     "-servername", name, "-crlf", "-ign_eof"],
                    b"QUIT\n")
                text = (out + err).decode(errors="replace")
                self.assertIn(b"+OK echo ready\r\n", out, text)
                self.assertIn(b"+OK bye\r\n", out, text)
                self.assertEqual(cert_names(first_pem(out)), (cn, sans), text)
        d.stop()

    def test_starttls_sni(self):
        d, where = self.serve([{"name": "echo-st", "tls": "starttls"}])
        for name, cn, sans in self.CASES:
            with self.subTest(sni=name):
                c = self.starttls_client(where["echo-st"],
                                         server_hostname=name)
                self.assertEqual(self.peer_names(c), (cn, sans))
                c.quit()
        d.stop()


# ---- protocol versions and resumption ---------------------------------------------

class Versions(TLSTestCase):

    def attempt(self, client, version, where):
        """Tries one handshake limited to version ("TLS1.1"/"TLS1.0")
        with client; returns the INFO line on success, None on failure."""
        address, port = where
        if client == "python":
            pv = {"TLS1.1": ssl.TLSVersion.TLSv1_1,
                  "TLS1.0": ssl.TLSVersion.TLSv1}[version]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    ctx = client_context(pv, pv, "DEFAULT:@SECLEVEL=0")
            except (ssl.SSLError, ValueError):
                return None
            sock = socket.create_connection((address, port),
                                            timeout=IO_TIMEOUT)
            try:
                s = ctx.wrap_socket(sock)
            except (ssl.SSLError, OSError):
                sock.close()
                return None
            c = Client(self, s)
            self.assertEqual(c.readline(), "+OK echo ready")
            line = c.cmd("INFO")
            c.quit()
            return line
        if client == "openssl":
            flag = {"TLS1.1": "-tls1_1", "TLS1.0": "-tls1"}[version]
            argv = [OPENSSL, "s_client", "-connect", f"{address}:{port}",
                    flag, "-cipher", "DEFAULT:@SECLEVEL=0", "-crlf",
                    "-ign_eof"]
        else:
            argv = [GNUTLS_CLI, "--insecure", "--crlf", "-p", str(port),
                    "--priority", "NORMAL:-VERS-ALL:+VERS-" + version,
                    address]
        code, out, err = run_tool(argv, b"INFO\nQUIT\n")
        m = re.search(rb"(\+OK tls=[^\r\n]*)\r\n", out)
        return m.group(1).decode() if m else None

    def test_tls11_and_tls10_refused_by_default(self):
        """Each client is first shown able to do the old version (against
        a server whose priority allows it), then refused by default."""
        d_default, w_default = self.serve()
        other = harness.Env(self)
        d_old, w_old = self.serve(env=other, tls={"priority": WITH_OLD_TLS})
        clients = ["python"]
        if OPENSSL:
            clients.append("openssl")
        if GNUTLS_CLI:
            clients.append("gnutls")
        capable = []
        for version in ("TLS1.1", "TLS1.0"):
            for client in clients:
                with self.subTest(client=client, version=version):
                    line = self.attempt(client, version, w_old["echo-tls"])
                    if line is None:
                        continue   # this client cannot speak it here
                    capable.append((client, version))
                    self.assertRegex(line, r"^\+OK tls=1 version=%s " %
                                     re.escape(version))
                    self.assertIsNone(
                        self.attempt(client, version, w_default["echo-tls"]),
                        f"{client} negotiated {version} with the default "
                        f"priority")
        if GNUTLS_CLI:
            self.assertIn(("gnutls", "TLS1.1"), capable,
                          "gnutls-cli could not do TLS1.1 even with a "
                          "[tls] priority allowing it")
        if not capable:
            self.skipTest("no local client can offer TLS < 1.2")
        # The servers still serve TLS 1.3.
        self.tls_client(w_default["echo-tls"]).quit()
        d_old.stop()
        d_default.stop()

    def test_old_client_gets_protocol_version_alert(self):
        """A client offering only TLS 1.0 or 1.1 (a ClientHello made here,
        so no local client's own refusal can skip this) gets the fatal
        protocol_version alert, then EOF, and the log names the highest
        version it offered: the operator can tell a customer why an old
        mail program fails. With supported_versions (RFC 8446), that
        list, not legacy_version, is what the client offers."""
        d, where = self.serve([{"name": "echo-tls", "tls": "implicit"},
                               {"name": "echo-st", "tls": "starttls"}])
        cases = [("echo-tls", 0x0301, None, "TLS1.0"),
                 ("echo-tls", 0x0302, None, "TLS1.1"),
                 ("echo-tls", 0x0303, [0x0a0a, 0x0302, 0x0301], "TLS1.1"),
                 ("echo-st", 0x0301, None, "TLS1.0")]
        for listener, legacy, versions, name in cases:
            with self.subTest(listener=listener, offered=name,
                              supported_versions=versions):
                since = d.mark()
                c = self.plain(where[listener])
                if listener == "echo-st":
                    self.assertEqual(c.readline(), "+OK echo ready")
                    c.send("STARTTLS\r\n")
                    c.read_go_ahead()
                c.send(client_hello(legacy, versions))
                # alert(21), record version 3.x, length 2, fatal(2),
                # protocol_version(70); nothing else before the close.
                self.assertRegex(c.expect_eof(),
                                 rb"\A\x15\x03[\x01-\x03]\x00\x02\x02\x46\Z")
                port = c.sock.getsockname()[1]
                d.wait_for(f"TLS handshake failed: the client offers at "
                           f"most {name}, which the [tls] priority does "
                           f"not allow (client=127.0.0.1:{port} "
                           f"listener={listener})", since=since)
        # A current client is still served.
        self.tls_client(where["echo-tls"]).quit()
        d.stop()

    def test_priority_limited_to_tls12(self):
        d, where = self.serve(tls={"priority": TLS12_ONLY})
        ctx = client_context()
        c = self.tls_client(where["echo-tls"], "localhost", ctx=ctx)
        self.assertEqual(c.sock.version(), "TLSv1.2")
        info = c.info()
        self.assertEqual((info["version"], info["sni"]), ("TLS1.2", "localhost"))
        session = c.sock.session
        c.quit()
        # TLS 1.2 resumption too.
        c2 = self.tls_client(where["echo-tls"], "localhost", ctx=ctx,
                             session=session)
        self.assertTrue(c2.sock.session_reused, "TLS1.2 session not resumed")
        c2.expect("ECHO resumed", "+OK resumed")
        c2.quit()
        # A client limited to TLS 1.3 is refused.
        ctx13 = client_context(ssl.TLSVersion.TLSv1_3)
        sock = socket.create_connection(where["echo-tls"], timeout=IO_TIMEOUT)
        with self.assertRaises((ssl.SSLError, OSError)):
            ctx13.wrap_socket(sock)
        sock.close()
        d.stop()

    def test_session_resumption_tls13(self):
        d, where = self.serve()
        ctx = client_context()
        c = self.tls_client(where["echo-tls"], "localhost", ctx=ctx)
        self.assertFalse(c.sock.session_reused)
        # TLS 1.3 tickets arrive after the handshake: the greeting read
        # above has processed them.
        c.expect("ECHO first", "+OK first")
        session = c.sock.session
        self.assertIsNotNone(session)
        self.assertTrue(session.has_ticket, "the server sent no ticket")
        c.quit()
        c2 = self.tls_client(where["echo-tls"], "localhost", ctx=ctx,
                             session=session)
        self.assertTrue(c2.sock.session_reused, "TLS1.3 session not resumed")
        c2.expect("ECHO second", "+OK second")
        self.assertEqual(c2.info()["version"], "TLS1.3")
        c2.quit()
        d.stop()


# ---- STARTTLS -------------------------------------------------------------------------

class StartTLS(TLSTestCase):

    def serve_st(self, **kw):
        return self.serve([{"name": "echo-st", "tls": "starttls"}], **kw)

    def test_python_starttls(self):
        d, where = self.serve_st()
        c = self.plain(where["echo-st"])
        self.assertEqual(c.readline(), "+OK echo ready")
        self.assertEqual(c.cmd("INFO"), "+OK tls=0 version=- cipher=- sni=- "
                         "client=127.0.0.1 account=-")
        c.expect("ECHO in clear", "+OK in clear")
        c.expect("LOGIN before", "+OK")
        c.starttls(server_hostname="mail.example.test")
        self.assertEqual(self.peer_names(c),
                         ("mail.example.test", ["mail.example.test"]))
        info = c.info()
        self.assertEqual((info["tls"], info["version"], info["sni"],
                          info["client"], info["account"]),
                         ("1", "TLS1.3", "mail.example.test", "127.0.0.1", "-"))
        self.assertRegex(info["cipher"], CIPHER_RE)
        c.expect("STARTTLS", "-ERR already in TLS")
        c.expect("ECHO encrypted", "+OK encrypted")
        c.quit()
        d.stop()

    def test_injected_commands_are_discarded(self):
        """CVE-2011-0411: commands sent with STARTTLS, before the
        handshake, must not be executed (nor answered) afterwards."""
        d, where = self.serve_st()
        c = self.plain(where["echo-st"])
        self.assertEqual(c.readline(), "+OK echo ready")
        c.send(b"STARTTLS\r\nECHO injected\r\n")
        c.read_go_ahead()
        c.wrap(server_hostname="localhost")
        self.assertEqual(c.readline(), "+OK tls ready")
        # Whatever the server might have queued for "ECHO injected" would
        # come before the reply to this.
        c.send("ECHO after\r\n")
        self.assertEqual(c.readline(), "+OK after",
                         "the injected command was answered")
        c.expect("STARTTLS", "-ERR already in TLS")
        c.quit()

        # An unfinished line sent with STARTTLS is dropped as well: its
        # end, sent after the handshake, is a line of its own.
        c = self.plain(where["echo-st"])
        self.assertEqual(c.readline(), "+OK echo ready")
        c.send(b"STARTTLS\r\nECHO par")
        c.read_go_ahead()
        c.wrap(server_hostname="localhost")
        self.assertEqual(c.readline(), "+OK tls ready")
        c.send(b"tial\r\nECHO ok\r\n")
        self.assertEqual(c.readline(), "-ERR unknown command")
        self.assertEqual(c.readline(), "+OK ok")
        c.quit()

        # Injection after a pipelined batch: the commands before STARTTLS
        # are answered, the ones after it are not.
        c = self.plain(where["echo-st"])
        self.assertEqual(c.readline(), "+OK echo ready")
        c.send(b"ECHO one\r\nECHO two\r\nSTARTTLS\r\nLOGIN mallory\r\n"
               b"ECHO three\r\n")
        self.assertEqual(c.readline(), "+OK one")
        self.assertEqual(c.readline(), "+OK two")
        c.read_go_ahead()
        c.wrap(server_hostname="localhost")
        self.assertEqual(c.readline(), "+OK tls ready")
        self.assertEqual(c.info()["account"], "-")
        c.quit()
        d.stop()

    def test_gnutls_cli_starttls(self):
        d, where = self.serve_st()
        port = where["echo-st"][1]
        cli = Interactive(self, [
            GNUTLS_CLI, "--insecure", "--crlf", "--starttls", "--print-cert",
            "-p", str(port), "--sni-hostname", "imap.other.test",
            "127.0.0.1"])
        cli.wait_for(b"+OK echo ready\r\n")
        cli.send("STARTTLS\n")
        cli.wait_for(b"+OK begin TLS\r\n")
        # gnutls-cli --starttls starts the handshake on SIGALRM.
        cli.proc.send_signal(signal.SIGALRM)
        cli.wait_for(b"+OK tls ready\r\n")
        cli.send("INFO\n")
        cli.wait_for(re.compile(
            rb"\+OK tls=1 version=TLS1\.3 cipher=\S+ sni=imap\.other\.test "
            rb"client=127\.0\.0\.1 account=-\r\n"))
        cli.send("QUIT\n")
        cli.wait_for(b"+OK bye\r\n")
        cli.finish()
        self.assertEqual(cert_names(first_pem(cli.out)),
                         ("*.other.test", ["*.other.test"]))
        d.stop()

    def test_failed_starttls_handshake_closes(self):
        d, where = self.serve_st()
        c = self.plain(where["echo-st"])
        self.assertEqual(c.readline(), "+OK echo ready")
        c.send("STARTTLS\r\n")
        c.read_go_ahead()
        c.send(b"this is not a ClientHello\r\n" * 4)
        c.expect_eof()   # whatever alert came first
        other = self.plain(where["echo-st"])
        self.assertEqual(other.readline(), "+OK echo ready")
        other.quit()
        d.stop()


# ---- lines, literals, pipelining, back-pressure ----------------------------------------

class Streams(TLSTestCase):

    # A small quarantine so that RSS measures what the server keeps, not
    # what AddressSanitizer holds back from reuse.
    ASAN_SMALL = "quarantine_size_mb=1:thread_local_quarantine_size_kb=64"

    def test_line_length_limit(self):
        d, where = self.serve()
        w = where["echo-tls"]
        a = self.tls_client(w)
        b = self.tls_client(w)
        # Exactly max_line (1024) bytes is a line; one more is too long.
        a.expect("ECHO " + "x" * 1019, "+OK " + "x" * 1019)
        a.expect("ECHO " + "x" * 1020, "-ERR line too long")
        # Another client is served while a long line is half sent.
        a.send(b"ECHO " + b"y" * 50000)
        b.expect("ECHO meanwhile", "+OK meanwhile")
        a.send(b"y" * 50000 + b"\r\n")
        self.assertEqual(a.readline(), "-ERR line too long")
        # A good line resets the count.
        a.expect("ECHO fine", "+OK fine")
        a.send(b"z" * 5000 + b"\r\n")
        self.assertEqual(a.readline(), "-ERR line too long")
        a.send(b"z" * 5000 + b"\n")   # a bare LF ends a line too
        self.assertEqual(a.readline(), "-ERR line too long")
        a.send(b"z" * 5000 + b"\r\n")
        self.assertEqual(a.readline(), "-ERR too many long lines")
        self.assertEqual(a.expect_eof(), b"")
        b.expect("ECHO still", "+OK still")
        b.quit()
        d.stop()

    def test_max_line_from_module_config(self):
        d, where = self.serve(echo={"max_line": 16})
        c = self.tls_client(where["echo-tls"])
        c.expect("ECHO 0123456789a", "+OK 0123456789a")   # 16 bytes
        c.expect("ECHO 0123456789ab", "-ERR line too long")
        c.quit()
        d.stop()

    def test_huge_line_memory_is_bounded(self):
        d, where = self.serve(asan=self.ASAN_SMALL)
        w = where["echo-tls"]
        a = self.tls_client(w)
        b = self.tls_client(w)
        chunk = b"x" * 65536
        # Warm up: buffers and allocator caches reach their steady size.
        for _ in range(16):
            a.send(chunk)
        a.send(b"\r\n")
        self.assertEqual(a.readline(), "-ERR line too long")
        a.expect("ECHO warm", "+OK warm")
        before = self.rss_kb(d)
        total = 10 * 1024 * 1024
        for i in range(total // len(chunk)):
            a.send(chunk)
            if i == total // len(chunk) // 2:
                b.expect("ECHO meanwhile", "+OK meanwhile")
        mid = self.rss_kb(d)
        a.send(b"\r\n")
        self.assertEqual(a.readline(), "-ERR line too long")
        after = self.rss_kb(d)
        a.expect("ECHO after", "+OK after")
        grown = max(mid, after) - before
        self.assertLess(grown, 6 * 1024,
                        f"RSS grew by {grown} kB for a 10 MB line "
                        f"(before {before}, mid {mid}, after {after} kB)")
        a.quit()
        b.quit()
        d.stop()

    def test_literal_streamed(self):
        d, where = self.serve()
        c = self.tls_client(where["echo-tls"])
        rnd = random.Random(1234)
        data = bytes(rnd.getrandbits(8) for _ in range(1000000))
        data = data[:500000] + b"\r\nQUIT\r\n\0" + data[500009:]
        self.assertEqual(len(data), 1000000)
        c.expect("LITERAL 1000000", "+OK send 1000000 bytes")
        for i in range(0, len(data), 32768):
            c.send(data[i:i + 32768])
        self.assertEqual(c.readline(),
                         "+OK got 1000000 bytes fnv=%08x" % fnv1a(data))
        c.expect("ECHO lines again", "+OK lines again")
        # A literal arriving in the same write as its command and the
        # next command: the switch happens mid-buffer, both ways.
        small = b"ab\r\ncd\nef"
        c.send(b"LITERAL 9\r\n" + small + b"ECHO next\r\nLITERAL 0\r\n")
        self.assertEqual(c.readline(), "+OK send 9 bytes")
        self.assertEqual(c.readline(), "+OK got 9 bytes fnv=%08x" % fnv1a(small))
        self.assertEqual(c.readline(), "+OK next")
        self.assertEqual(c.readline(), "+OK send 0 bytes")
        self.assertEqual(c.readline(), "+OK got 0 bytes fnv=811c9dc5")
        # Literal bytes are not lines: none is too long.
        c.expect("LITERAL 100000", "+OK send 100000 bytes")
        c.send(b"q" * 100000)
        self.assertEqual(c.readline(), "+OK got 100000 bytes fnv=%08x"
                         % fnv1a(b"q" * 100000))
        c.quit()
        d.stop()

    def test_pipelining_keeps_order(self):
        d, where = self.serve()
        c = self.tls_client(where["echo-tls"])
        c.send(b"SLOW 200\r\nECHO a\r\n")
        self.assertEqual(c.readline(), "+OK resumed")
        self.assertEqual(c.readline(), "+OK a")
        c.send(b"ECHO 1\r\nSLOW 50\r\nECHO 2\r\nSLOW 10\r\nSLOW 0\r\n"
               b"LITERAL 3\r\nxyzECHO 3\r\nQUIT\r\nECHO never\r\n")
        got = [c.readline() for _ in range(9)]
        self.assertEqual(got, [
            "+OK 1", "+OK resumed", "+OK 2", "+OK resumed", "+OK resumed",
            "+OK send 3 bytes", "+OK got 3 bytes fnv=%08x" % fnv1a(b"xyz"),
            "+OK 3", "+OK bye"])
        self.assertEqual(c.expect_eof(), b"")
        # Many pipelined commands in one write.
        c = self.tls_client(where["echo-tls"])
        c.send("".join(f"ECHO {i}\r\n" for i in range(2000)))
        for i in range(2000):
            self.assertEqual(c.readline(), f"+OK {i}")
        c.quit()
        d.stop()

    def test_big_output_read_slowly(self):
        d, where = self.serve()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        sock.settimeout(IO_TIMEOUT)
        sock.connect(where["echo-tls"])
        c = Client(self, sock)
        c.wrap()
        self.assertEqual(c.readline(), "+OK echo ready")
        n = 5000000
        c.send(b"BIG %d\r\nECHO after big\r\n" % n)
        # Slowly: small reads for the first megabyte.
        got = bytearray()
        deadline = time.monotonic() + 120
        while len(got) < 1000000:
            self.assertLess(time.monotonic(), deadline, "BIG too slow")
            c.sock.settimeout(IO_TIMEOUT)
            data = c.sock.recv(1024)
            self.assertTrue(data, f"EOF after {len(got)} bytes")
            got += data
        c.buf = bytes(got) + c.buf
        data = c.read_exact(n + len(b"\r\n+OK end\r\n"), timeout=120)
        expected = big_pattern(n)
        if data[:n] != expected:
            first = next(i for i in range(n) if data[i] != expected[i])
            self.fail(f"BIG output differs from byte {first}: "
                      f"{data[first:first + 40]!r}")
        self.assertEqual(data[n:], b"\r\n+OK end\r\n")
        self.assertEqual(c.readline(), "+OK after big")
        c.quit()
        d.stop()

    def test_unread_output_is_bounded(self):
        """Back-pressure: a client that never reads while 50 MB are asked
        for does not make the server buffer them."""
        d, where = self.serve(asan=self.ASAN_SMALL)
        w = where["echo-tls"]
        a = self.tls_client(w)
        b = self.tls_client(w)
        a.send("BIG 100000\r\n")
        self.assertEqual(a.read_exact(100011)[-11:], b"\r\n+OK end\r\n")
        b.expect("ECHO warm", "+OK warm")
        before = self.rss_kb(d)
        a.send("BIG 50000000\r\n")
        # Wait until the server has started answering (bytes reach a's
        # socket), then make one round trip on b: the loop has come back
        # from the BIG command by then.
        self.env.poll(lambda: unread_bytes(a.sock) > 0,
                      "BIG output reaching the client")
        b.expect("ECHO barrier", "+OK barrier")
        b.expect("ECHO barrier2", "+OK barrier2")
        after = self.rss_kb(d)
        grown = after - before
        self.assertLess(grown, 20 * 1024,
                        f"RSS grew by {grown} kB while 50 MB were unread "
                        f"(before {before}, after {after} kB)")
        # The stalled client goes away; the server carries on.
        a.close()
        b.expect("ECHO alive", "+OK alive")
        b.quit()
        d.stop()


# ---- limits and timeouts -----------------------------------------------------------------

class Limits(TLSTestCase):

    def refused(self, c):
        self.assertEqual(c.readline(), "-ERR too many connections")
        self.assertEqual(c.expect_eof(), b"")

    def test_max_connections_per_ip(self):
        d, where = self.serve([{"name": "echo-st", "tls": "starttls",
                                "max_connections_per_ip": 2}])
        w = where["echo-st"]
        c1 = self.plain(w)
        self.assertEqual(c1.readline(), "+OK echo ready")
        c2 = self.starttls_client(w)   # TLS sessions count the same
        c3 = self.plain(w)
        self.refused(c3)
        other = self.plain(w, source="127.0.0.2")
        self.assertEqual(other.readline(), "+OK echo ready")
        other.expect("ECHO from .2", "+OK from .2")
        c2.expect("ECHO c2", "+OK c2")
        # A closed connection frees its slot (the server sees the close
        # asynchronously: poll, each attempt refused or served).
        c1.quit()

        def slot_free():
            c = self.plain(w)
            line = c.readline()
            if line == "+OK echo ready":
                return c
            self.assertEqual(line, "-ERR too many connections")
            c.close()
            return None
        c4 = self.env.poll(slot_free, "a slot freed by c1's QUIT")
        c4.expect("ECHO c4", "+OK c4")
        self.refused(self.plain(w))
        c4.quit()
        c2.quit()
        other.quit()
        d.stop()

    def test_max_connections(self):
        d, where = self.serve([{"name": "echo-st", "tls": "starttls",
                                "max_connections": 2}])
        w = where["echo-st"]
        c1 = self.plain(w, source="127.0.0.1")
        c2 = self.plain(w, source="127.0.0.2")
        self.assertEqual(c1.readline(), "+OK echo ready")
        self.assertEqual(c2.readline(), "+OK echo ready")
        self.refused(self.plain(w, source="127.0.0.3"))
        self.refused(self.plain(w, source="127.0.0.1"))
        c1.expect("ECHO c1", "+OK c1")
        c2.quit()

        def slot_free():
            c = self.plain(w, source="127.0.0.3")
            line = c.readline()
            if line == "+OK echo ready":
                return c
            self.assertEqual(line, "-ERR too many connections")
            c.close()
            return None
        c3 = self.env.poll(slot_free, "a slot freed by c2's QUIT")
        c3.quit()
        c1.quit()
        d.stop()

    def test_limit_on_implicit_listener(self):
        """Over the limit on an implicit-TLS listener the client is not
        served (refused in TLS, or closed before the handshake ends)."""
        d, where = self.serve([{"name": "echo-tls", "tls": "implicit",
                                "max_connections_per_ip": 1}])
        w = where["echo-tls"]
        c1 = self.tls_client(w)
        sock = socket.create_connection(w, timeout=IO_TIMEOUT)
        try:
            s = client_context().wrap_socket(sock)
        except (ssl.SSLError, OSError):
            sock.close()
        else:
            c = Client(self, s)
            first = c.expect_eof()
            self.assertNotIn(b"+OK echo ready", first)
            self.assertIn(first, (b"", b"-ERR too many connections\r\n"))
        c1.expect("ECHO c1", "+OK c1")
        c1.quit()
        d.stop()

    def test_idle_timeout(self):
        d, where = self.serve([
            {"name": "echo-st", "tls": "starttls", "idle_timeout": "1s"},
            {"name": "echo-tls", "tls": "implicit", "idle_timeout": "1s"}])
        plain = self.plain(where["echo-st"])
        self.assertEqual(plain.readline(), "+OK echo ready")
        tls = self.tls_client(where["echo-tls"])
        started = self.starttls_client(where["echo-st"])
        for c in (plain, tls, started):
            self.assertEqual(c.readline(), "-ERR idle timeout")
            self.assertEqual(c.expect_eof(), b"")
        d.stop()

    def test_idle_timeout_from_the_protocol(self):
        d, where = self.serve(echo={"idle_timeout": "1s"})
        c = self.tls_client(where["echo-tls"])
        self.assertEqual(c.readline(), "-ERR idle timeout")
        self.assertEqual(c.expect_eof(), b"")
        d.stop()

    def test_preauth_timeout_again_after_logging_out(self):
        """LOGIN gives a session the long idle timeout (it outlives an
        unauthenticated neighbour); a STARTTLS then resets the session
        (the echo module clears its account), and the short
        preauth_timeout applies again at once, not only once the long
        timer would have run out."""
        d, where = self.serve([{"name": "echo-st", "tls": "starttls",
                                "preauth_timeout": "1s"}])
        w = where["echo-st"]
        c = self.plain(w)
        self.assertEqual(c.readline(), "+OK echo ready")
        c.expect("LOGIN alice", "+OK")
        other = self.plain(w)
        self.assertEqual(other.readline(), "+OK echo ready")
        self.assertEqual(other.expect_eof(), b"-ERR idle timeout\r\n")
        c.expect("ECHO still here", "+OK still here")
        c.starttls()
        self.assertEqual(c.readline(), "-ERR idle timeout")
        self.assertEqual(c.expect_eof(), b"")
        self.assertEqual(d.log().count("idle timeout after 1 s before "
                                       "login (preauth_timeout)"), 2)
        d.stop()

    def test_command_timeout_without_its_own_reply(self):
        """A module that sets no command_timeout_reply (built before
        there was one) has its timeout_reply sent instead."""
        d, where = self.serve([{"name": "echo-st", "tls": "starttls",
                                "command_timeout": "1s"}])
        c = self.plain(where["echo-st"])
        self.assertEqual(c.readline(), "+OK echo ready")
        c.send("ECHO never ending")
        self.assertEqual(c.expect_eof(), b"-ERR idle timeout\r\n")
        d.wait_for('disconnect reason="command timeout"')
        d.stop()

    def test_handshake_timeout(self):
        d, where = self.serve(
            [{"name": "echo-tls", "tls": "implicit"},
             {"name": "echo-st", "tls": "starttls"}],
            tls={"handshake_timeout": "1s"})
        # Connected to the implicit-TLS port, sending nothing.
        silent = self.plain(where["echo-tls"])
        self.assertNotIn(b"+OK", silent.expect_eof())
        # STARTTLS go-ahead, then nothing.
        st = self.plain(where["echo-st"])
        self.assertEqual(st.readline(), "+OK echo ready")
        st.send("STARTTLS\r\n")
        st.read_go_ahead()
        self.assertNotIn(b"+OK", st.expect_eof())
        # Garbage instead of a ClientHello.
        junk = self.plain(where["echo-tls"])
        junk.send(b"GET / HTTP/1.0\r\n\r\n")
        self.assertNotIn(b"+OK", junk.expect_eof())
        # A prompt client is served.
        self.tls_client(where["echo-tls"]).quit()
        d.stop()

    def test_sigterm_with_open_sessions(self):
        """SIGTERM ends every kind of session in progress and exits 0
        without leaks (checked by Daemon.stop)."""
        d, where = self.serve([{"name": "echo-tls", "tls": "implicit"},
                               {"name": "echo-st", "tls": "starttls"}])
        w, wst = where["echo-tls"], where["echo-st"]
        idle = self.tls_client(w)
        clear = self.plain(wst)
        self.assertEqual(clear.readline(), "+OK echo ready")
        half_hs = self.plain(w)             # TLS handshake never started
        go_ahead = self.plain(wst)          # STARTTLS, no handshake
        self.assertEqual(go_ahead.readline(), "+OK echo ready")
        go_ahead.send("STARTTLS\r\n")
        go_ahead.read_go_ahead()
        literal = self.tls_client(w)
        literal.expect("LITERAL 1000", "+OK send 1000 bytes")
        literal.send(b"x" * 10)
        slow = self.tls_client(w)
        slow.send("SLOW 600000\r\n")
        stalled = self.tls_client(w)
        stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.send("BIG 50000000\r\n")
        partial = self.tls_client(w)
        partial.send(b"ECHO unfinished")
        # Every session is known to the server before the signal.
        idle.expect("ECHO ping", "+OK ping")
        clear.expect("ECHO ping", "+OK ping")
        d.stop()
        for c in (idle, clear, half_hs, go_ahead, literal, slow, partial):
            c.expect_eof()


# ---- privilege separation ------------------------------------------------------

def fingerprint_of_file(cert):
    with open(cert) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def process_state(pid):
    """The state letter of /proc/PID/stat ('Z' for a zombie), or None once
    the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


@unittest.skipUnless(os.geteuid() == 0, "needs root")
class PrivilegeSeparation(TLSTestCase):
    """Started as root with server.user = nobody, postinod serves from a
    child running as nobody; the root parent opens certificate files for
    it, so a SIGHUP still reloads a root:root 0600 key."""

    def serve_as_nobody(self, **kw):
        """The echo listeners with a [tls] pair only root can read. The
        test's directory and module must be readable by nobody."""
        env = self.env
        os.chmod(env.root, 0o755)
        mods = env.path("mods")
        os.mkdir(mods)
        shutil.copy(ECHO_SO, mods)
        os.chmod(os.path.join(mods, "echo.so"), 0o755)
        tls_dir = env.path("tls")
        os.mkdir(tls_dir)
        os.chmod(tls_dir, 0o755)
        self.cert = os.path.join(tls_dir, "cert.pem")
        self.key = os.path.join(tls_dir, "key.pem")
        self.install(*self.certs["default"])
        return self.serve([{"name": "echo-tls", "tls": "implicit"},
                           {"name": "echo-st", "tls": "starttls"}],
                          default_cert=(self.cert, self.key),
                          server={"user": "nobody"}, modules_dir=mods, **kw)

    def install(self, cert, key):
        """Puts a pair in place as certbot does: new files, renamed over
        the old ones; the key root:root 0600."""
        for src, dst, mode in ((key, self.key, 0o600),
                               (cert, self.cert, 0o644)):
            with open(src, "rb") as f:
                data = f.read()
            fd = os.open(dst + ".new", os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                         mode)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chown(dst + ".new", 0, 0)
            os.rename(dst + ".new", dst)

    def fingerprint(self, client):
        der = client.sock.getpeercert(binary_form=True)
        return hashlib.sha256(der).hexdigest()

    def test_sighup_reloads_root_only_key_after_drop(self):
        d, where = self.serve_as_nobody()
        w = where["echo-tls"]
        nobody = pwd.getpwnam("nobody")
        server = d.server_pid()
        self.assertNotEqual(server, d.pid)
        self.assertEqual(d.proc_status("Uid"), [str(nobody.pw_uid)] * 4)
        self.assertEqual(d.proc_status("Gid"), [str(nobody.pw_gid)] * 4)
        self.assertEqual(d.proc_status("Uid", pid=d.pid), ["0"] * 4)
        self.assertRegex(d.log(), harness.log_line_re(
            f"info privsep: pid {d.pid} stays root to open [tls] files "
            f"for the server, pid {server}"))
        # The server itself cannot read the key.
        self.assertEqual(os.stat(self.key).st_mode & 0o777, 0o600)
        old = self.tls_client(w)
        self.assertEqual(self.fingerprint(old),
                         fingerprint_of_file(self.certs["default"][0]))
        old_st = self.starttls_client(where["echo-st"])

        renew = self.env.path("renew")
        os.makedirs(renew)
        new_cert, new_key = make_cert(renew, "renewed", "renewed.localhost",
                                      ["renewed.localhost"])
        self.install(new_cert, new_key)
        mark = d.mark()
        d.signal(signal.SIGHUP)
        line = d.wait_for(r"info core: reloaded |reload refused", regex=True,
                          since=mark)
        self.assertIn("reloaded", line)
        fresh = self.tls_client(w)
        self.assertEqual(self.fingerprint(fresh),
                         fingerprint_of_file(new_cert))
        self.assertEqual(self.peer_names(fresh)[0], "renewed.localhost")
        # The SNI certificates, in a directory only root may enter, too.
        sni = self.tls_client(w, server_hostname="mail.example.test")
        self.assertEqual(self.fingerprint(sni),
                         fingerprint_of_file(self.certs["mail"][0]))
        # Sessions opened before the reload go on with the old one.
        old.expect("ECHO after reload", "+OK after reload")
        self.assertEqual(self.fingerprint(old),
                         fingerprint_of_file(self.certs["default"][0]))
        old_st.expect("ECHO after reload", "+OK after reload")
        # Still the same unprivileged server.
        self.assertEqual(d.server_pid(), server)
        self.assertEqual(d.proc_status("Uid"), [str(nobody.pw_uid)] * 4)
        for c in (old, old_st, fresh, sni):
            c.quit()
        d.stop()

    def test_reload_adds_a_root_only_sni_certificate(self):
        """A [tls "name"] section added before the SIGHUP: the parent
        re-reads the configuration as root before it opens the files."""
        d, where = self.serve_as_nobody()
        w = where["echo-tls"]
        renew = self.env.path("other")
        os.makedirs(renew, 0o700)
        cert, key = make_cert(renew, "extra", "extra.example.test",
                              ["extra.example.test"])
        os.chmod(key, 0o600)
        with open(self.env.conf, "a") as f:
            f.write(f'\n[tls "extra"]\ncert = {cert}\nkey = {key}\n')
        d.reload()
        c = self.tls_client(w, server_hostname="extra.example.test")
        self.assertEqual(self.fingerprint(c), fingerprint_of_file(cert))
        c.quit()
        d.stop()

    def test_exit_code_and_signals_pass_through(self):
        """SIGTERM to both processes at once, as systemd sends it, stops
        the server cleanly; the parent exits with the server's code."""
        d, where = self.serve_as_nobody()
        server = d.server_pid()
        os.kill(server, signal.SIGTERM)
        d.stop()    # SIGTERM to the parent too; asserts exit 0
        self.assertIsNone(harness.sanitizer_report(d.log()))
        self.assertIn(process_state(server), (None, "Z"))

    def test_parent_exits_with_a_killed_server(self):
        d, where = self.serve_as_nobody()
        server = d.server_pid()
        os.kill(server, signal.SIGKILL)
        self.assertEqual(d.proc.wait(timeout=harness.STOP_TIMEOUT),
                         128 + signal.SIGKILL)
        self.assertRegex(d.log(), harness.log_line_re(
            f"error privsep: server process {server} killed by signal 9 "
            f"(Killed)"))

    def test_server_stops_when_parent_dies(self):
        d, where = self.serve_as_nobody()
        server = d.server_pid()
        d.proc.kill()
        d.proc.wait(timeout=harness.STOP_TIMEOUT)
        # Its parent-death signal is a SIGTERM: a clean stop.
        self.env.poll(lambda: process_state(server) in (None, "Z"),
                      "the server to exit", timeout=harness.STOP_TIMEOUT)
        log = d.log()
        self.assertRegex(log, harness.log_line_re(
            "info core: SIGTERM: shutting down"))
        self.assertRegex(log, harness.log_line_re("info core: stopped"))
        self.assertIsNone(harness.sanitizer_report(log), log)


# ---- reload, refused starts, IPv6, -t ----------------------------------------------------

class Operations(TLSTestCase):

    def test_sighup_renews_certificate(self):
        cert = self.env.path("tls", "cert.pem")
        key = self.env.path("tls", "key.pem")
        os.makedirs(os.path.dirname(cert))
        shutil.copy(self.certs["default"][0], cert)
        shutil.copy(self.certs["default"][1], key)
        d, where = self.serve([{"name": "echo-tls", "tls": "implicit"},
                               {"name": "echo-st", "tls": "starttls"}],
                              default_cert=(cert, key))
        w = where["echo-tls"]
        old = self.tls_client(w)
        self.assertEqual(self.peer_names(old)[0], "localhost")
        old_st = self.starttls_client(where["echo-st"])
        # Renewed in place: a new key and another name.
        tmp = self.env.path("renew")
        os.makedirs(tmp)
        new_cert, new_key = make_cert(tmp, "renewed", "renewed.localhost",
                                      ["renewed.localhost"])
        shutil.copy(new_key, key)
        shutil.copy(new_cert, cert)
        d.reload()
        fresh = self.tls_client(w)
        self.assertEqual(self.peer_names(fresh),
                         ("renewed.localhost", ["renewed.localhost"]))
        # SNI certificates are still there.
        sni = self.tls_client(w, server_hostname="mail.example.test")
        self.assertEqual(self.peer_names(sni)[0], "mail.example.test")
        # Sessions opened before the reload keep working.
        old.expect("ECHO after reload", "+OK after reload")
        self.assertEqual(old.info()["version"], "TLS1.3")
        old_st.expect("ECHO after reload", "+OK after reload")
        for c in (old, old_st, fresh, sni):
            c.quit()

        # A broken certificate is refused; the running ones stay.
        with open(cert, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nbroken\n"
                    "-----END CERTIFICATE-----\n")
        mark = d.mark()
        d.signal(signal.SIGHUP)
        line = d.wait_for("reload refused", since=mark)
        self.assertIn(cert, line)
        again = self.tls_client(w)
        self.assertEqual(self.peer_names(again)[0], "renewed.localhost")
        again.quit()
        d.stop()

    def test_port_in_use_refuses_start(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            self.configure([{"name": "busy-one", "tls": "implicit",
                             "port": port}])
            code, out, err = self.env.postinod(timeout=harness.STOP_TIMEOUT)
        self.assertNotEqual(code, 0, out + err)
        lines = [l for l in (out + err).splitlines()
                 if "busy-one" in l and "address already in use" in l.lower()]
        self.assertTrue(lines, f"no line naming the listener and the "
                        f"error:\n{out}{err}")
        self.assertNotIn("postinod ready", out + err)

    def test_unknown_protocol_refuses_start(self):
        self.configure([{"name": "echo-tls", "tls": "implicit"},
                        {"name": "mystery", "tls": "implicit",
                         "protocol": "nosuchproto"}])
        code, out, err = self.env.postinod(timeout=harness.STOP_TIMEOUT)
        self.assertNotEqual(code, 0, out + err)
        lines = [l for l in (out + err).splitlines()
                 if "mystery" in l and "nosuchproto" in l]
        self.assertTrue(lines, f"no line naming the listener and the "
                        f"protocol:\n{out}{err}")
        self.assertNotIn("postinod ready", out + err)

    def test_ipv6_loopback(self):
        if not have_ipv6_loopback():
            self.skipTest("no ::1 on this machine")
        d, where = self.serve([{"name": "echo-v6", "tls": "implicit",
                                "address": "::1"},
                               {"name": "echo-v6-st", "tls": "starttls",
                                "address": "::1"}])
        c = self.tls_client(where["echo-v6"], server_hostname="localhost")
        info = c.info()
        self.assertEqual((info["client"], info["version"]), ("::1", "TLS1.3"))
        c.quit()
        st = self.plain(where["echo-v6-st"])
        self.assertEqual(st.readline(), "+OK echo ready")
        st.starttls()
        self.assertEqual(st.info()["client"], "::1")
        st.quit()
        d.stop()

    def test_config_check_accepts_listeners(self):
        self.configure([
            {"name": "echo-tls", "tls": "implicit", "max_connections": 100,
             "max_connections_per_ip": 10, "idle_timeout": "5m"},
            {"name": "echo-st", "tls": "starttls"}],
            tls={"priority": TLS12_ONLY, "handshake_timeout": "10s"},
            echo={"max_line": 2048, "idle_timeout": "2m"})
        code, out, err = self.env.postinod("-t")
        self.assertEqual(code, 0, out + err)
        self.assertIn("is valid", out)

    def test_config_check_refuses_plaintext_listener(self):
        self.configure([{"name": "echo-plain", "tls": "none"}])
        code, out, err = self.env.postinod("-t")
        self.assertEqual(code, EX_CONFIG, out + err)
        self.assertIn("echo.conf:", err)
        self.assertIn("tls", err)

    def test_config_check_refuses_mismatched_key(self):
        self.configure([{"name": "echo-tls", "tls": "implicit"}],
                       default_cert=(self.certs["default"][0],
                                     self.certs["mail"][1]))
        code, out, err = self.env.postinod("-t")
        self.assertEqual(code, EX_CONFIG, out + err)
        self.assertIn("postinod:", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
