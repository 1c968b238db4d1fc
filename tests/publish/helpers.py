"""Plain inputs for the renderer tests, and reading back what a rendering shows."""

import io
from datetime import datetime, timedelta, timezone

import numpy as np
from affine import Affine
from PIL import Image
from pyproj import Transformer

from publish import Caption, Crop

KST = timezone(timedelta(hours=9))
CRS = "EPSG:32652"
ORIGIN = (632_000.0, 4_700_000.0)


def grey_crop(width: int = 800, height: int = 500, m_per_px: float = 0.73, seed: int = 0) -> Crop:
    """Grey noise (never black, never red) on UTM 52N near the bridge."""
    rng = np.random.default_rng(seed)
    grey = rng.integers(40, 220, (height, width), dtype=np.uint8)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    return Crop(rgb, Affine(m_per_px, 0, ORIGIN[0], 0, -m_per_px, ORIGIN[1]), CRS)


def caption(synthetic: bool = False, **kw: object) -> Caption:
    base: dict[str, object] = {
        "title": "Friendship Bridge",
        "when": datetime(2022, 11, 4, 13, 10, tzinfo=KST),
        "scene_id": "border-b",
        "provider": "Example Imaging",
        "licence": "CC-BY-4.0",
        "synthetic": synthetic,
    }
    base.update(kw)
    return Caption(**base)  # type: ignore[arg-type]


def lonlat(crop: Crop, col: float, row: float) -> tuple[float, float]:
    """The lon/lat of a pixel of ``crop`` (its centre at col + 0.5, row + 0.5)."""
    x, y = crop.transform * (col + 0.5, row + 0.5)
    return Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x, y)


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def text_chunks(png: bytes) -> dict[str, str]:
    im = Image.open(io.BytesIO(png))
    im.load()
    return dict(im.text)  # type: ignore[attr-defined]


def scale_bar_ends(rgb: np.ndarray, rows: range) -> tuple[int, int]:
    """The first and last column of the longest run of pure black in ``rows``: the bar's outline."""
    best = (0, -1)
    for r in rows:
        black = np.all(rgb[r] == 0, axis=1)
        start = None
        for c, is_black in enumerate(list(black) + [False]):
            if is_black and start is None:
                start = c
            elif not is_black and start is not None:
                if c - 1 - start > best[1] - best[0]:
                    best = (start, c - 1)
                start = None
    return best


def strongly_red(rgb: np.ndarray) -> int:
    """How many pixels are the stamp's red (R high, G and B low)."""
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    return int(np.count_nonzero((r > 140) & (g < 50) & (b < 70)))
