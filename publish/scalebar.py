"""A scale bar in metres: a round length (1, 2 or 5 × 10ⁿ m) drawn exactly that many pixels long."""

import math
from dataclasses import dataclass

from PIL import ImageDraw

from publish.fonts import Font

BLACK = (0, 0, 0)
WHITE = (255, 255, 255)


@dataclass(frozen=True)
class ScaleBar:
    """Where a bar was drawn: its length in metres and in pixels, its ends (x0, x1) and top row."""

    metres: float
    px: int
    x0: int
    x1: int
    y: int

    @property
    def text(self) -> str:
        """'500 m', '2 km'."""
        return length_text(self.metres)


def nice_length(limit_m: float) -> float:
    """The longest of 1, 2 or 5 × 10ⁿ metres that is not over ``limit_m``."""
    if limit_m <= 0 or not math.isfinite(limit_m):
        raise ValueError(f"limit_m: {limit_m} is not a positive length")
    power = 10 ** math.floor(math.log10(limit_m))
    for step in (5, 2, 1):
        if step * power <= limit_m * (1 + 1e-9):
            return float(step * power)
    return float(power)  # unreachable: 1 × 10ⁿ ≤ limit_m by construction


def length_text(metres: float) -> str:
    """'0.5 m', '200 m', '1 km'."""
    if metres >= 1000:
        return f"{metres / 1000:g} km"
    return f"{metres:g} m"


def draw_scalebar(
    draw: ImageDraw.ImageDraw,
    m_per_px: float,
    *,
    left: int,
    bottom: int,
    max_px: int,
    face: Font,
    thickness: int,
) -> ScaleBar:
    """A bar of a round length no longer than ``max_px``, with '0' and its length written above.

    Four alternating black and white segments in a black outline on a white box; the outline's top
    edge runs exactly from ``x0`` to ``x1`` = ``x0`` + length / ``m_per_px`` (rounded to a pixel).
    """
    metres = nice_length(max_px * m_per_px)
    px = round(metres / m_per_px)
    label = length_text(metres)
    l0, t0, r0, b0 = draw.textbbox((0, 0), label, font=face)
    text_h = b0 - t0
    pad = max(4, thickness)
    x0 = left + pad
    x1 = x0 + px
    y1 = bottom - pad
    y0 = y1 - thickness
    text_y = y0 - pad // 2 - text_h
    half = (r0 - l0) // 2
    draw.rectangle(
        [left, text_y - pad, x1 + max(pad, half + pad), bottom], fill=(255, 255, 255, 215)
    )
    for i in range(4):
        a = x0 + round(i * px / 4)
        b = x0 + round((i + 1) * px / 4)
        draw.rectangle([a, y0, b, y1], fill=BLACK if i % 2 == 0 else WHITE)
    draw.rectangle([x0, y0, x1, y1], outline=BLACK, width=max(1, thickness // 5))
    draw.text((x0 - l0, text_y - t0), "0", fill=BLACK, font=face)
    draw.text((x1 - half - l0, text_y - t0), label, fill=BLACK, font=face)
    return ScaleBar(metres, px, x0, x1, y0)
