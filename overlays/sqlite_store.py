"""ObservationStore on SQLite: WAL, an R*Tree over bounding boxes, an index on time, history rows."""

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from overlays.errors import FeatureNotFound, InvalidObservation, VersionConflict
from overlays.models import ObservationIn, ReviewIn, StoredObservation, initial_review
from overlays.records import Row, new_id, next_row, now, row_of, stamp, verdict_fields
from overlays.store import FILTERABLE, Change, Page, Query

SCHEMA = """
CREATE TABLE IF NOT EXISTS observations (
    id              TEXT PRIMARY KEY,
    site            TEXT NOT NULL,
    scene_id        TEXT,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    method          TEXT NOT NULL,
    track_id        TEXT,
    review          TEXT,               -- unreviewed | confirmed | disputed
    t0              REAL NOT NULL,      -- observed_at, UTC seconds
    t1              REAL NOT NULL,      -- observed_until or observed_at
    version         INTEGER NOT NULL,
    geometry        TEXT NOT NULL,      -- GeoJSON
    properties      TEXT NOT NULL       -- JSON, with the server-kept fields
);
CREATE INDEX IF NOT EXISTS observations_t0 ON observations(t0);
CREATE INDEX IF NOT EXISTS observations_site ON observations(site, t0);
-- Space and time in one R*Tree: a bbox + datetime query touches only the entries it needs.
CREATE VIRTUAL TABLE IF NOT EXISTS observations_idx USING rtree(rid, minx, maxx, miny, maxy, t0, t1);
CREATE TABLE IF NOT EXISTS observation_history (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    feature_id      TEXT NOT NULL,
    action          TEXT NOT NULL,
    actor           TEXT NOT NULL,
    at              TEXT NOT NULL,
    version         INTEGER NOT NULL,
    before          TEXT,
    after           TEXT
);
CREATE INDEX IF NOT EXISTS observation_history_fid ON observation_history(feature_id, seq);
"""


class SQLiteStore:
    """The default store, in the data dir's SQLite file (shared with the scenes catalog)."""

    def __init__(self, database: Path) -> None:
        self.database = Path(database)
        self.database.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.database, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            self._add_review_column(db)
            db.executescript(SCHEMA)
            self._reindex_if_missing(db)
        finally:
            db.close()

    @staticmethod
    def _add_review_column(db: sqlite3.Connection) -> None:
        """A file written before reviews existed: every sighting gets the review it would start with."""
        columns = {r[1] for r in db.execute("PRAGMA table_info(observations)")}
        if not columns or "review" in columns:
            return
        with db:
            db.execute("ALTER TABLE observations ADD COLUMN review TEXT")
            for rowid, method, properties in db.execute(
                "SELECT rowid, method, properties FROM observations"
            ).fetchall():
                props = json.loads(properties)
                props["review"] = props.get("review") or initial_review(method)
                db.execute(
                    "UPDATE observations SET review = ?, properties = ? WHERE rowid = ?",
                    (props["review"], json.dumps(props, ensure_ascii=False), rowid),
                )

    @staticmethod
    def _reindex_if_missing(db: sqlite3.Connection) -> None:
        """Fill the R*Tree from the rows when it is empty (a file written by an older tumen)."""
        if db.execute("SELECT 1 FROM observations_idx LIMIT 1").fetchone() is not None:
            return
        rows = db.execute("SELECT rowid, geometry, t0, t1 FROM observations").fetchall()
        with db:
            for rowid, geometry, t0, t1 in rows:
                minx, miny, maxx, maxy = shape(json.loads(geometry)).bounds
                db.execute(
                    "INSERT INTO observations_idx (rid, minx, maxx, miny, maxy, t0, t1) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (rowid, minx, maxx, miny, maxy, t0, t1),
                )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.database, timeout=30, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.database, timeout=30)
        try:
            yield db
        finally:
            db.close()

    # --- reads ----------------------------------------------------------------------------------
    @staticmethod
    def _row(row: tuple[Any, ...]) -> StoredObservation:
        fid, version, geometry, properties = row
        return StoredObservation(
            id=fid,
            version=version,
            geometry=json.loads(geometry),
            properties=json.loads(properties),
        )

    def get(self, fid: str) -> StoredObservation:
        """One record, or FeatureNotFound."""
        with self._read() as db:
            row = db.execute(
                "SELECT id, version, geometry, properties FROM observations WHERE id = ?", (fid,)
            ).fetchone()
        if row is None:
            raise FeatureNotFound("observations", fid)
        return self._row(row)

    def query(self, q: Query) -> Page:
        """Records matching ``q`` (bbox intersects, time interval intersects, properties equal)."""
        where: list[str] = []
        params: list[Any] = []
        join = ""
        if q.bbox is not None:
            join = "JOIN observations_idx b ON b.rid = o.rowid"
            where.append("b.minx <= ? AND b.maxx >= ? AND b.miny <= ? AND b.maxy >= ?")
            params += [q.bbox[2], q.bbox[0], q.bbox[3], q.bbox[1]]
            # The index keeps 32-bit floats, rounded outwards: it narrows, o.t0/o.t1 decide.
            if q.end is not None:
                where.append("b.t0 <= ?")
                params.append(q.end.timestamp() + 600)
            if q.start is not None:
                where.append("b.t1 >= ?")
                params.append(q.start.timestamp() - 600)
        if q.end is not None:
            where.append("o.t0 <= ?")
            params.append(q.end.timestamp())
        if q.start is not None:
            where.append("o.t1 >= ?")
            params.append(q.start.timestamp())
        for name, value in q.equals.items():
            if name not in FILTERABLE:  # never interpolate a name that is not ours
                raise ValueError(name)
            where.append(f"o.{name} = ?")
            params.append(value)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        order = "DESC" if q.descending else "ASC"
        with self._read() as db:
            matched = db.execute(
                f"SELECT count(*) FROM observations o {join} {clause}", params
            ).fetchone()[0]
            rows = db.execute(
                f"SELECT o.id, o.version, o.geometry, o.properties FROM observations o {join} "
                f"{clause} ORDER BY o.t0 {order}, o.id {order} LIMIT ? OFFSET ?",
                [*params, q.limit, q.offset],
            ).fetchall()
        return Page([self._row(r) for r in rows], matched)

    def history(self, fid: str) -> list[Change]:
        """Every change of a record, oldest first (kept after deletion)."""
        with self._read() as db:
            rows = db.execute(
                "SELECT seq, feature_id, action, actor, at, version, before, after "
                "FROM observation_history WHERE feature_id = ? ORDER BY seq",
                (fid,),
            ).fetchall()
        if not rows:
            raise FeatureNotFound("observations", fid)
        return [self._change(r) for r in rows]

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
            where.append(f"action IN ({','.join('?' * len(actions))})")
            params += list(actions)
        if since is not None:
            where.append("at >= ?")
            params.append(stamp(since))
        if site is not None:
            where.append("json_extract(coalesce(after, before), '$.properties.site') = ?")
            params.append(site)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        with self._read() as db:
            rows = db.execute(
                "SELECT seq, feature_id, action, actor, at, version, before, after "
                f"FROM observation_history {clause} ORDER BY seq DESC LIMIT ?",
                [*params, limit],
            ).fetchall()
        return [self._change(r) for r in rows]

    def rows(self) -> list[Row]:
        """Every sighting as stored, in the order written: what ``tumen db import`` copies as is."""
        with self._read() as db:
            found = db.execute(
                "SELECT id, site, scene_id, kind, status, method, track_id, review, t0, t1, "
                "version, geometry, properties FROM observations ORDER BY rowid"
            ).fetchall()
        rows = []
        for fid, site, scene, kind, status, method, track, review, t0, t1, v, geom, props in found:
            properties = json.loads(props)
            rows.append(
                Row(
                    id=fid,
                    site=site,
                    scene_id=scene,
                    kind=kind,
                    status=status,
                    method=method,
                    track_id=track,
                    review=review or properties.get("review") or initial_review(method),
                    observed_at=datetime.fromtimestamp(t0, UTC),
                    observed_until=datetime.fromtimestamp(t1, UTC),
                    version=v,
                    geometry=json.loads(geom),
                    properties=properties,
                )
            )
        return rows

    def every_change(self) -> list[Change]:
        """Every history line of every sighting (deleted ones too), oldest first."""
        with self._read() as db:
            rows = db.execute(
                "SELECT seq, feature_id, action, actor, at, version, before, after "
                "FROM observation_history ORDER BY seq"
            ).fetchall()
        return [self._change(r) for r in rows]

    @staticmethod
    def _change(r: tuple[Any, ...]) -> Change:
        before, after = (json.loads(v) if v else None for v in r[6:8])
        return Change(r[0], r[1], r[2], r[3], r[4], r[5], before, after)

    # --- writes ---------------------------------------------------------------------------------
    def _current(self, db: sqlite3.Connection, fid: str) -> tuple[int, StoredObservation]:
        row = db.execute(
            "SELECT rowid, id, version, geometry, properties FROM observations WHERE id = ?", (fid,)
        ).fetchone()
        if row is None:
            raise FeatureNotFound("observations", fid)
        return row[0], self._row(row[1:])

    def _write(
        self,
        db: sqlite3.Connection,
        fid: str,
        feature: ObservationIn,
        *,
        version: int,
        created_at: str | None,
        rowid: int | None,
        review: dict[str, Any] | None = None,
    ) -> StoredObservation:
        """Write the row; ``review`` (the review fields) replaces what the feature says of them."""
        return self._put(
            db, row_of(fid, feature, version=version, created_at=created_at, review=review), rowid
        )

    @staticmethod
    def _put(db: sqlite3.Connection, row: Row, rowid: int | None) -> StoredObservation:
        """Write a prepared row (``overlays.records``) and its index entry."""
        t0, t1 = row.observed_at.timestamp(), row.observed_until.timestamp()
        values = (
            row.site,
            row.scene_id,
            row.kind,
            row.status,
            row.method,
            row.track_id,
            row.review,
            t0,
            t1,
            row.version,
            json.dumps(row.geometry),
            json.dumps(row.properties, ensure_ascii=False),
        )
        if rowid is None:
            cur = db.execute(
                "INSERT INTO observations (site, scene_id, kind, status, method, track_id, review, "
                "t0, t1, version, geometry, properties, id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (*values, row.id),
            )
            rowid = cur.lastrowid
        else:
            db.execute(
                "UPDATE observations SET site=?, scene_id=?, kind=?, status=?, method=?, track_id=?, "
                "review=?, t0=?, t1=?, version=?, geometry=?, properties=? WHERE rowid=?",
                (*values, rowid),
            )
            db.execute("DELETE FROM observations_idx WHERE rid = ?", (rowid,))
        minx, miny, maxx, maxy = shape(row.geometry).bounds
        db.execute(
            "INSERT INTO observations_idx (rid, minx, maxx, miny, maxy, t0, t1) VALUES (?,?,?,?,?,?,?)",
            (rowid, minx, maxx, miny, maxy, t0, t1),
        )
        return row.stored()

    @staticmethod
    def _log(
        db: sqlite3.Connection,
        fid: str,
        action: str,
        actor: str,
        version: int,
        before: StoredObservation | None,
        after: StoredObservation | None,
    ) -> None:
        db.execute(
            "INSERT INTO observation_history (feature_id, action, actor, at, version, before, after) "
            "VALUES (?,?,?,?,?,?,?)",
            (
                fid,
                action,
                actor,
                now(),
                version,
                json.dumps(before.feature(), ensure_ascii=False) if before else None,
                json.dumps(after.feature(), ensure_ascii=False) if after else None,
            ),
        )

    def create(
        self, feature: ObservationIn, *, actor: str, fid: str | None = None
    ) -> StoredObservation:
        """Insert a new record (a new id unless one is given) and its 'create' history line."""
        fid = fid or new_id()
        with self._tx() as db:
            if db.execute("SELECT 1 FROM observations WHERE id = ?", (fid,)).fetchone():
                raise InvalidObservation(f"id: feature '{fid}' already exists")
            return self._insert(db, fid, feature, actor)

    def create_many(
        self, features: Sequence[tuple[str | None, ObservationIn]], *, actor: str
    ) -> int:
        """Insert many records in one transaction: all or nothing."""
        with self._tx() as db:
            for fid, feature in features:
                fid = fid or new_id()
                if db.execute("SELECT 1 FROM observations WHERE id = ?", (fid,)).fetchone():
                    db.execute(
                        "DELETE FROM observations_idx WHERE rid = (SELECT rowid FROM observations WHERE id = ?)",
                        (fid,),
                    )
                    db.execute("DELETE FROM observations WHERE id = ?", (fid,))
                self._insert(db, fid, feature, actor)
        return len(features)

    def replace_automated(
        self, scene_id: str, features: Sequence[ObservationIn], *, actor: str
    ) -> tuple[int, list[str]]:
        """A scene's automated sightings replaced by a new run's, all or nothing, each change logged."""
        with self._tx() as db:
            old = db.execute(
                "SELECT rowid, id, version, geometry, properties FROM observations "
                "WHERE scene_id = ? AND method = 'automated'",
                (scene_id,),
            ).fetchall()
            for rowid, *row in old:
                self._remove(db, rowid, self._row(tuple(row)), actor)
            ids = [self._insert(db, new_id(), feature, actor).id for feature in features]
        return len(old), ids

    def _insert(
        self, db: sqlite3.Connection, fid: str, feature: ObservationIn, actor: str
    ) -> StoredObservation:
        stored = self._write(db, fid, feature, version=1, created_at=None, rowid=None)
        self._log(db, fid, "create", actor, 1, None, stored)
        return stored

    def _remove(
        self, db: sqlite3.Connection, rowid: int, before: StoredObservation, actor: str
    ) -> None:
        db.execute("DELETE FROM observations_idx WHERE rid = ?", (rowid,))
        db.execute("DELETE FROM observations WHERE rowid = ?", (rowid,))
        self._log(db, before.id, "delete", actor, before.version + 1, before, None)

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

        Only ``review`` (a person's verdict) changes them.
        """
        with self._tx() as db:
            rowid, before = self._current(db, fid)
            if if_version is not None and if_version != before.version:
                raise VersionConflict(fid, before.version)
            stored = self._put(db, next_row(before, feature, review), rowid)
            self._log(db, fid, action, actor, stored.version, before, stored)
        return stored

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
        """Remove a record; its history stays."""
        with self._tx() as db:
            rowid, before = self._current(db, fid)
            if if_version is not None and if_version != before.version:
                raise VersionConflict(fid, before.version)
            self._remove(db, rowid, before, actor)
