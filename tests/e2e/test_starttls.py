"""STARTTLS semantics of `sluice serve` (RFC 3207): delivery with Python's smtplib, connectors that
require TLS, the session reset after the handshake, bytes injected before the handshake, and the
protocol log written for such sessions."""
import csv
import io
import os
import re
import smtplib
import time
import unittest

import harness
from harness import Raw, tls_client_context, wait_for_session

MUST_STARTTLS = (451, b"5.7.3 Must issue a STARTTLS command first")


def starttls(raw):
    """EHLO, STARTTLS and the handshake on a Raw connection (whose banner was read)."""
    assert raw.cmd("EHLO before.example")[0] == 250
    assert raw.cmd("STARTTLS") == (220, "220 2.0.0 SMTP server ready")
    wrap(raw)


def wrap(raw):
    assert raw.buf == b"", raw.buf  # nothing may be left over from the plain-text part
    raw.sock = tls_client_context().wrap_socket(raw.sock)


class ServerTest(unittest.TestCase):
    CONNECTORS = [{"name": "Default"}]

    @classmethod
    def setUpClass(cls):
        # A class cleanup, unlike tearDownClass, also runs when a subclass's setUpClass fails.
        cls.sluice = harness.Sluice(cls.CONNECTORS)
        cls.addClassCleanup(cls.sluice.stop)
        cls.sluice.start()

    def raw(self, connector="Default"):
        r = Raw(self.sluice.port_of(connector), timeout=5)
        self.addCleanup(r.close)
        self.assertEqual(r.reply()[0], 220)
        return r

    def smtp(self, connector="Default"):
        c = smtplib.SMTP("127.0.0.1", self.sluice.port_of(connector), timeout=5)
        self.addCleanup(c.close)
        return c

    def queue_files(self):
        return [f for f in os.listdir(os.path.join(self.sluice.state, "queue")) if not f.startswith(".")]


class SmtplibTest(ServerTest):
    CONNECTORS = [{"name": "Default"}, {"name": "Partner", "require_tls": True},
                  {"name": "Strict", "require_tls": True,
                   "require_tls_reply": "530 5.7.0 Must issue a STARTTLS command first"}]

    def test_starttls_then_two_local_recipients(self):
        c = self.smtp()
        self.assertEqual(c.starttls(context=tls_client_context())[0], 220)
        message = b"Subject: two of us\r\n\r\nhello bob and carol\r\n"
        self.assertEqual(c.sendmail("alice@example.com", ["bob@sluice.test", "carol@sluice.test"], message), {})
        c.quit()
        for box in ("bob", "carol"):
            [m] = [m for m in self.sluice.maildir(box, count=1) if b"two of us" in m]
            self.assertTrue(m.startswith(f"Delivered-To: {box}@sluice.test\r\n".encode()), m[:80])
            self.assertIn(b"with ESMTPS (version=TLS1_3", m)
            self.assertTrue(m.endswith(b"\r\n\r\nhello bob and carol\r\n"), m)
        # Both recipients delivered: the spool entry (.eml and .json) is gone.
        deadline = time.time() + 5
        while self.queue_files() and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.queue_files(), [])

    def test_require_tls_refuses_transaction_before_starttls(self):
        c = self.smtp("Partner")
        code, text = c.ehlo()
        self.assertEqual(code, 250)
        self.assertIn(b"\nSTARTTLS", text)
        self.assertEqual(c.mail("alice@example.com"), MUST_STARTTLS)
        self.assertEqual(c.noop(), (250, b"2.0.0 OK"))
        self.assertEqual(c.rset()[0], 250)
        self.assertEqual(c.rcpt("bob@sluice.test"), MUST_STARTTLS)
        self.assertEqual(c.docmd("DATA"), MUST_STARTTLS)
        self.assertEqual(c.docmd("VRFY", "bob"), MUST_STARTTLS)
        self.assertEqual(c.ehlo()[0], 250)
        # The same client, after STARTTLS, gets through.
        self.assertEqual(c.starttls(context=tls_client_context())[0], 220)
        self.assertEqual(c.sendmail("alice@example.com", ["dave@sluice.test"],
                                    b"Subject: after tls\r\n\r\nnow encrypted\r\n"), {})
        c.quit()
        [m] = self.sluice.maildir("dave", count=1)
        self.assertIn(b'(connector "Partner")', m)
        self.assertIn(b"now encrypted", m)

    def test_configured_require_tls_reply(self):
        c = self.smtp("Strict")
        c.ehlo()
        self.assertEqual(c.mail("alice@example.com"), (530, b"5.7.0 Must issue a STARTTLS command first"))
        c.quit()

    def test_without_require_tls_plain_mail_is_accepted(self):
        c = self.smtp("Default")
        c.ehlo()
        self.assertEqual(c.mail("alice@example.com")[0], 250)
        c.quit()


class InjectionTest(ServerTest):
    """RFC 3207 section 4.2 (CVE-2011-0411 class): what arrives before the handshake is discarded."""

    def test_command_pipelined_after_starttls_is_discarded(self):
        r = self.raw()
        r.cmd("EHLO x")
        injected = b"MAIL FROM:<a@b.example>\r\n"
        r.send(b"STARTTLS\r\n" + injected)
        self.assertEqual(r.reply(), (220, "220 2.0.0 SMTP server ready"))
        wrap(r)
        code, text = r.cmd("EHLO y")
        self.assertEqual(code, 250)
        self.assertTrue(text.startswith("250-mx.sluice.test Hello"), text)
        # Had the injected MAIL run, this would be 503 (sender already given) or its reply
        # would have come before the EHLO reply.
        self.assertEqual(r.cmd("MAIL FROM:<c@d.example>"), (250, "250 2.1.0 Sender <c@d.example> OK"))
        self.assertEqual(r.cmd("QUIT")[0], 221)
        session = wait_for_session(self.sluice, client_port=r.sock.getsockname()[1])
        lines = [(x.event, x.data or x.context) for x in session]
        discarded = ("*", f"Discarded {len(injected)} bytes sent after STARTTLS before the TLS handshake")
        self.assertIn(discarded, lines)
        i = lines.index(discarded)
        self.assertEqual(lines[i - 1], (">", "220 2.0.0 SMTP server ready"))
        self.assertTrue(lines[i + 1][1].startswith("TLS protocol SP_PROT_TLS1_3_SERVER"), lines[i + 1])
        self.assertNotIn(("<", "MAIL FROM:<a@b.example>"), lines)

    def test_partial_line_after_starttls_is_not_glued_to_the_next_command(self):
        r = self.raw()
        r.cmd("EHLO x")
        r.send("STARTTLS\r\nRCPT TO:<x")
        self.assertEqual(r.reply()[0], 220)
        wrap(r)
        code, text = r.cmd("EHLO y")
        self.assertEqual(code, 250, text)
        r.cmd("QUIT")
        session = wait_for_session(self.sluice, client_port=r.sock.getsockname()[1])
        self.assertIn("Discarded 10 bytes sent after STARTTLS before the TLS handshake",
                      [x.context for x in session])
        self.assertIn(("<", "EHLO y"), [(x.event, x.data) for x in session])

    def test_nothing_discarded_when_client_waits(self):
        r = self.raw()
        starttls(r)
        r.cmd("QUIT")
        session = wait_for_session(self.sluice, client_port=r.sock.getsockname()[1])
        self.assertFalse([x for x in session if x.context.startswith("Discarded")])


class ResetTest(ServerTest):
    """After the handshake the session starts over (RFC 3207 section 4.2)."""

    def test_mail_needs_new_ehlo(self):
        r = self.raw()
        starttls(r)
        code, text = r.cmd("MAIL FROM:<a@b.example>")
        self.assertEqual(code, 503)
        self.assertTrue(text.startswith("503 5.5.1 "), text)
        self.assertEqual(r.cmd("EHLO again")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<a@b.example>")[0], 250)

    def test_transaction_started_before_starttls_is_forgotten(self):
        r = self.raw()
        r.cmd("EHLO x")
        self.assertEqual(r.cmd("MAIL FROM:<a@b.example>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<bob@sluice.test>")[0], 250)
        self.assertEqual(r.cmd("STARTTLS")[0], 220)
        wrap(r)
        r.cmd("EHLO y")
        self.assertEqual(r.cmd("DATA")[0], 503)
        self.assertEqual(r.cmd("RCPT TO:<bob@sluice.test>"), (503, "503 5.5.1 Need MAIL before RCPT"))

    def test_ehlo_after_tls_no_longer_offers_starttls(self):
        r = self.raw()
        code, before = r.cmd("EHLO x")
        self.assertIn("250 STARTTLS", before)
        self.assertEqual(r.cmd("STARTTLS")[0], 220)
        wrap(r)
        code, after = r.cmd("EHLO y")
        self.assertEqual(code, 250)
        self.assertNotIn("STARTTLS", after)
        # The same extensions, and REQUIRETLS, which only a TLS session is offered (RFC 8689).
        self.assertNotIn("REQUIRETLS", before)
        self.assertEqual([l[4:] for l in before.splitlines()[1:] if l[4:] != "STARTTLS"],
                         [l[4:] for l in after.splitlines()[1:] if l[4:] != "REQUIRETLS"])
        self.assertIn("REQUIRETLS", [l[4:] for l in after.splitlines()[1:]])

    def test_second_starttls_refused(self):
        r = self.raw()
        starttls(r)
        r.cmd("EHLO y")
        code, text = r.cmd("STARTTLS")
        self.assertEqual(code, 503)
        self.assertTrue(text.startswith("503 5.5.1 "), text)
        # The session carries on under the first TLS layer.
        self.assertEqual(r.cmd("NOOP"), (250, "250 2.0.0 OK"))


class HandshakeTimingTest(unittest.TestCase):
    """A client that says STARTTLS and then never starts the handshake."""

    def test_stalled_handshake_times_out(self):
        with harness.Sluice(limits='tls_handshake_timeout = "1s"') as s:
            r = Raw(s.port, timeout=5)
            self.addCleanup(r.close)
            r.reply()
            r.cmd("EHLO x")
            self.assertEqual(r.cmd("STARTTLS")[0], 220)
            start = time.time()
            self.assertTrue(r.closed(timeout=4))
            self.assertLess(time.time() - start, 3)
            session = wait_for_session(s, client_port=r.sock.getsockname()[1])
            self.assertIn("TLS negotiation failed with error Timeout", [x.context for x in session])

    def test_stalled_handshake_does_not_hold_up_shutdown(self):
        # shutdown_grace is for sessions in DATA; one waiting for a ClientHello has no mail to lose.
        s = harness.Sluice(limits='shutdown_grace = "3s"').start()
        r = Raw(s.port, timeout=5)
        try:
            r.reply()
            r.cmd("EHLO x")
            self.assertEqual(r.cmd("STARTTLS")[0], 220)
            start = time.time()
            self.assertEqual(s.stop(timeout=10), 0)
            self.assertLess(time.time() - start, 1.5, "SIGTERM waited for a session that is not in DATA")
        finally:
            r.close()
            s.stop()


class ProtocolLogFormatTest(ServerTest):
    """The protocol log of complete TLS sessions, read as a stranger would read it."""
    NAME = 'Partner, "TLS"'  # a comma and quotes force RFC 4180 quoting in connector-id
    CONNECTORS = [{"name": NAME}]
    MARKER = "zebra-body-7f3c"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client_ports = []
        for n in range(2):
            r = Raw(cls.sluice.port, timeout=5)
            try:
                r.reply()
                starttls(r)
                r.cmd("EHLO y")
                assert r.cmd('MAIL FROM:<"a,b"@example.com>')[0] == 250
                assert r.cmd("RCPT TO:<bob@sluice.test>")[0] == 250
                assert r.cmd("DATA")[0] == 354
                assert r.cmd(f"Subject: {cls.MARKER} subject\r\n\r\n{cls.MARKER} body, \"quoted\"\r\n.")[0] == 250
                assert r.cmd("QUIT")[0] == 221
                cls.client_ports.append(r.sock.getsockname()[1])
            finally:
                r.close()
        cls.sessions = [wait_for_session(cls.sluice, client_port=p) for p in cls.client_ports]
        [cls.path] = cls.sluice.protocol_log_files()
        with open(cls.path, "rb") as f:
            cls.raw_bytes = f.read()

    def test_file_name_and_hour(self):
        name = os.path.basename(self.path)
        m = re.fullmatch(r"RECV(\d{10})-(\d+)\.LOG", name)
        self.assertIsNotNone(m, name)
        self.assertEqual(m.group(2), "1")
        for r in harness.protocol_log_records(self.sluice):
            self.assertEqual(re.sub(r"\D", "", r.date_time)[:10], m.group(1), r)

    def test_header(self):
        lines = self.raw_bytes.split(b"\r\n")
        self.assertEqual(lines[0], b"#Software: sluice")
        self.assertRegex(lines[1].decode(), r"^#Version: \d+\.\d+\.\d+$")
        self.assertEqual(lines[2], b"#Log-type: SMTP Receive Protocol Log")
        first = next(csv.reader([lines[5].decode()]))
        self.assertEqual(lines[3].decode(), "#Date: " + first[0])
        self.assertEqual(lines[4], b"#Fields: date-time,connector-id,session-id,sequence-number,"
                                   b"local-endpoint,remote-endpoint,event,data,context")
        self.assertFalse([l for l in lines[5:] if l.startswith(b"#")])

    def test_every_line_ends_with_crlf(self):
        self.assertTrue(self.raw_bytes.endswith(b"\r\n"))
        self.assertEqual(self.raw_bytes.count(b"\n"), self.raw_bytes.count(b"\r\n"))
        self.assertEqual(self.raw_bytes.count(b"\r"), self.raw_bytes.count(b"\r\n"))

    def test_records(self):
        self.assertEqual(len(self.sessions), 2)
        self.assertNotEqual(self.sessions[0][0].session, self.sessions[1][0].session)
        local = f"127.0.0.1:{self.sluice.port}"
        for session, client_port in zip(self.sessions, self.client_ports):
            self.assertEqual([int(r.seq) for r in session], list(range(len(session))))
            self.assertEqual((session[0].event, session[0].data, session[0].context), ("+", "", ""))
            self.assertEqual((session[-1].event, session[-1].context), ("-", "Local"))
            self.assertEqual({r.event for r in session}, set("+-<>*"))
            times = [r.date_time for r in session]
            self.assertEqual(times, sorted(times))
            for r in session:
                self.assertRegex(r.date_time, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
                self.assertEqual(r.connector, self.NAME)
                self.assertRegex(r.session, r"^[0-9A-F]{16}$")
                self.assertEqual(r.session, session[0].session)
                self.assertEqual((r.local, r.remote), (local, f"127.0.0.1:{client_port}"))
            said = [(r.event, r.data) for r in session if r.event in "<>"]
            self.assertIn(("<", 'MAIL FROM:<"a,b"@example.com>'), said)
            i = said.index(("<", "DATA"))
            self.assertEqual(said[i + 1][0], ">")
            self.assertTrue(said[i + 1][1].startswith("354 "))
            self.assertRegex(said[i + 2][1], r"^250 2\.6\.0 [0-9A-F]{16} Queued mail for delivery$")
            self.assertEqual(said[i + 3], ("<", "QUIT"))

    def test_rfc4180_quoting_on_disk(self):
        text = self.raw_bytes.decode()
        self.assertIn(',"Partner, ""TLS""",', text)
        self.assertIn(',<,"MAIL FROM:<""a,b""@example.com>",', text)
        # Each record reads back as exactly nine fields.
        body = "".join(l for l in io.StringIO(text, newline="") if not l.startswith("#"))
        self.assertTrue(all(len(row) == 9 for row in csv.reader(io.StringIO(body, newline=""))))

    def test_message_content_is_not_logged(self):
        self.assertNotIn(self.MARKER.encode(), self.raw_bytes)
        self.assertNotIn(b"Subject:", self.raw_bytes)


if __name__ == "__main__":
    unittest.main()
