"""Sites as data: a new site's document, and removal checked against scenes *and* sightings.

The catalog (tiles.site_registry) keeps the sites; only here, where both sides meet, can a removal
ask the sightings store too.
"""

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from overlays.models import Kind
from overlays.sites import SiteInfo
from overlays.store import ObservationStore, Query
from tiles.catalog import Catalog
from tiles.errors import InvalidSite, SiteInUse
from tiles.site_registry import counted
from tiles.sites import References, Site, parse_site, references_from_geojson


class SiteKind(StrEnum):
    """What a site is; it says which kind of sighting tells its activity best."""

    rail = "rail"
    port = "port"
    border = "border"


# The kind the activity chart opens on: wagons in a rail yard, ships at a port, trains at a crossing.
MAIN_KIND: dict[SiteKind, Kind] = {
    SiteKind.rail: "wagon",
    SiteKind.port: "ship",
    SiteKind.border: "train",
}


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``W,S,E,N`` as four numbers (their order and range are the Site's to check)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as err:
        raise InvalidSite(f"bbox: '{text}' is not four comma-separated numbers W,S,E,N") from err
    if len(values) != 4:
        raise InvalidSite(f"bbox: expected 4 numbers W,S,E,N, got {len(values)}")
    return (values[0], values[1], values[2], values[3])


def site_document(
    site_id: str,
    name: str,
    bbox: tuple[float, float, float, float],
    kind: SiteKind | None = None,
    description: str = "",
) -> dict[str, Any]:
    """A new site's document, in the shape of the sites file; its centre is the bbox centre."""
    w, s, e, n = bbox
    doc: dict[str, Any] = {
        "id": site_id,
        "name": name,
        "description": description,
        "centre": [round((w + e) / 2, 6), round((s + n) / 2, 6)],
        "bbox": list(bbox),
        "baselines": [],
    }
    if kind is not None:
        doc["kind"] = kind.value
        doc["main_kind"] = MAIN_KIND[kind]
    parse_site(doc)  # the tiles side's rules (id, name, bbox) ...
    SiteInfo.model_validate(doc)  # ... and the sightings side's (main_kind)
    return doc


def read_references(path: Path, site: Site) -> References:
    """A site's reference layers from a GeoJSON file (see tiles.sites.references_from_geojson)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InvalidSite(f"references: cannot read {path} ({err.strerror})") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InvalidSite(f"references: {path} is not JSON ({err})") from err
    return references_from_geojson(doc, site)


def add_site(catalog: Catalog, document: dict[str, Any], references: Path | None = None) -> Site:
    """Add a site, with its reference layers when a file is given (checked before anything is written)."""
    if references is not None:
        layers = read_references(references, parse_site(document))
        document = {**document, "references": layers.model_dump(mode="json", exclude_none=True)}
    return catalog.sites.add(document)


def sightings_at(store: ObservationStore, site_id: str) -> int:
    """How many sightings name the site."""
    return store.query(Query(equals={"site": site_id}, limit=1)).matched


def remove_site(catalog: Catalog, store: ObservationStore, site_id: str) -> None:
    """Remove a site no scene covers and no sighting names (SiteInUse says which do)."""
    catalog.sites.document(site_id)  # SiteNotFound first
    uses = []
    scenes = catalog.sites.scenes_of(site_id)
    if scenes:
        uses.append(counted(scenes, "scene"))
    sightings = sightings_at(store, site_id)
    if sightings:
        uses.append(f"{sightings} sighting{'' if sightings == 1 else 's'}")
    if uses:
        raise SiteInUse(site_id, uses)
    catalog.sites.remove(site_id)  # checks the scenes again, in its own transaction
