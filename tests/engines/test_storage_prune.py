"""``tumen storage prune`` on a real SeaweedFS: superseded keys go, named, young and foreign ones stay."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import morecantile
import pytest
from fastapi.testclient import TestClient
from rich import filesize
from typer.testing import CliRunner, Result

from tests.conftest import make_cog, register
from tests.engines.seaweed import SeaweedServer
from tiles.bake import bake_scene
from tiles.catalog import Catalog, Scene
from tiles.storage import S3Storage, open_storage
from tumen.app import create_app
from tumen.cli import app as cli
from tumen.cli import prune as prune_cli
from tumen.settings import Settings

BRIDGE = (130.6395, 42.4243)  # inside the border test scenes
NATIVE = 14  # the 5 m test scenes' native zoom (where baking starts)


def storage_of(settings: Settings) -> S3Storage:
    storage = open_storage(settings.storage_url, settings.data_dir)
    assert isinstance(storage, S3Storage)
    return storage


def run(settings: Settings, *args: str, **env: str | None) -> Result:
    base: dict[str, str | None] = {
        "TUMEN_DATA_DIR": str(settings.data_dir),
        "TUMEN_STORAGE_URL": settings.storage_url,
    }
    return CliRunner().invoke(cli, list(args), env=base | env)


def prune(settings: Settings, *args: str, **env: str | None) -> Result:
    return run(settings, "storage", "prune", *args, **env)


def one_line(result: Result) -> str:
    return " ".join(result.output.split())


def tile(z: int, dx: int = 0) -> tuple[int, int, int]:
    t = morecantile.tms.get("WebMercatorQuad").tile(*BRIDGE, z)
    return z, t.x + dx, t.y


def ingest_and_bake(settings: Settings, src: Path, scene_id: str) -> Scene:
    """`tumen ingest` (a new version under a new key) and a bake (a new archive key)."""
    args = ["ingest", str(src), "--source", "test", "--id", scene_id, "--no-analyze", "--no-bake"]
    ingested = run(settings, *args, "--datetime", "2022-11-04T13:10:00+09:00")
    assert ingested.exit_code == 0, ingested.output
    catalog = Catalog(settings.database, settings.data_dir)
    baked = bake_scene(catalog, catalog.get(scene_id), workers=1, storage=storage_of(settings))
    assert baked is not None and baked.archive is not None
    return baked


def keys_of(scene: Scene) -> set[str]:
    """The keys (relative to the prefix) of a scene's COG and archive."""
    return {where.split("/", 4)[4] for where in (scene.path, scene.archive) if where}


@pytest.fixture
def superseded(s3: Settings, tmp_path: Path) -> tuple[Scene, Scene]:
    """A scene ingested and baked twice: (first, current); the first one's keys are superseded."""
    first = ingest_and_bake(s3, make_cog(tmp_path / "v1.tif", seed=1), "border-a")
    current = ingest_and_bake(s3, make_cog(tmp_path / "v2.tif", seed=2), "border-a")
    assert not keys_of(first) & keys_of(current)
    assert set(storage_of(s3).keys()) == keys_of(first) | keys_of(current)
    return first, current


def test_prune_deletes_exactly_the_superseded_keys_and_the_scene_still_serves(
    s3: Settings, seaweed: SeaweedServer, superseded: tuple[Scene, Scene]
) -> None:
    first, current = superseded
    storage = storage_of(s3)
    z, x, y = tile(NATIVE)
    with TestClient(create_app(s3)) as c:  # an instance serving while the prune runs
        assert c.get(f"/scenes/border-a/tiles/WebMercatorQuad/{z}/{x}/{y}.webp").status_code == 200
        before = seaweed.requests()
        pruned = prune(s3, "--older-than", "0s")
        requests = seaweed.requests() - before
        assert pruned.exit_code == 0, pruned.output
        assert "deleted 2 key(s)" in one_line(pruned), pruned.output
        assert "kept 2 referenced, 0 younger than 0s, 0 not tumen's" in one_line(pruned)
        assert set(storage.keys()) == keys_of(current)
        assert requests[("DELETE", "200")] == 1, requests  # both keys in one DeleteObjects

        near = c.get(f"/scenes/border-a/tiles/WebMercatorQuad/{z}/{x + 1}/{y}.webp")
        assert near.status_code == 200 and near.headers["x-tumen-source"] == "baked"
    with TestClient(create_app(s3)) as fresh:
        baked = fresh.get(f"/scenes/border-a/tiles/WebMercatorQuad/{z}/{x}/{y}.webp")
        assert baked.status_code == 200 and baked.headers["x-tumen-source"] == "baked"
        z2, x2, y2 = tile(NATIVE + 2)
        dynamic = fresh.get(f"/scenes/border-a/tiles/WebMercatorQuad/{z2}/{x2}/{y2}.png")
        assert dynamic.status_code == 200 and dynamic.headers["x-tumen-source"] == "dynamic"
        assert (
            fresh.get("/scenes/border-a.pmtiles", headers={"Range": "bytes=0-9"}).status_code == 206
        )

    again = prune(s3, "--older-than", "0s")
    assert again.exit_code == 0 and "deleted 0 key(s)" in one_line(again), again.output


def test_the_default_grace_and_a_dry_run_delete_nothing(
    s3: Settings, seaweed: SeaweedServer, superseded: tuple[Scene, Scene]
) -> None:
    first, current = superseded
    storage = storage_of(s3)
    every = set(storage.keys())
    stale = sum(o.size for o in storage.listing() if o.key in keys_of(first))

    young = prune(s3)  # just written: younger than the default hour
    assert young.exit_code == 0, young.output
    assert "deleted 0 key(s), 0 bytes; kept 2 referenced, 2 younger than 1h" in one_line(young)
    assert set(storage.keys()) == every

    before = seaweed.requests()
    dry = prune(s3, "--older-than", "0s", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would delete 2 key(s)" in one_line(dry) and "nothing deleted" in one_line(dry)
    assert f"would delete 2 key(s), {filesize.decimal(stale)};" in one_line(dry)
    assert set(storage.keys()) == every
    assert not [kind for (kind, _) in seaweed.requests() - before if kind == "DELETE"]


def test_keys_that_are_not_tumens_are_left_alone(s3: Settings, seaweed: SeaweedServer) -> None:
    register(s3, "border-a", "2022-11-04T10:24:00+09:00", seed=1)
    storage = storage_of(s3)
    client = storage.objects.client
    foreign = ["notes/readme.txt", "scenes/readme.txt", "baked/border-a/archive.mbtiles"]
    for key in foreign:
        client.put_object(Bucket=storage.bucket, Key=storage.base + key, Body=b"not tumen's")
    # Beside the prefix, not under it: never listed.
    sibling = storage.base.rstrip("/") + "-other/scenes/x/v/x.tif"
    client.put_object(Bucket=storage.bucket, Key=sibling, Body=b"x")

    pruned = prune(s3, "--older-than", "0s")
    assert pruned.exit_code == 0, pruned.output
    assert "deleted 0 key(s)" in one_line(pruned)
    assert "kept 1 referenced, 0 younger than 0s, 3 not tumen's" in one_line(pruned)
    assert set(foreign) < set(storage.keys())
    assert client.head_object(Bucket=storage.bucket, Key=sibling)["ContentLength"] == 1


def test_rm_leaves_only_superseded_keys_and_prune_reclaims_them(
    s3: Settings, superseded: tuple[Scene, Scene]
) -> None:
    first, current = superseded
    storage = storage_of(s3)
    other = register(s3, "border-b", "2022-11-04T10:24:00+09:00", seed=3)
    once = register(s3, "border-c", "2022-11-04T11:24:00+09:00", seed=4)

    removed = run(s3, "scenes", "rm", "border-c")
    assert removed.exit_code == 0, removed.output
    assert not [k for k in storage.keys() if "border-c" in k]  # rm deleted its only key

    removed = run(s3, "scenes", "rm", "border-a")
    assert removed.exit_code == 0, removed.output
    assert set(storage.keys()) == keys_of(first) | keys_of(other)  # earlier versions stay

    pruned = prune(s3, "--older-than", "0s")
    assert pruned.exit_code == 0, pruned.output
    assert "deleted 2 key(s)" in one_line(pruned) and "kept 1 referenced" in one_line(pruned)
    assert set(storage.keys()) == keys_of(other) and once.id not in str(list(storage.keys()))


def test_a_catalog_naming_none_of_the_keys_is_refused_unless_forced(
    s3: Settings, superseded: tuple[Scene, Scene], tmp_path: Path
) -> None:
    storage = storage_of(s3)
    every = set(storage.keys())
    elsewhere = {"TUMEN_DATA_DIR": str(tmp_path / "another"), "TUMEN_DATABASE_URL": None}
    refused = prune(s3, "--older-than", "0s", **elsewhere)
    assert refused.exit_code == 2, refused.output
    assert "names none of the keys under" in one_line(refused)
    assert "Nothing deleted" in one_line(refused)
    assert set(storage.keys()) == every

    dry = prune(s3, "--older-than", "0s", "--dry-run", **elsewhere)
    assert dry.exit_code == 0 and "would delete 4 key(s)" in one_line(dry), dry.output
    assert "warning:" in one_line(dry)

    forced = prune(s3, "--older-than", "0s", "--force", **elsewhere)
    assert forced.exit_code == 0 and "deleted 4 key(s)" in one_line(forced), forced.output
    assert list(storage.keys()) == []


def test_many_keys_are_listed_by_page_and_deleted_in_batches(
    s3: Settings, seaweed: SeaweedServer
) -> None:
    scene = register(s3, "border-a", "2022-11-04T10:24:00+09:00", seed=1)
    storage = storage_of(s3)
    client = storage.objects.client
    ghosts = [f"baked/ghost/{i:016x}.pmtiles" for i in range(1003)]

    def put(key: str) -> None:
        client.put_object(Bucket=storage.bucket, Key=storage.base + key, Body=b"PMTiles")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, ghosts))

    before = seaweed.requests()
    pruned = prune(s3, "--older-than", "0s")
    requests = seaweed.requests() - before
    assert pruned.exit_code == 0, pruned.output
    assert "deleted 1003 key(s), 7.0 kB; kept 1 referenced" in one_line(pruned)
    assert list(storage.keys()) == list(keys_of(scene))
    assert requests[("DELETE", "200")] == 2, requests  # 1000 keys, then 3


def test_a_key_that_cannot_be_deleted_is_named_and_the_exit_is_1(
    s3: Settings, superseded: tuple[Scene, Scene], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = superseded
    stuck = sorted(keys_of(first))[0]
    real = S3Storage.delete_keys

    def refusing(self: S3Storage, keys: list[str]) -> dict[str, str]:
        kept = [k for k in keys if k != stuck]
        return real(self, kept) | ({stuck: "AccessDenied Access Denied"} if stuck in keys else {})

    monkeypatch.setattr(S3Storage, "delete_keys", refusing)
    pruned = prune(s3, "--older-than", "0s")
    assert pruned.exit_code == 1, pruned.output
    assert f"not deleted: {stuck}: AccessDenied" in one_line(pruned)
    assert "deleted 1 key(s)" in one_line(pruned) and "1 failed" in one_line(pruned)
    assert stuck in set(storage_of(s3).keys())


def test_without_object_storage_or_with_a_bad_grace_it_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3: Settings
) -> None:
    monkeypatch.delenv("TUMEN_STORAGE_URL")
    local = Settings(data_dir=tmp_path / "local")
    refused = run(local, "storage", "prune", TUMEN_STORAGE_URL=None)
    assert refused.exit_code == 2
    assert refused.output.strip().count("\n") == 0, refused.output
    assert refused.output.startswith("error: set TUMEN_STORAGE_URL=s3://bucket/prefix")

    bad = prune(s3, "--older-than", "an hour")
    assert bad.exit_code == 2 and bad.output.strip().count("\n") == 0, bad.output
    assert "--older-than: 'an hour' is not a duration" in bad.output


def test_a_key_reused_while_pruning_is_kept(
    s3: Settings, superseded: tuple[Scene, Scene], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, current = superseded
    real = prune_cli.plan

    def then_reused(*args: Any) -> prune_cli.Plan:
        """The first version ingested again right after the listing: its key exists, so is reused."""
        todo = real(*args)
        Catalog(s3.database, s3.data_dir).add(first)
        return todo

    monkeypatch.setattr(prune_cli, "plan", then_reused)
    pruned = prune(s3, "--older-than", "0s")
    assert pruned.exit_code == 0, pruned.output
    assert "deleted 0 key(s), 0 bytes; kept 4 referenced" in one_line(pruned)
    assert set(storage_of(s3).keys()) == keys_of(first) | keys_of(current)
