"""`sluice logscan` on logs written by real servers.

1. `sluice serve` (default connector: TLS 1.2+) receives a TLS 1.3 client and a TLS 1.2 client (each
   sends one message) and refuses a TLS 1.0-only `openssl s_client`; logscan reads its protocol log
   (as files, as a directory, and gzip-compressed through stdin) and must report exactly that.
2. A real Postfix first accepts a TLS 1.0 client (smtpd_tls_protocols = TLSv1), then, reloaded with
   >=TLSv1.2, refuses the same client; logscan reads Postfix's maillog_file.
The reports are asserted through --json; the --html page must be well-formed and carry the numbers."""
import gzip
import html.parser
import json
import os
import smtplib
import ssl
import subprocess
import tempfile
import time
import unittest

import harness
import postfix_peer
from postfix_peer import PostfixPeer, make_certificate

SLUICE = harness.SLUICE
LEGACY_CIPHERS = "DEFAULT@SECLEVEL=0"


def logscan(*args, stdin=None):
    """Runs `sluice logscan ARGS`; returns (exit status, stdout, stderr)."""
    p = subprocess.run([SLUICE, "logscan", *args], input=stdin, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def logscan_json(*args, stdin=None):
    code, out, err = logscan("--json", *args, stdin=stdin)
    try:
        return code, json.loads(out)
    except json.JSONDecodeError as e:
        raise AssertionError(f"not JSON ({e}): {out!r} {err!r}")


def temp_dir():
    """A fresh folder, removed when the run ends."""
    folder = tempfile.mkdtemp(prefix="logscan-e2e-")
    harness._made_dirs.append(folder)
    return folder


def send_message(port, minimum, maximum, helo, ciphers=None):
    """One message over STARTTLS with the TLS versions limited to [minimum, maximum]."""
    ctx = harness.tls_client_context(minimum, maximum)
    if ciphers:
        ctx.set_ciphers(ciphers)
    with smtplib.SMTP("127.0.0.1", port, local_hostname=helo, timeout=30) as s:
        s.starttls(context=ctx)
        s.ehlo(helo)
        s.sendmail("alice@client.test", ["bob@sluice.test" if "sluice" in helo else "bob@localhost"],
                   f"From: alice@client.test\r\nSubject: logscan {helo}\r\n\r\nhello\r\n")


class TagBalance(html.parser.HTMLParser):
    """Checks that every element is closed in order (void elements excepted)."""
    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def check_html(testcase, path):
    with open(path, encoding="utf-8") as f:
        page = f.read()
    parser = TagBalance()
    parser.feed(page)
    parser.close()
    testcase.assertEqual(parser.errors, [])
    testcase.assertEqual(parser.stack, [])
    testcase.assertNotIn("<script", page)
    testcase.assertNotRegex(page, r'(src|href)="(https?:)?//')
    return page, " ".join(parser.text)


class SluiceLogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sluice = harness.Sluice()
        cls.sluice.start()
        port = cls.sluice.port
        try:
            send_message(port, ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3, "tls13.sluice.test")
            send_message(port, ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, "tls12.sluice.test")
            cls.refused = harness.run_s_client(port, "-tls1", "-cipher", LEGACY_CIPHERS)
            deadline = time.time() + 10
            while time.time() < deadline:
                done = [s for s in harness.log_sessions(cls.sluice).values() if s[-1].event == "-"]
                if len(done) >= 3:
                    break
                time.sleep(0.1)
        finally:
            cls.sluice.stop()
        # The whole logs/ folder, as an administrator gives it: logs/MessageTracking records the
        # two messages again, and logscan counts each once (docs/logscan.md).
        cls.logs = os.path.join(cls.sluice.state, "logs")
        cls.files = cls.sluice.protocol_log_files()

    def test_report_matches_the_sessions(self):
        self.assertFalse(self.refused.handshake, self.refused.output)
        code, r = logscan_json(self.logs)
        self.assertEqual(code, 1, "a refused legacy client is a finding")
        s = r["summary"]["sessions"]
        self.assertEqual((s["TLS1_3"], s["TLS1_2"], s["tls_failed"], s["TLS1_0"], s["plaintext"], s["total"]),
                         (1, 1, 1, 0, 0, 3))
        self.assertEqual(len(r["legacy_peers"]), 1)
        peer = r["legacy_peers"][0]
        self.assertEqual((peer["direction"], peer["connector"], peer["remote"]), ("inbound", "Default", "127.0.0.1"))
        self.assertEqual((peer["refused_legacy"], peer["sessions"]["TLS1_0"]), (1, 0))
        top = r["summary"]["top_peers"][0]
        self.assertEqual((top["total"], top["messages"]), (3, 2))
        # smtplib's EHLO names, and s_client's fixed "mail.example.com".
        self.assertEqual(set(top["names"]), {"tls13.sluice.test", "tls12.sluice.test", "mail.example.com"})
        self.assertEqual([f["signature"] for f in r["failures"]], ["TLS negotiation failed with error UnsupportedProtocol"])
        failure = r["failures"][0]
        self.assertEqual((failure["count"], failure["remote"], failure["direction"]), (1, "127.0.0.1", "inbound"))
        # The example names the file and line where that line really is.
        with open(failure["example"]["file"], encoding="utf-8") as f:
            line = f.read().split("\n")[failure["example"]["line"] - 1]
        self.assertIn("TLS negotiation failed with error UnsupportedProtocol", line)
        self.assertEqual(r["inputs"]["malformed"], 0)
        tracking = harness.tracking_files(self.sluice)
        self.assertTrue(tracking)
        self.assertEqual(sorted((f["path"], f["format"]) for f in r["inputs"]["files"]),
                         sorted([(p, "exchange-receive") for p in self.files] +
                                [(p, "message-tracking") for p in tracking]))
        # The two messages are in both logs: counted once (top["messages"] above), and the
        # tracking log's share is reported as such.
        self.assertEqual(r["summary"]["tracking_events"]["RECEIVE"], 2)
        self.assertEqual(r["summary"]["tracking_in_protocol_log"], {"messages": 2, "failures": 0})
        # Read alone, the tracking log has nothing to leave to a protocol log.
        code, alone = logscan_json(*tracking)
        self.assertEqual(alone["summary"]["tracking_events"]["RECEIVE"], 2)
        self.assertEqual(alone["summary"]["tracking_in_protocol_log"], {"messages": 0, "failures": 0})

    def test_filters(self):
        code, r = logscan_json("--remote", "10.0.0.0/8", *self.files)
        self.assertEqual((code, r["summary"]["sessions"]["total"], r["failures"]), (0, 0, []))
        code, r = logscan_json("--direction", "outbound", self.logs)
        self.assertEqual((code, r["summary"]["sessions"]["total"]), (0, 0))
        code, r = logscan_json("--remote", "127.0.0.1", "--connector", "Default", "--since", "2000-01-01", self.logs)
        self.assertEqual((code, r["summary"]["sessions"]["total"]), (1, 3))
        code, r = logscan_json("--until", "2000-01-01", self.logs)
        self.assertEqual((code, r["summary"]["sessions"]["total"]), (0, 0))
        for bad in (["--remote", "10.1.2.3/8"], ["--since", "yesterday"], ["--direction", "sideways"], []):
            code, out, err = logscan(*bad, *([self.logs] if bad else []))
            self.assertEqual(code, 2, bad)
            self.assertIn("sluice logscan", err)

    def test_gzip_through_stdin_and_damaged_lines(self):
        text = b""
        for p in self.files:
            with open(p, "rb") as f:
                text += f.read()
        ehlo = next(l for l in text.splitlines() if b",<,EHLO " in l)
        damaged = text + b"this is not a log line\r\n" + ehlo[:-5]  # the last line cut short, no CRLF
        code, r = logscan_json("-", stdin=gzip.compress(damaged))
        self.assertEqual(code, 1)
        self.assertEqual(r["summary"]["sessions"]["total"], 3 + 1)  # the cut line opens a 4th, empty session
        self.assertEqual(r["inputs"]["malformed"], 1)
        bad = r["inputs"]["malformed_examples"][0]
        self.assertEqual((bad["file"], bad["line"]), ("-", len(text.splitlines()) + 1))

    def test_unreadable_input_is_exit_2_with_a_report(self):
        code, r = logscan_json(self.logs, "/nonexistent/RECV.LOG")
        self.assertEqual(code, 2)
        self.assertEqual(r["summary"]["sessions"]["total"], 3)
        self.assertIn("/nonexistent/RECV.LOG", r["inputs"]["errors"][0])

    def test_exclude_remote_leaves_out_the_administrators_own_scanner(self):
        # Every session here came from 127.0.0.1, the refused TLS 1.0 s_client included: as the
        # address of one's own TLS scanner it is left out, and nothing is left to act on.
        code, r = logscan_json("--exclude-remote", "127.0.0.1", self.logs)
        self.assertEqual((code, r["summary"]["sessions"]["total"], r["legacy_peers"], r["failures"]), (0, 0, [], []))
        self.assertEqual(r["filters"], {"exclude_remote": ["127.0.0.1/32"]})
        self.assertEqual(r["summary"]["filtered_out"], 3 + 2)  # the sessions, and the two tracked RECEIVEs
        # Repeatable, and ranges that do not hold the address leave everything in.
        code, r = logscan_json("--exclude-remote", "10.0.0.0/8", "--exclude-remote", "2001:db8::/32", self.logs)
        self.assertEqual((code, r["summary"]["sessions"]["total"]), (1, 3))
        code, out, err = logscan("--exclude-remote", "127.0.0.1/40", self.logs)
        self.assertEqual(code, 2)
        self.assertIn("--exclude-remote 127.0.0.1/40", err)

    def test_input_in_no_known_format_is_exit_2_naming_it(self):
        folder = temp_dir()
        notes = os.path.join(folder, "notes.txt")
        with open(notes, "w") as f:
            f.write("Ticket 4711: mail to the partner is slow since Monday\nsee the logs on the gateway\n")
        code, out, err = logscan(notes)
        self.assertEqual(code, 2, out)
        self.assertIn(f"sluice logscan: {notes}: not a log format logscan reads", err)
        self.assertIn(f"{notes} (unknown, 2 lines, error: not a log format", out)
        # Beside a log it is still named, and the log is still reported.
        code, r = logscan_json(notes, *self.files)
        self.assertEqual(code, 2)
        self.assertEqual(r["summary"]["sessions"]["total"], 3)
        self.assertTrue(r["inputs"]["errors"][0].startswith(notes + ": not a log format"), r["inputs"]["errors"])
        # Through stdin as well.
        code, out, err = logscan("-", stdin=b"hello\nworld\n")
        self.assertEqual(code, 2)
        self.assertIn("-: not a log format logscan reads", err)

    def test_html_and_csv(self):
        out_dir = temp_dir()
        page_path = os.path.join(out_dir, "report.html")
        code, out, err = logscan("--csv", "--html", page_path, self.logs)
        self.assertEqual(code, 1, err)
        rows = [l.split(",") for l in out.strip().splitlines()]
        self.assertEqual(rows[0][0], "record")
        self.assertIn(["legacy_peer", "inbound", "Default", "127.0.0.1"], [r[:4] for r in rows])
        self.assertIn("refused_legacy", [r[5] for r in rows if r[0] == "legacy_peer"])
        page, text = check_html(self, page_path)
        self.assertIn("<svg", page)
        self.assertIn("3 sessions in", text)
        self.assertIn("TLS negotiation failed with error UnsupportedProtocol", text)
        # The legacy row: 127.0.0.1 with TLS1_0 0, TLS1_1 0, refused 1.
        self.assertRegex(page, r'(?s)<table id="legacy">.*?<td>127\.0\.0\.1</td><td>[^<]*</td>'
                               r'<td class="n">0</td><td class="n">0</td><td class="n">1</td>')
        self.assertIn('<td class="n">3</td></tr>', page)  # the sessions total


class SendConnectorTest(unittest.TestCase):
    """Connections a send connector never made: sluice's own send log (a smart host nobody listens
    on) and an Exchange 2013+ Send log, with its lines before the connect."""

    def test_refused_smart_host_is_a_connection_failure_not_plaintext(self):
        closed = harness.free_port()  # nothing listens there: every connect is refused
        sluice = harness.Sluice(local_domains=("sluice.test",), extra='relay_from = ["127.0.0.1"]')
        harness.append_config(sluice, harness.queue_table() +
                              harness.smart_host_connector("To partner", ["partner.test"], closed))
        sluice.start()
        try:
            with smtplib.SMTP("127.0.0.1", sluice.port, timeout=30) as s:
                s.sendmail("alice@sluice.test", ["bob@partner.test"], "Subject: refused\r\n\r\nhello\r\n")
            self.assertTrue(harness.wait_until(
                lambda: any("Failed to connect" in r.context for r in harness.send_log_records(sluice)), timeout=20),
                "no refused connect in the send log")
        finally:
            sluice.stop()
        logs = os.path.join(sluice.state, "logs")
        code, r = logscan_json("--direction", "outbound", logs)
        self.assertEqual(code, 1, "an unreachable next hop is a finding")
        s = r["summary"]["sessions"]
        self.assertGreaterEqual(s["connect_failed"], 1)
        self.assertEqual((s["plaintext"], s["total"]), (0, s["connect_failed"]))
        [failure] = r["failures"]
        self.assertEqual((failure["signature"], failure["direction"], failure["remote"]),
                         ("Failed to connect: connection refused", "outbound", "127.0.0.1"))
        self.assertEqual(failure["count"], s["connect_failed"])
        self.assertIn("Failed to connect to", failure["example"]["text"])
        [peer] = r["summary"]["top_peers"]
        self.assertEqual((peer["connector"], peer["sessions"]["connect_failed"], peer["sessions"]["plaintext"]),
                         ("To partner", s["connect_failed"], 0))

    def test_exchange_send_log_attempts(self):
        folder = temp_dir()
        path = os.path.join(folder, "SEND2026112707-1.LOG")
        head = ("#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: SMTP Send Protocol Log\r\n"
                "#Date: 2026-11-27T07:00:00.000Z\r\n#Fields: date-time,connector-id,session-id,sequence-number,"
                "local-endpoint,remote-endpoint,event,data,context\r\n")

        def line(t, sid, seq, local, event, data="", context=""):
            return f"2026-11-27T07:00:{t}Z,Outbound to Office 365,{sid},{seq},{local},203.0.113.25:25,{event},{data},{context}\r\n"

        ok, refused, local = "08D6A8D416004F77", "08D6A8D416004F78", "192.0.2.10:44276"
        text = head + "".join([
            line("00.000", ok, 0, "", "*", "SendRoutingHeaders", "Set Session Permissions"),
            line("00.000", ok, 1, "", "*", "", "attempting to connect"),
            line("00.001", refused, 0, "", "*", "SendRoutingHeaders", "Set Session Permissions"),
            line("00.001", refused, 1, "", "*", "", "attempting to connect"),
            line("00.040", ok, 2, local, "+"),
            line("00.150", ok, 3, local, "<", '"220 mx.example Microsoft ESMTP MAIL Service ready"'),
            line("00.151", ok, 4, local, ">", "EHLO gw.example"),
            line("00.300", ok, 5, local, "*", "",
                 '"TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded using bulk encryption algorithm '
                 'CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key '
                 'exchange algorithm CALG_ECDH_EPHEM with strength 384 bits"'),
            line("01.000", ok, 6, local, "-", "", "Local"),
            line("21.050", refused, 2, "", "*", "",
                 '"Failed to connect. Winsock error code: 10060, Win32 error code: 10060, Destination domain: '
                 'example.com, Error Message: A connection attempt failed because the connected party did not '
                 'properly respond after a period of time 203.0.113.25:25."'),
        ])
        with open(path, "w", newline="") as f:
            f.write(text)
        code, r = logscan_json(path)
        self.assertEqual(code, 1)
        s = r["summary"]["sessions"]
        self.assertEqual((s["TLS1_2"], s["connect_failed"], s["plaintext"], s["total"]), (1, 1, 0, 2))
        self.assertEqual([(f["signature"], f["example"]["line"]) for f in r["failures"]],
                         [("Failed to connect: timed out", 15)])


class PostfixLogTest(unittest.TestCase):
    CTEST_SECONDS = 8  # its rough duration: ctest starts the longest first

    def setUp(self):
        reason = postfix_peer.available()
        if reason:
            self.skipTest(reason)

    def test_tls10_accepted_then_refused(self):
        cert, key = make_certificate(subject="/CN=postfix-peer.test")
        peer = PostfixPeer({"smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key, "smtpd_tls_security_level": "may",
                            "smtpd_tls_loglevel": "1", "smtpd_tls_protocols": "TLSv1",
                            "smtpd_tls_mandatory_protocols": "TLSv1"})
        self.addCleanup(peer.cleanup)
        peer.start()
        send_message(peer.port, ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1, "legacy.client.test", LEGACY_CIPHERS)
        peer.wait_for_log(r"disconnect from .* data=1")
        peer._postconf("-e", "smtpd_tls_protocols = >=TLSv1.2", "smtpd_tls_mandatory_protocols = >=TLSv1.2")
        peer._postfix("reload")
        time.sleep(2)  # the master restarts its smtpd processes with the new settings
        refused = harness.run_s_client(peer.port, "-tls1", "-cipher", LEGACY_CIPHERS)
        self.assertFalse(refused.handshake, refused.output)
        peer.wait_for_log(r"disconnect from .*starttls=0/1")

        code, r = logscan_json(peer.log_path)
        self.assertEqual(code, 1)
        self.assertEqual(r["inputs"]["files"][0]["format"], "postfix")
        self.assertEqual(r["inputs"]["malformed"], 0)
        s = r["summary"]["sessions"]
        # The third session is PostfixPeer.start() checking that the port accepts connections.
        self.assertEqual((s["TLS1_0"], s["tls_failed"], s["plaintext"], s["total"]), (1, 1, 1, 3))
        legacy = [p for p in r["legacy_peers"] if p["connector"] == "postfix/smtpd"]
        self.assertEqual(len(legacy), 1)
        self.assertEqual((legacy[0]["remote"], legacy[0]["sessions"]["TLS1_0"], legacy[0]["messages"]),
                         ("127.0.0.1", 1, 1))
        sigs = {f["signature"]: f for f in r["failures"]}
        for sig in ("SSL_accept error", "lost connection after STARTTLS", "starttls=0/1"):
            self.assertIn(sig, sigs)
            self.assertEqual((sigs[sig]["count"], sigs[sig]["remote"]), (1, "127.0.0.1"))
            with open(peer.log_path, encoding="utf-8") as f:
                self.assertIn(sig, f.read().split("\n")[sigs[sig]["example"]["line"] - 1])
        # The second session's refusal came after the first session's success.
        self.assertLess(legacy[0]["first_seen"], sigs["SSL_accept error"]["first"])


if __name__ == "__main__":
    unittest.main()
