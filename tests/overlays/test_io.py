"""`tumen sightings import/export`: all or nothing in, GeoJSON and GeoPackage out."""

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from overlays.store import Query
from tests.overlays.conftest import sighting
from tiles.catalog import Scene
from tumen.cli import app
from tumen.db import open_store
from tumen.settings import Settings

runner = CliRunner()


@pytest.fixture
def env(
    settings: Settings, border_scenes: list[Scene], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("TUMEN_DATA_DIR", str(settings.data_dir))
    return settings


def write(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def count(settings: Settings) -> int:
    return open_store(settings).query(Query()).matched


def test_import_adds_every_feature(env: Settings, tmp_path: Path) -> None:
    src = write(tmp_path / "in.geojson", [sighting(count=1), sighting(count=2)])
    r = runner.invoke(app, ["sightings", "import", str(src)])
    assert r.exit_code == 0, r.output
    assert "imported 2 sightings" in r.output
    assert count(env) == 2


def test_import_is_all_or_nothing_and_names_the_bad_feature(env: Settings, tmp_path: Path) -> None:
    bad = sighting(site="atlantis")
    bad["id"] = "x7"
    src = write(tmp_path / "in.geojson", [sighting(), bad, sighting()])
    r = runner.invoke(app, ["sightings", "import", str(src)])
    assert r.exit_code != 0
    assert "feature 1 (id x7): properties.site: unknown site 'atlantis'" in r.output
    assert count(env) == 0
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection",\n "features": [,]}')
    r = runner.invoke(app, ["sightings", "import", str(broken)])
    assert r.exit_code != 0 and "malformed JSON at line 2" in r.output


def test_export_geojson_round_trips_and_gpkg_has_every_attribute(
    env: Settings, tmp_path: Path
) -> None:
    runner.invoke(
        app,
        [
            "sightings",
            "import",
            str(write(tmp_path / "in.geojson", [sighting(count=i) for i in range(4)])),
        ],
    )
    out = tmp_path / "out.geojson"
    assert (
        runner.invoke(app, ["sightings", "export", "--format", "geojson", "-o", str(out)]).exit_code
        == 0
    )
    doc = json.loads(out.read_text())
    assert sorted(f["properties"]["count"] for f in doc["features"]) == [0, 1, 2, 3]
    gpkg = tmp_path / "out.gpkg"
    r = runner.invoke(app, ["sightings", "export", "--format", "gpkg", "-o", str(gpkg)])
    assert r.exit_code == 0, r.output
    with sqlite3.connect(gpkg) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(observations)")}
        rows = db.execute("SELECT count(*) FROM observations").fetchone()[0]
    assert rows == 4
    assert {"id", "site", "kind", "count", "sources", "observed_at", "version"} <= columns
