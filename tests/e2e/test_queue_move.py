"""End-to-end: `sluice queue move --to HOST:PORT` hands a stopped node's queue to another sluice
gateway over SMTP with the XMOVE extension (docs/queue.md, "Moving a queue to another node").

Node A is a state directory whose spool holds messages in known states (written as Spool::store
writes them; A's gateway is stopped, as after a drain); node B is a running gateway whose receive
connector has accept_moved_mail and lets loopback relay. Checked: B's queue shows each message with
its original arrival, attempts and last reply, only the recipients still waiting, the content byte
for byte (no Received: of B's); A is empty; B delivers to a sink once it is up. Refusals: a
connector without accept_moved_mail, a client that may not relay, a gateway running on A. A crash:
SIGKILL the move mid-way and run it again: every message ends on exactly one node, except at most
the one in flight at the kill (the documented duplicate window), and none is lost."""
import glob
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import smtp_sink  # noqa: E402

DROPPED = "421 4.4.2 Connection dropped due to SocketError"


def node_b(accept=True, relay_from=("127.0.0.0/8",), sink_port=None):
    """A gateway that takes moved mail on loopback; partner.example goes to `sink_port` (nothing
    listens there until a test starts a sink), retried only when told (retry_min 1h)."""
    connector = {"name": "Default", "starttls": False, "relay_from": list(relay_from)}
    if accept:
        connector["accept_moved_mail"] = True
    b = harness.Sluice(connectors=[connector], hostname="b.sluice.test")
    harness.append_config(b, harness.queue_table(retry_min="1h", retry_max="1h", hop_backoff_max="1h",
                                                 lifetime="120h")
                          + harness.smart_host_connector("Partner", ["partner.example"],
                                                         sink_port or harness.free_port()))
    return b


def node_a():
    """A stopped node: its configuration and state directory, the gateway not running."""
    return harness.Sluice(connectors=[{"name": "Default", "starttls": False}], hostname="a.sluice.test")


def move(a, b, *args, timeout=60):
    return subprocess.run([harness.SLUICE, "queue", "move", "--to", f"127.0.0.1:{b.port}", *args, "--config",
                           a.config], capture_output=True, text=True, timeout=timeout)


def spooled(node):
    """{queue id: envelope dict} of the messages in `node`'s spool."""
    out = {}
    for path in harness.queued_envelopes(node):
        with open(path, encoding="utf-8") as f:
            envelope = json.load(f)
        out[envelope["id"]] = envelope
    return out


def content(node, queue_id):
    with open(os.path.join(node.state, "queue", queue_id + ".eml"), "rb") as f:
        return f.read()


class MoveBacklog(unittest.TestCase):
    def setUp(self):
        self.sink_port = harness.free_port()
        self.a = node_a()
        self.b = node_b(sink_port=self.sink_port)
        self.b.start()
        self.addCleanup(self.b.stop)
        self.queue_dir = os.path.join(self.a.state, "queue")
        now = time.time()
        self.received = now - 5 * 3600
        # One delivered and one deferred recipient; and one message nobody tried yet.
        self.mixed = harness.write_spooled_message(self.queue_dir, "0005F1A2B3C40021", [
            harness.spool_recipient("carol@partner.example", "delivered", 1, "250 2.0.0 Ok", None, now - 4000),
            harness.spool_recipient("bob@partner.example", "deferred", 2, DROPPED, now + 3000, now - 600),
        ], received=self.received, message=b"Received: from x by a.sluice.test\r\nSubject: one\r\n\r\nHello\r\n")
        self.fresh = harness.write_spooled_message(self.queue_dir, "0005F1A2B3C40022", [
            harness.spool_recipient("dave@partner.example"),
        ], received=now - 60, message=b"Subject: two\r\n\r\nHi\r\n")

    def test_moves_each_waiting_recipient_with_its_history(self):
        originals = {i: content(self.a, i) for i in ("0005F1A2B3C40021", "0005F1A2B3C40022")}
        p = move(self.a, self.b, "--all", "--yes")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Moved 2 of 2 messages", p.stdout)
        self.assertEqual(harness.queued_envelopes(self.a), [], "A still holds messages")

        on_b = {e["moved_from"]: e for e in spooled(self.b).values()}
        self.assertEqual(sorted(on_b), ["0005F1A2B3C40021", "0005F1A2B3C40022"])
        mixed = on_b["0005F1A2B3C40021"]
        self.assertEqual([r["address"] for r in mixed["recipients"]], ["bob@partner.example"])  # carol stays done
        shown = harness.queue_show(self.b, mixed["id"])
        self.assertEqual(shown["received"], self.mixed["received"])
        self.assertEqual(shown["moved_from"], "0005F1A2B3C40021")
        bob = shown["recipients"][0]
        self.assertEqual((bob["state"], bob["attempts"], bob["last_reply"]), ("deferred", 2, DROPPED))
        self.assertEqual(bob["last_attempt"], self.mixed["recipients"][1]["last_attempt"])
        text = harness.queue_cli(self.b, "show", mixed["id"]).stdout
        self.assertIn("Moved from:", text)
        fresh = harness.queue_show(self.b, on_b["0005F1A2B3C40022"]["id"])
        self.assertEqual(fresh["received"], self.fresh["received"])
        # Byte for byte as A had it: no Received: of B's, so a move is no hop.
        for original_id, envelope in on_b.items():
            self.assertEqual(content(self.b, envelope["id"]), originals[original_id])

        # Both sides' protocol logs name the move.
        sent = " ".join(r.data for r in harness.send_log_records(self.a))
        self.assertIn("XMOVE-ID=0005F1A2B3C40021", sent)
        received = " ".join(r.data + " " + r.context for r in harness.protocol_log_records(self.b))
        self.assertIn("MOVE: message 0005F1A2B3C40021 of the client stored as", received)

        # ... and so do both tracking logs: MOVE on A (with B's queue id), RECEIVE with MovedFrom on B.
        moves = [r for r in harness.tracking_records(self.a) if r["event-id"] == "MOVE"]
        self.assertEqual(sorted(r["internal-message-id"] for r in moves), sorted(on_b))
        mixed_move = next(r for r in moves if r["internal-message-id"] == "0005F1A2B3C40021")
        self.assertEqual(mixed_move["recipient-address"], "bob@partner.example")
        self.assertIn(f"S:RemoteQueueId={mixed['id']}", mixed_move["custom-data"])
        track = subprocess.run([harness.SLUICE, "track", "--config", self.a.config, "--id", "0005F1A2B3C40021"],
                               capture_output=True, text=True, timeout=20)
        self.assertIn(f"bob@partner.example moved to [127.0.0.1] (sluice queue move), queued there as "
                      f"{mixed['id']}", track.stdout)
        receives = [r for r in harness.tracking_records(self.b) if r["event-id"] == "RECEIVE"]
        self.assertIn("S:MovedFrom=0005F1A2B3C40021", " ".join(r["custom-data"] for r in receives))

        # B delivers them once the next hop is up.
        if smtp_sink.available():
            self.skipTest(smtp_sink.available())
        sink = smtp_sink.PostfixSmtpSink()
        sink.port = self.sink_port
        sink.start()
        self.addCleanup(sink.stop)
        retried = harness.queue_cli(self.b, "retry", "--all", "--yes")
        self.assertEqual(retried.returncode, 0, retried.stderr)
        dumps = sink.messages(count=2)
        self.assertEqual(len(dumps), 2)
        self.assertTrue(any(b"bob@partner.example" in d and b"Subject: one" in d for d in dumps), dumps)
        self.assertTrue(harness.wait_until(lambda: not harness.queued_envelopes(self.b), 20))

    def test_one_message_by_id_and_the_rest_stays(self):
        p = move(self.a, self.b, "0005F1A2B3C40022", "--json")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(list(spooled(self.a)), ["0005F1A2B3C40021"])
        on_b = list(spooled(self.b).values())
        self.assertEqual([e["moved_from"] for e in on_b], ["0005F1A2B3C40022"])
        answer = json.loads(p.stdout)
        self.assertEqual(answer["to"], f"127.0.0.1:{self.b.port}")
        self.assertEqual(answer["messages"], [{"id": "0005F1A2B3C40022", "new_id": on_b[0]["id"], "moved": 1, "kept": 0,
                                               "reply": f"250 2.6.0 {on_b[0]['id']} Queued mail for delivery"}])

    def test_more_than_one_message_needs_a_confirmation(self):
        p = subprocess.run([harness.SLUICE, "queue", "move", "--to", f"127.0.0.1:{self.b.port}", "--all", "--config",
                            self.a.config], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("needs a confirmation", p.stderr)
        self.assertEqual(len(spooled(self.a)), 2)
        self.assertEqual(spooled(self.b), {})

    def test_refused_while_a_gateway_runs_on_the_state_directory(self):
        self.a.start()
        try:
            p = move(self.a, self.b, "--all", "--yes")
        finally:
            self.a.stop()
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("a gateway runs on", p.stderr)
        self.assertEqual(spooled(self.b), {})


class MoveRefused(unittest.TestCase):
    """Without the extension on the destination, or for a client that may not relay there, nothing
    moves and nothing leaves A."""

    def check_refused(self, b):
        a = node_a()
        harness.write_spooled_message(os.path.join(a.state, "queue"), "0005F1A2B3C40031",
                                      [harness.spool_recipient("bob@partner.example", "deferred", 1, DROPPED)],
                                      received=time.time() - 100)
        b.start()
        self.addCleanup(b.stop)
        raw = harness.greeted(b.port)
        code, text = raw.cmd("EHLO a.sluice.test")
        raw.close()
        self.assertNotIn("XMOVE", text)
        p = move(a, b, "--all", "--yes")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("does not offer XMOVE", p.stdout)
        self.assertEqual(list(spooled(a)), ["0005F1A2B3C40031"])
        self.assertEqual(spooled(b), {})

    def test_connector_without_accept_moved_mail(self):
        self.check_refused(node_b(accept=False))

    def test_client_that_may_not_relay(self):
        self.check_refused(node_b(relay_from=("10.0.0.0/8",)))

    def test_parameters_refused_where_not_offered(self):
        b = node_b(accept=False)
        b.start()
        self.addCleanup(b.stop)
        raw = harness.greeted(b.port)
        self.addCleanup(raw.close)
        code, text = raw.cmd("MAIL FROM:<a@example.org> XMOVE-ARRIVED=2026-12-01T00:00:00Z XMOVE-ID=ABC")
        self.assertEqual(code, 555, text)


class MoveCrash(unittest.TestCase):
    COUNT = 150
    CTEST_SECONDS = 15  # 150 messages moved one transaction each, twice over the kill

    def test_killed_mid_move_then_run_again(self):
        a = node_a()
        b = node_b()
        b.start()
        self.addCleanup(b.stop)
        queue_dir = os.path.join(a.state, "queue")
        now = time.time()
        ids = [f"0005F1A2B3C4{i:04X}" for i in range(self.COUNT)]
        for n, queue_id in enumerate(ids):
            harness.write_spooled_message(queue_dir, queue_id, [
                harness.spool_recipient("bob@partner.example", "deferred", 1, DROPPED, now + 3600, now - 60)],
                received=now - 1000 + n)
        proc = subprocess.Popen([harness.SLUICE, "queue", "move", "--to", f"127.0.0.1:{b.port}", "--all", "--yes",
                                 "--config", a.config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness.wait_for("a fifth of the messages on B",
                         lambda: len(harness.queued_envelopes(b)) >= self.COUNT // 5, timeout=60, interval=0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        after_kill_b = len(harness.queued_envelopes(b))
        self.assertLess(after_kill_b, self.COUNT, "the move finished before the kill; nothing was tested")

        p = move(a, b, "--all", "--yes", timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(harness.queued_envelopes(a), [])
        moved = [e["moved_from"] for e in spooled(b).values()]
        self.assertEqual(set(moved), set(ids), "a message was lost")
        duplicates = len(moved) - len(set(moved))
        # At most the one message in flight at the kill: B had answered 250, A had not removed it yet.
        self.assertLessEqual(duplicates, 1, sorted(moved))


if __name__ == "__main__":
    unittest.main()
