"""IMAP (imap.so) against input built to make the server work too hard or
to make a client give away its password: each hostile command completes
(or is refused with a clear error) while another client is served, and
credentials are never asked for before TLS. Same set-up as test_imap.py.

Liveness is shown by order, never by time: the hostile command goes out
first, another client's command is answered, then the hostile one's
answer is read; every wait is bounded (harness.IO_TIMEOUT), so a server
that freezes fails the test instead of hanging it.
"""
import unittest

from test_imap import BOB, PASSWORDS, ImapClient, ImapTestCase


class Hostile(ImapTestCase):

    def send(self, c, text):
        """Sends "tag text" without waiting; returns the tag."""
        ImapClient.n += 1
        tag = f"t{ImapClient.n}"
        c.send(f"{tag} {text}\r\n")
        return tag

    def served_meanwhile(self, c, text):
        """Sends text on c, has a second session served, then returns c's
        (untagged, tagged) answer."""
        other = self.raw()
        tag = self.send(c, text)
        other.ok("NOOP")
        return c.until(tag)


class ListPatterns(Hostile):

    def test_pathological_patterns_complete_and_others_are_served(self):
        self.serve()
        c = self.raw()
        name = "a" * 77
        c.ok(f"CREATE {name}")
        c.ok(f"SUBSCRIBE {name}")
        # The input: eight stars against 77 "a" froze the loop.
        for command in ('LIST "" "********x"', 'LIST "" "%%%%%%%%x"',
                        'LSUB "" "********x"',
                        'LIST (SUBSCRIBED) "" "********x"',
                        'LIST "" ("********x" "%a%a%a%a%a%a%ax")'):
            untagged, tagged = self.served_meanwhile(c, command)
            self.assertEqual(untagged, [], command)
            self.assertTrue(tagged.startswith("OK"), (command, tagged))
        # The same patterns still find what they should.
        untagged, _ = c.ok('LIST "" "********a"')
        self.assertEqual(untagged, [f'* LIST (\\HasNoChildren) "/" {name}'])
        untagged, _ = c.ok('LSUB "" "%%%%%%%%a"')
        self.assertEqual(untagged, [f'* LSUB () "/" {name}'])
        # A mailbox matching two patterns is listed once.
        untagged, _ = c.ok(f'LIST "" ("*a" "{name}" "%")')
        self.assertEqual(untagged.count(
            f'* LIST (\\HasNoChildren) "/" {name}'), 1, untagged)
        self.stop()

    def test_list_over_its_budget_is_refused(self):
        self.serve()
        c = self.raw()
        for letter in "bcd":
            c.ok("CREATE " + letter * 255)
        # 100 patterns of 509 bytes, each able to match a 255-byte name:
        # 100 x 3 x 510 x 256 cells of matching, over LIST's budget.
        pattern = "*b" * 254 + "*"
        patterns = " ".join([pattern] * 100)
        untagged, tagged = self.served_meanwhile(c, f'LIST "" ({patterns})')
        self.assertEqual(untagged, [])
        self.assertEqual(tagged, "NO [LIMIT] Mailbox patterns too complex "
                         "for this many mailboxes")
        # One such pattern is within it, and matches.
        untagged, _ = c.ok(f'LIST "" {pattern}')
        self.assertEqual(untagged, ['* LIST (\\HasNoChildren) "/" '
                                    + "b" * 255])
        self.stop()


class Search(Hostile):

    def append(self, c, data):
        tag = self.send(c, f"APPEND INBOX {{{len(data)}+}}")
        c.send(data + b"\r\n")
        _, tagged = c.until(tag)
        self.assertTrue(tagged.startswith("OK"), tagged)

    def test_pathological_body_search_completes_and_others_are_served(self):
        self.serve()
        c = self.raw()
        body = b"a" * (2 * 1024 * 1024) + b"\r\n"
        for n in range(3):
            self.append(c, f"Subject: big {n}\r\n\r\n".encode() + body)
        self.append(c, b"Subject: small\r\n\r\n" + b"a" * 1000 + b"b\r\n")
        c.ok("SELECT INBOX")
        # 200,000 bytes of "a" then "b": the naive scan compared up to
        # the whole needle at each of the 2 MB positions of each body.
        needle = "a" * 199999 + "b"
        for key in ("BODY", "TEXT", "SUBJECT"):
            untagged, tagged = self.served_meanwhile(
                c, f"SEARCH {key} {{{len(needle)}+}}\r\n{needle}")
            self.assertEqual(tagged, "OK Search completed", key)
            self.assertEqual(untagged, ["* SEARCH"], key)
        untagged, _ = c.ok("SEARCH BODY AAAB")
        self.assertEqual(untagged, ["* SEARCH 4"])
        untagged, _ = c.ok("UID SEARCH TEXT \"big 1\" BODY aaaa")
        self.assertEqual(untagged, ["* SEARCH 2"])
        self.stop()

    def test_too_many_text_keys_are_refused(self):
        self.serve()
        c = self.raw()
        c.ok("SELECT INBOX")
        keys = " ".join(["BODY x"] * 64)
        untagged, _ = c.ok(f"SEARCH {keys}")
        self.assertEqual(untagged, ["* SEARCH"])
        untagged, tagged = c.command(f"SEARCH {keys} FROM y")
        self.assertEqual(tagged, "NO [LIMIT] Too many text search keys "
                         "(at most 64)")
        self.stop()


class Fetch(Hostile):

    def append(self, c, data):
        tag = self.send(c, f"APPEND INBOX {{{len(data)}+}}")
        c.send(data + b"\r\n")
        _, tagged = c.until(tag)
        self.assertTrue(tagged.startswith("OK"), tagged)

    def test_header_fields_with_thousands_of_names(self):
        self.serve()
        c = self.raw()
        # 250,000 header lines (the 1 MB FETCH filters), 10,000 names:
        # each line was compared with every name.
        header = b"Subject: kept\r\n" + b"a:\r\n" * 250000
        for _ in range(3):
            self.append(c, header + b"\r\nbody\r\n")
        c.ok("SELECT INBOX")
        names = " ".join(f"x{n:04d}" for n in range(10000))
        untagged, tagged = self.served_meanwhile(
            c, f"FETCH 1:3 (BODY.PEEK[HEADER.FIELDS (SUBJECT {names})])")
        self.assertEqual(tagged, "OK Fetch completed")
        # Per message: the label line, the literal's two lines, ")".
        self.assertEqual(len(untagged), 12)
        for n in range(3):
            first, *rest = untagged[4 * n:4 * n + 4]
            self.assertTrue(first.startswith(f"* {n + 1} FETCH (BODY["
                                             "HEADER.FIELDS (SUBJECT x0000"))
            self.assertTrue(first.endswith("x9999)] {17}"), first[-30:])
            self.assertEqual(rest, ["Subject: kept", "", ")"])
        self.stop()

    def test_unread_output_stops_the_fetch_not_the_server(self):
        self.serve()
        c = self.raw()
        self.append(c, b"Subject: big\r\n\r\n" + b"x" * (4 << 20))
        c.ok("SELECT INBOX")
        # 2,000 copies of a 4 MB message (8 GB) to a client that reads
        # none of it: the old FETCH queued all of it at once.
        tag = self.send(c, "FETCH 1 (" + " ".join(["BODY.PEEK[]"] * 2000)
                        + ")")
        other = self.raw()
        other.ok("SELECT INBOX")
        untagged, _ = other.ok("FETCH 1 (RFC822.SIZE)")
        self.assertEqual(untagged, ["* 1 FETCH (RFC822.SIZE 4194320)"])
        c.close()  # mid-literal: the session goes, nothing leaks
        other.ok("NOOP")
        self.assertNotIn(tag, other.buf.decode(errors="replace"))
        self.stop()

    def test_many_bodies_stream_intact(self):
        self.serve()
        data = (b"Subject: many\r\n\r\n"
                + bytes(range(33, 127)) * 3000 + b"\r\n")
        c = self.raw()
        self.append(c, data)
        m = self.imaps()
        m.select("INBOX")
        items = " ".join(["BODY.PEEK[]"] * 40 + ["BODY.PEEK[TEXT]<5.100>"])
        typ, resp = m.fetch("1", f"({items})")
        self.assertEqual(typ, "OK")
        literals = [part[1] for part in resp if isinstance(part, tuple)]
        self.assertEqual(len(literals), 41)
        for literal in literals[:40]:
            self.assertEqual(literal, data)
        self.assertEqual(literals[40], data[len(b"Subject: many\r\n\r\n")
                                            + 5:][:100])
        self.stop()


class BigMailbox(Hostile):

    def seed(self, n):
        """BOB's INBOX with n messages, copies of one APPENDed message
        written straight into the stopped server's database (n APPENDs
        would take minutes)."""
        c = self.raw()
        data = b"Subject: one of many\r\n\r\nbody\r\n"
        tag = self.send(c, f"APPEND INBOX {{{len(data)}+}}")
        c.send(data + b"\r\n")
        c.until(tag)
        c.close()
        self.d.stop()
        with self.env.db() as db:
            mailbox, blob, date, size, modseq = db.execute(
                "SELECT mailbox, blob, internaldate, size, modseq"
                " FROM messages").fetchone()
            db.executemany(
                "INSERT INTO messages (mailbox, uid, blob, internaldate,"
                " size, modseq) VALUES (?, ?, ?, ?, ?, ?)",
                ((mailbox, uid, blob, date, size, modseq)
                 for uid in range(2, n + 1)))
            db.execute("UPDATE mailboxes SET uidnext = ? WHERE id = ?",
                       (n + 1, mailbox))
        self.start()

    def test_store_lower_half_after_upper_half(self):
        self.serve()
        n = 100000
        self.seed(n)
        c = self.raw()
        c.ok("SELECT INBOX")
        # Another session expunges one message: c's view must keep its
        # numbers (no EXPUNGE after STORE), so it records what it shows
        # itself, STORE after STORE. That record took a memmove per
        # message: the lower half after the upper half was quadratic.
        other = self.raw()
        other.ok("SELECT INBOX")
        other.ok(f"STORE {n} +FLAGS.SILENT (\\Deleted)")
        other.ok("EXPUNGE")
        c.ok(f"STORE {n // 2 + 1}:{n - 1} +FLAGS.SILENT (\\Seen)")
        untagged, tagged = self.served_meanwhile(
            c, f"STORE 1:{n // 2} +FLAGS.SILENT (\\Seen)")
        self.assertEqual(tagged, "OK Store completed")
        self.assertEqual(untagged, [])
        untagged, _ = c.ok("SEARCH UNSEEN")
        self.assertEqual(untagged, [f"* SEARCH {n}"])
        untagged, _ = c.ok("NOOP")
        self.assertEqual(untagged, [f"* {n} EXPUNGE"])
        self.stop()


class CommandAssembly(Hostile):

    def test_command_of_thousands_of_literals(self):
        self.serve()
        c = self.raw()
        # A long argument, then 25,000 empty LITERAL+ continuations: the
        # session used to parse the whole command so far at each one.
        lines = (['NOOP "' + "x" * 60000 + '" {0+}'] + [" {0+}"] * 25000
                 + [""])
        untagged, tagged = self.served_meanwhile(c, "\r\n".join(lines))
        self.assertEqual(untagged, [])
        self.assertEqual(tagged, "BAD Too many arguments")
        # APPEND still finds its message after a literal mailbox name.
        tag = self.send(c, "APPEND {5+}\r\nINBOX (\\Seen) {8+}\r\n"
                        "Subject:")
        _, tagged = c.until(tag)
        self.assertTrue(tagged.startswith("OK [APPENDUID"), tagged)
        self.stop()


class LoginBeforeTls(Hostile):
    """LOGINDISABLED: a literal in LOGIN or AUTHENTICATE is refused before
    the client would send it, so no "+" ever invites a password in
    clear."""

    def plain(self):
        c = ImapClient(self, self.where["imap"])
        self.assertIn("LOGINDISABLED", c.readline())
        return c

    def test_synchronising_literal_is_refused_without_continuation(self):
        self.serve()
        c = self.plain()
        password = PASSWORDS[BOB]
        for first in (f"LOGIN {{{len(BOB)}}}", f"LOGIN {BOB} {{18}}",
                      "AUTHENTICATE PLAIN {24}", "AUTHENTICATE {5}",
                      "login {18}"):
            tag = self.send(c, first)
            line = c.readline()
            self.assertEqual(line, f"{tag} NO [PRIVACYREQUIRED] Plaintext "
                             "authentication is disabled, use STARTTLS or "
                             "port 993", first)
            self.assertTrue(c.quiet(), "more than the NO was sent")
        # Other literals are still welcome before TLS.
        tag = self.send(c, "ID ({4}")
        self.assertEqual(c.readline(), "+ OK")
        c.send('name "x")\r\n')
        _, tagged = c.until(tag)
        self.assertEqual(tagged, "OK ID completed")
        self.assertNotIn(password, self.d.log())
        self.stop()

    def test_nonsynchronising_literals_are_dropped_then_refused(self):
        self.serve()
        c = self.plain()
        password = PASSWORDS[BOB]
        # The client sends everything at once (LITERAL+): user, password,
        # and a command after it that must run as a command.
        tag = self.send(c, f"LOGIN {{{len(BOB)}+}}\r\n{BOB} "
                        f"{{{len(password)}+}}\r\n{password}")
        c.send("n1 NOOP\r\n")
        self.assertEqual(c.readline(), f"{tag} NO [PRIVACYREQUIRED] "
                         "Plaintext authentication is disabled, use "
                         "STARTTLS or port 993")
        self.assertEqual(c.readline(), "n1 OK Noop completed")
        # A LITERAL+ then a synchronising one: the NO comes at once,
        # without "+", and the session goes on.
        tag = self.send(c, f"LOGIN {{{len(BOB)}+}}\r\n{BOB} {{18}}")
        self.assertEqual(c.readline(), f"{tag} NO [PRIVACYREQUIRED] "
                         "Plaintext authentication is disabled, use "
                         "STARTTLS or port 993")
        self.assertTrue(c.quiet(), "more than the NO was sent")
        # AUTHENTICATE's initial response as a LITERAL+, the same.
        tag = self.send(c, "AUTHENTICATE PLAIN {8+}\r\nAGJvYgBw")
        self.assertEqual(c.readline(), f"{tag} NO [PRIVACYREQUIRED] "
                         "Plaintext authentication is disabled, use "
                         "STARTTLS or port 993")
        c.ok("NOOP")
        # What is dropped is bounded like a command (256 KiB): the second
        # of two 200,000-byte LITERAL+ ends the session.
        self.send(c, "LOGIN {200000+}\r\n" + "x" * 200000 + " {200000+}")
        self.assertEqual(c.readline(), "* BYE [TOOBIG] Literal too large")
        c.expect_eof()
        # After STARTTLS the same LOGIN is welcome.
        c = self.raw("imap", login=None)
        tag = self.send(c, f"LOGIN {{{len(BOB)}}}")
        self.assertEqual(c.readline(), "+ OK")
        c.send(f"{BOB} {{{len(password)}}}\r\n")
        self.assertEqual(c.readline(), "+ OK")
        c.send(f"{password}\r\n")
        _, tagged = c.until(tag)
        self.assertTrue(tagged.startswith("OK [CAPABILITY"), tagged)
        self.stop()


if __name__ == "__main__":
    unittest.main()
