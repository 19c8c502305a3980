"""Recipient validation at RCPT (docs/configuration.md, [recipient_validation]; docs/security.md,
promise 8): an unknown recipient of a validated domain is refused at RCPT with Exchange's
`550 5.1.10`, so nothing is queued and nothing bounces; a temporary problem gives 450, never 550.

1. A recipients file for the authoritative domain sluice.test: listed addresses and @domain
   lines are accepted, others refused; the file is reloaded when it changes, a broken new file
   keeps the previous list (and the server log says why); a bad line stops sluice at start-up with
   the file and line named.
2. An SMTP callout for the internal-relay domain corp.test, whose internal server is a real
   Postfix listing its users in relay_recipient_maps: a known user is accepted at RCPT (and the
   message reaches Postfix), an unknown one gets 550 5.1.10, a second RCPT for either is answered
   from the cache without a new session in Postfix's log; an internal server that refuses
   connections, or that never answers, gives 450."""
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import harness
import postfix_peer

NOT_FOUND = "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
CONNECTOR = "To the internal server"
INTERNAL_RELAY = '[[accepted_domain]]\ndomain = "corp.test"\ntype = "internal-relay"\n'


def rcpt(port, *addresses, mail_from="sender@internet.test"):
    """One SMTP session: MAIL, then RCPT for each address; returns the RCPT replies as one line each."""
    raw = harness.Raw(port, timeout=30)
    try:
        raw.reply()
        raw.cmd("EHLO client.internet.test")
        code, text = raw.cmd(f"MAIL FROM:<{mail_from}>")
        assert code == 250, text
        return [" ".join(raw.cmd(f"RCPT TO:<{a}>")[1].split("\n")) for a in addresses]
    finally:
        raw.close()


def send(port, recipient, subject):
    """A whole message to one recipient; returns the reply to the end of DATA."""
    raw = harness.Raw(port, timeout=30)
    try:
        raw.reply()
        raw.cmd("EHLO client.internet.test")
        raw.cmd("MAIL FROM:<sender@internet.test>")
        code, text = raw.cmd(f"RCPT TO:<{recipient}>")
        assert code == 250, text
        raw.cmd("DATA")
        return raw.cmd(f"From: sender@internet.test\r\nTo: {recipient}\r\nSubject: {subject}\r\n\r\nhello\r\n.")
    finally:
        raw.close()


class RecipientsFile(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="recipients-e2e-")
        harness._made_dirs.append(self.dir)
        self.path = os.path.join(self.dir, "recipients")

    def write(self, text):
        # A new file renamed over the old one, as a deployment does.
        with open(self.path + ".new", "w") as f:
            f.write(text)
        os.replace(self.path + ".new", self.path)

    def start(self):
        sluice = harness.Sluice(local_domains=("sluice.test", "open.test"), extra=(
            "[recipient_validation]\n"
            f'recipients_file = "{self.path}"\n'
            '[recipient_validation.domains]\n"open.test" = "none"\n'))
        self.addCleanup(sluice.remove)
        self.addCleanup(sluice.stop)
        return sluice.start()

    def test_listed_recipients_only_and_reload(self):
        self.write("# staff\nalice@sluice.test\n@lists.sluice.test\n")
        # lists.sluice.test is no accepted domain: its line changes nothing (and is allowed).
        sluice = self.start()
        replies = rcpt(sluice.port, "Alice@SLUICE.test", "mallory@sluice.test", "anyone@open.test",
                       "postmaster@sluice.test")
        self.assertEqual(replies[0], "250 2.1.5 Recipient <Alice@SLUICE.test> OK")
        self.assertEqual(replies[1], NOT_FOUND)
        self.assertEqual(replies[2], "250 2.1.5 Recipient <anyone@open.test> OK")
        self.assertEqual(replies[3], "250 2.1.5 Recipient <postmaster@sluice.test> OK")
        self.assertTrue(any("Recipient <mallory@sluice.test> is not in the recipients file" in l
                            for l in sluice.protocol_log()))

        # The file is looked at when an RCPT needs it, at most once a second: the change shows
        # within about a second of RCPTs.
        self.write("alice@sluice.test\nmallory@sluice.test\n")
        self.assertTrue(harness.wait_until(lambda: rcpt(sluice.port, "mallory@sluice.test") == [
            "250 2.1.5 Recipient <mallory@sluice.test> OK"], 10))
        self.assertIn(f"recipients file {self.path} reloaded: 2 addresses, 0 whole domains", sluice.server_log())

        # A broken file is refused; the list stays as it was.
        self.write("alice@sluice.test\nthis is wrong\n")
        refused = f"recipients file not reloaded: {self.path}: line 2: \"this is wrong\""
        self.assertTrue(harness.wait_until(lambda: rcpt(sluice.port, "bob@sluice.test") == [NOT_FOUND]
                                           and refused in sluice.server_log(), 10), sluice.server_log())
        self.assertEqual(rcpt(sluice.port, "mallory@sluice.test", "bob@sluice.test"),
                         ["250 2.1.5 Recipient <mallory@sluice.test> OK", NOT_FOUND])
        self.assertEqual(sluice.server_log().count(refused), 1)  # said once, not at every look

    def test_bad_line_stops_the_start(self):
        self.write("alice@sluice.test\n\nbob at sluice.test\n")
        sluice = harness.Sluice(extra=f'[recipient_validation]\nrecipients_file = "{self.path}"\n')
        self.addCleanup(sluice.remove)
        p = subprocess.run([harness.SLUICE, "serve", "--config", sluice.config], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(f"{self.path}: line 3: \"bob at sluice.test\": more than one word", p.stderr)
        p = subprocess.run([harness.SLUICE, "serve", "--check-config", "--config", sluice.config],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)


def postfix_sessions(peer):
    """Postfix smtpd sessions, as their "disconnect from" lines (the readiness probe, with
    commands=0/0, left out)."""
    return [l for l in peer.log_lines() if re.search(r"smtpd\[\d+\]: disconnect from ", l)
            and not l.endswith("commands=0/0")]


class CalloutToPostfix(unittest.TestCase):
    """One Postfix "internal server" for corp.test (relay_recipient_maps lists known@corp.test and
    other@corp.test) behind one sluice; the tests share them and run in order."""

    @classmethod
    def setUpClass(cls):
        reason = postfix_peer.available()
        if reason:
            raise unittest.SkipTest(reason)
        cls.postfix = postfix_peer.relay_recipient_server(["known@corp.test", "other@corp.test", "third@corp.test"])
        cls.addClassCleanup(cls.postfix.cleanup)
        cls.postfix.start()
        cls.sluice = harness.Sluice(extra=INTERNAL_RELAY)
        harness.append_config(cls.sluice, "[recipient_validation]\nverify = \"callout\"\n" +
                              harness.queue_table() +
                              harness.smart_host_connector(CONNECTOR, ["corp.test"], cls.postfix.port))
        cls.addClassCleanup(cls.sluice.remove)
        cls.addClassCleanup(cls.sluice.stop)
        cls.sluice.start()

    def callout_sessions(self):
        """sluice's send protocol log sessions that asked RCPT without DATA (the callouts)."""
        out = []
        for records in harness.send_log_sessions(self.sluice).values():
            sent = [r.data for r in records if r.event == ">"]
            if any(s.startswith("RCPT TO:") for s in sent) and "DATA" not in sent:
                out.append(sent)
        return out

    def test_1_known_accepted_unknown_refused_then_cached(self):
        replies = rcpt(self.sluice.port, "known@corp.test", "nobody@corp.test")
        self.assertEqual(replies, ["250 2.1.5 Recipient <known@corp.test> OK", NOT_FOUND])
        # Postfix was asked: its own refusal, in its log, and one session per address.
        self.postfix.wait_for_log(r"NOQUEUE: reject: RCPT from \S+: 550 5\.1\.1 <nobody@corp\.test>: "
                                  r"Recipient address rejected: User unknown in relay recipient table")
        self.assertTrue(harness.wait_until(lambda: len(postfix_sessions(self.postfix)) == 2, 10),
                        self.postfix.log())
        sessions = self.callout_sessions()
        self.assertEqual([s[1:] for s in sessions if "RCPT TO:<known@corp.test>" in s],
                         [["MAIL FROM:<>", "RCPT TO:<known@corp.test>", "QUIT"]])
        # The receive log says why nobody@ was refused, with Postfix's words.
        self.assertTrue(any("unknown to the internal mail server" in l and "User unknown in relay recipient table" in l
                            for l in self.sluice.protocol_log()))

        # Again, in a new session: both answers come from the cache.
        replies = rcpt(self.sluice.port, "known@corp.test", "NOBODY@corp.test")
        self.assertEqual(replies, ["250 2.1.5 Recipient <known@corp.test> OK", NOT_FOUND])
        self.assertEqual(len(self.callout_sessions()), 2)
        # A new address is asked: once its session is in Postfix's log, the cached ones would be too.
        self.assertEqual(rcpt(self.sluice.port, "other@corp.test"), ["250 2.1.5 Recipient <other@corp.test> OK"])
        self.assertTrue(harness.wait_until(lambda: any("other@corp.test" in " ".join(s) for s in
                                                       self.callout_sessions()), 10))
        self.assertTrue(harness.wait_until(lambda: len(postfix_sessions(self.postfix)) >= 3, 10))
        self.assertEqual(len(postfix_sessions(self.postfix)), 3, self.postfix.log())

    def test_2_a_known_recipient_is_delivered_to_the_internal_server(self):
        code, text = send(self.sluice.port, "third@corp.test", "validated")
        self.assertEqual(code, 250, text)
        self.postfix.wait_for_log(r"to=<third@corp\.test>.*status=sent")


class CalloutTroubleIsTemporary(unittest.TestCase):
    def sluice_for(self, port, timeout="30s"):
        sluice = harness.Sluice(extra=INTERNAL_RELAY)
        harness.append_config(sluice, f'[recipient_validation]\nverify = "callout"\ncallout_timeout = "{timeout}"\n' +
                              harness.smart_host_connector(CONNECTOR, ["corp.test"], port))
        self.addCleanup(sluice.remove)
        self.addCleanup(sluice.stop)
        return sluice.start()

    def test_internal_server_down_gives_450(self):
        sluice = self.sluice_for(harness.free_port())  # nothing listens there: connection refused
        replies = rcpt(sluice.port, "known@corp.test", "known@corp.test")
        for reply in replies:
            self.assertTrue(reply.startswith("450 4.4.3 Recipient verification failed temporarily"), reply)
        # Not cached: each RCPT tried again, and the receive log has the reason each time.
        failures = lambda: [l for l in sluice.protocol_log() if "callout failed" in l and "Unable to connect" in l]
        self.assertTrue(harness.wait_until(lambda: len(failures()) == 2, 5), sluice.protocol_log())

    def test_internal_server_that_never_answers_gives_450_in_time(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        self.addCleanup(listener.close)
        held = []
        threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
        self.addCleanup(lambda: [c.close() for c in held])
        sluice = self.sluice_for(listener.getsockname()[1], timeout="2s")
        started = time.monotonic()
        replies = rcpt(sluice.port, "known@corp.test")
        elapsed = time.monotonic() - started
        self.assertEqual(replies[0][:9], "450 4.4.3", replies)
        self.assertIn("has not answered yet", replies[0])
        self.assertLess(elapsed, 10)
        self.assertGreaterEqual(elapsed, 1.5)


if __name__ == "__main__":
    unittest.main()
