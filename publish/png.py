"""PNG bytes with text chunks, so a figure keeps its credit, date and scale when it is passed on."""

import io
from collections.abc import Mapping

from PIL import Image
from PIL.PngImagePlugin import PngInfo


def to_png(image: Image.Image, text: Mapping[str, str]) -> bytes:
    """``image`` as PNG with each of ``text`` as a tEXt (or, beyond Latin-1, iTXt) chunk."""
    info = PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info, optimize=False, compress_level=6)
    return out.getvalue()
