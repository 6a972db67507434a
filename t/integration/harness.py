"""Shared helpers for Postino's integration tests (Python 3 stdlib only).

Each test gets an Env: a private temporary directory (removed afterwards)
holding postino.conf, modules.d/ and the state directory. Env runs the admin
CLI (always with a timeout) and starts postinod (stderr to a log file),
records every byte either printed so tests can check that no password
leaks, and makes sure every process it started is gone when the test ends,
whichever way it ends.

The binaries come from POSTINO_BUILD_ROOT (set by t/integration/meson.build);
sanitizer builds exit non-zero on a leak or a UB report, and the helpers also
fail on any sanitizer report they see in an output.
"""
import ctypes
import ctypes.util
import hashlib
import os
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import time
import unittest
from contextlib import closing

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.abspath(
    os.environ.get("POSTINO_SOURCE_ROOT") or os.path.join(HERE, "..", ".."))
BUILD_ROOT = os.path.abspath(
    os.environ.get("POSTINO_BUILD_ROOT")
    or os.path.join(SOURCE_ROOT, "build-test"))
# The build's -Db_sanitize ("address,undefined" for make test, "thread"
# for make tsan, "none" or "" otherwise).
SANITIZE = os.environ.get("POSTINO_SANITIZE", "")

POSTINOD = os.path.join(BUILD_ROOT, "core", "daemon", "postinod")
POSTINO = os.path.join(BUILD_ROOT, "core", "cli", "postino")
SAMPLE_DIR = os.path.join(BUILD_ROOT, "t", "abi")
INIT_FAILS_DIR = os.path.join(BUILD_ROOT, "t", "abi", "init_fails")
PRERELEASE_DIR = os.path.join(BUILD_ROOT, "t", "abi", "prerelease")

VERSION = "0.1.0"
# [server] workers of every server the tests start: the suite runs once
# with 1 and once with 2 (t/integration/meson.build).
TEST_WORKERS = os.environ.get("POSTINO_TEST_WORKERS", "1")
READY_TIMEOUT = 20.0   # the "postinod ready" line
WAIT_TIMEOUT = 20.0    # any other awaited log line or state
STOP_TIMEOUT = 60.0    # SIGTERM to exit (leak checking takes a while)
CLI_TIMEOUT = 60.0

# Exit codes (sysexits.h).
EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_NOINPUT = 66
EX_NOUSER = 67
EX_SOFTWARE = 70
EX_CANTCREAT = 73
EX_IOERR = 74
EX_CONFIG = 78

SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "LeakSanitizer has encountered",
    "runtime error:",          # UBSan
    "ThreadSanitizer",
)

# A timestamped log line: "2026-01-02T03:04:05.678Z LEVEL COMPONENT: text".
LOG_PREFIX_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "


def log_line_re(text):
    """A regex matching a whole log line whose text after the time stamp
    is exactly text."""
    return re.compile(LOG_PREFIX_RE + re.escape(text) + "$", re.M)


def sanitizer_report(text):
    """The first sanitizer marker found in text, or None."""
    for marker in SANITIZER_MARKERS:
        if marker in text:
            return marker
    return None


def base_env():
    """Environment for every child: the caller's, without anything that
    would change the programs' behaviour behind the tests' back."""
    env = dict(os.environ)
    env.setdefault("POSTINO_NO_DLCLOSE", "1")
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env["LC_ALL"] = "C"   # strerror() texts in English
    env.pop("LANG", None)
    return env


def binaries_missing():
    """A reason to skip when the build has not produced the binaries."""
    for path in (POSTINOD, POSTINO, os.path.join(SAMPLE_DIR, "sample.so")):
        if not os.path.exists(path):
            return f"{path} not built (POSTINO_BUILD_ROOT={BUILD_ROOT})"
    return None


def normalize_row(line):
    """'sample     1.0.0   1.0   ready' -> 'sample 1.0.0 1.0 ready'."""
    return " ".join(line.split())


def module_rows(out):
    """The table of `postino module list`, rows normalized: the lines up
    to the blank one before the note on workers (printed with more than
    one)."""
    rows = []
    for line in out.splitlines():
        if not line.strip():
            break
        rows.append(normalize_row(line))
    return rows


def line_of(path, needle):
    """1-based number of the first line of path that contains needle."""
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if needle in line:
                return number
    raise AssertionError(f"{needle!r} not in {path}")


_libcrypt = None


def crypt_verify(password, stored_hash):
    """True/False: does password hash to stored_hash with libxcrypt's
    crypt(3)? None when libcrypt cannot be loaded here."""
    global _libcrypt
    if _libcrypt is None:
        name = ctypes.util.find_library("crypt")
        if name is None:
            return None
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            return None
        lib.crypt.restype = ctypes.c_char_p
        lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        _libcrypt = lib
    out = _libcrypt.crypt(password.encode(), stored_hash.encode())
    return out is not None and out.decode() == stored_hash


class Result:
    """What one CLI run gave."""

    def __init__(self, args, code, out, err):
        self.args = args
        self.code = code
        self.out = out
        self.err = err

    def __repr__(self):
        return (f"postino {' '.join(self.args)} -> exit {self.code}\n"
                f"--- stdout ---\n{self.out}--- stderr ---\n{self.err}")


class Daemon:
    """A running postinod. Its stdout and stderr go to log_path."""

    def __init__(self, env, proc, log_path):
        self.env = env
        self.proc = proc
        self.log_path = log_path
        self.pid = proc.pid

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def mark(self):
        """Offset into the log; wait_for(since=mark) ignores older lines."""
        return len(self.log())

    def running(self):
        return self.proc.poll() is None

    def wait_for(self, pattern, since=0, timeout=WAIT_TIMEOUT, regex=False):
        """Waits until a log line (after offset since) contains pattern (or
        matches the regex) and returns that line. Fails if postinod exits
        first or the time runs out."""
        tc = self.env.tc
        compiled = re.compile(pattern) if regex else None
        deadline = time.monotonic() + timeout
        while True:
            # Read the exit status first: a line written just before the
            # exit is then still found below.
            exited = self.proc.poll() is not None
            text = self.log()[since:]
            for line in text.splitlines():
                if (compiled.search(line) if regex else pattern in line):
                    return line
            if exited:
                tc.fail(f"postinod exited (code {self.proc.returncode}) "
                        f"before logging {pattern!r}; log:\n{self.log()}")
            if time.monotonic() > deadline:
                tc.fail(f"postinod did not log {pattern!r} within "
                        f"{timeout:.0f}s; log:\n{self.log()}")
            time.sleep(0.05)

    def signal(self, signum):
        self.env.tc.assertTrue(
            self.running(),
            f"postinod is not running (code {self.proc.returncode}); "
            f"log:\n{self.log()}")
        self.proc.send_signal(signum)

    def reload(self, expect="reloaded", timeout=WAIT_TIMEOUT):
        """SIGHUP; waits for a log line containing expect after it."""
        since = self.mark()
        self.signal(signal.SIGHUP)
        return self.wait_for(expect, since=since, timeout=timeout)

    def server_pid(self):
        """The process that serves: postinod's child when it dropped root
        (the started process then stays root to open certificate files,
        core/daemon/privsep.h), else postinod itself."""
        try:
            with open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
                children = [int(pid) for pid in f.read().split()]
        except FileNotFoundError:
            children = []
        self.env.tc.assertLessEqual(len(children), 1, children)
        return children[0] if children else self.pid

    def proc_status(self, field, pid=None):
        """A field of /proc/PID/status of the serving process (or pid),
        e.g. 'Uid' -> ['0','0','0','0']."""
        pid = pid or self.server_pid()
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key == field:
                    return value.split()
        raise AssertionError(f"no {field} in /proc/{pid}/status")

    def stop(self):
        """SIGTERM; asserts exit 0, the shutdown lines and a clean log."""
        tc = self.env.tc
        self.signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            tc.fail(f"postinod did not exit within {STOP_TIMEOUT:.0f}s of "
                    f"SIGTERM; log:\n{self.log()}")
        log = self.log()
        self.env.outputs.append(log)
        tc.assertEqual(code, 0, f"postinod exit code after SIGTERM; "
                       f"log:\n{log}")
        tc.assertIsNone(sanitizer_report(log), f"sanitizer report:\n{log}")
        tc.assertRegex(log, log_line_re("info core: SIGTERM: shutting down"))
        tc.assertRegex(log, log_line_re("info core: stopped"))
        return log

    def kill(self):
        """Last resort for cleanups: no assertion, just no leftover."""
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass


class Env:
    """One test's private server: files, CLI runs, daemons.

    Paths in the configuration are absolute unless a test writes its own.
    """

    def __init__(self, tc, prefix="postino-it-"):
        self.tc = tc
        self.root = tempfile.mkdtemp(prefix=prefix)
        tc.addCleanup(shutil.rmtree, self.root, ignore_errors=True)
        self.conf = os.path.join(self.root, "postino.conf")
        self.modules_conf_dir = os.path.join(self.root, "modules.d")
        self.state_dir = os.path.join(self.root, "state")
        self.db_path = os.path.join(self.state_dir, "postino.db")
        self.modules_dir = SAMPLE_DIR
        self.outputs = []   # every stdout/stderr/log seen, for leak checks
        self.daemons = []
        os.mkdir(self.modules_conf_dir)

    # ---- files ------------------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def write(self, path, text):
        path = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def write_config(self, modules_dir=None, state_dir=None, server=None,
                     extra=""):
        """Writes postino.conf. server: extra/overriding [server] keys
        (value None drops a key). extra: text appended after [server]."""
        if modules_dir is not None:
            self.modules_dir = modules_dir
        if state_dir is not None:
            self.state_dir = state_dir
            self.db_path = os.path.join(state_dir, "postino.db")
        keys = {
            "hostname": "mail.example.test",
            "state_dir": self.state_dir,
            "modules_dir": self.modules_dir,
            "modules_conf_dir": self.modules_conf_dir,
            "log_level": "debug",
            "log_target": "stderr",
            "workers": TEST_WORKERS,
        }
        for key, value in (server or {}).items():
            if value is None:
                keys.pop(key, None)
            else:
                keys[key] = value
        lines = ["# written by t/integration/harness.py", "[server]"]
        lines += [f"{k} = {v}" for k, v in keys.items()]
        text = "\n".join(lines) + "\n" + extra
        with open(self.conf, "w") as f:
            f.write(text)
        return self.conf

    def write_module(self, name="sample", settings=None, extra="",
                     filename=None):
        """Writes modules.d/FILENAME (default NAME.conf) loading NAME, with
        settings (a dict) as its [NAME] section."""
        lines = ["[module]", f"load = {name}"]
        if settings:
            lines += ["", f"[{name}]"]
            lines += [f"{k} = {v}" for k, v in settings.items()]
        path = os.path.join(self.modules_conf_dir,
                            filename or f"{name}.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n" + extra)
        return path

    def remove_module(self, name="sample"):
        os.unlink(os.path.join(self.modules_conf_dir, f"{name}.conf"))

    def setup(self, settings=None, modules_dir=None, init=True,
              domains=("example.test",), server=None):
        """The usual start: config with the sample module, database, and
        the demo domain."""
        self.write_config(modules_dir=modules_dir, server=server)
        self.write_module("sample", settings)
        if init:
            self.init()
            for domain in domains:
                self.cli_ok("domain", "add", domain)
        return self

    # ---- programs ---------------------------------------------------------

    def run(self, argv, input=None, timeout=CLI_TIMEOUT, cwd=None):
        """Runs a program to completion: (code, stdout, stderr)."""
        try:
            proc = subprocess.run(
                argv, input=input if input is not None else "",
                capture_output=True, text=True, errors="replace",
                timeout=timeout, cwd=cwd or self.root, env=base_env())
        except subprocess.TimeoutExpired as e:
            self.tc.fail(f"{' '.join(argv)} did not finish within "
                         f"{timeout:.0f}s; stdout:\n{e.stdout}\n"
                         f"stderr:\n{e.stderr}")
        self.outputs += [proc.stdout, proc.stderr]
        report = sanitizer_report(proc.stderr)
        self.tc.assertIsNone(report, f"sanitizer report from "
                             f"{' '.join(argv)}:\n{proc.stderr}")
        return proc.returncode, proc.stdout, proc.stderr

    def cli(self, *args, input=None, conf=None, cwd=None):
        """postino -c CONF ARGS...: a Result."""
        argv = [POSTINO, "-c", conf or self.conf] + list(args)
        code, out, err = self.run(argv, input=input, cwd=cwd)
        return Result(list(args), code, out, err)

    def cli_ok(self, *args, **kw):
        r = self.cli(*args, **kw)
        self.tc.assertEqual(r.code, EX_OK, repr(r))
        return r

    def cli_fails(self, code, fragment, *args, **kw):
        """Runs the CLI; asserts exit code and that stderr has fragment."""
        r = self.cli(*args, **kw)
        self.tc.assertEqual(r.code, code, repr(r))
        if fragment is not None:
            self.tc.assertIn(fragment, r.err, repr(r))
        return r

    def postinod(self, *args, conf=None, cwd=None, timeout=CLI_TIMEOUT):
        """Runs postinod to completion (-t, --init, a refused start)."""
        argv = [POSTINOD, "-c", conf or self.conf] + list(args)
        return self.run(argv, timeout=timeout, cwd=cwd)

    def init(self):
        code, out, err = self.postinod("--init")
        self.tc.assertEqual(code, 0, f"postinod --init:\n{out}{err}")
        self.tc.assertTrue(os.path.exists(self.db_path), self.db_path)

    def start(self, conf=None, cwd=None, wait_ready=True, name="postinod",
              nofile=None):
        """Starts postinod in the foreground; waits for its ready line.
        nofile: its open files limit (soft and hard), as a service
        manager's LimitNOFILE= would set it."""
        log_path = os.path.join(self.root, f"{name}.{len(self.daemons)}.log")
        log = open(log_path, "w")
        limit = None
        if nofile is not None:
            limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                               (nofile, nofile))
        try:
            proc = subprocess.Popen(
                [POSTINOD, "-c", conf or self.conf],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=cwd or self.root, env=base_env(), preexec_fn=limit)
        finally:
            log.close()
        daemon = Daemon(self, proc, log_path)
        self.daemons.append(daemon)
        self.tc.addCleanup(daemon.kill)
        if wait_ready:
            daemon.wait_for("info core: postinod ready version=" + VERSION,
                            timeout=READY_TIMEOUT)
        return daemon

    # ---- the database -----------------------------------------------------

    def db(self, path=None):
        """A sqlite3 connection to the database (or another file)."""
        conn = sqlite3.connect(path or self.db_path, timeout=30)
        self.tc.addCleanup(conn.close)
        return conn

    def query(self, sql, params=(), path=None):
        with closing(sqlite3.connect(path or self.db_path, timeout=30)) as c:
            return c.execute(sql, params).fetchall()

    def add_user(self, address, password):
        """postino user add ADDRESS --password-stdin."""
        return self.cli_ok("user", "add", address, "--password-stdin",
                           input=password + "\n")

    def mailbox_messages(self, address, mailbox="INBOX"):
        """The stored bytes of every message in a mailbox, by UID."""
        rows = self.query(
            "SELECT b.data FROM messages m"
            " JOIN mailboxes x ON x.id = m.mailbox"
            " JOIN accounts a ON a.id = x.account"
            " JOIN blobs b ON b.id = m.blob"
            " WHERE a.address = ? AND x.name = ? ORDER BY m.uid",
            (address, mailbox))
        return [_as_bytes(r[0]) for r in rows]

    def queued(self):
        """The outbound queue: a list of (sender, [recipients], data) in
        queue order, recipients in the order they were added."""
        out = []
        for qid, sender, data in self.query(
                "SELECT q.id, q.sender, b.data FROM queue q"
                " JOIN blobs b ON b.id = q.blob ORDER BY q.id"):
            rcpts = [r[0] for r in self.query(
                "SELECT address FROM queue_rcpts WHERE queue = ?"
                " ORDER BY id", (qid,))]
            out.append((sender, rcpts, _as_bytes(data)))
        return out

    def db_bytes(self):
        """The database file and its -wal/-shm companions, as bytes."""
        data = b""
        for suffix in ("", "-wal", "-shm", "-journal"):
            path = self.db_path + suffix
            if os.path.exists(path):
                with open(path, "rb") as f:
                    data += f.read()
        return data

    def all_output(self):
        """Every CLI output and daemon log seen so far."""
        texts = list(self.outputs)
        for d in self.daemons:
            if os.path.exists(d.log_path):
                texts.append(d.log())
        return "\n".join(texts)

    def poll(self, fn, what, timeout=WAIT_TIMEOUT, interval=0.05):
        """Calls fn until it returns a true value, which is returned."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            last = fn()
            if last:
                return last
            if time.monotonic() > deadline:
                self.tc.fail(f"timed out after {timeout:.0f}s waiting for "
                             f"{what}; last: {last!r}")
            time.sleep(interval)

    def sample_ticks(self):
        """The sample module's 'ticks' state via the CLI, or 0 when none."""
        r = self.cli("sample", "get", "ticks")
        if r.code == EX_NOUSER:
            return 0
        self.tc.assertEqual(r.code, 0, repr(r))
        return int(r.out.strip())


class TestCase(unittest.TestCase):
    """Gives each test its own Env; fails (not skips) without binaries."""

    maxDiff = None

    def setUp(self):
        missing = binaries_missing()
        if missing:
            self.fail(missing)
        self.env = Env(self)


class CertTestCase(TestCase):
    """A TestCase whose class has one certificate for cert_host (made once
    for the class in a temporary directory: self.cert is (cert, key)),
    and that fails, not skips, when a module it names in `modules` (paths
    of .so files) was not built."""

    cert_host = None
    modules = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certdir = tempfile.mkdtemp(prefix="postino-certs-")
        cls.cert = make_cert(cls.certdir, "mail", cls.cert_host,
                             [cls.cert_host])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certdir, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        for so in self.modules:
            if not os.path.exists(so):
                self.fail(f"{so} not built")


def _as_bytes(value):
    """A BLOB column as bytes (TEXT would come back as str)."""
    return value.encode() if isinstance(value, str) else value


# ---- helpers for protocol tests (SMTP, later IMAP/POP3) ---------------------
#
# Added for test_smtp.py. test_tls.py has its own copies of make_cert and
# client_context that behave the same.

MODULES_DIR = os.path.join(BUILD_ROOT, "modules")   # modules/*/ builds here
CERTTOOL = shutil.which("certtool")


def ephemeral_low():
    """The first port of the kernel's range for client sockets."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_ports_given = set()


def free_port(address="127.0.0.1"):
    """A TCP port nobody listens on right now, for a server started later.
    Taken below the ephemeral range: a port from bind(0) is an ephemeral
    one, and any client socket of the tests running in parallel may be
    given it before the server binds it ("address already in use")."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    low = ephemeral_low()
    rng = random.SystemRandom()
    for _ in range(1000):
        port = rng.randrange(10000, low) if low > 11000 else 0
        if port in _ports_given:
            continue
        with socket.socket(family, socket.SOCK_STREAM) as s:
            try:
                s.bind((address, port))
            except OSError:
                continue
            port = s.getsockname()[1]
        _ports_given.add(port)
        return port
    raise AssertionError(f"no free port on {address}")


def run_certtool(argv):
    proc = subprocess.run([CERTTOOL] + argv, capture_output=True,
                          timeout=CLI_TIMEOUT, env=base_env())
    if proc.returncode != 0:
        raise AssertionError(f"certtool {' '.join(argv)} failed:\n"
                             f"{proc.stdout!r}{proc.stderr!r}")
    return proc.stdout


def make_cert(directory, name, cn, dns, days=30, ips=(), ca=None):
    """A server certificate and its RSA key, made with certtool: (cert
    path, key path). Self-signed, or issued by ca (make_ca's pair); ips
    become IPAddress subject alternative names."""
    if CERTTOOL is None:
        raise AssertionError("certtool (gnutls-bin) is not installed")
    key = os.path.join(directory, name + ".key")
    cert = os.path.join(directory, name + ".pem")
    tmpl = os.path.join(directory, name + ".tmpl")
    with open(tmpl, "w") as f:
        f.write(f'cn = "{cn}"\n')
        for d in dns:
            f.write(f'dns_name = "{d}"\n')
        for ip in ips:
            f.write(f'ip_address = "{ip}"\n')
        f.write(f"expiration_days = {days}\n"
                "tls_www_server\nsigning_key\nencryption_key\n")
    run_certtool(["--generate-privkey", "--key-type", "rsa", "--bits",
                  "2048", "--outfile", key])
    if ca is None:
        run_certtool(["--generate-self-signed", "--load-privkey", key,
                      "--template", tmpl, "--outfile", cert])
    else:
        run_certtool(["--generate-certificate", "--load-privkey", key,
                      "--load-ca-certificate", ca[0],
                      "--load-ca-privkey", ca[1], "--template", tmpl,
                      "--outfile", cert])
    return cert, key


def make_ca(directory, name, cn="Postino test CA", days=30):
    """A certificate authority for make_cert(ca=...): (cert path, key
    path)."""
    if CERTTOOL is None:
        raise AssertionError("certtool (gnutls-bin) is not installed")
    key = os.path.join(directory, name + ".key")
    cert = os.path.join(directory, name + ".pem")
    tmpl = os.path.join(directory, name + ".tmpl")
    with open(tmpl, "w") as f:
        f.write(f'cn = "{cn}"\nca\ncert_signing_key\n'
                f"expiration_days = {days}\n")
    run_certtool(["--generate-privkey", "--key-type", "rsa", "--bits",
                  "2048", "--outfile", key])
    run_certtool(["--generate-self-signed", "--load-privkey", key,
                  "--template", tmpl, "--outfile", cert])
    return cert, key


def public_key_pin(cert):
    """SHA-256 of the certificate's SubjectPublicKeyInfo (DER), as hex:
    what [queue] relayhost_fingerprint pins."""
    spki = run_certtool(["--pubkey-info", "--load-cert", cert, "--outder"])
    return hashlib.sha256(spki).hexdigest()


def tls_client_context():
    """A TLS client context that does not verify (self-signed certs)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tls_section(cert, key):
    """postino.conf's [tls] section for write_config(extra=...)."""
    return f"\n[tls]\ncert = {cert}\nkey = {key}\n"


def listener_sections(listeners):
    """[listener NAME] sections for a modules.d file. listeners: a list of
    dicts with name, protocol and tls (optionally address, port and any
    other listener key). Returns (text, {name: (address, port)}); ports
    default to free ones on 127.0.0.1."""
    text = ""
    where = {}
    for spec in listeners:
        spec = dict(spec)
        name = spec.pop("name")
        address = spec.pop("address", "127.0.0.1")
        port = spec.pop("port", None) or free_port(address)
        keys = {"address": address, "port": port}
        keys.update(spec)
        text += f"\n[listener {name}]\n"
        text += "".join(f"{k} = {v}\n" for k, v in keys.items())
        where[name] = (address, port)
    return text, where


IO_TIMEOUT = 20.0   # one awaited reply, EOF or TLS handshake


class LineClient:
    """One client connection to a line protocol over a plain or TLS
    socket; every wait is bounded and failures are the test's failures.
    Safe to use from a worker thread (a failure raises there)."""

    def __init__(self, tc, where, implicit_tls=False, server_hostname=None,
                 timeout=IO_TIMEOUT):
        self.tc = tc
        self.timeout = timeout
        address, port = where
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.buf = b""
        tc.addCleanup(self.close)
        self.sock.settimeout(timeout)
        self.sock.connect((address, port))
        if implicit_tls:
            self.wrap(server_hostname=server_hostname)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    @property
    def tls(self):
        return isinstance(self.sock, ssl.SSLSocket)

    def wrap(self, ctx=None, server_hostname=None):
        """The TLS handshake on the connection as it is now."""
        ctx = ctx or tls_client_context()
        self.sock.settimeout(self.timeout)
        self.sock = ctx.wrap_socket(self.sock,
                                    server_hostname=server_hostname)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def _fill(self, deadline, what):
        """Reads more into buf; False at EOF (or a reset)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.tc.fail(f"timed out waiting for {what}; received so far: "
                         f"{self.buf[-300:]!r}")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            self.tc.fail(f"timed out waiting for {what}; received so far: "
                         f"{self.buf[-300:]!r}")
        except (ssl.SSLEOFError, ConnectionResetError):
            data = b""
        if not data:
            return False
        self.buf += data
        return True

    def readline(self, timeout=None):
        """The next CRLF-terminated line as str, without the CRLF."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n" not in self.buf:
            if not self._fill(deadline, "a line"):
                self.tc.fail(f"EOF while waiting for a line; received "
                             f"{self.buf[-300:]!r}")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line.decode("utf-8", errors="replace")

    def expect_eof(self, timeout=None):
        """Waits for the server to close; returns the bytes before it."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while self._fill(deadline, "EOF"):
            pass
        data, self.buf = self.buf, b""
        return data

    def quiet(self, seconds=0.3):
        """True when the server sends nothing for that long."""
        if self.buf:
            return False
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return True
        self.buf += data
        return False
