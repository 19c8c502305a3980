"""End-to-end: the message tracking log (docs/message-tracking.md). One gateway, three messages:
one relayed over STARTTLS to a sink that answers "250 2.0.0 Ok: queued as ABC123", one for a
next hop that refuses connections (deferred, then failed when its lifetime runs out, and bounced
to its local sender), one delivered to a local Maildir. Checked: the MSGTRK records, that
`sluice logscan` reads the files as a message tracking log, and `sluice track`'s answers."""
import json
import os
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from postfix_peer import make_certificate  # noqa: E402

class Sink:
    """An SMTP server on loopback that offers STARTTLS and accepts every message with
    "250 2.0.0 Ok: queued as ABC123"; counts the messages it took."""

    def __init__(self):
        cert, key = make_certificate("/CN=sink.test")
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.messages = 0
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        conn.settimeout(10)
        f = conn.makefile("rb")

        def send(line):
            conn.sendall(line.encode() + b"\r\n")

        try:
            send("220 sink.test ESMTP")
            while True:
                line = f.readline()
                if not line:
                    return
                verb = line.split(b" ")[0].strip().upper()
                if verb == b"EHLO":
                    send("250-sink.test\r\n250-PIPELINING\r\n250 STARTTLS" if not isinstance(conn, ssl.SSLSocket)
                         else "250-sink.test\r\n250 PIPELINING")
                elif verb == b"STARTTLS":
                    send("220 2.0.0 Ready to start TLS")
                    conn = self.tls.wrap_socket(conn, server_side=True)
                    f = conn.makefile("rb")
                elif verb in (b"MAIL", b"RCPT"):
                    send("250 2.1.0 Ok")
                elif verb == b"DATA":
                    send("354 End data with <CR><LF>.<CR><LF>")
                    while f.readline() not in (b".\r\n", b""):
                        pass
                    self.messages += 1
                    send("250 2.0.0 Ok: queued as ABC123")
                    self.done.set()
                elif verb == b"QUIT":
                    send("221 2.0.0 Bye")
                    return
                else:
                    send("250 2.0.0 Ok")
        except (OSError, ssl.SSLError):
            return
        finally:
            conn.close()

    def close(self):
        self.listener.close()


def events_of(records, queue_id):
    return [r["event-id"] for r in records if r["internal-message-id"] == queue_id]


class MessageTracking(unittest.TestCase):
    CTEST_SECONDS = 8  # its rough duration: ctest starts the longest first

    @classmethod
    def setUpClass(cls):
        cls.sink = Sink()
        closed = harness.free_port()  # nothing listens there: every attempt is refused
        cls.sluice = harness.Sluice(local_domains=("sluice.test",), extra='relay_from = ["127.0.0.1"]')
        harness.append_config(cls.sluice, harness.queue_table(lifetime="4s") +
                              harness.smart_host_connector("To Sink", ["sink.test"], cls.sink.port,
                                                           tls="opportunistic") +
                              harness.smart_host_connector("To Nowhere", ["down.test"], closed))
        cls.sluice.start()
        port = cls.sluice.port
        cls.relayed = cls.submit(port, "alice@sluice.test", "bob@sink.test", "<relayed@sluice.test>", tls=True)
        cls.bounced = cls.submit(port, "alice@sluice.test", "carol@down.test", "<bounced@sluice.test>")
        cls.local = cls.submit(port, "dave@partner.test", "erin@sluice.test", "<local@partner.test>")
        # The bounce reaches alice's Maildir once carol's 4 s lifetime is over.
        cls.dsn = cls.sluice.maildir("alice", count=1, timeout=30)
        cls.sluice.maildir("erin", count=1, timeout=10)
        cls.sink.done.wait(10)
        harness.wait_until(lambda: "DELIVER" in [r["event-id"] for r in harness.tracking_records(cls.sluice)
                                                 if r["source"] == "STOREDRIVER"
                                                 and r["recipient-address"] == "alice@sluice.test"], timeout=10)

    @classmethod
    def tearDownClass(cls):
        cls.sluice.stop()
        cls.sink.close()

    @staticmethod
    def submit(port, sender, recipient, message_id, tls=False):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
            s.ehlo("client.test")
            if tls:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                s.starttls(context=ctx)
                s.ehlo("client.test")
            s.mail(sender)
            s.rcpt(recipient)
            code, text = s.data(f"From: <{sender}>\r\nTo: <{recipient}>\r\nMessage-ID: {message_id}\r\n"
                                f"Subject: tracking\r\n\r\nhello\r\n".encode())
            assert code == 250, (code, text)
            return text.decode().split()[1]  # "2.6.0 <ID> Queued mail for delivery"

    def track(self, *args):
        return subprocess.run([harness.SLUICE, "track", "--config", self.sluice.config, *args],
                              capture_output=True, text=True, timeout=20)

    def test_relayed_message_is_received_then_sent_with_the_next_hops_id(self):
        records = harness.tracking_records(self.sluice)
        self.assertEqual(events_of(records, self.relayed), ["RECEIVE", "SEND"])
        receive, send = [r for r in records if r["internal-message-id"] == self.relayed]
        self.assertEqual(receive["source"], "SMTP")
        self.assertEqual(receive["client-ip"], "127.0.0.1")
        self.assertEqual(receive["client-hostname"], "client.test")
        self.assertEqual(receive["server-hostname"], "mx.sluice.test")
        self.assertEqual(receive["connector-id"], "Default")
        self.assertEqual(receive["message-id"], "<relayed@sluice.test>")
        self.assertEqual(receive["sender-address"], "alice@sluice.test")
        self.assertEqual(receive["recipient-address"], "bob@sink.test")
        self.assertRegex(receive["custom-data"], r"^S:version=TLS1_[23];S:cipher=TLS_")
        self.assertGreater(int(receive["total-bytes"]), 0)
        self.assertRegex(receive["source-context"], r"^[0-9A-F]{16}$")  # the protocol log's session
        self.assertIn(receive["source-context"], "\n".join(self.sluice.protocol_log()))
        self.assertEqual(send["connector-id"], "To Sink")
        self.assertEqual(send["server-ip"], "127.0.0.1")
        self.assertEqual(send["client-hostname"], "mx.sluice.test")
        self.assertEqual(send["recipient-status"], "250 2.0.0 Ok: queued as ABC123")
        self.assertIn("S:RemoteQueueId=ABC123", send["custom-data"])
        self.assertRegex(send["custom-data"], r"S:version=TLS1_[23]")
        self.assertEqual(send["message-id"], "<relayed@sluice.test>")
        self.assertEqual(send["total-bytes"], receive["total-bytes"])

    def test_unreachable_hop_is_deferred_then_failed_and_bounced(self):
        records = harness.tracking_records(self.sluice)
        events = events_of(records, self.bounced)
        # Refused at each retry until the 4 s lifetime is over: RECEIVE, DEFER (one or more), FAIL.
        self.assertEqual(events[0], "RECEIVE")
        self.assertEqual(events[-1], "FAIL")
        self.assertGreaterEqual(len(events), 3)
        self.assertEqual(set(events[1:-1]), {"DEFER"})
        defer = next(r for r in records if r["internal-message-id"] == self.bounced and r["event-id"] == "DEFER")
        self.assertEqual(defer["connector-id"], "To Nowhere")
        self.assertIn("{LED=", defer["recipient-status"])
        fail = next(r for r in records if r["internal-message-id"] == self.bounced and r["event-id"] == "FAIL")
        self.assertRegex(fail["recipient-status"], r"^550 4\.4\.7 QUEUE\.Expired; message expired \(last error: 4")
        dsn = next(r for r in records if r["event-id"] == "DSN")
        self.assertEqual(dsn["custom-data"], f"S:OriginalInternalId={self.bounced}")
        self.assertEqual(dsn["reference"], "<bounced@sluice.test>")
        self.assertEqual(dsn["recipient-address"], "alice@sluice.test")
        self.assertEqual(dsn["related-recipient-address"], "carol@down.test")
        self.assertEqual(dsn["recipient-status"], "failed")
        # The bounce's own delivery is tracked under its own id.
        self.assertEqual(events_of(records, dsn["internal-message-id"]), ["DSN", "DELIVER"])
        self.assertIn(dsn["message-id"], self.dsn[0].decode())

    def test_local_message_is_delivered(self):
        records = harness.tracking_records(self.sluice)
        self.assertEqual(events_of(records, self.local), ["RECEIVE", "DELIVER"])
        deliver = [r for r in records if r["internal-message-id"] == self.local][1]
        self.assertEqual(deliver["source"], "STOREDRIVER")
        self.assertEqual(deliver["recipient-address"], "erin@sluice.test")
        self.assertEqual(deliver["recipient-status"], "250 2.0.0 Delivered to the local mailbox")

    def test_logscan_reads_the_tracking_log(self):
        out = subprocess.run([harness.SLUICE, "logscan", "--json",
                              os.path.join(self.sluice.state, "logs/MessageTracking")],
                             capture_output=True, text=True, timeout=30)
        self.assertIn(out.returncode, (0, 1), out.stderr)
        report = json.loads(out.stdout)
        files = report["inputs"]["files"]
        self.assertEqual([f["format"] for f in files], ["message-tracking"] * len(harness.tracking_files(self.sluice)))
        self.assertEqual(report["inputs"]["malformed"], 0, out.stdout)
        records = harness.tracking_records(self.sluice)
        counts = {e: sum(1 for r in records if r["event-id"] == e) for e in {r["event-id"] for r in records}}
        self.assertEqual(report["summary"]["tracking_events"], counts)
        self.assertEqual(counts["RECEIVE"], 3)

    def test_track_by_recipient_shows_the_path(self):
        out = self.track("--recipient", "bob@sink.test")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(f"{self.relayed} <relayed@sluice.test> from alice@sluice.test", out.stdout)
        self.assertRegex(out.stdout, r"RECEIVE from client\.test \[127\.0\.0\.1\] on \"Default\" with TLS1_[23], "
                                     r"for bob@sink\.test")
        self.assertRegex(out.stdout, r"SEND    bob@sink\.test to \[127\.0\.0\.1\] via \"To Sink\" "
                                     r"with TLS1_[23], queued as ABC123: 250 2\.0\.0 Ok: queued as ABC123")
        self.assertNotIn(self.bounced, out.stdout)

    def test_track_by_id_sender_and_json(self):
        by_remote_id = self.track("--id", "ABC123", "--json")
        self.assertEqual(by_remote_id.returncode, 0, by_remote_id.stderr)
        found = json.loads(by_remote_id.stdout)
        self.assertEqual([m["id"] for m in found], [self.relayed])
        self.assertEqual(found[0]["events"][1]["queued_as"], "ABC123")

        bounced = self.track("--id", "<bounced@sluice.test>")
        self.assertEqual(bounced.returncode, 0, bounced.stderr)
        self.assertRegex(bounced.stdout, r"DEFER   carol@down\.test at \[127\.0\.0\.1\] via \"To Nowhere\"")
        self.assertIn("FAIL    carol@down.test: 550 4.4.7 QUEUE.Expired", bounced.stdout)
        self.assertRegex(bounced.stdout, r"DSN     bounce [0-9A-F]{16} to alice@sluice\.test about carol@down\.test")
        self.assertRegex(bounced.stdout, r"DELIVER alice@sluice\.test \(notification [0-9A-F]{16}\) to the local "
                                         r"mailbox")

        by_sender = self.track("--sender", "@partner.test", "--json")
        self.assertEqual([m["id"] for m in json.loads(by_sender.stdout)], [self.local])

    def test_track_reads_exchanges_own_files(self):
        data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "logscan")
        out = subprocess.run([harness.SLUICE, "track", "--dir", data, "--recipient", "@partner.test"],
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("1002 <m2@contoso> from bob@contoso.test", out.stdout)
        self.assertIn('DEFER   carol@partner.test at mx.partner.test [198.51.100.9] via "Outbound to Partner" '
                      "without TLS: 421 4.4.2 Connection dropped due to SocketError", out.stdout)

    def test_track_errors(self):
        none = self.track("--sender", "nobody@nowhere.test")
        self.assertEqual(none.returncode, 1)
        self.assertIn("no message matches", none.stderr)
        bad_since = self.track("--since", "yesterday-ish")
        self.assertEqual(bad_since.returncode, 2)
        self.assertIn("--since yesterday-ish: not a time", bad_since.stderr)
        missing = subprocess.run([harness.SLUICE, "track", "--dir", os.path.join(self.sluice.dir, "nope")],
                                 capture_output=True, text=True, timeout=20)
        self.assertEqual(missing.returncode, 2)
        self.assertIn("no message tracking log there", missing.stderr)
        recent = self.track("--since", "1h", "--recipient", "erin@sluice.test")
        self.assertEqual(recent.returncode, 0, recent.stderr)
        if os.geteuid() == 0:  # a log the user may not read: as nobody, the log being root's 0600 files
            logs = os.path.join(self.sluice.state, "logs/MessageTracking")
            as_nobody = subprocess.run(["su", "nobody", "-s", "/bin/sh", "-c", f'"{harness.SLUICE}" track --dir "{logs}"'],
                                       capture_output=True, text=True, timeout=20)
            self.assertEqual(as_nobody.returncode, 2, as_nobody.stdout)
            self.assertRegex(as_nobody.stderr, r"sluice track: .*: cannot (read|open): Permission denied")
        future = self.track("--since", "2200-01-01")
        self.assertEqual(future.returncode, 1, future.stdout)
        self.assertEqual(self.track("--since", "2999-01-01").returncode, 2)  # past what the clock can hold


if __name__ == "__main__":
    unittest.main()
