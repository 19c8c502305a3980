"""Real TLS clients (openssl s_client, swaks) against `sluice serve`: which protocol versions and
cipher suites each connector profile accepts, what the protocol log says about each handshake,
and mail delivered over TLS 1.2 and 1.3."""
import re
import unittest

import harness
from harness import run_s_client, run_swaks, wait_for_session

SECLEVEL0 = ("-cipher", "DEFAULT@SECLEVEL=0")


def tls_lines(session):
    """The `*` lines of a session that are about the TLS handshake."""
    return [r.context for r in session if r.event == "*" and r.context.startswith("TLS ")]


def success_line(protocol, bulk, bulk_bits, mac, kx_bits):
    return (f"TLS protocol {protocol} negotiation succeeded using bulk encryption algorithm {bulk} with "
            f"strength {bulk_bits} bits, MAC hash algorithm {mac} with strength 0 bits and key exchange "
            f"algorithm CALG_ECDH_EPHEM with strength {kx_bits} bits")


class ServerTest(unittest.TestCase):
    """One `sluice serve` per test class, with the connectors in CONNECTORS."""
    CONNECTORS = [{"name": "Default"}]

    @classmethod
    def setUpClass(cls):
        # A class cleanup, unlike tearDownClass, also runs when a subclass's setUpClass fails.
        cls.sluice = harness.Sluice(cls.CONNECTORS)
        cls.addClassCleanup(cls.sluice.stop)
        cls.sluice.start()

    def s_client(self, connector, *args):
        """Runs s_client; returns its result and the records of the session it caused."""
        known = set(harness.log_sessions(self.sluice))
        result = run_s_client(self.sluice.port_of(connector), *args)
        return result, wait_for_session(self.sluice, exclude=known)

    def assert_refused(self, result, session, reason, offered):
        self.assertFalse(result.handshake, result.output)
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(tls_lines(session), [f"TLS negotiation failed with error {reason}"])
        infos = [r.context for r in session if r.event == "*"]
        # The reason comes first, then what the client offered, then the connection ends.
        self.assertEqual(infos[-2:], [f"TLS negotiation failed with error {reason}", offered])
        self.assertEqual((session[-1].event, session[-1].context), ("-", "Local"))
        self.assertFalse(any("SP_PROT_" in r.context for r in session))


class DefaultProfileVersionsTest(ServerTest):
    """The default profile: TLS 1.2 and 1.3 only."""

    def test_tls12_handshake_is_logged_with_exchange_names(self):
        # An RSA suite: in TLS 1.2 a client listing only X25519 cannot use the P-256 ECDSA
        # certificate (RFC 8422 5.1), so the ECDSA twin would not be negotiated here.
        result, session = self.s_client("Default", "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256",
                                        "-groups", "X25519")
        self.assertTrue(result.handshake, result.output)
        self.assertEqual((result.protocol, result.cipher), ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"))
        self.assertEqual(tls_lines(session),
                         [success_line("SP_PROT_TLS1_2_SERVER", "CALG_AES_128", 128, "CALG_SHA_256", 256)])
        # STARTTLS, its 220, then the handshake result, in this order.
        events = [(r.event, r.data or r.context) for r in session]
        i = events.index(("<", "STARTTLS"))
        self.assertEqual(events[i + 1], (">", "220 2.0.0 SMTP server ready"))
        self.assertTrue(events[i + 2][1].startswith("TLS protocol SP_PROT_TLS1_2_SERVER"))

    def test_tls13_handshake_is_logged_with_exchange_names(self):
        result, session = self.s_client("Default", "-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256",
                                        "-groups", "P-384")
        self.assertTrue(result.handshake, result.output)
        self.assertEqual((result.protocol, result.cipher), ("TLSv1.3", "TLS_AES_128_GCM_SHA256"))
        self.assertEqual(tls_lines(session),
                         [success_line("SP_PROT_TLS1_3_SERVER", "CALG_AES_128", 128, "CALG_SHA_256", 384)])

    def test_tls13_default_suite(self):
        result, session = self.s_client("Default", "-tls1_3")
        self.assertTrue(result.handshake, result.output)
        self.assertEqual(result.protocol, "TLSv1.3")
        [line] = tls_lines(session)
        self.assertTrue(line.startswith("TLS protocol SP_PROT_TLS1_3_SERVER negotiation succeeded using "
                                        "bulk encryption algorithm "), line)

    def test_tls10_is_refused_with_protocol_version_alert(self):
        result, session = self.s_client("Default", "-tls1", *SECLEVEL0)
        self.assert_refused(result, session, "UnsupportedProtocol",
                            "Client offered TLS1_0 only; connector accepts TLS1_2 to TLS1_3")
        # RFC 8996: the refusal is a protocol_version alert, not a dropped connection.
        self.assertIn("alert protocol version", result.output)

    def test_tls11_is_refused(self):
        result, session = self.s_client("Default", "-tls1_1", *SECLEVEL0)
        self.assert_refused(result, session, "UnsupportedProtocol",
                            "Client offered up to TLS1_1 (no supported_versions extension); "
                            "connector accepts TLS1_2 to TLS1_3")
        self.assertIn("alert protocol version", result.output)


class LegacyProfileTest(ServerTest):
    CONNECTORS = [{"name": "Default"}, {"name": "Old scanner", "tls": {"profile": "legacy"}}]

    def test_warning_at_start_names_only_the_legacy_connector(self):
        log = self.sluice.server_log()
        self.assertRegex(log, r'warning: receive connector "Old scanner" accepts TLS 1\.0 .*RFC 8996')
        self.assertNotIn('receive connector "Default" accepts', log)

    def test_tls10_accepted(self):
        result, session = self.s_client("Old scanner", "-tls1", *SECLEVEL0)
        self.assertTrue(result.handshake, result.output)
        self.assertEqual(result.protocol, "TLSv1")
        [line] = tls_lines(session)
        self.assertTrue(line.startswith("TLS protocol SP_PROT_TLS1_0_SERVER negotiation succeeded"), line)

    def test_tls11_accepted(self):
        result, session = self.s_client("Old scanner", "-tls1_1", *SECLEVEL0)
        self.assertTrue(result.handshake, result.output)
        self.assertEqual(result.protocol, "TLSv1.1")
        [line] = tls_lines(session)
        self.assertTrue(line.startswith("TLS protocol SP_PROT_TLS1_1_SERVER negotiation succeeded"), line)

    def test_modern_client_still_gets_tls13(self):
        result, session = self.s_client("Old scanner")
        self.assertEqual(result.protocol, "TLSv1.3")
        self.assertIn("SP_PROT_TLS1_3_SERVER", tls_lines(session)[0])

    def test_default_connector_on_same_server_still_refuses_tls10(self):
        result, session = self.s_client("Default", "-tls1", *SECLEVEL0)
        self.assert_refused(result, session, "UnsupportedProtocol",
                            "Client offered TLS1_0 only; connector accepts TLS1_2 to TLS1_3")


class ExchangeOnlineProfileTest(ServerTest):
    CONNECTORS = [{"name": "Default"}, {"name": "EXO", "tls": {"profile": "exchange-online"}}]

    def test_exo_suite_accepted(self):
        result, session = self.s_client("EXO", "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
        self.assertTrue(result.handshake, result.output)
        self.assertEqual((result.protocol, result.cipher), ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"))
        self.assertEqual(tls_lines(session),
                         [success_line("SP_PROT_TLS1_2_SERVER", "CALG_AES_128", 128, "CALG_SHA_256", 256)])

    def test_chacha20_not_on_exo_list_is_refused(self):
        result, session = self.s_client("EXO", "-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305")
        self.assert_refused(result, session, "NoCipherOverlap",
                            "Client offered up to TLS1_2 (no supported_versions extension); "
                            "connector accepts TLS1_2 to TLS1_3")
        self.assertIn("alert handshake failure", result.output)

    def test_chacha20_accepted_by_default_profile(self):
        # The refusal above is the profile's doing, not a missing cipher in the build.
        result, session = self.s_client("Default", "-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305")
        self.assertTrue(result.handshake, result.output)
        self.assertEqual(tls_lines(session), [success_line("SP_PROT_TLS1_2_SERVER", "CALG_CHACHA20_POLY1305",
                                                           256, "CALG_SHA_256", 256)])

    def test_tls11_refused_by_exo_profile(self):
        result, session = self.s_client("EXO", "-tls1_1", *SECLEVEL0)
        self.assert_refused(result, session, "UnsupportedProtocol",
                            "Client offered up to TLS1_1 (no supported_versions extension); "
                            "connector accepts TLS1_2 to TLS1_3")


class SwaksDeliveryTest(ServerTest):
    CONNECTORS = [{"name": "Inbound TLS"}]

    def deliver(self, subject, *tls_args):
        body = f"Body of {subject}\nsecond line"
        p = run_swaks(self.sluice.port_of("Inbound TLS"), "--tls", *tls_args, "--helo", "client.example",
                      "--from", "alice@example.com", "--to", "bob@sluice.test",
                      "--header", f"Subject: {subject}", "--body", body)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        queued = re.search(r"^<~  250 2\.6\.0 ([0-9A-F]{16}) Queued mail for delivery$", p.stdout, re.M)
        self.assertIsNotNone(queued, p.stdout)
        message = self.message_with_subject(subject)
        header_text, _, body_text = message.partition(b"\r\n\r\n")
        headers = header_text.decode().replace("\r\n\t", " ").split("\r\n")
        self.assertEqual(headers[0], "Delivered-To: bob@sluice.test")
        self.assertTrue(headers[1].startswith("Received: from client.example ([127.0.0.1]) by mx.sluice.test"),
                        headers[1])
        self.assertIn(f"Subject: {subject}", headers)
        self.assertIn(b"Body of " + subject.encode() + b"\r\nsecond line\r\n", body_text)
        return p.stdout, headers[1], queued.group(1)

    def message_with_subject(self, subject):
        needle = f"\r\nSubject: {subject}\r\n".encode()
        for _ in range(2):
            for m in self.sluice.maildir("bob", count=1000, timeout=2):
                if needle in m:
                    return m
        self.fail(f"no message with subject {subject!r} in maildir/bob/new")

    def test_tls13_delivery(self):
        out, received, queue_id = self.deliver("over TLS 1.3", "--tls-protocol", "tlsv1_3")
        self.assertIn("=== TLS started with cipher TLSv1.3:TLS_AES_", out)
        self.assertIn("with ESMTPS (version=TLS1_3, cipher=TLS_AES_", received)
        self.assertIn('(connector "Inbound TLS")', received)
        self.assertIn(f" id {queue_id}", received)

    def test_tls12_delivery_names_the_iana_suite(self):
        out, received, queue_id = self.deliver("over TLS 1.2", "--tls-protocol", "tlsv1_2",
                                               "--tls-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
        self.assertIn("=== TLS started with cipher TLSv1.2:ECDHE-RSA-AES128-GCM-SHA256:128", out)
        self.assertIn("with ESMTPS (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", received)
        self.assertIn(f" id {queue_id}", received)

    def test_swaks_tls10_cannot_deliver(self):
        known = set(harness.log_sessions(self.sluice))
        p = run_swaks(self.sluice.port_of("Inbound TLS"), "--tls", "--tls-protocol", "tlsv1",
                      "--tls-cipher", "DEFAULT@SECLEVEL=0", "--from", "alice@example.com",
                      "--to", "bob@sluice.test", "--header", "Subject: never over TLS 1.0")
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertNotIn("250 2.6.0", p.stdout)
        session = wait_for_session(self.sluice, exclude=known)
        self.assertEqual(tls_lines(session), ["TLS negotiation failed with error UnsupportedProtocol"])
        self.assertIn("Client offered TLS1_0 only; connector accepts TLS1_2 to TLS1_3",
                      [r.context for r in session])
        for m in self.sluice.maildir("bob", count=1000, timeout=0):
            self.assertNotIn(b"never over TLS 1.0", m)


if __name__ == "__main__":
    unittest.main()
