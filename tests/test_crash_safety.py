"""kill -9 in the middle of work loses nothing acknowledged and leaves nothing half-made.

`tumen serve` (2 workers) is killed during a burst of sighting writes; `tumen ingest` and
`tumen bake` are killed while they convert or render, and at the exact moment before they write the
catalog. Afterwards every acknowledged write is there with its history, SQLite's integrity check
passes, the catalog names only whole COGs whose content is the version it records, and tiles are
served from a whole archive or rendered.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import morecantile
import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from rasterio.transform import from_origin

from tests.conftest import BORDER_ORIGIN, free_port, register
from tests.overlays.conftest import sighting
from tiles.archive import Archive
from tiles.catalog import Catalog
from tiles.ingest import file_version
from tumen.app import create_app
from tumen.settings import Settings

KEY = "crash-test-key"
AUTH = {"X-API-Key": KEY}
ITEMS = "/api/collections/observations/items"
TUMEN = str(Path(sys.executable).with_name("tumen"))
BRIDGE = (130.6409, 42.4181)  # inside every scene of these tests


def environ(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TUMEN_DATA_DIR": str(settings.data_dir),
        "TUMEN_API_KEY": KEY,
        "TUMEN_LOG_LEVEL": "warning",
        "TUMEN_WRITE_RATE": "1000000",  # the write rate limit must not throttle the burst
        **extra,
    }


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process started in its own session, with every child (workers, pools)."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=20)
    for _ in range(100):  # the group's children are reaped by init; wait until none is left
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes of group {proc.pid} outlived SIGKILL")


@contextmanager
def serve(settings: Settings) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`tumen serve` with 2 workers in its own process group; killed (not stopped) on exit."""
    port = free_port()
    proc = subprocess.Popen(
        [TUMEN, "serve", "--workers", "2", "--port", str(port)],
        env=environ(settings),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "tumen serve exited at start-up"
            assert time.monotonic() < deadline, "tumen serve did not answer in 30 s"
            time.sleep(0.1)
        yield proc, base
    finally:
        if proc.poll() is None:
            kill_group(proc)


def integrity(database: Path) -> str:
    db = sqlite3.connect(database)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


@pytest.fixture
def data(tmp_path: Path) -> Settings:
    # What is checked here is the SQLite file and the data dir's files (WAL, renames, integrity):
    # on PostgreSQL + S3 a write is a transaction and a key is never rewritten, which
    # tests/multi (kill -9 of an instance under load) and tests/engines check.
    settings = Settings(data_dir=tmp_path / "data")
    register(settings, "border-a", "2022-11-04T10:24:00+09:00", seed=1)
    register(settings, "border-b", "2022-11-04T13:10:00+09:00", seed=2)
    return settings


# --- the server, killed during a burst of writes ---------------------------------------------------

THREADS = 6
ROUNDS = 60  # per thread: a POST and three PATCHes each; the kill lands long before the end
KILL_AFTER = 150  # acknowledged writes


class Burst:
    """Writers that keep every acknowledged (2xx) answer: (id, version, feature as returned)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.acked: list[tuple[str, int, dict[str, Any]]] = []
        self.cut_off = 0  # writers whose request was cut by the kill (sent, never answered)
        self.finished = 0  # writers that ran out of rounds before the kill
        self.lock = threading.Lock()
        self.shared = ""

    def ack(self, r: httpx.Response) -> dict[str, Any]:
        assert r.status_code in (200, 201), r.text
        doc = r.json()
        assert r.headers["etag"] == f'"{doc["properties"]["version"]}"'
        with self.lock:
            self.acked.append((doc["id"], doc["properties"]["version"], doc))
        return doc

    def writer(self, n: int) -> None:
        with httpx.Client(base_url=self.base, headers=AUTH, timeout=30) as c:
            try:
                for i in range(ROUNDS):
                    body = sighting(count=i + 1, description=f"writer {n} round {i}")
                    mine = self.ack(c.post(ITEMS, json=body))
                    fid, version = mine["id"], mine["properties"]["version"]
                    patched = {"properties": {"count": 100 + i, "confidence": 0.5}}
                    r = c.patch(
                        f"{ITEMS}/{fid}", json=patched, headers={"If-Match": f'"{version}"'}
                    )
                    self.ack(r)
                    self.ack(c.patch(f"{ITEMS}/{fid}", json={"properties": {"length_m": 10.0 + i}}))
                    # Every writer also patches one shared sighting, without If-Match.
                    shared = {"properties": {"description": f"shared, writer {n} round {i}"}}
                    self.ack(c.patch(f"{ITEMS}/{self.shared}", json=shared))
            except httpx.TransportError:
                with self.lock:
                    self.cut_off += 1
                return
        with self.lock:
            self.finished += 1


def as_stored(doc: dict[str, Any]) -> dict[str, Any]:
    """A feature as the API reads it back, without what reads add (links, scene_removed)."""
    doc = {k: v for k, v in doc.items() if k != "links"}
    doc["properties"] = {k: v for k, v in doc["properties"].items() if k != "scene_removed"}
    return doc


def test_kill_9_during_a_write_burst_loses_no_acknowledged_write(data: Settings) -> None:
    with serve(data) as (proc, base):
        burst = Burst(base)
        burst.shared = burst.ack(httpx.post(base + ITEMS, json=sighting(), headers=AUTH))["id"]
        writers = [threading.Thread(target=burst.writer, args=(n,)) for n in range(THREADS)]
        for w in writers:
            w.start()
        deadline = time.monotonic() + 40
        while len(burst.acked) < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.005)
        kill_group(proc)
        for w in writers:
            w.join(timeout=40)
    assert len(burst.acked) >= KILL_AFTER
    assert burst.finished == 0 and burst.cut_off == THREADS  # the kill landed mid-burst
    acked = list(burst.acked)
    # The file as the kill left it, before anything reopens it.
    checked = integrity(data.database)

    found = 0
    with serve(data) as (_, base), httpx.Client(base_url=base, timeout=30) as c:
        ids = {fid for fid, _, _ in acked}
        current = {fid: as_stored(c.get(f"{ITEMS}/{fid}").json()) for fid in ids}
        histories = {fid: c.get(f"{ITEMS}/{fid}/history").json()["changes"] for fid in ids}
        for fid, version, doc in acked:
            now, changes = current[fid], histories[fid]
            at = [ch for ch in changes if ch["version"] == version]
            if (
                now["properties"]["version"] >= version
                and (now["properties"]["version"] > version or now == doc)
                and len(at) == 1
                and at[0]["after"] == doc
            ):
                found += 1
        for fid, changes in histories.items():  # each history whole: create, then every version
            assert [ch["version"] for ch in changes] == list(range(1, len(changes) + 1))
            assert changes[0]["action"] == "create"
            assert changes[-1]["after"] == current[fid]
            assert all(
                a["after"] == b["before"] for a, b in zip(changes, changes[1:], strict=False)
            )
        # The R*Tree matches the rows: a bbox query finds exactly what a plain one does.
        every = c.get(ITEMS, params={"limit": 1}).json()["numberMatched"]
        boxed = c.get(ITEMS, params={"limit": 1, "bbox": "130.6,42.4,130.7,42.45"})
        assert boxed.json()["numberMatched"] == every >= len(ids)
    print(
        f"\nkill -9 of tumen serve (2 workers) mid-burst: {len(acked)} writes acknowledged, "
        f"{found} found with their version and history; integrity_check: {checked}"
    )
    assert checked == "ok"
    assert found == len(acked)


# --- ingest and bake, killed while they work ---------------------------------------------------


def plain_geotiff(path: Path, size: int = 4000) -> Path:
    """A striped GeoTIFF of noise, 4.8 × 3.6 km over the border sites; 4000 px take seconds to convert."""
    rng = np.random.default_rng(7)
    profile = dict(
        driver="GTiff",
        dtype="uint8",
        count=3,
        width=size,
        height=size * 3 // 4,
        crs="EPSG:32652",
        transform=from_origin(*BORDER_ORIGIN, 4800 / size, 4800 / size),
    )
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(rng.integers(1, 255, size=(3, size * 3 // 4, size), dtype=np.uint8))
    return path


def assert_catalog_whole(settings: Settings) -> None:
    """Every scene the catalog names has its COG, readable, with the content its version says."""
    catalog = Catalog(settings.database, settings.data_dir)
    for scene in catalog.list():
        path = catalog.local_path(scene)
        assert path.is_file(), f"{scene.id}: the catalog names {path}, which is missing"
        with rasterio.open(path) as ds:
            assert (ds.width, ds.height) == (scene.width, scene.height)
            ds.read(1, out_shape=(64, 64))
        assert file_version(path) == scene.version, f"{scene.id}: COG is not the registered one"
    assert integrity(settings.database) == "ok"


def tile_sources(settings: Settings, scene_ids: list[str], z: int = 14) -> dict[str, str]:
    """Each scene's tile at the bridge from the app as it starts now: 200, and where it came from."""
    tile = morecantile.tms.get("WebMercatorQuad").tile(*BRIDGE, z)
    with TestClient(create_app(settings)) as c:
        out = {}
        for sid in scene_ids:
            r = c.get(f"/scenes/{sid}/tiles/WebMercatorQuad/{z}/{tile.x}/{tile.y}.webp")
            assert r.status_code == 200, r.text
            out[sid] = r.headers["x-tumen-source"]
        return out


INGEST = ["ingest", "--source", "test", "--datetime", "2023-10-06T11:00:00+09:00", "--no-bake"]


def test_ingest_killed_while_converting_registers_nothing(data: Settings, tmp_path: Path) -> None:
    src = plain_geotiff(tmp_path / "big.tif")
    proc = subprocess.Popen(
        [TUMEN, *INGEST, str(src), "--id", "big"],
        env=environ(data),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    partial: list[Path] = []
    while proc.poll() is None and not partial:  # rio-cogeo's temporary file: converting
        partial = list(data.scenes_dir.glob(".staging-*/*"))
        time.sleep(0.01)
    running = proc.poll() is None
    kill_group(proc)
    assert running and partial, "ingest ended before it could be killed mid-conversion"

    assert "big" not in {s.id for s in Catalog(data.database, data.data_dir).list()}
    assert not (data.scenes_dir / "big.tif").exists()
    assert_catalog_whole(data)
    assert set(tile_sources(data, ["border-a", "border-b"]).values()) == {"dynamic"}
    # What the kill left behind does not stop the same ingest from completing, which clears it.
    done = subprocess.run([TUMEN, *INGEST, str(src), "--id", "big"], env=environ(data))
    assert done.returncode == 0
    assert_catalog_whole(data)
    assert tile_sources(data, ["big"]) == {"big": "dynamic"}
    assert {p.name for p in data.scenes_dir.iterdir()} == {
        "border-a.tif",
        "border-b.tif",
        "big.tif",
    }


KILLED_AT = """
import os, signal, sys
from pmtiles.writer import Writer
from tiles.catalog import Catalog
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
if sys.argv[1] == "catalog":  # every method that writes a scene's record
    for name in ("add", "mark_baked"):
        if hasattr(Catalog, name):
            setattr(Catalog, name, die)
else:  # the archive's header, directories and tiles go to the file last, at finalize
    Writer.finalize = die
from tumen.cli import main
sys.argv = ["tumen", *sys.argv[2:]]
main()
"""


def killed_at(step: str, settings: Settings, *args: str) -> None:
    """Run a tumen command SIGKILLed the moment it would write the catalog or finish an archive."""
    proc = subprocess.run([sys.executable, "-c", KILLED_AT, step, *args], env=environ(settings))
    assert proc.returncode == -signal.SIGKILL


def killed_at_catalog_write(settings: Settings, *args: str) -> None:
    killed_at("catalog", settings, *args)


def test_ingest_killed_before_its_catalog_write_leaves_the_catalog_whole(
    data: Settings, tmp_path: Path
) -> None:
    src = plain_geotiff(tmp_path / "small.tif", size=800)
    killed_at_catalog_write(data, *INGEST, str(src), "--id", "fresh")
    assert "fresh" not in {s.id for s in Catalog(data.database, data.data_dir).list()}
    assert_catalog_whole(data)


def test_reingest_killed_before_its_catalog_write_keeps_the_registered_cog(
    data: Settings, tmp_path: Path
) -> None:
    """A scene re-ingested under its id keeps its COG until the catalog names the new one."""
    catalog = Catalog(data.database, data.data_dir)
    old = catalog.get("border-b")
    src = plain_geotiff(tmp_path / "new-border-b.tif", size=800)
    killed_at_catalog_write(data, *INGEST, str(src), "--id", "border-b")
    assert catalog.get("border-b") == old
    assert_catalog_whole(data)
    # The interrupted re-ingest, run again, replaces the scene whole.
    assert (
        subprocess.run([TUMEN, *INGEST, str(src), "--id", "border-b"], env=environ(data)).returncode
        == 0
    )
    new = catalog.get("border-b")
    assert new.version != old.version and (new.width, new.height) == (800, 600)
    assert_catalog_whole(data)
    assert [p.name for p in data.scenes_dir.glob("border-b*")] == [Path(new.path).name]


def group_size(pgid: int) -> int:
    """How many processes are in a process group (from /proc)."""
    n = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited meanwhile
        n += int(fields[2]) == pgid  # after "(comm)": state, ppid, pgrp
    return n


def test_bake_killed_while_rendering_leaves_tiles_dynamic(data: Settings) -> None:
    # 770 × 580 m at 1.2 m over the bridge: about 20 tiles, seconds of rendering.
    register(
        data,
        "big",
        "2023-10-06T11:00:00+09:00",
        seed=5,
        origin=(634_800.0, 4_697_700.0),
        size=(640, 480),
        res=1.2,
    )
    archive = data.baked_dir / "big.pmtiles"
    proc = subprocess.Popen(
        [TUMEN, "bake", "big"],
        env=environ(data, TUMEN_BAKE_WORKERS="2"),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Rendering has begun once the pool's processes exist: the bake, its forkserver, workers.
    while proc.poll() is None and group_size(proc.pid) < 3:
        time.sleep(0.01)
    time.sleep(0.3)
    rendering = proc.poll() is None and group_size(proc.pid) >= 3
    kill_group(proc)
    assert rendering, "bake ended before it could be killed while rendering"

    scene = Catalog(data.database, data.data_dir).get("big")
    assert scene.baked_version is None and not archive.exists()
    assert_catalog_whole(data)
    assert tile_sources(data, ["big"], z=17) == {"big": "dynamic"}
    # Baking again completes, and the tile then comes from the whole archive.
    assert subprocess.run([TUMEN, "bake", "big"], env=environ(data)).returncode == 0
    Archive(archive).close()
    assert tile_sources(data, ["big"], z=17) == {"big": "baked"}


def test_bake_killed_before_its_catalog_write_serves_dynamic_or_whole(data: Settings) -> None:
    killed_at_catalog_write(data, "bake", "border-a")
    archive = data.baked_dir / "border-a.pmtiles"
    # The archive was renamed into place whole; the catalog does not yet say it is baked.
    tile = morecantile.tms.get("WebMercatorQuad").tile(*BRIDGE, 14)
    whole = Archive(archive)
    assert whole.get(14, tile.x, tile.y) is not None
    whole.close()
    assert Catalog(data.database, data.data_dir).get("border-a").baked_version is None
    assert not list(data.baked_dir.glob(".*partial"))
    assert_catalog_whole(data)
    assert tile_sources(data, ["border-a"]) == {"border-a": "dynamic"}


def test_bake_killed_while_writing_its_archive_serves_dynamic(data: Settings) -> None:
    killed_at("archive", data, "bake", "border-a")
    assert list(data.baked_dir.glob(".border-a.pmtiles*partial"))  # killed mid-write
    assert not (data.baked_dir / "border-a.pmtiles").exists()
    assert Catalog(data.database, data.data_dir).get("border-a").baked_version is None
    assert tile_sources(data, ["border-a"]) == {"border-a": "dynamic"}
