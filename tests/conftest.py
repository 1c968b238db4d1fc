"""Fixtures shared by every test folder: a data dir with small scenes made in code."""

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from rasterio.io import MemoryFile
from rasterio.transform import from_origin

from tests.engines.postgres import PostgresServer, create_database, drop_database
from tests.engines.postgres import start as start_postgres
from tests.engines.seaweed import SeaweedServer
from tests.engines.seaweed import start as start_seaweed
from tiles.catalog import Catalog, Scene
from tiles.ingest import describe_cog, to_cog
from tiles.sites import load_sites
from tiles.storage import open_storage, scene_key
from tumen.app import create_app
from tumen.http_protocol import TumenHttpProtocol
from tumen.settings import Settings

# UTM 52N origin a little west/north of Tumangang, so a 4.8 × 3.2 km scene (960 × 640 px at 5 m) covers
# bridge, khasan and tumangang (see tumen/sites.json).
BORDER_ORIGIN = (631_300.0, 4_699_250.0)


def make_cog(
    path: Path,
    *,
    origin: tuple[float, float] = BORDER_ORIGIN,
    size: tuple[int, int] = (960, 640),
    res: float = 5.0,
    seed: int = 0,
) -> Path:
    """A small RGB COG in EPSG:32652 with a random but reproducible texture."""
    width, height = size
    rng = np.random.default_rng(seed)
    data = rng.integers(1, 255, size=(3, height, width), dtype=np.uint8)
    return write_cog(path, data, crs="EPSG:32652", transform=from_origin(*origin, res, res))


def write_cog(path: Path, data: np.ndarray, *, crs: str, transform: Any) -> Path:
    """``data`` (bands, rows, cols) as a COG at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count, height, width = data.shape
    profile = {"driver": "GTiff", "dtype": data.dtype.name, "count": count}
    profile |= {"width": width, "height": height, "crs": crs, "transform": transform}
    with MemoryFile() as mem:
        with mem.open(**profile) as ds:
            ds.write(data)
        with mem.open() as ds:
            to_cog(ds, path, quiet=True)
    return path


def register(
    settings: Settings, scene_id: str, when: str, *, seed: int = 0, synthetic: bool = True, **kw
) -> Scene:
    """Make a COG in the data dir and register it under ``scene_id`` at ``when``."""
    path = make_cog(settings.scenes_dir / f"{scene_id}.tif", seed=seed, **kw)
    return register_file(settings, path, scene_id, when, synthetic=synthetic)


def register_file(settings: Settings, path: Path, scene_id: str, when: str, **update: Any) -> Scene:
    """Register the COG at ``path`` as ``scene_id`` at ``when`` (``update``: fields to set).

    With object storage (``settings.storage_url``) the COG is put there and the scene names it.
    """
    scene = describe_cog(
        path,
        scene_id=scene_id,
        when=datetime.fromisoformat(when),
        sites=load_sites(settings.sites_file),
        provider="test provider",
        licence="CC0-1.0",
        description="SYNTHETIC test scene",
        synthetic=True,
        data_dir=settings.data_dir,
    ).model_copy(update=update)
    if settings.storage_url and "path" not in update:
        storage = open_storage(settings.storage_url, settings.data_dir)
        key = scene_key(scene_id, scene.version)
        storage.put(key, path)
        scene = scene.model_copy(update={"path": storage.location(key)})
    return Catalog(settings.database, settings.data_dir).add(scene)


# The backend the app-making fixtures use (issue 15): `--backend=sqlite` (local files, the
# default) or `--backend=postgres+s3`; each part of it adds its settings in `backend_settings`.
BACKENDS = ("sqlite", "s3", "postgres", "postgres+s3")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        default="sqlite",
        choices=BACKENDS,
        help="Run the app-making fixtures against this backend (default: sqlite and local files).",
    )


def backend_parts(config: pytest.Config) -> set[str]:
    """The engines of the chosen --backend: {'sqlite'}, {'s3'}, {'postgres'} or {'postgres', 's3'}."""
    return set(str(config.getoption("--backend")).split("+"))


def backend_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings fields of the chosen --backend (none for sqlite)."""
    fields: dict[str, Any] = {}
    if "s3" in backend_parts(request.config):  # object storage: a fresh prefix of the SeaweedFS
        url = request.getfixturevalue("seaweed").storage_url("suite")
        # Commands run in the test (CliRunner, `tumen serve`, the baker) write there too.
        request.getfixturevalue("monkeypatch").setenv("TUMEN_STORAGE_URL", url)
        fields["storage_url"] = url
    if "postgres" in backend_parts(request.config):  # a fresh database of the session's cluster
        url = request.getfixturevalue("postgres_url")
        # Commands run in the test (CliRunner, `tumen serve`, the baker) read the same database.
        request.getfixturevalue("monkeypatch").setenv("TUMEN_DATABASE_URL", url)
        fields["database_url"] = url
    return fields


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """SeaweedFS (`weed mini`) on loopback for the session; this process's AWS_* variables name it."""
    server = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    saved = {name: os.environ.get(name) for name in server.env()}
    os.environ.update(server.env())
    try:
        yield server
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.stop()


PG_TEMPLATE = "tumen_template"
_DATABASES = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL 15 + PostGIS cluster for the session, with a migrated template."""
    from tumen.db import upgrade

    server = start_postgres()
    try:
        upgrade(create_database(server, PG_TEMPLATE))
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """A database of one test's own, migrated (a copy of the template), dropped after it."""
    name = f"test_{next(_DATABASES)}"
    url = create_database(postgres, name, template=PG_TEMPLATE)
    yield url
    drop_database(postgres, name)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The --backend's settings fields; a test that asks for it runs again in the backend pass."""
    return backend_settings(request)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --backend other than sqlite: only the tests that reach the catalog, store or storage.

    Those ask for the ``backend`` fixture (most through ``settings``) or are marked ``backend``
    (module-scoped fixtures); the others ran in the SQLite pass and would only run the same again,
    as would those marked ``above_storage`` (HTTP details, map clients, load: ~5 min).
    """
    if backend_parts(config) == {"sqlite"}:
        return
    kept, dropped = [], []
    for item in items:
        uses = "backend" in getattr(item, "fixturenames", ()) or item.get_closest_marker("backend")
        if item.get_closest_marker("above_storage"):
            uses = False
        (kept if uses else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def settings(backend: dict[str, Any], tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", **backend)


@pytest.fixture
def border_scenes(settings: Settings) -> list[Scene]:
    """Three dated scenes of the border area, like the 2022-11-04 images."""
    return [
        register(settings, "border-a", "2022-11-04T10:24:00+09:00", seed=1),
        register(settings, "border-b", "2022-11-04T13:10:00+09:00", seed=2),
        register(settings, "border-c", "2022-11-04T14:29:00+09:00", seed=3),
    ]


@pytest.fixture
def client(settings: Settings, border_scenes: list[Scene]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def read_bounds(path: Path) -> tuple[float, float, float, float]:
    with rasterio.open(path) as ds:
        return tuple(ds.bounds)  # type: ignore[return-value]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """A real uvicorn serving ``create_app(settings)`` on a free local port, in a thread.

    ``requests`` is the server's access log: (method, path, query, status) of every request.
    """

    def __init__(self, settings: Settings) -> None:
        import threading

        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[tuple[str, str, str, int]] = []
        self.bodies: list[tuple[str, str, bytes]] = []
        app = create_app(settings)

        async def logged(scope, receive, send):  # type: ignore[no-untyped-def]
            if scope["type"] != "http":
                return await app(scope, receive, send)

            body = b""
            if scope["method"] in ("POST", "PUT", "PATCH"):
                chunks = []
                while True:
                    message = await receive()
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body"):
                        break
                body = b"".join(chunks)
                self.bodies.append((scope["method"], scope["path"], body))
                sent, upstream = False, receive

                async def replay():  # type: ignore[no-untyped-def]
                    nonlocal sent
                    if sent:
                        return await upstream()
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}

                receive = replay

            async def record(message):  # type: ignore[no-untyped-def]
                if message["type"] == "http.response.start":
                    query = scope.get("query_string", b"").decode()
                    self.requests.append((scope["method"], scope["path"], query, message["status"]))
                await send(message)

            await app(scope, receive, record)

        config = uvicorn.Config(
            logged, host="127.0.0.1", port=self.port, log_level="warning", http=TumenHttpProtocol
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        import time

        import httpx

        self.thread.start()
        for _ in range(200):
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("live server did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(settings: Settings, border_scenes: list[Scene]) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


@contextmanager
def served(settings: Settings, **env: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`tumen serve` as a user runs it, in its own process group, on a free port; yields (proc, url)."""
    import httpx

    port = free_port()
    environ = {
        **os.environ,
        "TUMEN_DATA_DIR": str(settings.data_dir),
        "TUMEN_PORT": str(port),
        "TUMEN_LOG_LEVEL": "warning",
        **env,
    }
    tumen = Path(sys.executable).with_name("tumen")
    proc = subprocess.Popen(
        [str(tumen), "serve"],
        env=environ,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"tumen serve did not start: {proc.stderr.read(2000)!r}")  # type: ignore[union-attr]
        yield proc, base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
