"""Issue 15's "Done means", end to end: sluice as the hybrid gateway of an organisation whose
mailboxes are on an internal server, with Exchange Online as a partner.

One sluice with an anonymous Internet connector and a partner connector "Exchange Online" for its
own remote range (127.0.0.2, the client source address of its sessions), the internal-relay domain
corp.test routed to a real Postfix "internal server" that lists its users in relay_recipient_maps,
[recipient_validation] verify = "callout", and the message tracking log (on by default). Shown:
mail to a known internal user from the Internet and from the partner reaches Postfix; an unknown
user is refused at RCPT with Exchange's 5.1.10; relaying to a domain that is not accepted is
refused from both (5.7.54); each delivered message has RECEIVE and SEND records, the SEND one
carrying Postfix's queued-as id in S:RemoteQueueId, and `sluice track --recipient` finds them."""
import json
import re
import subprocess
import unittest

import harness
import postfix_peer

NOT_FOUND = "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
RELAY = "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"
CONNECTOR = "To the internal server"
PARTNER_SOURCE = "127.0.0.2"


class HybridGateway(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = postfix_peer.available()
        if reason:
            raise unittest.SkipTest(reason)
        cls.postfix = postfix_peer.relay_recipient_server(["onprem.user@corp.test", "second.user@corp.test"])
        cls.addClassCleanup(cls.postfix.cleanup)
        cls.postfix.start()

        port25 = [f"127.0.0.1:{harness.free_port()}"]
        cls.sluice = harness.Sluice(
            extra='[[accepted_domain]]\ndomain = "corp.test"\ntype = "internal-relay"\n',
            connectors=[{"name": "Internet", "listen": port25},
                        {"name": "Exchange Online", "listen": port25, "remote_ranges": [f"{PARTNER_SOURCE}/32"],
                         "accepted_domain_senders": "anyone"}])
        harness.append_config(cls.sluice, '[recipient_validation]\nverify = "callout"\n' + harness.queue_table() +
                              harness.smart_host_connector(CONNECTOR, ["corp.test"], cls.postfix.port))
        cls.addClassCleanup(harness.stop_and_check, cls.sluice)
        cls.sluice.start()

    def session(self, source, helo, sender, recipients, subject):
        """One session from the client address `source`: MAIL, a RCPT per address, and DATA when
        any was accepted. Returns (the RCPT replies as one line each, our queue id or None)."""
        raw = harness.RawFrom(self.sluice.port, source, timeout=30)
        self.addCleanup(raw.close)
        self.assertEqual(raw.reply()[0], 220)
        self.assertEqual(raw.cmd(f"EHLO {helo}")[0], 250)
        self.assertEqual(raw.cmd(f"MAIL FROM:<{sender}>")[0], 250)
        replies = [" ".join(raw.cmd(f"RCPT TO:<{r}>")[1].split("\n")) for r in recipients]
        queue_id = None
        if any(r.startswith("250 ") for r in replies):
            self.assertEqual(raw.cmd("DATA")[0], 354)
            code, text = raw.cmd(f"From: {sender}\r\nSubject: {subject}\r\n\r\nhello\r\n.")
            self.assertEqual(code, 250, text)
            queue_id = re.match(r"250 2\.6\.0 ([0-9A-F]{16}) ", text).group(1)
        raw.cmd("QUIT")
        return replies, queue_id

    def sent_record(self, queue_id):
        """The SEND record of `queue_id` in the tracking log, once it is there."""
        sends = lambda: [r for r in harness.tracking_records(self.sluice)
                         if r["internal-message-id"] == queue_id and r["event-id"] == "SEND"]
        self.assertTrue(harness.wait_until(lambda: sends(), 20), harness.tracking_records(self.sluice))
        [send] = sends()
        return send

    def test_done_means(self):
        # From the Internet (anonymous): the known user, an unknown one, and another domain.
        replies, internet_id = self.session("127.0.0.1", "internet-client.example", "alice@internet.example",
                                            ["onprem.user@corp.test", "nobody@corp.test", "bob@remote.example"],
                                            "from the Internet")
        self.assertEqual(replies, ["250 2.1.5 Recipient <onprem.user@corp.test> OK", NOT_FOUND, RELAY])
        # From Exchange Online's range: a cloud user of the organisation, same three kinds of recipient.
        replies, partner_id = self.session(PARTNER_SOURCE, "mail.protection.outlook.example", "cloud.user@corp.test",
                                           ["second.user@corp.test", "nobody@corp.test", "carol@remote.example"],
                                           "from Exchange Online")
        self.assertEqual(replies, ["250 2.1.5 Recipient <second.user@corp.test> OK", NOT_FOUND, RELAY])

        # Each message: RECEIVE on its connector, then SEND to Postfix, which logs it under the
        # queued-as id the SEND record carries.
        for queue_id, receive_connector, user in ((internet_id, "Internet", "onprem.user@corp.test"),
                                                  (partner_id, "Exchange Online", "second.user@corp.test")):
            send = self.sent_record(queue_id)
            records = [r for r in harness.tracking_records(self.sluice) if r["internal-message-id"] == queue_id]
            self.assertEqual([r["event-id"] for r in records], ["RECEIVE", "SEND"], records)
            receive = records[0]
            self.assertEqual((receive["connector-id"], receive["recipient-address"]), (receive_connector, user))
            self.assertEqual((send["connector-id"], send["recipient-address"]), (CONNECTOR, user))
            self.assertEqual(send["server-ip"], "127.0.0.1")
            remote_id = re.search(r"(?:^|;)S:RemoteQueueId=([0-9A-Za-z]+)(?:;|$)", send["custom-data"])
            self.assertIsNotNone(remote_id, send)
            self.assertEqual(send["recipient-status"], f"250 2.0.0 Ok: queued as {remote_id.group(1)}")
            self.postfix.wait_for_log(rf"postfix/\S+\[\d+\]: {remote_id.group(1)}: to=<{re.escape(user)}>, "
                                      rf".*status=sent")

            found = subprocess.run([harness.SLUICE, "track", "--config", self.sluice.config, "--recipient", user,
                                    "--json"], capture_output=True, text=True, timeout=20)
            self.assertEqual(found.returncode, 0, found.stderr)
            [message] = json.loads(found.stdout)
            self.assertEqual(message["id"], queue_id)
            self.assertEqual([e.get("queued_as") for e in message["events"]], [None, remote_id.group(1)])

        # The unknown user was asked of Postfix (the callout) and refused there, and no refused
        # recipient was queued, tracked or delivered.
        self.postfix.wait_for_log(r"NOQUEUE: reject: RCPT from \S+: 550 5\.1\.1 <nobody@corp\.test>: "
                                  r"Recipient address rejected: User unknown in relay recipient table")
        tracked = {r["recipient-address"] for r in harness.tracking_records(self.sluice)}
        self.assertEqual(tracked, {"onprem.user@corp.test", "second.user@corp.test"})
        self.assertNotRegex(self.postfix.log(), r"to=<(nobody@corp|\w+@remote)\.\w+>, ")


if __name__ == "__main__":
    unittest.main(verbosity=2)
