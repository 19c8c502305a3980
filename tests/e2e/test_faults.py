"""Promise 6 of docs/security.md: faults in sluice's own environment.

- Disk full and a read-only spool: the spool (<state>/queue) is a small tmpfs, filled up or
  remounted read-only while sluice runs. The client gets `451 4.3.0`, the spool holds nothing of
  the refused message (no temporary file, no content without envelope), nothing is delivered, and
  once space returns (or the file system is writable again) the next message is accepted and
  delivered. The same for a full Maildir file system: the message is kept in the spool and
  deferred, no partial file reaches new/, and it is delivered once space returns.
  (Needs root and tmpfs mounts; without them these tests are skipped, saying why.)
- A missing, unreadable, not-PEM or mismatched certificate or key: `sluice serve` stops before
  listening, exit status 2, one line naming the connector, the file and the problem.
- DNS that times out or answers SERVFAIL: the message is deferred (`451 4.4.0 DNS query
  failed`), never bounced, and delivered once DNS answers. (test_outbound_routing.py checks the
  SERVFAIL deferral and its retry; here both faults are followed to the delivery.) Slow DNS for
  several destinations at once does not hold up receiving mail.
- A remote server that resets the connection in the middle of DATA: the message is deferred
  (`421 4.4.2 Connection dropped due to SocketError`), no bounce, retried, and delivered exactly
  once when the remote behaves.

Promise 10 (a bounce is never lost): with the spool full when a message's lifetime runs out, when a
remote answers 5xx, or when its delay warning is due, the message stays in the spool with the
notice pending ("BouncePending"), nothing is delivered again, the notice is retried, and once space
returns exactly one DSN reaches the sender and the spool empties."""
import glob
import json
import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from dns_server import DnsServer  # noqa: E402
from smtp_sink import PostfixSmtpSink  # noqa: E402
from smtp_sink import available as smtp_sink_available  # noqa: E402
from test_crash_consistency import SmtpSink  # noqa: E402

HOST = "mx.sluice.test"
QUEUED = re.compile(r"^250 2\.6\.0 ([0-9A-F]{16}) Queued mail for delivery$")
WRITE_FAILED = "451 4.3.0 Temporary failure writing the message to the queue, try again later"
DROPPED = "421 4.4.2 Connection dropped due to SocketError"
# The local sender alice@sluice.test gets any bounce in her Maildir, where the tests look for it; the
# test client may send as sluice.test without relay permission.
NO_TLS = [{"name": "Default", "starttls": False, "accepted_domain_senders": "anyone"}]


def submit(port, rcpt, subject, size=0, mail_from="alice@sluice.test"):
    """One message over a plaintext session; returns the reply to the end of DATA as one string."""
    body = "".join(f"line {n:06d} " + "z" * 60 + "\r\n" for n in range(size // 74 + 1)) if size else "hello\r\n"
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.ehlo("client.example.org")
        code, text = s.mail(mail_from)
        assert code == 250, (code, text)
        code, text = s.rcpt(rcpt)
        assert code == 250, (code, text)
        s.putcmd("data")
        code, text = s.getreply()
        assert code == 354, (code, text)
        s.send(f"Subject: {subject}\r\nX-Fault-Test: {subject}\r\n\r\n{body}".encode() + b".\r\n")
        code, text = s.getreply()
        return f"{code} {text.decode()}"


def queue_id_of(reply):
    m = QUEUED.match(reply)
    assert m, reply
    return m.group(1)


def envelope(sluice, queue_id):
    try:
        with open(os.path.join(sluice.state, "queue", queue_id + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def first_recipient_after(sluice, queue_id, attempts, timeout=30):
    """The envelope's first recipient once it has had `attempts` delivery attempts."""
    def ready():
        e = envelope(sluice, queue_id)
        return e["recipients"][0] if e and e["recipients"][0]["attempts"] >= attempts else None
    return harness.wait_for(f"{attempts} delivery attempt(s) of {queue_id}", ready, timeout=timeout)


def mount_tmpfs(path, size):
    """Mounts a tmpfs of `size` at `path`; returns None, or why it cannot (to skip)."""
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs"
    os.makedirs(path, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0750", "tmpfs", path],
                       capture_output=True, text=True)
    return None if p.returncode == 0 else f"cannot mount a tmpfs: {p.stderr.strip()}"


def umount(path):
    if subprocess.run(["umount", path], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", path], capture_output=True)


def fill(path, leave_bytes):
    """Writes <path>/filler so that about `leave_bytes` stay free; returns the filler's path."""
    filler = os.path.join(path, "filler")
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    with open(filler, "ab") as f:
        f.write(b"\0" * max(0, free - leave_bytes))
    return filler


def start_on_tmpfs(test, sluice, folder="queue", size="2m"):
    """Starts `sluice` with <state>/`folder` (the spool, or the Maildirs) on a small tmpfs; skips
    `test` when it cannot mount one. Returns the folder's path; both are undone at cleanup."""
    path = os.path.join(sluice.state, folder)
    why = mount_tmpfs(path, size)
    if why:
        test.skipTest(why)
    test.addCleanup(umount, path)
    sluice.start()
    test.addCleanup(sluice.stop)
    return path


class FullOrReadOnlySpool(unittest.TestCase):
    """The spool on a 2 MiB tmpfs; the Maildirs on the ordinary disk."""

    def setUp(self):
        self.sluice = harness.Sluice(connectors=NO_TLS, hostname=HOST, local_domains=("sluice.test",))
        self.queue = start_on_tmpfs(self, self.sluice)

    def assert_refused_cleanly(self, reply, mailbox):
        self.assertEqual(reply, WRITE_FAILED)
        time.sleep(0.3)
        # Nothing half-written: no temporary file, no content without its envelope.
        self.assertEqual([f for f in harness.spool_files(self.sluice) if f != "filler"], [])
        self.assertEqual(self.sluice.maildir(mailbox, timeout=0), [])
        self.assertIn("Queue write failed", "\n".join(self.sluice.protocol_log()))

    def test_disk_full_then_space_returns(self):
        filler = fill(self.queue, 64 * 1024)
        # The content does not fit.
        self.assert_refused_cleanly(submit(self.sluice.port, "bob@sluice.test", "too big for the disk",
                                           size=300_000), "bob")
        # The content fits, the envelope does not: the content must go again.
        st = os.statvfs(self.queue)
        free = st.f_bavail * st.f_frsize
        reply = submit(self.sluice.port, "bob@sluice.test", "envelope does not fit", size=free - 600)
        self.assert_refused_cleanly(reply, "bob")
        # Space returns: the next message is accepted and delivered, the spool empties.
        os.unlink(filler)
        queue_id = queue_id_of(submit(self.sluice.port, "bob@sluice.test", "after space returned", size=300_000))
        got = self.sluice.maildir("bob", timeout=10)
        self.assertEqual(len(got), 1)
        self.assertIn(b"X-Fault-Test: after space returned\r\n", got[0])
        harness.wait_for("the spool to empty", lambda: harness.spool_files(self.sluice) == [], timeout=10)
        self.assertIn(queue_id.encode(), got[0])

    def test_read_only_spool_then_writable(self):
        p = subprocess.run(["mount", "-o", "remount,ro", self.queue], capture_output=True, text=True)
        if p.returncode != 0:
            self.skipTest(f"cannot remount read-only: {p.stderr.strip()}")
        try:
            self.assert_refused_cleanly(submit(self.sluice.port, "carol@sluice.test", "read-only spool"), "carol")
            self.assertIn("Read-only file system", "\n".join(self.sluice.protocol_log()))
        finally:
            subprocess.run(["mount", "-o", "remount,rw", self.queue], check=True)
        queue_id_of(submit(self.sluice.port, "carol@sluice.test", "writable again"))
        got = self.sluice.maildir("carol", timeout=10)
        self.assertEqual(len(got), 1)
        self.assertIn(b"X-Fault-Test: writable again\r\n", got[0])


class FullMaildir(unittest.TestCase):
    """The Maildirs on a 1 MiB tmpfs: local delivery fails, the spool keeps the message."""

    def test_full_maildir_defers_then_delivers(self):
        sluice = harness.Sluice(connectors=NO_TLS, hostname=HOST, local_domains=("sluice.test",))
        harness.append_config(sluice, """
            [queue]
            retry_min = "1s"
            retry_max = "1s"
            """)
        maildir = start_on_tmpfs(self, sluice, "maildir", "1m")
        filler = fill(maildir, 32 * 1024)
        queue_id = queue_id_of(submit(sluice.port, "dave@sluice.test", "maildir full", size=200_000))
        r = first_recipient_after(sluice, queue_id, 2, timeout=20)
        self.assertEqual(r["state"], "deferred")
        self.assertEqual(r["last_reply"], "451 4.3.0 Local delivery failed: No space left on device")
        # No partial message anywhere in the Maildir; no bounce to the sender.
        self.assertEqual(glob.glob(os.path.join(maildir, "dave", "new", "*")), [])
        self.assertEqual(glob.glob(os.path.join(maildir, "dave", "tmp", "*")), [])
        self.assertEqual(glob.glob(os.path.join(maildir, "alice", "new", "*")), [])
        os.unlink(filler)
        got = sluice.maildir("dave", timeout=10)
        self.assertEqual(len(got), 1)
        self.assertIn(b"X-Fault-Test: maildir full\r\n", got[0])
        self.assertTrue(got[0].endswith(b"z" * 60 + b"\r\n"))
        harness.wait_for("the spool to empty", lambda: harness.spool_files(sluice) == [], timeout=10)
        self.assertEqual(len(sluice.maildir("dave", timeout=0)), 1)
        self.assertEqual(sluice.maildir("alice", timeout=0), [])


def dsn_fields(dsn):
    """The per-recipient fields of a DSN's delivery-status part."""
    return dict(re.findall(rb"^(Action|Status|Diagnostic-Code): *(.*?)\r?$", dsn, re.M))


class BounceOnFullSpool(unittest.TestCase):
    """The spool on a 2 MiB tmpfs filled to its last page (room for an envelope rewrite, not for
    a DSN's two files) while notices fall due; mail for the smart host at `self.sink_port`, where
    nothing listens until a test starts Postfix's smtp-sink there. The sender alice@sluice.test is
    local: her DSNs land in her Maildir, on the ordinary disk."""

    CANNOT = "{what} for <alice@sluice.test>: cannot queue it: No space left on device"

    def start(self, **queue):
        why = smtp_sink_available()
        if why:
            self.skipTest(why)
        self.sink = PostfixSmtpSink()
        self.sink_port = self.sink.port
        self.addCleanup(self.sink.stop)
        self.sluice = harness.Sluice(connectors=NO_TLS, hostname=HOST, local_domains=("sluice.test",),
                                     extra='relay_from = ["127.0.0.1"]')
        harness.append_config(self.sluice, harness.queue_table(retry_max="1s", hop_backoff_max="1s", **queue) +
                              harness.smart_host_connector("Smart host", ["remote.test"], self.sink_port))
        self.queue = start_on_tmpfs(self, self.sluice)

    def fill_spool(self):
        self.filler = fill(self.queue, 4096)

    def wait_for_failures(self, what, count=2):
        """Waits until queuing `what` failed `count` times (the first try, then later passes)."""
        line = self.CANNOT.format(what=what)
        harness.wait_for(f"{count} failures to queue the {what}",
                         lambda: self.sluice.server_log().count(line) >= count, timeout=20)

    def free_and_expect_one(self, queue_id, action):
        os.unlink(self.filler)
        (dsn,) = self.sluice.maildir("alice", timeout=15)
        self.assertEqual(dsn_fields(dsn)[b"Action"], action)
        self.assertIn(b"X-Fault-Test: ", dsn)
        return dsn

    def assert_kept_pending(self, queue_id, status=None):
        """The original is still spooled and says which notice it owes; the queue viewer shows it."""
        e = envelope(self.sluice, queue_id)
        self.assertIsNotNone(e, "the original left the spool before its notice was queued")
        self.assertTrue(os.path.exists(os.path.join(self.queue, queue_id + ".eml")))
        self.assertEqual(self.sluice.maildir("alice", timeout=0), [])
        listing = harness.queue_cli(self.sluice, "list", "--messages")
        self.assertEqual(listing.returncode, 0, listing.stderr)
        row = next((l for l in listing.stdout.splitlines() if l.startswith(queue_id)), "")
        self.assertIn(status or queue_id, row, listing.stdout)
        return e

    def test_lifetime_over_while_full(self):
        self.start(lifetime="3s")
        queue_id = queue_id_of(submit(self.sluice.port, "bob@remote.test", "lifetime over while full"))
        self.fill_spool()
        self.wait_for_failures("bounce")
        e = self.assert_kept_pending(queue_id, "BouncePending")
        self.assertEqual(e["recipients"][0]["state"], "failed")
        (notice,) = e["pending_notices"]
        self.assertEqual(notice["type"], "bounce")
        self.assertEqual([r["recipient"] for r in notice["recipients"]], [0])
        self.assertEqual(notice["recipients"][0]["status"], "4.4.7")
        dsn = self.free_and_expect_one(queue_id, b"failed")
        self.assertEqual(dsn_fields(dsn)[b"Status"], b"4.4.7")
        harness.wait_for("the spool to empty", lambda: harness.spool_files(self.sluice) == [], timeout=10)
        self.assertEqual(len(self.sluice.maildir("alice", timeout=0)), 1)

    def test_remote_5xx_while_full(self):
        self.start()
        queue_id = queue_id_of(submit(self.sluice.port, "bob@remote.test", "remote 5xx while full"))
        first_recipient_after(self.sluice, queue_id, 1)  # refused: nothing listens yet
        self.fill_spool()
        self.sink.start("-f", "RCPT")  # every RCPT gets "500 5.3.0 Error: command failed"
        self.wait_for_failures("bounce")
        e = self.assert_kept_pending(queue_id, "BouncePending")
        r = e["recipients"][0]
        self.assertEqual((r["state"], r["last_reply"]), ("failed", "500 5.3.0 Error: command failed"))
        # Later passes retry the bounce only: no delivery attempt after the 5xx.
        self.wait_for_failures("bounce", count=4)
        self.assertEqual(envelope(self.sluice, queue_id)["recipients"][0], r)
        dsn = self.free_and_expect_one(queue_id, b"failed")
        self.assertEqual(dsn_fields(dsn)[b"Diagnostic-Code"], b"smtp; 500 5.3.0 Error: command failed")
        harness.wait_for("the spool to empty", lambda: harness.spool_files(self.sluice) == [], timeout=10)
        self.assertEqual(len(self.sluice.maildir("alice", timeout=0)), 1)

    def test_delay_warning_while_full(self):
        self.start(lifetime="1h", delay_warning="2s")
        queue_id = queue_id_of(submit(self.sluice.port, "bob@remote.test", "delay warning while full"))
        self.fill_spool()
        self.wait_for_failures("delay warning")
        e = self.assert_kept_pending(queue_id, None)  # its recipient still waits: Retry, Ready or Active
        self.assertEqual([n["type"] for n in e["pending_notices"]], ["delay"])
        self.assertEqual(e["recipients"][0]["state"], "deferred")
        self.free_and_expect_one(queue_id, b"delayed")
        self.sink.start()
        self.assertEqual(len(self.sink.messages(count=1)), 1)
        harness.wait_for("the spool to empty", lambda: harness.spool_files(self.sluice) == [], timeout=10)
        self.assertEqual(len(self.sluice.maildir("alice", timeout=0)), 1, "the delay warning went out twice")


class Certificates(unittest.TestCase):
    """A receive connector whose certificate or key cannot be used: a clear error at start."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sluice-faults-")
        os.chmod(cls.dir, 0o755)
        cls.cert, cls.key = os.path.join(cls.dir, "cert.pem"), os.path.join(cls.dir, "key.pem")
        cls.other_key = os.path.join(cls.dir, "other.pem")
        for key in (cls.key, cls.other_key):
            subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-out", key], check=True, capture_output=True)
        subprocess.run(["openssl", "req", "-new", "-x509", "-key", cls.key, "-subj", "/CN=mx.sluice.test",
                        "-days", "30", "-out", cls.cert], check=True, capture_output=True)
        os.chmod(cls.key, 0o600)
        cls.garbage = os.path.join(cls.dir, "garbage.pem")
        with open(cls.garbage, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def serve(self, cert, key, as_user=None):
        """Starts sluice with this certificate and key; returns (exit status, stderr, port)."""
        sluice = harness.Sluice(connectors=[{"name": "Broken TLS", "tls": {"certificate": cert, "key": key}}],
                                hostname=HOST)
        preexec = None
        if as_user is not None:
            os.makedirs(sluice.state)
            os.chown(sluice.state, as_user, as_user)
            preexec = lambda: (os.setgid(as_user), os.setuid(as_user))  # noqa: E731
        try:
            p = subprocess.run([harness.SLUICE, "serve", "--config", sluice.config], capture_output=True, text=True,
                               timeout=30, preexec_fn=preexec)
        except subprocess.TimeoutExpired:
            self.fail("sluice started with an unusable certificate or key")
        port = sluice.port
        with socket.socket() as s:
            listening = s.connect_ex(("127.0.0.1", port)) == 0
        self.assertFalse(listening)
        return p.returncode, p.stderr, p.stdout

    def assert_clear_error(self, cert, key, path, problem, as_user=None, names=None):
        """Exit 2, and one line naming the connector, which file (certificate or key) and why
        (`names`: what the line says after "TLS: " instead of "<certificate or key> <path>")."""
        status, err, out = self.serve(cert, key, as_user)
        self.assertEqual(status, 2, err)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        what = "certificate" if path == cert else "key"
        names = names or f"{what} {path}"
        self.assertTrue(lines[0].startswith(f'sluice: receive connector "Broken TLS": TLS: {names}: '), err)
        self.assertRegex(lines[0], problem)
        self.assertNotIn("listening on", err + out)

    def test_missing_certificate(self):
        missing = os.path.join(self.dir, "missing.pem")
        self.assert_clear_error(missing, self.key, missing, r"(?i)no such file")

    def test_missing_key(self):
        missing = os.path.join(self.dir, "missing.key")
        self.assert_clear_error(self.cert, missing, missing, r"(?i)no such file")

    def test_unreadable_key(self):
        if os.geteuid() == 0:
            # Root reads any file: drop to nobody for this start, as a service account would run.
            try:
                import pwd
                nobody = pwd.getpwnam("nobody").pw_uid
            except (ImportError, KeyError):
                self.skipTest("no user 'nobody' to run as")
            os.chmod(self.dir, 0o755)
            os.chmod(self.cert, 0o644)
            self.assert_clear_error(self.cert, self.key, self.key, r"(?i)permission denied", as_user=nobody)
        else:
            os.chmod(self.key, 0)
            try:
                self.assert_clear_error(self.cert, self.key, self.key, r"(?i)permission denied")
            finally:
                os.chmod(self.key, 0o600)

    def test_not_pem(self):
        self.assert_clear_error(self.garbage, self.key, self.garbage, r"PEM routines::bad base64 decode")
        self.assert_clear_error(self.cert, self.garbage, self.garbage, r"DECODER routines::unsupported")

    def test_key_does_not_match(self):
        self.assert_clear_error(self.cert, self.other_key, self.other_key, r"key values mismatch",
                                names=f"key {self.other_key} does not match certificate {self.cert}")


# Long enough that test_slow_dns_does_not_stall_receiving measures while its lookups still hang,
# short enough that no test waits the default 10 s for a dropped query.
DNS_TIMEOUT = 3


class FaultyNextHops(unittest.TestCase):
    """A relay (for 127.0.0.1) with a loopback DNS server and a loopback sink as next hops."""
    CTEST_SECONDS = 12  # its rough duration: ctest starts the longest first

    def setUp(self):
        self.dns = DnsServer({"slow.test": "DROP", "broken.test": "SERVFAIL"}).start()
        self.addCleanup(self.dns.stop)
        self.sink = SmtpSink(reset_data=2).start()
        self.addCleanup(self.sink.stop)
        self.sluice = harness.Sluice(connectors=NO_TLS, hostname=HOST, local_domains=("sluice.test",),
                                     extra=f'relay_from = ["127.0.0.1"]\ndns_servers = ["{self.dns.address}"]\n'
                                           f'dns_timeout = "{DNS_TIMEOUT}s"')
        harness.append_config(self.sluice, harness.queue_table(hop_backoff_max="2s") +
                              harness.smart_host_connector("Resetting smart host", ["reset.test"], self.sink.port) +
                              harness.toml_table("[[send_connector]]", {"name": "MX", "address_spaces": ["*"],
                                                                        "port": self.sink.port, "tls": "none"}))
        self.sluice.start()
        self.addCleanup(self.sluice.stop)

    def sink_copies(self, subject):
        return [m for m in self.sink.snapshot() if f"X-Fault-Test: {subject}\r\n".encode() in m["data"]]

    def assert_deferred_then_delivered(self, queue_id, subject, reply_start, attempts, repair=None):
        r = first_recipient_after(self.sluice, queue_id, attempts, timeout=40)
        self.assertEqual(r["state"], "deferred", r)
        self.assertTrue(r["last_reply"].startswith(reply_start), r["last_reply"])
        self.assertEqual(self.sluice.maildir("alice", timeout=0), [], "a temporary fault must not bounce")
        if repair:
            repair()
        harness.wait_for("the delivery", lambda: self.sink_copies(subject), timeout=30)
        harness.wait_for("the spool to empty", lambda: envelope(self.sluice, queue_id) is None, timeout=10)
        time.sleep(2.5)  # longer than retry_max: another copy would have come by now
        self.assertEqual(len(self.sink_copies(subject)), 1)
        self.assertEqual(self.sluice.maildir("alice", timeout=0), [], "no bounce after the delivery either")
        return r

    def test_remote_resets_mid_data(self):
        queue_id = queue_id_of(submit(self.sluice.port, "bob@reset.test", "reset mid-data", size=50_000))
        self.assert_deferred_then_delivered(queue_id, "reset mid-data", DROPPED, attempts=2)
        self.assertEqual(self.sink.resets, 2)
        (copy,) = self.sink_copies("reset mid-data")
        self.assertTrue(copy["data"].endswith(b"z" * 60 + b"\r\n"))
        self.assertEqual(copy["rcpts"], ["bob@reset.test"])

    def test_dns_timeout_defers_then_delivers(self):
        queue_id = queue_id_of(submit(self.sluice.port, "bob@slow.test", "dns timeout"))
        began = time.time()
        self.assert_deferred_then_delivered(
            queue_id, "dns timeout", "451 4.4.0 DNS query failed. The error was: DNS timeout", attempts=1,
            repair=lambda: (self.dns.set("slow.test", {"MX": [(10, "mx.slow.test")]}),
                            self.dns.set("mx.slow.test", {"A": ["127.0.0.1"]})))
        self.assertGreater(time.time() - began, DNS_TIMEOUT - 0.5, "the lookup should have waited for its timeout")

    def test_dns_servfail_defers_then_delivers(self):
        queue_id = queue_id_of(submit(self.sluice.port, "bob@broken.test", "dns servfail"))
        self.assert_deferred_then_delivered(
            queue_id, "dns servfail", "451 4.4.0 DNS query failed. The error was: SERVFAIL", attempts=2,
            repair=lambda: self.dns.set("broken.test", {"A": ["127.0.0.1"]}))

    def test_slow_dns_does_not_stall_receiving(self):
        """Six destinations whose DNS never answers (six lookups waiting for their timeout at
        once) must not delay the 250 for, or the local delivery of, another message."""
        for n in range(6):
            self.dns.set(f"slow{n}.test", "DROP")
            queue_id_of(submit(self.sluice.port, f"bob@slow{n}.test", f"slow {n}"))
        time.sleep(1.0)  # the lookups are now in progress
        began = time.monotonic()
        queue_id_of(submit(self.sluice.port, "erin@sluice.test", "while dns hangs"))
        accepted = time.monotonic() - began
        got = self.sluice.maildir("erin", timeout=15)
        delivered = time.monotonic() - began
        print(f"\nwith six DNS lookups hanging: 250 after {accepted:.2f} s, local delivery after {delivered:.2f} s")
        self.assertLess(accepted, 2.0)
        self.assertEqual(len(got), 1)
        self.assertLess(delivered, 3.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
