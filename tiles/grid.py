"""The tile matrix set tumen bakes, links to and serves its maps in: one name for it."""

import morecantile

WEB_MERCATOR = "WebMercatorQuad"


def web_mercator() -> morecantile.TileMatrixSet:
    """The WebMercatorQuad grid (morecantile's)."""
    return morecantile.tms.get(WEB_MERCATOR)
