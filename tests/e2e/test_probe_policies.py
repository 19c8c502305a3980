"""`sluice probe --mx` reporting each domain's MTA-STS, DANE and TLS-RPT against real components:
the test's own DNS server (MX, A, TXT, TLSA, the AD bit of a validating resolver), a real HTTPS
server with a test CA serving the policies (Python's ssl), and `sluice serve` presenting a
certificate from that CA whose key the TLSA records pin (or not). One probe run covers the broken
domains (all good, an MX outside an enforced policy, a policy answered with 404, one over the size
limit, a TLSA mismatch, malformed TXT records); the good domain alone passes, in text and JSON."""
import hashlib
import http.server
import json
import ssl
import subprocess
import threading
import unittest

import harness
from dns_server import DnsServer
from pki import Pki

DOMAINS = ("good", "notinpolicy", "nofetch", "huge", "mismatch", "malformed")


def openssl(*args, stdin=None):
    return subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60, input=stdin).stdout


def spki_sha256(cert_path):
    """What a "3 1 1" TLSA record of this certificate carries, computed by openssl."""
    pubkey = openssl("x509", "-in", cert_path, "-noout", "-pubkey")
    der = openssl("pkey", "-pubin", "-outform", "DER", stdin=pubkey)
    return hashlib.sha256(der).hexdigest()


POLICIES = {
    # CRLF line ends here, LF below: both are valid (RFC 8461 3.2).
    "good": "version: STSv1\r\nmode: enforce\r\nmx: mx1.good.test\r\nmx: *.good.test\r\nmax_age: 604800\r\n",
    "notinpolicy": "version: STSv1\nmode: enforce\nmx: mx1.notinpolicy.test\nmax_age: 604800\n",
    "huge": "version: STSv1\nmode: enforce\nmx: mx1.huge.test\nmax_age: 604800\n" + "# padding\n" * 7000,
    "mismatch": "version: STSv1\nmode: testing\nmx: *.mismatch.test\nmax_age: 604800\n",
}


class PolicyHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        domain = self.headers.get("Host", "").split(":")[0].removeprefix("mta-sts.").removesuffix(".test")
        body = POLICIES.get(domain)
        if self.path != "/.well-known/mta-sts.txt" or body is None:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class ProbePoliciesTest(unittest.TestCase):
    CTEST_SECONDS = 10  # about 1 s in the release tree

    @classmethod
    def setUpClass(cls):
        # A test CA and one leaf naming every MX host and every mta-sts host of the test domains.
        pki = Pki(prefix="probe-policies-")
        ca = pki.ca("PolicyCA")
        names = [f"{h}.{d}.test" for d in DOMAINS for h in ("mx1", "mx2", "mta-sts")]
        leaf, key = pki.leaf("leaf", "PolicyCA", *names)
        c = cls.certs = {"ca.pem": ca, "leaf.pem": leaf, "leaf.key": key}
        cls.sluice = harness.Sluice([{"name": "Mx", "tls": {"certificate": c["leaf.pem"], "key": c["leaf.key"]}}])
        cls.sluice.start()
        cls.addClassCleanup(cls.sluice.stop)

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(c["leaf.pem"], c["leaf.key"])
        cls.https = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PolicyHandler)
        cls.https.socket = context.wrap_socket(cls.https.socket, server_side=True)
        threading.Thread(target=cls.https.serve_forever, daemon=True).start()
        cls.addClassCleanup(cls.https.server_close)
        cls.addClassCleanup(cls.https.shutdown)

        cls.port = cls.sluice.port_of("Mx")
        key = spki_sha256(c["leaf.pem"])
        zone = {}
        for d in DOMAINS:
            zone[f"{d}.test"] = {"MX": [(10, f"mx1.{d}.test"), (20, f"mx2.{d}.test")]}
            for h in ("mx1", "mx2", "mta-sts"):
                zone[f"{h}.{d}.test"] = {"A": ["127.0.0.1"]}
                if h != "mta-sts":
                    zone[f"_{cls.port}._tcp.{h}.{d}.test"] = {"TLSA": [(3, 1, 1, key)]}
            zone[f"_mta-sts.{d}.test"] = {"TXT": ["v=STSv1; id=20261208T0100;"]}
            zone[f"_smtp._tls.{d}.test"] = {"TXT": [f"v=TLSRPTv1; rua=mailto:tlsrpt@{d}.test"]}
        zone[f"_{cls.port}._tcp.mx2.mismatch.test"] = {"TLSA": [(3, 1, 1, "ab" * 32)]}
        # Unknown parameters beside a good record: ignored, said why.
        zone[f"_{cls.port}._tcp.mx1.mismatch.test"] = {"TLSA": [(3, 1, 1, key), (2, 7, 9, "abcd")]}
        zone["_mta-sts.malformed.test"] = {"TXT": ["v=STSv1; id=not valid!;"]}
        zone["_smtp._tls.malformed.test"] = {"TXT": ["v=TLSRPTv1; rua=ftp://reports.malformed.test"]}
        # A validating resolver's AD bit on every answer: the zones count as DNSSEC-signed.
        cls.dns = DnsServer(zone, ad=True).start()
        cls.addClassCleanup(cls.dns.stop)
        # The same zone from a server that sets no AD bit: nothing is DNSSEC-signed.
        cls.unsigned_dns = DnsServer(zone).start()
        cls.addClassCleanup(cls.unsigned_dns.stop)

    def probe(self, *args, dns=None):
        return subprocess.run(
            [harness.SLUICE, "probe", "--colour", "never", "--no-ciphers", "--profile", "modern", "--retries", "0", "--port", str(self.port),
             "--dns-server", (dns or self.dns).address, "--ca-file", self.certs["ca.pem"], "--mta-sts-port",
             str(self.https.server_address[1]), *args],
            capture_output=True, text=True, timeout=120)

    def test_good_domain_passes_with_good_news(self):
        p = self.probe("--mx", "good.test")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        section = p.stdout[p.stdout.index("good.test: MTA-STS, DANE, TLS-RPT"):]
        self.assertIn("  MX        mx1.good.test (10), mx2.good.test (20) (DNSSEC-signed)", section)
        self.assertIn("mode enforce, max_age 604800, mx mx1.good.test, *.good.test", section)
        self.assertIn("mx2.good.test is in the policy", section)
        self.assertIn("ok       MTA-STS enforce (id 20261208T0100, max_age 604800 s): every MX host is in the policy "
                      "and presents a trusted certificate with its name", section)
        pinned = spki_sha256(self.certs["leaf.pem"])[:12]
        self.assertIn(f"ok       DANE: mx1.good.test's certificate matches TLSA 3 1 1 {pinned}...", section)
        self.assertIn("ok       TLS-RPT: reports go to mailto:tlsrpt@good.test", section)
        self.assertNotIn("problem ", section)
        self.assertNotIn("warning ", section)

    def test_broken_domains_each_get_a_verdict_and_fail_the_run(self):
        args = [a for d in DOMAINS for a in ("--mx", f"{d}.test")]
        p = self.probe("--json", *args)
        self.assertEqual(p.returncode, 1, p.stderr)
        report = json.loads(p.stdout)
        self.assertEqual(report["schema"], "sluice-probe/1")
        self.assertTrue(report["pass"], "every target passes the profile: only the policies fail")
        self.assertFalse(report["policy_pass"])
        domains = {d["domain"]: d for d in report["domains"]}
        self.assertEqual(list(domains), [f"{d}.test" for d in DOMAINS])

        def problems(name):
            return [v["text"] for v in domains[name]["verdicts"] if v["level"] == "problem"]

        good = domains["good.test"]
        self.assertTrue(good["pass"], good["verdicts"])
        self.assertTrue(good["mx"]["dnssec"])
        self.assertEqual(good["mta_sts"]["policy"], {"mode": "enforce", "mx": ["mx1.good.test", "*.good.test"],
                                                     "max_age": 604800})
        self.assertEqual([h["in_mta_sts_policy"] for h in good["hosts"]], [True, True])
        self.assertEqual(good["tls_rpt"]["rua"], ["mailto:tlsrpt@good.test"])
        [cert] = good["hosts"][0]["certificates"]
        self.assertTrue(cert["tlsa_match"].startswith("3 1 1 "), cert)

        self.assertEqual(problems("notinpolicy.test"), [
            "MTA-STS enforce, but mx2.notinpolicy.test is not in the policy (mx: mx1.notinpolicy.test): senders that "
            "honour MTA-STS will not deliver to it"])
        self.assertEqual([h["in_mta_sts_policy"] for h in domains["notinpolicy.test"]["hosts"]], [True, False])

        port = self.https.server_address[1]
        self.assertEqual(problems("nofetch.test"), [
            "MTA-STS TXT record present but the policy cannot be fetched "
            f"(https://mta-sts.nofetch.test:{port}/.well-known/mta-sts.txt: answered HTTP 404): senders treat the "
            "domain as having no policy (or keep a cached one until it expires)"])
        self.assertEqual(domains["nofetch.test"]["mta_sts"]["failure_type"], "sts-policy-fetch-error")

        [huge] = problems("huge.test")
        self.assertIn("the policy cannot be fetched", huge)
        self.assertIn("answer larger than 64 KiB", huge)

        [mismatch] = problems("mismatch.test")
        self.assertEqual(mismatch, "DANE: mx2.mismatch.test's certificate (/O=Test/CN=mx1.good.test) does not match its TLSA "
                                   "records (3 1 1 abababababab...): DANE senders will defer all mail to it")
        mx2 = domains["mismatch.test"]["hosts"][1]
        self.assertEqual((mx2["tlsa_dnssec"], mx2["certificates"][0]["tlsa_match"]), (True, None))
        mx1 = domains["mismatch.test"]["hosts"][0]
        self.assertEqual([r["usable"] for r in mx1["tlsa"]], [True, False])
        self.assertEqual(len(mx1["unusable"]), 1)
        self.assertTrue(mx1["unusable"][0].startswith("2 7 9 abcd: "), mx1["unusable"])
        self.assertTrue(mx1["certificates"][0]["tlsa_match"].startswith("3 1 1 "))

        malformed = problems("malformed.test")
        self.assertEqual(len(malformed), 2, malformed)
        self.assertTrue(malformed[0].startswith("MTA-STS TXT record at _mta-sts.malformed.test is invalid ("))
        self.assertTrue(malformed[1].startswith("TLS-RPT record at _smtp._tls.malformed.test is invalid ("))
        self.assertIsNone(domains["malformed.test"]["mta_sts"]["url"], "an invalid record is not followed")

        # CSV carries the same verdicts, one row each.
        csv = self.probe("--csv", "--mx", "notinpolicy.test").stdout
        self.assertIn(",policy,problem,MTA-STS enforce, but mx2.notinpolicy.test".replace(",MTA", ",\"MTA"), csv)

    def test_tlsa_without_a_signed_mx_answer_does_not_apply(self):
        p = self.probe("--json", "--mx", "mismatch.test", dns=self.unsigned_dns)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)  # the mismatching TLSA of mx2 binds no sender
        [domain] = json.loads(p.stdout)["domains"]
        self.assertFalse(domain["mx"]["dnssec"])
        warnings = [v["text"] for v in domain["verdicts"] if v["level"] == "warning"]
        self.assertIn(f"TLSA records at _{self.port}._tcp.mx2.mismatch.test but the MX answer is not DNSSEC-signed: "
                      "DANE does not apply", warnings)
        self.assertEqual([v for v in domain["verdicts"] if v["level"] == "problem"], [])

    def test_ad_bit_of_a_resolver_not_trusted_is_ignored(self):
        p = self.probe("--json", "--mx", "mismatch.test", "--dnssec-trusted", f"127.0.0.1:{harness.free_port()}")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        [domain] = json.loads(p.stdout)["domains"]
        self.assertEqual((domain["mx"]["dnssec"], domain["hosts"][1]["tlsa_dnssec"]), (False, False))
        self.assertEqual([v for v in domain["verdicts"] if v["level"] == "problem"], [])
        # Trusted by name, the same server's AD bit counts again.
        p = self.probe("--json", "--mx", "mismatch.test", "--dnssec-trusted", self.dns.address)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertTrue(json.loads(p.stdout)["domains"][0]["mx"]["dnssec"])

    def test_no_policy_skips_the_checks(self):
        p = self.probe("--json", "--no-policy", "--mx", "nofetch.test")
        self.assertEqual(p.returncode, 0, p.stderr)
        report = json.loads(p.stdout)
        self.assertEqual((report["domains"], report["policy_pass"]), ([], True))


if __name__ == "__main__":
    unittest.main()
