"""The rio-tiler reader for registered scenes: a scene whose file cannot be opened is 'unavailable'."""

from pathlib import Path

import attr
from rasterio.errors import RasterioError
from rio_tiler.io import Reader

from tiles.errors import SceneUnavailable


@attr.s
class SceneReader(Reader):
    """rio-tiler's Reader, with open failures reported as the scene (its file stem) being unavailable."""

    def __attrs_post_init__(self) -> None:
        try:
            super().__attrs_post_init__()
        except RasterioError as err:
            self._ctx_stack.close()
            raise SceneUnavailable(Path(str(self.input)).stem, "its COG cannot be read") from err
