"""REQUIRETLS (RFC 8689) between two sluice gateways and against a Postfix without it.

Gateway A (local domain a.test) takes mail from a submitter and routes by MX (the test's DNS server
on loopback); every MX is mx.peer.test, whose certificate the test's own CA signed. A's send
connectors pick the peer by destination:

- b.test, down.test -> gateway B, tls = "verify" with the test CA: an authenticated target.
  B offers REQUIRETLS after STARTTLS and delivers b.test to its maildir; down.test's MX has an
  address where nothing listens, so its mail waits in A's queue.
- pf.test           -> a private Postfix 3.7 (no REQUIRETLS), tls = "verify": authenticated.
- opp.test          -> gateway B, tls = "opportunistic": encrypted, never authenticated.

A REQUIRETLS message reaches B with REQUIRETLS on MAIL; to Postfix and through the opportunistic
connector it is bounced with RFC 8689's codes (5.7.30, 5.7.10), the bounce arriving in the sender's
mailbox on A with the headers only. REQUIRETLS in plaintext is refused; "TLS-Required: No" is
recorded and passed on; `sluice queue show` shows both."""
import json
import os
import re
import smtplib
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import postfix_peer  # noqa: E402
from dns_server import DnsServer  # noqa: E402
from pki import Pki  # noqa: E402
from postfix_peer import PostfixPeer  # noqa: E402

SENDER = "alice@a.test"
MX = "mx.peer.test"


def submit(port, rcpt, requiretls=True, tls=True, headers=""):
    """Sends one message to A; returns its queue id."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.ehlo("submitter.test")
        if tls:
            s.starttls(context=harness.tls_client_context())
            s.ehlo("submitter.test")
        code, text = s.mail(SENDER, ["REQUIRETLS"] if requiretls else [])
        assert code == 250, (code, text)
        code, text = s.rcpt(rcpt)
        assert code == 250, (code, text)
        body = f"From: {SENDER}\r\nTo: {rcpt}\r\nSubject: sealed {rcpt}\r\n{headers}\r\nthe confidential body\r\n"
        code, text = s.data(body)
    assert code == 250, (code, text)
    return re.search(rb"([0-9A-F]{16})", text).group(1).decode()


class RequireTlsTest(unittest.TestCase):
    CTEST_SECONDS = 15

    @classmethod
    def setUpClass(cls):
        reason = postfix_peer.available()
        if reason:
            raise unittest.SkipTest(reason)
        pki = Pki(prefix="requiretls-e2e-")
        cls.ca = pki.ca("RequireTlsTestCA")
        cert, key = pki.leaf("mx", "RequireTlsTestCA", MX)
        cls.postfix = PostfixPeer({"mydestination": "pf.test", "smtpd_tls_security_level": "may",
                                   "smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key, "smtpd_tls_loglevel": "1"},
                                  hostname=MX)
        cls.postfix.start()
        cls.dns = DnsServer({MX: {"A": ["127.0.0.1"]}, "mx.down.test": {"A": ["127.0.0.2"]},
                             "b.test": {"MX": [(10, MX)]}, "opp.test": {"MX": [(10, MX)]},
                             "pf.test": {"MX": [(10, MX)]}, "down.test": {"MX": [(10, "mx.down.test")]}})
        cls.dns.start()
        cls.b = harness.Sluice(hostname=MX, local_domains=("b.test",),
                               connectors=[{"name": "Default", "tls": {"certificate": cert, "key": key}}])
        cls.b.start()
        cls.a = harness.Sluice(hostname="gw.a.test", local_domains=("a.test",),
                               extra=f'relay_from = ["127.0.0.0/8"]\ndns_servers = ["{cls.dns.address}"]')
        connectors = [("ToB", ["b.test", "down.test"], cls.b.port, "verify"),
                      ("ToPostfix", ["pf.test"], cls.postfix.port, "verify"),
                      ("Opportunistic", ["opp.test"], cls.b.port, "opportunistic")]
        harness.append_config(cls.a, harness.queue_table() + "".join(
            harness.toml_table("[[send_connector]]", {"name": name, "address_spaces": spaces, "port": port,
                                                      "tls": tls, "ca_file": cls.ca if tls == "verify" else None})
            for name, spaces, port, tls in connectors))
        cls.a.start()
        cls.ids = {"b": submit(cls.a.port, "bob@b.test"), "pf": submit(cls.a.port, "pat@pf.test"),
                   "opp": submit(cls.a.port, "olga@opp.test"),
                   "waiting": submit(cls.a.port, "dan@down.test", headers="TLS-Required: No\r\n"),
                   "optional": submit(cls.a.port, "bob@b.test", requiretls=False, headers="TLS-Required: No\r\n"),
                   "optional-waiting": submit(cls.a.port, "dora@down.test", requiretls=False,
                                              headers="TLS-Required: No\r\n")}

    @classmethod
    def tearDownClass(cls):
        cls.a.stop()
        cls.b.stop()
        cls.dns.stop()
        cls.postfix.stop()
        cls.postfix.cleanup()

    def bounce_for(self, subject):
        """The bounce in the sender's mailbox on A whose subject names `subject`."""
        def found():
            for message in self.a.maildir("alice", count=0, timeout=0):
                if f"Undeliverable: sealed {subject}".encode() in message:
                    return message.decode("utf-8", "replace")
            return None
        return harness.wait_for(f"the bounce of the message to {subject}", found, timeout=30)

    def b_receive_session(self, rcpt):
        """B's receive log session that carried RCPT TO:<rcpt>, as text."""
        def session():
            for records in harness.log_sessions(self.b).values():
                text = "\n".join(",".join(r) for r in records)
                if f"RCPT TO:<{rcpt}>" in text and "Queued mail for delivery" in text:
                    return text
            return None
        return harness.wait_for(f"B's session for {rcpt}", session, timeout=30)

    def test_delivered_to_b_with_requiretls_on_mail(self):
        delivered = [m for m in self.b.maildir("bob", count=2, timeout=30) if b"the confidential body" in m]
        self.assertEqual(len(delivered), 2)
        session = self.b_receive_session("bob@b.test")
        self.assertRegex(session, r"MAIL FROM:<alice@a\.test> SIZE=\d+ REQUIRETLS")
        self.assertIn("Message has REQUIRETLS (RFC 8689)", session)
        self.assertIn("SP_PROT_TLS1_3_SERVER", session)
        # A's send side: the session to B was authenticated and carried it.
        sends = [",".join(",".join(r) for r in recs) for recs in harness.send_log_sessions(self.a).values()]
        to_b = [s for s in sends if "REQUIRETLS" in s and "RCPT TO:<bob@b.test>" in s]
        self.assertTrue(to_b, sends)
        self.assertIn("Validated received certificate", to_b[0])

    def test_postfix_without_requiretls_gets_nothing_and_the_sender_a_5_7_30_bounce(self):
        bounce = self.bounce_for("pat@pf.test")
        self.assertIn("Status: 5.7.30", bounce)
        self.assertIn(f"550 5.7.30 REQUIRETLS support required: {MX} does not offer REQUIRETLS", bounce)
        self.assertIn("Subject: sealed pat@pf.test", bounce)  # the headers come back ...
        self.assertNotIn("the confidential body", bounce)  # ... never the body (RFC 8689 5)
        # Postfix was spoken to (STARTTLS, EHLO) but never given the transaction.
        self.postfix.wait_for_log(r"Anonymous TLS connection established from")
        self.assertFalse([l for l in self.postfix.log_lines() if "pat@pf.test" in l])

    def test_an_unauthenticated_connector_bounces_with_5_7_10(self):
        bounce = self.bounce_for("olga@opp.test")
        self.assertIn("Status: 5.7.10", bounce)
        self.assertIn("REQUIRETLS: no authenticated TLS to opp.test", bounce)
        self.assertNotIn("the confidential body", bounce)
        self.assertFalse([s for recs in harness.log_sessions(self.b).values() for s in recs if "olga@opp.test" in s])

    def test_requiretls_in_plaintext_is_refused(self):
        with smtplib.SMTP("127.0.0.1", self.a.port, timeout=30) as s:
            s.ehlo("submitter.test")
            self.assertNotIn("requiretls", s.esmtp_features)
            self.assertEqual(s.mail(SENDER, ["REQUIRETLS"]), (530, b"5.7.10 REQUIRETLS requires a TLS session"))
            s.starttls(context=harness.tls_client_context())
            s.ehlo("submitter.test")
            self.assertIn("requiretls", s.esmtp_features)

    def test_tls_required_no_is_recorded_and_passed_on(self):
        delivered = [m for m in self.b.maildir("bob", count=2, timeout=30) if b"TLS-Required: No" in m]
        self.assertEqual(len(delivered), 1)  # passed on as it came
        b_log = "\n".join(self.b.protocol_log(wait_for="Message has TLS-Required: No", timeout=30))
        self.assertIn("Message has TLS-Required: No (RFC 8689)", b_log)
        a_log = "\n".join(self.a.protocol_log())
        self.assertIn("Message has TLS-Required: No (RFC 8689)", a_log)
        # The message to down.test has both: REQUIRETLS wins, the field is ignored.
        self.assertIn("TLS-Required: No ignored: the message has REQUIRETLS", a_log)

    def test_queue_show_names_what_the_sender_asked(self):
        def shown(key, attempted):
            def ready():
                p = harness.queue_cli(self.a, "show", self.ids[key], "--json")
                m = json.loads(p.stdout) if p.returncode == 0 else None
                return m if m and (m["recipients"][0]["attempts"] >= 1 or not attempted) else None
            return harness.wait_for(f"{key} in the queue", ready, timeout=30)
        required = shown("waiting", attempted=True)
        self.assertEqual((required.get("requiretls"), required.get("tls_required_no")), (True, None))
        self.assertEqual(required["recipients"][0]["state"], "deferred")  # connection refused: retried
        # (it may wait on its hop, which the first message found down: no attempt of its own needed)
        optional = shown("optional-waiting", attempted=False)
        self.assertEqual((optional.get("requiretls"), optional.get("tls_required_no")), (None, True))
        text = harness.queue_cli(self.a, "show", self.ids["waiting"]).stdout
        self.assertIn("REQUIRETLS:   yes: only over authenticated TLS", text)
        text = harness.queue_cli(self.a, "show", self.ids["optional-waiting"]).stdout
        self.assertIn("TLS-Required: No: DANE and MTA-STS failures do not hold the message", text)


if __name__ == "__main__":
    unittest.main()
