"""Trains: rail vehicles as pieces of the scene bounded by its colour edges, chained along an axis.

Seeds are pieces of changed pixels split at the scene's edges; a seed counts only when the scene has
an edge at both of its ends (a vehicle that left the baseline shows bare track there, with no end).
Chains grow through unchanged pieces of vehicle shape too, so a train standing where a baseline train
stood is found in full as long as part of it is new. Wagons are the pieces of a chain.
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import LineString

from analysis.context import Context
from analysis.models import Detection
from analysis.shapes import Blob

# Rail vehicles (metres): width 2.8–3.6 (measured: 2.2–4.4), wagons 10–25 long.
WIDTH = (2.2, 4.4)
MIN_PIECE = 4.0
MAX_UNCHANGED_PIECE = 30.0
WAGON = (10.0, 25.0)
GAP = (-1.5, 3.5)
LATERAL = 1.2
COS_ANGLE = float(np.cos(np.radians(12)))
ROI_PAD_M = 30.0


@dataclass
class Piece:
    """One vehicle-shaped piece of the scene, in map metres."""

    blob: Blob
    seed: bool
    centre: np.ndarray  # (x, y)
    unit: np.ndarray  # (ux, uy)
    length: float
    width: float


def find_trains(ctx: Context) -> tuple[list[Detection], np.ndarray]:
    """Trains on the scene, and the mask of the pixels they take (left out of later stages)."""
    used = np.zeros(ctx.changed.shape, dtype=bool)
    if not ctx.fine:
        return [], used
    pieces: list[Piece] = []
    for win in _rois(ctx):
        pieces.extend(_pieces(ctx, win))
    detections = []
    for chain in _chains(pieces):
        det = _train(ctx, chain)
        if det is None:
            continue
        detections.append(det)
        for p in chain:
            used[p.blob.rows, p.blob.cols] = True
    if used.any():
        used = ndimage.binary_dilation(used, iterations=2)
    return detections, used


def _rois(ctx: Context) -> list[tuple[slice, slice]]:
    """Windows around changed regions, padded and merged where they overlap."""
    labels, n = ndimage.label(ctx.changed, structure=np.ones((3, 3), bool))
    if n == 0:
        return []
    pad = int(round(ROI_PAD_M / ctx.gsd))
    h, w = ctx.changed.shape
    min_px = MIN_PIECE * WIDTH[0] / ctx.gsd**2
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    boxes = [
        [
            max(0, s[0].start - pad),
            min(h, s[0].stop + pad),
            max(0, s[1].start - pad),
            min(w, s[1].stop + pad),
        ]
        for i, s in enumerate(ndimage.find_objects(labels), start=1)
        if s is not None and sizes[i] >= min_px
    ]
    merged = True
    while merged:
        merged = False
        out: list[list[int]] = []
        for b in boxes:
            for o in out:
                if b[0] < o[1] and o[0] < b[1] and b[2] < o[3] and o[2] < b[3]:
                    o[0], o[1] = min(o[0], b[0]), max(o[1], b[1])
                    o[2], o[3] = min(o[2], b[2]), max(o[3], b[3])
                    merged = True
                    break
            else:
                out.append(list(b))
        boxes = out
    return [(slice(b[0], b[1]), slice(b[2], b[3])) for b in boxes]


def edges(ctx: Context, win: tuple[slice, slice]) -> np.ndarray:
    """Colour edges of the scene over ``win`` (Canny on each band, joined)."""
    from skimage.feature import canny

    scene = ctx.scene_window(win)
    low, high = ctx.edge_step
    # A step of height h gives a Sobel peak of about 3.2 h after a Gaussian of sigma 1.
    e = np.zeros(scene.shape[1:], dtype=bool)
    for band in scene:
        e |= canny(band, sigma=1.0, low_threshold=3.2 * low, high_threshold=3.2 * high)
    return e


def _pieces(ctx: Context, win: tuple[slice, slice]) -> list[Piece]:
    e = edges(ctx, win)
    changed = ctx.changed[win]
    usable = ctx.usable[win]
    near_edge = ndimage.binary_dilation(e | ~usable, iterations=1)
    four = ndimage.generate_binary_structure(2, 1)
    out: list[Piece] = []
    seed_mask = np.zeros(changed.shape, dtype=bool)
    labels, n = ndimage.label(changed & ~e & usable, structure=four)
    for blob in _blobs(labels, n, win, ctx.gsd, max_len=None):
        piece = _piece(ctx, blob, seed=True)
        if piece is None or not _ends_supported(blob, near_edge, win):
            continue
        out.append(piece)
        seed_mask[blob.rows - win[0].start, blob.cols - win[1].start] = True
    labels, n = ndimage.label(~e & usable, structure=four)
    for blob in _blobs(labels, n, win, ctx.gsd, max_len=MAX_UNCHANGED_PIECE):
        local = (blob.rows - win[0].start, blob.cols - win[1].start)
        if changed[local].mean() >= 0.5 or seed_mask[local].mean() > 0.3:
            continue
        piece = _piece(ctx, blob, seed=False)
        if piece is not None:
            out.append(piece)
    return out


def _blobs(
    labels: np.ndarray, n: int, win: tuple[slice, slice], gsd: float, max_len: float | None
) -> list[Blob]:
    if n == 0:
        return []
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    lo = MIN_PIECE * WIDTH[0] / gsd**2
    hi = np.inf if max_len is None else max_len * WIDTH[1] / gsd**2
    wanted = np.flatnonzero((sizes >= lo) & (sizes <= hi))
    wanted = wanted[wanted > 0]
    blobs = []
    slices = ndimage.find_objects(labels)
    for i in wanted:
        sl = slices[i - 1]
        if sl is None:
            continue
        h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        if max_len is not None and np.hypot(h, w) * gsd > max_len * 1.2 + 6:
            continue
        rr, cc = np.nonzero(labels[sl] == i)
        blobs.append(Blob(rr + sl[0].start + win[0].start, cc + sl[1].start + win[1].start, gsd))
    return blobs


def _piece(ctx: Context, blob: Blob, *, seed: bool) -> Piece | None:
    """A Piece when the blob has a rail vehicle's width and a straight, even outline."""
    gsd = ctx.gsd
    length = (blob.length_px + 1.0) * gsd
    width = (blob.width_px + 1.0) * gsd
    if not (WIDTH[0] <= width <= WIDTH[1] and length >= MIN_PIECE and length >= 1.6 * width):
        return None
    widths = blob.widths_px
    if np.percentile(widths, 90) > 1.5 * blob.width_px + 1 or abs(np.median(blob.v)) > 1.0:
        return None
    col, row = blob.centre[1], blob.centre[0]
    x, y = ctx.transform * (col + 0.5, row + 0.5)
    unit = np.array([blob.axis[1], -blob.axis[0]])
    return Piece(blob, seed, np.array([x, y]), unit, length, width)


def _ends_supported(blob: Blob, near_edge: np.ndarray, win: tuple[slice, slice]) -> bool:
    """True when the scene has an edge at both ends of the blob (it is an object of the scene)."""
    r = blob.rows - win[0].start
    c = blob.cols - win[1].start
    h, w = near_edge.shape
    grid = np.zeros((h, w), dtype=bool)
    grid[r, c] = True
    interior = ndimage.binary_erosion(grid, structure=ndimage.generate_binary_structure(2, 1))
    boundary = grid & ~interior
    on_boundary = boundary[r, c]
    u = blob.u[on_boundary]
    support = near_edge[r[on_boundary], c[on_boundary]]
    band = 1.5
    for end in (u <= u.min() + band, u >= u.max() - band):
        if end.sum() == 0 or support[end].mean() < 0.5:
            return False
    return True


def _chains(pieces: list[Piece]) -> list[list[Piece]]:
    """Pieces linked end to end along a common axis; only chains holding a changed piece."""
    n = len(pieces)
    if n == 0:
        return []
    c = np.array([p.centre for p in pieces])
    u = np.array([p.unit for p in pieces])
    length = np.array([p.length for p in pieces])
    d = c[None, :, :] - c[:, None, :]  # d[i, j] = c_j - c_i
    along = np.abs((d * u[:, None, :]).sum(-1))
    lateral_i = np.abs(d[..., 0] * u[:, None, 1] - d[..., 1] * u[:, None, 0])
    lateral_j = np.abs(d[..., 0] * u[None, :, 1] - d[..., 1] * u[None, :, 0])
    cos = np.abs(u @ u.T)
    gap = along - (length[:, None] + length[None, :]) / 2
    link = (
        (cos >= COS_ANGLE)
        & (lateral_i <= LATERAL)
        & (lateral_j <= LATERAL)
        & (gap >= GAP[0])
        & (gap <= GAP[1])
    )
    np.fill_diagonal(link, False)
    ii, jj = np.nonzero(link)
    graph = coo_matrix((np.ones(ii.size), (ii, jj)), shape=(n, n))
    ncomp, comp = connected_components(graph, directed=False)
    chains = []
    for k in range(ncomp):
        members = [pieces[i] for i in np.flatnonzero(comp == k)]
        if not any(p.seed for p in members):
            continue
        direction = members[0].unit
        members.sort(key=lambda p: float(p.centre @ direction))
        chains.append(members)
    return chains


def _train(ctx: Context, chain: list[Piece]) -> Detection | None:
    lengths = np.array([p.length for p in chain])
    if lengths.max() < 9.0 or lengths.sum() < 10.0:
        return None
    direction = chain[-1].centre - chain[0].centre
    if np.hypot(*direction) < 1e-6:
        direction = chain[0].unit
    coords = []
    for p in chain:
        unit = p.unit if p.unit @ direction >= 0 else -p.unit
        coords.append(tuple(p.centre - unit * p.length / 2))
        coords.append(tuple(p.centre + unit * p.length / 2))
    line = LineString(coords).simplify(ctx.gsd)
    total = float(line.length)
    wagons, approx, loco = count_wagons(lengths)
    new = sum(p.seed for p in chain)
    vehicles = wagons + (1 if loco else 0)
    how = (
        "wagon separations resolved"
        if not approx
        else "some separations not resolved, count estimated from length"
    )
    loco_words = (
        "; a longer vehicle at one end taken as the locomotive, not counted" if loco else ""
    )
    kept = (
        f"; {len(chain) - new} of {len(chain)} pieces unchanged since the baseline"
        if new < len(chain)
        else ""
    )
    confidence = 0.55 + 0.25 * (new / len(chain)) + (0.1 if not approx else 0.0)
    return Detection(
        kind="train",
        geometry=line,
        length_m=round(total, 1),
        count=wagons,
        count_approx=approx,
        area_m2=None,
        confidence=round(min(confidence, 0.95), 2),
        description=(
            f"Automated: {vehicles} rail vehicles in a {total:.0f} m run along an axis, "
            f"new since the baseline{kept}; {how}{loco_words}."
        ),
    )


def count_wagons(lengths: np.ndarray) -> tuple[int, bool, bool]:
    """(wagons, approximate, locomotive found) from the lengths of the pieces of a chain, in order.

    The typical wagon is the median piece of 10–25 m (15 m when none); a piece as long as several
    wagons counts as several (approximate); a piece at either end at least 25 % longer than the
    typical wagon, and no longer than 26 m, is taken as the locomotive.
    """
    typical_pieces = lengths[(lengths >= WAGON[0]) & (lengths <= WAGON[1])]
    typical = float(np.median(typical_pieces)) if typical_pieces.size else 15.0
    counts = np.maximum(1, np.round((lengths + 1.0) / (typical + 1.0))).astype(int)
    # Pieces much shorter than a wagon are parts of one (an inner edge), not vehicles.
    short = lengths < 0.45 * typical
    counts[short] = 0
    approx = bool((counts > 1).any() or short.any())
    loco = False
    if lengths.size >= 3:
        for end in (0, lengths.size - 1):
            if counts[end] == 1 and 1.25 * typical <= lengths[end] <= 26.0:
                counts[end] = 0
                loco = True
                break
    wagons = int(counts.sum())
    if wagons == 0:
        wagons, approx = max(1, int(round(lengths.sum() / (typical + 1.0)))), True
    return wagons, approx, loco
