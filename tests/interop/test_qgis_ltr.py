"""QGIS 3.40 (Debian trixie chroot): the WMTS Time dimension drives QGIS's temporal controller."""

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import LiveServer
from tests.interop.conftest import run_qgis
from tests.interop.test_qgis_tiles import assert_same_image, expected_tile, rendered, tile_extent
from tiles.catalog import Scene
from tumen.settings import Settings

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
