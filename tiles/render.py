"""Tile encoding with TiTiler's pixels: PNG through Pillow at a fast zlib level, the rest as TiTiler.

TiTiler encodes every tile through GDAL (a MemoryFile dataset per tile, PNG at zlib level 6): on
this project's machine ~14 ms per 256×256 RGBA PNG, more than the read of a tile from the aligned
grid (tiles/aligned.py). Pillow writes the same RGBA PNG at zlib level 1 in ~3.7 ms: lossless, the
same pixels, ~20 % more bytes. JPEG stays GDAL's (~2.4 ms): libjpeg-turbo (Pillow, simplejpeg) is
~10× faster but GDAL's wheel has IJG libjpeg 9, whose chroma downsampling differs; decoded, turbo's
tiles were 0.04 grey levels off TiTiler's on average but up to 48 at saturated colour edges.
Anything else (a colormap, 16-bit data left unscaled, other formats or band counts) is rendered by
TiTiler's own ``render_image``.
"""

from collections.abc import Sequence
from io import BytesIO
from typing import Any

import numpy as np
from PIL import Image
from rio_tiler.models import ImageData
from rio_tiler.types import ColorMapType, IntervalTuple
from titiler.core.resources.enums import ImageType
from titiler.core.utils import render_image

PNG_ZLIB_LEVEL = 1  # level 6 (GDAL's and TiTiler's) costs 3× the time for ~20 % fewer bytes
BAND_COUNTS = (1, 3)  # grey or RGB, with the mask as alpha: Pillow's LA and RGBA


def render_tile(
    image: ImageData,
    colormap: ColorMapType | None = None,
    output_format: ImageType | None = None,
    add_mask: bool = True,
    rescale: Sequence[IntervalTuple] | None = None,
    color_formula: str | None = None,
    **kwargs: Any,
) -> tuple[bytes, str]:
    """TiTiler's ``render_image``, with the PNG of an 8-bit 1- or 3-band image written by Pillow."""
    if output_format is not ImageType.png or colormap or kwargs:
        return render_image(
            image,
            colormap=colormap,
            output_format=output_format,
            add_mask=add_mask,
            rescale=rescale,
            color_formula=color_formula,
            **kwargs,
        )
    if rescale:
        image.rescale(rescale)
    if color_formula:
        image.apply_color_formula(color_formula)
    data = image.data
    if data.dtype != np.uint8 or image.count not in BAND_COUNTS:
        # rescaled and formula applied already: TiTiler does the rest (dtype scaling, GDAL)
        return render_image(image, output_format=output_format, add_mask=add_mask)
    bands = [*data, image.mask] if add_mask else [*data]
    # rows × columns (grey) or rows × columns × bands: Pillow's L, LA, RGB or RGBA
    pixels = bands[0] if len(bands) == 1 else np.stack(bands, axis=-1)
    out = BytesIO()
    Image.fromarray(pixels).save(out, "PNG", compress_level=PNG_ZLIB_LEVEL)
    return out.getvalue(), output_format.mediatype
