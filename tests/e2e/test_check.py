"""End-to-end: `sluice check` (and its alias `serve --check-config`) loads everything serve would,
changes nothing, prints the effective connectors with the TLS versions OpenSSL resolves for each,
and reports every problem it finds with exit status 2, not only the first."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from postfix_peer import make_certificate  # noqa: E402


def check(sluice, *args):
    return subprocess.run([harness.SLUICE, "check", "--config", sluice.config, *args], capture_output=True,
                          text=True, timeout=60)


def sha256_of(cert):
    out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", cert], capture_output=True,
                         text=True, check=True).stdout
    return out.strip().split("=", 1)[1]


class GoodConfiguration(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cert, cls.key = make_certificate("/CN=mx.check.test", "ec:" + cls.ec_params())
        cls.sluice = harness.Sluice(connectors=[
            {"name": "Internet", "tls": {"certificate": cls.cert, "key": cls.key}},
            {"name": "Printers", "remote_ranges": ["192.0.2.0/24"], "relay": "ranges",
             "relay_from": ["192.0.2.0/24"], "tls": {"profile": "legacy"}},
            {"name": "Behind HAProxy", "proxy_protocol": "v2", "proxy_from": ["198.51.100.7"], "relay": "ranges",
             "relay_from": ["203.0.113.0/24"], "accept_moved_mail": True, "starttls": False},
        ], extra='node_name = "gw-2"\n[[send_connector]]\nname = "Outbound"\nsmart_hosts = ["[relay.check.test]:2525"]\ntls = "required"\n')

    @classmethod
    def ec_params(cls):
        d = harness.tempfile.mkdtemp(prefix="check-ec-")
        harness._made_dirs.append(d)
        path = os.path.join(d, "p256.pem")
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-out", path], check=True, capture_output=True)
        return path

    def test_names_the_connectors_their_tls_and_changes_nothing(self):
        p = check(self.sluice)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        out = p.stdout
        self.assertIn('receive connector "Internet"', out)
        self.assertIn('receive connector "Printers"', out)
        self.assertIn('send connector "Outbound"', out)
        self.assertIn(f"127.0.0.1:{self.sluice.port_of('Internet')}", out)
        self.assertRegex(out, r'receive connector "Printers"\n(  .*\n)*  remote ranges +192\.0\.2\.0/24\n')
        self.assertRegex(out, r'receive connector "Printers"\n(  .*\n)*  relay +ranges 192\.0\.2\.0/24\n')
        self.assertRegex(out, r'receive connector "Printers"\n(  .*\n)*  proxy protocol +off \(clients connect directly\)\n')
        # Issue 19: a connector behind a load balancer and one that takes a moved queue say so.
        self.assertRegex(out, r'receive connector "Behind HAProxy"\n(  .*\n)*  proxy protocol +v2 header required from '
                              r'198\.51\.100\.7/32 within 5s; the client it names is the client\n')
        self.assertRegex(out, r'receive connector "Behind HAProxy"\n(  .*\n)*  moved mail +accepted \(XMOVE\)')
        self.assertNotRegex(out, r'receive connector "Printers"\n(  [^\n]*\n)*  moved mail')
        self.assertIn("node name        gw-2\n", out)
        # What OpenSSL resolves from the built contexts: the legacy profile reaches TLS 1.0, the
        # default one starts at 1.2; an ECDSA certificate leaves only ECDSA suites for TLS 1.2.
        self.assertRegex(out, r'receive connector "Internet"\n(  .*\n)*  tls versions +1\.2, 1\.3\n')
        self.assertRegex(out, r'receive connector "Printers"\n(  .*\n)*  tls versions +1\.0, 1\.1, 1\.2, 1\.3\n')
        self.assertRegex(out, r"tls 1\.3 suites +TLS_AES_256_GCM_SHA384")
        self.assertIn(f"SHA256 {sha256_of(self.cert)}", out)
        self.assertRegex(out, r'send connector "Outbound"\n(  .*\n)*  smart hosts +\[relay\.check\.test\]:2525\n')
        self.assertRegex(out, r'send connector "Outbound"\n(  .*\n)*  tls +required\n')
        # The Printers connector has no certificate: a start would make the self-signed pair; a check does not.
        self.assertIn(os.path.join(self.sluice.state, "tls", "ecdsa.crt"), out)
        self.assertIn("warning: receive connector \"Printers\" accepts TLS 1.0", out)
        self.assertFalse(os.path.exists(self.sluice.state), "a check must not create the state directory")

    def test_serve_check_config_is_the_same_check(self):
        p = subprocess.run([harness.SLUICE, "serve", "--config", self.sluice.config, "--check-config"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout, check(self.sluice).stdout)
        self.assertFalse(os.path.exists(self.sluice.state), "a check must not create the state directory")


class EveryProblemIsReported(unittest.TestCase):
    def assert_problems(self, p, sluice, *patterns):
        """Exit status 2, each pattern on stderr, as many problems counted, and nothing made."""
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        for pattern in patterns:
            self.assertRegex(p.stderr, pattern)
        self.assertIn(f"sluice: {len(patterns)} problem(s) found", p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertFalse(os.path.exists(sluice.state))

    def test_three_mistakes_in_the_file_are_three_lines(self):
        sluice = harness.Sluice(connectors=[{"name": "A", "max_auth_failure": 5}], hostname="two words",
                                limits="max_recipients = 0")
        self.addCleanup(sluice.remove)
        self.assert_problems(check(sluice), sluice, r"hostname: \"two words\" contains a space",
                             r"limits\.max_recipients: ",
                             r"receive_connector\[0\]: unknown key 'max_auth_failure'.*max_auth_failures")

    def test_three_files_that_do_not_load_are_three_lines(self):
        cert, _ = make_certificate("/CN=one.test")
        _, other_key = make_certificate("/CN=two.test")
        files = os.path.dirname(cert)
        sluice = harness.Sluice(connectors=[{"name": "Mismatched", "tls": {"certificate": cert, "key": other_key}}],
                                extra=f'users_file = "{files}/missing-users"')
        self.addCleanup(sluice.remove)
        recipients = os.path.join(files, "recipients")
        with open(recipients, "w") as f:
            f.write("alice@sluice.test\nnot an address at all\n")
        harness.append_config(sluice, f'[recipient_validation]\nrecipients_file = "{recipients}"\n')
        self.assert_problems(check(sluice), sluice, r'receive connector "Mismatched": TLS: ',
                             r"users_file: .*missing-users", rf"{re.escape(recipients)}: line 2")


if __name__ == "__main__":
    unittest.main()
