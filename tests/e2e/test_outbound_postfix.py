"""sluice delivers to a real Postfix: the receiving side of each outbound TLS policy.

A private Postfix (postfix_peer) accepts mail for pf.test on loopback and discards it after
logging; sluice relays a message submitted by the test (relay_from 127.0.0.0/8) through a send
connector whose smart host is that Postfix. Per Postfix flavour:

1. STARTTLS with TLS 1.2+: delivered over TLS 1.3, both logs agree.
2. No STARTTLS offered: opportunistic sends in plaintext; required defers with 4.4.317 and, once
   the lifetime is over, bounces to the (local) sender with Status 4.4.7.
3. TLS 1.0 only: opportunistic with fallback delivers in plaintext after the failed handshake;
   without fallback, and with required, the message is deferred with `421 4.4.2 Connection dropped
   due to SocketError` and never sent in plaintext; a `legacy` policy delivers over TLS 1.0."""
import email
import email.policy
import json
import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest

import harness
import postfix_peer
from postfix_peer import PostfixPeer, make_certificate

SENDER = "alice@sluice.test"
RECIPIENT = "user@pf.test"
DROPPED = "421 4.4.2 Connection dropped due to SocketError"
# Postfix 3.7 lowers OpenSSL's security level itself when TLSv1 is named, so this smtpd offers
# TLS 1.0 and nothing else.
TLS10_ONLY = {"smtpd_tls_security_level": "may", "smtpd_tls_protocols": "TLSv1",
              "smtpd_tls_mandatory_protocols": "TLSv1"}
MODERN = {"smtpd_tls_security_level": "may", "smtpd_tls_protocols": ">=TLSv1.2",
          "smtpd_tls_mandatory_protocols": ">=TLSv1.2"}
NO_TLS = {"smtpd_tls_security_level": "none"}
TLS_FROM = r"Anonymous TLS connection established from localhost\[127\.0\.0\.1\]: (TLSv[0-9.]+) with cipher (\S+)"


def queue_show(sluice, queue_id):
    """`sluice queue show ID --json` through the running gateway; the parsed JSON, or None when the
    message is not in the queue."""
    p = subprocess.run([harness.SLUICE, "queue", "show", queue_id, "--json", "--state-dir", sluice.state],
                       capture_output=True, text=True, timeout=20)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)


def postfix_sessions(peer):
    """Postfix smtpd log lines grouped per SMTP session (from "connect from" to "disconnect from" of
    one smtpd process), in order: a list of line lists. PostfixPeer.start's readiness probe (a
    connection closed at once, "commands=0/0") is left out."""
    open_by_pid, done = {}, []
    for line in peer.log_lines():
        m = re.search(r"postfix/\S*smtpd\[(\d+)\]: (.*)$", line)
        if not m:
            continue
        pid, text = m.groups()
        if text.startswith("connect from "):
            open_by_pid[pid] = [line]
        elif pid in open_by_pid:
            open_by_pid[pid].append(line)
            if text.startswith("disconnect from "):
                session = open_by_pid.pop(pid)
                if not text.endswith(" commands=0/0"):
                    done.append(session)
    return done


class OutboundPostfixTest(unittest.TestCase):
    CTEST_SECONDS = 8  # its rough duration: ctest starts the longest first

    def setUp(self):
        self._problems_at_start = self._problems()
        reason = postfix_peer.available()
        if reason:
            self.skipTest(reason)

    # --- the two servers ---

    def start_peer(self, tls_settings):
        settings = {"mydestination": "pf.test, localhost", "smtpd_tls_loglevel": "1"}
        if tls_settings.get("smtpd_tls_security_level") != "none":
            cert, key = make_certificate()
            settings.update({"smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key})
        settings.update(tls_settings)
        peer = PostfixPeer(settings, hostname="mx.pf.test")
        self.addCleanup(self._stop_peer, peer)
        peer.start()
        return peer

    def start_sluice(self, peer, tls, fallback=True, lifetime="10m", policy=None):
        sluice = harness.Sluice(extra='relay_from = ["127.0.0.0/8"]')
        harness.append_config(sluice, harness.queue_table(lifetime=lifetime) + harness.smart_host_connector(
            "To Postfix", ["pf.test"], peer.port, tls, policy=policy, fallback_to_plaintext=fallback))
        self.addCleanup(self._stop_sluice, sluice)
        sluice.start()
        return sluice

    def submit(self, sluice, subject="outbound test"):
        """Submits one message from alice@sluice.test to user@pf.test; returns sluice's queue id."""
        with smtplib.SMTP("127.0.0.1", sluice.port, timeout=30) as s:
            s.ehlo("submitter.test")
            self.assertEqual(s.mail(SENDER)[0], 250)
            self.assertEqual(s.rcpt(RECIPIENT)[0], 250)
            code, text = s.data(f"From: {SENDER}\r\nTo: {RECIPIENT}\r\nSubject: {subject}\r\n\r\nhello\r\n")
        self.assertEqual(code, 250, text)
        m = re.match(r"2\.6\.0 ([0-9A-F]{16}) Queued mail for delivery$", text.decode())
        self.assertIsNotNone(m, text)
        return m.group(1)

    # --- waiting for outcomes ---

    def wait_queue_empty(self, sluice, queue_id, timeout=30):
        deadline = time.time() + timeout
        while harness.queued_envelopes(sluice) or queue_show(sluice, queue_id) is not None:
            if time.time() > deadline:
                self.fail(f"message {queue_id} still queued: {queue_show(sluice, queue_id)}\n"
                          + sluice.server_log())
            time.sleep(0.2)

    def wait_deferred(self, sluice, queue_id, attempts=2, timeout=30):
        """The queue show JSON once the recipient is deferred after at least `attempts` attempts."""
        deadline = time.time() + timeout
        while True:
            m = queue_show(sluice, queue_id)
            r = m["recipients"][0] if m else None
            if r and r["state"] == "deferred" and r["attempts"] >= attempts:
                return m
            if time.time() > deadline:
                self.fail(f"message {queue_id} not deferred after {attempts} attempts: {m}\n" + sluice.server_log())
            time.sleep(0.2)

    def wait_send_session(self, sluice, predicate, timeout=30):
        """The records of the first finished send session for which predicate(records) is true."""
        deadline = time.time() + timeout
        while True:
            for recs in harness.send_log_sessions(sluice).values():
                if any(r.event == "-" for r in recs) and predicate(recs):
                    return recs
            if time.time() > deadline:
                self.fail("no such send session:\n" + "\n".join(map(str, harness.send_log_records(sluice))))
            time.sleep(0.1)

    def wait_postfix_sessions(self, peer, count, timeout=30):
        deadline = time.time() + timeout
        while True:
            found = postfix_sessions(peer)
            if len(found) >= count:
                return found
            if time.time() > deadline:
                self.fail(f"fewer than {count} finished Postfix sessions:\n" + peer.log())
            time.sleep(0.1)

    def assert_delivered_by_postfix(self, peer):
        """Postfix accepted the message from sluice and discarded it: returns its queue id."""
        client = peer.wait_for_log(r"postfix/\S*smtpd\[\d+\]: ([0-9A-F]+): client=localhost\[127\.0\.0\.1\]$")
        qid = client.group(1)
        peer.wait_for_log(rf"postfix/\S*qmgr\[\d+\]: {qid}: from=<{re.escape(SENDER)}>, size=\d+, nrcpt=1")
        peer.wait_for_log(rf"postfix/discard\[\d+\]: {qid}: to=<{re.escape(RECIPIENT)}>, .*status=sent")
        return qid

    # --- cleanups: keep the folders of a failed test, print the logs ---

    def _problems(self):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None or not hasattr(result, "failures"):
            return None
        return len(result.failures) + len(result.errors)

    def _failed(self):
        now = self._problems()
        return now is None or self._problems_at_start is None or now > self._problems_at_start

    def _stop_peer(self, peer):
        peer.stop()
        if self._failed():
            print(f"--- Postfix log ({peer.log_path}) ---\n{peer.log()}")
        else:
            peer.cleanup()

    def _stop_sluice(self, sluice):
        sluice.stop()
        if self._failed():
            print(f"--- sluice send log ({sluice.dir}) ---\n"
                  + "\n".join(",".join(r) for r in harness.send_log_records(sluice))
                  + "\n--- serve log ---\n" + sluice.server_log())
        else:
            shutil.rmtree(sluice.dir, ignore_errors=True)

    # --- 1. a modern Postfix ---

    def test_modern_postfix_receives_over_tls13(self):
        peer = self.start_peer(MODERN)
        sluice = self.start_sluice(peer, "opportunistic")
        queue_id = self.submit(sluice)
        self.wait_queue_empty(sluice, queue_id)

        self.assert_delivered_by_postfix(peer)
        tls = peer.wait_for_log(TLS_FROM)
        self.assertEqual(tls.group(1), "TLSv1.3", tls.string)
        self.assertTrue(tls.group(2).startswith("TLS_"), tls.string)
        sessions = self.wait_postfix_sessions(peer, 1)
        self.assertEqual(len(sessions), 1, peer.log())
        self.assertRegex(sessions[0][-1], r"disconnect from localhost\[127\.0\.0\.1\] ehlo=2 starttls=1 "
                                          r"mail=1 rcpt=1 data=1 quit=1 commands=7$")

        recs = self.wait_send_session(sluice, lambda recs: True)
        contexts = [r.context for r in recs]
        self.assertTrue(any(c.startswith("TLS protocol SP_PROT_TLS1_3_CLIENT negotiation succeeded")
                            for c in contexts), contexts)
        self.assertTrue(any(r.event == "<" and re.match(r"250 2\.0\.0 Ok: queued as [0-9A-F]+$", r.data)
                            for r in recs), recs)
        self.assertFalse(any("TLS negotiation failed" in c for c in contexts))
        self.assertEqual(len(harness.send_log_sessions(sluice)), 1)

    # --- 2. a Postfix without STARTTLS ---

    def test_no_starttls_opportunistic_sends_plaintext(self):
        peer = self.start_peer(NO_TLS)
        sluice = self.start_sluice(peer, "opportunistic")
        queue_id = self.submit(sluice)
        self.wait_queue_empty(sluice, queue_id)

        self.assert_delivered_by_postfix(peer)
        self.assertNotRegex(peer.log(), r"TLS connection established")
        sessions = self.wait_postfix_sessions(peer, 1)
        self.assertRegex(sessions[0][-1], r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 "
                                          r"mail=1 rcpt=1 data=1 quit=1 commands=5$")
        recs = self.wait_send_session(sluice, lambda recs: True)
        contexts = [r.context for r in recs]
        self.assertIn("Remote does not offer STARTTLS; sending in plaintext (connector is opportunistic)", contexts)
        self.assertFalse(any("negotiation succeeded" in c for c in contexts))

    def test_no_starttls_required_defers_with_4_4_317(self):
        peer = self.start_peer(NO_TLS)
        sluice = self.start_sluice(peer, "required")
        queue_id = self.submit(sluice)

        m = self.wait_deferred(sluice, queue_id, attempts=2)
        r = m["recipients"][0]
        self.assertEqual(r["address"], RECIPIENT)
        self.assertEqual(r["last_reply"],
                         f"450 4.4.317 Cannot connect to remote server: 127.0.0.1:{peer.port} does not offer "
                         "STARTTLS and the send connector requires TLS")
        recs = self.wait_send_session(sluice, lambda recs: True)
        self.assertIn("Remote does not offer STARTTLS; not sending (connector requires TLS)", [r.context for r in recs])
        self.assertFalse(any(r.event == ">" and r.data.startswith("MAIL FROM") for r in harness.send_log_records(sluice)))
        # Postfix saw sessions, but never a transaction: EHLO, then QUIT.
        for session in self.wait_postfix_sessions(peer, 2):
            self.assertRegex(session[-1], r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 quit=1 commands=2$")
        self.assertNotRegex(peer.log(), r"client=localhost|mail=\d|status=sent")
        self.assertEqual(sluice.maildir("alice", timeout=0), [])

    def test_no_starttls_required_bounces_after_lifetime(self):
        peer = self.start_peer(NO_TLS)
        sluice = self.start_sluice(peer, "required", lifetime="4s")
        queue_id = self.submit(sluice, subject="must go encrypted")

        dsns = sluice.maildir("alice", timeout=30)
        self.assertEqual(len(dsns), 1, sluice.server_log())
        dsn = email.message_from_bytes(dsns[0], policy=email.policy.compat32)
        self.assertEqual(dsn["Subject"], "Undeliverable: must go encrypted")
        self.assertEqual(dsn["From"], "Mail Delivery System <MAILER-DAEMON@mx.sluice.test>")
        self.assertEqual(dsn["Auto-Submitted"], "auto-replied")
        self.assertEqual(dsn.get_content_type(), "multipart/report")
        self.assertEqual(dsn.get_param("report-type"), "delivery-status")
        text = dsns[0].decode("utf-8", "replace")
        self.assertIn(f"X-Sluice-Queue-ID: {queue_id}\r\n", text)
        self.assertIn(f"Final-Recipient: rfc822; {RECIPIENT}\r\nAction: failed\r\nStatus: 4.4.7\r\n", text)
        self.assertIn(f"Diagnostic-Code: smtp; 450 4.4.317 Cannot connect to remote server: 127.0.0.1:{peer.port} "
                      "does not offer STARTTLS and the send connector requires TLS\r\n", text)
        parts = [p.get_content_type() for p in dsn.get_payload()]
        self.assertEqual(parts, ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        self.assertIn("Subject: must go encrypted", dsn.get_payload()[2].get_payload())
        self.wait_queue_empty(sluice, queue_id)
        self.assertNotRegex(peer.log(), r"client=localhost|mail=\d|status=sent")

    # --- 3. a Postfix that accepts TLS 1.0 only ---

    def test_tls10_only_opportunistic_falls_back_to_plaintext(self):
        peer = self.start_peer(TLS10_ONLY)
        sluice = self.start_sluice(peer, "opportunistic", fallback=True)
        queue_id = self.submit(sluice)
        self.wait_queue_empty(sluice, queue_id)
        self.assert_delivered_by_postfix(peer)

        records = harness.send_log_records(sluice)
        contexts = [r.context for r in records]
        self.assertIn("TLS negotiation failed with error SocketError", contexts)
        self.assertIn("Connector is opportunistic with fallback_to_plaintext: the next attempt goes without STARTTLS",
                      contexts)
        self.assertIn("Plaintext retry after a failed TLS handshake: STARTTLS will not be used "
                      "(downgrade allowed by fallback_to_plaintext)", contexts)
        self.assertFalse(any("negotiation succeeded" in c for c in contexts))
        first, retry = harness.send_log_sessions(sluice).values()
        self.assertFalse(any(r.event == ">" and r.data.startswith("MAIL FROM") for r in first), first)
        self.assertFalse(any(r.event == ">" and r.data == "STARTTLS" for r in retry), retry)
        self.assertTrue(any(r.event == "<" and re.match(r"250 2\.0\.0 Ok: queued as [0-9A-F]+$", r.data)
                            for r in retry), retry)

        self.assertNotRegex(peer.log(), r"TLS connection established")
        sessions = self.wait_postfix_sessions(peer, 2)
        self.assertEqual(len(sessions), 2, peer.log())
        failed, plain = sessions
        self.assertTrue(any("SSL_accept error from localhost[127.0.0.1]" in l for l in failed), failed)
        self.assertRegex(failed[-1], r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 starttls=0/1 commands=1/2$")
        self.assertTrue(any(re.search(r": [0-9A-F]+: client=localhost\[127\.0\.0\.1\]$", l) for l in plain), plain)
        self.assertFalse(any("TLS" in l for l in plain), plain)
        self.assertRegex(plain[-1], r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 "
                                    r"mail=1 rcpt=1 data=1 quit=1 commands=5$")

    def assert_tls10_deferred_never_plaintext(self, tls, fallback):
        peer = self.start_peer(TLS10_ONLY)
        sluice = self.start_sluice(peer, tls, fallback=fallback)
        queue_id = self.submit(sluice)

        m = self.wait_deferred(sluice, queue_id, attempts=2)
        self.assertEqual(m["recipients"][0]["last_reply"], DROPPED)
        records = harness.send_log_records(sluice)
        contexts = [r.context for r in records]
        self.assertIn("TLS negotiation failed with error SocketError", contexts)
        self.assertIn("TLS handshake failed: UnsupportedProtocol (tlsv1 alert protocol version (SSL routines))",
                      contexts)
        self.assertFalse(any(c.startswith("Plaintext retry after") for c in contexts), contexts)
        self.assertNotIn("Connector is opportunistic with fallback_to_plaintext: the next attempt goes without "
                         "STARTTLS", contexts)
        self.assertFalse(any(r.event == ">" and r.data.startswith("MAIL FROM") for r in records), records)

        sessions = self.wait_postfix_sessions(peer, 2)
        for s in sessions:
            self.assertTrue(any("SSL_accept error from localhost[127.0.0.1]: -1" in l for l in s), s)
            self.assertTrue(any(re.search(r"warning: TLS library problem: error:0A000102:SSL routines::"
                                          r"unsupported protocol:", l) for l in s), s)
            self.assertTrue(any("lost connection after STARTTLS from localhost[127.0.0.1]" in l for l in s), s)
            self.assertRegex(s[-1], r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 starttls=0/1 commands=1/2$")
        self.assertNotRegex(peer.log(), r"TLS connection established|client=localhost|status=sent")

    def test_tls10_only_opportunistic_without_fallback_defers(self):
        self.assert_tls10_deferred_never_plaintext("opportunistic", fallback=False)

    def test_tls10_only_required_defers(self):
        self.assert_tls10_deferred_never_plaintext("required", fallback=True)

    def test_tls10_only_legacy_policy_delivers_over_tls10(self):
        peer = self.start_peer(TLS10_ONLY)
        sluice = self.start_sluice(peer, "required", policy={"profile": "legacy"})
        queue_id = self.submit(sluice)
        self.wait_queue_empty(sluice, queue_id)

        self.assert_delivered_by_postfix(peer)
        tls = peer.wait_for_log(TLS_FROM)
        self.assertEqual(tls.group(1), "TLSv1", tls.string)
        recs = self.wait_send_session(sluice, lambda recs: True)
        self.assertTrue(any(r.context.startswith("TLS protocol SP_PROT_TLS1_0_CLIENT negotiation succeeded")
                            for r in recs), recs)


if __name__ == "__main__":
    unittest.main(verbosity=2)
