"""A next hop that is down is one state (docs/queue.md, "Hop backoff"), end to end.

The scenario this project exists for: the smart host refuses (a 421 banner), mail piles up, then
the fix goes in. While the hop is down, its mail waits on the hop and one delivery at a time
probes it, instead of every message knocking on its own timer; `sluice queue list` shows the hop
as Retry with its last error; `sluice queue retry --all` says how many messages it made due, and
they all flow at once. Mail that waits on a hop that never comes back expires on time, and the
bounce quotes the hop's error. (bench/backlog.py measures the same with 100,000 messages.)"""
import json
import os
import smtplib
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from test_crash_consistency import SmtpSink  # noqa: E402

NO_TLS = [{"name": "Default", "starttls": False}]
REFUSED = "421 4.3.2 sink.remote.test Service not available"


def submit(port, count, mail_from="alice@sluice.test"):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for i in range(count):
            client.sendmail(mail_from, [f"user{i}@remote.test"],
                            f"Subject: backlog {i}\r\nX-Backlog: {i}\r\n\r\nmessage {i}\r\n")


class DownHop(unittest.TestCase):
    CTEST_SECONDS = 8  # its rough duration: ctest starts the longest first

    def start(self, **queue_settings):
        self.sink = SmtpSink()
        self.sink.refuse = True
        self.sink.start()
        self.addCleanup(self.sink.stop)
        self.sluice = harness.Sluice(connectors=NO_TLS, local_domains=("sluice.test",),
                                     extra='relay_from = ["127.0.0.1"]')
        harness.append_config(self.sluice, harness.queue_table(**queue_settings) +
                              harness.smart_host_connector("Smart host", ["*"], self.sink.port,
                                                           max_connections_per_host=20))
        self.sluice.start()
        self.addCleanup(self.sluice.stop)
        self.hop = f"[127.0.0.1]:{self.sink.port}"

    def hop_row(self):
        p = harness.queue_cli(self.sluice, "list", "--json", timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [r for r in json.loads(p.stdout)["hops"] if r["next_hop"] == self.hop]
        return rows[0] if rows else None

    def test_mail_waits_on_the_hop_probed_once_at_a_time_then_flows_at_once(self):
        self.start(retry_min="1s", retry_max="1s", hop_backoff_max="2s")
        submit(self.sluice.port, 40)
        self.assertTrue(harness.wait_until(
            lambda: len(harness.queued_envelopes(self.sluice)) == 40 and self.sink.refused > 0))
        time.sleep(1)
        before = self.sink.refused
        time.sleep(6)
        probes = self.sink.refused - before
        # Backoffs of 1 to 2 s (with jitter) in 6 s: a handful of probes, one connection each. Each
        # message on a timer of its own would be about 20 connections a second (the hop's limit).
        self.assertGreaterEqual(probes, 2, "the hop must still be probed")
        self.assertLessEqual(probes, 9, f"{probes} connections in 6 s to a hop that is down")

        row = self.hop_row()
        self.assertIsNotNone(row)
        self.assertIn(row["status"], ("Retry", "Active"))
        self.assertEqual(row["messages"], 40)
        self.assertIn(REFUSED, row["last_error"])

        self.sink.refuse = False
        p = harness.queue_cli(self.sluice, "retry", "--all", "--yes", timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        # Every waiting message, also those that never had an attempt of their own.
        self.assertEqual(p.stdout, "40 messages scheduled for immediate retry.\n")
        self.assertTrue(harness.wait_until(lambda: len(self.sink.snapshot()) >= 40, timeout=20),
                        f"{len(self.sink.snapshot())} of 40 delivered")
        self.assertTrue(harness.wait_until(lambda: not harness.queued_envelopes(self.sluice), timeout=10))
        got = sorted(int(m["rcpts"][0][4:].split("@")[0]) for m in self.sink.snapshot())
        self.assertEqual(got, list(range(40)), "each message exactly once")

    def test_mail_waiting_on_a_dead_hop_expires_on_time_and_the_bounce_quotes_the_hop(self):
        # After the first refusal the hop backs off for an hour: nothing is tried again, yet the
        # lifetime of every message still ends on time.
        self.start(retry_min="1h", retry_max="1h", hop_backoff_max="1h", lifetime="4s")
        started = time.monotonic()
        submit(self.sluice.port, 5)
        bounces = self.sluice.maildir("alice", count=5, timeout=20)
        self.assertLess(time.monotonic() - started, 15)
        for raw in bounces:
            text = raw.decode("utf-8", "replace")
            self.assertIn("Status: 4.4.7", text)
            self.assertIn(REFUSED, text)
        self.assertTrue(harness.wait_until(lambda: not harness.queued_envelopes(self.sluice), timeout=10))
        self.assertLessEqual(self.sink.refused, 5)


if __name__ == "__main__":
    unittest.main()
