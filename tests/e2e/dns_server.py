"""A tiny authoritative DNS server on loopback (UDP) for end-to-end tests, so that sluice's MX
lookups (`dns_servers = ["127.0.0.1:<port>"]`) never leave the machine.

    zone = {
        "example.test": {"MX": [(10, "mx1.example.test")], "A": ["127.0.0.1"]},
        "mx1.example.test": {"A": ["127.0.0.1"], "AAAA": ["::1"]},
        "_mta-sts.example.test": {"TXT": ["v=STSv1; id=20261208;"]},
        "_smtp._tls.example.test": {"TXT": [["v=TLSRPTv1; ", "rua=mailto:tlsrpt@example.test"]]},
        "_25._tcp.mx1.example.test": {"TLSA": [(3, 1, 1, "0123abcd")]},
        "nomail.test": {"MX": [(0, ".")]},      # null MX (RFC 7505)
        "broken.test": "SERVFAIL",              # every query for the name: SERVFAIL
        "slow.test": "DROP",                    # never answered: the resolver times out
    }
    with DnsServer(zone) as dns:
        ...  # dns.port, dns.address == "127.0.0.1:<port>"

Record values: A and AAAA an address string; MX a (preference, exchange) pair; TXT a string (one
record; over 255 bytes it is split into 255-byte character-strings, as one record) or a list of
strings (one record made of those character-strings, in that order, each at most 255 bytes);
TLSA a (usage, selector, matching type, certificate association data in hex) tuple.
`DnsServer(zone, ad=True)` sets the AD (authenticated data) bit in every answer, as a validating
resolver would for a secure zone; `dns.ad` may be changed while it runs. It signs nothing: it is
for tests of a gateway that trusts the AD bit of its resolver.

Names are case-insensitive, a trailing dot is ignored. A name not in the zone is NXDOMAIN; a name
in the zone without the asked type gets NOERROR with no answers. A record dict may also say
{"SERVFAIL": True} or {"DROP": True}, or hold "SERVFAIL"/"DROP" as the value of one type, e.g.
{"A": ["127.0.0.1"], "AAAA": "DROP"}. `set(name, records)` changes the zone while it runs.

From the command line, for manual tries:
    python3 dns_server.py --port 5353 --zone '{"example.test": {"MX": [[10, "mx.example.test"]]}}'
"""
import argparse
import ipaddress
import json
import socket
import struct
import threading

TYPES = {"A": 1, "MX": 15, "TXT": 16, "AAAA": 28, "TLSA": 52}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
NOERROR, SERVFAIL, NXDOMAIN, NOTIMP = 0, 2, 3, 4
MARKERS = ("SERVFAIL", "DROP")


def _norm(name):
    return name.rstrip(".").lower()


def encode_name(name):
    """Uncompressed wire form; "" and "." are the root."""
    out = b""
    for label in _norm(name).split(".") if _norm(name) else []:
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad label in {name!r}")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def _character_strings(value):
    """TXT rdata: a str is one record cut into 255-byte pieces; a list gives the pieces itself."""
    if isinstance(value, str):
        raw = value.encode("utf-8")
        pieces = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    elif isinstance(value, (list, tuple)) and all(isinstance(p, str) for p in value):
        pieces = [p.encode("utf-8") for p in value]
    else:
        raise ValueError(f"TXT: expected a string or a list of strings, not {value!r}")
    out = b""
    for piece in pieces:
        if len(piece) > 255:
            raise ValueError(f"TXT: a character-string is at most 255 bytes ({len(piece)} given)")
        out += bytes([len(piece)]) + piece
    return out


def _tlsa_rdata(value):
    usage, selector, matching, data = value
    for field in (usage, selector, matching):
        if not 0 <= int(field) <= 255:
            raise ValueError(f"TLSA: field {field!r} is not one octet")
    return bytes([int(usage), int(selector), int(matching)]) + bytes.fromhex(data)


def _rdata(rtype, value):
    if rtype == "A":
        return ipaddress.IPv4Address(value).packed
    if rtype == "AAAA":
        return ipaddress.IPv6Address(value).packed
    if rtype == "TXT":
        return _character_strings(value)
    if rtype == "TLSA":
        return _tlsa_rdata(value)
    preference, exchange = value
    return struct.pack("!H", int(preference)) + encode_name(exchange)


def _check_zone(zone):
    """Fails early, with the offending entry named, rather than inside the server thread."""
    for name, records in zone.items():
        if isinstance(records, str):
            if records not in MARKERS:
                raise ValueError(f"{name}: marker must be one of {MARKERS}, not {records!r}")
            continue
        if not isinstance(records, dict):
            raise ValueError(f"{name}: records must be a dict or a marker string")
        for rtype, values in records.items():
            if rtype in MARKERS:
                continue
            if rtype not in TYPES:
                raise ValueError(f"{name}: unsupported record type {rtype!r} (supported: {sorted(TYPES)})")
            if isinstance(values, str):
                if values not in MARKERS:
                    raise ValueError(f"{name} {rtype}: expected a list of records or a marker")
                continue
            for value in values:
                _rdata(rtype, value)


class DnsServer:
    def __init__(self, zone=None, port=0, host="127.0.0.1", ad=False):
        self.ad = ad  # the AD bit in every answer
        self._zone = {}
        self._lock = threading.Lock()
        self.queries = []  # (name, type name) in arrival order, for assertions
        for name, records in (zone or {}).items():
            self.set(name, records)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = None

    @property
    def port(self):
        return self._sock.getsockname()[1]

    @property
    def address(self):
        """The form sluice's dns_servers setting takes."""
        host, port = self._sock.getsockname()
        return f"{host}:{port}"

    def set(self, name, records):
        """Adds or replaces a name's records (None removes the name: NXDOMAIN)."""
        with self._lock:
            if records is None:
                self._zone.pop(_norm(name), None)
            else:
                _check_zone({name: records})
                self._zone[_norm(name)] = records

    def start(self):
        self._thread = threading.Thread(target=self._serve, name="dns-server", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join()
            self._thread = None
        self._sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _serve(self):
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                reply = self.answer(data)
            except Exception:  # a malformed query must not kill the server
                reply = None
            if reply is not None:
                self._sock.sendto(reply, peer)

    def answer(self, query):
        """The reply to one query, or None to stay silent."""
        if len(query) < 12:
            return None
        qid, flags, qdcount = struct.unpack("!HHH", query[:6])
        if flags & 0x8000 or qdcount != 1:
            return None
        labels, pos = [], 12
        while query[pos] != 0:
            length = query[pos]
            if length & 0xC0:
                return None
            labels.append(query[pos + 1:pos + 1 + length].decode("ascii", "replace"))
            pos += 1 + length
        question_end = pos + 5
        qtype, _qclass = struct.unpack("!HH", query[pos + 1:question_end])
        name = _norm(".".join(labels))
        self.queries.append((name, TYPE_NAMES.get(qtype, str(qtype))))

        with self._lock:
            records = self._zone.get(name)
        rcode, answers = NOERROR, []
        if (flags >> 11) & 0xF:
            rcode = NOTIMP
        elif records is None:
            rcode = NXDOMAIN
        else:
            if isinstance(records, str):
                marker = records
            elif records.get("SERVFAIL"):
                marker = "SERVFAIL"
            elif records.get("DROP"):
                marker = "DROP"
            else:
                values = records.get(TYPE_NAMES.get(qtype), [])
                marker = values if isinstance(values, str) else None
                if marker is None:
                    answers = [_rdata(TYPE_NAMES[qtype], v) for v in values]
            if marker == "DROP":
                return None
            if marker == "SERVFAIL":
                rcode = SERVFAIL

        # QR, AA, RD echoed, RA, AD if asked for; the answers point back at the question name (0xC00C).
        ad_bit = 0x0020 if self.ad else 0
        header = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | 0x0080 | ad_bit | rcode, 1, len(answers), 0,
                             0)
        body = query[12:question_end]
        for rdata in answers:
            body += struct.pack("!HHHIH", 0xC00C, qtype, 1, 300, len(rdata)) + rdata
        return header + body


def _zone_from_json(text):
    """JSON has no tuples: MX records come as [preference, exchange] pairs, TLSA as 4-element lists."""
    zone = json.loads(text)
    if not isinstance(zone, dict):
        raise ValueError("the zone must be a JSON object")
    return zone


def main():
    parser = argparse.ArgumentParser(description="Answer A/AAAA/MX/TXT/TLSA queries on 127.0.0.1 from a JSON zone.")
    parser.add_argument("--port", type=int, default=5353)
    parser.add_argument("--ad", action="store_true", help="set the AD bit in every answer")
    parser.add_argument("--zone", required=True, help='e.g. \'{"example.test": {"MX": [[10, "mx.example.test"]]}}\'')
    args = parser.parse_args()
    try:
        server = DnsServer(_zone_from_json(args.zone), port=args.port, ad=args.ad)
    except (ValueError, OSError) as e:
        parser.error(str(e))
    print(f"answering DNS on {server.address}; Ctrl-C stops", flush=True)
    server.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
