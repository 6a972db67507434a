"""The plugin ABI as a plugin author meets it: install the server, build the
sample module out of tree from the installed headers with pkg-config only,
load it; and the broken variants (another ABI major, another entry symbol,
no entry symbol, not an ELF file, the pre-1.0 headers, a missing required
module) are refused with a clear reason by both `postinod -t` and a real
start. The installed greylisting example is built with its own Makefile
and run as an MX policy: the whole author path from a fresh install."""
import glob
import os
import pwd
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest

import harness
from harness import (BUILD_ROOT, EX_CONFIG, EX_DATAERR, MODULES_DIR,
                     PRERELEASE_DIR, SOURCE_ROOT, module_rows)

SAMPLE_C = os.path.join(SOURCE_ROOT, "t", "abi", "sample.c")
# Symbols a linker may add to .dynsym on its own; nothing else is allowed.
LINKER_SYMBOLS = {"_init", "_fini", "_edata", "_end", "__bss_start"}
MAJOR_MSG = "is built for plugin ABI major 2, this server provides major 1"


class Installed:
    """`meson install --destdir` once per run, and the modules built from
    it, shared by every test of this file."""
    root = None         # the temporary directory
    error = None        # why the install failed
    pc_dir = None
    builds = {}         # variant name -> (ok, dir or output)

    @classmethod
    def cleanup(cls):
        if cls.root is not None:
            shutil.rmtree(cls.root, ignore_errors=True)
            cls.root = None

    @classmethod
    def get(cls, tc):
        if cls.root is None:
            cls.root = tempfile.mkdtemp(prefix="postino-abi-")
            destdir = os.path.join(cls.root, "destdir")
            argv = ["meson", "install", "-C", BUILD_ROOT, "--destdir",
                    destdir, "--no-rebuild", "--quiet"]
            try:
                p = subprocess.run(argv, capture_output=True, text=True,
                                   timeout=300, env=harness.base_env())
                if p.returncode != 0:
                    cls.error = (f"{' '.join(argv)} failed (exit "
                                 f"{p.returncode}):\n{p.stdout}{p.stderr}")
            except subprocess.TimeoutExpired as e:
                cls.error = f"{' '.join(argv)} timed out:\n{e.stdout}"
            if cls.error is None:
                found = []
                for dirpath, _, files in os.walk(destdir):
                    if "postino-plugin.pc" in files:
                        found.append(dirpath)
                if len(found) != 1:
                    cls.error = (f"expected one postino-plugin.pc under "
                                 f"{destdir}, found {found}")
                else:
                    cls.pc_dir = found[0]
            cls.destdir = destdir
        if cls.error is not None:
            tc.fail(cls.error)
        return cls

    @classmethod
    def pkg_env(cls):
        env = harness.base_env()
        env["PKG_CONFIG_PATH"] = cls.pc_dir
        env["PKG_CONFIG_SYSROOT_DIR"] = cls.destdir
        env.pop("PKG_CONFIG_LIBDIR", None)
        return env

    @classmethod
    def pkg_config(cls, tc, *args):
        p = subprocess.run(["pkg-config"] + list(args) + ["postino-plugin"],
                           capture_output=True, text=True, timeout=60,
                           env=cls.pkg_env())
        tc.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.split()

    @classmethod
    def build(cls, tc, variant, defines=()):
        """Builds sample.c out of tree as VARIANT/sample.so, from a copy of
        the source and the installed headers only. Returns its directory."""
        cls.get(tc)
        if variant not in cls.builds:
            out_dir = os.path.join(cls.root, "modules", variant)
            src_dir = os.path.join(cls.root, "src", variant)
            os.makedirs(out_dir)
            os.makedirs(src_dir)
            shutil.copy(SAMPLE_C, src_dir)
            cflags = cls.pkg_config(tc, "--cflags")
            argv = (["cc", "-shared", "-fPIC", "-fvisibility=hidden",
                     "-Wall", "-Wextra", "-Werror"] + cflags
                    + [f"-D{d}" for d in defines]
                    + ["sample.c", "-o", os.path.join(out_dir, "sample.so")])
            p = subprocess.run(argv, capture_output=True, text=True,
                               timeout=120, cwd=src_dir,
                               env=cls.pkg_env())
            if p.returncode == 0:
                cls.builds[variant] = (True, out_dir)
            else:
                cls.builds[variant] = (False, f"{' '.join(argv)}:\n"
                                       f"{p.stdout}{p.stderr}")
        ok, what = cls.builds[variant]
        tc.assertTrue(ok, what)
        return what


def tearDownModule():
    Installed.cleanup()


def dynamic_symbols(tc, path, *options):
    p = subprocess.run(["nm", "-D"] + list(options) + [path],
                       capture_output=True, text=True, timeout=60)
    tc.assertEqual(p.returncode, 0, p.stderr)
    names = []
    for line in p.stdout.splitlines():
        fields = line.split()
        if fields:
            names.append(fields[-1].split("@")[0])
    return names


class Install(harness.TestCase):

    def test_installed_headers_and_pkg_config(self):
        inst = Installed.get(self)
        cflags = inst.pkg_config(self, "--cflags")
        includes = [f[2:] for f in cflags if f.startswith("-I")]
        self.assertTrue(includes, cflags)
        for inc in includes:
            self.assertTrue(inc.startswith(inst.destdir + "/"),
                            f"{inc} is outside the install")
        headers = [os.path.join(inc, "postino", "plugin.h")
                   for inc in includes]
        self.assertTrue(any(os.path.isfile(h) for h in headers), headers)
        with open(SAMPLE_C) as f:
            self.assertIn("#include <postino/plugin.h>", f.read())
        # Modules never link against the server.
        self.assertEqual(inst.pkg_config(self, "--libs"), [])
        self.assertEqual(inst.pkg_config(self, "--variable=abi_major"),
                         ["1"])

    def test_out_of_tree_build_exports_one_symbol(self):
        mods = Installed.build(self, "good")
        so = os.path.join(mods, "sample.so")
        defined = [s for s in dynamic_symbols(self, so, "--defined-only")
                   if s not in LINKER_SYMBOLS]
        self.assertEqual(defined, ["postino_module_v1"])
        # Nothing it needs comes from the server.
        undefined = dynamic_symbols(self, so, "--undefined-only")
        for sym in undefined:
            for prefix in ("core_", "store_", "module_", "hooks_",
                           "config_", "log_", "postino_"):
                self.assertFalse(sym.startswith(prefix), sym)


class LoadCase(harness.TestCase):
    """Writes the config for a modules dir; checks refusals."""

    def configure(self, mods, settings=None):
        env = self.env
        env.write_config(modules_dir=mods)
        return env.write_module("sample", settings)

    def refused_everywhere(self, mods, fragment, listed="sample - - failed: "):
        """-t, a real start and module list all refuse, naming the file."""
        env = self.env
        mod = self.configure(mods)
        want = f"{mod}: module sample: {mods}/sample.so {fragment}" \
            if fragment.startswith(("is built", "does not")) \
            else f"{mod}: module sample: {fragment}"
        code, out, err = env.postinod("-t")
        self.assertEqual(code, EX_CONFIG, out + err)
        self.assertIn("postinod: " + want, err)
        code, out, err = env.postinod()
        self.assertEqual(code, EX_CONFIG, out + err)
        self.assertIn("error core: startup refused: " + want, err)
        self.assertNotIn("postinod ready", err)
        r = env.cli("module", "list")
        self.assertEqual(r.code, EX_CONFIG, repr(r))
        rows = module_rows(r.out)
        self.assertEqual(len(rows), 2, r.out)
        self.assertTrue(rows[1].startswith(listed), rows)
        return err


class Load(LoadCase):

    def test_loads_and_runs_hooks(self):
        env = self.env
        mods = Installed.build(self, "good")
        self.configure(mods, {"forbidden": "kiwi", "tick_ms": "10"})
        code, out, err = env.postinod("-t")
        self.assertEqual(code, 0, out + err)
        self.assertIn("is valid (1 modules)", out)
        r = env.cli_ok("module", "list")
        self.assertIn("sample 1.0.0 1.1 ready",
                      module_rows(r.out))
        env.init()
        env.cli_ok("domain", "add", "example.test")
        env.cli_fails(EX_DATAERR, "postino: password refused: 5.7.0 sample: "
                      "the password contains 'kiwi'",
                      "user", "add", "a@example.test", "--password-stdin",
                      input="I-like-kiwi-fruit\n")
        env.cli_ok("user", "add", "a@example.test", "--password-stdin",
                   input="I-like-apples-2\n")
        self.assertEqual(env.cli_ok("sample", "get", "last_changed").out,
                         "a@example.test\n")
        d = env.start()
        d.wait_for("info sample: first tick greeting=hello")
        env.poll(env.sample_ticks, "ticks from the out-of-tree module")
        d.stop()

    def test_wrong_major_in_descriptor(self):
        mods = Installed.build(self, "claim-major-2",
                               ["SAMPLE_CLAIM_MAJOR=2"])
        self.assertEqual(dynamic_symbols(self, os.path.join(
            mods, "sample.so"), "--defined-only"), ["postino_module_v1"])
        self.refused_everywhere(mods, MAJOR_MSG)

    def test_other_major_symbol(self):
        mods = Installed.build(self, "symbol-v2",
                               ["SAMPLE_SYMBOL=postino_module_v2"])
        self.assertEqual(dynamic_symbols(self, os.path.join(
            mods, "sample.so"), "--defined-only"), ["postino_module_v2"])
        self.refused_everywhere(mods, MAJOR_MSG)

    def test_no_entry_symbol(self):
        mods = Installed.build(self, "not-a-module",
                               ["SAMPLE_SYMBOL=not_a_module"])
        self.refused_everywhere(mods, "does not export postino_module_v1 "
                                "(not a Postino module)")

    def test_not_an_elf_file(self):
        env = self.env
        mods = env.path("mods")
        os.mkdir(mods)
        with open(os.path.join(mods, "sample.so"), "w") as f:
            f.write("#!/bin/sh\necho this is not a shared object\n" * 40)
        self.refused_everywhere(mods, f"cannot load {mods}/sample.so: ")

    def test_prerelease_headers(self):
        """A module built before 1.0 was final carries the same symbol and
        numbers but a shorter descriptor and another host table: refused
        with the minor to rebuild against, its init never called."""
        err = self.refused_everywhere(
            PRERELEASE_DIR,
            f"{PRERELEASE_DIR}/sample.so is built with the plugin headers of "
            "before ABI 1.0 was final; rebuild it against the installed "
            "headers (ABI 1.1)")
        self.assertNotIn("AddressSanitizer", err)

    def test_requires_a_missing_module(self):
        mods = Installed.build(self, "requires-sieve",
                               ['SAMPLE_REQUIRES="sieve"'])
        self.refused_everywhere(mods, "requires module sieve, which no "
                                "modules.d file loads",
                                listed="sample 1.0.0 1.1 failed: ")

    def test_requires_in_a_cycle(self):
        """sample requires other and other requires sample: neither can
        be initialised first, so the set is refused, naming the cycle."""
        env = self.env
        mods = Installed.build(self, "cycle-sample",
                               ['SAMPLE_REQUIRES="other"'])
        other_dir = Installed.build(self, "cycle-other",
                                    ['SAMPLE_NAME="other"',
                                     'SAMPLE_REQUIRES="sample"'])
        other = os.path.join(env.root, "other.so")
        shutil.copy(os.path.join(other_dir, "sample.so"), other)
        os.chmod(other, 0o755)
        env.write_config(modules_dir=mods)
        env.write_module("sample")
        env.write_module("other", extra="", filename="other.conf")
        with open(os.path.join(env.modules_conf_dir, "other.conf"), "w") as f:
            f.write(f"[module]\nload = {other}\n")
        env.init()
        code, out, err = env.postinod()
        self.assertEqual(code, EX_CONFIG, out + err)
        self.assertIn("requires form a cycle", err)
        self.assertNotIn("postinod ready", err)

    def test_load_by_path(self):
        """load = /path/NAME.so: a module built anywhere runs beside the
        shipped ones, with no copy into modules_dir."""
        env = self.env
        mods = Installed.build(self, "good")
        env.write_config(modules_dir=MODULES_DIR)
        env.write_module("sample", {"tick_ms": "10"})
        conf = os.path.join(env.modules_conf_dir, "sample.conf")
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text.replace("load = sample",
                                 f"load = {mods}/sample.so"))
        code, out, err = env.postinod("-t")
        self.assertEqual(code, 0, out + err)
        r = env.cli_ok("module", "list")
        self.assertIn("sample 1.0.0 1.1 ready",
                      module_rows(r.out))
        env.init()
        d = env.start()
        d.wait_for("info sample: first tick greeting=hello")
        d.stop()

    def test_empty_file(self):
        env = self.env
        mods = env.path("mods")
        os.mkdir(mods)
        open(os.path.join(mods, "sample.so"), "w").close()
        self.refused_everywhere(mods, f"cannot load {mods}/sample.so: ")


class Greylist(harness.TestCase):
    """plugins-api/examples/greylist as installed: copied out, built with
    its own Makefile against the installed headers, loaded by path beside
    the shipped smtp.so, and run as an MX policy."""

    SMTP_SETTINGS = {"max_message_size": "1M"}

    def build_example(self):
        inst = Installed.get(self)
        found = glob.glob(os.path.join(inst.destdir, "**", "doc", "postino",
                                       "examples", "greylist"),
                          recursive=True)
        self.assertEqual(len(found), 1, "the example is not installed once")
        work = self.env.path("greylist-src")
        shutil.copytree(found[0], work)
        p = subprocess.run(["make", "CFLAGS=-O2 -Wall -Wextra -Werror"],
                           cwd=work, capture_output=True, text=True,
                           timeout=120, env=inst.pkg_env())
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        so = os.path.join(work, "greylist.so")
        defined = [x for x in dynamic_symbols(self, so, "--defined-only")
                   if x not in LINKER_SYMBOLS]
        self.assertEqual(defined, ["postino_module_v1"])
        return so

    def serve(self, so):
        env = self.env
        cert = harness.make_cert(env.root, "mail", "mail.example.test",
                                 ["mail.example.test"])
        env.write_config(modules_dir=MODULES_DIR,
                         extra=harness.tls_section(*cert))
        text, self.where = harness.listener_sections([
            # Named otherwise than its role: listeners = mx matches roles.
            {"name": "inbound", "protocol": "smtp", "tls": "starttls"},
            # Another MX, given another role: outside the module's scope.
            {"name": "backup", "protocol": "smtp", "tls": "starttls",
             "role": "backup-mx"},
        ])
        env.write_module("smtp", self.SMTP_SETTINGS, extra=text)
        path = os.path.join(env.modules_conf_dir, "greylist.conf")
        with open(path, "w") as f:
            f.write(f"[module]\nload = {so}\nlisteners = mx\n\n"
                    "[greylist]\ndelay = 2s\n")
        env.init()
        env.cli_ok("domain", "add", "example.test")
        env.add_user("bob@example.test", "bob-Secret-77")
        return env.start()

    def rcpt(self, listener, sender, rcpt):
        address, port = self.where[listener]
        s = smtplib.SMTP(address, port, timeout=20)
        try:
            s.ehlo("client.remote.test")
            self.assertEqual(s.mail(sender)[0], 250)
            return s.rcpt(rcpt)
        finally:
            s.quit()

    def test_first_deferred_retry_passes_listed(self):
        so = self.build_example()
        d = self.serve(so)
        sender, rcpt = "someone@remote.test", "bob@example.test"
        code, text = self.rcpt("inbound", sender, rcpt)
        self.assertEqual(code, 451, text)
        self.assertIn(b"4.7.1 Greylisted", text)
        # The state is read back at once (read-your-writes): the same
        # triple a moment later is "too early", not "first seen" again.
        code, text = self.rcpt("inbound", sender, rcpt)
        self.assertEqual(code, 451, text)
        d.wait_for("greylisted 127.0.0 from=<someone@remote.test> "
                   "to=<bob@example.test> (too early)")
        self.assertEqual(len(re.findall(r"\(first seen\)", d.log())), 1,
                         d.log())
        # The CLI is another process: it sees the triple once the
        # daemon's write has committed (its own reads see it at once).
        listed = self.env.poll(
            lambda: self.env.cli_ok("greylist", "list").out,
            "the triple committed")
        self.assertRegex(listed, r"^127\.0\.0 someone@remote\.test "
                         r"bob@example\.test first=\d+ passes=0 "
                         r"expires=\d+\n$")
        # A retry after the delay passes (the test waits; it does not
        # time anything).
        deadline = time.monotonic() + 30
        while True:
            code, text = self.rcpt("inbound", sender, rcpt)
            if code == 250 or time.monotonic() > deadline:
                break
            self.assertEqual(code, 451, text)
            time.sleep(0.5)
        self.assertEqual(code, 250, text)
        self.env.poll(lambda: "passes=1" in
                      self.env.cli_ok("greylist", "list").out,
                      "the pass committed")
        self.assertEqual(self.env.cli_ok("greylist", "stats").out,
                         "waiting=0 passed=1\n")
        # Scoped to the mx role: a new triple on the backup MX goes by.
        code, text = self.rcpt("backup", "other@remote.test",
                               "bob@example.test")
        self.assertEqual(code, 250, text)
        self.assertEqual(self.env.cli_ok("greylist", "purge").out,
                         "purged 1 triples\n")
        self.assertEqual(self.env.cli_ok("greylist", "list").out, "")
        d.stop()


# A module whose only code is a constructor: dlopen alone runs it, as the
# user postinod (or postino) runs as. The marker file says it ran.
CONSTRUCTOR_C = r"""
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void ran(void)
{
	close(open(MARKER, O_WRONLY | O_CREAT, 0644));
}
"""


@unittest.skipUnless(os.geteuid() == 0, "needs root (files of other users)")
class UnsafePlaces(LoadCase):
    """Modules anyone but root could have replaced are refused before
    dlopen, as sshd's StrictModes refuses such key files: by postinod -t,
    a start and the CLI alike, with one line naming the culprit."""

    def constructor_module(self, mods):
        """mods/sample.so, a constructor-only module; returns the marker
        path it creates when loaded."""
        env = self.env
        marker = env.path("constructor-ran")
        src = env.path("constructor.c")
        with open(src, "w") as f:
            f.write(CONSTRUCTOR_C)
        so = os.path.join(mods, "sample.so")
        p = subprocess.run(["cc", "-shared", "-fPIC", f'-DMARKER="{marker}"',
                            src, "-o", so], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        os.chmod(so, 0o755)
        return marker

    def mods_dir(self, mode):
        """A modules dir of that mode holding the constructor module."""
        mods = self.env.path("mods")
        os.mkdir(mods)
        os.chmod(mods, mode)
        self.marker = self.constructor_module(mods)
        return mods

    def refused(self, mods, why):
        self.refused_everywhere(mods, f"refusing {mods}/sample.so: {why}")
        self.assertFalse(os.path.exists(self.marker),
                         "the module's constructor ran")

    def test_world_writable_modules_dir(self):
        mods = self.mods_dir(0o777)
        self.refused(mods, f"{mods} is writable by others (mode 0777)")

    def test_group_writable_modules_dir(self):
        mods = self.mods_dir(0o775)
        self.refused(mods, f"{mods} is writable by its group (mode 0775)")

    def test_writable_module_file(self):
        mods = self.mods_dir(0o755)
        os.chmod(os.path.join(mods, "sample.so"), 0o666)
        self.refused(mods, f"{mods}/sample.so is writable by others "
                     "(mode 0666)")

    def test_module_of_another_user_in_sticky_dir(self):
        """The reported attack: the server user puts its own pop3.so in
        place. In a sticky modules dir it cannot replace root's file, but
        a file of its own must not load either."""
        mods = self.mods_dir(0o1777)
        nobody = pwd.getpwnam("nobody")
        os.chown(os.path.join(mods, "sample.so"), nobody.pw_uid, -1)
        self.refused(mods, f"{mods}/sample.so is owned by uid "
                     f"{nobody.pw_uid}, not by root")

    def test_sticky_dir_with_root_module_loads(self):
        env = self.env
        mods = env.path("mods")
        os.mkdir(mods)
        os.chmod(mods, 0o1777)
        shutil.copy(os.path.join(harness.SAMPLE_DIR, "sample.so"), mods)
        self.configure(mods)
        code, out, err = env.postinod("-t")
        self.assertEqual(code, 0, out + err)
        self.assertIn("is valid (1 modules)", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
