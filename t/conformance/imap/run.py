#!/usr/bin/env python3
"""Runs the IMAP conformance scripts (t/conformance/imap/rfc*/*.scr, the
language in imapscript.py and README) against one real postinod with
imap.so on an implicit-TLS listener. Every scenario is a unittest case
with its own account, so t/run-tests counts scenarios; a summary per RFC
closes the output.

    python3 t/conformance/imap/run.py [-v] [SCRIPT-OR-DIR ...]
    python3 t/conformance/imap/run.py --count     (scenarios per RFC)
"""
import glob
import os
import re
import socket
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import imapscript  # noqa: E402
from imapscript import read_response, match, substitute  # noqa: E402

HOST = "mail.example.test"
PASSWORD = "Conformance-Secret-4711"
IO_TIMEOUT = harness.IO_TIMEOUT


class ScenarioFailure(AssertionError):
    pass


class Session:
    """One client connection, logged in as the scenario's account."""

    def __init__(self, where, user):
        self.buf = b""
        self.tag_n = 0
        self.pending = None   # tag of a command waiting for DONE
        self.closed = False   # the server said BYE and closed
        self.transcript = []
        sock = socket.create_connection(where, timeout=IO_TIMEOUT)
        self.sock = harness.tls_client_context().wrap_socket(
            sock, server_hostname=HOST)
        greeting = self.response()
        if not greeting.text.startswith("* OK"):
            raise ScenarioFailure(f"greeting: {greeting.text}")
        tag = self.next_tag()
        self.send(f"{tag} LOGIN {user} {PASSWORD}\r\n".encode())
        while True:
            r = self.response()
            if r.tag == tag:
                break
        if not r.text.startswith(f"{tag} OK"):
            raise ScenarioFailure(f"LOGIN: {r.text}")
        self.transcript = []

    def next_tag(self):
        self.tag_n += 1
        return f"c{self.tag_n}"

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.transcript.append("C: " + data.decode("utf-8", "replace")
                               .rstrip("\r\n")[:300])
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise ScenarioFailure("timed out waiting for the server")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise ScenarioFailure("timed out waiting for the server")
        if not data:
            raise ScenarioFailure("the server closed the connection")
        self.buf += data

    def readline(self):
        deadline = time.monotonic() + IO_TIMEOUT
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def read(self, n):
        deadline = time.monotonic() + IO_TIMEOUT
        while len(self.buf) < n:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self):
        r = read_response(self)
        self.transcript.append("S: " + r.display()[:300])
        return r


class Server:
    """The postinod every scenario talks to."""

    def __init__(self, tc):
        self.tc = tc
        self.env = harness.Env(tc, prefix="postino-conf-")
        self.accounts = 0
        certdir = self.env.path("certs")
        os.mkdir(certdir)
        cert = harness.make_cert(certdir, "mail", HOST, [HOST])
        self.env.write_config(modules_dir=harness.MODULES_DIR,
                              extra=harness.tls_section(*cert))
        text, where = harness.listener_sections(
            [{"name": "imaps", "protocol": "imap", "tls": "implicit"}])
        self.where = where["imaps"]
        self.env.write_module("imap", None, extra=text)
        self.env.init()
        self.env.cli_ok("domain", "add", "example.test")
        self.daemon = self.env.start()

    def account(self):
        self.accounts += 1
        user = f"s{self.accounts}@example.test"
        self.env.add_user(user, PASSWORD)
        return user

    def restart(self):
        self.daemon.stop()
        self.daemon = self.env.start()

    def stop(self):
        self.daemon.stop()


def literal_args(text, messages):
    """The command as bytes: {{name}} becomes the message as a LITERAL+,
    {{=text}} the UTF-8 bytes of text (a search string with accents)."""
    out = b""
    pos = 0
    for m in re.finditer(r"\{\{(=[^}]*|[A-Za-z0-9_-]+)\}\}", text):
        name = m.group(1)
        data = name[1:].encode() if name.startswith("=") \
            else messages[name]
        out += text[pos:m.start()].encode() + \
            b"{%d+}\r\n" % len(data) + data
        pos = m.end()
    return out + text[pos:].encode() + b"\r\n"


def check_step(step, untagged, tagged, vs):
    """None when the responses meet the step's expectations, else why."""
    used = set()
    k = 0
    for p in step.ordered:
        while k < len(untagged) and not match(p.tree, untagged[k].tree, vs):
            k += 1
        if k == len(untagged):
            return f"expected (in order) line {p.line}: {p.source}"
        used.add(k)
        k += 1
    for p in step.unordered:
        for j, r in enumerate(untagged):
            if j not in used and match(p.tree, r.tree, vs):
                used.add(j)
                break
        else:
            return f"expected line {p.line}: {p.source}"
    for p in step.banned:
        for r in untagged:
            if match(p.tree, r.tree, dict(vs)):
                return f"banned by line {p.line}: {r.display()}"
    if step.only and len(used) != len(untagged):
        extra = [untagged[j].display() for j in range(len(untagged))
                 if j not in used]
        return f"unexpected untagged responses: {extra}"
    if tagged is None:
        if getattr(step, "kind", "") in ("command", "done") and \
                step.continuation is None and \
                "BYE" not in (step.tagged or ({"OK"},))[0]:
            return "the server closed the connection"
        return None
    statuses, code, banned = step.tagged or ({"OK"}, None, False)
    status = tagged.text.split(" ", 2)[1].upper() \
        if " " in tagged.text else ""
    if status not in statuses:
        return f"tagged {tagged.display()}, expected {'|'.join(statuses)}"
    if code is not None:
        want = code.tree[2] if len(code.tree) > 2 else None
        got = tagged.tree[2] if len(tagged.tree) > 2 else None
        matched = want is not None and \
            isinstance(got, imapscript.Group) and match([want], [got], vs)
        if matched == banned:
            return f"tagged {tagged.display()}, expected " + \
                ("no " if banned else "") + code.source[5:]
    return None


def run_scenario(server, messages, scenario):
    user = server.account()
    vs = {"user": user}
    sessions = {}
    try:
        for step in scenario.steps:
            if step.kind == "restart":
                for s in sessions.values():
                    s.close()
                sessions.clear()
                server.restart()
                continue
            s = sessions.get(step.session)
            if s is None:
                s = sessions[step.session] = Session(server.where, user)
            try:
                untagged, tagged = run_step(s, step, messages, vs)
                why = check_step(step, untagged, tagged, vs)
            except ScenarioFailure as e:
                why = str(e)
            if s.closed:
                s.close()
                del sessions[step.session]
            if why is not None:
                log = "\n  ".join(s.transcript[-40:])
                raise ScenarioFailure(
                    f"{scenario.path}:{step.line}: session {step.session}"
                    f": {why}\n  {log}")
    finally:
        for s in sessions.values():
            s.close()


def run_step(s, step, messages, vs):
    """Sends the step's command (if any) and reads its responses:
    (untagged, tagged or None)."""
    untagged = []
    s.transcript = []
    if step.kind == "wait":
        # Unsolicited responses: read until the expected ones came.
        while True:
            untagged.append(s.response())
            if check_step(step, untagged, None, dict(vs)) is None:
                return untagged, None
    if step.kind == "done":
        if s.pending is None:
            raise ScenarioFailure("DONE without a command waiting")
        tag, s.pending = s.pending, None
        s.send(b"DONE\r\n")
    else:
        if s.pending is not None:
            raise ScenarioFailure(f"session {step.session} waits for DONE")
        tag = s.next_tag()
        s.send(tag.encode() + b" " +
               literal_args(substitute(step.text, vs), messages))
    while True:
        try:
            r = s.response()
        except ScenarioFailure:
            # A BYE and the end of the connection: the step's answer
            # (check_step accepts it only where the script allows it).
            if untagged and untagged[-1].text.upper().startswith("* BYE"):
                s.closed = True
                return untagged, None
            raise
        if r.tag == tag:
            return untagged, r
        if r.tag == "+" and step.continuation is not None:
            s.pending = tag
            return untagged, None
        untagged.append(r)


# ---- unittest glue -----------------------------------------------------------

def scripts(args):
    paths = []
    for a in args or [HERE]:
        if os.path.isdir(a):
            paths += sorted(glob.glob(os.path.join(a, "**", "*.scr"),
                                      recursive=True))
        else:
            paths.append(a)
    return paths


def rfc_of(path):
    rel = os.path.relpath(path, HERE)
    return rel.split(os.sep)[0] if os.sep in rel else "selftest"


def load(paths):
    out = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            messages, scenarios = imapscript.parse_script(
                os.path.relpath(path, HERE), f.read())
        for sc in scenarios:
            out.append((path, messages, sc))
    return out


class _Holder(unittest.TestCase):
    """Owns the server's cleanups (the Env wants a TestCase)."""

    def runTest(self):
        pass


class Conformance(unittest.TestCase):
    server = None
    holder = None
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        missing = harness.binaries_missing()
        if missing:
            raise unittest.SkipTest(missing)
        cls.holder = _Holder()
        cls.server = Server(cls.holder)

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.server is not None:
                cls.server.stop()
        finally:
            cls.holder.doCleanups()


def make_test(messages, scenario):
    def test(self):
        try:
            run_scenario(self.server, messages, scenario)
        except ScenarioFailure as e:
            if scenario.xfail:
                return
            self.fail(str(e))
        if scenario.xfail:
            self.fail(f"{scenario.path}:{scenario.line}: self-test "
                      f"scenario passed but must fail")
    return test


def build(paths):
    counts = {}
    for n, (path, messages, sc) in enumerate(load(paths)):
        slug = re.sub(r"[^a-z0-9]+", "_", sc.title.lower()).strip("_")
        stem = re.sub(r"[^a-z0-9]+", "_",
                      os.path.relpath(path, HERE)[:-4].lower())
        name = f"test_{n:03d}_{stem}__{slug}"[:120]
        setattr(Conformance, name, make_test(messages, sc))
        counts[rfc_of(path)] = counts.get(rfc_of(path), 0) + 1
    return counts


def main():
    argv = sys.argv[1:]
    count_only = "--count" in argv
    argv = [a for a in argv if a != "--count"]
    paths = [a for a in argv if not a.startswith("-")]
    flags = [a for a in argv if a.startswith("-")]
    counts = build(scripts(paths))
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    if count_only:
        print(summary, f"(total {sum(counts.values())})")
        return 0
    prog = unittest.main(argv=[sys.argv[0]] + flags, exit=False)
    print(f"scenarios per RFC: {summary}", file=sys.stderr)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
