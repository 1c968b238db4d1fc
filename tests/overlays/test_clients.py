"""Real clients of OGC API – Features against a live tumen: OWSLib and GDAL/OGR."""

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from owslib.ogcapi.features import Features

from tests.conftest import LiveServer, served
from tests.overlays.conftest import AUTH, sighting
from tiles.catalog import Scene
from tumen.settings import Settings


@pytest.fixture
def server(keyed: Settings, border_scenes: list[Scene]) -> Iterator[LiveServer]:
    with LiveServer(keyed) as s:
        for i in range(7):
            doc = sighting(observed_at=f"2022-11-04T1{i}:00:00+09:00", count=i)
            r = httpx.post(f"{s.url}/api/collections/observations/items", json=doc, headers=AUTH)
            assert r.status_code == 201
        yield s


def test_owslib_lists_collections_and_reads_items(server: LiveServer) -> None:
    api = Features(f"{server.url}/api")
    assert [c["id"] for c in api.collections()["collections"]] == [
        "observations",
        "tracks",
        "sites",
        "scenes",
    ]
    items = api.collection_items("observations", limit=3)
    assert items["numberMatched"] == 7 and len(items["features"]) == 3
    assert [f["properties"]["count"] for f in items["features"]] == [0, 1, 2]
    one = api.collection_item("observations", items["features"][0]["id"])
    assert one["properties"]["sources"][0]["outlet"] == "38 North"


def run(*args: str) -> str:
    out = subprocess.run(list(args), capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_ogrinfo_lists_layers_and_counts(server: LiveServer) -> None:
    listing = run("ogrinfo", "-ro", "-q", f"OAPIF:{server.url}/api")
    for layer in ("observations", "tracks", "sites", "scenes"):
        assert layer in listing
    summary = run("ogrinfo", "-ro", "-so", f"OAPIF:{server.url}/api", "observations")
    assert "Feature Count: 7" in summary


def test_ogr2ogr_copies_observations_to_geopackage(server: LiveServer, tmp_path: Path) -> None:
    out = tmp_path / "obs.gpkg"
    run("ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{server.url}/api", "observations")
    with sqlite3.connect(out) as db:  # a GeoPackage is SQLite: read what ogr2ogr wrote
        columns = {row[1] for row in db.execute("PRAGMA table_info(observations)")}
        counts = sorted(r[0] for r in db.execute('SELECT "count" FROM observations'))
    assert {"site", "kind", "count", "observed_at", "description", "method", "version"} <= columns
    assert counts == list(range(7))


def test_tumen_serve_spells_location_as_qgis_3_40_matches_it(
    settings: Settings, border_scenes: list[Scene]
) -> None:
    """QGIS ≤ 3.40.6 finds a created feature's id only in a header named exactly "Location"."""
    import http.client
    import json
    from urllib.parse import urlsplit

    with served(settings, TUMEN_API_KEY=AUTH["X-API-Key"]) as (_, base):
        conn = http.client.HTTPConnection(urlsplit(base).netloc, timeout=10)
        conn.request(
            "POST",
            "/api/collections/observations/items",
            body=json.dumps(sighting()),
            headers={**AUTH, "Content-Type": "application/geo+json"},
        )
        response = conn.getresponse()
        body = json.loads(response.read())
        names = [name for name, _ in response.getheaders()]
    assert response.status == 201
    assert "Location" in names
    assert response.getheader("Location") == (
        f"{base}/api/collections/observations/items/{body['id']}"
    )
