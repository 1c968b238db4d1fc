"""Sites as the tiles side knows them: an id, a name, a bbox, and optional reference layers.

Sites live in the catalog (tiles.site_registry); the sites file (tumen/sites.json) only seeds it.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geojson_pydantic import LineString, MultiLineString, MultiPolygon, Polygon
from pydantic import BaseModel, Field, ValidationError, field_validator
from shapely.geometry import LineString as ShapelyLineString
from shapely.geometry import MultiLineString as ShapelyMultiLineString
from shapely.geometry import MultiPolygon as ShapelyMultiPolygon
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.geometry import box, shape
from shapely.ops import unary_union

from tiles.errors import InvalidSite

# The shape of a scene or site id: it is a path segment of every URL that names one.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
REFERENCE_LAYERS = ("tracks", "water", "hard_standing")


class References(BaseModel):
    """Reference layers a person drew for a site (lon/lat), for the analysis to use when present."""

    tracks: list[LineString | MultiLineString] = Field(
        default_factory=list, description="Track centre-lines."
    )
    water: list[Polygon | MultiPolygon] = Field(
        default_factory=list, description="Water: where ships are."
    )
    hard_standing: list[Polygon | MultiPolygon] = Field(
        default_factory=list, description="Paved yards and quays: where cargo is stacked."
    )


class Site(BaseModel):
    """A place tumen watches; its bbox decides which scenes cover it."""

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    bbox: tuple[float, float, float, float] = Field(description="minlon, minlat, maxlon, maxlat")
    centre: tuple[float, float]
    description: str = ""
    references: References | None = None

    @field_validator("bbox")
    @classmethod
    def _bbox_in_order_and_range(
        cls, bbox: tuple[float, float, float, float]
    ) -> tuple[float, float, float, float]:
        w, s, e, n = bbox
        if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
            raise ValueError(
                f"{bbox} is out of range (longitudes -180..180, latitudes -90..90, W,S,E,N)"
            )
        if not (w < e and s < n):
            raise ValueError(f"{bbox} is not in W,S,E,N order with W < E and S < N")
        return bbox


def parse_site(document: Mapping[str, Any]) -> Site:
    """The Site a document describes; InvalidSite naming the first bad field otherwise."""
    try:
        return Site.model_validate(document)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "site"
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidSite(f"{where}: {message}") from err


def load_sites(path: Path) -> dict[str, Site]:
    """Read a sites file (the seed of the catalog's sites); other keys are left to other readers."""
    return {sid: parse_site(doc) for sid, doc in load_site_documents(path).items()}


def load_site_documents(path: Path) -> dict[str, dict[str, Any]]:
    """Every site document of a sites file, by id, in the file's order."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return {s["id"]: s for s in doc["sites"]}


def covered_sites(
    geographic_bounds: tuple[float, float, float, float], sites: Mapping[str, Site]
) -> list[str]:
    """Ids of every site whose bbox a footprint overlaps: one border image serves several sites."""
    footprint = box(*geographic_bounds)
    return [sid for sid, site in sites.items() if footprint.intersects(box(*site.bbox))]


def references_from_geojson(doc: Any, site: Site) -> References:
    """A FeatureCollection whose features say their layer (``properties.layer``) as References.

    ``layer`` is one of tracks (LineStrings), water or hard_standing (Polygons); every geometry is
    in lon/lat and must touch the site's bbox (a projected file would lie far outside it).
    """
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InvalidSite("references: expected a GeoJSON FeatureCollection")
    layers: dict[str, list[Any]] = {name: [] for name in REFERENCE_LAYERS}
    area = box(*site.bbox)
    for i, feature in enumerate(doc.get("features") or []):
        where = f"references: features[{i}]"
        if not isinstance(feature, dict):
            raise InvalidSite(f"{where}: not a GeoJSON Feature")
        layer = (feature.get("properties") or {}).get("layer")
        if layer not in layers:
            raise InvalidSite(
                f"{where}: properties.layer must be one of {', '.join(REFERENCE_LAYERS)}, "
                f"not {layer!r}"
            )
        geometry = feature.get("geometry")
        layers[layer].append(geometry)
        try:
            touches = shape(geometry).intersects(area)
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise InvalidSite(f"{where}: not a GeoJSON geometry ({err})") from err
        if not touches:
            raise InvalidSite(
                f"{where}: outside site '{site.id}' (bbox {site.bbox}); coordinates must be lon/lat"
            )
    try:
        return References.model_validate(layers)
    except ValidationError as err:
        first = err.errors()[0]
        name = first["loc"][0]
        kinds = "LineString" if name == "tracks" else "Polygon"
        raise InvalidSite(
            f"references: layer {name} takes {kinds} or Multi{kinds} geometries only"
        ) from err


@dataclass(frozen=True)
class ReferenceGeometries:
    """A site's reference layers as shapely geometries in lon/lat; None where none was drawn."""

    tracks: ShapelyMultiLineString | None
    water: ShapelyMultiPolygon | None
    hard_standing: ShapelyMultiPolygon | None


def _polygons(geoms: list[Polygon | MultiPolygon]) -> ShapelyMultiPolygon | None:
    if not geoms:
        return None
    merged = unary_union([shape(g.model_dump()) for g in geoms])
    return ShapelyMultiPolygon([merged]) if isinstance(merged, ShapelyPolygon) else merged


def reference_geometries(site: Site) -> ReferenceGeometries:
    """The site's tracks (lines), water and hard-standing (polygons, overlaps merged), if any."""
    refs = site.references or References()
    lines: list[ShapelyLineString] = []
    for g in refs.tracks:
        line = shape(g.model_dump())
        lines.extend(line.geoms if isinstance(line, ShapelyMultiLineString) else [line])
    return ReferenceGeometries(
        tracks=ShapelyMultiLineString(lines) if lines else None,
        water=_polygons(refs.water),
        hard_standing=_polygons(refs.hard_standing),
    )
