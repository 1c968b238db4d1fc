"""The schematic world the demo scenes depict, in UTM 52N metres (EPSG:32652).

Anchors come from reference/sites.md (bridge centre, Khasan and Tumangang stations, Rajin station,
tripoint 423); everything between them (track curves, yard, quay, piers) is schematic, drawn to true
scale. Drawn objects and the demo sightings both take their coordinates from here.
"""

from functools import lru_cache

from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon, box
from shapely.ops import transform as shp_transform

CRS = "EPSG:32652"
GSD = 0.5  # metres per pixel

# Anchors (sourced, see tumen/sites.json): projected once here.
BRIDGE_CENTRE = Point(635023, 4697178)
KHASAN_STATION = Point(635344, 4698621)
TUMANGANG_STATION = Point(632298, 4697818)
RAJIN_STATION = Point(606348, 4678307)

# Footprints of the scenes (minx, miny, maxx, maxy), snapped to 10 m.
BORDER = (631550.0, 4696720.0, 635900.0, 4699150.0)  # bridge + khasan + tumangang
TUMANGANG = (631550.0, 4697250.0, 633050.0, 4698420.0)
KHASAN = (634850.0, 4698100.0, 635880.0, 4699120.0)
RAJIN = (606380.0, 4676280.0, 608140.0, 4677980.0)

# The bridge: 623 m by its spans (33 + 8×67 + 54 m), axis WSW–ENE (bearing ~67.5°, estimate).
BRIDGE_LENGTH = 623.0
_ux, _uy = 0.9239, 0.3827
BRIDGE_WEST = Point(
    BRIDGE_CENTRE.x - _ux * BRIDGE_LENGTH / 2, BRIDGE_CENTRE.y - _uy * BRIDGE_LENGTH / 2
)
BRIDGE_EAST = Point(
    BRIDGE_CENTRE.x + _ux * BRIDGE_LENGTH / 2, BRIDGE_CENTRE.y + _uy * BRIDGE_LENGTH / 2
)

# The Tumen, border river, through tripoint 423 and under the bridge, roughly NNW → SSE.
RIVER = LineString([(634560, 4699200), (634867, 4697688), (635023, 4697178), (635180, 4696650)])
RIVER_WIDTH = 260.0

# Main line: Tumangang station → bridge → Khasan station (DPRK west bank, Russia east bank).
MAIN_DPRK = LineString(
    [
        (631600, 4697905),
        (632298, 4697818),
        (633200, 4697610),
        (634150, 4697300),
        (BRIDGE_WEST.x, BRIDGE_WEST.y),
    ]
)
MAIN_BRIDGE = LineString([BRIDGE_WEST, BRIDGE_EAST])
MAIN_RU = LineString(
    [
        (BRIDGE_EAST.x, BRIDGE_EAST.y),
        (635560, 4697470),
        (635640, 4697900),
        (635470, 4698300),
        (KHASAN_STATION.x, KHASAN_STATION.y),
        (635200, 4699100),
    ]
)

# Khasan station: one platform, 6 tracks, along the line north of the curve.
KHASAN_AXIS = LineString([(635485, 4698260), (635230, 4698960)])
KHASAN_TRACK_OFFSETS = (-12.5, -7.5, -2.5, 2.5, 7.5, 12.5)  # metres, 5 m apart
KHASAN_PLATFORM_BETWEEN = (-7.5, -2.5)

# Tumangang: station tracks along the main line, and the freight-handling yard south of it.
TUMANGANG_AXIS = LineString([(631700, 4697893), (632850, 4697690)])
TUMANGANG_YARD_OFFSETS = tuple(-(25.0 + 5.0 * i) for i in range(8))  # 8 yard tracks, south side
TUMANGANG_YARD = Polygon(
    [(631900, 4697790), (632820, 4697628), (632780, 4697430), (631870, 4697590)]
)  # the secure freight-handling area (cargo pad south of the tracks)

# Rajin: land to the north-west, sea to the south-east; a port line from the station to the piers,
# passing Pier 3 (RasonConTrans, Russia), then Pier 2 (the "DPRK-only" pier, estimate), then Pier 1.
RAJIN_QUAY_Y = 4677200.0
RAJIN_PIERS = {
    "3": box(606700, 4676560, 606820, RAJIN_QUAY_Y),
    "2": box(607120, 4676560, 607240, RAJIN_QUAY_Y),
    "1": box(607540, 4676560, 607660, RAJIN_QUAY_Y),
}
RAJIN_PORT_LINE = LineString(
    [
        (RAJIN_STATION.x, RAJIN_STATION.y),
        (606600, 4677900),
        (606760, 4677300),
        (607200, 4677260),
        (607900, 4677260),
    ]
)


def track(axis: LineString, offset: float) -> LineString:
    """A track parallel to ``axis`` at ``offset`` metres (left positive)."""
    return axis.offset_curve(offset) if offset else axis


def khasan_track(i: int) -> LineString:
    """Khasan station track ``i`` (0–5, west to east)."""
    return track(KHASAN_AXIS, KHASAN_TRACK_OFFSETS[i])


def tumangang_yard_track(i: int) -> LineString:
    """Tumangang yard track ``i`` (0 nearest the main line)."""
    return track(TUMANGANG_AXIS, TUMANGANG_YARD_OFFSETS[i])


def pier_berth(pier: str, side: str = "east") -> LineString:
    """The berth line along one side of a pier, 10 m off its face, from the quay to the head."""
    minx, miny, maxx, maxy = RAJIN_PIERS[pier].bounds
    x = maxx + 10 if side == "east" else minx - 10
    return LineString([(x, maxy - 20), (x, miny + 10)])


@lru_cache(maxsize=1)
def _to_wgs84() -> Transformer:
    return Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def to_lonlat(geom):  # type: ignore[no-untyped-def]
    """A shapely geometry from UTM 52N to WGS84 lon/lat."""
    return shp_transform(_to_wgs84().transform, geom)
