"""The one rule for a ``datetime`` the imagery side is asked for: an instant, a date, or latest."""

from datetime import UTC, date, datetime, time

from tiles.errors import InvalidDatetime

# What WMTS clients send for "no time chosen": QGIS 3.22 leaves the {Time} placeholder unfilled.
LATEST = {"", "latest", "current", "now", "{time}"}


def parse_datetime(value: str | None) -> datetime | None:
    """An instant from ISO 8601; a bare date means the end of that day (UTC); None means latest."""
    if value is None or value.strip().lower() in LATEST:
        return None
    text = value.strip()
    # An unencoded '+' in a query string arrives as a space: "2022-11-04T10:24:00 09:00".
    if "T" in text and " " in text:
        text = text.replace(" ", "+")
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max, tzinfo=UTC)
        when = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as err:
        raise InvalidDatetime(value) from err
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
