"""End-to-end: the plaintext SMTP dialogue of `sluice serve` over a raw socket: greeting, EHLO
extensions, command sequencing, enhanced status codes, a full transaction into a Maildir with dot
transparency, PIPELINING, SMTPUTF8, BODY=, relay control (and the classic relay tricks), and the
choice of receive connector by client address."""
import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

# A reply line with an RFC 3463 enhanced status code right after the basic code.
ENHANCED = re.compile(r"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3} ")
QUEUED = re.compile(r"^250 2\.6\.0 ([0-9A-F]{16}) Queued mail for delivery$")


def ehlo(raw, name="client.test"):
    code, text = raw.cmd(f"EHLO {name}")
    assert code == 250, text
    return text


def greeted(port, source=None):
    """A Raw connection past the banner and EHLO."""
    raw = harness.RawFrom(port, source) if source else harness.Raw(port)
    code, text = raw.reply()
    assert code == 220, text
    ehlo(raw)
    return raw


def assert_enhanced(test, reply):
    code, text = reply
    for line in text.split("\n"):
        test.assertRegex(line, ENHANCED, f"reply without an enhanced status code: {text!r}")


def wait_until(predicate, timeout=5):
    return harness.wait_until(predicate, timeout)


class Dialogue(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # max_errors is raised so that one session can walk through many refusals.
        cls.sluice = harness.Sluice(limits="max_errors = 100\ncommand_timeout = \"10s\"\n").start()

    @classmethod
    def tearDownClass(cls):
        status = cls.sluice.stop()
        if status != 0:
            raise AssertionError(f"sluice exited with {status}: {cls.sluice.server_log()}")

    def setUp(self):
        self.raw = harness.Raw(self.sluice.port)

    def tearDown(self):
        self.raw.close()

    def test_banner_has_no_enhanced_code(self):
        code, text = self.raw.reply()
        self.assertEqual(code, 220)
        self.assertEqual(text, "220 mx.sluice.test ESMTP sluice ready")
        self.assertNotRegex(text, ENHANCED)

    def test_ehlo_lists_extensions(self):
        self.raw.reply()
        code, text = self.raw.cmd("EHLO client.test")
        self.assertEqual(code, 250)
        lines = text.split("\n")
        self.assertEqual(lines[0], "250-mx.sluice.test Hello [127.0.0.1]")
        self.assertTrue(all(l.startswith("250-") for l in lines[:-1]), text)
        self.assertTrue(lines[-1].startswith("250 "), text)
        keywords = [l[4:] for l in lines[1:]]
        for k in ("PIPELINING", "SIZE 36700160", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8", "STARTTLS"):
            self.assertIn(k, keywords, text)
        self.assertNotIn("CHUNKING", keywords)
        self.assertFalse(any(k.startswith("AUTH") for k in keywords), text)

    def test_ehlo_verb_case_insensitive_and_needs_argument(self):
        self.raw.reply()
        self.assertEqual(self.raw.cmd("ehlo")[0], 501)
        self.assertEqual(self.raw.cmd("eHlO client.test")[0], 250)
        self.assertEqual(self.raw.cmd("mail from:<a@example.org>")[0], 250)

    def test_helo_works_without_extensions(self):
        self.raw.reply()
        code, text = self.raw.cmd("HELO client.test")
        self.assertEqual((code, text), (250, "250 mx.sluice.test Hello [127.0.0.1]"))
        # ESMTP parameters need EHLO.
        self.assertEqual(self.raw.cmd("MAIL FROM:<a@example.org> BODY=8BITMIME")[0], 555)
        self.assertEqual(self.raw.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(self.raw.cmd("RCPT TO:<bob@localhost>")[0], 250)
        self.assertEqual(self.raw.cmd("DATA")[0], 354)
        code, text = self.raw.cmd("Subject: helo\r\n\r\nvia HELO\r\n.")
        self.assertRegex(text, QUEUED)

    def test_sequence_errors_and_simple_commands(self):
        self.raw.reply()
        self.assertEqual(self.raw.cmd("MAIL FROM:<a@example.org>"), (503, "503 5.5.1 Send EHLO or HELO first"))
        ehlo(self.raw)
        self.assertEqual(self.raw.cmd("RCPT TO:<bob@localhost>"), (503, "503 5.5.1 Need MAIL before RCPT"))
        self.assertEqual(self.raw.cmd("DATA"), (503, "503 5.5.1 Need MAIL before DATA"))
        self.assertEqual(self.raw.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(self.raw.cmd("MAIL FROM:<a@example.org>"), (503, "503 5.5.1 Sender already specified"))
        self.assertEqual(self.raw.cmd("DATA"), (503, "503 5.5.1 Need RCPT before DATA"))
        self.assertEqual(self.raw.cmd("FROB nicate"), (500, "500 5.5.2 Command unrecognized"))
        code, text = self.raw.cmd("VRFY bob")
        self.assertEqual(code, 252)
        self.assertTrue(text.startswith("252 2.1.5 "), text)
        self.assertEqual(self.raw.cmd("EXPN staff")[0], 502)
        self.assertEqual(self.raw.cmd("NOOP"), (250, "250 2.0.0 OK"))
        self.assertEqual(self.raw.cmd("RCPT TO:<bob@localhost>")[0], 250)
        self.assertEqual(self.raw.cmd("RSET"), (250, "250 2.0.0 Resetting"))
        # RSET dropped sender and recipients: the transaction must start over.
        self.assertEqual(self.raw.cmd("RCPT TO:<bob@localhost>")[0], 503)
        self.assertEqual(self.raw.cmd("DATA")[0], 503)
        self.assertEqual(self.raw.cmd("MAIL FROM:<>")[0], 250)  # the null sender
        code, text = self.raw.cmd("QUIT")
        self.assertEqual(code, 221)
        self.assertTrue(text.startswith("221 2.0.0 "), text)
        self.assertTrue(self.raw.closed())

    def test_every_reply_after_ehlo_has_enhanced_code(self):
        self.raw.reply()
        ehlo(self.raw)
        commands = ["NOOP", "HELP", "VRFY x", "EXPN x", "AUTH PLAIN AGFiAGM=", "FOO", "RCPT TO:<bob@localhost>",
                    "MAIL FROM:<a@example.org> SIZE=x", "MAIL FROM:a@example.org", "MAIL FROM:<a@example.org> FOO=1",
                    "MAIL FROM:<a@example.org>", "RCPT TO:<>", "RCPT TO:<bob@other.example>", "RCPT TO:<a b@localhost>",
                    "RCPT TO:<bob@localhost> NOTIFY=NEVER", "RCPT TO:<bob@localhost>", "DATA x", "STARTTLS x", "RSET",
                    "NOOP " + "x" * 600]
        for c in commands:
            with self.subTest(command=c):
                assert_enhanced(self, self.raw.cmd(c))
        self.assertEqual(self.raw.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(self.raw.cmd("RCPT TO:<bob@localhost>")[0], 250)
        code, text = self.raw.cmd("DATA")
        self.assertEqual(code, 354)
        reply = self.raw.cmd("Subject: e\r\n\r\nx\r\n.")
        assert_enhanced(self, reply)
        reply = self.raw.cmd("QUIT")
        assert_enhanced(self, reply)

    def test_full_transaction_with_dot_unstuffing(self):
        self.raw.reply()
        ehlo(self.raw)
        self.assertEqual(self.raw.cmd("MAIL FROM:<alice@example.org>"), (250, "250 2.1.0 Sender <alice@example.org> OK"))
        self.assertEqual(self.raw.cmd("RCPT TO:<dots@localhost>"), (250, "250 2.1.5 Recipient <dots@localhost> OK"))
        code, text = self.raw.cmd("DATA")
        self.assertEqual(code, 354)
        self.assertNotRegex(text, ENHANCED)
        body = b"Subject: dots\r\n\r\n..x\r\n...\r\n.leading\r\nplain\r\n. \r\n\r\n"
        self.raw.send(body + b".\r\n")
        code, text = self.raw.reply()
        match = QUEUED.match(text)
        self.assertIsNotNone(match, text)
        queue_id = match.group(1)
        messages = self.sluice.maildir("dots")
        self.assertEqual(len(messages), 1)
        message = messages[0]
        self.assertTrue(message.startswith(b"Delivered-To: dots@localhost\r\nReceived: from client.test ([127.0.0.1])"),
                        message[:200])
        self.assertIn(f"id {queue_id}".encode(), message)
        # Every leading dot lost exactly one dot; nothing else changed.
        self.assertTrue(message.endswith(b"\r\nSubject: dots\r\n\r\n.x\r\n..\r\nleading\r\nplain\r\n \r\n\r\n"),
                        message[-120:])
        self.assertEqual(self.raw.cmd("QUIT")[0], 221)

    def test_empty_message(self):
        self.raw.reply()
        ehlo(self.raw)
        self.raw.cmd("MAIL FROM:<a@example.org>")
        self.raw.cmd("RCPT TO:<empty@localhost>")
        self.assertEqual(self.raw.cmd("DATA")[0], 354)
        # The CRLF that ended DATA is the first CRLF of CRLF.CRLF.
        code, text = self.raw.cmd(".")
        self.assertRegex(text, QUEUED)
        messages = self.sluice.maildir("empty")
        self.assertEqual(len(messages), 1)
        self.assertRegex(messages[0], rb"^Delivered-To: empty@localhost\r\nReceived: [^\r]*\r\n(\t[^\r]*\r\n)*$")

    def test_pipelining_replies_in_order(self):
        self.raw.reply()
        ehlo(self.raw)
        self.raw.send("MAIL FROM:<alice@example.org>\r\nRCPT TO:<pipe1@localhost>\r\n"
                      "RCPT TO:<nobody@other.example>\r\nRCPT TO:<pipe2@localhost>\r\nDATA\r\n")
        self.assertEqual(self.raw.reply(), (250, "250 2.1.0 Sender <alice@example.org> OK"))
        self.assertEqual(self.raw.reply(), (250, "250 2.1.5 Recipient <pipe1@localhost> OK"))
        self.assertEqual(self.raw.reply()[0], 550)
        self.assertEqual(self.raw.reply(), (250, "250 2.1.5 Recipient <pipe2@localhost> OK"))
        self.assertEqual(self.raw.reply()[0], 354)
        # Message, next transaction and QUIT in one write as well.
        self.raw.send("Subject: p\r\n\r\none\r\n.\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<pipe1@localhost>\r\n"
                      "DATA\r\nSubject: p2\r\n\r\ntwo\r\n.\r\nQUIT\r\n")
        self.assertRegex(self.raw.reply()[1], QUEUED)
        self.assertEqual(self.raw.reply()[0], 250)
        self.assertEqual(self.raw.reply()[0], 250)
        self.assertEqual(self.raw.reply()[0], 354)
        self.assertRegex(self.raw.reply()[1], QUEUED)
        self.assertEqual(self.raw.reply()[0], 221)
        self.assertTrue(self.raw.closed())
        self.assertEqual(len(self.sluice.maildir("pipe1", count=2)), 2)
        self.assertEqual(len(self.sluice.maildir("pipe2")), 1)

    def test_smtputf8(self):
        self.raw.reply()
        ehlo(self.raw)
        self.assertEqual(self.raw.cmd("MAIL FROM:<jürgen@example.org>"),
                         (553, "553 5.6.7 Non-ASCII address requires SMTPUTF8"))
        self.assertEqual(self.raw.cmd("MAIL FROM:<alice@example.org>")[0], 250)
        self.assertEqual(self.raw.cmd("RCPT TO:<ünï@localhost>"), (553, "553 5.6.7 Non-ASCII address requires SMTPUTF8"))
        self.assertEqual(self.raw.cmd("RSET")[0], 250)
        self.assertEqual(self.raw.cmd("MAIL FROM:<jürgen@example.org> SMTPUTF8"),
                         (250, "250 2.1.0 Sender <jürgen@example.org> OK"))
        # Bytes that are not UTF-8 stay refused under SMTPUTF8.
        self.raw.send(b"RCPT TO:<\xff\xfe@localhost>\r\n")
        code, text = self.raw.reply()
        self.assertEqual(code, 553)
        self.assertIn("5.1.3", text)
        self.assertEqual(self.raw.cmd("RCPT TO:<ünï@localhost>"), (250, "250 2.1.5 Recipient <ünï@localhost> OK"))
        self.assertEqual(self.raw.cmd("DATA")[0], 354)
        self.raw.send("Subject: grüße\r\n\r\nüñíçødé body\r\n.\r\n".encode())
        self.assertRegex(self.raw.reply()[1], QUEUED)
        # docs/queue.md: every byte outside [a-z0-9._+-] is written as %XX.
        messages = self.sluice.maildir("%C3%BCn%C3%AF")
        self.assertEqual(len(messages), 1, os.listdir(os.path.join(self.sluice.state, "maildir")))
        self.assertIn("Delivered-To: ünï@localhost\r\n".encode(), messages[0])
        self.assertIn("with UTF8SMTP".encode(), messages[0])
        self.assertTrue(messages[0].endswith("üñíçødé body\r\n".encode()))

    def test_body_parameter(self):
        self.raw.reply()
        ehlo(self.raw)
        self.assertEqual(self.raw.cmd("MAIL FROM:<a@example.org> BODY=8BITMIME")[0], 250)
        self.assertEqual(self.raw.cmd("RSET")[0], 250)
        self.assertEqual(self.raw.cmd("MAIL FROM:<a@example.org> body=7bit")[0], 250)
        self.assertEqual(self.raw.cmd("RSET")[0], 250)
        code, text = self.raw.cmd("MAIL FROM:<a@example.org> BODY=bogus")
        self.assertEqual(code, 501)
        self.assertTrue(text.startswith("501 5.5.4 "), text)
        self.assertEqual(self.raw.cmd("MAIL FROM:<a@example.org> BODY=8BITMIME BODY=7BIT")[0], 501)
        # The refused MAIL left no transaction behind.
        self.assertEqual(self.raw.cmd("RCPT TO:<bob@localhost>")[0], 503)

    def test_bdat_closes(self):
        self.raw.reply()
        ehlo(self.raw)
        self.assertEqual(self.raw.cmd("BDAT 10 LAST")[0], 421)
        self.assertTrue(self.raw.closed())


class RelayControl(unittest.TestCase):
    """Default relay_from is empty: only local_domains (localhost, sluice.test) are accepted."""

    @classmethod
    def setUpClass(cls):
        cls.sluice = harness.Sluice(limits="max_errors = 100\n").start()

    @classmethod
    def tearDownClass(cls):
        status = cls.sluice.stop()
        if status != 0:
            raise AssertionError(f"sluice exited with {status}: {cls.sluice.server_log()}")

    def test_relay_tricks_refused_and_nothing_relayed(self):
        raw = greeted(self.sluice.port)
        self.assertEqual(raw.cmd("MAIL FROM:<alice@example.org>")[0], 250)
        refused = {
            "<user@other.example>": "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
            "<user%other.example@localhost>":
                "553 5.1.3 Routing characters (%, !, quoted @) in the local part are not accepted",
            "<other.example!user@localhost>":
                "553 5.1.3 Routing characters (%, !, quoted @) in the local part are not accepted",
            "<\"user@other.example\"@localhost>":
                "553 5.1.3 Routing characters (%, !, quoted @) in the local part are not accepted",
            # The source route is dropped (RFC 5321 appendix C): what is left is a relay.
            "<@localhost:user@other.example>": "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
            "<user@other.example@localhost>": "553 5.1.3 Bad recipient address syntax: more than one '@' in address",
            "<postmaster@[127.0.0.1]>": "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
            "<user@localhost.>": "553 5.1.3 Bad recipient address syntax: trailing dot in domain",
            "<user@sub.localhost>": "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
            "<user@other.example.>": "553 5.1.3 Bad recipient address syntax: trailing dot in domain",
        }
        for address, expected in refused.items():
            with self.subTest(address=address):
                self.assertEqual(raw.cmd(f"RCPT TO:{address}"), (int(expected[:3]), expected))
        self.assertEqual(raw.cmd("RCPT TO:<BOB@LOCALHOST>"), (250, "250 2.1.5 Recipient <BOB@LOCALHOST> OK"))
        self.assertEqual(raw.cmd("RCPT TO:<Postmaster>")[0], 250)
        self.assertEqual(raw.cmd("RCPT TO:<carol@SLUICE.test>")[0], 250)
        self.assertEqual(raw.cmd("DATA")[0], 354)
        self.assertRegex(raw.cmd("Subject: relay\r\n\r\nhello\r\n.")[1], QUEUED)
        self.assertEqual(raw.cmd("QUIT")[0], 221)
        raw.close()
        self.assertEqual(len(self.sluice.maildir("bob")), 1)
        self.assertEqual(len(self.sluice.maildir("postmaster")), 1)
        self.assertEqual(len(self.sluice.maildir("carol")), 1)
        # Everything was local: once delivered, nothing stays queued for an outbound hop.
        self.assertTrue(wait_until(lambda: not harness.queued_envelopes(self.sluice)),
                        harness.queued_envelopes(self.sluice))
        self.assertEqual(len(harness.delivered_files(self.sluice)), 3, harness.delivered_files(self.sluice))

    def test_other_loopback_address_may_not_relay_either(self):
        raw = greeted(self.sluice.port, source="127.0.0.2")
        self.assertEqual(raw.cmd("MAIL FROM:<alice@example.org>")[0], 250)
        self.assertEqual(raw.cmd("RCPT TO:<user@other.example>")[0], 550)
        raw.close()


class RelayFrom(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sluice = harness.Sluice(extra='relay_from = ["127.0.0.2/32"]').start()

    @classmethod
    def tearDownClass(cls):
        status = cls.sluice.stop()
        if status != 0:
            raise AssertionError(f"sluice exited with {status}: {cls.sluice.server_log()}")

    def test_relay_only_from_listed_range(self):
        outsider = greeted(self.sluice.port)
        self.assertEqual(outsider.cmd("MAIL FROM:<alice@example.org>")[0], 250)
        self.assertEqual(outsider.cmd("RCPT TO:<user@other.example>"),
                         (550, "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"))
        outsider.close()

        insider = greeted(self.sluice.port, source="127.0.0.2")
        self.assertEqual(insider.cmd("MAIL FROM:<alice@example.org>")[0], 250)
        self.assertEqual(insider.cmd("RCPT TO:<user@other.example>"),
                         (250, "250 2.1.5 Recipient <user@other.example> OK"))
        # The routing tricks stay refused even for a client that may relay.
        self.assertEqual(insider.cmd("RCPT TO:<user%third.example@localhost>")[0], 553)
        self.assertEqual(insider.cmd("RCPT TO:<local@localhost>")[0], 250)
        self.assertEqual(insider.cmd("DATA")[0], 354)
        code, text = insider.cmd("Subject: relayed\r\n\r\nout\r\n.")
        match = QUEUED.match(text)
        self.assertIsNotNone(match, text)
        self.assertEqual(insider.cmd("QUIT")[0], 221)
        insider.close()
        self.assertEqual(len(self.sluice.maildir("local")), 1)
        # The relay recipient stays queued for the outbound side; only it is pending.
        envelope = os.path.join(self.sluice.state, "queue", match.group(1) + ".json")
        def relay_pending():
            try:
                with open(envelope) as f:
                    data = json.load(f)
            except (OSError, ValueError):
                return False
            states = {r["address"]: r["state"] for r in data["recipients"]}
            # With no DNS answering (the harness points dns_servers at a silent loopback port)
            # the relay recipient is deferred, never delivered or bounced.
            return (states.get("local@localhost") == "delivered"
                    and states.get("user@other.example") in ("pending", "deferred"))
        if not wait_until(relay_pending):
            with open(envelope) as f:
                self.fail(f"relay recipient not left pending: {f.read()}")
        self.assertFalse(os.path.exists(os.path.join(self.sluice.state, "maildir", "user")))


class ConnectorSelection(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        port = harness.free_port()
        listen = [f"127.0.0.1:{port}"]
        cls.sluice = harness.Sluice(connectors=[
            {"name": "Internal", "listen": listen, "remote_ranges": ["127.0.0.0/8"]},
            {"name": "Partner", "listen": listen, "remote_ranges": ["127.0.0.2/32"], "require_tls": True},
        ]).start()
        cls.port = port

    @classmethod
    def tearDownClass(cls):
        status = cls.sluice.stop()
        if status != 0:
            raise AssertionError(f"sluice exited with {status}: {cls.sluice.server_log()}")

    def session_of(self, local):
        sessions = harness.session_records_from(self.sluice, "%s:%d" % local)
        self.assertEqual(len(sessions), 1, self.sluice.protocol_log())
        return sessions[0]

    def test_most_specific_range_wins(self):
        partner = greeted(self.port, source="127.0.0.2")
        self.assertEqual(partner.cmd("MAIL FROM:<a@example.org>"),
                         (451, "451 5.7.3 Must issue a STARTTLS command first"))
        self.assertEqual(partner.cmd("RCPT TO:<bob@localhost>")[0], 451)
        self.assertEqual(partner.cmd("NOOP")[0], 250)
        self.assertEqual(partner.cmd("QUIT")[0], 221)
        self.assertTrue(partner.closed())
        partner_local = partner.sock.getsockname()
        partner.close()
        records = self.session_of(partner_local)
        self.assertEqual({r.connector for r in records}, {"Partner"})
        self.assertIn("451 5.7.3 Must issue a STARTTLS command first", [r.data for r in records if r.event == ">"])

        internal = greeted(self.port, source="127.0.0.3")
        self.assertEqual(internal.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(internal.cmd("QUIT")[0], 221)
        self.assertTrue(internal.closed())
        internal_local = internal.sock.getsockname()
        internal.close()
        self.assertEqual({r.connector for r in self.session_of(internal_local)}, {"Internal"})

        default = greeted(self.port)
        self.assertEqual(default.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(default.cmd("RCPT TO:<bob@localhost>")[0], 250)
        self.assertEqual(default.cmd("QUIT")[0], 221)
        self.assertTrue(default.closed())
        default_local = default.sock.getsockname()
        default.close()
        self.assertEqual({r.connector for r in self.session_of(default_local)}, {"Internal"})


class NoConnectorForClient(unittest.TestCase):
    def test_client_outside_every_range_is_refused(self):
        with harness.Sluice(connectors=[{"name": "Only2", "remote_ranges": ["127.0.0.2/32"], "starttls": False}]) as s:
            raw = harness.Raw(s.port)
            code, text = raw.reply()
            self.assertEqual(code, 554)
            self.assertTrue(text.startswith("554 5.7.1 "), text)
            self.assertTrue(raw.closed())
            raw.close()
            allowed = harness.RawFrom(s.port, "127.0.0.2")
            self.assertEqual(allowed.reply()[0], 220)
            allowed.close()
            self.assertEqual(s.stop(), 0)


class DiscardDelivery(unittest.TestCase):
    def test_discard_accepts_durably_then_drops_without_a_mailbox(self):
        s = harness.Sluice(extra='local_delivery = "discard"').start()
        self.addCleanup(s.remove)
        for n in range(3):
            raw = greeted(s.port)
            self.assertEqual(raw.cmd("MAIL FROM:<a@example.org>")[0], 250)
            self.assertEqual(raw.cmd("RCPT TO:<sink@localhost>")[0], 250)
            self.assertEqual(raw.cmd("DATA")[0], 354)
            code, text = raw.cmd(f"Subject: {n}\r\n\r\nbody\r\n.")
            self.assertRegex(text, QUEUED)
            raw.close()
        self.assertTrue(wait_until(lambda: not harness.spool_files(s), 10), harness.spool_files(s))
        self.assertFalse(os.path.exists(os.path.join(s.state, "maildir", "sink")))
        self.assertEqual(s.stop(), 0, s.server_log())


if __name__ == "__main__":
    unittest.main()
