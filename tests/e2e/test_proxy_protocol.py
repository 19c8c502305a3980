"""End-to-end: receive connectors behind a load balancer with the PROXY protocol (issue 19,
docs/load-balancer.md).

Three gateways (own state directories) behind one real HAProxy in `mode tcp`: a and c get
`send-proxy-v2`, b `send-proxy` (v1), all with `option smtpchk` health checks that carry a header
(`check-send-proxy`: v2 LOCAL; v1 a TCP4 line naming the check connection itself). Clients bound to 127.0.0.2 and 127.0.0.3 reach them
through HAProxy and must be seen with their own addresses: the connector chosen by remote_ranges,
relay_from, the protocol log's remote endpoint and the Received: header. The health checks keep
the servers UP without a single protocol log session or warning.

A fourth gateway, not behind HAProxy, takes raw headers from test sockets: a header split across
reads, client bytes right after it, per-address limits keyed by the named client, and what must
close the connection with one warning: a malformed, over-long, missing, late or wrong-version
header from proxy_from, and a header from outside proxy_from."""
import json
import os
import re
import socket
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import haproxy_lb  # noqa: E402

PROXY_KEYS = {"proxy_protocol": "v1+v2", "proxy_from": ["127.0.0.1"], "proxy_timeout": 1}
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def gateway(versions="v1+v2"):
    """A gateway whose port takes two connectors, both behind the balancer: Partners for
    127.0.0.3 (by remote_ranges), Behind-LB for everyone else, relaying for 127.0.0.2."""
    proxy = dict(PROXY_KEYS, proxy_protocol=versions)
    port = harness.free_port()
    listen = [f"127.0.0.1:{port}"]
    return harness.Sluice(connectors=[
        {"name": "Behind-LB", "listen": listen, "starttls": False, "relay_from": ["127.0.0.2"], **proxy},
        {"name": "Partners", "listen": listen, "starttls": False, "remote_ranges": ["127.0.0.3"], **proxy},
    ], limits="max_connections_per_ip = 2")


def v2_header(source, source_port, destination="192.0.2.25", destination_port=25, command=0x21, tlvs=b""):
    block = socket.inet_aton(source) + socket.inet_aton(destination) + struct.pack(">HH", source_port,
                                                                                   destination_port) + tlvs
    return V2_SIGNATURE + bytes([command, 0x11]) + struct.pack(">H", len(block)) + block


def v1_header(source, source_port):
    return f"PROXY TCP4 {source} 192.0.2.25 {source_port} 25\r\n".encode()


def warnings(sluice):
    return [line for line in sluice.server_log().splitlines() if "warning:" in line or "error:" in line]


def received_header(path):
    with open(path, "rb") as f:
        return f.read().split(b"\r\n\r\n", 1)[0].decode()


class BehindHaproxy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = haproxy_lb.available()
        if reason:
            raise unittest.SkipTest(reason)
        cls.gateways = {"a": gateway(), "b": gateway("v1"), "c": gateway("v2")}
        cls.lb = haproxy_lb.HaproxyLb(check_interval=100)
        for name, sluice in cls.gateways.items():
            sluice.start()
            cls.lb.add_server(name, sluice.port, ("send-proxy" if name == "b" else "send-proxy-v2") +
                              " check-send-proxy")
        # Run as root, a gateway warns once at start that it keeps root; nothing may follow it.
        cls.warnings_at_start = {name: warnings(g) for name, g in cls.gateways.items()}
        cls.lb.start()
        for name in cls.gateways:
            cls.lb.wait_state(name, "UP")

    @classmethod
    def tearDownClass(cls):
        cls.lb.stop()
        for sluice in cls.gateways.values():
            sluice.stop()

    def through_lb(self, source, commands):
        """One session from `source` through HAProxy: the replies to `commands` after the banner."""
        raw = harness.RawFrom(self.lb.port, source)
        try:
            code, text = raw.reply()
            self.assertEqual(code, 220, text)
            return [raw.cmd(c) for c in commands]
        finally:
            raw.close()

    def sessions_from(self, source):
        """{gateway: [session records]} of every finished session whose client was `source`."""
        return {name: [recs for recs in harness.log_sessions(g).values()
                       if recs[0].remote.startswith(source + ":") and recs[-1].event == "-"]
                for name, g in self.gateways.items()}

    def test_1_clients_are_seen_with_their_own_addresses(self):
        # Six messages, three from each address: round robin gives every gateway both clients.
        for i in range(6):
            source = "127.0.0.2" if i % 2 == 0 else "127.0.0.3"
            replies = self.through_lb(source, ["EHLO client.test", "MAIL FROM:<alice@example.org>",
                                               "RCPT TO:<postmaster@sluice.test>", "DATA"])
            self.assertIn(f"Hello [{source}]", replies[0][1])
            self.assertEqual(replies[3][0], 354)
        for source in ("127.0.0.2", "127.0.0.3"):
            def all_gateways_saw(source=source):
                return all(len(v) >= 1 for v in self.sessions_from(source).values())
            harness.wait_for(f"sessions from {source} on every gateway", all_gateways_saw, timeout=10)
            for name, sessions in self.sessions_from(source).items():
                for recs in sessions:
                    # remote_ranges chose the connector by the named client.
                    self.assertEqual(recs[0].connector, "Partners" if source == "127.0.0.3" else "Behind-LB", name)
                    # The local endpoint is the balancer's front end the client connected to.
                    self.assertEqual(recs[0].local, f"127.0.0.1:{self.lb.port}", name)

    def test_2_received_header_names_the_client(self):
        for source in ("127.0.0.2", "127.0.0.3"):
            replies = self.through_lb(source, ["EHLO client.test", "MAIL FROM:<alice@example.org>",
                                               "RCPT TO:<postmaster@sluice.test>", "DATA",
                                               f"Subject: from {source}\r\n\r\nhello\r\n."])
            self.assertEqual(replies[4][0], 250, replies[4][1])
        def delivered():
            return [received_header(p) for g in self.gateways.values() for p in harness.delivered_files(g)]
        harness.wait_for("two messages delivered", lambda: len(delivered()) >= 2, timeout=10)
        headers = delivered()
        for source in ("127.0.0.2", "127.0.0.3"):
            mine = [h for h in headers if f"Subject: from {source}" in h]
            self.assertEqual(len(mine), 1, headers)
            self.assertIn(f"Received: from client.test ([{source}])", mine[0])
            self.assertNotIn("[127.0.0.1]", mine[0])

    def test_3_relay_from_follows_the_named_client(self):
        # Three tries from each, so that every gateway decides once for each client.
        for _ in range(3):
            relayed = self.through_lb("127.0.0.2", ["EHLO client.test", "MAIL FROM:<alice@example.org>",
                                                    "RCPT TO:<user@remote.example>"])
            self.assertEqual(relayed[2][0], 250, relayed[2][1])
            refused = self.through_lb("127.0.0.3", ["EHLO client.test", "MAIL FROM:<alice@example.org>",
                                                    "RCPT TO:<user@remote.example>"])
            self.assertEqual(refused[2], (550, "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"))

    def test_4_health_checks_keep_the_logs_clean(self):
        # Checks every 100 ms have run all along (each server went UP on one), none failed.
        stats = self.lb.server_stats()
        self.assertEqual(sorted(stats), ["a", "b", "c"])
        for name, row in stats.items():
            self.assertEqual(row["status"], "UP", row)
            self.assertEqual(row.get("check_status"), "L7OK", row)
            self.assertEqual(int(row.get("chkfail") or 0), 0, row)
        for name, g in self.gateways.items():
            # Every client came through the balancer's front end, which is its sessions' local
            # endpoint; a health check would show the gateway's own address there. None does, and
            # the server log has no warning, though each gateway has answered many checks by now.
            sessions = harness.log_sessions(g).values()
            self.assertGreater(len(sessions), 0, name)
            self.assertEqual({recs[0].local for recs in sessions}, {f"127.0.0.1:{self.lb.port}"}, name)
            self.assertEqual(warnings(g), self.warnings_at_start[name], name)

    def test_5_logscan_of_the_fleet_names_each_client_and_its_gateways(self):
        # logscan reads the protocol logs: the peers are the clients HAProxy named, never the
        # balancer itself, and each is listed with the gateways (nodes) that saw it.
        self.through_lb("127.0.0.2", ["EHLO client.test"])  # at least one session each, whatever ran before
        self.through_lb("127.0.0.3", ["EHLO client.test"])
        harness.wait_for("the sessions in the logs", lambda: all(
            any(recs[-1].event == "-" for recs in self.sessions_from(source)[name])
            for source in ("127.0.0.2", "127.0.0.3") for name in self.gateways
            if self.sessions_from(source)[name]), timeout=10)
        nodes = [f"--node={name}={os.path.join(g.state, 'logs')}" for name, g in self.gateways.items()]
        p = subprocess.run([harness.SLUICE, "logscan", "--json", *nodes], capture_output=True, text=True, timeout=60)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        peers = {peer["remote"]: peer["nodes"] for peer in json.loads(p.stdout)["summary"]["top_peers"]}
        self.assertEqual(set(peers), {"127.0.0.2", "127.0.0.3"})
        for source in ("127.0.0.2", "127.0.0.3"):
            saw = sorted(name for name, sessions in self.sessions_from(source).items() if sessions)
            self.assertEqual(peers[source], saw, source)


class RawHeaders(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sluice = gateway().start()
        cls.port = cls.sluice.port

    @classmethod
    def tearDownClass(cls):
        cls.sluice.stop()

    def connect(self, source="127.0.0.1"):
        return harness.RawFrom(self.port, source, timeout=5)

    def assert_closed_with_warning(self, raw, expected):
        """The connection closes without a word to the client, and one warning names the balancer."""
        local_port = raw.sock.getsockname()[1]
        self.assertTrue(raw.closed(timeout=5))
        raw.close()
        line = f'load balancer 127.0.0.1:{local_port} on connector "Behind-LB": {expected}; connection closed'
        harness.wait_for(line, lambda: line in self.sluice.server_log(), timeout=5)

    def test_split_header_and_early_client_bytes(self):
        raw = self.connect()
        header = v2_header("203.0.113.9", 4242, tlvs=b"\x01\x00\x04smtp")
        raw.send(header[:7])
        # Half a header: the gateway waits for the rest, saying nothing.
        raw.sock.settimeout(0.3)
        with self.assertRaises(socket.timeout):
            raw.sock.recv(1)
        raw.sock.settimeout(5)
        # The rest, with the client's first command in the same write: it is kept for the session.
        raw.send(header[7:] + b"EHLO early.test\r\n")
        code, text = raw.reply()
        self.assertEqual(code, 220, text)
        code, text = raw.reply()
        self.assertEqual(code, 250, text)
        self.assertIn("Hello [203.0.113.9]", text)
        raw.cmd("QUIT")
        raw.close()
        recs = harness.wait_for("the session in the protocol log",
                                lambda: harness.session_records_from(self.sluice, "203.0.113.9:4242"))[0]
        self.assertEqual(recs[0].local, "192.0.2.25:25")
        self.assertEqual(recs[0].connector, "Behind-LB")

    def test_v1_header_byte_by_byte(self):
        raw = self.connect()
        for byte in v1_header("198.51.100.7", 5555):
            raw.send(bytes([byte]))
        code, text = raw.reply()
        self.assertEqual(code, 220, text)
        self.assertIn("Hello [198.51.100.7]", raw.cmd("EHLO x.test")[1])
        raw.close()

    def test_per_address_limit_keys_on_the_named_client(self):
        # All four come from 127.0.0.1; the limit (2) counts the addresses their headers name.
        held = []
        try:
            for port in (1001, 1002):
                raw = self.connect()
                raw.send(v1_header("192.0.2.7", port))
                self.assertEqual(raw.reply()[0], 220)
                held.append(raw)
            third = self.connect()
            third.send(v2_header("192.0.2.7", 1003))
            self.assertEqual(third.reply(), (421, "421 4.7.0 Too many connections from your address, try again later"))
            third.close()
            other = self.connect()
            other.send(v2_header("192.0.2.8", 1004))
            self.assertEqual(other.reply()[0], 220)
            held.append(other)
        finally:
            for raw in held:
                raw.close()

    def test_bad_headers_from_the_balancer(self):
        cases = [
            (b"PROXY TCP4 192.0.2.1 nowhere 1 2\r\nEHLO x\r\n", "PROXY v1 header has an address that is not IPv4"),
            (b"PROXY UNKNOWN " + b"a" * 200, "PROXY v1 header has no CR LF within 107 bytes"),
            (V2_SIGNATURE + b"\x21\x11" + struct.pack(">H", 2000),
             "PROXY v2 header of 2016 bytes (at most 1040 accepted)"),
            (b"EHLO client.test\r\n", "no PROXY header at the start of the connection"),
        ]
        for sent, expected in cases:
            with self.subTest(expected=expected):
                raw = self.connect()
                raw.send(sent)
                self.assert_closed_with_warning(raw, expected)

    def test_late_header(self):
        raw = self.connect()
        raw.send(b"PROXY TCP4 ")
        self.assert_closed_with_warning(raw, "no complete PROXY header within 1s (11 bytes received)")
        silent = self.connect()
        self.assert_closed_with_warning(silent, "no complete PROXY header within 1s (0 bytes received)")

    def test_header_from_outside_proxy_from(self):
        for source, header in (("127.0.0.2", v1_header("192.0.2.1", 1)), ("127.0.0.3", v2_header("192.0.2.1", 1))):
            with self.subTest(source=source):
                raw = self.connect(source)
                code, text = raw.reply()
                self.assertEqual(code, 220, text)
                raw.send(header)
                self.assertEqual(raw.reply(), (421, "421 4.7.0 PROXY header not accepted from your address"))
                self.assertTrue(raw.closed())
                raw.close()
                connector = "Partners" if source == "127.0.0.3" else "Behind-LB"
                line = (f'client [{source}] sent a PROXY header to connector "{connector}", which takes one only '
                        "from its proxy_from; connection closed")
                harness.wait_for(line, lambda: line in self.sluice.server_log(), timeout=5)
        # Nothing it claimed was believed: no session names 192.0.2.1.
        self.assertEqual(harness.session_records_from(self.sluice, "192.0.2.1:1", timeout=0), [])


class VersionMismatch(unittest.TestCase):
    def test_v2_header_on_a_v1_connector(self):
        with gateway("v1") as sluice:
            raw = harness.RawFrom(sluice.port, "127.0.0.1", timeout=5)
            local_port = raw.sock.getsockname()[1]
            raw.send(v2_header("192.0.2.1", 1))
            self.assertTrue(raw.closed())
            raw.close()
            line = (f'load balancer 127.0.0.1:{local_port} on connector "Behind-LB": PROXY v2 header, but the '
                    "connector accepts only v1; connection closed")
            harness.wait_for(line, lambda: line in sluice.server_log(), timeout=5)


if __name__ == "__main__":
    unittest.main()
