"""The band under an image: a heading line (place, date and time, scene) and the credit line."""

from collections.abc import Sequence

from PIL import Image, ImageDraw

from publish.fonts import Font, font, printable, scaled

PAPER = (255, 255, 255)
INK = (20, 20, 20)
GREY = (80, 80, 80)


def footer(width: int, lines: Sequence[tuple[str, bool]], *, base: int) -> Image.Image:
    """A white band ``width`` wide with ``lines`` of text ((text, heading?)), sized for ``base``."""
    pad = scaled(base, 12, least=5)
    faces = [
        font(scaled(base, 24, least=12), bold=True) if heading else font(scaled(base, 19, least=11))
        for _, heading in lines
    ]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    heights = [round(probe.textbbox((0, 0), "Ag", font=f)[3]) for f in faces]
    band = Image.new("RGB", (width, sum(heights) + pad * (len(lines) + 1)), PAPER)
    draw = ImageDraw.Draw(band)
    y = pad
    for (text, heading), face, h in zip(lines, faces, heights, strict=True):
        draw.text(
            (pad, y),
            fit(draw, printable(text, face), face, width - 2 * pad),
            fill=INK if heading else GREY,
            font=face,
        )
        y += h + pad
    return band


def fit(draw: ImageDraw.ImageDraw, text: str, face: Font, room: int) -> str:
    """``text`` cut with '…' to fit ``room`` pixels (a credit never runs off the edge)."""
    if draw.textlength(text, font=face) <= room:
        return text
    while text and draw.textlength(text + "…", font=face) > room:
        text = text[:-1]
    return text + "…"
