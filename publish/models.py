"""The plain inputs of every rendering: pixels on a metric grid, marks to draw, what to say."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
from affine import Affine


@dataclass(frozen=True)
class Crop:
    """Pixels of one scene on a north-up grid in metres: ``rgb`` is (rows, cols, 3) uint8.

    ``transform`` maps pixel to ``crs`` coordinates; its pixel width is the figure's scale.
    ``valid`` (rows, cols) is False where the scene has no data.
    """

    rgb: np.ndarray
    transform: Affine
    crs: str
    valid: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3 or self.rgb.dtype != np.uint8:
            raise ValueError(
                f"rgb: expected (rows, cols, 3) uint8, got {self.rgb.shape} {self.rgb.dtype}"
            )
        if abs(abs(self.transform.a) - abs(self.transform.e)) > 1e-9 * abs(self.transform.a):
            raise ValueError("transform: pixels must be square for a scale bar to hold both ways")

    @property
    def width(self) -> int:
        """Columns."""
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        """Rows."""
        return int(self.rgb.shape[0])

    @property
    def m_per_px(self) -> float:
        """Metres per pixel (the grid is in metres)."""
        return abs(self.transform.a)

    @property
    def nodata_fraction(self) -> float:
        """Share of pixels without data (0 when there is no mask)."""
        if self.valid is None or self.valid.size == 0:
            return 0.0
        return 1.0 - float(np.count_nonzero(self.valid)) / self.valid.size


@dataclass(frozen=True)
class Mark:
    """A sighting as drawn: its GeoJSON geometry in lon/lat, its label and its colour."""

    geometry: dict[str, Any]
    label: str
    colour: tuple[int, int, int]
    absent: bool = False


@dataclass(frozen=True)
class Caption:
    """What a figure says about its image: place, time, scene, and whose image it is."""

    title: str
    when: datetime
    scene_id: str
    provider: str
    licence: str
    synthetic: bool
    time_precision: Literal["minute", "hour", "day"] = "minute"

    @property
    def credit(self) -> str:
        """'Image © provider, licence; annotations: tumen' — the line every figure carries."""
        return f"Image © {self.provider}, {self.licence}; annotations: tumen"

    @property
    def when_text(self) -> str:
        """The date and time with its zone as given ('2022-11-04 13:10 UTC+09:00'); a day alone if that is all that is known."""
        if self.time_precision == "day":
            return f"{self.when:%Y-%m-%d} (time of day not known)"
        offset = self.when.strftime("%z")
        zone = "UTC" if offset in ("", "+0000") else f"UTC{offset[:3]}:{offset[3:]}"
        clock = f"{self.when:%H}:00" if self.time_precision == "hour" else f"{self.when:%H:%M}"
        return f"{self.when:%Y-%m-%d} {clock} {zone}"

    @property
    def day_text(self) -> str:
        """The scene's own calendar day."""
        return f"{self.when:%Y-%m-%d}"

    def metadata(self, m_per_px: float) -> dict[str, str]:
        """PNG text chunks: credit, date, scene, synthetic flag and scale, for whoever reuses the file."""
        meta = {
            "Title": f"{self.title}, {self.when_text}",
            "Copyright": self.credit,
            "Source": self.scene_id,
            "Software": "tumen",
            "tumen:credit": self.credit,
            "tumen:datetime": self.when.isoformat(),
            "tumen:scene_id": self.scene_id,
            "tumen:synthetic": "true" if self.synthetic else "false",
            "tumen:m_per_px": f"{m_per_px:.6f}",
        }
        if self.synthetic:
            meta["Disclaimer"] = "SYNTHETIC image, not a satellite image"
        return meta


@dataclass(frozen=True)
class Panel:
    """One date of a strip: its crop, marks and caption, and the line under it (confirmed counts)."""

    crop: Crop
    caption: Caption
    marks: list[Mark] = field(default_factory=list)
    note: str = ""
