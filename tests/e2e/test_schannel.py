"""End-to-end: `sluice schannel check` on registry exports as Windows writes them (UTF-16LE with a
BOM and CRLF, and ANSI REGEDIT4), every problem it reports, the exit statuses, garbage input, and
the round trip `fix` -> `check` for the .reg file (with and without --disable-legacy)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

PROTOCOLS = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols"
NET = r"HKEY_LOCAL_MACHINE\SOFTWARE\{}Microsoft\.NETFramework\{}"
ON = '"DisabledByDefault"=dword:00000000\n"Enabled"=dword:00000001'
OFF = '"DisabledByDefault"=dword:00000001\n"Enabled"=dword:00000000'
SAMPLE = os.path.join(harness.SOURCE_DIR, "tests", "data", "schannel", "exchange2016-tls12-client-off.reg")


def run(*args, stdin=None):
    return subprocess.run([harness.SLUICE, "schannel", *args], capture_output=True, input=stdin, timeout=30)


def regedit5(text):
    """What regedit writes: UTF-16LE with a BOM, CRLF line ends."""
    return b"\xff\xfe" + text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-16-le")


def regedit4(text):
    return text.replace("\n", "\r\n").encode("cp1252")


def keys(protocols=(), dotnet=True, header="Windows Registry Editor Version 5.00"):
    """An export: `protocols` is a list of ("TLS 1.2\\Client", values) pairs; with `dotnet` the
    four .NET keys carry both values set to 1."""
    parts = [header, ""]
    for sub, values in protocols:
        parts += [f"[{PROTOCOLS}\\{sub}]", values, ""]
    if dotnet:
        for node in ("", "Wow6432Node\\"):
            for version in ("v2.0.50727", "v4.0.30319"):
                parts += [f"[{NET.format(node, version)}]", '"SystemDefaultTlsVersions"=dword:00000001',
                          '"SchUseStrongCrypto"=dword:00000001', ""]
    return "\n".join(parts) + "\n"


GOOD = [("TLS 1.2\\Client", ON), ("TLS 1.2\\Server", ON)]


class SchannelTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-schannel-")
        harness._made_dirs.append(self.dir)

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def check_json(self, *paths, windows="2016"):
        r = run("check", *paths, "--windows", windows, "--json")
        self.assertIn(r.returncode, (0, 1), r.stderr.decode())
        return r.returncode, json.loads(r.stdout)

    def problem_ids(self, report):
        return [p["id"] for p in report["problems"]]

    def state(self, report, protocol, side):
        for p in report["protocols"]:
            if p["protocol"] == protocol and p["side"] == side:
                return p["state"], p["source"]
        self.fail(f"no {protocol} {side} in the report")

    # --- reading real export formats -------------------------------------------------------

    def test_utf16_export_with_tls12_client_disabled_fails_with_readable_report(self):
        path = self.write("a.reg", regedit5(keys([("TLS 1.2\\Client", OFF), ("TLS 1.2\\Server", ON)])))
        r = run("check", path, "--windows", "2016")
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 1, out)
        self.assertRegex(out, r"(?m)^  TLS 1\.2  Client: disabled \(explicit\) +Server: enabled \(explicit\)$")
        self.assertRegex(out, r"(?m)^  TLS 1\.0  Client: enabled \(Windows Server 2016 default\)  "
                              r"Server: enabled \(Windows Server 2016 default\)$")
        self.assertIn("ERROR    [tls12-client-not-enabled]", out)
        self.assertIn("Verdict: FAIL: this server cannot send to Exchange Online over TLS 1.2 "
                      "(TLS 1.2 Client is disabled); it can receive from it.", out)
        self.assertIn("Restart required", out)

    def test_regedit4_ansi_export_with_continuations_passes(self):
        text = keys(GOOD, header="REGEDIT4") + (
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Caf\u00e9]\n"
            '"Blob"=hex:01,02,03,\\\n  04,05\n'
            '"Q"=hex(b):01,00,00,00,\\\n    00,00,00,00\n')
        path = self.write("b.reg", regedit4(text))
        code, report = self.check_json(path)
        self.assertEqual(code, 0, report["problems"])
        self.assertEqual(self.state(report, "TLS 1.2", "client"), ("enabled", "explicit"))
        self.assertTrue(report["verdict"]["passes"])
        self.assertEqual(self.problem_ids(report), ["legacy-enabled"])

    def test_sample_export_in_tests_data(self):
        code, report = self.check_json(SAMPLE, windows="2016")
        self.assertEqual(code, 1)
        self.assertFalse(report["verdict"]["can_send_to_exchange_online"])
        self.assertTrue(report["verdict"]["can_receive_from_exchange_online"])
        self.assertEqual(self.state(report, "TLS 1.2", "client"), ("disabled_by_default", "explicit"))

    def test_stdin_and_utf8_with_bom(self):
        r = run("check", "-", "--json", stdin=b"\xef\xbb\xbf" + keys(GOOD).encode())
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(json.loads(r.stdout)["files"], ["-"])

    # --- every problem from a crafted export -----------------------------------------------

    def test_tls12_server_disabled_by_default_blocks_receiving(self):
        path = self.write("c.reg", regedit5(keys([("TLS 1.2\\Client", ON), ("TLS 1.2\\Server",
                                                   '"DisabledByDefault"=dword:00000001\n"Enabled"=dword:ffffffff')])))
        code, report = self.check_json(path)
        self.assertEqual(code, 1)
        self.assertIn("tls12-server-not-enabled", self.problem_ids(report))
        self.assertIn("client-server-mismatch", self.problem_ids(report))
        self.assertTrue(report["verdict"]["can_send_to_exchange_online"])
        self.assertFalse(report["verdict"]["can_receive_from_exchange_online"])

    def test_tls12_only_by_default_warns(self):
        code, report = self.check_json(self.write("d.reg", regedit5(keys([]))))
        self.assertEqual(code, 0)
        ids = self.problem_ids(report)
        self.assertIn("tls12-client-not-explicit", ids)
        self.assertIn("tls12-server-not-explicit", ids)
        self.assertIn("no-schannel-keys", ids)
        self.assertEqual(self.state(report, "TLS 1.2", "server"), ("enabled", "default"))

    def test_dotnet_values_missing_warn_per_key(self):
        code, report = self.check_json(self.write("e.reg", regedit5(keys(GOOD, dotnet=False))))
        self.assertEqual(code, 0)
        self.assertEqual(self.problem_ids(report).count("dotnet-not-inheriting"), 4)
        self.assertEqual([d["inherits_os_defaults"] for d in report["dotnet"]], [False] * 4)

    def test_tls13_enabled_on_2022_is_flagged_for_exchange(self):
        path = self.write("f.reg", regedit5(keys(GOOD)))
        code, report = self.check_json(path, windows="2022")
        self.assertEqual(code, 0)
        self.assertIn("tls13-enabled", self.problem_ids(report))
        self.assertEqual(self.state(report, "TLS 1.3", "client"), ("enabled", "default"))
        code, report = self.check_json(path, windows="2019")
        self.assertNotIn("tls13-enabled", self.problem_ids(report))
        self.assertEqual(self.state(report, "TLS 1.3", "client"), ("not_supported", "default"))

    def test_legacy_and_mismatch(self):
        path = self.write("g.reg", regedit5(keys(GOOD + [("TLS 1.0\\Server", OFF)])))
        code, report = self.check_json(path)
        self.assertEqual(code, 0)
        mismatch = [p for p in report["problems"] if p["id"] == "client-server-mismatch"]
        self.assertEqual(len(mismatch), 1)
        self.assertIn("TLS 1.0", mismatch[0]["message"])
        legacy = [p for p in report["problems"] if p["id"] == "legacy-enabled"][0]
        self.assertEqual(legacy["severity"], "info")
        self.assertIn("TLS 1.0 Client, TLS 1.1 Client, TLS 1.1 Server", legacy["message"])

    def test_deletions_across_two_exports(self):
        first = self.write("h1.reg", regedit5(keys([("TLS 1.2\\Client", ON), ("TLS 1.2\\Server", OFF)])))
        self.assertEqual(run("check", first).returncode, 1)
        second = self.write("h2.reg", regedit5(
            "Windows Registry Editor Version 5.00\n\n"
            f"[-{PROTOCOLS}\\TLS 1.2\\Server]\n\n"
            f"[{PROTOCOLS.lower()}\\tls 1.2\\client]\n\"Enabled\"=-\n"))
        code, report = self.check_json(first, second)
        self.assertEqual(code, 0)
        self.assertEqual(self.state(report, "TLS 1.2", "server"), ("enabled", "default"))
        self.assertEqual(self.state(report, "TLS 1.2", "client"), ("enabled", "mixed"))

    # --- bad input --------------------------------------------------------------------------

    def test_garbage_line_names_file_and_line(self):
        text = keys(GOOD).replace('"Enabled"=dword:00000001', "this is not a registry line", 1)
        path = self.write("bad.reg", regedit5(text))
        r = run("check", path)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, b"")
        self.assertIn(f"{path}:5: expected a key like", r.stderr.decode())

    def test_not_an_export_and_binary_noise(self):
        r = run("check", self.write("x.reg", b"hello world\n"))
        self.assertEqual(r.returncode, 2)
        self.assertIn(":1: not a registry export", r.stderr.decode())
        r = run("check", self.write("y.reg", bytes(range(256)) * 4))
        self.assertEqual(r.returncode, 2)
        self.assertIn("sluice schannel:", r.stderr.decode())
        r = run("check", self.dir)
        self.assertEqual(r.returncode, 2)
        self.assertIn("is a directory", r.stderr.decode())
        r = run("check", self.write("z.reg", b""))
        self.assertEqual(r.returncode, 2)
        self.assertIn("empty", r.stderr.decode())

    def test_bad_dword_and_truncated_continuation(self):
        text = "REGEDIT4\n[HKLM\\A]\n\"x\"=dword:1\n\"y\"=hex:01,\\\n"
        r = run("check", self.write("t.reg", regedit4(text)))
        self.assertEqual(r.returncode, 2)
        self.assertIn(":4: the value continues", r.stderr.decode())
        r = run("check", self.write("u.reg", regedit4("REGEDIT4\n[HKLM\\A]\n\"x\"=dword:fffffffff\n")))
        self.assertEqual(r.returncode, 2)
        self.assertIn(":3: ", r.stderr.decode())

    def test_usage_errors(self):
        good = self.write("ok.reg", regedit5(keys(GOOD)))
        for args in (("check", good, "--windows", "2008"), ("check",), ("check", os.path.join(self.dir, "none.reg")),
                     ("fix", "--format", "bat"), ("frobnicate",), ()):
            r = run(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("sluice schannel", r.stderr.decode() + r.stdout.decode(), args)

    # --- Windows Server 2008 R2, and keys Windows never reads -------------------------------------

    def test_windows_2008r2_needs_the_keys_and_names_the_updates(self):
        bare = self.write("bare.reg", regedit5(keys()))
        code, report = self.check_json(bare, windows="2008r2")
        self.assertEqual(code, 1)
        self.assertEqual((report["windows"], report["windows_name"]), ("2008r2", "Windows Server 2008 R2"))
        self.assertEqual(self.state(report, "TLS 1.2", "client"), ("disabled_by_default", "default"))
        self.assertEqual(self.state(report, "TLS 1.0", "server"), ("enabled", "default"))
        self.assertEqual(self.state(report, "TLS 1.3", "server")[0], "not_supported")
        ids = self.problem_ids(report)
        self.assertIn("tls12-client-not-enabled", ids)
        self.assertIn("tls12-server-not-enabled", ids)
        updates = next(p for p in report["problems"] if p["id"] == "updates-required")
        for kb in ("KB3140245", "KB3154518", "KB3161949", "KB3029667"):
            self.assertIn(kb, updates["message"])
        # With the keys, the registry side passes; the updates stay a warning it cannot verify.
        fixed = self.write("fixed.reg", regedit5(keys(GOOD)))
        code, report = self.check_json(fixed, windows="2008r2")
        self.assertEqual(code, 0, report["problems"])
        self.assertEqual(self.state(report, "TLS 1.2", "client"), ("enabled", "explicit"))
        self.assertIn("updates-required", self.problem_ids(report))
        text = run("check", fixed, "--windows", "2008r2").stdout.decode()
        self.assertIn("KB3140245", text)
        self.assertIn("Verdict: PASS", text)

    def test_norwegian_comma_key_and_misspellings_are_errors_naming_the_key(self):
        # The machine-translated Norwegian article writes ...\Protocols\TLS 1,2; a .reg file from it
        # imports fine and changes nothing.
        norwegian = [("TLS 1,2\\Client", ON), ("TLS 1,2\\Server", ON)]
        path = self.write("no.reg", regedit5(keys(norwegian)))
        r = run("check", path, "--windows", "2008r2")
        self.assertEqual(r.returncode, 1, r.stderr.decode())
        out = r.stdout.decode()
        self.assertIn(f"[{PROTOCOLS}\\TLS 1,2] (line 3) is not a key Schannel reads: it expects 'TLS 1.2'", out)
        self.assertIn("Verdict: FAIL", out)
        # On a Windows where TLS 1.2 is on by default the misspelling still fails the check.
        code, report = self.check_json(self.write("no16.reg", regedit5(keys(norwegian + GOOD))), windows="2016")
        self.assertEqual(code, 1)
        self.assertTrue(report["verdict"]["can_send_to_exchange_online"])
        self.assertFalse(report["verdict"]["passes"])
        self.assertIn("error above", report["verdict"]["text"])
        # TLS1.2, a trailing space, Enable for Enabled, a string where a DWORD belongs.
        text = keys([("TLS1.2\\Client", ON), ("TLS 1.2 \\Server", ON),
                     ("TLS 1.2\\Client", '"Enable"=dword:00000001\n"DisabledByDefault"=dword:00000000'),
                     ("TLS 1.2\\Server", '"Enabled"="1"\n"DisabledByDefault"=dword:00000000')])
        code, report = self.check_json(self.write("typos.reg", regedit5(text)), windows="2008r2")
        self.assertEqual(code, 1)
        errors = [p for p in report["problems"] if p["severity"] == "error"]
        messages = "\n".join(p["message"] for p in errors)
        self.assertIn(f"[{PROTOCOLS}\\TLS1.2] (line 3) is not a key Schannel reads: it expects 'TLS 1.2'", messages)
        self.assertIn(f"[{PROTOCOLS}\\TLS 1.2 ] (line 7) is not a key Schannel reads: it expects 'TLS 1.2'", messages)
        self.assertIn('TLS 1.2\\Client\\"Enable" (line 12) is not a value Schannel reads: it reads "Enabled"', messages)
        self.assertIn('TLS 1.2\\Server\\Enabled is REG_SZ "1" (line 16), not a DWORD', messages)
        self.assertEqual(sorted({p["id"] for p in errors}), ["unknown-key", "unknown-value", "value-ignored"])

    # --- fix ----------------------------------------------------------------------------------

    def test_fix_reg_round_trip(self):
        for extra, legacy_state in (([], "enabled"), (["--disable-legacy"], "disabled")):
            r = run("fix", *extra)
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            data = r.stdout
            self.assertTrue(data.startswith(b"\xff\xfe"))
            text = data[2:].decode("utf-16-le")
            self.assertTrue(text.startswith("Windows Registry Editor Version 5.00\r\n\r\n["))
            self.assertNotIn("\n", text.replace("\r\n", ""))
            self.assertIn(f"[{PROTOCOLS}\\TLS 1.2\\Client]\r\n\"DisabledByDefault\"=dword:00000000\r\n"
                          "\"Enabled\"=dword:00000001\r\n\r\n", text)
            self.assertIn("[HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v2.0.50727]\r\n"
                          "\"SystemDefaultTlsVersions\"=dword:00000001\r\n\"SchUseStrongCrypto\"=dword:00000001\r\n",
                          text)
            self.assertTrue(text.endswith("\r\n\r\n"))
            path = self.write("fix.reg", data)
            code, report = self.check_json(path, windows="2019")
            self.assertEqual(code, 0, report["problems"])
            self.assertEqual(self.state(report, "TLS 1.0", "server")[0], legacy_state)
            self.assertEqual([p["severity"] for p in report["problems"] if p["severity"] != "info"], [])
            self.assertEqual(self.problem_ids(report), [] if extra else ["legacy-enabled"])

    def test_fix_to_a_terminal_is_readable_text(self):
        import pty
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen([harness.SLUICE, "schannel", "fix"], stdout=slave, stderr=subprocess.PIPE)
            os.close(slave)
            slave = None
            data = b"".join(harness.pty_chunks(master))
            self.assertEqual(p.wait(timeout=30), 0)
            err = p.stderr.read().decode()
            p.stderr.close()
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)
        self.assertNotIn(b"\x00", data)
        self.assertFalse(data.startswith(b"\xff\xfe"))
        text = data.decode("ascii").replace("\r\n", "\n")  # the terminal turns \n into \r\n
        self.assertTrue(text.startswith("Windows Registry Editor Version 5.00\n\n["), text[:80])
        self.assertIn(f"[{PROTOCOLS}\\TLS 1.2\\Client]\n\"DisabledByDefault\"=dword:00000000\n", text)
        self.assertIn("-o fix.reg", err)
        # The same run into a pipe is still the file regedit imports.
        self.assertTrue(run("fix").stdout.startswith(b"\xff\xfe"))

    def test_fix_to_file_and_tls13(self):
        out = os.path.join(self.dir, "sub-fix.reg")
        r = run("fix", "--disable-tls13", "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout, b"")
        self.assertIn("restart", r.stderr.decode())
        code, report = self.check_json(out, windows="2022")
        self.assertEqual(code, 0)
        self.assertNotIn("tls13-enabled", self.problem_ids(report))
        self.assertEqual(self.state(report, "TLS 1.3", "server"), ("disabled", "explicit"))

    def test_fix_ps1(self):
        r = run("fix", "--format", "ps1", "--disable-legacy")
        self.assertEqual(r.returncode, 0)
        text = r.stdout.decode("ascii")
        self.assertEqual(text.count("New-Item -Path "), 10)
        self.assertEqual(text.count("-PropertyType DWord -Force"), 20)
        self.assertIn("New-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL"
                      "\\Protocols\\TLS 1.2\\Client' -Name 'Enabled' -Value 1 -PropertyType DWord -Force", text)
        last = text.rstrip("\r\n").splitlines()[-1]
        self.assertIn("Restart Windows", last)


if __name__ == "__main__":
    unittest.main(verbosity=2)
