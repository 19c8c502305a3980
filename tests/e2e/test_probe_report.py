"""`sluice probe`'s report against real TLS peers (`sluice serve` presenting certificates made
with openssl): the exchange-online verdict names a self-signed certificate and a host name
mismatch, and what a connector that validates certificates does with them; a trusted, matching
certificate is said so without caveats. Results stream: with one target held by a loopback server
that never greets, the other target's line is on stdout (and the progress line on a terminal's
stderr) before the slow one finishes; JSON stays one complete document."""
import json
import os
import pty
import queue
import socket
import subprocess
import tempfile
import threading
import unittest

import harness


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_certificates(folder):
    """A self-signed certificate for mx.probe.test, and a CA with a leaf for 127.0.0.1."""
    paths = {name: os.path.join(folder, name) for name in
             ("self.pem", "self.key", "ca.pem", "ca.key", "leaf.csr", "leaf.pem", "leaf.key", "ext.cnf")}
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mx.probe.test",
            "-addext", "subjectAltName=DNS:mx.probe.test", "-keyout", paths["self.key"], "-out", paths["self.pem"])
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Probe Test CA",
            "-keyout", paths["ca.key"], "-out", paths["ca.pem"])
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", paths["leaf.key"],
            "-out", paths["leaf.csr"])
    with open(paths["ext.cnf"], "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", paths["leaf.csr"], "-CA", paths["ca.pem"], "-CAkey", paths["ca.key"],
            "-CAcreateserial", "-days", "2", "-extfile", paths["ext.cnf"], "-out", paths["leaf.pem"])
    return paths


class SilentServer:
    """Accepts connections and says nothing until release(): a target that takes as long as the
    test wants."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self.conns = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self.accepted.set()

    def release(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def read_lines(stream, into):
    for line in iter(stream.readline, b""):
        into.put(line.decode("utf-8", "replace"))
    into.put(None)


def read_pty(fd, into):
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO once the child has closed the terminal
            break
        if not chunk:
            break
        into.put(chunk.decode("utf-8", "replace"))
    into.put(None)


class ProbeReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="probe-report-")
        harness._made_dirs.append(cls.folder)
        cls.certs = make_certificates(cls.folder)
        c = cls.certs
        cls.sluice = harness.Sluice([
            {"name": "SelfSigned", "tls": {"certificate": c["self.pem"], "key": c["self.key"]}},
            {"name": "Trusted", "tls": {"certificate": c["leaf.pem"], "key": c["leaf.key"]}},
        ]).start()
        cls.self_signed = f"127.0.0.1:{cls.sluice.port_of('SelfSigned')}"
        cls.trusted = f"127.0.0.1:{cls.sluice.port_of('Trusted')}"

    @classmethod
    def tearDownClass(cls):
        cls.sluice.stop()

    def probe_args(self, *extra):
        return [harness.SLUICE, "probe", "--colour", "never", "--no-ciphers", "--ca-file", self.certs["ca.pem"],
                *extra]

    def test_certificate_verdicts_say_what_validating_connectors_do(self):
        p = subprocess.run(self.probe_args("--json", self.self_signed, self.trusted), capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)  # opportunistic delivery works with both
        report = json.loads(p.stdout)
        by_target = {t["target"]: t for t in report["targets"]}

        bad = by_target[self.self_signed]
        [chain] = bad["certificates"]
        self.assertEqual((chain["trusted"], chain["name_matches"], chain["chain"][0]["self_signed"]),
                         (False, False, True))
        [eo] = [v for v in bad["verdicts"] if v["profile"] == "exchange-online"]
        self.assertTrue(eo["pass"])
        reasons = "\n".join(eo["reasons"])
        self.assertIn("The certificate (/CN=mx.probe.test) is self-signed: no certificate authority vouches for it.",
                      reasons)
        self.assertIn("The certificate does not match the host name 127.0.0.1 (it names mx.probe.test).", reasons)
        self.assertIn("probe the server by that name", reasons)
        consequences = "\n".join(eo["consequences"])
        for words in ("does not validate certificates", "TlsSettings CertificateValidation or DomainValidation",
                      "partner connector that requires a certificate subject",
                      "450 4.7.320 Certificate validation failed", "(MSG=SubjectMismatch)", "MTA-STS", "DANE-EE"):
            self.assertIn(words, consequences)

        good = by_target[self.trusted]
        [eo] = [v for v in good["verdicts"] if v["profile"] == "exchange-online"]
        self.assertTrue(eo["pass"])
        self.assertIn("The certificate is trusted and matches 127.0.0.1.", eo["reasons"])
        self.assertEqual(eo["consequences"], [])

        # The text report says the same, marked as what stricter peers do.
        text = subprocess.run(self.probe_args(self.self_signed), capture_output=True, text=True, timeout=120).stdout
        self.assertIn("certificate self-signed, does not match 127.0.0.1", text)
        self.assertIn("but: Exchange Online's default delivery uses opportunistic TLS", text)

    def test_results_stream_as_each_target_finishes(self):
        slow = SilentServer()
        self.addCleanup(slow.release)
        master, slave = pty.openpty()
        proc = subprocess.Popen(
            self.probe_args("--retries", "0", "--banner-timeout", "300", f"127.0.0.1:{slow.port}", self.trusted),
            stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        lines, terminal = queue.Queue(), queue.Queue()
        threading.Thread(target=read_lines, args=(proc.stdout, lines), daemon=True).start()
        threading.Thread(target=read_pty, args=(master, terminal), daemon=True).start()

        # The fast target's line comes while the slow one is still being held.
        first = lines.get(timeout=60)
        self.assertIsNotNone(first)
        self.assertTrue(first.startswith(f"{self.trusted}  PASS exchange-online  TLS 1.2, 1.3"), first)
        self.assertTrue(slow.accepted.is_set())
        self.assertIsNone(proc.poll(), "the probe must still be waiting for the slow target")
        seen = ""
        while "probe: 1 of 2 targets done (1 pass)" not in seen:
            chunk = terminal.get(timeout=60)
            self.assertIsNotNone(chunk, seen)
            seen += chunk
        self.assertIn("probe: 0 of 2 targets done", seen)

        slow.release()
        self.assertEqual(proc.wait(timeout=60), 1)  # the slow target was never assessed
        rest = []
        while (line := lines.get(timeout=10)) is not None:
            rest.append(line)
        proc.stdout.close()
        self.assertTrue(rest[0].startswith(f"127.0.0.1:{slow.port}  FAIL exchange-online  not assessed: "), rest[0])
        # Then the full report, in the order the targets were given.
        report = "".join(rest[1:])
        self.assertLess(report.index(f"127.0.0.1:{slow.port}"), report.index(self.trusted))
        self.assertTrue(report.rstrip().endswith("1 of 2 targets pass the exchange-online profile"), report[-200:])
        # The progress line was taken away at the end: nothing is left on the terminal's last line.
        while (chunk := terminal.get(timeout=10)) is not None:
            seen += chunk
        self.assertTrue(seen.endswith("\r\x1b[K"), repr(seen[-60:]))
        os.close(master)

    def test_json_stays_one_document_while_progress_goes_to_the_terminal(self):
        master, slave = pty.openpty()
        proc = subprocess.Popen(self.probe_args("--json", self.trusted, self.self_signed), stdout=subprocess.PIPE,
                                stderr=slave)
        os.close(slave)
        terminal = queue.Queue()
        threading.Thread(target=read_pty, args=(master, terminal), daemon=True).start()
        out, _ = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0)
        report = json.loads(out)
        self.assertEqual([t["target"] for t in report["targets"]], [self.trusted, self.self_signed])
        seen = ""
        while (chunk := terminal.get(timeout=10)) is not None:
            seen += chunk
        self.assertIn("probe: 1 of 2 targets done", seen)
        os.close(master)
        # Without a terminal there is no progress line at all.
        p = subprocess.run(self.probe_args("--csv", self.trusted), capture_output=True, text=True, timeout=120)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        self.assertTrue(p.stdout.startswith("target,address,port,category,item,value,detail\n"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
