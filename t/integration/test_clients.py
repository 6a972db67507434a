"""Real mail clients from Debian against postinod, end to end: curl over
imaps:// (and imap:// with STARTTLS), mbsync (isync) syncing a Maildir
both ways, and getmail6 over POP3 and IMAP. Python's imaplib (and a raw
IMAP client for IDLE) makes the changes "another device" makes. The
server is test_imap.ImapTestCase's: smtp.so, pop3.so and imap.so on free
127.0.0.1 ports with a self-signed certificate, mail delivered through
SMTP submission.

What each client does and what is checked:
  curl     LIST, UID FETCH (bytes as stored; \\Seen set), SEARCH in the
           URL form and as UID SEARCH, APPEND to Sent (seen by imaplib);
           STARTTLS demanded with --ssl-reqd, login refused without it.
  mbsync   first sync, then local flags, a local deletion and a local
           Sent message reach the server; server-side flags, an expunge
           and new mail reach the Maildir; one more run changes nothing.
  getmail  POP3 keeping: each message once across runs (UIDL); POP3
           deleting: nothing goes before a clean QUIT (a killed run
           deletes nothing), then the INBOX is empty and an IDLE-ing IMAP
           session sees the EXPUNGEs; IMAP: INBOX and Sent read once.
  Sent     imaplib APPENDs to Sent, mbsync adds one from its Maildir;
           curl, getmail and imaplib see both.
  neomutt  imap_condstore and imap_qresync with a header cache, in a pty:
           after another device expunged and flagged, its second run
           resynchronises (ENABLE QRESYNC, SELECT (CONDSTORE), UID FETCH
           (CHANGEDSINCE n VANISHED), as the server's debug log of the
           commands shows) and deletes the right message.

The tools are Debian packages listed in the Makefile's DEPS; a missing
one fails the tests (run `make deps`). Passwords reach the tools through
private files (netrc, PassCmd, getmailrc), never argv.

Also the delivery command getmail runs: `test_clients.py --getmail-mda`
(see getmail_mda below).
"""
import os
import poplib
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import unittest
from contextlib import closing

import harness
from harness import IO_TIMEOUT, base_env, tls_client_context
from test_imap import (ALICE, BOB, HOST, PASSWORDS, ImapClient,
                       ImapTestCase, message)

TOOLS = {"curl": "curl", "mbsync": "isync", "getmail": "getmail6"}
TOOL_TIMEOUT = 60.0

# plugins-api/postino/plugin.h POSTINO_FLAG_*
SEEN, ANSWERED, FLAGGED = 1, 2, 4

DEFAULT_LIST = sorted([
    b'* LIST (\\HasNoChildren) "/" INBOX',
    b'* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
    b'* LIST (\\HasNoChildren \\Junk) "/" Junk',
    b'* LIST (\\HasNoChildren \\Sent) "/" Sent',
    b'* LIST (\\HasNoChildren \\Trash) "/" Trash'])

# mbsync adds this header to every message it copies, either way, to find
# it again if the copy is interrupted.
TUID_RE = re.compile(rb"^X-TUID: [^\r\n]*\r?\n", re.M)


def lf(data):
    """Maildir files and getmail's deliveries use LF line ends."""
    return data.replace(b"\r\n", b"\n")


def as_getmail(data):
    """What getmail delivers for a stored message: LF line ends and a
    Return-Path of an unknown sender when the message has none."""
    if not data.startswith(b"Return-Path:"):
        data = b"Return-Path: <unknown>\r\n" + data
    return lf(data)


def private_file(path, text):
    with open(path, "w") as f:
        os.fchmod(f.fileno(), stat.S_IRUSR | stat.S_IWUSR)
        f.write(text)
    return path


class ClientsTestCase(ImapTestCase):

    def setUp(self):
        super().setUp()
        self.tools = {}
        for tool, package in TOOLS.items():
            path = shutil.which(tool)
            if path is None:
                self.fail(f"{tool} is missing: install the Debian package "
                          f"{package} (make deps)")
            self.tools[tool] = path

    def run_tool(self, argv, ok=True):
        """Runs a client with HOME in the test's directory (no user
        configuration applies): (exit code, stdout bytes, stderr text)."""
        env = base_env()
        env["HOME"] = self.env.root
        try:
            proc = subprocess.run(argv, capture_output=True, env=env,
                                  stdin=subprocess.DEVNULL,
                                  timeout=TOOL_TIMEOUT, cwd=self.env.root)
        except subprocess.TimeoutExpired as e:
            self.fail(f"{' '.join(argv)} did not finish within "
                      f"{TOOL_TIMEOUT:.0f}s; stderr:\n{e.stderr}")
        err = proc.stderr.decode(errors="replace")
        self.env.outputs += [proc.stdout.decode(errors="replace"), err]
        if ok:
            self.assertEqual(proc.returncode, 0,
                             f"{' '.join(argv)}:\n{err}")
        return proc.returncode, proc.stdout, err

    def flags(self, mailbox="INBOX", address=BOB):
        """{uid: flags} of a mailbox as stored."""
        return dict(self.env.query(
            "SELECT m.uid, m.flags FROM messages m"
            " JOIN mailboxes x ON x.id = m.mailbox"
            " JOIN accounts a ON a.id = x.account"
            " WHERE a.address = ? AND x.name = ?", (address, mailbox)))

    def server_state(self, address=BOB):
        """Every stored message of an account with what describes it."""
        return self.env.query(
            "SELECT x.name, x.uidvalidity, m.uid, m.flags, m.keywords,"
            " b.data FROM messages m JOIN mailboxes x ON x.id = m.mailbox"
            " JOIN accounts a ON a.id = x.account JOIN blobs b"
            " ON b.id = m.blob WHERE a.address = ? ORDER BY x.name, m.uid",
            (address,))

    # ---- curl ---------------------------------------------------------------

    def curl(self, path, *args, listener="imaps", ok=True):
        """curl on URL imap(s)://mail.example.test:PORT/PATH, the name
        resolved to 127.0.0.1 and the certificate verified."""
        port = self.where[listener][1]
        netrc = private_file(
            self.env.path("netrc"),
            f"machine {HOST} login {BOB} password {PASSWORDS[BOB]}\n")
        scheme = "imaps" if listener == "imaps" else "imap"
        argv = [self.tools["curl"], "--silent", "--show-error",
                "--max-time", "30", "--netrc-file", netrc,
                "--cacert", self.cert[0],
                "--resolve", f"{HOST}:{port}:127.0.0.1",
                f"{scheme}://{HOST}:{port}/{path}"] + list(args)
        code, out, err = self.run_tool(argv, ok=ok)
        return out if ok else (code, err)

    # ---- mbsync -------------------------------------------------------------

    def mbsync_setup(self):
        """A private mbsyncrc: the IMAPS account (its certificate trusted
        as is) synced with the Maildir MAILDIR/{INBOX,Sent}."""
        self.maildir = self.env.path("Maildir")
        os.mkdir(self.maildir)
        passfile = private_file(self.env.path("mbsync.pass"),
                                PASSWORDS[BOB] + "\n")
        self.mbsyncrc = private_file(self.env.path("mbsyncrc"), f"""\
IMAPAccount bob
Host 127.0.0.1
Port {self.where["imaps"][1]}
User {BOB}
PassCmd "cat {passfile}"
SSLType IMAPS
CertificateFile {self.cert[0]}

IMAPStore far
Account bob

MaildirStore near
Path {self.maildir}/
Inbox {self.maildir}/INBOX
SubFolders Verbatim

Channel bob
Far :far:
Near :near:
Patterns INBOX Sent
Create Both
Expunge Both
SyncState *
""")

    def mbsync(self):
        self.run_tool([self.tools["mbsync"], "-c", self.mbsyncrc, "-a"])

    def local(self, box):
        """{uid: (maildir flags, bytes)} of a synced local folder; every
        file must carry the UID mbsync gave it."""
        out = {}
        for sub in ("new", "cur"):
            folder = os.path.join(self.maildir, box, sub)
            for name in os.listdir(folder):
                m = re.search(r",U=(\d+):2,([A-Z]*)$", name)
                self.assertIsNotNone(m, f"{box}/{sub}/{name}: no UID")
                with open(os.path.join(folder, name), "rb") as f:
                    out[int(m.group(1))] = (m.group(2), f.read())
        return out

    def local_path(self, box, uid):
        for sub in ("new", "cur"):
            folder = os.path.join(self.maildir, box, sub)
            for name in os.listdir(folder):
                if re.search(rf",U={uid}:2,[A-Z]*$", name):
                    return os.path.join(folder, name)
        self.fail(f"no local {box} message with UID {uid}")

    def set_local_flags(self, box, uid, flags):
        """What a mail reader does: rename into cur/ with new flags."""
        path = self.local_path(box, uid)
        base = os.path.basename(path).rsplit(":2,", 1)[0]
        os.rename(path, os.path.join(self.maildir, box, "cur",
                                     f"{base}:2,{flags}"))

    def local_tree(self):
        """Every file under the Maildir with its bytes."""
        out = {}
        for top, _, files in os.walk(self.maildir):
            for name in files:
                path = os.path.join(top, name)
                with open(path, "rb") as f:
                    out[os.path.relpath(path, self.maildir)] = f.read()
        return out

    # ---- getmail ------------------------------------------------------------

    def getmail(self, name, protocol, delete=False, mailboxes=None,
                kill_at=0, ok=True):
        """Runs getmail with the private getmail directory NAME (it keeps
        the ids already seen there). Messages go through getmail_mda to
        NAME/out/NNN. Returns (exit code, the new deliveries' bytes)."""
        gdir = self.env.path(name)
        out = os.path.join(gdir, "out")
        os.makedirs(out, exist_ok=True)
        before = set(os.listdir(out))
        if protocol == "pop3":
            retriever = ("SimplePOP3SSLRetriever", self.where["pop3s"][1])
        else:
            retriever = ("SimpleIMAPSSLRetriever", self.where["imaps"][1])
        boxes = ""
        if mailboxes:
            boxes = "record_mailbox = false\nmailboxes = (" + "".join(
                f'"{b}", ' for b in mailboxes) + ")\n"
        mda_args = [os.path.abspath(__file__), "--getmail-mda", out,
                    self.env.db_path, BOB, str(kill_at)]
        private_file(os.path.join(gdir, "getmailrc"), f"""\
[retriever]
type = {retriever[0]}
server = 127.0.0.1
port = {retriever[1]}
username = {BOB}
password = {PASSWORDS[BOB]}
ca_certs = {self.cert[0]}
ssl_cert_hostname = {HOST}
{boxes}
[destination]
type = MDA_external
path = {sys.executable}
arguments = ({"".join(f'"{a}", ' for a in mda_args)})
allow_root_commands = true

[options]
read_all = false
delete = {str(delete).lower()}
delivered_to = false
received = false
verbose = 0
""")
        code, _, err = self.run_tool(
            [self.tools["getmail"], f"--getmaildir={gdir}",
             "--rcfile=getmailrc"], ok=ok)
        new = []
        for n in sorted(set(os.listdir(out)) - before):
            with open(os.path.join(out, n), "rb") as f:
                new.append(f.read())
        return code, new

    def mda_counts(self, name):
        """The INBOX sizes getmail_mda saw, one per delivery."""
        with open(self.env.path(name, "out.counts")) as f:
            return [int(line) for line in f]

    def pop3_unlocked_stat(self):
        """POP3 STAT once the maildrop is free again (a dropped session
        may still hold it for a moment)."""
        where = self.where["pop3s"]
        deadline = time.monotonic() + harness.WAIT_TIMEOUT
        while True:
            p = poplib.POP3_SSL(where[0], where[1], timeout=IO_TIMEOUT,
                                context=tls_client_context())
            p.user(BOB)
            try:
                p.pass_(PASSWORDS[BOB])
            except poplib.error_proto as e:
                self.assertIn(b"[IN-USE]", e.args[0])
                p.close()
                if time.monotonic() > deadline:
                    self.fail("the maildrop stayed locked")
                time.sleep(0.1)
                continue
            result = p.stat(), [u.split()[1] for u in p.uidl()[1]]
            p.quit()
            return result


# ---- curl -------------------------------------------------------------------

class Curl(ClientsTestCase):

    def test_list_fetch_search_append(self):
        self.serve()
        self.deliver([message("apples", b"red fruit\r\n"),
                      message("pears", b"green fruit\r\n"),
                      message("Apple pie", b"baked\r\n")])
        stored = self.stored()
        self.assertEqual(len(stored), 3)
        # LIST: the URL of the server itself
        out = self.curl("")
        self.assertTrue(out.endswith(b"\r\n"), out)
        self.assertEqual(sorted(out.split(b"\r\n")[:-1]), DEFAULT_LIST)
        # SEARCH: the URL form, and a custom UID SEARCH
        self.assertEqual(self.curl("INBOX?SUBJECT%20apple"),
                         b"* SEARCH 1 3\r\n")
        self.assertEqual(self.curl("INBOX", "-X", "UID SEARCH BODY fruit"),
                         b"* SEARCH 1 2\r\n")
        self.assertEqual(self.curl("INBOX", "-X", "UID SEARCH UNSEEN"),
                         b"* SEARCH 1 2 3\r\n")
        # FETCH of a section, then of whole messages by UID: the bytes
        # SMTP stored; curl does not PEEK, so they become \Seen.
        self.assertEqual(self.curl("INBOX;UID=2;SECTION=TEXT"),
                         b"green fruit\r\n")
        self.assertEqual(self.curl("INBOX", "-X", "UID SEARCH UNSEEN"),
                         b"* SEARCH 1 3\r\n")
        for uid, data in zip(self.uids(), stored):
            self.assertEqual(self.curl(f"INBOX;UID={uid}"), data, uid)
        self.assertEqual(self.flags(), {1: SEEN, 2: SEEN, 3: SEEN})
        # APPEND (upload) to Sent; imaplib sees exactly those bytes.
        sent = message("sent with curl", b"uploaded\r\n", sender=BOB,
                       to=ALICE)
        upload = self.env.path("upload.eml")
        with open(upload, "wb") as f:
            f.write(sent)
        self.assertEqual(self.curl("Sent", "-T", upload), b"")
        self.assertEqual(self.stored(mailbox="Sent"), [sent])
        m = self.imaps()
        self.assertEqual(m.select("Sent"), ("OK", [b"1"]))
        typ, data = m.uid("FETCH", "1", "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1], sent)
        # Port 143 style: with --ssl-reqd curl does STARTTLS and logs in;
        # without it the server refuses the cleartext LOGIN.
        self.assertEqual(self.curl("INBOX;UID=1", "--ssl-reqd",
                                   listener="imap"), stored[0])
        code, err = self.curl("INBOX;UID=1", listener="imap", ok=False)
        self.assertEqual(code, 67, err)    # CURLE_LOGIN_DENIED
        self.stop()


# ---- mbsync -----------------------------------------------------------------

class Mbsync(ClientsTestCase):

    def test_two_way_sync_converges(self):
        self.serve()
        self.deliver([message("one"), message("two"), message("three")])
        stored = self.stored()
        self.mbsync_setup()
        # 1. First run: the INBOX comes down unread (mbsync PEEKs), an
        # empty local Sent is made.
        self.mbsync()
        local = self.local("INBOX")
        self.assertEqual(sorted(local), [1, 2, 3])
        for uid, data in zip([1, 2, 3], stored):
            self.assertEqual(local[uid][0], "")
            self.assertEqual(TUID_RE.sub(b"", local[uid][1]), lf(data))
        self.assertEqual(self.local("Sent"), {})
        self.assertEqual(self.flags(), {1: 0, 2: 0, 3: 0})
        # 2. Local changes go up: flags, a deletion, a message put in Sent.
        self.set_local_flags("INBOX", 1, "S")
        self.set_local_flags("INBOX", 2, "FS")
        os.unlink(self.local_path("INBOX", 3))
        mine = lf(message("sent from the laptop", sender=BOB, to=ALICE))
        with open(os.path.join(self.maildir, "Sent", "cur",
                               "1790000000.1.laptop:2,S"), "wb") as f:
            f.write(mine)
        self.mbsync()
        self.assertEqual(self.flags(), {1: SEEN, 2: SEEN | FLAGGED})
        self.assertEqual(self.uids(), [1, 2])
        self.assertEqual(self.flags("Sent"), {1: SEEN})
        [up] = self.stored(mailbox="Sent")
        self.assertEqual(lf(TUID_RE.sub(b"", up)), mine)
        self.assertEqual(self.local("Sent"), {1: ("S", mine)})
        # 3. Another device: a flag, an expunge, and new mail by SMTP.
        m = self.imaps()
        m.select("INBOX")
        typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
        self.assertEqual(data, [b"1 (UID 1 FLAGS (\\Seen))",
                                b"2 (UID 2 FLAGS (\\Seen \\Flagged))"])
        m.uid("STORE", "1", "+FLAGS.SILENT", "(\\Answered)")
        m.uid("STORE", "2", "+FLAGS.SILENT", "(\\Deleted)")
        self.assertEqual(m.expunge(), ("OK", [b"2"]))
        self.deliver([message("four")])
        stored = self.stored()
        self.assertEqual(self.uids(), [1, 4])
        self.mbsync()
        local = self.local("INBOX")
        self.assertEqual(sorted(local), [1, 4])
        self.assertEqual(local[1][0], "RS")
        self.assertEqual(local[4][0], "")
        self.assertEqual(TUID_RE.sub(b"", local[4][1]), lf(stored[1]))
        self.assertEqual(self.flags(), {1: SEEN | ANSWERED, 4: 0})
        # 4. Nothing left to do: another run changes neither side.
        server, near = self.server_state(), self.local_tree()
        self.mbsync()
        self.assertEqual(self.server_state(), server)
        self.assertEqual(self.local_tree(), near)
        self.stop()


# ---- neomutt -----------------------------------------------------------------

class Neomutt(ClientsTestCase):
    """neomutt with imap_condstore and imap_qresync and a header cache,
    driven through a pty by pushed keys: its second run resynchronises
    with SELECT (QRESYNC ...) and must learn from VANISHED (EARLIER) and
    the FETCH of flags what another device did meanwhile, or it acts on
    a message that is no longer there. The server's debug log of the
    commands shows what neomutt sent."""

    def neomutt_setup(self):
        self.neomutt_path = shutil.which("neomutt")
        if self.neomutt_path is None:
            self.fail("neomutt is missing: install the Debian package "
                      "neomutt (make deps)")
        # Trusted as is: the certificate file lists it.
        certs = self.env.path("neomutt-certs")
        shutil.copy(self.cert[0], certs)
        port = self.where["imaps"][1]
        self.muttrc = private_file(self.env.path("muttrc"), f"""\
set folder = "imaps://bob%40example.test@127.0.0.1:{port}/"
set spoolfile = "+INBOX"
set imap_user = "{BOB}"
set imap_pass = "{PASSWORDS[BOB]}"
set certificate_file = "{certs}"
set ssl_verify_host = no
set imap_condstore = yes
set imap_qresync = yes
set header_cache = "{self.env.path("hcache")}"
set sort = mailbox-order
set delete = yes
set quit = yes
set move = no
set mark_old = no
set mail_check_stats = no
set imap_check_subscribed = no
""")

    def neomutt(self, keys):
        """Runs neomutt on the INBOX in a pty with keys pushed; returns
        what it drew. It must quit by itself within TOOL_TIMEOUT."""
        import pty
        env = base_env()
        env.update(HOME=self.env.root, TERM="vt100", LANG="C.UTF-8")
        argv = [self.neomutt_path, "-n", "-F", self.muttrc,
                "-e", f"push '{keys}'"]
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.chdir(self.env.root)
                os.execve(self.neomutt_path, argv, env)
            finally:
                os._exit(127)
        out = b""
        deadline = time.monotonic() + TOOL_TIMEOUT
        status = None
        while status is None:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                os.close(fd)
                self.fail(f"neomutt did not quit; it drew:\n"
                          f"{out.decode(errors='replace')[-2000:]}")
            try:
                import select
                ready, _, _ = select.select([fd], [], [], 0.2)
                if ready:
                    out += os.read(fd, 65536)
            except OSError:
                pass  # the child closed the pty
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
        os.close(fd)
        text = out.decode(errors="replace")
        self.env.outputs.append(text)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, text[-2000:])
        return text

    def commands(self, since):
        """The IMAP commands the server logged after offset since."""
        return [line.split("command: ", 1)[1]
                for line in self.d.log()[since:].splitlines()
                if "command: " in line]

    def test_qresync_resync_after_another_device(self):
        self.serve()
        self.deliver([message("one"), message("two"), message("three")])
        self.neomutt_setup()
        # 1. First run: headers come down into the cache; nothing done.
        mark = self.d.mark()
        self.neomutt("<quit>")
        first = self.commands(mark)
        self.assertTrue(any(re.match(r"\S+ ENABLE .*QRESYNC", c)
                            for c in first), first)
        self.assertEqual(self.uids(), [1, 2, 3])
        # 2. Another device expunges the first message and flags the
        # third.
        m = self.imaps()
        m.select("INBOX")
        m.uid("STORE", "1", "+FLAGS.SILENT", "(\\Deleted)")
        self.assertEqual(m.expunge(), ("OK", [b"1"]))
        m.uid("STORE", "3", "+FLAGS.SILENT", "(\\Flagged)")
        m.logout()
        # 3. Second run: neomutt 20220429 resynchronises from the modseq
        # its cache has with SELECT (CONDSTORE) and UID FETCH (CHANGEDSINCE
        # n VANISHED), then deletes what it shows first, which must be
        # "two" (UID 2): acting on a stale view would hit UID 1.
        mark = self.d.mark()
        self.neomutt("<delete-message><sync-mailbox><quit>")
        second = self.commands(mark)
        self.assertTrue(any(re.match(r'\S+ SELECT "?INBOX"? \(CONDSTORE\)',
                                     c) for c in second), second)
        self.assertTrue(any(re.match(r"\S+ UID FETCH \S+ \(FLAGS\) "
                                     r"\(CHANGEDSINCE \d+ VANISHED\)", c)
                            for c in second), second)
        self.assertTrue(any(re.match(r"\S+ UID STORE 2 \+FLAGS", c)
                            for c in second), second)
        self.assertEqual(self.uids(), [3])
        self.assertEqual(self.flags(), {3: FLAGGED})
        # (neomutt 20220429 leaves a hole in its message index for a
        # VANISHED (EARLIER) UID, finds it, and reloads the flags with
        # UID FETCH 1:N (UID FLAGS): its own limit, whatever the server.)
        # 4. Only a flag changes elsewhere: the resync is the FETCH of
        # what changed since, and neomutt needs nothing more.
        m = self.imaps()
        m.select("INBOX")
        m.uid("STORE", "3", "+FLAGS.SILENT", "(\\Seen)")
        m.logout()
        mark = self.d.mark()
        self.neomutt("<quit>")
        third = self.commands(mark)
        self.assertTrue(any(re.match(r"\S+ UID FETCH \S+ \(FLAGS\) "
                                     r"\(CHANGEDSINCE \d+ VANISHED\)", c)
                            for c in third), third)
        self.assertFalse(any("(UID FLAGS)" in c for c in third), third)
        self.assertEqual(self.flags(), {3: FLAGGED | SEEN})
        self.stop()


# ---- getmail ----------------------------------------------------------------

class Getmail(ClientsTestCase):

    def test_pop3_keep_fetches_each_message_once(self):
        self.serve()
        self.deliver([message("one"), message("two"), message("three")])
        stored = self.stored()
        _, got = self.getmail("keep", "pop3")
        self.assertEqual(got, [as_getmail(s) for s in stored])
        _, got = self.getmail("keep", "pop3")
        self.assertEqual(got, [])
        self.deliver([message("four")])
        _, got = self.getmail("keep", "pop3")
        self.assertEqual(got, [as_getmail(self.stored()[3])])
        # Nothing was deleted; what getmail remembers are the UIDLs.
        (count, _), uidls = self.pop3_unlocked_stat()
        self.assertEqual(count, 4)
        [oldmail] = [n for n in os.listdir(self.env.path("keep"))
                     if n.startswith("oldmail-")]
        with open(self.env.path("keep", oldmail), "rb") as f:
            seen = [line.split(b"\0")[0] for line in f]
        self.assertEqual(sorted(seen), sorted(uidls))
        self.stop()

    def test_pop3_delete_only_after_quit(self):
        self.serve()
        self.deliver([message("one"), message("two"), message("three")])
        stored = self.stored()
        idle = self.raw()
        idle.ok("SELECT INBOX")
        ImapClient.n += 1
        tag = f"t{ImapClient.n}"
        idle.send(f"{tag} IDLE\r\n")
        self.assertEqual(idle.readline(), "+ idling")
        # getmail killed while delivering the second message: it had
        # sent DELE 1 but no QUIT, so everything stays.
        code, got = self.getmail("delete", "pop3", delete=True, kill_at=2,
                                 ok=False)
        self.assertEqual(code, -signal.SIGKILL)
        self.assertEqual(got, [as_getmail(stored[0])])
        (count, _), _ = self.pop3_unlocked_stat()
        self.assertEqual(count, 3)
        self.assertEqual(self.stored(), stored)
        # A clean run: while it runs (DELE after each message) the store
        # keeps all three; after QUIT the INBOX is empty.
        _, got = self.getmail("delete", "pop3", delete=True)
        self.assertEqual(got, [as_getmail(s) for s in stored])
        # (the first count is from the killed run's one delivery)
        self.assertEqual(self.mda_counts("delete"), [3, 3, 3, 3])
        self.assertEqual(self.stored(), [])
        left = list(stored)
        while left:
            m = re.fullmatch(r"\* (\d+) EXPUNGE", idle.readline())
            self.assertIsNotNone(m, "not an EXPUNGE")
            self.assertLessEqual(int(m.group(1)), len(left))
            del left[int(m.group(1)) - 1]
        idle.send("DONE\r\n")
        _, tagged = idle.until(tag)
        self.assertEqual(tagged, "OK Idle completed")
        _, got = self.getmail("delete", "pop3", delete=True)
        self.assertEqual(got, [])
        self.stop()


# ---- the Sent story ---------------------------------------------------------

class SentEverywhere(ClientsTestCase):

    def test_sent_mail_shows_on_every_device(self):
        """The phone saves sent mail by IMAP APPEND, the laptop's mbsync
        pushes its own; the webmail (curl), getmail and the phone see
        both."""
        self.serve()
        self.deliver([message("incoming")])
        inbox = self.stored()
        phone = self.imaps()
        from_phone = message("sent from the phone", sender=BOB, to=ALICE)
        typ, data = phone.append("Sent", "(\\Seen)", None, from_phone)
        self.assertEqual(typ, "OK")
        self.assertTrue(data[0].startswith(b"[APPENDUID "), data)
        # The laptop: mbsync brings it down and pushes its own.
        self.mbsync_setup()
        self.mbsync()
        [(flags, down)] = self.local("Sent").values()
        self.assertEqual((flags, TUID_RE.sub(b"", down)),
                         ("S", lf(from_phone)))
        from_laptop = lf(message("sent from the laptop", sender=BOB,
                                 to=ALICE))
        with open(os.path.join(self.maildir, "Sent", "new",
                               "1790000001.2.laptop"), "wb") as f:
            f.write(from_laptop)
        self.mbsync()
        sent = self.stored(mailbox="Sent")
        self.assertEqual(len(sent), 2)
        self.assertEqual(sent[0], from_phone)
        self.assertEqual(lf(TUID_RE.sub(b"", sent[1])), from_laptop)
        self.assertEqual(self.flags("Sent"), {1: SEEN, 2: 0})
        # The webmail: curl searches and fetches Sent (reading marks the
        # laptop's message \Seen).
        self.assertEqual(self.curl("Sent?ALL"), b"* SEARCH 1 2\r\n")
        self.assertEqual(self.curl("Sent;UID=1"), from_phone)
        self.assertEqual(self.curl("Sent;UID=2"), sent[1])
        self.assertEqual(self.flags("Sent"), {1: SEEN, 2: SEEN})
        # getmail over IMAP reads INBOX and Sent, once.
        _, got = self.getmail("imap", "imap", mailboxes=("INBOX", "Sent"))
        self.assertEqual(got, [as_getmail(m) for m in inbox + sent])
        _, got = self.getmail("imap", "imap", mailboxes=("INBOX", "Sent"))
        self.assertEqual(got, [])
        self.assertEqual(self.flags(), {1: 0})     # getmail PEEKs
        # The phone sees the laptop's message, as read.
        self.assertEqual(phone.select("Sent"), ("OK", [b"2"]))
        typ, data = phone.uid("FETCH", "2", "(FLAGS BODY.PEEK[])")
        self.assertEqual(data[0][1], sent[1])
        self.assertIn(b"FLAGS (\\Seen)", data[0][0])
        self.stop()


# ---- getmail's delivery command ---------------------------------------------

SIGCHLD_BIT = 1 << (signal.SIGCHLD - 1)


def parent_catches_sigchld(ppid):
    with open(f"/proc/{ppid}/status") as f:
        for line in f:
            if line.startswith("SigCgt:"):
                return int(line.split()[1], 16) & SIGCHLD_BIT != 0
    return False


def getmail_mda(args):
    """test_clients.py --getmail-mda OUT DB ADDRESS KILL_AT

    Stores the message on stdin as OUT/NNN (counting from 001) and
    appends to OUT.counts how many messages ADDRESS's INBOX holds in the
    store right now, so a test sees what the server kept while getmail's
    session was open. When NNN would be KILL_AT (not 0), kills getmail
    (the parent) with SIGKILL instead: its session ends without QUIT.

    getmail installs its SIGCHLD handler only after fork() (getmail6
    issue #226), so a delivery command exiting before that leaves it
    waiting for a signal already gone: this waits, bounded, until the
    parent catches SIGCHLD before exiting."""
    out, db, address, kill_at = args[0], args[1], args[2], int(args[3])
    data = sys.stdin.buffer.read()
    ppid = os.getppid()
    number = len(os.listdir(out)) + 1
    if number == kill_at:
        os.kill(ppid, signal.SIGKILL)
        return 1
    with closing(sqlite3.connect(db, timeout=TOOL_TIMEOUT)) as c:
        count = c.execute(
            "SELECT count(*) FROM messages m"
            " JOIN mailboxes x ON x.id = m.mailbox"
            " JOIN accounts a ON a.id = x.account"
            " WHERE a.address = ? AND x.name = 'INBOX'",
            (address,)).fetchone()[0]
    with open(out + ".counts", "a") as f:
        f.write(f"{count}\n")
    with open(os.path.join(out, f"{number:03d}"), "wb") as f:
        f.write(data)
    deadline = time.monotonic() + TOOL_TIMEOUT
    while not parent_catches_sigchld(ppid):
        if time.monotonic() > deadline:
            print("getmail never caught SIGCHLD", file=sys.stderr)
            return 1
        time.sleep(0.01)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--getmail-mda"]:
        sys.exit(getmail_mda(sys.argv[2:]))
    unittest.main(verbosity=2)
