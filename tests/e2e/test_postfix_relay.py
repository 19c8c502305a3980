"""Postfix, a real sending MTA, relays into sluice over STARTTLS.

1. A modern Postfix (TLS 1.2+ required, smtp_tls_security_level = encrypt) delivers through sluice's
   default connector with TLS 1.3, and both sides record the same handshake.
2. The case sluice exists for: a Postfix that can only speak TLS 1.0 meets sluice's default TLS 1.2+
   policy. The handshake fails, Postfix defers the message, and sluice's protocol log says why in
   Exchange's words plus what the client offered.
3. The same TLS 1.0-only Postfix delivers once it is pointed at a `legacy` connector, which proves
   that the Postfix of scenario 2 really offers TLS 1.0 (and not nothing at all)."""
import csv
import email
import email.policy
import re
import shutil
import smtplib
import unittest

import harness
import postfix_peer
from postfix_peer import PostfixPeer

PEER_NAME = "postfix-peer.test"
TLS_ESTABLISHED = (r"(Anonymous|Untrusted|Trusted|Verified) TLS connection established to "
                   r"127\.0\.0\.1\[127\.0\.0\.1\]:{port}: (TLSv[0-9.]+) with cipher (\S+)")
# Postfix 3.7 lowers OpenSSL's security level itself, so naming the protocol is enough to make its
# client offer TLS 1.0 only (no @SECLEVEL=0 cipher list needed); `mandatory` is what `encrypt` uses.
TLS10_ONLY = {"smtp_tls_protocols": "TLSv1", "smtp_tls_mandatory_protocols": "TLSv1"}


def relay_settings(sluice_port, **extra):
    """A Postfix that accepts mail from loopback and must relay sluice.test to sluice over TLS."""
    settings = {
        "relayhost": f"[127.0.0.1]:{sluice_port}",
        "relay_domains": "sluice.test",
        "smtp_tls_security_level": "encrypt",
        "smtp_tls_loglevel": "1",
        "smtp_tls_protocols": ">=TLSv1.2",
        "smtp_tls_mandatory_protocols": ">=TLSv1.2",
    }
    settings.update(extra)
    return settings


def submit(port, subject):
    """Plain SMTP submission to Postfix's smtpd; returns nothing, raises on refusal."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.sendmail("alice@postfix-peer.test", ["bob@sluice.test"],
                   f"From: alice@postfix-peer.test\r\nTo: bob@sluice.test\r\nSubject: {subject}\r\n"
                   f"\r\nsent through Postfix\r\n")


def sessions(lines):
    """Protocol log lines grouped by session id, each line split into its CSV fields."""
    out = {}
    for row in csv.reader(lines):
        out.setdefault(row[2], []).append(row)
    return out


def session_of(lines, ehlo_name):
    """The rows of the (only) session whose client said EHLO `ehlo_name`."""
    found = [rows for rows in sessions(lines).values()
             if any(r[6] == "<" and r[7] == f"EHLO {ehlo_name}" for r in rows)]
    if len(found) != 1:
        raise AssertionError(f"expected one session with EHLO {ehlo_name}, got {len(found)}:\n"
                             + "\n".join(lines))
    return found[0]


class PostfixRelayTest(unittest.TestCase):
    def setUp(self):
        self._problems_at_start = self._problems()
        reason = postfix_peer.available()
        if reason:
            self.skipTest(reason)

    def start(self, connectors=None, **postfix_settings):
        sluice = harness.Sluice(connectors=connectors)
        sluice.start()
        self.addCleanup(self._stop_sluice, sluice)
        peer = PostfixPeer(relay_settings(sluice.port, **postfix_settings), hostname=PEER_NAME)
        self.addCleanup(self._stop_peer, peer)
        peer.start()
        return sluice, peer

    def _problems(self):
        """Failures and errors recorded so far by the running TestResult (None when unknown).
        Compared with the count at setUp, it tells a cleanup whether this test failed; unittest's
        own `_outcome.success` is reset to True while cleanups run."""
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None or not hasattr(result, "failures"):
            return None
        return len(result.failures) + len(result.errors)

    def _failed(self):
        now = self._problems()
        return now is None or self._problems_at_start is None or now > self._problems_at_start

    def _stop_peer(self, peer):
        peer.stop()
        if self._failed():
            print(f"--- Postfix log ({peer.log_path}) ---\n{peer.log()}")
        else:
            peer.cleanup()

    def _stop_sluice(self, sluice):
        sluice.stop()
        if getattr(sluice, "stderr", None):
            sluice.stderr.close()
        if self._failed():
            print(f"--- sluice protocol log ({sluice.dir}) ---\n" + "\n".join(sluice.protocol_log()))
        else:
            shutil.rmtree(sluice.dir, ignore_errors=True)

    def test_modern_postfix_relays_over_tls13(self):
        sluice, peer = self.start()
        submit(peer.port, "modern relay")

        delivered = sluice.maildir("bob", timeout=30)
        self.assertEqual(len(delivered), 1, peer.log())
        msg = email.message_from_bytes(delivered[0], policy=email.policy.compat32)
        self.assertEqual(msg["Subject"], "modern relay")

        tls = peer.wait_for_log(TLS_ESTABLISHED.format(port=sluice.port))
        self.assertEqual(tls.group(2), "TLSv1.3")
        cipher = tls.group(3)
        self.assertTrue(cipher.startswith("TLS_"), tls.string)
        sent = peer.wait_for_log(
            r"postfix/\S*smtp\[\d+\]: ([0-9A-F]+): to=<bob@sluice\.test>, "
            rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{sluice.port}, .*dsn=2\.6\.0, "
            r"status=sent \(250 2\.6\.0 ([0-9A-F]{16}) Queued mail for delivery\)")
        postfix_id, sluice_id = sent.group(1), sent.group(2)

        # Newest hop first: sluice's, then the one Postfix wrote when it accepted the submission.
        received = [re.sub(r"\s+", " ", h) for h in msg.get_all("Received")]
        self.assertEqual(len(received), 2, received)
        self.assertRegex(received[0], rf"^from {re.escape(PEER_NAME)} \(\[127\.0\.0\.1\]\) "
                                      r"by mx\.sluice\.test \(sluice\) with ESMTPS "
                                      rf"\(version=TLS1_3, cipher={re.escape(cipher)}\) "
                                      rf".* id {sluice_id} for <bob@sluice\.test>;")
        self.assertRegex(received[1], rf"by {re.escape(PEER_NAME)} \(Postfix\) with ESMTP "
                                      rf"id {postfix_id} for <bob@sluice\.test>;")

        lines = sluice.protocol_log(wait_for="Service closing", timeout=10)
        rows = session_of(lines, PEER_NAME)
        contexts = [r[8] for r in rows]
        self.assertTrue(any(c.startswith("TLS protocol SP_PROT_TLS1_3_SERVER negotiation succeeded")
                            for c in contexts), "\n".join(lines))
        self.assertIn(f"250 2.6.0 {sluice_id} Queued mail for delivery", [r[7] for r in rows])
        self.assertFalse(any("TLS negotiation failed" in c for c in contexts))

    def test_tls10_only_postfix_is_refused_and_defers(self):
        sluice, peer = self.start(**TLS10_ONLY)
        submit(peer.port, "legacy sender")

        peer.wait_for_log(rf"SSL_connect error to 127\.0\.0\.1\[127\.0\.0\.1\]:{sluice.port}: -1")
        peer.wait_for_log(r"warning: TLS library problem: error:0A00042E:SSL routines::"
                          r"tlsv1 alert protocol version:.*SSL alert number 70")
        deferred = peer.wait_for_log(
            r"postfix/\S*smtp\[\d+\]: ([0-9A-F]+): to=<bob@sluice\.test>, "
            rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{sluice.port}, .*dsn=4\.7\.5, "
            r"status=deferred \(Cannot start TLS: handshake failure\)")
        self.assertNotRegex(peer.log(), r"TLS connection established|status=sent")
        # Still queued at the sender, never delivered at sluice: mail is delayed, not lost.
        self.assertIn(deferred.group(1), peer.queue())
        self.assertEqual(sluice.maildir("bob", timeout=0), [])

        lines = sluice.protocol_log(wait_for="Client offered", timeout=10)
        rows = session_of(lines, PEER_NAME)
        contexts = [r[8] for r in rows]
        self.assertIn("TLS negotiation failed with error UnsupportedProtocol", contexts, "\n".join(lines))
        self.assertIn("Client offered TLS1_0 only; connector accepts TLS1_2 to TLS1_3", contexts)
        self.assertFalse(any("negotiation succeeded" in c for c in contexts))
        self.assertFalse(any(r[6] == "<" and r[7].startswith("MAIL FROM") for r in rows))
        self.assertEqual(rows[-1][6], "-")

    def test_tls10_only_postfix_delivers_through_legacy_connector(self):
        sluice, peer = self.start(connectors=[{"name": "Legacy", "tls": {"profile": "legacy"}}],
                                  **TLS10_ONLY)
        submit(peer.port, "legacy sender, legacy connector")

        delivered = sluice.maildir("bob", timeout=30)
        self.assertEqual(len(delivered), 1, peer.log())
        tls = peer.wait_for_log(TLS_ESTABLISHED.format(port=sluice.port))
        self.assertEqual(tls.group(2), "TLSv1")
        peer.wait_for_log(r"dsn=2\.6\.0, status=sent \(250 2\.6\.0 [0-9A-F]{16} Queued mail for delivery\)")
        msg = email.message_from_bytes(delivered[0], policy=email.policy.compat32)
        self.assertIn("(version=TLS1_0, cipher=", re.sub(r"\s+", " ", msg.get_all("Received")[0]))

        lines = sluice.protocol_log(wait_for="Service closing", timeout=10)
        contexts = [r[8] for r in session_of(lines, PEER_NAME)]
        self.assertTrue(any(c.startswith("TLS protocol SP_PROT_TLS1_0_SERVER negotiation succeeded")
                            for c in contexts), "\n".join(lines))


if __name__ == "__main__":
    unittest.main(verbosity=2)
