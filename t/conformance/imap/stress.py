#!/usr/bin/env python3
"""A random IMAP stress with a model: several sessions on one INBOX send
APPEND, STORE, FETCH, SEARCH, EXPUNGE and NOOP (UID forms too), one command
at a time in a random order, and every response is checked against a model
of the mailbox and of what each session may know:

- the mailbox: each message's UID, flags, keywords and subject, the UIDs
  APPENDUID hands out (strictly ascending, never reused);
- each session: its sequence numbers (they change only as it is told by
  EXPUNGE and EXISTS), the flags it was last told, the keywords its FLAGS
  named, the messages it has seen as \\Recent (one session per message).

A response the model does not allow is a violation (RFC 3501 5.5, 7.4.1:
no EXPUNGE during FETCH, STORE, SEARCH; FLAGS before a keyword is used;
SEARCH, FETCH and STORE answers as the mailbox stands). The run prints its
figures and fails on any violation.

CONDSTORE and QRESYNC (RFC 7162): of every three sessions one stays
plain, one enables CONDSTORE, one QRESYNC (its expunges come as
VANISHED, never EXPUNGE). The model keeps a clock of real changes (a
flag change, an append, an expunge); a HIGHESTMODSEQ learned where the
session is the mailbox (SELECT, STATUS, EXPUNGE's OK) is a snapshot of
it. Checked: modseqs only grow (per message, and HIGHESTMODSEQ is above
every MODSEQ the session saw); FETCH (CHANGEDSINCE H), with what the
command's closing sync reports, answers exactly the messages changed
since the snapshot; STORE (UNCHANGEDSINCE H) keeps and names in
[MODIFIED] exactly those; UID FETCH (CHANGEDSINCE H VANISHED) tells
every UID of the view expunged since, and no other.

    python3 t/conformance/imap/stress.py [--seconds N] [--sessions N]
                                         [--seed N] [-v]

Under make test it runs 20 s (meson test imap_stress). Commands go one at
a time so that the model is exact; the sessions still interleave, hold
expunges and catch up as real clients do.
"""
import argparse
import os
import random
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from imapscript import Group, String  # noqa: E402
import run  # noqa: E402

SYSTEM = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"]
KEYWORDS = ["work", "todo", "$Label1", "later"]
OPTS = {"seconds": 20.0, "sessions": 3, "seed": None, "verbose": False}


class Violation(AssertionError):
    pass


def norm(flags):
    """A flag set as the model keeps it: lower case, no \\Recent."""
    return frozenset(f.lower() for f in flags if f.lower() != "\\recent")


class Message:
    def __init__(self, uid, flags, subject, clock=0):
        self.uid = uid
        self.flags = norm(flags)
        self.subject = subject
        self.changed_at = clock  # the model clock of its last change
        self.gone_at = None      # and of its expunge


class Mailbox:
    """The server's state, exact since commands go one at a time."""

    def __init__(self):
        self.msgs = {}       # uid -> Message, present ones
        self.gone = {}       # uid -> Message as it was expunged
        self.uidnext = 1
        self.uidvalidity = None
        self.recent_owner = {}  # uid -> session that saw it \Recent
        self.clock = 0          # real changes so far (RFC 7162 model)

    def tick(self):
        self.clock += 1
        return self.clock

    def present(self):
        return sorted(self.msgs)


class Session:
    def __init__(self, name, client):
        self.name = name
        self.c = client
        self.view = []           # uid per sequence number - 1
        self.told = {}           # uid -> flags last reported
        self.named = set()       # keywords in its FLAGS, lower case
        self.mode = "plain"      # or "condstore", "qresync"
        self.mods = {}           # uid -> highest MODSEQ it was told
        self.hms = 0             # highest MODSEQ it was told of any
        self.snap = None         # (HIGHESTMODSEQ, model clock then)
        self.fetched = set()     # UIDs FETCH responses named (a command)
        self.vanished = set()    # UIDs VANISHED (EARLIER too) named
        self.earlier = set()     # UIDs VANISHED (EARLIER) named
        self.changedsince = False  # a FETCH (CHANGEDSINCE) is running


class Stress:
    def __init__(self, server, seconds, n_sessions, seed, log):
        self.server = server
        self.seconds = seconds
        self.rng = random.Random(seed)
        self.seed = seed
        self.log = log
        self.box = Mailbox()
        self.user = server.account()
        self.sessions = []
        self.commands = 0
        self.responses = 0
        self.counts = {}
        self.doomed = []         # an EXPUNGE's messages, until its commit
        for i in range(n_sessions):
            self.sessions.append(self.open(
                f"s{i + 1}", ["plain", "condstore", "qresync"][i % 3]))

    # ---- protocol -------------------------------------------------------

    def open(self, name, mode):
        s = Session(name, run.Session(self.server.where, self.user))
        s.mode = mode
        if mode != "plain":
            _, tagged = self.send(s, f"ENABLE {mode.upper()}",
                                  kind="ENABLE")
            self.tagged_ok(s, tagged, "ENABLE")
        untagged, tagged = self.send(s, "SELECT INBOX", kind="SELECT")
        self.check(tagged.text.split()[1] == "OK", s, "SELECT failed")
        return s

    def send(self, s, text, literal=None, kind=None):
        """Sends a command, returns (untagged, tagged); every untagged
        response is checked as it comes (self.on_untagged)."""
        tag = s.c.next_tag()
        data = f"{tag} {text}".encode()
        if literal is not None:
            data += b" {%d+}\r\n" % len(literal) + literal
        s.c.transcript = s.c.transcript[-60:]
        s.c.send(data + b"\r\n")
        self.commands += 1
        word = kind or text.split()[0]
        self.counts[word] = self.counts.get(word, 0) + 1
        untagged = []
        while True:
            r = s.c.response()
            self.responses += 1
            if r.tag == tag:
                return untagged, r
            untagged.append(r)
            self.on_untagged(s, r, word)
            if word == "STATUS":
                self.on_status(s, r)

    def check(self, ok, s, why):
        if not ok:
            raise Violation(f"{s.name}: {why} (seed {self.seed})\n  " +
                            "\n  ".join(s.c.transcript[-30:]))

    # ---- untagged responses against the model ---------------------------

    def learn_highest(self, s, value):
        """A HIGHESTMODSEQ where the session's view is the mailbox: a
        snapshot of the model clock."""
        h = int(value)
        self.check(h >= s.hms, s, f"HIGHESTMODSEQ {h} below the MODSEQ "
                   f"{s.hms} the session was told")
        self.check(s.snap is None or h >= s.snap[0], s,
                   f"HIGHESTMODSEQ {h} went down from {s.snap}")
        s.hms = h
        s.snap = (h, self.box.clock)

    def on_vanished(self, s, t, word):
        earlier = isinstance(t[2], Group)
        uids = set()
        for part in str(t[3] if earlier else t[2]).split(","):
            lo, _, hi = part.partition(":")
            uids.update(range(int(lo), int(hi or lo) + 1))
        self.check(s.mode == "qresync", s, "VANISHED without QRESYNC")
        for uid in sorted(uids):
            if uid in self.doomed:
                self.commit_expunge()
            self.check(uid not in self.box.msgs, s,
                       f"VANISHED UID {uid}, which is there")
        s.vanished |= uids
        if earlier:
            s.earlier |= uids
            return
        self.check(word not in ("FETCH", "STORE", "SEARCH"), s,
                   f"VANISHED during {word} (RFC 7162 3.2.10)")
        for uid in uids:
            self.check(uid in s.view, s, f"VANISHED UID {uid}, not in "
                       f"the view")
            s.view.remove(uid)
            s.told.pop(uid, None)

    def on_untagged(self, s, r, word):
        t = r.tree
        if len(t) >= 3 and str(t[1]).upper() == "VANISHED":
            self.on_vanished(s, t, word)
        elif len(t) >= 3 and str(t[1]).upper() == "OK" and \
                isinstance(t[2], Group) and len(t[2]) == 2 and \
                str(t[2][0]).upper() == "HIGHESTMODSEQ":
            if word == "SELECT":
                self.learn_highest(s, t[2][1])
        elif len(t) >= 3 and str(t[2]).upper() == "EXPUNGE":
            self.check(s.mode != "qresync", s, "EXPUNGE under QRESYNC")
            self.check(word not in ("FETCH", "STORE", "SEARCH"), s,
                       f"EXPUNGE during {word} (RFC 3501 7.4.1)")
            n = int(t[1])
            self.check(1 <= n <= len(s.view), s, f"EXPUNGE {n} of "
                       f"{len(s.view)}")
            uid = s.view[n - 1]
            if uid in self.doomed:
                self.commit_expunge()
            self.check(uid not in self.box.msgs, s,
                       f"EXPUNGE of UID {uid}, which is there")
            del s.view[n - 1]
            s.told.pop(uid, None)
        elif len(t) >= 3 and str(t[2]).upper() == "EXISTS":
            n = int(t[1])
            last = s.view[-1] if s.view else 0
            new = [u for u in self.box.present() if u > last]
            self.check(n == len(s.view) + len(new), s,
                       f"EXISTS {n}: the view has {len(s.view)}, the "
                       f"mailbox {len(new)} more")
            for u in new:
                s.view.append(u)
                s.told[u] = self.box.msgs[u].flags
        elif len(t) >= 2 and str(t[1]).upper() == "FLAGS" and \
                isinstance(t[2], Group):
            for f in t[2]:
                if not str(f).startswith("\\"):
                    s.named.add(str(f).lower())
        elif len(t) >= 4 and str(t[2]).upper() == "FETCH":
            self.on_fetch(s, int(t[1]), t[3], word)

    def on_fetch(self, s, n, items, word):
        self.check(1 <= n <= len(s.view), s, f"FETCH {n} of {len(s.view)}")
        uid = s.view[n - 1]
        kv = {}
        it = list(items)
        for k in range(0, len(it) - 1, 2):
            kv[str(it[k]).upper()] = it[k + 1]
        if "UID" in kv:
            self.check(int(kv["UID"]) == uid, s,
                       f"FETCH {n} says UID {kv['UID']}, the view {uid}")
        s.fetched.add(uid)
        # (A FETCH gets what it asks for: CHANGEDSINCE implies MODSEQ;
        # the rule is for the FETCH responses nobody asked for.)
        fetching = word in ("FETCH", "UID FETCH")
        if "FLAGS" in kv and s.mode != "plain" and not fetching:
            self.check("UID" in kv and "MODSEQ" in kv, s,
                       "a FETCH of flags without UID and MODSEQ under "
                       "CONDSTORE (RFC 7162 3.1)")
        if fetching and s.changedsince:
            self.check("MODSEQ" in kv, s, "FETCH (CHANGEDSINCE) without "
                       "MODSEQ (RFC 7162 3.1.4.1)")
        if "MODSEQ" in kv:
            self.check(s.mode != "plain", s, "MODSEQ without CONDSTORE")
            mod = int(kv["MODSEQ"][0])
            self.check(mod >= s.mods.get(uid, 0), s, f"MODSEQ of UID "
                       f"{uid} went down: {mod} < {s.mods.get(uid)}")
            s.mods[uid] = mod
            s.hms = max(s.hms, mod)
        if "FLAGS" in kv:
            flags = [str(f) for f in kv["FLAGS"]]
            got = norm(flags)
            # What the session knew, or (a change it is told now) what
            # the mailbox has; an expunged message keeps what it showed.
            m = self.box.msgs.get(uid)
            known = s.told.get(uid)
            self.check(got == known or (m is not None and got == m.flags),
                       s, f"FLAGS of UID {uid}: {sorted(got)}, the session "
                       f"knew {sorted(known or [])}, the mailbox has "
                       f"{sorted(m.flags) if m else 'it expunged'}")
            for f in got:
                self.check(f.startswith("\\") or f in s.named, s,
                           f"keyword {f} before a FLAGS naming it")
            if any(f.lower() == "\\recent" for f in flags):
                owner = self.box.recent_owner.setdefault(uid, s.name)
                self.check(owner == s.name, s, f"UID {uid} \\Recent "
                           f"in {s.name} and {owner}")
            s.told[uid] = got
        for key, value in kv.items():
            if key.startswith("BODY[HEADER.FIELDS"):
                m = self.box.msgs.get(uid) or self.box.gone.get(uid)
                self.check(isinstance(value, String) and
                           m.subject in value, s,
                           f"subject of UID {uid}: {value!r}")

    # ---- commands -------------------------------------------------------

    def pick_seqs(self, s):
        """A random sequence set of s's view, and the UIDs it means."""
        if not s.view:
            return None, []
        a = self.rng.randrange(len(s.view))
        b = min(len(s.view), a + self.rng.choice([1, 1, 2, 5, 50]))
        text = f"{a + 1}:{b}" if b > a + 1 else f"{a + 1}"
        return text, s.view[a:b]

    def pick_uids(self, s):
        if not s.view:
            return None, []
        uids = sorted(self.rng.sample(s.view, min(len(s.view),
                                                  self.rng.randint(1, 4))))
        return ",".join(map(str, uids)), uids

    def flag_args(self):
        flags = self.rng.sample(SYSTEM, self.rng.randint(0, 2))
        if self.rng.random() < 0.4:
            flags.append(self.rng.choice(KEYWORDS))
        return flags or ["\\Flagged"]

    def tagged_ok(self, s, tagged, what):
        status = tagged.text.split(" ", 2)[1].upper()
        self.check(status == "OK", s, f"{what}: {tagged.text}")

    def after_sync(self, s):
        """After a command that may report expunges, the view is the
        mailbox, exactly, and every flag change was reported."""
        self.check(s.view == self.box.present(), s,
                   f"view {s.view} is not the mailbox "
                   f"{self.box.present()}")
        for u in s.view:
            self.check(s.told.get(u) == self.box.msgs[u].flags, s,
                       f"UID {u}: the session was told "
                       f"{sorted(s.told.get(u) or [])}, the mailbox has "
                       f"{sorted(self.box.msgs[u].flags)}")

    def do_append(self, s):
        flags = self.flag_args() if self.rng.random() < 0.5 else []
        uid_expected = self.box.uidnext
        subject = f"stress {self.rng.randrange(10**9)}"
        body = (f"From: stress@example.test\r\nSubject: {subject}\r\n\r\n"
                f"{'x' * self.rng.randint(0, 300)}\r\n").encode()
        # The model learns it as it commits, before any response.
        self.box.msgs[uid_expected] = Message(uid_expected, flags, subject,
                                              self.box.tick())
        self.box.uidnext += 1
        _, tagged = self.send(s, f"APPEND INBOX ({' '.join(flags)})",
                              literal=body, kind="APPEND")
        self.tagged_ok(s, tagged, "APPEND")
        code = tagged.tree[2]
        self.check(str(code[0]).upper() == "APPENDUID" and
                   int(code[2]) == uid_expected, s,
                   f"APPENDUID {list(code)}, expected UID {uid_expected}")
        if self.box.uidvalidity is None:
            self.box.uidvalidity = int(code[1])
        self.check(int(code[1]) == self.box.uidvalidity, s,
                   "UIDVALIDITY changed")
        self.after_sync(s)

    def apply_store(self, s, uids, op, flags):
        """The mailbox after s stores flags on uids; s's view shows its
        own change at once (reported or .SILENT)."""
        fl = norm(flags)
        for u in uids:
            m = self.box.msgs.get(u)
            if m is None:
                continue
            new = m.flags | fl if op == "+" else \
                m.flags - fl if op == "-" else fl
            if new != m.flags:
                m.changed_at = self.box.tick()
            m.flags = new
            s.told[u] = m.flags

    def do_store(self, s, uid):
        text, uids = self.pick_uids(s) if uid else self.pick_seqs(s)
        if text is None:
            return
        op = self.rng.choice(["+", "-", "+", ""])
        flags = self.flag_args()
        silent = ".SILENT" if self.rng.random() < 0.3 else ""
        cmd = f"{'UID ' if uid else ''}STORE {text} {op}FLAGS{silent} " \
              f"({' '.join(flags)})"
        # The model changes with the commit, which comes before any
        # response the command gets.
        self.apply_store(s, uids, op, flags)
        _, tagged = self.send(s, cmd, kind="UID STORE" if uid else "STORE")
        self.tagged_ok(s, tagged, cmd)
        if uid:
            self.after_sync(s)

    def do_fetch(self, s, uid):
        text, uids = self.pick_uids(s) if uid else self.pick_seqs(s)
        if text is None:
            return
        items = self.rng.choice(["(UID FLAGS)", "(FLAGS RFC822.SIZE)",
                                 "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])"])
        view = list(s.view)
        untagged, tagged = self.send(
            s, f"{'UID ' if uid else ''}FETCH {text} {items}",
            kind="UID FETCH" if uid else "FETCH")
        status = tagged.text.split(" ", 2)[1].upper()
        missing = [u for u in uids if u not in self.box.msgs]
        self.check(status == "OK" or (status == "NO" and missing and
                                      "EXPUNGEISSUED" in tagged.text),
                   s, f"FETCH: {tagged.text}")
        answered = set()
        for r in untagged:
            if len(r.tree) >= 3 and str(r.tree[2]).upper() == "FETCH":
                n = int(r.tree[1])
                if n <= len(view):
                    answered.add(view[n - 1])
        for u in uids:
            self.check(u in answered or u not in self.box.msgs, s,
                       f"no FETCH response for UID {u}")
        if uid:
            self.after_sync(s)

    def matches(self, m, key):
        kind, arg = key
        if kind == "ALL":
            return True
        if kind == "FLAG":
            return arg in m.flags
        if kind == "UNFLAG":
            return arg not in m.flags
        return arg in m.subject

    def do_search(self, s, uid):
        keys = [("ALL", "ALL", None),
                ("FLAGGED", "FLAG", "\\flagged"),
                ("DELETED", "FLAG", "\\deleted"),
                ("UNSEEN", "UNFLAG", "\\seen"),
                ("KEYWORD todo", "FLAG", "todo"),
                ("SUBJECT stress", "SUBJECT", "stress")]
        text, kind, arg = self.rng.choice(keys)
        # The view as the command finds it: the sync before the tagged
        # reply changes it after the SEARCH response.
        view, told = list(s.view), dict(s.told)
        untagged, tagged = self.send(
            s, f"{'UID ' if uid else ''}SEARCH {text}",
            kind="UID SEARCH" if uid else "SEARCH")
        self.tagged_ok(s, tagged, "SEARCH")
        got = None
        for r in untagged:
            if len(r.tree) >= 2 and str(r.tree[1]).upper() == "SEARCH":
                got = sorted(int(x) for x in r.tree[2:])
        self.check(got is not None, s, "no SEARCH response")
        # On the session's view, with the flags it knows. An expunged
        # message it still holds may be in the answer or not (RFC 2180
        # 4.1.2): its number is still the session's.
        want, held = [], []
        for i, u in enumerate(view):
            m = self.box.msgs.get(u)
            if m is None:
                held.append(u if uid else i + 1)
                continue
            known = Message(u, told[u], m.subject)
            if self.matches(known, (kind, arg)):
                want.append(u if uid else i + 1)
        self.check(set(want) <= set(got) <= set(want) | set(held), s,
                   f"SEARCH {text}: {got}, the model {sorted(want)} "
                   f"(and maybe {held})")
        if uid:
            self.after_sync(s)

    def do_expunge(self, s, uid):
        if uid:
            text, uids = self.pick_uids(s)
            if text is None:
                return
        cmd = f"UID EXPUNGE {text}" if uid else "EXPUNGE"
        # What is \Deleted now (of the set, for UID EXPUNGE) goes. The
        # session first takes in the others' changes (reported while
        # these are still there); they go at the commit, which the
        # first EXPUNGE response of one of them (or the tagged reply)
        # follows.
        self.doomed = [u for u, m in self.box.msgs.items()
                       if "\\deleted" in m.flags and (not uid or u in uids)]
        _, tagged = self.send(s, cmd, kind="UID EXPUNGE" if uid
                              else "EXPUNGE")
        self.commit_expunge()
        self.tagged_ok(s, tagged, cmd)
        self.after_sync(s)
        code = tagged.tree[2] if len(tagged.tree) > 2 else None
        has = isinstance(code, Group) and len(code) == 2 and \
            str(code[0]).upper() == "HIGHESTMODSEQ"
        self.check(has == (s.mode != "plain"), s, "HIGHESTMODSEQ in "
                   "EXPUNGE's OK only and always under CONDSTORE")
        if has:
            self.learn_highest(s, code[1])

    def commit_expunge(self):
        for u in self.doomed:
            self.box.gone[u] = self.box.msgs.pop(u)
            self.box.gone[u].gone_at = self.box.tick()
        self.doomed = []

    # ---- CONDSTORE / QRESYNC ---------------------------------------------

    def do_status_modseq(self, s):
        _, tagged = self.send(s, "STATUS INBOX (HIGHESTMODSEQ)",
                              kind="STATUS")
        self.tagged_ok(s, tagged, "STATUS")
        self.after_sync(s)

    def on_status(self, s, r):
        t = r.tree
        if len(t) >= 4 and str(t[1]).upper() == "STATUS" and \
                isinstance(t[3], Group):
            self.learn_highest(s, t[3][1])

    def changed_since(self, t):
        return {u for u, m in self.box.msgs.items() if m.changed_at > t}

    def do_changedsince(self, s, uid):
        """FETCH 1:* (FLAGS) (CHANGEDSINCE H): with the reports of the
        closing sync, exactly what changed since the snapshot."""
        h, t = s.snap
        vanished = uid and s.mode == "qresync" and \
            self.rng.random() < 0.5
        view = list(s.view)
        s.fetched, s.vanished, s.earlier = set(), set(), set()
        cmd = f"{'UID ' if uid else ''}FETCH 1:* (FLAGS) (CHANGEDSINCE " \
              f"{h}{' VANISHED' if vanished else ''})"
        s.changedsince = True
        _, tagged = self.send(s, cmd, kind="UID FETCH" if uid else "FETCH")
        s.changedsince = False
        self.tagged_ok(s, tagged, cmd)
        # The view syncs first (new mail comes in, unless expunges are
        # held): 1:* is the view as the command ends.
        scope = set(view) | set(s.view)
        want = self.changed_since(t) & scope
        self.check(want <= s.fetched, s, f"{cmd}: no FETCH for UIDs "
                   f"{sorted(want - s.fetched)} changed since (model "
                   f"clock {t}; they changed at " + ", ".join(
                       f"{self.box.msgs[u].changed_at}, MODSEQ "
                       f"{s.mods.get(u)}" for u in want - s.fetched) + ")")
        extra = {u for u in s.fetched - want if u in self.box.msgs}
        self.check(not extra, s, f"{cmd}: FETCH for UIDs {sorted(extra)},"
                   " unchanged since")
        if vanished:
            gone = {u for u in view if u in self.box.gone and
                    self.box.gone[u].gone_at > t}
            self.check(gone <= s.vanished, s, f"{cmd}: UIDs "
                       f"{sorted(gone - s.vanished)} not VANISHED")
            for u in s.earlier:
                g = self.box.gone.get(u)
                self.check(g is not None and g.gone_at > t, s,
                           f"{cmd}: VANISHED (EARLIER) {u}, not expunged "
                           f"since")
        if uid:
            self.after_sync(s)

    def do_unchangedsince(self, s, uid):
        """STORE (UNCHANGEDSINCE H): what changed since stays as it is
        and [MODIFIED] names exactly it."""
        h, t = s.snap
        text, uids = self.pick_uids(s) if uid else self.pick_seqs(s)
        if text is None:
            return
        view = list(s.view)
        changed = self.changed_since(t)
        modified = [u for u in uids if u in changed]
        flags = self.flag_args()
        op = self.rng.choice(["+", "-"])
        self.apply_store(s, [u for u in uids if u not in changed], op,
                         flags)
        cmd = f"{'UID ' if uid else ''}STORE {text} (UNCHANGEDSINCE {h})" \
              f" {op}FLAGS ({' '.join(flags)})"
        _, tagged = self.send(s, cmd, kind="UID STORE" if uid else "STORE")
        self.tagged_ok(s, tagged, cmd)
        code = tagged.tree[2] if len(tagged.tree) > 2 else None
        got = set()
        if isinstance(code, Group) and str(code[0]).upper() == "MODIFIED":
            for part in str(code[1]).split(","):
                lo, _, hi = part.partition(":")
                for n in range(int(lo), int(hi or lo) + 1):
                    got.add(n if uid else view[n - 1])
        self.check(got == set(modified), s, f"{cmd}: MODIFIED "
                   f"{sorted(got)}, the model {sorted(modified)}")
        if uid:
            self.after_sync(s)

    def do_noop(self, s):
        _, tagged = self.send(s, "NOOP")
        self.tagged_ok(s, tagged, "NOOP")
        self.after_sync(s)

    def step(self):
        s = self.rng.choice(self.sessions)
        size = len(self.box.msgs)
        r = self.rng.random()
        uid = self.rng.random() < 0.4
        if size < 5 or (r < 0.15 and size < 80):
            self.do_append(s)
        elif r < 0.35:
            self.do_store(s, uid)
        elif r < 0.55:
            self.do_fetch(s, uid)
        elif r < 0.70:
            self.do_search(s, uid)
        elif r < 0.76 and s.mode != "plain" and s.snap is not None:
            self.rng.choice([self.do_changedsince, self.do_unchangedsince,
                             lambda s, uid: self.do_status_modseq(s)])(
                                 s, uid)
        elif r < 0.80 or size >= 80:
            if size >= 80:
                # Trim: the oldest twenty the session has.
                old = [u for u in s.view if u in self.box.msgs][:20]
                self.apply_store(s, old, "+", ["\\Deleted"])
                _, tagged = self.send(
                    s, f"UID STORE {','.join(map(str, old))}"
                    " +FLAGS.SILENT (\\Deleted)", kind="UID STORE")
                self.tagged_ok(s, tagged, "STORE \\Deleted")
                self.after_sync(s)
            self.do_expunge(s, uid and self.rng.random() < 0.5)
        else:
            self.do_noop(s)

    def run(self):
        start = time.monotonic()
        while time.monotonic() - start < self.seconds:
            self.step()
        for s in self.sessions:
            self.do_noop(s)
        elapsed = time.monotonic() - start
        for s in self.sessions:
            s.c.close()
        return elapsed


class Stress_(unittest.TestCase):
    """The run as one unittest case (t/run-tests counts it)."""

    def test_stress(self):
        if harness.binaries_missing():
            self.fail(harness.binaries_missing())
        seed = OPTS["seed"] if OPTS["seed"] is not None else \
            random.randrange(2**31)
        server = run.Server(self)
        st = Stress(server, OPTS["seconds"], OPTS["sessions"], seed,
                    OPTS["verbose"])
        try:
            elapsed = st.run()
        except Violation as e:
            self.fail(f"model violation: {e}")
        except run.ScenarioFailure as e:
            self.fail(f"seed {seed}: {e}")
        server.stop()
        rate = st.commands / elapsed
        mix = ", ".join(f"{k} {v}" for k, v in sorted(st.counts.items()))
        print(f"\nimap stress: seed {seed}, {len(st.sessions)} sessions, "
              f"{elapsed:.1f} s, {st.commands} commands ({rate:.0f}/s), "
              f"{st.responses} responses checked, 0 violations; "
              f"{st.box.uidnext - 1} messages appended, "
              f"{len(st.box.gone)} expunged\n  {mix}", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=OPTS["seconds"])
    p.add_argument("--sessions", type=int, default=OPTS["sessions"])
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args()
    OPTS.update(seconds=a.seconds, sessions=a.sessions, seed=a.seed,
                verbose=a.verbose)
    prog = unittest.main(argv=[sys.argv[0]] + (["-v"] if a.verbose else []),
                         exit=False)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
