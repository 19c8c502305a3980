"""DNSSEC on loopback for DANE tests: zones signed with ldns (ldnsutils), served by NSD, validated by
Unbound with those zones' keys as trust anchors. Both servers run unprivileged-style from a temp
folder (their own config, pidfile, zone files; no chroot, no user switch) on free loopback ports.

    dns = DnssecDns()
    dns.add_zone("good.test", records, signed=True)
    dns.add_zone("plain.test", records, signed=False)
    dns.start()            # NSD, then Unbound (validating) in front of it
    dns.resolver           # "127.0.0.1:PORT", for sluice's dns_servers
    dns.stop()

`records` are zone-file lines relative to the zone ("mx IN A 127.0.0.1"). Signing options:
`expired_types`: RRsets whose signatures are replaced by expired ones (same key), so that the rest
of the zone validates and those RRsets are bogus."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import harness

NSD = shutil.which("nsd") or "/usr/sbin/nsd"
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
UNBOUND_CONTROL = shutil.which("unbound-control") or "/usr/sbin/unbound-control"
LDNS_KEYGEN = shutil.which("ldns-keygen")
LDNS_SIGNZONE = shutil.which("ldns-signzone")


def available():
    """Why the DNSSEC servers cannot run here, or None."""
    missing = [name for name, path in (("nsd", NSD), ("unbound", UNBOUND), ("ldns-keygen", LDNS_KEYGEN),
                                       ("ldns-signzone", LDNS_SIGNZONE)) if not path or not os.path.exists(path)]
    if missing:
        return f"{', '.join(missing)} not installed (scripts/install-deps installs nsd, unbound, ldnsutils)"
    return None


def _run(args, cwd):
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({p.returncode}): {p.stderr}{p.stdout}")
    return p.stdout


def _free_udp_tcp_port():
    """A port free for both UDP and TCP on 127.0.0.1 (DNS servers listen on both)."""
    for _ in range(50):
        port = harness.free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port for a DNS server")


class DnssecDns:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dnssec-e2e-")
        harness._made_dirs.append(self.dir)
        self.nsd_port = _free_udp_tcp_port()
        self.unbound_port = _free_udp_tcp_port()
        self.zones = {}  # name -> signed?
        self.anchors = []  # DS lines
        self.nsd = None
        self.unbound = None

    @property
    def resolver(self):
        return f"127.0.0.1:{self.unbound_port}"

    @property
    def authoritative(self):
        return f"127.0.0.1:{self.nsd_port}"

    def add_zone(self, zone, records, signed=True, expired_types=()):
        """Writes (and signs) a zone; call before start()."""
        text = (f"$ORIGIN {zone}.\n$TTL 60\n"
                f"@ IN SOA ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 60\n"
                f"@ IN NS ns.{zone}.\nns IN A 127.0.0.1\n" + "".join(r + "\n" for r in records))
        path = os.path.join(self.dir, zone + ".zone")
        with open(path, "w") as f:
            f.write(text)
        if signed:
            path = self._sign(zone, path, expired_types)
        self.zones[zone] = path

    def _sign(self, zone, path, expired_types):
        ksk = _run([LDNS_KEYGEN, "-a", "ECDSAP256SHA256", "-k", zone], self.dir).strip()
        zsk = _run([LDNS_KEYGEN, "-a", "ECDSAP256SHA256", zone], self.dir).strip()
        # Inception an hour ago: the test machine's clock and Unbound's agree anyway.
        now = time.time()
        stamp = lambda t: time.strftime("%Y%m%d%H%M%S", time.gmtime(t))  # noqa: E731
        _run([LDNS_SIGNZONE, "-i", stamp(now - 3600), "-e", stamp(now + 7 * 86400), "-f", path + ".signed",
              path, zsk, ksk], self.dir)
        signed = path + ".signed"
        if expired_types:
            _run([LDNS_SIGNZONE, "-i", stamp(now - 3 * 86400), "-e", stamp(now - 2 * 86400), "-f",
                  path + ".expired", path, zsk, ksk], self.dir)
            signed = self._splice_expired(path + ".signed", path + ".expired", set(expired_types))
        with open(os.path.join(self.dir, ksk + ".ds")) as f:
            self.anchors.append(f.read().strip())
        return signed

    @staticmethod
    def _rrsig_covers(line):
        parts = line.split()
        if len(parts) > 5 and parts[3] == "RRSIG":
            return parts[4]
        return None

    def _splice_expired(self, good, expired, types):
        """The good signed zone with the RRSIGs covering `types` taken from the expired signing."""
        with open(good) as f:
            good_lines = f.read().splitlines()
        with open(expired) as f:
            expired_sigs = [line for line in f.read().splitlines() if self._rrsig_covers(line) in types]
        out = [line for line in good_lines if self._rrsig_covers(line) not in types] + expired_sigs
        path = good + ".spliced"
        with open(path, "w") as f:
            f.write("\n".join(out) + "\n")
        return path

    def start(self):
        self._start_nsd()
        self._start_unbound()
        return self

    def _start_nsd(self):
        conf = os.path.join(self.dir, "nsd.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
  ip-address: 127.0.0.1@{self.nsd_port}
  port: {self.nsd_port}
  username: ""
  chroot: ""
  zonesdir: "{self.dir}"
  database: ""
  pidfile: "{self.dir}/nsd.pid"
  xfrdfile: "{self.dir}/xfrd.state"
  zonelistfile: "{self.dir}/zone.list"
  logfile: "{self.dir}/nsd.log"
  server-count: 1
  verbosity: 1
remote-control:
  control-enable: no
""")
            for zone, path in self.zones.items():
                f.write(f"zone:\n  name: \"{zone}\"\n  zonefile: \"{path}\"\n")
        with open(os.path.join(self.dir, "nsd.stderr"), "w") as stderr:
            self.nsd = subprocess.Popen([NSD, "-c", conf, "-d"], stdout=subprocess.DEVNULL, stderr=stderr)
        self._wait_answering(self.nsd_port, next(iter(self.zones)), self.nsd, "nsd.log")

    def _start_unbound(self):
        anchors = os.path.join(self.dir, "anchors")
        with open(anchors, "w") as f:
            f.write("\n".join(self.anchors) + "\n")
        conf = os.path.join(self.dir, "unbound.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
  interface: 127.0.0.1@{self.unbound_port}
  port: {self.unbound_port}
  username: ""
  chroot: ""
  directory: "{self.dir}"
  pidfile: "{self.dir}/unbound.pid"
  logfile: "{self.dir}/unbound.log"
  use-syslog: no
  verbosity: 1
  val-log-level: 2
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  do-ip6: no
  num-threads: 1
  so-reuseport: no
  module-config: "validator iterator"
  trust-anchor-file: "{anchors}"
  qname-minimisation: no
  minimal-responses: yes
  cache-max-negative-ttl: 1
  val-bogus-ttl: 1
  # "test." is one of the names Unbound answers itself by default (RFC 6761).
  local-zone: "test." nodefault
remote-control:
  control-enable: yes
  control-interface: "{self.dir}/unbound.ctl"
""")
            for zone in self.zones:
                f.write(f"stub-zone:\n  name: \"{zone}\"\n  stub-addr: 127.0.0.1@{self.nsd_port}\n")
        self.unbound_conf = conf
        with open(os.path.join(self.dir, "unbound.stderr"), "w") as stderr:
            self.unbound = subprocess.Popen([UNBOUND, "-d", "-c", conf], stdout=subprocess.DEVNULL, stderr=stderr)
        self._wait_answering(self.unbound_port, next(iter(self.zones)), self.unbound, "unbound.log")

    def _wait_answering(self, port, zone, proc, log):
        """Waits until the server answers an SOA query for `zone` (over UDP)."""
        query = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                 + b"".join(bytes([len(p)]) + p.encode() for p in zone.split(".")) + b"\x00\x00\x06\x00\x01")
        deadline = time.time() + 20
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{log} server exited with {proc.returncode}: {self.log(log)}"
                                   f"{self.log(log.split('.')[0] + '.stderr')}")
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.2)
                s.sendto(query, ("127.0.0.1", port))
                try:
                    reply = s.recv(4096)
                    if reply[:2] == b"\x12\x34":
                        return
                except OSError:
                    pass
        raise RuntimeError(f"DNS server on port {port} did not answer: {self.log(log)}")

    def flush(self, zone):
        """Forgets what Unbound cached for `zone` (after a zone changed)."""
        subprocess.run([UNBOUND_CONTROL, "-c", self.unbound_conf, "flush_zone", zone], capture_output=True,
                       timeout=20, check=True)
        subprocess.run([UNBOUND_CONTROL, "-c", self.unbound_conf, "flush_bogus"], capture_output=True, timeout=20,
                       check=True)

    def log(self, name):
        try:
            with open(os.path.join(self.dir, name), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        for proc in (self.unbound, self.nsd):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.unbound = self.nsd = None
