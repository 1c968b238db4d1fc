"""Fonts for the figures: DejaVu Sans where the system has it, else Pillow's built-in font.

Nothing is downloaded. Pillow's built-in FreeType font (Aileron) lacks a few characters our labels
use (≈, ², —), so text drawn with it has them spelled in ASCII instead of as empty boxes.
"""

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

# Debian's fonts-dejavu-core (and most Linux distributions) put it here.
DEJAVU = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
)
ASCII_FOR = str.maketrans({"≈": "~", "²": "2", "—": "-", "–": "-", "·": "-", "→": "->"})

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=64)
def font(size: int, *, bold: bool = False) -> Font:
    """A scalable font of ``size`` pixels (bold where a bold face is installed)."""
    path = DEJAVU[1] if bold and DEJAVU[1].exists() else DEJAVU[0]
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def printable(text: str, face: Font) -> str:
    """``text`` as ``face`` can draw it: ASCII stand-ins for what Pillow's own font lacks."""
    if isinstance(face, ImageFont.FreeTypeFont) and "DejaVu" in (face.getname()[0] or ""):
        return text
    return text.translate(ASCII_FOR)


def scaled(width: int, base: float, *, least: int) -> int:
    """A size in pixels that grows with the figure's width (``base`` at 1600 px), never below ``least``."""
    return max(least, round(base * width / 1600))
