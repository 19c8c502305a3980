"""Promise 11 of docs/security.md: a client cannot grow the protocol log without limit.

Commands that do not advance a transaction (NOOP, RSET, VRFY, EXPN, HELP, and EHLO or HELO once
the session is greeted) count against `[limits] max_junk_commands` (default 100, Postfix's
smtpd_junk_command_limit), and so do the MAIL and RCPT commands of a transaction given up with
RSET or a new greeting; the one past the limit is answered `421 4.7.0 <host> Error: too many
junk commands, closing connection` and the connection is closed, so a session's protocol log
holds a bounded number of lines. A delivered message starts the count again."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

HOST = "mx.sluice.test"
MAX_JUNK = 100  # the default, not configured: the test checks it
JUNK_REPLY = f"421 4.7.0 {HOST} Error: too many junk commands, closing connection"
OK = "250 2.0.0 OK"
QUEUED = re.compile(r"^250 2\.6\.0 [0-9A-F]{16} Queued mail for delivery$")


class JunkCommands(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.sluice = harness.Sluice(connectors=[{"name": "Default", "starttls": False}], hostname=HOST).start()
        cls.addClassCleanup(harness.stop_and_check, cls.sluice)

    def test_pipelined_noop_flood_is_cut_and_its_log_bounded(self):
        raw = harness.greeted(self.sluice.port)
        client_port = raw.sock.getsockname()[1]
        raw.send(b"NOOP\r\n" * 20_000)
        lines = harness.replies_until_close(raw, timeout=10)
        raw.close()
        self.assertEqual(lines, [OK] * MAX_JUNK + [JUNK_REPLY])
        # The session's log: connect, banner, EHLO and its reply, MAX_JUNK NOOPs and replies, the
        # NOOP too many and the 421, disconnect; of the 20000 NOOPs sent, MAX_JUNK + 1 are logged.
        session = harness.wait_for_session(self.sluice, client_port)
        self.assertEqual(len(session), 2 * MAX_JUNK + 7)
        self.assertEqual(sum(1 for r in session if r.event == "<" and r.data == "NOOP"), MAX_JUNK + 1)
        self.assertEqual([(r.event, r.data, r.context) for r in session[-2:]],
                         [(">", JUNK_REPLY, ""), ("-", "", "Local")])

    def test_every_kind_counts_and_a_delivered_message_resets_the_count(self):
        raw = harness.greeted(self.sluice.port)
        junk = ["NOOP", "RSET", "VRFY postmaster", "EXPN staff", "HELP", "EHLO again.test", "HELO again.test"]
        commands = [junk[n % len(junk)] for n in range(MAX_JUNK)]
        raw.send("".join(c + "\r\n" for c in commands))
        codes = [raw.reply()[0] for _ in commands]
        self.assertNotIn(421, codes)
        # A message: MAIL, RCPT and DATA are no junk, and the 250 starts the count again.
        self.assertEqual(raw.cmd("MAIL FROM:<alice@example.org>")[0], 250)
        self.assertEqual(raw.cmd("RCPT TO:<bob@localhost>")[0], 250)
        self.assertEqual(raw.cmd("DATA")[0], 354)
        self.assertRegex(raw.cmd("Subject: between the junk\r\n\r\nhi\r\n.")[1], QUEUED)
        raw.send("".join(c + "\r\n" for c in commands) + "RSET\r\nNOOP\r\n")
        lines = harness.replies_until_close(raw, timeout=10)
        raw.close()
        # One reply each (EHLO's has several lines, the last without "-"), then the 421 answers the
        # RSET, the command too many; the NOOP after it is never read.
        last_lines = [l for l in lines if l[3:4] != "-"]
        self.assertEqual(len(last_lines), MAX_JUNK + 1)
        self.assertNotIn(JUNK_REPLY, last_lines[:-1])
        self.assertEqual(last_lines[-1], JUNK_REPLY)
        self.assertEqual(len(self.sluice.maildir("bob")), 1)

    def test_a_transaction_given_up_counts_its_mail_and_recipients(self):
        # MAIL, 60 RCPT, RSET: 62 junk commands each round; the second RSET is one too many.
        raw = harness.greeted(self.sluice.port)
        transaction = "MAIL FROM:<alice@example.org>\r\n" + "".join(f"RCPT TO:<r{n}@localhost>\r\n" for n in range(60))
        raw.send(transaction + "RSET\r\n" + transaction + "RSET\r\nNOOP\r\n")
        lines = harness.replies_until_close(raw, timeout=10)
        raw.close()
        self.assertEqual(lines[-1], JUNK_REPLY)
        self.assertEqual(len(lines), 2 * 62)  # every command answered up to the second RSET, which gets the 421
        self.assertEqual(lines[61], "250 2.0.0 Resetting")


if __name__ == "__main__":
    unittest.main()
