"""`tumen serve` answers at once and bakes behind itself: one low-priority process, each archive
used as soon as it is whole, the baker gone with the server."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port, register
from tiles.bake import archive_path, bake_scene
from tiles.catalog import Catalog
from tumen.baker import pending
from tumen.db import open_store
from tumen.settings import Settings

TUMEN = str(Path(sys.executable).with_name("tumen"))
TILE = "/scenes/{id}/tiles/WebMercatorQuad/14/14135/6055.webp"  # baked zooms: 12-14


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split() if alive(int(p))]


def nice_of(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])  # field 19 of stat; fields here start at field 3


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its parent has yet to reap it


def wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_serve_answers_at_once_and_bakes_behind(settings: Settings, tmp_path: Path) -> None:
    scenes = [
        register(settings, "border-a", "2022-11-04T10:24:00+09:00", seed=1),
        register(settings, "border-b", "2022-11-04T13:10:00+09:00", seed=2),
    ]
    assert [s.id for s in pending(Catalog(settings.database, settings.data_dir))] == [
        "border-b",
        "border-a",
    ]  # newest first: the map opens the latest scene
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [TUMEN, "serve", "--port", str(port)],
            env={**os.environ, "TUMEN_DATA_DIR": str(settings.data_dir)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, 30, "/healthz")
        # The server answers while the baker works: first tiles are rendered on request.
        first = httpx.get(base + TILE.format(id="border-a"))
        assert first.status_code == 200
        (baker,) = wait_for(lambda: children(proc.pid), 10, "the baker process")
        command = Path(f"/proc/{baker}/cmdline").read_text().split("\0")
        assert command[-4:-1] == ["bake", "--pending", "--background"]
        assert nice_of(baker) == 19
        assert children(baker) == []  # one process, no pool

        def baked() -> bool:
            catalog = Catalog(settings.database, settings.data_dir)
            return all(s.baked_version == s.version for s in catalog.list())

        wait_for(baked, 120, "both archives")
        for scene in scenes:
            r = httpx.get(base + TILE.format(id=scene.id))
            assert (r.status_code, r.headers["x-tumen-source"]) == (200, "baked")
            if settings.storage_url:  # the archive went to S3, under the key the catalog names
                stored = Catalog(settings.database, settings.data_dir).get(scene.id).archive
                assert stored and stored.startswith(f"{settings.storage_url}/baked/{scene.id}/")
                assert not archive_path(settings.data_dir, scene.id).exists()
            else:
                assert archive_path(settings.data_dir, scene.id).is_file()
        assert not list(settings.baked_dir.glob("*.partial"))
        wait_for(lambda: proc.poll() is None and not children(proc.pid), 10, "the baker to end")
        text = log.read_text()
        assert re.search(r"baked border-b: \d+ tiles \(webp\)", text), text
        assert text.index("baking border-b") < text.index("baking border-a")
        assert "every scene is baked (2 archives written)" in text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_baker_stops_with_the_server(settings: Settings) -> None:
    register(settings, "border-a", "2022-11-04T10:24:00+09:00", seed=1, size=(4000, 3000), res=1.2)
    port = free_port()
    proc = subprocess.Popen(
        [TUMEN, "serve", "--port", str(port)],
        env={**os.environ, "TUMEN_DATA_DIR": str(settings.data_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    (baker,) = wait_for(lambda: children(proc.pid), 30, "the baker process")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    wait_for(lambda: not alive(baker), 15, "the baker to stop")
    scene = Catalog(settings.database, settings.data_dir).get("border-a")
    assert scene.baked_version is None
    assert not archive_path(settings.data_dir, "border-a").exists()


def test_serve_no_bake_starts_no_baker(settings: Settings) -> None:
    register(settings, "border-a", "2022-11-04T10:24:00+09:00", seed=1)
    port = free_port()
    proc = subprocess.Popen(
        [TUMEN, "serve", "--no-bake", "--port", str(port)],
        env={**os.environ, "TUMEN_DATA_DIR": str(settings.data_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: (
                httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
                if _listening(port)
                else False
            ),
            30,
            "/healthz",
        )
        time.sleep(1)
        assert children(proc.pid) == []
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _listening(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        return True
    except httpx.TransportError:
        return False


def test_a_bake_that_raced_a_reingest_is_not_recorded(settings: Settings) -> None:
    catalog = Catalog(settings.database, settings.data_dir)
    scene = register(settings, "border-a", "2022-11-04T10:24:00+09:00", seed=1)
    newer = register(settings, "border-a", "2022-11-04T10:24:00+09:00", seed=5)
    assert newer.version != scene.version
    assert bake_scene(catalog, scene, workers=1) is None  # baked from the old version
    assert catalog.get("border-a").baked_version is None


def test_a_bake_of_a_removed_scene_does_not_bring_it_back(settings: Settings) -> None:
    catalog = Catalog(settings.database, settings.data_dir)
    scene = register(settings, "border-a", "2022-11-04T10:24:00+09:00", seed=1)
    catalog.remove(scene.id)
    assert bake_scene(catalog, scene, workers=1) is None
    assert catalog.list() == []


def test_serve_analyses_pending_scenes_behind_before_baking(
    settings: Settings, tmp_path: Path
) -> None:
    from overlays.store import Query
    from tests.test_analysis_api import ground, with_train, write_scene

    write_scene(settings, "bridge-before", "2022-10-15T11:00:00+09:00", ground(1), baseline=True)
    write_scene(
        settings,
        "bridge-train",
        "2022-11-04T14:29:00+09:00",
        with_train(ground(1)),
        analysis="pending",
    )
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [TUMEN, "serve", "--port", str(free_port())],
            env={**os.environ, "TUMEN_DATA_DIR": str(settings.data_dir)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        catalog = Catalog(settings.database, settings.data_dir)
        wait_for(lambda: catalog.get("bridge-train").analysis == "done", 60, "the analysis")
        assert catalog.get("bridge-before").analysis == "skipped"  # not asked for: left alone
        found = open_store(settings).query(
            Query(equals={"scene_id": "bridge-train", "method": "automated"})
        )
        assert [f.properties["kind"] for f in found.features] == ["train"]
        wait_for(lambda: "every scene is baked" in log.read_text(), 60, "the baking")
        text = log.read_text()
        assert text.index("analysed bridge-train: 1 train") < text.index("baking bridge-train")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
