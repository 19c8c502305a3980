"""The admin listener scraped by a real Prometheus (Debian's `prometheus`, its own configuration and
data directory in the test's folder, on loopback): after TLS 1.0-only clients that the connector
refuses, good TLS 1.2 and 1.3 sessions, and messages delivered locally and deferred for a remote
hop, PromQL queries through Prometheus's HTTP API return exactly what the test sent."""
import json
import os
import shutil
import subprocess
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import harness
from harness import run_s_client, run_swaks

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"  # the same package
SECLEVEL0 = ("-cipher", "DEFAULT@SECLEVEL=0")
LEGACY_CLIENTS = 3  # TLS 1.0-only clients, refused by the default profile
GOOD_SESSIONS = 2  # one TLS 1.2 handshake (s_client), one TLS 1.3 delivery (swaks)


def http_get(url, method="GET", timeout=5):
    """(status, body) of a request, 4xx/5xx included."""
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Prometheus:
    """A private Prometheus scraping `target` (an address, or a list of them) every second."""

    def __init__(self, directory, target):
        targets = [target] if isinstance(target, str) else list(target)
        self.dir = os.path.join(directory, "prometheus")
        os.makedirs(self.dir)
        self.port = harness.free_port()
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: sluice\n    static_configs:\n"
                    f"      - targets: {targets!r}\n")
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self):
        harness.wait_for("Prometheus to be ready", self.ready, timeout=30)

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited with {self.proc.returncode}: {self.output()}")
        try:
            return http_get(f"http://127.0.0.1:{self.port}/-/ready")[0] == 200
        except OSError:
            return False

    def output(self):
        with open(self.log.name) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def api(self, path, **params):
        status, body = http_get(f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}")
        answer = json.loads(body)
        if status != 200 or answer.get("status") != "success":
            raise AssertionError(f"{path} {params}: {status} {body}")
        return answer["data"]

    def query(self, promql):
        """The instant vector of `promql` as {labels-without-__name__: value}."""
        result = self.api("query", query=promql)["result"]
        return {tuple(sorted((k, v) for k, v in r["metric"].items() if k != "__name__")): float(r["value"][1])
                for r in result}

    def scalar(self, promql):
        """The single value of `promql`; None when it has no series."""
        values = list(self.query(promql).values())
        if len(values) > 1:
            raise AssertionError(f"{promql}: more than one series: {values}")
        return values[0] if values else None

    def scraped_after(self, moment):
        """True when the latest scrape of sluice began after `moment` (Unix time) and succeeded."""
        started = self.scalar('timestamp(up{job="sluice"})')
        return started is not None and started > moment and self.scalar('up{job="sluice"}') == 1


class PrometheusScrapeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(PROMETHEUS):
            raise unittest.SkipTest("prometheus is not installed (scripts/install-deps installs it)")
        cls.admin_port = harness.free_port()
        cls.sluice = harness.Sluice(
            [{"name": "Default", "relay_from": ["127.0.0.1"]}],
            extra=f'admin_listen = "127.0.0.1:{cls.admin_port}"\n' + harness.queue_table(retry_min="1h",
                                                                                          retry_max="2h"))
        cls.addClassCleanup(cls.sluice.stop)
        cls.sluice.start()
        harness.wait_for("the admin listener", lambda: f"admin listener (GET /metrics, /healthz) on 127.0.0.1:"
                         f"{cls.admin_port}" in cls.sluice.server_log())
        cls.prometheus = Prometheus(cls.sluice.dir, f"127.0.0.1:{cls.admin_port}")
        cls.addClassCleanup(cls.prometheus.stop)
        cls.prometheus.wait_ready()
        # A scrape before the traffic: the counters are there at 0, so that increase() sees the change.
        started = time.time()
        harness.wait_for("a scrape before the traffic", lambda: cls.prometheus.scraped_after(started))
        port = cls.sluice.port_of("Default")

        # The legacy clients: TLS 1.0 only, refused by the default profile (TLS 1.2 and 1.3).
        for _ in range(LEGACY_CLIENTS):
            result = run_s_client(port, "-tls1", *SECLEVEL0)
            assert not result.handshake, result.output
        result = run_s_client(port, "-tls1_2")
        assert result.protocol == "TLSv1.2", result.output
        # A delivery over TLS 1.3 to a local mailbox, and a message for a remote domain whose DNS does
        # not answer: deferred, it waits in the queue for its hop.
        for to in ("bob@sluice.test", "carol@remote.test"):
            p = run_swaks(port, "--tls", "--tls-protocol", "tlsv1_3", "--from", "alice@example.com", "--to", to)
            assert p.returncode == 0, p.stdout + p.stderr
        assert len(cls.sluice.maildir("bob", count=1)) == 1
        # Both outcomes are recorded when the queue holds only the deferred message (the local one
        # leaves the spool after its outcome is counted) and its envelope shows the attempt.
        harness.wait_for("the local delivery to leave the queue and the remote one to be deferred",
                         lambda: cls.only_a_deferred_message_queued())
        cls.traffic_done = time.time()
        harness.wait_for("a scrape after the traffic", lambda: cls.prometheus.scraped_after(cls.traffic_done))

    @classmethod
    def only_a_deferred_message_queued(cls):
        envelopes = harness.queued_envelopes(cls.sluice)
        if len(envelopes) != 1:
            return False
        with open(envelopes[0]) as f:
            return '"deferred"' in f.read()

    def test_the_scrape_is_valid_for_prometheus(self):
        targets = self.prometheus.api("targets")["activeTargets"]
        self.assertEqual(len(targets), 1)
        self.assertEqual((targets[0]["health"], targets[0]["lastError"]), ("up", ""))

    def test_promtool_finds_nothing_to_lint(self):
        status, text = http_get(f"http://127.0.0.1:{self.admin_port}/metrics")
        self.assertEqual(status, 200)
        self.assertIn('sluice_tls_handshakes_total{direction="inbound",connector="Default",version="TLS1_0",'
                      f'result="refused"}} {LEGACY_CLIENTS}\n', text)
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))

    def test_refused_tls10_handshakes_are_counted_exactly_with_the_version_offered(self):
        self.assertEqual(
            self.prometheus.query('sluice_tls_handshakes_total{direction="inbound",version="TLS1_0",result="refused"}'),
            {(("connector", "Default"), ("direction", "inbound"), ("instance", f"127.0.0.1:{self.admin_port}"),
              ("job", "sluice"), ("result", "refused"), ("version", "TLS1_0")): LEGACY_CLIENTS})
        # Counted once each: not also as failed, nor under another version.
        self.assertEqual(self.prometheus.scalar('sum(sluice_tls_handshakes_total{direction="inbound",result!="ok"})'),
                         LEGACY_CLIENTS)
        # The alert of docs/metrics.md fires on them.
        self.assertIsNotNone(self.prometheus.scalar(
            'sum(increase(sluice_tls_handshakes_total{direction="inbound",result="refused",'
            'version=~"TLS1_0|TLS1_1"}[1d])) > 0'))

    def test_good_handshakes_by_version(self):
        ok = self.prometheus.query('sum by (version) (sluice_tls_handshakes_total{direction="inbound",result="ok"})')
        # s_client's TLS 1.2, and swaks's two TLS 1.3 sessions.
        self.assertEqual(ok, {(("version", "TLS1_0"),): 0, (("version", "TLS1_1"),): 0, (("version", "TLS1_2"),): 1,
                              (("version", "TLS1_3"),): 2})

    def test_sessions_and_messages(self):
        self.assertEqual(self.prometheus.scalar('sluice_sessions_total{connector="Default"}'),
                         LEGACY_CLIENTS + 1 + 2)
        self.assertEqual(self.prometheus.scalar('sluice_sessions{connector="Default"}'), 0)
        self.assertEqual(self.prometheus.scalar('sluice_messages_received_total{connector="Default"}'), 2)
        self.assertEqual(self.prometheus.scalar('sluice_spool_write_seconds_count'), 2)
        self.assertIsNotNone(self.prometheus.scalar('histogram_quantile(0.5, sluice_spool_write_seconds_bucket)'))

    def test_delivery_outcomes_by_error_class(self):
        outcomes = self.prometheus.query("sum by (outcome, error_class) (sluice_deliveries_total)")
        # The remote hop's DNS does not answer: a connection-level failure, deferred to the retry.
        self.assertEqual(outcomes, {(("error_class", "none"), ("outcome", "delivered")): 1,
                                    (("error_class", "ConnectFailed"), ("outcome", "deferred")): 1})

    def test_queue_by_next_hop(self):
        self.assertEqual(self.prometheus.scalar("sluice_queue_messages"), 1)
        self.assertEqual(self.prometheus.query("sluice_queue_next_hop_messages"),
                         {(("instance", f"127.0.0.1:{self.admin_port}"), ("job", "sluice"),
                           ("next_hop", "remote.test")): 1})
        age = self.prometheus.scalar('sluice_queue_next_hop_oldest_message_age_seconds{next_hop="remote.test"}')
        self.assertIsNotNone(age)
        self.assertLess(age, time.time() - self.traffic_done + 60)

    def test_healthz_and_refusals(self):
        base = f"http://127.0.0.1:{self.admin_port}"
        self.assertEqual(http_get(base + "/healthz"), (200, "ok\n"))
        self.assertEqual(http_get(base + "/")[0], 404)
        self.assertEqual(http_get(base + "/metrics", method="POST")[0], 405)


class AdminListenTest(unittest.TestCase):
    def test_a_public_address_is_refused_without_admin_listen_public(self):
        sluice = harness.Sluice(extra='admin_listen = "0.0.0.0:9025"\n')
        p = subprocess.run([harness.SLUICE, "serve", "--config", sluice.config, "--check-config"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("admin_listen: 0.0.0.0:9025 is not a loopback address", p.stderr)
        self.assertIn("admin_listen_public = true", p.stderr)


if __name__ == "__main__":
    unittest.main()
