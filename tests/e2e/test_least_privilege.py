"""End-to-end: least privilege (docs/security.md, "Least privilege"). Started as root with
`user = <a test account>`, sluice hands its state directory to that account and becomes it before
any thread starts: every thread runs as it, with CAP_NET_BIND_SERVICE alone and no_new_privs; the
spool, the protocol logs and the Maildirs are its files; mail is accepted and delivered; a
delivery cannot write outside the state directory even through a link planted there; a port
below 1024 works. A key the account cannot read, or an account that does not exist, stops the
start with an error naming it. Started as an unprivileged user, it runs as that user.

The account is made for the test (useradd --system, a unique name) and removed afterwards.
Needs root; skipped otherwise, saying why."""
import glob
import os
import pwd
import random
import secrets
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from postfix_peer import make_certificate  # noqa: E402

CAP_NET_BIND_SERVICE = 1 << 10


def account_command(*args):
    """useradd/userdel/groupdel, retried while another one (a parallel test) holds the lock on /etc/passwd."""
    for _ in range(100):
        p = subprocess.run(args, capture_output=True, text=True, timeout=30)
        if p.returncode == 0 or "lock" not in p.stderr:
            return p
        time.sleep(0.1)
    return p


def make_account():
    """A new system account and its group; returns its name (removed by remove_account)."""
    name = "sluicet" + secrets.token_hex(4)
    p = account_command("useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", name)
    if p.returncode != 0:
        raise RuntimeError(f"useradd {name} failed: {p.stderr}")
    return name


def remove_account(name):
    account_command("userdel", name)
    if subprocess.run(["getent", "group", name], capture_output=True).returncode == 0:
        account_command("groupdel", name)
    assert subprocess.run(["getent", "passwd", name], capture_output=True).returncode != 0, f"{name} is left"


def class_account(cls):
    """A new account for the test class `cls`, removed once the class is done; skips the class
    unless the test runs as root."""
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root: the test starts sluice as root and makes a system account")
    name = make_account()
    cls.addClassCleanup(remove_account, name)
    return name


def thread_status(pid):
    """{tid: {field: value}} of /proc/<pid>/task/*/status."""
    out = {}
    for path in glob.glob(f"/proc/{pid}/task/*/status"):
        fields = {}
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        out[os.path.basename(os.path.dirname(path))] = fields
    return out


def free_low_port():
    """A port in 600-1000 that nothing on 127.0.0.1 uses now (the test runs as root, so it can bind)."""
    ports = list(range(600, 1000))
    random.shuffle(ports)  # two runs of the test at once rarely try the same one
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise unittest.SkipTest("no free port in 600-1000 on 127.0.0.1")


def owners(paths):
    return {pwd.getpwuid(os.lstat(p).st_uid).pw_name for p in paths}


def send(port, recipients, body="least privilege"):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.sendmail("alice@example.org", recipients, f"Subject: t\r\n\r\n{body}\r\n")


class Dropped(unittest.TestCase):
    """One gateway started as root that drops to a test account."""

    @classmethod
    def setUpClass(cls):
        cls.user = class_account(cls)
        cls.pw = pwd.getpwnam(cls.user)
        # A directory only root may enter, outside the state directory: what a delivery must not reach.
        cls.forbidden = tempfile.mkdtemp(prefix="sluice-forbidden-")
        cls.addClassCleanup(harness.shutil.rmtree, cls.forbidden, True)
        os.chmod(cls.forbidden, 0o700)
        cls.low_port = free_low_port()
        cls.sluice = harness.Sluice(
            connectors=[{"name": "Default", "relay": "ranges", "relay_from": ["127.0.0.1/32"]},
                        {"name": "Low", "listen": [f"127.0.0.1:{cls.low_port}"]}],
            extra=f'user = "{cls.user}"\n' + harness.queue_table())
        # A mailbox planted as a link to the forbidden directory, as a compromised session might.
        os.makedirs(os.path.join(cls.sluice.state, "maildir"))
        os.symlink(cls.forbidden, os.path.join(cls.sluice.state, "maildir", "victim"))
        cls.addClassCleanup(cls.sluice.remove)
        cls.addClassCleanup(cls.sluice.stop)
        cls.sluice.start()
        send(cls.sluice.port, ["bob@sluice.test", "carol@remote.example", "victim@sluice.test"])

    @classmethod
    def tearDownClass(cls):
        # A clean stop as the account (under the sanitizers, also: no leak report at exit).
        status = cls.sluice.stop()
        if status != 0:
            raise AssertionError(f"sluice exited with {status}: {cls.sluice.server_log()}")

    def test_every_thread_runs_as_the_account_with_one_capability(self):
        threads = thread_status(self.sluice.proc.pid)
        self.assertGreater(len(threads), 5, threads.keys())  # the network, disk, DNS and commit threads
        uid, gid = self.pw.pw_uid, self.pw.pw_gid
        for tid, status in threads.items():
            with self.subTest(thread=tid, name=status["Name"]):
                self.assertEqual(status["Uid"].split(), [str(uid)] * 4)  # real, effective, saved, filesystem
                self.assertEqual(status["Gid"].split(), [str(gid)] * 4)
                self.assertEqual(status["Groups"].split(), [str(gid)])
                self.assertEqual(int(status["CapEff"], 16), CAP_NET_BIND_SERVICE)
                self.assertEqual(int(status["CapPrm"], 16), CAP_NET_BIND_SERVICE)
                self.assertEqual(int(status["CapInh"], 16), 0)
                self.assertEqual(int(status["CapAmb"], 16), 0)
                self.assertEqual(status["NoNewPrivs"], "1")
        self.assertIn(f"running as user {self.user} (uid {uid}, gid {gid}), keeping only CAP_NET_BIND_SERVICE",
                      self.sluice.server_log())

    def test_mail_is_delivered_and_its_files_are_the_accounts(self):
        self.assertEqual(len(self.sluice.maildir("bob")), 1)
        delivered = glob.glob(os.path.join(self.sluice.state, "maildir", "bob", "new", "*"))
        self.assertEqual(len(delivered), 1)
        with open(delivered[0], "rb") as f:
            self.assertTrue(f.read().endswith(b"\r\n\r\nleast privilege\r\n"))
        # carol's copy waits in the spool (the test's DNS answers nothing): spool files exist.
        queue = glob.glob(os.path.join(self.sluice.state, "queue", "*"))
        self.assertTrue(queue)
        logs = glob.glob(os.path.join(self.sluice.state, "logs", "ProtocolLog", "*", "*.LOG"))
        self.assertTrue(logs)
        tls = glob.glob(os.path.join(self.sluice.state, "tls", "*"))  # generated as root, then given
        self.assertEqual(len(tls), 4)
        everything = [self.sluice.state, *delivered, *queue, *logs, *tls,
                      os.path.join(self.sluice.state, "control.sock")]
        self.assertEqual(owners(everything), {self.user})

    def test_a_delivery_cannot_write_outside_the_state_directory(self):
        # Refused by the kernel, so the copy waits in the queue ("Retry") instead of being written.
        failed = "victim@sluice.test    Retry      local"
        listing = harness.wait_for("the failed delivery to the planted mailbox",
                                   lambda: (lambda out: out if failed in out else None)(self.queue_list()))
        self.assertRegex(listing, r"victim@sluice\.test .*451 4\.3\.0 Local delivery failed: Permission denied")
        self.assertEqual(os.listdir(self.forbidden), [])  # root's own directory: nothing made there

    def queue_list(self):
        return harness.queue_cli(self.sluice, "list", "--messages").stdout

    def test_a_port_below_1024_serves_after_the_drop(self):
        self.assertIn(f"listening on 127.0.0.1:{self.low_port} (Low)", self.sluice.server_log())
        raw = harness.greeted(self.low_port)
        self.assertEqual(raw.cmd("QUIT")[0], 221)
        raw.close()


class StartErrors(unittest.TestCase):
    """What stops a root start before anything is served."""

    @classmethod
    def setUpClass(cls):
        cls.user = class_account(cls)

    def run_sluice(self, sluice, *args):
        return subprocess.run([harness.SLUICE, "serve", "--config", sluice.config, *args], capture_output=True,
                              text=True, timeout=30)

    def test_a_key_the_account_cannot_read_names_file_and_user(self):
        cert, key = make_certificate("/CN=mx.sluice.test")
        os.chmod(key, 0o600)  # root's alone
        sluice = harness.Sluice(connectors=[{"name": "Default", "tls": {"certificate": cert, "key": key}}],
                                extra=f'user = "{self.user}"')
        self.addCleanup(sluice.remove)
        expected = (f'sluice: receive_connector "Default": tls.key: {key} is mode 0600, owner root, group root: '
                    f"user {self.user} may not read it, and sluice reads it again while it runs")
        for args in ((), ("--check-config",)):
            with self.subTest(args=args):
                p = self.run_sluice(sluice, *args)
                self.assertEqual(p.returncode, 2, p.stderr)
                errors = [line for line in p.stderr.splitlines() if line.startswith("sluice: ")]
                # A check ends its list with the count (docs/configuration.md, "sluice check").
                summary = ["sluice: 1 problem(s) found; the configuration was not loaded"] if args else []
                self.assertEqual(errors, [expected] + summary, p.stderr)
        # Readable by the account's group, it starts.
        os.chown(key, 0, self.pw_gid())
        os.chmod(key, 0o640)
        p = self.run_sluice(sluice, "--check-config")
        self.assertEqual(p.returncode, 0, p.stderr)

    def pw_gid(self):
        return pwd.getpwnam(self.user).pw_gid

    def test_a_missing_account_says_how_to_make_it(self):
        sluice = harness.Sluice(extra='user = "sluice-no-such-account"')
        self.addCleanup(sluice.remove)
        p = self.run_sluice(sluice)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertRegex(p.stderr, r'^sluice: user "sluice-no-such-account" does not exist; create it with '
                                   r"`useradd --system .*sluice-no-such-account`")
        self.assertIn('("root" keeps root)', p.stderr)
        self.assertFalse(os.path.exists(sluice.state))  # nothing made

    def test_a_state_directory_with_foreign_files_is_not_given_away(self):
        sluice = harness.Sluice(extra=f'user = "{self.user}"')
        self.addCleanup(sluice.remove)
        os.makedirs(sluice.state)
        with open(os.path.join(sluice.state, "not-sluices"), "w") as f:
            f.write("x")
        p = self.run_sluice(sluice)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f'state_dir {sluice.state} belongs to root and holds "not-sluices", which sluice did not make',
                      p.stderr)
        self.assertEqual(os.stat(sluice.state).st_uid, 0)


class Unprivileged(unittest.TestCase):
    """Started by an unprivileged user, sluice runs as that user, as before."""

    @classmethod
    def setUpClass(cls):
        cls.user = class_account(cls)

    def test_runs_as_the_user_that_started_it(self):
        user = self.user
        pw = pwd.getpwnam(user)
        sluice = harness.Sluice(extra=f'user = "{user}"')
        self.addCleanup(sluice.remove)
        self.addCleanup(sluice.stop)
        os.makedirs(sluice.state)
        os.chown(sluice.state, pw.pw_uid, pw.pw_gid)

        def become_user():  # what `setpriv --reuid --regid --clear-groups` does
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)

        sluice.start(preexec_fn=become_user)
        send(sluice.port, ["dave@sluice.test"])
        self.assertEqual(len(sluice.maildir("dave")), 1)
        for tid, status in thread_status(sluice.proc.pid).items():
            with self.subTest(thread=tid):
                self.assertEqual(status["Uid"].split(), [str(pw.pw_uid)] * 4)
                self.assertEqual(int(status["CapEff"], 16), 0)
        log = sluice.server_log()
        self.assertNotIn("running as user", log)  # no drop: it was never root
        self.assertNotIn("warning: user", log)  # `user` names the user it runs as
        self.assertEqual(sluice.stop(), 0, sluice.server_log())


if __name__ == "__main__":
    unittest.main()
