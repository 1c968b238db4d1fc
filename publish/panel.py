"""One annotated image: the crop, its sightings, a scale bar, a north arrow, 'SYNTHETIC' where it is.

The figure, each panel of a strip and each frame of a timelapse are this, with different captions.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

from publish.fonts import font, scaled
from publish.marks import draw_marks
from publish.models import Crop, Mark
from publish.north import draw_north_arrow, north_angle
from publish.scalebar import ScaleBar, draw_scalebar

STAMP_RED = (176, 0, 32)
SYNTHETIC_STAMP = "SYNTHETIC"
SYNTHETIC_SUBTITLE = "not a satellite image"


@dataclass(frozen=True)
class AnnotatedImage:
    """The drawn panel and where its scale bar is."""

    image: Image.Image
    scalebar: ScaleBar


def annotate(
    crop: Crop, marks: Sequence[Mark], *, synthetic: bool, scale_width: int | None = None
) -> AnnotatedImage:
    """The crop as an RGB image with everything a reader needs to trust and measure it.

    ``scale_width``: the width decorations are sized for (a strip's panels use the whole strip's
    width, so their text stays legible when the panels are small).
    """
    base = scale_width or crop.width
    image = Image.fromarray(crop.rgb, "RGB")
    draw = ImageDraw.Draw(image, "RGBA")
    line = scaled(base, 3, least=2)
    draw_marks(
        image, marks, crop.transform, crop.crs, face=font(scaled(base, 20, least=11)), line=line
    )
    small = font(scaled(base, 20, least=11), bold=True)
    margin = scaled(base, 14, least=6)
    bar = draw_scalebar(
        draw,
        crop.m_per_px,
        left=margin,
        bottom=crop.height - margin,
        max_px=max(8, round(crop.width * 0.22)),
        face=small,
        thickness=scaled(base, 9, least=5),
    )
    arrow = min(scaled(base, 64, least=30), crop.width // 4, crop.height // 3)
    draw_north_arrow(
        draw,
        (crop.width - margin - arrow / 2, margin + arrow / 2),
        arrow,
        north_angle(crop.transform, crop.crs, crop.width, crop.height),
        font(max(8, arrow // 4), bold=True),
    )
    if synthetic:
        stamp(draw, (margin, margin), base)
    return AnnotatedImage(image, bar)


def stamp(draw: ImageDraw.ImageDraw, at: tuple[int, int], width: int) -> tuple[int, int, int, int]:
    """The red 'SYNTHETIC — not a satellite image' box; returns its bounds."""
    big, small = font(scaled(width, 30, least=13), bold=True), font(scaled(width, 15, least=10))
    x, y = at
    pad = scaled(width, 8, least=4)
    l0, t0, r0, b0 = draw.textbbox((0, 0), SYNTHETIC_STAMP, font=big)
    l1, t1, r1, b1 = draw.textbbox((0, 0), SYNTHETIC_SUBTITLE, font=small)
    w = round(max(r0 - l0, r1 - l1)) + 2 * pad
    h = round((b0 - t0) + (b1 - t1)) + 3 * pad
    box = (x, y, x + w, y + h)
    draw.rectangle(box, fill=STAMP_RED + (235,))
    draw.text((x + pad - l0, y + pad - t0), SYNTHETIC_STAMP, fill=(255, 255, 255), font=big)
    draw.text(
        (x + pad - l1, y + 2 * pad + (b0 - t0) - t1),
        SYNTHETIC_SUBTITLE,
        fill=(255, 255, 255),
        font=small,
    )
    return box
