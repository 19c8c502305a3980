"""sluice authenticates to its smart host ([send_connector.auth]) against a real Dovecot submission
service (dovecot_peer), which relays what it accepts to Postfix's smtp-sink.

One gateway, three send connectors to the same Dovecot, chosen by recipient domain: AUTH PLAIN,
AUTH LOGIN, and AUTH PLAIN with a wrong password. The first two deliver (the sink gets the message,
Dovecot logs the login with that mechanism); the third is deferred with Dovecot's own 535 text in
`sluice queue list` and `queue show`, never bounced, and no password (nor its base64) is in the send
protocol log; a password file others may read stops the start. Then the XOAUTH2 peer: Dovecot's
oauth2 passdb asking an introspection server (token_endpoint.Introspection), checked with a hand-made AUTH XOAUTH2
(smtplib); and sluice's XOAUTH2 connector against it, its tokens from an HTTPS token endpoint on
loopback (token_endpoint.py, its own CA as ca_file): the first delivery fetches a token, the next
reuses it, a revoked token defers with Dovecot's 535 and the next try fetches a fresh one,
invalid_client defers with Entra's text, and an endpoint that is down defers (the token source
backing off) without bouncing anything."""
import base64
import json
import os
import re
import smtplib
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import dovecot_peer  # noqa: E402
import harness  # noqa: E402
import token_endpoint  # noqa: E402

PASSWORD = "Corr3ct-h0rse"
WRONG = "n0t-the-Passw0rd"
SENDER = "alice@sluice.test"


def auth_connector(name, domain, port, mechanism, password_path, user="scanner"):
    return harness.smart_host_connector(name, [domain], port, "required") + harness.toml_table(
        "[send_connector.auth]", {"mechanism": mechanism, "username": user, "password_file": password_path})


class SmtpAuthOutTest(unittest.TestCase):
    CTEST_SECONDS = 14  # its rough duration: ctest starts the longest first

    @classmethod
    def setUpClass(cls):
        dovecot_peer.start_for_class(cls, users={"scanner": PASSWORD})
        cls.sluice = harness.Sluice(extra='relay_from = ["127.0.0.0/8"]')
        good = harness.secret_file(cls.sluice.dir, "password", PASSWORD)
        harness.append_config(cls.sluice, harness.queue_table()
                              + auth_connector("Plain", "plain.test", cls.dovecot.port, "plain", good)
                              + auth_connector("Login", "login.test", cls.dovecot.port, "login", good))
        cls.sluice.start()
        cls.addClassCleanup(harness.stop_and_check, cls.sluice)

    def submit(self, recipient, subject, sluice=None):
        with smtplib.SMTP("127.0.0.1", (sluice or self.sluice).port, timeout=30) as s:
            s.ehlo("device.test")
            code, text = s.sendmail(SENDER, [recipient],
                                    f"From: {SENDER}\r\nTo: {recipient}\r\nSubject: {subject}\r\n\r\nhello\r\n"), None
        self.assertEqual(code, {})

    def sink_message_with(self, subject):
        found = harness.wait_until(
            lambda: next((m for m in self.sink.messages(count=0, timeout=0) if subject.encode() in m), None), 30)
        if not found:
            self.fail(f"the sink did not get {subject!r}; dovecot: {self.dovecot.log()}\n"
                      f"sluice: {self.sluice.server_log()}")
        return found

    def send_log_text(self, sluice=None):
        return "\n".join(",".join(r) if isinstance(r, (tuple, list)) else str(r)
                         for r in harness.send_log_records(sluice or self.sluice))

    def test_plain_delivers_through_dovecot(self):
        self.submit("user@plain.test", "via AUTH PLAIN")
        message = self.sink_message_with("via AUTH PLAIN")
        self.assertIn(b"user@plain.test", message)
        self.assertIsNotNone(self.dovecot.wait_for_log(r"Login: user=<scanner>, method=PLAIN, .*TLS"))
        log = self.send_log_text()
        self.assertIn("AUTH PLAIN ****", log)
        self.assertIn("Authenticated as scanner", log)

    def test_login_delivers_through_dovecot(self):
        self.submit("user@login.test", "via AUTH LOGIN")
        message = self.sink_message_with("via AUTH LOGIN")
        self.assertIn(b"user@login.test", message)
        self.assertIsNotNone(self.dovecot.wait_for_log(r"Login: user=<scanner>, method=LOGIN, .*TLS"))
        self.assertIn("334 VXNlcm5hbWU6", self.send_log_text())

    def test_a_password_file_others_can_read_stops_the_start(self):
        sluice = harness.Sluice()
        path = harness.secret_file(sluice.dir, "open-password", PASSWORD)
        os.chmod(path, 0o644)
        harness.append_config(sluice, auth_connector("Open", "open.test", self.dovecot.port, "plain", path))
        p = subprocess.run([harness.SLUICE, "serve", "--config", sluice.config, "--check-config"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn(f'send_connector[0].auth.password_file: "{path}" has mode 0644', p.stderr)
        self.assertNotIn(PASSWORD, p.stderr + p.stdout)

    def test_wrong_password_defers_with_dovecots_reply_and_logs_no_secret(self):
        # A gateway of its own: the failures back off the next hop, which is Dovecot's address for
        # the other connectors too.
        sluice = harness.Sluice(extra='relay_from = ["127.0.0.0/8"]')
        wrong = harness.secret_file(sluice.dir, "wrong-password", WRONG)
        harness.append_config(sluice, harness.queue_table()
                              + auth_connector("Wrong", "wrong.test", self.dovecot.port, "plain", wrong))
        sluice.start()
        self.addCleanup(harness.stop_and_check, sluice)
        self.submit("user@wrong.test", "wrong password", sluice)
        expected = f"451 4.7.0 Cannot authenticate to 127.0.0.1:{self.dovecot.port}: 535 5.7.8 Authentication failed."
        def listed_with_expected():
            p = harness.queue_cli(sluice, "list", "--messages")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            return p.stdout if expected in p.stdout else None
        listed = harness.wait_for(f"{expected!r} in sluice queue list", listed_with_expected)
        ids = re.findall(r"\b[0-9A-F]{16}\b", listed)
        self.assertEqual(len(ids), 1, listed)
        # Tried again after retry_min, still deferred, never bounced (lifetime is 48 hours).
        self.assertTrue(harness.wait_until(
            lambda: json.loads(harness.queue_cli(sluice, "show", ids[0], "--json").stdout)
            ["recipients"][0]["attempts"] >= 2, 20))
        shown = json.loads(harness.queue_cli(sluice, "show", ids[0], "--json").stdout)
        recipient = shown["recipients"][0]
        self.assertEqual(recipient["state"], "deferred", shown)
        self.assertIn(expected, json.dumps(recipient))
        self.assertEqual(harness.delivered_files(sluice), [])
        self.assertIsNotNone(self.dovecot.wait_for_log(r"passwd-file\(scanner,127\.0\.0\.1[^)]*\): Password mismatch"))
        self.assertFalse(any(b"wrong password" in m for m in self.sink.messages(count=0, timeout=0)))
        log = self.send_log_text(sluice)
        for secret in (WRONG, base64.b64encode(f"\0scanner\0{WRONG}".encode()).decode(),
                       base64.b64encode(WRONG.encode()).decode()):
            self.assertNotIn(secret, log)
        self.assertIn("AUTH PLAIN ****", log)
        self.assertIn("535 5.7.8 Authentication failed.", log)


def xoauth2(user, token):
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


class Xoauth2PeerTest(unittest.TestCase):
    """The XOAUTH2 smart host of the OAuth tests: Dovecot submission with the oauth2 passdb, checked
    with AUTH XOAUTH2 by hand."""

    @classmethod
    def setUpClass(cls):
        if dovecot_peer.available():
            raise unittest.SkipTest(dovecot_peer.available())
        cls.introspection = token_endpoint.Introspection()
        cls.addClassCleanup(cls.introspection.stop)
        dovecot_peer.start_for_class(cls, oauth2_introspection_url=cls.introspection.url)

    def session(self):
        s = smtplib.SMTP("127.0.0.1", self.dovecot.port, timeout=30)
        s.ehlo("client.test")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        s.starttls(context=context)
        s.ehlo("client.test")
        return s

    def test_an_active_token_authenticates_and_relays(self):
        self.introspection.active["tok-active-1"] = "app@contoso.test"
        with self.session() as s:
            self.assertIn("XOAUTH2", s.esmtp_features.get("auth", "").upper())
            code, text = s.docmd("AUTH", "XOAUTH2 " + xoauth2("app@contoso.test", "tok-active-1"))
            self.assertEqual(code, 235, text)
            s.sendmail("app@contoso.test", ["someone@remote.test"], "Subject: by token\r\n\r\nhello\r\n")
        self.assertIn("tok-active-1", self.introspection.asked)
        self.assertTrue(any(b"Subject: by token" in m for m in self.sink.messages(count=1)))
        self.assertIsNotNone(self.dovecot.wait_for_log(r"Login: user=<app@contoso\.test>, method=XOAUTH2"))

    def test_an_inactive_token_gets_a_json_error_then_535(self):
        with self.session() as s:
            code, text = s.docmd("AUTH", "XOAUTH2 " + xoauth2("app@contoso.test", "tok-revoked"))
            self.assertEqual(code, 334, text)
            error = json.loads(base64.b64decode(text))
            self.assertIn("status", error)
            code, text = s.docmd("")
            self.assertEqual(code, 535, text)
        self.assertIn("tok-revoked", self.introspection.asked)



CLIENT_ID = "6f1c2a9e-0000-4000-8000-00000000a99c"
CLIENT_SECRET = "app-secret~value"
MAILBOX = "app@contoso.test"


class Xoauth2Gateway:
    """sluice's XOAUTH2 connector end to end: tokens from an HTTPS token endpoint on loopback (its
    own CA as ca_file, token_endpoint.py), Dovecot checking each with the introspection server,
    which knows the tokens the endpoint issued and which of them were revoked. Each test class below
    has a gateway of its own, so that ctest runs them side by side: most of their time is waiting
    for retries and the token source's backoff."""

    @classmethod
    def start_gateway(cls):
        if dovecot_peer.available():
            raise unittest.SkipTest(dovecot_peer.available())
        cls.endpoint = token_endpoint.TokenEndpoint(CLIENT_ID, secret=CLIENT_SECRET)
        cls.addClassCleanup(cls.endpoint.stop)
        cls.revoked = set()
        cls.introspection = token_endpoint.Introspection(
            lambda token: MAILBOX if token in cls.endpoint.issued and token not in cls.revoked else None)
        cls.addClassCleanup(cls.introspection.stop)
        dovecot_peer.start_for_class(cls, oauth2_introspection_url=cls.introspection.url)
        cls.sluice = harness.Sluice(extra='relay_from = ["127.0.0.0/8"]')
        secret = harness.secret_file(cls.sluice.dir, "client.secret", CLIENT_SECRET)
        # Retries every 3 s: long enough to see each deferral in the queue, short enough to wait for.
        harness.append_config(
            cls.sluice, harness.queue_table(retry_min="3s", retry_max="3s", hop_backoff_max="3s")
            + harness.smart_host_connector("Exchange Online", ["*"], cls.dovecot.port, "required")
            + harness.toml_table("[send_connector.auth]", {
                "mechanism": "xoauth2", "username": MAILBOX, "token_endpoint": cls.endpoint.url,
                "client_id": CLIENT_ID, "client_secret_file": secret, "ca_file": cls.endpoint.ca_file}))
        cls.sluice.start()
        cls.addClassCleanup(harness.stop_and_check, cls.sluice)

    def submit(self, subject):
        with smtplib.SMTP("127.0.0.1", self.sluice.port, timeout=30) as s:
            s.ehlo("app.test")
            self.assertEqual(s.sendmail(SENDER, ["someone@remote.test"],
                                        f"From: {SENDER}\r\nSubject: {subject}\r\n\r\nhello\r\n"), {})

    def delivered(self, subject, timeout=30):
        ok = harness.wait_until(lambda: any(subject.encode() in m for m in self.sink.messages(count=0, timeout=0)),
                                timeout)
        queue = harness.queue_cli(self.sluice, "list", "--messages").stdout
        self.assertTrue(ok, f"{subject!r} not delivered; queue: {queue}"
                            f"\ndovecot: {self.dovecot.log()[-3000:]}")

    def deferred_with(self, text, timeout=20):
        """The `queue list --messages` output once a message is deferred with `text` in its last error."""
        listed = harness.wait_until(lambda: (lambda out: out if text in out else None)(
            harness.queue_cli(self.sluice, "list", "--messages").stdout), timeout)
        self.assertIn(text, listed or harness.queue_cli(self.sluice, "list", "--messages").stdout)
        return listed

    def send_log(self):
        return "\n".join(",".join(r) for r in harness.send_log_records(self.sluice))


class Xoauth2DeliveryTest(Xoauth2Gateway, unittest.TestCase):
    """In order: the token fetched by the first test is revoked by the second."""
    CTEST_SECONDS = 16  # its rough duration: ctest starts the longest first

    @classmethod
    def setUpClass(cls):
        cls.start_gateway()

    def test_1_the_first_delivery_fetches_a_token_and_later_ones_reuse_it(self):
        self.submit("xoauth2 first")
        self.delivered("xoauth2 first")
        self.assertEqual(len(self.endpoint.requests), 1)
        form = self.endpoint.requests[0]
        self.assertEqual((form["grant_type"], form["client_id"], form["client_secret"], form["scope"]),
                         ("client_credentials", CLIENT_ID, CLIENT_SECRET, "https://outlook.office365.com/.default"))
        self.submit("xoauth2 second")
        self.delivered("xoauth2 second")
        self.assertEqual(len(self.endpoint.requests), 1)
        self.assertEqual(self.introspection.asked.count(self.endpoint.issued[0]), 2)
        self.assertIsNotNone(self.dovecot.wait_for_log(r"Login: user=<app@contoso\.test>, method=XOAUTH2"))
        log = self.send_log()
        self.assertIn("AUTH XOAUTH2 ****", log)
        self.assertNotIn(self.endpoint.issued[0], log)
        self.assertNotIn(CLIENT_SECRET, log)

    def test_2_a_revoked_token_defers_with_dovecots_reply_then_a_fresh_one_delivers(self):
        self.revoked.update(self.endpoint.issued)
        requests = len(self.endpoint.requests)
        self.submit("xoauth2 after revocation")
        listed = self.deferred_with("Cannot authenticate to 127.0.0.1:")
        self.assertRegex(listed, r"535 5\.7\.8 Authentication failed\.? \(XOAUTH2 error: \{")
        self.delivered("xoauth2 after revocation")
        self.assertEqual(len(self.endpoint.requests), requests + 1)
        self.assertNotIn(self.endpoint.issued[-1], self.revoked)


class Xoauth2ShortLivedTokenTest(Xoauth2Gateway, unittest.TestCase):
    CTEST_SECONDS = 11  # its rough duration: ctest starts the longest first

    @classmethod
    def setUpClass(cls):
        cls.start_gateway()

    def test_a_token_close_to_expiry_is_refreshed_before_use(self):
        # The source refreshes a token with 15 minutes left (Exchange Online refuses tokens within 10
        # minutes of expiry), or, one that lives less than twice that, at half its life: a token of
        # 8 s is refreshed after 4 s, while Dovecot would still take it.
        self.endpoint.lifetime = 8
        self.addCleanup(setattr, self.endpoint, "lifetime", 3599)
        self.revoked.update(self.endpoint.issued)  # the cached 3599 s token goes; the next one is short
        self.submit("xoauth2 short-lived")
        self.delivered("xoauth2 short-lived")
        short = self.endpoint.issued[-1]
        requests = len(self.endpoint.requests)
        time.sleep(4.5)  # the token's own clock: nothing to wait on but time
        self.submit("xoauth2 after the margin")
        self.delivered("xoauth2 after the margin")
        # Still valid at Dovecot (not revoked), yet not used: a new token was fetched first.
        self.assertEqual(len(self.endpoint.requests), requests + 1)
        self.assertNotIn(short, self.revoked)
        self.assertEqual(self.introspection.asked.count(short), 1)


class Xoauth2InvalidClientTest(Xoauth2Gateway, unittest.TestCase):
    CTEST_SECONDS = 18  # its rough duration: ctest starts the longest first

    @classmethod
    def setUpClass(cls):
        cls.start_gateway()

    def test_invalid_client_defers_with_the_endpoints_text(self):
        self.endpoint.secret = "a-rotated-secret"  # the app's secret was replaced in Entra ID
        self.revoked.update(self.endpoint.issued)
        self.submit("xoauth2 invalid client")
        listed = self.deferred_with("AADSTS7000215: Invalid client secret provided.")
        self.assertIn("invalid_client", listed)
        self.assertNotIn(CLIENT_SECRET, listed)
        self.endpoint.secret = CLIENT_SECRET  # fixed: delivered after the source's backoff (10 s)
        self.delivered("xoauth2 invalid client", timeout=40)


class Xoauth2EndpointDownTest(Xoauth2Gateway, unittest.TestCase):
    CTEST_SECONDS = 10  # its rough duration: ctest starts the longest first

    @classmethod
    def setUpClass(cls):
        cls.start_gateway()

    def test_an_endpoint_that_is_down_defers_backs_off_and_bounces_nothing(self):
        self.revoked.update(self.endpoint.issued)
        self.endpoint.stop()
        self.submit("xoauth2 endpoint down")
        listed = self.deferred_with("no OAuth access token:")
        ids = re.findall(r"\b[0-9A-F]{16}\b", listed)
        self.assertEqual(len(ids), 1, listed)
        # Several attempts; the token source waits out its backoff between fetches meanwhile.
        self.assertTrue(harness.wait_until(
            lambda: json.loads(harness.queue_cli(self.sluice, "show", ids[0], "--json").stdout)
            ["recipients"][0]["attempts"] >= 3, 30))
        recipient = json.loads(harness.queue_cli(self.sluice, "show", ids[0], "--json").stdout)["recipients"][0]
        self.assertEqual(recipient["state"], "deferred")
        self.assertIn("next try in", self.deferred_with("next try in"))
        self.assertEqual(harness.delivered_files(self.sluice), [])  # no bounce to the (local) sender


if __name__ == "__main__":
    unittest.main()
