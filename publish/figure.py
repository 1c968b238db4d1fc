"""The publication figure: one annotated crop over a band that says where, when and whose."""

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from publish.footer import footer
from publish.models import Caption, Crop, Mark
from publish.panel import annotate
from publish.png import to_png
from publish.scalebar import ScaleBar


@dataclass(frozen=True)
class Figure:
    """A rendered figure: the image (crop on top, caption band under it) and what it states."""

    image: Image.Image
    caption: Caption
    m_per_px: float
    scalebar: ScaleBar
    image_height: int

    @property
    def metadata(self) -> dict[str, str]:
        """The PNG text chunks: the caption's, and the scale bar's length."""
        return self.caption.metadata(self.m_per_px) | {
            "tumen:scalebar_m": f"{self.scalebar.metres:g}",
            "tumen:image_height": str(self.image_height),
        }

    def png(self) -> bytes:
        """The figure as PNG, with its metadata as text chunks."""
        return to_png(self.image, self.metadata)


def render_figure(crop: Crop, marks: Sequence[Mark], caption: Caption) -> Figure:
    """The crop with its marks, scale bar, north arrow and stamp, then the heading and credit lines."""
    panel = annotate(crop, marks, synthetic=caption.synthetic)
    heading = f"{caption.title} — {caption.when_text} — scene {caption.scene_id}"
    credit = caption.credit + (" — SYNTHETIC image" if caption.synthetic else "")
    band = footer(crop.width, [(heading, True), (credit, False)], base=crop.width)
    out = Image.new("RGB", (crop.width, crop.height + band.height), (255, 255, 255))
    out.paste(panel.image, (0, 0))
    out.paste(band, (0, crop.height))
    return Figure(out, caption, crop.m_per_px, panel.scalebar, crop.height)
