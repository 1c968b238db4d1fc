"""Query parameters of the items routes, parsed into a Query (errors name the parameter)."""

from datetime import UTC, date, datetime, time
from typing import get_args

from overlays.errors import InvalidQuery
from overlays.models import KINDS, Kind, Review
from overlays.store import FILTERABLE, Query

MAX_LIMIT = 10_000
MAX_OFFSET = 2**53 - 1  # the largest integer every JSON client reads exactly
DEFAULT_LIMIT = 100


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` in WGS84."""
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as err:
        raise InvalidQuery(f"bbox: '{text}' is not four comma-separated numbers") from err
    if len(values) != 4:
        raise InvalidQuery(
            f"bbox: expected 4 numbers (minlon,minlat,maxlon,maxlat), got {len(values)}"
        )
    w, s, e, n = values
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        raise InvalidQuery("bbox: coordinates out of range")
    if w > e or s > n:
        raise InvalidQuery("bbox: min must not exceed max")
    return (w, s, e, n)


def _instant(text: str, *, end: bool) -> datetime:
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime.combine(d, time.max if end else time.min, tzinfo=UTC)
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as err:
        raise InvalidQuery(
            f"datetime: '{text}' is not RFC 3339 (e.g. 2022-11-04T13:10:00+09:00 or 2022-11-04)"
        ) from err
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_datetime(text: str | None) -> tuple[datetime | None, datetime | None]:
    """An instant, or an interval ``a/b`` with ``..`` or nothing for an open end."""
    if text is None:
        return None, None
    if "/" in text:
        a, _, b = text.partition("/")
        start = None if a in ("", "..") else _instant(a, end=False)
        stop = None if b in ("", "..") else _instant(b, end=True)
        if start and stop and start > stop:
            raise InvalidQuery("datetime: the interval ends before it starts")
        return start, stop
    if len(text) == 10:
        return _instant(text, end=False), _instant(text, end=True)
    at = _instant(text, end=False)
    return at, at


def parse_kind(text: str | None) -> Kind | None:
    """A sighting kind, or None for every kind; anything else is a 400 naming the kinds."""
    if text is None:
        return None
    for kind in KINDS:
        if text == kind:
            return kind
    raise InvalidQuery(f"kind: unknown kind '{text}'; known: {', '.join(KINDS)}")


def parse_query(
    *,
    bbox: str | None,
    datetime_: str | None,
    limit: int | None,
    offset: int,
    sortby: str | None,
    equals: dict[str, str | None],
) -> Query:
    """Everything the items route accepts, checked; a limit over the maximum is capped."""
    start, end = parse_datetime(datetime_)
    descending = False
    if sortby is not None:
        key = sortby.strip()
        descending = key.startswith("-")
        if key.lstrip("+-") != "observed_at":
            raise InvalidQuery(
                f"sortby: only 'observed_at' or '-observed_at' is supported, not '{sortby}'"
            )
    filters = {k: v for k, v in equals.items() if v is not None and k in FILTERABLE}
    if "review" in filters and filters["review"] not in get_args(Review):
        raise InvalidQuery(
            f"review: unknown review '{filters['review']}'; known: {', '.join(get_args(Review))}"
        )
    return Query(
        bbox=parse_bbox(bbox),
        start=start,
        end=end,
        equals=filters,
        limit=min(limit if limit is not None else DEFAULT_LIMIT, MAX_LIMIT),
        offset=offset,
        descending=descending,
    )
