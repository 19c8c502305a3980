"""The man pages scripts/make-man writes (the CMake target `man`): sluice(8), sluice.toml(5) and one
page per command that `sluice --help` lists, each free of warnings as man-db renders it for lintian
(`man --warnings -l`, 80 columns), and each made from the source it claims: every option of a
command's --help is on its page, every section of docs/configuration.md in sluice.toml(5)."""
import os
import re
import subprocess
import tempfile
import unittest

import harness

SECTIONS = {"probe": 1, "logscan": 1, "schannel": 1, "demo": 1}  # the rest: 8


def commands():
    out = subprocess.run([harness.SLUICE, "--help"], capture_output=True, text=True, check=True).stdout
    listed = out.split("Commands:\n", 1)[1]
    return re.findall(r"^  ([a-z][a-z0-9-]*) ", listed, re.M)


def subcommands(command):
    out = subprocess.run([harness.SLUICE, command, "--help"], capture_output=True, text=True, check=True).stdout
    listed = out.split("Subcommands:\n", 1)[1] if "Subcommands:\n" in out else ""
    return re.findall(r"^  ([a-z][a-z0-9-]*) ", listed, re.M)


def long_options(*command):
    out = subprocess.run([harness.SLUICE, *command, "--help"], capture_output=True, text=True, check=True).stdout
    return sorted(set(re.findall(r"(?:^  |,)(--[a-z][a-z0-9-]*)", out, re.M)))


def rendered(page):
    """The page as man shows it on an 80-column terminal, and man's warnings."""
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="0")
    p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", page], capture_output=True,
                       env=env, timeout=60)
    text = subprocess.run(["man", "-l", page], capture_output=True, env=dict(env, MANPAGER="cat"), timeout=60)
    # Hyphens and quotes come out as Unicode; overstrike bold/underline is removed.
    plain = re.sub(r".\x08", "", text.stdout.decode("utf-8")).replace("\u2010", "-").replace("\u2212", "-")
    return p.returncode, p.stderr.decode("utf-8", "replace"), plain


class ManPages(unittest.TestCase):
    CTEST_SECONDS = 15  # its rough duration: ctest starts the longest first

    @classmethod
    def setUpClass(cls):
        if os.environ.get("SLUICE_SANITIZER"):
            # help2man runs every --help: 38 s under ASan for pages that come from the release build.
            raise unittest.SkipTest("man pages are made from the release build (make deb), not a sanitizer tree")
        cls.out = tempfile.mkdtemp(prefix="sluice-man-")
        harness._made_dirs.append(cls.out)
        with open(os.path.join(harness.SOURCE_DIR, "CMakeLists.txt")) as f:
            cls.version = re.search(r"project\(sluice VERSION (\S+)", f.read()).group(1)
        p = subprocess.run([os.path.join(harness.SOURCE_DIR, "scripts/make-man"), harness.SLUICE, cls.out,
                            cls.version], capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError(f"make-man failed: {p.stderr}")
        cls.commands = commands()
        cls.pages = {name: rendered(os.path.join(cls.out, name)) for name in os.listdir(cls.out)}

    def test_one_page_per_command_and_no_other(self):
        expected = {"sluice.8", "sluice.toml.5"} | {f"sluice-{c}.{SECTIONS.get(c, 8)}" for c in self.commands}
        self.assertEqual(set(os.listdir(self.out)), expected)
        self.assertIn("serve", self.commands)

    def test_no_warnings_from_man(self):
        for name, (status, warnings, text) in sorted(self.pages.items()):
            self.assertEqual((status, warnings), (0, ""), name)
            self.assertIn(f"sluice {self.version}", text, name)

    def test_command_pages_carry_every_option_of_their_help(self):
        for command in self.commands:
            section = SECTIONS.get(command, 8)
            _, _, text = self.pages[f"sluice-{command}.{section}"]
            self.assertRegex(text, rf"\nNAME\n\s+sluice-{command}\s+-\s", command)
            for option in long_options(command):
                self.assertIn(option, text, f"{command}: {option}")
            for sub in subcommands(command):  # queue list, user add, ...: a COMMANDS section each
                section = text.split(f"\n   sluice {command} {sub}\n", 1)
                self.assertEqual(len(section), 2, f"{command} {sub}")
                for option in long_options(command, sub):
                    self.assertIn(option, section[1], f"{command} {sub}: {option}")
            self.assertIn("sluice.toml(5)", text)

    def test_sluice_page_lists_the_commands(self):
        _, _, text = self.pages["sluice.8"]
        for command in self.commands:
            self.assertRegex(text, rf"\n\s+{command}\s", command)
        self.assertIn("FILES", text)
        self.assertIn("--version", text)

    def test_configuration_page_is_docs_configuration(self):
        _, _, text = self.pages["sluice.toml.5"]
        with open(os.path.join(harness.SOURCE_DIR, "docs/configuration.md"), encoding="utf-8") as f:
            headings = re.findall(r"^## (.+)$", f.read(), re.M)
        self.assertGreater(len(headings), 5)
        for heading in headings:
            self.assertIn(heading.replace("`", ""), text)
        self.assertIn("max_directory_size", text)


if __name__ == "__main__":
    unittest.main()
