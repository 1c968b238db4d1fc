"""Bake a scene's WebMercatorQuad tiles into a PMTiles v3 archive, rendered exactly as the dynamic path."""

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import rasterio
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from titiler.core.resources.enums import ImageType
from titiler.core.utils import render_image

from tiles.catalog import Catalog, Scene
from tiles.grid import web_mercator
from tiles.reader import SceneReader
from tiles.remote import GDAL_REMOTE_ENV
from tiles.stac import attribution
from tiles.storage import Storage, archive_key, file_digest, gdal_reads_aws_variables

TILE_TYPES = {"jpg": TileType.JPEG, "png": TileType.PNG, "webp": TileType.WEBP}
IMAGE_TYPES = {"jpg": ImageType.jpg, "png": ImageType.png, "webp": ImageType.webp}
CHUNK = 48


def archive_path(data_dir: Path, scene_id: str) -> Path:
    """Where a scene's archive lives."""
    return data_dir / "baked" / f"{scene_id}.pmtiles"


def choose_format(cog: Path | str) -> str:
    """WebP for opaque imagery (small, and transparent beyond the scene's edge); PNG otherwise."""
    with rasterio.Env(**GDAL_REMOTE_ENV), rasterio.open(cog) as ds:
        opaque = (
            ds.count == 3
            and ds.dtypes[0] == "uint8"
            and ds.nodata is None
            and all(flags == [rasterio.enums.MaskFlags.all_valid] for flags in ds.mask_flag_enums)
        )
    return "webp" if opaque else "png"


def render_tile(
    src: SceneReader, x: int, y: int, z: int, fmt: str, render: dict[str, Any] | None = None
) -> bytes:
    """One tile as the dynamic tile route renders it with no query parameters (scene defaults applied)."""
    render = render or {}
    image = src.tile(x, y, z, indexes=render.get("bidx"))
    rescale = [tuple(r) for r in render["rescale"]] if render.get("rescale") else None
    content, _ = render_image(image, output_format=IMAGE_TYPES[fmt], rescale=rescale)
    return content


def _render_chunk(
    cog: str, fmt: str, render: dict[str, Any], tiles: list[tuple[int, int, int]]
) -> list[tuple[int, bytes]]:
    tms = web_mercator()
    out = []
    gdal_reads_aws_variables()  # in this worker process too
    with rasterio.Env(GDAL_CACHEMAX=256, **GDAL_REMOTE_ENV), SceneReader(cog, tms=tms) as src:
        for x, y, z in tiles:
            out.append((zxy_to_tileid(z, x, y), render_tile(src, x, y, z, fmt, render)))
    return out


def tiles_to_bake(cog: Path | str) -> tuple[list[tuple[int, int, int]], int, int]:
    """Every tile that touches the scene, from its native zoom down to where it is a few tiles."""
    tms = web_mercator()
    with SceneReader(str(cog), tms=tms) as src:
        minzoom, maxzoom = src.minzoom, src.maxzoom
        bounds = src.get_geographic_bounds(tms.rasterio_geographic_crs)
    west, south, east, north = bounds
    zooms = list(range(minzoom, maxzoom + 1))
    tiles = [(t.x, t.y, t.z) for t in tms.tiles(west, south, east, north, zooms=zooms)]
    return tiles, minzoom, maxzoom


def _chunks(items: list[tuple[int, int, int]], size: int) -> Iterator[list[tuple[int, int, int]]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def bake_scene(
    catalog: Catalog,
    scene: Scene,
    *,
    workers: int | None = None,
    fmt: str | None = None,
    advance: Callable[[int, int], None] | None = None,
    storage: Storage | None = None,
) -> Scene | None:
    """Write the scene's archive (atomically) and record its format and version in the catalog.

    In object storage (``storage`` not local) the archive goes under a new immutable key named by
    its content, ``baked/{id}/{digest}.pmtiles`` (an identical one already there is not written
    again), and the catalog is switched to it in one transaction; nothing is overwritten.
    None when the scene was removed or re-ingested while it baked (the catalog is left alone).
    """
    cog = catalog.location(scene)
    fmt = fmt or choose_format(cog)
    tiles, minzoom, maxzoom = tiles_to_bake(cog)
    rendered: list[tuple[int, bytes]] = []
    workers = workers or os.cpu_count() or 1
    if workers == 1:  # in this process (the background baker is one low-priority process)
        for chunk in _chunks(tiles, CHUNK):
            part = _render_chunk(str(cog), fmt, scene.render, chunk)
            rendered.extend(part)
            if advance:
                advance(len(part), len(tiles))
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
            futures = [
                pool.submit(_render_chunk, str(cog), fmt, scene.render, c)
                for c in _chunks(tiles, CHUNK)
            ]
            for future in futures:
                part = future.result()
                rendered.extend(part)
                if advance:
                    advance(len(part), len(tiles))
    rendered.sort()
    dst = archive_path(catalog.data_dir, scene.id)
    dst.parent.mkdir(parents=True, exist_ok=True)
    # Unique per process: two bakers never write one file; readers only ever see the renamed whole.
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.partial")
    west, south, east, north = scene.geographic_bounds
    header = {
        "tile_type": TILE_TYPES[fmt],
        "tile_compression": Compression.NONE,
        "min_zoom": minzoom,
        "max_zoom": maxzoom,
        "min_lon_e7": int(west * 1e7),
        "min_lat_e7": int(south * 1e7),
        "max_lon_e7": int(east * 1e7),
        "max_lat_e7": int(north * 1e7),
        "center_zoom": maxzoom - 2,
        "center_lon_e7": int((west + east) / 2 * 1e7),
        "center_lat_e7": int((south + north) / 2 * 1e7),
    }
    metadata = {
        "name": scene.id,
        "description": scene.description,
        "attribution": attribution(scene),
        "tumen:scene_version": scene.version,
        "tumen:synthetic": scene.synthetic,
        "format": fmt,
    }
    try:
        with open(tmp, "wb") as f:
            writer = Writer(f)
            for tile_id, data in rendered:
                writer.write_tile(tile_id, data)
            writer.finalize(header, metadata)
        if storage is not None and not storage.local:
            key = archive_key(scene.id, file_digest(tmp))
            location = storage.location(key)
            if not storage.exists(key):
                storage.put(key, tmp)
            return catalog.mark_baked(scene.id, scene.version, fmt, archive=location)
        tmp.replace(dst)
    finally:
        tmp.unlink(missing_ok=True)
    return catalog.mark_baked(scene.id, scene.version, fmt)
