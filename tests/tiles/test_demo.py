"""The synthetic demo: drawn to scale from the reports, deterministic, and always labelled synthetic."""

import fnmatch
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from pydantic import ValidationError
from rich.console import Console
from shapely.geometry import box

from overlays.models import ObservationIn
from tests.conftest import backend_parts
from tiles.catalog import Catalog, Scene
from tiles.sites import load_sites
from tumen.demo import layout
from tumen.demo.build import build_demo, read_tags, render_scene
from tumen.demo.draw import COLOURS
from tumen.demo.episodes import DEMO_SCENES, SCENES_FILE, load_scenes, objects_for_scene, scene
from tumen.demo.sightings import SIGHTINGS_FILE, demo_records
from tumen.settings import Settings

# Module-scoped fixtures read --backend themselves: run again in the backend pass.
pytestmark = pytest.mark.backend


@pytest.fixture(scope="module")
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, list[Scene]]:
    # With --backend …s3 the demo's COGs go to the session's SeaweedFS.
    storage: dict[str, Any] = {}
    if "s3" in backend_parts(request.config):
        storage["storage_url"] = request.getfixturevalue("seaweed").storage_url("demo")
    settings = Settings(data_dir=tmp_path_factory.mktemp("demo"), **storage)
    return settings, build_demo(settings, console=Console(quiet=True))


def test_same_seed_gives_byte_identical_cogs(tmp_path: Path) -> None:
    spec = scene("rajin-20231020T1101")
    a = render_scene(spec, tmp_path / "a.tif", seed=7)
    b = render_scene(spec, tmp_path / "b.tif", seed=7)
    c = render_scene(spec, tmp_path / "c.tif", seed=8)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def colour_at(ds: rasterio.DatasetReader, x: float, y: float) -> np.ndarray:
    row, col = ds.index(x, y)
    return ds.read(window=((row, row + 1), (col, col + 1)))[:, 0, 0].astype(int)


def test_a_225_m_train_is_450_pixels_long(tmp_path: Path) -> None:
    spec = scene("tumangang-20230924")
    train = next(o for o in spec.objects if o.kind == "train" and o.length_m == 225)
    line = train.geometry
    assert line.length / layout.GSD == pytest.approx(450, abs=1)  # loco + 14 wagons + couplings
    path = render_scene(spec, tmp_path / "t.tif", seed=1)
    with rasterio.open(path) as ds:
        assert ds.res == (0.5, 0.5)
        car = np.array(COLOURS["freight car"])
        for s in (25.0, line.length / 2, line.length - 3.0):  # wagons behind the locomotive
            p = line.interpolate(s)
            assert np.abs(colour_at(ds, p.x, p.y) - car).max() < 30, s
        beyond = layout.tumangang_yard_track(0).interpolate(100 + line.length + 10)
        assert np.abs(colour_at(ds, beyond.x, beyond.y) - car).max() > 30


def test_a_wagon_is_14_m(tmp_path: Path) -> None:
    obj = objects_for_scene("border-20221104T1024")[0]
    assert obj.sighting == "1.1" and obj.count == 3
    wagon = obj.shapes[0][0]
    assert wagon.minimum_rotated_rectangle.length / 2 == pytest.approx(14 + 3.2, abs=0.5)


def test_every_scene_is_registered_as_synthetic(demo: tuple[Settings, list[Scene]]) -> None:
    settings, scenes = demo
    assert [s.id for s in scenes] == [s.id for s in DEMO_SCENES]
    catalog = Catalog(settings.database, settings.data_dir)
    for s in scenes:
        assert s.synthetic and s.gsd == 0.5 and s.crs == "EPSG:32652"
        assert s.description.startswith("SYNTHETIC image")
        assert "synthetic" in s.provider
        assert read_tags(catalog.location(s))["TUMEN_SYNTHETIC"] == "true"
    if settings.storage_url:  # in S3, each under its immutable key; none left in the data dir
        assert all(s.path.startswith(f"{settings.storage_url}/scenes/{s.id}/") for s in scenes)
        assert not list(settings.scenes_dir.glob("*.tif"))


def test_border_scenes_cover_three_sites_and_rajin_its_own(
    demo: tuple[Settings, list[Scene]],
) -> None:
    settings, scenes = demo
    sites = load_sites(settings.sites_file)
    by_id = {s.id: s for s in scenes}
    border = by_id["border-20221104T1310"]
    assert border.sites == ["bridge", "khasan", "tumangang"]
    for site in ("bridge", "khasan", "tumangang"):
        assert box(*border.geographic_bounds).contains(box(*sites[site].bbox)), site
    rajin = by_id["rajin-20231012"]
    assert rajin.sites == ["rajin"]
    assert box(*rajin.geographic_bounds).contains(box(*sites["rajin"].bbox))


def test_reported_times_keep_their_offset(demo: tuple[Settings, list[Scene]]) -> None:
    _, scenes = demo
    times = {s.id: s.datetime.isoformat() for s in scenes}
    assert times["border-20221104T1024"] == "2022-11-04T10:24:00+09:00"
    assert times["border-20221104T1429"] == "2022-11-04T14:29:00+09:00"
    assert times["rajin-20231020T1543"] == "2023-10-20T15:43:00+09:00"


def test_demo_is_skipped_when_present(demo: tuple[Settings, list[Scene]]) -> None:
    settings, scenes = demo
    again = build_demo(settings, console=Console(quiet=True))
    assert [s.version for s in again] == [s.version for s in scenes]


def test_every_demo_sighting_is_a_valid_reported_record_with_its_sources() -> None:
    records = demo_records()
    assert len(records) == 28 and len({fid for fid, _ in records}) == 28
    for fid, doc in records:
        props = ObservationIn.model_validate(doc).properties
        assert props is not None and props.method == "reported" and props.sources, fid


def test_caveats_stay_with_their_sightings() -> None:
    text = {fid: doc["properties"]["description"] for fid, doc in demo_records()}
    assert text["demo-1.1"].endswith(
        "38 North: it was impossible to determine what the train was carrying."
    )
    assert text["demo-3.3"].endswith(
        "CSIS: the tarpaulins make the cargo impossible to identify conclusively."
    )


def _edited(src: Path, dst: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    doc = json.loads(src.read_text())
    edit(doc)
    dst.write_text(json.dumps(doc))
    return dst


def test_a_scene_on_an_unknown_track_is_refused(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["scenes"][0]["objects"][0]["track"] = "yard 9"

    with pytest.raises(ValidationError, match="unknown track 'yard 9'"):
        load_scenes(_edited(SCENES_FILE, tmp_path / "scenes.json", edit))


def test_a_sighting_citing_an_unknown_source_is_refused(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["sightings"][0]["sources"] = ["nobody"]

    with pytest.raises(ValidationError, match="unknown sources"):
        demo_records(_edited(SIGHTINGS_FILE, tmp_path / "sightings.json", edit))


def test_the_demo_tables_ship_in_the_package() -> None:
    root = Path(__file__).resolve().parents[2]
    package_data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    for table in (SCENES_FILE, SIGHTINGS_FILE):
        assert any(fnmatch.fnmatch(table.name, p) for p in package_data.get("tumen.demo", [])), (
            table
        )
