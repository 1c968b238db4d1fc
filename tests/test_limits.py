"""Request limits: 413 for a body over TUMEN_MAX_BODY_BYTES (before parsing), 400 for a geometry
over TUMEN_MAX_VERTICES, 429 with Retry-After for a key over TUMEN_WRITE_RATE; nothing is written."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from overlays.ratelimit import WriteBudget
from tests.overlays.conftest import AUTH, KEY, sighting
from tiles.catalog import Scene
from tumen.app import create_app
from tumen.limits import count_positions
from tumen.settings import Settings

# HTTP, a client or load, the same on every backend: run in the SQLite pass only.
pytestmark = pytest.mark.above_storage

ITEMS = "/api/collections/observations/items"


@pytest.fixture
def limited(settings: Settings, border_scenes: list[Scene]) -> Iterator[TestClient]:
    small = settings.model_copy(
        update={
            "api_key": SecretStr(KEY),
            "max_body_bytes": 4096,
            "max_vertices": 50,
            "write_rate": 3,
        }
    )
    with TestClient(create_app(small)) as c:
        yield c


def line(n: int) -> dict:
    feature = sighting(kind="train")
    feature["geometry"] = {
        "type": "LineString",
        "coordinates": [[130.642 + i * 1e-6, 42.4165] for i in range(n)],
    }
    return feature


def test_body_over_the_limit_is_413_from_content_length(limited: TestClient) -> None:
    big = sighting(description="x" * 5000)
    r = limited.post(ITEMS, json=big, headers=AUTH)
    assert r.status_code == 413
    assert r.json()["detail"].startswith("request body of ")
    assert "over the limit of 4096 bytes (TUMEN_MAX_BODY_BYTES)" in r.json()["detail"]
    assert limited.get(ITEMS).json()["numberMatched"] == 0


def test_chunked_body_over_the_limit_is_413(limited: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"type": "Feature", "properties": {"description": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}}'

    r = limited.post(ITEMS, content=chunks(), headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["detail"] == (
        "request body is over the limit of 4096 bytes (TUMEN_MAX_BODY_BYTES); "
        "send fewer features per request"
    )
    assert limited.get(ITEMS).json()["numberMatched"] == 0


def test_imagery_crop_body_over_the_limit_is_413(limited: TestClient) -> None:
    r = limited.post("/scenes/border-a/feature.tif", content=b"{" + b" " * 5000 + b"}")
    assert r.status_code == 413


def test_geometry_over_max_vertices_is_400_on_writes_and_crops(limited: TestClient) -> None:
    r = limited.post(ITEMS, json=line(51), headers=AUTH)
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "geometry: 51 vertices is over the limit of 50 (TUMEN_MAX_VERTICES); simplify the geometry"
    )
    assert limited.get(ITEMS).json()["numberMatched"] == 0
    crop = {"type": "Feature", "properties": {}, "geometry": line(51)["geometry"]}
    r = limited.post("/scenes/border-a/statistics", json=crop)
    assert r.status_code == 400 and "51 vertices" in r.json()["detail"]
    assert limited.post(ITEMS, json=line(50), headers=AUTH).status_code == 201


def test_writes_over_the_rate_are_429_with_retry_after(limited: TestClient) -> None:
    for _ in range(3):
        assert limited.post(ITEMS, json=sighting(), headers=AUTH).status_code == 201
    r = limited.post(ITEMS, json=sighting(), headers=AUTH)
    assert r.status_code == 429
    wait = r.headers["retry-after"]
    assert wait in ("19", "20")  # one write per 20 s at 3 per minute
    assert r.json()["detail"].startswith(f"too many writes with this API key: wait {wait} s")
    assert limited.get(ITEMS).json()["numberMatched"] == 3
    # reads are not writes
    assert limited.get(ITEMS).status_code == 200


def test_write_budget_refills_with_time() -> None:
    now = [0.0]
    budget = WriteBudget(60, clock=lambda: now[0])  # one per second, 60 at once
    for _ in range(60):
        budget.spend("k")
    with pytest.raises(Exception, match="wait 1 s"):
        budget.spend("k")
    budget.spend("other key")  # per key
    now[0] = 2.5
    budget.spend("k")
    budget.spend("k")
    with pytest.raises(Exception, match="wait 1 s"):
        budget.spend("k")
    WriteBudget(0).spend("k")  # 0: no limit


def test_count_positions_sees_every_geometry_type() -> None:
    assert count_positions({"type": "Point", "coordinates": [1, 2]}) == 1
    poly = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]] * 2}
    assert count_positions(poly) == 8
    collection = {
        "type": "FeatureCollection",
        "features": [{"geometry": poly}, {"geometry": {"type": "MultiPoint", "coordinates": []}}],
    }
    assert count_positions(collection) == 8
