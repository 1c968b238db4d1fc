"""POST /scenes/{id}/analysis and `tumen analyze`: candidates found, stored, replaced, refused cleanly.

The scenes are drawn here (not with the demo's drawing code): a track at the Friendship Bridge site,
a train of six wagons and a locomotive on the new scene, and a baseline with the track empty, re-lit
and shifted by a pixel, as two real acquisitions differ.
"""

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from rasterio.features import rasterize
from rasterio.transform import from_origin
from shapely.geometry import LineString, box, shape
from typer.testing import CliRunner

from tests.conftest import register_file, write_cog
from tiles.catalog import Scene
from tiles.ingest import render_defaults
from tiles.sites import load_sites
from tumen.app import create_app
from tumen.cli import app as cli
from tumen.settings import Settings

KEY = "analysis-test-key"
ITEMS = "/api/collections/observations/items"
ORIGIN = (634_700.0, 4_697_300.0)  # inside the bridge site only
GSD = 0.5
SIZE = (640, 400)  # 320 × 200 m
TRACK_Y = ORIGIN[1] - 100.0
WAGONS = 6
TRAIN_M = 20.0 + WAGONS * 14.0 + WAGONS * 1.0  # locomotive, wagons, 1 m couplings


def ground(seed: int, gain: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """Grassy ground with a ballast bed and rails along TRACK_Y."""
    rng = np.random.default_rng(seed)
    width, height = SIZE
    base = np.array([96.0, 104.0, 78.0])[:, None, None]
    data = base + rng.normal(0, 5, (3, height, width))
    transform = from_origin(*ORIGIN, GSD, GSD)
    bed = LineString([(ORIGIN[0], TRACK_Y), (ORIGIN[0] + SIZE[0] * GSD, TRACK_Y)])
    for geom, colour in ((bed.buffer(2.5, cap_style="flat"), (150, 144, 132)),):
        mask = rasterize([geom], out_shape=(height, width), transform=transform).astype(bool)
        for b in range(3):
            data[b][mask] = colour[b] + rng.normal(0, 3, mask.sum())
    return np.clip(data * gain + offset, 0, 255)


def paint(data: np.ndarray, geom: Any, colour: tuple[int, int, int]) -> None:
    height, width = data.shape[1:]
    mask = rasterize(
        [geom], out_shape=(height, width), transform=from_origin(*ORIGIN, GSD, GSD)
    ).astype(bool)
    for b in range(3):
        data[b][mask] = colour[b]


def with_train(data: np.ndarray, start: float = 60.0) -> np.ndarray:
    out = data.copy()
    x = ORIGIN[0] + start
    paint(out, box(x, TRACK_Y - 1.6, x + 20, TRACK_Y + 1.6), (38, 52, 44))
    x += 21
    for i in range(WAGONS):
        colour = (120 + 9 * i, 70 + 5 * i, 50)
        paint(out, box(x, TRACK_Y - 1.6, x + 14, TRACK_Y + 1.6), colour)
        x += 15
    return out


def scene_cog(
    settings: Settings,
    scene_id: str,
    data: np.ndarray,
    crs: str = "EPSG:32652",
    transform: Any = None,
) -> Path:
    """``data`` as a COG in the scenes dir, on the test grid by default."""
    transform = transform or from_origin(*ORIGIN, GSD, GSD)
    return write_cog(settings.scenes_dir / f"{scene_id}.tif", data, crs=crs, transform=transform)


def write_scene(
    settings: Settings,
    scene_id: str,
    when: str,
    data: np.ndarray,
    origin: tuple[float, float] = ORIGIN,
    **update: Any,
) -> Scene:
    """An 8-bit RGB scene on the test grid (at ``origin``), registered."""
    transform = from_origin(*origin, GSD, GSD)
    path = scene_cog(settings, scene_id, data.astype("uint8"), transform=transform)
    return register_file(settings, path, scene_id, when, **update)


@pytest.fixture
def settings(backend: dict[str, Any], tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", api_key=KEY, **backend)


@pytest.fixture
def scenes(settings: Settings) -> dict[str, Scene]:
    before = np.roll(ground(1, gain=0.85, offset=12), 1, axis=2)  # re-lit, one pixel east
    return {
        "baseline": write_scene(
            settings, "bridge-before", "2022-10-15T11:00:00+09:00", before, baseline=True
        ),
        "train": write_scene(
            settings, "bridge-train", "2022-11-04T14:29:00+09:00", with_train(ground(1))
        ),
    }


@pytest.fixture
def client(settings: Settings, scenes: dict[str, Scene]) -> TestClient:
    with TestClient(create_app(settings)) as c:
        yield c


def automated(client: TestClient, scene_id: str) -> list[dict[str, Any]]:
    doc = client.get(ITEMS, params={"scene_id": scene_id, "method": "automated"}).json()
    return doc["features"]


def run(client: TestClient, scene_id: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(f"/scenes/{scene_id}/analysis", json=body, headers={"X-API-Key": KEY})


def test_the_train_is_found_measured_and_kept_as_an_unreviewed_candidate(
    client: TestClient, scenes: dict[str, Scene]
) -> None:
    r = run(client, "bridge-train")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["scene_id"] == "bridge-train" and doc["trains"] == 1 and doc["ships"] == 0
    assert abs(doc["wagons"] - WAGONS) <= 1
    assert doc["sites"][0]["site"] == "bridge" and doc["sites"][0]["baseline"] == "bridge-before"
    assert doc["summary"].startswith("bridge-train: 1 train (")
    assert client.app.state.catalog.get("bridge-train").analysis == "done"
    [train] = [f for f in automated(client, "bridge-train") if f["properties"]["kind"] == "train"]
    assert train["id"] in doc["sightings"]
    p = train["properties"]
    assert p["method"] == "automated" and p["review"] == "unreviewed"
    assert p["scene_id"] == "bridge-train" and p["site"] == "bridge"
    assert datetime.fromisoformat(p["observed_at"]) == scenes["train"].datetime
    assert 0 < p["confidence"] <= 1 and p["description"]
    assert abs(p["length_m"] - TRAIN_M) / TRAIN_M <= 0.10
    assert train["geometry"]["type"] == "LineString"
    site = box(*load_sites(Settings().sites_file)["bridge"].bbox)
    assert site.contains(shape(train["geometry"]))


def test_a_rerun_replaces_the_candidates_and_leaves_manual_sightings(client: TestClient) -> None:
    manual = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [130.641, 42.415]},
        "properties": {
            "site": "bridge",
            "scene_id": "bridge-train",
            "observed_at": "2022-11-04T14:29:00+09:00",
            "kind": "locomotive",
            "method": "manual",
        },
    }
    mine = client.post(ITEMS, json=manual, headers={"X-API-Key": KEY}).json()
    first = run(client, "bridge-train").json()
    second = run(client, "bridge-train").json()
    assert second["replaced"] == len(first["sightings"])
    assert {k: second[k] for k in ("trains", "wagons", "ships", "cargo_areas")} == {
        k: first[k] for k in ("trains", "wagons", "ships", "cargo_areas")
    }
    assert sorted(f["id"] for f in automated(client, "bridge-train")) == sorted(second["sightings"])
    assert client.get(f"{ITEMS}/{mine['id']}").json()["properties"]["version"] == 1
    history = client.get(f"{ITEMS}/{first['sightings'][0]}/history").json()
    assert [c["action"] for c in history["changes"]] == ["create", "delete"]


def test_the_baseline_scene_finds_nothing_new(client: TestClient) -> None:
    r = run(client, "bridge-before", {"baseline": "bridge-train"})
    assert r.status_code == 200, r.text
    assert r.json()["trains"] == 0


@pytest.mark.parametrize(
    ("headers", "status"), [({}, 403), ({"X-API-Key": "wrong"}, 403)], ids=["none", "wrong"]
)
def test_without_the_key_nothing_runs(
    client: TestClient, headers: dict[str, str], status: int
) -> None:
    r = client.post("/scenes/bridge-train/analysis", headers=headers)
    assert r.status_code == status and "X-API-Key" in r.json()["detail"]
    assert automated(client, "bridge-train") == []


# (scene, body, status, what the message says)
BAD_CASES: list[tuple[str, dict[str, Any] | None, int, str]] = [
    ("no-such-scene", None, 404, "no-such-scene"),
    ("bridge-train", {"baseline": "no-such-scene"}, 400, "baseline: scene 'no-such-scene'"),
    ("bridge-train", {"baseline": "bridge-train"}, 400, "its own baseline"),
    ("bridge-train", {"baseline": "rajin-x"}, 400, "not a site of scene"),
    ("bridge-train", {"baseline": "bridge-elsewhere"}, 400, "do not overlap"),
    ("bridge-train", {"baseline": 7}, 400, "baseline"),
    ("bridge-train", {"since": "yesterday"}, 400, "since"),
]


def test_bad_requests_are_refused_and_change_nothing(
    client: TestClient, settings: Settings
) -> None:
    elsewhere = ground(3)
    # The same site, but 400 m away: no pixel in common with bridge-train.
    away = (ORIGIN[0] + 400, ORIGIN[1] - 250)
    write_scene(settings, "bridge-elsewhere", "2022-11-05T11:00:00+09:00", elsewhere, away)
    location = settings.scenes_dir / "bridge-train.tif"  # the COG written here (also in S3 or not)
    register_file(settings, location, "rajin-x", "2023-10-01T11:00:00+09:00", sites=["rajin"])
    run(client, "bridge-train")
    before = sorted(f["id"] for f in automated(client, "bridge-train"))
    for scene_id, body, status, says in BAD_CASES:
        r = run(client, scene_id, body)
        assert r.status_code == status, (scene_id, body, r.text)
        assert says in r.json()["detail"], (body, r.json())
    assert sorted(f["id"] for f in automated(client, "bridge-train")) == before


def test_a_16_bit_single_band_scene_is_read_with_its_render_defaults(
    client: TestClient, settings: Settings
) -> None:
    grey = with_train(ground(1)).mean(axis=0, keepdims=True) * 40  # 0..10200 in uint16
    path = scene_cog(settings, "bridge-grey", grey.astype("uint16"))
    register_file(
        settings, path, "bridge-grey", "2022-11-06T11:00:00+09:00", render=render_defaults(path)
    )
    r = run(client, "bridge-grey")
    assert r.status_code == 200, r.text
    assert r.json()["sites"][0]["baseline"] == "bridge-before"


def test_the_cli_analyses_and_says_so_in_one_line(
    settings: Settings, scenes: dict[str, Scene], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUMEN_DATA_DIR", str(settings.data_dir))
    out = CliRunner().invoke(cli, ["analyze", "bridge-train"])
    assert out.exit_code == 0, out.output
    assert "bridge-train: 1 train (" in out.output and " in " in out.output
    refused = CliRunner().invoke(cli, ["analyze", "bridge-train", "--baseline", "nope"])
    assert refused.exit_code == 2 and "baseline: scene 'nope'" in refused.output


def test_ingest_analyses_the_new_scene_unless_told_not_to(
    settings: Settings, scenes: dict[str, Scene], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUMEN_DATA_DIR", str(settings.data_dir))
    src = str(settings.scenes_dir / f"{scenes['train'].id}.tif")  # the COG the test wrote
    args = ["ingest", src, "--source", "test", "--no-bake", "--site", "bridge"]
    first = CliRunner().invoke(
        cli, [*args, "--id", "bridge-again", "--datetime", "2022-11-07T10:00:00+09:00"]
    )
    assert first.exit_code == 0, first.output
    assert "bridge-again: 1 train (" in first.output
    second = CliRunner().invoke(
        cli,
        [*args, "--id", "bridge-quiet", "--datetime", "2022-11-08T10:00:00+09:00", "--no-analyze"],
    )
    assert second.exit_code == 0 and "bridge-quiet: " not in second.output


def test_a_removed_scene_flags_its_candidates(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(client, "bridge-train")
    monkeypatch.setenv("TUMEN_DATA_DIR", str(settings.data_dir))
    assert CliRunner().invoke(cli, ["scenes", "rm", "bridge-train"]).exit_code == 0
    found = automated(client, "bridge-train")
    assert found and all(f["properties"]["scene_removed"] is True for f in found)


def write_mercator(
    settings: Settings, scene_id: str, when: str, data: np.ndarray, resolution: float
) -> Scene:
    """``data`` (drawn on the UTM grid) warped to Web Mercator at ``resolution`` and registered."""
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    left, top = ORIGIN
    bounds = (left, top - SIZE[1] * GSD, left + SIZE[0] * GSD, top)
    transform, width, height = calculate_default_transform(
        "EPSG:32652", "EPSG:3857", SIZE[0], SIZE[1], *bounds, resolution=resolution
    )
    warped = np.zeros((3, height, width), dtype="uint8")
    reproject(
        data.astype("uint8"),
        warped,
        src_transform=from_origin(*ORIGIN, GSD, GSD),
        src_crs="EPSG:32652",
        dst_transform=transform,
        dst_crs="EPSG:3857",
        resampling=Resampling.bilinear,
    )
    path = scene_cog(settings, scene_id, warped, "EPSG:3857", transform)
    return register_file(settings, path, scene_id, when)


def test_a_baseline_in_another_crs_and_resolution_is_warped_to_the_scene(
    client: TestClient, settings: Settings
) -> None:
    write_mercator(settings, "bridge-mercator", "2022-10-20T11:00:00+09:00", ground(1, 0.9, 8), 1.5)
    r = run(client, "bridge-train", {"baseline": "bridge-mercator"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["sites"][0]["baseline"] == "bridge-mercator"
    assert doc["trains"] == 1 and abs(doc["wagons"] - WAGONS) <= 1


def test_a_web_mercator_scene_is_measured_in_ground_metres(
    client: TestClient, settings: Settings
) -> None:
    # Web Mercator's metres are 1.35 ground metres here: lengths must not come out 35 % long.
    scene = write_mercator(
        settings, "bridge-train-3857", "2022-11-09T11:00:00+09:00", with_train(ground(1)), 0.6
    )
    r = run(client, scene.id)
    assert r.status_code == 200, r.text
    [train] = [f for f in automated(client, scene.id) if f["properties"]["kind"] == "train"]
    assert abs(train["properties"]["length_m"] - TRAIN_M) / TRAIN_M <= 0.10


def test_of_two_marked_baselines_the_one_with_the_scenes_footprint_is_used(
    client: TestClient, settings: Settings
) -> None:
    # bridge-before (same footprint as bridge-train) is marked; an earlier, shifted one is too.
    shifted = (ORIGIN[0] - 100, ORIGIN[1] + 100)
    write_scene(
        settings, "bridge-shifted", "2019-01-01T11:00:00+09:00", ground(1), shifted, baseline=True
    )
    assert run(client, "bridge-train").json()["sites"][0]["baseline"] == "bridge-before"
