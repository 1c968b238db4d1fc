"""Registration: the whole-pixel shift that best lays the baseline on the scene."""

import numpy as np
from skimage.registration import phase_cross_correlation

WINDOW = 1024


def estimate_shift(
    scene_gray: np.ndarray, baseline_gray: np.ndarray, valid: np.ndarray, max_shift: int
) -> tuple[int, int]:
    """(dy, dx) such that ``baseline[y - dy, x - dx]`` lies on ``scene[y, x]``.

    Phase correlation on the window (≤ 1024 px) with the most structure in the baseline; shifts
    larger than ``max_shift`` are not trusted and give (0, 0).
    """
    h, w = scene_gray.shape
    y0, x0 = _busiest_window(baseline_gray, min(WINDOW, h), min(WINDOW, w))
    win = (slice(y0, y0 + min(WINDOW, h)), slice(x0, x0 + min(WINDOW, w)))
    s, b, v = scene_gray[win], baseline_gray[win], valid[win]
    if v.mean() < 0.5 or min(s.shape) < 16:
        return 0, 0
    s = np.where(v, s, s[v].mean()).astype("float32")
    b = np.where(v, b, b[v].mean()).astype("float32")
    shift, _, _ = phase_cross_correlation(s, b, upsample_factor=1, normalization=None)
    dy, dx = int(round(float(shift[0]))), int(round(float(shift[1])))
    if max(abs(dy), abs(dx)) > max_shift:
        return 0, 0
    return dy, dx


def busiest_window(gray: np.ndarray, size: int) -> tuple[slice, slice]:
    """The window of at most ``size`` px square with the most structure."""
    h, w = gray.shape
    wh, ww = min(size, h), min(size, w)
    y0, x0 = _busiest_window(gray, wh, ww)
    return slice(y0, y0 + wh), slice(x0, x0 + ww)


def _busiest_window(gray: np.ndarray, wh: int, ww: int) -> tuple[int, int]:
    """Top-left corner of the window with the largest gradient energy (on a coarse grid)."""
    h, w = gray.shape
    if h <= wh and w <= ww:
        return 0, 0
    step = 8
    g = gray[::step, ::step].astype("float32")
    energy = np.abs(np.diff(g, axis=0))[:, :-1] + np.abs(np.diff(g, axis=1))[:-1, :]
    integral = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    kh, kw = max(1, wh // step - 1), max(1, ww // step - 1)
    sums = integral[kh:, kw:] - integral[:-kh, kw:] - integral[kh:, :-kw] + integral[:-kh, :-kw]
    iy, ix = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return min(int(iy) * step, h - wh), min(int(ix) * step, w - ww)


def shift_image(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``out[..., y, x] = image[..., y - dy, x - dx]``, edges repeated."""
    if dy == 0 and dx == 0:
        return image
    pad = max(abs(dy), abs(dx))
    widths = [(0, 0)] * (image.ndim - 2) + [(pad, pad), (pad, pad)]
    padded = np.pad(image, widths, mode="edge")
    h, w = image.shape[-2:]
    return padded[..., pad - dy : pad - dy + h, pad - dx : pad - dx + w]
