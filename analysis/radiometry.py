"""Radiometry: make the baseline look like the scene (histogram matching), find cloud and haze."""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


def matching_luts(scene: np.ndarray, baseline: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per band, a 256-entry table taking a baseline value to the scene value at the same place.

    ``scene`` and ``baseline`` are (3, H, W) uint8 on the same grid; only pixels where ``mask`` is
    True count. Each band's table is a curve ``offset + gain * 255 * (x / 255) ** gamma`` (light,
    gain, gamma and haze all take this form) fitted robustly to the median scene value at each
    baseline level: pixel pairs, so what changed between the dates is outvoted by what did not,
    and levels where the pairs disagree (taken over by change) weigh little. Returns (3, 256)
    float32: ``lut[b][baseline[b]]`` is the baseline in the scene's radiometry.
    """
    luts = np.empty((scene.shape[0], 256), dtype="float32")
    for band in range(scene.shape[0]):
        luts[band] = _fit_curve(baseline[band][mask], scene[band][mask])
    return luts


def _fit_curve(x: np.ndarray, y: np.ndarray, min_count: int = 25) -> np.ndarray:
    levels = np.arange(256, dtype="float64")
    if x.size < min_count:
        return levels.astype("float32")
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order].astype("float64")
    counts = np.bincount(xs, minlength=256)
    ends = np.cumsum(counts)
    starts = ends - counts
    known = np.flatnonzero(counts >= min_count)
    if known.size < 3:
        return levels.astype("float32")
    med = np.empty(known.size)
    spread = np.empty(known.size)
    for k, v in enumerate(known):
        q25, q50, q75 = np.percentile(ys[starts[v] : ends[v]], [25, 50, 75])
        med[k], spread[k] = q50, q75 - q25
    xk = levels[known] / 255.0
    typical = max(float(np.median(spread)), 1.0)
    weight = np.sqrt(counts[known]) / (1.0 + np.square(spread / (2.0 * typical)))
    best_loss, best = np.inf, (0.0, 255.0, 1.0)
    for gamma in np.exp(np.linspace(np.log(0.4), np.log(2.5), 61)):
        basis = np.stack([np.ones_like(xk), 255.0 * xk**gamma], axis=1)
        w = weight.copy()
        coef = np.zeros(2)
        for _ in range(4):  # iteratively reweighted: levels taken over by change drop out
            sw = np.sqrt(w)
            coef = np.linalg.lstsq(basis * sw[:, None], med * sw, rcond=None)[0]
            resid = med - basis @ coef
            scale = max(1.4826 * float(np.median(np.abs(resid))), 1.0)
            w = weight * np.clip(1.0 - np.square(resid / (4.685 * scale)), 0.0, None) ** 2
        loss = float((w * np.square(resid)).sum() / max(w.sum(), 1e-9))
        if coef[1] > 0 and loss < best_loss:
            best_loss, best = loss, (float(coef[0]), float(coef[1]), float(gamma))
    offset, gain, gamma = best
    curve = offset + gain * 255.0 * (levels / 255.0) ** gamma
    return np.clip(curve, 0.0, 255.0).astype("float32")  # the scene saturates as the sensor did


def contrast(gray: np.ndarray, mask: np.ndarray) -> float:
    """The 2–98 percentile spread of a grey image over ``mask`` (its global contrast)."""
    values = gray[mask]
    if values.size == 0:
        return 0.0
    lo, hi = np.percentile(values, [2, 98])
    return float(hi - lo)


@dataclass
class Cloud:
    """Cloud found on the scene: a pixel mask and the share of the valid area it covers."""

    mask: np.ndarray
    fraction: float


WISP_REACH_M = 50.0


def find_cloud(
    scene: np.ndarray, baseline: np.ndarray, luts: np.ndarray, valid: np.ndarray, gsd: float
) -> Cloud:
    """Large, soft regions where the scene is the baseline washed towards white, with less texture.

    Works on blocks of about 2 m. A pixel is cloud-like when every band moved towards white by
    about the same fraction (``alpha``), the scene is brighter and its texture weaker than the
    baseline's; cloud is a large connected region of such pixels (≥ 0.3 ha), grown over its soft
    edge. White objects are small or crisp and stay out of it.
    """
    factor = max(1, round(2.0 / gsd))
    s = _block_mean(scene.astype("float32"), factor)
    b = _block_mean(baseline, factor)
    levels = np.arange(256, dtype="float32")
    b = np.stack([np.interp(b[i], levels, luts[i]) for i in range(b.shape[0])]).astype("float32")
    v = _block_mean(valid.astype("float32")[None], factor)[0] > 0.99
    headroom = np.maximum(255.0 - b, 8.0)
    alpha_b = (s - b) / headroom
    alpha = np.median(alpha_b, axis=0)
    spread = alpha_b.max(axis=0) - alpha_b.min(axis=0)
    brighter = s.mean(axis=0) - b.mean(axis=0)
    tex_s = _texture(s.mean(axis=0))
    tex_b = _texture(b.mean(axis=0))
    whitish = (spread < 0.15 + 0.5 * np.abs(alpha)) & (brighter > 6.0) & v
    core = whitish & (alpha > 0.25) & (tex_s < 0.8 * tex_b + 1.0)
    # Cloud is broad: strips a block or two wide (pale wagons, roofs) are opened away, so that
    # the soft edge does not run along a train of pale wagons away from the cloud.
    soft = ndimage.binary_opening(whitish & (alpha > 0.06), structure=np.ones((3, 3), bool))
    labels, n = ndimage.label(soft)
    if n == 0:
        return Cloud(np.zeros(valid.shape, dtype=bool), 0.0)
    block_m2 = (factor * gsd) ** 2
    sizes = ndimage.sum_labels(core, labels, index=np.arange(1, n + 1))
    area = ndimage.sum_labels(soft, labels, index=np.arange(1, n + 1))
    keep = np.zeros(n + 1, dtype=bool)
    keep[1:] = (sizes * block_m2 >= 3000.0) & (area * block_m2 >= 5000.0)
    if keep.any():
        # Where there is cloud, its wisps are cloud too: smaller washed-out patches nearby (their
        # edge within 50 m of a large cloud; farther away a pale patch is as likely an object).
        reach = max(1, round(WISP_REACH_M / (factor * gsd)))
        near = ndimage.binary_dilation(keep[labels], iterations=reach)
        touches = ndimage.maximum(near, labels, index=np.arange(1, n + 1)).astype(bool)
        keep[1:] |= (area * block_m2 >= 50.0) & touches
    cloud_small = keep[labels]
    if not cloud_small.any():
        return Cloud(np.zeros(valid.shape, dtype=bool), 0.0)
    grow = max(1, round(20.0 / (factor * gsd)))
    cloud_small = ndimage.binary_dilation(cloud_small, iterations=grow)
    mask = np.kron(cloud_small, np.ones((factor, factor), dtype=bool))
    mask = _fit(mask, valid.shape) & valid
    return Cloud(mask, float(mask.sum() / max(valid.sum(), 1)))


def _texture(gray: np.ndarray) -> np.ndarray:
    """Local standard deviation over 5 × 5 blocks."""
    mean = ndimage.uniform_filter(gray, 5)
    sq = ndimage.uniform_filter(gray * gray, 5)
    return np.sqrt(np.maximum(sq - mean * mean, 0.0))  # type: ignore[no-any-return]


def _block_mean(a: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return a.astype("float32")
    bands, h, w = a.shape
    hh, ww = -(-h // factor) * factor, -(-w // factor) * factor
    padded = np.pad(a, ((0, 0), (0, hh - h), (0, ww - w)), mode="edge")
    return padded.reshape(bands, hh // factor, factor, ww // factor, factor).mean(axis=(2, 4))  # type: ignore[no-any-return]


def _fit(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return mask[: shape[0], : shape[1]]
