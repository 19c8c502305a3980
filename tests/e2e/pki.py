"""Test certificates made with the openssl command: CAs and leaf certificates in one folder that
other users (Postfix, nginx's workers) can read, removed with the test's other folders.

    pki = Pki()
    pki.ca("TestCA")                                   # TestCA.crt, TestCA.key
    cert, key = pki.leaf("mx", "TestCA", "mx.example.test", "mx2.example.test")
"""
import os
import subprocess
import tempfile

import harness


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


class Pki:
    """A folder of CAs and certificates made with the openssl command, readable by Postfix."""

    def __init__(self, prefix="test-pki-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        harness._made_dirs.append(self.dir)
        os.chmod(self.dir, 0o755)

    def path(self, name):
        return os.path.join(self.dir, name)

    def ca(self, name):
        """A self-signed CA; returns its certificate's path."""
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout", self.path(f"{name}.key"), "-out", self.path(f"{name}.crt"))
        return self.path(f"{name}.crt")

    def leaf(self, name, ca, san, *more_sans):
        """A certificate for CN=`san`, SAN DNS:`san` and DNS: each of `more_sans`, for client and
        server use, signed by CA `ca`; returns (cert, key)."""
        key, csr, crt = self.path(f"{name}.key"), self.path(f"{name}.csr"), self.path(f"{name}.crt")
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", f"/O=Test/CN={san}", "-keyout", key, "-out", csr)
        ext = self.path(f"{name}.ext")
        names = ",".join(f"DNS:{n}" for n in (san, *more_sans))
        with open(ext, "w") as f:
            f.write(f"basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth,serverAuth\nsubjectAltName={names}\n")
        openssl("x509", "-req", "-in", csr, "-CA", self.path(f"{ca}.crt"), "-CAkey", self.path(f"{ca}.key"),
                "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt)
        os.chmod(key, 0o644)  # Postfix reads it as user postfix in these tests
        return crt, key

    def fingerprint(self, cert):
        """SHA-256 fingerprint in Postfix's form, "AB:CD:..." (check_ccert_access keys)."""
        out = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha256"],
                             check=True, capture_output=True, text=True, timeout=30).stdout
        return out.strip().split("=", 1)[1]
