"""The demo's drawn objects: the shapes of one reported thing on one scene, built to scale.

Each builder returns a ``DrawnObject``: the sighting it comes from, its kind, the shapes painted (with
their colour names of draw.COLOURS) and the geometry a sighting record should carry (UTM 52N).
"""

from dataclasses import dataclass
from typing import Any

from shapely.geometry import LineString, Polygon, box, mapping
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring, unary_union

from tumen.demo import layout as L
from tumen.demo.draw import train

WAGON = (14.0, 3.2)  # enclosed freight wagon, metres
LOCO = (20.0, 3.2)


@dataclass(frozen=True)
class DrawnObject:
    """One reported thing drawn on one scene."""

    sighting: str
    kind: str
    shapes: tuple[tuple[BaseGeometry, str], ...]
    geometry: BaseGeometry
    count: int | None = None
    length_m: float | None = None
    note: str = ""

    def lonlat(self) -> dict[str, Any]:
        """The sighting geometry as a GeoJSON dict in WGS84."""
        return mapping(L.to_lonlat(self.geometry))  # type: ignore[no-any-return]


def train_object(
    sighting: str,
    line: LineString,
    start: float,
    colours: list[str],
    *,
    loco: str | None = None,
    kind: str = "train",
    note: str = "",
    count: int | None = None,
) -> DrawnObject:
    """Wagons (and a locomotive at ``loco`` = "front"/"rear") coupled along a track."""
    cars = [(WAGON[0], WAGON[1], c) for c in colours]
    if loco == "front":
        cars = cars + [(LOCO[0], LOCO[1], "locomotive")]
    elif loco == "rear":
        cars = [(LOCO[0], LOCO[1], "locomotive")] + cars
    shapes = train(line, start, cars)
    length = sum(c[0] for c in cars) + (len(cars) - 1) * 1.0
    return DrawnObject(
        sighting,
        kind,
        tuple(shapes),
        substring(line, start, start + length),
        count=count if count is not None else len(colours),
        length_m=round(length, 1),
        note=note,
    )


def train_of_length(sighting: str, line: LineString, start: float, length: float) -> DrawnObject:
    """A locomotive and ~14 m wagons making a train of exactly ``length`` metres."""
    n = max(1, round((length - LOCO[0]) / (WAGON[0] + 1)))
    wagon = (length - LOCO[0] - n) / n
    cars = [(LOCO[0], LOCO[1], "locomotive")] + [(wagon, WAGON[1], "freight car")] * n
    return DrawnObject(
        sighting,
        "train",
        tuple(train(line, start, cars)),
        substring(line, start, start + length),
        count=1,
        length_m=length,
        note=f"1 locomotive + {n} wagons",
    )


def cargo(
    sighting: str, rects: list[tuple[float, float, float, float]], colour: str
) -> DrawnObject:
    """Cargo areas as rectangles (minx, miny, maxx, maxy) in the Tumangang yard."""
    shapes = tuple((box(*r), colour) for r in rects)
    area = unary_union([s for s, _ in shapes])
    return DrawnObject(sighting, "cargo", shapes, area.convex_hull, note=f"{colour} cargo")


def ship(sighting: str, berth: LineString, length: float) -> DrawnObject:
    """A ship of ``length`` metres along a berth line, beam about length / 6.5, pointed bow."""
    beam = length / 6.5
    (x0, y0), (x1, y1) = berth.coords[0], berth.coords[-1]
    dx, dy = (x1 - x0) / berth.length, (y1 - y0) / berth.length
    nx, ny = -dy, dx
    start = 5.0
    p = lambda s, o: (x0 + dx * s + nx * o, y0 + dy * s + ny * o)  # noqa: E731
    hull = Polygon(
        [
            p(start, -beam / 2),
            p(start + length - beam, -beam / 2),
            p(start + length, 0),
            p(start + length - beam, beam / 2),
            p(start, beam / 2),
        ]
    )
    deck = Polygon(
        [
            p(start + 4, -beam / 4),
            p(start + 18, -beam / 4),
            p(start + 18, beam / 4),
            p(start + 4, beam / 4),
        ]
    )
    return DrawnObject(
        sighting, "ship", ((hull, "ship"), (deck, "deck")), hull, count=1, length_m=length
    )


def stack(sighting: str, pier: str, length: float, offset: float = 20.0) -> DrawnObject:
    """A rectangular container stack of ``length`` metres along a pier."""
    minx, miny, maxx, maxy = L.RAJIN_PIERS[pier].bounds
    cx = (minx + maxx) / 2
    rect = box(cx - 8, maxy - offset - length, cx + 8, maxy - offset)
    return DrawnObject(
        sighting,
        "container",
        ((rect, "container stack"),),
        rect,
        length_m=length,
        note="blue rectangular stack of containers",
    )


def crane(at: LineString) -> tuple[BaseGeometry, str]:
    """A large crane beside a berth, as its boom seen from above."""
    mid = at.interpolate(0.5, normalized=True)
    return (LineString([(mid.x - 30, mid.y), (mid.x + 6, mid.y)]).buffer(2.5), "crane")


_YX, _YY = 631960.0, 4697560.0  # a reference corner on the cargo pad (inside TUMANGANG_YARD)


def plot(col: float, row: float, w: float, h: float) -> tuple[float, float, float, float]:
    """A cargo plot of 2w × 2h metres at (col, row) of a 12 m grid over the yard pad."""
    x, y = _YX + col * 12, _YY + row * 12 - (col * 12) * 0.17  # follow the pad's slope
    return (x, y, x + 2 * w, y + 2 * h)


def track(name: str) -> LineString:
    """A track named as in scenes.json: "yard N", "khasan N" or "main RU"."""
    group, _, n = name.partition(" ")
    if name == "main RU":
        return L.MAIN_RU
    if group == "yard" and n.isdigit() and int(n) < len(L.TUMANGANG_YARD_OFFSETS):
        return L.tumangang_yard_track(int(n))
    if group == "khasan" and n.isdigit() and int(n) < len(L.KHASAN_TRACK_OFFSETS):
        return L.khasan_track(int(n))
    raise ValueError(f"unknown track {name!r}: 'yard N', 'khasan N' or 'main RU'")
