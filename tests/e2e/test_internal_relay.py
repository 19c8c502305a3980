"""Internal-relay accepted domains (docs/configuration.md, "Accepted domains"): sluice takes mail for
the organisation's domains whose mailboxes are on an internal server from any client, also one
that may not relay, and sends it on through the send connector that names the domain.

The internal server is a real Postfix (postfix_peer) that stores corp.test and eu.branch.test
mail in a Maildir (its `virtual` delivery agent). One message from an Internet client (no relay
permission) to an exact internal-relay domain, a subdomain covered by a "*.branch.test" pattern
and an authoritative domain: the first two arrive at Postfix with the Received chain client ->
sluice -> Postfix, the send protocol log records the hop through the named connector, and the
third is delivered into sluice's own Maildir, never to Postfix. A subdomain of an exact
internal-relay domain stays refused (it would be relaying). And a configuration whose
internal-relay domain only the catch-all "*" would route is refused at start."""
import email
import email.policy
import os
import re
import subprocess
import tempfile
import unittest

import harness
import postfix_peer
from postfix_peer import PostfixPeer

NOBODY = 65534
RELAY = "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"
CONNECTOR = "To the internal server"
INTERNAL_RELAY_DOMAINS = ('[[accepted_domain]]\ndomain = "corp.test"\ntype = "internal-relay"\n'
                          '[[accepted_domain]]\ndomain = "*.branch.test"\ntype = "internal-relay"\n')


def internal_server_settings(mail_dir):
    """A Postfix that stores every recipient of corp.test and eu.branch.test in one Maildir."""
    return {
        "virtual_mailbox_domains": "corp.test, eu.branch.test",
        "virtual_mailbox_base": mail_dir,
        "virtual_mailbox_maps": "static:inbox/",  # trailing slash: a Maildir
        "virtual_uid_maps": f"static:{NOBODY}",
        "virtual_gid_maps": f"static:{NOBODY}",
        "virtual_minimum_uid": str(NOBODY),
    }


class InternalRelayToPostfix(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = postfix_peer.available()
        if reason:
            raise unittest.SkipTest(reason)
        cls.mail_dir = tempfile.mkdtemp(prefix="internal-server-mail-")
        harness._made_dirs.append(cls.mail_dir)
        os.chmod(cls.mail_dir, 0o755)
        os.chown(cls.mail_dir, NOBODY, NOBODY)
        cls.postfix = PostfixPeer(internal_server_settings(cls.mail_dir), hostname="exchange.corp.test")
        cls.addClassCleanup(cls.postfix.cleanup)
        cls.postfix.start()

        port25 = [f"127.0.0.1:{harness.free_port()}"]
        cls.sluice = harness.Sluice(extra=INTERNAL_RELAY_DOMAINS, connectors=[
            {"name": "Internet", "listen": port25},
            {"name": "Exchange Online", "listen": port25, "remote_ranges": ["127.0.0.64/26"],
             "accepted_domain_senders": "anyone"}])
        harness.append_config(cls.sluice, harness.queue_table() + harness.smart_host_connector(
            CONNECTOR, ["corp.test", "*.branch.test"], cls.postfix.port))
        cls.addClassCleanup(cls._stop)
        cls.sluice.start()

    @classmethod
    def _stop(cls):
        status = cls.sluice.stop()
        if status != 0:
            raise AssertionError(f"sluice exited with {status}: {cls.sluice.server_log()}")

    def internal_mail(self, count):
        return harness.files_when_there(os.path.join(self.mail_dir, "inbox", "new", "*"), count, 20)

    def test_1_internal_relay_mail_reaches_the_internal_server_from_a_client_that_may_not_relay(self):
        raw = harness.RawFrom(self.sluice.port, "127.0.0.1")
        self.addCleanup(raw.close)
        self.assertEqual(raw.reply()[0], 220)
        self.assertEqual(raw.cmd("EHLO internet-client.example")[0], 250)
        self.assertEqual(raw.cmd("MAIL FROM:<alice@internet.example>")[0], 250)
        self.assertEqual(raw.cmd("RCPT TO:<bob@Corp.Test>"), (250, "250 2.1.5 Recipient <bob@Corp.Test> OK"))
        self.assertEqual(raw.cmd("RCPT TO:<carol@eu.branch.test>")[0], 250)
        self.assertEqual(raw.cmd("RCPT TO:<dave@sluice.test>")[0], 250)
        # Exact names cover no subdomain, and other domains are relaying.
        self.assertEqual(raw.cmd("RCPT TO:<eve@sub.corp.test>"), (550, RELAY))
        self.assertEqual(raw.cmd("RCPT TO:<eve@remote.example>"), (550, RELAY))
        self.assertEqual(raw.cmd("DATA")[0], 354)
        code, text = raw.cmd("From: alice@internet.example\r\nSubject: to the internal server\r\n\r\nhello\r\n.")
        self.assertEqual(code, 250, text)
        queue_id = re.match(r"250 2\.6\.0 ([0-9A-F]{16}) ", text).group(1)
        raw.cmd("QUIT")

        # Both internal recipients in one transaction to Postfix, which stores one copy each.
        got = self.internal_mail(2)
        self.assertEqual(len(got), 2, self.postfix.log())
        for m in got:
            msg = email.message_from_bytes(m, policy=email.policy.compat32)
            self.assertEqual(msg["Subject"], "to the internal server")
            received = [re.sub(r"\s+", " ", h) for h in msg.get_all("Received")]
            # Newest first: Postfix's hop from sluice, then sluice's from the client.
            self.assertRegex(received[0], r"^from mx\.sluice\.test \(localhost \[127\.0\.0\.1\]\) by exchange\.corp\.test")
            self.assertRegex(received[1], rf"^from internet-client\.example \(\[127\.0\.0\.1\]\) by mx\.sluice\.test "
                                          rf"\(sluice\) with ESMTP \(connector \"Internet\"\) id {queue_id}")
        self.assertEqual(sorted(re.search(r"^Delivered-To: (\S+)", m.decode(), re.M).group(1) for m in got),
                         ["bob@Corp.Test", "carol@eu.branch.test"])  # as the client wrote them

        # The authoritative recipient stays here.
        [local] = self.sluice.maildir("dave")
        self.assertIn(b"Subject: to the internal server", local)

        # The hop in the send protocol log: the named connector, to Postfix, both recipients.
        self.assertTrue(harness.wait_until(lambda: not harness.queued_envelopes(self.sluice), 20),
                        harness.queued_envelopes(self.sluice))
        [session] = [recs for recs in harness.send_log_sessions(self.sluice).values()
                     if any(r.data == "RCPT TO:<bob@Corp.Test>" for r in recs)]
        self.assertEqual({r.connector for r in session}, {CONNECTOR})
        self.assertEqual(session[0].remote, f"127.0.0.1:{self.postfix.port}")
        sent = [r.data for r in session if r.event == ">"]
        self.assertIn("RCPT TO:<bob@Corp.Test>", sent)
        self.assertIn("RCPT TO:<carol@eu.branch.test>", sent)
        self.assertFalse(any("dave@" in line or "eve@" in line for line in sent), sent)
        self.assertTrue(any(r.event == "<" and r.data.startswith("250 2.0.0 Ok: queued as ") for r in session),
                        session)

    def test_2_hybrid_exchange_online_to_an_on_premises_user(self):
        # From the Internet the cloud user's address is a spoof.
        raw = harness.RawFrom(self.sluice.port, "127.0.0.1")
        self.addCleanup(raw.close)
        raw.reply()
        raw.cmd("EHLO internet-client.example")
        self.assertEqual(raw.cmd("MAIL FROM:<cloud.user@corp.test>"),
                         (550, "550 5.7.1 Client does not have permissions to send as this sender"))
        raw.cmd("QUIT")

        raw = harness.RawFrom(self.sluice.port, "127.0.0.70")
        self.addCleanup(raw.close)
        raw.reply()
        raw.cmd("EHLO mail.protection.outlook.example")
        self.assertEqual(raw.cmd("MAIL FROM:<cloud.user@corp.test>")[0], 250)
        self.assertEqual(raw.cmd("RCPT TO:<onprem.user@corp.test>")[0], 250)
        self.assertEqual(raw.cmd("RCPT TO:<someone@remote.example>"), (550, RELAY))  # a partner is no relay client
        self.assertEqual(raw.cmd("DATA")[0], 354)
        code, text = raw.cmd("Subject: hybrid\r\n\r\nfrom the cloud\r\n.")
        self.assertEqual(code, 250, text)
        raw.cmd("QUIT")
        hybrid = [m for m in self.internal_mail(3) if b"Subject: hybrid" in m]
        self.assertEqual(len(hybrid), 1, self.postfix.log())
        self.assertIn(b"Delivered-To: onprem.user@corp.test", hybrid[0])
        self.assertRegex(re.sub(rb"\s+", b" ", hybrid[0]), rb'by mx\.sluice\.test \(sluice\) with ESMTP \(connector '
                                                          rb'"Exchange Online"\)')


class InternalRelayWithoutItsOwnSendConnector(unittest.TestCase):
    def test_start_is_refused_naming_the_domain(self):
        sluice = harness.Sluice(extra=INTERNAL_RELAY_DOMAINS)
        self.addCleanup(sluice.remove)
        p = subprocess.run([harness.SLUICE, "serve", "--config", sluice.config, "--check-config"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertRegex(p.stderr, r'accepted_domain\[0\]\.domain: internal-relay domain "corp\.test" has no send '
                                   r'connector of its own \(only the catch-all "\*" of send connector "Default '
                                   r'Outbound" covers it')


if __name__ == "__main__":
    unittest.main(verbosity=2)
