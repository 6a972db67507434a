"""postinod as an operator meets it: config checks (-t), start, SIGHUP
reload, SIGTERM, refused starts, the sample module's timer writing through
the store, privilege drop, the `make run` set-up script and online
backups."""
import os
import signal
import pwd
import re
import shutil
import sqlite3
import subprocess
import threading
import time
import unittest

import harness
from harness import (EX_CANTCREAT, EX_CONFIG, EX_NOINPUT, EX_NOUSER,
                     EX_USAGE, INIT_FAILS_DIR, POSTINO, POSTINOD, SAMPLE_DIR,
                     SOURCE_ROOT, BUILD_ROOT, VERSION, log_line_re)

READY = ("info core: postinod ready version=%s modules=1 names=sample "
         "listeners=0" % VERSION)
EPERM_TEXT = "Operation not permitted"


class Lifecycle(harness.TestCase):

    def test_start_ready_stop(self):
        env = self.env.setup()
        d = env.start()
        self.assertRegex(d.log(), log_line_re(READY))
        log = d.stop()
        # The module's fini ran before exit.
        self.assertRegex(log, log_line_re("info sample: fini ticks=0"))

    def test_sigterm_again_while_shutting_down(self):
        """systemd sends SIGTERM to every process of the service, and the
        privileged parent passes its own on: more SIGTERMs, whenever they
        come, must not kill a server that is shutting down."""
        env = self.env.setup()
        d = env.start()
        d.signal(signal.SIGTERM)
        deadline = time.monotonic() + harness.STOP_TIMEOUT
        while d.proc.poll() is None and time.monotonic() < deadline:
            d.proc.send_signal(signal.SIGTERM)
            time.sleep(0.001)
        code = d.proc.wait(timeout=harness.STOP_TIMEOUT)
        log = d.log()
        self.assertEqual(code, 0, log)
        self.assertRegex(log, log_line_re("info core: stopped"))
        self.assertIsNone(harness.sanitizer_report(log), log)

    def test_ignores_sigpipe(self):
        """A client closing before it reads its reply must not kill the
        server: SIGPIPE is ignored (the write fails with EPIPE instead)."""
        env = self.env.setup()
        d = env.start()
        mask = int(d.proc_status("SigIgn")[0], 16)
        self.assertTrue(mask & (1 << (signal.SIGPIPE - 1)),
                        f"SIGPIPE not ignored (SigIgn={mask:x})")
        d.stop()

    def test_start_without_modules(self):
        env = self.env
        env.write_config()
        env.init()
        d = env.start(wait_ready=False)
        d.wait_for("postinod ready")
        self.assertRegex(d.log(), log_line_re(
            "info core: postinod ready version=%s modules=0 names=- "
            "listeners=0" % VERSION))
        d.stop()

    def test_start_creates_state_dir_and_database(self):
        env = self.env
        env.write_config()
        env.write_module("sample")
        self.assertFalse(os.path.exists(env.state_dir))
        d = env.start()
        self.assertTrue(os.path.isfile(env.db_path))
        # The database holds password hashes: not world-readable.
        self.assertEqual(os.stat(env.db_path).st_mode & 0o077, 0,
                         oct(os.stat(env.db_path).st_mode))
        env.cli_ok("domain", "add", "example.test")
        self.assertEqual(env.cli_ok("domain", "list").out, "example.test\n")
        d.stop()

    def test_init_creates_database_and_exits(self):
        env = self.env
        env.write_config()
        env.write_module("sample")
        code, out, err = env.postinod("--init")
        self.assertEqual(code, 0, out + err)
        self.assertTrue(os.path.isfile(env.db_path))
        self.assertEqual(env.query("PRAGMA journal_mode"), [("wal",)])
        tables = {r[0] for r in env.query(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table in ("domains", "accounts", "aliases", "mailboxes",
                      "messages", "blobs", "module_state"):
            self.assertIn(table, tables)
        # A second --init keeps what is there.
        env.cli_ok("domain", "add", "example.test")
        code, out, err = env.postinod("--init")
        self.assertEqual(code, 0, out + err)
        self.assertEqual(env.cli_ok("domain", "list").out, "example.test\n")

    def test_version_and_usage(self):
        code, out, err = self.env.run([POSTINOD, "-V"])
        self.assertEqual((code, out), (0, "postinod %s (plugin ABI 1.1)\n"
                                       % VERSION), err)
        code, out, err = self.env.run([POSTINOD, "-c", "x", "extra"])
        self.assertEqual(code, EX_USAGE, out + err)
        self.assertIn("usage: postinod", err)
        code, out, err = self.env.run([POSTINOD, "--no-such-option"])
        self.assertEqual(code, EX_USAGE, out + err)


class CheckConfig(harness.TestCase):
    """postinod -t: exit 0 and "valid", or 78 naming file, line and key."""

    def check(self, code=EX_CONFIG, conf=None):
        code_got, out, err = self.env.postinod("-t", conf=conf)
        self.assertEqual(code_got, code, f"stdout:\n{out}\nstderr:\n{err}")
        return out, err

    def refused(self, fragment, conf=None):
        out, err = self.check(EX_CONFIG, conf=conf)
        self.assertIn("postinod: " + fragment, err)
        self.assertNotIn("is valid", out)
        # -t only looks: no state directory appears.
        self.assertFalse(os.path.exists(self.env.state_dir))
        return err

    def test_good_config(self):
        env = self.env
        env.write_config()
        env.write_module("sample", {"forbidden": "banana", "greeting": "hi",
                                    "tick_ms": "100", "enabled": "no"})
        out, err = self.check(0)
        self.assertEqual(out, "postinod: configuration %s is valid "
                         "(1 modules)\n" % env.conf, err)
        self.assertFalse(os.path.exists(env.state_dir),
                         "-t must not create the state directory")

    def test_good_config_without_modules(self):
        env = self.env
        env.write_config()
        out, err = self.check(0)
        self.assertIn("is valid (0 modules)", out)

    def test_check_does_not_run_init(self):
        # The init_fails module would refuse to start; -t only dlopens
        # and checks it.
        env = self.env
        env.write_config(modules_dir=INIT_FAILS_DIR)
        env.write_module("sample")
        out, err = self.check(0)
        self.assertIn("is valid (1 modules)", out)
        self.assertNotIn("init fails on purpose", err)

    def test_unknown_server_key(self):
        env = self.env
        env.write_config(server={"colour": "blue"})
        line = harness.line_of(env.conf, "colour")
        self.refused(f"{env.conf}:{line}: [server] unknown key 'colour'")

    def test_bad_server_value(self):
        env = self.env
        env.write_config(server={"log_level": "loud"})
        line = harness.line_of(env.conf, "log_level")
        self.refused(f"{env.conf}:{line}: [server] log_level: 'loud' is not "
                     "one of error, warning, info, debug")

    def test_bad_number_in_module_section(self):
        env = self.env
        env.write_config()
        mod = env.write_module("sample", {"greeting": "hi",
                                          "tick_ms": "fast"})
        line = harness.line_of(mod, "tick_ms")
        self.refused(f"{mod}:{line}: [sample] tick_ms: 'fast' is not a "
                     "whole number")

    def test_bad_boolean_in_module_section(self):
        env = self.env
        env.write_config()
        mod = env.write_module("sample", {"enabled": "maybe"})
        line = harness.line_of(mod, "enabled")
        self.refused(f"{mod}:{line}: [sample] enabled: 'maybe' is not a "
                     "boolean")

    def test_unknown_key_in_module_section(self):
        env = self.env
        env.write_config()
        mod = env.write_module("sample", {"greeting": "hi", "colour": "red"})
        line = harness.line_of(mod, "colour")
        self.refused(f"{mod}:{line}: [sample] unknown key 'colour'")

    def test_unknown_section(self):
        env = self.env
        env.write_config(extra="\n[imaginary]\nkey = value\n")
        line = harness.line_of(env.conf, "[imaginary]")
        self.refused(f"{env.conf}:{line}: unknown section [imaginary]: not a "
                     "core section and no modules.d file loads a module "
                     "named 'imaginary'")

    def test_duplicate_key(self):
        env = self.env
        env.write_config(extra="[tls]\npriority = NORMAL\npriority = SECURE\n")
        first = harness.line_of(env.conf, "priority = NORMAL")
        second = harness.line_of(env.conf, "priority = SECURE")
        self.refused(f"{env.conf}:{second}: [tls] duplicate key 'priority' "
                     f"(first set at line {first})")

    def test_missing_main_file(self):
        env = self.env
        missing = env.path("nowhere", "postino.conf")
        self.refused(f"{missing}: cannot open: No such file or directory",
                     conf=missing)

    def test_missing_modules_conf_dir(self):
        env = self.env
        missing = env.path("no-modules.d")
        env.write_config(server={"modules_conf_dir": missing})
        line = harness.line_of(env.conf, "modules_conf_dir")
        self.refused(f"{env.conf}:{line}: [server] modules_conf_dir: cannot "
                     f"read '{missing}': No such file or directory")

    def test_module_file_missing(self):
        env = self.env
        empty = env.path("empty-modules")
        os.mkdir(empty)
        env.write_config(modules_dir=empty)
        mod = env.write_module("sample")
        err = self.refused(f"{mod}: module sample: cannot load "
                           f"{empty}/sample.so: ")
        self.assertIn("No such file or directory", err)

    def test_module_name_mismatch(self):
        # other.so is the sample module: it calls itself 'sample'.
        env = self.env
        mods = env.path("mods")
        os.mkdir(mods)
        os.symlink(os.path.join(SAMPLE_DIR, "sample.so"),
                   os.path.join(mods, "other.so"))
        env.write_config(modules_dir=mods)
        mod = env.write_module("other")
        self.refused(f"{mod}: module other: {mods}/other.so calls itself "
                     "'sample', not 'other'")

    def test_module_loaded_twice(self):
        env = self.env
        env.write_config()
        first = env.write_module("sample", filename="10-sample.conf")
        second = env.write_module("sample", filename="20-again.conf")
        line = harness.line_of(second, "load")
        self.refused(f"{second}:{line}: [module] load: module 'sample' is "
                     f"already loaded by {first}:2")

    def test_modules_d_file_without_module_section(self):
        env = self.env
        env.write_config()
        path = os.path.join(env.modules_conf_dir, "empty.conf")
        with open(path, "w") as f:
            f.write("# nothing\n")
        self.refused(f"{path}: no [module] section")

    def test_broken_configs_also_refuse_to_start(self):
        """Not only -t: starting with each of these exits 78 with the same
        message, before touching the state directory."""
        env = self.env
        env.write_config(server={"colour": "blue"})
        line = harness.line_of(env.conf, "colour")
        code, out, err = env.postinod()
        self.assertEqual(code, EX_CONFIG, out + err)
        self.assertIn(f"postinod: {env.conf}:{line}: [server] unknown key "
                      "'colour'", err)
        self.assertFalse(os.path.exists(env.state_dir))

        env.write_config()
        mod = env.write_module("sample", {"tick_ms": "-"})
        line = harness.line_of(mod, "tick_ms")
        code, out, err = env.postinod()
        self.assertEqual(code, EX_CONFIG, out + err)
        self.assertIn(f"startup refused: {mod}:{line}: [sample] tick_ms: "
                      "'-' is not a whole number", err)
        self.assertNotIn("postinod ready", err)


class RefusedStart(harness.TestCase):

    def test_module_init_fails(self):
        env = self.env
        env.write_config(modules_dir=INIT_FAILS_DIR)
        mod = env.write_module("sample", {"tick_ms": "5"})
        code, out, err = env.postinod()
        self.assertEqual(code, EX_CONFIG, out + err)
        self.assertRegex(err, log_line_re(
            f"error core: startup refused: {mod}: module sample: init "
            f"failed: {EPERM_TEXT}"))
        self.assertRegex(err, log_line_re("error sample: init fails on "
                                          "purpose"))
        self.assertNotIn("postinod ready", err)
        # The timer the module started before failing never ran.
        self.assertNotIn("first tick", err)

    def test_module_file_missing(self):
        env = self.env
        empty = env.path("empty-modules")
        os.mkdir(empty)
        env.write_config(modules_dir=empty)
        mod = env.write_module("sample")
        code, out, err = env.postinod()
        self.assertEqual(code, EX_CONFIG, out + err)
        self.assertIn(f"error core: startup refused: {mod}: module sample: "
                      f"cannot load {empty}/sample.so: ", err)


class Reload(harness.TestCase):

    def started(self, settings=None):
        env = self.env
        env.setup(settings if settings is not None else
                  {"tick_ms": "10", "greeting": "first"})
        # The CLI reads the configuration too: while the daemon's copy is
        # broken on purpose the tests talk to it through a good copy.
        self.good_module = env.path("good-sample.conf")
        shutil.copy(os.path.join(env.modules_conf_dir, "sample.conf"),
                    self.good_module)
        good_dir = env.path("good-modules.d")
        shutil.copytree(env.modules_conf_dir, good_dir)
        self.good_conf = env.path("good.conf")
        with open(env.conf) as f:
            text = f.read()
        with open(self.good_conf, "w") as f:
            f.write(text.replace(env.modules_conf_dir, good_dir))
        # The daemon's own copy, to restore after breaking it.
        self.main_conf = env.path("main.conf.orig")
        shutil.copy(env.conf, self.main_conf)
        return env.start()

    def ticks(self):
        r = self.env.cli("sample", "get", "ticks", conf=self.good_conf)
        if r.code == EX_NOUSER:
            return 0
        self.assertEqual(r.code, 0, repr(r))
        return int(r.out.strip())

    def ticks_beyond(self, value):
        return self.env.poll(lambda: self.ticks() > value and self.ticks(),
                             f"ticks beyond {value}")

    def test_reload_good_config(self):
        d = self.started()
        since = d.mark()
        line = d.reload()
        self.assertRegex(line, log_line_re(
            f"info core: reloaded version={VERSION} modules=1 names=sample "
            "listeners=0"))
        self.assertIn(f"info core: SIGHUP: reloading {self.env.conf}",
                      d.log()[since:])
        d.stop()

    def test_broken_main_config_refused_then_fixed(self):
        env = self.env
        d = self.started()
        self.ticks_beyond(0)
        env.write_config(server={"colour": "blue"})
        line = harness.line_of(env.conf, "colour")
        refused = d.reload(expect="reload refused")
        self.assertRegex(refused, log_line_re(
            "error core: reload refused, keeping the running "
            f"configuration: {env.conf}:{line}: [server] unknown key "
            "'colour'"))
        # Still alive, still running the old modules and their timers.
        self.assertTrue(d.running())
        self.ticks_beyond(self.ticks())
        self.assertEqual(env.cli("domain", "list").code, EX_CONFIG)
        shutil.copy(self.main_conf, env.conf)
        d.reload(expect="info core: reloaded version=")
        self.assertEqual(env.cli_ok("domain", "list").out, "example.test\n")
        self.ticks_beyond(self.ticks())
        d.stop()

    def test_broken_module_config_refused(self):
        env = self.env
        d = self.started()
        mod = env.write_module("sample", {"tick_ms": "soon"})
        line = harness.line_of(mod, "tick_ms")
        refused = d.reload(expect="reload refused")
        self.assertIn("reload refused, keeping the running configuration: "
                      f"{mod}:{line}: [sample] tick_ms: 'soon' is not a "
                      "whole number", refused)
        self.ticks_beyond(self.ticks())
        shutil.copy(self.good_module, mod)
        d.reload(expect="info core: reloaded version=")
        d.stop()

    def test_module_init_failure_refused(self):
        env = self.env
        d = self.started()
        env.write_config(modules_dir=INIT_FAILS_DIR)
        mod = os.path.join(env.modules_conf_dir, "sample.conf")
        refused = d.reload(expect="reload refused")
        self.assertIn("reload refused, keeping the running configuration: "
                      f"{mod}: module sample: init failed: {EPERM_TEXT}",
                      refused)
        # The running module (not the failed one) still ticks and still
        # answers its admin commands.
        self.ticks_beyond(self.ticks())
        shutil.copy(self.main_conf, env.conf)
        d.reload(expect="info core: reloaded version=")
        d.stop()

    def test_reload_removes_then_restores_module(self):
        env = self.env
        d = self.started()
        d.wait_for("info sample: first tick greeting=first")
        env.remove_module("sample")
        since = d.mark()
        line = d.reload(expect="info core: reloaded")
        self.assertRegex(line, log_line_re(
            f"info core: reloaded version={VERSION} modules=0 names=- "
            "listeners=0"))
        # The old instance was finalised.
        d.wait_for("info sample: fini ticks=", since=since)
        env.cli_fails(EX_USAGE, "unknown command 'sample'",
                      "sample", "get", "ticks")
        # Back again with another greeting: a new instance, a new timer.
        env.write_module("sample", {"tick_ms": "10", "greeting": "second"})
        since = d.mark()
        line = d.reload(expect="info core: reloaded")
        self.assertRegex(line, log_line_re(READY.replace("postinod ready",
                                                         "reloaded")))
        d.wait_for("info sample: first tick greeting=second", since=since)
        d.stop()


class Timer(harness.TestCase):

    def test_ticks_reach_the_database(self):
        env = self.env
        env.setup({"tick_ms": "20", "greeting": "hello from the tests"})
        self.assertEqual(env.sample_ticks(), 0)
        d = env.start()
        d.wait_for("info sample: first tick greeting=hello from the tests")
        first = env.poll(env.sample_ticks, "ticks in the database")
        later = env.poll(lambda: env.sample_ticks() > first and
                         env.sample_ticks(), "more ticks")
        self.assertGreater(later, first)
        log = d.stop()
        m = re.search(r"info sample: fini ticks=(\d+)$", log, re.M)
        self.assertIsNotNone(m, log)
        final = int(m.group(1))
        self.assertGreaterEqual(final, later)
        # SIGTERM drains the store: the last tick's write is committed.
        self.assertEqual(env.sample_ticks(), final)
        self.assertEqual(log.count("first tick"), 1, log)

    def test_no_timer_without_tick_ms(self):
        env = self.env
        env.setup({"tick_ms": "0"})
        d = env.start()
        # A reload is a full round trip through the loop after start.
        d.reload()
        d.stop()
        self.assertNotIn("first tick", d.log())
        self.assertEqual(env.sample_ticks(), 0)


@unittest.skipUnless(os.geteuid() == 0, "needs root")
class Privileges(harness.TestCase):

    def private_modules(self):
        """A copy of the sample module inside the test's directory, so the
        unprivileged daemon can read it whatever the build dir allows."""
        env = self.env
        os.chmod(env.root, 0o755)
        mods = env.path("mods")
        os.mkdir(mods)
        shutil.copy(os.path.join(SAMPLE_DIR, "sample.so"), mods)
        os.chmod(os.path.join(mods, "sample.so"), 0o755)
        return mods

    def test_drops_to_nobody(self):
        env = self.env
        nobody = pwd.getpwnam("nobody")
        env.write_config(modules_dir=self.private_modules(),
                         server={"user": "nobody"})
        env.write_module("sample", {"tick_ms": "20"})
        d = env.start()
        self.assertRegex(d.log(), log_line_re(
            f"info core: running as user=nobody uid={nobody.pw_uid}"))
        uid = str(nobody.pw_uid)
        gid = str(nobody.pw_gid)
        self.assertEqual(d.proc_status("Uid"), [uid] * 4)
        self.assertEqual(d.proc_status("Gid"), [gid] * 4)
        self.assertEqual(d.proc_status("Groups"), [])
        # The database it created is its own, and it can write to it.
        self.assertEqual(os.stat(env.db_path).st_uid, nobody.pw_uid)
        self.assertEqual(os.stat(env.state_dir).st_uid, nobody.pw_uid)
        env.cli_ok("domain", "add", "example.test")
        env.poll(env.sample_ticks, "ticks written as nobody")
        # SIGHUP re-reads the config as nobody.
        d.reload()
        d.stop()

    def test_reload_after_drop_trusts_only_root_modules(self):
        """After the drop the server's real uid is nobody's; a module
        nobody owns must still be refused on SIGHUP."""
        env = self.env
        mods = self.private_modules()
        env.write_config(modules_dir=mods, server={"user": "nobody"})
        env.write_module("sample")
        d = env.start()
        so = os.path.join(mods, "sample.so")
        os.chown(so, pwd.getpwnam("nobody").pw_uid, -1)
        line = d.reload(expect="reload refused")
        uid = pwd.getpwnam("nobody").pw_uid
        self.assertTrue(line.endswith(
            f"error core: reload refused, keeping the running "
            f"configuration: {env.modules_conf_dir}/sample.conf: module "
            f"sample: refusing {so}: {so} is owned by uid {uid}, not by "
            f"root"), line)
        os.chown(so, 0, -1)
        d.reload()
        d.stop()

    def test_database_created_as_root_is_handed_over(self):
        """An operator who ran --init (or an older postinod) as root before
        creating the service user must not be locked out of the data."""
        env = self.env
        env.write_config(modules_dir=self.private_modules(),
                         server={"user": "root"})
        env.write_module("sample", {"tick_ms": "20"})
        env.init()
        env.cli_ok("domain", "add", "example.test")
        self.assertEqual(os.stat(env.db_path).st_uid, 0)
        nobody = pwd.getpwnam("nobody")
        env.write_config(modules_dir=env.path("mods"),
                         server={"user": "nobody"})
        d = env.start()
        for name in os.listdir(env.state_dir):
            if name.startswith("postino.db"):
                self.assertEqual(
                    os.stat(os.path.join(env.state_dir, name)).st_uid,
                    nobody.pw_uid, name)
        env.poll(env.sample_ticks, "ticks written as nobody")
        env.cli_ok("domain", "add", "second.test")
        d.stop()

    def test_unknown_user_stays_root(self):
        env = self.env
        env.write_config(server={"user": "postino-no-such-user"})
        env.write_module("sample")
        d = env.start()
        self.assertRegex(d.log(), log_line_re(
            "warning core: user 'postino-no-such-user' does not exist; "
            "staying root (set [server] user to an existing unprivileged "
            "user)"))
        self.assertNotIn("running as user=", d.log())
        self.assertEqual(d.proc_status("Uid"), ["0"] * 4)
        d.stop()


def adapt_dev_conf(text, overrides):
    """etc/postino.dev.conf with [server] keys replaced by overrides (and
    added where missing); other sections kept as they are."""
    out = []
    section = None
    seen = set()

    def flush_server():
        for key, value in overrides.items():
            if key not in seen:
                out.append(f"{key} = {value}")
        seen.update(overrides)

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            if section == "server":
                flush_server()
            section = stripped[1:].split("]")[0].strip().split()[0]
        elif section == "server" and "=" in stripped and \
                not stripped.startswith(("#", ";")):
            key = stripped.split("=", 1)[0].strip()
            if key in overrides:
                if key not in seen:
                    out.append(f"{key} = {overrides[key]}")
                    seen.add(key)
                continue
        out.append(line)
    if section == "server":
        flush_server()
    if "server" not in {l.strip()[1:-1] for l in out if l.strip()[:1] == "["}:
        out = ["[server]"] + [f"{k} = {v}" for k, v in overrides.items()] \
            + out
    return "\n".join(out) + "\n"


DEFAULT_DEV_CONF = """\
[server]
hostname = localhost
state_dir = var

[tls]
cert = var/tls/cert.pem
key = var/tls/key.pem
"""


class DevSetup(harness.TestCase):
    """`make run`: core/scripts/dev-setup BUILD CONF, then postinod with
    that CONF, every path relative to the current directory."""

    def test_dev_setup_then_run(self):
        env = self.env
        dev_conf = os.path.join(SOURCE_ROOT, "etc", "postino.dev.conf")
        text = DEFAULT_DEV_CONF
        if os.path.exists(dev_conf):
            with open(dev_conf) as f:
                text = f.read()
        os.symlink(SAMPLE_DIR, env.path("mods"))
        # The dev config's other relative paths (the quota warning
        # templates) point into the source tree's etc/.
        os.symlink(os.path.join(SOURCE_ROOT, "etc"), env.path("etc"))
        conf_text = adapt_dev_conf(text, {
            "state_dir": "var",
            "modules_dir": "mods",
            "modules_conf_dir": "modules.d",
            "log_level": "debug",
            "log_target": "stderr",
            # Never drop privileges here: the files stay the test's.
            "user": pwd.getpwuid(os.geteuid()).pw_name,
        })
        with open(env.path("postino.dev.conf"), "w") as f:
            f.write(conf_text)
        env.write_module("sample")
        script = os.path.join(SOURCE_ROOT, "core", "scripts", "dev-setup")
        argv = ["sh", script, BUILD_ROOT, "postino.dev.conf"]

        code, out, err = env.run(argv, cwd=env.root)
        self.assertEqual(code, 0, f"stdout:\n{out}\nstderr:\n{err}")
        self.assertTrue(os.path.isfile(env.path("var", "tls", "cert.pem")))
        self.assertTrue(os.path.isfile(env.path("var", "tls", "key.pem")))
        self.assertEqual(
            os.stat(env.path("var", "tls", "key.pem")).st_mode & 0o077, 0)
        self.assertTrue(os.path.isfile(env.path("var", "postino.db")))
        lines = re.findall(r"^password for demo@example\.test: (.*)$", out,
                           re.M)
        self.assertEqual(len(lines), 1, out)
        password = lines[0]
        self.assertRegex(password, r"^[A-Za-z2-9]{16}$")
        self.assertEqual(out.count(password), 1, out)
        self.assertNotIn(password, err)
        with open(env.path("var", "tls", "cert.pem"), "rb") as f:
            cert = f.read()
        self.assertIn(b"-----BEGIN CERTIFICATE-----", cert)

        conf = "postino.dev.conf"
        r = env.cli_ok("user", "show", "demo@example.test", conf=conf,
                       cwd=env.root)
        self.assertIn("address: demo@example.test\n", r.out)
        self.assertEqual(env.cli_ok("domain", "list", conf=conf,
                                    cwd=env.root).out, "example.test\n")
        stored = env.query("SELECT password_hash FROM accounts WHERE "
                           "address = 'demo@example.test'",
                           path=env.path("var", "postino.db"))[0][0]
        self.assertTrue(stored.startswith("$y$"), stored)
        self.assertIn(harness.crypt_verify(password, stored), (True, None))
        with open(env.path("var", "postino.db"), "rb") as f:
            self.assertNotIn(password.encode(), f.read())

        # Second run: nothing created again, no password shown.
        code, out2, err2 = env.run(argv, cwd=env.root)
        self.assertEqual(code, 0, f"stdout:\n{out2}\nstderr:\n{err2}")
        self.assertNotIn("password for", out2)
        self.assertNotIn(password, out2 + err2)
        with open(env.path("var", "tls", "cert.pem"), "rb") as f:
            self.assertEqual(f.read(), cert, "certificate regenerated")
        self.assertEqual(env.query(
            "SELECT count(*) FROM accounts",
            path=env.path("var", "postino.db")), [(1,)])

        # And the daemon runs with it, from the same directory.
        d = env.start(conf=conf, cwd=env.root)
        env.cli_ok("sample", "put", "k", "v", conf=conf, cwd=env.root)
        d.stop()


class Backup(harness.TestCase):

    def test_backup_while_writing(self):
        env = self.env
        env.setup({"tick_ms": "5"})
        env.cli_ok("user", "add", "first@example.test", "--password-stdin",
                   input="first-Passw0rd\n")
        d = env.start()
        env.poll(env.sample_ticks, "first ticks")

        lock = threading.Lock()
        users = ["first@example.test"]   # committed (CLI returned 0)
        puts = []
        errors = []
        stop = threading.Event()

        def writer():
            i = 0
            while not stop.is_set() and i < 2000:
                i += 1
                address = f"u{i}@example.test"
                steps = [
                    (["user", "add", address, "--password-stdin"],
                     f"Passw0rd-{i}\n", lambda a=address: users.append(a)),
                    (["sample", "put", f"k{i}", f"v{i}"], None,
                     lambda i=i: puts.append(f"k{i}")),
                ]
                for args, stdin, record in steps:
                    try:
                        p = subprocess.run(
                            [POSTINO, "-c", env.conf] + args,
                            input=stdin or "", capture_output=True,
                            text=True, timeout=60, env=harness.base_env())
                    except subprocess.TimeoutExpired:
                        errors.append(f"{args}: timed out")
                        return
                    if p.returncode != 0:
                        errors.append(f"{args}: exit {p.returncode}: "
                                      f"{p.stderr}")
                        return
                    with lock:
                        record()

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()

        def finish():
            stop.set()
            thread.join(timeout=120)
        self.addCleanup(finish)

        def count():
            with lock:
                return len(users)

        live_version = env.query("PRAGMA user_version")[0][0]
        for n in range(4):
            # Writes must be happening around each backup.
            before = count()
            env.poll(lambda: errors or count() > before + 1,
                     "more users committed")
            self.assertEqual(errors, [])
            with lock:
                want_users = list(users)
                want_puts = list(puts)
            target = env.path(f"backup-{n}.db")
            r = env.cli_ok("backup", target)
            self.assertEqual(r.out, f"backup written to {target}\n")
            with sqlite3.connect(target) as b:
                self.assertEqual(b.execute("PRAGMA integrity_check")
                                 .fetchall(), [("ok",)])
                self.assertEqual(b.execute("PRAGMA foreign_key_check")
                                 .fetchall(), [])
                self.assertEqual(b.execute("PRAGMA user_version")
                                 .fetchall(), [(live_version,)])
                self.assertEqual(b.execute("SELECT name FROM domains")
                                 .fetchall(), [("example.test",)])
                have = {a for (a,) in b.execute(
                    "SELECT address FROM accounts")}
                missing = set(want_users) - have
                self.assertEqual(missing, set(), f"backup {n}")
                hashes = [h for (h,) in b.execute(
                    "SELECT password_hash FROM accounts")]
                self.assertTrue(all(h.startswith("$y$") for h in hashes))
                # Every account has its five mailboxes: no torn account.
                torn = b.execute(
                    "SELECT a.address, count(m.id) FROM accounts a LEFT "
                    "JOIN mailboxes m ON m.account = a.id GROUP BY a.id "
                    "HAVING count(m.id) != 5").fetchall()
                self.assertEqual(torn, [], f"backup {n}")
                keys = {k for (k,) in b.execute(
                    "SELECT key FROM module_state WHERE module = 'sample'")}
                self.assertEqual(set(want_puts) - keys, set(), f"backup {n}")
                self.assertIn("ticks", keys)
            b.close()
        stop.set()
        thread.join(timeout=120)
        self.assertFalse(thread.is_alive())
        self.assertEqual(errors, [])
        d.stop()

    def test_backup_refuses_existing_file(self):
        env = self.env
        env.setup()
        target = env.path("backup.db")
        env.cli_ok("backup", target)
        with open(target, "rb") as f:
            first = f.read()
        env.cli_ok("domain", "add", "second.test")
        env.cli_fails(EX_CANTCREAT, f"postino: {target} already exists",
                      "backup", target)
        with open(target, "rb") as f:
            self.assertEqual(f.read(), first)
        other = env.path("not-a-db")
        with open(other, "w") as f:
            f.write("precious\n")
        env.cli_fails(EX_CANTCREAT, "already exists", "backup", other)
        with open(other) as f:
            self.assertEqual(f.read(), "precious\n")

    def test_backup_without_database(self):
        env = self.env
        env.write_config()
        os.mkdir(env.state_dir)
        target = env.path("backup.db")
        env.cli_fails(EX_NOINPUT, "missing database", "backup", target)
        self.assertFalse(os.path.exists(target))
        env.cli_fails(EX_USAGE, "usage: postino backup FILE", "backup")


if __name__ == "__main__":
    unittest.main(verbosity=2)
