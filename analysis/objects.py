"""Ships, cargo, and trains too coarse to split into wagons: changed regions judged by shape.

Each changed region left after the trains is measured along its axis. A region must also stand out
from what surrounds it *in the scene* (a thing that left shows only its background there).
"""

import numpy as np
from scipy import ndimage
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from analysis.context import Context
from analysis.models import Detection, References
from analysis.shapes import Blob, footprint
from analysis.trains import WIDTH

SHIP_LENGTH = (20.0, 300.0)
SHIP_RATIO = (4.0, 11.0)
CARGO_MIN_M2 = 20.0
CARGO_MAX_M2 = 10_000.0  # one contiguous patch: stacks and covered cargo have aisles between
CARGO_GROUP_M = 15.0
CRISP = 0.3  # per metre: the change reaches its full value within about 3 m


def find_objects(
    ctx: Context,
    used: np.ndarray,
    references: References | None,
    notes: list[str] | None = None,
) -> list[Detection]:
    """Ships, cargo areas and (at coarse gsd) trains among the changed regions not yet used.

    A changed patch larger than a hectare in one piece is not taken as cargo (ground, season, a
    differently processed image, a label or a building site): it is left out and ``notes`` says so.
    """
    remaining = ctx.changed & ~used
    r_ship = max(1, int(round(3.0 / ctx.gsd)))
    labels, n = ndimage.label(remaining, structure=np.ones((3, 3), bool))
    if n == 0:
        return []
    min_px = max(4, int(CARGO_MIN_M2 / ctx.gsd**2 * 0.5))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    slices = ndimage.find_objects(labels)
    ships: list[Detection] = []
    trains: list[Detection] = []
    cargo_parts: list[tuple[Blob, BaseGeometry, float]] = []
    too_large: list[float] = []
    h, w = remaining.shape
    pad = r_ship * 3 + 4
    for i in np.flatnonzero(sizes >= min_px):
        if i == 0 or slices[i - 1] is None:
            continue
        sl = slices[i - 1]
        win = (
            slice(max(0, sl[0].start - pad), min(h, sl[0].stop + pad)),
            slice(max(0, sl[1].start - pad), min(w, sl[1].stop + pad)),
        )
        mask = labels[win] == i
        ship = _ship(ctx, mask, win, r_ship, references)
        if ship is not None:
            ships.append(ship)
            continue
        if ctx.gsd > 1.5:
            continue
        part = _cargo_part(ctx, mask, win)
        if part is not None and part[0].area_m2 > CARGO_MAX_M2:
            too_large.append(part[0].area_m2)
        elif part is not None:
            cargo_parts.append(part)
    if too_large and notes is not None:
        notes.append(
            f"{len(too_large)} changed area{'s' if len(too_large) > 1 else ''} of "
            f"{sum(too_large):,.0f} m² not reported as cargo: larger than "
            f"{CARGO_MAX_M2:,.0f} m² in one piece (ground, season or processing, not objects)"
        )
    return trains + ships + _cargo(cargo_parts, ctx)


def _blob(mask: np.ndarray, win: tuple[slice, slice], gsd: float) -> Blob:
    rr, cc = np.nonzero(mask)
    return Blob(rr + win[0].start, cc + win[1].start, gsd)


def stands_out(
    ctx: Context, mask: np.ndarray, win: tuple[slice, slice], *, ends_only: bool
) -> tuple[bool, float]:
    """(present, contrast): whether the region differs from its surroundings in the scene.

    Compares the median colour inside with the median colour of a ring around it (of its ends only
    for long narrow things, whose sides may be other ground), excluding other changed pixels.
    """
    gsd = ctx.gsd
    r0, r1 = max(1, int(round(1.0 / gsd))), max(2, int(round(4.0 / gsd)))
    near = ndimage.binary_dilation(mask, iterations=r0)
    ring = ndimage.binary_dilation(mask, iterations=r1) & ~near
    ring &= ~ctx.changed[win] & ctx.usable[win]
    if ends_only:
        blob = _blob(mask, win, gsd)
        rr, cc = np.nonzero(ring)
        rr_abs, cc_abs = rr + win[0].start, cc + win[1].start
        u = (rr_abs - blob.centre[0]) * blob.axis[0] + (cc_abs - blob.centre[1]) * blob.axis[1]
        ends = (u < blob.u.min() - r0 + 0.5) | (u > blob.u.max() + r0 - 0.5)
        keep = np.zeros_like(ring)
        keep[rr[ends], cc[ends]] = True
        ring = keep
    if ring.sum() < 4:
        return True, float("nan")
    scene = ctx.scene_window(win)
    base = ctx.baseline_window(win)
    d_scene = _contrast(scene, mask, ring)
    d_base = _contrast(base, mask, ring)
    # The object is in the scene when the scene's region stands out from its surroundings at least
    # about as much as the baseline's does (a thing that left stands out in the baseline only).
    return d_scene >= ctx.low and d_scene >= 0.6 * d_base, d_scene


def _contrast(img: np.ndarray, mask: np.ndarray, ring: np.ndarray) -> float:
    inside = np.median(img[:, mask], axis=1)
    around = np.median(img[:, ring], axis=1)
    return float(np.sqrt(np.square(inside - around).sum()))


def _ship(
    ctx: Context,
    mask: np.ndarray,
    win: tuple[slice, slice],
    r: int,
    references: References | None,
) -> Detection | None:
    disk = _disk(r)
    core = ndimage.binary_opening(mask, structure=disk)
    if core.sum() * ctx.gsd**2 < 100:
        return None
    labels, n = ndimage.label(core)
    if n > 1:
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        core = labels == int(np.argmax(sizes))
    hull = mask & ndimage.binary_dilation(core, structure=disk, iterations=2)
    blob = _blob(hull, win, ctx.gsd)
    length = blob.length_m
    beam = float(np.percentile(blob.widths_px, 90)) * ctx.gsd
    if not (SHIP_LENGTH[0] <= length <= SHIP_LENGTH[1]) or beam < 4.0:
        return None
    ratio = length / beam
    if not (SHIP_RATIO[0] <= ratio <= SHIP_RATIO[1]):
        return None
    ends = blob.end_widths(0.08)
    tapered = min(ends) < 0.6
    on_water = _on_water(ctx, hull, win, references)
    if not (tapered or on_water):
        return None
    present, contrast = stands_out(ctx, hull, win, ends_only=False)
    if not present:
        return None
    geom = footprint(hull, ctx.window_transform(win), ctx.gsd)
    why = "a hull shape (one end narrowing to a bow)" if tapered else "a hull shape on water"
    confidence = 0.6 + (0.15 if tapered else 0.0) + (0.15 if on_water else 0.0)
    return Detection(
        kind="ship",
        geometry=_largest(geom),
        length_m=round(length, 1),
        count=1,
        count_approx=False,
        area_m2=round(blob.area_m2, 1),
        confidence=round(min(confidence, 0.95), 2),
        description=(
            f"Automated: a vessel of about {length:.0f} m by {beam:.0f} m, new since the baseline; "
            f"found as a changed region with {why}."
        ),
    )


def _on_water(
    ctx: Context, mask: np.ndarray, win: tuple[slice, slice], references: References | None
) -> bool:
    if references is None or references.water is None:
        return False
    blob = _blob(mask, win, ctx.gsd)
    x, y = ctx.transform * (blob.centre[1] + 0.5, blob.centre[0] + 0.5)
    from shapely.geometry import Point

    return bool(references.water.buffer(20.0).contains(Point(x, y)))


def _cargo_part(
    ctx: Context, mask: np.ndarray, win: tuple[slice, slice]
) -> tuple[Blob, BaseGeometry, float] | None:
    r = max(1, int(round(1.0 / ctx.gsd)))
    opened = ndimage.binary_opening(mask, structure=_disk(r))
    if opened.sum() * ctx.gsd**2 < CARGO_MIN_M2:
        return None
    blob = _blob(opened, win, ctx.gsd)
    if blob.width_m < 2.0 or (blob.width_m <= WIDTH[1] and blob.length_m >= 3.0 * blob.width_m):
        return None  # too thin, or shaped like rail vehicles (the train stage judged those)
    if ctx.cloud.any() and crispness(ctx, opened, win) < CRISP:
        return None  # in a scene with cloud, a soft patch is a wisp of it
    elongated = blob.length_m >= 4.0 * blob.width_m
    present, contrast = stands_out(ctx, opened, win, ends_only=elongated)
    if not present:
        return None
    geom = footprint(opened, ctx.window_transform(win), ctx.gsd)
    return blob, geom, contrast


def crispness(ctx: Context, mask: np.ndarray, win: tuple[slice, slice]) -> float:
    """How sharply the change rises at the region's outline, per metre, relative to its inside.

    Things have outlines: the change climbs to its full value within a pixel or two. Wisps of
    cloud, haze and shadow fade in over many metres.
    """
    m = ctx.magnitude[win]
    grad = ndimage.gaussian_gradient_magnitude(m, 1.0) / ctx.gsd
    boundary = mask & ~ndimage.binary_erosion(mask)
    inside = float(np.median(m[mask]))
    if inside <= 0 or not boundary.any():
        return 0.0
    return float(np.median(grad[ndimage.binary_dilation(boundary)])) / inside


def _cargo(parts: list[tuple[Blob, BaseGeometry, float]], ctx: Context) -> list[Detection]:
    """Cargo parts closer than 15 m to each other make one cargo area."""
    if not parts:
        return []
    geoms = [g for _, g, _ in parts]
    groups = unary_union([g.buffer(CARGO_GROUP_M / 2) for g in geoms])
    areas = groups.geoms if isinstance(groups, MultiPolygon) else [groups]
    out = []
    for area in areas:
        members = [i for i, g in enumerate(geoms) if g.intersects(area)]
        if not members:
            continue
        shape = unary_union([geoms[i] for i in members])
        m2 = sum(parts[i][0].area_m2 for i in members)
        out.append(
            Detection(
                kind="cargo",
                geometry=shape.convex_hull,
                length_m=None,
                count=None,
                count_approx=False,
                area_m2=round(m2, 1),
                confidence=0.6,
                description=(
                    f"Automated: {len(members)} new patch{'es' if len(members) > 1 else ''} "
                    f"covering {m2:,.0f} m² that stand out from the ground around them, "
                    "not shaped like a rail vehicle or a hull."
                ),
            )
        )
    return out


def _largest(geom: BaseGeometry) -> BaseGeometry:
    if isinstance(geom, MultiPolygon):
        return max(geom.geoms, key=lambda g: g.area)
    return geom if isinstance(geom, Polygon) else geom.convex_hull


def _disk(r: int) -> np.ndarray:
    y, x = np.ogrid[-r : r + 1, -r : r + 1]
    return (x * x + y * y) <= r * r + r * 0.5  # type: ignore[no-any-return]
