"""How each kind of sighting reads and looks: its label, its plural and its colour, in one table.

The map reads this table from the observations collection document (``kinds``); the report draws
with the same colours. The order is the map legend's.
"""

from dataclasses import asdict, dataclass
from typing import Any

from overlays.models import Kind


@dataclass(frozen=True)
class KindStyle:
    """A kind as people read it: '1 wagon', '3 wagons', drawn in orange."""

    kind: Kind
    label: str
    plural: str
    colour: str  # "#rrggbb"

    @property
    def rgb(self) -> tuple[int, int, int]:
        """The colour as an (r, g, b) triple, for Pillow."""
        return (int(self.colour[1:3], 16), int(self.colour[3:5], 16), int(self.colour[5:7], 16))


KIND_STYLES: tuple[KindStyle, ...] = (
    KindStyle("train", "train", "trains", "#d35400"),
    KindStyle("wagon", "wagon", "wagons", "#e67e22"),
    KindStyle("locomotive", "locomotive", "locomotives", "#8e44ad"),
    KindStyle("container", "container", "containers", "#2980b9"),
    KindStyle("cargo", "cargo", "cargo", "#16a085"),
    KindStyle("ship", "ship", "ships", "#c0392b"),
    KindStyle("other", "other", "objects", "#7f8c8d"),
)
STYLE_OF: dict[str, KindStyle] = {s.kind: s for s in KIND_STYLES}


def kinds_doc() -> list[dict[str, Any]]:
    """The table as served: [{kind, label, plural, colour}], in legend order."""
    return [asdict(s) for s in KIND_STYLES]
