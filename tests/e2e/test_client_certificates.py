"""Client certificates, both ways, against real peers (docs/relay-for-devices.md, "Certificate-based
connectors").

Sending: a private Postfix stands in for an Exchange Online inbound connector configured by
certificate. It asks every client for a certificate (smtpd_tls_ask_ccert) and lets mail through only
from the one whose SHA-256 fingerprint is in its check_ccert_access table; anyone else gets
`defer` (450 4.3.2 ... Try again later). A send connector with tls_policy.certificate/key is accepted; the same
connector without them keeps the message deferred with Postfix's reply in `sluice queue list`.

Receiving: a receive connector with require_client_certificate asks for a certificate during
STARTTLS. swaks with a certificate from the partner CA naming *.partner.example is accepted; no
certificate, one from another CA, and a trusted one with a name not allowed are each refused at
MAIL with 530 5.7.1 and the reason, and the protocol log has the reason and the subject. A
connector without the setting does not ask (sluice's own send connector, which has a certificate
to offer, logs that it was not asked)."""
import json
import os
import re
import smtplib
import unittest

import harness
import postfix_peer
from pki import Pki
from postfix_peer import PostfixPeer, make_certificate

SENDER = "alice@sluice.test"
RECIPIENT = "user@pf.test"
NAMES = ["mail.protection.outlook.com", "*.partner.example"]


def submit(sluice, recipient=RECIPIENT, sender=SENDER):
    """One message from `sender` to `recipient` through sluice's Default connector; its queue id."""
    with smtplib.SMTP("127.0.0.1", sluice.port_of("Default"), timeout=30) as s:
        s.ehlo("submitter.test")
        s.mail(sender)
        s.rcpt(recipient)
        code, text = s.data(f"From: {sender}\r\nTo: {recipient}\r\nSubject: cert\r\n\r\nhello\r\n")
    assert code == 250, text
    return re.match(r"2\.6\.0 ([0-9A-F]{16}) ", text.decode()).group(1)


def info_lines(records):
    """(data, context) of the informational lines of protocol log records."""
    return [(r.data, r.context) for r in records if r.event == "*"]


class SendConnectorPresentsCertificate(unittest.TestCase):
    """sluice -> a Postfix that admits clients by certificate fingerprint."""

    @classmethod
    def setUpClass(cls):
        reason = postfix_peer.available()
        if reason:
            raise unittest.SkipTest(reason)
        cls.pki = Pki()
        cls.pki.ca("SluiceCA")
        cls.cert, cls.key = cls.pki.leaf("sluice", "SluiceCA", "relay.sluice.test")
        access = cls.pki.path("ccert_access")
        with open(access, "w") as f:
            f.write(f"{cls.pki.fingerprint(cls.cert)} OK\n")
        os.chmod(access, 0o644)
        server_cert, server_key = make_certificate("/CN=mx.pf.test")
        cls.peer = PostfixPeer({
            "mydestination": "pf.test, localhost",
            "smtpd_tls_cert_file": server_cert, "smtpd_tls_key_file": server_key,
            "smtpd_tls_security_level": "may", "smtpd_tls_loglevel": "1",
            "smtpd_tls_ask_ccert": "yes", "smtpd_tls_fingerprint_digest": "sha256",
            "smtpd_recipient_restrictions": f"check_ccert_access texthash:{access}, defer",
        }, hostname="mx.pf.test")
        cls.peer.start()

    @classmethod
    def tearDownClass(cls):
        cls.peer.stop()
        cls.peer.cleanup()

    def start_sluice(self, policy):
        sluice = harness.Sluice(extra='relay_from = ["127.0.0.0/8"]')
        harness.append_config(sluice, harness.queue_table(lifetime="10m") + harness.smart_host_connector(
            "To Postfix", ["pf.test"], self.peer.port, "required", policy=policy))
        self.addCleanup(harness.stop_and_check, sluice)
        sluice.start()
        return sluice

    def send_session(self, sluice, predicate):
        def find():
            for recs in harness.send_log_sessions(sluice).values():
                if recs[-1].event == "-" and predicate(recs):
                    return recs
            return None
        return harness.wait_for("a finished send session", find)

    def test_connector_with_certificate_is_accepted(self):
        sluice = self.start_sluice({"certificate": self.cert, "key": self.key})
        queue_id = submit(sluice)
        harness.wait_for("the message to leave the queue",
                         lambda: harness.queue_cli(sluice, "show", queue_id).returncode != 0
                         and not harness.queued_envelopes(sluice))

        # Postfix saw the certificate (untrusted: it has no CA file; the fingerprint decides) and took the mail.
        self.peer.wait_for_log(r"Untrusted TLS connection established from localhost\[127\.0\.0\.1\]")
        qid = self.peer.wait_for_log(
            rf"postfix/\S*qmgr\[\d+\]: ([0-9A-F]+): from=<{re.escape(SENDER)}>").group(1)
        self.peer.wait_for_log(rf"postfix/discard\[\d+\]: {qid}: to=<{re.escape(RECIPIENT)}>, .*status=sent")

        recs = self.send_session(sluice, lambda rs: any(r.data.startswith("250 ") and "queued as" in r.data
                                                        for r in rs))
        self.assertIn(("/O=Test/CN=relay.sluice.test", "Remote asked for a client certificate; sent certificate"),
                      info_lines(recs))

    def test_connector_without_certificate_stays_deferred(self):
        sluice = self.start_sluice(None)
        queue_id = submit(sluice)
        refusal = "450 4.3.2 <user@pf.test>: Recipient address rejected: Try again later"  # Postfix's `defer`

        def deferred_row():
            p = harness.queue_cli(sluice, "list", "--json")
            hops = json.loads(p.stdout)["hops"] if p.returncode == 0 else []
            return [h for h in hops if refusal in h.get("last_error", "")]
        [row] = harness.wait_for("a queue list row with Postfix's refusal", deferred_row)
        self.assertEqual(row["messages"], 1)
        text = harness.queue_cli(sluice, "list")
        self.assertIn(refusal, text.stdout)
        self.assertIsNotNone(json.loads(harness.queue_cli(sluice, "show", queue_id, "--json").stdout))
        recs = self.send_session(sluice, lambda rs: any(r.data.startswith("450 4.3.2") for r in rs))
        self.assertIn(("", "Remote asked for a client certificate; none configured (tls_policy.certificate), "
                           "none sent"), info_lines(recs))
        # Postfix's side: asked, got no certificate, refused the recipient.
        self.peer.wait_for_log(r"Anonymous TLS connection established from localhost\[127\.0\.0\.1\]")
        self.peer.wait_for_log(r"NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: " + re.escape(refusal))


class ReceiveConnectorRequiresCertificate(unittest.TestCase):
    """swaks (and sluice's own send connector) -> a receive connector that requires a certificate."""

    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.partner_ca = cls.pki.ca("PartnerCA")
        cls.pki.ca("OtherCA")
        cls.good = cls.pki.leaf("good", "PartnerCA", "mx1.partner.example")
        cls.wrong_name = cls.pki.leaf("wrong-name", "PartnerCA", "mx1.elsewhere.example")
        cls.other_ca = cls.pki.leaf("other-ca", "OtherCA", "mx1.partner.example")
        cls.sluice = harness.Sluice(connectors=[
            {"name": "Default"},
            {"name": "Partners", "require_client_certificate": True, "client_certificate_names": NAMES,
             "client_ca_file": cls.partner_ca}], local_domains=("localhost", "sluice.test", "partners.sluice.test"))
        cls.sluice.start()

    @classmethod
    def tearDownClass(cls):
        harness.stop_and_check(cls.sluice)

    def swaks(self, *cert_args):
        return harness.run_swaks(self.sluice.port_of("Partners"), "--tls", *cert_args, "--ehlo", "mx1.partner.example",
                                 "--from", "bob@partner.example", "--to", "user@sluice.test")

    def session_of(self, swaks_output):
        """The receive log session of the last swaks run: the one whose queue id or refusal it printed."""
        sessions = [recs for recs in harness.log_sessions(self.sluice).values()
                    if recs[0].connector == "Partners" and recs[-1].event == "-"]
        self.assertTrue(sessions, swaks_output)
        return sessions[-1]

    def assert_refused(self, p, reason, subject):
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(f"<~* 530 5.7.1 Client certificate required: {reason}", p.stdout)  # <~: inside TLS
        self.assertNotIn("RCPT TO", p.stdout.split("<~* 530")[1])  # stopped at MAIL
        recs = harness.wait_for("the refused session in the log", lambda: [
            recs for recs in harness.log_sessions(self.sluice).values()
            if any(r.data.startswith("530 5.7.1") and reason in r.data for r in recs) and recs[-1].event == "-"])
        contexts = [c for _, c in info_lines(recs[-1])]
        self.assertIn(f"MAIL refused: {reason}; presented certificate subject: {subject}", contexts)

    def test_trusted_certificate_with_allowed_name_is_accepted(self):
        before = len(harness.delivered_files(self.sluice))
        p = self.swaks("--tls-cert", self.good[0], "--tls-key", self.good[1])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"<~  250 2\.6\.0 [0-9A-F]{16} Queued mail for delivery")
        harness.wait_for("the delivered message", lambda: len(harness.delivered_files(self.sluice)) > before)
        recs = harness.wait_for("the accepted session", lambda: [
            recs for recs in harness.log_sessions(self.sluice).values()
            if ("mx1.partner.example", "Client certificate SAN") in info_lines(recs) and recs[-1].event == "-"])
        lines = info_lines(recs[-1])
        self.assertIn(("/O=Test/CN=mx1.partner.example", "Client certificate subject"), lines)
        self.assertIn(("", "Client certificate accepted"), lines)

    def test_no_certificate_is_refused(self):
        self.assert_refused(self.swaks(), "no client certificate was presented", "none")

    def test_certificate_from_another_ca_is_refused(self):
        p = self.swaks("--tls-cert", self.other_ca[0], "--tls-key", self.other_ca[1])
        self.assert_refused(p, "the client certificate is not trusted (unable to verify the first certificate)",
                            "/O=Test/CN=mx1.partner.example")

    def test_certificate_with_a_name_not_allowed_is_refused(self):
        p = self.swaks("--tls-cert", self.wrong_name[0], "--tls-key", self.wrong_name[1])
        self.assert_refused(p, "the client certificate name mx1.elsewhere.example is not allowed on this connector",
                            "/O=Test/CN=mx1.elsewhere.example")

    def test_before_starttls_mail_needs_tls(self):
        p = harness.run_swaks(self.sluice.port_of("Partners"), "--from", "bob@partner.example",
                              "--to", "user@sluice.test")
        self.assertIn("<** 451 5.7.3 Must issue a STARTTLS command first", p.stdout)

    def test_connector_without_the_setting_does_not_ask(self):
        """A sluice whose send connector has a certificate, delivering to the Default connector (no
        require_client_certificate) and to the Partners connector: only the second asks."""
        sender = harness.Sluice(extra='relay_from = ["127.0.0.0/8"]', local_domains=("sender.test",))
        policy = {"certificate": self.good[0], "key": self.good[1]}
        harness.append_config(sender, harness.queue_table() + harness.smart_host_connector(
            "To Default", ["sluice.test"], self.sluice.port_of("Default"), "required", policy=policy)
            + harness.smart_host_connector("To Partners", ["partners.sluice.test"], self.sluice.port_of("Partners"),
                                           "required", policy=policy))
        self.addCleanup(harness.stop_and_check, sender)
        sender.start()
        # A partner's own sender: the receiving side refuses its accepted domains as senders from non-relay clients.
        submit(sender, "user@sluice.test", "bob@partner.example")
        submit(sender, "user@partners.sluice.test", "bob@partner.example")

        def send_info(connector_name):
            return [info_lines(recs) for recs in harness.send_log_sessions(sender).values()
                    if recs[0].connector == connector_name and recs[-1].event == "-"
                    and any(r.data.startswith("250 2.6.0") for r in recs)]
        [lines] = harness.wait_for("the delivery to the Default connector", lambda: send_info("To Default"))
        self.assertIn(("", "Remote did not ask for a client certificate; none sent"), lines)
        self.assertFalse(any(c.startswith("Remote asked") for _, c in lines))
        [lines] = harness.wait_for("the delivery to the Partners connector", lambda: send_info("To Partners"))
        self.assertIn(("/O=Test/CN=mx1.partner.example", "Remote asked for a client certificate; sent certificate"),
                      lines)


if __name__ == "__main__":
    unittest.main()
