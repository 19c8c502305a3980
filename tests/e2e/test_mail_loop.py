"""Promise 10 of docs/security.md: mail loops end (RFC 5321 6.3).

Two gateways whose send connectors route one domain (loop.test, an internal-relay domain on
both) to each other pass a message back and forth until its hop count (Received: header fields)
reaches `[limits] max_hop_count` (default 50); then the gateway that holds it bounces it instead
of sending it on: exactly one DSN reaches the sender (sender.test is delivered locally on
gateway A), with Exchange's diagnostic `554 5.4.14 Hop count exceeded - possible mail loop`, and
both spools empty. A message that arrives with more Received: fields than the limit is refused at
DATA with that reply and stored nowhere; one with exactly the limit is accepted. Local delivery
counts Delivered-To: fields too: a message whose Received: and Delivered-To: fields together
exceed the limit is bounced instead of put in the mailbox."""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

MAX_HOPS = 50  # the default, not configured: the test checks it
LOOP_REPLY = "554 5.4.14 Hop count exceeded - possible mail loop"
QUEUED = re.compile(r"^250 2\.6\.0 [0-9A-F]{16} Queued mail for delivery$")
NO_TLS = [{"name": "Default", "starttls": False, "accepted_domain_senders": "anyone"}]
LOOP_DOMAIN = '[[accepted_domain]]\ndomain = "loop.test"\ntype = "internal-relay"\n'


def trace_fields(count, name="Received", start=0):
    return "".join(f"{name}: from relay{n}.example ([192.0.2.{n % 250 + 1}])\r\n\tby mx{n}.example with ESMTP;"
                   f" Mon, 7 Dec 2026 18:00:00 +0000\r\n" if name == "Received" else f"{name}: user{n}@example.org\r\n"
                   for n in range(start, start + count))


def received_lines(text):
    return len(re.findall(r"^Received:", text, re.M))


class MailLoop(unittest.TestCase):
    """Gateway A (sender.test local, loop.test to B) and gateway B (loop.test and sender.test to A)."""

    @classmethod
    def setUpClass(cls):
        cls.a = harness.Sluice(connectors=NO_TLS, hostname="a.loop.test", local_domains=("sender.test",))
        cls.b = harness.Sluice(connectors=NO_TLS, hostname="b.loop.test", local_domains=())
        harness.append_config(cls.a, LOOP_DOMAIN + harness.smart_host_connector("To B", ["loop.test"], cls.b.port))
        harness.append_config(cls.b, LOOP_DOMAIN + harness.smart_host_connector("To A", ["loop.test", "sender.test"],
                                                                                 cls.a.port))
        cls.a.start()
        cls.addClassCleanup(harness.stop_and_check, cls.a)
        cls.b.start()
        cls.addClassCleanup(harness.stop_and_check, cls.b)

    def send(self, raw, sender, recipient, content):
        """One transaction; returns the final reply's (code, text)."""
        self.assertEqual(raw.cmd(f"MAIL FROM:<{sender}>")[0], 250)
        self.assertEqual(raw.cmd(f"RCPT TO:<{recipient}>")[0], 250)
        self.assertEqual(raw.cmd("DATA")[0], 354)
        return raw.cmd(content + ".")

    def test_loop_between_two_gateways_ends_with_one_bounce(self):
        raw = harness.greeted(self.a.port)
        began = time.monotonic()
        code, text = self.send(raw, "looper@sender.test", "nobody@loop.test",
                               "From: looper@sender.test\r\nSubject: round and round\r\n\r\nhello\r\n")
        raw.close()
        self.assertRegex(text, QUEUED)
        dsn = harness.wait_for("the bounce of the looping message",
                               lambda: self.a.maildir("looper", timeout=0), timeout=30)
        seconds = time.monotonic() - began
        harness.wait_for("both spools to empty",
                         lambda: harness.spool_files(self.a) == [] and harness.spool_files(self.b) == [], timeout=10)
        # Exactly one notification, after everything settled, and nothing delivered anywhere else.
        self.assertEqual(len(self.a.maildir("looper", timeout=0)), 1)
        self.assertEqual(harness.delivered_files(self.b), [])
        self.assertEqual(self.a.maildir("nobody", timeout=0), [])
        text = dsn[0].decode("utf-8", "replace")
        self.assertIn("Final-Recipient: rfc822; nobody@loop.test", text)
        self.assertIn("Status: 5.4.14", text)
        self.assertIn("Diagnostic-Code: smtp; " + LOOP_REPLY, text)
        # The hops: every gateway accepted the message with at most MAX_HOPS Received: fields;
        # the copy that was bounced (its headers are in the DSN) has one more, its holder's own.
        original_headers = text.split("text/rfc822-headers", 1)[1]
        self.assertEqual(received_lines(original_headers), MAX_HOPS + 1)
        # Every relay was accepted by the other gateway (the send logs hold only loop traffic):
        # MAX_HOPS of them after the client's submission, and none refused.
        sent = harness.send_log_records(self.a) + harness.send_log_records(self.b)
        relays = [r for r in sent if r.event == "<" and QUEUED.match(r.data)]
        self.assertEqual(len(relays), MAX_HOPS)
        self.assertEqual([r.data for r in sent if "5.4.14" in r.data], [], "no gateway had to refuse it")
        print(f"\nloop: {len(relays)} relays ({len(harness.send_log_sessions(self.a))} by A, "
              f"{len(harness.send_log_sessions(self.b))} by B), bounce in the sender's mailbox after {seconds:.2f} s",
              file=sys.stderr)

    def test_more_received_fields_than_the_limit_is_refused_at_data(self):
        raw = harness.greeted(self.a.port)
        too_many = trace_fields(MAX_HOPS + 1) + "Subject: too many hops\r\n\r\nbody\r\n"
        self.assertEqual(self.send(raw, "someone@example.org", "inbox@sender.test", too_many), (554, LOOP_REPLY))
        # Body lines that look like Received: fields do not count; exactly the limit is accepted.
        at_limit = trace_fields(MAX_HOPS) + "Subject: at the limit\r\n\r\n" + trace_fields(20) + "body\r\n"
        code, text = self.send(raw, "someone@example.org", "inbox@sender.test", at_limit)
        self.assertRegex(text, QUEUED)
        raw.close()
        mail = self.a.maildir("inbox")
        self.assertEqual(len(mail), 1)
        self.assertIn(b"Subject: at the limit", mail[0])
        self.a.protocol_log(wait_for="Message refused")
        self.assertIn(f"Message refused: {MAX_HOPS + 1} Received: header fields, more than max_hop_count "
                      f"({MAX_HOPS}); possible mail loop", [r.context for r in harness.protocol_log_records(self.a)])

    def test_local_delivery_counts_delivered_to(self):
        raw = harness.greeted(self.a.port)
        # Accepted at DATA (45 Received: fields), but with six Delivered-To: fields the local
        # delivery count is 51: bounced to the sender, not put in the mailbox.
        looping = trace_fields(45) + trace_fields(6, "Delivered-To") + "Subject: forwarded in circles\r\n\r\nx\r\n"
        self.assertRegex(self.send(raw, "forwarder@sender.test", "forwarded@sender.test", looping)[1], QUEUED)
        bounce = self.a.maildir("forwarder")
        self.assertEqual(len(bounce), 1)
        self.assertIn(b"Diagnostic-Code: smtp; " + LOOP_REPLY.encode(), bounce[0])
        # Five Delivered-To: fields make exactly the limit: delivered.
        at_limit = trace_fields(45) + trace_fields(5, "Delivered-To") + "Subject: forwarded once too often\r\n\r\nx\r\n"
        self.assertRegex(self.send(raw, "forwarder@sender.test", "forwarded@sender.test", at_limit)[1], QUEUED)
        raw.close()
        delivered = self.a.maildir("forwarded")
        self.assertEqual(len(delivered), 1)
        self.assertIn(b"Subject: forwarded once too often", delivered[0])
        self.assertEqual(len(self.a.maildir("forwarder", timeout=0)), 1)


if __name__ == "__main__":
    unittest.main()
