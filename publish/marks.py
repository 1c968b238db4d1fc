"""Sightings drawn on an image: each geometry in its kind's colour, with its label beside it."""

from collections.abc import Sequence

from affine import Affine
from PIL import Image, ImageDraw
from pyproj import Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import transform as shp_transform

from publish.fonts import Font, printable
from publish.models import Mark

Box = tuple[float, float, float, float]


def to_pixels(geometry: dict, transform: Affine, crs: str) -> BaseGeometry:
    """A lon/lat GeoJSON geometry in the image's pixel coordinates (column, row)."""
    project = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform
    inverse = ~transform

    def to_px(x: float, y: float, z: float | None = None) -> tuple[float, float]:
        return inverse * project(x, y)  # type: ignore[no-any-return]

    return shp_transform(to_px, shape(geometry))


def draw_marks(
    image: Image.Image,
    marks: Sequence[Mark],
    transform: Affine,
    crs: str,
    *,
    face: Font,
    line: int = 3,
    offset: tuple[int, int] = (0, 0),
) -> list[Box]:
    """Draw ``marks`` on ``image`` (whose pixel grid is ``transform`` shifted by ``offset``).

    Labels sit right of their geometry on a white box, moved down past labels already placed so
    none hides another, and kept inside the image. Returns the label boxes drawn.
    """
    draw = ImageDraw.Draw(image, "RGBA")
    dx, dy = offset
    placed: list[Box] = []
    for mark in marks:
        geom = shp_transform(
            lambda x, y, z=None: (x + dx, y + dy), to_pixels(mark.geometry, transform, crs)
        )
        width = max(1, line - 1) if mark.absent else line
        if geom.geom_type == "Point":
            r = 3 * line
            draw.ellipse(
                [geom.x - r, geom.y - r, geom.x + r, geom.y + r], outline=mark.colour, width=width
            )
        elif geom.geom_type == "LineString":
            draw.line(list(geom.coords), fill=mark.colour, width=width + 1, joint="curve")
        elif geom.geom_type == "Polygon":
            draw.polygon(list(geom.exterior.coords), outline=mark.colour, width=width)
        else:  # a multi-part geometry: its parts
            for part in getattr(geom, "geoms", []):
                if part.geom_type == "Polygon":
                    draw.polygon(list(part.exterior.coords), outline=mark.colour, width=width)
                else:
                    draw.line(list(part.coords), fill=mark.colour, width=width + 1)
        reach = 3 * line + line if geom.geom_type == "Point" else line  # past the marker's ring
        minx, miny, maxx, maxy = geom.bounds
        around = (minx - reach, miny - reach, maxx + reach, maxy + reach)
        placed.append(_label(draw, image.size, around, mark, face, placed, pad=line))
    return placed


def _label(
    draw: ImageDraw.ImageDraw,
    size: tuple[int, int],
    bounds: Box,
    mark: Mark,
    face: Font,
    placed: list[Box],
    *,
    pad: int,
) -> Box:
    text = printable(mark.label, face)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=face)
    w, h = right - left + 2 * pad, bottom - top + 2 * pad
    x = bounds[2] + pad
    if x + w > size[0]:  # no room on the right: left of the geometry
        x = max(0, bounds[0] - pad - w)
    y = min(max(0, bounds[1] - h / 2), max(0, size[1] - h))
    for _ in range(len(placed) + 1):
        hit = next((b for b in placed if _overlap((x, y, x + w, y + h), b)), None)
        if hit is None:
            break
        y = hit[3] + 1 if hit[3] + 1 + h <= size[1] else max(0, hit[1] - h - 1)
    box = (x, y, x + w, y + h)
    draw.rectangle(box, fill=(255, 255, 255, 225), outline=mark.colour, width=1)
    draw.text((x + pad - left, y + pad - top), text, fill=mark.colour, font=face)
    return box


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
