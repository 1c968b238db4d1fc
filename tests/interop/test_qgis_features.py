"""QGIS 3.22 reads the observations through its OAPIF provider: count, attributes, extent filter."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer
from tests.interop.conftest import run_qgis
from tests.overlays.conftest import AUTH, sighting
from tiles.catalog import Scene
from tumen.settings import Settings

POINTS = [(130.6425, 42.4165), (130.6440, 42.4170), (130.6081, 42.4214), (130.6453, 42.4281)]


@pytest.fixture
def server(keyed: Settings, border_scenes: list[Scene]) -> Iterator[LiveServer]:
    with LiveServer(keyed) as s:
        for i, (lon, lat) in enumerate(POINTS):
            site = "tumangang" if lon < 130.62 else ("khasan" if lat > 42.42 else "bridge")
            doc = sighting(site=site, count=i, scene_id=None)
            doc["geometry"]["coordinates"] = [lon, lat]
            r = httpx.post(f"{s.url}/api/collections/observations/items", json=doc, headers=AUTH)
            assert r.status_code == 201, r.text
        yield s


def test_oapif_layer_counts_attributes_and_extent_filter(
    server: LiveServer, tmp_path: Path
) -> None:
    api = httpx.get(f"{server.url}/api/collections/observations/items").json()
    near_bridge = sorted(
        f["id"]
        for f in api["features"]
        if 130.640 <= f["geometry"]["coordinates"][0] <= 130.645
        and f["geometry"]["coordinates"][1] < 42.42
    )
    uri = f"typename='observations' url='{server.url}/api'"
    out = run_qgis(
        {"provider": "OAPIF", "uri": uri, "filter_extent": [130.640, 42.410, 130.645, 42.419]},
        tmp_path,
    )
    assert out["valid"], out
    assert out["count"] == api["numberMatched"] == 4
    assert out["features"] == 4
    assert {"site", "kind", "count", "observed_at", "sources", "version"} <= set(out["fields"])
    assert out["in_extent"] == near_bridge and len(near_bridge) == 2
    hits = [
        r
        for r in server.requests
        if r[0] == "GET" and r[1] == "/api/collections/observations/items"
    ]
    assert hits and all(r[3] == 200 for r in hits)
