"""What the analysis returns: detections with their measurements, notes on what it could not do."""

from dataclasses import dataclass, field
from typing import Literal

from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

Kind = Literal["train", "ship", "cargo"]


@dataclass(frozen=True)
class Detection:
    """One thing found on the scene, in the CRS of the input transform.

    ``geometry`` is a LineString along a train's axis, a Polygon footprint for ships and cargo.
    ``count`` is the number of wagons of a train (locomotive not counted), 1 for a ship, None for
    cargo; ``count_approx`` says the count was estimated from length, not from resolved wagons.
    """

    kind: Kind
    geometry: BaseGeometry
    length_m: float | None
    count: int | None
    count_approx: bool
    area_m2: float | None
    confidence: float
    description: str


@dataclass
class AnalysisResult:
    """Every detection of one scene against its baseline, and what the analysis could not do."""

    detections: list[Detection]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    area_km2: float = 0.0

    def of_kind(self, kind: Kind) -> list[Detection]:
        """The detections of one kind."""
        return [d for d in self.detections if d.kind == kind]

    def summary(self, label: str) -> str:
        """One line: "label: 7 trains (73 wagons), 0 ships, 3 cargo areas (2,140 m²) in 4.1 s"."""
        trains = self.of_kind("train")
        wagons = sum(d.count or 0 for d in trains)
        approx = "~" if any(d.count_approx for d in trains) else ""
        ships = self.of_kind("ship")
        cargo = self.of_kind("cargo")
        area = sum(d.area_m2 or 0.0 for d in cargo)
        return (
            f"{label}: {_n(len(trains), 'train')} ({approx}{wagons:,} wagons), "
            f"{_n(len(ships), 'ship')}, {_n(len(cargo), 'cargo area')} ({area:,.0f} m²) "
            f"in {self.seconds:.1f} s"
        )


def _n(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass
class References:
    """Optional per-site reference layers, in the CRS of the transform; all may be missing."""

    tracks: list[LineString] = field(default_factory=list)
    water: Polygon | MultiPolygon | None = None
    hard_standing: Polygon | MultiPolygon | None = None
