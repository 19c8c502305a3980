"""The TLS scan of docs/security.md: `sluice serve` with default TLS settings, scanned through
STARTTLS by testssl.sh and sslscan, offers nothing below TLS 1.2 and no weak cipher (RC4, 3DES and
single DES, NULL, EXPORT, anonymous key exchange, MD5).

"Default settings": a receive connector without a [receive_connector.tls] table (profile
"default", the generated certificate), as a configuration file without any connector has.
testssl.sh runs once with protocols (-p), cipher categories (-s) and RC4 (-4), always with
`--nodns none` (no DNS lookups off this machine); about 11 s on an idle machine. Its per-cipher
listing (-E) takes 30 s to minutes on a busy 2-core machine, so the cipher-by-cipher check is
sslscan's, which lists every accepted cipher in about a second."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

# Keeps a core busy: ctest counts each of its cases as two slots (tests/e2e/ctest_cases.py).
CTEST_PROCESSORS = 2

TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")
SSLSCAN = shutil.which("sslscan")
# OpenSSL and IANA spellings of what must never be offered.
WEAK = re.compile(r"RC4|3DES|DES-CBC|_DES_|DES_CBC|NULL|EXP|EXPORT|ADH|AECDH|anon|MD5", re.I)
MODERN = {"TLSv1.2", "TLSv1.3"}


class TlsScan(unittest.TestCase):
    CTEST_SECONDS = 18  # its rough duration: ctest starts the longest first

    @classmethod
    def setUpClass(cls):
        cls.sluice = harness.Sluice([{"name": "Default"}])
        cls.addClassCleanup(cls._stop)
        cls.sluice.start()
        cls.target = f"127.0.0.1:{cls.sluice.port}"

    @classmethod
    def _stop(cls):
        status = cls.sluice.stop()
        if status != 0:
            raise AssertionError(f"sluice exited with {status}: {cls.sluice.server_log()}")

    def test_testssl(self):
        if not TESTSSL:
            self.skipTest("testssl.sh is not installed (scripts/install-deps installs it)")
        out_dir = tempfile.mkdtemp(prefix="testssl-")
        harness._made_dirs.append(out_dir)
        json_path = os.path.join(out_dir, "scan.json")
        p = subprocess.run([TESTSSL, "--nodns", "none", "--starttls", "smtp", "--jsonfile", json_path,
                            "--quiet", "--color", "0", "--warnings", "batch", "-p", "-s", "-4", self.target],
                           capture_output=True, text=True, timeout=100)
        self.assertTrue(os.path.exists(json_path), p.stdout + p.stderr)
        with open(json_path) as f:
            findings = {x["id"]: x for x in json.load(f)}
        report = "\n".join(f"{k}: {v['finding']}" for k, v in findings.items())
        self.assertEqual(findings["service"]["finding"], "smtp", report)

        for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
            self.assertEqual(findings[old]["finding"], "not offered", f"{old}\n{report}")
        self.assertEqual(findings["TLS1_2"]["finding"], "offered", report)
        self.assertTrue(findings["TLS1_3"]["finding"].startswith("offered"), report)

        for category in ("NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA"):
            self.assertEqual(findings[f"cipherlist_{category}"]["finding"], "not offered", f"{category}\n{report}")
        self.assertEqual(findings["RC4"]["finding"], "not vulnerable", report)

        # The categories of good ciphers are there: the scan did reach the handshake.
        self.assertEqual(findings["cipherlist_STRONG"]["finding"], "offered", report)

    def test_sslscan(self):
        if not SSLSCAN:
            self.skipTest("sslscan is not installed (scripts/install-deps installs it)")
        p = subprocess.run([SSLSCAN, "--starttls-smtp", "--no-colour", "--xml=-", self.target],
                           capture_output=True, text=True, timeout=60)
        xml = p.stdout[p.stdout.index("<?xml"):]
        test = ET.fromstring(xml).find("ssltest")
        self.assertIsNotNone(test, xml)
        protocols = {(e.get("type"), e.get("version")): e.get("enabled") for e in test.findall("protocol")}
        self.assertEqual(protocols, {("ssl", "2"): "0", ("ssl", "3"): "0", ("tls", "1.0"): "0",
                                     ("tls", "1.1"): "0", ("tls", "1.2"): "1", ("tls", "1.3"): "1"}, xml)
        ciphers = [c.attrib for c in test.findall("cipher")]
        self.assertGreater(len(ciphers), 3, xml)
        # Exchange Online's first choice is among them (docs/configuration.md, "default" profile).
        self.assertIn(("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384"), [(c["sslversion"], c["cipher"]) for c in ciphers])
        for c in ciphers:
            with self.subTest(cipher=c["cipher"], version=c["sslversion"]):
                self.assertIn(c["status"], ("preferred", "accepted"))
                self.assertIn(c["sslversion"], MODERN)
                self.assertNotRegex(c["cipher"], WEAK)
                self.assertIn(c["strength"], ("strong", "acceptable"))
                self.assertGreaterEqual(int(c["bits"]), 128)


if __name__ == "__main__":
    unittest.main(verbosity=2)
