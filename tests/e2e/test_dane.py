"""DANE for SMTP (RFC 7672) against real components on loopback: zones signed with ldns-signzone,
served by NSD, validated by Unbound (trust anchors: the zones' own keys), and a private Postfix as
every domain's MX with a certificate whose SubjectPublicKeyInfo hash is published as `3 1 1`.
sluice relays through a send connector with `tls = "dane"` and `dns_servers = [Unbound]` (a
loopback resolver, so its AD bit is trusted by default). One DNS pair and one Postfix serve every
case; each case is its own domain:

- good.test: TLSA matches the Postfix key: delivered over TLS, the send log names the matched record.
- wrong.test: TLSA of another key: deferred with "TLSA mismatch", never sent without it.
- bogus.test: MX signed, the TLSA RRset's signatures expired: Unbound answers SERVFAIL, deferred
  (4.7.5 "DNSSEC validation failed or DNS error"), never plaintext.
- plain.test: unsigned zone whose (wrong) TLSA is therefore ignored: delivered opportunistically.
- alias.test: its MX host is a CNAME of mx.good.test and has no TLSA records of its own; the secure
  chain makes mx.good.test the TLSA base domain (RFC 7672 2.2.2): delivered with DANE.
- rollover.test: two TLSA records, the old key's and the new key's; Postfix has the new key: delivered.
- a second sluice trusting another resolver's AD bit only: good.test's MX counts as insecure, no DANE."""
import hashlib
import json
import os
import re
import smtplib
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import dnssec_dns  # noqa: E402
import harness  # noqa: E402
import postfix_peer  # noqa: E402
from postfix_peer import PostfixPeer, make_certificate  # noqa: E402

SENDER = "alice@sluice.test"
DOMAINS = ("good.test", "wrong.test", "bogus.test", "plain.test", "rollover.test", "alias.test")


def spki_sha256(cert_path):
    """The hex SHA2-256 of a certificate's SubjectPublicKeyInfo (TLSA selector 1, matching type 1)."""
    pub = subprocess.run(["openssl", "x509", "-in", cert_path, "-noout", "-pubkey"], check=True, capture_output=True,
                         timeout=30).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, check=True,
                         capture_output=True, timeout=30).stdout
    return hashlib.sha256(der).hexdigest()


def mx_zone(port, tlsa):
    """Zone lines: an MX host on 127.0.0.1 with the given TLSA data (a list of "u s m hex")."""
    lines = ["@ IN MX 10 mx", "mx IN A 127.0.0.1"]
    lines += [f"_{port}._tcp.mx IN TLSA {t}" for t in tlsa]
    return lines


class DaneTest(unittest.TestCase):
    CTEST_SECONDS = 15

    @classmethod
    def setUpClass(cls):
        reason = dnssec_dns.available() or postfix_peer.available()
        if reason:
            raise unittest.SkipTest(reason)
        cert, key = make_certificate(subject="/CN=mx.good.test")
        old_cert, _ = make_certificate(subject="/CN=old.key.test")
        new_hash, old_hash = spki_sha256(cert), spki_sha256(old_cert)

        cls.peer = PostfixPeer({"mydestination": ", ".join(DOMAINS) + ", localhost", "smtpd_tls_loglevel": "1",
                                "smtpd_tls_security_level": "may", "smtpd_tls_cert_file": cert,
                                "smtpd_tls_key_file": key}, hostname="mx.good.test")
        cls.addClassCleanup(cls.peer.cleanup)
        cls.peer.start()
        port = cls.peer.port

        cls.dns = dnssec_dns.DnssecDns()
        cls.addClassCleanup(cls.dns.stop)
        cls.dns.add_zone("good.test", mx_zone(port, [f"3 1 1 {new_hash}"]))
        cls.dns.add_zone("wrong.test", mx_zone(port, [f"3 1 1 {old_hash}"]))
        cls.dns.add_zone("bogus.test", mx_zone(port, [f"3 1 1 {new_hash}"]), expired_types=("TLSA",))
        cls.dns.add_zone("plain.test", mx_zone(port, [f"3 1 1 {old_hash}"]), signed=False)
        cls.dns.add_zone("rollover.test", mx_zone(port, [f"3 1 1 {old_hash}", f"3 1 1 {new_hash}"]))
        cls.dns.add_zone("alias.test", ["@ IN MX 10 mx", "mx IN CNAME mx.good.test."])
        cls.dns.start()
        cls.new_hash, cls.old_hash = new_hash, old_hash

        cls.sluice = harness.Sluice(extra=f'relay_from = ["127.0.0.0/8"]\ndns_servers = ["{cls.dns.resolver}"]')
        harness.append_config(cls.sluice, harness.queue_table() + harness.toml_table(
            "[[send_connector]]", {"name": "DANE", "address_spaces": ["*"], "port": port, "tls": "dane"}))
        cls.addClassCleanup(harness.stop_and_check, cls.sluice)
        cls.sluice.start()

    # --- helpers ---

    def submit(self, domain):
        rcpt = f"user@{domain}"
        with smtplib.SMTP("127.0.0.1", self.sluice.port, timeout=30) as s:
            s.ehlo("submitter.test")
            self.assertEqual(s.mail(SENDER)[0], 250)
            self.assertEqual(s.rcpt(rcpt)[0], 250)
            code, text = s.data(f"From: {SENDER}\r\nTo: {rcpt}\r\nSubject: dane {domain}\r\n\r\nhello\r\n")
        self.assertEqual(code, 250, text)
        return re.match(r"2\.6\.0 ([0-9A-F]{16}) ", text.decode()).group(1)

    def sessions_to(self, domain):
        """The text (data and context of each line) of the finished send sessions for `domain`."""
        out = []
        for recs in harness.send_log_sessions(self.sluice).values():
            text = "\n".join(f"{r.data} {r.context}".strip() for r in recs)
            if any(r.event == "-" for r in recs) and f"user@{domain}" in text:
                out.append(text)
        return out

    def wait_delivered(self, domain):
        return harness.wait_for(f"delivery to {domain} in Postfix's log",
                                lambda: re.search(rf"to=<user@{domain}>.*status=sent", self.peer.log()), timeout=30)

    def wait_deferred(self, queue_id, attempts=2):
        def deferred():
            p = harness.queue_cli(self.sluice, "show", queue_id, "--json")
            if p.returncode != 0:
                return None
            r = json.loads(p.stdout)["recipients"][0]
            return r if r["state"] == "deferred" and r["attempts"] >= attempts else None
        return harness.wait_for(f"{queue_id} deferred {attempts} times", deferred, timeout=30)

    def postfix_got_nothing_for(self, domain):
        self.assertNotRegex(self.peer.log(), rf"to=<user@{domain}>")

    # --- cases ---

    def test_matching_tlsa_delivers_and_the_log_names_the_record(self):
        self.submit("good.test")
        self.wait_delivered("good.test")
        self.assertRegex(self.peer.log(), r"TLS connection established from localhost")
        sessions = harness.wait_for("a send session to mx.good.test", lambda: self.sessions_to("good.test"))
        self.assertIn(f"TLS policy: dane (dane): connector DANE: dane: DANE: DNSSEC-validated TLSA records for "
                      f"_{self.peer.port}._tcp.mx.good.test", sessions[-1])
        self.assertIn(f"DANE: certificate matched TLSA 3 1 1 {self.new_hash[:12]}... of mx.good.test", sessions[-1])

    def test_mx_alias_uses_the_tlsa_records_of_its_target(self):
        self.submit("alias.test")
        self.wait_delivered("alias.test")
        sessions = harness.wait_for("a send session to mx.alias.test", lambda: self.sessions_to("alias.test"))
        # Without the expansion mx.alias.test has no TLSA records and DANE would not apply.
        self.assertIn(f"DANE: DNSSEC-validated TLSA records for _{self.peer.port}._tcp.mx.good.test "
                      "(expanded from mx.alias.test)", sessions[-1])
        self.assertIn(f"DANE: certificate matched TLSA 3 1 1 {self.new_hash[:12]}... of mx.good.test", sessions[-1])

    def test_wrong_tlsa_defers_with_tlsa_mismatch(self):
        queue_id = self.submit("wrong.test")
        r = self.wait_deferred(queue_id)
        self.assertRegex(r["last_reply"], r"^4\d\d 4\.\d+\.\d+ .*TLSA mismatch: no TLSA record of mx\.wrong\.test "
                                          rf"matches its certificate chain \(3 1 1 {self.old_hash[:12]}\.\.\.\)")
        listing = harness.queue_cli(self.sluice, "list").stdout
        self.assertIn("TLSA mismatch", listing)
        self.postfix_got_nothing_for("wrong.test")

    def test_bogus_tlsa_defers_and_never_sends_in_plaintext(self):
        queue_id = self.submit("bogus.test")
        r = self.wait_deferred(queue_id)
        self.assertRegex(r["last_reply"], r"^451 4\.7\.5 TLSA lookup for _\d+\._tcp\.mx\.bogus\.test failed "
                                          r"\(DNSSEC validation failed or DNS error\): SERVFAIL from 127\.0\.0\.1:")
        self.postfix_got_nothing_for("bogus.test")
        self.assertIn("signature expired", self.dns.log("unbound.log"))

    def test_unsigned_zone_falls_back_to_opportunistic_tls(self):
        self.submit("plain.test")
        self.wait_delivered("plain.test")
        sessions = harness.wait_for("a send session to mx.plain.test", lambda: self.sessions_to("plain.test"))
        self.assertNotIn("DANE: certificate matched", sessions[-1])
        # DANE did not apply (insecure MX), so the connector's dane mode fell back to opportunistic.
        self.assertRegex(sessions[-1], r"TLS policy: may \(connector\): connector DANE: dane, but the MX records are "
                                       r"not DNSSEC-validated for mx\.plain\.test")
        self.assertIn("Received certificate", sessions[-1])  # still over TLS

    def test_ad_bit_of_a_resolver_that_is_not_trusted_is_ignored(self):
        # The same validating Unbound, but sluice is told to trust another resolver: its AD bit
        # counts for nothing, so good.test's signed MX is insecure and DANE does not apply.
        other = harness.Sluice(extra=f'relay_from = ["127.0.0.0/8"]\ndns_servers = ["{self.dns.resolver}"]\n'
                                     'dnssec_trusted_resolvers = ["127.0.0.2:53"]')
        harness.append_config(other, harness.queue_table() + harness.toml_table(
            "[[send_connector]]", {"name": "DANE", "address_spaces": ["*"], "port": self.peer.port, "tls": "dane"}))
        self.addCleanup(harness.stop_and_check, other)
        other.start()
        with smtplib.SMTP("127.0.0.1", other.port, timeout=30) as s:
            self.assertEqual(s.sendmail(SENDER, ["other@good.test"], "Subject: untrusted\r\n\r\nhi\r\n"), {})
        harness.wait_for("delivery of other@good.test",
                         lambda: re.search(r"to=<other@good\.test>.*status=sent", self.peer.log()))
        sessions = harness.wait_for("the send session", lambda: [
            "\n".join(f"{r.data} {r.context}" for r in recs)
            for recs in harness.send_log_sessions(other).values() if any(r.event == "-" for r in recs)])
        self.assertIn("dane, but the MX records are not DNSSEC-validated for mx.good.test", sessions[-1])
        self.assertNotIn("DANE: certificate matched", sessions[-1])

    def test_rollover_with_two_records_matches_the_new_key(self):
        self.submit("rollover.test")
        self.wait_delivered("rollover.test")
        sessions = harness.wait_for("a send session to mx.rollover.test", lambda: self.sessions_to("rollover.test"))
        self.assertIn(f"DANE: certificate matched TLSA 3 1 1 {self.new_hash[:12]}... of mx.rollover.test",
                      sessions[-1])


if __name__ == "__main__":
    unittest.main()
