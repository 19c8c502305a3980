"""MTA-STS (RFC 8461) on the sending side, against real components on loopback: nginx (Debian's
nginx-light) as every policy host, with certificates from the test's own CA (given to sluice as
[mta_sts] ca_file, and its port as https_port); the test's DNS server for the MX, A and _mta-sts TXT
records; a private Postfix as the MX of every domain, with a certificate from the same CA naming
some of the MX hosts. sluice's send connector has tls = "mta-sts".

- enforce.test: enforce, MX listed, certificate good  -> delivered; the send log names the policy
- notlisted.test: enforce, MX not in the policy       -> deferred: the last error names the rule
- badcert.test: enforce, MX certificate lacks its name -> deferred: the last error says so
- testing.test: testing, the same bad certificate     -> delivered, the failure logged
- webpki.test: policy host's certificate names another host -> no policy (RFC 8461 5.1: delivered
  as without one), the send log says why (certificate verify failed)
- down.test: TXT record but nothing listens for its policy host -> delivered as without a policy
- redirect.test: the policy URL answers 301            -> not followed: as without a policy
- html.test: the policy served as text/html            -> invalid (RFC 8461 3.3): as without a policy
- big.test: a policy over 64 KiB                       -> invalid: as without a policy

PolicyCache: a fetched policy is kept in the state directory; with nginx stopped, sluice restarted
and the TXT id changed (a refresh is due but fails), the cached policy still applies: an MX outside
it is refused."""
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import nginx_site  # noqa: E402
import postfix_peer  # noqa: E402
from dns_server import DnsServer  # noqa: E402
from nginx_site import NginxSite  # noqa: E402
from pki import Pki  # noqa: E402
from postfix_peer import PostfixPeer  # noqa: E402

SENDER = "alice@sluice.test"
POLICY_PATH = ".well-known/mta-sts.txt"
# Nothing listens on 127.0.0.3 (all of 127/8 is loopback: a connection there is refused at once).
NOWHERE = "127.0.0.3"


def policy(mode, *mx, max_age=86400, line_end="\n"):
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {m}" for m in mx), f"max_age: {max_age}"]
    return line_end.join(lines) + line_end


def skip_reason():
    return postfix_peer.available() or nginx_site.available()


def mx_zone(domain, mx_host, txt_id="1", policy_host_address="127.0.0.1"):
    return {
        domain: {"MX": [(10, mx_host)]},
        mx_host: {"A": ["127.0.0.1"]},
        f"_mta-sts.{domain}": {"TXT": ["v=spf1 -all", f"v=STSv1; id={txt_id};"]},
        f"mta-sts.{domain}": {"A": [policy_host_address]},
    }


def submit(port, rcpt):
    return harness.submit_message(port, SENDER, rcpt, "mta-sts")


class Gateway:
    """What both classes share: the CA, the Postfix MX, nginx, DNS and the sending sluice."""

    def __init__(self, domains, mx_names):
        self.pki = Pki(prefix="mta-sts-pki-")
        self.ca = self.pki.ca("StsTestCA")
        cert, key = self.pki.leaf("mx", "StsTestCA", *mx_names)
        self.peer = PostfixPeer({"mydestination": ", ".join(domains), "smtpd_tls_security_level": "may",
                                 "smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key,
                                 "smtpd_tls_loglevel": "1"}, hostname=mx_names[0])
        self.web = NginxSite()
        self.dns = DnsServer({})
        self.sluice = None

    def start(self, zone):
        for name, records in zone.items():
            self.dns.set(name, records)
        self.dns.start()
        self.peer.start()
        self.web.start()
        self.sluice = harness.Sluice(hostname="gw.sluice.test", local_domains=("sluice.test",),
                                     extra=f'relay_from = ["127.0.0.0/8"]\ndns_servers = ["{self.dns.address}"]')
        harness.append_config(self.sluice, harness.queue_table() + f"""
[mta_sts]
ca_file = "{self.ca}"
https_port = {self.web.port}
connect_timeout = 2
fetch_timeout = 5
[[send_connector]]
name = "Internet"
address_spaces = ["*"]
port = {self.peer.port}
tls = "mta-sts"
ca_file = "{self.ca}"
""")
        self.sluice.start()

    def stop(self):
        if self.sluice:
            self.sluice.stop()
        self.web.stop()
        self.dns.stop()
        self.peer.cleanup()

    def wait_delivered(self, queue_id, domain):
        harness.wait_gone(self.sluice, queue_id)
        return self.peer.wait_for_log(rf"postfix/discard\[\d+\]: \w+: to=<user@{re.escape(domain)}>.*status=sent")

    def wait_deferred(self, queue_id):
        return harness.wait_deferred(self.sluice, queue_id)

    def sessions_for(self, domain):
        """The send sessions whose log names `domain` (its RCPT TO or its policy line)."""
        return harness.send_sessions_naming(self.sluice, f"@{domain}>", f"policy of {domain}")

    def fetches(self, domain):
        return [line for line in self.web.requests() if line.startswith(f"mta-sts.{domain} GET /{POLICY_PATH}")]


class MtaStsDelivery(unittest.TestCase):
    CTEST_SECONDS = 15

    DOMAINS = ("enforce.test", "notlisted.test", "badcert.test", "testing.test", "webpki.test", "down.test",
               "redirect.test", "html.test", "big.test")

    @classmethod
    def setUpClass(cls):
        reason = skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        # The MX certificate names every MX host but those of badcert.test and testing.test.
        g = cls.g = Gateway(cls.DOMAINS, ["mx.enforce.test", "mx.notlisted.test", "mx.webpki.test", "mx.down.test",
                                          "mx.redirect.test", "mx.html.test", "mx.big.test"])
        sts_cert, sts_key = g.pki.leaf("sts", "StsTestCA", *(f"mta-sts.{d}" for d in cls.DOMAINS if d != "webpki.test"))
        wrong_cert, wrong_key = g.pki.leaf("wrong", "StsTestCA", "www.webpki.test")
        policies = {
            "enforce.test": policy("enforce", "mx.enforce.test", "*.backup.enforce.test"),
            "notlisted.test": policy("enforce", "mail.notlisted.test"),
            "badcert.test": policy("enforce", "mx.badcert.test", line_end="\r\n"),
            "testing.test": policy("testing", "mx.testing.test"),
            "webpki.test": policy("enforce", "elsewhere.test"),
            "redirect.test": policy("enforce", "elsewhere.test"),
            "html.test": policy("enforce", "elsewhere.test"),
            # Valid but for its size: unknown keys are ignored, the 64 KiB limit is not.
            "big.test": policy("enforce", "elsewhere.test") + "padding: " + "x" * 70000 + "\n",
        }
        for domain, text in policies.items():
            cert, key = (wrong_cert, wrong_key) if domain == "webpki.test" else (sts_cert, sts_key)
            g.web.add_host(f"mta-sts.{domain}", cert, key, {POLICY_PATH: text},
                           content_type="text/html" if domain == "html.test" else "text/plain",
                           redirects=[POLICY_PATH] if domain == "redirect.test" else ())
        zone = {}
        for domain in cls.DOMAINS:
            zone.update(mx_zone(domain, f"mx.{domain}",
                                policy_host_address=NOWHERE if domain == "down.test" else "127.0.0.1"))
        g.start(zone)
        cls.ids = {domain: submit(g.sluice.port, f"user@{domain}") for domain in cls.DOMAINS}

    @classmethod
    def tearDownClass(cls):
        cls.g.stop()

    def test_enforce_with_a_good_certificate_delivers_and_logs_the_policy(self):
        self.g.wait_delivered(self.ids["enforce.test"], "enforce.test")
        session = self.g.sessions_for("enforce.test")[0]
        self.assertIn("TLS policy: verify (mta-sts, TLS 1.2 or later, names mx.enforce.test)", session)
        self.assertIn("MTA-STS policy of enforce.test (id 1, mode enforce, mx: mx.enforce.test, *.backup.enforce.test)",
                      session)
        self.assertIn("Validated received certificate", session)
        self.assertEqual(len(self.g.fetches("enforce.test")), 1, self.g.web.requests())

    def test_enforce_refuses_an_mx_outside_the_policy(self):
        r = self.g.wait_deferred(self.ids["notlisted.test"])
        self.assertIn("MX host mx.notlisted.test is not in the MTA-STS policy of notlisted.test "
                      "(mode enforce, mx: mail.notlisted.test): not sent", r["last_reply"])
        self.assertNotRegex(self.g.peer.log(), r"to=<user@notlisted\.test>")

    def test_enforce_refuses_a_certificate_without_the_mx_name(self):
        r = self.g.wait_deferred(self.ids["badcert.test"])
        self.assertIn("certificate of mx.badcert.test rejected", r["last_reply"])
        self.assertIn("hostname mismatch", r["last_reply"])
        self.assertIn("MTA-STS policy of badcert.test (id 1, mode enforce", r["tls_policy"])
        for session in self.g.sessions_for("badcert.test"):
            self.assertNotIn("RCPT TO", session, "never sent to an unauthenticated MX")

    def test_testing_mode_delivers_despite_the_failure_and_logs_it(self):
        self.g.wait_delivered(self.ids["testing.test"], "testing.test")
        session = self.g.sessions_for("testing.test")[0]
        self.assertIn("testing: failures are reported, not enforced", session)
        self.assertIn("MTA-STS policy of testing.test (id 1, mode testing", session)
        self.assertRegex(session, r"hostname mismatch|certificate .*(not|rejected|failed)")

    def test_policy_host_with_a_wrong_certificate_is_no_policy(self):
        self.g.wait_delivered(self.ids["webpki.test"], "webpki.test")
        session = self.g.sessions_for("webpki.test")[0]
        self.assertIn("MTA-STS policy of webpki.test unavailable", session)
        self.assertIn("TLS certificate verify failed", session)
        self.assertIn("delivered as without a policy (RFC 8461 5.1)", session)

    def test_policy_host_down_without_a_cache_is_no_policy(self):
        self.g.wait_delivered(self.ids["down.test"], "down.test")
        session = self.g.sessions_for("down.test")[0]
        self.assertIn("MTA-STS policy of down.test unavailable", session)
        self.assertIn("could not connect", session)

    def test_a_redirect_is_not_followed(self):
        self.g.wait_delivered(self.ids["redirect.test"], "redirect.test")
        session = self.g.sessions_for("redirect.test")[0]
        self.assertIn("answered HTTP 301 (a redirect, which RFC 8461 3.3 forbids)", session)
        self.assertEqual([line.split()[-1] for line in self.g.fetches("redirect.test")], ["301"])

    def test_a_policy_not_served_as_text_plain_is_invalid(self):
        self.g.wait_delivered(self.ids["html.test"], "html.test")
        session = self.g.sessions_for("html.test")[0]
        self.assertIn('Content-Type is "text/html", not text/plain', session)
        self.assertIn("delivered as without a policy (RFC 8461 5.1)", session)

    def test_a_policy_over_64_kib_is_invalid(self):
        self.g.wait_delivered(self.ids["big.test"], "big.test")
        session = self.g.sessions_for("big.test")[0]
        self.assertIn("answer larger than 64 KiB", session)
        self.assertIn("delivered as without a policy (RFC 8461 5.1)", session)


class PolicyCache(unittest.TestCase):
    CTEST_SECONDS = 12

    @classmethod
    def setUpClass(cls):
        reason = skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        g = cls.g = Gateway(("cached.test",), ["mx.cached.test", "other.cached.test"])
        cert, key = g.pki.leaf("sts", "StsTestCA", "mta-sts.cached.test")
        g.web.add_host("mta-sts.cached.test", cert, key, {POLICY_PATH: policy("enforce", "mx.cached.test")})
        zone = mx_zone("cached.test", "mx.cached.test")
        zone["other.cached.test"] = {"A": ["127.0.0.1"]}
        g.start(zone)

    @classmethod
    def tearDownClass(cls):
        cls.g.stop()

    def test_policy_outlives_a_restart_and_a_policy_host_that_is_down(self):
        g = self.g
        g.wait_delivered(submit(g.sluice.port, "user@cached.test"), "cached.test")
        self.assertIn("MTA-STS policy of cached.test (id 1, mode enforce, mx: mx.cached.test)",
                      g.sessions_for("cached.test")[0])
        cache_file = os.path.join(g.sluice.state, "mta-sts", "cached.test.json")
        with open(cache_file) as f:
            cached = json.load(f)
        self.assertEqual(cached["id"], "1")
        self.assertIn("mode: enforce", cached["policy"])

        # The policy host goes away, sluice restarts, the TXT id changes (a refresh is due and
        # fails) and the MX moves to a host outside the policy: the cached policy refuses it.
        g.web.stop()
        g.sluice.stop()
        g.dns.set("_mta-sts.cached.test", {"TXT": ["v=STSv1; id=2;"]})
        g.dns.set("cached.test", {"MX": [(10, "other.cached.test")]})
        g.sluice.start()
        r = g.wait_deferred(submit(g.sluice.port, "user@cached.test"))
        self.assertIn("MX host other.cached.test is not in the MTA-STS policy of cached.test "
                      "(mode enforce, mx: mx.cached.test): not sent", r["last_reply"])
        self.assertEqual(len(re.findall(r"to=<user@cached\.test>", g.peer.log())), 1)

        # Back on the listed MX: delivered under the cached policy, which the log says.
        g.dns.set("cached.test", {"MX": [(10, "mx.cached.test")]})
        g.wait_delivered(submit(g.sluice.port, "user@cached.test"), "cached.test")
        cached_sessions = [s for s in g.sessions_for("cached.test")
                           if "MTA-STS policy of cached.test (id 1, mode enforce, cached" in s]
        self.assertTrue(cached_sessions, g.sessions_for("cached.test"))
        self.assertRegex(cached_sessions[-1], r"kept from the cache: https://mta-sts\.cached\.test:\d+/"
                                              r"\.well-known/mta-sts\.txt: could not connect")


if __name__ == "__main__":
    unittest.main()
