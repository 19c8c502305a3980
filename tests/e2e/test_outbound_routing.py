"""End-to-end: MX routing and the durable queue with two real gateways on loopback. "sender" relays
for 127.0.0.1 and routes by MX through a test DNS server (dns_server.py) on loopback; "receiver"
accepts mail for the test domains and delivers it to its Maildirs. Covered: MX preference and
failover to the next MX, implicit MX (A only), null MX, NXDOMAIN and SERVFAIL, deferred mail
surviving a restart of the sender, and `sluice queue` against the running gateway."""
import json
import os
import re
import smtplib
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from dns_server import DnsServer  # noqa: E402

SENDER_DOMAIN = "sender.test"
RECEIVER_DOMAINS = ("dest.test", "failover.test", "implicit.test")
# Nothing listens on 127.0.0.3 (the whole of 127/8 is loopback, so connecting there is refused at once).
NOWHERE = "127.0.0.3"


def zone():
    return {
        "dest.test": {"MX": [(10, "mx1.dest.test"), (20, "mx2.dest.test")]},
        "mx1.dest.test": {"A": ["127.0.0.1"]},
        "mx2.dest.test": {"A": ["127.0.0.1"]},
        "failover.test": {"MX": [(10, "mx1.failover.test"), (20, "mx2.failover.test")]},
        "mx1.failover.test": {"A": [NOWHERE]},
        "mx2.failover.test": {"A": ["127.0.0.1"]},
        "implicit.test": {"A": ["127.0.0.1"]},
        "nullmx.test": {"MX": [(0, ".")]},
        "broken.test": "SERVFAIL",
        # nxdomain.test: not in the zone
    }


def make_receiver(port=None):
    connectors = [{"name": "Default", "listen": [f"127.0.0.1:{port}"]}] if port else None
    return harness.Sluice(connectors=connectors, hostname="mx.dest.test", local_domains=RECEIVER_DOMAINS)


def make_sender(dns, receiver_port, retry_min="1s", retry_max="2s"):
    sender = harness.Sluice(hostname="gw.sender.test", local_domains=(SENDER_DOMAIN,),
                            extra=f'relay_from = ["127.0.0.1"]\ndns_servers = ["{dns.address}"]')
    harness.append_config(sender, f"""
        [queue]
        retry_min = "{retry_min}"
        retry_max = "{retry_max}"
        [[send_connector]]
        name = "MX routing"
        address_spaces = ["*"]
        port = {receiver_port}
        tls = "opportunistic"
        """)
    return sender


def submit(sluice, mail_from, rcpt, subject):
    """Relays one message through `sluice`; returns its queue id from the 250 reply."""
    with smtplib.SMTP("127.0.0.1", sluice.port, timeout=30) as s:
        s.ehlo("client.sender.test")
        code, text = s.mail(mail_from)
        assert code == 250, (code, text)
        code, text = s.rcpt(rcpt)
        assert code == 250, (code, text)
        code, text = s.data(f"From: <{mail_from}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n"
                            f"Message-ID: <{subject.replace(' ', '-')}@sender.test>\r\n\r\nbody of {subject}\r\n")
        assert code == 250, (code, text)
    m = re.search(rb"\b([0-9A-F]{16})\b", text)
    assert m, text
    return m.group(1).decode()


def show_json(sluice, queue_id):
    p = harness.queue_cli(sluice, "show", queue_id, "--json")
    return json.loads(p.stdout) if p.returncode == 0 else None


def recipient_state(sluice, queue_id):
    """The first recipient of `queue_id` as the running gateway shows it, or None."""
    message = show_json(sluice, queue_id)
    return message["recipients"][0] if message else None


def dsn_fields(dsn):
    text = dsn.decode("utf-8", "replace")
    return {k: v.strip() for k, v in re.findall(r"^(Status|Action|Final-Recipient|Diagnostic-Code):(.*)$",
                                                   text, re.M)}, text


class Routing(unittest.TestCase):
    """One DNS server, one receiver, one sender for every routing case."""

    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer(zone()).start()
        cls.receiver = make_receiver().start()
        cls.sender = make_sender(cls.dns, cls.receiver.port).start()

    @classmethod
    def tearDownClass(cls):
        for s in (cls.sender, cls.receiver):
            s.stop()
        cls.dns.stop()

    def deliver(self, mailbox, rcpt, subject):
        queue_id = submit(self.sender, f"{mailbox}-from@{SENDER_DOMAIN}", rcpt, subject)
        got = self.receiver.maildir(mailbox, timeout=20)
        self.assertEqual(len(got), 1, f"{rcpt} not delivered; the sender's queue says:\n"
                         + harness.queue_cli(self.sender, "show", queue_id).stdout)
        self.assertIn(f"Subject: {subject}".encode(), got[0])
        self.assertTrue(got[0].startswith(f"Delivered-To: {rcpt}\r\n".encode()), got[0][:200])
        return queue_id

    def test_mx_routing_delivers(self):
        self.deliver("bob", "bob@dest.test", "mx routing")
        self.assertIn(("dest.test", "MX"), self.dns.queries)
        # The MX hosts' addresses were looked up in preference order, and delivery went to mx1.
        a_queries = [q[0] for q in self.dns.queries if q[0].endswith(".dest.test") and q[1] == "A"]
        self.assertEqual(a_queries[:2], ["mx1.dest.test", "mx2.dest.test"], self.dns.queries)
        sessions = [recs for recs in harness.send_log_sessions(self.sender).values()
                    if any(r.data == "RCPT TO:<bob@dest.test>" for r in recs)]
        self.assertEqual(len(sessions), 1, sessions)
        self.assertEqual({r.remote for r in sessions[0]}, {f"127.0.0.1:{self.receiver.port}"})

    def test_failover_to_the_next_mx(self):
        self.deliver("frank", "frank@failover.test", "failover")
        records = harness.send_log_records(self.sender)
        failed = [i for i, r in enumerate(records)
                  if r.event == "*" and f"({NOWHERE}:{self.receiver.port})" in r.context
                  and "Failed to connect to mx1.failover.test" in r.context]
        self.assertTrue(failed, "no failed connect to mx1 in the send log:\n" + "\n".join(map(str, records)))
        delivered = [i for i, r in enumerate(records)
                     if r.event == ">" and r.data == "RCPT TO:<frank@failover.test>"]
        self.assertTrue(delivered, records)
        self.assertLess(failed[0], delivered[0], "mx1 (preference 10) must be tried before mx2")
        # Failover happens within the one attempt, not by retrying later: mx1 was tried once.
        self.assertEqual(len(failed), 1, records)
        # The failed connect has no local endpoint and no session of its own (docs/outbound.md).
        self.assertEqual(records[failed[0]].local, "")

    def test_implicit_mx_delivers(self):
        self.deliver("ivan", "ivan@implicit.test", "implicit mx")
        self.assertIn(("implicit.test", "MX"), self.dns.queries)
        self.assertIn(("implicit.test", "A"), self.dns.queries)

    def bounce_for(self, mailbox, rcpt, subject):
        """Submits to `rcpt`, which must fail; returns the DSN the sender's mailbox receives."""
        queue_id = submit(self.sender, f"{mailbox}@{SENDER_DOMAIN}", rcpt, subject)
        dsns = self.sender.maildir(mailbox, timeout=20)
        self.assertEqual(len(dsns), 1, f"no DSN for {rcpt}; sender log:\n{self.sender.server_log()}")
        fields, text = dsn_fields(dsns[0])
        self.assertIn("report-type=delivery-status", text)
        self.assertIn(f"Subject: Undeliverable: {subject}", text)
        self.assertEqual(fields["Final-Recipient"], f"rfc822; {rcpt}")
        self.assertEqual(fields["Action"], "failed")
        # Failed at once: removed from the queue after one attempt, nothing left to retry.
        harness.wait_for(f"{queue_id} to leave the queue", lambda: show_json(self.sender, queue_id) is None, timeout=10)
        return fields, text

    def test_null_mx_fails_at_once(self):
        start = time.time()
        fields, _ = self.bounce_for("nina", "nina@nullmx.test", "null mx")
        self.assertLess(time.time() - start, 15)
        self.assertEqual(fields["Status"], "5.1.10")  # RFC 7505 section 3
        self.assertIn("556 5.1.10", fields["Diagnostic-Code"])
        self.assertIn(("nullmx.test", "MX"), self.dns.queries)
        # No address lookup and no connection for a domain that says it takes no mail.
        self.assertNotIn(("nullmx.test", "A"), self.dns.queries)
        self.assertFalse([r for r in harness.send_log_records(self.sender) if "nullmx" in r.context + r.data])

    def test_nxdomain_fails_at_once(self):
        fields, _ = self.bounce_for("nora", "nora@nxdomain.test", "nxdomain")
        self.assertEqual(fields["Status"], "5.4.310")
        self.assertIn("550 5.4.310 DNS domain nxdomain.test does not exist", fields["Diagnostic-Code"])

    def test_servfail_defers(self):
        queue_id = submit(self.sender, f"sam@{SENDER_DOMAIN}", "sam@broken.test", "servfail")
        r = harness.wait_for("a deferred recipient", lambda: (lambda r: r if r and r["state"] == "deferred" else None)(
            recipient_state(self.sender, queue_id)))
        self.assertIn("DNS query failed", r["last_reply"])
        self.assertTrue(r["last_reply"].startswith("451 4.4.0"), r["last_reply"])
        self.assertGreaterEqual(r["attempts"], 1)
        self.assertEqual(r["next_hop"], "broken.test")
        # A temporary DNS failure is retried (retry_min 1s), never bounced.
        harness.wait_for("a second attempt", lambda: (recipient_state(self.sender, queue_id) or {}).get("attempts", 0) >= 2)
        self.assertEqual(self.sender.maildir("sam", timeout=0), [])
        p = harness.queue_cli(self.sender, "remove", queue_id)  # without --bounce: no DSN
        self.assertEqual(p.returncode, 0, p.stderr)
        time.sleep(1)
        self.assertEqual(self.sender.maildir("sam", timeout=0), [])


class QueueSurvivesRestart(unittest.TestCase):
    def setUp(self):
        self.dns = DnsServer(zone()).start()
        self.receiver = make_receiver()  # not started yet: the sender's connections are refused
        self.sender = make_sender(self.dns, self.receiver.port).start()

    def tearDown(self):
        self.sender.stop()
        self.receiver.stop()
        self.dns.stop()

    def test_deferred_mail_is_delivered_once_after_restart(self):
        queue_id = submit(self.sender, f"alice@{SENDER_DOMAIN}", "bob@dest.test", "survives restart")
        harness.wait_for("a deferred recipient", lambda: (lambda r: r if r and r["state"] == "deferred" else None)(
            recipient_state(self.sender, queue_id)))
        self.assertEqual(self.sender.stop(), 0)

        with open(os.path.join(self.sender.state, "queue", queue_id + ".json")) as f:
            envelope = json.load(f)
        self.assertTrue(os.path.exists(os.path.join(self.sender.state, "queue", queue_id + ".eml")))
        (r,) = envelope["recipients"]
        self.assertEqual(r["address"], "bob@dest.test")
        self.assertEqual(r["state"], "deferred")
        self.assertGreaterEqual(r["attempts"], 1)
        self.assertEqual(r["next_hop"], "dest.test")
        self.assertIn(f"127.0.0.1:{self.receiver.port}", r["last_reply"])
        attempts_before = r["attempts"]

        self.sender.start()
        self.assertIn("1 message(s) reloaded from the spool", self.sender.server_log())
        self.receiver.start()
        p = harness.queue_cli(self.sender, "retry", "--all")
        self.assertEqual(p.returncode, 0, p.stderr)

        got = self.receiver.maildir("bob", timeout=20)
        self.assertEqual(len(got), 1, self.sender.server_log())
        self.assertIn(b"Subject: survives restart", got[0])
        harness.wait_for("the message to leave the spool",
                         lambda: not os.path.exists(os.path.join(self.sender.state, "queue", queue_id + ".json")))
        time.sleep(3)  # longer than retry_max: a second delivery would have happened by now
        self.assertEqual(len(harness.delivered_files(self.receiver)), 1)
        self.assertEqual(harness.queued_envelopes(self.sender), [])
        self.assertEqual(self.sender.maildir("alice", timeout=0), [], "no DSN for a delivered message")
        self.assertGreaterEqual(attempts_before, 1)


class QueueViewerOnRunningGateway(unittest.TestCase):
    def setUp(self):
        self.dns = DnsServer(zone()).start()
        self.receiver = make_receiver()  # never started: deliveries to dest.test are refused
        self.sender = make_sender(self.dns, self.receiver.port).start()

    def tearDown(self):
        self.sender.stop()
        self.dns.stop()

    def list_json(self):
        p = harness.queue_cli(self.sender, "list", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def test_list_show_remove_with_bounce(self):
        queue_id = submit(self.sender, f"alice@{SENDER_DOMAIN}", "bob@dest.test", "queue viewer")

        # Retries come every second or two: wait for a moment when the hop is waiting, not active.
        def retry_row():
            out = self.list_json()
            rows = [h for h in out["hops"] if h["next_hop"] == "dest.test" and h["status"] == "Retry"]
            return (out, rows[0]) if rows else None
        out, row = harness.wait_for("a Retry row for dest.test", retry_row)
        self.assertEqual(out["source"], "gateway")
        self.assertEqual(row["messages"], 1)
        expected_error = (f'451 4.4.0 Primary target IP address responded with: "421 4.4.1 Unable to connect to '
                          f'127.0.0.1:{self.receiver.port}')
        self.assertTrue(row["last_error"].startswith(expected_error), row["last_error"])

        def text_row():
            p = harness.queue_cli(self.sender, "list")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr, "")  # the gateway answered: no fallback notice
            lines = p.stdout.splitlines()
            self.assertEqual(re.split(r" {2,}", lines[0].strip()),
                             ["NEXT HOP", "STATUS", "MESSAGES", "NEXT RETRY", "LAST ERROR"])
            rows = [re.split(r" {2,}", l.strip(), maxsplit=4) for l in lines[1:]]
            rows = [r for r in rows if r[0] == "dest.test" and r[1] == "Retry"]
            return rows[0] if rows else None
        cols = harness.wait_for("a Retry line for dest.test", text_row)
        self.assertEqual(cols[2], "1")
        self.assertTrue(cols[4].startswith(expected_error), cols)

        p = harness.queue_cli(self.sender, "show", queue_id)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"Message {queue_id}\n", p.stdout)
        self.assertIn("  <bob@dest.test>\n", p.stdout)
        m = re.search(r"State: +deferred, (\d+) attempts?\n", p.stdout)
        self.assertTrue(m, p.stdout)
        self.assertGreaterEqual(int(m.group(1)), 1)
        self.assertIn("Next hop:   dest.test\n", p.stdout)
        self.assertIn("Unable to connect to 127.0.0.1:", p.stdout)

        p = harness.queue_cli(self.sender, "remove", queue_id, "--bounce")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"Removed {queue_id}", p.stdout)

        dsns = self.sender.maildir("alice", timeout=20)
        self.assertEqual(len(dsns), 1, self.sender.server_log())
        fields, text = dsn_fields(dsns[0])
        self.assertEqual(fields["Final-Recipient"], "rfc822; bob@dest.test")
        self.assertEqual(fields["Action"], "failed")
        self.assertIn("removed from the queue by an administrator", fields["Diagnostic-Code"])
        self.assertIn("Unable to connect to 127.0.0.1:", fields["Diagnostic-Code"])
        self.assertIn("Subject: Undeliverable: queue viewer", text)

        def empty():
            p = harness.queue_cli(self.sender, "list")
            return p if p.returncode == 0 and p.stdout == "No queued messages.\n" else None
        harness.wait_for("an empty queue", empty, timeout=10)
        self.assertEqual(harness.queued_envelopes(self.sender), [])
        p = harness.queue_cli(self.sender, "show", queue_id)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"no message {queue_id} in the queue", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
