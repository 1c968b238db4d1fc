"""Publication graphics: an annotated figure, dates side by side, a timelapse.

Renders from plain inputs only (RGB arrays on a metric grid, GeoJSON geometries in lon/lat, text)
and imports nothing from ``tiles``, ``overlays`` or ``tumen``: the composition package reads the
pixels and the sightings and calls these functions.
"""

from publish.figure import Figure, render_figure
from publish.models import Caption, Crop, Mark, Panel
from publish.strip import render_strip
from publish.timelapse import encode_gif, encode_mp4, render_frame

__all__ = [
    "Caption",
    "Crop",
    "Figure",
    "Mark",
    "Panel",
    "encode_gif",
    "encode_mp4",
    "render_figure",
    "render_frame",
    "render_strip",
]
