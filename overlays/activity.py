"""Activity over time: sightings and summed counts per day, week or month, beside the site's baseline."""

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Literal

from overlays.models import StoredObservation

Interval = Literal["day", "week", "month"]


def period(when: datetime, interval: Interval) -> str:
    """The label of the period ``when`` falls in (local time of the record)."""
    if interval == "day":
        return when.date().isoformat()
    if interval == "week":
        monday = when.date() - timedelta(days=when.weekday())
        return monday.isoformat()
    return when.strftime("%Y-%m")


def activity_series(
    observations: list[StoredObservation], interval: Interval
) -> list[dict[str, Any]]:
    """Per period: number of present sightings and the sum of their counts."""
    rows: dict[str, dict[str, int]] = defaultdict(lambda: {"sightings": 0, "count": 0})
    for o in observations:
        if o.properties.get("status") != "present":
            continue
        key = period(datetime.fromisoformat(o.properties["observed_at"]), interval)
        rows[key]["sightings"] += 1
        rows[key]["count"] += int(o.properties.get("count") or 0)
    return [{"period": k, **v} for k, v in sorted(rows.items())]
