"""A small world drawn for the analysis tests: not the demo's drawing, so the tests check that the
method generalises. 0.5 m pixels; shapes are shapely geometries in metres, burnt in with rasterio.
"""

from dataclasses import dataclass, field

import numpy as np
from affine import Affine
from rasterio.features import rasterize
from scipy import ndimage
from shapely.geometry import LineString, Polygon, box
from shapely.geometry.base import BaseGeometry

GSD = 0.5
W_M, H_M = 260.0, 200.0
X0, Y0 = 400_000.0, 5_000_000.0
TRANSFORM = Affine(GSD, 0, X0, 0, -GSD, Y0 + H_M)
Colour = tuple[int, int, int]


def at(x: float, y: float) -> tuple[float, float]:
    """Metres from the bottom-left corner to map coordinates."""
    return X0 + x, Y0 + y


def track_line(k: int) -> LineString:
    """Track k (0–2): parallel lines rising gently eastwards, 6 m apart."""
    y = 150.0 + 6.0 * k
    return LineString([at(0, y - 4), at(W_M, y + 10)])


def along(line: LineString, start: float, length: float, width: float) -> Polygon:
    """A rectangle of length × width metres following ``line`` from ``start``."""
    from shapely.ops import substring

    return substring(line, start, start + length).buffer(width / 2, cap_style="flat")  # type: ignore[no-any-return]


@dataclass
class Drawn:
    """What a test scene holds: the shapes painted and the expected answers."""

    shapes: list[tuple[BaseGeometry, Colour]] = field(default_factory=list)
    trains: list[tuple[float, int]] = field(default_factory=list)  # (length m, wagons)
    ships: list[float] = field(default_factory=list)  # length m
    cargo: list[float] = field(default_factory=list)  # area m²


def world() -> list[tuple[BaseGeometry, Colour]]:
    """Ground features that never change: water, a quay, a pad, tracks, a shed."""
    out: list[tuple[BaseGeometry, Colour]] = [
        (box(*at(0, 0), *at(W_M, 55)), (36, 58, 74)),
        (box(*at(150, 40), *at(180, 80)), (140, 138, 132)),
        (box(*at(20, 85), *at(120, 125)), (160, 156, 148)),
        (box(*at(200, 95), *at(240, 120)), (180, 70, 60)),
    ]
    for k in range(3):
        line = track_line(k)
        out.append((line.buffer(2.0, cap_style="flat"), (122, 116, 108)))
        out.append((line.parallel_offset(0.75).buffer(0.25), (64, 58, 54)))
        out.append((line.parallel_offset(-0.75).buffer(0.25), (64, 58, 54)))
    return out


def train(
    k: int, start: float, wagons: int, length: float, loco: bool, colours: list[Colour]
) -> Drawn:
    """A train on track k: an optional 21 m locomotive, then ``wagons`` cars, 1.2 m apart."""
    d = Drawn()
    line = track_line(k)
    s = start
    if loco:
        d.shapes.append((along(line, s, 21.0, 3.1), (210, 170, 40)))
        s += 21.0 + 1.2
    for i in range(wagons):
        d.shapes.append((along(line, s, length, 3.1), colours[i % len(colours)]))
        s += length + 1.2
    d.trains.append((s - 1.2 - start, wagons))
    return d


def ship(x: float, y: float, length: float) -> Drawn:
    """A ship heading east with its bow pointed, beam a seventh of its length."""
    beam = length / 7.0
    hull = Polygon(
        [
            at(x, y - beam / 2),
            at(x + length - beam, y - beam / 2),
            at(x + length, y),
            at(x + length - beam, y + beam / 2),
            at(x, y + beam / 2),
        ]
    )
    bridge = box(*at(x + 4, y - beam / 4), *at(x + 14, y + beam / 4))
    return Drawn(shapes=[(hull, (110, 40, 36)), (bridge, (225, 225, 220))], ships=[length])


def cargo(x: float, y: float, w: float, h: float, colour: Colour) -> Drawn:
    """A covered cargo area on the pad."""
    rect = box(*at(x, y), *at(x + w, y + h))
    return Drawn(shapes=[(rect, colour)], cargo=[w * h])


def paint(shapes: list[tuple[BaseGeometry, Colour]], seed: int) -> np.ndarray:
    """A float RGB canvas: smooth ground with grain, then the shapes in order."""
    rng = np.random.default_rng(seed)
    h, w = int(H_M / GSD), int(W_M / GSD)
    field_ = ndimage.zoom(rng.normal(0, 1, (h // 32 + 2, w // 32 + 2)), 32, order=1)[:h, :w]
    img = np.stack([c + 8.0 * field_ for c in (104, 112, 78)])
    for geom, colour in shapes:
        mask = rasterize([geom], out_shape=(h, w), transform=TRANSFORM) > 0
        for b in range(3):
            img[b][mask] = colour[b]
    return img


def finish(
    img: np.ndarray,
    *,
    seed: int,
    noise: float = 2.0,
    gain: float = 1.0,
    offset: float = 0.0,
    gamma: float = 1.0,
    shift: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """Light, gamma, noise and a whole-pixel shift, then 8 bits."""
    rng = np.random.default_rng(seed)
    out = 255.0 * np.clip(img * gain / 255.0, 0, 1) ** gamma + offset
    out = out + rng.normal(0, noise, out.shape)
    if shift != (0, 0):
        out = np.roll(out, shift, axis=(1, 2))
    return np.clip(out, 0, 255).astype(np.uint8)


def cloud(img: np.ndarray, cx: float, cy: float, radius: float, seed: int) -> np.ndarray:
    """A soft cloud washing the scene towards white around (cx, cy) metres."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[1:]
    yy, xx = np.mgrid[0:h, 0:w] * GSD
    r = np.hypot(xx - cx, (H_M - yy) - cy)
    wobble = ndimage.zoom(rng.normal(0, 0.1, (h // 40 + 2, w // 40 + 2)), 40, order=1)[:h, :w]
    alpha = np.clip(1.3 - r / radius + wobble, 0, 0.9)
    return img * (1 - alpha) + 240.0 * alpha  # type: ignore[no-any-return]
