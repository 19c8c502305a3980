"""End-to-end: `sluice oauth-token` against a real HTTPS token endpoint on loopback (its own CA in
ca_file; tests/e2e/token_endpoint.py): a token with a client secret and with a client certificate
(the endpoint checks the signed assertion with openssl), Entra's invalid_client text, an endpoint
that is down, a CA that does not match, and a secret file others may read. The token and the
secret never reach the output."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import token_endpoint  # noqa: E402

CLIENT_ID = "4f2e1c3a-1111-2222-3333-444455556666"
SECRET = "Qx8~sluice.e2e-secret-value"


def run(*args, timeout=60):
    return subprocess.run([harness.SLUICE, *args], capture_output=True, text=True, timeout=timeout)


class OAuthTokenCommand(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sluice-oauth-token-")
        harness._made_dirs.append(cls.dir)
        cls.secret_file = harness.secret_file(cls.dir, "client-secret", SECRET)
        cls.client_cert, cls.client_key = token_endpoint.make_client_certificate(cls.dir)
        cls.endpoint = token_endpoint.TokenEndpoint(CLIENT_ID, secret=SECRET, client_certificate=cls.client_cert)

    @classmethod
    def tearDownClass(cls):
        cls.endpoint.stop()

    def config(self, **auth):
        settings = {"mechanism": "xoauth2", "token_endpoint": self.endpoint.url, "client_id": CLIENT_ID,
                    "username": "scanner@contoso.com", "ca_file": self.endpoint.ca_file}
        if "client_certificate" not in auth:
            settings["client_secret_file"] = self.secret_file
        settings.update(auth)
        path = tempfile.mkstemp(dir=self.dir, suffix=".toml")[1]
        with open(path, "w") as f:
            f.write(f'state_dir = "{self.dir}/state"\n\n[[send_connector]]\nname = "Exchange Online"\n'
                    'smart_hosts = ["[127.0.0.1]:2587"]\ntls = "required"\n\n'
                    + harness.toml_table("[send_connector.auth]", settings))
        return path

    def oauth_token(self, config):
        before = len(self.endpoint.requests)
        result = run("oauth-token", "-c", config, "--connector", "Exchange Online")
        output = result.stdout + result.stderr
        self.assertNotIn(SECRET, output)
        for token in self.endpoint.issued:
            self.assertNotIn(token, output)
        return result, self.endpoint.requests[before:]

    def test_token_with_a_client_secret(self):
        result, requests = self.oauth_token(self.config())
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(f"token endpoint {self.endpoint.url}\n", result.stdout)
        self.assertIn("scope          https://outlook.office365.com/.default\n", result.stdout)
        self.assertIn("token acquired, valid for 3599 s", result.stdout)
        self.assertIn("  aud    https://outlook.office365.com\n", result.stdout)
        self.assertIn("  roles  SMTP.SendAsApp\n", result.stdout)
        self.assertIn(f"  appid  {CLIENT_ID}\n", result.stdout)
        self.assertEqual(len(requests), 1)
        self.assertEqual(requests[0], {"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                       "scope": "https://outlook.office365.com/.default", "client_secret": SECRET})

    def test_token_with_a_client_certificate(self):
        result, requests = self.oauth_token(self.config(client_certificate=self.client_cert,
                                                        client_key=self.client_key))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("token acquired, valid for 3599 s", result.stdout)
        self.assertEqual(len(requests), 1)
        self.assertNotIn("client_secret", requests[0])
        self.assertIn("client_assertion", requests[0])
        self.assertNotIn(requests[0]["client_assertion"], result.stdout + result.stderr)

    def test_invalid_client_secret_says_so(self):
        wrong = harness.secret_file(self.dir, "wrong-secret", "not-the-secret")
        result, requests = self.oauth_token(self.config(client_secret_file=wrong))
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertEqual(len(requests), 1)
        self.assertIn(f"sluice oauth-token: token endpoint {self.endpoint.url}: invalid_client: AADSTS7000215: "
                      "Invalid client secret provided.", result.stderr)
        self.assertIn("Trace ID: 7f3e Correlation ID: 1a2b", result.stderr)  # one line
        self.assertNotIn("not-the-secret", result.stdout + result.stderr)

    def test_endpoint_down(self):
        url = f"https://127.0.0.1:{harness.free_port()}/contoso.onmicrosoft.com/oauth2/v2.0/token"
        result, _ = self.oauth_token(self.config(token_endpoint=url))
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertRegex(result.stderr, rf"token endpoint {url}: could not connect: .*Connection refused")

    def test_wrong_ca(self):
        other_ca, _, _ = token_endpoint.make_ca(self.dir, "other")
        result, requests = self.oauth_token(self.config(ca_file=other_ca))
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn(f"token endpoint {self.endpoint.url}: TLS certificate verify failed", result.stderr)
        self.assertEqual(requests, [])  # nothing was posted to a server it could not verify

    def test_secret_file_readable_by_others(self):
        loose = os.path.join(self.dir, "loose-secret")
        with open(loose, "w") as f:
            f.write(SECRET + "\n")
        os.chmod(loose, 0o644)
        result, requests = self.oauth_token(self.config(client_secret_file=loose))
        # Refused when the configuration is read (exit 2) or, failing that, by the token client (exit 1).
        self.assertIn(result.returncode, (1, 2), result.stdout)
        self.assertRegex(result.stderr, rf"client_secret_file.*{loose}.*mode 0644.*chmod")
        self.assertEqual(requests, [])


if __name__ == "__main__":
    unittest.main()
