"""`sluice probe` against real servers, checked against sslscan and testssl.sh on the same targets:
Postfix with smtpd_tls_protocols set to >=TLSv1.2, TLSv1 and everything, `sluice serve` with the
default and the legacy policy, and a server without STARTTLS (Postfix with TLS off). The per-version
findings must equal both peers', the TLS 1.2 (and 1.0, 1.3) suite lists must equal sslscan's, and
the verdicts and exit statuses must follow."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

import harness
import postfix_peer
from postfix_peer import PostfixPeer, make_certificate

# Keeps a core busy: ctest counts each of its cases as two slots (tests/e2e/ctest_cases.py).
CTEST_PROCESSORS = 2

SSLSCAN = shutil.which("sslscan")
TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")
VERSIONS = ["1.0", "1.1", "1.2", "1.3"]
# testssl.sh (a shell script, ~30 s a target) checks the peers' answers, not sluice's code: the
# sanitizer suite (SLUICE_SANITIZER) compares the probe with sslscan only, which covers the same probe
# code in a second, and the release suite compares with both.
WITH_TESTSSL = not os.environ.get("SLUICE_SANITIZER")
POSTFIX_TLS = {
    "postfix-modern": {"smtpd_tls_protocols": ">=TLSv1.2", "smtpd_tls_mandatory_protocols": ">=TLSv1.2"},
    "postfix-tls10": {"smtpd_tls_protocols": "TLSv1", "smtpd_tls_mandatory_protocols": "TLSv1"},
    # Everything this OpenSSL can do; Postfix lowers the security level itself for old versions.
    "postfix-all": {"smtpd_tls_protocols": ">=TLSv1", "smtpd_tls_mandatory_protocols": ">=TLSv1"},
}


def probe(*args):
    p = subprocess.run([harness.SLUICE, "probe", "--colour", "never", *args], capture_output=True, text=True,
                       timeout=120)
    return p


def sslscan_findings(port):
    """{version: enabled}, {version: [suite, ...]}, {(version, suite): DH bits} from sslscan's XML."""
    out = subprocess.run([SSLSCAN, "--starttls-smtp", "--xml=-", "--no-colour", f"127.0.0.1:{port}"],
                         capture_output=True, text=True, timeout=120).stdout
    root = ET.fromstring(out[out.index("<?xml"):])
    versions = {p.get("version"): p.get("enabled") == "1"
                for p in root.iter("protocol") if p.get("type") == "tls"}
    suites, dh_bits = {}, {}
    for c in root.iter("cipher"):
        version = c.get("sslversion").replace("TLSv", "")
        suites.setdefault(version, []).append(c.get("cipher"))
        if c.get("dhebits"):
            dh_bits[(version, c.get("cipher"))] = c.get("dhebits")
    return versions, suites, dh_bits


def start_testssl(port, folder):
    """testssl.sh's protocol check (always --nodns none: no DNS off this machine), in the background."""
    path = os.path.join(folder, f"testssl-{port}.json")
    proc = subprocess.Popen([TESTSSL, "--quiet", "--nodns", "none", "--warnings", "off", "--starttls", "smtp",
                             "-p", "--jsonfile", path, f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, path


def testssl_versions(path):
    ids = {"TLS1": "1.0", "TLS1_1": "1.1", "TLS1_2": "1.2", "TLS1_3": "1.3"}
    with open(path) as f:
        records = json.load(f)
    out = {}
    for r in records:
        if r.get("id") in ids:
            finding = r.get("finding", "")
            out[ids[r["id"]]] = finding.startswith("offered")
    return out


@unittest.skipIf(postfix_peer.available(), postfix_peer.available())
@unittest.skipUnless(SSLSCAN and TESTSSL, "sslscan and testssl.sh are installed by scripts/install-deps")
class ProbeAgainstPeers(unittest.TestCase):
    CTEST_SECONDS = 35  # its rough duration: ctest starts the longest first

    @classmethod
    def setUpClass(cls):
        cls.ports = {}
        cls.postfixes = []
        cert, key = make_certificate(subject="/CN=pf.test")
        for name, tls in POSTFIX_TLS.items():
            settings = {"smtpd_tls_security_level": "may", "smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key}
            settings.update(tls)
            pf = PostfixPeer(settings, hostname=name + ".test").start()
            cls.postfixes.append(pf)
            cls.ports[name] = pf.port
        pf = PostfixPeer({"smtpd_tls_security_level": "none"}, hostname="plain.test").start()
        cls.postfixes.append(pf)
        cls.ports["no-starttls"] = pf.port
        cls.sluice = harness.Sluice([{"name": "Default"}, {"name": "Legacy", "tls": {"profile": "legacy"}}]).start()
        cls.ports["sluice-modern"] = cls.sluice.port_of("Default")
        cls.ports["sluice-legacy"] = cls.sluice.port_of("Legacy")
        cls.folder = tempfile.mkdtemp(prefix="probe-peers-")
        harness._made_dirs.append(cls.folder)
        # testssl.sh takes seconds per target: all of them at once, read at the end.
        cls.testssl = {name: start_testssl(port, cls.folder) for name, port in cls.ports.items()
                       if name != "no-starttls" and WITH_TESTSSL}
        cls.results = {}
        for name, port in cls.ports.items():
            p = probe("--json", f"127.0.0.1:{port}")
            cls.results[name] = (p.returncode, json.loads(p.stdout) if p.stdout.startswith("{") else None, p.stderr)
        cls.sslscan = {name: sslscan_findings(port) for name, port in cls.ports.items() if name != "no-starttls"}
        for proc, _ in cls.testssl.values():
            proc.wait(timeout=240)

    @classmethod
    def tearDownClass(cls):
        cls.sluice.stop()
        for pf in cls.postfixes:
            pf.cleanup()

    def target(self, name):
        status, report, stderr = self.results[name]
        self.assertIsNotNone(report, stderr)
        [t] = report["targets"]
        return status, t

    def offered(self, name):
        _, t = self.target(name)
        return {v["version"]: v["state"] == "offered" for v in t["versions"]}

    def test_versions_equal_sslscan_and_testssl(self):
        expected = {
            "postfix-modern": {"1.0": False, "1.1": False, "1.2": True, "1.3": True},
            "postfix-tls10": {"1.0": True, "1.1": False, "1.2": False, "1.3": False},
            "postfix-all": {"1.0": True, "1.1": True, "1.2": True, "1.3": True},
            "sluice-modern": {"1.0": False, "1.1": False, "1.2": True, "1.3": True},
            "sluice-legacy": {"1.0": True, "1.1": True, "1.2": True, "1.3": True},
        }
        for name, want in expected.items():
            with self.subTest(target=name):
                ours = self.offered(name)
                sslscan = {v: self.sslscan[name][0].get(v, False) for v in VERSIONS}
                self.assertEqual(ours, want)
                self.assertEqual(ours, sslscan, "sluice probe and sslscan disagree")
                if WITH_TESTSSL:
                    testssl = testssl_versions(self.testssl[name][1])
                    self.assertEqual(ours, {v: testssl.get(v) for v in VERSIONS}, "sluice probe and testssl disagree")

    def test_suites_equal_sslscan(self):
        for name in self.sslscan:
            _, t = self.target(name)
            for v in t["versions"]:
                if v["state"] != "offered":
                    continue
                with self.subTest(target=name, version=v["version"]):
                    ours = [s["name"] for s in v["suites"]]
                    theirs = self.sslscan[name][1].get(v["version"], [])
                    self.assertTrue(v["enumeration_complete"], v["detail"])
                    self.assertEqual(sorted(ours), sorted(theirs))
                    if v["order"] == "server":
                        # Both walk the server's preference: the same order too.
                        self.assertEqual(ours, theirs)

    def test_dh_sizes_equal_sslscan(self):
        # Only the first DHE handshake of a version reads the DH size; the others stop at the
        # certificate and show it (docs/probe.md): each must still agree with sslscan, which reads
        # every one.
        checked = 0
        for name in self.sslscan:
            _, t = self.target(name)
            for v in t["versions"]:
                for suite in v["suites"]:
                    bits = self.sslscan[name][2].get((v["version"], suite["name"]))
                    if bits:
                        with self.subTest(target=name, version=v["version"], suite=suite["name"]):
                            self.assertEqual(suite["key_exchange"], f"DH {bits}")
                            checked += 1
        self.assertGreater(checked, 10, "Postfix offers DHE suites in TLS 1.0 to 1.2")

    def test_refused_versions_carry_the_servers_answer(self):
        _, t = self.target("sluice-modern")
        v10 = next(v for v in t["versions"] if v["version"] == "1.0")
        self.assertEqual(v10["state"], "not-offered")
        self.assertEqual(v10["detail"], "alert protocol version")
        _, t = self.target("postfix-tls10")
        v12 = next(v for v in t["versions"] if v["version"] == "1.2")
        self.assertEqual(v12["state"], "not-offered")
        self.assertTrue(v12["detail"], "the reason a version is refused is always given")

    def test_exchange_online_verdicts_and_exit_status(self):
        for name, passes in [("postfix-modern", True), ("sluice-modern", True), ("postfix-all", True),
                             ("postfix-tls10", False), ("no-starttls", False)]:
            with self.subTest(target=name):
                status, t = self.target(name)
                verdict = next(v for v in t["verdicts"] if v["profile"] == "exchange-online")
                self.assertEqual(verdict["pass"], passes, verdict["reasons"])
                self.assertEqual(status, 0 if passes else 1)
        _, t = self.target("postfix-tls10")
        verdict = next(v for v in t["verdicts"] if v["profile"] == "exchange-online")
        self.assertIn("TLS 1.2 is not offered", " ".join(verdict["reasons"]))
        self.assertIn("421 4.4.2 Connection dropped due to SocketError", " ".join(verdict["consequences"]))
        _, t = self.target("no-starttls")
        self.assertFalse(t["smtp"]["starttls_offered"])
        verdict = next(v for v in t["verdicts"] if v["profile"] == "exchange-online")
        self.assertIn("450 4.4.317", " ".join(verdict["consequences"]))

    def test_modern_profile_fails_legacy_servers(self):
        for name, passes in [("postfix-modern", True), ("sluice-modern", True), ("postfix-all", False),
                             ("sluice-legacy", False), ("postfix-tls10", False)]:
            with self.subTest(target=name):
                _, t = self.target(name)
                verdict = next(v for v in t["verdicts"] if v["profile"] == "modern")
                self.assertEqual(verdict["pass"], passes, verdict["reasons"])
        p = probe("--profile", "modern", f"127.0.0.1:{self.ports['postfix-all']}")
        self.assertEqual(p.returncode, 1)
        self.assertIn("TLS 1.0 is offered; RFC 8996 says it MUST NOT be used.", p.stdout)

    def test_smtp_facts(self):
        _, t = self.target("postfix-modern")
        smtp = t["smtp"]
        self.assertTrue(smtp["banner"].startswith("220 postfix-modern.test ESMTP"))
        self.assertEqual(smtp["ehlo_name"], "postfix-modern.test")
        self.assertIn("STARTTLS", smtp["capabilities"])
        self.assertNotIn("STARTTLS", smtp["capabilities_after_tls"])
        self.assertTrue(smtp["starttls_reply"].startswith("220 2.0.0"))
        self.assertFalse(smtp["plaintext_mail"]["refused"])
        # Postfix and sluice both throw away what was pipelined after STARTTLS (CVE-2011-0411).
        self.assertIs(smtp["starttls_injection"]["vulnerable"], False)
        _, t = self.target("sluice-modern")
        self.assertIs(t["smtp"]["starttls_injection"]["vulnerable"], False)

    def test_certificates(self):
        _, t = self.target("postfix-modern")
        [chain] = t["certificates"]
        leaf = chain["chain"][0]
        self.assertEqual(leaf["subject"], "/CN=pf.test")
        self.assertEqual((leaf["key_type"], leaf["key_bits"]), ("RSA", 2048))
        self.assertEqual(leaf["signature_algorithm"], "sha256WithRSAEncryption")
        self.assertTrue(leaf["self_signed"])
        self.assertIn(leaf["days_left"], (1, 2))
        self.assertFalse(chain["trusted"])
        self.assertEqual(chain["expected_name"], "127.0.0.1")
        self.assertFalse(chain["name_matches"])
        # sluice serve presents an ECDSA and an RSA certificate: both are reported.
        _, t = self.target("sluice-modern")
        self.assertEqual(sorted(c["chain"][0]["key_type"] for c in t["certificates"]), ["EC", "RSA"])

    def test_csv_has_one_row_per_finding(self):
        p = probe("--csv", f"127.0.0.1:{self.ports['postfix-tls10']}")
        self.assertEqual(p.returncode, 1)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0], "target,address,port,category,item,value,detail")
        self.assertIn("tls-version,TLSv1.0,offered", p.stdout)
        self.assertIn("tls-version,TLSv1.2,not-offered", p.stdout)
        self.assertTrue(any(",verdict,exchange-online,fail," in line for line in lines))


class ProbeMx(unittest.TestCase):
    """--mx goes through the gateway's resolver code, here against a DNS server on loopback."""

    def test_every_mx_host_by_preference(self):
        from dns_server import DnsServer
        zone = {
            "example.test": {"MX": [(20, "mx2.example.test"), (10, "mx1.example.test")]},
            "mx1.example.test": {"A": ["127.0.0.1"]},
            "mx2.example.test": {"A": ["127.0.0.1"]},
            "nomail.test": {"MX": [(0, ".")]},
        }
        with harness.Sluice() as sluice, DnsServer(zone) as dns:
            p = probe("--json", "--mx", "example.test", "--port", str(sluice.port), "--dns-server", dns.address)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            targets = json.loads(p.stdout)["targets"]
            self.assertEqual([(t["host"], t["mx_preference"], t["mx_domain"]) for t in targets],
                             [("mx1.example.test", 10, "example.test"), ("mx2.example.test", 20, "example.test")])
            self.assertEqual({t["address"] for t in targets}, {"127.0.0.1"})
            # The certificate is checked against the MX host name.
            self.assertEqual(targets[0]["certificates"][0]["expected_name"], "mx1.example.test")
            p = probe("--mx", "nomail.test", "--dns-server", dns.address)
            self.assertEqual(p.returncode, 1)
            self.assertIn("null MX", p.stderr)


class ProbeUsage(unittest.TestCase):
    def test_usage_errors_exit_2(self):
        for args in [[], ["not a host!"], ["host:99999"], ["--profile", "nonsense", "127.0.0.1"],
                     ["--json", "--csv", "127.0.0.1"]]:
            with self.subTest(args=args):
                p = probe(*args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn("sluice probe:", p.stderr)

    def test_unreachable_target_fails_with_reason(self):
        port = harness.free_port()
        p = probe("--json", "--retries", "0", f"127.0.0.1:{port}")
        self.assertEqual(p.returncode, 1)
        [t] = json.loads(p.stdout)["targets"]
        self.assertIn("Connection refused", t["error"])
        self.assertFalse(t["pass"])

    def test_tarpit_is_reported_as_such(self):
        import socket
        import threading
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        held = []
        threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
        p = probe("--json", "--retries", "0", "--banner-timeout", "0.5", f"127.0.0.1:{server.getsockname()[1]}")
        server.close()
        [t] = json.loads(p.stdout)["targets"]
        self.assertEqual(p.returncode, 1)
        self.assertIn("no greeting within 0.5 s (a tarpit, or not an SMTP server)", t["error"])

    def test_busy_server_is_not_reported_as_no_tls(self):
        import socket
        import threading
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(16)

        def answer():
            while True:
                try:
                    c, _ = server.accept()
                except OSError:
                    return
                c.sendall(b"421 4.7.0 Too many connections, try later\r\n")
                c.close()
        threading.Thread(target=answer, daemon=True).start()
        p = probe("--json", "--retries", "1", "--retry-delay", "50", f"127.0.0.1:{server.getsockname()[1]}")
        server.close()
        [t] = json.loads(p.stdout)["targets"]
        self.assertEqual(t["connections"], 2, "an inconclusive answer is asked again")
        self.assertIn("421 4.7.0 Too many connections", t["error"])
        self.assertTrue(all(v["state"] == "not-tested" for v in t["versions"]))


if __name__ == "__main__":
    unittest.main()
