"""Sites in the catalog: seeded once from the sites file, changed by add/rm, read fresh but cheaply."""

import json
from pathlib import Path
from typing import Any

import pytest

from tiles.catalog import Catalog, Scene
from tiles.errors import InvalidSite, SiteExists, SiteInUse, SiteNotFound
from tiles.resolve import SceneResolver
from tiles.sites import reference_geometries, references_from_geojson
from tumen.settings import Settings

# A yard north of Tumangang, inside the border scenes' footprint (tests/conftest.py).
YARD: dict[str, Any] = {
    "id": "yard",
    "name": "Test yard",
    "bbox": [130.605, 42.428, 130.612, 42.432],
    "centre": [130.6085, 42.43],
    "main_kind": "wagon",
}


def open_catalog(settings: Settings) -> Catalog:
    return Catalog(settings.database, settings.data_dir, settings.sites_file)


def file_documents(settings: Settings) -> list[dict[str, Any]]:
    return json.loads(settings.sites_file.read_text(encoding="utf-8"))["sites"]  # type: ignore[no-any-return]


def test_the_sites_file_seeds_the_catalog_with_every_field(settings: Settings) -> None:
    catalog = open_catalog(settings)
    assert list(catalog.sites.documents().values()) == file_documents(settings)
    assert list(catalog.sites.all()) == ["bridge", "khasan", "tumangang", "rajin"]
    assert catalog.sites.document("tumangang")["baselines"][0]["count"] == 20


def test_a_catalog_opened_without_the_file_has_no_sites_until_one_opens_with_it(
    settings: Settings,
) -> None:
    bare = Catalog(settings.database, settings.data_dir)
    assert bare.sites.all() == {}
    assert list(open_catalog(settings).sites.all()) == ["bridge", "khasan", "tumangang", "rajin"]


def test_removed_defaults_do_not_come_back_when_the_catalog_is_opened_again(
    settings: Settings,
) -> None:
    catalog = open_catalog(settings)
    for site_id in list(catalog.sites.all()):
        catalog.sites.remove(site_id)
    catalog.sites.add(YARD)
    assert list(open_catalog(settings).sites.all()) == ["yard"]


def test_an_added_site_keeps_its_whole_document_after_the_defaults(settings: Settings) -> None:
    catalog = open_catalog(settings)
    catalog.sites.add({**YARD, "sources": [{"outlet": "me"}]})
    assert list(catalog.sites.all())[-1] == "yard"
    assert catalog.sites.document("yard") == {**YARD, "sources": [{"outlet": "me"}]}
    assert catalog.sites.get("yard").bbox == tuple(YARD["bbox"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "no spaces"}, "id: String should match pattern"),
        ({"id": "../etc"}, "id: String should match pattern"),
        ({"name": ""}, "name: String should have at least 1 character"),
        ({"bbox": [130.612, 42.428, 130.605, 42.432]}, "not in W,S,E,N order"),
        ({"bbox": [130.605, 42.432, 130.612, 42.428]}, "not in W,S,E,N order"),
        ({"bbox": [230.0, 42.428, 231.0, 42.432]}, "out of range"),
        ({"bbox": [130.605, 95.0, 130.612, 96.0]}, "out of range"),
    ],
)
def test_a_bad_site_is_refused_naming_the_field_and_nothing_is_written(
    settings: Settings, change: dict[str, Any], message: str
) -> None:
    catalog = open_catalog(settings)
    before = catalog.sites.documents()
    with pytest.raises(InvalidSite, match=message):
        catalog.sites.add({**YARD, **change})
    assert catalog.sites.documents() == before


def test_a_known_id_is_refused_and_the_site_is_unchanged(settings: Settings) -> None:
    catalog = open_catalog(settings)
    bridge = catalog.sites.document("bridge")
    with pytest.raises(SiteExists, match="site 'bridge' already exists"):
        catalog.sites.add({**YARD, "id": "bridge"})
    assert catalog.sites.document("bridge") == bridge


def test_removing_an_unknown_site_names_the_known_ones(settings: Settings) -> None:
    with pytest.raises(SiteNotFound, match="'vostochny' is unknown; known sites: bridge, khasan"):
        open_catalog(settings).sites.remove("vostochny")


def test_a_site_a_scene_covers_cannot_be_removed(
    settings: Settings, border_scenes: list[Scene]
) -> None:
    catalog = open_catalog(settings)
    with pytest.raises(SiteInUse, match=r"'khasan' is in use by 3 scenes \(border-a, border-b"):
        catalog.sites.remove("khasan")
    assert "khasan" in catalog.sites.all()
    catalog.sites.remove("rajin")  # no scene covers it
    assert "rajin" not in catalog.sites.all()


def test_the_resolver_reads_the_sites_once_until_another_connection_changes_them(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = open_catalog(settings)
    resolver = SceneResolver(catalog)
    reads = []
    table = catalog.sites.documents
    monkeypatch.setattr(catalog.sites, "documents", lambda: reads.append(1) or table())
    first = resolver.sites()
    assert resolver.sites() is first and resolver.site_documents() is resolver.site_documents()
    assert len(reads) == 1, "an unchanged catalog is not read again"
    open_catalog(settings).sites.add(YARD)  # e.g. `tumen sites add` in another process
    assert "yard" in resolver.sites() and len(reads) == 2
    open_catalog(settings).sites.remove("yard")
    assert "yard" not in resolver.sites()
    resolver.close()


LINES = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"layer": "tracks"},
            "geometry": {
                "type": "LineString",
                "coordinates": [[130.606, 42.429], [130.611, 42.429]],
            },
        },
        {
            "type": "Feature",
            "properties": {"layer": "tracks"},
            "geometry": {
                "type": "MultiLineString",
                "coordinates": [
                    [[130.606, 42.430], [130.611, 42.430]],
                    [[130.606, 42.431], [130.611, 42.431]],
                ],
            },
        },
        {
            "type": "Feature",
            "properties": {"layer": "hard_standing"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[130.606, 42.428], [130.608, 42.428], [130.608, 42.4285], [130.606, 42.428]]
                ],
            },
        },
    ],
}


def test_reference_layers_are_stored_and_given_back_as_shapely_geometries(
    settings: Settings,
) -> None:
    catalog = open_catalog(settings)
    site = catalog.sites.add(YARD)
    catalog.sites.set_references("yard", references_from_geojson(LINES, site))
    refs = reference_geometries(catalog.sites.get("yard"))
    assert refs.tracks is not None and len(refs.tracks.geoms) == 3
    assert refs.tracks.length == pytest.approx(3 * 0.005)
    assert refs.hard_standing is not None and refs.hard_standing.geom_type == "MultiPolygon"
    assert refs.water is None
    assert catalog.sites.document("yard")["name"] == "Test yard"  # the rest kept
    catalog.sites.set_references("yard", None)
    assert reference_geometries(catalog.sites.get("yard")).tracks is None


def test_a_site_without_reference_layers_gives_none_for_each(settings: Settings) -> None:
    refs = reference_geometries(open_catalog(settings).sites.get("bridge"))
    assert (refs.tracks, refs.water, refs.hard_standing) == (None, None, None)


def _one(layer: Any, geometry: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"layer": layer}, "geometry": geometry}],
    }


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "expected a GeoJSON FeatureCollection"),
        (_one("roads", LINES["features"][0]["geometry"]), "properties.layer must be one of"),
        (_one("water", LINES["features"][0]["geometry"]), "layer water takes Polygon"),
        (_one("tracks", {"type": "Point", "coordinates": [130.607, 42.43]}), "layer tracks"),
        (
            _one("tracks", {"type": "LineString", "coordinates": [[631_500, 4_698_000], [1, 2]]}),
            "outside site 'yard'",
        ),
        (_one("tracks", None), r"features\[0\]: not a GeoJSON geometry"),
    ],
)
def test_bad_reference_layers_are_refused_naming_what_is_wrong(
    settings: Settings, doc: Any, message: str
) -> None:
    site = open_catalog(settings).sites.add(YARD)
    with pytest.raises(InvalidSite, match=message):
        references_from_geojson(doc, site)


def test_the_sites_file_is_only_read_to_seed(settings: Settings, tmp_path: Path) -> None:
    seed = tmp_path / "sites.json"
    seed.write_text(json.dumps({"sites": [YARD]}))
    catalog = Catalog(settings.database, settings.data_dir, seed)
    seed.write_text(json.dumps({"sites": []}))
    assert list(Catalog(settings.database, settings.data_dir, seed).sites.all()) == ["yard"]
    assert list(catalog.sites.all()) == ["yard"]
