"""Fleet-wide views over two real gateways on loopback (mx1 and mx2, each its own state directory):
clients from different loopback addresses try TLS 1.0 and 1.1 (refused by the default profile) and
send mail over TLS 1.2 and 1.3 for remote domains whose DNS does not answer, so that both queues
hold deferred mail. Then one `sluice queue list` over both state directories (and over a fleet file
whose nodes are a state directory and a command), one `sluice logscan` over both nodes' protocol
logs, and a real Prometheus scraping both admin listeners answer with what the test sent, each
naming the node of every peer, message and series."""
import collections
import csv
import io
import json
import os
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import time
import unittest
import warnings

import harness
from test_metrics import PROMETHEUS, Prometheus

SLUICE = harness.SLUICE
# What each node gets: refused legacy handshakes by client address and version, and the mail
# (client address, TLS version, recipient) it queues.
LEGACY = {"mx1": [("127.0.0.2", "TLS1_0"), ("127.0.0.2", "TLS1_0")], "mx2": [("127.0.0.3", "TLS1_1")]}
MAIL = {"mx1": [("127.0.0.4", "TLS1_2", "carol@remote.test")],
        "mx2": [("127.0.0.4", "TLS1_2", "dave@remote.test"), ("127.0.0.5", "TLS1_3", "erin@other.test")]}
VERSIONS = {"TLS1_0": ssl.TLSVersion.TLSv1, "TLS1_1": ssl.TLSVersion.TLSv1_1, "TLS1_2": ssl.TLSVersion.TLSv1_2,
            "TLS1_3": ssl.TLSVersion.TLSv1_3}


def tls_session(port, source, version, recipient=None):
    """An SMTP session from `source` that asks for STARTTLS with exactly `version`; sends one
    message to `recipient` when given. True when the handshake succeeded."""
    with warnings.catch_warnings():  # Python deprecates TLS 1.0/1.1, which is the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        context = harness.tls_client_context(VERSIONS[version], VERSIONS[version])
    context.set_ciphers("DEFAULT@SECLEVEL=0")  # the client may offer TLS 1.0/1.1 (the server refuses)
    with smtplib.SMTP("127.0.0.1", port, source_address=(source, 0), timeout=15) as smtp:
        smtp.ehlo(f"client-{source}")
        try:
            smtp.starttls(context=context)
        except (ssl.SSLError, smtplib.SMTPServerDisconnected, ConnectionError):
            return False
        smtp.ehlo(f"client-{source}")
        if recipient:
            smtp.sendmail("alice@example.org", [recipient], b"Subject: fleet\r\n\r\nhello\r\n")
        return True


def run(*args, timeout=60):
    return subprocess.run([SLUICE, *args], capture_output=True, text=True, timeout=timeout)


class FleetViewsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sluice-fleet-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.nodes, cls.admin = {}, {}
        for name in ("mx1", "mx2"):
            cls.admin[name] = harness.free_port()
            node = harness.Sluice([{"name": "Default", "relay_from": ["127.0.0.0/8"]}],
                                  extra=f'admin_listen = "127.0.0.1:{cls.admin[name]}"\nnode_name = "{name}"\n' +
                                  harness.queue_table(retry_min="1h", retry_max="2h"))
            cls.addClassCleanup(node.stop)
            node.start()
            cls.nodes[name] = node
        cls.prometheus = None
        if os.path.exists(PROMETHEUS):
            cls.prometheus = Prometheus(cls.dir, [f"127.0.0.1:{port}" for port in cls.admin.values()])
            cls.addClassCleanup(cls.prometheus.stop)
            cls.prometheus.wait_ready()
            started = time.time()
            harness.wait_for("a scrape of both nodes before the traffic", lambda: cls.both_scraped_after(started))

        for name, node in cls.nodes.items():
            for source, version in LEGACY[name]:
                assert not tls_session(node.port, source, version), f"{name} took {version} from {source}"
            for source, version, recipient in MAIL[name]:
                assert tls_session(node.port, source, version, recipient), f"{name}: {version} from {source}"
        for name, node in cls.nodes.items():
            harness.wait_for(f"{name}'s mail to be deferred", lambda node=node, name=name: cls.deferred(node) == len(
                MAIL[name]))
            # The protocol log has every session, the last one ended.
            harness.wait_for(f"{name}'s protocol log", lambda node=node, name=name: sum(
                1 for line in node.protocol_log() if ",-," in line) >= len(LEGACY[name]) + len(MAIL[name]))
        cls.traffic_done = time.time()
        if cls.prometheus:
            harness.wait_for("a scrape of both nodes after the traffic",
                             lambda: cls.both_scraped_after(cls.traffic_done))

    @classmethod
    def both_scraped_after(cls, moment):
        scrapes = cls.prometheus.query(f'timestamp(up{{job="sluice"}}) > {moment} and up{{job="sluice"}} == 1')
        return len(scrapes) == 2

    @classmethod
    def deferred(cls, node):
        """Messages of `node` whose recipients all wait in Retry after an attempt."""
        p = harness.queue_cli(node, "list", "--messages", "--json")
        rows = json.loads(p.stdout)["messages"] if p.returncode == 0 else []
        return sum(1 for m in rows if m["status"] == "Retry" and all(r["attempts"] >= 1 for r in m["recipients"]))

    def node_hops(self, name):
        p = harness.queue_cli(self.nodes[name], "list", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        return {h["next_hop"]: h for h in json.loads(p.stdout)["hops"]}

    # ---- sluice queue list over the fleet ----

    def test_queue_list_over_both_state_dirs_merges_by_next_hop(self):
        p = run("queue", "list", "--json", "--state-dir", self.nodes["mx1"].state, "--state-dir",
                self.nodes["mx2"].state)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertTrue(out["fleet"])
        # Both directories end in "state": each node is named by as much of its path as tells them apart.
        names = [n["node"] for n in out["nodes"]]
        self.assertEqual(names, [os.path.basename(self.nodes[n].dir) + "/state" for n in ("mx1", "mx2")])
        self.assertEqual([n["source"] for n in out["nodes"]], ["gateway", "gateway"])
        hops = {h["next_hop"]: h for h in out["hops"]}
        self.assertEqual(sorted(hops), ["other.test", "remote.test"])
        mx1, mx2 = names
        self.assertEqual((hops["remote.test"]["messages"], hops["remote.test"]["nodes"]), (2, {mx1: 1, mx2: 1}))
        self.assertEqual((hops["other.test"]["messages"], hops["other.test"]["nodes"]), (1, {mx2: 1}))
        # Status, oldest, next retry and last error: what the nodes' own lists say, merged.
        alone = {name: self.node_hops(name) for name in ("mx1", "mx2")}
        remote = hops["remote.test"]
        self.assertEqual(remote["status"], "Retry")
        self.assertEqual(remote["next_retry"],
                         min(alone["mx1"]["remote.test"]["next_retry"], alone["mx2"]["remote.test"]["next_retry"]))
        self.assertEqual(remote["oldest"],
                         min(alone["mx1"]["remote.test"]["oldest"], alone["mx2"]["remote.test"]["oldest"]))
        latest = max(("mx1", "mx2"), key=lambda n: alone[n]["remote.test"]["last_error_at"])
        self.assertEqual((remote["last_error"], remote["last_error_node"]),
                         (alone[latest]["remote.test"]["last_error"], dict(mx1=mx1, mx2=mx2)[latest]))
        self.assertNotEqual(remote["last_error"], "")

    def fleet_file(self, *extra_nodes):
        path = os.path.join(self.dir, f"fleet-{len(extra_nodes)}.toml")
        with open(path, "w") as f:
            f.write(f'[[node]]\nname = "mx1"\nstate_dir = "{self.nodes["mx1"].state}"\n\n'
                    # A command node: how a remote one is reached (here the same binary, as ssh would run it).
                    f'[[node]]\nname = "mx2"\ncommand = ["{SLUICE}", "queue", "--state-dir", '
                    f'"{self.nodes["mx2"].state}"]\n')
            for text in extra_nodes:
                f.write("\n" + text)
        return path

    def test_queue_list_of_a_fleet_file_in_text(self):
        p = run("queue", "list", "--fleet", self.fleet_file())
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NEXT", "HOP", "STATUS", "MESSAGES", "NODES", "OLDEST", "NEXT", "RETRY",
                                            "LAST", "ERROR"])
        rows = {line.split()[0]: line.split() for line in lines[1:]}
        self.assertEqual(rows["remote.test"][1:4], ["Retry", "2", "mx1:1,mx2:1"])
        self.assertEqual(rows["other.test"][1:4], ["Retry", "1", "mx2:1"])

    def test_queue_list_messages_with_their_node(self):
        p = run("queue", "list", "--messages", "--json", "--fleet", self.fleet_file())
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out["total"], 3)
        got = sorted((m["node"], r["address"]) for m in out["messages"] for r in m["recipients"])
        self.assertEqual(got, sorted((n, rcpt) for n, mail in MAIL.items() for _, _, rcpt in mail))
        received = [m["received"] for m in out["messages"]]
        self.assertEqual(received, sorted(received))  # oldest first across nodes
        text = run("queue", "list", "--messages", "--fleet", self.fleet_file(), "--recipient", "erin@*")
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertEqual(text.stdout.splitlines()[0].split()[:2], ["NODE", "ID"])
        self.assertEqual([line.split()[0] for line in text.stdout.splitlines()[1:] if not line.startswith(" ")],
                         ["mx2"])

    def test_a_node_that_cannot_be_read_is_reported_and_fails_the_command(self):
        missing = os.path.join(self.dir, "no-such-node")
        path = self.fleet_file(f'[[node]]\nname = "mx3"\nstate_dir = "{missing}"\n')
        p = run("queue", "list", "--json", "--fleet", path)
        self.assertEqual(p.returncode, 1, p.stderr)
        out = json.loads(p.stdout)
        mx3 = [n for n in out["nodes"] if n["node"] == "mx3"]
        self.assertEqual(len(mx3), 1)
        # The node's own last word is the error: why it cannot be read.
        self.assertEqual(mx3[0]["error"], f"there is no queue at {missing}/queue (is the state directory right? see "
                         "--state-dir) (exit status 1)")
        self.assertIn(f"sluice queue: mx3: cannot be read: {mx3[0]['error']}\n", p.stderr)
        self.assertIn(f"sluice queue: mx3: no gateway is running on {missing}; showing the spool on disk\n",
                      p.stderr)  # the node's other lines, named
        # The readable nodes are still shown.
        self.assertEqual({h["next_hop"]: h["messages"] for h in out["hops"]}, {"remote.test": 2, "other.test": 1})
        text = run("queue", "list", "--fleet", path)
        self.assertEqual(text.returncode, 1)
        self.assertIn("Not every node could be read", text.stdout)

    def test_fleet_usage_errors(self):
        p = run("queue", "show", "0005F1A2B3C40001", "--state-dir", self.nodes["mx1"].state, "--state-dir",
                self.nodes["mx2"].state)
        self.assertEqual((p.returncode, p.stderr.strip()), (2, "sluice queue: several --state-dir go with list only"))
        bad = os.path.join(self.dir, "bad-fleet.toml")
        with open(bad, "w") as f:
            f.write('[[node]]\nname = "a"\n')
        p = run("queue", "list", "--fleet", bad)
        self.assertEqual(p.returncode, 2)
        self.assertIn("state_dir, config, ssh or command", p.stderr)

    # ---- sluice logscan over both nodes' logs ----

    def expected_legacy(self):
        by_remote = {}
        for name, sessions in LEGACY.items():
            for source, _ in sessions:
                by_remote.setdefault(source, [0, set()])
                by_remote[source][0] += 1
                by_remote[source][1].add(name)
        return {remote: (count, sorted(nodes)) for remote, (count, nodes) in by_remote.items()}

    def test_logscan_names_the_nodes_of_every_peer(self):
        args = [f"--node={name}={os.path.join(node.state, 'logs')}" for name, node in self.nodes.items()]
        p = run("logscan", "--json", *args)
        self.assertEqual(p.returncode, 1, p.stderr)  # legacy peers found
        out = json.loads(p.stdout)
        self.assertEqual(out["nodes"], ["mx1", "mx2"])
        legacy = {peer["remote"]: (peer["refused_legacy"], peer["nodes"]) for peer in out["legacy_peers"]}
        self.assertEqual(legacy, self.expected_legacy())
        top = {peer["remote"]: peer["nodes"] for peer in out["summary"]["top_peers"]}
        self.assertEqual(top["127.0.0.4"], ["mx1", "mx2"])  # mail over TLS 1.2 to both nodes
        self.assertEqual(top["127.0.0.5"], ["mx2"])
        self.assertEqual({f["node"] for f in out["inputs"]["files"]}, {"mx1", "mx2"})
        self.assertEqual(out["summary"]["sessions"]["TLS1_2"], 2)
        self.assertEqual(out["summary"]["sessions"]["TLS1_3"], 1)

    def test_logscan_of_a_directory_per_node_in_text_csv_and_html(self):
        logs = os.path.join(self.dir, "logs")
        for name, node in self.nodes.items():
            shutil.copytree(os.path.join(node.state, "logs", "ProtocolLog"), os.path.join(logs, name),
                            dirs_exist_ok=True)
        html = os.path.join(self.dir, "fleet.html")
        p = run("logscan", "--nodes", logs, "--html", html)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("Nodes (2): mx1 mx2", p.stdout)
        legacy_section = p.stdout.split("Legacy TLS peers")[1].split("TLS failures")[0]
        header = legacy_section.splitlines()[1]
        self.assertTrue(header.split()[-1] == "NODES", header)
        for remote, (_, nodes) in self.expected_legacy().items():
            row = [line for line in legacy_section.splitlines() if remote in line]
            self.assertEqual(len(row), 1, legacy_section)
            self.assertTrue(row[0].rstrip().endswith(" ".join(nodes)), row[0])
        with open(html) as f:
            page = f.read()
        self.assertIn("<th>Nodes</th>", page)
        self.assertIn("<td>mx1 mx2</td>", page)  # 127.0.0.4 among the top peers
        c = run("logscan", "--csv", "--nodes", logs)
        rows = list(csv.DictReader(io.StringIO(c.stdout)))
        refused = {r["remote"]: (int(r["count"]), r["nodes"].split()) for r in rows
                   if r["record"] == "legacy_peer" and r["key"] == "refused_legacy"}
        self.assertEqual(refused, self.expected_legacy())

    def test_logscan_node_usage_errors(self):
        p = run("logscan", "--node", "mx1")
        self.assertEqual(p.returncode, 2)
        self.assertIn("use NAME=PATH", p.stderr)
        p = run("logscan", "--node", f"mx1={self.dir}", "--node", f"mx1={self.dir}")
        self.assertEqual(p.returncode, 2)
        self.assertIn('two nodes named "mx1"', p.stderr)
        p = run("logscan", "--node", f"mx1={self.dir}", self.dir)
        self.assertEqual(p.returncode, 2)

    # ---- Prometheus over both admin listeners ----

    def test_prometheus_legacy_tls_clients_by_node_and_across_the_fleet(self):
        if not self.prometheus:
            self.skipTest("prometheus is not installed (scripts/install-deps installs it)")
        info = self.prometheus.query("sluice_node_info")
        self.assertEqual(sorted(dict(labels)["node"] for labels in info), ["mx1", "mx2"])
        self.assertEqual(set(info.values()), {1.0})
        # docs/metrics.md, "Several gateways": the info metric joined on the target.
        legacy = ('sluice_tls_handshakes_total{direction="inbound",version=~"TLS1_0|TLS1_1"}'
                  " * on (job, instance) group_left (node) sluice_node_info")
        by_node = self.prometheus.query(f"sum by (node) ({legacy})")
        self.assertEqual(by_node, {(("node", name),): float(len(sessions)) for name, sessions in LEGACY.items()})
        total = sum(len(sessions) for sessions in LEGACY.values())
        self.assertEqual(self.prometheus.scalar(f"sum({legacy})"), total)
        by_version = self.prometheus.query(f"sum by (node, version) ({legacy})")
        # A receive connector's series exist at 0 from the start: a version nobody sent to a node is a 0.
        sent = collections.Counter((name, version) for name, sessions in LEGACY.items() for _, version in sessions)
        self.assertEqual(by_version, {(("node", name), ("version", version)): float(sent[name, version])
                                      for name in LEGACY for version in ("TLS1_0", "TLS1_1")})


if __name__ == "__main__":
    unittest.main()
