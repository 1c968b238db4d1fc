"""The scenes catalog and its STAC view."""

import pystac
import pytest
from fastapi.testclient import TestClient

from tiles.catalog import Catalog, Scene
from tumen.settings import Settings


def test_scene_is_a_valid_stac_item(client: TestClient) -> None:
    doc = client.get("/scenes/border-a").json()
    item = pystac.Item.from_dict(doc)
    assert item.validate()  # offline: pystac ships the core 1.1 schemas
    assert doc["stac_version"].startswith("1.")
    props = doc["properties"]
    assert props["tumen:synthetic"] is True
    assert props["tumen:sites"] == ["bridge", "khasan", "tumangang"]
    assert props["datetime"] == "2022-11-04T01:24:00Z"
    assert props["gsd"] == 5.0
    assert props["providers"][0]["name"] == "test provider"
    assert doc["assets"]["tilejson"]["href"] == (
        "http://testserver/scenes/border-a/WebMercatorQuad/tilejson.json"
    )
    assert "SYNTHETIC" in props["tumen:attribution"]


def test_scene_list_is_an_item_collection_in_time_order(client: TestClient) -> None:
    doc = client.get("/scenes").json()
    assert [f["id"] for f in doc["features"]] == ["border-a", "border-b", "border-c"]
    assert doc["numberReturned"] == 3
    assert client.get("/scenes", params={"site": "rajin"}).json()["features"] == []
    assert client.get("/scenes", params={"site": "nowhere"}).status_code == 400  # a query value


def test_calendar_lists_scene_times(client: TestClient) -> None:
    doc = client.get("/sites/khasan/calendar").json()
    assert doc["dates"] == ["2022-11-04"]
    assert [s["datetime"] for s in doc["scenes"]] == [
        "2022-11-04T10:24:00+09:00",
        "2022-11-04T13:10:00+09:00",
        "2022-11-04T14:29:00+09:00",
    ]
    assert all(s["synthetic"] for s in doc["scenes"])


def test_reregistering_replaces_and_remove_forgets(
    settings: Settings, border_scenes: list[Scene]
) -> None:
    catalog = Catalog(settings.database, settings.data_dir)
    moved = border_scenes[0].model_copy(update={"sites": ["tumangang"]})
    catalog.add(moved)
    assert [s.id for s in catalog.list("bridge")] == ["border-b", "border-c"]
    assert catalog.get("border-a").sites == ["tumangang"]
    catalog.remove("border-a")
    assert [s.id for s in catalog.list()] == ["border-b", "border-c"]


def test_older_records_get_band_count_and_dtype_from_their_cog(
    settings: Settings, border_scenes: list[Scene]
) -> None:
    import json
    import sqlite3

    if settings.database_url:
        pytest.skip("records from before band counts exist only in older SQLite files")
    if settings.storage_url:
        pytest.skip("records from before band counts name local COGs, never objects in S3")

    with sqlite3.connect(settings.database) as db:
        for scene_id, record in db.execute("SELECT id, record FROM scenes").fetchall():
            old = {k: v for k, v in json.loads(record).items() if k not in ("bands", "dtype")}
            db.execute("UPDATE scenes SET record = ? WHERE id = ?", (json.dumps(old), scene_id))
    assert Catalog(settings.database, settings.data_dir).get("border-a").bands == 3
    assert {(s.bands, s.dtype) for s in Catalog(settings.database, settings.data_dir).list()} == {
        (3, "uint8")
    }
