"""``tumen db import``: a one-machine tumen's SQLite file copied into PostgreSQL, as it is.

Sites (in the order added, with the mark that the sites file was seeded, so it does not bring
back sites removed since), scenes (their records and the sites each covers) and sightings with
their ids, versions and every history line, so that ETags, If-Match, histories and feeds carry on
where they were. Both sides are written in one PostgreSQL transaction: a failure, or ids the
database already holds (unless they are to be skipped), leaves it as it was.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from overlays.postgres_store import PostgresStore
from overlays.records import Row
from overlays.sqlite_store import SQLiteStore
from overlays.store import Change
from tiles.catalog import Scene, scene_row
from tiles.catalog_db import PgConnect, PostgresCatalogDB, SceneRow, SQLiteCatalogDB
from tiles.remote import is_remote
from tiles.site_registry import counted
from tumen.db import connect_once


class ImportRefused(Exception):
    """Nothing was imported; the message says why in one line."""


@dataclass(frozen=True)
class Source:
    """Everything a SQLite file holds that PostgreSQL is to hold."""

    sites: list[tuple[str, str]]  # (id, JSON document), in the order added
    seeded: str | None
    scenes: list[SceneRow]
    local: list[str]  # ids of scenes whose COG is a file of this machine
    rows: list[Row]
    history: list[Change]

    @property
    def size(self) -> int:
        """How many items the import goes through (its progress total)."""
        return len(self.sites) + len(self.scenes) + len(self.rows) + len(self.history)


@dataclass(frozen=True)
class Imported:
    """What was written, and how many sites, scenes and sightings were already there."""

    sites: int
    scenes: int
    sightings: int
    lines: int
    skipped: int


def read_sqlite(sqlite_file: Path) -> Source:
    """What to copy from a tumen SQLite file (ImportRefused when there is none)."""
    if not sqlite_file.is_file():
        raise ImportRefused(f"{sqlite_file}: no such SQLite file (give the path of tumen.sqlite)")
    catalog = SQLiteCatalogDB(sqlite_file)
    scenes = [(Scene.model_validate_json(record), record) for record in catalog.records(None)]
    store = SQLiteStore(sqlite_file)
    return Source(
        sites=catalog.site_documents(),
        seeded=catalog.seeded_from(),
        scenes=[scene_row(scene, record) for scene, record in scenes],
        local=[scene.id for scene, _ in scenes if not is_remote(scene.path)],
        rows=store.rows(),
        history=store.every_change(),
    )


@contextmanager
def _one_transaction(url: str) -> Iterator[PgConnect]:
    """A connect function that hands out one connection inside one transaction.

    The catalog's and the store's own transactions become savepoints of it: both sides are
    committed together, or neither is.
    """
    conn = connect_once(url)
    with conn, conn.transaction():

        @contextmanager
        def same() -> Iterator[psycopg.Connection[Any]]:
            yield conn

        yield same


def write_postgres(
    source: Source,
    url: str,
    *,
    skip_existing: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Imported:
    """Write ``source`` into the (migrated) database at ``url``, all or nothing.

    Ids already there: ImportRefused with nothing written, or, with ``skip_existing``, left alone
    and counted as skipped.
    """
    try:
        with _one_transaction(url) as connect:
            skipped_sites, skipped_scenes = PostgresCatalogDB(url, connect).import_catalog(
                source.sites, source.scenes, source.seeded, progress
            )
            done = PostgresStore(connect).import_rows(source.rows, source.history, progress)
            conflicts = [
                counted(ids, noun)
                for ids, noun in (
                    (skipped_sites, "site"),
                    (skipped_scenes, "scene"),
                    (done.skipped, "sighting"),
                )
                if ids
            ]
            if conflicts and not skip_existing:
                raise ImportRefused(
                    f"the database already holds {', '.join(conflicts)}: nothing written "
                    "(--skip-existing leaves those alone and imports the rest)"
                )
    except psycopg.Error as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise ImportRefused(f"the import failed and nothing was written: {reason}") from err
    return Imported(
        sites=len(source.sites) - len(skipped_sites),
        scenes=len(source.scenes) - len(skipped_scenes),
        sightings=done.rows,
        lines=done.lines,
        skipped=len(skipped_sites) + len(skipped_scenes) + len(done.skipped),
    )
