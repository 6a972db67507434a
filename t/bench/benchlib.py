"""Helpers shared by the benchmarks in this directory (run by hand)."""
import os
import socket
import subprocess
import time


def free_port():
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(d, kind="ecdsa"):
    """A throw-away self-signed certificate for localhost in directory d,
    its key ECDSA P-256 or (kind "rsa") RSA-2048; returns (cert, key)
    paths."""
    key, cert, tmpl = (os.path.join(d, f"{kind}-{n}")
                       for n in ("key.pem", "cert.pem", "t.cfg"))
    with open(tmpl, "w") as f:
        f.write('cn = "localhost"\ndns_name = "localhost"\nexpiration_days = 2\n'
                "tls_www_server\nsigning_key\nencryption_key\n")
    keygen = (["--key-type=ecdsa", "--curve=secp256r1"] if kind == "ecdsa"
              else ["--key-type=rsa", "--bits=2048"])
    for args in (["--generate-privkey"] + keygen + ["--outfile", key],
                 ["--generate-self-signed", "--load-privkey", key, "--template",
                  tmpl, "--outfile", cert]):
        subprocess.run(["certtool"] + args, check=True, capture_output=True)
    return cert, key


def wait_port(port, timeout=20):
    """Returns once something accepts connections on 127.0.0.1:port."""
    deadline = time.time() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


PASSWORD = "Bench-password-42"
DOMAIN = "example.test"


def body_4k():
    """A 4 KiB message (header and body) as bytes with CRLF line ends."""
    body = ("Subject: bench\r\n\r\n" + ("x" * 76 + "\r\n") * 52).encode()
    assert 4000 < len(body) < 4200
    return body


def client_tls():
    """A TLS client context that accepts the throw-away certificate."""
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def rss_kib(pid):
    """Resident set size of one process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def pss_kib(pids):
    """Sum of the proportional set sizes of several processes, in KiB: pages
    shared between them (a forking server's code and libraries) count once."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def proc_cpu(pid, children=False):
    """User + system seconds of pid (and, with children, of its reaped
    children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu(root_pid):
    """CPU seconds of a forking server: the root with every child it has
    reaped, plus the children still running."""
    total = 0.0
    for pid in process_tree(root_pid):
        try:
            total += proc_cpu(pid, children=pid == root_pid)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def process_tree(root_pid):
    """root_pid and all its descendants."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, stack = [], [root_pid]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


class Postino:
    """One postinod on 127.0.0.1 in the directory d (which must exist),
    with an MX listener (plain SMTP, STARTTLS offered), a submission
    listener, POP3 over implicit TLS and, when the build has imap.so, IMAP
    over implicit TLS. Connection limits are raised for the benchmarks."""

    name = "postino"

    def __init__(self, build, d, cert, key, log_level="warning", workers=None):
        self.build, self.d = build, d
        self.log_level, self.workers = log_level, workers
        if workers is not None:
            self.name = f"postino w={workers}"
        self.mx_port, self.submission_port = free_port(), free_port()
        self.pop3s_port = free_port()
        self.has_imap = os.path.exists(os.path.join(build, "modules", "imap.so"))
        self.imaps_port = free_port() if self.has_imap else None
        self.conf = os.path.join(d, "postino.conf")
        self.proc = None
        os.makedirs(os.path.join(d, "modules.d"), exist_ok=True)
        self.relay_port = free_port()
        self._write_conf(cert, key)
        limits = "max_connections = 50000\nmax_connections_per_ip = 50000\n"
        with open(os.path.join(d, "modules.d", "smtp.conf"), "w") as f:
            f.write("[module]\nload = smtp\n"
                    f"[listener mx]\naddress = 127.0.0.1\nport = {self.mx_port}\n"
                    f"protocol = smtp\ntls = starttls\n{limits}"
                    f"[listener submission]\naddress = 127.0.0.1\n"
                    f"port = {self.submission_port}\nprotocol = submission\n"
                    f"tls = starttls\n{limits}")
        with open(os.path.join(d, "modules.d", "pop3.conf"), "w") as f:
            f.write("[module]\nload = pop3\n[listener pop3s]\n"
                    f"address = 127.0.0.1\nport = {self.pop3s_port}\n"
                    f"protocol = pop3\ntls = implicit\n{limits}")
        if self.has_imap:
            with open(os.path.join(d, "modules.d", "imap.conf"), "w") as f:
                f.write("[module]\nload = imap\n[listener imaps]\n"
                        f"address = 127.0.0.1\nport = {self.imaps_port}\n"
                        f"protocol = imap\ntls = implicit\n{limits}")
        self.daemon = [f"{build}/core/daemon/postinod", "-c", self.conf]
        subprocess.run(self.daemon + ["--init"], check=True, capture_output=True)
        self.cli(["domain", "add", DOMAIN])

    def _write_conf(self, cert, key):
        workers = (f"workers = {self.workers}\n" if self.workers is not None
                   else "")
        with open(self.conf, "w") as f:
            f.write(f"[server]\nstate_dir = {self.d}/var\n"
                    f"modules_dir = {self.build}/modules\n"
                    f"log_level = {self.log_level}\n{workers}"
                    f"[tls]\ncert = {cert}\nkey = {key}\n"
                    f"[queue]\nrelayhost = 127.0.0.1:{self.relay_port}\n")

    def set_cert(self, cert, key):
        """Serves another certificate from now on (SIGHUP)."""
        import signal
        self._write_conf(cert, key)
        if self.proc is not None:
            self.proc.send_signal(signal.SIGHUP)
            time.sleep(1.0)

    def cpu_seconds(self):
        """CPU time (user + system) postinod has used, all threads."""
        return proc_cpu(self.proc.pid)

    def cli(self, args, stdin=None):
        subprocess.run([f"{self.build}/core/cli/postino", "-c", self.conf] + args,
                       input=stdin, check=True, stdout=subprocess.DEVNULL)

    def add_users(self, locals_, jobs=2):
        """Creates LOCAL@example.test for each name, with PASSWORD, jobs CLI
        processes at a time (each hashes with yescrypt)."""
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(lambda u: self.cli(
                ["user", "add", f"{u}@{DOMAIN}", "--password-stdin"],
                PASSWORD.encode()), locals_))

    def password_hash(self):
        """The stored yescrypt hash of one account, so a peer can verify
        the same password at the same cost."""
        import sqlite3
        db = sqlite3.connect(os.path.join(self.d, "var", "postino.db"))
        try:
            return db.execute("SELECT password_hash FROM accounts LIMIT 1").fetchone()[0]
        finally:
            db.close()

    def start(self, wrapper=()):
        self.proc = subprocess.Popen(list(wrapper) + self.daemon,
                                     stderr=open(os.path.join(self.d, "postinod.log"), "a"))
        ports = [self.mx_port, self.pop3s_port] + ([self.imaps_port] if self.has_imap else [])
        for p in ports:
            wait_port(p, timeout=120)

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
