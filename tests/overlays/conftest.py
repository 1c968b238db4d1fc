from collections.abc import Iterator
from copy import deepcopy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tiles.catalog import Scene
from tumen.app import create_app
from tumen.settings import Settings

KEY = "test-key-123"
AUTH = {"X-API-Key": KEY}


def sighting(**props: Any) -> dict[str, Any]:
    """A valid reported sighting at the bridge; ``props`` override its properties."""
    base = {
        "site": "bridge",
        "scene_id": "border-b",
        "observed_at": "2022-11-04T13:10:00+09:00",
        "kind": "wagon",
        "count": 3,
        "description": "three wagons behind a locomotive",
        "sources": [
            {"outlet": "38 North", "published": "2022-11", "url": "https://www.38north.org/"}
        ],
        "method": "reported",
        "confidence": 0.8,
    }
    base.update(props)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [130.6425, 42.4165]},
        "properties": base,
    }


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_key": SecretStr(KEY)})


@pytest.fixture
def api(keyed: Settings, border_scenes: list[Scene]) -> Iterator[TestClient]:
    with TestClient(create_app(keyed)) as c:
        yield c


def post(api: TestClient, feature: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/api/collections/observations/items", json=feature, headers=AUTH)
    assert r.status_code == 201, r.text
    return r.json()


def copy(doc: dict[str, Any]) -> dict[str, Any]:
    return deepcopy(doc)
