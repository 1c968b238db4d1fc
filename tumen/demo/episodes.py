"""What each demo scene shows: the scenes, and on each the objects a report describes.

Pure data plus small builders. Every drawn object names the sighting of reference/sightings.md it comes
from (``sighting``: "1.2", "3.3", …, or "baseline-…" for a site's baseline), its kind, the shapes
painted, and the geometry a sighting record should carry (UTM; ``to_lonlat`` gives WGS84):
a LineString along the track for a train or wagons, a Polygon for cargo, a stack or a ship.

API: ``DEMO_SCENES`` (list of DemoScene, oldest first), ``scene(scene_id)``,
``objects_for_scene(scene_id)``, ``DrawnObject.lonlat()`` (GeoJSON geometry dict, WGS84).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shapely.geometry import LineString, Polygon, box, mapping
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring, unary_union

from tumen.demo import layout as L
from tumen.demo.draw import train

WAGON = (14.0, 3.2)  # enclosed freight wagon, metres
LOCO = (20.0, 3.2)
SMALL = (6.0, 2.5)  # "smaller wagons or containers" at Khasan


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

    def description(self) -> str:
        """The catalog description: says SYNTHETIC first, then what is drawn and from which report."""
        refs = sorted({o.sighting for o in self.objects})
        cites = "; ".join(f"{r}: {SOURCE_SHORT.get(r, 'baseline')}" for r in refs)
        return (
            "SYNTHETIC image made by tumen's demo from published reports, not a satellite image. "
            f"{self.shows}"
            + (f" Objects drawn from sightings {cites}." if refs else "")
            + (f" {self.time_note}" if self.time_note else "")
        )


SOURCE_SHORT = {
    "1.1": "38 North (Planet Labs imagery), via TV 2",
    "1.2": "38 North, via TV 2",
    "1.3": "38 North, via TV 2 and Railway Supply",
    "3.1": "38 North, 'A North Korean Rail Yard Near Russia Springs to Life'",
    "3.2": "38 North, same article",
    "2.1": "VOA (Planet Labs image), via Donga",
    "2.2": "VOA, via Donga",
    "2.3": "VOA, via Donga",
    "2.4": "VOA, via Donga",
    "2.5": "VOA (Planet Labs image of 2023-10-06), via Donga",
    "3.3": "CSIS Beyond Parallel",
    "2.7": "VOA, via Donga",
    "3.4": "VOA (Planet Labs), via YTN and KBS",
    "3.5": "VOA, via JoongAng",
    "3.6": "VOA, via Donga",
    "3.7": "VOA, via Donga",
    "3.8": "VOA, via Donga and NewDaily",
    "3.9": "VOA, via KBS",
    "baseline-tumangang": "CSIS Beyond Parallel (no more than 20 cars in the five years before COVID)",
}

DAY_NOTE = "The report gives the day only; the scene is dated 11:00 local (UTC+9) by convention."


def kst(text: str) -> datetime:
    """A Korea-time (UTC+9) timestamp, as 38 North and VOA give their local times."""
    return datetime.fromisoformat(f"{text}+09:00")


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


# --- the yard's cargo pad, in a grid of plots so growth over the days is easy to see --------------
_YX, _YY = 631960.0, 4697560.0  # a reference corner on the cargo pad (inside TUMANGANG_YARD)


def plot(col: float, row: float, w: float, h: float) -> tuple[float, float, float, float]:
    """A cargo plot of 2w × 2h metres at (col, row) of a 12 m grid over the yard pad."""
    x, y = _YX + col * 12, _YY + row * 12 - (col * 12) * 0.17  # follow the pad's slope
    return (x, y, x + 2 * w, y + 2 * h)


CENTRE_BLUE = [plot(30, 3, 40, 24), plot(35, 6, 24, 16)]
MORE_BLUE_29 = [plot(20, 2, 30, 14), plot(26, 5, 10, 18), plot(45, 3, 18, 10)]
MORE_BLUE_30 = [plot(14, 4, 22, 12), plot(50, 6, 14, 20)]
MORE_BLUE_1005 = [plot(8, 2, 40, 16), plot(56, 2, 26, 20), plot(40, 8, 30, 10)]
MORE_BLUE_1006 = [plot(2, 5, 30, 18), plot(62, 6, 24, 14)]
WHITE_0924 = [plot(10, 8, 20, 8), plot(24, 9, 14, 6), plot(44, 9, 24, 6)]


def _yard(i: int) -> LineString:
    return L.tumangang_yard_track(i)


def _tarped(n: int, every: int = 3) -> list[str]:
    """``n`` freight cars, two in three under tarpaulins ("many under tarps")."""
    return ["freight car" if i % every == 0 else "tarpaulin" for i in range(n)]


DEMO_SCENES: list[DemoScene] = [
    DemoScene(
        "tumangang-baseline-2019",
        kst("2019-09-01T11:00:00"),
        L.TUMANGANG,
        "border",
        "Schematic Tumangang rail facility before COVID-19, showing the reported baseline as an "
        "upper bound: 20 freight cars (CSIS: no more than 20 cars at any one time in the five "
        "years before COVID). Not a sighting on this date.",
        (
            train_object("baseline-tumangang", _yard(1), 120, ["freight car"] * 10, kind="wagon"),
            train_object("baseline-tumangang", _yard(3), 420, ["freight car"] * 10, kind="wagon"),
        ),
        "Date chosen to stand for the pre-COVID years; no report is of this day.",
    ),
    DemoScene(
        "border-20221015-baseline",
        kst("2022-10-15T11:00:00"),
        L.BORDER,
        "border",
        "Schematic border area (Tumangang, Friendship Bridge, Khasan) before the first reported "
        "crossing: the bridge closed to traffic since February 2020 (TV 2), no trains drawn.",
        (),
        "Date chosen to stand for the closure; no report is of this day.",
    ),
    DemoScene(
        "border-20221104T1024",
        kst("2022-11-04T10:24:00"),
        L.BORDER,
        "border",
        "Schematic border area at 10:24 local: three enclosed wagons (light blue, darker blue, "
        "reddish-brown) in the Tumangang freight-handling area, heading for Russia.",
        (
            train_object(
                "1.1",
                _yard(0),
                520,
                ["light blue", "darker blue", "reddish-brown"],
                kind="wagon",
                note="38 North: impossible to determine what the train was carrying",
            ),
        ),
    ),
    DemoScene(
        "border-20221104T1310",
        kst("2022-11-04T13:10:00"),
        L.BORDER,
        "border",
        "Schematic border area at 13:10 local: apparently the same three wagons behind a "
        "locomotive on the Russian side, about 200 m from the bridge.",
        (
            train_object(
                "1.2",
                L.MAIN_RU,
                200,
                ["light blue", "darker blue", "reddish-brown"],
                loco="front",
                count=4,
                note="1 locomotive + 3 wagons",
            ),
        ),
    ),
    DemoScene(
        "border-20221104T1429",
        kst("2022-11-04T14:29:00"),
        L.BORDER,
        "border",
        "Schematic border area at 14:29 local: the locomotive and three wagons on a Khasan station "
        "track, three smaller wagons or containers parked next to them.",
        (
            train_object(
                "1.3",
                L.khasan_track(2),
                260,
                ["light blue", "darker blue", "reddish-brown"],
                loco="front",
                count=4,
                note="1 locomotive + 3 wagons",
            ),
            DrawnObject(
                "1.3",
                "container",
                tuple(
                    train(L.khasan_track(3), 262, [(SMALL[0], SMALL[1], "container")] * 3, gap=3)
                ),
                substring(L.khasan_track(3), 262, 262 + 3 * SMALL[0] + 6),
                count=3,
                note="three smaller wagons or containers parked next to the train",
            ),
        ),
    ),
    DemoScene(
        "khasan-20221129",
        kst("2022-11-29T11:00:00"),
        L.KHASAN,
        "border",
        "Schematic Khasan station: an eight-car train with a locomotive (2 grey, 2 red, 2 grey, "
        "1 lighter grey, 1 brown).",
        (
            train_object(
                "3.1",
                L.khasan_track(4),
                180,
                ["grey", "grey", "red", "red", "grey", "grey", "lighter grey", "brown"],
                loco="front",
                count=9,
                note="1 locomotive + 8 cars",
            ),
        ),
        DAY_NOTE,
    ),
    DemoScene(
        "tumangang-20221130",
        kst("2022-11-30T11:00:00"),
        L.TUMANGANG,
        "border",
        "Schematic Tumangang secure yard: the same eight cars, the locomotive gone.",
        (
            train_object(
                "3.2",
                _yard(2),
                380,
                ["grey", "grey", "red", "red", "grey", "grey", "lighter grey", "brown"],
                kind="wagon",
            ),
        ),
        DAY_NOTE,
    ),
    DemoScene(
        "tumangang-20230924",
        kst("2023-09-24T11:00:00"),
        L.TUMANGANG,
        "border",
        "Schematic Tumangang rail facility: white cargo beside the tracks; trains of about 225 m, "
        "110 m and 60 m.",
        (
            cargo("2.1", WHITE_0924, "white cargo"),
            train_of_length("2.1", _yard(0), 100, 225),
            train_of_length("2.1", _yard(3), 420, 110),
            train_of_length("2.1", _yard(5), 720, 60),
        ),
        DAY_NOTE,
    ),
    DemoScene(
        "tumangang-20230928",
        kst("2023-09-28T11:00:00"),
        L.TUMANGANG,
        "border",
        "Schematic Tumangang rail facility: a larger amount of blue (tarpaulin-covered) cargo in "
        "the centre of the yard.",
        (cargo("2.2", CENTRE_BLUE, "tarpaulin"),),
        DAY_NOTE,
    ),
    DemoScene(
        "tumangang-20230929",
        kst("2023-09-29T11:00:00"),
        L.TUMANGANG,
        "border",
        "Schematic Tumangang rail facility: blue cargo of different sizes and shapes.",
        (cargo("2.3", CENTRE_BLUE + MORE_BLUE_29, "tarpaulin"),),
        DAY_NOTE,
    ),
    DemoScene(
        "tumangang-20230930",
        kst("2023-09-30T11:00:00"),
        L.TUMANGANG,
        "border",
        "Schematic Tumangang rail facility: blue cargo of different sizes and shapes.",
        (cargo("2.3", CENTRE_BLUE + MORE_BLUE_29 + MORE_BLUE_30, "tarpaulin"),),
        DAY_NOTE,
    ),
    DemoScene(
        "tumangang-20231005",
        kst("2023-10-05T11:00:00"),
        L.TUMANGANG,
        "border",
        "Schematic Tumangang rail facility: the amount of cargo increased further; about 73 "
        "freight cars, many under tarpaulins.",
        (
            cargo("2.4", CENTRE_BLUE + MORE_BLUE_29 + MORE_BLUE_30 + MORE_BLUE_1005, "tarpaulin"),
            *(
                train_object(
                    "3.3",
                    _yard(i),
                    60 + 40 * i,
                    _tarped(n),
                    kind="wagon",
                    note="CSIS: tarpaulins make the cargo impossible to identify conclusively",
                )
                for i, n in enumerate((15, 15, 15, 14, 14))
            ),
        ),
        DAY_NOTE,
    ),
    DemoScene(
        "tumangang-20231006",
        kst("2023-10-06T11:00:00"),
        L.TUMANGANG,
        "border",
        "Schematic Tumangang rail facility: more blue-tarpaulin cargo; about five trains of about "
        "200 m each.",
        (
            cargo(
                "2.5",
                CENTRE_BLUE + MORE_BLUE_29 + MORE_BLUE_30 + MORE_BLUE_1005 + MORE_BLUE_1006,
                "tarpaulin",
            ),
            *(train_of_length("2.5", _yard(i), 80 + 130 * i, 200) for i in range(5)),
        ),
        DAY_NOTE,
    ),
    DemoScene(
        "rajin-baseline-20230901",
        kst("2023-09-01T11:00:00"),
        L.RAJIN,
        "rajin",
        "Schematic Rajin port before the ships reported from late September 2023: quay empty "
        "(schematic baseline, not a reported observation).",
        (),
        "Date chosen to stand for the time before the reports; no report is of this day.",
    ),
    DemoScene(
        "rajin-20230930",
        kst("2023-09-30T11:00:00"),
        L.RAJIN,
        "rajin",
        "Schematic Rajin port: a ship of about 100 m, as seen at the port since the end of "
        "September.",
        (ship("2.7", L.pier_berth("2"), 100),),
        "The report says 'since the end of September'; the scene is dated 2023-09-30 11:00 local.",
    ),
    DemoScene(
        "rajin-20231012",
        kst("2023-10-12T11:00:00"),
        L.RAJIN,
        "rajin",
        "Schematic Rajin port: a ship of about 110 m loading, with a large crane.",
        (
            DrawnObject(
                "3.4",
                "ship",
                ship("3.4", L.pier_berth("2"), 110).shapes + (crane(L.pier_berth("2")),),
                ship("3.4", L.pier_berth("2"), 110).geometry,
                count=1,
                length_m=110,
                note="loading, with a large crane",
            ),
        ),
        DAY_NOTE,
    ),
    DemoScene(
        "rajin-20231017",
        kst("2023-10-17T11:00:00"),
        L.RAJIN,
        "rajin",
        "Schematic Rajin port: a blue rectangular stack of containers about 90 m long on the "
        "pier reported as 'DPRK-only' (drawn on Pier 2, an estimate).",
        (stack("3.5", "2", 90),),
        DAY_NOTE,
    ),
    DemoScene(
        "rajin-20231019",
        kst("2023-10-19T11:00:00"),
        L.RAJIN,
        "rajin",
        "Schematic Rajin port: a ship of about 115 m loading.",
        (ship("3.6", L.pier_berth("2"), 115),),
        DAY_NOTE,
    ),
    DemoScene(
        "rajin-20231020T1101",
        kst("2023-10-20T11:01:00"),
        L.RAJIN,
        "rajin",
        "Schematic Rajin port at 11:01 local: the 115 m ship present, with the container stack "
        "(both reported gone by 15:43).",
        (ship("3.7", L.pier_berth("2"), 115), stack("3.7", "2", 90)),
    ),
    DemoScene(
        "rajin-20231020T1543",
        kst("2023-10-20T15:43:00"),
        L.RAJIN,
        "rajin",
        "Schematic Rajin port at 15:43 local: the 115 m ship and the container stack gone.",
        (),
    ),
    DemoScene(
        "rajin-20231021",
        kst("2023-10-21T11:00:00"),
        L.RAJIN,
        "rajin",
        "Schematic Rajin port: a new container stack about 80 m long (estimated ~300 containers).",
        (stack("3.8", "2", 80),),
        DAY_NOTE,
    ),
    DemoScene(
        "rajin-20231027",
        kst("2023-10-27T11:00:00"),
        L.RAJIN,
        "rajin",
        "Schematic Rajin port: a ship of about 105 m berthed at the 'DPRK-only' pier.",
        (ship("3.9", L.pier_berth("2"), 105),),
        DAY_NOTE,
    ),
]
DEMO_SCENES.sort(key=lambda s: (s.datetime, s.id))
_BY_ID = {s.id: s for s in DEMO_SCENES}


def scene(scene_id: str) -> DemoScene:
    """The demo scene with that id."""
    return _BY_ID[scene_id]


def objects_for_scene(scene_id: str) -> tuple[DrawnObject, ...]:
    """The reported objects drawn on a demo scene."""
    return _BY_ID[scene_id].objects
