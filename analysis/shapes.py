"""Shapes of pixel regions: principal axis, length, width profile, footprint polygon."""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from affine import Affine
from rasterio import features
from shapely.geometry import LineString, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union


@dataclass
class Blob:
    """A region given by its pixel rows and columns (of the whole image), measured along its axis."""

    rows: np.ndarray
    cols: np.ndarray
    gsd: float

    @cached_property
    def centre(self) -> np.ndarray:
        """(row, col) of the centroid."""
        return np.array([self.rows.mean(), self.cols.mean()])

    @cached_property
    def axis(self) -> np.ndarray:
        """Unit (drow, dcol) of the principal axis."""
        if self.rows.size < 3:
            return np.array([0.0, 1.0])
        coords = np.stack([self.rows, self.cols]).astype("float64")
        cov = np.cov(coords)
        vals, vecs = np.linalg.eigh(cov)
        a = vecs[:, int(np.argmax(vals))]
        # One orientation for the same line, whatever the order of pixels: dcol > 0 (or drow > 0).
        if a[1] < -1e-9 or (abs(a[1]) <= 1e-9 and a[0] < 0):
            a = -a
        return a  # type: ignore[no-any-return]

    @cached_property
    def u(self) -> np.ndarray:
        """Along-axis coordinate of each pixel, in pixels from the centroid."""
        return (self.rows - self.centre[0]) * self.axis[0] + (
            self.cols - self.centre[1]
        ) * self.axis[1]  # type: ignore[no-any-return]

    @cached_property
    def v(self) -> np.ndarray:
        """Across-axis coordinate of each pixel, in pixels from the centroid."""
        return (
            -(self.rows - self.centre[0]) * self.axis[1]
            + (self.cols - self.centre[1]) * self.axis[0]
        )  # type: ignore[no-any-return]

    @property
    def area_px(self) -> int:
        """Number of pixels."""
        return int(self.rows.size)

    @property
    def area_m2(self) -> float:
        """Area in square metres."""
        return self.area_px * self.gsd**2

    @cached_property
    def length_px(self) -> float:
        """Extent along the axis, pixels (pixel centres to pixel edges)."""
        return float(self.u.max() - self.u.min() + 1.0)

    @cached_property
    def widths_px(self) -> np.ndarray:
        """Width in pixels of each 1-pixel slice along the axis."""
        bins = np.floor(self.u - self.u.min()).astype("int64")
        return np.bincount(bins).astype("float64")

    @cached_property
    def width_px(self) -> float:
        """Median width over the middle of the region, pixels."""
        w = self.widths_px
        n = w.size
        mid = w[n // 5 : n - n // 5] if n >= 5 else w
        return float(np.median(mid))

    @property
    def length_m(self) -> float:
        """Length in metres."""
        return self.length_px * self.gsd

    @property
    def width_m(self) -> float:
        """Median width in metres."""
        return self.width_px * self.gsd

    def end_widths(self, share: float = 0.1) -> tuple[float, float]:
        """Mean width over the first and last ``share`` of the length, as a fraction of the middle."""
        w = self.widths_px
        k = max(1, int(round(w.size * share)))
        mid = max(
            float(np.median(w[w.size // 5 : w.size - w.size // 5] if w.size >= 5 else w)), 1.0
        )
        return float(w[:k].mean() / mid), float(w[-k:].mean() / mid)

    def axis_points(
        self, transform: Affine, pad_px: float = 0.5
    ) -> tuple[tuple[float, float], tuple[float, float]]:
        """The two ends of the axis in map coordinates, ``pad_px`` beyond the outermost pixel centres."""
        r0, c0 = self.centre + self.axis * (self.u.min() - pad_px)
        r1, c1 = self.centre + self.axis * (self.u.max() + pad_px)
        return transform * (c0 + 0.5, r0 + 0.5), transform * (c1 + 0.5, r1 + 0.5)

    def axis_line(self, transform: Affine) -> LineString:
        """The axis as a map LineString from end to end."""
        return LineString(self.axis_points(transform))


def footprint(mask: np.ndarray, transform: Affine, simplify: float) -> BaseGeometry:
    """The polygon(s) covering ``mask`` (bool, the window of ``transform``), simplified."""
    polys = [
        shape(geom)
        for geom, value in features.shapes(mask.astype("uint8"), mask=mask, transform=transform)
        if value
    ]
    if not polys:
        return Polygon()
    geom = unary_union(polys)
    return geom.simplify(simplify, preserve_topology=True)
