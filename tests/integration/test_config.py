#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
test_config.py - the configuration files (vigie(1), CONFIGURATION FILE; cli/config.c) end to
end: ~/.config/vigie/vigie.conf and --config FILE read by a command, sections, the command line
winning (a list option replaced), --print-config with each value's origin and secrets masked,
errors with file:line (an unknown option in a section, a bad value, an unknown section), an
option of other commands ignored outside a section, --no-config, and the warning on a
world-readable file that holds a secret.

    python3 tests/integration/test_config.py --vigie build/vigie [unittest options]
"""
import os
import subprocess
import tempfile
import unittest
import harness

VIGIE = None


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vg-config-")
        self.home = self.tmp.name
        self.conf_dir = os.path.join(self.home, ".config", "vigie")
        os.makedirs(self.conf_dir)
        self.user = os.path.join(self.conf_dir, "vigie.conf")

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, path, text, mode=0o600):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def vigie(self, *args, extra_env=None):
        # harness sets VIGIE_CONFIG=none for every other test: these test the files themselves.
        env = {k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME", "VIGIE_CONFIG")}
        env["HOME"] = self.home
        env["VIGIE_SPOOL"] = os.path.join(self.home, "default-spool")
        env.update(extra_env or {})
        return subprocess.run([VIGIE] + list(args), env=env, capture_output=True, text=True,
                              timeout=60)

    def test_user_file_sections_and_command_line(self):
        self.write(self.user,
                   "# the probe's network\n"
                   "helper https://th1.example.org/\n"
                   "helper https://th2.example.org/\n"
                   "ca-file /etc/ssl/ca.pem   # our CA\n"
                   "db /var/lib/vigie/v.db\n"
                   "[probe]\n"
                   "parallel 8\n"
                   "[serve]\n"
                   "max-body 4096\n")
        r = self.vigie("probe", "--print-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertIn("# read " + self.user, lines)
        self.assertRegex(r.stdout, r"helper https://th1\.example\.org/ +# .*vigie\.conf:2\n")
        self.assertRegex(r.stdout, r"helper https://th2\.example\.org/ +# .*vigie\.conf:3\n")
        self.assertRegex(r.stdout, r"ca-file /etc/ssl/ca\.pem +# .*vigie\.conf:4\n")
        self.assertRegex(r.stdout, r"parallel 8 +# .*vigie\.conf:7\n")
        # db is serve's, outside a section: ignored by probe; max-body is in [serve].
        self.assertNotIn("db ", r.stdout)
        self.assertNotIn("max-body", r.stdout)
        # The command line wins, a list option replaced as a whole, short options too.
        r = self.vigie("probe", "-p", "3", "--helper", "https://cli.example.org/",
                       "--print-config", "http://example.org/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("th1", r.stdout)
        self.assertNotIn("parallel 8", r.stdout)
        self.assertRegex(r.stdout, r"parallel 3 +# command line\n")
        self.assertRegex(r.stdout, r"helper https://cli\.example\.org/ +# command line\n")
        self.assertRegex(r.stdout, r"ca-file /etc/ssl/ca\.pem +# ")
        r = self.vigie("serve", "--print-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"db /var/lib/vigie/v\.db +# .*:5\n")
        self.assertRegex(r.stdout, r"max-body 4096 +# .*:9\n")
        self.assertNotIn("helper", r.stdout)

    def test_file_reaches_the_parser(self):
        """The file's options are the command's options: upload needs no --collector."""
        spool = os.path.join(self.home, "spool")
        os.mkdir(spool)
        conf = self.write(os.path.join(self.home, "up.conf"),
                          "[upload]\ncollector http://127.0.0.1:9/\nspool %s\n" % spool)
        r = self.vigie("upload", "--config", conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("0 sent", r.stderr)
        self.assertIn(spool, r.stderr)
        r = self.vigie("upload", "--no-config")
        self.assertEqual(r.returncode, 2)
        # The command line beats a bad value of the file: -p is given, parallel 0 never parsed.
        self.write(self.user, "[probe]\nparallel 0\n")
        r = self.vigie("probe", "-p", "2", "--print-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("parallel 0", r.stdout)

    def test_errors_name_file_and_line(self):
        self.write(self.user, "helper https://th.example.org/\n\n[probe]\nno-such-option 1\n")
        r = self.vigie("probe", "http://example.org/")
        self.assertEqual(r.returncode, 2)
        self.assertIn("%s:4: vigie probe has no option --no-such-option" % self.user, r.stderr)
        # A bad value: the message the command line gives, then the line it came from.
        self.write(self.user, "[probe]\nparallel 0\n")
        r = self.vigie("probe", "http://example.org/")
        self.assertEqual(r.returncode, 2)
        cli = self.vigie("probe", "--no-config", "--parallel", "0", "http://example.org/")
        self.assertEqual(cli.returncode, 2)
        self.assertIn(cli.stderr.splitlines()[0], r.stderr)
        self.assertIn("--parallel came from %s:2" % self.user, r.stderr)
        self.write(self.user, "[probe]\nlab yes\n")
        r = self.vigie("probe", "http://example.org/")
        self.assertEqual(r.returncode, 2)
        self.assertIn("%s:2: --lab takes no value" % self.user, r.stderr)
        self.write(self.user, "[prob]\n")
        r = self.vigie("probe", "--print-config")
        self.assertEqual(r.returncode, 2)
        self.assertIn("%s:1: unknown section '[prob]'" % self.user, r.stderr)
        self.write(self.user, "--helper https://x/\n")
        r = self.vigie("probe", "--print-config")
        self.assertEqual(r.returncode, 2)
        self.assertIn("%s:1: expected an option's long name" % self.user, r.stderr)
        self.write(self.user, "lab\n" + "x" * 5000 + "\n")
        r = self.vigie("probe", "--print-config")
        self.assertEqual(r.returncode, 2)
        self.assertIn("%s:2: line longer than" % self.user, r.stderr)
        r = self.vigie("probe", "--config", os.path.join(self.home, "missing.conf"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("missing.conf: No such file or directory", r.stderr)
        # --no-config: the broken file is not read.
        r = self.vigie("probe", "--no-config", "--print-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("# no configuration file read", r.stdout)

    def test_environment_variable(self):
        """VIGIE_CONFIG names a file as --config does, or none ("" or "none") as --no-config;
        the command line wins over it."""
        self.write(self.user, "[probe]\nparallel 3\n")
        other = self.write(os.path.join(self.home, "other.conf"), "[probe]\nparallel 5\n")
        r = self.vigie("probe", "--print-config", extra_env={"VIGIE_CONFIG": other})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("parallel 5", r.stdout)
        self.assertNotIn("parallel 3", r.stdout)
        for off in ("none", ""):
            r = self.vigie("probe", "--print-config", extra_env={"VIGIE_CONFIG": off})
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("# no configuration file read", r.stdout)
        r = self.vigie("probe", "--config", self.user, "--print-config",
                       extra_env={"VIGIE_CONFIG": other})
        self.assertIn("parallel 3", r.stdout)
        r = self.vigie("probe", "--no-config", "--print-config", extra_env={"VIGIE_CONFIG": other})
        self.assertIn("# no configuration file read", r.stdout)
        r = self.vigie("probe", "--print-config",
                       extra_env={"VIGIE_CONFIG": os.path.join(self.home, "missing.conf")})
        self.assertEqual(r.returncode, 2)
        self.assertIn("missing.conf: No such file or directory", r.stderr)

    def test_secrets_masked_and_permissions(self):
        hook = "https://alice:s3cret@hooks.example.org/T0/B0?token=abcdef"
        self.write(self.user, "[serve]\nalert-webhook %s\n" % hook, mode=0o644)
        r = self.vigie("serve", "--print-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("alert-webhook https://alice:****@hooks.example.org/T0/B0?****", r.stdout)
        self.assertNotIn("s3cret", r.stdout)
        self.assertNotIn("abcdef", r.stdout)
        self.assertIn("is readable by every user", r.stderr)
        self.assertIn("line 2", r.stderr)
        os.chmod(self.user, 0o600)
        r = self.vigie("serve", "--print-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("readable by every user", r.stderr)
        # A file anyone may write could run commands (alert-exec): refused.
        os.chmod(self.user, 0o602)
        r = self.vigie("serve", "--print-config")
        self.assertEqual(r.returncode, 2)
        self.assertIn("is writable by every user", r.stderr)


if __name__ == "__main__":
    raise SystemExit(harness.main(globals()))
