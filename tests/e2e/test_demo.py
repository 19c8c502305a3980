"""End-to-end: `sluice demo` (what `make demo` runs) passes every one of its own checks, prints the
real artefacts the issue names (protocol log lines, queue viewer errors, the NDR's fields, the
Received header after the fix, and the hybrid direction from cloud through onprem to the internal
mail server "mailbox"), removes its work directory, refuses a work directory that is not
empty, and stops its two gateways when interrupted."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


def serve_processes_using(path):
    """Pids of running processes whose command line mentions `path` (the demo's gateways do)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        if path in cmdline and "serve" in cmdline:
            pids.append(int(entry))
    return pids


class DemoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        started = time.time()
        proc = subprocess.run([harness.SLUICE, "demo"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=180)
        cls.elapsed = time.time() - started
        cls.status = proc.returncode
        cls.out = proc.stdout.decode("utf-8", "replace")

    def assertShows(self, text):
        self.assertIn(text, self.out, f"missing {text!r} in the demo's output:\n{self.out}")

    def test_every_check_passed(self):
        self.assertEqual(self.status, 0, self.out)
        self.assertRegex(self.out, r"sluice demo: all \d+ checks passed in [\d.]+ s\.")
        self.assertNotIn(" FAIL ", self.out)
        self.assertGreaterEqual(self.out.count(" PASS "), 20)
        self.assertLess(self.elapsed, 90, "the demo should take well under a minute")

    def test_steps_in_order(self):
        positions = [self.out.find(f"== Step {n}.") for n in range(1, 10)]
        self.assertTrue(all(p >= 0 for p in positions), self.out)
        self.assertEqual(positions, sorted(positions))

    def test_failed_handshake_on_both_sides(self):
        # Quoted protocol log lines: the send log's and the receive log's, in Exchange's CSV form.
        self.assertRegex(self.out, r"\| \d{4}-\d\d-\d\dT[\d:.]+Z,Outbound to Office 365,[0-9A-F]{16},\d+,"
                                   r"[^\n]*,TLS negotiation failed with error SocketError")
        self.assertRegex(self.out, r"\| [^\n]*,Partner \(on-premises\),[^\n]*TLS negotiation failed with error "
                                   r"UnsupportedProtocol")
        self.assertRegex(self.out, r"\| [^\n]*Client offered TLS1_0 only")

    def test_plaintext_retry_refused(self):
        self.assertRegex(self.out, r"\| [^\n]*,Outbound to Office 365,[^\n]*,<,451 5\.7\.3 Must issue a STARTTLS "
                                   r"command first")
        self.assertRegex(self.out, r"\| [^\n]*,Partner \(on-premises\),[^\n]*,>,451 5\.7\.3 Must issue a STARTTLS "
                                   r"command first")

    def test_queue_viewer_shows_both_errors(self):
        self.assertShows("$ sluice queue list --state-dir ")
        self.assertShows('451 4.4.0 Primary target IP address responded with: '
                         '"451 5.7.3 Must issue a STARTTLS command first."')
        self.assertRegex(self.out, r"\| [^\n]*\[127\.0\.0\.1\]:\d+[^\n]*421 4\.4\.2 Connection dropped due to "
                                   r"SocketError")

    def test_ndr_fields(self):
        self.assertRegex(self.out, r"\| Subject: Undeliverable: Quarterly figures\n")
        self.assertRegex(self.out, r"\| Content-Type: multipart/report; [^\n]*report-type=\"?delivery-status")
        self.assertShows("| Action: failed")
        self.assertRegex(self.out, r"\| Status: 4\.4\.\d")
        self.assertShows("| Diagnostic-Code: smtp; 421 4.4.2 Connection dropped due to SocketError")

    def test_fix_delivers_over_tls_1_2_or_1_3(self):
        self.assertRegex(self.out, r"\| Received: from exch2010\.onprem\.test [^\n]*by mx\.cloud\.test[^\n]*"
                                   r"\(version=TLS1_[23], cipher=")
        self.assertShows("| Subject: Quarterly figures, second try")
        self.assertRegex(self.out, r"\| [^\n]*SP_PROT_TLS1_[23]_CLIENT negotiation succeeded")
        self.assertRegex(self.out, r"\| [^\n]*SP_PROT_TLS1_[23]_SERVER negotiation succeeded")

    def test_hybrid_direction_reaches_the_internal_server(self):
        # alice's copy at "mailbox": the Received chain, newest first, cloud -> onprem -> mailbox.
        self.assertRegex(self.out, r"\| Received: from exch2010\.onprem\.test [^\n]*by mailbox\.onprem\.test[^\n]*\n"
                                   r" +\| Received: from mx\.cloud\.test [^\n]*by exch2010\.onprem\.test[^\n]*"
                                   r"version=TLS1_2[^\n]*connector \"Inbound from Office 365\"[^\n]*\n"
                                   r" +\| Received: from bob-pc\.cloud\.test [^\n]*by mx\.cloud\.test")
        # onprem's tracking log lines and `sluice track`'s block for the message.
        self.assertRegex(self.out, r"\| [^\n]*,RECEIVE,[^\n]*alice@onprem\.test")
        self.assertRegex(self.out, r"\| [^\n]*,SEND,[^\n]*alice@onprem\.test")
        self.assertShows("$ sluice track --config ")
        self.assertRegex(self.out, r'\| +\S+ RECEIVE +from mx\.cloud\.test[^\n]*on "Inbound from Office 365"')
        self.assertRegex(self.out, r'\| +\S+ SEND +alice@onprem\.test[^\n]*via "To the mailbox server"')
        # The unknown user, refused at RCPT by the callout, in cloud's send protocol log.
        self.assertRegex(self.out, r"\| [^\n]*,Outbound to on-premises,[^\n]*,<,550 5\.1\.10 "
                                   r"RESOLVER\.ADR\.RecipientNotFound")

    def test_work_directory_removed(self):
        match = re.search(r"Work directory: (\S+) ", self.out)
        self.assertIsNotNone(match, self.out)
        self.assertFalse(os.path.exists(match.group(1)))


class DemoOptionsTest(unittest.TestCase):
    def test_refuses_a_work_directory_that_is_not_empty(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "precious.txt"), "w") as f:
                f.write("keep me")
            proc = subprocess.run([harness.SLUICE, "demo", "--work-dir", d], capture_output=True, text=True,
                                  timeout=30)
            self.assertEqual(proc.returncode, 2)
            self.assertEqual(proc.stderr, f"sluice demo: --work-dir {d}: not an empty directory; give a new or "
                                          "empty one\n")
            self.assertTrue(os.path.exists(os.path.join(d, "precious.txt")))

    def test_unknown_option(self):
        proc = subprocess.run([harness.SLUICE, "demo", "--bogus"], capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("sluice demo:", proc.stderr)
        self.assertIn("--bogus", proc.stderr)

    def test_interrupt_stops_both_gateways(self):
        with tempfile.TemporaryDirectory() as parent:
            work = os.path.join(parent, "w")
            proc = subprocess.Popen([harness.SLUICE, "demo", "--work-dir", work], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
            out = b""
            deadline = time.time() + 60
            os.set_blocking(proc.stdout.fileno(), False)
            while b"== Step 3." not in out and time.time() < deadline and proc.poll() is None:
                chunk = proc.stdout.read()
                if chunk:
                    out += chunk
                time.sleep(0.05)
            self.assertIn(b"== Step 3.", out)
            # The demo goes on meanwhile and restarts onprem in a later step: on a busy machine the
            # first look may fall into that restart, so look until both gateways run.
            running = []
            deadline = time.time() + 20
            while len(running) != 2 and time.time() < deadline:
                running = serve_processes_using(work)
                time.sleep(0.02)
            self.assertEqual(len(running), 2, out.decode())
            proc.send_signal(signal.SIGINT)
            rest, _ = proc.communicate(timeout=30)
            out += rest or b""
            self.assertEqual(proc.returncode, 130, out.decode())
            self.assertIn(b"interrupted; stopping the gateways", out)
            self.assertEqual(serve_processes_using(work), [])
            self.assertFalse(os.path.exists(work))


if __name__ == "__main__":
    unittest.main()
