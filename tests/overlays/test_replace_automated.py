"""A new analysis run replaces the scene's automated sightings, all at once, and nothing else."""

import pytest

from overlays.errors import FeatureNotFound
from overlays.models import ObservationIn
from overlays.store import ObservationStore, Query
from tumen.db import open_store
from tumen.settings import Settings


def feature(method: str, scene: str | None = "s1", count: int = 1) -> ObservationIn:
    return ObservationIn.model_validate(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [130.64, 42.41]},
            "properties": {
                "site": "bridge",
                "scene_id": scene,
                "observed_at": "2022-11-04T14:29:00+09:00",
                "kind": "train",
                "count": count,
                "method": method,
                "sources": [{"outlet": "38 North"}] if method == "reported" else [],
                "review": "unreviewed" if method == "automated" else None,
                "area_m2": 12.5 if method == "automated" else None,
            },
        }
    )


@pytest.fixture
def store(settings: Settings) -> ObservationStore:
    return open_store(settings)  # SQLite, or PostgreSQL with --backend=postgres


def test_rerun_replaces_only_that_scenes_automated_sightings(store: ObservationStore) -> None:
    manual = store.create(feature("manual"), actor="me")
    reported = store.create(feature("reported"), actor="me")
    other_scene = store.create(feature("automated", scene="s2"), actor="run")
    removed, first = store.replace_automated("s1", [feature("automated")] * 2, actor="run")
    assert removed == 0 and len(first) == 2
    removed, second = store.replace_automated("s1", [feature("automated", count=7)], actor="run")
    assert removed == 2 and len(second) == 1
    for fid in first:
        with pytest.raises(FeatureNotFound):
            store.get(fid)
        assert [c.action for c in store.history(fid)] == ["create", "delete"]
    kept = {f.id for f in store.query(Query(limit=100)).features}
    assert kept == {manual.id, reported.id, other_scene.id, *second}
    new = store.get(second[0]).properties
    assert new["count"] == 7 and new["review"] == "unreviewed" and new["area_m2"] == 12.5


def test_a_failed_run_changes_nothing(store: ObservationStore) -> None:
    _, first = store.replace_automated("s1", [feature("automated")], actor="run")

    good = feature("automated")
    broken = ObservationIn.model_construct(type="Feature", geometry=good.geometry, properties=None)
    with pytest.raises(
        AttributeError
    ):  # fails after the old ones are deleted, the first new written
        store.replace_automated("s1", [good, broken], actor="run")
    assert [f.id for f in store.query(Query(limit=100)).features] == first
