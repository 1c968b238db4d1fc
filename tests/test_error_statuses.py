"""One status per fault, on the imagery side and the sightings side alike (the README's error table)."""

import pytest
from fastapi.testclient import TestClient

TILE = "tiles/WebMercatorQuad/16/56550/24226.png"
ITEMS = "/api/collections/observations/items"
BRIDGE_BOX = "130.638,42.413,130.646,42.420"

# fault → (status, requests that commit it, on both sides where both have it)
TABLE: dict[str, tuple[int, list[str]]] = {
    "a datetime that is not ISO 8601": (
        400,
        [
            f"/sites/bridge/{TILE}?datetime=yesterday",
            "/sites/bridge/info?datetime=yesterday",
            "/wmts/WMTSCapabilities.xml?datetime=yesterday",
            f"/sites/bridge/report?bbox={BRIDGE_BOX}&datetime=yesterday",
            f"/sites/bridge/figure.png?bbox={BRIDGE_BOX}&datetime=yesterday",
            f"{ITEMS}?datetime=yesterday",
            "/api/collections/tracks/items?datetime=yesterday",
            "/api/collections/observations/activity?site=bridge&datetime=yesterday",
        ],
    ),
    "a bbox that is not four numbers in range": (
        400,
        [
            "/scenes/border-a/bbox/1,2,x,4.png",
            "/sites/bridge/report?bbox=1,2,3",
            "/sites/bridge/figure.png?bbox=1,2,3",
            f"{ITEMS}?bbox=1,2,3",
            "/api/collections/scenes/items?bbox=0,0,500,1",
        ],
    ),
    "a number that is not one, or out of range": (
        400,
        [
            "/scenes/border-a/tiles/WebMercatorQuad/z/56550/24226.png",
            "/scenes/border-a/preview.png?max_size=0",
            f"/sites/bridge/figure.png?bbox={BRIDGE_BOX}&width=0",
            f"{ITEMS}?limit=0",
            f"{ITEMS}?offset=-1",
        ],
    ),
    "an unknown value in a query parameter": (
        400,
        [
            "/scenes?site=vostochny",
            f"{ITEMS}?site=vostochny",
            "/api/collections/tracks/items?site=vostochny",
            "/api/collections/observations/activity?site=vostochny",
            "/api/collections/observations/activity?site=bridge&kind=tank",
            f"/scenes/border-a/{TILE}?url=https://example.org/x.tif",
        ],
    ),
    "an unknown site in the path": (
        404,
        [
            "/sites/vostochny/calendar",
            f"/sites/vostochny/{TILE}",
            "/sites/vostochny/info",
            f"/sites/vostochny/report?bbox={BRIDGE_BOX}",
            f"/sites/vostochny/strip.png?bbox={BRIDGE_BOX}&dates=2022-11-04",
            f"/sites/vostochny/timelapse.mp4?bbox={BRIDGE_BOX}",
            "/api/collections/sites/items/vostochny",
        ],
    ),
    "an unknown scene, collection or feature in the path": (
        404,
        [
            "/scenes/no-such-scene",
            f"/scenes/no-such-scene/{TILE}",
            "/scenes/no-such-scene.pmtiles",
            "/api/collections/scenes/items/no-such-scene",
            f"{ITEMS}/no-such-sighting",
            "/api/collections/ships/items",
        ],
    ),
    "a site with no scene at that time": (
        404,
        [
            f"/sites/bridge/{TILE}?datetime=2001-01-01",
            f"/sites/bridge/report?bbox={BRIDGE_BOX}&datetime=2001-01-01",
            f"/sites/bridge/strip.png?bbox={BRIDGE_BOX}&dates=2001-01-01",
        ],
    ),
}
CASES = [(fault, status, url) for fault, (status, urls) in TABLE.items() for url in urls]


@pytest.mark.parametrize(("fault", "status", "url"), CASES, ids=[c[2] for c in CASES])
def test_one_status_per_fault(client: TestClient, fault: str, status: int, url: str) -> None:
    r = client.get(url)
    assert r.status_code == status, (fault, r.text)
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail  # one error body: {"detail": what was wrong}


def test_the_openapi_documents_400_not_fastapis_422(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    tile = doc["paths"]["/scenes/{scene_id}/tiles/{tileMatrixSetId}/{z}/{x}/{y}.{format}"]["get"]
    assert "422" not in tile["responses"] and "400" in tile["responses"]
    # 422 stays where it is a fault of its own: a sighting that breaks a rule.
    post = doc["paths"]["/api/collections/{cid}/items"]["post"]
    assert "422" in post["responses"]
