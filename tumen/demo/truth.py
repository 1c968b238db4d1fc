"""What the demo drew on a scene, as the analysis should find it: kind, footprint, measurements.

Kinds map as the analysis reports them: trains and wagon runs → "train" (wagons = cars drawn that
are not the locomotive), ships → "ship", covered cargo and container rows or stacks → "cargo".
"""

from dataclasses import dataclass

from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from tumen.demo.episodes import objects_for_scene

KIND = {"train": "train", "wagon": "train", "ship": "ship", "cargo": "cargo", "container": "cargo"}


@dataclass(frozen=True)
class Truth:
    """One object drawn on a demo scene (UTM 52N metres)."""

    kind: str  # "train", "ship" or "cargo"
    footprint: BaseGeometry  # union of the drawn shapes
    length_m: float | None  # trains and ships
    wagons: int | None  # trains: cars that are not the locomotive
    area_m2: float | None  # cargo: the drawn area
    sighting: str


def truth_for_scene(scene_id: str) -> list[Truth]:
    """The objects drawn on a demo scene, as the analysis should report them."""
    out = []
    for obj in objects_for_scene(scene_id):
        kind = KIND.get(obj.kind)
        if kind is None:
            continue
        parts = [shape for shape, colour in obj.shapes if colour not in ("crane", "deck")]
        footprint = unary_union(parts)
        if kind == "ship":
            footprint = unary_union([shape for shape, colour in obj.shapes if colour == "ship"])
        wagons = sum(1 for _, colour in obj.shapes if colour != "locomotive")
        length = obj.length_m if obj.length_m is not None else obj.geometry.length
        out.append(
            Truth(
                kind=kind,
                footprint=footprint,
                length_m=round(float(length), 1) if kind in ("train", "ship") else None,
                wagons=wagons if kind == "train" else None,
                area_m2=round(float(footprint.area), 1) if kind == "cargo" else None,
                sighting=obj.sighting,
            )
        )
    return out
