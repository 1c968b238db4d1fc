"""Issue 16: dynamic tiles faster than TiTiler's, with TiTiler's own pixels.

The expected tiles are rio-tiler's read of the ingested COG rendered by TiTiler's ``render_image``:
what TiTiler's tile route does (titiler.core's default path), in this process.
"""

from io import BytesIO

import morecantile
import numpy as np
from fastapi.testclient import TestClient
from PIL import Image
from rio_tiler.io import Reader
from titiler.core.resources.enums import ImageType
from titiler.core.utils import render_image

from tiles.catalog import Catalog, Scene
from tumen.settings import Settings

TMS = morecantile.tms.get("WebMercatorQuad")


def titiler_tile(cog: str, z: int, x: int, y: int, fmt: str, **read: object) -> bytes:
    """TiTiler's tile: rio-tiler's read of the COG, rendered by TiTiler's render_image."""
    with Reader(cog, tms=TMS) as src:
        content, _ = render_image(src.tile(x, y, z, **read), output_format=ImageType[fmt])
    return content


def pixels(content: bytes) -> np.ndarray:
    return np.asarray(Image.open(BytesIO(content))).astype(int)


def test_png_of_a_scene_without_grid_is_titilers_pixels(
    settings: Settings, client: TestClient, border_scenes: list[Scene]
) -> None:
    cog = str(Catalog(settings.database, settings.data_dir).local_path(border_scenes[0]))
    for z, x, y in ((14, 14137, 6056), (16, 56550, 24226), (12, 3534, 1514)):  # z12: edges
        r = client.get(f"/scenes/{border_scenes[0].id}/tiles/WebMercatorQuad/{z}/{x}/{y}.png")
        assert r.status_code == 200 and r.headers["x-tumen-source"] == "dynamic"
        np.testing.assert_array_equal(pixels(r.content), pixels(titiler_tile(cog, z, x, y, "png")))
