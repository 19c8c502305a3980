#!/usr/bin/env python3
"""Writes a synthetic Exchange SMTP Receive protocol log for benchmarking `sluice logscan`.

    gen_exchange_log.py OUT [SIZE_MIB] [--seed N]

Sessions look like the ones Exchange 2016 and `sluice serve` write: connect, banner, EHLO with a
multi-line reply logged line by line, STARTTLS with the certificate lines and the TLS sentence,
EHLO again, one to three messages (MAIL, RCPT, DATA, 354, 250 2.6.0 Queued), QUIT, disconnect.
Sessions come from 4000 peers chosen at random; each peer always speaks the same way: 5% of peers
(hence about 5% of sessions) negotiate TLS 1.0, 1% TLS 1.1, 10% TLS 1.3, 6% stay plaintext, 2% fail
the handshake ("TLS negotiation failed with error SocketError"), the rest TLS 1.2. Up to 24 sessions
are open at once and their lines interleave, as on a busy server. Deterministic for a seed."""
import argparse
import random

HEADER = ("#Software: Microsoft Exchange Server\r\n#Version: 15.2.1118.7\r\n"
          "#Log-type: SMTP Receive Protocol Log\r\n#Date: 2026-11-27T00:00:00.000Z\r\n"
          "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,"
          "event,data,context\r\n")
CONNECTORS = ["EX01\\Default Frontend EX01", "EX01\\Client Frontend EX01", "EX01\\Partner Relay EX01"]
TLS = ("TLS protocol SP_PROT_{v}_SERVER negotiation succeeded using bulk encryption algorithm {bulk} with "
       "strength {bits} bits, MAC hash algorithm {mac} with strength {macbits} bits and key exchange algorithm "
       "CALG_ECDH_EPHEM with strength 256 bits")


def csv_field(text):
    """RFC 4180, as Exchange writes it: quoted when it holds a comma, quote or line break."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


PEERS = 4000


def peer_kind(peer):
    """What a peer speaks: fixed per peer, as a real server's TLS stack is."""
    r = random.Random(peer * 7919).random()
    return ("TLS1_0" if r < 0.05 else "TLS1_1" if r < 0.06 else "TLS1_3" if r < 0.16 else
            "plain" if r < 0.22 else "fail" if r < 0.24 else "TLS1_2")


def peer_address(peer):
    return f"198.51.{peer // 250}.{peer % 250 + 1}"


def session_lines(rng, n, peer):
    """(event, data, context) tuples of one session."""
    kind = peer_kind(peer)
    ehlo = f"mail.example{peer}.com"
    out = [("+", "", ""), (">", "220 EX01.contoso.com Microsoft ESMTP MAIL Service ready at Fri, 27 Nov 2026 "
                               "07:00:00 +0000", ""),
           ("<", f"EHLO {ehlo}", "")]
    ext = ["250-EX01.contoso.com Hello [203.0.113.9]", "250-SIZE 37748736", "250-PIPELINING", "250-DSN",
           "250-ENHANCEDSTATUSCODES", "250-STARTTLS", "250-8BITMIME", "250-BINARYMIME", "250 CHUNKING"]
    out += [(">", e, "") for e in ext]
    if kind != "plain":
        out += [("<", "STARTTLS", ""), (">", "220 2.0.0 SMTP server ready", ""),
                ("*", "CN=EX01.contoso.com", "Sending certificate"),
                ("*", "6D3F1A0B5C9E8D7F6A5B4C3D2E1F0A9B8C7D6E5F", "Certificate thumbprint")]
        if kind == "fail":
            out += [("*", "", "TLS negotiation failed with error SocketError"), ("-", "", "Remote")]
            return [(ev, csv_field(data), csv_field(ctx)) for ev, data, ctx in out]
        bulk, bits, mac, macbits = (("CALG_AES_256", 256, "CALG_SHA1", 160) if kind in ("TLS1_0", "TLS1_1") else
                                    ("CALG_AES_128", 128, "CALG_SHA_256", 0))
        out.append(("*", "", TLS.format(v=kind, bulk=bulk, bits=bits, mac=mac, macbits=macbits)))
        out.append(("*", "", "Client certificate chain validation status: 'EmptyCertificate'"))
        out.append(("<", f"EHLO {ehlo}", ""))
        out += [(">", e, "") for e in ext if e != "250-STARTTLS"]
    for m in range(rng.choice((1, 1, 1, 2, 3))):
        out += [("<", f"MAIL FROM:<sender{n % 1000}@example{n % 97}.com> SIZE=2048", ""),
                (">", f"250 2.1.0 Sender OK", ""),
                ("<", f"RCPT TO:<user{m}@contoso.com>", ""), (">", "250 2.1.5 Recipient OK", ""),
                ("<", "DATA", ""), (">", "354 Start mail input; end with <CRLF>.<CRLF>", ""),
                (">", f"250 2.6.0 <{n:08x}{m}@example.com> [InternalId={n * 4 + m}, Hostname=EX01.contoso.com] "
                      "Queued mail for delivery", "")]
    out += [("<", "QUIT", ""), (">", "221 2.0.0 Service closing transmission channel", ""), ("-", "", "Local")]
    return [(ev, csv_field(data), csv_field(ctx)) for ev, data, ctx in out]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("size_mib", nargs="?", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    limit = args.size_mib << 20
    written = 0
    ms = 0  # milliseconds since 2026-11-27T00:00:00Z
    n = 0
    active = []
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        written += len(HEADER)
        buf = []
        while written < limit or active:
            while len(active) < 24 and written < limit:
                peer = rng.randrange(PEERS)
                active.append([f"08DB{n:012X}", f"10.0.0.5:25,{peer_address(peer)}:{40000 + n % 25000}",
                               CONNECTORS[n % 3 if n % 10 == 0 else 0], session_lines(rng, n, peer), 0])
                n += 1
            s = active[rng.randrange(len(active))]
            ev, data, ctx = s[3][s[4]]
            ms += 3
            sec, milli = divmod(ms, 1000)
            day, rest = divmod(sec, 86400)
            hh, rest = divmod(rest, 3600)
            mm, ss = divmod(rest, 60)
            line = (f"2026-11-{27 + day:02}T{hh:02}:{mm:02}:{ss:02}.{milli:03}Z,{s[2]},{s[0]},{s[4]},{s[1]},"
                    f"{ev},{data},{ctx}\r\n")
            buf.append(line)
            written += len(line)  # ASCII only
            s[4] += 1
            if s[4] == len(s[3]):
                active.remove(s)
            if len(buf) >= 4096:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))
    print(f"{args.out}: {written} bytes, {n} sessions")


if __name__ == "__main__":
    main()
