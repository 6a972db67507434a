"""The outbound queue (core/queue): a real postinod delivers queued mail to
a small SMTP sink of our own through [queue] relayhost, retries after a
4xx, bounces a 5xx into the local sender's INBOX, uses STARTTLS when the
sink offers it, verifies a relayhost's certificate (name and chain, or a
pinned key) before any credentials go out, and `postino queue
list|flush|del` show and change it.

Mail is queued by writing the rows directly (blob + queue + queue_rcpts;
the blob refcount is kept by the schema's triggers)."""
import base64
import hashlib
import os
import shutil
import smtplib
import socket
import socketserver
import ssl
import threading
import time
import unittest

import harness
from harness import (EX_CONFIG, EX_NOUSER, EX_USAGE, free_port, make_ca,
                     make_cert, public_key_pin)

FAR_FUTURE = 4102444800  # 2100-01-01: not due until flushed


class Sink:
    """An SMTP server on 127.0.0.1 recording every message it accepted.

    mode: "ok"; "tempfail_once" (first final dot gets 451, later ones
    250); "reject" (every RCPT gets 550 5.1.1). tls: (cert, key) to offer
    STARTTLS. received holds every byte a client sent, in the clear or
    (after STARTTLS) decrypted."""

    def __init__(self, tc, mode="ok", tls=None, auth=None):
        self.mode = mode
        self.auth = auth     # (user, password): AUTH PLAIN required
        self.logins = []     # (user, accepted) per AUTH attempt
        self.messages = []   # dicts: mail, rcpts, data (unstuffed), tls
        self.dots = 0        # final dots seen
        self.received = bytearray()
        self.lock = threading.Lock()
        self.ctx = None
        if tls:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(*tls)
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 20

            def handle(self):
                sink.session(self)

            def finish(self):
                super().finish()
                # The TLS socket session() made from the request's.
                if self.tls_sock is not None:
                    self.tls_sock.close()

            tls_sock = None

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()
        tc.addCleanup(self.close)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def session(self, h):
        sock = h.request
        rfile, wfile = h.rfile, h.wfile
        tls = False
        authed = self.auth is None
        mail, rcpts = None, []

        def send(line):
            wfile.write(line.encode() + b"\r\n")
            wfile.flush()

        def readline():
            line = rfile.readline()
            with self.lock:
                self.received += line
            return line

        send("220 sink.test ESMTP")
        while True:
            line = readline()
            if not line:
                return
            cmd = line.decode(errors="replace").rstrip("\r\n")
            verb = cmd.split(" ")[0].upper()
            if verb == "EHLO":
                caps = ["sink.test", "PIPELINING", "SIZE 10000000",
                        "8BITMIME"]
                if self.ctx is not None and not tls:
                    caps.append("STARTTLS")
                if self.auth is not None and tls:
                    caps.append("AUTH PLAIN")
                for c in caps[:-1]:
                    send("250-" + c)
                send("250 " + caps[-1])
            elif verb == "STARTTLS" and self.ctx is not None:
                send("220 go ahead")
                sock = h.tls_sock = self.ctx.wrap_socket(sock,
                                                         server_side=True)
                rfile = sock.makefile("rb")
                wfile = sock.makefile("wb")
                tls = True
            elif verb == "AUTH" and self.auth is not None and tls:
                parts = cmd.split(" ")
                try:
                    fields = base64.b64decode(parts[2], validate=True).split(b"\0")
                    user, password = fields[1].decode(), fields[2].decode()
                except (IndexError, ValueError):
                    send("501 5.5.2 bad AUTH")
                    continue
                ok = (user, password) == self.auth
                self.logins.append((user, ok))
                authed = authed or ok
                send("235 2.7.0 ok" if ok else "535 5.7.8 bad credentials")
            elif verb == "MAIL" and not authed:
                send("530 5.7.0 Authentication required")
            elif verb == "MAIL":
                mail, rcpts = cmd[10:].split(">")[0].lstrip("<"), []
                send("250 2.1.0 ok")
            elif verb == "RCPT":
                if self.mode == "reject":
                    send("550 5.1.1 <%s>: user unknown in sink" %
                         cmd[8:].strip("<>"))
                else:
                    rcpts.append(cmd[8:].strip("<>"))
                    send("250 2.1.5 ok")
            elif verb == "DATA":
                if not rcpts:
                    send("554 5.5.1 no valid recipients")
                    continue
                send("354 go on")
                lines = []
                while True:
                    l = readline()
                    if not l or l == b".\r\n":
                        break
                    lines.append(l[1:] if l.startswith(b".") else l)
                with self.lock:
                    self.dots += 1
                    first = self.dots == 1
                if self.mode == "tempfail_once" and first:
                    send("451 4.3.0 try again later")
                    continue
                with self.lock:
                    self.messages.append({"mail": mail, "rcpts": rcpts,
                                          "data": b"".join(lines),
                                          "tls": tls})
                send("250 2.0.0 queued as 1")
            elif verb == "QUIT":
                send("221 bye")
                return
            elif verb == "RSET":
                send("250 ok")
            else:
                send("502 5.5.2 what")


MESSAGE = (b"From: alice@example.test\r\n"
           b"To: bob@remote.test\r\n"
           b"Subject: queued\r\n"
           b"Date: Mon, 02 Jan 2006 15:04:05 +0100\r\n"
           b"Message-ID: <queued@test>\r\n"
           b"\r\n"
           b"Hello,\r\n"
           b".a line starting with a dot\r\n"
           b".\r\n"
           b"..two dots\r\n"
           b"bye\r\n")


class Zone:
    """A tiny DNS server on 127.0.0.1 (UDP) answering MX queries from a
    dict, so MX routing is tested without touching the network:
    name -> [(preference, host)], "NXDOMAIN", or [] (no MX records)."""

    def __init__(self, tc, records):
        self.records = records
        self.queries = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()
        tc.addCleanup(self.close)

    def close(self):
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()

    @staticmethod
    def encode_name(name):
        out = b""
        for label in name.strip(".").split("."):
            if label:
                out += bytes([len(label)]) + label.encode()
        return out + b"\0"

    def serve(self):
        while self.running:
            try:
                query, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            labels, i = [], 12
            while query[i] != 0:
                labels.append(query[i + 1:i + 1 + query[i]].decode())
                i += 1 + query[i]
            qtype = int.from_bytes(query[i + 1:i + 3], "big")
            question = query[12:i + 5]
            name = ".".join(labels).lower()
            self.queries.append((name, qtype))
            answer = self.records.get(name, "NXDOMAIN")
            rcode = 3 if answer == "NXDOMAIN" else 0
            rrs = [] if answer == "NXDOMAIN" or qtype != 15 else answer
            header = (query[:2] + bytes([0x81, 0x80 | rcode]) + b"\0\1" +
                      len(rrs).to_bytes(2, "big") + b"\0\0\0\0")
            body = b""
            for pref, host in rrs:
                rdata = pref.to_bytes(2, "big") + self.encode_name(host)
                body += (b"\xc0\x0c" + (15).to_bytes(2, "big") + b"\0\1" +
                         (60).to_bytes(4, "big") +
                         len(rdata).to_bytes(2, "big") + rdata)
            self.sock.sendto(header + question + body, peer)


class QueueTest(harness.TestCase):

    def configure(self, sink_port, **queue):
        keys = {"relayhost": f"127.0.0.1:{sink_port}",
                "poll_interval": "1s", "retry_min": "1s",
                "retry_max": "2s", "connect_timeout": "5s",
                "command_timeout": "10s"}
        keys.update(queue)
        extra = "\n[queue]\n" + "".join(f"{k} = {v}\n"
                                        for k, v in keys.items()
                                        if v is not None)
        self.env.write_config(extra=extra)

    def setUp(self):
        super().setUp()
        self.env.setup()
        self.env.add_user("alice@example.test", "Correct-Horse-42-Battery")

    def enqueue(self, sender, rcpts, data=MESSAGE, next_attempt=FAR_FUTURE,
                created=None):
        now = int(time.time())
        db = self.env.db()
        with db:
            digest = hashlib.sha256(data).digest()
            row = db.execute("SELECT id FROM blobs WHERE sha256 = ?",
                             (digest,)).fetchone()
            if row:
                blob = row[0]
            else:
                blob = db.execute(
                    "INSERT INTO blobs (sha256, size, data) VALUES (?,?,?)",
                    (digest, len(data), data)).lastrowid
            qid = db.execute(
                "INSERT INTO queue (sender, blob, created, next_attempt,"
                " giveup) VALUES (?,?,?,?,?)",
                (sender, blob, created or now, next_attempt,
                 (created or now) + 86400)).lastrowid
            for r in rcpts:
                db.execute("INSERT INTO queue_rcpts (queue, address)"
                           " VALUES (?,?)", (qid, r))
        db.close()
        return qid

    def queue_rows(self):
        return self.env.query("SELECT id FROM queue")

    def wait_empty(self):
        self.env.poll(lambda: not self.queue_rows(), "an empty queue")
        # Blobs are referenced by nothing else here: all gone.
        self.assertEqual(self.env.query("SELECT count(*) FROM blobs")[0][0],
                         len(self.env.query("SELECT 1 FROM messages")))

    def mx_configure(self, sink, zone):
        """No relayhost: mail goes to MX hosts found through zone; every
        MX host here is localhost, listening on the sink's port."""
        self.configure(sink.port, relayhost=None,
                       dns_server=f"127.0.0.1:{zone.port}",
                       mx_port=str(sink.port))

    def test_mx_routing_and_permanent_dns_failures(self):
        sink = Sink(self)
        zone = Zone(self, {
            # Both MX hosts resolve without DNS (numeric, /etc/hosts):
            # only the zone above is ever asked anything.
            "remote.test": [(20, "127.0.0.2"), (10, "localhost")],
            "nullmx.test": [(0, ".")],
        })
        self.mx_configure(sink, zone)
        self.enqueue("alice@example.test", ["bob@remote.test"], next_attempt=0)
        self.enqueue("alice@example.test", ["x@nx.test"], next_attempt=0)
        self.enqueue("alice@example.test", ["y@nullmx.test"], next_attempt=0)
        daemon = self.env.start()
        self.wait_empty()
        # The preferred MX (10, localhost) took the message.
        self.assertEqual(len(sink.messages), 1, sink.messages)
        self.assertEqual(sink.messages[0]["rcpts"], ["bob@remote.test"])
        self.assertEqual(sink.messages[0]["data"], MESSAGE)
        self.assertIn(("remote.test", 15), zone.queries)
        # A domain that does not exist and one with a null MX (RFC 7505)
        # bounce at once instead of being retried for days.
        inbox = b"\n".join(self.env.mailbox_messages("alice@example.test"))
        self.assertIn(b"Final-Recipient: rfc822; x@nx.test", inbox)
        self.assertIn(b"domain nx.test does not exist", inbox)
        self.assertIn(b"Final-Recipient: rfc822; y@nullmx.test", inbox)
        self.assertIn(b"accepts no mail (null MX)", inbox)
        daemon.stop()

    def test_delivered_byte_exact(self):
        sink = Sink(self)
        self.configure(sink.port)
        qid = self.enqueue("alice@example.test",
                           ["bob@remote.test", "carol@other.test"])
        daemon = self.env.start()
        self.env.cli_ok("queue", "flush", str(qid))
        self.wait_empty()
        self.assertEqual(len(sink.messages), 1, sink.messages)
        m = sink.messages[0]
        self.assertEqual(m["data"], MESSAGE)
        self.assertEqual(m["mail"], "alice@example.test")
        self.assertEqual(m["rcpts"], ["bob@remote.test", "carol@other.test"])
        self.assertFalse(m["tls"])
        daemon.stop()

    def test_tempfail_retried_once(self):
        sink = Sink(self, mode="tempfail_once")
        self.configure(sink.port)
        qid = self.enqueue("alice@example.test", ["bob@remote.test"])
        daemon = self.env.start()
        self.env.cli_ok("queue", "flush")
        self.env.poll(lambda: sink.dots >= 1, "the first attempt")
        self.wait_empty()
        self.assertEqual(sink.dots, 2)
        self.assertEqual(len(sink.messages), 1)
        self.assertEqual(sink.messages[0]["data"], MESSAGE)
        log = daemon.stop()
        self.assertIn(f"q{qid}: 1 recipient(s) deferred", log)
        self.assertEqual(self.env.mailbox_messages("alice@example.test"), [])

    def test_reject_bounces_to_local_sender(self):
        sink = Sink(self, mode="reject")
        self.configure(sink.port)
        self.enqueue("alice@example.test", ["nobody@remote.test"],
                     next_attempt=0)
        daemon = self.env.start()
        self.wait_empty()
        inbox = self.env.mailbox_messages("alice@example.test")
        self.assertEqual(len(inbox), 1)
        dsn = inbox[0].decode()
        self.assertIn("From: Mail Delivery System "
                      "<MAILER-DAEMON@mail.example.test>\r\n", dsn)
        self.assertIn("To: <alice@example.test>\r\n", dsn)
        self.assertIn("Subject: Undelivered Mail Returned to Sender\r\n", dsn)
        self.assertIn("Auto-Submitted: auto-replied\r\n", dsn)
        self.assertIn("Content-Type: multipart/report; "
                      "report-type=delivery-status;", dsn)
        self.assertIn("Final-Recipient: rfc822; nobody@remote.test\r\n"
                      "Action: failed\r\nStatus: 5.1.1\r\n"
                      "Diagnostic-Code: smtp; 550 5.1.1 "
                      "<nobody@remote.test>: user unknown in sink\r\n", dsn)
        self.assertIn("Content-Type: text/rfc822-headers\r\n\r\n"
                      "From: alice@example.test\r\n", dsn)
        self.assertEqual(sink.messages, [])
        daemon.stop()

    def test_bounce_of_remote_sender_is_queued_but_never_bounced(self):
        sink = Sink(self, mode="reject")
        self.configure(sink.port)
        self.enqueue("zed@elsewhere.test", ["nobody@remote.test"],
                     next_attempt=0)
        daemon = self.env.start()
        # The bounce to zed is rejected too (same sink): with sender <>
        # it is dropped, not bounced again.
        self.env.poll(lambda: "a bounce is not bounced" in daemon.log(),
                      "the bounce's own failure")
        self.wait_empty()
        daemon.stop()

    def test_gives_up_after_the_lifetime_and_bounces(self):
        """Past its give-up time, a message that still cannot be delivered
        (nobody listens: every attempt is a temporary failure) goes back
        to the sender instead of being retried for ever."""
        self.configure(free_port())
        self.enqueue("alice@example.test", ["bob@remote.test"],
                     next_attempt=0, created=int(time.time()) - 2 * 86400)
        daemon = self.env.start()
        self.wait_empty()
        inbox = self.env.mailbox_messages("alice@example.test")
        self.assertEqual(len(inbox), 1)
        dsn = inbox[0].decode()
        self.assertIn("Subject: Undelivered Mail Returned to Sender\r\n", dsn)
        self.assertIn("Final-Recipient: rfc822; bob@remote.test\r\n"
                      "Action: failed\r\n", dsn)
        daemon.stop()

    def test_submission_to_a_remote_domain_reaches_the_sink(self):
        """End to end: a real client submits mail for a remote domain, the
        server queues it in the same commit as its 250, and the queue
        delivers it to the (relay) sink, with the server's Received."""
        sink = Sink(self)
        cert, key = make_cert(self.env.root, "server", "mail.example.test",
                              ["mail.example.test"])
        keys = {"relayhost": f"127.0.0.1:{sink.port}", "poll_interval": "1h",
                "retry_min": "1s"}
        self.env.write_config(
            modules_dir=harness.MODULES_DIR,
            extra=harness.tls_section(cert, key) + "\n[queue]\n" +
            "".join(f"{k} = {v}\n" for k, v in keys.items()))
        self.env.remove_module("sample")
        text, where = harness.listener_sections([
            {"name": "submission", "protocol": "submission",
             "tls": "starttls"}])
        self.env.write_module("smtp", extra=text)
        daemon = self.env.start()
        s = smtplib.SMTP(*where["submission"], timeout=20)
        s.starttls(context=harness.tls_client_context())
        s.login("alice@example.test", "Correct-Horse-42-Battery")
        s.sendmail("alice@example.test", ["carol@remote.test"], MESSAGE)
        s.quit()
        # Not waiting for the hourly poll: the delivery kicked the queue.
        self.env.poll(lambda: len(sink.messages) == 1, "the relayed message")
        m = sink.messages[0]
        self.assertEqual(m["mail"], "alice@example.test")
        self.assertEqual(m["rcpts"], ["carol@remote.test"])
        self.assertTrue(m["data"].startswith(b"Received: from "), m["data"])
        self.assertTrue(m["data"].endswith(MESSAGE))
        self.assertNotIn(b"Return-Path:", m["data"])
        self.wait_empty()
        daemon.stop()

    def test_list_flush_del(self):
        port = free_port()   # nobody listens: nothing is delivered
        self.configure(port)
        qid = self.enqueue("alice@example.test", ["bob@remote.test"],
                           created=1700000000)
        r = self.env.cli_ok("queue", "list")
        self.assertEqual(r.out,
                         f"{qid} 2023-11-14T22:13:20Z 2100-01-01T00:00:00Z "
                         f"attempts=0 size={len(MESSAGE)} "
                         "<alice@example.test>\n"
                         "  bob@remote.test pending\n")
        self.env.cli_fails(EX_NOUSER, "unknown queue id 999",
                           "queue", "del", "999")
        self.env.cli_fails(EX_NOUSER, "unknown queue id 999",
                           "queue", "flush", "999")
        self.env.cli_fails(EX_USAGE, "malformed queue id", "queue", "del",
                           "x")
        self.env.cli_fails(EX_USAGE, "usage", "queue", "frobnicate")
        self.env.cli_ok("queue", "flush", str(qid))
        self.assertEqual(self.env.query(
            "SELECT next_attempt FROM queue WHERE id = ?", (qid,)), [(0,)])
        self.env.cli_ok("queue", "del", str(qid))
        self.assertEqual(self.env.cli_ok("queue", "list").out, "")
        self.assertEqual(self.env.query("SELECT count(*) FROM blobs"),
                         [(0,)])

    def test_connection_refused_is_retried_and_listed(self):
        port = free_port()
        self.configure(port, retry_min="1h", retry_max="4h")
        qid = self.enqueue("alice@example.test", ["bob@remote.test"],
                           next_attempt=0)
        daemon = self.env.start()
        self.env.poll(lambda: self.env.query(
            "SELECT attempts FROM queue WHERE id = ?", (qid,)) == [(1,)],
            "one failed attempt")
        out = self.env.cli_ok("queue", "list").out
        self.assertIn("attempts=1", out)
        self.assertRegex(out, r"bob@remote\.test pending 4\.4\.\d .*"
                         r"(refused|reached)")
        next_attempt = self.env.query(
            "SELECT next_attempt - strftime('%s','now') FROM queue")[0][0]
        self.assertGreater(next_attempt, 3000)
        daemon.stop()

    def test_survives_restart(self):
        sink = Sink(self)
        self.configure(sink.port)
        qid = self.enqueue("alice@example.test", ["bob@remote.test"])
        daemon = self.env.start()
        daemon.stop()
        self.assertEqual(self.queue_rows(), [(qid,)])
        self.assertEqual(sink.messages, [])
        daemon = self.env.start()
        self.env.cli_ok("queue", "flush")
        self.wait_empty()
        self.assertEqual(len(sink.messages), 1)
        daemon.stop()

    def test_starttls_when_offered(self):
        """Opportunistic (the default without credentials): a self-signed
        certificate is used, and the log says it was not verified."""
        cert, key = make_cert(self.env.root, "sink", "sink.test",
                              ["sink.test"])
        sink = Sink(self, tls=(cert, key))
        self.configure(sink.port)
        self.enqueue("alice@example.test", ["bob@remote.test"],
                     next_attempt=0)
        daemon = self.env.start()
        self.wait_empty()
        self.assertEqual(len(sink.messages), 1)
        self.assertTrue(sink.messages[0]["tls"])
        self.assertEqual(sink.messages[0]["data"], MESSAGE)
        log = daemon.stop()
        self.assertRegex(log, r"TLS with 127\.0\.0\.1: .*, not verified "
                         r"\(The certificate is NOT trusted\.")

    # ---- the relayhost's certificate ----------------------------------

    SECRET = "Relay-Secret-0042"
    USER = "relay@example.test"

    def relay_sink(self, name, cn, dns=(), ips=(), ca=None):
        """A TLS sink that wants AUTH PLAIN with USER/SECRET: (sink, cert
        path)."""
        cert, key = make_cert(self.env.root, name, cn, list(dns),
                              ips=ips, ca=ca)
        sink = Sink(self, tls=(cert, key), auth=(self.USER, self.SECRET))
        return sink, cert

    def configure_relay(self, sink, **queue):
        self.configure(sink.port, relayhost_user=self.USER,
                       relayhost_password=self.SECRET, retry_min="1h",
                       retry_max="4h", **queue)

    def assert_deferred_without_auth(self, qid, sink, reason):
        """One attempt, the message still queued with reason in its last
        reply, and not one byte of AUTH at the sink."""
        self.env.poll(lambda: self.env.query(
            "SELECT attempts FROM queue WHERE id = ?", (qid,)) == [(1,)],
            "one failed attempt")
        last = self.env.query("SELECT status, last_reply FROM queue_rcpts")
        self.assertEqual(len(last), 1)
        self.assertEqual(last[0][0], 0, last)       # pending
        self.assertIn("4.7.5 TLS with 127.0.0.1 not verified: ", last[0][1])
        self.assertIn(reason, last[0][1])
        with sink.lock:
            received = bytes(sink.received)
        # The client got as far as STARTTLS and stopped there.
        self.assertIn(b"STARTTLS\r\n", received)
        self.assertNotIn(b"AUTH", received.upper())
        self.assertNotIn(base64.b64encode(
            f"\0{self.USER}\0{self.SECRET}".encode()), received)
        self.assertEqual(sink.logins, [])
        self.assertEqual(sink.messages, [])

    def test_relayhost_wrong_name_is_deferred_without_auth(self):
        """relayhost_tls = required and a self-signed certificate for
        another name: deferred with GnuTLS's reason, no credentials."""
        sink, _ = self.relay_sink("wrong", "wrong-name.invalid",
                                  ["wrong-name.invalid"])
        self.configure_relay(sink, relayhost_tls="required")
        qid = self.enqueue("alice@example.test", ["bob@remote.test"],
                           next_attempt=0)
        daemon = self.env.start()
        self.assert_deferred_without_auth(
            qid, sink, "The certificate is NOT trusted. The certificate "
            "issuer is unknown. The name in the certificate does not match "
            "the expected.")
        log = daemon.stop()
        self.assertIn("tls=required, verified against the system store "
                      "auth=plain", log)
        self.assertRegex(log, r"TLS with 127\.0\.0\.1: .*, not verified "
                         r"\(The certificate is NOT trusted\.")
        self.assertNotIn(self.SECRET, log)

    def test_relayhost_ca_file_delivers_and_authenticates(self):
        """A certificate from the CA in relayhost_ca_file for the
        relayhost's address: verified, AUTH accepted, delivered. With
        credentials, verification needs no relayhost_tls line."""
        ca = make_ca(self.env.root, "relay-ca")
        sink, _ = self.relay_sink("relay", "relay.test", ips=["127.0.0.1"],
                                  ca=ca)
        self.configure_relay(sink, relayhost_ca_file=ca[0])
        self.enqueue("alice@example.test", ["bob@remote.test"],
                     next_attempt=0)
        daemon = self.env.start()
        self.wait_empty()
        self.assertEqual(sink.logins, [(self.USER, True)])
        self.assertEqual(len(sink.messages), 1)
        self.assertTrue(sink.messages[0]["tls"])
        self.assertEqual(sink.messages[0]["data"], MESSAGE)
        log = daemon.stop()
        self.assertIn(f"tls=required, verified against {ca[0]} auth=plain",
                      log)
        self.assertIn(f"1 trust anchor(s) loaded from {ca[0]}", log)
        self.assertRegex(log, r"TLS with 127\.0\.0\.1: .*, verified "
                         r"\(certificate for 127\.0\.0\.1 issued by a "
                         r"trusted authority\)")
        self.assertNotIn(self.SECRET, log)

    def test_relayhost_verified_by_its_configured_name(self):
        """relayhost = localhost: the certificate names only localhost (no
        address), so it verifies against the configured name, never
        against the address that name resolved to."""
        ca = make_ca(self.env.root, "relay-ca")
        sink, _ = self.relay_sink("relay", "localhost", ["localhost"],
                                  ca=ca)
        self.configure_relay(sink, relayhost=f"localhost:{sink.port}",
                             relayhost_ca_file=ca[0])
        self.enqueue("alice@example.test", ["bob@remote.test"],
                     next_attempt=0)
        daemon = self.env.start()
        self.wait_empty()
        self.assertEqual(sink.logins, [(self.USER, True)])
        self.assertEqual(len(sink.messages), 1)
        log = daemon.stop()
        self.assertIn("verified (certificate for localhost issued by a "
                      "trusted authority)", log)

    def test_relayhost_ca_file_but_another_name_is_deferred(self):
        """The chain is good but the certificate names another host: the
        configured relayhost name (here its address) is what counts."""
        ca = make_ca(self.env.root, "relay-ca")
        sink, _ = self.relay_sink("other", "other.test", ["other.test"],
                                  ca=ca)
        self.configure_relay(sink, relayhost_ca_file=ca[0])
        qid = self.enqueue("alice@example.test", ["bob@remote.test"],
                           next_attempt=0)
        daemon = self.env.start()
        self.assert_deferred_without_auth(
            qid, sink, "The name in the certificate does not match the "
            "expected.")
        self.assertNotIn("issuer is unknown", self.env.query(
            "SELECT last_reply FROM queue_rcpts")[0][0])
        daemon.stop()

    def test_relayhost_ca_file_is_read_again_on_sighup(self):
        """The CA file named the wrong authority; the operator fixes the
        file and sends SIGHUP: the next attempt trusts the new one."""
        old_ca = make_ca(self.env.root, "old-ca", cn="Old CA")
        new_ca = make_ca(self.env.root, "new-ca", cn="New CA")
        ca_file = os.path.join(self.env.root, "relay-ca.pem")
        shutil.copy(old_ca[0], ca_file)
        sink, _ = self.relay_sink("relay", "relay.test", ips=["127.0.0.1"],
                                  ca=new_ca)
        self.configure_relay(sink, relayhost_ca_file=ca_file)
        qid = self.enqueue("alice@example.test", ["bob@remote.test"],
                           next_attempt=0)
        daemon = self.env.start()
        self.assert_deferred_without_auth(
            qid, sink, "The certificate issuer is unknown.")
        shutil.copy(new_ca[0], ca_file)
        daemon.reload()
        self.env.cli_ok("queue", "flush", str(qid))
        self.wait_empty()
        self.assertEqual(sink.logins, [(self.USER, True)])
        self.assertEqual(len(sink.messages), 1)
        daemon.stop()

    def test_relayhost_pinned_key_delivers(self):
        """A pinned public key stands for the chain and the name: the
        self-signed wrong-name certificate is accepted by its key."""
        sink, cert = self.relay_sink("pinned", "wrong-name.invalid",
                                     ["wrong-name.invalid"])
        pin = public_key_pin(cert)
        colons = ":".join(pin[i:i + 2] for i in range(0, 64, 2)).upper()
        self.configure_relay(sink, relayhost_tls="required",
                             relayhost_fingerprint=f"sha256:{colons}")
        self.enqueue("alice@example.test", ["bob@remote.test"],
                     next_attempt=0)
        daemon = self.env.start()
        self.wait_empty()
        self.assertEqual(sink.logins, [(self.USER, True)])
        self.assertEqual(len(sink.messages), 1)
        log = daemon.stop()
        self.assertIn("tls=required, verified by relayhost_fingerprint", log)
        self.assertIn(f", verified (public key sha256:{pin} is pinned)", log)

    def test_relayhost_other_pinned_key_is_deferred(self):
        sink, cert = self.relay_sink("impostor", "relay.test",
                                     ["relay.test"])
        other, _ = make_cert(self.env.root, "genuine", "relay.test",
                             ["relay.test"])
        self.configure_relay(sink, relayhost_fingerprint=public_key_pin(other))
        qid = self.enqueue("alice@example.test", ["bob@remote.test"],
                           next_attempt=0)
        daemon = self.env.start()
        # The reason names the key that was offered, for the operator.
        self.assert_deferred_without_auth(
            qid, sink, f"public key sha256:{public_key_pin(cert)} is not "
            "pinned")
        daemon.stop()

    def test_mx_self_signed_is_used_and_logged_not_verified(self):
        """MX hosts stay opportunistic (RFC 7435): a self-signed
        certificate still carries the mail, and the log says so."""
        cert, key = make_cert(self.env.root, "mx", "mx.other.test",
                              ["mx.other.test"])
        sink = Sink(self, tls=(cert, key))
        zone = Zone(self, {"remote.test": [(10, "localhost")]})
        self.mx_configure(sink, zone)
        self.enqueue("alice@example.test", ["bob@remote.test"],
                     next_attempt=0)
        daemon = self.env.start()
        self.wait_empty()
        self.assertEqual(len(sink.messages), 1)
        self.assertTrue(sink.messages[0]["tls"])
        log = daemon.stop()
        self.assertRegex(log, r"TLS with localhost: .*, not verified "
                         r"\(The certificate is NOT trusted\. .*The name "
                         r"in the certificate does not match the expected")

    def test_relayhost_tls_settings_are_checked_at_startup(self):
        """Bad relayhost TLS settings stop postinod -t and the start,
        naming file, line and key."""
        ca = make_ca(self.env.root, "ca")
        empty = os.path.join(self.env.root, "empty.pem")
        with open(empty, "w") as f:
            f.write("not a certificate\n")
        relay = {"relayhost": "smtp.isp.test"}
        creds = {"relayhost_user": self.USER,
                 "relayhost_password": self.SECRET}
        cases = [
            ({"relayhost_tls": "verify"},
             "[queue] relayhost_tls: 'verify' is not one of required, "
             "opportunistic"),
            ({"relayhost_ca_file": "/nonexistent/ca.pem"},
             "[queue] relayhost_ca_file: '/nonexistent/ca.pem' cannot be "
             "read: No such file or directory"),
            ({"relayhost_ca_file": empty},
             f"[queue] relayhost_ca_file: '{empty}' holds no PEM "
             "certificate"),
            ({"relayhost_fingerprint": "sha256:42ef1b63"},
             "[queue] relayhost_fingerprint: 'sha256:42ef1b63' is not a "
             "list of SHA-256 fingerprints"),
            (dict(creds, relayhost_tls="opportunistic"),
             "[queue] relayhost_user needs relayhost_tls = required"),
            ({"relayhost_tls": "opportunistic",
              "relayhost_ca_file": ca[0]},
             "[queue] relayhost_ca_file has no effect with relayhost_tls "
             "= opportunistic"),
        ]
        self.env.write_config(extra="\n[queue]\n" + "".join(
            f"{k} = {v}\n" for k, v in dict(relay, **creds,
                                            relayhost_ca_file=ca[0]).items()))
        code, out, err = self.env.postinod("-t")
        self.assertEqual(code, 0, out + err)
        for keys, fragment in cases:
            with self.subTest(keys=keys):
                self.env.write_config(extra="\n[queue]\n" + "".join(
                    f"{k} = {v}\n" for k, v in dict(relay, **keys).items()))
                code, out, err = self.env.postinod("-t")
                self.assertEqual(code, EX_CONFIG, out + err)
                self.assertIn(f"postinod: {self.env.conf}:", err)
                self.assertIn(fragment, err)
        # A start is refused the same way.
        code, out, err = self.env.postinod()
        self.assertEqual(code, EX_CONFIG, out + err)
        self.assertIn("[queue] relayhost_ca_file has no effect", err)

    def test_tls_required_but_not_offered_defers(self):
        sink = Sink(self)
        self.configure(sink.port, relayhost_tls="required",
                       retry_min="1h")
        qid = self.enqueue("alice@example.test", ["bob@remote.test"],
                           next_attempt=0)
        daemon = self.env.start()
        self.env.poll(lambda: self.env.query(
            "SELECT attempts FROM queue WHERE id = ?", (qid,)) == [(1,)],
            "one failed attempt")
        self.assertEqual(sink.messages, [])
        self.assertIn("offers no STARTTLS", self.env.query(
            "SELECT last_reply FROM queue_rcpts")[0][0])
        daemon.stop()


if __name__ == "__main__":
    unittest.main()
