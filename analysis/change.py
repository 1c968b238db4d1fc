"""Change: how far each scene pixel is from the best-matching baseline pixel nearby."""

import numpy as np
from scipy import ndimage
from skimage.filters import apply_hysteresis_threshold

STRIP = 512


def change_magnitude(
    scene: np.ndarray, baseline: np.ndarray, luts: np.ndarray, *, radius: int, smooth: bool
) -> np.ndarray:
    """Per pixel, the smallest RGB distance from the scene to the matched baseline within ±radius px.

    ``scene`` and ``baseline`` are (3, H, W) uint8 on the same grid (baseline already shifted);
    ``luts`` map baseline values to scene radiometry. The best neighbour absorbs the residual
    registration error and edges that moved by less than ``radius`` pixels. Computed in strips.
    """
    _, h, w = scene.shape
    out = np.empty((h, w), dtype="float32")
    halo = radius + 2
    for r0 in range(0, h, STRIP):
        r1 = min(h, r0 + STRIP)
        a0, a1 = max(0, r0 - halo), min(h, r1 + halo)
        s = _prepare(scene[:, a0:a1], None, smooth)
        b = _prepare(baseline[:, a0:a1], luts, smooth)
        b = np.pad(b, ((0, 0), (radius, radius), (radius, radius)), mode="edge")
        best = np.full(s.shape[1:], np.inf, dtype="float32")
        hh, ww = s.shape[1:]
        for oy in range(-radius, radius + 1):
            for ox in range(-radius, radius + 1):
                nb = b[:, radius + oy : radius + oy + hh, radius + ox : radius + ox + ww]
                dist = np.square(s - nb).sum(axis=0)
                np.minimum(best, dist, out=best)
        out[r0:r1] = np.sqrt(best[r0 - a0 : r0 - a0 + (r1 - r0)])
    return out


def _prepare(block: np.ndarray, luts: np.ndarray | None, smooth: bool) -> np.ndarray:
    if luts is not None:
        f = np.stack([luts[i][block[i]] for i in range(block.shape[0])])
    else:
        f = block.astype("float32")
    if smooth:
        f = ndimage.uniform_filter(f, size=(1, 3, 3))
    return f  # type: ignore[no-any-return]


def noise_level(magnitude: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """(median, robust sigma) of the change magnitude over ``mask``, from a regular sample."""
    step = max(1, int(np.sqrt(mask.size / 2_000_000)))
    values = magnitude[::step, ::step][mask[::step, ::step]]
    if values.size == 0:
        return 0.0, 1.0
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med)))
    return med, max(1.4826 * mad, 0.5)


def change_mask(
    magnitude: np.ndarray, usable: np.ndarray, low: float, high: float, open_px: int
) -> np.ndarray:
    """Changed pixels: hysteresis between ``low`` and ``high``, thin lines opened away."""
    mask = apply_hysteresis_threshold(np.where(usable, magnitude, 0.0), low, high)
    if open_px > 0:
        mask = ndimage.binary_opening(mask, structure=np.ones((2 * open_px + 1,) * 2, bool))
    return mask & usable  # type: ignore[no-any-return]
