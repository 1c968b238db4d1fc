"""Object storage for real: scenes and archives in SeaweedFS (S3), read through GDAL and by range.

Every S3 request counted here is one the server received (its Prometheus metrics).
"""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import morecantile
import numpy as np
import pytest
from fastapi.testclient import TestClient
from rasterio.io import MemoryFile
from rio_tiler.io import Reader
from typer.testing import CliRunner

from tests.conftest import free_port, make_cog, register
from tests.engines import seaweed as seaweed_engine
from tests.engines.conftest import database_of
from tests.engines.seaweed import SeaweedServer
from tiles.bake import archive_path, bake_scene
from tiles.catalog import Catalog
from tiles.errors import StorageUnavailable
from tiles.storage import S3Objects, S3Storage, open_storage, split_s3
from tumen.app import create_app
from tumen.cli import app as cli
from tumen.settings import Settings

BRIDGE = (130.6395, 42.4243)  # inside the border test scenes
WEB = morecantile.tms.get("WebMercatorQuad")
NATIVE = 14  # the 5 m test scenes' native zoom (where baking starts)


def tile_at(z: int, dx: int = 0) -> tuple[int, int, int]:
    t = WEB.tile(*BRIDGE, z)
    return z, t.x + dx, t.y


def pixels(img: bytes) -> np.ndarray:
    with MemoryFile(img) as mem, mem.open() as ds:
        return ds.read()


def storage_of(settings: Settings) -> S3Storage:
    storage = open_storage(settings.storage_url, settings.data_dir)
    assert isinstance(storage, S3Storage)
    return storage


def head(storage: S3Storage, location: str) -> dict:
    bucket, key = split_s3(location)
    return storage.objects.client.head_object(Bucket=bucket, Key=key)  # type: ignore[no-any-return]


def ingest(settings: Settings, src: Path, scene_id: str, *extra: str) -> None:
    env = {"TUMEN_DATA_DIR": str(settings.data_dir), "TUMEN_STORAGE_URL": settings.storage_url}
    args = ["ingest", str(src), "--source", "test", "--id", scene_id, "--no-analyze"]
    args += ["--datetime", "2022-11-04T13:10:00+09:00", *extra]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output


def test_a_scene_ingested_to_s3_serves_the_pixels_of_the_local_cog(
    s3: Settings, seaweed: SeaweedServer, tmp_path: Path
) -> None:
    src = make_cog(tmp_path / "src" / "border.tif", seed=7)
    ingest(s3, src, "border-s3", "--no-bake")
    scene = Catalog(s3.database, s3.data_dir).get("border-s3")
    storage = storage_of(s3)
    assert scene.path == storage.location(f"scenes/border-s3/{scene.version}/border-s3.tif")
    assert storage.exists(f"scenes/border-s3/{scene.version}/border-s3.tif")
    assert not list(s3.scenes_dir.rglob("*.tif"))  # only staged here, stored in S3

    z, x, y = tile_at(NATIVE + 2)
    with TestClient(create_app(s3)) as c:
        before = seaweed.gets()
        cold = c.get(f"/scenes/border-s3/tiles/WebMercatorQuad/{z}/{x}/{y}.png")
        cold_gets = seaweed.gets() - before
        assert cold.status_code == 200, cold.text
        assert cold.headers["x-tumen-source"] == "dynamic"
        before = seaweed.gets()
        near = c.get(f"/scenes/border-s3/tiles/WebMercatorQuad/{z}/{x + 1}/{y}.png")
        warm_gets = seaweed.gets() - before
        assert near.status_code == 200
    # The same tile as rio-tiler reads it from the local COG.
    with Reader(str(src)) as local:
        expected = local.tile(x, y, z)
    got = pixels(cold.content)
    np.testing.assert_array_equal(got[:3], expected.data)
    np.testing.assert_array_equal(got[3] > 0, expected.mask > 0)
    # GDAL opens the COG with one ranged GET (header and directories) and fetches the blocks of a
    # tile in merged ranges; a neighbouring tile reuses the open dataset and its cached ranges.
    assert 1 <= cold_gets <= 4, cold_gets
    assert warm_gets <= 2, warm_gets


def test_a_baked_archive_is_served_from_s3_by_range(s3: Settings, seaweed: SeaweedServer) -> None:
    scene = register(s3, "border-a", "2022-11-04T10:24:00+09:00", seed=1)
    storage = storage_of(s3)
    baked = bake_scene(Catalog(s3.database, s3.data_dir), scene, workers=1, storage=storage)
    assert baked is not None and baked.archive is not None
    assert baked.archive.startswith(storage.location("baked/border-a/"))
    assert not archive_path(s3.data_dir, "border-a").exists()  # nothing baked locally
    whole = storage.open_range(baked.archive)
    size = whole.size()

    z, x, y = tile_at(NATIVE)
    url = f"/scenes/border-a/tiles/WebMercatorQuad/{z}/{x}/{y}.webp"
    with TestClient(create_app(s3)) as c:
        counts = [seaweed.gets()]
        cold = c.get(url)  # opens the archive: header, root directory and metadata, then the tile
        counts.append(seaweed.gets())
        warm = c.get(f"/scenes/border-a/tiles/WebMercatorQuad/{z}/{x + 1}/{y}.webp")
        counts.append(seaweed.gets())
        again = c.get(url)
        counts.append(seaweed.gets())
        rendered = c.get(url, params={"tilesize": 256})  # bypasses the archive

        assert [r.headers["x-tumen-source"] for r in (cold, warm, again)] == ["baked"] * 3
        cold_gets, warm_gets, again_gets = np.diff(counts)
        assert cold_gets == 2, cold_gets  # the first 16 KiB, then the tile's bytes
        assert warm_gets == 1 and again_gets == 1, (warm_gets, again_gets)  # one ranged GET
        np.testing.assert_array_equal(pixels(cold.content), pixels(rendered.content))

        # PMTiles clients read the archive itself by range, from S3 through tumen.
        first = c.get("/scenes/border-a.pmtiles", headers={"Range": "bytes=0-126"})
        assert first.status_code == 206 and first.content.startswith(b"PMTiles\x03")
        assert first.headers["content-range"] == f"bytes 0-126/{size}"
        assert first.content == whole.get_bytes(0, 127)
        tail = c.get("/scenes/border-a.pmtiles", headers={"Range": "bytes=-10"})
        assert tail.status_code == 206 and tail.content == whole.get_bytes(size - 10, 10)
        past = c.get("/scenes/border-a.pmtiles", headers={"Range": f"bytes={size + 5}-"})
        assert past.status_code == 416
        full = c.get("/scenes/border-a.pmtiles")
        assert full.status_code == 200 and len(full.content) == size


def test_a_rebake_writes_a_new_key_and_never_overwrites_the_old_one(
    s3: Settings, seaweed: SeaweedServer, tmp_path: Path
) -> None:
    storage = storage_of(s3)
    catalog = Catalog(s3.database, s3.data_dir)
    ingest(s3, make_cog(tmp_path / "v1.tif", seed=1), "border-a", "--no-bake")
    first = bake_scene(catalog, catalog.get("border-a"), workers=1, storage=storage)
    assert first is not None and first.archive is not None
    old = head(storage, first.archive)

    # The same content baked again: the key is its hash, already there, so nothing is written.
    puts = seaweed.requests()[("PUT", "200")]
    again = bake_scene(catalog, catalog.get("border-a"), workers=1, storage=storage)
    assert again is not None and again.archive == first.archive
    assert seaweed.requests()[("PUT", "200")] == puts

    # New imagery under the same id: a new COG key and a new archive key; the old ones stay whole.
    ingest(s3, make_cog(tmp_path / "v2.tif", seed=2), "border-a", "--no-bake")
    changed = catalog.get("border-a")
    assert changed.version != first.version and changed.path != first.path
    second = bake_scene(catalog, changed, workers=1, storage=storage)
    assert second is not None and second.archive not in (None, first.archive)
    assert catalog.get("border-a").archive == second.archive  # the catalog switched
    kept = head(storage, first.archive)
    assert (kept["ETag"], kept["LastModified"]) == (old["ETag"], old["LastModified"])
    assert storage.exists(f"scenes/border-a/{first.version}/border-a.tif")
    assert sorted(storage.keys("baked/")) == sorted(
        [f"baked/border-a/{first.archive.rsplit('/', 1)[1]}", second.archive.split("/", 4)[4]]
    )


def test_rasterio_makes_no_boto3_session_per_env_once_s3_is_open(s3: Settings) -> None:
    import rasterio
    from rasterio.session import DummySession

    storage_of(s3)  # the AWS_* variables are set (the session fixture's)
    assert isinstance(rasterio.Env().session, DummySession)  # not a boto3 lookup per Env


def test_export_tiles_and_rm_work_on_objects_in_s3(s3: Settings, tmp_path: Path) -> None:
    storage = storage_of(s3)
    scene = register(s3, "border-a", "2022-11-04T10:24:00+09:00", seed=1)
    baked = bake_scene(Catalog(s3.database, s3.data_dir), scene, workers=1, storage=storage)
    assert baked is not None and baked.archive is not None
    env = {"TUMEN_DATA_DIR": str(s3.data_dir), "TUMEN_STORAGE_URL": s3.storage_url}
    out = tmp_path / "static"
    exported = CliRunner().invoke(cli, ["export-tiles", "border-a", "--out", str(out)], env=env)
    assert exported.exit_code == 0, exported.output
    z, x, y = tile_at(NATIVE)
    with TestClient(create_app(s3)) as c:
        tile = c.get(f"/scenes/border-a/tiles/WebMercatorQuad/{z}/{x}/{y}.webp")
    assert (out / str(z) / str(x) / f"{y}.webp").read_bytes() == tile.content
    assert f"wrote {len(list(out.rglob('*.webp')))} tiles" in exported.output

    removed = CliRunner().invoke(cli, ["scenes", "rm", "border-a"], env=env)
    assert removed.exit_code == 0, removed.output
    assert list(storage.keys()) == []  # its COG and its archive are gone from the bucket


def test_migrate_copies_a_local_data_dir_up_once(
    backend: dict[str, Any],
    seaweed: SeaweedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TUMEN_STORAGE_URL", raising=False)  # the local data dir's, to begin with
    local = Settings(data_dir=tmp_path / "data", **database_of(backend))
    a = register(local, "border-a", "2022-11-04T10:24:00+09:00", seed=1)
    register(local, "border-b", "2022-11-04T13:10:00+09:00", seed=2)
    bake_scene(Catalog(local.database, local.data_dir), a, workers=1)
    z, x, y = tile_at(NATIVE)
    with TestClient(create_app(local)) as c:
        before = {
            s: c.get(f"/scenes/border-{s}/tiles/WebMercatorQuad/{z}/{x}/{y}.webp") for s in "ab"
        }

    url = seaweed.storage_url("migrate")
    env = {"TUMEN_DATA_DIR": str(local.data_dir), "TUMEN_STORAGE_URL": url}
    puts = seaweed.requests()[("PUT", "200")]
    first = CliRunner().invoke(cli, ["storage", "migrate"], env=env)
    assert first.exit_code == 0, first.output
    assert "3 files copied" in first.output, first.output.replace("\n", " ")
    assert seaweed.requests()[("PUT", "200")] == puts + 3
    scenes = {s.id: s for s in Catalog(local.database, local.data_dir).list()}
    assert all(s.path.startswith(url + "/scenes/") for s in scenes.values())
    assert scenes["border-a"].archive and scenes["border-a"].archive.startswith(url + "/baked/")
    assert scenes["border-a"].is_baked and scenes["border-b"].archive is None

    second = CliRunner().invoke(cli, ["storage", "migrate"], env=env)
    assert second.exit_code == 0, second.output
    assert "nothing to migrate" in second.output
    assert seaweed.requests()[("PUT", "200")] == puts + 3  # nothing written the second time
    assert {s.id: s for s in Catalog(local.database, local.data_dir).list()} == scenes

    # The local files are no longer read: the same tiles come from S3.
    for path in local.scenes_dir.glob("*.tif"):
        path.unlink()
    archive_path(local.data_dir, "border-a").unlink()
    moved = local.model_copy(update={"storage_url": url})
    with TestClient(create_app(moved)) as c:
        for s in "ab":
            after = c.get(f"/scenes/border-{s}/tiles/WebMercatorQuad/{z}/{x}/{y}.webp")
            assert after.status_code == 200
            assert after.headers["x-tumen-source"] == before[s].headers["x-tumen-source"]
            np.testing.assert_array_equal(pixels(after.content), pixels(before[s].content))


@pytest.fixture
def doomed(tmp_path: Path) -> Iterator[SeaweedServer]:
    """A SeaweedFS of this test alone, which the test stops."""
    server = seaweed_engine.start(tmp_path)
    yield server
    server.stop()


def test_s3_lost_during_requests_is_503_with_retry_after(
    doomed: SeaweedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in doomed.env().items():
        monkeypatch.setenv(name, value)
    settings = Settings(data_dir=tmp_path / "data", storage_url=doomed.storage_url("down"))
    catalog = Catalog(settings.database, settings.data_dir)
    storage = storage_of(settings)
    # Rendered in worker processes: this process caches none of the COGs' blocks.
    for i, scene_id in enumerate(("border-a", "border-b")):
        scene = register(settings, scene_id, f"2022-11-04T1{i}:24:00+09:00", seed=i)
        bake_scene(catalog, scene, workers=2, storage=storage)
    register(settings, "border-c", "2022-11-04T12:24:00+09:00", seed=3)
    z, x, y = tile_at(NATIVE)
    with TestClient(create_app(settings)) as c:
        ok = c.get(f"/scenes/border-a/tiles/WebMercatorQuad/{z}/{x}/{y}.webp")
        assert ok.status_code == 200 and ok.headers["x-tumen-source"] == "baked"
        doomed.stop()
        for path, headers in (
            # an archive not opened yet, then its COG: neither can be read
            (f"/scenes/border-b/tiles/WebMercatorQuad/{z}/{x}/{y}.webp", {}),
            # an opened archive's tile bytes, then its COG's blocks
            (f"/scenes/border-a/tiles/WebMercatorQuad/{z}/{x + 1}/{y}.webp", {}),
            (f"/scenes/border-c/tiles/WebMercatorQuad/{z + 2}/{4 * x}/{4 * y}.png", {}),
            ("/scenes/border-a.pmtiles", {"Range": "bytes=0-99"}),
            ("/scenes/border-c/info", {}),
        ):
            r = c.get(path, headers=headers)
            assert r.status_code == 503, (path, r.status_code, r.text[:200])
            assert r.headers["retry-after"].isdigit(), path
            assert "detail" in r.json()


def test_a_missing_bucket_or_refused_key_is_named_at_start(seaweed: SeaweedServer) -> None:
    env = seaweed.env()
    with pytest.raises(StorageUnavailable, match="bucket 'nosuchbucket' does not exist"):
        S3Storage("s3://nosuchbucket/x", S3Objects(env)).check()
    with pytest.raises(StorageUnavailable, match="refused the credentials"):
        S3Storage(
            f"s3://{seaweed.bucket}/x", S3Objects(env | {"AWS_SECRET_ACCESS_KEY": "no"})
        ).check()
    S3Storage(f"s3://{seaweed.bucket}/x", S3Objects(env)).check()


def test_s3_out_of_reach_at_start_is_one_line_and_a_failed_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"127.0.0.1:{free_port()}"  # nothing listens there
    env = {
        "PATH": "/usr/bin:/bin",
        "TUMEN_DATA_DIR": str(tmp_path / "data"),
        "TUMEN_STORAGE_URL": "s3://tumen/prefix",
        "AWS_S3_ENDPOINT": endpoint,
        "AWS_HTTPS": "NO",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "TUMEN_PORT": str(free_port()),
    }
    tumen = Path(sys.executable).with_name("tumen")
    proc = subprocess.run(
        [str(tumen), "serve", "--no-bake"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "TUMEN_STORAGE_URL=s3://tumen/prefix" in lines[0] and endpoint in lines[0]
    assert "cannot be reached" in lines[0]
    # The app refuses to start the same way (uvicorn run directly, without the CLI).
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # the session server's, if it runs
    with pytest.raises(StorageUnavailable, match="cannot be reached"):
        with TestClient(create_app(Settings())):
            pass
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{endpoint}/", timeout=2)
