"""imapscript: IMAP conformance scenarios as data (see README).

This file holds the language: reading a script into scenarios and steps,
reading IMAP responses off a socket (literals included), and matching a
response against an expected pattern. run.py drives a real postinod with
it. Python 3 stdlib only.
"""
import re

# ---- scripts ----------------------------------------------------------------


class ScriptError(Exception):
    """A malformed script: file, line and what is wrong."""


class Step:
    """One thing a scenario does, at a line of its script.

    kind: "command" (session, text), "done" (DONE for a command that
    stopped at "+"), "wait" (session: read unsolicited lines until the
    expected ones came), "restart" (the daemon).
    """

    def __init__(self, kind, line, session=None, text=""):
        self.kind = kind
        self.line = line
        self.session = session
        self.text = text
        self.ordered = []     # patterns, in the order they must come
        self.unordered = []   # patterns, any order
        self.banned = []      # patterns no untagged response may match
        self.only = False     # no untagged response besides the expected
        self.tagged = None    # (statuses, code pattern or None, banned)
        self.continuation = None  # a "+" line expected: stop there


class Scenario:
    def __init__(self, path, title, line):
        self.path = path
        self.title = title
        self.line = line
        self.steps = []
        self.xfail = False    # a self-test: the scenario must fail


STATUSES = ("OK", "NO", "BAD", "BYE", "PREAUTH")
STEP_RE = re.compile(r"^(\d+) (.+)$")


def parse_script(path, text):
    """(messages, [Scenario]) from a script's text."""
    messages = {}
    scenarios = []
    lines = text.split("\n")
    i = 0
    scenario = None
    step = None

    def fail(msg):
        raise ScriptError(f"{path}:{i + 1}: {msg}")

    while i < len(lines):
        raw = lines[i].rstrip("\r")
        line = raw.strip()
        if line == "" or line.startswith("#"):
            i += 1
            continue
        if line.startswith("@message "):
            name = line.split(None, 1)[1].strip()
            body = []
            i += 1
            while i < len(lines) and lines[i].rstrip("\r") != "@end":
                body.append(lines[i].rstrip("\r"))
                i += 1
            if i == len(lines):
                fail(f"@message {name} without @end")
            messages[name] = ("\r\n".join(body) + "\r\n").encode()
            i += 1
            continue
        if line.startswith("=== "):
            scenario = Scenario(path, line[4:].strip(), i + 1)
            scenarios.append(scenario)
            step = None
            i += 1
            continue
        if scenario is None:
            fail("a step before the first '=== title' line")
        if line == "@xfail":
            scenario.xfail = True
        elif line == "@restart":
            step = Step("restart", i + 1)
            scenario.steps.append(step)
        elif line.startswith("@wait "):
            step = Step("wait", i + 1, session=line.split()[1])
            scenario.steps.append(step)
        elif STEP_RE.match(line):
            m = STEP_RE.match(line)
            kind = "done" if m.group(2).upper() == "DONE" else "command"
            step = Step(kind, i + 1, session=m.group(1), text=m.group(2))
            scenario.steps.append(step)
        elif step is None:
            fail(f"expectation without a step: {line!r}")
        elif line.startswith("* "):
            step.ordered.append(compile_pattern(line, path, i + 1))
        elif line.startswith("~ * "):
            step.unordered.append(compile_pattern(line[2:], path, i + 1))
        elif line.startswith("! "):
            step.banned.append(compile_pattern(line[2:], path, i + 1))
        elif line == "only":
            step.only = True
        elif line.startswith("+"):
            step.continuation = line
        elif line == "?":
            step.tagged = (set(STATUSES), None, False)
        elif line.split(None, 1)[0].split("|")[0] in STATUSES:
            # "OK", "NO|BAD", "OK [CODE ...]", "NO ![CODE ...]" (any
            # response code but that one)
            head, _, rest = line.partition(" ")
            code = None
            banned = False
            rest = rest.strip()
            if rest.startswith("!["):
                banned = True
                rest = rest[1:]
            if rest.startswith("["):
                code = compile_pattern("X OK " + rest, path, i + 1)
            elif rest:
                fail(f"cannot read the tagged line {line!r}")
            step.tagged = (set(head.split("|")), code, banned)
        else:
            fail(f"cannot read {line!r}")
        i += 1
    return messages, scenarios


# ---- tokens -----------------------------------------------------------------
#
# A response (and a pattern) is read into a tree: atoms, strings (quoted
# or literal: the same thing on the wire), and lists "( )" and "[ ]".
# Only the response code of a status response is read: its text is free.

class Atom(str):
    pass


class String(str):
    pass


class Group(list):
    def __init__(self, kind, items=()):
        super().__init__(items)
        self.kind = kind  # "(" or "["


ATOM_STOP = set(' ()[]"{\r\n')


PATTERN_ESCAPES = {"r": "\r", "n": "\n", "t": "\t"}


def tokenize(data, literals=None, pattern=False):
    """data: the response with every literal's bytes replaced by a marker
    "{#n}" (n indexes literals). Returns the top-level Group. In a
    pattern a quoted string may also hold \\r, \\n and \\t."""
    pos = 0
    top = Group("")
    stack = [top]
    text_mode = False
    n = len(data)
    while pos < n:
        c = data[pos]
        if text_mode:
            break
        if c == " ":
            pos += 1
            continue
        if c in "([":
            g = Group(c)
            stack[-1].append(g)
            stack.append(g)
            pos += 1
            continue
        if c in ")]":
            if len(stack) > 1:
                stack.pop()
            else:
                stack[-1].append(Atom(c))
            pos += 1
            if c == "]" and len(stack) == 1 and _status_response(top):
                text_mode = True  # the code is read: the rest is text
            continue
        if c == '"':
            out = []
            pos += 1
            while pos < n and data[pos] != '"':
                if data[pos] == "\\" and pos + 1 < n:
                    pos += 1
                    if pattern and data[pos] in PATTERN_ESCAPES:
                        out.append(PATTERN_ESCAPES[data[pos]])
                        pos += 1
                        continue
                out.append(data[pos])
                pos += 1
            pos += 1
            stack[-1].append(String("".join(out)))
            continue
        if c == "{":
            end = data.find("}", pos)
            ref = data[pos + 1:end]
            if literals is not None and ref.startswith("#"):
                stack[-1].append(String(literals[int(ref[1:])]))
            else:
                stack[-1].append(Atom(data[pos:end + 1]))
            pos = end + 1
            continue
        start = pos
        while pos < n and data[pos] not in ATOM_STOP:
            pos += 1
        if pos == start:  # a stray character
            pos += 1
        stack[-1].append(Atom(data[start:pos]))
        if _status_response(top) and len(stack) == 1 and \
                (pos >= n or data[pos] != "["):
            # "* OK text" or "tag NO text": no code; the rest is text.
            rest = data[pos:].lstrip(" ")
            if not rest.startswith("["):
                break
    return top


def _status_response(top):
    """Whether top so far is "X STATUS", X being "*" or a tag."""
    return len(top) >= 2 and isinstance(top[1], Atom) and \
        top[1].upper() in STATUSES and isinstance(top[0], Atom)


# ---- patterns ---------------------------------------------------------------

# "$name", or "$name>$other" / "$name<$other": a number above / below
# another variable's (UIDVALIDITY that must grow).
VAR_RE = re.compile(r"^\$([a-z][a-z0-9_]*)(?:([<>])\$([a-z][a-z0-9_]*))?$")

# Lists whose order the RFC leaves open: compared as sets (so are LIST
# attributes and SEARCH's numbers, see _match_seq).
SET_AFTER = {"FLAGS", "PERMANENTFLAGS"}


class Pattern:
    def __init__(self, source, tree, path, line):
        self.source = source
        self.tree = tree
        self.path = path
        self.line = line

    def __repr__(self):
        return self.source


def compile_pattern(text, path="", line=0):
    """A pattern: a response with variables ("$name"; "$$x" is the atom
    "$x"), "..." (any tokens) and sets (see _match_set)."""
    tree = tokenize(text, pattern=True)
    _mark_sets(tree)
    return Pattern(text, tree, path, line)


def substitute(text, variables):
    """$name -> its value in a command; $$ -> $."""
    def repl(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        if name not in variables:
            raise KeyError(name)
        return variables[name]
    return re.sub(r"\$\$|\$([a-z][a-z0-9_]*)", repl, text)


def _is_ellipsis(p):
    return isinstance(p, Atom) and p == "..."


def _unescape(p):
    return Atom(p.replace("$$", "$")) if isinstance(p, Atom) else p


def match(pattern, actual, variables):
    """Whether the pattern tree matches the actual tree; variables (a
    dict) gets the bindings of a successful match only."""
    trial = dict(variables)
    if _match_seq(list(pattern), list(actual), trial):
        variables.clear()
        variables.update(trial)
        return True
    return False


def _match_token(p, a, vs):
    if isinstance(p, Group):
        if not isinstance(a, Group) or a.kind != p.kind:
            return False
        return _match_seq(list(p), list(a), vs)
    if isinstance(a, Group):
        return False
    m = VAR_RE.match(p) if isinstance(p, Atom) else None
    if m:
        name, op, other = m.groups()
        if op is not None:
            if other not in vs or not str(a).isdigit() or \
                    not vs[other].isdigit():
                return False
            if (int(str(a)) > int(vs[other])) != (op == ">"):
                return False
        if name in vs:
            return vs[name] == str(a)
        vs[name] = str(a)
        return True
    p = _unescape(p)
    if isinstance(p, Atom) and isinstance(a, Atom):
        return p.upper() == a.upper()
    if isinstance(p, Atom) and p.upper() == "NIL" or \
            isinstance(a, Atom) and a.upper() == "NIL":
        return False  # NIL is not the string "NIL"
    return str(p) == str(a)


def _match_seq(ps, as_, vs):
    """Sequence match with "..." (any tokens) and the set/map rules."""
    # FETCH's item list: name/value pairs, any order, extra items allowed.
    if ps and isinstance(ps[0], Atom) and ps[0].upper() == "*" and \
            len(ps) >= 4 and isinstance(ps[2], Atom) and \
            ps[2].upper() == "FETCH" and isinstance(ps[3], Group):
        if len(as_) != 4 or not isinstance(as_[3], Group) or \
                not _match_token(ps[0], as_[0], vs) or \
                not _match_token(ps[1], as_[1], vs) or \
                not _match_token(ps[2], as_[2], vs):
            return False
        return _match_fetch(ps[3], as_[3], vs)
    if ps and isinstance(ps[0], Atom) and ps[0] == "*" and len(ps) >= 2 \
            and isinstance(ps[1], Atom) and ps[1].upper() in ("LIST",
                                                              "LSUB"):
        # * LIST (attributes: a set) delimiter name [extended data]
        if len(as_) < 3 or not isinstance(as_[2], Group) or \
                len(ps) < 3 or not isinstance(ps[2], Group):
            return False
        if not _match_token(ps[0], as_[0], vs) or \
                not _match_token(ps[1], as_[1], vs) or \
                not _match_set(ps[2], as_[2], vs):
            return False
        return _match_plain(ps[3:], as_[3:], vs)
    if len(ps) >= 2 and isinstance(ps[1], Atom) and \
            ps[1].upper() == "ESEARCH":
        return _match_esearch(ps, as_, vs)
    if len(ps) >= 2 and isinstance(ps[1], Atom) and \
            ps[1].upper() == "SEARCH":
        if len(as_) < 2 or not _match_token(ps[0], as_[0], vs) or \
                not _match_token(ps[1], as_[1], vs):
            return False
        return _match_set(Group("(", ps[2:]), Group("(", as_[2:]), vs)
    return _match_plain(ps, as_, vs)


def _match_plain(ps, as_, vs):
    if not ps:
        return not as_
    p = ps[0]
    if _is_ellipsis(p):
        for k in range(len(as_) + 1):
            trial = dict(vs)
            if _match_plain(ps[1:], as_[k:], trial):
                vs.clear()
                vs.update(trial)
                return True
        return False
    if not as_:
        return False
    trial = dict(vs)
    if isinstance(p, Group) and getattr(p, "as_set", False):
        ok = isinstance(as_[0], Group) and _match_set(p, as_[0], trial)
    else:
        ok = _match_token(p, as_[0], trial)
    if ok and _match_plain(ps[1:], as_[1:], trial):
        vs.clear()
        vs.update(trial)
        return True
    return False


def _match_set(p, a, vs):
    """p and a as sets: every element of p (but "..." and "!x") is in a,
    no "!x" is, and nothing else is unless p has "...". """
    if not isinstance(a, Group):
        return False
    extra_ok = any(_is_ellipsis(x) for x in p)
    left = list(a)
    for x in p:
        if _is_ellipsis(x):
            continue
        if isinstance(x, Atom) and x.startswith("!") and len(x) > 1:
            if any(_match_token(Atom(x[1:]), y, dict(vs)) for y in a):
                return False
            continue
        for k, y in enumerate(left):
            trial = dict(vs)
            if _match_token(x, y, trial):
                vs.clear()
                vs.update(trial)
                del left[k]
                break
        else:
            return False
    return extra_ok or not left


def _match_esearch(ps, as_, vs):
    """* ESEARCH [(TAG "t")] [UID] name value ... (RFC 4731): the
    correlator and UID in place, the return data as pairs in any order,
    exactly those named unless the pattern has "..."."""
    if len(as_) < 2 or not _match_token(ps[0], as_[0], vs) or \
            not _match_token(ps[1], as_[1], vs):
        return False
    ps, as_ = list(ps[2:]), list(as_[2:])
    for head in (lambda x: isinstance(x, Group),
                 lambda x: isinstance(x, Atom) and x.upper() == "UID"):
        p_has = bool(ps) and head(ps[0])
        a_has = bool(as_) and head(as_[0])
        if p_has != a_has:
            return False
        if p_has:
            if not _match_token(ps[0], as_[0], vs):
                return False
            ps, as_ = ps[1:], as_[1:]
    extra_ok = any(_is_ellipsis(x) for x in ps)
    ps = [x for x in ps if not _is_ellipsis(x)]
    if len(as_) % 2:
        return False
    amap = {}
    for k in range(0, len(as_), 2):
        if str(as_[k]).upper() in amap:
            return False  # a return item twice
        amap[str(as_[k]).upper()] = as_[k + 1]
    k = 0
    while k < len(ps):
        name = str(ps[k]).upper()
        if name.startswith("!") and len(name) > 1:
            if name[1:] in amap:
                return False
            k += 1
            continue
        if k + 1 == len(ps) or name not in amap or \
                not _match_token(ps[k + 1], amap[name], vs):
            return False
        del amap[name]
        k += 2
    return extra_ok or not amap


def _fetch_items(g):
    """A FETCH list as [(NAME, value)], NAME with its section and origin
    (BODY[HEADER.FIELDS (A B)]<0> ...), upper case."""
    items = []
    k = 0
    g = list(g)
    while k < len(g):
        name = g[k]
        if isinstance(name, Group):
            return None
        key = str(name).upper()
        k += 1
        if k < len(g) and isinstance(g[k], Group) and g[k].kind == "[":
            key += "[" + _flat(g[k]).upper() + "]"
            k += 1
            if k < len(g) and isinstance(g[k], Atom) and \
                    g[k].startswith("<"):
                key += str(g[k])
                k += 1
        if k >= len(g):
            items.append((key, None))
            break
        items.append((key, g[k]))
        k += 1
    return items


def _flat(g):
    out = []
    for x in g:
        if isinstance(x, Group):
            out.append(("(" if x.kind == "(" else "[") + _flat(x) +
                       (")" if x.kind == "(" else "]"))
        elif isinstance(x, String):
            out.append('"' + x + '"')
        else:
            out.append(str(x))
    return " ".join(out)


def _match_fetch(p, a, vs):
    """Every item of the pattern is in the response with a matching value
    (any order; items the pattern does not name are allowed unless the
    pattern's list ends with "only")."""
    plist = list(p)
    exact = bool(plist) and isinstance(plist[-1], Atom) and \
        plist[-1] == "only"
    if exact:
        plist = plist[:-1]
    pi = _fetch_items(Group("(", plist))
    ai = _fetch_items(a)
    if pi is None or ai is None:
        return False
    amap = {}
    for key, value in ai:
        if key in amap:
            return False  # an item twice in one response
        amap[key] = value
    for key, value in pi:
        if key not in amap or amap[key] is None or value is None:
            return False
        pv = value
        if _is_ellipsis(pv):
            continue  # any value
        if isinstance(pv, Group) and key == "FLAGS":
            if not _match_set(pv, amap[key], vs):
                return False
        elif not _match_token(pv, amap[key], vs):
            return False
    return not exact or len(pi) == len(ai)


def _mark_sets(tree):
    """Marks the lists whose order is free (after FLAGS, PERMANENTFLAGS)
    so that _match_plain compares them as sets."""
    prev = None
    for x in tree:
        if isinstance(x, Group):
            if prev is not None and isinstance(prev, Atom) and \
                    prev.upper() in SET_AFTER and x.kind == "(":
                x.as_set = True
            _mark_sets(x)
        prev = x


# ---- responses --------------------------------------------------------------


class Response:
    """One response as read: its text (literals as {#n} markers), the
    literals, and the tree."""

    def __init__(self, text, literals):
        self.text = text
        self.literals = literals
        self.tree = tokenize(text, literals)

    @property
    def tag(self):
        return self.text.split(" ", 1)[0]

    def display(self):
        out = self.text
        for k, lit in enumerate(self.literals):
            out = out.replace("{#%d}" % k, "{%d}%r" % (len(lit), lit), 1)
        return out


LITERAL_AT_END = re.compile(r"\{(\d+)\}$")


def read_response(reader):
    """One response from reader (an object with readline() -> bytes
    without CRLF, and read(n) -> bytes)."""
    parts = []
    literals = []
    while True:
        line = reader.readline().decode("utf-8", errors="replace")
        m = LITERAL_AT_END.search(line)
        if not m:
            parts.append(line)
            break
        parts.append(line[:m.start()] + "{#%d}" % len(literals))
        literals.append(reader.read(int(m.group(1))).decode(
            "utf-8", errors="replace"))
    return Response("".join(parts), literals)
