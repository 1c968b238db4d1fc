"""A north arrow that points to true north: on a UTM grid that is a degree or so off the columns."""

import math

from affine import Affine
from PIL import ImageDraw
from pyproj import Transformer

from publish.fonts import Font


def north_angle(transform: Affine, crs: str, width: int, height: int) -> float:
    """Degrees clockwise from the image's up to true north, at the image's centre."""
    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    to_grid = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    cx, cy = transform * (width / 2, height / 2)
    lon, lat = to_lonlat.transform(cx, cy)
    nx, ny = to_grid.transform(lon, lat + 0.001)
    col0, row0 = ~transform * (cx, cy)
    col1, row1 = ~transform * (nx, ny)
    return math.degrees(math.atan2(col1 - col0, row0 - row1))


def draw_north_arrow(
    draw: ImageDraw.ImageDraw, centre: tuple[float, float], size: int, angle: float, face: Font
) -> None:
    """An arrow of ``size`` pixels on a white disc, turned by ``angle``, with 'N' at its tip."""
    cx, cy = centre
    r = size / 2
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, 255, 255, 215), outline=(0, 0, 0))
    a = math.radians(angle)

    def at(dist: float, side: float) -> tuple[float, float]:
        # ``dist`` along the arrow (towards north), ``side`` across it (to the east)
        return (
            cx + dist * math.sin(a) + side * math.cos(a),
            cy - dist * math.cos(a) + side * math.sin(a),
        )

    tip, notch, half = at(0.2 * r, 0), at(-0.5 * r, 0), 0.38 * r
    left, right = at(-0.8 * r, -half), at(-0.8 * r, half)
    draw.polygon([tip, left, notch], fill=(0, 0, 0))
    draw.polygon([tip, right, notch], fill=(255, 255, 255), outline=(0, 0, 0))
    nx, ny = at(0.58 * r, 0)
    l0, t0, r0, b0 = draw.textbbox((0, 0), "N", font=face)
    draw.text((nx - (r0 + l0) / 2, ny - (b0 + t0) / 2), "N", fill=(0, 0, 0), font=face)
