"""Remote COGs: linked and read by range requests (a local server with Range), copied, or refused."""

import functools
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient
from rasterio.io import MemoryFile
from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles
from typer.testing import CliRunner

from tests.conftest import free_port, make_cog
from tiles.catalog import Catalog
from tumen.app import create_app
from tumen.cli import app
from tumen.settings import Settings

runner = CliRunner()
TILE = "tiles/WebMercatorQuad/16/56550/24226.png"


@pytest.fixture
def cog_dir(tmp_path: Path) -> Path:
    d = tmp_path / "www"
    d.mkdir()
    make_cog(d / "remote.tif", seed=11)
    return d


@pytest.fixture
def range_server(cog_dir: Path) -> Iterator[str]:
    """Starlette's static files answer Range requests with 206, like a cloud bucket."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=[]), host="127.0.0.1", port=port, log_level="warning")
    )
    server.config.app.mount("/", StaticFiles(directory=cog_dir))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        pass
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def plain_server(cog_dir: Path) -> Iterator[str]:
    """Python's http.server ignores Range and sends the whole file with 200."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(cog_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TUMEN_DATA_DIR", str(settings.data_dir))
    return settings


def pixels(png: bytes) -> np.ndarray:
    with MemoryFile(png) as mem, mem.open() as ds:
        return ds.read()


def test_linked_remote_cog_serves_the_same_tiles_as_the_file(
    env: Settings, range_server: str, cog_dir: Path
) -> None:
    url = f"{range_server}/remote.tif"
    r = runner.invoke(
        app,
        [
            "ingest",
            url,
            "--source",
            "bucket",
            "--datetime",
            "2022-11-04T10:24:00+09:00",
            "--id",
            "linked",
            "--no-bake",
        ],
    )
    assert r.exit_code == 0, r.output
    scene = Catalog(env.database, env.data_dir).get("linked")
    assert scene.path == url and not list(env.scenes_dir.glob("*.tif"))
    from tests.conftest import register

    register(env, "local", "2022-11-04T10:24:00+09:00", seed=11)
    with TestClient(create_app(env)) as client:
        remote = client.get(f"/scenes/linked/{TILE}")
        local = client.get(f"/scenes/local/{TILE}")
    assert remote.status_code == local.status_code == 200
    np.testing.assert_array_equal(pixels(remote.content), pixels(local.content))


def test_copy_downloads_and_converts(env: Settings, range_server: str) -> None:
    r = runner.invoke(
        app,
        [
            "ingest",
            f"{range_server}/remote.tif",
            "--copy",
            "--source",
            "bucket",
            "--datetime",
            "2022-11-04T10:24:00+09:00",
            "--id",
            "copied",
            "--no-bake",
        ],
    )
    assert r.exit_code == 0, r.output
    scene = Catalog(env.database, env.data_dir).get("copied")
    if env.storage_url:  # copied into S3, under its immutable key
        assert scene.path == f"{env.storage_url}/scenes/copied/{scene.version}/copied.tif"
    else:
        assert scene.path == "scenes/copied.tif" and (env.scenes_dir / "copied.tif").is_file()


def test_server_without_range_is_refused_and_catalog_unchanged(
    env: Settings, plain_server: str
) -> None:
    r = runner.invoke(
        app,
        [
            "ingest",
            f"{plain_server}/remote.tif",
            "--source",
            "x",
            "--datetime",
            "2022-11-04T10:24:00+09:00",
        ],
    )
    assert r.exit_code != 0
    assert "does not support HTTP range requests (answered 200" in r.output
    assert Catalog(env.database, env.data_dir).list() == []


def test_unreachable_url_is_refused(env: Settings) -> None:
    r = runner.invoke(
        app,
        [
            "ingest",
            f"http://127.0.0.1:{free_port()}/x.tif",
            "--source",
            "x",
            "--datetime",
            "2022-11-04T10:24:00+09:00",
        ],
    )
    assert r.exit_code != 0 and "cannot be reached" in r.output
    assert Catalog(env.database, env.data_dir).list() == []


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers, like a stalled bucket."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.mark.parametrize("mode", ["--link", "--copy"])
def test_url_that_times_out_is_refused_and_catalog_unchanged(
    env: Settings, silent_server: str, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("TUMEN_REMOTE_TIMEOUT", "1")
    r = runner.invoke(
        app,
        [
            "ingest",
            f"{silent_server}/x.tif",
            mode,
            "--source",
            "x",
            "--datetime",
            "2022-11-04T10:24:00+09:00",
        ],
    )
    assert r.exit_code != 0
    assert f"{silent_server}/x.tif: timed out after 1 s" in r.output
    assert Catalog(env.database, env.data_dir).list() == []
