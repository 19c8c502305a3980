"""Promise 7 of docs/security.md: downgrades are decisions. No code path silently falls back to
plaintext or to a TLS version below the policy; every fallback is logged with its reason.

Outbound, against FakeSmtpServer peers (test_starttls_injection.py) on loopback:
- a peer whose TLS handshake fails: opportunistic falls back to plaintext only with
  fallback_to_plaintext = true, and logs the failure, the decision and the plaintext retry;
  without it, and with tls = required, the message is deferred and never sent in plaintext;
- a TLS 1.1-only peer is never used at TLS 1.1 unless the send connector's policy is `legacy`;
  a policy with min_version 1.3 is not lowered to 1.2 for a TLS 1.2-only peer;
- a peer without STARTTLS, or refusing it: opportunistic sends in plaintext saying why, required
  never does;
- in every send session, MAIL in plaintext comes after a logged reason.
Inbound: a require_tls connector never accepts MAIL/RCPT/DATA in plaintext (also pipelined, and
after a failed handshake the session ends instead of going on in plaintext); TLS 1.0/1.1 clients
are refused by the default policy, with the reason logged."""
import os
import ssl
import socket
import sys
import unittest
import warnings

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import Raw, wait_for_session  # noqa: E402
from test_starttls_injection import (FakeSmtpServer, server_tls_context, start_relay, submit,  # noqa: E402
                                     wait_deferred, wait_queue_empty)

DROPPED = "421 4.4.2 Connection dropped due to SocketError"
FAILED = "TLS negotiation failed with error SocketError"
WILL_FALL_BACK = "Connector is opportunistic with fallback_to_plaintext: the next attempt goes without STARTTLS"
PLAIN_RETRY = ("Plaintext retry after a failed TLS handshake: STARTTLS will not be used "
               "(downgrade allowed by fallback_to_plaintext)")
NOT_OFFERED_PLAIN = "Remote does not offer STARTTLS; sending in plaintext (connector is opportunistic)"
NOT_OFFERED_REQUIRED = "Remote does not offer STARTTLS; not sending (connector requires TLS)"
# The reasons a send session may give for a transaction in plaintext (docs/outbound.md).
PLAINTEXT_REASONS = (PLAIN_RETRY, NOT_OFFERED_PLAIN, "STARTTLS not attempted: send connector has tls = none")
PLAINTEXT_REASON_PREFIXES = ("Remote refused STARTTLS (",)


def send_sessions(sluice):
    return list(harness.send_log_sessions(sluice).values())


def contexts(records):
    return [r.context for r in records if r.event == "*"]


def sent_mail(records):
    return any(r.event == ">" and r.data.startswith("MAIL FROM:") for r in records)


class Outbound(unittest.TestCase):
    def fake(self, **kwargs):
        fake = FakeSmtpServer(**kwargs).start()
        self.addCleanup(fake.stop)
        return fake

    def assert_no_silent_plaintext(self, sluice):
        """Every send session that sent MAIL without a TLS session says why, before the MAIL."""
        for recs in send_sessions(sluice):
            if not sent_mail(recs):
                continue
            upto = recs[:next(i for i, r in enumerate(recs) if r.event == ">" and r.data.startswith("MAIL FROM:"))]
            said = contexts(upto)
            if any(c.startswith("TLS protocol SP_PROT_") and "negotiation succeeded" in c for c in said):
                continue
            self.assertTrue(any(c in PLAINTEXT_REASONS or c.startswith(PLAINTEXT_REASON_PREFIXES) for c in said),
                            f"plaintext MAIL without a logged reason: {recs}")

    def assert_never_plaintext(self, fake, sluice, queue_id, reply=DROPPED):
        m = wait_deferred(sluice, queue_id, attempts=2)
        self.assertEqual(m["recipients"][0]["last_reply"], reply)
        for s in fake.snapshot():
            self.assertNotIn("MAIL", s.verbs(False), s.commands)
            self.assertEqual(s.messages, [])
        for recs in send_sessions(sluice):
            self.assertFalse(sent_mail(recs), recs)
            self.assertNotIn(PLAIN_RETRY, contexts(recs))
            self.assertNotIn(WILL_FALL_BACK, contexts(recs))
        self.assertNotIn("retrying without TLS", sluice.server_log())

    # --- a peer whose handshake always fails ---

    def broken_tls_peer(self):
        return self.fake(tls_context=None, not_tls=b"this is not a TLS record\r\n")

    def test_failed_handshake_opportunistic_with_fallback_is_logged(self):
        fake = self.broken_tls_peer()
        sluice = start_relay(self, fake.port, "opportunistic", fallback=True)
        submit(sluice, "fallback allowed")
        sessions = fake.wait_for("the plaintext delivery", lambda ss: any(s.messages for s in ss))
        wait_queue_empty(sluice)
        self.assertEqual(len(sessions), 2, [s.commands for s in sessions])
        failed, plain = sessions
        self.assertEqual(failed.verbs(False), ["EHLO", "STARTTLS"])
        self.assertEqual(plain.verbs(False), ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"])
        self.assertEqual(len(plain.messages), 1)

        first, retry = send_sessions(sluice)
        self.assertIn(FAILED, contexts(first))
        self.assertTrue(any(c.startswith("TLS handshake failed: ") for c in contexts(first)), first)
        self.assertIn(WILL_FALL_BACK, contexts(first))
        self.assertFalse(sent_mail(first))
        self.assertEqual(contexts(retry)[0], PLAIN_RETRY)
        self.assertNotIn(("STARTTLS"), [r.data for r in retry if r.event == ">"])
        self.assertIn(f"TLS with 127.0.0.1:{fake.port} failed; retrying without TLS "
                      f"(connector \"To fake\" has fallback_to_plaintext)", sluice.server_log())
        self.assert_no_silent_plaintext(sluice)

    def test_failed_handshake_opportunistic_without_fallback_defers(self):
        fake = self.broken_tls_peer()
        sluice = start_relay(self, fake.port, "opportunistic", fallback=False)
        queue_id = submit(sluice, "no fallback")
        self.assert_never_plaintext(fake, sluice, queue_id)
        for recs in send_sessions(sluice):
            self.assertIn(FAILED, contexts(recs))

    def test_failed_handshake_required_defers(self):
        fake = self.broken_tls_peer()
        sluice = start_relay(self, fake.port, "required", fallback=True)  # fallback is ignored there
        queue_id = submit(sluice, "required")
        self.assert_never_plaintext(fake, sluice, queue_id)

    # --- TLS versions below the policy ---

    def tls11_peer(self):
        return self.fake(tls_context=server_tls_context(ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1))

    def test_tls11_peer_refused_by_default_policy(self):
        fake = self.tls11_peer()
        sluice = start_relay(self, fake.port, "required")
        queue_id = submit(sluice, "tls 1.1 peer")
        self.assert_never_plaintext(fake, sluice, queue_id)
        self.assertEqual([s.tls_version for s in fake.snapshot()], [None] * len(fake.snapshot()))
        self.assertTrue(all(s.handshake_error for s in fake.snapshot()))
        for recs in send_sessions(sluice):
            self.assertTrue(any(c.startswith("TLS handshake failed: UnsupportedProtocol") for c in contexts(recs)), recs)

    def test_tls11_peer_opportunistic_falls_back_to_plaintext_not_to_tls11(self):
        fake = self.tls11_peer()
        sluice = start_relay(self, fake.port, "opportunistic", fallback=True)
        submit(sluice, "tls 1.1 peer, opportunistic")
        sessions = fake.wait_for("the plaintext delivery", lambda ss: any(s.messages for s in ss))
        wait_queue_empty(sluice)
        self.assertNotIn("TLSv1.1", [s.tls_version for s in sessions])
        self.assertEqual([tls for s in sessions for tls, _ in s.messages], [False])
        self.assertIn(WILL_FALL_BACK, contexts(send_sessions(sluice)[0]))
        self.assert_no_silent_plaintext(sluice)

    def test_tls11_peer_used_at_tls11_only_with_legacy_policy(self):
        fake = self.tls11_peer()
        sluice = start_relay(self, fake.port, "required", policy={"profile": "legacy"})
        submit(sluice, "legacy policy")
        sessions = fake.wait_for("the delivery", lambda ss: any(s.messages for s in ss))
        wait_queue_empty(sluice)
        self.assertEqual([(s.tls_version, [tls for tls, _ in s.messages]) for s in sessions], [("TLSv1.1", [True])])
        self.assertTrue(any(c.startswith("TLS protocol SP_PROT_TLS1_1_CLIENT negotiation succeeded")
                            for c in contexts(send_sessions(sluice)[0])))
        # sluice warns about such a connector at start.
        self.assertRegex(sluice.server_log(), r"(?i)warning.*(TLS 1\.0|1\.0/1\.1|TLS 1\.1|legacy)")

    def test_min_version_13_not_lowered_for_tls12_peer(self):
        fake = self.fake(tls_context=server_tls_context(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2))
        sluice = start_relay(self, fake.port, "required", policy={"min_version": "1.3"})
        queue_id = submit(sluice, "tls 1.3 only")
        self.assert_never_plaintext(fake, sluice, queue_id)
        self.assertEqual({s.tls_version for s in fake.snapshot()}, {None})

    # --- STARTTLS missing or refused ---

    def test_no_starttls_opportunistic_says_why(self):
        fake = self.fake(offer_starttls=False)
        sluice = start_relay(self, fake.port, "opportunistic")
        submit(sluice, "no starttls")
        fake.wait_for("the delivery", lambda ss: any(s.messages for s in ss))
        wait_queue_empty(sluice)
        [recs] = send_sessions(sluice)
        self.assertIn(NOT_OFFERED_PLAIN, contexts(recs))
        self.assert_no_silent_plaintext(sluice)

    def test_no_starttls_required_never_sends(self):
        fake = self.fake(offer_starttls=False)
        sluice = start_relay(self, fake.port, "required")
        queue_id = submit(sluice, "no starttls, required")
        self.assert_never_plaintext(fake, sluice, queue_id,
                                    reply=f"450 4.4.317 Cannot connect to remote server: 127.0.0.1:{fake.port} "
                                          "does not offer STARTTLS and the send connector requires TLS")
        for recs in send_sessions(sluice):
            self.assertIn(NOT_OFFERED_REQUIRED, contexts(recs))

    def test_starttls_refused_opportunistic_says_why(self):
        fake = self.fake(tls_context=server_tls_context(), starttls_reply=b"454 4.7.0 TLS not available\r\n")
        sluice = start_relay(self, fake.port, "opportunistic")
        submit(sluice, "starttls refused")
        fake.wait_for("the delivery", lambda ss: any(s.messages for s in ss))
        wait_queue_empty(sluice)
        [recs] = send_sessions(sluice)
        self.assertIn("Remote refused STARTTLS (454 4.7.0 TLS not available); sending in plaintext "
                      "(connector is opportunistic)", contexts(recs))
        self.assert_no_silent_plaintext(sluice)

    def test_starttls_refused_required_never_sends(self):
        fake = self.fake(tls_context=server_tls_context(), starttls_reply=b"454 4.7.0 TLS not available\r\n")
        sluice = start_relay(self, fake.port, "required")
        queue_id = submit(sluice, "starttls refused, required")
        self.assert_never_plaintext(fake, sluice, queue_id,
                                    reply=f"450 4.4.317 Cannot connect to remote server: 127.0.0.1:{fake.port} "
                                          "refused STARTTLS (454 4.7.0 TLS not available) and the send connector "
                                          "requires TLS")


class Inbound(unittest.TestCase):
    MUST = "451 5.7.3 Must issue a STARTTLS command first"

    @classmethod
    def setUpClass(cls):
        cls.sluice = harness.Sluice([{"name": "Partner", "require_tls": True}, {"name": "Default"}],
                                    limits="max_errors = 1000")
        cls.addClassCleanup(cls.sluice.stop)
        cls.sluice.start()

    def raw(self, connector="Partner"):
        r = Raw(self.sluice.port_of(connector), timeout=5)
        self.addCleanup(r.close)
        self.assertEqual(r.reply()[0], 220)
        return r

    def test_require_tls_refuses_every_transaction_command_in_plaintext(self):
        r = self.raw()
        self.assertEqual(r.cmd("EHLO x")[0], 250)
        for command in ("MAIL FROM:<a@b.example>", "MAIL FROM:<>", "RCPT TO:<bob@sluice.test>", "DATA",
                        "VRFY bob", "BDAT 10 LAST"):
            with self.subTest(command=command):
                self.assertEqual(r.cmd(command), (451, self.MUST))
        # HELO instead of EHLO changes nothing.
        self.assertEqual(r.cmd("HELO x")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<a@b.example>"), (451, self.MUST))

    def test_require_tls_pipelined_plaintext_transaction(self):
        r = self.raw()
        r.send(b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<victim@sluice.test>\r\nDATA\r\n"
               b"Subject: plaintext\r\n\r\nnever\r\n.\r\nQUIT\r\n")
        replies = []
        while True:
            code, text = r.reply()
            replies.append(text)
            if code == 221:
                break
        self.assertEqual(replies[1:4], [self.MUST] * 3)
        self.assertFalse([t for t in replies if t.startswith(("354", "250 2.6.0", "250 2.1."))], replies)
        self.assertEqual(harness.queued_envelopes(self.sluice), [])
        self.assertEqual(self.sluice.maildir("victim", timeout=0.5), [])

    def test_failed_handshake_ends_the_session(self):
        # After STARTTLS the client goes on in plaintext instead of a ClientHello: the server must
        # close, not read those bytes as commands.
        r = self.raw()
        r.cmd("EHLO x")
        self.assertEqual(r.cmd("STARTTLS")[0], 220)
        r.send(b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<victim@sluice.test>\r\n")
        data = b""
        r.sock.settimeout(5)
        try:
            while True:
                chunk = r.sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        self.assertNotIn(b"250", data)
        session = wait_for_session(self.sluice, client_port=r.sock.getsockname()[1])
        cs = [x.context for x in session if x.event == "*"]
        self.assertTrue(any(c.startswith("TLS negotiation failed with error ") for c in cs), cs)
        self.assertNotIn("MAIL FROM:<a@b.example>", [x.data for x in session if x.event == "<"])

    def test_old_tls_clients_refused_by_default_policy(self):
        for connector in ("Partner", "Default"):
            for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
                with self.subTest(connector=connector, version=version.name):
                    r = self.raw(connector)
                    r.cmd("EHLO x")
                    self.assertEqual(r.cmd("STARTTLS")[0], 220)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", DeprecationWarning)
                        ctx = harness.tls_client_context(minimum=version, maximum=version)
                    ctx.set_ciphers("ALL:@SECLEVEL=0")
                    client_port = r.sock.getsockname()[1]
                    with self.assertRaises((ssl.SSLError, ConnectionError)):
                        r.sock = ctx.wrap_socket(r.sock)
                    session = wait_for_session(self.sluice, client_port=client_port)
                    cs = [x.context for x in session if x.event == "*"]
                    self.assertIn("TLS negotiation failed with error UnsupportedProtocol", cs)
                    name = "TLS1_0" if version == ssl.TLSVersion.TLSv1 else "TLS1_1"
                    accepts = "; connector accepts TLS1_2 to TLS1_3"
                    self.assertTrue({f"Client offered {name} only{accepts}",
                                     f"Client offered up to {name} (no supported_versions extension){accepts}"} & set(cs), cs)
                    self.assertFalse([x for x in session if x.event == "<" and x.data.startswith("MAIL")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
