"""QGIS 3.40 (Debian trixie chroot): the WMTS Time dimension drives QGIS's temporal controller."""

from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import LiveServer
from tests.interop.conftest import run_qgis
from tests.interop.test_qgis_tiles import assert_same_image, expected_tile, rendered, tile_extent
from tests.overlays.conftest import AUTH, KEY, sighting
from tiles.catalog import Scene
from tumen.settings import Settings

# HTTP, a client or load, the same on every backend: run in the SQLite pass only.
pytestmark = pytest.mark.above_storage

WMTS = (
    "contextualWMSLegend=0&crs=EPSG:3857&dpiMode=7&format=image/png&layers=bridge"
    "&styles=default&tileMatrixSet=WebMercatorQuad&url={url}/wmts/WMTSCapabilities.xml"
)


@pytest.mark.parametrize(
    "window,index,time",
    [
        # QGIS asks for the start of the map's range; tumen answers with the scene current then.
        (["2022-11-04T01:30:00Z", "2022-11-04T02:00:00Z"], 0, "2022-11-04T01:30:00Z"),
        (["2022-11-04T04:20:00Z", "2022-11-04T05:00:00Z"], 1, "2022-11-04T04:20:00Z"),
    ],
)
def test_temporal_range_on_the_map_picks_that_dates_tiles(
    live_server: LiveServer,
    settings: Settings,
    border_scenes: list[Scene],
    tmp_path: Path,
    window: list[str],
    index: int,
    time: str,
) -> None:
    out = run_qgis(
        {
            "provider": "wms",
            "uri": WMTS.format(url=live_server.url),
            "extent": tile_extent(),
            "size": [256, 256],
            "out": "temporal.png",
            "temporal": window,
        },
        tmp_path,
        ltr=True,
    )
    assert out["qgis"].startswith("3.40"), out["qgis"]
    assert out["valid"] and out["temporal_capable"], out
    got = rendered(out["png"])
    assert_same_image(got, expected_tile(settings, border_scenes[index]))
    hits = [r for r in live_server.requests if r[1].startswith("/sites/bridge/tiles/")]
    assert hits and {q for _, _, q, _ in hits} == {f"datetime={time}"}
    assert all(s == 200 for *_, s in hits)
    assert (
        np.mean(np.abs(got[:3].astype(int) - expected_tile(settings, border_scenes[2]).astype(int)))
        > 20
    )


def test_features_added_edited_and_deleted_in_qgis_show_in_the_api_with_history(
    keyed: Settings, border_scenes: list[Scene], tmp_path: Path
) -> None:
    with LiveServer(keyed) as server:
        seed = sighting(site="bridge", scene_id=None)
        r = httpx.post(f"{server.url}/api/collections/observations/items", json=seed, headers=AUTH)
        assert r.status_code == 201, r.text
        seed_id = r.json()["id"]
        out = run_qgis(
            {
                "api": f"{server.url}/api",
                "key": KEY,
                "lonlat": [130.6430, 42.4168],
                "attributes": {
                    "site": "bridge",
                    "kind": "train",
                    "observed_at": "2022-11-04T14:29:00+09:00",
                    "count": 12,
                    "description": "train marked in QGIS",
                    "method": "manual",
                },
                "edit": {"count": 14, "description": "train marked in QGIS, recounted"},
                "move_to": [130.6433, 42.4169],
                "delete_id": seed_id,
            },
            tmp_path,
            ltr=True,
            script="qgis_edit.py",
        )
        assert out["qgis"].startswith("3.40"), out["qgis"]
        assert out["valid"] and out["auth_stored"], out
        assert out["can"] == {
            "add": True,
            "change_attributes": True,
            "change_geometry": True,
            "delete": True,
        }, out
        assert out["add_committed"] and out["edit_committed"] and out["delete_committed"], out
        assert not out["errors"], out
        [new_id] = out["added"]

        feature = httpx.get(f"{server.url}/api/collections/observations/items/{new_id}").json()
        props = feature["properties"]
        assert feature["geometry"]["coordinates"] == pytest.approx([130.6433, 42.4169])
        assert (props["kind"], props["count"], props["site"]) == ("train", 14, "bridge")
        assert props["description"] == "train marked in QGIS, recounted"
        assert props["observed_at"] == "2022-11-04T14:29:00+09:00"

        history = httpx.get(
            f"{server.url}/api/collections/observations/items/{new_id}/history"
        ).json()
        assert [h["action"] for h in history["changes"]][:1] == ["create"]
        assert len(history["changes"]) >= 2
        writes = [
            (m, p) for m, p, _, s in server.requests if m in {"POST", "PUT", "PATCH"} and s < 300
        ]
        assert ("POST", "/api/collections/observations/items") in writes

        items = f"{server.url}/api/collections/observations/items"
        assert httpx.get(f"{items}/{seed_id}").status_code == 404
        gone = httpx.get(f"{items}/{seed_id}/history").json()["changes"]
        assert [h["action"] for h in gone] == ["create", "delete"]
        assert any(p == f"/api/collections/observations/items/{new_id}" for _, p in writes)
