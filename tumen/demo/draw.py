"""Drawing primitives for the schematic scenes: numpy canvases filled with rasterised shapely shapes."""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from affine import Affine
from rasterio import windows
from rasterio.enums import Resampling
from rasterio.features import rasterize
from rasterio.warp import reproject
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

from tumen.demo.layout import CRS, GSD

RGB = tuple[int, int, int]

COLOURS: dict[str, RGB] = {
    "land": (122, 116, 84),
    "water": (58, 82, 96),
    "sea": (44, 70, 92),
    "ballast": (150, 142, 128),
    "rail": (70, 62, 58),
    "platform": (196, 196, 190),
    "concrete": (176, 172, 162),
    "bridge": (92, 92, 96),
    "fence": (210, 210, 205),
    "locomotive": (40, 60, 48),
    "light blue": (130, 180, 215),
    "darker blue": (40, 70, 150),
    "reddish-brown": (140, 62, 40),
    "grey": (128, 128, 128),
    "red": (170, 40, 36),
    "lighter grey": (178, 178, 178),
    "brown": (112, 74, 46),
    "freight car": (160, 98, 58),
    "tarpaulin": (40, 90, 190),
    "white cargo": (235, 235, 230),
    "container": (205, 120, 60),
    "container stack": (36, 84, 178),
    "ship": (70, 74, 80),
    "deck": (150, 40, 36),
    "crane": (225, 170, 40),
    "label": (255, 255, 255),
    "ink": (200, 20, 20),
}


@dataclass
class Canvas:
    """An RGB image being drawn, with its georeferencing (UTM 52N, 0.5 m pixels)."""

    data: np.ndarray  # (3, height, width) uint8
    transform: Affine
    bounds: tuple[float, float, float, float]

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width)."""
        return self.data.shape[1], self.data.shape[2]


def new_canvas(bounds: tuple[float, float, float, float], seed: int, ground: RGB) -> Canvas:
    """A canvas of textured ground: smooth fields plus fine grain, reproducible from ``seed``."""
    minx, miny, maxx, maxy = bounds
    width, height = round((maxx - minx) / GSD), round((maxy - miny) / GSD)
    transform = Affine(GSD, 0, minx, 0, -GSD, maxy)
    rng = np.random.default_rng(seed)
    coarse_shape = (height // 64 + 2, width // 64 + 2)
    coarse = rng.normal(0, 1, coarse_shape).astype("float32")
    smooth = np.empty((height, width), dtype="float32")
    reproject(
        coarse,
        smooth,
        src_transform=Affine(GSD * 64, 0, minx, 0, -GSD * 64, maxy),
        src_crs=CRS,
        dst_transform=transform,
        dst_crs=CRS,
        resampling=Resampling.bilinear,
    )
    grain = rng.integers(-6, 7, (height, width), dtype="int16")
    data = np.empty((3, height, width), dtype="uint8")
    tint = (14, 12, 8)
    for band in range(3):
        value = ground[band] + smooth * tint[band] + grain
        data[band] = np.clip(value, 0, 255).astype("uint8")
    return Canvas(data, transform, bounds)


def fill(canvas: Canvas, shapes: Iterable[BaseGeometry], colour: RGB, grain: int = 0) -> None:
    """Paint ``shapes`` in ``colour``, rasterising only the window they cover."""
    shapes = [s for s in shapes if not s.is_empty]
    if not shapes:
        return
    minx = min(s.bounds[0] for s in shapes)
    miny = min(s.bounds[1] for s in shapes)
    maxx = max(s.bounds[2] for s in shapes)
    maxy = max(s.bounds[3] for s in shapes)
    height, width = canvas.shape
    col0, row0 = ~canvas.transform * (minx, maxy)
    col1, row1 = ~canvas.transform * (maxx, miny)
    c0, r0 = max(int(np.floor(col0)), 0), max(int(np.floor(row0)), 0)
    c1, r1 = min(int(np.ceil(col1)), width), min(int(np.ceil(row1)), height)
    if c1 <= c0 or r1 <= r0:
        return
    win = windows.Window(c0, r0, c1 - c0, r1 - r0)
    mask = rasterize(
        shapes,
        out_shape=(int(win.height), int(win.width)),
        transform=windows.transform(win, canvas.transform),
        fill=0,
        default_value=1,
        dtype="uint8",
    ).astype(bool)
    rows, cols = win.toslices()
    for band in range(3):
        view = canvas.data[band, rows, cols]
        view[mask] = colour[band]
    if grain:
        view0 = canvas.data[:, rows, cols]
        texture = ((np.indices(mask.shape).sum(axis=0) % 3) - 1) * grain
        for band in range(3):
            b = view0[band].astype("int16")
            b[mask] += texture[mask]
            view0[band] = np.clip(b, 0, 255)


def stroke(canvas: Canvas, line: LineString, width_m: float, colour: RGB) -> None:
    """Paint a line ``width_m`` metres wide (flat ends)."""
    fill(canvas, [line.buffer(width_m / 2, cap_style="flat")], colour)


def along(line: LineString, start: float, length: float, width: float) -> Polygon:
    """A rectangle of ``length`` × ``width`` metres that follows ``line`` from ``start`` metres."""
    piece = substring(line, start, start + length)
    return piece.buffer(width / 2, cap_style="flat")  # type: ignore[no-any-return]


def train(
    line: LineString, start: float, cars: list[tuple[float, float, str]], gap: float = 1.0
) -> list[tuple[Polygon, str]]:
    """Cars (length, width, colour name) coupled along ``line`` from ``start`` metres."""
    out = []
    s = start
    for length, width, colour in cars:
        out.append((along(line, s, length, width), colour))
        s += length + gap
    return out


# A 5×7 bitmap font for the one word every demo scene carries.
_GLYPHS = {
    "S": ["01111", "10000", "10000", "01110", "00001", "00001", "11110"],
    "Y": ["10001", "10001", "01010", "00100", "00100", "00100", "00100"],
    "N": ["10001", "11001", "10101", "10011", "10001", "10001", "10001"],
    "T": ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
    "H": ["10001", "10001", "10001", "11111", "10001", "10001", "10001"],
    "E": ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
    "I": ["01110", "00100", "00100", "00100", "00100", "00100", "01110"],
    "C": ["01110", "10001", "10000", "10000", "10000", "10001", "01110"],
    " ": ["00000"] * 7,
}


def stamp(canvas: Canvas, text: str = "SYNTHETIC", scale: int = 10, margin: int = 40) -> None:
    """Burn ``text`` in red on white into the top-left corner, so no crop can hide what this is."""
    glyph_w, glyph_h = 6 * scale, 7 * scale
    box_h, box_w = glyph_h + 2 * scale, len(text) * glyph_w + 2 * scale
    r0, c0 = margin, margin
    for band in range(3):
        canvas.data[band, r0 : r0 + box_h, c0 : c0 + box_w] = COLOURS["label"][band]
    for i, ch in enumerate(text):
        rows = _GLYPHS[ch]
        for gy, row in enumerate(rows):
            for gx, bit in enumerate(row):
                if bit == "1":
                    y = r0 + scale + gy * scale
                    x = c0 + scale + i * glyph_w + gx * scale
                    for band in range(3):
                        canvas.data[band, y : y + scale, x : x + scale] = COLOURS["ink"][band]
