"""The static world under every demo scene: river, bridge, tracks, station, yard, quay and piers."""

from functools import lru_cache

import numpy as np
from shapely.geometry import box
from shapely.ops import unary_union

from tumen.demo import layout as L
from tumen.demo.draw import COLOURS, Canvas, fill, new_canvas, stroke


def _rails(canvas: Canvas, line) -> None:  # type: ignore[no-untyped-def]
    stroke(canvas, line, 4.0, COLOURS["ballast"])
    stroke(canvas, line, 1.6, COLOURS["rail"])


def draw_border(canvas: Canvas) -> None:
    """The Tumen with the Friendship Bridge, the line from Tumangang to Khasan, stations and yard."""
    fill(canvas, [L.RIVER.buffer(L.RIVER_WIDTH / 2)], COLOURS["water"], grain=2)
    fill(canvas, [L.TUMANGANG_YARD], COLOURS["concrete"], grain=3)
    stroke(canvas, L.TUMANGANG_YARD.exterior, 1.5, COLOURS["fence"])
    for line in (L.MAIN_DPRK, L.MAIN_RU):
        _rails(canvas, line)
    for i in range(len(L.TUMANGANG_YARD_OFFSETS)):
        _rails(canvas, L.tumangang_yard_track(i))
    for offset in (-5.0, 5.0):
        _rails(canvas, L.track(L.TUMANGANG_AXIS, offset))
    for i in range(len(L.KHASAN_TRACK_OFFSETS)):
        _rails(canvas, L.khasan_track(i))
    a, b = L.KHASAN_PLATFORM_BETWEEN
    platform = L.track(L.KHASAN_AXIS, (a + b) / 2)
    fill(canvas, [platform.buffer(2.2, cap_style="flat")], COLOURS["platform"])
    # The truss: a deck wider than the track, with the track on it.
    stroke(canvas, L.MAIN_BRIDGE, 9.0, COLOURS["bridge"])
    stroke(canvas, L.MAIN_BRIDGE, 1.6, COLOURS["rail"])


def draw_rajin(canvas: Canvas) -> None:
    """Sea south of the quay, three piers, the port line from the station along the quay."""
    minx, miny, maxx, _ = canvas.bounds
    sea = box(minx, miny, maxx, L.RAJIN_QUAY_Y).difference(
        unary_union(list(L.RAJIN_PIERS.values()))
    )
    fill(canvas, [sea], COLOURS["sea"], grain=2)
    fill(canvas, list(L.RAJIN_PIERS.values()), COLOURS["concrete"], grain=3)
    fill(
        canvas, [box(minx, L.RAJIN_QUAY_Y, maxx, L.RAJIN_QUAY_Y + 60)], COLOURS["concrete"], grain=3
    )
    _rails(canvas, L.RAJIN_PORT_LINE)


@lru_cache(maxsize=2)
def base_image(world: str, footprint: tuple[float, float, float, float], seed: int) -> Canvas:
    """The static world for a footprint, drawn once per process and copied for each date."""
    canvas = new_canvas(footprint, seed, COLOURS["land"])
    (draw_rajin if world == "rajin" else draw_border)(canvas)
    canvas.data.setflags(write=False)
    return canvas


def fresh_canvas(world: str, footprint: tuple[float, float, float, float], seed: int) -> Canvas:
    """A writable copy of the base image."""
    base = base_image(world, footprint, seed)
    return Canvas(np.array(base.data), base.transform, base.bounds)
