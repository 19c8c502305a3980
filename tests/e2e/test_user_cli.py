"""End-to-end: `sluice user add|passwd|remove|list` on a users file, run as the real binary.

Passwords go in on stdin (--password-stdin) or on a terminal (a pty: echo off, asked twice); the
file then holds only crypt(3) hashes, checked here with the system's libcrypt (not sluice's code),
and has mode 0600. A hand-written file with a bad line is refused naming the line; an empty
password and two different terminal passwords are refused and change nothing."""
import ctypes
import os
import pty
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

_libcrypt = ctypes.CDLL("libcrypt.so.1")
_libcrypt.crypt.restype = ctypes.c_char_p
_libcrypt.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]


def crypt_matches(password, hash_text):
    """What any crypt(3) user (Dovecot's passwd-file, PAM) would decide for this password."""
    result = _libcrypt.crypt(password.encode(), hash_text.encode())
    return result is not None and result.decode() == hash_text


class UserCliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-user-")
        harness._made_dirs.append(self.dir)
        self.file = os.path.join(self.dir, "users")

    def user(self, *args, password=None, file=True):
        """Runs `sluice user` without a controlling terminal (a new session), so that a command
        that would ask on the terminal fails instead of waiting for someone at this one."""
        command = [harness.SLUICE, "user", *args] + (["--file", self.file] if file else [])
        return subprocess.run(command, input=None if password is None else password.encode(),
                              stdin=None if password is not None else subprocess.DEVNULL,
                              capture_output=True, timeout=60, start_new_session=True)

    def add(self, name, password, *options):
        r = self.user("add", name, "--password-stdin", *options, password=password + "\n")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r

    def entries(self):
        """name -> the fields of its line, as the file holds them."""
        out = {}
        with open(self.file) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    name, hash_text, senders, options = line.rstrip("\n").split(":")
                    out[name] = (hash_text, senders, options)
        return out

    def listing(self):
        r = self.user("list")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout.decode()

    def file_text(self):
        with open(self.file) as f:
            return f.read()

    # --- add, passwd, remove, list -----------------------------------------------------------

    def test_add_stores_a_hash_the_system_crypt_accepts_in_a_0600_file(self):
        r = self.add("scanner1", "Tr0ub4dor&3", "--sender", "*@contoso.com", "--sender", "app@contoso.com",
                     "--no-relay", "--rate", "100/1h", "--rewrite", "*@printer.local=scanner@contoso.com")
        self.assertIn("added scanner1", r.stderr.decode())
        self.assertEqual(stat.S_IMODE(os.stat(self.file).st_mode), 0o600)
        hash_text, senders, options = self.entries()["scanner1"]
        self.assertTrue(hash_text.startswith("$y$"), hash_text)
        self.assertTrue(crypt_matches("Tr0ub4dor&3", hash_text))
        self.assertFalse(crypt_matches("Tr0ub4dor&4", hash_text))
        self.assertEqual(senders, "*@contoso.com,app@contoso.com")
        self.assertEqual(options.split(), ["relay=no", "rate=100/1h", "rewrite=*@printer.local>scanner@contoso.com"])
        self.assertNotIn("Tr0ub4dor", self.file_text())

    def test_list_shows_everything_but_the_password_and_its_hash(self):
        self.add("scanner1", "s3cret-scan", "--sender", "*@contoso.com", "--no-relay", "--rate", "10/90m",
                 "--rewrite", "root@localhost=ops@contoso.com")
        self.add("app@contoso.com", "s3cret-app")
        out = self.listing()
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "SENDERS", "RELAY", "RATE", "REWRITES"])
        self.assertEqual(lines[1].split(), ["scanner1", "*@contoso.com", "no", "10/90m", "root@localhost=ops@contoso.com"])
        self.assertEqual(lines[2].split(), ["app@contoso.com", "-", "yes", "-", "-"])
        self.assertNotIn("s3cret", out)
        self.assertNotIn("$y$", out)
        for hash_text, _, _ in self.entries().values():
            self.assertNotIn(hash_text, out)

    def test_passwd_changes_only_the_hash(self):
        self.add("scanner1", "first-pass", "--sender", "*@contoso.com", "--rate", "5/1m", "--no-relay")
        before = self.entries()["scanner1"]
        r = self.user("passwd", "scanner1", "--password-stdin", password="second-pass\n")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        after = self.entries()["scanner1"]
        self.assertTrue(crypt_matches("second-pass", after[0]))
        self.assertFalse(crypt_matches("first-pass", after[0]))
        self.assertEqual(after[1:], before[1:])
        self.assertEqual(stat.S_IMODE(os.stat(self.file).st_mode), 0o600)

    def test_passwd_keeps_hand_written_users_and_reads_openssl_hashes(self):
        legacy = harness.crypt_hash("from-openssl")
        with open(self.file, "w") as f:
            f.write(f"# written by hand\nmfp:{legacy}:*@contoso.com:relay=no\n")
        os.chmod(self.file, 0o600)
        self.assertIn("mfp", self.listing())
        self.add("other", "other-pass")
        self.assertEqual(self.entries()["mfp"], (legacy, "*@contoso.com", "relay=no"))

    def test_add_of_an_existing_user_fails_unless_replace(self):
        self.add("scanner1", "first-pass", "--sender", "*@contoso.com")
        r = self.user("add", "scanner1", "--password-stdin", password="second-pass\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("already in", r.stderr.decode())
        self.assertIn("sluice user passwd scanner1", r.stderr.decode())
        self.assertTrue(crypt_matches("first-pass", self.entries()["scanner1"][0]))
        r = self.user("add", "scanner1", "--password-stdin", "--replace", password="second-pass\n")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        hash_text, senders, _ = self.entries()["scanner1"]
        self.assertTrue(crypt_matches("second-pass", hash_text))
        self.assertEqual(senders, "")  # --replace sets everything anew

    def test_remove_and_unknown_users(self):
        self.add("a", "pass-a")
        self.add("b", "pass-b")
        r = self.user("remove", "a")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(list(self.entries()), ["b"])
        for command in (["remove", "a"], ["passwd", "a", "--password-stdin"]):
            r = self.user(*command, password="x\n")
            self.assertEqual(r.returncode, 1, command)
            self.assertIn(f"no user a in {self.file}", r.stderr.decode())
        self.assertEqual(list(self.entries()), ["b"])

    def test_add_warns_about_a_file_others_can_read_and_fixes_its_mode(self):
        self.add("a", "pass-a")
        os.chmod(self.file, 0o644)
        r = self.add("b", "pass-b")
        self.assertIn("readable by group or others (mode 0644)", r.stderr.decode())
        self.assertEqual(stat.S_IMODE(os.stat(self.file).st_mode), 0o600)
        r = self.add("c", "pass-c")
        self.assertNotIn("warning", r.stderr.decode())

    # --- refusals ------------------------------------------------------------------------------

    def test_bad_line_in_the_file_is_named_by_line_number(self):
        good = harness.crypt_hash("pw")
        with open(self.file, "w") as f:
            f.write(f"# users\nok:{good}::\nbroken:{good}:*@contoso.com:relay=perhaps\n")
        os.chmod(self.file, 0o600)
        for command in (["list"], ["add", "new", "--password-stdin"], ["remove", "ok"]):
            r = self.user(*command, password="pw\n")
            self.assertEqual(r.returncode, 1, command)
            err = r.stderr.decode()
            self.assertEqual(err.count("\n"), 1, err)
            self.assertIn(f"{self.file}: line 3: relay=\"perhaps\"", err)
        self.assertIn("broken", self.file_text())  # untouched

    def test_empty_password_is_refused(self):
        for stdin in ("\n", ""):
            r = self.user("add", "a", "--password-stdin", password=stdin)
            self.assertEqual(r.returncode, 1, stdin)
            self.assertTrue("empty password" in r.stderr.decode() or "no password" in r.stderr.decode(),
                            r.stderr.decode())
        self.assertFalse(os.path.exists(self.file))

    def test_without_a_terminal_it_asks_for_password_stdin(self):
        r = self.user("add", "a")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--password-stdin", r.stderr.decode())
        self.assertFalse(os.path.exists(self.file))

    def test_bad_options_are_usage_errors_before_the_password(self):
        for options, says in ((["--rate", "100"], "--rate"), (["--rate", "0/1h"], "at least 1"),
                              (["--sender", "contoso.com"], "--sender"),
                              (["--rewrite", "*@printer.local"], "--rewrite"),
                              (["--rewrite", "*@printer.local=*@contoso.com"], "without '*'")):
            r = self.user("add", "a", *options)  # no password given: it must not be asked for
            self.assertEqual(r.returncode, 2, options)
            self.assertIn(says, r.stderr.decode())
        for name in ("bad name", "a:b", "#a"):
            r = self.user("add", name, "--password-stdin", password="pw\n")
            self.assertEqual(r.returncode, 2, name)
        r = self.user("add", "a", "--password", "pw")
        self.assertEqual(r.returncode, 2)  # there is no way to give it on the command line
        self.assertFalse(os.path.exists(self.file))

    def test_file_comes_from_the_configuration_or_must_be_given(self):
        r = self.user("list", file=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--file", r.stderr.decode())
        config = os.path.join(self.dir, "sluice.toml")
        with open(config, "w") as f:
            f.write('hostname = "mx.sluice.test"\n')
        r = self.user("list", "-c", config, file=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("sets no users_file", r.stderr.decode())

    # --- the terminal --------------------------------------------------------------------------

    def run_on_terminal(self, args, answers):
        """Runs sluice with a pty as its controlling terminal; types each answer after a prompt.
        Returns (exit status, everything the terminal showed)."""
        pid, master = pty.fork()
        if pid == 0:  # the child: becomes sluice, or ends here without running the tests on
            try:
                os.execv(harness.SLUICE, [harness.SLUICE, "user", *args, "--file", self.file])
            finally:
                os._exit(127)
        shown = b""
        pending = list(answers)
        try:
            for chunk in harness.pty_chunks(master):
                shown += chunk
                # One answer per prompt seen, each only once its prompt is there.
                prompts = shown.count(b"password for ") + shown.count(b"Repeat the password:")
                if pending and prompts > len(answers) - len(pending):
                    os.write(master, pending.pop(0).encode() + b"\n")
        finally:
            os.close(master)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")

    def test_terminal_password_asked_twice_without_echo(self):
        code, shown = self.run_on_terminal(["add", "scanner1"], ["Pty-Pass-1", "Pty-Pass-1"])
        self.assertEqual(code, 0, shown)
        self.assertIn("New password for scanner1:", shown)
        self.assertIn("Repeat the password:", shown)
        self.assertNotIn("Pty-Pass-1", shown)  # echo was off
        self.assertTrue(crypt_matches("Pty-Pass-1", self.entries()["scanner1"][0]))

    def test_mismatching_terminal_passwords_are_refused(self):
        self.add("scanner1", "old-pass")
        before = self.file_text()
        code, shown = self.run_on_terminal(["passwd", "scanner1"], ["new-pass-1", "new-pass-2"])
        self.assertEqual(code, 1, shown)
        self.assertIn("the two passwords differ", shown)
        self.assertEqual(self.file_text(), before)


if __name__ == "__main__":
    unittest.main()
