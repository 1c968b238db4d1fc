"""Trains: runs of rail-vehicle width along straight lanes of change, split into wagons.

Each elongated changed region defines a frame along its axis (extended 30 m at both ends). In that
frame, lanes are peaks of the change summed along the axis; a lane of rail-vehicle width (2.2–4.6 m
measured) holds a train where the change runs along it. Fragments closer than 16 m join, so a train
standing partly where a baseline train stood is found in full. The run is then trimmed to where the
*scene* differs from the bare lane beyond its ends (a train that left shows bare track). Wagons are
told apart by the gaps between them: narrow dips of the scene's colour profile along the lane.
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.signal import find_peaks
from shapely.geometry import LineString

from analysis.context import Context
from analysis.models import Detection, References
from analysis.shapes import Blob

WIDTH = (1.8, 4.6)  # measured width of a rail vehicle (2.8–3.6 m), with blur and edges
WAGON = (10.0, 25.0)
MIN_RUN_M = 10.0
MIN_RUN_COARSE_M = 40.0  # beyond 1.5 m pixels a short run is not told from a boat or a shed


def min_run(gsd: float) -> float:
    """The shortest run reported as a train at this pixel size."""
    return MIN_RUN_M if gsd <= 1.5 else MIN_RUN_COARSE_M


JOIN_M = 16.0
EXTEND_M = 30.0
SIDE_M = 12.0
LANE_SPACING_M = 3.5
BRIDGE_M = 50.0  # longest stretch of low-contrast vehicles bridged between strong change


@dataclass
class Frame:
    """Samples of the images on a grid along an axis: ``u`` along, ``v`` across, 1 px steps."""

    origin: np.ndarray  # (row, col) of u = 0, v = 0
    axis: np.ndarray  # (drow, dcol)
    normal: np.ndarray
    u0: float
    v0: float
    changed: np.ndarray  # (V, U) float 0/1
    magnitude: np.ndarray  # (V, U)
    scene: np.ndarray  # (3, V, U)
    baseline: np.ndarray  # (3, V, U), matched to the scene
    valid: np.ndarray  # (V, U) bool

    def pixel(self, u: float, v: float) -> tuple[float, float]:
        """(row, col) of frame position (u, v) given in frame indices."""
        r, c = self.origin + (u + self.u0) * self.axis + (v + self.v0) * self.normal
        return float(r), float(c)


def find_trains(
    ctx: Context, references: References | None = None
) -> tuple[list[Detection], np.ndarray]:
    """Trains on the scene, and the mask of the pixels they take (left out of later stages).

    With track centre-lines among the references, a run must lie along one (within 3 m).
    """
    used = np.zeros(ctx.changed.shape, dtype=bool)
    labels, n = ndimage.label(ctx.changed, structure=np.ones((3, 3), bool))
    if n == 0:
        return [], used
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    slices = ndimage.find_objects(labels)
    min_px = MIN_RUN_M * WIDTH[0] / ctx.gsd**2
    order = [i for i in np.argsort(-sizes) if i > 0 and sizes[i] >= min_px]
    lines: list[LineString] = []
    for i in order:
        sl = slices[i - 1]
        if sl is None:
            continue
        rr, cc = np.nonzero(labels[sl] == i)
        rr, cc = rr + sl[0].start, cc + sl[1].start
        if used[rr, cc].mean() > 0.5:
            continue
        blob = Blob(rr, cc, ctx.gsd)
        blob.axis = _edge_axis(ctx, sl, blob)
        if blob.length_m < MIN_RUN_M or blob.length_m < 2.0 * (blob.area_m2 / blob.length_m):
            continue
        for _, line in _trains_in_frame(ctx, blob):
            lines.append(line)
            _mark(used, ctx, line)
    # Pieces of one train found from different regions: one line each, analysed again in full.
    detections: list[Detection] = []
    used[:] = False
    for group in _collinear(lines):
        found = _along(ctx, group) if len(group) > 1 else None
        if found is None:
            found = [_best(ctx, group[0])]
        for det, line in found:
            if det is None or not _on_track(line, references):
                continue
            if any(
                line.distance(o.geometry) < 1.5 and _parallel(line, o.geometry) for o in detections
            ):
                continue
            detections.append(det)
            _mark(used, ctx, line)
    return detections, used


def _on_track(line: LineString, references: References | None) -> bool:
    if references is None or not references.tracks:
        return True
    mid = line.interpolate(0.5, normalized=True)
    return any(track.distance(mid) <= 3.0 for track in references.tracks)


def _collinear(lines: list[LineString]) -> list[list[LineString]]:
    """Groups of lines on one track: parallel, within 1.5 m across, at most 16 m apart along."""
    n = len(lines)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            a, b = lines[i], lines[j]
            if not _parallel(a, b) or a.distance(b) > JOIN_M:
                continue
            (x0, y0), (x1, y1) = a.coords[0], a.coords[-1]
            d = np.array([x1 - x0, y1 - y0]) / max(a.length, 1e-9)
            mid = np.array(b.interpolate(0.5, normalized=True).coords[0]) - np.array([x0, y0])
            if abs(mid[0] * d[1] - mid[1] * d[0]) <= 1.5:
                parent[find(i)] = find(j)
    groups: dict[int, list[LineString]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(lines[i])
    return list(groups.values())


def _along(
    ctx: Context, group: list[LineString]
) -> list[tuple[Detection | None, LineString]] | None:
    """The trains on the union of collinear lines, analysed on one lane frame along it."""
    longest = max(group, key=lambda g: g.length)
    (x0, y0), (x1, y1) = longest.coords[0], longest.coords[-1]
    d = np.array([x1 - x0, y1 - y0]) / max(longest.length, 1e-9)
    nrm = np.array([-d[1], d[0]])
    ref = np.array([x0, y0])
    ts, offs, weights = [], [], []
    for g in group:
        for p in (g.coords[0], g.coords[-1]):
            rel = np.array(p) - ref
            ts.append(float(rel @ d))
        mid = np.array(g.interpolate(0.5, normalized=True).coords[0]) - ref
        offs.append(float(mid @ nrm))
        weights.append(g.length)
    off = float(np.average(offs, weights=weights))
    start = ref + d * (min(ts) - EXTEND_M) + nrm * off
    length = max(ts) - min(ts) + 2 * EXTEND_M
    inv = ~ctx.transform
    col, row = inv * (float(start[0]), float(start[1]))
    origin = np.array([row - 0.5, col - 0.5])
    axis = np.array([-d[1], d[0]])  # map (east, north) to pixel (row, col)
    side = max(4, int(round(6.0 / ctx.gsd)))
    lane = frame_at(ctx, origin, axis, (0.0, float(np.ceil(length / ctx.gsd))), (-side, side))
    runs = _runs(ctx, lane, side)
    return [(det, line) for det, line in runs] or None


def _best(ctx: Context, line: LineString) -> tuple[Detection | None, LineString]:
    found = _along(ctx, [line])
    if not found:
        return None, line
    return max(found, key=lambda r: r[1].length)


def _edge_axis(ctx: Context, sl: tuple[slice, slice], blob: Blob) -> np.ndarray:
    """The direction of the region's long edges (structure tensor of the change magnitude).

    Better than the principal axis for several trains side by side but staggered, whose outline
    as a whole leans away from the tracks.
    """
    h, w = ctx.changed.shape
    pad = 4
    win = (
        slice(max(0, sl[0].start - pad), min(h, sl[0].stop + pad)),
        slice(max(0, sl[1].start - pad), min(w, sl[1].stop + pad)),
    )
    m = np.where(ctx.changed[win], ctx.magnitude[win], 0.0)
    m = ndimage.gaussian_filter(m, 1.0)
    gr = ndimage.sobel(m, axis=0)
    gc = ndimage.sobel(m, axis=1)
    jrr, jcc, jrc = float((gr * gr).sum()), float((gc * gc).sum()), float((gr * gc).sum())
    if jrr + jcc <= 0:
        return blob.axis
    theta = 0.5 * np.arctan2(2 * jrc, jrr - jcc)  # dominant gradient direction (row, col)
    normal = np.array([np.cos(theta), np.sin(theta)])
    axis = np.array([-normal[1], normal[0]])
    return _sharpest(blob, ctx.magnitude[blob.rows, blob.cols], axis)


def _sharpest(blob: Blob, weight: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """The axis within ±4° of ``axis`` along which the region's cross profile is sharpest.

    Parallel lanes show as narrow peaks only when the profile is taken exactly across them; the
    sum of squares of the weighted histogram across the axis is largest there.
    """
    base = np.arctan2(axis[1], axis[0])
    best, best_score = axis, -1.0
    r = blob.rows - blob.rows.mean()
    c = blob.cols - blob.cols.mean()
    for delta in np.radians(np.arange(-4.0, 4.01, 0.1)):
        a = np.array([np.cos(base + delta), np.sin(base + delta)])
        across = -r * a[1] + c * a[0]
        bins = np.floor(across - across.min()).astype("int64")
        hist = np.bincount(bins, weights=weight)
        score = float(np.square(hist).sum())
        if score > best_score:
            best, best_score = a, score
    if best[1] < -1e-9 or (abs(best[1]) <= 1e-9 and best[0] < 0):
        best = -best
    return best


def _parallel(a: LineString, b: LineString) -> bool:
    (ax0, ay0), (ax1, ay1) = a.coords[0], a.coords[-1]
    (bx0, by0), (bx1, by1) = b.coords[0], b.coords[-1]
    va, vb = np.array([ax1 - ax0, ay1 - ay0]), np.array([bx1 - bx0, by1 - by0])
    na, nb = np.linalg.norm(va), np.linalg.norm(vb)
    return bool(na > 0 and nb > 0 and abs(va @ vb) / (na * nb) > 0.97)


def _mark(used: np.ndarray, ctx: Context, line: LineString) -> None:
    from rasterio.features import rasterize

    poly = line.buffer(3.5, cap_style="flat")
    minx, miny, maxx, maxy = poly.bounds
    inv = ~ctx.transform
    c0, r0 = inv * (minx, maxy)
    c1, r1 = inv * (maxx, miny)
    h, w = used.shape
    r0, c0 = max(0, int(np.floor(r0))), max(0, int(np.floor(c0)))
    r1, c1 = min(h, int(np.ceil(r1)) + 1), min(w, int(np.ceil(c1)) + 1)
    if r1 <= r0 or c1 <= c0:
        return
    from affine import Affine

    tr = ctx.transform * Affine.translation(c0, r0)
    mask = rasterize([poly], out_shape=(r1 - r0, c1 - c0), transform=tr, dtype="uint8") > 0
    used[r0:r1, c0:c1] |= mask


def frame(ctx: Context, blob: Blob, extend_m: float, side_m: float) -> Frame:
    """Sample the images on a grid along the blob's axis, extended beyond its ends and sides."""
    ext, side = extend_m / ctx.gsd, side_m / ctx.gsd
    return frame_at(
        ctx,
        blob.centre,
        blob.axis,
        (float(np.floor(blob.u.min() - ext)), float(np.ceil(blob.u.max() + ext))),
        (float(np.floor(blob.v.min() - side)), float(np.ceil(blob.v.max() + side))),
    )


def frame_at(
    ctx: Context,
    origin: np.ndarray,
    axis: np.ndarray,
    u_range: tuple[float, float],
    v_range: tuple[float, float],
) -> Frame:
    """Sample change, magnitude, scene and baseline on a grid along ``axis`` from ``origin``."""
    u0, u1 = u_range
    v0, v1 = v_range
    uu, vv = np.meshgrid(np.arange(u0, u1 + 1), np.arange(v0, v1 + 1))
    normal = np.array([-axis[1], axis[0]])
    rows = origin[0] + uu * axis[0] + vv * normal[0]
    cols = origin[1] + uu * axis[1] + vv * normal[1]
    h, w = ctx.changed.shape
    inside = (rows >= 0) & (rows <= h - 1) & (cols >= 0) & (cols <= w - 1)
    # Sample a window only (map_coordinates reads the whole array otherwise).
    r_lo = min(h - 1, max(0, int(np.floor(rows.min())) - 1))
    r_hi = max(r_lo + 1, min(h, int(np.ceil(rows.max())) + 2))
    c_lo = min(w - 1, max(0, int(np.floor(cols.min())) - 1))
    c_hi = max(c_lo + 1, min(w, int(np.ceil(cols.max())) + 2))
    win = (slice(r_lo, r_hi), slice(c_lo, c_hi))
    coords = np.stack([rows - r_lo, cols - c_lo])

    def sample(a: np.ndarray, order: int) -> np.ndarray:
        return ndimage.map_coordinates(a, coords, order=order, mode="nearest")  # type: ignore[no-any-return]

    changed = sample(ctx.changed[win].astype("float32"), 0)
    magnitude = sample(ctx.magnitude[win], 1)
    scene = np.stack([sample(b, 1) for b in ctx.scene_window(win)])
    baseline = np.stack([sample(b, 1) for b in ctx.baseline_window(win)])
    valid = inside & (sample(ctx.usable[win].astype("float32"), 0) > 0.5)
    changed[~valid] = 0.0
    magnitude[~valid] = 0.0
    return Frame(
        origin=np.asarray(origin, dtype="float64"),
        axis=np.asarray(axis, dtype="float64"),
        normal=normal,
        u0=u0,
        v0=v0,
        changed=changed,
        magnitude=magnitude,
        scene=scene,
        baseline=baseline,
        valid=valid,
    )


def _lane_frame(ctx: Context, f: Frame, v: int) -> tuple[Frame, int] | None:
    """A frame centred on the lane at row ``v`` of ``f``, its axis fitted to the lane's change.

    The centre of the strong change across the lane is found in 8 m chunks along it and a line
    fitted through them (twice, dropping chunks off by more than 0.7 m): a lane a fraction of a
    degree off its track would otherwise drift onto the next track over a long train.
    """
    gsd = ctx.gsd
    reach = max(2, int(round(2.0 / gsd)))
    chunk = max(4, int(round(8.0 / gsd)))
    strong = (f.magnitude >= ctx.high).astype("float64")
    us, vs, ws = [], [], []
    rows = np.arange(max(0, v - reach), min(f.changed.shape[0], v + reach + 1))
    for start in range(0, f.changed.shape[1] - chunk + 1, chunk):
        block = strong[rows, start : start + chunk]
        weight = float(block.sum())
        if weight < 0.4 * chunk * (1.6 / gsd):
            continue
        us.append(start + chunk / 2.0)
        vs.append(float((block.sum(axis=1) * rows).sum() / weight))
        ws.append(weight)
    if len(us) < 2:
        slope, offset = 0.0, float(v)
    else:
        u_arr, v_arr, w_arr = np.array(us), np.array(vs), np.array(ws)
        keep = np.ones(u_arr.size, dtype=bool)
        slope, offset = 0.0, float(np.median(v_arr))
        for _ in range(2):
            if keep.sum() >= 2 and np.ptp(u_arr[keep]) > 0:
                slope, offset = np.polyfit(u_arr[keep], v_arr[keep], 1, w=w_arr[keep])
            keep = np.abs(v_arr - (offset + slope * u_arr)) <= max(0.7 / gsd, 1.0)
    if abs(slope) > np.tan(np.radians(4.0)):
        return None
    angle = np.arctan(slope)
    ca, sa = np.cos(angle), np.sin(angle)
    axis = f.axis * ca + f.normal * sa
    # The new frame starts where the fitted line meets the first column of the old one.
    origin = np.array(f.pixel(0.0, offset))
    length = f.changed.shape[1] / ca
    side = max(4, int(round(6.0 / gsd)))
    lane = frame_at(ctx, origin, axis, (0.0, float(np.ceil(length))), (-side, side))
    return lane, side


def _trains_in_frame(ctx: Context, blob: Blob) -> list[tuple[Detection, LineString]]:
    gsd = ctx.gsd
    f = frame(ctx, blob, EXTEND_M, SIDE_M)
    cross = (f.magnitude * f.changed).sum(axis=1)
    cross = ndimage.gaussian_filter1d(cross, max(0.5, 0.5 / gsd))
    if cross.max() <= 0:
        return []
    peaks, _ = find_peaks(
        cross, distance=max(2, int(LANE_SPACING_M / gsd)), prominence=0.15 * cross.max()
    )
    out = []
    for v in peaks:
        width = _fwhm(cross, int(v)) * gsd
        if not (WIDTH[0] <= width <= WIDTH[1]):
            continue
        lane = _lane_frame(ctx, f, int(v))
        if lane is None:
            continue
        out.extend(_runs(ctx, *lane))
    return out


def _fwhm(profile: np.ndarray, i: int) -> float:
    """Width at half maximum of the peak at ``i``, pixels; a valley under 70 % of the peak ends it.

    A plateau with bumps (a large patch) stays wide; two lanes side by side with a clear valley
    between them are measured one by one.
    """
    peak = profile[i]
    half = peak / 2.0

    def walk(step: int) -> float:
        j = i
        while 0 <= j + step < profile.size:
            nxt = profile[j + step]
            if nxt <= half:
                return j + step * (profile[j] - half) / max(profile[j] - nxt, 1e-9)
            if nxt > profile[j] and profile[j] < 0.7 * peak:
                return float(j)
            j += step
        return float(j)

    return walk(1) - walk(-1)


def _runs(ctx: Context, f: Frame, v: int) -> list[tuple[Detection, LineString]]:
    gsd = ctx.gsd
    core = max(1, int(round(0.8 / gsd)))
    core_rows = slice(max(0, v - core), v + core + 1)
    # Strong change on the lane's core only: the weak rim of a neighbour's change stays out.
    occupancy = (f.magnitude[core_rows] >= ctx.high).mean(axis=0)
    profile = f.scene[:, core_rows].mean(axis=1)  # (3, U)
    valid = np.asarray(f.valid[core_rows].all(axis=0), dtype=bool)
    on = occupancy >= 0.5
    join = max(1, int(round(JOIN_M / gsd)))
    on = ndimage.binary_closing(np.pad(on, join), structure=np.ones(join))[join:-join]
    bridged = _bridge(on, _lane_difference(ctx, f, v), gsd, ctx.low)
    filled = bridged & ~on
    on = bridged
    labels, n = ndimage.label(on)
    out = []
    for k in range(1, n + 1):
        idx = np.flatnonzero(labels == k)
        a, b = int(idx[0]), int(idx[-1])
        # The object's own contrast sets the bar: compression and blur spill a neighbour's
        # colour into a bare lane, weakly next to what a vehicle on it changes.
        core_mag = f.magnitude[core_rows, a : b + 1]
        strong = np.median(core_mag[:, occupancy[a : b + 1] >= 0.5])
        solid = (core_mag >= max(ctx.high, 0.2 * strong)).mean(axis=0) >= 0.5
        if not solid.any():
            continue
        a, b = a + int(np.argmax(solid)), a + int(solid.size - 1 - np.argmax(solid[::-1]))
        if (b - a + 1) * gsd < min_run(gsd):
            continue
        # Width of the change along this run only (other trains on the lane's frame are elsewhere).
        cross = (f.magnitude[:, a : b + 1] * f.changed[:, a : b + 1]).sum(axis=1)
        width = _fwhm(ndimage.gaussian_filter1d(cross, max(0.5, 0.5 / gsd)), v) * gsd
        if not (WIDTH[0] <= width <= WIDTH[1]):
            continue
        trimmed = _present(ctx, profile, valid, occupancy, filled, a, b)
        if trimmed is None:
            continue
        a, b = trimmed
        out.append(_detection(ctx, f, v, a, b, profile, width))
    return out


def _lane_difference(ctx: Context, f: Frame, v: int) -> tuple[np.ndarray, np.ndarray]:
    """Along the lane: the scene's cross-section against the baseline's, and the baseline's own.

    Per position: how far the scene's cross-section is from the baseline's there, and how far the
    baseline's is from its bare lane (its median cross-section along the lane), row by row over
    the width of a vehicle, shifted by up to a pixel across. A wagon of the ballast's own grey
    hides from the pixel-wise change (the best neighbour within a pixel is often a rail or a mix
    of rail and ballast) but not from this: it covers the rails.
    """
    gsd = ctx.gsd
    half = max(1, int(round(1.2 / gsd)))
    rows = np.arange(v - half - 1, v + half + 2)
    rows = rows[(rows >= 0) & (rows < f.scene.shape[1])]
    inner = slice(1, rows.size - 1)
    base = f.baseline[:, rows]  # (3, R, U)
    scene = f.scene[:, rows][:, inner]
    ref = np.median(base, axis=2)[:, :, None]
    d_scene = d_base = None
    for s in (-1, 0, 1):
        shifted = np.roll(base, s, axis=1)[:, inner]
        d = np.sqrt(np.square(scene - shifted).sum(axis=0)).mean(axis=0)
        d_scene = d if d_scene is None else np.minimum(d_scene, d)
        shifted_ref = np.roll(ref, s, axis=1)[:, inner]
        e = np.sqrt(np.square(base[:, inner] - shifted_ref).sum(axis=0)).mean(axis=0)
        d_base = e if d_base is None else np.minimum(d_base, e)
    assert d_scene is not None and d_base is not None
    ok = f.valid[rows].all(axis=0)
    k = max(1, int(round(4.0 / gsd)))  # thin rails sampled at an angle flicker with the phase
    return (
        ndimage.uniform_filter1d(np.where(ok, d_scene, 0.0), k),
        ndimage.uniform_filter1d(np.where(ok, d_base, 0.0), k),
    )


def _bridge(
    on: np.ndarray, lane: tuple[np.ndarray, np.ndarray], gsd: float, low: float
) -> np.ndarray:
    """``on`` with gaps of up to 50 m closed where low-contrast vehicles cover the lane.

    Between two stretches of strong change, a stretch where the scene's lane differs from the
    baseline's all along, while the baseline there is bare lane (not a train that left), is a
    vehicle of the same train. The bars: what the lane beyond the stretches shows (median) plus
    the larger of 2.5 robust sigmas, a fifth of it and the change threshold.
    """
    labels, n = ndimage.label(on)
    if n < 2:
        return on
    lane_d, base_d = lane
    bare = ~ndimage.binary_dilation(on, iterations=max(1, int(round(5.0 / gsd))))
    bare &= lane_d > 0
    if bare.sum() < 8:
        return on

    def bar(values: np.ndarray) -> float:
        med = float(np.median(values))
        sigma = 1.4826 * float(np.median(np.abs(values - med)))
        return med + max(2.5 * sigma, 0.2 * med, low)

    bar_scene, bar_base = bar(lane_d[bare]), bar(base_d[bare])
    out = on.copy()
    longest = int(round(BRIDGE_M / gsd))
    edge = int(round(2.0 / gsd))
    for k in range(1, n):
        end = int(np.flatnonzero(labels == k)[-1])
        start = int(np.flatnonzero(labels == k + 1)[0])
        if start - end - 1 > longest:
            continue
        # The couplings at the gap's ends show bare lane for a metre or so: judged inside them.
        inside = slice(end + 1 + edge, start - edge)
        gap, gap_base = lane_d[inside], base_d[inside]
        if gap.size and (gap > bar_scene).mean() >= 0.9 and (gap_base <= bar_base).mean() >= 0.9:
            out[end + 1 : start] = True
    return out


def _present(
    ctx: Context,
    profile: np.ndarray,
    valid: np.ndarray,
    occupancy: np.ndarray,
    filled: np.ndarray,
    a: int,
    b: int,
) -> tuple[int, int] | None:
    """The stretch of [a, b] where the *scene* holds an object, not only the baseline.

    The scene's colour along the lane is compared with the scene's bare lane just beyond the run's
    ends; the bar is set by how much the bare lane itself varies there (texture, a lane a little
    off its track). Where only the baseline held a vehicle the scene shows bare lane: left out.
    Stretches closer than 16 m join, and so do those bridged by a covered lane (``filled``); the
    longest joined stretch is kept.
    """
    gsd = ctx.gsd
    near, far = int(round(2.0 / gsd)), int(round(25.0 / gsd))
    u = np.arange(profile.shape[1])
    beyond = (((u >= a - far) & (u <= a - near)) | ((u >= b + near) & (u <= b + far))) & valid
    beyond &= occupancy < 0.1
    if beyond.sum() < 4:
        return a, b
    k = max(1, int(round(2.0 / gsd)))
    d_scene = ndimage.uniform_filter1d(_distance(profile, np.median(profile[:, beyond], axis=1)), k)
    # The bar: how much the bare lane varies, but never above half the run's own contrast (a
    # train of pale wagons under haze still stands out from its lane by that much).
    spread = 1.5 * float(np.percentile(d_scene[beyond], 95))
    bar = max(ctx.low, 8.0, min(spread, 0.5 * float(np.median(d_scene[a : b + 1]))))
    differs = (d_scene > bar) | filled
    differs[:a] = False
    differs[b + 1 :] = False
    gap = max(1, int(round(JOIN_M / gsd)))
    differs = ndimage.binary_opening(differs, structure=np.ones(max(1, int(round(3.0 / gsd)))))
    differs = ndimage.binary_closing(np.pad(differs, gap), structure=np.ones(gap))[gap:-gap]
    labels, n = ndimage.label(differs)
    if n == 0:
        return None
    sizes = np.bincount(labels)[1:]
    k = int(np.argmax(sizes)) + 1
    idx = np.flatnonzero(labels == k)
    if (idx[-1] - idx[0] + 1) * gsd < min_run(gsd):
        return None
    return int(idx[0]), int(idx[-1])


def _distance(profile: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.sqrt(np.square(profile - ref[:, None]).sum(axis=0))  # type: ignore[no-any-return]


def gaps(profile: np.ndarray, a: int, b: int, gsd: float) -> np.ndarray:
    """Positions of the boundaries between vehicles in [a, b]: peaks of the colour gradient.

    A gap between two cars (about 1 m) or a change of colour from one car to the next makes the
    profile along the lane change quickly; peaks closer than 7 m keep the stronger one, and weak
    peaks (under 2.5 times the median gradient) are noise.
    """
    k = max(1, int(round(0.5 / gsd)))
    p = profile[:, a : b + 1]
    if p.shape[1] < 8 * k:
        return np.array([], dtype=int)
    padded = np.pad(p, ((0, 0), (k, k)), mode="edge")
    grad = np.sqrt(np.square(padded[:, 2 * k :] - padded[:, : -2 * k]).sum(axis=0))
    grad = ndimage.gaussian_filter1d(grad, max(0.7, 0.5 / gsd))
    margin = int(round(4.0 / gsd))
    floor = 2.5 * float(np.median(grad)) + 2.0
    peaks, _ = find_peaks(
        grad, distance=max(2, int(round(7.0 / gsd))), height=floor, prominence=0.5 * floor
    )
    peaks = peaks[(peaks >= margin) & (peaks <= grad.size - 1 - margin)]
    return peaks + a  # type: ignore[no-any-return]


def _detection(
    ctx: Context, f: Frame, v: int, a: int, b: int, profile: np.ndarray, width: float
) -> tuple[Detection, LineString]:
    gsd = ctx.gsd
    r0, c0 = f.pixel(a - 0.5, v)
    r1, c1 = f.pixel(b + 0.5, v)
    p0 = ctx.transform * (c0 + 0.5, r0 + 0.5)
    p1 = ctx.transform * (c1 + 0.5, r1 + 0.5)
    line = LineString([p0, p1])
    length = float(line.length)
    if ctx.fine:
        cuts = gaps(profile, a, b, gsd)
        edges = np.concatenate([[a - 0.5], cuts.astype(float), [b + 0.5]])
        lengths = np.diff(edges) * gsd
        wagons, approx, loco = count_wagons(lengths)
    else:
        wagons = max(1, int(round((length + 1.0) / 16.0)))
        approx, loco = True, False
    vehicles = wagons + (1 if loco else 0)
    if approx:
        how = (
            "wagon separations not all resolved, count estimated from length"
            if ctx.fine
            else f"wagons not resolved at {gsd:.1f} m per pixel, count estimated from length"
        )
    else:
        how = "wagon separations resolved"
    loco_words = (
        "; a longer vehicle at one end taken as the locomotive, not counted"
        if loco
        else ("; no locomotive told apart" if not approx else "")
    )
    confidence = 0.6 + (0.15 if not approx else 0.0) + (0.1 if ctx.fine else 0.0)
    det = Detection(
        kind="train",
        geometry=line,
        length_m=round(length, 1),
        count=wagons,
        count_approx=approx,
        area_m2=None,
        confidence=round(min(confidence, 0.95), 2),
        description=(
            f"Automated: {'about ' if approx else ''}{vehicles} rail vehicles in a {length:.0f} m "
            f"run {width:.1f} m wide along a straight lane, new since the baseline; {how}"
            f"{loco_words}."
        ),
    )
    return det, line


def count_wagons(lengths: np.ndarray) -> tuple[int, bool, bool]:
    """(wagons, approximate, locomotive found) from the lengths of the vehicles of a run, in order.

    The typical wagon is the median vehicle of 10–25 m (15 m when none). A piece much shorter than
    that is a boundary found inside a car: it joins its shorter neighbour. A vehicle as long as
    several wagons counts as several (approximate). A vehicle at either end at least 25 % longer
    than the typical wagon, and no longer than 26 m, is taken as the locomotive.
    """
    typical_pieces = lengths[(lengths >= WAGON[0]) & (lengths <= WAGON[1])]
    typical = float(np.median(typical_pieces)) if typical_pieces.size else 15.0
    pieces = [float(x) for x in lengths]
    merged = False
    while len(pieces) > 1:
        i = int(np.argmin(pieces))
        if pieces[i] >= 0.6 * typical:
            break
        if i == 0:
            j = 1
        elif i == len(pieces) - 1:
            j = i - 1
        else:
            j = i - 1 if pieces[i - 1] <= pieces[i + 1] else i + 1
        pieces[min(i, j)] = pieces[i] + pieces[j]
        del pieces[max(i, j)]
        merged = True
    arr = np.array(pieces)
    counts = np.maximum(1, np.round((arr + 1.0) / (typical + 1.0))).astype(int)
    approx = bool((counts > 1).any() or merged or typical_pieces.size == 0)
    loco = False
    if arr.size >= 3:
        for end in (0, arr.size - 1):
            if 1.25 * typical <= arr[end] <= 26.0:
                counts[end] = 0
                loco = True
                break
    return max(1, int(counts.sum())), approx, loco
