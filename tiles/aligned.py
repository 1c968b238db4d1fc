"""A scene on the WebMercatorQuad tile grid, written at ingest: a dynamic tile becomes a block read.

TiTiler warps every tile from the scene's own projection (~8 ms of a ~25 ms PNG tile here). tumen
controls ingest, so it also writes the scene once more as one tiled GeoTIFF per zoom level whose
256×256 blocks are exactly the WebMercatorQuad tiles, each filled with rio-tiler's own read of that
tile (``Reader.tile``, what TiTiler's tile route reads). A tile of that matrix set is then one
block, and its pixels are TiTiler's by construction. rio-cogeo's web-optimized COG (one warp of the
whole scene, overviews by decimation) was measured first and not kept: on the demo scene at z18
its pixels matched but for a few flipped nearest-neighbour samples (max 109 grey levels), and at
z15–z17 it differed by 2.5–3.3 grey levels on average (max 171): other samples than TiTiler's.

The levels live in ``{data_dir}/aligned/{scene id}.{scene version}/``, with ``manifest.json``
written last (a folder without it is incomplete and never read), so a re-ingested scene (a new
version) never reads the old one's pixels. Reads that the grid cannot answer exactly as TiTiler
would (other tile matrix sets or sizes, zooms beyond the scene's, other bands than the scene's
default ones, expressions, buffers, a nodata override, other resampling) go to rio-tiler on the COG.
"""

import json
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import morecantile
import numpy as np
import rasterio
from pydantic import BaseModel, Field, PrivateAttr
from rasterio.errors import RasterioError
from rasterio.io import DatasetReader
from rasterio.transform import from_origin
from rasterio.windows import Window
from rio_tiler.errors import RioTilerError
from rio_tiler.models import ImageData
from rio_tiler.utils import has_alpha_band

from tiles.catalog import Catalog, Scene
from tiles.grid import WEB_MERCATOR, web_mercator
from tiles.remote import is_remote

log = logging.getLogger(__name__)

TILE = 256
MANIFEST = "manifest.json"
# Tile reads the grid answers as rio-tiler would with these values (its defaults).
DEFAULT_READ = {
    "tilesize": (None, TILE),
    "expression": (None,),
    "buffer": (None, 0, 0.0),
    "padding": (None, 0),
    "nodata": (None,),
    "unscale": (None, False),
    "resampling_method": (None, "nearest"),
    "reproject_method": (None, "nearest"),
}


class AlignedGrid(BaseModel):
    """What ``manifest.json`` says of a scene's grid: its tile ranges, and rio-tiler's tile metadata.

    ``zooms`` maps a zoom to the tiles its level holds, ``[minx, miny, maxx, maxy]`` (inclusive);
    ``outside`` lists those of them the reader says are outside the scene (its ``tile_exists``: they
    only touch it), which stay rio-tiler's to refuse. ``indexes`` are the bands the tiles were read
    with (None: all, the scene's default bands otherwise): rio-tiler's read of other bands is not
    always those bands of this one (a one-band read of the demo scene differs in 8 of 23 tiles), so
    only reads of these bands are answered. The other fields are those rio-tiler gives every tile
    of the scene, kept to build the same ImageData.
    """

    scene_id: str
    version: str
    indexes: list[int] | None = None
    zooms: dict[int, tuple[int, int, int, int]]
    outside: dict[int, list[tuple[int, int]]] = Field(default_factory=dict)
    count: int
    dtype: str
    nodata: float | None
    band_descriptions: list[str]
    dataset_statistics: list[tuple[float, float]] | None
    metadata: dict[str, str]
    scales: list[float]
    offsets: list[float]
    folder: Path | None = Field(None, exclude=True, description="Where it was read from.")
    _outside: dict[int, set[tuple[int, int]]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        """Index ``outside`` for the per-tile check."""
        self._outside = {z: {(x, y) for x, y in tiles} for z, tiles in self.outside.items()}

    def level_path(self, z: int, folder: Path | None = None) -> Path:
        """The GeoTIFF of zoom ``z`` (in ``folder``, else where the manifest was read)."""
        where = folder or self.folder
        if where is None:
            raise ValueError(f"the grid of scene '{self.scene_id}' was not read from a folder")
        return where / f"z{z}.tif"

    def answers(self, tms: morecantile.TileMatrixSet, z: int, x: int, y: int, **read: Any) -> bool:
        """Whether this tile read is one the grid holds, read as rio-tiler reads by default."""
        if tms.id != WEB_MERCATOR or z not in self.zooms:
            return False
        minx, miny, maxx, maxy = self.zooms[z]
        if not (minx <= x <= maxx and miny <= y <= maxy) or (x, y) in self._outside.get(z, ()):
            return False
        if not self._holds(read.pop("indexes", None)):
            return False
        return all(
            name in DEFAULT_READ and value in DEFAULT_READ[name] for name, value in read.items()
        )

    def _holds(self, indexes: Any) -> bool:
        asked = None if indexes is None else list(_sequence(indexes))
        if self.indexes is None:  # every band of the source, in order
            return asked is None or asked == list(range(1, self.count + 1))
        return asked == self.indexes

    def tile(
        self, level: DatasetReader, tms: morecantile.TileMatrixSet, z: int, x: int, y: int
    ) -> ImageData:
        """Tile (z, x, y) read from ``level`` (this grid's file of zoom z) as rio-tiler gives it."""
        minx, miny, _, _ = self.zooms[z]
        window = Window((x - minx) * TILE, (y - miny) * TILE, TILE, TILE)
        data = level.read(window=window)
        if self.nodata is not None:  # rio-tiler masks each band where it holds the nodata value
            mask = data == self.nodata
        else:
            mask = np.repeat(level.read_masks(1, window=window)[None] == 0, self.count, axis=0)
        return ImageData(
            np.ma.MaskedArray(data, mask=mask),
            bounds=tms.xy_bounds(morecantile.Tile(x, y, z)),
            crs=tms.rasterio_crs,
            band_names=[f"b{i}" for i in self.indexes or range(1, self.count + 1)],
            band_descriptions=self.band_descriptions,
            dataset_statistics=self.dataset_statistics,
            metadata=self.metadata,
            nodata=self.nodata,
            scales=self.scales,
            offsets=self.offsets,
        )


def _sequence(indexes: Any) -> Sequence[int]:
    return (indexes,) if isinstance(indexes, int) else tuple(indexes)


def aligned_dir(data_dir: Path, scene_id: str, version: str) -> Path:
    """Where the grid of one version of a scene lives."""
    return data_dir / "aligned" / f"{scene_id}.{version}"


def load_grid(data_dir: Path, scene_id: str, version: str) -> AlignedGrid | None:
    """The scene version's grid, or None when it has none (not written, incomplete, or removed)."""
    try:
        text = (aligned_dir(data_dir, scene_id, version) / MANIFEST).read_text()
    except FileNotFoundError:
        return None
    grid = AlignedGrid.model_validate_json(text)
    return grid if (grid.scene_id, grid.version) == (scene_id, version) else None


def remove_aligned(data_dir: Path, scene_id: str, keep: str | None = None) -> None:
    """Delete a scene's grids, but the one of version ``keep``."""
    for folder in (data_dir / "aligned").glob(f"{scene_id}.*"):
        if folder.name != f"{scene_id}.{keep}" and folder.name[len(scene_id) + 1 :].isalnum():
            shutil.rmtree(folder, ignore_errors=True)


def prepare_aligned(catalog: Catalog, scene: Scene, *, workers: int | None = None) -> bool:
    """Write the scene's grid (unless there is one) and drop its other versions' grids.

    False, with nothing written, for what the grid does not serve: a linked remote COG (read where
    it is), a source with an alpha band. A scene that cannot be read is logged, not raised: the grid
    only makes tiles faster, the COG serves them all the same.
    """
    data_dir = catalog.data_dir
    location = catalog.location(scene)
    if is_remote(location):
        return False
    remove_aligned(data_dir, scene.id, keep=scene.version)
    if load_grid(data_dir, scene.id, scene.version) is not None:
        return True
    try:
        return write_aligned(
            location, aligned_dir(data_dir, scene.id, scene.version), scene, workers=workers
        )
    except (RasterioError, RioTilerError, OSError) as err:
        log.warning("no aligned grid for scene %s: %s", scene.id, err)
        return False


def write_aligned(location: str, dst: Path, scene: Scene, *, workers: int | None = None) -> bool:
    """Render every tile of the scene's zooms with rio-tiler into ``dst`` (whole or absent)."""
    from tiles.reader import SceneReader  # the reader imports this module for its fast path

    tms = web_mercator()
    with rasterio.open(location) as src:
        if has_alpha_band(src):
            return False
        tags = src.tags()
    indexes = scene.render.get("bidx")  # the bands its tiles are read with when none are asked
    with SceneReader(location, tms=tms) as reader:
        minzoom, maxzoom = reader.minzoom, reader.maxzoom
        west, south, east, north = reader.get_geographic_bounds(tms.rasterio_geographic_crs)
        center = tms.tile((west + east) / 2, (south + north) / 2, maxzoom)
        # rio-tiler's metadata of every tile
        sample = reader.tile(center.x, center.y, center.z, indexes=indexes)
    if sample.nodata is not None and math.isnan(sample.nodata):
        return False  # a NaN nodata does not survive the manifest's JSON: the COG answers
    zooms: dict[int, tuple[int, int, int, int]] = {}
    for z in range(minzoom, maxzoom + 1):
        tiles = list(tms.tiles(west, south, east, north, zooms=[z]))
        zooms[z] = (
            min(t.x for t in tiles),
            min(t.y for t in tiles),
            max(t.x for t in tiles),
            max(t.y for t in tiles),
        )
    grid = AlignedGrid(
        scene_id=scene.id,
        version=scene.version,
        indexes=indexes,
        zooms=zooms,
        count=sample.count,
        dtype=str(sample.array.dtype),
        nodata=sample.nodata,
        band_descriptions=list(sample.band_descriptions),
        dataset_statistics=sample.dataset_statistics,
        metadata={str(k): str(v) for k, v in sample.metadata.items()},
        scales=list(sample.scales),
        offsets=list(sample.offsets),
    )
    dst.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
    rows = [(z, y) for z, (_, miny, _, maxy) in zooms.items() for y in range(miny, maxy + 1)]
    workers = min(workers or os.cpu_count() or 1, max(1, len(rows) // 8))
    try:
        levels = {z: _create_level(staging, grid, z, tags, tms) for z in zooms}
        outside: dict[int, list[tuple[int, int]]] = {}
        try:
            for z, y, data, mask, empty in _render_rows(location, grid, rows, workers):
                minx, miny, _, _ = zooms[z]
                window = Window(0, (y - miny) * TILE, data.shape[2], TILE)
                levels[z].write(data, window=window)
                levels[z].write_mask(mask, window=window)
                outside.setdefault(z, []).extend((x, y) for x in empty)
        finally:
            for level in levels.values():
                level.close()
        grid = grid.model_copy(update={"outside": outside})
        (staging / MANIFEST).write_text(grid.model_dump_json())
        if dst.exists():  # another process wrote the same version meanwhile: same pixels
            return True
        staging.rename(dst)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def _create_level(
    folder: Path, grid: AlignedGrid, z: int, tags: dict[str, str], tms: morecantile.TileMatrixSet
) -> Any:
    minx, miny, maxx, maxy = grid.zooms[z]
    corner = tms.xy_bounds(morecantile.Tile(minx, miny, z))
    res = (corner.right - corner.left) / TILE
    integer = np.issubdtype(np.dtype(grid.dtype), np.integer)
    level = rasterio.open(
        grid.level_path(z, folder),
        "w",
        driver="GTiff",
        width=(maxx - minx + 1) * TILE,
        height=(maxy - miny + 1) * TILE,
        count=grid.count,
        dtype=grid.dtype,
        nodata=grid.nodata,
        crs=tms.rasterio_crs,
        transform=from_origin(corner.left, corner.top, res, res),
        tiled=True,
        blockxsize=TILE,
        blockysize=TILE,
        compress="deflate",  # lossless: the pixels are TiTiler's
        predictor=2 if integer else 3,
        interleave="pixel",
        bigtiff="IF_SAFER",
    )
    # The source's tags (TUMEN_SYNTHETIC among them) travel with every copy of its pixels.
    level.update_tags(**tags, TUMEN_ALIGNED=f"rio-tiler WebMercatorQuad tiles of z{z}")
    return level


def _render_rows(
    location: str, grid: AlignedGrid, rows: list[tuple[int, int]], workers: int
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, list[int]]]:
    if workers <= 1:
        for row in rows:
            yield _render_row(location, grid.model_dump_json(), row)
        return
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
        yield from pool.map(
            _render_row, [location] * len(rows), [grid.model_dump_json()] * len(rows), rows
        )


def _render_row(
    location: str, grid_json: str, row: tuple[int, int]
) -> tuple[int, int, np.ndarray, np.ndarray, list[int]]:
    """One row of tiles of one zoom, side by side, as rio-tiler reads them (data, mask, outside)."""
    from tiles.reader import SceneReader

    grid = AlignedGrid.model_validate(json.loads(grid_json))
    z, y = row
    minx, _, maxx, _ = grid.zooms[z]
    tms = web_mercator()
    data = np.zeros((grid.count, TILE, (maxx - minx + 1) * TILE), dtype=grid.dtype)
    mask = np.zeros((TILE, data.shape[2]), dtype=np.uint8)
    outside = []
    with SceneReader(location, tms=tms) as reader:
        for x in range(minx, maxx + 1):
            if not reader.tile_exists(x, y, z):
                outside.append(x)  # the tile route answers 404: its block stays empty
                continue
            image = reader.tile(x, y, z, indexes=grid.indexes)
            columns = slice((x - minx) * TILE, (x - minx + 1) * TILE)
            data[:, :, columns] = image.array.data
            mask[:, columns] = np.where(image.mask > 0, 255, 0)
    return z, y, data, mask, outside
