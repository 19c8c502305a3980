"""TLS-RPT (RFC 8460) end to end: the real gateway counts its outbound TLS sessions and sends the
reports of each period to the rua of every domain's _smtp._tls TXT record.

Three destinations, each one message (retries an hour away: one session each):
- good.test      -> a private Postfix with STARTTLS and a certificate from the test's CA, policy
                    verify: a successful session
- plain.test     -> smtp-sink (no STARTTLS), policy encrypt: starttls-not-supported
- badcert.test   -> the same Postfix, policy verify with a name its certificate lacks:
                    certificate-host-mismatch

The test's DNS server publishes the MX records and the _smtp._tls records: good.test wants its
reports by mail and by HTTPS POST (a Python HTTPS server with the test CA's certificate), the
others by mail. The reporting period is 3 s ([tls_reporting] interval), so the reports come while
the test waits. The report mails are sluice's own queued mail to reports.test, whose MX is the
Postfix (over TLS, which would be counted were report sessions not left out), which relays them
to smtp-sink, where the test reads them. The JSON
of every report is checked against RFC 8460 4.4 (the schema check below) and its counts against
the sessions made. The report mails are DKIM-signed with a key made here, and verified at the sink
with dkimpy (python3-dkim) against the test's own public key record."""
import base64
import email
import email.policy
import gzip
import http.server
import json
import os
import re
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import postfix_peer  # noqa: E402
import smtp_sink  # noqa: E402
from dns_server import DnsServer  # noqa: E402
from postfix_peer import PostfixPeer  # noqa: E402
from pki import Pki  # noqa: E402

SENDER = "alice@sluice.test"
RESULT_TYPES = {"starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
                "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid", "dane-required",
                "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid"}
DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def schema_problems(r):
    """RFC 8460 4.4, field by field: the problems found in report `r` (empty when it conforms)."""
    problems = []

    def need(obj, key, types, where):
        if not isinstance(obj, dict) or key not in obj:
            problems.append(f"{where}{key} missing")
            return False
        value = obj[key]
        ok = isinstance(value, types) and not (types == int and (isinstance(value, bool) or value < 0))
        if not ok:
            problems.append(f"{where}{key} has the wrong type")
        return ok

    for key in ("organization-name", "contact-info", "report-id"):
        need(r, key, str, "")
    if need(r, "date-range", dict, ""):
        for key in ("start-datetime", "end-datetime"):
            if need(r["date-range"], key, str, "date-range.") and not DATE_TIME.match(r["date-range"][key]):
                problems.append(f"date-range.{key} is not a date-time")
    if not need(r, "policies", list, ""):
        return problems
    for p in r["policies"]:
        if need(p, "policy", dict, "policies[]."):
            pol = p["policy"]
            if need(pol, "policy-type", str, "policy.") and pol["policy-type"] not in ("sts", "tlsa",
                                                                                        "no-policy-found"):
                problems.append(f"policy-type {pol['policy-type']}")
            need(pol, "policy-domain", str, "policy.")
            for key in ("policy-string", "mx-host"):
                if key in pol and need(pol, key, list, "policy.") and not all(isinstance(s, str) for s in pol[key]):
                    problems.append(f"policy.{key} holds a non-string")
        if need(p, "summary", dict, "policies[]."):
            for key in ("total-successful-session-count", "total-failure-session-count"):
                need(p["summary"], key, int, "summary.")
        for f in p.get("failure-details", []):
            if need(f, "result-type", str, "failure-details[].") and f["result-type"] not in RESULT_TYPES:
                problems.append(f"result-type {f['result-type']}")
            need(f, "failed-session-count", int, "failure-details[].")
            for key in ("sending-mta-ip", "receiving-mx-hostname", "receiving-ip", "additional-information"):
                if key in f:
                    need(f, key, str, "failure-details[].")
    return problems


class ReportReceiver(http.server.BaseHTTPRequestHandler):
    """An https: rua: keeps every POST (content type and body)."""
    posts = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ReportReceiver.posts.append((self.headers.get("Content-Type"), body))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def import_dkim():
    """dkimpy, or None. Debian's python3-dkim lives in the system interpreter's dist-packages, which
    an interpreter of our own (pyenv) does not search: looked for there as well (pure Python)."""
    try:
        import dkim
        return dkim
    except ImportError:
        pass
    debian = "/usr/lib/python3/dist-packages"
    if not os.path.isdir(os.path.join(debian, "dkim")):
        return None
    sys.path.append(debian)
    try:
        import dkim
        return dkim
    except ImportError:
        return None


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def submit(port, rcpt):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.sendmail(SENDER, [rcpt], f"From: {SENDER}\r\nTo: {rcpt}\r\nSubject: tlsrpt\r\n\r\nhello\r\n")


class TlsReportingTest(unittest.TestCase):
    CTEST_SECONDS = 15

    @classmethod
    def setUpClass(cls):
        reason = postfix_peer.available() or smtp_sink.available()
        if reason:
            raise unittest.SkipTest(reason)
        cls.folder = tempfile.mkdtemp(prefix="tlsrpt-e2e-")
        os.chmod(cls.folder, 0o755)
        pki = Pki()
        cls.ca = pki.ca("TlsrptCA")
        cert, key = pki.leaf("mx", "TlsrptCA", "mx.pf.test")
        cls.sink = smtp_sink.PostfixSmtpSink().start()
        # Postfix takes the report mails over TLS (so that their sessions would be counted if
        # sluice did not leave them out) and relays them to the sink, where the test reads them.
        cls.peer = PostfixPeer({"mydestination": "good.test, badcert.test", "smtpd_tls_security_level": "may",
                                "smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key,
                                "relay_domains": "reports.test", "relayhost": f"[127.0.0.1]:{cls.sink.port}"},
                               hostname="mx.pf.test")
        cls.peer.start()
        ReportReceiver.posts = []
        cls.https = http.server.ThreadingHTTPServer(("127.0.0.1", harness.free_port()), ReportReceiver)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        cls.https.socket = context.wrap_socket(cls.https.socket, server_side=True)
        threading.Thread(target=cls.https.serve_forever, daemon=True).start()
        # The https: rua runs on the MX's host name: the one name the test certificate has.
        cls.rua_url = f"https://mx.pf.test:{cls.https.server_address[1]}/tlsrpt"
        # The report mails' DKIM key: a record the verifier is given directly (dnsfunc below).
        cls.dkim_key = os.path.join(cls.folder, "dkim.pem")
        subprocess.run(["openssl", "genrsa", "-out", cls.dkim_key, "2048"], check=True, capture_output=True)
        os.chmod(cls.dkim_key, 0o600)
        public = subprocess.run(["openssl", "rsa", "-in", cls.dkim_key, "-pubout", "-outform", "DER"], check=True,
                                capture_output=True).stdout
        cls.dkim_record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
        cls.dns = DnsServer({
            "mx.pf.test": {"A": ["127.0.0.1"]},
            "mx.sink.test": {"A": ["127.0.0.1"]},
            "good.test": {"MX": [(10, "mx.pf.test")]},
            "badcert.test": {"MX": [(10, "mx.pf.test")]},
            "plain.test": {"MX": [(10, "mx.sink.test")]},
            "reports.test": {"MX": [(10, "mx.pf.test")]},
            "_smtp._tls.reports.test": {"TXT": ["v=TLSRPTv1; rua=mailto:tlsrpt@reports.test"]},
            "_smtp._tls.good.test": {"TXT": [f"v=TLSRPTv1; rua=mailto:tlsrpt@reports.test,{cls.rua_url}"]},
            "_smtp._tls.plain.test": {"TXT": ["v=TLSRPTv1; rua=mailto:tlsrpt@reports.test"]},
            "_smtp._tls.badcert.test": {"TXT": [["v=TLSRPTv1;", " rua=mailto:tlsrpt@reports.test"]]},
        })
        cls.dns.start()
        cls.sluice = harness.Sluice(hostname="gw.sluice.test", local_domains=("sluice.test",),
                                    extra=f'relay_from = ["127.0.0.0/8"]\ndns_servers = ["{cls.dns.address}"]')
        harness.append_config(cls.sluice, harness.queue_table(retry_min="1h", retry_max="1h") + f"""
[tls_reporting]
enabled = true
organization = "Sluice E2E"
contact = "mailto:postmaster@sluice.test"
from = "tlsrpt-noreply@sluice.test"
interval = "3s"
ca_file = "{cls.ca}"
dkim_key = "{cls.dkim_key}"
dkim_selector = "rpt"

[[send_connector]]
name = "Postfix"
address_spaces = ["good.test", "badcert.test", "reports.test"]
port = {cls.peer.port}
tls = "opportunistic"
ca_file = "{cls.ca}"
[send_connector.tls_destinations]
"good.test" = {{ mode = "verify", match = ["mx.pf.test"] }}
"badcert.test" = {{ mode = "verify", match = ["other.pf.test"] }}

[[send_connector]]
name = "Sink"
address_spaces = ["plain.test"]
port = {cls.sink.port}
tls = "opportunistic"
[send_connector.tls_destinations]
"plain.test" = "encrypt"
""")
        cls.sluice.start()
        for domain in ("good.test", "plain.test", "badcert.test"):
            submit(cls.sluice.port, f"user@{domain}")

    @classmethod
    def tearDownClass(cls):
        cls.sluice.stop()
        cls.https.shutdown()
        cls.https.server_close()
        cls.dns.stop()
        cls.sink.stop()
        cls.peer.stop()
        cls.peer.cleanup()
        shutil.rmtree(cls.folder, ignore_errors=True)

    def report_mails(self, count):
        """The report mails at the sink once there are `count` (each: the parsed message)."""
        def reports():
            mails = [m for m in self.sink.dumps(0, 0) if m.get("TLS-Report-Domain")]
            return mails if len(mails) >= count else None
        return harness.wait_for(f"{count} report mails", reports, timeout=40)

    def reports_by_domain(self):
        """Every report mailed so far, decoded, by policy domain (a 3 s period may split a domain's
        sessions over two reports)."""
        out = {}
        for mail in self.report_mails(3):
            part = next(p for p in mail.walk() if p.get_content_type() == "application/tlsrpt+gzip")
            self.assertRegex(part.get_filename(), r"^gw\.sluice\.test!" + re.escape(mail["TLS-Report-Domain"]) +
                             r"!\d+!\d+!.+\.json\.gz$")
            self.assertEqual(mail["TLS-Report-Submitter"], "gw.sluice.test")
            self.assertIn('report-type="tlsrpt"', mail["Content-Type"])
            report = json.loads(gzip.decompress(part.get_payload(decode=True)))
            self.assertEqual(schema_problems(report), [], json.dumps(report, indent=2))
            self.assertIn(f"Report-ID: <{report['report-id']}>", " ".join(mail["Subject"].split()))
            out.setdefault(mail["TLS-Report-Domain"], []).append(report)
        return out

    @staticmethod
    def totals(reports):
        ok = failed = 0
        types = {}
        for r in reports:
            for p in r["policies"]:
                ok += p["summary"]["total-successful-session-count"]
                failed += p["summary"]["total-failure-session-count"]
                for f in p.get("failure-details", []):
                    types[f["result-type"]] = types.get(f["result-type"], 0) + f["failed-session-count"]
        return ok, failed, types

    def test_each_domain_gets_a_schema_valid_report_with_its_sessions(self):
        by_domain = self.reports_by_domain()
        self.assertEqual(set(by_domain), {"good.test", "plain.test", "badcert.test"})
        self.assertEqual(self.totals(by_domain["good.test"]), (1, 0, {}))
        self.assertEqual(self.totals(by_domain["plain.test"]), (0, 1, {"starttls-not-supported": 1}))
        self.assertEqual(self.totals(by_domain["badcert.test"]), (0, 1, {"certificate-host-mismatch": 1}))
        detail = by_domain["badcert.test"][0]["policies"][0]["failure-details"][0]
        self.assertEqual(detail["receiving-mx-hostname"], "mx.pf.test")
        self.assertEqual(detail["receiving-ip"], "127.0.0.1")
        self.assertEqual(by_domain["good.test"][0]["organization-name"], "Sluice E2E")
        self.assertEqual(by_domain["good.test"][0]["policies"][0]["policy"]["policy-type"], "no-policy-found")

    def test_the_https_rua_gets_the_same_report_by_post(self):
        harness.wait_for("a POST to the https rua", lambda: ReportReceiver.posts, timeout=40)
        content_type, body = ReportReceiver.posts[0]
        self.assertEqual(content_type, "application/tlsrpt+gzip")
        report = json.loads(gzip.decompress(body))
        self.assertEqual(schema_problems(report), [])
        self.assertEqual(report["policies"][0]["policy"]["policy-domain"], "good.test")
        mailed = [r["report-id"] for r in self.reports_by_domain()["good.test"]]
        self.assertIn(report["report-id"], mailed)

    def test_report_mails_are_not_reported_on(self):
        self.report_mails(3)
        # The sessions that delivered the reports to reports.test went over TLS, and reports.test
        # publishes a _smtp._tls record; still no report about reports.test comes, however long the
        # gateway runs (three more periods here): report sessions are not counted.
        sessions = harness.wait_for("the report sessions in the send log", lambda: [
            text for text in ("\n".join(",".join(r) for r in s) for s in harness.send_log_sessions(self.sluice).values())
            if "tlsrpt@reports.test" in text], timeout=20)
        self.assertIn("STARTTLS", sessions[0])
        self.assertFalse(harness.wait_until(
            lambda: [m for m in self.sink.dumps(0, 0) if m.get("TLS-Report-Domain") == "reports.test"], 10))

    def test_sluice_tlsrpt_summarises_the_mailed_reports(self):
        self.report_mails(3)
        files = [os.path.join(self.sink.dir, n) for n in sorted(os.listdir(self.sink.dir))]
        reports = [f for f in files if b"TLS-Report-Domain" in read_bytes(f)]
        p = subprocess.run([harness.SLUICE, "tlsrpt", "--json", *reports], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = {row["policy_domain"]: row for row in json.loads(p.stdout)}
        self.assertEqual(rows["plain.test"]["failures_by_type"], {"starttls-not-supported": 1})
        self.assertEqual(rows["badcert.test"]["failures_by_mx"], {"mx.pf.test": 1})
        self.assertEqual(rows["good.test"]["successful_sessions"], 1)
        bad = os.path.join(self.folder, "not-a-report.eml")
        with open(bad, "w") as f:
            f.write("Subject: hello\n\nnothing here\n")
        p = subprocess.run([harness.SLUICE, "tlsrpt", bad], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not-a-report.eml: no application/tlsrpt+gzip", p.stderr)

    def test_report_mails_carry_a_dkim_signature_that_verifies(self):
        dkim = import_dkim()
        if dkim is None:
            self.skipTest("python3-dkim (dkimpy) is not installed")

        def dns_txt(name, timeout=5):
            name = name.decode() if isinstance(name, bytes) else name
            return self.dkim_record if name.rstrip(".") == "rpt._domainkey.sluice.test" else None

        self.report_mails(3)
        # smtp-sink writes LF line ends (and an empty line after the message): back to the wire form.
        raw = [t.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for t in self.sink.messages(0, 0)
               if b"TLS-Report-Domain:" in t]
        self.assertGreaterEqual(len(raw), 3)
        for message in raw:
            signature = email.message_from_bytes(message, policy=email.policy.default)["DKIM-Signature"]
            self.assertIsNotNone(signature, message[:400])
            tags = dict(t.strip().split("=", 1) for t in "".join(signature.split()).split(";") if t.strip())
            self.assertEqual((tags["d"], tags["s"], tags["a"], tags["c"]),
                             ("sluice.test", "rpt", "rsa-sha256", "relaxed/relaxed"))
            self.assertTrue(dkim.verify(message, dnsfunc=dns_txt), message[:600])
            # The check can fail: a signed header changed on the way does not verify.
            tampered = message.replace(b"TLS-Report-Domain: ", b"TLS-Report-Domain: x", 1)
            self.assertFalse(dkim.verify(tampered, dnsfunc=dns_txt))


if __name__ == "__main__":
    unittest.main()
