#!/usr/bin/env python3
"""Async IMAP and POP3 load generator (Python asyncio, stdlib only) used by
t/bench/compare.py: every server gets the same client code and, for the
same seed, the same sequence of commands. Each workload also runs alone:

    loadgen.py imap-mixed PORT USER --clients 50 --seconds 20 --seed 1
    loadgen.py imap-logins PORT USER[,USER...] --clients 10 --seconds 15
    loadgen.py handshakes PORT --seconds 10 --concurrency 4

and prints one JSON line with its counts and latencies. Passwords are the
benchmark's fixed PASSWORD (benchlib), never given in argv.
"""
import argparse
import asyncio
import json
import random
import re
import sys
import time

from benchlib import PASSWORD, body_4k, client_tls

LITERAL = re.compile(rb"\{(\d+)\}\r\n$")


class Imap:
    """A minimal IMAP4rev1 client: tagged commands, literals both ways."""

    def __init__(self, reader, writer):
        self.r, self.w, self.n = reader, writer, 0
        self.exists = 0

    @classmethod
    async def connect(cls, port):
        r, w = await asyncio.open_connection("127.0.0.1", port, ssl=client_tls(),
                                             limit=1 << 20)
        c = cls(r, w)
        line = await r.readline()
        if not line.startswith(b"* OK"):
            raise RuntimeError(f"IMAP greeting: {line!r}")
        return c

    async def _response_line(self):
        line = await self.r.readline()
        if not line:
            raise ConnectionError("IMAP server closed the connection")
        while True:
            m = LITERAL.search(line)
            if not m:
                return line
            line += await self.r.readexactly(int(m.group(1)))
            more = await self.r.readline()
            line += more

    async def cmd(self, text, literal=None):
        """Sends one command, returns (status, untagged lines)."""
        self.n += 1
        tag = b"a%d" % self.n
        if literal is not None:
            self.w.write(tag + b" " + text + b" {%d}\r\n" % len(literal))
            await self.w.drain()
            line = await self.r.readline()
            if not line.startswith(b"+"):
                raise RuntimeError(f"no continuation: {line!r}")
            self.w.write(literal + b"\r\n")
        else:
            self.w.write(tag + b" " + text + b"\r\n")
        await self.w.drain()
        untagged = []
        while True:
            line = await self._response_line()
            if line.startswith(tag + b" "):
                status = line[len(tag) + 1:].split(b" ", 1)[0]
                if status != b"OK":
                    raise RuntimeError(f"{text[:40]!r}: {line!r}")
                return line, untagged
            if line.startswith(b"* ") and line.rstrip().endswith(b" EXISTS"):
                self.exists = int(line.split()[1])
            untagged.append(line)

    async def cmd_bulk(self, text):
        """Sends a command whose response has no literals and reads it in
        large chunks up to the tagged line: the big-mailbox figure must
        time the servers, not a Python loop of 100,000 readline calls.
        Returns (tagged line, the untagged bytes)."""
        self.n += 1
        tag = b"a%d" % self.n
        self.w.write(tag + b" " + text + b"\r\n")
        await self.w.drain()
        buf = bytearray()
        while True:
            chunk = await self.r.read(1 << 20)
            if not chunk:
                raise ConnectionError("IMAP server closed the connection")
            buf += chunk
            if not buf.endswith(b"\r\n"):
                continue
            # No literals: the tagged line, once here, is the last one.
            last = buf.rfind(b"\n", 0, len(buf) - 1) + 1
            if buf.startswith(tag + b" ", last):
                tagged = bytes(buf[last:])
                if tagged[len(tag) + 1:].split(b" ", 1)[0] != b"OK":
                    raise RuntimeError(f"{text[:40]!r}: {tagged!r}")
                return tagged, bytes(buf[:last])

    async def login(self, user):
        await self.cmd(b'LOGIN "%s" "%s"' % (user.encode(), PASSWORD.encode()))

    async def close(self):
        try:
            await self.cmd(b"LOGOUT")
        except (RuntimeError, ConnectionError):
            pass
        self.w.close()


class Pop3:
    """A minimal POP3 client over implicit TLS."""

    def __init__(self, reader, writer):
        self.r, self.w = reader, writer

    @classmethod
    async def connect(cls, port):
        r, w = await asyncio.open_connection("127.0.0.1", port, ssl=client_tls(),
                                             limit=1 << 20)
        c = cls(r, w)
        line = await r.readline()
        if not line.startswith(b"+OK"):
            raise RuntimeError(f"POP3 greeting: {line!r}")
        return c

    async def cmd(self, text, multiline=False):
        self.w.write(text + b"\r\n")
        await self.w.drain()
        line = await self.r.readline()
        if not line.startswith(b"+OK"):
            raise RuntimeError(f"{text.split()[0]!r}: {line!r}")
        if not multiline:
            return line, 0
        size = 0
        while True:
            data = await self.r.readline()
            if data == b".\r\n":
                return line, size
            if not data:
                raise ConnectionError("POP3 server closed the connection")
            size += len(data)

    async def login(self, user):
        await self.cmd(b"USER " + user.encode())
        await self.cmd(b"PASS " + PASSWORD.encode())

    async def close(self):
        try:
            await self.cmd(b"QUIT")
        except (RuntimeError, ConnectionError):
            pass
        self.w.close()


# -- workloads ---------------------------------------------------------------

async def imap_login(port, user):
    c = await Imap.connect(port)
    await c.login(user)
    return c


async def imap_mixed_client(c, seed, deadline, lat, counts):
    """One logged-in client's loop: SELECT, FETCH flags / headers / body,
    STORE flags, SEARCH, APPEND and EXPUNGE of its own appended message.
    Every command is one op; its latency is recorded."""
    rnd = random.Random(seed)
    msg = body_4k()

    async def op(name, text, literal=None):
        t = time.monotonic()
        res = await c.cmd(text, literal)
        lat.append(time.monotonic() - t)
        counts[name] = counts.get(name, 0) + 1
        return res

    while time.monotonic() < deadline:
        await op("select", b"SELECT INBOX")
        hi = max(1, c.exists - 100)   # others' expunges may shrink the box
        for _ in range(4):
            n = rnd.randint(1, hi)
            await op("fetch_flags", b"FETCH %d (UID FLAGS)" % n)
            n = rnd.randint(1, max(1, hi - 10))
            await op("fetch_headers", b"FETCH %d:%d (BODY.PEEK[HEADER])" % (n, n + 9))
            n = rnd.randint(1, hi)
            await op("fetch_body", b"FETCH %d (BODY.PEEK[])" % n)
            n = rnd.randint(1, hi)
            flag = rnd.choice((b"\\Seen", b"\\Flagged", b"$Bench"))
            sign = rnd.choice((b"+", b"-"))
            await op("store", b"STORE %d %sFLAGS.SILENT (%s)" % (n, sign, flag))
        await op("search", rnd.choice((b"SEARCH FLAGGED", b"SEARCH UNSEEN",
                                       b"SEARCH LARGER 5000")))
        token = b"%d-%d" % (seed, rnd.getrandbits(48))
        line, _ = await op("append", b"APPEND INBOX (\\Seen)",
                           b"X-Bench: " + token + b"\r\n" + msg)
        m = re.search(rb"\[APPENDUID \d+ (\d+)\]", line)
        if m:
            uid = m.group(1)
        else:
            _, un = await op("search", b'UID SEARCH HEADER X-Bench "%s"' % token)
            uid = un[0].split()[2]
        await op("store", b"UID STORE %s +FLAGS.SILENT (\\Deleted)" % uid)
        await op("expunge", b"EXPUNGE")
    await c.close()


async def imap_mixed(port, user, clients, seconds, seed):
    lat, counts = [], {}
    conns = await asyncio.gather(*(imap_login(port, user) for _ in range(clients)))
    start = time.monotonic()   # logins (yescrypt) are not part of the mix
    deadline = start + seconds
    await asyncio.gather(*(imap_mixed_client(c, seed * 1000 + i, deadline, lat, counts)
                           for i, c in enumerate(conns)))
    elapsed = time.monotonic() - start
    return {"ops": len(lat), "seconds": elapsed, "lat": lat, "counts": counts}


async def imap_logins(port, users, clients, seconds):
    """The login-heavy mix, as imaptest's default profile opens and closes
    sessions: each client connects (a full TLS handshake), LOGINs, SELECTs
    INBOX, FETCHes the flags and headers of the first messages and LOGOUTs,
    then starts again, cycling over users. Returns the sessions completed
    and their latencies (connect to LOGOUT answered)."""
    lat = []
    deadline = time.monotonic() + seconds

    async def client(i):
        n = i
        while time.monotonic() < deadline:
            t = time.monotonic()
            c = await Imap.connect(port)
            await c.login(users[n % len(users)])
            await c.cmd(b"SELECT INBOX")
            await c.cmd(b"FETCH 1:5 (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER])")
            await c.close()
            lat.append(time.monotonic() - t)
            n += clients
    t = time.monotonic()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return {"sessions": len(lat), "seconds": time.monotonic() - t, "lat": lat}


async def imap_big_select(port, user):
    """SELECT INBOX + FETCH 1:* (UID FLAGS): seconds and message count."""
    c = await Imap.connect(port)
    await c.login(user)
    t = time.monotonic()
    await c.cmd(b"SELECT INBOX")
    _, untagged = await c.cmd_bulk(b"FETCH 1:* (UID FLAGS)")
    elapsed = time.monotonic() - t
    await c.close()
    return {"seconds": elapsed, "fetched": untagged.count(b" FETCH (")}


async def pop3_retr_all(port, user):
    """One session: STAT, then RETR 1..N one after the other."""
    c = await Pop3.connect(port)
    await c.login(user)
    line, _ = await c.cmd(b"STAT")
    n = int(line.split()[1])
    t = time.monotonic()
    total = 0
    for i in range(1, n + 1):
        total += (await c.cmd(b"RETR %d" % i, multiline=True))[1]
    elapsed = time.monotonic() - t
    await c.close()
    return {"seconds": elapsed, "messages": n, "bytes": total}


async def pop3_stat(port, user):
    c = await Pop3.connect(port)
    await c.login(user)
    line, _ = await c.cmd(b"STAT")
    await c.close()
    return int(line.split()[1])


async def handshakes(port, seconds, concurrency):
    """New TLS connections to an implicit-TLS port, each reading the
    greeting then closing; returns the count completed in `seconds`."""
    ctx = client_tls()
    deadline = time.monotonic() + seconds
    done = 0

    async def loop():
        nonlocal done
        while time.monotonic() < deadline:
            r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
            line = await r.readline()
            if not line.startswith((b"+OK", b"* OK")):
                raise RuntimeError(f"greeting: {line!r}")
            w.close()
            done += 1
    t = time.monotonic()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return {"handshakes": done, "seconds": time.monotonic() - t}


async def open_idle(proto, port, users, batch=50):
    """Logs in one connection per user (POP3, or IMAP then IDLE) and returns
    the open clients; they stay idle until closed."""
    out = []

    async def one(u):
        if proto == "imap":
            c = await Imap.connect(port)
            await c.login(u)
            await c.cmd(b"SELECT INBOX")
            c.w.write(b"i1 IDLE\r\n")
            await c.w.drain()
            line = await c.r.readline()
            if not line.startswith(b"+"):
                raise RuntimeError(f"IDLE: {line!r}")
        else:
            c = await Pop3.connect(port)
            await c.login(u)
        out.append(c)
    for i in range(0, len(users), batch):
        await asyncio.gather(*(one(u) for u in users[i:i + batch]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workload", choices=("imap-mixed", "imap-logins",
                                         "handshakes"))
    ap.add_argument("port", type=int)
    ap.add_argument("user", nargs="?")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=4)
    a = ap.parse_args()
    if a.workload == "imap-mixed":
        res = asyncio.run(imap_mixed(a.port, a.user, a.clients, a.seconds, a.seed))
    elif a.workload == "imap-logins":
        res = asyncio.run(imap_logins(a.port, a.user.split(","), a.clients,
                                      a.seconds))
    else:
        res = asyncio.run(handshakes(a.port, a.seconds, a.concurrency))
    json.dump(res, sys.stdout)
    print()


if __name__ == "__main__":
    main()
