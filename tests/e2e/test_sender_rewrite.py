"""End-to-end: sender rewriting for devices (docs/relay-for-devices.md).

A "Devices" receive connector with rewrite_senders takes mail from swaks as a printer would send
it (MAIL FROM root@localhost, From: "Scanner <root@localhost>"). Each message goes to one local
mailbox (Maildir) and to one remote recipient that a send connector relays to Postfix's
smtp-sink, which dumps every transaction with the MAIL FROM it was given (X-Mail-Args).
Checked: the envelope sender the next hop saw, the From: header in both copies (display name
kept), X-Original-Sender, the protocol log and the message tracking record; the null sender stays
null while its From: is still rewritten; a sender that matches no entry passes unchanged."""
import email
import email.policy
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import smtp_sink  # noqa: E402
from smtp_sink import PostfixSmtpSink  # noqa: E402

REWRITES = {"*@printer.local": "scanner@contoso.test", "root@localhost": "alerts@contoso.test"}


def message_with_mail_from(dumps, mail_from_args):
    for m in dumps:
        if m["X-Mail-Args"] == mail_from_args:
            return m
    raise AssertionError(f"no dump with X-Mail-Args {mail_from_args!r}: {[m['X-Mail-Args'] for m in dumps]}")


@unittest.skipUnless(not smtp_sink.available() and shutil.which("swaks"),
                     "smtp-sink (postfix) and swaks are installed by scripts/install-deps")
class SenderRewrite(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = PostfixSmtpSink().start()
        cls.addClassCleanup(cls.sink.stop)
        cls.sluice = harness.Sluice(connectors=[{"name": "Devices", "relay_from": ["127.0.0.0/8"],
                                                 "rewrite_senders": REWRITES}])
        harness.append_config(cls.sluice, harness.queue_table() +
                              harness.smart_host_connector("To the sink", ["partner.test"], cls.sink.port))
        cls.sluice.start()
        cls.addClassCleanup(cls.sluice.remove)
        cls.addClassCleanup(harness.stop_and_check, cls.sluice)
        port = cls.sluice.port_of("Devices")

        def send(mail_from, header_from, mailbox):
            data = (f"From: {header_from}\r\nTo: {mailbox}@sluice.test, bob@partner.test\r\n"
                    f"Subject: scan {mailbox}\r\nMessage-ID: <{mailbox}@printer.local>\r\n\r\nscanned page\r\n")
            p = harness.run_swaks(port, "--from", mail_from, "--to", f"{mailbox}@sluice.test,bob@partner.test",
                                  "--data", data)
            assert p.returncode == 0, p.stdout + p.stderr
            return p.stdout
        cls.device = send("root@localhost", "Scanner <root@localhost>", "device")
        cls.bounce = send("<>", "MAILER-DAEMON@printer.local", "nullsender")
        cls.other = send("app@sluice.test", "App <app@sluice.test>", "unchanged")
        cls.dumps = cls.sink.dumps(3)

    def test_next_hop_gets_the_rewritten_envelope_sender_and_from(self):
        self.assertIn("250 2.1.0 Sender <root@localhost> OK", self.device)  # the client is told what it sent
        m = message_with_mail_from(self.dumps, "<alerts@contoso.test>")
        self.assertEqual(m["Subject"], "scan device")
        self.assertEqual(m["From"], "Scanner <alerts@contoso.test>")
        self.assertEqual(m["X-Original-Sender"], "root@localhost")
        self.assertEqual(m["X-Rcpt-Args"], "<bob@partner.test>")

    def test_local_copy_has_the_rewritten_from_and_the_original(self):
        [text] = self.sluice.maildir("device")
        m = email.message_from_bytes(text, policy=email.policy.default)
        self.assertEqual(m["From"], "Scanner <alerts@contoso.test>")
        self.assertEqual(m["X-Original-Sender"], "root@localhost")
        self.assertNotIn("root@localhost", m["From"])

    def test_null_sender_stays_null_but_its_from_is_rewritten(self):
        m = message_with_mail_from(self.dumps, "<>")
        self.assertEqual(m["From"], "scanner@contoso.test")
        self.assertEqual(m["X-Original-Sender"], "MAILER-DAEMON@printer.local")

    def test_a_sender_without_an_entry_passes_unchanged(self):
        m = message_with_mail_from(self.dumps, "<app@sluice.test>")
        self.assertEqual(m["From"], "App <app@sluice.test>")
        self.assertIsNone(m["X-Original-Sender"])

    def test_protocol_log_and_tracking_record_the_rewrite(self):
        lines = self.sluice.protocol_log(wait_for="Sender rewritten")
        self.assertTrue(any("Sender rewritten: root@localhost -> alerts@contoso.test" in l for l in lines), lines)
        self.assertTrue(any("From: header rewritten: root@localhost -> alerts@contoso.test" in l for l in lines))
        self.assertTrue(any("From: header rewritten: MAILER-DAEMON@printer.local -> scanner@contoso.test" in l
                            for l in lines))
        self.assertFalse(any("rewritten" in l and "app@sluice.test" in l for l in lines))
        harness.wait_until(lambda: any(r["event-id"] == "RECEIVE" for r in harness.tracking_records(self.sluice)))
        receive = [r for r in harness.tracking_records(self.sluice)
                   if r["event-id"] == "RECEIVE" and r["message-id"] == "<device@printer.local>"]
        self.assertEqual(len(receive), 1)
        self.assertEqual(receive[0]["sender-address"], "alerts@contoso.test")
        self.assertIn("S:OriginalSender=root@localhost", receive[0]["custom-data"])
        [other] = [r for r in harness.tracking_records(self.sluice)
                   if r["event-id"] == "RECEIVE" and r["message-id"] == "<unchanged@printer.local>"]
        self.assertNotIn("OriginalSender", other["custom-data"])


if __name__ == "__main__":
    unittest.main()
