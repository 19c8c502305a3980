"""A private nginx (Debian's nginx-light) serving files over HTTPS on one loopback port, with one
virtual host (its own certificate, chosen by SNI) per server name, for tests that need a real web
server (MTA-STS policy hosts).

    with NginxSite() as web:
        web.add_host("mta-sts.example.test", cert, key, {".well-known/mta-sts.txt": "version: STSv1\\n..."})
        web.start()
        ...  # https://mta-sts.example.test:<web.port>/ (connect to 127.0.0.1)

Everything is in its own folder: the configuration (`nginx -c <conf> -p <prefix>`), the error and
access logs, the pid file and the temp paths; the host's nginx is not touched. Files are served as
`text/plain` unless `content_type` says otherwise; `redirects` answers a path with a 301."""
import os
import shutil
import subprocess
import tempfile
import time

import harness

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def available():
    """Why nginx cannot run here, or None when it can."""
    if not os.path.exists(NGINX):
        return "nginx is not installed (scripts/install-deps installs nginx-light)"
    return None


class NginxSite:
    def __init__(self, port=None):
        self.port = port or harness.free_port()
        self.dir = tempfile.mkdtemp(prefix="nginx-e2e-")
        harness._made_dirs.append(self.dir)
        os.chmod(self.dir, 0o755)  # the workers (user nobody when started as root) read the files
        self.hosts = []
        self.proc = None

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def add_host(self, server_name, cert, key, files, content_type="text/plain", redirects=()):
        """Serves `files` ({relative path: text}) as https://`server_name`/ with `cert` and `key`."""
        root = self.path("sites", server_name)
        for relative, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, relative)), exist_ok=True)
            with open(os.path.join(root, relative), "w", newline="") as f:
                f.write(text)
        for dirpath, dirnames, filenames in os.walk(self.path("sites")):
            os.chmod(dirpath, 0o755)
            for name in filenames:
                os.chmod(os.path.join(dirpath, name), 0o644)
        self.hosts.append((server_name, cert, key, root, content_type, tuple(redirects)))

    def _config(self):
        servers = []
        for name, cert, key, root, content_type, redirects in self.hosts:
            moves = "".join(f"    location = /{path} {{ return 301 https://elsewhere.test/{path}; }}\n"
                            for path in redirects)
            servers.append(f"""  server {{
    listen 127.0.0.1:{self.port} ssl;
    server_name {name};
    ssl_certificate {cert};
    ssl_certificate_key {key};
    root {root};
    default_type {content_type};
{moves}  }}
""")
        temp = self.path("temp")
        os.makedirs(temp, exist_ok=True)
        return f"""worker_processes 1;
error_log {self.path("error.log")} info;
events {{ worker_connections 64; }}
http {{
  log_format hosts '$host $request $status';
  access_log {self.path("access.log")} hosts;
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
  types {{ }}
{"".join(servers)}}}
"""

    def start(self):
        conf = self.path("nginx.conf")
        with open(conf, "w") as f:
            f.write(self._config())
        self.log = open(self.path("stderr.log"), "w")
        self.proc = subprocess.Popen([NGINX, "-c", conf, "-p", self.dir, "-g",
                                      f"daemon off; pid {self.path('nginx.pid')};"],
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}: {self.errors()}")
            if harness.listening(self.port):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on 127.0.0.1:{self.port}: {self.errors()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: fast shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "log", None) and not self.log.closed:
            self.log.close()

    def errors(self):
        text = ""
        for name in ("stderr.log", "error.log"):
            try:
                with open(self.path(name), errors="replace") as f:
                    text += f.read()
            except FileNotFoundError:
                pass
        return text

    def requests(self):
        """The access log's lines, one per request: "<host> <request line> <status>"."""
        try:
            with open(self.path("access.log")) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
