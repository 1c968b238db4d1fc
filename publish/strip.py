"""Dates side by side: the same crop on each date in a grid, each labelled with its date and counts.

The way think tanks show change ("cargo grew from the 24th to the 6th"): one figure, one scale,
panels in the order given, a credit line for every image provider under them.
"""

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from publish.fonts import scaled
from publish.footer import footer
from publish.models import Panel
from publish.panel import annotate
from publish.png import to_png

GUTTER = (38, 38, 38)


@dataclass(frozen=True)
class StripLayout:
    """How ``count`` panels fill a strip ``width`` wide: columns, rows, gutter and panel width."""

    width: int
    count: int

    @property
    def columns(self) -> int:
        """Up to three side by side; four as 2 × 2; more in rows of three or four."""
        if self.count <= 3:
            return self.count
        return min(4, math.ceil(math.sqrt(self.count)))

    @property
    def rows(self) -> int:
        """Rows of panels."""
        return math.ceil(self.count / self.columns)

    @property
    def gutter(self) -> int:
        """Dark space between panels and around them."""
        return scaled(self.width, 12, least=6)

    @property
    def panel_width(self) -> int:
        """Width each crop is read at."""
        return (self.width - (self.columns + 1) * self.gutter) // self.columns


@dataclass(frozen=True)
class Strip:
    """The rendered strip, each panel's box (x, y, w, h of its image) and its PNG text chunks."""

    image: Image.Image
    boxes: list[tuple[int, int, int, int]]
    metadata: dict[str, str]

    def png(self) -> bytes:
        """The strip as PNG with its metadata."""
        return to_png(self.image, self.metadata)


def render_strip(panels: Sequence[Panel], title: str, width: int) -> Strip:
    """Panels (crops read at ``StripLayout(width, len(panels)).panel_width``) in a grid."""
    if not panels:
        raise ValueError("panels: a strip needs at least one")
    layout = StripLayout(width, len(panels))
    cells = []
    for p in panels:
        drawn = annotate(p.crop, p.marks, synthetic=p.caption.synthetic, scale_width=width)
        band = footer(
            p.crop.width,
            [(p.caption.when_text, True), (p.note or "no confirmed sightings", False)],
            base=width,
        )
        cell = Image.new("RGB", (p.crop.width, p.crop.height + band.height), (255, 255, 255))
        cell.paste(drawn.image, (0, 0))
        cell.paste(band, (0, p.crop.height))
        cells.append((cell, p.crop.height))
    cell_w = max(c.width for c, _ in cells)
    cell_h = max(c.height for c, _ in cells)
    g = layout.gutter
    credits = list(dict.fromkeys(p.caption.credit for p in panels))
    synthetic = any(p.caption.synthetic for p in panels)
    days = [p.caption.day_text for p in panels]
    heading = f"{title} — {days[0]}" + (f" to {days[-1]}" if len(days) > 1 else "")
    lines = [(heading, True)] + [(c, False) for c in credits]
    if synthetic:
        lines.append(("SYNTHETIC imagery: drawn by tumen's demo, not satellite images", False))
    grid_w = layout.columns * cell_w + (layout.columns + 1) * g
    band = footer(grid_w, lines, base=width)
    grid_h = layout.rows * cell_h + (layout.rows + 1) * g
    out = Image.new("RGB", (grid_w, grid_h + band.height), GUTTER)
    boxes = []
    for i, (cell, image_h) in enumerate(cells):
        x = g + (i % layout.columns) * (cell_w + g)
        y = g + (i // layout.columns) * (cell_h + g)
        out.paste(cell, (x, y))
        boxes.append((x, y, cell.width, image_h))
    out.paste(band, (0, grid_h))
    first = panels[0]
    meta = {
        "Title": heading,
        "Copyright": "; ".join(credits),
        "Source": ", ".join(p.caption.scene_id for p in panels),
        "Software": "tumen",
        "tumen:credit": "; ".join(credits),
        "tumen:datetime": ", ".join(p.caption.when.isoformat() for p in panels),
        "tumen:scene_id": ", ".join(p.caption.scene_id for p in panels),
        "tumen:synthetic": "true" if synthetic else "false",
        "tumen:m_per_px": f"{first.crop.m_per_px:.6f}",
        "tumen:panels": json.dumps(boxes),
    }
    if synthetic:
        meta["Disclaimer"] = "SYNTHETIC imagery, not satellite images"
    return Strip(out, boxes, meta)
