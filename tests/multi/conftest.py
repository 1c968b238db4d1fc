"""Three real `tumen serve` instances on one data set, behind Debian's nginx with deploy/nginx-multi.conf.

The instances share the catalog and sightings (the SQLite file, or PostgreSQL with
--backend=postgres+s3) and the imagery (the data dir, or an S3 prefix): each is a separate process
as on separate machines (with PostgreSQL and S3 each has a data dir of its own, as a machine would),
and nothing but the shared engines connects them.
"""

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.conftest import PG_TEMPLATE, backend_parts, free_port, register
from tests.engines.nginx import Nginx, nginx_binary
from tests.engines.postgres import create_database, drop_database
from tumen.settings import Settings

KEY = "multi-test-key"
AUTH = {"X-API-Key": KEY}
ITEMS = "/api/collections/observations/items"
TUMEN = str(Path(sys.executable).with_name("tumen"))
ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


def instance_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a `tumen` process exactly these settings (TUMEN_* variables)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUMEN_")}
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"TUMEN_{name.upper()}"] = str(value)
    return env


class Instance:
    """One `tumen serve` (1 worker, no baker behind it) on its own port, in its own process group."""

    def __init__(self, name: str, settings: Settings, logs: Path) -> None:
        self.name = name
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.address = f"127.0.0.1:{self.port}"
        self.log = logs / f"tumen-{name}.log"
        self.env = instance_env(settings)
        if settings.database_url and settings.storage_url:  # nothing shared on local disk
            self.env["TUMEN_DATA_DIR"] = str(logs / f"data-{name}")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process (returns at once; see wait_ready)."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [TUMEN, "serve", "--no-bake", "--port", str(self.port)],
                env=self.env,
                start_new_session=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        """Until /healthz answers 200 (the process must not exit meanwhile)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"tumen instance {self.name} did not start:\n{tail}")
            time.sleep(0.1)

    def kill9(self) -> None:
        """SIGKILL the instance's whole process group, as a machine dying would."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after 20 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill9()

    def requests(self) -> list[tuple[str, str, int]]:
        """(method, path with query, status) of every request in the instance's access log so far."""
        text = self.log.read_text(errors="replace")
        return [(m["method"], m["path"], int(m["status"])) for m in ACCESS.finditer(text)]


class Cluster:
    """The instances, nginx in front of them, and the settings they share."""

    def __init__(self, settings: Settings, instances: list[Instance], nginx: Nginx) -> None:
        self.settings = settings
        self.instances = instances
        self.nginx = nginx

    @property
    def url(self) -> str:
        """nginx: where clients go."""
        return self.nginx.url

    def ingest(self, path: Path, scene_id: str, when: str) -> float:
        """`tumen ingest` as run on instance A's machine; returns the monotonic time it exited."""
        command = [TUMEN, "ingest", str(path), "--source", "test provider", "--id", scene_id]
        command += ["--datetime", when, "--description", "SYNTHETIC test scene"]
        command += ["--no-bake", "--no-analyze"]
        done = subprocess.run(
            command, env=self.instances[0].env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return time.monotonic()

    def served_by(self) -> Counter[str]:
        """How many requests each instance answered so far."""
        return Counter({i.name: len(i.requests()) for i in self.instances})


def cluster_settings(data_dir: Path, **backend: Any) -> Settings:
    """The settings every instance of the cluster runs with (``backend``: database, storage)."""
    return Settings(
        data_dir=data_dir,
        api_key=SecretStr(KEY),
        write_rate=0,  # the load tests are not about the per-worker rate limit
        log_level="info",  # the access log says which instance answered what
        tile_cache_mb=64,
        **backend,
    )


@contextmanager
def shared_engines(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The --backend's settings for a whole module: a database of its own, a storage prefix."""
    fields: dict[str, Any] = {}
    parts = backend_parts(request.config)
    if "s3" in parts:  # the session's SeaweedFS (it names itself in this process's AWS_* vars)
        fields["storage_url"] = request.getfixturevalue("seaweed").storage_url("multi")
    if "postgres" not in parts:
        yield fields
        return
    server = request.getfixturevalue("postgres")
    name = f"multi_{secrets.token_hex(4)}"
    fields["database_url"] = create_database(server, name, template=PG_TEMPLATE)
    try:
        yield fields
    finally:
        drop_database(server, name)


@pytest.fixture(scope="module")
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Two scenes, three instances (A, B, C) and nginx, for the tests of one module."""
    if nginx_binary() is None:
        pytest.fail("nginx is missing: `make system` installs Debian's nginx-light")
    with shared_engines(request) as backend:
        yield from _cluster(tmp_path_factory.mktemp("multi"), backend)


def _cluster(root: Path, backend: dict[str, Any]) -> Iterator[Cluster]:
    settings = cluster_settings(root / "data", **backend)
    register(settings, "border-a", "2022-11-04T10:24:00+09:00", seed=1)
    register(settings, "border-b", "2022-11-04T13:10:00+09:00", seed=2)
    instances = [Instance(name, settings, root) for name in "abc"]
    nginx: Nginx | None = None
    try:
        for instance in instances:
            instance.start()
        for instance in instances:
            instance.wait_ready()
        nginx = Nginx([i.address for i in instances])
        yield Cluster(settings, instances, nginx)
    finally:
        if nginx is not None:
            nginx.stop()
        for instance in instances:
            instance.stop()
