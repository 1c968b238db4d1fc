"""The plainest dynamic tile answered before routing: from the aligned grid, as the tile route would.

Once a tile is one block of the grid (tiles/aligned.py), FastAPI's routing and the ~20 parameter
dependencies of TiTiler's tile route were half of a dynamic JPEG tile's time. A request with no
parameter at all needs none of them: the tile layer (tiles/delivery.py) asks here first and gets the
same bytes the route makes (the same grid read, the same ``render_tile``), or None, and then the
route answers (with its checks and errors). None is the answer whenever anything is not certain: a
query parameter, another matrix set or format, scene defaults (bands, rescale), a grid that lacks
the tile, a COG that is not a file here (the route says 503 when it is gone).
"""

from pathlib import Path

import anyio.to_thread
from rasterio.errors import RasterioError
from titiler.core.resources.enums import ImageType

from tiles.catalog import Catalog, Scene
from tiles.datasets import TILE_MATRIX_SETS, grid_of, open_level
from tiles.grid import WEB_MERCATOR
from tiles.remote import is_remote
from tiles.render import render_tile

FORMATS = {"png": ImageType.png, "jpg": ImageType.jpg, "jpeg": ImageType.jpeg}


async def plain_tile(
    catalog: Catalog, scene: Scene, tms_id: str, z: int, x: int, y: int, fmt: str
) -> bytes | None:
    """The tile a parameterless request gets from the tile route, when the grid holds it."""
    if tms_id != WEB_MERCATOR or fmt not in FORMATS or scene.render:
        return None
    grid = grid_of(catalog.data_dir, scene.id, scene.version)
    location = catalog.location(scene)
    if grid is None or grid.count != 3 or is_remote(location) or not Path(location).is_file():
        return None  # a 3-band grid: a 1-band source may carry a colormap TiTiler applies

    def read_and_render() -> bytes | None:
        tms = TILE_MATRIX_SETS.get(tms_id)
        if not grid.answers(tms, z, x, y):
            return None
        try:
            image = grid.tile(open_level(grid, z), tms, z, x, y)
        except (RasterioError, OSError):
            return None  # the grid went away meanwhile: the route reads the COG
        content, _ = render_tile(image, output_format=FORMATS[fmt])
        return content

    return await anyio.to_thread.run_sync(read_and_render)
