"""What each demo scene shows: the scenes, and on each the objects a report describes.

The table is ``scenes.json`` beside this module: per scene its place, time and what it shows, and per
drawn object the sighting of reference/sightings.md it comes from ("1.2", "3.3", …, or "baseline-…"
for a site's baseline) and how it is drawn. This module validates the table and builds the scenes; the
shapes come from objects.py.

API: ``DEMO_SCENES`` (list of DemoScene, oldest first), ``scene(scene_id)``,
``objects_for_scene(scene_id)``, ``DrawnObject.lonlat()`` (GeoJSON geometry dict, WGS84).
"""

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from shapely.ops import substring

from tumen.demo import layout as L
from tumen.demo.draw import COLOURS, train
from tumen.demo.objects import (
    DrawnObject,
    cargo,
    crane,
    plot,
    ship,
    stack,
    track,
    train_object,
    train_of_length,
)

SCENES_FILE = Path(__file__).with_name("scenes.json")
FOOTPRINTS = {"border": L.BORDER, "tumangang": L.TUMANGANG, "khasan": L.KHASAN, "rajin": L.RAJIN}


@dataclass(frozen=True)
class DemoScene:
    """A synthetic scene: where, when, which base world, what it shows."""

    id: str
    datetime: datetime
    footprint: tuple[float, float, float, float]
    world: str  # "border" or "rajin"
    shows: str
    objects: tuple[DrawnObject, ...] = field(default_factory=tuple)
    time_note: str = ""
    citations: tuple[tuple[str, str], ...] = ()  # (sighting, short source) of each drawn sighting
    baseline: bool = False
    day_only: bool = False

    def description(self) -> str:
        """The catalog description: says SYNTHETIC first, then what is drawn and from which report."""
        cites = "; ".join(f"{ref}: {source}" for ref, source in self.citations)
        return (
            "SYNTHETIC image made by tumen's demo from published reports, not a satellite image. "
            f"{self.shows}"
            + (f" Objects drawn from sightings {cites}." if cites else "")
            + (f" {self.time_note}" if self.time_note else "")
        )


def _known(names: Collection[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in names:
            raise ValueError(f"unknown {what} {value!r}: one of {sorted(names)}")
        return value

    return AfterValidator(check)


def _track_name(name: str) -> str:
    track(name)
    return name


Colour = Annotated[str, _known(COLOURS, "colour")]
Pier = Annotated[str, _known(L.RAJIN_PIERS, "pier")]
Track = Annotated[str, AfterValidator(_track_name)]
Plots = dict[str, list[tuple[float, float, float, float]]]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sighting: str = Field(min_length=1)


class TrainSpec(_Spec):
    """Wagons of the given colours along a track, a locomotive at the front or rear if told."""

    draw: Literal["train"]
    kind: Literal["train", "wagon"] = "train"
    track: Track
    start: float
    colours: list[Colour] = Field(min_length=1)
    loco: Literal["front", "rear"] | None = None
    count: int | None = None
    note: str = ""

    def build(self, plots: Plots) -> DrawnObject:
        """The drawn train."""
        return train_object(
            self.sighting,
            track(self.track),
            self.start,
            self.colours,
            loco=self.loco,
            kind=self.kind,
            note=self.note,
            count=self.count,
        )


class TrainOfLengthSpec(_Spec):
    """A locomotive and ~14 m wagons making a train of exactly ``length`` metres."""

    draw: Literal["train_of_length"]
    track: Track
    start: float
    length: float = Field(gt=0)

    def build(self, plots: Plots) -> DrawnObject:
        """The drawn train."""
        return train_of_length(self.sighting, track(self.track), self.start, self.length)


class ParkedSpec(_Spec):
    """``count`` small cars or containers of ``size`` (length, width) metres, ``gap`` apart."""

    draw: Literal["parked"]
    kind: Literal["container", "wagon"]
    track: Track
    start: float
    count: int = Field(gt=0)
    size: tuple[float, float]
    gap: float = Field(ge=0)
    colour: Colour
    note: str = ""

    def build(self, plots: Plots) -> DrawnObject:
        """The drawn row of cars."""
        line = track(self.track)
        cars = [(self.size[0], self.size[1], self.colour)] * self.count
        end = self.start + self.count * self.size[0] + (self.count - 1) * self.gap
        return DrawnObject(
            self.sighting,
            self.kind,
            tuple(train(line, self.start, cars, gap=self.gap)),
            substring(line, self.start, end),
            count=self.count,
            note=self.note,
        )


class CargoSpec(_Spec):
    """Cargo on the named groups of plots of the Tumangang yard pad."""

    draw: Literal["cargo"]
    plots: list[str] = Field(min_length=1)
    colour: Colour

    def build(self, plots: Plots) -> DrawnObject:
        """The drawn cargo."""
        return cargo(self.sighting, [plot(*p) for g in self.plots for p in plots[g]], self.colour)


class ShipSpec(_Spec):
    """A ship along the east berth of a Rajin pier, with a large crane if told."""

    draw: Literal["ship"]
    pier: Pier
    length: float = Field(gt=0)
    crane: bool = False
    note: str = ""

    def build(self, plots: Plots) -> DrawnObject:
        """The drawn ship."""
        berth = L.pier_berth(self.pier)
        drawn = ship(self.sighting, berth, self.length)
        extra = (crane(berth),) if self.crane else ()
        return replace(drawn, shapes=drawn.shapes + extra, note=self.note)


class StackSpec(_Spec):
    """A container stack along a Rajin pier."""

    draw: Literal["stack"]
    pier: Pier
    length: float = Field(gt=0)

    def build(self, plots: Plots) -> DrawnObject:
        """The drawn stack."""
        return stack(self.sighting, self.pier, self.length)


ObjectSpec = Annotated[
    TrainSpec | TrainOfLengthSpec | ParkedSpec | CargoSpec | ShipSpec | StackSpec,
    Field(discriminator="draw"),
]


class SceneSpec(BaseModel):
    """One scene of scenes.json."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]+(T\d{4})?$")
    datetime: str  # ISO 8601 with the offset the report gives (kept as written)
    footprint: Annotated[str, _known(FOOTPRINTS, "footprint")]
    world: Literal["border", "rajin"]
    baseline: bool = False  # a reference for the analysis: the place with nothing reported on it
    shows: str = Field(min_length=1)
    objects: list[ObjectSpec] = []
    time_note: str = ""
    day_only: bool = False

    @model_validator(mode="after")
    def _one_time_note(self) -> "SceneSpec":
        if datetime.fromisoformat(self.datetime).utcoffset() is None:
            raise ValueError(f"{self.id}: datetime needs its UTC offset")
        if self.day_only and self.time_note:
            raise ValueError(f"{self.id}: day_only or time_note, not both")
        return self


class ScenesFile(BaseModel):
    """scenes.json: the scenes, the short citation of each sighting, the yard's cargo plots."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    note: str
    day_only_note: str
    citations: dict[str, str]
    cargo_plots_note: str
    cargo_plots: Plots
    scenes: list[SceneSpec]

    @model_validator(mode="after")
    def _references_resolve(self) -> "ScenesFile":
        ids = [s.id for s in self.scenes]
        if len(set(ids)) != len(ids):
            raise ValueError("scene ids must be unique")
        for s in self.scenes:
            for o in s.objects:
                if o.sighting not in self.citations:
                    raise ValueError(f"{s.id}: sighting {o.sighting!r} has no citation")
                if isinstance(o, CargoSpec) and set(o.plots) - set(self.cargo_plots):
                    raise ValueError(
                        f"{s.id}: unknown cargo plots {set(o.plots) - set(self.cargo_plots)}"
                    )
        return self

    def build(self) -> list[DemoScene]:
        """The demo scenes, oldest first."""
        scenes = [
            DemoScene(
                s.id,
                datetime.fromisoformat(s.datetime),
                FOOTPRINTS[s.footprint],
                s.world,
                s.shows,
                tuple(o.build(self.cargo_plots) for o in s.objects),
                self.day_only_note if s.day_only else s.time_note,
                tuple(
                    (ref, self.citations[ref]) for ref in sorted({o.sighting for o in s.objects})
                ),
                s.baseline,
                s.day_only,
            )
            for s in self.scenes
        ]
        return sorted(scenes, key=lambda s: (s.datetime, s.id))


def load_scenes(path: Path = SCENES_FILE) -> list[DemoScene]:
    """The demo scenes of a scenes.json, validated and drawn, oldest first."""
    return ScenesFile.model_validate_json(path.read_text(encoding="utf-8")).build()


DEMO_SCENES: list[DemoScene] = load_scenes()
_BY_ID = {s.id: s for s in DEMO_SCENES}


def scene(scene_id: str) -> DemoScene:
    """The demo scene with that id."""
    return _BY_ID[scene_id]


def objects_for_scene(scene_id: str) -> tuple[DrawnObject, ...]:
    """The reported objects drawn on a demo scene."""
    return _BY_ID[scene_id].objects
