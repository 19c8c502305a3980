"""End-to-end: the life of a `sluice serve` process: zero-configuration start (state directory,
generated certificates, default listen addresses), --listen, SIGTERM with idle and busy sessions,
configuration errors (exit 2, one line naming file, key and problem), a busy port, and the
command-line help and errors."""
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

# Run as root (CI), these tests keep root (a warning at start): test_least_privilege drops.
KEEP_ROOT = ("--user", "root") if os.geteuid() == 0 else ()
QUEUED = re.compile(r"^250 2\.6\.0 [0-9A-F]{16} Queued mail for delivery$")


class Serve:
    """`sluice serve` with arbitrary arguments (no generated --config), stderr in a file."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="sluice-life-")
        self.args = args
        self.stderr_path = os.path.join(self.dir, "serve.log")
        self.proc = None

    def start(self, *wait_for, timeout=30):
        """Starts, then waits until every text in `wait_for` is in stderr."""
        with open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen([harness.SLUICE, "serve", *KEEP_ROOT, *self.args], stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.time() + timeout
        while not all(w in self.log() for w in wait_for):
            if self.proc.poll() is not None:
                raise RuntimeError(f"sluice exited with {self.proc.returncode}: {self.log()}")
            if time.time() > deadline:
                self.kill()
                raise RuntimeError(f"sluice did not log {wait_for}: {self.log()}")
            time.sleep(0.05)
        return self

    def log(self):
        with open(self.stderr_path) as f:
            return f.read()

    def terminate(self, timeout=10):
        """SIGTERM; returns the exit status, or None when it did not exit within `timeout`."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        """Kills the process if still running and removes the temporary directory."""
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def run(*args, timeout=30):
    if args[:1] == ("serve",):
        args = ("serve", *KEEP_ROOT, *args[1:])
    return subprocess.run([harness.SLUICE, *args], capture_output=True, text=True, timeout=timeout)


def port_is_free(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def deliver_one(port, mailbox="bob"):
    raw = harness.Raw(port)
    try:
        assert raw.reply()[0] == 220
        assert raw.cmd("EHLO client.test")[0] == 250
        assert raw.cmd("MAIL FROM:<alice@example.org>")[0] == 250
        assert raw.cmd(f"RCPT TO:<{mailbox}@localhost>")[0] == 250
        assert raw.cmd("DATA")[0] == 354
        code, text = raw.cmd("Subject: hi\r\n\r\nhello\r\n.")
        assert QUEUED.match(text), text
        assert raw.cmd("QUIT")[0] == 221
    finally:
        raw.close()


def wait_for_files(pattern_dir, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.isdir(pattern_dir) and os.listdir(pattern_dir):
            return os.listdir(pattern_dir)
        time.sleep(0.05)
    return os.listdir(pattern_dir) if os.path.isdir(pattern_dir) else []


class ZeroConfiguration(unittest.TestCase):
    """`serve --state-dir DIR --listen 127.0.0.1:PORT`, no --config."""

    @classmethod
    def setUpClass(cls):
        cls.port = harness.free_port()
        cls.serve = Serve("--state-dir", "PLACEHOLDER")
        cls.state = os.path.join(cls.serve.dir, "nested", "state")  # does not exist yet
        cls.serve.args = ("--state-dir", cls.state, "--listen", f"127.0.0.1:{cls.port}")
        cls.serve.start(f"listening on 127.0.0.1:{cls.port} ")

    @classmethod
    def tearDownClass(cls):
        status = cls.serve.terminate()
        cls.serve.cleanup()
        if status != 0:
            raise AssertionError(f"sluice exited with {status}: {cls.serve.log()}")

    def test_logs_state_dir_and_listen_address(self):
        log = self.serve.log()
        self.assertIn(f"state directory {self.state}", log)
        self.assertIn(f"listening on 127.0.0.1:{self.port} (Default)", log)
        # --listen replaced the default addresses: this is the only address listened on.
        self.assertEqual(re.findall(r"listening on (\S+)", log), [f"127.0.0.1:{self.port}"])

    def test_generated_certificates(self):
        tls = os.path.join(self.state, "tls")
        self.assertEqual(sorted(os.listdir(tls)), ["ecdsa.crt", "ecdsa.key", "rsa.crt", "rsa.key"])
        for stem, expected in (("ecdsa", "id-ecPublicKey"), ("rsa", "rsaEncryption")):
            with self.subTest(stem=stem):
                p = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", os.path.join(tls, stem + ".crt")],
                                   capture_output=True, text=True, timeout=10)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertRegex(p.stdout, rf"Public Key Algorithm: {expected}")
                key = os.path.join(tls, stem + ".key")
                self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
                k = subprocess.run(["openssl", "pkey", "-noout", "-in", key], capture_output=True, timeout=10)
                self.assertEqual(k.returncode, 0, k.stderr)

    def test_accepts_mail_for_localhost_only(self):
        deliver_one(self.port, "zero")
        self.assertEqual(len(wait_for_files(os.path.join(self.state, "maildir", "zero", "new"))), 1)
        raw = harness.Raw(self.port)
        banner = raw.reply()[1]
        self.assertRegex(banner, r"^220 \S+ ESMTP sluice ready$")
        raw.cmd("EHLO client.test")
        raw.cmd("MAIL FROM:<alice@example.org>")
        self.assertEqual(raw.cmd("RCPT TO:<bob@example.org>")[0], 550)  # relay_from is empty
        self.assertEqual(raw.cmd("RCPT TO:<bob@sluice.test>")[0], 550)  # only localhost is local
        raw.close()


class Lifecycle(unittest.TestCase):
    def test_default_listen_addresses(self):
        if not (port_is_free("127.0.0.1", 2525) and port_is_free("::1", 2525)):
            self.skipTest("port 2525 is busy on 127.0.0.1 or [::1]: cannot check the zero-configuration addresses")
        serve = Serve()
        self.addCleanup(serve.cleanup)
        state = os.path.join(serve.dir, "state")
        serve.args = ("--state-dir", state)
        serve.start("listening on 127.0.0.1:2525 ", "listening on [::1]:2525 ")
        try:
            for host in ("127.0.0.1", "::1"):
                raw = harness.Raw(2525, host=host)
                self.assertEqual(raw.reply()[0], 220)
                raw.close()
        finally:
            status = serve.terminate()
        self.assertEqual(status, 0, serve.log())

    def test_certificates_kept_across_restart(self):
        port = harness.free_port()
        serve = Serve()
        self.addCleanup(serve.cleanup)
        state = os.path.join(serve.dir, "state")
        serve.args = ("--state-dir", state, "--listen", f"127.0.0.1:{port}")
        serve.start(f"listening on 127.0.0.1:{port} ")
        self.assertEqual(serve.terminate(), 0, serve.log())
        with open(os.path.join(state, "tls", "rsa.crt"), "rb") as f:
            first = f.read()
        serve.start(f"listening on 127.0.0.1:{port} ")
        self.assertEqual(serve.terminate(), 0, serve.log())
        with open(os.path.join(state, "tls", "rsa.crt"), "rb") as f:
            self.assertEqual(f.read(), first)

    def start_plain(self):
        port = harness.free_port()
        serve = Serve()
        serve.args = ("--state-dir", os.path.join(serve.dir, "state"), "--listen", f"127.0.0.1:{port}")
        serve.start(f"listening on 127.0.0.1:{port} ")
        self.addCleanup(serve.cleanup)
        return serve, port

    def test_sigterm_without_sessions(self):
        serve, _ = self.start_plain()
        began = time.monotonic()
        self.assertEqual(serve.terminate(), 0, serve.log())
        self.assertLess(time.monotonic() - began, 5)

    def test_repeated_sigterm_still_ends_in_a_clean_stop(self):
        # A supervisor may repeat its SIGTERM; one that lands while the process tears down must
        # not turn exit status 0 into death by signal (seen as -15 in CI).
        serve, port = self.start_plain()
        raw = harness.Raw(port)
        self.addCleanup(raw.close)
        self.assertEqual(raw.reply()[0], 220)
        deadline = time.monotonic() + 10
        while serve.proc.poll() is None and time.monotonic() < deadline:
            serve.proc.send_signal(signal.SIGTERM)
            time.sleep(0.0005)
        self.assertEqual(serve.proc.wait(5), 0, serve.log())

    def test_sigterm_with_idle_session(self):
        serve, port = self.start_plain()
        raw = harness.Raw(port)
        self.addCleanup(raw.close)
        self.assertEqual(raw.reply()[0], 220)
        self.assertEqual(raw.cmd("EHLO client.test")[0], 250)
        began = time.monotonic()
        serve.proc.send_signal(signal.SIGTERM)
        code, text = raw.reply()
        self.assertEqual(code, 421)
        self.assertTrue(text.startswith("421 4.3.2 "), text)
        self.assertTrue(raw.closed())
        self.assertEqual(serve.terminate(timeout=5), 0, serve.log())
        self.assertLess(time.monotonic() - began, 5)

    def test_sigterm_during_data_lets_message_finish(self):
        serve, port = self.start_plain()
        raw = harness.Raw(port)
        self.addCleanup(raw.close)
        self.assertEqual(raw.reply()[0], 220)
        self.assertEqual(raw.cmd("EHLO client.test")[0], 250)
        self.assertEqual(raw.cmd("MAIL FROM:<alice@example.org>")[0], 250)
        self.assertEqual(raw.cmd("RCPT TO:<late@localhost>")[0], 250)
        self.assertEqual(raw.cmd("DATA")[0], 354)
        raw.send("Subject: in flight\r\n\r\nfirst half\r\n")
        serve.proc.send_signal(signal.SIGTERM)
        # The listener closes at once: new clients are turned away while the message finishes.
        deadline = time.time() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
            except (ConnectionRefusedError, ConnectionResetError):
                # Reset: the connection sat in the backlog when the listener closed.
                break
            self.assertLess(time.time(), deadline, "still accepting connections after SIGTERM")
            time.sleep(0.05)
        self.assertIsNone(serve.proc.poll(), "exited before the message in DATA was finished")
        raw.send("second half\r\n.\r\n")
        code, text = raw.reply()
        self.assertRegex(text, QUEUED)
        code, text = raw.reply()
        self.assertEqual(code, 421)
        self.assertTrue(text.startswith("421 4.3.2 "), text)
        self.assertTrue(raw.closed())
        self.assertEqual(serve.terminate(timeout=5), 0, serve.log())
        new = os.path.join(serve.args[1], "maildir", "late", "new")
        files = os.listdir(new) if os.path.isdir(new) else []
        self.assertEqual(len(files), 1)
        with open(os.path.join(new, files[0]), "rb") as f:
            self.assertTrue(f.read().endswith(b"\r\n\r\nfirst half\r\nsecond half\r\n"))

    def test_port_in_use(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            with tempfile.TemporaryDirectory() as d:
                p = run("serve", "--state-dir", d, "--listen", f"127.0.0.1:{port}")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(f"cannot listen on 127.0.0.1:{port}", p.stderr)

    def test_restart_keeps_queued_mail(self):
        self.skipTest("needs queued-but-undelivered mail (relay recipients) to be observable across a restart; "
                      "no outbound side yet")


class ConfigurationErrors(unittest.TestCase):
    BAD = {
        "unknown_top_level_key": ('hostnme = "mx.example.org"\n', ["line 1", "hostnme", "unknown key"]),
        "unknown_connector_key": ('[[receive_connector]]\nname = "A"\nrequre_tls = true\n',
                                  ["line 3", "receive_connector[0]", "unknown key 'requre_tls'",
                                   "did you mean 'require_tls'?"]),
        "unknown_limits_key": ('[limits]\nmax_conections = 3\n', ["line 2", "max_conections", "unknown key"]),
        "bad_min_version": ('[[receive_connector]]\nname = "A"\nlisten = ["127.0.0.1:2525"]\n'
                            '[receive_connector.tls]\nmin_version = "1.5"\n',
                            ["line 5", "receive_connector[0].tls.min_version", '"1.5"']),
        "min_version_1_0_without_legacy": (
            '[[receive_connector]]\nname = "A"\nlisten = ["127.0.0.1:2525"]\n'
            '[receive_connector.tls]\nmin_version = "1.0"\n',
            ["receive_connector[0].tls.min_version", "legacy"]),
        "cidr_host_bits": ('relay_from = ["10.1.2.3/8"]\n', ["line 1", "relay_from", "10.0.0.0/8", "10.1.2.3"]),
        "cidr_garbage": ('[[receive_connector]]\nname = "A"\nlisten = ["127.0.0.1:2525"]\n'
                         'remote_ranges = ["not-a-range"]\n',
                         ["line 4", "remote_ranges", "not-a-range"]),
        "toml_syntax": ('local_domains = ["a.example",\n', ["line"]),
        "wrong_type": ('hostname = 42\n', ["line 1", "hostname", "expected a string"]),
        "missing_listen": ('[[receive_connector]]\nname = "A"\n', ["receive_connector[0]", "listen"]),
        "same_range_twice": ('[[receive_connector]]\nname = "A"\nlisten = ["127.0.0.1:2525"]\n'
                             '[[receive_connector]]\nname = "B"\nlisten = ["127.0.0.1:2525"]\n',
                             ["receive_connector[1]"]),
        "bare_number_duration": ('[limits]\ncommand_timeout = "300"\n', ["line 2", "command_timeout"]),
    }

    def test_bad_configurations(self):
        with tempfile.TemporaryDirectory() as d:
            for name, (text, expected) in self.BAD.items():
                with self.subTest(case=name):
                    path = os.path.join(d, f"{name}.toml")
                    with open(path, "w") as f:
                        f.write(text)
                    p = run("serve", "--config", path, "--state-dir", os.path.join(d, "state"))
                    self.assertEqual(p.returncode, 2, p.stderr)
                    lines = p.stderr.splitlines()
                    self.assertEqual(len(lines), 1, p.stderr)
                    self.assertIn(f"{name}.toml", lines[0])
                    for e in expected:
                        self.assertIn(e, lines[0])
                    # Nothing was started: the state directory was not even made.
                    self.assertFalse(os.path.exists(os.path.join(d, "state")))

    def test_bad_listen_option(self):
        with tempfile.TemporaryDirectory() as d:
            for value in ("bogus", "127.0.0.1", "127.0.0.1:99999", "::1:25"):
                with self.subTest(listen=value):
                    p = run("serve", "--state-dir", d, "--listen", value)
                    self.assertEqual(p.returncode, 2, p.stderr)
                    lines = p.stderr.splitlines()
                    self.assertEqual(len(lines), 1, p.stderr)
                    self.assertIn("--listen", lines[0])
                    self.assertIn(value, lines[0])

    def test_missing_config_file(self):
        with tempfile.TemporaryDirectory() as d:
            p = run("serve", "--config", os.path.join(d, "nope.toml"), "--state-dir", d)
        self.assertEqual(p.returncode, 2)
        self.assertIn("nope.toml", p.stderr)


class CommandLine(unittest.TestCase):
    def test_help(self):
        top = run("--help")
        self.assertEqual(top.returncode, 0, top.stderr)
        self.assertIn("serve", top.stdout)
        serve = run("serve", "--help")
        self.assertEqual(serve.returncode, 0, serve.stderr)
        for option in ("--config", "--listen", "--state-dir", "--hostname", "--check-config"):
            self.assertIn(option, serve.stdout)

    def test_unknown_command_and_option(self):
        p = run("bogus")
        self.assertEqual(p.returncode, 2)
        self.assertIn("bogus", p.stderr)
        self.assertEqual(run().returncode, 2)
        p = run("serve", "--bogus")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--bogus", p.stderr)


if __name__ == "__main__":
    unittest.main()
