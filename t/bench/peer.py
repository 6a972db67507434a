"""The peer for the comparison benchmark: Debian's Postfix delivering to
Dovecot over LMTP, both private instances in one temporary directory, bound
to 127.0.0.1 only, with their default durability (Postfix fsyncs the queue
file before its 250, Dovecot's mail_fsync = optimized fsyncs each delivered
message). t/bench/install-peer installs the packages without starting any
system service."""
import os
import pwd
import shutil
import subprocess
import time

from benchlib import DOMAIN, free_port, process_tree, tree_cpu, wait_port

MASTER_CF = """\
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Peer:
    """Postfix (SMTP on smtp_port) -> LMTP -> Dovecot (IMAPS, POP3S, LMTP),
    all under directory d, users in passwd-file with one password hash."""

    name = "postfix+dovecot"
    has_imap = True

    def __init__(self, d, cert, key, users, password_hash, mode=None,
                 auth_cache=False):
        """mode None or "default": Dovecot's login processes as shipped
        (service_count = 1: a new imap-login/pop3-login process per
        connection); "hp": its high-performance mode (service_count = 0,
        process_min_avail = the number of CPUs: each login process serves
        many connections). auth_cache: auth_cache_size = 10M."""
        self.d = d
        self.mode, self.auth_cache = mode, auth_cache
        if mode is not None:
            self.name = f"dovecot {mode}"
        self.password_hash = password_hash
        os.chmod(d, 0o755)   # Dovecot's and Postfix's own users traverse it
        self.smtp_port, self.lmtp_port = free_port(), free_port()
        self.pop3s_port, self.imaps_port = free_port(), free_port()
        self.mx_port = self.smtp_port
        self.pf_dir = os.path.join(d, "postfix")
        self.dc_conf = os.path.join(d, "dovecot", "dovecot.conf")
        self.running = False
        self._users = list(users)
        self._write_dovecot(cert, key, password_hash)
        self._write_postfix()

    # -- Dovecot -----------------------------------------------------------
    def _write_dovecot(self, cert, key, password_hash):
        dc = os.path.join(self.d, "dovecot")
        for sub in ("", "run", "state", "mail"):
            os.makedirs(os.path.join(dc, sub), exist_ok=True)
        nobody = pwd.getpwnam("nobody")
        os.chown(os.path.join(dc, "mail"), nobody.pw_uid, nobody.pw_gid)
        for p in (cert, key):
            shutil.copy(p, dc)
        self.passwd = os.path.join(dc, "users")
        self.write_users(self._users, password_hash)
        login = ""
        if self.mode == "hp":
            login = (f"  service_count = 0\n"
                     f"  process_min_avail = {os.cpu_count()}\n")
        extra = "auth_cache_size = 10M\n" if self.auth_cache else ""
        with open(self.dc_conf, "w") as f:
            f.write(f"""\
# Private benchmark instance: 127.0.0.1 only, defaults everywhere else
# except the limits that 1,000s of concurrent clients need.
protocols = imap pop3 lmtp
listen = 127.0.0.1
base_dir = {dc}/run
state_dir = {dc}/state
log_path = {dc}/dovecot.log
ssl = yes
ssl_cert = <{dc}/{os.path.basename(cert)}
ssl_key = <{dc}/{os.path.basename(key)}
mail_location = maildir:{dc}/mail/%u
mail_uid = {nobody.pw_uid}
mail_gid = {nobody.pw_gid}
first_valid_uid = 1
first_valid_gid = 1
auth_mechanisms = plain
{extra}passdb {{
  driver = passwd-file
  args = scheme=CRYPT {self.passwd}
}}
userdb {{
  driver = passwd-file
  args = {self.passwd}
}}
default_process_limit = 5000
default_client_limit = 20000
default_vsz_limit = 1G
protocol imap {{
  mail_max_userip_connections = 20000
}}
protocol pop3 {{
  mail_max_userip_connections = 20000
}}
# Dovecot's own default caps imap and pop3 at 1,024 processes (one per
# session), below the idle figure's thousands.
service imap {{
  process_limit = 20000
}}
service pop3 {{
  process_limit = 20000
}}
service imap-login {{
  process_limit = 20000
{login}  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
  }}
}}
service pop3-login {{
  process_limit = 20000
{login}  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {self.pop3s_port}
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
service anvil {{
  client_limit = 50000
}}
service auth {{
  client_limit = 50000
}}
""")

    def write_users(self, users, password_hash):
        with open(self.passwd, "w") as f:
            for u in users:
                f.write(f"{u}@{DOMAIN}:{password_hash}::::::\n")
        os.chmod(self.passwd, 0o644)

    # -- Postfix -----------------------------------------------------------
    def _write_postfix(self):
        pf = self.pf_dir
        for sub in ("", "queue", "data"):
            os.makedirs(os.path.join(pf, sub), exist_ok=True)
        os.chown(os.path.join(pf, "data"), pwd.getpwnam("postfix").pw_uid, -1)
        with open(os.path.join(pf, "master.cf"), "w") as f:
            f.write(MASTER_CF.replace("smtp      inet",
                                      f"127.0.0.1:{self.smtp_port} inet"))
        vmb = os.path.join(pf, "vmailbox")
        with open(vmb, "w") as f:
            for u in self._users:
                f.write(f"{u}@{DOMAIN} x\n")
        with open(os.path.join(pf, "main.cf"), "w") as f:
            f.write(f"""\
compatibility_level = 3.6
queue_directory = {pf}/queue
data_directory = {pf}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = peer.{DOMAIN}
mydomain = {DOMAIN}
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtp_bind_address = 127.0.0.1
lmtp_bind_address = 127.0.0.1
relayhost = [127.0.0.1]:{free_port()}
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_maps = texthash:{vmb}
virtual_transport = lmtp:inet:127.0.0.1:{self.lmtp_port}
maillog_file = {pf}/postfix.log
maillog_file_prefixes = {pf}
biff = no
""")

    def fill_maildir(self, user, message, n):
        """Writes n copies of message straight into user's maildir cur/ (the
        set-up of the IMAP and POP3 figures, not measured: delivering
        100,000 messages through LMTP with an fsync each takes hours on a
        shared disk). Dovecot indexes them on the first SELECT or login."""
        nobody = pwd.getpwnam("nobody")
        top = os.path.join(self.d, "dovecot", "mail", f"{user}@{DOMAIN}")
        for sub in ("", "cur", "new", "tmp"):
            os.makedirs(os.path.join(top, sub), exist_ok=True)
            os.chown(os.path.join(top, sub), nobody.pw_uid, nobody.pw_gid)
        now = int(time.time())
        for i in range(n):
            path = os.path.join(top, "cur",
                                f"{now - n + i}.M{i}P1.bench,S={len(message)}:2,")
            with open(path, "wb") as f:
                f.write(message)
            os.chown(path, nobody.pw_uid, nobody.pw_gid)

    def postfix(self, *args):
        subprocess.run(["postfix", "-c", self.pf_dir] + list(args), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self):
        subprocess.run(["dovecot", "-c", self.dc_conf], check=True)
        self.running = True
        self.postfix("check")
        self.postfix("start")
        for p in (self.smtp_port, self.lmtp_port, self.pop3s_port, self.imaps_port):
            wait_port(p, timeout=60)

    def dovecot_master_pid(self):
        with open(os.path.join(self.d, "dovecot", "run", "master.pid")) as f:
            return int(f.read().split()[0])

    def pids(self):
        """Every Dovecot process (the ones serving mail clients)."""
        return process_tree(self.dovecot_master_pid())

    def postfix_master_pid(self):
        with open(os.path.join(self.pf_dir, "queue", "pid",
                               "master.pid")) as f:
            return int(f.read().split()[0])

    def cpu_seconds(self, postfix=False):
        """CPU time of every Dovecot process, those that ended included
        (and of Postfix's with postfix)."""
        total = tree_cpu(self.dovecot_master_pid())
        if postfix:
            total += tree_cpu(self.postfix_master_pid())
        return total

    def set_cert(self, cert, key):
        """Serves another certificate from now on (doveadm reload)."""
        self._write_dovecot(cert, key, self.password_hash)
        subprocess.run(["doveadm", "-c", self.dc_conf, "reload"], check=True)
        time.sleep(1.0)

    def stop(self):
        if not self.running:
            return
        self.running = False
        subprocess.run(["postfix", "-c", self.pf_dir, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            pid = self.dovecot_master_pid()
        except (FileNotFoundError, ValueError):
            pid = None
        subprocess.run(["doveadm", "-c", self.dc_conf, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if pid is not None:
            for _ in range(100):
                if not os.path.exists(f"/proc/{pid}"):
                    break
                time.sleep(0.1)
