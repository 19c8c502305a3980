"""The OAuth 2.0 servers on loopback of the XOAUTH2 tests. TokenEndpoint: HTTPS with its own CA (pass
`ca_file` to sluice), the client credentials grant of the Microsoft identity platform v2.0 with a
client secret or a client assertion (RFC 7523, checked with openssl against the client
certificate's public key and its x5t thumbprint), and Entra's error answers. It records each
request's form, and hands out JWT-shaped access tokens with the claims Exchange Online looks at.
Introspection: the RFC 7662 endpoint Dovecot's oauth2 passdb asks about those tokens
(dovecot_peer's oauth2 mode)."""
import base64
import hashlib
import http.server
import json
import os
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse

import harness

INVALID_SECRET = ("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the "
                  "client secret value, not the client secret ID, for a secret added to app '{}'.")


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_ca(folder, name):
    """A CA and a leaf for 127.0.0.1 it signed: returns (ca.pem, leaf.pem, leaf.key)."""
    ca, ca_key = os.path.join(folder, f"{name}-ca.pem"), os.path.join(folder, f"{name}-ca.key")
    leaf, key, csr = (os.path.join(folder, f"{name}-leaf.{x}") for x in ("pem", "key", "csr"))
    ext = os.path.join(folder, f"{name}-ext.cnf")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", f"/CN={name} CA", "-keyout", ca_key, "-out", ca)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", key, "-out", csr)
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
            "-extfile", ext, "-out", leaf)
    return ca, leaf, key


def make_client_certificate(folder):
    """The app registration's certificate (RSA, as Entra ID takes): returns (cert.pem, key.pem), key 0600."""
    cert, key = os.path.join(folder, "client.pem"), os.path.join(folder, "client.key")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sluice-app",
            "-keyout", key, "-out", cert)
    os.chmod(key, 0o600)
    return cert, key


class JsonServer:
    """An HTTP server on a free loopback port (HTTPS with an ssl `context`) answering each POST with
    JSON: `answer(path, form)` returns (status, value), `form` the request's form fields with their
    first value each."""

    def __init__(self, answer, content_type="application/json", context=None):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()}
                status, value = answer(self.path, form)
                body = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.port = harness.free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if context:
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class TokenEndpoint:
    """POST /<tenant>/oauth2/v2.0/token. Accepts `client_id` with `secret`, or with a client
    assertion signed by `client_certificate`'s key; anything else gets Entra's invalid_client."""

    def __init__(self, client_id, secret=None, client_certificate=None, lifetime=3599):
        self.dir = tempfile.mkdtemp(prefix="sluice-token-endpoint-")
        harness._made_dirs.append(self.dir)
        self.ca_file, leaf, key = make_ca(self.dir, "endpoint")
        self.client_id, self.secret, self.lifetime = client_id, secret, lifetime
        self.client_certificate = client_certificate
        self.requests = []  # the form of each request, as a dict of single values
        self.issued = []  # access tokens handed out
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(leaf, key)
        self.server = JsonServer(self.answer_recorded, "application/json; charset=utf-8", context)
        self.port = self.server.port
        self.url = f"https://127.0.0.1:{self.port}/contoso.onmicrosoft.com/oauth2/v2.0/token"

    def stop(self):
        self.server.stop()

    def answer_recorded(self, path, form):
        self.requests.append(form)
        return self.answer(path, form)

    def answer(self, path, form):
        if path != urllib.parse.urlparse(self.url).path:
            return 404, {"error": "invalid_request", "error_description": f"AADSTS900561: no endpoint {path}"}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003: grant_type"}
        if form.get("client_id") != self.client_id:
            return 400, {"error": "unauthorized_client",
                         "error_description": f"AADSTS700016: Application with identifier '{form.get('client_id')}' "
                                              "was not found in the directory 'contoso'."}
        problem = self.credential_problem(form)
        if problem:
            return 401, {"error": "invalid_client", "error_description": problem + "\r\nTrace ID: 7f3e\r\n"
                         "Correlation ID: 1a2b\r\nTimestamp: 2026-12-07 10:00:00Z", "error_codes": [7000215]}
        claims = {"aud": "https://outlook.office365.com", "roles": ["SMTP.SendAsApp"], "appid": self.client_id,
                  "tid": "9188040d-6c67-4c5b-b112-36a304b66dad", "iat": int(time.time()),
                  "exp": int(time.time()) + self.lifetime}
        token = ".".join([b64url(b'{"typ":"JWT","alg":"RS256"}'), b64url(json.dumps(claims).encode()),
                          b64url(os.urandom(32))])
        self.issued.append(token)
        return 200, {"token_type": "Bearer", "expires_in": self.lifetime, "ext_expires_in": self.lifetime,
                     "access_token": token}

    def credential_problem(self, form):
        if "client_secret" in form:
            return None if form["client_secret"] == self.secret else INVALID_SECRET.format(self.client_id)
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required."
        return self.assertion_problem(form.get("client_assertion", ""))

    def assertion_problem(self, assertion):
        """Entra's checks of a client assertion: its signature with the registered certificate's
        key, found by x5t, and the claims (aud the endpoint, iss and sub the app, not expired)."""
        if not self.client_certificate:
            return "AADSTS700027: no certificate registered"
        try:
            header_text, claims_text, signature = assertion.split(".")
            header, claims = json.loads(b64url_decode(header_text)), json.loads(b64url_decode(claims_text))
        except ValueError:
            return "AADSTS50027: JWT token is invalid or malformed."
        with open(self.client_certificate) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        if header.get("x5t") != b64url(hashlib.sha1(der).digest()):
            return "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered"
        if header.get("x5t#S256") != b64url(hashlib.sha256(der).digest()) or header.get("alg") != "RS256":
            return "AADSTS5002738: Invalid JWT header"
        now = time.time()
        if claims.get("aud") != self.url or claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
            return "AADSTS700021: Client assertion application identifier doesn't match"
        if not claims.get("nbf", now + 1) <= now + 60 < claims.get("exp", 0) + 60 or not claims.get("jti"):
            return "AADSTS700024: Client assertion is not within its valid time range."
        folder = tempfile.mkdtemp(dir=self.dir)
        paths = {n: os.path.join(folder, n) for n in ("input", "signature", "public.pem")}
        with open(paths["input"], "w") as f:
            f.write(f"{header_text}.{claims_text}")
        with open(paths["signature"], "wb") as f:
            f.write(b64url_decode(signature))
        subprocess.run(["openssl", "x509", "-in", self.client_certificate, "-pubkey", "-noout", "-out",
                        paths["public.pem"]], check=True, capture_output=True, timeout=30)
        verified = subprocess.run(["openssl", "dgst", "-sha256", "-verify", paths["public.pem"], "-signature",
                                   paths["signature"], paths["input"]], capture_output=True, timeout=30)
        return None if verified.returncode == 0 else "AADSTS7000274: Invalid signature on the client assertion"


class Introspection:
    """An RFC 7662 token introspection endpoint over HTTP on loopback, as Dovecot's oauth2 passdb
    asks it (introspection_mode = post: a form with `token`). `active` maps each token it knows to
    the user it was issued for, or `user_of(token)` says it (None: inactive); any other token is
    {"active": false}. `asked` lists the tokens it was asked about."""

    def __init__(self, user_of=None):
        self.active = {}
        self.user_of = user_of or self.active.get
        self.asked = []
        self.server = JsonServer(self.answer)
        self.url = f"http://127.0.0.1:{self.server.port}/introspect"

    def stop(self):
        self.server.stop()

    def answer(self, path, form):
        token = form.get("token", "")
        self.asked.append(token)
        user = self.user_of(token)
        return 200, {"active": "true", "username": user} if user else {"active": "false"}
