"""Policy lookups that are never answered: the mail waits, nothing is sent weaker than the policy
allows, and nothing is lost once DNS answers again (issue 18, "timeouts on every lookup").

The test's DNS server sets the AD bit (it is on loopback, so sluice trusts it: every answer is
"DNSSEC-validated"); the connector's mode is dane, the MX is smtp-sink (no STARTTLS):

- tlsa.test: the TLSA lookup of its MX host is dropped -> deferred (a secure MX whose TLSA lookup
  fails must not be used, RFC 7672 2.2), smtp-sink sees nothing;
- mx.test: the MX lookup is dropped -> deferred;
- sts.test (no TLSA records, so MTA-STS is asked): the _mta-sts TXT lookup is dropped -> no policy
  can be known, delivered as without one (RFC 8461 5.1).

Then the dropped names answer (no TLSA records, an MX): both deferred messages are delivered."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import smtp_sink  # noqa: E402
from dns_server import DnsServer  # noqa: E402

SENDER = "alice@sluice.test"


class PolicyLookupTimeouts(unittest.TestCase):
    CTEST_SECONDS = 25

    def setUp(self):
        reason = smtp_sink.available()
        if reason:
            self.skipTest(reason)
        self.sink = smtp_sink.PostfixSmtpSink().start()
        self.addCleanup(self.sink.stop)
        port = self.sink.port
        self.dns = DnsServer({
            "mx.sink.test": {"A": ["127.0.0.1"]},
            "tlsa.test": {"MX": [(10, "mx.tlsa.test")]},
            "mx.tlsa.test": {"A": ["127.0.0.1"]},
            f"_{port}._tcp.mx.tlsa.test": "DROP",
            "mx.test": "DROP",
            "sts.test": {"MX": [(10, "mx.sink.test")]},
            "_mta-sts.sts.test": "DROP",
        }, ad=True)
        self.dns.start()
        self.addCleanup(self.dns.stop)
        self.sluice = harness.Sluice(hostname="gw.sluice.test", local_domains=("sluice.test",),
                                     extra=f'relay_from = ["127.0.0.0/8"]\ndns_servers = ["{self.dns.address}"]\n'
                                           'dns_timeout = "2s"')
        harness.append_config(self.sluice, harness.queue_table() + f"""
[[send_connector]]
name = "Internet"
address_spaces = ["*"]
port = {port}
tls = "dane"
""")
        self.addCleanup(harness.stop_and_check, self.sluice)
        self.sluice.start()

    def test_unanswered_lookups_defer_and_the_mail_follows_once_dns_answers(self):
        ids = {d: harness.submit_message(self.sluice.port, SENDER, f"user@{d}", d) for d in ("tlsa.test", "mx.test",
                                                                                          "sts.test")}
        # The TXT lookup times out (no policy can be known): delivered as without a policy.
        harness.wait_gone(self.sluice, ids["sts.test"], timeout=40)
        sessions = harness.send_sessions_naming(self.sluice, "user@sts.test")
        self.assertTrue(sessions)
        self.assertIn("no MTA-STS policy for sts.test", sessions[0])

        tlsa = harness.wait_deferred(self.sluice, ids["tlsa.test"], timeout=40)
        self.assertIn("4.7.5", tlsa["last_reply"])
        self.assertIn("TLSA", tlsa["last_reply"])
        mx = harness.wait_deferred(self.sluice, ids["mx.test"], timeout=40)
        self.assertIn("DNS", mx["last_reply"])
        self.assertEqual(harness.send_sessions_naming(self.sluice, "user@tlsa.test", "user@mx.test"), [],
                         "no session may start while a secure TLSA lookup or the MX lookup is unanswered")
        self.assertEqual(len(self.sink.messages(count=1, timeout=5)), 1)

        # DNS answers again: no TLSA records, an MX. Both messages follow; nothing was lost.
        self.dns.set(f"_{self.sink.port}._tcp.mx.tlsa.test", {})
        self.dns.set("mx.test", {"MX": [(10, "mx.sink.test")]})
        harness.queue_cli(self.sluice, "retry", "--all", "--yes")
        harness.wait_gone(self.sluice, ids["tlsa.test"], timeout=40)
        harness.wait_gone(self.sluice, ids["mx.test"], timeout=40)
        dumps = self.sink.messages(count=3)
        self.assertEqual(len(dumps), 3)
        for domain in ("tlsa.test", "mx.test", "sts.test"):
            self.assertEqual(sum(f"user@{domain}".encode() in d for d in dumps), 1, domain)


if __name__ == "__main__":
    unittest.main()
