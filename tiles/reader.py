"""The rio-tiler reader for registered scenes."""

from pathlib import Path

import attr
from rasterio.errors import RasterioError
from rio_tiler.io import Reader

from tiles.errors import SceneUnavailable


@attr.s
class SceneReader(Reader):
    """rio-tiler's Reader; a file that cannot be opened makes its scene (the file stem) unavailable."""

    def __attrs_post_init__(self) -> None:
        try:
            super().__attrs_post_init__()
        except RasterioError as err:
            self._ctx_stack.close()
            raise SceneUnavailable(Path(str(self.input)).stem, "its COG cannot be read") from err

    def tile_exists(self, tile_x: int, tile_y: int, tile_z: int) -> bool:
        """Compare in lon/lat: far-away tiles projected into UTM give bogus extents that 'intersect'."""
        west, south, east, north = self.tms.bounds(tile_x, tile_y, tile_z)
        minx, miny, maxx, maxy = self.get_geographic_bounds(self.tms.rasterio_geographic_crs)
        return west < maxx and east > minx and south < maxy and north > miny
