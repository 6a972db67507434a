"""The admin CLI, `postino -c CONF ...`: every command, its output, its
sysexits code, what it leaves in the database, and that passwords appear
nowhere but where the operator asked for them."""
import os
import re
import unittest

import harness
from harness import (EX_CANTCREAT, EX_CONFIG, EX_DATAERR, EX_NOINPUT,
                     EX_NOUSER, EX_USAGE, INIT_FAILS_DIR, POSTINO,
                     module_rows)

GENERATED_RE = re.compile(
    r"^password for (\S+): ([a-km-zA-HJ-NP-Z2-9]{16})$")
MAILBOXES = [("INBOX", ""), ("Sent", "\\Sent"), ("Drafts", "\\Drafts"),
             ("Trash", "\\Trash"), ("Junk", "\\Junk")]


class CliTest(harness.TestCase):

    def setUp(self):
        super().setUp()
        self.env.setup({"forbidden": "banana"})

    def add_user(self, address, password, *options):
        return self.env.cli_ok("user", "add", address, "--password-stdin",
                               *options, input=password + "\n")

    def show(self, address):
        """user show as a dict of its 'key: value' lines (mailbox lines in
        a list under 'mailbox')."""
        r = self.env.cli_ok("user", "show", address)
        info = {"mailbox": []}
        for line in r.out.splitlines():
            key, sep, value = line.partition(": ")
            self.assertEqual(sep, ": ", r.out)
            if key == "mailbox":
                info["mailbox"].append(value)
            else:
                self.assertNotIn(key, info, r.out)
                info[key] = value
        return info

    def stored_hash(self, address):
        rows = self.env.query("SELECT password_hash FROM accounts WHERE "
                              "address = ?", (address,))
        self.assertEqual(len(rows), 1, f"account {address}: {rows}")
        return rows[0][0]

    def history_count(self, address):
        return self.env.query(
            "SELECT count(*) FROM password_history h JOIN accounts a ON "
            "a.id = h.account WHERE a.address = ?", (address,))[0][0]

    def account_count(self):
        return self.env.query("SELECT count(*) FROM accounts")[0][0]

    def assert_password(self, address, password):
        stored = self.stored_hash(address)
        self.assertTrue(stored.startswith("$y$"), stored)
        ok = harness.crypt_verify(password, stored)
        if ok is not None:
            self.assertTrue(ok, f"{address}: hash does not match")


class Domains(CliTest):

    def test_add_list_del(self):
        env = self.env
        r = env.cli_ok("domain", "add", "Example.ORG")
        self.assertEqual((r.out, r.err), ("", ""))
        env.cli_ok("domain", "add", "a-b.example.net")
        self.assertEqual(env.cli_ok("domain", "list").out,
                         "a-b.example.net\nexample.org\nexample.test\n")
        env.cli_ok("domain", "del", "example.org")
        self.assertEqual(env.cli_ok("domain", "list").out,
                         "a-b.example.net\nexample.test\n")
        self.assertEqual(env.query("SELECT name FROM domains ORDER BY name"),
                         [("a-b.example.net",), ("example.test",)])

    def test_errors(self):
        env = self.env
        for bad in ("bad..example", "-bad.example", "bad-.example",
                    "bad_domain.example", "a@b.example", "."):
            env.cli_fails(EX_DATAERR, f"postino: malformed domain '{bad}'",
                          "domain", "add", bad)
        env.cli_fails(EX_CANTCREAT,
                      "postino: domain example.test already exists",
                      "domain", "add", "example.test")
        env.cli_fails(EX_CANTCREAT, "domain example.test already exists",
                      "domain", "add", "EXAMPLE.Test")
        env.cli_fails(EX_NOUSER, "postino: unknown domain nowhere.test",
                      "domain", "del", "nowhere.test")
        self.add_user("alice@example.test", "Horse-staple-9")
        env.cli_fails(EX_DATAERR, "postino: domain example.test still has "
                      "accounts or aliases; delete them first",
                      "domain", "del", "example.test")
        self.assertEqual(env.cli_ok("domain", "list").out, "example.test\n")
        # An alias alone also keeps its domain.
        env.cli_ok("domain", "add", "aliased.test")
        env.cli_ok("alias", "add", "info@aliased.test", "alice@example.test")
        env.cli_fails(EX_DATAERR, "postino: domain aliased.test still has "
                      "accounts or aliases", "domain", "del", "aliased.test")
        env.cli_ok("alias", "del", "info@aliased.test", "alice@example.test")
        env.cli_ok("domain", "del", "aliased.test")
        env.cli_fails(EX_USAGE, "usage: postino domain", "domain", "add")
        env.cli_fails(EX_USAGE, "usage: postino domain", "domain", "frob",
                      "x.test")
        env.cli_fails(EX_USAGE, None, "domain")
        # Deleting the user frees the domain.
        env.cli_ok("user", "del", "alice@example.test")
        env.cli_ok("domain", "del", "example.test")
        self.assertEqual(env.cli_ok("domain", "list").out, "")


class Users(CliTest):

    def test_add_prints_generated_password_once(self):
        env = self.env
        r = env.cli_ok("user", "add", "Alice@Example.Test")
        lines = r.out.splitlines()
        self.assertEqual(len(lines), 1, r.out)
        m = GENERATED_RE.match(lines[0])
        self.assertIsNotNone(m, r.out)
        self.assertEqual(m.group(1), "alice@example.test")
        password = m.group(2)
        self.assertEqual((r.out + r.err).count(password), 1)
        self.assert_password("alice@example.test", password)
        # Never shown again.
        r = env.cli_ok("user", "show", "alice@example.test")
        self.assertNotIn(password, r.out + r.err)
        # Two users never get the same one.
        r2 = env.cli_ok("user", "add", "bob@example.test")
        self.assertNotEqual(GENERATED_RE.match(r2.out.strip()).group(2),
                            password)

    def test_add_password_stdin(self):
        env = self.env
        r = self.add_user("carol@example.test", "Correct-horse-7")
        self.assertEqual((r.out, r.err), ("", ""))
        self.assert_password("carol@example.test", "Correct-horse-7")
        # CRLF from a Windows clipboard is not part of the password.
        r = env.cli_ok("user", "add", "dave@example.test",
                       "--password-stdin", input="Dave-pass-42\r\n")
        self.assert_password("dave@example.test", "Dave-pass-42")

    def test_add_options_and_show(self):
        env = self.env
        self.add_user("alice@example.test", "Alice-pw-1")
        self.add_user("bob@example.test", "Bob-pw-2",
                      "--secondary", "Bob.Private@Other.Example",
                      "--lang", "it")
        alice = self.show("alice@example.test")
        self.assertEqual(alice["address"], "alice@example.test")
        self.assertEqual(alice["secondary"], "-")
        self.assertEqual(alice["lang"], "default")
        self.assertEqual(alice["disabled"], "no")
        self.assertRegex(alice["password"],
                         r"^yescrypt, changed \d{4}-\d\d-\d\dT\d\d:\d\d:"
                         r"\d\dZ$")
        self.assertRegex(alice["created"], r"^\d{4}-\d\d-\d\dT")
        self.assertNotIn("$y$", str(alice))
        bob = self.show("bob@example.test")
        self.assertEqual(bob["secondary"], "bob.private@other.example")
        self.assertEqual(bob["lang"], "it")
        # Addresses compare without case.
        self.assertEqual(self.show("BOB@example.TEST")["address"],
                         "bob@example.test")

    def test_show_mailboxes(self):
        self.add_user("alice@example.test", "Alice-pw-1")
        boxes = self.show("alice@example.test")["mailbox"]
        self.assertEqual(len(boxes), 5, boxes)
        got = {}
        for box in boxes:
            m = re.match(r"^(\S+)(?: (\\\w+))? uidvalidity=(\d+) "
                         r"uidnext=1 messages=0$", box)
            self.assertIsNotNone(m, box)
            got[m.group(1)] = m.group(2) or ""
            self.assertGreater(int(m.group(3)), 0)
        self.assertEqual(got, dict(MAILBOXES))
        rows = self.env.query(
            "SELECT m.name, coalesce(m.special_use, '') FROM mailboxes m "
            "JOIN accounts a ON a.id = m.account WHERE a.address = ?",
            ("alice@example.test",))
        self.assertEqual(dict(rows), dict(MAILBOXES))
        # The count is of the mailbox's own messages.
        db = self.env.db()
        with db:
            blob = db.execute("INSERT INTO blobs (sha256, size, data) VALUES"
                              " (x'00', 3, x'414243')").lastrowid
            inbox = db.execute(
                "SELECT m.id FROM mailboxes m JOIN accounts a ON"
                " a.id = m.account WHERE a.address = ? AND m.name = 'INBOX'",
                ("alice@example.test",)).fetchone()[0]
            for uid in (1, 2):
                db.execute("INSERT INTO messages (mailbox, uid, blob,"
                           " internaldate, size, modseq) VALUES"
                           " (?, ?, ?, 0, 3, 1)", (inbox, uid, blob))
        boxes = self.show("alice@example.test")["mailbox"]
        counts = {b.split()[0]: b.rsplit("messages=", 1)[1] for b in boxes}
        self.assertEqual(counts, {name: "2" if name == "INBOX" else "0"
                                  for name in dict(MAILBOXES)})

    def test_list(self):
        env = self.env
        env.cli_ok("domain", "add", "other.test")
        env.cli_ok("domain", "add", "empty.test")
        self.add_user("zed@example.test", "Zed-pw-123")
        self.add_user("amy@example.test", "Amy-pw-123")
        self.add_user("bo@other.test", "Bo-pw-1234")
        self.assertEqual(env.cli_ok("user", "list").out,
                         "amy@example.test\nbo@other.test\nzed@example.test\n")
        self.assertEqual(env.cli_ok("user", "list", "example.test").out,
                         "amy@example.test\nzed@example.test\n")
        self.assertEqual(env.cli_ok("user", "list", "Other.Test").out,
                         "bo@other.test\n")
        self.assertEqual(env.cli_ok("user", "list", "empty.test").out, "")
        env.cli_fails(EX_NOUSER, "postino: unknown domain nowhere.test",
                      "user", "list", "nowhere.test")
        env.cli_fails(EX_DATAERR, "malformed domain 'bad..x'",
                      "user", "list", "bad..x")
        env.cli_fails(EX_USAGE, "usage: postino user list", "user", "list",
                      "a.test", "b.test")

    def test_set(self):
        env = self.env
        a = "alice@example.test"
        self.add_user(a, "Alice-pw-1")
        env.cli_ok("user", "set", a, "--secondary", "Alice@Home.Example")
        self.assertEqual(self.show(a)["secondary"], "alice@home.example")
        env.cli_ok("user", "set", a, "--lang", "en")
        info = self.show(a)
        self.assertEqual(info["lang"], "en")
        self.assertEqual(info["secondary"], "alice@home.example")
        env.cli_ok("user", "set", a, "--disabled", "yes")
        self.assertEqual(self.show(a)["disabled"], "yes")
        self.assertEqual(env.cli_ok("user", "list").out,
                         f"{a} (disabled)\n")
        env.cli_ok("user", "set", a, "--disabled", "no", "--lang", "it")
        info = self.show(a)
        self.assertEqual((info["disabled"], info["lang"]), ("no", "it"))
        self.assertEqual(env.cli_ok("user", "list").out, f"{a}\n")
        env.cli_ok("user", "set", a, "--secondary", "")
        self.assertEqual(self.show(a)["secondary"], "-")
        # The password is untouched by set.
        self.assert_password(a, "Alice-pw-1")

        env.cli_fails(EX_USAGE, "--disabled takes yes or no",
                      "user", "set", a, "--disabled", "maybe")
        env.cli_fails(EX_USAGE, "nothing to set", "user", "set", a)
        env.cli_fails(EX_USAGE, "user passwd", "user", "set", a,
                      "--password-stdin")
        env.cli_fails(EX_DATAERR, "unknown language 'fr' (it or en)",
                      "user", "set", a, "--lang", "fr")
        env.cli_fails(EX_DATAERR, "malformed address 'not-an-address'",
                      "user", "set", a, "--secondary", "not-an-address")
        env.cli_fails(EX_NOUSER, "postino: unknown user ghost@example.test",
                      "user", "set", "ghost@example.test", "--lang", "en")
        env.cli_fails(EX_USAGE, "--disabled belongs to user set",
                      "user", "add", "x@example.test", "--disabled", "yes")

    def test_passwd(self):
        env = self.env
        a = "alice@example.test"
        self.add_user(a, "First-pass-1")
        h0 = self.stored_hash(a)
        self.assertEqual(self.history_count(a), 0)
        r = env.cli_ok("user", "passwd", a, "--password-stdin",
                       input="Second-pass-2\n")
        self.assertEqual((r.out, r.err), ("", ""))
        h1 = self.stored_hash(a)
        self.assertNotEqual(h1, h0)
        self.assert_password(a, "Second-pass-2")
        self.assertEqual(self.history_count(a), 1)
        self.assertEqual(env.query(
            "SELECT hash FROM password_history"), [(h0,)])
        env.cli_ok("user", "passwd", a, "--password-stdin",
                   input="Third-pass-3\n")
        self.assertEqual(self.history_count(a), 2)
        self.assert_password(a, "Third-pass-3")
        # The history keeps the newest 24 (PASSWORD_HISTORY_KEEP: room
        # for pwpolicy's "not one of the last N").
        for i in range(4, 27):
            env.cli_ok("user", "passwd", a, "--password-stdin",
                       input=f"Pass-number-{i}\n")
        self.assertEqual(self.history_count(a), 24)
        self.assert_password(a, "Pass-number-26")

        env.cli_fails(EX_USAGE, "usage: postino user passwd ADDRESS "
                      "--password-stdin", "user", "passwd", a)
        env.cli_fails(EX_NOUSER, "postino: unknown user ghost@example.test",
                      "user", "passwd", "ghost@example.test",
                      "--password-stdin", input="Ghost-pass-1\n")
        env.cli_fails(EX_DATAERR, "postino: empty password",
                      "user", "passwd", a, "--password-stdin", input="\n")
        env.cli_fails(EX_DATAERR, "postino: no password on stdin",
                      "user", "passwd", a, "--password-stdin", input="")
        self.assert_password(a, "Pass-number-26")
        self.assertEqual(self.history_count(a), 24)

    def test_del(self):
        env = self.env
        a = "alice@example.test"
        self.add_user(a, "Alice-pw-1")
        env.cli_ok("alias", "add", "info@example.test", a)
        env.cli_ok("user", "passwd", a, "--password-stdin",
                   input="Alice-pw-2\n")
        env.cli_ok("user", "del", "ALICE@example.test")
        env.cli_fails(EX_NOUSER, f"postino: unknown user {a}",
                      "user", "show", a)
        env.cli_fails(EX_NOUSER, f"postino: unknown user {a}",
                      "user", "del", a)
        self.assertEqual(env.cli_ok("user", "list").out, "")
        # Nothing of the account is left behind.
        self.assertEqual(env.query("SELECT count(*) FROM mailboxes"),
                         [(0,)])
        self.assertEqual(env.query("SELECT count(*) FROM password_history"),
                         [(0,)])
        # The address can be created again.
        self.add_user(a, "Alice-pw-3")
        self.assertEqual(len(self.show(a)["mailbox"]), 5)

    def test_errors(self):
        env = self.env
        self.add_user("alice@example.test", "Alice-pw-1")
        before = self.account_count()
        env.cli_fails(EX_NOUSER, "postino: unknown domain nowhere.test (add "
                      "it first with: postino domain add nowhere.test)",
                      "user", "add", "bob@nowhere.test", "--password-stdin",
                      input="Bob-pw-12345\n")
        env.cli_fails(EX_CANTCREAT,
                      "postino: user alice@example.test already exists",
                      "user", "add", "alice@example.test",
                      "--password-stdin", input="Other-pw-1\n")
        r = env.cli_fails(EX_CANTCREAT, "already exists",
                          "user", "add", "ALICE@Example.test")
        # The generated password of a refused add is not shown.
        self.assertNotIn("password for", r.out)
        for bad in ("no-at-sign", "@example.test", "a..b@example.test",
                    ".a@example.test", "a b@example.test", "a@", "a@b..c"):
            env.cli_fails(EX_DATAERR, f"postino: malformed address '{bad}'",
                          "user", "add", bad, "--password-stdin",
                          input="Some-pw-123\n")
        env.cli_fails(EX_DATAERR, "malformed address 'x'", "user", "show",
                      "x")
        env.cli_fails(EX_DATAERR, "postino: empty password",
                      "user", "add", "eve@example.test", "--password-stdin",
                      input="\n")
        env.cli_fails(EX_DATAERR, "postino: no password on stdin",
                      "user", "add", "eve@example.test", "--password-stdin")
        env.cli_fails(EX_DATAERR, "unknown language 'xx' (it or en)",
                      "user", "add", "eve@example.test", "--lang", "xx")
        env.cli_fails(EX_DATAERR, "malformed address 'nope'",
                      "user", "add", "eve@example.test", "--secondary",
                      "nope")
        self.assertEqual(self.account_count(), before)

    def test_usage(self):
        env = self.env
        code, out, err = env.run([POSTINO])
        self.assertEqual(code, EX_USAGE, out + err)
        self.assertIn("usage: postino [-c CONF] COMMAND", err)
        code, out, err = env.run([POSTINO, "-h"])
        self.assertEqual(code, 0, out + err)
        self.assertIn("usage: postino [-c CONF] COMMAND", out)
        code, out, err = env.run([POSTINO, "-x"])
        self.assertEqual(code, EX_USAGE, out + err)
        env.cli_fails(EX_USAGE, "usage: postino user", "user")
        env.cli_fails(EX_USAGE, "unknown user command 'frob'",
                      "user", "frob")
        env.cli_fails(EX_USAGE, "expected exactly one ADDRESS",
                      "user", "add", "a@example.test", "b@example.test")
        env.cli_fails(EX_USAGE, "expected exactly one ADDRESS",
                      "user", "add")
        env.cli_fails(EX_USAGE, None, "user", "add", "a@example.test",
                      "--no-such-option")
        env.cli_fails(EX_USAGE, "usage: postino user show ADDRESS",
                      "user", "show")
        self.assertEqual(self.account_count(), 0)

    def test_missing_database(self):
        env = self.env
        empty_state = env.path("empty-state")
        os.mkdir(empty_state)
        conf = env.path("other.conf")
        with open(env.conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text.replace(f"state_dir = {env.state_dir}",
                                 f"state_dir = {empty_state}"))
        msg = (f"postino: missing database {empty_state}/postino.db (start "
               "postinod once, or run postinod --init)")
        env.cli_fails(EX_NOINPUT, msg, "domain", "list", conf=conf)
        env.cli_fails(EX_NOINPUT, msg, "user", "add", "a@example.test",
                      "--password-stdin", input="Some-pw-123\n", conf=conf)
        env.cli_fails(EX_NOINPUT, msg, "user", "list", conf=conf)
        env.cli_fails(EX_NOINPUT, msg, "alias", "list", conf=conf)
        # The CLI never creates a database somewhere by mistake.
        self.assertEqual(os.listdir(empty_state), [])
        # A state_dir that does not exist at all is the same answer.
        conf2 = env.path("other2.conf")
        with open(conf2, "w") as f:
            f.write(text.replace(f"state_dir = {env.state_dir}",
                                 f"state_dir = {env.path('nothing')}"))
        env.cli_fails(EX_NOINPUT, "missing database", "domain", "list",
                      conf=conf2)
        self.assertFalse(os.path.exists(env.path("nothing")))

    def test_bad_config(self):
        env = self.env
        missing = env.path("missing.conf")
        env.cli_fails(EX_CONFIG, f"postino: {missing}: cannot open",
                      "domain", "list", conf=missing)
        env.write_config(server={"colour": "blue"})
        line = harness.line_of(env.conf, "colour")
        env.cli_fails(EX_CONFIG, f"postino: {env.conf}:{line}: [server] "
                      "unknown key 'colour'", "domain", "list")

    def test_user_commands_need_working_modules(self):
        env = self.env
        env.write_config(modules_dir=INIT_FAILS_DIR)
        mod = os.path.join(env.modules_conf_dir, "sample.conf")
        env.cli_fails(EX_CONFIG, f"postino: {mod}: module sample: init "
                      "failed: Operation not permitted",
                      "user", "add", "a@example.test", "--password-stdin",
                      input="Some-pw-123\n")
        self.assertEqual(self.account_count(), 0)


class SampleHooks(CliTest):
    """The sample module's PASSWORD_VALIDATE (asynchronous, on a worker
    thread) and PASSWORD_CHANGED hooks, run by the CLI."""

    REFUSED = ("postino: password refused: 5.7.0 sample: the password "
               "contains 'banana'")

    def test_add_refused(self):
        env = self.env
        r = env.cli_fails(EX_DATAERR, self.REFUSED,
                          "user", "add", "carol@example.test",
                          "--password-stdin", input="my-banana-split\n")
        self.assertEqual(r.out, "")
        self.assertNotIn("my-banana-split", r.out + r.err)
        env.cli_fails(EX_NOUSER, "unknown user carol@example.test",
                      "user", "show", "carol@example.test")
        self.assertEqual(self.account_count(), 0)
        env.cli_fails(EX_NOUSER, "no value for last_changed",
                      "sample", "get", "last_changed")

    def test_passwd_refused(self):
        env = self.env
        a = "alice@example.test"
        self.add_user(a, "Alice-pw-1")
        env.cli_ok("sample", "put", "last_changed", "sentinel")
        h0 = self.stored_hash(a)
        env.cli_fails(EX_DATAERR, self.REFUSED, "user", "passwd", a,
                      "--password-stdin", input="BANANA-banana\n")
        self.assertEqual(self.stored_hash(a), h0)
        self.assertEqual(self.history_count(a), 0)
        self.assertEqual(env.cli_ok("sample", "get", "last_changed").out,
                         "sentinel\n")

    def test_default_forbidden_word(self):
        env = self.env
        env.write_module("sample")
        env.cli_fails(EX_DATAERR, "postino: password refused: 5.7.0 sample: "
                      "the password contains 'forbidden'",
                      "user", "add", "x@example.test", "--password-stdin",
                      input="not-forbidden-really\n")
        # 'banana' is fine now.
        self.add_user("x@example.test", "banana-bread-1")

    def test_last_changed(self):
        env = self.env
        env.cli_fails(EX_NOUSER, "no value for last_changed",
                      "sample", "get", "last_changed")
        env.cli_ok("user", "add", "alice@example.test")
        self.assertEqual(env.cli_ok("sample", "get", "last_changed").out,
                         "alice@example.test\n")
        self.add_user("bob@example.test", "Bob-pw-1234")
        self.assertEqual(env.cli_ok("sample", "get", "last_changed").out,
                         "bob@example.test\n")
        env.cli_ok("user", "passwd", "alice@example.test",
                   "--password-stdin", input="Alice-new-pw\n")
        self.assertEqual(env.cli_ok("sample", "get", "last_changed").out,
                         "alice@example.test\n")
        self.assertEqual(env.query(
            "SELECT value FROM module_state WHERE module = 'sample' AND "
            "key = 'last_changed'"), [(b"alice@example.test",)])

    def test_put_get(self):
        env = self.env
        env.cli_ok("sample", "put", "colour", "blue")
        self.assertEqual(env.cli_ok("sample", "get", "colour").out, "blue\n")
        env.cli_ok("sample", "put", "colour", "green")
        self.assertEqual(env.cli_ok("sample", "get", "colour").out,
                         "green\n")
        env.cli_fails(EX_NOUSER, "no value for nothing", "sample", "get",
                      "nothing")
        env.cli_fails(EX_USAGE, "usage: get KEY", "sample", "get")
        env.cli_fails(EX_USAGE, "usage: put KEY VALUE", "sample", "put",
                      "k")

    def test_help_and_unknown_commands(self):
        env = self.env
        r = env.cli_ok("sample", "help")
        self.assertIn("commands of module sample:", r.out)
        self.assertIn("postino sample get KEY\n", r.out)
        self.assertIn("postino sample put KEY VALUE\n", r.out)
        r = env.cli_fails(EX_USAGE, "postino sample get KEY", "sample")
        r = env.cli_fails(EX_USAGE, "postino: module sample has no command "
                          "'frob'", "sample", "frob")
        self.assertIn("postino sample put KEY VALUE", r.err)
        env.cli_fails(EX_USAGE, "postino: unknown command 'nosuch'",
                      "nosuch", "thing")


class Aliases(CliTest):

    def test_add_list_del(self):
        env = self.env
        env.cli_ok("domain", "add", "other.test")
        self.add_user("alice@example.test", "Alice-pw-1")
        env.cli_ok("alias", "add", "Info@Example.test", "alice@example.test")
        env.cli_ok("alias", "add", "info@example.test", "boss@elsewhere.org")
        env.cli_ok("alias", "add", "sales@other.test", "alice@example.test")
        self.assertEqual(env.cli_ok("alias", "list").out,
                         "info@example.test -> alice@example.test\n"
                         "info@example.test -> boss@elsewhere.org\n"
                         "sales@other.test -> alice@example.test\n")
        self.assertEqual(env.cli_ok("alias", "list", "sales@other.test").out,
                         "sales@other.test -> alice@example.test\n")
        self.assertEqual(env.cli_ok("alias", "list", "none@other.test").out,
                         "")
        env.cli_ok("alias", "del", "info@example.test", "boss@elsewhere.org")
        self.assertEqual(env.cli_ok("alias", "list",
                                    "info@example.test").out,
                         "info@example.test -> alice@example.test\n")

    def test_errors(self):
        env = self.env
        env.cli_ok("alias", "add", "info@example.test", "alice@example.test")
        env.cli_fails(EX_CANTCREAT, "postino: alias info@example.test -> "
                      "alice@example.test already exists",
                      "alias", "add", "INFO@example.test",
                      "alice@example.test")
        env.cli_fails(EX_NOUSER, "postino: unknown domain nowhere.test "
                      "(aliases must be in a local domain)",
                      "alias", "add", "info@nowhere.test",
                      "alice@example.test")
        env.cli_fails(EX_NOUSER, "postino: no alias info@example.test -> "
                      "bob@example.test", "alias", "del",
                      "info@example.test", "bob@example.test")
        env.cli_fails(EX_DATAERR, "malformed address 'info'",
                      "alias", "add", "info", "alice@example.test")
        env.cli_fails(EX_DATAERR, "malformed address 'alice'",
                      "alias", "add", "info@example.test", "alice")
        env.cli_fails(EX_USAGE, "usage: postino alias", "alias", "add",
                      "info@example.test")
        env.cli_fails(EX_USAGE, "usage: postino alias", "alias")
        env.cli_ok("alias", "del", "info@example.test", "alice@example.test")
        env.cli_fails(EX_NOUSER, "no alias info@example.test -> "
                      "alice@example.test", "alias", "del",
                      "info@example.test", "alice@example.test")
        self.assertEqual(env.cli_ok("alias", "list").out, "")


class Modules(CliTest):

    HEADER = "NAME VERSION ABI STATE"

    def test_list_ready(self):
        r = self.env.cli_ok("module", "list")
        rows = module_rows(r.out)
        self.assertEqual(rows, [self.HEADER, "sample 1.0.0 1.1 ready"])

    def test_list_names_the_workers(self):
        """With more than one worker postinod runs an instance of each
        module per worker: the list says so under the table."""
        env = self.env
        note = ("postinod runs 3 workers, each with its own instance of "
                "every module above.")
        env.write_config(server={"workers": "3"})
        r = env.cli_ok("module", "list")
        self.assertEqual(r.out.splitlines()[-2:], ["", note])
        env.write_config(server={"workers": "1"})
        r = env.cli_ok("module", "list")
        self.assertNotIn("workers", r.out)
        self.assertEqual(len(module_rows(r.out)), len(r.out.splitlines()))

    def test_list_without_modules(self):
        env = self.env
        env.remove_module("sample")
        r = env.cli_ok("module", "list")
        self.assertEqual(module_rows(r.out),
                         [self.HEADER])

    def test_list_without_database(self):
        env = self.env
        os.unlink(env.db_path)
        r = env.cli_ok("module", "list")
        self.assertIn("sample 1.0.0 1.1 ready",
                      module_rows(r.out))
        self.assertFalse(os.path.exists(env.db_path))

    def test_list_failed(self):
        env = self.env
        env.write_config(modules_dir=INIT_FAILS_DIR)
        r = env.cli("module", "list")
        self.assertEqual(r.code, EX_CONFIG, repr(r))
        rows = module_rows(r.out)
        self.assertEqual(rows, [self.HEADER, "sample 1.0.0 1.1 failed: "
                                "init failed: Operation not permitted"])
        self.assertIn("error sample: init fails on purpose", r.err)

    def test_list_usage(self):
        self.env.cli_fails(EX_USAGE, "usage: postino module list", "module")
        self.env.cli_fails(EX_USAGE, "usage: postino module list", "module",
                           "frob")


class Secrets(CliTest):
    """Passwords are stored as yescrypt hashes only and are printed
    nowhere, by the CLI or the daemon, at any log level."""

    def test_no_plaintext_anywhere(self):
        env = self.env
        # The daemon runs meanwhile, so the writes stay in the -wal file
        # where a leak would show too.
        env.write_module("sample", {"forbidden": "banana", "tick_ms": "10"})
        d = env.start()
        secrets = ["Plain-Secret-One-7731", "Plain-Secret-Two-4452",
                   "Plain-Secret-Three-9924", "Plain-Secret-Four-1186"]
        refused = "Refused-banana-5537"
        self.add_user("alice@example.test", secrets[0])
        self.add_user("bob@example.test", secrets[1], "--secondary",
                      "bob@elsewhere.org")
        env.cli_ok("user", "passwd", "alice@example.test",
                   "--password-stdin", input=secrets[2] + "\n")
        env.cli_fails(EX_DATAERR, "password refused", "user", "passwd",
                      "bob@example.test", "--password-stdin",
                      input=refused + "\n")
        env.cli_fails(EX_DATAERR, "password refused", "user", "add",
                      "carol@example.test", "--password-stdin",
                      input="banana-" + secrets[3] + "\n")
        r = env.cli_ok("user", "add", "dave@example.test")
        generated = GENERATED_RE.match(r.out.strip()).group(2)
        for a in ("alice@example.test", "bob@example.test",
                  "dave@example.test"):
            env.cli_ok("user", "show", a)
        env.poll(env.sample_ticks, "ticks")
        self.assertTrue(os.path.exists(env.db_path + "-wal"))

        hashes = env.query("SELECT password_hash FROM accounts") + \
            env.query("SELECT hash FROM password_history")
        self.assertEqual(len(hashes), 4)
        for (h,) in hashes:
            self.assertTrue(h.startswith("$y$"), h)
        self.assert_password("alice@example.test", secrets[2])
        self.assert_password("bob@example.test", secrets[1])
        self.assert_password("dave@example.test", generated)

        data = env.db_bytes()
        for secret in secrets + [refused, generated]:
            self.assertNotIn(secret.encode(), data, secret)
        d.reload()
        d.stop()
        text = env.all_output()
        for secret in secrets + [refused]:
            self.assertNotIn(secret, text, secret)
        # The generated one was printed exactly once, by user add.
        self.assertEqual(text.count(generated), 1)
        data = env.db_bytes()
        for secret in secrets + [refused, generated]:
            self.assertNotIn(secret.encode(), data, secret)


if __name__ == "__main__":
    unittest.main(verbosity=2)
