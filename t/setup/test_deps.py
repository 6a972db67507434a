"""The project installs what its tests run (issue 17, item 0).

A machine that already had a package hides a missing install step, so this
checks the lists against each other rather than against this machine:
every package t/required-tools names is in the Makefile's DEPS, and every
program a test looks up by name has a probe in t/required-tools (which
t/run-tests checks before any test starts)."""
import glob
import os
import re
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def makefile_list(name):
    """The words of a `NAME = ...` assignment (with continuation lines)."""
    with open(os.path.join(ROOT, "Makefile")) as f:
        text = f.read().replace("\\\n", " ")
    m = re.search(rf"^{name}\s*\??=(.*)$", text, re.M)
    if m is None:
        raise AssertionError(f"Makefile has no {name} =")
    return set(m.group(1).split())


def required_tools():
    """(package, probe) of every line of t/required-tools."""
    pairs = []
    with open(os.path.join(ROOT, "t", "required-tools")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                package, _, probe = line.partition(" ")
                pairs.append((package, probe.strip()))
    return pairs


def programs_tests_look_up():
    """Names of programs that Python code under t/ looks up with
    shutil.which, and the keys of test_clients.py's TOOLS table."""
    names = set()
    for path in glob.glob(os.path.join(ROOT, "t", "**", "*.py"),
                          recursive=True):
        if "/bench/" in path:     # run by hand, with its own peers
            continue
        with open(path) as f:
            text = f.read()
        names.update(re.findall(r'shutil\.which\("([^"]+)"\)', text))
        m = re.search(r"^TOOLS = \{(.*?)\}", text, re.M | re.S)
        if m:
            names.update(re.findall(r'"([^"]+)":', m.group(1)))
    return names


class Deps(unittest.TestCase):

    def test_every_required_package_is_installed_by_make(self):
        deps = makefile_list("DEPS")
        missing = [p for p, _ in required_tools() if p not in deps]
        self.assertEqual(missing, [], "t/required-tools names packages "
                         "that the Makefile's DEPS does not install")

    def test_every_program_a_test_runs_is_probed(self):
        probes = " ".join(probe for _, probe in required_tools())
        words = set(re.findall(r"[A-Za-z0-9_.+-]+", probes))
        unprobed = sorted(programs_tests_look_up() - words)
        self.assertEqual(unprobed, [], "tests look these programs up but "
                         "t/required-tools does not check them")

    def test_swaks_tls_is_probed(self):
        """swaks' TLS needs Net::SSLeay, which it only recommends: the
        failure that hid behind a machine that happened to have it."""
        pairs = dict(required_tools())
        self.assertIn("libnet-ssleay-perl", pairs)
        self.assertIn("TLS supported", pairs["libnet-ssleay-perl"])


if __name__ == "__main__":
    unittest.main()
