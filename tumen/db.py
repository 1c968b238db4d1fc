"""Which database holds the catalog and the sightings, and its schema: SQLite or PostgreSQL.

Unset ``TUMEN_DATABASE_URL``: the data dir's SQLite file, whose tables each side creates when
missing (as always). Set to ``postgresql://…``: one PostgreSQL/PostGIS database for every
instance, its schema made by ``tumen db upgrade`` from the ordered steps of each side
(``tiles.catalog_db.PG_MIGRATIONS``, ``overlays.postgres_store.MIGRATIONS``), each step applied
once in its own transaction and recorded in ``schema_version``; a second run is a no-op. The app
holds one connection pool (``TUMEN_DB_POOL_SIZE``, ``TUMEN_DB_POOL_TIMEOUT_S``) shared by the
store and the catalog; commands open a connection per call.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from overlays.postgres_store import MIGRATIONS as OBSERVATION_STEPS
from overlays.postgres_store import PostgresStore
from overlays.sqlite_store import SQLiteStore
from overlays.store import ObservationStore
from tiles.catalog_db import (
    PG_MIGRATIONS as CATALOG_STEPS,
)
from tiles.catalog_db import (
    CatalogDB,
    PostgresCatalogDB,
    SQLiteCatalogDB,
    direct_connect,
    redact,
)
from tumen.settings import Settings

# Each side's steps, in the order they are applied (the sightings' first: it enables PostGIS).
COMPONENTS: dict[str, list[str]] = {"observations": OBSERVATION_STEPS, "catalog": CATALOG_STEPS}
LOCK_KEY = 0x74756D656E  # pg_advisory_xact_lock: one upgrade at a time ('tumen')
CONNECT_TIMEOUT_S = 5


class DatabaseNotReady(Exception):
    """TUMEN_DATABASE_URL names a database tumen cannot use: unreachable, refused, or not migrated.

    The message is one line a person can act on.
    """


def connect_once(url: str) -> psycopg.Connection[Any]:
    """One autocommit connection; DatabaseNotReady, in one line, when it cannot be made."""
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise DatabaseNotReady(
            f"cannot connect to TUMEN_DATABASE_URL {redact(url)}: {reason}"
        ) from err


def _versions(conn: psycopg.Connection[Any]) -> dict[str, int]:
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("SELECT component, max(version) FROM schema_version GROUP BY 1").fetchall()
    return {c: int(v) for c, v in rows}


def upgrade(url: str) -> list[str]:
    """Apply every step not yet applied; answers what was applied ('catalog 1', …), [] if none.

    Concurrent upgrades (several instances started at once) wait for each other.
    """
    applied: list[str] = []
    with connect_once(url) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " component text NOT NULL, version integer NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now(),"
                " PRIMARY KEY (component, version))"
            )
        for component, steps in COMPONENTS.items():
            for number, sql in enumerate(steps, start=1):
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                    if _versions(conn).get(component, 0) >= number:
                        continue
                    try:
                        conn.execute(sql)  # type: ignore[arg-type]
                    except psycopg.errors.InsufficientPrivilege as err:
                        raise DatabaseNotReady(
                            f"{component} step {number} needs a privilege the user of "
                            f"TUMEN_DATABASE_URL lacks ({' '.join(str(err).split())}); "
                            "e.g. run 'CREATE EXTENSION postgis' as a superuser first"
                        ) from err
                    conn.execute(
                        "INSERT INTO schema_version (component, version) VALUES (%s, %s)",
                        (component, number),
                    )
                    applied.append(f"{component} {number}")
    return applied


def pending_steps(url: str) -> list[str]:
    """The steps ``upgrade`` would apply ('catalog 1', …); DatabaseNotReady if unreachable."""
    with connect_once(url) as conn:
        versions = _versions(conn)
    return [
        f"{component} {n}"
        for component, steps in COMPONENTS.items()
        for n in range(versions.get(component, 0) + 1, len(steps) + 1)
    ]


def check_database(settings: Settings) -> None:
    """Before serving: the database answers and its schema is current (DatabaseNotReady if not)."""
    if settings.database_url is None:
        return
    missing = pending_steps(settings.database_url)
    if missing:
        raise DatabaseNotReady(
            f"the database of TUMEN_DATABASE_URL {redact(settings.database_url)} lacks "
            f"{len(missing)} schema step(s) ({', '.join(missing)}): run 'tumen db upgrade'"
        )


def open_store(settings: Settings) -> ObservationStore:
    """The sightings store of a command (a connection per call on PostgreSQL)."""
    if settings.database_url is None:
        return SQLiteStore(settings.sqlite_file)
    return PostgresStore(direct_connect(settings.database_url))


@dataclass
class Backend:
    """What the app opens once: the catalog's database and the store, on one pool (PostgreSQL)."""

    catalog_db: CatalogDB
    store: ObservationStore
    pool: ConnectionPool[Any] | None = None

    def close(self) -> None:
        """Close the pool (PostgreSQL); nothing is held on SQLite."""
        self.catalog_db.close()
        if self.pool is not None:
            self.pool.close()


class PooledConnect:
    """``pool.connection()`` with the pool's timeout, checking the pool after a broken connection.

    When the server dropped one connection it has likely dropped the idle ones too: checking them
    at once makes a lost server cost one 503, not one per pooled connection.
    """

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool

    @contextmanager
    def __call__(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection (PoolTimeout when none frees up in time)."""
        broken = False
        try:
            with self.pool.connection() as conn:
                try:
                    yield conn
                finally:
                    broken = conn.broken
        finally:
            if broken:
                self.pool.check()


def open_backend(settings: Settings) -> Backend:
    """The app's catalog database and store (DatabaseNotReady when PostgreSQL cannot be used)."""
    if settings.database_url is None:
        return Backend(SQLiteCatalogDB(settings.sqlite_file), SQLiteStore(settings.sqlite_file))
    check_database(settings)
    url = settings.database_url
    pool: ConnectionPool[Any] = ConnectionPool(
        url,
        min_size=min(2, settings.db_pool_size),
        max_size=settings.db_pool_size,
        timeout=settings.db_pool_timeout_s,
        kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
        name="tumen",
        # A connection the server dropped (a restart, a failover, an idle timeout) is found when
        # handed out and replaced by a fresh one: the request goes on instead of failing.
        check=ConnectionPool.check_connection,
        open=False,
    )
    try:
        pool.open(wait=True, timeout=CONNECT_TIMEOUT_S + 1)
    except psycopg.Error as err:
        pool.close()
        connect_once(url).close()  # the reason, in one line
        raise DatabaseNotReady(f"cannot open connections to {redact(url)}") from err
    connect = PooledConnect(pool)
    return Backend(PostgresCatalogDB(url, connect), PostgresStore(connect), pool)
