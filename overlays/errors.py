"""Errors of the sightings side and their HTTP statuses (installed once by the composition root)."""

from starlette import status


class OverlaysError(Exception):
    """Base; the message is what the client reads."""


class FeatureNotFound(OverlaysError):
    """No feature with that id in that collection."""

    def __init__(self, collection: str, fid: str) -> None:
        super().__init__(f"feature '{fid}' is not in collection '{collection}'")


class CollectionNotFound(OverlaysError):
    """An unknown collection id."""

    def __init__(self, cid: str, known: list[str]) -> None:
        super().__init__(f"collection '{cid}' is unknown; collections: {', '.join(known)}")


class VersionConflict(OverlaysError):
    """If-Match names a version that is no longer current."""

    def __init__(self, fid: str, current: int) -> None:
        super().__init__(
            f"feature '{fid}' has changed: its current ETag is \"{current}\"; "
            "fetch it again and retry"
        )


class PreconditionRequired(OverlaysError):
    """A write that must name the version it changes (a review) came without If-Match."""

    def __init__(self, fid: str) -> None:
        super().__init__(
            f"If-Match: required to review feature '{fid}'; send its ETag as it came "
            '(e.g. If-Match: "3"), so that a verdict is never given on a version nobody saw'
        )


class InvalidObservation(OverlaysError):
    """A body that parses but breaks a rule (site, bbox, scene, …)."""


class InvalidQuery(OverlaysError):
    """A query parameter that cannot be used (bbox, datetime, sortby, property)."""


class WriteForbidden(OverlaysError):
    """Writes without a configured key, or with a wrong one."""


class ReadOnlyCollection(OverlaysError):
    """Writes to a collection that is derived or read-only."""

    def __init__(self, cid: str) -> None:
        super().__init__(f"collection '{cid}' is read-only; write to 'observations'")


class TooManyWrites(OverlaysError):
    """An API key over its write budget (TUMEN_WRITE_RATE); ``headers`` carries Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many writes with this API key: wait {retry_after} s and retry "
            "(the limit is TUMEN_WRITE_RATE writes per minute)"
        )
        self.headers = {"Retry-After": str(retry_after)}


# More than one machine, PostgreSQL (issue 15): the store's database out of reach or too busy.
class StoreUnavailable(OverlaysError):
    """The sightings' database cannot answer now; ``headers`` carries Retry-After.

    Unreachable, a connection lost, or every pooled connection busy: nothing was written, and the
    request may be retried.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"the sightings cannot be read or written right now ({reason}); retry")
        self.headers = {"Retry-After": "1"}


STATUS_CODES: dict[type[Exception], int] = {
    StoreUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    FeatureNotFound: status.HTTP_404_NOT_FOUND,
    CollectionNotFound: status.HTTP_404_NOT_FOUND,
    VersionConflict: status.HTTP_412_PRECONDITION_FAILED,
    PreconditionRequired: status.HTTP_428_PRECONDITION_REQUIRED,
    InvalidObservation: status.HTTP_422_UNPROCESSABLE_CONTENT,
    InvalidQuery: status.HTTP_400_BAD_REQUEST,
    WriteForbidden: status.HTTP_403_FORBIDDEN,
    ReadOnlyCollection: status.HTTP_405_METHOD_NOT_ALLOWED,
    TooManyWrites: status.HTTP_429_TOO_MANY_REQUESTS,
}
