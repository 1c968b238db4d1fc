"""Errors the imagery side raises, and the one table that maps them (and rio-tiler's) to HTTP."""

from datetime import datetime

from rio_tiler.errors import (
    InvalidBandName,
    MaxArraySizeError,
    PointOutsideBounds,
    RioTilerError,
    TileOutsideBounds,
)
from starlette import status
from titiler.core.errors import BadRequestError, TileNotFoundError


class TilesError(Exception):
    """Base of the imagery errors; the message is what the user reads."""


class SceneNotFound(TilesError):
    """A scene id that is not in the catalog."""

    def __init__(self, scene_id: str) -> None:
        super().__init__(f"scene '{scene_id}' is not in the catalog")
        self.scene_id = scene_id


class SiteNotFound(TilesError):
    """A site id that is not in the catalog."""

    def __init__(self, site_id: str, known: list[str]) -> None:
        super().__init__(f"site '{site_id}' is unknown; known sites: {', '.join(sorted(known))}")
        self.site_id = site_id


class InvalidSite(TilesError):
    """A site document (or its reference layers) that breaks a rule; the message names the field."""


class SiteExists(TilesError):
    """A site added under an id the catalog already has."""

    def __init__(self, site_id: str) -> None:
        super().__init__(f"site '{site_id}' already exists; remove it first or choose another id")
        self.site_id = site_id


class SiteInUse(TilesError):
    """A site that scenes or sightings still name cannot be removed."""

    def __init__(self, site_id: str, uses: list[str]) -> None:
        super().__init__(f"site '{site_id}' is in use by {' and '.join(uses)}; remove those first")
        self.site_id = site_id


class NoSceneAtTime(TilesError):
    """A site has scenes, but none at or before the requested time."""

    def __init__(self, site_id: str, when: datetime, first: datetime | None) -> None:
        if first is None:
            msg = f"site '{site_id}' has no scenes yet"
        else:
            msg = (
                f"site '{site_id}' has no scene at or before {when.isoformat()}; "
                f"its first scene is of {first.isoformat()}"
            )
        super().__init__(msg)


# How long a client should wait before asking again for imagery its storage could not give.
RETRY_AFTER_S = 5


class SceneUnavailable(TilesError):
    """The catalog has the scene but its COG is missing or unreadable (on disk, or in S3)."""

    def __init__(self, scene_id: str, reason: str) -> None:
        super().__init__(f"scene '{scene_id}' is unavailable: {reason}")
        self.scene_id = scene_id
        self.headers = {"Retry-After": str(RETRY_AFTER_S)}


class SceneNotBaked(TilesError):
    """A scene with no (current) PMTiles archive."""

    def __init__(self, scene_id: str) -> None:
        super().__init__(f"scene '{scene_id}' has no baked archive; run 'tumen bake {scene_id}'")


class IngestError(TilesError):
    """A file that cannot become a scene; the catalog is left as it was."""


class InvalidDatetime(TilesError):
    """A ``datetime`` query value that is not ISO 8601."""

    def __init__(self, value: str) -> None:
        super().__init__(
            f"datetime '{value}' is not ISO 8601; use e.g. 2022-11-04T13:10:00+09:00, "
            "2022-11-04 or 'latest'"
        )


class BadRequestParameter(TilesError):
    """A request parameter that tumen refuses on principle (e.g. ``url=``)."""


class StorageUnavailable(TilesError):
    """The object storage (S3) holding COGs and archives cannot be reached or refuses tumen.

    A request that needs it gets 503 with Retry-After; a command, one line and a non-zero exit.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(RETRY_AFTER_S)}


# More than one machine, PostgreSQL (issue 15): the catalog's database out of reach or too busy.
class CatalogUnavailable(TilesError):
    """The catalog's database cannot answer now; ``headers`` carries Retry-After.

    Unreachable, a connection lost, or every pooled connection busy: worth a retry.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"the catalog cannot be read right now ({reason}); retry in a moment")
        self.headers = {"Retry-After": "1"}


STATUS_CODES: dict[type[Exception], int] = {
    CatalogUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    SceneNotFound: status.HTTP_404_NOT_FOUND,
    SiteNotFound: status.HTTP_404_NOT_FOUND,
    NoSceneAtTime: status.HTTP_404_NOT_FOUND,
    SceneUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    StorageUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    SceneNotBaked: status.HTTP_404_NOT_FOUND,
    BadRequestParameter: status.HTTP_400_BAD_REQUEST,
    InvalidDatetime: status.HTTP_400_BAD_REQUEST,
    TileOutsideBounds: status.HTTP_404_NOT_FOUND,
    TileNotFoundError: status.HTTP_404_NOT_FOUND,
    PointOutsideBounds: status.HTTP_404_NOT_FOUND,
    InvalidBandName: status.HTTP_400_BAD_REQUEST,
    MaxArraySizeError: status.HTTP_400_BAD_REQUEST,
    BadRequestError: status.HTTP_400_BAD_REQUEST,
    # Any other rio-tiler error comes from request parameters (expression, bands, bounds...).
    RioTilerError: status.HTTP_400_BAD_REQUEST,
}
