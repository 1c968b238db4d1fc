"""Activity over time, one series per kind: present sightings and their counts per period.

Counts of different kinds are never added together (300 containers and one ship are not "301"); each
series stands beside the site's baseline for its own kind, where the site has one. Only reviewed
sightings count (confirmed, by default); candidates nobody has checked yet are shown apart, never
added in, and disputed ones are left out.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from overlays.models import KINDS, Kind, Review, StoredObservation
from overlays.sites import Baseline, SiteInfo

Interval = Literal["day", "week", "month"]


class ActivityPoint(BaseModel):
    """One period of one kind: how many present sightings, and the sum of their counts."""

    period: str = Field(description="YYYY-MM-DD (day; week: its Monday) or YYYY-MM (month)")
    sightings: int = Field(description="present sightings with the review asked for (confirmed)")
    count: int = Field(description="the sum of their counts")
    unreviewed: int = Field(0, description="present candidates nobody has reviewed yet, apart")
    unreviewed_count: int = Field(0, description="the sum of the unreviewed candidates' counts")


class KindSeries(BaseModel):
    """The periods with sightings of one kind, and the site's baseline for that kind (or null)."""

    kind: Kind
    points: list[ActivityPoint]
    baseline: Baseline | None


class Activity(BaseModel):
    """The activity document: one series per kind present, or the one kind asked for."""

    site: str
    interval: Interval
    kind: Kind | None = Field(description="the kind asked for; null: every kind present")
    review: Review = Field(description="the review state counted in sightings and count")
    main_kind: Kind | None = Field(description="the site's main kind (the chart opens on it)")
    series: list[KindSeries]


def period(when: datetime, interval: Interval) -> str:
    """The label of the period ``when`` falls in (local time of the record)."""
    if interval == "day":
        return when.date().isoformat()
    if interval == "week":
        monday = when.date() - timedelta(days=when.weekday())
        return monday.isoformat()
    return when.strftime("%Y-%m")


def activity_by_kind(
    observations: list[StoredObservation],
    site: SiteInfo,
    interval: Interval,
    kind: Kind | None = None,
    review: Review = "confirmed",
) -> Activity:
    """Per kind and period: present sightings with ``review`` and their summed counts.

    Unreviewed candidates are counted apart in each point. With ``kind``, that kind's series alone
    (empty if nothing was seen); without, a series for each kind with a present sighting, in the
    order of ``Kind``.
    """
    rows: dict[Kind, dict[str, ActivityPoint]] = defaultdict(dict)
    for o in observations:
        props = o.properties
        if props.get("status") != "present" or (kind is not None and props["kind"] != kind):
            continue
        state = props.get("review") or "confirmed"
        if state != review and state != "unreviewed":
            continue
        key = period(datetime.fromisoformat(props["observed_at"]), interval)
        point = rows[props["kind"]].setdefault(key, ActivityPoint(period=key, sightings=0, count=0))
        if state == review:
            point.sightings += 1
            point.count += int(props.get("count") or 0)
        else:
            point.unreviewed += 1
            point.unreviewed_count += int(props.get("count") or 0)
    kinds = [kind] if kind is not None else [k for k in KINDS if k in rows]
    series = [
        KindSeries(
            kind=k,
            points=[rows[k][p] for p in sorted(rows[k])],
            baseline=site.baseline(k),
        )
        for k in kinds
    ]
    return Activity(
        site=site.id,
        interval=interval,
        kind=kind,
        review=review,
        main_kind=site.main_kind,
        series=series,
    )
