"""ObservationStore on PostgreSQL/PostGIS: what several tumen instances share.

The same documents as ``SQLiteStore`` (the rules of a row are ``overlays.records``); the geometry
also as PostGIS (SRID 4326) with a GiST index, the time with a B-tree. Every write is one
transaction with its history line. If-Match is a conditional update on the version
(``UPDATE … WHERE id = %s AND version = %s``): when no row matches, the sighting is gone (404) or
another writer got there first (412), told apart by a second look. A write without If-Match retries
on such a race, as SQLite's lock would have made it wait.

Connections come from ``connect`` (the app's pool, or one per call for a command) in autocommit
mode; a pool with no free connection in time, or a server out of reach, is ``StoreUnavailable``
(503 with Retry-After), never a hang or a 500.
"""

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Json
from psycopg_pool import PoolTimeout

from overlays.errors import (
    FeatureNotFound,
    InvalidObservation,
    StoreUnavailable,
    VersionConflict,
)
from overlays.models import ObservationIn, ReviewIn, StoredObservation
from overlays.records import Row, new_id, next_row, now, row_of, stamp, verdict_fields
from overlays.store import FILTERABLE, Change, Page, Query

logger = logging.getLogger("tumen.store")

Connect = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]

# Applied in order by `tumen db upgrade` (tumen.db), each once, recorded in schema_version.
MIGRATIONS: list[str] = [
    """
    CREATE EXTENSION IF NOT EXISTS postgis;
    CREATE TABLE observations (
        id              text COLLATE "C" PRIMARY KEY,
        site            text NOT NULL,
        scene_id        text,
        kind            text NOT NULL,
        status          text NOT NULL,
        method          text NOT NULL,
        track_id        text,
        review          text NOT NULL,          -- unreviewed | confirmed | disputed
        observed_at     timestamptz NOT NULL,
        observed_until  timestamptz NOT NULL,   -- observed_at for an instant
        version         integer NOT NULL,
        geom            geometry(Geometry, 4326) NOT NULL,
        geometry        json NOT NULL,          -- the GeoJSON as written (what is served)
        properties      json NOT NULL           -- with the server-kept fields
    );
    CREATE INDEX observations_geom ON observations USING gist (geom);
    CREATE INDEX observations_time ON observations (observed_at);
    CREATE INDEX observations_site_time ON observations (site, observed_at);
    CREATE INDEX observations_scene ON observations (scene_id) WHERE scene_id IS NOT NULL;
    CREATE TABLE observation_history (
        seq             bigserial PRIMARY KEY,
        feature_id      text COLLATE "C" NOT NULL,
        action          text NOT NULL,
        actor           text NOT NULL,
        at              timestamptz NOT NULL,
        version         integer NOT NULL,
        site            text,                   -- the sighting's site (after, else before)
        before          json,
        after           json
    );
    CREATE INDEX observation_history_fid ON observation_history (feature_id, seq);
    CREATE INDEX observation_history_at ON observation_history (at);
    """,
]

COLUMNS = (
    "site, scene_id, kind, status, method, track_id, review, observed_at, observed_until, "
    "version, geom, geometry, properties"
)
VALUES = (
    "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, ST_SetSRID(ST_GeomFromGeoJSON(%s::text), 4326), %s, %s"
)
SELECT = "SELECT id, version, geometry, properties FROM observations"
RETRIES = 5  # of a write without If-Match that raced another
IMPORT_BATCH = 500  # rows per statement batch of an import (and per step of its progress)


@dataclass(frozen=True)
class RowsImported:
    """What ``import_rows`` wrote, and the sighting ids it left alone (already in the database)."""

    rows: int
    lines: int
    skipped: list[str]


def _values(row: Row) -> tuple[Any, ...]:
    return (
        row.site,
        row.scene_id,
        row.kind,
        row.status,
        row.method,
        row.track_id,
        row.review,
        row.observed_at,
        row.observed_until,
        row.version,
        json.dumps(row.geometry),
        Json(row.geometry),
        Json(row.properties),
    )


def _stored(row: Sequence[Any]) -> StoredObservation:
    fid, version, geometry, properties = row
    return StoredObservation(id=fid, version=version, geometry=geometry, properties=properties)


class PostgresStore:
    """Sightings in PostgreSQL/PostGIS, behind the same Protocol as SQLite."""

    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection; a pool with none free in time or a server out of reach: 503."""
        try:
            with self._connect() as conn:
                yield conn
        except PoolTimeout as err:
            raise StoreUnavailable("no free database connection in time") from err
        except psycopg.errors.UndefinedTable as err:
            raise StoreUnavailable(
                "the database has no tumen schema: run 'tumen db upgrade'"
            ) from err
        except psycopg.OperationalError as err:
            logger.warning("sightings database unavailable: %s", err)
            raise StoreUnavailable("the database cannot be reached") from err

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection[Any]]:
        with self._conn() as conn, conn.transaction():
            yield conn

    # --- reads ----------------------------------------------------------------------------------
    def get(self, fid: str) -> StoredObservation:
        """One record, or FeatureNotFound."""
        with self._conn() as conn:
            row = conn.execute(f"{SELECT} WHERE id = %s", (fid,)).fetchone()
        if row is None:
            raise FeatureNotFound("observations", fid)
        return _stored(row)

    def query(self, q: Query) -> Page:
        """Records matching ``q`` (bbox intersects, time interval intersects, properties equal)."""
        where: list[str] = []
        params: list[Any] = []
        if q.bbox is not None:
            where.append("geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)")
            params += list(q.bbox)
        if q.end is not None:
            where.append("observed_at <= %s")
            params.append(q.end)
        if q.start is not None:
            where.append("observed_until >= %s")
            params.append(q.start)
        for name, value in q.equals.items():
            if name not in FILTERABLE:  # never interpolate a name that is not ours
                raise ValueError(name)
            where.append(f"{name} = %s")
            params.append(value)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        order = "DESC" if q.descending else "ASC"
        with self._conn() as conn, conn.transaction():
            matched = conn.execute(
                f"SELECT count(*) FROM observations {clause}",
                params,  # type: ignore[arg-type]
            ).fetchone()[0]  # type: ignore[index]
            rows = conn.execute(
                f"{SELECT} {clause} ORDER BY observed_at {order}, id {order} LIMIT %s OFFSET %s",
                [*params, q.limit, q.offset],  # type: ignore[arg-type]
            ).fetchall()
        return Page([_stored(r) for r in rows], matched)

    def history(self, fid: str) -> list[Change]:
        """Every change of a record, oldest first (kept after deletion)."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT seq, feature_id, action, actor, at, version, before, after "
                "FROM observation_history WHERE feature_id = %s ORDER BY seq",
                (fid,),
            ).fetchall()
        if not rows:
            raise FeatureNotFound("observations", fid)
        return [_change(r) for r in rows]

    def recent_changes(
        self,
        *,
        limit: int,
        actions: tuple[str, ...] | None = None,
        since: datetime | None = None,
        site: str | None = None,
    ) -> list[Change]:
        """The latest history lines, newest first, of some actions, after a time, at a site."""
        where: list[str] = []
        params: list[Any] = []
        if actions is not None:
            where.append("action = ANY(%s)")
            params.append(list(actions))
        if since is not None:
            where.append("at >= %s::timestamptz")
            params.append(stamp(since))  # to the millisecond, as the lines are written
        if site is not None:
            where.append("site = %s")
            params.append(site)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT seq, feature_id, action, actor, at, version, before, after "
                f"FROM observation_history {clause} ORDER BY seq DESC LIMIT %s",
                [*params, limit],  # type: ignore[arg-type]
            ).fetchall()
        return [_change(r) for r in rows]

    # --- writes ---------------------------------------------------------------------------------
    @staticmethod
    def _log(
        conn: psycopg.Connection[Any],
        fid: str,
        action: str,
        actor: str,
        version: int,
        before: StoredObservation | None,
        after: StoredObservation | None,
    ) -> None:
        doc = after or before
        site = doc.properties.get("site") if doc else None
        conn.execute(
            "INSERT INTO observation_history "
            "(feature_id, action, actor, at, version, site, before, after) "
            "VALUES (%s, %s, %s, %s::timestamptz, %s, %s, %s, %s)",
            (
                fid,
                action,
                actor,
                now(),
                version,
                site,
                Json(before.feature()) if before else None,
                Json(after.feature()) if after else None,
            ),
        )

    def _insert(
        self, conn: psycopg.Connection[Any], fid: str, feature: ObservationIn, actor: str
    ) -> StoredObservation:
        """A new record (InvalidObservation when the id is taken) and its 'create' line."""
        row = row_of(fid, feature, version=1, created_at=None)
        cur = conn.execute(
            f"INSERT INTO observations (id, {COLUMNS}) VALUES (%s, {VALUES}) "
            "ON CONFLICT (id) DO NOTHING",
            (fid, *_values(row)),
        )
        if cur.rowcount == 0:
            raise InvalidObservation(f"id: feature '{fid}' already exists")
        stored = row.stored()
        self._log(conn, fid, "create", actor, 1, None, stored)
        return stored

    def create(
        self, feature: ObservationIn, *, actor: str, fid: str | None = None
    ) -> StoredObservation:
        """Insert a new record (a new id unless one is given) and its 'create' history line."""
        with self._tx() as conn:
            return self._insert(conn, fid or new_id(), feature, actor)

    def create_many(
        self, features: Sequence[tuple[str | None, ObservationIn]], *, actor: str
    ) -> int:
        """Insert many records in one transaction: all or nothing (a known id is replaced)."""
        with self._tx() as conn:
            for fid, feature in features:
                fid = fid or new_id()
                conn.execute("DELETE FROM observations WHERE id = %s", (fid,))
                self._insert(conn, fid, feature, actor)
        return len(features)

    def replace_automated(
        self, scene_id: str, features: Sequence[ObservationIn], *, actor: str
    ) -> tuple[int, list[str]]:
        """A scene's automated sightings replaced by a new run's, all or nothing, each change logged."""
        with self._tx() as conn:
            old = conn.execute(
                "DELETE FROM observations WHERE scene_id = %s AND method = 'automated' "
                "RETURNING id, version, geometry, properties",
                (scene_id,),
            ).fetchall()
            for row in sorted(old, key=lambda r: r[0]):
                before = _stored(row)
                self._log(conn, before.id, "delete", actor, before.version + 1, before, None)
            ids = [self._insert(conn, new_id(), feature, actor).id for feature in features]
        return len(old), ids

    def _update(
        self,
        fid: str,
        feature: ObservationIn | None,
        *,
        actor: str,
        if_version: int | None,
        action: str,
        review: dict[str, Any] | None = None,
    ) -> StoredObservation:
        """A new version of ``feature`` (None: the record as it is), its review fields kept.

        The UPDATE holds only where the version is still the one read: when it is not, If-Match
        fails (412), or, without If-Match, the write is made again on the newer version.
        """
        with self._tx() as conn:
            for _ in range(RETRIES):
                found = conn.execute(f"{SELECT} WHERE id = %s", (fid,)).fetchone()
                if found is None:
                    raise FeatureNotFound("observations", fid)
                before = _stored(found)
                if if_version is not None and if_version != before.version:
                    raise VersionConflict(fid, before.version)
                row = next_row(before, feature, review)
                cur = conn.execute(
                    f"UPDATE observations SET ({COLUMNS}) = ({VALUES}) "
                    "WHERE id = %s AND version = %s",
                    (*_values(row), fid, before.version),
                )
                if cur.rowcount == 1:
                    stored = row.stored()
                    self._log(conn, fid, action, actor, stored.version, before, stored)
                    return stored
            raise StoreUnavailable("the sighting changes too often to be written; retry")

    def replace(
        self, fid: str, feature: ObservationIn, *, actor: str, if_version: int | None = None
    ) -> StoredObservation:
        """Replace a record whole (PUT)."""
        return self._update(fid, feature, actor=actor, if_version=if_version, action="replace")

    def patch(
        self, fid: str, merged: ObservationIn, *, actor: str, if_version: int | None = None
    ) -> StoredObservation:
        """Store the result of a merge patch (validated by the caller)."""
        return self._update(fid, merged, actor=actor, if_version=if_version, action="patch")

    def review(
        self, fid: str, verdict: ReviewIn, *, actor: str, if_version: int | None = None
    ) -> StoredObservation:
        """Record a person's verdict as a new version, logged as 'review' (the sighting unchanged)."""
        return self._update(
            fid,
            None,
            actor=actor,
            if_version=if_version,
            action="review",
            review=verdict_fields(verdict, actor),
        )

    def delete(self, fid: str, *, actor: str, if_version: int | None = None) -> None:
        """Remove a record (only at ``if_version`` when given); its history stays."""
        with self._tx() as conn:
            if if_version is None:
                row = conn.execute(
                    "DELETE FROM observations WHERE id = %s "
                    "RETURNING id, version, geometry, properties",
                    (fid,),
                ).fetchone()
            else:
                row = conn.execute(
                    "DELETE FROM observations WHERE id = %s AND version = %s "
                    "RETURNING id, version, geometry, properties",
                    (fid, if_version),
                ).fetchone()
            if row is None:
                current = conn.execute(
                    "SELECT version FROM observations WHERE id = %s", (fid,)
                ).fetchone()
                if current is None:
                    raise FeatureNotFound("observations", fid)
                raise VersionConflict(fid, current[0])
            before = _stored(row)
            self._log(conn, fid, "delete", actor, before.version + 1, before, None)

    def import_rows(
        self,
        rows: Sequence[Row],
        history: Sequence[Change],
        progress: Callable[[int], None] | None = None,
    ) -> RowsImported:
        """Write sightings and history lines exactly as another store kept them, in one transaction.

        For ``tumen db import``: ids, versions, documents, and each line's action, actor, time and
        before/after unchanged (``history`` oldest first), so ETags and If-Match carry on. An id the
        database already knows (a sighting, or the history of a deleted one) is left alone with
        all its lines.
        """
        tick = progress or (lambda n: None)
        ids = list(dict.fromkeys([r.id for r in rows] + [c.feature_id for c in history]))
        with self._tx() as conn:
            known = {
                r[0]
                for r in conn.execute(
                    "SELECT id FROM observations WHERE id = ANY(%s) UNION "
                    "SELECT feature_id FROM observation_history WHERE feature_id = ANY(%s)",
                    (ids, ids),
                )
            }
            new_rows = [r for r in rows if r.id not in known]
            new_lines = [c for c in history if c.feature_id not in known]
            with conn.cursor() as cur:
                for start in range(0, len(new_rows), IMPORT_BATCH):
                    batch = new_rows[start : start + IMPORT_BATCH]
                    cur.executemany(
                        f"INSERT INTO observations (id, {COLUMNS}) VALUES (%s, {VALUES})",
                        [(r.id, *_values(r)) for r in batch],
                    )
                    tick(len(batch))
                tick(len(rows) - len(new_rows))
                for start in range(0, len(new_lines), IMPORT_BATCH):
                    lines = new_lines[start : start + IMPORT_BATCH]
                    cur.executemany(
                        "INSERT INTO observation_history "
                        "(feature_id, action, actor, at, version, site, before, after) "
                        "VALUES (%s, %s, %s, %s::timestamptz, %s, %s, %s, %s)",
                        [_line(c) for c in lines],
                    )
                    tick(len(lines))
                tick(len(history) - len(new_lines))
        return RowsImported(len(new_rows), len(new_lines), [i for i in ids if i in known])


def _line(c: Change) -> tuple[Any, ...]:
    """The columns of a history line (its site: the document's after, else before, as ``_log``)."""
    doc = c.after or c.before or {}
    site = doc.get("properties", {}).get("site")
    before = Json(c.before) if c.before is not None else None
    after = Json(c.after) if c.after is not None else None
    return (c.feature_id, c.action, c.actor, c.at, c.version, site, before, after)


def _change(r: Sequence[Any]) -> Change:
    return Change(r[0], r[1], r[2], r[3], stamp(r[4]), r[5], r[6], r[7])
