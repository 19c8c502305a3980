"""Draining a node (docs/queue.md, "Draining a node"), end to end.

A gateway whose spool holds deferred mail for a smart host (Postfix's smtp-sink), each message
waiting an hour for its next retry, is drained with `sluice queue drain --wait`: a new connection
gets `421 4.3.2 ... draining` (logged like other refusals) while a session begun before the drain
hands over its message; the backlog is tried at once and reaches the sink; `sluice queue list`
and a second drain still answer, a reload keeps the node draining, systemd's STATUS and the
`sluice_draining` gauge say so; and the gateway exits 0 once empty. With a next hop that stays
down, a deadline ends the gateway with status 75 and the mail still spooled, unchanged but for
the attempt the drain made. Behind a real HAProxy (`option smtpchk`), the draining node is
marked DOWN while the others stay UP, and the load balancer's clients land on those."""
import json
import os
import signal
import smtplib
import subprocess
import sys
import time
import unittest
import urllib.request
from unittest import mock

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import haproxy_lb  # noqa: E402
import smtp_sink  # noqa: E402

DRAIN_DEADLINE_STATUS = 75
DROPPED = "421 4.4.2 Connection dropped due to SocketError"


def spool_deferred(sluice, ids, domain="partner.example"):
    """Writes messages to `domain` deferred an hour (next retry in an hour): without a drain they
    would wait that long."""
    now = time.time()
    queue_dir = os.path.join(sluice.state, "queue")
    for n, queue_id in enumerate(ids):
        harness.write_spooled_message(queue_dir, queue_id, [
            harness.spool_recipient(f"user{n}@{domain}", "deferred", 1, DROPPED, now + 3600, now - 60),
        ], received=now - 600 - n)


def drain(sluice, *args):
    """`sluice queue drain <args>` started in the background (it may --wait); its Popen."""
    return subprocess.Popen([harness.SLUICE, "queue", "drain", *args, "--state-dir", sluice.state],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def banner_and_close(port):
    """The banner a new connection gets, and whether the server then closes it."""
    raw = harness.Raw(port)
    try:
        code, text = raw.reply()
        return code, text, raw.closed()
    finally:
        raw.close()


def gauge(admin_port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


class Drain(unittest.TestCase):
    CTEST_SECONDS = 8  # its rough duration: ctest starts the longest first

    def gateway(self, hop_port, ids, hostname="mx.sluice.test", admin_port=None):
        sluice = harness.Sluice(connectors=[{"name": "Default", "starttls": False, "relay_from": ["127.0.0.1"]}],
                                local_domains=("sluice.test",), hostname=hostname,
                                extra=f'admin_listen = "127.0.0.1:{admin_port}"' if admin_port else "")
        harness.append_config(sluice, harness.queue_table(retry_min="1h", retry_max="1h", hop_backoff_max="1h")
                              + harness.smart_host_connector("Partner", ["partner.example"], hop_port))
        spool_deferred(sluice, ids)
        self.addCleanup(sluice.stop)
        return sluice

    def test_refuses_new_sessions_finishes_the_open_one_delivers_the_backlog_and_exits_0(self):
        reason = smtp_sink.available()
        if reason:
            self.skipTest(reason)
        sink = smtp_sink.PostfixSmtpSink().start()
        self.addCleanup(sink.stop)
        admin_port = harness.free_port()
        ids = ["0005F1A2B3C40021", "0005F1A2B3C40022", "0005F1A2B3C40023"]
        sluice = self.gateway(sink.port, ids, admin_port=admin_port)
        notify = harness.NotifySocket()
        self.addCleanup(notify.close)
        with mock.patch.dict(os.environ, {"NOTIFY_SOCKET": notify.path}):
            sluice.start()
        notify.wait_for("READY=1", timeout=30)
        self.assertEqual(gauge(admin_port, "sluice_draining"), 0)
        # Nothing moves before the drain: the backlog waits an hour.
        self.assertEqual(sink.messages(count=0, timeout=0), [])

        # A session begun before the drain, in the middle of a transaction.
        before = smtplib.SMTP("127.0.0.1", sluice.port, timeout=30)
        self.addCleanup(before.close)
        before.ehlo("before.test")
        self.assertEqual(before.mail("alice@sluice.test")[0], 250)
        self.assertEqual(before.rcpt("late@partner.example")[0], 250)

        waiting = drain(sluice, "--wait")
        self.addCleanup(lambda: waiting.poll() is None and waiting.kill())
        first_line = waiting.stdout.readline()
        self.assertIn(f"Draining the gateway on {sluice.state} (pid {sluice.proc.pid})", first_line)
        self.assertIn("3 messages queued, 1 session open", first_line)

        # A new connection: a clear 421 with the hostname and an enhanced code, then closed; the
        # listening socket stays open.
        code, text, closed = banner_and_close(sluice.port)
        self.assertEqual((code, text), (421, "421 4.3.2 mx.sluice.test Service not available, draining"))
        self.assertTrue(closed)
        refusals = harness.wait_for("the refusal in the protocol log, like any other", lambda: [
            r for r in harness.protocol_log_records(sluice) if "draining" in r.data], timeout=5)
        self.assertEqual(len(refusals), 1)
        self.assertEqual(refusals[0].event, ">")

        # The backlog is tried now, not in an hour.
        self.assertEqual(len(sink.messages(count=3)), 3)
        notify.wait_for("STATUS=draining: 0 messages left, 1 session")
        self.assertEqual(gauge(admin_port, "sluice_draining"), 1)

        # The viewer still works; a second drain is harmless; a reload keeps the node draining.
        listing = harness.queue_cli(sluice, "list", "--json")
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertEqual(json.loads(listing.stdout)["source"], "gateway")
        again = harness.queue_cli(sluice, "drain")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("Still draining", again.stdout)
        sluice.proc.send_signal(signal.SIGHUP)
        harness.wait_for("the reload", lambda: "reload: " in sluice.server_log(), timeout=10)
        self.assertEqual(banner_and_close(sluice.port)[0], 421)

        # The session begun before the drain hands over its message, which is delivered too.
        code, text = before.data(b"Subject: begun before the drain\r\n\r\nhello\r\n")
        self.assertEqual(code, 250, text)
        before.quit()
        self.assertEqual(sluice.proc.wait(timeout=20), 0)
        log = sluice.server_log()
        self.assertIn("drained: the queue is empty and no session is open; stopping", log)
        self.assertEqual(len(sink.messages(count=4)), 4)
        self.assertTrue(any(b"begun before the drain" in m for m in sink.messages(count=4)))
        self.assertEqual(harness.queued_envelopes(sluice), [])

        out, err = waiting.communicate(timeout=20)
        self.assertEqual(waiting.returncode, 0, err)
        self.assertIn(f"The gateway (pid {sluice.proc.pid}) drained its queue and stopped.", out)
        notify.wait_for("STOPPING=1", timeout=5)

    def test_deadline_ends_the_gateway_with_status_75_and_the_mail_kept(self):
        down_port = harness.free_port()  # the next hop stays down
        ids = ["0005F1A2B3C40031", "0005F1A2B3C40032"]
        sluice = self.gateway(down_port, ids)
        sluice.start()
        started = time.monotonic()
        p = drain(sluice, "--deadline", "2s", "--wait")
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, DRAIN_DEADLINE_STATUS, out + err)
        self.assertEqual(sluice.proc.wait(timeout=10), DRAIN_DEADLINE_STATUS)
        self.assertGreaterEqual(time.monotonic() - started, 1.5, "it waited for the deadline")
        self.assertIn("or at ", out)
        self.assertIn(f"stopped with 2 messages still in its spool {sluice.state}/queue", out)
        self.assertIn("drain deadline reached with 2 message(s) left in the queue; stopping (exit status 75)",
                      sluice.server_log())
        # Nothing lost: both messages are spooled, each tried once more by the drain.
        self.assertEqual([os.path.basename(f)[:-5] for f in harness.queued_envelopes(sluice)], ids)
        for queue_id in ids:
            with open(os.path.join(sluice.state, "queue", queue_id + ".json")) as f:
                recipient = json.load(f)["recipients"][0]
            self.assertEqual(recipient["state"], "deferred")
            self.assertEqual(recipient["attempts"], 2)
        # The spool is the one a restart (or `sluice queue list`) reads.
        listing = harness.queue_cli(sluice, "list", "--messages", "--json")
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertEqual(json.loads(listing.stdout)["total"], 2)

    def test_without_a_gateway_drain_fails_and_bad_deadlines_are_refused(self):
        sluice = harness.Sluice()
        os.makedirs(os.path.join(sluice.state, "queue"))
        p = harness.queue_cli(sluice, "drain")
        self.assertEqual(p.returncode, 1)
        self.assertIn("no gateway is running on", p.stderr)
        self.assertIn("drain needs the running gateway", p.stderr)
        for bad in ("soon", "0s", "-5m"):
            p = harness.queue_cli(sluice, "drain", "--deadline", bad)
            self.assertEqual(p.returncode, 2, (bad, p.stderr))
            self.assertIn("--deadline", p.stderr)


class DrainBehindHaproxy(unittest.TestCase):
    """Three gateways behind HAProxy with `option smtpchk`: draining one takes it out."""
    CTEST_SECONDS = 6

    def test_the_draining_node_goes_down_the_others_stay_up_and_take_the_clients(self):
        reason = haproxy_lb.available()
        if reason:
            self.skipTest(reason)
        gateways = {}
        for name in ("a", "b", "c"):
            g = harness.Sluice(connectors=[{"name": "Default", "starttls": False}], hostname=f"{name}.sluice.test")
            # A message that stays queued on a (the hop is down) keeps it draining while HAProxy looks.
            harness.append_config(g, harness.queue_table(retry_min="1h", retry_max="1h", hop_backoff_max="1h")
                                  + harness.smart_host_connector("Partner", ["partner.example"], harness.free_port()))
            self.addCleanup(g.stop)
            gateways[name] = g
        spool_deferred(gateways["a"], ["0005F1A2B3C40041"])
        for g in gateways.values():
            g.start()
        lb = haproxy_lb.HaproxyLb(check_interval=100)
        self.addCleanup(lb.stop)
        for name, g in gateways.items():
            lb.add_server(name, g.port)
        lb.start()
        for name in gateways:
            lb.wait_state(name, "UP")

        p = harness.queue_cli(gateways["a"], "drain")
        self.assertEqual(p.returncode, 0, p.stderr)
        lb.wait_state("a", "DOWN")
        self.assertEqual(lb.server_states(), {"a": "DOWN", "b": "UP", "c": "UP"})
        self.assertIsNone(gateways["a"].proc.poll(), "a drains: it runs until its queue is empty")
        # Clients of the load balancer land on the others.
        for _ in range(4):
            with smtplib.SMTP("127.0.0.1", lb.port, timeout=10) as client:
                code, greeting = client.ehlo("client.test")
                self.assertEqual(code, 250)
                self.assertNotIn(b"a.sluice.test", greeting)
                self.assertRegex(greeting.decode(), r"^[bc]\.sluice\.test ")


if __name__ == "__main__":
    unittest.main()
