"""The few SQL operations the catalog and its sites need, on SQLite or on PostgreSQL.

``tiles.catalog.Catalog`` and ``tiles.site_registry.SiteRegistry`` keep every rule (what a scene
is, when a bake may be recorded, which sites may go); a ``CatalogDB`` only stores and fetches their
JSON records. SQLite is the default (the data dir's file); PostgreSQL, when ``TUMEN_DATABASE_URL``
names one, lets several instances share one catalog.

Freshness: ``watch()`` answers a ``Revision`` whose ``current()`` changes after any process commits
a change to scenes or sites. On SQLite that is ``PRAGMA data_version`` on a long-lived connection
(one PRAGMA per request); on PostgreSQL every change bumps ``catalog_revision`` and NOTIFYs
``tumen_catalog`` with it (a trigger, so no writer can forget), and a thread LISTENs, polling the
counter every ``POLL_S`` as a fallback: another instance's change is seen within 2 s (``BOUND_S``).
"""

import logging
import os
import select
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import psycopg
from psycopg_pool import PoolTimeout

from tiles.errors import CatalogUnavailable

logger = logging.getLogger("tumen.catalog")

CHANNEL = "tumen_catalog"
POLL_S = 0.5  # the fallback poll of the revision counter, should a notification be missed
BOUND_S = 2.0  # the stated bound: a change on one instance is seen by every other within it
SEEDED = "sites_seeded_from"

PgConnect = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]
IMPORT_BATCH = 500  # rows per statement batch of an import (and per step of its progress)


class SceneRow(NamedTuple):
    """A scene as its database keeps it: id, datetime, UTC seconds, JSON record, sites covered."""

    id: str
    when: str
    epoch: float
    record: str
    sites: Sequence[str]


class Revision(Protocol):
    """A number that changes whenever the catalog may have changed (in any process)."""

    def current(self) -> int:
        """The number now (compare with the last one seen)."""
        ...

    def close(self) -> None:
        """Stop watching."""
        ...


class CatalogDB(Protocol):
    """Storage of scene records (JSON of ``Scene``) and site documents; each call one transaction."""

    location: str

    def records_without_bands(self) -> list[str]:
        """Records of scenes registered before band count and dtype were kept."""
        ...

    def set_records(self, updates: Sequence[tuple[str, str]]) -> None:
        """(record, id) pairs."""
        ...

    def put_scene(
        self, scene_id: str, when: str, epoch: float, record: str, sites: Sequence[str]
    ) -> None:
        """Insert or replace a scene and the sites it covers."""
        ...

    def update_record(self, scene_id: str, change: Callable[[str], str | None]) -> str | None:
        """``change`` the record with the row held; None from it (or no row): nothing written."""
        ...

    def delete_scene(self, scene_id: str) -> bool:
        """Whether there was such a scene (its sites go with it)."""
        ...

    def record(self, scene_id: str) -> str | None:
        """One scene's record."""
        ...

    def records(self, site: str | None) -> list[str]:
        """In time order (then id)."""
        ...

    def record_at(self, site: str, epoch: float) -> tuple[str | None, str | None]:
        """The site's latest record at or before ``epoch``, and the datetime of its first scene."""
        ...

    def seed_sites(self, documents: Sequence[tuple[str, str]], source: str) -> None:
        """Add these (id, JSON) sites unless a seed was ever recorded; record ``source``."""
        ...

    def seeded_from(self) -> str | None:
        """The sites file the sites were seeded from (None: never seeded, it would be)."""
        ...

    def site_documents(self) -> list[tuple[str, str]]:
        """(id, JSON) in the order sites were added."""
        ...

    def site_document(self, site_id: str) -> str | None:
        """One site's document."""
        ...

    def site_ids(self) -> list[str]:
        """Every site id."""
        ...

    def insert_site(self, site_id: str, document: str) -> bool:
        """False (nothing written) when the id is taken."""
        ...

    def update_site(self, site_id: str, document: str) -> None:
        """Replace a site's document."""
        ...

    def scenes_of(self, site_id: str) -> list[str]:
        """Ids of the scenes covering a site."""
        ...

    def delete_site(self, site_id: str) -> tuple[bool, list[str]]:
        """(whether it existed, scenes covering it); deleted only when it existed and none does."""
        ...

    def watch(self) -> Revision:
        """A revision that changes with every committed change (close it when done)."""
        ...

    def close(self) -> None:
        """Release what the database holds."""
        ...


def open_catalog_db(database: "Path | str | CatalogDB") -> "CatalogDB":
    """A ``postgresql://`` URL (one short connection per call), a SQLite path, or a CatalogDB as is."""
    if isinstance(database, str) and is_postgres_url(database):
        return PostgresCatalogDB(database)
    if isinstance(database, str | Path):
        return SQLiteCatalogDB(Path(database))
    return database


def is_postgres_url(value: str) -> bool:
    """Whether a database setting names a PostgreSQL server rather than a file."""
    return value.startswith(("postgresql://", "postgres://"))


# --- SQLite -------------------------------------------------------------------------------------

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS scenes (
    id          TEXT PRIMARY KEY,
    datetime    TEXT NOT NULL,     -- ISO 8601 with the offset it was given in
    epoch       REAL NOT NULL,     -- the same instant as UTC seconds, for ordering
    record      TEXT NOT NULL      -- the whole Scene as JSON
);
CREATE TABLE IF NOT EXISTS scene_sites (
    scene_id    TEXT NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
    site_id     TEXT NOT NULL,
    PRIMARY KEY (site_id, scene_id)
);
CREATE INDEX IF NOT EXISTS scenes_epoch ON scenes(epoch);
CREATE TABLE IF NOT EXISTS sites (
    id          TEXT PRIMARY KEY,
    document    TEXT NOT NULL      -- the site as JSON, in the shape of the sites file
);
CREATE TABLE IF NOT EXISTS catalog_meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);
"""


class SQLiteCatalogDB:
    """The catalog in the data dir's SQLite file: one short connection per call (threads, workers)."""

    def __init__(self, database: Path) -> None:
        self.database = Path(database)
        self.location = str(self.database)
        self.database.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SQLITE_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.database, timeout=30)
        db.execute("PRAGMA foreign_keys=ON")
        try:
            with db:
                yield db
        finally:
            db.close()

    def records_without_bands(self) -> list[str]:
        """Records of scenes registered before band count and dtype were kept."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT record FROM scenes WHERE json_extract(record, '$.bands') IS NULL"
            ).fetchall()
        return [r[0] for r in rows]

    def set_records(self, updates: Sequence[tuple[str, str]]) -> None:
        """Write (record, id) pairs."""
        with self._connect() as db:
            db.executemany("UPDATE scenes SET record = ? WHERE id = ?", updates)

    def put_scene(
        self, scene_id: str, when: str, epoch: float, record: str, sites: Sequence[str]
    ) -> None:
        """Insert or replace a scene and its sites, in one transaction."""
        with self._connect() as db:
            db.execute("DELETE FROM scenes WHERE id = ?", (scene_id,))
            db.execute(
                "INSERT INTO scenes (id, datetime, epoch, record) VALUES (?, ?, ?, ?)",
                (scene_id, when, epoch, record),
            )
            db.executemany(
                "INSERT INTO scene_sites (scene_id, site_id) VALUES (?, ?)",
                [(scene_id, site) for site in sites],
            )

    def update_record(self, scene_id: str, change: Callable[[str], str | None]) -> str | None:
        """Read, change and write one record under the write lock."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT record FROM scenes WHERE id = ?", (scene_id,)).fetchone()
            new = change(row[0]) if row is not None else None
            if new is not None:
                db.execute("UPDATE scenes SET record = ? WHERE id = ?", (new, scene_id))
        return new

    def delete_scene(self, scene_id: str) -> bool:
        """Whether there was such a scene."""
        with self._connect() as db:
            return db.execute("DELETE FROM scenes WHERE id = ?", (scene_id,)).rowcount > 0

    def record(self, scene_id: str) -> str | None:
        """One scene's record."""
        with self._connect() as db:
            row = db.execute("SELECT record FROM scenes WHERE id = ?", (scene_id,)).fetchone()
        return row[0] if row else None

    def records(self, site: str | None) -> list[str]:
        """Every record (of a site), in time order."""
        with self._connect() as db:
            if site is None:
                rows = db.execute("SELECT record FROM scenes ORDER BY epoch, id").fetchall()
            else:
                rows = db.execute(
                    "SELECT s.record FROM scenes s JOIN scene_sites ss ON ss.scene_id = s.id "
                    "WHERE ss.site_id = ? ORDER BY s.epoch, s.id",
                    (site,),
                ).fetchall()
        return [r[0] for r in rows]

    def record_at(self, site: str, epoch: float) -> tuple[str | None, str | None]:
        """The site's latest record at or before ``epoch`` (else the first scene's datetime)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT s.record FROM scenes s JOIN scene_sites ss ON ss.scene_id = s.id "
                "WHERE ss.site_id = ? AND s.epoch <= ? ORDER BY s.epoch DESC, s.id DESC LIMIT 1",
                (site, epoch),
            ).fetchone()
            if row is not None:
                return row[0], None
            first = db.execute(
                "SELECT s.datetime FROM scenes s JOIN scene_sites ss ON ss.scene_id = s.id "
                "WHERE ss.site_id = ? ORDER BY s.epoch LIMIT 1",
                (site,),
            ).fetchone()
        return None, first[0] if first else None

    def seed_sites(self, documents: Sequence[tuple[str, str]], source: str) -> None:
        """The seed's sites, once per catalog file."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            if db.execute("SELECT 1 FROM catalog_meta WHERE key = ?", (SEEDED,)).fetchone():
                return
            db.executemany("INSERT OR IGNORE INTO sites (id, document) VALUES (?, ?)", documents)
            db.execute("INSERT INTO catalog_meta (key, value) VALUES (?, ?)", (SEEDED, source))

    def seeded_from(self) -> str | None:
        """The sites file recorded by ``seed_sites``."""
        with self._connect() as db:
            row = db.execute("SELECT value FROM catalog_meta WHERE key = ?", (SEEDED,)).fetchone()
        return row[0] if row else None

    def site_documents(self) -> list[tuple[str, str]]:
        """Every site, in the order added."""
        with self._connect() as db:
            return db.execute("SELECT id, document FROM sites ORDER BY rowid").fetchall()

    def site_document(self, site_id: str) -> str | None:
        """One site's document."""
        with self._connect() as db:
            row = db.execute("SELECT document FROM sites WHERE id = ?", (site_id,)).fetchone()
        return row[0] if row else None

    def site_ids(self) -> list[str]:
        """Every site id."""
        with self._connect() as db:
            return [r[0] for r in db.execute("SELECT id FROM sites ORDER BY rowid")]

    def insert_site(self, site_id: str, document: str) -> bool:
        """Add a site unless the id is taken."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            if db.execute("SELECT 1 FROM sites WHERE id = ?", (site_id,)).fetchone():
                return False
            db.execute("INSERT INTO sites (id, document) VALUES (?, ?)", (site_id, document))
        return True

    def update_site(self, site_id: str, document: str) -> None:
        """Replace a site's document."""
        with self._connect() as db:
            db.execute("UPDATE sites SET document = ? WHERE id = ?", (document, site_id))

    def scenes_of(self, site_id: str) -> list[str]:
        """Ids of the scenes covering a site."""
        with self._connect() as db:
            return _sqlite_scenes_of(db, site_id)

    def delete_site(self, site_id: str) -> tuple[bool, list[str]]:
        """Remove a site no scene covers."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            if not db.execute("SELECT 1 FROM sites WHERE id = ?", (site_id,)).fetchone():
                return False, []
            scenes = _sqlite_scenes_of(db, site_id)
            if not scenes:
                db.execute("DELETE FROM sites WHERE id = ?", (site_id,))
        return True, scenes

    def watch(self) -> Revision:
        """``PRAGMA data_version`` of a long-lived connection: changes with any other's commit."""
        return _DataVersion(self.database)

    def close(self) -> None:
        """Nothing is held between calls."""


def _sqlite_scenes_of(db: sqlite3.Connection, site_id: str) -> list[str]:
    rows = db.execute(
        "SELECT scene_id FROM scene_sites WHERE site_id = ? ORDER BY scene_id", (site_id,)
    ).fetchall()
    return [r[0] for r in rows]


class _DataVersion:
    def __init__(self, database: Path) -> None:
        self._db = sqlite3.connect(database, check_same_thread=False)
        self._lock = threading.Lock()

    def current(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        self._db.close()


# --- PostgreSQL ---------------------------------------------------------------------------------

# Applied in order by `tumen db upgrade` (tumen.db), each once, recorded in schema_version.
PG_MIGRATIONS: list[str] = [
    f"""
    CREATE TABLE scenes (
        id          text COLLATE "C" PRIMARY KEY,
        datetime    text NOT NULL,              -- ISO 8601 with the offset it was given in
        epoch       double precision NOT NULL,  -- the same instant as UTC seconds, for ordering
        record      json NOT NULL               -- the whole Scene
    );
    CREATE INDEX scenes_epoch ON scenes (epoch);
    CREATE TABLE scene_sites (
        scene_id    text COLLATE "C" NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
        site_id     text COLLATE "C" NOT NULL,
        PRIMARY KEY (site_id, scene_id)
    );
    CREATE INDEX scene_sites_scene ON scene_sites (scene_id);
    CREATE TABLE sites (
        seq         bigserial UNIQUE,           -- the order sites were added in
        id          text COLLATE "C" PRIMARY KEY,
        document    json NOT NULL               -- the site, in the shape of the sites file
    );
    CREATE TABLE catalog_meta (
        key         text PRIMARY KEY,
        value       text NOT NULL
    );
    -- Freshness across instances: every change to scenes or sites bumps the counter and
    -- notifies its new value (delivered at commit); instances listen, and poll it as a fallback.
    CREATE TABLE catalog_revision (
        one         boolean PRIMARY KEY DEFAULT true CHECK (one),
        n           bigint NOT NULL
    );
    INSERT INTO catalog_revision (n) VALUES (0);
    CREATE FUNCTION tumen_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        revision bigint;
    BEGIN
        UPDATE catalog_revision SET n = n + 1 RETURNING n INTO revision;
        PERFORM pg_notify('{CHANNEL}', revision::text);
        RETURN NULL;
    END $$;
    CREATE TRIGGER scenes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON scenes
        FOR EACH STATEMENT EXECUTE FUNCTION tumen_catalog_changed();
    CREATE TRIGGER scene_sites_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON scene_sites
        FOR EACH STATEMENT EXECUTE FUNCTION tumen_catalog_changed();
    CREATE TRIGGER sites_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sites
        FOR EACH STATEMENT EXECUTE FUNCTION tumen_catalog_changed();
    """,
]


def direct_connect(url: str, *, timeout: float = 10) -> PgConnect:
    """One new autocommit connection per call (commands and tests; the app uses a pool)."""

    def connect() -> AbstractContextManager[psycopg.Connection[Any]]:
        return psycopg.connect(url, autocommit=True, connect_timeout=max(1, round(timeout)))

    return connect


class PostgresCatalogDB:
    """The catalog in PostgreSQL, shared by every instance; ``connect``: a pool's, or one per call.

    Connections must be in autocommit mode: a write opens its own transaction.
    """

    def __init__(self, url: str, connect: PgConnect | None = None) -> None:
        self.url = url
        self.location = redact(url)
        self._connect = connect or direct_connect(url)

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection; the server out of reach (or the pool empty) is CatalogUnavailable (503)."""
        try:
            with self._connect() as conn:
                yield conn
        except PoolTimeout as err:
            raise CatalogUnavailable("no free database connection in time") from err
        except psycopg.errors.UndefinedTable as err:
            raise CatalogUnavailable(
                "the database has no tumen schema: run 'tumen db upgrade'"
            ) from err
        except psycopg.OperationalError as err:
            logger.warning("catalog database unavailable: %s", err)
            raise CatalogUnavailable("the database cannot be reached") from err

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection[Any]]:
        """A write: one at a time (the revision row locked first, as SQLite's write lock would)."""
        with self._conn() as conn, conn.transaction():
            conn.execute("SELECT n FROM catalog_revision FOR UPDATE")
            yield conn
        _changed_here(self.url)

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._conn() as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def records_without_bands(self) -> list[str]:
        """Records of scenes registered before band count and dtype were kept."""
        rows = self._all(
            "SELECT record::text FROM scenes WHERE coalesce(record->>'bands', '') = ''"
        )
        return [r[0] for r in rows]

    def set_records(self, updates: Sequence[tuple[str, str]]) -> None:
        """Write (record, id) pairs."""
        with self._tx() as conn, conn.cursor() as cur:
            cur.executemany("UPDATE scenes SET record = %s::json WHERE id = %s", updates)

    def put_scene(
        self, scene_id: str, when: str, epoch: float, record: str, sites: Sequence[str]
    ) -> None:
        """Insert or replace a scene and its sites, in one transaction."""
        with self._tx() as conn:
            conn.execute("DELETE FROM scenes WHERE id = %s", (scene_id,))
            conn.execute(
                "INSERT INTO scenes (id, datetime, epoch, record) VALUES (%s, %s, %s, %s::json)",
                (scene_id, when, epoch, record),
            )
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO scene_sites (scene_id, site_id) VALUES (%s, %s)",
                    [(scene_id, site) for site in sites],
                )

    def update_record(self, scene_id: str, change: Callable[[str], str | None]) -> str | None:
        """Read, change and write one record with its row locked."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT record::text FROM scenes WHERE id = %s FOR UPDATE", (scene_id,)
            ).fetchone()
            new = change(row[0]) if row is not None else None
            if new is not None:
                conn.execute("UPDATE scenes SET record = %s::json WHERE id = %s", (new, scene_id))
        return new

    def delete_scene(self, scene_id: str) -> bool:
        """Whether there was such a scene."""
        with self._tx() as conn:
            return conn.execute("DELETE FROM scenes WHERE id = %s", (scene_id,)).rowcount > 0

    def record(self, scene_id: str) -> str | None:
        """One scene's record."""
        rows = self._all("SELECT record::text FROM scenes WHERE id = %s", (scene_id,))
        return rows[0][0] if rows else None

    def records(self, site: str | None) -> list[str]:
        """Every record (of a site), in time order."""
        if site is None:
            rows = self._all("SELECT record::text FROM scenes ORDER BY epoch, id")
        else:
            rows = self._all(
                "SELECT s.record::text FROM scenes s JOIN scene_sites ss ON ss.scene_id = s.id "
                "WHERE ss.site_id = %s ORDER BY s.epoch, s.id",
                (site,),
            )
        return [r[0] for r in rows]

    def record_at(self, site: str, epoch: float) -> tuple[str | None, str | None]:
        """The site's latest record at or before ``epoch`` (else the first scene's datetime)."""
        rows = self._all(
            "(SELECT 0, s.record::text FROM scenes s JOIN scene_sites ss ON ss.scene_id = s.id "
            " WHERE ss.site_id = %s AND s.epoch <= %s ORDER BY s.epoch DESC, s.id DESC LIMIT 1) "
            "UNION ALL "
            "(SELECT 1, s.datetime FROM scenes s JOIN scene_sites ss ON ss.scene_id = s.id "
            " WHERE ss.site_id = %s ORDER BY s.epoch LIMIT 1)",
            (site, epoch, site),
        )
        found = dict(rows)
        return (found[0], None) if 0 in found else (None, found.get(1))

    def seed_sites(self, documents: Sequence[tuple[str, str]], source: str) -> None:
        """The seed's sites, once per database."""
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM catalog_meta WHERE key = %s", (SEEDED,)).fetchone():
                return
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO sites (id, document) VALUES (%s, %s::json) "
                    "ON CONFLICT (id) DO NOTHING",
                    documents,
                )
            conn.execute("INSERT INTO catalog_meta (key, value) VALUES (%s, %s)", (SEEDED, source))

    def seeded_from(self) -> str | None:
        """The sites file recorded by ``seed_sites``."""
        rows = self._all("SELECT value FROM catalog_meta WHERE key = %s", (SEEDED,))
        return rows[0][0] if rows else None

    def import_catalog(
        self,
        sites: Sequence[tuple[str, str]],
        scenes: Sequence[SceneRow],
        seeded: str | None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[list[str], list[str]]:
        """Add (id, JSON) sites in their order and scenes as they are, in one transaction.

        For ``tumen db import``: ids the database already has are left alone and answered as
        (site ids, scene ids). ``seeded``: the source's seed mark, copied so that the sites file
        does not bring back sites removed there (a mark already here is kept).
        """
        tick = progress or (lambda n: None)
        with self._tx() as conn:
            known_sites = _known(conn, "sites", [sid for sid, _ in sites])
            known_scenes = _known(conn, "scenes", [scene.id for scene in scenes])
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO sites (id, document) VALUES (%s, %s::json)",
                    [(sid, doc) for sid, doc in sites if sid not in known_sites],
                )
                tick(len(sites))
                for start in range(0, len(scenes), IMPORT_BATCH):
                    batch = scenes[start : start + IMPORT_BATCH]
                    new = [scene for scene in batch if scene.id not in known_scenes]
                    cur.executemany(
                        "INSERT INTO scenes (id, datetime, epoch, record) "
                        "VALUES (%s, %s, %s, %s::json)",
                        [(s.id, s.when, s.epoch, s.record) for s in new],
                    )
                    cur.executemany(
                        "INSERT INTO scene_sites (scene_id, site_id) VALUES (%s, %s)",
                        [(s.id, site) for s in new for site in s.sites],
                    )
                    tick(len(batch))
            if seeded is not None:
                conn.execute(
                    "INSERT INTO catalog_meta (key, value) VALUES (%s, %s) "
                    "ON CONFLICT (key) DO NOTHING",
                    (SEEDED, seeded),
                )
        return (
            [sid for sid, _ in sites if sid in known_sites],
            [scene.id for scene in scenes if scene.id in known_scenes],
        )

    def site_documents(self) -> list[tuple[str, str]]:
        """Every site, in the order added."""
        return [
            (r[0], r[1]) for r in self._all("SELECT id, document::text FROM sites ORDER BY seq")
        ]

    def site_document(self, site_id: str) -> str | None:
        """One site's document."""
        rows = self._all("SELECT document::text FROM sites WHERE id = %s", (site_id,))
        return rows[0][0] if rows else None

    def site_ids(self) -> list[str]:
        """Every site id."""
        return [r[0] for r in self._all("SELECT id FROM sites ORDER BY seq")]

    def insert_site(self, site_id: str, document: str) -> bool:
        """Add a site unless the id is taken."""
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO sites (id, document) VALUES (%s, %s::json) ON CONFLICT (id) DO NOTHING",
                (site_id, document),
            )
            return cur.rowcount == 1

    def update_site(self, site_id: str, document: str) -> None:
        """Replace a site's document."""
        with self._tx() as conn:
            conn.execute("UPDATE sites SET document = %s::json WHERE id = %s", (document, site_id))

    def scenes_of(self, site_id: str) -> list[str]:
        """Ids of the scenes covering a site."""
        rows = self._all(
            "SELECT scene_id FROM scene_sites WHERE site_id = %s ORDER BY scene_id", (site_id,)
        )
        return [r[0] for r in rows]

    def delete_site(self, site_id: str) -> tuple[bool, list[str]]:
        """Remove a site no scene covers (no scene can be registered meanwhile: see ``_tx``)."""
        with self._tx() as conn:
            if not conn.execute("SELECT 1 FROM sites WHERE id = %s", (site_id,)).fetchone():
                return False, []
            scenes = [
                r[0]
                for r in conn.execute(
                    "SELECT scene_id FROM scene_sites WHERE site_id = %s ORDER BY scene_id",
                    (site_id,),
                )
            ]
            if not scenes:
                conn.execute("DELETE FROM sites WHERE id = %s", (site_id,))
        return True, scenes

    def watch(self) -> Revision:
        """A LISTEN thread (with a poll of the counter) on its own connection."""
        return RevisionWatcher(self.url)

    def close(self) -> None:
        """The pool (if any) is its owner's to close."""


def _known(conn: psycopg.Connection[Any], table: str, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are in ``table`` (sites or scenes)."""
    rows = conn.execute(f"SELECT id FROM {table} WHERE id = ANY(%s)", (list(ids),))  # type: ignore[arg-type]
    return {r[0] for r in rows}


def redact(url: str) -> str:
    """A URL without its password, for messages and logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


# Watchers of this process by database URL: a change made here is seen here at once, not after
# its notification comes back.
_watchers: "weakref.WeakSet[RevisionWatcher]" = weakref.WeakSet()


def _changed_here(url: str) -> None:
    for watcher in list(_watchers):
        if watcher.url == url:
            watcher.bump()


class RevisionWatcher:
    """LISTENs on ``tumen_catalog`` in a daemon thread; ``current()`` changes with every change.

    The thread sleeps on the connection's socket: a notification wakes it at once, and every
    ``POLL_S`` without one it reads the counter anyway (a missed notification, a connection lost
    without a word). While the database is unreachable it keeps retrying; a reconnection counts
    as a change (what happened meanwhile is unknown). ``close`` wakes it through a pipe.
    """

    def __init__(self, url: str, poll_s: float = POLL_S) -> None:
        self.url = url
        self.poll_s = poll_s
        self._token = 0
        self._seen: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="catalog-listen", daemon=True)
        _watchers.add(self)
        self._thread.start()
        self._ready.wait(timeout=5)

    def current(self) -> int:
        """A token that differs from the last one whenever the catalog may have changed."""
        return self._token

    def bump(self) -> None:
        """The catalog changed (seen by this process itself)."""
        with self._lock:
            self._token += 1

    def _saw(self, revision: int | None) -> None:
        with self._lock:
            if revision is None or revision != self._seen:
                self._seen = revision
                self._token += 1

    def _read_counter(self, conn: psycopg.Connection[Any]) -> None:
        # Notifications that arrived meanwhile reach the handler as this reply is read.
        row = conn.execute("SELECT n FROM catalog_revision").fetchone()
        self._saw(int(row[0]) if row else None)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                        conn.add_notify_handler(lambda note: self._saw(int(note.payload)))
                        conn.execute(f"LISTEN {CHANNEL}")
                        self._read_counter(conn)
                        self._ready.set()
                        while True:
                            woken, _, _ = select.select(
                                [conn.fileno(), self._wake_r], [], [], self.poll_s
                            )
                            if self._wake_r in woken:
                                return
                            self._read_counter(conn)  # a notification, or the poll's turn
                except psycopg.Error as err:
                    logger.warning("catalog notifications lost (%s); retrying", err)
                    self._saw(None)
                    self._ready.set()
                    if self._stop.wait(1.0):
                        return
        finally:
            os.close(self._wake_r)

    def close(self) -> None:
        """Stop listening (at once: the thread is woken)."""
        self._stop.set()
        _watchers.discard(self)
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=10)
        os.close(self._wake_w)
