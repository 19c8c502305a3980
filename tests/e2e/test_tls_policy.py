"""The send connector's TLS policy table (tls_destinations) against a real Postfix MX.

One private Postfix (TLS 1.2 at most, a certificate for mx.pf.test from the test's own CA) receives
for several test domains whose MX records (the test's DNS server on loopback) all name mx.pf.test.
One sluice routes by MX with a connector whose own tls is "none" and whose table decides per
destination:

- ok.test = verify, match mx.pf.test          -> delivered over TLS, the certificate validated
- wrongname.test = verify, match other.pf.test -> deferred: certificate rejected, hostname mismatch
- new.test = encrypt, TLS 1.3 or later          -> deferred: the handshake fails, never plaintext
- forced.test = encrypt                         -> delivered over TLS although the connector says none
- a.sub.test (entry *.sub.test = verify)        -> delivered, the wildcard entry named
- plain.test (no entry)                         -> the connector's none: delivered in plaintext

Every session's send log names its policy and source; `sluice queue show` shows the deferred
recipients' policy."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import postfix_peer  # noqa: E402
from dns_server import DnsServer  # noqa: E402
from pki import Pki  # noqa: E402
from postfix_peer import PostfixPeer  # noqa: E402

DOMAINS = ("ok.test", "wrongname.test", "new.test", "forced.test", "a.sub.test", "plain.test")
SENDER = "alice@sluice.test"


def submit(port, rcpt):
    return harness.submit_message(port, SENDER, rcpt, "policy")


class TlsPolicyTableTest(unittest.TestCase):
    CTEST_SECONDS = 12

    @classmethod
    def setUpClass(cls):
        reason = postfix_peer.available()
        if reason:
            raise unittest.SkipTest(reason)
        pki = Pki(prefix="tls-policy-e2e-")
        cls.ca = pki.ca("PolicyTestCA")
        cert, key = pki.leaf("mx", "PolicyTestCA", "mx.pf.test")
        cls.peer = PostfixPeer({"mydestination": ", ".join(DOMAINS), "smtpd_tls_security_level": "may",
                                "smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key, "smtpd_tls_loglevel": "1",
                                "smtpd_tls_protocols": "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1, !TLSv1.3"},
                               hostname="mx.pf.test")
        cls.peer.start()
        zone = {"mx.pf.test": {"A": ["127.0.0.1"]}}
        for domain in DOMAINS:
            zone[domain] = {"MX": [(10, "mx.pf.test")]}
        cls.dns = DnsServer(zone)
        cls.dns.start()
        cls.sluice = harness.Sluice(hostname="gw.sluice.test", local_domains=("sluice.test",),
                                    extra=f'relay_from = ["127.0.0.0/8"]\ndns_servers = ["{cls.dns.address}"]')
        harness.append_config(cls.sluice, harness.queue_table() + f"""
[[send_connector]]
name = "Internet"
address_spaces = ["*"]
port = {cls.peer.port}
tls = "none"
ca_file = "{cls.ca}"
[send_connector.tls_destinations]
"ok.test" = {{ mode = "verify", match = ["mx.pf.test"] }}
"wrongname.test" = {{ mode = "verify", match = ["other.pf.test"] }}
"new.test" = {{ mode = "encrypt", min_version = "1.3" }}
"forced.test" = "encrypt"
"*.sub.test" = "verify"
""")
        cls.sluice.start()
        cls.ids = {domain: submit(cls.sluice.port, f"user@{domain}") for domain in DOMAINS}

    @classmethod
    def tearDownClass(cls):
        cls.sluice.stop()
        cls.dns.stop()
        cls.peer.stop()
        cls.peer.cleanup()

    def wait_delivered(self, domain):
        harness.wait_gone(self.sluice, self.ids[domain])
        return self.peer.wait_for_log(rf"postfix/discard\[\d+\]: \w+: to=<user@{re.escape(domain)}>.*status=sent")

    def wait_deferred(self, domain):
        return harness.wait_deferred(self.sluice, self.ids[domain])

    def sessions_for(self, domain):
        """The send sessions that carried a RCPT TO for `domain`, or whose policy line names it."""
        return harness.send_sessions_naming(self.sluice, f"@{domain}>", f"entry {domain}")

    def test_verify_with_match_names_delivers_over_validated_tls(self):
        self.wait_delivered("ok.test")
        session = self.sessions_for("ok.test")[0]
        self.assertIn("TLS policy: verify (table, names mx.pf.test): policy table entry ok.test: verify", session)
        self.assertIn("Validated received certificate", session)
        self.assertIn("SP_PROT_TLS1_2_CLIENT", session)

    def test_a_name_outside_the_match_list_defers_saying_why(self):
        r = self.wait_deferred("wrongname.test")
        self.assertIn("certificate of mx.pf.test rejected", r["last_reply"])
        self.assertIn("hostname mismatch (table policy of wrongname.test)", r["last_reply"])
        self.assertIn("verify (table, names other.pf.test): policy table entry wrongname.test", r["tls_policy"])

    def test_a_minimum_version_the_server_lacks_defers_and_never_goes_plain(self):
        r = self.wait_deferred("new.test")
        self.assertIn("4.4.2 Connection dropped due to SocketError", r["last_reply"])
        self.assertIn("encrypt (table, TLS 1.3 or later)", r["tls_policy"])
        sessions = self.sessions_for("new.test")
        self.assertTrue(sessions)
        for session in sessions:
            self.assertIn("TLS negotiation failed", session)
            self.assertNotIn("RCPT TO", session, "never sent without TLS 1.3")

    def test_a_table_entry_turns_tls_on_where_the_connector_has_none(self):
        self.wait_delivered("forced.test")
        session = self.sessions_for("forced.test")[0]
        self.assertIn("TLS policy: encrypt (table): policy table entry forced.test: required", session)
        self.assertIn("STARTTLS", session)

    def test_a_wildcard_entry_covers_subdomains(self):
        self.wait_delivered("a.sub.test")
        session = self.sessions_for("a.sub.test")[0]
        self.assertIn("policy table entry *.sub.test: verify", session)
        self.assertIn("Validated received certificate", session)

    def test_a_destination_without_an_entry_keeps_the_connectors_mode(self):
        self.wait_delivered("plain.test")
        session = self.sessions_for("plain.test")[0]
        self.assertIn("TLS policy: none (connector): connector Internet: none", session)
        self.assertNotIn(">,STARTTLS", session)


if __name__ == "__main__":
    unittest.main()
