"""What every store writes for a sighting: its row's columns and the document it serves.

One home for the rules both stores follow (``sqlite_store``, ``postgres_store``): the server-kept
fields, the review a sighting starts with, the time a history line carries, a new id.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from overlays.models import (
    REVIEW_FIELDS,
    SERVER_FIELDS,
    ObservationIn,
    ReviewIn,
    StoredObservation,
    initial_review,
)


def new_id() -> str:
    """A new sighting id."""
    return f"obs-{uuid.uuid4().hex[:12]}"


def stamp(at: datetime) -> str:
    """The text form of history times: UTC, milliseconds, 'Z' (sorts as it reads)."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> str:
    """The time now, as a history line and ``updated_at`` say it."""
    return stamp(datetime.now(UTC))


@dataclass(frozen=True)
class Row:
    """One sighting as stored: the columns queries filter on, and the document served."""

    id: str
    site: str
    scene_id: str | None
    kind: str
    status: str
    method: str
    track_id: str | None
    review: str
    observed_at: datetime
    observed_until: datetime  # observed_at when the sighting is of an instant
    version: int
    geometry: dict[str, Any]
    properties: dict[str, Any]

    def stored(self) -> StoredObservation:
        """The record the API serves."""
        return StoredObservation(
            id=self.id, version=self.version, geometry=self.geometry, properties=self.properties
        )


def row_of(
    fid: str,
    feature: ObservationIn,
    *,
    version: int,
    created_at: str | None,
    review: dict[str, Any] | None = None,
) -> Row:
    """The row of ``feature`` at ``version``; ``review`` (the review fields) replaces what it says."""
    props = feature.properties.model_dump(mode="json", exclude=set(SERVER_FIELDS))  # type: ignore[union-attr]
    p = feature.properties
    if p is None or feature.geometry is None:
        raise ValueError("properties and geometry: required")
    if review is not None:
        props.update(review)
    props["review"] = props.get("review") or initial_review(props["method"])
    stamped = now()
    props.update(created_at=created_at or stamped, updated_at=stamped, version=version)
    return Row(
        id=fid,
        site=p.site,
        scene_id=p.scene_id,
        kind=p.kind,
        status=p.status,
        method=p.method,
        track_id=p.track_id,
        review=props["review"],
        observed_at=p.observed_at,
        observed_until=p.observed_until or p.observed_at,
        version=version,
        geometry=feature.geometry.model_dump(mode="json", exclude_none=True),
        properties=props,
    )


def next_row(
    before: StoredObservation,
    feature: ObservationIn | None,
    review: dict[str, Any] | None = None,
) -> Row:
    """The next version of ``before``: ``feature`` (None: as it is), its review fields kept.

    Only ``review`` (a person's verdict) changes them.
    """
    if feature is None:
        feature = ObservationIn.model_validate(before.feature())
    kept = {k: before.properties.get(k) for k in REVIEW_FIELDS}
    return row_of(
        before.id,
        feature,
        version=before.version + 1,
        created_at=before.properties.get("created_at", now()),
        review=review if review is not None else kept,
    )


def verdict_fields(verdict: ReviewIn, actor: str) -> dict[str, Any]:
    """The review fields a verdict sets (reviewed_by: the verdict's ``by``, else ``actor``)."""
    return {
        "review": verdict.review,
        "reviewed_by": verdict.by or actor,
        "reviewed_at": now(),
        "review_note": (verdict.note or "").strip() or None,
    }
