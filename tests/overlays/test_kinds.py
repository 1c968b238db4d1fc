"""The kinds table: one home for each kind's label, plural and colour, served to the map."""

import re

from fastapi.testclient import TestClient

from overlays.kinds import KIND_STYLES, STYLE_OF, kinds_doc
from overlays.models import KINDS


def test_every_kind_has_one_style() -> None:
    assert sorted(s.kind for s in KIND_STYLES) == sorted(KINDS)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", s.colour) for s in KIND_STYLES)


def test_the_table_is_what_the_map_showed() -> None:
    # The plurals and colours the map's own table held before it read them from the API.
    assert {s.kind: s.plural for s in KIND_STYLES} == {
        "locomotive": "locomotives",
        "wagon": "wagons",
        "train": "trains",
        "container": "containers",
        "cargo": "cargo",
        "ship": "ships",
        "other": "objects",
    }
    assert STYLE_OF["wagon"].colour == "#e67e22" and STYLE_OF["wagon"].rgb == (230, 126, 34)
    assert [s.kind for s in KIND_STYLES][:3] == ["train", "wagon", "locomotive"]  # legend order


def test_observations_collection_serves_the_kinds_table(api: TestClient) -> None:
    r = api.get("/api/collections/observations")
    assert r.status_code == 200
    assert r.json()["kinds"] == kinds_doc()
    assert r.json()["kinds"][1] == {
        "kind": "wagon",
        "label": "wagon",
        "plural": "wagons",
        "colour": "#e67e22",
    }


def test_other_collections_carry_no_kinds(api: TestClient) -> None:
    assert "kinds" not in api.get("/api/collections/tracks").json()
    listed = api.get("/api/collections").json()["collections"]
    assert [c["id"] for c in listed if "kinds" in c] == ["observations"]
