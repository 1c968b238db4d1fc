"""The demo's sightings: every report of reference/sightings.md as an observation record.

The table is ``sightings.json`` beside this module: each record's properties, the keys of its sources
and of its sources' caveats, and where its geometry comes from. Positions come from the drawn objects
(episodes.py), so a sighting sits on what its scene shows. Each record cites its report; the sources'
own caveats stay with their sightings (appended to the description).
"""

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from overlays.models import ObservationIn, Source
from overlays.store import ObservationStore
from tumen.demo import layout as L
from tumen.demo.episodes import objects_for_scene

SIGHTINGS_FILE = Path(__file__).with_name("sightings.json")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DrawnObjectGeometry(_Spec):
    """The geometry of the ``index``-th object of a sighting drawn on a scene."""

    from_: Literal["object"] = Field(alias="from")
    scene: str
    sighting: str
    index: int = Field(0, ge=0)

    def shape(self) -> BaseGeometry:
        """The UTM geometry."""
        objects = [o for o in objects_for_scene(self.scene) if o.sighting == self.sighting]
        return objects[self.index].geometry


class HullGeometry(_Spec):
    """The convex hull of every object of one kind of a sighting drawn on a scene."""

    from_: Literal["hull"] = Field(alias="from")
    scene: str
    sighting: str
    kind: str

    def shape(self) -> BaseGeometry:
        """The UTM geometry."""
        shapes = [
            o.geometry
            for o in objects_for_scene(self.scene)
            if o.sighting == self.sighting and o.kind == self.kind
        ]
        return unary_union(shapes).convex_hull


class BridgeGeometry(_Spec):
    """The Friendship Bridge's deck (6 m either side of its axis) or its centre."""

    from_: Literal["bridge deck", "bridge centre"] = Field(alias="from")

    def shape(self) -> BaseGeometry:
        """The UTM geometry."""
        if self.from_ == "bridge centre":
            return L.BRIDGE_CENTRE
        return L.MAIN_BRIDGE.buffer(6, cap_style="flat")


GeometrySpec = Annotated[
    DrawnObjectGeometry | HullGeometry | BridgeGeometry, Field(discriminator="from_")
]


class SightingSpec(BaseModel):
    """One record of sightings.json; its other keys are observation properties."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(pattern=r"^demo-[A-Za-z0-9.-]+$")
    geometry: GeometrySpec
    description: str = Field(min_length=1)
    sources: list[str] = Field(min_length=1)
    caveats: list[str] = []


class SightingsFile(BaseModel):
    """sightings.json: the records, the sources and caveats they cite, the defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    note: str
    defaults: dict[str, Any]
    sources: dict[str, dict[str, str]]
    caveats: dict[str, str]
    sightings: list[SightingSpec]

    @model_validator(mode="after")
    def _references_resolve(self) -> "SightingsFile":
        for source in self.sources.values():
            Source.model_validate(source)
        ids = [s.id for s in self.sightings]
        if len(set(ids)) != len(ids):
            raise ValueError("sighting ids must be unique")
        for s in self.sightings:
            if unknown := set(s.sources) - set(self.sources):
                raise ValueError(f"{s.id}: unknown sources {sorted(unknown)}")
            if unknown := set(s.caveats) - set(self.caveats):
                raise ValueError(f"{s.id}: unknown caveats {sorted(unknown)}")
        return self

    def records(self) -> list[tuple[str, dict[str, Any]]]:
        """Every sighting as (id, GeoJSON Feature dict), geometry in WGS84."""
        out = []
        for s in self.sightings:
            props = self.defaults | (s.model_extra or {})
            props["description"] = " ".join([s.description, *(self.caveats[c] for c in s.caveats)])
            props["sources"] = [self.sources[k] for k in s.sources]
            geometry = mapping(L.to_lonlat(s.geometry.shape()))
            out.append((s.id, {"type": "Feature", "geometry": geometry, "properties": props}))
        return out


def demo_records(path: Path = SIGHTINGS_FILE) -> list[tuple[str, dict[str, Any]]]:
    """Every demo sighting, with a stable id (``demo-<reference number>[-n]``)."""
    return SightingsFile.model_validate(json.loads(path.read_text(encoding="utf-8"))).records()


def load_demo_sightings(store: ObservationStore) -> int:
    """Put every demo sighting in the store (replacing earlier demo records), in one transaction."""
    features = [(fid, ObservationIn.model_validate(doc)) for fid, doc in demo_records()]
    return store.create_many(features, actor="tumen demo")
