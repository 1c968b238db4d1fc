"""The narrow interface routes use to read and write sightings: SQLite or PostgreSQL/PostGIS."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from overlays.models import ObservationIn, ReviewIn, StoredObservation

FILTERABLE = ("site", "kind", "status", "scene_id", "track_id", "method", "review")


@dataclass(frozen=True)
class Query:
    """What a client asked for: spatial, temporal and property filters, paging and order."""

    bbox: tuple[float, float, float, float] | None = None
    start: datetime | None = None  # interval start (None: open)
    end: datetime | None = None  # interval end (None: open)
    equals: dict[str, str] = field(default_factory=dict)
    limit: int = 100
    offset: int = 0
    descending: bool = False


@dataclass(frozen=True)
class Page:
    """One page of matches and how many match in all."""

    features: list[StoredObservation]
    matched: int


@dataclass(frozen=True)
class Change:
    """One line of a feature's history."""

    seq: int
    feature_id: str
    action: str
    actor: str
    at: str
    version: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class ObservationStore(Protocol):
    """Everything the API needs from storage; every write is one transaction with its history."""

    def get(self, fid: str) -> StoredObservation: ...

    def query(self, q: Query) -> Page: ...

    def create(
        self, feature: ObservationIn, *, actor: str, fid: str | None = None
    ) -> StoredObservation: ...

    def replace(
        self, fid: str, feature: ObservationIn, *, actor: str, if_version: int | None = None
    ) -> StoredObservation: ...

    def patch(
        self, fid: str, merged: ObservationIn, *, actor: str, if_version: int | None = None
    ) -> StoredObservation: ...

    def delete(self, fid: str, *, actor: str, if_version: int | None = None) -> None: ...

    def history(self, fid: str) -> list[Change]: ...

    def recent_changes(
        self,
        *,
        limit: int,
        actions: tuple[str, ...] | None = None,
        since: datetime | None = None,
        site: str | None = None,
    ) -> list[Change]:
        """The latest history lines of every sighting, newest first (what a feed of news reads)."""
        ...

    def review(
        self, fid: str, verdict: ReviewIn, *, actor: str, if_version: int | None = None
    ) -> StoredObservation:
        """Set the review fields (reviewed_by: the verdict's ``by`` or ``actor``), logged as 'review'."""
        ...

    def create_many(
        self, features: Sequence[tuple[str | None, ObservationIn]], *, actor: str
    ) -> int: ...

    def replace_automated(
        self, scene_id: str, features: Sequence[ObservationIn], *, actor: str
    ) -> tuple[int, list[str]]:
        """In one transaction, delete the scene's automated sightings and create ``features``.

        Answers how many were deleted and the new ids; manual and reported ones are never touched.
        """
        ...
