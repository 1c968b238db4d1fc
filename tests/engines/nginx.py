"""Debian's nginx running deploy/nginx-multi.conf on loopback, in a temp dir, in front of given instances.

The config is the deployed file itself with three lines rewritten: the upstream servers, the listen
address and the worker user (root starts nginx; its workers run as www-data, so the temp dir is theirs).
"""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "nginx-multi.conf"
UPSTREAM = re.compile(r"(upstream tumen \{\n(?:\s*least_conn;\n)?)((?:\s*server [^\n]+;\n)+)")
LISTEN = re.compile(r"^(\s*)listen 127\.0\.0\.1:8080;$", re.M)
USER = re.compile(r"^user www-data;$", re.M)


def nginx_binary() -> str | None:
    """Debian's nginx (in /usr/sbin, which a non-root PATH may lack), or None."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_for(upstreams: list[str], port: int, user: str | None) -> str:
    """deploy/nginx-multi.conf with these upstream servers (host:port), this port and worker user."""
    text = CONFIG.read_text()
    servers = "".join(f"        server {u} max_fails=1 fail_timeout=5s;\n" for u in upstreams)
    text, n_up = UPSTREAM.subn(lambda m: m[1] + servers, text)
    text, n_listen = LISTEN.subn(lambda m: f"{m[1]}listen 127.0.0.1:{port};", text)
    text, n_user = USER.subn(f"user {user};" if user else "", text)
    if (n_up, n_listen, n_user) != (1, 1, 1):
        raise RuntimeError(f"{CONFIG} no longer has the lines the test fixture rewrites")
    return text


class Nginx:
    """A running nginx master (own session), its prefix dir and its URL."""

    def __init__(self, upstreams: list[str], edit: Callable[[str], str] | None = None) -> None:
        """Start nginx in front of ``upstreams`` (host:port); ``edit`` changes the config first."""
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is missing: `make system` installs Debian's nginx-light")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.prefix = Path(tempfile.mkdtemp(prefix="tumen-nginx-"))
        user = None
        if os.geteuid() == 0:  # workers drop to www-data: the prefix (cache, temp) must be theirs
            user = "www-data"
            self.prefix.chmod(0o755)
        for sub in ("temp", "cache", "logs"):
            (self.prefix / sub).mkdir()
        self.config = self.prefix / "nginx.conf"
        text = config_for(upstreams, self.port, user)
        self.config.write_text(edit(text) if edit else text)
        if user:
            entry = pwd.getpwnam(user)
            for path in [self.prefix, *self.prefix.rglob("*")]:
                os.chown(path, entry.pw_uid, entry.pw_gid)
        command = [binary, "-p", str(self.prefix), "-c", str(self.config), "-e", "stderr"]
        check = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
        if check.returncode != 0:
            shutil.rmtree(self.prefix, ignore_errors=True)
            raise RuntimeError(f"nginx -t refused the config: {check.stderr}")
        self.log = self.prefix / "logs" / "stderr.log"
        self._log = self.log.open("wb")
        self.proc = subprocess.Popen(
            [*command, "-g", "daemon off;"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"nginx did not start: {self.errors()}") from None
                time.sleep(0.05)

    def errors(self) -> str:
        """What nginx wrote to its error log so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """Stop the master and its workers (SIGTERM: fast shutdown), remove the prefix dir."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()
        shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self) -> "Nginx":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
