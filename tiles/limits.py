"""What a tile request may ask for: bounds checked before GDAL, PROJ or numpy fail deep inside.

TiTiler passes its parameters straight to rio-tiler; out-of-range values (a zoom of -1, a nodata of -1
on uint8 data, a 10^20-pixel tile, NaN coordinates, a malformed colormap) surface there as
OverflowError, TypeError or MemoryError, i.e. as 500s. Each check here names the parameter instead.
"""

import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import morecantile
import numpy as np
from fastapi import Request
from rasterio.crs import CRS
from rio_tiler.errors import TileOutsideBounds
from titiler.core.dependencies import ColorMapParams, PartFeatureParams

from tiles.datasets import TILE_MATRIX_SETS
from tiles.errors import BadRequestParameter

# Buffer and padding add a few pixels around a tile; beyond this they are a way to ask for a huge one.
MAX_EDGE_PX = 256
MAX_HISTOGRAM_BINS = 10_000
# No CRS reaches this far (in metres, feet or degrees); rio-tiler's window arithmetic overflows to
# infinity on coordinates like 1e300 (a 500).
MAX_COORDINATE = 1e9


def _pixel_count(name: str, text: str, max_px: int) -> None:
    try:
        value = int(text)
    except ValueError:
        return  # FastAPI's own validation names a non-integer
    if not 1 <= value <= max_px:
        raise BadRequestParameter(f"{name}: must be between 1 and {max_px} pixels")


def _floats(text: str) -> list[float] | None:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        return None


def _histogram(bins: str | None, value_range: str | None) -> None:
    """numpy.histogram raises ValueError (a 500) on a reversed range or unsorted edges."""
    if bins is not None:
        edges = _floats(bins)
        if edges is None:
            raise BadRequestParameter(
                f"histogram_bins: '{bins}' is neither a bin count nor comma-separated edges"
            )
        if len(edges) == 1:
            if not edges[0].is_integer() or not 1 <= edges[0] <= MAX_HISTOGRAM_BINS:
                raise BadRequestParameter(
                    f"histogram_bins: must be between 1 and {MAX_HISTOGRAM_BINS}"
                )
        elif len(edges) > MAX_HISTOGRAM_BINS + 1:
            raise BadRequestParameter(f"histogram_bins: at most {MAX_HISTOGRAM_BINS + 1} edges")
        elif not all(math.isfinite(e) for e in edges) or any(
            a >= b for a, b in zip(edges, edges[1:], strict=False)
        ):
            raise BadRequestParameter(
                f"histogram_bins: edges must be finite and increasing, got '{bins}'"
            )
    if value_range is not None:
        bounds = _floats(value_range)
        if (
            bounds is None
            or len(bounds) != 2
            or not all(math.isfinite(b) for b in bounds)
            or bounds[0] > bounds[1]
        ):
            raise BadRequestParameter(
                "histogram_range: must be two finite numbers, min,max with min <= max, "
                f"got '{value_range}'"
            )


def query_limits(max_px: int) -> Callable[[Request], Any]:
    """A router dependency that checks the query parameters rio-tiler cannot take at any value."""

    async def check_query(request: Request) -> None:
        q = request.query_params
        for name in ("tilesize", "max_size", "width", "height"):
            # /bbox/.../{width}x{height}.{format} has them in the path
            for given in (q, request.path_params):
                if name in given:
                    _pixel_count(name, str(given[name]), max_px)
        for name in ("buffer", "padding"):
            if name in q:
                try:
                    value = float(q[name])
                except ValueError:
                    continue
                if not 0 <= value <= MAX_EDGE_PX:
                    raise BadRequestParameter(f"{name}: must be between 0 and {MAX_EDGE_PX} pixels")
        for text in q.getlist("p"):
            try:
                value = float(text)
            except ValueError:
                continue
            if not 0 <= value <= 100:
                raise BadRequestParameter(f"p: percentile {text} is not between 0 and 100")
        _histogram(q.get("histogram_bins"), q.get("histogram_range"))
        if q.get("algorithm_params"):
            try:
                params = json.loads(q["algorithm_params"])
            except ValueError:
                params = {}  # FastAPI's own validation says it is not JSON
            if not isinstance(params, dict):
                raise BadRequestParameter(
                    "algorithm_params: must be a JSON object of the algorithm's parameters, "
                    'e.g. {"bands": 3}'
                )
        for name in ("coord_crs", "dst_crs", "crs"):
            if name in q:
                try:
                    CRS.from_user_input(q[name])
                except Exception:  # rasterio raises CRSError, TypeError or ValueError by input
                    raise BadRequestParameter(f"{name}: '{q[name]}' is not a CRS") from None

    return check_query


def _zoom_range(request: Request) -> None:
    """minzoom/maxzoom overrides (tileset routes) must be zooms of the matrix set.

    TiTiler walks every zoom between them, and a variable-scale set has no matrix beyond its last.
    """
    q = request.query_params
    if "tileMatrixSetId" not in request.path_params or not {"minzoom", "maxzoom"} & q.keys():
        return
    try:
        tms = TILE_MATRIX_SETS.get(request.path_params["tileMatrixSetId"])
    except morecantile.errors.InvalidIdentifier:
        return  # FastAPI's own validation names the bad value
    for name in ("minzoom", "maxzoom"):
        try:
            zoom = int(q[name]) if name in q else None
        except ValueError:
            continue
        if zoom is not None and not tms.minzoom <= zoom <= tms.maxzoom:
            raise BadRequestParameter(
                f"{name}: {zoom} is outside {tms.id} (zoom {tms.minzoom} to {tms.maxzoom})"
            )


async def check_address(request: Request) -> None:
    """Refuse a tile outside its matrix set and non-finite or out-of-range coordinates."""
    _zoom_range(request)
    p = request.path_params
    if {"z", "x", "y", "tileMatrixSetId"} <= p.keys():
        try:
            z, x, y = int(p["z"]), int(p["x"]), int(p["y"])
            tms = TILE_MATRIX_SETS.get(p["tileMatrixSetId"])
        except (ValueError, morecantile.errors.InvalidIdentifier):
            return  # FastAPI's own validation names the bad value
        if not tms.minzoom <= z <= tms.maxzoom:
            raise TileOutsideBounds(
                f"zoom {z} is outside {tms.id} (zoom {tms.minzoom} to {tms.maxzoom})"
            )
        matrix = tms.matrix(z)
        if not (0 <= x < matrix.matrixWidth and 0 <= y < matrix.matrixHeight):
            raise TileOutsideBounds(
                f"tile {z}/{x}/{y} is outside {tms.id}: at zoom {z}, x runs 0 to "
                f"{matrix.matrixWidth - 1} and y 0 to {matrix.matrixHeight - 1}"
            )
    geographic = "coord_crs" not in request.query_params
    for name, limit in (
        ("minx", 180),
        ("maxx", 180),
        ("lon", 180),
        ("miny", 90),
        ("maxy", 90),
        ("lat", 90),
    ):
        if name not in p:
            continue
        try:
            value = float(p[name])
        except ValueError:
            continue
        if not math.isfinite(value):
            raise BadRequestParameter(f"{name}: {p[name]} is not a finite number")
        if geographic and abs(value) > limit:
            axis = "longitude" if limit == 180 else "latitude"
            raise BadRequestParameter(f"{name}: {p[name]} is not a {axis} (-{limit} to {limit})")
        if abs(value) > MAX_COORDINATE:
            raise BadRequestParameter(
                f"{name}: {p[name]} is beyond the extent of any CRS (±{MAX_COORDINATE:g})"
            )
    if {"minx", "miny", "maxx", "maxy"} <= p.keys():
        try:
            minx, miny, maxx, maxy = (float(p[k]) for k in ("minx", "miny", "maxx", "maxy"))
        except ValueError:
            return
        # GDAL cannot invert the geotransform of an empty window (a 500 before).
        if not (minx < maxx and miny < maxy):
            raise BadRequestParameter(
                f"bbox: {minx},{miny},{maxx},{maxy} has no area; "
                "minx must be less than maxx and miny less than maxy"
            )


def _positions(doc: Any, *, within: bool = False) -> Any:
    """(x, y) of every position under a ``coordinates`` member, wherever it is nested."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _positions(value, within=key == "coordinates")
    elif isinstance(doc, list):
        if within and len(doc) >= 2 and all(isinstance(v, int | float) for v in doc[:2]):
            yield float(doc[0]), float(doc[1])
        else:
            for value in doc:
                yield from _positions(value, within=within)


def _numbers(doc: Any) -> Any:
    if isinstance(doc, float):
        yield doc
    elif isinstance(doc, dict):
        for value in doc.values():
            yield from _numbers(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from _numbers(value)


# TiTiler's crop of a posted feature (/feature, /feature.{format}, /feature/{w}x{h}.{format}).
CROP_ROUTE = "feature_image"


def _crop_area(doc: dict[str, Any]) -> None:
    """A crop reads the geometry's bounds: a point or an axis-parallel line has none to read.

    The bounds are those of its positions (shapely refuses valid GeoJSON that mixes 2D and 3D).
    """
    geometry = doc.get("geometry")
    positions = list(_positions(geometry))
    if not isinstance(geometry, dict) or not positions:
        return  # FastAPI's own validation says what is wrong with the feature
    xs, ys = [x for x, _ in positions], [y for _, y in positions]
    if not (min(xs) < max(xs) and min(ys) < max(ys)):
        raise BadRequestParameter(
            f"geometry: a crop needs an area, and the bounds of this {geometry.get('type')} "
            f"({min(xs)},{min(ys)},{max(xs)},{max(ys)}) have none; send a Polygon"
        )


async def check_geojson_body(request: Request) -> None:
    """A posted feature (crop, statistics) must have finite coordinates: 1e400 parses as infinity.

    Its positions must be longitudes and latitudes (or, with coord_crs, within any CRS's extent),
    and a crop needs an area: GDAL cannot invert the geotransform of an empty window (500s before).
    """
    if request.method != "POST":
        return
    try:
        doc = json.loads(await request.body())
    except ValueError:
        return  # FastAPI's own validation says what is wrong with the body
    if any(not math.isfinite(v) for v in _numbers(doc)):
        raise BadRequestParameter("geometry: every number must be finite")
    geographic = "coord_crs" not in request.query_params
    for x, y in _positions(doc):
        if geographic and not (abs(x) <= 180 and abs(y) <= 90):
            raise BadRequestParameter(
                f"geometry: ({x}, {y}) is not a longitude (-180 to 180) and latitude (-90 to 90); "
                "name the CRS of other coordinates in coord_crs"
            )
        if max(abs(x), abs(y)) > MAX_COORDINATE:
            raise BadRequestParameter(
                f"geometry: ({x}, {y}) is beyond the extent of any CRS (±{MAX_COORDINATE:g})"
            )
    route = request.scope.get("route")
    if isinstance(doc, dict) and getattr(route, "name", None) == CROP_ROUTE:
        _crop_area(doc)


def check_nodata(value: str | None, dtype: str | None) -> None:
    """A nodata override (the query's text) must be representable in the scene's data type."""
    if value is None or dtype is None:
        return
    kind = np.dtype(dtype)
    try:
        number = float(value)
    except ValueError:
        return  # FastAPI's own validation names a non-number
    if np.issubdtype(kind, np.integer):
        info = np.iinfo(kind)
        if not (math.isfinite(number) and number.is_integer() and info.min <= number <= info.max):
            raise BadRequestParameter(
                f"nodata: {value} is not a {dtype} value ({info.min} to {info.max})"
            )


def bounded_part_params(max_px: int) -> type[PartFeatureParams]:
    """Bbox and feature crops: native resolution up to ``max_px`` on a side, downsampled beyond.

    rio-tiler's Reader allocates whatever a bbox asks for (a continent at 0.5 m is hundreds of GiB).
    """

    @dataclass
    class BoundedPartParams(PartFeatureParams):
        def __post_init__(self) -> None:
            if self.width or self.height:
                self.max_size = None
            else:
                self.max_size = self.max_size or max_px

    return BoundedPartParams


@functools.wraps(ColorMapParams)
async def colormap_params(*args: Any, **kwargs: Any) -> Any:
    """TiTiler's colormap parameters, with a malformed colormap named as such (not a 500)."""
    try:
        return ColorMapParams(*args, **kwargs)
    except (ValueError, TypeError, KeyError) as err:
        raise BadRequestParameter(f"colormap: not a colormap ({err})") from None
