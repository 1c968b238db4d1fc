"""Change: how far each scene pixel is from the best-matching baseline pixel nearby."""

import numpy as np
from scipy import ndimage
from skimage.filters import apply_hysteresis_threshold

STRIP = 512


EDGE_ALLOWANCE = 0.3


def change_magnitude(
    scene: np.ndarray, baseline: np.ndarray, luts: np.ndarray, *, radius: int, smooth: bool
) -> np.ndarray:
    """Per pixel, the smallest RGB distance from the scene to the matched baseline within ±radius px.

    ``scene`` and ``baseline`` are (3, H, W) uint8 on the same grid (baseline already shifted);
    ``luts`` map baseline values to scene radiometry. The best neighbour absorbs the residual
    registration error and edges that moved by less than ``radius`` pixels; what is left on the
    baseline's own edges (blur, compression, sub-pixel shift) is discounted by 30 % of the local
    edge strength. Computed in strips.
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
        core = b[:, radius:-radius, radius:-radius] if radius else b
        edge = ndimage.maximum_filter(_gradient(core), size=3)
        diff = np.sqrt(best) - EDGE_ALLOWANCE * edge
        out[r0:r1] = np.maximum(diff, 0.0)[r0 - a0 : r0 - a0 + (r1 - r0)]
    return out


def _gradient(img: np.ndarray) -> np.ndarray:
    """Per pixel, the RGB norm of the central differences (per pixel step)."""
    gy = np.zeros_like(img)
    gx = np.zeros_like(img)
    gy[:, 1:-1] = (img[:, 2:] - img[:, :-2]) / 2.0
    gx[:, :, 1:-1] = (img[:, :, 2:] - img[:, :, :-2]) / 2.0
    return np.sqrt(np.square(gy).sum(axis=0) + np.square(gx).sum(axis=0))  # type: ignore[no-any-return]


def match_blur(
    scene: np.ndarray, baseline: np.ndarray, luts: np.ndarray, window: tuple[slice, slice]
) -> tuple[float, float]:
    """(sigma for the scene, sigma for the baseline): the Gaussian blur that best equalises them.

    Two dates rarely have the same sharpness; on the window, each candidate blur of one image or
    the other is scored by the mean change left on the baseline's edges, and the least wins.
    """
    s = scene[:, window[0], window[1]].astype("float32")
    b = np.stack([luts[i][baseline[i, window[0], window[1]]] for i in range(3)])
    edges = _gradient(b)
    strong = edges > np.percentile(edges, 90)
    if strong.sum() < 100:
        return 0.0, 0.0
    best, best_score = (0.0, 0.0), np.inf
    for sigma_s, sigma_b in (
        (0, 0),
        (0, 0.5),
        (0, 0.8),
        (0, 1.2),
        (0, 1.6),
        (0.5, 0),
        (0.8, 0),
        (1.2, 0),
        (1.6, 0),
    ):
        ss = ndimage.gaussian_filter(s, (0, sigma_s, sigma_s)) if sigma_s else s
        bb = ndimage.gaussian_filter(b, (0, sigma_b, sigma_b)) if sigma_b else b
        score = float(np.sqrt(np.square(ss - bb).sum(axis=0))[strong].mean())
        if score < best_score * 0.97:
            best, best_score = (float(sigma_s), float(sigma_b)), score
    return best


def blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    """``image`` (3, H, W) uint8 blurred by a Gaussian of ``sigma`` px (unchanged when 0)."""
    if sigma <= 0:
        return image
    out = np.empty_like(image)
    for band in range(image.shape[0]):
        f = ndimage.gaussian_filter(image[band].astype("float32"), sigma)
        out[band] = np.clip(np.rint(f), 0, 255).astype(np.uint8)
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
