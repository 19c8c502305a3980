"""Promise 3 of docs/security.md: no SMTP smuggling.

Every published fake end-of-data (`<LF>.<LF>`, `<LF>.<CR><LF>`, `<CR>.<CR>`, `<CR><LF>.<LF>`,
`<CR><LF>.<CR>`, `<LF>.<CR>`, ...), bare CR and LF inside lines, and NUL bytes are sent with a
second transaction (MAIL FROM / RCPT TO / DATA) hidden behind the fake end:

1. against the receiver: the reply is the one docs/smtp.md documents, the session stays in step
   (the hidden commands are never answered), and each attempt leaves exactly one message (the
   NUL cases, whole) or none (bare CR/LF) in the Maildir: never a second, smuggled one;
2. through sluice as a relay into a real Postfix that is itself splittable (smtpd_forbid_bare_newline
   = no, which the control test shows by smuggling straight into it): what Postfix stores is exactly
   one message per accepted attempt, with the same content boundary. Messages with bare line ends
   put straight into sluice's spool (the outbound encoder's side) arrive as one message each too."""
import glob
import os
import re
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import postfix_peer  # noqa: E402
from postfix_peer import PostfixPeer  # noqa: E402

REFUSED = (550, "550 5.6.0 Message contains bare CR or LF (refused to prevent SMTP smuggling)")
QUEUED = re.compile(r"^250 2\.6\.0 [0-9A-F]{16} Queued mail for delivery$")

# Fake ends of data, each followed by a hidden second transaction.
FAKE_ENDS = {
    "lf-dot-lf": b"\n.\n",
    "lf-dot-crlf": b"\n.\r\n",
    "cr-dot-cr": b"\r.\r",
    "crlf-dot-lf": b"\r\n.\n",
    "crlf-dot-cr": b"\r\n.\r",
    "lf-dot-cr": b"\n.\r",
    "cr-dot-lf": b"\r.\n",
    "cr-dot-crlf": b"\r.\r\n",
    "crlf-dot-cr-cr-lf": b"\r\n.\r\r\n",
}
# Bare line ends inside an ordinary line (no dot at all).
BARE_IN_LINE = {
    "bare-lf-in-line": b"first \n line",
    "bare-cr-in-line": b"first \r line",
    "bare-lf-at-line-start": b"\nfirst line",
    "bare-cr-before-crlf": b"first line\r",
}
# NUL bytes: not an end of data for sluice (nor for Postfix); the whole text is one message.
NUL_ENDS = {
    "crlf-dot-nul-crlf": b"\r\n.\x00\r\n",
    "crlf-nul-dot-crlf": b"\r\n\x00.\r\n",
    "nul-in-line": b"\r\nfirst\x00line\r\n",
}


def hidden_transaction(sender, rcpt, slug):
    return (f"MAIL FROM:<{sender}>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n"
            f"From: <{sender}>\r\nSubject: smuggled {slug}\r\n\r\nsmuggled body {slug}\r\n").encode()


def attack_data(slug, separator, sender, smuggled_rcpt):
    """A message whose first part ends with `separator`, followed by a hidden transaction, then
    the real end of data."""
    return (f"Subject: first {slug}\r\n\r\nfirst body {slug}".encode() + separator
            + hidden_transaction(sender, smuggled_rcpt, slug) + b".\r\n")


def legit_data(slug):
    # A correctly dot-stuffed body that holds a "." line and SMTP commands as text.
    return (f"Subject: legit {slug}\r\n\r\nlegit body {slug}\r\n..\r\nMAIL FROM:<x@y>\r\n.\r\n").encode()


def open_session(port):
    raw = harness.Raw(port, timeout=10)
    code, text = raw.reply()
    assert code == 220, text
    code, text = raw.cmd("EHLO client.test")
    assert code == 250, text
    return raw


def attempt(raw, mail_from, rcpt, data):
    """MAIL, RCPT, DATA and `data` (which carries its own end); returns the final reply."""
    assert raw.cmd(f"MAIL FROM:<{mail_from}>")[0] == 250
    code, text = raw.cmd(f"RCPT TO:<{rcpt}>")
    assert code == 250, text
    code, text = raw.cmd("DATA")
    assert code == 354, text
    raw.send(data)
    return raw.reply()


wait_until = harness.wait_until


class Receiver(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sluice = harness.Sluice(connectors=[{"name": "Default", "starttls": False}],
                                    limits="max_errors = 100")
        cls.addClassCleanup(cls._stop)
        cls.sluice.start()

    @classmethod
    def _stop(cls):
        status = cls.sluice.stop()
        if status != 0:
            raise AssertionError(f"sluice exited with {status}: {cls.sluice.server_log()}")

    def check(self, slug, data, expected):
        """One attack in its own session: the reply, the session still in step, then one legit
        message in the same session; `expected` is REFUSED or "queued". Returns the mailbox."""
        box, smuggled = f"v-{slug}", f"smuggled-{slug}"
        raw = open_session(self.sluice.port)
        self.addCleanup(raw.close)
        reply = attempt(raw, "alice@example.org", f"{box}@sluice.test", data)
        if expected == "queued":
            self.assertRegex(reply[1], QUEUED)
        else:
            self.assertEqual(reply, expected)
        # Had the hidden MAIL/RCPT/DATA been read as commands, their replies would come now.
        self.assertEqual(raw.cmd("NOOP"), (250, "250 2.0.0 OK"))
        self.assertEqual(raw.cmd("RCPT TO:<x@sluice.test>"), (503, "503 5.5.1 Need MAIL before RCPT"))
        follow_up = attempt(raw, "alice@example.org", f"{box}@sluice.test", legit_data(slug))
        self.assertRegex(follow_up[1], QUEUED)
        self.assertEqual(raw.cmd("QUIT")[0], 221)
        want = 2 if expected == "queued" else 1
        got = self.sluice.maildir(box, count=want)
        self.assertTrue(wait_until(lambda: not harness.queued_envelopes(self.sluice)))
        got = self.sluice.maildir(box, count=want, timeout=0.3)
        self.assertEqual(len(got), want, got)
        self.assertEqual(self.sluice.maildir(smuggled, timeout=0), [], "the hidden message was delivered")
        legit = [m for m in got if f"Subject: legit {slug}".encode() in m]
        self.assertEqual(len(legit), 1, got)
        self.assertTrue(legit[0].endswith(f"legit body {slug}\r\n.\r\nMAIL FROM:<x@y>\r\n".encode()), legit[0])
        return [m for m in got if m is not legit[0]]

    def test_fake_ends_of_data_are_refused(self):
        for slug, sep in FAKE_ENDS.items():
            with self.subTest(variant=slug):
                self.check(slug, attack_data(slug, sep, "evil@sluice.test", f"smuggled-{slug}@sluice.test"), REFUSED)

    def test_bare_cr_and_lf_inside_lines_are_refused(self):
        for slug, text in BARE_IN_LINE.items():
            with self.subTest(variant=slug):
                data = f"Subject: first {slug}\r\n\r\n".encode() + text + b"\r\n" + \
                    hidden_transaction("evil@sluice.test", f"smuggled-{slug}@sluice.test", slug) + b".\r\n"
                self.check(slug, data, REFUSED)

    def test_nul_bytes_keep_one_message_with_the_whole_content(self):
        for slug, sep in NUL_ENDS.items():
            with self.subTest(variant=slug):
                [attack] = self.check(slug, attack_data(slug, sep, "evil@sluice.test", f"smuggled-{slug}@sluice.test"),
                                      "queued")
                # The content boundary is the real end of data: the hidden transaction is text of
                # this one message (a NUL-dot line loses only its transparency dot).
                stored = sep.replace(b"\r\n.\x00", b"\r\n\x00")
                self.assertTrue(attack.endswith(f"first body {slug}".encode() + stored
                                                + hidden_transaction("evil@sluice.test", f"smuggled-{slug}@sluice.test", slug)),
                                attack[-300:])

    def test_session_remains_usable_after_many_attacks(self):
        # All the attacks pipelined in one session, each with its own MAIL/RCPT/DATA: every one is
        # answered once, in order, and nothing hidden is ever answered.
        raw = open_session(self.sluice.port)
        self.addCleanup(raw.close)
        commands = b""
        for slug, sep in FAKE_ENDS.items():
            commands += b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<pipelined@sluice.test>\r\nDATA\r\n"
            commands += attack_data(slug, sep, "evil@sluice.test", "smuggled-pipelined@sluice.test")
        raw.send(commands + b"NOOP\r\n")
        for _ in FAKE_ENDS:
            self.assertEqual(raw.reply()[0], 250)
            self.assertEqual(raw.reply()[0], 250)
            self.assertEqual(raw.reply()[0], 354)
            self.assertEqual(raw.reply(), REFUSED)
        self.assertEqual(raw.reply(), (250, "250 2.0.0 OK"))
        raw.cmd("QUIT")
        self.assertEqual(self.sluice.maildir("pipelined", timeout=0.5), [])
        self.assertEqual(self.sluice.maildir("smuggled-pipelined", timeout=0), [])


# ---------------------------------------------------------------------------------------------
# Through sluice into Postfix
# ---------------------------------------------------------------------------------------------


class ThroughPostfix(unittest.TestCase):
    """sluice relays pf.test to a private Postfix that stores what it receives in one Maildir
    (virtual delivery); Postfix is left splittable on purpose (bare LF is a line end for it)."""

    @classmethod
    def setUpClass(cls):
        reason = postfix_peer.available()
        if reason:
            raise unittest.SkipTest(reason)
        vmail = tempfile.mkdtemp(prefix="pf-vmail-")
        harness._made_dirs.append(vmail)
        os.chmod(vmail, 0o755)
        shutil.chown(vmail, "nobody", "nogroup")
        cls.box = os.path.join(vmail, "box", "new")
        cls.peer = PostfixPeer({
            "mydestination": "localhost",
            "virtual_mailbox_domains": "pf.test",
            "virtual_mailbox_base": vmail,
            "virtual_mailbox_maps": "static:box/",
            "virtual_uid_maps": "static:65534",
            "virtual_gid_maps": "static:65534",
            "virtual_minimum_uid": "100",
            "smtpd_forbid_bare_newline": "no",
            "smtpd_tls_security_level": "none",
        }, hostname="mx.pf.test")
        cls.addClassCleanup(cls.peer.cleanup)
        cls.peer.start()

    def stored(self, count, timeout=30):
        """The messages in Postfix's Maildir, waiting until there are `count`."""
        return harness.files_when_there(os.path.join(self.box, "*"), count, timeout, poll=0.1)

    def start_sluice(self, before_start=None):
        sluice = harness.Sluice(extra='relay_from = ["127.0.0.0/8"]',
                                connectors=[{"name": "Default", "starttls": False}], limits="max_errors = 100")
        harness.append_config(sluice, harness.queue_table() +
                              harness.smart_host_connector("To Postfix", ["pf.test"], self.peer.port))
        if before_start:
            before_start(sluice)
        sluice.start()
        self.addCleanup(sluice.stop)
        return sluice

    def test_0_control_postfix_alone_is_splittable(self):
        # Without sluice in front, this Postfix turns <LF>.<CR><LF> into two messages: the suite's
        # next hop is one that a relay could betray, and the counting below sees a split.
        before = len(self.stored(0, timeout=0))
        raw = harness.Raw(self.peer.port, timeout=10)
        self.addCleanup(raw.close)
        raw.reply()
        raw.cmd("EHLO control.test")
        reply = attempt(raw, "alice@sluice.test", "control@pf.test",
                        attack_data("control", b"\n.\r\n", "evil@sluice.test", "smuggled@pf.test"))
        self.assertEqual(reply[0], 250)
        raw.send(b"QUIT\r\n")
        stored = self.stored(before + 2)
        self.assertEqual(len(stored) - before, 2, "Postfix did not split the control message")
        self.assertTrue(any(b"Subject: smuggled control" in m.split(b"\n\n", 1)[0] for m in stored[before:]))
        # Leave the Maildir empty for the other tests.
        for p in glob.glob(os.path.join(self.box, "*")):
            os.unlink(p)

    def test_relay_never_splits(self):
        # As the spool stores a message: without the final ".".
        spooled = {f"spool-{slug}": attack_data(f"spool-{slug}", sep, "evil@sluice.test", f"smuggled-{slug}@pf.test")[:-3]
                   for slug, sep in {**FAKE_ENDS, **{k: v + b"\r\n" for k, v in BARE_IN_LINE.items()}}.items()}

        def fill_spool(sluice):
            now = time.time()
            for n, (slug, content) in enumerate(spooled.items()):
                harness.write_spooled_message(
                    os.path.join(sluice.state, "queue"), f"5A0000000000{n:04X}",
                    [harness.spool_recipient(f"{slug}@pf.test")], now, mail_from="alice@sluice.test",
                    message=content, tls=None)

        log_start = len(self.peer.log())
        sluice = self.start_sluice(fill_spool)
        # Live attempts: each attack is refused by sluice; the legit message after it is relayed.
        live = 0
        for slug, sep in {**FAKE_ENDS, **NUL_ENDS}.items():
            raw = open_session(sluice.port)
            self.addCleanup(raw.close)
            reply = attempt(raw, "alice@sluice.test", f"{slug}@pf.test",
                            attack_data(slug, sep, "evil@sluice.test", f"smuggled-{slug}@pf.test"))
            if slug in NUL_ENDS:
                self.assertRegex(reply[1], QUEUED)
                live += 1
            else:
                self.assertEqual(reply, REFUSED)
            self.assertRegex(attempt(raw, "alice@sluice.test", f"{slug}@pf.test", legit_data(slug))[1], QUEUED)
            live += 1
            raw.cmd("QUIT")

        expected = len(spooled) + live
        self.assertTrue(wait_until(lambda: not harness.queued_envelopes(sluice), timeout=60),
                        harness.queued_envelopes(sluice))
        stored = self.stored(expected)
        time.sleep(1)  # a split would show up as extra messages: give them time to arrive
        stored = self.stored(expected, timeout=0)
        self.assertEqual(len(stored), expected, [m[-200:] for m in stored])
        headers = [m.split(b"\n\n", 1)[0] for m in stored]
        self.assertFalse([h for h in headers if b"Subject: smuggled" in h], "a hidden message became a message")
        log = self.peer.log()[log_start:]
        self.assertNotIn("from=<evil@", log)
        # Postfix's own count: one queue entry per message sluice sent, all from the real sender.
        self.assertEqual(len(re.findall(r"qmgr\[\d+\]: [0-9A-F]+: from=<alice@sluice\.test>, size=\d+, nrcpt=1 ", log)),
                         expected)
        self.assertEqual(len(re.findall(r"qmgr\[\d+\]: [0-9A-F]+: from=<", log)), expected)

        # The content boundary: the spooled ones arrive whole, the fake end now an ordinary
        # (dot-stuffed, then unstuffed) "." line with the hidden transaction as text after it.
        for slug, content in spooled.items():
            with self.subTest(spooled=slug):
                [m] = [m for m in stored if f"Subject: first {slug}\n".encode() in m.replace(b"\r\n", b"\n")]
                body = m.replace(b"\r\n", b"\n").split(b"\n\n", 1)[1]
                expected_body = re.sub(rb"\r\n|\r|\n", b"\n", content).split(b"\n\n", 1)[1]
                self.assertEqual(body, expected_body)
        for slug in FAKE_ENDS:
            self.assertEqual(len([m for m in stored if f"Subject: first {slug}\n".encode() in m.replace(b"\r\n", b"\n")]),
                             0, f"{slug}: refused message reached Postfix")
        for slug in {**FAKE_ENDS, **NUL_ENDS}:
            with self.subTest(live=slug):
                [m] = [m for m in stored if f"Subject: legit {slug}\n".encode() in m.replace(b"\r\n", b"\n")]
                self.assertTrue(m.replace(b"\r\n", b"\n").endswith(f"legit body {slug}\n.\nMAIL FROM:<x@y>\n".encode()))
        for slug in NUL_ENDS:
            with self.subTest(nul=slug):
                [m] = [m for m in stored if f"Subject: first {slug}\n".encode() in m.replace(b"\r\n", b"\n")]
                self.assertIn(f"Subject: smuggled {slug}".encode(), m.split(b"\n\n", 1)[1])


if __name__ == "__main__":
    unittest.main(verbosity=2)
