"""SMTP AUTH on receive connectors (docs/relay-for-devices.md), against real clients.

One sluice with four connectors: "Devices" (auth after STARTTLS, relay = "authenticated"),
"Legacy" (auth, TLS 1.0 allowed), "Printers" (auth in plaintext, loopback only, no STARTTLS) and
"Anonymous" (no auth). The users file holds SHA-512-crypt hashes made by `openssl passwd -6`:
scanner1 may send as *@sluice.test and not relay; app may send as app@sluice.test and *@partner.test
and relay.

Shown: swaks --auth PLAIN and --auth LOGIN over STARTTLS, Python smtplib login(), a TLS 1.0-only
client (Python ssl at SECLEVEL 0) on the legacy connector, Postfix with smtp_sasl_auth_enable
relaying into sluice; wrong passwords (535, the fail2ban line, 421 after max_auth_failures),
disallowed senders (550 5.7.1), plaintext AUTH refused on a normal connector (538) and absent on a
connector without auth (502); `sluice user add` and `remove` take effect while sluice runs; and no
password, in clear or base64, in the protocol log or sluice's own log."""
import base64
import email
import email.policy
import os
import re
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import time
import unittest
import warnings

import harness
import postfix_peer
from harness import Raw, RawFrom, run_swaks
from postfix_peer import PostfixPeer

USERS = {
    "scanner1": ("Scan-Pass-8f3e", "*@sluice.test", "relay=no"),
    "app": ("App-Secret-71c2", "app@sluice.test,*@partner.test", "relay=yes"),
}
# The filter documented in docs/relay-for-devices.md, "Authentication failures and fail2ban".
FAIL2BAN_REGEX = (r'^\S+ sluice\[\d+\]: warning: SMTP AUTH failed: client \[<HOST>\] connector "[^"]*" '
                  r'mechanism \S+ user "[^"]*"$')


def user_line(name, password, senders, options):
    return f"{name}:{harness.crypt_hash(password)}:{senders}:{options}\n"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def fail2ban_matches(log):
    """The client addresses of the lines fail2ban's failregex matches (<HOST> as fail2ban reads it)."""
    rx = re.compile(FAIL2BAN_REGEX.replace("<HOST>", r"(?P<host>[0-9a-fA-F.:]+)"))
    return [m.group("host") for m in map(rx.match, log.splitlines()) if m]


class SmtpAuthTest(unittest.TestCase):
    CTEST_SECONDS = 14  # its rough duration: ctest starts the longest first

    @classmethod
    def setUpClass(cls):
        cls.users_dir = tempfile.mkdtemp(prefix="sluice-users-")
        harness._made_dirs.append(cls.users_dir)
        cls.users_file = os.path.join(cls.users_dir, "users")
        with open(cls.users_file, "w") as f:
            f.write("# devices and applications\n")
            for name, (password, senders, options) in USERS.items():
                f.write(user_line(name, password, senders, options))
        os.chmod(cls.users_file, 0o600)
        cls.sluice = harness.Sluice(
            connectors=[
                {"name": "Devices", "auth": True, "relay": "authenticated"},
                {"name": "Legacy", "auth": True, "relay": "authenticated", "remote_ranges": ["127.0.0.0/8"],
                 "tls": {"profile": "legacy", "min_version": "1.0"}},
                {"name": "Printers", "auth": True, "allow_plaintext_auth": True, "starttls": False,
                 "remote_ranges": ["127.0.0.0/8"]},
                {"name": "Anonymous"},
            ],
            extra=f'users_file = "{cls.users_file}"')
        cls.sluice.start()

    @classmethod
    def tearDownClass(cls):
        cls.sluice.stop()

    def assert_no_secrets(self):
        """Neither log has any password, in clear or in the base64 forms PLAIN and LOGIN send."""
        text = "\n".join(self.sluice.protocol_log()) + self.sluice.server_log()
        for name, (password, _, _) in USERS.items():
            for secret in (password, b64(password), b64(f"\0{name}\0{password}"), b64(f"{name}\0{name}\0{password}")):
                self.assertNotIn(secret, text)
        self.assertNotIn("Wrong-Guess", text)
        self.assertNotIn(b64("Wrong-Guess"), text)

    def swaks(self, connector, user, mechanism, *args, sender=None, recipient="bob@sluice.test", password=None):
        password = password or USERS[user][0]
        return run_swaks(self.sluice.port_of(connector), "--tls", "--auth", mechanism, "--auth-user", user,
                         "--auth-password", password, "--from", sender or f"{user}-device@sluice.test",
                         "--to", recipient, "--ehlo", "device.test", *args)

    def delivered_with(self, mailbox, subject):
        """The delivered message to `mailbox` whose Subject is `subject`."""
        def found():
            for raw in self.sluice.maildir(mailbox, timeout=0):
                message = email.message_from_bytes(raw, policy=email.policy.default)
                if message["Subject"] == subject:
                    return message
            return None
        self.assertTrue(harness.wait_until(lambda: found() is not None), f"no message {subject!r} for {mailbox}")
        return found()

    def test_swaks_auth_plain_over_starttls(self):
        r = self.swaks("Devices", "scanner1", "PLAIN", "--header", "Subject: swaks plain")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("235 2.7.0 Authentication successful", r.stdout)
        message = self.delivered_with("bob", "swaks plain")
        received = message.get_all("Received")[0]
        self.assertIn("with ESMTPSA (version=TLS1_3", received)
        self.assertIn('(authenticated as "scanner1")', received)
        self.assertIn('(connector "Devices")', received)
        lines = self.sluice.protocol_log(wait_for="*,scanner1,authenticated")
        self.assertTrue(any(",<,AUTH PLAIN ****," in l for l in lines), lines)
        self.assert_no_secrets()

    def test_swaks_auth_login_relays_for_a_user_that_may(self):
        r = self.swaks("Devices", "app", "LOGIN", sender="alerts@partner.test", recipient="someone@remote.example")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("334 VXNlcm5hbWU6", r.stdout)
        self.assertIn("235 2.7.0 Authentication successful", r.stdout)
        self.assertIn("250 2.1.5 Recipient <someone@remote.example> OK", r.stdout)
        self.assertIn("250 2.6.0", r.stdout)
        lines = self.sluice.protocol_log(wait_for="*,app,authenticated")
        self.assertTrue(any(",<,AUTH LOGIN," in l for l in lines), lines)
        self.assert_no_secrets()

    def test_user_without_relay_reaches_accepted_domains_only(self):
        r = self.swaks("Devices", "scanner1", "LOGIN", recipient="someone@remote.example")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain", r.stdout)

    def test_disallowed_sender_is_refused(self):
        r = self.swaks("Devices", "scanner1", "PLAIN", sender="ceo@remote.example")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("235 2.7.0 Authentication successful", r.stdout)
        self.assertIn("550 5.7.1 Client does not have permissions to send as this sender", r.stdout)

    def test_smtplib_login(self):
        with smtplib.SMTP("127.0.0.1", self.sluice.port_of("Devices"), timeout=30) as s:
            s.starttls(context=harness.tls_client_context())
            s.ehlo("app.test")
            self.assertIn("auth", s.esmtp_features)
            self.assertEqual(s.esmtp_features["auth"].split(), ["PLAIN", "LOGIN"])
            code, text = s.login("app", USERS["app"][0])
            self.assertEqual((code, text), (235, b"2.7.0 Authentication successful"))
            s.sendmail("app@sluice.test", ["carol@sluice.test"], "Subject: smtplib login\r\n\r\nhello\r\n")
        self.assertIn('(authenticated as "app")', str(self.delivered_with("carol", "smtplib login")))
        self.assert_no_secrets()

    def test_tls10_client_authenticates_on_the_legacy_connector(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = harness.tls_client_context(minimum=ssl.TLSVersion.TLSv1, maximum=ssl.TLSVersion.TLSv1)
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        with smtplib.SMTP("127.0.0.1", self.sluice.port_of("Legacy"), timeout=30) as s:
            s.starttls(context=ctx)
            self.assertEqual(s.sock.version(), "TLSv1")
            s.ehlo("old-scanner.test")
            s.login("scanner1", USERS["scanner1"][0])
            s.sendmail("scan@sluice.test", ["dave@sluice.test"], "Subject: tls10 scan\r\n\r\npage\r\n")
        received = self.delivered_with("dave", "tls10 scan").get_all("Received")[0]
        self.assertIn("with ESMTPSA (version=TLS1_0", received)
        self.assert_no_secrets()

    def test_plaintext_auth_refused_on_a_normal_connector(self):
        r = Raw(self.sluice.port_of("Devices"))
        r.reply()
        code, text = r.cmd("EHLO device.test")
        self.assertNotIn("AUTH", text)
        self.assertEqual(r.cmd("AUTH PLAIN " + b64("\0app\0" + USERS["app"][0])),
                         (538, "538 5.7.11 Encryption required for requested authentication mechanism"))
        self.assertEqual(r.cmd("AUTH LOGIN")[0], 538)
        r.close()
        r = Raw(self.sluice.port_of("Anonymous"))
        r.reply()
        self.assertNotIn("AUTH", r.cmd("EHLO device.test")[1])
        self.assertEqual(r.cmd("AUTH LOGIN"), (502, "502 5.5.1 AUTH not available on this connector"))
        r.close()
        # swaks insists on AUTH and gives up without it.
        r = run_swaks(self.sluice.port_of("Devices"), "--auth", "PLAIN", "--auth-user", "app", "--auth-password",
                      USERS["app"][0], "--to", "bob@sluice.test")
        self.assertNotEqual(r.returncode, 0)
        self.assert_no_secrets()

    def test_plaintext_auth_where_allowed_and_the_startup_warning(self):
        self.assertIn('warning: receive connector "Printers" accepts AUTH without TLS (allow_plaintext_auth)',
                      self.sluice.server_log())
        r = Raw(self.sluice.port_of("Printers"))
        r.reply()
        self.assertIn("AUTH PLAIN LOGIN", r.cmd("EHLO printer.test")[1])
        self.assertEqual(r.cmd("AUTH LOGIN"), (334, "334 VXNlcm5hbWU6"))
        self.assertEqual(r.cmd(b64("scanner1")), (334, "334 UGFzc3dvcmQ6"))
        self.assertEqual(r.cmd(b64(USERS["scanner1"][0])), (235, "235 2.7.0 Authentication successful"))
        self.assertEqual(r.cmd("MAIL FROM:<printer@sluice.test>")[0], 250)
        r.close()
        self.assert_no_secrets()

    def test_wrong_passwords_535_then_421_and_a_fail2ban_line_each(self):
        r = RawFrom(self.sluice.port_of("Devices"), "127.0.0.7")
        r.reply()
        r.cmd("EHLO guesser.test")
        r.cmd("STARTTLS")
        r.sock = harness.tls_client_context().wrap_socket(r.sock)
        r.cmd("EHLO guesser.test")
        started = time.monotonic()
        self.assertEqual(r.cmd("AUTH PLAIN " + b64("\0app\0Wrong-Guess")),
                         (535, "535 5.7.8 Authentication credentials invalid"))
        first = time.monotonic() - started
        self.assertEqual(r.cmd("AUTH LOGIN"), (334, "334 VXNlcm5hbWU6"))
        self.assertEqual(r.cmd(b64("nosuchuser")), (334, "334 UGFzc3dvcmQ6"))
        started = time.monotonic()
        self.assertEqual(r.cmd(b64("Wrong-Guess"))[0], 535)
        second = time.monotonic() - started
        self.assertLess(first, 0.9)
        self.assertGreaterEqual(second, 1.0)  # the address's second failure waits a second
        self.assertEqual(r.cmd("AUTH PLAIN " + b64("\0scanner1\0Wrong-Guess"))[0], 535)
        self.assertEqual(r.reply(), (421, "421 4.7.0 mx.sluice.test Too many authentication failures, "
                                          "closing connection"))
        self.assertTrue(r.closed())
        r.close()
        log = self.sluice.server_log()
        self.assertEqual([h for h in fail2ban_matches(log)].count("127.0.0.7"), 3, log)
        self.assertIn('SMTP AUTH failed: client [127.0.0.7] connector "Devices" mechanism LOGIN user "nosuchuser"',
                      log)
        # swaks with a wrong password, from another address: refused the same way.
        r = self.swaks("Devices", "app", "PLAIN", "--local-interface", "127.0.0.8", password="Wrong-Guess")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("535 5.7.8 Authentication credentials invalid", r.stdout)
        self.assertIn("127.0.0.8", fail2ban_matches(self.sluice.server_log()))
        self.assert_no_secrets()

    def test_sluice_user_add_and_remove_take_effect_without_a_restart(self):
        def user_cli(*args, password=None):
            r = subprocess.run([harness.SLUICE, "user", *args, "-c", self.sluice.config], input=password,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        def logs_in():
            with smtplib.SMTP("127.0.0.1", self.sluice.port_of("Devices"), timeout=30) as s:
                s.starttls(context=harness.tls_client_context())
                try:
                    s.login("newcomer", "Fresh-Pass-5d")
                    return True
                except smtplib.SMTPAuthenticationError:
                    return False

        self.assertFalse(logs_in())
        user_cli("add", "newcomer", "--sender", "*@sluice.test", "--no-relay", "--password-stdin",
                 password="Fresh-Pass-5d\n")
        # The file is looked at once a second at most.
        self.assertTrue(harness.wait_until(logs_in, timeout=10))
        self.assertRegex(self.sluice.server_log(), r"users file \S+ reloaded: 3 users")
        user_cli("remove", "newcomer")
        self.assertTrue(harness.wait_until(lambda: not logs_in(), timeout=10))
        # The other users were kept through both rewrites of the file.
        with smtplib.SMTP("127.0.0.1", self.sluice.port_of("Devices"), timeout=30) as s:
            s.starttls(context=harness.tls_client_context())
            self.assertEqual(s.login("app", USERS["app"][0])[0], 235)

    def test_postfix_relays_into_sluice_with_sasl(self):
        reason = postfix_peer.available()
        if reason:
            self.skipTest(reason)
        tables = tempfile.mkdtemp(prefix="postfix-sasl-")
        harness._made_dirs.append(tables)
        os.chmod(tables, 0o755)
        passwords = os.path.join(tables, "sasl_passwd")
        port = self.sluice.port_of("Devices")
        with open(passwords, "w") as f:
            f.write(f"[127.0.0.1]:{port} app:{USERS['app'][0]}\n")
        os.chmod(passwords, 0o644)
        peer = PostfixPeer({
            "relayhost": f"[127.0.0.1]:{port}",
            "smtp_sasl_auth_enable": "yes",
            "smtp_sasl_password_maps": f"texthash:{passwords}",
            # PLAIN and LOGIN are plaintext mechanisms to Cyrus SASL: allowed, inside TLS only.
            "smtp_sasl_security_options": "noanonymous, noplaintext",
            "smtp_sasl_tls_security_options": "noanonymous",
            "smtp_tls_security_level": "encrypt",
            "smtp_tls_loglevel": "1",
        }, hostname="app-server.test")
        try:
            peer.start()
            with smtplib.SMTP("127.0.0.1", peer.port, timeout=30) as s:
                s.sendmail("alerts@partner.test", ["ops@remote.example", "erin@sluice.test"],
                           "Subject: via postfix sasl\r\n\r\nfrom the application server\r\n")
            peer.wait_for_log(r"status=sent \(250 2\.6\.0 ")
        except BaseException:
            print(peer.log())
            raise
        finally:
            peer.cleanup()
        received = self.delivered_with("erin", "via postfix sasl").get_all("Received")[0]
        self.assertIn('(authenticated as "app")', received)
        self.assertIn("from app-server.test", received)
        lines = self.sluice.protocol_log()
        self.assertTrue(any(",<,RCPT TO:<ops@remote.example>" in l for l in lines))
        self.assertTrue(any(",>,250 2.1.5 Recipient <ops@remote.example> OK" in l for l in lines))
        self.assert_no_secrets()


if __name__ == "__main__":
    unittest.main()
