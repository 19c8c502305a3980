"""Promise 4 of docs/security.md: sluice is not an open relay, on any kind of receive connector.

One gateway has Exchange's three kinds of connector: "Internet" (anonymous, everyone, no relay),
"Exchange Online" (a partner range on the same port, 127.0.0.64/26, allowed to send as the
organisation but not to relay) and "Internal" (its own port, 127.0.1.0/24, relaying only for
relay_from 127.0.1.0/25). From a client of each that may not relay (127.0.0.1, 127.0.0.70,
127.0.1.200) runs the classic relay test battery: plain remote recipients, source routes, the `%`
hack, `!` paths, several `@`, quoted local parts, IP literals, case and trailing-dot tricks, the
null sender. Each is refused with the reply docs/smtp.md documents, and none reaches the outbound
side: the queue is empty, no send session is logged, and a fake remote SMTP server (the only next
hop sluice knows) is never contacted. Legitimate local mail (any case of a local domain,
`<postmaster>` without a domain, a source route that ends at a local mailbox) is accepted and
delivered to the local Maildirs through every connector. As a control, a client inside the
internal connector's relay_from relays one message, and the fake remote receives it.

Spoof protection: a sender in an accepted domain is refused at MAIL (`550 5.7.1`) on the Internet
and Internal connectors for a client that may not relay, and accepted from the partner.

Decided here: `user@sluice.test.` (a local domain with a trailing dot) is refused as a syntax
error like every trailing-dot domain (RFC 5321's Domain has no trailing dot), not taken as local."""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from test_starttls_injection import FakeSmtpServer  # noqa: E402

RELAY = "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"
ROUTING = "553 5.1.3 Routing characters (%, !, quoted @) in the local part are not accepted"
SYNTAX = "553 5.1.3 Bad recipient address syntax: "
SPOOF = "550 5.7.1 Client does not have permissions to send as this sender"
QUEUED = re.compile(r"^250 2\.6\.0 [0-9A-F]{16} Queued mail for delivery$")

# (MAIL FROM path, RCPT TO path) -> the exact reply to RCPT.
REFUSED = {
    ("<alice@example.org>", "<user@remote.example>"): RELAY,
    ("<alice@example.org>", "<postmaster@remote.example>"): RELAY,
    ("<user@sluice.test>", "<user@remote.example>"): RELAY,  # a local sender does not help (if allowed at all)
    ("<>", "<user@remote.example>"): RELAY,  # null sender
    ("<alice@example.org>", "<@sluice.test:user@remote.example>"): RELAY,  # source route
    ("<alice@example.org>", "<@sluice.test,@localhost:user@remote.example>"): RELAY,
    ("<alice@example.org>", "<user%remote.example@sluice.test>"): ROUTING,  # % hack
    ("<alice@example.org>", "<user%remote.example@[127.0.0.1]>"): ROUTING,
    ("<alice@example.org>", "<remote.example!user@sluice.test>"): ROUTING,  # ! path
    ("<alice@example.org>", "<remote.example!user>"): SYNTAX + "missing domain",
    ("<alice@example.org>", "<user@remote.example@sluice.test>"): SYNTAX + "more than one '@' in address",
    ("<alice@example.org>", "<user@sluice.test@remote.example>"): SYNTAX + "more than one '@' in address",
    ("<alice@example.org>", '<"user@remote.example"@sluice.test>'): ROUTING,  # quoted local parts
    ("<alice@example.org>", '<"user%remote.example"@sluice.test>'): ROUTING,
    ("<alice@example.org>", '<"remote.example!user"@sluice.test>'): ROUTING,
    ("<alice@example.org>", '<"user\\@remote.example"@sluice.test>'): ROUTING,
    ("<alice@example.org>", '<"user@remote.example">'): SYNTAX + "missing domain",
    ("<alice@example.org>", "<user@[127.0.0.1]>"): RELAY,  # IP literals, even our own address
    ("<alice@example.org>", "<user@[IPv6:::1]>"): RELAY,
    ("<alice@example.org>", "<postmaster@[127.0.0.1]>"): RELAY,
    ("<alice@example.org>", "<user@SLUICE.TEST.remote.example>"): RELAY,  # case and suffix tricks
    ("<alice@example.org>", "<user@remote.example.sluice.test>"): RELAY,
    ("<alice@example.org>", "<user@sub.sluice.test>"): RELAY,
    ("<alice@example.org>", "<user@remote.example.>"): SYNTAX + "trailing dot in domain",
    ("<alice@example.org>", "<user@sluice.test.>"): SYNTAX + "trailing dot in domain",
    ("<alice@example.org>", "<user@[127.0.0.1].>"): SYNTAX + "unterminated address literal",
}

# RCPT TO path -> the Maildir folder it is delivered to.
LOCAL = {
    "<user@sluice.test>": "user",
    "<User@SLUICE.TEST>": "user",
    "<carol@Sluice.Test>": "carol",
    "<postmaster>": "postmaster",
    "<Postmaster>": "postmaster",
    "<POSTMASTER@localhost>": "postmaster",  # the same address as <postmaster>: one copy
    "<@remote.example:dave@sluice.test>": "dave",  # the route is ignored; dave is local
}


wait_until = harness.wait_until


# Connector -> a client of it that may not relay there.
OUTSIDERS = {"Internet": "127.0.0.1", "Exchange Online": "127.0.0.70", "Internal": "127.0.1.200"}
RELAY_CLIENT = "127.0.1.1"  # in the internal connector's relay_from
OUR_DOMAINS = ("sluice.test", "localhost")


def connector_types():
    """Exchange's anonymous, partner and internal receive connectors, the first two on one port."""
    shared = [f"127.0.0.1:{harness.free_port()}"]
    return [
        {"name": "Internet", "listen": shared},
        {"name": "Exchange Online", "listen": shared, "remote_ranges": ["127.0.0.64/26"], "relay": "none",
         "accepted_domain_senders": "anyone"},
        {"name": "Internal", "remote_ranges": ["127.0.1.0/24"], "relay_from": ["127.0.1.0/25"]},
    ]


def mail_reply(connector, sender):
    """What MAIL FROM `sender` gets from an outsider of `connector`: a sender in an accepted domain
    only from the partner, which may send as the organisation."""
    ours = any(sender.lower().endswith(f"@{d}>") for d in OUR_DOMAINS)
    return SPOOF if ours and connector != "Exchange Online" else None


class OpenRelay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.remote = FakeSmtpServer(offer_starttls=False).start()
        cls.addClassCleanup(cls.remote.stop)
        cls.sluice = harness.Sluice(connectors=connector_types(), limits="max_errors = 1000")
        # Every non-local domain would go to the fake remote: if anything were relayed, it would
        # knock there.
        harness.append_config(cls.sluice, harness.queue_table() + harness.smart_host_connector(
            "Everything to the fake remote", ["*"], cls.remote.port))
        cls.addClassCleanup(cls._stop)
        cls.sluice.start()

    @classmethod
    def _stop(cls):
        status = cls.sluice.stop()
        if status != 0:
            raise AssertionError(f"sluice exited with {status}: {cls.sluice.server_log()}")

    def session(self, connector, source, helo="EHLO"):
        raw = harness.RawFrom(self.sluice.port_of(connector), source)
        self.addCleanup(raw.close)
        self.assertEqual(raw.reply()[0], 220)
        self.assertEqual(raw.cmd(f"{helo} outside.example")[0], 250)
        return raw

    def assert_nothing_relayed(self):
        self.assertTrue(wait_until(lambda: not harness.queued_envelopes(self.sluice)),
                        harness.queued_envelopes(self.sluice))
        self.assertEqual(self.remote.snapshot(), [], "sluice connected to the remote")
        self.assertEqual(harness.send_log_records(self.sluice), [])

    def test_1_battery_on_every_connector_type(self):
        # One session per attempt, so that one wrongly accepted recipient cannot hide the others.
        for connector, source in OUTSIDERS.items():
            for helo in ("EHLO", "HELO"):
                for (sender, rcpt), expected in REFUSED.items():
                    with self.subTest(connector=connector, helo=helo, sender=sender, rcpt=rcpt):
                        raw = self.session(connector, source, helo=helo)
                        refused_sender = mail_reply(connector, sender)
                        if refused_sender:
                            self.assertEqual(raw.cmd(f"MAIL FROM:{sender}"), (550, refused_sender))
                            self.assertEqual(raw.cmd(f"RCPT TO:{rcpt}"), (503, "503 5.5.1 Need MAIL before RCPT"))
                        else:
                            self.assertEqual(raw.cmd(f"MAIL FROM:{sender}")[0], 250)
                            self.assertEqual(raw.cmd(f"RCPT TO:{rcpt}"), (int(expected[:3]), expected))
                        # No recipient was taken: there is nothing to send.
                        self.assertIn(raw.cmd("DATA"), ((503, "503 5.5.1 Need RCPT before DATA"),
                                                        (503, "503 5.5.1 Need MAIL before DATA")))
                        self.assertEqual(raw.cmd("QUIT")[0], 221)
                        raw.close()
        # The sessions were served by the connector meant for each client.
        connectors = {recs[0].connector for recs in harness.log_sessions(self.sluice).values()}
        self.assertEqual(connectors, set(OUTSIDERS))
        self.assertEqual(harness.delivered_files(self.sluice), [])
        self.assert_nothing_relayed()

    def test_2_refused_among_accepted_recipients(self):
        # One transaction with every local form and every trick, per connector: only the local ones
        # are taken, and the message goes to local Maildirs only.
        for connector, source in OUTSIDERS.items():
            with self.subTest(connector=connector):
                raw = self.session(connector, source)
                self.assertEqual(raw.cmd("MAIL FROM:<>")[0], 250)
                for rcpt in LOCAL:
                    self.assertEqual(raw.cmd(f"RCPT TO:{rcpt}")[0], 250, rcpt)
                for (_, rcpt), expected in REFUSED.items():
                    self.assertEqual(raw.cmd(f"RCPT TO:{rcpt}")[0], int(expected[:3]), rcpt)
                self.assertEqual(raw.cmd("DATA")[0], 354)
                self.assertRegex(raw.cmd(f"Subject: local only via {connector}\r\n\r\nhello\r\n.")[1], QUEUED)
                self.assertEqual(raw.cmd("QUIT")[0], 221)
                boxes = set(LOCAL.values())
                self.assertTrue(wait_until(lambda: len(harness.delivered_files(self.sluice)) >= len(boxes)))
                self.assert_nothing_relayed()
                delivered = harness.delivered_files(self.sluice)
                self.assertEqual(sorted(p.split(os.sep)[-3] for p in delivered), sorted(boxes), delivered)
                for box in boxes:
                    [m] = self.sluice.maildir(box)
                    self.assertIn(f"Subject: local only via {connector}".encode(), m)
                    self.assertTrue(m.startswith(b"Delivered-To: "), m[:80])
                # Cleared for the next connector and test.
                for p in delivered:
                    os.unlink(p)

    def test_3_control_relay_from_inside_reaches_the_remote(self):
        # The internal connector relays for its relay_from, and then the fake remote sees the
        # message: the checks above would have seen a relay. Its relay clients may send as us.
        raw = self.session("Internal", RELAY_CLIENT)
        self.assertEqual(raw.cmd("MAIL FROM:<alice@sluice.test>")[0], 250)
        self.assertEqual(raw.cmd("RCPT TO:<user@remote.example>"), (250, "250 2.1.5 Recipient <user@remote.example> OK"))
        # Routing tricks stay refused even for a client that may relay.
        self.assertEqual(raw.cmd("RCPT TO:<user%remote.example@sluice.test>"), (553, ROUTING))
        self.assertEqual(raw.cmd("DATA")[0], 354)
        self.assertRegex(raw.cmd("Subject: relayed\r\n\r\nout\r\n.")[1], QUEUED)
        raw.cmd("QUIT")
        sessions = self.remote.wait_for("the relayed message", lambda ss: any(s.messages for s in ss))
        self.assertEqual([line for _, line, _ in sessions[0].commands if line.startswith("RCPT")],
                         ["RCPT TO:<user@remote.example>"])
        self.assertTrue(wait_until(lambda: not harness.queued_envelopes(self.sluice)))


class PureRelayPostmaster(unittest.TestCase):
    """`local_domains = []` (a pure relay) still has a postmaster: `<postmaster>` without a domain
    is accepted from anyone (RFC 5321 4.5.1) and delivered to the local postmaster Maildir, never
    sent out by MX to the gateway's own host name."""

    def test_bare_postmaster_on_a_pure_relay(self):
        sluice = harness.Sluice(local_domains=(), extra='relay_from = ["127.0.0.2/32"]')
        self.addCleanup(sluice.stop)
        sluice.start()
        for source in ("127.0.0.1", "127.0.0.2"):
            with self.subTest(source=source):
                raw = harness.RawFrom(sluice.port, source)
                self.addCleanup(raw.close)
                raw.reply()
                raw.cmd("EHLO outside.example")
                self.assertEqual(raw.cmd("MAIL FROM:<>")[0], 250)
                self.assertEqual(raw.cmd("RCPT TO:<postmaster>"), (250, "250 2.1.5 Recipient <postmaster> OK"))
                self.assertEqual(raw.cmd("RCPT TO:<user@remote.example>")[0], 550 if source == "127.0.0.1" else 250)
                if source == "127.0.0.2":
                    self.assertEqual(raw.cmd("RSET")[0], 250)
                    self.assertEqual(raw.cmd("MAIL FROM:<>")[0], 250)
                    self.assertEqual(raw.cmd("RCPT TO:<postmaster>")[0], 250)
                self.assertEqual(raw.cmd("DATA")[0], 354)
                self.assertRegex(raw.cmd(f"Subject: to postmaster from {source}\r\n\r\nhi\r\n.")[1], QUEUED)
                raw.cmd("QUIT")
        got = sluice.maildir("postmaster", count=2)
        self.assertEqual(len(got), 2, sluice.server_log())
        for m in got:
            self.assertTrue(m.startswith(b"Delivered-To: postmaster\r\n"), m[:80])
        self.assertTrue(wait_until(lambda: not harness.queued_envelopes(sluice)), harness.queued_envelopes(sluice))
        self.assertEqual(harness.send_log_records(sluice), [])


class DeprecatedGlobalRelayFrom(unittest.TestCase):
    """The top-level relay_from still works, for the connectors that set no relay permission of
    their own, and sluice says at start that it is deprecated."""

    def test_applies_to_connectors_that_set_nothing(self):
        sluice = harness.Sluice(connectors=[{"name": "Default"}, {"name": "Closed", "relay": "none"}],
                                extra='relay_from = ["127.0.0.2/32"]')
        self.addCleanup(sluice.stop)
        sluice.start()
        self.assertRegex(sluice.server_log(), r"warning: .*sluice\.toml: line \d+: relay_from: the top-level "
                                              r"relay_from is deprecated; it applies to the receive connectors that "
                                              r'set neither relay nor relay_from \("Default"\)')
        for connector, expected in (("Default", (250, "250 2.1.5 Recipient <user@remote.example> OK")),
                                    ("Closed", (550, RELAY))):
            with self.subTest(connector=connector):
                raw = harness.RawFrom(sluice.port_of(connector), "127.0.0.2")
                self.addCleanup(raw.close)
                raw.reply()
                raw.cmd("EHLO inside.example")
                self.assertEqual(raw.cmd("MAIL FROM:<alice@example.org>")[0], 250)
                self.assertEqual(raw.cmd("RCPT TO:<user@remote.example>"), expected)
                raw.cmd("QUIT")


if __name__ == "__main__":
    unittest.main(verbosity=2)
