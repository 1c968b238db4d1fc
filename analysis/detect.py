"""The analysis of one scene against its baseline: ``analyze``."""

import time

import numpy as np
from affine import Affine

from analysis.change import blurred, change_magnitude, change_mask, match_blur, noise_level
from analysis.context import Context
from analysis.errors import AnalysisError
from analysis.models import AnalysisResult, Detection, References
from analysis.objects import find_objects
from analysis.radiometry import contrast, find_cloud, matching_luts
from analysis.register import busiest_window, estimate_shift, shift_image
from analysis.shapes import footprint
from analysis.trains import find_trains

MAX_SHIFT_PX = 8
GSD_RANGE = (0.05, 5.0)


def analyze(
    image: np.ndarray,
    baseline: np.ndarray,
    transform: Affine,
    *,
    valid: np.ndarray | None = None,
    references: References | None = None,
) -> AnalysisResult:
    """Find trains, ships and cargo on ``image`` that are new since ``baseline``.

    ``image`` and ``baseline`` are (3, H, W) uint8 RGB on the same grid, ``transform`` is metric
    and north-up (pixel size = gsd in metres), ``valid`` marks pixels with data in both.
    Raises AnalysisError for input it cannot use.
    """
    started = time.perf_counter()
    gsd = check_inputs(image, baseline, transform, valid)
    valid = np.ones(image.shape[1:], dtype=bool) if valid is None else valid.astype(bool)
    notes: list[str] = []
    ctx = _prepare(image, baseline, transform, gsd, valid, notes)
    detections: list[Detection] = []
    if ctx.usable.sum() * gsd**2 >= 400.0:
        trains, used = find_trains(ctx, references)
        detections = trains + find_objects(ctx, used, references, notes)
    detections = _account_for_cloud(ctx, detections, notes)
    if ctx.gsd > 1.5:
        notes.append(
            f"{gsd:.1f} m per pixel: trains and ships only, wagon counts estimated from length"
        )
    elif not ctx.fine:
        notes.append(f"{gsd:.1f} m per pixel: wagons not told apart, counts estimated from length")
    detections.sort(key=lambda d: (d.kind, -d.confidence, d.geometry.centroid.x))
    area_km2 = float(valid.sum()) * gsd**2 / 1e6
    return AnalysisResult(detections, notes, time.perf_counter() - started, area_km2)


def check_inputs(
    image: np.ndarray, baseline: np.ndarray, transform: Affine, valid: np.ndarray | None
) -> float:
    """The gsd in metres, or AnalysisError saying what is wrong with the input."""
    for name, a in (("scene", image), ("baseline", baseline)):
        if not isinstance(a, np.ndarray) or a.ndim != 3 or a.shape[0] != 3:
            raise AnalysisError(f"the {name} must be a 3-band RGB image (3, height, width)")
        if a.dtype != np.uint8:
            raise AnalysisError(
                f"the {name} is {a.dtype}, not 8-bit: apply its render defaults (rescale) first"
            )
    if image.shape != baseline.shape:
        raise AnalysisError(
            f"the scene ({image.shape[2]}×{image.shape[1]} px) and the baseline "
            f"({baseline.shape[2]}×{baseline.shape[1]} px) are not on the same grid: "
            "warp the baseline to the scene first"
        )
    if min(image.shape[1:]) < 16:
        raise AnalysisError("the scene is too small to analyse (under 16 pixels across)")
    if valid is not None and valid.shape != image.shape[1:]:
        raise AnalysisError("the valid mask does not have the scene's height and width")
    if abs(transform.b) > 1e-9 or abs(transform.d) > 1e-9:
        raise AnalysisError("the grid is rotated: the analysis needs a north-up grid")
    gsd = abs(transform.a)
    if abs(abs(transform.e) - gsd) > 0.01 * gsd:
        raise AnalysisError(f"pixels are not square ({transform.a} × {transform.e})")
    if gsd < GSD_RANGE[0] / 10:
        raise AnalysisError(
            f"pixel size {gsd:g} looks like degrees: the analysis needs a metric (projected) grid"
        )
    if not GSD_RANGE[0] <= gsd <= GSD_RANGE[1]:
        raise AnalysisError(
            f"pixel size {gsd:g} m is outside {GSD_RANGE[0]}–{GSD_RANGE[1]} m: "
            "trains, ships and cargo cannot be measured at this resolution"
        )
    if valid is not None and not valid.any():
        raise AnalysisError("the scene and the baseline have no pixels with data in common")
    return gsd


def _prepare(
    image: np.ndarray,
    baseline: np.ndarray,
    transform: Affine,
    gsd: float,
    valid: np.ndarray,
    notes: list[str],
) -> Context:
    gray_s = image.mean(axis=0, dtype="float32")
    gray_b = baseline.mean(axis=0, dtype="float32")
    contrast_s, contrast_b = contrast(gray_s, valid), contrast(gray_b, valid)
    dy, dx = estimate_shift(gray_s, gray_b, valid, MAX_SHIFT_PX)
    del gray_b
    if (dy, dx) != (0, 0):
        baseline = shift_image(baseline, dy, dx)
        valid = valid & shift_image(valid, dy, dx)
    luts = matching_luts(image, baseline, _sample(valid))
    cloud = find_cloud(image, baseline, luts, valid, gsd)
    usable = valid & ~cloud.mask
    if cloud.fraction > 0:
        luts = matching_luts(image, baseline, _sample(usable))
        notes.append(
            f"cloud or haze over {100 * cloud.fraction:.0f} % of the scene: nothing detected "
            "under it, confidence lowered beside it"
        )
    if contrast_b > 0 and contrast_s < 0.7 * contrast_b:
        notes.append(
            f"scene contrast {100 * contrast_s / contrast_b:.0f} % of the baseline's "
            "(haze, thin cloud or low sun): confidence lowered"
        )
    fine = gsd <= 0.75
    sigma_s, sigma_b = match_blur(image, baseline, luts, busiest_window(gray_s, 768))
    if sigma_s or sigma_b:
        image_for_change = blurred(image, sigma_s)
        baseline = blurred(baseline, sigma_b)
        luts = matching_luts(image_for_change, baseline, _sample(usable))
    else:
        image_for_change = image
    magnitude = change_magnitude(image_for_change, baseline, luts, radius=1, smooth=fine)
    med, sigma = noise_level(magnitude, usable)
    high = max(med + 8.0 * sigma, 12.0)
    low = max(med + 4.0 * sigma, 0.5 * high)
    changed = change_mask(magnitude, usable, low, high, open_px=1 if fine else 0)
    step = _pixel_noise(gray_s, usable)
    edge_step = (max(3.0 * step, 8.0), max(6.0 * step, 16.0))
    return Context(
        image=image,
        baseline=baseline,
        luts=luts,
        transform=transform,
        gsd=gsd,
        valid=valid,
        usable=usable,
        cloud=cloud.mask,
        magnitude=magnitude,
        changed=changed,
        low=low,
        high=high,
        edge_step=edge_step,
    )


def _sample(mask: np.ndarray) -> np.ndarray:
    """``mask`` thinned to about 4 million pixels (enough for histograms)."""
    step = max(1, int(np.sqrt(mask.size / 4_000_000)))
    if step == 1:
        return mask
    thinned = np.zeros_like(mask)
    thinned[::step, ::step] = mask[::step, ::step]
    return thinned


def _pixel_noise(gray: np.ndarray, mask: np.ndarray) -> float:
    """Robust standard deviation of the scene's pixel-to-pixel noise (DN)."""
    step = max(1, int(np.sqrt(gray.size / 2_000_000)))
    g = gray[::step]
    m = mask[::step]
    diff = (g[:, 1:] - g[:, :-1])[m[:, 1:] & m[:, :-1]]
    if diff.size == 0:
        return 1.0
    mad = float(np.median(np.abs(diff - np.median(diff))))
    return max(1.4826 * mad / np.sqrt(2.0), 0.5)


def _account_for_cloud(
    ctx: Context, detections: list[Detection], notes: list[str]
) -> list[Detection]:
    """Lower confidence beside cloud and under haze, leave out trains running into it; say so."""
    hazy = any("contrast" in n for n in notes)
    cloud_geom = cloud_edge = None
    if ctx.cloud.any():
        cloud_edge = footprint(ctx.cloud, ctx.transform, 4 * ctx.gsd)
        cloud_geom = cloud_edge.buffer(30.0)
    out = []
    cut = 0
    for d in detections:
        if d.kind == "train" and cloud_edge is not None and d.geometry.distance(cloud_edge) < 2.0:
            cut += 1  # runs into the cloud: its length and wagons are unknown
            continue
        factor = 1.0
        if cloud_geom is not None and d.geometry.intersects(cloud_geom):
            factor *= 0.6
        if hazy:
            factor *= 0.8
        if factor < 1.0:
            d = _with_confidence(d, d.confidence * factor)
        out.append(d)
    if cut:
        notes.append(
            f"{cut} train{'s' if cut > 1 else ''} running into the cloud not reported "
            "(length and wagons unknown)"
        )
    return out


def _with_confidence(d: Detection, confidence: float) -> Detection:
    from dataclasses import replace

    return replace(d, confidence=round(confidence, 2))
