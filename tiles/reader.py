"""The rio-tiler reader for registered scenes, on datasets kept open between requests."""

import ctypes
import os
import threading
from pathlib import Path
from typing import Any

import attr
import morecantile
import numpy as np
import rasterio
import rasterio.env
from rasterio.errors import RasterioError
from rasterio.io import DatasetReader
from rio_tiler.io import Reader
from rio_tiler.models import ImageData
from rio_tiler.types import Indexes

from tiles.aligned import AlignedGrid
from tiles.datasets import open_level
from tiles.errors import BadRequestParameter, SceneUnavailable
from tiles.remote import GDAL_REMOTE_ENV, is_remote

_local = threading.local()
# A forked child (bake workers) must not share its parent's handles: they share file offsets.
os.register_at_fork(after_in_child=lambda: _local.__dict__.pop("pool", None))
# Open datasets kept per thread. Each holds ~1 MB (TIFF directories, decoders, one per overview), and
# a worker runs up to 40 threads: unbounded, memory grew with threads × scenes (bench/soak.py).
OPEN_PER_THREAD = 4


def limit_malloc_arenas(arenas: int) -> None:
    """Cap glibc's malloc arenas, so a threaded worker's memory stays flat.

    Each thread otherwise gets an arena of its own, and GDAL's per-tile buffers left memory
    fragmented across them (RSS +33 % in 30 s of bench/soak.py).
    """
    if arenas <= 0:
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: nothing to tune
    libc.mallopt(-8, arenas)  # M_ARENA_MAX


def configure_gdal(cache_mb: int) -> None:
    """Bound GDAL's block cache of this process (GDAL's own default is 5 % of the machine's RAM)."""
    rasterio.env.set_gdal_config("GDAL_CACHEMAX", cache_mb * 2**20)


def open_dataset(path: str) -> DatasetReader:
    """A dataset for ``path`` kept open in this thread, reopened when the file is replaced.

    Opening a COG and re-reading its header costs milliseconds per tile, and GDAL's block cache lives
    with the handle: neighbouring tiles reuse the same decompressed blocks only if it stays open.
    rasterio handles are not thread-safe, hence one per thread; each thread keeps the
    ``OPEN_PER_THREAD`` it used last and closes the others.
    """
    pool: dict[str, tuple[tuple[int, int, int], DatasetReader]] = _local.__dict__.setdefault(
        "pool", {}
    )
    if is_remote(path):
        key = (
            0,
            0,
            0,
        )  # a linked COG does not change under its URL (its version is checked at ingest)
    else:
        st = os.stat(path)
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
    held = pool.pop(
        path, None
    )  # re-inserted below: the dict's order is the least recently used first
    if held is not None and held[0] == key and not held[1].closed:
        pool[path] = held
        return held[1]
    if held is not None:
        held[1].close()
    with rasterio.Env(**(GDAL_REMOTE_ENV if is_remote(path) else {})):
        dataset = rasterio.open(path)
    pool[path] = (key, dataset)
    while len(pool) > OPEN_PER_THREAD:
        oldest = next(iter(pool))
        pool.pop(oldest)[1].close()
    return dataset


@attr.s
class SceneReader(Reader):
    """rio-tiler's Reader; a file that cannot be opened makes its scene (the file stem) unavailable.

    With the scene's ``grid`` (tiles/aligned.py), a WebMercatorQuad tile read with rio-tiler's
    defaults is one block of the grid: the same pixels, without the warp.
    """

    grid: AlignedGrid | None = attr.ib(default=None)

    def __attrs_post_init__(self) -> None:
        try:
            if self.dataset is None:
                self.dataset = open_dataset(str(self.input))
            super().__attrs_post_init__()
        except (RasterioError, OSError) as err:
            self._ctx_stack.close()
            raise SceneUnavailable(Path(str(self.input)).stem, "its COG cannot be read") from err

    def feature(self, shape: dict, *args: Any, **kwargs: Any) -> ImageData:
        """A posted geometry that covers no pixel of the scene is refused, not read as an empty image.

        Its statistics would be all null (not numbers, as the response documents) and its crop blank.
        """
        image = super().feature(shape, *args, **kwargs)
        if not np.asarray(image.mask).any():
            raise BadRequestParameter(
                f"geometry: covers no pixel of scene '{Path(str(self.input)).stem}' (it lies "
                "outside the scene, or has no area)"
            )
        return image

    def tile(
        self,
        tile_x: int,
        tile_y: int,
        tile_z: int,
        tilesize: int | None = None,
        indexes: Indexes | None = None,
        expression: str | None = None,
        buffer: float | None = None,
        **kwargs: Any,
    ) -> ImageData:
        """A tile from the grid when it holds this read, else rio-tiler's read of the COG."""
        grid = self.grid
        read: dict[str, Any] = dict(
            tilesize=tilesize, indexes=indexes, expression=expression, buffer=buffer, **kwargs
        )
        if grid is not None and grid.answers(self.tms, tile_z, tile_x, tile_y, **read):
            try:
                level = open_level(grid, tile_z)
                return grid.tile(level, self.tms, tile_z, tile_x, tile_y)
            except (RasterioError, OSError):
                pass  # the grid went away meanwhile (a newer version): the COG answers
        return super().tile(tile_x, tile_y, tile_z, **read)

    def tile_exists(self, tile_x: int, tile_y: int, tile_z: int) -> bool:
        """Compare in lon/lat: far-away tiles projected into UTM give bogus extents that 'intersect'."""
        west, south, east, north = self.tms.bounds(morecantile.Tile(tile_x, tile_y, tile_z))
        minx, miny, maxx, maxy = self.get_geographic_bounds(self.tms.rasterio_geographic_crs)
        return west < maxx and east > minx and south < maxy and north > miny
