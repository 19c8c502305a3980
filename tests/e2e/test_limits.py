"""End-to-end: the limits of `sluice serve`: message size (announced and actual), command and text
line length, bare CR/LF and SMTP smuggling, recipients per message, errors per session, command and
data timeouts, and connections overall and per client address. Each group runs against its own
server so that one limit never trips another; STARTTLS is off to skip certificate generation."""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

QUEUED = re.compile(r"^250 2\.6\.0 [0-9A-F]{16} Queued mail for delivery$")
NO_TLS = [{"name": "Default", "starttls": False}]


def server(limits):
    """A not yet started server (use it in a with block)."""
    return harness.Sluice(connectors=NO_TLS, limits=limits)


def start(limits):
    return server(limits).start()


def stop(sluice):
    status = sluice.stop()
    if status != 0:
        raise AssertionError(f"sluice exited with {status}: {sluice.server_log()}")


def open_session(port, source=None):
    raw = harness.RawFrom(port, source) if source else harness.Raw(port)
    code, text = raw.reply()
    assert code == 220, text
    code, text = raw.cmd("EHLO client.test")
    assert code == 250, text
    return raw


def start_data(raw, *recipients):
    """MAIL, RCPT for each recipient, DATA; asserts the 354."""
    assert raw.cmd("MAIL FROM:<alice@example.org>")[0] == 250
    for r in recipients or ("bob@localhost",):
        code, text = raw.cmd(f"RCPT TO:<{r}>")
        assert code == 250, text
    code, text = raw.cmd("DATA")
    assert code == 354, text


class MessageLimits(unittest.TestCase):
    """max_message_size = 10000, max_recipients = 3, max_text_line and max_command_line defaults."""

    @classmethod
    def setUpClass(cls):
        # max_errors is raised: these tests provoke many refusals in one session on purpose.
        cls.sluice = start("max_message_size = 10000\nmax_recipients = 3\nmax_errors = 100\n")

    @classmethod
    def tearDownClass(cls):
        stop(cls.sluice)

    def setUp(self):
        self.raw = open_session(self.sluice.port)

    def tearDown(self):
        self.raw.close()

    def send_good_and_count(self, mailbox):
        """Sends one correct message to `mailbox` on the same session, waits for it, and returns
        how many messages that mailbox then holds (a refused message before it would add one)."""
        start_data(self.raw, f"{mailbox}@localhost")
        self.assertRegex(self.raw.cmd("Subject: good\r\n\r\nok\r\n.")[1], QUEUED)
        return len(self.sluice.maildir(mailbox))

    def test_ehlo_announces_configured_size(self):
        code, text = self.raw.cmd("EHLO again.test")
        self.assertIn("250-SIZE 10000", text.split("\n"))

    def test_declared_size(self):
        self.assertEqual(self.raw.cmd("MAIL FROM:<a@example.org> SIZE=10001"),
                         (552, "552 5.3.4 Message size exceeds fixed maximum message size (10000 octets)"))
        self.assertEqual(self.raw.cmd("MAIL FROM:<a@example.org> SIZE=99999999999999999999")[0], 501)
        self.assertEqual(self.raw.cmd("MAIL FROM:<a@example.org> SIZE=10000")[0], 250)

    def test_actual_size_over_limit(self):
        start_data(self.raw, "big@localhost")
        line = b"x" * 98 + b"\r\n"
        self.raw.send(b"Subject: big\r\n\r\n" + line * 120 + b".\r\n")  # about 12000 octets
        self.assertEqual(self.raw.reply(),
                         (552, "552 5.3.4 Message size exceeds fixed maximum message size (10000 octets)"))
        # The session stays in step: no transaction left, next command answered normally.
        self.assertEqual(self.raw.cmd("RCPT TO:<bob@localhost>")[0], 503)
        self.assertEqual(self.send_good_and_count("big"), 1)

    def test_size_boundary_counts_after_dot_removal(self):
        start_data(self.raw, "edge@localhost")
        # 100 lines of 100 octets (98 + CRLF) = exactly 10000 octets; every line starts with a
        # transparency dot, which does not count.
        self.raw.send((b"." + b"y" * 98 + b"\r\n") * 100 + b".\r\n")
        self.assertRegex(self.raw.reply()[1], QUEUED)
        start_data(self.raw, "edge@localhost")
        self.raw.send((b"y" * 98 + b"\r\n") * 100 + b"z\r\n.\r\n")  # 10003 octets
        self.assertEqual(self.raw.reply()[0], 552)
        messages = self.sluice.maildir("edge")
        self.assertEqual(len(messages), 1)
        self.assertTrue(messages[0].endswith((b"y" * 98 + b"\r\n") * 100))

    def test_command_line_too_long(self):
        # 512 octets including CRLF is allowed, 513 is not.
        self.assertEqual(self.raw.cmd("NOOP " + "a" * 505), (250, "250 2.0.0 OK"))
        self.assertEqual(self.raw.cmd("NOOP " + "a" * 506),
                         (500, "500 5.5.2 Line too long (the limit is 512 octets)"))
        code, text = self.raw.cmd("MAIL FROM:<" + "a" * 5000 + "@example.org>")
        self.assertEqual(code, 500)
        self.assertTrue(text.startswith("500 5.5.2 "), text)
        # The rest of the long line was skipped, not read as commands.
        self.assertEqual(self.raw.cmd("NOOP"), (250, "250 2.0.0 OK"))

    def test_text_line_too_long(self):
        start_data(self.raw, "lines@localhost")
        self.raw.send(b"Subject: long\r\n\r\n" + b"l" * 999 + b"\r\n.\r\n")
        self.assertEqual(self.raw.reply(),
                         (550, "550 5.6.0 Message has a line longer than 1000 octets (RFC 5321 4.5.3.1.6)"))
        start_data(self.raw, "lines@localhost")
        # 998 + CRLF = 1000 octets is allowed; so is a line whose 1001st octet is the transparency dot.
        self.raw.send(b"Subject: long\r\n\r\n" + b"l" * 998 + b"\r\n." + b"m" * 998 + b"\r\n.\r\n")
        self.assertRegex(self.raw.reply()[1], QUEUED)
        messages = self.sluice.maildir("lines")
        self.assertEqual(len(messages), 1)
        self.assertTrue(messages[0].endswith(b"l" * 998 + b"\r\n" + b"m" * 998 + b"\r\n"))

    def test_bare_lf_refused(self):
        start_data(self.raw, "bare@localhost")
        self.raw.send(b"Subject: lf\r\n\r\nline one\nline two\r\n.\r\n")
        self.assertEqual(self.raw.reply(),
                         (550, "550 5.6.0 Message contains bare CR or LF (refused to prevent SMTP smuggling)"))
        start_data(self.raw, "bare@localhost")
        self.raw.send(b"Subject: cr\r\n\r\nline one\rline two\r\n.\r\n")
        self.assertEqual(self.raw.reply()[0], 550)
        self.assertEqual(self.send_good_and_count("bare"), 1)

    def test_smuggling_is_one_refused_message(self):
        fake_ends = [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\r"]
        for fake in fake_ends:
            with self.subTest(fake_end=fake):
                start_data(self.raw, "victim@localhost")
                self.raw.send(b"Subject: innocent\r\n\r\nhello" + fake
                              + b"MAIL FROM:<ceo@sluice.test>\r\nRCPT TO:<smuggled@localhost>\r\nDATA\r\n"
                              + b"Subject: forged\r\n\r\nsend money\r\n.\r\n")
                self.assertEqual(self.raw.reply(),
                                 (550, "550 5.6.0 Message contains bare CR or LF (refused to prevent SMTP smuggling)"))
                # The very next reply answers our NOOP: no hidden MAIL/RCPT/DATA was executed.
                self.assertEqual(self.raw.cmd("NOOP"), (250, "250 2.0.0 OK"))
                self.assertEqual(self.raw.cmd("RCPT TO:<bob@localhost>")[0], 503)
        self.assertEqual(self.send_good_and_count("victim"), 1)
        self.assertFalse(os.path.exists(os.path.join(self.sluice.state, "maildir", "smuggled")))
        self.assertNotIn("smuggled", " ".join(harness.delivered_files(self.sluice)))

    def test_max_recipients(self):
        self.assertEqual(self.raw.cmd("MAIL FROM:<alice@example.org>")[0], 250)
        for n in (1, 2, 3):
            self.assertEqual(self.raw.cmd(f"RCPT TO:<r{n}@localhost>")[0], 250)
        self.assertEqual(self.raw.cmd("RCPT TO:<r4@localhost>"),
                         (452, "452 4.5.3 Too many recipients (the limit is 3 per message)"))
        self.assertEqual(self.raw.cmd("DATA")[0], 354)
        self.assertRegex(self.raw.cmd("Subject: many\r\n\r\nhi\r\n.")[1], QUEUED)
        for n in (1, 2, 3):
            self.assertEqual(len(self.sluice.maildir(f"r{n}")), 1)
        self.assertFalse(os.path.exists(os.path.join(self.sluice.state, "maildir", "r4")))
        # The count is per message: a new transaction may have 3 again.
        self.assertEqual(self.raw.cmd("MAIL FROM:<alice@example.org>")[0], 250)
        for n in (5, 6, 7):
            self.assertEqual(self.raw.cmd(f"RCPT TO:<r{n}@localhost>")[0], 250)


class ErrorLimit(unittest.TestCase):
    def test_too_many_errors_closes(self):
        with server("max_errors = 3\n") as s:
            raw = open_session(s.port)
            self.assertEqual(raw.cmd("FOO")[0], 500)
            self.assertEqual(raw.cmd("RCPT TO:<bob@localhost>")[0], 503)
            self.assertEqual(raw.cmd("NOOP")[0], 250)  # a good command does not reset the count
            self.assertEqual(raw.cmd("BAR")[0], 500)
            code, text = raw.reply()
            self.assertEqual(code, 421)
            self.assertTrue(text.startswith("421 4.7.0 "), text)
            self.assertTrue(raw.closed())
            raw.close()
            # Other sessions are not affected.
            other = open_session(s.port)
            self.assertEqual(other.cmd("NOOP")[0], 250)
            other.close()
            stop(s)


class Timeouts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sluice = start('command_timeout = "1s"\ndata_timeout = "1s"\n')

    @classmethod
    def tearDownClass(cls):
        stop(cls.sluice)

    def test_command_timeout(self):
        raw = open_session(self.sluice.port)
        began = time.monotonic()
        code, text = raw.reply()
        elapsed = time.monotonic() - began
        self.assertEqual(code, 421)
        self.assertRegex(text, r"^421 4\.4\.2 .*timeout exceeded$")
        self.assertGreater(elapsed, 0.8)
        self.assertLess(elapsed, 4)
        self.assertTrue(raw.closed())
        raw.close()

    def test_activity_restarts_command_timer(self):
        raw = open_session(self.sluice.port)
        for _ in range(4):
            time.sleep(0.5)
            self.assertEqual(raw.cmd("NOOP")[0], 250)
        raw.close()

    def test_data_timeout(self):
        raw = open_session(self.sluice.port)
        start_data(raw, "slow@localhost")
        raw.send("Subject: slow\r\n\r\nfirst part\r\n")
        began = time.monotonic()
        code, text = raw.reply()
        elapsed = time.monotonic() - began
        self.assertEqual(code, 421)
        self.assertRegex(text, r"^421 4\.4\.2 .*timeout exceeded$")
        self.assertLess(elapsed, 4)
        self.assertTrue(raw.closed())
        raw.close()
        time.sleep(0.3)
        self.assertEqual(harness.delivered_files(self.sluice), [])
        self.assertEqual(harness.queued_envelopes(self.sluice), [])


class ConnectionLimits(unittest.TestCase):
    def assert_refused(self, raw, prefix):
        code, text = raw.reply()
        self.assertEqual(code, 421, text)
        self.assertTrue(text.startswith(prefix), text)
        self.assertTrue(raw.closed())
        raw.close()

    def assert_works(self, raw, mailbox):
        start_data(raw, f"{mailbox}@localhost")
        self.assertRegex(raw.cmd("Subject: c\r\n\r\nx\r\n.")[1], QUEUED)

    def test_per_ip(self):
        with server("max_connections_per_ip = 2\n") as s:
            first, second = open_session(s.port), open_session(s.port)
            self.assert_refused(harness.Raw(s.port), "421 4.7.0 ")
            self.assert_works(first, "ip1")
            self.assert_works(second, "ip2")
            # Another client address is counted on its own.
            other = open_session(s.port, source="127.0.0.2")
            self.assertEqual(other.cmd("NOOP")[0], 250)
            # After one of the two leaves, the address may connect again.
            self.assertEqual(first.cmd("QUIT")[0], 221)
            self.assertTrue(first.closed())
            first.close()
            third = None
            deadline = time.time() + 5
            while third is None:
                raw = harness.Raw(s.port)
                code, text = raw.reply()
                if code == 220:
                    third = raw
                else:
                    raw.close()
                    self.assertLess(time.time(), deadline, "slot not released after QUIT: " + text)
                    time.sleep(0.1)
            self.assertEqual(third.cmd("NOOP")[0], 250)
            for raw in (second, other, third):
                raw.close()
            stop(s)

    def test_overall(self):
        with server("max_connections = 3\n") as s:
            clients = [open_session(s.port, source=f"127.0.0.{n}") for n in (1, 2, 3)]
            self.assert_refused(harness.RawFrom(s.port, "127.0.0.4"), "421 4.3.2 ")
            for n, raw in enumerate(clients):
                self.assert_works(raw, f"all{n}")
            for raw in clients:
                raw.close()
            stop(s)


if __name__ == "__main__":
    unittest.main()
